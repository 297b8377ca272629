/* The HTTP front: libmicrohttpd on a Unix socket and, when asked, on TCP. */
#pragma once

#include <stdbool.h>

#include "core.h"
#include "hd-error.h"

typedef struct HdHttp HdHttp;
typedef struct HdImgStore HdImgStore;

typedef struct HdHttpConfig {
        const char *socket_path;  /* Unix socket; NULL = none */
        const char *socket_group; /* group owning the socket (mode 0660), if it exists */
        const char *listen;       /* "HOST:PORT" for TCP, or NULL */
        const char *token;        /* bearer token required on TCP */
        const char *tls_cert_pem; /* TLS on TCP when set (with tls_key_pem) */
        const char *tls_key_pem;
        unsigned connection_limit;
        unsigned connection_timeout_s;
        size_t connection_memory;
        HdImgStore *images; /* the image store the /v1/images routes serve */
} HdHttpConfig;

int hd_http_start(const HdHttpConfig *cfg, HdCore *core, HdHttp **ret, HdError **err);
/* Stops accepting connections and removes the socket file. */
void hd_http_quiesce(HdHttp *h);
/* Waits (up to timeout_ms) until no request is in flight. */
void hd_http_drain(HdHttp *h, int64_t timeout_ms);
void hd_http_stop(HdHttp *h);

/* Prints "METHOD PATH" for every route, for the openapi comparison test. */
void hd_http_print_routes(FILE *out);
