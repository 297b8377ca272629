#!/usr/bin/env bash
# hostd-monitor end to end, as root, with the busybox image: start, what the
# container sees from inside (namespaces, masked and read-only paths, no
# mount, capabilities, no_new_privs, seccomp), exec (output, exit codes, env,
# cwd, user, stdin), exit.json for exit/signal/OOM, start failures reported with
# their step, user-namespaced containers (over a chowned copy of the layer, and
# over the shared layer id-mapped by the monitor), a privileged container, bridged
# containers (in a network namespace of the test's own: veth, address, route, /etc/hosts
# and /etc/resolv.conf), and that nothing stays behind: no mount on the host, no
# process, no cgroup.
#
# Environment: HOSTD_MONITOR (the binary), HD_IMAGES_DIR (holds
# busybox-rootfs.tar.gz), HD_SECCOMP_GEN (optional: writes hostd's seccomp
# program; without it the containers run with "seccomp": null).
# Exit 77 (skip) when not root or without the image.
set -uo pipefail

skip() { echo "SKIP: $*"; exit 77; }
mon=${HOSTD_MONITOR:?HOSTD_MONITOR must name the hostd-monitor binary}
images=${HD_IMAGES_DIR:-}
[ "$(id -u)" = 0 ] || skip "needs root"
[ -n "$images" ] && [ -f "$images/busybox-rootfs.tar.gz" ] ||
  skip "no busybox image in '${images}' (packaging/images/build-busybox-oci.sh ${images:-OUTDIR})"
[ -x "$mon" ] || { echo "FAIL: $mon is not executable"; exit 1; }

work=$(mktemp -d /tmp/hd-ct-monitor.XXXXXX)
chmod 755 "$work" # a user-namespaced container's root must get through it
tag=hdtest-$$-$RANDOM
failures=0
checks=0
started_pids=() # monitors and container inits this test started: the only ones it kills
cgroup_names=()

cgroup_dirs() { find /sys/fs/cgroup -maxdepth 4 -type d -path "*/hostd/$1" 2>/dev/null; }

cleanup() {
  local pid d i
  for pid in "${started_pids[@]}"; do
    kill -KILL "$pid" 2>/dev/null
  done
  for i in 1 2 3 4 5 6 7 8 9 10; do
    local alive=0
    for pid in "${started_pids[@]}"; do
      [ -d "/proc/$pid" ] && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ] && alive=1
    done
    [ $alive = 0 ] && break
    sleep 0.2
  done
  for n in "${cgroup_names[@]}"; do
    for d in $(cgroup_dirs "$n"); do rmdir "$d" 2>/dev/null; done
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

pass() { checks=$((checks + 1)); echo "ok   $*"; }
fail() { checks=$((checks + 1)); failures=$((failures + 1)); echo "FAIL $*"; }
check() { # check DESCRIPTION COMMAND...
  local what=$1; shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}
eq() { # eq DESCRIPTION GOT WANT
  if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: got '$2', want '$3'"; fi
}

# ---- the image and the bundles ----------------------------------------------------

layer=$work/layer
mkdir -p "$layer"
tar -xzf "$images/busybox-rootfs.tar.gz" -C "$layer" || { echo "FAIL: extract"; exit 1; }
mkdir -p "$layer/mnt"
# What a container must not be able to do, tried by its init and only there: the
# script refuses to run unless it is pid 1 of its own pid namespace (DESIGN.md
# section 7), since on the host as root these attempts would succeed against it.
cat >"$layer/probe.sh" <<'EOF'
echo pid=$$
echo host=$(hostname)
[ "$$" = 1 ] || { echo "probe: refusing, not pid 1"; exit 99; }
try() { name=$1; shift; if "$@" 2>/dev/null; then echo "probe-$name=allowed"; else echo "probe-$name=refused"; fi; }
try mount mount -t tmpfs none /mnt
try unshare unshare -m true
try sysctl sh -c 'echo x >/proc/sys/kernel/hostname'
try sysrq sh -c 'echo h >/proc/sysrq-trigger'
try sys touch /sys/x
try cgroupfs mkdir /sys/fs/cgroup/memory/hostd-probe
echo probe-done
trap "exit 0" TERM
while :; do sleep 1; done
EOF

seccomp=null
if [ -n "${HD_SECCOMP_GEN:-}" ]; then
  "$HD_SECCOMP_GEN" "$work/seccomp.bpf" || { echo "FAIL: seccomp generator"; exit 1; }
  seccomp="\"$work/seccomp.bpf\""
else
  echo "note: no seccomp generator, containers run without a filter"
fi

caps='["CAP_CHOWN","CAP_DAC_OVERRIDE","CAP_FSETID","CAP_FOWNER","CAP_MKNOD","CAP_NET_RAW",
"CAP_SETGID","CAP_SETUID","CAP_SETFCAP","CAP_SETPCAP","CAP_NET_BIND_SERVICE","CAP_SYS_CHROOT",
"CAP_KILL","CAP_AUDIT_WRITE"]'

# bundle NAME ARGS_JSON [EXTRA_JSON_MEMBERS] [LOWER] : writes $work/NAME/config.json
# ($security, when set, replaces the default security object)
bundle() {
  local name=$1 args=$2 extra=${3:-} lower=${4:-$layer} b=$work/$1
  local sec=${security:-"{\"caps\": $caps, \"no_new_privs\": true, \"seccomp\": $seccomp}"}
  mkdir -p "$b/upper" "$b/work" "$b/rootfs"
  cgroup_names+=("$tag-$name")
  cat >"$b/config.json" <<EOF
{"uuid": "$tag-$name", "name": "$name",
 "rootfs": {"lower": ["$lower"], "upper": "$b/upper", "work": "$b/work", "merged": "$b/rootfs"},
 "process": {"args": $args,
   "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "WHO=container"],
   "cwd": "/", "user": "0:0",
   "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 1024, "hard": 1024}]},
 "hostname": "ct-$name",
 "cgroup": {"name": "$tag-$name", "memory_bytes": 0, "cpu_quota_us": 0, "cpu_period_us": 100000, "pids_max": 200},
 "security": $sec,
 "log": {"path": "$b/console.log", "max_bytes": 1048576, "max_files": 2},
 "stop_signal": 15 $extra}
EOF
}

# start NAME: runs `hostd-monitor start`; sets out, rc, pid, mpid
start() {
  out=$("$mon" start "$work/$1")
  rc=$?
  pid=$(sed -n 's/.*"pid":\([0-9]*\).*/\1/p' <<<"$out")
  mpid=$(sed -n 's/.*"monitor_pid":\([0-9]*\).*/\1/p' <<<"$out")
  [ -n "$pid" ] && started_pids+=("$pid")
  [ -n "$mpid" ] && started_pids+=("$mpid")
  return 0
}

wait_file() { # wait_file PATH SECONDS
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    [ -s "$1" ] && return 0
    sleep 0.1
  done
  return 1
}

gone() { # gone PID: no such process (or a zombie not ours to reap)
  ! [ -d "/proc/$1" ] || [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]
}

wait_gone() {
  local i
  for ((i = 0; i < 50; i++)); do gone "$1" && return 0; sleep 0.1; done
  return 1
}

log_text() { sed -E 's/^[^ ]+ (stdout|stderr) [FP] ?//' "$work/$1/console.log"; }
json_num() { sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p" "$1"; }
json_str() { sed -n "s/.*\"$2\":\"\([^\"]*\)\".*/\1/p" "$1"; }
x() { "$mon" exec "$work/$c" "$@"; } # exec in the current container $c

# probes NAME WHAT...: the container's probe.sh found each WHAT refused
probes() {
  local name=$1 what i
  shift
  for ((i = 0; i < 50; i++)); do
    grep -q '^probe-done$' <(log_text "$name") && break
    sleep 0.1
  done
  check "$name: the probes ran as pid 1" grep -q '^probe-done$' <(log_text "$name")
  for what in "$@"; do
    eq "$name: $what is refused" "$(log_text "$name" | sed -n "s/^probe-$what=//p")" refused
  done
}

# ---- a long-running container, looked at from inside --------------------------------

c=main
bundle main '["/bin/sh", "/probe.sh"]'
start main
eq "start exits 0" "$rc" 0
check "start prints pid and monitor_pid: $out" test -n "$pid" -a -n "$mpid"
[ -n "$pid" ] || { echo "cannot go on"; exit 1; }
check "state.json is written" test -s "$work/main/state.json"
check "no mount on the host while it runs" bash -c "! grep -q '$work' /proc/self/mountinfo"
eq "state.json pid" "$(json_num "$work/main/state.json" pid)" "$pid"
eq "state.json start_time is init's" "$(json_num "$work/main/state.json" start_time)" \
  "$(awk '{print $22}' "/proc/$pid/stat")"
eq "the monitor is init's parent" "$(awk '{print $4}' "/proc/$pid/stat")" "$mpid"
eq "the monitor is a session leader" "$(awk '{print $6}' "/proc/$mpid/stat")" "$mpid"
# The process that started it has exited (start returned); the monitor stays.
check "the monitor outlives the start process" test -d "/proc/$mpid"
kill -TERM "$mpid"; kill -INT "$mpid"; kill -HUP "$mpid"
sleep 0.3
check "the monitor ignores SIGTERM, SIGINT, SIGHUP" test -d "/proc/$mpid"
eq "the monitor holds only stdio, its pipes, signalfd and log" \
  "$(ls "/proc/$mpid/fd" | wc -l)" 7
sleep 0.5
check "init's output is logged: pid=1" grep -q '^pid=1$' <(log_text main)
check "init's output is logged: hostname" grep -q '^host=ct-main$' <(log_text main)
check "log records are CRI" grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{9}Z stdout F pid=1$' \
  "$work/main/console.log"

eq "exec: hostname" "$(x -- hostname)" ct-main
eq "exec: init is pid 1 of the container" "$(x -- sh -c 'tr "\0" " " </proc/1/cmdline')" "/bin/sh /probe.sh "
ps_out=$(x -- ps -o pid,comm)
eq "exec: ps shows only the container's sh (and sleep) and ps" \
  "$(awk 'NR>1 {print $2}' <<<"$ps_out" | grep -vx sleep | sort -u | tr '\n' ' ')" "ps sh "
check "exec: no host process is visible" test "$(awk 'NR>1' <<<"$ps_out" | wc -l)" -le 4
eq "exec: /proc/keys reads empty" "$(x -- sh -c 'wc -c </proc/keys')" 0
eq "exec: /proc/timer_list reads empty" "$(x -- sh -c 'wc -c </proc/timer_list')" 0
eq "exec: /proc/kcore reads empty (or the kernel has none)" \
  "$(x -- sh -c 'test -e /proc/kcore && wc -c </proc/kcore || echo 0')" 0
eq "exec: /sys/firmware is empty" "$(x -- sh -c 'ls -A /sys/firmware | wc -l')" 0
probes main mount unshare sysctl sysrq sys cgroupfs
eq "hostname unchanged" "$(x -- cat /proc/sys/kernel/hostname)" ct-main
eq "exec: /dev holds only the allowed entries" "$(x -- ls /dev | tr '\n' ' ')" \
  "fd full mqueue null ptmx pts random shm stderr stdin stdout tty urandom zero "
eq "exec: network none has only lo" "$(x -- ls /sys/class/net | tr '\n' ' ')" "lo "
eq "exec: lo is up" "$(x -- sh -c 'cat /sys/class/net/lo/flags')" 0x9
eq "init holds only stdio and (sh's own) its script" \
  "$(x -- sh -c 'cd /proc/1/fd && for f in *; do echo "$f:$(readlink $f)"; done' | sed 's/pipe:.*/pipe/' |
    tr '\n' ' ')" "0:/dev/null 1:pipe 10:/probe.sh 2:pipe "
eq "exec: the command holds only its stdio" "$(x -- sh -c 'ls /proc/$$/fd; :' | tr '\n' ' ')" "0 1 2 "
eq "init's stdin is /dev/null" "$(x -- readlink /proc/1/fd/0)" /dev/null
eq "exec: rlimit NOFILE from the config" "$(x -- sh -c 'ulimit -n')" 1024
status=$(x -- cat /proc/self/status)
init_status=$(x -- cat /proc/1/status)
for s in "$status" "$init_status"; do
  eq "status: NoNewPrivs" "$(awk '/^NoNewPrivs:/ {print $2}' <<<"$s")" 1
  eq "status: CapInh" "$(awk '/^CapInh:/ {print $2}' <<<"$s")" 0000000000000000
  eq "status: CapAmb" "$(awk '/^CapAmb:/ {print $2}' <<<"$s")" 0000000000000000
  eq "status: CapBnd is Docker's 14" "$(awk '/^CapBnd:/ {print $2}' <<<"$s")" 00000000a80425fb
  if [ "$seccomp" != null ]; then
    eq "status: Seccomp" "$(awk '/^Seccomp:/ {print $2}' <<<"$s")" 2
  fi
done
eq "exec: the cgroup namespace is rooted at the container's group" "$(x -- cat /proc/self/cgroup | grep -c ':/$')" \
  "$(x -- cat /proc/self/cgroup | wc -l)"
check "init is in the container's cgroup (host view)" grep -q "/hostd/$tag-main\$" "/proc/$pid/cgroup"

# exec's own behaviour
o=$(x -- sh -c 'echo out; echo err >&2; exit 7' 2>"$work/err")
eq "exec: exit code" "$?" 7
eq "exec: stdout" "$o" out
eq "exec: stderr" "$(cat "$work/err")" err
x -- sh -c 'kill -9 $$'
eq "exec: killed by a signal is 128+9" "$?" 137
x -- nosuchcommand 2>"$work/err"
eq "exec: not found is 127" "$?" 127
check "exec: not found says so" grep -q 'not found' "$work/err"
x -- /etc/passwd 2>/dev/null
eq "exec: not executable is 126" "$?" 126
eq "exec: config env" "$(x -- sh -c 'echo $WHO')" container
eq "exec: --env overrides" "$(x --env WHO=override --env NEW=1 -- sh -c 'echo $WHO$NEW')" override1
eq "exec: HOME from /etc/passwd" "$(x -- sh -c 'echo $HOME')" /root
eq "exec: --cwd" "$(x --cwd /tmp -- pwd)" /tmp
x --cwd /nonexistent -- true 2>/dev/null
eq "exec: a missing --cwd is 126" "$?" 126
eq "exec: --user nobody" "$(x --user nobody -- id -u):$(x --user nobody -- id -g)" 65534:65534
eq "exec: --user nobody has no capabilities" \
  "$(x --user nobody -- awk '/^CapEff:/ {print $2}' /proc/self/status)" 0000000000000000
eq "exec: --user 1234:5678 needs no passwd entry" "$(x --user 1234:5678 -- id -u):$(x --user 1234:5678 -- id -g)" 1234:5678
eq "exec: --user root:nobody (a group name)" "$(x --user root:nobody -- id -u):$(x --user root:nobody -- id -g)" 0:65534
eq "exec: --user 65534 takes its group and HOME from /etc/passwd" \
  "$(x --user 65534 -- sh -c 'echo $(id -g) $HOME')" "65534 /nonexistent"
x --user root:nosuchgroup -- true 2>/dev/null
eq "exec: an unknown group is 126" "$?" 126
x --user nosuchuser -- true 2>/dev/null
eq "exec: an unknown user is 126" "$?" 126
eq "exec: --stdin" "$(echo hello | x --stdin -- cat)" hello
eq "exec: stdin is /dev/null without --stdin" "$(echo hello | x -- cat)" ""
eq "exec: runs in the container's pid namespace" "$(x -- sh -c 'echo $$' | awk '{print ($1 < 100)}')" 1
"$mon" exec "$work/nosuch" -- true 2>/dev/null
eq "exec: no bundle is 125" "$?" 125

# SIGKILL of init: 137 / signal.
kill -KILL "$pid"
check "exit.json after SIGKILL" wait_file "$work/main/exit.json" 10
eq "SIGKILL: exit_code" "$(json_num "$work/main/exit.json" exit_code)" 137
eq "SIGKILL: signal" "$(json_num "$work/main/exit.json" signal)" 9
eq "SIGKILL: reason" "$(json_str "$work/main/exit.json" reason)" signal
check "the monitor exits after init" wait_gone "$mpid"
"$mon" exec "$work/main" -- true 2>"$work/err"
eq "exec in a stopped container is 125" "$?" 125
check "exec says the container is not running" grep -q "container is not running" "$work/err"

# ---- exit 3, and its output ------------------------------------------------------------

c=three
bundle three '["/bin/sh", "-c", "echo hello; echo oops >&2; printf unterminated; exit 3"]'
start three
eq "exit 3: start" "$rc" 0
check "exit 3: exit.json" wait_file "$work/three/exit.json" 10
eq "exit 3: exit_code" "$(json_num "$work/three/exit.json" exit_code)" 3
eq "exit 3: signal" "$(json_num "$work/three/exit.json" signal)" 0
eq "exit 3: reason" "$(json_str "$work/three/exit.json" reason)" exited
check "exit 3: stdout logged" grep -q ' stdout F hello$' "$work/three/console.log"
check "exit 3: stderr logged" grep -q ' stderr F oops$' "$work/three/console.log"
check "exit 3: last bytes without newline are a P record" grep -q ' stdout P unterminated$' \
  "$work/three/console.log"
check "exit 3: the monitor exits" wait_gone "$mpid"
# Started again: the group the first run left (hostd removes it on delete only)
# is replaced, the old exit.json goes, and the log goes on.
start three
eq "restart: start" "$rc" 0
check "restart: exit.json again" wait_file "$work/three/exit.json" 10
eq "restart: exit_code" "$(json_num "$work/three/exit.json" exit_code)" 3
eq "restart: both runs in the log" "$(grep -c ' stdout F hello$' "$work/three/console.log")" 2
wait_gone "$mpid"

# ---- OOM -------------------------------------------------------------------------------

c=oom
bundle oom '["/bin/sh", "-c", "x=$(head -c 200000000 /dev/zero | tr \"\\\\0\" a); echo survived"]'
sed -i 's/"memory_bytes": 0/"memory_bytes": 33554432/' "$work/oom/config.json"
start oom
eq "oom: start" "$rc" 0
check "oom: exit.json" wait_file "$work/oom/exit.json" 30
eq "oom: reason" "$(json_str "$work/oom/exit.json" reason)" oom
eq "oom: exit_code" "$(json_num "$work/oom/exit.json" exit_code)" 137
check "oom: oom_kills counted" test "$(json_num "$work/oom/exit.json" oom_kills)" -ge 1

# ---- start failures name their step ------------------------------------------------------

c=badcwd
bundle badcwd '["/bin/true"]'
sed -i 's|"cwd": "/"|"cwd": "/nonexistent"|' "$work/badcwd/config.json"
start badcwd
eq "bad cwd: start exits 1" "$rc" 1
eq "bad cwd: step" "$(sed -n 's/.*"step":"\([^"]*\)".*/\1/p' <<<"$out")" cwd
check "bad cwd: no state.json" test ! -e "$work/badcwd/state.json"
check "bad cwd: no cgroup left" test -z "$(cgroup_dirs "$tag-badcwd")"

bundle baduser '["/bin/true"]'
sed -i 's|"user": "0:0"|"user": "nosuchuser"|' "$work/baduser/config.json"
start baduser
eq "bad user: step" "$(sed -n 's/.*"step":"\([^"]*\)".*/\1/p' <<<"$out")" user

bundle badexec '["nosuchprogram"]'
start badexec
eq "bad program: step" "$(sed -n 's/.*"step":"\([^"]*\)".*/\1/p' <<<"$out")" exec
check "bad program: message" grep -q 'not found' <<<"$out"

echo '{"uuid": 1}' >"$work/badconfig.json"
mkdir -p "$work/badconfig" && mv "$work/badconfig.json" "$work/badconfig/config.json"
start badconfig
eq "bad config: step" "$(sed -n 's/.*"step":"\([^"]*\)".*/\1/p' <<<"$out")" config
start nosuchbundle
eq "no bundle: step" "$(sed -n 's/.*"step":"\([^"]*\)".*/\1/p' <<<"$out")" bundle

# ---- network host ----------------------------------------------------------------------

c=hostnet
bundle hostnet '["/bin/sh", "-c", "while :; do sleep 1; done"]' ', "network": "host"'
start hostnet
eq "host network: start" "$rc" 0
if [ "$rc" = 0 ]; then
  eq "host network: the host's interfaces" "$(x -- ls /sys/class/net | tr '\n' ' ')" \
    "$(ls /sys/class/net | tr '\n' ' ')"
  kill -KILL "$pid"
  wait_file "$work/hostnet/exit.json" 10
  wait_gone "$mpid"
fi

# ---- a user namespace --------------------------------------------------------------------

ulayer=$work/layer-userns
cp -a "$layer" "$ulayer"
chown -hR 100000:100000 "$ulayer"
c=userns
bundle userns '["/bin/sh", "/probe.sh"]' \
  ', "userns": {"uid_map": [[0, 100000, 65536]], "gid_map": [[0, 100000, 65536]]}' "$ulayer"
chown 100000:100000 "$work/userns" "$work/userns/upper" "$work/userns/work" "$work/userns/rootfs"
start userns
eq "userns: start: $out" "$rc" 0
if [ "$rc" = 0 ]; then
  eq "userns: init runs as host uid 100000" "$(stat -c %u "/proc/$pid")" 100000
  eq "userns: uid_map" "$(x -- cat /proc/self/uid_map | awk '{print $1, $2, $3}')" "0 100000 65536"
  eq "userns: root inside" "$(x -- id -u)" 0
  eq "userns: /proc/keys masked" "$(x -- sh -c 'wc -c </proc/keys')" 0
  probes userns mount unshare sysctl sysrq sys cgroupfs
  check "userns: files written land in upper owned by 100000" \
    bash -c "'$mon' exec '$work/userns' -- touch /tmp/f && test \"\$(stat -c %u '$work/userns/upper/tmp/f')\" = 100000"
  kill -KILL "$pid"
  wait_file "$work/userns/exit.json" 10
  wait_gone "$mpid"
fi

c=usernshost
bundle usernshost '["/bin/sh", "/probe.sh"]' \
  ', "network": "host", "userns": {"uid_map": [[0, 100000, 65536]], "gid_map": [[0, 100000, 65536]]}' "$ulayer"
chown 100000:100000 "$work/usernshost" "$work/usernshost/upper" "$work/usernshost/work" \
  "$work/usernshost/rootfs"
start usernshost
eq "userns + host network: start: $out" "$rc" 0
if [ "$rc" = 0 ]; then
  eq "userns + host network: the host's /sys" "$(x -- ls /sys/class/net | tr '\n' ' ')" \
    "$(ls /sys/class/net | tr '\n' ' ')"
  check "userns + host network: /sys is the host's, bound with its submounts" \
    test "$(x -- grep -c ' /sys/fs/cgroup' /proc/self/mountinfo)" -ge 1
  probes usernshost mount unshare sysctl sysrq sys cgroupfs
  eq "userns + host network: /sys/firmware is empty" "$(x -- sh -c 'ls -A /sys/firmware | wc -l')" 0
  kill -KILL "$pid"
  wait_file "$work/usernshost/exit.json" 10
  wait_gone "$mpid"
fi

# ---- a user namespace over the shared layers, id-mapped -------------------------------------
# The layer stays the host root's: the monitor id-maps it and mounts the overlay itself,
# and the container's root, which cannot walk into this 0700 bundle, gets it by fd.

c=idmap
bundle idmap '["/bin/sh", "/probe.sh"]' \
  ', "userns": {"uid_map": [[0, 300000, 65536]], "gid_map": [[0, 300000, 65536]], "idmapped_layers": true}'
chown 300000:300000 "$work/idmap/upper" "$work/idmap/work"
chmod 700 "$work/idmap"
start idmap
eq "idmapped layers: start: $out" "$rc" 0
if [ "$rc" = 0 ]; then
  eq "idmapped layers: init runs as host uid 300000" "$(stat -c %u "/proc/$pid")" 300000
  eq "idmapped layers: uid_map" "$(x -- cat /proc/self/uid_map | awk '{print $1, $2, $3}')" "0 300000 65536"
  eq "idmapped layers: the image's files are root's inside" "$(x -- stat -c %u:%g /bin/busybox)" 0:0
  eq "idmapped layers: and still the host root's outside" "$(stat -c %u:%g "$layer/bin/busybox")" 0:0
  eq "idmapped layers: / is root's inside" "$(x -- stat -c %u /)" 0
  check "idmapped layers: a file written lands in upper owned by 300000" \
    bash -c "'$mon' exec '$work/idmap' -- touch /tmp/f && test \"\$(stat -c %u '$work/idmap/upper/tmp/f')\" = 300000"
  eq "idmapped layers: a copied-up file is the container root's" \
    "$(x -- sh -c 'echo "x:x:5000:5000::/:/bin/sh" >>/etc/passwd; stat -c %u /etc/passwd'):$(stat -c %u "$work/idmap/upper/etc/passwd")" \
    0:300000
  eq "idmapped layers: the shared layer is untouched" "$(stat -c %u "$layer/etc/passwd"):$(grep -c '^x:' "$layer/etc/passwd")" 0:0
  x -- mknod /tmp/null c 1 3 2>/dev/null
  check "idmapped layers: no mknod, though CapEff has CAP_MKNOD" test $? != 0
  x -- chown 70000 /tmp/f 2>/dev/null
  check "idmapped layers: no chown to an unmapped id" test $? != 0
  eq "idmapped layers: the host's files are nobody's" "$(x -- stat -c %u /sys/kernel)" 65534
  probes idmap mount unshare sysctl sysrq sys cgroupfs
  check "idmapped layers: no mount on the host" bash -c "! grep -q '$work' /proc/self/mountinfo"
  eq "idmapped layers: the monitor is back in the host's mount namespace" \
    "$(readlink "/proc/$mpid/ns/mnt")" "$(readlink /proc/self/ns/mnt)"
  eq "idmapped layers: the monitor holds only stdio, its pipes, signalfd and log" \
    "$(ls "/proc/$mpid/fd" | wc -l)" 7
  kill -KILL "$pid"
  wait_file "$work/idmap/exit.json" 10
  wait_gone "$mpid"
fi

# ---- privileged ------------------------------------------------------------------------------

cap_names=(CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP
  LINUX_IMMUTABLE NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE
  SYS_RAWIO SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME
  SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG
  WAKE_ALARM BLOCK_SUSPEND AUDIT_READ PERFMON BPF CHECKPOINT_RESTORE)
# Every capability this shell may give (hostd-monitor can give no more than it holds).
bnd=$((16#$(awk '/^CapBnd:/ {print $2}' /proc/self/status)))
all_caps=() all_mask=0
for ((i = 0; i < ${#cap_names[@]} && i <= $(cat /proc/sys/kernel/cap_last_cap); i++)); do
  if (((bnd >> i) & 1)); then all_caps+=("\"CAP_${cap_names[i]}\""); all_mask=$((all_mask | (1 << i))); fi
done
all_json="[$(IFS=,; echo "${all_caps[*]}")]"

c=priv
security="{\"caps\": $all_json, \"no_new_privs\": true, \"seccomp\": null, \"privileged\": true}" \
  bundle priv '["/bin/sh", "-c", "while :; do sleep 1; done"]'
start priv
eq "privileged: start: $out" "$rc" 0
if [ "$rc" = 0 ]; then
  s=$(x -- cat /proc/self/status)
  eq "privileged: CapEff is every capability" "$(awk '/^CapEff:/ {print $2}' <<<"$s")" "$(printf %016x $all_mask)"
  eq "privileged: CapBnd too" "$(awk '/^CapBnd:/ {print $2}' <<<"$s")" "$(printf %016x $all_mask)"
  eq "privileged: CapInh stays empty" "$(awk '/^CapInh:/ {print $2}' <<<"$s")" 0000000000000000
  eq "privileged: no seccomp" "$(awk '/^Seccomp:/ {print $2}' <<<"$s")" 0
  eq "privileged: no_new_privs stays" "$(awk '/^NoNewPrivs:/ {print $2}' <<<"$s")" 1
  eq "privileged: /proc/timer_list is not masked" "$(x -- sh -c 'test "$(wc -c </proc/timer_list)" -gt 0 && echo yes')" yes
  eq "privileged: /proc/sys is not read-only" "$(x -- awk '$5 == "/proc/sys"' /proc/self/mountinfo)" ""
  eq "privileged: /sys is read-write" "$(x -- awk '$5 == "/sys" {print substr($6, 1, 2)}' /proc/self/mountinfo)" rw
  for dev in kmsg loop0 net/tun fuse; do
    [ -e "/dev/$dev" ] || continue
    eq "privileged: the host's /dev/$dev" "$(x -- stat -c %t:%T:%F "/dev/$dev")" "$(stat -c %t:%T:%F "/dev/$dev")"
  done
  [ -e /dev/kmsg ] &&
    check "privileged: the device cgroup lets /dev/kmsg be read" \
      test "$(x -- sh -c 'dd if=/dev/kmsg bs=8192 count=1 2>/dev/null | wc -c')" -gt 0
  eq "privileged: its own ptmx, no console" "$(x -- sh -c 'readlink /dev/ptmx; test -e /dev/console || echo none')" \
    "pts/ptmx
none"
  kill -KILL "$pid"
  wait_file "$work/priv/exit.json" 10
  wait_gone "$mpid"
fi

# Root in a privileged container is the host's root: no user namespace can give that.
security="{\"caps\": $caps, \"no_new_privs\": true, \"seccomp\": null, \"privileged\": true}" \
  bundle privuserns '["/bin/true"]' \
  ', "userns": {"uid_map": [[0, 300000, 65536]], "gid_map": [[0, 300000, 65536]], "idmapped_layers": true}'
start privuserns
eq "privileged + userns: refused at config" "$(sed -n 's/.*"step":"\([^"]*\)".*/\1/p' <<<"$out")" config

# ---- network bridge, in a network namespace of the test's own --------------------------------
# The bridge a network of hostd's would have, made (with `ip`: this is the test) in a network
# namespace that a sleeping process holds; the monitors are started in it, so that their veth
# pairs land there and go with it. Nothing touches the host's network.

holder=
unshare --net sleep 1000000 &
holder=$!
started_pids+=("$holder")
for ((i = 0; i < 50; i++)); do
  [ "$(readlink "/proc/$holder/ns/net" 2>/dev/null)" != "$(readlink /proc/self/ns/net)" ] && break
  sleep 0.1
done
inns() { nsenter --net="/proc/$holder/ns/net" "$@"; }
if ! inns true 2>/dev/null || ! inns ip link add hdtbr0 type bridge 2>/dev/null; then
  echo "note: no network namespace or bridge here, network bridge not tested"
else
  inns ip link set lo up
  inns ip addr add 10.99.0.1/24 dev hdtbr0
  inns ip link set hdtbr0 up

  # start_inns NAME: start, with the monitor in the test's network namespace
  start_inns() {
    out=$(inns "$mon" start "$work/$1")
    rc=$?
    pid=$(sed -n 's/.*"pid":\([0-9]*\).*/\1/p' <<<"$out")
    mpid=$(sed -n 's/.*"monitor_pid":\([0-9]*\).*/\1/p' <<<"$out")
    [ -n "$pid" ] && started_pids+=("$pid")
    [ -n "$mpid" ] && started_pids+=("$mpid")
    return 0
  }
  # net_json HOST_IFNAME ADDRESS [BRIDGE]: the bundle's "net" member
  net_json() {
    echo ', "network": "bridge", "net": {"bridge": "'"${3:-hdtbr0}"'", "host_ifname": "'"$1"'",
      "mac": "'"$(printf '02:42:0a:63:00:%02x' "${2##*.}")"'", "address": "'"$2"'", "prefix": 24,
      "gateway": "10.99.0.1", "mtu": 1400,
      "hosts": "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n'"$2"'\tct-web\n",
      "resolv_conf": "nameserver 10.99.0.1\nsearch testnet\n"}'
  }
  host_end_gone() { ! inns ip link show "$1" >/dev/null 2>&1; }
  wait_host_end_gone() {
    local i
    for ((i = 0; i < 100; i++)); do host_end_gone "$1" && return 0; sleep 0.1; done
    return 1
  }
  hosts_want=$(printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n10.99.0.2\tct-web')

  c=brnet
  bundle brnet '["/bin/sh", "-c", "while :; do sleep 1; done"]' "$(net_json hdvbrnet 10.99.0.2)"
  # What the image's upper dir may hold from an earlier run: a symlink out of the root.
  mkdir -p "$work/brnet/upper/etc"
  ln -s "$work/evil-hosts" "$work/brnet/upper/etc/hosts"
  start_inns brnet
  eq "bridge: start: $out" "$rc" 0
  if [ "$rc" = 0 ]; then
    eq "bridge: the links inside" "$(x -- ls /sys/class/net | tr '\n' ' ')" "eth0 lo "
    eq "bridge: lo is up" "$(x -- cat /sys/class/net/lo/flags)" 0x9
    eq "bridge: eth0's MAC" "$(x -- cat /sys/class/net/eth0/address)" 02:42:0a:63:00:02
    eq "bridge: eth0's MTU" "$(x -- cat /sys/class/net/eth0/mtu)" 1400
    eq "bridge: eth0 is up" "$(x -- cat /sys/class/net/eth0/operstate)" up
    check "bridge: eth0's address and broadcast" \
      grep -q 'inet 10.99.0.2/24 brd 10.99.0.255 scope global eth0' <<<"$(x -- ip addr show dev eth0)"
    check "bridge: the default route" grep -q '^default via 10.99.0.1 dev eth0' <<<"$(x -- ip route)"
    check "bridge: exec runs in the container's network namespace" \
      grep -q 'eth0:' <<<"$(x -- cat /proc/net/dev)"
    eq "bridge: /etc/hosts" "$(x -- cat /etc/hosts)" "$hosts_want"
    eq "bridge: /etc/resolv.conf" "$(x -- cat /etc/resolv.conf)" "nameserver 10.99.0.1
search testnet"
    eq "bridge: the files are root's, 0644, no symlink" \
      "$(x -- stat -c '%u:%g %a %F' /etc/hosts /etc/resolv.conf | tr '\n' ' ')" \
      "0:0 644 regular file 0:0 644 regular file "
    check "bridge: the symlink in the image was replaced, not followed" test ! -e "$work/evil-hosts"
    check "bridge: the gateway answers a ping" x -- ping -c 1 -W 3 10.99.0.1
    host_link=$(inns ip -d link show hdvbrnet)
    check "bridge: the host end is on the bridge" grep -q 'master hdtbr0' <<<"$host_link"
    check "bridge: the host end is up" grep -q 'state UP' <<<"$host_link"
    check "bridge: the host end's alias" grep -q "alias hostd:$tag-brnet" <<<"$host_link"
    check "bridge: the host end's MTU" grep -q 'mtu 1400' <<<"$host_link"
    check "bridge: no veth in the host's own namespace" bash -c "! ip link show hdvbrnet >/dev/null 2>&1"
    eq "bridge: the monitor holds only stdio, its pipes, signalfd and log" \
      "$(ls "/proc/$mpid/fd" | wc -l)" 7
    kill -KILL "$pid"
    wait_file "$work/brnet/exit.json" 10
    wait_gone "$mpid"
    check "bridge: the host end goes with the container" wait_host_end_gone hdvbrnet
  fi

  # Started again (hostd's restart): the same names, a fresh pair.
  start_inns brnet
  eq "bridge: restart: $out" "$rc" 0
  if [ "$rc" = 0 ]; then
    eq "bridge: restart: eth0's MAC" "$(x -- cat /sys/class/net/eth0/address)" 02:42:0a:63:00:02
    eq "bridge: restart: /etc/hosts" "$(x -- cat /etc/hosts)" "$hosts_want"
    kill -KILL "$pid"
    wait_file "$work/brnet/exit.json" 10
    wait_gone "$mpid"
    wait_host_end_gone hdvbrnet
  fi

  # No such bridge: the start fails at the network step and leaves nothing.
  c=brmissing
  bundle brmissing '["/bin/true"]' "$(net_json hdvbrmiss 10.99.0.4 hdtnobr)"
  start_inns brmissing
  eq "bridge missing: start exits 1" "$rc" 1
  eq "bridge missing: step" "$(sed -n 's/.*"step":"\([^"]*\)".*/\1/p' <<<"$out")" network
  check "bridge missing: the message names it: $out" grep -q 'hdtnobr' <<<"$out"
  check "bridge missing: no host end" host_end_gone hdvbrmiss
  check "bridge missing: no cgroup left" test -z "$(cgroup_dirs "$tag-brmissing")"

  # A user-namespaced container over id-mapped layers: its init writes the files as the
  # container's root.
  c=brusr
  bundle brusr '["/bin/sh", "-c", "while :; do sleep 1; done"]' \
    "$(net_json hdvbrusr 10.99.0.3), \"userns\": {\"uid_map\": [[0, 400000, 65536]], \"gid_map\": [[0, 400000, 65536]], \"idmapped_layers\": true}"
  chown 400000:400000 "$work/brusr/upper" "$work/brusr/work"
  chmod 700 "$work/brusr"
  start_inns brusr
  eq "bridge + userns: start: $out" "$rc" 0
  if [ "$rc" = 0 ]; then
    check "bridge + userns: eth0's address" \
      grep -q 'inet 10.99.0.3/24' <<<"$(x -- ip addr show dev eth0)"
    eq "bridge + userns: /etc/resolv.conf" "$(x -- cat /etc/resolv.conf)" "nameserver 10.99.0.1
search testnet"
    eq "bridge + userns: /etc/hosts is the container root's" "$(x -- stat -c %u:%g /etc/hosts)" 0:0
    eq "bridge + userns: and host id 400000's in upper" \
      "$(stat -c %u:%g "$work/brusr/upper/etc/hosts")" 400000:400000
    check "bridge + userns: the shared layer has no /etc/hosts" test ! -e "$layer/etc/hosts"
    check "bridge + userns: the gateway answers a ping" x -- ping -c 1 -W 3 10.99.0.1
    kill -KILL "$pid"
    wait_file "$work/brusr/exit.json" 10
    wait_gone "$mpid"
    check "bridge + userns: the host end goes with the container" wait_host_end_gone hdvbrusr
  fi
fi
kill -KILL "$holder" 2>/dev/null
wait "$holder" 2>/dev/null

# ---- nothing stays behind ------------------------------------------------------------------

for n in "${cgroup_names[@]}"; do
  for d in $(cgroup_dirs "$n"); do rmdir "$d" 2>/dev/null; done
done
for p in "${started_pids[@]}"; do
  check "process $p is gone" gone "$p"
done
check "no cgroup left" test -z "$(for n in "${cgroup_names[@]}"; do cgroup_dirs "$n"; done)"
check "no mount on the host under $work (ever)" bash -c "! grep -q '$work' /proc/self/mountinfo"
rm -rf "$work/main" "$work/three"
check "bundles removable" test ! -e "$work/main"

echo "$checks checks, $failures failed"
[ "$failures" = 0 ]
