//! Every explained failure, against a fake kernel that behaves like the real
//! one: it creates and removes the sysfs entries and writes kernel log records.

use super::*;
use std::cell::Cell;
use std::fs;
use std::io::Write;
use std::path::PathBuf;

const MODULE: &str = "rust_mempool";

#[derive(Clone, Copy, PartialEq)]
enum Behaviour {
    Works,
    BadVermagic,
    RefusesParams,
    LeaksCache,
    WarnsOnExit,
}

struct FakeKernel {
    root: PathBuf,
    behaviour: Behaviour,
    seq: Cell<u64>,
}

impl FakeKernel {
    fn log(&self, level: u8, message: &str) {
        let seq = self.seq.get() + 1;
        self.seq.set(seq);
        let mut f = fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(self.root.join("dev/kmsg"))
            .unwrap();
        writeln!(f, "{level},{seq},{},-;{message}", seq * 1000).unwrap();
    }

    fn create_module(&self, min_nr: &str) {
        let m = self.root.join("sys/module").join(MODULE);
        fs::create_dir_all(&m).unwrap();
        fs::write(m.join("initstate"), "live\n").unwrap();
        fs::write(m.join("refcnt"), "0\n").unwrap();
        let k = self.root.join("sys/kernel").join(MODULE);
        fs::create_dir_all(&k).unwrap();
        for (f, v) in [
            ("min_nr", min_nr),
            ("curr_nr", min_nr),
            ("object_size", "10240"),
            ("cache_object_size", "10240"),
            ("cache_name", MODULE),
            ("in_use", "2"),
            ("alloc_total", "2"),
            ("free_total", "0"),
            ("alloc_failed", "0"),
            ("reserve_served", "0"),
            ("reserve_refilled", "0"),
            ("bench_pairs", "0"),
            ("bench_mempool_only_pairs", "0"),
            ("hold", ""),
        ] {
            fs::write(k.join(f), format!("{v}\n")).unwrap();
        }
        fs::create_dir_all(self.root.join("sys/kernel/slab").join(MODULE)).unwrap();
    }
}

impl KernelOps for FakeKernel {
    fn finit_module(&self, _ko: &Path, _file: &std::fs::File, params: &str) -> Result<(), Errno> {
        match self.behaviour {
            Behaviour::BadVermagic => {
                self.log(3, &format!("{MODULE}: version magic '7.3.9 SMP mod_unload ' should be '7.3.4 preempt mod_unload '"));
                Err(Errno::ENOEXEC)
            }
            Behaviour::RefusesParams => {
                self.log(
                    3,
                    &format!("{MODULE}: invalid min_nr=0: allowed range is 1..=4096"),
                );
                Err(Errno::EINVAL)
            }
            _ => {
                let min_nr = params
                    .split_whitespace()
                    .find_map(|p| p.strip_prefix("min_nr="))
                    .unwrap();
                self.create_module(min_nr);
                self.log(
                    6,
                    &format!("{MODULE}: mempool created: min_nr = {min_nr}, curr_nr = {min_nr}"),
                );
                Ok(())
            }
        }
    }

    fn delete_module(&self, name: &str, _wait: bool) -> Result<(), Errno> {
        fs::remove_dir_all(self.root.join("sys/module").join(name)).unwrap();
        fs::remove_dir_all(self.root.join("sys/kernel").join(name)).unwrap();
        if self.behaviour != Behaviour::LeaksCache {
            fs::remove_dir_all(self.root.join("sys/kernel/slab").join(name)).unwrap();
        }
        if self.behaviour == Behaviour::WarnsOnExit {
            self.log(3, &format!("BUG {MODULE} (Tainted: G           O      ): Objects remaining on __kmem_cache_shutdown()"));
        }
        self.log(6, &format!("{MODULE}: kmem_cache_destroy done"));
        Ok(())
    }

    fn release(&self) -> String {
        "7.3.4".into()
    }
}

/// A fake root with an empty kernel log and a `.ko` whose vermagic is 7.3.9.
fn setup(behaviour: Behaviour) -> (tempfile::TempDir, FakeKernel, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    fs::create_dir_all(t.path().join("dev")).unwrap();
    fs::write(t.path().join("dev/kmsg"), "6,0,0,-;Linux version 7.3.4\n").unwrap();
    let ko = t.path().join("rust_mempool.ko");
    fs::write(
        &ko,
        fake_ko(b"name=rust_mempool\0vermagic=7.3.9 SMP mod_unload \0"),
    )
    .unwrap();
    let kernel = FakeKernel {
        root: t.path().to_owned(),
        behaviour,
        seq: Cell::new(0),
    };
    (t, kernel, ko)
}

fn fake_ko(modinfo: &[u8]) -> Vec<u8> {
    use object::write::Object;
    let mut obj = Object::new(
        object::BinaryFormat::Elf,
        object::Architecture::X86_64,
        object::Endianness::Little,
    );
    let id = obj.add_section(
        Vec::new(),
        b".modinfo".to_vec(),
        object::SectionKind::ReadOnlyData,
    );
    obj.append_section_data(id, modinfo, 1);
    obj.write().unwrap()
}

fn target<'a>(t: &'a tempfile::TempDir, k: &'a FakeKernel) -> Target<'a> {
    Target {
        root: t.path(),
        kernel: k,
        module: MODULE,
    }
}

fn params(min_nr: u64) -> ModuleParams {
    ModuleParams::new(min_nr, 10240).unwrap()
}

#[test]
fn load_returns_this_loads_lines_and_unload_verifies() {
    let (t, k, ko) = setup(Behaviour::Works);
    let log = load(&target(&t, &k), &ko, &params(6)).unwrap();
    let lines: Vec<_> = log.iter().map(|l| l.message.as_str()).collect();
    assert_eq!(
        lines,
        ["rust_mempool: mempool created: min_nr = 6, curr_nr = 6"]
    );
    let done = unload(&target(&t, &k), false).unwrap();
    assert!(done.kernel_log_read);
    assert_eq!(done.log.len(), 1);
    assert_eq!(done.log[0].message, "rust_mempool: kmem_cache_destroy done");
}

#[test]
fn unload_says_when_the_kernel_log_could_not_be_read() {
    let (t, k, ko) = setup(Behaviour::Works);
    load(&target(&t, &k), &ko, &params(6)).unwrap();
    fs::remove_file(t.path().join("dev/kmsg")).unwrap();
    let done = unload(&target(&t, &k), false).unwrap();
    assert!(!done.kernel_log_read);
    assert!(done.log.is_empty());
}

#[test]
fn eexist_shows_the_current_parameters() {
    let (t, k, ko) = setup(Behaviour::Works);
    load(&target(&t, &k), &ko, &params(8)).unwrap();
    let err = load(&target(&t, &k), &ko, &params(6)).unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("rust_mempool is already loaded (state live, refcount 0)"),
        "{text}"
    );
    assert!(
        text.ends_with("\n  loaded now with min_nr=8 object_size=10240 (curr_nr 8, in_use 2)"),
        "{text}"
    );
}

#[test]
fn enoexec_shows_both_vermagics() {
    let (t, k, ko) = setup(Behaviour::BadVermagic);
    let err = load(&target(&t, &k), &ko, &params(6)).unwrap_err();
    assert_eq!(err.errno(), Some(Errno::ENOEXEC));
    assert_eq!(
        err.details,
        [
            "the .ko's vermagic:      \"7.3.9 SMP mod_unload \"",
            "the kernel's vermagic:   \"7.3.4 preempt mod_unload \""
        ]
    );
    assert!(err.to_string().starts_with("load failed: ENOEXEC"), "{err}");
}

#[test]
fn einval_shows_the_modules_own_reason() {
    let (t, k, ko) = setup(Behaviour::RefusesParams);
    let err = load(&target(&t, &k), &ko, &params(6)).unwrap_err();
    assert_eq!(err.errno(), Some(Errno::EINVAL));
    assert_eq!(
        err.details,
        ["the kernel said: rust_mempool: invalid min_nr=0: allowed range is 1..=4096"]
    );
    assert_eq!(err.log.len(), 1);
    // Nothing was created.
    assert!(!t.path().join("sys/module/rust_mempool").exists());
}

#[test]
fn unload_reports_a_leaked_cache() {
    let (t, k, ko) = setup(Behaviour::LeaksCache);
    load(&target(&t, &k), &ko, &params(6)).unwrap();
    let err = unload(&target(&t, &k), false).unwrap_err().to_string();
    assert!(
        err.starts_with("unloaded, but slab cache rust_mempool still exists"),
        "{err}"
    );
}

#[test]
fn unload_reports_kernel_warnings_since_the_unload() {
    let (t, k, ko) = setup(Behaviour::WarnsOnExit);
    load(&target(&t, &k), &ko, &params(6)).unwrap();
    let err = unload(&target(&t, &k), false).unwrap_err().to_string();
    assert!(
        err.starts_with("unloaded, but the kernel reported 1 problem line(s): BUG rust_mempool"),
        "{err}"
    );
    assert!(
        err.contains("Objects remaining on __kmem_cache_shutdown()"),
        "{err}"
    );
}

#[test]
fn control_needs_the_module() {
    let (t, k, _) = setup(Behaviour::Works);
    let err = control(&target(&t, &k), Control::Hold, "3")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("rust_mempool is not loaded; load it with `mempoolctl load`"),
        "{err}"
    );
}

#[test]
fn vermagic_line_parser() {
    assert_eq!(
        expected_vermagic("m: version magic '7.3.9 SMP ' should be '7.3.4 preempt '"),
        Some("7.3.4 preempt ")
    );
    assert_eq!(expected_vermagic("m: version magic '7.3.9' should"), None);
    assert_eq!(expected_vermagic("unrelated"), None);
}
