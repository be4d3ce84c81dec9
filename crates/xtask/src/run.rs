//! How xtask runs programs: xshell's `cmd!`, with `.quiet()` everywhere (xtask
//! logs in its own words), plus the two things xshell cannot do. Its `run`
//! returns no exit status and `output` captures both streams, so a child whose
//! output goes to the terminal and whose exit status is inspected runs through
//! [`status`], and one whose output goes to a log file through [`run_logged`]
//! (kbuild's one runner underneath):
//! the only places a `Cmd` becomes a `std::process::Command`.

use anyhow::{bail, Result};
use std::path::Path;
use std::process::{Command, ExitStatus, Output};
use xshell::Cmd;

/// Runs `cmd` with the caller's stdin, stdout and stderr; its exit status.
pub(crate) fn status(cmd: Cmd<'_>) -> std::io::Result<ExitStatus> {
    Command::from(cmd).status()
}

/// Runs `cmd` (no stdin) with its output appended to `log`, after a `$ cmd`
/// line, through kbuild's one runner; a failure names `step`, the exit status,
/// the first error or the last lines, and the log (kbuild's hint is for
/// kernel builds, not for apt or debootstrap, so it is left out).
pub(crate) fn run_logged(step: &str, cmd: Cmd<'_>, log: &Path) -> Result<()> {
    match kbuild::run_logged(&mut Command::from(cmd), log, None) {
        Ok(()) => Ok(()),
        Err(kbuild::RunError::Failed {
            status,
            first_error,
            log,
            ..
        }) => bail!(
            "{step} failed ({status}); last lines:\n{first_error}\nsee {}",
            log.display()
        ),
        Err(e) => Err(anyhow::Error::new(e).context(step.to_owned())),
    }
}

/// A child's captured stdout, then its stderr, as text.
pub(crate) fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
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
                "bad failed (exit status: 3); last lines:\n$ sh -c echo no; exit 3\nno\nsee {}",
                log.display()
            )
        );
    }
}
