# Sourced by the benchmark scripts. archive_now: switches WAL on the server at $url and waits until the
# segment holding everything so far is archived (by every archiver of its archive_command); calls
# `fail` (the script's) after 10 minutes.
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
