//! Guest scenarios and the TAP results they report on the second serial port.

use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// A script run by the guest's init.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// The main job: load with min_nr=6, show stats and log, unload.
    Demo,
    /// Every module feature checked once, then a kmemleak scan.
    Smoke,
    /// A scenario with a check that must fail: proves failures reach the host.
    SelfTestFail,
}

impl Scenario {
    pub const ALL: [Scenario; 3] = [Scenario::Demo, Scenario::Smoke, Scenario::SelfTestFail];

    pub fn name(self) -> &'static str {
        match self {
            Self::Demo => "demo",
            Self::Smoke => "smoke",
            Self::SelfTestFail => "selftest-fail",
        }
    }

    pub fn script(self) -> &'static str {
        match self {
            Self::Demo => include_str!("../guest/demo.sh"),
            Self::Smoke => include_str!("../guest/smoke.sh"),
            Self::SelfTestFail => include_str!("../guest/selftest-fail.sh"),
        }
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Scenario {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|sc| sc.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Self::ALL.iter().map(|s| s.name()).collect();
                format!(
                    "unknown scenario {s:?}: expected one of {}",
                    names.join(", ")
                )
            })
    }
}

/// One check reported by the guest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TestResult {
    pub number: u32,
    pub name: String,
    pub ok: bool,
    /// Why it failed (the TAP `# ...` directive).
    pub detail: Option<String>,
}

/// The guest's own closing line: `VERDICT pass|fail tests=N failed=M`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub pass: bool,
    pub tests: u32,
    pub failed: u32,
}

/// Parses the results channel: TAP lines plus the verdict line.
pub fn parse_results(text: &str) -> (Vec<TestResult>, Option<Verdict>) {
    let mut tests = Vec::new();
    let mut verdict = None;
    for line in text.lines().map(|l| l.trim_end_matches('\r')) {
        let (ok, rest) = if let Some(r) = line.strip_prefix("ok ") {
            (true, r)
        } else if let Some(r) = line.strip_prefix("not ok ") {
            (false, r)
        } else if let Some(r) = line.strip_prefix("VERDICT ") {
            verdict = parse_verdict(r);
            continue;
        } else {
            continue;
        };
        let Some((num, rest)) = rest.split_once(" - ") else {
            continue;
        };
        let Ok(number) = num.parse() else { continue };
        let (name, detail) = match rest.split_once(" # ") {
            Some((n, d)) => (n, Some(d.to_owned())),
            None => (rest, None),
        };
        tests.push(TestResult {
            number,
            name: name.to_owned(),
            ok,
            detail,
        });
    }
    (tests, verdict)
}

fn parse_verdict(rest: &str) -> Option<Verdict> {
    let mut words = rest.split_whitespace();
    let pass = match words.next()? {
        "pass" => true,
        "fail" => false,
        _ => return None,
    };
    let mut tests = None;
    let mut failed = None;
    for w in words {
        match w.split_once('=') {
            Some(("tests", v)) => tests = v.parse().ok(),
            Some(("failed", v)) => failed = v.parse().ok(),
            _ => {}
        }
    }
    Some(Verdict {
        pass,
        tests: tests?,
        failed: failed?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tap_and_verdict() {
        let text = "ok 1 - load\r\nnot ok 2 - stats # expected '6', got '5'\nnoise\n1..2\nVERDICT fail tests=2 failed=1\n";
        let (tests, verdict) = parse_results(text);
        assert_eq!(tests.len(), 2);
        assert!(tests[0].ok && tests[0].name == "load" && tests[0].detail.is_none());
        assert!(!tests[1].ok);
        assert_eq!(tests[1].detail.as_deref(), Some("expected '6', got '5'"));
        assert_eq!(
            verdict,
            Some(Verdict {
                pass: false,
                tests: 2,
                failed: 1
            })
        );
    }

    #[test]
    fn truncated_results_have_no_verdict() {
        let (tests, verdict) = parse_results("ok 1 - load\nVERDICT pa");
        assert_eq!(tests.len(), 1);
        assert_eq!(verdict, None);
        assert!("smok"
            .parse::<Scenario>()
            .unwrap_err()
            .contains("demo, smoke"));
    }
}
