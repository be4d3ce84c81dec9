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

pub fn print_log_line(l: &LogLine) {
    let style = match l.level {
        Some(0..=3) => ERROR,
        Some(4) => WARN,
        _ => Style::new(),
    };
    println!("{style}{}{style:#}", l.display());
}
