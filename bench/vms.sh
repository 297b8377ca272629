#!/usr/bin/env bash
# VM boot: how long hostd takes from a start request to a guest that says it is ready,
# against bare qemu-system-x86_64 booting the same guest the same way, what an idle
# guest's qemu costs, and ten VMs at once. See bench/README.md.
#
#   bench/vms.sh                 (as root; about 2.5 minutes)
#
# Environment: BUILD_DIR (default: build-bench/ or build/), RUNS (10), POLL_MS (10: the
# poll interval of both ready loops), IDLE_S (5: how long a guest idles before its RSS is
# read), MANY (10), READY_TIMEOUT_S (300), IMAGES_DIR (build/images), QEMU
# (qemu-system-x86_64), QEMU_EXTRA (more arguments for the bare qemu, e.g. hostd's devices).
#
# 1. Starts hostd (Unix socket, and loopback TCP for the ready loop) on a temp state dir,
#    imports build/images/tiny-vm.tar (kind vm, format kernel), creates VM `boot` (1 vCPU,
#    256 MiB). One warm-up of each side first, not counted: hostd's first VM start also
#    has libvirt probe qemu's capabilities and unpacks the kernel bundle; it shows the
#    qemu command line libvirt builds, which the bare qemu copies.
# 2. RUNS rounds, alternating which side goes first:
#    hostd: POST /v1/instances/boot/start, then GET it every POLL_MS until ready_at is
#      set; boot-to-ready = ready_at - the start operation's created_at (hostd's clock).
#      Both requests go over one kept-alive TCP connection from bash itself (/dev/tcp),
#      so polling costs no fork. Then POST …/kill?wait=60.
#    bare: qemu-system-x86_64 with hostd's machine type, CPU model, memory, vCPUs, accel,
#      kernel, initrd and cmdline, serial console to a file; timed from just before the
#      exec until the file (read every POLL_MS, no fork) shows HOSTD-READY. Killed by pid.
# 3. RSS: one hostd guest and one bare guest, IDLE_S after ready: VmRSS (and Pss) of each
#    qemu (hostd's found by libvirt's pid file, checked against its command line; read
#    only).
# 4. MANY VMs at once: MANY creates in parallel, MANY starts (?wait) in parallel, then
#    until all are ready; MANY bare qemus started at once for reference; then a forced
#    delete of all, and a check that no qemu of theirs and no domain file or dir is left.
set -euo pipefail
export LC_ALL=C

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RUNS=${RUNS:-10}
POLL_MS=${POLL_MS:-10}
IDLE_S=${IDLE_S:-5}
MANY=${MANY:-10}
READY_TIMEOUT_S=${READY_TIMEOUT_S:-300}
IMAGES_DIR=${IMAGES_DIR:-$REPO_DIR/build/images}
QEMU=${QEMU:-qemu-system-x86_64}
read -r -d '' -a QEMU_EXTRA <<<"${QEMU_EXTRA:-}" || true # words, across lines

[[ $EUID -eq 0 ]] || die "needs root (libvirt's embedded QEMU driver as hostd runs it)"
((RUNS >= 1 && MANY >= 1 && POLL_MS >= 1)) || die "RUNS, MANY and POLL_MS must be >= 1"
for c in curl jq "$QEMU"; do
	command -v "$c" >/dev/null || die "$c not found"
done
BUILD=$(find_build_dir)
HOSTD=$BUILD/daemon/hostd
printf -v POLL_S '%d.%03d' $((POLL_MS / 1000)) $((POLL_MS % 1000))

STATE=""
SOCK=""
PORT=""
HTTP_FD=""
SLEEP_FD=""

# api METHOD PATH [curl args...]: one request to hostd over the Unix socket, body on stdout.
api() {
	local m=$1 p=$2
	shift 2
	curl -sS --unix-socket "$SOCK" -X "$m" "$@" "http://localhost$p"
}

# http METHOD PATH: one bodiless request over a kept-alive loopback TCP connection, in
# bash alone (no fork, so a tight poll loop costs the CPU next to nothing); sets
# HTTP_CODE and HTTP_BODY. Reconnects once when hostd closed the connection.
http() {
	local m=$1 p=$2 line len close
	for _ in 1 2; do
		[[ -n $HTTP_FD ]] || exec {HTTP_FD}<>"/dev/tcp/127.0.0.1/$PORT"
		HTTP_CODE="" HTTP_BODY="" len=0 close=0
		if printf '%s %s HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer %s\r\nContent-Length: 0\r\n\r\n' \
			"$m" "$p" "$TOKEN" 2>/dev/null 1>&"$HTTP_FD" &&
			IFS= read -r -t 60 line <&"$HTTP_FD"; then
			HTTP_CODE=${line#* }
			HTTP_CODE=${HTTP_CODE%% *}
			while IFS= read -r -t 60 line <&"$HTTP_FD"; do
				line=${line%$'\r'}
				[[ -z $line ]] && break
				case ${line,,} in
				content-length:*) len=${line#*:} len=${len// /} ;;
				connection:*close*) close=1 ;;
				esac
			done
			if ((len > 0)); then
				IFS= read -r -N "$len" -t 60 HTTP_BODY <&"$HTTP_FD" || true
			fi
			if ((close)); then
				exec {HTTP_FD}<&-
				HTTP_FD=""
			fi
			[[ ${#HTTP_BODY} -eq $len ]] && return 0
		fi
		[[ -z $HTTP_FD ]] || exec {HTTP_FD}<&-
		HTTP_FD=""
	done
	die "$m $p over TCP: no answer"
}

# nap: sleeps POLL_MS without a fork (a timed read on a fifo nobody writes).
nap() { read -r -t "$POLL_S" -u "$SLEEP_FD" _ || true; }
# ms_of TIME: an RFC 3339 time of hostd's as milliseconds since the epoch.
ms_of() { date -u -d "$1" +%s%3N; }
# json_str KEY TEXT: the string value of the first "KEY" in JSON TEXT, or "", into
# JSON_STR (no command substitution: that would fork in the poll loop).
json_str() {
	local re="\"$1\":[[:space:]]*\"([^\"]*)\""
	JSON_STR=""
	if [[ $2 =~ $re ]]; then JSON_STR=${BASH_REMATCH[1]}; fi
}
# pct P FILE: nearest-rank percentile (the ceil(P*N/100)-th smallest) of FILE's numbers.
pct() {
	sort -g "$2" | awk -v p="$1" '{ v[NR] = $1 } END {
		if (NR == 0) { print "nan"; exit }
		r = int((p * NR + 99) / 100); if (r < 1) r = 1; print v[r] }'
}
# summary FILE: "p50 P  min M  max M ms (N runs)" of FILE's numbers.
summary() {
	printf 'p50 %s  min %s  max %s ms (%d runs)' "$(pct 50 "$1")" "$(sort -g "$1" | head -1)" \
		"$(sort -g "$1" | tail -1)" "$(wc -l <"$1")"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.3f", a / b}'; }
verdict() { awk -v c="$1" 'BEGIN{print (c ? "met" : "MISSED")}'; }
status_kib() { awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status"; }
rollup_kib() { awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/smaps_rollup"; }
# last_uptime FILE: the guest's uptime in its last HOSTD-READY line of FILE.
last_uptime() { sed -n 's/.*HOSTD-READY uptime=\([0-9.]*\).*/\1/p' "$1" | tail -1; }

# qemu_pids: every qemu-system process whose command line names this run's state dir
# (the guests our hostd started through libvirt), as "PID guest=NAME".
qemu_pids() {
	local f pid args
	for f in /proc/[0-9]*/cmdline; do
		pid=${f#/proc/}
		pid=${pid%/cmdline}
		{ mapfile -d '' -t args <"$f"; } 2>/dev/null || continue
		((${#args[@]} > 0)) || continue
		[[ ${args[0]##*/} == qemu-system* && "${args[*]}" == *"$STATE/"* ]] || continue
		echo "$pid $(printf '%s\n' "${args[@]}" | sed -n 's/^\(guest=[^,]*\).*/\1/p')"
	done
	return 0
}

# hostd_qemu_pid NAME: the pid of the qemu running instance NAME's domain, from libvirt's
# pid file, checked against the process's command line; "" when none.
hostd_qemu_pid() {
	local pid args
	pid=$(cat "$STATE/libvirt/run/qemu/hostd-$1.pid" 2>/dev/null) || true
	[[ -n $pid ]] || return 0
	{ mapfile -d '' -t args <"/proc/$pid/cmdline"; } 2>/dev/null || return 0
	[[ ${args[0]##*/} == qemu-system* && "${args[*]}" == *"guest=hostd-$1,"* ]] && echo "$pid"
	return 0
}

# qemu_cgroups PID: the cgroup dirs libvirt made for qemu PID (qemu-embed-…), one a line.
qemu_cgroups() {
	local ctrls path c
	while IFS=: read -r _ ctrls path; do
		[[ $path == */qemu-embed-* ]] || continue
		path=${path%%.libvirt-qemu*}.libvirt-qemu
		IFS=, read -r -a ctrls <<<"${ctrls:-unified}"
		for c in "${ctrls[@]}"; do
			echo "/sys/fs/cgroup/${c#name=}$path"
		done
	done <"/proc/$1/cgroup"
	return 0
}

# Deletes what this run left (hostd's instances, a qemu of hostd's that outlived its
# delete), then lib.sh's cleanup ends hostd and any bare qemu by pid and removes $WORK.
vm_cleanup() {
	local rc=$? name pid guest cgs d
	set +eu
	if [[ -n $SOCK && -S $SOCK && -n ${HOSTD_PID:-} ]] && kill -0 "$HOSTD_PID" 2>/dev/null; then
		api GET '/v1/instances?limit=1000' 2>/dev/null | jq -r '.instances[].name' 2>/dev/null |
			while read -r name; do
				api DELETE "/v1/instances/$name?force=true&wait=60" -o /dev/null
			done
	fi
	if [[ -n $STATE && -d $STATE ]]; then
		# Last resort, and only this run's own guests: their command line names $STATE.
		while read -r pid guest; do
			[[ -n $pid ]] || continue
			echo "vms.sh: qemu $pid ($guest) of this run outlived its delete; killing it" >&2
			cgs=$(qemu_cgroups "$pid" 2>/dev/null)
			kill -KILL "$pid" 2>/dev/null
			for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
			for d in $cgs; do
				[[ -d $d ]] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
			done
		done < <(qemu_pids)
	fi
	[[ -n $HTTP_FD ]] && exec {HTTP_FD}<&-
	[[ -n $SLEEP_FD ]] && exec {SLEEP_FD}<&-
	cleanup
	exit "$rc"
}
trap vm_cleanup EXIT
trap 'exit 130' INT TERM

make_work_dir hostd-bench-vm
SOCK=$WORK/hostd.sock
STATE=$WORK/state
PORT=$(free_port)
mkfifo "$WORK/nap"
exec {SLEEP_FD}<>"$WORK/nap"

echo "hostd VM boot — $(date -u +%Y-%m-%dT%H:%MZ), nproc $(nproc), $(uname -r)," \
	"runs $RUNS, poll ${POLL_MS} ms"
echo "at the start: $(load_note)"
# --cpu-overcommit: MANY guests of 1 vCPU each must be admitted on this host's CPUs.
start_hostd "$HOSTD" "$STATE" "$SOCK" "$PORT" --cpu-overcommit 100
echo "hostd $HOSTD (pid $HOSTD_PID), state dir $STATE; $("$QEMU" --version | head -1)"
api GET /v1 >"$WORK/about.json"
[[ $(jq -r '.drivers.vm.available' "$WORK/about.json") == true ]] ||
	die "the vm driver is unavailable: $(jq -c '.drivers.vm' "$WORK/about.json")"
echo "vm driver: accel $(jq -r '.drivers.vm.accel' "$WORK/about.json")" \
	"($(jq -r '.accel.reason // "no reason given"' "$WORK/about.json"))"

# --- the image -----------------------------------------------------------------------------

if [[ ! -f $IMAGES_DIR/tiny-vm.tar ]]; then
	echo "no $IMAGES_DIR/tiny-vm.tar: building it into $WORK/images"
	"$REPO_DIR/packaging/images/build-tiny-vm.sh" "$WORK/images" >/dev/null ||
		die "could not build the tiny VM image"
	IMAGES_DIR=$WORK/images
fi
code=$(api POST '/v1/images?name=tiny&kind=vm&format=kernel' \
	-H 'Content-Type: application/x-tar' -T "$IMAGES_DIR/tiny-vm.tar" \
	-o "$WORK/image.json" -w '%{http_code}')
[[ $code == 201 || $code == 200 ]] || die "image import: HTTP $code: $(cat "$WORK/image.json")"
KDIR=$WORK/kernel
mkdir -p "$KDIR"
tar -xf "$IMAGES_DIR/tiny-vm.tar" -C "$KDIR"
CMDLINE=$(cat "$KDIR/cmdline")

# create NAME: a VM of 1 vCPU and 256 MiB on the tiny image.
create() {
	local out
	out=$(api POST /v1/instances -H 'Content-Type: application/json' -w '\n%{http_code}' \
		-d "{\"name\":\"$1\",\"kind\":\"vm\",\"image\":\"tiny\",\"resources\":{\"vcpus\":1,\"memory_mb\":256}}")
	[[ ${out##*$'\n'} == 201 ]] || die "create $1: ${out%$'\n'*}"
	jq -e 'has("ready_at")' <<<"${out%$'\n'*}" >/dev/null ||
		die "this hostd ($HOSTD) has no ready_at in its instances: rebuild it, or set BUILD_DIR"
}

# --- one hostd boot, one bare boot ----------------------------------------------------------

# hostd_boot NAME: starts NAME and polls until ready; sets BOOT_MS (ready_at - the start
# operation's created_at), CLIENT_MS (before the POST to the GET that saw ready_at),
# POLLS and UPTIME (the guest's own, from its console).
hostd_boot() {
	local name=$1 t0 t1 created ready polls=0
	t0=${EPOCHREALTIME/./}
	http POST "/v1/instances/$name/start"
	[[ $HTTP_CODE == 202 || $HTTP_CODE == 200 ]] || die "start $name: HTTP $HTTP_CODE: $HTTP_BODY"
	json_str created_at "$HTTP_BODY"
	created=$JSON_STR
	for (( ; ; )); do
		nap
		http GET "/v1/instances/$name"
		polls=$((polls + 1))
		json_str ready_at "$HTTP_BODY"
		ready=$JSON_STR
		[[ -n $ready ]] && break
		json_str state "$HTTP_BODY"
		case $JSON_STR in
		error | stopped | exited) die "$name: state $JSON_STR while booting: $HTTP_BODY" ;;
		esac
		((${EPOCHREALTIME/./} - t0 < READY_TIMEOUT_S * 1000000)) ||
			die "$name: not ready after $READY_TIMEOUT_S s: $HTTP_BODY"
	done
	t1=${EPOCHREALTIME/./}
	BOOT_MS=$(($(ms_of "$ready") - $(ms_of "$created")))
	((BOOT_MS >= 0)) || die "$name: ready_at $ready is before its start ($created): a stale ready_at"
	CLIENT_MS=$(((t1 - t0) / 1000))
	POLLS=$polls
	json_str uuid "$HTTP_BODY"
	UPTIME=$(last_uptime "$STATE/vms/$JSON_STR/console.log")
}

# hostd_halt NAME: kills NAME's guest (it is about boot time, not shutdown) and checks
# that the run's ready_at went with it.
hostd_halt() {
	local out
	out=$(api POST "/v1/instances/$1/kill?wait=60")
	[[ $(jq -r .status <<<"$out") == success ]] || die "kill $1: $out"
	out=$(api GET "/v1/instances/$1")
	[[ $(jq -r '.state + " " + (.ready_at | tostring)' <<<"$out") == "stopped null" ]] ||
		echo "  note: after the kill $1 is $(jq -c '{state, ready_at}' <<<"$out")"
}

BARE_ARGS=()
# bare_args_from PID: the bare qemu's arguments, from the machine, accel, CPU model,
# memory and vCPUs of hostd's qemu PID (its -append is checked against the image's).
bare_args_from() {
	local args i machine="" accel="" cpu="" mem="" smp="" append=""
	mapfile -d '' -t args <"/proc/$1/cmdline"
	for ((i = 1; i + 1 < ${#args[@]}; i++)); do
		case ${args[i]} in
		-machine) machine=${args[i + 1]} ;;
		-accel) accel=${args[i + 1]} ;;
		-cpu) cpu=${args[i + 1]} ;;
		-m) mem=${args[i + 1]} ;;
		-smp) smp=${args[i + 1]} ;;
		-append) append=${args[i + 1]} ;;
		esac
	done
	# pc-q35-7.2,usb=off,…,accel=tcg (older libvirt) or -accel tcg (newer).
	[[ -z $accel && $machine == *accel=* ]] && accel=${machine#*accel=} accel=${accel%%,*}
	machine=${machine%%,*}
	[[ -n $machine && -n $mem && -n $smp ]] || die "cannot read hostd's qemu command line (pid $1)"
	[[ $append == "$CMDLINE" ]] ||
		echo "  note: hostd's kernel cmdline \`$append\` is not the image's \`$CMDLINE\`"
	BARE_ARGS=(-machine "$machine" -accel "${accel:-tcg}")
	[[ -n $cpu ]] && BARE_ARGS+=(-cpu "$cpu")
	BARE_ARGS+=(-m "$mem" -smp "$smp" -nodefaults -no-user-config -display none
		-kernel "$KDIR/vmlinuz" -initrd "$KDIR/initrd" -append "$CMDLINE" "${QEMU_EXTRA[@]}")
}

# bare_start CONSOLE: starts a bare qemu with its serial console on CONSOLE; its pid in
# BARE_PID and in STARTED_PIDS (for the cleanup) until bare_stop.
bare_start() {
	"$QEMU" "${BARE_ARGS[@]}" -serial "file:$1" </dev/null >>"$WORK/qemu.log" 2>&1 &
	BARE_PID=$!
	STARTED_PIDS+=("$BARE_PID")
}
# bare_stop PID: ends a bare qemu by its pid.
bare_stop() {
	local i
	kill -TERM "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
	for i in "${!STARTED_PIDS[@]}"; do
		[[ ${STARTED_PIDS[i]} == "$1" ]] && unset 'STARTED_PIDS[i]'
	done
	STARTED_PIDS=("${STARTED_PIDS[@]}")
}
# has_marker FILE: whether FILE shows HOSTD-READY (read by bash, no fork).
has_marker() {
	local c=""
	IFS= read -r -d '' c 2>/dev/null <"$1" || true
	[[ $c == *HOSTD-READY* ]]
}

# bare_boot [keep]: one bare boot; sets BOOT_MS (exec to marker seen), POLLS, UPTIME;
# the qemu is killed unless "keep" (then its pid is in BARE_PID).
bare_boot() {
	local con=$WORK/bare-console.log t0 t1 polls=0
	rm -f "$con"
	t0=${EPOCHREALTIME/./}
	bare_start "$con"
	for (( ; ; )); do
		nap
		polls=$((polls + 1))
		has_marker "$con" && break
		kill -0 "$BARE_PID" 2>/dev/null || die "bare qemu exited before HOSTD-READY: $(tail -3 "$WORK/qemu.log")"
		((${EPOCHREALTIME/./} - t0 < READY_TIMEOUT_S * 1000000)) || die "bare qemu: not ready after $READY_TIMEOUT_S s"
	done
	t1=${EPOCHREALTIME/./}
	BOOT_MS=$(((t1 - t0) / 1000))
	POLLS=$polls
	UPTIME=$(last_uptime "$con")
	[[ ${1:-} == keep ]] || bare_stop "$BARE_PID"
}

# --- 1-2. boot to ready, hostd and bare, alternating ----------------------------------------

create boot
: >"$WORK/hostd.ms" && : >"$WORK/client.ms" && : >"$WORK/bare.ms"
: >"$WORK/hostd.up" && : >"$WORK/bare.up" && : >"$WORK/ratio"

echo
echo "warm-up (not counted):"
hostd_boot boot
qpid=$(hostd_qemu_pid boot)
[[ -n $qpid ]] || die "no qemu found for domain hostd-boot"
bare_args_from "$qpid"
echo "  hostd first start: ${BOOT_MS} ms to ready (libvirt's first define probes qemu; the" \
	"kernel bundle is unpacked)"
hostd_halt boot
echo "  bare: $QEMU ${BARE_ARGS[*]} -serial file:CONSOLE"
bare_boot
echo "  bare first boot: ${BOOT_MS} ms to ready"

echo
echo "1-2. boot to HOSTD-READY, $RUNS rounds (odd: hostd first, even: bare first);" \
	"ms, guest uptime at ready in ()"
run_hostd() {
	hostd_boot boot
	echo "$BOOT_MS" >>"$WORK/hostd.ms"
	echo "$CLIENT_MS" >>"$WORK/client.ms"
	echo "${UPTIME:-nan}" >>"$WORK/hostd.up"
	h_line="hostd $BOOT_MS (client $CLIENT_MS, $POLLS GETs; guest ${UPTIME:-?} s)"
	h_ms=$BOOT_MS
	hostd_halt boot
}
run_bare() {
	bare_boot
	echo "$BOOT_MS" >>"$WORK/bare.ms"
	echo "${UPTIME:-nan}" >>"$WORK/bare.up"
	b_line="bare $BOOT_MS (guest ${UPTIME:-?} s)"
	b_ms=$BOOT_MS
}
for round in $(seq 1 "$RUNS"); do
	if ((round % 2)); then run_hostd && run_bare; else run_bare && run_hostd; fi
	r=$(ratio "$h_ms" "$b_ms")
	echo "$r" >>"$WORK/ratio"
	printf '  round %2d: %s; %s; ratio %s\n' "$round" "$h_line" "$b_line" "$r"
done

hostd_p50=$(pct 50 "$WORK/hostd.ms")
client_p50=$(pct 50 "$WORK/client.ms")
bare_p50=$(pct 50 "$WORK/bare.ms")
r_boot=$(ratio "$hostd_p50" "$bare_p50")
mapfile -t ratios <"$WORK/ratio"
echo "  hostd, ready_at - start created_at: $(summary "$WORK/hostd.ms")"
echo "  hostd, client: POST start to GET seeing ready_at: $(summary "$WORK/client.ms")"
echo "  bare qemu, exec to marker in the console file: $(summary "$WORK/bare.ms")"
echo "  guest uptime at HOSTD-READY (guest clock), p50: hostd $(pct 50 "$WORK/hostd.up") s," \
	"bare $(pct 50 "$WORK/bare.up") s"
echo "  ratio hostd p50 / bare p50: $r_boot (goal <= 1.15:" \
	"$(verdict "$(awk -v r="$r_boot" 'BEGIN{print r <= 1.15}')"));" \
	"client-side $(ratio "$client_p50" "$bare_p50"); per round: median $(median "${ratios[@]}")," \
	"min $(sort -g "$WORK/ratio" | head -1), max $(sort -g "$WORK/ratio" | tail -1)"

# --- 3. qemu RSS of an idle guest ------------------------------------------------------------

echo
echo "3. qemu RSS of an idle 256 MiB guest, ${IDLE_S} s after ready"
hostd_boot boot
qpid=$(hostd_qemu_pid boot)
[[ -n $qpid ]] || die "no qemu found for domain hostd-boot"
bare_boot keep
sleep "$IDLE_S"
h_rss=$(status_kib "$qpid" VmRSS) h_pss=$(rollup_kib "$qpid" Pss)
b_rss=$(status_kib "$BARE_PID" VmRSS) b_pss=$(rollup_kib "$BARE_PID" Pss)
echo "  hostd's qemu (pid $qpid): VmRSS $((h_rss / 1024)) MiB ($h_rss KiB), Pss $((h_pss / 1024)) MiB;" \
	"threads $(status_kib "$qpid" Threads)"
echo "  bare qemu (pid $BARE_PID): VmRSS $((b_rss / 1024)) MiB ($b_rss KiB), Pss $((b_pss / 1024)) MiB;" \
	"threads $(status_kib "$BARE_PID" Threads)"
echo "  ratio hostd / bare VmRSS: $(ratio "$h_rss" "$b_rss");" \
	"hostd itself: VmRSS $(($(status_kib "$HOSTD_PID" VmRSS) / 1024)) MiB"
bare_stop "$BARE_PID"
out=$(api DELETE '/v1/instances/boot?force=true&wait=60')
[[ $(jq -r .status <<<"$out") == success ]] || die "delete boot: $out"

# --- 4. MANY at once ----------------------------------------------------------------------------

echo
echo "4. $MANY VMs at once (1 vCPU, 256 MiB each; $MANY connections)"
MD=$WORK/many
mkdir -p "$MD"
# curl_config TAG VERB URL-SUFFIX [DATA]: a curl config of MANY transfers over the
# socket, "@" in URL-SUFFIX and DATA standing for the VM's number; answers in TAG-NN.json.
curl_config() {
	local i
	for i in $(seq -w 1 "$MANY"); do
		printf 'next\nunix-socket = "%s"\nrequest = "%s"\n' "$SOCK" "$2"
		printf 'url = "http://localhost/v1/instances%s"\n' "${3//@/$i}"
		if [[ -n ${4:-} ]]; then
			printf 'header = "Content-Type: application/json"\n'
			printf 'data = "%s"\n' "${4//@/$i}"
		fi
		printf 'output = "%s/%s-%s.json"\nwrite-out = "%%{http_code}\\n"\n' "$MD" "$1" "$i"
	done | sed 1d
}
curl_config create POST "" \
	'{\"name\":\"many-@\",\"kind\":\"vm\",\"image\":\"tiny\",\"resources\":{\"vcpus\":1,\"memory_mb\":256}}' \
	>"$MD/create.cfg"
curl_config start POST "/many-@/start?wait=$READY_TIMEOUT_S" >"$MD/start.cfg"
curl_config delete DELETE "/many-@?force=true&wait=$READY_TIMEOUT_S" >"$MD/delete.cfg"
parallel_curl() {
	curl --no-progress-meter --parallel --parallel-max "$MANY" -K "$1" >"$MD/codes" || true
}

t0=${EPOCHREALTIME/./}
parallel_curl "$MD/create.cfg"
t1=${EPOCHREALTIME/./}
created=$(grep -c '^201$' "$MD/codes" || true)
parallel_curl "$MD/start.cfg"
t2=${EPOCHREALTIME/./}
started=$(cat "$MD"/start-*.json | jq -s '[.[] | select(.status == "success")] | length')
# Until every one has ready_at (the list, over the TCP connection, every POLL_MS).
for (( ; ; )); do
	http GET "/v1/instances?limit=1000"
	rest=$HTTP_BODY n=0
	while [[ $rest == *'"ready_at":"'* ]]; do rest=${rest#*'"ready_at":"'} n=$((n + 1)); done
	((n >= MANY)) && break
	[[ $HTTP_BODY == *'"state":"error"'* ]] && die "a VM is in state error: $HTTP_BODY"
	((${EPOCHREALTIME/./} - t1 < READY_TIMEOUT_S * 1000000)) || die "only $n of $MANY ready after $READY_TIMEOUT_S s"
	nap
done
t3=${EPOCHREALTIME/./}
api GET '/v1/instances?limit=1000' >"$MD/list.json"
jq -r '.instances[] | "\(.name) \(.ready_at)"' "$MD/list.json" | sort >"$MD/ready"
for f in "$MD"/start-*.json; do
	jq -r '"\(.instance.name) \(.created_at)"' "$f"
done | sort >"$MD/started"
: >"$MD/boot.ms"
first_start="" last_ready=""
while read -r _ c r; do
	c=$(ms_of "$c") r=$(ms_of "$r")
	echo $((r - c)) >>"$MD/boot.ms"
	if [[ -z $first_start ]] || ((c < first_start)); then first_start=$c; fi
	if [[ -z $last_ready ]] || ((r > last_ready)); then last_ready=$r; fi
done < <(join "$MD/started" "$MD/ready")
rss_sum=0
: >"$MD/cgroups"
for i in $(seq -w 1 "$MANY"); do
	p=$(hostd_qemu_pid "many-$i")
	[[ -n $p ]] || continue
	rss_sum=$((rss_sum + $(status_kib "$p" VmRSS)))
	qemu_cgroups "$p" >>"$MD/cgroups"
done
all_ms=$((last_ready - first_start))
echo "  create: $(((t1 - t0) / 1000)) ms ($created of $MANY answered 201)"
echo "  start (?wait, all answered): $(((t2 - t1) / 1000)) ms ($started of $MANY succeeded)"
echo "  all $MANY ready: $all_ms ms from the first start's created_at to the last ready_at" \
	"(client: $(((t3 - t1) / 1000)) ms from the first start request)"
echo "  each, ready_at - its start's created_at: $(summary "$MD/boot.ms")"
echo "  their qemus: VmRSS $((rss_sum / 1024)) MiB in all"

# The reference: MANY bare qemus started at once, until every console shows the marker.
pids=()
t0=${EPOCHREALTIME/./}
for i in $(seq 1 "$MANY"); do
	bare_start "$MD/bare-$i.log"
	pids+=("$BARE_PID")
done
for (( ; ; )); do
	n=0
	for i in $(seq 1 "$MANY"); do has_marker "$MD/bare-$i.log" && n=$((n + 1)); done
	((n >= MANY)) && break
	for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null || die "a bare qemu exited: $(tail -3 "$WORK/qemu.log")"; done
	((${EPOCHREALTIME/./} - t0 < READY_TIMEOUT_S * 1000000)) || die "only $n of $MANY bare qemus ready after $READY_TIMEOUT_S s"
	nap
done
t1=${EPOCHREALTIME/./}
bare_all_ms=$(((t1 - t0) / 1000))
for p in "${pids[@]}"; do bare_stop "$p"; done
echo "  reference: $MANY bare qemus started at once, all showing HOSTD-READY: $bare_all_ms ms;" \
	"ratio hostd / bare $(ratio "$all_ms" "$bare_all_ms")"

uuids=$(jq -r '.instances[].uuid' "$MD/list.json")
t0=${EPOCHREALTIME/./}
parallel_curl "$MD/delete.cfg"
t1=${EPOCHREALTIME/./}
deleted=$(cat "$MD"/delete-*.json | jq -s '[.[] | select(.status == "success")] | length')
left=$(api GET '/v1/instances?limit=1000' | jq '.instances | length')
sleep 1
stray=$(qemu_pids | wc -l)
dirs=0
for u in $uuids; do [[ -e $STATE/vms/$u ]] && dirs=$((dirs + 1)); done
# Domain files, run dirs and libvirt's per-domain qemu logs (hostd removes those too).
find "$STATE/libvirt" \( -name 'domain-*-hostd-many-*' -o -name 'hostd-many-*' \) \
	-print >"$MD/files-left"
files=$(wc -l <"$MD/files-left")
cgs=0
while read -r d; do [[ -d $d ]] && cgs=$((cgs + 1)); done <"$MD/cgroups"
echo "  delete (force, ?wait): $(((t1 - t0) / 1000)) ms ($deleted of $MANY succeeded);" \
	"instances left $left"
echo "  left behind: $stray qemu processes of this run, $dirs instance dirs (vms/UUID)," \
	"$files libvirt domain files or dirs, $cgs of their $(wc -l <"$MD/cgroups") cgroup dirs" \
	"$( ((stray + dirs + files + cgs == 0)) && echo "(none)")"
((files == 0)) || sed 's/^/    /' "$MD/files-left"

echo
echo "summary"
echo "  boot to ready p50: hostd $hostd_p50 ms, bare qemu $bare_p50 ms: ratio $r_boot (goal <= 1.15)"
echo "  idle qemu VmRSS: hostd's $((h_rss / 1024)) MiB, bare $((b_rss / 1024)) MiB"
echo "  $MANY at once: all ready in $all_ms ms (bare: $bare_all_ms ms); nothing left:" \
	"$( ((stray + dirs + files + cgs + left == 0)) && echo yes || echo NO)"
echo "at the end: $(load_note)"
