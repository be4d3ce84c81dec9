//! Can a kernel build dir build Rust modules, and what is missing: the one answer
//! that `mempoolctl build` and `mempoolctl doctor` both use.
//!
//! A full kernel build dir carries the compiled Rust crates a module is compiled
//! against. Distribution headers with `CONFIG_RUST=y` (Debian's
//! `linux-headers-*`) carry none of them. Because a crate's symbol names depend
//! only on its name and the exact rustc, they can be regenerated from the kernel
//! source of exactly the headers' version with exactly the kernel's rustc
//! (`make olddefconfig prepare` with the headers' `.config`). That happens once
//! per kernel into mempoolctl's cache; the module is then built in an overlay
//! directory of our own (the headers' files linked, the regenerated ones added),
//! so package-owned trees are never written.

use crate::kconfig::{version_ge, Kconfig};
use crate::kernelvars::KernelVars;
use crate::run::run_logged;
use crate::toolchain::{has_rust_sources, rust_lib_src, search_path, which};
use crate::BuildError;
use nix::errno::Errno;
#[allow(deprecated)]
use nix::fcntl::flock;
use nix::fcntl::{fcntl, FcntlArg, FdFlag, FlockArg};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::process::Command;

/// What a 7.3 x86 out-of-tree Rust module is compiled against (scripts/Makefile.build:
/// `--extern kernel/pin_init/zerocopy/zerocopy_derive -L rust/ --sysroot=/dev/null`, plus
/// their dependencies and the proc macros; arch/x86/Makefile: `--target=scripts/target.json`).
/// Removing any one of them was verified to break a module build.
pub const RUST_METADATA: [&str; 13] = [
    "rust/libcore.rmeta",
    "rust/libcompiler_builtins.rmeta",
    "rust/libffi.rmeta",
    "rust/libbindings.rmeta",
    "rust/libuapi.rmeta",
    "rust/libbuild_error.rmeta",
    "rust/libpin_init.rmeta",
    "rust/libzerocopy.rmeta",
    "rust/libkernel.rmeta",
    "rust/libmacros.so",
    "rust/libpin_init_internal.so",
    "rust/libzerocopy_derive.so",
    "scripts/target.json",
];

/// The kernel's own minimum bindgen for 7.3 (scripts/min-tool-version.sh).
pub const MIN_BINDGEN: &str = "0.71.1";

/// Free space the regeneration needs in the cache: the unpacked source and its
/// `prepare` objects, with room; about 180 MB stay cached.
pub const DISK_NEEDED: u64 = 3 << 30;

/// The files of [`RUST_METADATA`] that `kdir` lacks.
pub fn missing_metadata(kdir: &Path) -> Vec<&'static str> {
    RUST_METADATA
        .iter()
        .copied()
        .filter(|f| !kdir.join(f).is_file())
        .collect()
}

/// How `kdir` stands for Rust modules.
#[derive(Debug)]
pub enum RustSupport {
    /// `CONFIG_RUST` is off: no Rust module can ever load into this kernel.
    NoRust,
    /// Every compiled crate is there (a full kernel build dir).
    Complete,
    /// A kernel build dir with a `rust/` directory that lacks some files (an
    /// interrupted or cleaned build): `make modules_prepare` there rebuilds them.
    Incomplete { missing: Vec<&'static str> },
    /// Headers without any compiled crate: mempoolctl regenerates them.
    Regenerable(Box<Regeneration>),
}

/// Reads `kdir`'s configuration and files; `cache_root` is where a
/// regeneration would live.
pub fn rust_support(kdir: &Path, config_text: &str, cache_root: &Path) -> RustSupport {
    let config = Kconfig::parse(config_text);
    if !config.is_y("RUST") {
        return RustSupport::NoRust;
    }
    let missing = missing_metadata(kdir);
    if missing.is_empty() {
        return RustSupport::Complete;
    }
    if kdir.join("rust").is_dir() {
        return RustSupport::Incomplete { missing };
    }
    RustSupport::Regenerable(Box::new(Regeneration::new(
        kdir,
        config_text,
        &config,
        cache_root,
    )))
}

/// Regenerating the Rust metadata of distribution headers into the cache.
#[derive(Debug, Clone)]
pub struct Regeneration {
    /// The headers (canonical path).
    pub kdir: PathBuf,
    /// `UTS_RELEASE` of the headers.
    pub release: String,
    /// `CONFIG_RUSTC_VERSION_TEXT`: the rustc that built the kernel.
    pub rustc_text: String,
    /// The headers' `.config`, copied into the source tree.
    config_text: String,
    /// Where the regenerated files live: `<cache>/rust-metadata/<release>-<key>`,
    /// keyed by release, rustc, configuration and the headers' build
    /// (`UTS_VERSION`, `Module.symvers`).
    pub dir: PathBuf,
}

/// One prerequisite of the regeneration; `problem` is `None` when it is met.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prerequisite {
    /// Short id, e.g. `kernel-source`.
    pub id: &'static str,
    /// What was found (when met) or what is wrong.
    pub summary: String,
    /// The exact command or step that meets it; `None` when met.
    pub fix: Option<String>,
}

impl Prerequisite {
    fn met(id: &'static str, summary: String) -> Self {
        Self {
            id,
            summary,
            fix: None,
        }
    }
    fn unmet(id: &'static str, summary: String, fix: String) -> Self {
        Self {
            id,
            summary,
            fix: Some(fix),
        }
    }
    pub fn is_met(&self) -> bool {
        self.fix.is_none()
    }
}

/// The stamp written last: its presence means the cache entry is whole.
const COMPLETE: &str = "complete";
/// The stamp written once the source tree is fully unpacked.
const UNPACKED: &str = ".mempoolctl-unpacked";
/// Held (flock) by the one process regenerating an entry.
const LOCK: &str = "lock";
/// The headers dir an entry is for (its path's bytes), written when its
/// regeneration starts.
const HEADERS: &str = "headers";

/// An entry's lock file, created if missing (entries older than the lock
/// have none).
fn open_lock(path: &Path) -> std::io::Result<fs::File> {
    fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
}

/// An exclusive flock(2) on `file`, waiting for it or not: `Ok(false)` when
/// another process holds it. A plain call, never nix's `Flock` guard: that
/// unlocks on drop, which the children holding a copy of the descriptor
/// would see too. The lock goes when the last copy closes.
fn flock_exclusive(file: &fs::File, wait: bool) -> Result<bool, Errno> {
    let how = if wait {
        FlockArg::LockExclusive
    } else {
        FlockArg::LockExclusiveNonblock
    };
    #[allow(deprecated)]
    match flock(file.as_raw_fd(), how) {
        Ok(()) => Ok(true),
        Err(Errno::EWOULDBLOCK) => Ok(false),
        Err(e) => Err(e),
    }
}

/// The tools the regeneration runs, resolved.
#[derive(Debug, Clone)]
pub struct RegenTools {
    /// A rustc whose `--version` is exactly the kernel's.
    pub rustc: PathBuf,
    /// Its standard library sources (`RUST_LIB_SRC`).
    pub rust_lib_src: PathBuf,
    pub bindgen: PathBuf,
    /// `make` variables from the headers' `.kernelvariables`: `ARCH`,
    /// `CROSS_COMPILE`, `CC`.
    pub make_vars: Vec<String>,
    /// The kernel source tarball.
    pub source: PathBuf,
}

impl Regeneration {
    fn new(kdir: &Path, config_text: &str, config: &Kconfig, cache_root: &Path) -> Self {
        let kdir = kdir.canonicalize().unwrap_or_else(|_| kdir.to_owned());
        let release = crate::kdir_release(&kdir).unwrap_or_else(|| "unknown".to_owned());
        let rustc_text = config.get("RUSTC_VERSION_TEXT").unwrap_or("").to_owned();
        // The build's identity too: a distribution may rebuild a kernel under
        // the same release (Debian's `7.3.4+deb13-amd64` for each upload of
        // 7.3.4), and metadata regenerated for one build must never serve
        // another. UTS_VERSION names the build (Debian: its package version
        // and date); Module.symvers its exports and their CRCs.
        let build_id = ["include/generated/utsversion.h", "Module.symvers"]
            .map(|f| fs::read(kdir.join(f)).unwrap_or_default());
        let mut h = Sha256::new();
        for part in [
            release.as_bytes(),
            rustc_text.as_bytes(),
            config_text.as_bytes(),
        ]
        .into_iter()
        .chain(build_id.iter().map(Vec::as_slice))
        {
            h.update(part);
            h.update([0]);
        }
        let key: String = h
            .finalize()
            .iter()
            .take(6)
            .map(|b| format!("{b:02x}"))
            .collect();
        let dir = cache_root
            .join("rust-metadata")
            .join(format!("{release}-{key}"));
        Self {
            kdir,
            release,
            rustc_text,
            config_text: config_text.to_owned(),
            dir,
        }
    }

    /// The build dir a Rust module is built against: the headers plus the
    /// regenerated files.
    pub fn overlay(&self) -> PathBuf {
        self.dir.join("kdir")
    }

    /// Whether the regeneration is done and cached.
    pub fn is_cached(&self) -> bool {
        self.dir.join(COMPLETE).is_file() && self.overlay().join("Makefile").exists()
    }

    /// `7.3` of `7.3.4+deb13-amd64`.
    fn series(&self) -> Option<String> {
        let mut parts = self.release.split(|c: char| !c.is_ascii_digit());
        Some(format!("{}.{}", parts.next()?, parts.next()?))
    }

    /// Every prerequisite, met or not, with its fix on Debian.
    pub fn prerequisites(&self) -> Vec<Prerequisite> {
        let (rustc, found) = self.rustc_prerequisite();
        let mut out = vec![self.source_prerequisite(), rustc];
        // Its library sources are looked up only once there is a matching rustc.
        out.extend(
            found
                .as_deref()
                .map(|r| rust_src_prerequisite(r, &self.rustc_text)),
        );
        out.extend([
            bindgen_prerequisite(),
            libclang_prerequisite(),
            self.cc_prerequisite(),
            build_tools_prerequisite(),
            disk_prerequisite(&self.dir),
        ]);
        out
    }

    fn source_prerequisite(&self) -> Prerequisite {
        let id = "kernel-source";
        let Some(series) = self.series() else {
            return Prerequisite::unmet(
                id,
                format!(
                    "cannot tell the kernel series of release {:?}",
                    self.release
                ),
                "pass --kdir pointing at headers with include/generated/utsrelease.h".into(),
            );
        };
        let package = format!("linux-source-{series}");
        let headers_version = headers_package(&self.kdir).and_then(|p| dpkg_version(&p));
        let want = headers_version
            .as_deref()
            .map(|v| format!("{package}={v}"))
            .unwrap_or_else(|| package.clone());
        let install =
            format!("`apt-get install {want}` (Debian; the archive that has the headers has it)");
        let Ok(tarball) = crate::KernelSpec::find_source(&series) else {
            return Prerequisite::unmet(
                id,
                format!(
                    "no kernel source for {}: /usr/src/{package}.tar.* is missing (the Rust metadata is regenerated from it)",
                    self.release
                ),
                install,
            );
        };
        source_version_verdict(
            &package,
            &tarball,
            headers_version.as_deref(),
            dpkg_version(&package).as_deref(),
            install,
        )
    }

    /// The prerequisite, and the matching rustc when there is one.
    fn rustc_prerequisite(&self) -> (Prerequisite, Option<PathBuf>) {
        let id = "rustc";
        let want = &self.rustc_text;
        if want.is_empty() {
            return (
                Prerequisite::unmet(
                    id,
                    "the headers' .config has no CONFIG_RUSTC_VERSION_TEXT: cannot tell which rustc built the kernel".into(),
                    "use headers of a kernel built with CONFIG_RUST by Linux 6.12 or later".into(),
                ),
                None,
            );
        }
        let candidates = rustc_candidates(want);
        if let Some((path, _)) = candidates.iter().find(|(_, v)| v == want) {
            return (
                Prerequisite::met(
                    id,
                    format!("{} prints `{want}`, as the kernel's", path.display()),
                ),
                Some(path.clone()),
            );
        }
        let found = if candidates.is_empty() {
            "no rustc is installed".to_owned()
        } else {
            candidates
                .iter()
                .map(|(p, v)| format!("{} prints `{v}`", p.display()))
                .collect::<Vec<_>>()
                .join("; ")
        };
        (
            Prerequisite::unmet(
                id,
                format!(
                    "the kernel was built by `{want}`; {found}: the regenerated crates' symbol names match the kernel's only with that exact compiler"
                ),
                rustc_fix(want),
            ),
            None,
        )
    }

    fn cc_prerequisite(&self) -> Prerequisite {
        let id = "c-compiler";
        let vars = KernelVars::read(&self.kdir);
        let (prefix, _) = vars.cross_compile(std::env::var("CROSS_COMPILE").ok().as_deref());
        let cc = vars.cc(&prefix).unwrap_or_else(|| format!("{prefix}gcc"));
        match which(&cc) {
            Some(p) => Prerequisite::met(id, format!("{cc} ({})", p.display())),
            None => Prerequisite::unmet(
                id,
                format!("{cc}, the headers' C compiler, is not installed"),
                format!(
                    "`apt-get install {}` (mempoolctl doctor's compiler check names the package)",
                    cc.strip_prefix(&prefix).unwrap_or(&cc)
                ),
            ),
        }
    }

    /// `make` variables that make the source tree build as the headers' kernel was.
    fn make_vars(&self) -> Vec<String> {
        let vars = KernelVars::read(&self.kdir);
        let config = Kconfig::parse(&self.config_text);
        let env = |n| std::env::var(n).ok().filter(|v| !v.is_empty());
        let (prefix, _) = vars.cross_compile(env("CROSS_COMPILE").as_deref());
        let mut out = vec![format!(
            "ARCH={}",
            vars.srcarch(env("ARCH").as_deref(), &config)
        )];
        if !prefix.is_empty() {
            out.push(format!("CROSS_COMPILE={prefix}"));
        }
        if let Some(cc) = vars.cc(&prefix) {
            out.push(format!("CC={cc}"));
        }
        if config.is_y("CC_IS_CLANG") {
            out.extend(
                crate::llvm_for_config(&self.config_text, |b| which(b).is_some())
                    .map(|l| format!("LLVM={l}")),
            );
        }
        out
    }

    /// The resolved tools, or every unmet prerequisite.
    pub fn tools(&self) -> Result<RegenTools, BuildError> {
        let unmet: Vec<Prerequisite> = self
            .prerequisites()
            .into_iter()
            .filter(|p| !p.is_met())
            .collect();
        if !unmet.is_empty() {
            return Err(BuildError::RustPrerequisites {
                release: self.release.clone(),
                unmet,
            });
        }
        // Looked up again for their paths: a tool that vanished since the
        // check above is an error, never a panic.
        let gone = |id: &'static str| BuildError::RustPrerequisites {
            release: self.release.clone(),
            unmet: vec![Prerequisite::unmet(
                id,
                "it was found a moment ago but is gone now".into(),
                "run mempoolctl build again".into(),
            )],
        };
        let rustc = self.rustc_prerequisite().1.ok_or_else(|| gone("rustc"))?;
        let rust_lib_src = rust_src_of(&rustc, &self.rustc_text).ok_or_else(|| gone("rust-src"))?;
        let source = self
            .series()
            .and_then(|series| crate::KernelSpec::find_source(&series).ok())
            .ok_or_else(|| gone("kernel-source"))?;
        Ok(RegenTools {
            rust_lib_src,
            rustc,
            bindgen: which("bindgen").ok_or_else(|| gone("bindgen"))?,
            make_vars: self.make_vars(),
            source,
        })
    }

    /// Returns the overlay build dir and the rustc a module must be built with,
    /// regenerating first when it is not cached. A cached entry needs only that
    /// rustc (the source and bindgen may be gone).
    pub fn ensure(
        &self,
        jobs: usize,
        progress: &dyn Fn(&str),
    ) -> Result<(PathBuf, PathBuf), BuildError> {
        if self.is_cached() {
            return self.cached();
        }
        let io = |what: String| move |source| BuildError::Io { what, source };
        fs::create_dir_all(&self.dir).map_err(io(format!("create {}", self.dir.display())))?;
        // One regeneration per entry at a time: a second `build` for this
        // kernel waits for the first instead of unpacking over its tree, and
        // then finds the entry cached.
        let _lock = self.lock(progress)?;
        if self.is_cached() {
            return self.cached();
        }
        // Recorded first: a regeneration interrupted for good (its 2 GB tree
        // included) is pruned too once its headers are gone.
        fs::write(self.dir.join(HEADERS), self.kdir.as_os_str().as_bytes())
            .map_err(io("write the headers record".into()))?;
        let tools = self.tools()?;
        let src = self.dir.join("src");
        let log = self.dir.join("regenerate.log");
        progress(&format!(
            "{}: regenerating the Rust metadata Debian's headers leave out, once per kernel (about 3 min on 2 cores; log: {})",
            self.release,
            log.display()
        ));
        if !src.join(UNPACKED).is_file() {
            // A partial tree from an interrupted run is never trusted.
            if src.exists() {
                fs::remove_dir_all(&src).map_err(io(format!("remove {}", src.display())))?;
            }
            fs::create_dir_all(&src).map_err(io(format!("create {}", src.display())))?;
            progress(&format!("unpacking {}", tools.source.display()));
            crate::unpack(&tools.source, &src, &log)?;
            fs::write(src.join(UNPACKED), "").map_err(io("unpack stamp".into()))?;
        } else {
            progress(&format!(
                "resuming an interrupted regeneration in {} (the unpacked source is complete; make picks up where it stopped)",
                src.display()
            ));
        }
        fs::write(src.join(".config"), &self.config_text)
            .map_err(io(format!("write {}/.config", src.display())))?;
        let make = |args: &[&str]| {
            let mut c = Command::new("make");
            c.arg("-C")
                .arg(&src)
                .args(&tools.make_vars)
                .arg(format!("RUSTC={}", tools.rustc.display()))
                .arg(format!("BINDGEN={}", tools.bindgen.display()))
                .args(args)
                .env("RUST_LIB_SRC", &tools.rust_lib_src)
                .env("PATH", search_path_var());
            c
        };
        progress("make olddefconfig (the headers' .config)");
        run_logged(&mut make(&["olddefconfig"]), &log, None)?;
        let resolved = fs::read_to_string(src.join(".config"))
            .map_err(io(format!("read {}/.config", src.display())))?;
        let (toolchain, host): (Vec<String>, Vec<String>) =
            config_differences(&self.config_text, &resolved)
                .into_iter()
                .partition(|d| is_toolchain_option(d));
        if !toolchain.is_empty() {
            return Err(BuildError::ConfigDiffers {
                release: self.release.clone(),
                changed: toolchain,
                log,
            });
        }
        if !host.is_empty() {
            // Probes of the build host's libraries (e.g. OpenSSL's ML-DSA for
            // module signing) do not reach the Rust crates; the symbol check decides.
            progress(&format!(
                "{} option(s) depend on this machine's libraries and differ from Debian's build ({}); they do not change the Rust crates",
                host.len(),
                host.join(", ")
            ));
        }
        let j = format!("-j{jobs}");
        run_logged(&mut make(&[&j, "prepare"]), &log, Some("rust metadata"))?;
        self.check_symbols(&src)?;
        self.install(&src)?;
        progress(&format!(
            "{}: Rust metadata cached in {}",
            self.release,
            self.dir.display()
        ));
        self.prune_stale(progress);
        Ok((self.overlay(), tools.rustc))
    }

    /// Removes the other entries of this cache whose headers (recorded, or
    /// for an entry made before that record, its overlay's `.config` link)
    /// are gone, or now belong to another entry (a package upgrade that kept
    /// the release): nothing can build against them any more; and an
    /// unrecorded entry of this release cut short before its overlay. Any
    /// other unrecorded entry, and one locked by a regeneration, is left alone.
    fn prune_stale(&self, progress: &dyn Fn(&str)) {
        let Some(entries) = self.dir.parent() else {
            return;
        };
        let Some(cache_root) = entries.parent() else {
            return;
        };
        for entry in fs::read_dir(entries).into_iter().flatten().flatten() {
            let dir = entry.path();
            if dir == self.dir {
                continue;
            }
            // The headers it is for: recorded, or for an entry made before
            // entries recorded them, the target of its overlay's `.config`.
            let headers = match fs::read(dir.join(HEADERS)) {
                Ok(recorded) => Some(PathBuf::from(std::ffi::OsString::from_vec(recorded))),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    fs::read_link(dir.join("kdir/.config"))
                        .ok()
                        .and_then(|config| config.parent().map(Path::to_owned))
                }
                Err(_) => continue,
            };
            let (why, headers) = match headers {
                Some(headers) => {
                    let why = match fs::read_to_string(headers.join(".config")) {
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                            "its headers are gone"
                        }
                        Err(_) => continue,
                        Ok(config) => match rust_support(&headers, &config, cache_root) {
                            RustSupport::Regenerable(now) if now.dir == dir => continue,
                            _ => "its headers were replaced by another build",
                        },
                    };
                    (why, headers)
                }
                // Neither: an entry of an older key scheme cut short before
                // its overlay. Known to be superseded only when it is for the
                // release just regenerated.
                None if self.is_unfinished_old_entry(&dir) => (
                    "made for this release before entries recorded their headers, replaced by this one",
                    self.kdir.clone(),
                ),
                None => continue,
            };
            // Created if missing, so a regeneration starting on the entry
            // now is seen all the same.
            let Ok(file) = open_lock(&dir.join(LOCK)) else {
                continue;
            };
            if flock_exclusive(&file, false) != Ok(true) {
                continue;
            }
            if fs::remove_dir_all(&dir).is_ok() {
                progress(&format!(
                    "removed the Rust metadata in {} ({why}: {})",
                    dir.display(),
                    headers.display()
                ));
            }
        }
    }

    /// Whether `dir` is another entry of this release (`<release>-<key>`)
    /// that got as far as unpacking the source: not one whose regeneration
    /// is only now taking its lock (nothing but the lock file in it yet).
    fn is_unfinished_old_entry(&self, dir: &Path) -> bool {
        [COMPLETE, "src", "kdir"]
            .iter()
            .any(|f| dir.join(f).exists())
            && dir
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_prefix(self.release.as_str()))
                .and_then(|k| k.strip_prefix('-'))
                .is_some_and(|k| k.len() == 12 && k.bytes().all(|b| b.is_ascii_hexdigit()))
    }

    /// The overlay and the rustc of a cached entry (only that rustc is needed).
    fn cached(&self) -> Result<(PathBuf, PathBuf), BuildError> {
        match self.rustc_prerequisite() {
            (_, Some(rustc)) => Ok((self.overlay(), rustc)),
            (unmet, None) => Err(BuildError::RustPrerequisites {
                release: self.release.clone(),
                unmet: vec![unmet],
            }),
        }
    }

    /// The file a regeneration of this entry holds locked.
    pub fn lock_path(&self) -> PathBuf {
        self.dir.join(LOCK)
    }

    /// Whether another process is regenerating this entry now (holds its
    /// lock): a `build` started now waits for it.
    pub fn is_being_regenerated(&self) -> bool {
        fs::File::open(self.lock_path())
            .is_ok_and(|file| flock_exclusive(&file, false) == Ok(false))
    }

    /// Takes the entry's lock (flock), waiting (and saying so) while another
    /// process holds it; the returned file is the guard. The tar and make it
    /// runs inherit the descriptor, so a holder killed mid-way keeps the entry
    /// locked until its children are gone too.
    fn lock(&self, progress: &dyn Fn(&str)) -> Result<fs::File, BuildError> {
        let path = self.lock_path();
        let io = |source| BuildError::Io {
            what: format!("lock {}", path.display()),
            source,
        };
        let errno = |e: Errno| io(std::io::Error::from(e));
        let file = open_lock(&path).map_err(io)?;
        if !flock_exclusive(&file, false).map_err(errno)? {
            progress(&format!(
                "{}: another mempoolctl is regenerating this kernel's Rust metadata (it holds {}); waiting for it",
                self.release,
                path.display()
            ));
            flock_exclusive(&file, true).map_err(errno)?;
        }
        fcntl(file.as_raw_fd(), FcntlArg::F_SETFD(FdFlag::empty())).map_err(errno)?;
        Ok(file)
    }

    /// The regenerated crates must define the very symbol names the kernel
    /// exports (`Module.symvers`): else the module would link against nothing.
    fn check_symbols(&self, src: &Path) -> Result<(), BuildError> {
        let symvers = fs::read_to_string(self.kdir.join("Module.symvers")).map_err(|source| {
            BuildError::Io {
                what: format!("read {}/Module.symvers", self.kdir.display()),
                source,
            }
        })?;
        let exported: BTreeSet<String> = symvers
            .lines()
            .filter_map(|l| l.split('\t').nth(1))
            .filter(|s| s.starts_with("_R"))
            .map(str::to_owned)
            .collect();
        let mut defined = BTreeSet::new();
        for entry in fs::read_dir(src.join("rust"))
            .into_iter()
            .flatten()
            .flatten()
        {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "o") {
                defined.extend(defined_symbols(&path));
            }
        }
        compare_symbols(&exported, &defined).map_err(|detail| BuildError::RustSymbolMismatch {
            release: self.release.clone(),
            detail,
        })
    }

    /// Copies the metadata out of the source tree, builds the overlay, stamps
    /// the entry complete and frees the source tree.
    fn install(&self, src: &Path) -> Result<(), BuildError> {
        let io = |what: String| move |source| BuildError::Io { what, source };
        // A stamp left from before must not make a half-built overlay look
        // cached to a build that checks without the lock.
        let complete = self.dir.join(COMPLETE);
        if complete.exists() {
            fs::remove_file(&complete).map_err(io(format!("remove {}", complete.display())))?;
        }
        let meta = self.dir.join("meta");
        if meta.exists() {
            fs::remove_dir_all(&meta).map_err(io(format!("remove {}", meta.display())))?;
        }
        for f in RUST_METADATA {
            let dest = meta.join(f);
            if let Some(parent) = dest.parent() {
                fs::create_dir_all(parent).map_err(io(format!("create {}", parent.display())))?;
            }
            fs::copy(src.join(f), &dest).map_err(io(format!("copy {f}")))?;
        }
        let overlay = self.overlay();
        if overlay.exists() {
            fs::remove_dir_all(&overlay).map_err(io(format!("remove {}", overlay.display())))?;
        }
        make_overlay(&self.kdir, &meta, &overlay)
            .map_err(io(format!("build the overlay {}", overlay.display())))?;
        fs::write(self.dir.join(COMPLETE), format!("{}\n", self.rustc_text))
            .map_err(io("complete stamp".into()))?;
        // The source tree (about 2 GB) is not needed again.
        let _ = fs::remove_dir_all(src);
        Ok(())
    }
}

/// The overlay: every entry of the headers linked, except `rust/` (ours) and
/// `scripts/` (a directory of links to the headers' scripts, plus ours).
/// kbuild reads `$(objtree)/rust/` and `$(objtree)/scripts/target.json`.
fn make_overlay(headers: &Path, meta: &Path, overlay: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::symlink;
    fs::create_dir_all(overlay)?;
    for entry in fs::read_dir(headers)? {
        let name = entry?.file_name();
        if name == "rust" || name == "scripts" || name == "Makefile" {
            continue;
        }
        symlink(headers.join(&name), overlay.join(&name))?;
    }
    let theirs = fs::read_to_string(headers.join("Makefile"))?;
    fs::write(
        overlay.join("Makefile"),
        overlay_makefile(&theirs, headers, overlay),
    )?;
    symlink(meta.join("rust"), overlay.join("rust"))?;
    let scripts = overlay.join("scripts");
    fs::create_dir_all(&scripts)?;
    let theirs = headers.join("scripts");
    if theirs.is_dir() {
        for entry in fs::read_dir(&theirs)? {
            let name = entry?.file_name();
            symlink(theirs.join(&name), scripts.join(&name))?;
        }
    }
    fs::copy(
        meta.join("scripts/target.json"),
        scripts.join("target.json"),
    )?;
    Ok(())
}

/// The overlay's Makefile: the headers' own, with kbuild's output tree moved to
/// the overlay. Debian's is `KBUILD_OUTPUT=<headers>` plus an `include` of the
/// common headers' Makefile; `$(objtree)` must be the overlay for kbuild to
/// find `rust/` and `scripts/target.json` there.
pub fn overlay_makefile(theirs: &str, headers: &Path, overlay: &Path) -> String {
    let mut out = format!(
        "# mempoolctl: {} plus regenerated Rust metadata\nKBUILD_OUTPUT={}\n",
        headers.display(),
        overlay.display()
    );
    if !theirs
        .lines()
        .any(|l| l.trim_start().starts_with("include "))
    {
        // A real top-level Makefile: run it from where it is.
        out.push_str(&format!("include {}/Makefile\n", headers.display()));
        return out;
    }
    for line in theirs.lines() {
        if !line.trim_start().starts_with("KBUILD_OUTPUT") {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// Global symbols an object file defines.
fn defined_symbols(path: &Path) -> Vec<String> {
    use object::{Object, ObjectSymbol};
    let Ok(data) = fs::read(path) else {
        return Vec::new();
    };
    let Ok(file) = object::File::parse(&*data) else {
        return Vec::new();
    };
    file.symbols()
        .filter(|s| s.is_global() && s.is_definition())
        .filter_map(|s| s.name().ok().map(str::to_owned))
        .collect()
}

/// The crate roots (`name` → disambiguator hashes) a v0-mangled symbol names:
/// `_RNvNtCsb5MLIFMWygY_6kernel5print11call_printk` → `kernel` → `b5MLIFMWygY`.
pub fn crate_roots(symbol: &str) -> Vec<(String, String)> {
    let b = symbol.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 1 < b.len() {
        if b[i] == b'C' && b[i + 1] == b's' {
            let hash_start = i + 2;
            let mut j = hash_start;
            while j < b.len() && b[j].is_ascii_alphanumeric() {
                j += 1;
            }
            if j < b.len() && b[j] == b'_' {
                let hash = &symbol[hash_start..j];
                let mut k = j + 1;
                let len_start = k;
                while k < b.len() && b[k].is_ascii_digit() {
                    k += 1;
                }
                if let Ok(len) = symbol[len_start..k].parse::<usize>() {
                    if let Some(name) = symbol.get(k..k + len) {
                        if !name.is_empty()
                            && name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
                        {
                            out.push((name.to_owned(), hash.to_owned()));
                            i = k + len;
                            continue;
                        }
                    }
                }
            }
        }
        i += 1;
    }
    out
}

/// `Ok` when every Rust symbol the kernel exports from a crate that was
/// regenerated is defined by the regenerated objects; `Err` says what differs.
pub fn compare_symbols(
    exported: &BTreeSet<String>,
    defined: &BTreeSet<String>,
) -> Result<(), String> {
    let roots = |set: &BTreeSet<String>| {
        let mut m: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for s in set {
            for (name, hash) in crate_roots(s) {
                m.entry(name).or_default().insert(hash);
            }
        }
        m
    };
    let ours = roots(defined);
    let theirs = roots(exported);
    let Some(kernel_ours) = ours.get("kernel") else {
        return Err("the regenerated objects define no symbol of the `kernel` crate".into());
    };
    let Some(kernel_theirs) = theirs.get("kernel") else {
        return Err("Module.symvers exports no symbol of the `kernel` crate".into());
    };
    if kernel_ours.is_disjoint(kernel_theirs) {
        return Err(format!(
            "crate `kernel`: the kernel's exports carry hash {}, the regenerated crate {}: another rustc or another source built the kernel",
            kernel_theirs.iter().cloned().collect::<Vec<_>>().join(","),
            kernel_ours.iter().cloned().collect::<Vec<_>>().join(",")
        ));
    }
    let our_hashes: BTreeSet<&String> = ours.values().flatten().collect();
    let missing: Vec<&String> = exported
        .iter()
        .filter(|s| {
            crate_roots(s)
                .first()
                .is_some_and(|(_, h)| our_hashes.contains(h))
        })
        .filter(|s| !defined.contains(*s))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "{} of the kernel's Rust exports are not defined by the regenerated crates, e.g. {}",
            missing.len(),
            missing[0]
        ));
    }
    Ok(())
}

/// `CONFIG_*` values that differ between the headers' configuration and the
/// one `olddefconfig` resolved in the source tree (another compiler or
/// source changes them), as `NAME: before -> after`.
pub fn config_differences(before: &str, after: &str) -> Vec<String> {
    let (a, b) = (Kconfig::parse(before), Kconfig::parse(after));
    let mut names: BTreeSet<&str> = a.names().collect();
    names.extend(b.names());
    names
        .into_iter()
        .filter(|n| a.get(n) != b.get(n))
        .map(|n| {
            format!(
                "CONFIG_{n}: {} -> {}",
                a.get(n).unwrap_or("unset"),
                b.get(n).unwrap_or("unset")
            )
        })
        .collect()
}

/// Whether a `CONFIG_X: a -> b` difference is about the compilers (their
/// versions, which compiler): those change the generated crates.
fn is_toolchain_option(difference: &str) -> bool {
    let name = difference
        .strip_prefix("CONFIG_")
        .and_then(|d| d.split(':').next())
        .unwrap_or(difference);
    name.contains("VERSION") || name.starts_with("CC_IS_") || name == "RUST"
}

/// Every rustc worth asking, with its `--version`: the search path's (as make
/// gets it), `/usr/bin/rustc` and a versioned `rustc-X.Y` for `want`.
fn rustc_candidates(want: &str) -> Vec<(PathBuf, String)> {
    let number = want.split_whitespace().nth(1).unwrap_or("");
    let short: String = number.split('.').take(2).collect::<Vec<_>>().join(".");
    let mut paths: Vec<PathBuf> = Vec::new();
    for name in ["rustc".to_owned(), format!("rustc-{short}")] {
        paths.extend(which(&name));
    }
    paths.push(PathBuf::from("/usr/bin/rustc"));
    let mut seen = BTreeSet::new();
    paths
        .into_iter()
        .filter(|p| p.is_file())
        .filter(|p| seen.insert(p.canonicalize().unwrap_or_else(|_| p.clone())))
        .filter_map(|p| {
            let v = crate::toolchain::first_line_of(&p, &["--version"])?;
            Some((p, v))
        })
        .collect()
}

/// How to get the rustc that prints `want`.
fn rustc_fix(want: &str) -> String {
    let number = want.split_whitespace().nth(1).unwrap_or("?");
    if want.contains("built from a source tarball") {
        // Debian's own rustc says so; rustup's never does.
        format!(
            "install Debian's rustc {number}: `apt-get install rustc rust-src` from the suite that has {number} (`apt-cache policy rustc` lists them; Debian 13 trixie has 1.85.1); a rustup toolchain cannot stand in, its version text differs"
        )
    } else {
        format!("`rustup toolchain install {number}` and put it first on PATH")
    }
}

/// The standard library sources of `rustc` (which prints `text`).
fn rust_src_of(rustc: &Path, text: &str) -> Option<PathBuf> {
    let number = text.split_whitespace().nth(1);
    let sysroot =
        crate::toolchain::first_line_of(rustc, &["--print", "sysroot"]).map(PathBuf::from);
    rust_lib_src(
        std::env::var_os("RUST_LIB_SRC").map(PathBuf::from),
        number,
        sysroot.as_deref(),
    )
    .filter(|p| has_rust_sources(p))
}

fn rust_src_prerequisite(rustc: &Path, text: &str) -> Prerequisite {
    let id = "rust-src";
    let number = text.split_whitespace().nth(1).unwrap_or("?");
    match rust_src_of(rustc, text) {
        Some(p) => Prerequisite::met(id, format!("Rust {number} library sources at {}", p.display())),
        None => Prerequisite::unmet(
            id,
            format!("no library sources for rustc {number} (/usr/src/rustc-{number}/library, $RUST_LIB_SRC): the regeneration compiles `core` from them"),
            format!("`apt-get install rust-src` of the same version as rustc {number} (`apt-cache policy rust-src`)"),
        ),
    }
}

fn bindgen_prerequisite() -> Prerequisite {
    let id = "bindgen";
    let fix = format!(
        "`apt-get install bindgen` (Debian 13 has 0.71.1; the kernel needs {MIN_BINDGEN} or later)"
    );
    let Some(path) = which("bindgen") else {
        return Prerequisite::unmet(id, "bindgen is not installed: the regeneration generates the kernel's Rust bindings with it".into(), fix);
    };
    let version = crate::toolchain::first_line_of(&path, &["--version"])
        .and_then(|l| l.split_whitespace().nth(1).map(str::to_owned));
    match version {
        Some(v) if version_ge(&v, MIN_BINDGEN) == Some(true) => {
            Prerequisite::met(id, format!("bindgen {v} ({})", path.display()))
        }
        v => Prerequisite::unmet(
            id,
            format!(
                "bindgen {} at {} is older than the kernel's minimum {MIN_BINDGEN}",
                v.as_deref().unwrap_or("of unknown version"),
                path.display()
            ),
            fix,
        ),
    }
}

fn libclang_prerequisite() -> Prerequisite {
    let id = "libclang";
    let dirs: Vec<PathBuf> = std::env::var_os("LIBCLANG_PATH")
        .map(PathBuf::from)
        .into_iter()
        .chain(
            fs::read_dir("/usr/lib")
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("llvm-"))
                })
                .map(|p| p.join("lib")),
        )
        .chain([PathBuf::from("/usr/lib/x86_64-linux-gnu")])
        .collect();
    let found = dirs.iter().find_map(|d| {
        fs::read_dir(d).ok()?.flatten().map(|e| e.path()).find(|p| {
            p.file_name().is_some_and(|n| {
                n.to_string_lossy().starts_with("libclang") && n.to_string_lossy().contains(".so")
            })
        })
    });
    match found {
        Some(p) => Prerequisite::met(id, p.display().to_string()),
        None => Prerequisite::unmet(
            id,
            "no libclang shared library: bindgen parses the kernel's headers with it".into(),
            "`apt-get install libclang-dev`".into(),
        ),
    }
}

/// What `make prepare` builds its host programs with (kconfig, objtool,
/// the certificate tools) besides the compiler: each with its Debian package.
const BUILD_TOOLS: [(&str, &str); 8] = [
    ("make", "make"),
    ("python3", "python3"),
    ("gcc", "gcc"),
    ("flex", "flex"),
    ("bison", "bison"),
    ("bc", "bc"),
    ("/usr/include/gelf.h", "libelf-dev"),
    ("/usr/include/openssl/ssl.h", "libssl-dev"),
];

fn build_tools_prerequisite() -> Prerequisite {
    let id = "build-tools";
    let missing: Vec<(&str, &str)> = BUILD_TOOLS
        .iter()
        .copied()
        .filter(|(what, _)| match what.strip_prefix('/') {
            Some(_) => !Path::new(what).is_file(),
            None => which(what).is_none(),
        })
        .collect();
    if missing.is_empty() {
        return Prerequisite::met(
            id,
            "make, python3, gcc, flex, bison, bc, libelf and OpenSSL headers".into(),
        );
    }
    Prerequisite::unmet(
        id,
        format!(
            "missing for the kernel's `make prepare`: {}",
            missing
                .iter()
                .map(|(w, _)| *w)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        format!(
            "`apt-get install {}`",
            missing
                .iter()
                .map(|(_, p)| *p)
                .collect::<Vec<_>>()
                .join(" ")
        ),
    )
}

fn disk_prerequisite(dir: &Path) -> Prerequisite {
    let id = "disk-space";
    // The nearest existing ancestor of the cache dir.
    let probe = dir
        .ancestors()
        .find(|p| p.exists())
        .unwrap_or(Path::new("/"));
    match nix::sys::statvfs::statvfs(probe) {
        Ok(s) => {
            let free = s.blocks_available().saturating_mul(s.fragment_size());
            let gib = |b: u64| b as f64 / f64::from(1u32 << 30);
            if free >= DISK_NEEDED {
                Prerequisite::met(
                    id,
                    format!("{:.1} GiB free under {}", gib(free), probe.display()),
                )
            } else {
                Prerequisite::unmet(
                    id,
                    format!(
                        "{:.1} GiB free under {}; the regeneration needs {:.0} GiB while it runs (about 180 MB stay cached)",
                        gib(free),
                        probe.display(),
                        gib(DISK_NEEDED)
                    ),
                    "free space there, or point MEMPOOLCTL_CACHE at a larger disk".into(),
                )
            }
        }
        Err(e) => Prerequisite::unmet(
            id,
            format!("cannot tell the free space under {}: {e}", probe.display()),
            "check that the cache directory is reachable (MEMPOOLCTL_CACHE)".into(),
        ),
    }
}

/// The `kernel-source` verdict once the source `tarball` is found: the
/// metadata must come from exactly the headers' source, so a `package` of
/// another version than the headers' is refused with both versions. Without
/// a package database entry on either side the versions are not compared.
fn source_version_verdict(
    package: &str,
    tarball: &Path,
    headers: Option<&str>,
    source: Option<&str>,
    install: String,
) -> Prerequisite {
    let id = "kernel-source";
    match (headers, source) {
        (Some(h), Some(s)) if h != s => Prerequisite::unmet(
            id,
            format!(
                "{package} is version {s} but the headers are {h}: the metadata must come from exactly the headers' source"
            ),
            install,
        ),
        (Some(h), Some(_)) => Prerequisite::met(
            id,
            format!("{} ({package} {h}, the headers' own version)", tarball.display()),
        ),
        _ => Prerequisite::met(
            id,
            format!(
                "{} (versions not checked: no package database entry; the symbol check after the regeneration decides)",
                tarball.display()
            ),
        ),
    }
}

/// The package that owns `path` (dpkg).
fn headers_package(path: &Path) -> Option<String> {
    let out = Command::new("dpkg-query")
        .arg("-S")
        .arg(path)
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let line = text
        .lines()
        .find(|l| l.ends_with(&*path.to_string_lossy()))?;
    let (pkg, _) = line.split_once(": ")?;
    (!pkg.contains(',') && !pkg.contains(' ')).then(|| pkg.to_owned())
}

/// The installed version of `package` (dpkg).
fn dpkg_version(package: &str) -> Option<String> {
    let out = Command::new("dpkg-query")
        .args(["-W", "-f=${Version}", package])
        .output()
        .ok()?;
    let v = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (out.status.success() && !v.is_empty()).then_some(v)
}

fn search_path_var() -> std::ffi::OsString {
    std::env::join_paths(search_path()).unwrap_or_default()
}

#[cfg(test)]
mod tests;
