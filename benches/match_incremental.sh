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
# The seeded database is shared with the other benchmarks of that size (benches/seeded.sh says
# where it is kept). Only loopback addresses
# are used. Needs a build of the profile asked for (this script does not build).
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${1:-1000000}
ENGINE=${2:-sqlite}
SAMPLES=${3:-500}
PROFILE=${4:-release}
HAVEN=target/$PROFILE/haven
. benches/seeded.sh

[ -x "$HAVEN" ] || { echo "build first: cargo build ${PROFILE/debug/} -p haven"; exit 1; }

bench() { # engine
  local engine=$1
  seeded "$engine" "$COUNT"
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
