"""Point-in-time recovery from Python: archive through `dbops wal push`, base backup, restore point,
accidental deletion, restore to the restore point on a new data directory."""

import os
import shutil
import tempfile
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict

import psycopg
import pytest

import dbops


def _shared(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o777)
    return path


ROOT = Path(__file__).resolve().parents[2]


def _dbops_program() -> str:
    """The `dbops` CLI binary for archive_command/restore_command. The server may run as another OS
    account (postgres, when tests run as root) that cannot reach this interpreter, so use the compiled
    binary (built here if the Rust tests have not built it yet)."""
    binary = ROOT / "target" / "debug" / "dbops"
    if not binary.exists():
        subprocess.run(["cargo", "build", "-q", "-p", "dbops-cli", "--bin", "dbops"], cwd=ROOT, check=True)
    return str(binary)


def _switch_and_wait_archived(conn: "psycopg.Connection[tuple[object, ...]]") -> None:
    """Switches WAL and waits until the archiver has archived the segment that was current."""
    row = conn.execute("SELECT pg_walfile_name(pg_current_wal_lsn())").fetchone()
    assert row is not None
    segment = str(row[0])
    conn.execute("SELECT pg_switch_wal()")
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        last = conn.execute("SELECT last_archived_wal FROM pg_stat_archiver").fetchone()
        if last is not None and last[0] and str(last[0]) >= segment:
            return
        time.sleep(0.05)
    raise AssertionError(f"{segment} was not archived in time")


def _archiving(store: str, program: str) -> Dict[str, str]:
    command = dbops.pitr.archive_command(store, dbops_program=program)
    return {"wal_level": "replica", "archive_mode": "on", "archive_command": command}


def test_restore_to_a_restore_point() -> None:
    # Not pytest's tmp_path: its parents are private to this user, and the server's OS account
    # (postgres, when tests run as root) must reach the archive.
    tmp = _shared(Path(tempfile.mkdtemp(prefix="dbops-pitr-")))
    archive = _shared(tmp / "archive")
    store = f"file://{archive}"
    program = _dbops_program()
    with dbops.TempCluster.start(settings=_archiving(store, program)) as cluster:
        with psycopg.connect(cluster.url, autocommit=True) as conn:
            conn.execute("CREATE TABLE drivers (id int)")
            conn.execute("INSERT INTO drivers SELECT generate_series(1, 50)")
            base = dbops.pitr.base_backup(cluster.url, store)
            conn.execute("INSERT INTO drivers SELECT generate_series(51, 60)")
            lsn = dbops.pitr.restore_point(cluster.url, "before_delete")
            assert "/" in lsn
            conn.execute("DELETE FROM drivers")
            _switch_and_wait_archived(conn)
        status = dbops.pitr.status(store, cluster.url)
        assert status.problems == [] and status.base_backups[0].id == base.id

    data_dir = tmp / "restored"
    report = dbops.pitr.restore(store, str(data_dir), restore_point="before_delete", dbops_program=program)
    assert report.base_backup == base.id and report.verified == "ok"
    with dbops.TempCluster.start(data_dir=str(data_dir)) as restored:
        dbops.pitr.wait_for_promotion(restored.url, 120)
        with psycopg.connect(restored.url) as conn:
            assert conn.execute("SELECT count(*) FROM drivers").fetchone() == (60,)
    # A non-empty directory is refused.
    try:
        dbops.pitr.restore(store, str(data_dir))
        raise AssertionError("restore into a non-empty directory must be refused")
    except dbops.RefusedError as e:
        assert "not empty" in str(e)
    plan = dbops.pitr.prune(store, 1)
    assert plan.keep == [base.id] and not plan.applied
    shutil.rmtree(tmp, ignore_errors=True)


async def test_async_pitr_functions() -> None:
    tmp = _shared(Path(tempfile.mkdtemp(prefix="dbops-apitr-")))
    archive = _shared(tmp / "archive")
    store = f"file://{archive}"
    program = _dbops_program()
    settings = _archiving(store, program)
    cluster = await dbops.TempCluster.start_async(settings=settings)
    try:
        items = await dbops.pitr.setup_async(cluster.url, store, dbops_program=program)
        assert all(isinstance(i, dbops.SetupItem) for i in items)
        by_name = {i.name: i for i in items}
        assert by_name["archive_command"].current == settings["archive_command"]
        assert by_name["wal_level"].current == "replica" and by_name["archive_mode"].current == "on"
        with psycopg.connect(cluster.url, autocommit=True) as conn:
            conn.execute("CREATE TABLE drivers (id int)")
            conn.execute("INSERT INTO drivers SELECT generate_series(1, 20)")
            base = await dbops.pitr.base_backup_async(cluster.url, store)
            assert isinstance(base, dbops.BaseBackup) and base.timeline == 1
            assert base.started_at <= base.finished_at and base.data.size > 0
            lsn = await dbops.pitr.restore_point_async(cluster.url, "async_point")
            assert "/" in lsn
            conn.execute("INSERT INTO drivers SELECT generate_series(21, 30)")
            _switch_and_wait_archived(conn)
        status = await dbops.pitr.status_async(store, cluster.url)
        assert isinstance(status, dbops.PitrStatus) and status.problems == [], status.problems
        assert status.archiver is not None and status.archiver.archive_mode == "on"
        assert [b.id for b in status.base_backups] == [base.id]
        timeline = status.timelines[0]
        assert isinstance(timeline, dbops.TimelineStatus) and timeline.segments >= 2 and timeline.first
        assert status.recovery_window is not None and status.recovery_window[0] <= status.recovery_window[1]

        # Fetch an archived segment, then push it into a second archive.
        fetched_dir = _shared(tmp / "fetched")
        fetched = await dbops.pitr.fetch_async(store, timeline.first, str(fetched_dir / timeline.first))
        assert isinstance(fetched, dbops.FetchReport) and fetched.found and fetched.name == timeline.first
        assert (fetched_dir / timeline.first).stat().st_size == base.wal_segment_size
        missing = await dbops.pitr.fetch_async(store, "0000000100000000000000FF", str(fetched_dir / "0000000100000000000000FF"))
        assert missing.found is False
        second = f"file://{_shared(tmp / 'second')}"
        pushed = await dbops.pitr.push_async(second, str(fetched_dir / timeline.first))
        assert isinstance(pushed, dbops.PushReport)
        assert pushed.name == timeline.first and pushed.size == base.wal_segment_size and pushed.stored > 0

        plan = await dbops.pitr.prune_async(store, 1)
        assert isinstance(plan, dbops.PitrRetentionPlan) and plan.keep == [base.id] and not plan.applied
    finally:
        await cluster.stop_async()

    data_dir = tmp / "restored"
    report = await dbops.pitr.restore_async(store, str(data_dir), restore_point="async_point", dbops_program=program)
    assert isinstance(report, dbops.RecoveryReport) and report.base_backup == base.id
    assert report.target == dbops.RecoveryTarget(kind="restore_point", value="async_point")
    restored = await dbops.TempCluster.start_async(data_dir=str(data_dir))
    try:
        await dbops.pitr.wait_for_promotion_async(restored.url, 120)
        with psycopg.connect(restored.url) as conn:
            assert conn.execute("SELECT count(*) FROM drivers").fetchone() == (20,)
    finally:
        await restored.stop_async()
    shutil.rmtree(tmp, ignore_errors=True)


def test_archive_and_restore_commands_are_built_quoted_and_refuse_credentials() -> None:
    keys = dbops.generate_key_pair()
    command = dbops.pitr.archive_command(
        "s3://acme-wal/my prefix;rm -rf $HOME",
        store_options={"aws_region": "eu-west-1"},
        recipients=[keys.recipient],
        dbops_program="/opt/db ops/dbops",
    )
    assert command == (
        "'/opt/db ops/dbops' wal push --store 's3://acme-wal/my%%20prefix;rm%%20-rf%%20$HOME' "
        f"--store-option aws_region=eu-west-1 --recipient {keys.recipient} %p"
    )
    restore = dbops.pitr.restore_command("/srv/wal", identity_file="/etc/dbops/key.txt", dbops_program="dbops")
    assert restore == "dbops wal fetch --store file:///srv/wal/ --identity /etc/dbops/key.txt %f %p"
    with pytest.raises(dbops.ConfigError) as refused:
        dbops.pitr.archive_command("s3://b/p", store_options={"aws_secret_access_key": "SUPERSECRET"})
    assert "SUPERSECRET" not in str(refused.value) and "AWS_SECRET_ACCESS_KEY" in str(refused.value)
    with pytest.raises(dbops.ConfigError):
        dbops.pitr.archive_command("/srv/wal", recipients=[keys.recipient], passphrase_env="WAL_PASS")


def test_setup_builds_the_command_with_encryption() -> None:
    keys = dbops.generate_key_pair()
    with dbops.TempCluster.start(settings={"wal_level": "replica", "archive_mode": "on"}) as cluster:
        items = dbops.pitr.setup(cluster.url, "/srv/wal archive", recipients=[keys.recipient], level=3)
        wanted = {i.name: i.wanted for i in items}
        assert keys.recipient in wanted["archive_command"]
        assert "--store 'file:///srv/wal%%20archive/'" in wanted["archive_command"]
        items = dbops.pitr.setup(cluster.url, "/srv/wal", passphrase_env="DBOPS_PY_TEST_NOT_SET")
        env = next(i for i in items if i.name == "environment DBOPS_PY_TEST_NOT_SET")
        assert env.current == "not set" and env.needs_restart
        with pytest.raises(dbops.RefusedError, match="DBOPS_PY_TEST_NOT_SET"):
            dbops.pitr.setup(cluster.url, "/srv/wal", passphrase_env="DBOPS_PY_TEST_NOT_SET", apply=True)


def test_incremental_base_backups_restore_as_a_chain() -> None:
    tmp = _shared(Path(tempfile.mkdtemp(prefix="dbops-incr-")))
    archive = _shared(tmp / "archive")
    store = f"file://{archive}"
    program = _dbops_program()
    settings = {**_archiving(store, program), "summarize_wal": "on"}
    with dbops.TempCluster.start(settings=settings, major=18) as cluster:
        with psycopg.connect(cluster.url, autocommit=True) as conn:
            conn.execute("CREATE TABLE drivers (id int)")
            conn.execute("INSERT INTO drivers SELECT generate_series(1, 50)")
            full = dbops.pitr.base_backup(cluster.url, store, incremental=True)
            conn.execute("INSERT INTO drivers SELECT generate_series(51, 60)")
            incremental = dbops.pitr.base_backup(cluster.url, store, incremental=True)
            assert full.parent is None and incremental.parent == full.id
            assert incremental.manifest is not None and incremental.data.size < full.data.size
            dbops.pitr.restore_point(cluster.url, "after_incremental")
            conn.execute("DELETE FROM drivers")
            _switch_and_wait_archived(conn)
    verified = dbops.pitr.verify(store)
    assert [(b.id, b.parent) for b in verified] == [(full.id, None), (incremental.id, full.id)]
    assert all(isinstance(b, dbops.VerifiedBaseBackup) and b.bytes > 0 for b in verified)
    data_dir = tmp / "restored"
    report = dbops.pitr.restore(store, str(data_dir), restore_point="after_incremental", dbops_program=program)
    assert report.chain == [full.id, incremental.id] and report.verified == "ok"
    with dbops.TempCluster.start(data_dir=str(data_dir)) as restored:
        dbops.pitr.wait_for_promotion(restored.url, 120)
        with psycopg.connect(restored.url) as conn:
            assert conn.execute("SELECT count(*) FROM drivers").fetchone() == (60,)
    shutil.rmtree(tmp, ignore_errors=True)


def test_incremental_needs_postgresql_17_unless_full_is_allowed(tmp_path: Path) -> None:
    archive = _shared(Path(tempfile.mkdtemp(prefix="dbops-incr16-")))
    store = f"file://{archive}"
    with dbops.TempCluster.start(settings={"wal_level": "replica"}, major=16) as cluster:
        with pytest.raises(dbops.RefusedError) as refused:
            dbops.pitr.base_backup(cluster.url, store, incremental=True)
        assert "PostgreSQL 17 or later" in str(refused.value)
        base = dbops.pitr.base_backup(cluster.url, store, incremental=True, full_if_unsupported=True)
        assert base.parent is None
    shutil.rmtree(archive, ignore_errors=True)
