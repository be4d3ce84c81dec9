//! `cargo xtask`: the developer entry points named in the README.
//!
//! - `provision`: install what the VM path needs (idempotent, root).
//! - `kernel`: build or reuse the cached test kernel.
//! - `demo`: the main job — provision, kernel, module, boot, load min_nr=6, stats, log, unload.
//! - `test`: unit tests plus the VM suite; ends with `N passed, N failed`.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use kbuild::{Fragment, KernelBuild, KernelSpec, Toolchain};
use std::path::{Path, PathBuf};
use std::time::Instant;
use xshell::{cmd, Shell};

mod bench;
mod budget;
mod checkcount;
mod matrix;
mod mirror;
#[cfg(test)]
mod readme_claims;
mod run;
mod stock;

#[derive(Parser)]
#[command(about = "mempoolctl developer tasks")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Install (idempotently, as root) the packages, bindgen and rust-src the VM path needs.
    Provision,
    /// Build (or reuse from the cache) the Rust-enabled test kernel; prints its build directory.
    Kernel {
        /// The lean kernel for benchmarks instead (no KASAN, kmemleak, lockdep).
        #[arg(long)]
        lean: bool,
    },
    /// The main job: build everything needed, boot the VM, load with min_nr=6, stats, log, unload.
    Demo,
    /// Run one VM scenario with freshly built parts (e.g. `cargo xtask vm smoke -- -v`).
    Vm {
        scenario: String,
        /// Which module the scenario drives: rust or c.
        #[arg(long, default_value = "rust")]
        flavor: String,
        /// Extra arguments for `mempoolctl vm`.
        #[arg(last = true)]
        extra: Vec<String>,
    },
    /// All tests: workspace unit tests, then the VM suite.
    Test,
    /// Benchmarks on the lean kernel: Rust vs C twin in the kernel, mempoolctl vs
    /// insmod/rmmod and cat, VM boot-to-verdict, no-op build. Prints one table.
    Bench {
        /// Boot-to-verdict runs per accelerator, of the `boot` and of the `demo` scenario each.
        #[arg(long, default_value_t = 3)]
        boots: usize,
    },
    /// The stock-distribution path alone: build the C twin against Debian's own
    /// headers in a trixie chroot, boot Debian's kernel with it, run the demo.
    Stock,
    /// Debian's 6.1, 6.12 and 7.3 kernels, each with its own headers (in a chroot
    /// of its Debian) and its own image in the VM: the C twin on all, the Rust
    /// module where the kernel has CONFIG_RUST. Prints the README's table.
    Matrix,
    /// Counts each guest scenario's checks (scripts run with every check
    /// skipped, in a sandbox) against vm::Scenario::expected_checks.
    CountChecks,
}

/// The host's cores (what the VM tests and kbuild share).
fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

fn jobs() -> usize {
    cores() + 1
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repo root exists")
}

fn phase<T>(name: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let t = Instant::now();
    let r = f();
    eprintln!("[xtask] {name}: {:.1} s", t.elapsed().as_secs_f64());
    r
}

/// `provision.sh`: its `packages` (apt) and `bindgen` (cargo) steps side by
/// side (see the script's header), then its `check`. The kernel's
/// configuration waits for bindgen: its compile overlaps apt's downloads and
/// unpacking instead of following them.
fn provision() -> Result<()> {
    beside(
        || provision_step("packages"),
        |_| provision_step("bindgen"),
        "installing bindgen-cli",
    )?;
    provision_step("check")
}

/// One step of `provision.sh` (see its header).
fn provision_step(step: &str) -> Result<()> {
    let script = repo_root().join("crates/xtask/scripts/provision.sh");
    let sh = Shell::new()?;
    let mut bash = cmd!(sh, "bash {script} {step}");
    // Needed only the first time (when the extra suites are added).
    if step == "packages" {
        bash = match mirror::uri() {
            Ok(uri) => bash.env("MEMPOOLCTL_MIRROR", uri),
            Err(e) => bash.env("MEMPOOLCTL_MIRROR_ERROR", format!("{e:#}")),
        };
    }
    let status = run::status(bash).with_context(|| format!("running provision.sh {step}"))?;
    if !status.success() {
        bail!("provisioning ({step}) failed ({status}); see the message above");
    }
    Ok(())
}

/// Runs `main` with the cargo build `side` beside it, in a thread (`side`'s
/// argument: whether it runs beside `main`). A failed `side` is tried once
/// more after `main`: apt, in `main`, may have replaced the linker or a C
/// library file while cargo linked. When `main` fails, a failed `side` is
/// reported too.
fn beside<M, S: Send>(
    main: impl FnOnce() -> Result<M>,
    side: impl Fn(bool) -> Result<S> + Sync,
    what: &str,
) -> Result<(M, S)> {
    std::thread::scope(|s| {
        let handle = s.spawn(|| side(true));
        let done = main();
        if done.is_err() && !handle.is_finished() {
            eprintln!("[xtask] waiting for {what} to finish before reporting the failure");
        }
        let side_done = handle
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("{what} panicked")));
        match (done, side_done) {
            (Ok(done), Ok(side_done)) => Ok((done, side_done)),
            (Ok(done), Err(e)) => {
                eprintln!("[xtask] {what} failed beside the rest ({e:#}); trying once more");
                Ok((done, side(false)?))
            }
            (Err(e), side_done) => {
                if let Err(c) = side_done {
                    eprintln!("[xtask] {what} failed too: {c:#}");
                }
                Err(e)
            }
        }
    })
}

fn test_kernel() -> Result<KernelBuild> {
    kernel("test")
}

/// The kernel built from [`fragment`]`(name)`, cached.
fn kernel(name: &str) -> Result<KernelBuild> {
    let spec = KernelSpec {
        name: name.to_owned(),
        source_tarball: KernelSpec::find_source("7.3")?,
        fragment: fragment(name)?,
        toolchain: Toolchain::test_kernel(),
        cache_root: kbuild::cache_root(),
    };
    Ok(spec.ensure_built(jobs(), &|m| eprintln!("[xtask] {m}"))?)
}

/// `config/kernel/test.fragment`, and for any other kernel that fragment
/// overridden by `<name>.fragment` (the lean kernel is the test kernel
/// without its debugging tools): each option of the test kernel has one home.
fn fragment(name: &str) -> Result<Fragment> {
    let load =
        |name: &str| Fragment::load(&repo_root().join(format!("config/kernel/{name}.fragment")));
    let test = load("test")?;
    Ok(match name {
        "test" => test,
        other => test.overridden_by(load(other)?),
    })
}

/// Builds `module_dir` against `kernel`; `extra` are make variables.
fn build_module(kernel: &KernelBuild, module_dir: &Path, extra: &[String]) -> Result<PathBuf> {
    let log = module_dir.join("build.log");
    let _ = std::fs::remove_file(&log);
    let kos = kbuild::build_module(
        &Toolchain::test_kernel(),
        &kernel.out_dir,
        module_dir,
        jobs(),
        extra,
        &log,
    )?;
    kos.into_iter()
        .next()
        .with_context(|| format!("kbuild produced no .ko in {}", module_dir.display()))
}

/// A statically linked mempoolctl: it runs on the host and inside the guest.
/// `yielding`: at the lowest CPU priority (`nice -n 19`), for a build beside
/// work on the critical path.
fn static_mempoolctl(yielding: bool) -> Result<PathBuf> {
    let root = repo_root();
    let sh = Shell::new()?;
    sh.change_dir(&root);
    let cargo = env!("CARGO");
    let (program, before) = match yielding {
        true => ("nice", vec!["-n", "19", cargo]),
        false => (cargo, vec![]),
    };
    let build = cmd!(
        sh,
        "{program} {before...} build --quiet --release -p mempoolctl --target x86_64-unknown-linux-gnu"
    )
    .env(
        "CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS",
        // Non-PIE: a static-pie binary relocates itself at every start, which
        // costs milliseconds under TCG (measured by cargo xtask bench).
        "-C target-feature=+crt-static -C relocation-model=static",
    );
    let status = run::status(build).context("running cargo build")?;
    if !status.success() {
        bail!("building the static mempoolctl failed");
    }
    Ok(root.join("target/x86_64-unknown-linux-gnu/release/mempoolctl"))
}

/// Runs `work` while the static mempoolctl builds, which needs neither the
/// provisioned packages nor a kernel. On a fresh machine it overlaps
/// provisioning, at the lowest priority: apt's downloads leave the cores idle,
/// and `cargo install bindgen-cli`, which the kernel's configuration waits
/// for, gets them first; where `work` builds the test kernel, what is left of
/// this build then takes the core its unpacking and configuring leave idle,
/// and carries on, still yielding, into the kernel's compile.
fn beside_static_mempoolctl<T>(work: impl FnOnce() -> Result<T>) -> Result<(T, PathBuf)> {
    beside(
        work,
        |yielding| phase("static mempoolctl", || static_mempoolctl(yielding)),
        "the static mempoolctl build",
    )
}

struct Parts {
    kernel: KernelBuild,
    /// `rust_mempool.ko` and `c_mempool.ko`.
    rust_ko: PathBuf,
    c_ko: PathBuf,
    ctl: PathBuf,
}

/// Builds everything against `kernel`; the modules in `module_root`
/// (`module/` and `module/c/` under it).
fn prepare_with(kernel: impl FnOnce() -> Result<KernelBuild>, module_root: &Path) -> Result<Parts> {
    // The modules too: on a fresh machine the static build can still be
    // finishing when the kernel is done.
    let ((kernel, rust_ko, c_ko), ctl) = beside_static_mempoolctl(|| {
        phase("provision", provision)?;
        let kernel = phase("kernel", kernel)?;
        let rust_ko = phase("module build (rust)", || {
            build_module(&kernel, &module_root.join("module"), &[])
        })?;
        let c_ko = phase("module build (c)", || {
            build_module(&kernel, &module_root.join("module/c"), &[])
        })?;
        Ok((kernel, rust_ko, c_ko))
    })?;
    Ok(Parts {
        kernel,
        rust_ko,
        c_ko,
        ctl,
    })
}

fn prepare() -> Result<Parts> {
    prepare_with(test_kernel, &repo_root())
}

/// `ctl --flavor <flavor> vm --kernel <kernel> --ko <each> --scenario <scenario> <extra>`.
fn vm_command<'a>(
    sh: &'a Shell,
    ctl: &Path,
    kernel: &Path,
    kos: &[&Path],
    flavor: &str,
    scenario: &str,
    extra: &[String],
) -> xshell::Cmd<'a> {
    let kos = kos.iter().flat_map(|ko| [Path::new("--ko"), *ko]);
    cmd!(
        sh,
        "{ctl} --flavor {flavor} vm --kernel {kernel} {kos...} --scenario {scenario} {extra...}"
    )
}

/// [`vm_command`]'s exit code. With `tmpdir`, `$TMPDIR` is set to it, where a run without
/// `--work-dir` makes (and, passing, removes) its own directory; the caller's
/// `MEMPOOLCTL_KEEP` does not reach it then, so that what it leaves there is
/// its own choice.
fn run_vm(
    tmpdir: Option<&Path>,
    ctl: &Path,
    kernel: &Path,
    kos: &[&Path],
    flavor: &str,
    scenario: &str,
    extra: &[String],
) -> Result<i32> {
    let sh = Shell::new()?;
    let mut vm = vm_command(&sh, ctl, kernel, kos, flavor, scenario, extra);
    if let Some(dir) = tmpdir {
        vm = vm.env("TMPDIR", dir).env_remove("MEMPOOLCTL_KEEP");
    }
    let status = run::status(vm).context("running mempoolctl vm")?;
    Ok(status.code().unwrap_or(1))
}

/// The directories `mempoolctl vm` made for itself in `tmpdir`.
fn vm_dirs_in(tmpdir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(tmpdir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .starts_with(vm::WORK_DIR_PREFIX)
                })
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default()
}

/// `flavor`'s module first, then its twin: (own, other).
fn twins<'a>(flavor: &str, rust: &'a Path, c: &'a Path) -> [&'a Path; 2] {
    match flavor {
        "c" => [c, rust],
        _ => [rust, c],
    }
}

/// Runs `scenario` on the test kernel with both modules in the guest, driving
/// `flavor`'s (`ko` replaces that flavor's module, e.g. with a broken build).
fn vm(
    parts: &Parts,
    flavor: &str,
    ko: Option<&Path>,
    scenario: &str,
    extra: &[String],
) -> Result<i32> {
    vm_in(None, parts, flavor, ko, scenario, extra)
}

/// [`vm`] with its own `$TMPDIR` (see [`run_vm`]).
fn vm_in(
    tmpdir: Option<&Path>,
    parts: &Parts,
    flavor: &str,
    ko: Option<&Path>,
    scenario: &str,
    extra: &[String],
) -> Result<i32> {
    let mut kos = twins(flavor, &parts.rust_ko, &parts.c_ko);
    if let Some(ko) = ko {
        kos[0] = ko;
    }
    run_vm(
        tmpdir,
        &parts.ctl,
        &parts.kernel.bzimage,
        &kos,
        flavor,
        scenario,
        extra,
    )
}

/// Runs `scenario` on Debian's stock kernel driving `flavor`'s module, both
/// twins in the guest.
fn stock_vm(
    ctl: &Path,
    parts: &stock::StockParts,
    flavor: &str,
    scenario: &str,
    extra: &[String],
) -> Result<i32> {
    let kos = twins(flavor, &parts.rust_ko, &parts.c_ko);
    run_vm(None, ctl, &parts.vmlinuz, &kos, flavor, scenario, extra)
}

/// The stock path's chroot and both builds (the Rust one on regenerated metadata).
fn stock_parts(ctl: &Path) -> Result<stock::StockParts> {
    let parts = phase("stock chroot and both builds", || {
        stock::prepare(ctl, &repo_root())
    })?;
    println!(
        "[xtask] stock kernel {} with {} and {}",
        parts.release,
        parts.rust_ko.display(),
        parts.c_ko.display()
    );
    Ok(parts)
}

/// `cargo xtask bench`: everything measured in one run, one table.
fn run_bench(boots: usize) -> Result<()> {
    use bench::{Ratio, Row, Samples};
    // Modules for the lean kernel are built from copies: a module built against
    // one config must never be loaded into the other (lockdep changes struct sizes).
    let copies = repo_root().join("target/lean-modules");
    let _ = std::fs::remove_dir_all(&copies);
    copy_module_sources(&repo_root().join("module"), &copies.join("module"))?;
    copy_module_sources(&repo_root().join("module/c"), &copies.join("module/c"))?;
    let parts = prepare_with(|| kernel("lean"), &copies)?;
    let mut s = Samples::default();

    // No-op rebuilds: kbuild with nothing to do.
    for (name, dir) in [
        ("noop_build_rust_s", "module"),
        ("noop_build_c_s", "module/c"),
    ] {
        for _ in 0..3 {
            let t = Instant::now();
            build_module(&parts.kernel, &copies.join(dir), &[])?;
            s.add(name, t.elapsed().as_secs_f64());
        }
    }

    // In the guest: both twins, mempoolctl vs the plain tools.
    // Private, and kept (its path printed) when the scenario fails.
    let tmp = tempfile::Builder::new()
        .prefix("mempoolctl-bench-")
        // Private: the console log and results are this user's alone.
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .tempdir()
        .context("a private work directory for the bench guest")?;
    let work = tmp.path().to_owned();
    let code = vm(
        &parts,
        "rust",
        None,
        "bench",
        &[
            "--quiet".into(),
            "--work-dir".into(),
            work.display().to_string(),
        ],
    )?;
    let results = std::fs::read_to_string(work.join("results.tap")).unwrap_or_default();
    if code != 0 {
        let kept = tmp.keep();
        bail!(
            "the bench scenario failed (exit {code}); see {}",
            kept.display()
        );
    }
    for (name, v) in vm::scenario::parse_measures(&results) {
        let v = v as f64;
        match name.strip_suffix("_us") {
            // Per-iteration microseconds; shown in milliseconds.
            Some(base) => s.add(&format!("{base}_ms"), v / 1000.0),
            None => s.add(&name, v),
        }
    }
    drop(tmp);

    // Boot-to-verdict: TCG always; KVM only where it really works.
    let kvm = vm::accel::choose(vm::Accel::Auto, Path::new("/sys"), Path::new("/dev/kvm"));
    let mut accels = vec!["tcg"];
    if kvm.accel == vm::Accel::Kvm {
        accels.push("kvm");
    }
    // `boot` reaches the verdict and nothing else; `demo` is the main job
    // (load, stats, log, unload of the Rust module, its twin beside it).
    let sh = Shell::new()?;
    let (ctl, bzimage) = (&parts.ctl, &parts.kernel.bzimage);
    let twins = twins("rust", &parts.rust_ko, &parts.c_ko);
    for accel in &accels {
        let mut extra = vec!["--accel".to_owned(), accel.to_string()];
        // Under TCG every boot calibrates the local APIC timer against 25 PIT
        // ticks and verifies it against 25 more (0.22 s: TCG emulates no
        // TSC-deadline timer, and no boot parameter presets the period).
        // These boots are timed for boot-to-verdict, so their ticks come from
        // the PIT. The suite's guests keep the APIC timer: PIT ticks,
        // broadcast to the other vCPU, cost the busy `all` scenario about 14%
        // more host CPU. KVM boots need neither (its TSC-deadline timer).
        if *accel == "tcg" {
            extra.extend(["--kernel-arg".to_owned(), "noapictimer".to_owned()]);
        }
        for (scenario, kos) in [("boot", &twins[..1]), ("demo", &twins[..])] {
            for _ in 0..boots {
                let out = vm_command(&sh, ctl, bzimage, kos, "rust", scenario, &extra)
                    .quiet()
                    .ignore_status()
                    .output()
                    .context("running mempoolctl vm")?;
                let text = String::from_utf8_lossy(&out.stdout);
                // A boot that failed (a panic ends it early) would time a failure.
                if !out.status.success() {
                    bail!(
                        "a {scenario} scenario under {accel} failed ({}):\n{text}",
                        out.status
                    );
                }
                let secs = text
                    .split(" s boot-to-verdict")
                    .next()
                    .and_then(|head| head.rsplit(' ').next())
                    .and_then(|n| n.parse::<f64>().ok())
                    .with_context(|| format!("no boot-to-verdict figure in: {text}"))?;
                s.add(&format!("{scenario}_{accel}_s"), secs);
            }
        }
    }

    let rows = [
        Row {
            label: "rust_mempool: mempool alloc+free",
            unit: "ns/pair",
            name: "rust_mempool.mempool_ns",
        },
        Row {
            label: "c_mempool: mempool alloc+free",
            unit: "ns/pair",
            name: "c_mempool.mempool_ns",
        },
        Row {
            label: "rust_mempool: raw kmem_cache alloc+free",
            unit: "ns/pair",
            name: "rust_mempool.cache_ns",
        },
        Row {
            label: "c_mempool: raw kmem_cache alloc+free",
            unit: "ns/pair",
            name: "c_mempool.cache_ns",
        },
        Row {
            label: "rust_mempool: kmalloc+kfree (same size: page allocator above 8 KiB)",
            unit: "ns/pair",
            name: "rust_mempool.kmalloc_ns",
        },
        Row {
            label: "c_mempool: kmalloc+kfree (same size: page allocator above 8 KiB)",
            unit: "ns/pair",
            name: "c_mempool.kmalloc_ns",
        },
        Row {
            label: "rust_mempool: reserve path (failslab 100%)",
            unit: "ns/pair",
            name: "rust_mempool.reserve_ns",
        },
        Row {
            label: "c_mempool: reserve path (failslab 100%)",
            unit: "ns/pair",
            name: "c_mempool.reserve_ns",
        },
        Row {
            label: "insmod + rmmod",
            unit: "ms/cycle",
            name: "insmod_rmmod_ms",
        },
        Row {
            label: "mempoolctl load + unload (verified)",
            unit: "ms/cycle",
            name: "mempoolctl_load_unload_ms",
        },
        Row {
            label: "mempoolctl load + rmmod",
            unit: "ms/cycle",
            name: "mempoolctl_load_rmmod_ms",
        },
        Row {
            label: "insmod + mempoolctl unload (verified)",
            unit: "ms/cycle",
            name: "insmod_mempoolctl_unload_ms",
        },
        Row {
            label: "mempoolctl --version + busybox true (process start)",
            unit: "ms/cycle",
            name: "process_start_ms",
        },
        Row {
            label: "mempoolctl status, twice (settings, config file, sysfs; no module operation)",
            unit: "ms/cycle",
            name: "mempoolctl_status_twice_ms",
        },
        Row {
            label: "cat of the 20 files stats reads (13 module, 7 slab)",
            unit: "ms",
            name: "cat_sysfs_ms",
        },
        Row {
            label: "mempoolctl stats",
            unit: "ms",
            name: "mempoolctl_stats_ms",
        },
        Row {
            label: "VM boot-to-verdict, TCG (`boot`: the verdict alone)",
            unit: "s",
            name: "boot_tcg_s",
        },
        Row {
            label: "VM boot-to-verdict, TCG (`demo`: load, stats, log, unload)",
            unit: "s",
            name: "demo_tcg_s",
        },
        Row {
            label: "VM boot-to-verdict, KVM (`boot`)",
            unit: "s",
            name: "boot_kvm_s",
        },
        Row {
            label: "VM boot-to-verdict, KVM (`demo`)",
            unit: "s",
            name: "demo_kvm_s",
        },
        Row {
            label: "no-op build, rust_mempool",
            unit: "s",
            name: "noop_build_rust_s",
        },
        Row {
            label: "no-op build, c_mempool",
            unit: "s",
            name: "noop_build_c_s",
        },
    ];
    let ratios = [
        Ratio {
            label: "Rust / C mempool pair",
            a: "rust_mempool.mempool_ns",
            b: "c_mempool.mempool_ns",
            target: "<= 1.05x",
        },
        Ratio {
            label: "Rust / C raw cache pair",
            a: "rust_mempool.cache_ns",
            b: "c_mempool.cache_ns",
            target: "<= 1.05x",
        },
        Ratio {
            label: "Rust / C reserve path",
            a: "rust_mempool.reserve_ns",
            b: "c_mempool.reserve_ns",
            target: "<= 1.05x",
        },
        Ratio {
            label: "mempool / raw cache (Rust)",
            a: "rust_mempool.mempool_ns",
            b: "rust_mempool.cache_ns",
            target: "report (kernel's mempool path)",
        },
        Ratio {
            label: "mempool / raw cache (C)",
            a: "c_mempool.mempool_ns",
            b: "c_mempool.cache_ns",
            target: "report (kernel's mempool path)",
        },
        Ratio {
            label: "mempoolctl load+unload / insmod+rmmod",
            a: "mempoolctl_load_unload_ms",
            b: "insmod_rmmod_ms",
            target: "<= 2x",
        },
        Ratio {
            label: "mempoolctl stats / cat",
            a: "mempoolctl_stats_ms",
            b: "cat_sysfs_ms",
            target: "<= 2x",
        },
    ];
    println!(
        "\nlean kernel {} ({}), {} CPUs, TCG{}; {} rounds in the guest",
        parts.kernel.release,
        parts.kernel.bzimage.display(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        if accels.len() > 1 { " and KVM" } else { "" },
        s.0.get("rust_mempool.mempool_ns").map_or(0, Vec::len)
    );
    if accels.len() == 1 {
        println!("KVM not measured: {}", kvm.reason);
    }
    print!("{}", bench::render(&s, &rows, &ratios));
    Ok(())
}

/// Copies a module's sources into a fresh directory (for variant builds).
fn copy_module_sources(src: &Path, dest: &Path) -> Result<()> {
    std::fs::create_dir_all(dest)?;
    for entry in std::fs::read_dir(src)? {
        let p = entry?.path();
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name == "Kbuild"
            || name == "Makefile"
            || name.ends_with(".rs")
            || name.ends_with(".c")
            || name.ends_with(".h")
        {
            std::fs::copy(&p, dest.join(&name))?;
        }
    }
    Ok(())
}

/// Sums `test result: ok. N passed; M failed` lines of cargo test.
fn cargo_counts(output: &str) -> (u32, u32) {
    let mut passed = 0;
    let mut failed = 0;
    for line in output.lines().filter(|l| l.starts_with("test result:")) {
        for part in line.split(';') {
            let words: Vec<&str> = part.split_whitespace().collect();
            if let Some(pos) = words.iter().position(|w| *w == "passed") {
                passed += words
                    .get(pos.wrapping_sub(1))
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
            }
            if let Some(pos) = words.iter().position(|w| *w == "failed") {
                failed += words
                    .get(pos.wrapping_sub(1))
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
            }
        }
    }
    (passed, failed)
}

/// A profile report (`mempoolctl vm --profile`) judged against the kernel's
/// System.map, read here on its own: at least 100 samples, and its five
/// busiest functions are text symbols of that kernel (or one of the report's
/// `[...]` buckets: user space, modules).
fn profile_verdict(profile: &str, system_map: &str) -> Result<(), String> {
    let samples: usize = profile
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .ok_or("no sample count in the header")?;
    if samples < 100 {
        return Err(format!("{samples} samples, expected at least 100"));
    }
    let text: std::collections::HashSet<&str> = system_map
        .lines()
        .filter_map(|l| match l.split_whitespace().collect::<Vec<_>>()[..] {
            [_, "T" | "t" | "W" | "w", name] => Some(name),
            _ => None,
        })
        .collect();
    let top: Vec<&str> = profile
        .lines()
        .skip(1)
        .take(5)
        .filter_map(|l| l.split_whitespace().nth(2))
        .collect();
    if top.len() < 5 {
        return Err(format!("{} functions listed, expected 5", top.len()));
    }
    match top
        .iter()
        .find(|f| !f.starts_with('[') && !text.contains(*f))
    {
        Some(f) => Err(format!("{f} is no function of this kernel")),
        None => Ok(()),
    }
}

/// The stock parts, or why they could not be prepared.
fn stock_ready<'a>(
    stock: Option<&'a stock::StockParts>,
    error: &Option<String>,
) -> Result<&'a stock::StockParts> {
    stock.with_context(|| {
        format!(
            "the stock path could not be prepared: {}",
            error.as_deref().unwrap_or("")
        )
    })
}

/// A named VM test: passes when it returns `Ok(true)`.
type VmJob<'a> = (String, Box<dyn FnOnce() -> Result<bool> + Send + 'a>);

/// Runs `jobs` on `width` threads, taking them in order; results in job order.
fn run_side_by_side(jobs: Vec<VmJob<'_>>, width: usize) -> Vec<(String, Result<bool>)> {
    let names: Vec<String> = jobs.iter().map(|(n, _)| n.clone()).collect();
    let queue = std::sync::Mutex::new(jobs.into_iter().map(|(_, f)| f).enumerate());
    let results = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..width.max(1) {
            s.spawn(|| loop {
                let next = queue.lock().map(|mut q| q.next());
                let Ok(Some((i, job))) = next else { break };
                let t = Instant::now();
                let r = job();
                eprintln!("[xtask] {}: {:.1} s", names[i], t.elapsed().as_secs_f64());
                if let Ok(mut out) = results.lock() {
                    out.push((i, r));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_default();
    results.sort_by_key(|(i, _)| *i);
    results
        .into_iter()
        .map(|(i, r)| (names[i].clone(), r))
        .collect()
}

fn test() -> Result<()> {
    let mut passed = 0;
    let mut failed = 0;
    let mut record = |name: &str, ok: bool| {
        println!(
            "[xtask] vm test {name}: {}",
            if ok { "ok" } else { "FAILED" }
        );
        if ok {
            passed += 1;
        } else {
            failed += 1;
        }
    };

    let mut budget = budget::CpuBudget::start();
    // Unit tests first: fast, and no VM needed.
    let sh = Shell::new()?;
    sh.change_dir(repo_root());
    let cargo = env!("CARGO");
    let out = cmd!(sh, "{cargo} test --workspace --quiet")
        .quiet()
        .ignore_status()
        .output()
        .context("running cargo test")?;
    let text = run::text(&out);
    print!("{text}");
    let (up, uf) = cargo_counts(&text);
    let unit_failed = if out.status.success() { uf } else { uf.max(1) };
    budget.mark("unit tests (compiling and running them)");

    let parts = prepare()?;
    budget.mark("static mempoolctl, test kernel (cached or built), both modules");
    let quiet = || vec!["--quiet".to_owned()];
    // Independent guests, two at a time (the machine's cores): the two long
    // `all` runs first, side by side, then the short ones.
    let parts = &parts;
    // The stock-distribution path: Debian's own headers and kernel, prepared
    // before the guests start (a failure there fails only its own checks).
    let stock = stock_parts(&parts.ctl);
    budget.mark("the stock path's chroot and its two builds");
    let stock_error = &stock.as_ref().err().map(|e| format!("{e:#}"));
    let stock = stock.ok();
    let stock = stock.as_ref();
    let mut jobs: Vec<VmJob> = Vec::new();
    for flavor in ["rust", "c"] {
        jobs.push((
            format!("all scenario (smoke, faults, stress) passes for --flavor {flavor}, with a clean JUnit report timing every guest check"),
            Box::new(move || {
                let dir = tempfile::tempdir().context("a private directory for the JUnit report")?;
                let junit = dir.path().join("junit.xml");
                let mut extra = quiet();
                extra.extend(["--junit".to_owned(), junit.display().to_string()]);
                let code = vm(parts, flavor, None, "all", &extra)?;
                let report = std::fs::read_to_string(&junit).unwrap_or_default();
                // A time on the suite and on every testcase but the console's.
                let timed = report.matches(" time=\"").count() == report.matches("<testcase ").count();
                Ok(code == 0 && report.contains("<testsuite ") && report.contains(" failures=\"0\"") && timed)
            }),
        ));
    }
    jobs.push((
        "demo scenario passes, profiled: the busiest guest functions are the kernel's own (its System.map); the passing run removes its own directory".to_owned(),
        Box::new(move || {
            let dir = tempfile::tempdir().context("a private directory for the profile")?;
            let file = dir.path().join("profile.txt");
            let mut extra = quiet();
            extra.extend(["--profile".to_owned(), file.display().to_string()]);
            // Its own $TMPDIR: the passing run must leave nothing there.
            let tmpdir = dir.path().join("tmp");
            std::fs::create_dir(&tmpdir).context("a private $TMPDIR")?;
            let code = vm_in(Some(&tmpdir), parts, "rust", None, "demo", &extra)?;
            let left = vm_dirs_in(&tmpdir);
            if !left.is_empty() {
                println!("[xtask] the passing run left {left:?} behind");
            }
            let profile = std::fs::read_to_string(&file).unwrap_or_default();
            let system_map = std::fs::read_to_string(parts.kernel.out_dir.join("System.map"))
                .context("reading the test kernel's System.map")?;
            let verdict = profile_verdict(&profile, &system_map);
            if let Err(why) = &verdict {
                println!("[xtask] profile: {why}\n{profile}");
            }
            Ok(code == 0 && verdict.is_ok() && left.is_empty())
        }),
    ));
    jobs.push((
        "each scenario has exactly the checks vm::Scenario::expected_checks counts (its script run with every check skipped, in a sandbox)".to_owned(),
        Box::new(move || {
            let mut all_match = true;
            for (scenario, expected, counted) in checkcount::check(Path::new("/bin/busybox"))? {
                if expected != counted {
                    println!("[xtask] {scenario}: expected_checks says {expected}, the script reports {counted}");
                    all_match = false;
                }
            }
            Ok(all_match)
        }),
    ));
    jobs.push((
        "doctor on the cached test kernel: every build check passes (its own tool minimums read through the source link)".to_owned(),
        Box::new(move || {
            let sh = Shell::new()?;
            let (ctl, kdir) = (&parts.ctl, &parts.kernel.out_dir);
            let out = cmd!(sh, "{ctl} doctor --json --kdir {kdir}")
                .quiet()
                .ignore_status()
                .output()
                .context("running mempoolctl doctor")?;
            let report: serde_json::Value = serde_json::from_slice(&out.stdout)
                .context("mempoolctl doctor --json printed no JSON")?;
            let check = |id: &str| {
                report["checks"]
                    .as_array()
                    .and_then(|c| c.iter().find(|c| c["id"] == id))
                    .cloned()
                    .unwrap_or_default()
            };
            // Every check of doctor's build section but kernel-release-match,
            // which compares with the host's own running kernel.
            let build: Vec<&serde_json::Value> = report["checks"]
                .as_array()
                .map(|c| {
                    c.iter()
                        .filter(|c| c["section"] == "build" && c["id"] != "kernel-release-match")
                        .collect()
                })
                .unwrap_or_default();
            // All ten of them (doctor::CHECK_IDS): a build check that went
            // missing fails this as one that fails.
            let mut ok = build.len() == 10;
            for c in &build {
                if c["status"] != "pass" {
                    println!("[xtask] doctor check {}: {c}", c["id"]);
                    ok = false;
                }
            }
            let bindgen = check("bindgen")["summary"].as_str().unwrap_or("").to_owned();
            Ok(ok && bindgen.contains("scripts/min-tool-version.sh"))
        }),
    ));
    // Negative cases: the suite must be able to fail.
    jobs.push((
        "a failing guest check fails the run (exit 3, the check's own reason on the results channel), which keeps its own directory".to_owned(),
        Box::new(move || {
            // No --work-dir: the failed run must keep the directory it made
            // in this private $TMPDIR, and the expected failure is read back
            // from its results channel there.
            let tmp = tempfile::tempdir().context("a private $TMPDIR for the failing run")?;
            let code = vm_in(Some(tmp.path()), parts, "rust", None, "selftest-fail", &quiet())?;
            let kept = vm_dirs_in(tmp.path());
            if kept.len() != 1 {
                println!("[xtask] the failed run kept {kept:?}, not one directory");
            }
            let results = kept
                .first()
                .and_then(|d| std::fs::read_to_string(d.join("results.tap")).ok())
                .unwrap_or_default();
            let expected = [
                "ok 1 - a passing check",
                "not ok 2 - a deliberately wrong expectation # expected '7', got '6'",
                "VERDICT fail tests=2 failed=1",
            ];
            let missing: Vec<&str> =
                expected.into_iter().filter(|l| !results.lines().any(|r| r == *l)).collect();
            if !missing.is_empty() {
                println!("[xtask] results channel lacks: {missing:?}");
            }
            Ok(code == 3 && kept.len() == 1 && missing.is_empty())
        }),
    ));
    jobs.push((
        "the test kernel boots through its vmlinux's PVH entry (boot protocol 0x020c) with its delay loop preset (lpj= from the configuration it was built with), in the kernel's own words; with --no-pvh, through the bzImage's own header (0x020f)".to_owned(),
        Box::new(move || {
            // The boot protocol the guest reports, and whether the run passed
            // with the delay loop preset ("value calculated using timer
            // frequency" without lpj=).
            let boot = |extra_flags: &[&str]| -> Result<(bool, Option<String>)> {
                let tmp = tempfile::tempdir().context("a private directory for the boot")?;
                let mut extra = quiet();
                extra.extend(["--work-dir".to_owned(), tmp.path().display().to_string()]);
                extra.extend(extra_flags.iter().map(|f| f.to_string()));
                let code = vm(parts, "rust", None, "boot", &extra)?;
                let read = |name: &str| std::fs::read_to_string(tmp.path().join(name)).unwrap_or_default();
                let preset = read("console.log").contains("Calibrating delay loop (skipped) preset value");
                if !preset {
                    println!("[xtask] the kernel did not find its delay loop preset ({extra_flags:?})");
                }
                let protocol = read("results.tap")
                    .lines()
                    .find_map(|l| l.strip_prefix("# boot_protocol "))
                    .map(str::to_owned);
                Ok((code == 0 && preset, protocol))
            };
            let (passed, protocol) = boot(&[])?;
            let pvh = protocol.as_deref() == Some("0x020c");
            if !pvh {
                println!("[xtask] the kernel was not entered through PVH (boot protocol {protocol:?})");
            }
            let (passed_no_pvh, protocol) = boot(&["--no-pvh"])?;
            let own_header = protocol.as_deref() == Some("0x020f");
            if !own_header {
                println!("[xtask] with --no-pvh the kernel was not entered through the bzImage's header (boot protocol {protocol:?})");
            }
            Ok(passed && pvh && passed_no_pvh && own_header)
        }),
    ));
    for (flavor, dir) in [("rust", "module"), ("c", "module/c")] {
        jobs.push((
            format!("a {flavor} module leaking one element fails the run with the leak reported by slub and by allocation profiling"),
            Box::new(move || {
                let tmp =
                    tempfile::tempdir().context("a private directory for the broken build")?;
                let broken_dir = tmp.path().join(format!("broken-{flavor}"));
                copy_module_sources(&repo_root().join(dir), &broken_dir)?;
                let broken =
                    build_module(&parts.kernel, &broken_dir, &["MEMPOOL_FAULT=leak".into()])?;
                let work = broken_dir.join("vm");
                let mut extra = quiet();
                extra.extend(["--work-dir".to_owned(), work.display().to_string()]);
                let code = vm(parts, flavor, Some(&broken), "demo", &extra)?;
                let console = std::fs::read_to_string(work.join("console.log")).unwrap_or_default();
                // pr_info, so only in the kernel log the guest sends with its results.
                let results = std::fs::read_to_string(work.join("results.tap")).unwrap_or_default();
                Ok(code == 3
                    && console.contains("Objects remaining")
                    && results.contains("allocated at module unload"))
            }),
        ));
    }
    for (scenario, what) in [
        ("all", "every check of smoke, faults and stress that needs no debugging tool (the rest skipped with the reason)"),
        ("demo", "the demo"),
    ] {
        for flavor in ["rust", "c"] {
            // The long runs first (the test kernel's two `all` runs lead).
            let at = if scenario == "all" { 2 + usize::from(flavor == "c") } else { jobs.len() };
            jobs.insert(at, (
                format!("Debian's stock kernel passes {what} with the {flavor} module mempoolctl built against its own headers"),
                Box::new(move || {
                    let stock = stock_ready(stock, stock_error)?;
                    Ok(stock_vm(&parts.ctl, stock, flavor, scenario, &quiet())? == 0)
                }),
            ));
        }
    }
    jobs.push((
        "headers of a kernel another rustc built: `build` refuses before building anything, naming both compilers and the fix".to_owned(),
        Box::new(move || {
            let stock = stock_ready(stock, stock_error)?;
            const CLAIMED: &str = "rustc 1.86.0 (05f9846f8 2025-03-31)";
            let (code, text) = stock::another_rustc(&stock.root, &stock.release, CLAIMED)?;
            let ok = code == 1
                && text.contains(&format!("the kernel was built by `{CLAIMED}`"))
                && text.contains("/usr/bin/rustc prints `rustc 1.85.1")
                && text.contains("fix: `rustup toolchain install 1.86.0`")
                && !text.contains("a .ko was built");
            if !ok {
                println!("[xtask] exit {code}:\n{text}");
            }
            Ok(ok)
        }),
    ));
    {
        jobs.push((
            "DKMS installs the Rust module for Debian's kernel (module/dkms.conf, built through mempoolctl), with that kernel's vermagic".to_owned(),
            Box::new(move || {
                let stock = stock_ready(stock, stock_error)?;
                let ko = stock::dkms_install(&stock.root, &repo_root(), &stock.release)?;
                let info = modinfo::read(&ko)?;
                Ok(info.built_for_release() == Some(stock.release.as_str()))
            }),
        ));
    }
    {
        jobs.push((
            "the packages' own trees (linux-headers, linux-kbuild, linux-source) are untouched by the builds, the metadata regeneration among them (dpkg --verify)".to_owned(),
            Box::new(move || {
                let stock = stock_ready(stock, stock_error)?;
                let changed = stock::dpkg_verify(&stock.root, &stock.release)?;
                if !changed.trim().is_empty() {
                    println!("[xtask] dpkg --verify reports changed files:\n{changed}");
                }
                Ok(changed.trim().is_empty())
            }),
        ));
    }
    for (name, result) in run_side_by_side(jobs, 2) {
        match result {
            Ok(ok) => record(&name, ok),
            Err(e) => {
                println!("[xtask] vm test {name}: error: {e:#}");
                record(&name, false);
            }
        }
    }
    budget.mark("the VM tests, two at a time");
    // Where the host's CPU went: the floor under any faster suite.
    println!("[xtask] host CPU time of every process the suite started (getrusage), part by part:");
    for line in budget.lines(cores()) {
        println!("[xtask]   {line}");
    }
    println!("[xtask] unit tests: {up} passed, {uf} failed");
    println!("{} passed, {} failed", up + passed, unit_failed + failed);
    if unit_failed + failed > 0 {
        std::process::exit(1);
    }
    Ok(())
}

/// `cargo xtask matrix`: every kernel of the matrix, both scenarios for each
/// module built there, then the README's table.
fn run_matrix() -> Result<()> {
    let started = Instant::now();
    let ((), ctl) = beside_static_mempoolctl(|| phase("provision", provision))?;
    let trixie = stock_parts(&ctl)?;
    let cells = phase("the matrix's chroots, headers, images and builds", || {
        Ok(matrix::prepare(&ctl, &repo_root(), &trixie))
    })?;
    let ctl = &ctl;
    // (row, flavor, scenario) of each job, in job order, and its outcome.
    let outcomes = std::sync::Mutex::new(std::collections::BTreeMap::new());
    let outcomes_ref = &outcomes;
    let mut slots = Vec::new();
    let mut jobs: Vec<VmJob> = Vec::new();
    for (row, cell) in cells.iter().enumerate() {
        let Ok(cell) = cell else { continue };
        // Both twins in the guest where both built, the C one alone elsewhere
        // (its twin checks are then reported skipped, with that reason).
        let modules: Vec<(&str, Vec<PathBuf>)> = match &cell.rust {
            Ok(rust) => ["c", "rust"]
                .into_iter()
                .map(|f| (f, twins(f, rust, &cell.c_ko).map(Path::to_owned).to_vec()))
                .collect(),
            Err(_) => vec![("c", vec![cell.c_ko.clone()])],
        };
        for (flavor, kos) in modules {
            for scenario in ["demo", "all"] {
                let (vmlinuz, kos) = (cell.vmlinuz.clone(), kos.clone());
                let slot = slots.len();
                slots.push((row, flavor, scenario));
                jobs.push((
                    format!(
                        "{} {} {flavor} {scenario}",
                        cell.kernel.debian, cell.release
                    ),
                    Box::new(move || {
                        let dir =
                            tempfile::tempdir().context("a directory for the JUnit report")?;
                        let junit = dir.path().join("junit.xml");
                        let extra = [
                            "--quiet".to_owned(),
                            "--junit".to_owned(),
                            junit.display().to_string(),
                        ];
                        let kos: Vec<&Path> = kos.iter().map(PathBuf::as_path).collect();
                        let code = run_vm(None, ctl, &vmlinuz, &kos, flavor, scenario, &extra)?;
                        let counts = std::fs::read_to_string(&junit)
                            .ok()
                            .and_then(|x| matrix::junit_counts(&x));
                        if let Ok(mut o) = outcomes_ref.lock() {
                            o.insert(slot, counts);
                        }
                        Ok(code == 0 && counts.is_some_and(|(t, f, _)| t > 0 && f == 0))
                    }),
                ));
            }
        }
    }
    // An interrupted regeneration (Debian's 7.3, a cache of its own): of the
    // next two builds, side by side, one resumes it while the other waits for
    // it (the entry's lock); both build the module.
    jobs.push((
        "an interrupted Rust-metadata regeneration is resumed by the next build while one beside it waits; both build the module".to_owned(),
        Box::new(|| {
            let (code, text) = stock::interrupted_regeneration(&trixie.root, &trixie.release, 75)?;
            let (first, rest) = text.split_once("--- second run").unwrap_or((&text, ""));
            let (second, third) = rest.split_once("--- third run").unwrap_or((rest, ""));
            let resumed = |t: &str| {
                t.contains("resuming an interrupted regeneration") && t.contains("Rust metadata cached")
            };
            let waited = |t: &str| {
                t.contains("another mempoolctl is regenerating this kernel's Rust metadata")
                    && !t.contains("regenerating the Rust metadata")
            };
            let built = |t: &str| t.lines().any(|l| l.trim().ends_with("/rust_mempool.ko"));
            // timeout's exit 124: the build was still running when interrupted.
            let ok = code == 0
                && first.contains("(exit 124)")
                && first.contains("regenerating the Rust metadata")
                && !first.contains("Rust metadata cached")
                && ((resumed(second) && waited(third)) || (resumed(third) && waited(second)))
                && built(second)
                && built(third);
            println!("[matrix] interrupted regeneration (exit {code}):\n{text}");
            Ok(ok)
        }),
    ));
    let results = run_side_by_side(jobs, 2);
    let outcomes = outcomes.into_inner().unwrap_or_default();
    let mut failed = results
        .iter()
        .filter(|(_, r)| !matches!(r, Ok(true)))
        .count();
    println!("\n| Debian | kernel | CONFIG_RUST | C twin | Rust module |");
    println!("|---|---|---|---|---|");
    for (row, cell) in cells.iter().enumerate() {
        let kernel = &matrix::KERNELS[row];
        let cell = match cell {
            Ok(cell) => cell,
            Err(e) => {
                failed += 1;
                let e = format!("{e:#}").replace('\n', " ");
                println!(
                    "| {} | {} | ? | not prepared: {e} | |",
                    kernel.debian, kernel.series
                );
                continue;
            }
        };
        // "built; demo 10/10; all 211/230 (19 skipped)" from what ran.
        let outcome = |flavor: &str| -> String {
            let mut parts = vec!["built".to_owned()];
            for (slot, ((r, f, scenario), (_, result))) in slots.iter().zip(&results).enumerate() {
                if *r != row || *f != flavor {
                    continue;
                }
                let verdict = match result {
                    Ok(true) => "passed",
                    Ok(false) => "FAILED",
                    Err(_) => "error",
                };
                parts.push(match outcomes.get(&slot).copied().flatten() {
                    Some((t, f, s)) => format!(
                        "{scenario} {verdict}: {} of {t} checks passed{}{}",
                        t - f - s,
                        if f > 0 {
                            format!(", {f} failed")
                        } else {
                            String::new()
                        },
                        if s > 0 {
                            format!(", {s} skipped")
                        } else {
                            String::new()
                        }
                    ),
                    None => format!("{scenario} {verdict} (no report)"),
                });
            }
            parts.join("; ")
        };
        let mut rust = match &cell.rust {
            Ok(_) => outcome("rust"),
            Err(reason) if reason.contains("without CONFIG_RUST") => {
                "`build` refuses it: no CONFIG_RUST, use --flavor c".to_owned()
            }
            Err(reason) => {
                failed += 1;
                format!("refused for another reason: {}", reason.replace('\n', " "))
            }
        };
        match &cell.dkms_skipped {
            Some(Ok(())) => rust += "; DKMS skips it (BUILD_EXCLUSIVE_CONFIG)",
            Some(Err(e)) => {
                failed += 1;
                rust += &format!("; DKMS did not skip it: {}", e.replace('\n', " "));
            }
            None => {}
        }
        println!(
            "| {} | {} | {} | {} | {} |",
            kernel.debian,
            cell.release,
            if cell.rust.is_ok() { "y" } else { "not set" },
            outcome("c"),
            rust
        );
    }
    println!(
        "\n[xtask] matrix: {} jobs, {failed} failure(s), {:.0} s in all",
        results.len(),
        started.elapsed().as_secs_f64()
    );
    if failed > 0 {
        bail!("the matrix has {failed} failure(s)");
    }
    Ok(())
}

fn main() -> Result<()> {
    match Cli::parse().task {
        Task::Provision => provision(),
        Task::Kernel { lean } => {
            provision()?;
            let k = kernel(if lean { "lean" } else { "test" })?;
            println!("{}", k.out_dir.display());
            Ok(())
        }
        Task::Demo => {
            let parts = prepare()?;
            let code = phase("VM run", || vm(&parts, "rust", None, "demo", &[]))?;
            if code != 0 {
                bail!("the demo run failed (exit {code})");
            }
            Ok(())
        }
        Task::Vm {
            scenario,
            flavor,
            extra,
        } => {
            let parts = prepare()?;
            let code = vm(&parts, &flavor, None, &scenario, &extra)?;
            std::process::exit(code);
        }
        Task::Test => test(),
        Task::Bench { boots } => run_bench(boots),
        Task::Matrix => run_matrix(),
        Task::CountChecks => {
            let mut mismatches = 0;
            for (scenario, expected, counted) in checkcount::check(Path::new("/bin/busybox"))? {
                let mark = if expected == counted {
                    "ok"
                } else {
                    "MISMATCH"
                };
                println!(
                    "{scenario:<14} expected_checks {expected:>4}, script {counted:>4}  {mark}"
                );
                mismatches += usize::from(expected != counted);
            }
            if mismatches > 0 {
                bail!("{mismatches} scenario(s) report another number of checks than vm::Scenario::expected_checks");
            }
            Ok(())
        }
        Task::Stock => {
            let ((), ctl) = beside_static_mempoolctl(|| phase("provision", provision))?;
            let parts = stock_parts(&ctl)?;
            let mut codes = Vec::new();
            for flavor in ["rust", "c"] {
                let code = stock_vm(&ctl, &parts, flavor, "demo", &["-v".to_owned()])?;
                println!("[xtask] stock demo, {flavor} flavor: exit {code}");
                codes.push(((), code));
            }
            std::process::exit(codes.iter().map(|(_, c)| *c).max().unwrap_or(1));
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_profile_is_judged_against_the_system_map() {
        let map = "ffffffff81000000 T _text\nffffffff81000100 t a_fn\nffffffff81000200 T b_fn\n\
                   ffffffff81000300 D data\nffffffff81000400 W c_fn\nffffffff81000500 T d_fn\n";
        let good = "200 vCPU samples: 50 halted (25.0%, idle), 150 busy; busy ones by function:\n\
                      40.0%      60 a_fn\n  20.0%      30 [user]\n  20.0%      30 b_fn\n\
                      10.0%      15 c_fn\n  10.0%      15 d_fn\n";
        assert_eq!(super::profile_verdict(good, map), Ok(()));
        assert_eq!(
            super::profile_verdict(&good.replace("c_fn", "data"), map),
            Err("data is no function of this kernel".to_owned())
        );
        assert_eq!(
            super::profile_verdict(&good.replacen("200", "99", 1), map),
            Err("99 samples, expected at least 100".to_owned())
        );
        assert_eq!(
            super::profile_verdict("", map),
            Err("no sample count in the header".to_owned())
        );
    }

    use super::*;

    /// `beside`'s outcomes, with the calls `side` got (true: beside `main`).
    #[test]
    fn beside_retries_a_failed_side_once_after_main_and_reports_main_first() {
        use std::sync::Mutex;
        let run = |main_ok: bool, side_results: &[bool]| {
            let calls = Mutex::new(Vec::new());
            let results = Mutex::new(side_results.to_vec());
            let out = beside(
                || {
                    if main_ok {
                        Ok("main")
                    } else {
                        bail!("main broke")
                    }
                },
                |beside_main| {
                    calls.lock().unwrap().push(beside_main);
                    match results.lock().unwrap().remove(0) {
                        true => Ok("side"),
                        false => bail!("side broke"),
                    }
                },
                "the side build",
            )
            .map_err(|e| e.to_string());
            (out, calls.into_inner().unwrap())
        };
        assert_eq!(run(true, &[true]), (Ok(("main", "side")), vec![true]));
        assert_eq!(
            run(true, &[false, true]),
            (Ok(("main", "side")), vec![true, false])
        );
        assert_eq!(
            run(true, &[false, false]),
            (Err("side broke".to_owned()), vec![true, false])
        );
        // main's failure is the error; the side is not tried again.
        assert_eq!(
            run(false, &[false]),
            (Err("main broke".to_owned()), vec![true])
        );
        assert_eq!(
            run(false, &[true]),
            (Err("main broke".to_owned()), vec![true])
        );
    }

    #[test]
    fn the_lean_kernel_turns_off_every_debugging_tool_of_the_test_kernel() {
        // What the benchmarks keep: failslab for the reserve path, and what
        // distribution kernels have too.
        const KEPT: [&str; 7] = [
            "CONFIG_DEBUG_KERNEL",
            "CONFIG_DEBUG_FS",
            "CONFIG_SLUB_TINY",
            "CONFIG_SLUB_DEBUG",
            "CONFIG_FAULT_INJECTION",
            "CONFIG_FAILSLAB",
            "CONFIG_FAULT_INJECTION_DEBUG_FS",
        ];
        let test = fragment("test").unwrap();
        let lean = fragment("lean").unwrap();
        let tools = test
            .text()
            .split("# Tools that make module bugs visible.")
            .nth(1)
            .expect("the test fragment's tools section");
        let tools = Fragment::parse(tools, "test.fragment's tools").unwrap();
        let mut checked = 0;
        for (name, value) in tools.assignments() {
            if value == "n" || KEPT.contains(&name) {
                continue;
            }
            checked += 1;
            assert_eq!(
                lean.value(name),
                Some("n"),
                "test.fragment sets {name}={value}: lean.fragment must turn it off, or this test keep it by name"
            );
        }
        // KASAN and its mode, kmemleak, allocation profiling and its default,
        // the stack filter, lockdep, the unwinder, atomic-sleep checks.
        assert_eq!(checked, 9);
    }

    #[test]
    fn sums_cargo_test_result_lines() {
        let out = "test result: ok. 12 passed; 0 failed; 0 ignored\nfoo\ntest result: FAILED. 3 passed; 2 failed; 1 ignored\n";
        assert_eq!(cargo_counts(out), (15, 2));
    }
}
