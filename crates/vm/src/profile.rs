//! Where a guest's CPU time goes, seen from the host: QEMU's monitor is asked
//! for every vCPU's registers (QMP `human-monitor-command`, `info registers
//! -a`) every few milliseconds, and each instruction pointer is resolved with
//! the kernel's `System.map`. Nothing in the guest is needed (no perf, no
//! ftrace), so it works on any kernel whose `System.map` is at hand.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Addresses below this are user space (x86-64: the kernel's half starts here).
const KERNEL_HALF: u64 = 0xffff_8000_0000_0000;
/// Between two samples: short enough for a few thousand samples a minute,
/// long enough that the monitor's own work stays small.
const PERIOD: Duration = Duration::from_millis(10);

/// Where one vCPU was at one sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    pub rip: u64,
    /// Halted (`HLT=1`): the vCPU was idle and cost the host nothing.
    pub halted: bool,
}

/// Each vCPU's instruction pointer and halt state from `info registers -a`.
pub fn samples(info_registers: &str) -> Vec<Sample> {
    info_registers
        .lines()
        .filter_map(|line| {
            let rip = line.strip_prefix("RIP=")?.get(..16)?;
            Some(Sample {
                rip: u64::from_str_radix(rip, 16).ok()?,
                halted: line.split_whitespace().any(|f| f == "HLT=1"),
            })
        })
        .collect()
}

/// A kernel's text symbols, from its `System.map`.
pub struct SymbolMap {
    /// (address, name), sorted by address.
    text: Vec<(u64, String)>,
}

impl SymbolMap {
    pub fn parse(system_map: &str) -> Self {
        let mut text: Vec<(u64, String)> = system_map
            .lines()
            .filter_map(|line| {
                let mut f = line.split_whitespace();
                let (addr, kind, name) = (f.next()?, f.next()?, f.next()?);
                if !matches!(kind, "T" | "t" | "W" | "w") {
                    return None;
                }
                Some((u64::from_str_radix(addr, 16).ok()?, name.to_owned()))
            })
            .collect();
        text.sort();
        Self { text }
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// The function `rip` is in: its nearest text symbol at or below it;
    /// `[user]` below the kernel's half, `[module]` above the image's last
    /// symbol (where modules are loaded), `[unknown]` below its first.
    pub fn resolve(&self, rip: u64) -> &str {
        if rip < KERNEL_HALF {
            return "[user]";
        }
        match self.text.partition_point(|(a, _)| *a <= rip) {
            0 => "[unknown]",
            i if i == self.text.len() => "[module]",
            i => &self.text[i - 1].1,
        }
    }
}

/// Samples folded by function, most frequent first.
pub struct Profile {
    pub samples: usize,
    pub halted: usize,
    /// (function, samples), busy samples only.
    pub functions: Vec<(String, usize)>,
}

impl Profile {
    pub fn new(samples: &[Sample], map: &SymbolMap) -> Self {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        let mut halted = 0;
        for s in samples {
            if s.halted {
                halted += 1;
            } else {
                *counts.entry(map.resolve(s.rip)).or_default() += 1;
            }
        }
        let mut functions: Vec<(String, usize)> =
            counts.into_iter().map(|(f, n)| (f.to_owned(), n)).collect();
        functions.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Self {
            samples: samples.len(),
            halted,
            functions,
        }
    }

    /// The report: a header, then one line per function (share of the busy
    /// samples, count, name), at most `top` of them.
    pub fn render(&self, top: usize) -> String {
        let busy = self.samples - self.halted;
        let pct = |n: usize, of: usize| {
            if of == 0 {
                0.0
            } else {
                100.0 * n as f64 / of as f64
            }
        };
        let mut out = format!(
            "{} vCPU samples: {} halted ({:.1}%, idle), {busy} busy; busy ones by function:\n",
            self.samples,
            self.halted,
            pct(self.halted, self.samples)
        );
        for (name, n) in self.functions.iter().take(top) {
            out.push_str(&format!("{:6.1}% {n:7} {name}\n", pct(*n, busy)));
        }
        out
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("QEMU's monitor socket {path}: {source}")]
    Monitor {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("QEMU's monitor answered something else than QMP: {0}")]
    Protocol(String),
    #[error("the sampling thread panicked")]
    SamplerPanicked,
}

/// Samples the guest behind a QMP socket until [`Sampler::finish`].
pub struct Sampler {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Result<Vec<Sample>, ProfileError>>,
}

impl Sampler {
    /// Starts sampling in a thread; it waits (up to 10 s) for QEMU to
    /// create `socket`.
    pub fn start(socket: &Path) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let (socket, flag) = (socket.to_owned(), stop.clone());
        let thread = std::thread::spawn(move || sample_until(&socket, &flag));
        Self { stop, thread }
    }

    /// Asks the thread to stop after its current sample.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Stops and returns what was sampled (an error only when no monitor
    /// could be talked to at all; QEMU exiting mid-way just ends it).
    pub fn finish(self) -> Result<Vec<Sample>, ProfileError> {
        self.stop();
        self.thread
            .join()
            .unwrap_or(Err(ProfileError::SamplerPanicked))
    }
}

fn sample_until(socket: &Path, stop: &AtomicBool) -> Result<Vec<Sample>, ProfileError> {
    let monitor_err = |source| ProfileError::Monitor {
        path: socket.to_owned(),
        source,
    };
    let mut tries = 0;
    let stream = loop {
        match UnixStream::connect(socket) {
            Ok(s) => break s,
            Err(_) if tries < 1000 && !stop.load(Ordering::Relaxed) => {
                tries += 1;
                std::thread::sleep(PERIOD);
            }
            Err(e) => return Err(monitor_err(e)),
        }
    };
    let mut writer = stream.try_clone().map_err(monitor_err)?;
    let mut reader = BufReader::new(stream);
    // The greeting, then capabilities negotiation, as QMP requires.
    let greeting = read_message(&mut reader).map_err(monitor_err)?;
    if greeting.get("QMP").is_none() {
        return Err(ProfileError::Protocol(greeting.to_string()));
    }
    ask(
        &mut writer,
        &mut reader,
        &serde_json::json!({"execute": "qmp_capabilities"}),
    )
    .map_err(monitor_err)?;
    let registers = serde_json::json!({
        "execute": "human-monitor-command",
        "arguments": {"command-line": "info registers -a"}
    });
    let mut all = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        // QEMU exiting closes the socket: the profile ends there.
        let Ok(answer) = ask(&mut writer, &mut reader, &registers) else {
            break;
        };
        if let Some(text) = answer.get("return").and_then(|r| r.as_str()) {
            all.extend(samples(text));
        }
        std::thread::sleep(PERIOD);
    }
    Ok(all)
}

/// Sends one QMP command and returns its answer (events before it skipped).
fn ask(
    w: &mut UnixStream,
    r: &mut impl BufRead,
    cmd: &serde_json::Value,
) -> std::io::Result<serde_json::Value> {
    writeln!(w, "{cmd}")?;
    loop {
        let m = read_message(r)?;
        if m.get("return").is_some() || m.get("error").is_some() {
            return Ok(m);
        }
    }
}

fn read_message(r: &mut impl BufRead) -> std::io::Result<serde_json::Value> {
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    serde_json::from_str(&line).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `info registers -a` of the test kernel's 2-vCPU guest (QEMU 10.0,
    /// TCG), cut to each CPU's first lines.
    const INFO_REGISTERS: &str = "\r
CPU#0\r
RAX=0000000000004901 RBX=ffffffff81174570 RCX=ffffffff8171e774 RDX=0000000000000001\r
RSI=0000000000000004 RDI=ffffffff81174570 RBP=0000000000000002 RSP=ffffffff81c07e08\r
RIP=ffffffff8171da16 RFL=00000246 [---Z-P-] CPL=0 II=0 A20=1 SMM=0 HLT=1\r
ES =0000 0000000000000000 00000000 00000000\r
CPU#1\r
RAX=0000000000000000 RBX=ffff888003c4a000 RCX=0000000000000000 RDX=0000000000000000\r
RIP=ffffffff81409fff RFL=00000296 [--S-AP-] CPL=0 II=0 A20=1 SMM=0 HLT=0\r
";

    /// Lines of the test kernel's System.map around those addresses, plus
    /// data symbols that must not count.
    const SYSTEM_MAP: &str = "\
ffffffff81000000 T _text
ffffffff81409800 t ___slab_alloc
ffffffff8140a000 D some_data
ffffffff8140a200 T kmem_cache_alloc_noprof
ffffffff8171da00 t pv_native_safe_halt
ffffffff8171da40 T default_idle
ffffffff8171db00 T _etext
";

    #[test]
    fn samples_come_from_each_vcpus_rip_line() {
        assert_eq!(
            samples(INFO_REGISTERS),
            vec![
                Sample {
                    rip: 0xffff_ffff_8171_da16,
                    halted: true
                },
                Sample {
                    rip: 0xffff_ffff_8140_9fff,
                    halted: false
                },
            ]
        );
        assert!(samples("RIP=zz\nno registers here").is_empty());
    }

    #[test]
    fn addresses_resolve_to_the_function_they_are_in() {
        let map = SymbolMap::parse(SYSTEM_MAP);
        assert_eq!(map.resolve(0xffff_ffff_8171_da16), "pv_native_safe_halt");
        assert_eq!(map.resolve(0xffff_ffff_8140_9fff), "___slab_alloc");
        // A data symbol in between is not a function.
        assert_eq!(map.resolve(0xffff_ffff_8140_a100), "___slab_alloc");
        assert_eq!(
            map.resolve(0xffff_ffff_8140_a200),
            "kmem_cache_alloc_noprof"
        );
        assert_eq!(map.resolve(0x0000_5555_5555_4000), "[user]");
        assert_eq!(map.resolve(0xffff_ffff_8000_0000), "[unknown]");
        assert_eq!(map.resolve(0xffff_ffff_c000_1000), "[module]");
        assert!(SymbolMap::parse("garbage\n\n").is_empty());
    }

    #[test]
    fn the_profile_counts_halted_vcpus_apart() {
        let map = SymbolMap::parse(SYSTEM_MAP);
        let mut all = samples(INFO_REGISTERS);
        all.extend(samples(INFO_REGISTERS));
        all.push(Sample {
            rip: 0xffff_ffff_8140_a210,
            halted: false,
        });
        let p = Profile::new(&all, &map);
        assert_eq!((p.samples, p.halted), (5, 2));
        assert_eq!(
            p.functions,
            vec![
                ("___slab_alloc".to_owned(), 2),
                ("kmem_cache_alloc_noprof".to_owned(), 1)
            ]
        );
        let text = p.render(1);
        assert!(
            text.starts_with("5 vCPU samples: 2 halted (40.0%, idle), 3 busy;"),
            "{text}"
        );
        assert!(text.contains("  66.7%       2 ___slab_alloc\n"), "{text}");
        assert!(!text.contains("kmem_cache_alloc_noprof"), "{text}");
    }
}
