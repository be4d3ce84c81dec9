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
use std::process::Command;
use std::time::Instant;

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
}

fn jobs() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get() + 1)
        .unwrap_or(3)
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

fn provision() -> Result<()> {
    let script = repo_root().join("crates/xtask/scripts/provision.sh");
    let status = Command::new("bash")
        .arg(&script)
        .status()
        .context("running provision.sh")?;
    if !status.success() {
        bail!("provisioning failed ({status}); see the message above");
    }
    Ok(())
}

fn test_kernel() -> Result<KernelBuild> {
    kernel("test")
}

/// The kernel built from `config/kernel/<name>.fragment`, cached.
fn kernel(name: &str) -> Result<KernelBuild> {
    let spec = KernelSpec {
        name: name.to_owned(),
        source_tarball: KernelSpec::find_source("7.3")?,
        fragment: Fragment::load(&repo_root().join(format!("config/kernel/{name}.fragment")))?,
        toolchain: Toolchain::test_kernel(),
        cache_root: kbuild::cache_root(),
    };
    Ok(spec.ensure_built(jobs(), &|m| eprintln!("[xtask] {m}"))?)
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
fn static_mempoolctl() -> Result<PathBuf> {
    let root = repo_root();
    let status = Command::new(env!("CARGO"))
        .current_dir(&root)
        .args([
            "build",
            "--quiet",
            "--release",
            "-p",
            "mempoolctl",
            "--target",
            "x86_64-unknown-linux-gnu",
        ])
        .env(
            "CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS",
            "-C target-feature=+crt-static",
        )
        .status()
        .context("running cargo build")?;
    if !status.success() {
        bail!("building the static mempoolctl failed");
    }
    Ok(root.join("target/x86_64-unknown-linux-gnu/release/mempoolctl"))
}

struct Parts {
    kernel: KernelBuild,
    /// `rust_mempool.ko` and `c_mempool.ko`.
    rust_ko: PathBuf,
    c_ko: PathBuf,
    ctl: PathBuf,
}

fn prepare_with(kernel: impl FnOnce() -> Result<KernelBuild>) -> Result<Parts> {
    phase("provision", provision)?;
    let kernel = phase("kernel", kernel)?;
    let rust_ko = phase("module build (rust)", || {
        build_module(&kernel, &repo_root().join("module"), &[])
    })?;
    let c_ko = phase("module build (c)", || {
        build_module(&kernel, &repo_root().join("module/c"), &[])
    })?;
    let ctl = phase("static mempoolctl", static_mempoolctl)?;
    Ok(Parts {
        kernel,
        rust_ko,
        c_ko,
        ctl,
    })
}

fn prepare() -> Result<Parts> {
    prepare_with(test_kernel)
}

/// Runs `mempoolctl vm` with both modules in the guest, driving `flavor`'s
/// (`ko` replaces that flavor's module, e.g. with a broken build); returns its exit code.
fn vm(
    parts: &Parts,
    flavor: &str,
    ko: Option<&Path>,
    scenario: &str,
    extra: &[String],
) -> Result<i32> {
    let (own, other) = match flavor {
        "c" => (ko.unwrap_or(&parts.c_ko), &parts.rust_ko),
        _ => (ko.unwrap_or(&parts.rust_ko), &parts.c_ko),
    };
    let status = Command::new(&parts.ctl)
        .args(["--flavor", flavor, "vm", "--kernel"])
        .arg(&parts.kernel.bzimage)
        .arg("--ko")
        .arg(own)
        .arg("--ko")
        .arg(other)
        .args(["--scenario", scenario])
        .args(extra)
        .status()
        .context("running mempoolctl vm")?;
    Ok(status.code().unwrap_or(1))
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

    // Unit tests first: fast, and no VM needed.
    let out = Command::new(env!("CARGO"))
        .current_dir(repo_root())
        .args(["test", "--workspace", "--quiet"])
        .output()
        .context("running cargo test")?;
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    print!("{text}");
    let (up, uf) = cargo_counts(&text);
    let unit_failed = if out.status.success() { uf } else { uf.max(1) };

    let parts = prepare()?;
    let quiet = || vec!["--quiet".to_owned()];
    record(
        "demo scenario passes",
        vm(&parts, "rust", None, "demo", &quiet())? == 0,
    );
    for flavor in ["rust", "c"] {
        let junit = std::env::temp_dir().join(format!(
            "mempoolctl-all-{flavor}-{}.xml",
            std::process::id()
        ));
        let mut extra = quiet();
        extra.extend(["--junit".to_owned(), junit.display().to_string()]);
        let code = vm(&parts, flavor, None, "all", &extra)?;
        let report = std::fs::read_to_string(&junit).unwrap_or_default();
        let _ = std::fs::remove_file(&junit);
        record(
            &format!("all scenario (smoke, faults, stress) passes for --flavor {flavor}, with a clean JUnit report"),
            code == 0 && report.contains("<testsuite ") && report.contains(" failures=\"0\""),
        );
    }
    // Negative cases: the suite must be able to fail.
    record(
        "a failing guest check fails the run (exit 3)",
        vm(&parts, "rust", None, "selftest-fail", &quiet())? == 3,
    );
    for (flavor, dir) in [("rust", "module"), ("c", "module/c")] {
        let broken_dir =
            std::env::temp_dir().join(format!("mempoolctl-broken-{flavor}-{}", std::process::id()));
        copy_module_sources(&repo_root().join(dir), &broken_dir)?;
        let broken = build_module(&parts.kernel, &broken_dir, &["MEMPOOL_FAULT=leak".into()])?;
        let work = broken_dir.join("vm");
        let mut extra = quiet();
        extra.extend(["--work-dir".to_owned(), work.display().to_string()]);
        let code = vm(&parts, flavor, Some(&broken), "demo", &extra)?;
        let console = std::fs::read_to_string(work.join("console.log")).unwrap_or_default();
        record(
            &format!("a {flavor} module leaking one element fails the run with the leak reported"),
            code == 3 && console.contains("Objects remaining"),
        );
        let _ = std::fs::remove_dir_all(&broken_dir);
    }

    println!("[xtask] unit tests: {up} passed, {uf} failed");
    println!("{} passed, {} failed", up + passed, unit_failed + failed);
    if unit_failed + failed > 0 {
        std::process::exit(1);
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_cargo_test_result_lines() {
        let out = "test result: ok. 12 passed; 0 failed; 0 ignored\nfoo\ntest result: FAILED. 3 passed; 2 failed; 1 ignored\n";
        assert_eq!(cargo_counts(out), (15, 2));
    }
}
