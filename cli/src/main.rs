//! mempoolctl: a thin clap layer over the crates in `crates/`.
//!
//! Exit codes: 0 success, 1 error, 2 usage error, 3 a VM run whose checks failed.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use modctl::{ModuleParams, NixKernel, SysRoot, MODULE_NAME};
use std::path::{Path, PathBuf};

mod vmcmd;

#[derive(Parser)]
#[command(
    name = "mempoolctl",
    version,
    about = "Take the rust_mempool kernel module from source to loaded, inspected and cleanly unloaded"
)]
struct Cli {
    /// Filesystem root holding sys/, proc/ and dev/kmsg (for tests against fake trees).
    #[arg(
        long,
        global = true,
        default_value = "/",
        hide = true,
        env = "MEMPOOLCTL_ROOT"
    )]
    root: PathBuf,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Build module/ with kbuild against a kernel build directory.
    Build {
        /// Kernel build directory [default: /lib/modules/$(uname -r)/build].
        #[arg(long)]
        kdir: Option<PathBuf>,
        /// Module source directory.
        #[arg(long, default_value = "module")]
        module_dir: PathBuf,
        #[arg(short, long, default_value_t = 3)]
        jobs: usize,
    },
    /// Load the module (finit_module) and print its log lines from this load.
    Load {
        #[arg(long, default_value_t = modctl::params::limits::MIN_NR_DEFAULT as u64)]
        min_nr: u64,
        #[arg(long, default_value_t = modctl::params::limits::OBJECT_SIZE_DEFAULT as u64)]
        object_size: u64,
        /// The .ko [default: /lib/modules/$(uname -r)/extra/rust_mempool.ko, then module/rust_mempool.ko].
        #[arg(long)]
        ko: Option<PathBuf>,
    },
    /// Unload the module and verify it left nothing behind.
    Unload {
        /// Block until the module's references are dropped.
        #[arg(long)]
        wait: bool,
    },
    /// The module's sysfs values and its slab cache's figures.
    Stats {
        #[arg(long)]
        json: bool,
    },
    /// The module's kernel log lines.
    Log {
        #[arg(long)]
        follow: bool,
    },
    /// Loaded?, refcount, kernel taint.
    Status,
    /// Allocate N elements from the pool and keep them (never sleeps).
    Hold { count: u32 },
    /// Return N held elements (or `all`).
    Release {
        #[arg(default_value = "all")]
        count: String,
    },
    /// Change min_nr (mempool_resize).
    Resize { min_nr: u32 },
    /// Time N alloc+free pairs via mempool, raw cache and kmalloc in the kernel.
    Bench {
        #[arg(default_value_t = 100_000)]
        pairs: u32,
    },
    /// Boot a kernel in QEMU with the module and run a scenario in it.
    Vm(vmcmd::VmArgs),
}

fn default_ko(ops_release: &str) -> PathBuf {
    let installed = PathBuf::from(format!("/lib/modules/{ops_release}/extra/{MODULE_NAME}.ko"));
    if installed.exists() {
        installed
    } else {
        PathBuf::from(format!("module/{MODULE_NAME}.ko"))
    }
}

fn print_module_lines(root: &Path, after: Option<u64>) -> Result<Option<u64>> {
    let all = kmsg::read_all(root)?;
    for l in kmsg::module_lines(&kmsg::since(&all, after), MODULE_NAME) {
        println!("{}", l.display());
    }
    Ok(kmsg::last_seq(&all))
}

fn control(root: &Path, file: &str, value: &str) -> Result<()> {
    let path = root.join("sys/kernel").join(MODULE_NAME).join(file);
    if !path.exists() {
        bail!(
            "{} does not exist: the module is not loaded (mempoolctl load)",
            path.display()
        );
    }
    let before = kmsg::read_all(root).ok().and_then(|l| kmsg::last_seq(&l));
    if let Err(e) = std::fs::write(&path, value) {
        // The module logs why it refused; show that line with the error.
        let _ = print_module_lines(root, before);
        let hint = match e.raw_os_error() {
            Some(1) | Some(13) => "control files are root-only: run as root",
            Some(12) => "slab and reserve are exhausted: release elements first",
            Some(22) => "the module refused the value (its reason is above)",
            _ => "see mempoolctl log",
        };
        bail!("writing {value:?} to {}: {e}; {hint}", path.display());
    }
    let _ = print_module_lines(root, before);
    Ok(())
}

fn show_stats(root: &Path) -> Result<()> {
    let s = stats::read_stats(root, MODULE_NAME)?;
    print!("{}", stats::render_table(&s));
    Ok(())
}

fn main() {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("mempoolctl: error: {e:#}");
            std::process::exit(1);
        }
    }
}

fn run(cli: Cli) -> Result<i32> {
    let root = cli.root.as_path();
    let sys = SysRoot::new(root);
    let kernel = NixKernel;
    match cli.command {
        Cmd::Build {
            kdir,
            module_dir,
            jobs,
        } => {
            let kdir = match kdir {
                Some(k) => k,
                None => PathBuf::from(format!(
                    "/lib/modules/{}/build",
                    modctl::KernelOps::release(&kernel)
                )),
            };
            let config = std::fs::read_to_string(kdir.join(".config")).with_context(|| {
                format!(
                    "{} has no .config: not a kernel build directory (pass --kdir)",
                    kdir.display()
                )
            })?;
            let tc = kbuild::Toolchain::for_kernel_config(&config);
            let log = std::env::temp_dir().join("mempoolctl-build.log");
            let kos = kbuild::build_module(&tc, &kdir, &module_dir, jobs, &[], &log)?;
            for ko in kos {
                println!("{}", ko.display());
            }
        }
        Cmd::Load {
            min_nr,
            object_size,
            ko,
        } => {
            let params = ModuleParams::new(min_nr, object_size)?;
            let ko = ko.unwrap_or_else(|| default_ko(&modctl::KernelOps::release(&kernel)));
            let before = kmsg::read_all(root).ok().and_then(|l| kmsg::last_seq(&l));
            let result = modctl::load(&kernel, &sys, &ko, MODULE_NAME, &params);
            let _ = print_module_lines(root, before);
            result?;
            println!("loaded {} ({})", ko.display(), params.to_kernel_args());
        }
        Cmd::Unload { wait } => {
            let before = kmsg::read_all(root).ok().and_then(|l| kmsg::last_seq(&l));
            modctl::unload(&kernel, &sys, MODULE_NAME, wait)?;
            let after = kmsg::read_all(root)
                .map(|all| kmsg::since(&all, before))
                .unwrap_or_default();
            for l in kmsg::module_lines(&after, MODULE_NAME) {
                println!("{}", l.display());
            }
            let bad = kmsg::bad_news(&after);
            if sys.path(&format!("sys/kernel/slab/{MODULE_NAME}")).exists() {
                bail!("unloaded, but slab cache {MODULE_NAME} still exists: the module leaked it");
            }
            if !bad.is_empty() {
                for l in &bad {
                    eprintln!("{}", l.display());
                }
                bail!(
                    "unloaded, but the kernel reported {} problem line(s) above",
                    bad.len()
                );
            }
            println!(
                "unloaded {MODULE_NAME}: /sys/module entry and slab cache gone, no kernel reports"
            );
        }
        Cmd::Stats { json } => {
            let s = stats::read_stats(root, MODULE_NAME)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&s)?);
            } else {
                print!("{}", stats::render_table(&s));
            }
        }
        Cmd::Log { follow } => {
            if follow {
                kmsg::follow(root, |l| {
                    if l.message.starts_with(&format!("{MODULE_NAME}: ")) {
                        println!("{}", l.display());
                    }
                    true
                })?;
            } else {
                print_module_lines(root, None)?;
            }
        }
        Cmd::Status => match sys.module(MODULE_NAME) {
            Some(st) => {
                println!("{MODULE_NAME}: {}", st.initstate.as_deref().unwrap_or("?"));
                println!(
                    "refcount: {}",
                    st.refcnt.map_or("?".into(), |r| r.to_string())
                );
                println!(
                    "module taint: {}",
                    if st.taint.is_empty() {
                        "none"
                    } else {
                        &st.taint
                    }
                );
                if let Ok(s) = stats::read_stats(root, MODULE_NAME) {
                    println!(
                        "parameters: min_nr={} object_size={}",
                        s.module.min_nr, s.module.object_size
                    );
                }
                if let Some(t) = sys.kernel_taint() {
                    println!("kernel taint: {t} ({})", modctl::state::taint_letters(t));
                }
            }
            None => {
                println!("{MODULE_NAME}: not loaded");
                return Ok(1);
            }
        },
        Cmd::Hold { count } => {
            control(root, "hold", &count.to_string())?;
            show_stats(root)?;
        }
        Cmd::Release { count } => {
            if count != "all" && count.parse::<u32>().is_err() {
                bail!("release takes a count or `all`, not {count:?}");
            }
            control(root, "release", &count)?;
            show_stats(root)?;
        }
        Cmd::Resize { min_nr } => {
            // The reserve bound depends on the loaded object size: the module checks that.
            modctl::params::check_min_nr(min_nr.into())?;
            control(root, "resize", &min_nr.to_string())?;
            show_stats(root)?;
        }
        Cmd::Bench { pairs } => {
            control(root, "bench", &pairs.to_string())?;
            let s = stats::read_stats(root, MODULE_NAME)?;
            let b = s
                .module
                .bench
                .context("the module reported no bench result")?;
            println!(
                "{} pairs of {} B: mempool {} ns, raw cache {} ns, kmalloc {} ns; mempool/raw {:.2}x",
                b.pairs,
                s.module.object_size,
                b.mempool_ns,
                b.cache_ns,
                b.kmalloc_ns,
                b.mempool_ns as f64 / b.cache_ns.max(1) as f64
            );
        }
        Cmd::Vm(args) => return vmcmd::run(args),
    }
    Ok(0)
}
