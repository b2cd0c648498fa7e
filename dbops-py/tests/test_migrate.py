import os
import pathlib

import psycopg
import pytest

import dbops

MIGRATIONS = str(pathlib.Path(__file__).resolve().parents[2] / "migrations")


def test_reference_schema_up_status_down(dbops_test_databases):
    db = dbops_test_databases.create()
    events = []
    migrator = dbops.Migrator(db.url, MIGRATIONS, progress=lambda stage, done, total: events.append((stage, done, total)))
    report = migrator.up()
    assert report["from"] is None and report["to"] == 8
    assert [step["version"] for step in report["applied"]] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert events and events[-1] == ("done", 8, 8)
    assert migrator.version() == {"version": 8, "dirty": False}
    assert all(s["state"] == "applied" for s in migrator.status())
    assert migrator.down(2)["to"] == 6
    assert migrator.plan()[0]["version"] == 7
    migrator.down(all=True)
    assert migrator.version() is None
    db.drop()


async def test_async_up(dbops_test_databases):
    db = dbops_test_databases.create()
    report = await dbops.Migrator(db.url, MIGRATIONS).up_async(to=2)
    assert report["to"] == 2
    assert (await dbops.Migrator(db.url, MIGRATIONS).version_async())["version"] == 2
    db.drop()


def test_failures_raise_typed_errors(dbops_test_databases, tmp_path):
    db = dbops_test_databases.create()
    (tmp_path / "1_a.up.sql").write_text("CREATE INDEX CONCURRENTLY x ON nope (id);")
    with pytest.raises(dbops.MigrationError) as info:
        dbops.Migrator(db.url, str(tmp_path)).up()
    assert "1_a.up.sql" in str(info.value) and "dirty" in str(info.value)
    with pytest.raises(dbops.DirtyDatabaseError) as info:
        dbops.Migrator(db.url, str(tmp_path)).up()
    assert "force" in str(info.value)
    (tmp_path / "bad name.up.sql").write_text("SELECT 1")
    with pytest.raises(dbops.MigrationSourceError):
        dbops.Migrator(db.url, str(tmp_path))
    db.drop()


def test_lint_verify_and_create(dbops_admin_url, tmp_path):
    assert dbops.lint(MIGRATIONS) == []
    report = dbops.verify(dbops_admin_url, MIGRATIONS)
    assert report["passed"] is True
    assert len(report["migrations"]) == 8
    up, down = dbops.create_migration(str(tmp_path), "add tips")
    assert os.path.basename(up) == "000001_add_tips.up.sql" and os.path.exists(down)
