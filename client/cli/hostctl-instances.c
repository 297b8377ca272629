/* hostctl: the commands on instances themselves (ls, show, create, label, rm); the
 * others are in hostctl-commands.c. */
#include "hostctl.h"

#include <limits.h>
#include <math.h>
#include <string.h>

#include "hd-util.h"

enum {
        OPT_KIND = 256,
        OPT_STATE,
        OPT_LABEL,
        OPT_LIMIT,
        OPT_IMAGE,
        OPT_VCPUS,
        OPT_MEMORY,
        OPT_PIDS_MAX,
        OPT_DISK_GB,
        OPT_ENV,
        OPT_WORKDIR,
        OPT_USER,
        OPT_HOSTNAME,
        OPT_RESTART,
        OPT_AUTOSTART,
        OPT_FILE,
        OPT_NO_WAIT,
        OPT_WAIT,
        OPT_FORCE,
        OPT_NETWORK,
        OPT_IP,
        OPT_PUBLISH,
};

/* ---- ls, show ------------------------------------------------------------------------ */

static int hostctl_instances_page(HcClient *c, const void *opts, int limit, const char *after,
                                  json_t **ret, HcError *err)
{
        HcListOptions o = *(const HcListOptions *)opts;
        o.limit = limit;
        o.after = after;
        return hc_instance_list(c, &o, ret, err);
}

int hostctl_cmd_ls(Hostctl *ctl, int argc, char **argv)
{
        static const struct option options[] = {
                { "kind", required_argument, NULL, OPT_KIND },
                { "state", required_argument, NULL, OPT_STATE },
                { "label", required_argument, NULL, OPT_LABEL },
                { "limit", required_argument, NULL, OPT_LIMIT },
                HOSTCTL_COMMON_OPTIONS,
                {},
        };
        _cleanup_(hostctl_strv_clear) HostctlStrv labels = { 0 };
        _cleanup_json_ json_t *all = NULL;
        HcListOptions opts = { 0 };
        long long limit = 0;
        int c, r;

        while ((c = hostctl_getopt(ctl, argc, argv, options)) != -1) {
                switch (c) {
                case OPT_KIND:
                        opts.kind = optarg;
                        break;
                case OPT_STATE:
                        opts.state = optarg;
                        break;
                case OPT_LABEL:
                        if (!hostctl_is_key_value(optarg))
                                return hostctl_usage_error("--label takes KEY=VALUE, not `%s`",
                                                           optarg);
                        r = hostctl_strv_push(&labels, optarg);
                        if (r != HOSTCTL_EXIT_OK)
                                return r;
                        break;
                case OPT_LIMIT:
                        if (!hostctl_parse_int("--limit", optarg, 1, INT_MAX, &limit))
                                return HOSTCTL_EXIT_USAGE;
                        break;
                default:
                        return c - HOSTCTL_OPT_STOP;
                }
        }
        r = hostctl_positional(argc, argv, 0, 0, NULL);
        if (r >= 0)
                return r;
        opts.labels = labels.v;
        opts.n_labels = labels.n;

        r = hostctl_collect(ctl, hostctl_instances_page, &opts, "instances", limit, &all);
        if (r != HOSTCTL_EXIT_OK)
                return r;
        if (ctl->output == HOSTCTL_OUTPUT_JSON)
                hostctl_print_json(all);
        else
                hostctl_print_instances(json_object_get(all, "instances"));
        return HOSTCTL_EXIT_OK;
}

int hostctl_cmd_show(Hostctl *ctl, int argc, char **argv)
{
        _cleanup_json_ json_t *instance = NULL;
        HcError err;
        int r = hostctl_only_common_options(ctl, argc, argv, 1, 1, "instance NAME");
        if (r >= 0)
                return r;
        if (!hostctl_client(ctl))
                return HOSTCTL_EXIT_ERROR;
        if (hc_instance_get(ctl->client, argv[optind], &instance, NULL, &err) < 0)
                return hostctl_api_error(&err, NULL);
        return hostctl_print_object(ctl, instance);
}

/* ---- create -------------------------------------------------------------------------- */

typedef struct HostctlCreate {
        const char *file, *kind, *image, *vcpus, *memory, *pids_max, *disk_gb;
        const char *workdir, *user, *hostname, *restart, *network, *ip;
        bool autostart;
        HostctlStrv labels, env, publish;
} HostctlCreate;

static void hostctl_create_clear(HostctlCreate *a)
{
        hostctl_strv_clear(&a->labels);
        hostctl_strv_clear(&a->env);
        hostctl_strv_clear(&a->publish);
}

/* The object member key of obj, created (or replaced, when it is not an object). */
static json_t *hostctl_member_object(json_t *obj, const char *key)
{
        json_t *m = json_object_get(obj, key);
        if (json_is_object(m))
                return m;
        m = json_object();
        return json_object_set_new(obj, key, m) == 0 ? m : NULL;
}

static int hostctl_set_int(json_t *obj, const char *option, const char *key, const char *value)
{
        long long v;
        if (!value)
                return HOSTCTL_EXIT_OK;
        if (!hostctl_parse_int(option, value, LLONG_MIN, LLONG_MAX, &v))
                return HOSTCTL_EXIT_USAGE;
        if (!obj || json_object_set_new(obj, key, json_integer(v)) < 0)
                return hostctl_error("out of memory");
        return HOSTCTL_EXIT_OK;
}

static int hostctl_set_string(json_t *obj, const char *key, const char *value)
{
        if (!value)
                return HOSTCTL_EXIT_OK;
        if (json_object_set_new(obj, key, json_string(value)) < 0)
                return hostctl_error("`%s` is not valid UTF-8", value);
        return HOSTCTL_EXIT_OK;
}

/* KEY=VALUE strings into the object member key. */
static int hostctl_set_pairs(json_t *spec, const char *option, const char *key,
                             const HostctlStrv *pairs)
{
        json_t *obj = pairs->n > 0 ? hostctl_member_object(spec, key) : NULL;
        for (size_t i = 0; i < pairs->n; i++) {
                const char *eq = strchr(pairs->v[i], '=');
                _cleanup_free_ char *k = strndup(pairs->v[i], (size_t)(eq - pairs->v[i]));
                if (!obj || !k || json_object_set_new(obj, k, json_string(eq + 1)) < 0)
                        return hostctl_error("%s `%s` is not valid", option, pairs->v[i]);
        }
        return HOSTCTL_EXIT_OK;
}

static int hostctl_set_vcpus(json_t *spec, const char *value)
{
        double v;
        json_t *res;
        if (!value)
                return HOSTCTL_EXIT_OK;
        if (hd_parse_double(value, &v) < 0)
                return hostctl_usage_error("--vcpus must be a number, not `%s`", value);
        res = hostctl_member_object(spec, "resources");
        /* Integers stay integers: VMs take whole vCPUs only. */
        json_t *n = v == floor(v) && fabs(v) < 1e15 ? json_integer((json_int_t)v) : json_real(v);
        if (!res || json_object_set_new(res, "vcpus", n) < 0)
                return hostctl_error("out of memory");
        return HOSTCTL_EXIT_OK;
}

static int hostctl_set_restart(json_t *spec, const char *value)
{
        _cleanup_json_ json_t *policy = NULL;
        long long retries;

        if (!value)
                return HOSTCTL_EXIT_OK;
        if (strcmp(value, "no") == 0 || strcmp(value, "always") == 0 ||
            strcmp(value, "on-failure") == 0) {
                policy = json_pack("{s:s}", "name", value);
        } else if (hd_str_startswith(value, "on-failure:")) {
                if (!hostctl_parse_int("--restart on-failure:N", value + strlen("on-failure:"), 0,
                                       INT_MAX, &retries))
                        return HOSTCTL_EXIT_USAGE;
                policy = json_pack("{s:s,s:I}", "name", "on-failure", "max_retries",
                                   (json_int_t)retries);
        } else {
                return hostctl_usage_error(
                        "--restart must be no, on-failure, on-failure:N or always, not `%s`",
                        value);
        }
        if (!policy || json_object_set(spec, "restart_policy", policy) < 0)
                return hostctl_error("out of memory");
        return HOSTCTL_EXIT_OK;
}

/* -p values (already checked) as the spec's ports, replacing those of --file. */
static int hostctl_set_ports(json_t *spec, const HostctlStrv *publish)
{
        _cleanup_json_ json_t *ports = NULL;
        HcError err;

        if (publish->n == 0)
                return HOSTCTL_EXIT_OK;
        if (!(ports = json_array()))
                return hostctl_error("out of memory");
        for (size_t i = 0; i < publish->n; i++) {
                json_t *p = NULL;
                if (hc_port_forward_parse(publish->v[i], &p, &err) < 0)
                        return hostctl_usage_error("--publish: %s", err.message);
                if (json_array_append_new(ports, p) < 0)
                        return hostctl_error("out of memory");
        }
        if (json_object_set(spec, "ports", ports) < 0)
                return hostctl_error("out of memory");
        return HOSTCTL_EXIT_OK;
}

static int hostctl_create_spec(const HostctlCreate *a, const char *name, char **command,
                               int n_command, json_t **ret)
{
        _cleanup_json_ json_t *spec = NULL;
        json_error_t e;
        int r = HOSTCTL_EXIT_OK;

        if (a->file) {
                spec = json_load_file(a->file, JSON_REJECT_DUPLICATES, &e);
                if (!spec)
                        return hostctl_error("cannot read `%s`: %s (line %d)", a->file, e.text,
                                             e.line);
                if (!json_is_object(spec))
                        return hostctl_error("`%s` does not hold a JSON object", a->file);
        } else {
                spec = json_object();
                if (!spec)
                        return hostctl_error("out of memory");
        }

        r = hostctl_set_string(spec, "name", name);
        if (r == HOSTCTL_EXIT_OK)
                r = hostctl_set_string(spec, "kind", a->kind);
        if (r == HOSTCTL_EXIT_OK)
                r = hostctl_set_string(spec, "image", a->image);
        if (r == HOSTCTL_EXIT_OK)
                r = hostctl_set_string(spec, "workdir", a->workdir);
        if (r == HOSTCTL_EXIT_OK)
                r = hostctl_set_string(spec, "user", a->user);
        if (r == HOSTCTL_EXIT_OK)
                r = hostctl_set_string(spec, "hostname", a->hostname);
        if (r == HOSTCTL_EXIT_OK)
                r = hostctl_set_string(spec, "network", a->network);
        if (r == HOSTCTL_EXIT_OK)
                r = hostctl_set_string(spec, "ip", a->ip);
        if (r == HOSTCTL_EXIT_OK)
                r = hostctl_set_ports(spec, &a->publish);
        if (r == HOSTCTL_EXIT_OK)
                r = hostctl_set_vcpus(spec, a->vcpus);
        if (r == HOSTCTL_EXIT_OK && a->memory)
                r = hostctl_set_int(hostctl_member_object(spec, "resources"), "--memory",
                                    "memory_mb", a->memory);
        if (r == HOSTCTL_EXIT_OK && a->pids_max)
                r = hostctl_set_int(hostctl_member_object(spec, "resources"), "--pids-max",
                                    "pids_max", a->pids_max);
        if (r == HOSTCTL_EXIT_OK && a->disk_gb)
                r = hostctl_set_int(hostctl_member_object(spec, "resources"), "--disk-gb",
                                    "disk_gb", a->disk_gb);
        if (r == HOSTCTL_EXIT_OK)
                r = hostctl_set_pairs(spec, "--label", "labels", &a->labels);
        if (r == HOSTCTL_EXIT_OK)
                r = hostctl_set_pairs(spec, "--env", "env", &a->env);
        if (r == HOSTCTL_EXIT_OK)
                r = hostctl_set_restart(spec, a->restart);
        if (r == HOSTCTL_EXIT_OK && a->autostart && json_object_set(spec, "autostart", json_true()))
                r = hostctl_error("out of memory");
        if (r == HOSTCTL_EXIT_OK && command) {
                json_t *argv = json_array();
                if (!argv || json_object_set_new(spec, "command", argv) < 0)
                        return hostctl_error("out of memory");
                for (int i = 0; i < n_command; i++)
                        if (json_array_append_new(argv, json_string(command[i])) < 0)
                                return hostctl_error("command argument `%s` is not valid UTF-8",
                                                     command[i]);
        }
        if (r != HOSTCTL_EXIT_OK)
                return r;

        if (!json_is_string(json_object_get(spec, "name")))
                return hostctl_usage_error("create: missing instance NAME");
        if (!json_object_get(spec, "kind"))
                return hostctl_usage_error("create: --kind container|vm is required");
        if (!json_object_get(spec, "image"))
                return hostctl_usage_error("create: --image is required");
        *ret = TAKE_PTR(spec);
        return HOSTCTL_EXIT_OK;
}

int hostctl_cmd_create(Hostctl *ctl, int argc, char **argv)
{
        static const struct option options[] = {
                { "kind", required_argument, NULL, OPT_KIND },
                { "image", required_argument, NULL, OPT_IMAGE },
                { "vcpus", required_argument, NULL, OPT_VCPUS },
                { "memory", required_argument, NULL, OPT_MEMORY },
                { "pids-max", required_argument, NULL, OPT_PIDS_MAX },
                { "disk-gb", required_argument, NULL, OPT_DISK_GB },
                { "label", required_argument, NULL, OPT_LABEL },
                { "env", required_argument, NULL, OPT_ENV },
                { "workdir", required_argument, NULL, OPT_WORKDIR },
                { "user", required_argument, NULL, OPT_USER },
                { "hostname", required_argument, NULL, OPT_HOSTNAME },
                { "restart", required_argument, NULL, OPT_RESTART },
                { "autostart", no_argument, NULL, OPT_AUTOSTART },
                { "network", required_argument, NULL, OPT_NETWORK },
                { "ip", required_argument, NULL, OPT_IP },
                { "publish", required_argument, NULL, OPT_PUBLISH },
                { "file", required_argument, NULL, OPT_FILE },
                HOSTCTL_COMMON_OPTIONS,
                {},
        };
        _cleanup_(hostctl_create_clear) HostctlCreate a = { 0 };
        _cleanup_json_ json_t *spec = NULL;
        _cleanup_json_ json_t *instance = NULL;
        char **command = NULL;
        int n_command = 0, opt_argc = argc, c, r;
        HcError err;

        /* Everything after "--" is the command, not options. */
        for (int i = 1; i < argc; i++)
                if (strcmp(argv[i], "--") == 0) {
                        opt_argc = i;
                        command = argv + i + 1;
                        n_command = argc - i - 1;
                        break;
                }
        if (command && n_command == 0)
                return hostctl_usage_error("create: no command after `--`");

        while ((c = hostctl_getopt_short(ctl, opt_argc, argv, "p:", options)) != -1) {
                switch (c) {
                case OPT_KIND:
                        a.kind = optarg;
                        break;
                case OPT_NETWORK:
                        a.network = optarg;
                        break;
                case OPT_IP:
                        a.ip = optarg;
                        break;
                case 'p':
                case OPT_PUBLISH:
                        /* Checked now, so that a typo is a usage error before any request. */
                        if (hc_port_forward_parse(optarg, NULL, &err) < 0)
                                return hostctl_usage_error("--publish: %s", err.message);
                        r = hostctl_strv_push(&a.publish, optarg);
                        if (r != HOSTCTL_EXIT_OK)
                                return r;
                        break;
                case OPT_IMAGE:
                        a.image = optarg;
                        break;
                case OPT_VCPUS:
                        a.vcpus = optarg;
                        break;
                case OPT_MEMORY:
                        a.memory = optarg;
                        break;
                case OPT_PIDS_MAX:
                        a.pids_max = optarg;
                        break;
                case OPT_DISK_GB:
                        a.disk_gb = optarg;
                        break;
                case OPT_LABEL:
                case OPT_ENV:
                        if (!hostctl_is_key_value(optarg))
                                return hostctl_usage_error("--%s takes KEY=VALUE, not `%s`",
                                                           c == OPT_LABEL ? "label" : "env",
                                                           optarg);
                        r = hostctl_strv_push(c == OPT_LABEL ? &a.labels : &a.env, optarg);
                        if (r != HOSTCTL_EXIT_OK)
                                return r;
                        break;
                case OPT_WORKDIR:
                        a.workdir = optarg;
                        break;
                case OPT_USER:
                        a.user = optarg;
                        break;
                case OPT_HOSTNAME:
                        a.hostname = optarg;
                        break;
                case OPT_RESTART:
                        a.restart = optarg;
                        break;
                case OPT_AUTOSTART:
                        a.autostart = true;
                        break;
                case OPT_FILE:
                        a.file = optarg;
                        break;
                default:
                        return c - HOSTCTL_OPT_STOP;
                }
        }
        r = hostctl_positional(opt_argc, argv, 0, 1, NULL);
        if (r >= 0)
                return r;

        r = hostctl_create_spec(&a, optind < opt_argc ? argv[optind] : NULL, command, n_command,
                                &spec);
        if (r != HOSTCTL_EXIT_OK)
                return r;
        if (!hostctl_client(ctl))
                return HOSTCTL_EXIT_ERROR;
        if (hc_instance_create(ctl->client, spec, &instance, NULL, &err) < 0)
                return hostctl_api_error(&err, NULL);
        return hostctl_print_object(ctl, instance);
}

/* ---- label --------------------------------------------------------------------------- */

int hostctl_cmd_label(Hostctl *ctl, int argc, char **argv)
{
        _cleanup_json_ json_t *labels = json_object();
        _cleanup_json_ json_t *current = NULL;
        _cleanup_json_ json_t *instance = NULL;
        _cleanup_free_ char *etag = NULL;
        HcError err;
        int r = hostctl_only_common_options(ctl, argc, argv, 2, -1,
                                            "instance NAME and KEY=VALUE or KEY- arguments");
        if (r >= 0)
                return r;
        if (!labels)
                return hostctl_error("out of memory");

        const char *name = argv[optind];
        for (int i = optind + 1; i < argc; i++) {
                const char *arg = argv[i];
                size_t len = strlen(arg);
                const char *eq = strchr(arg, '=');
                _cleanup_free_ char *key = NULL;
                json_t *value;

                if (eq && eq != arg) {
                        key = strndup(arg, (size_t)(eq - arg));
                        value = json_string(eq + 1);
                } else if (!eq && len > 1 && arg[len - 1] == '-') {
                        key = strndup(arg, len - 1);
                        value = json_null();
                } else {
                        return hostctl_usage_error("label: `%s` is neither KEY=VALUE nor KEY-",
                                                   arg);
                }
                if (!key || json_object_set_new(labels, key, value) < 0)
                        return hostctl_error("label `%s` is not valid", arg);
        }

        if (!hostctl_client(ctl))
                return HOSTCTL_EXIT_ERROR;
        /* Read-modify-write guarded by the ETag: a change made in between fails with 412
         * rather than being merged blindly. */
        if (hc_instance_get(ctl->client, name, &current, &etag, &err) < 0)
                return hostctl_api_error(&err, NULL);
        r = hc_instance_patch_labels(ctl->client, name, labels, etag, &instance, NULL, &err);
        if (r == -ESTALE)
                return hostctl_error("`%s` was changed by someone else while its labels were "
                                     "being updated (ETag %s no longer matches); run the "
                                     "command again",
                                     name, etag ? etag : "?");
        if (r < 0)
                return hostctl_api_error(&err, NULL);

        if (ctl->output == HOSTCTL_OUTPUT_JSON) {
                hostctl_print_json(instance);
        } else {
                const char *key;
                json_t *v;
                json_object_foreach (json_object_get(instance, "labels"), key, v) {
                        _cleanup_free_ char *s = hostctl_value_string(v);
                        printf("%s=%s\n", key, s ? s : "");
                }
        }
        return HOSTCTL_EXIT_OK;
}

/* ---- rm ------------------------------------------------------------------------------ */

int hostctl_cmd_rm(Hostctl *ctl, int argc, char **argv)
{
        static const struct option options[] = {
                { "force", no_argument, NULL, OPT_FORCE },
                { "no-wait", no_argument, NULL, OPT_NO_WAIT },
                { "wait", required_argument, NULL, OPT_WAIT },
                HOSTCTL_COMMON_OPTIONS,
                {},
        };
        _cleanup_json_ json_t *op = NULL;
        long long wait_s = HOSTCTL_DEFAULT_WAIT_S;
        bool force = false;
        HcError err;
        int c, r;

        while ((c = hostctl_getopt(ctl, argc, argv, options)) != -1) {
                switch (c) {
                case OPT_FORCE:
                        force = true;
                        break;
                case OPT_NO_WAIT:
                        wait_s = 0;
                        break;
                case OPT_WAIT:
                        if (!hostctl_parse_wait(optarg, &wait_s))
                                return HOSTCTL_EXIT_USAGE;
                        break;
                default:
                        return c - HOSTCTL_OPT_STOP;
                }
        }
        r = hostctl_positional(argc, argv, 1, 1, "instance NAME");
        if (r >= 0)
                return r;
        if (!hostctl_client(ctl))
                return HOSTCTL_EXIT_ERROR;
        int64_t started = hd_monotonic_ms();
        if (hc_instance_delete(ctl->client, argv[optind], force, (int)wait_s, &op, &err) < 0)
                return hostctl_api_error(&err, NULL);
        return hostctl_finish_operation(ctl, op, wait_s, started);
}
