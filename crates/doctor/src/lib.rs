//! `mempoolctl doctor`: can this machine build `rust_mempool` (or its C twin
//! `c_mempool`, see [`Flavor`]) for a kernel and load it into the running one? Each check
//! passes or says exactly what to install, pass or run.
//!
//! Every file is read under a root prefix (`<root>/proc/...`, `<root>/sys/...`,
//! `<root>/lib/modules/...`) and the toolchain comes in as a [`Tools`] value, so the
//! checks run against fake trees in tests; only [`Tools::probe`] touches the host, and
//! tests run the same probe on a directory of fake tools ([`Tools::probe_in`]).
//!
//! # Checks
//!
//! Ids are stable (kebab-case) and listed in [`CHECK_IDS`], always in this order. The
//! checks marked *Rust* are `skip` ("not needed for the C twin (c_mempool)") for
//! [`Flavor::C`].
//!
//! | id | section | meaning |
//! | --- | --- | --- |
//! | `headers` | build | the kernel build dir exists, is configured (`Makefile`, `.config` or `include/config/auto.conf`) and prepared for external modules (the files kbuild refuses to build without; the module linker script as `scripts/module.lds` or, as Debian ships it, `arch/<SRCARCH>/module.lds`, like scripts/Makefile.modfinal) |
//! | `config-modules` | build | `CONFIG_MODULES=y` in the build dir's config |
//! | `config-module-unload` | build | `CONFIG_MODULE_UNLOAD=y`: otherwise a loaded module can never be unloaded |
//! | `config-rust` | build | *Rust*: `CONFIG_RUST=y`: otherwise only the C twin can be built |
//! | `rust-metadata` | build | *Rust*: the compiled Rust crates (`rust/libkernel.rmeta`, ..., `scripts/target.json`) a Rust module is compiled against |
//! | `compiler` | build | the C compiler kbuild will run is installed and is the kernel's (clang-N, or gcc-N behind `CROSS_COMPILE` from the build dir's `.kernelvariables` or the environment; same major); names the `LLVM=` value |
//! | `binutils` | build | for a gcc kernel, the assembler gcc runs (`gcc -print-prog-name=as`, usually `as`) and the linker kbuild runs (`$(CROSS_COMPILE)ld`) are installed; a clang kernel needs neither |
//! | `rustc` | build | *Rust*: installed `rustc --version` equals the kernel's `CONFIG_RUSTC_VERSION_TEXT` |
//! | `bindgen` | build | *Rust*: bindgen ≥ the kernel's minimum (needed to build a Rust kernel, not a module) |
//! | `rust-src` | build | *Rust*: Rust standard library sources (needed to build a Rust kernel, not a module) |
//! | `kernel-release-match` | build | the build dir's `UTS_RELEASE` is the running kernel's release |
//! | `kernel-modules` | load | the running kernel supports modules (`/proc/modules` exists) |
//! | `privileges` | load | `CAP_SYS_MODULE` is effective (root alone is not enough in a container) |
//! | `modules-disabled` | load | `kernel.modules_disabled` is 0 |
//! | `sig-enforce` | load | module signatures are not enforced, or the module can be signed |
//! | `lockdown` | load | kernel lockdown is `none` (otherwise unsigned modules are refused) |
//! | `dmesg-restrict` | load | the kernel log is readable for `mempoolctl log` |
//!
//! # JSON (`mempoolctl doctor --json`)
//!
//! A stable interface; `schema` is bumped on any incompatible change.
//!
//! ```json
//! {
//!   "schema": 1,
//!   "ok": false,
//!   "flavor": "rust",
//!   "kernel_release": "7.3.4+deb13-amd64",
//!   "kdir": "/lib/modules/7.3.4+deb13-amd64/build",
//!   "checks": [
//!     {
//!       "id": "rust-metadata",
//!       "section": "build",
//!       "status": "fail",
//!       "summary": "...",
//!       "fix": "..."
//!     }
//!   ]
//! }
//! ```
//!
//! - `ok`: no check has status `fail` ([`Report::ok`]).
//! - `flavor`: the module the checks are for, `"rust"` (`rust_mempool`) or `"c"`
//!   (`c_mempool`) ([`Flavor`]); added within schema 1 (readers must ignore unknown keys).
//! - `kernel_release`: the running kernel (`uname -r`); `kdir`: the kernel build dir checked.
//! - `checks`: every id of [`CHECK_IDS`], once, in that order.
//! - `section`: `"build"` or `"load"`; `status`: `"pass"`, `"fail"`, `"warn"` or `"skip"`.
//! - `summary`: one human-readable sentence; `fix`: `null` for `pass` and `skip`, otherwise
//!   the concrete remedy (package, flag or command).

mod build_checks;
use kbuild::{kconfig, kernelvars};
mod load_checks;
mod render;
mod tools;

pub use render::render;
pub use tools::Tools;

use serde::ser::SerializeStruct;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Version of the JSON form.
pub const SCHEMA: u32 = 1;

/// Every check id, in report order.
pub const CHECK_IDS: [&str; 17] = [
    "headers",
    "config-modules",
    "config-module-unload",
    "config-rust",
    "rust-metadata",
    "compiler",
    "binutils",
    "rustc",
    "bindgen",
    "rust-src",
    "kernel-release-match",
    "kernel-modules",
    "privileges",
    "modules-disabled",
    "sig-enforce",
    "lockdown",
    "dmesg-restrict",
];

/// The module the caller will build: `rust_mempool` or its C twin `c_mempool`, which
/// needs no Rust in the kernel or on the machine. Serializes as `"rust"` / `"c"`.
pub use modctl::Flavor;

/// What a check is about: building the module for the kernel in `kdir`, or loading it
/// into the running kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Section {
    Build,
    Load,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    /// Works, with a caveat the summary names.
    Warn,
    /// Not applicable because an earlier check failed, the feature is off, or the
    /// flavor does not need it.
    Skip,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Stable kebab-case id, one of [`CHECK_IDS`].
    pub id: &'static str,
    pub section: Section,
    pub status: Status,
    pub summary: String,
    /// The remedy for `Fail` and `Warn`; `None` otherwise.
    pub fix: Option<String>,
}

impl Check {
    fn pass(id: &'static str, section: Section, summary: impl Into<String>) -> Self {
        Self::new(id, section, Status::Pass, summary.into(), None)
    }
    fn skip(id: &'static str, section: Section, summary: impl Into<String>) -> Self {
        Self::new(id, section, Status::Skip, summary.into(), None)
    }
    fn fail(
        id: &'static str,
        section: Section,
        summary: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self::new(id, section, Status::Fail, summary.into(), Some(fix.into()))
    }
    fn warn(
        id: &'static str,
        section: Section,
        summary: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self::new(id, section, Status::Warn, summary.into(), Some(fix.into()))
    }
    fn new(
        id: &'static str,
        section: Section,
        status: Status,
        summary: String,
        fix: Option<String>,
    ) -> Self {
        Self {
            id,
            section,
            status,
            summary,
            fix,
        }
    }
}

/// The result of [`diagnose`]. Serializes to the documented JSON (see the crate docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The module flavor the checks were run for.
    pub flavor: Flavor,
    /// The running kernel's release (`uname -r`).
    pub kernel_release: String,
    /// The kernel build directory checked.
    pub kdir: PathBuf,
    pub checks: Vec<Check>,
}

impl Report {
    /// No check failed (warnings and skips are fine).
    pub fn ok(&self) -> bool {
        self.checks.iter().all(|c| c.status != Status::Fail)
    }

    /// The check with this id.
    pub fn check(&self, id: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.id == id)
    }
}

// By hand so that `ok` is always derived from the checks and `kdir` serializes even
// when it is not UTF-8.
impl Serialize for Report {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Report", 6)?;
        st.serialize_field("schema", &SCHEMA)?;
        st.serialize_field("ok", &self.ok())?;
        st.serialize_field("flavor", &self.flavor)?;
        st.serialize_field("kernel_release", &self.kernel_release)?;
        st.serialize_field("kdir", &self.kdir.to_string_lossy())?;
        st.serialize_field("checks", &self.checks)?;
        st.end()
    }
}

/// Runs every check.
///
/// - `root`: prefix for `proc/`, `sys/` and the default `lib/modules/<release>/build`
///   (`/` on a real system).
/// - `release`: the running kernel's `uname -r`.
/// - `kdir`: an explicit kernel build dir (`--kdir`, not under `root`); `None` means the
///   running kernel's `<root>/lib/modules/<release>/build`.
/// - `tools`: the host's toolchain and kbuild environment ([`Tools::probe`]).
/// - `euid`: the effective uid, used where capabilities cannot be read.
/// - `flavor`: the module that will be built; [`Flavor::C`] skips the Rust checks.
pub fn diagnose(
    root: &Path,
    release: &str,
    kdir: Option<&Path>,
    tools: &Tools,
    euid: u32,
    flavor: Flavor,
) -> Report {
    let explicit = kdir.is_some();
    let kdir = kdir
        .map(Path::to_path_buf)
        .unwrap_or_else(|| root.join("lib/modules").join(release).join("build"));
    let mut checks = build_checks::checks(&kdir, explicit, release, tools, flavor);
    checks.extend(load_checks::checks(root, release, &kdir, euid, flavor));
    Report {
        flavor,
        kernel_release: release.to_owned(),
        kdir,
        checks,
    }
}

#[cfg(test)]
mod tests;
