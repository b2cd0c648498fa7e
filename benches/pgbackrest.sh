#!/usr/bin/env bash
# pgBackRest side by side with dbops and pg_dump | gzip on the same seeded database (heavy profile at
# SCALE, default 100 = ~1 GB), ROUNDS rounds alternating the tools. pgBackRest takes a physical full
# backup of the whole cluster (local repository, its default gzip compression and zst), dbops and
# pg_dump a logical dump of the database. Prints a Markdown table.
#   bash benches/pgbackrest.sh [SCALE] [ROUNDS]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SCALE="${1:-100}"; ROUNDS="${2:-2}"
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
command -v pgbackrest >/dev/null || { as_root apt-get update -qq; as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbackrest >/dev/null; }
cd "$ROOT"
cargo build --release -q -p dbops-cli --bin dbops
DBOPS="$ROOT/target/release/dbops"
WORK="$(mktemp -d /tmp/dbops-pgbr-XXXXXX)"; chmod 777 "$WORK"
export DBOPS_CACHE_DIR="$WORK/cache"
conf="$WORK/pgbackrest.conf"
info="$("$DBOPS" cluster start --name pgbr --json \
  --set archive_mode=on --set wal_level=replica \
  --set "archive_command=pgbackrest --config=$conf --stanza=main archive-push %p" 2>/dev/null)"
cleanup() { "$DBOPS" cluster stop --name pgbr >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT
data="$(python3 -c 'import json,sys; print(json.load(sys.stdin)["data_dir"])' <<<"$info")"
url="$(python3 -c 'import json,sys; print(json.load(sys.stdin)["url"])' <<<"$info")"
sock="$(dirname "$data")"
run_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
mkdir -p "$WORK"/{repo,log,lock,spool}
cat > "$conf" <<CONF
[global]
repo1-path=$WORK/repo
log-path=$WORK/log
lock-path=$WORK/lock
spool-path=$WORK/spool
start-fast=y
log-level-console=warn
[main]
pg1-path=$data
pg1-socket-path=$sock
CONF
[ "$(id -u)" = 0 ] && chown -R postgres "$WORK"
run_pg pgbackrest --config="$conf" --stanza=main stanza-create
export DATABASE_URL="$url"
"$DBOPS" -q migrate up -s migrations >/dev/null
"$DBOPS" -q seed heavy --scale "$SCALE" >/dev/null
size_mb="$(psql "$url" -XAtc "select pg_database_size(current_database())/1000000")"
cluster_mb="$(psql "$url" -XAtc "select (sum(pg_database_size(datname))/1000000)::bigint from pg_database")"
t() { local s; s=$(date +%s.%N); "$@" >/dev/null 2>&1; echo "$(date +%s.%N) - $s" | bc; }
declare -A times sizes
du_mb() { du -sm "$1" | cut -f1; }
pgbr() {  # pgbr KEY COMPRESS: one full backup; records time and the repository growth
  local before after
  before=$(du_mb "$WORK/repo")
  times[$1]+=" $(t run_pg pgbackrest --config="$conf" --stanza=main --type=full --compress-type="$2" backup)"
  after=$(du_mb "$WORK/repo")
  sizes[$1]=$((after - before))
}
for r in $(seq "$ROUNDS"); do
  times[dbops]+=" $(t "$DBOPS" -q backup --store "file://$WORK/dbops$r")"
  times[gzip]+=" $(t bash -c "pg_dump '$url' | gzip > $WORK/dump$r.sql.gz")"
  pgbr pgbr_gz gz
  pgbr pgbr_zst zst
done
med() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {printf "%.2f", a[int((NR+1)/2)]}'; }
echo "Database ${size_mb} MB (cluster ${cluster_mb} MB), heavy profile at scale $SCALE, $ROUNDS rounds."
echo
echo "| tool | what | median | size |"
echo "|---|---|---|---|"
echo "| dbops backup | logical dump of the database, zstd 1 | $(med <<<"${times[dbops]}") s | $(du_mb "$WORK/dbops1") MB |"
echo "| pg_dump \\| gzip | logical dump, gzip 6 | $(med <<<"${times[gzip]}") s | $(du_mb "$WORK/dump1.sql.gz") MB |"
echo "| pgBackRest full, gz (its default) | physical copy of the whole cluster | $(med <<<"${times[pgbr_gz]}") s | ${sizes[pgbr_gz]} MB |"
echo "| pgBackRest full, zst | physical copy of the whole cluster | $(med <<<"${times[pgbr_zst]}") s | ${sizes[pgbr_zst]} MB |"
