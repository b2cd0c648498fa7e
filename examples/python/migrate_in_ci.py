"""Migrate in CI: lint the migrations, check they round-trip (up, down, up, schema identical) on a
throwaway cluster, then apply them to the target. Replaces test-migrations.sh + migrate up.

    python migrate_in_ci.py migrations/            # DATABASE_URL optional: without it, only the checks run
"""

import os
import sys

import dbops


def main() -> int:
    source = sys.argv[1] if len(sys.argv) > 1 else "migrations"
    findings = dbops.lint(source)
    for f in findings:
        print(f"lint: {f.file}:{f.line}: {f.severity} {f.rule}: {f.message}")
    if any(f.severity == "error" for f in findings):
        return 1
    with dbops.TempCluster.start() as cluster:
        report = dbops.verify(cluster.url, source)
    for m in report.migrations:
        if m.round_trip.result not in ("identical", "skipped"):
            print(f"round trip of {m.version}_{m.name}: {m.round_trip.result} {m.round_trip.changes} {m.round_trip.reapply_error or ''}")
    if not report.passed:
        return 1
    print(f"round trip ok: {len(report.migrations)} migrations")
    url = os.environ.get("DATABASE_URL")
    if url:
        applied = dbops.Migrator(url, source).up()
        print(f"applied: {len(applied.applied)} migrations, now at version {applied.to}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
