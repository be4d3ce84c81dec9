//! Which of the two modules with the same ABI mempoolctl drives.

use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// `rust_mempool` (module/) or its C twin `c_mempool` (module/c/), which also
/// builds against stock distribution headers that cannot build Rust modules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Flavor {
    #[default]
    Rust,
    C,
}

impl Flavor {
    pub const ALL: [Flavor; 2] = [Flavor::Rust, Flavor::C];
    /// Every flavor's name, in [`Flavor::ALL`]'s order (for config files).
    pub const NAMES: [&'static str; 2] = [Self::ALL[0].name(), Self::ALL[1].name()];

    pub const fn name(self) -> &'static str {
        match self {
            Self::Rust => "rust",
            Self::C => "c",
        }
    }

    /// Module name, which is also its slab cache's and sysfs directory's name.
    pub fn module_name(self) -> &'static str {
        match self {
            Self::Rust => "rust_mempool",
            Self::C => "c_mempool",
        }
    }

    /// Sources, relative to the repository root.
    pub fn source_dir(self) -> &'static str {
        match self {
            Self::Rust => "module",
            Self::C => "module/c",
        }
    }

    pub fn ko_file_name(self) -> String {
        format!("{}.ko", self.module_name())
    }
}

impl fmt::Display for Flavor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown flavor {0:?}: expected `rust` (rust_mempool) or `c` (c_mempool)")]
pub struct UnknownFlavor(pub String);

impl FromStr for Flavor {
    type Err = UnknownFlavor;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| UnknownFlavor(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for f in Flavor::ALL {
            assert_eq!(f.to_string().parse::<Flavor>(), Ok(f));
        }
        assert_eq!(Flavor::C.ko_file_name(), "c_mempool.ko");
        assert_eq!(Flavor::Rust.source_dir(), "module");
        assert_eq!(
            "go".parse::<Flavor>().unwrap_err().to_string(),
            "unknown flavor \"go\": expected `rust` (rust_mempool) or `c` (c_mempool)"
        );
    }
}
