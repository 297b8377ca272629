/* What a VM boots from: a qcow2 overlay per instance whose backing file is the image blob
 * (qemu-img, run without a shell), or a kernel bundle's kernel and initrd, unpacked once
 * per bundle into a cache shared by every instance of it, and the instance's cloud-init
 * seed ISO. Image blobs are only read. */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hd-util.h"
#include "img-tar.h"
#include "vm-cloudinit.h"
#include "vm-driver-internal.h"

#define DISK_FILE    "disk.qcow2"
#define SEED_FILE    "seed.iso"
#define TOOL_OUT_MAX 2048
#define GIB          (INT64_C(1) << 30)

char *hd_vm_instance_dir(VmDriver *d, const char *uuid)
{
        char *p = NULL;
        return asprintf(&p, "%s/%s", d->vms_dir, uuid) < 0 ? NULL : p;
}

char *hd_vm_console_path(VmDriver *d, const char *uuid)
{
        char *p = NULL;
        return asprintf(&p, "%s/%s/console.log", d->vms_dir, uuid) < 0 ? NULL : p;
}

void hd_vm_boot_files_clear(VmBootFiles *b)
{
        free(b->disk);
        free(b->kernel);
        free(b->initrd);
        free(b->cmdline);
        free(b->seed_iso);
        *b = (VmBootFiles){ 0 };
}

/* ---- running a tool ------------------------------------------------------------------ */

/* Runs argv[0] (found on PATH) with posix_spawnp, no shell, stdin from /dev/null; what it
 * prints (the first TOOL_OUT_MAX bytes) becomes the error message when it fails. */
static int run_tool(char *const argv[], const char *package, HdError **err)
{
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
                return hd_error_set(err, -errno, "cannot create a pipe: %m");
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_adddup2(&fa, p[1], 1);
        posix_spawn_file_actions_adddup2(&fa, p[1], 2);
        char *envp[] = {
                (char *)"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                (char *)"LC_ALL=C", NULL
        };
        pid_t pid;
        int r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, envp);
        posix_spawn_file_actions_destroy(&fa);
        close(p[1]);
        if (r != 0) {
                close(p[0]);
                if (r == ENOENT)
                        return hd_error_set(err, -ENOENT, "`%s` not found (apt-get install %s)",
                                            argv[0], package);
                return hd_error_set(err, -r, "cannot run `%s`: %s", argv[0], strerror(r));
        }
        char out[TOOL_OUT_MAX + 1];
        size_t len = 0;
        for (;;) {
                char buf[512];
                ssize_t n = read(p[0], buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                size_t take = (size_t)n < TOOL_OUT_MAX - len ? (size_t)n : TOOL_OUT_MAX - len;
                memcpy(out + len, buf, take);
                len += take;
        }
        close(p[0]);
        out[len] = '\0';
        while (len > 0 && strchr(" \t\r\n", out[len - 1]))
                out[--len] = '\0';
        int status = 0;
        while (waitpid(pid, &status, 0) < 0) {
                if (errno != EINTR)
                        return hd_error_set(err, -errno, "cannot wait for `%s`: %m", argv[0]);
        }
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;
        if (WIFEXITED(status))
                return hd_error_set(err, -EIO, "`%s` failed (exit %d): %s", argv[0],
                                    WEXITSTATUS(status), len ? out : "no output");
        return hd_error_set(err, -EIO, "`%s` was killed by signal %d", argv[0], WTERMSIG(status));
}

/* ---- disks --------------------------------------------------------------------------- */

/* A qcow2 file at path: an overlay of backing (format backing_fmt) when backing is set,
 * else an empty disk; size_gb > 0 sets its size (else the backing file's). Made under a
 * temporary name, then renamed: a crash leaves no half-made disk behind. */
static int qcow2_create(const char *path, const char *backing, const char *backing_fmt,
                        int64_t size_gb, HdError **err)
{
        _cleanup_free_ char *tmp = NULL, *size = NULL;
        if (asprintf(&tmp, "%s.tmp", path) < 0 ||
            (size_gb > 0 && asprintf(&size, "%lldG", (long long)size_gb) < 0))
                return hd_error_set(err, -ENOMEM, "out of memory");
        (void)unlink(tmp);
        char *argv[12];
        size_t k = 0;
        argv[k++] = (char *)"qemu-img";
        argv[k++] = (char *)"create";
        argv[k++] = (char *)"-q";
        argv[k++] = (char *)"-f";
        argv[k++] = (char *)"qcow2";
        if (backing) {
                argv[k++] = (char *)"-F";
                argv[k++] = (char *)backing_fmt;
                argv[k++] = (char *)"-b";
                argv[k++] = (char *)backing;
        }
        argv[k++] = tmp;
        if (size)
                argv[k++] = size;
        argv[k] = NULL;
        int r = run_tool(argv, "qemu-utils", err);
        if (r >= 0 && chmod(tmp, 0600) < 0)
                r = hd_error_set(err, -errno, "cannot chmod `%s`: %m", tmp);
        if (r >= 0 && rename(tmp, path) < 0)
                r = hd_error_set(err, -errno, "cannot rename `%s`: %m", tmp);
        if (r < 0)
                (void)unlink(tmp);
        return r;
}

/* The virtual size of an image file: a qcow2 header's, or a raw file's own. */
static int image_virtual_size(const HdImgVmFile *img, uint64_t *ret, HdError **err)
{
        if (strcmp(img->format, "raw") == 0) {
                *ret = (uint64_t)img->size;
                return 0;
        }
        _cleanup_close_ int fd = open(img->path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return hd_error_set(err, -errno, "cannot open `%s`: %m", img->path);
        unsigned char h[32];
        if (pread(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h) || memcmp(h, "QFI\xfb", 4) != 0)
                return hd_error_set(err, -EIO, "`%s` is not a qcow2 image", img->path);
        uint64_t v = 0;
        for (int k = 24; k < 32; k++)
                v = v << 8 | h[k];
        *ret = v;
        return 0;
}

int hd_vm_disk_check(const HdImgVmFile *img, int64_t disk_gb, HdError **err)
{
        if (disk_gb <= 0)
                return 0;
        if (disk_gb > INT64_MAX / GIB)
                return hd_error_set_field(err, -EINVAL, "resources.disk_gb",
                                          "resources.disk_gb is too large");
        if (strcmp(img->format, "kernel") == 0)
                return 0;
        uint64_t size = 0;
        int r = image_virtual_size(img, &size, err);
        if (r < 0)
                return r;
        if ((uint64_t)disk_gb * GIB < size)
                return hd_error_set_field(err, -EINVAL, "resources.disk_gb",
                                          "resources.disk_gb (%lld GiB) is smaller than the "
                                          "image's disk (%llu bytes)",
                                          (long long)disk_gb, (unsigned long long)size);
        return 0;
}

/* ---- kernel bundles ------------------------------------------------------------------ */

/* The cache directory's name: the bundle digest's hex part, checked to be one. */
static const char *digest_hex(const char *digest)
{
        const char *colon = strchr(digest, ':');
        const char *hex = colon ? colon + 1 : digest;
        if (strlen(hex) != 64 || strspn(hex, "0123456789abcdef") != 64)
                return NULL;
        return hex;
}

static bool is_regular_at(int dirfd, const char *name)
{
        struct stat st;
        return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

/* Unpacks the bundle into a new directory beside its final place, then renames it there:
 * the cache only ever holds whole bundles. The extractor is the image importer's, which
 * refuses anything that would land outside the directory. Caller holds kernel_lock. */
static int kernel_unpack(VmDriver *d, const HdImgVmFile *img, const char *hex, HdError **err)
{
        int r = hd_mkdir_p(d->kernels_dir, 0700);
        if (r < 0)
                return hd_error_set(err, r, "cannot create `%s`: %s", d->kernels_dir, strerror(-r));
        _cleanup_close_ int kfd = open(d->kernels_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (kfd < 0)
                return hd_error_set(err, -errno, "cannot open `%s`: %m", d->kernels_dir);
        _cleanup_free_ char *tmp = NULL;
        if (asprintf(&tmp, "%s/.unpack-XXXXXX", d->kernels_dir) < 0)
                return hd_error_set(err, -ENOMEM, "out of memory");
        if (!mkdtemp(tmp))
                return hd_error_set(err, -errno, "cannot create a directory in `%s`: %m",
                                    d->kernels_dir);
        const char *tmp_name = strrchr(tmp, '/') + 1;
        _cleanup_close_ int src = open(img->path, O_RDONLY | O_CLOEXEC);
        _cleanup_close_ int dfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (src < 0 || dfd < 0)
                r = hd_error_set(err, -errno, "cannot open `%s`: %m", src < 0 ? img->path : tmp);
        if (r >= 0 &&
            (r = hd_img_tar_extract(src, HD_IMG_COMPRESSION_NONE, dfd, NULL, NULL, err)) < 0)
                hd_error_wrap(err, "unpacking the kernel bundle");
        if (r >= 0 && !is_regular_at(dfd, "vmlinuz"))
                r = hd_error_set(err, -EINVAL, "the kernel bundle has no regular file `vmlinuz`");
        if (r >= 0 && faccessat(dfd, "initrd", F_OK, AT_SYMLINK_NOFOLLOW) == 0 &&
            !is_regular_at(dfd, "initrd"))
                r = hd_error_set(err, -EINVAL,
                                 "the kernel bundle's `initrd` is not a regular file");
        if (r >= 0 && chmod(tmp, 0700) < 0)
                r = hd_error_set(err, -errno, "cannot chmod `%s`: %m", tmp);
        if (r >= 0 && renameat(kfd, tmp_name, kfd, hex) < 0) {
                /* Made meanwhile by another hostd on this state dir: theirs is as good. */
                if (errno != EEXIST && errno != ENOTEMPTY)
                        r = hd_error_set(err, -errno, "cannot rename `%s`: %m", tmp);
                (void)hd_img_rm_rf_at(kfd, tmp_name);
        }
        if (r < 0)
                (void)hd_img_rm_rf_at(kfd, tmp_name);
        return r;
}

static int kernel_files(VmDriver *d, const HdImgVmFile *img, VmBootFiles *ret, HdError **err)
{
        const char *hex = digest_hex(img->digest ? img->digest : "");
        if (!hex)
                return hd_error_set(err, -EINVAL, "kernel bundle digest `%s` is not sha256",
                                    img->digest ? img->digest : "");
        _cleanup_free_ char *dir = NULL;
        if (asprintf(&dir, "%s/%s", d->kernels_dir, hex) < 0 ||
            asprintf(&ret->kernel, "%s/vmlinuz", dir) < 0)
                return hd_error_set(err, -ENOMEM, "out of memory");
        int r = 0;
        pthread_mutex_lock(&d->kernel_lock);
        if (access(ret->kernel, F_OK) < 0)
                r = kernel_unpack(d, img, hex, err);
        pthread_mutex_unlock(&d->kernel_lock);
        if (r < 0)
                return r;
        _cleanup_free_ char *initrd = NULL;
        if (asprintf(&initrd, "%s/initrd", dir) < 0)
                return hd_error_set(err, -ENOMEM, "out of memory");
        if (access(initrd, F_OK) == 0)
                ret->initrd = TAKE_PTR(initrd);
        if (img->cmdline && *img->cmdline && !(ret->cmdline = strdup(img->cmdline)))
                return hd_error_set(err, -ENOMEM, "out of memory");
        return 0;
}

/* ---- the cloud-init seed ------------------------------------------------------------- */

/* Writes <dir>/seed.iso from the spec's cloud_init, replacing the one of an earlier start
 * (the ISO is built aside and renamed into place), and returns its path in *ret; with no
 * cloud-init data removes any seed there and returns NULL. */
static int seed_prepare(const HdInstance *inst, const char *dir, char **ret, HdError **err)
{
        const HdCloudInit *ci = &inst->spec.cloud_init;
        _cleanup_free_ char *iso = NULL;
        *ret = NULL;
        if (asprintf(&iso, "%s/" SEED_FILE, dir) < 0)
                return hd_error_set(err, -ENOMEM, "out of memory");
        bool has_user_data = ci->user_data && *ci->user_data;
        if (!has_user_data && ci->ssh_authorized_keys.n == 0) {
                if (unlink(iso) < 0 && errno != ENOENT)
                        return hd_error_set(err, -errno, "cannot remove `%s`: %m", iso);
                return 0;
        }
        HdVmCloudInit seed = {
                .instance_id = inst->uuid,
                .hostname = inst->spec.hostname ? inst->spec.hostname : inst->spec.name,
                .user_data = has_user_data ? ci->user_data : NULL,
                .ssh_authorized_keys = (const char *const *)ci->ssh_authorized_keys.items,
                .n_keys = ci->ssh_authorized_keys.n,
        };
        int r = hd_vm_cloudinit_seed(&seed, iso, err);
        if (r < 0)
                return hd_error_wrap(err, "the cloud-init seed");
        *ret = TAKE_PTR(iso);
        return 0;
}

/* ---- the instance -------------------------------------------------------------------- */

int hd_vm_disk_prepare(VmDriver *d, const HdInstance *inst, const HdImgVmFile *img, const char *dir,
                       VmBootFiles *ret, HdError **err)
{
        *ret = (VmBootFiles){ 0 };
        _cleanup_free_ char *disk = NULL;
        if (asprintf(&disk, "%s/" DISK_FILE, dir) < 0)
                return hd_error_set(err, -ENOMEM, "out of memory");
        int64_t disk_gb = inst->spec.resources.disk_gb;
        bool kernel = strcmp(img->format, "kernel") == 0;
        int r = 0;
        if (!kernel && strcmp(img->format, "qcow2") != 0 && strcmp(img->format, "raw") != 0)
                return hd_error_set(err, -EINVAL, "VM image format `%s` cannot boot", img->format);
        if (kernel)
                r = kernel_files(d, img, ret, err);
        /* The overlay is the VM's disk: made on the first start, kept until delete. */
        if (r >= 0 && (!kernel || disk_gb > 0) && access(disk, F_OK) < 0) {
                r = hd_vm_disk_check(img, disk_gb, err);
                if (r >= 0)
                        r = qcow2_create(disk, kernel ? NULL : img->path, img->format, disk_gb,
                                         err);
        }
        if (r >= 0 && access(disk, F_OK) == 0)
                ret->disk = TAKE_PTR(disk);
        if (r >= 0)
                r = seed_prepare(inst, dir, &ret->seed_iso, err);
        if (r < 0)
                hd_vm_boot_files_clear(ret);
        return r;
}

int hd_vm_instance_dir_remove(VmDriver *d, const char *uuid, HdError **err)
{
        _cleanup_close_ int fd = open(d->vms_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT
                               ? 0
                               : hd_error_set(err, -errno, "cannot open `%s`: %m", d->vms_dir);
        int r = hd_img_rm_rf_at(fd, uuid);
        if (r < 0)
                return hd_error_set(err, r, "cannot remove `%s/%s`: %s", d->vms_dir, uuid,
                                    strerror(-r));
        return 0;
}
