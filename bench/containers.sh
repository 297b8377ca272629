#!/usr/bin/env bash
# Container start: how fast hostd runs a short-lived container, against runc and
# against bare namespaces, and what an idle container's monitor costs. See
# bench/README.md.
#
#   bench/containers.sh          (as root)
#
# Environment: BUILD_DIR (default: build-bench/ or build/), RUNS (200), ROUNDS (10),
# IDLE (20), MANY (500), PARALLEL (8: connections for creating/starting/deleting
# MANY), POLL_US (250: ct-start's sleep between GETs), IMAGES_DIR (build/images).
#
# 1. Starts hostd (Unix socket only) on a temp state dir and imports busybox.oci.tar.
# 2-4 run in ROUNDS rounds of RUNS/ROUNDS each, alternating, so that load from
#    elsewhere hits all three alike:
# 2. hostd: ct-start: create, start?wait=30, GET until exited, timed from before
#    the create to the GET that sees "exited" (in-process monotonic clock).
# 3. runc: `runc run --bundle B ctN` of /bin/true (the busybox rootfs, the default
#    `runc spec` with args and terminal changed), each timed with date +%s%N before
#    and after, then as many again timed with bash's $EPOCHREALTIME (no fork).
# 4. Floor: `unshare --fork --pid --mount --uts --ipc --net /bin/true`, timed the
#    same two ways; and the two timers around the builtin `:` (their own cost).
#    Then, for reference, the kernel's cost of one cgroup.procs write (20 samples).
# 5. Ratios of the p50s. Percentiles are nearest-rank everywhere.
# 6. Monitor footprint: IDLE containers running `sleep 100000`; Rss and Pss of
#    each hostd-monitor (pid from state.json) from /proc/PID/smaps_rollup.
# 7. MANY idle containers at once: create and start them over PARALLEL
#    connections, check they all run, sum the monitors' Pss, host memory before
#    and after, then delete them all and check nothing of theirs is left.
set -euo pipefail
export LC_ALL=C

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RUNS=${RUNS:-200}
ROUNDS=${ROUNDS:-10}
IDLE=${IDLE:-20}
MANY=${MANY:-500}
PARALLEL=${PARALLEL:-8}
POLL_US=${POLL_US:-250}
IMAGES_DIR=${IMAGES_DIR:-$REPO_DIR/build/images}

[[ $EUID -eq 0 ]] || die "needs root (containers, runc, unshare)"
((RUNS >= ROUNDS && ROUNDS >= 1 && RUNS % ROUNDS == 0)) || die "RUNS must be a multiple of ROUNDS"
PER=$((RUNS / ROUNDS))
for c in curl jq unshare; do
	command -v "$c" >/dev/null || die "$c not found (apt-get install $c)"
done
if ! command -v runc >/dev/null; then
	echo "runc not found: apt-get install -y runc"
	DEBIAN_FRONTEND=noninteractive apt-get install -y runc >/dev/null ||
		die "could not install runc"
fi
BUILD=$(find_build_dir)
HOSTD=$BUILD/daemon/hostd
CT_START=$BUILD/bench/ct-start
[[ -x $CT_START ]] || die "$CT_START is missing; build the tree"
[[ -x $BUILD/daemon/hostd-monitor ]] || die "$BUILD/daemon/hostd-monitor is missing"

RUNC_ROOT=""
STATE=""
SOCK=""
CG_PROBE=""
CG_PROBE_PID=""

# api METHOD PATH [curl args...]: one request to hostd, the body on stdout.
api() {
	local m=$1 p=$2
	shift 2
	curl -sS --unix-socket "$SOCK" -X "$m" "$@" "http://localhost$p"
}

# pids_of_run: every process whose command line names this run's state dir (the
# hostd-monitors hostd started for us), plus each container's init from state.json.
pids_of_run() {
	local f pid cmd
	for f in /proc/[0-9]*/cmdline; do
		pid=${f#/proc/}
		pid=${pid%/cmdline}
		[[ $pid == "$$" ]] && continue
		{ cmd=$(tr '\0' ' ' <"$f"); } 2>/dev/null || continue
		if [[ $cmd == *hostd-monitor*"$STATE/containers/"* ]]; then
			echo "$pid"
		fi
	done
	for f in "$STATE"/containers/*/state.json; do
		[[ -f $f ]] || continue
		pid=$(jq -r '.pid // empty' "$f" 2>/dev/null) || continue
		[[ -n $pid ]] && grep -qs "/hostd/$(basename "$(dirname "$f")")\$" "/proc/$pid/cgroup" &&
			echo "$pid"
	done
	return 0
}

# Deletes what this run left behind (hostd's instances, runc containers, stray
# monitors and their cgroups), then lib.sh's cleanup stops hostd and removes $WORK.
ct_cleanup() {
	local rc=$? id pid uuid
	set +eu
	if [[ -n $SOCK && -S $SOCK && -n ${HOSTD_PID:-} ]] && kill -0 "$HOSTD_PID" 2>/dev/null; then
		api GET '/v1/instances?limit=1000' 2>/dev/null | jq -r '.instances[].name' 2>/dev/null |
			while read -r id; do
				api DELETE "/v1/instances/$id?force=true&wait=30" -o /dev/null
			done
	fi
	if [[ -n $RUNC_ROOT && -d $RUNC_ROOT ]]; then
		for id in $(runc --root "$RUNC_ROOT" list -q 2>/dev/null); do
			runc --root "$RUNC_ROOT" delete --force "$id"
		done
	fi
	if [[ -n $STATE && -d $STATE/containers ]]; then
		for pid in $(pids_of_run); do
			echo "containers.sh: process $pid of this run still alive; killing it" >&2
			kill -KILL "$pid" 2>/dev/null
		done
		for uuid in "$STATE"/containers/*/; do
			uuid=$(basename "$uuid")
			rmdir /sys/fs/cgroup/*/hostd/"$uuid" /sys/fs/cgroup/hostd/"$uuid" 2>/dev/null
		done
	fi
	if [[ -n $CG_PROBE && -d $CG_PROBE ]]; then
		kill -KILL "$CG_PROBE_PID" 2>/dev/null
		wait "$CG_PROBE_PID" 2>/dev/null
		rmdir "$CG_PROBE"
	fi
	cleanup
	exit "$rc"
}
trap ct_cleanup EXIT
trap 'exit 130' INT TERM

# pct P FILE: nearest-rank percentile (the ceil(P*N/100)-th smallest) of FILE's numbers.
pct() {
	sort -g "$2" | awk -v p="$1" '{ v[NR] = $1 } END {
		if (NR == 0) { print "nan"; exit }
		r = int((p * NR + 99) / 100); if (r < 1) r = 1; print v[r] }'
}
# summary FILE: "p50 P p95 P min M max M" of FILE's numbers (ms).
summary() {
	printf 'p50 %.3f  p95 %.3f  min %.3f  max %.3f ms' "$(pct 50 "$1")" "$(pct 95 "$1")" \
		"$(sort -g "$1" | head -1)" "$(sort -g "$1" | tail -1)"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.3f", a / b}'; }
verdict() { awk -v c="$1" 'BEGIN{print (c ? "met" : "MISSED")}'; }
# rollup PID FIELD: FIELD (Rss, Pss) of PID from smaps_rollup, in KiB.
rollup() { awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/smaps_rollup"; }
mem_used() { free -m | awk '/^Mem:/ {print $3}'; }
mem_avail_kib() { awk '/^MemAvailable:/ {print $2}' /proc/meminfo; }

# timed_loop TAG CMD...: PER runs of CMD timed with date +%s%N (ms appended to
# $WORK/TAG.date), then PER more timed with $EPOCHREALTIME ($WORK/TAG.epoch).
# "%i" in CMD is replaced by a name unique to the run.
timed_loop() {
	local tag=$1 i t0 t1 args
	shift
	for i in $(seq 1 "$PER"); do
		args=("${@//%i/d$round-$i}")
		t0=$(date +%s%N)
		"${args[@]}" </dev/null >/dev/null
		t1=$(date +%s%N)
		awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f\n", (b - a) / 1e6}' >>"$WORK/$tag.date"
	done
	for i in $(seq 1 "$PER"); do
		args=("${@//%i/e$round-$i}")
		t0=$EPOCHREALTIME
		"${args[@]}" </dev/null >/dev/null
		t1=$EPOCHREALTIME
		echo "$((${t1/./} - ${t0/./}))" | awk '{printf "%.3f\n", $1 / 1e3}' >>"$WORK/$tag.epoch"
	done
}

# cg_attach_probe: what the kernel charges for moving one process into a cgroup
# (writing cgroup.procs), the step every runtime takes per container: CG_SAMPLES
# moves of a sleeping process into a fresh cgroup of the cpu hierarchy (v1 here,
# or v2), each after 50 ms of quiet; ms into $WORK/cgattach.
cg_attach_probe() {
	local base i t0 t1
	if [[ -f /sys/fs/cgroup/cpu/cgroup.procs ]]; then
		base=/sys/fs/cgroup/cpu
	elif [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then
		base=/sys/fs/cgroup
	else
		return 0
	fi
	CG_PROBE=$base/hostd-bench-ct-$$
	mkdir "$CG_PROBE"
	sleep 1000 &
	CG_PROBE_PID=$!
	STARTED_PIDS+=("$CG_PROBE_PID")
	for i in $(seq 1 "${CG_SAMPLES:-20}"); do
		sleep 0.05
		t0=$EPOCHREALTIME
		echo "$CG_PROBE_PID" >"$CG_PROBE/cgroup.procs"
		t1=$EPOCHREALTIME
		echo "$((${t1/./} - ${t0/./}))" | awk '{printf "%.3f\n", $1 / 1e3}' >>"$WORK/cgattach"
		echo "$CG_PROBE_PID" >"$base/cgroup.procs"
	done
	kill "$CG_PROBE_PID"
	wait "$CG_PROBE_PID" 2>/dev/null || true
	rmdir "$CG_PROBE"
	CG_PROBE=""
}

make_work_dir hostd-bench-ct
SOCK=$WORK/hostd.sock
STATE=$WORK/state
RUNC_ROOT=$WORK/runc-root

echo "hostd container start — $(date -u +%Y-%m-%dT%H:%MZ), nproc $(nproc)," \
	"$(uname -r), runs $RUNS"
load_note
start_hostd "$HOSTD" "$STATE" "$SOCK" ""
echo "hostd $HOSTD (pid $HOSTD_PID), state dir $STATE"
echo "runc: $(runc --version | head -1)"

# --- the image ------------------------------------------------------------------------

if [[ ! -f $IMAGES_DIR/busybox.oci.tar || ! -f $IMAGES_DIR/busybox-rootfs.tar.gz ]]; then
	echo "no busybox images in $IMAGES_DIR: building them into $WORK/images"
	"$REPO_DIR/packaging/images/build-busybox-oci.sh" "$WORK/images" >/dev/null ||
		die "could not build the busybox images"
	IMAGES_DIR=$WORK/images
fi
code=$(api POST '/v1/images?name=busybox&kind=container&format=oci-archive' \
	-H 'Content-Type: application/x-tar' -T "$IMAGES_DIR/busybox.oci.tar" \
	-o "$WORK/image.json" -w '%{http_code}')
[[ $code == 201 || $code == 200 ]] || die "image import: HTTP $code: $(cat "$WORK/image.json")"

# --- a-c: hostd, runc, unshare in alternating rounds --------------------------------------

BUNDLE=$WORK/bundle
mkdir -p "$BUNDLE/rootfs" "$RUNC_ROOT"
tar -xzf "$IMAGES_DIR/busybox-rootfs.tar.gz" -C "$BUNDLE/rootfs"
(cd "$BUNDLE" && runc spec)
jq '.process.args = ["/bin/true"] | .process.terminal = false' "$BUNDLE/config.json" \
	>"$BUNDLE/config.json.new"
mv "$BUNDLE/config.json.new" "$BUNDLE/config.json"
RUNC=(runc --root "$RUNC_ROOT" run --bundle "$BUNDLE")
if ! "${RUNC[@]}" probe </dev/null >"$WORK/runc-probe.log" 2>&1; then
	if runc --root "$RUNC_ROOT" run --no-pivot --bundle "$BUNDLE" probe2 </dev/null \
		>>"$WORK/runc-probe.log" 2>&1; then
		echo "runc run fails with pivot_root here; using --no-pivot"
		RUNC+=(--no-pivot)
	else
		cat "$WORK/runc-probe.log" >&2
		die "runc run fails"
	fi
fi

echo
echo "a-c. $ROUNDS rounds of $PER: hostd (ct-start, poll ${POLL_US} us), runc, unshare"
: >"$WORK/ct-start.runs"
: >"$WORK/ct-start.err"
for round in $(seq 1 "$ROUNDS"); do
	"$CT_START" "$SOCK" "$PER" --each --poll-us "$POLL_US" --prefix "cts$round" \
		>"$WORK/ct-start.out" 2>>"$WORK/ct-start.err" ||
		{ cat "$WORK/ct-start.out" "$WORK/ct-start.err"; die "ct-start failed"; }
	grep '^run ' "$WORK/ct-start.out" >>"$WORK/ct-start.runs"
	timed_loop runc "${RUNC[@]}" "ct%i"
	timed_loop unshare unshare --fork --pid --mount --uts --ipc --net /bin/true
	timed_loop noop :
done
left=$(api GET '/v1/instances?limit=1000' | jq '.instances | length')
[[ $left == 0 ]] || die "$left instances left after ct-start"
runc_left=$(runc --root "$RUNC_ROOT" list -q | wc -l)
[[ $runc_left == 0 ]] || die "runc left $runc_left containers behind"

for ph in total create start exit; do
	sed -n "s/.* ${ph}_ms=\([0-9.]*\).*/\1/p" "$WORK/ct-start.runs" >"$WORK/hostd.$ph"
done
sed -n 's/.* polls=\([0-9]*\).*/\1/p' "$WORK/ct-start.runs" >"$WORK/hostd.polls"
hostd_runs=$(wc -l <"$WORK/hostd.total")
hostd_lost=$(grep -c 'lost exit' "$WORK/ct-start.err" || true)
hostd_p50=$(pct 50 "$WORK/hostd.total")
hostd_p95=$(pct 95 "$WORK/hostd.total")

echo
echo "a. hostd: create + start?wait + GET until exited, /bin/true ($hostd_runs runs measured)"
echo "  start to exited seen: $(summary "$WORK/hostd.total")"
echo "    create (POST):      $(summary "$WORK/hostd.create")"
echo "    start (POST wait):  $(summary "$WORK/hostd.start")"
echo "    exit seen (GETs):   $(summary "$WORK/hostd.exit");" \
	"GETs per run p50 $(pct 50 "$WORK/hostd.polls"), max $(sort -g "$WORK/hostd.polls" | tail -1)"
if ((hostd_lost > 0)); then
	echo "  LOST EXITS: in $hostd_lost of $RUNS runs hostd never reported the exit (the state" \
		"stayed running although the container had ended); those runs are not in the figures:"
	cut -c1-110 "$WORK/ct-start.err" | sed 's/^/    /'
fi

echo
echo "b. runc: runc run of /bin/true (busybox rootfs, runc spec defaults), $RUNS runs per timer"
echo "  timed with date +%s%N:     $(summary "$WORK/runc.date")"
echo "  timed with \$EPOCHREALTIME: $(summary "$WORK/runc.epoch")"
echo "  runc list after the runs: $runc_left containers"
runc_p50=$(pct 50 "$WORK/runc.date")
runc_p95=$(pct 95 "$WORK/runc.date")
runc_p50e=$(pct 50 "$WORK/runc.epoch")

echo
echo "c. floor: unshare --fork --pid --mount --uts --ipc --net /bin/true, $RUNS runs per timer"
echo "  timed with date +%s%N:     $(summary "$WORK/unshare.date")"
echo "  timed with \$EPOCHREALTIME: $(summary "$WORK/unshare.epoch")"
echo "  the timer alone (around the builtin ':'): date +%s%N p50 $(pct 50 "$WORK/noop.date") ms," \
	"\$EPOCHREALTIME p50 $(pct 50 "$WORK/noop.epoch") ms"
cg_attach_probe
if [[ -s $WORK/cgattach ]]; then
	echo "  the kernel: one cgroup.procs write (moving a process into a new cgroup) after" \
		"50 ms quiet: $(summary "$WORK/cgattach")"
fi
unshare_p50=$(pct 50 "$WORK/unshare.date")
unshare_p95=$(pct 95 "$WORK/unshare.date")
unshare_p50e=$(pct 50 "$WORK/unshare.epoch")

# --- d. ratios ---------------------------------------------------------------------------

echo
echo "d. ratios (p50s; runc and unshare timed with date +%s%N, then with \$EPOCHREALTIME)"
r_runc=$(ratio "$hostd_p50" "$runc_p50")
r_unshare=$(ratio "$hostd_p50" "$unshare_p50")
echo "  hostd / runc    = $r_runc (goal <= 0.25: $(verdict "$(awk -v r="$r_runc" 'BEGIN{print r <= 0.25}')"));" \
	"$(ratio "$hostd_p50" "$runc_p50e") against \$EPOCHREALTIME timing"
echo "  hostd / unshare = $r_unshare (stretch <= 3: $(verdict "$(awk -v r="$r_unshare" 'BEGIN{print r <= 3}')"));" \
	"$(ratio "$hostd_p50" "$unshare_p50e") against \$EPOCHREALTIME timing"

# --- e. monitor footprint ------------------------------------------------------------------

# start_idle NAME VCPUS MEMORY_MB: creates and starts one `sleep 100000` container;
# prints its uuid.
start_idle() {
	local out code
	out=$(api POST /v1/instances -H 'Content-Type: application/json' -w '\n%{http_code}' \
		-d "{\"name\":\"$1\",\"kind\":\"container\",\"image\":\"busybox\",\"command\":[\"sleep\",\"100000\"],\"resources\":{\"vcpus\":$2,\"memory_mb\":$3}}")
	code=${out##*$'\n'}
	[[ $code == 201 ]] || die "create $1: HTTP $code: ${out%$'\n'*}"
	out=$(api POST "/v1/instances/$1/start?wait=30")
	[[ $(jq -r .status <<<"$out") == success ]] || die "start $1: $out"
	jq -r .instance.uuid <<<"$out"
}
monitor_pid() { jq -r .monitor_pid "$STATE/containers/$1/state.json"; }
init_pid() { jq -r .pid "$STATE/containers/$1/state.json"; }

echo
echo "e. monitor footprint: $IDLE idle containers (sleep 100000)"
uuids=()
for i in $(seq 1 "$IDLE"); do
	uuids+=("$(start_idle "idle-$i" 0.1 32)")
done
sleep 1 # let them settle
rss_sum=0 pss_sum=0 irss_sum=0 ipss_sum=0
for u in "${uuids[@]}"; do
	mp=$(monitor_pid "$u")
	ip=$(init_pid "$u")
	[[ $(cat "/proc/$mp/comm") == hostd-monitor ]] || die "pid $mp of $u is not a hostd-monitor"
	rss_sum=$((rss_sum + $(rollup "$mp" Rss)))
	pss_sum=$((pss_sum + $(rollup "$mp" Pss)))
	irss_sum=$((irss_sum + $(rollup "$ip" Rss)))
	ipss_sum=$((ipss_sum + $(rollup "$ip" Pss)))
done
avg_pss=$((pss_sum / IDLE))
echo "  hostd-monitor, average of $IDLE: Rss $((rss_sum / IDLE)) KiB, Pss $avg_pss KiB" \
	"(goal Pss <= 512 KiB: $(verdict "$((avg_pss <= 512))"))"
echo "  for scale, the container's own sleep (busybox-static): Rss $((irss_sum / IDLE)) KiB," \
	"Pss $((ipss_sum / IDLE)) KiB"
echo "  hostd: VmRSS $(awk '/^VmRSS:/ {print $2}' "/proc/$HOSTD_PID/status") KiB," \
	"$(find "/proc/$HOSTD_PID/fd" -mindepth 1 | wc -l) fds"
for i in $(seq 1 "$IDLE"); do
	out=$(api DELETE "/v1/instances/idle-$i?force=true&wait=30")
	[[ $(jq -r .status <<<"$out") == success ]] || die "delete idle-$i: $out"
done

# --- f. MANY idle containers at once -----------------------------------------------------

echo
echo "f. $MANY idle containers at once (sleep 100000, vcpus 0.01, memory_mb 16;" \
	"$PARALLEL connections)"
MD=$WORK/many
mkdir -p "$MD"
# parallel_curl CONFIG: runs the transfers of a curl config over PARALLEL connections.
parallel_curl() {
	curl --no-progress-meter --parallel --parallel-max "$PARALLEL" -K "$1" >"$MD/codes" ||
		true
}
{
	for i in $(seq -w 1 "$MANY"); do
		printf 'next\nunix-socket = "%s"\nurl = "http://localhost/v1/instances"\n' "$SOCK"
		printf 'request = "POST"\n'
		printf 'header = "Content-Type: application/json"\n'
		printf 'data = "{\\"name\\":\\"many-%s\\",\\"kind\\":\\"container\\",\\"image\\":\\"busybox\\",' "$i"
		printf '\\"command\\":[\\"sleep\\",\\"100000\\"],\\"resources\\":{\\"vcpus\\":0.01,\\"memory_mb\\":16}}"\n'
		printf 'output = "%s/create-%s.json"\nwrite-out = "%%{http_code}\\n"\n' "$MD" "$i"
	done
} | sed 1d >"$MD/create.cfg"
{
	for i in $(seq -w 1 "$MANY"); do
		printf 'next\nunix-socket = "%s"\n' "$SOCK"
		printf 'url = "http://localhost/v1/instances/many-%s/start?wait=60"\n' "$i"
		printf 'request = "POST"\noutput = "%s/start-%s.json"\nwrite-out = "%%{http_code}\\n"\n' \
			"$MD" "$i"
	done
} | sed 1d >"$MD/start.cfg"
{
	for i in $(seq -w 1 "$MANY"); do
		printf 'next\nunix-socket = "%s"\n' "$SOCK"
		printf 'url = "http://localhost/v1/instances/many-%s?force=true&wait=60"\n' "$i"
		printf 'request = "DELETE"\noutput = "%s/delete-%s.json"\nwrite-out = "%%{http_code}\\n"\n' \
			"$MD" "$i"
	done
} | sed 1d >"$MD/delete.cfg"

sync
used0=$(mem_used)
avail0=$(mem_avail_kib)
t0=$EPOCHREALTIME
parallel_curl "$MD/create.cfg"
t1=$EPOCHREALTIME
created=$(grep -c '^201$' "$MD/codes" || true)
parallel_curl "$MD/start.cfg"
t2=$EPOCHREALTIME
started=$(cat "$MD"/start-*.json 2>/dev/null | jq -s '[.[] | select(.status == "success")] | length')
ms() { echo "$(((${2/./} - ${1/./}) / 1000))"; }
echo "  create $MANY: $(ms "$t0" "$t1") ms ($created answered 201); start $MANY (wait):" \
	"$(ms "$t1" "$t2") ms ($started operations succeeded); total $(ms "$t0" "$t2") ms"
if ((created != MANY || started != MANY)); then
	echo "  FAILED: not all $MANY were created and started. Errors seen:"
	cat "$MD"/create-*.json | jq -r 'select(.error? and (.error | type) == "object")
		| "    create: \(.error.code): \(.error.message)"' | sort | uniq -c | head
	cat "$MD"/start-*.json | jq -r 'select(.status? != "success")
		| "    start: \(.status // "?"): \(.error.code? // .error // "?"): \(.error.message? // "")"' |
		sort | uniq -c | head
fi
sleep 2 # let them settle
api GET '/v1/instances?limit=1000' >"$MD/list.json"
running=$(jq '[.instances[] | select(.state == "running")] | length' "$MD/list.json")
echo "  GET /v1/instances: $(jq '.instances | length' "$MD/list.json") instances," \
	"$running running$( ((running == MANY)) && echo " (all $MANY)" || echo ", NOT all $MANY")"
mpss=0 mrss=0 nmon=0 ipss=0
for u in $(jq -r '.instances[].uuid' "$MD/list.json"); do
	[[ -f $STATE/containers/$u/state.json ]] || continue
	mp=$(monitor_pid "$u")
	ip=$(init_pid "$u")
	[[ -r /proc/$mp/smaps_rollup ]] || continue
	mpss=$((mpss + $(rollup "$mp" Pss)))
	mrss=$((mrss + $(rollup "$mp" Rss)))
	ipss=$((ipss + $(rollup "$ip" Pss || echo 0)))
	nmon=$((nmon + 1))
done
used1=$(mem_used)
avail1=$(mem_avail_kib)
echo "  $nmon monitors: Pss total $((mpss / 1024)) MiB ($((mpss)) KiB, $((mpss / (nmon > 0 ? nmon : 1))) KiB each)," \
	"Rss total $((mrss / 1024)) MiB; their sleeps' Pss total $((ipss / 1024)) MiB"
printf '  host memory used (free -m): %s -> %s MiB (%+d MiB); MemAvailable %+d MiB\n' \
	"$used0" "$used1" "$((used1 - used0))" "$(((avail1 - avail0) / 1024))"
echo "  hostd: VmRSS $(awk '/^VmRSS:/ {print $2}' "/proc/$HOSTD_PID/status") KiB," \
	"$(find "/proc/$HOSTD_PID/fd" -mindepth 1 | wc -l) fds, $(find "/proc/$HOSTD_PID/task" -mindepth 1 -maxdepth 1 | wc -l) threads"
mapfile -t many_uuids < <(jq -r '.instances[].uuid' "$MD/list.json")

t0=$EPOCHREALTIME
parallel_curl "$MD/delete.cfg"
t1=$EPOCHREALTIME
deleted=$(cat "$MD"/delete-*.json 2>/dev/null | jq -s '[.[] | select(.status == "success")] | length')
left=$(api GET '/v1/instances?limit=1000' | jq '.instances | length')
echo "  delete $MANY (force, wait): $(ms "$t0" "$t1") ms ($deleted succeeded); instances left: $left"
sleep 1
stray=$(pids_of_run | wc -l)
cg_left=0
for u in "${many_uuids[@]}"; do
	for d in /sys/fs/cgroup/*/hostd/"$u" /sys/fs/cgroup/hostd/"$u"; do
		[[ -d $d ]] && cg_left=$((cg_left + 1))
	done
done
echo "  after the delete: $stray hostd-monitor/container processes of this run left," \
	"$cg_left cgroup dirs of theirs left, host memory used $(mem_used) MiB"
echo
echo "summary"
echo "  hostd start-to-exit p50 $hostd_p50 ms, p95 $hostd_p95 ms;" \
	"runc p50 $runc_p50 ms, p95 $runc_p95 ms; unshare p50 $unshare_p50 ms, p95 $unshare_p95 ms"
echo "  hostd runs with a lost exit: $hostd_lost of $RUNS"
echo "  hostd/runc $r_runc (goal <= 0.25), hostd/unshare $r_unshare (stretch <= 3);" \
	"monitor Pss $avg_pss KiB (goal <= 512); $running of $MANY idle running"
echo "at the end: $(load_note)"
