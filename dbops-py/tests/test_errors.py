"""A panic inside the Rust core is a dbops.InternalError (a DbopsError), never pyo3's PanicException,
whether the call is synchronous, runs with the GIL released, or is awaited; bad durations are
ConfigErrors, not panics."""

import asyncio

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
