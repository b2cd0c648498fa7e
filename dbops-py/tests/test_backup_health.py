"""Backup health, alerts and metrics from Python."""

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

import dbops


class _Recorder(BaseHTTPRequestHandler):
    bodies: list = []

    def do_POST(self):  # noqa: N802 (http.server API)
        length = int(self.headers.get("Content-Length", 0))
        type(self).bodies.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    _Recorder.bodies = []
    server = HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", _Recorder.bodies
    server.shutdown()
    server.server_close()


def test_health_alerts_and_metrics(dbops_database, dbops_url, webhook):
    url, bodies = webhook
    store = f"memory://{uuid.uuid4().hex}"
    database = dbops_database.name

    empty = dbops.backup_health(store, database)
    assert empty["status"] == "critical"
    checks = {c["name"]: c for c in empty["checks"]}
    assert checks["last_backup_age"]["status"] == "critical"
    sent = dbops.send_alerts(empty, store, webhook=url)
    assert sent["sent"] and bodies[-1]["report"]["status"] == "critical"
    again = dbops.send_alerts(dbops.backup_health(store, database), store, webhook=url)
    assert not again["sent"] and again["reason"] == "unchanged"

    dbops.backup(dbops_url, store)
    healthy = dbops.backup_health(store, database, max_restore_test_age_days=0)
    assert healthy["status"] == "ok", healthy
    recovered = dbops.send_alerts(healthy, store, webhook=url)
    assert recovered["sent"] and "to ok" in recovered["reason"]
    assert len(bodies) == 2

    text = dbops.backup_metrics([healthy])
    samples = dict(line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#"))
    assert float(samples[f'dbops_backup_health_status{{database="{database}"}}']) == 0
    assert float(samples[f'dbops_backups{{database="{database}"}}']) == 1


def test_delivery_failure_is_reported_not_raised():
    store = f"memory://{uuid.uuid4().hex}"
    report = dbops.backup_health(store, "nothing")
    outcome = dbops.send_alerts(report, store, slack_webhook="http://127.0.0.1:9/services/secret-token")
    assert not outcome["sent"]
    assert outcome["deliveries"][0]["delivered"] is False
    assert "secret-token" not in json.dumps(outcome)
