//! The module's write-only control files in `/sys/kernel/<module>/`.

use crate::state::SysRoot;
use nix::errno::Errno;
use std::fmt;
use std::path::PathBuf;

/// One control file; what a write to it does is in the ABI document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    Hold,
    Release,
    Resize,
    Bench,
    /// The mempool path alone (the reserve path under failslab).
    BenchMempool,
}

impl Control {
    pub fn file_name(self) -> &'static str {
        match self {
            Self::Hold => "hold",
            Self::Release => "release",
            Self::Resize => "resize",
            Self::Bench => "bench",
            Self::BenchMempool => "bench_mempool",
        }
    }
}

impl fmt::Display for Control {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.file_name())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("{} does not exist: {module} is not loaded; load it with `mempoolctl load`", path.display())]
    NotLoaded { module: String, path: PathBuf },
    #[error("writing {value:?} to {}: {errno}: {cause}; fix: {fix}", path.display())]
    Refused {
        path: PathBuf,
        value: String,
        errno: Errno,
        cause: String,
        fix: String,
    },
}

impl ControlError {
    pub fn errno(&self) -> Option<Errno> {
        match self {
            Self::Refused { errno, .. } => Some(*errno),
            Self::NotLoaded { .. } => None,
        }
    }
}

/// Cause and fix for a refused write, by control and errno.
fn explain(control: Control, errno: Errno) -> (&'static str, &'static str) {
    match (control, errno) {
        (_, Errno::EACCES | Errno::EPERM) => (
            "control files are writable by root only (mode 0200)",
            "run as root",
        ),
        (Control::Hold, Errno::ENOMEM) => (
            "the slab allocator failed and the reserve is empty: the pool is exhausted",
            "release held elements (mempoolctl release all) or resize the reserve up",
        ),
        (Control::Hold, Errno::ENOSPC) => (
            "all held elements together would pin more than the module's 256 MiB cap (HELD_BYTES_MAX)",
            "release held elements first (mempoolctl release all)",
        ),
        (Control::Resize, Errno::ENOMEM) => (
            "the kernel could not allocate the larger reserve array",
            "try a smaller min_nr or free memory",
        ),
        (Control::Release, Errno::EINVAL) => (
            "the value is not a count or `all`, or it is more than the elements held",
            "check in_use with mempoolctl stats",
        ),
        (_, Errno::EINVAL) => (
            "the module refused the value (its reason is in the log lines above)",
            "pass a number in the range the module names",
        ),
        (_, Errno::ENODEV) => (
            "the module is being unloaded",
            "load it again with mempoolctl load",
        ),
        _ => (
            "the module returned an unexpected error",
            "see mempoolctl log",
        ),
    }
}

/// Writes `value` to `<root>/sys/kernel/<module>/<control>`.
pub fn write(
    sys: &SysRoot,
    module: &str,
    control: Control,
    value: &str,
) -> Result<(), ControlError> {
    let path = sys.path(&format!("sys/kernel/{module}/{}", control.file_name()));
    if !path.exists() {
        return Err(ControlError::NotLoaded {
            module: module.to_owned(),
            path,
        });
    }
    std::fs::write(&path, value).map_err(|e| {
        let errno = Errno::from_raw(e.raw_os_error().unwrap_or(0));
        let (cause, fix) = explain(control, errno);
        ControlError::Refused {
            path,
            value: value.to_owned(),
            errno,
            cause: cause.to_owned(),
            fix: fix.to_owned(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_explains() {
        let t = tempfile::tempdir().unwrap();
        let sys = SysRoot::new(t.path());
        let err = write(&sys, "rust_mempool", Control::Hold, "3").unwrap_err();
        assert!(
            err.to_string().ends_with(
                "sys/kernel/rust_mempool/hold does not exist: rust_mempool is not loaded; load it with `mempoolctl load`"
            ),
            "{err}"
        );
        let dir = t.path().join("sys/kernel/rust_mempool");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("hold"), "").unwrap();
        write(&sys, "rust_mempool", Control::Hold, "3").unwrap();
        assert_eq!(std::fs::read_to_string(dir.join("hold")).unwrap(), "3");
    }

    #[test]
    fn every_errno_has_a_cause_and_fix() {
        assert_eq!(
            explain(Control::Hold, Errno::ENOMEM).1,
            "release held elements (mempoolctl release all) or resize the reserve up"
        );
        assert!(explain(Control::Resize, Errno::EACCES)
            .0
            .contains("root only"));
        assert!(explain(Control::Release, Errno::EINVAL)
            .0
            .contains("more than the elements held"));
        assert!(explain(Control::Bench, Errno::EINVAL)
            .0
            .contains("refused the value"));
        assert_eq!(explain(Control::Bench, Errno::EIO).1, "see mempoolctl log");
    }
}
