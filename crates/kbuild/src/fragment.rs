//! Kconfig fragments: parsing and checking that `olddefconfig` kept every option.

use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum FragmentError {
    #[error("cannot read config fragment {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}: not a Kconfig assignment (`CONFIG_X=y`, `CONFIG_X=n` or `# CONFIG_X is not set`): {text:?}")]
    Syntax {
        path: String,
        line: usize,
        text: String,
    },
}

/// A parsed fragment: its text (hashed into the cache key) and its assignments.
#[derive(Debug, Clone)]
pub struct Fragment {
    text: String,
    wanted: BTreeMap<String, String>,
}

impl Fragment {
    pub fn load(path: &Path) -> Result<Self, FragmentError> {
        let text = std::fs::read_to_string(path).map_err(|source| FragmentError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    pub fn parse(text: &str, origin: &str) -> Result<Self, FragmentError> {
        let mut wanted = BTreeMap::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() {
                continue;
            }
            if let Some(rest) = line.strip_prefix("# ") {
                // Kconfig's own way to write `n`; any other comment says nothing.
                match rest.strip_suffix(" is not set") {
                    Some(name) if is_option_name(name) => {
                        wanted.insert(name.to_owned(), "n".to_owned());
                    }
                    _ => {}
                }
                continue;
            }
            if line.starts_with('#') {
                continue;
            }
            match line.split_once('=') {
                Some((name, value)) if is_option_name(name) && !value.is_empty() => {
                    wanted.insert(name.to_owned(), value.to_owned());
                }
                _ => {
                    return Err(FragmentError::Syntax {
                        path: origin.to_owned(),
                        line: i + 1,
                        text: raw.to_owned(),
                    })
                }
            }
        }
        Ok(Self {
            text: text.to_owned(),
            wanted,
        })
    }

    /// `self` merged first, then `later`, whose assignments win (Kconfig's
    /// rule for a repeated option, which `merge_config.sh` keeps).
    pub fn overridden_by(self, later: Fragment) -> Fragment {
        let mut wanted = self.wanted;
        wanted.extend(later.wanted);
        Fragment {
            text: format!("{}\n{}", self.text, later.text),
            wanted,
        }
    }

    /// Every option it sets, with its value (`n` for "is not set").
    pub fn assignments(&self) -> impl Iterator<Item = (&str, &str)> {
        self.wanted.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The value it sets `name` to, if it sets it.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.wanted.get(name).map(String::as_str)
    }

    /// The fragment as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Options whose value in a resolved `.config` differs from what the fragment asks.
    pub fn missing_in(&self, config: &str) -> Vec<String> {
        let mut have = BTreeMap::new();
        for line in config.lines() {
            if let Some(name) = line
                .strip_prefix("# ")
                .and_then(|r| r.strip_suffix(" is not set"))
            {
                have.insert(name, "n");
            } else if let Some((name, value)) = line.split_once('=') {
                have.insert(name, value);
            }
        }
        self.wanted
            .iter()
            .filter(|(name, value)| {
                let got = have.get(name.as_str()).copied().unwrap_or("n");
                got != value.as_str()
            })
            .map(|(name, value)| format!("{name}={value}"))
            .collect()
    }
}

/// `CONFIG_` followed by at least one of `[A-Z0-9_]`, as Kconfig writes them.
fn is_option_name(name: &str) -> bool {
    name.strip_prefix("CONFIG_").is_some_and(|rest| {
        !rest.is_empty()
            && rest
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_finds_dropped_options() {
        let f = Fragment::parse(
            "# comment\nCONFIG_RUST=y\nCONFIG_SLUB_TINY=n\n# CONFIG_X is not set\n\n# this is not set\n",
            "f",
        )
        .unwrap();
        // A comment that only reads like Kconfig's `n` sets nothing.
        let names: Vec<&str> = f.assignments().map(|(name, _)| name).collect();
        assert_eq!(names, ["CONFIG_RUST", "CONFIG_SLUB_TINY", "CONFIG_X"]);
        let ok = "CONFIG_RUST=y\n# CONFIG_SLUB_TINY is not set\n";
        assert!(f.missing_in(ok).is_empty());
        let dropped = "# CONFIG_RUST is not set\nCONFIG_SLUB_TINY=y\nCONFIG_X=y\n";
        assert_eq!(
            f.missing_in(dropped),
            vec!["CONFIG_RUST=y", "CONFIG_SLUB_TINY=n", "CONFIG_X=n"]
        );
    }

    #[test]
    fn rejects_garbage_with_line_number() {
        let err = Fragment::parse("CONFIG_A=y\nRUST=y\n", "frag").unwrap_err();
        assert_eq!(
            err.to_string(),
            "frag:2: not a Kconfig assignment (`CONFIG_X=y`, `CONFIG_X=n` or `# CONFIG_X is not set`): \"RUST=y\""
        );
        for bad in ["CONFIG_X = y", "CONFIG_=y", "CONFIG_lower=y"] {
            assert!(Fragment::parse(bad, "f").is_err(), "{bad}");
        }
    }

    #[test]
    fn a_later_fragment_overrides_an_earlier_one() {
        let base = Fragment::parse("CONFIG_A=y\nCONFIG_B=y\n", "base").unwrap();
        let over = Fragment::parse("CONFIG_B=n\nCONFIG_C=y\n", "over").unwrap();
        let both = base.overridden_by(over);
        assert_eq!(
            both.text(),
            "CONFIG_A=y\nCONFIG_B=y\n\nCONFIG_B=n\nCONFIG_C=y\n"
        );
        assert!(both.missing_in("CONFIG_A=y\nCONFIG_C=y\n").is_empty());
        assert_eq!(
            both.missing_in("CONFIG_A=y\nCONFIG_B=y\nCONFIG_C=y\n"),
            vec!["CONFIG_B=n"]
        );
    }

    #[test]
    fn lean_fragment_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/kernel/lean.fragment");
        let f = Fragment::load(&path).unwrap();
        // The lean kernel is the test kernel without KASAN.
        assert!(f
            .missing_in("CONFIG_KASAN=y\n")
            .iter()
            .any(|m| m.starts_with("CONFIG_KASAN")));
    }

    #[test]
    fn repository_fragment_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/kernel/test.fragment");
        let f = Fragment::load(&path).unwrap();
        assert!(f
            .missing_in("CONFIG_RUST=y\n")
            .contains(&"CONFIG_KASAN=y".to_owned()));
    }
}
