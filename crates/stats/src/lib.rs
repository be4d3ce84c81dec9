//! A snapshot of `/sys/kernel/rust_mempool/` and `/sys/kernel/slab/<cache>/`,
//! read under a root prefix. The JSON form is a stable, documented interface
//! (`schema` is bumped on any incompatible change).

use serde::Serialize;
use std::fs;
use std::path::{Path, PathBuf};

pub const SCHEMA: u32 = 1;

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

/// Result of the last `bench` write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Bench {
    pub pairs: u64,
    pub mempool_ns: u64,
    pub cache_ns: u64,
    pub kmalloc_ns: u64,
}

/// Result of the last `bench_mempool` write: the mempool path alone (the
/// reserve path when failslab fails the cache).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MempoolBench {
    pub pairs: u64,
    pub mempool_ns: u64,
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
    pub bench: Option<Bench>,
    /// `null` until a `bench_mempool` write, and for modules without that file.
    pub bench_mempool: Option<MempoolBench>,
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

/// `bench_result` did not have the documented form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MalformedBench;

/// Parses `bench_result`: `none` or `pairs=N mempool_ns=N cache_ns=N kmalloc_ns=N`.
pub fn parse_bench(text: &str) -> Result<Option<Bench>, MalformedBench> {
    let t = text.trim_end_matches('\n');
    if t == "none" {
        return Ok(None);
    }
    let mut vals = [None; 4];
    const KEYS: [&str; 4] = ["pairs", "mempool_ns", "cache_ns", "kmalloc_ns"];
    for word in t.split(' ') {
        let (k, v) = word.split_once('=').ok_or(MalformedBench)?;
        let i = KEYS
            .iter()
            .position(|key| *key == k)
            .ok_or(MalformedBench)?;
        if vals[i].is_some() {
            return Err(MalformedBench);
        }
        // Digits only: the one newline allowed is the line's own, trimmed above.
        if v.contains('\n') {
            return Err(MalformedBench);
        }
        vals[i] = Some(parse_u64(v).ok_or(MalformedBench)?);
    }
    match vals {
        [Some(pairs), Some(mempool_ns), Some(cache_ns), Some(kmalloc_ns)] => Ok(Some(Bench {
            pairs,
            mempool_ns,
            cache_ns,
            kmalloc_ns,
        })),
        _ => Err(MalformedBench),
    }
}

/// Parses `bench_mempool_result`: `none` or `pairs=N mempool_ns=N`.
pub fn parse_bench_mempool(text: &str) -> Result<Option<MempoolBench>, MalformedBench> {
    let t = text.strip_suffix('\n').unwrap_or(text);
    if t == "none" {
        return Ok(None);
    }
    let field = |word: Option<&str>, key: &str| -> Result<u64, MalformedBench> {
        let v = word
            .and_then(|w| w.strip_prefix(key))
            .and_then(|w| w.strip_prefix('='))
            .ok_or(MalformedBench)?;
        if v.contains('\n') {
            return Err(MalformedBench);
        }
        parse_u64(v).ok_or(MalformedBench)
    };
    let mut words = t.split(' ');
    let pairs = field(words.next(), "pairs")?;
    let mempool_ns = field(words.next(), "mempool_ns")?;
    if words.next().is_some() {
        return Err(MalformedBench);
    }
    Ok(Some(MempoolBench { pairs, mempool_ns }))
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
    let bench_path = dir.join("bench_result");
    let bench_text = read(&bench_path)?;
    let bench = parse_bench(&bench_text).map_err(|MalformedBench| StatsError::Parse {
        path: bench_path,
        expected: "`none` or `pairs=N mempool_ns=N cache_ns=N kmalloc_ns=N`",
        found: bench_text,
    })?;
    let mempool_path = dir.join("bench_mempool_result");
    let bench_mempool = match fs::read_to_string(&mempool_path) {
        // A module from before bench_mempool: no figure, not an error.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(source) => {
            return Err(StatsError::Read {
                path: mempool_path,
                source,
            })
        }
        Ok(text) => parse_bench_mempool(&text).map_err(|MalformedBench| StatsError::Parse {
            path: mempool_path,
            expected: "`none` or `pairs=N mempool_ns=N`",
            found: text,
        })?,
    };
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
        bench,
        bench_mempool,
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
        rows.push((
            "bench (ns/pair)".into(),
            format!(
                "mempool {} | cache {} | kmalloc {} ({} pairs)",
                b.mempool_ns, b.cache_ns, b.kmalloc_ns, b.pairs
            ),
        ));
    }
    if let Some(b) = &m.bench_mempool {
        rows.push((
            "bench_mempool (ns/pair)".into(),
            format!("mempool {} ({} pairs)", b.mempool_ns, b.pairs),
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
        (
            "bench_result",
            "pairs=1000 mempool_ns=580 cache_ns=240 kmalloc_ns=1360\n",
        ),
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
        assert_eq!(s.module.bench.unwrap().kmalloc_ns, 1360);
        let sl = s.slab.clone().unwrap();
        assert_eq!(
            (sl.merged, sl.objects, sl.order, sl.slabs),
            (false, Some(9), Some(3), None)
        );
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["schema"], 1);
        assert_eq!(json["module"]["curr_nr"], 6);
        assert_eq!(json["slab"]["slabs"], serde_json::Value::Null);
        let table = render_table(&s);
        let row = table
            .lines()
            .find(|l| l.starts_with("curr_nr (reserve now) "))
            .unwrap();
        assert_eq!(row.split_whitespace().last(), Some("6"), "{table}");
        assert!(table.contains("9 active / - total"), "{table}");
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
        assert_eq!(parse_bench("none\n"), Ok(None));
        assert!(parse_bench("pairs=1 mempool_ns=2 cache_ns=3").is_err());
        assert!(parse_bench("pairs=1 pairs=1 cache_ns=3 kmalloc_ns=4").is_err());
        assert!(parse_bench("pairs=1 mempool_ns=2 cache_ns=3 kmalloc_ns=4 extra=5").is_err());
        assert_eq!(parse_bench_mempool("none\n"), Ok(None));
        assert_eq!(
            parse_bench_mempool("pairs=7 mempool_ns=300\n"),
            Ok(Some(MempoolBench {
                pairs: 7,
                mempool_ns: 300
            }))
        );
        for bad in [
            "pairs=7",
            "mempool_ns=3 pairs=7",
            "pairs=7 mempool_ns=3 x=1",
            "pairs=7\n mempool_ns=3",
            "pairs=7 mempool_ns=-3",
        ] {
            assert!(parse_bench_mempool(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn mempool_bench_is_read_when_the_module_has_it() {
        let t = tempfile::tempdir().unwrap();
        fake_tree(t.path(), LOADED);
        // A module without the file: null, not an error.
        let s = read_stats(t.path(), "rust_mempool").unwrap();
        assert_eq!(s.module.bench_mempool, None);
        let dir = t.path().join("sys/kernel/rust_mempool");
        fs::write(dir.join("bench_mempool_result"), "pairs=9 mempool_ns=410\n").unwrap();
        let s = read_stats(t.path(), "rust_mempool").unwrap();
        assert_eq!(s.module.bench_mempool.unwrap().mempool_ns, 410);
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["module"]["bench_mempool"]["pairs"], 9);
        assert!(render_table(&s).contains("mempool 410 (9 pairs)"));
        fs::write(dir.join("bench_mempool_result"), "pairs=9\n").unwrap();
        let err = read_stats(t.path(), "rust_mempool")
            .unwrap_err()
            .to_string();
        assert!(err.contains("bench_mempool_result: expected"), "{err}");
    }
}
