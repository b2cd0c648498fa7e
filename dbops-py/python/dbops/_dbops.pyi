"""Stubs of the compiled module ``dbops._dbops`` (use it through ``dbops``). Results are the classes of
:mod:`dbops.results`; every I/O operation has a blocking form (GIL released, Ctrl-C interrupts it) and an
``_async`` form returning an awaitable."""

from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple, final

from .results import (
    AlertOutcome,
    BackupHealthReport,
    BackupReport,
    BaseBackup,
    Catalog,
    DbStatus,
    FetchReport,
    GuardedMigrateReport,
    HealthReport,
    KeyPair,
    LintFinding,
    LockPlan,
    MigrateReport,
    MigrationStatus,
    PitrRetentionPlan,
    PitrStatus,
    PlannedStep,
    PushReport,
    RecoveryReport,
    ResetReport,
    RestoreReport,
    MaskCheck,
    RestoreTestReport,
    RetentionPlan,
    SeedFileReport,
    SeedReport,
    SetupItem,
    ValidationReport,
    VerifiedBaseBackup,
    VerifyReport,
    VersionState,
)

__all__ = [
    "BackupNotFoundError",
    "CancelledError",
    "ChecksumMismatchError",
    "ClusterError",
    "ConfigError",
    "DatabaseError",
    "DbopsError",
    "DbopsIOError",
    "DirtyDatabaseError",
    "EncryptionError",
    "InternalError",
    "HealthProbe",
    "IntegrityError",
    "MigrationError",
    "MigrationSourceError",
    "Migrator",
    "OperationTimeout",
    "RefusedError",
    "StorageError",
    "TempCluster",
    "TestDatabase",
    "TestDatabases",
    "__version__",
    "apply_retention",
    "apply_retention_async",
    "backup",
    "backup_async",
    "backup_health",
    "backup_health_async",
    "backup_metrics",
    "cli_main",
    "defaults",
    "create_migration",
    "generate_key_pair",
    "lint",
    "mask_check",
    "mask_check_async",
    "mask_init",
    "mask_init_async",
    "list_backups",
    "list_backups_async",
    "pitr_base_backup",
    "pitr_base_backup_async",
    "pitr_fetch",
    "pitr_fetch_async",
    "pitr_prune",
    "pitr_prune_async",
    "pitr_push",
    "pitr_push_async",
    "pitr_restore",
    "pitr_restore_async",
    "pitr_restore_point",
    "pitr_restore_point_async",
    "pitr_setup",
    "pitr_prefetch",
    "pitr_prefetch_async",
    "pitr_start_restored",
    "pitr_start_restored_async",
    "pitr_archive_command",
    "pitr_restore_command",
    "pitr_setup_async",
    "pitr_status",
    "pitr_verify",
    "pitr_verify_async",
    "pitr_status_async",
    "pitr_wait_for_promotion",
    "pitr_wait_for_promotion_async",
    "reset",
    "reset_async",
    "restore",
    "restore_async",
    "restore_test",
    "restore_test_async",
    "seed",
    "seed_async",
    "seed_file",
    "seed_file_async",
    "send_alerts",
    "send_alerts_async",
    "status",
    "status_async",
    "terminate",
    "terminate_async",
    "validate_backup",
    "validate_backup_async",
    "verify",
    "verify_async",
    "wait_for_cleanups",
    "_panic_for_tests",
]

__version__: str

class DbopsError(Exception):
    """Base class of every dbops error. The message is the whole cause chain (what failed, where,
    what to do); attributes carry the same context as fields."""

    retryable: bool
    """Whether retrying the same operation may succeed (connection loss, lock timeout, ...)."""
    sqlstate: Optional[str]
    """PostgreSQL's SQLSTATE when the server reported the error."""

class ConfigError(DbopsError):
    """Invalid URL, option or configuration."""

class DatabaseError(DbopsError):
    """PostgreSQL or the connection pool reported an error."""

class ClusterError(DbopsError):
    """The embedded cluster or a PostgreSQL tool failed."""

    program: Optional[str]
    """The external program that failed (pg_dump, pg_restore, initdb, ...)."""
    status: Optional[str]
    """Its exit status, or why it could not run."""

class DbopsIOError(DbopsError):
    """A file or directory operation failed."""

    path: Optional[str]
    """The file or directory involved."""

class OperationTimeout(DbopsError):
    """An operation did not finish in time."""

class RefusedError(DbopsError):
    """dbops refused an operation that would lose data or is unsafe."""

class CancelledError(DbopsError):
    """The operation was cancelled."""

class MigrationError(DbopsError):
    """A migration failed; the message says what state it left."""

    version: Optional[int]
    """The migration's version."""
    file: Optional[str]
    """The migration file."""
    line: Optional[int]
    """Line of the failing statement in the file (1-based)."""
    statement: Optional[str]
    """The failing statement (shortened)."""
    path: Optional[str]
    """The invalid file or directory (MigrationSourceError)."""
    backup_id: Optional[str]
    """The backup ``Migrator.up_with_backup`` took before this migration failed."""
    restore_command: Optional[str]
    """The ``dbops restore`` command that brings that backup back into a new database."""

class MigrationSourceError(MigrationError):
    """The migrations directory is invalid (naming, duplicates, missing files)."""

class DirtyDatabaseError(MigrationError):
    """A failed migration left the database dirty; fix it and ``force`` the version."""

class ChecksumMismatchError(MigrationError):
    """An applied migration's file changed since it ran."""

class StorageError(DbopsError):
    """The backup store (file, S3, GCS, Azure) failed."""

    store: Optional[str]
    """The store URL, credentials redacted."""
    key: Optional[str]
    """The object key involved."""
    kind: Optional[str]
    """What kind of failure: ``not_found``, ``already_exists``, ``precondition``,
    ``permission_denied``, ``transient`` or ``other``."""

class BackupNotFoundError(DbopsError):
    """No backup matches the selection."""

    store: Optional[str]
    """The store searched, credentials redacted."""

class IntegrityError(DbopsError):
    """A backup or WAL file does not match its recorded size or checksum."""

    key: Optional[str]
    """The object key whose data failed the check."""

class EncryptionError(IntegrityError):
    """Decryption failed: missing or wrong identity or passphrase."""

class InternalError(DbopsError):
    """A bug in dbops (a panic in the Rust core); the message says where. Please report it."""

_Progress = Callable[[str, int, Optional[int]], None]

@final
class Migrator:
    """golang-migrate compatible migrations of one database."""

    def __new__(
        cls,
        url: str,
        source: str,
        *,
        schema: Optional[str] = None,
        table: Optional[str] = None,
        lock_timeout: Optional[float] = None,
        statement_timeout: Optional[float] = None,
        strict: bool = False,
        progress: Optional[_Progress] = None,
        max_blocking: Optional[float] = None,
        wait_for_sessions: Optional[float] = None,
        refuse_when_waiting: bool = False,
    ) -> Migrator:
        """``url``: the database; ``source``: the migrations directory; ``max_blocking``,
        ``wait_for_sessions``, ``refuse_when_waiting``: the risk guard (seconds)."""
    def up(self, to: Optional[int] = None) -> MigrateReport:
        """Apply pending migrations (up to ``to``)."""
    def up_async(self, to: Optional[int] = None) -> Awaitable[MigrateReport]:
        """Like ``up``; awaitable."""
    def up_with_backup(
        self,
        store: str,
        *,
        to: Optional[int] = None,
        store_options: Optional[Dict[str, str]] = None,
        recipients: Optional[List[str]] = None,
        passphrase: Optional[str] = None,
        identity: Optional[str] = None,
        identity_file: Optional[str] = None,
    ) -> GuardedMigrateReport:
        """Apply pending migrations after a verified backup into ``store``, taken only when something
        is pending. A failed migration raises with ``backup_id`` and ``restore_command`` set."""
    def up_with_backup_async(
        self,
        store: str,
        *,
        to: Optional[int] = None,
        store_options: Optional[Dict[str, str]] = None,
        recipients: Optional[List[str]] = None,
        passphrase: Optional[str] = None,
        identity: Optional[str] = None,
        identity_file: Optional[str] = None,
    ) -> Awaitable[GuardedMigrateReport]:
        """Like ``up_with_backup``; awaitable."""
    def down(self, count: int = 1, *, all: bool = False) -> MigrateReport:
        """Roll back ``count`` migrations, or all with ``all=True``."""
    def down_async(self, count: int = 1, *, all: bool = False) -> Awaitable[MigrateReport]:
        """Like ``down``; awaitable."""
    def goto(self, version: int) -> MigrateReport:
        """Migrate up or down to exactly ``version``."""
    def goto_async(self, version: int) -> Awaitable[MigrateReport]:
        """Like ``goto``; awaitable."""
    def version(self) -> Optional[VersionState]:
        """The recorded version, or None when nothing is applied."""
    def version_async(self) -> Awaitable[Optional[VersionState]]:
        """Like ``version``; awaitable."""
    def force(self, version: Optional[int]) -> None:
        """Record ``version`` (None or -1: nothing applied) as clean without running anything."""
    def force_async(self, version: Optional[int]) -> Awaitable[None]:
        """Like ``force``; awaitable."""
    def status(self) -> List[MigrationStatus]:
        """Each migration's state relative to the database."""
    def status_async(self) -> Awaitable[List[MigrationStatus]]:
        """Like ``status``; awaitable."""
    def plan(self, to: Optional[int] = None) -> List[PlannedStep]:
        """The steps ``up(to)`` would take."""
    def plan_async(self, to: Optional[int] = None) -> Awaitable[List[PlannedStep]]:
        """Like ``plan``; awaitable."""
    def plan_locks(
        self, to: Optional[int] = None, *, max_blocking: Optional[float] = None
    ) -> LockPlan:
        """The lock plan of the pending migrations against the live database: each statement's
        lock, the work under it, the table's size, the sessions in the way and a verdict;
        ``max_blocking`` (seconds, default 1): what counts as blocking."""
    def plan_locks_async(
        self, to: Optional[int] = None, *, max_blocking: Optional[float] = None
    ) -> Awaitable[LockPlan]:
        """Like ``plan_locks``; awaitable."""

def lint(source: str, *, server_major: Optional[int] = None) -> List[LintFinding]:
    """Lint findings of a migrations directory: statements read with a PostgreSQL grammar and
    checked against rules that know each statement's lock (``rule``, ``severity`` hint/warning/error,
    ``file``, ``line``, ``column``, ``message`` with the safe rewrite). ``server_major``: the oldest
    PostgreSQL major the migrations must be safe on (default 13). Raises ``MigrationSourceError``
    when the directory cannot be read."""

def create_migration(directory: str, name: str, *, timestamp: bool = False) -> Tuple[str, str]:
    """Create the next pair of migration files; returns the up and down paths."""

def _panic_for_tests(mode: str) -> Any:
    """Panics inside the binding on purpose (``"sync"``, ``"blocking"``, ``"async"``) so tests can
    prove a panic surfaces as :class:`InternalError`. Not part of the public API."""

def defaults() -> Dict[str, Dict[str, Any]]:
    """The library's defaults of the settings a keyword left at None takes, by function."""

def cli_main(argv: List[str]) -> int:
    """Run the dbops CLI with ``argv`` (without the program name); returns the exit code."""

@final
class TempCluster:
    """A throwaway PostgreSQL cluster; stopped and removed by ``stop()``, on ``with`` exit, or when collected."""

    @staticmethod
    def start(
        *,
        tcp: bool = False,
        durable: bool = False,
        settings: Optional[Dict[str, str]] = None,
        data_dir: Optional[str] = None,
        in_memory: bool = False,
        major: Optional[int] = None,
    ) -> TempCluster:
        """Start a cluster; with ``data_dir``, on that directory (created by initdb unless it holds one,
        e.g. one prepared by ``dbops.pitr.restore``; it runs the PostgreSQL major that made it) and
        kept afterwards. ``in_memory``: keep its files on ``/dev/shm`` when that has 1 GiB free (fast
        clones for tests; ``DBOPS_TMPDIR`` wins). ``major``: the installed PostgreSQL major version to
        run (default: ``DBOPS_PG_MAJOR``, else the first installation found)."""
    @staticmethod
    def start_async(
        *,
        tcp: bool = False,
        durable: bool = False,
        settings: Optional[Dict[str, str]] = None,
        data_dir: Optional[str] = None,
        in_memory: bool = False,
        major: Optional[int] = None,
    ) -> Awaitable[TempCluster]:
        """Like ``start``; awaitable."""
    @property
    def url(self) -> str:
        """Superuser URL over the unix socket (no password)."""
    @property
    def tcp_url(self) -> Optional[str]:
        """Superuser URL over TCP with its password, when started with ``tcp=True``."""
    @property
    def port(self) -> int:
        """The port (TCP port, or the socket file's number)."""
    @property
    def data_dir(self) -> str:
        """The data directory."""
    @property
    def pid(self) -> Optional[int]:
        """The postmaster's pid while running."""
    @property
    def is_running(self) -> bool:
        """Whether the server is running."""
    def stop(self) -> None:
        """Stop the server and remove its files."""
    def stop_async(self) -> Awaitable[None]:
        """Like ``stop``; awaitable."""
    def __enter__(self) -> TempCluster: ...
    def __exit__(self, t: Any, v: Any, tb: Any) -> bool: ...

@final
class TestDatabase:
    """One cloned database; dropped by ``drop()``, on ``with`` exit, or in the background when collected."""

    @property
    def url(self) -> str:
        """Its connection URL."""
    @property
    def name(self) -> str:
        """Its name."""
    def drop(self) -> None:
        """Drop it now (terminating its connections)."""
    def drop_async(self) -> Awaitable[None]:
        """Like ``drop``; awaitable."""
    def __enter__(self) -> TestDatabase: ...
    def __exit__(self, t: Any, v: Any, tb: Any) -> bool: ...

@final
class TestDatabases:
    """Builds a template once (migrations, a seed profile, SQL scripts) and clones a fresh database from
    it per call."""

    @staticmethod
    def build(
        admin_url: str,
        setup_sql: List[str] = ...,
        *,
        migrations: Optional[str] = None,
        seed: Optional[str] = None,
        seed_scale: int = 1,
        seed_seed: int = 42,
        prefix: Optional[str] = None,
        spares: int = 2,
    ) -> TestDatabases:
        """Build (or reuse) the template on the server at ``admin_url``: apply ``migrations`` (a
        directory), seed the ``seed`` profile (light, medium, heavy; ``seed_scale``, ``seed_seed``),
        then run ``setup_sql``."""
    @staticmethod
    def build_async(
        admin_url: str,
        setup_sql: List[str] = ...,
        *,
        migrations: Optional[str] = None,
        seed: Optional[str] = None,
        seed_scale: int = 1,
        seed_seed: int = 42,
        prefix: Optional[str] = None,
        spares: int = 2,
    ) -> Awaitable[TestDatabases]:
        """Like ``build``; awaitable."""
    @staticmethod
    def on_cluster(
        cluster: TempCluster,
        setup_sql: List[str] = ...,
        *,
        migrations: Optional[str] = None,
        seed: Optional[str] = None,
        seed_scale: int = 1,
        seed_seed: int = 42,
        prefix: Optional[str] = None,
        spares: int = 2,
    ) -> TestDatabases:
        """Same as ``build`` on an embedded cluster."""
    @staticmethod
    def on_cluster_async(
        cluster: TempCluster,
        setup_sql: List[str] = ...,
        *,
        migrations: Optional[str] = None,
        seed: Optional[str] = None,
        seed_scale: int = 1,
        seed_seed: int = 42,
        prefix: Optional[str] = None,
        spares: int = 2,
    ) -> Awaitable[TestDatabases]:
        """Like ``on_cluster``; awaitable."""
    @property
    def template_name(self) -> str:
        """The template database's name."""
    def create(self) -> TestDatabase:
        """Clone a fresh database from the template."""
    def create_async(self) -> Awaitable[TestDatabase]:
        """Like ``create``; awaitable."""

@final
class HealthProbe:
    """Liveness and readiness of a database."""

    def __new__(
        cls,
        url: str,
        *,
        timeout: float = 2.0,
        cache_ttl: float = 1.0,
        migrations: bool = True,
        min_version: Optional[int] = None,
    ) -> HealthProbe:
        """``timeout`` seconds for the checks; ``migrations`` requires applied, clean migrations."""
    def ready(self) -> HealthReport:
        """Readiness: the database answers (and migrations are applied and clean)."""
    def ready_async(self) -> Awaitable[HealthReport]:
        """Like ``ready``; awaitable."""
    def live(self) -> HealthReport:
        """Liveness (never touches the database)."""
    def live_async(self) -> Awaitable[HealthReport]:
        """Like ``live``; awaitable."""

def wait_for_cleanups(timeout_secs: float = 60.0) -> int:
    """Waits (at most ``timeout_secs``) for the clean-ups of cancelled operations: a cancelled
    awaitable's staging database, unfinished upload or store lock. Returns how many are still
    running. A blocking call interrupted by Ctrl-C waits for its own clean-ups before it raises."""

def generate_key_pair() -> KeyPair:
    """A new age key pair (recipient ``age1...``, identity ``AGE-SECRET-KEY-1...``)."""

def backup_metrics(reports: List[BackupHealthReport]) -> str:
    """Prometheus text exposition of backup health reports."""

def backup(
    url: str,
    store: str,
    *,
    format: Optional[str] = None,
    jobs: Optional[int] = None,
    compression: str = "zstd",
    level: Optional[int] = None,
    threads: int = 0,
    copy_format: str = "binary",
    statistics: bool = True,
    recipients: Optional[List[str]] = None,
    passphrase: Optional[str] = None,
    globals: bool = False,
    row_counts: bool = True,
    labels: Optional[Dict[str, str]] = None,
    store_options: Optional[Dict[str, str]] = None,
    progress: Optional[_Progress] = None,
    mask: Optional[str] = None,
    mask_key_env: Optional[str] = None,
    mask_key: Optional[str] = None,
    allow_unmasked: Optional[List[str]] = None,
) -> BackupReport:
    """Back up the database at ``url`` into ``store`` (file://, s3://, gs://, az://, memory://).

    ``format``: tables (default: dumped and restored in parallel on ``jobs`` connections), custom or plain;
    ``compression``: zstd, gzip, lz4 or none; ``copy_format``: binary (the default: faster restores;
    tables of other column types stay text) or text; ``statistics``: carry the planner statistics of a
    PostgreSQL 18 or newer server (tables and custom formats: a restore into 18 or newer then needs no
    ANALYZE); encrypt to age ``recipients`` or with a ``passphrase``. Returns the published manifest;
    nothing is published on failure."""
def backup_async(
    url: str,
    store: str,
    *,
    format: Optional[str] = None,
    jobs: Optional[int] = None,
    compression: str = "zstd",
    level: Optional[int] = None,
    threads: int = 0,
    copy_format: str = "binary",
    statistics: bool = True,
    recipients: Optional[List[str]] = None,
    passphrase: Optional[str] = None,
    globals: bool = False,
    row_counts: bool = True,
    labels: Optional[Dict[str, str]] = None,
    store_options: Optional[Dict[str, str]] = None,
    progress: Optional[_Progress] = None,
    mask: Optional[str] = None,
    mask_key_env: Optional[str] = None,
    mask_key: Optional[str] = None,
    allow_unmasked: Optional[List[str]] = None,
) -> Awaitable[BackupReport]:
    """Like ``backup``; awaitable."""
def restore(
    url: str,
    store: str,
    *,
    backup_id: Optional[str] = None,
    before: Optional[str] = None,
    key: Optional[str] = None,
    from_database: Optional[str] = None,
    into: Optional[str] = None,
    create: bool = False,
    clean: bool = False,
    no_owner: bool = False,
    no_acl: bool = False,
    jobs: Optional[int] = None,
    analyze: bool = True,
    identity: Optional[str] = None,
    identity_file: Optional[str] = None,
    passphrase: Optional[str] = None,
    check_row_counts: bool = True,
    store_options: Optional[Dict[str, str]] = None,
    progress: Optional[_Progress] = None,
    mask: Optional[str] = None,
    mask_key_env: Optional[str] = None,
    mask_key: Optional[str] = None,
    allow_unmasked: Optional[List[str]] = None,
    subset: Optional[List[str]] = None,
) -> RestoreReport:
    """Restore a backup (latest, ``backup_id``, newest ``before`` a time, or by ``key``), verified while streaming.

    ``mask``: a rules file (TOML) applied while the rows stream, with the key from ``mask_key`` or the
    environment variable ``mask_key_env`` (else the rules' ``key_env``, else ``DBOPS_MASK_KEY``);
    ``allow_unmasked``: personal-looking ``table.column``s let through; ``subset``: ``"table: condition"``
    rules whose rows and referential closure are kept."""
def mask_check(
    rules: str,
    url: str,
    *,
    store: Optional[str] = None,
    backup_id: Optional[str] = None,
    from_database: Optional[str] = None,
    allow_unmasked: Optional[List[str]] = None,
    identity: Optional[str] = None,
    identity_file: Optional[str] = None,
    passphrase: Optional[str] = None,
    store_options: Optional[Dict[str, str]] = None,
) -> MaskCheck:
    """Check masking rules against the database at ``url`` or (with ``store``) a backup's schema; no key needed."""
def mask_check_async(
    rules: str,
    url: str,
    *,
    store: Optional[str] = None,
    backup_id: Optional[str] = None,
    from_database: Optional[str] = None,
    allow_unmasked: Optional[List[str]] = None,
    identity: Optional[str] = None,
    identity_file: Optional[str] = None,
    passphrase: Optional[str] = None,
    store_options: Optional[Dict[str, str]] = None,
) -> Awaitable[MaskCheck]:
    """Like ``mask_check``; awaitable."""
def mask_init(url: str) -> str:
    """Draft complete masking rules (TOML) for the database at ``url``, to review before use."""
def mask_init_async(url: str) -> Awaitable[str]:
    """Like ``mask_init``; awaitable."""
def restore_async(
    url: str,
    store: str,
    *,
    backup_id: Optional[str] = None,
    before: Optional[str] = None,
    key: Optional[str] = None,
    from_database: Optional[str] = None,
    into: Optional[str] = None,
    create: bool = False,
    clean: bool = False,
    no_owner: bool = False,
    no_acl: bool = False,
    jobs: Optional[int] = None,
    analyze: bool = True,
    identity: Optional[str] = None,
    identity_file: Optional[str] = None,
    passphrase: Optional[str] = None,
    check_row_counts: bool = True,
    store_options: Optional[Dict[str, str]] = None,
    progress: Optional[_Progress] = None,
    mask: Optional[str] = None,
    mask_key_env: Optional[str] = None,
    mask_key: Optional[str] = None,
    allow_unmasked: Optional[List[str]] = None,
    subset: Optional[List[str]] = None,
) -> Awaitable[RestoreReport]:
    """Like ``restore``; awaitable."""
def validate_backup(
    store: str,
    database: str,
    *,
    backup_id: Optional[str] = None,
    before: Optional[str] = None,
    key: Optional[str] = None,
    identity: Optional[str] = None,
    identity_file: Optional[str] = None,
    passphrase: Optional[str] = None,
    store_options: Optional[Dict[str, str]] = None,
    progress: Optional[_Progress] = None,
) -> ValidationReport:
    """Download, decrypt, decompress and check a backup without touching any database."""
def validate_backup_async(
    store: str,
    database: str,
    *,
    backup_id: Optional[str] = None,
    before: Optional[str] = None,
    key: Optional[str] = None,
    identity: Optional[str] = None,
    identity_file: Optional[str] = None,
    passphrase: Optional[str] = None,
    store_options: Optional[Dict[str, str]] = None,
    progress: Optional[_Progress] = None,
) -> Awaitable[ValidationReport]:
    """Like ``validate_backup``; awaitable."""
def restore_test(
    store: str,
    database: str,
    *,
    backup_id: Optional[str] = None,
    server: Optional[str] = None,
    identity: Optional[str] = None,
    identity_file: Optional[str] = None,
    passphrase: Optional[str] = None,
    store_options: Optional[Dict[str, str]] = None,
) -> RestoreTestReport:
    """Restore into a throwaway database (embedded cluster unless ``server``), check it, record the result."""
def restore_test_async(
    store: str,
    database: str,
    *,
    backup_id: Optional[str] = None,
    server: Optional[str] = None,
    identity: Optional[str] = None,
    identity_file: Optional[str] = None,
    passphrase: Optional[str] = None,
    store_options: Optional[Dict[str, str]] = None,
) -> Awaitable[RestoreTestReport]:
    """Like ``restore_test``; awaitable."""
def list_backups(store: str, database: Optional[str] = None, *, store_options: Optional[Dict[str, str]] = None) -> Catalog:
    """The store's catalog: backups (oldest first), problems and orphans."""
def list_backups_async(store: str, database: Optional[str] = None, *, store_options: Optional[Dict[str, str]] = None) -> Awaitable[Catalog]:
    """Like ``list_backups``; awaitable."""
def apply_retention(
    store: str,
    database: str,
    *,
    keep_last: Optional[int] = None,
    keep_within_days: Optional[int] = None,
    keep_daily: Optional[int] = None,
    keep_weekly: Optional[int] = None,
    keep_monthly: Optional[int] = None,
    keep_yearly: Optional[int] = None,
    orphan_grace_hours: int = 24,
    apply: bool = False,
    store_options: Optional[Dict[str, str]] = None,
) -> RetentionPlan:
    """The retention plan (``keep``, ``delete``, ``orphans``); deletes only with ``apply=True``."""
def apply_retention_async(
    store: str,
    database: str,
    *,
    keep_last: Optional[int] = None,
    keep_within_days: Optional[int] = None,
    keep_daily: Optional[int] = None,
    keep_weekly: Optional[int] = None,
    keep_monthly: Optional[int] = None,
    keep_yearly: Optional[int] = None,
    orphan_grace_hours: int = 24,
    apply: bool = False,
    store_options: Optional[Dict[str, str]] = None,
) -> Awaitable[RetentionPlan]:
    """Like ``apply_retention``; awaitable."""
def backup_health(
    store: str,
    database: str,
    *,
    max_age_hours: Optional[float] = None,
    critical_age_hours: Optional[float] = None,
    size_drop_ratio: Optional[float] = None,
    size_jump_ratio: Optional[float] = None,
    min_backups: Optional[int] = None,
    max_restore_test_age_days: Optional[float] = None,
    full: bool = False,
    server: Optional[str] = None,
    max_wal_age_minutes: Optional[float] = None,
    store_options: Optional[Dict[str, str]] = None,
) -> BackupHealthReport:
    """Check backup health; ``status`` is ok, warn or critical (the worst of ``checks``). A threshold left
    at None is the library's default (26 h, 0.5, 2.0, 1, 8 days, 60 min)."""
def backup_health_async(
    store: str,
    database: str,
    *,
    max_age_hours: Optional[float] = None,
    critical_age_hours: Optional[float] = None,
    size_drop_ratio: Optional[float] = None,
    size_jump_ratio: Optional[float] = None,
    min_backups: Optional[int] = None,
    max_restore_test_age_days: Optional[float] = None,
    full: bool = False,
    server: Optional[str] = None,
    max_wal_age_minutes: Optional[float] = None,
    store_options: Optional[Dict[str, str]] = None,
) -> Awaitable[BackupHealthReport]:
    """Like ``backup_health``; awaitable."""
def send_alerts(
    report: BackupHealthReport,
    store: str,
    *,
    slack_webhook: Optional[str] = None,
    webhook: Optional[str] = None,
    smtp: Optional[Dict[str, Any]] = None,
    remind_hours: Optional[float] = None,
    store_options: Optional[Dict[str, str]] = None,
) -> AlertOutcome:
    """Alert on a state change of ``report`` (Slack webhook, generic webhook, SMTP); returns the deliveries.

    ``smtp`` keys: host, port, security (starttls, tls, none), username, password (or password_file;
    else DBOPS_SMTP_PASSWORD), from, to (list). ``remind_hours``: None is the default (24), 0 never."""
def send_alerts_async(
    report: BackupHealthReport,
    store: str,
    *,
    slack_webhook: Optional[str] = None,
    webhook: Optional[str] = None,
    smtp: Optional[Dict[str, Any]] = None,
    remind_hours: Optional[float] = None,
    store_options: Optional[Dict[str, str]] = None,
) -> Awaitable[AlertOutcome]:
    """Like ``send_alerts``; awaitable."""
def seed(
    url: str,
    profile: str,
    *,
    scale: int = 1,
    seed: int = 42,
    existing: str = "refuse",
    analyze: bool = True,
    progress: Optional[_Progress] = None,
) -> SeedReport:
    """Seed ``profile`` (light, medium, heavy) into the migrated database; ``existing``: refuse, append, truncate."""
def seed_async(
    url: str,
    profile: str,
    *,
    scale: int = 1,
    seed: int = 42,
    existing: str = "refuse",
    analyze: bool = True,
    progress: Optional[_Progress] = None,
) -> Awaitable[SeedReport]:
    """Like ``seed``; awaitable."""
def seed_file(url: str, path: str) -> SeedFileReport:
    """Run a seed SQL file in one transaction."""
def seed_file_async(url: str, path: str) -> Awaitable[SeedFileReport]:
    """Like ``seed_file``; awaitable."""
def reset(url: str, source: str, *, seed: Optional[str] = None, force: bool = False) -> ResetReport:
    """Drop, recreate, migrate (from ``source``) and optionally seed; refuses production-looking names unless ``force``."""
def reset_async(url: str, source: str, *, seed: Optional[str] = None, force: bool = False) -> Awaitable[ResetReport]:
    """Like ``reset``; awaitable."""
def status(url: str, *, long_running: float = 60.0, limit: int = 10) -> DbStatus:
    """The monitoring report of the database at ``url``."""
def status_async(url: str, *, long_running: float = 60.0, limit: int = 10) -> Awaitable[DbStatus]:
    """Like ``status``; awaitable."""
def terminate(url: str, pid: int) -> bool:
    """Terminate backend ``pid``; False if there was none."""
def terminate_async(url: str, pid: int) -> Awaitable[bool]:
    """Like ``terminate``; awaitable."""
def verify(url: str, source: str, *, skip_rollback: bool = False, keep: bool = False, progress: Optional[_Progress] = None) -> VerifyReport:
    """Verify every migration's round trip (up, down, up, schema identical) in a scratch database."""
def verify_async(url: str, source: str, *, skip_rollback: bool = False, keep: bool = False, progress: Optional[_Progress] = None) -> Awaitable[VerifyReport]:
    """Like ``verify``; awaitable."""
def pitr_push(
    store: str,
    path: str,
    *,
    recipients: Optional[List[str]] = None,
    passphrase: Optional[str] = None,
    identity: Optional[str] = None,
    deadline: float = 60.0,
    store_options: Optional[Dict[str, str]] = None,
) -> PushReport:
    """Archive one WAL file (archive_command)."""
def pitr_push_async(
    store: str,
    path: str,
    *,
    recipients: Optional[List[str]] = None,
    passphrase: Optional[str] = None,
    identity: Optional[str] = None,
    deadline: float = 60.0,
    store_options: Optional[Dict[str, str]] = None,
) -> Awaitable[PushReport]:
    """Like ``pitr_push``; awaitable."""
def pitr_fetch(
    store: str,
    name: str,
    dest: str,
    *,
    identity: Optional[str] = None,
    passphrase: Optional[str] = None,
    deadline: float = 60.0,
    store_options: Optional[Dict[str, str]] = None,
) -> FetchReport:
    """Restore one WAL file (restore_command); ``found`` is False at the end of the archive."""
def pitr_fetch_async(
    store: str,
    name: str,
    dest: str,
    *,
    identity: Optional[str] = None,
    passphrase: Optional[str] = None,
    deadline: float = 60.0,
    store_options: Optional[Dict[str, str]] = None,
) -> Awaitable[FetchReport]:
    """Like ``pitr_fetch``; awaitable."""
def pitr_base_backup(
    url: str,
    store: str,
    *,
    recipients: Optional[List[str]] = None,
    passphrase: Optional[str] = None,
    store_options: Optional[Dict[str, str]] = None,
    incremental: bool = False,
    full_if_unsupported: bool = False,
) -> BaseBackup:
    """Take a base backup into the archive; returns its manifest. ``incremental``: only the blocks
    changed since the newest base backup of this cluster (PostgreSQL 17+); ``full_if_unsupported``:
    a full one on older servers instead of raising ``RefusedError``."""
def pitr_base_backup_async(
    url: str,
    store: str,
    *,
    recipients: Optional[List[str]] = None,
    passphrase: Optional[str] = None,
    store_options: Optional[Dict[str, str]] = None,
    incremental: bool = False,
    full_if_unsupported: bool = False,
) -> Awaitable[BaseBackup]:
    """Like ``pitr_base_backup``; awaitable."""
def pitr_restore(
    store: str,
    data_dir: str,
    *,
    target_time: Optional[str] = None,
    restore_point: Optional[str] = None,
    xid: Optional[str] = None,
    lsn: Optional[str] = None,
    base_backup: Optional[str] = None,
    dbops_program: Optional[str] = None,
    identity: Optional[str] = None,
    passphrase: Optional[str] = None,
    store_options: Optional[Dict[str, str]] = None,
    delta: bool = False,
) -> RecoveryReport:
    """Unpack a base backup (or combine an incremental chain) into ``data_dir`` and configure replay to
    the target, then promotion. ``delta``: ``data_dir`` is an existing stopped data directory of which
    only what differs from the backup is rewritten."""
def pitr_restore_async(
    store: str,
    data_dir: str,
    *,
    target_time: Optional[str] = None,
    restore_point: Optional[str] = None,
    xid: Optional[str] = None,
    lsn: Optional[str] = None,
    base_backup: Optional[str] = None,
    dbops_program: Optional[str] = None,
    identity: Optional[str] = None,
    passphrase: Optional[str] = None,
    store_options: Optional[Dict[str, str]] = None,
    delta: bool = False,
) -> Awaitable[RecoveryReport]:
    """Like ``pitr_restore``; awaitable."""
def pitr_verify(store: str, *, base_backup: Optional[str] = None, store_options: Optional[Dict[str, str]] = None) -> List[VerifiedBaseBackup]:
    """Read a base backup (default: the newest) and every backup it is incremental on back from the
    store and check each object's sha256; raises ``IntegrityError`` naming a corrupt or missing member."""
def pitr_verify_async(store: str, *, base_backup: Optional[str] = None, store_options: Optional[Dict[str, str]] = None) -> Awaitable[List[VerifiedBaseBackup]]:
    """Like ``pitr_verify``; awaitable."""
def pitr_status(store: str, url: Optional[str] = None, *, store_options: Optional[Dict[str, str]] = None) -> PitrStatus:
    """Archive per timeline, gaps, base backups, recovery window and (with ``url``) the archiver."""
def pitr_status_async(store: str, url: Optional[str] = None, *, store_options: Optional[Dict[str, str]] = None) -> Awaitable[PitrStatus]:
    """Like ``pitr_status``; awaitable."""
def pitr_restore_point(url: str, name: str) -> str:
    """Create a named restore point and switch WAL; returns its LSN."""
def pitr_restore_point_async(url: str, name: str) -> Awaitable[str]:
    """Like ``pitr_restore_point``; awaitable."""
def pitr_archive_command(store: str, *, store_options: Optional[Dict[str, str]] = None, recipients: Optional[List[str]] = None, passphrase_env: Optional[str] = None, level: Optional[int] = None, deadline: Optional[float] = None, dbops_program: Optional[str] = None) -> str:
    """The archive_command archiving into ``store`` with ``dbops wal push``: quoted for /bin/sh, ``%`` doubled,
    credentials refused (they belong in the server's environment), encryption included."""
def pitr_restore_command(store: str, *, store_options: Optional[Dict[str, str]] = None, identity_file: Optional[str] = None, passphrase_env: Optional[str] = None, deadline: Optional[float] = None, dbops_program: Optional[str] = None) -> str:
    """The restore_command fetching from ``store`` with ``dbops wal fetch``, quoted like ``pitr_archive_command``."""
def pitr_setup(url: str, store: str, *, store_options: Optional[Dict[str, str]] = None, recipients: Optional[List[str]] = None, passphrase_env: Optional[str] = None, level: Optional[int] = None, deadline: Optional[float] = None, dbops_program: Optional[str] = None, archive_timeout: str = "60s", apply: bool = False) -> List[SetupItem]:
    """Compare (and with ``apply`` set) wal_level, archive_mode, archive_command (built like
    ``pitr_archive_command``) and archive_timeout; plus the server's ``passphrase_env`` variable."""
def pitr_setup_async(url: str, store: str, *, store_options: Optional[Dict[str, str]] = None, recipients: Optional[List[str]] = None, passphrase_env: Optional[str] = None, level: Optional[int] = None, deadline: Optional[float] = None, dbops_program: Optional[str] = None, archive_timeout: str = "60s", apply: bool = False) -> Awaitable[List[SetupItem]]:
    """Like ``pitr_setup``; awaitable."""
def pitr_prune(store: str, keep: int, *, apply: bool = False, store_options: Optional[Dict[str, str]] = None) -> PitrRetentionPlan:
    """Keep the newest ``keep`` base backups and the WAL they need; deletes only with ``apply=True``."""
def pitr_prune_async(store: str, keep: int, *, apply: bool = False, store_options: Optional[Dict[str, str]] = None) -> Awaitable[PitrRetentionPlan]:
    """Like ``pitr_prune``; awaitable."""
def pitr_prefetch(store: str, after: str, dest: str, *, count: int = 8, parallel: int = 4, identity: Optional[str] = None, passphrase: Optional[str] = None, store_options: Optional[Dict[str, str]] = None) -> Optional[int]:
    """Download the ``count`` segments after ``after`` into the prefetch directory next to ``dest``; None when
    another prefetch holds that directory's lock."""
def pitr_prefetch_async(store: str, after: str, dest: str, *, count: int = 8, parallel: int = 4, identity: Optional[str] = None, passphrase: Optional[str] = None, store_options: Optional[Dict[str, str]] = None) -> Awaitable[Optional[int]]:
    """Like ``pitr_prefetch``; awaitable."""
def pitr_start_restored(data_dir: str, *, name: str = "pitr", timeout: float = 600.0) -> str:
    """Start a restored data directory as a detached embedded cluster, wait for promotion; returns its URL."""
def pitr_start_restored_async(data_dir: str, *, name: str = "pitr", timeout: float = 600.0) -> Awaitable[str]:
    """Like ``pitr_start_restored``; awaitable."""
def pitr_wait_for_promotion(url: str, timeout: float = 600.0) -> None:
    """Wait until a restored server has reached its target and been promoted."""
def pitr_wait_for_promotion_async(url: str, timeout: float = 600.0) -> Awaitable[None]:
    """Like ``pitr_wait_for_promotion``; awaitable."""

