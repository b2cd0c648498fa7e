"""`pip install ./dbops-py` on a fresh environment: the wheel pip builds (maturin fetched from PyPI by
pip's isolated build) is an abi3 wheel, and installed into a new virtualenv with nothing else, imports
(the pytest plugin aside, which needs pytest), ships its typing markers and stubs and runs the CLI as `python -m dbops`."""

import os
import subprocess
import sys
import venv
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent


def run(*argv: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=1200, **kwargs)  # type: ignore[call-overload]
    assert result.returncode == 0, f"{argv} failed:\n{result.stdout}\n{result.stderr}"
    return result  # type: ignore[no-any-return]


def test_pip_builds_an_abi3_wheel_that_installs_and_runs_in_a_fresh_venv(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    # The dev profile and the features of the extension the other tests import (DBOPS_PY_FEATURES, set
    # by the test command) reuse that build's compiled crates; the packaging path is the same.
    args = "--profile dev"
    if os.environ.get("DBOPS_PY_FEATURES"):
        args += " --features " + os.environ["DBOPS_PY_FEATURES"]
    env = dict(os.environ, MATURIN_PEP517_ARGS=args)
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(PACKAGE), env=env)
    built = sorted(wheels.glob("dbops-*.whl"))
    assert len(built) == 1, built
    assert "-abi3-" in built[0].name, built[0].name

    fresh = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(fresh)
    python = str(fresh / "bin" / "python")
    run(python, "-m", "pip", "install", "-q", "--no-index", "--no-deps", str(built[0]))
    shown = run(
        python,
        "-c",
        "import dbops, dbops.results; "
        "print(dbops.__version__, dbops.DirtyDatabaseError.__mro__[2].__name__)",
        cwd=tmp_path,
    )
    version, base = shown.stdout.split()
    assert version.count(".") == 2 and base == "DbopsError", shown.stdout
    # Typed package: the marker and the stubs are installed next to the module.
    site = run(python, "-c", "import dbops, os; print(os.path.dirname(dbops.__file__))", cwd=tmp_path)
    installed = Path(site.stdout.strip())
    assert (installed / "py.typed").is_file() and (installed / "_dbops.pyi").is_file()
    cli = run(python, "-m", "dbops", "--version", cwd=tmp_path)
    assert version in cli.stdout, cli.stdout
    helped = run(python, "-m", "dbops", "migrate", "--help", cwd=tmp_path)
    assert "up" in helped.stdout
