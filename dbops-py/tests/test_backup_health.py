"""Backup health, alerts and metrics from Python."""

import json
import threading
import uuid
from typing import Any, Dict, Iterator, List, Tuple
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

import dbops


class _Recorder(BaseHTTPRequestHandler):
    bodies: List[Dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server API)
        length = int(self.headers.get("Content-Length", 0))
        type(self).bodies.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[Tuple[str, List[Dict[str, Any]]]]:
    _Recorder.bodies = []
    server = HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", _Recorder.bodies
    server.shutdown()
    server.server_close()


def test_health_alerts_and_metrics(
    dbops_db: dbops.TestDatabase, dbops_url: str, webhook: Tuple[str, List[Dict[str, Any]]]
) -> None:
    url, bodies = webhook
    store = f"memory://{uuid.uuid4().hex}"
    database = dbops_db.name

    empty = dbops.backup_health(store, database)
    assert isinstance(empty, dbops.BackupHealthReport)
    assert empty.status == "critical" and empty.latest is None and empty.backups == 0
    checks = {c.name: c for c in empty.checks}
    assert isinstance(checks["last_backup_age"], dbops.HealthCheck)
    assert checks["last_backup_age"].status == "critical"
    assert repr(empty).startswith("BackupHealthReport(") and f"database={database!r}" in repr(empty)
    sent = dbops.send_alerts(empty, store, webhook=url)
    assert isinstance(sent, dbops.AlertOutcome)
    assert sent.sent and bodies[-1]["report"]["status"] == "critical"
    assert bodies[-1]["report"]["checked_at"].startswith(str(empty.checked_at.year))
    again = dbops.send_alerts(dbops.backup_health(store, database), store, webhook=url)
    assert not again.sent and again.reason == "unchanged"

    dbops.backup(dbops_url, store)
    healthy = dbops.backup_health(store, database, max_restore_test_age_days=0)
    assert healthy.status == "ok", healthy
    assert healthy.latest is not None and healthy.latest.size > 0 and healthy.backups == 1
    recovered = dbops.send_alerts(healthy, store, webhook=url)
    assert recovered.sent and "to ok" in recovered.reason
    assert len(bodies) == 2

    text = dbops.backup_metrics([healthy])
    samples = dict(line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#"))
    assert float(samples[f'dbops_backup_health_status{{database="{database}"}}']) == 0
    assert float(samples[f'dbops_backups{{database="{database}"}}']) == 1


def test_delivery_failure_is_reported_not_raised() -> None:
    store = f"memory://{uuid.uuid4().hex}"
    report = dbops.backup_health(store, "nothing")
    outcome = dbops.send_alerts(report, store, slack_webhook="http://127.0.0.1:9/services/secret-token")
    assert not outcome.sent
    assert isinstance(outcome.deliveries[0], dbops.Delivery)
    assert outcome.deliveries[0].delivered is False and outcome.deliveries[0].error
    assert "secret-token" not in outcome.to_json() and "secret-token" not in repr(outcome)


async def test_async_health_alerts(
    dbops_db: dbops.TestDatabase, dbops_url: str, webhook: Tuple[str, List[Dict[str, Any]]]
) -> None:
    url, bodies = webhook
    store = f"memory://{uuid.uuid4().hex}"
    critical = await dbops.backup_health_async(store, dbops_db.name)
    assert isinstance(critical, dbops.BackupHealthReport) and critical.status == "critical"
    first = await dbops.send_alerts_async(critical, store, webhook=url)
    assert isinstance(first, dbops.AlertOutcome)
    assert first.sent and [d.channel for d in first.deliveries if d.delivered] == ["webhook"]
    await dbops.backup_async(dbops_url, store)
    report = await dbops.backup_health_async(store, dbops_db.name, max_restore_test_age_days=0)
    assert report.status == "ok" and report.latest is not None, report
    outcome = await dbops.send_alerts_async(report, store, webhook=url)
    assert outcome.sent and "to ok" in outcome.reason
    assert bodies[-1]["report"]["status"] == "ok" and bodies[-1]["report"]["database"] == dbops_db.name
    again = await dbops.send_alerts_async(report, store, webhook=url)
    assert not again.sent and again.reason == "unchanged"
