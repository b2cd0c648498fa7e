#!/usr/bin/env bash
# The single test command: installs what the tests need, checks formatting, lints and the cargo
# features, runs every Rust test and every Python test, the criterion benchmarks once in test mode
# and reproducible fuzzing. Tests start (and stop) their own PostgreSQL clusters and storage servers.
# Prints the time of each step and the number of tests run, and fails when that number drops below
# the floor below (raise the floor when tests are added; never lower it to make a run pass).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
RUST_TESTS_FLOOR=249
PYTHON_TESTS_FLOOR=70

LOGS="$(mktemp -d)"
trap 'rm -rf "$LOGS"' EXIT
TIMES=()
STARTED=$SECONDS
# step NAME COMMAND...: runs the command, tees its output to a log, records its time.
step() {
  local name="$1" begun=$SECONDS; shift
  printf '\n==> %s\n' "$name"
  "$@" 2>&1 | tee "$LOGS/$(echo "$name" | tr -c 'a-z0-9' _).log"
  TIMES+=("$(printf '%5ds  %s' $((SECONDS - begun)) "$name")")
}
passed_in() { grep -hoE '[0-9]+ passed' "$LOGS"/$1 | awk '{s += $1} END {print s + 0}'; }

FAILPOINTS_FEATURES="dbops-core/failpoints,dbops-cli/failpoints"
step "install dependencies" bash scripts/install-deps.sh
source scripts/env.sh
step "cargo fmt --check" cargo fmt --all -- --check
step "cargo clippy" cargo clippy --workspace --all-targets -- -D warnings
step "cargo features" bash scripts/check-features.sh
step "clippy failpoints" cargo clippy -p dbops-core -p dbops-cli --features "$FAILPOINTS_FEATURES" --all-targets -- -D warnings
step "rust tests" cargo test --workspace --no-fail-fast
step "rust failpoint tests" cargo test -p dbops-core -p dbops-cli --features "$FAILPOINTS_FEATURES" --test it -- failpoints:: panic::
step "criterion test mode" cargo test -p dbops-benches --benches
step "python tests" bash scripts/py-test.sh
step "fuzzing corpus and fixed seed" bash scripts/fuzz.sh check

rust=$(( $(passed_in 'rust_tests*.log') + $(passed_in 'rust_failpoint_tests*.log') ))
python=$(passed_in 'python_tests*.log')
printf '\n==> times\n'; printf '%s\n' "${TIMES[@]}"; printf '%5ds  total\n' $((SECONDS - STARTED))
printf '\n==> tests: %d Rust (floor %d), %d Python (floor %d)\n' "$rust" "$RUST_TESTS_FLOOR" "$python" "$PYTHON_TESTS_FLOOR"
if [ "$rust" -lt "$RUST_TESTS_FLOOR" ] || [ "$python" -lt "$PYTHON_TESTS_FLOOR" ]; then
  echo "fewer tests ran than the floor: a test was lost (or a step's output changed)" >&2
  exit 1
fi
printf '\n==> all tests passed\n'
