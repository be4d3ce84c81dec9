//! Kbuild driver: the cached, Rust-enabled test kernel and out-of-tree module builds.
//!
//! The test kernel is Debian's `linux-source-7.3` built from `tinyconfig` plus a
//! fragment kept in the repository. Its build directory is kept in a cache keyed
//! by everything that changes the result, so it is built once per machine.

mod fragment;
pub mod kconfig;
pub mod kernelvars;
mod run;
pub mod rust_support;
mod toolchain;

pub use fragment::{Fragment, FragmentError};
pub use run::{run_logged, RunError};
pub use rust_support::{Prerequisite, Regeneration, RustSupport, RUST_METADATA};
pub use toolchain::{
    first_line_of, has_rust_sources, llvm_for_clang, llvm_for_config, rust_lib_src, search_path,
    which, Toolchain,
};

use sha2::{Digest, Sha256};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Errors while building the kernel or a module.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Run(#[from] RunError),
    #[error(transparent)]
    Fragment(#[from] FragmentError),
    #[error("no kernel source tarball matching {pattern} (install linux-source-7.3: `cargo xtask provision`)")]
    NoSource { pattern: String },
    #[error("kernel config lacks options the fragment asks for: {missing:?} (the toolchain or a dependency refused them; see {log})")]
    ConfigMissing { missing: Vec<String>, log: PathBuf },
    #[error("{} is not a kernel build directory (no {missing}): install the headers for this kernel (`apt-get install linux-headers-$(uname -r)`; mempoolctl doctor tells which), or test in a VM: {}", dir.display(), vm_route(test_kernel.as_deref()))]
    NotKernelDir {
        dir: PathBuf,
        missing: &'static str,
        /// The newest cached test kernel's build directory, if any.
        test_kernel: Option<PathBuf>,
    },
    #[error("the module build produced no .ko in {dir}")]
    NoModule { dir: PathBuf },
    #[error("{} was built for {built_for:?} but {kdir} is {kernel:?}: stale headers or a mixed-up build dir; run `make -C {kdir} M=<module dir> clean` and build again", ko.display(), kdir = kdir.display())]
    VermagicMismatch {
        ko: PathBuf,
        built_for: String,
        kdir: PathBuf,
        kernel: String,
    },
    #[error(transparent)]
    ModInfo(#[from] modinfo::ModInfoError),
    #[error("cannot regenerate the Rust metadata for {release}:{}", unmet.iter().map(|p| format!("\n  - {}: {}; fix: {}", p.id, p.summary, p.fix.as_deref().unwrap_or(""))).collect::<String>())]
    RustPrerequisites {
        release: String,
        unmet: Vec<Prerequisite>,
    },
    #[error("the kernel source does not configure like the headers of {release} ({} options differ, e.g. {}): another compiler or another source version; see {}", changed.len(), changed.first().map(String::as_str).unwrap_or(""), log.display())]
    ConfigDiffers {
        release: String,
        changed: Vec<String>,
        log: PathBuf,
    },
    #[error("the regenerated Rust crates do not match the kernel {release}: {detail}; no module was built")]
    RustSymbolMismatch { release: String, detail: String },
    #[error("{} cannot build Rust modules: {reason}; build the C twin instead (`mempoolctl build --flavor c`), or pass --kdir pointing at a Rust-enabled kernel build (mempoolctl doctor explains)", kdir.display())]
    NoRustSupport { kdir: PathBuf, reason: String },
}

/// How to build for the VM instead: against `test_kernel` (a cached test
/// kernel's build directory) when there is one.
fn vm_route(test_kernel: Option<&Path>) -> String {
    match test_kernel {
        Some(out) => format!(
            "`mempoolctl build --kdir {}` (the cached test kernel), then `mempoolctl vm`",
            out.display()
        ),
        None => "build the test kernel once (`cargo xtask kernel` in the mempoolctl checkout \
                 installs what it needs and prints its build directory), then \
                 `mempoolctl build --kdir <that directory>` and `mempoolctl vm`"
            .to_owned(),
    }
}

/// `dir` lacks `missing`: no kernel build directory. The error names the
/// cached test kernel, if there is one, as the way to build for the VM.
fn not_kernel_dir(dir: &Path, missing: &'static str) -> BuildError {
    BuildError::NotKernelDir {
        dir: dir.to_owned(),
        missing,
        // Never the broken directory itself.
        test_kernel: newest_cached_build("test").ok().filter(|out| out != dir),
    }
}

/// A file of a kernel tree: absent, the tree is no kernel build directory;
/// present but unreadable, the read error says why.
fn read_tree_file(dir: &Path, name: &'static str) -> Result<String, BuildError> {
    let path = dir.join(name);
    fs::read_to_string(&path).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => not_kernel_dir(dir, name),
        _ => BuildError::Io {
            what: format!("reading {}", path.display()),
            source,
        },
    })
}

/// Where and how a module of one flavor is built against `kdir`.
#[derive(Debug, Clone)]
pub struct ModuleTarget {
    /// The directory for `make -C`: `kdir` itself, or the overlay of regenerated
    /// Rust metadata on distribution headers.
    pub kdir: PathBuf,
    /// The kernel's configuration (`.config`).
    pub config: String,
    /// Extra `make` variables (the exact rustc the metadata was made with).
    pub make_vars: Vec<String>,
}

/// Everything before `make M=`: `kdir` must be a configured build dir and, for a
/// Rust module, carry the compiled Rust crates. Distribution headers get them
/// regenerated into `cache_root` first (once per kernel; `progress` narrates).
pub fn module_target(
    kdir: &Path,
    rust: bool,
    cache_root: &Path,
    jobs: usize,
    progress: &dyn Fn(&str),
) -> Result<ModuleTarget, BuildError> {
    let config = read_tree_file(kdir, ".config")?;
    let mut target = ModuleTarget {
        kdir: kdir.to_owned(),
        config,
        make_vars: Vec::new(),
    };
    if !rust {
        return Ok(target);
    }
    let fail = |reason: String| BuildError::NoRustSupport {
        kdir: kdir.to_owned(),
        reason,
    };
    match rust_support::rust_support(kdir, &target.config, cache_root) {
        RustSupport::Complete => {}
        RustSupport::NoRust => {
            return Err(fail("the kernel was configured without CONFIG_RUST".into()))
        }
        RustSupport::Incomplete { missing } => {
            return Err(fail(format!(
                "it lacks {} of the compiled Rust crates ({}); `make -C {} modules_prepare` rebuilds them",
                missing.len(),
                missing.join(", "),
                kdir.display()
            )))
        }
        RustSupport::Regenerable(regen) => {
            let (overlay, rustc) = regen.ensure(jobs, progress)?;
            target.kdir = overlay;
            target.make_vars.push(format!("RUSTC={}", rustc.display()));
        }
    }
    Ok(target)
}

/// Unpacks a kernel source tarball into `dest` (its top directory stripped).
fn unpack(tarball: &Path, dest: &Path, log: &Path) -> Result<(), BuildError> {
    let mut tar = Command::new("tar");
    tar.arg("xf")
        .arg(tarball)
        .arg("--strip-components=1")
        .arg("-C")
        .arg(dest);
    Ok(run_logged(&mut tar, log, None)?)
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> BuildError {
    let what = what.into();
    move |source| BuildError::Io { what, source }
}

/// Where built kernels live: `$MEMPOOLCTL_CACHE`, else `$XDG_CACHE_HOME/mempoolctl`,
/// else `$HOME/.cache/mempoolctl`.
pub fn cache_root() -> PathBuf {
    if let Some(p) = std::env::var_os("MEMPOOLCTL_CACHE") {
        return PathBuf::from(p);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from("/var/cache"));
    base.join("mempoolctl")
}

/// Where kbuild puts an x86 kernel image, relative to its output tree.
pub const BZIMAGE_IN_TREE: &str = "arch/x86/boot/bzImage";

/// The kernel's `System.map` for the image `bzimage`: at the top of the
/// build tree the image is in, else where distributions install it
/// (`/boot/System.map-<release>`).
pub fn system_map_of(bzimage: &Path, release: &str) -> PathBuf {
    let image = bzimage
        .canonicalize()
        .unwrap_or_else(|_| bzimage.to_owned());
    build_tree_of(&image)
        .map(|tree| tree.join("System.map"))
        .filter(|map| map.is_file())
        .unwrap_or_else(|| PathBuf::from(format!("/boot/System.map-{release}")))
}

/// The configuration the image `bzimage` was built with, where that is sure:
/// its build tree's `include/config/auto.conf` (what the build used, unlike a
/// `.config` edited since), or the `config-<release>` beside a
/// `vmlinuz-<release>` (`/boot`'s layout). `None` for any other image: a
/// copy, or one whose release another build may share.
pub fn config_of(bzimage: &Path, release: &str) -> Option<PathBuf> {
    let image = bzimage.canonicalize().ok()?;
    let in_tree = build_tree_of(&image)
        .map(|tree| tree.join("include/config/auto.conf"))
        .filter(|conf| conf.is_file());
    in_tree.or_else(|| {
        (image.file_name()? == format!("vmlinuz-{release}").as_str())
            .then(|| image.with_file_name(format!("config-{release}")))
            .filter(|conf| conf.is_file())
    })
}

/// The uncompressed `vmlinux` beside the image `bzimage` in its build tree,
/// when it is not newer than the image (a build since that stopped before
/// making its image leaves a newer one). Whether it is that image's kernel,
/// and bootable as it is, its contents say (`vm::pvh`).
pub fn vmlinux_of(bzimage: &Path) -> Option<PathBuf> {
    let image = bzimage.canonicalize().ok()?;
    let vmlinux = build_tree_of(&image)?.join("vmlinux");
    let written = |p: &Path| fs::metadata(p).and_then(|m| m.modified()).ok();
    (written(&vmlinux)? <= written(&image)?).then_some(vmlinux)
}

/// The build tree the image at `image` is in, if it is in one. `image` is
/// resolved by the caller: kbuild's `arch/x86_64/boot/bzImage` is a symlink.
fn build_tree_of(image: &Path) -> Option<&Path> {
    let in_tree = Path::new(BZIMAGE_IN_TREE);
    image
        .ends_with(in_tree)
        .then(|| image.ancestors().nth(in_tree.components().count()))
        .flatten()
}

/// A finished test kernel build.
#[derive(Debug, Clone)]
pub struct KernelBuild {
    /// The `O=` directory: pass it as `--kdir` / `make -C` for module builds.
    pub out_dir: PathBuf,
    pub bzimage: PathBuf,
    /// `uname -r` of the built kernel.
    pub release: String,
}

impl KernelBuild {
    /// Opens an existing, completed build directory.
    pub fn open(out_dir: &Path) -> Result<Self, BuildError> {
        let release = read_tree_file(out_dir, "include/config/kernel.release")?
            .trim()
            .to_owned();
        Ok(Self {
            out_dir: out_dir.to_owned(),
            bzimage: out_dir.join(BZIMAGE_IN_TREE),
            release,
        })
    }
}

/// The bzImage of the newest complete cached kernel built as `role` (`test`,
/// `lean`); caches from before roles count as `test`. `Err` names the
/// directory searched.
pub fn newest_cached_kernel(role: &str) -> Result<PathBuf, PathBuf> {
    newest_cached_build(role).map(|out| out.join(BZIMAGE_IN_TREE))
}

/// The build (`O=`) directory of that kernel: what `--kdir` takes.
fn newest_cached_build(role: &str) -> Result<PathBuf, PathBuf> {
    let dir = cache_root().join("kernels");
    match complete_kernels(&dir, role).pop() {
        Some(newest) => Ok(newest.join("out")),
        None => Err(dir),
    }
}

/// The complete cached kernels of `role` in `kernels`, oldest first (by the
/// time their build completed); caches from before roles count as `test`.
fn complete_kernels(kernels: &Path, role: &str) -> Vec<PathBuf> {
    let mut found: Vec<(std::time::SystemTime, PathBuf)> = fs::read_dir(kernels)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|d| {
                    fs::read_to_string(d.join(NAME_FILE))
                        .map_or(role == "test", |n| n.trim() == role)
                })
                .filter_map(|d| {
                    let t = d.join(COMPLETE_STAMP).metadata().ok()?.modified().ok()?;
                    Some((t, d))
                })
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found.into_iter().map(|(_, d)| d).collect()
}

/// What goes into a test kernel; its hash is the cache key.
pub struct KernelSpec {
    /// `test` (KASAN, kmemleak, lockdep: the VM suite's) or `lean` (benchmarks);
    /// recorded in the cache dir's `name` file so tools can pick by role.
    pub name: String,
    pub source_tarball: PathBuf,
    pub fragment: Fragment,
    pub toolchain: Toolchain,
    pub cache_root: PathBuf,
}

const COMPLETE_STAMP: &str = "mempoolctl-complete";
/// Role of a cached kernel (`test`, `lean`); absent in caches from before roles.
const NAME_FILE: &str = "name";

impl KernelSpec {
    /// Finds `/usr/src/linux-source-<series>.tar.*`.
    pub fn find_source(series: &str) -> Result<PathBuf, BuildError> {
        let prefix = format!("linux-source-{series}.tar");
        let found = fs::read_dir("/usr/src").ok().and_then(|rd| {
            rd.filter_map(Result::ok).map(|e| e.path()).find(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&prefix))
            })
        });
        found.ok_or(BuildError::NoSource {
            pattern: format!("/usr/src/{prefix}.*"),
        })
    }

    /// Hash of source identity, the fragment's assignments and toolchain
    /// versions. Not the fragment's text: editing a comment rebuilds nothing.
    pub fn cache_key(&self) -> String {
        let mut h = Sha256::new();
        let meta = fs::metadata(&self.source_tarball).ok();
        h.update(self.source_tarball.to_string_lossy().as_bytes());
        h.update(meta.map(|m| m.len()).unwrap_or(0).to_le_bytes());
        for (name, value) in self.fragment.assignments() {
            h.update(format!("{name}={value}\n").as_bytes());
        }
        h.update(self.toolchain.fingerprint().as_bytes());
        let digest = h.finalize();
        digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
    }

    pub fn build_dir(&self) -> PathBuf {
        self.cache_root.join("kernels").join(self.cache_key())
    }

    /// Returns the cached build when complete; builds (or resumes) it otherwise.
    pub fn ensure_built(&self, jobs: usize, log: &dyn Fn(&str)) -> Result<KernelBuild, BuildError> {
        let dir = self.build_dir();
        let out = dir.join("out");
        if dir.join(COMPLETE_STAMP).exists() {
            log(&format!(
                "{} kernel: cached at {}",
                self.name,
                out.display()
            ));
            if !dir.join(NAME_FILE).exists() {
                fs::write(dir.join(NAME_FILE), &self.name).map_err(io("name file"))?;
            }
            return KernelBuild::open(&out);
        }
        fs::create_dir_all(&dir).map_err(io(format!("create {}", dir.display())))?;
        let src = dir.join("src");
        if !src.join("Makefile").exists() {
            log(&format!(
                "{} kernel: unpacking {}",
                self.name,
                self.source_tarball.display()
            ));
            fs::create_dir_all(&src).map_err(io("create source dir"))?;
            unpack(&self.source_tarball, &src, &dir.join("unpack.log"))?;
        }
        let frag_path = dir.join("fragment.config");
        fs::write(&frag_path, self.fragment.text()).map_err(io("write fragment"))?;
        let build_log = dir.join("build.log");
        let make = |args: &[&str]| -> Command {
            let mut c = self.toolchain.make(&src);
            c.arg(format!("O={}", out.display())).args(args);
            c
        };
        if !out.join(".config").exists() || !dir.join("configured").exists() {
            log(&format!(
                "{} kernel: configuring (tinyconfig + fragment)",
                self.name
            ));
            run_logged(&mut make(&["rustavailable"]), &dir.join("config.log"), None)?;
            run_logged(&mut make(&["tinyconfig"]), &dir.join("config.log"), None)?;
            let mut merge = Command::new(src.join("scripts/kconfig/merge_config.sh"));
            merge
                .current_dir(&src)
                .arg("-m")
                .arg("-O")
                .arg(&out)
                .arg(out.join(".config"))
                .arg(&frag_path);
            run_logged(&mut merge, &dir.join("config.log"), None)?;
            run_logged(&mut make(&["olddefconfig"]), &dir.join("config.log"), None)?;
            let config = fs::read_to_string(out.join(".config")).map_err(io("read .config"))?;
            let missing = self.fragment.missing_in(&config);
            if !missing.is_empty() {
                return Err(BuildError::ConfigMissing {
                    missing,
                    log: dir.join("config.log"),
                });
            }
            fs::write(dir.join("configured"), "").map_err(io("stamp"))?;
        }
        log(&format!(
            "{} kernel: building with -j{jobs} (about 10 min on 2 cores; log: {})",
            self.name,
            build_log.display()
        ));
        let j = format!("-j{jobs}");
        run_logged(&mut make(&[&j]), &build_log, Some("kernel"))?;
        fs::write(dir.join(NAME_FILE), &self.name).map_err(io("name file"))?;
        fs::write(dir.join(COMPLETE_STAMP), self.cache_key()).map_err(io("stamp"))?;
        // Each fragment or toolchain change makes a new 2 GB tree: keep this
        // one and the one before it of the same role, drop older ones.
        for stale in stale_kernels(&self.cache_root.join("kernels"), &self.name, 1) {
            let done = match fs::remove_dir_all(&stale) {
                Ok(()) => "removed".to_owned(),
                Err(e) => format!("could not remove ({e}); delete it by hand"),
            };
            log(&format!(
                "{} kernel: the stale cache {} {done} (two newer {} kernels are cached)",
                self.name,
                stale.display(),
                self.name
            ));
        }
        KernelBuild::open(&out)
    }
}

/// Complete cached kernels of `role` in `kernels` but the newest and the
/// `keep` before it, oldest first. Unfinished builds are never listed.
fn stale_kernels(kernels: &Path, role: &str, keep: usize) -> Vec<PathBuf> {
    let mut all = complete_kernels(kernels, role);
    all.truncate(all.len().saturating_sub(keep + 1));
    all
}

/// Builds the out-of-tree module in `module_dir` against `kdir`; returns the `.ko` files.
pub fn build_module(
    toolchain: &Toolchain,
    kdir: &Path,
    module_dir: &Path,
    jobs: usize,
    extra: &[String],
    log_file: &Path,
) -> Result<Vec<PathBuf>, BuildError> {
    for missing in ["Makefile", ".config"] {
        if !kdir.join(missing).exists() {
            return Err(not_kernel_dir(kdir, missing));
        }
    }
    let module_dir = module_dir
        .canonicalize()
        .map_err(io(format!("module dir {}", module_dir.display())))?;
    let mut c = toolchain.make(kdir);
    c.arg(format!("M={}", module_dir.display()))
        .arg(format!("-j{jobs}"))
        .args(extra)
        .arg("modules");
    run_logged(&mut c, log_file, Some("module"))?;
    let mut kos: Vec<PathBuf> = fs::read_dir(&module_dir)
        .map_err(io("list module dir"))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "ko"))
        .collect();
    kos.sort();
    if kos.is_empty() {
        return Err(BuildError::NoModule { dir: module_dir });
    }
    if let Some(kernel) = kdir_release(kdir) {
        for ko in &kos {
            check_vermagic(ko, kdir, &kernel)?;
        }
    }
    Ok(kos)
}

/// `UTS_RELEASE` of a kernel build directory, from `include/generated/utsrelease.h`.
pub fn kdir_release(kdir: &Path) -> Option<String> {
    let text = fs::read_to_string(kdir.join("include/generated/utsrelease.h")).ok()?;
    parse_utsrelease(&text)
}

fn parse_utsrelease(text: &str) -> Option<String> {
    let rest = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("#define UTS_RELEASE"))?;
    Some(rest.trim().trim_matches('"').to_owned())
}

/// The built module's vermagic must name the kernel it was built against.
fn check_vermagic(ko: &Path, kdir: &Path, kernel: &str) -> Result<(), BuildError> {
    let info = modinfo::read(ko)?;
    let built_for = info.built_for_release().unwrap_or("").to_owned();
    if built_for != kernel {
        return Err(BuildError::VermagicMismatch {
            ko: ko.to_owned(),
            built_for,
            kdir: kdir.to_owned(),
            kernel: kernel.to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_map_is_the_build_trees_else_the_installed_one() {
        let tree = tempfile::tempdir().unwrap();
        let image = tree.path().join("arch/x86/boot/bzImage");
        // No System.map in the tree (yet): where Debian installs it.
        assert_eq!(
            system_map_of(&image, "7.3.4+deb13-amd64"),
            Path::new("/boot/System.map-7.3.4+deb13-amd64")
        );
        fs::write(tree.path().join("System.map"), "").unwrap();
        assert_eq!(
            system_map_of(&image, "7.3.4"),
            tree.path().join("System.map")
        );
        // An image outside a build tree (Debian's vmlinuz) never looks above it.
        let vmlinuz = tree.path().join("arch/x86/boot/vmlinuz");
        assert_eq!(
            system_map_of(&vmlinuz, "7.3.4"),
            Path::new("/boot/System.map-7.3.4")
        );
    }

    #[test]
    fn the_cache_key_follows_the_fragments_assignments_not_its_comments() {
        let spec = |text: &str| KernelSpec {
            name: "test".to_owned(),
            source_tarball: PathBuf::from("/nonexistent/linux-source-7.3.tar.xz"),
            fragment: Fragment::parse(text, "test").unwrap(),
            toolchain: Toolchain::test_kernel(),
            cache_root: PathBuf::from("/nonexistent"),
        };
        let key = spec("# why\nCONFIG_PVH=y\nCONFIG_HZ_250=y\n").cache_key();
        let reworded = spec("# why, said better\n\nCONFIG_PVH=y\n# and more\nCONFIG_HZ_250=y\n");
        assert_eq!(reworded.cache_key(), key);
        assert_ne!(spec("CONFIG_PVH=n\nCONFIG_HZ_250=y\n").cache_key(), key);
        assert_ne!(spec("CONFIG_PVH=y\n").cache_key(), key);
    }

    /// An empty build tree `out` under `root` as kbuild lays it out: the
    /// tree and where its image goes.
    fn build_tree(root: &Path) -> (PathBuf, PathBuf) {
        let tree = root.join("out");
        for dir in ["arch/x86/boot", "arch/x86_64/boot", "include/config"] {
            fs::create_dir_all(tree.join(dir)).unwrap();
        }
        let image = tree.join(BZIMAGE_IN_TREE);
        (tree, image)
    }

    #[test]
    fn vmlinux_from_the_images_own_tree_and_not_newer() {
        let root = tempfile::tempdir().unwrap();
        let (tree, image) = build_tree(root.path());
        let vmlinux = tree.join("vmlinux");
        let at = |path: &Path, secs: u64| {
            let t = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs);
            fs::File::options()
                .write(true)
                .open(path)
                .unwrap()
                .set_modified(t)
                .unwrap();
        };
        fs::write(&vmlinux, "").unwrap();
        fs::write(&image, "").unwrap();
        at(&image, 1_001);
        let found = Some(vmlinux.canonicalize().unwrap());
        // Older, or written in the same second (coarse timestamps).
        at(&vmlinux, 1_000);
        assert_eq!(vmlinux_of(&image), found);
        at(&vmlinux, 1_001);
        assert_eq!(vmlinux_of(&image), found);
        // kbuild's other name for the image.
        let alias = tree.join("arch/x86_64/boot/bzImage");
        std::os::unix::fs::symlink("../../x86/boot/bzImage", &alias).unwrap();
        assert_eq!(vmlinux_of(&alias), found);
        // Written after the image: a build that stopped before it.
        at(&vmlinux, 1_002);
        assert_eq!(vmlinux_of(&image), None);
        at(&vmlinux, 1_000);
        // An image outside its tree, or no vmlinux.
        let copy = root.path().join("bzImage");
        fs::copy(&image, &copy).unwrap();
        assert_eq!(vmlinux_of(&copy), None);
        fs::remove_file(&vmlinux).unwrap();
        assert_eq!(vmlinux_of(&image), None);
    }

    #[test]
    fn config_is_the_one_the_image_was_built_with_or_none() {
        let root = tempfile::tempdir().unwrap();
        let (tree, image) = build_tree(root.path());
        fs::write(&image, "").unwrap();
        // kbuild's other name for it.
        let alias = tree.join("arch/x86_64/boot/bzImage");
        std::os::unix::fs::symlink("../../x86/boot/bzImage", &alias).unwrap();
        // A .config alone (edited since the build?) is not enough.
        fs::write(tree.join(".config"), "CONFIG_HZ=1000\n").unwrap();
        assert_eq!(config_of(&image, "7.3.4"), None);
        let auto = tree.join("include/config/auto.conf");
        fs::write(&auto, "CONFIG_HZ=250\n").unwrap();
        assert_eq!(config_of(&image, "7.3.4").as_deref(), Some(auto.as_path()));
        assert_eq!(
            config_of(&alias, "7.3.4").as_deref(),
            Some(auto.canonicalize().unwrap().as_path())
        );
        // A copy of the image outside its tree: no configuration.
        let copy = root.path().join("bzImage");
        fs::copy(&image, &copy).unwrap();
        assert_eq!(config_of(&copy, "7.3.4"), None);
        // /boot's layout: the config beside the vmlinuz of the same release,
        // never another image's.
        let vmlinuz = root.path().join("vmlinuz-7.3.4+deb13-amd64");
        fs::write(&vmlinuz, "").unwrap();
        assert_eq!(config_of(&vmlinuz, "7.3.4+deb13-amd64"), None);
        let conf = root.path().join("config-7.3.4+deb13-amd64");
        fs::write(&conf, "CONFIG_HZ=250\n").unwrap();
        assert_eq!(
            config_of(&vmlinuz, "7.3.4+deb13-amd64").as_deref(),
            Some(conf.canonicalize().unwrap().as_path())
        );
        assert_eq!(config_of(&copy, "7.3.4+deb13-amd64"), None);
    }

    #[test]
    fn a_tree_that_is_no_build_dir_names_what_it_lacks() {
        let tree = tempfile::tempdir().unwrap();
        let no_op = |_: &str| {};
        let err = module_target(tree.path(), false, tree.path(), 1, &no_op).unwrap_err();
        assert!(err.to_string().contains("(no .config)"), "{err}");
        // A .config that exists but cannot be read as text: that reason, not "no .config".
        fs::write(tree.path().join(".config"), b"CONFIG_MODULES=y\n\xff\n").unwrap();
        let err = module_target(tree.path(), false, tree.path(), 1, &no_op).unwrap_err();
        assert!(
            matches!(&err, BuildError::Io { what, .. } if what.ends_with("/.config")),
            "{err}"
        );
    }

    #[test]
    fn reads_uts_release() {
        assert_eq!(
            parse_utsrelease("#define UTS_RELEASE \"7.3.4+deb13-amd64\"\n"),
            Some("7.3.4+deb13-amd64".to_owned())
        );
        assert_eq!(parse_utsrelease("#define OTHER 1\n"), None);
    }

    #[test]
    fn stale_kernels_are_the_complete_ones_of_the_role_before_the_last_two() {
        let root = tempfile::tempdir().unwrap();
        let t0 = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
        // (dir, role file, completed at t0 + n hours; None: unfinished)
        let caches: [(&str, Option<&str>, Option<u64>); 7] = [
            ("a-test-oldest", Some("test"), Some(1)),
            ("b-from-before-roles", None, Some(2)),
            ("c-test", Some("test"), Some(3)),
            ("d-lean-old", Some("lean"), Some(4)),
            ("e-test-previous", Some("test"), Some(5)),
            ("f-test-unfinished", Some("test"), None),
            ("g-test-newest", Some("test"), Some(6)),
        ];
        for (dir, role, done) in caches {
            let d = root.path().join(dir);
            std::fs::create_dir_all(&d).unwrap();
            if let Some(role) = role {
                std::fs::write(d.join(NAME_FILE), format!("{role}\n")).unwrap();
            }
            if let Some(h) = done {
                let stamp = std::fs::File::create(d.join(COMPLETE_STAMP)).unwrap();
                stamp
                    .set_modified(t0 + std::time::Duration::from_secs(h * 3600))
                    .unwrap();
            }
        }
        let names = |v: Vec<PathBuf>| -> Vec<String> {
            v.iter()
                .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
                .collect()
        };
        assert_eq!(
            names(stale_kernels(root.path(), "test", 1)),
            ["a-test-oldest", "b-from-before-roles", "c-test"]
        );
        assert!(stale_kernels(root.path(), "lean", 1).is_empty());
        assert_eq!(
            names(complete_kernels(root.path(), "test"))
                .last()
                .map(String::as_str),
            Some("g-test-newest")
        );
        assert!(stale_kernels(&root.path().join("missing"), "test", 1).is_empty());
    }

    #[test]
    fn vermagic_mismatch_is_refused() {
        // A relocatable ELF with the `.modinfo` section kbuild wrote for the
        // Rust module (the modinfo crate's fixture): vermagic 7.3.4.
        use object::write::{Object, StandardSection};
        use object::{Architecture, BinaryFormat, Endianness, SectionKind};
        let mut obj = Object::new(BinaryFormat::Elf, Architecture::X86_64, Endianness::Little);
        let text = obj.section_id(StandardSection::Text);
        obj.append_section_data(text, &[0xc3], 1);
        let id = obj.add_section(Vec::new(), b".modinfo".to_vec(), SectionKind::ReadOnlyData);
        obj.append_section_data(
            id,
            include_bytes!("../../modinfo/fixtures/rust_mempool.modinfo"),
            1,
        );
        let dir = tempfile::tempdir().unwrap();
        let ko = dir.path().join("rust_mempool.ko");
        fs::write(&ko, obj.write().unwrap()).unwrap();
        check_vermagic(&ko, Path::new("/k"), "7.3.4").unwrap();
        let err = check_vermagic(&ko, Path::new("/k"), "9.9.9")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("was built for \"7.3.4\" but /k is \"9.9.9\""),
            "{err}"
        );
    }
}
