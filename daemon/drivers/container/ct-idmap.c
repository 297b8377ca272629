/* A user-namespaced container's rootfs over the host's shared image layers, made by its
 * monitor. See hd_ct_rootfs_idmapped in ct-rootfs.h.
 *
 * Why the monitor and not the container's init: the init is in its user namespace from
 * clone on, as the mapped root, and that user cannot reach the bundle or the image store
 * by path (hostd's state dir is 0700 root). The monitor is real root, so it resolves every
 * path and makes every mount here; the init only moves the finished overlay into its
 * mount namespace. The overlay is thus the host root's, as with Docker's userns-remap:
 * copy-up runs with the monitor's credentials, and files keep the caller's mapped ids. */
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ct-rootfs.h"
#include "hd-macro.h"
#include "hd-util.h"

#define FD_PATH_MAX 32

static int write_id_map(pid_t pid, const char *file, const HdCtIdMap *m, size_t n)
{
        char path[64];
        size_t cap = n * 36 + 1, len = 0;
        _cleanup_free_ char *text = malloc(cap);
        if (!text)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                len += (size_t)snprintf(text + len, cap - len, "%u %u %u\n", m[i].inside,
                                        m[i].outside, m[i].count);
        snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        return hd_write_all(fd, text, len);
}

int hd_ct_userns_write_maps(pid_t pid, const HdCtBundle *b)
{
        int r = write_id_map(pid, "uid_map", b->uid_map, b->n_uid_map);
        return r < 0 ? r : write_id_map(pid, "gid_map", b->gid_map, b->n_gid_map);
}

/* A user namespace with the bundle's maps: a child clones into a new one and waits
 * there (for EOF on a pipe) while we write its maps and open it. Returns the fd. */
static int userns_open(const HdCtBundle *b, HdCtFail *f)
{
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
                return hd_ct_fail(f, "idmap-userns", errno, "pipe");
        pid_t pid = (pid_t)syscall(SYS_clone, (unsigned long)(CLONE_NEWUSER | SIGCHLD), NULL, NULL,
                                   NULL, NULL);
        if (pid == 0) {
                char c;
                close(p[1]);
                while (read(p[0], &c, 1) < 0 && errno == EINTR)
                        ;
                _exit(0);
        }
        int e = errno;
        close(p[0]);
        if (pid < 0) {
                close(p[1]);
                return hd_ct_fail(f, "idmap-userns", e, "clone a user namespace");
        }
        int r = hd_ct_userns_write_maps(pid, b);
        int fd = -1;
        if (r >= 0) {
                char path[64];
                snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
                if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
                        r = -errno;
        }
        close(p[1]);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
        if (r < 0)
                return hd_ct_fail(f, "idmap-userns", -r,
                                  "make a user namespace with the container's id maps");
        return fd;
}

/* A read-only clone of the layer at path, id-mapped through userns, detached. */
static int idmap_layer(const char *path, int userns)
{
        int tree = open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
        if (tree < 0)
                return -errno;
        struct mount_attr attr = {
                .attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_RDONLY,
                .userns_fd = (uint64_t)userns,
        };
        if (mount_setattr(tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0) {
                int e = errno;
                close(tree);
                return -e;
        }
        return tree;
}

static void fd_path(int fd, char buf[static FD_PATH_MAX])
{
        snprintf(buf, FD_PATH_MAX, "/proc/self/fd/%d", fd);
}

static void close_all(int *fds, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (fds[i] >= 0)
                        close(fds[i]);
}

/* The overlay, built in the monitor's private mount namespace. Overlayfs takes its layers
 * by path and wants each mounted in the caller's namespace (Linux 6.1's
 * clone_private_mount), so the id-mapped layers go onto mount points of a tmpfs laid on
 * the merged dir, here only; every path is handed over as /proc/self/fd/N, which needs no
 * escaping whatever the state dir is called. */
static int build_overlay(const HdCtBundle *b, int userns, int *ret_fd, HdCtFail *f)
{
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return hd_ct_fail(f, "idmap-layers", errno, "make / private");
        if (mount("tmpfs", b->merged, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                  "mode=700,size=4k") < 0)
                return hd_ct_fail(f, "idmap-layers", errno, "mount a tmpfs on `%s`", b->merged);
        _cleanup_close_ int points = open(b->merged, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (points < 0)
                return hd_ct_fail(f, "idmap-layers", errno, "open `%s`", b->merged);

        _cleanup_free_ int *trees = malloc(b->n_lower * sizeof(int));
        size_t cap = b->n_lower * (FD_PATH_MAX + 1) + 16;
        _cleanup_free_ char *lower = malloc(cap);
        if (!trees || !lower)
                return hd_ct_fail(f, "idmap-layers", ENOMEM, "out of memory");
        size_t n = 0, len = 0;
        int r = 0;
        for (; n < b->n_lower; n++) {
                char name[24], p[FD_PATH_MAX];
                snprintf(name, sizeof(name), "%zu", n);
                if (mkdirat(points, name, 0700) < 0) {
                        r = hd_ct_fail(f, "idmap-layers", errno, "make a mount point");
                        break;
                }
                int tree = idmap_layer(b->lower[n], userns);
                if (tree < 0) {
                        r = hd_ct_fail(f, "idmap-layers", -tree,
                                       "id-map layer `%s` (its filesystem must support "
                                       "id-mapped mounts)",
                                       b->lower[n]);
                        break;
                }
                trees[n] = tree;
                if (move_mount(tree, "", points, name, MOVE_MOUNT_F_EMPTY_PATH) < 0) {
                        r = hd_ct_fail(f, "idmap-layers", errno, "mount layer `%s`", b->lower[n]);
                        n++;
                        break;
                }
                fd_path(tree, p);
                len += (size_t)snprintf(lower + len, cap - len, "%s%s", n ? ":" : "", p);
        }
        if (r < 0) {
                close_all(trees, n);
                return r;
        }

        int dirs[2] = { open(b->upper, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC),
                        open(b->work, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) };
        int fs = dirs[0] >= 0 && dirs[1] >= 0 ? fsopen("overlay", FSOPEN_CLOEXEC) : -1;
        int e = errno;
        if (fs >= 0) {
                char up[FD_PATH_MAX], wk[FD_PATH_MAX];
                fd_path(dirs[0], up);
                fd_path(dirs[1], wk);
                /* No inode index: the lower layers are shared between containers. */
                if (fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir", lower, 0) < 0 ||
                    fsconfig(fs, FSCONFIG_SET_STRING, "upperdir", up, 0) < 0 ||
                    fsconfig(fs, FSCONFIG_SET_STRING, "workdir", wk, 0) < 0 ||
                    fsconfig(fs, FSCONFIG_SET_STRING, "index", "off", 0) < 0 ||
                    fsconfig(fs, FSCONFIG_SET_STRING, "xino", "off", 0) < 0 ||
                    fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0 ||
                    (*ret_fd = fsmount(fs, FSMOUNT_CLOEXEC, 0)) < 0)
                        e = errno;
                else
                        e = 0;
                close(fs);
        }
        close_all(dirs, 2);
        close_all(trees, n);
        if (e)
                return hd_ct_fail(f, "mount-overlay", e,
                                  "mount the overlay over the id-mapped layers");
        return 0;
}

int hd_ct_rootfs_idmapped(const HdCtBundle *b, int *ret_fd, HdCtFail *f)
{
        *ret_fd = -1;
        _cleanup_close_ int userns = userns_open(b, f);
        if (userns < 0)
                return userns;
        _cleanup_close_ int host_mnt = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
        if (host_mnt < 0)
                return hd_ct_fail(f, "idmap-layers", errno, "open our mount namespace");
        if (unshare(CLONE_NEWNS) < 0)
                return hd_ct_fail(f, "idmap-layers", errno, "unshare a mount namespace");
        int r = build_overlay(b, userns, ret_fd, f);
        /* Back to the host's: the private namespace, its tmpfs and the layer mounts in it go
         * with it; the overlay holds private clones of its layers. */
        if (setns(host_mnt, CLONE_NEWNS) < 0 || chdir("/") < 0) {
                r = hd_ct_fail(f, "idmap-layers", errno, "return to the host's mount namespace");
                if (*ret_fd >= 0)
                        close(TAKE_FD(*ret_fd));
        }
        return r;
}
