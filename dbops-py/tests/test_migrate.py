import os
import pathlib
import uuid
from typing import List, Optional, Tuple

import psycopg
import pytest

import dbops

MIGRATIONS = str(pathlib.Path(__file__).resolve().parents[2] / "migrations")


def test_reference_schema_up_status_down(dbops_test_databases: dbops.TestDatabases) -> None:
    db = dbops_test_databases.create()
    events: List[Tuple[str, int, Optional[int]]] = []
    migrator = dbops.Migrator(db.url, MIGRATIONS, progress=lambda stage, done, total: events.append((stage, done, total)))
    report = migrator.up()
    assert isinstance(report, dbops.MigrateReport)
    assert report.from_ is None and report.to == 8
    assert [step.version for step in report.applied] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert all(isinstance(s, dbops.AppliedMigration) and s.direction == "up" and s.duration >= 0 for s in report.applied)
    assert report.to_dict()["from"] is None and "from_" not in report.to_dict()
    assert repr(report).startswith("MigrateReport(from_=None, to=8, applied=[AppliedMigration(version=1")
    assert events and events[-1] == ("done", 8, 8)
    assert migrator.version() == dbops.VersionState(version=8, dirty=False)
    status = migrator.status()
    assert all(isinstance(s, dbops.MigrationStatus) and s.state == "applied" for s in status)
    assert migrator.down(2).to == 6
    plan = migrator.plan()
    assert isinstance(plan[0], dbops.PlannedStep) and plan[0].version == 7 and plan[0].resulting_version == 7
    migrator.down(all=True)
    assert migrator.version() is None
    db.drop()


async def test_async_up(dbops_test_databases: dbops.TestDatabases) -> None:
    db = dbops_test_databases.create()
    report = await dbops.Migrator(db.url, MIGRATIONS).up_async(to=2)
    assert report.to == 2
    version = await dbops.Migrator(db.url, MIGRATIONS).version_async()
    assert version is not None and version.version == 2
    db.drop()


def test_failures_raise_typed_errors(dbops_test_databases: dbops.TestDatabases, tmp_path: pathlib.Path) -> None:
    db = dbops_test_databases.create()
    (tmp_path / "1_a.up.sql").write_text("CREATE INDEX CONCURRENTLY x ON nope (id);")
    with pytest.raises(dbops.MigrationError) as info:
        dbops.Migrator(db.url, str(tmp_path)).up()
    assert "1_a.up.sql" in str(info.value) and "dirty" in str(info.value)
    # The context is also there as attributes: the failing file, line, statement and the SQLSTATE.
    failed = info.value
    assert (failed.version, failed.file, failed.line) == (1, "1_a.up.sql", 1)
    assert failed.statement is not None and "CONCURRENTLY" in failed.statement
    assert failed.sqlstate == "42P01" and failed.retryable is False
    with pytest.raises(dbops.DirtyDatabaseError) as dirty:
        dbops.Migrator(db.url, str(tmp_path)).up()
    assert "force" in str(dirty.value)
    assert dirty.value.version == 1 and dirty.value.file is None and dirty.value.sqlstate is None
    (tmp_path / "bad name.up.sql").write_text("SELECT 1")
    with pytest.raises(dbops.MigrationSourceError) as source:
        dbops.Migrator(db.url, str(tmp_path))
    assert source.value.path is not None and "bad name.up.sql" in source.value.path
    db.drop()


def test_file_errors_carry_the_path(tmp_path: pathlib.Path) -> None:
    # A file where the store's directory should be: opening the store fails, naming the path.
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    with pytest.raises(dbops.DbopsIOError) as info:
        dbops.backup("postgresql://nobody@127.0.0.1:1/none", f"file://{blocker}/sub")
    assert info.value.path is not None and "not-a-dir" in info.value.path
    assert info.value.retryable is False and info.value.sqlstate is None


def test_lint_verify_and_create(dbops_admin_url: str, tmp_path: pathlib.Path) -> None:
    # The reference schema takes no lock it should not; its bigserial and char(3) columns are hints.
    findings = dbops.lint(MIGRATIONS)
    assert [f for f in findings if f.severity != "hint"] == []
    assert {f.rule for f in findings} == {"serial", "char-type"}
    report = dbops.verify(dbops_admin_url, MIGRATIONS)
    assert isinstance(report, dbops.VerifyReport)
    assert report.passed is True and report.kept_database is None
    assert len(report.migrations) == 8
    assert all(m.round_trip.result == "identical" and m.round_trip.changes == [] for m in report.migrations)
    up, down = dbops.create_migration(str(tmp_path), "add tips")
    assert os.path.basename(up) == "000001_add_tips.up.sql" and os.path.exists(down)


def test_lint_findings_are_typed(tmp_path: pathlib.Path) -> None:
    (tmp_path / "000001_a.up.sql").write_text("CREATE INDEX i ON t (id);")
    (tmp_path / "000001_a.down.sql").write_text("DROP INDEX i;")
    findings = dbops.lint(str(tmp_path))
    assert findings, "CREATE INDEX without CONCURRENTLY must be flagged"
    assert all(isinstance(f, dbops.LintFinding) for f in findings)
    assert {f.file for f in findings} <= {"000001_a.up.sql", "000001_a.down.sql"}
    assert all(f.severity in ("hint", "warning", "error") and f.line >= 1 and f.column >= 1 for f in findings)
    index = next(f for f in findings if f.rule == "index-not-concurrent")
    assert index.severity == "error" and "CONCURRENTLY" in index.message
    assert dbops.lint(str(tmp_path), server_major=17)


async def test_async_goto_force_status_plan(dbops_test_databases: dbops.TestDatabases) -> None:
    db = await dbops_test_databases.create_async()
    migrator = dbops.Migrator(db.url, MIGRATIONS)
    plan = await migrator.plan_async(to=3)
    assert [s.version for s in plan] == [1, 2, 3] and all(s.direction == "up" for s in plan)
    up = await migrator.goto_async(5)
    assert isinstance(up, dbops.MigrateReport) and up.from_ is None and up.to == 5
    down = await migrator.goto_async(3)
    assert down.from_ == 5 and down.to == 3 and [m.direction for m in down.applied] == ["down", "down"]
    status = await migrator.status_async()
    assert [s.state for s in status] == ["applied"] * 3 + ["pending"] * 5
    await migrator.force_async(1)
    assert await migrator.version_async() == dbops.VersionState(version=1, dirty=False)
    await migrator.force_async(None)
    assert await migrator.version_async() is None
    await db.drop_async()


async def test_async_verify(dbops_admin_url: str, tmp_path: pathlib.Path) -> None:
    report = await dbops.verify_async(dbops_admin_url, MIGRATIONS, skip_rollback=True)
    assert isinstance(report, dbops.VerifyReport) and report.passed
    assert {m.round_trip.result for m in report.migrations} == {"skipped"}
    # A down migration that does not undo its up migration: the round trip differs.
    name = f"t_{uuid.uuid4().hex[:8]}"
    (tmp_path / "000001_a.up.sql").write_text(f"CREATE TABLE {name} (id int);")
    (tmp_path / "000001_a.down.sql").write_text("SELECT 1;")
    broken = await dbops.verify_async(dbops_admin_url, str(tmp_path))
    assert broken.passed is False
    trip = broken.migrations[0].round_trip
    assert trip.result == "differs", trip
    assert {(c.change, c.object) for c in trip.changes} >= {("added", f"table {name}")}
    assert trip.reapply_error is not None and "already exists" in trip.reapply_error
    # A down migration that forgets to undo a type change: the column shows as changed.
    (tmp_path / "000001_a.down.sql").write_text(f"DROP TABLE {name};")
    (tmp_path / "000002_b.up.sql").write_text(f"ALTER TABLE {name} ALTER COLUMN id TYPE bigint;")
    (tmp_path / "000002_b.down.sql").write_text("SELECT 1;")
    changed = await dbops.verify_async(dbops_admin_url, str(tmp_path))
    assert [m.round_trip.result for m in changed.migrations] == ["identical", "differs"]
    assert changed.migrations[1].round_trip.changes == [
        dbops.SchemaChange(change="changed", object=f"column {name}.id", definition=None, before="integer", after="bigint")
    ]


def test_up_with_backup_backs_up_only_when_pending(dbops_test_databases: dbops.TestDatabases, tmp_path: pathlib.Path) -> None:
    db = dbops_test_databases.create()
    store = f"file://{tmp_path / 'store'}"
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "1_riders.up.sql").write_text("CREATE TABLE riders (id int); INSERT INTO riders VALUES (7);")
    (migrations / "1_riders.down.sql").write_text("DROP TABLE riders;")
    guarded = dbops.Migrator(db.url, str(migrations)).up_with_backup(store)
    assert isinstance(guarded, dbops.GuardedMigrateReport)
    assert guarded.backup is not None and guarded.backup.version is None and guarded.migrate.to == 1
    assert f"--id {guarded.backup.id}" in guarded.backup.restore_command
    assert dbops.Migrator(db.url, str(migrations)).up_with_backup(store).backup is None
    (migrations / "2_broken.up.sql").write_text("ALTER TABLE nope ADD COLUMN x int;")
    with pytest.raises(dbops.MigrationError) as info:
        dbops.Migrator(db.url, str(migrations)).up_with_backup(store)
    failed = info.value
    assert failed.version == 2 and failed.file == "2_broken.up.sql"
    assert failed.backup_id is not None and failed.restore_command is not None
    assert failed.backup_id != guarded.backup.id and f"--id {failed.backup_id}" in failed.restore_command
    assert failed.restore_command in str(failed)
    assert len(dbops.list_backups(store, db.name).backups) == 2
    db.drop()


def _rides_with_pending(tmp_path: pathlib.Path, pending: str) -> None:
    (tmp_path / "000001_rides.up.sql").write_text(
        "CREATE TABLE IF NOT EXISTS rides (id bigint PRIMARY KEY, fare numeric);\n"
        "-- dbops:allow data-change\n"
        "INSERT INTO rides SELECT g, g FROM generate_series(1, 20000) g;\nANALYZE rides;\n"
    )
    (tmp_path / "000001_rides.down.sql").write_text("DROP TABLE IF EXISTS rides;")
    (tmp_path / "000002_fare.up.sql").write_text(pending)
    (tmp_path / "000002_fare.down.sql").write_text("SELECT 1;")


async def test_plan_locks_sees_sizes_and_sessions_in_the_way(
    dbops_test_databases: dbops.TestDatabases, tmp_path: pathlib.Path
) -> None:
    db = dbops_test_databases.create()
    _rides_with_pending(tmp_path, "ALTER TABLE rides ADD COLUMN tip numeric;")
    migrator = dbops.Migrator(db.url, str(tmp_path))
    migrator.up(to=1)
    with psycopg.connect(db.url) as reader:
        reader.execute("SELECT count(*) FROM rides").fetchone()  # holds ACCESS SHARE until the end
        pid = reader.info.backend_pid
        plan = migrator.plan_locks()
        assert isinstance(plan, dbops.LockPlan) and (plan.current, plan.target) == (1, 2)
        statement = plan.statements[0]
        assert isinstance(statement, dbops.StatementPlan)
        assert (statement.file, statement.line) == ("000002_fare.up.sql", 1)
        table = statement.tables[0]
        assert isinstance(table, dbops.TablePlan)
        assert (table.table, table.lock, table.work, table.blocks) == ("rides", "access_exclusive", "catalog", "reads_and_writes")
        assert table.exists and table.rows > 10_000 and table.size_bytes > 100_000
        assert [s.pid for s in table.conflicting] == [pid]
        assert isinstance(table.conflicting[0], dbops.LockSession) and table.conflicting[0].lock == "AccessShareLock"
        assert statement.verdict.verdict == "risky" and str(pid) in (statement.verdict.reason or "")
        assert plan.verdict.verdict == "risky"
    later = await migrator.plan_locks_async()
    assert later.verdict == dbops.Verdict(verdict="safe", reason=None, traffic=None, secs=None)
    db.drop()


def test_risk_guard_refuses_a_blocking_step(dbops_test_databases: dbops.TestDatabases, tmp_path: pathlib.Path) -> None:
    db = dbops_test_databases.create()
    _rides_with_pending(tmp_path, "ALTER TABLE rides ALTER COLUMN fare TYPE numeric(14,2);")
    dbops.Migrator(db.url, str(tmp_path)).up(to=1)
    plan = dbops.Migrator(db.url, str(tmp_path)).plan_locks(max_blocking=0.000001)
    assert plan.verdict.verdict == "blocks" and plan.verdict.traffic == "reads_and_writes"
    guarded = dbops.Migrator(db.url, str(tmp_path), max_blocking=0.000001)
    with pytest.raises(dbops.RefusedError) as refused:
        guarded.up()
    assert "000002_fare.up.sql:1" in str(refused.value) and "would block reads and writes" in str(refused.value)
    version = guarded.version()
    assert version is not None and version.version == 1
    assert dbops.Migrator(db.url, str(tmp_path), max_blocking=60).up().to == 2
    db.drop()
