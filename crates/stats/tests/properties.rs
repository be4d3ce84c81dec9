//! Property tests for the sysfs value parsers and `read_stats` on fake trees.

use proptest::prelude::*;
use stats::{parse_u64, read_stats, Bench, Figures, KmallocBackend, StatsError};
use std::fs;
use std::path::Path;

fn config() -> ProptestConfig {
    ProptestConfig {
        // 256 cases unless PROPTEST_CASES says otherwise.
        // No `proptest-regressions/` files in the crate: failures are reported, not stored.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Fewer cases for the properties that write a sysfs tree per case: file
/// writes cost up to a millisecond each on some disks.
fn fs_config() -> ProptestConfig {
    let base = config();
    ProptestConfig {
        cases: base.cases.div_ceil(4),
        ..base
    }
}

/// A temporary root, on tmpfs when the machine has one (fast, no disk I/O).
fn scratch() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(t) = tempfile::tempdir_in(shm) {
            return t;
        }
    }
    tempfile::tempdir().unwrap()
}

/// The oracle: sysfs contents and near misses, with the value written by hand.
#[test]
fn parse_u64_reads_what_sysfs_prints_and_nothing_else() {
    for (text, want) in [
        ("6\n", Some(6)),
        ("0\n", Some(0)),
        ("10240", Some(10240)),
        ("007\n", Some(7)),
        ("18446744073709551615\n", Some(u64::MAX)),
        ("18446744073709551616\n", None),
        ("", None),
        ("\n", None),
        ("6\n\n", None),
        (" 6\n", None),
        ("6 \n", None),
        ("+6\n", None),
        ("-1\n", None),
        ("0x10\n", None),
        ("none\n", None),
        ("6\r\n", None),
    ] {
        assert_eq!(parse_u64(text), want, "{text:?}");
    }
}

/// Text sysfs prints for `n` (`%llu\n`), or could be read as: zero-padded,
/// or without its newline.
fn printed(n: u64, zeros: usize, newline: bool) -> String {
    format!(
        "{}{n}{}",
        "0".repeat(zeros),
        if newline { "\n" } else { "" }
    )
}

/// A number and a text sysfs could hold for it.
fn a_number() -> impl Strategy<Value = (u64, String)> {
    (any::<u64>(), 0usize..4, any::<bool>()).prop_map(|(n, zeros, nl)| (n, printed(n, zeros, nl)))
}

/// Texts that hold no number, each made so by construction rather than by a
/// second parser: a printed number with one character that is no digit
/// inserted among its digits (a newline at the end being the one allowed),
/// numbers above `u64::MAX`, and any text with a character that is neither a
/// digit nor a newline.
fn not_a_number() -> impl Strategy<Value = String> {
    // Mostly ASCII (signs, spaces, hex and other letters), whose neighbours a
    // lenient parser might accept; any other character too.
    let intruder = prop_oneof![
        3 => "[ -/:-~\t\r\n]".prop_map(|s| s.chars().next().unwrap_or(' ')),
        1 => any::<char>().prop_filter("no digit", |c| !c.is_ascii_digit()),
    ];
    prop_oneof![
        (
            any::<u64>(),
            any::<bool>(),
            intruder,
            any::<prop::sample::Index>()
        )
            .prop_filter_map("the one allowed newline", |(n, newline, c, at)| {
                let mut t = n.to_string();
                let i = at.index(t.len() + 1);
                if c == '\n' && i == t.len() && !newline {
                    return None;
                }
                t.insert(i, c);
                if newline {
                    t.push('\n');
                }
                Some(t)
            }),
        Just(String::new()),
        Just("\n".to_owned()),
        (1u128..=u128::from(u64::MAX), any::<bool>()).prop_map(|(extra, nl)| format!(
            "{}{}",
            u128::from(u64::MAX) + extra,
            if nl { "\n" } else { "" }
        )),
        any::<String>().prop_filter("a character sysfs never prints in a number", |s| {
            s.chars().any(|c| !c.is_ascii_digit() && c != '\n')
        }),
    ]
}

/// The numeric files of the module directory, in `ModuleStats` field order.
const NUMBER_FILES: [&str; 10] = [
    "min_nr",
    "curr_nr",
    "object_size",
    "cache_object_size",
    "in_use",
    "alloc_total",
    "free_total",
    "alloc_failed",
    "reserve_served",
    "reserve_refilled",
];

const SLAB_FILES: [&str; 7] = [
    "objects",
    "total_objects",
    "slabs",
    "object_size",
    "slab_size",
    "objs_per_slab",
    "order",
];

/// The numeric `bench_*` files, in the order [`bench_numbers`] gives their values.
const BENCH_FILES: [&str; 7] = [
    "bench_pairs",
    "bench_mempool_min_ns",
    "bench_mempool_median_ns",
    "bench_cache_min_ns",
    "bench_cache_median_ns",
    "bench_kmalloc_min_ns",
    "bench_kmalloc_median_ns",
];

/// A run's figures (`pairs` is never 0: 0 means no run).
fn any_bench() -> impl Strategy<Value = Bench> {
    (1..=u64::MAX, any::<[u64; 6]>(), any::<bool>()).prop_map(|(pairs, ns, pages)| {
        let figures = |i: usize| Figures {
            min_ns: ns[i],
            median_ns: ns[i + 1],
        };
        Bench {
            pairs,
            mempool: figures(0),
            cache: figures(2),
            kmalloc: figures(4),
            kmalloc_backend: if pages {
                KmallocBackend::Pages
            } else {
                KmallocBackend::Slab
            },
        }
    })
}

/// What the module's `bench_*` files hold for `b`: all zero before any run.
fn bench_numbers(b: Option<&Bench>) -> [u64; 7] {
    b.map_or([0; 7], |b| {
        [
            b.pairs,
            b.mempool.min_ns,
            b.mempool.median_ns,
            b.cache.min_ns,
            b.cache.median_ns,
            b.kmalloc.min_ns,
            b.kmalloc.median_ns,
        ]
    })
}

/// Writes a loaded module's directory: numbers, bench files and cache name.
fn write_module(root: &Path, numbers: &[u64; 10], bench: Option<&Bench>, cache: &str) {
    let dir = root.join("sys/kernel/rust_mempool");
    fs::create_dir_all(&dir).unwrap();
    for (name, value) in NUMBER_FILES.iter().zip(numbers) {
        fs::write(dir.join(name), format!("{value}\n")).unwrap();
    }
    for (name, value) in BENCH_FILES.iter().zip(bench_numbers(bench)) {
        fs::write(dir.join(name), format!("{value}\n")).unwrap();
    }
    let backend = match bench.map(|b| b.kmalloc_backend) {
        Some(KmallocBackend::Pages) => "pages\n",
        _ => "slab\n",
    };
    fs::write(dir.join("bench_kmalloc_backend"), backend).unwrap();
    for name in [
        "bench_mempool_only_pairs",
        "bench_mempool_only_min_ns",
        "bench_mempool_only_median_ns",
    ] {
        fs::write(dir.join(name), "0\n").unwrap();
    }
    fs::write(dir.join("cache_name"), format!("{cache}\n")).unwrap();
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn parse_u64_round_trips_every_u64((n, text) in a_number()) {
        prop_assert_eq!(parse_u64(&text), Some(n));
    }

    #[test]
    fn parse_u64_rejects_a_number_with_anything_else_in_it(text in not_a_number()) {
        prop_assert_eq!(parse_u64(&text), None, "{:?}", text);
    }

}

proptest! {
    #![proptest_config(fs_config())]

    #[test]
    fn read_stats_round_trips_numbers(
        numbers in any::<[u64; 10]>(),
        bench in proptest::option::of(any_bench()),
        cache in "[a-z_][a-z0-9_]{0,15}",
        slab in proptest::option::of(proptest::collection::vec(
            proptest::option::of((any::<u64>(), any::<bool>())), 7)),
    ) {
        let t = scratch();
        write_module(t.path(), &numbers, bench.as_ref(), &cache);
        if let Some(slab) = &slab {
            let dir = t.path().join("sys/kernel/slab").join(&cache);
            fs::create_dir_all(&dir).unwrap();
            for (name, v) in SLAB_FILES.iter().zip(slab) {
                if let Some((v, per_node)) = v {
                    let text = if *per_node { format!("{v} N0={v}\n") } else { format!("{v}\n") };
                    fs::write(dir.join(name), text).unwrap();
                }
            }
        }
        let s = read_stats(t.path(), "rust_mempool").unwrap();
        let m = &s.module;
        let got = [
            m.min_nr, m.curr_nr, m.object_size, m.cache_object_size, m.in_use,
            m.alloc_total, m.free_total, m.alloc_failed, m.reserve_served, m.reserve_refilled,
        ];
        prop_assert_eq!(got, numbers);
        prop_assert_eq!(m.bench, bench);
        prop_assert_eq!(&m.cache_name, &cache);
        prop_assert_eq!(s.schema, stats::SCHEMA);
        match (&s.slab, &slab) {
            (None, None) => {}
            (Some(got), Some(written)) => {
                prop_assert!(!got.merged);
                let got = [
                    got.objects, got.total_objects, got.slabs, got.object_size,
                    got.slab_size, got.objs_per_slab, got.order,
                ];
                let want: Vec<Option<u64>> = written.iter().map(|v| v.map(|(n, _)| n)).collect();
                prop_assert_eq!(got.to_vec(), want);
            }
            (got, written) => prop_assert!(false, "slab {:?} read as {:?}", written, got),
        }
    }

    #[test]
    fn read_stats_names_the_file_with_garbage(
        numbers in any::<[u64; 10]>(),
        which in 0usize..10,
        garbage in not_a_number(),
    ) {
        let t = scratch();
        write_module(t.path(), &numbers, None, "rust_mempool");
        let dir = t.path().join("sys/kernel/rust_mempool");
        fs::write(dir.join(NUMBER_FILES[which]), &garbage).unwrap();
        match read_stats(t.path(), "rust_mempool") {
            Err(StatsError::Parse { path, found, .. }) => {
                prop_assert_eq!(path, dir.join(NUMBER_FILES[which]));
                prop_assert_eq!(found, garbage);
            }
            other => prop_assert!(false, "{:?} in {}: got {:?}", garbage, NUMBER_FILES[which], other),
        }
    }

    #[test]
    fn read_stats_names_a_bench_file_with_garbage(
        numbers in any::<[u64; 10]>(),
        b in any_bench(),
        which in 0usize..7,
        garbage in not_a_number(),
    ) {
        let t = scratch();
        write_module(t.path(), &numbers, Some(&b), "rust_mempool");
        let path = t.path().join("sys/kernel/rust_mempool").join(BENCH_FILES[which]);
        fs::write(&path, &garbage).unwrap();
        match read_stats(t.path(), "rust_mempool") {
            Err(e @ StatsError::Parse { .. }) => {
                let StatsError::Parse { path: named, found, .. } = &e else { unreachable!() };
                prop_assert_eq!(named, &path);
                prop_assert_eq!(found, &garbage);
                prop_assert!(e.to_string().contains(BENCH_FILES[which]));
            }
            other => prop_assert!(false, "{:?} in {}: got {:?}", garbage, BENCH_FILES[which], other),
        }
    }

    #[test]
    fn read_stats_reads_every_file_or_names_one_it_cannot(
        // Mostly numbers: all 11 files hold one in about a third of the trees.
        contents in proptest::collection::vec(prop_oneof![
            10 => a_number().prop_map(|(n, t)| (Some(n), t)),
            1 => not_a_number().prop_map(|t| (None, t)),
        ], 11),
        cache in "[^/\u{0}]{0,12}",
    ) {
        // `cache` has no '/': the slab directory stays inside the temporary root.
        let t = scratch();
        write_module(t.path(), &[0; 10], None, "unused");
        let dir = t.path().join("sys/kernel/rust_mempool");
        let names: Vec<&str> = NUMBER_FILES.iter().copied().chain(["bench_pairs"]).collect();
        for (name, (_, text)) in names.iter().zip(&contents) {
            fs::write(dir.join(name), text).unwrap();
        }
        fs::write(dir.join("cache_name"), &cache).unwrap();
        let want: Vec<Option<u64>> = contents.iter().map(|(n, _)| *n).collect();
        match read_stats(t.path(), "rust_mempool") {
            Ok(s) => {
                // Accepted only if every number file holds a number, read as such.
                prop_assert!(want.iter().all(Option::is_some), "accepted {:?}", contents);
                let m = &s.module;
                let got = [
                    m.min_nr, m.curr_nr, m.object_size, m.cache_object_size, m.in_use,
                    m.alloc_total, m.free_total, m.alloc_failed, m.reserve_served, m.reserve_refilled,
                ];
                prop_assert_eq!(&want[..10], &got.map(Some)[..]);
                prop_assert_eq!(&m.cache_name, cache.trim_end());
                // The other bench files hold zeros: a run shows only if pairs is set.
                prop_assert_eq!(m.bench.map(|b| b.pairs), want[10].filter(|p| *p != 0));
            }
            Err(StatsError::Parse { path, found, .. }) => {
                // Refused only for a file that holds no number, named with what it holds.
                let name = path.file_name().unwrap().to_str().unwrap().to_owned();
                let i = names.iter().position(|n| *n == name).unwrap();
                prop_assert_eq!(want[i], None, "{} holds a number but was refused", name);
                prop_assert_eq!(&found, &contents[i].1);
            }
            Err(e) => prop_assert!(false, "unexpected error {}", e),
        }
    }
}
