//! The one table of settings: TOML name, environment variable, default, type.

/// A value's type, checked when the layers are merged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A non-negative integer (TOML integer; decimal in the environment).
    Integer,
    /// A filesystem path, relative ones to the current directory.
    Path,
    /// One of a fixed set of words.
    Choice(&'static [&'static str]),
}

impl Kind {
    pub(crate) fn check(self, value: &str) -> Result<(), String> {
        match self {
            Self::Integer => value
                .parse::<u64>()
                .map(drop)
                .map_err(|_| format!("{value:?} is not a non-negative integer")),
            Self::Path if value.is_empty() => Err("the path is empty".to_owned()),
            Self::Path => Ok(()),
            Self::Choice(words) if words.contains(&value) => Ok(()),
            Self::Choice(words) => Err(format!("{value:?} is not one of {}", words.join(", "))),
        }
    }
}

/// One setting.
#[derive(Debug)]
pub struct Key {
    /// `section.name` in the TOML file.
    pub name: &'static str,
    /// The environment variable that sets it.
    pub env: &'static str,
    /// Built-in default; `None` for keys whose default is computed (see `unset`).
    pub default: Option<&'static str>,
    pub kind: Kind,
    /// What happens when an optional key is unset.
    pub unset: &'static str,
}

// The choices are the enums' own names: one list each, in its crate.
pub const FLAVORS: &[&str] = &modctl::flavor::Flavor::NAMES;
pub const ACCELS: &[&str] = &vm::Accel::NAMES;
pub const SCENARIOS: &[&str] = &vm::Scenario::NAMES;
pub const COLORS: &[&str] = &["auto", "always", "never"];

pub static KEYS: &[Key] = &[
    Key {
        name: "module.flavor",
        env: "MEMPOOLCTL_FLAVOR",
        default: Some("rust"),
        kind: Kind::Choice(FLAVORS),
        unset: "",
    },
    Key {
        name: "module.min_nr",
        env: "MEMPOOLCTL_MIN_NR",
        default: Some("6"),
        kind: Kind::Integer,
        unset: "",
    },
    Key {
        name: "module.object_size",
        env: "MEMPOOLCTL_OBJECT_SIZE",
        default: Some("10240"),
        kind: Kind::Integer,
        unset: "",
    },
    Key {
        name: "module.ko",
        env: "MEMPOOLCTL_KO",
        default: None,
        kind: Kind::Path,
        unset:
            "/lib/modules/$(uname -r)/extra/<module>.ko if installed, else <module_dir>/<module>.ko",
    },
    Key {
        name: "build.kdir",
        env: "MEMPOOLCTL_KDIR",
        default: None,
        kind: Kind::Path,
        unset: "/lib/modules/$(uname -r)/build",
    },
    Key {
        name: "build.module_dir",
        env: "MEMPOOLCTL_MODULE_DIR",
        default: None,
        kind: Kind::Path,
        unset: "module for the rust flavor, module/c for the c flavor",
    },
    Key {
        name: "build.jobs",
        env: "MEMPOOLCTL_JOBS",
        default: None,
        kind: Kind::Integer,
        unset: "CPU count + 1",
    },
    Key {
        name: "vm.kernel",
        env: "MEMPOOLCTL_VM_KERNEL",
        default: None,
        kind: Kind::Path,
        unset: "the newest cached test kernel (cargo xtask kernel)",
    },
    Key {
        name: "vm.scenario",
        env: "MEMPOOLCTL_VM_SCENARIO",
        default: Some("smoke"),
        kind: Kind::Choice(SCENARIOS),
        unset: "",
    },
    Key {
        name: "vm.accel",
        env: "MEMPOOLCTL_VM_ACCEL",
        default: Some("auto"),
        kind: Kind::Choice(ACCELS),
        unset: "",
    },
    Key {
        name: "vm.timeout",
        env: "MEMPOOLCTL_VM_TIMEOUT",
        default: None,
        kind: Kind::Integer,
        unset: "the scenario's own limit times vm.timeout_factor",
    },
    Key {
        name: "vm.timeout_factor",
        env: "MEMPOOLCTL_VM_TIMEOUT_FACTOR",
        default: Some("1"),
        kind: Kind::Integer,
        unset: "",
    },
    Key {
        name: "vm.cpus",
        env: "MEMPOOLCTL_VM_CPUS",
        default: Some("2"),
        kind: Kind::Integer,
        unset: "",
    },
    Key {
        name: "vm.memory_mb",
        env: "MEMPOOLCTL_VM_MEMORY_MB",
        default: Some("512"),
        kind: Kind::Integer,
        unset: "",
    },
    Key {
        name: "output.color",
        env: "MEMPOOLCTL_COLOR",
        default: Some("auto"),
        kind: Kind::Choice(COLORS),
        unset: "",
    },
];
