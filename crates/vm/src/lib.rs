//! The VM path: an initramfs written in Rust, QEMU with an honest accelerator
//! choice, and a verdict built from the guest's TAP results and the kernel console.

pub mod accel;
pub mod console;
pub mod initramfs;
pub mod profile;
pub mod pvh;
pub mod qemu;
pub mod report;
pub mod scenario;

pub use accel::{Accel, AccelChoice};
pub use console::{find_splats, Splat};
pub use initramfs::{GuestImage, Initramfs};
pub use qemu::{run, RunOutcome, VmConfig, VmError};
pub use scenario::{parse_results, Scenario, TestResult};

/// How the private temporary directory of a `mempoolctl vm` run without
/// `--work-dir` starts (`$TMPDIR/mempoolctl-vm-XXXXXX`).
pub const WORK_DIR_PREFIX: &str = "mempoolctl-vm-";

/// `uname -r` of an x86 bzImage, from its setup header's `kernel_version`
/// pointer; `None` when `data` is no bzImage.
pub fn bzimage_release(data: &[u8]) -> Option<String> {
    let s = kernel_version_field(data)?;
    let end = s.iter().position(|&b| b == b' ' || b == 0)?;
    String::from_utf8(s[..end].to_vec()).ok()
}

/// The whole `kernel_version` string of an x86 bzImage's setup header:
/// `<release> (<user>@<host>) <UTS_VERSION>`, e.g. `7.3.4 (root@vm) #1 SMP
/// PREEMPT Sun Nov 29 19:17:38 UTC 2026`; `None` when `data` is no bzImage
/// or the string is not text ended within the field.
pub fn bzimage_version(data: &[u8]) -> Option<String> {
    let s = kernel_version_field(data)?;
    let end = s.iter().position(|&b| b == 0)?;
    String::from_utf8(s[..end].to_vec()).ok()
}

/// The 256 bytes the setup header's `kernel_version` pointer points at.
fn kernel_version_field(data: &[u8]) -> Option<&[u8]> {
    if data.get(0x202..0x206) != Some(b"HdrS") {
        return None;
    }
    let ptr = u16::from_le_bytes([*data.get(0x20e)?, *data.get(0x20f)?]) as usize + 0x200;
    data.get(ptr..ptr.checked_add(256)?)
}

#[cfg(test)]
mod tests {
    #[test]
    fn bzimage_release_from_a_hand_made_setup_header() {
        let mut img = vec![0u8; 0x1000];
        img[0x202..0x206].copy_from_slice(b"HdrS");
        // kernel_version points 0x200 before the string (boot protocol).
        img[0x20e..0x210].copy_from_slice(&0x0600u16.to_le_bytes());
        let text = b"7.3.4+deb13-amd64 (debian-kernel@lists.debian.org) #1 SMP\0";
        img[0x800..0x800 + text.len()].copy_from_slice(text);
        assert_eq!(
            super::bzimage_release(&img).as_deref(),
            Some("7.3.4+deb13-amd64")
        );
        assert_eq!(
            super::bzimage_version(&img).as_deref(),
            Some("7.3.4+deb13-amd64 (debian-kernel@lists.debian.org) #1 SMP")
        );
        // A user name that is no UTF-8: the release stands, the version does not.
        img[0x800 + 19] = 0xff;
        assert_eq!(
            super::bzimage_release(&img).as_deref(),
            Some("7.3.4+deb13-amd64")
        );
        assert_eq!(super::bzimage_version(&img), None);
        img[0x202] = b'X';
        assert_eq!(super::bzimage_release(&img), None);
        assert_eq!(super::bzimage_release(&[0u8; 16]), None);
    }
}
