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
        bool network;              /* a virtio NIC (type='user' for now) */
        const char *agent_socket;  /* the QEMU guest agent's channel, a unix socket at this
                                      path (libvirt binds it); NULL: no channel */
} HdVmDomainSpec;

/* The namespace of hostd's <metadata> element. */
#define HD_VM_XML_NS "https://hostd.dev/xmlns/instance/1"

#define HD_VM_VCPUS_MAX     256
#define HD_VM_MEMORY_MB_MIN 16
#define HD_VM_MEMORY_MB_MAX (INT64_C(16) * 1024 * 1024) /* 16 TiB */

/* Renders the domain XML for s into *ret_xml (malloc'd, the caller frees it).
 * Validates first: -EINVAL with err->field naming the HdVmDomainSpec field for a
 * missing or invalid value (name and uuid present, uuid well-formed, vcpus in
 * 1..HD_VM_VCPUS_MAX, memory_mb in HD_VM_MEMORY_MB_MIN..HD_VM_MEMORY_MB_MAX, every
 * path absolute, every string valid UTF-8 without control characters); -ENOMEM. */
int hd_vm_domain_xml(const HdVmDomainSpec *s, char **ret_xml, HdError **err);
