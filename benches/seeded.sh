# Sourced by the benchmarks that need a large seeded database (queue.sh, dashboard.sh,
# match_incremental.sh): one seeding at a size serves them all, because seeding a million
# referrals takes longer than every measurement made on it.
#
#   seeded ENGINE COUNT     sets $dir (the data directory) and $url_args (the database URL
#                           argument, empty on SQLite), seeding first when needed
#
# A seeded database is kept under $HAVEN_BENCH_SEED_DIR (default target/bench-seed) as
# `<engine>-<COUNT>` and reused while its `seeded` marker is there; PostgreSQL uses the
# database `haven_bench_<COUNT>` on $HAVEN_BENCH_POSTGRES (default postgres://postgres@127.0.0.1),
# dropped and re-created when it is (re)seeded. Seeding also makes the accounts the
# benchmarks sign in as (a SECOS manager and caseworker, an admin, an auditor) and the
# manager's and admin's API tokens, and records the seeding time and the database size in
# `$dir/seeded.txt`. Needs $HAVEN (the binary) set by the caller.

SEED_DIR=${HAVEN_BENCH_SEED_DIR:-target/bench-seed}
PG_BASE=${HAVEN_BENCH_POSTGRES:-postgres://postgres@127.0.0.1}

seeded() { # engine count
  local engine=$1 count=$2
  dir="$SEED_DIR/$engine-$count"
  url_args=()
  if [ "$engine" = postgres ]; then
    url_args=(--database-url "$PG_BASE/haven_bench_$count")
  fi
  [ -f "$dir/seeded" ] && return 0
  rm -rf "$dir"; mkdir -p "$dir"; chmod 700 "$dir"
  if [ "$engine" = postgres ]; then
    psql "$PG_BASE/postgres" -q -c "DROP DATABASE IF EXISTS haven_bench_$count" \
      -c "CREATE DATABASE haven_bench_$count"
  fi
  local started=$SECONDS took bytes
  HAVEN_LOG=warn "$HAVEN" --data-dir "$dir" "${url_args[@]}" dev seed --count "$count" 2>"$dir/seed.log"
  took=$((SECONDS - started))
  # What `haven serve` would otherwise do in the background during the first measurements:
  # sequence the audit entries the seeding wrote (PostgreSQL) and fold the dashboards' days.
  HAVEN_LOG=warn "$HAVEN" --data-dir "$dir" "${url_args[@]}" audit verify >"$dir/verify.txt" 2>&1 || true
  HAVEN_LOG=warn "$HAVEN" --data-dir "$dir" "${url_args[@]}" stats fold >/dev/null 2>&1 || true
  # The planner's statistics: `haven serve` refreshes SQLite's at start-up
  # (Storage::optimize_queue_plans) but the in-process benchmarks do not, and PostgreSQL's
  # autovacuum would only later.
  if [ "$engine" = postgres ]; then
    psql "$PG_BASE/haven_bench_$count" -q -c 'VACUUM ANALYZE'
    bytes=$(psql "$PG_BASE/haven_bench_$count" -tA -c "SELECT pg_database_size(current_database())")
  else
    sqlite3 "$dir/haven.db" 'ANALYZE' >/dev/null
    sqlite3 "$dir/haven.db" 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
    bytes=$(stat -c %s "$dir/haven.db")
  fi
  echo "seeded $count on $engine in $took s ($((count / (took > 0 ? took : 1))) referrals/s);" \
    "database $((bytes / 1000000)) MB, $((bytes / count)) bytes per referral" | tee "$dir/seeded.txt"
  local who
  for who in "manager@secos.example manager secos" "worker1@secos.example caseworker secos" \
      "admin@example.org admin" "auditor@example.org auditor"; do
    set -- $who
    "$HAVEN" --data-dir "$dir" "${url_args[@]}" admin create-user --email "$1" --role "$2" ${3:+--team "$3"} >/dev/null 2>&1
  done
  "$HAVEN" --data-dir "$dir" "${url_args[@]}" admin create-token --email manager@secos.example 2>/dev/null >"$dir/manager.token"
  "$HAVEN" --data-dir "$dir" "${url_args[@]}" admin create-token --email admin@example.org 2>/dev/null >"$dir/admin.token"
  touch "$dir/seeded"
}
