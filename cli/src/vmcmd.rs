//! `mempoolctl vm`: boot a kernel with the module and run a scenario in it.

use crate::ui::Ui;
use anyhow::{bail, Context, Result};
use clap::Args;
use modctl::Flavor;
use settings::Settings;
use std::path::PathBuf;
use std::time::Duration;
use vm::{Accel, GuestImage, Scenario, VmConfig};

#[derive(Args)]
pub struct VmArgs {
    /// Kernel image [default: the newest cached test kernel (cargo xtask kernel)].
    /// A bzImage in its build tree boots as that tree's vmlinux, through its
    /// PVH entry, when the vmlinux is the image's kernel and has one.
    #[arg(long)]
    kernel: Option<PathBuf>,
    /// Boot the --kernel image itself (its decompressor, real-mode setup and
    /// KASLR), never its build tree's vmlinux through the PVH entry.
    #[arg(long)]
    no_pvh: bool,
    /// Module files to put in the guest (repeatable) [default: the flavor's .ko in its module dir].
    #[arg(long = "ko")]
    kos: Vec<PathBuf>,
    /// What the guest runs [default: smoke].
    #[arg(long, value_enum)]
    scenario: Option<Scenario>,
    /// auto: KVM only where it really works, else TCG [default: auto].
    #[arg(long, value_enum)]
    accel: Option<Accel>,
    /// Hard limit in seconds for the whole run [default: the scenario's own
    /// limit times --timeout-factor: demo, boot 240; smoke 300; faults,
    /// stress, bench 600; all 1200].
    #[arg(long)]
    timeout: Option<u64>,
    /// Multiplies the scenario's own limit (for slower runners) [default: 1].
    #[arg(long)]
    timeout_factor: Option<u64>,
    /// Guest vCPUs [default: 2].
    #[arg(long)]
    cpus: Option<u64>,
    /// Guest memory in MiB [default: 512].
    #[arg(long)]
    memory_mb: Option<u64>,
    /// Where the initramfs, console log and results go [default: a temporary directory].
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// Print a TAP stream of the checks at the end.
    #[arg(long, conflicts_with = "junit")]
    tap: bool,
    /// Write a JUnit XML report to FILE.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Extra kernel command-line argument (repeatable), e.g. `tsc=reliable`.
    #[arg(long = "kernel-arg", value_name = "ARG")]
    kernel_args: Vec<String>,
    /// Sample where the guest's vCPUs are every 10 ms through QEMU's monitor
    /// and write the busiest kernel functions to FILE (and the top 10 to
    /// stdout).
    #[arg(long, value_name = "FILE")]
    profile: Option<PathBuf>,
    /// The kernel's System.map for --profile [default: next to a build tree's
    /// arch/x86/boot/bzImage, else /boot/System.map-<release>].
    #[arg(long, value_name = "FILE", requires = "profile")]
    system_map: Option<PathBuf>,
    /// Static busybox for the guest.
    #[arg(long, default_value = "/bin/busybox")]
    busybox: PathBuf,
}

impl VmArgs {
    /// The flags that are also settings (see `mempoolctl config`).
    pub fn setting_flags(&self) -> Result<Vec<(&'static str, Option<String>)>> {
        Ok(vec![
            ("vm.kernel", crate::path_setting("--kernel", &self.kernel)?),
            ("vm.scenario", self.scenario.map(|s| s.to_string())),
            ("vm.accel", self.accel.map(|a| a.to_string())),
            ("vm.timeout", self.timeout.map(|t| t.to_string())),
            (
                "vm.timeout_factor",
                self.timeout_factor.map(|t| t.to_string()),
            ),
            ("vm.cpus", self.cpus.map(|c| c.to_string())),
            ("vm.memory_mb", self.memory_mb.map(|m| m.to_string())),
        ])
    }
}

/// `default_ko`: the flavor's `.ko` where `build` puts it (from main's one
/// definition of the module directory).
pub fn run(
    a: VmArgs,
    settings: &Settings,
    flavor: Flavor,
    default_ko: PathBuf,
    ui: Ui,
) -> Result<i32> {
    let kernel = match settings.path("vm.kernel") {
        Some(k) => k,
        None => kbuild::newest_cached_kernel("test").map_err(|dir| {
            anyhow::anyhow!(
                "no test kernel in {}; build one with `cargo xtask kernel` or pass --kernel",
                dir.display()
            )
        })?,
    };
    let scenario: Scenario = settings
        .string("vm.scenario")
        .parse()
        .map_err(|e: String| anyhow::anyhow!(e))?;
    let accel: Accel = settings
        .string("vm.accel")
        .parse()
        .map_err(|e: String| anyhow::anyhow!(e))?;
    let memory_mb = u32::try_from(settings.integer("vm.memory_mb"))
        .ok()
        .filter(|m| (128..=65536).contains(m))
        .context("vm.memory_mb must be 128..=65536")?;
    let cpus = u32::try_from(settings.integer("vm.cpus"))
        .ok()
        .filter(|c| (1..=64).contains(c))
        .context("vm.cpus must be 1..=64")?;
    let factor = u32::try_from(settings.integer("vm.timeout_factor"))
        .ok()
        .filter(|f| (1..=100).contains(f))
        .context("vm.timeout_factor must be 1..=100")?;
    let timeout = match settings.get("vm.timeout") {
        Some(_) => Duration::from_secs(settings.integer("vm.timeout")),
        None => scenario.time_limit() * factor,
    };
    if timeout.is_zero() {
        bail!("vm.timeout must be at least 1 second");
    }
    let image =
        std::fs::read(&kernel).with_context(|| format!("reading kernel {}", kernel.display()))?;
    let release = vm::bzimage_release(&image).with_context(|| {
        format!(
            "{} is not an x86 bzImage (no setup header)",
            kernel.display()
        )
    })?;
    // Read before booting: a profile without symbols is no profile.
    let symbols = match &a.profile {
        None => None,
        Some(_) => Some(system_map(&kernel, &release, a.system_map.as_deref())?),
    };
    let kos = if a.kos.is_empty() {
        vec![default_ko]
    } else {
        a.kos
    };
    for ko in &kos {
        if ko.is_dir() {
            bail!(
                "{} is a directory: pass the .ko file itself (--ko DIR/<module>.ko)",
                ko.display()
            );
        }
        if !ko.is_file() {
            bail!(
                "{} not found: build it first (mempoolctl build --kdir <test kernel out dir>, or cargo xtask test)",
                ko.display()
            );
        }
    }
    let (work, tmp) = work_dir(a.work_dir)?;
    let initrd = work.join("initramfs.cpio");
    GuestImage {
        busybox: a.busybox,
        mempoolctl: std::env::current_exe().context("locating mempoolctl itself")?,
        modules: kos,
        kernel_release: release.clone(),
        scenario,
        module: flavor.module_name().to_owned(),
        flavor: flavor.to_string(),
    }
    .write(&initrd)?;
    let mut cfg = VmConfig::new(&kernel, &initrd, &work);
    cfg.accel = accel;
    cfg.timeout = timeout;
    cfg.cpus = cpus;
    cfg.memory_mb = memory_mb;
    cfg.extra_append = a.kernel_args.join(" ");
    // Its HZ, when the configuration it was built with is sure.
    cfg.kernel_hz = kbuild::config_of(&kernel, &release)
        .and_then(|conf| std::fs::read_to_string(conf).ok())
        .and_then(|text| kbuild::kconfig::Kconfig::parse(&text).number("HZ"));
    // Its build tree's uncompressed vmlinux, through the PVH entry, when that
    // is the image's kernel and has the entry (see config/kernel/test.fragment).
    let pvh = match a.no_pvh {
        true => None,
        false => kbuild::vmlinux_of(&kernel).filter(|vmlinux| {
            let version = vm::bzimage_version(&image).unwrap_or_default();
            vm::pvh::boots_as(vmlinux, &version)
        }),
    };
    if let Some(vmlinux) = &pvh {
        cfg.kernel = vmlinux.clone();
    }
    if symbols.is_some() {
        let socket = work.join("qmp.sock");
        let _ = std::fs::remove_file(&socket);
        cfg.profile_socket = Some(socket);
    }
    cfg.expected_checks = scenario.expected_checks();
    let booted = match &pvh {
        Some(vmlinux) => format!(", booted as {} (PVH)", vmlinux.display()),
        None => String::new(),
    };
    ui.info(format!(
        "[vm] kernel {} ({release}){booted}, scenario {scenario}, {cpus} vCPUs, limit {} s",
        kernel.display(),
        timeout.as_secs()
    ));
    let mut in_guest = false;
    let (verbose, quiet) = (ui.level >= 1, ui.level < 0);
    let outcome = vm::run(&cfg, &mut |line: &str| {
        if line.contains("Run /init") {
            in_guest = true;
        }
        let splat = !vm::find_splats(line).is_empty();
        if !quiet && (verbose || in_guest || splat || line.starts_with("[vm]")) {
            println!("{line}");
        }
    })?;
    let skipped: Vec<&vm::TestResult> = outcome
        .tests
        .iter()
        .filter(|t| t.skip_reason().is_some())
        .collect();
    let passed_checks = outcome.tests.iter().filter(|t| t.ok).count() - skipped.len();
    let failures = outcome.failures();
    println!(
        "[vm] {} scenario {}: {} of {} checks passed, {} skipped, {} kernel report(s), {:.2} s boot-to-verdict under {} ({})",
        if failures.is_empty() { "PASS" } else { "FAIL" },
        scenario,
        passed_checks,
        outcome.tests.len(),
        skipped.len(),
        outcome.splats.len(),
        outcome.elapsed.as_secs_f64(),
        outcome.accel,
        outcome.accel_note
    );
    if outcome.end == vm::qemu::VmEnd::KilledAfterFinish {
        println!(
            "[vm] QEMU had not exited {} s after the guest finished (or the run's limit came first): killed{}",
            cfg.exit_grace.as_secs(),
            if outcome.verdict.is_some() {
                ", the guest's verdict stands"
            } else {
                ""
            }
        );
    }
    if let Some(cpu) = outcome.cpu {
        let wall = outcome.elapsed.as_secs_f64();
        println!(
            "[vm] host CPU: QEMU used {:.1} s of CPU time in {wall:.1} s ({:.2} cores busy on average)",
            cpu.as_secs_f64(),
            if wall > 0.0 { cpu.as_secs_f64() / wall } else { 0.0 }
        );
    }
    if let (Some(path), Some(symbols)) = (&a.profile, &symbols) {
        match &outcome.profile {
            Some(Ok(samples)) => {
                let profile = vm::profile::Profile::new(samples, symbols);
                std::fs::write(path, profile.render(usize::MAX))
                    .with_context(|| format!("writing the profile to {}", path.display()))?;
                println!("[vm] profile ({}):", path.display());
                for line in profile.render(10).lines() {
                    println!("[vm]   {line}");
                }
            }
            Some(Err(why)) => println!("[vm] no profile: {why}"),
            None => {}
        }
    }
    if !outcome.figures.is_empty() {
        let figures: Vec<String> = outcome
            .figures
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        println!(
            "[vm] figures: {}, splats found {}",
            figures.join(", ").replace('_', " "),
            outcome.splats.len()
        );
    }
    let slowest = outcome.slowest(3);
    if !slowest.is_empty() {
        let shown: Vec<String> = slowest
            .iter()
            .map(|t| format!("{} s '{}'", t.seconds().unwrap_or_default(), t.name))
            .collect();
        println!(
            "[vm] slowest checks (guest time since the check before): {}",
            shown.join(", ")
        );
    }
    for t in &skipped {
        println!(
            "[vm]   skipped check {} '{}': {}",
            t.number,
            t.name,
            t.skip_reason().unwrap_or("")
        );
    }
    for f in &failures {
        println!("[vm]   {f}");
    }
    // A failed run keeps its temporary directory: the console log is the evidence.
    // MEMPOOLCTL_KEEP=1 keeps a passing one too ("0" or empty: as unset).
    let keep_asked = std::env::var_os("MEMPOOLCTL_KEEP").is_some_and(|v| !v.is_empty() && v != "0");
    if tmp.is_none() || !failures.is_empty() || keep_asked {
        if let Some(tmp) = tmp {
            let _ = tmp.keep();
        }
        println!("[vm] console log: {}", cfg.console_log.display());
    }
    if a.tap {
        print!("{}", vm::report::tap(&outcome));
    }
    if let Some(path) = a.junit {
        std::fs::write(
            &path,
            vm::report::junit(&format!("mempoolctl-vm-{}", scenario), &outcome),
        )
        .with_context(|| format!("writing {}", path.display()))?;
    }
    if !outcome.qemu_stderr.trim().is_empty() && !failures.is_empty() {
        eprintln!("[vm] qemu stderr: {}", outcome.qemu_stderr.trim());
    }
    Ok(if failures.is_empty() { 0 } else { 3 })
}

/// The kernel's symbols for `--profile`: `explicit`, else the System.map
/// kbuild knows for the image (its build tree's, or the installed one).
fn system_map(
    kernel: &std::path::Path,
    release: &str,
    explicit: Option<&std::path::Path>,
) -> Result<vm::profile::SymbolMap> {
    let path = match explicit {
        Some(p) => p.to_owned(),
        None => kbuild::system_map_of(kernel, release),
    };
    let text = std::fs::read_to_string(&path).map_err(|e| {
        let why = match e.kind() {
            std::io::ErrorKind::NotFound => "does not exist".to_owned(),
            _ => format!("cannot be read: {e}"),
        };
        anyhow::anyhow!(
            "--profile needs the kernel's System.map: {} {why}; fix: pass --system-map FILE",
            path.display()
        )
    })?;
    let map = vm::profile::SymbolMap::parse(&text);
    if map.is_empty() {
        bail!("{} has no text symbols: not a System.map", path.display());
    }
    Ok(map)
}

/// The run's work directory: the one asked for (created if missing, kept), or
/// a private temporary one, removed when the returned guard drops after a
/// passing run (unless MEMPOOLCTL_KEEP is set).
fn work_dir(asked: Option<PathBuf>) -> Result<(PathBuf, Option<tempfile::TempDir>)> {
    if let Some(dir) = asked {
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        return Ok((dir, None));
    }
    let tmp = tempfile::Builder::new()
        .prefix(vm::WORK_DIR_PREFIX)
        // Private: the console log and results are this user's alone.
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .tempdir()
        .context("creating a temporary directory")?;
    Ok((tmp.path().to_owned(), Some(tmp)))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn an_asked_work_dir_is_used_and_no_temporary_one_is_made() {
        let parent = tempfile::tempdir().unwrap();
        let asked = parent.path().join("run/1");
        let (work, tmp) = super::work_dir(Some(asked.clone())).unwrap();
        assert_eq!(work, asked);
        assert!(asked.is_dir());
        assert!(
            tmp.is_none(),
            "a temporary directory was made beside {}",
            asked.display()
        );
    }

    #[test]
    fn without_one_a_private_temporary_dir_is_made_and_removed_with_its_guard() {
        let (work, tmp) = super::work_dir(None).unwrap();
        let mode = std::fs::metadata(&work).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        drop(tmp);
        assert!(!work.exists());
    }
}
