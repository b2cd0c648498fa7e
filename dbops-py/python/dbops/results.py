"""Typed results: one frozen dataclass per result of the Rust core, with the same field names.

The binding serializes each core result and :func:`from_dict` builds the matching class from the field
annotations (nested classes, lists, tuples, optionals, timestamps as aware :class:`datetime.datetime`),
so these classes carry no logic of their own. Enumerations are ``Literal`` strings. A field whose Rust
name is a Python keyword gets a trailing underscore (``MigrateReport.from_``). ``to_dict()`` gives the
plain-dict form back (the same keys as the JSON of the CLI's ``--json`` output).
"""

from __future__ import annotations

import dataclasses
import json
import keyword
import re
import sys
import typing
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Dict, List, Literal, Mapping, Optional, Tuple, Type, TypeVar

__all__ = [
    "from_dict",
    "DbopsResult",
    # migrations
    "AppliedMigration",
    "MigrateReport",
    "PreMigrationBackup",
    "GuardedMigrateReport",
    "VersionState",
    "MigrationStatus",
    "PlannedStep",
    "LintFinding",
    "Verdict",
    "LockSession",
    "TablePlan",
    "StatementPlan",
    "LockPlan",
    "SchemaChange",
    "RoundTrip",
    "VerifiedMigration",
    "VerifyReport",
    # seeding and reset
    "SeedReport",
    "SeedFileReport",
    "ResetReport",
    # health probe and monitoring
    "CheckResult",
    "HealthReport",
    "ConnectionCount",
    "Session",
    "TableSize",
    "IndexInfo",
    "VacuumInfo",
    "ArchiverInfo",
    "ReplicationInfo",
    "TopQuery",
    "DbStatus",
    # backups
    "EncryptionInfo",
    "StoredObject",
    "TableObject",
    "Manifest",
    "BackupReport",
    "ObjectInfo",
    "BackupEntry",
    "Catalog",
    "RestoreReport",
    "MaskingSummary",
    "SubsetReport",
    "MaskProblem",
    "MaskCheck",
    "ValidationReport",
    "RestoreTestReport",
    "KeptBackup",
    "RetentionPlan",
    "KeyPair",
    # backup health and alerts
    "HealthCheck",
    "LatestBackup",
    "BackupHealthReport",
    "Delivery",
    "AlertOutcome",
    # point-in-time recovery
    "PushReport",
    "FetchReport",
    "BaseBackup",
    "VerifiedBaseBackup",
    "RecoveryTarget",
    "DeltaReport",
    "RecoveryReport",
    "TimelineStatus",
    "ArchiverStatus",
    "PitrStatus",
    "SetupItem",
    "PitrRetentionPlan",
]

T = TypeVar("T", bound="DbopsResult")


class DbopsResult:
    """Base of every result class: ``to_dict()`` and ``to_json()``."""

    __slots__ = ()

    def to_dict(self) -> Dict[str, Any]:
        """The result as plain data: the Rust field names, timestamps as RFC 3339 strings."""
        value = _plain(self)
        assert isinstance(value, dict)
        return value

    def to_json(self) -> str:
        """``to_dict()`` as JSON (what the binding hands back to Rust, e.g. for ``send_alerts``)."""
        return json.dumps(self.to_dict())


# ---------------------------------------------------------------------------------------- migrations

Direction = Literal["up", "down"]


@dataclass(frozen=True)
class AppliedMigration(DbopsResult):
    """One migration that ran; ``duration`` is in milliseconds."""

    version: int
    name: str
    direction: Direction
    transactional: bool
    duration: float


@dataclass(frozen=True)
class MigrateReport(DbopsResult):
    """What ``Migrator.up``/``down``/``goto`` did: versions before (``from_``) and after (``to``),
    the migrations run, warnings (e.g. changed checksums) and the advisory-lock wait in milliseconds."""

    from_: Optional[int]
    to: Optional[int]
    applied: List[AppliedMigration]
    warnings: List[str]
    lock_wait: float


@dataclass(frozen=True)
class PreMigrationBackup(DbopsResult):
    """The verified backup ``Migrator.up_with_backup`` took before migrating: its id, key, store,
    database, the version it holds and the ``dbops restore`` command that brings it back."""

    id: str
    key: str
    store: str
    database: str
    version: Optional[int]
    restore_command: str


@dataclass(frozen=True)
class GuardedMigrateReport(DbopsResult):
    """``Migrator.up_with_backup``: the backup taken first (None when nothing was pending) and the
    ``MigrateReport``."""

    backup: Optional[PreMigrationBackup]
    migrate: MigrateReport


@dataclass(frozen=True)
class VersionState(DbopsResult):
    """The recorded migration version and whether a failed migration left it dirty."""

    version: int
    dirty: bool


@dataclass(frozen=True)
class MigrationStatus(DbopsResult):
    """One migration relative to the database (``Migrator.status``)."""

    version: int
    name: str
    state: Literal["applied", "changed", "pending", "dirty"]
    has_down: bool


@dataclass(frozen=True)
class PlannedStep(DbopsResult):
    """One step ``Migrator.up`` would take (``Migrator.plan``)."""

    version: int
    name: str
    direction: Direction
    resulting_version: Optional[int]


@dataclass(frozen=True)
class LintFinding(DbopsResult):
    """A lint finding in a migrations directory."""

    rule: str
    severity: Literal["hint", "warning", "error"]
    file: str
    line: int
    column: int
    message: str


LockMode = Literal[
    "access_share",
    "row_share",
    "row_exclusive",
    "share_update_exclusive",
    "share",
    "share_row_exclusive",
    "exclusive",
    "access_exclusive",
]


@dataclass(frozen=True)
class Verdict(DbopsResult):
    """What a statement would do to traffic: ``safe``; ``risky`` with a ``reason``; or ``blocks``
    ``traffic`` for about ``secs`` seconds at the table's current size."""

    verdict: Literal["safe", "risky", "blocks"]
    reason: Optional[str]
    traffic: Optional[Literal["schema_changes", "writes", "reads_and_writes"]]
    secs: Optional[float]


@dataclass(frozen=True)
class LockSession(DbopsResult):
    """A session in a migration's way (holding or waiting for a conflicting lock), or an open
    transaction."""

    pid: int
    state: str
    lock: Optional[str]
    granted: bool
    transaction_secs: Optional[float]
    application: str
    query: str


@dataclass(frozen=True)
class TablePlan(DbopsResult):
    """What a pending statement does to one table, and the table's size now."""

    table: str
    lock: LockMode
    blocks: Literal["schema_changes", "writes", "reads_and_writes"]
    work: Literal["catalog", "rows", "scan", "index_build", "rewrite"]
    exists: bool
    size_bytes: int
    rows: int
    estimated_secs: float
    conflicting: List[LockSession]


@dataclass(frozen=True)
class StatementPlan(DbopsResult):
    """One pending statement: where it is, what it locks and the verdict."""

    version: int
    file: str
    line: int
    statement: str
    tables: List[TablePlan]
    verdict: Verdict
    findings: List[LintFinding]


@dataclass(frozen=True)
class LockPlan(DbopsResult):
    """The lock plan of the pending migrations against the live database."""

    current: Optional[int]
    target: Optional[int]
    statements: List[StatementPlan]
    long_transactions: List[LockSession]
    verdict: Verdict
    syntax_errors: List[LintFinding]


@dataclass(frozen=True)
class SchemaChange(DbopsResult):
    """One schema object that differs after a round trip: ``definition`` for added/removed objects,
    ``before``/``after`` for changed ones."""

    change: Literal["added", "removed", "changed"]
    object: str
    definition: Optional[str]
    before: Optional[str]
    after: Optional[str]


@dataclass(frozen=True)
class RoundTrip(DbopsResult):
    """Outcome of up, down, up for one migration; ``changes`` and ``reapply_error`` when it differs."""

    result: Literal["identical", "differs", "no_down", "skipped"]
    changes: List[SchemaChange]
    reapply_error: Optional[str]


@dataclass(frozen=True)
class VerifiedMigration(DbopsResult):
    """One verified migration with its timings in milliseconds."""

    version: int
    name: str
    up_ms: float
    down_ms: float
    round_trip: RoundTrip


@dataclass(frozen=True)
class VerifyReport(DbopsResult):
    """``dbops.verify``: each migration's round trip, the kept scratch database, and whether all passed."""

    migrations: List[VerifiedMigration]
    kept_database: Optional[str]
    passed: bool


# ---------------------------------------------------------------------------------- seeding, reset


@dataclass(frozen=True)
class SeedReport(DbopsResult):
    """Rows seeded per table (in load order), the total and the time taken (``analyze_ms`` of it, unless
    ANALYZE was skipped)."""

    tables: List[Tuple[str, int]]
    rows: int
    elapsed_ms: float
    analyze_ms: Optional[float] = None


@dataclass(frozen=True)
class SeedFileReport(DbopsResult):
    """``dbops.seed_file``: the file, its statement count and whether it ran in one transaction."""

    file: str
    statements: int
    transactional: bool


@dataclass(frozen=True)
class ResetReport(DbopsResult):
    """``dbops.reset``: sessions terminated, whether the database was dropped, migrations and seed."""

    database: str
    terminated_sessions: int
    dropped: bool
    migrations: MigrateReport
    seed: Optional[SeedReport]


# ------------------------------------------------------------------------- health probe, monitoring

UpDown = Literal["up", "down"]


@dataclass(frozen=True)
class CheckResult(DbopsResult):
    """One check of a health probe."""

    name: str
    status: UpDown
    latency_ms: float
    message: str


@dataclass(frozen=True)
class HealthReport(DbopsResult):
    """``HealthProbe.ready``/``live``: overall status, the checks and the migration version seen."""

    status: UpDown
    checks: List[CheckResult]
    checked_at: datetime
    migration: Optional[VersionState]


@dataclass(frozen=True)
class ConnectionCount(DbopsResult):
    """Connections in one state."""

    state: str
    count: int


@dataclass(frozen=True)
class Session(DbopsResult):
    """A long-running or blocked session."""

    pid: int
    user: Optional[str]
    database: Optional[str]
    state: Optional[str]
    seconds: float
    wait_event: Optional[str]
    blocked_by: List[int]
    query: str


@dataclass(frozen=True)
class TableSize(DbopsResult):
    """Size of one table (total, heap, indexes, TOAST) and its estimated rows."""

    table: str
    total_bytes: int
    table_bytes: int
    index_bytes: int
    toast_bytes: int
    rows: int


@dataclass(frozen=True)
class IndexInfo(DbopsResult):
    """An unused or duplicate index."""

    index: str
    table: str
    bytes: int
    scans: int
    duplicate_of: Optional[str]


@dataclass(frozen=True)
class VacuumInfo(DbopsResult):
    """Dead tuples and the last (auto)vacuum and analyze of one table."""

    table: str
    live_tuples: int
    dead_tuples: int
    last_vacuum: Optional[datetime]
    last_analyze: Optional[datetime]


@dataclass(frozen=True)
class ArchiverInfo(DbopsResult):
    """WAL archiver statistics (``pg_stat_archiver``)."""

    archive_mode: str
    archived_count: int
    last_archived_wal: Optional[str]
    last_archived_time: Optional[datetime]
    failed_count: int
    last_failed_wal: Optional[str]


@dataclass(frozen=True)
class ReplicationInfo(DbopsResult):
    """A replication slot or standby and its lag."""

    name: str
    kind: str
    active: bool
    lag_bytes: Optional[int]


@dataclass(frozen=True)
class TopQuery(DbopsResult):
    """A query from ``pg_stat_statements``."""

    query: str
    calls: int
    total_ms: float
    mean_ms: float


@dataclass(frozen=True)
class DbStatus(DbopsResult):
    """``dbops.status``: the monitoring report of one database."""

    server_version: str
    database: str
    database_bytes: int
    uptime_secs: float
    max_connections: int
    connections: List[ConnectionCount]
    long_running: List[Session]
    blocked: List[Session]
    largest_tables: List[TableSize]
    sizes_estimated: bool
    unused_indexes: List[IndexInfo]
    duplicate_indexes: List[IndexInfo]
    vacuum: List[VacuumInfo]
    cache_hit_ratio: Optional[float]
    archiver: ArchiverInfo
    replication: List[ReplicationInfo]
    top_queries: Optional[List[TopQuery]]


# ----------------------------------------------------------------------------------------- backups

Compression = Literal["zstd", "gzip", "lz4", "none"]


@dataclass(frozen=True)
class EncryptionInfo(DbopsResult):
    """How a backup is encrypted (``none``, age ``recipients`` or ``passphrase``)."""

    mode: Literal["none", "recipients", "passphrase"]
    recipient_fingerprints: List[str]
    #: Passphrase backups: the identity their objects are encrypted to, encrypted with the passphrase.
    sealed_identity: Optional[str] = None


@dataclass(frozen=True)
class StoredObject(DbopsResult):
    """One stored object with its size and SHA-256, as stored and as plaintext."""

    key: str
    size: int
    sha256: str
    plaintext_size: int
    plaintext_sha256: str


@dataclass(frozen=True)
class TableObject(DbopsResult):
    """One table's rows in a ``tables``-format backup: its columns in COPY order, rows, object and
    COPY format (``binary``, or ``text`` for tables of other column types, masked tables
    and ``backup(copy_format="text")``)."""

    schema: str
    name: str
    columns: List[str]
    rows: int
    object: StoredObject
    format: Literal["text", "binary"] = "text"


@dataclass(frozen=True)
class Manifest(DbopsResult):
    """The manifest published with each backup (``parts``: the per-table objects of the ``tables`` format)."""

    manifest_version: int
    id: str
    database: str
    server_version: str
    pg_dump_version: str
    dbops_version: str
    started_at: datetime
    finished_at: datetime
    format: Literal["tables", "custom", "plain"]
    compression: Compression
    compression_level: int
    encryption: EncryptionInfo
    data: StoredObject
    globals: Optional[StoredObject]
    tables: Dict[str, int]
    labels: Dict[str, str]
    parts: List[TableObject] = field(default_factory=list)
    statistics: bool = False
    """Whether the backup carries the planner statistics (PostgreSQL 18 and newer)."""

    def stored_size(self) -> int:
        """Bytes stored, all objects together (the data object and every table's)."""
        return self.data.size + sum(p.object.size for p in self.parts)

    def plaintext_size(self) -> int:
        """Plaintext bytes of all data objects together."""
        return self.data.plaintext_size + sum(p.object.plaintext_size for p in self.parts)


@dataclass(frozen=True)
class BackupReport(DbopsResult):
    """``dbops.backup``: the published manifest, the store and the time taken."""

    manifest: Manifest
    store: str
    elapsed_secs: float


@dataclass(frozen=True)
class ObjectInfo(DbopsResult):
    """An object in a store (e.g. an orphan without a manifest)."""

    key: str
    size: int
    last_modified: datetime


@dataclass(frozen=True)
class BackupEntry(DbopsResult):
    """One backup in a store's catalog, with its manifest when it could be read."""

    id: str
    database: str
    started_at: datetime
    size: int
    key: str
    manifest: Optional[Manifest]


@dataclass(frozen=True)
class Catalog(DbopsResult):
    """``dbops.list_backups``: backups oldest first, ``(key, problem)`` pairs, orphaned objects."""

    backups: List[BackupEntry]
    problems: List[Tuple[str, str]]
    orphans: List[ObjectInfo]


@dataclass(frozen=True)
class SubsetReport(DbopsResult):
    """What a subset removed: rows per table (``schema.name``), and the closure's passes."""

    removed: Dict[str, int]
    passes: int


@dataclass(frozen=True)
class MaskingSummary(DbopsResult):
    """What masking and subsetting did during a restore."""

    masked_tables: int
    masked_columns: int
    notes: List[str]
    subset: Optional[SubsetReport]


@dataclass(frozen=True)
class RestoreReport(DbopsResult):
    """``dbops.restore``: what was restored where, bytes read and row counts checked (and what
    masking did, for a masked or subset restore)."""

    backup_id: str
    key: str
    database: str
    created: bool
    stored_bytes: int
    plaintext_bytes: int
    tables_checked: int
    jobs: int
    stages: List[Tuple[str, float]]
    masking: Optional[MaskingSummary]
    statistics_restored: bool
    decoded_as_text: List[str]
    elapsed_secs: float


MaskProblemKind = Literal["schema_changed", "unmasked", "invalid"]


@dataclass(frozen=True)
class MaskProblem(DbopsResult):
    """One problem of masking rules: its kind, ``schema.table[.column]``, the rule's line, what to do."""

    kind: MaskProblemKind
    location: str
    line: Optional[int]
    message: str


@dataclass(frozen=True)
class MaskCheck(DbopsResult):
    """``dbops.mask_check``: the rules' problems (none: they fit), notes, tables checked, columns masked."""

    problems: List[MaskProblem]
    notes: List[str]
    tables: int
    masked_columns: int

    @property
    def ok(self) -> bool:
        """Whether the rules fit the schema."""
        return not self.problems


@dataclass(frozen=True)
class ValidationReport(DbopsResult):
    """``dbops.validate_backup``: a backup read end to end without touching a database."""

    backup_id: str
    key: str
    stored_bytes: int
    plaintext_bytes: int
    toc_entries: Optional[int]
    checksummed: bool
    elapsed_secs: float


@dataclass(frozen=True)
class RestoreTestReport(DbopsResult):
    """``dbops.restore_test``: a restore drill, as recorded in the store."""

    backup_id: str
    database: str
    server: str
    tables_checked: int
    amcheck: str
    tested_at: datetime
    elapsed_secs: float


@dataclass(frozen=True)
class KeptBackup(DbopsResult):
    """A backup retention keeps and the rules that keep it."""

    backup: BackupEntry
    reasons: List[str]


@dataclass(frozen=True)
class RetentionPlan(DbopsResult):
    """``dbops.apply_retention``: kept and deleted backups, orphans, objects left alone as problems;
    ``applied`` when carried out."""

    database: str
    keep: List[KeptBackup]
    delete: List[BackupEntry]
    orphans: List[ObjectInfo]
    problems: List[Tuple[str, str]]
    applied: bool


@dataclass(frozen=True)
class KeyPair(DbopsResult):
    """An age key pair. The identity is secret: it is left out of ``repr``."""

    recipient: str
    identity: str = field(repr=False)


# ------------------------------------------------------------------------- backup health and alerts

Health = Literal["ok", "warn", "critical"]


@dataclass(frozen=True)
class HealthCheck(DbopsResult):
    """One backup health check and its measured value."""

    name: str
    status: Health
    reason: str
    value: Optional[float]


@dataclass(frozen=True)
class LatestBackup(DbopsResult):
    """The newest backup seen by the health check."""

    id: str
    finished_at: datetime
    size: int
    duration_secs: float


@dataclass(frozen=True)
class BackupHealthReport(DbopsResult):
    """``dbops.backup_health``: overall status (the worst check), the checks and the latest backup."""

    database: str
    store: str
    status: Health
    checks: List[HealthCheck]
    checked_at: datetime
    latest: Optional[LatestBackup]
    backups: int
    failures: int


@dataclass(frozen=True)
class Delivery(DbopsResult):
    """One alert channel's delivery (its error never contains the webhook's secret)."""

    channel: str
    delivered: bool
    error: Optional[str]


@dataclass(frozen=True)
class AlertOutcome(DbopsResult):
    """``dbops.send_alerts``: whether an alert went out, why, and each channel's delivery."""

    sent: bool
    reason: str
    deliveries: List[Delivery]


# ------------------------------------------------------------------------- point-in-time recovery


@dataclass(frozen=True)
class PushReport(DbopsResult):
    """``dbops.pitr.push``: one archived WAL file (``outcome``: stored, or already archived)."""

    name: str
    key: str
    size: int
    stored: int
    outcome: str
    elapsed_ms: float


@dataclass(frozen=True)
class FetchReport(DbopsResult):
    """``dbops.pitr.fetch``: one restored WAL file; ``found`` is False at the end of the archive."""

    name: str
    found: bool
    prefetched: bool
    elapsed_ms: float


@dataclass(frozen=True)
class BaseBackup(DbopsResult):
    """The manifest of a base backup."""

    id: str
    system_identifier: str
    server_version: str
    timeline: int
    start_lsn: str
    stop_lsn: str
    start_wal: str
    stop_wal: str
    wal_segment_size: int
    started_at: datetime
    finished_at: datetime
    compression: Compression
    encryption: EncryptionInfo
    data: StoredObject
    has_backup_manifest: bool
    parent: Optional[str]
    manifest: Optional[StoredObject]


@dataclass(frozen=True)
class VerifiedBaseBackup(DbopsResult):
    """One base backup of a chain read back by ``dbops.pitr.verify``: its id, parent and bytes checked."""

    id: str
    parent: Optional[str]
    bytes: int


@dataclass(frozen=True)
class RecoveryTarget(DbopsResult):
    """Where replay stops: ``kind`` latest, time, restore_point, xid or lsn, with its ``value``."""

    kind: Literal["latest", "time", "restore_point", "xid", "lsn"]
    value: Optional[str]


@dataclass(frozen=True)
class DeltaReport(DbopsResult):
    """What a delta restore changed: files left as they were, written (and bytes), removed."""

    unchanged: int
    written: int
    bytes_written: int
    removed: int


@dataclass(frozen=True)
class RecoveryReport(DbopsResult):
    """``dbops.pitr.restore``: the base backup unpacked into ``data_dir`` and the configured target."""

    base_backup: str
    chain: List[str]
    data_dir: str
    target: RecoveryTarget
    verified: str
    verified_by: str
    restore_command: str
    delta: Optional[DeltaReport]


@dataclass(frozen=True)
class TimelineStatus(DbopsResult):
    """Archived WAL of one timeline: segment range, ``(from, to)`` gaps, history file present."""

    timeline: int
    segments: int
    first: Optional[str]
    last: Optional[str]
    last_archived_at: Optional[datetime]
    gaps: List[Tuple[str, str]]
    history: bool


@dataclass(frozen=True)
class ArchiverStatus(DbopsResult):
    """The server's archiving settings and statistics."""

    archive_mode: str
    archive_command: str
    archived_count: int
    last_archived_wal: Optional[str]
    last_archived_age_secs: Optional[float]
    failed_count: int
    last_failed_wal: Optional[str]
    current_wal: str


@dataclass(frozen=True)
class PitrStatus(DbopsResult):
    """``dbops.pitr.status``: the archive per timeline, base backups, recovery window and problems."""

    store: str
    archiver: Optional[ArchiverStatus]
    timelines: List[TimelineStatus]
    base_backups: List[BaseBackup]
    recovery_window: Optional[Tuple[datetime, datetime]]
    problems: List[str]


@dataclass(frozen=True)
class SetupItem(DbopsResult):
    """``dbops.pitr.setup``: one archiving setting, its current and wanted value."""

    name: str
    current: str
    wanted: str
    needs_restart: bool


@dataclass(frozen=True)
class PitrRetentionPlan(DbopsResult):
    """``dbops.pitr.prune``: base backups kept and deleted, WAL deleted; ``applied`` when carried out."""

    keep: List[str]
    delete: List[str]
    wal_delete: List[str]
    applied: bool


# ------------------------------------------------------------------------------------ conversion


def from_dict(cls: Type[T], data: Mapping[str, Any]) -> T:
    """Builds ``cls`` from plain data (a result's JSON form), nested classes included.

    Keys are the Rust field names; a missing key is allowed only for an ``Optional`` (None) or a
    collection (empty) field, as the core leaves those out when empty.

    Args:
        cls: the result class to build (``dbops.BackupReport``, ...).
        data: its plain data, e.g. ``result.to_dict()`` or the CLI's ``--json`` output.

    Returns:
        An instance of ``cls``.

    Raises:
        TypeError: an unknown key or a value of the wrong type (the message names the field).
        ValueError: an unknown enumeration value (the message names the field).
    """
    value = _build(cls, data, cls.__name__)
    assert isinstance(value, cls)
    return value


def _from_json(type_expr: str, text: str) -> Any:
    """Entry point of the Rust binding: ``type_expr`` is ``Name``, ``List[...]`` or ``Optional[...]``."""
    return _build(_resolve(type_expr), json.loads(text), type_expr)


def _to_json(value: Any) -> str:
    """Entry point of the Rust binding for results passed back in (a result class or a plain dict)."""
    return json.dumps(_plain(value))


def _resolve(type_expr: str) -> Any:
    type_expr = type_expr.strip()
    for wrapper, origin in (("List[", List), ("Optional[", Optional)):
        if type_expr.startswith(wrapper) and type_expr.endswith("]"):
            return origin[_resolve(type_expr[len(wrapper) : -1])]
    cls = globals().get(type_expr)
    if not (isinstance(cls, type) and issubclass(cls, DbopsResult)):
        raise TypeError(f"dbops.results has no result class {type_expr!r}")
    return cls


_HINTS: Dict[type, Dict[str, Any]] = {}


def _hints(cls: type) -> Dict[str, Any]:
    hints = _HINTS.get(cls)
    if hints is None:
        hints = typing.get_type_hints(cls, vars(sys.modules[__name__]))
        _HINTS[cls] = hints
    return hints


def _field_key(name: str) -> str:
    """The serialized key of a field (``from_`` -> ``from``)."""
    return name[:-1] if name.endswith("_") and keyword.iskeyword(name[:-1]) else name


_TIMESTAMP = re.compile(
    r"^(?P<head>\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d)(?:\.(?P<frac>\d+))?(?P<tz>Z|[+-]\d\d:\d\d)?$"
)


def _timestamp(text: str, where: str) -> datetime:
    # RFC 3339 as chrono writes it (up to nanoseconds, `Z`); fromisoformat before 3.11 wants 6 digits.
    match = _TIMESTAMP.match(text)
    if not match:
        raise ValueError(f"{where}: not a timestamp: {text!r}")
    frac = match.group("frac")
    tz = match.group("tz")
    normalized = match.group("head") + (f".{frac[:6].ljust(6, '0')}" if frac else "")
    normalized += "+00:00" if tz in (None, "Z") else tz
    try:
        return datetime.fromisoformat(normalized)
    except ValueError:
        raise ValueError(f"{where}: not a timestamp: {text!r}") from None


def _build(tp: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Union:  # Optional[X]
        if value is None:
            return None
        inner = [a for a in args if a is not type(None)]
        return _build(inner[0], value, where)
    if origin is Literal:
        if value not in args:
            raise ValueError(f"{where}: {value!r} is not one of {', '.join(map(repr, args))}")
        return value
    if origin is list:
        _expect(value, list, where)
        return [_build(args[0], v, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is tuple:
        _expect(value, list, where)
        if len(value) != len(args):
            raise TypeError(f"{where}: expected {len(args)} items, got {len(value)}")
        return tuple(_build(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, value)))
    if origin is dict:
        _expect(value, dict, where)
        return {_build(args[0], k, where): _build(args[1], v, f"{where}[{k!r}]") for k, v in value.items()}
    if isinstance(tp, type) and issubclass(tp, DbopsResult):
        _expect(value, dict, where)
        return _build_class(tp, value, where)
    if tp is datetime:
        _expect(value, str, where)
        return _timestamp(value, where)
    if tp is float:
        if isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        _expect(value, float, where)
        return value
    if tp is int:
        if isinstance(value, bool):
            raise TypeError(f"{where}: expected int, got bool")
        _expect(value, int, where)
        return value
    if tp in (str, bool):
        _expect(value, tp, where)
        return value
    raise TypeError(f"{where}: unsupported annotation {tp!r}")


def _build_class(cls: type, data: Mapping[str, Any], where: str) -> Any:
    hints = _hints(cls)
    known = {_field_key(f.name): f.name for f in dataclasses.fields(cls)}
    defaults = {f.name for f in dataclasses.fields(cls) if f.default is not dataclasses.MISSING}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise TypeError(f"{where}: unknown field(s) {', '.join(unknown)} for {cls.__name__}")
    kwargs: Dict[str, Any] = {}
    for key, name in known.items():
        tp = hints[name]
        if key in data:
            kwargs[name] = _build(tp, data[key], f"{where}.{key}")
            continue
        origin = typing.get_origin(tp)
        if name in defaults:
            continue  # left out by the library when it is the default (e.g. a text table object)
        if origin is typing.Union and type(None) in typing.get_args(tp):
            kwargs[name] = None
        elif origin is list:
            kwargs[name] = []
        elif origin is dict:
            kwargs[name] = {}
        else:
            raise TypeError(f"{where}: missing field {key!r} for {cls.__name__}")
    return cls(**kwargs)


def _expect(value: Any, tp: type, where: str) -> None:
    if not isinstance(value, tp):
        raise TypeError(f"{where}: expected {tp.__name__}, got {type(value).__name__}")


def _plain(value: Any) -> Any:
    if isinstance(value, DbopsResult):
        return {_field_key(f.name): _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}  # type: ignore[arg-type]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value
