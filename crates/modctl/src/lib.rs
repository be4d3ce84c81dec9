//! The kernel interface of the module: parameters (validated against the
//! module's own limits), `finit_module`/`delete_module` behind [`KernelOps`],
//! the control files, and module state and load policy read from a root, so
//! tests run against fake trees. Errors are facts; `lifecycle` explains them.

pub mod control;
pub mod errors;
pub mod flavor;
pub mod ops;
pub mod params;
pub mod policy;
pub mod state;

pub use control::{Control, ControlError};
pub use errors::Error;
pub use flavor::Flavor;
pub use ops::{KernelOps, NixKernel};
pub use params::{ModuleParams, ParamError};
pub use state::{ModuleState, SysRoot};

use nix::errno::Errno;
use std::path::Path;
use std::time::{Duration, Instant};

/// Loads `ko` with `params` and waits until `/sys/module/<name>/initstate` is `live`.
pub fn load(
    ops: &dyn KernelOps,
    sys: &SysRoot,
    ko: &Path,
    name: &str,
    params: &ModuleParams,
) -> Result<(), Error> {
    params.validate()?;
    // Opened here, once, and handed to the kernel: a file-system error is
    // never read as the kernel's errno.
    let file = std::fs::File::open(ko).map_err(|e| {
        match Errno::from_raw(e.raw_os_error().unwrap_or(Errno::EIO as i32)) {
            Errno::ENOENT => Error::MissingKo {
                path: ko.to_owned(),
            },
            errno => Error::UnreadableKo {
                path: ko.to_owned(),
                errno,
            },
        }
    })?;
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        return Err(Error::UnreadableKo {
            path: ko.to_owned(),
            errno: Errno::EISDIR,
        });
    }
    if let Some(state) = sys.module(name) {
        return Err(Error::AlreadyLoaded {
            name: name.to_owned(),
            state,
        });
    }
    let args = params.to_kernel_args();
    ops.finit_module(ko, &file, &args).map_err(|errno| {
        let eperm = if errno == Errno::EPERM {
            policy::eperm_cause(&sys.root, nix::unistd::geteuid().as_raw())
        } else {
            policy::EpermCause::Unknown
        };
        Error::Load { errno, eperm }
    })?;
    wait_live(sys, name, Duration::from_secs(5))
}

fn wait_live(sys: &SysRoot, name: &str, limit: Duration) -> Result<(), Error> {
    let start = Instant::now();
    loop {
        match sys.module(name).and_then(|s| s.initstate) {
            Some(s) if s == "live" => return Ok(()),
            _ if start.elapsed() > limit => {
                return Err(Error::NotLive {
                    name: name.to_owned(),
                })
            }
            _ => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

/// Unloads `name`; with `wait`, blocks until its references are gone.
pub fn unload(ops: &dyn KernelOps, sys: &SysRoot, name: &str, wait: bool) -> Result<(), Error> {
    let Some(state) = sys.module(name) else {
        return Err(Error::NotLoaded {
            name: name.to_owned(),
        });
    };
    ops.delete_module(name, wait)
        .map_err(|errno| Error::Unload { errno, state })?;
    if sys.module(name).is_some() {
        return Err(Error::StillPresent {
            name: name.to_owned(),
        });
    }
    Ok(())
}
