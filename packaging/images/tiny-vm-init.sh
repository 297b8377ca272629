#!/bin/sh
# /init of hostd's tiny VM (busybox-static initramfs on Debian's cloud kernel).
#
# Kernel command line:
#   hostd.cmd=<base64>   run this shell command after boot; print HOSTD-CMD-EXIT <code>
#   hostd.poweroff=1     power off after that (else stay up until ACPI power button)
#   hostd.shell=1        stay up with a shell on the console instead of sleeping
#   hostd.agent=1        answer as a (minimal) QEMU guest agent on its virtio port
#                        (guest-sync, guest-ping, guest-exec, guest-exec-status), and
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

# ---- the guest agent: just enough of QEMU's for libvirt and hostd ---------------
# guest-sync(-delimited) echoes its id, guest-ping answers {}, guest-exec runs a
# command in the background (stdin from input-data, stdout and stderr kept in files)
# and answers its pid, guest-exec-status answers exited false, or once it ended its
# exitcode (a signal shows as 128+N, the shell's way) with out-data and err-data
# (base64, each cut at QGA_OUT_MAX: libvirt refuses a reply past 10 MiB, and then
# drops the agent). Anything else is CommandNotFound.

QGA_DIR=/run/qga          # j<n>: one command's files; p<pid>: a link to them
QGA_OUT_MAX=3145728

# A command (one line of JSON) as assignments for eval: execute, id, pid, input=1 when
# it has input-data (written to the file in64, still base64), argv (path and arg quoted
# for sh, after `env -i` and the env strings when env is given), or bad=1. Strings are
# unescaped (\uXXXX as UTF-8); any JSON object parses, only those members are read. A
# value is quoted as sh needs: '...', each ' inside written '\'' (q holds the quote:
# none may appear in here). What may be large goes through files: ash takes a long
# time, and much memory, over a large $(...).
# shellcheck disable=SC2016  # an awk program
QGA_AWK='
function ws() { while (substr(s, p, 1) ~ /^[ \t\r\n]$/) p++ }
function hexval(h,   i, c, v) {
  v = 0
  for (i = 1; i <= 4; i++) {
    c = index("0123456789abcdef", tolower(substr(h, i, 1)))
    if (!c) { bad = 1; return 0 }
    v = v * 16 + c - 1
  }
  return v
}
function utf8(c) {
  if (c == 0) return ""
  if (c < 128) return sprintf("%c", c)
  if (c < 2048) return sprintf("%c%c", 192 + int(c / 64), 128 + c % 64)
  return sprintf("%c%c%c", 224 + int(c / 4096), 128 + int(c / 64) % 64, 128 + c % 64)
}
function str(   out, c) {
  p++
  out = ""
  for (;;) {
    if (match(substr(s, p), /^[^"\\]+/)) { out = out substr(s, p, RLENGTH); p += RLENGTH }
    c = substr(s, p, 1)
    if (c == "\"") { p++; return out }
    if (c != "\\") { bad = 1; return out }
    c = substr(s, p + 1, 1)
    p += 2
    if (c == "n") out = out "\n"
    else if (c == "t") out = out "\t"
    else if (c == "r") out = out "\r"
    else if (c == "b") out = out "\b"
    else if (c == "f") out = out "\f"
    else if (c == "u") { out = out utf8(hexval(substr(s, p, 4))); p += 4 }
    else if (c == "\"" || c == "\\" || c == "/") out = out c
    else { bad = 1; return out }
  }
}
function value(path,   c, k, i) {
  ws()
  c = substr(s, p, 1)
  if (c == "{") {
    p++
    ws()
    if (substr(s, p, 1) == "}") { p++; return }
    for (;;) {
      ws()
      if (substr(s, p, 1) != "\"") { bad = 1; return }
      k = str()
      ws()
      if (bad || substr(s, p, 1) != ":") { bad = 1; return }
      p++
      value(path == "" ? k : (path "." k))
      ws()
      c = substr(s, p, 1)
      p++
      if (bad || c == "}") return
      if (c != ",") { bad = 1; return }
    }
  }
  if (c == "[") {
    p++
    ws()
    i = 0
    if (substr(s, p, 1) == "]") { p++; V[path "#"] = 0; return }
    for (;;) {
      value(path "." i)
      i++
      ws()
      c = substr(s, p, 1)
      p++
      if (bad) return
      if (c == "]") { V[path "#"] = i; return }
      if (c != ",") { bad = 1; return }
    }
  }
  if (c == "\"") { V[path] = str(); return }
  if (match(substr(s, p), /^[-+.0-9a-zA-Z]+/)) { V[path] = substr(s, p, RLENGTH); p += RLENGTH; return }
  bad = 1
}
function quote(v,   n, i, part, out) {
  n = split(v, part, q)
  out = q part[1]
  for (i = 2; i <= n; i++) out = out q "\\" q q part[i]
  return out q
}
{ s = s $0 }
END {
  p = 1
  value("")
  ws()
  if (bad || p <= length(s)) { print "bad=1"; exit }
  cmd = ""
  if (("arguments.env#") in V) {
    cmd = "env -i"
    for (i = 0; i < V["arguments.env#"]; i++) cmd = cmd " " quote(V["arguments.env." i])
  }
  cmd = cmd " " quote(V["arguments.path"])
  for (i = 0; i < V["arguments.arg#"]; i++) cmd = cmd " " quote(V["arguments.arg." i])
  print "execute=" quote(V["execute"])
  print "id=" quote(V["arguments.id"])
  print "pid=" quote(V["arguments.pid"])
  if (("arguments.input-data") in V) {
    printf "%s", V["arguments.input-data"] > in64
    close(in64)
    print "input=1"
  }
  print "argv=" quote(cmd)
}'

qga_error() {  # class, desc (no quotes or backslashes in either)
  printf '{"error": {"class": "%s", "desc": "%s"}}\n' "$1" "$2" >&3
}

# guest-exec: the command runs in a subshell that keeps its status; its pid (the
# command's own: sh execs it) names it for guest-exec-status and for kill.
qga_exec() {
  qga_n=$((qga_n + 1))
  j=$QGA_DIR/j$qga_n
  rm -rf "$j"
  mkdir -p "$j" || { qga_error GenericError "cannot make $j"; return; }
  printf 'exec %s\n' "$argv" > "$j/cmd"
  in=/dev/null
  if [ -n "$input" ]; then
    in=$j/in
    if ! base64 -d < "$QGA_DIR/in.b64" > "$in" 2>/dev/null; then
      rm -rf "$j" "$QGA_DIR/in.b64"
      qga_error InvalidParameterValue "input-data is not base64"
      return
    fi
    rm -f "$QGA_DIR/in.b64"
  fi
  (
    sh "$j/cmd" < "$in" > "$j/out" 2> "$j/err" &
    echo $! > "$j/pid.new" && mv "$j/pid.new" "$j/pid"
    wait $!
    echo $? > "$j/rc.new" && mv "$j/rc.new" "$j/rc"
  ) 3>&- 2>/dev/null &   # (no "Killed" from wait on the console)
  while [ ! -e "$j/pid" ]; do sleep 0.01; done
  read -r cpid < "$j/pid"
  ln -sfn "j$qga_n" "$QGA_DIR/p$cpid"
  printf '{"return": {"pid": %s}}\n' "$cpid" >&3
}

qga_data() {  # , "out-data": "..."[, "out-truncated": true] of the file $j/$1
  printf ', "%s-data": "' "$1"
  head -c "$QGA_OUT_MAX" "$j/$1" | base64 | tr -d '\n'
  printf '"'
  [ "$(stat -c %s "$j/$1")" -le "$QGA_OUT_MAX" ] || printf ', "%s-truncated": true' "$1"
}

# guest-exec-status: an ended command's answer is its last; its files go.
qga_status() {
  case $pid in
    ''|*[!0-9]*) qga_error InvalidParameter "Invalid parameter pid"; return ;;
  esac
  link=$QGA_DIR/p$pid
  j=$QGA_DIR/$(readlink "$link" 2>/dev/null)
  if [ ! -e "$j/pid" ]; then
    qga_error InvalidParameter "Invalid parameter pid"
    return
  fi
  if [ ! -e "$j/rc" ]; then
    printf '{"return": {"exited": false}}\n' >&3
    return
  fi
  read -r rc < "$j/rc"
  {
    printf '{"return": {"exited": true, "exitcode": %s' "$rc"
    qga_data out
    qga_data err
    printf '}}\n'
  } >&3
  rm -rf "$j" "$link"
}

# The command in $QGA_DIR/line, which guest-exec(-status) may be in: parsed in full,
# since its arguments (a script, stdin) can hold any other command's name.
qga_command() {
  bad='' execute='' id='' pid='' input='' argv=''
  rm -f "$QGA_DIR/in.b64"
  eval "$(awk -v q="'" -v in64="$QGA_DIR/in.b64" "$QGA_AWK" < "$QGA_DIR/line")"
  rm -f "$QGA_DIR/line"
  if [ -n "$bad" ]; then
    qga_error GenericError "tiny agent: cannot parse the command"
    return
  fi
  case $id in *[!0-9]*) id=0 ;; esac
  case $execute in
    guest-exec) qga_exec ;;
    guest-exec-status) qga_status ;;
    guest-sync-delimited) printf '\377{"return": %s}\n' "${id:-0}" >&3 ;;
    guest-sync) printf '{"return": %s}\n' "${id:-0}" >&3 ;;
    guest-ping) printf '{"return": {}}\n' >&3 ;;
    *) qga_error CommandNotFound "tiny agent" ;;
  esac
}

guest_agent() {
  port=''
  for p in /sys/class/virtio-ports/*; do
    [ "$(cat "$p/name" 2>/dev/null)" = org.qemu.guest_agent.0 ] && port=/dev/${p##*/}
  done
  if [ -z "$port" ]; then
    echo "hostd-init: no org.qemu.guest_agent.0 port"
    return 1
  fi
  mkdir -p "$QGA_DIR"
  qga_n=0
  exec 3<>"$port"
  # A read gives EOF while no one is at the host's end: keep the port open, read again.
  # read takes a byte per read(2): past 1 KiB the rest of a line (a guest-exec with a
  # large stdin) goes to a file through head, in blocks. head may read past the newline,
  # but libvirt sends nothing more before this command's answer. The frequent commands
  # (libvirt syncs before every one) skip the parser.
  while :; do
    # shellcheck disable=SC3045  # busybox ash's read has -n
    while IFS= read -r -n 1024 line <&3; do
      if [ "${#line}" -ge 1024 ]; then
        { printf '%s' "$line"; head -n 1 <&3; } > "$QGA_DIR/line"
        qga_command
        continue
      fi
      case $line in
        *guest-exec*) printf '%s\n' "$line" > "$QGA_DIR/line"; qga_command ;;
        *guest-sync-delimited*)
          id=$(printf '%s' "$line" | sed -n 's/.*"id"[^0-9]*\([0-9][0-9]*\).*/\1/p')
          printf '\377{"return": %s}\n' "${id:-0}" >&3 ;;
        *guest-sync*)
          id=$(printf '%s' "$line" | sed -n 's/.*"id"[^0-9]*\([0-9][0-9]*\).*/\1/p')
          printf '{"return": %s}\n' "${id:-0}" >&3 ;;
        *guest-ping*) printf '{"return": {}}\n' >&3 ;;
        *execute*) qga_error CommandNotFound "tiny agent" ;;
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
