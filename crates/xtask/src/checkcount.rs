//! Counts the checks each guest scenario reports by running its script with
//! every check skipped, in an empty chroot (busybox alone, a fake module
//! directory, no /proc): nothing it runs can touch the host. The counts must
//! be the ones `vm::Scenario::expected_checks` keeps by hand, which the VM
//! runner enforces at run time.

use crate::run;
use anyhow::{bail, Context, Result};
use std::fs;
use std::path::Path;
use vm::Scenario;
use xshell::{cmd, Shell};

fn sandbox(busybox: &Path) -> Result<tempfile::TempDir> {
    let root = tempfile::tempdir().context("a directory for the sandbox")?;
    let r = root.path();
    for d in ["bin", "tmp", "dev", "proc/self", "sys/kernel/rust_mempool"] {
        fs::create_dir_all(r.join(d))?;
    }
    fs::copy(busybox, r.join("bin/busybox"))
        .with_context(|| format!("copying {}", busybox.display()))?;
    fs::write(r.join("dev/null"), "")?;
    // Bytes for the random-write loop (a file: no device nodes needed).
    fs::write(
        r.join("dev/urandom"),
        (0..65536u32)
            .map(|i| (i * 7919 % 251) as u8)
            .collect::<Vec<_>>(),
    )?;
    // The module's files, as its ABI document lists them, so the scripts'
    // reads and `exec` redirections find something.
    for f in stats::documented_files() {
        fs::write(r.join("sys/kernel/rust_mempool").join(f), "0\n")?;
    }
    let sh = Shell::new()?;
    let status = run::status(cmd!(sh, "chroot {r} /bin/busybox --install -s /bin"))
        .context("running chroot (as root)")?;
    if !status.success() {
        bail!("busybox --install in the sandbox failed ({status})");
    }
    Ok(root)
}

/// The number of TAP lines `scenario` reports with every check skipped.
fn count(root: &Path, scenario: Scenario) -> Result<usize> {
    let script = format!(
        "{}\nSKIP_REASON=counting\n{}\n",
        vm::initramfs::TEST_LIB,
        scenario.script()
    );
    fs::write(root.join("s.sh"), script)?;
    let tap = root.join("tmp/tap");
    let _ = fs::remove_file(&tap);
    // Its own PID namespace: a `kill` in a script reaches nothing outside.
    let sh = Shell::new()?;
    let unshare = cmd!(
        sh,
        "unshare --pid --fork chroot {root} /bin/sh -c 'exec 3>/tmp/tap; /bin/sh /s.sh >/tmp/out 2>&1; true'"
    );
    let status = run::status(unshare).context("running unshare (util-linux)")?;
    if !status.success() {
        bail!("the sandboxed {scenario} script could not run ({status})");
    }
    let text = fs::read_to_string(&tap).unwrap_or_default();
    Ok(text
        .lines()
        .filter(|l| l.starts_with("ok ") || l.starts_with("not ok "))
        .count())
}

/// Every scenario whose count is known: (scenario, expected, counted).
pub fn check(busybox: &Path) -> Result<Vec<(Scenario, usize, usize)>> {
    let root = sandbox(busybox)?;
    let mut out = Vec::new();
    for scenario in Scenario::ALL {
        if let Some(expected) = scenario.expected_checks() {
            out.push((scenario, expected, count(root.path(), scenario)?));
        }
    }
    Ok(out)
}
