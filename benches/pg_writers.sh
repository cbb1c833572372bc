#!/usr/bin/env bash
# Writers on PostgreSQL (issue 18): in one run, with PostgreSQL's default durability (fsync and
# synchronous_commit on, as the server is configured: the script only reads them),
#   1. pgbench inserting the same ~5.5 KB body one row per transaction (the bare rate),
#   2. Haven on PostgreSQL, one `haven serve`, taking SECOS referral submissions,
#   3. two `haven serve` sharing the database, the same load split between them,
# all at the same total concurrency. Haven is driven by load.sh's `load-client`, which names a
# different young person in each submission (so the background matcher sees realistic
# intake). Prints created/s (201s only), p50 and p99 for each (from every request's own time:
# load-client's for Haven, pgbench's per-transaction log), Haven's share of the
# pgbench rate (target >= 50% with p99 < 50 ms) and two instances against one (target >= 1),
# then checks the audit log: `haven audit verify` must find every entry sequenced and intact.
#
#   benches/pg_writers.sh [DURATION=20s] [CONCURRENCY=32]
#   HAVEN_BENCH_PG=postgres://postgres@127.0.0.1/postgres   admin connection (CREATE DATABASE)
#   HAVEN_BENCH_PROFILE=release                              `debug` only to try the script out
#   HAVEN_BENCH_BIN=/path/to/haven                           measure this binary (no build)
#
# The body and service definition are load.sh's (benches/load.sh). A scratch database
# haven_bench_<pid> is created and dropped. Only loopback addresses are used.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-20s}
CONCURRENCY=${2:-32}
ADMIN_URL=${HAVEN_BENCH_PG:-postgres://postgres@127.0.0.1/postgres}
PORT_A=18090
PORT_B=18091
DB=haven_bench_$$
DB_URL="${ADMIN_URL%/*}/$DB"
SECONDS_RUN=$(python3 -c "import sys,re; d=sys.argv[1]; m=re.fullmatch(r'(\d+)(s|m)?', d); print(int(m.group(1))*(60 if m.group(2)=='m' else 1))" "$DURATION")

command -v pgbench >/dev/null || { echo "pgbench is needed (Debian: postgresql-client)"; exit 1; }
PROFILE=${HAVEN_BENCH_PROFILE:-release}
if [ -n "${HAVEN_BENCH_BIN:-}" ]; then
  HAVEN=$(realpath "$HAVEN_BENCH_BIN")   # a binary built before, to compare two builds
  PROFILE="given ($HAVEN_BENCH_BIN)"
else
  if [ "$PROFILE" = release ]; then cargo build --release -q -p haven; else cargo build -q -p haven; fi
  HAVEN=target/$PROFILE/haven
fi
cargo build --release -q -p load-baseline
LOAD_CLIENT=target/release/load-client

work=$(mktemp -d)
pids=()
stop_servers() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done; pids=(); }
cleanup() { stop_servers; psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT

psql -q "$ADMIN_URL" -c "CREATE DATABASE $DB" >/dev/null

mkdir -p "$work/services"
cp -r services/templates "$work/services/templates"
python3 - "$work/body.json" "$work/services/secos.toml" <<'PY'
import json, re, sys
answers = json.load(open("services/samples/secos-referral.json"))
for key in ("risk_assessment_tool", "assessment_document"):
    answers.get("assessments", {}).pop(key, None)
answers.setdefault("assessments", {})["not_attached_reason"] = "An assessment is under way and not yet complete."
json.dump({"service": "secos", "stage": "referral", "audience": "professional", "answers": answers}, open(sys.argv[1], "w"))
definition = open("services/secos.toml").read()
block = re.search(r'key = "assessments\.risk_assessment_tool"\n(.*?)\n\n', definition, re.S)
optional = block.group(0).replace("required = true\n", "")
open(sys.argv[2], "w").write(definition.replace(block.group(0), optional))
PY

export HAVEN_SECRET_KEY
HAVEN_SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
export HAVEN_MASTER_KEY
HAVEN_MASTER_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
export HAVEN_SUBMISSIONS_PER_WINDOW=1000000000 HAVEN_LOG=warn HAVEN_DATABASE_URL="$DB_URL"

serve() { # port
  $HAVEN serve --bind "127.0.0.1:$1" --data-dir "$work/data-$1" \
    --services-dir "$work/services" >"$work/haven-$1.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 200); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/readyz" || true)" = "200" ] && return 0
    sleep 0.1
  done
  echo "haven on port $1 did not become ready:"; cat "$work/haven-$1.log"; exit 1
}

# The migrations run once, before anything is measured.
$HAVEN migrate --data-dir "$work/data-migrate" >/dev/null 2>&1 || true

report() { # name seconds files... (pgbench's per-transaction logs)
  python3 - "$@" <<'PY'
import sys
name, seconds, files = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
times, statuses = [], {}
for f in files:
    # pgbench -l: client_id transaction_no time(us) script_no time_epoch time_us
    for line in open(f):
        parts = line.split()
        statuses["ok"] = statuses.get("ok", 0) + 1
        times.append(int(parts[2]) / 1000)
times.sort()
pct = lambda p: times[min(len(times) - 1, int(len(times) * p))] if times else float("nan")
rate = len(times) / seconds
print(f"{name:14} {rate:9.1f} rows/s   p50 {pct(0.50):7.2f} ms   p99 {pct(0.99):7.2f} ms   {statuses}")
open(f"{sys.argv[3]}.rate", "w").write(f"{rate} {pct(0.99)}")
PY
}

load() { # name port... : CONCURRENCY spread over the ports, DURATION, each request a different child
  local name=$1; shift
  local urls=()
  for port in "$@"; do urls+=("http://127.0.0.1:$port/api/v1/submissions"); done
  "$LOAD_CLIENT" "$(IFS=,; echo "${urls[*]}")" "$work/body.json" "$SECONDS_RUN" "$CONCURRENCY" >"$work/$name.txt"
  python3 - "$name" "$work/$name.txt" "$work/$name.rate" <<'PY'
import re, sys
name, text = sys.argv[1], open(sys.argv[2]).read()
rate = float(re.search(r"([\d.]+) created/s", text).group(1))
p50 = float(re.search(r"p50 ([\d.]+) ms", text).group(1))
p99 = float(re.search(r"p99 ([\d.]+) ms", text).group(1))
rest = text.split("p99", 1)[1].split("ms", 1)[1].strip()
print(f"{name:14} {rate:9.1f} rows/s   p50 {p50:7.2f} ms   p99 {p99:7.2f} ms   {rest}")
open(sys.argv[3], "w").write(f"{rate} {p99}")
PY
}

echo "Haven build: $PROFILE. Writers on PostgreSQL $(psql -Atq "$ADMIN_URL" -c 'SHOW server_version'): fsync=$(psql -Atq "$ADMIN_URL" -c 'SHOW fsync'), synchronous_commit=$(psql -Atq "$ADMIN_URL" -c 'SHOW synchronous_commit'); $CONCURRENCY concurrent, $DURATION each, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"

# 1. pgbench: the same body, one row per transaction.
psql -q "$DB_URL" -c "CREATE TABLE bench_rows (id BIGSERIAL PRIMARY KEY, body TEXT NOT NULL)" >/dev/null
echo 'INSERT INTO bench_rows (body) VALUES (:body);' >"$work/insert.sql"
(cd "$work" && pgbench -n -M prepared -c "$CONCURRENCY" -j 2 -T "$SECONDS_RUN" -l --log-prefix=pgb \
  -f insert.sql -D "body=$(cat body.json)" "$DB_URL" >pgbench.txt 2>&1) || { cat "$work/pgbench.txt"; exit 1; }
report pgbench "$SECONDS_RUN" "$work"/pgb.*
cp "$(ls "$work"/pgb.* | grep -v '\.rate$' | head -1).rate" "$work/pgbench.rate"
psql -q "$DB_URL" -c "DROP TABLE bench_rows" >/dev/null

# 2. One Haven.
serve $PORT_A
status=$(curl -s -o "$work/first.json" -w '%{http_code}' -H 'Content-Type: application/json' \
  --data-binary @"$work/body.json" "http://127.0.0.1:$PORT_A/api/v1/submissions")
[ "$status" = "201" ] || { echo "Haven refused the sample submission ($status):"; cat "$work/first.json"; exit 1; }
load haven-1 $PORT_A

# 3. Two Havens on the same database.
serve $PORT_B
load haven-2 $PORT_A $PORT_B
stop_servers

python3 - "$work" <<'PY'
import sys
work = sys.argv[1]
def rate(name):
    r, p99 = open(f"{work}/{name}.rate").read().split()
    return float(r), float(p99)
pg, one, two = rate("pgbench"), rate("haven-1"), rate("haven-2")
print(f"one Haven / pgbench: {100*one[0]/pg[0]:.0f}% (target >= 50%), p99 {one[1]:.1f} ms (target < 50 ms)")
print(f"two Havens / one:    {two[0]/one[0]:.2f}x (target >= 1)")
PY
$HAVEN audit verify --data-dir "$work/data-verify" | cut -c1-60
