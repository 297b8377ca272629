/* The container's bundle: config.json from the instance spec over the image's
 * defaults, and the monitor started on it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ct-driver-internal.h"
#include "ct-security.h"
#include "hd-json.h"
#include "hd-util.h"

#define DEFAULT_PATH  "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define LOG_MAX_BYTES (10 << 20)
#define LOG_MAX_FILES 3
#define NOFILE_LIMIT  1048576

/* ---- config.json ------------------------------------------------------------------- */

static int append_strings(json_t *arr, const json_t *from)
{
        size_t k;
        json_t *v;
        json_array_foreach (from, k, v)
                if (json_is_string(v) && json_array_append(arr, v) < 0)
                        return -ENOMEM;
        return 0;
}

/* Docker's rule: the entrypoint, then the command given, else the image's cmd. */
static json_t *process_args(const HdInstance *inst, const json_t *icfg)
{
        _cleanup_json_ json_t *args = json_array();
        if (!args || append_strings(args, json_object_get(icfg, "entrypoint")) < 0)
                return NULL;
        if (inst->spec.command.n == 0)
                return append_strings(args, json_object_get(icfg, "cmd")) < 0 ? NULL
                                                                              : TAKE_PTR(args);
        for (size_t k = 0; k < inst->spec.command.n; k++)
                if (json_array_append_new(args, json_string(inst->spec.command.items[k])) < 0)
                        return NULL;
        return TAKE_PTR(args);
}

static bool env_has_key(const json_t *env, const char *kv, size_t klen, size_t *ret_index)
{
        size_t k;
        json_t *v;
        json_array_foreach (env, k, v) {
                const char *s = json_string_value(v);
                if (s && strncmp(s, kv, klen) == 0 && s[klen] == '=') {
                        *ret_index = k;
                        return true;
                }
        }
        return false;
}

/* The image's env, then the spec's on top (same key: the spec wins), PATH by default. */
static json_t *process_env(const HdInstance *inst, const json_t *icfg)
{
        _cleanup_json_ json_t *env = json_array();
        if (!env || append_strings(env, json_object_get(icfg, "env")) < 0)
                return NULL;
        size_t at;
        for (size_t k = 0; k < inst->spec.env.n; k++) {
                _cleanup_free_ char *kv = NULL;
                const HdKV *e = &inst->spec.env.items[k];
                if (asprintf(&kv, "%s=%s", e->key, e->value) < 0)
                        return NULL;
                int r = env_has_key(env, kv, strlen(e->key), &at)
                                ? json_array_set_new(env, at, json_string(kv))
                                : json_array_append_new(env, json_string(kv));
                if (r < 0)
                        return NULL;
        }
        if (!env_has_key(env, "PATH", 4, &at) &&
            json_array_insert_new(env, 0, json_string(DEFAULT_PATH)) < 0)
                return NULL;
        return TAKE_PTR(env);
}

static json_t *caps_json(uint64_t caps)
{
        json_t *arr = json_array();
        for (int c = 0; arr && c < 64; c++)
                if (caps & (1ULL << c)) {
                        const char *name = hd_ct_cap_to_name(c);
                        if (name)
                                json_array_append_new(arr, json_string(name));
                }
        return arr;
}

/* ---- the user namespace's id range ------------------------------------------------- */

HD_DEFINE_CLEANUP(DIR *, closedir)

/* The ranges other bundles hold (each recorded in its idmap.json). */
static int idmap_used(CtDriver *d, uint32_t **ret, size_t *ret_n, HdError **err)
{
        *ret = NULL;
        *ret_n = 0;
        _cleanup_(closedirp) DIR *dir = opendir(d->root);
        if (!dir)
                return hd_error_set(err, -errno, "cannot read `%s`: %m", d->root);
        size_t cap = 0;
        struct dirent *de;
        while ((de = readdir(dir))) {
                if (de->d_name[0] == '.' || (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN))
                        continue;
                _cleanup_free_ char *sub = NULL;
                uint32_t base;
                if (asprintf(&sub, "%s/%s", d->root, de->d_name) < 0)
                        return hd_error_set(err, -ENOMEM, "out of memory");
                if (hd_ct_idmap_read(sub, &base) < 0)
                        continue;
                if (*ret_n == cap) {
                        cap = cap ? 2 * cap : 16;
                        uint32_t *grown = realloc(*ret, cap * sizeof(uint32_t));
                        if (!grown)
                                return hd_error_set(err, -ENOMEM, "out of memory");
                        *ret = grown;
                }
                (*ret)[(*ret_n)++] = base;
        }
        return 0;
}

/* The container's host id range: the one its bundle records, else the lowest one that no
 * other bundle holds, recorded before anything is owned by it. Under idmap_lock, so two
 * starts never pick the same; stable across hostd restarts, since the bundle keeps it. */
static int idmap_base(CtDriver *d, const char *dir, uint32_t *ret, HdError **err)
{
        pthread_mutex_lock(&d->idmap_lock);
        int r = hd_ct_idmap_read(dir, ret);
        if (r == -ENOENT) {
                _cleanup_free_ uint32_t *used = NULL;
                size_t n = 0;
                r = idmap_used(d, &used, &n, err);
                if (r >= 0 && (r = hd_ct_idmap_pick(used, n, ret)) < 0)
                        hd_error_set(err, r,
                                     "no free range of %u host ids is left for a user namespace",
                                     HD_CT_IDMAP_SIZE);
                if (r >= 0)
                        r = hd_ct_idmap_write(dir, *ret, err);
        } else if (r < 0)
                hd_error_set(err, r, "`%s/" HD_CT_IDMAP_FILE "` is damaged", dir);
        pthread_mutex_unlock(&d->idmap_lock);
        return r;
}

static json_t *userns_json(uint32_t base)
{
        return json_pack("{s:[[i, I, I]], s:[[i, I, I]], s:b}", "uid_map", 0, (json_int_t)base,
                         (json_int_t)HD_CT_IDMAP_SIZE, "gid_map", 0, (json_int_t)base,
                         (json_int_t)HD_CT_IDMAP_SIZE, "idmapped_layers", 1);
}

static const char *icfg_string(const json_t *icfg, const char *key)
{
        const char *s = json_string_value(json_object_get(icfg, key));
        return s && *s ? s : NULL;
}

/* ---- the network -------------------------------------------------------------------- */

/* config.json's "net" for an instance with an address on a network (IPAM put it in
 * inst->addresses): its veth pair on the network's bridge, and the /etc/hosts and
 * /etc/resolv.conf it sees. DNS is the network's dnsmasq, which answers on the gateway. */
static int net_json(const HdInstance *inst, json_t **ret, HdError **err)
{
        const HdInstanceAddress *a = &inst->addresses[0];
        char veth[HD_CT_IFNAME_MAX];
        if (hd_ct_veth_name(inst->uuid, veth) < 0)
                return hd_error_set(err, -EINVAL, "instance uuid `%s` names no veth", inst->uuid);
        const char *hostname = inst->spec.hostname ? inst->spec.hostname : inst->spec.name;
        _cleanup_free_ char *hosts = NULL, *resolv = NULL;
        if (asprintf(&hosts,
                     "127.0.0.1\tlocalhost\n"
                     "::1\tlocalhost ip6-localhost ip6-loopback\n"
                     "%s\t%s\n",
                     a->address, hostname) < 0 ||
            asprintf(&resolv, "nameserver %s\nsearch %s\n", a->gateway, a->network) < 0)
                return hd_error_set(err, -ENOMEM, "out of memory");
        *ret = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:i, s:s, s:s}", "bridge", a->bridge,
                         "host_ifname", veth, "ifname", "eth0", "mac", a->mac, "address",
                         a->address, "prefix", a->prefix_len, "gateway", a->gateway, "mtu",
                         a->mtu > 0 ? a->mtu : HD_NETWORK_MTU_DEFAULT, "hosts", hosts,
                         "resolv_conf", resolv);
        if (!*ret)
                return hd_error_set(err, -ENOMEM, "cannot render the network of config.json");
        return 0;
}

int hd_ct_driver_write_config(CtDriver *d, const HdInstance *inst, const char *dir, HdError **err)
{
        _cleanup_(hd_img_rootfs_clear) HdImgRootfs rf = { 0 };
        if (!inst->spec.image)
                return hd_error_set_field(err, -EINVAL, "image", "a container needs an image");
        int r = hd_img_store_rootfs(d->images, inst->spec.image, &rf, err);
        if (r < 0)
                return hd_error_wrap(err, "image `%s`", inst->spec.image);
        json_error_t jerr;
        _cleanup_json_ json_t *icfg =
                rf.image->config_json ? json_loads(rf.image->config_json, 0, &jerr) : json_object();

        _cleanup_json_ json_t *args = process_args(inst, icfg);
        _cleanup_json_ json_t *env = process_env(inst, icfg);
        if (!args || !env)
                return hd_error_set(err, -ENOMEM, "out of memory");
        if (json_array_size(args) == 0)
                return hd_error_set_field(err, -EINVAL, "command",
                                          "image `%s` has no entrypoint or cmd: give a command",
                                          inst->spec.image);

        CtSecurityPlan plan;
        if ((r = hd_ct_driver_security(d, &inst->spec.security, &plan, err)) < 0)
                return r;

        /* "none" and "host" are namespaces; a network's name means an address on it. */
        const char *network = inst->spec.network ? inst->spec.network : "none";
        _cleanup_json_ json_t *net = NULL;
        if (inst->n_addresses > 0) {
                network = "bridge";
                if ((r = net_json(inst, &net, err)) < 0)
                        return r;
        } else if (strcmp(network, "none") != 0 && strcmp(network, "host") != 0)
                return hd_error_set_field(err, -EINVAL, "network",
                                          "the instance has no address on network `%s`", network);

        _cleanup_free_ char *upper = NULL, *work = NULL, *merged = NULL, *log = NULL;
        if (asprintf(&upper, "%s/upper", dir) < 0 || asprintf(&work, "%s/work", dir) < 0 ||
            asprintf(&merged, "%s/rootfs", dir) < 0 || asprintf(&log, "%s/console.log", dir) < 0)
                return hd_error_set(err, -ENOMEM, "out of memory");
        /* The overlay's root takes the upper dir's mode: 0755, as a root should be, so
         * that a container user other than root can use it. The bundle around it stays
         * 0700. */
        const char *made[] = { upper, work, merged };
        for (size_t k = 0; k < HD_ARRAY_SIZE(made); k++)
                if ((r = hd_mkdir_p(made[k], 0755)) < 0)
                        return hd_error_set(err, r, "cannot create `%s`: %s", made[k],
                                            strerror(-r));
        /* In a user namespace the container's root owns the root of its filesystem and
         * the overlay's work dir; what it creates there is owned by its mapped ids. */
        _cleanup_json_ json_t *userns = NULL;
        if (plan.userns) {
                uint32_t base;
                if ((r = idmap_base(d, dir, &base, err)) < 0)
                        return r;
                const char *owned[] = { upper, work };
                for (size_t k = 0; k < HD_ARRAY_SIZE(owned); k++)
                        if (chown(owned[k], base, base) < 0)
                                return hd_error_set(err, -errno, "cannot chown `%s`: %m", owned[k]);
                if (!(userns = userns_json(base)))
                        return hd_error_set(err, -ENOMEM, "out of memory");
        }

        json_t *lower = json_array();
        for (size_t k = 0; lower && k < rf.n_lower; k++)
                json_array_append_new(lower, json_string(rf.lower[k]));
        const HdResources *res = &inst->spec.resources;
        const char *user = inst->spec.user ? inst->spec.user : icfg_string(icfg, "user");
        const char *cwd = inst->spec.workdir ? inst->spec.workdir : icfg_string(icfg, "workdir");
        /* Docker's open-file limit, but never above hostd's own hard limit: raising one
         * needs CAP_SYS_RESOURCE, which a host may withhold from hostd itself. */
        struct rlimit nofile = { NOFILE_LIMIT, NOFILE_LIMIT };
        struct rlimit own;
        if (getrlimit(RLIMIT_NOFILE, &own) == 0 && own.rlim_max < NOFILE_LIMIT)
                nofile.rlim_cur = nofile.rlim_max = own.rlim_max;
        _cleanup_json_ json_t *cfg = json_pack(
                "{s:s, s:s,"
                " s:{s:o, s:s, s:s, s:s},"
                " s:{s:O, s:O, s:s, s:s, s:[{s:s, s:I, s:I}]},"
                " s:s, s:O?, s:s, s:O?,"
                " s:{s:s, s:I, s:I, s:I, s:I, s:s*},"
                " s:{s:o, s:b, s:s?, s:b},"
                " s:{s:s, s:I, s:I}, s:i}",
                "uuid", inst->uuid, "name", inst->spec.name, "rootfs", "lower", lower, "upper",
                upper, "work", work, "merged", merged, "process", "args", args, "env", env, "cwd",
                cwd ? cwd : "/", "user", user ? user : "0:0", "rlimits", "type", "RLIMIT_NOFILE",
                "soft", (json_int_t)nofile.rlim_cur, "hard", (json_int_t)nofile.rlim_max,
                "hostname", inst->spec.hostname ? inst->spec.hostname : inst->spec.name, "userns",
                userns, "network", network, "net", net, "cgroup", "name", inst->uuid,
                "memory_bytes", (json_int_t)(res->memory_mb * 1024 * 1024), "cpu_quota_us",
                (json_int_t)(res->vcpus * 100000.0 + 0.5), "cpu_period_us", (json_int_t)100000,
                "pids_max", (json_int_t)res->pids_max, "cpuset", res->cpuset, "security", "caps",
                caps_json(plan.caps), "no_new_privs", 1, "seccomp",
                plan.seccomp ? d->seccomp_path : NULL, "privileged", plan.privileged, "log", "path",
                log, "max_bytes", (json_int_t)LOG_MAX_BYTES, "max_files", (json_int_t)LOG_MAX_FILES,
                "stop_signal", 15);
        _cleanup_free_ char *text = cfg ? json_dumps(cfg, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
        if (!text)
                return hd_error_set(err, -ENOMEM, "cannot render config.json");
        _cleanup_free_ char *path = NULL;
        if (asprintf(&path, "%s/" HD_CT_CONFIG_FILE, dir) < 0)
                return hd_error_set(err, -ENOMEM, "out of memory");
        r = hd_write_file_atomic(path, text, strlen(text), 0600);
        if (r < 0)
                return hd_error_set(err, r, "cannot write `%s`: %s", path, strerror(-r));
        return 0;
}

/* ---- the monitor ----------------------------------------------------------------- */

#define ANSWER_MAX 4096

int hd_ct_driver_spawn(CtDriver *d, const char *dir, HdCtState *ret, HdError **err)
{
        int out[2];
        if (pipe2(out, O_CLOEXEC) < 0)
                return hd_error_set(err, -errno, "cannot create a pipe: %m");
        _cleanup_close_ int rd = out[0];
        _cleanup_close_ int wr = out[1];

        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_adddup2(&fa, wr, 1);
        posix_spawn_file_actions_adddup2(&fa, wr, 2);
        char *argv[] = { d->monitor, (char *)"start", (char *)dir, NULL };
        char *envp[] = { (char *)"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
        pid_t pid;
        int r = posix_spawn(&pid, d->monitor, &fa, NULL, argv, envp);
        posix_spawn_file_actions_destroy(&fa);
        if (r != 0)
                return hd_error_set(err, -r, "cannot run `%s`: %s", d->monitor, strerror(r));
        close(TAKE_FD(wr));

        char buf[ANSWER_MAX + 1];
        size_t len = 0;
        for (;;) {
                ssize_t n = read(rd, buf + len, ANSWER_MAX - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                len += (size_t)n;
                if (len == ANSWER_MAX)
                        break;
        }
        buf[len] = '\0';
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;

        /* The answer is the last line that parses as JSON (stderr may come first). */
        _cleanup_json_ json_t *answer = NULL;
        for (char *line = buf; line && *line;) {
                char *nl = strchr(line, '\n');
                if (nl)
                        *nl = '\0';
                json_error_t jerr;
                json_t *j = json_loads(line, 0, &jerr);
                if (j) {
                        json_decref(answer);
                        answer = j;
                }
                line = nl ? nl + 1 : NULL;
        }
        const char *error = json_string_value(json_object_get(answer, "error"));
        if (!answer || error || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                const char *step = json_string_value(json_object_get(answer, "step"));
                buf[strcspn(buf, "\n")] = '\0';
                return hd_error_set(err, -EIO, "the container did not start%s%s: %s",
                                    step ? " at " : "", step ? step : "",
                                    error  ? error
                                    : *buf ? buf
                                           : "the monitor failed");
        }
        return hd_ct_state_read(dir, ret, err);
}
