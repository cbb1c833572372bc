#!/usr/bin/env bash
# Haven's size benchmark (issue 11): bytes at rest per referral against the plaintext JSON
# it holds. Seeds COUNT realistic sealed referrals across the three built-in services with
# `haven dev seed` into a fresh database, checkpoints, and prints the database's size
# (tables, events, audit log, case keys and indexes included) divided by COUNT next to the
# average plaintext JSON of a referral's answers and screening (printed by the seeding tool).
# Target: bytes per referral <= plaintext JSON bytes per referral.
#
#   benches/size.sh [COUNT=10000] [ENGINE=sqlite|postgres|both]
#
# SQLite: a fresh data directory under $HAVEN_BENCH_DIR (default target/bench-size), measured
# after `PRAGMA wal_checkpoint(TRUNCATE)` (the WAL is then empty) as the file's size.
# PostgreSQL: the database `haven_bench_size` on $HAVEN_BENCH_POSTGRES (default
# postgres://postgres@127.0.0.1), dropped and re-created, measured after `VACUUM` as
# pg_database_size, and also net of the size of the same database freshly migrated (the
# catalogue's fixed ~8 MB, which is not per referral). The largest tables and indexes follow
# on stderr. Uses target/release/haven when built,
# else target/debug/haven (sizes do not depend on the build).
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${1:-10000}
ENGINE=${2:-both}
BENCH_DIR=${HAVEN_BENCH_DIR:-target/bench-size}
PG_BASE=${HAVEN_BENCH_POSTGRES:-postgres://postgres@127.0.0.1}
HAVEN=target/release/haven
[ -x "$HAVEN" ] || HAVEN=target/debug/haven
[ -x "$HAVEN" ] || { echo "build first: cargo build -p haven"; exit 1; }

report() { # engine total empty plaintext
  python3 - "$@" "$COUNT" <<'PY'
import sys
engine, total, empty, plain, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
per = total / count
net = (total - empty) / count
mark = "ok" if net <= plain else "MISSED"
print(f"| {engine} | {count} | {total / 1e6:.1f} MB | {per:.0f} B | {net:.0f} B | {plain} B | {net / plain:.2f} | {mark} |")
PY
}

echo "| engine | referrals | database | bytes/referral | net of an empty database | plaintext JSON/referral | ratio (net) | target |"
echo "|---|---|---|---|---|---|---|---|"

if [ "$ENGINE" = sqlite ] || [ "$ENGINE" = both ]; then
  dir="$BENCH_DIR/sqlite"
  rm -rf "$dir"; mkdir -p "$dir"; chmod 700 "$dir"
  HAVEN_LOG=warn "$HAVEN" --data-dir "$dir" migrate >/dev/null 2>&1
  sqlite3 "$dir/haven.db" 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
  empty=$(stat -c %s "$dir/haven.db")
  HAVEN_LOG=warn "$HAVEN" --data-dir "$dir" dev seed --count "$COUNT" 2>"$dir/seed.log"
  plain=$(sed -n 's/^plaintext JSON.*: \([0-9]*\) bytes per referral$/\1/p' "$dir/seed.log")
  sqlite3 "$dir/haven.db" 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
  total=$(stat -c %s "$dir/haven.db")
  report sqlite "$total" "$empty" "$plain"
  # Where the bytes are, per referral (tables and indexes; needs SQLite's dbstat).
  sqlite3 "$dir/haven.db" "SELECT '  ' || name || ': ' || (SUM(pgsize) / $COUNT) || ' B' FROM dbstat GROUP BY name ORDER BY SUM(pgsize) DESC LIMIT 8" >&2 2>/dev/null || true
fi

if [ "$ENGINE" = postgres ] || [ "$ENGINE" = both ]; then
  dir="$BENCH_DIR/postgres"
  url="$PG_BASE/haven_bench_size"
  rm -rf "$dir"; mkdir -p "$dir"; chmod 700 "$dir"
  psql "$PG_BASE/postgres" -q -c 'DROP DATABASE IF EXISTS haven_bench_size' -c 'CREATE DATABASE haven_bench_size'
  HAVEN_LOG=warn "$HAVEN" --data-dir "$dir" --database-url "$url" migrate >/dev/null 2>&1
  psql "$url" -q -c 'VACUUM'
  empty=$(psql "$url" -tAc 'SELECT pg_database_size(current_database())')
  HAVEN_LOG=warn "$HAVEN" --data-dir "$dir" --database-url "$url" dev seed --count "$COUNT" 2>"$dir/seed.log"
  plain=$(sed -n 's/^plaintext JSON.*: \([0-9]*\) bytes per referral$/\1/p' "$dir/seed.log")
  psql "$url" -q -c 'VACUUM'
  total=$(psql "$url" -tAc 'SELECT pg_database_size(current_database())')
  report postgres "$total" "$empty" "$plain"
  psql "$url" -tAc "SELECT '  ' || relname || ': ' || pg_size_pretty(pg_total_relation_size(oid)) FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace ORDER BY pg_total_relation_size(oid) DESC LIMIT 6" >&2
fi
