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
            (true, _) => writeln!(s, "ok {} - {}", t.number, t.name),
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
        "<testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" time=\"{:.3}\">",
        xml_escape(suite),
        outcome.tests.len() + 1,
        failed_tests + usize::from(!console_ok),
        outcome.elapsed.as_secs_f64()
    );
    for t in &outcome.tests {
        let _ = write!(
            s,
            "  <testcase classname=\"{}\" name=\"{}\"",
            xml_escape(suite),
            xml_escape(&t.name)
        );
        if t.ok {
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
