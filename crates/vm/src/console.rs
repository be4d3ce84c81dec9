//! Kernel splats in a console log: the reports that mean a module bug.

/// One kernel report found in the console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Splat {
    pub kind: &'static str,
    /// Where it was seen: `console` or `kernel log` (the guest's final dmesg).
    pub source: &'static str,
    /// 1-based line number in that source.
    pub line: usize,
    pub text: String,
}

/// Every line of `console` that starts a kernel report, once: a line echoed
/// again (mempoolctl prints the kernel lines it finds) is not a second report.
/// What counts as a report, and its kind, is [`kmsg::report_kind`]'s.
pub fn find_splats(console: &str) -> Vec<Splat> {
    let mut out = Vec::new();
    add_splats(&mut out, "console", console);
    out
}

/// Adds the reports in `text` to `out`, skipping any already there.
pub fn add_splats(out: &mut Vec<Splat>, source: &'static str, text: &str) {
    for (i, line) in text.lines().enumerate() {
        let Some(kind) = kmsg::report_kind(line) else {
            continue;
        };
        if out.iter().any(|s: &Splat| s.text == line.trim()) {
            continue;
        }
        out.push(Splat {
            kind,
            source,
            line: i + 1,
            text: line.trim().to_owned(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_each_kind_once_per_line() {
        let log = "\
[    0.1] kmemleak: Kernel memory leak detector initialized (mem pool available: 15000)
[    1.0] rust_mempool: loaded
[    2.0] BUG: KASAN: slab-use-after-free in foo+0x10
[    3.0] kmemleak: 1 new suspected memory leaks (see /sys/kernel/debug/kmemleak)
[    4.0] WARNING: CPU: 0 PID: 1 at mm/slab_common.c:500 kmem_cache_destroy+0x1
[    5.0] BUG rust_mempool (Not tainted): Objects remaining on __kmem_cache_shutdown()
[    6.0] WARNING: possible circular locking dependency detected
[    5.0] BUG rust_mempool (Not tainted): Objects remaining on __kmem_cache_shutdown()
";
        let kinds: Vec<_> = find_splats(log).iter().map(|s| (s.kind, s.line)).collect();
        assert_eq!(
            kinds,
            vec![
                ("kasan", 3),
                ("kmemleak", 4),
                ("warning", 5),
                ("slab-leak", 6),
                ("lockdep", 7)
            ]
        );
        // kmemleak chatter interleaved with another report still counts as that report.
        let mixed = find_splats("kmemleak: scan thread BUG: unable to handle page fault\n");
        assert_eq!(mixed.len(), 1);
        assert_eq!(mixed[0].kind, "bug");
    }

    #[test]
    fn clean_boot_has_no_splats() {
        let log = "[0.0] Linux version 7.3.4\n[0.2] kmemleak: Kernel memory leak detector initialized\nok 1 - load\n";
        assert!(find_splats(log).is_empty());
    }
}
