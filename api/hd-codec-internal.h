/* Private to the codec (hd-codec*.c): the validation helpers that the parsing
 * files share, and the output helper that action arguments reuse. Not installed,
 * not for use outside api/. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "hd-error.h"
#include "hd-macro.h"
#include "hd-spec.h"

/* Limits of the spec's cloud_init (documented in api/openapi.yaml). The VM driver's
 * seed builder has its own, looser ones (HD_VM_USER_DATA_MAX is the same). */
#define HD_MAX_USER_DATA (64 * 1024)
#define HD_MAX_SSH_KEYS  64
#define HD_MAX_SSH_KEY   (8 * 1024)

/* Sets a validation error (-EINVAL) on field; -ENOMEM if the message cannot be built. */
int hd_codec_fail(HdError **err, const char *field, const char *fmt, ...) HD_PRINTF(3, 4);

/* "prefix.key", or just "key" without a prefix. NULL on allocation failure;
 * the caller frees. */
char *hd_codec_field_join(const char *prefix, const char *key);

/* How many bytes of s to quote in a message; use as HD_CODEC_Q(s) for "%.*s". */
int hd_codec_quote_len(const char *s);
#define HD_CODEC_Q(s) hd_codec_quote_len(s), (s)

/* The first key of object o not in the NULL-terminated list allowed is -EINVAL
 * naming "prefix.key". */
int hd_codec_check_unknown(const json_t *o, const char *prefix, const char *const *allowed,
                           HdError **err);

typedef enum JType {
        JT_STRING,
        JT_INTEGER,
        JT_NUMBER,
        JT_BOOLEAN,
        JT_OBJECT,
        JT_ARRAY,
} JType;

/* v must be of type t; a NULL v (field absent) passes. */
int hd_codec_check_type(const json_t *v, JType t, const char *field, HdError **err);

/* The integer v must lie in [min, max]; suffix is appended to the message. */
int hd_codec_check_int_range(const json_t *v, int64_t min, int64_t max, const char *field,
                             const char *suffix, HdError **err);

/* A label key (hd_codec_label_key_is_valid()) and value (length, no control
 * characters), reported on field. */
int hd_codec_check_label_key(const char *key, const char *field, HdError **err);
int hd_codec_check_label_value(const char *value, const char *field, HdError **err);

/* Adds v under key of o, taking ownership of v; false when o or v is NULL or on
 * allocation failure. */
bool hd_codec_add(json_t *o, const char *key, json_t *v);

/* Shared by the spec and exec parsers. The command's members and the env's values
 * must already be known to be strings. */
int hd_codec_parse_command(const json_t *a, HdStrv *ret, HdError **err);
int hd_codec_parse_env(const json_t *o, HdKVList *ret, HdError **err);
/* uid[:gid] or name[:group]. */
bool hd_codec_user_is_valid(const char *s);

/* The spec's ports (hd-codec-network.c), in the spec's validation phases: unknown
 * members of each entry, then types, then required members. ports may be NULL. */
int hd_codec_ports_check_unknown(const json_t *ports, HdError **err);
int hd_codec_ports_check_types(const json_t *ports, HdError **err);
int hd_codec_ports_check_required(const json_t *ports, HdError **err);
/* The values of network, ip and ports of a spec whose shape has been checked, into s
 * (s->kind set). On failure s may hold some of them: the caller clears it. */
int hd_codec_parse_spec_network(const json_t *j, HdInstanceSpec *s, HdError **err);
