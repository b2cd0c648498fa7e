#!/usr/bin/env bash
# Incremental base backups side by side with pgBackRest's block-level incremental, on PostgreSQL 18.
# One cluster of SIZE_GB (default 1) of rides-like rows archives every WAL file to both tools (one
# archive_command: pgBackRest's archive-push, then `dbops wal push`), vacuumed (a production table's
# pages carry their hint bits and visibility; otherwise whichever backup follows autovacuum's first
# pass copies every page). Each tool takes a full backup,
# then three rounds each change PCT percent of the rows (default 2: the newest rides) and each tool takes
# an incremental (the tools alternate who goes first). Both compress with zstd level 1 on one process
# (dbops' pg_basebackup stream; pgBackRest process-max=1, bundles and block incremental on, its best for
# this). Then recovery to the end of the archive from each tool's full + 3 incrementals, into a new
# directory, up to a started, promoted server answering a query (both started the same way, by pg_ctl);
# the restored rows must equal the source's (else exit 1); a first round of both not counted, then
# RECOVERIES rounds (default 3), the tools alternating who goes first, each after a `sync`. Prints
# Markdown tables.
#
# Needs a pgBackRest that supports PostgreSQL 18 (2.56 or later): PGBACKREST=/path/to/pgbackrest, else
# `pgbackrest` on PATH. (Debian 12's package is 2.45, which stops at PostgreSQL 15.)
#   PGBACKREST=... bash benches/incremental_pgbackrest.sh [SIZE_GB] [PCT]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SIZE_GB="${1:-1}"; PCT="${2:-2}"; RECOVERIES="${RECOVERIES:-3}"
cd "$ROOT"
source scripts/env.sh
fail() { echo "incremental_pgbackrest.sh: $*" >&2; exit 1; }
source "$ROOT/benches/common.sh"   # run_pg, run_quiet, now, json, archive_now, start_restored, ...
PGBR="${PGBACKREST:-$(command -v pgbackrest || true)}"
[ -n "$PGBR" ] && [ -x "$PGBR" ] || fail "no pgBackRest: set PGBACKREST to a pgBackRest of 2.56 or later"
BIN18=""
for dir in ${DBOPS_PG_BIN//:/ }; do
  [ -x "$dir/pg_ctl" ] && "$dir/postgres" -V | grep -q ' 18\.' && { BIN18="$dir"; break; }
done
[ -n "$BIN18" ] || fail "no PostgreSQL 18 with pg_ctl in DBOPS_PG_BIN: bash scripts/install-deps.sh"
PG_CTL="$BIN18/pg_ctl"   # starts and stops the restored servers
cargo build --release -q -p dbops-cli --bin dbops

WORK="$(mktemp -d /tmp/dbops-incr-pgbr-XXXXXX)"; chmod 777 "$WORK"
export DBOPS_CACHE_DIR="$WORK/cache"
DBOPS="$WORK/bin/dbops"; PGBACKREST_BIN="$WORK/bin/pgbackrest"
PITR="$WORK/pitr"; RSOCK="$WORK/rsock"; conf="$WORK/pgbackrest.conf"; NAME="bench-incr-pgbr-$$"
cleanup() {
  stop_restored_at_exit
  [ -x "$DBOPS" ] && { "$DBOPS" -q cluster stop --name "$NAME" >/dev/null 2>&1 || true; }
  rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$WORK/bin" "$PITR" "$RSOCK" "$WORK"/{repo,log,lock,spool}
cp target/release/dbops "$DBOPS"; cp "$PGBR" "$PGBACKREST_BIN"
pgbr() { run_pg "$PGBACKREST_BIN" --config="$conf" --stanza=main "$@"; }

info="$("$DBOPS" -q cluster start --name "$NAME" --major 18 --json --durable \
  --set summarize_wal=on --set wal_level=replica --set archive_mode=on --set max_wal_size=4GB \
  --set "archive_command=$PGBACKREST_BIN --config=$conf --stanza=main archive-push %p")"
data="$(json 'd["data_dir"]' <<<"$info")"; url="$(json 'd["url"]' <<<"$info")"
cat > "$conf" <<CONF
[global]
repo1-path=$WORK/repo
repo1-bundle=y
repo1-block=y
log-path=$WORK/log
lock-path=$WORK/lock
spool-path=$WORK/spool
start-fast=y
process-max=1
compress-type=zst
compress-level=1
log-level-console=warn
[main]
pg1-path=$data
pg1-socket-path=$(dirname "$data")
pg1-port=$(json 'd["port"]' <<<"$info")
CONF
[ "$(id -u)" = 0 ] && chown -R postgres "$WORK"
run_quiet pgbr stanza-create
export DATABASE_URL="$url"
dbops_archive="$("$DBOPS" -q --json pitr setup --store "file://$PITR" |
  json '[s["wanted"] for s in d if s["name"] == "archive_command"][0]')"
psql "$url" -Xq -v ON_ERROR_STOP=1 -v cmd="$PGBACKREST_BIN --config=$conf --stanza=main archive-push %p && $dbops_archive" >/dev/null <<'SQL'
ALTER SYSTEM SET archive_command = :'cmd';
SELECT pg_reload_conf();
SQL

ROWS="${ROWS:-$(( SIZE_GB * 7000000 ))}"   # ROWS=50000 for a quick check of the script
psql -X -q "$url" -c "CREATE TABLE rides (id bigint PRIMARY KEY, driver_id bigint, fare numeric, status text, note text)" \
  -c "INSERT INTO rides SELECT g, g % 5000, g * 0.01, 'completed', md5(g::text) || md5((g * 7)::text) FROM generate_series(1, $ROWS) g" \
  -c "VACUUM (FREEZE, ANALYZE) rides" -c "CHECKPOINT"
archive_now
SIZE="$(psql -X -At "$url" -c "SELECT pg_size_pretty(sum(pg_database_size(datname))) FROM pg_database")"

declare -A time size
dbops_backup() {  # dbops_backup KEY FLAGS
  local start; sync; start=$(now)
  run_quiet run_pg "$DBOPS" -q --json basebackup --store "file://$PITR" $2
  time[$1]=$(since "$start")
  size[$1]=$(json 'd["data"]["size"]' <"$WORK/out")
}
pgbr_backup() {  # pgbr_backup KEY TYPE
  local start; sync; start=$(now)
  run_quiet pgbr --type="$2" backup
  time[$1]=$(since "$start")
  run_quiet pgbr --output=json info
  size[$1]=$(json 'd[0]["backup"][-1]["info"]["repository"]["delta"]' <"$WORK/out")
}
dbops_backup dbops_full ""; pgbr_backup pgbr_full full
CHANGED=$(( ROWS * PCT / 100 ))
for round in 1 2 3; do
  FROM=$(( ROWS - round * CHANGED + 1 )); TO=$(( ROWS - (round - 1) * CHANGED ))
  psql -X -q "$url" -c "UPDATE rides SET status = 'rated', fare = fare + 1 WHERE id BETWEEN $FROM AND $TO"
  if ((round % 2)); then
    dbops_backup "dbops_$round" --incremental; pgbr_backup "pgbr_$round" incr
  else
    pgbr_backup "pgbr_$round" incr; dbops_backup "dbops_$round" --incremental
  fi
done
psql -X -q "$url" -c "INSERT INTO rides VALUES (0, 0, 0, 'marker', 'after the last backup')"
archive_now
EXPECTED="$(psql -X -At "$url" -c "SELECT count(*), sum(fare), count(*) FILTER (WHERE status = 'rated') FROM rides")"
# The source is stopped: its checkpoints must not write while the recoveries are timed.
"$DBOPS" -q cluster stop --name "$NAME" >/dev/null

declare -A recovery restored_in
recover() {  # recover KEY CMD...: CMD restores into $target; timed up to a promoted server answering
  local key=$1 start got; shift
  sync   # neither tool's timing includes writing out what ran before it
  start=$(now)
  run_quiet "$@"
  restored_in[$key]+="$(since "$start") "
  start_restored "$target"
  got="$(psql "$rurl" -XAtc "SELECT count(*), sum(fare), count(*) FILTER (WHERE status = 'rated') FROM rides")"
  recovery[$key]+="$(since "$start") "
  [ "$got" = "$EXPECTED" ] || fail "$key: restored [$got], the source has [$EXPECTED]"
  # Kept until the end: removing a gigabyte of files (on a filesystem mounted with `discard`) slows
  # whatever writes next.
  stop_restored "$target" keep
}
restores=0
recover_dbops() {
  target="$WORK/restored-$((restores += 1))"
  recover dbops run_pg "$DBOPS" -q pitr restore --store "file://$PITR" --latest --data-dir "$target"
}
recover_pgbr() {
  target="$WORK/restored-$((restores += 1))"
  recover pgbr pgbr --type=default --pg1-path="$target" restore
}
# A first round of both, not counted: the first gigabyte written after the load costs more on a
# machine whose memory was not written yet (a VM's), whichever tool writes it.
recover_dbops; recover_pgbr
unset recovery restored_in; declare -A recovery restored_in
for ((round = 1; round <= RECOVERIES; round++)); do   # the tools alternate who goes first
  if ((round % 2)); then recover_pgbr; recover_dbops; else recover_dbops; recover_pgbr; fi
done

mb() { awk -v b="$1" 'BEGIN {printf "%.1f", b / 1e6}'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.0f%%", 100 * a / b}'; }
echo "Cluster: $SIZE ($ROWS rows), $PCT% of the rows changed before each incremental; $("$PGBACKREST_BIN" version)."
echo
echo "| backup | dbops time | dbops stored | pgBackRest time | pgBackRest stored |"
echo "|---|---|---|---|---|"
printf '| full | %.2f s | %s MB | %.2f s | %s MB |\n' "${time[dbops_full]}" "$(mb "${size[dbops_full]}")" "${time[pgbr_full]}" "$(mb "${size[pgbr_full]}")"
for round in 1 2 3; do
  printf '| incremental %d | %.2f s (%s of full) | %s MB (%s) | %.2f s (%s) | %s MB (%s) |\n' "$round" \
    "${time[dbops_$round]}" "$(pct "${time[dbops_$round]}" "${time[dbops_full]}")" \
    "$(mb "${size[dbops_$round]}")" "$(pct "${size[dbops_$round]}" "${size[dbops_full]}")" \
    "${time[pgbr_$round]}" "$(pct "${time[pgbr_$round]}" "${time[pgbr_full]}")" \
    "$(mb "${size[pgbr_$round]}")" "$(pct "${size[pgbr_$round]}" "${size[pgbr_full]}")"
done
echo
echo "| recovery from full + 3 incrementals to the end of the archive | the restore command | up to a promoted server answering |"
echo "|---|---|---|"
each() { for t in $1; do printf '%.2f / ' "$t"; done | sed 's| / $| s|'; }
echo "| dbops pitr restore, then pg_ctl start | $(each "${restored_in[dbops]}") | $(each "${recovery[dbops]}") |"
echo "| pgbackrest restore, then pg_ctl start | $(each "${restored_in[pgbr]}") | $(each "${recovery[pgbr]}") |"
