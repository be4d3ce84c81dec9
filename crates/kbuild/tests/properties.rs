//! Property tests for Kconfig fragment parsing and the dropped-option check.

use kbuild::{Fragment, FragmentError};
use proptest::prelude::*;
use std::collections::BTreeMap;

fn config() -> ProptestConfig {
    ProptestConfig {
        // 256 cases unless PROPTEST_CASES says otherwise.
        // No `proptest-regressions/` files in the crate: failures are reported, not stored.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn option_name() -> impl Strategy<Value = String> {
    "CONFIG_[A-Z0-9_]{1,16}"
}

/// Values as Kconfig writes them: tristates, numbers, hex, quoted strings.
fn option_value() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(&["y", "m", "n"][..]).prop_map(str::to_owned),
        any::<u32>().prop_map(|n| n.to_string()),
        any::<u32>().prop_map(|n| format!("0x{n:x}")),
        "\"[ -~]{0,16}\"",
    ]
}

/// How an option is written in a fragment.
#[derive(Debug, Clone)]
enum Spelling {
    /// `CONFIG_X=value` (`value` may be `n`).
    Assign,
    /// `# CONFIG_X is not set`.
    NotSet,
}

/// A fragment line that sets nothing.
fn filler() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[ \t]{1,3}",
        "#[ -~]{0,20}".prop_filter("must be no `is not set` line", |l| !l
            .trim_end()
            .ends_with(" is not set")),
    ]
}

/// Options with distinct names, their spelling, and filler lines around them.
fn fragment_spec(
    size: std::ops::Range<usize>,
) -> impl Strategy<Value = Vec<(String, String, Spelling, Vec<String>, String)>> {
    proptest::collection::btree_map(
        option_name(),
        (
            option_value(),
            prop_oneof![3 => Just(Spelling::Assign), 1 => Just(Spelling::NotSet)],
            proptest::collection::vec(filler(), 0..2),
            "[ \t]{0,2}",
        ),
        size,
    )
    .prop_map(|m| {
        m.into_iter()
            .map(|(name, (value, spelling, fill, indent))| (name, value, spelling, fill, indent))
            .collect()
    })
    .prop_shuffle()
}

fn line_of(name: &str, value: &str, spelling: &Spelling) -> String {
    match spelling {
        Spelling::Assign => format!("{name}={value}"),
        Spelling::NotSet => format!("# {name} is not set"),
    }
}

/// The value a fragment asks for.
fn wanted(value: &str, spelling: &Spelling) -> String {
    match spelling {
        Spelling::Assign => value.to_owned(),
        Spelling::NotSet => "n".to_owned(),
    }
}

/// A resolved `.config` as `olddefconfig` writes it.
fn dot_config(options: &BTreeMap<String, String>) -> String {
    options
        .iter()
        .map(|(name, value)| {
            if value == "n" {
                format!("# {name} is not set\n")
            } else {
                format!("{name}={value}\n")
            }
        })
        .collect()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn parse_never_panics_and_syntax_errors_point_at_the_line(
        text in prop_oneof![
            any::<String>(),
            proptest::collection::vec(
                prop_oneof![
                    "CONFIG_[A-Z]{0,4}=[ny]?",
                    "# CONFIG_[A-Z]{0,4} is not set",
                    "#[ -~]{0,8}",
                    "[ \t]{0,2}",
                    "[ -~]{0,10}",
                ],
                0..8,
            )
            .prop_map(|l| l.join("\n")),
        ]
    ) {
        match Fragment::parse(&text, "frag") {
            Ok(f) => {
                prop_assert_eq!(f.text(), text.as_str());
                // Every line is blank, a comment, or an assignment with a value.
                for raw in text.lines() {
                    let l = raw.trim();
                    prop_assert!(
                        l.is_empty()
                            || l.starts_with('#')
                            || l.split_once('=').is_some_and(|(n, v)| n.starts_with("CONFIG_") && !v.is_empty()),
                        "{:?} accepted", raw
                    );
                }
            }
            Err(FragmentError::Syntax { path, line, text: bad }) => {
                prop_assert_eq!(path, "frag");
                prop_assert_eq!(text.lines().nth(line - 1), Some(bad.as_str()));
                let l = bad.trim();
                prop_assert!(!l.is_empty() && !l.starts_with('#'));
                // The lines before it parse.
                let before: Vec<&str> = text.lines().take(line - 1).collect();
                prop_assert!(Fragment::parse(&before.join("\n"), "frag").is_ok());
            }
            Err(e) => prop_assert!(false, "unexpected {}", e),
        }
    }

    #[test]
    fn fragments_round_trip(spec in fragment_spec(0..10), crlf in any::<bool>()) {
        let eol = if crlf { "\r\n" } else { "\n" };
        let mut text = String::new();
        let mut want = BTreeMap::new();
        for (name, value, spelling, fill, indent) in &spec {
            for f in fill {
                text += &format!("{f}{eol}");
            }
            text += &format!("{indent}{}{indent}{eol}", line_of(name, value, spelling));
            want.insert(name.clone(), wanted(value, spelling));
        }
        let f = Fragment::parse(&text, "frag").map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(f.text(), text.as_str());
        // A .config with exactly what the fragment asks for: nothing dropped.
        prop_assert_eq!(f.missing_in(&dot_config(&want)), Vec::<String>::new());
        // An empty .config: everything the fragment does not set to n is dropped.
        let dropped: Vec<String> = want
            .iter()
            .filter(|(_, v)| *v != "n")
            .map(|(n, v)| format!("{n}={v}"))
            .collect();
        prop_assert_eq!(f.missing_in(""), dropped);
    }

    #[test]
    fn changed_options_are_reported(
        spec in fragment_spec(1..10),
        pick in any::<proptest::sample::Index>(),
        other in option_value(),
        extra in proptest::collection::btree_map("CONFIG_EXTRA_[A-Z]{1,4}", option_value(), 0..4),
    ) {
        let want: BTreeMap<String, String> = spec
            .iter()
            .map(|(n, v, s, _, _)| (n.clone(), wanted(v, s)))
            .collect();
        let text: String = spec.iter().map(|(n, v, s, _, _)| line_of(n, v, s) + "\n").collect();
        let f = Fragment::parse(&text, "frag").unwrap();
        // Options the fragment does not mention change nothing.
        let mut config = want.clone();
        config.extend(extra.into_iter().filter(|(n, _)| !want.contains_key(n)));
        prop_assert_eq!(f.missing_in(&dot_config(&config)), Vec::<String>::new());
        // One option resolved differently is reported, with the wanted value.
        let (name, value) = want.iter().nth(pick.index(want.len())).map(|(n, v)| (n.clone(), v.clone())).unwrap();
        let other = if other == value { format!("{value}0") } else { other };
        config.insert(name.clone(), other);
        prop_assert_eq!(f.missing_in(&dot_config(&config)), vec![format!("{name}={value}")]);
    }
}
