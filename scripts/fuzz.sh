#!/usr/bin/env bash
# Fuzzes the statement splitter, migration file names, database URLs, backup manifests (with legacy
# names and store URLs) and the archive container (age/zstd decoding, WAL names and headers).
#
#   bash scripts/fuzz.sh            # the test command's mode: reproducible. Replays the corpus in
#                                   # fuzz/corpus (every regression found so far), then explores with a
#                                   # fixed seed (FUZZ_SEED, default 1) for a fixed number of runs
#                                   # (FUZZ_RUNS, default 100000) per target: the same commit always
#                                   # gives the same result.
#   bash scripts/fuzz.sh explore    # open-ended: a random seed, FUZZ_SECONDS (default 300) per target
#                                   # (or FUZZ_TARGETS="manifest archive"). A finding stops with the
#                                   # crashing input in fuzz/artifacts/<target>/: add it to
#                                   # fuzz/corpus/<target>/ with a unit test, then fix it.
#
# Needs the nightly toolchain; cargo-fuzz is installed if missing.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT/fuzz"
MODE="${1:-check}"
case "$MODE" in check|explore) ;; *) echo "usage: fuzz.sh [check|explore]" >&2; exit 2 ;; esac
# cargo fuzz needs nightly; a machine with only stable reports that fuzzing did not run (and why)
# instead of failing the whole test command. FUZZ_REQUIRED=1 makes that an error.
if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  echo "fuzzing NOT run: no nightly toolchain on this machine (rustup toolchain install nightly)" >&2
  [ "${FUZZ_REQUIRED:-0}" = 1 ] && exit 1
  exit 0
fi
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
TARGETS="${FUZZ_TARGETS:-sql_split migration_name manifest archive database_url}"
if [ "$MODE" = check ]; then
  # The test command's build: unoptimised with overflow checks and debug assertions, no sanitizer
  # (the targets' code is safe Rust: a panic, an overflow or a failed assertion is the finding). It
  # builds in half the time of the optimised ASan build and still replays 100000 inputs in seconds.
  BUILD=(--dev -s none)
  LIMITS=(-seed="${FUZZ_SEED:-1}" -runs="${FUZZ_RUNS:-100000}")
else
  BUILD=()
  LIMITS=(-max_total_time="${FUZZ_SECONDS:-300}")
fi
run() {
  local target="$1" work log
  work="$(mktemp -d)"; log="$(mktemp)"
  cp "corpus/$target/"* "$work/"
  if cargo +nightly fuzz run "${BUILD[@]}" "$target" "$work" -- -rss_limit_mb=2048 "${LIMITS[@]}" >"$log" 2>&1; then
    echo "$target: $(grep -E '^Done' "$log" || echo 'corpus replayed') (${LIMITS[*]})"
    rm -rf "$work" "$log"
  else
    tail -40 "$log"
    echo "fuzz target $target failed (${LIMITS[*]}); the input is in fuzz/artifacts/$target" >&2
    rm -rf "$work" "$log"
    return 1
  fi
}
# One build of every target first: cargo compiles and links them side by side instead of one per run.
if [ -z "${FUZZ_TARGETS:-}" ]; then
  cargo +nightly fuzz build "${BUILD[@]}"
else
  for target in $TARGETS; do cargo +nightly fuzz build "${BUILD[@]}" "$target"; done
fi
# The targets run side by side, one per CPU (each libFuzzer run uses one); their reports print in order.
PARALLEL="${FUZZ_JOBS:-$(nproc)}"
REPORTS="$(mktemp -d)"
trap 'rm -rf "$REPORTS"' EXIT
for target in $TARGETS; do
  while [ "$(jobs -rp | wc -l)" -ge "$PARALLEL" ]; do wait -n || true; done
  ( if run "$target" > "$REPORTS/$target.log" 2>&1; then echo 0; else echo 1; fi > "$REPORTS/$target.status" ) &
done
wait
failed=0
for target in $TARGETS; do
  cat "$REPORTS/$target.log"
  [ "$(cat "$REPORTS/$target.status" 2>/dev/null)" = 0 ] || failed=1
done
exit $failed
