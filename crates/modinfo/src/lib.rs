//! What `modinfo` shows, read from the `.ko` itself: the NUL-separated
//! `key=value` strings of its `.modinfo` ELF section, and whether a module
//! signature is appended. No running kernel or kmod needed.

use object::{Object, ObjectSection};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Trailer `scripts/sign-file` appends after the signature.
const SIGNATURE_MAGIC: &[u8] = b"~Module signature appended~\n";

#[derive(Debug, thiserror::Error)]
pub enum ModInfoError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not an ELF object ({reason}); a kernel module is a relocatable ELF file", path.display())]
    NotElf { path: PathBuf, reason: String },
    #[error("{} has no .modinfo section: not a kernel module (was it built by kbuild?)", path.display())]
    NoModinfo { path: PathBuf },
}

/// A module's metadata, fields in file order (keys like `parm` repeat).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModInfo {
    pub filename: PathBuf,
    pub fields: Vec<(String, String)>,
    pub signed: bool,
}

impl ModInfo {
    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `key`, in order.
    pub fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.fields
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The kernel release the module was built for: vermagic's first word.
    pub fn built_for_release(&self) -> Option<&str> {
        self.get("vermagic")?.split_whitespace().next()
    }

    /// `modinfo`-style text: `key: value` lines, `filename` and `signed` first.
    pub fn render(&self) -> String {
        let mut out = format!("{:<16}{}\n", "filename:", self.filename.display());
        for (k, v) in &self.fields {
            out += &format!("{:<16}{v}\n", format!("{k}:"));
        }
        out += &format!(
            "{:<16}{}\n",
            "signed:",
            if self.signed { "yes" } else { "no" }
        );
        out
    }
}

/// Reads `path`'s metadata.
pub fn read(path: &Path) -> Result<ModInfo, ModInfoError> {
    let data = std::fs::read(path).map_err(|source| ModInfoError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse(path, &data)
}

/// Parses a `.ko` image already in memory.
pub fn parse(path: &Path, data: &[u8]) -> Result<ModInfo, ModInfoError> {
    let file = object::File::parse(data).map_err(|e| ModInfoError::NotElf {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    let section = file
        .section_by_name(".modinfo")
        .ok_or_else(|| ModInfoError::NoModinfo {
            path: path.to_owned(),
        })?;
    let bytes = section.data().map_err(|e| ModInfoError::NotElf {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    Ok(ModInfo {
        filename: path.to_owned(),
        fields: parse_fields(bytes),
        signed: data.ends_with(SIGNATURE_MAGIC),
    })
}

/// Splits a `.modinfo` section: NUL-terminated `key=value` strings, with NUL
/// padding between them. Entries without `=` or with invalid UTF-8 are skipped
/// (the kernel ignores what it cannot parse, too).
pub fn parse_fields(section: &[u8]) -> Vec<(String, String)> {
    section
        .split(|&b| b == 0)
        .filter(|s| !s.is_empty())
        .filter_map(|s| std::str::from_utf8(s).ok())
        .filter_map(|s| s.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

#[cfg(test)]
mod tests;
