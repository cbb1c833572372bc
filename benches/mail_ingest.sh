#!/usr/bin/env bash
# Email intake benchmark (issue 15): 10,000 generated referral emails in a Maildir, taken in
# by a release build's Maildir poller (`haven mail poll --maildir DIR`: parse, route, seal,
# store exactly once with its audit entry, then move new/ → cur/ with the S flag), on
# embedded SQLite. Prints messages per second and peak memory (`/usr/bin/time -v`).
# Target (issue 15): at least 200 messages/s and under 200 MB peak on the 2-core machine.
#
#   benches/mail_ingest.sh [MESSAGES=10000]
set -euo pipefail
cd "$(dirname "$0")/.."
MESSAGES=${1:-10000}

[ -x /usr/bin/time ] || { echo "installing time (Debian package)"; apt-get install -y -qq time >/dev/null; }
# HAVEN_BIN: another build to measure (e.g. target/debug/haven); by default a release build.
if [ -n "${HAVEN_BIN:-}" ]; then
  haven=$(realpath "$HAVEN_BIN")
else
  cargo build --release -q -p haven
  haven=$PWD/target/release/haven
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/maildir/new" "$work/maildir/cur" "$work/maildir/tmp" "$work/data"

# Realistic messages: a plain-text referral to SECOS's intake address, every tenth with an
# HTML alternative, every twentieth with a small attachment; each unique.
python3 - "$work/maildir/new" "$MESSAGES" <<'PY'
import base64, os, sys
out, count = sys.argv[1], int(sys.argv[2])
attachment = base64.encodebytes(os.urandom(24 * 1024)).decode()
for n in range(count):
    head = (
        f"Return-Path: <referrer{n % 97}@school{n % 13}.example>\r\n"
        f"Delivered-To: secos.project@secos.cjsm.net\r\n"
        f"From: Referrer {n % 97} <referrer{n % 97}@school{n % 13}.example>\r\n"
        f"To: SECOS Project <secos.project@secos.cjsm.net>\r\n"
        f"Subject: Referral {n}: concerns about a young person\r\n"
        f"Date: Sun, 6 Dec 2026 09:{n % 60:02d}:12 +0000\r\n"
        f"Message-ID: <bench-{n}@school{n % 13}.example>\r\nMIME-Version: 1.0\r\n"
    )
    text = (f"Hello SECOS,\r\n\r\nPlease find my concerns about young person {n} below. "
            "She has been going missing at night and is seen with older men in cars.\r\n" * 4)
    if n % 20 == 0:
        body = ("Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n"
                "Content-Type: text/plain; charset=utf-8\r\n\r\n" + text +
                "--b\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n"
                "Content-Disposition: attachment; filename=\"chronology.pdf\"\r\n\r\n" +
                attachment + "--b--\r\n")
    elif n % 10 == 0:
        body = ("Content-Type: multipart/alternative; boundary=\"a\"\r\n\r\n--a\r\n"
                "Content-Type: text/plain; charset=utf-8\r\n\r\n" + text +
                "--a\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>" +
                text.replace("\r\n", "<br>") + "</p><script>x()</script></body></html>\r\n--a--\r\n")
    else:
        body = "Content-Type: text/plain; charset=utf-8\r\n\r\n" + text
    with open(os.path.join(out, f"{1765000000 + n}.M{n}P1.bench"), "w", newline="") as f:
        f.write(head + body)
PY

export HAVEN_DATA_DIR="$work/data" HAVEN_LOG=warn
"$haven" migrate >/dev/null 2>&1
start=$(date +%s.%N)
/usr/bin/time -v -o "$work/time.txt" "$haven" mail poll --maildir "$work/maildir" > "$work/report.json"
end=$(date +%s.%N)
taken=$(ls "$work/maildir/cur" | wc -l)
left=$(ls "$work/maildir/new" | wc -l)
rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
python3 - "$start" "$end" "$taken" "$left" "$rss_kb" "$work/report.json" <<'PY'
import json, sys
start, end, taken, left, rss_kb = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
report = json.loads(open(sys.argv[6]).read().splitlines()[0])
secs = end - start
print(f"messages: {taken} taken ({report['drafts']} drafts, {report['quarantined']} quarantined, "
      f"{report['duplicates']} duplicates), {left} left in new/")
print(f"time: {secs:.1f} s  →  {taken / secs:.0f} messages/s   (target ≥ 200)")
print(f"peak RSS: {rss_kb / 1024:.0f} MB   (target < 200)")
PY
