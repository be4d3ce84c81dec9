//! The VM path: an initramfs written in Rust, QEMU with an honest accelerator
//! choice, and a verdict built from the guest's TAP results and the kernel console.

pub mod accel;
pub mod console;
pub mod initramfs;
pub mod qemu;
pub mod report;
pub mod scenario;

pub use accel::{Accel, AccelChoice};
pub use console::{find_splats, Splat};
pub use initramfs::{GuestImage, Initramfs};
pub use qemu::{run, RunOutcome, VmConfig, VmError};
pub use scenario::{parse_results, Scenario, TestResult};
