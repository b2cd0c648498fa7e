"""The repository's pre-commit hooks, run by the pre-commit framework on a team's repository: a good
migration commits, a risky one and a badly named one are refused with the finding."""

import os
import pathlib
import shutil
import subprocess
import sys
from typing import Dict, List

ROOT = pathlib.Path(__file__).resolve().parents[2]


def run(args: List[str], cwd: pathlib.Path, env: Dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def git(cwd: pathlib.Path, env: Dict[str, str], *args: str) -> str:
    done = run(["git", *args], cwd, env)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip()


def test_hooks_run_through_pre_commit(tmp_path: pathlib.Path) -> None:
    env = dict(os.environ)
    # `dbops` is the wheel's command, next to this interpreter; pre-commit's cache stays in tmp_path.
    env["PATH"] = f"{pathlib.Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PRE_COMMIT_HOME"] = str(tmp_path / "cache")
    for key, value in {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid"}.items():
        env[key] = value
        env[key.replace("AUTHOR", "COMMITTER")] = value
    env.pop("DBOPS_MIGRATIONS", None)

    # The hooks' repository: this checkout's .pre-commit-hooks.yaml at a commit.
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    shutil.copy(ROOT / ".pre-commit-hooks.yaml", hooks)
    git(hooks, env, "init", "-q")
    git(hooks, env, "add", ".")
    git(hooks, env, "commit", "-q", "-m", "hooks")
    rev = git(hooks, env, "rev-parse", "HEAD")

    team = tmp_path / "team"
    migrations = team / "db" / "migrations"
    migrations.mkdir(parents=True)
    git(team, env, "init", "-q")
    (team / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {hooks.as_uri()}\n    rev: {rev}\n    hooks:\n"
        "      - id: dbops-migrate-lint\n        files: ^db/migrations/\n"
        "      - id: dbops-migration-names\n        files: ^db/migrations/\n"
    )
    installed = run([sys.executable, "-m", "pre_commit", "install"], team, env)
    assert installed.returncode == 0, installed.stdout + installed.stderr

    (migrations / "000001_add_riders.up.sql").write_text("CREATE TABLE IF NOT EXISTS riders (id bigint PRIMARY KEY);\n")
    (migrations / "000001_add_riders.down.sql").write_text("DROP TABLE IF EXISTS riders;\n")
    git(team, env, "add", ".")
    good = run(["git", "commit", "-q", "-m", "good migration"], team, env)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "dbops migrate lint" in good.stdout + good.stderr

    # A risky migration: NOT NULL without a default fails on a non-empty table.
    (migrations / "000002_add_phone.up.sql").write_text("ALTER TABLE riders ADD COLUMN phone text NOT NULL;\n")
    (migrations / "000002_add_phone.down.sql").write_text("ALTER TABLE riders DROP COLUMN IF EXISTS phone;\n")
    git(team, env, "add", ".")
    risky = run(["git", "commit", "-q", "-m", "risky migration"], team, env)
    assert risky.returncode != 0
    assert "000002_add_phone.up.sql:1:20: error[not-null-without-default]" in risky.stderr, risky.stdout + risky.stderr
    assert git(team, env, "rev-list", "--count", "HEAD") == "1"

    # Fixed, but named by hand against the convention: the naming hook refuses it.
    (migrations / "000002_add_phone.up.sql").unlink()
    (migrations / "000002_add_phone.down.sql").unlink()
    (migrations / "000002_AddPhone.up.sql").write_text("ALTER TABLE riders ADD COLUMN IF NOT EXISTS phone text;\n")
    (migrations / "000002_AddPhone.down.sql").write_text("ALTER TABLE riders DROP COLUMN IF EXISTS phone;\n")
    git(team, env, "add", "-A")
    named = run(["git", "commit", "-q", "-m", "badly named"], team, env)
    assert named.returncode != 0
    assert "error[file-name]" in named.stderr and "not lower_snake_case" in named.stderr, named.stdout + named.stderr

    (migrations / "000002_AddPhone.up.sql").rename(migrations / "000002_add_phone.up.sql")
    (migrations / "000002_AddPhone.down.sql").rename(migrations / "000002_add_phone.down.sql")
    git(team, env, "add", "-A")
    fixed = run(["git", "commit", "-q", "-m", "fixed"], team, env)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert git(team, env, "rev-list", "--count", "HEAD") == "2"
