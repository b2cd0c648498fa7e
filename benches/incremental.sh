#!/usr/bin/env bash
# Incremental base backups (PostgreSQL 18: WAL summaries and pg_basebackup --incremental; a restore combines
# the chain itself) against full ones on a cluster of SIZE_GB (default 1) of rides-like rows. After a full base backup,
# three rounds each change PCT percent of the rows (default 2: the newest rides, as a ride-hailing
# database changes them) and take an incremental; then a fourth full backup for comparison. Prints each
# backup's time and stored size, then recovery to the end of the archive, up to a promoted server
# answering a query, from the full backup alone (replaying all WAL since) and from the chain (full + 3
# incrementals, combined); the restored rows must equal the source's (else exit 1).
#   bash benches/incremental.sh [SIZE_GB] [PCT]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SIZE_GB="${1:-1}"; PCT="${2:-2}"
cd "$ROOT"
source scripts/env.sh
cargo build --release -q -p dbops-cli --bin dbops
WORK="$(mktemp -d /tmp/dbops-incr-XXXXXX)"; chmod 777 "$WORK"
DBOPS="$WORK/dbops"; cp target/release/dbops "$DBOPS"
STORE="file://$WORK/store"; mkdir -p "$WORK/store"; chmod 777 "$WORK/store"
NAME="bench-incr-$$"
cleanup() {
  "$DBOPS" -q cluster stop --name "$NAME" >/dev/null 2>&1 || true
  for n in full chain; do "$DBOPS" -q cluster stop --name "$NAME-$n" >/dev/null 2>&1 || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

URL="$("$DBOPS" -q cluster start --name "$NAME" --major 18 --tcp --print-url --durable \
  --set summarize_wal=on --set wal_level=replica --set archive_mode=on --set max_wal_size=4GB \
  --set "archive_command=$DBOPS -q wal push --store $STORE %p")"
export DATABASE_URL="$URL"
ROWS=$(( SIZE_GB * 7000000 ))
psql -X -q "$URL" -c "CREATE TABLE rides (id bigint PRIMARY KEY, driver_id bigint, fare numeric, status text, note text)" \
  -c "INSERT INTO rides SELECT g, g % 5000, g * 0.01, 'completed', md5(g::text) || md5((g * 7)::text) FROM generate_series(1, $ROWS) g" \
  -c "CHECKPOINT"
SIZE="$(psql -X -At "$URL" -c "SELECT pg_size_pretty(pg_database_size(current_database()))")"

backup() { # label, flags
  local start end json
  start=$(date +%s.%N)
  json="$("$DBOPS" -q --json basebackup --store "$STORE" $2)"
  end=$(date +%s.%N)
  python3 - "$1" "$start" "$end" "$json" <<'PY'
import json, sys
label, start, end, body = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), json.loads(sys.argv[4])
kind = "incremental" if body.get("parent") else "full"
print(f"| {label} | {kind} | {end - start:.2f} s | {body['data']['size'] / 1e6:.1f} MB | {body['data']['plaintext_size'] / 1e6:.1f} MB |")
print(body["id"], file=open("/dev/fd/3", "w"))
PY
}
echo "Cluster: $SIZE ($ROWS rows), $PCT% of the rows changed between backups (the newest rides)"
echo
echo "| backup | kind | time | stored (zstd) | tar |"
echo "|---|---|---|---|---|"
backup "full" "--incremental" 3>"$WORK/full_id"
CHANGED=$(( ROWS * PCT / 100 ))
for round in 1 2 3; do
  FROM=$(( ROWS - round * CHANGED + 1 )); TO=$(( ROWS - (round - 1) * CHANGED ))
  psql -X -q "$URL" -c "UPDATE rides SET status = 'rated', fare = fare + 1 WHERE id BETWEEN $FROM AND $TO"
  backup "incremental $round" "--incremental" 3>>"$WORK/ids"
done
psql -X -q "$URL" -c "SELECT pg_switch_wal()" >/dev/null
backup "full, for comparison" "" 3>/dev/null
EXPECTED="$(psql -X -At "$URL" -c "SELECT count(*), sum(fare) FROM rides")"
psql -X -q "$URL" -c "SELECT pg_switch_wal()" >/dev/null
sleep 2

restore() { # label, name, extra flags
  local start end got dir="$WORK/restore-$2"
  start=$(date +%s.%N)
  local out
  out="$("$DBOPS" -q --json pitr restore --store "$STORE" --latest --start --name "$NAME-$2" --data-dir "$dir" $3)"
  local rurl; rurl="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["url"])' "$out")"
  got="$(psql -X -At "$rurl" -c "SELECT count(*), sum(fare) FROM rides")"
  end=$(date +%s.%N)
  "$DBOPS" -q cluster stop --name "$NAME-$2" >/dev/null
  rm -rf "$dir"
  [ "$got" = "$EXPECTED" ] || { echo "restored rows differ: $got against $EXPECTED" >&2; exit 1; }
  printf '| %s | %.2f s |\n' "$1" "$(echo "$end - $start" | bc)"
}
echo
echo "| recovery to the end of the archive, to a promoted server answering | time |"
echo "|---|---|"
restore "from the first full backup (replaying all WAL since)" full "--base-backup $(cat "$WORK/full_id")"
restore "from the chain: full + 3 incrementals (combined)" chain "--base-backup $(tail -1 "$WORK/ids")"
