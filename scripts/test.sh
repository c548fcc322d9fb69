#!/usr/bin/env bash
# The whole test suite, on real servers. Installs what it needs (Debian
# packages) when missing, starts a throwaway PostgreSQL cluster unless
# DATABASE_URL names one, and runs: formatting, clippy, the doc links, unit
# tests, the integration tests against SQLite and against PostgreSQL, and the
# deploy/ checks (scripts/check-deploy.sh, on the debug binary). Dovecot and the
# SMTP server are started per test by tests/support on free loopback ports.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
[ -x /usr/sbin/dovecot ] || need+=(dovecot-imapd dovecot-lmtpd)
/usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null || need+=(python3-aiosmtpd)
if [ -z "${DATABASE_URL:-}" ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  need+=(postgresql)
fi
command -v iconv >/dev/null || need+=(libc-bin)
command -v openssl >/dev/null || need+=(openssl)
[ -x /usr/bin/time ] || need+=(time)
[ -x /usr/bin/chromium ] || need+=(chromium)   # tests/report_html.rs renders the HTML report
command -v systemd-analyze >/dev/null || need+=(systemd)
command -v script >/dev/null || need+=(bsdutils)
{ python3 -m pip --version || /usr/bin/python3 -m pip --version; } >/dev/null 2>&1 || need+=(python3-pip)
if [ ${#need[@]} -gt 0 ]; then
  echo "== installing ${need[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

pgdir=""
cleanup() {
  if [ -n "$pgdir" ]; then
    runas "$pg_ctl" -D "$pgdir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$pgdir"
  fi
}
trap cleanup EXIT

runas() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [ -n "${DATABASE_URL:-}" ]; then
  export CFPD_TEST_PG_URL="$DATABASE_URL"
else
  bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  pg_ctl="$bindir/pg_ctl"
  pgdir=$(mktemp -d /tmp/cfpd-pg.XXXXXX)
  [ "$(id -u)" -ne 0 ] || chown postgres:postgres "$pgdir"
  port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  runas "$bindir/initdb" -D "$pgdir/data" -A trust -U postgres >/dev/null
  runas "$pg_ctl" -D "$pgdir/data" -l "$pgdir/log" -w \
    -o "-p $port -k $pgdir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" start >/dev/null
  export CFPD_TEST_PG_URL="postgres://postgres@127.0.0.1:$port/postgres"
  echo "== PostgreSQL on 127.0.0.1:$port ($pgdir)"
fi

export CFPD_REQUIRE_SERVERS=1
echo "== cargo fmt --check"
cargo fmt --check
echo "== cargo clippy"
cargo clippy --all-targets --quiet -- -D warnings
echo "== cargo doc (broken or private intra-doc links fail)"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --quiet
echo "== tests (SQLite)"
cargo test --quiet
echo "== deploy/ (systemd unit, container recipe, compose file, example configs)"
bash scripts/check-deploy.sh
echo "== integration tests (PostgreSQL)"
CFPD_TEST_DATABASE=postgres cargo test --quiet --test '*'
