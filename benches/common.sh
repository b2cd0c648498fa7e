# Sourced by the benchmark scripts that run PostgreSQL servers side by side with other tools. The
# script defines `fail` and sets WORK (scratch directory), and for the restored servers RSOCK (their
# socket directory); PG_CTL (default pg_ctl) and RDB (default postgres) say which pg_ctl starts them
# and which database they are read through.

# Runs as the server's OS account (postgres when we are root): pgBackRest and the restored servers need it.
run_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
run_quiet() {  # run_quiet CMD...: stdout to $WORK/out, stderr to $WORK/err; on failure shows both and exits 1
  local rc=0
  "$@" >"$WORK/out" 2>"$WORK/err" || rc=$?
  [ "$rc" = 0 ] || { cat "$WORK/out" "$WORK/err" >&2; fail "exit $rc: $*"; }
}
now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }  # json EXPR (of d) < JSON
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# archive_now: switches WAL on the server at $url and waits until the segment holding everything so far
# is archived (by every archiver of its archive_command); fails after 10 minutes.
archive_now() {
  local segment i
  segment="$(psql "$url" -XAtc "select pg_walfile_name(pg_current_wal_lsn()), pg_switch_wal()" | cut -d'|' -f1)"
  for ((i = 0; i < 6000; i++)); do
    [ "$(psql "$url" -XAtc "select coalesce(last_archived_wal >= '$segment', false) from pg_stat_archiver")" = t ] && return 0
    sleep 0.1
  done
  psql "$url" -Xc "select * from pg_stat_archiver" >&2
  fail "WAL segment $segment was not archived in 10 minutes"
}

# --- restored servers: RESTORED is the data directory of the one running now (for cleanup) -------------
RESTORED=""
wait_restored() {  # wait_restored DIR WHAT CMD...: polls CMD every 50 ms (10 min at most) while DIR's server runs
  local dir=$1 what=$2 i; shift 2
  for ((i = 0; i < 12000; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    [ -f "$dir/postmaster.pid" ] || break
    sleep 0.05
  done
  tail -n 30 "$dir.log" >&2
  fail "restored server in $dir: $what did not happen"
}
# The restored server runs with fsync=on: at start-up PostgreSQL then fsyncs the data directory it
# recovers, so every tool's restore is durable by the time the server answers (pgBackRest fsyncs its
# files itself, dbops leaves it to this).
start_restored() {  # start_restored DIR: starts DIR's server (free port, own sockets, no archiving), waits for promotion; sets rurl
  local dir=$1 port
  port=$(free_port)
  RESTORED=$dir
  rurl="postgresql://postgres@/${RDB:-postgres}?host=$RSOCK&port=$port"
  run_quiet run_pg "${PG_CTL:-pg_ctl}" -D "$dir" -l "$dir.log" -w -t 600 \
    -o "-c port=$port -c unix_socket_directories=$RSOCK -c listen_addresses='' -c archive_mode=off -c fsync=on" start
  wait_restored "$dir" "accepting connections" pg_isready -q -d "$rurl"
  wait_restored "$dir" "promotion" bash -c "[ \"\$(psql '$rurl' -XAtc 'select pg_is_in_recovery()')\" = f ]"
  wait_restored "$dir" "reading rides" psql "$rurl" -XAtc "select 1 from rides limit 1"
}
stop_restored() {  # stop_restored DIR [keep]: stops DIR's server and removes DIR and its log (unless keep)
  run_quiet run_pg "${PG_CTL:-pg_ctl}" -D "$1" stop -m fast
  RESTORED=""
  [ "${2:-}" = keep ] || rm -rf "$1" "$1.log"
}
stop_restored_at_exit() {  # for the script's EXIT trap: stops a restored server left running
  if [ -n "$RESTORED" ] && [ -f "$RESTORED/postmaster.pid" ]; then
    run_pg "${PG_CTL:-pg_ctl}" -D "$RESTORED" stop -m immediate >/dev/null 2>&1 || true
  fi
}
