//! Property tests for the sysfs value parsers and `read_stats` on fake trees.

use proptest::prelude::*;
use stats::{parse_bench, parse_u64, read_stats, Bench, StatsError};
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

/// A second, differential check over many strings near the accepted
/// language: the documented rule written out again (the table above is the
/// oracle; this catches what a table misses).
fn reference_u64(text: &str) -> Option<u64> {
    let t = text.strip_suffix('\n').unwrap_or(text);
    if t.is_empty() {
        return None;
    }
    let mut n: u64 = 0;
    for b in t.bytes() {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(n)
}

/// Strings near the accepted language: digits, signs, spaces, newlines, hex.
fn numberish() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{0,22}\n?",
        "[0-9 +\\-x\n\tA-F_.]{0,24}",
        "[0-9]{1,20}\n[0-9\n]{0,3}",
        any::<String>(),
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

fn bench_line(b: &Bench) -> String {
    format!(
        "pairs={} mempool_ns={} cache_ns={} kmalloc_ns={}",
        b.pairs, b.mempool_ns, b.cache_ns, b.kmalloc_ns
    )
}

fn any_bench() -> impl Strategy<Value = Bench> {
    any::<[u64; 4]>().prop_map(|[pairs, mempool_ns, cache_ns, kmalloc_ns]| Bench {
        pairs,
        mempool_ns,
        cache_ns,
        kmalloc_ns,
    })
}

/// Writes a loaded module's directory: numbers, bench result and cache name.
fn write_module(root: &Path, numbers: &[u64; 10], bench: &str, cache: &str) {
    let dir = root.join("sys/kernel/rust_mempool");
    fs::create_dir_all(&dir).unwrap();
    for (name, value) in NUMBER_FILES.iter().zip(numbers) {
        fs::write(dir.join(name), format!("{value}\n")).unwrap();
    }
    fs::write(dir.join("bench_result"), bench).unwrap();
    fs::write(dir.join("cache_name"), format!("{cache}\n")).unwrap();
}

/// A `parse_bench` input that is one mutation away from a valid line.
#[derive(Debug, Clone)]
enum BenchDamage {
    DropField(usize),
    DuplicateField(usize),
    ExtraField(String),
    BadNumber(usize, String),
    RenameKey(usize, String),
    DoubleSpace(usize),
    LeadingSpace,
}

fn bench_damage() -> impl Strategy<Value = BenchDamage> {
    prop_oneof![
        (0usize..4).prop_map(BenchDamage::DropField),
        (0usize..4).prop_map(BenchDamage::DuplicateField),
        "[a-z_]{0,8}=[0-9]{1,4}".prop_map(BenchDamage::ExtraField),
        // Digits followed by newlines are left out: the parser strips trailing
        // newlines from the line, so on the last field they are no damage.
        (0usize..4, numberish())
            .prop_filter("must be no number", |(_, s)| {
                reference_u64(s.trim_end_matches('\n')).is_none()
            })
            .prop_map(|(i, s)| BenchDamage::BadNumber(i, s)),
        (0usize..4, "[a-z_]{0,11}").prop_map(|(i, k)| BenchDamage::RenameKey(i, k)),
        (0usize..3).prop_map(BenchDamage::DoubleSpace),
        Just(BenchDamage::LeadingSpace),
    ]
}

const BENCH_KEYS: [&str; 4] = ["pairs", "mempool_ns", "cache_ns", "kmalloc_ns"];

fn damaged(b: &Bench, damage: &BenchDamage) -> String {
    let values = [b.pairs, b.mempool_ns, b.cache_ns, b.kmalloc_ns];
    let mut words: Vec<String> = BENCH_KEYS
        .iter()
        .zip(values)
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    match damage {
        BenchDamage::DropField(i) => {
            words.remove(*i);
        }
        BenchDamage::DuplicateField(i) => {
            let w = words[*i].clone();
            words.push(w);
        }
        BenchDamage::ExtraField(w) => words.push(w.clone()),
        BenchDamage::BadNumber(i, s) => words[*i] = format!("{}={s}", BENCH_KEYS[*i]),
        BenchDamage::RenameKey(i, k) => {
            let k = if BENCH_KEYS.contains(&k.as_str()) {
                format!("{k}x")
            } else {
                k.clone()
            };
            words[*i] = format!("{k}={}", values[*i]);
        }
        BenchDamage::DoubleSpace(i) => words[*i].push(' '),
        BenchDamage::LeadingSpace => words[0].insert(0, ' '),
    }
    words.join(" ")
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn parse_u64_round_trips_every_u64(n in any::<u64>(), newline in any::<bool>(), zeros in 0usize..4) {
        let text = format!("{}{n}{}", "0".repeat(zeros), if newline { "\n" } else { "" });
        prop_assert_eq!(parse_u64(&text), Some(n));
    }

    #[test]
    fn parse_u64_agrees_with_the_documented_rule_near_the_language(text in numberish()) {
        prop_assert_eq!(parse_u64(&text), reference_u64(&text), "{:?}", text);
    }

    #[test]
    fn parse_u64_rejects_out_of_range(extra in 1u128..=u128::from(u64::MAX)) {
        let text = (u128::from(u64::MAX) + extra).to_string();
        prop_assert_eq!(parse_u64(&text), None);
    }

    #[test]
    fn parse_bench_round_trips(b in any_bench(), newlines in 0usize..2) {
        let text = bench_line(&b) + &"\n".repeat(newlines);
        prop_assert_eq!(parse_bench(&text), Ok(Some(b)));
    }

    #[test]
    fn parse_bench_none(newlines in 0usize..2) {
        prop_assert_eq!(parse_bench(&format!("none{}", "\n".repeat(newlines))), Ok(None));
    }

    #[test]
    fn parse_bench_rejects_malformed_lines(b in any_bench(), damage in bench_damage()) {
        let text = damaged(&b, &damage);
        prop_assert!(parse_bench(&text).is_err(), "{:?} accepted", text);
    }

    #[test]
    fn parse_bench_results_are_consistent_on_any_text(
        text in prop_oneof![
            any::<String>(),
            "((pairs|mempool_ns|cache_ns|kmalloc_ns|none|x)(=[0-9]{0,3})?[ \n]?){0,6}",
        ]
    ) {
        match parse_bench(&text) {
            Ok(None) => prop_assert_eq!(text.trim_end_matches('\n'), "none"),
            // Whatever was accepted is the documented form of the same figures.
            Ok(Some(b)) => {
                prop_assert_eq!(parse_bench(&bench_line(&b)), Ok(Some(b)));
                let mut words: Vec<&str> = text.trim_end_matches('\n').split(' ').collect();
                words.sort_unstable();
                let canon = bench_line(&b);
                let mut expected: Vec<&str> = canon.split(' ').collect();
                expected.sort_unstable();
                // Words carry the numbers possibly with leading zeros; compare parsed.
                prop_assert_eq!(words.len(), 4);
                for (got, want) in words.iter().zip(&expected) {
                    let (gk, gv) = got.split_once('=').unwrap();
                    let (wk, wv) = want.split_once('=').unwrap();
                    prop_assert_eq!(gk, wk);
                    prop_assert_eq!(parse_u64(gv), parse_u64(wv));
                }
            }
            Err(_) => {}
        }
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
        let bench_text = bench.as_ref().map_or_else(|| "none\n".to_owned(), |b| bench_line(b) + "\n");
        write_module(t.path(), &numbers, &bench_text, &cache);
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
        garbage in numberish().prop_filter("must be no number", |s| reference_u64(s).is_none()),
    ) {
        let t = scratch();
        write_module(t.path(), &numbers, "none\n", "rust_mempool");
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
    fn read_stats_names_bench_result_with_garbage(
        numbers in any::<[u64; 10]>(),
        b in any_bench(),
        damage in bench_damage(),
    ) {
        let t = scratch();
        let garbage = damaged(&b, &damage);
        write_module(t.path(), &numbers, &garbage, "rust_mempool");
        match read_stats(t.path(), "rust_mempool") {
            Err(e @ StatsError::Parse { .. }) => {
                let StatsError::Parse { path, found, .. } = &e else { unreachable!() };
                prop_assert_eq!(path, &t.path().join("sys/kernel/rust_mempool/bench_result"));
                prop_assert_eq!(found, &garbage);
                prop_assert!(e.to_string().contains("bench_result"));
            }
            other => prop_assert!(false, "{:?}: got {:?}", garbage, other),
        }
    }

    #[test]
    fn read_stats_never_panics_on_any_file_contents(
        contents in proptest::collection::vec(prop_oneof![any::<String>(), "[0-9]{1,3}\n?", Just("none\n".to_owned())], 11),
        cache in "[^/\u{0}]{0,12}",
    ) {
        // `cache` has no '/': the slab directory stays inside the temporary root.
        let contents: Vec<String> = contents.into_iter().chain([cache]).collect();
        let t = scratch();
        let dir = t.path().join("sys/kernel/rust_mempool");
        fs::create_dir_all(&dir).unwrap();
        let names = NUMBER_FILES.iter().chain(&["bench_result", "cache_name"]);
        for (name, text) in names.zip(&contents) {
            fs::write(dir.join(name), text).unwrap();
        }
        match read_stats(t.path(), "rust_mempool") {
            Ok(s) => {
                // Accepted only if every number file holds a number, read as such.
                let want: Vec<Option<u64>> = contents[..10].iter().map(|t| reference_u64(t)).collect();
                let m = &s.module;
                let got = [
                    m.min_nr, m.curr_nr, m.object_size, m.cache_object_size, m.in_use,
                    m.alloc_total, m.free_total, m.alloc_failed, m.reserve_served, m.reserve_refilled,
                ];
                prop_assert_eq!(want, got.map(Some).to_vec());
                prop_assert_eq!(&m.cache_name, contents[11].trim_end());
            }
            Err(StatsError::Parse { path, found, .. }) => {
                let name = path.file_name().unwrap().to_str().unwrap().to_owned();
                let i = NUMBER_FILES.iter().chain(&["bench_result", "cache_name"])
                    .position(|n| *n == name).unwrap();
                prop_assert_eq!(&found, &contents[i]);
            }
            Err(e) => prop_assert!(false, "unexpected error {}", e),
        }
    }
}
