#!/usr/bin/env bash
# pgBackRest side by side with dbops (and pg_dump | gzip) on one seeded cluster (heavy profile at SCALE,
# default 100 = ~1 GB), ROUNDS rounds; each round runs every tool once, in reverse order on even rounds.
#  1. Logical backups of the database: `dbops backup` and `pg_dump | gzip`, next to pgBackRest's physical
#     full backups of the whole cluster (local repository; its default gz, and zst).
#  2. Physical backups: `dbops basebackup` against the same pgBackRest full backups. The cluster's
#     archive_command archives every WAL file to both: pgBackRest's archive-push, then the command
#     `dbops pitr setup` builds (`dbops wal push`), joined with &&.
#  3. Recovery to the end of the archive: `dbops pitr restore --latest` and `pgbackrest restore
#     --type=default` (of the gz and of the zst backup) into a new directory, each timed alone and up to a
#     started, promoted server answering a query; the restored tables must equal the source's (else exit 1).
# Prints Markdown tables on stdout (medians over the rounds).
#   bash benches/pgbackrest.sh [SCALE] [ROUNDS]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SCALE="${1:-100}"; ROUNDS="${2:-2}"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
fail() { echo "pgbackrest.sh: $*" >&2; exit 1; }
source "$ROOT/benches/common.sh"   # run_pg, run_quiet, now, json, archive_now, start_restored, ...

command -v pgbackrest >/dev/null || { as_root apt-get update -qq; as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbackrest >/dev/null; }
cd "$ROOT"
cargo build --release -q -p dbops-cli --bin dbops

WORK="$(mktemp -d /tmp/dbops-pgbr-XXXXXX)"; chmod 777 "$WORK"
export DBOPS_CACHE_DIR="$WORK/cache"
DBOPS="$WORK/bin/dbops"   # a copy: archive_command and restore_command run it, a rebuild must not swap it
PITR="$WORK/pitr"         # dbops' PITR store (base backups and WAL)
RSOCK="$WORK/rsock"       # socket directory of the restored servers
conf="$WORK/pgbackrest.conf"
cleanup() {
  stop_restored_at_exit
  [ -x "$DBOPS" ] && { "$DBOPS" cluster stop --name pgbr >/dev/null 2>&1 || true; }
  rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$WORK/bin" "$PITR" "$RSOCK" "$WORK"/{repo,log,lock,spool}
cp target/release/dbops "$DBOPS"

# --- helpers -------------------------------------------------------------------------------------------
declare -A times ready sizes labels
timed() {  # timed KEY CMD...: runs CMD quietly and appends its wall time (s) to times[KEY]
  local key=$1 start; shift
  start=$(now); run_quiet "$@"; times[$key]+=" $(since "$start")"
}
bytes() { du -sb "$1" | cut -f1; }
mb() { awk -v b="$1" 'BEGIN {printf "%.1f", b / 1e6}'; }
med() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {printf "%.2f", a[int((NR+1)/2)]}'; }
ordered() {  # ordered ROUND ITEM...: the items one a line, reversed on even rounds
  local r=$1; shift
  if ((r % 2)); then printf '%s\n' "$@"; else printf '%s\n' "$@" | tac; fi
}

# --- the cluster -------------------------------------------------------------------------------------
info="$("$DBOPS" -q cluster start --name pgbr --json \
  --set archive_mode=on --set wal_level=replica \
  --set "archive_command=pgbackrest --config=$conf --stanza=main archive-push %p")"
data="$(json 'd["data_dir"]' <<<"$info")"
url="$(json 'd["url"]' <<<"$info")"
sock="$(dirname "$data")"
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
run_quiet run_pg pgbackrest --config="$conf" --stanza=main stanza-create
export DATABASE_URL="$url"

# archive_command: pgBackRest's archive-push, then dbops' own (as `dbops pitr setup` builds it).
dbops_archive="$("$DBOPS" -q --json pitr setup --store "file://$PITR" |
  json '[s["wanted"] for s in d if s["name"] == "archive_command"][0]')"
archive_command="pgbackrest --config=$conf --stanza=main archive-push %p && $dbops_archive"
psql "$url" -Xq -v ON_ERROR_STOP=1 -v cmd="$archive_command" >/dev/null <<'SQL'
ALTER SYSTEM SET archive_command = :'cmd';
SELECT pg_reload_conf();
SQL


"$DBOPS" -q migrate up -s migrations >/dev/null
"$DBOPS" -q seed heavy --scale "$SCALE" >/dev/null
# One row per round, inserted after the round's backups: a restore "to the end" must replay past them.
psql "$url" -Xqc "create table pgbr_bench_marker (round int primary key, at timestamptz not null default now())"
archive_now   # the seed's WAL is archived before anything is timed
[ "$(psql "$url" -XAtc "show archive_command")" = "$archive_command" ] || fail "archive_command was not set"
size_mb="$(psql "$url" -XAtc "select pg_database_size(current_database())/1000000")"
cluster_mb="$(psql "$url" -XAtc "select (sum(pg_database_size(datname))/1000000)::bigint from pg_database")"
db="$(psql "$url" -XAtc "select current_database()")"
RDB="$db"   # the restored servers are read through the source's database
# What a restored server must hold: rows and a hash of every row of rides and payments, and the markers.
SUMS="select (select count(*) || ' rides, hash ' || coalesce(sum(hashtext(t::text)::bigint), 0) from rides t)
  || '; ' || (select count(*) || ' payments, hash ' || coalesce(sum(hashtext(t::text)::bigint), 0) from payments t)
  || '; markers ' || (select coalesce(string_agg(round::text, ',' order by round), '') from pgbr_bench_marker)"

# --- backups: each records times[KEY] and sizes[KEY] (bytes stored) ----------------------------------
bk_dbops() {      # logical dump of the database, zstd 1
  timed dbops "$DBOPS" -q backup --store "file://$WORK/dbops$1"
  sizes[dbops]=$(bytes "$WORK/dbops$1")
}
bk_pg_dump() {    # logical dump, gzip 6
  timed gzip bash -o pipefail -c "pg_dump '$url' | gzip > '$WORK/dump$1.sql.gz'"
  sizes[gzip]=$(bytes "$WORK/dump$1.sql.gz")
}
bk_dbops_base() { # pg_basebackup tar stream, zstd 1, into the PITR store
  timed dbops_base run_pg "$DBOPS" -q --json basebackup --store "file://$PITR"
  sizes[dbops_base]=$(json 'd["data"]["size"]' <"$WORK/out")
}
pgbr() {  # pgbr KEY COMPRESS: one full backup; its label and repository size come from `pgbackrest info`
  timed "$1" run_pg pgbackrest --config="$conf" --stanza=main --type=full --compress-type="$2" backup
  run_quiet run_pg pgbackrest --config="$conf" --stanza=main --output=json info
  labels[$1]=$(json 'd[0]["backup"][-1]["label"]' <"$WORK/out")
  sizes[$1]=$(json 'd[0]["backup"][-1]["info"]["repository"]["size"]' <"$WORK/out")
}
bk_pgbr_gz() { pgbr pgbr_gz gz; }
bk_pgbr_zst() { pgbr pgbr_zst zst; }

# --- recovery ------------------------------------------------------------------------------------------
recover() {  # recover KEY CMD...: CMD restores into $WORK/restored; times it alone (times) and to a server (ready)
  local key=$1 start got; shift
  start=$(now)
  run_quiet "$@"
  times[$key]+=" $(since "$start")"
  start_restored "$WORK/restored"
  ready[$key]+=" $(since "$start")"
  got="$(psql "$rurl" -XAtc "$SUMS")"
  [ "$got" = "$expected" ] || fail "$key: the restored server holds [$got], the source [$expected]"
  stop_restored "$WORK/restored"
}
rs_dbops() { recover rs_dbops run_pg "$DBOPS" -q pitr restore --store "file://$PITR" --latest --data-dir "$WORK/restored"; }
rs_pgbr() {  # rs_pgbr KEY BACKUP_KEY
  recover "$1" run_pg pgbackrest --config="$conf" --stanza=main --set="${labels[$2]}" --type=default \
    --pg1-path="$WORK/restored" restore
}
rs_pgbr_gz() { rs_pgbr rs_pgbr_gz pgbr_gz; }
rs_pgbr_zst() { rs_pgbr rs_pgbr_zst pgbr_zst; }

# --- the rounds ----------------------------------------------------------------------------------------
for r in $(seq "$ROUNDS"); do
  for step in $(ordered "$r" bk_dbops bk_pg_dump bk_dbops_base bk_pgbr_gz bk_pgbr_zst); do "$step" "$r"; done
  psql "$url" -Xqc "insert into pgbr_bench_marker (round) values ($r)"
  archive_now
  expected="$(psql "$url" -XAtc "$SUMS")"
  for step in $(ordered "$r" rs_dbops rs_pgbr_gz rs_pgbr_zst); do "$step"; done
done

# --- report --------------------------------------------------------------------------------------------
segments="$(find "$PITR/wal" -type f -name '????????????????????????' | wc -l)"   # 24-character names
echo "Database ${size_mb} MB (cluster ${cluster_mb} MB), heavy profile at scale $SCALE, $ROUNDS rounds (each tool once a round, reverse order on even rounds). MB = 10^6 bytes stored."
echo
echo "| tool | what | median | size |"
echo "|---|---|---|---|"
echo "| dbops backup | logical dump of the database, zstd 1 | $(med <<<"${times[dbops]}") s | $(mb "${sizes[dbops]}") MB |"
echo "| pg_dump \\| gzip | logical dump, gzip 6 | $(med <<<"${times[gzip]}") s | $(mb "${sizes[gzip]}") MB |"
echo "| pgBackRest full, gz (its default) | physical copy of the whole cluster | $(med <<<"${times[pgbr_gz]}") s | $(mb "${sizes[pgbr_gz]}") MB |"
echo "| pgBackRest full, zst | physical copy of the whole cluster | $(med <<<"${times[pgbr_zst]}") s | $(mb "${sizes[pgbr_zst]}") MB |"
echo
echo "Physical backups of the whole cluster (the pgBackRest rows are the runs above), one process each:"
echo "dbops streams one \`pg_basebackup --format=tar --wal-method=none --checkpoint=fast\` through one zstd"
echo "stream; pgBackRest runs with its default process-max=1. Both end when the backup's last WAL segment is"
echo "archived; size = bytes stored for the backup (WAL archive not included)."
echo
echo "| tool | what | median | size |"
echo "|---|---|---|---|"
echo "| dbops basebackup | base backup, zstd 1 | $(med <<<"${times[dbops_base]}") s | $(mb "${sizes[dbops_base]}") MB |"
echo "| pgBackRest backup --type=full, gz (its default) | full backup | $(med <<<"${times[pgbr_gz]}") s | $(mb "${sizes[pgbr_gz]}") MB |"
echo "| pgBackRest backup --type=full, zst | full backup | $(med <<<"${times[pgbr_zst]}") s | $(mb "${sizes[pgbr_zst]}") MB |"
echo
echo "WAL: one archive_command (pgBackRest \`archive-push\` && \`dbops wal push\`) archived $segments segments to both:"
echo "dbops (zstd 1) stored $(mb "$(bytes "$PITR/wal")") MB, pgBackRest (gz) $(mb "$(bytes "$WORK/repo/archive")") MB."
echo
echo "Recovery to the end of the archive from this round's backup, one process each (pgBackRest"
echo "process-max=1): \"restore\" is the restore command alone (dbops also verifies hashes and runs"
echo "pg_verifybackup; pgBackRest also fsyncs every file it writes, dbops does not); \"to a queryable server\""
echo "adds \`pg_ctl start\` (free port, own socket directory, archive_mode=off, fsync=on: PostgreSQL fsyncs the"
echo "data directory at start-up), WAL replay through the tool's restore_command up to the round's marker row,"
echo "promotion (\`pg_is_in_recovery()\` false) and \`select 1 from rides limit 1\`. Every restored server held"
echo "the same rows as the source (count and hash of every row of rides and payments, marker rows):"
echo "$expected."
echo
echo "| tool | restore | to a queryable server |"
echo "|---|---|---|"
echo "| dbops pitr restore --latest | $(med <<<"${times[rs_dbops]}") s | $(med <<<"${ready[rs_dbops]}") s |"
echo "| pgBackRest restore --type=default, gz backup | $(med <<<"${times[rs_pgbr_gz]}") s | $(med <<<"${ready[rs_pgbr_gz]}") s |"
echo "| pgBackRest restore --type=default, zst backup | $(med <<<"${times[rs_pgbr_zst]}") s | $(med <<<"${ready[rs_pgbr_zst]}") s |"
