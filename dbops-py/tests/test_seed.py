import pathlib
import uuid
from typing import Any, Iterator, List, Tuple

import psycopg
import pytest

import dbops

MIGRATIONS = str(pathlib.Path(__file__).resolve().parents[2] / "migrations")


@pytest.fixture
def migrated(dbops_test_databases: dbops.TestDatabases) -> Iterator[dbops.TestDatabase]:
    db = dbops_test_databases.create()
    dbops.Migrator(db.url, MIGRATIONS).up()
    yield db
    db.drop()


def test_seed_light_and_refusal(migrated: dbops.TestDatabase) -> None:
    report = dbops.seed(migrated.url, "light")
    assert isinstance(report, dbops.SeedReport)
    assert dict(report.tables)["rides"] == 9 and report.rows == sum(n for _, n in report.tables)
    assert all(isinstance(t, tuple) for t in report.tables)
    with psycopg.connect(migrated.url) as conn:
        assert conn.execute("SELECT count(*) FROM users").fetchone() == (11,)
    with pytest.raises(dbops.RefusedError) as info:
        dbops.seed(migrated.url, "light")
    assert "--append" in str(info.value)
    dbops.seed(migrated.url, "light", existing="truncate")
    with pytest.raises(dbops.ConfigError, match="sometimes"):
        dbops.seed(migrated.url, "light", existing="sometimes")


async def test_seed_async(migrated: dbops.TestDatabase) -> None:
    events: List[Tuple[Any, ...]] = []
    report = await dbops.seed_async(migrated.url, "medium", seed=3, progress=lambda *e: events.append(e))
    assert report.rows > 1000 and events


def test_seed_file_errors_name_the_line(migrated: dbops.TestDatabase, tmp_path: pathlib.Path) -> None:
    bad = tmp_path / "bad.sql"
    bad.write_text("SELECT 1;\nSELECT * FROM nowhere;")
    with pytest.raises(dbops.MigrationError) as info:
        dbops.seed_file(migrated.url, str(bad))
    assert "bad.sql" in str(info.value) and "line 2" in str(info.value)


def test_reset_guard(dbops_admin_url: str) -> None:
    url = dbops_admin_url.replace("/postgres?", "/orders_production?")
    with pytest.raises(dbops.RefusedError) as info:
        dbops.reset(url, MIGRATIONS)
    assert "looks like production" in str(info.value)


async def test_seed_file_async(migrated: dbops.TestDatabase, tmp_path: pathlib.Path) -> None:
    good = tmp_path / "promo.sql"
    good.write_text("INSERT INTO promo_codes (code, discount_percent) VALUES ('PY10', 10);\nSELECT 1;")
    report = await dbops.seed_file_async(migrated.url, str(good))
    assert isinstance(report, dbops.SeedFileReport)
    assert report.file.endswith("promo.sql") and report.statements == 2 and report.transactional
    assert repr(report).startswith("SeedFileReport(file=")
    with psycopg.connect(migrated.url) as conn:
        assert conn.execute("SELECT count(*) FROM promo_codes WHERE code = 'PY10'").fetchone() == (1,)
    bad = tmp_path / "bad.sql"
    bad.write_text("SELECT * FROM nowhere;")
    with pytest.raises(dbops.MigrationError):
        await dbops.seed_file_async(migrated.url, str(bad))


async def test_reset_async(dbops_admin_url: str) -> None:
    name = f"pyreset_{uuid.uuid4().hex[:8]}"
    head, _, tail = dbops_admin_url.partition("?")
    url = f"{head.rsplit('/', 1)[0]}/{name}" + (f"?{tail}" if tail else "")
    with psycopg.connect(dbops_admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE leftover (id int)")
    report = await dbops.reset_async(url, MIGRATIONS, seed="light")
    assert isinstance(report, dbops.ResetReport)
    assert report.database == name and report.dropped
    assert isinstance(report.migrations, dbops.MigrateReport) and report.migrations.to == 8
    assert report.seed is not None and dict(report.seed.tables)["rides"] == 9
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT to_regclass('leftover') IS NULL").fetchone() == (True,)
        assert conn.execute("SELECT count(*) FROM users").fetchone() == (11,)
    with psycopg.connect(dbops_admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
