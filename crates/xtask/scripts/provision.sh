#!/usr/bin/env bash
# Idempotent provisioning of everything mempoolctl's kernel/VM path needs on a
# Debian bookworm host (run as root). Skips what is present, says what it
# installs, and fails naming the missing piece.
#
# Steps: `packages` (the extra suites and apt), `bindgen` (cargo), `check`;
# none (or `all`) runs the three in order. `cargo xtask provision` runs
# `packages` and `bindgen` side by side, then `check`: compiling bindgen-cli
# needs cargo, crates.io and a C linker, not the packages (its default
# `runtime` feature loads libclang when bindgen runs, not when it builds). A
# host whose linker comes with build-essential fails that first compile, and
# xtask tries it again after apt.
set -euo pipefail
STEP=${1:-all}
case "$STEP" in all|packages|bindgen|check) ;; *) printf '[provision] error: unknown step %s (packages, bindgen, check, all)\n' "$STEP" >&2; exit 2;; esac
step() { [ "$STEP" = all ] || [ "$STEP" = "$1" ]; }

# The step in each line: two steps can print at once.
say()  { printf '[provision %s] %s\n' "$STEP" "$*"; }
die()  { printf '[provision %s] error: %s\n' "$STEP" "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "provisioning installs packages and must run as root (try: sudo $0)"
export PATH="$HOME/.cargo/bin:$PATH"
command -v cargo >/dev/null || die "cargo not on PATH (~/.cargo/bin included): install Rust with rustup first"
RUSTC_VERSION=$(rustc --version | awk '{print $2}')
RUST_SRC_VERSION="${RUST_SRC_VERSION:-${RUSTC_VERSION}+dfsg1-2~bpo13+1}"
BINDGEN_MIN="0.71.1"
LLVM_V=19
BOOKWORM_PKGS=(debootstrap clang-$LLVM_V lld-$LLVM_V llvm-$LLVM_V libclang-$LLVM_V-dev build-essential bc bison
               flex libelf-dev libssl-dev cpio kmod busybox-static lz4)
SOURCES=/etc/apt/sources.list.d/mempoolctl-extra.sources
PIN=/etc/apt/preferences.d/mempoolctl-extra

ver_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]; }
bindgen_version() { bindgen --version 2>/dev/null | awk '{print $2}' || true; }

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'; }
installed_version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || true; }

if step packages; then
command -v apt-get >/dev/null || die "apt-get not found: only Debian-based hosts are supported"

# 1. Extra suites from the host's own mirror, pinned low. `cargo xtask provision`
# reads the mirror from debian.sources (crates/xtask/src/mirror.rs, its one home).
if [ ! -f "$SOURCES" ]; then
  uri=${MEMPOOLCTL_MIRROR:-}
  [ -n "$uri" ] || die "${MEMPOOLCTL_MIRROR_ERROR:-run through \`cargo xtask provision\`, which passes the mirror of /etc/apt/sources.list.d/debian.sources as MEMPOOLCTL_MIRROR}"
  say "adding bookworm-backports, trixie, trixie-backports from $uri (pinned to priority 50)"
  cat > "$SOURCES" <<SRC
Types: deb
URIs: $uri
Suites: bookworm-backports trixie trixie-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  cat > "$PIN" <<PINS
# Nothing upgrades from these suites by accident; mempoolctl asks for what it needs by version/suite.
Package: *
Pin: release n=bookworm-backports
Pin-Priority: 50

Package: *
Pin: release n=trixie
Pin-Priority: 50

Package: *
Pin: release n=trixie-backports
Pin-Priority: 50
PINS
fi

apt_updated=0
apt_update() {
  if [ "$apt_updated" = 0 ]; then say "apt-get update"; apt-get update -qq; apt_updated=1; fi
}
apt_install() { apt_update; say "installing: $*"; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null; }

# 2. Packages.
missing=()
for p in "${BOOKWORM_PKGS[@]}"; do installed "$p" || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
installed qemu-system-x86 || apt_install -t bookworm-backports qemu-system-x86
installed linux-source-7.3 || apt_install -t trixie-backports linux-source-7.3
if [ "$(installed_version rust-src)" != "$RUST_SRC_VERSION" ]; then
  apt_install "rust-src=$RUST_SRC_VERSION"
fi
fi

if step bindgen; then
# 3. bindgen (kernel 7.3 needs >= 0.71.1).
bg_ver=$(bindgen_version)
if [ -z "$bg_ver" ] || ! ver_ge "$bg_ver" "$BINDGEN_MIN"; then
  say "installing bindgen-cli (>= $BINDGEN_MIN) with cargo, about 1.5 min"
  cargo install bindgen-cli --locked --quiet
fi
fi

if step check; then
# 4. Check: rust-src matches rustc, the kernel source is there, every tool is on
# PATH and bindgen is new enough (the kernel's own rustavailable check runs
# when the test kernel is configured).
RUST_LIB_SRC=/usr/src/rustc-$RUSTC_VERSION/library
[ -d "$RUST_LIB_SRC/core" ] || die "rust-src for rustc $RUSTC_VERSION not found at $RUST_LIB_SRC"
tarball=$(ls /usr/src/linux-source-7.3*.tar.* 2>/dev/null | head -n1 || true)
[ -n "$tarball" ] || die "linux-source-7.3 tarball missing under /usr/src"
for t in clang-$LLVM_V ld.lld-$LLVM_V qemu-system-x86_64 busybox bindgen; do
  command -v "$t" >/dev/null || die "$t not on PATH after install"
done
ver_ge "$(bindgen_version)" "$BINDGEN_MIN" || die "bindgen $(bindgen_version) is older than $BINDGEN_MIN (the kernel's minimum)"
say "ok: rustc $RUSTC_VERSION, rust-src $RUST_LIB_SRC, bindgen $(bindgen_version), $(qemu-system-x86_64 --version | head -n1), kernel source $tarball"
fi
