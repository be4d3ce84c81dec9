//! Output: verbosity (-q/-v) and colour (NO_COLOR, --color, not on pipes).

use anstream::{eprintln, println};
use anstyle::{AnsiColor, Style};
use kmsg::LogLine;

pub const ERROR: Style = AnsiColor::Red.on_default().bold();
pub const WARN: Style = AnsiColor::Yellow.on_default();
pub const DIM: Style = Style::new().dimmed();

/// `--color`: `auto` defers to anstream (NO_COLOR, CLICOLOR_FORCE, is a TTY).
pub fn set_color(choice: &str) {
    let c = match choice {
        "always" => anstream::ColorChoice::Always,
        "never" => anstream::ColorChoice::Never,
        _ => anstream::ColorChoice::Auto,
    };
    c.write_global();
}

#[derive(Clone, Copy)]
pub struct Ui {
    /// -1 quiet, 0 normal, 1+ verbose.
    pub level: i8,
}

impl Ui {
    /// What a step did, e.g. "loaded ...". Hidden by -q.
    pub fn info(&self, msg: impl std::fmt::Display) {
        if self.level >= 0 {
            println!("{msg}");
        }
    }

    /// How it was done (paths, parameter strings, sources). Shown by -v.
    pub fn detail(&self, msg: impl std::fmt::Display) {
        if self.level >= 1 {
            eprintln!("{DIM}{msg}{DIM:#}");
        }
    }

    /// The module's kernel log lines; errors in red. Hidden by -q.
    pub fn log_lines(&self, lines: &[LogLine]) {
        if self.level < 0 {
            return;
        }
        for l in lines {
            print_log_line(l);
        }
    }

    pub fn error(&self, msg: impl std::fmt::Display) {
        eprintln!("{ERROR}mempoolctl: error:{ERROR:#} {msg}");
    }
}

/// An error and its causes, each once, joined by ": ". A typed error that
/// already prints its source is not followed by it again, and `std::io`'s
/// "(os error N)" tail is dropped: the text before it names the errno.
pub fn error_text(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let part = without_os_error(&cause.to_string());
        if text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

/// `msg` without each " (os error N)" that `std::io::Error` appends.
fn without_os_error(msg: &str) -> String {
    let mut out = String::with_capacity(msg.len());
    let mut rest = msg;
    while let Some(at) = rest.find(" (os error ") {
        let tail = &rest[at + " (os error ".len()..];
        let digits = tail.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 && tail[digits..].starts_with(')') {
            out.push_str(&rest[..at]);
            rest = &tail[digits + 1..];
        } else {
            out.push_str(&rest[..at + 1]);
            rest = &rest[at + 1..];
        }
    }
    out.push_str(rest);
    out
}

pub fn print_log_line(l: &LogLine) {
    let style = match l.level {
        Some(0..=3) => ERROR,
        Some(4) => WARN,
        _ => Style::new(),
    };
    println!("{style}{}{style:#}", l.display());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot read config file /etc/x.toml: {source}")]
    struct ReadsItsSource {
        source: std::io::Error,
    }

    #[test]
    fn each_cause_once_without_the_os_error_tail() {
        let io = std::io::Error::from_raw_os_error(2);
        let e = anyhow::Error::new(ReadsItsSource { source: io });
        assert_eq!(
            error_text(&e),
            "cannot read config file /etc/x.toml: No such file or directory"
        );
        // A context over a source it does not print: both, in order.
        let e =
            anyhow::Error::new(std::io::Error::from_raw_os_error(13)).context("opening /dev/kmsg");
        assert_eq!(error_text(&e), "opening /dev/kmsg: Permission denied");
    }

    #[test]
    fn only_a_real_os_error_tail_is_dropped() {
        assert_eq!(without_os_error("a (os error 21) b (os error 2)"), "a b");
        assert_eq!(without_os_error("kept (os error x)"), "kept (os error x)");
        assert_eq!(without_os_error("kept (os error 5"), "kept (os error 5");
        assert_eq!(without_os_error(" (os error "), " (os error ");
    }
}
