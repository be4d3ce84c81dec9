//! The host's toolchain, probed once by running the real commands; the checks only
//! look at the resulting [`Tools`], so tests build one by hand.

use crate::kconfig::version_in_line;
use kbuild::search_path;
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
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
    /// `19.1.7`, `clang`, `gcc`, `gcc-14`, `ld.lld-19`, `ld.lld`, the binutils `as` and
    /// `ld` (`2.44`), and the same names behind a target prefix
    /// (`x86_64-linux-gnu-gcc-14`, `x86_64-linux-gnu-ld`).
    pub binaries: BTreeMap<String, String>,
    /// For each gcc in `binaries`, the assembler it runs (`gcc -print-prog-name=as`): a
    /// bare name (`as`) is looked up on the search path, a path was found by gcc itself.
    /// A gcc missing here is taken to run `as`.
    pub gcc_as: BTreeMap<String, String>,
    /// `$CROSS_COMPILE` (kbuild reads it from the environment unless the build dir's
    /// `.kernelvariables` sets it).
    pub cross_compile: Option<String>,
    /// `$ARCH`, likewise.
    pub arch: Option<String>,
    /// The Rust standard library sources a Rust kernel build compiles `core` from
    /// (`$RUST_LIB_SRC`, else `/usr/src/rustc-<ver>/library`, else the sysroot's rust-src);
    /// `None` when `$RUST_LIB_SRC` is unset and there is no rustc.
    pub rust_lib_src: Option<PathBuf>,
    /// Whether `rust_lib_src` holds the sources (a `core` directory).
    pub rust_lib_src_exists: bool,
    /// mempoolctl's cache, where regenerated Rust metadata lives
    /// (`kbuild::cache_root()`).
    pub cache_root: PathBuf,
}

impl Tools {
    /// Runs the real commands. The search path is `~/.cargo/bin` then `$PATH`: the same
    /// order `mempoolctl build` gives `make`, so the rustc found is the one kbuild runs.
    pub fn probe() -> Self {
        Self::probe_in(
            &search_path(),
            |name| std::env::var_os(name),
            kbuild::cache_root(),
        )
    }

    /// [`Tools::probe`] on a given search path and environment (`var`): tests hand it a
    /// directory of fake tools, as kmod's testsuite hands its tools a fake root.
    pub fn probe_in(
        path: &[PathBuf],
        var: impl Fn(&str) -> Option<OsString>,
        cache_root: PathBuf,
    ) -> Self {
        let rustc = first_line(path, "rustc", &["--version"]);
        let bindgen = first_line(path, "bindgen", &["--version"])
            .and_then(|l| l.split_whitespace().nth(1).map(str::to_owned));
        let env = |name| {
            var(name)
                .and_then(|v| v.into_string().ok())
                .filter(|v| !v.is_empty())
        };
        let cross_compile = env("CROSS_COMPILE");
        let arch = env("ARCH");
        let binaries: BTreeMap<String, String> = toolchain_names(path, cross_compile.as_deref())
            .into_iter()
            .filter_map(|name| {
                let version = version_in_line(&first_line(path, &name, &["--version"])?)?;
                Some((name, version))
            })
            .collect();
        let gcc_as = binaries
            .keys()
            // A cross gcc is named by its path (`/opt/cross/bin/aarch64-linux-gnu-gcc`).
            .filter(|name| {
                let base = name.rsplit_once('/').map_or(name.as_str(), |(_, b)| b);
                split_toolchain_name(base) == Some("gcc")
            })
            .filter_map(|name| {
                let asm = first_line(path, name, &["-print-prog-name=as"])?;
                let asm = asm.trim();
                (!asm.is_empty()).then(|| (name.clone(), asm.to_owned()))
            })
            .collect();
        let number = rustc
            .as_deref()
            .and_then(|l| l.split_whitespace().nth(1).map(str::to_owned));
        let sysroot = first_line(path, "rustc", &["--print", "sysroot"]).map(PathBuf::from);
        let rust_lib_src = kbuild::rust_lib_src(
            var("RUST_LIB_SRC").map(PathBuf::from),
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
            gcc_as,
            cross_compile,
            arch,
            rust_lib_src,
            rust_lib_src_exists,
            cache_root,
        }
    }

    /// The version of binary `name` if installed.
    pub fn binary(&self, name: &str) -> Option<&str> {
        self.binaries.get(name).map(String::as_str)
    }

    /// The assembler gcc `name` runs.
    pub fn gcc_assembler(&self, name: &str) -> &str {
        self.gcc_as.get(name).map_or("as", String::as_str)
    }
}

fn which(path: &[PathBuf], name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        return Some(PathBuf::from(name)).filter(|p| p.is_file());
    }
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

/// The toolchain names present on the path (see [`split_toolchain_name`]), and when
/// `$CROSS_COMPILE` is a path (`/opt/cross/bin/aarch64-linux-gnu-`), the commands with
/// that prefix, named by their path as kbuild runs them.
fn toolchain_names(path: &[PathBuf], cross_compile: Option<&str>) -> BTreeSet<String> {
    let mut names: BTreeSet<String> = path
        .iter()
        .filter_map(|dir| std::fs::read_dir(dir).ok())
        .flatten()
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| is_toolchain_name(name))
        .collect();
    if let Some((dir, stem)) = cross_compile.and_then(|p| p.rsplit_once('/')) {
        let dir = if dir.is_empty() { "/" } else { dir };
        let found = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .filter(|name| {
                name.strip_prefix(stem)
                    .is_some_and(|rest| split_toolchain_name(rest).is_some())
            })
            .map(|name| format!("{}/{name}", dir.trim_end_matches('/')));
        names.extend(found);
    }
    names
}

/// The commands a kernel build may run, from the longest base down.
const BASES: [&str; 5] = ["ld.lld", "clang", "gcc", "as", "ld"];

/// The base command of a toolchain name, which is `[<target>-]<base>[-<N>]`: `clang`,
/// `gcc`, `ld.lld`, `as`, `ld`, optionally versioned (`gcc-14`) and behind a target
/// triplet prefix of at least two parts (`x86_64-linux-gnu-gcc-14`,
/// `arm-none-eabi-ld`). `llvm-as`, `gcc-ar-14`, `clang++` are none.
fn split_toolchain_name(name: &str) -> Option<&'static str> {
    let stem = match name.rsplit_once('-') {
        Some((stem, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => stem,
        _ => name,
    };
    BASES.iter().copied().find(|base| {
        stem.strip_suffix(base).is_some_and(|prefix| {
            prefix.is_empty()
                || (prefix.ends_with('-')
                    && prefix.matches('-').count() >= 2
                    && !prefix.starts_with('-')
                    && prefix
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)))
        })
    })
}

fn is_toolchain_name(name: &str) -> bool {
    split_toolchain_name(name).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toolchain_names_are_exact() {
        for (yes, base) in [
            ("clang", "clang"),
            ("clang-19", "clang"),
            ("gcc", "gcc"),
            ("gcc-14", "gcc"),
            ("ld.lld", "ld.lld"),
            ("ld.lld-19", "ld.lld"),
            ("as", "as"),
            ("ld", "ld"),
            ("x86_64-linux-gnu-gcc-14", "gcc"),
            ("x86_64-linux-gnu-gcc", "gcc"),
            ("x86_64-linux-gnu-as", "as"),
            ("x86_64-linux-gnu-ld", "ld"),
            ("arm-none-eabi-ld", "ld"),
        ] {
            assert_eq!(split_toolchain_name(yes), Some(base), "{yes}");
        }
        for no in [
            "clang++",
            "clang-cpp-19",
            "gcc-ar-12",
            "gcc-",
            "ld.lld-x",
            "clangd",
            "x86_64-linux-gnu-gcc-ar-14",
            "x86_64-linux-gnu-ld.bfd",
            "llvm-as",
            "llvm-as-19",
            "wasm-ld",
            "gas",
            "gold",
            "-linux-gcc",
        ] {
            assert!(!is_toolchain_name(no), "{no}");
        }
    }

    /// Writes an executable `name` into `dir` that prints `out` for each of its
    /// argument lists (`args` → `out`) and fails on any other.
    fn fake_tool(dir: &std::path::Path, name: &str, answers: &[(&str, &str)]) {
        use std::os::unix::fs::PermissionsExt;
        let mut script = String::from("#!/bin/sh\ncase \"$*\" in\n");
        for (args, out) in answers {
            script.push_str(&format!("'{args}') printf '%s\\n' '{out}' ;;\n"));
        }
        script.push_str("*) exit 1 ;;\nesac\n");
        let file = dir.join(name);
        std::fs::write(&file, script).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).unwrap();
        // Executing a file this process just wrote fails with ETXTBSY while
        // another test's fork still holds the write descriptor (until its
        // exec): wait until it runs, so the probe never sees that.
        for _ in 0..200 {
            match std::process::Command::new(&file).output() {
                Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                    std::thread::sleep(std::time::Duration::from_millis(5))
                }
                _ => break,
            }
        }
    }

    /// The lines Debian trixie's tools print (copied from them), in a fake root:
    /// what the probe keeps of each, and what it leaves out.
    #[test]
    fn probe_reads_a_fake_root() {
        let root = tempfile::tempdir().unwrap();
        let bin = root.path().join("bin");
        let cross = root.path().join("cross");
        let sysroot = root.path().join("sysroot");
        for d in [&bin, &cross] {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::create_dir_all(sysroot.join("lib/rustlib/src/rust/library/core")).unwrap();
        let sysroot_line = sysroot.display().to_string();
        fake_tool(
            &bin,
            "rustc",
            &[
                (
                    "--version",
                    "rustc 1.85.1 (4eb161250 2025-03-15) (built from a source tarball)",
                ),
                ("--print sysroot", &sysroot_line),
            ],
        );
        fake_tool(&bin, "bindgen", &[("--version", "bindgen 0.71.1")]);
        let gcc = [
            ("--version", "gcc-14 (Debian 14.2.0-19) 14.2.0"),
            ("-print-prog-name=as", "as"),
        ];
        fake_tool(&bin, "gcc-14", &gcc);
        fake_tool(&bin, "x86_64-linux-gnu-gcc-14", &gcc);
        fake_tool(
            &bin,
            "as",
            &[("--version", "GNU assembler (GNU Binutils for Debian) 2.44")],
        );
        fake_tool(
            &bin,
            "ld",
            &[("--version", "GNU ld (GNU Binutils for Debian) 2.44")],
        );
        fake_tool(
            &bin,
            "clang-19",
            &[("--version", "Debian clang version 19.1.7 (3+b1)")],
        );
        fake_tool(
            &bin,
            "ld.lld-19",
            &[(
                "--version",
                "Debian LLD 19.1.7 (compatible with GNU linkers)",
            )],
        );
        // A toolchain name that fails to run, and names that are not toolchain tools.
        fake_tool(&bin, "clang", &[]);
        fake_tool(&bin, "llvm-as", &[("--version", "LLVM version 19.1.7")]);
        fake_tool(
            &bin,
            "gcc-ar-14",
            &[("--version", "GNU ar (GNU Binutils for Debian) 2.44")],
        );
        // A cross toolchain named by $CROSS_COMPILE as a path, off the search path.
        fake_tool(
            &cross,
            "aarch64-linux-gnu-gcc",
            &[
                (
                    "--version",
                    "aarch64-linux-gnu-gcc (Debian 14.2.0-19) 14.2.0",
                ),
                ("-print-prog-name=as", "/opt/aarch64/bin/as"),
            ],
        );
        let cross_prefix = format!("{}/aarch64-linux-gnu-", cross.display());
        let env = |name: &str| match name {
            "CROSS_COMPILE" => Some(OsString::from(&cross_prefix)),
            "ARCH" => Some(OsString::from("")),
            _ => None,
        };
        let t = Tools::probe_in(std::slice::from_ref(&bin), env, root.path().join("cache"));

        assert_eq!(
            t.rustc.as_deref(),
            Some("rustc 1.85.1 (4eb161250 2025-03-15) (built from a source tarball)")
        );
        assert_eq!(t.bindgen.as_deref(), Some("0.71.1"));
        let cross_gcc = format!("{cross_prefix}gcc");
        let want: BTreeMap<String, String> = [
            ("as", "2.44"),
            ("clang-19", "19.1.7"),
            ("gcc-14", "14.2.0"),
            ("ld", "2.44"),
            ("ld.lld-19", "19.1.7"),
            ("x86_64-linux-gnu-gcc-14", "14.2.0"),
            (cross_gcc.as_str(), "14.2.0"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(t.binaries, want);
        assert_eq!(t.gcc_assembler("gcc-14"), "as");
        assert_eq!(t.gcc_assembler(&cross_gcc), "/opt/aarch64/bin/as");
        assert_eq!(t.cross_compile.as_deref(), Some(cross_prefix.as_str()));
        // An empty variable is an unset one, as in make.
        assert_eq!(t.arch, None);
        // No $RUST_LIB_SRC and no /usr/src/rustc-1.85.1 here: the sysroot's rust-src.
        if !std::path::Path::new("/usr/src/rustc-1.85.1/library/core").is_dir() {
            assert_eq!(
                t.rust_lib_src,
                Some(sysroot.join("lib/rustlib/src/rust/library"))
            );
            assert!(t.rust_lib_src_exists);
        }
        assert_eq!(t.cache_root, root.path().join("cache"));

        // $RUST_LIB_SRC wins, and a missing one is said to be missing.
        let missing = root.path().join("no-such-library");
        let m = missing.clone();
        let t = Tools::probe_in(
            &[bin],
            move |name| (name == "RUST_LIB_SRC").then(|| m.clone().into_os_string()),
            root.path().join("cache"),
        );
        assert_eq!(t.rust_lib_src, Some(missing));
        assert!(!t.rust_lib_src_exists);
        assert_eq!(t.cross_compile, None);

        // An empty search path finds nothing.
        let t = Tools::probe_in(&[], |_| None, root.path().join("cache"));
        assert_eq!((t.rustc, t.bindgen, t.binaries.len()), (None, None, 0));
    }
}
