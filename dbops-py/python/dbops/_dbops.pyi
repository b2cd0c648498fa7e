from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple, final


__version__: str

class DbopsError(Exception): ...
class ConfigError(DbopsError): ...
class DatabaseError(DbopsError): ...
class ClusterError(DbopsError): ...
class DbopsIOError(DbopsError): ...
class OperationTimeout(DbopsError): ...
class RefusedError(DbopsError): ...
class CancelledError(DbopsError): ...
class MigrationError(DbopsError): ...
class MigrationSourceError(MigrationError): ...
class DirtyDatabaseError(MigrationError): ...
class ChecksumMismatchError(MigrationError): ...
class StorageError(DbopsError): ...
class BackupNotFoundError(DbopsError): ...
class IntegrityError(DbopsError): ...
class EncryptionError(IntegrityError): ...

_Progress = Callable[[str, int, Optional[int]], None]

@final
class Migrator:
    """golang-migrate compatible migrations of one database; results are plain dicts."""
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
    ) -> Migrator: ...
    def up(self, to: Optional[int] = None) -> Dict[str, Any]: ...
    def up_async(self, to: Optional[int] = None) -> Awaitable[Dict[str, Any]]: ...
    def down(self, count: int = 1, *, all: bool = False) -> Dict[str, Any]: ...
    def down_async(self, count: int = 1, *, all: bool = False) -> Awaitable[Dict[str, Any]]: ...
    def goto(self, version: int) -> Dict[str, Any]: ...
    def version(self) -> Optional[Dict[str, Any]]: ...
    def version_async(self) -> Awaitable[Optional[Dict[str, Any]]]: ...
    def force(self, version: Optional[int]) -> None: ...
    def status(self) -> List[Dict[str, Any]]: ...
    def plan(self, to: Optional[int] = None) -> List[Dict[str, Any]]: ...

def lint(source: str) -> List[Dict[str, Any]]: ...
def verify(
    url: str, source: str, *, skip_rollback: bool = False, keep: bool = False, progress: Optional[_Progress] = None
) -> Dict[str, Any]: ...
def create_migration(directory: str, name: str, *, timestamp: bool = False) -> Tuple[str, str]: ...

def cli_main(argv: List[str]) -> int: ...

@final
class TempCluster:
    @staticmethod
    def start(
        *, tcp: bool = False, durable: bool = False, settings: Optional[Dict[str, str]] = None, data_dir: Optional[str] = None
    ) -> TempCluster:
        """Start a cluster; with ``data_dir``, on that directory (created by initdb unless it holds one,
        e.g. one prepared by ``dbops.pitr.restore``) and kept afterwards."""
    @staticmethod
    def start_async(
        *, tcp: bool = False, durable: bool = False, settings: Optional[Dict[str, str]] = None, data_dir: Optional[str] = None
    ) -> Awaitable[TempCluster]: ...
    @property
    def url(self) -> str: ...
    @property
    def tcp_url(self) -> Optional[str]: ...
    @property
    def port(self) -> int: ...
    @property
    def data_dir(self) -> str: ...
    @property
    def pid(self) -> Optional[int]: ...
    @property
    def is_running(self) -> bool: ...
    def stop(self) -> None: ...
    def stop_async(self) -> Awaitable[None]: ...
    def __enter__(self) -> TempCluster: ...
    def __exit__(self, t: Any, v: Any, tb: Any) -> bool: ...

@final
class TestDatabase:
    @property
    def url(self) -> str: ...
    @property
    def name(self) -> str: ...
    def drop(self) -> None: ...
    def __enter__(self) -> TestDatabase: ...
    def __exit__(self, t: Any, v: Any, tb: Any) -> bool: ...

@final
class TestDatabases:
    @staticmethod
    def build(admin_url: str, setup_sql: List[str] = ..., *, prefix: Optional[str] = None, spares: int = 2) -> TestDatabases: ...
    @staticmethod
    def build_async(
        admin_url: str, setup_sql: List[str] = ..., *, prefix: Optional[str] = None, spares: int = 2
    ) -> Awaitable[TestDatabases]: ...
    @staticmethod
    def on_cluster(cluster: TempCluster, setup_sql: List[str] = ..., *, prefix: Optional[str] = None, spares: int = 2) -> TestDatabases: ...
    @property
    def template_name(self) -> str: ...
    def create(self) -> TestDatabase: ...
    def create_async(self) -> Awaitable[TestDatabase]: ...

@final
class HealthProbe:
    """Liveness and readiness of a database; reports are dicts (status, checks, checked_at, migration)."""
    def __new__(
        cls,
        url: str,
        *,
        timeout: float = 2.0,
        cache_ttl: float = 1.0,
        migrations: bool = True,
        min_version: Optional[int] = None,
    ) -> HealthProbe: ...
    def ready(self) -> Dict[str, Any]: ...
    def ready_async(self) -> Awaitable[Dict[str, Any]]: ...
    def live(self) -> Dict[str, Any]: ...

def status(url: str, *, long_running: float = 60.0, limit: int = 10) -> Dict[str, Any]: ...
def status_async(url: str, *, long_running: float = 60.0, limit: int = 10) -> Awaitable[Dict[str, Any]]: ...
def terminate(url: str, pid: int) -> bool: ...

def seed(
    url: str,
    profile: str,
    *,
    scale: int = 1,
    seed: int = 42,
    existing: str = "refuse",
    progress: Optional[_Progress] = None,
) -> Dict[str, Any]: ...
def seed_async(url: str, profile: str, *, scale: int = 1, seed: int = 42, existing: str = "refuse") -> Awaitable[Dict[str, Any]]: ...
def seed_file(url: str, path: str) -> Dict[str, Any]: ...
def reset(url: str, source: str, *, seed: Optional[str] = None, force: bool = False) -> Dict[str, Any]: ...

def backup(
    url: str,
    store: str,
    *,
    format: str = "custom",
    compression: str = "zstd",
    level: Optional[int] = None,
    threads: int = 0,
    recipients: Optional[List[str]] = None,
    passphrase: Optional[str] = None,
    globals: bool = False,
    row_counts: bool = True,
    labels: Optional[Dict[str, str]] = None,
    store_options: Optional[Dict[str, str]] = None,
    progress: Optional[_Progress] = None,
) -> Dict[str, Any]:
    """Back up the database at ``url`` into ``store`` (file://, s3://, gs://, az://, memory://).

    Returns ``{"manifest": {...}, "store": str, "elapsed_secs": float}``. Nothing is published on failure.
    """
def backup_async(
    url: str,
    store: str,
    *,
    format: str = "custom",
    compression: str = "zstd",
    level: Optional[int] = None,
    threads: int = 0,
    recipients: Optional[List[str]] = None,
    passphrase: Optional[str] = None,
    globals: bool = False,
    row_counts: bool = True,
    labels: Optional[Dict[str, str]] = None,
    store_options: Optional[Dict[str, str]] = None,
    progress: Optional[_Progress] = None,
) -> Awaitable[Dict[str, Any]]: ...
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
    jobs: int = 1,
    identity: Optional[str] = None,
    identity_file: Optional[str] = None,
    passphrase: Optional[str] = None,
    check_row_counts: bool = True,
    store_options: Optional[Dict[str, str]] = None,
    progress: Optional[_Progress] = None,
) -> Dict[str, Any]:
    """Restore a backup (latest, ``backup_id``, newest ``before`` a time, or by ``key``), verified while streaming."""
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
    jobs: int = 1,
    identity: Optional[str] = None,
    identity_file: Optional[str] = None,
    passphrase: Optional[str] = None,
    check_row_counts: bool = True,
    store_options: Optional[Dict[str, str]] = None,
    progress: Optional[_Progress] = None,
) -> Awaitable[Dict[str, Any]]: ...
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
) -> Dict[str, Any]:
    """Download, decrypt, decompress and check a backup without touching any database."""
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
) -> Dict[str, Any]:
    """Restore into a throwaway database (embedded cluster unless ``server``), check it, record the result."""
def list_backups(store: str, database: Optional[str] = None, *, store_options: Optional[Dict[str, str]] = None) -> Dict[str, Any]:
    """``{"backups": [...], "problems": [...], "orphans": [...]}``, backups oldest first."""
def list_backups_async(
    store: str, database: Optional[str] = None, *, store_options: Optional[Dict[str, str]] = None
) -> Awaitable[Dict[str, Any]]: ...
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
) -> Dict[str, Any]:
    """The retention plan (``keep``, ``delete``, ``orphans``); deletes only with ``apply=True``."""
def generate_key_pair() -> Dict[str, str]:
    """A new age key pair: ``{"recipient": "age1...", "identity": "AGE-SECRET-KEY-1..."}``."""
def backup_health(
    store: str,
    database: str,
    *,
    max_age_hours: float = 26.0,
    critical_age_hours: Optional[float] = None,
    size_drop_ratio: float = 0.5,
    size_jump_ratio: float = 2.0,
    min_backups: int = 1,
    max_restore_test_age_days: float = 8.0,
    full: bool = False,
    server: Optional[str] = None,
    max_wal_age_minutes: float = 60.0,
    store_options: Optional[Dict[str, str]] = None,
) -> Dict[str, Any]:
    """Check backup health: ``{"status": "ok"|"warn"|"critical", "checks": [...], ...}``."""
def send_alerts(
    report: Dict[str, Any],
    store: str,
    *,
    slack_webhook: Optional[str] = None,
    webhook: Optional[str] = None,
    smtp: Optional[Dict[str, Any]] = None,
    remind_hours: float = 24.0,
    store_options: Optional[Dict[str, str]] = None,
) -> Dict[str, Any]:
    """Alert on a state change of ``report`` (Slack webhook, generic webhook, SMTP); returns deliveries."""
def backup_metrics(reports: List[Dict[str, Any]]) -> str:
    """Prometheus text exposition of backup health reports."""
def pitr_push(
    store: str,
    path: str,
    *,
    recipients: Optional[List[str]] = None,
    passphrase: Optional[str] = None,
    identity: Optional[str] = None,
    deadline: float = 60.0,
    store_options: Optional[Dict[str, str]] = None,
) -> Dict[str, Any]:
    """Archive one WAL file (archive_command)."""
def pitr_fetch(
    store: str,
    name: str,
    dest: str,
    *,
    identity: Optional[str] = None,
    passphrase: Optional[str] = None,
    deadline: float = 60.0,
    store_options: Optional[Dict[str, str]] = None,
) -> Dict[str, Any]:
    """Restore one WAL file (restore_command); ``found`` is False at the end of the archive."""
def pitr_base_backup(
    url: str,
    store: str,
    *,
    recipients: Optional[List[str]] = None,
    passphrase: Optional[str] = None,
    store_options: Optional[Dict[str, str]] = None,
) -> Dict[str, Any]:
    """Take a base backup into the archive; returns its manifest."""
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
) -> Dict[str, Any]:
    """Unpack a base backup into ``data_dir`` and configure replay to the target, then promotion."""
def pitr_status(store: str, url: Optional[str] = None, *, store_options: Optional[Dict[str, str]] = None) -> Dict[str, Any]:
    """Archive per timeline, gaps, base backups, recovery window and (with ``url``) the archiver."""
def pitr_restore_point(url: str, name: str) -> str:
    """Create a named restore point and switch WAL; returns its LSN."""
def pitr_setup(url: str, archive_command: str, *, archive_timeout: str = "60s", apply: bool = False) -> List[Dict[str, Any]]:
    """Compare (and with ``apply`` set) wal_level, archive_mode, archive_command, archive_timeout."""
def pitr_prune(store: str, keep: int, *, apply: bool = False, store_options: Optional[Dict[str, str]] = None) -> Dict[str, Any]:
    """Keep the newest ``keep`` base backups and the WAL they need."""
def pitr_wait_for_promotion(url: str, timeout: float = 600.0) -> None:
    """Wait until a restored server has reached its target and been promoted."""
