"""Backups and restores from Python: sync and async, encryption, errors, retention, cancellation."""

import asyncio
import signal
import threading
import time
import _thread
import uuid
from pathlib import Path
from typing import Any, Iterator, List, Optional, Tuple

import psycopg
import pytest

import dbops

MIGRATIONS = str(Path(__file__).resolve().parents[2] / "migrations")


@pytest.fixture
def seeded(dbops_admin_url: str) -> Iterator[Tuple[str, str]]:
    """A migrated and seeded database of its own (dropped afterwards)."""
    name = f"pybk_{uuid.uuid4().hex[:10]}"
    admin = psycopg.connect(dbops_admin_url, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    url = _with_database(dbops_admin_url, name)
    dbops.Migrator(url, MIGRATIONS).up()
    dbops.seed(url, "light")
    yield name, url
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def _with_database(url: str, name: str) -> str:
    head, _, tail = url.partition("?")
    base = head.rsplit("/", 1)[0]
    return f"{base}/{name}" + (f"?{tail}" if tail else "")


def _count(url: str, sql: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(sql).fetchone()
        assert row is not None
        return int(row[0])


def test_backup_list_validate_restore_and_retention(seeded: Tuple[str, str], tmp_path: Path) -> None:
    name, url = seeded
    store = f"file://{tmp_path}"
    keys = dbops.generate_key_pair()
    events: List[Tuple[Any, ...]] = []
    report = dbops.backup(url, store, recipients=[keys.recipient], labels={"by": "pytest"}, progress=lambda *e: events.append(e))
    assert isinstance(report, dbops.BackupReport)
    manifest = report.manifest
    assert isinstance(manifest, dbops.Manifest)
    assert manifest.database == name
    assert manifest.encryption.mode == "recipients"
    assert manifest.tables["public.rides"] == 9
    assert manifest.finished_at >= manifest.started_at and manifest.started_at.tzinfo is not None
    assert f"id={manifest.id!r}" in repr(report) and repr(report).startswith("BackupReport(")
    assert events and events[-1][0] == "uploaded"

    catalog = dbops.list_backups(store, name)
    assert isinstance(catalog, dbops.Catalog)
    assert [b.id for b in catalog.backups] == [manifest.id]
    assert catalog.backups[0].manifest == manifest

    validated: List[Tuple[str, int, Optional[int]]] = []
    checked = dbops.validate_backup(
        store, name, identity=keys.identity, progress=lambda *event: validated.append(event)
    )
    assert isinstance(checked, dbops.ValidationReport)
    assert checked.stored_bytes == manifest.stored_size() and checked.backup_id == manifest.id
    assert validated and validated[-1][1] == manifest.stored_size(), validated
    with pytest.raises(dbops.EncryptionError, match="identity"):
        dbops.validate_backup(store, name)
    with pytest.raises(dbops.IntegrityError):
        dbops.validate_backup(store, name, identity=dbops.generate_key_pair().identity)

    target = f"{name}_restored"
    restored = dbops.restore(url, store, into=target, create=True, identity=keys.identity)
    assert isinstance(restored, dbops.RestoreReport)
    assert restored.tables_checked == len(manifest.tables) and restored.database == target
    assert _count(_with_database(url, target), "SELECT count(*) FROM rides") == 9
    with pytest.raises(dbops.RefusedError, match="--clean"):
        dbops.restore(url, store, identity=keys.identity)
    with pytest.raises(dbops.BackupNotFoundError) as missing:
        dbops.restore(url, store, before="2001-01-01 00:00:00", into="never", create=True)
    assert missing.value.store is not None and str(tmp_path) in missing.value.store

    dbops.backup(url, store)
    plan = dbops.apply_retention(store, name, keep_last=1)
    assert isinstance(plan, dbops.RetentionPlan)
    assert len(plan.delete) == 1 and not plan.applied
    assert plan.keep[0].reasons and isinstance(plan.keep[0].backup, dbops.BackupEntry)
    plan = dbops.apply_retention(store, name, keep_last=1, apply=True)
    assert plan.applied
    assert len(dbops.list_backups(store, name).backups) == 1
    with pytest.raises(dbops.ConfigError, match="no rule"):
        dbops.apply_retention(store, name)


def test_async_backup_and_restore(seeded: Tuple[str, str]) -> None:
    name, url = seeded
    store = f"memory://{uuid.uuid4().hex}"

    async def run() -> Tuple[dbops.BackupReport, dbops.Catalog, dbops.RestoreReport]:
        report = await dbops.backup_async(url, store, compression="lz4", passphrase="s3cret")
        listed = await dbops.list_backups_async(store, name)
        restored = await dbops.restore_async(url, store, into=f"{name}_a", create=True, passphrase="s3cret")
        return report, listed, restored

    report, listed, restored = asyncio.run(run())
    assert listed.backups[0].id == report.manifest.id
    assert report.manifest.compression == "lz4" and report.manifest.encryption.mode == "passphrase"
    # One key for all the backup's objects, sealed with the passphrase in the manifest (version 4).
    sealed = report.manifest.encryption.sealed_identity
    assert sealed is not None and sealed.startswith("-----BEGIN AGE ENCRYPTED FILE-----")
    assert report.manifest.manifest_version == 4
    assert restored.created is True
    assert _count(_with_database(url, f"{name}_a"), "SELECT count(*) FROM users") == 11


def test_binary_copy_format_round_trip(seeded: Tuple[str, str]) -> None:
    name, url = seeded
    store = f"memory://{uuid.uuid4().hex}"
    report = dbops.backup(url, store, copy_format="binary")
    formats = {part.name: part.format for part in report.manifest.parts}
    assert formats["users"] == "binary" and report.manifest.manifest_version == 3
    dbops.restore(url, store, into=f"{name}_bin", create=True)
    query = "SELECT count(*) FROM users"
    assert _count(_with_database(url, f"{name}_bin"), query) == _count(url, query)
    with pytest.raises(dbops.ConfigError, match="binary"):
        dbops.backup(url, store, copy_format="hex")


def test_restore_test_runs_on_an_embedded_cluster(seeded: Tuple[str, str], tmp_path: Path) -> None:
    name, url = seeded
    store = f"file://{tmp_path}"
    dbops.backup(url, store)
    report = dbops.restore_test(store, name)
    assert isinstance(report, dbops.RestoreTestReport)
    assert report.server == "embedded"
    assert report.amcheck == "ok"
    assert report.tables_checked > 5


def test_bad_store_urls_raise_config_errors() -> None:
    with pytest.raises(dbops.ConfigError, match="unknown scheme"):
        dbops.list_backups("ftp://nowhere")
    with pytest.raises(dbops.ConfigError, match="credentials do not belong"):
        dbops.list_backups("s3://key:secret@bucket/x")


def test_ctrl_c_cancels_a_backup_and_publishes_nothing(seeded: Tuple[str, str], tmp_path: Path) -> None:
    name, url = seeded
    store = f"file://{tmp_path}"
    # pg_dump waits on this lock, so the backup is in flight when Ctrl-C arrives.
    blocker = psycopg.connect(url)
    blocker.execute("LOCK TABLE rides IN ACCESS EXCLUSIVE MODE")
    # interrupt_main does nothing while SIGINT is ignored, as it is for a test run started in the
    # background by a shell without job control: Ctrl-C's handler is installed for the test.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(1.0, _thread.interrupt_main)
    timer.start()
    started = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            dbops.backup(url, store)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert time.monotonic() - started < 10
    blocker.rollback()
    blocker.close()
    assert dbops.list_backups(store, name).backups == []
    # The interrupted call returned after its clean-up: the store lock is released already.
    leftovers = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert leftovers == [], leftovers
    # No pg_dump (or any other session of the cancelled backup, all named dbops) is left on this
    # database. (The sessions of this test's own checks may linger for a moment after they close.)
    sql = (
        f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid() "
        "AND application_name = 'dbops'"
    )
    deadline = time.monotonic() + 5
    while _count(url, sql) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _count(url, sql) == 0


async def test_async_validate_restore_test_and_retention(seeded: Tuple[str, str], tmp_path: Path) -> None:
    name, url = seeded
    store = f"file://{tmp_path}"
    first = await dbops.backup_async(url, store)
    second = await dbops.backup_async(url, store)
    assert first.manifest.id != second.manifest.id
    checked = await dbops.validate_backup_async(store, name, backup_id=first.manifest.id)
    assert isinstance(checked, dbops.ValidationReport)
    assert checked.backup_id == first.manifest.id and checked.stored_bytes == first.manifest.stored_size()
    with pytest.raises(dbops.BackupNotFoundError):
        await dbops.validate_backup_async(store, name, backup_id="no-such-backup")
    drill = await dbops.restore_test_async(store, name)
    assert isinstance(drill, dbops.RestoreTestReport)
    assert drill.backup_id == second.manifest.id and drill.server == "embedded" and drill.amcheck == "ok"
    assert drill.tested_at.tzinfo is not None
    plan = await dbops.apply_retention_async(store, name, keep_last=1, apply=True)
    assert isinstance(plan, dbops.RetentionPlan) and plan.applied
    assert [k.backup.id for k in plan.keep] == [second.manifest.id]
    assert [d.id for d in plan.delete] == [first.manifest.id]
    listed = await dbops.list_backups_async(store, name)
    assert [b.id for b in listed.backups] == [second.manifest.id]


async def test_a_cancelled_awaitable_backup_cleans_up(seeded: Tuple[str, str], tmp_path: Path) -> None:
    name, url = seeded
    store = f"file://{tmp_path}"
    blocker = psycopg.connect(url)
    blocker.execute("LOCK TABLE rides IN ACCESS EXCLUSIVE MODE")

    async def backup() -> dbops.BackupReport:
        return await dbops.backup_async(url, store)

    task = asyncio.create_task(backup())
    deadline = time.monotonic() + 10
    while not list(tmp_path.rglob(".lock")) and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert list(tmp_path.rglob(".lock")), "the backup never took its store lock"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert dbops.wait_for_cleanups(30) == 0
    blocker.rollback()
    blocker.close()
    leftovers = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert leftovers == [], leftovers
    assert dbops.list_backups(store, name).backups == []
