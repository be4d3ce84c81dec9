//! The stock-distribution path: Debian's own 7.3 kernel and headers, in a
//! debootstrapped trixie chroot (its headers need trixie's libc and gcc-14;
//! the bookworm host is left alone), standing for a Debian 13 machine. Both
//! twins are built there with the static `mempoolctl build` — the Rust one on
//! the Rust metadata mempoolctl regenerates from Debian's kernel source — then
//! Debian's kernel boots them in the VM.
//!
//! The chroot lives in `<cache>/stock/trixie` and is made once: debootstrap
//! (stamp `.mempoolctl-debootstrap`), then Debian's headers and kernel image
//! from trixie-backports and the Rust path's packages (stamp
//! `.mempoolctl-complete`, holding the package recipe). Every later run only
//! copies the sources in and rebuilds (seconds; the regenerated metadata is
//! cached in the chroot's `/root/.cache/mempoolctl`).
//!
//! The kernel image comes from `linux-binary-<release>`, the package that
//! holds `/usr/lib/modules/<release>/vmlinuz`: `linux-image-<release>` only
//! adds dependencies on an initramfs generator and 100 MB of modules, neither
//! of which the VM (our own initramfs, a self-contained C module) needs. An
//! archive without `linux-binary-*` gets `linux-image-*` instead.

use crate::run::{self, run_logged};
use anyhow::{bail, Context, Result};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Instant;
use xshell::{cmd, Cmd, Shell};

/// What the stock-kernel VM run needs.
pub struct StockParts {
    /// Debian's kernel image from the chroot (`/boot/vmlinuz-<release>`, or
    /// `/usr/lib/modules/<release>/vmlinuz` where it is installed without hooks).
    pub vmlinuz: PathBuf,
    /// `c_mempool.ko` built against Debian's headers.
    pub c_ko: PathBuf,
    /// `rust_mempool.ko` built against Debian's headers plus the regenerated
    /// Rust metadata.
    pub rust_ko: PathBuf,
    /// Debian's `uname -r`, e.g. `7.3.4+deb13-amd64`.
    pub release: String,
    /// The chroot.
    pub root: PathBuf,
}

/// The suite the chroot runs (its libc and gcc-14 match the headers).
const SUITE: &str = "trixie";
/// Where Debian's 7.3 kernels are.
const BACKPORTS: &str = "trixie-backports";
/// The kernel series, and the release measured in the kernel notes (used
/// when the archive still has it; otherwise the newest `7.3*-amd64`).
const SERIES: &str = "7.3";
const MEASURED_RELEASE: &str = "7.3.4+deb13-amd64";
/// Besides the headers and the kernel image: kbuild runs `make`, and gcc-14
/// (pulled in by the headers) runs `as` and `ld` from binutils, which the
/// headers do not depend on.
pub(crate) const BUILD_TOOLS: [&str; 2] = ["make", "binutils"];
/// What a Debian 13 user installs for the Rust module on this kernel (README,
/// "Rust on your distribution's kernel"), from trixie itself: its rustc is the
/// one that built Debian's kernel. The kernel source (`linux-source-<series>`
/// at the headers' own version) is added by version.
pub(crate) const RUST_PATH: [&str; 13] = [
    "dkms",
    "rustc",
    "python3",
    "rust-src",
    "bindgen",
    "libclang-dev",
    "gcc",
    "flex",
    "bison",
    "bc",
    // The backported kernel's linux-kbuild pulls libelf from backports; its
    // -dev package must come from there too.
    "libelf-dev/trixie-backports",
    "libssl-dev",
    "xz-utils",
];
/// Written into the complete stamp: a chroot made with another package list
/// gets the new packages installed on the next run.
const RECIPE: &str = "6: linux-headers linux-binary make binutils + rust path (dkms linux-source rustc python3 rust-src bindgen libclang-dev gcc flex bison bc libelf-dev libssl-dev xz-utils)\n";
const DEBOOTSTRAP_STAMP: &str = ".mempoolctl-debootstrap";
const COMPLETE_STAMP: &str = ".mempoolctl-complete";
/// Inside the chroot: (repository dir, chroot dir, module name) per flavor.
pub(crate) const C_MODULE: (&str, &str, &str) = ("module/c", "/root/c_mempool", "c_mempool");
pub(crate) const RUST_MODULE: (&str, &str, &str) = ("module", "/root/rust_mempool", "rust_mempool");
const CTL_IN_CHROOT: &str = "/usr/local/bin/mempoolctl";

pub(crate) fn say(msg: impl AsRef<str>) {
    eprintln!("[stock] {}", msg.as_ref());
}

/// Creates (or reuses) the chroot and builds the C twin in it with `ctl`.
pub fn prepare(ctl: &Path, repo: &Path) -> Result<StockParts> {
    let base = kbuild::cache_root().join("stock");
    fs::create_dir_all(&base)
        .with_context(|| format!("stock chroot: creating {}", base.display()))?;
    let root = base
        .canonicalize()
        .with_context(|| format!("stock chroot: resolving {}", base.display()))?
        .join(SUITE);
    unmount_stale(&root)?;

    let t = Instant::now();
    let complete = fs::read_to_string(root.join(COMPLETE_STAMP)).ok();
    let fresh = complete.is_none();
    if complete.as_deref() == Some(RECIPE) {
        say(format!("reusing the chroot {}", root.display()));
    } else if !root.join(DEBOOTSTRAP_STAMP).exists() {
        debootstrap(&root, &base, SUITE)?;
    }
    // objtool (run on every C object) reads /proc; so do apt's maintainer scripts.
    let _proc = Mounts::proc(&root)?;
    let ch = Chroot::new(&root)?;
    if complete.as_deref() != Some(RECIPE) {
        if !fresh {
            say("the chroot's package list changed: installing what is new");
        }
        install_packages(&ch, &base)?;
        say(format!(
            "chroot ready in {:.0} s: {}",
            t.elapsed().as_secs_f64(),
            root.display()
        ));
    }

    let release = find_release(&root)?;
    let vmlinuz = vmlinuz_of(&root, &release).with_context(|| {
        format!("finding the kernel release: no kernel image for {release} in the chroot")
    })?;
    say(format!(
        "Debian kernel {release}: {}",
        vmlinuz.strip_prefix(&root).unwrap_or(&vmlinuz).display()
    ));

    install_sources(repo, &root, C_MODULE)?;
    install_sources(repo, &root, RUST_MODULE)?;
    install_ctl(ctl, &root)?;
    let c_ko = build_in_chroot(&ch, &release, "c", C_MODULE)?;
    let rust_ko = build_in_chroot(&ch, &release, "rust", RUST_MODULE)?;
    doctor(&ch, &release);
    Ok(StockParts {
        vmlinuz,
        c_ko,
        rust_ko,
        release,
        root,
    })
}

/// Step 2a: a minimal `suite` (a partial one from an interrupted run is redone).
pub(crate) fn debootstrap(root: &Path, base: &Path, suite: &str) -> Result<()> {
    let uri = crate::mirror::uri()?;
    if root.exists() {
        say(format!(
            "removing the unfinished chroot {} (interrupted debootstrap)",
            root.display()
        ));
        remove_chroot(root)?;
    }
    let log = base.join(format!("debootstrap-{suite}.log"));
    let _ = fs::remove_file(&log);
    say(format!(
        "debootstrap --variant=minbase {suite} from {uri} (about 30 s; log: {})",
        log.display()
    ));
    let t = Instant::now();
    let sh = Shell::new()?;
    let c = cmd!(sh, "debootstrap --variant=minbase {suite} {root} {uri}").env("LC_ALL", "C");
    run_logged("debootstrap", c, &log)?;
    say(format!(
        "debootstrap done in {:.0} s",
        t.elapsed().as_secs_f64()
    ));
    stamp(root, DEBOOTSTRAP_STAMP, "")
}

/// Step 2b: trixie-backports, then Debian's headers, kernel image and the build
/// tools; idempotent (apt installs only what is missing).
fn install_packages(ch: &Chroot, base: &Path) -> Result<()> {
    let uri = crate::mirror::uri()?;
    let log = base.join("apt.log");
    let _ = fs::remove_file(&log);
    let list = ch.root.join("etc/apt/sources.list.d/backports.sources");
    fs::write(
        &list,
        format!("Types: deb\nURIs: {uri}\nSuites: {BACKPORTS}\nComponents: main\n"),
    )
    .with_context(|| format!("apt sources: writing {}", list.display()))?;
    // Finishes what a killed earlier run left half-installed (else apt refuses).
    let configure = ch.cmd(&["dpkg", "--configure", "-a"]);
    run_logged("dpkg --configure -a", configure, &log)?;
    say(format!(
        "apt-get update in the chroot (log: {})",
        log.display()
    ));
    run_logged("apt-get update", ch.cmd(&["apt-get", "update"]), &log)?;

    let names = ch
        .read(&["apt-cache", "pkgnames", "linux-headers-"])
        .context("choosing the kernel packages: apt-cache pkgnames")?;
    let release = pick_headers_release(&names, SERIES, MEASURED_RELEASE).with_context(|| {
        format!("choosing the kernel packages: the archive ({BACKPORTS}) has no linux-headers-{SERIES}*-amd64")
    })?;
    // The kernel image alone, without initramfs generator and modules (see the top).
    let binary = format!("linux-binary-{release}");
    let image = if ch
        .read(&["apt-cache", "show", &binary])
        .is_ok_and(|o| o.contains("Package:"))
    {
        binary
    } else {
        format!("linux-image-{release}")
    };
    let headers = format!("linux-headers-{release}");
    let mut packages = vec![headers.as_str(), image.as_str()];
    packages.extend(BUILD_TOOLS);
    say(format!(
        "installing {} from {BACKPORTS} (about 1 min)",
        packages.join(" ")
    ));
    let mut args = vec!["-t", BACKPORTS];
    args.extend(packages);
    ch.apt_install(&log, "apt-get install", &args)?;
    // The Rust path: trixie's own rustc and tools, and the kernel source of
    // exactly the headers' version.
    let version = ch
        .read(&["dpkg-query", "-W", "-f=${Version}", &headers])
        .context("the headers' package version: dpkg-query")?;
    let source = format!("linux-source-{SERIES}={}", version.trim());
    let mut args = vec![source.as_str()];
    args.extend(RUST_PATH);
    say(format!(
        "installing the Rust path: {} (about 1 min)",
        args.join(" ")
    ));
    ch.apt_install(&log, "apt-get install (rust path)", &args)?;
    // Keep the cache small: the downloaded .debs are not needed again.
    let _ = ch.cmd(&["apt-get", "clean"]).ignore_status().run();
    stamp(&ch.root, COMPLETE_STAMP, RECIPE)
}

pub(crate) fn stamp(root: &Path, name: &str, content: &str) -> Result<()> {
    let path = root.join(name);
    fs::write(&path, content).with_context(|| format!("writing the stamp {}", path.display()))
}

/// Removes a chroot directory, refusing while anything is mounted inside.
fn remove_chroot(root: &Path) -> Result<()> {
    let mounts = fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    let inside = mounts_under(&mounts, root);
    if !inside.is_empty() {
        bail!(
            "refusing to remove {}: still mounted inside: {:?} (umount them first)",
            root.display(),
            inside
        );
    }
    fs::remove_dir_all(root).with_context(|| format!("removing {}", root.display()))
}

/// Unmounts what an interrupted run (killed before its guard ran) left mounted.
pub(crate) fn unmount_stale(root: &Path) -> Result<()> {
    let mounts = fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    for point in mounts_under(&mounts, root) {
        say(format!(
            "unmounting {} left by an interrupted run",
            point.display()
        ));
        umount(&point).with_context(|| format!("stale mount {}", point.display()))?;
    }
    Ok(())
}

fn umount(point: &Path) -> Result<()> {
    let sh = Shell::new()?;
    let status = run::status(cmd!(sh, "umount {point}")).context("running umount")?;
    if status.success() {
        return Ok(());
    }
    // Busy (a process still inside): detach it instead of leaving it mounted.
    let lazy = run::status(cmd!(sh, "umount -l {point}")).context("running umount -l")?;
    if !lazy.success() {
        bail!("umount {} failed ({lazy})", point.display());
    }
    Ok(())
}

/// Pseudo filesystems mounted in the chroot; unmounted (in reverse) on drop,
/// on every path out of the step that needs them.
pub(crate) struct Mounts {
    points: Vec<PathBuf>,
}

impl Mounts {
    /// `/proc` (apt's maintainer scripts and dpkg want it).
    pub(crate) fn proc(root: &Path) -> Result<Self> {
        let mut m = Self { points: Vec::new() };
        let point = root.join("proc");
        fs::create_dir_all(&point)?;
        let sh = Shell::new()?;
        let status = run::status(cmd!(sh, "mount -t proc proc {point}"))
            .context("mounting /proc in the chroot: running mount")?;
        if !status.success() {
            bail!(
                "mounting /proc in the chroot failed ({status}): mount -t proc proc {}",
                point.display()
            );
        }
        m.points.push(point);
        Ok(m)
    }
}

impl Drop for Mounts {
    fn drop(&mut self) {
        for p in self.points.iter().rev() {
            if let Err(e) = umount(p) {
                say(format!("warning: {e:#}; unmount {} by hand", p.display()));
            }
        }
    }
}

/// A chroot, and the shell its commands start from.
pub(crate) struct Chroot {
    sh: Shell,
    pub(crate) root: PathBuf,
}

impl Chroot {
    pub(crate) fn new(root: &Path) -> Result<Self> {
        Ok(Self {
            sh: Shell::new()?,
            root: root.to_owned(),
        })
    }

    /// `chroot <root> args...` with a clean, predictable environment, and no
    /// stdin (none from xshell, none from `run_logged`).
    pub(crate) fn cmd(&self, args: &[&str]) -> Cmd<'_> {
        let root = &self.root;
        cmd!(self.sh, "chroot {root} {args...}")
            .env_clear()
            .env(
                "PATH",
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            )
            .env("HOME", "/root")
            .env("LC_ALL", "C")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .quiet()
    }

    /// Stdout of a command in the chroot; an error (with stderr) when it fails.
    pub(crate) fn read(&self, args: &[&str]) -> Result<String> {
        let out = self
            .cmd(args)
            .ignore_status()
            .output()
            .context("running chroot (coreutils)")?;
        if !out.status.success() {
            bail!(
                "`{}` in the chroot failed ({}): {}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// `sh -c script` in the chroot: its exit code and output (stdout, then stderr).
    fn sh_c(&self, script: &str) -> Result<(i32, String)> {
        let out = self
            .cmd(&["sh", "-c", script])
            .ignore_status()
            .output()
            .context("running chroot")?;
        Ok((out.status.code().unwrap_or(-1), run::text(&out)))
    }

    /// `apt-get install -y --no-install-recommends ARGS` in the chroot, logged.
    pub(crate) fn apt_install(&self, log: &Path, step: &str, args: &[&str]) -> Result<()> {
        let cmd = self
            .cmd(&["apt-get", "install", "-y", "--no-install-recommends"])
            // No pty for dpkg's log: a chroot has no /dev/pts mounted.
            .args(["-o", "Dpkg::Use-Pty=0"])
            .args(args);
        run_logged(step, cmd, log)
    }
}

/// Step 3: the release whose headers (`build` link) and kernel image are both there.
fn find_release(root: &Path) -> Result<String> {
    let dir = root.join("lib/modules");
    let names = fs::read_dir(&dir)
        .with_context(|| format!("finding the kernel release: listing {}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|r| dir.join(r).join("build").join("Makefile").exists())
        .filter(|r| vmlinuz_of(root, r).is_some())
        .collect::<Vec<_>>();
    newest_release(&names).with_context(|| {
        format!(
            "finding the kernel release: no {} dir has both a build link and a kernel image; remove {} and run again",
            dir.display(),
            root.display()
        )
    })
}

fn vmlinuz_of(root: &Path, release: &str) -> Option<PathBuf> {
    [
        root.join(format!("boot/vmlinuz-{release}")),
        root.join(format!("lib/modules/{release}/vmlinuz")),
    ]
    .into_iter()
    .find(|p| p.is_file())
}

/// Step 4a: a fresh copy of a module's sources in the chroot.
pub(crate) fn install_sources(
    repo: &Path,
    root: &Path,
    (from, to, _): (&str, &str, &str),
) -> Result<()> {
    let src = repo.join(from);
    let dest = root.join(to.trim_start_matches('/'));
    let step = format!("copying the sources of {from}");
    if dest.exists() {
        fs::remove_dir_all(&dest)
            .with_context(|| format!("{step}: removing {}", dest.display()))?;
    }
    fs::create_dir_all(&dest).with_context(|| format!("{step}: creating {}", dest.display()))?;
    let mut copied = 0;
    for entry in fs::read_dir(&src).with_context(|| format!("{step}: listing {}", src.display()))? {
        let path = entry?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if path.is_file() && is_module_source(&name) {
            fs::copy(&path, dest.join(&name))
                .with_context(|| format!("{step}: copying {}", path.display()))?;
            copied += 1;
        }
    }
    if copied == 0 {
        bail!(
            "{step}: no Kbuild, Makefile, *.rs, *.c or *.h in {}",
            src.display()
        );
    }
    Ok(())
}

/// Kbuild inputs (not its outputs such as `*.mod.c`).
fn is_module_source(name: &str) -> bool {
    name == "Kbuild"
        || name == "Makefile"
        || name.ends_with(".h")
        || name.ends_with(".rs")
        || (name.ends_with(".c") && !name.ends_with(".mod.c"))
}

/// Step 4b: the static mempoolctl at /usr/local/bin in the chroot.
pub(crate) fn install_ctl(ctl: &Path, root: &Path) -> Result<()> {
    let dest = root.join(CTL_IN_CHROOT.trim_start_matches('/'));
    if let Some(dir) = dest.parent() {
        fs::create_dir_all(dir)?;
    }
    // Copy via a temporary name: never write into a binary that may be running.
    let tmp = dest.with_extension("new");
    fs::copy(ctl, &tmp)
        .and_then(|_| fs::rename(&tmp, &dest))
        .with_context(|| {
            format!(
                "copying mempoolctl ({}) into the chroot ({})",
                ctl.display(),
                dest.display()
            )
        })?;
    Ok(())
}

/// `mempoolctl --flavor <flavor> build` of the copied sources, in the chroot.
pub(crate) fn mempoolctl_build(
    ch: &Chroot,
    flavor: &str,
    kdir: &str,
    module_dir: &str,
) -> Result<Output> {
    ch.cmd(&["mempoolctl", "--flavor", flavor, "build"])
        .args(["--kdir", kdir, "--module-dir", module_dir])
        .ignore_status()
        .output()
        .with_context(|| {
            format!("mempoolctl --flavor {flavor} build in the chroot: running chroot")
        })
}

/// Step 4c: `mempoolctl --flavor <flavor> build` inside the chroot; the host
/// path of the `.ko`. The Rust flavor regenerates the Rust metadata Debian's
/// headers leave out on its first run (minutes), then reuses it.
pub(crate) fn build_in_chroot(
    ch: &Chroot,
    release: &str,
    flavor: &str,
    (_, module_dir, module): (&str, &str, &str),
) -> Result<PathBuf> {
    let kdir = format!("/lib/modules/{release}/build");
    say(format!(
        "mempoolctl --flavor {flavor} build --kdir {kdir} --module-dir {module_dir} (in the chroot)"
    ));
    let t = Instant::now();
    let out = mempoolctl_build(ch, flavor, &kdir, module_dir)?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        bail!(
            "mempoolctl --flavor {flavor} build in the chroot failed (exit {}):\n{}{}(paths above are inside the chroot {})",
            out.status.code().unwrap_or(-1),
            stdout,
            stderr,
            ch.root.display()
        );
    }
    for line in stdout
        .lines()
        .chain(stderr.lines())
        .filter(|l| l.starts_with("[build]"))
    {
        say(format!("  {line}"));
    }
    let wanted = format!("/{module}.ko");
    let ko = stdout
        .lines()
        .map(str::trim)
        .find(|l| l.ends_with(&wanted))
        .with_context(|| {
            format!("mempoolctl build in the chroot printed no {module}.ko path:\n{stdout}{stderr}")
        })?;
    let host = ch.root.join(ko.trim_start_matches('/'));
    if !host.is_file() {
        bail!(
            "mempoolctl build in the chroot reported {ko}, but {} is missing",
            host.display()
        );
    }
    say(format!("built {ko} in {:.1} s", t.elapsed().as_secs_f64()));
    Ok(host)
}

/// `dkms install` of the Rust module (`module/dkms.conf`, which builds through
/// mempoolctl) for Debian's kernel in the chroot; the installed `.ko`'s host path.
pub fn dkms_install(root: &Path, repo: &Path, release: &str) -> Result<PathBuf> {
    dkms_sources(root, repo)?;
    // objtool (run on every object) reads /proc.
    let _proc = Mounts::proc(root)?;
    let ch = Chroot::new(root)?;
    // Idempotent: forget an earlier run's registration first.
    let _ = ch
        .cmd(&["dkms", "remove", DKMS_NAME, "--all"])
        .ignore_status()
        .output();
    let (status, text) = dkms_install_for(&ch, release)?;
    if status != Some(0) {
        bail!("dkms install {DKMS_NAME} -k {release} failed ({status:?}):\n{text}");
    }
    let ko = root.join(format!(
        "lib/modules/{release}/updates/dkms/rust_mempool.ko"
    ));
    if !ko.is_file() {
        bail!(
            "dkms install {DKMS_NAME} succeeded but {} is missing:\n{text}",
            ko.display()
        );
    }
    say(format!(
        "dkms install {DKMS_NAME} -k {release}: {}",
        ko.display()
    ));
    Ok(ko)
}

/// `dkms install` of the Rust module for a kernel without CONFIG_RUST: DKMS
/// must skip it (exit 77, BUILD_EXCLUSIVE) rather than fail, or every install
/// of such a kernel would fail in its postinst. Its output when it does.
pub fn dkms_skips(root: &Path, repo: &Path, release: &str) -> Result<String> {
    dkms_sources(root, repo)?;
    let _proc = Mounts::proc(root)?;
    let (status, text) = dkms_install_for(&Chroot::new(root)?, release)?;
    if status != Some(77) || !text.contains("BUILD_EXCLUSIVE") {
        bail!("dkms install {DKMS_NAME} -k {release}: expected exit 77 with BUILD_EXCLUSIVE (skipped), got {status:?}:\n{text}");
    }
    Ok(text)
}

const DKMS_NAME: &str = "rust_mempool/0.1.0";

/// `module/`'s sources and dkms.conf at `/usr/src/rust_mempool-0.1.0`.
fn dkms_sources(root: &Path, repo: &Path) -> Result<()> {
    let src = root.join("usr/src/rust_mempool-0.1.0");
    if src.exists() {
        fs::remove_dir_all(&src).with_context(|| format!("removing {}", src.display()))?;
    }
    fs::create_dir_all(&src).with_context(|| format!("creating {}", src.display()))?;
    for entry in fs::read_dir(repo.join("module")).context("listing module/")? {
        let path = entry?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if path.is_file() && (is_module_source(&name) || name == "dkms.conf") {
            fs::copy(&path, src.join(&name))
                .with_context(|| format!("copying {} for dkms", path.display()))?;
        }
    }
    Ok(())
}

/// `dkms install` for `release`: its exit code and output.
fn dkms_install_for(ch: &Chroot, release: &str) -> Result<(Option<i32>, String)> {
    // The PATH apt gives kernel hooks (its DPkg::Path), where DKMS runs on
    // every kernel upgrade: no /usr/local/bin, where mempoolctl is.
    let out = ch
        .cmd(&["dkms", "install", DKMS_NAME, "-k", release])
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .ignore_status()
        .output()
        .context("running dkms install in the chroot")?;
    Ok((out.status.code(), run::text(&out)))
}

/// What `mempoolctl build` (Rust) says for headers whose kernel another rustc
/// built: a copy of Debian's headers with `CONFIG_RUSTC_VERSION_TEXT` changed
/// to a rustc the chroot does not have, built with an empty cache. Its exit
/// code and output; the copy and the cache are removed again.
pub fn another_rustc(root: &Path, release: &str, claimed: &str) -> Result<(i32, String)> {
    // Both go into a shell line.
    plain_release(release)?;
    if claimed.contains(['"', '\\', '/', '$', '`', '\'']) {
        bail!("unexpected rustc text {claimed:?}");
    }
    let body = format!(
        "cp -a /usr/src/linux-headers-{release} \"$d/headers\"; \
         sed -i 's/^CONFIG_RUSTC_VERSION_TEXT=.*/CONFIG_RUSTC_VERSION_TEXT=\"{claimed}\"/' \"$d/headers/.config\"; \
         rc=0; HOME=\"$d/home\" mempoolctl --flavor rust build --kdir \"$d/headers\" --module-dir \"$d/module\" || rc=$?; \
         ls \"$d/module\"/*.ko 2>/dev/null && echo 'a .ko was built'; "
    );
    in_scratch(root, "another-rustc", &body)
}

/// A first Rust `build` with an empty cache of its own, interrupted like a
/// Ctrl-C `after` seconds in, during the metadata regeneration: `timeout`
/// sends SIGINT to the process group it runs the build in (a shell's
/// background job would ignore SIGINT). Then a second and a third `build`
/// side by side, each of its own module copy: one resumes the regeneration,
/// the other waits for it. The exit code (the third's if it failed, else the
/// second's) and the output of all three; the cache and the copies are
/// removed again.
pub fn interrupted_regeneration(root: &Path, release: &str, after: u32) -> Result<(i32, String)> {
    plain_release(release)?;
    let body = format!(
        "k=/lib/modules/{release}/build; \
         first=0; HOME=\"$d/home\" timeout -s INT {after} mempoolctl --flavor rust build --kdir $k --module-dir \"$d/module\" >\"$d/first.log\" 2>&1 || first=$?; \
         echo \"--- first run, interrupted after {after} s (exit $first):\"; cat \"$d/first.log\"; \
         cp -r \"$d/module\" \"$d/module3\"; \
         HOME=\"$d/home\" mempoolctl --flavor rust build --kdir $k --module-dir \"$d/module\" >\"$d/second.log\" 2>&1 & second=$!; \
         third=0; HOME=\"$d/home\" mempoolctl --flavor rust build --kdir $k --module-dir \"$d/module3\" >\"$d/third.log\" 2>&1 || third=$?; \
         rc=0; wait $second || rc=$?; \
         echo \"--- second run (exit $rc):\"; cat \"$d/second.log\"; \
         echo \"--- third run, beside it (exit $third):\"; cat \"$d/third.log\"; \
         [ $third = 0 ] || rc=$third; "
    );
    let _proc = Mounts::proc(root)?;
    in_scratch(root, "interrupted", &body)
}

/// Runs the shell `body` in the chroot in a scratch directory `$d` of its own
/// (`/root/<name>.XXXXXX`) holding `$d/home`, an empty HOME, so an empty
/// mempoolctl cache, and `$d/module`, a copy of the Rust module's sources
/// without a built `.ko`. `body` sets `rc`, the exit code; `$d` is removed.
fn in_scratch(root: &Path, name: &str, body: &str) -> Result<(i32, String)> {
    let script = format!(
        "set -e; d=$(mktemp -d /root/{name}.XXXXXX); \
         mkdir \"$d/home\"; cp -r /root/rust_mempool \"$d/module\"; rm -f \"$d/module\"/*.ko; \
         {body}rm -rf \"$d\"; exit $rc"
    );
    Chroot::new(root)?.sh_c(&script)
}

/// Refuses a kernel release name with characters Debian's do not have: such
/// names go into shell lines.
pub(crate) fn plain_release(release: &str) -> Result<()> {
    if release
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || ".+~-".contains(c))
    {
        Ok(())
    } else {
        bail!("unexpected kernel release name {release:?}")
    }
}

/// `dpkg --verify` of the packages whose trees the builds read: empty when
/// every file is as the package installed it.
pub fn dpkg_verify(root: &Path, release: &str) -> Result<String> {
    let headers = format!("linux-headers-{release}");
    let ch = Chroot::new(root)?;
    let owned = ch
        .read(&[
            "dpkg-query",
            "-W",
            "-f=${Package}\n",
            "linux-headers-*",
            "linux-kbuild-*",
            "linux-source-*",
        ])
        .context("listing the kernel packages")?;
    let mut args = vec!["dpkg", "--verify"];
    args.extend(owned.lines().filter(|l| !l.is_empty()));
    if !args.contains(&headers.as_str()) {
        bail!("{headers} is not installed in the chroot");
    }
    ch.read(&args)
}

/// Step 4d: `mempoolctl doctor` in the chroot, printed for the record. It
/// exits 4 here by design (the host kernel has no module support), so its
/// exit code is reported, never an error.
fn doctor(ch: &Chroot, release: &str) {
    let kdir = format!("/lib/modules/{release}/build");
    let doctor = ch.cmd(&["mempoolctl", "doctor", "--kdir", &kdir]);
    match doctor.ignore_status().output() {
        Ok(out) => {
            say(format!(
                "mempoolctl doctor --kdir {kdir} (in the chroot; exit {}, non-zero expected: this host cannot load modules):",
                out.status.code().unwrap_or(-1)
            ));
            for line in String::from_utf8_lossy(&out.stdout)
                .lines()
                .chain(String::from_utf8_lossy(&out.stderr).lines())
            {
                eprintln!("[stock]   {line}");
            }
        }
        Err(e) => say(format!(
            "warning: cannot run mempoolctl doctor in the chroot: {e}"
        )),
    }
}

/// The release of the generic `-amd64` headers of `series` in `pkgnames`
/// (one package name per line): `preferred` when listed, else the newest.
/// Other flavours (`-cloud-amd64`, `-rt-amd64`) are skipped.
pub fn pick_headers_release(pkgnames: &str, series: &str, preferred: &str) -> Option<String> {
    let releases: Vec<String> = pkgnames
        .lines()
        .filter_map(|l| l.trim().strip_prefix("linux-headers-"))
        .filter(|r| is_generic_amd64(r, series))
        .map(str::to_owned)
        .collect();
    if releases.iter().any(|r| r == preferred) {
        return Some(preferred.to_owned());
    }
    newest_release(&releases)
}

fn is_generic_amd64(release: &str, series: &str) -> bool {
    let Some(rest) = release.strip_prefix(series) else {
        return false;
    };
    // `7.3` must not match `7.30`.
    if rest.starts_with(|c: char| c.is_ascii_digit()) {
        return false;
    }
    let Some(base) = release.strip_suffix("-amd64") else {
        return false;
    };
    // `7.3.4+deb13-amd64` or old-style `7.3.0-1-amd64`; not `...-cloud-amd64`.
    match base.rsplit_once('-') {
        Some((_, last)) => last.chars().all(|c| c.is_ascii_digit()),
        None => true,
    }
}

/// The newest release by Debian's own version order (`dpkg --compare-versions`).
pub fn newest_release(releases: &[String]) -> Option<String> {
    releases
        .iter()
        .cloned()
        .reduce(|best, r| if dpkg_newer(&r, &best) { r } else { best })
}

/// Whether version `a` sorts after `b` for dpkg.
fn dpkg_newer(a: &str, b: &str) -> bool {
    Shell::new().is_ok_and(|sh| {
        cmd!(sh, "dpkg --compare-versions {a} gt {b}")
            .quiet()
            .run()
            .is_ok()
    })
}

/// Mount points strictly inside `dir` in a `/proc/self/mounts` text, deepest first.
fn mounts_under(mounts: &str, dir: &Path) -> Vec<PathBuf> {
    let mut points: Vec<PathBuf> = mounts
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .map(|p| PathBuf::from(unescape_mount(p)))
        .filter(|p| p.starts_with(dir) && p != dir)
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    points.dedup();
    points
}

/// `/proc/self/mounts` escapes space, tab, newline and backslash as `\ooo`.
fn unescape_mount(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let code = rest.get(i + 1..i + 4);
        match code.and_then(|c| u8::from_str_radix(c, 8).ok()) {
            Some(b) => {
                out.push(b as char);
                rest = &rest[i + 4..];
            }
            None => {
                out.push('\\');
                rest = &rest[i + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_release_prefers_the_measured_one_then_the_newest_generic() {
        let names = "linux-headers-7.3.4+deb13-common\nlinux-headers-7.3.4+deb13-amd64\nlinux-headers-7.3.4+deb13-cloud-amd64\nlinux-headers-7.3.4+deb13-rt-amd64\nlinux-headers-6.12.30+deb13-amd64\nlinux-headers-amd64\n";
        assert_eq!(
            pick_headers_release(names, "7.3", "7.3.4+deb13-amd64").as_deref(),
            Some("7.3.4+deb13-amd64")
        );
        let newer = "linux-headers-7.3.4+deb13-amd64\nlinux-headers-7.3.10+deb13-amd64\nlinux-headers-7.3.10+deb13-cloud-amd64\nlinux-headers-7.30.1+deb13-amd64\n";
        assert_eq!(
            pick_headers_release(newer, "7.3", "7.3.5+deb13-amd64").as_deref(),
            Some("7.3.10+deb13-amd64")
        );
        assert_eq!(
            pick_headers_release(
                "linux-headers-7.3.0-1-amd64\nlinux-headers-7.3.0-1-rt-amd64\n",
                "7.3",
                "x"
            )
            .as_deref(),
            Some("7.3.0-1-amd64")
        );
        assert_eq!(
            pick_headers_release("linux-headers-6.12.30+deb13-amd64\n", "7.3", "x"),
            None
        );
    }

    #[test]
    fn newest_release_compares_numbers_as_numbers() {
        let r = |v: &[&str]| newest_release(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            r(&[
                "7.3.4+deb13-amd64",
                "7.3.10+deb13-amd64",
                "7.3.9+deb13-amd64"
            ])
            .as_deref(),
            Some("7.3.10+deb13-amd64")
        );
        assert_eq!(
            r(&["7.3.4+deb13-amd64"]).as_deref(),
            Some("7.3.4+deb13-amd64")
        );
        assert_eq!(r(&[]), None);
    }

    #[test]
    fn mounts_inside_the_chroot_deepest_first() {
        let mounts = "proc /proc proc rw 0 0\n/dev/vda / ext4 rw 0 0\nproc /c/stock/trixie/proc proc rw 0 0\nsysfs /c/stock/trixie/proc/sys/x sysfs rw 0 0\nproc /c/stock/trixie2/proc proc rw 0 0\ntmpfs /c/stock/my\\040dir/x tmpfs rw 0 0\n";
        assert_eq!(
            mounts_under(mounts, Path::new("/c/stock/trixie")),
            vec![
                PathBuf::from("/c/stock/trixie/proc/sys/x"),
                PathBuf::from("/c/stock/trixie/proc")
            ]
        );
        assert_eq!(
            mounts_under(mounts, Path::new("/c/stock/my dir")),
            vec![PathBuf::from("/c/stock/my dir/x")]
        );
        assert!(mounts_under(mounts, Path::new("/elsewhere")).is_empty());
    }

    #[test]
    fn only_kbuild_inputs_are_copied() {
        for name in [
            "Kbuild",
            "Makefile",
            "c_mempool.c",
            "c_mempool_limits.h",
            "rust_mempool_main.rs",
        ] {
            assert!(is_module_source(name), "{name}");
        }
        for name in [
            "c_mempool.mod.c",
            "c_mempool.o",
            "c_mempool.ko",
            "build.log",
            "modules.order",
        ] {
            assert!(!is_module_source(name), "{name}");
        }
    }
}
