#!/usr/bin/env bash
# Fuzzes the statement splitter, migration file names, database URLs, backup manifests (with legacy
# names and store URLs) and the archive container (age/zstd decoding, WAL names and headers) for
# FUZZ_SECONDS each (default 20), starting from the corpus in fuzz/corpus (which holds the regressions
# found so far). Needs the nightly toolchain; cargo-fuzz is installed if missing.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT/fuzz"
# cargo fuzz needs nightly; a machine with only stable reports that fuzzing did not run (and why)
# instead of failing the whole test command. FUZZ_REQUIRED=1 makes that an error.
if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  echo "fuzzing NOT run: no nightly toolchain on this machine (rustup toolchain install nightly)" >&2
  [ "${FUZZ_REQUIRED:-0}" = 1 ] && exit 1
  exit 0
fi
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
SECONDS_EACH="${FUZZ_SECONDS:-20}"
run() {
  local target="$1"; shift
  local work log
  work="$(mktemp -d)"; log="$(mktemp)"
  cp "corpus/$target/"* "$work/"
  if cargo +nightly fuzz run "$target" "$work" -- -rss_limit_mb=2048 "$@" >"$log" 2>&1; then
    echo "$target: $(grep -E '^Done' "$log" || echo 'corpus replayed')"
    rm -rf "$work" "$log"
  else
    tail -40 "$log"
    echo "fuzz target $target failed; the input is in fuzz/artifacts/$target" >&2
    rm -rf "$work" "$log"
    return 1
  fi
}
run sql_split -max_total_time="$SECONDS_EACH"
run migration_name -max_total_time="$SECONDS_EACH"
run manifest -max_total_time="$SECONDS_EACH"
run archive -max_total_time="$SECONDS_EACH"
run database_url -max_total_time="$SECONDS_EACH"
