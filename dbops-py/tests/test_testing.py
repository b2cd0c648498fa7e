import psycopg

import dbops


def test_clones_are_isolated(dbops_test_databases: dbops.TestDatabases) -> None:
    with dbops_test_databases.create() as a, dbops_test_databases.create() as b:
        assert a.name != b.name
        with psycopg.connect(a.url, autocommit=True) as conn:
            conn.execute("INSERT INTO notes (body) VALUES ('only in a')")
        with psycopg.connect(b.url) as conn:
            assert conn.execute("SELECT count(*) FROM notes").fetchone() == (0,)
        with psycopg.connect(a.url) as conn:
            assert conn.execute("SELECT count(*) FROM notes").fetchone() == (1,)


def test_fixture_gives_a_fresh_database(dbops_url: str) -> None:
    with psycopg.connect(dbops_url, autocommit=True) as conn:
        conn.execute("INSERT INTO notes (body) VALUES ('x')")
        assert conn.execute("SELECT count(*) FROM notes").fetchone() == (1,)


def test_fixture_gives_a_fresh_database_again(dbops_url: str) -> None:
    with psycopg.connect(dbops_url) as conn:
        assert conn.execute("SELECT count(*) FROM notes").fetchone() == (0,)


def test_dropped_database_is_gone(dbops_test_databases: dbops.TestDatabases, dbops_admin_url: str) -> None:
    db = dbops_test_databases.create()
    name = db.name
    db.drop()
    with psycopg.connect(dbops_admin_url) as conn:
        assert conn.execute("SELECT count(*) FROM pg_database WHERE datname = %s", (name,)).fetchone() == (0,)


async def test_async_create(dbops_test_databases: dbops.TestDatabases) -> None:
    db = await dbops_test_databases.create_async()
    assert db.url
    db.drop()


def _exists(admin_url: str, name: str) -> bool:
    with psycopg.connect(admin_url) as conn:
        row = conn.execute("SELECT count(*) FROM pg_database WHERE datname = %s", (name,)).fetchone()
        return row == (1,)


async def test_async_on_cluster_and_drop() -> None:
    cluster = await dbops.TempCluster.start_async()
    try:
        dbs = await dbops.TestDatabases.on_cluster_async(cluster, ["CREATE TABLE t (id int)"], prefix="pyasync")
        db = await dbs.create_async()
        assert _exists(cluster.url, db.name)
        with psycopg.connect(db.url) as conn:
            assert conn.execute("SELECT count(*) FROM t").fetchone() == (0,)
        await db.drop_async()
        assert not _exists(cluster.url, db.name)
        await db.drop_async()  # dropping twice is a no-op
    finally:
        await cluster.stop_async()
