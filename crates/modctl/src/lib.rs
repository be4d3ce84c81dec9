//! Module lifecycle: parameters (validated against the module's own limits),
//! `finit_module`/`delete_module` behind [`KernelOps`], and module state read
//! from a sysfs root so tests run against fake trees.

pub mod control;
pub mod errors;
pub mod flavor;
pub mod ops;
pub mod params;
pub mod policy;
pub mod state;

pub use control::{Control, ControlError};
pub use errors::{explain_load, explain_unload, LifecycleError};
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
) -> Result<(), LifecycleError> {
    params.validate()?;
    // Opened here, so a file-system error is never read as the kernel's errno.
    if let Err(e) = std::fs::File::open(ko) {
        let errno = Errno::from_raw(e.raw_os_error().unwrap_or(Errno::EIO as i32));
        return Err(match errno {
            Errno::ENOENT => LifecycleError::MissingKo {
                path: ko.to_owned(),
            },
            errno => LifecycleError::UnreadableKo {
                path: ko.to_owned(),
                errno,
            },
        });
    }
    if ko.is_dir() {
        return Err(LifecycleError::UnreadableKo {
            path: ko.to_owned(),
            errno: Errno::EISDIR,
        });
    }
    if let Some(state) = sys.module(name) {
        return Err(LifecycleError::AlreadyLoaded {
            name: name.to_owned(),
            state,
        });
    }
    let args = params.to_kernel_args();
    ops.finit_module(ko, &args).map_err(|errno| {
        let eperm = if errno == Errno::EPERM {
            policy::eperm_cause(&sys.root, nix::unistd::geteuid().as_raw())
        } else {
            policy::EpermCause::Unknown
        };
        explain_load(errno, name, ko, &ops.release(), &eperm)
    })?;
    wait_live(sys, name, Duration::from_secs(5))
}

fn wait_live(sys: &SysRoot, name: &str, limit: Duration) -> Result<(), LifecycleError> {
    let start = Instant::now();
    loop {
        match sys.module(name).and_then(|s| s.initstate) {
            Some(s) if s == "live" => return Ok(()),
            _ if start.elapsed() > limit => {
                return Err(LifecycleError::NotLive {
                    name: name.to_owned(),
                })
            }
            _ => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

/// Unloads `name`; with `wait`, blocks until its references are gone.
pub fn unload(
    ops: &dyn KernelOps,
    sys: &SysRoot,
    name: &str,
    wait: bool,
) -> Result<(), LifecycleError> {
    let Some(state) = sys.module(name) else {
        return Err(LifecycleError::NotLoaded {
            name: name.to_owned(),
        });
    };
    ops.delete_module(name, wait)
        .map_err(|errno| explain_unload(errno, name, &state))?;
    if sys.module(name).is_some() {
        return Err(LifecycleError::StillPresent {
            name: name.to_owned(),
        });
    }
    Ok(())
}
