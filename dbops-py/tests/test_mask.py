"""Masked and subset restores, masked backups and rules checks from Python (sync and async)."""

import asyncio
import uuid
from pathlib import Path
from typing import Iterator, List, Tuple

import psycopg
import pytest

import dbops

ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS = str(ROOT / "migrations")
RULES = str(ROOT / "examples" / "masking" / "rides.toml")
KEY = "python-staging-key-0123456789"


@pytest.fixture
def production(dbops_admin_url: str) -> Iterator[Tuple[str, str]]:
    """A migrated database seeded with the medium profile (dropped afterwards, with its copies)."""
    name = f"pymask_{uuid.uuid4().hex[:10]}"
    admin = psycopg.connect(dbops_admin_url, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    url = _with_database(dbops_admin_url, name)
    dbops.Migrator(url, MIGRATIONS).up()
    dbops.seed(url, "medium")
    yield name, url
    for db in (name, f"{name}_staging", f"{name}_shared"):
        admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    admin.close()


def _with_database(url: str, name: str) -> str:
    head, _, tail = url.partition("?")
    base = head.rsplit("/", 1)[0]
    return f"{base}/{name}" + (f"?{tail}" if tail else "")


def _emails(url: str) -> List[str]:
    with psycopg.connect(url) as conn:
        return [row[0] for row in conn.execute("SELECT email FROM users ORDER BY id")]


def test_masked_subset_restore_and_masked_backup(production: Tuple[str, str], tmp_path: Path) -> None:
    name, url = production
    store = f"file://{tmp_path / 'prod'}"
    dbops.backup(url, store)

    report = dbops.restore(
        url,
        store,
        into=f"{name}_staging",
        create=True,
        mask=RULES,
        mask_key=KEY,
        subset=["rides: id % 4 = 0"],
    )
    assert isinstance(report, dbops.RestoreReport)
    assert isinstance(report.masking, dbops.MaskingSummary)
    assert (report.masking.masked_tables, report.masking.masked_columns) == (8, 25)
    subset = report.masking.subset
    assert isinstance(subset, dbops.SubsetReport) and subset.removed["public.rides"] > 0
    staging = _with_database(url, f"{name}_staging")
    original = _emails(url)
    masked = _emails(staging)
    assert masked and len(masked) < len(original)
    assert not set(masked) & set(original)
    assert all(e.endswith("@example.com") for e in masked)

    # A masked backup for sharing, restored as it is: the same masked values (same key).
    shared_store = f"file://{tmp_path / 'shared'}"
    async def masked_backup() -> dbops.BackupReport:
        return await dbops.backup_async(url, shared_store, mask=RULES, mask_key=KEY)

    asyncio.run(masked_backup())
    dbops.restore(url, shared_store, from_database=name, into=f"{name}_shared", create=True)
    shared = _emails(_with_database(url, f"{name}_shared"))
    assert len(shared) == len(original) and set(masked) <= set(shared)


def test_rules_are_checked_and_drafted_without_a_key(production: Tuple[str, str], tmp_path: Path) -> None:
    name, url = production
    check = dbops.mask_check(RULES, url)
    assert isinstance(check, dbops.MaskCheck)
    assert check.ok and check.masked_columns == 25

    broken = tmp_path / "broken.toml"
    broken.write_text(Path(RULES).read_text().replace('full_name = "fake_name"', ""))
    async def check_async() -> dbops.MaskCheck:
        return await dbops.mask_check_async(str(broken), url)

    check = asyncio.run(check_async())
    assert not check.ok
    assert [(p.kind, p.location) for p in check.problems] == [("unmasked", "public.users.full_name")]
    assert "--allow-unmasked users.full_name" in check.problems[0].message
    assert dbops.mask_check(str(broken), url, allow_unmasked=["users.full_name"]).ok

    store = f"file://{tmp_path / 'prod'}"
    dbops.backup(url, store)
    assert dbops.mask_check(RULES, url, store=store, from_database=name).ok

    draft = dbops.mask_init(url)
    assert "complete = true" in draft and 'email = "fake_email"' in draft
    drafted = tmp_path / "draft.toml"
    drafted.write_text(draft)
    assert dbops.mask_check(str(drafted), url).ok

    bad = tmp_path / "bad.toml"
    bad.write_text("[tables.users]\nemail = 'fake_emial'\n")
    with pytest.raises(dbops.ConfigError, match=r"bad.toml, line 2.*unknown transformer"):
        dbops.mask_check(str(bad), url)
    with pytest.raises(dbops.ConfigError, match="at least 16"):
        dbops.restore(url, store, into=f"{name}_staging", create=True, mask=RULES, mask_key="short")
