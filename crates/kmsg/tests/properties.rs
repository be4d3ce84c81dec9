//! Property tests for reading `<root>/dev/kmsg` and the line filters.

use kmsg::{bad_news, module_lines, read_all, LogLine};
use proptest::prelude::*;
use std::path::Path;

fn config() -> ProptestConfig {
    ProptestConfig {
        // 256 cases unless PROPTEST_CASES says otherwise.
        // No `proptest-regressions/` files in the crate: failures are reported, not stored.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// A temporary root, on tmpfs when the machine has one (fast, no disk I/O).
fn scratch() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(t) = tempfile::tempdir_in(shm) {
            return t;
        }
    }
    tempfile::tempdir().unwrap()
}

/// One `/dev/kmsg` record as the kernel writes it.
#[derive(Debug, Clone)]
struct Record {
    /// Syslog facility (0 = kernel); `rmesg` knows 0..=11.
    facility: u8,
    level: u8,
    seq: u64,
    usec: u64,
    message: String,
}

/// Printable text without line breaks, with the separators the format uses.
fn message() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,40}",
        "[a-z_]{1,12}: [ -~]{0,30}",
        "[ ,;=\\-a-z0-9]{0,20}",
    ]
}

fn record() -> impl Strategy<Value = Record> {
    (0u8..12, 0u8..8, any::<u64>(), any::<u64>(), message()).prop_map(
        |(facility, level, seq, usec, message)| Record {
            facility,
            level,
            seq,
            usec,
            message,
        },
    )
}

/// A record's fields as `LogLine` has them: level, seq, usec, message.
type Fields<'a> = (Option<u8>, Option<u64>, Option<u64>, &'a str);

fn kmsg_text(records: &[Record]) -> String {
    records
        .iter()
        .map(|r| {
            let prefix = u32::from(r.facility) << 3 | u32::from(r.level);
            format!("{prefix},{},{},-;{}\n", r.seq, r.usec, r.message)
        })
        .collect()
}

fn line(seq: Option<u64>, message: String) -> LogLine {
    LogLine {
        seq,
        usec: None,
        level: None,
        message,
    }
}

/// A message that does not start with `<module>: `, built to come close.
fn foreign_message(module: &'static str) -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,20}"
            .prop_map(move |r| format!("{module}:{r}"))
            .prop_filter("must not be ours", move |m| !m
                .starts_with(&format!("{module}: "))),
        "[ -~]{0,20}".prop_map(move |r| format!("{module}x: {r}")),
        "[ -~]{0,20}".prop_map(move |r| format!(" {module}: {r}")),
        "[ -~]{0,20}".prop_map(move |r| format!("other: {module}: {r}")),
        Just(module[..module.len() - 1].to_owned() + ": x"),
        message().prop_filter("must not be ours", move |m| !m
            .starts_with(&format!("{module}: "))),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn read_all_round_trips_records(records in proptest::collection::vec(record(), 0..12)) {
        let t = scratch();
        std::fs::create_dir_all(t.path().join("dev")).unwrap();
        std::fs::write(t.path().join("dev/kmsg"), kmsg_text(&records)).unwrap();
        let lines = read_all(t.path()).unwrap();
        let got: Vec<Fields> = lines
            .iter()
            .map(|l| (l.level, l.seq, l.usec, l.message.as_str()))
            .collect();
        let want: Vec<Fields> = records
            .iter()
            .map(|r| (Some(r.level), Some(r.seq), Some(r.usec), r.message.as_str()))
            .collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn display_shows_seconds_and_micros(usec in any::<u64>(), msg in message()) {
        let l = LogLine { seq: None, usec: Some(usec), level: None, message: msg.clone() };
        let shown = l.display();
        let (stamp, rest) = shown.split_once("] ").unwrap();
        prop_assert_eq!(rest, msg.as_str());
        let (secs, micros) = stamp.trim_start_matches('[').trim().split_once('.').unwrap();
        prop_assert_eq!(micros.len(), 6);
        prop_assert_eq!(secs.parse::<u64>().unwrap(), usec / 1_000_000);
        prop_assert_eq!(micros.parse::<u64>().unwrap(), usec % 1_000_000);
        let bare = LogLine { usec: None, ..l };
        prop_assert_eq!(bare.display(), msg);
    }

    #[test]
    fn module_lines_are_exactly_the_prefixed_ones(
        tagged in proptest::collection::vec(
            prop_oneof![
                "[ -~]{0,20}".prop_map(|r| (true, format!("rust_mempool: {r}"))),
                foreign_message("rust_mempool").prop_map(|m| (false, m)),
            ],
            0..20,
        )
    ) {
        let lines: Vec<LogLine> = tagged
            .iter()
            .enumerate()
            .map(|(i, (_, m))| line(Some(i as u64), m.clone()))
            .collect();
        let got: Vec<&LogLine> = module_lines(&lines, "rust_mempool");
        let want: Vec<&LogLine> = lines
            .iter()
            .zip(&tagged)
            .filter(|(_, (ours, _))| *ours)
            .map(|(l, _)| l)
            .collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn bad_news_never_flags_lowercase_lines(msgs in proptest::collection::vec("[a-z0-9 :_=,.()-]{0,60}", 0..12)) {
        // Every report format the kernel prints has an uppercase keyword
        // (BUG, WARNING:, KASAN) or a fixed phrase a lowercase routine line
        // can contain only by saying it (the unit test has real lines).
        let lines: Vec<LogLine> = msgs
            .iter()
            .filter(|m| {
                ["still has objects", "suspected memory leak", "allocated at module unload", "general protection fault"]
                    .iter()
                    .all(|phrase| !m.contains(phrase))
            })
            .map(|m| line(None, m.clone()))
            .collect();
        prop_assert!(bad_news(&lines).is_empty());
    }
}
