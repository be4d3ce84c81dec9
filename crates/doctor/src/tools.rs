//! The host's toolchain, probed once by running the real commands; the checks only
//! look at the resulting [`Tools`], so tests build one by hand.

use crate::kconfig::version_in_line;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;

/// Versions of the tools a module (and a Rust kernel) build uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tools {
    /// `rustc --version`, the whole line: `rustc 1.95.0 (59807616e 2026-04-14)`. Kept whole
    /// because the kernel's `.rmeta` files load only with exactly this compiler.
    pub rustc: Option<String>,
    /// `bindgen --version`'s number: `0.73.2`.
    pub bindgen: Option<String>,
    /// C toolchain binaries on the search path, name → version number: `clang-19` →
    /// `19.1.7`, `clang`, `gcc`, `gcc-14`, `ld.lld-19`, `ld.lld`.
    pub binaries: BTreeMap<String, String>,
    /// The Rust standard library sources a Rust kernel build compiles `core` from
    /// (`$RUST_LIB_SRC`, else `/usr/src/rustc-<ver>/library`, else the sysroot's rust-src);
    /// `None` when `$RUST_LIB_SRC` is unset and there is no rustc.
    pub rust_lib_src: Option<PathBuf>,
    /// Whether `rust_lib_src` holds the sources (a `core` directory).
    pub rust_lib_src_exists: bool,
}

impl Tools {
    /// Runs the real commands. The search path is `~/.cargo/bin` then `$PATH`: the same
    /// order `mempoolctl build` gives `make`, so the rustc found is the one kbuild runs.
    pub fn probe() -> Self {
        let path = search_path();
        let rustc = first_line(&path, "rustc", &["--version"]);
        let bindgen = first_line(&path, "bindgen", &["--version"])
            .and_then(|l| l.split_whitespace().nth(1).map(str::to_owned));
        let binaries = toolchain_names(&path)
            .into_iter()
            .filter_map(|name| {
                let version = version_in_line(&first_line(&path, &name, &["--version"])?)?;
                Some((name, version))
            })
            .collect();
        let number = rustc
            .as_deref()
            .and_then(|l| l.split_whitespace().nth(1).map(str::to_owned));
        let sysroot = first_line(&path, "rustc", &["--print", "sysroot"]).map(PathBuf::from);
        let rust_lib_src = kbuild::rust_lib_src(
            std::env::var_os("RUST_LIB_SRC").map(PathBuf::from),
            number.as_deref(),
            sysroot.as_deref(),
        );
        let rust_lib_src_exists = rust_lib_src
            .as_deref()
            .is_some_and(kbuild::has_rust_sources);
        Self {
            rustc,
            bindgen,
            binaries,
            rust_lib_src,
            rust_lib_src_exists,
        }
    }

    /// The version of binary `name` if installed.
    pub fn binary(&self, name: &str) -> Option<&str> {
        self.binaries.get(name).map(String::as_str)
    }
}

fn search_path() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(PathBuf::from(home).join(".cargo/bin"));
    }
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    dirs
}

fn which(path: &[PathBuf], name: &str) -> Option<PathBuf> {
    path.iter().map(|d| d.join(name)).find(|p| p.is_file())
}

fn first_line(path: &[PathBuf], name: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(which(path, name)?).args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    text.lines().next().map(str::to_owned)
}

/// `clang`, `gcc`, `ld.lld` and their `-N` versioned forms present on the path.
fn toolchain_names(path: &[PathBuf]) -> BTreeSet<String> {
    path.iter()
        .filter_map(|dir| std::fs::read_dir(dir).ok())
        .flatten()
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| is_toolchain_name(name))
        .collect()
}

fn is_toolchain_name(name: &str) -> bool {
    ["clang", "gcc", "ld.lld"].iter().any(|base| {
        name.strip_prefix(base).is_some_and(|rest| {
            rest.is_empty()
                || rest
                    .strip_prefix('-')
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toolchain_names_are_exact() {
        for yes in ["clang", "clang-19", "gcc", "gcc-14", "ld.lld", "ld.lld-19"] {
            assert!(is_toolchain_name(yes), "{yes}");
        }
        for no in [
            "clang++",
            "clang-cpp-19",
            "gcc-ar-12",
            "gcc-",
            "ld.lld-x",
            "clangd",
        ] {
            assert!(!is_toolchain_name(no), "{no}");
        }
    }

    #[test]
    fn probe_runs() {
        // Machine-dependent: only that it completes and is self-consistent.
        let t = Tools::probe();
        assert!(!t.rust_lib_src_exists || t.rust_lib_src.is_some());
        assert!(t.binaries.values().all(|v| !v.is_empty()));
    }
}
