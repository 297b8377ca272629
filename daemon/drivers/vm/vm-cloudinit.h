/* cloud-init's NoCloud seed for a hostd VM: meta-data and user-data on an ISO 9660
 * image labelled "cidata", attached to the domain as a read-only cdrom. */
#pragma once

#include <stddef.h>

#include "hd-error.h"

typedef struct HdVmCloudInit {
        const char *instance_id; /* the instance UUID */
        const char *hostname;    /* an RFC 1123 host name */
        const char *user_data;   /* raw user-data text (e.g. "#cloud-config\n…"); NULL: a
                                    minimal #cloud-config */
        const char *const *ssh_authorized_keys;
        size_t n_keys;
} HdVmCloudInit;

#define HD_VM_USER_DATA_MAX (64 * 1024)

/* Writes a NoCloud seed ISO (volume label "cidata", files meta-data and user-data, no
 * network-config) to iso_path, replacing it. meta-data carries instance-id and
 * local-hostname. user-data is ci->user_data as given; with ssh keys and #cloud-config
 * user-data, an ssh_authorized_keys block is appended unless the text already has a
 * top-level one; with user_data NULL it is a #cloud-config with the hostname and keys.
 *
 * Built with xorriso (or genisoimage when xorriso is missing), found on $PATH and run
 * with posix_spawn, no shell; the inputs live in a private temporary directory removed
 * afterwards. Errors: -EINVAL naming the field (instance_id, hostname, user_data over
 * HD_VM_USER_DATA_MAX, ssh_authorized_keys with control characters or with user-data
 * that is not #cloud-config); -ENOENT naming the package to install when neither tool
 * is there; -EIO with the tool's output when it fails; -errno for file errors. */
int hd_vm_cloudinit_seed(const HdVmCloudInit *ci, const char *iso_path, HdError **err);
