//! mempoolctl: a thin clap layer over the crates in `crates/`. It parses,
//! merges settings (flag > MEMPOOLCTL_* > config file > default) and prints.
//!
//! Exit codes: 0 success, 1 error, 2 usage error, 3 a VM run whose checks
//! failed, 4 `status`/`doctor` found the module not loaded / a check failing.

use anyhow::{bail, Context, Result};
use clap::{CommandFactory, Parser, Subcommand};
use lifecycle::Target;
use modctl::{Control, Flavor, KernelOps, ModuleParams, NixKernel, SysRoot};
use settings::{Layer, Settings};
use std::path::{Path, PathBuf};
use std::time::Duration;
use ui::Ui;

mod ui;
mod vmcmd;

#[derive(Parser)]
#[command(
    name = "mempoolctl",
    version,
    about = "Take the rust_mempool kernel module (or its C twin) from source to loaded, inspected and cleanly unloaded",
    after_help = "Settings come from flags, then MEMPOOLCTL_* variables, then config files \
(/etc/mempoolctl.toml, $XDG_CONFIG_HOME/mempoolctl/config.toml), then defaults; \
`mempoolctl config` shows them. Exit codes: 0 ok, 1 error, 2 usage, 3 VM checks failed, \
4 not loaded (status) or a doctor check failed."
)]
struct Cli {
    /// Read only this config file.
    #[arg(long, global = true, env = "MEMPOOLCTL_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Module to drive: rust (rust_mempool) or c (c_mempool) [env: MEMPOOLCTL_FLAVOR].
    #[arg(long, global = true)]
    flavor: Option<Flavor>,
    /// More detail (paths, parameter strings, where settings came from).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Only results and errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// Colour: auto (a terminal without NO_COLOR), always, never [env: MEMPOOLCTL_COLOR].
    #[arg(long, global = true, value_parser = ["auto", "always", "never"])]
    color: Option<String>,
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
    /// Check that this machine can build and load the module; every failure with its fix.
    Doctor {
        /// Kernel build directory to check [default: /lib/modules/$(uname -r)/build].
        #[arg(long)]
        kdir: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Build the module with kbuild against a kernel build directory.
    Build {
        /// Kernel build directory [default: /lib/modules/$(uname -r)/build].
        #[arg(long)]
        kdir: Option<PathBuf>,
        /// Module source directory [default: module, or module/c for --flavor c].
        #[arg(long)]
        module_dir: Option<PathBuf>,
        /// Parallel make jobs [default: CPU count + 1].
        #[arg(short, long)]
        jobs: Option<u64>,
    },
    /// Load the module (finit_module) and print its log lines from this load.
    Load {
        /// Elements kept in reserve (1..=4096) [default: 6].
        #[arg(long)]
        min_nr: Option<u64>,
        /// Slab object size in bytes (8..=131072) [default: 10240].
        #[arg(long)]
        object_size: Option<u64>,
        /// The .ko [default: /lib/modules/$(uname -r)/extra/<module>.ko, then <module_dir>/<module>.ko].
        #[arg(long)]
        ko: Option<PathBuf>,
    },
    /// Unload the module and verify it left nothing behind.
    Unload {
        /// Block until the module's references are dropped.
        #[arg(long)]
        wait: bool,
    },
    /// Loaded?, parameters, refcount, kernel taint.
    Status,
    /// The .ko's metadata (modinfo), read from the file itself.
    Info {
        /// The .ko [default: as for load].
        #[arg(long)]
        ko: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// The module's sysfs values and its slab cache's figures.
    Stats {
        /// JSON, versioned by its "schema" field (see README); with --watch one object per line.
        #[arg(long)]
        json: bool,
        /// Repeat every SECS seconds (0.1 to 86400, default 1) until interrupted or --count is reached.
        #[arg(long, value_name = "SECS", num_args = 0..=1, default_missing_value = "1", value_parser = watch_interval)]
        watch: Option<Duration>,
        /// With --watch: stop after N samples (1 or more).
        #[arg(long, requires = "watch", value_parser = clap::value_parser!(u64).range(1..))]
        count: Option<u64>,
    },
    /// The module's kernel log lines, with timestamps.
    Log {
        /// Keep printing new lines as they arrive.
        #[arg(long)]
        follow: bool,
    },
    /// Allocate N elements from the pool and keep them (never sleeps).
    Hold {
        /// 1 to the module's HOLD_MAX (module/limits.rs), checked before writing.
        #[arg(value_parser = clap::value_parser!(u32).range(1..=i64::from(modctl::params::limits::HOLD_MAX)))]
        count: u32,
    },
    /// Return N held elements, or all of them.
    Release {
        /// 1 to the module's HOLD_MAX (module/limits.rs), or `all`.
        #[arg(default_value = "all", value_parser = release_count)]
        count: String,
    },
    /// Change min_nr (mempool_resize).
    Resize {
        /// The module's MIN_NR_MIN to MIN_NR_MAX (module/limits.rs); the reserve's
        /// bound depends on the loaded object size, which the module checks.
        #[arg(value_parser = clap::value_parser!(u32).range(i64::from(modctl::params::limits::MIN_NR_MIN)..=i64::from(modctl::params::limits::MIN_NR_MAX)))]
        min_nr: u32,
    },
    /// Time N alloc+free pairs via mempool, raw cache and kmalloc in the kernel.
    Bench {
        /// 1 to the module's BENCH_MAX (module/limits.rs), checked before writing.
        #[arg(default_value_t = 100_000, value_parser = clap::value_parser!(u32).range(1..=i64::from(modctl::params::limits::BENCH_MAX)))]
        pairs: u32,
        /// Only the mempool path (bench_mempool): under failslab, the reserve path.
        #[arg(long)]
        mempool_only: bool,
    },
    /// Print the effective settings and where each came from.
    Config,
    /// Print a shell completion script.
    Completions { shell: clap_complete::Shell },
    /// Print the man page (roff).
    Manpage,
    /// Boot a kernel in QEMU with the module and run a scenario in it.
    Vm(vmcmd::VmArgs),
}

fn main() {
    // SAFETY: called first thing, before any other thread exists. Default
    // SIGPIPE makes `mempoolctl ... | head` end quietly, as Unix tools do.
    unsafe {
        let _ = nix::sys::signal::signal(
            nix::sys::signal::Signal::SIGPIPE,
            nix::sys::signal::SigHandler::SigDfl,
        );
    }
    let cli = Cli::parse();
    let ui = Ui {
        // clap counts -v up to 255; any count past i8's range is still verbose.
        level: if cli.quiet {
            -1
        } else {
            i8::try_from(cli.verbose).unwrap_or(i8::MAX)
        },
    };
    match run(cli, ui) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            ui.error(ui::error_text(&e));
            std::process::exit(1);
        }
    }
}

/// A path flag as a setting's text. Settings are UTF-8 (TOML, environment),
/// so a path that is not is refused by name rather than mangled into another.
pub(crate) fn path_setting(flag: &str, p: &Option<PathBuf>) -> Result<Option<String>> {
    p.as_ref()
        .map(|p| {
            p.to_str().map(str::to_owned).with_context(|| {
                format!(
                    "{flag} {} is not valid UTF-8; mempoolctl takes UTF-8 paths (rename it, or pass a symlink with a UTF-8 name)",
                    p.display()
                )
            })
        })
        .transpose()
}

/// The flags that are also settings, as the highest layer.
fn flag_layer(cli: &Cli) -> Result<Layer> {
    let mut pairs: Vec<(&'static str, Option<String>)> = vec![
        ("module.flavor", cli.flavor.map(|f| f.to_string())),
        ("output.color", cli.color.clone()),
    ];
    let num = |n: &Option<u64>| n.map(|n| n.to_string());
    match &cli.command {
        Cmd::Doctor { kdir, .. } => pairs.push(("build.kdir", path_setting("--kdir", kdir)?)),
        Cmd::Build {
            kdir,
            module_dir,
            jobs,
        } => pairs.extend([
            ("build.kdir", path_setting("--kdir", kdir)?),
            (
                "build.module_dir",
                path_setting("--module-dir", module_dir)?,
            ),
            ("build.jobs", num(jobs)),
        ]),
        Cmd::Load {
            min_nr,
            object_size,
            ko,
        } => pairs.extend([
            ("module.min_nr", num(min_nr)),
            ("module.object_size", num(object_size)),
            ("module.ko", path_setting("--ko", ko)?),
        ]),
        Cmd::Info { ko, .. } => pairs.push(("module.ko", path_setting("--ko", ko)?)),
        Cmd::Vm(a) => pairs.extend(a.setting_flags()?),
        _ => {}
    }
    Ok(Layer::flags(pairs))
}

fn resolve_settings(cli: &Cli) -> Result<Settings> {
    let files = settings::config_files(
        cli.config.as_deref(),
        Path::new("/etc/mempoolctl.toml"),
        std::env::var_os("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .as_deref(),
        std::env::var_os("HOME").map(PathBuf::from).as_deref(),
    );
    let mut layers = vec![flag_layer(cli)?, Layer::from_os_env(std::env::vars_os())?];
    for f in files.iter().rev() {
        layers.push(Layer::from_file(f)?);
    }
    Ok(settings::resolve(&layers)?)
}

/// Resolved settings a command needs, typed.
struct Ctx {
    settings: Settings,
    flavor: Flavor,
    root: PathBuf,
    kernel: NixKernel,
}

impl Ctx {
    fn module(&self) -> &'static str {
        self.flavor.module_name()
    }

    fn target(&self) -> Target<'_> {
        Target {
            root: &self.root,
            kernel: &self.kernel,
            module: self.module(),
        }
    }

    fn module_dir(&self) -> PathBuf {
        self.settings
            .path("build.module_dir")
            .unwrap_or_else(|| PathBuf::from(self.flavor.source_dir()))
    }

    fn kdir(&self) -> PathBuf {
        self.settings.path("build.kdir").unwrap_or_else(|| {
            PathBuf::from(format!("/lib/modules/{}/build", self.kernel.release()))
        })
    }

    fn ko(&self) -> PathBuf {
        if let Some(ko) = self.settings.path("module.ko") {
            return ko;
        }
        let installed = PathBuf::from(format!(
            "/lib/modules/{}/extra/{}",
            self.kernel.release(),
            self.flavor.ko_file_name()
        ));
        if installed.exists() {
            installed
        } else {
            self.module_dir().join(self.flavor.ko_file_name())
        }
    }

    /// A number setting that must fit `T`, named with its source on overflow.
    fn number<T: TryFrom<u64>>(&self, name: &str) -> Result<T> {
        let v = self.settings.integer(name);
        T::try_from(v).map_err(|_| {
            anyhow::anyhow!(
                "`{name}` = {v} (from {}) is too large",
                self.settings.source(name)
            )
        })
    }
}

fn run(cli: Cli, ui: Ui) -> Result<i32> {
    let settings = resolve_settings(&cli)?;
    ui::set_color(settings.string("output.color"));
    let flavor: Flavor = settings.string("module.flavor").parse()?;
    let ctx = Ctx {
        settings,
        flavor,
        root: cli.root.clone(),
        kernel: NixKernel,
    };
    match cli.command {
        Cmd::Doctor { json, .. } => doctor(&ctx, ui, json),
        Cmd::Build { .. } => build(&ctx, ui),
        Cmd::Load { .. } => load(&ctx, ui),
        Cmd::Unload { wait } => {
            let done =
                lifecycle::unload(&ctx.target(), wait).inspect_err(|f| ui.log_lines(&f.log))?;
            ui.log_lines(&done.log);
            ui.info(format!(
                "unloaded {}: /sys/module entry and slab cache gone, {}",
                ctx.module(),
                if done.kernel_log_read {
                    "no kernel reports"
                } else {
                    "kernel reports not checked: the kernel log is not readable (dmesg_restrict; run as root or with CAP_SYSLOG)"
                }
            ));
            Ok(0)
        }
        Cmd::Status => status(&ctx),
        Cmd::Info { json, .. } => {
            let info = modinfo::read(&ctx.ko())?;
            if json {
                println!("{}", serde_json::to_string_pretty(&info.report())?);
            } else {
                print!("{}", info.render());
                let running = ctx.kernel.release();
                match info.built_for_release() {
                    Some(r) if r == running => {
                        ui.info(format!("built for the running kernel ({running})"))
                    }
                    Some(r) => ui.info(format!(
                        "built for {r}, but the running kernel is {running}: it will not load here (ENOEXEC)"
                    )),
                    None => ui.info("no vermagic: the kernel will refuse it"),
                }
            }
            Ok(0)
        }
        Cmd::Stats { json, watch, count } => stats_cmd(&ctx, json, watch, count),
        Cmd::Log { follow } => {
            let module = ctx.module();
            if follow {
                kmsg::follow(&ctx.root, |l| {
                    if l.message.starts_with(&format!("{module}: ")) {
                        ui::print_log_line(&l);
                    }
                    true
                })?;
            } else {
                let all = kmsg::read_all(&ctx.root)?;
                for l in kmsg::module_lines(&all, module) {
                    ui::print_log_line(l);
                }
            }
            Ok(0)
        }
        Cmd::Hold { count } => exercise(&ctx, ui, Control::Hold, count.to_string()),
        Cmd::Release { count } => exercise(&ctx, ui, Control::Release, count),
        Cmd::Resize { min_nr } => exercise(&ctx, ui, Control::Resize, min_nr.to_string()),
        Cmd::Bench {
            pairs,
            mempool_only,
        } => bench(&ctx, ui, pairs, mempool_only),
        Cmd::Config => {
            print!("{}", ctx.settings.render());
            Ok(0)
        }
        Cmd::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "mempoolctl",
                &mut std::io::stdout(),
            );
            Ok(0)
        }
        Cmd::Manpage => {
            clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())?;
            Ok(0)
        }
        Cmd::Vm(args) => {
            let built = ctx.module_dir().join(ctx.flavor.ko_file_name());
            vmcmd::run(args, &ctx.settings, ctx.flavor, built, ui)
        }
    }
}

fn doctor(ctx: &Ctx, ui: Ui, json: bool) -> Result<i32> {
    let explicit = ctx.settings.path("build.kdir");
    let tools = doctor::Tools::probe();
    let report = doctor::diagnose(
        &ctx.root,
        &ctx.kernel.release(),
        explicit.as_deref(),
        &tools,
        nix::unistd::geteuid().as_raw(),
        ctx.flavor,
    );
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        let color =
            anstream::AutoStream::choice(&std::io::stdout()) != anstream::ColorChoice::Never;
        print!("{}", doctor::render(&report, color));
        ui.detail(format!(
            "kernel build dir checked: {}",
            ctx.kdir().display()
        ));
    }
    Ok(if report.ok() { 0 } else { 4 })
}

fn build(ctx: &Ctx, ui: Ui) -> Result<i32> {
    let kdir = ctx.kdir();
    let jobs: usize = match ctx.settings.get("build.jobs") {
        Some(_) => ctx.number("build.jobs")?,
        None => std::thread::available_parallelism().map_or(2, |n| n.get() + 1),
    };
    if jobs == 0 {
        bail!(
            "build.jobs = 0 (from {}): make needs at least one job",
            ctx.settings.source("build.jobs")
        );
    }
    let cache = kbuild::cache_root();
    // Progress goes to stderr: stdout carries only the built .ko paths.
    let target = kbuild::module_target(&kdir, ctx.flavor == Flavor::Rust, &cache, jobs, &|m| {
        if ui.level >= 0 {
            eprintln!("[build] {m}");
        }
    })?;
    let tc = kbuild::Toolchain::for_kernel_config(&target.config);
    ui.detail(format!(
        "kbuild: make -C {} M={} LLVM={} {}",
        target.kdir.display(),
        ctx.module_dir().display(),
        tc.llvm.as_deref().unwrap_or("(gcc)"),
        target.make_vars.join(" ")
    ));
    // A private place: the user's own cache, never a fixed name under /tmp.
    let logs = cache.join("build-logs");
    std::fs::create_dir_all(&logs).with_context(|| format!("creating {}", logs.display()))?;
    let log = logs.join(format!("{}.log", ctx.module()));
    let _ = std::fs::remove_file(&log);
    let start = std::time::Instant::now();
    let kos = kbuild::build_module(
        &tc,
        &target.kdir,
        &ctx.module_dir(),
        jobs,
        &target.make_vars,
        &log,
    )?;
    ui.detail(format!(
        "built in {:.1} s; log {}",
        start.elapsed().as_secs_f64(),
        log.display()
    ));
    for ko in kos {
        println!("{}", ko.display());
    }
    Ok(0)
}

fn load(ctx: &Ctx, ui: Ui) -> Result<i32> {
    let params = ModuleParams::new(
        ctx.settings.integer("module.min_nr"),
        ctx.settings.integer("module.object_size"),
    )
    .map_err(|e| {
        // Name values that did not come from this command line: they surprise.
        let from: Vec<String> = ["module.min_nr", "module.object_size"]
            .into_iter()
            .filter_map(|name| match ctx.settings.source(name) {
                settings::Source::Flag | settings::Source::Default => None,
                src => Some(format!("{name} from {src}")),
            })
            .collect();
        match from.is_empty() {
            true => anyhow::anyhow!("{e}"),
            false => anyhow::anyhow!("{e} ({})", from.join(", ")),
        }
    })?;
    let ko = ctx.ko();
    ui.detail(format!(
        "finit_module({}, {:?})",
        ko.display(),
        params.to_kernel_args()
    ));
    let log = lifecycle::load(&ctx.target(), &ko, &params).inspect_err(|f| ui.log_lines(&f.log))?;
    ui.log_lines(&log);
    ui.info(format!(
        "loaded {} ({})",
        ko.display(),
        params.to_kernel_args()
    ));
    Ok(0)
}

fn status(ctx: &Ctx) -> Result<i32> {
    let sys = SysRoot::new(&ctx.root);
    let module = ctx.module();
    let Some(st) = sys.module(module) else {
        println!("{module}: not loaded");
        return Ok(4);
    };
    println!("{module}: {}", st.initstate.as_deref().unwrap_or("?"));
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
    if let Ok(s) = stats::read_stats(&ctx.root, module) {
        println!(
            "parameters: min_nr={} object_size={}",
            s.module.min_nr, s.module.object_size
        );
    }
    if let Some(t) = sys.kernel_taint() {
        println!("kernel taint: {t} ({})", modctl::state::taint_letters(t));
    }
    Ok(0)
}

/// `stats --watch SECS`: 0.1 s to a day.
fn watch_interval(text: &str) -> Result<Duration, String> {
    match text.parse::<f64>() {
        Ok(s) if (0.1..=86_400.0).contains(&s) => Ok(Duration::from_secs_f64(s)),
        _ => Err("an interval from 0.1 s to 86400 s (a day) is needed".to_owned()),
    }
}

/// `release COUNT`: `all`, or 1 to the module's HOLD_MAX.
fn release_count(text: &str) -> Result<String, String> {
    let max = modctl::params::limits::HOLD_MAX;
    match text.parse::<u32>() {
        Ok(n) if (1..=max).contains(&n) => Ok(text.to_owned()),
        _ if text == "all" => Ok(text.to_owned()),
        _ => Err(format!("release takes a count 1..={max} or `all`")),
    }
}

fn stats_cmd(ctx: &Ctx, json: bool, interval: Option<Duration>, count: Option<u64>) -> Result<i32> {
    let mut taken = 0u64;
    loop {
        let s = stats::read_stats(&ctx.root, ctx.module())?;
        if json && interval.is_some() {
            println!("{}", serde_json::to_string(&s)?);
        } else if json {
            println!("{}", serde_json::to_string_pretty(&s)?);
        } else {
            if interval.is_some() && taken > 0 {
                println!();
            }
            print!("{}", stats::render_table(&s));
        }
        taken += 1;
        let Some(every) = interval else { break };
        if count.is_some_and(|c| taken >= c) {
            break;
        }
        std::thread::sleep(every);
    }
    Ok(0)
}

/// One control write, its log lines, then the stats it led to.
fn exercise(ctx: &Ctx, ui: Ui, control: Control, value: String) -> Result<i32> {
    ui.detail(format!(
        "write {value:?} > /sys/kernel/{}/{control}",
        ctx.module()
    ));
    let log =
        lifecycle::control(&ctx.target(), control, &value).inspect_err(|f| ui.log_lines(&f.log))?;
    ui.log_lines(&log);
    if ui.level >= 0 {
        print!(
            "{}",
            stats::render_table(&stats::read_stats(&ctx.root, ctx.module())?)
        );
    }
    Ok(0)
}

fn bench(ctx: &Ctx, ui: Ui, pairs: u32, mempool_only: bool) -> Result<i32> {
    let control = if mempool_only {
        Control::BenchMempool
    } else {
        Control::Bench
    };
    let log = lifecycle::control(&ctx.target(), control, &pairs.to_string())?;
    ui.log_lines(&log);
    let s = stats::read_stats(&ctx.root, ctx.module())?;
    let size = s.module.object_size;
    if mempool_only {
        let b = s
            .module
            .bench_mempool_only
            .context("the module reported no bench_mempool result")?;
        println!("{}", stats::render_mempool_only_bench(size, &b));
    } else {
        let b = s
            .module
            .bench
            .context("the module reported no bench result")?;
        println!("{}", stats::render_bench(size, &b));
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn completions_and_man_page_name_every_command() {
        let mut bash = Vec::new();
        clap_complete::generate(
            clap_complete::Shell::Bash,
            &mut Cli::command(),
            "mempoolctl",
            &mut bash,
        );
        let bash = String::from_utf8(bash).unwrap();
        let mut man = Vec::new();
        clap_mangen::Man::new(Cli::command())
            .render(&mut man)
            .unwrap();
        let man = String::from_utf8(man).unwrap();
        assert!(man.starts_with(".ie"), "{man}");
        assert!(man.contains(".TH mempoolctl 1"), "{man}");
        for cmd in Cli::command().get_subcommands() {
            assert!(
                bash.contains(cmd.get_name()),
                "{} not completed",
                cmd.get_name()
            );
            assert!(
                man.contains(cmd.get_name()),
                "{} not in the man page",
                cmd.get_name()
            );
        }
    }

    #[test]
    fn flags_take_the_names_the_config_and_the_guest_use() {
        use clap::ValueEnum;
        for sc in vm::Scenario::ALL {
            assert_eq!(vm::Scenario::from_str(sc.name(), false), Ok(sc));
        }
        for f in Flavor::ALL {
            assert_eq!(Flavor::from_str(&f.to_string(), false), Ok(f));
        }
        for a in vm::Accel::value_variants() {
            assert_eq!(a.to_string().parse::<vm::Accel>(), Ok(*a));
        }
    }

    #[test]
    fn every_setting_flag_names_a_known_key() {
        // Layer::flags panics on an unknown key: build one per command shape.
        for args in [
            vec!["mempoolctl", "load", "--min-nr", "3", "--ko", "x.ko"],
            vec!["mempoolctl", "build", "--kdir", "/k", "-j", "2"],
            vec![
                "mempoolctl",
                "--flavor",
                "c",
                "vm",
                "--scenario",
                "all",
                "--accel",
                "tcg",
            ],
            vec!["mempoolctl", "doctor", "--kdir", "/k"],
            vec!["mempoolctl", "info", "--ko", "x.ko"],
        ] {
            let cli = Cli::try_parse_from(args).unwrap();
            let s = settings::resolve(&[flag_layer(&cli).unwrap()]).unwrap();
            assert_eq!(s.source("output.color"), settings::Source::Default);
        }
        let cli = Cli::try_parse_from(["mempoolctl", "load", "--min-nr", "3"]).unwrap();
        let s = settings::resolve(&[flag_layer(&cli).unwrap()]).unwrap();
        assert_eq!(s.integer("module.min_nr"), 3);
        assert_eq!(s.source("module.min_nr"), settings::Source::Flag);
    }
}
