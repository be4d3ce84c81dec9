//! How xtask runs programs: xshell's `cmd!`, with `.quiet()` everywhere (xtask
//! logs in its own words), plus the two things xshell cannot do. Its `run`
//! returns no exit status and `output` captures both streams, so a child whose
//! output goes to the terminal and whose exit status is inspected runs through
//! [`status`], and one whose output goes to a log file through [`run_logged`]:
//! the only places a `Cmd` becomes a `std::process::Command`.

use anyhow::{bail, Context, Result};
use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, ExitStatus, Output, Stdio};
use xshell::Cmd;

/// Runs `cmd` with the caller's stdin, stdout and stderr; its exit status.
pub(crate) fn status(cmd: Cmd<'_>) -> std::io::Result<ExitStatus> {
    Command::from(cmd).status()
}

/// Runs `cmd` (no stdin) with its output appended to `log`, after a `$ cmd`
/// line; a failure names `step`, the exit code, the log's last lines and the log.
pub(crate) fn run_logged(step: &str, cmd: Cmd<'_>, log: &Path) -> Result<()> {
    let mut cmd = Command::from(cmd);
    let mut file = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("{step}: opening the log {}", log.display()))?;
    let start = file.metadata().map(|m| m.len()).unwrap_or(0);
    let line = std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| a.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ");
    writeln!(file, "$ {line}")?;
    let err = file.try_clone()?;
    let status = cmd
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(err)
        .status()
        .with_context(|| {
            format!("{step}: cannot run `{line}` (is it installed? `cargo xtask provision`)")
        })?;
    if status.success() {
        return Ok(());
    }
    let text = fs::read(log).unwrap_or_default();
    let text = String::from_utf8_lossy(&text[(start as usize).min(text.len())..]).into_owned();
    let tail = text.lines().rev().take(12).collect::<Vec<_>>();
    let tail = tail.into_iter().rev().collect::<Vec<_>>().join("\n");
    let code = status
        .code()
        .map_or_else(|| status.to_string(), |c| c.to_string());
    bail!(
        "{step} failed (exit {code}); last lines:\n{tail}\nsee {}",
        log.display()
    )
}

/// A child's captured stdout, then its stderr, as text.
pub(crate) fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

#[cfg(test)]
mod tests {
    use super::*;
    use xshell::{cmd, Shell};

    #[test]
    fn a_logged_run_appends_its_command_line_and_output_and_a_failure_quotes_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("step.log");
        let sh = Shell::new().unwrap();
        run_logged("ok", cmd!(sh, "sh -c 'echo out; echo err >&2'"), &log).unwrap();
        let err = run_logged("bad", cmd!(sh, "sh -c 'echo no; exit 3'"), &log).unwrap_err();
        let text = fs::read_to_string(&log).unwrap();
        assert_eq!(
            text,
            "$ sh -c echo out; echo err >&2\nout\nerr\n$ sh -c echo no; exit 3\nno\n"
        );
        assert_eq!(
            err.to_string(),
            format!(
                "bad failed (exit 3); last lines:\n$ sh -c echo no; exit 3\nno\nsee {}",
                log.display()
            )
        );
    }
}
