//! Property tests for the settings layers: TOML files, the environment, flags,
//! and how `resolve` merges them.

use proptest::prelude::*;
use settings::{resolve, Key, Kind, Layer, SettingsError, Source, KEYS};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn config() -> ProptestConfig {
    ProptestConfig {
        // 256 cases unless PROPTEST_CASES says otherwise.
        // No `proptest-regressions/` files in the crate: failures are reported, not stored.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Environment variables that are mempoolctl's own but no settings.
const NON_SETTING_ENV: &[&str] = &[
    "MEMPOOLCTL_ROOT",
    "MEMPOOLCTL_CONFIG",
    "MEMPOOLCTL_CACHE",
    "MEMPOOLCTL_KEEP",
];

/// A valid value for `key`. Integers stay within TOML's i64.
fn valid_value(key: &'static Key) -> BoxedStrategy<String> {
    match key.kind {
        Kind::Integer => prop_oneof![0u64..100, 0..=i64::MAX as u64]
            .prop_map(|n| n.to_string())
            .boxed(),
        Kind::Path => prop_oneof!["[a-z/._-]{1,16}", "\\PC{1,10}", "[^\u{0}]{1,8}"].boxed(),
        Kind::Choice(words) => proptest::sample::select(words)
            .prop_map(str::to_owned)
            .boxed(),
    }
}

/// A value `resolve` must refuse for `key`.
fn invalid_value(key: &'static Key) -> BoxedStrategy<String> {
    match key.kind {
        Kind::Integer => prop_oneof![
            "-[1-9][0-9]{0,5}",
            "[0-9]{0,3}[a-z .][0-9]{0,3}",
            Just(String::new()),
            Just("18446744073709551616".to_owned()),
        ]
        .boxed(),
        Kind::Path => Just(String::new()).boxed(),
        Kind::Choice(words) => "[a-z-]{0,8}"
            .prop_filter("must be no choice", move |w| !words.contains(&w.as_str()))
            .boxed(),
    }
}

/// For every key: maybe a valid value.
fn assignment() -> impl Strategy<Value = Vec<Option<String>>> {
    KEYS.iter()
        .map(|k| proptest::option::of(valid_value(k)))
        .collect::<Vec<_>>()
}

/// A valid value for every key.
fn full_assignment() -> impl Strategy<Value = Vec<String>> {
    KEYS.iter().map(valid_value).collect::<Vec<_>>()
}

/// A TOML basic string holding `s`.
fn toml_basic(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\u{:04X}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// How a value is spelled in the generated TOML.
#[derive(Debug, Clone, Copy)]
enum Spelling {
    Plain,
    /// Integers with `_` separators or in hex; strings as literal strings when possible.
    Alternative,
}

fn toml_value(kind: Kind, value: &str, spelling: Spelling) -> String {
    match (kind, spelling) {
        (Kind::Integer, Spelling::Plain) => value.to_owned(),
        (Kind::Integer, Spelling::Alternative) => {
            let n: u64 = value.parse().unwrap();
            if n & 1 == 0 {
                format!("0x{n:x}")
            } else {
                // 1234567 -> 1_234_567
                let digits = n.to_string();
                let groups: Vec<&str> = digits
                    .as_bytes()
                    .rchunks(3)
                    .rev()
                    .map(|g| std::str::from_utf8(g).unwrap())
                    .collect();
                groups.join("_")
            }
        }
        (_, Spelling::Alternative)
            if !value.contains('\'') && !value.chars().any(|c| c.is_control()) =>
        {
            format!("'{value}'")
        }
        _ => toml_basic(value),
    }
}

/// TOML text setting the given keys: `[section]` tables (in a given order) or
/// dotted keys at the top level.
fn render_toml(
    values: &[Option<String>],
    dotted: bool,
    spelling: Spelling,
    reverse: bool,
) -> String {
    let mut sections: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (key, value) in KEYS.iter().zip(values) {
        let Some(value) = value else { continue };
        let (section, name) = key.name.split_once('.').unwrap();
        let v = toml_value(key.kind, value, spelling);
        let line = if dotted {
            format!("{section}.{name} = {v}\n")
        } else {
            format!("{name} = {v}\n")
        };
        sections.entry(section).or_default().push(line);
    }
    let mut order: Vec<_> = sections.into_iter().collect();
    if reverse {
        order.reverse();
    }
    let mut text = String::from("# generated\n");
    for (section, lines) in order {
        if !dotted {
            text += &format!("\n[{section}]\n");
        }
        for l in lines {
            text += &l;
        }
    }
    text
}

fn env_vars(values: &[Option<String>]) -> Vec<(String, String)> {
    KEYS.iter()
        .zip(values)
        .filter_map(|(k, v)| v.as_ref().map(|v| (k.env.to_owned(), v.clone())))
        .collect()
}

fn flags(values: &[Option<String>]) -> Layer {
    Layer::flags(KEYS.iter().zip(values).map(|(k, v)| (k.name, v.clone())))
}

/// Checks that `resolve`'s result holds `values` (from `source`) over the defaults.
fn check_resolved(
    layers: &[Layer],
    expect: &[Option<(String, Source)>],
) -> Result<(), TestCaseError> {
    let s = resolve(layers).map_err(|e| TestCaseError::fail(format!("resolve failed: {e}")))?;
    for (key, want) in KEYS.iter().zip(expect) {
        let want = want
            .clone()
            .or_else(|| key.default.map(|d| (d.to_owned(), Source::Default)));
        let got = s.get(key.name).map(|(v, src)| (v.to_owned(), src.clone()));
        prop_assert_eq!(&got, &want, "{}", key.name);
        prop_assert_eq!(
            s.source(key.name),
            want.map_or(Source::Default, |(_, src)| src)
        );
    }
    Ok(())
}

/// One layer of a precedence test.
#[derive(Debug, Clone)]
enum LayerKind {
    Flag,
    Env,
    File(PathBuf),
}

fn layer_kind() -> impl Strategy<Value = LayerKind> {
    prop_oneof![
        Just(LayerKind::Flag),
        Just(LayerKind::Env),
        "/etc/[a-z]{1,6}\\.toml".prop_map(|p| LayerKind::File(PathBuf::from(p))),
    ]
}

/// Where `resolve` says a value of `key` from a layer of this kind came from.
fn source_of(kind: &LayerKind, key: &Key) -> Source {
    match kind {
        LayerKind::Flag => Source::Flag,
        LayerKind::Env => Source::Env(key.env),
        LayerKind::File(p) => Source::File(p.clone()),
    }
}

fn build_layer(kind: &LayerKind, values: &[Option<String>]) -> (Layer, Vec<Option<Source>>) {
    let layer = match kind {
        LayerKind::Flag => flags(values),
        LayerKind::Env => Layer::from_env(env_vars(values)).unwrap(),
        LayerKind::File(p) => {
            Layer::from_toml(&render_toml(values, false, Spelling::Plain, false), p).unwrap()
        }
    };
    let sources = KEYS
        .iter()
        .zip(values)
        .map(|(k, v)| v.as_ref().map(|_| source_of(kind, k)))
        .collect();
    (layer, sources)
}

/// Text shaped like a config file, often valid, often not.
fn toml_soup() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        proptest::sample::select(
            &[
                "[module]",
                "[build]",
                "[vm]",
                "[output]",
                "[x]",
                "[module",
                "[[vm]]",
                "module = 1",
                ""
            ][..]
        )
        .prop_map(str::to_owned),
        (
            proptest::sample::select(
                &[
                    "flavor",
                    "min_nr",
                    "object_size",
                    "ko",
                    "kdir",
                    "module_dir",
                    "jobs",
                    "kernel",
                    "scenario",
                    "accel",
                    "timeout",
                    "memory_mb",
                    "color",
                    "typo",
                    "module.min_nr",
                    "vm.accel",
                ][..]
            ),
            proptest::sample::select(
                &[
                    "6",
                    "-1",
                    "0",
                    "9223372036854775807",
                    "1.5",
                    "true",
                    "\"c\"",
                    "\"rust\"",
                    "\"\"",
                    "\"x\"",
                    "'tcg'",
                    "[1]",
                    "{ a = 1 }",
                    "\"unterminated",
                    "1979-05-27",
                ][..]
            ),
        )
            .prop_map(|(k, v)| format!("{k} = {v}")),
        "\\PC{0,12}",
    ];
    proptest::collection::vec(line, 0..8).prop_map(|l| l.join("\n"))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn from_toml_never_panics_and_errors_name_the_file(
        text in prop_oneof![any::<String>(), toml_soup()],
    ) {
        let path = Path::new("/etc/mempoolctl.toml");
        match Layer::from_toml(&text, path) {
            Ok(layer) => {
                prop_assert_eq!(layer.source(), &Source::File(path.to_owned()));
                match resolve(&[layer]) {
                    Ok(s) => {
                        for key in KEYS {
                            let src = s.source(key.name);
                            prop_assert!(src == Source::Default || src == Source::File(path.to_owned()));
                        }
                    }
                    Err(SettingsError::BadValue { origin, .. }) => {
                        prop_assert_eq!(origin, Source::File(path.to_owned()));
                    }
                    Err(e) => prop_assert!(false, "resolve: {}", e),
                }
            }
            Err(SettingsError::Syntax { path: p, .. }) => prop_assert_eq!(p, path),
            Err(SettingsError::UnknownKey { name, origin }) => {
                prop_assert!(!KEYS.iter().any(|k| k.name == name), "{} is known", name);
                prop_assert_eq!(origin, Source::File(path.to_owned()));
            }
            Err(SettingsError::BadValue { name, origin, .. }) => {
                prop_assert!(KEYS.iter().any(|k| k.name == name));
                prop_assert_eq!(origin, Source::File(path.to_owned()));
            }
            Err(e) => prop_assert!(false, "unexpected error: {}", e),
        }
    }

    #[test]
    fn valid_files_round_trip_through_resolve(
        values in assignment(),
        dotted in any::<bool>(),
        alternative in any::<bool>(),
        reverse in any::<bool>(),
    ) {
        let spelling = if alternative { Spelling::Alternative } else { Spelling::Plain };
        let text = render_toml(&values, dotted, spelling, reverse);
        let path = Path::new("/home/u/.config/mempoolctl/config.toml");
        let layer = Layer::from_toml(&text, path)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        let expect: Vec<_> = values
            .iter()
            .map(|v| v.clone().map(|v| (v, Source::File(path.to_owned()))))
            .collect();
        check_resolved(&[layer], &expect)?;
    }

    #[test]
    fn environment_round_trips_through_resolve(
        values in assignment(),
        others in proptest::collection::btree_map(
            prop_oneof![
                proptest::sample::select(NON_SETTING_ENV).prop_map(str::to_owned),
                "[A-Z][A-Z_]{0,12}".prop_filter("no MEMPOOLCTL_ prefix", |n| !n.starts_with("MEMPOOLCTL_")),
                Just("mempoolctl_min_nr".to_owned()),
                Just("XMEMPOOLCTL_MIN_NR".to_owned()),
            ],
            "\\PC{0,8}",
            0..5,
        ),
        shuffle in any::<proptest::sample::Index>(),
    ) {
        let mut vars = env_vars(&values);
        vars.extend(others);
        // Order does not matter: the settings end up anywhere among the others.
        let at = shuffle.index(vars.len() + 1) % (vars.len() + 1);
        let n = vars.len();
        vars.rotate_left(at.min(n));
        let layer = Layer::from_env(vars).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let expect: Vec<_> = KEYS
            .iter()
            .zip(&values)
            .map(|(k, v)| v.clone().map(|v| (v, Source::Env(k.env))))
            .collect();
        check_resolved(&[layer], &expect)?;
    }

    #[test]
    fn environment_typos_are_refused(
        values in assignment(),
        typos in proptest::collection::btree_set(
            "MEMPOOLCTL_[A-Z_]{0,12}".prop_filter("must be no known variable", |n| {
                !KEYS.iter().any(|k| k.env == n) && !NON_SETTING_ENV.contains(&n.as_str())
            }),
            1..3,
        ),
        at in any::<proptest::sample::Index>(),
    ) {
        let mut vars = env_vars(&values);
        let i = at.index(vars.len() + 1);
        for (j, t) in typos.iter().enumerate() {
            vars.insert(i.min(vars.len()) + j, (t.clone(), "1".to_owned()));
        }
        match Layer::from_env(vars) {
            Err(SettingsError::UnknownEnv { name }) => prop_assert!(typos.contains(&name), "{}", name),
            other => prop_assert!(false, "{:?} accepted: {:?}", typos, other.map(|l| l.source().clone())),
        }
    }

    #[test]
    fn highest_layer_with_the_key_wins(
        layers in proptest::collection::vec((layer_kind(), assignment()), 0..4),
    ) {
        let mut built = Vec::new();
        let mut expect: Vec<Option<(String, Source)>> = vec![None; KEYS.len()];
        for (kind, values) in &layers {
            let (layer, sources) = build_layer(kind, values);
            built.push(layer);
            for ((slot, value), source) in expect.iter_mut().zip(values).zip(sources) {
                if slot.is_none() {
                    *slot = value.clone().zip(source);
                }
            }
        }
        check_resolved(&built, &expect)?;
    }

    #[test]
    fn flag_env_file_precedence_per_key(
        present in proptest::collection::vec(any::<[bool; 3]>(), KEYS.len()),
        values in proptest::collection::vec(full_assignment(), 3),
    ) {
        // Layer i (flag, env, file) holds key k only if present[k][i].
        let pick = |i: usize| -> Vec<Option<String>> {
            (0..KEYS.len()).map(|k| present[k][i].then(|| values[i][k].clone())).collect()
        };
        let (flag, env, file) = (pick(0), pick(1), pick(2));
        let path = PathBuf::from("/etc/mempoolctl.toml");
        let layers = [
            flags(&flag),
            Layer::from_env(env_vars(&env)).unwrap(),
            Layer::from_toml(&render_toml(&file, false, Spelling::Plain, false), &path).unwrap(),
        ];
        let expect: Vec<Option<(String, Source)>> = KEYS
            .iter()
            .enumerate()
            .map(|(k, key)| {
                flag[k].clone().map(|v| (v, Source::Flag))
                    .or_else(|| env[k].clone().map(|v| (v, Source::Env(key.env))))
                    .or_else(|| file[k].clone().map(|v| (v, Source::File(path.clone()))))
            })
            .collect();
        check_resolved(&layers, &expect)?;
    }

    #[test]
    fn invalid_winning_values_are_refused_naming_key_and_source(
        (k, value) in (0..KEYS.len()).prop_flat_map(|k| (Just(k), invalid_value(&KEYS[k]))),
        kind in layer_kind(),
        lower in assignment(),
    ) {
        let key = &KEYS[k];
        let mut top: Vec<Option<String>> = vec![None; KEYS.len()];
        top[k] = Some(value.clone());
        let (layer, expected_origin) = match &kind {
            LayerKind::Flag => (flags(&top), Source::Flag),
            LayerKind::Env => (Layer::from_env(env_vars(&top)).unwrap(), Source::Env(key.env)),
            LayerKind::File(p) => {
                // A file carries integers as TOML integers: a bad one is a string.
                let (section, name) = key.name.split_once('.').unwrap();
                let text = format!("[{section}]\n{name} = {}\n", toml_basic(&value));
                match Layer::from_toml(&text, p) {
                    Ok(l) => (l, Source::File(p.clone())),
                    Err(SettingsError::BadValue { name, origin, .. }) => {
                        prop_assert_eq!(key.kind, Kind::Integer);
                        prop_assert_eq!(name, key.name);
                        prop_assert_eq!(origin, Source::File(p.clone()));
                        return Ok(());
                    }
                    Err(e) => return Err(TestCaseError::fail(e.to_string())),
                }
            }
        };
        // Valid values in a lower layer do not rescue it.
        match resolve(&[layer, flags(&lower)]) {
            Err(SettingsError::BadValue { name, origin, problem }) => {
                prop_assert_eq!(name, key.name);
                prop_assert_eq!(origin, expected_origin);
                prop_assert!(problem.contains(&format!("{value:?}")) || value.is_empty(), "{}", problem);
            }
            Err(e) => prop_assert!(false, "unexpected error {}", e),
            Ok(_) => prop_assert!(false, "{:?} accepted for {}", value, key.name),
        }
    }

    #[test]
    fn toml_type_mismatches_are_refused(
        k in 0..KEYS.len(),
        n in any::<i64>(),
        s in "[a-z]{0,6}",
    ) {
        let key = &KEYS[k];
        let (section, name) = key.name.split_once('.').unwrap();
        let wrong = match key.kind {
            Kind::Integer => toml_basic(&s),
            _ => n.to_string(),
        };
        let path = Path::new("/etc/mempoolctl.toml");
        match Layer::from_toml(&format!("[{section}]\n{name} = {wrong}\n"), path) {
            Err(SettingsError::BadValue { name, origin, .. }) => {
                prop_assert_eq!(name, key.name);
                prop_assert_eq!(origin, Source::File(path.to_owned()));
            }
            other => prop_assert!(false, "{} = {} gave {:?}", key.name, wrong, other.map(|l| l.source().clone())),
        }
    }
}
