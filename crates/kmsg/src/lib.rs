//! The kernel log through `rmesg`, read from `<root>/dev/kmsg` so tests can
//! hand it a file, with helpers to pick one module's lines and spot bad news.

use serde::Serialize;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum KmsgError {
    #[error("reading the kernel log is not permitted ({path}): kernel.dmesg_restrict=1 limits it to root/CAP_SYSLOG; run as root or `sysctl kernel.dmesg_restrict=0`")]
    Restricted { path: PathBuf },
    #[error("cannot read the kernel log at {path}: {detail}")]
    Read { path: PathBuf, detail: String },
}

/// One kernel log record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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

fn convert(e: rmesg::entry::Entry) -> LogLine {
    LogLine {
        seq: e.sequence_num.map(|s| s as u64),
        usec: e.timestamp_from_system_start.map(|d| d.as_micros() as u64),
        level: e.level.map(|l| l as u8),
        message: e.message,
    }
}

/// The kernel log device under `root`.
pub fn kmsg_path(root: &Path) -> PathBuf {
    root.join("dev/kmsg")
}

/// All records currently in the log.
pub fn read_all(root: &Path) -> Result<Vec<LogLine>, KmsgError> {
    let path = kmsg_path(root);
    let restricted = || KmsgError::Restricted { path: path.clone() };
    match std::fs::File::open(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => return Err(restricted()),
        Err(e) => {
            return Err(KmsgError::Read {
                path,
                detail: e.to_string(),
            })
        }
        Ok(_) => {}
    }
    match rmesg::kmsgfile::kmsg(Some(path.to_string_lossy().into_owned())) {
        Ok(entries) => Ok(entries.into_iter().map(convert).collect()),
        Err(rmesg::error::RMesgError::OperationNotPermitted(_)) => Err(restricted()),
        Err(e) => Err(KmsgError::Read {
            path,
            detail: e.to_string(),
        }),
    }
}

/// Follows the log, calling `f` for each new record until it returns false.
pub fn follow(root: &Path, mut f: impl FnMut(LogLine) -> bool) -> Result<(), KmsgError> {
    let path = kmsg_path(root);
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

/// Lines printed by `module` or about it: its `pr_*` prefix and the kernel's
/// parameter errors both start with `<module>: `.
pub fn module_lines<'a>(lines: &'a [LogLine], module: &str) -> Vec<&'a LogLine> {
    let prefix = format!("{module}: ");
    lines
        .iter()
        .filter(|l| l.message.starts_with(&prefix))
        .collect()
}

/// Lines after sequence number `after` (all when `None`).
pub fn since(lines: &[LogLine], after: Option<u64>) -> Vec<LogLine> {
    lines
        .iter()
        .filter(|l| match (after, l.seq) {
            (Some(a), Some(s)) => s > a,
            _ => true,
        })
        .cloned()
        .collect()
}

/// Sequence number of the newest record.
pub fn last_seq(lines: &[LogLine]) -> Option<u64> {
    lines.iter().filter_map(|l| l.seq).max()
}

/// Lines that mean a kernel bug around an unload: leaked objects, BUG, WARNING, KASAN.
pub fn bad_news(lines: &[LogLine]) -> Vec<&LogLine> {
    const BAD: &[&str] = &[
        "Objects remaining",
        "still has objects",
        "BUG",
        "WARNING:",
        "KASAN",
        "kmemleak: ",
    ];
    lines
        .iter()
        .filter(|l| {
            BAD.iter().any(|b| l.message.contains(b))
                && !l.message.contains("Kernel memory leak detector")
        })
        .collect()
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
        assert_eq!(last_seq(&all), Some(104));
        assert_eq!(since(&all, Some(102)).len(), 2);
        let bad = bad_news(&all);
        assert_eq!(bad.len(), 1);
        assert!(bad[0].message.contains("Objects remaining"));
    }

    #[test]
    fn missing_log_is_a_clear_error() {
        let t = tempfile::tempdir().unwrap();
        let err = read_all(t.path()).unwrap_err().to_string();
        assert!(err.starts_with("cannot read the kernel log at"), "{err}");
    }
}
