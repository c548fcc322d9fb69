#!/usr/bin/env bash
# Soak benchmark (issue 7): a long kill -9 loop over a large backlog and, on
# PostgreSQL, the failover time of two daemons. Prints kills survived,
# messages processed, duplicates (must be 0), lost (must be 0), failover time.
#
#   bash scripts/soak.sh                       # SQLite, 10,000 messages, 30 kills
#   CFPD_TEST_DATABASE=postgres CFPD_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/postgres \
#     bash scripts/soak.sh                     # PostgreSQL, plus 3 failovers
#   CFPD_SOAK_MESSAGES=20000 CFPD_SOAK_KILLS=50 CFPD_FAULT_SEED=42 bash scripts/soak.sh
#   SOAK_PROFILE=release bash scripts/soak.sh  # release build of cfpd
#
# Needs the same servers as the test suite (Dovecot, python3-aiosmtpd).
set -euo pipefail
cd "$(dirname "$0")/.."
profile=()
if [ "${SOAK_PROFILE:-debug}" = release ]; then profile=(--release); fi
cargo test "${profile[@]}" --test faults -- --ignored --exact soak --nocapture 2>&1 \
  | grep -E '^(SOAK|fault seed|uncertain acks)|panicked|test result'
