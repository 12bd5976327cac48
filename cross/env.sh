# Shared settings for cross/build-aarch64 and cross/check-aarch64. Sourced, not run.
# shellcheck shell=bash
N3XNET_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CROSS_TARGET=aarch64-unknown-linux-gnu
# A target dir of its own, beside the host build's (and so inside the CI cache when
# CARGO_TARGET_DIR points there): the Debian toolchain (rustc 1.96) and rustup's host
# toolchain then never share build-script/proc-macro output dirs, fingerprints or
# cargo's build-dir lock, and either can be wiped without touching the other.
CROSS_TARGET_DIR=${N3XNET_CROSS_TARGET_DIR:-${CARGO_TARGET_DIR:-$N3XNET_ROOT/target}/debian-aarch64}
CROSS_BIN_DIR=$CROSS_TARGET_DIR/$CROSS_TARGET/release
