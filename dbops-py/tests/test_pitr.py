"""Point-in-time recovery from Python: archive through `dbops wal push`, base backup, restore point,
accidental deletion, restore to the restore point on a new data directory."""

import os
import shutil
import tempfile
import subprocess
import sys
import time
from pathlib import Path

import psycopg

import dbops


def _shared(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o777)
    return path


ROOT = Path(__file__).resolve().parents[2]


def _dbops_program(tmp: Path) -> str:
    """The `dbops` CLI binary for archive_command/restore_command. The server may run as another OS
    account (postgres, when tests run as root) that cannot reach this interpreter, so use the compiled
    binary (built here if the Rust tests have not built it yet)."""
    binary = ROOT / "target" / "debug" / "dbops"
    if not binary.exists():
        subprocess.run(["cargo", "build", "-q", "-p", "dbops-core", "--bin", "dbops"], cwd=ROOT, check=True)
    return str(binary)


def test_restore_to_a_restore_point():
    # Not pytest's tmp_path: its parents are private to this user, and the server's OS account
    # (postgres, when tests run as root) must reach the archive.
    tmp = _shared(Path(tempfile.mkdtemp(prefix="dbops-pitr-")))
    archive = _shared(tmp / "archive")
    store = f"file://{archive}"
    program = _dbops_program(tmp)
    settings = {
        "wal_level": "replica",
        "archive_mode": "on",
        "archive_command": f"{program} -q wal push --store {store} %p",
    }
    with dbops.TempCluster.start(settings=settings) as cluster:
        with psycopg.connect(cluster.url, autocommit=True) as conn:
            conn.execute("CREATE TABLE drivers (id int)")
            conn.execute("INSERT INTO drivers SELECT generate_series(1, 50)")
            base = dbops.pitr.base_backup(cluster.url, store)
            conn.execute("INSERT INTO drivers SELECT generate_series(51, 60)")
            lsn = dbops.pitr.restore_point(cluster.url, "before_delete")
            assert "/" in lsn
            conn.execute("DELETE FROM drivers")
            segment = conn.execute("SELECT pg_walfile_name(pg_current_wal_lsn())").fetchone()[0]
            conn.execute("SELECT pg_switch_wal()")
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                last = conn.execute("SELECT last_archived_wal FROM pg_stat_archiver").fetchone()[0]
                if last and last >= segment:
                    break
                time.sleep(0.05)
        status = dbops.pitr.status(store, cluster.url)
        assert status["problems"] == [] and status["base_backups"][0]["id"] == base["id"]

    data_dir = tmp / "restored"
    report = dbops.pitr.restore(store, str(data_dir), restore_point="before_delete", dbops_program=program)
    assert report["base_backup"] == base["id"] and report["verified"] == "ok"
    with dbops.TempCluster.start(data_dir=str(data_dir)) as restored:
        dbops.pitr.wait_for_promotion(restored.url, 120)
        with psycopg.connect(restored.url) as conn:
            assert conn.execute("SELECT count(*) FROM drivers").fetchone()[0] == 60
    # A non-empty directory is refused.
    try:
        dbops.pitr.restore(store, str(data_dir))
        raise AssertionError("restore into a non-empty directory must be refused")
    except dbops.RefusedError as e:
        assert "not empty" in str(e)
    plan = dbops.pitr.prune(store, 1)
    assert plan["keep"] == [base["id"]] and not plan["applied"]
    shutil.rmtree(tmp, ignore_errors=True)
