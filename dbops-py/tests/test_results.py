"""The typed result classes: building from plain data is strict, repr/equality/to_dict are dataclass-like,
and the classes are what the binding returns."""

import dataclasses
import uuid
from datetime import datetime, timezone

import pytest

import dbops
from dbops.results import from_dict

CHECK = {"name": "last_backup_age", "status": "warn", "reason": "27h old", "value": 97200}
REPORT = {
    "database": "rides",
    "store": "memory://x",
    "status": "warn",
    "checks": [CHECK],
    "checked_at": "2024-01-15T14:04:00.123456789Z",
    "latest": {"id": "20240115T020000Z-ab12", "finished_at": "2024-01-15T02:00:07+01:00", "size": 42, "duration_secs": 7},
    "backups": 3,
    "failures": 0,
}


def test_from_dict_builds_nested_classes_and_timestamps() -> None:
    report = from_dict(dbops.BackupHealthReport, REPORT)
    assert isinstance(report.checks[0], dbops.HealthCheck)
    assert report.checks[0].value == 97200.0 and isinstance(report.checks[0].value, float)
    assert report.checked_at == datetime(2024, 1, 15, 14, 4, 0, 123456, tzinfo=timezone.utc)
    assert report.latest is not None and report.latest.finished_at == datetime(2024, 1, 15, 1, 0, 7, tzinfo=timezone.utc)
    assert report.latest.duration_secs == 7.0
    assert dataclasses.is_dataclass(report)
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.status = "ok"  # type: ignore[misc]


def test_repr_names_the_class_and_its_fields() -> None:
    report = from_dict(dbops.BackupHealthReport, REPORT)
    text = repr(report)
    assert text.startswith("BackupHealthReport(database='rides', store='memory://x', status='warn', checks=[HealthCheck(")
    assert "failures=0" in text


def test_to_dict_round_trips() -> None:
    report = from_dict(dbops.BackupHealthReport, REPORT)
    plain = report.to_dict()
    assert plain["checks"] == [dict(CHECK, value=97200.0)]
    assert plain["checked_at"] == "2024-01-15T14:04:00.123456+00:00"
    assert from_dict(dbops.BackupHealthReport, plain) == report
    # Tuples come back as tuples, keyword fields keep their Rust names.
    seed = from_dict(dbops.SeedReport, {"tables": [["users", 11], ["rides", 9]], "rows": 20, "elapsed_ms": 3.5})
    assert seed.tables == [("users", 11), ("rides", 9)]
    migrate = from_dict(dbops.MigrateReport, {"from": 2, "to": 3, "applied": [], "warnings": [], "lock_wait": 0.1})
    assert migrate.from_ == 2 and migrate.to_dict()["from"] == 2


def test_from_dict_is_strict() -> None:
    with pytest.raises(TypeError, match="unknown field.*surprise"):
        from_dict(dbops.HealthCheck, dict(CHECK, surprise=1))
    with pytest.raises(TypeError, match="missing field 'reason'"):
        from_dict(dbops.HealthCheck, {k: v for k, v in CHECK.items() if k != "reason"})
    with pytest.raises(ValueError, match="'fine' is not one of"):
        from_dict(dbops.HealthCheck, dict(CHECK, status="fine"))
    with pytest.raises(TypeError, match=r"BackupHealthReport\.backups: expected int, got str"):
        from_dict(dbops.BackupHealthReport, dict(REPORT, backups="3"))
    with pytest.raises(ValueError, match="not a timestamp"):
        from_dict(dbops.BackupHealthReport, dict(REPORT, checked_at="yesterday"))
    # Optional fields and collections the core leaves out when empty.
    check = from_dict(dbops.HealthCheck, {k: v for k, v in CHECK.items() if k != "value"})
    assert check.value is None
    trip = from_dict(dbops.RoundTrip, {"result": "identical"})
    assert trip == dbops.RoundTrip(result="identical", changes=[], reapply_error=None)


def test_key_pair_hides_the_identity() -> None:
    keys = dbops.generate_key_pair()
    assert isinstance(keys, dbops.KeyPair)
    assert keys.recipient.startswith("age1") and keys.identity.startswith("AGE-SECRET-KEY-1")
    assert keys.recipient in repr(keys) and keys.identity not in repr(keys)


def test_send_alerts_takes_the_report_class_or_its_dict() -> None:
    store = f"memory://{uuid.uuid4().hex}"
    report = dbops.backup_health(store, "nothing")
    assert isinstance(report, dbops.BackupHealthReport)
    text = dbops.backup_metrics([report])
    assert dbops.backup_metrics([report.to_dict()]) == text  # type: ignore[list-item]
    with pytest.raises(ValueError, match="not a backup health report"):
        dbops.backup_metrics([{"status": "ok"}])  # type: ignore[list-item]


def test_every_exported_result_class_is_a_frozen_dataclass() -> None:
    names = [n for n in dbops.results.__all__ if n not in ("from_dict", "DbopsResult")]
    assert len(names) > 50
    for name in names:
        cls = getattr(dbops, name)
        assert isinstance(cls, type) and issubclass(cls, dbops.DbopsResult), name
        assert dataclasses.is_dataclass(cls), name
        assert getattr(cls, "__dataclass_params__").frozen, name
