/* The container's default seccomp profile (DESIGN.md §4), compiled once in hostd with
 * libseccomp into a BPF program that covers every architecture the host can run.
 *
 * The semantics are those of Docker's default profile, written as a deny list: the
 * default action is ALLOW and the listed calls fail with EPERM (clone3 with ENOSYS, so
 * that glibc falls back to clone, whose flags the filter can see). A syscall name that
 * this libseccomp does not know is skipped; one that some architecture lacks is left
 * out of that architecture's part by libseccomp itself. */
#include <errno.h>
#include <linux/filter.h>
#include <sched.h>
#include <seccomp.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ct-security.h"
#include "hd-error.h"
#include "hd-macro.h"

HD_DEFINE_CLEANUP(scmp_filter_ctx, seccomp_release)

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif
#ifndef AF_ALG
#define AF_ALG 38
#endif

/* Calls that fail with EPERM whatever their arguments. */
static const char *const denied[] = {
        /* keys are not namespaced */
        "keyctl", "add_key", "request_key",
        /* a large attack surface, or a way around the rest of the filter */
        "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register", "bpf",
        "perf_event_open",
        /* the kernel itself */
        "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
        "create_module", "get_kernel_syms", "query_module", "uselib", "reboot", "swapon", "swapoff",
        "acct", "syslog", "lookup_dcookie", "nfsservctl", "_sysctl", "sysfs", "ustat",
        /* mounts and namespaces */
        "mount", "umount2", "umount", "pivot_root", "unshare", "setns", "fsopen", "fsconfig",
        "fsmount", "fspick", "move_mount", "open_tree", "mount_setattr",
        /* quotas */
        "quotactl", "quotactl_fd",
        /* the clock: adjtimex and clock_adjtime pass their mode behind a pointer, which a
         * filter cannot read, so the read-only use goes too */
        "settimeofday", "stime", "clock_settime", "clock_settime64", "clock_adjtime",
        "clock_adjtime64", "adjtimex",
        /* direct hardware access */
        "iopl", "ioperm", "vm86", "vm86old",
        /* file handles reach past the container's root; kcmp and pidfd_getfd look into
         * other processes */
        "open_by_handle_at", "name_to_handle_at", "kcmp", "pidfd_getfd"
};

/* Every CLONE_NEW* flag that clone(2) accepts (CLONE_NEWTIME shares its bit with the
 * exit signal there and is clone3/unshare only). */
static const unsigned long clone_ns_flags[] = {
        CLONE_NEWNS,   CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
        CLONE_NEWUSER, CLONE_NEWPID,    CLONE_NEWNET,
};

static int add_rule(scmp_filter_ctx ctx, uint32_t action, const char *name, unsigned n_cmp,
                    const struct scmp_arg_cmp *cmp, HdError **err)
{
        int nr = seccomp_syscall_resolve_name(name);
        if (nr == __NR_SCMP_ERROR)
                return 0; /* unknown to this libseccomp: nothing to deny */
        int r = seccomp_rule_add_array(ctx, action, nr, n_cmp, cmp);
        if (r < 0)
                return hd_error_set(err, r, "cannot add the seccomp rule for `%s`: %s", name,
                                    strerror(-r));
        return 0;
}

/* personality(2) is allowed for PER_LINUX (0), UNAME26 (0x8), PER_LINUX32 (0x20000),
 * PER_LINUX32|UNAME26 (0x20008) and the query 0xffffffff, as in Docker's profile.
 * libseccomp compares an argument once per rule and a rule cannot have the default
 * action, so "anything else" is written as a union of EPERM rules, none of which
 * matches an allowed value:
 *   - arg > 0xffffffff;
 *   - for the 30 bits outside 0x20008, a cycle b_i → b_{i+1}: bit b_i set and bit
 *     b_{i+1} clear;
 *   - the first of those bits set and bit 3 (or bit 17) clear.
 * A 32-bit value with some bit outside 0x20008 set that is not 0xffffffff has its set
 * bits either a proper part of the 30 (the cycle leaves that part somewhere) or all of
 * them, and then lacks bit 3 or 17. Every rule needs a bit outside 0x20008 set (so 0,
 * 0x8, 0x20000 and 0x20008 pass) and one bit clear (so 0xffffffff passes). The kernel
 * reads the argument as an unsigned int; values with high bits set are refused. */
static int add_personality_rules(scmp_filter_ctx ctx, HdError **err)
{
        const uint32_t allowed_bits = 0x20008;
        unsigned bits[32], n = 0;
        for (unsigned b = 0; b < 32; b++)
                if (!(allowed_bits & (1u << b)))
                        bits[n++] = b;

        struct scmp_arg_cmp high = SCMP_A0(SCMP_CMP_GT, 0xffffffffULL);
        int r = add_rule(ctx, SCMP_ACT_ERRNO(EPERM), "personality", 1, &high, err);
        for (unsigned i = 0; r >= 0 && i < n + 2; i++) {
                uint64_t set = 1ULL << bits[i < n ? i : 0];
                uint64_t clear = i < n    ? 1ULL << bits[(i + 1) % n]
                                 : i == n ? 1ULL << 3
                                          : 1ULL << 17;
                struct scmp_arg_cmp cmp = SCMP_A0(SCMP_CMP_MASKED_EQ, set | clear, set);
                r = add_rule(ctx, SCMP_ACT_ERRNO(EPERM), "personality", 1, &cmp, err);
        }
        return r;
}

static int add_rules(scmp_filter_ctx ctx, HdError **err)
{
        int r = 0;
        for (size_t i = 0; r >= 0 && i < HD_ARRAY_SIZE(denied); i++)
                r = add_rule(ctx, SCMP_ACT_ERRNO(EPERM), denied[i], 0, NULL, err);

        /* clone with any namespace flag; the flags are the first argument everywhere but
         * on s390, where the stack pointer comes first. */
        uint32_t native = seccomp_arch_native();
        unsigned flags_arg = native == SCMP_ARCH_S390X || native == SCMP_ARCH_S390 ? 1 : 0;
        for (size_t i = 0; r >= 0 && i < HD_ARRAY_SIZE(clone_ns_flags); i++) {
                struct scmp_arg_cmp cmp = {
                        .arg = flags_arg,
                        .op = SCMP_CMP_MASKED_EQ,
                        .datum_a = clone_ns_flags[i],
                        .datum_b = clone_ns_flags[i],
                };
                r = add_rule(ctx, SCMP_ACT_ERRNO(EPERM), "clone", 1, &cmp, err);
        }
        if (r >= 0)
                r = add_rule(ctx, SCMP_ACT_ERRNO(ENOSYS), "clone3", 0, NULL, err);

        /* The domain is an int: compare the low 32 bits only, so that garbage in the upper
         * half of the register cannot step around the rule. On x86 (i386), a socket()
         * made through socketcall(2) passes its arguments in memory, where no filter can
         * read them: libseccomp then refuses socketcall(SYS_SOCKET, …) whatever the
         * domain. Only 32-bit binaries older than glibc 2.23 still create sockets that
         * way; the other socketcall calls, and the direct socket syscall, pass. */
        static const int socket_domains[] = { AF_VSOCK, AF_ALG };
        for (size_t i = 0; r >= 0 && i < HD_ARRAY_SIZE(socket_domains); i++) {
                struct scmp_arg_cmp cmp =
                        SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffULL, (uint64_t)socket_domains[i]);
                r = add_rule(ctx, SCMP_ACT_ERRNO(EPERM), "socket", 1, &cmp, err);
        }

        if (r >= 0)
                r = add_personality_rules(ctx, err);
        return r;
}

/* The architectures a process on this host can switch to: a 32-bit binary (or int 0x80
 * from a 64-bit one) must meet the same filter, not the bad-architecture action. */
static int add_arches(scmp_filter_ctx ctx, HdError **err)
{
        uint32_t extra[2];
        size_t n = 0;
        switch (seccomp_arch_native()) {
        case SCMP_ARCH_X86_64:
                extra[n++] = SCMP_ARCH_X86;
                extra[n++] = SCMP_ARCH_X32;
                break;
        case SCMP_ARCH_AARCH64:
                extra[n++] = SCMP_ARCH_ARM;
                break;
        default:
                break;
        }
        for (size_t i = 0; i < n; i++) {
                int r = seccomp_arch_add(ctx, extra[i]);
                if (r < 0 && r != -EEXIST)
                        return hd_error_set(err, r, "cannot add seccomp architecture %#x: %s",
                                            (unsigned)extra[i], strerror(-r));
        }
        return 0;
}

static int export_bpf(scmp_filter_ctx ctx, void **ret_prog, size_t *ret_len, HdError **err)
{
        _cleanup_close_ int fd = memfd_create("hd-seccomp", MFD_CLOEXEC);
        if (fd < 0)
                return hd_error_set(err, -errno,
                                    "cannot create a memfd for the seccomp filter: %m");
        int r = seccomp_export_bpf(ctx, fd);
        if (r < 0)
                return hd_error_set(err, r, "cannot export the seccomp filter: %s", strerror(-r));

        struct stat st;
        if (fstat(fd, &st) < 0)
                return hd_error_set(err, -errno, "cannot stat the seccomp filter: %m");
        /* Checked here rather than at the first container start: the kernel loads at most
         * BPF_MAXINSNS instructions. */
        if (st.st_size <= 0 || st.st_size % sizeof(struct sock_filter) != 0 ||
            st.st_size / sizeof(struct sock_filter) > BPF_MAXINSNS)
                return hd_error_set(err, -EINVAL, "the seccomp filter has a bad size (%lld bytes)",
                                    (long long)st.st_size);

        size_t len = (size_t)st.st_size;
        _cleanup_free_ void *prog = malloc(len);
        if (!prog)
                return hd_error_set(err, -ENOMEM, "out of memory");
        for (size_t done = 0; done < len;) {
                ssize_t n = pread(fd, (char *)prog + done, len - done, (off_t)done);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return hd_error_set(err, -errno, "cannot read the seccomp filter: %m");
                if (n == 0)
                        return hd_error_set(err, -EIO, "the seccomp filter was cut short");
                done += (size_t)n;
        }
        *ret_prog = TAKE_PTR(prog);
        *ret_len = len;
        return 0;
}

int hd_ct_seccomp_build(void **ret_prog, size_t *ret_len, HdError **err)
{
        _cleanup_(seccomp_releasep) scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
        if (!ctx)
                return hd_error_set(err, -ENOMEM, "cannot create a seccomp filter");

        /* The container's init sets no_new_privs itself, before loading the program. */
        int r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
        if (r < 0)
                return hd_error_set(err, r, "cannot set the seccomp filter's attributes: %s",
                                    strerror(-r));
        r = add_arches(ctx, err);
        if (r < 0)
                return r;
        r = add_rules(ctx, err);
        if (r < 0)
                return r;
        return export_bpf(ctx, ret_prog, ret_len, err);
}
