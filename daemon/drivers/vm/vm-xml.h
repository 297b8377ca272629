/* The libvirt domain XML for a hostd VM: a pure function of HdVmDomainSpec, no
 * libvirt calls. The VM driver defines the domain from what this returns. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "hd-error.h"

typedef struct HdVmDomainSpec {
        const char *name;          /* libvirt domain name */
        const char *uuid;          /* the instance UUID: also the domain's <uuid> */
        const char *instance_name; /* for <metadata>; NULL: no <hostd:name> */
        int vcpus;                 /* >= 1 */
        const char *cpuset;        /* host CPUs the vCPUs run on, a CPU list ("0-1",
                                      hd_cpulist_parse's form); NULL: not pinned */
        int64_t memory_mb;         /* >= 16 */
        bool kvm;                  /* <domain type='kvm'>, else type='qemu' (TCG) */
        const char *machine;       /* e.g. "q35"; NULL: "q35" */
        const char *emulator;      /* NULL: libvirt picks */
        const char *disk_path;     /* qcow2 overlay, virtio (vda); NULL: no disk */
        const char *kernel;        /* direct kernel boot when non-NULL */
        const char *initrd;        /* may be NULL */
        const char *cmdline;       /* may be NULL */
        const char *seed_iso;      /* cloud-init cdrom (sata, readonly); NULL: none */
        const char *console_log;   /* serial console (isa-serial, port 0) written to this file;
                                      required */
        /* One virtio NIC on a Linux bridge (libvirt's type='bridge': libvirt makes the
         * tap and enslaves it); bridge NULL: no NIC, and mac, tap and mtu must be unset. */
        const char *bridge;       /* the bridge's interface name */
        const char *mac;          /* required with a bridge: the address DHCP's static
                                     lease is keyed on, "52:54:00:ab:cd:ef" (unicast) */
        const char *tap;          /* the host's tap device (hd_vm_tap_name); NULL: libvirt
                                     names it vnetN */
        int mtu;                  /* HD_VM_MTU_MIN..HD_VM_MTU_MAX; 0: the bridge's */
        const char *agent_socket; /* the QEMU guest agent's channel, a unix socket at this
                                     path (libvirt binds it); NULL: no channel */
} HdVmDomainSpec;

/* The namespace of hostd's <metadata> element. */
#define HD_VM_XML_NS "https://hostd.dev/xmlns/instance/1"

#define HD_VM_VCPUS_MAX     256
#define HD_VM_MEMORY_MB_MIN 16
#define HD_VM_MEMORY_MB_MAX (INT64_C(16) * 1024 * 1024) /* 16 TiB */
#define HD_VM_MTU_MIN       576
#define HD_VM_MTU_MAX       9000

/* A VM's tap device is "hdt" and the first 11 hex digits of its instance UUID: a valid
 * interface name (14 chars), and one that hostd's reconciliation can tell for its own. */
#define HD_VM_TAP_PREFIX   "hdt"
#define HD_VM_TAP_NAME_MAX 15 /* "hdt" + 11 + NUL */

/* Renders the domain XML for s into *ret_xml (malloc'd, the caller frees it).
 * Validates first: -EINVAL with err->field naming the HdVmDomainSpec field for a
 * missing or invalid value (name and uuid present, uuid well-formed, vcpus in
 * 1..HD_VM_VCPUS_MAX, cpuset a CPU list when set, memory_mb in
 * HD_VM_MEMORY_MB_MIN..HD_VM_MEMORY_MB_MAX, every path absolute, every string valid
 * UTF-8 without control characters; with a bridge: bridge and tap interface names
 * (1..15 of [A-Za-z0-9_.-]), mac six hex pairs and unicast, mtu 0 or in
 * HD_VM_MTU_MIN..HD_VM_MTU_MAX); -ENOMEM. */
int hd_vm_domain_xml(const HdVmDomainSpec *s, char **ret_xml, HdError **err);

/* The tap device name of the instance with this UUID into ret (HD_VM_TAP_PREFIX and
 * its first 11 hex digits, lower case). -EINVAL (ret "") when uuid is not a UUID. */
int hd_vm_tap_name(const char *uuid, char ret[static HD_VM_TAP_NAME_MAX]);

/* The kernel's static IP argument for a guest booted from a kernel:
 * "ip=ADDR::GW:NETMASK:HOSTNAME:eth0:off" (the layout of the kernel's nfsroot.rst, which
 * the tiny VM's init reads too), malloc'd into *ret. gateway NULL or "" leaves its
 * field empty; hostname NULL leaves it empty. -EINVAL naming the argument (address,
 * prefix_len 1..32, gateway, hostname: 1..63 of [A-Za-z0-9.-], as a colon or a space
 * would break the argument); -ENOMEM. */
int hd_vm_kernel_ip_arg(const char *address, int prefix_len, const char *gateway,
                        const char *hostname, char **ret, HdError **err);
