//! A snapshot of `/sys/kernel/rust_mempool/` and `/sys/kernel/slab/<cache>/`,
//! read under a root prefix. The JSON form is a stable, documented interface
//! (`schema` is bumped on any incompatible change).

use serde::Serialize;
use std::fs;
use std::path::{Path, PathBuf};

pub const SCHEMA: u32 = 2;

#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    #[error("{dir} does not exist: the module is not loaded (mempoolctl load)")]
    NotLoaded { dir: PathBuf },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: expected {expected}, found {found:?}")]
    Parse {
        path: PathBuf,
        expected: &'static str,
        found: String,
    },
}

/// One contender's figures over the chunks of a bench run, in ns per pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Figures {
    /// The fastest chunk.
    pub min_ns: u64,
    /// The median chunk (the upper middle of an even count).
    pub median_ns: u64,
}

/// Where `kmalloc` of the module's object size comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KmallocBackend {
    /// A kmalloc cache.
    Slab,
    /// Whole pages: the size is above the largest kmalloc cache.
    Pages,
}

/// Result of the last `bench` write (the `bench_*` files).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Bench {
    pub pairs: u64,
    pub mempool: Figures,
    pub cache: Figures,
    pub kmalloc: Figures,
    pub kmalloc_backend: KmallocBackend,
}

/// Result of the last `bench_mempool` write (the `bench_mempool_only_*`
/// files): the mempool path alone, the reserve path when failslab fails the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MempoolOnlyBench {
    pub pairs: u64,
    pub mempool: Figures,
}

/// The module's own counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModuleStats {
    pub min_nr: u64,
    pub curr_nr: u64,
    pub object_size: u64,
    pub cache_object_size: u64,
    pub cache_name: String,
    pub in_use: u64,
    pub alloc_total: u64,
    pub free_total: u64,
    pub alloc_failed: u64,
    pub reserve_served: u64,
    pub reserve_refilled: u64,
    /// `null` until a `bench` write succeeds.
    pub bench: Option<Bench>,
    /// `null` until a `bench_mempool` write succeeds.
    pub bench_mempool_only: Option<MempoolOnlyBench>,
}

/// The slab cache's figures from `/sys/kernel/slab/<cache>/` (absent ones are null).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SlabStats {
    /// Whether `/sys/kernel/slab/<cache>` is a symlink: the cache merged into another.
    pub merged: bool,
    pub objects: Option<u64>,
    pub total_objects: Option<u64>,
    pub slabs: Option<u64>,
    pub object_size: Option<u64>,
    pub slab_size: Option<u64>,
    pub objs_per_slab: Option<u64>,
    pub order: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stats {
    pub schema: u32,
    pub module: ModuleStats,
    pub slab: Option<SlabStats>,
}

/// Parses one sysfs number: decimal digits and an optional trailing newline.
pub fn parse_u64(text: &str) -> Option<u64> {
    let t = text.strip_suffix('\n').unwrap_or(text);
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse().ok()
}

/// The module's ABI document, the one list of its sysfs files.
const ABI: &str =
    include_str!("../../../module/Documentation/ABI/testing/sysfs-kernel-rust_mempool");

/// The names of the files the ABI document gives `/sys/kernel/rust_mempool/`,
/// in its order (`c_mempool`'s are the same).
pub fn documented_files() -> Vec<&'static str> {
    ABI.lines()
        .filter_map(|l| {
            l.strip_prefix("What:")?
                .trim()
                .strip_prefix("/sys/kernel/rust_mempool/")
        })
        .collect()
}

fn read(path: &Path) -> Result<String, StatsError> {
    fs::read_to_string(path).map_err(|source| StatsError::Read {
        path: path.to_owned(),
        source,
    })
}

fn number(dir: &Path, name: &str) -> Result<u64, StatsError> {
    let path = dir.join(name);
    let text = read(&path)?;
    parse_u64(&text).ok_or(StatsError::Parse {
        path,
        expected: "a decimal number",
        found: text,
    })
}

fn figures(dir: &Path, prefix: &str) -> Result<Figures, StatsError> {
    Ok(Figures {
        min_ns: number(dir, &format!("{prefix}_min_ns"))?,
        median_ns: number(dir, &format!("{prefix}_median_ns"))?,
    })
}

/// The `bench_*` files: `None` while `bench_pairs` is 0 (no run yet).
fn read_bench(dir: &Path) -> Result<Option<Bench>, StatsError> {
    let pairs = number(dir, "bench_pairs")?;
    if pairs == 0 {
        return Ok(None);
    }
    let path = dir.join("bench_kmalloc_backend");
    let text = read(&path)?;
    let kmalloc_backend = match text.as_str() {
        "slab\n" => KmallocBackend::Slab,
        "pages\n" => KmallocBackend::Pages,
        _ => {
            return Err(StatsError::Parse {
                path,
                expected: "`slab` or `pages`",
                found: text,
            })
        }
    };
    Ok(Some(Bench {
        pairs,
        mempool: figures(dir, "bench_mempool")?,
        cache: figures(dir, "bench_cache")?,
        kmalloc: figures(dir, "bench_kmalloc")?,
        kmalloc_backend,
    }))
}

/// The `bench_mempool_only_*` files: `None` while no run succeeded.
fn read_mempool_only_bench(dir: &Path) -> Result<Option<MempoolOnlyBench>, StatsError> {
    let pairs = number(dir, "bench_mempool_only_pairs")?;
    if pairs == 0 {
        return Ok(None);
    }
    Ok(Some(MempoolOnlyBench {
        pairs,
        mempool: figures(dir, "bench_mempool_only")?,
    }))
}

/// Slab figure files start with the number (`objects` may add ` N0=...`).
fn slab_number(dir: &Path, name: &str) -> Option<u64> {
    let text = fs::read_to_string(dir.join(name)).ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// Reads the module directory `<root>/sys/kernel/<module_dir>` and its cache.
pub fn read_stats(root: &Path, module_dir: &str) -> Result<Stats, StatsError> {
    let dir = root.join("sys/kernel").join(module_dir);
    if !dir.is_dir() {
        return Err(StatsError::NotLoaded { dir });
    }
    let cache_name = read(&dir.join("cache_name"))?.trim_end().to_owned();
    let module = ModuleStats {
        min_nr: number(&dir, "min_nr")?,
        curr_nr: number(&dir, "curr_nr")?,
        object_size: number(&dir, "object_size")?,
        cache_object_size: number(&dir, "cache_object_size")?,
        in_use: number(&dir, "in_use")?,
        alloc_total: number(&dir, "alloc_total")?,
        free_total: number(&dir, "free_total")?,
        alloc_failed: number(&dir, "alloc_failed")?,
        reserve_served: number(&dir, "reserve_served")?,
        reserve_refilled: number(&dir, "reserve_refilled")?,
        bench: read_bench(&dir)?,
        bench_mempool_only: read_mempool_only_bench(&dir)?,
        cache_name,
    };
    let slab_dir = root.join("sys/kernel/slab").join(&module.cache_name);
    let slab = slab_dir.exists().then(|| SlabStats {
        merged: slab_dir.is_symlink(),
        objects: slab_number(&slab_dir, "objects"),
        total_objects: slab_number(&slab_dir, "total_objects"),
        slabs: slab_number(&slab_dir, "slabs"),
        object_size: slab_number(&slab_dir, "object_size"),
        slab_size: slab_number(&slab_dir, "slab_size"),
        objs_per_slab: slab_number(&slab_dir, "objs_per_slab"),
        order: slab_number(&slab_dir, "order"),
    });
    Ok(Stats {
        schema: SCHEMA,
        module,
        slab,
    })
}

fn opt(v: Option<u64>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

fn render_figures(f: &Figures) -> String {
    format!("min {} | median {}", f.min_ns, f.median_ns)
}

fn backend_label(b: KmallocBackend) -> &'static str {
    match b {
        KmallocBackend::Slab => "kmalloc cache",
        KmallocBackend::Pages => "page allocator: above the kmalloc caches",
    }
}

/// One line for the last `bench` run, for people.
pub fn render_bench(object_size: u64, b: &Bench) -> String {
    format!(
        "{} pairs of {object_size} B, ns per pair min/median: mempool {}/{}, raw cache {}/{}, kmalloc {}/{} ({}); mempool/raw {:.2}x (medians)",
        b.pairs,
        b.mempool.min_ns,
        b.mempool.median_ns,
        b.cache.min_ns,
        b.cache.median_ns,
        b.kmalloc.min_ns,
        b.kmalloc.median_ns,
        backend_label(b.kmalloc_backend),
        b.mempool.median_ns as f64 / b.cache.median_ns.max(1) as f64
    )
}

/// One line for the last `bench_mempool` run, for people.
pub fn render_mempool_only_bench(object_size: u64, b: &MempoolOnlyBench) -> String {
    format!(
        "{} pairs of {object_size} B through the mempool alone, ns per pair min/median: {}/{}",
        b.pairs, b.mempool.min_ns, b.mempool.median_ns
    )
}

/// A table for people.
pub fn render_table(s: &Stats) -> String {
    let m = &s.module;
    let mut rows: Vec<(String, String)> = vec![
        ("min_nr".into(), m.min_nr.to_string()),
        ("curr_nr (reserve now)".into(), m.curr_nr.to_string()),
        ("object_size".into(), m.object_size.to_string()),
        ("cache_object_size".into(), m.cache_object_size.to_string()),
        ("in_use".into(), m.in_use.to_string()),
        ("alloc_total".into(), m.alloc_total.to_string()),
        ("free_total".into(), m.free_total.to_string()),
        ("alloc_failed".into(), m.alloc_failed.to_string()),
        ("reserve_served".into(), m.reserve_served.to_string()),
        ("reserve_refilled".into(), m.reserve_refilled.to_string()),
    ];
    if let Some(b) = &m.bench {
        let row = |k: &str, f: &Figures| (format!("bench {k} (ns/pair)"), render_figures(f));
        rows.push(row("mempool", &b.mempool));
        rows.push(row("cache", &b.cache));
        let (k, v) = row("kmalloc", &b.kmalloc);
        rows.push((k, format!("{v} ({})", backend_label(b.kmalloc_backend))));
        rows.push(("bench pairs".into(), b.pairs.to_string()));
    }
    if let Some(b) = &m.bench_mempool_only {
        rows.push((
            "bench_mempool (ns/pair)".into(),
            format!("{} ({} pairs)", render_figures(&b.mempool), b.pairs),
        ));
    }
    match &s.slab {
        Some(sl) => {
            let name = format!("slab {}", m.cache_name);
            rows.push((
                format!("{name} objects"),
                format!(
                    "{} active / {} total",
                    opt(sl.objects),
                    opt(sl.total_objects)
                ),
            ));
            rows.push((
                format!("{name} slabs"),
                format!(
                    "{} (order {}, {} objs/slab, {} B/slot)",
                    opt(sl.slabs),
                    opt(sl.order),
                    opt(sl.objs_per_slab),
                    opt(sl.slab_size)
                ),
            ));
            if sl.merged {
                rows.push((name, "MERGED with another cache: figures are shared".into()));
            }
        }
        None => rows.push((
            format!("slab {}", m.cache_name),
            "not in /sys/kernel/slab".into(),
        )),
    }
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    rows.iter()
        .map(|(k, v)| format!("{k:<width$}  {v}\n"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_tree(root: &Path, values: &[(&str, &str)]) {
        let dir = root.join("sys/kernel/rust_mempool");
        fs::create_dir_all(&dir).unwrap();
        for (k, v) in values {
            fs::write(dir.join(k), v).unwrap();
        }
    }

    const LOADED: &[(&str, &str)] = &[
        ("min_nr", "6\n"),
        ("curr_nr", "6\n"),
        ("object_size", "10240\n"),
        ("cache_object_size", "10240\n"),
        ("cache_name", "rust_mempool\n"),
        ("in_use", "3\n"),
        ("alloc_total", "5\n"),
        ("free_total", "2\n"),
        ("alloc_failed", "0\n"),
        ("reserve_served", "0\n"),
        ("reserve_refilled", "0\n"),
        ("bench_pairs", "1000\n"),
        ("bench_mempool_min_ns", "570\n"),
        ("bench_mempool_median_ns", "580\n"),
        ("bench_cache_min_ns", "235\n"),
        ("bench_cache_median_ns", "240\n"),
        ("bench_kmalloc_min_ns", "1300\n"),
        ("bench_kmalloc_median_ns", "1360\n"),
        ("bench_kmalloc_backend", "pages\n"),
        ("bench_mempool_only_pairs", "0\n"),
        ("bench_mempool_only_min_ns", "0\n"),
        ("bench_mempool_only_median_ns", "0\n"),
    ];

    #[test]
    fn reads_module_and_slab_figures() {
        let t = tempfile::tempdir().unwrap();
        fake_tree(t.path(), LOADED);
        let slab = t.path().join("sys/kernel/slab/rust_mempool");
        fs::create_dir_all(&slab).unwrap();
        fs::write(slab.join("objects"), "9 N0=9\n").unwrap();
        fs::write(slab.join("order"), "3\n").unwrap();
        let s = read_stats(t.path(), "rust_mempool").unwrap();
        assert_eq!(s.module.in_use, 3);
        assert_eq!(s.module.alloc_total - s.module.free_total, s.module.in_use);
        let bench = s.module.bench.unwrap();
        assert_eq!(
            (bench.kmalloc, bench.kmalloc_backend),
            (
                Figures {
                    min_ns: 1300,
                    median_ns: 1360
                },
                KmallocBackend::Pages
            )
        );
        assert_eq!(s.module.bench_mempool_only, None);
        let sl = s.slab.clone().unwrap();
        assert_eq!(
            (sl.merged, sl.objects, sl.order, sl.slabs),
            (false, Some(9), Some(3), None)
        );
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["schema"], 2);
        assert_eq!(json["module"]["bench"]["kmalloc_backend"], "pages");
        assert_eq!(json["module"]["bench"]["cache"]["median_ns"], 240);
        assert_eq!(
            json["module"]["bench_mempool_only"],
            serde_json::Value::Null
        );
        assert_eq!(json["module"]["curr_nr"], 6);
        assert_eq!(json["slab"]["slabs"], serde_json::Value::Null);
        let table = render_table(&s);
        let row = table
            .lines()
            .find(|l| l.starts_with("curr_nr (reserve now) "))
            .unwrap();
        assert_eq!(row.split_whitespace().last(), Some("6"), "{table}");
        assert!(table.contains("9 active / - total"), "{table}");
        assert!(
            table.contains("min 1300 | median 1360 (page allocator: above the kmalloc caches)"),
            "{table}"
        );
        assert_eq!(
            render_bench(10240, &bench),
            "1000 pairs of 10240 B, ns per pair min/median: mempool 570/580, raw cache 235/240, \
             kmalloc 1300/1360 (page allocator: above the kmalloc caches); mempool/raw 2.42x (medians)"
        );
    }

    #[test]
    fn a_bench_is_absent_until_its_pairs_are_set() {
        let t = tempfile::tempdir().unwrap();
        let mut tree: Vec<_> = LOADED.to_vec();
        for (k, v) in &mut tree {
            if k.starts_with("bench_") && k.ends_with("_ns") || k.ends_with("pairs") {
                *v = "0\n";
            }
        }
        fake_tree(t.path(), &tree);
        assert_eq!(
            read_stats(t.path(), "rust_mempool").unwrap().module.bench,
            None
        );
        for (file, value) in [
            ("bench_mempool_only_pairs", "7\n"),
            ("bench_mempool_only_min_ns", "300\n"),
            ("bench_mempool_only_median_ns", "310\n"),
        ] {
            fs::write(t.path().join("sys/kernel/rust_mempool").join(file), value).unwrap();
        }
        let only = read_stats(t.path(), "rust_mempool")
            .unwrap()
            .module
            .bench_mempool_only
            .unwrap();
        assert_eq!(
            render_mempool_only_bench(64, &only),
            "7 pairs of 64 B through the mempool alone, ns per pair min/median: 300/310"
        );
    }

    #[test]
    fn an_unknown_kmalloc_backend_is_named() {
        let t = tempfile::tempdir().unwrap();
        let mut tree: Vec<_> = LOADED.to_vec();
        for (k, v) in &mut tree {
            if *k == "bench_kmalloc_backend" {
                *v = "vmalloc\n";
            }
        }
        fake_tree(t.path(), &tree);
        let err = read_stats(t.path(), "rust_mempool")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("bench_kmalloc_backend: expected `slab` or `pages`, found \"vmalloc\\n\""),
            "{err}"
        );
    }

    #[test]
    fn errors_name_the_file_and_value() {
        let t = tempfile::tempdir().unwrap();
        assert!(read_stats(t.path(), "rust_mempool")
            .unwrap_err()
            .to_string()
            .contains("not loaded"));
        let mut bad: Vec<_> = LOADED.to_vec();
        bad[1] = ("curr_nr", "-1\n");
        fake_tree(t.path(), &bad);
        let err = read_stats(t.path(), "rust_mempool")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("curr_nr: expected a decimal number, found \"-1\\n\""),
            "{err}"
        );
    }

    #[test]
    fn value_parsers_are_strict() {
        assert_eq!(parse_u64("42\n"), Some(42));
        for bad in ["", "\n", "4 2", "+1", "-1", "0x10", "99999999999999999999"] {
            assert_eq!(parse_u64(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn mempool_only_bench_shows_in_json_and_table() {
        let t = tempfile::tempdir().unwrap();
        fake_tree(t.path(), LOADED);
        let dir = t.path().join("sys/kernel/rust_mempool");
        fs::write(dir.join("bench_mempool_only_pairs"), "9\n").unwrap();
        fs::write(dir.join("bench_mempool_only_min_ns"), "400\n").unwrap();
        fs::write(dir.join("bench_mempool_only_median_ns"), "410\n").unwrap();
        let s = read_stats(t.path(), "rust_mempool").unwrap();
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["module"]["bench_mempool_only"]["pairs"], 9);
        assert_eq!(
            json["module"]["bench_mempool_only"]["mempool"]["median_ns"],
            410
        );
        assert!(render_table(&s).contains("min 400 | median 410 (9 pairs)"));
        fs::write(dir.join("bench_mempool_only_min_ns"), "4 00\n").unwrap();
        let err = read_stats(t.path(), "rust_mempool")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("bench_mempool_only_min_ns: expected a decimal number"),
            "{err}"
        );
    }
}
