use super::*;

/// Real names from Debian 7.3.4+deb13-amd64's Module.symvers (kernel notes).
const CALL_PRINTK: &str = "_RNvNtCsb5MLIFMWygY_6kernel5print11call_printk";

#[test]
fn crate_roots_of_real_v0_names() {
    assert_eq!(
        crate_roots(CALL_PRINTK),
        vec![("kernel".to_owned(), "b5MLIFMWygY".to_owned())]
    );
    // A generic instantiated with another crate's type names both crates.
    let generic = "_RINvNtCsb5MLIFMWygY_6kernel5alloc4somefNtNtCs1a2B3c_4core3fmt9ArgumentsE";
    assert_eq!(
        crate_roots(generic),
        vec![
            ("kernel".to_owned(), "b5MLIFMWygY".to_owned()),
            ("core".to_owned(), "1a2B3c".to_owned())
        ]
    );
    assert!(crate_roots("printk").is_empty());
    assert!(crate_roots("_RNvCs_").is_empty());
    assert!(crate_roots("Cs9_99x").is_empty());
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn symbols_match_only_with_the_same_crate_hash() {
    let exported = set(&[
        CALL_PRINTK,
        "_RNvNtCsb5MLIFMWygY_6kernel5alloc7realloc",
        // Another crate's export (a Rust driver built into the kernel) is not ours to check.
        "_RNvCsZZZ_6binder4init",
        "printk",
    ]);
    let same = set(&[
        CALL_PRINTK,
        "_RNvNtCsb5MLIFMWygY_6kernel5alloc7realloc",
        "_RNvNtCsb5MLIFMWygY_6kernel5print6helper",
    ]);
    compare_symbols(&exported, &same).unwrap();

    // Another rustc: every hash differs.
    let other = set(&["_RNvNtCsXXXXXXXXXXX_6kernel5print11call_printk"]);
    let err = compare_symbols(&exported, &other).unwrap_err();
    assert!(
        err.contains("hash b5MLIFMWygY") && err.contains("XXXXXXXXXXX"),
        "{err}"
    );

    // Same hash, but an export missing from the regenerated crate.
    let short = set(&[CALL_PRINTK]);
    let err = compare_symbols(&exported, &short).unwrap_err();
    assert!(err.starts_with("1 of the kernel's Rust exports"), "{err}");
    assert!(err.contains("5alloc7realloc"), "{err}");

    assert!(compare_symbols(&exported, &set(&["printk"])).is_err());
    assert!(compare_symbols(&set(&["printk"]), &same).is_err());
}

#[test]
fn config_differences_name_each_changed_option() {
    let headers =
        "CONFIG_RUST=y\nCONFIG_RUSTC_VERSION_TEXT=\"rustc 1.85.1\"\n# CONFIG_X is not set\n";
    assert!(config_differences(headers, headers).is_empty());
    let resolved = "CONFIG_RUST=y\nCONFIG_RUSTC_VERSION_TEXT=\"rustc 1.95.0\"\nCONFIG_X=y\n";
    assert_eq!(
        config_differences(headers, resolved),
        vec![
            "CONFIG_RUSTC_VERSION_TEXT: rustc 1.85.1 -> rustc 1.95.0".to_owned(),
            "CONFIG_X: unset -> y".to_owned()
        ]
    );
}

#[test]
fn overlay_makefile_moves_the_output_tree() {
    // Debian's linux-headers-7.3.4+deb13-amd64/Makefile, verbatim.
    let debian = "KBUILD_OUTPUT=/usr/src/linux-headers-7.3.4+deb13-amd64\ninclude /usr/src/linux-headers-7.3.4+deb13-common/Makefile\n";
    let m = overlay_makefile(
        debian,
        Path::new("/usr/src/linux-headers-7.3.4+deb13-amd64"),
        Path::new("/c/rust-metadata/r/kdir"),
    );
    assert!(
        m.contains("\nKBUILD_OUTPUT=/c/rust-metadata/r/kdir\n"),
        "{m}"
    );
    assert!(!m.contains("KBUILD_OUTPUT=/usr/src"), "{m}");
    assert!(
        m.ends_with("include /usr/src/linux-headers-7.3.4+deb13-common/Makefile\n"),
        "{m}"
    );
    let full = overlay_makefile(
        "VERSION = 7\nPATCHLEVEL = 3\n",
        Path::new("/k"),
        Path::new("/o"),
    );
    assert!(
        full.ends_with("KBUILD_OUTPUT=/o\ninclude /k/Makefile\n"),
        "{full}"
    );
}

/// Debian's rustc text, as its kernels' `.config` carries it.
const DEBIAN_RUST: &str = "CONFIG_RUST=y\nCONFIG_RUSTC_VERSION_TEXT=\"rustc 1.85.1 (4eb161250 2025-03-15) (built from a source tarball)\"\n";

/// Headers at `k` as far as the cache key reads them: their release.
fn fake_headers(k: &Path, release: &str) {
    std::fs::create_dir_all(k.join("include/generated")).unwrap();
    std::fs::write(
        k.join("include/generated/utsrelease.h"),
        format!("#define UTS_RELEASE \"{release}\"\n"),
    )
    .unwrap();
}

#[test]
fn support_is_read_from_config_and_files() {
    let t = tempfile::tempdir().unwrap();
    let k = t.path();
    assert!(matches!(
        rust_support(k, "CONFIG_MODULES=y\n", k),
        RustSupport::NoRust
    ));
    let rust = DEBIAN_RUST;
    fake_headers(k, "7.3.4+deb13-amd64");
    let RustSupport::Regenerable(regen) = rust_support(k, rust, Path::new("/cache")) else {
        panic!("headers without rust/ are regenerable");
    };
    assert_eq!(regen.release, "7.3.4+deb13-amd64");
    assert!(regen
        .dir
        .to_string_lossy()
        .starts_with("/cache/rust-metadata/7.3.4+deb13-amd64-"));
    assert!(!regen.is_cached());
    assert_eq!(regen.series().as_deref(), Some("7.3"));
    // The cache key follows the rustc and the configuration.
    let RustSupport::Regenerable(other) =
        rust_support(k, &rust.replace("1.85.1", "1.85.0"), Path::new("/cache"))
    else {
        panic!()
    };
    assert_ne!(regen.dir, other.dir);

    std::fs::create_dir_all(k.join("rust")).unwrap();
    std::fs::write(k.join("rust/libkernel.rmeta"), "").unwrap();
    let RustSupport::Incomplete { missing } = rust_support(k, rust, k) else {
        panic!("a rust/ dir with some files is incomplete");
    };
    assert_eq!(missing.len(), RUST_METADATA.len() - 1);
    assert!(!missing.contains(&"rust/libkernel.rmeta"));
    for f in RUST_METADATA {
        std::fs::create_dir_all(k.join(f).parent().unwrap()).unwrap();
        std::fs::write(k.join(f), "").unwrap();
    }
    assert!(matches!(rust_support(k, rust, k), RustSupport::Complete));
}

#[test]
fn a_rustup_toolchain_cannot_stand_in_for_debians() {
    let debian = rustc_fix("rustc 1.85.1 (4eb161250 2025-03-15) (built from a source tarball)");
    assert!(
        debian.contains("apt-get install rustc rust-src"),
        "{debian}"
    );
    assert!(debian.contains("1.85.1"), "{debian}");
    let upstream = rustc_fix("rustc 1.95.0 (59807616e 2026-04-14)");
    assert_eq!(
        upstream,
        "`rustup toolchain install 1.95.0` and put it first on PATH"
    );
}

#[test]
fn only_compiler_options_are_fatal_differences() {
    assert!(is_toolchain_option(
        "CONFIG_RUSTC_VERSION_TEXT: rustc 1.85.1 -> rustc 1.95.0"
    ));
    assert!(is_toolchain_option("CONFIG_GCC_VERSION: 140200 -> 120200"));
    assert!(is_toolchain_option("CONFIG_CC_IS_CLANG: unset -> y"));
    assert!(is_toolchain_option("CONFIG_RUST: y -> unset"));
    // Seen for real: trixie's libssl-dev lacks what Debian's build host had.
    assert!(!is_toolchain_option(
        "CONFIG_OPENSSL_SUPPORTS_ML_DSA: y -> unset"
    ));
}

#[test]
fn a_source_of_another_version_than_the_headers_is_refused_with_both() {
    let tarball = Path::new("/usr/src/linux-source-7.3.tar.xz");
    let install = || "`apt-get install linux-source-7.3=7.3.4-1~bpo13+1`".to_owned();
    // Versions as dpkg-query prints them for trixie-backports' packages.
    let other = source_version_verdict(
        "linux-source-7.3",
        tarball,
        Some("7.3.4-1~bpo13+1"),
        Some("7.3.2-1~bpo13+1"),
        install(),
    );
    assert_eq!(other.id, "kernel-source");
    assert_eq!(
        other.summary,
        "linux-source-7.3 is version 7.3.2-1~bpo13+1 but the headers are 7.3.4-1~bpo13+1: \
         the metadata must come from exactly the headers' source"
    );
    assert_eq!(other.fix.as_deref(), Some(install().as_str()));
    let same = source_version_verdict(
        "linux-source-7.3",
        tarball,
        Some("7.3.4-1~bpo13+1"),
        Some("7.3.4-1~bpo13+1"),
        install(),
    );
    assert_eq!(same.fix, None);
    assert_eq!(
        same.summary,
        "/usr/src/linux-source-7.3.tar.xz (linux-source-7.3 7.3.4-1~bpo13+1, the headers' own version)"
    );
    // Headers not from a package (a hand-built tree): nothing to compare.
    let unknown = source_version_verdict(
        "linux-source-7.3",
        tarball,
        None,
        Some("7.3.4-1~bpo13+1"),
        install(),
    );
    assert_eq!(unknown.fix, None);
    assert!(
        unknown.summary.contains("versions not checked"),
        "{}",
        unknown.summary
    );
}

#[test]
fn a_second_regeneration_waits_for_the_first_and_then_finds_it_cached() {
    use nix::fcntl::{Flock, FlockArg};
    use std::sync::mpsc;
    use std::time::Duration;
    let t = tempfile::tempdir().unwrap();
    let (k, cache) = (t.path().join("headers"), t.path().join("cache"));
    // A release no kernel source exists for: were the cache not re-checked
    // under the lock, the regeneration would start and fail on its tools.
    fake_headers(&k, "99.1.0-test");
    // This machine's rustc stands for the kernel's: a cached entry needs it.
    let rustc = crate::toolchain::which("rustc").expect("cargo test runs with a rustc");
    let text = crate::toolchain::first_line_of(&rustc, &["--version"]).unwrap();
    let config = format!("CONFIG_RUST=y\nCONFIG_RUSTC_VERSION_TEXT=\"{text}\"\n");
    let RustSupport::Regenerable(regen) = rust_support(&k, &config, &cache) else {
        panic!("headers without rust/ are regenerable");
    };
    // The first regeneration: it holds the entry's lock.
    std::fs::create_dir_all(&regen.dir).unwrap();
    let held = std::fs::File::create(regen.dir.join(LOCK)).unwrap();
    let first = Flock::lock(held, FlockArg::LockExclusive).unwrap();
    assert!(regen.is_being_regenerated(), "doctor sees it running");

    let (tx, rx) = mpsc::channel::<String>();
    let second = {
        let regen = regen.clone();
        std::thread::spawn(move || {
            regen.ensure(1, &|line: &str| {
                let _ = tx.send(line.to_owned());
            })
        })
    };
    let said = rx.recv_timeout(Duration::from_secs(60)).unwrap();
    assert!(
        said.contains("another mempoolctl is regenerating this kernel's Rust metadata"),
        "{said}"
    );
    // The first one finishes: its entry is complete, its lock released.
    std::fs::write(regen.dir.join(COMPLETE), format!("{text}\n")).unwrap();
    std::fs::create_dir_all(regen.overlay()).unwrap();
    std::fs::write(regen.overlay().join("Makefile"), "").unwrap();
    drop(first);
    let (overlay, used) = second.join().unwrap().unwrap();
    // (Children other tests start meanwhile may hold a copy for a moment.)
    let free = (0..50).any(|_| {
        !regen.is_being_regenerated() || {
            std::thread::sleep(Duration::from_millis(100));
            false
        }
    });
    assert!(free, "nothing holds the lock now");
    assert_eq!(overlay, regen.overlay());
    assert_eq!(used.canonicalize().unwrap(), rustc.canonicalize().unwrap());
    // It said nothing more: no regeneration started.
    assert_eq!(rx.try_iter().count(), 0);
}

#[test]
fn a_rebuild_of_the_same_release_gets_an_entry_of_its_own() {
    let t = tempfile::tempdir().unwrap();
    let k = t.path();
    let rust = DEBIAN_RUST;
    fake_headers(k, "7.3.4+deb13-amd64");
    let entry = || match rust_support(k, rust, Path::new("/cache")) {
        RustSupport::Regenerable(regen) => regen.dir,
        other => panic!("{other:?}"),
    };
    // Debian's own lines: two uploads of 7.3.4 share the release.
    let uts = |upload: &str| {
        std::fs::write(
            k.join("include/generated/utsversion.h"),
            format!("#define UTS_VERSION \"#1 SMP PREEMPT_DYNAMIC Debian 7.3.4-{upload} (2026-11-15)\"\n"),
        )
        .unwrap()
    };
    uts("1~bpo13+1");
    std::fs::write(
        k.join("Module.symvers"),
        "0x1f2e3d4c\t_printk\tvmlinux\tEXPORT_SYMBOL\t\n",
    )
    .unwrap();
    let first = entry();
    assert_eq!(entry(), first, "the same build, the same entry");
    uts("2~bpo13+1");
    let second = entry();
    assert_ne!(second, first);
    std::fs::write(
        k.join("Module.symvers"),
        "0x5a6b7c8d\t_printk\tvmlinux\tEXPORT_SYMBOL\t\n",
    )
    .unwrap();
    assert_ne!(entry(), second, "another CRC, another entry");
    for dir in [&first, &second] {
        assert!(dir
            .to_string_lossy()
            .starts_with("/cache/rust-metadata/7.3.4+deb13-amd64-"));
    }
}

#[test]
fn the_lock_outlives_its_holder_while_a_child_it_started_runs() {
    use nix::fcntl::{Flock, FlockArg};
    let t = tempfile::tempdir().unwrap();
    let k = t.path().join("headers");
    fake_headers(&k, "99.1.0-test");
    let config = "CONFIG_RUST=y\nCONFIG_RUSTC_VERSION_TEXT=\"rustc 1.85.1\"\n";
    let RustSupport::Regenerable(regen) = rust_support(&k, config, &t.path().join("cache")) else {
        panic!("headers without rust/ are regenerable");
    };
    std::fs::create_dir_all(&regen.dir).unwrap();
    let try_lock = || {
        let f = std::fs::File::open(regen.dir.join(LOCK)).unwrap();
        Flock::lock(f, FlockArg::LockExclusiveNonblock).is_ok()
    };
    let guard = regen.lock(&|_| {}).unwrap();
    // As make or tar would be: started while the lock is held.
    let mut child = std::process::Command::new("sleep")
        .arg("60")
        .spawn()
        .unwrap();
    drop(guard);
    assert!(
        !try_lock(),
        "the child's copy of the descriptor holds the lock"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    // Children other tests start meanwhile may hold a copy for a moment.
    let free = (0..50).any(|_| {
        try_lock() || {
            std::thread::sleep(std::time::Duration::from_millis(100));
            false
        }
    });
    assert!(free, "free once the child is gone");
}

#[test]
fn a_regeneration_removes_only_the_entries_nothing_can_build_against() {
    use nix::fcntl::{Flock, FlockArg};
    let t = tempfile::tempdir().unwrap();
    let cache = t.path().join("cache");
    // Headers as installed now: the current entry is made for them.
    let headers = t.path().join("headers");
    fake_headers(&headers, "7.3.4+deb13-amd64");
    std::fs::write(headers.join(".config"), DEBIAN_RUST).unwrap();
    let RustSupport::Regenerable(current) = rust_support(&headers, DEBIAN_RUST, &cache) else {
        panic!("headers without rust/ are regenerable");
    };
    // Other headers still installed, with an entry of their own.
    let other = t.path().join("other");
    fake_headers(&other, "6.18.1-test");
    std::fs::write(other.join(".config"), DEBIAN_RUST).unwrap();
    let RustSupport::Regenerable(kept) = rust_support(&other, DEBIAN_RUST, &cache) else {
        panic!();
    };
    let entries = cache.join("rust-metadata");
    let entry = |name: &str, recorded: Option<&Path>| {
        let dir = if name.is_empty() {
            kept.dir.clone()
        } else {
            entries.join(name)
        };
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(LOCK), "").unwrap();
        if let Some(h) = recorded {
            std::fs::write(dir.join(HEADERS), h.as_os_str().as_encoded_bytes()).unwrap();
        }
        dir
    };
    std::fs::create_dir_all(&current.dir).unwrap();
    let upgraded = entry("7.3.4+deb13-amd64-0123456789ab", Some(&headers));
    let gone = entry(
        "7.2.1+deb13-amd64-0123456789ab",
        Some(&t.path().join("removed")),
    );
    let unrecorded = entry("7.1.0+deb13-amd64-0123456789ab", None);
    // Made for this release before entries recorded their headers (and
    // before they had a lock file), cut short with its source unpacked.
    let legacy = entry("7.3.4+deb13-amd64-fedcba987654", None);
    std::fs::remove_file(legacy.join(LOCK)).unwrap();
    std::fs::create_dir(legacy.join("src")).unwrap();
    // The same, but only now taking its lock: a regeneration starting.
    let starting = entry("7.3.4+deb13-amd64-aaaaaaaaaaaa", None);
    // Another release's name that starts with this one's.
    let longer = entry("7.3.4+deb13-amd64-rt-fedcba987654", None);
    std::fs::create_dir(longer.join("src")).unwrap();
    // Unrecorded but with an overlay: its `.config` names its headers, gone.
    let overlaid = entry("6.9.0-old-bbbbbbbbbbbb", None);
    std::fs::create_dir(overlaid.join("kdir")).unwrap();
    std::os::unix::fs::symlink(
        t.path().join("removed/.config"),
        overlaid.join("kdir/.config"),
    )
    .unwrap();
    let busy = entry(
        "7.0.0+deb13-amd64-0123456789ab",
        Some(&t.path().join("removed")),
    );
    let still_used = entry("", Some(&other));
    let held = Flock::lock(
        std::fs::File::open(busy.join(LOCK)).unwrap(),
        FlockArg::LockExclusive,
    )
    .unwrap();

    let said = std::cell::RefCell::new(Vec::new());
    current.prune_stale(&|l: &str| said.borrow_mut().push(l.to_owned()));
    assert!(!upgraded.exists() && !gone.exists() && !legacy.exists() && !overlaid.exists());
    assert!(unrecorded.exists() && busy.exists() && still_used.exists() && current.dir.exists());
    assert!(longer.exists() && starting.exists());
    let said = said.into_inner();
    assert_eq!(said.len(), 4, "{said:?}");
    assert!(said
        .iter()
        .any(|l| l.contains("made for this release before entries recorded their headers")));
    assert!(said
        .iter()
        .any(|l| l.contains("its headers were replaced by another build")));
    assert!(said.iter().any(|l| l.contains("its headers are gone")));
    drop(held);
}

#[test]
fn an_entry_records_its_headers_before_regenerating() {
    let t = tempfile::tempdir().unwrap();
    let k = t.path().join("headers");
    // No kernel source for this release: the regeneration stops at its tools,
    // as one interrupted for good would, and must be prunable all the same.
    fake_headers(&k, "99.1.0-test");
    let RustSupport::Regenerable(regen) = rust_support(&k, DEBIAN_RUST, &t.path().join("cache"))
    else {
        panic!("headers without rust/ are regenerable");
    };
    assert!(regen.ensure(1, &|_| {}).is_err());
    assert_eq!(
        std::fs::read(regen.dir.join(HEADERS)).unwrap(),
        k.canonicalize().unwrap().as_os_str().as_encoded_bytes()
    );
}
