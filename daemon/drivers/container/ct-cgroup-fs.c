/* cgroup file helpers and the mount table, shared by ct-cgroup.c, ct-cgroup-v1.c and
 * ct-cgroup-v2.c. */
#include "ct-cgroup-internal.h"

#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "hd-util.h"

/* ---- files ---------------------------------------------------------------------------- */

int hd_cg_path(char *buf, size_t size, const char *dir, const char *file)
{
        int n = snprintf(buf, size, "%s/%s", dir, file);
        if (n < 0 || (size_t)n >= size)
                return -ENAMETOOLONG;
        return 0;
}

int hd_cg_write(const char *dir, const char *file, const char *value)
{
        char path[PATH_MAX];
        int r = hd_cg_path(path, sizeof(path), dir, file);
        if (r < 0)
                return r;
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        size_t len = strlen(value);
        ssize_t n;
        do {
                n = write(fd, value, len);
        } while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        return (size_t)n == len ? 0 : -EIO;
}

int hd_cg_read(const char *dir, const char *file, char **ret)
{
        char path[PATH_MAX];
        int r = hd_cg_path(path, sizeof(path), dir, file);
        if (r < 0)
                return r;
        return hd_read_file(path, 1u << 20, ret, NULL);
}

bool hd_cg_exists(const char *dir, const char *file)
{
        char path[PATH_MAX];
        if (hd_cg_path(path, sizeof(path), dir, file) < 0)
                return false;
        return access(path, F_OK) == 0;
}

static int parse_u64(const char *s, uint64_t *ret)
{
        if (!isdigit((unsigned char)*s))
                return -EINVAL;
        char *end = NULL;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno)
                return -errno;
        *ret = v;
        return 0;
}

int hd_cg_read_u64(const char *dir, const char *file, uint64_t *ret, bool *ret_max)
{
        _cleanup_free_ char *text = NULL;
        int r = hd_cg_read(dir, file, &text);
        if (r < 0)
                return r;
        text[strcspn(text, "\n")] = '\0';
        bool max = strcmp(text, "max") == 0 || strcmp(text, "-1") == 0;
        uint64_t v = 0;
        if (!max) {
                r = parse_u64(text, &v);
                if (r < 0)
                        return r;
        }
        *ret = v;
        if (ret_max)
                *ret_max = max;
        return 0;
}

int hd_cg_keyed(const char *text, const char *key, uint64_t *ret)
{
        size_t klen = strlen(key);
        for (const char *line = text; line && *line;) {
                if (strncmp(line, key, klen) == 0 && line[klen] == ' ')
                        return parse_u64(line + klen + 1, ret);
                line = strchr(line, '\n');
                if (line)
                        line++;
        }
        return -ENOENT;
}

int hd_cg_read_pids(const char *dir, pid_t **ret, size_t *ret_n)
{
        _cleanup_free_ char *text = NULL;
        int r = hd_cg_read(dir, "cgroup.procs", &text);
        if (r < 0)
                return r;
        size_t n = 0;
        for (const char *p = text; *p; p++)
                if (*p == '\n')
                        n++;
        _cleanup_free_ pid_t *pids = n ? calloc(n, sizeof(*pids)) : NULL;
        if (n && !pids)
                return -ENOMEM;
        size_t i = 0;
        for (char *p = text; *p && i < n;) {
                char *nl = strchr(p, '\n');
                if (!nl)
                        break;
                *nl = '\0';
                uint64_t v;
                if (parse_u64(p, &v) == 0 && v > 0 && v <= INT_MAX)
                        pids[i++] = (pid_t)v;
                p = nl + 1;
        }
        *ret_n = i;
        *ret = TAKE_PTR(pids);
        return 0;
}

bool hd_cg_has_word(const char *text, const char *word)
{
        size_t len = strlen(word);
        for (const char *p = text; (p = strstr(p, word)); p += len)
                if ((p == text || isspace((unsigned char)p[-1])) &&
                    (p[len] == '\0' || isspace((unsigned char)p[len])))
                        return true;
        return false;
}

unsigned hd_cg_device_access(const char *access)
{
        unsigned bits = 0;
        for (const char *p = access; *p; p++) {
                switch (*p) {
                case 'm':
                        bits |= 1; /* BPF_DEVCG_ACC_MKNOD */
                        break;
                case 'r':
                        bits |= 2; /* BPF_DEVCG_ACC_READ */
                        break;
                case 'w':
                        bits |= 4; /* BPF_DEVCG_ACC_WRITE */
                        break;
                default:
                        return 0;
                }
        }
        return bits;
}

void hd_cg_sleep_ms(unsigned ms)
{
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* ---- mount table ---------------------------------------------------------------------- */

static const struct {
        const char *name;
        unsigned bit;
} v1_controllers[] = {
        { "memory", HD_CG_C_MEMORY },        { "cpu", HD_CG_C_CPU },
        { "cpuacct", HD_CG_C_CPUACCT },      { "pids", HD_CG_C_PIDS },
        { "devices", HD_CG_C_DEVICES },      { "freezer", HD_CG_C_FREEZER },
        { "blkio", HD_CG_C_BLKIO },          { "cpuset", HD_CG_C_CPUSET },
        { "name=systemd", HD_CG_C_SYSTEMD },
};

/* The controllers named in a v1 superblock's options ("rw,cpu,cpuacct"). */
static unsigned parse_v1_options(char *opts)
{
        unsigned bits = 0;
        char *save = NULL;
        for (char *o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save))
                for (size_t i = 0; i < HD_ARRAY_SIZE(v1_controllers); i++)
                        if (strcmp(o, v1_controllers[i].name) == 0)
                                bits |= v1_controllers[i].bit;
        return bits;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s)
{
        char *w = s;
        for (const char *r = s; *r;) {
                if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
                    r[3] >= '0' && r[3] <= '7') {
                        *w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
                        r += 4;
                } else {
                        *w++ = *r++;
                }
        }
        *w = '\0';
}

void hd_cg_mounts_clear(HdCgMounts *m)
{
        for (size_t i = 0; i < m->n; i++)
                free(m->m[i].path);
        m->n = 0;
}

int hd_cg_mounts_parse(const char *mountinfo, HdCgMounts *ret)
{
        _cleanup_free_ char *copy = strdup(mountinfo);
        if (!copy)
                return -ENOMEM;

        HdCgMounts m = { .n = 0 };
        char devs[HD_CG_DIRS_MAX][32]; /* "major:minor" of each hierarchy, to spot repeats */
        bool at_root[HD_CG_DIRS_MAX];
        int r = 0;

        char *save = NULL;
        for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                /* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS */
                char *f[64];
                size_t nf = 0;
                char *fsave = NULL;
                for (char *t = strtok_r(line, " ", &fsave); t && nf < HD_ARRAY_SIZE(f);
                     t = strtok_r(NULL, " ", &fsave))
                        f[nf++] = t;
                size_t sep = 6;
                while (sep < nf && strcmp(f[sep], "-") != 0)
                        sep++;
                if (sep + 3 >= nf)
                        continue; /* not a mountinfo line */
                const char *fstype = f[sep + 1];
                unsigned bits;
                if (strcmp(fstype, "cgroup2") == 0)
                        bits = HD_CG_C_UNIFIED;
                else if (strcmp(fstype, "cgroup") == 0)
                        bits = parse_v1_options(f[sep + 3]);
                else
                        continue;
                if (!bits)
                        continue; /* a v1 hierarchy of controllers hostd does not use */

                bool root = strcmp(f[3], "/") == 0;
                unescape_octal(f[4]);
                size_t i = 0;
                while (i < m.n && strcmp(devs[i], f[2]) != 0 &&
                       !(bits == HD_CG_C_UNIFIED && m.m[i].controllers == HD_CG_C_UNIFIED))
                        i++;
                if (i < m.n) {
                        /* The same hierarchy again (a bind mount): keep the mount of its
                         * root, else the first. */
                        if (at_root[i] || !root || strcmp(devs[i], f[2]) != 0)
                                continue;
                        char *p = strdup(f[4]);
                        if (!p) {
                                r = -ENOMEM;
                                break;
                        }
                        free(m.m[i].path);
                        m.m[i].path = p;
                        at_root[i] = true;
                        continue;
                }
                if (m.n == HD_CG_DIRS_MAX)
                        continue;
                m.m[m.n].path = strdup(f[4]);
                if (!m.m[m.n].path) {
                        r = -ENOMEM;
                        break;
                }
                m.m[m.n].controllers = bits;
                snprintf(devs[m.n], sizeof(devs[m.n]), "%s", f[2]);
                at_root[m.n] = root;
                m.n++;
        }
        if (r < 0) {
                hd_cg_mounts_clear(&m);
                return r;
        }
        *ret = m;
        return 0;
}

int hd_cg_mounts_read(HdCgMounts *ret)
{
        _cleanup_free_ char *text = NULL;
        int r = hd_read_file("/proc/self/mountinfo", 64u << 20, &text, NULL);
        if (r < 0)
                return r;
        return hd_cg_mounts_parse(text, ret);
}
