"""Test fixtures come from dbops' own pytest plugin (dbops_cluster, dbops_url, ...)."""

from typing import List

import pytest


@pytest.fixture(scope="session")
def dbops_setup_sql() -> List[str]:
    return ["CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL)"]
