/* The cgroup v2 device allow-list: a BPF_PROG_TYPE_CGROUP_DEVICE program assembled by
 * hand from struct bpf_insn and loaded with bpf(2), without libbpf.
 *
 * The kernel calls it for every mknod and open of a device node with a
 * struct bpf_cgroup_dev_ctx: access_type (type in the low 16 bits, BPF_DEVCG_DEV_*;
 * access in the high 16, BPF_DEVCG_ACC_*), major and minor. It returns 1 to allow.
 *
 *      r2 = ctx->access_type
 *      w3 = w2 & 0xffff        type
 *      w4 = w2 >> 16           access
 *      r5 = ctx->major
 *      r6 = ctx->minor
 *      for each rule, last first:
 *              if w3 != type                   goto next   (not for 'a')
 *              if w4 & ~access                 goto next   (not for "rwm")
 *              if r5 != major                  goto next   (not for -1)
 *              if r6 != minor                  goto next   (not for -1)
 *              r0 = allow; exit
 *      next: ...
 *      r0 = 0; exit
 *
 * So the last rule that matches decides, as with v1's devices.allow/devices.deny
 * written in order after "a" was denied. */
#include "ct-cgroup-internal.h"

#include <linux/bpf.h>
#include <stddef.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include "hd-util.h"

/* A program of 4096 instructions loads anywhere; six per rule at most. */
#define MAX_RULES 512

#define INSN(c, d, s, o, i) \
        ((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })
#define LDX_W(dst, src, off)       INSN(BPF_LDX | BPF_W | BPF_MEM, dst, src, off, 0)
#define MOV32_REG(dst, src)        INSN(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0)
#define ALU32_IMM(op, dst, imm)    INSN(BPF_ALU | (op) | BPF_K, dst, 0, 0, imm)
#define MOV64_IMM(dst, imm)        INSN(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm)
#define JMP_IMM(op, dst, imm, off) INSN(BPF_JMP | (op) | BPF_K, dst, 0, off, imm)
#define EXIT()                     INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

static int sys_bpf(int cmd, union bpf_attr *attr)
{
        return (int)syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

static uint64_t ptr_u64(const void *p)
{
        return (uint64_t)(uintptr_t)p;
}

/* ---- assembly ------------------------------------------------------------------------- */

int hd_cg_bpf_devices_assemble(const HdCtDeviceRule *rules, size_t n, struct bpf_insn **ret,
                               size_t *ret_n)
{
        if (n > MAX_RULES)
                return -E2BIG;
        size_t cap = 7 + 6 * n + 2;
        _cleanup_free_ struct bpf_insn *p = calloc(cap, sizeof(*p));
        if (!p)
                return -ENOMEM;
        size_t len = 0;

        p[len++] = LDX_W(BPF_REG_2, BPF_REG_1, offsetof(struct bpf_cgroup_dev_ctx, access_type));
        p[len++] = MOV32_REG(BPF_REG_3, BPF_REG_2);
        p[len++] = ALU32_IMM(BPF_AND, BPF_REG_3, 0xffff);
        p[len++] = MOV32_REG(BPF_REG_4, BPF_REG_2);
        p[len++] = ALU32_IMM(BPF_RSH, BPF_REG_4, 16);
        p[len++] = LDX_W(BPF_REG_5, BPF_REG_1, offsetof(struct bpf_cgroup_dev_ctx, major));
        p[len++] = LDX_W(BPF_REG_6, BPF_REG_1, offsetof(struct bpf_cgroup_dev_ctx, minor));

        bool unconditional = false;
        for (size_t i = n; i-- > 0 && !unconditional;) {
                const HdCtDeviceRule *d = &rules[i];
                unsigned access = hd_cg_device_access(d->access);
                if (access == 0 || (d->type != 'a' && d->type != 'b' && d->type != 'c') ||
                    d->major < -1 || d->major > INT32_MAX || d->minor < -1 || d->minor > INT32_MAX)
                        return -EINVAL;
                bool check_type = d->type != 'a';
                bool check_access =
                        access != (BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE);
                bool check_major = d->major >= 0, check_minor = d->minor >= 0;
                int checks = check_type + check_access + check_major + check_minor;

                /* Each check jumps past the rest of the checks and the r0/exit pair. */
                int k = 0;
                if (check_type)
                        p[len++] =
                                JMP_IMM(BPF_JNE, BPF_REG_3,
                                        d->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR,
                                        (int16_t)(checks - k++ + 1));
                if (check_access)
                        p[len++] = JMP_IMM(BPF_JSET, BPF_REG_4, (int32_t)(~access & 7u),
                                           (int16_t)(checks - k++ + 1));
                if (check_major)
                        p[len++] = JMP_IMM(BPF_JNE, BPF_REG_5, (int32_t)d->major,
                                           (int16_t)(checks - k++ + 1));
                if (check_minor)
                        p[len++] = JMP_IMM(BPF_JNE, BPF_REG_6, (int32_t)d->minor,
                                           (int16_t)(checks - k++ + 1));
                p[len++] = MOV64_IMM(BPF_REG_0, d->allow ? 1 : 0);
                p[len++] = EXIT();
                /* The verifier refuses code it cannot reach: a rule matching every
                 * access ends the program. */
                unconditional = checks == 0;
        }
        if (!unconditional) {
                p[len++] = MOV64_IMM(BPF_REG_0, 0);
                p[len++] = EXIT();
        }
        *ret = TAKE_PTR(p);
        *ret_n = len;
        return 0;
}

/* ---- load and attach ------------------------------------------------------------------ */

/* Before 5.11 programs were charged to RLIMIT_MEMLOCK. */
static void raise_memlock(void)
{
        struct rlimit rl = { .rlim_cur = RLIM_INFINITY, .rlim_max = RLIM_INFINITY };
        if (setrlimit(RLIMIT_MEMLOCK, &rl) == 0 || getrlimit(RLIMIT_MEMLOCK, &rl) < 0)
                return;
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_MEMLOCK, &rl);
}

int hd_cg_bpf_devices_load(const HdCtDeviceRule *rules, size_t n, HdError **err)
{
        _cleanup_free_ struct bpf_insn *insns = NULL;
        size_t n_insns = 0;
        int r = hd_cg_bpf_devices_assemble(rules, n, &insns, &n_insns);
        if (r < 0)
                return hd_error_set(err, r, "cannot assemble the device program: %s", strerror(-r));

        union bpf_attr attr;
        memset(&attr, 0, sizeof(attr));
        attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
        attr.insns = ptr_u64(insns);
        attr.insn_cnt = (uint32_t)n_insns;
        attr.license = ptr_u64("GPL");
        int fd = sys_bpf(BPF_PROG_LOAD, &attr);
        if (fd < 0 && errno == EPERM) {
                raise_memlock();
                fd = sys_bpf(BPF_PROG_LOAD, &attr);
        }
        if (fd >= 0)
                return fd;

        /* Once more with the verifier's log, for the message. */
        int e = errno;
        _cleanup_free_ char *log = calloc(1, 16384);
        if (log) {
                attr.log_level = 1;
                attr.log_buf = ptr_u64(log);
                attr.log_size = 16384;
                fd = sys_bpf(BPF_PROG_LOAD, &attr);
                if (fd >= 0)
                        return fd;
                log[16383] = '\0';
        }
        return hd_error_set(err, -e, "cannot load the device program: %s%s%s", strerror(e),
                            log && log[0] ? ": " : "", log ? log : "");
}

/* The ids of the device programs attached to dirfd itself (not inherited ones). */
static int query(int dirfd, uint32_t **ret, size_t *ret_n)
{
        _cleanup_free_ uint32_t *ids = NULL;
        for (uint32_t cap = 64; cap <= 65536; cap *= 2) {
                uint32_t *grown = realloc(ids, cap * sizeof(*ids));
                if (!grown)
                        return -ENOMEM;
                ids = grown;
                union bpf_attr attr;
                memset(&attr, 0, sizeof(attr));
                attr.query.target_fd = (uint32_t)dirfd;
                attr.query.attach_type = BPF_CGROUP_DEVICE;
                attr.query.prog_ids = ptr_u64(ids);
                attr.query.prog_cnt = cap;
                if (sys_bpf(BPF_PROG_QUERY, &attr) == 0) {
                        *ret_n = attr.query.prog_cnt;
                        *ret = TAKE_PTR(ids);
                        return 0;
                }
                if (errno != ENOSPC)
                        return -errno;
        }
        return -E2BIG;
}

int hd_cg_bpf_devices_count(int dirfd, size_t *ret)
{
        _cleanup_free_ uint32_t *ids = NULL;
        return query(dirfd, &ids, ret);
}

int hd_cg_bpf_devices_apply(int dirfd, const HdCtDeviceRule *rules, size_t n, HdError **err)
{
        _cleanup_close_ int prog = hd_cg_bpf_devices_load(rules, n, err);
        if (prog < 0)
                return prog;

        /* What was there before goes once the new list is in: never a moment with
         * no list. */
        _cleanup_free_ uint32_t *old = NULL;
        size_t n_old = 0;
        int r = query(dirfd, &old, &n_old);
        if (r < 0)
                return hd_error_set(err, r, "cannot list the cgroup's device programs: %s",
                                    strerror(-r));

        union bpf_attr attr;
        memset(&attr, 0, sizeof(attr));
        attr.target_fd = (uint32_t)dirfd;
        attr.attach_bpf_fd = (uint32_t)prog;
        attr.attach_type = BPF_CGROUP_DEVICE;
        attr.attach_flags = BPF_F_ALLOW_MULTI;
        if (sys_bpf(BPF_PROG_ATTACH, &attr) < 0)
                return hd_error_set(err, -errno, "cannot attach the device program: %s",
                                    strerror(errno));

        for (size_t i = 0; i < n_old; i++) {
                memset(&attr, 0, sizeof(attr));
                attr.prog_id = old[i];
                _cleanup_close_ int fd = sys_bpf(BPF_PROG_GET_FD_BY_ID, &attr);
                if (fd < 0) {
                        if (errno == ENOENT)
                                continue; /* gone meanwhile */
                        return hd_error_set(err, -errno, "cannot open device program %u: %s",
                                            old[i], strerror(errno));
                }
                memset(&attr, 0, sizeof(attr));
                attr.target_fd = (uint32_t)dirfd;
                attr.attach_bpf_fd = (uint32_t)fd;
                attr.attach_type = BPF_CGROUP_DEVICE;
                if (sys_bpf(BPF_PROG_DETACH, &attr) < 0 && errno != ENOENT)
                        return hd_error_set(err, -errno, "cannot detach device program %u: %s",
                                            old[i], strerror(errno));
        }
        return 0;
}

bool hd_cg_bpf_supported(void)
{
        size_t n = 0;
        const HdCtDeviceRule *rules = hd_ct_cgroup_default_devices(&n);
        _cleanup_close_ int fd = hd_cg_bpf_devices_load(rules, n, NULL);
        return fd >= 0;
}
