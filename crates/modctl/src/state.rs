//! What sysfs/procfs say about a module, read under a root prefix ("/" for real).

use std::fs;
use std::path::{Path, PathBuf};

/// A filesystem root holding `sys/` and `proc/` (`/` on a real system).
#[derive(Debug, Clone)]
pub struct SysRoot {
    pub root: PathBuf,
}

impl Default for SysRoot {
    fn default() -> Self {
        Self {
            root: PathBuf::from("/"),
        }
    }
}

/// `/sys/module/<name>/` as far as it is readable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleState {
    pub initstate: Option<String>,
    pub refcnt: Option<u32>,
    pub holders: Vec<String>,
    pub taint: String,
}

fn read_trim(p: &Path) -> Option<String> {
    fs::read_to_string(p).ok().map(|s| s.trim().to_owned())
}

/// Kernel taint bits as `dmesg` letters, e.g. `OE` for out-of-tree unsigned.
pub fn taint_letters(mask: u64) -> String {
    const LETTERS: &[u8] = b"PFSRMBUDAWCIOELKXTN";
    LETTERS
        .iter()
        .enumerate()
        .filter(|(bit, _)| mask & (1 << bit) != 0)
        .map(|(_, c)| *c as char)
        .collect()
}

impl SysRoot {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel.trim_start_matches('/'))
    }

    /// `None` when the module is not loaded.
    pub fn module(&self, name: &str) -> Option<ModuleState> {
        let dir = self.path(&format!("sys/module/{name}"));
        if !dir.is_dir() {
            return None;
        }
        let mut holders: Vec<String> = fs::read_dir(dir.join("holders"))
            .map(|rd| {
                rd.filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        holders.sort();
        Some(ModuleState {
            initstate: read_trim(&dir.join("initstate")),
            refcnt: read_trim(&dir.join("refcnt")).and_then(|s| s.parse().ok()),
            holders,
            taint: read_trim(&dir.join("taint")).unwrap_or_default(),
        })
    }

    /// `/proc/sys/kernel/tainted` as a mask.
    pub fn kernel_taint(&self) -> Option<u64> {
        read_trim(&self.path("proc/sys/kernel/tainted")).and_then(|s| s.parse().ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_fake_module_dir() {
        let t = tempfile::tempdir().unwrap();
        let m = t.path().join("sys/module/rust_mempool");
        fs::create_dir_all(m.join("holders/other_mod")).unwrap();
        fs::write(m.join("initstate"), "live\n").unwrap();
        fs::write(m.join("refcnt"), "1\n").unwrap();
        fs::write(m.join("taint"), "OE\n").unwrap();
        fs::create_dir_all(t.path().join("proc/sys/kernel")).unwrap();
        fs::write(t.path().join("proc/sys/kernel/tainted"), "12288\n").unwrap();
        let root = SysRoot::new(t.path());
        let s = root.module("rust_mempool").unwrap();
        assert_eq!(s.initstate.as_deref(), Some("live"));
        assert_eq!(s.refcnt, Some(1));
        assert_eq!(s.holders, vec!["other_mod"]);
        assert_eq!(s.taint, "OE");
        assert!(root.module("absent").is_none());
        assert_eq!(taint_letters(root.kernel_taint().unwrap()), "OE");
        assert_eq!(taint_letters(0), "");
    }
}
