"""pytest fixtures: one embedded cluster per session, a fresh migrated (and optionally seeded) database
per test, cloned from a template in milliseconds.

Enabled automatically when dbops is installed (entry point ``pytest11``). Configure it in
``pyproject.toml`` (``[tool.pytest.ini_options]``) or ``pytest.ini``::

    dbops_migrations = "migrations"          # applied to the template (relative to the rootdir)
    dbops_seed = "light"                     # light, medium or heavy (empty: no seed)
    dbops_seed_scale = "1"
    dbops_setup_files = ["tests/fixtures.sql"]  # SQL run in the template after migrations and seed
    dbops_spares = "2"                       # clones prepared ahead in the background

Set ``DBOPS_DATABASE_URL`` to use an existing server instead of the embedded cluster. Fixtures:
``dbops_cluster`` (session), ``dbops_test_databases`` (session), ``dbops_db`` (a fresh database per
test, dropped afterwards), ``dbops_url`` (its URL). Override ``dbops_setup_sql`` in a conftest to add
SQL of your own to the template.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator, List, Optional

import pytest

from ._dbops import TempCluster, TestDatabase, TestDatabases


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("dbops_migrations", "dbops: migrations directory applied to the test template", default="")
    parser.addini("dbops_seed", "dbops: seed profile of the test template (light, medium, heavy)", default="")
    parser.addini("dbops_seed_scale", "dbops: scale of the seed profile", default="1")
    parser.addini("dbops_setup_files", "dbops: SQL files run in the test template", type="paths", default=[])
    parser.addini("dbops_spares", "dbops: clones prepared ahead in the background", default="2")


def _relative(config: pytest.Config, value: str) -> str:
    path = Path(value)
    return str(path if path.is_absolute() else Path(config.rootpath) / path)


@pytest.fixture(scope="session")
def dbops_cluster() -> Iterator[Optional[TempCluster]]:
    """The session's embedded cluster (``None`` when ``DBOPS_DATABASE_URL`` is set)."""
    if os.environ.get("DBOPS_DATABASE_URL"):
        yield None
        return
    cluster = TempCluster.start(in_memory=True)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def dbops_admin_url(dbops_cluster: Optional[TempCluster]) -> str:
    """A superuser URL of the server the test databases live on."""
    if dbops_cluster is None:
        return os.environ["DBOPS_DATABASE_URL"]
    return dbops_cluster.url


@pytest.fixture(scope="session")
def dbops_setup_sql(pytestconfig: pytest.Config) -> List[str]:
    """SQL run in the template after migrations and seed: the ``dbops_setup_files``; override to add your own."""
    files: List[Path] = pytestconfig.getini("dbops_setup_files")
    return [Path(f).read_text() for f in files]


@pytest.fixture(scope="session")
def dbops_test_databases(
    pytestconfig: pytest.Config, dbops_admin_url: str, dbops_setup_sql: List[str]
) -> TestDatabases:
    """The template (migrated, seeded, set up as configured) and its clone factory for this session."""
    migrations: str = pytestconfig.getini("dbops_migrations")
    seed: str = pytestconfig.getini("dbops_seed")
    return TestDatabases.build(
        dbops_admin_url,
        dbops_setup_sql,
        migrations=_relative(pytestconfig, migrations) if migrations else None,
        seed=seed or None,
        seed_scale=int(pytestconfig.getini("dbops_seed_scale")),
        spares=int(pytestconfig.getini("dbops_spares")),
    )


@pytest.fixture
def dbops_db(dbops_test_databases: TestDatabases) -> Iterator[TestDatabase]:
    """A fresh database cloned from the template, dropped after the test."""
    db = dbops_test_databases.create()
    try:
        yield db
    finally:
        db.drop()


@pytest.fixture
def dbops_url(dbops_db: TestDatabase) -> str:
    """The URL of this test's fresh database."""
    return dbops_db.url
