"""Backups and restores from Python: sync and async, encryption, errors, retention, cancellation."""

import asyncio
import threading
import time
import _thread
import uuid
from pathlib import Path

import psycopg
import pytest

import dbops

MIGRATIONS = str(Path(__file__).resolve().parents[2] / "migrations")


@pytest.fixture
def seeded(dbops_admin_url):
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
        return conn.execute(sql).fetchone()[0]


def test_backup_list_validate_restore_and_retention(seeded, tmp_path):
    name, url = seeded
    store = f"file://{tmp_path}"
    keys = dbops.generate_key_pair()
    events = []
    report = dbops.backup(url, store, recipients=[keys["recipient"]], labels={"by": "pytest"}, progress=lambda *e: events.append(e))
    manifest = report["manifest"]
    assert manifest["database"] == name
    assert manifest["encryption"]["mode"] == "recipients"
    assert manifest["tables"]["public.rides"] == 9
    assert events and events[-1][0] == "uploaded"

    catalog = dbops.list_backups(store, name)
    assert [b["id"] for b in catalog["backups"]] == [manifest["id"]]

    checked = dbops.validate_backup(store, name, identity=keys["identity"])
    assert checked["stored_bytes"] == manifest["data"]["size"]
    with pytest.raises(dbops.EncryptionError, match="identity"):
        dbops.validate_backup(store, name)
    with pytest.raises(dbops.IntegrityError):
        dbops.validate_backup(store, name, identity=dbops.generate_key_pair()["identity"])

    target = f"{name}_restored"
    restored = dbops.restore(url, store, into=target, create=True, identity=keys["identity"])
    assert restored["tables_checked"] == len(manifest["tables"])
    assert _count(_with_database(url, target), "SELECT count(*) FROM rides") == 9
    with pytest.raises(dbops.RefusedError, match="--clean"):
        dbops.restore(url, store, identity=keys["identity"])
    with pytest.raises(dbops.BackupNotFoundError):
        dbops.restore(url, store, before="2001-01-01 00:00:00", into="never", create=True)

    dbops.backup(url, store)
    plan = dbops.apply_retention(store, name, keep_last=1)
    assert len(plan["delete"]) == 1 and not plan["applied"]
    plan = dbops.apply_retention(store, name, keep_last=1, apply=True)
    assert plan["applied"]
    assert len(dbops.list_backups(store, name)["backups"]) == 1
    with pytest.raises(dbops.ConfigError, match="no rule"):
        dbops.apply_retention(store, name)


def test_async_backup_and_restore(seeded):
    name, url = seeded
    store = f"memory://{uuid.uuid4().hex}"

    async def run():
        report = await dbops.backup_async(url, store, compression="lz4", passphrase="s3cret")
        listed = await dbops.list_backups_async(store, name)
        restored = await dbops.restore_async(url, store, into=f"{name}_a", create=True, passphrase="s3cret")
        return report, listed, restored

    report, listed, restored = asyncio.run(run())
    assert listed["backups"][0]["id"] == report["manifest"]["id"]
    assert restored["created"] is True
    assert _count(_with_database(url, f"{name}_a"), "SELECT count(*) FROM users") == 11


def test_restore_test_runs_on_an_embedded_cluster(seeded, tmp_path):
    name, url = seeded
    store = f"file://{tmp_path}"
    dbops.backup(url, store)
    report = dbops.restore_test(store, name)
    assert report["server"] == "embedded"
    assert report["amcheck"] == "ok"
    assert report["tables_checked"] > 5


def test_bad_store_urls_raise_config_errors():
    with pytest.raises(dbops.ConfigError, match="unknown scheme"):
        dbops.list_backups("ftp://nowhere")
    with pytest.raises(dbops.ConfigError, match="credentials do not belong"):
        dbops.list_backups("s3://key:secret@bucket/x")


def test_ctrl_c_cancels_a_backup_and_publishes_nothing(seeded, tmp_path):
    name, url = seeded
    store = f"file://{tmp_path}"
    # pg_dump waits on this lock, so the backup is in flight when Ctrl-C arrives.
    blocker = psycopg.connect(url)
    blocker.execute("LOCK TABLE rides IN ACCESS EXCLUSIVE MODE")
    timer = threading.Timer(1.0, _thread.interrupt_main)
    timer.start()
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        dbops.backup(url, store)
    assert time.monotonic() - started < 10
    blocker.rollback()
    blocker.close()
    assert dbops.list_backups(store, name)["backups"] == []
    time.sleep(0.5)
    leftovers = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert leftovers == [], leftovers
    # No pg_dump (or any other session of the cancelled backup) is left on this database.
    sql = f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"
    deadline = time.monotonic() + 5
    while _count(url, sql) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _count(url, sql) == 0
