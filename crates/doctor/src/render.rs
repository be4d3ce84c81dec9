//! The human-readable report.

use crate::{Report, Section, Status};
use std::fmt::Write;

const RESET: &str = "\x1b[0m";

fn mark(status: Status) -> (&'static str, &'static str) {
    match status {
        Status::Pass => ("✓", "\x1b[32m"),
        Status::Fail => ("✗", "\x1b[31m"),
        Status::Warn => ("!", "\x1b[33m"),
        Status::Skip => ("-", "\x1b[2m"),
    }
}

/// The report as text: one line per check (`✓` pass, `✗` fail, `!` warn, `-` skip), the
/// fix indented under it, grouped by section, and a closing count. `color` adds ANSI
/// colours to the marks.
pub fn render(report: &Report, color: bool) -> String {
    let width = report.checks.iter().map(|c| c.id.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (section, title) in [
        (
            Section::Build,
            format!(
                "Build (kernel build dir {}, module {})",
                report.kdir.display(),
                report.flavor.module_name()
            ),
        ),
        (
            Section::Load,
            format!("Load (running kernel {})", report.kernel_release),
        ),
    ] {
        let _ = writeln!(out, "{title}");
        for c in report.checks.iter().filter(|c| c.section == section) {
            let (sym, colour) = mark(c.status);
            let sym = if color {
                format!("{colour}{sym}{RESET}")
            } else {
                sym.to_owned()
            };
            let _ = writeln!(out, "  {sym} {:<width$}  {}", c.id, c.summary);
            if let Some(fix) = &c.fix {
                let _ = writeln!(out, "    {:<width$}  fix: {fix}", "");
            }
        }
    }
    let count = |s| report.checks.iter().filter(|c| c.status == s).count();
    let _ = writeln!(
        out,
        "{}: {} passed, {} failed, {} warning(s), {} skipped",
        if report.ok() { "ok" } else { "not ok" },
        count(Status::Pass),
        count(Status::Fail),
        count(Status::Warn),
        count(Status::Skip),
    );
    out
}
