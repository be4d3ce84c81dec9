//! Checks against fake root and kernel build trees.

use super::*;
use kbuild::RUST_METADATA;
use std::collections::BTreeMap;
use std::fs;
use tempfile::TempDir;

const RELEASE: &str = "7.3.4";
const RUSTC: &str = "rustc 1.95.0 (59807616e 2026-04-14)";
const ALL_CAPS: &str = "000001ffffffffff";

/// The relevant lines of the real 7.3 test kernel's .config.
const RUST_CONFIG: &str = "\
CONFIG_CC_VERSION_TEXT=\"Debian clang version 19.1.7 (3~deb12u1)\"
CONFIG_GCC_VERSION=0
CONFIG_CC_IS_CLANG=y
CONFIG_CLANG_VERSION=190107
CONFIG_LD_IS_LLD=y
CONFIG_RUSTC_VERSION=109500
CONFIG_RUST_IS_AVAILABLE=y
CONFIG_RUST=y
CONFIG_RUSTC_VERSION_TEXT=\"rustc 1.95.0 (59807616e 2026-04-14)\"
CONFIG_BINDGEN_VERSION_TEXT=\"bindgen 0.73.2\"
CONFIG_MODULES=y
CONFIG_MODULE_UNLOAD=y
";

/// A Debian-style gcc-14 kernel's headers with CONFIG_RUST=y.
const DEBIAN_CONFIG: &str = "\
CONFIG_CC_VERSION_TEXT=\"x86_64-linux-gnu-gcc-14 (Debian 14.2.0-19) 14.2.0\"
CONFIG_CC_IS_GCC=y
CONFIG_GCC_VERSION=140200
CONFIG_CLANG_VERSION=0
CONFIG_RUST=y
CONFIG_RUSTC_VERSION_TEXT=\"rustc 1.95.0 (59807616e 2026-04-14)\"
CONFIG_MODULES=y
CONFIG_MODULE_UNLOAD=y
CONFIG_MODULE_SIG=y
";

const MIN_TOOL_VERSION: &str = "\
case \"$1\" in
rustc)
\tif [ \"$SRCARCH\" = \"s390\" ]; then
\t\techo 1.96.0
\telse
\t\techo 1.85.0
\tfi
\t;;
bindgen)
\techo 0.71.1
\t;;
esac
";

fn write(path: &Path, text: &str) {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).unwrap();
    }
    fs::write(path, text).unwrap();
}

/// A running kernel with modules, unrestricted, and a process with all capabilities.
fn fake_root() -> TempDir {
    let root = TempDir::new().unwrap();
    let r = root.path();
    write(&r.join("proc/modules"), "");
    write(
        &r.join("proc/self/status"),
        &format!("Name:\tmempoolctl\nCapInh:\t0000000000000000\nCapEff:\t{ALL_CAPS}\nCapBnd:\t{ALL_CAPS}\n"),
    );
    write(&r.join("proc/sys/kernel/modules_disabled"), "0\n");
    write(&r.join("proc/sys/kernel/dmesg_restrict"), "0\n");
    write(&r.join("sys/module/module/parameters/sig_enforce"), "N\n");
    write(
        &r.join("sys/kernel/security/lockdown"),
        "[none] integrity confidentiality\n",
    );
    root
}

fn default_kdir(root: &Path) -> PathBuf {
    root.join("lib/modules").join(RELEASE).join("build")
}

/// A configured, prepared build dir without rust/ (what a distribution ships).
fn headers_dir(kdir: &Path, config: &str, release: &str) {
    write(&kdir.join("Makefile"), "include ../source/Makefile\n");
    write(&kdir.join(".config"), config);
    write(&kdir.join("include/config/auto.conf"), config);
    for f in [
        "include/generated/autoconf.h",
        "include/generated/rustc_cfg",
        "scripts/module.lds",
        "scripts/mod/modpost",
    ] {
        write(&kdir.join(f), "");
    }
    write(
        &kdir.join("include/generated/utsrelease.h"),
        &format!("#define UTS_RELEASE \"{release}\"\n"),
    );
    write(
        &kdir.join("source/scripts/min-tool-version.sh"),
        MIN_TOOL_VERSION,
    );
}

/// A full Rust-capable 7.3 build dir.
fn rust_kdir(kdir: &Path) {
    headers_dir(kdir, RUST_CONFIG, RELEASE);
    for f in RUST_METADATA {
        write(&kdir.join(f), "");
    }
}

fn tools() -> Tools {
    Tools {
        rustc: Some(RUSTC.to_owned()),
        bindgen: Some("0.73.2".to_owned()),
        binaries: BTreeMap::from(
            [
                ("clang-19", "19.1.7"),
                ("ld.lld-19", "19.1.7"),
                ("gcc", "12.2.0"),
                ("gcc-12", "12.2.0"),
                ("as", "2.40"),
                ("ld", "2.40"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned())),
        ),
        gcc_as: BTreeMap::new(),
        cross_compile: None,
        arch: None,
        rust_lib_src: Some(PathBuf::from("/usr/src/rustc-1.95.0/library")),
        rust_lib_src_exists: true,
        cache_root: PathBuf::from("/nonexistent/mempoolctl-cache"),
    }
}

fn check<'a>(report: &'a Report, id: &str) -> &'a Check {
    report.check(id).unwrap_or_else(|| panic!("no check {id}"))
}

fn assert_status(report: &Report, id: &str, status: Status) -> String {
    let c = check(report, id);
    assert_eq!(c.status, status, "{id}: {c:#?}");
    c.fix.clone().unwrap_or_default()
}

fn good() -> (TempDir, Report) {
    let root = fake_root();
    rust_kdir(&default_kdir(root.path()));
    let report = diagnose(root.path(), RELEASE, None, &tools(), 0, Flavor::Rust);
    (root, report)
}

#[test]
fn a_complete_rust_tree_passes_everything() {
    let (root, report) = good();
    let ids: Vec<&str> = report.checks.iter().map(|c| c.id).collect();
    assert_eq!(ids, CHECK_IDS);
    for c in &report.checks {
        assert_eq!(c.status, Status::Pass, "{c:#?}");
        assert_eq!(c.fix, None);
    }
    assert!(report.ok());
    assert_eq!(report.kdir, default_kdir(root.path()));
    assert!(check(&report, "compiler").summary.contains("LLVM=-19"));
    assert!(check(&report, "rustc")
        .summary
        .contains("minimum 1.85.0, scripts/min-tool-version.sh"));
    let sections: Vec<Section> = report.checks.iter().map(|c| c.section).collect();
    assert_eq!(sections[..11], [Section::Build; 11]);
    assert_eq!(sections[11..], [Section::Load; 6]);
    assert_eq!(report.flavor, Flavor::Rust);
    assert!(check(&report, "headers")
        .summary
        .contains("linker script scripts/module.lds"));
    assert!(check(&report, "binutils")
        .summary
        .contains("a clang kernel"));
}

#[test]
fn b_debian_headers_fail_rust_metadata_with_the_c_twin_fix() {
    let root = fake_root();
    let kdir = default_kdir(root.path());
    headers_dir(&kdir, DEBIAN_CONFIG, RELEASE);
    write(
        &kdir.join(".kernelvariables"),
        "override ARCH = x86\nCCACHE = ccache\nCC = $(if $(DEBIAN_KERNEL_USE_CCACHE),$(CCACHE)) $(CROSS_COMPILE)gcc-14\n",
    );
    let mut t = tools();
    t.binaries.insert("gcc-14".into(), "14.2.0".into());
    let report = diagnose(root.path(), RELEASE, None, &t, 0, Flavor::Rust);
    let fix = assert_status(&report, "rust-metadata", Status::Fail);
    assert!(fix.contains("`mempoolctl build --flavor c`"), "{fix}");
    let summary = &check(&report, "rust-metadata").summary;
    assert!(summary.contains("no rust/ directory"), "{summary}");
    assert!(summary.contains("Debian's linux-headers"), "{summary}");
    assert_status(&report, "config-rust", Status::Pass);
    assert_status(&report, "compiler", Status::Pass);
    let compiler = &check(&report, "compiler").summary;
    assert!(compiler.contains("gcc 14.2.0") && compiler.contains("`gcc-14`"));
    assert!(compiler.contains("no LLVM="), "{compiler}");
    assert!(!report.ok());
    assert!(!summary.contains("in progress"), "{summary}");

    // While another mempoolctl regenerates them (holds the entry's lock),
    // doctor says so, and that a build waits for it.
    let kbuild::rust_support::RustSupport::Regenerable(regen) =
        kbuild::rust_support::rust_support(&kdir, DEBIAN_CONFIG, &t.cache_root)
    else {
        panic!("Debian's headers are regenerable");
    };
    std::fs::create_dir_all(&regen.dir).unwrap();
    let lock = std::fs::File::create(regen.lock_path()).unwrap();
    let held = nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusive).unwrap();
    let report = diagnose(root.path(), RELEASE, None, &t, 0, Flavor::Rust);
    let summary = &check(&report, "rust-metadata").summary;
    assert!(
        summary.contains(&format!(
            "a regeneration is in progress now (a process holds {})",
            regen.lock_path().display()
        )) && summary.contains("started now waits for it"),
        "{summary}"
    );
    drop(held);

    // Without gcc-14 the exact package is named.
    let report = diagnose(root.path(), RELEASE, None, &tools(), 0, Flavor::Rust);
    let fix = assert_status(&report, "compiler", Status::Fail);
    assert_eq!(fix, "`apt install gcc-14`");
}

#[test]
fn gcc_kernel_without_pinned_cc_warns_when_plain_gcc_is_another_major() {
    let root = fake_root();
    let kdir = default_kdir(root.path());
    headers_dir(&kdir, DEBIAN_CONFIG, RELEASE);
    let mut t = tools();
    t.binaries.insert("gcc-14".into(), "14.2.0".into());
    let report = diagnose(root.path(), RELEASE, None, &t, 0, Flavor::Rust);
    let fix = assert_status(&report, "compiler", Status::Warn);
    assert!(fix.contains("ln -sf $(command -v gcc-14)"), "{fix}");
    // Plain gcc of the right major is enough.
    t.binaries.insert("gcc".into(), "14.2.0".into());
    let report = diagnose(root.path(), RELEASE, None, &t, 0, Flavor::Rust);
    assert_status(&report, "compiler", Status::Pass);
}

#[test]
fn c_no_headers_fails_and_skips_what_depends_on_them() {
    let root = fake_root();
    let report = diagnose(root.path(), RELEASE, None, &tools(), 0, Flavor::Rust);
    let fix = assert_status(&report, "headers", Status::Fail);
    assert!(fix.contains("`apt install linux-headers-7.3.4`"), "{fix}");
    assert!(fix.contains("--kdir DIR"), "{fix}");
    for id in [
        "config-modules",
        "config-module-unload",
        "config-rust",
        "rust-metadata",
        "compiler",
        "rustc",
        "kernel-release-match",
    ] {
        let c = check(&report, id);
        assert_eq!((c.status, c.summary.as_str()), (Status::Skip, "no headers"));
        assert_eq!(c.fix, None);
    }
    // Tool checks and the load section do not depend on headers.
    assert_status(&report, "bindgen", Status::Pass);
    assert_status(&report, "rust-src", Status::Pass);
    assert_status(&report, "kernel-modules", Status::Pass);
    assert_eq!(report.checks.len(), CHECK_IDS.len());

    // An explicit --kdir that is no build dir.
    let empty = TempDir::new().unwrap();
    let report = diagnose(
        root.path(),
        RELEASE,
        Some(empty.path()),
        &tools(),
        0,
        Flavor::Rust,
    );
    let fix = assert_status(&report, "headers", Status::Fail);
    assert!(fix.contains("`--kdir` must name a kernel build directory"));
    assert!(check(&report, "headers").summary.contains("no Makefile"));
}

#[test]
fn unprepared_build_dir_names_modules_prepare() {
    let root = fake_root();
    let kdir = default_kdir(root.path());
    rust_kdir(&kdir);
    fs::remove_file(kdir.join("include/generated/rustc_cfg")).unwrap();
    let report = diagnose(root.path(), RELEASE, None, &tools(), 0, Flavor::Rust);
    let fix = assert_status(&report, "headers", Status::Fail);
    assert!(
        fix.contains(&format!(
            "`make -C {} LLVM=-19 modules_prepare`",
            kdir.display()
        )),
        "{fix}"
    );
    assert!(check(&report, "headers")
        .summary
        .contains("include/generated/rustc_cfg"));
    // The config is readable, so the rest is still checked.
    assert_status(&report, "config-rust", Status::Pass);
}

#[test]
fn d_rustc_mismatch_fails_with_the_exact_toolchain() {
    let root = fake_root();
    rust_kdir(&default_kdir(root.path()));
    let mut t = tools();
    t.rustc = Some("rustc 1.94.1 (e408947bf 2026-03-25)".into());
    let report = diagnose(root.path(), RELEASE, None, &t, 0, Flavor::Rust);
    let fix = assert_status(&report, "rustc", Status::Fail);
    assert!(fix.contains("`rustup toolchain install 1.95.0`"), "{fix}");
    assert!(
        fix.contains("RUSTUP_TOOLCHAIN=1.95.0 mempoolctl build"),
        "{fix}"
    );
    let summary = &check(&report, "rustc").summary;
    assert!(summary.contains(RUSTC) && summary.contains("1.94.1"));

    t.rustc = Some("rustc 1.80.0 (051478957 2024-07-21)".into());
    let report = diagnose(root.path(), RELEASE, None, &t, 0, Flavor::Rust);
    assert_status(&report, "rustc", Status::Fail);
    assert!(check(&report, "rustc")
        .summary
        .contains("below the minimum 1.85.0"));

    t.rustc = None;
    let report = diagnose(root.path(), RELEASE, None, &t, 0, Flavor::Rust);
    let fix = assert_status(&report, "rustc", Status::Fail);
    assert!(fix.contains("rustup toolchain install 1.95.0"));
}

#[test]
fn min_versions_come_from_the_kernel_script_when_present() {
    let root = fake_root();
    let kdir = default_kdir(root.path());
    rust_kdir(&kdir);
    write(
        &kdir.join("source/scripts/min-tool-version.sh"),
        &MIN_TOOL_VERSION.replace("0.71.1", "0.80.0"),
    );
    let report = diagnose(root.path(), RELEASE, None, &tools(), 0, Flavor::Rust);
    let fix = assert_status(&report, "bindgen", Status::Warn);
    assert_eq!(
        fix,
        "`cargo install bindgen-cli --locked` (installs to ~/.cargo/bin)"
    );
    assert!(check(&report, "bindgen")
        .summary
        .contains("older than the minimum 0.80.0"));

    // No script: the built-in 7.3 table.
    fs::remove_dir_all(kdir.join("source")).unwrap();
    let report = diagnose(root.path(), RELEASE, None, &tools(), 0, Flavor::Rust);
    assert!(check(&report, "bindgen")
        .summary
        .contains("minimum 0.71.1, Linux 7.3"));
}

#[test]
fn kernel_without_rust_points_to_the_c_twin() {
    let root = fake_root();
    let kdir = default_kdir(root.path());
    rust_kdir(&kdir);
    write(
        &kdir.join(".config"),
        &RUST_CONFIG.replace("CONFIG_RUST=y", "# CONFIG_RUST is not set"),
    );
    let report = diagnose(root.path(), RELEASE, None, &tools(), 0, Flavor::Rust);
    let fix = assert_status(&report, "config-rust", Status::Fail);
    assert_eq!(
        fix,
        "the kernel was built without Rust; a Rust module cannot be built for it; use the C \
         twin: `mempoolctl build --flavor c`"
    );
    assert_status(&report, "rust-metadata", Status::Skip);
    assert_status(&report, "rustc", Status::Skip);
}

#[test]
fn module_config_options() {
    let root = fake_root();
    let kdir = default_kdir(root.path());
    rust_kdir(&kdir);
    write(
        &kdir.join(".config"),
        &RUST_CONFIG.replace("CONFIG_MODULE_UNLOAD=y", ""),
    );
    let report = diagnose(root.path(), RELEASE, None, &tools(), 0, Flavor::Rust);
    let fix = assert_status(&report, "config-module-unload", Status::Fail);
    assert!(fix.contains("CONFIG_MODULE_UNLOAD=y") && fix.contains("mempoolctl vm"));

    write(
        &kdir.join(".config"),
        &RUST_CONFIG.replace("CONFIG_MODULES=y", ""),
    );
    let report = diagnose(root.path(), RELEASE, None, &tools(), 0, Flavor::Rust);
    let fix = assert_status(&report, "config-modules", Status::Fail);
    assert_eq!(
        fix,
        "this kernel cannot load modules: test in a VM with `mempoolctl vm`"
    );
    assert_status(&report, "config-module-unload", Status::Skip);
}

#[test]
fn partial_rust_metadata_is_listed_with_modules_prepare() {
    let root = fake_root();
    let kdir = default_kdir(root.path());
    rust_kdir(&kdir);
    fs::remove_file(kdir.join("rust/libzerocopy.rmeta")).unwrap();
    fs::remove_file(kdir.join("scripts/target.json")).unwrap();
    let report = diagnose(root.path(), RELEASE, None, &tools(), 0, Flavor::Rust);
    let fix = assert_status(&report, "rust-metadata", Status::Fail);
    assert!(fix.contains("LLVM=-19 modules_prepare"), "{fix}");
    let summary = &check(&report, "rust-metadata").summary;
    assert!(summary.contains("lacks 2"), "{summary}");
    assert!(summary.contains("rust/libzerocopy.rmeta, scripts/target.json"));
}

#[test]
fn clang_choices() {
    let root = fake_root();
    rust_kdir(&default_kdir(root.path()));
    let with = |bins: &[(&str, &str)]| {
        let mut t = tools();
        t.binaries = bins
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        diagnose(root.path(), RELEASE, None, &t, 0, Flavor::Rust)
    };
    let install = "`apt install clang-19 lld-19 llvm-19`";

    let report = with(&[("clang", "19.1.7"), ("ld.lld", "19.1.7")]);
    assert_status(&report, "compiler", Status::Pass);
    assert!(check(&report, "compiler").summary.contains("LLVM=1"));

    let report = with(&[("clang", "16.0.6"), ("ld.lld", "16.0.6")]);
    assert_eq!(assert_status(&report, "compiler", Status::Fail), install);

    let report = with(&[]);
    assert_eq!(assert_status(&report, "compiler", Status::Fail), install);

    let report = with(&[("clang-19", "19.1.7")]);
    assert_eq!(assert_status(&report, "compiler", Status::Fail), install);
    assert!(check(&report, "compiler")
        .summary
        .contains("ld.lld-19 is missing"));

    let report = with(&[("clang-19", "19.1.5"), ("ld.lld-19", "19.1.5")]);
    assert_status(&report, "compiler", Status::Pass);
    assert!(check(&report, "compiler")
        .summary
        .contains("compiler differs"));
}

#[test]
fn other_release_in_an_explicit_kdir_warns() {
    let root = fake_root();
    let kdir = TempDir::new().unwrap();
    rust_kdir(kdir.path());
    let report = diagnose(
        root.path(),
        "6.1.0-18-amd64",
        Some(kdir.path()),
        &tools(),
        0,
        Flavor::Rust,
    );
    assert_status(&report, "kernel-release-match", Status::Warn);
    assert!(check(&report, "kernel-release-match").summary.contains(
        "modules built there will not load on the running kernel 6.1.0-18-amd64; fine for a VM"
    ));
    assert_eq!(report.kdir, kdir.path());
    assert!(report.ok());
}

#[test]
fn missing_tools_for_a_kernel_build_warn() {
    let (root, _) = good();
    let mut t = tools();
    t.bindgen = None;
    t.rust_lib_src_exists = false;
    let report = diagnose(root.path(), RELEASE, None, &t, 0, Flavor::Rust);
    let fix = assert_status(&report, "bindgen", Status::Warn);
    assert!(fix.contains("cargo install bindgen-cli --locked"));
    let fix = assert_status(&report, "rust-src", Status::Warn);
    assert!(fix.contains("`rustup component add rust-src`"), "{fix}");
    assert!(
        fix.contains("`apt install -t trixie-backports 'rust-src=1.95.0+dfsg1*'`"),
        "{fix}"
    );
    assert!(fix.contains("RUST_LIB_SRC"));
    assert!(report.ok());
}

// (e) the running kernel refuses or restricts.

#[test]
fn e_lockdown_integrity_fails_and_names_signing() {
    let (root, _) = good();
    write(
        &root.path().join("sys/kernel/security/lockdown"),
        "none [integrity] confidentiality\n",
    );
    let report = diagnose(root.path(), RELEASE, None, &tools(), 0, Flavor::Rust);
    let fix = assert_status(&report, "lockdown", Status::Fail);
    assert!(fix.contains("mokutil --import MOK.der"), "{fix}");
    assert!(fix.contains("scripts/sign-file sha512 MOK.priv MOK.der rust_mempool.ko"));
    assert!(fix.contains("mokutil --disable-validation"));
    assert!(check(&report, "lockdown").summary.contains("`integrity`"));

    // With the running kernel's own signing key in the build dir it is one command.
    let kdir = default_kdir(root.path());
    write(&kdir.join("certs/signing_key.pem"), "");
    write(&kdir.join("certs/signing_key.x509"), "");
    let report = diagnose(root.path(), RELEASE, None, &tools(), 0, Flavor::Rust);
    let fix = assert_status(&report, "lockdown", Status::Warn);
    assert!(fix.contains(&format!(
        "{}/scripts/sign-file sha512 {}/certs/signing_key.pem",
        kdir.display(),
        kdir.display()
    )));
}

#[test]
fn e_sig_enforce() {
    let (root, _) = good();
    let param = root.path().join("sys/module/module/parameters/sig_enforce");
    write(&param, "Y\n");
    let report = diagnose(root.path(), RELEASE, None, &tools(), 0, Flavor::Rust);
    let fix = assert_status(&report, "sig-enforce", Status::Fail);
    assert!(fix.contains("mokutil --import") && fix.contains("sign-file sha512"));
    assert!(check(&report, "sig-enforce")
        .summary
        .contains("EKEYREJECTED"));

    fs::remove_file(&param).unwrap();
    let report = diagnose(root.path(), RELEASE, None, &tools(), 0, Flavor::Rust);
    assert_status(&report, "sig-enforce", Status::Pass);
    assert_eq!(
        check(&report, "sig-enforce").summary,
        "not enforced (no module signing)"
    );
}

#[test]
fn e_modules_disabled() {
    let (root, _) = good();
    write(&root.path().join("proc/sys/kernel/modules_disabled"), "1\n");
    let report = diagnose(root.path(), RELEASE, None, &tools(), 0, Flavor::Rust);
    let fix = assert_status(&report, "modules-disabled", Status::Fail);
    assert!(
        fix.starts_with("reboot") && fix.contains("nomodule"),
        "{fix}"
    );
    assert!(check(&report, "modules-disabled")
        .summary
        .contains("until reboot"));
}

#[test]
fn e_no_proc_modules() {
    let (root, _) = good();
    fs::remove_file(root.path().join("proc/modules")).unwrap();
    let report = diagnose(root.path(), RELEASE, None, &tools(), 0, Flavor::Rust);
    let fix = assert_status(&report, "kernel-modules", Status::Fail);
    assert_eq!(
        fix,
        "this kernel cannot load modules: test in a VM with `mempoolctl vm`"
    );
    for id in ["privileges", "modules-disabled", "sig-enforce", "lockdown"] {
        assert_status(&report, id, Status::Skip);
    }
    assert_status(&report, "dmesg-restrict", Status::Pass);
    assert!(!report.ok());
}

fn set_caps(root: &Path, eff: &str, bnd: &str) {
    write(
        &root.join("proc/self/status"),
        &format!("Name:\tx\nCapEff:\t{eff}\nCapBnd:\t{bnd}\n"),
    );
}

#[test]
fn e_privileges() {
    let (root, _) = good();
    // Non-root without capabilities: sudo helps.
    set_caps(root.path(), "0000000000000000", ALL_CAPS);
    let report = diagnose(root.path(), RELEASE, None, &tools(), 1000, Flavor::Rust);
    let fix = assert_status(&report, "privileges", Status::Fail);
    assert_eq!(fix, "run as root: `sudo mempoolctl load`");
    assert!(check(&report, "privileges").summary.contains("uid 1000"));

    // Root in a container whose bounding set lacks CAP_SYS_MODULE (bit 16).
    set_caps(root.path(), "000001fffffeffff", "000001fffffeffff");
    let report = diagnose(root.path(), RELEASE, None, &tools(), 0, Flavor::Rust);
    let fix = assert_status(&report, "privileges", Status::Fail);
    assert!(fix.contains("--cap-add SYS_MODULE") && fix.contains("mempoolctl vm"));

    // Non-root with the capability (e.g. a file capability) passes.
    set_caps(root.path(), "0000000000010000", ALL_CAPS);
    let report = diagnose(root.path(), RELEASE, None, &tools(), 1000, Flavor::Rust);
    assert_status(&report, "privileges", Status::Pass);

    // Capabilities unreadable: the uid decides.
    fs::remove_file(root.path().join("proc/self/status")).unwrap();
    let report = diagnose(root.path(), RELEASE, None, &tools(), 0, Flavor::Rust);
    assert_status(&report, "privileges", Status::Pass);
    let report = diagnose(root.path(), RELEASE, None, &tools(), 1000, Flavor::Rust);
    assert_status(&report, "privileges", Status::Fail);
}

#[test]
fn e_dmesg_restrict() {
    let (root, _) = good();
    write(&root.path().join("proc/sys/kernel/dmesg_restrict"), "1\n");
    set_caps(root.path(), "0000000000000000", ALL_CAPS);
    let report = diagnose(root.path(), RELEASE, None, &tools(), 1000, Flavor::Rust);
    let fix = assert_status(&report, "dmesg-restrict", Status::Warn);
    assert!(
        fix.contains("`sudo sysctl kernel.dmesg_restrict=0`"),
        "{fix}"
    );
    assert!(fix.contains("sudo mempoolctl log"));
    assert!(check(&report, "dmesg-restrict")
        .summary
        .contains("`mempoolctl log`"));
    // A warning is not a failure... but privileges fails for that user.
    assert!(!report.ok());

    set_caps(root.path(), ALL_CAPS, ALL_CAPS);
    let report = diagnose(root.path(), RELEASE, None, &tools(), 0, Flavor::Rust);
    assert_status(&report, "dmesg-restrict", Status::Pass);
}

#[test]
fn json_shape_is_the_documented_one() {
    let (_root, report) = good();
    let v = serde_json::to_value(&report).unwrap();
    let obj = v.as_object().unwrap();
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["checks", "flavor", "kdir", "kernel_release", "ok", "schema"]
    );
    assert_eq!(v["schema"], 1);
    assert_eq!(v["ok"], true);
    assert_eq!(v["flavor"], "rust");
    assert_eq!(v["kernel_release"], RELEASE);
    assert!(v["kdir"]
        .as_str()
        .unwrap()
        .ends_with("lib/modules/7.3.4/build"));
    let checks = v["checks"].as_array().unwrap();
    // Every id once, in the documented order.
    let ids: Vec<&str> = checks.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "headers",
            "config-modules",
            "config-module-unload",
            "config-rust",
            "rust-metadata",
            "compiler",
            "binutils",
            "rustc",
            "bindgen",
            "rust-src",
            "kernel-release-match",
            "kernel-modules",
            "privileges",
            "modules-disabled",
            "sig-enforce",
            "lockdown",
            "dmesg-restrict",
        ]
    );
    assert_eq!(ids, CHECK_IDS);
    let first = checks[0].as_object().unwrap();
    let mut keys: Vec<&str> = first.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["fix", "id", "section", "status", "summary"]);
    assert_eq!(checks[0]["id"], "headers");
    assert_eq!(checks[0]["section"], "build");
    assert_eq!(checks[0]["status"], "pass");
    assert!(checks[0]["fix"].is_null());
    assert_eq!(checks[10]["section"], "build");
    assert_eq!(checks[11]["section"], "load");
    assert_eq!(checks[16]["section"], "load");

    let root = fake_root();
    let v = serde_json::to_value(diagnose(
        root.path(),
        RELEASE,
        None,
        &tools(),
        0,
        Flavor::Rust,
    ))
    .unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["checks"][0]["status"], "fail");
    assert!(v["checks"][0]["fix"].is_string());
    assert_eq!(v["checks"][1]["status"], "skip");
    let v =
        serde_json::to_value(diagnose(root.path(), RELEASE, None, &tools(), 0, Flavor::C)).unwrap();
    assert_eq!(v["flavor"], "c");
    let statuses = [Status::Warn].map(|s| serde_json::to_value(s).unwrap());
    assert_eq!(statuses[0], "warn");
}

#[test]
fn render_marks_and_colour() {
    let root = fake_root();
    let report = diagnose(root.path(), RELEASE, None, &tools(), 0, Flavor::Rust);
    let text = render(&report, false);
    assert!(!text.contains('\x1b'));
    assert!(text.starts_with("Build (kernel build dir "));
    assert!(text.contains(", module rust_mempool)\n"), "{text}");
    assert!(text.contains("\n  ✗ headers "), "{text}");
    assert!(text.contains("fix: install the running kernel's headers"));
    assert!(text.contains("\n  - config-rust "));
    assert!(text.contains("\n  ✓ kernel-modules "));
    assert!(text.contains("Load (running kernel 7.3.4)"));
    assert!(
        text.ends_with("not ok: 8 passed, 1 failed, 0 warning(s), 8 skipped\n"),
        "{text}"
    );
    let coloured = render(&report, true);
    assert!(coloured.contains("\x1b[31m✗\x1b[0m headers"));
    assert!(coloured.contains("\x1b[32m✓\x1b[0m"));

    let (_root, good) = good();
    let text = render(&good, false);
    assert!(text.ends_with("ok: 17 passed, 0 failed, 0 warning(s), 0 skipped\n"));
    println!("{}", render(&good, false));
}

// Debian's stock headers (linux-headers-7.3.4+deb13-amd64), as shipped: no
// scripts/module.lds but arch/x86/module.lds, a `.kernelvariables` pinning
// `x86_64-linux-gnu-gcc-14`, no rust/.

/// The stock build dir's layout (the prepared files it really has).
fn stock_kdir(kdir: &Path) {
    headers_dir(kdir, DEBIAN_CONFIG, RELEASE);
    fs::remove_file(kdir.join("scripts/module.lds")).unwrap();
    write(&kdir.join("arch/x86/module.lds"), "SECTIONS {}\n");
    write(
        &kdir.join(".kernelvariables"),
        include_str!("../../kbuild/fixtures/debian-7.3.4-amd64.kernelvariables"),
    );
}

/// A trixie machine with Debian's gcc-14 and binutils: `gcc-14` is a link to
/// `x86_64-linux-gnu-gcc-14`, binutils links `as`/`ld` to the prefixed ones.
fn trixie_tools() -> Tools {
    let mut t = tools();
    t.binaries = [
        ("x86_64-linux-gnu-gcc-14", "14.2.0"),
        ("x86_64-linux-gnu-as", "2.44"),
        ("x86_64-linux-gnu-ld", "2.44"),
        ("as", "2.44"),
        ("ld", "2.44"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    t.gcc_as = BTreeMap::from([("x86_64-linux-gnu-gcc-14".to_owned(), "as".to_owned())]);
    t.rustc = None;
    t.bindgen = None;
    t.rust_lib_src = None;
    t.rust_lib_src_exists = false;
    t
}

const X86_64_HOST: bool = cfg!(target_arch = "x86_64");

#[test]
fn stock_headers_link_with_arch_module_lds() {
    let root = fake_root();
    let kdir = default_kdir(root.path());
    stock_kdir(&kdir);
    let report = diagnose(root.path(), RELEASE, None, &trixie_tools(), 0, Flavor::C);
    assert_status(&report, "headers", Status::Pass);
    assert!(check(&report, "headers")
        .summary
        .contains("linker script arch/x86/module.lds"));

    // Neither script: both names, as scripts/Makefile.modfinal looks for them.
    fs::remove_file(kdir.join("arch/x86/module.lds")).unwrap();
    let report = diagnose(root.path(), RELEASE, None, &trixie_tools(), 0, Flavor::C);
    assert_status(&report, "headers", Status::Fail);
    let summary = &check(&report, "headers").summary;
    assert!(
        summary.contains("missing scripts/module.lds (or arch/x86/module.lds)"),
        "{summary}"
    );

    // Another architecture's script is not kbuild's (SRCARCH from `override ARCH`).
    write(&kdir.join("arch/arm64/module.lds"), "");
    let report = diagnose(root.path(), RELEASE, None, &trixie_tools(), 0, Flavor::C);
    assert_status(&report, "headers", Status::Fail);
}

#[test]
fn module_lds_arch_without_kernelvariables() {
    let root = fake_root();
    let kdir = default_kdir(root.path());
    let config = format!("{DEBIAN_CONFIG}CONFIG_X86_64=y\nCONFIG_X86=y\n");
    headers_dir(&kdir, &config, RELEASE);
    fs::remove_file(kdir.join("scripts/module.lds")).unwrap();
    write(&kdir.join("arch/x86/module.lds"), "");
    // From the configuration's architecture.
    let report = diagnose(root.path(), RELEASE, None, &tools(), 0, Flavor::C);
    assert_status(&report, "headers", Status::Pass);
    // `ARCH` in the environment is what kbuild uses.
    let mut t = tools();
    t.arch = Some("arm64".into());
    let report = diagnose(root.path(), RELEASE, None, &t, 0, Flavor::C);
    assert_status(&report, "headers", Status::Fail);
    assert!(check(&report, "headers")
        .summary
        .contains("(or arch/arm64/module.lds)"));
    t.arch = Some("x86_64".into());
    let report = diagnose(root.path(), RELEASE, None, &t, 0, Flavor::C);
    assert_status(&report, "headers", Status::Pass);
}

#[test]
fn stock_headers_compiler_is_the_cross_compile_prefixed_gcc() {
    let root = fake_root();
    let kdir = default_kdir(root.path());
    stock_kdir(&kdir);
    // Only the prefixed gcc-14 is installed (no plain gcc-14 or gcc).
    let report = diagnose(root.path(), RELEASE, None, &trixie_tools(), 0, Flavor::C);
    assert_status(&report, "compiler", Status::Pass);
    let summary = &check(&report, "compiler").summary;
    assert!(
        summary.contains("kbuild runs `x86_64-linux-gnu-gcc-14` (14.2.0)"),
        "{summary}"
    );
    assert!(
        summary.contains("CROSS_COMPILE=x86_64-linux-gnu- from the build dir's .kernelvariables"),
        "{summary}"
    );

    // A plain gcc-14 alone is not what kbuild runs.
    let mut t = trixie_tools();
    t.binaries.remove("x86_64-linux-gnu-gcc-14");
    t.binaries.insert("gcc-14".into(), "14.2.0".into());
    let report = diagnose(root.path(), RELEASE, None, &t, 0, Flavor::C);
    let fix = assert_status(&report, "compiler", Status::Fail);
    let summary = &check(&report, "compiler").summary;
    assert!(
        summary.contains("`x86_64-linux-gnu-gcc-14` (CROSS_COMPILE=x86_64-linux-gnu- from"),
        "{summary}"
    );
    assert!(summary.ends_with("is not installed"), "{summary}");
    if X86_64_HOST {
        assert_eq!(fix, "`apt install gcc-14`");
    }
    // The file's `override` beats the environment.
    let mut t = trixie_tools();
    t.cross_compile = Some("aarch64-linux-gnu-".into());
    let report = diagnose(root.path(), RELEASE, None, &t, 0, Flavor::C);
    assert_status(&report, "compiler", Status::Pass);
}

#[test]
fn cross_compile_from_the_environment() {
    let root = fake_root();
    let kdir = default_kdir(root.path());
    headers_dir(&kdir, DEBIAN_CONFIG, RELEASE);
    let mut t = trixie_tools();
    t.binaries
        .insert("x86_64-linux-gnu-gcc".into(), "14.2.0".into());
    // No .kernelvariables, no $CROSS_COMPILE: plain `gcc`, not installed.
    let report = diagnose(root.path(), RELEASE, None, &t, 0, Flavor::C);
    assert_status(&report, "compiler", Status::Fail);
    assert!(check(&report, "compiler").summary.contains("`gcc` is"));

    t.cross_compile = Some("x86_64-linux-gnu-".into());
    let report = diagnose(root.path(), RELEASE, None, &t, 0, Flavor::C);
    assert_status(&report, "compiler", Status::Pass);
    let summary = &check(&report, "compiler").summary;
    assert!(
        summary.contains(
            "kbuild runs `x86_64-linux-gnu-gcc` (14.2.0) (CROSS_COMPILE=x86_64-linux-gnu- from \
             the environment)"
        ),
        "{summary}"
    );
    assert_status(&report, "binutils", Status::Pass);
    assert!(check(&report, "binutils")
        .summary
        .contains("links with `x86_64-linux-gnu-ld` (2.44)"));

    // A real cross prefix names the cross packages.
    t.cross_compile = Some("aarch64-linux-gnu-".into());
    let report = diagnose(root.path(), RELEASE, None, &t, 0, Flavor::C);
    let fix = assert_status(&report, "compiler", Status::Fail);
    let fix_binutils = assert_status(&report, "binutils", Status::Fail);
    if X86_64_HOST {
        assert_eq!(fix, "`apt install gcc-14-aarch64-linux-gnu`");
        assert_eq!(
            fix_binutils,
            "`apt install binutils-aarch64-linux-gnu` (the gcc-14-aarch64-linux-gnu package \
             depends on it)"
        );
    }
}

#[test]
fn binutils_for_a_gcc_kernel() {
    let root = fake_root();
    let kdir = default_kdir(root.path());
    stock_kdir(&kdir);
    let report = diagnose(root.path(), RELEASE, None, &trixie_tools(), 0, Flavor::C);
    assert_status(&report, "binutils", Status::Pass);
    let summary = &check(&report, "binutils").summary;
    assert!(
        summary.contains(
            "`x86_64-linux-gnu-gcc-14` runs `as` (2.44) to assemble; kbuild links with \
             `x86_64-linux-gnu-ld` (2.44)"
        ),
        "{summary}"
    );
    assert!(summary.contains("minimum 2.30.0"), "{summary}");

    // gcc-14-x86-64-linux-gnu without `binutils`: the prefixed tools but no `as`, which
    // is what gcc runs ("cannot execute 'as'").
    let mut t = trixie_tools();
    t.binaries.remove("as");
    t.binaries.remove("ld");
    let report = diagnose(root.path(), RELEASE, None, &t, 0, Flavor::C);
    let fix = assert_status(&report, "binutils", Status::Fail);
    let summary = &check(&report, "binutils").summary;
    assert!(summary.contains("cannot execute 'as'"), "{summary}");
    assert!(!summary.contains("links the module"), "{summary}");
    if X86_64_HOST {
        assert_eq!(
            fix,
            "`apt install binutils` (the gcc-14 package depends on it)"
        );
    }
    assert!(!report.ok());

    // The linker kbuild runs is the prefixed one.
    let mut t = trixie_tools();
    t.binaries.remove("x86_64-linux-gnu-ld");
    let report = diagnose(root.path(), RELEASE, None, &t, 0, Flavor::C);
    assert_status(&report, "binutils", Status::Fail);
    let summary = &check(&report, "binutils").summary;
    assert!(
        summary.contains("kbuild links the module with `x86_64-linux-gnu-ld`"),
        "{summary}"
    );
    assert!(!summary.contains("cannot execute"), "{summary}");

    // An assembler gcc found in its own directories needs no `as` on the path.
    let mut t = trixie_tools();
    t.binaries.remove("as");
    t.gcc_as.insert(
        "x86_64-linux-gnu-gcc-14".into(),
        "/usr/x86_64-linux-gnu/bin/as".into(),
    );
    let report = diagnose(root.path(), RELEASE, None, &t, 0, Flavor::C);
    assert_status(&report, "binutils", Status::Pass);
    assert!(check(&report, "binutils")
        .summary
        .contains("runs `/usr/x86_64-linux-gnu/bin/as` to assemble"));

    // Below the kernel's minimum: a warning.
    let mut t = trixie_tools();
    t.binaries.insert("as".into(), "2.29".into());
    let report = diagnose(root.path(), RELEASE, None, &t, 0, Flavor::C);
    assert_status(&report, "binutils", Status::Warn);
    assert!(check(&report, "binutils")
        .summary
        .ends_with("older than the minimum 2.30.0 (Linux 7.3): `as` 2.29"));

    // No headers: skipped like the compiler.
    let root = fake_root();
    let report = diagnose(root.path(), RELEASE, None, &trixie_tools(), 0, Flavor::C);
    assert_eq!(check(&report, "binutils").summary, "no headers");
}

#[test]
fn c_flavor_skips_the_rust_checks() {
    let root = fake_root();
    let kdir = default_kdir(root.path());
    stock_kdir(&kdir);
    // The stock headers on a trixie machine with gcc-14 and binutils, no Rust at all.
    let report = diagnose(root.path(), RELEASE, None, &trixie_tools(), 0, Flavor::C);
    assert_eq!(report.flavor, Flavor::C);
    for id in [
        "config-rust",
        "rust-metadata",
        "rustc",
        "bindgen",
        "rust-src",
    ] {
        let c = check(&report, id);
        assert_eq!(c.status, Status::Skip, "{c:#?}");
        assert_eq!(c.summary, "not needed for the C twin (c_mempool)");
        assert_eq!(c.fix, None);
    }
    for id in [
        "headers",
        "config-modules",
        "config-module-unload",
        "compiler",
        "binutils",
        "kernel-release-match",
    ] {
        assert_status(&report, id, Status::Pass);
    }
    assert!(report.ok(), "{}", render(&report, false));
    let text = render(&report, false);
    assert!(text.contains(", module c_mempool)\n"), "{text}");

    // The same tree for the Rust module: the Rust checks as before.
    let report = diagnose(root.path(), RELEASE, None, &trixie_tools(), 0, Flavor::Rust);
    assert_status(&report, "config-rust", Status::Pass);
    let fix = assert_status(&report, "rust-metadata", Status::Fail);
    assert!(fix.contains("`mempoolctl build --flavor c`"), "{fix}");
    assert_status(&report, "rustc", Status::Fail);
    assert_status(&report, "bindgen", Status::Warn);
    assert_status(&report, "rust-src", Status::Warn);
    assert!(!report.ok());

    // A kernel without Rust: config-rust points at the C twin for Rust, skips for C.
    write(
        &kdir.join(".config"),
        &DEBIAN_CONFIG.replace("CONFIG_RUST=y", "# CONFIG_RUST is not set"),
    );
    let fix = assert_status(
        &diagnose(root.path(), RELEASE, None, &trixie_tools(), 0, Flavor::Rust),
        "config-rust",
        Status::Fail,
    );
    assert!(fix.contains("`mempoolctl build --flavor c`"), "{fix}");
    let report = diagnose(root.path(), RELEASE, None, &trixie_tools(), 0, Flavor::C);
    assert_status(&report, "config-rust", Status::Skip);
    assert!(report.ok());

    // No headers: the Rust checks still say why they do not matter.
    let root = fake_root();
    let report = diagnose(root.path(), RELEASE, None, &trixie_tools(), 0, Flavor::C);
    assert_eq!(
        check(&report, "rust-metadata").summary,
        "not needed for the C twin (c_mempool)"
    );
    assert_eq!(check(&report, "compiler").summary, "no headers");
}

#[test]
fn c_flavor_names_its_module_when_signing() {
    let (root, _) = good();
    write(
        &root.path().join("sys/module/module/parameters/sig_enforce"),
        "Y\n",
    );
    let report = diagnose(root.path(), RELEASE, None, &tools(), 0, Flavor::C);
    let fix = assert_status(&report, "sig-enforce", Status::Fail);
    assert!(fix.contains("MOK.der c_mempool.ko"), "{fix}");
    assert!(check(&report, "sig-enforce")
        .summary
        .contains("unsigned c_mempool.ko"));
}

#[test]
fn flavor_parses_and_prints() {
    assert_eq!("rust".parse::<Flavor>(), Ok(Flavor::Rust));
    assert_eq!("c".parse::<Flavor>(), Ok(Flavor::C));
    assert!("go".parse::<Flavor>().is_err());
    assert_eq!(Flavor::C.module_name(), "c_mempool");
    assert_eq!(Flavor::C.to_string(), "c");
    assert_eq!(Flavor::default(), Flavor::Rust);
}
