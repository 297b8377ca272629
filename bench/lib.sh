# shellcheck shell=bash
# Shared helpers for the bench/*.sh scripts (sourced, not run).
# Callers set -euo pipefail themselves.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$BENCH_DIR/.." && pwd)

die() {
	echo "$(basename "$0"): $*" >&2
	exit 1
}

# Finds the build directory holding daemon/hostd and the bench programs:
# $BUILD_DIR if set, else the first of build-bench/ and build/ that has them.
find_build_dir() {
	local d
	for d in ${BUILD_DIR:+"$BUILD_DIR"} "$REPO_DIR/build-bench" "$REPO_DIR/build"; do
		if [[ -x $d/daemon/hostd && -x $d/bench/bare-mhd ]]; then
			(cd "$d" && pwd)
			return 0
		fi
	done
	die "no build dir with daemon/hostd and bench/bare-mhd; build with
  cmake -S $REPO_DIR -B $REPO_DIR/build-bench -DHD_TESTS=OFF && cmake --build $REPO_DIR/build-bench
or set BUILD_DIR"
}

# Prints a loopback TCP port nothing listens on (best effort).
free_port() {
	local p _
	for _ in $(seq 1 100); do
		p=$((20000 + RANDOM % 30000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	die "no free TCP port found"
}

# PIDs this script started; cleanup() ends exactly these, then removes $WORK.
STARTED_PIDS=()
WORK=""

cleanup() {
	local pid _
	for pid in "${STARTED_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${STARTED_PIDS[@]}"; do
		for _ in $(seq 1 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			echo "$(basename "$0"): pid $pid ignored SIGTERM for 5 s; sending SIGKILL" >&2
			kill -KILL "$pid" 2>/dev/null || true
		fi
		wait "$pid" 2>/dev/null || true
	done
	STARTED_PIDS=()
	if [[ -n $WORK && -d $WORK ]]; then
		rm -rf -- "$WORK"
	fi
}

# make_work_dir PREFIX: a private temp dir with a 0600 token file in it.
make_work_dir() {
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
	TOKEN_FILE=$WORK/token
	(umask 077 && head -c 24 /dev/urandom | base64 | tr -d '/+=\n' >"$TOKEN_FILE")
	chmod 0600 "$TOKEN_FILE"
	# shellcheck disable=SC2034 # used by the sourcing script
	TOKEN=$(cat "$TOKEN_FILE")
}

# start_hostd BIN STATE_DIR SOCKET [PORT] [extra args...]: starts hostd in the
# background, records its PID in HOSTD_PID and STARTED_PIDS, and waits until it
# answers GET /v1 on the socket (10 s at most). PORT may be "" for no TCP.
start_hostd() {
	local bin=$1 state=$2 sock=$3 port=$4
	shift 4
	# No default network and a table of the bench's own unless the caller asks
	# (later flags win): a bench must leave no bridge of its own behind on the host.
	local args=(--state-dir "$state" --socket "$sock" --log-level warn
		--default-network none --nft-table "hdbench$$")
	if [[ -n $port ]]; then
		args+=(--listen "127.0.0.1:$port" --token-file "$TOKEN_FILE")
	fi
	"$bin" "${args[@]}" "$@" >"$WORK/hostd.log" 2>&1 &
	HOSTD_PID=$!
	STARTED_PIDS+=("$HOSTD_PID")
	local _
	for _ in $(seq 1 100); do
		if curl -sf --unix-socket "$sock" http://localhost/v1 -o /dev/null; then
			return 0
		fi
		kill -0 "$HOSTD_PID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$WORK/hostd.log" >&2
	die "hostd did not come up"
}

# wait_http URL: waits until URL answers (any status), 5 s at most.
wait_http() {
	local _
	for _ in $(seq 1 50); do
		if curl -s -o /dev/null "$1"; then
			return 0
		fi
		sleep 0.1
	done
	die "$1 did not answer"
}

# median of the numbers given as arguments (prints with the precision given).
median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "nan"; exit }
		if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# field NAME LINE: the value of NAME=VALUE in a BENCH/RESULT line.
field() {
	local kv
	for kv in $2; do
		if [[ ${kv%%=*} == "$1" ]]; then
			echo "${kv#*=}"
			return 0
		fi
	done
	echo "nan"
}

# load_note: the 1-minute load average, with a warning when other work is
# running (the figures are then noisier; the ratios less so, since A and B
# alternate).
load_note() {
	local l
	l=$(cut -d' ' -f1 /proc/loadavg)
	if awk -v l="$l" -v n="$(nproc)" 'BEGIN{exit !(l > n / 2)}'; then
		echo "load average $l on $(nproc) CPUs: other work is running, figures will be noisy"
	else
		echo "load average $l on $(nproc) CPUs"
	fi
}
