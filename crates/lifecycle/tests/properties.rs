//! Property tests for reading the kernel's vermagic complaint.

use lifecycle::expected_vermagic;
use proptest::prelude::*;

fn config() -> ProptestConfig {
    ProptestConfig {
        // 256 cases unless PROPTEST_CASES says otherwise.
        // No `proptest-regressions/` files in the crate: failures are reported, not stored.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Text without single quotes: module names, vermagic strings.
fn quote_free() -> impl Strategy<Value = String> {
    prop_oneof![
        "[^']{0,24}",
        "[0-9]\\.[0-9]{1,2}\\.[0-9]{1,2}(-[a-z0-9]{1,6})? SMP( preempt)? mod_unload( modversions)? ?",
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_should_be_part_round_trips(module in quote_free(), have in quote_free(), want in quote_free()) {
        let message = format!("{module}: version magic '{have}' should be '{want}'");
        prop_assert_eq!(expected_vermagic(&message), Some(want.as_str()));
    }

    #[test]
    fn never_panics_and_answers_only_from_the_complaint(
        message in prop_oneof![
            any::<String>(),
            // Fragments of the complaint, in any order and number.
            proptest::collection::vec(
                prop_oneof![
                    Just("version magic '".to_owned()),
                    Just("' should be '".to_owned()),
                    Just("'".to_owned()),
                    Just("version magic".to_owned()),
                    Just(" should be ".to_owned()),
                    "[a-z0-9. ]{0,6}",
                ],
                0..7,
            )
            .prop_map(|p| p.concat()),
        ]
    ) {
        // An answer is always the tail of a complaint in the message.
        if let Some(v) = expected_vermagic(&message) {
            let tail = format!("' should be '{v}'");
            prop_assert!(message.ends_with(&tail), "{:?} from {:?}", v, message);
            let head = &message[..message.len() - tail.len()];
            prop_assert!(head.contains("version magic '"), "{:?} from {:?}", v, message);
        }
    }

    #[test]
    fn other_lines_give_nothing(message in "[^']{0,40}") {
        prop_assert_eq!(expected_vermagic(&message), None);
    }
}
