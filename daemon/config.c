#include "config.h"

#include <getopt.h>
#include <string.h>
#include <sys/stat.h>

#include "hd-json.h"
#include "hd-util.h"

void hd_config_init(HdConfig *c)
{
        *c = (HdConfig){
                .state_dir = strdup("/var/lib/hostd"),
                .socket_path = strdup("/run/hostd/hostd.sock"),
                .socket_group = strdup("hostd"),
                .default_network = strdup("hostd0"),
                .default_network_subnet = strdup("10.88.0.0/24"),
                .nft_table = strdup("hostd"),
                .log_level = HD_LOG_INFO,
                .cpu_overcommit = 4.0,
                .memory_overcommit = 1.0,
                .event_retention = 10000,
                .max_connections = 256,
                .connection_timeout = 60,
                .op_workers = 4,
        };
}

void hd_config_clear(HdConfig *c)
{
        free(c->state_dir);
        free(c->socket_path);
        free(c->socket_group);
        free(c->listen);
        free(c->token_file);
        free(c->tls_cert);
        free(c->tls_key);
        free(c->libvirt_uri);
        free(c->default_network);
        free(c->default_network_subnet);
        free(c->nft_table);
        *c = (HdConfig){ 0 };
}

typedef enum KeyType { KEY_STRING, KEY_DOUBLE, KEY_INT, KEY_LOGLEVEL, KEY_BOOL } KeyType;

typedef struct Key {
        const char *name;
        KeyType type;
        size_t offset;
        double min, max;
        const char *help;
} Key;

#define OFF(f) offsetof(HdConfig, f)
static const Key keys[] = {
        { "state-dir", KEY_STRING, OFF(state_dir), 0, 0,
          "directory for the inventory and state (default /var/lib/hostd)" },
        { "socket", KEY_STRING, OFF(socket_path), 0, 0,
          "Unix socket to serve (default /run/hostd/hostd.sock, mode 0660)" },
        { "socket-group", KEY_STRING, OFF(socket_group), 0, 0,
          "group that owns the socket, when it exists (default hostd)" },
        { "listen", KEY_STRING, OFF(listen), 0, 0,
          "also serve TCP on HOST:PORT (loopback only; needs --token-file)" },
        { "token-file", KEY_STRING, OFF(token_file), 0, 0,
          "file holding the bearer token TCP clients must send" },
        { "tls-cert", KEY_STRING, OFF(tls_cert), 0, 0,
          "PEM certificate: serve TCP over TLS (allows non-loopback addresses)" },
        { "tls-key", KEY_STRING, OFF(tls_key), 0, 0, "PEM private key of --tls-cert" },
        { "log-level", KEY_LOGLEVEL, OFF(log_level), 0, 0, "error, warn, info or debug" },
        { "cpu-overcommit", KEY_DOUBLE, OFF(cpu_overcommit), 0.01, 1000,
          "vCPUs admitted per host CPU (default 4)" },
        { "memory-overcommit", KEY_DOUBLE, OFF(memory_overcommit), 0.01, 1000,
          "memory admitted per MiB of host memory (default 1)" },
        { "event-retention", KEY_INT, OFF(event_retention), 1, 100000000,
          "events kept for ?since replays (default 10000)" },
        { "max-connections", KEY_INT, OFF(max_connections), 1, 100000,
          "simultaneous HTTP connections per listener (default 256)" },
        { "connection-timeout", KEY_INT, OFF(connection_timeout), 1, 86400,
          "seconds an idle HTTP connection is kept (default 60)" },
        { "operation-workers", KEY_INT, OFF(op_workers), 1, 256,
          "threads running operations (default 4)" },
        { "image-allow-devices", KEY_BOOL, OFF(image_allow_devices), 0, 0,
          "keep device nodes found in image layers (default false: refused)" },
        { "image-keep-setid", KEY_BOOL, OFF(image_keep_setid), 0, 0,
          "keep setuid/setgid bits in image layers (default false: dropped)" },
        { "libvirt-uri", KEY_STRING, OFF(libvirt_uri), 0, 0,
          "libvirt connection for VMs (default qemu:///embed?root=STATE-DIR/libvirt)" },
        { "default-network", KEY_STRING, OFF(default_network), 0, 0,
          "network created at start and joined by instances that name none (default "
          "hostd0; `none`: no default, instances get no network unless they ask)" },
        { "default-network-subnet", KEY_STRING, OFF(default_network_subnet), 0, 0,
          "IPv4 subnet of the default network (default 10.88.0.0/24)" },
        { "nft-table", KEY_STRING, OFF(nft_table), 0, 0,
          "name of hostd's own nftables table, `table ip NAME` (default hostd)" },
        { "allow-privileged", KEY_BOOL, OFF(allow_privileged), 0, 0,
          "let containers ask for privileged knobs: network host, security.privileged, "
          "cap_add beyond the defaults, seccomp unconfined (default false: refused)" },
};

static const Key *find_key(const char *name)
{
        for (size_t i = 0; i < HD_ARRAY_SIZE(keys); i++)
                if (strcmp(keys[i].name, name) == 0)
                        return &keys[i];
        return NULL;
}

static int set_string(const Key *k, HdConfig *c, const char *v, HdError **err)
{
        char **slot = (char **)((char *)c + k->offset);
        switch (k->type) {
        case KEY_STRING: {
                if (!v[0])
                        return hd_error_set_field(err, -EINVAL, k->name, "`%s` must not be empty",
                                                  k->name);
                char *copy = strdup(v);
                if (!copy)
                        return hd_error_set(err, -ENOMEM, "out of memory");
                free(*slot);
                *slot = copy;
                return 0;
        }
        case KEY_LOGLEVEL:
                if (hd_log_level_from_string(v, (HdLogLevel *)((char *)c + k->offset)) < 0)
                        return hd_error_set_field(err, -EINVAL, k->name,
                                                  "`%s` must be error, warn, info or debug, not "
                                                  "`%s`",
                                                  k->name, v);
                return 0;
        case KEY_DOUBLE: {
                double d;
                if (hd_parse_double(v, &d) < 0 || d < k->min || d > k->max)
                        return hd_error_set_field(err, -EINVAL, k->name,
                                                  "`%s` must be a number between %g and %g, not "
                                                  "`%s`",
                                                  k->name, k->min, k->max, v);
                *(double *)((char *)c + k->offset) = d;
                return 0;
        }
        case KEY_BOOL:
                if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
                        *(bool *)((char *)c + k->offset) = true;
                else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
                        *(bool *)((char *)c + k->offset) = false;
                else
                        return hd_error_set_field(err, -EINVAL, k->name,
                                                  "`%s` must be true or false, not `%s`", k->name,
                                                  v);
                return 0;
        case KEY_INT: {
                int64_t n;
                if (hd_parse_int64(v, &n) < 0 || n < (int64_t)k->min || n > (int64_t)k->max)
                        return hd_error_set_field(err, -EINVAL, k->name,
                                                  "`%s` must be an integer between %lld and "
                                                  "%lld, not `%s`",
                                                  k->name, (long long)k->min, (long long)k->max, v);
                *(int64_t *)((char *)c + k->offset) = n;
                return 0;
        }
        }
        return -EINVAL;
}

int hd_config_load_file(HdConfig *c, const char *path, HdError **err)
{
        json_error_t jerr;
        _cleanup_json_ json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
        if (!j)
                return hd_error_set(err, -EINVAL, "config `%s`: line %d: %s", path, jerr.line,
                                    jerr.text);
        if (!json_is_object(j))
                return hd_error_set(err, -EINVAL, "config `%s` must be a JSON object", path);

        const char *name;
        json_t *v;
        json_object_foreach (j, name, v) {
                const Key *k = find_key(name);
                if (!k)
                        return hd_error_set_field(err, -EINVAL, name,
                                                  "config `%s`: unknown key `%s`", path, name);
                char num[64];
                const char *text = NULL;
                if (json_is_string(v) && (k->type == KEY_STRING || k->type == KEY_LOGLEVEL))
                        text = json_string_value(v);
                else if (json_is_boolean(v) && k->type == KEY_BOOL)
                        text = json_is_true(v) ? "true" : "false";
                else if (json_is_number(v) && (k->type == KEY_DOUBLE || k->type == KEY_INT)) {
                        if (k->type == KEY_INT && !json_is_integer(v))
                                return hd_error_set_field(err, -EINVAL, name,
                                                          "config `%s`: `%s` must be an integer",
                                                          path, name);
                        snprintf(num, sizeof(num), k->type == KEY_INT ? "%.0f" : "%.17g",
                                 json_number_value(v));
                        text = num;
                } else if (json_is_null(v) && k->type == KEY_STRING &&
                           (k->offset == OFF(listen) || k->offset == OFF(token_file) ||
                            k->offset == OFF(tls_cert) || k->offset == OFF(tls_key) ||
                            k->offset == OFF(libvirt_uri))) {
                        char **slot = (char **)((char *)c + k->offset);
                        free(*slot);
                        *slot = NULL;
                        continue;
                } else
                        return hd_error_set_field(err, -EINVAL, name,
                                                  "config `%s`: `%s` has the wrong type", path,
                                                  name);
                int r = set_string(k, c, text, err);
                if (r < 0)
                        return hd_error_wrap(err, "config `%s`", path);
        }
        return 0;
}

int hd_config_parse_args(HdConfig *c, int argc, char **argv, HdError **err)
{
        enum { OPT_CONFIG = 1000, OPT_ROUTES, OPT_VERSION, OPT_KEY_BASE = 2000 };
        struct option opts[HD_ARRAY_SIZE(keys) + 5];
        size_t n = 0;
        for (size_t i = 0; i < HD_ARRAY_SIZE(keys); i++)
                opts[n++] = (struct option){ keys[i].name, required_argument, NULL,
                                             OPT_KEY_BASE + (int)i };
        opts[n++] = (struct option){ "config", required_argument, NULL, OPT_CONFIG };
        opts[n++] = (struct option){ "print-routes", no_argument, NULL, OPT_ROUTES };
        opts[n++] = (struct option){ "version", no_argument, NULL, OPT_VERSION };
        opts[n++] = (struct option){ "help", no_argument, NULL, 'h' };
        opts[n] = (struct option){ 0 };

        /* Pass 1: the config file, so flags override it whatever their order. */
        opterr = 0;
        optind = 1;
        int o;
        while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1)
                if (o == OPT_CONFIG) {
                        int r = hd_config_load_file(c, optarg, err);
                        if (r < 0)
                                return r;
                }

        optind = 1;
        while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                if (o >= OPT_KEY_BASE) {
                        int r = set_string(&keys[o - OPT_KEY_BASE], c, optarg, err);
                        if (r < 0)
                                return r;
                        continue;
                }
                switch (o) {
                case OPT_CONFIG:
                        break;
                case OPT_ROUTES:
                        c->print_routes = true;
                        break;
                case OPT_VERSION:
                        c->show_version = true;
                        break;
                case 'h':
                        c->show_help = true;
                        break;
                default:
                        return hd_error_set(err, -EINVAL, "unknown or incomplete option `%s`",
                                            argv[optind - 1]);
                }
        }
        if (optind < argc)
                return hd_error_set(err, -EINVAL, "unexpected argument `%s`", argv[optind]);
        return 0;
}

int hd_config_read_token(const char *path, char **ret, HdError **err)
{
        struct stat st;
        if (stat(path, &st) < 0)
                return hd_error_set_field(err, -errno, "token-file", "token file `%s`: %s", path,
                                          strerror(errno));
        if (st.st_mode & 0077)
                return hd_error_set_field(err, -EPERM, "token-file",
                                          "token file `%s` is readable by others (mode %04o); "
                                          "chmod 600 it",
                                          path, (unsigned)(st.st_mode & 07777));
        _cleanup_free_ char *text = NULL;
        int r = hd_read_file(path, 4096, &text, NULL);
        if (r < 0)
                return hd_error_set_field(err, r, "token-file", "token file `%s`: %s", path,
                                          strerror(-r));
        text[strcspn(text, "\r\n")] = '\0';
        size_t len = strlen(text);
        while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\t'))
                text[--len] = '\0';
        if (len < 16)
                return hd_error_set_field(err, -EINVAL, "token-file",
                                          "token in `%s` is shorter than 16 characters", path);
        *ret = TAKE_PTR(text);
        return 0;
}

void hd_config_usage(FILE *out)
{
        static const char *const metavar[] = { [KEY_STRING] = "VALUE",
                                               [KEY_DOUBLE] = "RATIO",
                                               [KEY_INT] = "N",
                                               [KEY_LOGLEVEL] = "LEVEL",
                                               [KEY_BOOL] = "true|false" };
        fprintf(out, "usage: hostd [OPTIONS]\n\n"
                     "Runs VMs and containers behind a JSON REST API.\n\nOptions:\n"
                     "  --config FILE                   JSON file with any of the keys below\n");
        for (size_t i = 0; i < HD_ARRAY_SIZE(keys); i++) {
                char flag[64];
                snprintf(flag, sizeof(flag), "%s %s", keys[i].name, metavar[keys[i].type]);
                fprintf(out, "  --%-29s %s\n", flag, keys[i].help);
        }
        fprintf(out, "  --print-routes                  print the API's routes and exit\n"
                     "  --version                       print the version and exit\n");
}
