#!/usr/bin/env bash
# The single test command: installs what the tests need, checks formatting, lints and the cargo
# features, runs every Rust test and every Python test, the criterion benchmarks once in test mode
# and reproducible fuzzing. Tests start (and stop) their own PostgreSQL clusters and storage servers.
# Prints the time of each step and the number of tests run, and fails when that number drops below
# the floor below (raise the floor when tests are added; never lower it to make a run pass).
#
# The installs run in the background while clippy lints (clippy needs only the Rust toolchain). The
# Rust tests are built once, with the failpoints compiled in (inert unless a test arms one): the
# failpoint tests then run on their own from the same build (they arm process-wide failpoints), and
# the criterion benchmarks' test mode reuses it too.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
RUST_TESTS_FLOOR=254
PYTHON_TESTS_FLOOR=70

LOGS="$(mktemp -d)"
declare -A BACKGROUND BEGUN
# On any exit, the background steps' whole process groups stop too (a failed step ends the run).
stop_background() { local pid; for pid in "${BACKGROUND[@]}"; do kill -- "-$pid" 2>/dev/null || true; done; }
trap 'stop_background; rm -rf "$LOGS"' EXIT
trap 'exit 130' INT TERM
TIMES=()
STARTED=$SECONDS
# step NAME COMMAND...: runs the command, tees its output to a log, records its time.
step() {
  local name="$1" begun=$SECONDS; shift
  printf '\n==> %s\n' "$name"
  "$@" 2>&1 | tee "$LOGS/$(log_name "$name")"
  TIMES+=("$(printf '%5ds  %s' $((SECONDS - begun)) "$name")")
}
log_name() { printf '%s.log' "$(echo "$1" | tr -c 'a-z0-9' _)"; }
passed_in() { grep -hoE '[0-9]+ passed' "$LOGS"/$1 | awk '{s += $1} END {print s + 0}'; }
# background NAME COMMAND...: starts a step in the background (its own process group), its output to
# its log.
background() {
  local name="$1"; shift
  printf '\n==> %s: started in the background\n' "$name"
  setsid bash -c 'begun=$SECONDS; "$@"; status=$?; echo $((SECONDS - begun)) > "$0.seconds"; exit $status' \
    "$LOGS/$(log_name "$name")" "$@" > "$LOGS/$(log_name "$name")" 2>&1 &
  BACKGROUND[$name]=$!
  BEGUN[$name]=$SECONDS
}
# finish NAME: waits for a background step, prints its output, records its time; fails as it failed.
finish() {
  local name="$1" status=0 waited=$SECONDS
  wait "${BACKGROUND[$name]}" || status=$?
  printf '\n==> %s (ran in the background)\n' "$name"
  cat "$LOGS/$(log_name "$name")"
  unset "BACKGROUND[$name]"
  TIMES+=("$(printf '%5ds  %s (in the background from %ds, waited for %ds)' \
    "$(cat "$LOGS/$(log_name "$name").seconds" 2>/dev/null || echo 0)" "$name" $((BEGUN[$name] - STARTED)) $((SECONDS - waited)))")
  return $status
}

FAILPOINTS_FEATURES="dbops-core/failpoints,dbops-cli/failpoints"
FAILPOINT_TESTS=(failpoints:: panic::)
background "install dependencies" bash scripts/install-deps.sh
source scripts/env.sh
step "cargo fmt --check" cargo fmt --all -- --check
step "cargo clippy" cargo clippy --workspace --all-targets -- -D warnings
step "cargo features" bash scripts/check-features.sh
step "clippy failpoints" cargo clippy -p dbops-core -p dbops-cli --features "$FAILPOINTS_FEATURES" --all-targets -- -D warnings
finish "install dependencies"
step "rust tests" cargo test --workspace --features "$FAILPOINTS_FEATURES" --no-fail-fast -- \
  "${FAILPOINT_TESTS[@]/#/--skip=}"
step "rust failpoint tests" cargo test --workspace --features "$FAILPOINTS_FEATURES" --test it -- "${FAILPOINT_TESTS[@]}"
step "criterion test mode" cargo test --workspace --features "$FAILPOINTS_FEATURES" --bench '*'
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
