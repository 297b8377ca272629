/* hostctl: the commands. Each parses its own options, makes its calls through
 * libhostclient and prints the result as a table (default) or as the API's JSON.
 * The commands on instances themselves are in hostctl-instances.c; this file has the
 * rest, the helpers they share and the table of commands. */
#include "hostctl.h"

#include <limits.h>
#include <string.h>

#include "hd-util.h"

#define HOSTCTL_PAGE_MAX   1000
#define HOSTCTL_MAX_WAIT_S (24 * 3600)

enum {
        OPT_LIMIT = 256,
        OPT_TIMEOUT,
        OPT_SIGNAL,
        OPT_NO_WAIT,
        OPT_WAIT,
        OPT_STATUS,
        OPT_INSTANCE,
        OPT_SINCE,
        OPT_TYPE,
};

/* ---- Helpers ------------------------------------------------------------------------- */

void hostctl_strv_clear(HostctlStrv *s)
{
        free(s->v);
        *s = (HostctlStrv){ 0 };
}

int hostctl_strv_push(HostctlStrv *s, const char *value)
{
        const char **v = realloc(s->v, (s->n + 1) * sizeof(*v));
        if (!v)
                return hostctl_error("out of memory");
        v[s->n++] = value;
        s->v = v;
        return HOSTCTL_EXIT_OK;
}

int hostctl_positional(int argc, char **argv, int min, int max, const char *what)
{
        int n = argc - optind;
        if (n < min)
                return hostctl_usage_error("%s: missing %s", argv[0], what);
        if (max >= 0 && n > max)
                return hostctl_usage_error("%s: unexpected argument `%s`", argv[0],
                                           argv[optind + max]);
        return -1;
}

int hostctl_only_common_options(Hostctl *ctl, int argc, char **argv, int min, int max,
                                const char *what)
{
        static const struct option options[] = { HOSTCTL_COMMON_OPTIONS, {} };
        int c = hostctl_getopt(ctl, argc, argv, options);
        if (c >= HOSTCTL_OPT_STOP)
                return c - HOSTCTL_OPT_STOP;
        return hostctl_positional(argc, argv, min, max, what);
}

int hostctl_print_object(Hostctl *ctl, const json_t *obj)
{
        if (ctl->output == HOSTCTL_OUTPUT_JSON)
                hostctl_print_json(obj);
        else
                hostctl_print_kv(obj);
        return HOSTCTL_EXIT_OK;
}

bool hostctl_parse_wait(const char *value, long long *ret)
{
        return hostctl_parse_int("--wait", value, 0, HOSTCTL_MAX_WAIT_S, ret);
}

bool hostctl_is_key_value(const char *s)
{
        const char *eq = strchr(s, '=');
        return eq && eq != s;
}

/* ---- Paging -------------------------------------------------------------------------- */

static int hostctl_operations_page(HcClient *c, const void *opts, int limit, const char *after,
                                   json_t **ret, HcError *err)
{
        HcOperationListOptions o = *(const HcOperationListOptions *)opts;
        o.limit = limit;
        o.after = after;
        return hc_operation_list(c, &o, ret, err);
}

int hostctl_collect(Hostctl *ctl, HostctlPageFn page_fn, const void *opts, const char *member,
                    long long limit, json_t **ret)
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

int hostctl_finish_operation(Hostctl *ctl, json_t *op, long long wait_s, int64_t started_ms)
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

/* ---- info, host, metrics ------------------------------------------------------------- */

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

/* ---- ops ----------------------------------------------------------------------------- */

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

/* ---- Actions and wait ---------------------------------------------------------------- */

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
          "List instances (every page unless --limit) with their address.", hostctl_cmd_ls },
        { "create",
          "NAME --kind container|vm --image IMG [--vcpus N] [--memory MB] [--pids-max N]\n"
          "         [--disk-gb N] [--label K=V]... [--env K=V]... [--workdir D] [--user U]\n"
          "         [--hostname H] [--restart no|on-failure[:N]|always] [--autostart]\n"
          "         [--network NET|none|host] [--ip ADDR]\n"
          "         [-p|--publish HOST_PORT:PORT[/tcp|udp]]... [--file SPEC.json]\n"
          "         [-- COMMAND ARGS...]",
          "Create an instance; the options override the fields of --file. Without\n"
          "      --network it joins hostd's default network; --ip asks for a fixed address\n"
          "      on it; -p forwards a host port (on every host address) to the instance.",
          hostctl_cmd_create },
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
        { "logs", "NAME [-f|--follow] [--tail N] [--timestamps] [--stream stdout|stderr]",
          "Print an instance's output (stdout and stderr in time order) as it comes;\n"
          "      -f follows it until the instance's process ends or Ctrl-C.",
          hostctl_cmd_logs },
        { "exec",
          "NAME [--env K=V]... [--workdir D] [--user U] [--timeout S] [-i|--stdin]\n"
          "         -- COMMAND [ARG...]",
          "Run a command in a running instance (default timeout 60 s), feeding it\n"
          "      hostctl's stdin with -i; print its stdout and stderr and exit with its\n"
          "      exit code. -o json prints the API's result instead.",
          hostctl_cmd_exec },
        { "stats", "NAME", "Show a running instance's CPU time, memory, pids and I/O.",
          hostctl_cmd_stats },
        { "ops", "[--status S] [--instance NAME] [--limit N]", "List operations, newest first.",
          hostctl_cmd_ops },
        { "wait", "OPID [--timeout S]",
          "Wait for an operation to finish (default 60 s) and print it.", hostctl_cmd_wait },
        { "events", "[--since SEQ] [--type PREFIX]",
          "Follow the event stream, one line per event, until interrupted.", hostctl_cmd_events },
        { "image",
          "ls [--kind K] | show REF | rm REF | prune | export REF FILE|- |\n"
          "         pull HOST/REPO[:TAG] [--name N] [--tag T] [--insecure] [--username U\n"
          "         --password-file F] |\n"
          "         push REF HOST/REPO[:TAG] [--insecure] [--username U --password-file F] |\n"
          "         import FILE --name N [--tag T] --kind container|vm --format F",
          "List, show, delete and prune images, export one (an OCI archive, or a VM's file),\n"
          "      import one from FILE (container: rootfs, oci-archive, docker-archive;\n"
          "      vm: qcow2, raw, kernel), or pull or push one from or to an OCI registry.\n"
          "      REF is NAME[:TAG] or sha256:DIGEST. Transfers show a progress bar on a\n"
          "      terminal and a line every 10% otherwise.",
          hostctl_cmd_image },
        { "network",
          "ls | show NAME | rm NAME |\n"
          "         create NAME --subnet CIDR [--gateway IP] [--mtu N] [--no-nat]",
          "List, show, create and delete networks: a bridge per network with DHCP, DNS\n"
          "      and (unless --no-nat) NAT to the host's uplink. The gateway defaults to the\n"
          "      subnet's first address. The default network cannot be deleted, nor one\n"
          "      that instances use.",
          hostctl_cmd_network },
        { "metrics", "", "Print the Prometheus metrics.", hostctl_cmd_metrics },
        { "help", "[COMMAND]", "Show this help, or one command's.", hostctl_cmd_help },
};

const size_t hostctl_n_commands = HD_ARRAY_SIZE(hostctl_commands);

int hostctl_dispatch(Hostctl *ctl, int argc, char **argv, const HostctlSub *subs, size_t n,
                     const char *names)
{
        if (argc < 2)
                return hostctl_usage_error("%s: missing subcommand (%s)", argv[0], names);
        if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
                char *help_argv[] = { (char *)"help", argv[0], NULL };
                return hostctl_cmd_help(ctl, 2, help_argv);
        }
        for (size_t i = 0; i < n; i++)
                if (strcmp(argv[1], subs[i].name) == 0) {
                        argv[1] = argv[0];
                        return subs[i].run(ctl, argc - 1, argv + 1);
                }
        return hostctl_usage_error("%s: unknown subcommand `%s`", argv[0], argv[1]);
}
