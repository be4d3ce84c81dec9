//! One module lifecycle step at a time, as a user sees it: the step itself
//! (from `modctl`), the module's kernel log lines it caused (from `kmsg`), and
//! on failure the facts that explain it — the loaded module's parameters for
//! `EEXIST`, both vermagics for `ENOEXEC`, the module's own error line for
//! `EINVAL`. After an unload, proof that nothing was left behind.

use kmsg::LogLine;
use modctl::{Control, ControlError, KernelOps, ModuleParams, SysRoot};
use nix::errno::Errno;
use std::fmt;
use std::path::Path;

pub mod explain;
#[cfg(test)]
mod tests;

/// The module being driven and where its kernel is.
pub struct Target<'a> {
    /// Filesystem root holding `sys/`, `proc/` and `dev/kmsg`.
    pub root: &'a Path,
    pub kernel: &'a dyn KernelOps,
    pub module: &'a str,
}

/// Why a step failed: the one error type the CLI shows, every kernel errno
/// with its cause and fix (from [`explain`]).
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// Refused before the kernel was asked (parameters, the `.ko`, state).
    #[error(transparent)]
    Precondition(modctl::Error),
    /// The kernel refused `op` (load or unload).
    #[error("{op} failed: {errno}: {cause}; fix: {fix}")]
    Kernel {
        op: &'static str,
        errno: Errno,
        cause: String,
        fix: String,
    },
    #[error(transparent)]
    ControlMissing(ControlError),
    /// The module refused a control-file write.
    #[error("writing {value:?} to {}: {errno}: {cause}; fix: {fix}", path.display())]
    ControlRefused {
        path: std::path::PathBuf,
        value: String,
        errno: Errno,
        cause: &'static str,
        fix: &'static str,
    },
    #[error("unloaded, but slab cache {cache} still exists: the module leaked it (destroyed the cache with objects in it, or not at all)")]
    CacheLeft { cache: String },
    #[error("unloaded, but the kernel reported {} problem line(s): {}", lines.len(), lines.join(" | "))]
    KernelReports { lines: Vec<String> },
}

/// A failed step: the error, facts that explain it, and the module's log lines.
#[derive(Debug)]
pub struct Failure {
    /// Boxed: errors carry paths and strings, the Ok path should stay small.
    pub error: Box<StepError>,
    pub details: Vec<String>,
    pub log: Vec<LogLine>,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.error)?;
        for d in &self.details {
            write!(f, "\n  {d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Failure {}

impl Failure {
    /// The errno the kernel returned, if the step got that far.
    pub fn errno(&self) -> Option<Errno> {
        match &*self.error {
            StepError::Kernel { errno, .. } | StepError::ControlRefused { errno, .. } => {
                Some(*errno)
            }
            _ => None,
        }
    }
}

/// The log from before a step, so its lines can be told apart afterwards.
/// An unreadable log (dmesg_restrict) costs the lines, not the step.
fn log_mark(root: &Path) -> Option<kmsg::Cursor> {
    kmsg::Cursor::at_end(root).ok()
}

fn log_since(mark: Option<kmsg::Cursor>) -> Vec<LogLine> {
    mark.and_then(|mut c| c.read_new().ok()).unwrap_or_default()
}

fn module_log(all: &[LogLine], module: &str) -> Vec<LogLine> {
    kmsg::module_lines(all, module)
        .into_iter()
        .cloned()
        .collect()
}

/// Loads `ko` with `params`; returns the module's log lines from this load.
pub fn load(t: &Target, ko: &Path, params: &ModuleParams) -> Result<Vec<LogLine>, Failure> {
    let sys = SysRoot::new(t.root);
    let mark = log_mark(t.root);
    let result = modctl::load(t.kernel, &sys, ko, t.module, params);
    let all = log_since(mark);
    let log = module_log(&all, t.module);
    match result {
        Ok(()) => Ok(log),
        Err(error) => {
            let details = explain_load_failure(t, &error, ko, &log);
            let error = match error {
                modctl::Error::Load { errno, eperm } => {
                    let release = t.kernel.release();
                    let (cause, fix) =
                        explain::load(errno, t.module, ko, &release, &eperm, !log.is_empty());
                    StepError::Kernel {
                        op: "load",
                        errno,
                        cause,
                        fix,
                    }
                }
                e => StepError::Precondition(e),
            };
            Err(Failure {
                error: Box::new(error),
                details,
                log,
            })
        }
    }
}

/// The facts behind a failed load.
fn explain_load_failure(
    t: &Target,
    error: &modctl::Error,
    ko: &Path,
    log: &[LogLine],
) -> Vec<String> {
    let mut details = Vec::new();
    let already = matches!(error, modctl::Error::AlreadyLoaded { .. })
        || error.errno() == Some(Errno::EEXIST);
    if already {
        match stats::read_stats(t.root, t.module) {
            Ok(s) => details.push(format!(
                "loaded now with min_nr={} object_size={} (curr_nr {}, in_use {})",
                s.module.min_nr, s.module.object_size, s.module.curr_nr, s.module.in_use
            )),
            Err(e) => details.push(format!("its parameters are unreadable: {e}")),
        }
    }
    if error.errno() == Some(Errno::ENOEXEC) {
        match modinfo::read(ko) {
            Ok(info) => details.push(format!(
                "the .ko's vermagic:      {:?}",
                info.get("vermagic").unwrap_or("(none)")
            )),
            Err(e) => details.push(format!("the .ko's vermagic is unreadable: {e}")),
        }
        let expected = log.iter().find_map(|l| expected_vermagic(&l.message));
        details.push(match expected {
            Some(v) => format!("the kernel's vermagic:   {v:?}"),
            None => format!("the running kernel:      {}", t.kernel.release()),
        });
    }
    if matches!(
        error.errno(),
        Some(Errno::EINVAL | Errno::ENOENT | Errno::ENOMEM)
    ) {
        // The module's (or the parameter parser's) own reason.
        details.extend(
            log.iter()
                .filter(|l| l.level.is_some_and(|lv| lv <= 4))
                .map(|l| format!("the kernel said: {}", l.message)),
        );
    }
    details
}

/// `should be` part of the kernel's `version magic 'X' should be 'Y'`.
pub fn expected_vermagic(message: &str) -> Option<&str> {
    let rest = message.split_once("version magic '")?.1;
    let should = rest.split_once("' should be '")?.1;
    should.strip_suffix('\'')
}

/// Unloads the module and verifies it left nothing behind; returns its exit
/// log lines.
pub fn unload(t: &Target, wait: bool) -> Result<Unloaded, Failure> {
    let sys = SysRoot::new(t.root);
    let mark = log_mark(t.root);
    let kernel_log_read = mark.is_some();
    let result = modctl::unload(t.kernel, &sys, t.module, wait);
    let all = log_since(mark);
    let log = module_log(&all, t.module);
    let failure = |error: StepError, details: Vec<String>, log: Vec<LogLine>| Failure {
        error: Box::new(error),
        details,
        log,
    };
    if let Err(e) = result {
        let error = match e {
            modctl::Error::Unload { errno, state } => {
                let (cause, fix) = explain::unload(errno, t.module, &state);
                StepError::Kernel {
                    op: "unload",
                    errno,
                    cause,
                    fix,
                }
            }
            e => StepError::Precondition(e),
        };
        return Err(failure(error, Vec::new(), log));
    }
    if sys.path(&format!("sys/kernel/slab/{}", t.module)).exists() {
        return Err(failure(
            StepError::CacheLeft {
                cache: t.module.to_owned(),
            },
            Vec::new(),
            log,
        ));
    }
    let bad: Vec<String> = kmsg::bad_news(&all)
        .into_iter()
        .map(|l| l.message.clone())
        .collect();
    if !bad.is_empty() {
        return Err(failure(
            StepError::KernelReports { lines: bad },
            Vec::new(),
            log,
        ));
    }
    Ok(Unloaded {
        log,
        kernel_log_read,
    })
}

/// A verified unload.
#[derive(Debug)]
pub struct Unloaded {
    /// The module's own lines from the unload.
    pub log: Vec<LogLine>,
    /// Whether the kernel log could be read to look for reports (it cannot
    /// under `dmesg_restrict` without CAP_SYSLOG): only then "no kernel
    /// reports" is known.
    pub kernel_log_read: bool,
}

/// Writes one control file; returns the module's log lines it caused.
pub fn control(t: &Target, control: Control, value: &str) -> Result<Vec<LogLine>, Failure> {
    let sys = SysRoot::new(t.root);
    let mark = log_mark(t.root);
    let result = modctl::control::write(&sys, t.module, control, value);
    let log = module_log(&log_since(mark), t.module);
    match result {
        Ok(()) => Ok(log),
        Err(e) => {
            let details = log
                .iter()
                .filter(|l| l.level.is_some_and(|lv| lv <= 4))
                .map(|l| format!("the module said: {}", l.message))
                .collect();
            let error = match e {
                ControlError::Refused {
                    control,
                    path,
                    value,
                    errno,
                } => {
                    let (cause, fix) = explain::control(control, errno);
                    StepError::ControlRefused {
                        path,
                        value,
                        errno,
                        cause,
                        fix,
                    }
                }
                e => StepError::ControlMissing(e),
            };
            Err(Failure {
                error: Box::new(error),
                details,
                log,
            })
        }
    }
}
