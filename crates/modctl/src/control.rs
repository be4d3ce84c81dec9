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
    /// The module refused the write with `errno`.
    #[error("writing {value:?} to {}: {errno}", path.display())]
    Refused {
        control: Control,
        path: PathBuf,
        value: String,
        errno: Errno,
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
    std::fs::write(&path, value).map_err(|e| ControlError::Refused {
        control,
        path,
        value: value.to_owned(),
        errno: Errno::from_raw(e.raw_os_error().unwrap_or(0)),
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
}
