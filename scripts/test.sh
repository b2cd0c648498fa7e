#!/usr/bin/env bash
# The single test command: installs what the tests need, checks formatting, lints and the cargo
# features, runs every Rust test and every Python test, the criterion benchmarks once in test mode
# and reproducible fuzzing. Tests start (and stop) their own PostgreSQL clusters and storage servers.
# Prints the time of each step and the number of tests run, and fails when that number drops below
# the floor below (raise the floor when tests are added; never lower it to make a run pass).
#
# Every Rust target is compiled once: clippy's driver wraps rustc for the workspace's crates
# (RUSTC_WORKSPACE_WRAPPER, as `cargo clippy` itself runs it), so one compile both lints every target
# (warnings are errors) and builds the test binaries, with the failpoints compiled in (inert unless a
# test arms one). The failpoint tests then run on their own from that build (they arm process-wide
# failpoints), and so do the criterion benchmarks' test mode. The installs run in the background
# meanwhile (they need none of it), and fuzzing runs in the background beside the tests.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
RUST_TESTS_FLOOR=392
PYTHON_TESTS_FLOOR=82

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
# The PostgreSQL version matrix (every flow on servers 13 to 18): a step of its own, for its time.
MATRIX_TESTS=(versions::)
background "install dependencies" bash scripts/install-deps.sh
# lowest_priority COMMAND...: runs the command at the lowest CPU priority. `nice` alone does not do it
# for a background step: the step is a session of its own, and with the kernel's autogroups each
# session gets an equal share of the CPU whatever the nice values inside it, so the session's
# autogroup is lowered too (where the kernel has autogroups).
lowest_priority() { { echo 19 > /proc/self/autogroup; } 2>/dev/null || true; nice -n 19 "$@"; }
export -f lowest_priority
source scripts/env.sh
step "cargo fmt --check" cargo fmt --all -- --check
# Each feature alone and the README's combinations, linted; this also checks (metadata only) the
# library's dependencies, which the compile below does not need.
step "cargo features" bash scripts/check-features.sh
# clippy's driver lints the workspace's crates as it compiles them; the arguments are those of
# `cargo clippy -- -D warnings`. Every later cargo command keeps the same wrapper, or it would rebuild.
export RUSTC_WORKSPACE_WRAPPER="$(rustup which clippy-driver)"
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
step "clippy and build (all targets)" cargo test --workspace --all-targets --features "$FAILPOINTS_FEATURES" --no-run
finish "install dependencies"
source scripts/env.sh # again: DBOPS_PG_BIN lists the PostgreSQL installations just installed
# Fuzzing (its own nightly build, in fuzz/target) runs in the background beside the tests, at the
# lowest priority: it takes the CPU the tests leave idle while they wait on servers, and yields it to
# them otherwise. (Started with the feature checks instead, it slowed them by half even so.)
background "fuzzing corpus and fixed seed" lowest_priority env -u RUSTC_WORKSPACE_WRAPPER -u CLIPPY_ARGS \
  bash scripts/fuzz.sh check
# Two tests per core: most of a test's time is spent waiting on PostgreSQL, a storage server or a
# child process (the core integration tests took 83 s with two threads, 73 s with four).
export RUST_TEST_THREADS=4
step "rust tests" cargo test --workspace --features "$FAILPOINTS_FEATURES" --no-fail-fast -- \
  "${FAILPOINT_TESTS[@]/#/--skip=}" "${MATRIX_TESTS[@]/#/--skip=}"
step "rust failpoint tests" cargo test --workspace --features "$FAILPOINTS_FEATURES" --test it -- "${FAILPOINT_TESTS[@]}"
step "postgresql version matrix (13-18)" cargo test --workspace --features "$FAILPOINTS_FEATURES" --test it -- "${MATRIX_TESTS[@]}"
step "criterion test mode" cargo test --workspace --features "$FAILPOINTS_FEATURES" --bench '*'
# The extension is built with the features of the Rust build above (failpoints compiled in, inert) so
# that it reuses its compiled dependencies (dbops-py's manifest lists why that is enough).
step "python tests" env DBOPS_PY_FEATURES="dbops-core/default,$FAILPOINTS_FEATURES" bash scripts/py-test.sh
# The API reference (every public item documented, no broken intra-doc link) and the guide: built
# with mdbook, every link checked, every command and Python block run against an embedded cluster
# (its Rust blocks ran as doc tests above).
step "api docs (warnings are errors)" env RUSTDOCFLAGS="-D warnings" cargo doc -p dbops-core --all-features --no-deps
step "guide: build, links, commands" python3 scripts/docs-check.py
finish "fuzzing corpus and fixed seed"

rust=$(( $(passed_in 'rust_tests*.log') + $(passed_in 'rust_failpoint_tests*.log') + $(passed_in 'postgresql_version_matrix*.log') ))
python=$(passed_in 'python_tests*.log')
printf '\n==> times\n'; printf '%s\n' "${TIMES[@]}"; printf '%5ds  total\n' $((SECONDS - STARTED))
printf '\n==> tests: %d Rust (floor %d), %d Python (floor %d)\n' "$rust" "$RUST_TESTS_FLOOR" "$python" "$PYTHON_TESTS_FLOOR"
if [ "$rust" -lt "$RUST_TESTS_FLOOR" ] || [ "$python" -lt "$PYTHON_TESTS_FLOOR" ]; then
  echo "fewer tests ran than the floor: a test was lost (or a step's output changed)" >&2
  exit 1
fi
printf '\n==> all tests passed\n'
