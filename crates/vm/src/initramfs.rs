//! A newc cpio initramfs, written in Rust: busybox, a static mempoolctl, the
//! modules, an init script and the scenario to run.

use crate::scenario::Scenario;
use cpio::NewcBuilder;
use std::collections::BTreeSet;
use std::io::{self, Cursor, Write};
use std::path::{Path, PathBuf};

enum Node {
    Dir,
    File { data: Vec<u8>, mode: u32 },
    Symlink(String),
}

/// An in-memory initramfs tree; parents are created as needed.
#[derive(Default)]
pub struct Initramfs {
    entries: Vec<(String, Node)>,
    dirs: BTreeSet<String>,
}

fn clean(path: &str) -> String {
    path.trim_start_matches('/')
        .trim_end_matches('/')
        .to_owned()
}

impl Initramfs {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn dir(&mut self, path: &str) -> &mut Self {
        let path = clean(path);
        if path.is_empty() || self.dirs.contains(&path) {
            return self;
        }
        if let Some((parent, _)) = path.rsplit_once('/') {
            self.dir(parent);
        }
        self.dirs.insert(path.clone());
        self.entries.push((path, Node::Dir));
        self
    }

    fn parent_of(&mut self, path: &str) {
        if let Some((parent, _)) = path.rsplit_once('/') {
            self.dir(parent);
        }
    }

    pub fn file(&mut self, path: &str, data: Vec<u8>, mode: u32) -> &mut Self {
        let path = clean(path);
        self.parent_of(&path);
        self.entries.push((path, Node::File { data, mode }));
        self
    }

    pub fn symlink(&mut self, path: &str, target: &str) -> &mut Self {
        let path = clean(path);
        self.parent_of(&path);
        self.entries.push((path, Node::Symlink(target.to_owned())));
        self
    }

    /// Paths in archive order (for tests and listings).
    pub fn paths(&self) -> Vec<&str> {
        self.entries.iter().map(|(p, _)| p.as_str()).collect()
    }

    /// Writes the archive. The root is `0755`: an initramfs root inheriting a
    /// temp dir's 0700 would lock unprivileged guest users out of everything.
    pub fn write_to<W: Write>(&self, out: W) -> io::Result<W> {
        let root = (
            NewcBuilder::new(".").mode(0o040755),
            Cursor::new(Vec::new()),
        );
        let rest = self.entries.iter().map(|(path, node)| {
            let (mode, data) = match node {
                Node::Dir => (0o040755, Vec::new()),
                Node::File { data, mode } => (0o100000 | mode, data.clone()),
                Node::Symlink(target) => (0o120777, target.as_bytes().to_vec()),
            };
            (
                NewcBuilder::new(path).mode(mode).uid(0).gid(0).nlink(1),
                Cursor::new(data),
            )
        });
        cpio::write_cpio(std::iter::once(root).chain(rest), out)
    }
}

/// Everything that goes into a test guest.
pub struct GuestImage {
    pub busybox: PathBuf,
    pub mempoolctl: PathBuf,
    pub modules: Vec<PathBuf>,
    /// `uname -r` of the guest kernel: modules go to `/lib/modules/<release>/extra`.
    pub kernel_release: String,
    pub scenario: Scenario,
    /// The module the scenario drives (`rust_mempool` or `c_mempool`) and
    /// mempoolctl's flavor for it, written to the guest's config file.
    pub module: String,
    pub flavor: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("cannot read {path}: {source} ({hint})")]
    Read {
        path: PathBuf,
        hint: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("{path} is dynamically linked; the guest has no libc. Build it static: RUSTFLAGS='-C target-feature=+crt-static' cargo build --target x86_64-unknown-linux-gnu (cargo xtask does)")]
    NotStatic { path: PathBuf },
    #[error("cannot write initramfs {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

fn read(path: &Path, hint: &'static str) -> Result<Vec<u8>, ImageError> {
    std::fs::read(path).map_err(|source| ImageError::Read {
        path: path.to_owned(),
        hint,
        source,
    })
}

/// An ELF with a `PT_INTERP` program header needs a dynamic loader.
pub fn is_dynamic_elf(data: &[u8]) -> bool {
    let u16_at = |o: usize| {
        data.get(o..o + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)
    };
    let u64_at = |o: usize| {
        data.get(o..o + 8)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])) as usize)
    };
    if data.get(..4) != Some(b"\x7fELF") || data.get(4) != Some(&2) {
        return false;
    }
    let (Some(phoff), Some(phentsize), Some(phnum)) = (u64_at(0x20), u16_at(0x36), u16_at(0x38))
    else {
        return false;
    };
    (0..phnum).any(|i| {
        let off = phoff + i * phentsize;
        data.get(off..off + 4) == Some(&3u32.to_le_bytes()[..])
    })
}

/// `data` with its `vermagic=` string changed, same length: each digit of the
/// release incremented, and the case of the first flag word's first letter
/// swapped (`SMP` -> `sMP`). What a module built against other headers looks
/// like, also to a kernel with CONFIG_MODVERSIONS, which compares only the
/// flags (the release is skipped when the module carries symbol CRCs:
/// kernel/module/version.c, same_magic()).
pub fn with_other_vermagic(data: &[u8], release: &str) -> Option<Vec<u8>> {
    let needle = format!("vermagic={release}");
    let at = data
        .windows(needle.len())
        .position(|w| w == needle.as_bytes())?;
    let mut out = data.to_vec();
    let start = at + "vermagic=".len();
    let end = start + release.len();
    for b in &mut out[start..end] {
        if b.is_ascii_digit() {
            *b = b'0' + (*b - b'0' + 1) % 10;
        }
    }
    if out.get(end) == Some(&b' ') {
        if let Some(b) = out.get_mut(end + 1).filter(|b| b.is_ascii_alphabetic()) {
            *b ^= 0x20;
        }
    }
    (out != data).then_some(out)
}

pub const INIT: &str = include_str!("../guest/init.sh");

/// The applets `busybox --list` names (run on the host: the guest's busybox is
/// static); none when it cannot run, and the guest's init installs them itself.
fn applets(busybox: &Path) -> Vec<String> {
    let Ok(out) = std::process::Command::new(busybox).arg("--list").output() else {
        return Vec::new();
    };
    if !out.status.success() {
        return Vec::new();
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::trim)
        .filter(|a| {
            !a.is_empty()
                && !a.contains('/')
                && !matches!(*a, "." | ".." | "busybox" | "mempoolctl")
        })
        .map(str::to_owned)
        .collect()
}

pub const TEST_LIB: &str = include_str!("../guest/lib.sh");

/// `/etc/mempoolctl-guest.env`, which init sources before the scenario: the
/// module under test, and the start of the guest's last line for the host.
fn guest_env(module: &str) -> String {
    format!(
        "MODULE={module}\nFINISHED='{}'\n",
        crate::qemu::GUEST_FINISHED
    )
}

impl GuestImage {
    pub fn build(&self) -> Result<Initramfs, ImageError> {
        let mut fs = Initramfs::new();
        for d in ["bin", "sbin", "dev", "proc", "sys", "tmp", "etc", "root"] {
            fs.dir(d);
        }
        fs.file(
            "bin/busybox",
            read(
                &self.busybox,
                "install busybox-static: cargo xtask provision",
            )?,
            0o755,
        );
        // Every applet linked in /bin here, so the guest's init skips
        // `busybox --install` (1.7 s of every boot under TCG).
        for applet in applets(&self.busybox) {
            fs.symlink(&format!("bin/{applet}"), "busybox");
        }
        let ctl = read(&self.mempoolctl, "build mempoolctl first")?;
        if is_dynamic_elf(&ctl) {
            return Err(ImageError::NotStatic {
                path: self.mempoolctl.clone(),
            });
        }
        fs.file("bin/mempoolctl", ctl, 0o755);
        let extra = format!("lib/modules/{}/extra", self.kernel_release);
        fs.dir(&extra);
        for ko in &self.modules {
            let name = ko
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let data = read(ko, "build the module first")?;
            // A copy the kernel must refuse with ENOEXEC, for the faults checks.
            let bad = self
                .scenario
                .needs_fault_fixtures()
                .then(|| with_other_vermagic(&data, &self.kernel_release))
                .flatten();
            if let Some(bad) = bad {
                fs.file(
                    &format!("lib/modules/{}/bad-vermagic/{name}", self.kernel_release),
                    bad,
                    0o644,
                );
            }
            fs.file(&format!("{extra}/{name}"), data, 0o644);
        }
        // The guest's mempoolctl reads its flavor from the system config file,
        // which also exercises that path; the scripts read MODULE.
        fs.file(
            "etc/mempoolctl.toml",
            format!("[module]\nflavor = {:?}\n", self.flavor).into_bytes(),
            0o644,
        );
        fs.file(
            "etc/mempoolctl-guest.env",
            guest_env(&self.module).into_bytes(),
            0o644,
        );
        // Mounted by init's `mount -a`, in this order (debugfs lives in sysfs).
        // devtmpfs: the kernel mounts it only on a disk root, not an initramfs.
        fs.file(
            "etc/fstab",
            b"proc /proc proc defaults 0 0\nsysfs /sys sysfs defaults 0 0\n\
              devtmpfs /dev devtmpfs defaults 0 0\ndebugfs /sys/kernel/debug debugfs defaults 0 0\n\
              tmpfs /tmp tmpfs defaults 0 0\n"
                .to_vec(),
            0o644,
        );
        fs.file("init", INIT.as_bytes().to_vec(), 0o755);
        fs.file(
            "lib/mempoolctl-test.sh",
            TEST_LIB.as_bytes().to_vec(),
            0o644,
        );
        fs.file("scenario.sh", self.scenario.script().into_bytes(), 0o755);
        // root always (busybox's su and id look it up); nobody for the faults
        // checks' non-root attempts.
        let (passwd, group) = if self.scenario.needs_fault_fixtures() {
            (
                "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n",
                "root:x:0:\nnogroup:x:65534:\n",
            )
        } else {
            ("root:x:0:0:root:/root:/bin/sh\n", "root:x:0:\n")
        };
        fs.file("etc/passwd", passwd.as_bytes().to_vec(), 0o644);
        fs.file("etc/group", group.as_bytes().to_vec(), 0o644);
        Ok(fs)
    }

    pub fn write(&self, path: &Path) -> Result<(), ImageError> {
        let werr = |source| ImageError::Write {
            path: path.to_owned(),
            source,
        };
        let file = std::fs::File::create(path).map_err(werr)?;
        let fs = self.build()?;
        fs.write_to(io::BufWriter::new(file))
            .and_then(|mut w| w.flush())
            .map_err(werr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `script` with the host's `sh` in `dir`, `lib.sh` written there.
    fn run_sh_with_lib(dir: &Path, script: &str) -> std::process::Output {
        std::fs::write(dir.join("lib.sh"), TEST_LIB).unwrap();
        std::process::Command::new("sh")
            .current_dir(dir)
            // The checks' output files go here, not to the host's /tmp.
            .env("SCRATCH", dir)
            .arg("-c")
            .arg(script)
            .output()
            .unwrap()
    }

    /// The guest's `finish`, run by the host's shell with the guest's env
    /// file and library (kernel log, sync and reboot stubbed): its console
    /// line is the one the host waits for, the verdict goes to fd 3 first.
    #[test]
    fn the_guests_last_line_is_the_one_the_host_waits_for() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("env"), guest_env("c_mempool")).unwrap();
        let out = run_sh_with_lib(
            dir.path(),
            ". ./env; . ./lib.sh; dmesg() { :; }; sync() { :; }; reboot() { echo rebooted; }; \
             T=3; FAILED=1; SKIPPED=0; finish 3>results",
        );
        let console = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            console.lines().collect::<Vec<_>>(),
            [
                &*format!(
                    "{} fail (3 checks, 1 failed, 0 skipped)",
                    crate::qemu::GUEST_FINISHED
                ),
                "rebooted"
            ],
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let results = std::fs::read_to_string(dir.path().join("results")).unwrap();
        assert!(
            results.ends_with("1..3\nVERDICT fail tests=3 failed=1\n"),
            "{results}"
        );
    }

    /// /proc/uptime's text to hundredths, in the arithmetic the guest does
    /// with it (`timed`, `sleep_until`): a boot's first second too, whose
    /// digits start with 0 and were octal to the shell, a syntax error that
    /// ended PID 1 on a fast machine (seen on the lean kernel at 0.97 s).
    #[test]
    fn the_guests_clock_reads_its_first_second_as_decimal() {
        let dir = tempfile::tempdir().unwrap();
        let out = run_sh_with_lib(
            dir.path(),
            ". ./lib.sh; for u in 0.97 0.08 0.00 1.05 12.90 3601.99; do \
             centiseconds $u; echo \"$u $UPTIME_CS $((UPTIME_CS / 100))\"; done",
        );
        assert!(out.status.success(), "{out:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .collect::<Vec<_>>(),
            [
                "0.97 97 0",
                "0.08 8 0",
                "0.00 0 0",
                "1.05 105 1",
                "12.90 1290 12",
                "3601.99 360199 3601"
            ]
        );
    }

    #[test]
    fn the_guests_results_lines_are_what_the_host_parses() {
        // lib.sh's own report, skip and clock lines, read back by the host's
        // parser: every check found, in order, with its outcome and a time.
        let dir = tempfile::tempdir().unwrap();
        let out = run_sh_with_lib(
            dir.path(),
            "exec 3>results; . ./lib.sh; clock_line; report ok 'a load'; \
             report fail 'b stats' \"expected '6', got '5'\"; skip 'c leaks' 'no kmemleak'",
        );
        assert!(out.status.success(), "{out:?}");
        let text = std::fs::read_to_string(dir.path().join("results")).unwrap();
        let (tests, _) = crate::scenario::parse_results(&text);
        let seen: Vec<_> = tests
            .iter()
            .map(|t| (t.number, t.name.as_str(), t.ok, t.detail.as_deref()))
            .collect();
        assert_eq!(
            seen,
            [
                (1, "a load", true, None),
                (2, "b stats", false, Some("expected '6', got '5'")),
                (3, "c leaks", true, Some("SKIP no kmemleak")),
            ],
            "{text}"
        );
        assert!(tests.iter().all(|t| t.centis.is_some()), "{text}");
    }

    /// A refusal check passes only on the exit status and the reason it
    /// names (a usage error's 2 is no EINVAL), and only a passed one counts
    /// as a verified bad input.
    #[test]
    fn refusal_checks_name_the_exit_status_and_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let out = run_sh_with_lib(
            dir.path(),
            "exec 3>results; . ./lib.sh; \
             check_msg 'm right' 1 'bad thing' sh -c 'echo a bad thing; exit 1'; \
             check_msg 'm usage error' 1 'bad thing' sh -c 'echo a bad thing; exit 2'; \
             check_msg 'm other reason' 1 'bad thing' sh -c 'echo other; exit 1'; \
             check_msg 'm accepted' 1 'bad thing' true; \
             check_refused 'r right' 22 'Invalid argument' sh -c 'echo Invalid argument; exit 22'; \
             check_refused 'r usage error' 22 'Invalid argument' sh -c 'echo Invalid argument; exit 2'; \
             check_refused 'r other reason' 22 'Invalid argument' sh -c 'echo Bad address; exit 22'; \
             check_msg 'm no status' '' 'bad thing' sh -c 'echo a bad thing >ran; exit 1'; \
             check_refused 'r status 0' 0 'Invalid argument' sh -c 'echo Invalid argument >ran; exit 0'; \
             check_fails_cleanly 'f status 256' 256 'x' sh -c 'echo x >ran; exit 0'; \
             check_msg 'm sign' +1 'bad thing' sh -c 'echo a bad thing >ran; exit 1'; \
             echo bad_inputs=$BAD_INPUTS",
        );
        assert!(out.status.success(), "{out:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).ends_with("bad_inputs=1\n"),
            "{out:?}"
        );
        let text = std::fs::read_to_string(dir.path().join("results")).unwrap();
        let (tests, _) = crate::scenario::parse_results(&text);
        let seen: Vec<_> = tests
            .iter()
            .map(|t| (t.name.as_str(), t.ok, t.detail.as_deref().unwrap_or("")))
            .collect();
        assert_eq!(
            seen,
            [
                ("m right", true, ""),
                (
                    "m usage error",
                    false,
                    "exit status 2, expected 1: a bad thing"
                ),
                (
                    "m other reason",
                    false,
                    "exit status 1, but the output lacks 'bad thing'"
                ),
                ("m accepted", false, "succeeded but must fail"),
                ("r right", true, ""),
                (
                    "r usage error",
                    false,
                    "exit status 2, expected 22: Invalid argument"
                ),
                (
                    "r other reason",
                    false,
                    "exit status 22, but the output lacks 'Invalid argument': Bad address"
                ),
                (
                    "m no status",
                    false,
                    "malformed check: '' is no exit status of a failing command (1..255)"
                ),
                (
                    "r status 0",
                    false,
                    "malformed check: '0' is no exit status of a failing command (1..255)"
                ),
                (
                    "f status 256",
                    false,
                    "malformed check: '256' is no exit status of a failing command (1..255)"
                ),
                (
                    "m sign",
                    false,
                    "malformed check: '+1' is no exit status of a failing command (1..255)"
                ),
            ],
            "{text}"
        );
        // A malformed check runs nothing.
        assert!(!dir.path().join("ran").exists());
    }

    #[test]
    fn kallsyms_ranges_end_at_the_next_address_and_never_guess() {
        // A hand-written /proc/kallsyms: aliases, a name that another one
        // starts with, a function with more aliases than grep's context, a
        // module's symbol and the image's end.
        let kallsyms = "\
ffffffff81000000 T _stext
ffffffff81000100 T mod_sysfs_setup
ffffffff81000100 t mod_sysfs_setup_alias
ffffffff81000180 T mod_sysfs_setup_more
ffffffff81000200 T mempool_resize
ffffffff81000200 t a1
ffffffff81000200 t a2
ffffffff81000200 t a3
ffffffff81000300 T unrelated
ffffffff81000400 T errname
ffffffff81000500 T internal_create_group
ffffffff81000540 T next_one
ffffffff81000600 T _einittext
ffffffff82000000 B _end
ffffffffc0000000 t mod_sysfs_setup\t[other]
";
        let ranges = |text: &str, names: &str| {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("kallsyms"), text).unwrap();
            let out = run_sh_with_lib(
                dir.path(),
                &format!(
                    ". ./lib.sh; KALLSYMS=./kallsyms RANGES=./ranges; kallsyms_ranges {names}"
                ),
            );
            assert!(out.status.success(), "{out:?}");
            std::fs::read_to_string(dir.path().join("ranges")).unwrap()
        };
        assert_eq!(
            ranges(
                kallsyms,
                "mod_sysfs_setup mempool_resize internal_create_group missing"
            ),
            "mod_sysfs_setup ffffffff81000100 ffffffff81000180\n\
             errname\n\
             internal_create_group ffffffff81000500 ffffffff81000540\n\
             text_top ffffffff81000600\n\
             top ffffffff82000000\n"
        );
        // Without CONFIG_KALLSYMS_ALL there is no _end: the text's end stands in.
        let text_only = kallsyms.replace("ffffffff82000000 B _end\n", "");
        assert_eq!(
            ranges(&text_only, "next_one"),
            "errname\nnext_one ffffffff81000540 ffffffff81000600\ntext_top ffffffff81000600\n"
        );
    }

    #[test]
    fn vermagic_copy_differs_in_the_release_and_the_flags() {
        let data = b"\0license=GPL\0vermagic=7.3.9 preempt mod_unload \0";
        let bad = with_other_vermagic(data, "7.3.9").unwrap();
        assert_eq!(
            &bad[..],
            b"\0license=GPL\0vermagic=8.4.0 Preempt mod_unload \0"
        );
        // Debian 12's, with modversions: the flags differ too.
        let data = b"vermagic=6.1.0-50-amd64 SMP mod_unload modversions \0";
        let bad = with_other_vermagic(data, "6.1.0-50-amd64").unwrap();
        assert_eq!(
            &bad[..],
            b"vermagic=7.2.1-61-amd75 sMP mod_unload modversions \0"
        );
        assert_eq!(with_other_vermagic(data, "7.3.9"), None);
        assert_eq!(with_other_vermagic(b"vermagic=abc", "abc"), None);
    }

    #[test]
    fn creates_parents_once_and_writes_newc() {
        let mut fs = Initramfs::new();
        fs.file("/lib/modules/7.3/extra/a.ko", b"abc".to_vec(), 0o644);
        fs.file("lib/modules/7.3/extra/b.ko", b"x".to_vec(), 0o644);
        fs.symlink("bin/sh", "busybox");
        assert_eq!(
            fs.paths(),
            vec![
                "lib",
                "lib/modules",
                "lib/modules/7.3",
                "lib/modules/7.3/extra",
                "lib/modules/7.3/extra/a.ko",
                "lib/modules/7.3/extra/b.ko",
                "bin",
                "bin/sh"
            ]
        );
        let bytes = fs.write_to(Vec::new()).unwrap();
        assert!(bytes.starts_with(b"070701"), "newc magic");
        // Read it back with the same crate: names, modes and contents survive.
        let mut r = Cursor::new(bytes);
        let mut seen = Vec::new();
        loop {
            let entry = cpio::NewcReader::new(r).unwrap();
            if entry.entry().is_trailer() {
                break;
            }
            seen.push((
                entry.entry().name().to_owned(),
                entry.entry().mode(),
                entry.entry().file_size(),
            ));
            r = entry.finish().unwrap();
        }
        assert_eq!(seen[0], (".".to_owned(), 0o040755, 0));
        assert!(seen.contains(&("lib/modules/7.3/extra/a.ko".to_owned(), 0o100644, 3)));
        assert!(seen.contains(&("bin/sh".to_owned(), 0o120777, 7)));
    }

    #[test]
    fn links_the_applets_busybox_lists() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, data: &[u8], mode: u32| {
            let p = dir.path().join(name);
            std::fs::write(&p, data).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
            p
        };
        // What `busybox --list` prints, with names that must not become links.
        // A file in the repository, not one written here: executing a file
        // this process just wrote can fail with ETXTBSY while another test's
        // fork still holds the write descriptor.
        let busybox = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/busybox-list");
        let image = GuestImage {
            busybox,
            mempoolctl: write("mempoolctl", b"#!static", 0o755),
            modules: vec![],
            kernel_release: "7.3.4".into(),
            scenario: Scenario::Demo,
            module: "rust_mempool".into(),
            flavor: "rust".into(),
        }
        .build()
        .unwrap();
        let links: Vec<(&str, &str)> = image
            .entries
            .iter()
            .filter_map(|(p, n)| match n {
                Node::Symlink(t) => Some((p.as_str(), t.as_str())),
                _ => None,
            })
            .collect();
        assert_eq!(
            links,
            [
                ("bin/sh", "busybox"),
                ("bin/mount", "busybox"),
                ("bin/[", "busybox")
            ]
        );
        // The busybox binary itself and mempoolctl stay files.
        assert!(image.paths().contains(&"bin/busybox"));
        assert!(image.paths().contains(&"etc/fstab"));
    }

    #[test]
    fn only_the_faults_checks_get_their_fixtures() {
        let dir = tempfile::tempdir().unwrap();
        let file = |name: &str, data: &[u8]| {
            let p = dir.path().join(name);
            std::fs::write(&p, data).unwrap();
            p
        };
        let image = |scenario| {
            GuestImage {
                busybox: file("busybox", b"#!static"),
                mempoolctl: file("mempoolctl", b"#!static"),
                modules: vec![file("m.ko", b"\0vermagic=7.3.4 SMP mod_unload \0")],
                kernel_release: "7.3.4".into(),
                scenario,
                module: "rust_mempool".into(),
                flavor: "rust".into(),
            }
            .build()
            .unwrap()
        };
        let bad = "lib/modules/7.3.4/bad-vermagic/m.ko";
        let faults = image(Scenario::Faults);
        assert!(faults.paths().contains(&bad));
        let demo = image(Scenario::Demo);
        assert!(!demo.paths().contains(&bad));
        assert!(demo.paths().contains(&"lib/modules/7.3.4/extra/m.ko"));
    }

    #[test]
    fn detects_dynamic_elf() {
        let dynamic = std::fs::read("/bin/sh").unwrap();
        assert!(is_dynamic_elf(&dynamic));
        assert!(!is_dynamic_elf(b"#!/bin/sh\n"));
    }
}
