import psycopg

import dbops


def test_clones_are_isolated(dbops_test_databases):
    with dbops_test_databases.create() as a, dbops_test_databases.create() as b:
        assert a.name != b.name
        with psycopg.connect(a.url, autocommit=True) as conn:
            conn.execute("INSERT INTO notes (body) VALUES ('only in a')")
        with psycopg.connect(b.url) as conn:
            assert conn.execute("SELECT count(*) FROM notes").fetchone()[0] == 0
        with psycopg.connect(a.url) as conn:
            assert conn.execute("SELECT count(*) FROM notes").fetchone()[0] == 1


def test_fixture_gives_a_fresh_database(dbops_url):
    with psycopg.connect(dbops_url, autocommit=True) as conn:
        conn.execute("INSERT INTO notes (body) VALUES ('x')")
        assert conn.execute("SELECT count(*) FROM notes").fetchone()[0] == 1


def test_fixture_gives_a_fresh_database_again(dbops_url):
    with psycopg.connect(dbops_url) as conn:
        assert conn.execute("SELECT count(*) FROM notes").fetchone()[0] == 0


def test_dropped_database_is_gone(dbops_test_databases, dbops_admin_url):
    db = dbops_test_databases.create()
    name = db.name
    db.drop()
    with psycopg.connect(dbops_admin_url) as conn:
        assert conn.execute("SELECT count(*) FROM pg_database WHERE datname = %s", (name,)).fetchone()[0] == 0


async def test_async_create(dbops_test_databases):
    db = await dbops_test_databases.create_async()
    assert db.url
    db.drop()
