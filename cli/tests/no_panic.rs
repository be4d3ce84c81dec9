//! Inputs a user can give that once panicked or misled: each must end in a clear
//! error that names the fix.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::process::Command;

fn mempoolctl() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mempoolctl"));
    c.env_remove("MEMPOOLCTL_CONFIG").env("NO_COLOR", "1");
    c
}

/// Runs `cmd`, checks its exit status, and returns what it wrote to stderr.
fn stderr_of(cmd: &mut Command, code: i32) -> String {
    let out = cmd.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "{err}");
    err
}

#[test]
fn non_utf8_environment() {
    // Another program's variable: ignored, the command works.
    let out = mempoolctl()
        .env("SOME_OTHER_TOOL", OsString::from_vec(vec![0xff]))
        .arg("config")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    // Ours: a clear error naming it, exit 1 (not a panic's 101).
    let err = stderr_of(
        mempoolctl()
            .env("MEMPOOLCTL_MIN_NR", OsString::from_vec(vec![0xff]))
            .arg("config"),
        1,
    );
    assert!(
        err.contains("environment variable MEMPOOLCTL_MIN_NR is not valid UTF-8"),
        "{err}"
    );
}

#[test]
fn huge_watch_interval() {
    let err = stderr_of(mempoolctl().args(["stats", "--watch", "1e20"]), 2);
    assert!(
        err.contains(
            "invalid value '1e20' for '--watch [<SECS>]': an interval from 0.1 s to 86400 s (a day) is needed"
        ),
        "{err}"
    );
}

#[test]
fn counts_beyond_the_module_limits_are_refused_before_any_write() {
    for (args, want) in [
        (
            &["hold", "0"][..],
            "invalid value '0' for '<COUNT>': 0 is not in 1..=65536",
        ),
        (&["hold", "65537"][..], "65537 is not in 1..=65536"),
        (&["bench", "2000000"][..], "2000000 is not in 1..=1000000"),
        (&["resize", "4097"][..], "4097 is not in 1..=4096"),
        (
            &["release", "65537"][..],
            "invalid value '65537' for '[COUNT]': release takes a count 1..=65536 or `all`",
        ),
    ] {
        // A root with no module: a write would fail differently (not loaded).
        let err = stderr_of(mempoolctl().args(["--root", "/nonexistent"]).args(args), 2);
        assert!(err.contains(want), "{args:?}: {err}");
    }
}

#[test]
fn an_io_error_is_shown_once_without_its_os_error_tail() {
    let err = stderr_of(
        mempoolctl().args(["--config", "/nonexistent/mempoolctl.toml", "config"]),
        1,
    );
    assert_eq!(
        err.trim_end(),
        "mempoolctl: error: cannot read config file /nonexistent/mempoolctl.toml: No such file or directory"
    );
}

#[test]
fn a_non_utf8_path_flag_is_refused_by_name_not_mangled() {
    let dir = tempfile::tempdir().unwrap();
    let mut ko = dir.path().as_os_str().to_owned().into_vec();
    ko.extend_from_slice(b"/x\xff.ko");
    let ko = OsString::from_vec(ko);
    std::fs::write(&ko, b"not a module").unwrap();
    let err = stderr_of(mempoolctl().arg("info").arg("--ko").arg(&ko), 1);
    assert!(
        err.contains("is not valid UTF-8; mempoolctl takes UTF-8 paths"),
        "{err}"
    );
}

#[test]
fn a_non_utf8_config_path_in_the_environment_is_a_path_not_a_setting() {
    let err = stderr_of(
        mempoolctl()
            .env(
                "MEMPOOLCTL_CONFIG",
                OsString::from_vec(b"/nonexistent/\xff.toml".to_vec()),
            )
            .arg("config"),
        1,
    );
    assert!(
        err.contains("cannot read config file /nonexistent/"),
        "{err}"
    );
    assert!(!err.contains("not valid UTF-8"), "{err}");
}

#[test]
fn a_watch_of_zero_samples_is_a_usage_error() {
    let err = stderr_of(
        mempoolctl().args([
            "--root",
            "/nonexistent",
            "stats",
            "--watch",
            "1",
            "--count",
            "0",
        ]),
        2,
    );
    assert!(
        err.contains("invalid value '0' for '--count <COUNT>'"),
        "{err}"
    );
}

#[test]
fn any_number_of_v_flags_is_verbose() {
    let root = tempfile::tempdir().unwrap();
    for count in [1, 127, 128, 300] {
        let flags = format!("-{}", "v".repeat(count));
        let out = mempoolctl()
            .arg(&flags)
            .arg("--root")
            .arg(root.path())
            .arg("doctor")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("kernel build dir checked:"),
            "{count} times -v: {err}"
        );
    }
}

#[test]
fn build_without_a_kernel_tree_points_at_the_vm_and_the_cached_test_kernel() {
    let kdir = tempfile::tempdir().unwrap();
    let build = |cache: &std::path::Path| {
        stderr_of(
            mempoolctl()
                .env("MEMPOOLCTL_CACHE", cache)
                .args(["--flavor", "c", "build", "--kdir"])
                .arg(kdir.path()),
            1,
        )
    };
    // No test kernel cached: how to get one.
    let empty = tempfile::tempdir().unwrap();
    let err = build(empty.path());
    assert!(
        err.contains(&format!(
            "{} is not a kernel build directory (no .config)",
            kdir.path().display()
        )),
        "{err}"
    );
    assert!(err.contains("`cargo xtask kernel`"), "{err}");
    assert!(
        err.contains("then `mempoolctl build --kdir <that directory>` and `mempoolctl vm`"),
        "{err}"
    );
    assert!(!err.contains("os error"), "{err}");
    // A complete cached test kernel (the layout kbuild writes): named.
    let cache = tempfile::tempdir().unwrap();
    let tree = cache.path().join("kernels/0123456789abcdef");
    std::fs::create_dir_all(tree.join("out")).unwrap();
    std::fs::write(tree.join("name"), "test\n").unwrap();
    std::fs::write(tree.join("mempoolctl-complete"), "").unwrap();
    let err = build(cache.path());
    assert!(
        err.contains(&format!(
            "`mempoolctl build --kdir {}` (the cached test kernel), then `mempoolctl vm`",
            tree.join("out").display()
        )),
        "{err}"
    );
}

#[test]
fn the_build_log_goes_to_the_users_cache_not_a_fixed_tmp_name() {
    // A fake kernel tree whose `make modules` prints a line and builds nothing.
    let kdir = tempfile::tempdir().unwrap();
    std::fs::write(kdir.path().join(".config"), "CONFIG_CC_IS_GCC=y\n").unwrap();
    std::fs::write(
        kdir.path().join("Makefile"),
        "modules:\n\t@echo fake kbuild ran for $(M)\n",
    )
    .unwrap();
    let module = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let err = stderr_of(
        mempoolctl()
            .env("MEMPOOLCTL_CACHE", cache.path())
            .args(["--flavor", "c", "build", "--kdir"])
            .arg(kdir.path())
            .arg("--module-dir")
            .arg(module.path()),
        1,
    );
    assert!(err.contains("produced no .ko"), "{err}");
    let log = cache.path().join("build-logs/c_mempool.log");
    let text = std::fs::read_to_string(&log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
    assert!(text.contains("fake kbuild ran for"), "{text}");
}
