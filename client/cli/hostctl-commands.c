/* hostctl: the commands. Each parses its own options, makes its calls through
 * libhostclient and prints the result as a table (default) or as the API's JSON. */
#include "hostctl.h"

#include <limits.h>
#include <math.h>
#include <string.h>

#include "hd-util.h"

#define HOSTCTL_DEFAULT_WAIT_S 60
#define HOSTCTL_PAGE_MAX       1000
#define HOSTCTL_MAX_WAIT_S     (24 * 3600)

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
        OPT_TIMEOUT,
        OPT_SIGNAL,
        OPT_NO_WAIT,
        OPT_WAIT,
        OPT_FORCE,
        OPT_STATUS,
        OPT_INSTANCE,
        OPT_SINCE,
        OPT_TYPE,
};

/* ---- Helpers ------------------------------------------------------------------------- */

/* A growing array of borrowed strings (option values). */
typedef struct HostctlStrv {
        const char **v;
        size_t n;
} HostctlStrv;

static void hostctl_strv_clear(HostctlStrv *s)
{
        free(s->v);
        *s = (HostctlStrv){ 0 };
}

static int hostctl_strv_push(HostctlStrv *s, const char *value)
{
        const char **v = realloc(s->v, (s->n + 1) * sizeof(*v));
        if (!v)
                return hostctl_error("out of memory");
        v[s->n++] = value;
        s->v = v;
        return HOSTCTL_EXIT_OK;
}

/* Checks the number of positional arguments left after the options. Returns -1 when it
 * is right, or the exit status of the usage error printed. */
static int hostctl_positional(int argc, char **argv, int min, int max, const char *what)
{
        int n = argc - optind;
        if (n < min)
                return hostctl_usage_error("%s: missing %s", argv[0], what);
        if (max >= 0 && n > max)
                return hostctl_usage_error("%s: unexpected argument `%s`", argv[0],
                                           argv[optind + max]);
        return -1;
}

/* For commands with no options of their own: returns -1 to go on, or an exit status. */
static int hostctl_only_common_options(Hostctl *ctl, int argc, char **argv, int min, int max,
                                       const char *what)
{
        static const struct option options[] = { HOSTCTL_COMMON_OPTIONS, {} };
        int c = hostctl_getopt(ctl, argc, argv, options);
        if (c >= HOSTCTL_OPT_STOP)
                return c - HOSTCTL_OPT_STOP;
        return hostctl_positional(argc, argv, min, max, what);
}

static int hostctl_print_object(Hostctl *ctl, const json_t *obj)
{
        if (ctl->output == HOSTCTL_OUTPUT_JSON)
                hostctl_print_json(obj);
        else
                hostctl_print_kv(obj);
        return HOSTCTL_EXIT_OK;
}

static bool hostctl_parse_wait(const char *value, long long *ret)
{
        return hostctl_parse_int("--wait", value, 0, HOSTCTL_MAX_WAIT_S, ret);
}

static bool hostctl_is_key_value(const char *s)
{
        const char *eq = strchr(s, '=');
        return eq && eq != s;
}

/* ---- Paging -------------------------------------------------------------------------- */

typedef int (*HostctlPageFn)(HcClient *c, const void *opts, int limit, const char *after,
                             json_t **ret, HcError *err);

static int hostctl_instances_page(HcClient *c, const void *opts, int limit, const char *after,
                                  json_t **ret, HcError *err)
{
        HcListOptions o = *(const HcListOptions *)opts;
        o.limit = limit;
        o.after = after;
        return hc_instance_list(c, &o, ret, err);
}

static int hostctl_operations_page(HcClient *c, const void *opts, int limit, const char *after,
                                   json_t **ret, HcError *err)
{
        HcOperationListOptions o = *(const HcOperationListOptions *)opts;
        o.limit = limit;
        o.after = after;
        return hc_operation_list(c, &o, ret, err);
}

/* Follows the "next" cursors, collecting the member arrays of every page into
 * {member: […], "next": cursor|null}; with limit > 0 it stops after limit items and
 * keeps the cursor to go on from there. */
static int hostctl_collect(Hostctl *ctl, HostctlPageFn page_fn, const void *opts,
                           const char *member, long long limit, json_t **ret)
{
        HcClient *c = hostctl_client(ctl);
        _cleanup_json_ json_t *items = json_array();
        _cleanup_free_ char *after = NULL;
        HcError err;

        if (!c)
                return HOSTCTL_EXIT_ERROR;
        if (!items)
                return hostctl_error("out of memory");
        for (;;) {
                _cleanup_json_ json_t *page = NULL;
                long long want = limit > 0 ? limit - (long long)json_array_size(items) : 0;
                int page_limit = want > HOSTCTL_PAGE_MAX ? HOSTCTL_PAGE_MAX : (int)want;

                if (page_fn(c, opts, page_limit, after, &page, &err) < 0)
                        return hostctl_api_error(&err, NULL);
                json_t *list = json_object_get(page, member);
                if (!json_is_array(list))
                        return hostctl_error("unexpected answer from %s: no `%s` array",
                                             hc_client_endpoint(c), member);
                json_array_extend(items, list);
                const char *next = json_string_value(json_object_get(page, "next"));
                bool done = !next || !*next ||
                            (limit > 0 && (long long)json_array_size(items) >= limit);
                if (done || (after && strcmp(after, next) == 0)) {
                        *ret = json_pack("{s:O,s:s?}", member, items, "next",
                                         done && limit > 0 ? next : NULL);
                        return *ret ? HOSTCTL_EXIT_OK : hostctl_error("out of memory");
                }
                free(after);
                after = strdup(next);
                if (!after)
                        return hostctl_error("out of memory");
        }
}

/* ---- Operations' outcome ------------------------------------------------------------- */

static void hostctl_print_operation(Hostctl *ctl, json_t *op)
{
        if (ctl->output == HOSTCTL_OUTPUT_JSON) {
                hostctl_print_json(op);
        } else {
                _cleanup_json_ json_t *list = json_array();
                if (list && json_array_append(list, op) == 0)
                        hostctl_print_operations(list);
        }
}

/* Prints an operation that an action returned; with wait_s > 0, waits for what is left of
 * wait_s first, and then a failed, cancelled or unfinished operation is an error. */
static int hostctl_finish_operation(Hostctl *ctl, json_t *op, long long wait_s, int64_t started_ms)
{
        _cleanup_json_ json_t *waited = NULL;
        const char *id = json_string_value(json_object_get(op, "id"));
        HcError err;

        if (!json_is_object(op))
                return hostctl_error("unexpected answer: not an operation");
        if (wait_s > 0 && !hc_operation_is_final(op) && id) {
                long long left = wait_s - (hd_monotonic_ms() - started_ms) / 1000;
                if (left > 0) {
                        if (hc_operation_wait(hostctl_client(ctl), id, (int)left, &waited, &err) <
                            0)
                                return hostctl_api_error(&err, NULL);
                        op = waited;
                }
        }
        hostctl_print_operation(ctl, op);
        if (wait_s == 0)
                return HOSTCTL_EXIT_OK;

        const char *status = json_string_value(json_object_get(op, "status"));
        const char *action = json_string_value(json_object_get(op, "action"));
        const json_t *in = json_object_get(op, "instance");
        const char *name = json_string_value(json_object_get(in, "name"));
        _cleanup_free_ char *what = NULL;

        if (!hc_operation_is_final(op))
                return hostctl_error("operation %s is still %s after %lld s; "
                                     "`hostctl wait %s` waits for it",
                                     id ? id : "?", status ? status : "?", wait_s,
                                     id ? id : "OPID");
        if (asprintf(&what, "%s `%s`", action ? action : "operation", name ? name : "?") < 0)
                what = NULL;
        int r = hc_operation_check(op, &err);
        if (r == -ECANCELED)
                return hostctl_error("%s was cancelled", what ? what : "operation");
        if (r < 0) {
                _cleanup_free_ char *prefix = NULL;
                if (asprintf(&prefix, "%s failed", what ? what : "operation") < 0)
                        prefix = NULL;
                return hostctl_api_error(&err, prefix);
        }
        return HOSTCTL_EXIT_OK;
}

/* ---- info, host, show, metrics ------------------------------------------------------- */

static int hostctl_cmd_info(Hostctl *ctl, int argc, char **argv)
{
        _cleanup_json_ json_t *info = NULL;
        HcError err;
        int r = hostctl_only_common_options(ctl, argc, argv, 0, 0, NULL);
        if (r >= 0)
                return r;
        if (!hostctl_client(ctl))
                return HOSTCTL_EXIT_ERROR;
        if (hc_server_info(ctl->client, &info, &err) < 0)
                return hostctl_api_error(&err, NULL);
        return hostctl_print_object(ctl, info);
}

static int hostctl_cmd_host(Hostctl *ctl, int argc, char **argv)
{
        _cleanup_json_ json_t *host = NULL;
        HcError err;
        int r = hostctl_only_common_options(ctl, argc, argv, 0, 0, NULL);
        if (r >= 0)
                return r;
        if (!hostctl_client(ctl))
                return HOSTCTL_EXIT_ERROR;
        if (hc_host_info(ctl->client, &host, &err) < 0)
                return hostctl_api_error(&err, NULL);
        return hostctl_print_object(ctl, host);
}

static int hostctl_cmd_show(Hostctl *ctl, int argc, char **argv)
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

static int hostctl_cmd_metrics(Hostctl *ctl, int argc, char **argv)
{
        _cleanup_free_ char *text = NULL;
        HcError err;
        int r = hostctl_only_common_options(ctl, argc, argv, 0, 0, NULL);
        if (r >= 0)
                return r;
        if (!hostctl_client(ctl))
                return HOSTCTL_EXIT_ERROR;
        if (hc_metrics(ctl->client, &text, &err) < 0)
                return hostctl_api_error(&err, NULL);
        fputs(text, stdout);
        return HOSTCTL_EXIT_OK;
}

/* ---- ls, ops ------------------------------------------------------------------------- */

static int hostctl_cmd_ls(Hostctl *ctl, int argc, char **argv)
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

static int hostctl_cmd_ops(Hostctl *ctl, int argc, char **argv)
{
        static const struct option options[] = {
                { "status", required_argument, NULL, OPT_STATUS },
                { "instance", required_argument, NULL, OPT_INSTANCE },
                { "limit", required_argument, NULL, OPT_LIMIT },
                HOSTCTL_COMMON_OPTIONS,
                {},
        };
        _cleanup_json_ json_t *all = NULL;
        HcOperationListOptions opts = { 0 };
        long long limit = 0;
        int c, r;

        while ((c = hostctl_getopt(ctl, argc, argv, options)) != -1) {
                switch (c) {
                case OPT_STATUS:
                        opts.status = optarg;
                        break;
                case OPT_INSTANCE:
                        opts.instance = optarg;
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

        r = hostctl_collect(ctl, hostctl_operations_page, &opts, "operations", limit, &all);
        if (r != HOSTCTL_EXIT_OK)
                return r;
        if (ctl->output == HOSTCTL_OUTPUT_JSON)
                hostctl_print_json(all);
        else
                hostctl_print_operations(json_object_get(all, "operations"));
        return HOSTCTL_EXIT_OK;
}

/* ---- create -------------------------------------------------------------------------- */

typedef struct HostctlCreate {
        const char *file, *kind, *image, *vcpus, *memory, *pids_max, *disk_gb;
        const char *workdir, *user, *hostname, *restart;
        bool autostart;
        HostctlStrv labels, env;
} HostctlCreate;

static void hostctl_create_clear(HostctlCreate *a)
{
        hostctl_strv_clear(&a->labels);
        hostctl_strv_clear(&a->env);
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

static int hostctl_cmd_create(Hostctl *ctl, int argc, char **argv)
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

        while ((c = hostctl_getopt(ctl, opt_argc, argv, options)) != -1) {
                switch (c) {
                case OPT_KIND:
                        a.kind = optarg;
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

/* ---- Actions and rm ------------------------------------------------------------------ */

static int hostctl_cmd_action(Hostctl *ctl, int argc, char **argv)
{
        static const struct option options[] = {
                { "timeout", required_argument, NULL, OPT_TIMEOUT },
                { "signal", required_argument, NULL, OPT_SIGNAL },
                { "no-wait", no_argument, NULL, OPT_NO_WAIT },
                { "wait", required_argument, NULL, OPT_WAIT },
                HOSTCTL_COMMON_OPTIONS,
                {},
        };
        const char *action = argv[0];
        bool takes_timeout = strcmp(action, "stop") == 0 || strcmp(action, "restart") == 0;
        bool takes_signal = strcmp(action, "kill") == 0;
        long long timeout = -1, wait_s = HOSTCTL_DEFAULT_WAIT_S, sig;
        const char *signal = NULL;
        _cleanup_json_ json_t *args = NULL;
        _cleanup_json_ json_t *op = NULL;
        HcError err;
        int c, r;

        while ((c = hostctl_getopt(ctl, argc, argv, options)) != -1) {
                switch (c) {
                case OPT_TIMEOUT:
                        if (!takes_timeout)
                                return hostctl_usage_error("%s: --timeout applies to stop and "
                                                           "restart only",
                                                           action);
                        if (!hostctl_parse_int("--timeout", optarg, 0, 3600, &timeout))
                                return HOSTCTL_EXIT_USAGE;
                        break;
                case OPT_SIGNAL:
                        if (!takes_signal)
                                return hostctl_usage_error("%s: --signal applies to kill only",
                                                           action);
                        signal = optarg;
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

        if (timeout >= 0) {
                args = json_pack("{s:I}", "timeout", (json_int_t)timeout);
        } else if (signal) {
                int64_t n;
                /* A number goes as one (1..64); a name ("TERM", "SIGTERM") as a string. */
                if (hd_parse_int64(signal, &n) == 0) {
                        if (!hostctl_parse_int("--signal", signal, 1, 64, &sig))
                                return HOSTCTL_EXIT_USAGE;
                        args = json_pack("{s:I}", "signal", (json_int_t)sig);
                } else {
                        args = json_pack("{s:s}", "signal", signal);
                }
        }
        if ((timeout >= 0 || signal) && !args)
                return hostctl_error("out of memory");

        if (!hostctl_client(ctl))
                return HOSTCTL_EXIT_ERROR;
        int64_t started = hd_monotonic_ms();
        if (hc_instance_action(ctl->client, argv[optind], action, args, (int)wait_s, &op, &err) < 0)
                return hostctl_api_error(&err, NULL);
        return hostctl_finish_operation(ctl, op, wait_s, started);
}

static int hostctl_cmd_rm(Hostctl *ctl, int argc, char **argv)
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

static int hostctl_cmd_wait(Hostctl *ctl, int argc, char **argv)
{
        static const struct option options[] = {
                { "timeout", required_argument, NULL, OPT_TIMEOUT },
                HOSTCTL_COMMON_OPTIONS,
                {},
        };
        _cleanup_json_ json_t *op = NULL;
        long long timeout = HOSTCTL_DEFAULT_WAIT_S;
        HcError err;
        int c, r;

        while ((c = hostctl_getopt(ctl, argc, argv, options)) != -1) {
                if (c != OPT_TIMEOUT)
                        return c - HOSTCTL_OPT_STOP;
                if (!hostctl_parse_int("--timeout", optarg, 0, HOSTCTL_MAX_WAIT_S, &timeout))
                        return HOSTCTL_EXIT_USAGE;
        }
        r = hostctl_positional(argc, argv, 1, 1, "operation ID");
        if (r >= 0)
                return r;
        if (!hostctl_client(ctl))
                return HOSTCTL_EXIT_ERROR;
        int64_t started = hd_monotonic_ms();
        if (hc_operation_wait(ctl->client, argv[optind], (int)timeout, &op, &err) < 0)
                return hostctl_api_error(&err, NULL);
        return hostctl_finish_operation(ctl, op, timeout, started);
}

/* ---- label --------------------------------------------------------------------------- */

static int hostctl_cmd_label(Hostctl *ctl, int argc, char **argv)
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
                json_object_foreach(json_object_get(instance, "labels"), key, v)
                {
                        _cleanup_free_ char *s = hostctl_value_string(v);
                        printf("%s=%s\n", key, s ? s : "");
                }
        }
        return HOSTCTL_EXIT_OK;
}

/* ---- events -------------------------------------------------------------------------- */

static int hostctl_on_event(json_t *event, void *userdata)
{
        Hostctl *ctl = userdata;
        if (ctl->output == HOSTCTL_OUTPUT_JSON) {
                json_dumpf(event, stdout, JSON_COMPACT);
                fputc('\n', stdout);
        } else {
                hostctl_print_event_line(event);
        }
        fflush(stdout);
        return ferror(stdout) ? -EIO : 0;
}

static int hostctl_cmd_events(Hostctl *ctl, int argc, char **argv)
{
        static const struct option options[] = {
                { "since", required_argument, NULL, OPT_SINCE },
                { "type", required_argument, NULL, OPT_TYPE },
                HOSTCTL_COMMON_OPTIONS,
                {},
        };
        long long since = -1;
        const char *type = NULL;
        HcError err;
        int c, r;

        while ((c = hostctl_getopt(ctl, argc, argv, options)) != -1) {
                switch (c) {
                case OPT_SINCE:
                        if (!hostctl_parse_int("--since", optarg, 0, LLONG_MAX, &since))
                                return HOSTCTL_EXIT_USAGE;
                        break;
                case OPT_TYPE:
                        type = optarg;
                        break;
                default:
                        return c - HOSTCTL_OPT_STOP;
                }
        }
        r = hostctl_positional(argc, argv, 0, 0, NULL);
        if (r >= 0)
                return r;
        if (!hostctl_client(ctl))
                return HOSTCTL_EXIT_ERROR;
        if (hc_events_follow(ctl->client, since, type, hostctl_on_event, ctl, &err) < 0)
                return hostctl_api_error(&err, NULL);
        return HOSTCTL_EXIT_OK;
}

/* ---- The table ----------------------------------------------------------------------- */

const HostctlCommand hostctl_commands[] = {
        { "info", "", "Show the server: version, API extensions, drivers, acceleration, cgroups.",
          hostctl_cmd_info },
        { "host", "", "Show the host's capacity, allocation and instance counts.",
          hostctl_cmd_host },
        { "ls", "[--kind K] [--state S] [--label K=V]... [--limit N]",
          "List instances (every page unless --limit).", hostctl_cmd_ls },
        { "create",
          "NAME --kind container|vm --image IMG [--vcpus N] [--memory MB] [--pids-max N]\n"
          "         [--disk-gb N] [--label K=V]... [--env K=V]... [--workdir D] [--user U]\n"
          "         [--hostname H] [--restart no|on-failure[:N]|always] [--autostart]\n"
          "         [--file SPEC.json] [-- COMMAND ARGS...]",
          "Create an instance; the options override the fields of --file.", hostctl_cmd_create },
        { "show", "NAME", "Show an instance (by name or UUID).", hostctl_cmd_show },
        { "start", "NAME [--no-wait | --wait S]",
          "Start an instance and wait for it (60 s unless told).", hostctl_cmd_action },
        { "stop", "NAME [--timeout S] [--no-wait | --wait S]",
          "Stop an instance, killing it after --timeout seconds (default 10).",
          hostctl_cmd_action },
        { "restart", "NAME [--timeout S] [--no-wait | --wait S]", "Restart an instance.",
          hostctl_cmd_action },
        { "kill", "NAME [--signal SIG] [--no-wait | --wait S]",
          "Send a signal (default SIGKILL) to an instance.", hostctl_cmd_action },
        { "pause", "NAME [--no-wait | --wait S]", "Freeze an instance.", hostctl_cmd_action },
        { "resume", "NAME [--no-wait | --wait S]", "Thaw a paused instance.", hostctl_cmd_action },
        { "rm", "NAME [--force] [--no-wait | --wait S]",
          "Delete an instance (--force stops it first) and wait for it.", hostctl_cmd_rm },
        { "label", "NAME KEY=VALUE... KEY-...",
          "Set (KEY=VALUE) or remove (KEY-) labels, failing on a concurrent change.",
          hostctl_cmd_label },
        { "ops", "[--status S] [--instance NAME] [--limit N]", "List operations, newest first.",
          hostctl_cmd_ops },
        { "wait", "OPID [--timeout S]",
          "Wait for an operation to finish (default 60 s) and print it.", hostctl_cmd_wait },
        { "events", "[--since SEQ] [--type PREFIX]",
          "Follow the event stream, one line per event, until interrupted.", hostctl_cmd_events },
        { "metrics", "", "Print the Prometheus metrics.", hostctl_cmd_metrics },
        { "help", "[COMMAND]", "Show this help, or one command's.", hostctl_cmd_help },
};

const size_t hostctl_n_commands = HD_ARRAY_SIZE(hostctl_commands);
