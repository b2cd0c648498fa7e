import pathlib
import time

import psycopg

import dbops

MIGRATIONS = str(pathlib.Path(__file__).resolve().parents[2] / "migrations")


def test_readiness_needs_migrations(dbops_test_databases):
    db = dbops_test_databases.create()
    probe = dbops.HealthProbe(db.url, cache_ttl=0)
    report = probe.ready()
    assert report["status"] == "down"
    assert any(c["name"] == "migrations" and c["status"] == "down" for c in report["checks"])
    dbops.Migrator(db.url, MIGRATIONS).up()
    report = probe.ready()
    assert report["status"] == "up", report
    assert report["migration"] == {"version": 8, "dirty": False}
    assert probe.live()["status"] == "up"
    assert dbops.HealthProbe(db.url, migrations=False).ready()["status"] == "up"
    db.drop()


async def test_async_ready(dbops_test_databases):
    db = dbops_test_databases.create()
    report = await dbops.HealthProbe(db.url, migrations=False).ready_async()
    assert report["status"] == "up"
    db.drop()


def test_status_and_terminate(dbops_test_databases):
    db = dbops_test_databases.create()
    holder = psycopg.connect(db.url)
    pid = holder.info.backend_pid
    report = dbops.status(db.url, long_running=0.0)
    assert report["database"] == db.name
    assert sum(c["count"] for c in report["connections"]) >= 2
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
