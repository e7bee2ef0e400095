#!/usr/bin/env bash
# Runs every cargo-fuzz target of crates/mtcore for a bounded time each and
# exits non-zero on the first crash, hang or runaway allocation.
#
#   FUZZ_SECONDS    seconds per target (default 20)
#   FUZZ_TOOLCHAIN  toolchain with -Z sanitizer support (default nightly)
#   FUZZ_FILTER     run only targets whose name contains it (default: all)
#
# Installs cargo-fuzz from crates.io if it is missing. Findings are left in
# crates/mtcore/fuzz/artifacts/<target>/ (reproduce with
# `cargo +nightly fuzz run <target> <file>` in crates/mtcore).
set -euo pipefail

seconds="${FUZZ_SECONDS:-20}"
toolchain="${FUZZ_TOOLCHAIN:-nightly}"
filter="${FUZZ_FILTER:-}"
cd "$(dirname "$0")/../crates/mtcore"

if ! cargo "+$toolchain" fuzz --version >/dev/null 2>&1; then
  echo "fuzz.sh: installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

cargo "+$toolchain" fuzz build
targets=$(cargo "+$toolchain" fuzz list)
[ -n "$targets" ] || { echo "fuzz.sh: no fuzz targets found" >&2; exit 1; }

for target in $targets; do
  case "$target" in *"$filter"*) ;; *) continue ;; esac
  echo "== fuzz $target for ${seconds}s"
  # -timeout: one input running over 10 s is a hang; -malloc_limit_mb: a
  # single allocation over 256 MiB is a finding (limits are 16 MiB packets).
  cargo "+$toolchain" fuzz run "$target" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=256 \
    -print_final_stats=0
done
echo "fuzz.sh: every target ran ${seconds}s without a finding"
