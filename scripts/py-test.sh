#!/usr/bin/env bash
# Builds the Python wheel into .venv with maturin, checks the typing (the stubs of the compiled module
# against the module with mypy.stubtest, then mypy --strict over the package, the examples and the
# tests) while the pytest suite runs. Extra args go to pytest. Any failing step fails the script.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/env.sh"
cd "$ROOT/dbops-py"
if [ ! -x "$ROOT/.venv/bin/maturin" ] || ! "$ROOT/.venv/bin/pip" show -q types-PyYAML pre-commit >/dev/null 2>&1; then
  bash "$ROOT/scripts/install-deps.sh"
fi
# DBOPS_PY_FEATURES: extra cargo features for the build (the test command passes the features of its
# own Rust build, so that maturin reuses that build's compiled dependencies instead of a second tree).
VIRTUAL_ENV="$ROOT/.venv" maturin develop --quiet ${DBOPS_PY_FEATURES:+--features "$DBOPS_PY_FEATURES"}
# The type checks (one CPU, no servers) run while pytest waits on its servers; their output follows.
typing_log="$(mktemp)"
trap 'rm -f "$typing_log"' EXIT
(
  echo "== python -m mypy.stubtest dbops._dbops"
  python -m mypy.stubtest dbops._dbops
  echo "== python -m mypy --strict dbops-py/python/dbops examples/python dbops-py/tests"
  python -m mypy --strict "$ROOT/dbops-py/python/dbops" "$ROOT/examples/python" "$ROOT/dbops-py/tests"
) > "$typing_log" 2>&1 &
typing=$!
echo "== python -m pytest"
status=0
python -m pytest -q "$@" || status=$?
typing_status=0
wait "$typing" || typing_status=$?
cat "$typing_log"
[ "$typing_status" = 0 ] || { echo "the type checks failed" >&2; exit "$typing_status"; }
exit "$status"
