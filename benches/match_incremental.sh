#!/usr/bin/env bash
# Haven's incremental matching benchmark (issue 16: "matching one new referral against
# 1,000,000 indexed people answers in < 10 ms p99; a search the same"). Seeds COUNT realistic
# sealed referrals with `haven dev seed` (each young person indexed as intake indexes them:
# sealed identity and blind tokens; four in five referrals name a young person, the Cyber
# Choices enquiries are anonymous), or reuses a database seeded earlier at that size, then
# times with `haven dev match-latency` (in process, the production functions, SAMPLES random
# indexed people):
#   * the possible links of a case (`cases::people::links`);
#   * the "known elsewhere" match of one new referral (`cases::people::match_pending`);
#   * a search by name and date of birth, by postcode, and by name alone
#     (`cases::people::search`, as the staff search page and the API's `?q=` run it).
# Target: p99 < 10 ms each.
#
#   benches/match_incremental.sh [COUNT=1000000] [ENGINE=sqlite|postgres|both] [SAMPLES=500] [PROFILE=release|debug]
#
# Seeded databases are kept under $HAVEN_BENCH_DIR (default target/bench-match) and reused
# when their COUNT matches; PostgreSQL uses the database `haven_bench_match_<COUNT>` on
# $HAVEN_BENCH_POSTGRES (default postgres://postgres@127.0.0.1). Only loopback addresses
# are used. Needs a build of the profile asked for (this script does not build).
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${1:-1000000}
ENGINE=${2:-sqlite}
SAMPLES=${3:-500}
PROFILE=${4:-release}
BENCH_DIR=${HAVEN_BENCH_DIR:-target/bench-match}
PG_BASE=${HAVEN_BENCH_POSTGRES:-postgres://postgres@127.0.0.1}
HAVEN=target/$PROFILE/haven

[ -x "$HAVEN" ] || { echo "build first: cargo build ${PROFILE/debug/} -p haven"; exit 1; }

bench() { # engine
  local engine=$1 dir="$BENCH_DIR/$1" url_args=()
  if [ "$engine" = postgres ]; then
    url_args=(--database-url "$PG_BASE/haven_bench_match_$COUNT")
  fi
  if [ ! -f "$dir/seeded-$COUNT" ]; then
    rm -rf "$dir"; mkdir -p "$dir"; chmod 700 "$dir"
    if [ "$engine" = postgres ]; then
      psql "$PG_BASE/postgres" -q -c "DROP DATABASE IF EXISTS haven_bench_match_$COUNT" -c "CREATE DATABASE haven_bench_match_$COUNT"
    fi
    local started=$SECONDS
    HAVEN_LOG=warn "$HAVEN" --data-dir "$dir" "${url_args[@]}" dev seed --count "$COUNT" 2>"$dir/seed.log"
    echo "seeded $COUNT referrals on $engine in $((SECONDS - started)) s" >"$dir/seeded.txt"
    if [ "$engine" = postgres ]; then
      psql "$PG_BASE/haven_bench_match_$COUNT" -q -c 'VACUUM ANALYZE'
    else
      sqlite3 "$dir/haven.db" 'ANALYZE' 2>/dev/null || true
    fi
    touch "$dir/seeded-$COUNT"
  fi
  echo
  echo "### $engine, $COUNT referrals, $PROFILE build"
  echo
  cat "$dir/seeded.txt" 2>/dev/null || true
  HAVEN_LOG=warn "$HAVEN" --data-dir "$dir" "${url_args[@]}" dev match-latency --samples "$SAMPLES"
}

case "$ENGINE" in
  sqlite|postgres) bench "$ENGINE" ;;
  both) bench sqlite; bench postgres ;;
  *) echo "ENGINE must be sqlite, postgres or both"; exit 2 ;;
esac
