"""The pytest plugin as a project uses it: configured from pyproject.toml, a migrated and seeded fresh
database per test (run in a separate pytest process, with the installed plugin)."""

from pathlib import Path

import pytest

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"

pytest_plugins = ["pytester"]


def test_plugin_builds_the_template_from_pyproject_options(pytester: pytest.Pytester) -> None:
    pytester.makefile(".sql", fixtures="INSERT INTO promo_codes (code, discount_percent) VALUES ('FROMFILE', 10);")
    pytester.makepyprojecttoml(
        f"""
        [tool.pytest.ini_options]
        dbops_migrations = "{MIGRATIONS}"
        dbops_seed = "light"
        dbops_setup_files = ["fixtures.sql"]
        dbops_spares = "1"
        """
    )
    pytester.makepyfile(
        test_project="""
        import psycopg

        def count(url, sql):
            with psycopg.connect(url) as conn:
                return conn.execute(sql).fetchone()[0]

        def test_first(dbops_db, dbops_url):
            assert dbops_url == dbops_db.url
            assert count(dbops_url, "SELECT version FROM schema_migrations") == 8
            assert count(dbops_url, "SELECT count(*) FROM users") == 11
            assert count(dbops_url, "SELECT count(*) FROM promo_codes WHERE code = 'FROMFILE'") == 1
            with psycopg.connect(dbops_url) as conn:
                conn.execute("DELETE FROM payments")

        def test_second_gets_a_fresh_copy(dbops_url):
            assert count(dbops_url, "SELECT count(*) FROM payments") == 5
        """
    )
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


@pytest.mark.parametrize("major", ["14", "17"])
def test_plugin_runs_the_postgresql_major_of_dbops_pg_major(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, major: str
) -> None:
    monkeypatch.setenv("DBOPS_PG_MAJOR", major)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    pytester.makepyfile(
        test_major=f"""
        import psycopg

        def test_major(dbops_url):
            with psycopg.connect(dbops_url) as conn:
                number = conn.execute("SHOW server_version_num").fetchone()[0]
            assert int(number) // 10000 == {major}
        """
    )
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
