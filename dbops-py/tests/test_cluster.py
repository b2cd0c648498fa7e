import os
import subprocess
import sys

import psycopg
import pytest

import dbops


def test_cluster_starts_answers_and_stops() -> None:
    cluster = dbops.TempCluster.start(tcp=True, settings={"work_mem": "7MB"})
    pid = cluster.pid
    assert cluster.is_running
    tcp_url = cluster.tcp_url
    assert tcp_url is not None
    with psycopg.connect(tcp_url) as conn:
        assert conn.execute("SHOW work_mem").fetchone() == ("7MB",)
    password = tcp_url.split(":")[2].split("@")[0]
    assert password and password not in repr(cluster)
    cluster.stop()
    assert not cluster.is_running
    assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split(")")[1].split()[0] in "ZX"


def test_context_manager_removes_the_cluster() -> None:
    with dbops.TempCluster.start() as cluster:
        data_dir = cluster.data_dir
        assert os.path.isdir(data_dir)
    assert not os.path.exists(data_dir)


async def test_async_start_and_stop() -> None:
    cluster = await dbops.TempCluster.start_async()
    assert cluster.is_running
    await cluster.stop_async()
    assert not cluster.is_running


def test_errors_are_dbops_errors() -> None:
    with pytest.raises(dbops.ConfigError) as info:
        dbops.TestDatabases.build("postgres://u:secret@host:notaport/db")
    assert "secret" not in str(info.value)
    assert issubclass(dbops.ConfigError, dbops.DbopsError)


def test_python_dash_m_runs_the_cli() -> None:
    out = subprocess.run([sys.executable, "-m", "dbops", "cluster", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    assert "start" in out.stdout
