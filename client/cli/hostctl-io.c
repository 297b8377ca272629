/* hostctl: what goes in and out of a running instance — `logs`, `exec` and `stats`. */
#include "hostctl.h"

#include <inttypes.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "hd-util.h"

enum {
        OPT_FOLLOW = 256,
        OPT_TAIL,
        OPT_TIMESTAMPS,
        OPT_STREAM,
        OPT_ENV,
        OPT_WORKDIR,
        OPT_USER,
        OPT_TIMEOUT,
        OPT_STDIN,
};

/* What `exec -i` reads at most: the request body is limited to 1 MiB anyway. */
#define HOSTCTL_EXEC_STDIN_MAX (1024 * 1024)

/* ---- Short flags --------------------------------------------------------------------- */

/* A command's own short flag and the long option it stands for. */
typedef struct HostctlShortFlag {
        const char *flag;      /* "-f" */
        const char *long_form; /* "--follow" */
} HostctlShortFlag;

/* Whether arg ("--name", maybe abbreviated) is a long option that takes its value from the
 * next word. */
static bool hostctl_takes_next_word(const char *arg, const struct option *longopts)
{
        size_t len = strlen(arg + 2);

        if (strchr(arg, '='))
                return false;
        for (const struct option *o = longopts; o->name; o++)
                if (strncmp(o->name, arg + 2, len) == 0 && o->has_arg == required_argument)
                        return true;
        return false;
}

/* hostctl_getopt() knows no short options but -o and -h: a copy of argv with the
 * command's short flags spelled long. Only whole words where an option may stand are
 * rewritten — not the value of an option that takes one, nothing after "--". NULL
 * when out of memory. */
static char **hostctl_expand_flags(int argc, char **argv, const struct option *longopts,
                                   const HostctlShortFlag *flags, size_t n_flags)
{
        char **v = calloc((size_t)argc + 1, sizeof(*v));
        bool value_next = false;

        if (!v)
                return NULL;
        for (int i = 0; i < argc; i++) {
                v[i] = argv[i];
                if (i == 0)
                        continue;
                if (value_next) {
                        value_next = false;
                        continue;
                }
                if (strcmp(argv[i], "--") == 0) {
                        for (i++; i < argc; i++)
                                v[i] = argv[i];
                        break;
                }
                for (size_t f = 0; f < n_flags; f++)
                        if (strcmp(argv[i], flags[f].flag) == 0)
                                v[i] = (char *)flags[f].long_form;
                if (strcmp(argv[i], "-o") == 0)
                        value_next = true;
                else if (hd_str_startswith(argv[i], "--"))
                        value_next = hostctl_takes_next_word(argv[i], longopts);
        }
        return v;
}

/* ---- logs ---------------------------------------------------------------------------- */

typedef struct HostctlLogs {
        bool write_failed;
} HostctlLogs;

/* Bytes go out as they come, flushed: `logs -f` is watched live. */
static int hostctl_on_logs(const char *data, size_t len, void *userdata)
{
        HostctlLogs *l = userdata;
        if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0) {
                l->write_failed = true;
                return -EIO;
        }
        return 0;
}

int hostctl_cmd_logs(Hostctl *ctl, int argc, char **argv)
{
        static const struct option options[] = {
                { "follow", no_argument, NULL, OPT_FOLLOW },
                { "tail", required_argument, NULL, OPT_TAIL },
                { "timestamps", no_argument, NULL, OPT_TIMESTAMPS },
                { "stream", required_argument, NULL, OPT_STREAM },
                HOSTCTL_COMMON_OPTIONS,
                {},
        };
        static const HostctlShortFlag flags[] = { { "-f", "--follow" } };
        _cleanup_free_ char **args = hostctl_expand_flags(argc, argv, options, flags, 1);
        HcLogsOptions opts = { .tail = -1 };
        HostctlLogs l = { 0 };
        long long tail;
        HcError err;
        int c, r;

        if (!args)
                return hostctl_error("out of memory");
        while ((c = hostctl_getopt(ctl, argc, args, options)) != -1) {
                switch (c) {
                case OPT_FOLLOW:
                        opts.follow = true;
                        break;
                case OPT_TAIL:
                        if (strcmp(optarg, "all") == 0) {
                                opts.tail = -1;
                                break;
                        }
                        if (!hostctl_parse_int("--tail", optarg, 0, INT64_MAX, &tail))
                                return HOSTCTL_EXIT_USAGE;
                        opts.tail = tail;
                        break;
                case OPT_TIMESTAMPS:
                        opts.timestamps = true;
                        break;
                case OPT_STREAM:
                        if (strcmp(optarg, "stdout") != 0 && strcmp(optarg, "stderr") != 0 &&
                            strcmp(optarg, "all") != 0)
                                return hostctl_usage_error(
                                        "--stream must be stdout, stderr or all, not `%s`", optarg);
                        opts.stream = optarg;
                        break;
                default:
                        return c - HOSTCTL_OPT_STOP;
                }
        }
        r = hostctl_positional(argc, args, 1, 1, "instance NAME");
        if (r >= 0)
                return r;
        if (!hostctl_client(ctl))
                return HOSTCTL_EXIT_ERROR;
        r = hc_instance_logs(ctl->client, args[optind], &opts, hostctl_on_logs, &l, &err);
        if (l.write_failed)
                return hostctl_error("cannot write the log to standard output");
        if (r < 0)
                return hostctl_api_error(&err, NULL);
        return HOSTCTL_EXIT_OK;
}

/* ---- exec ---------------------------------------------------------------------------- */

/* All of standard input, up to HOSTCTL_EXEC_STDIN_MAX bytes. */
static int hostctl_read_stdin(char **ret, size_t *ret_len)
{
        _cleanup_free_ char *buf = malloc(HOSTCTL_EXEC_STDIN_MAX + 1);
        size_t len = 0;

        if (!buf)
                return hostctl_error("out of memory");
        for (;;) {
                ssize_t n = read(STDIN_FILENO, buf + len, HOSTCTL_EXEC_STDIN_MAX + 1 - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return hostctl_error("cannot read standard input: %s", strerror(errno));
                if (n == 0)
                        break;
                len += (size_t)n;
                if (len > HOSTCTL_EXEC_STDIN_MAX)
                        return hostctl_error("exec: standard input is larger than %d bytes, the "
                                             "most a request can carry",
                                             HOSTCTL_EXEC_STDIN_MAX);
        }
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return HOSTCTL_EXIT_OK;
}

/* Writes one decoded output of the result to f. */
static int hostctl_exec_write(const json_t *res, const char *which, FILE *f)
{
        _cleanup_free_ char *data = NULL;
        size_t len;
        int r = hc_exec_output(res, which, &data, &len);

        if (r < 0)
                return hostctl_error("exec: cannot decode the command's %s: %s", which,
                                     strerror(-r));
        if (len > 0 && (fwrite(data, 1, len, f) != len || fflush(f) != 0))
                return hostctl_error("exec: cannot write the command's %s", which);
        return HOSTCTL_EXIT_OK;
}

/* The command's exit code as hostctl's exit status (docker exec does the same). */
static int hostctl_exec_status(const json_t *res)
{
        const json_t *code = json_object_get(res, "exit_code");

        if (!json_is_integer(code))
                return hostctl_error("exec: unexpected answer: no exit_code");
        json_int_t v = json_integer_value(code);
        return v >= 0 && v <= 255 ? (int)v : 255;
}

int hostctl_cmd_exec(Hostctl *ctl, int argc, char **argv)
{
        static const struct option options[] = {
                { "env", required_argument, NULL, OPT_ENV },
                { "workdir", required_argument, NULL, OPT_WORKDIR },
                { "user", required_argument, NULL, OPT_USER },
                { "timeout", required_argument, NULL, OPT_TIMEOUT },
                { "stdin", no_argument, NULL, OPT_STDIN },
                HOSTCTL_COMMON_OPTIONS,
                {},
        };
        static const HostctlShortFlag flags[] = { { "-i", "--stdin" } };
        _cleanup_(hostctl_strv_clear) HostctlStrv env = { 0 };
        _cleanup_free_ char *input = NULL;
        _cleanup_json_ json_t *res = NULL;
        HcExecRequest req = { 0 };
        size_t input_len = 0;
        bool with_stdin = false;
        long long timeout = 0;
        int opt_argc = argc, c, r;
        HcError err;

        /* Everything after "--" is the command, not options. */
        for (int i = 1; i < argc; i++)
                if (strcmp(argv[i], "--") == 0) {
                        opt_argc = i;
                        req.command = (const char *const *)argv + i + 1;
                        req.n_command = (size_t)(argc - i - 1);
                        break;
                }
        _cleanup_free_ char **args = hostctl_expand_flags(opt_argc, argv, options, flags, 1);
        if (!args)
                return hostctl_error("out of memory");

        while ((c = hostctl_getopt(ctl, opt_argc, args, options)) != -1) {
                switch (c) {
                case OPT_ENV:
                        if (!hostctl_is_key_value(optarg))
                                return hostctl_usage_error("--env takes KEY=VALUE, not `%s`",
                                                           optarg);
                        r = hostctl_strv_push(&env, optarg);
                        if (r != HOSTCTL_EXIT_OK)
                                return r;
                        break;
                case OPT_WORKDIR:
                        req.workdir = optarg;
                        break;
                case OPT_USER:
                        req.user = optarg;
                        break;
                case OPT_TIMEOUT:
                        if (!hostctl_parse_int("--timeout", optarg, 1, 3600, &timeout))
                                return HOSTCTL_EXIT_USAGE;
                        req.timeout_s = (int)timeout;
                        break;
                case OPT_STDIN:
                        with_stdin = true;
                        break;
                default:
                        return c - HOSTCTL_OPT_STOP;
                }
        }
        r = hostctl_positional(opt_argc, args, 1, 1, "instance NAME");
        if (r >= 0)
                return r;
        if (!req.command)
                return hostctl_usage_error("exec: missing `-- COMMAND [ARG...]`");
        if (req.n_command == 0)
                return hostctl_usage_error("exec: no command after `--`");
        req.env = env.v;
        req.n_env = env.n;
        if (with_stdin) {
                r = hostctl_read_stdin(&input, &input_len);
                if (r != HOSTCTL_EXIT_OK)
                        return r;
                req.stdin_data = input;
                req.stdin_len = input_len;
        }

        if (!hostctl_client(ctl))
                return HOSTCTL_EXIT_ERROR;
        if (hc_instance_exec(ctl->client, args[optind], &req, &res, &err) < 0)
                return hostctl_api_error(&err, "exec");

        if (ctl->output == HOSTCTL_OUTPUT_JSON) {
                hostctl_print_json(res);
        } else {
                r = hostctl_exec_write(res, "stdout", stdout);
                if (r == HOSTCTL_EXIT_OK)
                        r = hostctl_exec_write(res, "stderr", stderr);
                if (r != HOSTCTL_EXIT_OK)
                        return r;
                if (json_is_true(json_object_get(res, "truncated")))
                        fprintf(stderr, "hostctl: exec: the command's output was truncated "
                                        "(16 MiB per stream at most)\n");
                if (json_is_true(json_object_get(res, "timed_out")))
                        fprintf(stderr, "hostctl: exec: `%s` timed out after %d s and was killed\n",
                                req.command[0], req.timeout_s > 0 ? req.timeout_s : 60);
        }
        return hostctl_exec_status(res);
}

/* ---- stats --------------------------------------------------------------------------- */

/* obj[group][key] as an integer, or -1 when it is missing. */
static int64_t hostctl_stat(const json_t *stats, const char *group, const char *key)
{
        const json_t *v = json_object_get(json_object_get(stats, group), key);
        return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

/* "usage / limit" in bytes, a limit of 0 being none. */
static void hostctl_usage_of(int64_t usage, int64_t limit, bool bytes, char *buf, size_t size)
{
        char u[32], l[32];

        if (usage < 0) {
                snprintf(buf, size, "-");
                return;
        }
        if (bytes)
                hostctl_bytes(usage, u, sizeof(u));
        else
                snprintf(u, sizeof(u), "%" PRId64, usage);
        if (limit <= 0)
                snprintf(l, sizeof(l), "unlimited");
        else if (bytes)
                hostctl_bytes(limit, l, sizeof(l));
        else
                snprintf(l, sizeof(l), "%" PRId64, limit);
        snprintf(buf, size, "%s / %s", u, l);
}

static const char *hostctl_bytes_or_dash(int64_t n, char *buf, size_t size)
{
        return n < 0 ? NULL : hostctl_bytes(n, buf, size);
}

static void hostctl_print_stats(const char *name, const json_t *st)
{
        static const char *const headers[] = { "NAME",         "CPU",  "MEMORY / LIMIT", "PEAK",
                                               "PIDS / LIMIT", "READ", "WRITE" };
        _cleanup_(hostctl_table_freep) HostctlTable *t = hostctl_table_new(7, headers);
        int64_t cpu_ns = hostctl_stat(st, "cpu", "usage_ns");
        char cpu[32], mem[80], peak[32], pids[64], rd[32], wr[32];

        if (!t)
                return;
        snprintf(cpu, sizeof(cpu), "%.2fs", (double)cpu_ns / 1e9);
        hostctl_usage_of(hostctl_stat(st, "memory", "usage_bytes"),
                         hostctl_stat(st, "memory", "limit_bytes"), true, mem, sizeof(mem));
        hostctl_usage_of(hostctl_stat(st, "pids", "current"), hostctl_stat(st, "pids", "limit"),
                         false, pids, sizeof(pids));
        hostctl_table_add(t, (const char *const[]){
                                     name,
                                     cpu_ns >= 0 ? cpu : NULL,
                                     mem,
                                     hostctl_bytes_or_dash(hostctl_stat(st, "memory", "peak_bytes"),
                                                           peak, sizeof(peak)),
                                     pids,
                                     hostctl_bytes_or_dash(hostctl_stat(st, "io", "read_bytes"), rd,
                                                           sizeof(rd)),
                                     hostctl_bytes_or_dash(hostctl_stat(st, "io", "write_bytes"),
                                                           wr, sizeof(wr)),
                             });
        hostctl_table_print(t, stdout);
        /* A VM's cost to the host: its qemu process. */
        int64_t host_ns = hostctl_stat(st, "host", "cpu_ns");
        if (host_ns >= 0) {
                char rss[32] = "-", hwm[32] = "-";
                hostctl_bytes_or_dash(hostctl_stat(st, "host", "rss_bytes"), rss, sizeof(rss));
                hostctl_bytes_or_dash(hostctl_stat(st, "host", "rss_peak_bytes"), hwm, sizeof(hwm));
                printf("host (qemu): CPU %.2fs, RSS %s, peak %s\n", (double)host_ns / 1e9, rss,
                       hwm);
        }
}

int hostctl_cmd_stats(Hostctl *ctl, int argc, char **argv)
{
        _cleanup_json_ json_t *stats = NULL;
        HcError err;
        int r = hostctl_only_common_options(ctl, argc, argv, 1, 1, "instance NAME");
        if (r >= 0)
                return r;
        if (!hostctl_client(ctl))
                return HOSTCTL_EXIT_ERROR;
        if (hc_instance_stats(ctl->client, argv[optind], &stats, &err) < 0)
                return hostctl_api_error(&err, NULL);
        if (ctl->output == HOSTCTL_OUTPUT_JSON)
                hostctl_print_json(stats);
        else
                hostctl_print_stats(argv[optind], stats);
        return HOSTCTL_EXIT_OK;
}
