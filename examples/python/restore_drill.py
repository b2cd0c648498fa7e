"""Restore drill: prove the latest backup restores. Validates it (hashes, decryption, archive table of
contents) and restores it into a throwaway embedded cluster with row-count and pg_amcheck checks; the
result is recorded in the store, where backup health reads it.

    DBOPS_STORE=s3://bucket/prod DBOPS_DATABASE=ridehailing python restore_drill.py [--identity key.txt]
"""

import argparse
import os
import sys

import dbops


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--identity", help="age identity file for encrypted backups")
    args = parser.parse_args()
    store = os.environ["DBOPS_STORE"]
    database = os.environ["DBOPS_DATABASE"]
    identity = None
    if args.identity:
        with open(args.identity) as f:
            identity = f.read()
    checked = dbops.validate_backup(store, database, identity=identity)
    print(f"backup {checked.backup_id} is valid: {checked.stored_bytes} bytes, {checked.toc_entries} archive entries")
    drill = dbops.restore_test(store, database, identity=identity)
    print(f"restore test passed in {drill.elapsed_secs:.1f}s: {drill.tables_checked} tables, pg_amcheck {drill.amcheck}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
