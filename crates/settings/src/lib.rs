//! mempoolctl's settings, merged from four layers. Highest wins:
//!
//! 1. command-line flags,
//! 2. `MEMPOOLCTL_*` environment variables,
//! 3. config files (`--config FILE`, or `$XDG_CONFIG_HOME/mempoolctl/config.toml`
//!    over `/etc/mempoolctl.toml`),
//! 4. built-in defaults.
//!
//! Every key is declared once in [`KEYS`] (TOML name, environment variable,
//! default, type), so the layers cannot drift apart and `config/mempoolctl.toml`
//! is checked against the same table by a test. Each resolved value remembers
//! which layer it came from, for `mempoolctl config` and for error messages.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

pub mod keys;
pub use keys::{Key, Kind, KEYS};

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Default,
    File(PathBuf),
    Env(&'static str),
    Flag,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Default => write!(f, "default"),
            Self::File(p) => write!(f, "{}", p.display()),
            Self::Env(v) => write!(f, "${v}"),
            Self::Flag => write!(f, "command line"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read config file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {} is not valid TOML: {message}", path.display())]
    Syntax { path: PathBuf, message: String },
    #[error(
        "unknown setting `{name}` in {origin}; known settings: {}",
        known_names()
    )]
    UnknownKey { name: String, origin: Source },
    #[error(
        "environment variable {name} is no mempoolctl setting (a typo?); known: {}",
        known_env()
    )]
    UnknownEnv { name: String },
    #[error("environment variable {name} is not valid UTF-8; set it to a plain value or unset it")]
    NotUnicode { name: String },
    #[error("`{name}` from {origin}: {problem}")]
    BadValue {
        name: &'static str,
        origin: Source,
        problem: String,
    },
}

fn known_env() -> String {
    KEYS.iter().map(|k| k.env).collect::<Vec<_>>().join(", ")
}

fn known_names() -> String {
    KEYS.iter().map(|k| k.name).collect::<Vec<_>>().join(", ")
}

/// One layer's raw values, by key name.
#[derive(Debug, Clone)]
pub struct Layer {
    source: Source,
    values: BTreeMap<&'static str, String>,
}

/// Environment variables that are not settings but are still mempoolctl's own.
const NON_SETTING_ENV: &[&str] = &[
    "MEMPOOLCTL_ROOT",
    "MEMPOOLCTL_CONFIG",
    "MEMPOOLCTL_CACHE",
    "MEMPOOLCTL_KEEP",
];

/// 1-based line and column (in characters) of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (
        before.matches('\n').count() + 1,
        before[line_start..].chars().count() + 1,
    )
}

impl Layer {
    /// The command-line layer: `(key name, value if the flag was given)`.
    ///
    /// # Panics
    /// On a key name missing from [`KEYS`]: a programming error caught by tests.
    pub fn flags<I, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (&'static str, Option<V>)>,
        V: ToString,
    {
        let values = pairs
            .into_iter()
            .filter_map(|(name, v)| {
                let key = key(name).unwrap_or_else(|| panic!("flag for unknown setting {name}"));
                v.map(|v| (key.name, v.to_string()))
            })
            .collect();
        Self {
            source: Source::Flag,
            values,
        }
    }

    /// The environment layer from `(name, value)` pairs (`std::env::vars()`).
    /// A `MEMPOOLCTL_*` variable that is no setting is an error: it is a typo.
    pub fn from_env<I>(vars: I) -> Result<Self, SettingsError>
    where
        I: IntoIterator<Item = (String, String)>,
    {
        let mut values = BTreeMap::new();
        for (name, value) in vars {
            if !name.starts_with("MEMPOOLCTL_") || NON_SETTING_ENV.contains(&name.as_str()) {
                continue;
            }
            let Some(key) = KEYS.iter().find(|k| k.env == name) else {
                return Err(SettingsError::UnknownEnv { name });
            };
            values.insert(key.name, value);
        }
        Ok(Self {
            source: Source::Env("MEMPOOLCTL_*"),
            values,
        })
    }

    /// The environment layer from the process's own variables
    /// (`std::env::vars_os()`): variables of other programs may hold any
    /// bytes and are ignored; a `MEMPOOLCTL_*` one must be UTF-8.
    pub fn from_os_env<I>(vars: I) -> Result<Self, SettingsError>
    where
        I: IntoIterator<Item = (std::ffi::OsString, std::ffi::OsString)>,
    {
        let mut ours = Vec::new();
        for (name, value) in vars {
            let Some(name) = name
                .to_str()
                .filter(|n| n.starts_with("MEMPOOLCTL_") && !NON_SETTING_ENV.contains(n))
            else {
                // Other programs' variables, and ours that are paths read
                // as bytes where they are used (MEMPOOLCTL_CONFIG, _ROOT).
                continue;
            };
            let value = value.into_string().map_err(|_| SettingsError::NotUnicode {
                name: name.to_owned(),
            })?;
            ours.push((name.to_owned(), value));
        }
        Self::from_env(ours)
    }

    /// A config file's layer. Sections and keys are checked against [`KEYS`];
    /// integers must be TOML integers and the rest strings.
    pub fn from_toml(text: &str, path: &Path) -> Result<Self, SettingsError> {
        let source = Source::File(path.to_owned());
        let table: toml::Table =
            text.parse()
                .map_err(|e: toml::de::Error| SettingsError::Syntax {
                    path: path.to_owned(),
                    message: match e.span() {
                        Some(span) => {
                            let (line, column) = line_column(text, span.start);
                            format!("line {line}, column {column}: {}", e.message())
                        }
                        None => e.message().to_owned(),
                    },
                })?;
        let mut values = BTreeMap::new();
        for (section, body) in &table {
            let Some(body) = body.as_table() else {
                return Err(SettingsError::UnknownKey {
                    name: section.clone(),
                    origin: source,
                });
            };
            for (name, value) in body {
                let full = format!("{section}.{name}");
                let Some(key) = key(&full) else {
                    return Err(SettingsError::UnknownKey {
                        name: full,
                        origin: source,
                    });
                };
                let raw = match (key.kind, value) {
                    (Kind::Integer, toml::Value::Integer(i)) => i.to_string(),
                    (Kind::Integer, other) => {
                        return Err(bad(
                            key,
                            &source,
                            format!("expected an integer, got {other}"),
                        ))
                    }
                    (_, toml::Value::String(s)) => s.clone(),
                    (_, other) => {
                        return Err(bad(key, &source, format!("expected a string, got {other}")))
                    }
                };
                values.insert(key.name, raw);
            }
        }
        Ok(Self { source, values })
    }

    /// Reads and parses a config file.
    pub fn from_file(path: &Path) -> Result<Self, SettingsError> {
        let text = std::fs::read_to_string(path).map_err(|source| SettingsError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_toml(&text, path)
    }

    /// Source of this layer (for an env layer: the variable per value, see [`resolve`]).
    pub fn source(&self) -> &Source {
        &self.source
    }
}

fn key(name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.name == name)
}

fn bad(key: &Key, source: &Source, problem: String) -> SettingsError {
    SettingsError::BadValue {
        name: key.name,
        origin: source.clone(),
        problem,
    }
}

/// Config files to read, lowest precedence first. `--config FILE` replaces the
/// search (and must exist); otherwise `/etc/mempoolctl.toml` then the user's
/// file, each only if present.
pub fn config_files(
    explicit: Option<&Path>,
    etc: &Path,
    xdg_config_home: Option<&Path>,
    home: Option<&Path>,
) -> Vec<PathBuf> {
    if let Some(p) = explicit {
        return vec![p.to_owned()];
    }
    let user = xdg_config_home
        .map(Path::to_path_buf)
        .or_else(|| home.map(|h| h.join(".config")))
        .map(|d| d.join("mempoolctl/config.toml"));
    [Some(etc.to_owned()), user]
        .into_iter()
        .flatten()
        .filter(|p| p.is_file())
        .collect()
}

/// The merged, typed settings.
#[derive(Debug, Clone)]
pub struct Settings {
    values: BTreeMap<&'static str, (String, Source)>,
}

/// Merges `layers` (highest precedence first) over the defaults and checks
/// every value's type.
pub fn resolve(layers: &[Layer]) -> Result<Settings, SettingsError> {
    let mut values = BTreeMap::new();
    for key in KEYS {
        let found = layers.iter().find_map(|l| {
            l.values.get(key.name).map(|v| {
                let source = match l.source {
                    Source::Env(_) => Source::Env(key.env),
                    ref s => s.clone(),
                };
                (v.clone(), source)
            })
        });
        let Some((value, source)) =
            found.or_else(|| key.default.map(|d| (d.to_owned(), Source::Default)))
        else {
            continue;
        };
        key.kind
            .check(&value)
            .map_err(|problem| bad(key, &source, problem))?;
        values.insert(key.name, (value, source));
    }
    Ok(Settings { values })
}

impl Settings {
    /// Raw value and its source; `None` for an unset optional key.
    pub fn get(&self, name: &str) -> Option<(&str, &Source)> {
        self.values.get(name).map(|(v, s)| (v.as_str(), s))
    }

    fn raw(&self, name: &str) -> Option<&str> {
        self.get(name).map(|(v, _)| v)
    }

    /// An integer setting; its type was checked by [`resolve`].
    pub fn integer(&self, name: &str) -> u64 {
        self.raw(name).and_then(|v| v.parse().ok()).unwrap_or(0)
    }

    /// A string or choice setting; empty when unset.
    pub fn string(&self, name: &str) -> &str {
        self.raw(name).unwrap_or("")
    }

    /// A path setting, `None` when unset.
    pub fn path(&self, name: &str) -> Option<PathBuf> {
        self.raw(name).map(PathBuf::from)
    }

    /// Where `name`'s value came from, for error messages.
    pub fn source(&self, name: &str) -> Source {
        self.get(name)
            .map(|(_, s)| s.clone())
            .unwrap_or(Source::Default)
    }

    /// Every set key as `name = value  # source`, in [`KEYS`] order.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for key in KEYS {
            match self.get(key.name) {
                Some((v, s)) => {
                    let shown = match key.kind {
                        Kind::Integer => v.to_owned(),
                        _ => format!("{v:?}"),
                    };
                    out += &format!("{} = {shown}  # {s}\n", key.name);
                }
                None => out += &format!("# {} unset ({})\n", key.name, key.unset),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests;
