//! The kernel calls mempoolctl makes, behind a trait so tests can fake them
//! (kmod's own test suite fakes init_module/delete_module/uname the same way).

use nix::errno::Errno;
use nix::kmod::{delete_module, finit_module, DeleteModuleFlags, ModuleInitFlags};
use std::ffi::CString;
use std::fs::File;
use std::path::Path;

pub trait KernelOps {
    /// `finit_module(file, params, 0)`: `file` is `ko`, opened once by the
    /// caller, so that no file-system error reaches the caller as the kernel's.
    fn finit_module(&self, ko: &Path, file: &File, params: &str) -> Result<(), Errno>;
    /// `delete_module(name, O_NONBLOCK unless wait)`.
    fn delete_module(&self, name: &str, wait: bool) -> Result<(), Errno>;
    /// `uname -r`.
    fn release(&self) -> String;
}

/// The real kernel, through nix.
pub struct NixKernel;

impl KernelOps for NixKernel {
    fn finit_module(&self, _ko: &Path, file: &File, params: &str) -> Result<(), Errno> {
        let params = CString::new(params).map_err(|_| Errno::EINVAL)?;
        finit_module(file, &params, ModuleInitFlags::empty())
    }

    fn delete_module(&self, name: &str, wait: bool) -> Result<(), Errno> {
        let name = CString::new(name).map_err(|_| Errno::EINVAL)?;
        let flags = if wait {
            DeleteModuleFlags::empty()
        } else {
            DeleteModuleFlags::O_NONBLOCK
        };
        delete_module(&name, flags)
    }

    fn release(&self) -> String {
        nix::sys::utsname::uname()
            .map(|u| u.release().to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}
