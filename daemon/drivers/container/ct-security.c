/* The container's last steps before exec: bounding set, identity, capabilities,
 * no_new_privs and the seccomp filter (DESIGN.md §4).
 *
 * hd_ct_security_apply runs in the container's init between fork and exec: it must not
 * allocate, take locks or touch stdio, so it uses raw syscalls where a glibc wrapper
 * would do more than the syscall (setgroups and the set*id family broadcast to every
 * thread through signals), and reads /proc into a stack buffer. */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ct-security.h"

#define CAP_BIT(c) (1ULL << (c))

uint64_t hd_ct_caps_default(void)
{
        return CAP_BIT(CAP_CHOWN) | CAP_BIT(CAP_DAC_OVERRIDE) | CAP_BIT(CAP_FSETID) |
               CAP_BIT(CAP_FOWNER) | CAP_BIT(CAP_MKNOD) | CAP_BIT(CAP_NET_RAW) |
               CAP_BIT(CAP_SETGID) | CAP_BIT(CAP_SETUID) | CAP_BIT(CAP_SETFCAP) |
               CAP_BIT(CAP_SETPCAP) | CAP_BIT(CAP_NET_BIND_SERVICE) | CAP_BIT(CAP_SYS_CHROOT) |
               CAP_BIT(CAP_KILL) | CAP_BIT(CAP_AUDIT_WRITE);
}

/* The 32-bit id calls where the plain ones take 16-bit ids (i386, arm). */
#ifdef SYS_setgroups32
#define HD_SYS_setgroups SYS_setgroups32
#else
#define HD_SYS_setgroups SYS_setgroups
#endif
#ifdef SYS_setresgid32
#define HD_SYS_setresgid SYS_setresgid32
#else
#define HD_SYS_setresgid SYS_setresgid
#endif
#ifdef SYS_setresuid32
#define HD_SYS_setresuid SYS_setresuid32
#else
#define HD_SYS_setresuid SYS_setresuid
#endif

/* The kernel's highest capability from /proc/sys/kernel/cap_last_cap, or -1 when it
 * cannot be read (no /proc yet): no allocation, no stdio. */
static int read_cap_last_cap(void)
{
        int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -1;
        char buf[16];
        ssize_t n;
        do
                n = read(fd, buf, sizeof(buf));
        while (n < 0 && errno == EINTR);
        close(fd);

        int v = 0;
        ssize_t i = 0;
        for (; i < n && buf[i] >= '0' && buf[i] <= '9'; i++) {
                v = v * 10 + (buf[i] - '0');
                if (v > 63)
                        return -1;
        }
        return i > 0 ? v : -1;
}

uint64_t hd_ct_caps_all(void)
{
        int last = read_cap_last_cap();
        if (last < 0)
                last = CAP_LAST_CAP;
        uint64_t all = 0;
        for (int c = 0; c <= last; c++)
                if (prctl(PR_CAPBSET_READ, (unsigned long)c, 0, 0, 0) == 1)
                        all |= CAP_BIT(c);
        return all;
}

uint64_t hd_ct_caps_tweak(uint64_t defaults, uint64_t all, const HdCtCapsTweak *t)
{
        uint64_t caps = t->privileged || t->add_all ? all : defaults;
        caps = t->drop_all ? 0 : caps & ~t->drop;
        return (caps | t->add) & all;
}

/* Drops from the bounding set every capability not in caps, up to the kernel's last.
 * Capabilities already out of the set are skipped, so applying twice works. */
static int drop_bounding_set(uint64_t caps)
{
        int last = read_cap_last_cap();
        bool probing = last < 0;
        if (probing)
                last = CAP_LAST_CAP;

        for (int c = 0; c <= last; c++) {
                if (caps & CAP_BIT(c))
                        continue;
                int in_set = prctl(PR_CAPBSET_READ, (unsigned long)c, 0, 0, 0);
                if (in_set < 0 && errno == EINVAL && probing)
                        break; /* an older kernel than our headers: c is past its last */
                if (in_set < 0)
                        return -errno;
                if (in_set == 0)
                        continue;
                if (prctl(PR_CAPBSET_DROP, (unsigned long)c, 0, 0, 0) < 0)
                        return -errno;
        }
        return 0;
}

static int set_capabilities(uint64_t caps)
{
        struct __user_cap_header_struct header = {
                .version = _LINUX_CAPABILITY_VERSION_3,
                .pid = 0,
        };
        struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = { 0 };
        data[0].effective = data[0].permitted = (uint32_t)caps;
        data[1].effective = data[1].permitted = (uint32_t)(caps >> 32);
        if (syscall(SYS_capset, &header, data) < 0)
                return -errno;
        return 0;
}

static int load_seccomp(const void *prog, size_t len)
{
        /* struct sock_fprog counts instructions in an unsigned short. */
        if (len == 0 || len % sizeof(struct sock_filter) != 0 ||
            len / sizeof(struct sock_filter) > 0xffff)
                return -EINVAL;
        struct sock_fprog fprog = {
                .len = (unsigned short)(len / sizeof(struct sock_filter)),
                .filter = (struct sock_filter *)prog,
        };
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) == 0)
                return 0;
        /* No seccomp(2): kernels before 3.17, and valgrind (3.19 has no wrapper for it).
         * With no flags the prctl is the same operation. */
        if (errno == ENOSYS && prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog, 0, 0) == 0)
                return 0;
        return -errno;
}

static int fail_at(const char *step, int r, const char **ret_step)
{
        if (ret_step)
                *ret_step = step;
        return r;
}

int hd_ct_security_apply(const HdCtSecurity *s, const char **ret_step)
{
        int r = drop_bounding_set(s->caps);
        if (r < 0)
                return fail_at("capbset", r, ret_step);

        /* Supplementary groups first: setresuid may take CAP_SETGID away. */
        if (syscall(HD_SYS_setgroups, (unsigned long)s->n_groups, s->groups) < 0)
                return fail_at("setgroups", -errno, ret_step);
        if (syscall(HD_SYS_setresgid, (unsigned long)s->gid, (unsigned long)s->gid,
                    (unsigned long)s->gid) < 0)
                return fail_at("setresgid", -errno, ret_step);
        /* Leaving uid 0 clears the permitted and effective sets, which is what we want
         * for a non-root user, so no PR_SET_KEEPCAPS: root keeps its sets and capset
         * narrows them below. */
        if (syscall(HD_SYS_setresuid, (unsigned long)s->uid, (unsigned long)s->uid,
                    (unsigned long)s->uid) < 0)
                return fail_at("setresuid", -errno, ret_step);

        r = set_capabilities(s->uid == 0 ? s->caps : 0);
        if (r < 0)
                return fail_at("capset", r, ret_step);

        /* capset with an empty inheritable set already empties the ambient set; clear it
         * anyway. EINVAL: a kernel without ambient capabilities (before 4.3). */
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
                return fail_at("ambient", -errno, ret_step);

        if (s->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return fail_at("no_new_privs", -errno, ret_step);

        /* Last, so that the filter never stands between init and the steps above. Without
         * no_new_privs the kernel wants CAP_SYS_ADMIN here (EACCES otherwise), which the
         * default set does not hold. */
        if (s->seccomp) {
                r = load_seccomp(s->seccomp, s->seccomp_len);
                if (r < 0)
                        return fail_at("seccomp", r, ret_step);
        }

        if (ret_step)
                *ret_step = NULL;
        return 0;
}
