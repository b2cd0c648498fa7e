"""A panic inside the Rust core is a dbops.InternalError (a DbopsError), never pyo3's PanicException,
whether the call is synchronous, runs with the GIL released, or is awaited; bad durations are
ConfigErrors, not panics."""

import asyncio
from typing import Any, Callable, List, Tuple

import pytest

import dbops
from dbops import _dbops


@pytest.mark.parametrize("mode", ["sync", "blocking"])
def test_a_panic_raises_internal_error(mode: str) -> None:
    with pytest.raises(dbops.InternalError) as raised:
        _dbops._panic_for_tests(mode)
    assert isinstance(raised.value, dbops.DbopsError)
    assert "deliberate panic" in str(raised.value)
    assert "this is a bug in dbops" in str(raised.value)


def test_a_panic_in_an_awaited_operation_raises_internal_error() -> None:
    async def run() -> None:
        await _dbops._panic_for_tests("async")

    with pytest.raises(dbops.InternalError, match="deliberate panic"):
        asyncio.run(run())


@pytest.mark.parametrize("timeout", [-1.0, float("nan"), float("inf")])
def test_bad_durations_are_config_errors_not_panics(timeout: float) -> None:
    with pytest.raises(dbops.ConfigError, match="timeout"):
        dbops.HealthProbe("postgres://localhost/x", timeout=timeout)
    with pytest.raises(dbops.ConfigError, match="lock timeout"):
        dbops.Migrator("postgres://localhost/x", "migrations", lock_timeout=timeout)


def test_keyword_defaults_are_the_librarys() -> None:
    """Every keyword of these functions defaults to None (the library's default) or to exactly the
    library's value, so Python and the CLI cannot drift from the core."""
    import inspect

    core = _dbops.defaults()
    assert core["backup_health"]["max_age_hours"] == 26.0
    functions: List[Tuple[Callable[..., Any], str]] = [
        (dbops.backup_health, "backup_health"),
        (dbops.send_alerts, "send_alerts"),
        (dbops.seed, "seed"),
        (dbops.Migrator, "migrate"),
    ]
    for function, section in functions:
        for name, parameter in inspect.signature(function).parameters.items():
            if name not in core[section] or parameter.default is None:
                continue
            assert parameter.default == core[section][name], (function, name, parameter.default, core[section][name])
    migrate = inspect.signature(dbops.Migrator).parameters
    assert migrate["table"].default is None and migrate["strict"].default is core["migrate"]["strict"]



def test_storage_errors_carry_their_kind() -> None:
    """A store that does not answer is a StorageError of kind ``transient`` (worth retrying)."""
    options = {
        "aws_endpoint": "http://127.0.0.1:9",
        "aws_allow_http": "true",
        "aws_access_key_id": "test",
        "aws_secret_access_key": "test",
        "aws_region": "us-east-1",
    }
    with pytest.raises(dbops.StorageError) as raised:
        dbops.list_backups("s3://bucket/prefix", "rides", store_options=options)
    assert raised.value.kind == "transient", raised.value
    assert raised.value.retryable
