//! Property tests for the guest results channel (TAP lines, the verdict,
//! figures, kernel log lines) and for splat detection in the console.

use proptest::prelude::*;
use vm::qemu::kernel_log;
use vm::scenario::{parse_figures, parse_results, TestResult, Verdict};
use vm::{find_splats, Splat};

fn config() -> ProptestConfig {
    ProptestConfig {
        // 256 cases unless PROPTEST_CASES says otherwise.
        // No `proptest-regressions/` files in the crate: failures are reported, not stored.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// A check name as a scenario writes it: printable, and without ` # ` (which
/// starts the detail), also not at the joint with the detail.
fn test_name() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z_]{1,12}", "[ -~]{0,20}", "\\PC{0,12}"]
        .prop_filter("no ` # ` in the name", |n| !format!("{n} ").contains(" # "))
}

fn detail() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,24}",
        "\\PC{0,12}",
        // A detail may itself hold ` # ` and ` - `.
        "[a-z]{0,4}( # | - )[a-z#]{0,4}",
        Just("expected '6', got '5'".to_owned()),
    ]
}

fn test_result() -> impl Strategy<Value = TestResult> {
    (
        any::<u32>(),
        test_name(),
        any::<bool>(),
        proptest::option::of(detail()),
    )
        .prop_map(|(number, name, ok, detail)| TestResult {
            number,
            name,
            ok,
            detail,
            centis: None,
        })
}

fn tap_line(t: &TestResult) -> String {
    let status = if t.ok { "ok" } else { "not ok" };
    match &t.detail {
        Some(d) => format!("{status} {} - {} # {d}", t.number, t.name),
        None => format!("{status} {} - {}", t.number, t.name),
    }
}

fn verdict() -> impl Strategy<Value = Verdict> {
    (any::<bool>(), any::<u32>(), any::<u32>()).prop_map(|(pass, tests, failed)| Verdict {
        pass,
        tests,
        failed,
    })
}

fn verdict_line(v: &Verdict) -> String {
    format!(
        "VERDICT {} tests={} failed={}",
        if v.pass { "pass" } else { "fail" },
        v.tests,
        v.failed
    )
}

/// Lines the results parser must ignore: shell noise, TAP plans and comments,
/// and near misses of TAP lines.
fn noise_line() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(
            &[
                "1..12",
                "# kmsg [1.0] rust_mempool: loaded",
                "okay 1 - x",
                "ok1 - x",
                "not ok - missing number",
                "ok x - not a number",
                "ok -1 - negative",
                "ok 4294967296 - too big",
                " ok 1 - indented",
                "ok 1 -no space",
                "VERDICTpass tests=1 failed=0",
                "",
            ][..]
        )
        .prop_map(str::to_owned),
        "[ -~]{0,30}".prop_filter("must be noise", |l| {
            !l.starts_with("ok ")
                && !l.starts_with("not ok ")
                && !l.starts_with("VERDICT ")
                && !l.starts_with("# uptime_cs ")
        }),
    ]
}

/// One item of a results channel.
#[derive(Debug, Clone)]
enum Item {
    Test(TestResult),
    Noise(String),
}

/// Console text built from kernel-report fragments, near misses and noise.
fn console_text() -> impl Strategy<Value = String> {
    let piece = proptest::sample::select(
        &[
            "BUG: KASAN:",
            "KASAN:",
            "KASAN",
            "kmemleak:",
            "kmemleak",
            " 1 new suspected memory leaks",
            "suspected memory leak",
            "Kernel memory leak detector initialized",
            "WARNING: possible circular locking",
            "WARNING: possible recursive locking",
            "WARNING: inconsistent lock state",
            "BUG: sleeping function called from invalid context",
            "Objects remaining",
            "Slab cache still has objects",
            "BUG:",
            "BUG",
            "kernel BUG at",
            "WARNING:",
            "WARNING",
            "Oops:",
            "general protection fault",
            "Kernel panic",
            "UBSAN:",
            "INFO: task",
            "rcu: INFO:",
            "INFO:",
            " has 64 allocated at module unload",
            "BUG_ON",
            "[    1.000000] ",
            "rust_mempool: ",
            "x",
            " ",
            "  ",
            ":",
        ][..],
    );
    let line = proptest::collection::vec(piece, 0..5).prop_map(|p| p.concat());
    proptest::collection::vec(line, 0..12).prop_map(|l| l.join("\n"))
}

fn summary(splats: &[Splat]) -> Vec<(&'static str, usize, String)> {
    splats
        .iter()
        .map(|s| (s.kind, s.line, s.text.clone()))
        .collect()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn parse_results_never_panics_and_only_reports_tap_lines(
        text in prop_oneof![
            any::<String>(),
            proptest::collection::vec(
                prop_oneof![
                    noise_line(),
                    test_result().prop_map(|t| tap_line(&t)),
                    verdict().prop_map(|v| verdict_line(&v)),
                    "(ok |not ok |VERDICT )[ -~]{0,16}",
                ],
                0..10,
            )
            .prop_map(|l| l.join("\n")),
        ]
    ) {
        let (tests, verdict) = parse_results(&text);
        let tap_lines = text
            .lines()
            .filter(|l| l.starts_with("ok ") || l.starts_with("not ok "))
            .count();
        prop_assert!(tests.len() <= tap_lines);
        // Every result is written back as a line that is in the text.
        for t in &tests {
            let line = tap_line(t);
            prop_assert!(
                text.lines().any(|l| l.trim_end_matches('\r') == line),
                "{:?} not in {:?}", line, text
            );
        }
        if let Some(v) = verdict {
            let line = text.lines().rev().find(|l| l.starts_with("VERDICT ")).unwrap();
            let status = if v.pass { "VERDICT pass" } else { "VERDICT fail" };
            let (tests, failed) = (format!("tests={}", v.tests), format!("failed={}", v.failed));
            prop_assert!(line.starts_with(status), "{:?} from {:?}", v, line);
            prop_assert!(line.split_whitespace().any(|w| w == tests), "{:?} from {:?}", v, line);
            prop_assert!(line.split_whitespace().any(|w| w == failed), "{:?} from {:?}", v, line);
        }
    }

    #[test]
    fn tap_lines_and_verdict_round_trip(
        items in proptest::collection::vec(
            prop_oneof![
                3 => test_result().prop_map(Item::Test),
                1 => noise_line().prop_map(Item::Noise),
            ],
            0..12,
        ),
        verdict in proptest::option::of(verdict()),
        crlf in any::<bool>(),
        final_newline in any::<bool>(),
    ) {
        let mut lines: Vec<String> = items
            .iter()
            .map(|i| match i {
                Item::Test(t) => tap_line(t),
                Item::Noise(n) => n.clone(),
            })
            .collect();
        if let Some(v) = &verdict {
            lines.push(verdict_line(v));
        }
        let eol = if crlf { "\r\n" } else { "\n" };
        let mut text = lines.join(eol);
        if final_newline {
            text += eol;
        }
        let want: Vec<TestResult> = items
            .iter()
            .filter_map(|i| match i {
                Item::Test(t) => Some(t.clone()),
                Item::Noise(_) => None,
            })
            .collect();
        let (tests, got_verdict) = parse_results(&text);
        prop_assert_eq!(tests, want);
        prop_assert_eq!(got_verdict, verdict);
    }

    #[test]
    fn a_truncated_verdict_is_no_verdict(v in verdict(), cut in 8usize..20) {
        // Cut inside `pass`/`fail` or before the first count's digits.
        let line = verdict_line(&v);
        let cut = cut.min(line.find("tests=").unwrap() + "tests=".len());
        let (tests, got) = parse_results(&format!("ok 1 - a\n{}", &line[..cut]));
        prop_assert_eq!(tests.len(), 1);
        prop_assert_eq!(got, None);
    }

    #[test]
    fn figures_are_summed_by_name_in_order_of_first_appearance(
        figures in proptest::collection::vec(
            (proptest::sample::select(&["cycles", "bad_inputs", "leaks", "ops"][..]), any::<u32>()),
            0..12,
        ),
        noise in proptest::collection::vec(noise_line(), 0..4),
        crlf in any::<bool>(),
    ) {
        let eol = if crlf { "\r\n" } else { "\n" };
        let mut text: String = figures
            .iter()
            .map(|(n, v)| format!("# figure {n}={v}{eol}"))
            .collect();
        for n in &noise {
            text += &format!("{n}{eol}");
        }
        let mut want: Vec<(String, u64)> = Vec::new();
        for (n, v) in &figures {
            match want.iter_mut().find(|(w, _)| w == n) {
                Some((_, sum)) => *sum += u64::from(*v),
                None => want.push(((*n).to_owned(), u64::from(*v))),
            }
        }
        prop_assert_eq!(parse_figures(&text), want);
    }

    #[test]
    fn parse_figures_reads_only_figure_lines(
        // Arbitrary text; figure values stay small so that sums cannot overflow.
        lines in proptest::collection::vec(
            prop_oneof![
                any::<String>(),
                "[ -~]{0,20}",
                ("[a-z_=]{0,8}", any::<u16>(), "[ x]{0,2}").prop_map(|(n, v, t)| format!("# figure {n}={v}{t}")),
                "# figure [a-z]{0,4}=[^\n]{0,6}",
            ],
            0..10,
        )
    ) {
        let text = lines.join("\n");
        for (name, value) in parse_figures(&text) {
            prop_assert!(!name.contains('\n'));
            prop_assert!(
                text.lines().any(|l| l.starts_with(&format!("# figure {name}="))),
                "{:?} ({}) from no figure line", name, value
            );
        }
    }

    #[test]
    fn kernel_log_is_the_kmsg_lines(
        items in proptest::collection::vec(
            prop_oneof![
                "[ -~]{0,24}".prop_map(|l| (true, l)),
                noise_line().prop_filter("no kmsg", |l| !l.starts_with("# kmsg ")).prop_map(|l| (false, l)),
            ],
            0..10,
        ),
    ) {
        let text: String = items
            .iter()
            .map(|(kmsg, l)| if *kmsg { format!("# kmsg {l}\n") } else { format!("{l}\n") })
            .collect();
        let want: String = items
            .iter()
            .filter(|(kmsg, _)| *kmsg)
            .map(|(_, l)| format!("{l}\n"))
            .collect();
        prop_assert_eq!(kernel_log(&text), want);
    }

    #[test]
    fn splats_point_at_their_lines(console in prop_oneof![console_text(), any::<String>()]) {
        let lines: Vec<&str> = console.lines().collect();
        let splats = find_splats(&console);
        for (i, s) in splats.iter().enumerate() {
            prop_assert_eq!(s.source, "console");
            prop_assert!(s.line >= 1 && s.line <= lines.len());
            prop_assert_eq!(s.text.as_str(), lines[s.line - 1].trim());
            // Reported once, in order.
            prop_assert!(splats[..i].iter().all(|p| p.text != s.text && p.line < s.line));
            // The kind is the line's own (which lines are reports is kmsg's
            // table, tested there on real kernel lines; this is the bookkeeping).
            prop_assert_eq!(Some(s.kind), kmsg::report_kind(&s.text), "{:?}", s.text);
        }
    }

    #[test]
    fn every_report_line_is_found(console in console_text()) {
        let splats = find_splats(&console);
        for line in console.lines() {
            prop_assert_eq!(
                splats.iter().any(|s| s.text == line.trim()),
                kmsg::report_kind(line).is_some(),
                "{:?}", line
            );
        }
    }

    #[test]
    fn echoed_lines_are_no_second_report(console in console_text(), echo_prefix in "[ ]{0,3}") {
        let once = find_splats(&console);
        // mempoolctl prints the kernel lines it found: the same text again.
        let echoed: String = once.iter().map(|s| format!("{echo_prefix}{}\n", s.text)).collect();
        let twice = find_splats(&format!("{console}\n{echoed}"));
        prop_assert_eq!(summary(&twice), summary(&once));
    }
}
