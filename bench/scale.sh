#!/usr/bin/env bash
# Scale: hostd holding COUNT instances — its memory, and the time to list them
# all in pages of 500, against sqlite3 reading the same rows. See bench/README.md.
#
#   bench/scale.sh
#
# Environment: BUILD_DIR (default: build-bench/ or build/), COUNT (10000),
# PAGE (500), REPEAT (5), CREATE_THREADS (8).
#
# 1. Starts hostd (Unix socket only) with --cpu-overcommit 1000
#    --memory-overcommit 1000 on a temp state dir.
# 2. Creates exactly COUNT container instances (bench/create-many.c, over the
#    socket, CREATE_THREADS kept-alive connections), each asking for 0.1 vCPU
#    so COUNT fits under the overcommit cap.
# 3. Reads VmRSS and VmHWM from /proc/PID/status.
# 4. Pages through GET /v1/instances?limit=PAGE following `next`, over one
#    connection (bench/page-all.c), REPEAT times; min and median.
# 5. Reference: `sqlite3 hostd.db "SELECT spec FROM instances ORDER BY name"`
#    (rows written to /dev/null), REPEAT times: the query's own time (.timer,
#    1 ms resolution) and the whole sqlite3 process's.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

COUNT=${COUNT:-10000}
PAGE=${PAGE:-500}
REPEAT=${REPEAT:-5}
CREATE_THREADS=${CREATE_THREADS:-8}

command -v curl >/dev/null || die "curl not found (apt-get install curl)"
command -v sqlite3 >/dev/null || die "sqlite3 not found (apt-get install sqlite3)"
BUILD=$(find_build_dir)
HOSTD=$BUILD/daemon/hostd
[[ -x $BUILD/bench/create-many && -x $BUILD/bench/page-all ]] ||
	die "$BUILD/bench/create-many or page-all is missing; build the tree"

trap cleanup EXIT
trap 'exit 130' INT TERM

make_work_dir hostd-bench-scale
SOCK=$WORK/s.sock
STATE=$WORK/state
start_hostd "$HOSTD" "$STATE" "$SOCK" "" --cpu-overcommit 1000 --memory-overcommit 1000

# rss: "VmRSS <kB> VmHWM <kB>" of hostd now.
rss() { awk '/^VmRSS:/ {r = $2} /^VmHWM:/ {h = $2} END {print r, h}' "/proc/$HOSTD_PID/status"; }
mib() { awk -v k="$1" 'BEGIN{printf "%.1f", k / 1024}'; }

echo "hostd scale — $(date -u +%Y-%m-%dT%H:%MZ), nproc $(nproc), $COUNT instances, pages of $PAGE"
load_note
echo "hostd $HOSTD (pid $HOSTD_PID), state dir $STATE"
read -r rss0 hwm0 < <(rss)
echo "idle, empty:       VmRSS $(mib "$rss0") MiB, VmHWM $(mib "$hwm0") MiB"

out=$("$BUILD/bench/create-many" --socket "$SOCK" --count "$COUNT" --threads "$CREATE_THREADS" \
	--prefix s) || die "creating instances failed: $out"
created_s=$(field seconds "$out")
echo "created $(field created "$out") instances in ${created_s} s ($(field per_second "$out")/s," \
	"$CREATE_THREADS connections)"
total=$(curl -sf --unix-socket "$SOCK" http://localhost/v1/host |
	sed -n 's/.*"instances":{"total":\([0-9]*\).*/\1/p')
[[ $total == "$COUNT" ]] || die "GET /v1/host reports $total instances, not $COUNT"
read -r rss1 hwm1 < <(rss)
echo "after creating:    VmRSS $(mib "$rss1") MiB, VmHWM $(mib "$hwm1") MiB"

# hostd's CPU time (user+system, in clock ticks) across the paging passes says
# how much of the paging time is the server's own work.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$HOSTD_PID/stat"; }
echo
c0=$(cpu_ticks)
"$BUILD/bench/page-all" --socket "$SOCK" --limit "$PAGE" --repeat "$REPEAT" --expect "$COUNT" \
	>"$WORK/page.out" || { cat "$WORK/page.out"; die "paging failed"; }
sed 's/^/  /' "$WORK/page.out" | grep -v RESULT
page=$(grep '^RESULT ' "$WORK/page.out")
c1=$(cpu_ticks)
# REPEAT timed passes plus page-all's verify pass.
cpu_ms=$(awk -v a="$c0" -v b="$c1" -v hz="$(getconf CLK_TCK)" -v n="$((REPEAT + 1))" \
	'BEGIN{printf "%.0f", (b - a) * 1000 / hz / n}')
read -r rss2 hwm2 < <(rss)
echo "after paging:      VmRSS $(mib "$rss2") MiB, VmHWM $(mib "$hwm2") MiB"

# The reference: the same rows straight from the database, while hostd runs
# (WAL mode, so the reader does not block it and sees what it committed).
DB=$STATE/hostd.db
[[ -f $DB ]] || die "no database at $DB"
n=$(sqlite3 "$DB" "SELECT count(*) FROM instances")
[[ $n == "$COUNT" ]] || die "$DB has $n instances, not $COUNT"
q_ms=() w_ms=()
for _ in $(seq 1 "$REPEAT"); do
	t0=$(date +%s%N)
	line=$(printf '.output /dev/null\n.timer on\nSELECT spec FROM instances ORDER BY name;\n' |
		sqlite3 "$DB" | grep '^Run Time:')
	t1=$(date +%s%N)
	q_ms+=("$(awk -v s="$(echo "$line" | awk '{print $4}')" 'BEGIN{printf "%.1f", s * 1000}')")
	w_ms+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", (b - a) / 1e6}')")
done
spec_bytes=$(sqlite3 "$DB" "SELECT sum(length(spec)) FROM instances")

min() { printf '%s\n' "$@" | sort -g | head -1; }
pmin=$(field min_ms "$page")
pmed=$(field median_ms "$page")
qmed=$(median "${q_ms[@]}")
wmed=$(median "${w_ms[@]}")

echo
echo "summary"
printf '  instances %s, pages %s, API bytes %s (%s B/instance), spec column bytes %s\n' \
	"$(field instances "$page")" "$(field pages "$page")" "$(field bytes "$page")" \
	"$(awk -v b="$(field bytes "$page")" -v n="$COUNT" 'BEGIN{printf "%.0f", b / n}')" "$spec_bytes"
printf '  RSS with %s instances: VmRSS %s MiB, VmHWM %s MiB (idle empty: %s MiB)\n' "$COUNT" \
	"$(mib "$rss2")" "$(mib "$hwm2")" "$(mib "$rss0")"
printf '  page through all (limit=%s, one connection): min %s ms, median %s ms\n' "$PAGE" "$pmin" \
	"$pmed"
printf '  hostd CPU time per full pass: ~%s ms (user+system, averaged over %s passes)\n' "$cpu_ms" \
	"$((REPEAT + 1))"
printf '  sqlite3 SELECT spec ... ORDER BY name: query min %s ms, median %s ms;' \
	"$(min "${q_ms[@]}")" "$qmed"
printf ' whole sqlite3 process min %s ms, median %s ms\n' "$(min "${w_ms[@]}")" "$wmed"
printf '  ratio API paging / sqlite3 query (medians): %.1f; / sqlite3 process: %.1f\n' \
	"$(awk -v a="$pmed" -v b="$qmed" 'BEGIN{print a / b}')" \
	"$(awk -v a="$pmed" -v b="$wmed" 'BEGIN{print a / b}')"
verdict() { awk -v c="$1" 'BEGIN{print (c ? "met" : "MISSED")}'; }
printf '  goal RSS <= 64 MiB (VmHWM): %s; goal whole list within 200 ms (median): %s\n' \
	"$(verdict "$(awk -v k="$hwm2" 'BEGIN{print (k <= 65536)}')")" \
	"$(verdict "$(awk -v m="$pmed" 'BEGIN{print (m <= 200)}')")"
echo "at the end: $(load_note)"
