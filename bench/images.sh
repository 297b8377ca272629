#!/usr/bin/env bash
# Image store figures (issue: images):
#   dedup  - import two OCI images that share all but one layer; how many bytes the
#            second adds on disk (du), against the size of its own archive.
#   import - import a SIZE_MIB root filesystem tar (default 1024): wall time and
#            hostd's peak RSS, against `tar -xf` of the same file (the reference).
# Needs the offline images (packaging/images/build-busybox-oci.sh) for dedup; makes
# the big tar itself. Stops only what it started; removes its temp dir.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

SIZE_MIB=${SIZE_MIB:-1024}
IMAGES_DIR=${IMAGES_DIR:-$REPO_DIR/build/images}
build=$(find_build_dir)
WORK=$(mktemp -d /tmp/hostd-bench-images.XXXXXX)
trap cleanup EXIT INT TERM

"$build/daemon/hostd" --state-dir "$WORK/state" --socket "$WORK/s.sock" --log-level warn &
STARTED_PIDS+=($!)
pid=$!
for _ in $(seq 1 100); do [[ -S $WORK/s.sock ]] && break; sleep 0.05; done

import() { # name format file -> prints the HTTP status
	curl -s -o "$WORK/resp" -w '%{http_code}' --unix-socket "$WORK/s.sock" -X POST \
		-H 'Content-Type: application/octet-stream' -T "$3" \
		"http://localhost/v1/images?name=$1&kind=container&format=$2"
}
hwm() { awk '/VmHWM/ {print $2}' "/proc/$pid/status"; }
du_b() { du -sb "$WORK/state/images" | cut -f1; }
ms() { echo $(( ($2 - $1) / 1000000 )); }

echo "hostd images — $(date -u +%Y-%m-%dT%H:%MZ), nproc $(nproc), load $(cut -d' ' -f1 /proc/loadavg)"

if [[ -f $IMAGES_DIR/busybox.oci.tar && -f $IMAGES_DIR/busybox-extra.oci.tar ]]; then
	before=$(du_b)
	[[ $(import busybox oci-archive "$IMAGES_DIR/busybox.oci.tar") == 201 ]] || die "import: $(cat "$WORK/resp")"
	one=$(du_b)
	[[ $(import busybox-extra oci-archive "$IMAGES_DIR/busybox-extra.oci.tar") == 201 ]] || die "import: $(cat "$WORK/resp")"
	two=$(du_b)
	echo "dedup: first image adds $((one - before)) B on disk; the second (archive $(stat -c %s "$IMAGES_DIR/busybox-extra.oci.tar") B, all but one layer shared) adds $((two - one)) B"
else
	echo "dedup: skipped (no $IMAGES_DIR/busybox*.oci.tar; run packaging/images/build-busybox-oci.sh $IMAGES_DIR)"
fi

mkdir -p "$WORK/root/data"
for i in $(seq 1 $((SIZE_MIB / 64))); do head -c $((64 << 20)) /dev/urandom > "$WORK/root/data/f$i"; done
tar -C "$WORK/root" -cf "$WORK/big.tar" . && rm -rf "$WORK/root"
size=$(stat -c %s "$WORK/big.tar")
sync

mkdir "$WORK/ref"
t0=$(date +%s%N); tar -C "$WORK/ref" -xf "$WORK/big.tar"; sync; t1=$(date +%s%N)
rm -rf "$WORK/ref"

h0=$(hwm)
t2=$(date +%s%N)
[[ $(import big rootfs "$WORK/big.tar") == 201 ]] || die "import: $(cat "$WORK/resp")"
t3=$(date +%s%N)
h1=$(hwm)
echo "import of a $((size >> 20)) MiB rootfs tar: hostd $(ms "$t2" "$t3") ms (upload, verify, unpack, fsync), reference tar -xf + sync $(ms "$t0" "$t1") ms: ratio $(awk -v a=$((t3 - t2)) -v b=$((t1 - t0)) 'BEGIN {printf "%.2f", a / b}')"
echo "hostd peak RSS (VmHWM): $((h0 / 1024)) MiB before, $((h1 / 1024)) MiB after (+$(((h1 - h0) / 1024)) MiB; goal +32 MiB at most)"

# Pull throughput from a loopback registry (Debian's docker-registry) against
# `skopeo copy` of the same image to a local OCI directory, in the same run.
PULL_MIB=${PULL_MIB:-256}
if command -v docker-registry >/dev/null && command -v skopeo >/dev/null; then
	# Not called in $(…): the registry's pid must reach STARTED_PIDS in this shell.
	registry() { # NAME: starts an empty loopback registry; its port goes to REG_PORT
		local p
		p=$(free_port)
		mkdir -p "$WORK/$1"
		printf 'version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\nlog:\n  level: error\n' \
			"$WORK/$1" "$p" > "$WORK/$1.yml"
		docker-registry serve "$WORK/$1.yml" > "$WORK/$1.log" 2>&1 &
		STARTED_PIDS+=($!)
		for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$p/v2/" >/dev/null && break; sleep 0.1; done
		REG_PORT=$p
	}
	registry reg
	port=$REG_PORT
	mkdir -p "$WORK/root2/data"
	for i in $(seq 1 $((PULL_MIB / 64))); do head -c $((64 << 20)) /dev/urandom > "$WORK/root2/data/f$i"; done
	tar -C "$WORK/root2" -czf "$WORK/pull.tar.gz" . && rm -rf "$WORK/root2"
	[[ $(import pullsrc rootfs "$WORK/pull.tar.gz") == 201 ]] || die "import: $(cat "$WORK/resp")"
	curl -s -o "$WORK/pull.oci.tar" --unix-socket "$WORK/s.sock" http://localhost/v1/images/pullsrc/export
	skopeo copy -q --dest-tls-verify=false "oci-archive:$WORK/pull.oci.tar" "docker://127.0.0.1:$port/bench/app:1"
	# hostd keeps the layer already (it was imported): prune it so the pull really fetches.
	curl -s -o /dev/null --unix-socket "$WORK/s.sock" -X DELETE http://localhost/v1/images/pullsrc
	curl -s -o /dev/null --unix-socket "$WORK/s.sock" -X POST http://localhost/v1/images/prune
	bytes=$(stat -c %s "$WORK/pull.tar.gz")
	for round in 1 2 3; do
		rm -rf "$WORK/skopeo-out"
		t0=$(date +%s%N)
		skopeo copy -q --src-tls-verify=false "docker://127.0.0.1:$port/bench/app:1" "oci:$WORK/skopeo-out:app"
		t1=$(date +%s%N)
		code=$(curl -s -o "$WORK/resp" -w '%{http_code}' --unix-socket "$WORK/s.sock" -X POST \
			-H 'Content-Type: application/json' 'http://localhost/v1/images/pull?wait=600' \
			-d "{\"ref\": \"127.0.0.1:$port/bench/app:1\", \"name\": \"p$round\", \"tls_verify\": false}")
		t2=$(date +%s%N)
		[[ $code == 200 && $(jq -r .status "$WORK/resp") == success ]] || die "pull: $(cat "$WORK/resp")"
		# The push back, each to an empty registry of its own (a registry that has the
		# blob lets skopeo mount it from another repository instead of sending it).
		registry "push-h$round"
		hport=$REG_PORT
		registry "push-s$round"
		sport=$REG_PORT
		t3=$(date +%s%N)
		code=$(curl -s -o "$WORK/resp" -w '%{http_code}' --unix-socket "$WORK/s.sock" -X POST \
			-H 'Content-Type: application/json' "http://localhost/v1/images/p$round:1/push?wait=600" \
			-d "{\"ref\": \"127.0.0.1:$hport/bench/app:1\", \"tls_verify\": false}")
		t4=$(date +%s%N)
		[[ $code == 200 && $(jq -r .status "$WORK/resp") == success ]] || die "push: $(cat "$WORK/resp")"
		skopeo copy -q --dest-tls-verify=false "oci:$WORK/skopeo-out:app" "docker://127.0.0.1:$sport/bench/app:1"
		t5=$(date +%s%N)
		curl -s -o /dev/null --unix-socket "$WORK/s.sock" -X DELETE "http://localhost/v1/images/p$round:1"
		curl -s -o /dev/null --unix-socket "$WORK/s.sock" -X POST http://localhost/v1/images/prune
		echo "pull round $round: $((bytes >> 20)) MiB layer; hostd $(ms "$t1" "$t2") ms (fetch, verify, unpack), skopeo copy $(ms "$t0" "$t1") ms (fetch, verify): hostd throughput / skopeo = $(awk -v a=$((t1 - t0)) -v b=$((t2 - t1)) 'BEGIN {printf "%.2f", a / b}')"
		echo "push round $round: hostd $(ms "$t3" "$t4") ms, skopeo copy $(ms "$t4" "$t5") ms (each to an empty registry): hostd throughput / skopeo = $(awk -v a=$((t5 - t4)) -v b=$((t4 - t3)) 'BEGIN {printf "%.2f", a / b}')"
	done
else
	echo "pull: skipped (docker-registry or skopeo missing)"
fi
