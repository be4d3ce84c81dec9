//! `cargo xtask`: the developer entry points named in the README.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use kbuild::{Fragment, KernelBuild, KernelSpec, Toolchain};
use std::path::{Path, PathBuf};
use std::process::Command;

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
        #[arg(short, long, default_value_t = default_jobs())]
        jobs: usize,
    },
}

fn default_jobs() -> usize {
    std::thread::available_parallelism().map(|n| n.get() + 1).unwrap_or(3)
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repo root exists")
}

fn provision() -> Result<()> {
    let script = repo_root().join("crates/xtask/scripts/provision.sh");
    let status = Command::new("bash").arg(&script).status().context("running provision.sh")?;
    if !status.success() {
        bail!("provisioning failed ({status}); see the message above");
    }
    Ok(())
}

fn test_kernel(jobs: usize) -> Result<KernelBuild> {
    let spec = KernelSpec {
        source_tarball: KernelSpec::find_source("7.3")?,
        fragment: Fragment::load(&repo_root().join("config/kernel/test.fragment"))?,
        toolchain: Toolchain::test_kernel(),
        cache_root: kbuild::cache_root(),
    };
    Ok(spec.ensure_built(jobs, &|m| eprintln!("[xtask] {m}"))?)
}

fn main() -> Result<()> {
    match Cli::parse().task {
        Task::Provision => provision(),
        Task::Kernel { jobs } => {
            let k = test_kernel(jobs)?;
            println!("{}", k.out_dir.display());
            Ok(())
        }
    }
}
