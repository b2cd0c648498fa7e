#!/usr/bin/env bash
# Builds the Python wheel into .venv with maturin and runs the pytest suite. Extra args go to pytest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/env.sh"
cd "$ROOT/dbops-py"
[ -x "$ROOT/.venv/bin/maturin" ] || bash "$ROOT/scripts/install-deps.sh"
VIRTUAL_ENV="$ROOT/.venv" maturin develop --quiet
python -m mypy.stubtest dbops._dbops --ignore-missing-stub 2>&1 | tail -20
python -m pytest -q "$@"
