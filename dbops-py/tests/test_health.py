import pathlib
import threading
import time
from typing import List

import pytest

import psycopg

import dbops

MIGRATIONS = str(pathlib.Path(__file__).resolve().parents[2] / "migrations")


def test_readiness_needs_migrations(dbops_test_databases: dbops.TestDatabases) -> None:
    db = dbops_test_databases.create()
    probe = dbops.HealthProbe(db.url, cache_ttl=0)
    report = probe.ready()
    assert isinstance(report, dbops.HealthReport)
    assert report.status == "down"
    assert any(isinstance(c, dbops.CheckResult) and c.name == "migrations" and c.status == "down" for c in report.checks)
    dbops.Migrator(db.url, MIGRATIONS).up()
    report = probe.ready()
    assert report.status == "up", report
    assert report.migration == dbops.VersionState(version=8, dirty=False)
    assert repr(report).startswith("HealthReport(status='up'")
    assert probe.live().status == "up"
    assert dbops.HealthProbe(db.url, migrations=False).ready().status == "up"
    db.drop()


async def test_async_ready_and_live(dbops_test_databases: dbops.TestDatabases) -> None:
    db = dbops_test_databases.create()
    probe = dbops.HealthProbe(db.url, migrations=False)
    report = await probe.ready_async()
    assert report.status == "up" and all(c.status == "up" for c in report.checks)
    live = await probe.live_async()
    assert isinstance(live, dbops.HealthReport) and live.status == "up" and live.migration is None
    await db.drop_async()
    down = await dbops.HealthProbe(db.url, migrations=False, cache_ttl=0).ready_async()
    assert down.status == "down" and any(c.status == "down" for c in down.checks)


def test_status_and_terminate(dbops_test_databases: dbops.TestDatabases) -> None:
    db = dbops_test_databases.create()
    holder = psycopg.connect(db.url)
    pid = holder.info.backend_pid
    report = dbops.status(db.url, long_running=0.0)
    assert isinstance(report, dbops.DbStatus)
    assert report.database == db.name
    assert sum(c.count for c in report.connections) >= 2
    assert all(isinstance(t, dbops.TableSize) for t in report.largest_tables)
    assert isinstance(report.archiver, dbops.ArchiverInfo)
    assert dbops.terminate(db.url, pid) is True
    time.sleep(0.1)
    try:
        holder.execute("SELECT 1")
        terminated = False
    except psycopg.OperationalError:
        terminated = True
    assert terminated, "the terminated session still answered"
    holder.close()
    db.drop()


async def test_async_status_and_terminate(dbops_test_databases: dbops.TestDatabases) -> None:
    db = await dbops_test_databases.create_async()
    holder = psycopg.connect(db.url)
    pid = holder.info.backend_pid
    report = await dbops.status_async(db.url, long_running=0.0)
    assert isinstance(report, dbops.DbStatus) and report.database == db.name
    assert await dbops.terminate_async(db.url, pid) is True
    assert await dbops.terminate_async(db.url, 1) is False
    with pytest.raises(psycopg.OperationalError):
        for _ in range(50):
            holder.execute("SELECT 1")
            time.sleep(0.05)
    holder.close()
    await db.drop_async()


async def test_status_reports_blocked_sessions(dbops_test_databases: dbops.TestDatabases) -> None:
    db = await dbops_test_databases.create_async()
    holder = psycopg.connect(db.url)
    holder.execute("LOCK TABLE notes IN ACCESS EXCLUSIVE MODE")
    waiter = psycopg.connect(db.url, autocommit=True)
    thread = threading.Thread(target=lambda: waiter.execute("SELECT count(*) FROM notes"))
    thread.start()
    try:
        blocked: List[dbops.Session] = []
        for _ in range(100):
            report = await dbops.status_async(db.url, long_running=0.0)
            blocked = report.blocked
            if blocked:
                break
            time.sleep(0.05)
        assert len(blocked) == 1 and isinstance(blocked[0], dbops.Session)
        assert blocked[0].pid == waiter.info.backend_pid
        assert blocked[0].blocked_by == [holder.info.backend_pid]
        assert blocked[0].wait_event is not None and blocked[0].wait_event.startswith("Lock:")
        assert "FROM notes" in blocked[0].query and blocked[0].database == db.name
        assert any(s.pid == waiter.info.backend_pid for s in report.long_running)
        assert f"pid={waiter.info.backend_pid}" in repr(blocked[0])
    finally:
        holder.rollback()
        thread.join(10)
        holder.close()
        waiter.close()
    await db.drop_async()
