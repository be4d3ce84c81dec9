//! `mempoolctl vm`: boot a kernel with the module and run a scenario in it.

use anyhow::{bail, Context, Result};
use clap::Args;
use std::path::PathBuf;
use std::time::Duration;
use vm::{Accel, GuestImage, Scenario, VmConfig};

#[derive(Args)]
pub struct VmArgs {
    /// Kernel image [default: the cached test kernel from `cargo xtask kernel`].
    #[arg(long)]
    kernel: Option<PathBuf>,
    /// Module files to put in the guest (repeatable) [default: module/rust_mempool.ko].
    #[arg(long = "ko")]
    kos: Vec<PathBuf>,
    #[arg(long, default_value = "smoke")]
    scenario: Scenario,
    #[arg(long, default_value = "auto")]
    accel: Accel,
    /// Hard limit in seconds for the whole run.
    #[arg(long, default_value_t = 300)]
    timeout: u64,
    #[arg(long, default_value_t = 512)]
    memory_mb: u32,
    /// Where the initramfs, console log and results go [default: a temporary directory].
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// Print a TAP stream of the checks at the end.
    #[arg(long)]
    tap: bool,
    /// Write a JUnit XML report.
    #[arg(long)]
    junit: Option<PathBuf>,
    /// Stream the whole console, boot messages included.
    #[arg(short, long)]
    verbose: bool,
    /// Print only the summary.
    #[arg(short, long, conflicts_with = "verbose")]
    quiet: bool,
    /// Static busybox for the guest.
    #[arg(long, default_value = "/bin/busybox")]
    busybox: PathBuf,
}

/// The newest complete test kernel in the cache.
fn cached_kernel() -> Result<PathBuf> {
    let dir = kbuild::cache_root().join("kernels");
    let mut found: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter_map(|e| {
                    let stamp = e.path().join("mempoolctl-complete");
                    let t = stamp.metadata().ok()?.modified().ok()?;
                    Some((t, e.path().join("out/arch/x86/boot/bzImage")))
                })
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found.pop().map(|(_, p)| p).with_context(|| {
        format!(
            "no test kernel in {}; build one with `cargo xtask kernel` or pass --kernel",
            dir.display()
        )
    })
}

/// `uname -r` of a bzImage, from its setup header's kernel_version pointer.
pub fn bzimage_release(data: &[u8]) -> Option<String> {
    if data.get(0x202..0x206) != Some(b"HdrS") {
        return None;
    }
    let ptr = u16::from_le_bytes([*data.get(0x20e)?, *data.get(0x20f)?]) as usize + 0x200;
    let s = data.get(ptr..ptr + 256)?;
    let end = s.iter().position(|&b| b == b' ' || b == 0)?;
    String::from_utf8(s[..end].to_vec()).ok()
}

pub fn run(a: VmArgs) -> Result<i32> {
    let kernel = match a.kernel {
        Some(k) => k,
        None => cached_kernel()?,
    };
    let image =
        std::fs::read(&kernel).with_context(|| format!("reading kernel {}", kernel.display()))?;
    let release = bzimage_release(&image).with_context(|| {
        format!(
            "{} is not an x86 bzImage (no setup header)",
            kernel.display()
        )
    })?;
    let kos = if a.kos.is_empty() {
        vec![PathBuf::from("module/rust_mempool.ko")]
    } else {
        a.kos
    };
    let tmp;
    let work = match a.work_dir {
        Some(w) => {
            std::fs::create_dir_all(&w).with_context(|| format!("creating {}", w.display()))?;
            w
        }
        None => {
            tmp = TempDir::new()?;
            tmp.0.clone()
        }
    };
    let initrd = work.join("initramfs.cpio");
    GuestImage {
        busybox: a.busybox,
        mempoolctl: std::env::current_exe().context("locating mempoolctl itself")?,
        modules: kos,
        kernel_release: release.clone(),
        scenario: a.scenario,
    }
    .write(&initrd)?;
    let mut cfg = VmConfig::new(&kernel, &initrd, &work);
    cfg.accel = a.accel;
    cfg.timeout = Duration::from_secs(a.timeout);
    cfg.memory_mb = a.memory_mb;
    if !a.quiet {
        println!(
            "[vm] kernel {} ({release}), scenario {}",
            kernel.display(),
            a.scenario
        );
    }
    let mut in_guest = false;
    let (verbose, quiet) = (a.verbose, a.quiet);
    let outcome = vm::run(&cfg, &mut |line: &str| {
        if line.contains("Run /init") {
            in_guest = true;
        }
        let splat = !vm::find_splats(line).is_empty();
        if !quiet && (verbose || in_guest || splat || line.starts_with("[vm]")) {
            println!("{line}");
        }
    })?;
    let passed_checks = outcome.tests.iter().filter(|t| t.ok).count();
    let failures = outcome.failures();
    println!(
        "[vm] {} scenario {}: {} of {} checks passed, {} kernel report(s), {:.1} s boot-to-verdict under {} ({})",
        if failures.is_empty() { "PASS" } else { "FAIL" },
        a.scenario,
        passed_checks,
        outcome.tests.len(),
        outcome.splats.len(),
        outcome.elapsed.as_secs_f64(),
        outcome.accel,
        outcome.accel_note
    );
    for f in &failures {
        println!("[vm]   {f}");
    }
    println!("[vm] console log: {}", cfg.console_log.display());
    if a.tap {
        print!("{}", vm::report::tap(&outcome));
    }
    if let Some(path) = a.junit {
        std::fs::write(
            &path,
            vm::report::junit(&format!("mempoolctl-vm-{}", a.scenario), &outcome),
        )
        .with_context(|| format!("writing {}", path.display()))?;
    }
    if !outcome.qemu_stderr.trim().is_empty() && !failures.is_empty() {
        eprintln!("[vm] qemu stderr: {}", outcome.qemu_stderr.trim());
    }
    Ok(if failures.is_empty() { 0 } else { 3 })
}

/// A temporary directory removed on drop, kept when MEMPOOLCTL_KEEP is set.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<Self> {
        let base = std::env::temp_dir();
        for i in 0..1000u32 {
            let p = base.join(format!("mempoolctl-vm-{}-{i}", std::process::id()));
            if std::fs::create_dir(&p).is_ok() {
                return Ok(Self(p));
            }
        }
        bail!("cannot create a temporary directory in {}", base.display())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::env::var_os("MEMPOOLCTL_KEEP").is_none() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
