//! Booting QEMU, streaming its console, enforcing the timeout, judging the run.

use crate::accel::{self, Accel, AccelChoice};
use crate::console::{add_splats, find_splats, Splat};
use crate::scenario::{parse_figures, parse_results, TestResult, Verdict};
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The start of the guest's last console line, printed once its verdict is on
/// the results channel (the guest's scripts get it through
/// `/etc/mempoolctl-guest.env`). From then on QEMU only has to exit.
pub const GUEST_FINISHED: &str = "mempoolctl-guest: finished,";

#[derive(Debug, thiserror::Error)]
pub enum VmError {
    #[error("cannot start {qemu}: {source} (install qemu-system-x86: cargo xtask provision)")]
    Spawn {
        qemu: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} exited with status {status} before the guest printed anything: {}", qemu.display(), stderr.trim())]
    QemuFailed {
        qemu: PathBuf,
        status: i32,
        stderr: String,
    },
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// How to boot.
#[derive(Debug, Clone)]
pub struct VmConfig {
    pub qemu: PathBuf,
    pub kernel: PathBuf,
    pub initrd: PathBuf,
    pub accel: Accel,
    pub memory_mb: u32,
    /// vCPUs: with one, no two guest tasks ever run at once.
    pub cpus: u32,
    /// Hard limit for the whole run; QEMU is killed after it.
    pub timeout: Duration,
    /// Under `auto`, KVM must print a console byte within this, or TCG takes over.
    pub kvm_silence_limit: Duration,
    /// How long QEMU may take to exit once the guest printed
    /// [`GUEST_FINISHED`] (its `reboot -f` takes well under a second) before
    /// it is killed: a QEMU that hangs on its way out must not turn a verdict
    /// into a timeout.
    pub exit_grace: Duration,
    pub console_log: PathBuf,
    pub results_log: PathBuf,
    pub extra_append: String,
    /// A QMP socket for QEMU's monitor at this path, sampled for a profile of
    /// the guest (see [`crate::profile`]) while it runs.
    pub profile_socket: Option<PathBuf>,
    /// How many checks the scenario has (skipped ones included), when the
    /// caller knows: a run that reports another number fails, so a part of a
    /// scenario that silently did not run is caught by the host.
    pub expected_checks: Option<usize>,
    /// The kernel's `CONFIG_HZ`, when the caller knows it (its configuration):
    /// a TCG guest then skips its delay-loop calibrations (see [`tcg_clock_args`]).
    pub kernel_hz: Option<u64>,
}

impl VmConfig {
    pub fn new(kernel: &Path, initrd: &Path, work_dir: &Path) -> Self {
        Self {
            qemu: PathBuf::from("qemu-system-x86_64"),
            kernel: kernel.to_owned(),
            initrd: initrd.to_owned(),
            accel: Accel::Auto,
            memory_mb: 512,
            cpus: 2,
            timeout: Duration::from_secs(300),
            kvm_silence_limit: Duration::from_secs(5),
            exit_grace: Duration::from_secs(30),
            console_log: work_dir.join("console.log"),
            results_log: work_dir.join("results.tap"),
            extra_append: String::new(),
            profile_socket: None,
            expected_checks: None,
            kernel_hz: None,
        }
    }

    fn command(&self, accel: Accel) -> Command {
        let mut c = Command::new(&self.qemu);
        c.arg("-accel");
        match accel {
            // One host thread per vCPU (QEMU's default for x86 guests on x86
            // hosts; said explicitly so the concurrency checks never run on one).
            Accel::Tcg => c.arg("tcg,thread=multi"),
            other => c.arg(other.to_string()),
        };
        c.args(["-m", &self.memory_mb.to_string()]);
        c.args(["-smp", &self.cpus.to_string()]);
        c.args(["-nodefaults", "-no-reboot", "-display", "none"]);
        // Console (kernel messages and the transcript) on stdout; results on ttyS1.
        c.args(["-serial", "stdio"]);
        c.arg("-serial")
            .arg(format!("file:{}", self.results_log.display()));
        // qboot boots a -kernel ~0.3 s faster than SeaBIOS.
        let qboot = Path::new("/usr/share/qemu/qboot.rom");
        if qboot.exists() {
            c.arg("-bios").arg(qboot);
        }
        c.arg("-kernel")
            .arg(&self.kernel)
            .arg("-initrd")
            .arg(&self.initrd);
        // Two serial ports (console, results): the 8250 driver probes no more
        // (0.53 -> 0.18 s of boot on the test kernel under TCG).
        // Expedited RCU grace periods: module load/unload waits for several, and
        // under TCG normal ones dominate (measured, test kernel, 2 vCPUs: 30
        // insmod/rmmod cycles 16.3 s -> 12.1 s, boot to /init 22.7 s -> 17.2 s).
        let clock = match accel {
            Accel::Tcg => tcg_clock_args(host_tsc_khz(), self.kernel_hz),
            _ => String::new(),
        };
        // no_timer_check: QEMU's PIT reaches the IO-APIC as the kernel
        // expects. The kernel skips this check itself on KVM, VMware and
        // Hyper-V; under TCG it waits for five ticks (skipping it, the lean
        // kernel brought CPU0 up 20 ms sooner: medians of 10 boots, its clock).
        let append = format!(
            "console=ttyS0 panic=-1 rdinit=/init rcupdate.rcu_expedited=1 8250.nr_uarts=2 no_timer_check{clock} {}",
            self.extra_append
        );
        c.arg("-append").arg(append.trim());
        if let Some(socket) = &self.profile_socket {
            // QEMU's option syntax: a comma in a value is written twice.
            let path = socket.display().to_string().replace(',', ",,");
            c.arg("-qmp").arg(format!("unix:{path},server=on,wait=off"));
        }
        c.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    }
}

/// Kernel arguments that give a TCG guest a nanosecond clock. A guest without
/// HPET or ACPI PM timer (our kernels, from tinyconfig) cannot calibrate its
/// TSC under TCG, and a distribution kernel's watchdog demotes it: either way
/// the guest falls back to refined-jiffies, 4 ms steps, too coarse for any
/// in-kernel timing (the module's bench refuses it). TCG's TSC is the host's,
/// so the guest is told the host's rate (`tsc_khz`) and to trust it.
///
/// With the kernel's HZ known, the delay loop is preset too (`lpj`, the
/// figure the first CPU gets from the TSC rate): each further CPU calibrates
/// its own otherwise (TCG has no constant TSC to share the first CPU's), which
/// under TCG fails its direct method and converges slowly: bringing up the
/// second CPU took 0.12 s, 0.03 s with it (the kernel's timestamps).
/// (The local APIC timer's calibration, another 0.22 s, is skipped only by
/// the bench's timed boots: see `noapictimer` in crates/xtask.)
fn tcg_clock_args(tsc_khz: Option<u64>, kernel_hz: Option<u64>) -> String {
    match (tsc_khz, kernel_hz.filter(|hz| *hz > 0)) {
        (Some(khz), Some(hz)) => {
            format!(" tsc=reliable tsc_early_khz={khz} lpj={}", khz * 1000 / hz)
        }
        (Some(khz), None) => format!(" tsc=reliable tsc_early_khz={khz}"),
        (None, _) => " tsc=reliable".to_owned(),
    }
}

/// The host's TSC rate in kHz, measured once over 20 ms against the
/// monotonic clock (no interface reports it on every host).
#[cfg(target_arch = "x86_64")]
fn host_tsc_khz() -> Option<u64> {
    use std::sync::OnceLock;
    static KHZ: OnceLock<Option<u64>> = OnceLock::new();
    *KHZ.get_or_init(|| {
        let start = Instant::now();
        // SAFETY: RDTSC has no preconditions on x86_64.
        let c0 = unsafe { core::arch::x86_64::_rdtsc() };
        std::thread::sleep(Duration::from_millis(20));
        // SAFETY: as above.
        let c1 = unsafe { core::arch::x86_64::_rdtsc() };
        let ns = u64::try_from(start.elapsed().as_nanos()).ok()?;
        // Cycles per ms; a TSC that did not move (or went back) gives none.
        let khz = c1.checked_sub(c0)?.checked_mul(1_000_000)? / ns.max(1);
        (khz > 0).then_some(khz)
    })
}

#[cfg(not(target_arch = "x86_64"))]
fn host_tsc_khz() -> Option<u64> {
    None
}

/// How the QEMU process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VmEnd {
    Exited(Option<i32>),
    TimedOut,
    /// The guest finished, but QEMU had not exited [`VmConfig::exit_grace`]
    /// later and was killed: the guest's verdict stands.
    KilledAfterFinish,
}

/// Everything a run produced.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    pub accel: Accel,
    pub accel_note: String,
    pub end: VmEnd,
    pub elapsed: Duration,
    /// Host CPU time QEMU used (all its threads, user and system), read from
    /// `/proc` once it exited: with `elapsed`, how many of the host's cores
    /// the guest kept busy. `None` when it could not be read.
    pub cpu: Option<Duration>,
    /// Each vCPU's position at every sample, when a profile was asked for
    /// ([`VmConfig::profile_socket`]), or why none could be taken.
    pub profile: Option<Result<Vec<crate::profile::Sample>, String>>,
    pub console: String,
    pub qemu_stderr: String,
    pub tests: Vec<TestResult>,
    pub verdict: Option<Verdict>,
    pub splats: Vec<Splat>,
    /// The scenario's `# figure` counts, for the summary.
    pub figures: Vec<(String, u64)>,
    /// [`VmConfig::expected_checks`] of the run.
    pub expected_checks: Option<usize>,
}

impl RunOutcome {
    /// The `n` checks that took the most guest time (ties in report order),
    /// slowest first; untimed checks are left out.
    pub fn slowest(&self, n: usize) -> Vec<&TestResult> {
        let mut timed: Vec<&TestResult> =
            self.tests.iter().filter(|t| t.centis.is_some()).collect();
        timed.sort_by_key(|t| std::cmp::Reverse(t.centis));
        timed.truncate(n);
        timed
    }

    /// Reasons the run failed; empty when it passed.
    pub fn failures(&self) -> Vec<String> {
        let mut why = Vec::new();
        if self.end == VmEnd::TimedOut {
            why.push(format!("timed out after {:.0?}", self.elapsed));
        }
        if self.console.contains("Kernel panic") {
            why.push("kernel panic".into());
        }
        match &self.verdict {
            None => why.push("the guest reported no verdict (crash, panic or timeout before the scenario finished)".into()),
            Some(v) if !v.pass => why.push(format!("guest verdict: {} of {} checks failed", v.failed, v.tests)),
            Some(v) if v.tests as usize != self.tests.len() => why.push(format!(
                "guest claimed {} checks but reported {}",
                v.tests,
                self.tests.len()
            )),
            Some(_) => {}
        }
        if let Some(n) = self.expected_checks {
            if self.verdict.is_some() && self.tests.len() != n {
                why.push(format!(
                    "the scenario has {n} checks but the guest reported {}: a part of it did not run",
                    self.tests.len()
                ));
            }
        }
        for t in self.tests.iter().filter(|t| !t.ok) {
            why.push(format!(
                "check {} '{}' failed: {}",
                t.number,
                t.name,
                t.detail.as_deref().unwrap_or("")
            ));
        }
        for s in &self.splats {
            why.push(format!(
                "kernel {} report ({} line {}): {}",
                s.kind, s.source, s.line, s.text
            ));
        }
        why
    }

    pub fn passed(&self) -> bool {
        self.failures().is_empty()
    }
}

enum Attempt {
    Done(Box<RunOutcome>),
    SilentKvm,
}

/// Boots, streams each console line to `on_line`, and judges the run.
pub fn run(cfg: &VmConfig, on_line: &mut dyn FnMut(&str)) -> Result<RunOutcome, VmError> {
    let choice = accel::choose(cfg.accel, Path::new("/sys"), Path::new("/dev/kvm"));
    run_with_choice(cfg, choice, on_line)
}

pub fn run_with_choice(
    cfg: &VmConfig,
    choice: AccelChoice,
    on_line: &mut dyn FnMut(&str),
) -> Result<RunOutcome, VmError> {
    on_line(&format!(
        "[vm] accelerator: {} ({})",
        choice.accel, choice.reason
    ));
    match attempt(cfg, &choice, on_line)? {
        Attempt::Done(o) => Ok(*o),
        Attempt::SilentKvm => {
            let note = format!(
                "auto: KVM printed nothing within {:?}; fell back to TCG",
                cfg.kvm_silence_limit
            );
            on_line(&format!("[vm] {note}"));
            let tcg = AccelChoice {
                accel: Accel::Tcg,
                reason: note,
                may_fall_back: false,
            };
            match attempt(cfg, &tcg, on_line)? {
                Attempt::Done(o) => Ok(*o),
                Attempt::SilentKvm => unreachable!("TCG never falls back"),
            }
        }
    }
}

fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Waits for `child` to exit and reads its CPU time from `/proc` before
/// reaping it (a reaped process's figures are gone).
fn wait_with_cpu(child: &mut Child) -> (Option<i32>, Option<Duration>) {
    use nix::sys::wait::{waitid, Id, WaitPidFlag};
    let exited = waitid(
        Id::Pid(nix::unistd::Pid::from_raw(child.id() as i32)),
        WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT,
    )
    .is_ok();
    let cpu = if exited {
        process_cpu(child.id())
    } else {
        None
    };
    (child.wait().ok().and_then(|s| s.code()), cpu)
}

/// The CPU time process `pid` has used so far (all its threads).
fn process_cpu(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    cpu_time(&stat, clock_ticks()?)
}

/// The kernel's clock ticks per second (`/proc/<pid>/stat`'s unit).
fn clock_ticks() -> Option<u64> {
    use nix::unistd::{sysconf, SysconfVar};
    match sysconf(SysconfVar::CLK_TCK) {
        Ok(Some(t)) if t > 0 => Some(t as u64),
        _ => None,
    }
}

/// User plus system time from a `/proc/<pid>/stat` line (fields 14 and 15,
/// counted after the command name, which may hold spaces and parentheses).
fn cpu_time(stat: &str, ticks_per_s: u64) -> Option<Duration> {
    let after_comm = &stat[stat.rfind(')')? + 1..];
    // Fields from the 3rd (state) on: utime and stime are the 12th and 13th.
    let mut fields = after_comm.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    let ticks = u128::from(utime) + u128::from(stime);
    let nanos = ticks * 1_000_000_000 / u128::from(ticks_per_s.max(1));
    Some(Duration::from_nanos(u64::try_from(nanos).ok()?))
}

fn attempt(
    cfg: &VmConfig,
    choice: &AccelChoice,
    on_line: &mut dyn FnMut(&str),
) -> Result<Attempt, VmError> {
    let io = |what, path: &Path| {
        let path = path.to_owned();
        move |source| VmError::Io { what, path, source }
    };
    // A stale results file must never count as this run's verdict.
    File::create(&cfg.results_log).map_err(io("cannot create", &cfg.results_log))?;
    let mut log = File::create(&cfg.console_log).map_err(io("cannot create", &cfg.console_log))?;
    let start = Instant::now();
    let mut child = cfg
        .command(choice.accel)
        .spawn()
        .map_err(|source| VmError::Spawn {
            qemu: cfg.qemu.clone(),
            source,
        })?;
    let sampler = cfg
        .profile_socket
        .as_deref()
        .map(crate::profile::Sampler::start);
    let (tx, rx) = mpsc::channel::<String>();
    let stdout = child.stdout.take().expect("stdout is piped");
    let reader = std::thread::spawn(move || {
        let mut r = BufReader::new(stdout);
        let mut buf = Vec::new();
        while let Ok(n) = r.read_until(b'\n', &mut buf) {
            if n == 0 {
                break;
            }
            let line = String::from_utf8_lossy(&buf)
                .trim_end_matches(['\n', '\r'])
                .to_owned();
            buf.clear();
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut s);
        s
    });
    let mut console = String::new();
    let mut end = None;
    let mut cpu = None;
    let mut finished_at: Option<Instant> = None;
    while end.is_none() {
        let elapsed = start.elapsed();
        let lingered = finished_at.is_some_and(|at| at.elapsed() >= cfg.exit_grace);
        if elapsed >= cfg.timeout || lingered {
            // What it used until then: a timeout's evidence too.
            cpu = process_cpu(child.id());
            kill(&mut child);
            // A guest that finished keeps its verdict, even at the limit.
            end = Some(if finished_at.is_some() {
                VmEnd::KilledAfterFinish
            } else {
                VmEnd::TimedOut
            });
            break;
        }
        if choice.may_fall_back && console.is_empty() && elapsed >= cfg.kvm_silence_limit {
            kill(&mut child);
            let _ = reader.join();
            if let Some(s) = sampler {
                let _ = s.finish();
            }
            return Ok(Attempt::SilentKvm);
        }
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => {
                if finished_at.is_none() && line.contains(GUEST_FINISHED) {
                    finished_at = Some(Instant::now());
                    // Nothing left to profile. QEMU 10.0 (TCG) has hung at
                    // the guest's reset while being sampled; stopping here
                    // may make that rarer (a command can still be in
                    // flight), the grace's kill is what bounds it.
                    if let Some(s) = &sampler {
                        s.stop();
                    }
                }
                let _ = writeln!(log, "{line}");
                on_line(&line);
                console.push_str(&line);
                console.push('\n');
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let (status, used) = wait_with_cpu(&mut child);
                cpu = used;
                end = Some(VmEnd::Exited(status));
            }
        }
    }
    let _ = reader.join();
    let profile = sampler.map(|s| s.finish().map_err(|e| e.to_string()));
    let qemu_stderr = err_reader.join().unwrap_or_default();
    // QEMU itself refused (a bad image, option or device): no guest ran, so
    // there is nothing to judge.
    if let Some(VmEnd::Exited(Some(status))) = end {
        if status != 0 && console.is_empty() {
            return Err(VmError::QemuFailed {
                qemu: cfg.qemu.clone(),
                status,
                stderr: qemu_stderr,
            });
        }
    }
    let results = std::fs::read_to_string(&cfg.results_log).unwrap_or_default();
    let (tests, verdict) = parse_results(&results);
    let mut splats = find_splats(&console);
    add_splats(&mut splats, "kernel log", &kernel_log(&results));
    Ok(Attempt::Done(Box::new(RunOutcome {
        accel: choice.accel,
        accel_note: choice.reason.clone(),
        end: end.unwrap_or(VmEnd::TimedOut),
        elapsed: start.elapsed(),
        cpu,
        profile,
        console,
        qemu_stderr,
        tests,
        verdict,
        splats,
        figures: parse_figures(&results),
        expected_checks: cfg.expected_checks,
    })))
}

/// The guest's final `dmesg`, sent on the results channel as `# kmsg ` lines.
pub fn kernel_log(results: &str) -> String {
    results
        .lines()
        .filter_map(|l| l.strip_prefix("# kmsg "))
        .fold(String::new(), |acc, l| acc + l + "\n")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn cpu_time_reads_utime_and_stime() {
        // A real line (this machine's PID 1): utime 2800, stime 13773 ticks.
        let stat = "1 (process_api) S 0 0 0 0 -1 4194560 90834 737672560 0 185765 2800 13773 \
                    7197162 432704 10 -10 13 0 11 37965824 2152 18446744073709551615 1 1 0 0";
        assert_eq!(cpu_time(stat, 100), Some(Duration::from_millis(165_730)));
        // A command name with spaces and parentheses, as QEMU's threads may have.
        let odd = "7 (a) b (c) R 1 7 7 0 -1 0 0 0 0 0 150 25 0 0 20 0 3 0 5 1 1";
        assert_eq!(cpu_time(odd, 100), Some(Duration::from_millis(1750)));
        // Absurd counts give no figure rather than a wrapped one (or a panic).
        let max = format!("1 (x) R {} {m} {m}", "0 ".repeat(10), m = u64::MAX);
        assert_eq!(cpu_time(&max, 1), None);
        assert_eq!(cpu_time(&max, 0), None);
        assert_eq!(cpu_time("7 (x) R 1", 100), None);
        assert_eq!(cpu_time("no parenthesis at all", 100), None);
    }

    #[test]
    fn cpu_time_of_an_exited_child_is_read_before_it_is_reaped() {
        // A child that burns CPU on a fixed amount of work, then exits 3.
        let mut child = Command::new("sh")
            .args([
                "-c",
                "i=0; while [ $i -lt 300000 ]; do i=$((i + 1)); done; exit 3",
            ])
            .spawn()
            .expect("sh runs");
        let (status, cpu) = wait_with_cpu(&mut child);
        assert_eq!(status, Some(3));
        let cpu = cpu.expect("the zombie's /proc/<pid>/stat was read");
        assert!(cpu > Duration::ZERO, "{cpu:?}");
        // Reaped: the pid is gone.
        assert!(!Path::new(&format!("/proc/{}", child.id())).exists());
    }

    #[test]
    fn kernel_log_comes_from_kmsg_lines() {
        let results =
            "ok 1 - a\n# kmsg [1.0] kmemleak: 2 new suspected memory leaks\n# kmsg [1.1] x\n";
        assert_eq!(
            kernel_log(results),
            "[1.0] kmemleak: 2 new suspected memory leaks\n[1.1] x\n"
        );
    }

    /// A judged run built from results and console text (shared by the report tests).
    pub(crate) fn outcome(results: &str, console: &str, end: VmEnd) -> RunOutcome {
        let (tests, verdict) = parse_results(results);
        RunOutcome {
            accel: Accel::Tcg,
            accel_note: String::new(),
            end,
            elapsed: Duration::from_millis(6500),
            cpu: None,
            profile: None,
            console: console.into(),
            qemu_stderr: String::new(),
            tests,
            verdict,
            splats: find_splats(console),
            figures: parse_figures(results),
            expected_checks: None,
        }
    }

    #[test]
    fn judges_pass_fail_splat_and_timeout() {
        let good = "ok 1 - load\nVERDICT pass tests=1 failed=0\n";
        assert!(outcome(good, "boot\n", VmEnd::Exited(Some(0))).passed());
        let splat = outcome(
            good,
            "[1.0] WARNING: CPU: 0 PID: 1 at x\n",
            VmEnd::Exited(Some(0)),
        );
        assert_eq!(splat.failures().len(), 1);
        assert!(splat.failures()[0].contains("warning report (console line 1)"));
        let failed = outcome(
            "not ok 1 - load # exit 1\nVERDICT fail tests=1 failed=1\n",
            "",
            VmEnd::Exited(Some(0)),
        );
        assert!(failed
            .failures()
            .iter()
            .any(|f| f.contains("'load' failed: exit 1")));
        let timeout = outcome("ok 1 - load\n", "", VmEnd::TimedOut);
        let why = timeout.failures();
        assert!(
            why[0].starts_with("timed out") && why[1].contains("no verdict"),
            "{why:?}"
        );
        let lying = outcome(
            "ok 1 - a\nVERDICT pass tests=2 failed=0\n",
            "",
            VmEnd::Exited(Some(0)),
        );
        assert!(!lying.passed());
    }

    #[test]
    fn a_scenario_that_reports_fewer_checks_than_it_has_fails() {
        // The guest's own verdict agrees with itself (2 of 2), but the
        // scenario has 3: a part did not run.
        let results = "ok 1 - a\nok 2 - b\nVERDICT pass tests=2 failed=0\n";
        let mut run = outcome(results, "", VmEnd::Exited(Some(0)));
        assert!(run.passed());
        run.expected_checks = Some(3);
        assert_eq!(
            run.failures(),
            ["the scenario has 3 checks but the guest reported 2: a part of it did not run"]
        );
        run.expected_checks = Some(2);
        assert!(run.passed());
    }

    /// An executable `qemu-system-x86_64` script in `dir`. Written by a child
    /// process: a file this (multi-threaded) test process had open for writing
    /// could be inherited by another test's fork and make exec fail (ETXTBSY).
    fn fake_qemu(dir: &Path, script: &str) -> PathBuf {
        let fake = dir.join("qemu-system-x86_64");
        let mut child = Command::new("sh")
            .arg("-c")
            .arg("cat >\"$1\" && chmod 755 \"$1\"")
            .arg("sh")
            .arg(&fake)
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(script.as_bytes())
            .unwrap();
        assert!(child.wait().unwrap().success());
        fake
    }

    #[test]
    fn a_qemu_that_hangs_after_the_guest_finished_is_killed_and_the_verdict_stands() {
        let dir = tempfile::tempdir().unwrap();
        // The guest's results and last line, then a QEMU that never exits.
        let script = format!(
            "#!/bin/sh\nfor a in \"$@\"; do case \"$a\" in file:*) r=\"${{a#file:}}\";; esac; done\n\
             printf 'ok 1 - load\\nVERDICT pass tests=1 failed=0\\n' >\"$r\"\n\
             echo '{GUEST_FINISHED} pass (1 checks, 0 failed, 0 skipped)'\nexec sleep 600\n"
        );
        let mut cfg = VmConfig::new(Path::new("bzImage"), Path::new("initrd"), dir.path());
        cfg.qemu = fake_qemu(dir.path(), &script);
        let tcg = AccelChoice {
            accel: Accel::Tcg,
            reason: "test".into(),
            may_fall_back: false,
        };
        // Killed after its grace; and when the run's limit comes first.
        for (grace, limit) in [(1, 20), (60, 2)] {
            cfg.exit_grace = Duration::from_secs(grace);
            cfg.timeout = Duration::from_secs(limit);
            let run = run_with_choice(&cfg, tcg.clone(), &mut |_| {}).unwrap();
            assert_eq!(
                run.end,
                VmEnd::KilledAfterFinish,
                "grace {grace} s, limit {limit} s"
            );
            assert_eq!(run.verdict.as_ref().map(|v| v.pass), Some(true));
            assert!(run.passed(), "{:?}", run.failures());
        }
    }

    #[test]
    fn qemu_refusing_to_start_is_an_error_not_a_guest_failure() {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = VmConfig::new(Path::new("bzImage"), Path::new("initrd"), dir.path());
        cfg.qemu = fake_qemu(
            dir.path(),
            "#!/bin/sh\necho 'qemu: linux kernel too old to load a ram disk' >&2\nexit 1\n",
        );
        let tcg = AccelChoice {
            accel: Accel::Tcg,
            reason: "test".into(),
            may_fall_back: false,
        };
        let err = run_with_choice(&cfg, tcg, &mut |_| {}).unwrap_err();
        assert!(
            matches!(&err, VmError::QemuFailed { status: 1, stderr, .. } if stderr.contains("too old to load a ram disk")),
            "{err}"
        );
    }

    #[test]
    fn command_line_has_console_results_and_accel() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = VmConfig::new(Path::new("/k"), Path::new("/i"), dir.path());
        let c = cfg.command(Accel::Tcg);
        let args: Vec<_> = c
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let joined = args.join(" ");
        assert!(
            joined.starts_with("-accel tcg,thread=multi -m 512 -smp 2 "),
            "{joined}"
        );
        assert!(joined.contains("-serial stdio -serial file:"));
        assert!(
            joined.contains("-kernel /k -initrd /i -append console=ttyS0 panic=-1 rdinit=/init rcupdate.rcu_expedited=1 8250.nr_uarts=2 no_timer_check tsc=reliable tsc_early_khz=")
        );
        // The kernel's HZ unknown: its delay loops calibrate as usual.
        assert!(!joined.contains("lpj="), "{joined}");
        // KVM guests keep their own clock (kvm-clock): no TSC override.
        let kvm: Vec<_> = cfg
            .command(Accel::Kvm)
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert!(!kvm.join(" ").contains("tsc="), "{kvm:?}");
    }

    /// The figures the lean kernel itself printed under TCG (HZ 250, the host's
    /// TSC at 2299711 kHz): "Calibrating delay loop (skipped), value calculated
    /// using timer frequency.. 4599.42 BogoMIPS (lpj=9198844)".
    #[test]
    fn a_known_hz_presets_the_kernels_own_lpj() {
        assert_eq!(
            tcg_clock_args(Some(2_299_711), Some(250)),
            " tsc=reliable tsc_early_khz=2299711 lpj=9198844"
        );
        assert_eq!(
            tcg_clock_args(Some(2_299_711), None),
            " tsc=reliable tsc_early_khz=2299711"
        );
        assert_eq!(
            tcg_clock_args(Some(2_299_711), Some(0)),
            " tsc=reliable tsc_early_khz=2299711"
        );
        assert_eq!(tcg_clock_args(None, Some(250)), " tsc=reliable");
    }

    /// The oracle is the host kernel's own figure: `cpu MHz` in /proc/cpuinfo
    /// on a host whose TSC runs at a known, constant rate.
    #[test]
    #[cfg(target_arch = "x86_64")]
    fn host_tsc_rate_matches_the_kernels_figure() {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let known = cpuinfo
            .lines()
            .any(|l| l.starts_with("flags") && l.split_whitespace().any(|f| f == "tsc_known_freq"));
        let mhz: Option<f64> = cpuinfo.lines().find_map(|l| {
            l.strip_prefix("cpu MHz")?
                .split(':')
                .nth(1)?
                .trim()
                .parse()
                .ok()
        });
        let measured = host_tsc_khz().expect("an x86_64 host has a TSC") as f64;
        match (known, mhz) {
            (true, Some(mhz)) => {
                let ratio = measured / (mhz * 1000.0);
                assert!((0.98..1.02).contains(&ratio), "measured {measured} kHz, kernel says {mhz} MHz");
            }
            _ => eprintln!("SKIP: this host's TSC rate is not reported (no tsc_known_freq); measured {measured} kHz"),
        }
    }
}
