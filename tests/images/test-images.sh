#!/usr/bin/env bash
# Builds the busybox OCI images and the tiny VM bundle (packaging/images/) and
# checks them for real: OCI digests and diff_ids, the root filesystem runs under
# chroot, builds are byte-for-byte reproducible, the two busybox images share
# their base layer, and the tiny VM boots under QEMU TCG, runs a command, stays
# up when asked and powers off on the ACPI power button.
#
# Builds into a temp dir, or into $HD_IMAGES_DIR when set (the builds are
# idempotent; its .deb cache is reused). A second build goes to a temp dir for
# the reproducibility check.
#
# Exit: 0 pass, 1 fail, 77 skipped (not root, or a tool or apt's lists missing).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
pk=$repo/packaging/images
boot_timeout=${HD_BOOT_TIMEOUT:-60}

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok - $*"; }

[ "$(id -u)" -eq 0 ] || skip "needs root (chroot into the image, mknod in the initrd)"
for t in jq qemu-system-x86_64 cpio dpkg-deb apt-get gzip tar sha256sum chroot mkfifo; do
  command -v "$t" >/dev/null 2>&1 || skip "$t not found (packaging/images/deps.txt)"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hd-test-images.XXXXXX")
qpid=
cleanup() {
  local rc=$?
  if [ -n "$qpid" ] && kill -0 "$qpid" 2>/dev/null; then
    kill "$qpid" 2>/dev/null || true
    wait "$qpid" 2>/dev/null || true
  fi
  exec 7>&- 8>&-
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

a=${HD_IMAGES_DIR:-$tmp/a}
b=$tmp/b
export HD_DEB_CACHE=${HD_DEB_CACHE:-$a/.debs}
if ! ls "$HD_DEB_CACHE"/busybox-static_*.deb >/dev/null 2>&1 &&
   ! apt-cache show --no-all-versions busybox-static >/dev/null 2>&1; then
  skip "apt knows no busybox-static and no .deb is cached (run apt-get update)"
fi

# ---- build twice -------------------------------------------------------------
for d in "$a" "$b"; do
  "$pk/build-busybox-oci.sh" "$d" >/dev/null || fail "build-busybox-oci.sh $d"
  "$pk/build-tiny-vm.sh" "$d" >/dev/null || fail "build-tiny-vm.sh $d"
done
outputs=(busybox.oci.tar busybox-extra.oci.tar busybox-rootfs.tar.gz tiny-vm.tar)
for f in "${outputs[@]}"; do
  [ -s "$a/$f" ] || fail "no $a/$f"
  cmp -s "$a/$f" "$b/$f" || fail "$f differs between two builds (not reproducible)"
  echo "   $f: $(stat -c %s "$a/$f") bytes"
done
ok "built; two builds are byte-for-byte identical"

# ---- OCI images ----------------------------------------------------------------
sha() { sha256sum "$1" | cut -d' ' -f1; }

# blob DIR DESCRIPTOR-JSON MEDIATYPE: check a descriptor against its blob; print the path.
blob() {
  local dir=$1 desc=$2 mt=$3 digest size path
  digest=$(jq -r .digest <<<"$desc")
  size=$(jq -r .size <<<"$desc")
  [ "$(jq -r .mediaType <<<"$desc")" = "$mt" ] || fail "descriptor $digest: mediaType is not $mt"
  [[ $digest =~ ^sha256:[0-9a-f]{64}$ ]] || fail "bad digest $digest"
  path=$dir/blobs/sha256/${digest#sha256:}
  [ -f "$path" ] || fail "blob $digest missing"
  [ "sha256:$(sha "$path")" = "$digest" ] || fail "blob $digest: sha256sum differs"
  [ "$(stat -c %s "$path")" = "$size" ] || fail "blob $digest: size is not $size"
  printf '%s\n' "$path"
}

# check_oci TAR DIR TITLE: unpack and verify an OCI archive; leaves DIR/manifest.json
check_oci() {
  local tar=$1 dir=$2 title=$3 f m c n i l
  mkdir -p "$dir"
  tar -xf "$tar" -C "$dir"
  [ "$(jq -r .imageLayoutVersion "$dir/oci-layout")" = 1.0.0 ] || fail "$tar: oci-layout"
  for f in "$dir"/blobs/sha256/*; do
    [ "$(sha "$f")" = "${f##*/}" ] || fail "$tar: blob ${f##*/} is not named by its sha256"
  done
  jq -e '.schemaVersion == 2 and (.manifests | length) == 1 and
         .manifests[0].annotations["org.opencontainers.image.ref.name"] == "latest"' \
    "$dir/index.json" >/dev/null || fail "$tar: index.json"
  m=$(blob "$dir" "$(jq -c '.manifests[0]' "$dir/index.json")" application/vnd.oci.image.manifest.v1+json)
  jq -e '.schemaVersion == 2 and .mediaType == "application/vnd.oci.image.manifest.v1+json"' \
    "$m" >/dev/null || fail "$tar: manifest"
  c=$(blob "$dir" "$(jq -c .config "$m")" application/vnd.oci.image.config.v1+json)
  jq -e --arg t "$title" '.architecture == "amd64" and .os == "linux" and
         .config.Cmd == ["sh"] and .config.WorkingDir == "/" and
         (.config.Env | any(startswith("PATH="))) and
         .config.Labels["org.opencontainers.image.title"] == $t and
         .rootfs.type == "layers"' "$c" >/dev/null || fail "$tar: image config"
  n=$(jq '.layers | length' "$m")
  [ "$n" = "$(jq '.rootfs.diff_ids | length' "$c")" ] || fail "$tar: layers and diff_ids differ in number"
  for ((i = 0; i < n; i++)); do
    l=$(blob "$dir" "$(jq -c ".layers[$i]" "$m")" application/vnd.oci.image.layer.v1.tar+gzip)
    [ "sha256:$(gzip -dc "$l" | sha256sum | cut -d' ' -f1)" = "$(jq -r ".rootfs.diff_ids[$i]" "$c")" ] ||
      fail "$tar: layer $i: diff_id is not the sha256 of the uncompressed layer"
  done
  cp "$m" "$dir/manifest.json"
  if command -v skopeo >/dev/null 2>&1; then
    skopeo inspect --raw "oci-archive:$tar:latest" | cmp -s - "$m" ||
      fail "$tar: skopeo reads a different manifest"
  fi
}

check_oci "$a/busybox.oci.tar" "$tmp/oci" busybox
check_oci "$a/busybox-extra.oci.tar" "$tmp/oci-extra" busybox-extra
command -v skopeo >/dev/null 2>&1 && skopeo_note=", skopeo reads both" || skopeo_note=" (no skopeo)"
ok "OCI index -> manifest -> config -> layers: digests, sizes and diff_ids match$skopeo_note"

base=$(jq -r '.layers[0].digest' "$tmp/oci/manifest.json")
[ "$(jq '.layers | length' "$tmp/oci/manifest.json")" = 1 ] || fail "busybox image has not exactly one layer"
[ "$(jq '.layers | length' "$tmp/oci-extra/manifest.json")" = 2 ] || fail "busybox-extra has not two layers"
[ "$(jq -r '.layers[0].digest' "$tmp/oci-extra/manifest.json")" = "$base" ] ||
  fail "busybox-extra does not share the base layer"
extra=$(jq -r '.layers[1].digest' "$tmp/oci-extra/manifest.json")
[ "$(tar -tzf "$tmp/oci-extra/blobs/sha256/${extra#sha256:}" | grep -v '/$')" = etc/hostd-extra ] ||
  fail "the extra layer is not just etc/hostd-extra"
cmp -s "$a/busybox-rootfs.tar.gz" "$tmp/oci/blobs/sha256/${base#sha256:}" ||
  fail "busybox-rootfs.tar.gz is not the base layer"
ok "busybox and busybox-extra share base layer $base; extra adds only /etc/hostd-extra"

# ---- the root filesystem -----------------------------------------------------
r=$tmp/rootfs
mkdir -p "$r"
tar -xzpf "$a/busybox-rootfs.tar.gz" -C "$r" --numeric-owner
{ [ -L "$r/bin/sh" ] && [ -x "$r/bin/sh" ]; } || fail "rootfs: /bin/sh is not an executable symlink"
[ -x "$r/bin/busybox" ] || fail "rootfs: no executable /bin/busybox"
[ "$(stat -c %a "$r/tmp")" = 1777 ] || fail "rootfs: /tmp is not 1777"
for d in proc sys dev etc root home; do [ -d "$r/$d" ] || fail "rootfs: no /$d"; done
for d in proc sys dev root home; do
  [ -z "$(ls -A "$r/$d")" ] || fail "rootfs: /$d is not empty"
done
for u in root nobody; do
  grep -q "^$u:" "$r/etc/passwd" || fail "rootfs: no $u in /etc/passwd"
  grep -q "^$u:" "$r/etc/group" || fail "rootfs: no $u in /etc/group"
done
[ -z "$(find "$r" ! -uid 0 -o ! -gid 0)" ] || fail "rootfs: files not owned by 0:0"
[ "$(chroot "$r" /bin/sh -c 'echo ok')" = ok ] || fail "rootfs: chroot sh -c 'echo ok'"
[ "$(chroot "$r" /usr/bin/env PATH=/usr/bin:/bin sh -c 'cd /tmp && pwd && id -un')" = "$(printf '/tmp\nroot')" ] ||
  fail "rootfs: env/pwd/id in chroot"
napplets=0
while read -r app; do
  case $app in busybox|linuxrc) continue ;; esac
  for d in bin sbin usr/bin usr/sbin ""; do
    [ -n "$d" ] || fail "rootfs: no symlink for applet $app"
    [ -L "$r/$d/$app" ] && break
  done
  napplets=$((napplets + 1))
done < <(chroot "$r" /bin/busybox --list)
ok "rootfs: /bin/sh runs under chroot, $napplets applets, /tmp 1777, root and nobody"

# ---- the kernel bundle ---------------------------------------------------------
v=$tmp/vm
mkdir -p "$v"
[ "$(tar -tf "$a/tiny-vm.tar" | LC_ALL=C sort | tr '\n' ' ')" = "cmdline initrd vmlinuz " ] ||
  fail "tiny-vm.tar does not hold exactly cmdline, initrd, vmlinuz"
tar -xf "$a/tiny-vm.tar" -C "$v"
[ "$(dd if="$v/vmlinuz" bs=1 skip=514 count=4 2>/dev/null)" = HdrS ] || fail "vmlinuz is not a bzImage"
gzip -t "$v/initrd" || fail "initrd is not gzip"
list=$(gzip -dc "$v/initrd" | cpio -t --quiet)
for f in init bin/busybox bin/sh dev/console etc/hostd-modules; do
  grep -qx "$f" <<<"$list" || fail "initrd has no $f"
done
grep -q 'console=ttyS0' "$v/cmdline" || fail "cmdline has no console=ttyS0"
ok "tiny-vm.tar: vmlinuz (bzImage), initrd ($(grep -c '\.ko$' <<<"$list") modules), cmdline '$(cat "$v/cmdline")'"

# ---- boot it ---------------------------------------------------------------------
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# wait_for LOG REGEX SECONDS: until REGEX is in LOG; fails if QEMU dies first.
wait_for() {
  local log=$1 re=$2 end=$(($(now_ms) + $3 * 1000))
  while ! grep -aqE "$re" "$log" 2>/dev/null; do
    kill -0 "$qpid" 2>/dev/null || { grep -aqE "$re" "$log" && return 0
                                      fail "QEMU exited before /$re/; console: $(tail -c 2000 "$log")"; }
    [ "$(now_ms)" -lt "$end" ] || fail "no /$re/ after $3 s; console: $(tail -c 2000 "$log")"
    sleep 0.05
  done
}

# wait_exit SECONDS: until QEMU exits by itself; its exit status goes to $qrc.
wait_exit() {
  local end=$(($(now_ms) + $1 * 1000))
  while kill -0 "$qpid" 2>/dev/null; do
    [ "$(now_ms)" -lt "$end" ] || fail "QEMU did not exit by itself within $1 s"
    sleep 0.05
  done
  qrc=0
  wait "$qpid" || qrc=$?
  qpid=
}

# Boot 1: run a command, power off.
log=$tmp/console1.log
append="$(cat "$v/cmdline") hostd.poweroff=1 hostd.cmd=$(echo 'echo hello-from-guest' | base64 -w0)"
t0=$(now_ms)
qemu-system-x86_64 -machine q35,accel=tcg -m 256 -nographic -no-reboot \
  -kernel "$v/vmlinuz" -initrd "$v/initrd" -append "$append" </dev/null >"$log" 2>&1 &
qpid=$!
wait_for "$log" 'HOSTD-READY uptime=[0-9]+\.[0-9]+' "$boot_timeout"
t_ready=$(($(now_ms) - t0))
wait_for "$log" 'HOSTD-CMD-EXIT [0-9]+' "$boot_timeout"
wait_exit "$boot_timeout"
t_exit=$(($(now_ms) - t0))
[ "$qrc" = 0 ] || fail "QEMU exited with $qrc"
grep -aq '^hello-from-guest' "$log" || fail "no hello-from-guest on the console"
grep -aq 'HOSTD-CMD-EXIT 0' "$log" || fail "command exit status is not 0: $(grep -a HOSTD-CMD-EXIT "$log")"
uptime=$(grep -aoE 'HOSTD-READY uptime=[0-9.]+' "$log" | head -n1 | cut -d= -f2)
ok "VM boot (TCG): HOSTD-READY after $((t_ready / 1000)).$(printf %03d $((t_ready % 1000))) s wall (guest uptime ${uptime} s), hello-from-guest, HOSTD-CMD-EXIT 0, powered off after $((t_exit / 1000)).$(printf %03d $((t_exit % 1000))) s"

# Boot 2: virtio disk and net, a failing command, stays up, ACPI power button.
log=$tmp/console2.log
truncate -s 16M "$tmp/disk.img"
mkfifo "$tmp/mon.in" "$tmp/mon.out"
exec 7<>"$tmp/mon.out" 8<>"$tmp/mon.in"   # read-write: neither side blocks on open
cmd='test -b /dev/vda && test -e /sys/class/net/eth0 && echo virtio-ok; exit 3'
append="$(cat "$v/cmdline") hostd.cmd=$(printf '%s' "$cmd" | base64 -w0)"
qemu-system-x86_64 -machine q35,accel=tcg -m 256 -nographic -no-reboot \
  -drive "file=$tmp/disk.img,if=virtio,format=raw" -nic user,model=virtio-net-pci \
  -monitor "pipe:$tmp/mon" \
  -kernel "$v/vmlinuz" -initrd "$v/initrd" -append "$append" </dev/null >"$log" 2>&1 &
qpid=$!
wait_for "$log" 'HOSTD-CMD-EXIT [0-9]+' "$boot_timeout"
grep -aq '^virtio-ok' "$log" || fail "no /dev/vda or eth0 in the guest: $(tail -c 2000 "$log")"
grep -aq 'HOSTD-CMD-EXIT 3' "$log" || fail "exit status 3 not reported: $(grep -a HOSTD-CMD-EXIT "$log")"
sleep 2
kill -0 "$qpid" 2>/dev/null || fail "the VM did not stay up without hostd.poweroff=1"
echo system_powerdown >&8
t0=$(now_ms)
wait_for "$log" 'HOSTD-POWEROFF' 30
wait_exit 30
t_off=$(($(now_ms) - t0))
[ "$qrc" = 0 ] || fail "QEMU exited with $qrc after the power button"
exec 7>&- 8>&-
ok "VM: virtio disk and net present, HOSTD-CMD-EXIT 3, stays up, ACPI power button -> off in $((t_off / 1000)).$(printf %03d $((t_off % 1000))) s"

echo "PASS"
