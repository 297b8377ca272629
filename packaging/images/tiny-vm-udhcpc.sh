#!/bin/sh
# udhcpc's script in hostd's tiny VM (/etc/udhcpc/default.script): applies a lease
# to $interface. udhcpc runs it with the event in $1 and the lease in the
# environment: ip, mask (prefix length), subnet, router, dns, domain, mtu.
# shellcheck disable=SC2154  # interface, ip: set by udhcpc
case $1 in
  deconfig)
    ip -4 addr flush dev "$interface"
    ip link set "$interface" up
    ;;
  bound|renew)
    [ -n "${mtu:-}" ] && ip link set "$interface" mtu "$mtu"
    if [ -z "${mask:-}" ] && [ -n "${subnet:-}" ]; then
      mask=$(ipcalc -s -p "$ip" "$subnet") && mask=${mask#PREFIX=}
    fi
    ip -4 addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    ip link set "$interface" up
    for r in ${router:-}; do
      ip route add default via "$r" dev "$interface" && break
    done
    : > /etc/resolv.conf
    [ -n "${domain:-}" ] && echo "search $domain" >> /etc/resolv.conf
    for d in ${dns:-}; do echo "nameserver $d" >> /etc/resolv.conf; done
    echo "hostd-init: $interface $ip/${mask:-24}${router:+ via $router} (dhcp)"
    ;;
esac
exit 0
