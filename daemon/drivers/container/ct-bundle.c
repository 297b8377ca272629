/* The bundle files: config.json (hostd → monitor), state.json and exit.json
 * (monitor → hostd). See ct-bundle.h. */
#include "ct-bundle.h"

#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "hd-json.h"
#include "hd-util.h"

#define CONFIG_MAX_BYTES (4 * 1024 * 1024)
#define STATE_MAX_BYTES  (64 * 1024)
#define ID_MAP_MAX_LINES 340 /* the kernel's limit for uid_map/gid_map */

/* ---- names -------------------------------------------------------------------------- */

static const char *const cap_names[] = {
        [CAP_CHOWN] = "CAP_CHOWN",
        [CAP_DAC_OVERRIDE] = "CAP_DAC_OVERRIDE",
        [CAP_DAC_READ_SEARCH] = "CAP_DAC_READ_SEARCH",
        [CAP_FOWNER] = "CAP_FOWNER",
        [CAP_FSETID] = "CAP_FSETID",
        [CAP_KILL] = "CAP_KILL",
        [CAP_SETGID] = "CAP_SETGID",
        [CAP_SETUID] = "CAP_SETUID",
        [CAP_SETPCAP] = "CAP_SETPCAP",
        [CAP_LINUX_IMMUTABLE] = "CAP_LINUX_IMMUTABLE",
        [CAP_NET_BIND_SERVICE] = "CAP_NET_BIND_SERVICE",
        [CAP_NET_BROADCAST] = "CAP_NET_BROADCAST",
        [CAP_NET_ADMIN] = "CAP_NET_ADMIN",
        [CAP_NET_RAW] = "CAP_NET_RAW",
        [CAP_IPC_LOCK] = "CAP_IPC_LOCK",
        [CAP_IPC_OWNER] = "CAP_IPC_OWNER",
        [CAP_SYS_MODULE] = "CAP_SYS_MODULE",
        [CAP_SYS_RAWIO] = "CAP_SYS_RAWIO",
        [CAP_SYS_CHROOT] = "CAP_SYS_CHROOT",
        [CAP_SYS_PTRACE] = "CAP_SYS_PTRACE",
        [CAP_SYS_PACCT] = "CAP_SYS_PACCT",
        [CAP_SYS_ADMIN] = "CAP_SYS_ADMIN",
        [CAP_SYS_BOOT] = "CAP_SYS_BOOT",
        [CAP_SYS_NICE] = "CAP_SYS_NICE",
        [CAP_SYS_RESOURCE] = "CAP_SYS_RESOURCE",
        [CAP_SYS_TIME] = "CAP_SYS_TIME",
        [CAP_SYS_TTY_CONFIG] = "CAP_SYS_TTY_CONFIG",
        [CAP_MKNOD] = "CAP_MKNOD",
        [CAP_LEASE] = "CAP_LEASE",
        [CAP_AUDIT_WRITE] = "CAP_AUDIT_WRITE",
        [CAP_AUDIT_CONTROL] = "CAP_AUDIT_CONTROL",
        [CAP_SETFCAP] = "CAP_SETFCAP",
        [CAP_MAC_OVERRIDE] = "CAP_MAC_OVERRIDE",
        [CAP_MAC_ADMIN] = "CAP_MAC_ADMIN",
        [CAP_SYSLOG] = "CAP_SYSLOG",
        [CAP_WAKE_ALARM] = "CAP_WAKE_ALARM",
        [CAP_BLOCK_SUSPEND] = "CAP_BLOCK_SUSPEND",
        [CAP_AUDIT_READ] = "CAP_AUDIT_READ",
        [38] = "CAP_PERFMON",
        [39] = "CAP_BPF",
        [40] = "CAP_CHECKPOINT_RESTORE",
};

int hd_ct_cap_from_name(const char *name)
{
        if (!name)
                return -EINVAL;
        for (size_t i = 0; i < HD_ARRAY_SIZE(cap_names); i++)
                if (cap_names[i] && strcmp(cap_names[i], name) == 0)
                        return (int)i;
        return -EINVAL;
}

const char *hd_ct_cap_to_name(int cap)
{
        if (cap < 0 || (size_t)cap >= HD_ARRAY_SIZE(cap_names))
                return NULL;
        return cap_names[cap];
}

int hd_ct_caps_from_names(char *const *names, size_t n, uint64_t *ret, bool *ret_all,
                          size_t *ret_bad)
{
        *ret = 0;
        *ret_all = false;
        for (size_t i = 0; i < n; i++) {
                if (names[i] && strcmp(names[i], "ALL") == 0) {
                        *ret_all = true;
                        continue;
                }
                int cap = hd_ct_cap_from_name(names[i]);
                if (cap < 0) {
                        *ret_bad = i;
                        return -EINVAL;
                }
                *ret |= 1ULL << cap;
        }
        return 0;
}

static const struct {
        const char *name;
        int resource;
} rlimit_names[] = {
        { "RLIMIT_CPU", RLIMIT_CPU },           { "RLIMIT_FSIZE", RLIMIT_FSIZE },
        { "RLIMIT_DATA", RLIMIT_DATA },         { "RLIMIT_STACK", RLIMIT_STACK },
        { "RLIMIT_CORE", RLIMIT_CORE },         { "RLIMIT_RSS", RLIMIT_RSS },
        { "RLIMIT_NPROC", RLIMIT_NPROC },       { "RLIMIT_NOFILE", RLIMIT_NOFILE },
        { "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK },   { "RLIMIT_AS", RLIMIT_AS },
        { "RLIMIT_LOCKS", RLIMIT_LOCKS },       { "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING },
        { "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE }, { "RLIMIT_NICE", RLIMIT_NICE },
        { "RLIMIT_RTPRIO", RLIMIT_RTPRIO },     { "RLIMIT_RTTIME", RLIMIT_RTTIME },
};

int hd_ct_rlimit_from_name(const char *name)
{
        if (!name)
                return -EINVAL;
        for (size_t i = 0; i < HD_ARRAY_SIZE(rlimit_names); i++)
                if (strcmp(rlimit_names[i].name, name) == 0)
                        return rlimit_names[i].resource;
        return -EINVAL;
}

/* ---- typed getters ------------------------------------------------------------------ */

/* Each getter reads obj[key]; an absent (or, where allowed, null) member keeps the
 * default already in *ret unless it is required. Fields are named by their dotted
 * path in errors. */

static int bad_field(HdError **err, const char *path, const char *what)
{
        return hd_error_set_field(err, -EINVAL, path, "config.json: `%s` %s", path, what);
}

static int check_keys(json_t *obj, const char *path, const char *const *allowed, HdError **err)
{
        const char *key;
        json_t *v;
        json_object_foreach (obj, key, v) {
                bool ok = false;
                for (size_t i = 0; allowed[i]; i++)
                        if (strcmp(key, allowed[i]) == 0)
                                ok = true;
                if (!ok) {
                        char full[256];
                        snprintf(full, sizeof(full), "%s%s%s", path, *path ? "." : "", key);
                        return bad_field(err, full, "is not a known field");
                }
        }
        return 0;
}

static int json_to_cstr(json_t *v, const char *path, char **ret, HdError **err)
{
        if (!json_is_string(v))
                return bad_field(err, path, "must be a string");
        const char *s = json_string_value(v);
        if (strlen(s) != json_string_length(v))
                return bad_field(err, path, "must not contain NUL");
        char *copy = strdup(s);
        if (!copy)
                return hd_error_set(err, -ENOMEM, "out of memory");
        free(*ret);
        *ret = copy;
        return 0;
}

static int get_str(json_t *obj, const char *key, const char *path, bool required, char **ret,
                   HdError **err)
{
        json_t *v = json_object_get(obj, key);
        if (!v || json_is_null(v)) {
                if (required)
                        return bad_field(err, path, "is required");
                return 0;
        }
        return json_to_cstr(v, path, ret, err);
}

static int get_abs_path(json_t *obj, const char *key, const char *path, bool required, char **ret,
                        HdError **err)
{
        int r = get_str(obj, key, path, required, ret, err);
        if (r < 0)
                return r;
        if (*ret && (*ret)[0] != '/')
                return bad_field(err, path, "must be an absolute path");
        if (*ret && strlen(*ret) >= PATH_MAX)
                return bad_field(err, path, "is too long");
        return 0;
}

static int get_int(json_t *obj, const char *key, const char *path, bool required, int64_t min,
                   int64_t max, int64_t *ret, HdError **err)
{
        json_t *v = json_object_get(obj, key);
        if (!v) {
                if (required)
                        return bad_field(err, path, "is required");
                return 0;
        }
        if (!json_is_integer(v))
                return bad_field(err, path, "must be an integer");
        json_int_t i = json_integer_value(v);
        if (i < min || i > max) {
                char what[96];
                snprintf(what, sizeof(what), "must be between %lld and %lld", (long long)min,
                         (long long)max);
                return bad_field(err, path, what);
        }
        *ret = i;
        return 0;
}

static int get_bool(json_t *obj, const char *key, const char *path, bool *ret, HdError **err)
{
        json_t *v = json_object_get(obj, key);
        if (!v)
                return 0;
        if (!json_is_boolean(v))
                return bad_field(err, path, "must be true or false");
        *ret = json_is_true(v);
        return 0;
}

static int get_obj(json_t *obj, const char *key, const char *path, bool required, json_t **ret,
                   HdError **err)
{
        json_t *v = json_object_get(obj, key);
        *ret = NULL;
        if (!v || json_is_null(v)) {
                if (required)
                        return bad_field(err, path, "is required");
                return 0;
        }
        if (!json_is_object(v))
                return bad_field(err, path, "must be an object");
        *ret = v;
        return 0;
}

static void strv_free(char **v)
{
        if (!v)
                return;
        for (char **p = v; *p; p++)
                free(*p);
        free(v);
}

/* A JSON array of strings as a NULL-terminated vector; check() may refuse an item. */
static int get_strv(json_t *obj, const char *key, const char *path, bool required,
                    bool (*check)(const char *), const char *check_what, char ***ret, size_t *ret_n,
                    HdError **err)
{
        json_t *v = json_object_get(obj, key);
        if (!v || json_is_null(v)) {
                if (required)
                        return bad_field(err, path, "is required");
                v = NULL;
        } else if (!json_is_array(v))
                return bad_field(err, path, "must be an array of strings");

        size_t n = v ? json_array_size(v) : 0;
        char **out = calloc(n + 1, sizeof(char *));
        if (!out)
                return hd_error_set(err, -ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
                char item[256];
                snprintf(item, sizeof(item), "%s[%zu]", path, i);
                int r = json_to_cstr(json_array_get(v, i), item, &out[i], err);
                if (r >= 0 && check && !check(out[i]))
                        r = bad_field(err, item, check_what);
                if (r < 0) {
                        strv_free(out);
                        return r;
                }
        }
        strv_free(*ret);
        *ret = out;
        *ret_n = n;
        return 0;
}

static bool is_abs_path(const char *s)
{
        return s[0] == '/' && strlen(s) < PATH_MAX;
}

static bool is_env_entry(const char *s)
{
        const char *eq = strchr(s, '=');
        return eq && eq != s;
}

/* 1..max characters of [A-Za-z0-9._-], not "." or "..". */
static bool is_plain_name(const char *s, size_t max)
{
        size_t n = strlen(s);
        if (n == 0 || n > max || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
                return false;
        for (const char *p = s; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.'))
                        return false;
        return true;
}

static bool is_cgroup_name(const char *s)
{
        return is_plain_name(s, 128);
}

/* ---- config.json sections ----------------------------------------------------------- */

static int parse_rootfs(json_t *root, HdCtBundle *b, HdError **err)
{
        static const char *const keys[] = { "lower", "upper", "work", "merged", NULL };
        json_t *o;
        int r = get_obj(root, "rootfs", "rootfs", true, &o, err);
        if (r < 0)
                return r;
        if ((r = check_keys(o, "rootfs", keys, err)) < 0)
                return r;
        r = get_strv(o, "lower", "rootfs.lower", true, is_abs_path, "must be an absolute path",
                     &b->lower, &b->n_lower, err);
        if (r < 0)
                return r;
        if (b->n_lower == 0)
                return bad_field(err, "rootfs.lower", "must name at least one layer");
        if ((r = get_abs_path(o, "upper", "rootfs.upper", true, &b->upper, err)) < 0 ||
            (r = get_abs_path(o, "work", "rootfs.work", true, &b->work, err)) < 0 ||
            (r = get_abs_path(o, "merged", "rootfs.merged", true, &b->merged, err)) < 0)
                return r;
        return 0;
}

static int parse_rlimits(json_t *proc, HdCtBundle *b, HdError **err)
{
        static const char *const keys[] = { "type", "soft", "hard", NULL };
        json_t *v = json_object_get(proc, "rlimits");
        if (!v || json_is_null(v))
                return 0;
        if (!json_is_array(v))
                return bad_field(err, "process.rlimits", "must be an array");
        size_t n = json_array_size(v);
        b->rlimits = calloc(n ? n : 1, sizeof(HdCtRlimit));
        if (!b->rlimits)
                return hd_error_set(err, -ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
                char path[64], sub[96];
                json_t *item = json_array_get(v, i);
                snprintf(path, sizeof(path), "process.rlimits[%zu]", i);
                if (!json_is_object(item))
                        return bad_field(err, path, "must be an object");
                int r = check_keys(item, path, keys, err);
                if (r < 0)
                        return r;
                _cleanup_free_ char *type = NULL;
                snprintf(sub, sizeof(sub), "%s.type", path);
                if ((r = get_str(item, "type", sub, true, &type, err)) < 0)
                        return r;
                int res = hd_ct_rlimit_from_name(type);
                if (res < 0)
                        return bad_field(err, sub, "is not a known RLIMIT_* name");
                for (size_t j = 0; j < b->n_rlimits; j++)
                        if (b->rlimits[j].resource == res)
                                return bad_field(err, sub, "is given twice");
                /* -1 stands for unlimited (RLIM_INFINITY does not fit in JSON's integers). */
                int64_t soft = 0, hard = 0;
                snprintf(sub, sizeof(sub), "%s.soft", path);
                if ((r = get_int(item, "soft", sub, true, -1, INT64_MAX, &soft, err)) < 0)
                        return r;
                snprintf(sub, sizeof(sub), "%s.hard", path);
                if ((r = get_int(item, "hard", sub, true, -1, INT64_MAX, &hard, err)) < 0)
                        return r;
                uint64_t s = soft < 0 ? RLIM_INFINITY : (uint64_t)soft;
                uint64_t h = hard < 0 ? RLIM_INFINITY : (uint64_t)hard;
                if (s > h)
                        return bad_field(err, path, "soft must not be above hard");
                b->rlimits[b->n_rlimits++] = (HdCtRlimit){ .resource = res, .soft = s, .hard = h };
        }
        return 0;
}

static int parse_process(json_t *root, HdCtBundle *b, HdError **err)
{
        static const char *const keys[] = { "args", "env", "cwd", "user", "rlimits", NULL };
        json_t *o;
        int r = get_obj(root, "process", "process", true, &o, err);
        if (r < 0)
                return r;
        if ((r = check_keys(o, "process", keys, err)) < 0)
                return r;
        if ((r = get_strv(o, "args", "process.args", true, NULL, NULL, &b->args, &b->n_args, err)) <
            0)
                return r;
        if (b->n_args == 0 || b->args[0][0] == '\0')
                return bad_field(err, "process.args", "must name a program");
        if ((r = get_strv(o, "env", "process.env", false, is_env_entry, "must be `KEY=VALUE`",
                          &b->env, &b->n_env, err)) < 0)
                return r;
        if ((r = get_abs_path(o, "cwd", "process.cwd", false, &b->cwd, err)) < 0)
                return r;
        if ((r = get_str(o, "user", "process.user", false, &b->user, err)) < 0)
                return r;
        if (b->user[0] == '\0' || strlen(b->user) > 256)
                return bad_field(err, "process.user", "must be `uid[:gid]` or `name[:group]`");
        return parse_rlimits(o, b, err);
}

static int parse_id_map(json_t *o, const char *key, const char *path, HdCtIdMap **ret,
                        size_t *ret_n, HdError **err)
{
        json_t *v = json_object_get(o, key);
        if (!json_is_array(v) || json_array_size(v) == 0)
                return bad_field(err, path,
                                 "must be a non-empty array of [inside, outside, count]");
        size_t n = json_array_size(v);
        if (n > ID_MAP_MAX_LINES)
                return bad_field(err, path, "has too many lines");
        HdCtIdMap *m = calloc(n, sizeof(*m));
        if (!m)
                return hd_error_set(err, -ENOMEM, "out of memory");
        *ret = m;
        *ret_n = n;
        for (size_t i = 0; i < n; i++) {
                char item[64];
                json_t *line = json_array_get(v, i);
                snprintf(item, sizeof(item), "%s[%zu]", path, i);
                if (!json_is_array(line) || json_array_size(line) != 3)
                        return bad_field(err, item, "must be [inside, outside, count]");
                json_int_t x[3];
                for (size_t k = 0; k < 3; k++) {
                        json_t *e = json_array_get(line, k);
                        if (!json_is_integer(e) || json_integer_value(e) < 0 ||
                            json_integer_value(e) > UINT32_MAX)
                                return bad_field(err, item, "must hold ids from 0 to 4294967295");
                        x[k] = json_integer_value(e);
                }
                if (x[2] == 0 || x[0] + x[2] > (json_int_t)UINT32_MAX + 1 ||
                    x[1] + x[2] > (json_int_t)UINT32_MAX + 1)
                        return bad_field(err, item, "has a bad count");
                m[i] = (HdCtIdMap){ (uint32_t)x[0], (uint32_t)x[1], (uint32_t)x[2] };
        }
        return 0;
}

static int parse_userns(json_t *root, HdCtBundle *b, HdError **err)
{
        static const char *const keys[] = { "uid_map", "gid_map", "idmapped_layers", NULL };
        json_t *o;
        int r = get_obj(root, "userns", "userns", false, &o, err);
        if (r < 0 || !o)
                return r;
        if ((r = check_keys(o, "userns", keys, err)) < 0)
                return r;
        if ((r = parse_id_map(o, "uid_map", "userns.uid_map", &b->uid_map, &b->n_uid_map, err)) <
                    0 ||
            (r = parse_id_map(o, "gid_map", "userns.gid_map", &b->gid_map, &b->n_gid_map, err)) <
                    0 ||
            (r = get_bool(o, "idmapped_layers", "userns.idmapped_layers", &b->idmapped_layers,
                          err)) < 0)
                return r;
        b->userns = true;
        return 0;
}

static int parse_cgroup(json_t *root, HdCtBundle *b, HdError **err)
{
        static const char *const keys[] = {
                "name", "memory_bytes", "cpu_quota_us", "cpu_period_us", "pids_max", "cpuset", NULL
        };
        json_t *o;
        int r = get_obj(root, "cgroup", "cgroup", true, &o, err);
        if (r < 0)
                return r;
        if ((r = check_keys(o, "cgroup", keys, err)) < 0)
                return r;
        if ((r = get_str(o, "name", "cgroup.name", true, &b->cgroup_name, err)) < 0)
                return r;
        if (!is_cgroup_name(b->cgroup_name))
                return bad_field(err, "cgroup.name", "must be a plain name ([A-Za-z0-9._-])");
        if ((r = get_int(o, "memory_bytes", "cgroup.memory_bytes", false, 0, INT64_MAX,
                         &b->memory_bytes, err)) < 0 ||
            (r = get_int(o, "cpu_quota_us", "cgroup.cpu_quota_us", false, 0, INT64_MAX,
                         &b->cpu_quota_us, err)) < 0 ||
            (r = get_int(o, "cpu_period_us", "cgroup.cpu_period_us", false, 0, 1000000,
                         &b->cpu_period_us, err)) < 0 ||
            (r = get_int(o, "pids_max", "cgroup.pids_max", false, 0, INT64_MAX, &b->pids_max,
                         err)) < 0)
                return r;
        /* Written to cpuset.cpus as it is: only a CPU list gets that far. */
        HdCpuMask cpus;
        if ((r = get_str(o, "cpuset", "cgroup.cpuset", false, &b->cpuset, err)) < 0)
                return r;
        if (b->cpuset && hd_cpulist_parse(b->cpuset, &cpus) < 0)
                return bad_field(err, "cgroup.cpuset",
                                 "must be a CPU list like `0`, `0-3` or `0,2,4-5`");
        return 0;
}

static int parse_security(json_t *root, HdCtBundle *b, HdError **err)
{
        static const char *const keys[] = { "caps", "no_new_privs", "seccomp", "privileged", NULL };
        json_t *o;
        int r = get_obj(root, "security", "security", true, &o, err);
        if (r < 0)
                return r;
        if ((r = check_keys(o, "security", keys, err)) < 0)
                return r;
        json_t *caps = json_object_get(o, "caps");
        if (!json_is_array(caps))
                return bad_field(err, "security.caps", "must be an array of capability names");
        size_t i;
        json_t *c;
        json_array_foreach (caps, i, c) {
                char item[64];
                snprintf(item, sizeof(item), "security.caps[%zu]", i);
                int cap = json_is_string(c) ? hd_ct_cap_from_name(json_string_value(c)) : -1;
                if (cap < 0)
                        return bad_field(err, item, "is not a known CAP_* name");
                b->caps |= 1ULL << cap;
        }
        if ((r = get_bool(o, "no_new_privs", "security.no_new_privs", &b->no_new_privs, err)) < 0 ||
            (r = get_bool(o, "privileged", "security.privileged", &b->privileged, err)) < 0)
                return r;
        return get_abs_path(o, "seccomp", "security.seccomp", false, &b->seccomp_path, err);
}

static int parse_log(json_t *root, HdCtBundle *b, HdError **err)
{
        static const char *const keys[] = { "path", "max_bytes", "max_files", NULL };
        json_t *o;
        int r = get_obj(root, "log", "log", true, &o, err);
        if (r < 0)
                return r;
        if ((r = check_keys(o, "log", keys, err)) < 0)
                return r;
        if ((r = get_abs_path(o, "path", "log.path", true, &b->log_path, err)) < 0)
                return r;
        int64_t files = b->log_max_files;
        if ((r = get_int(o, "max_bytes", "log.max_bytes", false, 0, INT64_MAX, &b->log_max_bytes,
                         err)) < 0 ||
            (r = get_int(o, "max_files", "log.max_files", false, 1, 100, &files, err)) < 0)
                return r;
        b->log_max_files = (unsigned)files;
        return 0;
}

/* ---- network bridge ----------------------------------------------------------------- */

int hd_ct_veth_name(const char *uuid, char out[static HD_CT_IFNAME_MAX])
{
        size_t n = 0;
        memcpy(out, "hdv", 3);
        for (const char *p = uuid; p && *p && n < 11; p++) {
                if (*p == '-')
                        continue;
                if (!isxdigit((unsigned char)*p))
                        return -EINVAL;
                out[3 + n++] = (char)tolower((unsigned char)*p);
        }
        out[3 + n] = '\0';
        return n == 11 ? 0 : -EINVAL;
}

static int get_ifname(json_t *o, const char *key, const char *path, bool required,
                      char ret[static HD_CT_IFNAME_MAX], HdError **err)
{
        _cleanup_free_ char *s = NULL;
        int r = get_str(o, key, path, required, &s, err);
        if (r < 0 || !s)
                return r;
        if (!is_plain_name(s, HD_CT_IFNAME_MAX - 1))
                return bad_field(err, path, "must be a link name: 1 to 15 of [A-Za-z0-9._-]");
        snprintf(ret, HD_CT_IFNAME_MAX, "%s", s);
        return 0;
}

static int get_ipv4(json_t *o, const char *key, const char *path, uint32_t *ret, HdError **err)
{
        _cleanup_free_ char *s = NULL;
        int r = get_str(o, key, path, true, &s, err);
        if (r < 0)
                return r;
        if (hd_ipv4_parse(s, ret) < 0)
                return bad_field(err, path, "must be a dotted IPv4 address");
        return 0;
}

static int parse_mac(const char *s, uint8_t mac[static 6])
{
        if (strlen(s) != 17)
                return -EINVAL;
        for (size_t i = 0; i < 6; i++) {
                const char *p = s + 3 * i;
                if (!isxdigit((unsigned char)p[0]) || !isxdigit((unsigned char)p[1]) ||
                    (i < 5 && p[2] != ':'))
                        return -EINVAL;
                char hex[3] = { p[0], p[1], '\0' };
                mac[i] = (uint8_t)strtoul(hex, NULL, 16);
        }
        return 0;
}

static int get_text(json_t *o, const char *key, const char *path, char **ret, HdError **err)
{
        int r = get_str(o, key, path, false, ret, err);
        if (r >= 0 && *ret && strlen(*ret) > HD_CT_NET_TEXT_MAX)
                return bad_field(err, path, "must be at most 64 KiB");
        return r;
}

static int parse_net(json_t *root, HdCtBundle *b, HdError **err)
{
        static const char *const keys[] = { "bridge",  "host_ifname", "ifname",  "mac",
                                            "address", "prefix",      "gateway", "mtu",
                                            "hosts",   "resolv_conf", NULL };
        HdCtNet *n = &b->net;
        json_t *o;
        int r = get_obj(root, "net", "net", b->network == HD_CT_NETWORK_BRIDGE, &o, err);
        if (r < 0 || !o)
                return r;
        if (b->network != HD_CT_NETWORK_BRIDGE)
                return bad_field(err, "net", "goes only with network `bridge`");
        if ((r = check_keys(o, "net", keys, err)) < 0)
                return r;
        snprintf(n->ifname, sizeof(n->ifname), "eth0");
        if ((r = get_ifname(o, "bridge", "net.bridge", true, n->bridge, err)) < 0 ||
            (r = get_ifname(o, "host_ifname", "net.host_ifname", true, n->host_ifname, err)) < 0 ||
            (r = get_ifname(o, "ifname", "net.ifname", false, n->ifname, err)) < 0)
                return r;

        _cleanup_free_ char *mac = NULL;
        if ((r = get_str(o, "mac", "net.mac", true, &mac, err)) < 0)
                return r;
        /* The kernel takes no multicast (nor all-zero) address for a link. */
        if (parse_mac(mac, n->mac) < 0 || (n->mac[0] & 1) ||
            !(n->mac[0] | n->mac[1] | n->mac[2] | n->mac[3] | n->mac[4] | n->mac[5]))
                return bad_field(err, "net.mac", "must be a unicast MAC: six hex pairs with `:`");

        int64_t prefix = 0, mtu = 1500;
        if ((r = get_ipv4(o, "address", "net.address", &n->address, err)) < 0 ||
            (r = get_int(o, "prefix", "net.prefix", true, 1, 30, &prefix, err)) < 0 ||
            (r = get_ipv4(o, "gateway", "net.gateway", &n->gateway, err)) < 0 ||
            (r = get_int(o, "mtu", "net.mtu", false, 576, 9000, &mtu, err)) < 0)
                return r;
        n->prefix = (int)prefix;
        n->mtu = (int)mtu;
        uint32_t mask = hd_ipv4_mask(n->prefix);
        if ((n->address & ~mask) == 0 || (n->address & ~mask) == ~mask)
                return bad_field(err, "net.address", "must not be its subnet's first or last");
        if ((n->gateway & mask) != (n->address & mask) || n->gateway == n->address)
                return bad_field(err, "net.gateway", "must be another address of the subnet");

        if ((r = get_text(o, "hosts", "net.hosts", &n->hosts, err)) < 0 ||
            (r = get_text(o, "resolv_conf", "net.resolv_conf", &n->resolv_conf, err)) < 0)
                return r;
        return 0;
}

static int parse_root(json_t *root, HdCtBundle *b, HdError **err)
{
        static const char *const keys[] = { "uuid",     "name",     "rootfs",  "process",
                                            "hostname", "userns",   "network", "net",
                                            "cgroup",   "security", "log",     "stop_signal",
                                            NULL };
        if (!json_is_object(root))
                return hd_error_set(err, -EINVAL, "config.json: must hold an object");
        int r = check_keys(root, "", keys, err);
        if (r < 0)
                return r;
        if ((r = get_str(root, "uuid", "uuid", true, &b->uuid, err)) < 0 ||
            (r = get_str(root, "name", "name", true, &b->name, err)) < 0)
                return r;
        if ((r = parse_rootfs(root, b, err)) < 0 || (r = parse_process(root, b, err)) < 0)
                return r;
        if ((r = get_str(root, "hostname", "hostname", false, &b->hostname, err)) < 0)
                return r;
        if (!b->hostname && !(b->hostname = strdup(b->name)))
                return hd_error_set(err, -ENOMEM, "out of memory");
        if (strlen(b->hostname) > 64)
                return bad_field(err, "hostname", "must be at most 64 characters");
        if ((r = parse_userns(root, b, err)) < 0)
                return r;

        _cleanup_free_ char *net = NULL;
        if ((r = get_str(root, "network", "network", false, &net, err)) < 0)
                return r;
        if (!net || strcmp(net, "none") == 0)
                b->network = HD_CT_NETWORK_NONE;
        else if (strcmp(net, "host") == 0)
                b->network = HD_CT_NETWORK_HOST;
        else if (strcmp(net, "bridge") == 0)
                b->network = HD_CT_NETWORK_BRIDGE;
        else
                return bad_field(err, "network", "must be `none`, `host` or `bridge`");
        if ((r = parse_net(root, b, err)) < 0)
                return r;

        if ((r = parse_cgroup(root, b, err)) < 0 || (r = parse_security(root, b, err)) < 0 ||
            (r = parse_log(root, b, err)) < 0)
                return r;
        /* A privileged container is the host's root: there is no user namespace to be
         * privileged in (Docker and Incus refuse the pair too). */
        if (b->privileged && b->userns)
                return bad_field(err, "security.privileged", "cannot go with `userns`");
        int64_t sig = b->stop_signal;
        if ((r = get_int(root, "stop_signal", "stop_signal", false, 1, 64, &sig, err)) < 0)
                return r;
        b->stop_signal = (int)sig;
        return 0;
}

int hd_ct_bundle_parse(const char *dir, const char *json, size_t len, HdCtBundle **ret,
                       HdError **err)
{
        json_error_t jerr;
        _cleanup_json_ json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!root)
                return hd_error_set(err, -EINVAL, "config.json: line %d: %s", jerr.line, jerr.text);

        _cleanup_(hd_ct_bundle_freep) HdCtBundle *b = calloc(1, sizeof(*b));
        if (!b)
                return hd_error_set(err, -ENOMEM, "out of memory");
        b->dir = strdup(dir ? dir : "");
        b->cwd = strdup("/");
        b->user = strdup("0:0");
        b->env = calloc(1, sizeof(char *));
        if (!b->dir || !b->cwd || !b->user || !b->env)
                return hd_error_set(err, -ENOMEM, "out of memory");
        b->no_new_privs = true;
        b->log_max_files = 1;
        b->stop_signal = SIGTERM;

        int r = parse_root(root, b, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(b);
        return 0;
}

int hd_ct_bundle_load(const char *dir, HdCtBundle **ret, HdError **err)
{
        _cleanup_free_ char *path = NULL, *text = NULL;
        size_t len = 0;
        if (asprintf(&path, "%s/%s", dir, HD_CT_CONFIG_FILE) < 0)
                return hd_error_set(err, -ENOMEM, "out of memory");
        int r = hd_read_file(path, CONFIG_MAX_BYTES, &text, &len);
        if (r < 0)
                return hd_error_set(err, r, "read `%s`: %s", path, strerror(-r));
        return hd_ct_bundle_parse(dir, text, len, ret, err);
}

void hd_ct_bundle_free(HdCtBundle *b)
{
        if (!b)
                return;
        free(b->dir);
        free(b->uuid);
        free(b->name);
        strv_free(b->lower);
        free(b->upper);
        free(b->work);
        free(b->merged);
        strv_free(b->args);
        strv_free(b->env);
        free(b->cwd);
        free(b->user);
        free(b->rlimits);
        free(b->hostname);
        free(b->uid_map);
        free(b->gid_map);
        free(b->cgroup_name);
        free(b->cpuset);
        free(b->seccomp_path);
        free(b->log_path);
        free(b->net.hosts);
        free(b->net.resolv_conf);
        free(b);
}

/* ---- liveness ----------------------------------------------------------------------- */

/* Reads /proc/<pid>/stat: the state letter (field 3) and the start time (field 22).
 * comm (field 2) may hold spaces and parentheses, so fields count from the last ')'. */
static int read_proc_stat(pid_t pid, char *ret_state, uint64_t *ret_start)
{
        char path[64], buf[1024];
        if (pid <= 0)
                return -ESRCH;
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? -ESRCH : -errno;
        ssize_t n;
        do
                n = read(fd, buf, sizeof(buf) - 1);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return errno == ESRCH ? -ESRCH : -errno;
        buf[n] = '\0';
        char *p = strrchr(buf, ')');
        if (!p || p[1] != ' ')
                return -EIO;
        p += 2; /* field 3 */
        char state = *p;
        for (int field = 3; field < 22; field++) {
                p = strchr(p, ' ');
                if (!p)
                        return -EIO;
                p++;
        }
        char *end;
        errno = 0;
        unsigned long long v = strtoull(p, &end, 10);
        if (errno || end == p || (*end != ' ' && *end != '\0' && *end != '\n'))
                return -EIO;
        if (ret_state)
                *ret_state = state;
        *ret_start = v;
        return 0;
}

int hd_ct_pid_start_time(pid_t pid, uint64_t *ret)
{
        return read_proc_stat(pid, NULL, ret);
}

bool hd_ct_pid_alive(pid_t pid, uint64_t start_time)
{
        char state = 0;
        uint64_t st = 0;
        if (read_proc_stat(pid, &state, &st) < 0)
                return false;
        /* A zombie has exited; only its parent's wait is missing. */
        return st == start_time && state != 'Z' && state != 'X' && state != 'x';
}

/* ---- state.json --------------------------------------------------------------------- */

static int write_json_file(const char *dir, const char *name, json_t *o, HdError **err)
{
        _cleanup_free_ char *path = NULL, *text = NULL, *line = NULL;
        if (!o || asprintf(&path, "%s/%s", dir, name) < 0)
                return hd_error_set(err, -ENOMEM, "out of memory");
        text = json_dumps(o, JSON_COMPACT);
        int len = text ? asprintf(&line, "%s\n", text) : -1;
        if (len < 0)
                return hd_error_set(err, -ENOMEM, "out of memory");
        int r = hd_write_file_atomic(path, line, (size_t)len, 0644);
        if (r < 0)
                return hd_error_set(err, r, "write `%s`: %s", path, strerror(-r));
        return 0;
}

static int read_json_file(const char *dir, const char *name, json_t **ret, HdError **err)
{
        _cleanup_free_ char *path = NULL, *text = NULL;
        size_t len = 0;
        if (asprintf(&path, "%s/%s", dir, name) < 0)
                return hd_error_set(err, -ENOMEM, "out of memory");
        int r = hd_read_file(path, STATE_MAX_BYTES, &text, &len);
        if (r < 0)
                return hd_error_set(err, r, "read `%s`: %s", path, strerror(-r));
        json_error_t jerr;
        json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!o)
                return hd_error_set(err, -EINVAL, "`%s`: line %d: %s", path, jerr.line, jerr.text);
        if (!json_is_object(o)) {
                json_decref(o);
                return hd_error_set(err, -EINVAL, "`%s`: must hold an object", path);
        }
        *ret = o;
        return 0;
}

static int file_int(json_t *o, const char *file, const char *key, int64_t min, int64_t max,
                    int64_t *ret, HdError **err)
{
        json_t *v = json_object_get(o, key);
        if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
                return hd_error_set_field(err, -EINVAL, key, "%s: `%s` is missing or out of range",
                                          file, key);
        *ret = json_integer_value(v);
        return 0;
}

static int file_time(json_t *o, const char *file, const char *key, int64_t *ret, HdError **err)
{
        json_t *v = json_object_get(o, key);
        if (!json_is_string(v) || hd_time_parse(json_string_value(v), ret) < 0)
                return hd_error_set_field(err, -EINVAL, key,
                                          "%s: `%s` must be an RFC 3339 UTC time", file, key);
        return 0;
}

int hd_ct_state_write(const char *dir, const HdCtState *s, HdError **err)
{
        char when[32];
        hd_time_format(s->started_at_ms, when);
        _cleanup_json_ json_t *o =
                json_pack("{s:i, s:I, s:i, s:I, s:s}", "monitor_pid", (int)s->monitor_pid,
                          "monitor_start_time", (json_int_t)s->monitor_start_time, "pid",
                          (int)s->pid, "start_time", (json_int_t)s->start_time, "started_at", when);
        return write_json_file(dir, HD_CT_STATE_FILE, o, err);
}

int hd_ct_state_read(const char *dir, HdCtState *ret, HdError **err)
{
        _cleanup_json_ json_t *o = NULL;
        int r = read_json_file(dir, HD_CT_STATE_FILE, &o, err);
        if (r < 0)
                return r;
        int64_t mpid, mst, pid, st, at;
        if ((r = file_int(o, HD_CT_STATE_FILE, "monitor_pid", 1, INT32_MAX, &mpid, err)) < 0 ||
            (r = file_int(o, HD_CT_STATE_FILE, "monitor_start_time", 0, INT64_MAX, &mst, err)) <
                    0 ||
            (r = file_int(o, HD_CT_STATE_FILE, "pid", 1, INT32_MAX, &pid, err)) < 0 ||
            (r = file_int(o, HD_CT_STATE_FILE, "start_time", 0, INT64_MAX, &st, err)) < 0 ||
            (r = file_time(o, HD_CT_STATE_FILE, "started_at", &at, err)) < 0)
                return r;
        *ret = (HdCtState){ .monitor_pid = (pid_t)mpid,
                            .monitor_start_time = (uint64_t)mst,
                            .pid = (pid_t)pid,
                            .start_time = (uint64_t)st,
                            .started_at_ms = at };
        return 0;
}

bool hd_ct_state_container_alive(const HdCtState *s)
{
        return hd_ct_pid_alive(s->pid, s->start_time);
}

bool hd_ct_state_monitor_alive(const HdCtState *s)
{
        return hd_ct_pid_alive(s->monitor_pid, s->monitor_start_time);
}

/* ---- exit.json ---------------------------------------------------------------------- */

static const char *const reason_names[] = {
        [HD_CT_EXIT_EXITED] = "exited",
        [HD_CT_EXIT_SIGNAL] = "signal",
        [HD_CT_EXIT_OOM] = "oom",
};

const char *hd_ct_exit_reason_to_string(HdCtExitReason r)
{
        if ((unsigned)r >= HD_ARRAY_SIZE(reason_names))
                return "exited";
        return reason_names[r];
}

int hd_ct_exit_reason_from_string(const char *s, HdCtExitReason *ret)
{
        for (size_t i = 0; s && i < HD_ARRAY_SIZE(reason_names); i++)
                if (strcmp(s, reason_names[i]) == 0) {
                        *ret = (HdCtExitReason)i;
                        return 0;
                }
        return -EINVAL;
}

void hd_ct_exit_from_wait_status(int wstatus, uint64_t oom_kills, int64_t finished_at_ms,
                                 HdCtExit *ret)
{
        *ret = (HdCtExit){ .finished_at_ms = finished_at_ms, .oom_kills = oom_kills };
        if (WIFSIGNALED(wstatus)) {
                ret->signal = WTERMSIG(wstatus);
                ret->exit_code = 128 + ret->signal;
                ret->reason = ret->signal == SIGKILL && oom_kills > 0 ? HD_CT_EXIT_OOM
                                                                      : HD_CT_EXIT_SIGNAL;
        } else {
                ret->exit_code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 255;
                ret->reason = HD_CT_EXIT_EXITED;
        }
}

int hd_ct_exit_write(const char *dir, const HdCtExit *e, HdError **err)
{
        char when[32];
        hd_time_format(e->finished_at_ms, when);
        _cleanup_json_ json_t *o =
                json_pack("{s:i, s:i, s:s, s:s, s:I}", "exit_code", e->exit_code, "signal",
                          e->signal, "reason", hd_ct_exit_reason_to_string(e->reason),
                          "finished_at", when, "oom_kills", (json_int_t)e->oom_kills);
        return write_json_file(dir, HD_CT_EXIT_FILE, o, err);
}

int hd_ct_exit_read(const char *dir, HdCtExit *ret, HdError **err)
{
        _cleanup_json_ json_t *o = NULL;
        int r = read_json_file(dir, HD_CT_EXIT_FILE, &o, err);
        if (r < 0)
                return r;
        int64_t code, sig, at, ooms;
        HdCtExitReason reason;
        if ((r = file_int(o, HD_CT_EXIT_FILE, "exit_code", 0, 255, &code, err)) < 0 ||
            (r = file_int(o, HD_CT_EXIT_FILE, "signal", 0, 64, &sig, err)) < 0 ||
            (r = file_time(o, HD_CT_EXIT_FILE, "finished_at", &at, err)) < 0 ||
            (r = file_int(o, HD_CT_EXIT_FILE, "oom_kills", 0, INT64_MAX, &ooms, err)) < 0)
                return r;
        json_t *rs = json_object_get(o, "reason");
        if (hd_ct_exit_reason_from_string(json_string_value(rs), &reason) < 0)
                return hd_error_set_field(err, -EINVAL, "reason",
                                          "%s: `reason` must be exited, signal or oom",
                                          HD_CT_EXIT_FILE);
        *ret = (HdCtExit){ .exit_code = (int)code,
                           .signal = (int)sig,
                           .reason = reason,
                           .finished_at_ms = at,
                           .oom_kills = (uint64_t)ooms };
        return 0;
}

/* ---- idmap.json --------------------------------------------------------------------- */

int hd_ct_idmap_read(const char *dir, uint32_t *ret_base)
{
        _cleanup_json_ json_t *o = NULL;
        _cleanup_error_ HdError *err = NULL;
        int r = read_json_file(dir, HD_CT_IDMAP_FILE, &o, &err);
        if (r < 0)
                return r == -ENOENT ? -ENOENT : -EINVAL;
        json_t *base = json_object_get(o, "base"), *size = json_object_get(o, "size");
        if (!json_is_integer(base) || json_integer_value(base) < 1 ||
            json_integer_value(base) > UINT32_MAX - HD_CT_IDMAP_SIZE ||
            json_integer_value(size) != HD_CT_IDMAP_SIZE)
                return -EINVAL;
        *ret_base = (uint32_t)json_integer_value(base);
        return 0;
}

int hd_ct_idmap_write(const char *dir, uint32_t base, HdError **err)
{
        _cleanup_json_ json_t *o = json_pack("{s:I, s:I}", "base", (json_int_t)base, "size",
                                             (json_int_t)HD_CT_IDMAP_SIZE);
        return write_json_file(dir, HD_CT_IDMAP_FILE, o, err);
}

static int cmp_u32(const void *a, const void *b)
{
        uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
        return x < y ? -1 : x > y;
}

int hd_ct_idmap_pick(const uint32_t *used, size_t n, uint32_t *ret)
{
        _cleanup_free_ uint32_t *sorted = n ? malloc(n * sizeof(uint32_t)) : NULL;
        if (n && !sorted)
                return -ENOMEM;
        if (n) {
                memcpy(sorted, used, n * sizeof(uint32_t));
                qsort(sorted, n, sizeof(uint32_t), cmp_u32);
        }
        /* One sweep: the ranges are all one size, so sorted by start they are sorted by
         * end too. The last id of a range must stay below 4294967295, (uid_t)-1. */
        uint64_t c = HD_CT_IDMAP_BASE;
        size_t i = 0;
        while (c + HD_CT_IDMAP_SIZE <= UINT32_MAX) {
                while (i < n && (uint64_t)sorted[i] + HD_CT_IDMAP_SIZE <= c)
                        i++;
                if (i == n || sorted[i] >= c + HD_CT_IDMAP_SIZE) {
                        *ret = (uint32_t)c;
                        return 0;
                }
                /* Taken: the first slot past the range that overlaps it. */
                uint64_t end = (uint64_t)sorted[i] + HD_CT_IDMAP_SIZE;
                c = HD_CT_IDMAP_BASE + (end - HD_CT_IDMAP_BASE + HD_CT_IDMAP_SIZE - 1) /
                                               HD_CT_IDMAP_SIZE * HD_CT_IDMAP_SIZE;
        }
        return -ENOSPC;
}
