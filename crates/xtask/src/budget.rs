//! The suite's host CPU budget: the CPU time of every process it started,
//! part by part, against the wall time each part took. On a machine with N
//! cores no part can take less wall time than its CPU time divided by N, so
//! the budget says what a faster suite must stop doing, not only how long it
//! took.

use nix::sys::resource::{getrusage, UsageWho};
use std::time::{Duration, Instant};

/// CPU time of the children this process waited for, theirs included
/// (`getrusage(RUSAGE_CHILDREN)`: cargo's rustc, `mempoolctl vm`'s QEMU).
fn children_cpu() -> Duration {
    getrusage(UsageWho::RUSAGE_CHILDREN)
        .map(|u| {
            let tv = |t: nix::sys::time::TimeVal| {
                Duration::new(t.tv_sec().max(0) as u64, (t.tv_usec().max(0) as u32) * 1000)
            };
            tv(u.user_time()) + tv(u.system_time())
        })
        .unwrap_or_default()
}

pub struct CpuBudget {
    /// (part, CPU time, wall time)
    parts: Vec<(String, Duration, Duration)>,
    since_cpu: Duration,
    since_wall: Instant,
    start_cpu: Duration,
    start_wall: Instant,
}

impl CpuBudget {
    pub fn start() -> Self {
        let (cpu, wall) = (children_cpu(), Instant::now());
        Self {
            parts: Vec::new(),
            since_cpu: cpu,
            since_wall: wall,
            start_cpu: cpu,
            start_wall: wall,
        }
    }

    /// Closes the part that began at the previous mark (or the start).
    pub fn mark(&mut self, part: &str) {
        let (cpu, wall) = (children_cpu(), Instant::now());
        self.parts.push((
            part.to_owned(),
            cpu.saturating_sub(self.since_cpu),
            wall - self.since_wall,
        ));
        (self.since_cpu, self.since_wall) = (cpu, wall);
    }

    /// The table, one line per part and the whole, for `cores` cores.
    pub fn lines(&self, cores: usize) -> Vec<String> {
        let row = |name: &str, cpu: Duration, wall: Duration| {
            let (c, w) = (cpu.as_secs_f64(), wall.as_secs_f64());
            format!(
                "{name}: {c:.0} s of CPU in {w:.0} s ({:.2} cores busy; no less than {:.0} s on {cores} cores)",
                if w > 0.0 { c / w } else { 0.0 },
                c / cores.max(1) as f64
            )
        };
        let mut out: Vec<String> = self
            .parts
            .iter()
            .map(|(name, cpu, wall)| row(name, *cpu, *wall))
            .collect();
        out.push(row(
            "the whole suite",
            self.since_cpu.saturating_sub(self.start_cpu),
            self.since_wall - self.start_wall,
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_part_counts_the_cpu_of_the_children_it_waited_for() {
        let mut budget = CpuBudget::start();
        budget.mark("nothing");
        // A child burning CPU on a fixed amount of work.
        let status = std::process::Command::new("sh")
            .args(["-c", "i=0; while [ $i -lt 300000 ]; do i=$((i + 1)); done"])
            .status()
            .expect("sh runs");
        assert!(status.success());
        budget.mark("a busy child");
        // (Other tests' children run meanwhile and count too: RUSAGE_CHILDREN
        // is the process's, so only a lower bound is certain.)
        let (_, busy_cpu, _) = &budget.parts[1];
        assert!(*busy_cpu > Duration::ZERO, "{busy_cpu:?}");
        let lines = budget.lines(2);
        assert_eq!(lines.len(), 3);
        assert!(lines[1].starts_with("a busy child: "), "{}", lines[1]);
        assert!(lines[2].starts_with("the whole suite: "), "{}", lines[2]);
    }
}
