//! Running build commands with their output in a log file and a progress line.

use indicatif::{ProgressBar, ProgressStyle};
use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot run `{cmd}`: {source} (is it installed? `cargo xtask provision` installs the toolchain)")]
    Spawn {
        cmd: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write log {log}: {source}")]
    Log {
        log: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "`{cmd}` failed ({status}); first error:\n{first_error}\nhint: {}\nfull log: {log}",
        hint(first_error)
    )]
    Failed {
        cmd: String,
        status: String,
        first_error: String,
        log: PathBuf,
    },
}

/// The first compiler/kbuild error in `log_text`, with two lines of context after it.
pub fn first_error(log_text: &str) -> Option<String> {
    let lines: Vec<&str> = log_text.lines().collect();
    let idx = lines.iter().position(|l| {
        // `$ cmd` lines are our own echo of the command, not its output.
        !l.starts_with("$ ")
            && (l.contains("error:")
                || l.starts_with("error[")
                || l.contains("*** ")
                || (l.starts_with("env: ") && l.contains("No such file or directory"))
                || l.contains("Error "))
    })?;
    Some(lines[idx..lines.len().min(idx + 3)].join("\n"))
}

/// What to do about a kbuild failure, judged from its first error.
pub fn hint(first_error: &str) -> &'static str {
    let e = first_error;
    if e.contains("E0514") || e.contains("incompatible version of rustc") {
        "the kernel was built with another rustc; Rust modules need the very same one (mempoolctl doctor shows both)"
    } else if e.contains(".rmeta") || e.contains("can't find crate for `kernel`") {
        "the build dir lacks the compiled Rust crates (mempoolctl doctor names what is missing; on distribution headers mempoolctl build regenerates them); or build the C twin with --flavor c"
    } else if e.contains("objtool") && e.contains("fopen failed") {
        "objtool reads /proc: in a chroot or container, mount /proc first (mount -t proc proc /proc)"
    } else if e.contains("No rule to make target") && e.contains("modules") {
        "the kernel directory is not a configured build tree; pass --kdir pointing at one"
    } else if e.contains("command not found")
        || e.contains("not found")
        || e.contains("cannot execute")
    {
        "a build tool is missing; mempoolctl doctor names it and the package to install"
    } else if e.contains("unknown argument") || e.contains("unrecognized command-line option") {
        "the compiler differs from the kernel's (clang vs gcc, or another version); mempoolctl doctor shows which LLVM= to use"
    } else {
        "fix the error above in the module sources; mempoolctl build rebuilds only what changed"
    }
}

fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// Runs `cmd` with stdout and stderr appended to `log`. With `progress`, shows a
/// spinner with the line count and the latest kbuild target.
pub fn run_logged(cmd: &mut Command, log: &Path, progress: Option<&str>) -> Result<(), RunError> {
    let log_err = |source| RunError::Log {
        log: log.to_owned(),
        source,
    };
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(log_err)?;
    let start_len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let name = describe(cmd);
    writeln!(file, "$ {name}").map_err(log_err)?;
    let (reader, writer) = std::io::pipe().map_err(log_err)?;
    let writer2 = writer.try_clone().map_err(log_err)?;
    cmd.stdin(Stdio::null()).stdout(writer).stderr(writer2);
    let spawned = cmd.spawn();
    // Drop the command's copies of the pipe's write end so the reader sees EOF.
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    let mut child = spawned.map_err(|source| RunError::Spawn {
        cmd: name.clone(),
        source,
    })?;
    let bar = progress.map(|label| {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{elapsed}] {prefix}: {msg}")
                .expect("static template"),
        );
        bar.set_prefix(label.to_owned());
        bar.enable_steady_tick(Duration::from_millis(200));
        bar
    });
    let mut count = 0u64;
    for line in BufReader::new(reader).lines() {
        let Ok(line) = line else { break };
        writeln!(file, "{line}").map_err(log_err)?;
        if let Some(bar) = &bar {
            count += 1;
            let target = line.trim();
            if !target.is_empty() && target.len() < 120 {
                bar.set_message(format!("{count} steps, {target}"));
            }
        }
    }
    let status = child.wait().map_err(|source| RunError::Spawn {
        cmd: name.clone(),
        source,
    })?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if status.success() {
        return Ok(());
    }
    let text = std::fs::read(log).unwrap_or_default();
    let tail = String::from_utf8_lossy(&text[(start_len as usize).min(text.len())..]).into_owned();
    Err(RunError::Failed {
        cmd: name,
        status: status.to_string(),
        first_error: first_error(&tail).unwrap_or_else(|| {
            tail.lines()
                .rev()
                .take(5)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("\n")
        }),
        log: log.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_follow_the_error() {
        assert!(hint(
            "error[E0514]: found crate `core` compiled by an incompatible version of rustc"
        )
        .contains("very same one"));
        assert!(hint("error[E0463]: can't find crate for `kernel`").contains("--flavor c"));
        assert!(hint("make[1]: *** No rule to make target 'modules'.  Stop.").contains("--kdir"));
        assert!(hint("/bin/sh: 1: clang-19: not found").contains("doctor"));
        assert!(hint(
            "x86_64-linux-gnu-gcc-14: fatal error: cannot execute 'as': No such file or directory"
        )
        .contains("doctor"));
        assert!(hint("x.c:3:1: error: expected ';'").contains("module sources"));
        // Seen for real: dkms in a chroot without /proc.
        assert!(hint(
            "error: objtool [signal.c:75]: read_stack_limit: fopen failed: No such file or directory"
        )
        .contains("mount /proc"));
    }

    #[test]
    fn first_error_picks_the_compiler_error_with_context() {
        let log = "  CC foo.o\nfoo.c:3:1: error: expected ';'\n   3 | int x\n     | ^\nmake: *** [x] Error 1\n";
        assert_eq!(
            first_error(log).unwrap(),
            "foo.c:3:1: error: expected ';'\n   3 | int x\n     | ^"
        );
        assert_eq!(first_error("  CC a.o\n  LD a.ko\n"), None);
    }

    #[test]
    fn run_logged_reports_failure_with_log_excerpt() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("x.log");
        let err = run_logged(
            Command::new("sh").args([
                "-c",
                "echo building; echo 'a.rs:1: error: boom' >&2; exit 3",
            ]),
            &log,
            None,
        )
        .unwrap_err();
        match err {
            RunError::Failed {
                first_error,
                status,
                ..
            } => {
                assert_eq!(first_error, "a.rs:1: error: boom");
                assert!(status.contains('3'), "{status}");
            }
            other => panic!("unexpected {other:?}"),
        }
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(text.contains("building") && text.contains("boom"));
        run_logged(Command::new("true").arg("x"), &log, Some("t")).unwrap();
    }
}
