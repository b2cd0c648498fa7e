#!/usr/bin/env bash
# The single test command: installs what the tests need, checks formatting and lints, runs every Rust
# test and every Python test. Tests start (and stop) their own PostgreSQL clusters and storage servers.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/install-deps.sh
source scripts/env.sh

step() { printf '\n==> %s\n' "$*"; }
step "cargo fmt --check";   cargo fmt --all -- --check
step "cargo clippy";        cargo clippy --workspace --all-targets -- -D warnings
FAILPOINTS_FEATURES="dbops-core/failpoints,dbops-cli/failpoints"
step "cargo features";      bash scripts/check-features.sh
step "clippy (failpoints)"; cargo clippy -p dbops-core -p dbops-cli --features "$FAILPOINTS_FEATURES" --all-targets -- -D warnings
step "Rust tests";          cargo test --workspace --no-fail-fast
step "failpoints";          cargo test -p dbops-core -p dbops-cli --features "$FAILPOINTS_FEATURES" --test it -- failpoints:: panic::
step "Python tests";        bash scripts/py-test.sh
step "criterion (--test)";  cargo bench -p dbops-benches --bench hot_paths -- --test
step "fuzzing (corpus + fixed seed)"; bash scripts/fuzz.sh check
step "all tests passed"
