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
        print(f"lint: {f}")
    with dbops.TempCluster.start() as cluster:
        report = dbops.verify(cluster.url, source)
        print(f"round trip ok: {report}")
    url = os.environ.get("DATABASE_URL")
    if url:
        applied = dbops.Migrator(url, source).up()
        print(f"applied: {applied}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
