import os
import subprocess
import sys
from typing import Optional

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


def _in_memory_base() -> str:
    """Where an in-memory cluster lands: DBOPS_TMPDIR, else /dev/shm with 1 GiB free, else /tmp."""
    if os.environ.get("DBOPS_TMPDIR"):
        return os.environ["DBOPS_TMPDIR"]
    try:
        stats = os.statvfs("/dev/shm")
    except OSError:
        return "/tmp"
    room = stats.f_bavail * stats.f_frsize >= 1 << 30 and os.access("/dev/shm", os.W_OK)
    return "/dev/shm" if room else "/tmp"


def test_in_memory_cluster_lives_on_dev_shm() -> None:
    with dbops.TempCluster.start(in_memory=True) as cluster:
        data_dir = cluster.data_dir
        assert os.path.dirname(os.path.dirname(data_dir)) == _in_memory_base()
        with psycopg.connect(cluster.url) as conn:
            assert conn.execute("SHOW data_directory").fetchone() == (data_dir,)
    assert not os.path.exists(data_dir)


def test_the_plugins_cluster_is_in_memory(dbops_cluster: Optional[dbops.TempCluster]) -> None:
    assert dbops_cluster is not None, "this suite runs on the plugin's own cluster"
    assert dbops_cluster.data_dir.startswith(_in_memory_base() + "/dbops-")


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
