#!/usr/bin/env bash
# Builds hostd's tiny bootable VM image from Debian's packages only. Writes
# OUTDIR/tiny-vm.tar (default OUTDIR: <repo>/build/images), a kernel bundle:
#
#   vmlinuz   Debian's linux-image-*-cloud-amd64 kernel
#   initrd    gzip'd newc cpio: busybox-static, /init (tiny-vm-init.sh), udhcpc's
#             script (tiny-vm-udhcpc.sh), and the virtio/ACPI-button modules this
#             kernel builds as modules
#   cmdline   the kernel command line to boot it with
#
# Boot it: qemu-system-x86_64 -machine q35,accel=tcg -m 256 -nographic -no-reboot \
#   -kernel vmlinuz -initrd initrd -append "$(cat cmdline) hostd.poweroff=1"
# The guest's protocol (HOSTD-READY, hostd.cmd=, ...) is described in
# tiny-vm-init.sh.
#
# Byte-for-byte reproducible: every mtime is SOURCE_DATE_EPOCH (default: the
# kernel's mtime inside its .deb), names are sorted, owners are 0:0.
#
# Environment: HD_DEB_CACHE    where downloaded .debs are kept (default OUTDIR/.debs)
#              HD_KERNEL_DEB   use this linux-image-*-cloud-amd64 .deb
#              HD_BUSYBOX_DEB  use this busybox-static .deb
#              HD_VM_MODULES   modules to put in the initrd when the kernel has
#                              them as modules (default below); dependencies follow
#              HD_VM_CMDLINE   the cmdline file's content
#
# usage: build-tiny-vm.sh [OUTDIR]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"

case ${1:-} in
  -h|--help) sed -n '2,/^set -e/{/^set -e/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
esac
[ $# -le 1 ] || hd_die "usage: $0 [OUTDIR]"

modules=${HD_VM_MODULES:-virtio_pci virtio_blk virtio_net virtio_console virtio_rng button evdev}
cmdline=${HD_VM_CMDLINE:-console=ttyS0 quiet panic=-1}

out=$(hd_outdir "${1:-}")
cache=${HD_DEB_CACHE:-$out/.debs}
if [ -z "${HD_KERNEL_DEB:-}" ]; then
  # The meta package depends on exactly one versioned image package.
  kpkg=$(apt-cache show --no-all-versions linux-image-cloud-amd64 2>/dev/null |
         sed -n 's/^Depends:.*\(linux-image-[^ ,]*-cloud-amd64\).*/\1/p' | head -n1) || true
  [ -n "$kpkg" ] || hd_die "apt knows no linux-image-cloud-amd64 (run apt-get update?)"
  HD_KERNEL_DEB=$(hd_fetch_deb "$kpkg" "$cache")
fi
bbdeb=${HD_BUSYBOX_DEB:-$(hd_fetch_deb busybox-static "$cache")}
for f in "$HD_KERNEL_DEB" "$bbdeb"; do [ -s "$f" ] || hd_die "no such .deb: $f"; done

work=$(mktemp -d "${TMPDIR:-/tmp}/hd-tinyvm.XXXXXX")
trap 'rm -rf "$work"' EXIT
umask 022

# ---- the kernel ------------------------------------------------------------
k=$work/kernel
mkdir -p "$k"
dpkg-deb --fsys-tarfile "$HD_KERNEL_DEB" |
  tar -x -C "$k" --wildcards './boot/vmlinuz-*' './boot/config-*' './lib/modules/*'
vmlinuz=$(find "$k/boot" -name 'vmlinuz-*' | head -n1) || true
[ -n "$vmlinuz" ] || hd_die "$HD_KERNEL_DEB has no boot/vmlinuz-*"
kver=${vmlinuz##*/vmlinuz-}
config=$k/boot/config-$kver
mdir=$k/lib/modules/$kver
epoch=${SOURCE_DATE_EPOCH:-$(stat -c %Y "$vmlinuz")}

# ---- modules ---------------------------------------------------------------
# Index the kernel's modules by name (file name, '-' read as '_').
declare -A kofile=() seen=()
while read -r rel; do
  n=${rel##*/}; n=${n%.ko*}; kofile[${n//-/_}]=$rel
done < <(cd "$mdir" && find kernel -name '*.ko*' | LC_ALL=C sort)
builtin() { grep -q "/$1\.ko\$" "$mdir/modules.builtin" 2>/dev/null ||
            grep -q "/${1//_/-}\.ko\$" "$mdir/modules.builtin" 2>/dev/null; }
modinfo_depends() {  # the depends= field of a module's .modinfo section
  local f=$mdir/${kofile[$1]}
  case $f in
    *.ko) tr '\0' '\n' < "$f" ;;
    *.ko.xz) xz -dc "$f" | tr '\0' '\n' ;;
    *.ko.zst) zstd -dcq "$f" | tr '\0' '\n' ;;
    *) hd_die "cannot read $f" ;;
  esac | sed -n 's/^depends=//p' | head -n1 | tr ',' ' '
}
order=()
add_module() {  # depth first: dependencies before the module
  local m=${1//-/_} d
  [ -z "${seen[$m]:-}" ] || return 0
  seen[$m]=1
  if [ -z "${kofile[$m]:-}" ]; then
    builtin "$m" || hd_log "warning: $kver has no module $m, and it is not built in"
    return 0
  fi
  for d in $(modinfo_depends "$m"); do add_module "$d"; done
  order+=("${kofile[$m]}")
}
for m in $modules; do add_module "$m"; done
for opt in VIRTIO_BLK VIRTIO_NET VIRTIO_PCI; do
  hd_log "$kver: CONFIG_$opt=$(sed -n "s/^CONFIG_$opt=//p" "$config")"
done

# ---- the initramfs ---------------------------------------------------------
i=$work/initrd
mkdir -p "$i"/{bin,sbin,usr/bin,usr/sbin,etc/acpi/PWRF,proc,sys,dev,run,tmp,root}
dpkg-deb --fsys-tarfile "$bbdeb" | tar -x -C "$work" ./bin/busybox
install -m 0755 "$work/bin/busybox" "$i/bin/busybox"
while read -r path; do
  case $path in linuxrc|bin/busybox|'') continue ;; esac
  # One absolute symlink per applet (the initramfs is always /).
  [ -e "$i/$path" ] || [ -L "$i/$path" ] || ln -s /bin/busybox "$i/$path"
done < <("$i/bin/busybox" --list-full | LC_ALL=C sort)
install -m 0755 "$here/tiny-vm-init.sh" "$i/init"
install -D -m 0755 "$here/tiny-vm-udhcpc.sh" "$i/etc/udhcpc/default.script"
printf '#!/bin/sh\necho HOSTD-POWEROFF >/dev/console\nexec poweroff -f\n' > "$i/etc/acpi/PWRF/00000080"
chmod 0755 "$i/etc/acpi/PWRF/00000080"
: > "$i/etc/hostd-modules"
for rel in ${order[@]+"${order[@]}"}; do
  install -D -m 0644 "$mdir/$rel" "$i/lib/modules/$kver/$rel"
  printf '%s\n' "$kver/$rel" >> "$i/etc/hostd-modules"
done
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$i/etc/passwd"
printf 'root:x:0:\n' > "$i/etc/group"
chmod 1777 "$i/tmp"
chmod 0700 "$i/root"

# The kernel opens /dev/console for init before devtmpfs is mounted, so the
# archive needs the node: made as root, or under fakeroot. Without either,
# /init still redirects to /dev/console once devtmpfs is up.
# shellcheck disable=SC2016  # expands in the sh -c below
pack='cd "$1" && { [ "$(id -u)" -ne 0 ] || mknod -m 0600 dev/console c 5 1; } &&
  find . -mindepth 1 -printf "%P\n" | LC_ALL=C sort > "$3.list" &&
  xargs -d "\n" touch -h -d "@$2" < "$3.list" &&
  cpio --quiet -o -H newc -R 0:0 --reproducible < "$3.list" > "$3"'
if [ "$(id -u)" -eq 0 ]; then
  sh -c "$pack" pack "$i" "$epoch" "$work/initrd.cpio"
elif command -v fakeroot >/dev/null 2>&1; then
  fakeroot sh -c "$pack" pack "$i" "$epoch" "$work/initrd.cpio"
else
  hd_log "warning: not root and no fakeroot: the initrd has no /dev/console node"
  sh -c "$pack" pack "$i" "$epoch" "$work/initrd.cpio"
fi

# ---- the bundle ------------------------------------------------------------
b=$work/bundle
mkdir -p "$b"
install -m 0644 "$vmlinuz" "$b/vmlinuz"
gzip -n -9 < "$work/initrd.cpio" > "$b/initrd"
chmod 0644 "$b/initrd"
printf '%s' "$cmdline" > "$b/cmdline"   # one line, no newline
chmod 0644 "$b/cmdline"
hd_tar "$epoch" "$b" "$work/tiny-vm.tar"
chmod 0644 "$work/tiny-vm.tar"
mv -f "$work/tiny-vm.tar" "$out/tiny-vm.tar"
echo "$out/tiny-vm.tar  kernel $kver, initrd $(hd_size "$b/initrd") bytes, modules: ${#order[@]}"
