"""The shipped schedules in examples/deploy: the Kubernetes CronJob validates against the Kubernetes
schema (strictly, offline) and has the safety settings; the crontab line really runs a backup, prunes and
writes health metrics."""

import copy
import os
import shlex
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml

import dbops

DEPLOY = Path(__file__).resolve().parents[2] / "examples" / "deploy"


def _cronjob() -> Dict[str, Any]:
    manifest = yaml.safe_load((DEPLOY / "cronjob.yaml").read_text())
    assert isinstance(manifest, dict)
    return manifest


def test_cronjob_is_a_valid_kubernetes_manifest_with_the_safety_settings() -> None:
    manifest = _cronjob()
    kubernetes_validate.validate(manifest, "1.30.0", strict=True)
    spec = manifest["spec"]
    assert spec["concurrencyPolicy"] == "Forbid"
    job = spec["jobTemplate"]["spec"]
    assert job["backoffLimit"] >= 1
    assert job["activeDeadlineSeconds"] > 0
    pod = job["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    container = pod["containers"][0]
    script = container["args"][0]
    assert script.index("dbops backup") < script.index("dbops backup health")
    # Secrets come from a Secret, never inline.
    assert any("secretRef" in source for source in container["envFrom"])
    inline = {e["name"]: e.get("value", "") for e in container["env"]}
    assert "DATABASE_URL" not in inline and "AWS_SECRET_ACCESS_KEY" not in inline


def test_the_validator_rejects_broken_manifests() -> None:
    broken = _cronjob()
    broken["spec"]["concurrencyPolicy"] = 7
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, "1.30.0", strict=True)
    typo = copy.deepcopy(_cronjob())
    typo["spec"]["jobTemplate"]["spec"]["backofLimit"] = 2
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(typo, "1.30.0", strict=True)


def test_the_crontab_line_backs_up_prunes_and_writes_metrics(
    dbops_db: dbops.TestDatabase, dbops_url: str, tmp_path: Path
) -> None:
    lines = [l for l in (DEPLOY / "crontab").read_text().splitlines() if l and not l.startswith("#")]
    nightly = lines[0]
    fields = nightly.split(None, 5)
    assert fields[:5] == ["0", "2", "*", "*", "*"]
    command = fields[5]
    # The same command with this test's paths: env file, metrics file, log.
    env_file = tmp_path / "env"
    store = tmp_path / "store"
    env_file.write_text(f"DATABASE_URL={shlex.quote(dbops_url)}\nDBOPS_STORE=file://{store}\n")
    env_file.chmod(0o600)
    metrics = tmp_path / "dbops_backup.prom"
    log = tmp_path / "dbops-backup.log"
    command = (
        command.replace("/etc/dbops/env", str(env_file))
        .replace("/var/lib/node_exporter/textfile/dbops_backup.prom", str(metrics))
        .replace("/var/log/dbops-backup.log", str(log))
    )
    # `dbops` on PATH: the package's CLI.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "dbops"
    shim.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} -m dbops \"$@\"\n")
    shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}")
    env.pop("DATABASE_URL", None)
    result = subprocess.run(["/bin/sh", "-c", command], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, log.read_text() if log.exists() else result.stderr
    database = dbops_db.name
    assert len(dbops.list_backups(f"file://{store}", database).backups) == 1
    text = metrics.read_text()
    assert f'dbops_backups{{database="{database}"}} 1' in text
