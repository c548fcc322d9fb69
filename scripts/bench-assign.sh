#!/usr/bin/env bash
# Reviewer-assignment benchmark: cfpd's exact solver against the OR-Tools peer.
#
# Generates the seeded instances (shared/bench/assignment/gen_instance.py), runs
# `cfpd assign` and the peer under /usr/bin/time -v, validates both outputs with
# check_assign.py and prints wall time, solver time, peak RSS and objective_int.
#
# Environment:
#   CFPD_BIN     cfpd binary (default: scripts/build-release.sh, the build the container ships)
#   CFPD_SHARED  shared/ directory (default: ../shared next to this repository)
#   SIZES        "P:R[:K] ..." (default "300:60 3000:600 20000:8000 50000:20000:4"), K 3 unless given
#   RUNS         cfpd runs per size; the median wall, solve time and RSS are printed (default 3)
#   AFFINITY     jaccard | overlap (default jaccard)
#   PYTHON       interpreter for the peer and check_assign.py (default python3); e.g. a venv
#                made by `python3 -m venv V && V/bin/pip install ortools numpy scipy`
#   PEER         1 = run the peer (default 1); needs ortools (and numpy, scipy for --lp)
#   PEER_LARGE   1 = also run the peer at P >= 20000 (default 0: 183 s, 12.6 GiB peak RSS;
#                the README's numbers are quoted instead)
#   LP_CHECK_MAX run check_assign.py --lp (HiGHS LP optimum) up to this P (default 3000)
#   OUT          work directory (default /tmp/cfpd-bench)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
shared="${CFPD_SHARED:-$here/../shared}"
bench="$shared/bench/assignment"
out="${OUT:-/tmp/cfpd-bench}"
sizes="${SIZES:-300:60 3000:600 20000:8000 50000:20000:4}"
runs="${RUNS:-3}"
affinity="${AFFINITY:-jaccard}"
peer="${PEER:-1}"
peer_large="${PEER_LARGE:-0}"
lp_max="${LP_CHECK_MAX:-3000}"
py="${PYTHON:-python3}"
mkdir -p "$out"

if [[ ! -f "$bench/gen_instance.py" ]]; then
    echo "bench-assign: $bench/gen_instance.py not found (set CFPD_SHARED)" >&2
    exit 1
fi
if [[ ! -x /usr/bin/time ]]; then
    echo "bench-assign: /usr/bin/time is required (apt-get install time)" >&2
    exit 1
fi
if [[ -z "${CFPD_BIN:-}" ]]; then
    CFPD_BIN="$(bash "$here/scripts/build-release.sh")"
fi

# time_field FILE: "<wall seconds> <peak RSS MiB>" from /usr/bin/time -v output
time_fields() {
    python3 - "$1" <<'EOF'
import re, sys
t = open(sys.argv[1]).read()
m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", t)
parts = [float(x) for x in m.group(1).split(":")]
wall = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1)) / 1024
print(f"{wall:.2f} {rss:.0f}")
EOF
}

json_field() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); v=eval("d"+sys.argv[2]); print(v if v is not None else "-")' "$1" "$2"; }

check() { # check INSTANCE OUTPUT P -> "ok" / "FAIL", with optimality when P <= lp_max
    local args=()
    if (( $3 <= lp_max )); then args=(--lp); fi
    if "$py" "$bench/check_assign.py" "$1" "$2" "${args[@]}" >"$2.check" 2>&1; then
        if (( $3 <= lp_max )); then echo "ok+lp-optimal"; else echo "ok"; fi
    else
        echo "FAIL($(head -c 200 "$2.check"))"
    fi
}

printf '%-16s %-6s %8s %8s %9s %12s %s\n' "P/R/K" "solver" "wall_s" "solve_s" "rss_MiB" "objective" "check"
for size in $sizes; do
    IFS=: read -r P R K <<<"$size"; K="${K:-3}"
    inst="$out/p$P-r$R-k$K.json"
    [[ -f "$inst" ]] || python3 "$bench/gen_instance.py" -P "$P" -R "$R" -K "$K" --seed 1 -o "$inst"

    res="$out/cfpd-$P-$K-$affinity.json"
    samples=()
    for ((i = 0; i < runs; i++)); do
        /usr/bin/time -v "$CFPD_BIN" assign --instance "$inst" --affinity "$affinity" --out "$res" \
            >"$res.log" 2>"$res.time" || { echo "cfpd failed at P=$P, see $res.log / $res.time" >&2; exit 1; }
        read -r wall rss < <(time_fields "$res.time")
        samples+=("$wall $(json_field "$res" '["stats"]["solve_seconds"]') $rss")
    done
    # Median of each column over the runs.
    read -r wall solve rss < <(printf '%s\n' "${samples[@]}" | python3 -c '
import statistics, sys
cols = list(zip(*(map(float, l.split()) for l in sys.stdin)))
print(" ".join(f"{statistics.median(c):.2f}" for c in cols))')
    printf '%-16s %-6s %8s %8.2f %9s %12s %s\n' "$P/$R/$K" "cfpd" "$wall" "$solve" "$rss" \
        "$(json_field "$res" '["objective_int"]')" "$(check "$inst" "$res" "$P")"

    if [[ "$peer" == 1 ]] && { (( P < 20000 )) || [[ "$peer_large" == 1 ]]; }; then
        pres="$out/peer-$P-$K-$affinity.json"
        /usr/bin/time -v "$py" "$bench/peer_assign.py" "$inst" -o "$pres" --affinity "$affinity" \
            --stats "$pres.stats" >"$pres.log" 2>"$pres.time" || true
        read -r wall rss < <(time_fields "$pres.time")
        printf '%-16s %-6s %8s %8.2f %9s %12s %s\n' "$P/$R/$K" peer "$wall" \
            "$(json_field "$pres.stats" '["solve_seconds"]')" "$rss" \
            "$(json_field "$pres" '["objective_int"]')" "$(check "$inst" "$pres" "$P")"
    elif [[ "$peer" == 1 && "$P/$R/$K" == 20000/8000/3 ]]; then
        printf '%-16s %-6s %8s %8s %9s %12s %s\n' "$P/$R/$K" peer "-" "183" "12902" \
            "40458802" "(README numbers, jaccard; set PEER_LARGE=1 to run)"
    elif [[ "$peer" == 1 ]]; then
        printf '%-16s %-6s %8s %8s %9s %12s %s\n' "$P/$R/$K" peer "-" "-" "-" "-" \
            "(not run: over 12 GiB at P=20000 already; set PEER_LARGE=1 to run)"
    fi
done
