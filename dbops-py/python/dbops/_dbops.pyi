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
    """Base class of every dbops error. The message is the whole cause chain (what failed, where, what to do); the attributes carry the same context as fields (``retryable`` and ``sqlstate`` on every error)."""

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
    """A migration file or directory is invalid (naming, duplicates, missing files); ``path`` names it."""

class DirtyDatabaseError(MigrationError):
    """The database is dirty after a failed non-transactional migration: repair it, then ``force`` the version."""

class ChecksumMismatchError(MigrationError):
    """An applied migration's file changed."""

class StorageError(DbopsError):
    """An object store (file, S3, GCS, Azure, memory) operation failed; ``store``, ``key`` and ``kind`` (not_found, already_exists, precondition, permission_denied, transient, other) say which and how."""

    store: Optional[str]
    """The store URL, credentials redacted."""
    key: Optional[str]
    """The object key involved."""
    kind: Optional[str]
    """What kind of failure: ``not_found``, ``already_exists``, ``precondition``,
    ``permission_denied``, ``transient`` or ``other``."""

class BackupNotFoundError(DbopsError):
    """No backup matches what was asked for; ``store`` names the store."""

    store: Optional[str]
    """The store searched, credentials redacted."""

class IntegrityError(DbopsError):
    """Stored data does not match its manifest or checksums; nothing was committed."""

    key: Optional[str]
    """The object key whose data failed the check."""

class EncryptionError(IntegrityError):
    """Encryption or decryption failed: wrong key or passphrase, bad recipient, tampered data."""

class InternalError(DbopsError):
    """A bug in dbops (a panic in the Rust core); the message says where. Please report it."""

_Progress = Callable[[str, int, Optional[int]], None]

@final
class Migrator:
    """golang-migrate compatible migrations of one database: ``Migrator(url, source, ...)``.

    Args:
        url: the database: a ``postgres://`` URL or a libpq ``key=value`` string.
        source: the migrations directory (``NNNNNN_name.up.sql`` / ``.down.sql``).
        schema: the schema of the version table (default ``public``).
        table: the version table (default ``schema_migrations``, golang-migrate's).
        lock_timeout: seconds a statement may wait for a lock before the migration steps aside and
            retries (default 2; 0: off).
        statement_timeout: seconds a statement may run (default: the role's).
        strict: refuse to run when an applied migration's file changed.
        progress: called as ``progress(stage, done, total)`` while it runs.
        max_blocking: refuse steps that would block traffic longer than this many seconds (the risk
            guard; default: off).
        wait_for_sessions: seconds to wait for sessions in the way of a step (with
            ``max_blocking``).
        refuse_when_waiting: refuse rather than go on when such sessions do not end.

    Raises:
        ConfigError: an invalid URL or option.
        MigrationSourceError: the directory or a file name is invalid."""

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
        """Create and return a new object.  See help(type) for accurate signature."""
    def up(self, to: Optional[int] = None) -> MigrateReport:
        """Applies the pending migrations, each in one transaction with its bookkeeping, under the
        migration lock (other replicas wait).

        Args:
            to: apply up to this version (default: all).

        Returns:
            MigrateReport: the versions before and after, each migration applied and its time.

        Raises:
            ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
            DatabaseError: PostgreSQL refused a statement or the connection failed.
            MigrationError: a migration failed (file, line and statement in the message; nothing of it
                applied unless it runs outside a transaction).
            MigrationSourceError: a migration file or directory is invalid.
            DirtyDatabaseError: the database is dirty after a failed non-transactional migration: repair
                it, then ``force``.
            ChecksumMismatchError: an applied migration's file changed (strict mode).
            RefusedError: the risk guard refused a step (nothing applied), or lock retries ran out.
            KeyboardInterrupt: on Ctrl-C: the operation is cancelled and cleaned up first."""
    def up_async(self, to: Optional[int] = None) -> Awaitable[MigrateReport]:
        """The awaitable form of `up`: the same arguments, result and errors."""
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
        """Applies the pending migrations after a verified backup of the database into ``store``, taken
        only when something is pending. A failed migration's error names the backup and the command that
        restores it.

        Args:
            store: the store URL: ``file:///dir`` (or a path), ``s3://bucket/prefix``,
                ``gs://bucket/prefix``, ``az://container/prefix`` or ``memory://name``.
            to: apply up to this version (default: all).
            store_options: the store client's settings (keys of the object store builders, e.g.
                ``aws_endpoint``, ``aws_allow_http``); credentials come from the cloud's environment
                variables, never from here.
            recipients: age recipients (``age1...``) to encrypt to.
            passphrase: encrypt (and read back) with this passphrase.
            identity: an age identity to read an encrypted backup back with.
            identity_file: a file of age identities to read it back with.

        Returns:
            GuardedMigrateReport: the backup (with its ``restore_command``), or None when nothing was
                pending, and the ``MigrateReport``.

        Raises:
            ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
            DatabaseError: PostgreSQL refused a statement or the connection failed.
            MigrationError: a migration failed (file, line and statement in the message; nothing of it
                applied unless it runs outside a transaction).
            MigrationSourceError: a migration file or directory is invalid.
            DirtyDatabaseError: the database is dirty after a failed non-transactional migration: repair
                it, then ``force``.
            ChecksumMismatchError: an applied migration's file changed (strict mode).
            RefusedError: the risk guard refused a step (nothing applied), or lock retries ran out.
            KeyboardInterrupt: on Ctrl-C: the operation is cancelled and cleaned up first.
            StorageError: the store failed (its ``kind`` says how: not found, permission denied,
                transient, ...).
            IntegrityError: stored data does not match its manifest or checksums.
            EncryptionError: the data cannot be decrypted (missing or wrong key or passphrase) or a
                recipient is invalid.
            ClusterError: a PostgreSQL program (``pg_dump``, ``pg_restore``, ``psql``, ``postgres``,
                ...) failed; its message has the program's last lines."""
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
        """The awaitable form of `up_with_backup`: the same arguments, result and errors."""
    def down(self, count: int = 1, *, all: bool = False) -> MigrateReport:
        """Rolls back migrations with their down files.

        Args:
            count: how many to roll back (default 1).
            all: roll back every applied migration.

        Returns:
            MigrateReport: the versions before and after and each migration rolled back.

        Raises:
            ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
            DatabaseError: PostgreSQL refused a statement or the connection failed.
            MigrationError: a migration failed (file, line and statement in the message; nothing of it
                applied unless it runs outside a transaction).
            MigrationSourceError: a migration file or directory is invalid.
            DirtyDatabaseError: the database is dirty after a failed non-transactional migration: repair
                it, then ``force``.
            ChecksumMismatchError: an applied migration's file changed (strict mode).
            RefusedError: the risk guard refused a step (nothing applied), or lock retries ran out.
            KeyboardInterrupt: on Ctrl-C: the operation is cancelled and cleaned up first."""
    def down_async(self, count: int = 1, *, all: bool = False) -> Awaitable[MigrateReport]:
        """The awaitable form of `down`: the same arguments, result and errors."""
    def goto(self, version: int) -> MigrateReport:
        """Migrates up or down to exactly ``version``.

        Args:
            version: the version to end at.

        Returns:
            MigrateReport: the versions before and after and each step.

        Raises:
            ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
            DatabaseError: PostgreSQL refused a statement or the connection failed.
            MigrationError: a migration failed (file, line and statement in the message; nothing of it
                applied unless it runs outside a transaction).
            MigrationSourceError: a migration file or directory is invalid.
            DirtyDatabaseError: the database is dirty after a failed non-transactional migration: repair
                it, then ``force``.
            ChecksumMismatchError: an applied migration's file changed (strict mode).
            RefusedError: the risk guard refused a step (nothing applied), or lock retries ran out.
            KeyboardInterrupt: on Ctrl-C: the operation is cancelled and cleaned up first."""
    def goto_async(self, version: int) -> Awaitable[MigrateReport]:
        """The awaitable form of `goto`: the same arguments, result and errors."""
    def version(self) -> Optional[VersionState]:
        """Reads the recorded version.

        Returns:
            VersionState | None: the version and whether it is dirty, or None when nothing is applied.

        Raises:
            ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
            DatabaseError: PostgreSQL refused a statement or the connection failed."""
    def version_async(self) -> Awaitable[Optional[VersionState]]:
        """The awaitable form of `version`: the same arguments, result and errors."""
    def force(self, version: Optional[int]) -> None:
        """Records ``version`` as the clean current version without running anything (after repairing a
        dirty database by hand).

        Args:
            version: the version the database truly is at (None or -1: nothing applied).

        Returns:
            None.

        Raises:
            ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
            DatabaseError: PostgreSQL refused a statement or the connection failed.
            MigrationSourceError: a migration file or directory is invalid."""
    def force_async(self, version: Optional[int]) -> Awaitable[None]:
        """The awaitable form of `force`: the same arguments, result and errors."""
    def status(self) -> List[MigrationStatus]:
        """Lists every migration with its state.

        Returns:
            list[MigrationStatus]: version, name, state (applied, pending, changed, dirty) and whether
                it has a down file.

        Raises:
            ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
            DatabaseError: PostgreSQL refused a statement or the connection failed.
            MigrationSourceError: a migration file or directory is invalid."""
    def status_async(self) -> Awaitable[List[MigrationStatus]]:
        """The awaitable form of `status`: the same arguments, result and errors."""
    def plan(self, to: Optional[int] = None) -> List[PlannedStep]:
        """The steps ``up(to)`` would take, without running them.

        Args:
            to: plan up to this version (default: all).

        Returns:
            list[PlannedStep]: each migration, its direction and whether it runs in a transaction.

        Raises:
            ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
            DatabaseError: PostgreSQL refused a statement or the connection failed.
            MigrationSourceError: a migration file or directory is invalid."""
    def plan_async(self, to: Optional[int] = None) -> Awaitable[List[PlannedStep]]:
        """The awaitable form of `plan`: the same arguments, result and errors."""
    def plan_locks(
        self, to: Optional[int] = None, *, max_blocking: Optional[float] = None
    ) -> LockPlan:
        """The lock plan of the pending migrations against the live database: each statement's lock, the
        work done under it, the table's size, the sessions in the way and a verdict.

        Args:
            to: plan up to this version (default: all).
            max_blocking: seconds of blocking that count as blocking (default 1).

        Returns:
            LockPlan: one ``StatementPlan`` per statement and the worst verdict.

        Raises:
            ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
            DatabaseError: PostgreSQL refused a statement or the connection failed.
            MigrationSourceError: a migration file or directory is invalid."""
    def plan_locks_async(
        self, to: Optional[int] = None, *, max_blocking: Optional[float] = None
    ) -> Awaitable[LockPlan]:
        """The awaitable form of `plan_locks`: the same arguments, result and errors."""

def lint(source: str, *, server_major: Optional[int] = None) -> List[LintFinding]:
    """Lints the migrations of a directory without a database: statements read with PostgreSQL's
    grammar and checked against rules that know each statement's lock (the rules of ``dbops migrate
    lint``; each finding's message has the safe rewrite).

    Args:
        source: the migrations directory.
        server_major: the oldest PostgreSQL major the migrations must be safe on (default 13).

    Returns:
        list[LintFinding]: rule, severity, file, line, column and message of each finding (empty:
            nothing found).

    Raises:
        MigrationSourceError: a migration file or directory is invalid.
        DbopsIOError: a local file or directory could not be read or written."""

def create_migration(directory: str, name: str, *, timestamp: bool = False) -> Tuple[str, str]:
    """Creates the next pair of empty migration files in ``directory``.

    Args:
        directory: the migrations directory (created if missing).
        name: the migration's name (``add tips`` becomes ``add_tips``).
        timestamp: name it by the time instead of the next sequence number.

    Returns:
        tuple[str, str]: the paths of the up and down files.

    Raises:
        ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
        DbopsIOError: a local file or directory could not be read or written.
        MigrationSourceError: a migration file or directory is invalid."""

def _panic_for_tests(mode: str) -> Any:
    """Panics inside the binding on purpose, so tests can prove a panic surfaces as `InternalError`:
    `mode` is `"sync"` (a synchronous body), `"blocking"` (an operation run with the GIL released)
    or `"async"` (returns an awaitable that panics when awaited). Not part of the public API."""

def defaults() -> Dict[str, Dict[str, Any]]:
    """The library's defaults of the settings Python passes as plain numbers and words, by function:
    a keyword left at None takes these; tests compare every keyword's default with them."""

def cli_main(argv: List[str]) -> int:
    """Runs the dbops command line with ``argv`` (without the program name), as ``python -m dbops``
    does.

    Args:
        argv: the arguments, e.g. ``['migrate', 'up']``.

    Returns:
        int: the exit code (0 success, 1 failure, 2 bad usage, 70 internal error).

    Raises:
        SystemExit: never: errors are printed and become the exit code."""

@final
class TempCluster:
    """A throwaway PostgreSQL cluster; stopped and removed by `stop()`, on `with` exit, or when collected."""

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
        """Starts a throwaway PostgreSQL cluster from the installed server programs (the GIL is released).
        It is stopped and removed by ``stop()``, on ``with`` exit, when collected, or when the process
        ends.

        Args:
            tcp: also listen on 127.0.0.1 with a random password (``tcp_url``).
            durable: keep fsync and full page writes on.
            settings: server settings (``{'work_mem': '64MB'}``).
            data_dir: run on this directory (created by initdb unless it holds one, e.g. one prepared by
                ``dbops.pitr.restore``: it runs the PostgreSQL major that made it), kept afterwards.
            in_memory: keep its files on ``/dev/shm`` when that has 1 GiB free (fast clones for tests;
                ``DBOPS_TMPDIR`` wins).
            major: the installed PostgreSQL major to run (default: ``DBOPS_PG_MAJOR``, else the first
                found).

        Returns:
            TempCluster: the running cluster (a context manager that stops it on exit; it also stops
                with the process).

        Raises:
            ClusterError: no PostgreSQL installation was found (the message lists where it looked and
                how to install one) or the server did not start.
            ConfigError: an invalid URL, store URL, option or file, refused before anything is done."""
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
        """The awaitable form of `start`: the same arguments, result and errors."""
    @property
    def url(self) -> str:
        """Superuser URL over the unix socket (no password)."""
    @property
    def tcp_url(self) -> Optional[str]:
        """Superuser URL over TCP with its password, when started with `tcp=True`."""
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
        """Stops the server and removes its files (a ``data_dir`` given to ``start`` is kept).

        Returns:
            None.

        Raises:
            ClusterError: a PostgreSQL program (``pg_dump``, ``pg_restore``, ``psql``, ``postgres``,
                ...) failed; its message has the program's last lines."""
    def stop_async(self) -> Awaitable[None]:
        """The awaitable form of `stop`: the same arguments, result and errors."""
    def __enter__(self) -> TempCluster: ...
    def __exit__(self, t: Any, v: Any, tb: Any) -> bool: ...

@final
class TestDatabase:
    """One cloned database; dropped by `drop()`, on `with` exit, or in the background when collected."""

    @property
    def url(self) -> str:
        """Its connection URL."""
    @property
    def name(self) -> str:
        """Its name."""
    def drop(self) -> None:
        """Drops the database now, terminating its connections.

        Returns:
            None.

        Raises:
            DatabaseError: PostgreSQL refused a statement or the connection failed."""
    def drop_async(self) -> Awaitable[None]:
        """The awaitable form of `drop`: the same arguments, result and errors."""
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
        """Builds (or reuses) the template on the server at ``admin_url``: applies ``migrations``, seeds
        ``seed``, then runs ``setup_sql``; built once under a lock, whatever the number of processes.

        Args:
            admin_url: a superuser URL of the server the databases are made on.
            setup_sql: SQL scripts run last, in order.
            migrations: a migrations directory applied first.
            seed: a profile to seed (``light``, ``medium``, ``heavy``).
            seed_scale: the seed's scale.
            seed_seed: the seed's random seed.
            prefix: the prefix of the template's and clones' names.
            spares: clones prepared ahead in the background.

        Returns:
            TestDatabases: the factory of test databases.

        Raises:
            ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
            DatabaseError: PostgreSQL refused a statement or the connection failed.
            MigrationError: a migration failed (file, line and statement in the message; nothing of it
                applied unless it runs outside a transaction)."""
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
        """The awaitable form of `build`: the same arguments, result and errors."""
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
        """Builds (or reuses) the template on an embedded cluster, as ``build`` does.

        Args:
            cluster: a ``TempCluster``.
            setup_sql: SQL scripts run last, in order.
            migrations: a migrations directory applied first.
            seed: a profile to seed (``light``, ``medium``, ``heavy``).
            seed_scale: the seed's scale.
            seed_seed: the seed's random seed.
            prefix: the prefix of the template's and clones' names.
            spares: clones prepared ahead in the background.

        Returns:
            TestDatabases: the factory of test databases.

        Raises:
            ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
            DatabaseError: PostgreSQL refused a statement or the connection failed.
            MigrationError: a migration failed (file, line and statement in the message; nothing of it
                applied unless it runs outside a transaction)."""
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
        """The awaitable form of `on_cluster`: the same arguments, result and errors."""
    @property
    def template_name(self) -> str:
        """The template database's name."""
    def create(self) -> TestDatabase:
        """Clones a fresh database from the template (a spare prepared ahead when one is ready).

        Returns:
            TestDatabase: the database (a context manager that drops it on exit).

        Raises:
            DatabaseError: PostgreSQL refused a statement or the connection failed."""
    def create_async(self) -> Awaitable[TestDatabase]:
        """The awaitable form of `create`: the same arguments, result and errors."""

@final
class HealthProbe:
    """Liveness and readiness of a database: ``HealthProbe(url, ...)``; reports are ``HealthReport``s
    (status, checks, checked_at, migration).

    Args:
        url: the database: a ``postgres://`` URL or a libpq ``key=value`` string.
        timeout: seconds the readiness checks may take.
        cache_ttl: seconds a readiness result is reused.
        migrations: require applied, clean migrations to be ready.
        min_version: require at least this schema version to be ready.

    Raises:
        ConfigError: an invalid URL or option."""

    def __new__(
        cls,
        url: str,
        *,
        timeout: float = 2.0,
        cache_ttl: float = 1.0,
        migrations: bool = True,
        min_version: Optional[int] = None,
    ) -> HealthProbe:
        """Create and return a new object.  See help(type) for accurate signature."""
    def ready(self) -> HealthReport:
        """Checks readiness: the database answers within the timeout and (unless turned off) the migrations
        are applied, clean and at least ``min_version``. Cached for ``cache_ttl`` seconds.

        Returns:
            HealthReport: ``status`` (``up`` or ``down``) and each check's result; a failing database is
                a failed check, not an exception.

        Raises:
            InternalError: only on a bug in dbops."""
    def ready_async(self) -> Awaitable[HealthReport]:
        """The awaitable form of `ready`: the same arguments, result and errors."""
    def live(self) -> HealthReport:
        """Checks liveness: the process answers. Never touches the database (an outage must not restart
        every replica).

        Returns:
            HealthReport: ``up`` while the process runs.

        Raises:
            InternalError: only on a bug in dbops."""
    def live_async(self) -> Awaitable[HealthReport]:
        """The awaitable form of `live`: the same arguments, result and errors."""

def wait_for_cleanups(timeout_secs: float = 60.0) -> int:
    """Waits (the GIL released) for the clean-ups of cancelled operations: a cancelled awaitable's
    staging database, upload or lock.

    Args:
        timeout_secs: seconds to wait at most.

    Returns:
        int: how many clean-ups are still running (0: all done).

    Raises:
        ConfigError: a negative or non-finite timeout."""

def generate_key_pair() -> KeyPair:
    """Generates a new age key pair for encrypted backups.

    Returns:
        KeyPair: ``recipient`` (``age1...``: give it to backup hosts) and ``identity``
            (``AGE-SECRET-KEY-1...``: keep it offline; its repr hides it).

    Raises:
        InternalError: only on a bug in dbops."""

def backup_metrics(reports: List[BackupHealthReport]) -> str:
    """Renders ``backup_health`` reports as Prometheus text (for a node exporter's textfile collector).

    Args:
        reports: one ``BackupHealthReport`` or a list of them.

    Returns:
        str: the exposition text, one set of gauges per report.

    Raises:
        ConfigError: a report is not a ``BackupHealthReport``."""

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
    """Backs up the database at ``url`` into ``store``.

    Nothing is published unless the whole backup is stored: a failed or interrupted backup leaves no
    manifest and removes its objects.

    Args:
        url: the database: a ``postgres://`` URL or a libpq ``key=value`` string.
        store: the store URL: ``file:///dir`` (or a path), ``s3://bucket/prefix``,
            ``gs://bucket/prefix``, ``az://container/prefix`` or ``memory://name``.
        format: ``tables`` (default: the tables dumped and restored in parallel), ``custom`` (one
            ``pg_dump -Fc`` archive) or ``plain`` (SQL).
        jobs: connections dumping tables at once (default: the library's, 4).
        compression: ``zstd`` (default), ``gzip``, ``lz4`` or ``none``.
        level: the compression level (default: the codec's).
        threads: compression threads (0: the codec's default).
        copy_format: ``binary`` (default: faster restores; columns of other types stay text) or
            ``text``.
        statistics: carry the planner statistics of a PostgreSQL 18 or newer server, so a restore
            into 18 or newer needs no ANALYZE.
        recipients: age recipients (``age1...``) to encrypt to.
        passphrase: encrypt with this passphrase instead of recipients.
        globals: also store roles and tablespaces (``pg_dumpall --globals-only``).
        row_counts: record every table's row count in the manifest (a restore compares them).
        labels: free key/value labels stored in the manifest.
        store_options: the store client's settings (keys of the object store builders, e.g.
            ``aws_endpoint``, ``aws_allow_http``); credentials come from the cloud's environment
            variables, never from here.
        progress: called as ``progress(stage, done, total)`` while it runs (``total`` None when
            unknown).
        mask: a masking rules file (TOML): personal data is masked on the way.
        mask_key_env: the environment variable holding the masking key (default: the rules'
            ``key_env``, else ``DBOPS_MASK_KEY``).
        mask_key: the masking key itself (instead of an environment variable).
        allow_unmasked: ``table.column`` names that may stay unmasked although they look personal.

    Returns:
        BackupReport: the published manifest (``manifest.id``, sizes, tables), the store and the
            time taken.

    Raises:
        ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
        DatabaseError: PostgreSQL refused a statement or the connection failed.
        StorageError: the store failed (its ``kind`` says how: not found, permission denied,
            transient, ...).
        ClusterError: a PostgreSQL program (``pg_dump``, ``pg_restore``, ``psql``, ``postgres``,
            ...) failed; its message has the program's last lines.
        EncryptionError: the data cannot be decrypted (missing or wrong key or passphrase) or a
            recipient is invalid.
        RefusedError: another backup of the database holds the store lock, or masking rules do not
            cover a personal column.
        KeyboardInterrupt: on Ctrl-C: the operation is cancelled and cleaned up first."""
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
    """The awaitable form of `backup`: the same arguments, result and errors."""
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
    """Restores a backup from ``store`` into the server at ``url``: by default the newest backup of the
    database ``url`` names, over that database.

    Args:
        url: the database: a ``postgres://`` URL or a libpq ``key=value`` string.
        store: the store URL: ``file:///dir`` (or a path), ``s3://bucket/prefix``,
            ``gs://bucket/prefix``, ``az://container/prefix`` or ``memory://name``.
        backup_id: the backup's id (default: the newest).
        before: the newest backup taken before this time (``YYYY-MM-DD HH:MM:SS``, UTC, or RFC
            3339).
        key: a backup by its object key (also the old scripts' ``backup_*.sql.gz`` files).
        from_database: the database whose backups to choose from (default: the one ``url`` names).
        into: restore into this database instead of the one ``url`` names.
        create: create ``into`` first (it must not exist); on failure it is dropped again.
        clean: drop the target's existing objects first.
        no_owner: do not restore object ownership.
        no_acl: do not restore privileges.
        jobs: tables loaded at once (default: the library's).
        analyze: run ANALYZE afterwards when the backup carries no statistics.
        identity: the text of an age identity (``AGE-SECRET-KEY-1...``) that decrypts.
        identity_file: a file holding the age identities that decrypt.
        passphrase: the passphrase of passphrase-encrypted data.
        check_row_counts: compare every table's row count with the manifest and fail on a
            difference.
        store_options: the store client's settings (keys of the object store builders, e.g.
            ``aws_endpoint``, ``aws_allow_http``); credentials come from the cloud's environment
            variables, never from here.
        progress: called as ``progress(stage, done, total)`` while it runs (``total`` None when
            unknown).
        mask: a masking rules file (TOML): personal data is masked on the way.
        mask_key_env: the environment variable holding the masking key (default: the rules'
            ``key_env``, else ``DBOPS_MASK_KEY``).
        mask_key: the masking key itself (instead of an environment variable).
        allow_unmasked: ``table.column`` names that may stay unmasked although they look personal.
        subset: subset rules (``"rides: requested_at > now() - interval '30 days'"``): only those
            rows and what they reference.

    Returns:
        RestoreReport: the backup restored, into which database, the stages and their times, what
            was masked.

    Raises:
        ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
        DatabaseError: PostgreSQL refused a statement or the connection failed.
        StorageError: the store failed (its ``kind`` says how: not found, permission denied,
            transient, ...).
        BackupNotFoundError: no backup matches what was asked for.
        IntegrityError: stored data does not match its manifest or checksums.
        EncryptionError: the data cannot be decrypted (missing or wrong key or passphrase) or a
            recipient is invalid.
        ClusterError: a PostgreSQL program (``pg_dump``, ``pg_restore``, ``psql``, ``postgres``,
            ...) failed; its message has the program's last lines.
        RefusedError: the target database exists and neither ``clean`` nor a new ``into`` was given,
            or masking rules do not fit.
        KeyboardInterrupt: on Ctrl-C: the operation is cancelled and cleaned up first."""
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
    """Checks masking rules against the database at ``url``, or (with ``store``) against a backup's
    schema restored into a scratch database on that server. No masking key is needed.

    Args:
        rules: the masking rules file (TOML).
        url: the database: a ``postgres://`` URL or a libpq ``key=value`` string.
        store: check against the schema of this store's backup instead of the live database.
        backup_id: the backup's id (default: the newest).
        from_database: the database whose backups to choose from.
        allow_unmasked: ``table.column`` names that may stay unmasked although they look personal.
        identity: the text of an age identity (``AGE-SECRET-KEY-1...``) that decrypts.
        identity_file: a file holding the age identities that decrypt.
        passphrase: the passphrase of passphrase-encrypted data.
        store_options: the store client's settings (keys of the object store builders, e.g.
            ``aws_endpoint``, ``aws_allow_http``); credentials come from the cloud's environment
            variables, never from here.

    Returns:
        MaskCheck: ``ok`` and the ``problems`` (file line and message each): unknown tables or
            columns, personal-looking columns left unmasked, transformers that do not fit a column's
            type.

    Raises:
        ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
        DatabaseError: PostgreSQL refused a statement or the connection failed.
        StorageError: the store failed (its ``kind`` says how: not found, permission denied,
            transient, ...).
        BackupNotFoundError: no backup matches what was asked for.
        EncryptionError: the data cannot be decrypted (missing or wrong key or passphrase) or a
            recipient is invalid."""
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
    """The awaitable form of `mask_check`: the same arguments, result and errors."""
def mask_init(url: str) -> str:
    """Drafts complete masking rules for the database at ``url``: every table and column, with a
    transformer suggested for each column that looks personal. Review them before use.

    Args:
        url: the database: a ``postgres://`` URL or a libpq ``key=value`` string.

    Returns:
        str: the rules as TOML text.

    Raises:
        ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
        DatabaseError: PostgreSQL refused a statement or the connection failed."""
def mask_init_async(url: str) -> Awaitable[str]:
    """The awaitable form of `mask_init`: the same arguments, result and errors."""
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
    """The awaitable form of `restore`: the same arguments, result and errors."""
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
    """Downloads, decrypts, decompresses and checks a backup of ``database`` without touching any
    database: every object's hash against the manifest and the archive's table of contents.

    Args:
        store: the store URL: ``file:///dir`` (or a path), ``s3://bucket/prefix``,
            ``gs://bucket/prefix``, ``az://container/prefix`` or ``memory://name``.
        database: the database name the backups are of.
        backup_id: the backup's id (default: the newest).
        before: the newest backup taken before this time (``YYYY-MM-DD HH:MM:SS``, UTC, or RFC
            3339).
        key: a backup by its object key (also the old scripts' ``backup_*.sql.gz`` files).
        identity: the text of an age identity (``AGE-SECRET-KEY-1...``) that decrypts.
        identity_file: a file holding the age identities that decrypt.
        passphrase: the passphrase of passphrase-encrypted data.
        store_options: the store client's settings (keys of the object store builders, e.g.
            ``aws_endpoint``, ``aws_allow_http``); credentials come from the cloud's environment
            variables, never from here.
        progress: called as ``progress(stage, done, total)`` while it runs (``total`` None when
            unknown).

    Returns:
        ValidationReport: what was checked and the backup's manifest.

    Raises:
        ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
        StorageError: the store failed (its ``kind`` says how: not found, permission denied,
            transient, ...).
        BackupNotFoundError: no backup matches what was asked for.
        IntegrityError: stored data does not match its manifest or checksums.
        EncryptionError: the data cannot be decrypted (missing or wrong key or passphrase) or a
            recipient is invalid.
        ClusterError: a PostgreSQL program (``pg_dump``, ``pg_restore``, ``psql``, ``postgres``,
            ...) failed; its message has the program's last lines."""
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
    """The awaitable form of `validate_backup`: the same arguments, result and errors."""
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
    """Restores a backup of ``database`` into a throwaway database (on ``server``, else an embedded
    cluster of the backup's PostgreSQL major), checks it (row counts, ``pg_amcheck``) and records
    the result in the store, where ``backup_health`` finds it.

    Args:
        store: the store URL: ``file:///dir`` (or a path), ``s3://bucket/prefix``,
            ``gs://bucket/prefix``, ``az://container/prefix`` or ``memory://name``.
        database: the database name the backups are of.
        backup_id: the backup's id (default: the newest).
        server: a server URL to restore on (default: an embedded cluster).
        identity: the text of an age identity (``AGE-SECRET-KEY-1...``) that decrypts.
        identity_file: a file holding the age identities that decrypt.
        passphrase: the passphrase of passphrase-encrypted data.
        store_options: the store client's settings (keys of the object store builders, e.g.
            ``aws_endpoint``, ``aws_allow_http``); credentials come from the cloud's environment
            variables, never from here.

    Returns:
        RestoreTestReport: the backup, the checks and their times.

    Raises:
        ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
        DatabaseError: PostgreSQL refused a statement or the connection failed.
        StorageError: the store failed (its ``kind`` says how: not found, permission denied,
            transient, ...).
        BackupNotFoundError: no backup matches what was asked for.
        IntegrityError: stored data does not match its manifest or checksums.
        EncryptionError: the data cannot be decrypted (missing or wrong key or passphrase) or a
            recipient is invalid.
        ClusterError: a PostgreSQL program (``pg_dump``, ``pg_restore``, ``psql``, ``postgres``,
            ...) failed; its message has the program's last lines."""
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
    """The awaitable form of `restore_test`: the same arguments, result and errors."""
def list_backups(store: str, database: Optional[str] = None, *, store_options: Optional[Dict[str, str]] = None) -> Catalog:
    """Lists the backups in ``store``.

    Args:
        store: the store URL: ``file:///dir`` (or a path), ``s3://bucket/prefix``,
            ``gs://bucket/prefix``, ``az://container/prefix`` or ``memory://name``.
        database: only this database's backups (default: all).
        store_options: the store client's settings (keys of the object store builders, e.g.
            ``aws_endpoint``, ``aws_allow_http``); credentials come from the cloud's environment
            variables, never from here.

    Returns:
        Catalog: the backups (newest first), problems (unreadable manifests) and orphans (objects
            without a manifest).

    Raises:
        ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
        StorageError: the store failed (its ``kind`` says how: not found, permission denied,
            transient, ...)."""
def list_backups_async(store: str, database: Optional[str] = None, *, store_options: Optional[Dict[str, str]] = None) -> Awaitable[Catalog]:
    """The awaitable form of `list_backups`: the same arguments, result and errors."""
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
    """Plans, and with ``apply=True`` carries out, retention for ``database``'s backups in ``store``: a
    backup is kept when any rule keeps it; the newest is always kept.

    Args:
        store: the store URL: ``file:///dir`` (or a path), ``s3://bucket/prefix``,
            ``gs://bucket/prefix``, ``az://container/prefix`` or ``memory://name``.
        database: the database name the backups are of.
        keep_last: keep the newest N.
        keep_within_days: keep every backup of the last N days.
        keep_daily: keep the newest of each of the last N days.
        keep_weekly: the newest of each of the last N weeks.
        keep_monthly: the newest of each of the last N months.
        keep_yearly: the newest of each of the last N years.
        orphan_grace_hours: objects without a manifest older than this are removed (younger ones may
            be a running backup).
        apply: delete; without it, only the plan.
        store_options: the store client's settings (keys of the object store builders, e.g.
            ``aws_endpoint``, ``aws_allow_http``); credentials come from the cloud's environment
            variables, never from here.

    Returns:
        RetentionPlan: the backups kept (with the rules that keep each), deleted and the orphans
            removed.

    Raises:
        ConfigError: no rule was given (it would plan the deletion of every backup) or an invalid
            store URL.
        StorageError: the store failed (its ``kind`` says how: not found, permission denied,
            transient, ...)."""
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
    """The awaitable form of `apply_retention`: the same arguments, result and errors."""
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
    """Checks the backups of ``database`` in ``store``: reachability, the newest backup's age and
    integrity, size changes, count, catalog problems, the last restore test and (with ``server``)
    WAL archiving. A threshold left at None is the library's default (``BackupHealthLimits``).

    A store that cannot be reached is a critical check in the report, not an exception.

    Args:
        store: the store URL: ``file:///dir`` (or a path), ``s3://bucket/prefix``,
            ``gs://bucket/prefix``, ``az://container/prefix`` or ``memory://name``.
        database: the database name the backups are of.
        max_age_hours: warn when the newest backup is older (default 26).
        critical_age_hours: critical when older (default 52).
        size_drop_ratio: critical when the newest backup is smaller than this share of the previous
            one.
        size_jump_ratio: warn when it is larger than this multiple.
        min_backups: warn with fewer backups.
        max_restore_test_age_days: warn when the last restore test is older.
        full: also read the newest backup whole and check every hash.
        server: a server URL whose WAL archiving is checked too.
        max_wal_age_minutes: warn when nothing was archived for longer.
        store_options: the store client's settings (keys of the object store builders, e.g.
            ``aws_endpoint``, ``aws_allow_http``); credentials come from the cloud's environment
            variables, never from here.

    Returns:
        BackupHealthReport: ``status`` (``ok``, ``warn`` or ``critical``) and one ``HealthCheck``
            per check with its reason.

    Raises:
        ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
        DatabaseError: ``server`` was given and cannot be queried."""
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
    """The awaitable form of `backup_health`: the same arguments, result and errors."""
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
    """Sends alerts for a ``backup_health`` report when its state changed since the last notification
    (or a reminder is due); the notification state is kept in the store.

    Args:
        report: the ``BackupHealthReport`` of ``backup_health``.
        store: the store URL: ``file:///dir`` (or a path), ``s3://bucket/prefix``,
            ``gs://bucket/prefix``, ``az://container/prefix`` or ``memory://name``.
        slack_webhook: a Slack incoming-webhook URL.
        webhook: a URL that receives the report as JSON.
        smtp: e-mail settings: ``host``, ``port``, ``security`` (``starttls``, ``tls``, ``none``),
            ``username``, ``password`` (or ``password_file``; else ``DBOPS_SMTP_PASSWORD``),
            ``from``, ``to`` (a list).
        remind_hours: repeat an unchanged non-ok state after this many hours (None: 24, 0: never).
        store_options: the store client's settings (keys of the object store builders, e.g.
            ``aws_endpoint``, ``aws_allow_http``); credentials come from the cloud's environment
            variables, never from here.

    Returns:
        AlertOutcome: whether the state changed, what was sent and each channel's ``Delivery`` (a
            failed delivery is reported there, not raised).

    Raises:
        ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
        StorageError: the store failed (its ``kind`` says how: not found, permission denied,
            transient, ...)."""
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
    """The awaitable form of `send_alerts`: the same arguments, result and errors."""
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
    """Seeds a profile of the reference ride-hailing data into the migrated database at ``url``.

    Args:
        url: the database: a ``postgres://`` URL or a libpq ``key=value`` string.
        profile: ``light``, ``medium`` or ``heavy``.
        scale: multiplies the profile's row counts.
        seed: the random seed (the same seed gives the same data).
        existing: ``refuse`` (default), ``append`` or ``truncate`` when data exists.
        analyze: ANALYZE the seeded tables.
        progress: called as ``progress(stage, done, total)`` while it runs (``total`` None when
            unknown).

    Returns:
        SeedReport: rows per table and the time taken.

    Raises:
        ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
        DatabaseError: PostgreSQL refused a statement or the connection failed.
        RefusedError: the database already has data and ``existing`` is ``refuse``.
        KeyboardInterrupt: on Ctrl-C: the operation is cancelled and cleaned up first."""
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
    """The awaitable form of `seed`: the same arguments, result and errors."""
def seed_file(url: str, path: str) -> SeedFileReport:
    """Runs a seed SQL file in one transaction (nothing is kept when a statement fails).

    Args:
        url: the database: a ``postgres://`` URL or a libpq ``key=value`` string.
        path: the SQL file (the error of a failing statement names its line).

    Returns:
        SeedFileReport: statements run and the time taken.

    Raises:
        ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
        DatabaseError: PostgreSQL refused a statement or the connection failed.
        DbopsIOError: a local file or directory could not be read or written."""
def seed_file_async(url: str, path: str) -> Awaitable[SeedFileReport]:
    """The awaitable form of `seed_file`: the same arguments, result and errors."""
def reset(url: str, source: str, *, seed: Optional[str] = None, force: bool = False) -> ResetReport:
    """Drops and recreates the database at ``url`` (terminating its sessions), migrates it from
    ``source`` and optionally seeds it, like the old ``make db-reset``.

    Args:
        url: the database: a ``postgres://`` URL or a libpq ``key=value`` string.
        source: the migrations directory.
        seed: a profile to seed afterwards (``light``, ``medium``, ``heavy``).
        force: reset even a database that looks like production.

    Returns:
        ResetReport: what was dropped, the migrations applied and the seed's report.

    Raises:
        ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
        DatabaseError: PostgreSQL refused a statement or the connection failed.
        MigrationError: a migration failed (file, line and statement in the message; nothing of it
            applied unless it runs outside a transaction).
        RefusedError: the database looks like production (its name or host, or the server says so)
            and ``force`` is not set."""
def reset_async(url: str, source: str, *, seed: Optional[str] = None, force: bool = False) -> Awaitable[ResetReport]:
    """The awaitable form of `reset`: the same arguments, result and errors."""
def status(url: str, *, long_running: float = 60.0, limit: int = 10) -> DbStatus:
    """The monitoring report of the database at ``url``: connections, long-running queries, locks and
    waits, table and index sizes, vacuum state, replication and archiver.

    Args:
        url: the database: a ``postgres://`` URL or a libpq ``key=value`` string.
        long_running: queries running longer than this many seconds are listed.
        limit: rows per list (largest tables, top queries, ...).

    Returns:
        DbStatus: the report (the same as ``dbops db status --json``).

    Raises:
        ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
        DatabaseError: PostgreSQL refused a statement or the connection failed."""
def status_async(url: str, *, long_running: float = 60.0, limit: int = 10) -> Awaitable[DbStatus]:
    """The awaitable form of `status`: the same arguments, result and errors."""
def terminate(url: str, pid: int) -> bool:
    """Terminates the server session (backend) ``pid``, as ``pg_terminate_backend`` does.

    Args:
        url: the database: a ``postgres://`` URL or a libpq ``key=value`` string.
        pid: the backend's process id (from ``status``).

    Returns:
        bool: True when a session was terminated, False when there was none.

    Raises:
        ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
        DatabaseError: PostgreSQL refused a statement or the connection failed."""
def terminate_async(url: str, pid: int) -> Awaitable[bool]:
    """The awaitable form of `terminate`: the same arguments, result and errors."""
def verify(url: str, source: str, *, skip_rollback: bool = False, keep: bool = False, progress: Optional[_Progress] = None) -> VerifyReport:
    """Verifies every migration's round trip in a scratch database on the server of ``url``: each up,
    then its down, then up again, comparing the schema each time.

    Args:
        url: the database: a ``postgres://`` URL or a libpq ``key=value`` string.
        source: the migrations directory.
        skip_rollback: only apply the up files.
        keep: keep the scratch database (its name is in the report).
        progress: called as ``progress(stage, done, total)`` while it runs (``total`` None when
            unknown).

    Returns:
        VerifyReport: ``passed`` and each migration's result with the schema differences found.

    Raises:
        ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
        DatabaseError: PostgreSQL refused a statement or the connection failed.
        MigrationSourceError: a migration file or directory is invalid.
        KeyboardInterrupt: on Ctrl-C: the operation is cancelled and cleaned up first."""
def verify_async(url: str, source: str, *, skip_rollback: bool = False, keep: bool = False, progress: Optional[_Progress] = None) -> Awaitable[VerifyReport]:
    """The awaitable form of `verify`: the same arguments, result and errors."""
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
    """Archives one WAL file into ``store`` (what ``archive_command`` runs); idempotent: an identical
    copy already stored is success.

    Args:
        store: the store URL: ``file:///dir`` (or a path), ``s3://bucket/prefix``,
            ``gs://bucket/prefix``, ``az://container/prefix`` or ``memory://name``.
        path: the WAL file (``%p``).
        recipients: age recipients (``age1...``) to encrypt to.
        passphrase: the passphrase of passphrase-encrypted data.
        identity: an identity to compare an encrypted existing copy with.
        deadline: seconds before giving up (the archiver retries).
        store_options: the store client's settings (keys of the object store builders, e.g.
            ``aws_endpoint``, ``aws_allow_http``); credentials come from the cloud's environment
            variables, never from here.

    Returns:
        PushReport: the key, sizes and whether it was already stored.

    Raises:
        ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
        StorageError: the store failed (its ``kind`` says how: not found, permission denied,
            transient, ...).
        EncryptionError: the data cannot be decrypted (missing or wrong key or passphrase) or a
            recipient is invalid.
        DbopsIOError: a local file or directory could not be read or written.
        OperationTimeout: it did not finish in time.
        IntegrityError: a different file is already stored under that name."""
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
    """The awaitable form of `pitr_push`: the same arguments, result and errors."""
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
    """Restores one WAL file from ``store`` into ``dest`` (what ``restore_command`` runs).

    Args:
        store: the store URL: ``file:///dir`` (or a path), ``s3://bucket/prefix``,
            ``gs://bucket/prefix``, ``az://container/prefix`` or ``memory://name``.
        name: the WAL file's name (``%f``).
        dest: where to write it (``%p``).
        identity: the text of an age identity (``AGE-SECRET-KEY-1...``) that decrypts.
        passphrase: the passphrase of passphrase-encrypted data.
        deadline: seconds before giving up.
        store_options: the store client's settings (keys of the object store builders, e.g.
            ``aws_endpoint``, ``aws_allow_http``); credentials come from the cloud's environment
            variables, never from here.

    Returns:
        FetchReport: ``found`` (False at the end of the archive, which ends recovery) and the sizes.

    Raises:
        ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
        StorageError: the store failed (its ``kind`` says how: not found, permission denied,
            transient, ...).
        EncryptionError: the data cannot be decrypted (missing or wrong key or passphrase) or a
            recipient is invalid.
        DbopsIOError: a local file or directory could not be read or written.
        OperationTimeout: it did not finish in time.
        IntegrityError: stored data does not match its manifest or checksums."""
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
    """The awaitable form of `pitr_fetch`: the same arguments, result and errors."""
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
    """Takes a base backup of the cluster at ``url`` into ``store``.

    Args:
        url: the database: a ``postgres://`` URL or a libpq ``key=value`` string.
        store: the store URL: ``file:///dir`` (or a path), ``s3://bucket/prefix``,
            ``gs://bucket/prefix``, ``az://container/prefix`` or ``memory://name``.
        recipients: age recipients (``age1...``) to encrypt to.
        passphrase: the passphrase of passphrase-encrypted data.
        store_options: the store client's settings (keys of the object store builders, e.g.
            ``aws_endpoint``, ``aws_allow_http``); credentials come from the cloud's environment
            variables, never from here.
        incremental: only the blocks changed since the newest base backup of this cluster
            (PostgreSQL 17 and later).
        full_if_unsupported: take a full backup on servers before 17 instead of raising.

    Returns:
        BaseBackup: its manifest (id, start and end LSN, timeline, size, ``parent`` for an
            incremental).

    Raises:
        ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
        StorageError: the store failed (its ``kind`` says how: not found, permission denied,
            transient, ...).
        EncryptionError: the data cannot be decrypted (missing or wrong key or passphrase) or a
            recipient is invalid.
        DatabaseError: PostgreSQL refused a statement or the connection failed.
        ClusterError: a PostgreSQL program (``pg_dump``, ``pg_restore``, ``psql``, ``postgres``,
            ...) failed; its message has the program's last lines.
        RefusedError: an incremental on a server before 17, or with ``summarize_wal`` off.
        KeyboardInterrupt: on Ctrl-C: the operation is cancelled and cleaned up first."""
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
    """The awaitable form of `pitr_base_backup`: the same arguments, result and errors."""
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
    """Restores the base backup (or chain of incrementals) that fits the target into ``data_dir`` and
    configures replay to the target; every WAL segment needed is checked to be archived first.

    None of ``target_time``, ``restore_point``, ``xid`` and ``lsn`` means the end of the archive.

    Args:
        store: the store URL: ``file:///dir`` (or a path), ``s3://bucket/prefix``,
            ``gs://bucket/prefix``, ``az://container/prefix`` or ``memory://name``.
        data_dir: an empty or absent directory; with ``delta``, an existing stopped data directory.
        target_time: replay to this time.
        restore_point: replay to this named restore point.
        xid: replay to this transaction id.
        lsn: replay to this WAL position.
        base_backup: use this base backup (default: the newest usable before the target).
        dbops_program: the dbops binary the server's ``restore_command`` runs (default: this one).
        identity: the text of an age identity (``AGE-SECRET-KEY-1...``) that decrypts.
        passphrase: the passphrase of passphrase-encrypted data.
        store_options: the store client's settings (keys of the object store builders, e.g.
            ``aws_endpoint``, ``aws_allow_http``); credentials come from the cloud's environment
            variables, never from here.
        delta: rewrite only the files whose contents differ from the backup and remove extra ones.

    Returns:
        RecoveryReport: the backups used, the target, how the files were verified and the next step
            (start the server, or ``start_restored``).

    Raises:
        ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
        StorageError: the store failed (its ``kind`` says how: not found, permission denied,
            transient, ...).
        EncryptionError: the data cannot be decrypted (missing or wrong key or passphrase) or a
            recipient is invalid.
        IntegrityError: stored data does not match its manifest or checksums.
        ClusterError: a PostgreSQL program (``pg_dump``, ``pg_restore``, ``psql``, ``postgres``,
            ...) failed; its message has the program's last lines.
        DbopsIOError: a local file or directory could not be read or written.
        RefusedError: ``data_dir`` is not empty (without ``delta``) or a server runs in it.
        BackupNotFoundError: no base backup precedes the target."""
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
    """The awaitable form of `pitr_restore`: the same arguments, result and errors."""
def pitr_verify(store: str, *, base_backup: Optional[str] = None, store_options: Optional[Dict[str, str]] = None) -> List[VerifiedBaseBackup]:
    """Reads a base backup and every backup it is incremental on back from ``store`` and checks each
    object's sha256.

    Args:
        store: the store URL: ``file:///dir`` (or a path), ``s3://bucket/prefix``,
            ``gs://bucket/prefix``, ``az://container/prefix`` or ``memory://name``.
        base_backup: the base backup's id (default: the newest).
        store_options: the store client's settings (keys of the object store builders, e.g.
            ``aws_endpoint``, ``aws_allow_http``); credentials come from the cloud's environment
            variables, never from here.

    Returns:
        list[VerifiedBaseBackup]: one per member of the chain, the full backup first.

    Raises:
        ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
        StorageError: the store failed (its ``kind`` says how: not found, permission denied,
            transient, ...).
        IntegrityError: a member is missing or corrupt (the message names it)."""
def pitr_verify_async(store: str, *, base_backup: Optional[str] = None, store_options: Optional[Dict[str, str]] = None) -> Awaitable[List[VerifiedBaseBackup]]:
    """The awaitable form of `pitr_verify`: the same arguments, result and errors."""
def pitr_status(store: str, url: Optional[str] = None, *, store_options: Optional[Dict[str, str]] = None) -> PitrStatus:
    """Reports the archive: segments per timeline, gaps, base backups and chains, the recovery window;
    with ``url``, the server's archiver too.

    Args:
        store: the store URL: ``file:///dir`` (or a path), ``s3://bucket/prefix``,
            ``gs://bucket/prefix``, ``az://container/prefix`` or ``memory://name``.
        url: a server whose archiver state is added (optional).
        store_options: the store client's settings (keys of the object store builders, e.g.
            ``aws_endpoint``, ``aws_allow_http``); credentials come from the cloud's environment
            variables, never from here.

    Returns:
        PitrStatus: the timelines, base backups, problems and the window a restore can reach.

    Raises:
        ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
        StorageError: the store failed (its ``kind`` says how: not found, permission denied,
            transient, ...).
        DatabaseError: PostgreSQL refused a statement or the connection failed."""
def pitr_status_async(store: str, url: Optional[str] = None, *, store_options: Optional[Dict[str, str]] = None) -> Awaitable[PitrStatus]:
    """The awaitable form of `pitr_status`: the same arguments, result and errors."""
def pitr_restore_point(url: str, name: str) -> str:
    """Creates a named restore point on the server and switches WAL, so the point is archived at once.

    Args:
        url: the database: a ``postgres://`` URL or a libpq ``key=value`` string.
        name: the restore point's name (``--restore-point`` of a later restore).

    Returns:
        str: the restore point's LSN.

    Raises:
        ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
        DatabaseError: PostgreSQL refused a statement or the connection failed."""
def pitr_restore_point_async(url: str, name: str) -> Awaitable[str]:
    """The awaitable form of `pitr_restore_point`: the same arguments, result and errors."""
def pitr_archive_command(store: str, *, store_options: Optional[Dict[str, str]] = None, recipients: Optional[List[str]] = None, passphrase_env: Optional[str] = None, level: Optional[int] = None, deadline: Optional[float] = None, dbops_program: Optional[str] = None) -> str:
    """Builds the ``archive_command`` that archives into ``store`` with ``dbops wal push``: every
    argument quoted for ``/bin/sh``, ``%`` doubled, encryption included.

    Args:
        store: the store URL: ``file:///dir`` (or a path), ``s3://bucket/prefix``,
            ``gs://bucket/prefix``, ``az://container/prefix`` or ``memory://name``.
        store_options: the store client's settings (keys of the object store builders, e.g.
            ``aws_endpoint``, ``aws_allow_http``); credentials come from the cloud's environment
            variables, never from here.
        recipients: age recipients (``age1...``) to encrypt to.
        passphrase_env: the name of the server's environment variable holding a passphrase.
        level: the compression level.
        deadline: seconds each push may take.
        dbops_program: the dbops binary the server runs (default: this one).

    Returns:
        str: the command for ``postgresql.conf``.

    Raises:
        ConfigError: credentials in the store URL or options (they belong in the server's
            environment), or an invalid option."""
def pitr_restore_command(store: str, *, store_options: Optional[Dict[str, str]] = None, identity_file: Optional[str] = None, passphrase_env: Optional[str] = None, deadline: Optional[float] = None, dbops_program: Optional[str] = None) -> str:
    """Builds the ``restore_command`` that fetches from ``store`` with ``dbops wal fetch``, quoted like
    ``pitr_archive_command``.

    Args:
        store: the store URL: ``file:///dir`` (or a path), ``s3://bucket/prefix``,
            ``gs://bucket/prefix``, ``az://container/prefix`` or ``memory://name``.
        store_options: the store client's settings (keys of the object store builders, e.g.
            ``aws_endpoint``, ``aws_allow_http``); credentials come from the cloud's environment
            variables, never from here.
        identity_file: the server's file of age identities.
        passphrase_env: the name of the server's environment variable holding a passphrase.
        deadline: seconds each fetch may take.
        dbops_program: the dbops binary the server runs (default: this one).

    Returns:
        str: the command for the restored server's configuration.

    Raises:
        ConfigError: credentials in the store URL or options, or an invalid option."""
def pitr_setup(url: str, store: str, *, store_options: Optional[Dict[str, str]] = None, recipients: Optional[List[str]] = None, passphrase_env: Optional[str] = None, level: Optional[int] = None, deadline: Optional[float] = None, dbops_program: Optional[str] = None, archive_timeout: str = "60s", apply: bool = False) -> List[SetupItem]:
    """Compares, and with ``apply=True`` sets (``ALTER SYSTEM`` and a reload), the server's settings
    for archiving into ``store``: ``wal_level``, ``archive_mode``, ``archive_command``,
    ``archive_timeout`` (and ``summarize_wal`` on 17 and later).

    Args:
        url: the database: a ``postgres://`` URL or a libpq ``key=value`` string.
        store: the store URL: ``file:///dir`` (or a path), ``s3://bucket/prefix``,
            ``gs://bucket/prefix``, ``az://container/prefix`` or ``memory://name``.
        store_options: the store client's settings (keys of the object store builders, e.g.
            ``aws_endpoint``, ``aws_allow_http``); credentials come from the cloud's environment
            variables, never from here.
        recipients: age recipients (``age1...``) to encrypt to.
        passphrase_env: the name of the server's environment variable holding a passphrase.
        level: the compression level.
        deadline: seconds each push may take.
        dbops_program: the dbops binary the server runs (default: this one).
        archive_timeout: the longest time before a segment is archived.
        apply: change the settings; without it, only compare.

    Returns:
        list[SetupItem]: each setting, its current and wanted value and whether a restart is needed.

    Raises:
        ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
        DatabaseError: PostgreSQL refused a statement or the connection failed.
        RefusedError: ``apply`` with a passphrase variable the server does not have."""
def pitr_setup_async(url: str, store: str, *, store_options: Optional[Dict[str, str]] = None, recipients: Optional[List[str]] = None, passphrase_env: Optional[str] = None, level: Optional[int] = None, deadline: Optional[float] = None, dbops_program: Optional[str] = None, archive_timeout: str = "60s", apply: bool = False) -> Awaitable[List[SetupItem]]:
    """The awaitable form of `pitr_setup`: the same arguments, result and errors."""
def pitr_prune(store: str, keep: int, *, apply: bool = False, store_options: Optional[Dict[str, str]] = None) -> PitrRetentionPlan:
    """Keeps the newest ``keep`` base backups (with every backup they are built on) and the WAL they
    need; deletes the rest only with ``apply=True``.

    Args:
        store: the store URL: ``file:///dir`` (or a path), ``s3://bucket/prefix``,
            ``gs://bucket/prefix``, ``az://container/prefix`` or ``memory://name``.
        keep: base backups to keep (at least 1).
        apply: delete; without it, only the plan.
        store_options: the store client's settings (keys of the object store builders, e.g.
            ``aws_endpoint``, ``aws_allow_http``); credentials come from the cloud's environment
            variables, never from here.

    Returns:
        PitrRetentionPlan: what is kept and deleted.

    Raises:
        ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
        StorageError: the store failed (its ``kind`` says how: not found, permission denied,
            transient, ...)."""
def pitr_prune_async(store: str, keep: int, *, apply: bool = False, store_options: Optional[Dict[str, str]] = None) -> Awaitable[PitrRetentionPlan]:
    """The awaitable form of `pitr_prune`: the same arguments, result and errors."""
def pitr_prefetch(store: str, after: str, dest: str, *, count: int = 8, parallel: int = 4, identity: Optional[str] = None, passphrase: Optional[str] = None, store_options: Optional[Dict[str, str]] = None) -> Optional[int]:
    """Downloads the ``count`` segments after ``after`` into the prefetch directory next to ``dest``
    (what ``dbops wal fetch`` starts in the background), unless another prefetch runs for that
    directory.

    Args:
        store: the store URL: ``file:///dir`` (or a path), ``s3://bucket/prefix``,
            ``gs://bucket/prefix``, ``az://container/prefix`` or ``memory://name``.
        after: the segment name after which to start.
        dest: the server's ``%p`` of that segment.
        count: segments to fetch.
        parallel: downloads at once.
        identity: the text of an age identity (``AGE-SECRET-KEY-1...``) that decrypts.
        passphrase: the passphrase of passphrase-encrypted data.
        store_options: the store client's settings (keys of the object store builders, e.g.
            ``aws_endpoint``, ``aws_allow_http``); credentials come from the cloud's environment
            variables, never from here.

    Returns:
        int | None: how many were fetched, or None when another prefetch holds the lock.

    Raises:
        ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
        StorageError: the store failed (its ``kind`` says how: not found, permission denied,
            transient, ...).
        EncryptionError: the data cannot be decrypted (missing or wrong key or passphrase) or a
            recipient is invalid.
        DbopsIOError: a local file or directory could not be read or written."""
def pitr_prefetch_async(store: str, after: str, dest: str, *, count: int = 8, parallel: int = 4, identity: Optional[str] = None, passphrase: Optional[str] = None, store_options: Optional[Dict[str, str]] = None) -> Awaitable[Optional[int]]:
    """The awaitable form of `pitr_prefetch`: the same arguments, result and errors."""
def pitr_start_restored(data_dir: str, *, name: str = "pitr", timeout: float = 600.0) -> str:
    """Starts a restored data directory (from ``restore``) as a detached embedded cluster on a free TCP
    port, waits until it has replayed to its target and promoted, and returns its URL. It outlives
    this process: ``dbops cluster stop --name NAME`` stops it.

    Args:
        data_dir: the restored data directory.
        name: the cluster's name for ``dbops cluster``.
        timeout: seconds to wait for promotion.

    Returns:
        str: the promoted server's URL.

    Raises:
        ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
        ClusterError: a PostgreSQL program (``pg_dump``, ``pg_restore``, ``psql``, ``postgres``,
            ...) failed; its message has the program's last lines.
        OperationTimeout: it did not finish in time."""
def pitr_start_restored_async(data_dir: str, *, name: str = "pitr", timeout: float = 600.0) -> Awaitable[str]:
    """The awaitable form of `pitr_start_restored`: the same arguments, result and errors."""
def pitr_wait_for_promotion(url: str, timeout: float = 600.0) -> None:
    """Waits until the server at ``url`` has finished recovery and been promoted.

    Args:
        url: the database: a ``postgres://`` URL or a libpq ``key=value`` string.
        timeout: seconds to wait at most.

    Returns:
        None.

    Raises:
        ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
        DatabaseError: PostgreSQL refused a statement or the connection failed.
        OperationTimeout: it did not finish in time."""
def pitr_wait_for_promotion_async(url: str, timeout: float = 600.0) -> Awaitable[None]:
    """The awaitable form of `pitr_wait_for_promotion`: the same arguments, result and errors."""

