//! Build checks: can `rust_mempool` (or `c_mempool`) be built against the kernel build
//! dir?

use crate::kconfig::{self, decode_version, version_ge, Kconfig};
use crate::kernelvars::{self, KernelVars, Source};
use crate::{Check, Flavor, Section, Tools};
use kbuild::RustSupport;
use std::fs;
use std::path::{Path, PathBuf};

const S: Section = Section::Build;

/// Files kbuild needs in the build dir for any external module (`make M=`): it refuses
/// outright without the first three ("Kernel configuration is invalid"), includes
/// `utsrelease.h` for the vermagic, and runs `modpost`. The module linker script is
/// checked apart ([`module_lds`]).
const PREPARED: [&str; 5] = [
    "include/generated/autoconf.h",
    "include/generated/rustc_cfg",
    "include/config/auto.conf",
    "include/generated/utsrelease.h",
    "scripts/mod/modpost",
];

/// Linux 7.3's minimums (scripts/min-tool-version.sh, x86), used when the script is not
/// readable from the build dir.
const MIN_RUSTC_7_3: &str = "1.85.0";
const MIN_BINDGEN_7_3: &str = "0.71.1";
const MIN_BINUTILS_7_3: &str = "2.30.0";

const C_TWIN: &str = "`mempoolctl build --flavor c`";

/// The checks only a Rust module needs.
const RUST_ONLY: [&str; 5] = [
    "config-rust",
    "rust-metadata",
    "rustc",
    "bindgen",
    "rust-src",
];

/// Their summary for [`Flavor::C`].
pub(crate) const NOT_FOR_C: &str = "not needed for the C twin (c_mempool)";

pub(crate) fn checks(
    kdir: &Path,
    explicit: bool,
    release: &str,
    tools: &Tools,
    flavor: Flavor,
) -> Vec<Check> {
    let mut out = all_checks(kdir, explicit, release, tools);
    if flavor == Flavor::C {
        for c in out.iter_mut().filter(|c| RUST_ONLY.contains(&c.id)) {
            *c = Check::skip(c.id, S, NOT_FOR_C);
        }
    }
    out
}

fn all_checks(kdir: &Path, explicit: bool, release: &str, tools: &Tools) -> Vec<Check> {
    let vars = KernelVars::read(kdir);
    let (headers, config) = headers(kdir, explicit, release, tools, &vars);
    let mut out = vec![headers];
    let Some(config) = config else {
        for id in [
            "config-modules",
            "config-module-unload",
            "config-rust",
            "rust-metadata",
            "compiler",
            "binutils",
            "rustc",
        ] {
            out.push(Check::skip(id, S, "no headers"));
        }
        // The tool checks do not need the headers: they matter for the VM path too.
        out.push(bindgen(kdir, None, tools));
        out.push(rust_src(tools));
        out.push(Check::skip("kernel-release-match", S, "no headers"));
        return out;
    };
    let llvm = llvm_value(&config, tools);
    out.push(config_modules(&config, kdir, explicit));
    out.push(config_module_unload(&config));
    out.push(config_rust(&config, kdir));
    out.push(rust_metadata(kdir, llvm.as_deref(), tools));
    out.push(compiler(&config, kdir, &vars, tools));
    out.push(binutils(&config, kdir, &vars, tools));
    out.push(rustc(&config, kdir, tools));
    out.push(bindgen(kdir, Some(&config), tools));
    out.push(rust_src(tools));
    out.push(release_match(kdir, release));
    out
}

/// The module linker script: scripts/Makefile.modfinal links with the first of
/// `scripts/module.lds` (built by `modules_prepare`) and `arch/$(SRCARCH)/module.lds`
/// (what Debian's headers ship) that exists. `Err` names both.
fn module_lds(kdir: &Path, srcarch: &str) -> Result<String, String> {
    let candidates = [
        "scripts/module.lds".to_owned(),
        format!("arch/{srcarch}/module.lds"),
    ];
    candidates
        .iter()
        .find(|f| kdir.join(f).is_file())
        .cloned()
        .ok_or_else(|| format!("{} (or {})", candidates[0], candidates[1]))
}

fn headers(
    kdir: &Path,
    explicit: bool,
    release: &str,
    tools: &Tools,
    vars: &KernelVars,
) -> (Check, Option<Kconfig>) {
    let id = "headers";
    let fix = if explicit {
        "`--kdir` must name a kernel build directory: the one holding `Makefile` and `.config` \
         (the `O=` directory of an out-of-tree kernel build)"
            .to_owned()
    } else {
        format!(
            "install the running kernel's headers: `apt install linux-headers-{release}` \
             (distribution kernels); or pass `--kdir DIR` (a configured and built kernel tree)"
        )
    };
    if !kdir.is_dir() {
        let what = match fs::read_link(kdir) {
            Ok(target) => format!(
                "{} is a symlink to {}, which does not exist",
                kdir.display(),
                target.display()
            ),
            Err(_) => format!("{} does not exist", kdir.display()),
        };
        return (Check::fail(id, S, what, fix), None);
    }
    if !kdir.join("Makefile").is_file() {
        let summary = format!(
            "{} has no Makefile: not a kernel build directory",
            kdir.display()
        );
        return (Check::fail(id, S, summary, fix), None);
    }
    let Some(config) = [".config", "include/config/auto.conf"]
        .iter()
        .find_map(|f| fs::read_to_string(kdir.join(f)).ok())
    else {
        let summary = format!(
            "{} has neither .config nor include/config/auto.conf: the kernel is not configured",
            kdir.display()
        );
        return (Check::fail(id, S, summary, fix), None);
    };
    let config = Kconfig::parse(&config);
    let mut missing: Vec<String> = PREPARED
        .iter()
        .filter(|f| !kdir.join(f).is_file())
        .map(|f| (*f).to_owned())
        .collect();
    let lds = module_lds(kdir, &vars.srcarch(tools.arch.as_deref(), &config));
    if let Err(both) = &lds {
        missing.push(both.clone());
    }
    if !missing.is_empty() {
        let summary = format!(
            "{} is configured but not prepared for external modules: missing {}",
            kdir.display(),
            missing.join(", ")
        );
        let llvm = llvm_value(&config, tools)
            .map(|v| format!(" LLVM={v}"))
            .unwrap_or_default();
        let fix = format!(
            "`make -C {}{llvm} modules_prepare` (for a distribution's headers, reinstall the \
             headers package)",
            kdir.display()
        );
        return (Check::fail(id, S, summary, fix), Some(config));
    }
    let lds = lds.unwrap_or_default();
    let summary = format!(
        "{}: configured kernel build directory, prepared for external modules (linker \
         script {lds})",
        kdir.display()
    );
    (Check::pass(id, S, summary), Some(config))
}

fn config_modules(config: &Kconfig, kdir: &Path, explicit: bool) -> Check {
    let id = "config-modules";
    if config.is_y("MODULES") {
        return Check::pass(id, S, "CONFIG_MODULES=y");
    }
    let summary = format!(
        "CONFIG_MODULES is not set in {}: that kernel has no module support",
        config_file(kdir).display()
    );
    let fix = if explicit {
        "rebuild that kernel with CONFIG_MODULES=y and CONFIG_MODULE_UNLOAD=y, or test in a VM \
         with `mempoolctl vm`"
    } else {
        "this kernel cannot load modules: test in a VM with `mempoolctl vm`"
    };
    Check::fail(id, S, summary, fix)
}

fn config_module_unload(config: &Kconfig) -> Check {
    let id = "config-module-unload";
    if !config.is_y("MODULES") {
        return Check::skip(id, S, "no module support (CONFIG_MODULES)");
    }
    if config.is_y("MODULE_UNLOAD") {
        return Check::pass(id, S, "CONFIG_MODULE_UNLOAD=y");
    }
    Check::fail(
        id,
        S,
        "CONFIG_MODULE_UNLOAD is not set: the module can be loaded but never unloaded \
         (until reboot)",
        "rebuild the kernel with CONFIG_MODULE_UNLOAD=y, or test in a VM with `mempoolctl vm` \
         (its test kernel has it)",
    )
}

fn config_rust(config: &Kconfig, kdir: &Path) -> Check {
    let id = "config-rust";
    if config.is_y("RUST") {
        return Check::pass(id, S, "CONFIG_RUST=y");
    }
    Check::fail(
        id,
        S,
        format!("CONFIG_RUST is not set in {}", config_file(kdir).display()),
        format!(
            "the kernel was built without Rust; a Rust module cannot be built for it; use the \
             C twin: {C_TWIN}"
        ),
    )
}

fn rust_metadata(kdir: &Path, llvm: Option<&str>, tools: &Tools) -> Check {
    let id = "rust-metadata";
    let config_text = fs::read_to_string(config_file(kdir)).unwrap_or_default();
    let regen =
        match kbuild::rust_support::rust_support(kdir, &config_text, &tools.cache_root) {
            RustSupport::NoRust => return Check::skip(id, S, "CONFIG_RUST is off"),
            RustSupport::Complete => return Check::pass(
                id,
                S,
                "rust/libkernel.rmeta, libcore.rmeta, libmacros.so and the rest of the compiled \
                 Rust crates are present",
            ),
            RustSupport::Incomplete { missing } => {
                let llvm = llvm.map(|v| format!(" LLVM={v}")).unwrap_or_default();
                return Check::fail(
                    id,
                    S,
                    format!(
                        "{} lacks {} of the Rust files a module build needs: {}",
                        kdir.display(),
                        missing.len(),
                        missing.join(", ")
                    ),
                    format!(
                    "rebuild them: `make -C {}{llvm} modules_prepare` (its `prepare` step builds \
                     rust/); or build the C twin: {C_TWIN}",
                    kdir.display()
                ),
                );
            }
            RustSupport::Regenerable(regen) => regen,
        };
    let why = format!(
        "{} has no rust/ directory: these headers have CONFIG_RUST=y but carry none of the \
         compiled Rust crates a module is compiled against (distribution header packages, \
         Debian's linux-headers-*, do not ship them)",
        kdir.display()
    );
    if regen.is_cached() {
        return Check::pass(
            id,
            S,
            format!(
                "{why}; mempoolctl regenerated them for {} and cached them in {}",
                regen.release,
                regen.dir.display()
            ),
        );
    }
    // Not cached: is a regeneration (or a make it left running) at it now?
    let why = if regen.is_being_regenerated() {
        format!(
            "{why}; a regeneration is in progress now (a process holds {}): a `mempoolctl \
             build` started now waits for it, then uses them",
            regen.lock_path().display()
        )
    } else {
        why
    };
    let prerequisites = regen.prerequisites();
    let list = |met: bool| {
        prerequisites
            .iter()
            .filter(|p| p.is_met() == met)
            .map(|p| format!("{}: {}", p.id, p.summary))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let fixes: Vec<String> = prerequisites
        .iter()
        .filter_map(|p| Some(format!("{}: {}", p.id, p.fix.as_deref()?)))
        .collect();
    if fixes.is_empty() {
        return Check::pass(
            id,
            S,
            format!(
                "{why}; `mempoolctl build` regenerates them once for {} into {} (about 3 min on \
                 2 cores), everything it needs is here: {}",
                regen.release,
                regen.dir.display(),
                list(true)
            ),
        );
    }
    Check::fail(
        id,
        S,
        format!(
            "{why}; mempoolctl can regenerate them from the kernel's own source, but: {}",
            list(false)
        ),
        format!("{}; or build the C twin: {C_TWIN}", fixes.join("; ")),
    )
}

/// The kernel's C compiler, from its config.
enum Cc {
    Clang { version: String, major: u64 },
    Gcc { version: String, major: u64 },
}

fn kernel_cc(config: &Kconfig) -> Option<Cc> {
    let decode = |name| {
        let code = config.number(name).filter(|c| *c > 0)?;
        Some((decode_version(code), code / 10000))
    };
    if config.is_y("CC_IS_CLANG") {
        let (version, major) = decode("CLANG_VERSION")?;
        Some(Cc::Clang { version, major })
    } else if config.is_y("CC_IS_GCC") {
        let (version, major) = decode("GCC_VERSION")?;
        Some(Cc::Gcc { version, major })
    } else {
        None
    }
}

/// The `LLVM=` value `mempoolctl build` passes: kbuild's own rule, none for gcc.
fn llvm_value(config: &Kconfig, tools: &Tools) -> Option<String> {
    match kernel_cc(config)? {
        Cc::Gcc { .. } => None,
        Cc::Clang { major, .. } => {
            let major = u32::try_from(major).ok();
            kbuild::llvm_for_clang(major, |b| tools.binary(b).is_some())
        }
    }
}

fn compiler(config: &Kconfig, kdir: &Path, vars: &KernelVars, tools: &Tools) -> Check {
    let id = "compiler";
    match kernel_cc(config) {
        None => Check::warn(
            id,
            S,
            format!(
                "{} names no compiler (CONFIG_CC_IS_CLANG/CONFIG_CC_IS_GCC with a version)",
                config_file(kdir).display()
            ),
            "use a kernel build directory configured by Linux 5.x or later (its .config records \
             the compiler)",
        ),
        Some(Cc::Clang { version, major }) => clang(tools, &version, major),
        Some(Cc::Gcc { version, major }) => gcc(vars, tools, &version, major),
    }
}

fn clang(tools: &Tools, version: &str, major: u64) -> Check {
    let id = "compiler";
    let install = format!("`apt install clang-{major} lld-{major} llvm-{major}`");
    let built = format!("the kernel was built with clang {version}");
    let versioned = format!("clang-{major}");
    // With LLVM=-N kbuild runs clang-N and ld.lld-N; with LLVM=1 the unversioned names.
    let (cc, installed, llvm) = match (tools.binary(&versioned), tools.binary("clang")) {
        (Some(v), _) => (versioned.as_str(), v, format!("-{major}")),
        (None, Some(v)) if kconfig::major(v) == Some(major) => ("clang", v, "1".to_owned()),
        (None, Some(v)) => {
            let summary = format!(
                "{built}, but only clang {v} (`clang`) is installed: LLVM=1 would build with a \
                 different compiler"
            );
            return Check::fail(id, S, summary, install);
        }
        (None, None) => {
            let summary = format!("{built}; neither {versioned} nor clang is installed");
            return Check::fail(id, S, summary, install);
        }
    };
    let ld = cc.replace("clang", "ld.lld");
    if tools.binary(&ld).is_none() {
        let summary =
            format!("{built}; {cc} is installed but {ld} is missing (LLVM={llvm} links with it)");
        return Check::fail(id, S, summary, install);
    }
    let note = if installed == version {
        String::new()
    } else {
        format!(" (kbuild will warn that the compiler differs: {installed})")
    };
    let summary = format!("{built}; {cc} is installed{note}; mempoolctl build passes LLVM={llvm}");
    Check::pass(id, S, summary)
}

/// What kbuild runs for a gcc kernel: `CC = $(CROSS_COMPILE)gcc`, unless the build dir's
/// `.kernelvariables` pins the compiler (Debian: `CC = ... $(CROSS_COMPILE)gcc-14` with
/// `override CROSS_COMPILE = x86_64-linux-gnu-`, so `x86_64-linux-gnu-gcc-14`).
struct GccCommand {
    /// `CROSS_COMPILE`, possibly empty.
    prefix: String,
    source: Source,
    /// The compiler command.
    cc: String,
    /// Whether `.kernelvariables` named it.
    pinned: bool,
}

impl GccCommand {
    fn new(vars: &KernelVars, tools: &Tools) -> Self {
        let (prefix, source) = vars.cross_compile(tools.cross_compile.as_deref());
        let pinned = vars.cc(&prefix);
        Self {
            cc: pinned.clone().unwrap_or_else(|| format!("{prefix}gcc")),
            pinned: pinned.is_some(),
            prefix,
            source,
        }
    }

    /// Where `CROSS_COMPILE` came from, for summaries: ` (CROSS_COMPILE=... from ...)`.
    fn via(&self) -> String {
        let from = match self.source {
            Source::KernelVariables => "the build dir's .kernelvariables",
            Source::Environment => "the environment",
            Source::Default => return String::new(),
        };
        format!(" (CROSS_COMPILE={} from {from})", self.prefix)
    }

    /// Debian's package for `<prefix>gcc-N`.
    fn gcc_package(&self, major: u64) -> String {
        if kernelvars::is_native(&self.prefix) {
            format!("gcc-{major}")
        } else {
            format!("gcc-{major}-{}", kernelvars::package_triplet(&self.prefix))
        }
    }

    /// Debian's package for `<prefix>ld` and the `as` gcc runs.
    fn binutils_package(&self) -> String {
        if kernelvars::is_native(&self.prefix) {
            "binutils".to_owned()
        } else {
            format!("binutils-{}", kernelvars::package_triplet(&self.prefix))
        }
    }
}

fn gcc(vars: &KernelVars, tools: &Tools, version: &str, major: u64) -> Check {
    let id = "compiler";
    let g = GccCommand::new(vars, tools);
    let install = format!("`apt install {}`", g.gcc_package(major));
    let versioned = format!("{}gcc-{major}", g.prefix);
    let (used, via) = (&g.cc, g.via());
    match tools.binary(used) {
        Some(v) if kconfig::major(v) == Some(major) => Check::pass(
            id,
            S,
            format!(
                "the kernel was built with gcc {version}; kbuild runs `{used}` ({v}){via}; no \
                 LLVM= (a gcc kernel)"
            ),
        ),
        Some(v) if !g.pinned && tools.binary(&versioned).is_some() => {
            let plain = used.rsplit('/').next().unwrap_or(used);
            Check::warn(
                id,
                S,
                format!(
                    "the kernel was built with gcc {version}; {versioned} is installed, but \
                     kbuild runs `{used}`{via}, which is {v}"
                ),
                format!(
                    "make `{plain}` mean {versioned} for the build: `mkdir -p ~/.local/gcc{major} \
                     && ln -sf $(command -v {versioned}) ~/.local/gcc{major}/{plain}`, then \
                     `PATH=~/.local/gcc{major}:$PATH mempoolctl build`"
                ),
            )
        }
        Some(v) => Check::fail(
            id,
            S,
            format!(
                "the kernel was built with gcc {version}; kbuild runs `{used}`{via}, which is {v}"
            ),
            install,
        ),
        None => Check::fail(
            id,
            S,
            format!("the kernel was built with gcc {version}; `{used}`{via} is not installed"),
            install,
        ),
    }
}

/// The assembler and linker of a gcc kernel's module build: gcc runs the assembler it
/// finds (`-print-prog-name=as`: normally plain `as` from the search path, even for
/// `x86_64-linux-gnu-gcc-14`), kbuild links with `$(CROSS_COMPILE)ld`.
fn binutils(config: &Kconfig, kdir: &Path, vars: &KernelVars, tools: &Tools) -> Check {
    let id = "binutils";
    let major = match kernel_cc(config) {
        None => return Check::skip(id, S, "the kernel's compiler is unknown (see compiler)"),
        Some(Cc::Clang { .. }) => {
            return Check::pass(
                id,
                S,
                "a clang kernel: clang assembles itself and ld.lld links (see compiler); GNU \
                 as and ld are not used",
            )
        }
        Some(Cc::Gcc { major, .. }) => major,
    };
    let g = GccCommand::new(vars, tools);
    let asm = tools.gcc_assembler(&g.cc).to_owned();
    let ld = format!("{}ld", g.prefix);
    // gcc prints a path only for an assembler it found.
    let asm_found = tools.binary(&asm).is_some() || asm.contains('/');
    let ld_found = tools.binary(&ld).is_some() || (ld.contains('/') && Path::new(&ld).is_file());
    let fix = format!(
        "`apt install {}` (the {} package depends on it)",
        g.binutils_package(),
        g.gcc_package(major)
    );
    let mut missing = Vec::new();
    if !asm_found {
        missing.push(format!(
            "`{}` runs `{asm}` to assemble, which is not installed (the build stops with \
             \"cannot execute '{asm}'\")",
            g.cc
        ));
    }
    if !ld_found {
        missing.push(format!(
            "kbuild links the module with `{ld}`{}, which is not installed",
            g.via()
        ));
    }
    if !missing.is_empty() {
        let summary = format!("a gcc kernel: {}", missing.join("; "));
        return Check::fail(id, S, summary, fix);
    }
    let (min, min_source) = min_version(kdir, "binutils", MIN_BINUTILS_7_3);
    let named = |name: &str| match tools.binary(name) {
        Some(v) => format!("`{name}` ({v})"),
        None => format!("`{name}`"),
    };
    let old: Vec<String> = [&asm, &ld]
        .into_iter()
        .filter_map(|n| {
            let v = tools.binary(n)?;
            (version_ge(v, &min) == Some(false)).then(|| format!("`{n}` {v}"))
        })
        .collect();
    let summary = format!(
        "`{}` runs {} to assemble; kbuild links with {}{}",
        g.cc,
        named(&asm),
        named(&ld),
        g.via()
    );
    if !old.is_empty() {
        return Check::warn(
            id,
            S,
            format!(
                "{summary}; older than the minimum {min} ({min_source}): {}",
                old.join(", ")
            ),
            fix,
        );
    }
    Check::pass(id, S, format!("{summary} (minimum {min}, {min_source})"))
}

fn rustc(config: &Kconfig, kdir: &Path, tools: &Tools) -> Check {
    let id = "rustc";
    if !config.is_y("RUST") {
        return Check::skip(id, S, "CONFIG_RUST is off");
    }
    let (min, min_source) = min_version(kdir, "rustc", MIN_RUSTC_7_3);
    let Some(kernel) = config.get("RUSTC_VERSION_TEXT") else {
        return Check::warn(
            id,
            S,
            format!(
                "{} has no CONFIG_RUSTC_VERSION_TEXT: cannot tell which rustc built the kernel",
                config_file(kdir).display()
            ),
            "build the module with the rustc that built the kernel",
        );
    };
    let number = kernel.split_whitespace().nth(1).unwrap_or(kernel);
    // rustup names stable toolchains by their number; others need the full channel name.
    let fix = if number.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        format!(
            "`rustup toolchain install {number}`, then build with `RUSTUP_TOOLCHAIN={number} \
             mempoolctl build` (or `rustup default {number}`)"
        )
    } else {
        format!(
            "install the toolchain that prints `{kernel}` (`rustup toolchain install <its \
             channel>`) and select it with RUSTUP_TOOLCHAIN"
        )
    };
    let Some(installed) = tools.rustc.as_deref() else {
        return Check::fail(
            id,
            S,
            format!("the kernel was built with `{kernel}`; rustc is not installed"),
            fix,
        );
    };
    if installed == kernel {
        return Check::pass(
            id,
            S,
            format!("`{installed}` built the kernel too (minimum {min}, {min_source})"),
        );
    }
    let below_min = installed
        .split_whitespace()
        .nth(1)
        .and_then(|v| version_ge(v, &min))
        .is_some_and(|ge| !ge);
    let also = if below_min {
        format!("; it is also below the minimum {min} ({min_source})")
    } else {
        String::new()
    };
    Check::fail(
        id,
        S,
        format!(
            "the kernel was built with `{kernel}`, the installed rustc is `{installed}`: the \
             kernel's .rmeta files load only with the same compiler (\"compiled by an \
             incompatible version of rustc\"){also}"
        ),
        fix,
    )
}

fn bindgen(kdir: &Path, config: Option<&Kconfig>, tools: &Tools) -> Check {
    let id = "bindgen";
    let (min, min_source) = min_version(kdir, "bindgen", MIN_BINDGEN_7_3);
    let why = "not needed to build a module (the build dir has the generated bindings), but \
               needed to build a Rust kernel (the VM test kernel: `cargo xtask kernel`)";
    let fix = "`cargo install bindgen-cli --locked` (installs to ~/.cargo/bin)";
    let kernel = config
        .and_then(|c| c.get("BINDGEN_VERSION_TEXT"))
        .map(|t| format!("; the kernel was built with `{t}`"))
        .unwrap_or_default();
    match tools.bindgen.as_deref() {
        None => Check::warn(
            id,
            S,
            format!("bindgen is not installed (PATH, ~/.cargo/bin){kernel}: {why}"),
            fix,
        ),
        Some(v) if version_ge(v, &min) != Some(true) => Check::warn(
            id,
            S,
            format!("bindgen {v} is older than the minimum {min} ({min_source}){kernel}: {why}"),
            fix,
        ),
        Some(v) => Check::pass(
            id,
            S,
            format!("bindgen {v} (minimum {min}, {min_source}){kernel}"),
        ),
    }
}

fn rust_src(tools: &Tools) -> Check {
    let id = "rust-src";
    let why = "not needed to build a module, but a Rust kernel build (the VM test kernel: \
               `cargo xtask kernel`) compiles `core` from them";
    let number = tools
        .rustc
        .as_deref()
        .and_then(|l| l.split_whitespace().nth(1));
    let fix = match number {
        Some(v) => format!(
            "`rustup component add rust-src` (rustup toolchains), or `apt install -t \
             trixie-backports 'rust-src={v}+dfsg1*'` (→ /usr/src/rustc-{v}/library); sources \
             elsewhere: set RUST_LIB_SRC to their `library` directory"
        ),
        None => "install rustc first, then its rust-src".to_owned(),
    };
    match (&tools.rust_lib_src, tools.rust_lib_src_exists) {
        (Some(path), true) => {
            Check::pass(id, S, format!("Rust library sources at {}", path.display()))
        }
        (Some(path), false) => Check::warn(
            id,
            S,
            format!(
                "no Rust library sources at {} ($RUST_LIB_SRC, /usr/src/rustc-<ver>/library, \
                 the sysroot's rust-src): {why}",
                path.display()
            ),
            fix,
        ),
        (None, _) => Check::warn(
            id,
            S,
            format!("no rustc and no $RUST_LIB_SRC to locate the Rust library sources: {why}"),
            fix,
        ),
    }
}

fn release_match(kdir: &Path, release: &str) -> Check {
    let id = "kernel-release-match";
    let Some(built) = kbuild::kdir_release(kdir) else {
        return Check::skip(id, S, "no include/generated/utsrelease.h");
    };
    if built == release {
        return Check::pass(
            id,
            S,
            format!("{} is for {release}, the running kernel", kdir.display()),
        );
    }
    Check::warn(
        id,
        S,
        format!(
            "{} is for kernel {built}: modules built there will not load on the running kernel \
             {release}; fine for a VM",
            kdir.display()
        ),
        format!(
            "to load on this machine build against its own headers (default --kdir, \
             `apt install linux-headers-{release}`); to test for {built}: `mempoolctl vm`"
        ),
    )
}

/// The config file read (for messages).
fn config_file(kdir: &Path) -> PathBuf {
    let dot = kdir.join(".config");
    if dot.is_file() {
        dot
    } else {
        kdir.join("include/config/auto.conf")
    }
}

/// The kernel's minimum for `tool` from its `scripts/min-tool-version.sh` (in the build
/// dir, or its `source` link for an `O=` build), else the built-in 7.3 value.
fn min_version(kdir: &Path, tool: &str, builtin: &str) -> (String, &'static str) {
    [
        "scripts/min-tool-version.sh",
        "source/scripts/min-tool-version.sh",
    ]
    .iter()
    .filter_map(|p| fs::read_to_string(kdir.join(p)).ok())
    .find_map(|script| kconfig::min_tool_version(&script, tool))
    .map(|v| (v, "scripts/min-tool-version.sh"))
    .unwrap_or_else(|| (builtin.to_owned(), "Linux 7.3"))
}
