# Sourced by the test scripts: puts the checkout's tools first on PATH and keeps caches inside it.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$ROOT/.venv/bin:$ROOT/.tools/node_modules/.bin:$PATH"
export DBOPS_CACHE_DIR="${DBOPS_CACHE_DIR:-$ROOT/.dbops-cache}"
