#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 45) each, starting from the committed seeds in
# fuzz/seeds/<target> (the corpus each run grows goes to a scratch directory, not the checkout).
# A crash, a hang (-timeout) or a leak fails the run; libFuzzer leaves the input in
# fuzz/artifacts/<target>/, to be turned into a regression test. Installs cargo-fuzz if missing;
# on stable Rust, RUSTC_BOOTSTRAP=1 enables the nightly flags it needs.
# Usage: fuzz/run-all.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-45}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(parse object btf_ext distilled)
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  echo "installing cargo-fuzz"
  cargo install --locked -q cargo-fuzz
fi
export RUSTC_BOOTSTRAP=1
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cargo fuzz build -O -a 2>&1 | tail -n 1
for t in "${targets[@]}"; do
  mkdir -p "$scratch/$t"
  echo "fuzzing $t for ${seconds}s (seeds: fuzz/seeds/$t)"
  cargo fuzz run -O -a "$t" "$scratch/$t" "seeds/$t" -- -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 \
    -print_final_stats=1 2>"$scratch/$t.log" || { tail -n 60 "$scratch/$t.log"; echo "fuzz target $t FAILED"; exit 1; }
  grep -E '^stat::number_of_executed_units|^Done' "$scratch/$t.log" | tr '\n' ' '
  echo
done
