//! Choosing between KVM and TCG. `/dev/kvm` existing is not enough: on hosts
//! where it is served by `kvm_pvm`, an ordinary kernel never reaches its console.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

/// What the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Accel {
    Auto,
    Kvm,
    Tcg,
}

impl Accel {
    pub const ALL: [Accel; 3] = [Accel::Auto, Accel::Kvm, Accel::Tcg];
    /// Every accelerator's name, in [`Accel::ALL`]'s order (for config files).
    pub const NAMES: [&'static str; 3] = [
        Self::ALL[0].name(),
        Self::ALL[1].name(),
        Self::ALL[2].name(),
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Kvm => "kvm",
            Self::Tcg => "tcg",
        }
    }
}

impl FromStr for Accel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|a| a.name() == s)
            .ok_or_else(|| format!("unknown accelerator {s:?}: expected auto, kvm or tcg"))
    }
}

impl fmt::Display for Accel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The accelerator to try first, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccelChoice {
    pub accel: Accel,
    pub reason: String,
    /// With `auto` and KVM chosen: fall back to TCG if the console stays silent.
    pub may_fall_back: bool,
}

/// Decides from what the host shows under `sys_root` (`/sys`) and `dev_kvm`.
pub fn choose(requested: Accel, sys_root: &Path, dev_kvm: &Path) -> AccelChoice {
    match requested {
        Accel::Kvm => AccelChoice {
            accel: Accel::Kvm,
            reason: "forced with --accel kvm".into(),
            may_fall_back: false,
        },
        Accel::Tcg => AccelChoice {
            accel: Accel::Tcg,
            reason: "forced with --accel tcg".into(),
            may_fall_back: false,
        },
        Accel::Auto => {
            let tcg = |reason: String| AccelChoice {
                accel: Accel::Tcg,
                reason,
                may_fall_back: false,
            };
            if sys_root.join("module/kvm_pvm").exists() {
                return tcg("auto: /dev/kvm is served by kvm_pvm, under which an ordinary kernel does not boot; using TCG".into());
            }
            match std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(dev_kvm)
            {
                Err(e) => tcg(format!(
                    "auto: {} unusable ({e}); using TCG",
                    dev_kvm.display()
                )),
                Ok(_) => AccelChoice {
                    accel: Accel::Kvm,
                    reason:
                        "auto: /dev/kvm usable; falling back to TCG if the console stays silent"
                            .into(),
                    may_fall_back: true,
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_avoids_kvm_pvm_and_missing_kvm() {
        let sys = tempfile::tempdir().unwrap();
        let dev = tempfile::tempdir().unwrap();
        let kvm = dev.path().join("kvm");
        let c = choose(Accel::Auto, sys.path(), &kvm);
        assert_eq!(c.accel, Accel::Tcg);
        assert!(c.reason.contains("unusable"), "{}", c.reason);

        std::fs::write(&kvm, "").unwrap();
        let c = choose(Accel::Auto, sys.path(), &kvm);
        assert_eq!(c.accel, Accel::Kvm);
        assert!(c.may_fall_back);

        std::fs::create_dir_all(sys.path().join("module/kvm_pvm")).unwrap();
        let c = choose(Accel::Auto, sys.path(), &kvm);
        assert_eq!(c.accel, Accel::Tcg);
        assert!(c.reason.contains("kvm_pvm"));

        let forced = choose(Accel::Kvm, sys.path(), &kvm);
        assert_eq!((forced.accel, forced.may_fall_back), (Accel::Kvm, false));
    }

    #[test]
    fn parses_accel_names() {
        assert_eq!("tcg".parse::<Accel>().unwrap(), Accel::Tcg);
        assert!("hvf"
            .parse::<Accel>()
            .unwrap_err()
            .contains("auto, kvm or tcg"));
    }
}
