#!/usr/bin/env bash
# The one way cfpd's release binary is built: by the container recipe
# (deploy/Containerfile), the benchmarks (scripts/bench-assign.sh) and the
# deploy check (scripts/check-deploy.sh --release), so what is measured and
# checked is what ships. Prints the binary's path on stdout.
#
#   bash scripts/build-release.sh            # -> target/release/cfpd
#   CARGO_TARGET_DIR=/tmp/t bash scripts/build-release.sh
#
# --locked: the versions in Cargo.lock, never a fresh resolution.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --bin cfpd >&2
echo "${CARGO_TARGET_DIR:-$PWD/target}/release/cfpd"
