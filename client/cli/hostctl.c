/* hostctl: the command line client of hostd. This file holds main(), the global options,
 * help and error reporting; the commands are in hostctl-commands.c. */
#include "hostctl.h"

#include <stdarg.h>
#include <string.h>

#include "hd-util.h"

#ifndef HOSTCTL_VERSION
#define HOSTCTL_VERSION "0.1.0"
#endif

#define HOSTCTL_MAX_TOKEN_FILE (64 * 1024)

/* ---- Errors -------------------------------------------------------------------------- */

static void hostctl_vmessage(const char *fmt, va_list ap)
{
        fflush(stdout);
        fputs("hostctl: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
}

int hostctl_usage_error(const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        hostctl_vmessage(fmt, ap);
        va_end(ap);
        fputs("Try `hostctl help` for usage.\n", stderr);
        return HOSTCTL_EXIT_USAGE;
}

int hostctl_error(const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        hostctl_vmessage(fmt, ap);
        va_end(ap);
        return HOSTCTL_EXIT_ERROR;
}

int hostctl_api_error(const HcError *err, const char *prefix)
{
        const char *msg = err->message[0] ? err->message
                          : err->code[0]  ? err->code
                                          : "unknown error";
        if (err->field[0])
                return hostctl_error("%s%s%s (field: %s)", prefix ? prefix : "", prefix ? ": " : "",
                                     msg, err->field);
        return hostctl_error("%s%s%s", prefix ? prefix : "", prefix ? ": " : "", msg);
}

bool hostctl_parse_int(const char *option, const char *value, long long min, long long max,
                       long long *ret)
{
        int64_t v;
        if (hd_parse_int64(value, &v) < 0 || v < min || v > max) {
                hostctl_usage_error("%s must be an integer between %lld and %lld, not `%s`", option,
                                    min, max, value);
                return false;
        }
        *ret = v;
        return true;
}

/* ---- Help ---------------------------------------------------------------------------- */

/* Commands whose table entry lives with their code rather than in hostctl_commands[];
 * help lists them before `help` itself. */
static const HostctlCommand *const hostctl_more_commands[] = {
        &hostctl_bench_command,
};

static const HostctlCommand *hostctl_find_command(const char *name)
{
        for (size_t i = 0; i < hostctl_n_commands; i++)
                if (strcmp(hostctl_commands[i].name, name) == 0)
                        return &hostctl_commands[i];
        for (size_t i = 0; i < HD_ARRAY_SIZE(hostctl_more_commands); i++)
                if (strcmp(hostctl_more_commands[i]->name, name) == 0)
                        return hostctl_more_commands[i];
        return NULL;
}

static void hostctl_print_command(const HostctlCommand *c, FILE *f)
{
        fprintf(f, "  %s%s%s\n      %s\n", c->name, *c->usage ? " " : "", c->usage, c->summary);
}

static void hostctl_print_help(FILE *f)
{
        fputs("Usage: hostctl [--socket PATH | --url URL] [--token-file FILE] [--cacert FILE]\n"
              "               [-o table|json] COMMAND [ARGS...]\n"
              "\n"
              "Manage the containers and VMs of hostd.\n"
              "\n"
              "Commands:\n",
              f);
        for (size_t i = 0; i < hostctl_n_commands; i++) {
                if (strcmp(hostctl_commands[i].name, "help") == 0)
                        for (size_t j = 0; j < HD_ARRAY_SIZE(hostctl_more_commands); j++)
                                hostctl_print_command(hostctl_more_commands[j], f);
                hostctl_print_command(&hostctl_commands[i], f);
        }
        fputs("\n"
              "Global options:\n"
              "  --socket PATH      hostd's Unix socket (default " HC_DEFAULT_SOCKET ")\n"
              "  --url URL          talk to http(s)://HOST:PORT instead\n"
              "  --token-file FILE  read the bearer token for --url from FILE\n"
              "  --cacert FILE      CA certificate (PEM) to verify an https:// hostd\n"
              "  -o, --output FMT   table (default) or json (the API's JSON)\n"
              "  -h, --help         show this help; `hostctl COMMAND --help` for one command\n"
              "  --version          print the version\n"
              "\n"
              "Environment: HOSTD_SOCKET, HOSTD_URL, HOSTD_TOKEN (the token itself) and\n"
              "HOSTD_CACERT; options override them.\n"
              "\n"
              "Exit status: 0 on success, 1 when the request or the operation failed, 2 on a\n"
              "usage error, 130 when Ctrl-C cancelled a benchmark run.\n",
              f);
}

int hostctl_cmd_help(Hostctl *ctl, int argc, char **argv)
{
        if (argc > 1) {
                const HostctlCommand *c = hostctl_find_command(argv[1]);
                if (!c)
                        return hostctl_usage_error("unknown command `%s`", argv[1]);
                printf("Usage: hostctl %s%s%s\n\n%s\n", c->name, *c->usage ? " " : "", c->usage,
                       c->summary);
                return HOSTCTL_EXIT_OK;
        }
        hostctl_print_help(stdout);
        return HOSTCTL_EXIT_OK;
}

/* ---- Options ------------------------------------------------------------------------- */

static int hostctl_set_output(Hostctl *ctl, const char *value)
{
        if (strcmp(value, "table") == 0)
                ctl->output = HOSTCTL_OUTPUT_TABLE;
        else if (strcmp(value, "json") == 0)
                ctl->output = HOSTCTL_OUTPUT_JSON;
        else
                return hostctl_usage_error("output format must be `table` or `json`, not `%s`",
                                           value);
        return HOSTCTL_EXIT_OK;
}

static int hostctl_option_error(int c, char **argv)
{
        const char *arg = argv[optind - 1];
        if (c == ':')
                return hostctl_usage_error("option `%s` needs a value", arg);
        if (optopt && optopt < 256)
                return hostctl_usage_error("unknown option `-%c`", optopt);
        return hostctl_usage_error("unknown option `%s`", arg);
}

int hostctl_getopt(Hostctl *ctl, int argc, char **argv, const struct option *longopts)
{
        return hostctl_getopt_short(ctl, argc, argv, NULL, longopts);
}

int hostctl_getopt_short(Hostctl *ctl, int argc, char **argv, const char *shortopts,
                         const struct option *longopts)
{
        char optstring[32];

        /* ':' first: a missing value is reported as such, not as an unknown option. */
        snprintf(optstring, sizeof(optstring), ":o:h%s", shortopts ? shortopts : "");
        for (;;) {
                int c = getopt_long(argc, argv, optstring, longopts, NULL);
                switch (c) {
                case 'o': {
                        int r = hostctl_set_output(ctl, optarg);
                        if (r != HOSTCTL_EXIT_OK)
                                return HOSTCTL_OPT_STOP + r;
                        break;
                }
                case 'h': {
                        char *help_argv[] = { (char *)"help", argv[0], NULL };
                        return HOSTCTL_OPT_STOP + hostctl_cmd_help(ctl, 2, help_argv);
                }
                case ':':
                case '?':
                        return HOSTCTL_OPT_STOP + hostctl_option_error(c, argv);
                default:
                        return c;
                }
        }
}

static int hostctl_read_token(Hostctl *ctl, const char *path)
{
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        int r = hd_read_file(path, HOSTCTL_MAX_TOKEN_FILE, &data, &len);
        if (r < 0)
                return hostctl_error("cannot read token file `%s`: %s", path, strerror(-r));
        while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r' || data[len - 1] == ' ' ||
                           data[len - 1] == '\t'))
                data[--len] = '\0';
        if (len == 0 || strlen(data) != len)
                return hostctl_error("token file `%s` holds no token", path);
        if (ctl->token)
                explicit_bzero(ctl->token, strlen(ctl->token));
        free(ctl->token);
        ctl->token = TAKE_PTR(data);
        ctl->options.token = ctl->token;
        return HOSTCTL_EXIT_OK;
}

HcClient *hostctl_client(Hostctl *ctl)
{
        HcError err;
        if (ctl->client)
                return ctl->client;
        ctl->client = hc_client_new(&ctl->options, &err);
        if (!ctl->client)
                hostctl_api_error(&err, NULL);
        return ctl->client;
}

static void hostctl_clear(Hostctl *ctl)
{
        hc_client_free(ctl->client);
        if (ctl->token) {
                explicit_bzero(ctl->token, strlen(ctl->token));
                free(ctl->token);
        }
}

/* ---- main ---------------------------------------------------------------------------- */

enum {
        OPT_SOCKET = 256,
        OPT_URL,
        OPT_TOKEN_FILE,
        OPT_CACERT,
        OPT_VERSION,
};

int main(int argc, char **argv)
{
        static const struct option options[] = {
                { "socket", required_argument, NULL, OPT_SOCKET },
                { "url", required_argument, NULL, OPT_URL },
                { "token-file", required_argument, NULL, OPT_TOKEN_FILE },
                { "cacert", required_argument, NULL, OPT_CACERT },
                { "output", required_argument, NULL, 'o' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, OPT_VERSION },
                {},
        };
        _cleanup_(hostctl_clear) Hostctl ctl = { 0 };
        int c, r;

        hc_options_from_env(&ctl.options);
        /* '+': stop at the command; its options are its own. */
        while ((c = getopt_long(argc, argv, "+:o:h", options, NULL)) != -1) {
                switch (c) {
                case OPT_SOCKET:
                        ctl.options.socket_path = optarg;
                        ctl.options.url = NULL;
                        break;
                case OPT_URL:
                        ctl.options.url = optarg;
                        ctl.options.socket_path = NULL;
                        break;
                case OPT_TOKEN_FILE:
                        r = hostctl_read_token(&ctl, optarg);
                        if (r != HOSTCTL_EXIT_OK)
                                return r;
                        break;
                case OPT_CACERT:
                        ctl.options.ca_file = optarg;
                        break;
                case 'o':
                        r = hostctl_set_output(&ctl, optarg);
                        if (r != HOSTCTL_EXIT_OK)
                                return r;
                        break;
                case 'h':
                        hostctl_print_help(stdout);
                        return HOSTCTL_EXIT_OK;
                case OPT_VERSION:
                        printf("hostctl %s\n", HOSTCTL_VERSION);
                        return HOSTCTL_EXIT_OK;
                default:
                        return hostctl_option_error(c, argv);
                }
        }
        if (optind >= argc) {
                hostctl_print_help(stderr);
                return HOSTCTL_EXIT_USAGE;
        }

        const char *name = argv[optind];
        if (strcmp(name, "help") == 0)
                return hostctl_cmd_help(&ctl, argc - optind, argv + optind);
        const HostctlCommand *cmd = hostctl_find_command(name);
        if (!cmd)
                return hostctl_usage_error("unknown command `%s`", name);

        int first = optind;
        optind = 0; /* the command parses its own options from a fresh start */
        return cmd->run(&ctl, argc - first, argv + first);
}
