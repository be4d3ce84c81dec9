//! Summaries for people and for CI systems (TAP, JUnit).

use crate::qemu::RunOutcome;
use std::fmt::Write;

/// A TAP 13 stream of the guest checks, plus one check for the console.
pub fn tap(outcome: &RunOutcome) -> String {
    let mut s = String::from("TAP version 13\n");
    let n = outcome.tests.len() + 1;
    let _ = writeln!(s, "1..{n}");
    for t in &outcome.tests {
        let _ = match (&t.ok, &t.detail) {
            (true, Some(d)) => writeln!(s, "ok {} - {} # {d}", t.number, t.name),
            (true, None) => writeln!(s, "ok {} - {}", t.number, t.name),
            (false, d) => writeln!(
                s,
                "not ok {} - {} # {}",
                t.number,
                t.name,
                d.as_deref().unwrap_or("")
            ),
        };
    }
    let clean = outcome.splats.is_empty() && outcome.verdict.is_some();
    let _ = writeln!(
        s,
        "{} {n} - kernel console clean and guest finished{}",
        if clean { "ok" } else { "not ok" },
        if clean {
            String::new()
        } else {
            format!(" # {}", outcome.failures().join("; "))
        }
    );
    s
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A JUnit XML report, one testcase per guest check plus the console check.
pub fn junit(suite: &str, outcome: &RunOutcome) -> String {
    let failures: Vec<String> = outcome.failures();
    let failed_tests = outcome.tests.iter().filter(|t| !t.ok).count();
    let console_ok = outcome.splats.is_empty() && outcome.verdict.is_some();
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        s,
        "<testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" time=\"{:.3}\">",
        xml_escape(suite),
        outcome.tests.len() + 1,
        failed_tests + usize::from(!console_ok),
        outcome
            .tests
            .iter()
            .filter(|t| t.skip_reason().is_some())
            .count(),
        outcome.elapsed.as_secs_f64()
    );
    for t in &outcome.tests {
        let _ = write!(
            s,
            "  <testcase classname=\"{}\" name=\"{}\"",
            xml_escape(suite),
            xml_escape(&t.name)
        );
        if let Some(seconds) = t.seconds() {
            let _ = write!(s, " time=\"{seconds}\"");
        }
        if let Some(reason) = t.skip_reason() {
            let _ = writeln!(
                s,
                "><skipped message=\"{}\"/></testcase>",
                xml_escape(reason)
            );
        } else if t.ok {
            s.push_str("/>\n");
        } else {
            let _ = writeln!(
                s,
                "><failure message=\"{}\"/></testcase>",
                xml_escape(t.detail.as_deref().unwrap_or("failed"))
            );
        }
    }
    let _ = write!(
        s,
        "  <testcase classname=\"{}\" name=\"kernel console clean\"",
        xml_escape(suite)
    );
    if console_ok {
        s.push_str("/>\n");
    } else {
        let _ = writeln!(
            s,
            "><failure message=\"{}\"/></testcase>",
            xml_escape(&failures.join("; "))
        );
    }
    s.push_str("</testsuite>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qemu::tests::outcome;
    use crate::qemu::VmEnd;

    #[test]
    fn tap_adds_a_console_check() {
        let o = outcome(
            "ok 1 - load\nok 2 - unload\nVERDICT pass tests=2 failed=0\n",
            "boot\n",
            VmEnd::Exited(Some(0)),
        );
        assert_eq!(
            tap(&o),
            "TAP version 13\n1..3\nok 1 - load\nok 2 - unload\nok 3 - kernel console clean and guest finished\n"
        );
        let bad = outcome(
            "ok 1 - load\nVERDICT pass tests=1 failed=0\n",
            "[1.0] BUG: KASAN: use-after-free\n",
            VmEnd::Exited(Some(0)),
        );
        let text = tap(&bad);
        assert!(
            text.contains(
                "not ok 2 - kernel console clean and guest finished # kernel kasan report"
            ),
            "{text}"
        );
    }

    #[test]
    fn junit_counts_failures_and_escapes() {
        let o = outcome(
            "ok 1 - load\nnot ok 2 - stats <x> # expected '6', got \"5\" & more\nok 3 - leaks # SKIP no kmemleak\nVERDICT fail tests=3 failed=1\n",
            "",
            VmEnd::Exited(Some(0)),
        );
        let xml = junit("mempoolctl-vm-smoke", &o);
        assert!(xml.contains("<testsuite name=\"mempoolctl-vm-smoke\" tests=\"4\" failures=\"1\" skipped=\"1\" time=\"6.500\">"), "{xml}");
        assert!(
            xml.contains("name=\"leaks\"><skipped message=\"no kmemleak\"/>"),
            "{xml}"
        );
        assert!(xml.contains("name=\"stats &lt;x&gt;\"><failure message=\"expected '6', got &quot;5&quot; &amp; more\"/>"), "{xml}");
        assert!(xml.contains("name=\"kernel console clean\"/>"), "{xml}");
        assert!(xml.trim_end().ends_with("</testsuite>"));
    }

    #[test]
    fn junit_times_each_check_from_the_guest_clock() {
        let o = outcome(
            "# uptime_cs 498\nok 1 - load\n# uptime_cs 523\nok 2 - kmemleak\n# uptime_cs 1757\nok 3 - untimed\nVERDICT pass tests=3 failed=0\n",
            "",
            VmEnd::Exited(Some(0)),
        );
        let xml = junit("s", &o);
        assert!(xml.contains("name=\"load\" time=\"0.25\"/>"), "{xml}");
        assert!(xml.contains("name=\"kmemleak\" time=\"12.34\"/>"), "{xml}");
        assert!(xml.contains("name=\"untimed\"/>"), "{xml}");
        let slowest: Vec<&str> = o.slowest(5).iter().map(|t| t.name.as_str()).collect();
        assert_eq!(slowest, ["kmemleak", "load"]);
    }
}
