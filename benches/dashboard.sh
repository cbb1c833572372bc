#!/usr/bin/env bash
# Haven's dashboard benchmark (issue 17): seeds COUNT realistic sealed referrals across the
# three built-in services with `haven dev seed` (or reuses a database seeded earlier at that
# size), folds them into the daily counts with `haven stats rebuild` (timed), starts
# `haven serve` on it, and measures p50/p99 latency with `hey` of
#   * the dashboard page `GET /staff/dashboard` of a SECOS manager (the last 12 months, and
#     a three-year range) and of an auditor (CEOP, the last 12 months);
#   * one chart `GET /staff/dashboard/chart/over_time.svg`;
#   * an incremental `haven stats fold` after one more referral (timed, a one-shot).
# Target: each dashboard p50 < 200 ms. The page reads only `daily_stats` (its rows for the
# service and range, through the primary key), never the referrals.
#
#   benches/dashboard.sh [COUNT=100000] [ENGINE=sqlite|postgres|both] [REQUESTS=200] [CONCURRENCY=2] [PROFILE=debug|release]
#
# The seeded database is shared with the other benchmarks of that size (benches/seeded.sh says
# where it is kept). Only loopback addresses are
# used. Needs a build of the profile asked for (this script does not build).
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${1:-100000}
ENGINE=${2:-sqlite}
REQUESTS=${3:-200}
CONCURRENCY=${4:-2}
PROFILE=${5:-debug}
PORT=${HAVEN_BENCH_PORT:-18091}
HAVEN=target/$PROFILE/haven
. benches/seeded.sh

[ -x "$HAVEN" ] || { echo "build first: cargo build ${PROFILE/debug/} -p haven"; exit 1; }
command -v hey >/dev/null || { echo "installing hey (Debian package)"; apt-get install -y -qq hey >/dev/null; }

server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT

# p50 and p99 in ms from hey's report; fails loudly on non-200 answers.
measure() { # label url header
  local out
  out=$(hey -n "$REQUESTS" -c "$CONCURRENCY" -H "$3" "$2")
  python3 - "$1" <<PY
import re, sys
text = """$out"""
codes = re.findall(r"\[(\d{3})\]\s+(\d+) responses", text)
bad = [c for c in codes if c[0] != "200"]
p50 = float(re.search(r"50%+ in ([\d.]+) secs", text).group(1)) * 1000
p99 = float(re.search(r"99%+ in ([\d.]+) secs", text).group(1)) * 1000
mark = "ok" if p50 < 200 else "MISSED"
print(f"| {sys.argv[1]} | {p50:.1f} | {p99:.1f} | {mark}{' (non-200: ' + str(bad) + ')' if bad else ''} |")
PY
}

bench() { # engine
  local engine=$1
  seeded "$engine" "$COUNT"
  local started=$SECONDS
  HAVEN_LOG=warn "$HAVEN" --data-dir "$dir" "${url_args[@]}" stats rebuild 2>&1 | tail -1
  local rebuild=$((SECONDS - started))
  local manager auditor
  manager=$("$HAVEN" --data-dir "$dir" "${url_args[@]}" dev session --email manager@secos.example 2>/dev/null)
  auditor=$("$HAVEN" --data-dir "$dir" "${url_args[@]}" dev session --email auditor@example.org 2>/dev/null)
  HAVEN_LOG=warn "$HAVEN" serve --bind 127.0.0.1:$PORT --data-dir "$dir" "${url_args[@]}" >"$dir/serve.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 300); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$PORT/readyz || true)" = 200 ] && break
    sleep 0.2
  done
  local base="http://127.0.0.1:$PORT" year
  year=$(date -u +%Y)
  echo
  echo "### $engine, $COUNT referrals, $PROFILE build ($REQUESTS requests per row, $CONCURRENCY concurrent)"
  echo
  cat "$dir/seeded.txt" 2>/dev/null || true
  echo "haven stats rebuild (every day folded from scratch): $rebuild s"
  echo
  echo "| request | p50 ms | p99 ms | target p50 < 200 ms |"
  echo "|---|---|---|---|"
  measure "page, SECOS manager, last 12 months" "$base/staff/dashboard" "Cookie: haven_session=$manager"
  measure "page, SECOS manager, 3 years" \
    "$base/staff/dashboard?from-day=1&from-month=1&from-year=$((year - 3))&to-day=31&to-month=12&to-year=$year" \
    "Cookie: haven_session=$manager"
  measure "page, auditor, CEOP, last 12 months" "$base/staff/dashboard?service=ceop" "Cookie: haven_session=$auditor"
  measure "chart over time, SECOS manager" "$base/staff/dashboard/chart/over_time.svg?service=secos" "Cookie: haven_session=$manager"
  measure "CSV, SECOS manager" "$base/staff/dashboard.csv?service=secos" "Cookie: haven_session=$manager"
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
  started=$(date +%s%N)
  HAVEN_LOG=warn "$HAVEN" --data-dir "$dir" "${url_args[@]}" stats fold 2>&1 | tail -1
  echo "haven stats fold with nothing new: $(( ($(date +%s%N) - started) / 1000000 )) ms"
}

case "$ENGINE" in
  sqlite|postgres) bench "$ENGINE" ;;
  both) bench sqlite; bench postgres ;;
  *) echo "ENGINE must be sqlite, postgres or both"; exit 2 ;;
esac
