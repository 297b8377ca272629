/* hostd's configuration: embedded defaults, an optional JSON file (--config)
 * with the same keys as the flags, then the flags themselves. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "hd-error.h"
#include "hd-log.h"

typedef struct HdConfig {
        char *state_dir;
        char *socket_path;
        char *socket_group;
        char *listen;                 /* NULL = no TCP */
        char *token_file;             /* NULL = none */
        char *tls_cert;               /* PEM certificate (chain) for TCP; NULL = plain HTTP */
        char *tls_key;                /* its PEM private key */
        char *libvirt_uri;            /* NULL: the embedded QEMU driver under the state dir */
        char *default_network;        /* created at start; "none": no default network */
        char *default_network_subnet; /* its subnet */
        char *nft_table;              /* hostd's own nftables table (`table ip NAME`) */
        HdLogLevel log_level;
        double cpu_overcommit;
        double memory_overcommit;
        int64_t event_retention;
        int64_t max_connections;
        int64_t connection_timeout;
        int64_t op_workers;
        bool image_allow_devices;
        bool image_keep_setid;
        bool allow_privileged;
        bool print_routes;
        bool show_help;
        bool show_version;
} HdConfig;

void hd_config_init(HdConfig *c);
void hd_config_clear(HdConfig *c);

/* Applies a JSON config file: unknown keys and wrong types are errors naming the key. */
int hd_config_load_file(HdConfig *c, const char *path, HdError **err);

/* Parses argv: --config FILE is read first, wherever it appears, then every
 * flag overrides the file. */
int hd_config_parse_args(HdConfig *c, int argc, char **argv, HdError **err);

/* Reads the bearer token (first line, trimmed) from a file that only its owner
 * may read. */
int hd_config_read_token(const char *path, char **ret, HdError **err);

void hd_config_usage(FILE *out);
