"""dbops: every PostgreSQL operation of one service's database.

Every operation comes in two forms: ``name(...)`` blocks (the GIL is released and Ctrl-C interrupts it)
and ``name_async(...)`` returns an awaitable. Errors derive from :class:`dbops.DbopsError`.
"""

from ._dbops import (
    verify,
    lint,
    create_migration,
    Migrator,
    MigrationSourceError,
    MigrationError,
    DirtyDatabaseError,
    ChecksumMismatchError,
    __version__,
    CancelledError,
    ClusterError,
    ConfigError,
    DatabaseError,
    DbopsError,
    DbopsIOError,
    OperationTimeout,
    RefusedError,
    TempCluster,
    TestDatabase,
    TestDatabases,
    cli_main,
)

__all__ = [
    "verify",
    "lint",
    "create_migration",
    "Migrator",
    "MigrationSourceError",
    "MigrationError",
    "DirtyDatabaseError",
    "ChecksumMismatchError",
    "__version__",
    "CancelledError",
    "ClusterError",
    "ConfigError",
    "DatabaseError",
    "DbopsError",
    "DbopsIOError",
    "OperationTimeout",
    "RefusedError",
    "TempCluster",
    "TestDatabase",
    "TestDatabases",
    "cli_main",
]
