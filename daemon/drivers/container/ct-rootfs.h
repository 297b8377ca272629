/* The container's root filesystem, set up by its init in its own mount namespace
 * (DESIGN.md §4): overlayfs of the image layers, /proc, /sys, a minimal /dev,
 * pivot_root with the old root detached, masked and read-only paths.
 *
 * Every target inside the new root is resolved with openat2(RESOLVE_IN_ROOT |
 * RESOLVE_NO_MAGICLINKS) relative to the root's fd and mounted onto
 * /proc/self/fd/N of that verified fd, so a symlink planted in an image can never
 * redirect a mount to the host. */
#pragma once

#include "ct-bundle.h"
#include "ct-init.h"

/* openat2(root_fd, path, flags | O_CLOEXEC) with RESOLVE_IN_ROOT |
 * RESOLVE_NO_MAGICLINKS: path is taken relative to root_fd as "/", whatever its
 * symlinks say. Returns the fd or -errno. */
int hd_ct_open_in_root(int root_fd, const char *path, int flags);

/* Everything from making / a slave recursively to pivot_root and the masked and
 * read-only paths (none when privileged, which also gets /sys read-write and the host's
 * device nodes); returns with "/" the container's root and cwd "/". rootfs_fd >= 0 is the
 * overlay hd_ct_rootfs_idmapped made, detached: it is moved onto the cwd, which must be
 * the merged dir; -1: the overlay is mounted here from the bundle's paths. */
int hd_ct_rootfs_setup(const HdCtBundle *b, int rootfs_fd, HdCtFail *f);

/* ---- in the monitor (ct-idmap.c) ------------------------------------------------------ */

/* Writes /proc/PID/uid_map and gid_map from the bundle's maps; 0 or -errno. */
int hd_ct_userns_write_maps(pid_t pid, const HdCtBundle *b);

/* For a bundle with idmapped_layers, in the monitor (real root, initial user namespace),
 * before the container exists: each lower layer id-mapped through the bundle's maps
 * (open_tree + mount_setattr(MOUNT_ATTR_IDMAP), no copy, no chown), and the overlay over
 * them with the bundle's upper and work dirs, made in a mount namespace of the monitor's
 * own that it leaves again, so that nothing is ever mounted in the host's. *ret_fd is the
 * overlay as a detached mount (O_CLOEXEC; the container's init moves it into its own
 * namespace and the host never sees it). Steps "idmap-userns", "idmap-layers",
 * "mount-overlay". */
int hd_ct_rootfs_idmapped(const HdCtBundle *b, int *ret_fd, HdCtFail *f);
