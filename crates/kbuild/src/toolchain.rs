//! The LLVM/Rust toolchain a kbuild invocation needs, and its version fingerprint.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Toolchain settings passed to every `make`.
#[derive(Debug, Clone)]
pub struct Toolchain {
    /// `LLVM=` value: `-19` for versioned Debian binaries, `1` for unversioned,
    /// `None` for a gcc-built kernel.
    pub llvm: Option<String>,
    pub libclang_path: Option<PathBuf>,
    pub rust_lib_src: Option<PathBuf>,
}

fn first_line(cmd: &str, args: &[&str]) -> String {
    first_line_of(Path::new(cmd), args).unwrap_or_else(|| format!("{cmd}: not found"))
}

/// The first line `cmd args` prints on stdout; `None` when it cannot run.
pub fn first_line_of(cmd: &Path, args: &[&str]) -> Option<String> {
    Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.lines().next().map(str::to_owned))
}

/// The search path kbuild's `make` gets: `~/.cargo/bin` (where `cargo install
/// bindgen-cli` puts bindgen), then `$PATH`.
pub fn search_path() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::env::var_os("HOME")
        .map(|h| PathBuf::from(h).join(".cargo/bin"))
        .into_iter()
        .collect();
    if let Some(path) = std::env::var_os("PATH") {
        paths.extend(std::env::split_paths(&path));
    }
    paths
}

/// `rustc --version`'s number, e.g. `1.95.0`.
pub fn rustc_version() -> Option<String> {
    first_line("rustc", &["--version"])
        .split_whitespace()
        .nth(1)
        .map(str::to_owned)
}

/// Where the Rust standard library sources are: `$RUST_LIB_SRC` (`env`), else
/// Debian's `/usr/src/rustc-<version>/library`, else the sysroot's rust-src
/// (rustup). When neither exists, Debian's path: it is what provisioning installs.
pub fn rust_lib_src(
    env: Option<PathBuf>,
    rustc_version: Option<&str>,
    sysroot: Option<&Path>,
) -> Option<PathBuf> {
    env.filter(|p| !p.as_os_str().is_empty()).or_else(|| {
        let debian = PathBuf::from(format!("/usr/src/rustc-{}/library", rustc_version?));
        let rustup = sysroot.map(|s| s.join("lib/rustlib/src/rust/library"));
        Some(match rustup {
            Some(r) if !has_rust_sources(&debian) && has_rust_sources(&r) => r,
            _ => debian,
        })
    })
}

/// Whether `library` holds the standard library sources.
pub fn has_rust_sources(library: &Path) -> bool {
    library.join("core").is_dir()
}

impl Toolchain {
    /// The toolchain the test kernel is built with: LLVM 19 and the Rust library sources.
    pub fn test_kernel() -> Self {
        let sysroot = first_line("rustc", &["--print", "sysroot"]);
        let rust_lib_src = rust_lib_src(
            std::env::var_os("RUST_LIB_SRC").map(PathBuf::from),
            rustc_version().as_deref(),
            Some(Path::new(&sysroot)),
        );
        Self {
            llvm: Some("-19".to_owned()),
            libclang_path: Some(
                std::env::var_os("LIBCLANG_PATH")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| PathBuf::from("/usr/lib/llvm-19/lib")),
            ),
            rust_lib_src,
        }
    }

    /// Chooses `LLVM=` to match how the kernel in `kdir` was built (its `.config`).
    pub fn for_kernel_config(config: &str) -> Self {
        let mut tc = Self::test_kernel();
        tc.llvm = llvm_for_config(config, |bin| which(bin).is_some());
        tc
    }

    /// Versions that change the build output; part of the kernel cache key.
    pub fn fingerprint(&self) -> String {
        let clang = match &self.llvm {
            Some(s) if s.starts_with('-') => format!("clang{s}"),
            Some(_) => "clang".to_owned(),
            None => "gcc".to_owned(),
        };
        format!(
            "{}\n{}\n{}\nLLVM={:?}\n",
            first_line("rustc", &["--version"]),
            first_line(&clang, &["--version"]),
            first_line("bindgen", &["--version"]),
            self.llvm
        )
    }

    /// `make -C dir` with `LLVM=` and the Rust environment.
    pub fn make(&self, dir: &Path) -> Command {
        let mut c = Command::new("make");
        c.arg("-C").arg(dir);
        if let Some(llvm) = &self.llvm {
            c.arg(format!("LLVM={llvm}"));
        }
        if let Some(p) = &self.libclang_path {
            c.env("LIBCLANG_PATH", p);
        }
        if let Some(p) = &self.rust_lib_src {
            c.env("RUST_LIB_SRC", p);
        }
        if let Ok(joined) = std::env::join_paths(search_path()) {
            c.env("PATH", joined);
        }
        c
    }
}

/// `LLVM=` for a kernel `.config`: none for gcc, `-N` when `clang-N` exists, else `1`.
pub fn llvm_for_config(config: &str, exists: impl Fn(&str) -> bool) -> Option<String> {
    if !config.lines().any(|l| l == "CONFIG_CC_IS_CLANG=y") {
        return None;
    }
    let major = config
        .lines()
        .find_map(|l| l.strip_prefix("CONFIG_CLANG_VERSION="))
        .and_then(|v| v.parse::<u32>().ok())
        .map(|v| v / 10000);
    llvm_for_clang(major, exists)
}

/// The one `LLVM=` rule for a clang-built kernel of major version `major`
/// (`mempoolctl build` passes it, `mempoolctl doctor` reports it): `-N` when
/// `clang-N` exists, else `1` (the unversioned tools).
pub fn llvm_for_clang(major: Option<u32>, exists: impl Fn(&str) -> bool) -> Option<String> {
    match major {
        Some(m) if exists(&format!("clang-{m}")) => Some(format!("-{m}")),
        _ => Some("1".to_owned()),
    }
}

/// `bin` on [`search_path`].
pub fn which(bin: &str) -> Option<PathBuf> {
    search_path()
        .into_iter()
        .map(|d| d.join(bin))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_sources_lookup_order() {
        let t = tempfile::tempdir().unwrap();
        let env = Some(PathBuf::from("/env/library"));
        assert_eq!(
            rust_lib_src(env, Some("1.95.0"), None),
            Some("/env/library".into())
        );
        // No Debian sources, rustup's present: rustup's.
        let rustup = t.path().join("lib/rustlib/src/rust/library");
        std::fs::create_dir_all(rustup.join("core")).unwrap();
        assert_eq!(
            rust_lib_src(None, Some("0.0.0"), Some(t.path())),
            Some(rustup)
        );
        // Neither: Debian's path, which provisioning installs.
        assert_eq!(
            rust_lib_src(None, Some("0.0.0"), None),
            Some("/usr/src/rustc-0.0.0/library".into())
        );
        assert_eq!(rust_lib_src(None, None, None), None);
    }

    #[test]
    fn llvm_choice_follows_the_kernel_compiler() {
        let gcc = "CONFIG_CC_IS_GCC=y\nCONFIG_GCC_VERSION=140200\n";
        assert_eq!(llvm_for_config(gcc, |_| true), None);
        let clang = "CONFIG_CC_IS_CLANG=y\nCONFIG_CLANG_VERSION=190107\n";
        assert_eq!(
            llvm_for_config(clang, |b| b == "clang-19"),
            Some("-19".into())
        );
        assert_eq!(llvm_for_config(clang, |_| false), Some("1".into()));
    }
}
