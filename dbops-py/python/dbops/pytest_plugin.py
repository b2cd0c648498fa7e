"""pytest fixtures: one embedded cluster per session, a fresh cloned database per test.

Enabled automatically when dbops is installed (entry point ``pytest11``). Set ``DBOPS_DATABASE_URL``
to use an existing server instead of the embedded cluster. Override ``dbops_setup_sql`` in a
conftest to build the template from your own SQL.
"""

from __future__ import annotations

import os
from typing import Iterator, List, Optional

import pytest

from ._dbops import TempCluster, TestDatabase, TestDatabases


@pytest.fixture(scope="session")
def dbops_cluster() -> Iterator[Optional[TempCluster]]:
    """The session's embedded cluster (``None`` when ``DBOPS_DATABASE_URL`` is set)."""
    if os.environ.get("DBOPS_DATABASE_URL"):
        yield None
        return
    cluster = TempCluster.start()
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
def dbops_setup_sql() -> List[str]:
    """SQL run once in the template; override to load your schema."""
    return []


@pytest.fixture(scope="session")
def dbops_test_databases(dbops_admin_url: str, dbops_setup_sql: List[str]) -> TestDatabases:
    """The template and clone factory for this session."""
    return TestDatabases.build(dbops_admin_url, dbops_setup_sql)


@pytest.fixture
def dbops_database(dbops_test_databases: TestDatabases) -> Iterator[TestDatabase]:
    """A fresh database cloned from the template, dropped after the test."""
    db = dbops_test_databases.create()
    try:
        yield db
    finally:
        db.drop()


@pytest.fixture
def dbops_url(dbops_database: TestDatabase) -> str:
    """The URL of this test's fresh database."""
    return dbops_database.url
