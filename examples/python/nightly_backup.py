"""Nightly backup with alerts: back up, apply retention, check health, alert on state changes, write
Prometheus metrics. Replaces backup-database.sh + check-backup-health.sh.

    DATABASE_URL=postgres://... DBOPS_STORE=s3://bucket/prod python nightly_backup.py
Optional: DBOPS_AGE_RECIPIENTS (comma-separated), DBOPS_SLACK_WEBHOOK_URL, DBOPS_ALERT_WEBHOOK_URL,
DBOPS_METRICS_FILE. Exit code: 0 ok, 1 warn, 2 critical (or the backup failed).
"""

import os
import sys

import dbops


def main() -> int:
    url = os.environ["DATABASE_URL"]
    store = os.environ["DBOPS_STORE"]
    recipients = [r for r in os.environ.get("DBOPS_AGE_RECIPIENTS", "").split(",") if r]
    database = os.environ.get("DBOPS_DATABASE") or url.split("?")[0].rsplit("/", 1)[-1]
    backup_failed = False
    try:
        report = dbops.backup(url, store, recipients=recipients or None, labels={"by": "nightly_backup.py"})
        manifest = report.manifest
        print(f"backup {manifest.id}: {manifest.stored_size()} bytes in {report.elapsed_secs:.1f}s")
        plan = dbops.apply_retention(store, database, keep_daily=7, keep_weekly=4, keep_monthly=12, apply=True)
        print(f"retention: kept {len(plan.keep)}, deleted {len(plan.delete)}")
    except dbops.DbopsError as e:
        print(f"backup failed: {e}", file=sys.stderr)
        backup_failed = True
    health = dbops.backup_health(store, database)
    print(f"health: {health.status}")
    for check in health.checks:
        if check.status != "ok":
            print(f"  {check.name}: {check.status} ({check.reason})")
    if os.environ.get("DBOPS_METRICS_FILE"):
        with open(os.environ["DBOPS_METRICS_FILE"], "w") as f:
            f.write(dbops.backup_metrics([health]))
    slack = os.environ.get("DBOPS_SLACK_WEBHOOK_URL")
    webhook = os.environ.get("DBOPS_ALERT_WEBHOOK_URL")
    if slack or webhook:
        outcome = dbops.send_alerts(health, store, slack_webhook=slack, webhook=webhook)
        for d in outcome.deliveries:
            if not d.delivered:
                print(f"alert via {d.channel} failed: {d.error}", file=sys.stderr)
    code = {"ok": 0, "warn": 1, "critical": 2}[health.status]
    return max(code, 2 if backup_failed else 0)


if __name__ == "__main__":
    sys.exit(main())
