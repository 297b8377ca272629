#!/usr/bin/env bash
# Installs everything hostd needs to build, run and test, from Debian's packages
# only. Idempotent: it installs only what is missing, and runs `apt-get update`
# only when something is.
set -euo pipefail

build=(build-essential cmake pkg-config clang clang-format
       libmicrohttpd-dev libjansson-dev libsqlite3-dev libcurl4-openssl-dev
       libvirt-dev libseccomp-dev zlib1g-dev libzstd-dev libssl-dev libmnl-dev libnftables-dev)
# What hostd runs with: libvirt's QEMU driver (embedded, no libvirtd needed), qemu-img
# for VM overlays, xorriso for cloud-init seed ISOs, dnsmasq for each network's DHCP
# and DNS, busybox-static for benchmarks' host-side reference jobs (the same binary
# the images carry).
runtime=(libvirt-daemon-driver-qemu qemu-system-x86 qemu-utils xorriso dnsmasq-base
         busybox-static)
test=(check libsubunit-dev valgrind curl sqlite3 python3 python3-yaml wrk
      cpio jq qemu-system-x86 gzip zstd openssl skopeo docker-registry libvirt-clients
      nftables iproute2 iperf3)

want=("${build[@]}" "${runtime[@]}")
case "${1:-all}" in
  build) ;;
  all|test) want+=("${test[@]}") ;;
  *) echo "usage: $0 [build|test|all]" >&2; exit 2 ;;
esac

# The OpenAPI check needs node and npm; a machine may already have them from
# outside Debian (they then conflict with Debian's npm), so only add them if absent.
if [ "${1:-all}" != build ] && ! command -v npm >/dev/null 2>&1; then
  want+=(nodejs npm)
fi

# libvirt's QEMU driver refuses to start without its system user, even embedded and
# running qemu as root; libvirt-daemon-system would create it, but also libvirtd and
# its services, which hostd does not need.
libvirt_user() {
  getent passwd libvirt-qemu >/dev/null && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: the libvirt-qemu user is missing; run as root" >&2
    return 1
  fi
  echo "install-deps: creating the libvirt-qemu system user"
  useradd --system --user-group --no-create-home --home-dir /var/lib/libvirt \
    --shell /usr/sbin/nologin libvirt-qemu
}

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#want[@]} packages present"
  libvirt_user
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing ${missing[*]}; run as root" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
libvirt_user
