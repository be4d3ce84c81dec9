//! The sysfs files are listed three times where they must be: the ABI
//! document, rust_mempool's table (`FILES`) and c_mempool's attribute array.
//! They must name the same files, and stats must read only documented ones.

use std::collections::BTreeSet;

const RUST: &str = include_str!("../../../module/rust_mempool_main.rs");
const C: &str = include_str!("../../../module/c/c_mempool.c");
const ABI: &str =
    include_str!("../../../module/Documentation/ABI/testing/sysfs-kernel-rust_mempool");

fn set<'a>(names: impl Iterator<Item = &'a str>) -> BTreeSet<&'a str> {
    names.collect()
}

/// The `c"name"` literals of the Rust table (`const FILES ... ];`).
fn rust_files() -> BTreeSet<&'static str> {
    let table = RUST
        .split_once("const FILES")
        .and_then(|(_, rest)| rest.split_once("];"))
        .map_or("", |(table, _)| table);
    set(table
        .split("c\"")
        .skip(1)
        .filter_map(|t| t.split_once('"').map(|(name, _)| name)))
}

/// `&name_attr.attr,` lines of the C twin's attribute array.
fn c_files() -> BTreeSet<&'static str> {
    set(C
        .lines()
        .filter_map(|l| l.trim().strip_prefix('&')?.strip_suffix("_attr.attr,")))
}

fn documented(module: &str) -> BTreeSet<&'static str> {
    let prefix = format!("/sys/kernel/{module}/");
    set(ABI.lines().filter_map(|l| {
        let path = l.strip_prefix("What:")?.trim();
        path.strip_prefix(prefix.as_str())
    }))
}

#[test]
fn both_twins_have_exactly_the_documented_files() {
    let abi = documented("rust_mempool");
    assert!(abi.len() >= 20, "the ABI lists {abi:?}");
    assert_eq!(rust_files(), abi, "rust_mempool's FILES against the ABI");
    assert_eq!(c_files(), abi, "c_mempool's attributes against the ABI");
    assert_eq!(documented("c_mempool"), abi, "the ABI's c_mempool paths");
    assert_eq!(set(stats::documented_files().into_iter()), abi);
}

#[test]
fn no_file_holds_two_values_by_its_documented_format() {
    // The old multi-value files are gone for good.
    for gone in ["bench_result", "bench_mempool_result"] {
        assert!(!documented("rust_mempool").contains(gone), "{gone}");
    }
}
