//! The stock-kernel matrix (`cargo xtask matrix`): Debian's own kernels of
//! three releases, each with its own headers in a chroot of its own Debian
//! (standing for that Debian machine) and its own kernel image in the VM.
//! The C twin is built and run on every one; the Rust module wherever the
//! kernel has `CONFIG_RUST`, and elsewhere `mempoolctl build` must refuse it
//! and say why. One table comes out, for the README.
//!
//! The kernel image is taken out of its package (`dpkg-deb --fsys-tarfile`),
//! not installed: installing `linux-image-*` runs the initramfs hooks, and the
//! VM brings its own initramfs. The headers are installed with apt, as a user
//! installs them. 7.3 is the stock path's own kernel (`stock::prepare`).

use crate::run::run_logged;
use crate::stock::{self, say, Chroot, Mounts, StockParts};
use anyhow::{bail, Context, Result};
use std::fs;
use std::path::{Path, PathBuf};

/// One Debian kernel of the matrix.
pub struct DebianKernel {
    /// How the README names the Debian release.
    pub debian: &'static str,
    /// The suite of the chroot that stands for that Debian machine.
    pub suite: &'static str,
    /// The archive suite the kernel packages come from.
    pub archive: &'static str,
    /// The kernel series (`linux-headers-<series>*-amd64`).
    pub series: &'static str,
}

pub const KERNELS: [DebianKernel; 3] = [
    DebianKernel {
        debian: "Debian 12 (bookworm)",
        suite: "bookworm",
        archive: "bookworm",
        series: "6.1",
    },
    DebianKernel {
        debian: "Debian 13 (trixie)",
        suite: "trixie",
        archive: "trixie",
        series: "6.12",
    },
    DebianKernel {
        debian: "Debian 13 (trixie-backports)",
        suite: "trixie",
        archive: "trixie-backports",
        series: "7.3",
    },
];

/// What the matrix found for one kernel: its parts, and the Rust module's
/// refusal where it has none.
pub struct Cell {
    pub kernel: &'static DebianKernel,
    pub release: String,
    pub vmlinuz: PathBuf,
    pub c_ko: PathBuf,
    pub rust: Result<PathBuf, String>,
    /// For a kernel without Rust in a chroot with DKMS: that DKMS skipped the
    /// Rust module (BUILD_EXCLUSIVE) instead of failing.
    pub dkms_skipped: Option<Result<(), String>>,
}

/// The stamp of an added kernel: holds its release.
fn kernel_stamp(series: &str) -> String {
    format!(".mempoolctl-kernel-{series}")
}

/// Where an extracted kernel image lives inside the chroot.
fn image_in_chroot(release: &str) -> String {
    format!("/root/kernel-images/vmlinuz-{release}")
}

/// A chroot of `suite` with the build tools (made once; the trixie one is the
/// stock path's, with its Rust path).
fn base_chroot(suite: &str) -> Result<PathBuf> {
    const READY: &str = ".mempoolctl-base";
    let base = kbuild::cache_root().join("stock");
    fs::create_dir_all(&base).with_context(|| format!("creating {}", base.display()))?;
    let root = base.canonicalize()?.join(suite);
    stock::unmount_stale(&root)?;
    if root.join(READY).exists() {
        return Ok(root);
    }
    if !root.join(".mempoolctl-debootstrap").exists() {
        stock::debootstrap(&root, &base, suite)?;
    }
    let _proc = Mounts::proc(&root)?;
    let ch = Chroot::new(&root)?;
    let log = base.join(format!("apt-{suite}.log"));
    run_logged("apt-get update", ch.cmd(&["apt-get", "update"]), &log)?;
    // kbuild runs make; the headers' gcc runs as and ld from binutils.
    ch.apt_install(&log, "apt-get install", &["make", "binutils"])?;
    stock::stamp(&root, READY, "")?;
    Ok(root)
}

/// Installs Debian's headers of `kernel` in the chroot and takes its image out
/// of its package; the release. Once per chroot and series (a stamp).
fn add_kernel(root: &Path, kernel: &DebianKernel) -> Result<String> {
    let stamp = root.join(kernel_stamp(kernel.series));
    if let Ok(release) = fs::read_to_string(&stamp) {
        let release = release.trim().to_owned();
        let image = root.join(image_in_chroot(&release).trim_start_matches('/'));
        // `build` is an absolute symlink: resolved on the host it points
        // nowhere, so only its presence is asked.
        let build = root.join(format!("lib/modules/{release}/build"));
        if image.is_file() && fs::symlink_metadata(&build).is_ok() {
            return Ok(release);
        }
    }
    let log = root
        .parent()
        .unwrap_or(root)
        .join(format!("apt-{}-{}.log", kernel.suite, kernel.series));
    let _ = fs::remove_file(&log);
    let _proc = Mounts::proc(root)?;
    let ch = Chroot::new(root)?;
    run_logged("apt-get update", ch.cmd(&["apt-get", "update"]), &log)?;
    let names = ch.read(&["apt-cache", "pkgnames", "linux-headers-"])?;
    let release = stock::pick_headers_release(&names, kernel.series, "").with_context(|| {
        format!(
            "{} has no linux-headers-{}*-amd64",
            kernel.archive, kernel.series
        )
    })?;
    // It goes into a shell line below.
    stock::plain_release(&release)?;
    say(format!(
        "{}: installing linux-headers-{release} from {} (log: {})",
        kernel.debian,
        kernel.archive,
        log.display()
    ));
    let headers = format!("linux-headers-{release}");
    ch.apt_install(&log, "apt-get install", &["-t", kernel.archive, &headers])?;
    say(format!(
        "{}: taking vmlinuz out of linux-image-{release}",
        kernel.debian
    ));
    let image = image_in_chroot(&release);
    let script = format!(
        "set -e; d=$(mktemp -d); cd \"$d\"; apt-get download -t {archive} linux-image-{release}; \
         mkdir -p /root/kernel-images; \
         dpkg-deb --fsys-tarfile linux-image-{release}_*.deb | tar -xO ./boot/vmlinuz-{release} > {image}.new; \
         mv {image}.new {image}; cd /; rm -rf \"$d\"",
        archive = kernel.archive
    );
    let extract = ch.cmd(&["sh", "-c", &script]);
    run_logged("extracting the kernel image", extract, &log)?;
    stock::stamp(root, &kernel_stamp(kernel.series), &release)?;
    Ok(release)
}

/// Prepares every kernel of the matrix: chroots, headers, images, builds.
/// A kernel that cannot be prepared is reported with why, the others go on.
pub fn prepare(ctl: &Path, repo: &Path, trixie: &StockParts) -> Vec<Result<Cell>> {
    KERNELS
        .iter()
        .map(|kernel| {
            if kernel.archive == "trixie-backports" {
                return Ok(Cell {
                    kernel,
                    release: trixie.release.clone(),
                    vmlinuz: trixie.vmlinuz.clone(),
                    c_ko: trixie.c_ko.clone(),
                    rust: Ok(trixie.rust_ko.clone()),
                    dkms_skipped: None,
                });
            }
            prepare_one(ctl, repo, kernel, &trixie.root)
                .with_context(|| format!("{} {}", kernel.debian, kernel.series))
        })
        .collect()
}

fn prepare_one(
    ctl: &Path,
    repo: &Path,
    kernel: &'static DebianKernel,
    trixie_root: &Path,
) -> Result<Cell> {
    let root = if kernel.suite == "trixie" {
        trixie_root.to_owned()
    } else {
        base_chroot(kernel.suite)?
    };
    let release = add_kernel(&root, kernel)?;
    let vmlinuz = root.join(image_in_chroot(&release).trim_start_matches('/'));
    // Module dirs of this kernel's own: a chroot holds several kernels, and
    // the stock path's dirs hold its 7.3 builds.
    let dir = |(from, _, name): (&'static str, &str, &'static str)| {
        (from, format!("/root/matrix-{}/{name}", kernel.series), name)
    };
    let (c_module, rust_module) = (dir(stock::C_MODULE), dir(stock::RUST_MODULE));
    let c_module = (c_module.0, c_module.1.as_str(), c_module.2);
    let rust_module = (rust_module.0, rust_module.1.as_str(), rust_module.2);
    stock::install_sources(repo, &root, c_module)?;
    stock::install_sources(repo, &root, rust_module)?;
    stock::install_ctl(ctl, &root)?;
    let _proc = Mounts::proc(&root)?;
    let ch = Chroot::new(&root)?;
    let c_ko = stock::build_in_chroot(&ch, &release, "c", c_module)?;
    let kdir = format!("/lib/modules/{release}/build");
    let out = stock::mempoolctl_build(&ch, "rust", &kdir, rust_module.1)?;
    let rust = if out.status.success() {
        bail!("mempoolctl built the Rust module for {release}, a kernel the matrix expects without CONFIG_RUST: update the matrix");
    } else {
        let stderr = String::from_utf8_lossy(&out.stderr);
        say(format!(
            "{release}: mempoolctl --flavor rust build refused (exit {}): {}",
            out.status.code().unwrap_or(-1),
            stderr.trim()
        ));
        Err(stderr.trim().to_owned())
    };
    // DKMS is in the trixie chroot (the stock suite's DKMS test).
    let dkms_skipped = (kernel.suite == "trixie").then(|| {
        stock::dkms_skips(&root, repo, &release)
            .map(|_| ())
            .map_err(|e| format!("{e:#}"))
    });
    Ok(Cell {
        kernel,
        release,
        vmlinuz,
        c_ko,
        rust,
        dkms_skipped,
    })
}

/// Checks counted from a JUnit report: (tests, failures, skipped).
pub type Counts = (u32, u32, u32);

/// The counts of the first `<testsuite>` of a JUnit report.
pub fn junit_counts(xml: &str) -> Option<Counts> {
    let head = &xml[xml.find("<testsuite ")?..];
    let head = &head[..head.find('>')?];
    let attr = |name: &str| -> Option<u32> {
        let at = head.find(&format!(" {name}=\""))? + name.len() + 3;
        head[at..].split('"').next()?.parse().ok()
    };
    Some((attr("tests")?, attr("failures")?, attr("skipped")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_come_from_the_testsuite_line() {
        let xml = "<?xml version=\"1.0\"?>\n<testsuite name=\"mempoolctl-vm-all\" tests=\"117\" failures=\"0\" skipped=\"10\" time=\"95.1\">\n<testcase name=\"x\"/>";
        assert_eq!(junit_counts(xml), Some((117, 0, 10)));
        assert_eq!(junit_counts("<testsuites>"), None);
    }

    #[test]
    fn every_kernel_has_its_own_stamp() {
        let stamps: std::collections::BTreeSet<_> =
            KERNELS.iter().map(|k| kernel_stamp(k.series)).collect();
        assert_eq!(stamps.len(), KERNELS.len());
    }
}
