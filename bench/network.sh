#!/usr/bin/env bash
# Networks: TCP throughput over hostd's bridge (container <-> container, VM <-> container)
# beside the host's loopback measured in the same run, and what network setup adds to a
# container's start. See bench/README.md.
#
#   bench/network.sh             (as root; about 2 minutes at the defaults)
#
# Environment: BUILD_DIR (default: build-bench/ or build/), NET_NAME (hdbench<pid>),
# SUBNET (10.213.200.0/24), NFT_TABLE (hdbench), IPERF_ROUNDS (3), DURATION (5: seconds
# per iperf3 run), REF_MIB (1024: MiB per python transfer on the host and between
# containers), VM_ROUNDS (3), VM_MIB (256: MiB per transfer to and from the VM), RUNS
# (200: container starts per side), ROUNDS (10), WARMUP (5), POLL_US (250), SPACED (40),
# GAP_MS (100), READY_TIMEOUT_S (300), IMAGES_DIR (build/images), PYTHON
# (/usr/bin/python3), SKIP_VM=1.
#
# 1. Starts hostd (Unix socket only) with --default-network none and --nft-table
#    NFT_TABLE on a temp state dir, creates network NET_NAME (SUBNET) through the API and
#    two busybox containers on it, A and B (`sleep 100000`). iperf3 is not in the image
#    and runs from the host inside each container's network namespace (nsenter --net=
#    /proc/INIT/ns/net, the init's pid from STATE/containers/UUID/state.json): the
#    traffic takes the container's veth and the bridge, as the container's would.
# 2. iperf3, IPERF_ROUNDS rounds of DURATION seconds each, alternating which path goes
#    first: host loopback (server and client on 127.0.0.1) and container <-> container
#    (server in A's namespace on A's address, client in B's). Gbit/s received, and each
#    round's ratio to the loopback of the same round.
# 3. The VM: the tiny image, its kernel command line given hostd.cmd= (two busybox nc
#    servers: port 5001 sends VM_MIB MiB from dd, port 5002 swallows what it is sent);
#    no iperf3 in the guest, so a small python client (this script writes it) runs in
#    B's namespace: VM -> container (reads until EOF) and container -> VM (sends, shuts
#    down its side and waits for the guest's close). The same client against the same
#    kind of python server, on loopback and between A and B, is that tool's reference.
#    VM_ROUNDS rounds, alternating. The guest runs under TCG here (software emulation):
#    its figures are not KVM figures.
# 4. Container start, ROUNDS rounds of RUNS/ROUNDS each, alternating which goes first:
#    ct-start with --network NET_NAME, and ct-start without (a network namespace with
#    loopback only: hostd's --default-network none). p50/p95 of each phase, nearest
#    rank; what network setup adds = the difference of the p50s (goal <= 3 ms).
#    Then SPACED starts of each, one per ct-start, alternating with and without, GAP_MS
#    apart: back to back, a start also meets the kernel still tearing down the previous
#    container's network namespace (and its veth), which a spaced start does not.
# 5. Deletes every instance (force) and the network through the API, stops hostd, and
#    checks that no bridge, veth, dnsmasq, nftables table, container or qemu of the run
#    is left. Percentiles are nearest-rank everywhere.
set -euo pipefail
export LC_ALL=C

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

NET=${NET_NAME:-hdbench$$}
SUBNET=${SUBNET:-10.213.200.0/24}
TABLE=${NFT_TABLE:-hdbench}
IPERF_ROUNDS=${IPERF_ROUNDS:-3}
DURATION=${DURATION:-5}
REF_MIB=${REF_MIB:-1024}
VM_ROUNDS=${VM_ROUNDS:-3}
VM_MIB=${VM_MIB:-256}
RUNS=${RUNS:-200}
ROUNDS=${ROUNDS:-10}
WARMUP=${WARMUP:-5}
POLL_US=${POLL_US:-250}
SPACED=${SPACED:-40}
GAP_MS=${GAP_MS:-100}
READY_TIMEOUT_S=${READY_TIMEOUT_S:-300}
IMAGES_DIR=${IMAGES_DIR:-$REPO_DIR/build/images}
PYTHON=${PYTHON:-/usr/bin/python3}
SKIP_VM=${SKIP_VM:-0}

[[ $EUID -eq 0 ]] || die "needs root (bridges, veths, nftables, nsenter)"
((RUNS >= ROUNDS && ROUNDS >= 1 && RUNS % ROUNDS == 0)) || die "RUNS must be a multiple of ROUNDS"
((IPERF_ROUNDS >= 1 && VM_ROUNDS >= 1 && DURATION >= 1 && VM_MIB >= 1 && REF_MIB >= 1)) ||
	die "IPERF_ROUNDS, VM_ROUNDS, DURATION, VM_MIB and REF_MIB must be >= 1"
[[ $NET =~ ^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$ ]] || die "NET_NAME \`$NET\` is not a network name"
PER=$((RUNS / ROUNDS))
for c in curl jq iperf3 nsenter nft ip ss cpio "$PYTHON"; do
	command -v "$c" >/dev/null || die "$c not found"
done
BUILD=$(find_build_dir)
HOSTD=$BUILD/daemon/hostd
CT_START=$BUILD/bench/ct-start
[[ -x $CT_START ]] || die "$CT_START is missing; build the tree"
ct_usage=$("$CT_START" 2>&1 || true)
[[ $ct_usage == *--network* ]] || die "$CT_START has no --network; rebuild it"
[[ -f $IMAGES_DIR/busybox.oci.tar ]] ||
	die "no $IMAGES_DIR/busybox.oci.tar: packaging/images/build-busybox-oci.sh $IMAGES_DIR"

# What this run made on the host, for the cleanup: it removes these, and only these.
if ip link show "$NET" >/dev/null 2>&1; then
	die "a link named \`$NET\` exists already; set NET_NAME"
fi
if nft list table ip "$TABLE" >/dev/null 2>&1; then
	die "nftables table ip \`$TABLE\` exists already (another hostd's, or a run that was" \
		"killed: \`nft delete table ip $TABLE\` if nothing uses it); set NFT_TABLE"
fi
STATE=""
SOCK=""
NET_MADE=0
TEARDOWN_DONE=0

# api METHOD PATH [curl args...]: one request to hostd, the body on stdout.
api() {
	local m=$1 p=$2
	shift 2
	curl -sS --unix-socket "$SOCK" -X "$m" "$@" "http://localhost$p"
}

# pct P FILE: nearest-rank percentile (the ceil(P*N/100)-th smallest) of FILE's numbers.
pct() {
	sort -g "$2" | awk -v p="$1" '{ v[NR] = $1 } END {
		if (NR == 0) { print "nan"; exit }
		r = int((p * NR + 99) / 100); if (r < 1) r = 1; print v[r] }'
}
# summary FILE: "p50 P  p95 P  min M  max M ms" of FILE's numbers.
summary() {
	printf 'p50 %.3f  p95 %.3f  min %.3f  max %.3f ms' "$(pct 50 "$1")" "$(pct 95 "$1")" \
		"$(sort -g "$1" | head -1)" "$(sort -g "$1" | tail -1)"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.3f", a / b}'; }
verdict() { awk -v c="$1" 'BEGIN{print (c ? "met" : "MISSED")}'; }
# fmt_rate GBITS: "G.GG Gbit/s (M MB/s)".
fmt_rate() { awk -v g="$1" 'BEGIN{printf "%.2f Gbit/s (%.0f MB/s)", g, g * 1e9 / 8 / 1e6}'; }

# forget_pid PID: PID has ended (waited for): out of STARTED_PIDS.
forget_pid() {
	local i
	for i in "${!STARTED_PIDS[@]}"; do
		[[ ${STARTED_PIDS[i]} == "$1" ]] && unset 'STARTED_PIDS[i]'
	done
	STARTED_PIDS=("${STARTED_PIDS[@]}")
}
# stop_pid PID: ends a process of ours by its pid and waits for it.
stop_pid() {
	local _
	kill -TERM "$1" 2>/dev/null || true
	for _ in $(seq 1 100); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
	forget_pid "$1"
}
# finish_pid PID: waits for a process of ours that ends by itself (10 s at most).
finish_pid() {
	local _
	for _ in $(seq 1 100); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	stop_pid "$1"
}

# own_procs: "PID NAME" of every dnsmasq, qemu and hostd-monitor whose command line names
# this run's state dir (they outlive hostd by design, or should have ended with it), and
# of each container's init still in its container's cgroup (pid from state.json).
own_procs() {
	local f pid args
	[[ -n $STATE ]] || return 0
	for f in /proc/[0-9]*/cmdline; do
		pid=${f#/proc/}
		pid=${pid%/cmdline}
		[[ $pid == "$$" ]] && continue
		{ mapfile -d '' -t args <"$f"; } 2>/dev/null || continue
		((${#args[@]} > 0)) || continue
		case ${args[0]##*/} in
		dnsmasq | qemu-system* | hostd-monitor) ;;
		*) continue ;;
		esac
		[[ "${args[*]}" == *"$STATE/"* ]] && echo "$pid ${args[0]##*/}"
	done
	for f in "$STATE"/containers/*/state.json; do
		[[ -f $f ]] || continue
		pid=$(jq -r '.pid // empty' "$f" 2>/dev/null) || continue
		[[ -n $pid ]] && grep -qs "/hostd/$(basename "$(dirname "$f")")\$" "/proc/$pid/cgroup" &&
			echo "$pid container-init"
	done
	return 0
}

# leftovers: one line per thing of this run still on the host (none: no output).
leftovers() {
	local pid name
	if ip link show "$NET" >/dev/null 2>&1; then echo "bridge $NET"; fi
	ip -o link show 2>/dev/null | awk -F': ' -v m="master $NET " 'index($0, m) {print "link " $2}'
	while read -r pid name; do
		[[ -n $pid ]] && echo "process $pid ($name)"
	done < <(own_procs)
	if nft list table ip "$TABLE" >/dev/null 2>&1; then echo "nftables table ip $TABLE"; fi
	return 0
}

# teardown: deletes every instance (force) and the network through the API, stops hostd.
teardown() {
	local name code
	((TEARDOWN_DONE)) && return 0
	TEARDOWN_DONE=1
	if [[ -n $SOCK && -S $SOCK && -n ${HOSTD_PID:-} ]] && kill -0 "$HOSTD_PID" 2>/dev/null; then
		api GET '/v1/instances?limit=1000' 2>/dev/null | jq -r '.instances[].name' 2>/dev/null |
			while read -r name; do
				api DELETE "/v1/instances/$name?force=true&wait=60" -o /dev/null ||
					echo "network.sh: could not delete instance $name" >&2
			done
		if ((NET_MADE)); then
			code=$(api DELETE "/v1/networks/$NET" -o "$WORK/net-delete.json" -w '%{http_code}') ||
				true
			[[ $code == 200 ]] && NET_MADE=0 ||
				echo "network.sh: DELETE /v1/networks/$NET: HTTP $code: $(cat "$WORK/net-delete.json")" >&2
		fi
	fi
	if [[ -n ${HOSTD_PID:-} ]]; then
		stop_pid "$HOSTD_PID"
	fi
}

# net_cleanup: the EXIT trap. After a failure, what the API could not remove is removed
# by hand, loudly, and only what this run made (checked at the start not to exist).
net_cleanup() {
	local rc=$? pid name
	set +eu
	teardown
	while read -r pid name; do
		[[ -n $pid ]] || continue
		echo "network.sh: $name $pid of this run is still alive; killing it" >&2
		kill -KILL "$pid" 2>/dev/null
	done < <(own_procs)
	if ip link show "$NET" >/dev/null 2>&1; then
		echo "network.sh: removing bridge $NET" >&2
		ip link del "$NET"
	fi
	if nft list table ip "$TABLE" >/dev/null 2>&1; then
		echo "network.sh: removing nftables table ip $TABLE" >&2
		nft delete table ip "$TABLE"
	fi
	cleanup
	exit "$rc"
}
trap net_cleanup EXIT
trap 'exit 130' INT TERM

make_work_dir hostd-bench-net
SOCK=$WORK/hostd.sock
STATE=$WORK/state

echo "hostd networks — $(date -u +%Y-%m-%dT%H:%MZ), nproc $(nproc), $(uname -r)"
echo "at the start: $(load_note); uptime:$(uptime | sed 's/.*load average/ load average/')"
start_hostd "$HOSTD" "$STATE" "$SOCK" "" --default-network none --nft-table "$TABLE" \
	--cpu-overcommit 10
echo "hostd $HOSTD (pid $HOSTD_PID), state dir $STATE; $(iperf3 --version | head -1)"

code=$(api POST /v1/networks -H 'Content-Type: application/json' -o "$WORK/net.json" \
	-w '%{http_code}' -d "{\"name\":\"$NET\",\"subnet\":\"$SUBNET\"}")
[[ $code == 201 ]] || die "POST /v1/networks: HTTP $code: $(cat "$WORK/net.json")"
NET_MADE=1
echo "network $NET: $(jq -c . "$WORK/net.json")"

code=$(api POST '/v1/images?name=busybox&kind=container&format=oci-archive' \
	-H 'Content-Type: application/x-tar' -T "$IMAGES_DIR/busybox.oci.tar" \
	-o "$WORK/image.json" -w '%{http_code}')
[[ $code == 201 || $code == 200 ]] || die "image import: HTTP $code: $(cat "$WORK/image.json")"

# The transfer tool for the paths iperf3 cannot take (the guest has only busybox): one
# TCP connection, timed from connect() to the peer's EOF, printed as "bytes=N seconds=S".
cat >"$WORK/tcpx.py" <<'EOF'
import errno, socket, sys, time

CHUNK = 1 << 20

def connect(host, port, wait_s=30.0):
    deadline = time.monotonic() + wait_s
    while True:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.connect((host, port))
            s.settimeout(300)
            return s
        except OSError as e:
            s.close()
            retry = (errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ETIMEDOUT)
            if e.errno not in retry or time.monotonic() > deadline:
                raise
            time.sleep(0.05)

def drain(s):
    buf, n = bytearray(CHUNK), 0
    while True:
        r = s.recv_into(buf)
        if r == 0:
            return n
        n += r

def send(s, total):
    zeros = memoryview(bytes(CHUNK))
    left = total
    while left > 0:
        s.sendall(zeros[:min(left, CHUNK)])
        left -= min(left, CHUNK)

def listener(host, port):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((host, port))
    ls.listen(1)
    ls.settimeout(120)
    return ls

mode = sys.argv[1]
if mode == "recv":      # recv HOST PORT: read until EOF
    s = connect(sys.argv[2], int(sys.argv[3]))
    t0 = time.monotonic()
    n = drain(s)
    t1 = time.monotonic()
elif mode == "send":    # send HOST PORT BYTES: send, shut down, wait for the peer's close
    s = connect(sys.argv[2], int(sys.argv[3]))
    t0 = time.monotonic()
    n = int(sys.argv[4])
    send(s, n)
    s.shutdown(socket.SHUT_WR)
    drain(s)
    t1 = time.monotonic()
elif mode == "serve":   # serve HOST PORT BYTES: one client, sent BYTES zeros, then close
    c, _ = listener(sys.argv[2], int(sys.argv[3])).accept()
    send(c, int(sys.argv[4]))
    c.close()
    sys.exit(0)
elif mode == "sink":    # sink HOST PORT: one client, read until EOF, then close
    c, _ = listener(sys.argv[2], int(sys.argv[3])).accept()
    drain(c)
    c.close()
    sys.exit(0)
else:
    sys.exit("tcpx: unknown mode " + mode)
print("bytes=%d seconds=%.6f" % (n, t1 - t0))
EOF
TCPX=("$PYTHON" "$WORK/tcpx.py")

# start_ct NAME: a running `sleep 100000` busybox container on NET; sets CT_ADDR, CT_NS
# (its init's network namespace) and CT_UUID.
start_ct() {
	local out code pid
	out=$(api POST /v1/instances -H 'Content-Type: application/json' -w '\n%{http_code}' \
		-d "{\"name\":\"$1\",\"kind\":\"container\",\"image\":\"busybox\",\"network\":\"$NET\",\"command\":[\"sleep\",\"100000\"],\"resources\":{\"vcpus\":0.1,\"memory_mb\":32}}")
	code=${out##*$'\n'}
	[[ $code == 201 ]] || die "create $1: HTTP $code: ${out%$'\n'*}"
	out=$(api POST "/v1/instances/$1/start?wait=30")
	[[ $(jq -r .status <<<"$out") == success ]] || die "start $1: $out"
	out=$(api GET "/v1/instances/$1")
	CT_ADDR=$(jq -r '.addresses[0].address // empty' <<<"$out")
	CT_UUID=$(jq -r .uuid <<<"$out")
	[[ -n $CT_ADDR ]] || die "$1 has no address: $out"
	pid=$(jq -r .pid "$STATE/containers/$CT_UUID/state.json")
	CT_NS=/proc/$pid/ns/net
	[[ $(readlink "$CT_NS") != "$(readlink /proc/self/ns/net)" ]] ||
		die "$1's init ($pid) is in the host's network namespace"
}

# in_ns NS CMD...: CMD in network namespace NS ("" for the host's).
in_ns() {
	local ns=$1
	shift
	if [[ -n $ns ]]; then nsenter --net="$ns" -- "$@"; else "$@"; fi
}

# --- 2. iperf3: loopback and container <-> container --------------------------------------------

start_ct bench-a
A_ADDR=$CT_ADDR A_NS=$CT_NS
start_ct bench-b
B_ADDR=$CT_ADDR B_NS=$CT_NS
echo "containers on $NET: bench-a $A_ADDR, bench-b $B_ADDR (iperf3 and the python tool run" \
	"from the host in their network namespaces)"

# iperf_run TAG SERVER_NS SERVER_ADDR CLIENT_NS: one iperf3 run of DURATION s; appends
# Gbit/s received to $WORK/TAG.gbit; sets GBIT and RETR (the sender's retransmits).
iperf_run() {
	local tag=$1 sns=$2 addr=$3 cns=$4 port spid out _
	port=$((5201 + RANDOM % 1000))
	in_ns "$sns" iperf3 -s -1 -B "$addr" -p "$port" >"$WORK/iperf3-server.log" 2>&1 &
	spid=$!
	STARTED_PIDS+=("$spid")
	for _ in $(seq 1 50); do
		in_ns "$sns" ss -Hltn "sport = :$port" 2>/dev/null | grep -q . && break
		kill -0 "$spid" 2>/dev/null || die "iperf3 server: $(cat "$WORK/iperf3-server.log")"
		sleep 0.1
	done
	out=$(in_ns "$cns" iperf3 -c "$addr" -p "$port" -t "$DURATION" -J) ||
		die "iperf3 $tag: $(jq -r '.error // empty' <<<"$out" 2>/dev/null || echo "$out")"
	finish_pid "$spid"
	GBIT=$(jq '.end.sum_received.bits_per_second / 1e9' <<<"$out")
	RETR=$(jq '.end.sum_sent.retransmits // 0' <<<"$out")
	echo "$GBIT" >>"$WORK/$tag.gbit"
}

echo
echo "2. iperf3, TCP, 1 stream, ${DURATION} s per run, $IPERF_ROUNDS rounds (odd: loopback" \
	"first); Gbit/s received"
: >"$WORK/lo.gbit" && : >"$WORK/ctct.gbit" && : >"$WORK/ctct.ratio"
for round in $(seq 1 "$IPERF_ROUNDS"); do
	if ((round % 2)); then
		iperf_run lo "" 127.0.0.1 "" && lo=$GBIT lo_r=$RETR
		iperf_run ctct "$A_NS" "$A_ADDR" "$B_NS" && cc=$GBIT cc_r=$RETR
	else
		iperf_run ctct "$A_NS" "$A_ADDR" "$B_NS" && cc=$GBIT cc_r=$RETR
		iperf_run lo "" 127.0.0.1 "" && lo=$GBIT lo_r=$RETR
	fi
	r=$(ratio "$cc" "$lo")
	echo "$r" >>"$WORK/ctct.ratio"
	printf '  round %d: loopback %.2f (%s retr), container b -> a %.2f (%s retr); ratio %s\n' \
		"$round" "$lo" "$lo_r" "$cc" "$cc_r" "$r"
done
lo_gbit=$(pct 50 "$WORK/lo.gbit")
cc_gbit=$(pct 50 "$WORK/ctct.gbit")
mapfile -t ratios <"$WORK/ctct.ratio"
cc_ratio=$(median "${ratios[@]}")
echo "  host loopback (127.0.0.1 -> 127.0.0.1):        p50 $(fmt_rate "$lo_gbit")"
echo "  container -> container (veth, bridge, veth):  p50 $(fmt_rate "$cc_gbit")"
echo "  ratio container/loopback: $(ratio "$cc_gbit" "$lo_gbit") of the p50s;" \
	"per round median $cc_ratio (min $(sort -g "$WORK/ctct.ratio" | head -1)," \
	"max $(sort -g "$WORK/ctct.ratio" | tail -1))"

# --- 3. the VM -------------------------------------------------------------------------------------

# tcpx_run TAG NS CMD...: one tcpx client in NS; appends Gbit/s to $WORK/TAG.gbit, sets GBIT.
tcpx_run() {
	local tag=$1 ns=$2 out bytes secs
	shift 2
	out=$(in_ns "$ns" "${TCPX[@]}" "$@") || die "tcpx $tag ($*) failed"
	bytes=$(field bytes "$out")
	secs=$(field seconds "$out")
	[[ $bytes == "$WANT_BYTES" ]] || die "tcpx $tag: $bytes bytes moved, not $WANT_BYTES"
	GBIT=$(awk -v b="$bytes" -v s="$secs" 'BEGIN{printf "%.4f", b * 8 / s / 1e9}')
	echo "$GBIT" >>"$WORK/$tag.gbit"
}
# tcpx_pair TAG SERVER_NS SERVER_ADDR CLIENT_NS MIB: python server (sends MIB) and client.
tcpx_pair() {
	local tag=$1 sns=$2 addr=$3 cns=$4 port spid
	port=$((6201 + RANDOM % 1000))
	WANT_BYTES=$(($5 * 1048576))
	in_ns "$sns" "${TCPX[@]}" serve "$addr" "$port" "$WANT_BYTES" &
	spid=$!
	STARTED_PIDS+=("$spid")
	tcpx_run "$tag" "$cns" recv "$addr" "$port"
	finish_pid "$spid"
}

accel=""
vm_note=""
if [[ $SKIP_VM != 1 ]]; then
	api GET /v1 >"$WORK/about.json"
	if [[ $(jq -r '.drivers.vm.available' "$WORK/about.json") != true ]]; then
		vm_note="skipped: the vm driver is unavailable: $(jq -c '.drivers.vm' "$WORK/about.json")"
	elif [[ ! -f $IMAGES_DIR/tiny-vm.tar ]]; then
		vm_note="skipped: no $IMAGES_DIR/tiny-vm.tar (packaging/images/build-tiny-vm.sh)"
	fi
else
	vm_note="skipped (SKIP_VM=1)"
fi

echo
if [[ -n $vm_note ]]; then
	echo "3. VM <-> container: $vm_note"
else
	accel=$(jq -r '.drivers.vm.accel // "?"' "$WORK/about.json")
	# The guest serves on 5001 (VM_MIB MiB from dd) and 5002 (a sink), with busybox nc.
	guest_cmd="nc -ll -p 5001 -e dd if=/dev/zero bs=64k count=$((VM_MIB * 16)) &"
	guest_cmd+=" nc -ll -p 5002 -e dd of=/dev/null bs=64k &"
	KDIR=$WORK/kernel
	mkdir -p "$KDIR"
	tar -xf "$IMAGES_DIR/tiny-vm.tar" -C "$KDIR"
	# A bundle built before networking landed has an init that ignores ip=: its eth0 stays
	# down, and every connection to the guest would time out.
	gzip -dc "$KDIR/initrd" | cpio -i --quiet --to-stdout init 2>/dev/null |
		grep -q 'ip=\*)' || die "$IMAGES_DIR/tiny-vm.tar predates ip= (its init leaves eth0" \
		"down): rebuild it with packaging/images/build-tiny-vm.sh DIR and set IMAGES_DIR=DIR"
	printf ' hostd.cmd=%s' "$(printf '%s' "$guest_cmd" | base64 -w0)" >>"$KDIR/cmdline"
	tar --format=ustar -C "$KDIR" -cf "$WORK/tiny-net.tar" vmlinuz initrd cmdline
	code=$(api POST '/v1/images?name=tiny-net&kind=vm&format=kernel' \
		-H 'Content-Type: application/x-tar' -T "$WORK/tiny-net.tar" \
		-o "$WORK/vm-image.json" -w '%{http_code}')
	[[ $code == 201 || $code == 200 ]] || die "VM image import: HTTP $code: $(cat "$WORK/vm-image.json")"
	out=$(api POST /v1/instances -H 'Content-Type: application/json' -w '\n%{http_code}' \
		-d "{\"name\":\"bench-vm\",\"kind\":\"vm\",\"image\":\"tiny-net\",\"network\":\"$NET\",\"resources\":{\"vcpus\":1,\"memory_mb\":256}}")
	[[ ${out##*$'\n'} == 201 ]] || die "create bench-vm: ${out%$'\n'*}"
	t0=${EPOCHREALTIME/./}
	out=$(api POST "/v1/instances/bench-vm/start?wait=$READY_TIMEOUT_S")
	[[ $(jq -r .status <<<"$out") == success ]] || die "start bench-vm: $out"
	for (( ; ; )); do
		out=$(api GET /v1/instances/bench-vm)
		[[ $(jq -r '.ready_at // empty' <<<"$out") ]] && break
		((${EPOCHREALTIME/./} - t0 < READY_TIMEOUT_S * 1000000)) ||
			die "bench-vm not ready after $READY_TIMEOUT_S s: $out"
		sleep 0.1
	done
	VM_ADDR=$(jq -r '.addresses[0].address // empty' <<<"$out")
	[[ -n $VM_ADDR ]] || die "bench-vm has no address: $out"
	console=$STATE/vms/$(jq -r .uuid <<<"$out")/console.log
	grep -q "hostd-init: eth0 $VM_ADDR/" "$console" ||
		die "the guest did not configure eth0 as $VM_ADDR: $(tail -5 "$console")"
	echo "3. VM <-> container: the tiny VM (1 vCPU, 256 MiB, virtio-net on $NET, $VM_ADDR)," \
		"ready after $(((${EPOCHREALTIME/./} - t0) / 1000)) ms; accel $accel"
	if [[ $accel == tcg ]]; then
		echo "  NOTE: the guest runs under TCG (software emulation, no KVM on this host): the" \
			"VM figures are TCG figures, not what a KVM guest would reach"
	fi
	echo "  tool: python (one connection, connect to EOF) in bench-b's namespace; the guest" \
		"sends/swallows with busybox dd | nc; $VM_MIB MiB to/from the VM, $REF_MIB MiB on the" \
		"references; $VM_ROUNDS rounds, Gbit/s"
	: >"$WORK/pylo.gbit" && : >"$WORK/pyct.gbit" && : >"$WORK/vmct.gbit" && : >"$WORK/ctvm.gbit"
	vm_round() {
		WANT_BYTES=$((VM_MIB * 1048576))
		tcpx_run vmct "$B_NS" recv "$VM_ADDR" 5001 && vc=$GBIT
		tcpx_run ctvm "$B_NS" send "$VM_ADDR" 5002 "$WANT_BYTES" && cv=$GBIT
	}
	ref_round() {
		tcpx_pair pylo "" 127.0.0.1 "" "$REF_MIB" && pl=$GBIT
		tcpx_pair pyct "$A_NS" "$A_ADDR" "$B_NS" "$REF_MIB" && pc=$GBIT
	}
	for round in $(seq 1 "$VM_ROUNDS"); do
		if ((round % 2)); then ref_round && vm_round; else vm_round && ref_round; fi
		printf '  round %d: python loopback %.2f, python container a -> b %.2f;' \
			"$round" "$pl" "$pc"
		printf ' VM -> container %.3f, container -> VM %.3f\n' "$vc" "$cv"
	done
	py_lo=$(pct 50 "$WORK/pylo.gbit")
	py_ct=$(pct 50 "$WORK/pyct.gbit")
	vm_ct=$(pct 50 "$WORK/vmct.gbit")
	ct_vm=$(pct 50 "$WORK/ctvm.gbit")
	echo "  python, host loopback:           p50 $(fmt_rate "$py_lo")"
	echo "  python, container -> container:  p50 $(fmt_rate "$py_ct")" \
		"(ratio to python loopback $(ratio "$py_ct" "$py_lo"))"
	echo "  VM -> container (TCG guest):     p50 $(fmt_rate "$vm_ct")" \
		"(ratio to iperf3 loopback $(ratio "$vm_ct" "$lo_gbit"), to python loopback $(ratio "$vm_ct" "$py_lo"))"
	echo "  container -> VM (TCG guest):     p50 $(fmt_rate "$ct_vm")" \
		"(ratio to iperf3 loopback $(ratio "$ct_vm" "$lo_gbit"), to python loopback $(ratio "$ct_vm" "$py_lo"))"
	qpid=$(cat "$STATE/libvirt/run/qemu/hostd-bench-vm.pid" 2>/dev/null || true)
	out=$(api DELETE "/v1/instances/bench-vm?force=true&wait=60")
	[[ $(jq -r .status <<<"$out") == success ]] || die "delete bench-vm: $out"
fi

for name in bench-a bench-b; do
	out=$(api DELETE "/v1/instances/$name?force=true&wait=30")
	[[ $(jq -r .status <<<"$out") == success ]] || die "delete $name: $out"
done

# --- 4. container start with and without a network ---------------------------------------------

echo
echo "4. container start: ct-start (create, start?wait, GET until exited; /bin/true), with" \
	"\"network\": \"$NET\" and without (loopback only), $ROUNDS rounds of $PER each" \
	"(odd: with first), after $WARMUP of each not counted"
: >"$WORK/net.runs" && : >"$WORK/none.runs" && : >"$WORK/ct-start.err"
# cts TAG PREFIX N [ct-start args...]: N runs; their "run" lines appended to $WORK/TAG.runs.
cts() {
	local tag=$1 prefix=$2 n=$3
	shift 3
	"$CT_START" "$SOCK" "$n" --each --poll-us "$POLL_US" --prefix "$prefix" "$@" \
		>"$WORK/ct-start.out" 2>>"$WORK/ct-start.err" ||
		{ cat "$WORK/ct-start.out" "$WORK/ct-start.err" >&2; die "ct-start failed"; }
	[[ $tag == warm ]] || grep '^run ' "$WORK/ct-start.out" >>"$WORK/$tag.runs"
}
cts warm wn "$WARMUP" --network "$NET"
cts warm wo "$WARMUP"
for round in $(seq 1 "$ROUNDS"); do
	if ((round % 2)); then
		cts net "n$round" "$PER" --network "$NET"
		cts none "o$round" "$PER"
	else
		cts none "o$round" "$PER"
		cts net "n$round" "$PER" --network "$NET"
	fi
done
lost=$(grep -c 'lost exit' "$WORK/ct-start.err" || true)
for side in net none; do
	for ph in total create start; do
		sed -n "s/.* ${ph}_ms=\([0-9.]*\).*/\1/p" "$WORK/$side.runs" >"$WORK/$side.$ph"
	done
done
echo "  with a network ($(wc -l <"$WORK/net.total") runs):"
echo "    create (POST):        $(summary "$WORK/net.create")"
echo "    start (POST ?wait):   $(summary "$WORK/net.start")"
echo "    create to exit seen:  $(summary "$WORK/net.total")"
echo "  without ($(wc -l <"$WORK/none.total") runs):"
echo "    create (POST):        $(summary "$WORK/none.create")"
echo "    start (POST ?wait):   $(summary "$WORK/none.start")"
echo "    create to exit seen:  $(summary "$WORK/none.total")"
((lost == 0)) || echo "  LOST EXITS: $lost runs (kept out of the figures)"
d_start=$(awk -v a="$(pct 50 "$WORK/net.start")" -v b="$(pct 50 "$WORK/none.start")" \
	'BEGIN{printf "%.3f", a - b}')
d_create=$(awk -v a="$(pct 50 "$WORK/net.create")" -v b="$(pct 50 "$WORK/none.create")" \
	'BEGIN{printf "%.3f", a - b}')
d_total=$(awk -v a="$(pct 50 "$WORK/net.total")" -v b="$(pct 50 "$WORK/none.total")" \
	'BEGIN{printf "%.3f", a - b}')
start_ratio=$(ratio "$(pct 50 "$WORK/net.start")" "$(pct 50 "$WORK/none.start")")
echo "  network setup adds (p50 with - p50 without): start $d_start ms (goal <= 3 ms:" \
	"$(verdict "$(awk -v d="$d_start" 'BEGIN{print d <= 3}')")), create $d_create ms," \
	"create to exit seen $d_total ms; start p50 ratio with/without $start_ratio"

d_spaced=""
if ((SPACED > 0)); then
	echo "  spaced: $SPACED starts of each, one per ct-start, ${GAP_MS} ms apart, alternating" \
		"(odd: with first)"
	: >"$WORK/snet.runs" && : >"$WORK/snone.runs"
	printf -v gap_s '%d.%03d' $((GAP_MS / 1000)) $((GAP_MS % 1000))
	for i in $(seq 1 "$SPACED"); do
		if ((i % 2)); then
			cts snet "sn$i" 1 --network "$NET" && sleep "$gap_s"
			cts snone "so$i" 1 && sleep "$gap_s"
		else
			cts snone "so$i" 1 && sleep "$gap_s"
			cts snet "sn$i" 1 --network "$NET" && sleep "$gap_s"
		fi
	done
	for side in snet snone; do
		for ph in create start; do
			sed -n "s/.* ${ph}_ms=\([0-9.]*\).*/\1/p" "$WORK/$side.runs" >"$WORK/$side.$ph"
		done
	done
	echo "    with:    create $(summary "$WORK/snet.create")"
	echo "             start  $(summary "$WORK/snet.start")"
	echo "    without: create $(summary "$WORK/snone.create")"
	echo "             start  $(summary "$WORK/snone.start")"
	d_spaced=$(awk -v a="$(pct 50 "$WORK/snet.start")" -v b="$(pct 50 "$WORK/snone.start")" \
		'BEGIN{printf "%.3f", a - b}')
	echo "    network setup adds, spaced: start $d_spaced ms (p50 with - p50 without; goal <= 3 ms:" \
		"$(verdict "$(awk -v d="$d_spaced" 'BEGIN{print d <= 3}')"))"
fi

# --- 5. teardown and leftovers --------------------------------------------------------------------

echo
echo "5. teardown: instances, network $NET (DELETE), hostd"
teardown
sleep 0.5
leftovers >"$WORK/left"
if [[ -s $WORK/left ]]; then
	echo "  LEFT BEHIND:"
	sed 's/^/    /' "$WORK/left"
	left_note="NO: $(wc -l <"$WORK/left") things (see above)"
else
	left_note="yes"
	echo "  nothing left: no bridge $NET, no link on it, no dnsmasq/qemu/monitor of the run," \
		"no nftables table $TABLE"
fi
[[ -z ${qpid:-} ]] || ! kill -0 "$qpid" 2>/dev/null || echo "  the VM's qemu $qpid is still alive"

echo
echo "summary"
echo "  iperf3 p50: host loopback $(fmt_rate "$lo_gbit"); container -> container" \
	"$(fmt_rate "$cc_gbit"), ratio $(ratio "$cc_gbit" "$lo_gbit") (per round median $cc_ratio)"
if [[ -z $vm_note ]]; then
	echo "  VM (accel $accel$([[ $accel == tcg ]] && echo ": software emulation, not a KVM figure")," \
		"python/busybox nc): VM -> container $(fmt_rate "$vm_ct"), container -> VM" \
		"$(fmt_rate "$ct_vm"); ratios to iperf3 loopback $(ratio "$vm_ct" "$lo_gbit")" \
		"and $(ratio "$ct_vm" "$lo_gbit"); python loopback $(fmt_rate "$py_lo")," \
		"python container -> container $(fmt_rate "$py_ct")"
else
	echo "  VM: $vm_note"
fi
echo "  container start p50 with network $(pct 50 "$WORK/net.start") ms, without" \
	"$(pct 50 "$WORK/none.start") ms: network setup adds $d_start ms (goal <= 3 ms);" \
	"p95 $(pct 95 "$WORK/net.start") vs $(pct 95 "$WORK/none.start") ms"
[[ -z $d_spaced ]] || echo "  spaced ${GAP_MS} ms apart: start p50 with $(pct 50 "$WORK/snet.start") ms," \
	"without $(pct 50 "$WORK/snone.start") ms: adds $d_spaced ms"
echo "  nothing left behind: $left_note"
echo "at the end: $(load_note)"
