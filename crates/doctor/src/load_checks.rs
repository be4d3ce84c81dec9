//! Load checks: will the running kernel accept `finit_module` from us?

use crate::{Check, Flavor, Section};
use modctl::policy::{self, Caps, Lockdown, CAP_SYSLOG, CAP_SYS_MODULE};
use std::fs;
use std::path::Path;

const S: Section = Section::Load;
const VM: &str = "test in a VM with `mempoolctl vm`";

pub(crate) fn checks(
    root: &Path,
    release: &str,
    kdir: &Path,
    euid: u32,
    flavor: Flavor,
) -> Vec<Check> {
    let caps = policy::caps(root);
    let modules = kernel_modules(root, release);
    let mut out = if modules.status == crate::Status::Pass {
        vec![
            modules,
            privileges(caps, euid),
            modules_disabled(root),
            sig_enforce(root, release, kdir, flavor),
            lockdown(root, release, kdir, flavor),
        ]
    } else {
        let mut out = vec![modules];
        for id in ["privileges", "modules-disabled", "sig-enforce", "lockdown"] {
            out.push(Check::skip(
                id,
                S,
                "the running kernel has no module support",
            ));
        }
        out
    };
    out.push(dmesg_restrict(root, caps, euid));
    out
}

fn read(root: &Path, path: &str) -> Option<String> {
    fs::read_to_string(root.join(path))
        .ok()
        .map(|s| s.trim().to_owned())
}

fn kernel_modules(root: &Path, release: &str) -> Check {
    let id = "kernel-modules";
    if root.join("proc/modules").exists() {
        return Check::pass(
            id,
            S,
            format!("the running kernel {release} supports modules"),
        );
    }
    Check::fail(
        id,
        S,
        format!(
            "the running kernel {release} has no /proc/modules: it was built without module \
             support"
        ),
        format!("this kernel cannot load modules: {VM}"),
    )
}

fn privileges(caps: Option<Caps>, euid: u32) -> Check {
    let id = "privileges";
    let who = if euid == 0 {
        "root".to_owned()
    } else {
        format!("uid {euid}")
    };
    // The kernel checks capable(CAP_SYS_MODULE), not the uid: root in a container
    // usually lacks it.
    let Some(caps) = caps else {
        if euid == 0 {
            return Check::pass(
                id,
                S,
                "running as root (capabilities not readable from /proc/self/status)",
            );
        }
        return Check::fail(
            id,
            S,
            format!("running as {who}: loading needs CAP_SYS_MODULE (EPERM otherwise)"),
            "run as root: `sudo mempoolctl load`",
        );
    };
    if caps.has(CAP_SYS_MODULE) {
        return Check::pass(id, S, format!("CAP_SYS_MODULE is effective ({who})"));
    }
    let container = format!(
        "this process cannot gain CAP_SYS_MODULE (it is not in the bounding set, as in a \
         container): load on the host or in a container started with `--cap-add SYS_MODULE`, \
         or {VM}"
    );
    if !caps.can_gain(CAP_SYS_MODULE) {
        return Check::fail(
            id,
            S,
            format!("running as {who} without CAP_SYS_MODULE: finit_module fails with EPERM"),
            container,
        );
    }
    Check::fail(
        id,
        S,
        format!("running as {who} without CAP_SYS_MODULE: finit_module fails with EPERM"),
        "run as root: `sudo mempoolctl load`",
    )
}

fn modules_disabled(root: &Path) -> Check {
    let id = "modules-disabled";
    match policy::modules_disabled(root).as_deref() {
        Some("1") => Check::fail(
            id,
            S,
            "kernel.modules_disabled=1: module loading is off until reboot (it cannot be set \
             back to 0)",
            format!(
                "reboot, after removing what sets it (`grep -rs modules_disabled /etc/sysctl.conf \
                 /etc/sysctl.d /usr/lib/sysctl.d`, or the `nomodule` boot parameter); or {VM}"
            ),
        ),
        Some(v) => Check::pass(id, S, format!("kernel.modules_disabled={v}")),
        None => Check::pass(id, S, "no kernel.modules_disabled sysctl"),
    }
}

/// How to get a module the kernel accepts when it requires signatures: with the build's
/// own key when the build dir is the running kernel's and has it (Warn: one command),
/// otherwise via a Machine Owner Key (Fail: enrolment needs a reboot).
fn signing_remedy(release: &str, kdir: &Path, flavor: Flavor) -> (bool, String) {
    let ko = flavor.ko_file_name();
    let key = kdir.join("certs/signing_key.pem");
    let cert = kdir.join("certs/signing_key.x509");
    let sign_file = kdir.join("scripts/sign-file");
    if key.is_file() && cert.is_file() && kbuild::kdir_release(kdir).as_deref() == Some(release) {
        return (
            true,
            format!(
                "sign the module after each build with the key this kernel was built with: `{} \
                 sha512 {} {} {ko}`",
                sign_file.display(),
                key.display(),
                cert.display()
            ),
        );
    }
    (
        false,
        format!(
            "sign the module with a key the kernel trusts: create one and enrol it as a Machine \
             Owner Key (`openssl req -new -x509 -newkey rsa:2048 -nodes -days 36500 -subj \
             '/CN=mempoolctl module key/' -outform DER -keyout MOK.priv -out MOK.der`, then \
             `mokutil --import MOK.der`, reboot and confirm in MokManager), then after each \
             build `{} sha512 MOK.priv MOK.der {ko}`; or {VM}",
            sign_file.display()
        ),
    )
}

fn sig_enforce(root: &Path, release: &str, kdir: &Path, flavor: Flavor) -> Check {
    let id = "sig-enforce";
    match read(root, "sys/module/module/parameters/sig_enforce").as_deref() {
        None => Check::pass(id, S, "not enforced (no module signing)"),
        Some("Y") => {
            let summary = format!(
                "module signatures are enforced (sig_enforce=Y): an unsigned {} is refused \
                 (EKEYREJECTED)",
                flavor.ko_file_name()
            );
            match signing_remedy(release, kdir, flavor) {
                (true, fix) => Check::warn(id, S, summary, fix),
                (false, fix) => Check::fail(id, S, summary, fix),
            }
        }
        Some(_) => Check::pass(
            id,
            S,
            "not enforced (sig_enforce=N): an unsigned module loads and taints the kernel (E)",
        ),
    }
}

fn lockdown(root: &Path, release: &str, kdir: &Path, flavor: Flavor) -> Check {
    let id = "lockdown";
    let mode = match policy::lockdown(root) {
        Lockdown::Absent => {
            return Check::pass(id, S, "no lockdown (no /sys/kernel/security/lockdown)")
        }
        Lockdown::Mode(mode) if mode == "none" => return Check::pass(id, S, "lockdown: none"),
        Lockdown::Mode(mode) => mode,
        Lockdown::Unrecognised(text) => {
            return Check::warn(
                id,
                S,
                format!("unrecognised /sys/kernel/security/lockdown content {text:?}"),
                "check `cat /sys/kernel/security/lockdown`: a mode other than [none] refuses \
                 unsigned modules",
            )
        }
    };
    let summary = format!(
        "kernel lockdown is `{mode}` (usually set by Secure Boot): unsigned modules are refused \
         (EPERM)"
    );
    match signing_remedy(release, kdir, flavor) {
        (true, fix) => Check::warn(id, S, summary, fix),
        (false, fix) => Check::fail(
            id,
            S,
            summary,
            format!(
                "{fix}; or turn Secure Boot validation off (`mokutil --disable-validation`, \
                 reboot), which lifts lockdown"
            ),
        ),
    }
}

fn dmesg_restrict(root: &Path, caps: Option<Caps>, euid: u32) -> Check {
    let id = "dmesg-restrict";
    match read(root, "proc/sys/kernel/dmesg_restrict").as_deref() {
        Some("1") => {
            // The kernel checks capable(CAP_SYSLOG) when dmesg_restrict is set.
            let syslog = caps.map_or(euid == 0, |c| c.has(CAP_SYSLOG));
            if syslog {
                return Check::pass(
                    id,
                    S,
                    "kernel.dmesg_restrict=1, and CAP_SYSLOG is effective",
                );
            }
            Check::warn(
                id,
                S,
                "kernel.dmesg_restrict=1: `mempoolctl log` and the kernel lines `load`/`unload` \
                 print need root (CAP_SYSLOG)",
                "run as root (`sudo mempoolctl log`), or allow everyone to read the kernel log: \
                 `sudo sysctl kernel.dmesg_restrict=0`",
            )
        }
        Some(v) => Check::pass(
            id,
            S,
            format!("kernel.dmesg_restrict={v}: the kernel log is readable"),
        ),
        None => Check::pass(id, S, "no kernel.dmesg_restrict sysctl"),
    }
}
