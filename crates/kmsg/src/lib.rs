//! The kernel log, read from `<root>/dev/kmsg` so tests can hand it a file
//! (`follow` through rmesg, with the default feature of that name), with
//! helpers to pick one module's lines and spot bad news.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum KmsgError {
    #[error("reading the kernel log is not permitted ({path}): kernel.dmesg_restrict=1 limits it to root/CAP_SYSLOG; run as root or `sysctl kernel.dmesg_restrict=0`")]
    Restricted { path: PathBuf },
    #[error("cannot read the kernel log at {path}: {detail}")]
    Read { path: PathBuf, detail: String },
}

/// One kernel log record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub seq: Option<u64>,
    /// Microseconds since boot.
    pub usec: Option<u64>,
    pub level: Option<u8>,
    pub message: String,
}

impl LogLine {
    /// `[   12.345678] message`, as dmesg prints it.
    pub fn display(&self) -> String {
        match self.usec {
            Some(us) => format!(
                "[{:5}.{:06}] {}",
                us / 1_000_000,
                us % 1_000_000,
                self.message
            ),
            None => self.message.clone(),
        }
    }
}

#[cfg(feature = "follow")]
fn convert(e: rmesg::entry::Entry) -> LogLine {
    LogLine {
        seq: e.sequence_num.map(|s| s as u64),
        usec: e.timestamp_from_system_start.map(|d| d.as_micros() as u64),
        level: e.level.map(|l| l as u8),
        message: e.message,
    }
}

/// Parses one `/dev/kmsg` record line, `PRI,SEQ,USEC,FLAGS[,...];MESSAGE`
/// (Documentation/ABI/testing/dev-kmsg). Continuation lines (` KEY=value`)
/// and anything else malformed give `None`. The level is the low three bits
/// of PRI whatever the facility (userspace may log with any of them).
pub fn parse_record(line: &str) -> Option<LogLine> {
    let line = line.strip_suffix('\n').unwrap_or(line);
    if line.starts_with(' ') {
        return None;
    }
    let (prefix, message) = line.split_once(';')?;
    let mut fields = prefix.split(',');
    let pri: u32 = fields.next()?.parse().ok()?;
    let seq: u64 = fields.next()?.parse().ok()?;
    let usec: u64 = fields.next()?.parse().ok()?;
    fields.next()?; // flags: `-` or `c`
    Some(LogLine {
        seq: Some(seq),
        usec: Some(usec),
        level: Some((pri & 7) as u8),
        message: message.to_owned(),
    })
}

/// The kernel log device under `root`.
pub fn kmsg_path(root: &Path) -> PathBuf {
    root.join("dev/kmsg")
}

/// All records currently in the log.
pub fn read_all(root: &Path) -> Result<Vec<LogLine>, KmsgError> {
    Cursor::at_start(root)?.read_new()
}

/// Follows the log, calling `f` for each new record until it returns false.
#[cfg(feature = "follow")]
pub fn follow(root: &Path, mut f: impl FnMut(LogLine) -> bool) -> Result<(), KmsgError> {
    let path = kmsg_path(root);
    // The same explanation as a one-shot read: rmesg names only EPERM as
    // "not permitted", not EACCES.
    std::fs::File::open(&path).map_err(|e| open_error(&path, e))?;
    let iter = rmesg::kmsgfile::KMsgEntriesIter::with_options(
        Some(path.to_string_lossy().into_owned()),
        false,
    )
    .map_err(|e| match e {
        rmesg::error::RMesgError::OperationNotPermitted(_) => {
            KmsgError::Restricted { path: path.clone() }
        }
        e => KmsgError::Read {
            path: path.clone(),
            detail: e.to_string(),
        },
    })?;
    for entry in iter {
        let Ok(entry) = entry else { continue };
        if !f(convert(entry)) {
            break;
        }
    }
    Ok(())
}

/// A non-blocking reader of the log. From [`Cursor::at_end`], [`Cursor::read_new`]
/// returns only what was logged since, without rereading the whole ring (the
/// kernel supports `SEEK_END` on `/dev/kmsg` for exactly this). The records are
/// parsed here: rmesg's parser compiles a regex per process and refuses
/// facilities above 11, which userspace may write.
pub struct Cursor {
    file: std::fs::File,
    path: PathBuf,
}

impl Cursor {
    /// Positioned before the oldest record still in the ring.
    pub fn at_start(root: &Path) -> Result<Self, KmsgError> {
        use std::os::unix::fs::OpenOptionsExt;
        let path = kmsg_path(root);
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
            .open(&path)
            .map_err(|e| open_error(&path, e))?;
        Ok(Self { file, path })
    }

    /// Positioned after the newest record.
    pub fn at_end(root: &Path) -> Result<Self, KmsgError> {
        use std::io::{Seek, SeekFrom};
        let mut cursor = Self::at_start(root)?;
        cursor
            .file
            .seek(SeekFrom::End(0))
            .map_err(|e| open_error(&cursor.path, e))?;
        Ok(cursor)
    }

    /// Records from the cursor's position on; it then stands after them.
    pub fn read_new(&mut self) -> Result<Vec<LogLine>, KmsgError> {
        use std::io::{ErrorKind, Read};
        let mut text = Vec::new();
        // One record per read() on the device; a regular file (tests) gives chunks.
        let mut buf = vec![0u8; 8192];
        loop {
            match self.file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => text.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                // EPIPE: records were overwritten under us; the next read goes on.
                Err(e) if e.raw_os_error() == Some(nix::libc::EPIPE) => continue,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(open_error(&self.path, e)),
            }
        }
        Ok(String::from_utf8_lossy(&text)
            .lines()
            .filter_map(parse_record)
            .collect())
    }
}

fn open_error(path: &Path, e: std::io::Error) -> KmsgError {
    match e.kind() {
        std::io::ErrorKind::PermissionDenied => KmsgError::Restricted {
            path: path.to_owned(),
        },
        _ => KmsgError::Read {
            path: path.to_owned(),
            detail: e.to_string(),
        },
    }
}

/// Lines printed by `module` or about it: its `pr_*` prefix and the kernel's
/// parameter errors both start with `<module>: `.
pub fn module_lines<'a>(lines: &'a [LogLine], module: &str) -> Vec<&'a LogLine> {
    let prefix = format!("{module}: ");
    lines
        .iter()
        .filter(|l| l.message.starts_with(&prefix))
        .collect()
}

/// What marks a kernel log line as a kernel bug report, with the kind of
/// report, from the kernel's own formats: KASAN's `BUG: KASAN: ...`,
/// kmemleak's `N new suspected memory leaks` (not its routine lines),
/// allocation profiling's `<site> module <m> func:<f> has N allocated at
/// module unload` (mm/alloc_tag.c), lockdep's `WARNING: possible ...`, slub's
/// `BUG <cache> (...): Objects remaining`, slab_common's `Slab cache still has
/// objects`, `kernel BUG at`, `WARNING: ...`, oopses, panics, UBSAN, hung tasks
/// and RCU stalls. The first entry a line contains wins, so the specific kinds
/// come before `BUG` and `WARNING:`. Each is matched as a word: not inside
/// another (`BUG` is not found in `DEBUG` or `BUG_ON`). The one home of this
/// knowledge: `unload`'s check and the VM runner's console judge both use it.
pub const REPORTS: &[(&str, &str)] = &[
    ("KASAN:", "kasan"),
    ("suspected memory leak", "kmemleak"),
    ("allocated at module unload", "alloc-leak"),
    ("WARNING: possible circular locking", "lockdep"),
    ("WARNING: possible recursive locking", "lockdep"),
    ("WARNING: inconsistent lock state", "lockdep"),
    (
        "BUG: sleeping function called from invalid context",
        "atomic-sleep",
    ),
    ("Objects remaining", "slab-leak"),
    ("still has objects", "slab-leak"),
    ("BUG", "bug"),
    ("WARNING:", "warning"),
    ("Oops:", "oops"),
    ("general protection fault", "oops"),
    ("Kernel panic", "panic"),
    ("UBSAN:", "ubsan"),
    ("INFO: task", "hung-task"),
    ("rcu: INFO:", "rcu-stall"),
];

/// The kind of kernel bug report `message` is (see [`REPORTS`]), if any.
pub fn report_kind(message: &str) -> Option<&'static str> {
    REPORTS
        .iter()
        .find(|(pattern, _)| contains_word(message, pattern))
        .map(|(_, kind)| *kind)
}

/// Lines that mean a kernel bug around an unload: leaked objects, BUG, WARNING,
/// KASAN, kmemleak and allocation-profiling reports ([`REPORTS`]).
pub fn bad_news(lines: &[LogLine]) -> Vec<&LogLine> {
    lines
        .iter()
        .filter(|l| report_kind(&l.message).is_some())
        .collect()
}

/// Whether `needle` occurs in `text` not preceded by a letter; a bare keyword
/// (capitals only: `BUG`) not followed by a letter, digit or underscore either
/// (`BUG` in `kernel BUG at`, not in `DEBUG_PAGEALLOC` or `BUG_ON`).
fn contains_word(text: &str, needle: &str) -> bool {
    let keyword = needle.bytes().all(|b| b.is_ascii_uppercase());
    text.match_indices(needle).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + needle.len()..].chars().next();
        let glued_before = before.is_some_and(|c| c.is_ascii_alphabetic());
        let glued_after = after.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        !(glued_before || (keyword && glued_after))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_root(text: &str) -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(t.path().join("dev")).unwrap();
        std::fs::write(t.path().join("dev/kmsg"), text).unwrap();
        t
    }

    const LOG: &str = "6,100,1000000,-;Linux version 7.3.4\n\
6,101,2500000,-;rust_mempool: kmem_cache \"rust_mempool\" created: kmem_cache_size = 10240\n\
6,102,2500100,-;rust_mempool: mempool created: min_nr = 6, curr_nr = 6\n\
3,103,3000000,-;rust_mempool: invalid min_nr=0: allowed range is 1..=4096\n\
3,104,4000000,-;BUG rust_mempool (Tainted: G  OE): Objects remaining on __kmem_cache_shutdown()\n";

    #[test]
    fn reads_filters_and_formats() {
        let t = fake_root(LOG);
        let all = read_all(t.path()).unwrap();
        assert_eq!(all.len(), 5);
        let ours = module_lines(&all, "rust_mempool");
        assert_eq!(ours.len(), 3);
        assert_eq!(
            ours[1].display(),
            "[    2.500100] rust_mempool: mempool created: min_nr = 6, curr_nr = 6"
        );
        assert_eq!(ours[2].level, Some(3));
        assert_eq!(all.iter().filter_map(|l| l.seq).max(), Some(104));
        let bad = bad_news(&all);
        assert_eq!(bad.len(), 1);
        assert!(bad[0].message.contains("Objects remaining"));
    }

    /// The oracle: real kernel lines, classified by hand (formats from
    /// mm/slub.c, mm/slab_common.c, kernel/locking/lockdep.c,
    /// mm/kasan/report.c, mm/kmemleak.c, and this module's own lines).
    #[test]
    fn bad_news_flags_real_reports_and_not_routine_lines() {
        let bad = [
            "BUG rust_mempool (Tainted: G           O      ): Objects remaining on __kmem_cache_shutdown()",
            "kmem_cache_destroy rust_mempool: Slab cache still has objects when called from rust_mempool_exit+0x40/0x80 [rust_mempool]",
            "WARNING: CPU: 1 PID: 187 at mm/slab_common.c:579 kmem_cache_destroy+0x1a2/0x1c0",
            "WARNING: possible circular locking dependency detected",
            "BUG: KASAN: slab-use-after-free in rust_mempool_show+0x5c/0x1b0 [rust_mempool]",
            "kernel BUG at mm/slub.c:1169!",
            "kmemleak: 2 new suspected memory leaks (see /sys/kernel/debug/kmemleak)",
            // As the test kernel (7.3) printed them for the suite's leaking C build.
            "BUG c_mempool (Tainted: G           O       ): Objects remaining on __kmem_cache_shutdown()",
            "WARNING: mm/slub.c:1268 at __slab_err+0x34/0x40, CPU#0: mempoolctl/53",
            "kmem_cache_destroy c_mempool: Slab cache still has objects when called from cleanup_module+0xda/0xaf0 [c_mempool]",
            "WARNING: mm/slab_common.c:580 at kmem_cache_destroy+0x111/0x130, CPU#0: mempoolctl/53",
            // mm/alloc_tag.c's format, for a held array the module never freed.
            "module/c/c_mempool.c:201 module c_mempool func:c_mempool_held_reserve has 64 allocated at module unload",
        ];
        let routine = [
            "rust_mempool: kmem_cache_destroy done",
            "rust_mempool: unload: released 0 held, alloc_total = 3, free_total = 3, alloc_failed = 0, reserve_served = 0",
            "rust_mempool: hold: invalid input (5 bytes): expected a count 1..=65536",
            "kmemleak: Automatic memory scanning thread started",
            "kmemleak: Kernel memory leak detector disabled",
            "page_owner is disabled; DEBUG_PAGEALLOC is off",
            "[Firmware Bug]: TSC doesn't count with P0 frequency!",
            "Kernel command line: console=ttyS0 slub_debug=- page_owner=off DEBUG_BUGVERBOSE",
            "rust_mempool: resize 0 refused: mempool_resize would hit its BUG_ON",
        ];
        let lines: Vec<LogLine> = bad
            .iter()
            .chain(&routine)
            .map(|m| LogLine {
                seq: None,
                usec: None,
                level: None,
                message: (*m).to_owned(),
            })
            .collect();
        let flagged: Vec<&str> = bad_news(&lines)
            .iter()
            .map(|l| l.message.as_str())
            .collect();
        assert_eq!(flagged, bad);
    }

    /// Each kind from a line the kernel prints (formats as in the test above).
    #[test]
    fn report_kinds_of_real_lines() {
        let cases = [
            ("BUG: KASAN: slab-use-after-free in rust_mempool_show+0x5c/0x1b0 [rust_mempool]", "kasan"),
            ("kmemleak: 2 new suspected memory leaks (see /sys/kernel/debug/kmemleak)", "kmemleak"),
            ("rust_mempool_shim.c:144 module rust_mempool func:rmp_sysfs_create has 224 allocated at module unload", "alloc-leak"),
            ("WARNING: possible recursive locking detected", "lockdep"),
            ("BUG: sleeping function called from invalid context at mm/slub.c:4123", "atomic-sleep"),
            ("BUG rust_mempool (Not tainted): Objects remaining on __kmem_cache_shutdown()", "slab-leak"),
            ("kernel BUG at mm/mempool.c:123!", "bug"),
            ("BUG: unable to handle page fault for address: ffffffffc0201000", "bug"),
            ("WARNING: CPU: 0 PID: 1 at mm/slab_common.c:500 kmem_cache_destroy+0x1", "warning"),
            ("Oops: general protection fault, probably for non-canonical address 0xdead000000000100: 0000 [#1] SMP KASAN", "oops"),
            ("Kernel panic - not syncing: Fatal exception", "panic"),
            ("UBSAN: shift-out-of-bounds in lib/foo.c:10:5", "ubsan"),
            ("INFO: task insmod:123 blocked for more than 120 seconds.", "hung-task"),
            ("rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:", "rcu-stall"),
        ];
        for (line, kind) in cases {
            assert_eq!(report_kind(line), Some(kind), "{line}");
        }
        assert_eq!(
            report_kind("kmemleak: Kernel memory leak detector initialized"),
            None
        );
    }

    #[test]
    fn record_parser() {
        let l = parse_record("134,7,1500,-,caller=T1;local0 says hi\n").unwrap();
        assert_eq!((l.level, l.seq, l.usec), (Some(6), Some(7), Some(1500)));
        assert_eq!(l.message, "local0 says hi");
        assert_eq!(parse_record("6,1,2,c;a;b").unwrap().message, "a;b");
        for bad in [" SUBSYSTEM=pci", "6,1,2;x", "x,1,2,-;m", "", "6,1,2,-"] {
            assert_eq!(parse_record(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn cursor_sees_only_new_records() {
        use std::io::Write;
        let t = fake_root(LOG);
        let mut c = Cursor::at_end(t.path()).unwrap();
        assert!(c.read_new().unwrap().is_empty());
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(t.path().join("dev/kmsg"))
            .unwrap();
        writeln!(f, "6,105,5000000,-;rust_mempool: mempool_destroy done").unwrap();
        let new = c.read_new().unwrap();
        assert_eq!(new.len(), 1);
        assert_eq!(new[0].seq, Some(105));
        assert!(c.read_new().unwrap().is_empty());
    }

    #[test]
    fn missing_log_is_a_clear_error() {
        let t = tempfile::tempdir().unwrap();
        let err = read_all(t.path()).unwrap_err().to_string();
        assert!(err.starts_with("cannot read the kernel log at"), "{err}");
        let err = Cursor::at_end(t.path()).err().unwrap().to_string();
        assert!(err.starts_with("cannot read the kernel log at"), "{err}");
    }
}
