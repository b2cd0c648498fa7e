import pathlib

import psycopg
import pytest

import dbops

MIGRATIONS = str(pathlib.Path(__file__).resolve().parents[2] / "migrations")


@pytest.fixture
def migrated(dbops_test_databases):
    db = dbops_test_databases.create()
    dbops.Migrator(db.url, MIGRATIONS).up()
    yield db
    db.drop()


def test_seed_light_and_refusal(migrated):
    report = dbops.seed(migrated.url, "light")
    assert dict((t, n) for t, n in report["tables"])["rides"] == 9
    with psycopg.connect(migrated.url) as conn:
        assert conn.execute("SELECT count(*) FROM users").fetchone()[0] == 11
    with pytest.raises(dbops.RefusedError) as info:
        dbops.seed(migrated.url, "light")
    assert "--append" in str(info.value)
    dbops.seed(migrated.url, "light", existing="truncate")
    with pytest.raises(ValueError):
        dbops.seed(migrated.url, "light", existing="sometimes")


async def test_seed_async(migrated):
    report = await dbops.seed_async(migrated.url, "medium", seed=3)
    assert report["rows"] > 1000


def test_seed_file_errors_name_the_line(migrated, tmp_path):
    bad = tmp_path / "bad.sql"
    bad.write_text("SELECT 1;\nSELECT * FROM nowhere;")
    with pytest.raises(dbops.MigrationError) as info:
        dbops.seed_file(migrated.url, str(bad))
    assert "bad.sql" in str(info.value) and "line 2" in str(info.value)


def test_reset_guard(dbops_admin_url):
    url = dbops_admin_url.replace("/postgres?", "/orders_production?")
    with pytest.raises(dbops.RefusedError) as info:
        dbops.reset(url, MIGRATIONS)
    assert "looks like production" in str(info.value)
