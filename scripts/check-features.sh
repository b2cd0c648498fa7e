#!/usr/bin/env bash
# The library's cargo features: each builds alone (clippy, warnings are errors), and the dependency
# budget holds. `cargo tree -e normal` of the lean service set (migrate + health) must stay at or under
# 120 crates, and every count the README's "Cargo features" table states must equal the measured one,
# so a new dependency that breaks the budget (or silently grows a stated footprint) fails the tests.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUDGET=120

crates() {
  local what=(-p dbops-core --no-default-features --features "$1")
  # A package of the workspace (the service example) is counted as built, with its own features.
  [[ "$1" == dbops-* ]] && what=(-p "$1")
  cargo tree -q "${what[@]}" -e normal --prefix none \
    | sed 's/ (\*)//; s/ (proc-macro)//' | sort -u | wc -l
}

for features in migrate lint health http cluster testing macros seed backup mask s3 gcs azure pitr alert failpoints \
                "migrate,health" "migrate,health,http" "migrate,health,testing" "migrate,health,macros" "migrate,health,lint" full; do
  printf 'clippy --features %-24s' "$features"
  cargo clippy -q -p dbops-core --no-default-features --features "$features" -- -D warnings
  printf ' ok\n'
done

# The same options code (Default + with_* setters) builds whichever features are on: a service's
# options do not break when another crate of its build turns on a feature.
for features in "migrate,health" "migrate,health,backup" full; do
  printf 'options example --features %-16s' "$features"
  cargo clippy -q -p dbops-core --no-default-features --features "$features" --example options -- -D warnings
  printf ' ok\n'
done

status=0
lean="$(crates migrate,health)"
echo "crates (cargo tree -e normal): migrate,health = $lean (budget $BUDGET)"
if [ "$lean" -gt "$BUDGET" ]; then
  echo "the lean feature set needs $lean crates, over the budget of $BUDGET" >&2
  status=1
fi
# README rows look like: | `migrate,health` | 116 | ... | (or a workspace package: | `dbops-example-service` | 137 |)
while IFS='|' read -r _ set count _; do
  set="$(echo "$set" | tr -d ' `')"; count="$(echo "$count" | tr -d ' ')"
  measured="$(crates "$set")"
  printf '  %-28s README %4s, measured %4s\n' "$set" "$count" "$measured"
  if [ "$count" != "$measured" ]; then
    echo "README states $count crates for \`$set\`, measured $measured: update the table" >&2
    status=1
  fi
done < <(sed -n '/^<!-- crate-counts -->/,/^<!-- \/crate-counts -->/p' README.md | grep -E '^\| `[a-z0-9,-]+` \| [0-9]+ \|')
exit $status
