//! Every cause and fix mempoolctl gives for a step the kernel refused, in one
//! place: `modctl` reports what the kernel said (the errno and the facts
//! around it), this says what it means and what to do.

use modctl::policy::EpermCause;
use modctl::{Control, ModuleState};
use nix::errno::Errno;
use std::path::Path;

/// Cause and fix for a failed `finit_module`; `eperm` says which refusal
/// applies when the kernel returned EPERM; `log_shown` whether the module's
/// own kernel lines are printed with the error (they are the reason for EINVAL).
pub fn load(
    errno: Errno,
    name: &str,
    ko: &Path,
    release: &str,
    eperm: &EpermCause,
    log_shown: bool,
) -> (String, String) {
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
            if log_shown {
                "its reason is the kernel line below; load with values in the range it names".to_owned()
            } else {
                "its reason is in the kernel log, which this user cannot read: run as root, or `mempoolctl log` as root".to_owned()
            },
        ),
        Errno::ENOMEM => (
            "the kernel ran out of memory loading the module (its init names what it could not allocate: the cache, the reserve or its sysfs files)".to_owned(),
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
    (cause, fix)
}

/// Cause and fix for a failed `delete_module`.
pub fn unload(errno: Errno, name: &str, state: &ModuleState) -> (String, String) {
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
    (cause, fix)
}

/// Cause and fix for a refused write, by control and errno.
pub fn control(control: Control, errno: Errno) -> (&'static str, &'static str) {
    match (control, errno) {
        (_, Errno::EACCES | Errno::EPERM) => (
            "control files are writable by root only (mode 0200)",
            "run as root",
        ),
        (Control::Hold, Errno::ENOMEM) => (
            "the slab allocator failed and the reserve is empty: the pool is exhausted",
            "release held elements (mempoolctl release all) or resize the reserve up",
        ),
        (Control::Hold, Errno::ENOSPC) => (
            "all held elements and their pointers together would pin more than the module's 256 MiB cap (HELD_BYTES_MAX)",
            "release held elements first (mempoolctl release all)",
        ),
        (Control::Resize, Errno::ENOMEM) => (
            "the kernel could not allocate the larger reserve array",
            "try a smaller min_nr or free memory",
        ),
        (Control::Bench | Control::BenchMempool, Errno::ERANGE) => (
            "the run's chunks were too short for the kernel's clock to time (the module's line below says by how much)",
            "bench more pairs: the line names the least count that will do",
        ),
        (Control::Bench | Control::BenchMempool, Errno::ENOMEM) => (
            "a contender could not allocate: the slab allocator is failing (failslab?)",
            "bench with the slab healthy; bench --mempool-only times the reserve path",
        ),
        (Control::Release, Errno::EINVAL) => (
            "the value is not a count or `all`, or it is more than the elements held",
            "check in_use with mempoolctl stats",
        ),
        (_, Errno::EINVAL) => (
            "the module refused the value (its reason is in the log lines above)",
            "pass a number in the range the module names",
        ),
        (_, Errno::ENODEV) => (
            "the module is being unloaded",
            "load it again with mempoolctl load",
        ),
        _ => (
            "the module returned an unexpected error",
            "see mempoolctl log",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL_EPERM_UNKNOWN: EpermCause = EpermCause::Unknown;

    /// The cap the text names is the module's own (limits.rs), in MiB.
    #[test]
    fn the_hold_cap_named_is_the_modules() {
        let (cause, _) = control(Control::Hold, Errno::ENOSPC);
        let mib = modctl::params::limits::HELD_BYTES_MAX / (1024 * 1024);
        assert!(
            cause.contains(&format!(" {mib} MiB cap (HELD_BYTES_MAX)")),
            "{cause}"
        );
    }

    #[test]
    fn every_load_errno_gets_cause_and_fix() {
        for (errno, needle) in [
            (
                Errno::EPERM,
                "a security module (SELinux, AppArmor, LoadPin)",
            ),
            (Errno::ENOEXEC, "vermagic mismatch"),
            (Errno::EKEYREJECTED, "enforces module signatures"),
            (Errno::ENOKEY, "enforces module signatures"),
            (Errno::EINVAL, "the kernel line below"),
            (Errno::ENOMEM, "lower --min-nr"),
            (Errno::ENOENT, "unknown symbol"),
            (Errno::ESRCH, "wrong symbol versions"),
            (Errno::ENOSYS, "no module support"),
            (Errno::EEXIST, "already loaded"),
        ] {
            let (cause, fix) = load(
                errno,
                "rust_mempool",
                Path::new("m.ko"),
                "7.3.4",
                &ALL_EPERM_UNKNOWN,
                true,
            );
            let msg = format!("{cause}; fix: {fix}");
            assert!(msg.contains(needle) && !fix.is_empty(), "{errno}: {msg}");
        }
    }

    #[test]
    fn einval_points_at_the_lines_shown_or_says_they_could_not_be_read() {
        let ko = Path::new("m.ko");
        let u = &ALL_EPERM_UNKNOWN;
        let (_, shown) = load(Errno::EINVAL, "m", ko, "7.3.4", u, true);
        let (_, unread) = load(Errno::EINVAL, "m", ko, "7.3.4", u, false);
        assert!(!shown.contains("mempoolctl log"), "{shown}");
        assert!(unread.contains("cannot read"), "{unread}");
    }

    #[test]
    fn eperm_names_the_refusal_that_applies() {
        let ko = Path::new("m.ko");
        for (cause, needle) in [
            (
                EpermCause::NoCapability { can_gain: true },
                "needs CAP_SYS_MODULE, which this process lacks; fix: run as root",
            ),
            (
                EpermCause::NoCapability { can_gain: false },
                "--cap-add SYS_MODULE",
            ),
            (EpermCause::ModulesDisabled, "kernel.modules_disabled=1"),
            (
                EpermCause::Lockdown("confidentiality".into()),
                "kernel lockdown is `confidentiality`",
            ),
        ] {
            let (c, fix) = load(Errno::EPERM, "m", ko, "7.3.4", &cause, true);
            let msg = format!("{c}; fix: {fix}");
            assert!(msg.contains(needle), "{cause:?}: {msg}");
        }
    }

    #[test]
    fn busy_unload_names_refcount_and_holders() {
        let state = ModuleState {
            initstate: Some("live".into()),
            refcnt: Some(2),
            holders: vec!["a".into(), "b".into()],
            taint: String::new(),
        };
        let (cause, fix) = unload(Errno::EWOULDBLOCK, "rust_mempool", &state);
        assert!(cause.contains("refcount 2, holders [a, b]") && fix.contains("--wait"));
        let (_, fix) = unload(Errno::EPERM, "rust_mempool", &state);
        assert!(fix.contains("sudo mempoolctl unload"), "{fix}");
    }

    #[test]
    fn every_errno_has_a_cause_and_fix() {
        assert_eq!(
            control(Control::Hold, Errno::ENOMEM).1,
            "release held elements (mempoolctl release all) or resize the reserve up"
        );
        assert!(control(Control::Resize, Errno::EACCES)
            .0
            .contains("root only"));
        assert!(control(Control::Release, Errno::EINVAL)
            .0
            .contains("more than the elements held"));
        assert!(control(Control::Bench, Errno::EINVAL)
            .0
            .contains("refused the value"));
        assert_eq!(control(Control::Bench, Errno::EIO).1, "see mempoolctl log");
        assert!(control(Control::BenchMempool, Errno::ERANGE)
            .0
            .contains("too short for the kernel's clock"));
        assert!(control(Control::Bench, Errno::ENOMEM)
            .1
            .contains("--mempool-only"));
    }
}
