#!/usr/bin/env bash
# Haven's load benchmark: submits realistic SECOS referrals to Haven (embedded SQLite) through
# the public API at fixed concurrency with `load-client` (benches/load-baseline: each request
# names a different young person, as real intake does), and in the same run measures two bare
# baselines (benches/load-baseline: one axum handler inserting one row into SQLite), one with
# Haven's durability (`synchronous=FULL`) and one with the naive `synchronous=NORMAL`. Prints
# req/s and p50/p99 for each, and Haven's share of both. Only 201 answers count as throughput.
#
#   benches/load.sh [DURATION=20s] [CONCURRENCY=32]
#
# Only loopback addresses are used; every run is bounded by DURATION.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-20s}
SECONDS_EACH=${DURATION%s}
CONCURRENCY=${2:-32}
HAVEN_PORT=18080
BASE_PORT=18081
NORMAL_PORT=18082

cargo build --release -q -p haven -p load-baseline

work=$(mktemp -d)
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
pids=()
trap cleanup EXIT

# A file answer must name a file uploaded (POST /api/v1/attachments) for that one submission,
# and the load generator sends no files. So the benchmark runs the built-in SECOS definition
# with its risk tool upload made optional (a --services-dir override, templates copied), and
# the sample without its two file answers: everything else a submission does is measured.
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

# The public rate limit is raised so the benchmark measures the work, not the 429s.
HAVEN_SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))') \
HAVEN_SUBMISSIONS_PER_WINDOW=1000000000 HAVEN_LOG=warn \
  target/release/haven serve --bind 127.0.0.1:$HAVEN_PORT --data-dir "$work/haven" \
  --services-dir "$work/services" >"$work/haven.log" 2>&1 &
pids+=($!)
target/release/load-baseline 127.0.0.1:$BASE_PORT "$work/baseline.db" full >"$work/baseline.log" 2>&1 &
pids+=($!)
target/release/load-baseline 127.0.0.1:$NORMAL_PORT "$work/normal.db" normal >"$work/normal.log" 2>&1 &
pids+=($!)

for url in "http://127.0.0.1:$HAVEN_PORT/readyz" "http://127.0.0.1:$BASE_PORT/submit" "http://127.0.0.1:$NORMAL_PORT/submit"; do
  for _ in $(seq 1 100); do
    code=$(curl -s -o /dev/null -w '%{http_code}' "$url" || true)
    [ "$code" != "000" ] && break
    sleep 0.1
  done
done

# One request first, so a broken body fails loudly instead of measuring 422s.
status=$(curl -s -o "$work/first.json" -w '%{http_code}' -H 'Content-Type: application/json' \
  --data-binary @"$work/body.json" "http://127.0.0.1:$HAVEN_PORT/api/v1/submissions")
if [ "$status" != "201" ]; then
  echo "Haven refused the sample submission ($status):"; cat "$work/first.json"; echo; exit 1
fi

run() { # name url
  target/release/load-client "$2" "$work/body.json" "$SECONDS_EACH" "$CONCURRENCY" >"$work/$1.txt"
  python3 - "$1" "$work/$1.txt" <<'PY'
import re, sys
name, text = sys.argv[1], open(sys.argv[2]).read()
created = float(re.search(r"([\d.]+) created/s", text).group(1))
print(f"{name:9} {text.strip()}")
open(sys.argv[2] + ".rps", "w").write(str(created))
PY
}
echo "SECOS referral submissions, $CONCURRENCY concurrent, $DURATION each, $(nproc) cores"
run baseline "http://127.0.0.1:$BASE_PORT/submit"
run normal "http://127.0.0.1:$NORMAL_PORT/submit"
run haven "http://127.0.0.1:$HAVEN_PORT/api/v1/submissions"
python3 - "$work" <<'PY'
import sys
work = sys.argv[1]
rate = lambda name: float(open(f"{work}/{name}.txt.rps").read())
h, full, normal = rate("haven"), rate("baseline"), rate("normal")
print(f"Haven (synchronous=FULL) / naive insert at FULL:   {100*h/full:.0f}%")
print(f"Haven (synchronous=FULL) / naive insert at NORMAL: {100*h/normal:.0f}% (target >= 40%)")
PY
