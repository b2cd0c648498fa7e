"""The Python examples in examples/python run the guide's workflows end to end."""

import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Dict, Tuple

import psycopg

import dbops

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "python"


def _run(script: str, *args: str, env: Dict[str, str]) -> "subprocess.CompletedProcess[str]":
    return subprocess.run([sys.executable, str(EXAMPLES / script), *args], env=env, capture_output=True, text=True, timeout=300)


def _database(admin_url: str) -> Tuple[str, str]:
    name = f"pyex_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    head, _, tail = admin_url.partition("?")
    return name, f"{head.rsplit('/', 1)[0]}/{name}" + (f"?{tail}" if tail else "")


def test_migrate_nightly_backup_and_restore_drill(dbops_admin_url: str, tmp_path: Path) -> None:
    name, url = _database(dbops_admin_url)
    env = dict(os.environ, DATABASE_URL=url, DBOPS_STORE=f"file://{tmp_path}/store", DBOPS_DATABASE=name)
    env["DBOPS_METRICS_FILE"] = str(tmp_path / "dbops.prom")

    out = _run("migrate_in_ci.py", str(ROOT / "migrations"), env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "round trip ok" in out.stdout and "applied" in out.stdout
    dbops.seed(url, "light")

    # No restore drill yet: the health check warns (exit 1) but the backup itself worked.
    out = _run("nightly_backup.py", env=env)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "backup " in out.stdout and "health: warn" in out.stdout
    assert 'dbops_backups{database="' + name + '"} 1' in (tmp_path / "dbops.prom").read_text()

    out = _run("restore_drill.py", env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "restore test passed" in out.stdout and "pg_amcheck ok" in out.stdout

    out = _run("nightly_backup.py", env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "health: ok" in out.stdout
    with psycopg.connect(dbops_admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
