/* The VM driver: hostd's VMs are libvirt domains, by default in libvirt's embedded QEMU
 * driver under the state dir (no libvirtd needed). Each instance is one persistent domain
 * named hostd-<instance name> whose UUID is the instance's, with hostd's <metadata>; its
 * files (a qcow2 overlay over the image, the serial console log) live under
 * <state_dir>/vms/<uuid>. Guests outlive hostd: a new hostd re-attaches to them. */
#pragma once

#include "driver.h"
#include "img-store.h"

typedef struct HdVmDriverConfig {
        const char *state_dir; /* instances under <state_dir>/vms, caches under <state_dir>/vm */
        HdImgStore *images;    /* where instance images are resolved */
        const char *uri;       /* NULL: qemu:///embed?root=<state_dir>/libvirt */
        const char *accel;     /* NULL or "auto": probe; "kvm" or "tcg": forced */
} HdVmDriverConfig;

/* A new, not yet initialized VM driver (init connects to libvirt and probes KVM). NULL
 * when out of memory. */
HdDriver *hd_vm_driver_new(const HdVmDriverConfig *cfg);
/* Shuts the driver down if needed and frees it; guests go on running. NULL is fine. */
void hd_vm_driver_free(HdDriver *d);

/* What init found, for GET /v1: "kvm" or "tcg" and why ("tcg", "not probed yet" before
 * init), and the libvirt URI in use. Strings owned by the driver, valid until it is freed. */
const char *hd_vm_driver_accel(const HdDriver *d, const char **ret_reason);
const char *hd_vm_driver_uri(const HdDriver *d);
