//! What kbuild will run for a build dir: the `make` variables a distribution's headers
//! pin in `.kernelvariables` (Debian: `ARCH`, `CROSS_COMPILE`, `CC`), resolved against
//! the environment the way `make` does. The top-level Makefile includes the file
//! (`-include $(objtree)/.kernelvariables`) after its own `CC = $(CROSS_COMPILE)gcc`, so
//! its assignments win over the Makefile's defaults.
//!
//! The file is read, never evaluated: `$(...)` references other than
//! `$(CROSS_COMPILE)` are dropped.

use crate::kconfig::Kconfig;
use std::fs;
use std::path::Path;

/// One `NAME op value` line of a makefile.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Assignment {
    name: String,
    value: String,
    /// `override NAME = ...`: wins over the command line and the environment.
    overrides: bool,
    /// `NAME ?= ...`: only when neither the environment nor an earlier line set it.
    conditional: bool,
}

/// The assignments of a build dir's `.kernelvariables` (none when it has no such file).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KernelVars {
    assignments: Vec<Assignment>,
}

/// Where a resolved value came from (for messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    KernelVariables,
    Environment,
    Default,
}

impl KernelVars {
    pub fn read(kdir: &Path) -> Self {
        fs::read_to_string(kdir.join(".kernelvariables"))
            .map(|t| Self::parse(&t))
            .unwrap_or_default()
    }

    pub fn parse(text: &str) -> Self {
        let assignments = text.lines().filter_map(parse_assignment).collect();
        Self { assignments }
    }

    /// The value `make` gives variable `name`, with `env` its value in the environment
    /// (mempoolctl passes none of these on the command line): an `override` or plain
    /// assignment in the file beats the environment, `?=` does not.
    pub fn resolve(&self, name: &str, env: Option<&str>) -> Option<(String, Source)> {
        let mut value = env.map(|v| (v.to_owned(), Source::Environment));
        let mut overridden = false;
        for a in self.assignments.iter().filter(|a| a.name == name) {
            if overridden && !a.overrides {
                continue;
            }
            if a.conditional && value.is_some() {
                continue;
            }
            overridden |= a.overrides;
            value = Some((a.value.clone(), Source::KernelVariables));
        }
        value
    }

    /// `CROSS_COMPILE`: the prefix of every toolchain command kbuild runs for a gcc
    /// kernel (`$(CROSS_COMPILE)gcc`, `$(CROSS_COMPILE)ld`); empty when unset.
    pub fn cross_compile(&self, env: Option<&str>) -> (String, Source) {
        self.resolve("CROSS_COMPILE", env)
            .unwrap_or((String::new(), Source::Default))
    }

    /// The C compiler the file pins, with `prefix` for `$(CROSS_COMPILE)`: the last word
    /// of its `CC` value (Debian: `$(if $(DEBIAN_KERNEL_USE_CCACHE),$(CCACHE))
    /// $(CROSS_COMPILE)gcc-14` → `x86_64-linux-gnu-gcc-14`).
    pub fn cc(&self, prefix: &str) -> Option<String> {
        let (value, source) = self.resolve("CC", None)?;
        if source != Source::KernelVariables {
            return None;
        }
        let word = value.split_whitespace().last()?;
        let word = word
            .replace("$(CROSS_COMPILE)", prefix)
            .replace("${CROSS_COMPILE}", prefix);
        let name = word.rsplit(')').next()?;
        (!name.is_empty() && !name.contains('$')).then(|| name.to_owned())
    }

    /// kbuild's `SRCARCH`, the directory under `arch/`: from `ARCH` (the file, then the
    /// environment), else the architecture the configuration is for, else this host's
    /// (kbuild's default `ARCH` is the host's).
    pub fn srcarch(&self, env_arch: Option<&str>, config: &Kconfig) -> String {
        if let Some((arch, _)) = self
            .resolve("ARCH", env_arch)
            .filter(|(a, _)| !a.is_empty() && !a.contains('$'))
        {
            return srcarch_of(&arch);
        }
        const BY_CONFIG: [(&str, &str); 9] = [
            ("X86", "x86"),
            ("ARM64", "arm64"),
            ("ARM", "arm"),
            ("RISCV", "riscv"),
            ("PPC", "powerpc"),
            ("S390", "s390"),
            ("LOONGARCH", "loongarch"),
            ("MIPS", "mips"),
            ("SPARC", "sparc"),
        ];
        BY_CONFIG
            .iter()
            .find(|(option, _)| config.is_y(option))
            .map(|(_, arch)| (*arch).to_owned())
            .unwrap_or_else(|| srcarch_of(std::env::consts::ARCH))
    }
}

/// `ARCH` (or a `uname -m`) → kbuild's `SRCARCH` (top-level Makefile and
/// scripts/subarch.include).
fn srcarch_of(arch: &str) -> String {
    let a = arch.trim();
    let i86 = a.len() == 4 && a.starts_with('i') && a.ends_with("86");
    let mapped = if i86 || ["x86", "x86_64", "amd64"].contains(&a) {
        "x86"
    } else if a == "aarch64" || a == "arm64" {
        "arm64"
    } else if a.starts_with("arm") {
        "arm"
    } else if a.starts_with("riscv") {
        "riscv"
    } else if a.starts_with("ppc") || a.starts_with("powerpc") {
        "powerpc"
    } else if a.starts_with("s390") {
        "s390"
    } else if a.starts_with("loongarch") {
        "loongarch"
    } else if a.starts_with("mips") {
        "mips"
    } else if a.starts_with("sparc") {
        "sparc"
    } else if a.starts_with("parisc") {
        "parisc"
    } else if a.starts_with("sh") {
        "sh"
    } else {
        a
    };
    mapped.to_owned()
}

fn parse_assignment(line: &str) -> Option<Assignment> {
    let line = line.trim();
    if line.starts_with('#') {
        return None;
    }
    let (overrides, line) = match line.strip_prefix("override") {
        Some(rest) if rest.starts_with(char::is_whitespace) => (true, rest.trim_start()),
        _ => (false, line),
    };
    let eq = line.find('=')?;
    let (lhs, value) = (&line[..eq], line[eq + 1..].trim());
    let (name, conditional) = if let Some(n) = lhs.strip_suffix("::") {
        (n, false)
    } else if let Some(n) = lhs.strip_suffix(':') {
        (n, false)
    } else if let Some(n) = lhs.strip_suffix('?') {
        (n, true)
    } else if lhs.ends_with('+') || lhs.ends_with('!') {
        // Appending and shell assignments: not used for the variables read here.
        return None;
    } else {
        (lhs, false)
    };
    let name = name.trim();
    let valid = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    valid.then(|| Assignment {
        name: name.to_owned(),
        value: value.to_owned(),
        overrides,
        conditional,
    })
}

/// Whether the toolchain prefix names this host's architecture (or is empty), so the
/// distribution's plain packages (`gcc-14`, `binutils`) provide its commands.
pub fn is_native(prefix: &str) -> bool {
    let name = prefix.rsplit('/').next().unwrap_or(prefix);
    let arch = name.split('-').next().unwrap_or("");
    name.is_empty() || arch == std::env::consts::ARCH
}

/// The Debian package suffix of a cross prefix: `aarch64-linux-gnu-` →
/// `aarch64-linux-gnu`, `x86_64-linux-gnu-` → `x86-64-linux-gnu`.
pub fn package_triplet(prefix: &str) -> String {
    let name = prefix.rsplit('/').next().unwrap_or(prefix);
    name.trim_end_matches('-').replace('_', "-")
}

/// Debian 7.3.4+deb13-amd64's `.kernelvariables`, verbatim (a test fixture).
#[cfg(test)]
const DEBIAN_KERNELVARIABLES: &str = include_str!("../fixtures/debian-7.3.4-amd64.kernelvariables");

#[cfg(test)]
mod tests {
    use super::*;

    /// `$CROSS_COMPILE` and `$ARCH` as the environment gives them.
    struct Env<'a> {
        cross: Option<&'a str>,
        arch: Option<&'a str>,
    }

    fn tools<'a>(cross: Option<&'a str>, arch: Option<&'a str>) -> Env<'a> {
        Env { cross, arch }
    }

    #[test]
    fn debian_file() {
        let kv = KernelVars::parse(DEBIAN_KERNELVARIABLES);
        let t = tools(None, None);
        let (prefix, source) = kv.cross_compile(t.cross);
        assert_eq!(
            (prefix.as_str(), source),
            ("x86_64-linux-gnu-", Source::KernelVariables)
        );
        assert_eq!(kv.cc(&prefix).as_deref(), Some("x86_64-linux-gnu-gcc-14"));
        assert_eq!(kv.srcarch(t.arch, &Kconfig::default()), "x86");
        // `override` beats the environment.
        let t = tools(Some("aarch64-linux-gnu-"), Some("arm64"));
        assert_eq!(kv.cross_compile(t.cross).0, "x86_64-linux-gnu-");
        assert_eq!(kv.srcarch(t.arch, &Kconfig::default()), "x86");
        assert_eq!(
            kv.resolve("DEB_BUILD_ARCH", None).map(|v| v.1),
            Some(Source::KernelVariables)
        );
        assert_eq!(kv.resolve("CCACHE", None).unwrap().0, "ccache");
    }

    #[test]
    fn make_precedence() {
        let kv = KernelVars::parse("CROSS_COMPILE ?= a-b-\nARCH = arm64\n");
        let env = tools(Some("x-y-"), Some("x86_64"));
        assert_eq!(
            kv.cross_compile(env.cross),
            ("x-y-".to_owned(), Source::Environment)
        );
        assert_eq!(kv.cross_compile(None).0, "a-b-");
        // A plain assignment in a makefile beats the environment.
        assert_eq!(kv.srcarch(env.arch, &Kconfig::default()), "arm64");

        let none = KernelVars::default();
        assert_eq!(none.cross_compile(None), (String::new(), Source::Default));
        assert_eq!(none.cross_compile(env.cross).0, "x-y-");
        assert_eq!(none.cc("x-y-"), None);
        assert_eq!(none.srcarch(env.arch, &Kconfig::default()), "x86");
        let arm = Kconfig::parse("CONFIG_ARM64=y\n");
        assert_eq!(none.srcarch(None, &arm), "arm64");
        // `:=` and a CC without the prefix.
        let kv = KernelVars::parse("CC := gcc-13\n# CC = no\n");
        assert_eq!(kv.cc("x86_64-linux-gnu-").as_deref(), Some("gcc-13"));
    }

    #[test]
    fn srcarch_names() {
        for (arch, src) in [
            ("x86_64", "x86"),
            ("i686", "x86"),
            ("i386", "x86"),
            ("aarch64", "arm64"),
            ("armv7l", "arm"),
            ("riscv64", "riscv"),
            ("ppc64le", "powerpc"),
            ("s390x", "s390"),
            ("sparc64", "sparc"),
            ("parisc64", "parisc"),
        ] {
            assert_eq!(srcarch_of(arch), src, "{arch}");
        }
    }

    #[test]
    fn packages() {
        assert!(is_native(""));
        assert_eq!(
            is_native("x86_64-linux-gnu-"),
            std::env::consts::ARCH == "x86_64"
        );
        assert_eq!(package_triplet("x86_64-linux-gnu-"), "x86-64-linux-gnu");
        assert_eq!(
            package_triplet("/opt/cross/bin/aarch64-linux-gnu-"),
            "aarch64-linux-gnu"
        );
    }
}
