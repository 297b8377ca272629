#!/bin/sh
# /init of hostd's tiny VM (busybox-static initramfs on Debian's cloud kernel).
#
# Kernel command line:
#   hostd.cmd=<base64>   run this shell command after boot; print HOSTD-CMD-EXIT <code>
#   hostd.poweroff=1     power off after that (else stay up until ACPI power button)
#   hostd.shell=1        stay up with a shell on the console instead of sleeping
#   hostd.agent=1        answer as a (minimal) QEMU guest agent on its virtio port, and
#                        say HOSTD-AGENT instead of HOSTD-READY: ready is the agent's word
#   ip=CLIENT::GW:NETMASK:HOSTNAME:DEV:off[:DNS0[:DNS1]]
#                        the kernel's static IP argument (nfsroot.rst; this kernel has no
#                        IP_PNP, so init applies it): address CLIENT/NETMASK on DEV
#                        (default eth0), link up, default route via GW, HOSTNAME, and
#                        /etc/resolv.conf naming DNS0 DNS1 (default: GW, where hostd's
#                        dnsmasq listens). ip=dhcp asks DHCP; ip=off or ip=none: nothing.
#                        Without ip=, an eth0 asks DHCP (udhcpc, 5 tries 1 s apart).
#
# Console protocol (one line each, on the serial console):
#   HOSTD-READY uptime=<seconds>   init is up (modules loaded, /proc /sys /dev mounted,
#                                  the network configured: ready means reachable)
#   HOSTD-AGENT uptime=<seconds>   the same, with hostd.agent=1 (the agent runs)
#   HOSTD-CMD-EXIT <code>          hostd.cmd finished with <code>
#   HOSTD-POWEROFF                 powering off (asked, or ACPI power button)
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
umask 022

mount -t proc -o nosuid,nodev,noexec proc /proc
mount -t sysfs -o nosuid,nodev,noexec sysfs /sys
mount -t devtmpfs -o nosuid,mode=0755 devtmpfs /dev
[ -c /dev/console ] && exec </dev/console >/dev/console 2>&1
mkdir -p /dev/pts /dev/shm
mount -t devpts -o nosuid,noexec devpts /dev/pts
mount -t tmpfs -o nosuid,nodev tmpfs /run

while read -r m; do
  insmod "/lib/modules/$m" || echo "hostd-init: insmod $m failed"
done < /etc/hostd-modules

hostname hostd-vm
ip link set lo up 2>/dev/null
# ACPI power button (virsh shutdown, QEMU system_powerdown) -> clean poweroff.
ls /dev/input/event* >/dev/null 2>&1 && acpid -c /etc/acpi -l /dev/null

set -f
cmd='' off='' shell='' agent='' ipconf=''
# shellcheck disable=SC2013  # words, not lines
for arg in $(cat /proc/cmdline); do
  case $arg in
    hostd.cmd=*) cmd=${arg#hostd.cmd=} ;;
    hostd.poweroff=1) off=1 ;;
    hostd.shell=1) shell=1 ;;
    hostd.agent=1) agent=1 ;;
    ip=*) ipconf=${arg#ip=} ;;   # the last one wins, as with the kernel's
  esac
done
set +f

# ---- the network: configured before the marker ------------------------------

# Waits up to 1 s for a network device: virtio_net probes as it loads, but a slow
# probe must not turn into "no network".
net_dev_wait() {
  n=0
  while [ ! -e "/sys/class/net/$1" ] && [ "$n" -lt 20 ]; do
    sleep 0.05
    n=$((n + 1))
  done
  [ -e "/sys/class/net/$1" ]
}

net_dhcp() {
  net_dev_wait "$1" || { echo "hostd-init: no network device $1"; return 1; }
  # -n -q: one lease and done (dnsmasq's leases for hostd are static, so nothing
  # renews); -O mtu: the network's MTU comes as an option.
  udhcpc -i "$1" -n -q -t 5 -T 1 -O mtu -s /etc/udhcpc/default.script ||
    echo "hostd-init: no DHCP lease on $1"
}

# ip=CLIENT:SERVER:GW:NETMASK:HOSTNAME:DEV:AUTOCONF:DNS0:DNS1
net_static() {
  set -f
  old_ifs=$IFS
  IFS=:
  # shellcheck disable=SC2086  # split on the colons
  set -- $1
  IFS=$old_ifs
  set +f
  client=${1:-} gw=${3:-} mask=${4:-} host=${5:-} dev=${6:-eth0} auto=${7:-}
  dns="${8:-} ${9:-}"
  case $auto in
    ''|off|none) ;;
    *) net_dhcp "$dev"; return ;;
  esac
  if [ -z "$client" ]; then
    echo "hostd-init: ip= has no address"
    return 1
  fi
  net_dev_wait "$dev" || { echo "hostd-init: no network device $dev"; return 1; }
  # ipcalc: the prefix of NETMASK, or of CLIENT's class when there is none.
  prefix=$(ipcalc -s -p "$client" ${mask:+"$mask"}) || prefix=''
  prefix=${prefix#PREFIX=}
  [ -n "$host" ] && hostname "$host"
  if ! ip link set "$dev" up || ! ip addr add "$client/${prefix:-24}" dev "$dev"; then
    echo "hostd-init: cannot configure $dev as $client/${prefix:-24}"
    return 1
  fi
  if [ -n "$gw" ]; then
    ip route add default via "$gw" dev "$dev" || echo "hostd-init: no default route via $gw"
  fi
  [ "$dns" = ' ' ] && dns=$gw
  : > /etc/resolv.conf
  for d in $dns; do echo "nameserver $d" >> /etc/resolv.conf; done
  echo "hostd-init: $dev $client/${prefix:-24}${gw:+ via $gw}"
}

case $ipconf in
  off|none) ;;
  dhcp|on|any|bootp|both) net_dhcp eth0 ;;
  '') [ -e /sys/class/net/eth0 ] && net_dhcp eth0 ;;
  *) net_static "$ipconf" ;;
esac

# Just enough of the QEMU guest agent's protocol for libvirt: guest-sync(-delimited)
# echoes its id, guest-ping answers {}, anything else is CommandNotFound.
guest_agent() {
  port=''
  for p in /sys/class/virtio-ports/*; do
    [ "$(cat "$p/name" 2>/dev/null)" = org.qemu.guest_agent.0 ] && port=/dev/${p##*/}
  done
  if [ -z "$port" ]; then
    echo "hostd-init: no org.qemu.guest_agent.0 port"
    return 1
  fi
  exec 3<>"$port"
  # A read gives EOF while no one is at the host's end: keep the port open, read again.
  while :; do
    while IFS= read -r line <&3; do
      id=$(printf '%s' "$line" | sed -n 's/.*"id"[^0-9]*\([0-9][0-9]*\).*/\1/p')
      case $line in
        *guest-sync-delimited*) printf '\377{"return": %s}\n' "${id:-0}" >&3 ;;
        *guest-sync*) printf '{"return": %s}\n' "${id:-0}" >&3 ;;
        *guest-ping*) printf '{"return": {}}\n' >&3 ;;
        *execute*) printf '{"error": {"class": "CommandNotFound", "desc": "tiny agent"}}\n' >&3 ;;
      esac
    done
    sleep 0.2
  done
}

read -r up _ < /proc/uptime
if [ -n "$agent" ]; then
  guest_agent &
  printf '\nHOSTD-AGENT uptime=%s\n' "$up"
else
  printf '\nHOSTD-READY uptime=%s\n' "$up"   # own line, whatever the firmware left
fi

if [ -n "$cmd" ]; then
  if printf '%s' "$cmd" | base64 -d > /run/hostd-cmd 2>/dev/null; then
    (cd / && exec sh /run/hostd-cmd) </dev/null
    rc=$?
  else
    echo "hostd-init: hostd.cmd is not valid base64"
    rc=127
  fi
  echo "HOSTD-CMD-EXIT $rc"
fi

if [ -n "$off" ]; then
  echo HOSTD-POWEROFF
  poweroff -f
  exit 1   # if poweroff failed: init exits, the kernel panics, panic= reboots
fi

if [ -n "$shell" ]; then
  while :; do setsid cttyhack sh -l; done
fi
while :; do sleep 3600; done
