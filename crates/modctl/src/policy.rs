//! What lets this process load a module, read from a root (`/`, or a fake
//! one in tests): its capabilities, `kernel.modules_disabled` and lockdown.
//! `doctor` reports each; a load refused with EPERM names the one that
//! applies.

use std::fs;
use std::path::Path;

pub const CAP_SYS_MODULE: u32 = 16;
pub const CAP_SYSLOG: u32 = 34;

/// Effective and bounding capability sets of this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    pub effective: u64,
    pub bounding: u64,
}

impl Caps {
    /// Whether `cap` is effective now.
    pub fn has(&self, cap: u32) -> bool {
        self.effective & (1 << cap) != 0
    }

    /// Whether `cap` is in the bounding set (root could gain it).
    pub fn can_gain(&self, cap: u32) -> bool {
        self.bounding & (1 << cap) != 0
    }
}

fn read(root: &Path, path: &str) -> Option<String> {
    fs::read_to_string(root.join(path))
        .ok()
        .map(|s| s.trim().to_owned())
}

/// `CapEff`/`CapBnd` of `proc/self/status`; None when unreadable.
pub fn caps(root: &Path) -> Option<Caps> {
    let status = fs::read_to_string(root.join("proc/self/status")).ok()?;
    let field = |name: &str| {
        status.lines().find_map(|l| {
            let hex = l.strip_prefix(name)?.trim();
            u64::from_str_radix(hex, 16).ok()
        })
    };
    Some(Caps {
        effective: field("CapEff:")?,
        bounding: field("CapBnd:").unwrap_or(u64::MAX),
    })
}

/// The `kernel.modules_disabled` sysctl's value; None without the sysctl.
pub fn modules_disabled(root: &Path) -> Option<String> {
    read(root, "proc/sys/kernel/modules_disabled")
}

/// The kernel's lockdown state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lockdown {
    /// No `/sys/kernel/security/lockdown` (no LSM lockdown).
    Absent,
    /// The active (bracketed) mode: `none`, `integrity` or `confidentiality`.
    Mode(String),
    /// A file whose content has no bracketed mode.
    Unrecognised(String),
}

pub fn lockdown(root: &Path) -> Lockdown {
    let Some(text) = read(root, "sys/kernel/security/lockdown") else {
        return Lockdown::Absent;
    };
    // `none [integrity] confidentiality`: the bracketed one is active.
    match text
        .split_whitespace()
        .find_map(|w| w.strip_prefix('[')?.strip_suffix(']'))
    {
        Some(mode) => Lockdown::Mode(mode.to_owned()),
        None => Lockdown::Unrecognised(text),
    }
}

/// Why `finit_module` returned EPERM, as far as the root tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EpermCause {
    /// No CAP_SYS_MODULE; `can_gain` when it is in the bounding set (root
    /// gets it, a container does not).
    NoCapability { can_gain: bool },
    /// `kernel.modules_disabled=1`.
    ModulesDisabled,
    /// Lockdown in this mode refuses unsigned modules.
    Lockdown(String),
    /// None of the above is visible.
    Unknown,
}

/// The first refusal that applies: capability, then modules_disabled, then lockdown.
pub fn eperm_cause(root: &Path, euid: u32) -> EpermCause {
    match caps(root) {
        Some(c) if !c.has(CAP_SYS_MODULE) => {
            return EpermCause::NoCapability {
                can_gain: c.can_gain(CAP_SYS_MODULE),
            }
        }
        None if euid != 0 => return EpermCause::NoCapability { can_gain: true },
        _ => {}
    }
    if modules_disabled(root).as_deref() == Some("1") {
        return EpermCause::ModulesDisabled;
    }
    match lockdown(root) {
        Lockdown::Mode(m) if m != "none" => EpermCause::Lockdown(m),
        _ => EpermCause::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let p = dir.path().join(path);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, text).unwrap();
        }
        dir
    }

    // Capability lines as /proc/self/status shows them: a root shell (all 41
    // caps), and a container root without CAP_SYS_MODULE (Docker's default set).
    const FULL: &str = "Name:\tsh\nCapEff:\t000001ffffffffff\nCapBnd:\t000001ffffffffff\n";
    const DOCKER: &str = "Name:\tsh\nCapEff:\t00000000a80425fb\nCapBnd:\t00000000a80425fb\n";
    const USER: &str = "Name:\tsh\nCapEff:\t0000000000000000\nCapBnd:\t000001ffffffffff\n";

    #[test]
    fn names_the_refusal_that_applies() {
        let r = root(&[("proc/self/status", USER)]);
        assert_eq!(
            eperm_cause(r.path(), 1000),
            EpermCause::NoCapability { can_gain: true }
        );
        let r = root(&[("proc/self/status", DOCKER)]);
        assert_eq!(
            eperm_cause(r.path(), 0),
            EpermCause::NoCapability { can_gain: false }
        );
        let r = root(&[
            ("proc/self/status", FULL),
            ("proc/sys/kernel/modules_disabled", "1\n"),
            (
                "sys/kernel/security/lockdown",
                "none [integrity] confidentiality\n",
            ),
        ]);
        assert_eq!(eperm_cause(r.path(), 0), EpermCause::ModulesDisabled);
        let r = root(&[
            ("proc/self/status", FULL),
            ("proc/sys/kernel/modules_disabled", "0\n"),
            (
                "sys/kernel/security/lockdown",
                "none [integrity] confidentiality\n",
            ),
        ]);
        assert_eq!(
            eperm_cause(r.path(), 0),
            EpermCause::Lockdown("integrity".into())
        );
        let r = root(&[
            ("proc/self/status", FULL),
            (
                "sys/kernel/security/lockdown",
                "[none] integrity confidentiality\n",
            ),
        ]);
        assert_eq!(eperm_cause(r.path(), 0), EpermCause::Unknown);
    }

    #[test]
    fn lockdown_reads_the_bracketed_mode() {
        let r = root(&[("sys/kernel/security/lockdown", "none integrity\n")]);
        assert_eq!(
            lockdown(r.path()),
            Lockdown::Unrecognised("none integrity".into())
        );
        assert_eq!(lockdown(Path::new("/nonexistent")), Lockdown::Absent);
    }
}
