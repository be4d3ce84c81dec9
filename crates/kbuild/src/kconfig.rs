//! Reading a kernel configuration, the version numbers it records, and the
//! kernel's own minimum tool versions.

use std::collections::HashMap;

/// The `CONFIG_*` values of a kernel configuration (`.config` or
/// `include/config/auto.conf`, which share the format).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Kconfig {
    values: HashMap<String, String>,
}

impl Kconfig {
    /// Parses `CONFIG_X=value` lines; `# CONFIG_X is not set` and other lines are ignored
    /// (an unset option simply has no value).
    pub fn parse(text: &str) -> Self {
        let values = text
            .lines()
            .filter_map(|line| {
                let (name, value) = line.trim().strip_prefix("CONFIG_")?.split_once('=')?;
                Some((name.to_owned(), unquote(value)))
            })
            .collect();
        Self { values }
    }

    /// The value of `CONFIG_<name>`, string quotes removed: `get("RUSTC_VERSION_TEXT")`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// The names of every set option, without `CONFIG_`.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    /// Whether `CONFIG_<name>=y`.
    pub fn is_y(&self, name: &str) -> bool {
        self.get(name) == Some("y")
    }

    /// A numeric option such as `CONFIG_CLANG_VERSION=190107`.
    pub fn number(&self, name: &str) -> Option<u64> {
        self.get(name)?.parse().ok()
    }
}

/// Kconfig writes strings as `"..."` with `\"` and `\\` escaped.
fn unquote(value: &str) -> String {
    let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) else {
        return value.to_owned();
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(escaped) = chars.next() {
                out.push(escaped);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `CONFIG_CLANG_VERSION`/`CONFIG_GCC_VERSION` encode `x.y.z` as `x*10000 + y*100 + z`.
pub fn decode_version(code: u64) -> String {
    format!("{}.{}.{}", code / 10000, (code / 100) % 100, code % 100)
}

/// The numeric components of a version's leading `1.2.3` part
/// (`"12.2.0-14+deb12u1"` → `[12, 2, 0]`); `None` when it does not start with a digit.
pub fn version_parts(version: &str) -> Option<Vec<u64>> {
    let end = version
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(version.len());
    let parts: Option<Vec<u64>> = version[..end]
        .split('.')
        .filter(|p| !p.is_empty())
        .map(|p| p.parse().ok())
        .collect();
    parts.filter(|p| !p.is_empty())
}

/// The major number of a version string.
pub fn major(version: &str) -> Option<u64> {
    version_parts(version)?.first().copied()
}

/// `a >= b` comparing numeric components; missing components count as 0.
pub fn version_ge(a: &str, b: &str) -> Option<bool> {
    let (mut a, mut b) = (version_parts(a)?, version_parts(b)?);
    let len = a.len().max(b.len());
    a.resize(len, 0);
    b.resize(len, 0);
    Some(a >= b)
}

/// The first version-looking word of a `--version` line: `Debian clang version 19.1.7
/// (3~deb12u1)` → `19.1.7`, `gcc (Debian 12.2.0-14+deb12u1) 12.2.0` → `12.2.0`.
pub fn version_in_line(line: &str) -> Option<String> {
    line.split_whitespace().find_map(|word| {
        let parts = version_parts(word)?;
        // A lone number (a year, a build id) is not a version.
        (parts.len() >= 2).then(|| {
            parts
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(".")
        })
    })
}

/// The minimum version `scripts/min-tool-version.sh` prints for `tool` on x86: within the
/// tool's `case` arm, the `else` branch's `echo` (architecture-specific branches come
/// first), or the only `echo`. The script is read, never executed.
pub fn min_tool_version(script: &str, tool: &str) -> Option<String> {
    let arm = format!("{tool})");
    let mut lines = script
        .lines()
        .map(str::trim)
        .skip_while(|l| *l != arm)
        .skip(1)
        .take_while(|l| *l != ";;");
    let mut first = None;
    let mut in_else = false;
    for line in lines.by_ref() {
        if line == "else" {
            in_else = true;
        } else if let Some(v) = line.strip_prefix("echo ") {
            let v = v.trim().trim_matches('"').to_owned();
            if in_else {
                return Some(v);
            }
            first.get_or_insert(v);
        }
    }
    first
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_values_strings_and_unset_options() {
        let c = Kconfig::parse(
            "# CONFIG_RUST is not set\nCONFIG_MODULES=y\nCONFIG_CLANG_VERSION=190107\n\
             CONFIG_RUSTC_VERSION_TEXT=\"rustc 1.95.0 (59807616e 2026-04-14)\"\n\
             CONFIG_X=\"a \\\"q\\\" \\\\ b\"\n",
        );
        assert!(!c.is_y("RUST"));
        assert_eq!(c.get("RUST"), None);
        assert!(c.is_y("MODULES"));
        assert_eq!(c.number("CLANG_VERSION"), Some(190107));
        assert_eq!(
            c.get("RUSTC_VERSION_TEXT"),
            Some("rustc 1.95.0 (59807616e 2026-04-14)")
        );
        assert_eq!(c.get("X"), Some("a \"q\" \\ b"));
    }

    #[test]
    fn versions() {
        assert_eq!(decode_version(190107), "19.1.7");
        assert_eq!(decode_version(140200), "14.2.0");
        assert_eq!(major("12.2.0-14+deb12u1"), Some(12));
        assert_eq!(version_ge("0.73.2", "0.71.1"), Some(true));
        assert_eq!(version_ge("0.71", "0.71.1"), Some(false));
        assert_eq!(version_ge("1.85.0", "1.85"), Some(true));
        assert_eq!(version_ge("x", "1"), None);
        assert_eq!(
            version_in_line("Debian clang version 19.1.7 (3~deb12u1)").as_deref(),
            Some("19.1.7")
        );
        assert_eq!(
            version_in_line("gcc (Debian 12.2.0-14+deb12u1) 12.2.0").as_deref(),
            Some("12.2.0")
        );
        assert_eq!(
            version_in_line("Debian LLD 19.1.7 (compatible with GNU linkers)").as_deref(),
            Some("19.1.7")
        );
        assert_eq!(version_in_line("no version here 2026"), None);
    }

    // The 7.3 script, verbatim in the parts that matter.
    const SCRIPT: &str = r#"case "$1" in
binutils)
	echo 2.30.0
	;;
rustc)
	if [ "$SRCARCH" = "s390" ]; then
		echo 1.96.0
	elif [ "$ARCH" = powerpc ]; then
		echo 1.95.0
	else
		echo 1.85.0
	fi
	;;
bindgen)
	echo 0.71.1
	;;
*)
"#;

    #[test]
    fn reads_min_tool_versions_without_running_the_script() {
        assert_eq!(min_tool_version(SCRIPT, "rustc").as_deref(), Some("1.85.0"));
        assert_eq!(
            min_tool_version(SCRIPT, "bindgen").as_deref(),
            Some("0.71.1")
        );
        assert_eq!(min_tool_version(SCRIPT, "pahole"), None);
    }
}
