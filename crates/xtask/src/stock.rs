//! The stock-distribution path: Debian's own 7.3 kernel and headers, in a
//! debootstrapped trixie chroot (its headers need trixie's libc and gcc-14;
//! the bookworm host is left alone). The C twin is built there with the
//! static `mempoolctl build`, then Debian's kernel boots it in the VM.

use anyhow::{bail, Result};
use std::path::{Path, PathBuf};

/// What the stock-kernel VM run needs.
pub struct StockParts {
    /// Debian's `/boot/vmlinuz-<release>` from the chroot.
    pub vmlinuz: PathBuf,
    /// `c_mempool.ko` built against Debian's headers.
    pub c_ko: PathBuf,
    /// Debian's `uname -r`, e.g. `7.3.4+deb13-amd64`.
    pub release: String,
}

/// Creates (or reuses) the chroot and builds the C twin in it with `ctl`.
pub fn prepare(ctl: &Path, repo: &Path) -> Result<StockParts> {
    let _ = (ctl, repo);
    bail!("the stock Debian kernel path is not implemented yet")
}
