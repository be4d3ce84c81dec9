//! Module lifecycle: parameters (validated against the module's own limits),
//! `finit_module`/`delete_module` behind [`KernelOps`], and module state read
//! from a sysfs root so tests run against fake trees.

pub mod control;
pub mod errors;
pub mod flavor;
pub mod ops;
pub mod params;
pub mod state;

pub use control::{Control, ControlError};
pub use errors::{explain_load, explain_unload, LifecycleError};
pub use flavor::Flavor;
pub use ops::{KernelOps, NixKernel};
pub use params::{ModuleParams, ParamError};
pub use state::{ModuleState, SysRoot};

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
    if !ko.exists() {
        return Err(LifecycleError::MissingKo {
            path: ko.to_owned(),
        });
    }
    if let Some(state) = sys.module(name) {
        return Err(LifecycleError::AlreadyLoaded {
            name: name.to_owned(),
            state,
        });
    }
    let args = params.to_kernel_args();
    ops.finit_module(ko, &args)
        .map_err(|errno| explain_load(errno, name, ko, &ops.release()))?;
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
