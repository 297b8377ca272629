#!/usr/bin/env bash
# API throughput: hostd against a bare libmicrohttpd server, over loopback TCP,
# measured with wrk in the same run. See bench/README.md.
#
#   bench/api-throughput.sh
#
# Environment: BUILD_DIR (default: build-bench/ or build/), ROUNDS (3),
# DURATION (10s), CONNECTIONS (64), THREADS (2), RESULTS_DIR (if set, the raw
# wrk outputs and hostd's log are copied there).
#
# 1. GET /v1/instances/{name} on hostd, and GET on bare-mhd in thread mode
#    (hostd's own MHD mode) and pool mode, alternating hostd, bare, bare-pool
#    for ROUNDS rounds so drift hits all three alike.
# 2. The same for create+delete (bench/create-delete.lua): POST /v1/instances
#    with a fresh name, then DELETE /v1/instances/{name}?wait=5.
# Prints req/s, p50, p99 and the server's CPU time per request for each run,
# then medians and the hostd/bare ratios.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}

command -v wrk >/dev/null || die "wrk not found (apt-get install wrk)"
command -v curl >/dev/null || die "curl not found (apt-get install curl)"
BUILD=$(find_build_dir)
HOSTD=$BUILD/daemon/hostd
BARE=$BUILD/bench/bare-mhd

trap cleanup EXIT
trap 'exit 130' INT TERM

make_work_dir hostd-bench-api
H_PORT=$(free_port)
B_PORT=$(free_port)
P_PORT=$(free_port)
while [[ $B_PORT == "$H_PORT" ]]; do B_PORT=$(free_port); done
while [[ $P_PORT == "$H_PORT" || $P_PORT == "$B_PORT" ]]; do P_PORT=$(free_port); done

# Overcommit is raised so the instances left between a create and its delete
# never hit 507 insufficient_capacity; it does not change the request path.
start_hostd "$HOSTD" "$WORK/state" "$WORK/s.sock" "$H_PORT" \
	--cpu-overcommit 1000 --memory-overcommit 1000
AUTH="Authorization: Bearer $TOKEN"
H_URL=http://127.0.0.1:$H_PORT

# The GET target, and one create+delete to learn the body sizes to mimic.
spec() { printf '{"name":"%s","kind":"container","image":"busybox"}' "$1"; }
code=$(curl -s -o "$WORK/post.json" -w '%{http_code}' -H "$AUTH" \
	-H 'Content-Type: application/json' -d "$(spec bench-get)" "$H_URL/v1/instances")
[[ $code == 201 ]] || die "creating bench-get answered $code: $(cat "$WORK/post.json")"
post_bytes=$(wc -c <"$WORK/post.json")
code=$(curl -s -o "$WORK/get.json" -w '%{http_code}' -H "$AUTH" "$H_URL/v1/instances/bench-get")
[[ $code == 200 ]] || die "GET bench-get answered $code"
get_bytes=$(wc -c <"$WORK/get.json")
curl -s -o /dev/null -H "$AUTH" -H 'Content-Type: application/json' -d "$(spec bench-probe)" \
	"$H_URL/v1/instances"
code=$(curl -s -o "$WORK/delete.json" -w '%{http_code}' -X DELETE -H "$AUTH" \
	"$H_URL/v1/instances/bench-probe?wait=5")
[[ $code == 200 ]] || die "DELETE ?wait=5 answered $code: $(cat "$WORK/delete.json")"
delete_bytes=$(wc -c <"$WORK/delete.json")

"$BARE" "$B_PORT" "$get_bytes" --post-bytes "$post_bytes" --delete-bytes "$delete_bytes" \
	--mode thread 2>"$WORK/bare-thread.log" &
BARE_PID=$!
STARTED_PIDS+=("$BARE_PID")
"$BARE" "$P_PORT" "$get_bytes" --post-bytes "$post_bytes" --delete-bytes "$delete_bytes" \
	--mode pool 2>"$WORK/bare-pool.log" &
POOL_PID=$!
STARTED_PIDS+=("$POOL_PID")
wait_http "http://127.0.0.1:$B_PORT/"
wait_http "http://127.0.0.1:$P_PORT/"

echo "hostd API throughput — $(date -u +%Y-%m-%dT%H:%MZ), nproc $(nproc), $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)"
load_note
echo "hostd $HOSTD (pid $HOSTD_PID); bare-mhd thread :$B_PORT (pid $BARE_PID), pool :$P_PORT (pid $POOL_PID)"
echo "bodies: GET $get_bytes B, POST $post_bytes B, DELETE $delete_bytes B;" \
	"wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency, $ROUNDS rounds"
echo

# run_wrk NAME PID URL SCRIPT [script args...]: one wrk run; prints a row and
# sets LAST to the BENCH line. Fails if the server under test died.
run_wrk() {
	local name=$1 pid=$2 url=$3 script=$4
	shift 4
	local out=$WORK/wrk-$name-$round.out
	local c0 c1
	c0=$(cpu_ticks "$pid")
	wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -H "$AUTH" -s "$script" \
		"$url" ${1+--} "$@" >"$out" 2>&1 ||
		{ cat "$out" >&2; die "wrk against $name failed"; }
	kill -0 "$pid" 2>/dev/null || die "$name (pid $pid) died during the run; see $out"
	c1=$(cpu_ticks "$pid")
	LAST=$(grep '^BENCH ' "$out" || true)
	[[ -n $LAST ]] || { cat "$out" >&2; die "no BENCH line from wrk against $name"; }
	LAST+=" cpu_us=$(awk -v a="$c0" -v b="$c1" -v hz="$HZ" -v n="$(field requests "$LAST")" \
		'BEGIN{printf "%.1f", (n > 0 ? (b - a) * 1e6 / hz / n : 0)}')"
	local se so
	se=$(field status_errors "$LAST")
	so=$(field socket_errors "$LAST")
	printf '  round %d  %-12s %8.0f req/s  p50 %6.2f ms  p99 %6.2f ms  %5.1f CPU us/req%s\n' \
		"$round" "$name" "$(field rps "$LAST")" \
		"$(awk -v u="$(field p50_us "$LAST")" 'BEGIN{print u/1000}')" \
		"$(awk -v u="$(field p99_us "$LAST")" 'BEGIN{print u/1000}')" "$(field cpu_us "$LAST")" \
		"$([[ $se == 0 && $so == 0 ]] || echo "  (errors: $se HTTP >399, $so socket)")"
}

# The server's CPU time (user+system, clock ticks) so far: its CPU cost per
# request is the difference across a run over the requests served.
HZ=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

declare -A RPS P50 P99 CPU
# record KEY: appends the last run's figures to the KEY lists.
record() {
	RPS[$1]+=" $(field rps "$LAST")"
	P50[$1]+=" $(field p50_us "$LAST")"
	P99[$1]+=" $(field p99_us "$LAST")"
	CPU[$1]+=" $(field cpu_us "$LAST")"
}

echo "GET /v1/instances/bench-get"
for round in $(seq 1 "$ROUNDS"); do
	run_wrk hostd "$HOSTD_PID" "$H_URL/v1/instances/bench-get" "$BENCH_DIR/report.lua"
	record get-hostd
	run_wrk bare-thread "$BARE_PID" "http://127.0.0.1:$B_PORT/v1/instances/bench-get" \
		"$BENCH_DIR/report.lua"
	record get-bare
	run_wrk bare-pool "$POOL_PID" "http://127.0.0.1:$P_PORT/v1/instances/bench-get" \
		"$BENCH_DIR/report.lua"
	record get-pool
done
echo
echo "create+delete (POST /v1/instances, DELETE /v1/instances/{name}?wait=5)"
for round in $(seq 1 "$ROUNDS"); do
	run_wrk hostd "$HOSTD_PID" "$H_URL" "$BENCH_DIR/create-delete.lua" "r$round"
	record cd-hostd
	run_wrk bare-thread "$BARE_PID" "http://127.0.0.1:$B_PORT" \
		"$BENCH_DIR/create-delete.lua" "r$round"
	record cd-bare
	run_wrk bare-pool "$POOL_PID" "http://127.0.0.1:$P_PORT" \
		"$BENCH_DIR/create-delete.lua" "r$round"
	record cd-pool
done

# per_round_ratios A B: hostd/bare req/s for each round (A and B ran back to back).
per_round_ratios() {
	local -a a b
	read -r -a a <<<"${RPS[$1]}"
	read -r -a b <<<"${RPS[$2]}"
	local i out=""
	for i in "${!a[@]}"; do
		out+=" $(awk -v x="${a[$i]}" -v y="${b[$i]}" 'BEGIN{printf "%.3f", x/y}')"
	done
	echo "$out"
}

summary() {
	local title=$1 pre=$2
	echo
	echo "$title — medians of $ROUNDS rounds"
	printf '  %-14s %10s %10s %10s %14s\n' target req/s "p50 ms" "p99 ms" "CPU us/req"
	local k name
	for k in hostd bare pool; do
		case $k in
		hostd) name=hostd ;;
		bare) name=bare-thread ;;
		pool) name=bare-pool ;;
		esac
		# shellcheck disable=SC2086 # the lists are space-separated numbers
		printf '  %-14s %10.0f %10.3f %10.3f %14.1f\n' "$name" "$(median ${RPS[$pre-$k]})" \
			"$(awk -v u="$(median ${P50[$pre-$k]})" 'BEGIN{print u/1000}')" \
			"$(awk -v u="$(median ${P99[$pre-$k]})" 'BEGIN{print u/1000}')" \
			"$(median ${CPU[$pre-$k]})"
	done
	local rb rp
	rb=$(per_round_ratios "$pre-hostd" "$pre-bare")
	rp=$(per_round_ratios "$pre-hostd" "$pre-pool")
	# shellcheck disable=SC2086
	printf '  hostd/bare-thread req/s: %.3f (per round:%s)\n' "$(median $rb)" "$rb"
	# shellcheck disable=SC2086
	printf '  hostd/bare-pool   req/s: %.3f (per round:%s)\n' "$(median $rp)" "$rp"
	# shellcheck disable=SC2086
	RATIO=$(median $rb)
	# shellcheck disable=SC2086
	HP99=$(median ${P99[$pre-hostd]})
}

summary "GET /v1/instances/{name}" get
verdict() { awk -v c="$1" 'BEGIN{print (c ? "met" : "MISSED")}'; }
printf '  goal hostd >= 0.70x bare-thread req/s: %s; goal p99 < 2 ms at %d connections: %s\n' \
	"$(verdict "$(awk -v r="$RATIO" 'BEGIN{print (r >= 0.70)}')")" "$CONNECTIONS" \
	"$(verdict "$(awk -v p="$HP99" 'BEGIN{print (p < 2000)}')")"
summary "create+delete" cd
printf '  goal hostd >= 0.70x bare-thread req/s: %s; goal p99 < 2 ms at %d connections: %s\n' \
	"$(verdict "$(awk -v r="$RATIO" 'BEGIN{print (r >= 0.70)}')")" "$CONNECTIONS" \
	"$(verdict "$(awk -v p="$HP99" 'BEGIN{print (p < 2000)}')")"

echo
echo "at the end: $(load_note)"
if [[ -n ${RESULTS_DIR:-} ]]; then
	mkdir -p "$RESULTS_DIR"
	cp "$WORK"/wrk-*.out "$WORK"/hostd.log "$RESULTS_DIR"/
	echo "raw outputs copied to $RESULTS_DIR"
fi
