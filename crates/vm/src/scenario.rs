//! Guest scenarios and the TAP results they report on the second serial port.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A script run by the guest's init.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Scenario {
    /// The main job: load with min_nr=6, show stats and log, unload.
    Demo,
    /// Every module feature checked once, then a kmemleak scan.
    Smoke,
    /// Bad input everywhere: refused clearly, nothing changed, no splat; the
    /// mempool guarantee under failslab; init's failure paths (fail-nth);
    /// non-root users; random bytes.
    Faults,
    /// 20 insmod and 10 mempoolctl load/unload cycles, 8 concurrent processes
    /// on 2+ CPUs, unload while holding.
    Stress,
    /// smoke, faults and stress in one boot, with one kmemleak scan at the end.
    All,
    /// Figures for `cargo xtask bench` (both twins, lean kernel).
    Bench,
    /// Only the verdict: measures boot-to-verdict.
    Boot,
    /// A scenario with a check that must fail: proves failures reach the host.
    #[cfg_attr(feature = "clap", value(name = "selftest-fail"))]
    SelfTestFail,
}

impl Scenario {
    pub const ALL: [Scenario; 8] = [
        Scenario::Demo,
        Scenario::Smoke,
        Scenario::Faults,
        Scenario::Stress,
        Scenario::All,
        Scenario::Bench,
        Scenario::Boot,
        Scenario::SelfTestFail,
    ];

    /// Every scenario's name, in [`Scenario::ALL`]'s order (for config files).
    pub const NAMES: [&'static str; 8] = {
        let mut names = [""; 8];
        let mut i = 0;
        while i < names.len() {
            names[i] = Self::ALL[i].name();
            i += 1;
        }
        names
    };

    pub const fn name(self) -> &'static str {
        match self {
            Self::Demo => "demo",
            Self::Smoke => "smoke",
            Self::Faults => "faults",
            Self::Stress => "stress",
            Self::All => "all",
            Self::Bench => "bench",
            Self::Boot => "boot",
            Self::SelfTestFail => "selftest-fail",
        }
    }

    /// The scenario's own hard limit: at least twice its time measured on a
    /// 2-core machine under TCG with the other core busy (README, "VM
    /// scenarios"); `vm.timeout_factor` scales it for slower runners.
    pub fn time_limit(self) -> Duration {
        Duration::from_secs(match self {
            Self::Demo | Self::Boot | Self::SelfTestFail => 240,
            Self::Smoke => 300,
            Self::Faults | Self::Stress | Self::Bench => 600,
            Self::All => 1200,
        })
    }

    /// How many checks the scenario reports, skipped ones included: the same
    /// on every kernel and for either flavor (a part a kernel cannot run is
    /// skipped with its reason, never left out). Counted from the scripts (each
    /// run once with every check skipped) and kept here by hand: a change to a
    /// script changes its count on purpose. `mempoolctl vm` fails a run that
    /// reports another number. In `all`, the three kmemleak scans become one.
    pub fn expected_checks(self) -> Option<usize> {
        const SMOKE: usize = 79;
        const FAULTS: usize = 195;
        const STRESS: usize = 16;
        Some(match self {
            Self::Demo => 12,
            Self::Boot => 1,
            Self::Smoke => SMOKE,
            Self::Faults => FAULTS,
            Self::Stress => STRESS,
            Self::All => SMOKE + FAULTS + STRESS - 2,
            Self::SelfTestFail => 2,
            // Its checks are set-up steps around the measures.
            Self::Bench => return None,
        })
    }

    /// Whether the guest needs the faults checks' fixtures: a copy of each
    /// `.ko` with another kernel's vermagic, and a `nobody` user. Other
    /// scenarios (and anyone's own module) get neither.
    pub fn needs_fault_fixtures(self) -> bool {
        matches!(self, Self::Faults | Self::All)
    }

    pub fn script(self) -> String {
        match self {
            Self::Demo => include_str!("../guest/demo.sh").to_owned(),
            Self::Smoke => include_str!("../guest/smoke.sh").to_owned(),
            Self::Faults => include_str!("../guest/faults.sh").to_owned(),
            Self::Stress => include_str!("../guest/stress.sh").to_owned(),
            Self::All => format!(
                "DEFER_LEAK_SCAN=1\n{}\nDEFER_LEAK_SCAN=\ncheck_no_leaks \"kmemleak: no leaks after smoke, faults and stress\"\n",
                [Self::Smoke, Self::Faults, Self::Stress]
                    .map(Self::script)
                    .join("\n")
            ),
            Self::Bench => include_str!("../guest/bench.sh").to_owned(),
            Self::Boot => include_str!("../guest/boot.sh").to_owned(),
            Self::SelfTestFail => include_str!("../guest/selftest-fail.sh").to_owned(),
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestResult {
    pub number: u32,
    pub name: String,
    pub ok: bool,
    /// Why it failed (the TAP `# ...` directive).
    pub detail: Option<String>,
    /// Guest time from the check before it (or the scenario's start) to its
    /// report, in hundredths of a second, from the guest's `# uptime_cs N`
    /// line after each TAP line: where a scenario's time goes, check by check.
    pub centis: Option<u64>,
}

impl TestResult {
    /// Its time in seconds with two decimals (`12.34`), when it was timed.
    pub fn seconds(&self) -> Option<String> {
        self.centis
            .map(|cs| format!("{}.{:02}", cs / 100, cs % 100))
    }

    /// Why the check was skipped (TAP's `ok N - name # SKIP reason`): it could
    /// not run on this kernel. Skips are counted and shown, never dropped.
    pub fn skip_reason(&self) -> Option<&str> {
        let d = self.detail.as_deref().filter(|_| self.ok)?;
        d.strip_prefix("SKIP ").or((d == "SKIP").then_some(""))
    }
}

/// The guest's own closing line: `VERDICT pass|fail tests=N failed=M`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub pass: bool,
    pub tests: u32,
    pub failed: u32,
}

/// The guest's clock line, written at the scenario's start and after each
/// TAP line: `# uptime_cs N`, its uptime in hundredths of a second.
pub const UPTIME_PREFIX: &str = "# uptime_cs ";

/// Parses the results channel: TAP lines plus the verdict line. A check's
/// `centis` is the difference between the clock line after it and the one
/// before it.
pub fn parse_results(text: &str) -> (Vec<TestResult>, Option<Verdict>) {
    let mut tests: Vec<TestResult> = Vec::new();
    let mut verdict = None;
    // The last clock line, and a check reported after it, still untimed.
    let mut clock: Option<u64> = None;
    let mut untimed: Option<usize> = None;
    for line in text.lines().map(|l| l.trim_end_matches('\r')) {
        if let Some(r) = line.strip_prefix(UPTIME_PREFIX) {
            let Ok(now) = r.trim().parse::<u64>() else {
                continue;
            };
            if let (Some(i), Some(before)) = (untimed.take(), clock) {
                tests[i].centis = now.checked_sub(before);
            }
            clock = Some(now);
            continue;
        }
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
        if untimed.replace(tests.len()).is_some() {
            // Two checks with no clock line between: neither span is known.
            clock = None;
        }
        tests.push(TestResult {
            number,
            name: name.to_owned(),
            ok,
            detail,
            centis: None,
        });
    }
    (tests, verdict)
}

/// `# figure NAME=N` lines: the scenario's own counts (bad inputs tried,
/// cycles, concurrent operations, leaks found), in order of appearance; a
/// figure reported twice (smoke, then stress in `all`) is summed.
pub fn parse_figures(text: &str) -> Vec<(String, u64)> {
    let mut out: Vec<(String, u64)> = Vec::new();
    for line in text.lines() {
        let Some((name, value)) = line
            .trim_end_matches('\r')
            .strip_prefix("# figure ")
            .and_then(|r| r.split_once('='))
        else {
            continue;
        };
        let Ok(value) = value.trim().parse::<u64>() else {
            continue;
        };
        match out.iter_mut().find(|(n, _)| n == name) {
            Some((_, v)) => *v = v.saturating_add(value),
            None => out.push((name.to_owned(), value)),
        }
    }
    out
}

/// `# measure NAME=N` lines: benchmark samples, every one kept, in order.
pub fn parse_measures(text: &str) -> Vec<(String, u64)> {
    text.lines()
        .filter_map(|l| l.trim_end_matches('\r').strip_prefix("# measure "))
        .filter_map(|r| r.split_once('='))
        .filter_map(|(k, v)| Some((k.to_owned(), v.trim().parse().ok()?)))
        .collect()
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
    fn each_check_is_timed_from_the_clock_line_before_it() {
        // As a guest writes them: a clock line at the start and after each
        // check; one check without its clock line (cut short) stays untimed,
        // and a clock running backwards gives no figure.
        let text = "# uptime_cs 512\nok 1 - load\n# uptime_cs 540\nnoise\nok 2 - stats\r\n# uptime_cs 1790\r\nok 3 - hold\nok 4 - release\n# uptime_cs 1800\nok 5 - odd\n# uptime_cs 1700\nok 6 - last\n";
        let (tests, _) = parse_results(text);
        let centis: Vec<_> = tests.iter().map(|t| t.centis).collect();
        assert_eq!(centis, [Some(28), Some(1250), None, None, None, None]);
    }

    #[test]
    fn skips_are_passes_with_a_reason() {
        let (tests, _) = parse_results(
            "ok 1 - kmemleak: no leaks # SKIP kmemleak is not in this kernel\nok 2 - plain\nnot ok 3 - x # SKIP y\n",
        );
        assert_eq!(
            tests[0].skip_reason(),
            Some("kmemleak is not in this kernel")
        );
        assert_eq!(tests[0].name, "kmemleak: no leaks");
        assert_eq!(tests[1].skip_reason(), None);
        // A failed check is a failure whatever its text says.
        assert_eq!(tests[2].skip_reason(), None);
    }

    #[test]
    fn figures_are_summed_by_name() {
        let text = "# figure cycles=1000\r\n# figure bad_inputs=40\n# kmsg x\n# figure cycles=5\n# figure junk=x\n";
        assert_eq!(
            parse_figures(text),
            vec![("cycles".to_owned(), 1005), ("bad_inputs".to_owned(), 40)]
        );
    }

    #[test]
    fn measures_keep_every_sample() {
        let text = "# measure a.x=5\n# measure a.x=7\r\n# measure bad=x\n# figure a.x=1\n";
        assert_eq!(
            parse_measures(text),
            vec![("a.x".to_owned(), 5), ("a.x".to_owned(), 7)]
        );
    }

    #[test]
    fn all_runs_every_suite_once() {
        let all = Scenario::All.script();
        for s in [Scenario::Smoke, Scenario::Faults, Scenario::Stress] {
            assert_eq!(all.matches(&s.script()).count(), 1, "{s}");
        }
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
