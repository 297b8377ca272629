/* The container's mounts, done by its init in a new mount namespace. See
 * ct-rootfs.h. Runs in a cloned child of the single-threaded monitor. */
#include "ct-rootfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

#define FD_PATH_MAX 32

/* ---- fds inside the root ------------------------------------------------------------ */

int hd_ct_open_in_root(int root_fd, const char *path, int flags)
{
        struct open_how how = {
                .flags = (uint64_t)(flags | O_CLOEXEC),
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        /* EAGAIN: a rename raced with the walk ("..") — try again, a few times. */
        int fd = -1;
        for (int i = 0; i < 16; i++) {
                fd = (int)syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
                if (fd >= 0 || (errno != EINTR && errno != EAGAIN))
                        break;
        }
        return fd < 0 ? -errno : fd;
}

static void fd_path(int fd, char buf[static FD_PATH_MAX])
{
        snprintf(buf, FD_PATH_MAX, "/proc/self/fd/%d", fd);
}

/* mkdir -p of path under root_fd; returns an O_PATH fd of the directory. Each
 * component is resolved inside the root, and created in its resolved parent. */
static int mkdir_in_root(int root_fd, const char *path, mode_t mode)
{
        char buf[PATH_MAX];
        if (strlen(path) >= sizeof(buf))
                return -ENAMETOOLONG;
        snprintf(buf, sizeof(buf), "%s", path);
        int parent = fcntl(root_fd, F_DUPFD_CLOEXEC, 3);
        if (parent < 0)
                return -errno;
        char *p = buf;
        while (*p == '/')
                p++;
        while (*p) {
                char *slash = strchr(p, '/');
                if (slash)
                        *slash = '\0';
                int fd = hd_ct_open_in_root(root_fd, buf, O_PATH | O_DIRECTORY);
                if (fd == -ENOENT) {
                        const char *name = strrchr(buf, '/') ? strrchr(buf, '/') + 1 : buf;
                        if (mkdirat(parent, name, mode) < 0 && errno != EEXIST) {
                                int r = -errno;
                                close(parent);
                                return r;
                        }
                        fd = hd_ct_open_in_root(root_fd, buf, O_PATH | O_DIRECTORY);
                }
                close(parent);
                if (fd < 0)
                        return fd;
                parent = fd;
                if (!slash)
                        break;
                *slash = '/';
                p = slash + 1;
                while (*p == '/')
                        p++;
        }
        return parent;
}

static bool fs_is(int fd, long magic)
{
        struct statfs sf;
        return fstatfs(fd, &sf) == 0 && (long)sf.f_type == magic;
}

/* mkdir -p target in the root, mount there through the fd, and check that the
 * mount landed where meant (expect_magic: the new fs type as seen through path). */
static int mount_in_root(int root_fd, const char *target, const char *source, const char *fstype,
                         unsigned long flags, const char *data, long expect_magic, const char *step,
                         HdCtFail *f)
{
        int fd = mkdir_in_root(root_fd, target, 0755);
        if (fd < 0)
                return hd_ct_fail(f, step, -fd, "create `%s` in the rootfs", target);
        char p[FD_PATH_MAX];
        fd_path(fd, p);
        int r = mount(source, p, fstype, flags, data);
        int e = errno;
        close(fd);
        if (r < 0)
                return hd_ct_fail(f, step, e, "mount %s on `%s`", fstype ? fstype : source, target);
        if (expect_magic) {
                fd = hd_ct_open_in_root(root_fd, target, O_PATH | O_DIRECTORY);
                bool ok = fd >= 0 && fs_is(fd, expect_magic);
                if (fd >= 0)
                        close(fd);
                if (!ok)
                        return hd_ct_fail(f, step, EXDEV, "`%s` is not the %s just mounted", target,
                                          fstype);
        }
        return 0;
}

/* ---- overlayfs ---------------------------------------------------------------------- */

static int overlay_fsopen(const HdCtBundle *b, int target_fd)
{
        int fs = fsopen("overlay", FSOPEN_CLOEXEC);
        if (fs < 0)
                return -errno;
        int r = 0;
        for (size_t i = 0; i < b->n_lower && r >= 0; i++)
                r = fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir+", b->lower[i], 0);
        if (r >= 0)
                r = fsconfig(fs, FSCONFIG_SET_STRING, "upperdir", b->upper, 0);
        if (r >= 0)
                r = fsconfig(fs, FSCONFIG_SET_STRING, "workdir", b->work, 0);
        if (r >= 0 && b->userns)
                r = fsconfig(fs, FSCONFIG_SET_FLAG, "userxattr", NULL, 0);
        /* No inode index: the lower layers are shared between containers. */
        if (r >= 0)
                r = fsconfig(fs, FSCONFIG_SET_STRING, "index", "off", 0);
        if (r >= 0)
                r = fsconfig(fs, FSCONFIG_SET_STRING, "xino", "off", 0);
        if (r >= 0)
                r = fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0);
        if (r < 0) {
                r = -errno;
                close(fs);
                return r;
        }
        int mnt = fsmount(fs, FSMOUNT_CLOEXEC, 0);
        r = mnt < 0 ? -errno : 0;
        close(fs);
        if (r < 0)
                return r;
        if (move_mount(mnt, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) <
            0)
                r = -errno;
        close(mnt);
        return r;
}

/* mount(2)'s option string: ',' ':' and '\' are escaped with '\'. */
static int append_escaped(char *buf, size_t size, size_t *len, const char *s)
{
        for (; *s; s++) {
                if (*len + 3 >= size)
                        return -E2BIG;
                if (*s == ',' || *s == ':' || *s == '\\')
                        buf[(*len)++] = '\\';
                buf[(*len)++] = *s;
        }
        buf[*len] = '\0';
        return 0;
}

static int append_raw(char *buf, size_t size, size_t *len, const char *s)
{
        size_t n = strlen(s);
        if (*len + n + 1 >= size)
                return -E2BIG;
        memcpy(buf + *len, s, n + 1);
        *len += n;
        return 0;
}

static int overlay_mount2(const HdCtBundle *b, int target_fd)
{
        char opts[4096];
        size_t len = 0;
        int r = append_raw(opts, sizeof(opts), &len, "lowerdir=");
        for (size_t i = 0; i < b->n_lower && r >= 0; i++) {
                if (i > 0)
                        r = append_raw(opts, sizeof(opts), &len, ":");
                if (r >= 0)
                        r = append_escaped(opts, sizeof(opts), &len, b->lower[i]);
        }
        if (r >= 0)
                r = append_raw(opts, sizeof(opts), &len, ",upperdir=");
        if (r >= 0)
                r = append_escaped(opts, sizeof(opts), &len, b->upper);
        if (r >= 0)
                r = append_raw(opts, sizeof(opts), &len, ",workdir=");
        if (r >= 0)
                r = append_escaped(opts, sizeof(opts), &len, b->work);
        if (r >= 0 && b->userns)
                r = append_raw(opts, sizeof(opts), &len, ",userxattr");
        if (r >= 0)
                r = append_raw(opts, sizeof(opts), &len, ",index=off,xino=off");
        if (r < 0)
                return r;
        char p[FD_PATH_MAX];
        fd_path(target_fd, p);
        return mount("overlay", p, "overlay", 0, opts) < 0 ? -errno : 0;
}

/* The overlay the monitor mounted (ct-idmap.c), moved onto our cwd: the monitor started
 * us in the merged dir, which our root could not reach by its path (the state dir is the
 * host root's, 0700), and a detached mount can go into a mount namespace of any owner. */
static int attach_overlay(int rootfs_fd, HdCtFail *f)
{
        if (move_mount(rootfs_fd, "", AT_FDCWD, "",
                       MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                return hd_ct_fail(f, "mount-overlay", errno,
                                  "attach the overlay to the merged dir");
        return 0;
}

static int mount_overlay(const HdCtBundle *b, HdCtFail *f)
{
        int target = open(b->merged, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (target < 0)
                return hd_ct_fail(f, "mount-overlay", errno, "open `%s`", b->merged);
        /* The new mount API takes any number of layers ("lowerdir+", Linux 6.8);
         * older kernels get mount(2) and its one-page option string. */
        int r = overlay_fsopen(b, target);
        if (r == -ENOSYS || r == -EINVAL || r == -EOPNOTSUPP)
                r = overlay_mount2(b, target);
        close(target);
        if (r < 0)
                return hd_ct_fail(f, "mount-overlay", -r, "mount overlay on `%s`", b->merged);
        return 0;
}

/* ---- /sys --------------------------------------------------------------------------- */

/* The host's /sys, recursively bound read-only: a new sysfs needs the net
 * namespace's owner, which a user-namespaced container sharing the host's network
 * is not. */
static int bind_host_sys(int root_fd, HdCtFail *f)
{
        int target = mkdir_in_root(root_fd, "sys", 0755);
        if (target < 0)
                return hd_ct_fail(f, "mount-sys", -target, "create `/sys` in the rootfs");
        int tree = open_tree(AT_FDCWD, "/sys", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
        int r = tree < 0 ? -errno : 0;
        if (r >= 0) {
                struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
                                                       MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC };
                if (mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) <
                            0 ||
                    move_mount(tree, "", target, "",
                               MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                        r = -errno;
                close(tree);
        }
        close(target);
        if (r < 0)
                return hd_ct_fail(f, "mount-sys", -r, "bind the host's /sys read-only");
        return 0;
}

static int mount_sys(const HdCtBundle *b, int root_fd, HdCtFail *f)
{
        HdCtFail tmp = { 0 };
        /* Privileged: read-write, as Docker has it (udev, network and device setup). */
        unsigned long ro = b->privileged ? 0 : MS_RDONLY;
        int r = mount_in_root(root_fd, "sys", "sysfs", "sysfs",
                              ro | MS_NOSUID | MS_NOEXEC | MS_NODEV, NULL, SYSFS_MAGIC, "mount-sys",
                              &tmp);
        if (r >= 0)
                return 0;
        if (b->network == HD_CT_NETWORK_HOST && (tmp.err == EPERM || tmp.err == EACCES))
                return bind_host_sys(root_fd, f);
        *f = tmp;
        return r;
}

/* ---- /dev --------------------------------------------------------------------------- */

static const char *const dev_nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };

#define HOST_DEV_DEPTH 4

static bool skipped_dev_dir(const char *name)
{
        static const char *const skip[] = { "pts",  "shm",         "fd",   "mqueue",
                                            ".lxc", ".lxd-mounts", ".udev" };
        for (size_t i = 0; i < HD_ARRAY_SIZE(skip); i++)
                if (strcmp(name, skip[i]) == 0)
                        return true;
        return false;
}

/* A privileged container's /dev: a node for each of the host's devices under from
 * (recursively), made in to with the host's mode and owner, as Docker does (runc's
 * HostDevices: not the pts, shm, fd or mqueue dirs, not console, not ptmx, whose own is
 * pts/ptmx; no fifos, sockets or symlinks). What is there already (the default nodes)
 * stays; a directory that gets no device goes again. */
static int copy_host_devices(int from, int to, int depth, HdCtFail *f)
{
        int fd = openat(from, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
        if (!dir) {
                int e = errno;
                if (fd >= 0)
                        close(fd);
                return hd_ct_fail(f, "mount-devices", e, "read the host's /dev");
        }
        int r = 0;
        struct dirent *de;
        while (r >= 0 && (de = readdir(dir))) {
                const char *name = de->d_name;
                struct stat st;
                if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
                    fstatat(from, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                if (S_ISDIR(st.st_mode)) {
                        if (depth >= HOST_DEV_DEPTH || (depth == 0 && skipped_dev_dir(name)))
                                continue;
                        if (mkdirat(to, name, st.st_mode & 07777) < 0 && errno != EEXIST) {
                                r = hd_ct_fail(f, "mount-devices", errno, "create `/dev/%s`", name);
                                break;
                        }
                        int sub_from =
                                openat(from, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        int sub_to =
                                openat(to, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (sub_from >= 0 && sub_to >= 0)
                                r = copy_host_devices(sub_from, sub_to, depth + 1, f);
                        if (sub_from >= 0)
                                close(sub_from);
                        if (sub_to >= 0)
                                close(sub_to);
                        (void)unlinkat(to, name, AT_REMOVEDIR); /* ENOTEMPTY: it has some */
                        continue;
                }
                if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
                        continue;
                if (depth == 0 && (strcmp(name, "console") == 0 || strcmp(name, "ptmx") == 0))
                        continue;
                if (mknodat(to, name, st.st_mode & (S_IFMT | 0777), st.st_rdev) < 0) {
                        if (errno != EEXIST)
                                r = hd_ct_fail(f, "mount-devices", errno, "mknod `/dev/%s`", name);
                        continue;
                }
                /* The umask took from the mode; the owner is the host's (tty, disk, …). */
                if (fchmodat(to, name, st.st_mode & 07777, 0) < 0 ||
                    fchownat(to, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
                        r = hd_ct_fail(f, "mount-devices", errno, "set up `/dev/%s`", name);
        }
        closedir(dir);
        return r;
}

static int setup_dev(const HdCtBundle *b, int root_fd, HdCtFail *f)
{
        int r = mount_in_root(root_fd, "dev", "tmpfs", "tmpfs", MS_NOSUID | MS_NOEXEC,
                              "mode=755,size=65536", TMPFS_MAGIC, "mount-dev", f);
        if (r < 0)
                return r;
        /* A fresh tmpfs that only we have seen: plain *at() calls under its fd are safe. */
        _cleanup_close_ int dev = hd_ct_open_in_root(root_fd, "dev", O_PATH | O_DIRECTORY);
        if (dev < 0)
                return hd_ct_fail(f, "mount-dev", -dev, "open the new /dev");

        for (size_t i = 0; i < HD_ARRAY_SIZE(dev_nodes); i++) {
                char src[32], p[FD_PATH_MAX];
                snprintf(src, sizeof(src), "/dev/%s", dev_nodes[i]);
                struct stat st;
                if (stat(src, &st) < 0 || !S_ISCHR(st.st_mode))
                        return hd_ct_fail(f, "mount-devices", errno ? errno : ENODEV,
                                          "the host's `%s` is not a character device", src);
                _cleanup_close_ int fd =
                        openat(dev, dev_nodes[i],
                               O_CREAT | O_EXCL | O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
                if (fd < 0)
                        return hd_ct_fail(f, "mount-devices", errno, "create `/dev/%s`",
                                          dev_nodes[i]);
                fd_path(fd, p);
                if (mount(src, p, NULL, MS_BIND, NULL) < 0)
                        return hd_ct_fail(f, "mount-devices", errno, "bind `%s`", src);
        }

        if (b->privileged) {
                _cleanup_close_ int host = open("/dev", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (host < 0)
                        return hd_ct_fail(f, "mount-devices", errno, "open the host's /dev");
                if ((r = copy_host_devices(host, dev, 0, f)) < 0)
                        return r;
        }

        static const char *const dirs[] = { "pts", "shm", "mqueue" };
        for (size_t i = 0; i < HD_ARRAY_SIZE(dirs); i++)
                if (mkdirat(dev, dirs[i], 0755) < 0)
                        return hd_ct_fail(f, "mount-dev", errno, "create `/dev/%s`", dirs[i]);

        r = mount_in_root(root_fd, "dev/pts", "devpts", "devpts", MS_NOSUID | MS_NOEXEC,
                          "newinstance,ptmxmode=0666,mode=0620,gid=5", DEVPTS_SUPER_MAGIC,
                          "mount-devpts", f);
        if (r < 0 && f->err == EINVAL) {
                /* gid 5 (tty) is not mapped in this user namespace. */
                *f = (HdCtFail){ 0 };
                r = mount_in_root(root_fd, "dev/pts", "devpts", "devpts", MS_NOSUID | MS_NOEXEC,
                                  "newinstance,ptmxmode=0666,mode=0620", DEVPTS_SUPER_MAGIC,
                                  "mount-devpts", f);
        }
        if (r < 0)
                return r;
        if ((r = mount_in_root(root_fd, "dev/shm", "shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                               "mode=1777,size=67108864", TMPFS_MAGIC, "mount-shm", f)) < 0)
                return r;
        if ((r = mount_in_root(root_fd, "dev/mqueue", "mqueue", "mqueue",
                               MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, 0, "mount-mqueue", f)) < 0)
                return r;

        static const char *const links[][2] = {
                { "ptmx", "pts/ptmx" },          { "fd", "/proc/self/fd" },
                { "stdin", "/proc/self/fd/0" },  { "stdout", "/proc/self/fd/1" },
                { "stderr", "/proc/self/fd/2" },
        };
        for (size_t i = 0; i < HD_ARRAY_SIZE(links); i++)
                if (symlinkat(links[i][1], dev, links[i][0]) < 0)
                        return hd_ct_fail(f, "dev-symlinks", errno, "symlink `/dev/%s`",
                                          links[i][0]);
        return 0;
}

/* ---- pivot_root --------------------------------------------------------------------- */

static int pivot(int root_fd, HdCtFail *f)
{
        /* Stack the new root on the old and detach the old one from under it: no
         * directory for the old root is needed, and nothing of the host stays. */
        if (fchdir(root_fd) < 0)
                return hd_ct_fail(f, "pivot-root", errno, "chdir to the rootfs");
        if (syscall(SYS_pivot_root, ".", ".") < 0)
                return hd_ct_fail(f, "pivot-root", errno, "pivot_root");
        if (umount2(".", MNT_DETACH) < 0)
                return hd_ct_fail(f, "pivot-root", errno, "detach the old root");
        if (chdir("/") < 0)
                return hd_ct_fail(f, "pivot-root", errno, "chdir /");
        return 0;
}

/* ---- masked and read-only paths ----------------------------------------------------- */

static const char *const masked_paths[] = {
        "/proc/acpi",        "/proc/asound",  "/proc/interrupts",
        "/proc/kcore",       "/proc/keys",    "/proc/latency_stats",
        "/proc/sched_debug", "/proc/scsi",    "/proc/timer_list",
        "/proc/timer_stats", "/sys/firmware", "/sys/devices/virtual/powercap",
};

static const char *const readonly_paths[] = {
        "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

static int mask_paths(int root_fd, HdCtFail *f)
{
        /* The /dev/null bound above, checked to be the real one (char 1:3). */
        _cleanup_close_ int null = hd_ct_open_in_root(root_fd, "/dev/null", O_PATH | O_NOFOLLOW);
        struct stat st;
        if (null < 0)
                return hd_ct_fail(f, "mask-paths", -null, "open /dev/null");
        if (fstat(null, &st) < 0 || !S_ISCHR(st.st_mode) || major(st.st_rdev) != 1 ||
            minor(st.st_rdev) != 3)
                return hd_ct_fail(f, "mask-paths", EXDEV, "/dev/null is not the null device");
        char null_path[FD_PATH_MAX];
        fd_path(null, null_path);

        for (size_t i = 0; i < HD_ARRAY_SIZE(masked_paths); i++) {
                _cleanup_close_ int fd =
                        hd_ct_open_in_root(root_fd, masked_paths[i], O_PATH | O_NOFOLLOW);
                if (fd == -ENOENT)
                        continue;
                if (fd < 0)
                        return hd_ct_fail(f, "mask-paths", -fd, "open `%s`", masked_paths[i]);
                if (fstat(fd, &st) < 0)
                        return hd_ct_fail(f, "mask-paths", errno, "stat `%s`", masked_paths[i]);
                char p[FD_PATH_MAX];
                fd_path(fd, p);
                int r;
                if (S_ISDIR(st.st_mode))
                        r = mount("tmpfs", p, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                                  "size=4k,nr_inodes=1,mode=555");
                else
                        r = mount(null_path, p, NULL, MS_BIND, NULL);
                if (r < 0)
                        return hd_ct_fail(f, "mask-paths", errno, "mask `%s`", masked_paths[i]);
        }
        return 0;
}

static int readonly(int root_fd, HdCtFail *f)
{
        for (size_t i = 0; i < HD_ARRAY_SIZE(readonly_paths); i++) {
                const char *path = readonly_paths[i];
                char p[FD_PATH_MAX];
                int fd = hd_ct_open_in_root(root_fd, path, O_PATH | O_NOFOLLOW);
                if (fd == -ENOENT)
                        continue;
                if (fd < 0)
                        return hd_ct_fail(f, "readonly-paths", -fd, "open `%s`", path);
                fd_path(fd, p);
                int r = mount(p, p, NULL, MS_BIND | MS_REC, NULL);
                int e = errno;
                close(fd);
                if (r < 0)
                        return hd_ct_fail(f, "readonly-paths", e, "bind `%s`", path);
                /* Again through the path: the fd above names what is under the bind. */
                fd = hd_ct_open_in_root(root_fd, path, O_PATH | O_NOFOLLOW);
                if (fd < 0)
                        return hd_ct_fail(f, "readonly-paths", -fd, "reopen `%s`", path);
                fd_path(fd, p);
                r = mount(NULL, p, NULL,
                          MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                          NULL);
                e = errno;
                close(fd);
                if (r < 0)
                        return hd_ct_fail(f, "readonly-paths", e, "remount `%s` read-only", path);
        }
        return 0;
}

/* ---- all of it ---------------------------------------------------------------------- */

int hd_ct_rootfs_setup(const HdCtBundle *b, int rootfs_fd, HdCtFail *f)
{
        /* Nothing we mount may propagate back to the host. */
        if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
                return hd_ct_fail(f, "mount-rslave", errno, "make / a recursive slave");
        int r = rootfs_fd >= 0 ? attach_overlay(rootfs_fd, f) : mount_overlay(b, f);
        if (r < 0)
                return r;

        /* The moved mount is the one rootfs_fd holds, now in our namespace. */
        _cleanup_close_ int root =
                rootfs_fd >= 0 ? fcntl(rootfs_fd, F_DUPFD_CLOEXEC, 3)
                               : open(b->merged, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (root < 0)
                return hd_ct_fail(f, "mount-overlay", errno, "open `%s`", b->merged);
        if (!fs_is(root, OVERLAYFS_SUPER_MAGIC))
                return hd_ct_fail(f, "mount-overlay", EXDEV, "`%s` is not the overlay", b->merged);

        if ((r = mount_in_root(root, "proc", "proc", "proc", MS_NOSUID | MS_NOEXEC | MS_NODEV, NULL,
                               PROC_SUPER_MAGIC, "mount-proc", f)) < 0 ||
            (r = mount_sys(b, root, f)) < 0 || (r = setup_dev(b, root, f)) < 0 ||
            (r = pivot(root, f)) < 0)
                return r;

        /* Privileged: nothing masked, nothing read-only (Docker's --privileged). */
        if (b->privileged)
                return 0;
        _cleanup_close_ int newroot = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (newroot < 0)
                return hd_ct_fail(f, "pivot-root", errno, "open the new root");
        if ((r = mask_paths(newroot, f)) < 0 || (r = readonly(newroot, f)) < 0)
                return r;
        return 0;
}
