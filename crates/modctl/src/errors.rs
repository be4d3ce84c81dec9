//! Every failure of the module lifecycle, with its cause and the fix.

use crate::params::ParamError;
use crate::policy::EpermCause;
use crate::state::ModuleState;
use nix::errno::Errno;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
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
    #[error("{op} failed: {errno}: {cause}; fix: {fix}")]
    Kernel {
        op: &'static str,
        errno: Errno,
        cause: String,
        fix: String,
    },
}

impl LifecycleError {
    /// The errno the kernel returned, if any.
    pub fn errno(&self) -> Option<Errno> {
        match self {
            Self::Kernel { errno, .. } => Some(*errno),
            _ => None,
        }
    }
}

/// Cause and fix for a `.ko` that cannot be opened.
fn open_fix(errno: Errno) -> &'static str {
    match errno {
        Errno::EACCES => "this user may not read it; fix: check its permissions and those of its directories (`ls -l`), or run as its owner",
        Errno::EISDIR => "it is a directory; fix: pass the .ko file itself (--ko DIR/rust_mempool.ko)",
        Errno::ELOOP => "too many symbolic links; fix: pass the real path",
        Errno::ENOTDIR => "a component of the path is not a directory; fix: check the path",
        _ => "fix: check the path and the file (`ls -l`)",
    }
}

/// Cause and fix for a failed `finit_module`; `eperm` says which refusal
/// applies when the kernel returned EPERM.
pub fn explain_load(
    errno: Errno,
    name: &str,
    ko: &Path,
    release: &str,
    eperm: &EpermCause,
) -> LifecycleError {
    let (cause, fix) = match errno {
        Errno::EEXIST => (
            format!("{name} is already loaded"),
            "unload it first: mempoolctl unload".to_owned(),
        ),
        Errno::EPERM => match eperm {
            EpermCause::NoCapability { can_gain: true } => (
                "loading modules needs CAP_SYS_MODULE, which this process lacks".to_owned(),
                "run as root: sudo mempoolctl load".to_owned(),
            ),
            EpermCause::NoCapability { can_gain: false } => (
                "this process cannot gain CAP_SYS_MODULE (not in its bounding set, as in a container)".to_owned(),
                "load on the host, or in a container started with --cap-add SYS_MODULE; or test in a VM: mempoolctl vm".to_owned(),
            ),
            EpermCause::ModulesDisabled => (
                "kernel.modules_disabled=1: module loading is off until reboot".to_owned(),
                "reboot after removing what sets it (grep -rs modules_disabled /etc/sysctl.conf /etc/sysctl.d); or test in a VM: mempoolctl vm".to_owned(),
            ),
            EpermCause::Lockdown(mode) => (
                format!("kernel lockdown is `{mode}` (usually Secure Boot): unsigned modules are refused"),
                "sign the module with a key the kernel trusts (mempoolctl doctor shows how), or disable Secure Boot validation (mokutil --disable-validation)".to_owned(),
            ),
            EpermCause::Unknown => (
                "the kernel refused the load (EPERM) with CAP_SYS_MODULE effective, modules enabled and no lockdown visible: a security module (SELinux, AppArmor, LoadPin) may refuse it".to_owned(),
                "check the kernel log (mempoolctl log) and the audit log for the denial".to_owned(),
            ),
        },
        Errno::ENOEXEC => (
            format!("{} is not a valid module for this kernel ({release}): built against other headers (vermagic mismatch) or corrupt", ko.display()),
            format!("rebuild against this kernel: mempoolctl build --kdir /lib/modules/{release}/build; compare vermagics with mempoolctl info"),
        ),
        Errno::EKEYREJECTED | Errno::ENOKEY | Errno::EBADMSG => (
            "the kernel enforces module signatures and this module is unsigned or signed with an untrusted key".to_owned(),
            "sign it with the kernel's key (scripts/sign-file) or enrol your key with mokutil; module.sig_enforce=1 forbids unsigned modules".to_owned(),
        ),
        Errno::EINVAL => (
            "the module refused its parameters or failed to initialise".to_owned(),
            "read its reason in the kernel log: mempoolctl log".to_owned(),
        ),
        Errno::ENOMEM => (
            "the kernel could not allocate the cache or the reserve".to_owned(),
            "lower --min-nr or --object-size, or free memory".to_owned(),
        ),
        Errno::ENOENT => (
            "the module references an unknown symbol or the kernel does not know a parameter".to_owned(),
            "build against the running kernel's headers; see mempoolctl log for the symbol or parameter".to_owned(),
        ),
        Errno::ESRCH => (
            "the module has the wrong symbol versions (CONFIG_MODVERSIONS)".to_owned(),
            format!("rebuild against /lib/modules/{release}/build"),
        ),
        Errno::ENOSYS => (
            "this kernel has no module support (CONFIG_MODULES=n)".to_owned(),
            "test in a VM with a module-enabled kernel: mempoolctl vm".to_owned(),
        ),
        other => (
            format!("the kernel returned {other}"),
            "see mempoolctl log".to_owned(),
        ),
    };
    LifecycleError::Kernel {
        op: "load",
        errno,
        cause,
        fix,
    }
}

/// Cause and fix for a failed `delete_module`.
pub fn explain_unload(errno: Errno, name: &str, state: &ModuleState) -> LifecycleError {
    let (cause, fix) = match errno {
        Errno::EBUSY | Errno::EAGAIN => (
            format!(
                "{name} is in use: refcount {}, holders [{}]",
                state.refcnt.map_or("?".into(), |r| r.to_string()),
                state.holders.join(", ")
            ),
            "stop whatever holds it (close its files, unload its holders), or wait: mempoolctl unload --wait".to_owned(),
        ),
        Errno::ENOENT => (format!("{name} is not loaded"), "nothing to do".to_owned()),
        Errno::EPERM => (
            "unloading modules needs root or CAP_SYS_MODULE".to_owned(),
            "run as root: sudo mempoolctl unload".to_owned(),
        ),
        other => (format!("the kernel returned {other}"), "see mempoolctl log".to_owned()),
    };
    LifecycleError::Kernel {
        op: "unload",
        errno,
        cause,
        fix,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::KernelOps;
    use crate::{load, unload, ModuleParams, SysRoot};
    use std::cell::RefCell;
    use std::fs;

    /// A fake kernel: records calls, returns the configured errno, and
    /// creates/removes /sys/module/<name> the way the real one does.
    struct FakeKernel {
        root: PathBuf,
        load_result: Result<(), Errno>,
        unload_result: Result<(), Errno>,
        calls: RefCell<Vec<String>>,
    }

    impl KernelOps for FakeKernel {
        fn finit_module(&self, ko: &Path, params: &str) -> Result<(), Errno> {
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
            Err(LifecycleError::Param(_))
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
    fn every_load_errno_gets_cause_and_fix() {
        for (errno, needle) in [
            // The fake root shows no capabilities, modules_disabled or lockdown.
            (
                Errno::EPERM,
                "a security module (SELinux, AppArmor, LoadPin)",
            ),
            (Errno::ENOEXEC, "vermagic mismatch"),
            (Errno::EKEYREJECTED, "enforces module signatures"),
            (Errno::ENOKEY, "enforces module signatures"),
            (Errno::EINVAL, "mempoolctl log"),
            (Errno::ENOMEM, "lower --min-nr"),
            (Errno::ENOENT, "unknown symbol"),
            (Errno::ESRCH, "wrong symbol versions"),
            (Errno::ENOSYS, "no module support"),
            (Errno::EEXIST, "already loaded"),
        ] {
            let (t, k, ko) = fake(Err(errno));
            let sys = SysRoot::new(t.path());
            let err = load(&k, &sys, &ko, "rust_mempool", &ModuleParams::default()).unwrap_err();
            assert_eq!(err.errno(), Some(errno));
            let msg = err.to_string();
            assert!(
                msg.contains(needle) && msg.contains("fix:"),
                "{errno}: {msg}"
            );
            assert!(
                sys.module("rust_mempool").is_none(),
                "failed load leaves nothing"
            );
        }
    }

    #[test]
    fn eperm_names_the_refusal_the_root_shows() {
        for (file, text, needle) in [
            (
                "proc/self/status",
                "CapEff:\t0000000000000000\nCapBnd:\t000001ffffffffff\n",
                "needs CAP_SYS_MODULE, which this process lacks; fix: run as root",
            ),
            (
                "proc/sys/kernel/modules_disabled",
                "1\n",
                "kernel.modules_disabled=1",
            ),
            (
                "sys/kernel/security/lockdown",
                "none [confidentiality]\n",
                "kernel lockdown is `confidentiality`",
            ),
        ] {
            let (t, k, ko) = fake(Err(Errno::EPERM));
            let path = t.path().join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, text).unwrap();
            let sys = SysRoot::new(t.path());
            let msg = load(&k, &sys, &ko, "rust_mempool", &ModuleParams::default())
                .unwrap_err()
                .to_string();
            assert!(msg.contains(needle), "{file}: {msg}");
        }
    }

    #[test]
    fn an_unopenable_ko_is_a_file_error_not_a_kernel_one() {
        let (t, k, _) = fake(Ok(()));
        let sys = SysRoot::new(t.path());
        let err = load(&k, &sys, t.path(), "rust_mempool", &ModuleParams::default()).unwrap_err();
        assert!(matches!(
            err,
            LifecycleError::UnreadableKo {
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

    #[test]
    fn busy_unload_names_refcount_and_holders() {
        let state = ModuleState {
            initstate: Some("live".into()),
            refcnt: Some(2),
            holders: vec!["a".into(), "b".into()],
            taint: String::new(),
        };
        let msg = explain_unload(Errno::EWOULDBLOCK, "rust_mempool", &state).to_string();
        assert!(
            msg.contains("refcount 2, holders [a, b]") && msg.contains("--wait"),
            "{msg}"
        );
        let msg = explain_unload(Errno::EPERM, "rust_mempool", &state).to_string();
        assert!(msg.contains("sudo mempoolctl unload"), "{msg}");
    }
}
