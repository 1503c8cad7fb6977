# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash disable=SC2034 # sourced: its variables are used by the scripts
# Common settings for the ip_vs_sync_auth build and test scripts.
# Sourced by every script in scripts/ and by the top-level Makefile (through
# `scripts/env.sh --print`), so that every step sees the same toolchain.

# Everything heavy lives outside the repository, under one overridable root.
: "${IPVS_AUTH_CACHE:=${HOME}/.cache/ip_vs_sync_auth}"
export IPVS_AUTH_CACHE

# Pinned versions.
KERNEL_VERSION=7.3.4
KERNEL_SRC_PKG=linux-source-7.3
KERNEL_SRC_PKG_VERSION_GLOB="7.3.4-*"
BINDGEN_VERSION=0.71.1
VNG_VERSION=1.42
RUST_WEB_VERSION=1.96.0
export KERNEL_VERSION BINDGEN_VERSION VNG_VERSION

TOOLS_DIR="$IPVS_AUTH_CACHE/tools"
# ipvsadm 1.31 with --icv-key (scripts/build-ipvsadm.sh); Debian's stays in /usr/sbin.
IPVSADM_AUTH="$IPVS_AUTH_CACHE/ipvsadm/bin/ipvsadm"
export IPVSADM_AUTH
VENV_DIR="$IPVS_AUTH_CACHE/venv"
KSRC="$IPVS_AUTH_CACHE/src/linux-$KERNEL_VERSION"
export TOOLS_DIR VENV_DIR KSRC

# The kernel's Rust must use Debian's rustc-web (it ships the std sources the
# kernel needs); the rustup toolchain on PATH has none.
RUSTC=/usr/bin/rustc
HOSTRUSTC=/usr/bin/rustc
BINDGEN="$TOOLS_DIR/bin/bindgen"
RUST_LIB_SRC="/usr/src/rustc-$RUST_WEB_VERSION/library"
LIBCLANG_PATH=/usr/lib/llvm-19/lib
# Not exported: cargo would pick RUSTC up and build the host crate with a
# compiler other than its own clippy's. Kernel makes get them as arguments.
export LIBCLANG_PATH

case ":$PATH:" in
*":$VENV_DIR/bin:"*) ;;
*) PATH="$VENV_DIR/bin:$TOOLS_DIR/bin:$PATH" ;;
esac
export PATH

# The variables every kernel `make` invocation needs (config steps included:
# without them olddefconfig silently drops CONFIG_RUST).
KMAKE_VARS="RUSTC=$RUSTC HOSTRUSTC=$HOSTRUSTC BINDGEN=$BINDGEN RUST_LIB_SRC=$RUST_LIB_SRC"
# KASAN with Rust needs a Clang-built kernel (init/Kconfig: RUST depends on
# "!KASAN || CC_IS_CLANG"), so only the KASAN variant compiles its C with
# clang-19 (GNU binutils still link); every other build uses GCC 12.
if [ "${IPVS_AUTH_VARIANT:-}" = kasan ]; then
	KMAKE_VARS="$KMAKE_VARS CC=clang-19"
fi
export KMAKE_VARS

log() {
	printf '[ip_vs_sync_auth] %s\n' "$*" >&2
}

die() {
	printf '[ip_vs_sync_auth] ERROR: %s\n' "$*" >&2
	exit 1
}
