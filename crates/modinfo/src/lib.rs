//! What `modinfo` shows, read from the `.ko` itself: the NUL-separated
//! `key=value` strings of its `.modinfo` ELF section, and whether a module
//! signature is appended. No running kernel or kmod needed.

use object::{Object, ObjectSection};
use serde::Serialize;
use std::collections::BTreeMap;
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
#[derive(Debug, Clone, PartialEq, Eq)]
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

    /// kmod's `modinfo` text: `filename` first, `key: value` lines in file
    /// order, each parameter as one `parm` line with its type (`name:description
    /// (type)`) after them (`parmtype` folded in), then `signed`.
    pub fn render(&self) -> String {
        let line = |k: &str, v: &str| format!("{:<16}{v}\n", format!("{k}:"));
        let mut out = line("filename", &self.filename.display().to_string());
        for (k, v) in &self.fields {
            if k != "parm" && k != "parmtype" {
                out += &line(k, v);
            }
        }
        for (name, p) in self.parameters() {
            let text = match (&p.description, &p.r#type) {
                (Some(d), Some(t)) => format!("{name}:{d} ({t})"),
                (Some(d), None) => format!("{name}:{d}"),
                (None, Some(t)) => format!("{name} ({t})"),
                (None, None) => name.clone(),
            };
            out += &line("parm", &text);
        }
        out += &line("signed", if self.signed { "yes" } else { "no" });
        out
    }

    /// Parameters by name, from `parm=name:description` and `parmtype=name:type`.
    pub fn parameters(&self) -> BTreeMap<String, Parameter> {
        let mut out: BTreeMap<String, Parameter> = BTreeMap::new();
        for (k, v) in &self.fields {
            let (name, text) = v.split_once(':').unwrap_or((v.as_str(), ""));
            let entry = out.entry(name.to_owned());
            match k.as_str() {
                "parm" => entry.or_default().description = Some(text.to_owned()),
                "parmtype" => entry.or_default().r#type = Some(text.to_owned()),
                _ => {}
            }
        }
        out
    }

    /// The `--json` object (schema 1): indexable by key, every field's values
    /// as a list in file order, parameters by name.
    pub fn report(&self) -> Report<'_> {
        let mut fields: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (k, v) in &self.fields {
            fields.entry(k).or_default().push(v);
        }
        Report {
            schema: 1,
            filename: &self.filename,
            name: self.get("name"),
            release: self.built_for_release(),
            signed: self.signed,
            parameters: self.parameters(),
            fields,
        }
    }
}

/// One module parameter: what `parm` and `parmtype` say of it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Parameter {
    pub description: Option<String>,
    #[serde(rename = "type")]
    pub r#type: Option<String>,
}

/// `mempoolctl info --json`: `{"schema": 1, "filename", "name", "release",
/// "signed", "parameters": {name: {description, type}}, "fields": {key: [values]}}`.
#[derive(Debug, Serialize)]
pub struct Report<'a> {
    pub schema: u32,
    pub filename: &'a Path,
    /// `name=`; null when absent.
    pub name: Option<&'a str>,
    /// The kernel release it was built for (vermagic's first word); null when absent.
    pub release: Option<&'a str>,
    pub signed: bool,
    pub parameters: BTreeMap<String, Parameter>,
    pub fields: BTreeMap<&'a str, Vec<&'a str>>,
}

/// Reads `path`'s metadata; `filename` is absolute, as kmod's modinfo shows it.
pub fn read(path: &Path) -> Result<ModInfo, ModInfoError> {
    let data = std::fs::read(path).map_err(|source| ModInfoError::Read {
        path: path.to_owned(),
        source,
    })?;
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    parse(&absolute, &data)
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
