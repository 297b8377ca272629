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
 * read-only paths; returns with "/" the container's root and cwd "/". */
int hd_ct_rootfs_setup(const HdCtBundle *b, HdCtFail *f);
