//! The README's claims that name a fact whose home is elsewhere in the
//! repository, checked against that home: a change there that leaves the
//! README behind fails here, not in a reader's hands.

use std::path::Path;
use vm::scenario::Scenario;

/// The README as written.
fn readme_text() -> String {
    std::fs::read_to_string(super::repo_root().join("README.md")).expect("README.md")
}

/// The README with every run of whitespace made one space, so a claim may
/// wrap anywhere.
fn readme() -> String {
    readme_text()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn assert_claims(claim: &str) {
    assert!(readme().contains(claim), "README.md does not say: {claim}");
}

#[test]
fn the_debian_commands_install_every_package_the_stock_suite_installs() {
    let text = readme_text();
    let section = text
        .split("\n## Rust on your distribution's kernel")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("the section \"Rust on your distribution's kernel\"");
    let installed: Vec<&str> = section
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("apt-get install "))
        .flat_map(str::split_whitespace)
        .collect();
    // dkms is the README's own later step; binutils comes with gcc. Packages
    // the suite pins to a suite (`pkg/suite`) are named plainly or with `-t`.
    let wanted = super::stock::RUST_PATH
        .iter()
        .chain(&super::stock::BUILD_TOOLS)
        .filter(|p| !matches!(**p, "dkms" | "binutils"))
        .map(|p| p.split('/').next().unwrap_or(p));
    let missing: Vec<&str> = wanted.filter(|p| !installed.contains(p)).collect();
    assert!(
        missing.is_empty(),
        "README's apt-get lines lack {missing:?}"
    );
}

#[test]
fn the_vm_synopsis_names_every_scenario() {
    let text = readme();
    let listed = text
        .split("[--scenario ")
        .nth(1)
        .and_then(|s| s.split(']').next())
        .expect("the vm synopsis's --scenario");
    let mut listed: Vec<&str> = listed.split('|').collect();
    let mut names = Scenario::NAMES.to_vec();
    listed.sort_unstable();
    names.sort_unstable();
    assert_eq!(listed, names);
}

#[test]
fn the_check_counts_are_the_hosts() {
    let n = |s: Scenario| s.expected_checks().expect("a known count");
    assert_claims(&format!(
        "(`vm::Scenario::expected_checks`: demo {}, smoke {}, faults {}, stress {}, all {},",
        n(Scenario::Demo),
        n(Scenario::Smoke),
        n(Scenario::Faults),
        n(Scenario::Stress),
        n(Scenario::All)
    ));
    assert_claims(&format!("**smoke** ({} checks", n(Scenario::Smoke)));
    assert_claims(&format!("**faults** ({} checks", n(Scenario::Faults)));
    assert_claims(&format!("**stress** ({} checks", n(Scenario::Stress)));
}

#[test]
fn the_c_twins_size_is_its_own() {
    let source = Path::new("module/c/c_mempool.c");
    let lines = std::fs::read_to_string(super::repo_root().join(source))
        .expect("the C twin")
        .lines()
        .count();
    assert_claims(&format!("It is {lines} lines"));
}
