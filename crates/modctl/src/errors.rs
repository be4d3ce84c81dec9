//! What went wrong at the kernel interface, as facts: the errno and what
//! surrounds it. What it means and what to do is `lifecycle`'s (its explain
//! module), the one layer that explains.

use crate::params::ParamError;
use crate::policy::EpermCause;
use crate::state::ModuleState;
use nix::errno::Errno;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Param(#[from] ParamError),
    #[error("module file {} not found; build it with `mempoolctl build` or pass --ko PATH", path.display())]
    MissingKo { path: PathBuf },
    /// open(2) of the `.ko` failed: a file-system error, never the kernel's
    /// module errno table.
    #[error("cannot open the module file {}: {errno}: {}", path.display(), open_fix(*errno))]
    UnreadableKo { path: PathBuf, errno: Errno },
    #[error("{name} is already loaded (state {}, refcount {}); unload it first with `mempoolctl unload`", state.initstate.as_deref().unwrap_or("?"), state.refcnt.map_or("?".into(), |r| r.to_string()))]
    AlreadyLoaded { name: String, state: ModuleState },
    #[error("{name} is not loaded; nothing to unload")]
    NotLoaded { name: String },
    #[error("{name} did not become live within 5 s after loading; see `mempoolctl log`")]
    NotLive { name: String },
    #[error("{name} is still listed in /sys/module after unloading; see `mempoolctl log`")]
    StillPresent { name: String },
    /// `finit_module` refused; `eperm` is what the root shows of why, for EPERM.
    #[error("load failed: {errno}")]
    Load { errno: Errno, eperm: EpermCause },
    /// `delete_module` refused; `state` is the module as it was then.
    #[error("unload failed: {errno}")]
    Unload { errno: Errno, state: ModuleState },
}

impl Error {
    /// The errno the kernel returned, if any.
    pub fn errno(&self) -> Option<Errno> {
        match self {
            Self::Load { errno, .. } | Self::Unload { errno, .. } => Some(*errno),
            _ => None,
        }
    }
}

/// Cause and fix for a `.ko` that cannot be opened.
fn open_fix(errno: Errno) -> &'static str {
    match errno {
        Errno::EACCES => "this user may not read it; fix: check its permissions and those of its directories (`ls -l`), or run as its owner",
        Errno::EISDIR => "it is a directory; fix: pass the .ko file itself, not its directory",
        Errno::ELOOP => "too many symbolic links; fix: pass the real path",
        Errno::ENOTDIR => "a component of the path is not a directory; fix: check the path",
        _ => "fix: check the path and the file (`ls -l`)",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::KernelOps;
    use crate::{load, unload, ModuleParams, SysRoot};
    use std::cell::RefCell;
    use std::fs;
    use std::path::Path;

    /// A fake kernel: records calls, returns the configured errno, and
    /// creates/removes /sys/module/<name> the way the real one does.
    struct FakeKernel {
        root: PathBuf,
        load_result: Result<(), Errno>,
        unload_result: Result<(), Errno>,
        calls: RefCell<Vec<String>>,
    }

    impl KernelOps for FakeKernel {
        fn finit_module(&self, ko: &Path, _file: &fs::File, params: &str) -> Result<(), Errno> {
            self.calls
                .borrow_mut()
                .push(format!("finit_module {} {params}", ko.display()));
            self.load_result?;
            let m = self.root.join("sys/module/rust_mempool");
            fs::create_dir_all(&m).unwrap();
            fs::write(m.join("initstate"), "live\n").unwrap();
            fs::write(m.join("refcnt"), "0\n").unwrap();
            Ok(())
        }
        fn delete_module(&self, name: &str, wait: bool) -> Result<(), Errno> {
            self.calls
                .borrow_mut()
                .push(format!("delete_module {name} wait={wait}"));
            self.unload_result?;
            fs::remove_dir_all(self.root.join("sys/module").join(name)).unwrap();
            Ok(())
        }
        fn release(&self) -> String {
            "7.3.4-test".into()
        }
    }

    fn fake(load_result: Result<(), Errno>) -> (tempfile::TempDir, FakeKernel, PathBuf) {
        let t = tempfile::tempdir().unwrap();
        let ko = t.path().join("rust_mempool.ko");
        fs::write(&ko, b"\x7fELF").unwrap();
        let k = FakeKernel {
            root: t.path().to_owned(),
            load_result,
            unload_result: Ok(()),
            calls: RefCell::new(Vec::new()),
        };
        (t, k, ko)
    }

    #[test]
    fn load_then_unload_round_trip() {
        let (t, k, ko) = fake(Ok(()));
        let sys = SysRoot::new(t.path());
        load(&k, &sys, &ko, "rust_mempool", &ModuleParams::default()).unwrap();
        assert!(sys.module("rust_mempool").is_some());
        let err = load(&k, &sys, &ko, "rust_mempool", &ModuleParams::default()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("rust_mempool is already loaded (state live, refcount 0)"),
            "{err}"
        );
        unload(&k, &sys, "rust_mempool", false).unwrap();
        assert_eq!(
            *k.calls.borrow(),
            vec![
                format!("finit_module {} min_nr=6 object_size=10240", ko.display()),
                "delete_module rust_mempool wait=false".to_owned()
            ]
        );
        let err = unload(&k, &sys, "rust_mempool", false).unwrap_err();
        assert_eq!(
            err.to_string(),
            "rust_mempool is not loaded; nothing to unload"
        );
    }

    #[test]
    fn bad_params_and_missing_file_never_reach_the_kernel() {
        let (t, k, ko) = fake(Ok(()));
        let sys = SysRoot::new(t.path());
        let bad = ModuleParams {
            min_nr: 0,
            object_size: 10240,
        };
        assert!(matches!(
            load(&k, &sys, &ko, "rust_mempool", &bad),
            Err(Error::Param(_))
        ));
        let err = load(
            &k,
            &sys,
            &t.path().join("nope.ko"),
            "rust_mempool",
            &ModuleParams::default(),
        )
        .unwrap_err();
        assert!(err
            .to_string()
            .contains("nope.ko not found; build it with `mempoolctl build`"));
        assert!(k.calls.borrow().is_empty());
    }

    #[test]
    fn a_refused_load_reports_its_errno_and_leaves_nothing() {
        for errno in [
            Errno::EPERM,
            Errno::ENOEXEC,
            Errno::EKEYREJECTED,
            Errno::EINVAL,
            Errno::ENOMEM,
            Errno::ENOENT,
            Errno::EEXIST,
        ] {
            let (t, k, ko) = fake(Err(errno));
            let sys = SysRoot::new(t.path());
            let err = load(&k, &sys, &ko, "rust_mempool", &ModuleParams::default()).unwrap_err();
            assert!(
                matches!(err, Error::Load { errno: e, .. } if e == errno),
                "{err}"
            );
            assert_eq!(err.to_string(), format!("load failed: {errno}"));
            assert!(
                sys.module("rust_mempool").is_none(),
                "failed load leaves nothing"
            );
        }
    }

    #[test]
    fn eperm_carries_the_refusal_the_root_shows() {
        for (file, text, cause) in [
            (
                "proc/self/status",
                "CapEff:\t0000000000000000\nCapBnd:\t000001ffffffffff\n",
                EpermCause::NoCapability { can_gain: true },
            ),
            (
                "proc/sys/kernel/modules_disabled",
                "1\n",
                EpermCause::ModulesDisabled,
            ),
            (
                "sys/kernel/security/lockdown",
                "none [confidentiality]\n",
                EpermCause::Lockdown("confidentiality".into()),
            ),
        ] {
            let (t, k, ko) = fake(Err(Errno::EPERM));
            let path = t.path().join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, text).unwrap();
            let sys = SysRoot::new(t.path());
            let err = load(&k, &sys, &ko, "rust_mempool", &ModuleParams::default()).unwrap_err();
            assert!(
                matches!(&err, Error::Load { eperm, .. } if *eperm == cause),
                "{file}: {err:?}"
            );
        }
    }

    #[test]
    fn an_unopenable_ko_is_a_file_error_not_a_kernel_one() {
        let (t, k, _) = fake(Ok(()));
        let sys = SysRoot::new(t.path());
        let err = load(&k, &sys, t.path(), "rust_mempool", &ModuleParams::default()).unwrap_err();
        assert!(matches!(
            err,
            Error::UnreadableKo {
                errno: Errno::EISDIR,
                ..
            }
        ));
        let msg = err.to_string();
        assert!(
            msg.contains("it is a directory; fix: pass the .ko file itself"),
            "{msg}"
        );
        assert!(!msg.contains("unknown symbol"), "{msg}");
        assert!(k.calls.borrow().is_empty(), "the kernel was never asked");
    }
}
