/* The codec: untrusted JSON → validated structs, and structs → the API's JSON.
 * This file holds the shared validation helpers, request-body parsing and the
 * instance spec; hd-codec-patch.c holds PATCH bodies and action arguments, and
 * hd-codec-output.c the JSON the API returns.
 *
 * Validation of an object runs in a fixed order so that the error a client sees
 * is predictable: unknown fields first, then types, then required fields, then
 * values. Every error is -EINVAL and names the field by its dotted path. */
#include "hd-codec.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>

#include "hd-codec-internal.h"
#include "hd-util.h"

/* ---- small helpers -------------------------------------------------------- */

int hd_codec_fail(HdError **err, const char *field, const char *fmt, ...)
{
        _cleanup_free_ char *msg = NULL;
        va_list ap;
        va_start(ap, fmt);
        int r = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (r < 0)
                return hd_error_set_field(err, -ENOMEM, field, "out of memory");
        return hd_error_set_field(err, -EINVAL, field, "%s", msg);
}

char *hd_codec_field_join(const char *prefix, const char *key)
{
        char *f = NULL;
        if (asprintf(&f, "%s%s%s", prefix ? prefix : "", prefix ? "." : "", key) < 0)
                return NULL;
        return f;
}

/* How many bytes of s to quote in a message: at most 64, cut at a character
 * boundary so the message stays valid UTF-8. */
#define QUOTE_MAX 64
int hd_codec_quote_len(const char *s)
{
        size_t n = strnlen(s, QUOTE_MAX + 1);
        if (n <= QUOTE_MAX)
                return (int)n;
        n = QUOTE_MAX;
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
                n--;
        return (int)n;
}

static size_t utf8_chars(const char *s)
{
        size_t n = 0;
        for (; *s; s++)
                if (((unsigned char)*s & 0xc0) != 0x80)
                        n++;
        return n;
}

static bool has_control(const char *s)
{
        for (; *s; s++)
                if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
                        return true;
        return false;
}

static bool is_alnum(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool in_set(const char *s, const char *extra)
{
        for (; *s; s++)
                if (!is_alnum(*s) && !strchr(extra, *s))
                        return false;
        return true;
}

static bool field_allowed(const char *key, const char *const *allowed)
{
        for (; *allowed; allowed++)
                if (strcmp(key, *allowed) == 0)
                        return true;
        return false;
}

int hd_codec_check_unknown(const json_t *o, const char *prefix, const char *const *allowed,
                           HdError **err)
{
        const char *key;
        json_t *v;
        json_object_foreach ((json_t *)o, key, v) {
                if (field_allowed(key, allowed))
                        continue;
                _cleanup_free_ char *f = hd_codec_field_join(prefix, key);
                return hd_codec_fail(err, f ? f : key, "unknown field `%.*s`", HD_CODEC_Q(key));
        }
        return 0;
}

int hd_codec_check_type(const json_t *v, JType t, const char *field, HdError **err)
{
        static const char *const what[] = {
                [JT_STRING] = "a string",   [JT_INTEGER] = "an integer", [JT_NUMBER] = "a number",
                [JT_BOOLEAN] = "a boolean", [JT_OBJECT] = "an object",   [JT_ARRAY] = "an array",
        };
        bool ok;

        if (!v)
                return 0;
        switch (t) {
        case JT_STRING:
                ok = json_is_string(v);
                break;
        case JT_INTEGER:
                ok = json_is_integer(v);
                break;
        case JT_NUMBER:
                ok = json_is_number(v);
                break;
        case JT_BOOLEAN:
                ok = json_is_boolean(v);
                break;
        case JT_OBJECT:
                ok = json_is_object(v);
                break;
        case JT_ARRAY:
                ok = json_is_array(v);
                break;
        default:
                ok = false;
        }
        return ok ? 0 : hd_codec_fail(err, field, "must be %s", what[t]);
}

/* Every member of an object (or element of an array) must be of type t. */
static int check_member_types(const json_t *v, JType t, const char *prefix, HdError **err)
{
        if (json_is_object(v)) {
                const char *key;
                json_t *m;
                json_object_foreach ((json_t *)v, key, m) {
                        if (hd_codec_check_type(m, t, "", NULL) == 0)
                                continue;
                        _cleanup_free_ char *f = hd_codec_field_join(prefix, key);
                        return hd_codec_check_type(m, t, f ? f : prefix, err);
                }
        } else if (json_is_array(v)) {
                size_t i;
                json_t *m;
                json_array_foreach (v, i, m) {
                        if (hd_codec_check_type(m, t, "", NULL) == 0)
                                continue;
                        char f[64];
                        snprintf(f, sizeof(f), "%s[%zu]", prefix, i);
                        return hd_codec_check_type(m, t, f, err);
                }
        }
        return 0;
}

int hd_codec_check_int_range(const json_t *v, int64_t min, int64_t max, const char *field,
                             const char *suffix, HdError **err)
{
        json_int_t n = json_integer_value(v);
        if (n < min || n > max)
                return hd_codec_fail(err, field, "must be between %" PRId64 " and %" PRId64 "%s",
                                     min, max, suffix);
        return 0;
}

/* ---- request bodies ------------------------------------------------------- */

/* jansson names a duplicate key but not where it sits. Re-walk the text up to
 * the error position (a valid JSON prefix, since jansson got that far) and
 * keep the path of keys and indices: "resources.vcpus", "command[2]". */
typedef struct PathFrame {
        bool object;
        bool want_key;
        size_t index;
        char *key;
} PathFrame;

static char *decode_key(const char *start, size_t len)
{
        _cleanup_json_ json_t *tok = json_loadb(start, len, JSON_DECODE_ANY, NULL);
        return json_is_string(tok) ? strdup(json_string_value(tok)) : NULL;
}

static char *duplicate_key_path(const char *text, size_t len, size_t position)
{
        PathFrame stack[64] = { 0 };
        int depth = 0;
        size_t i = 0;
        bool ok = true;

        while (i < len && i < position && ok) {
                char ch = text[i];
                PathFrame *top = depth > 0 ? &stack[depth - 1] : NULL;
                if (ch == '{' || ch == '[') {
                        if (depth == (int)HD_ARRAY_SIZE(stack)) {
                                ok = false;
                                break;
                        }
                        stack[depth++] = (PathFrame){ .object = ch == '{', .want_key = ch == '{' };
                        i++;
                } else if (ch == '}' || ch == ']') {
                        if (depth > 0) {
                                free(stack[depth - 1].key);
                                stack[--depth] = (PathFrame){ 0 };
                        }
                        i++;
                } else if (ch == ',') {
                        if (top && top->object)
                                top->want_key = true;
                        else if (top)
                                top->index++;
                        i++;
                } else if (ch == '"') {
                        size_t start = i++;
                        while (i < len && text[i] != '"')
                                i += text[i] == '\\' ? 2 : 1;
                        i++;
                        if (top && top->object && top->want_key) {
                                free(top->key);
                                top->key = decode_key(text + start, i - start);
                                top->want_key = false;
                                ok = top->key != NULL;
                        }
                } else {
                        i++;
                }
        }

        char *path = NULL;
        size_t plen = 0;
        FILE *f = ok && depth > 0 ? open_memstream(&path, &plen) : NULL;
        for (int k = 0; k < depth; k++) {
                if (f && stack[k].object)
                        fprintf(f, "%s%s", k ? "." : "", stack[k].key ? stack[k].key : "");
                else if (f)
                        fprintf(f, "[%zu]", stack[k].index);
                free(stack[k].key);
        }
        if (f)
                fclose(f);
        return path;
}

int hd_codec_parse_object(const char *body, size_t len, json_t **ret, HdError **err)
{
        if (len > HD_MAX_BODY_BYTES)
                return hd_error_set(err, -EFBIG, "request body is larger than %d bytes",
                                    HD_MAX_BODY_BYTES);
        if (!body)
                body = "";

        json_error_t jerr;
        json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!j) {
                /* The context jansson quotes comes from the input: keep the
                 * message printable ASCII. */
                for (char *p = jerr.text; *p; p++)
                        if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
                                *p = '?';
                if (json_error_code(&jerr) == json_error_duplicate_key) {
                        _cleanup_free_ char *path =
                                duplicate_key_path(body, len, (size_t)jerr.position);
                        if (path && path[0])
                                return hd_codec_fail(err, path,
                                                     "duplicate key `%.*s` at line %d, column %d",
                                                     HD_CODEC_Q(path), jerr.line, jerr.column);
                }
                return hd_error_set(err, -EINVAL, "malformed JSON at line %d, column %d: %s",
                                    jerr.line, jerr.column, jerr.text);
        }
        if (!json_is_object(j)) {
                json_decref(j);
                return hd_error_set(err, -EINVAL, "request body must be a JSON object");
        }
        *ret = j;
        return 0;
}

/* ---- instance spec: validation -------------------------------------------- */

static const char *const spec_fields[] = {
        "name",           "kind",      "image",    "command", "env",
        "workdir",        "user",      "hostname", "labels",  "resources",
        "restart_policy", "autostart", "network",  "ip",      "ports",
        "cloud_init",     "security",  NULL,
};
static const char *const resources_fields[] = { "vcpus",   "memory_mb", "pids_max",
                                                "disk_gb", "cpuset",    NULL };
static const char *const restart_fields[] = { "name", "max_retries", NULL };
static const char *const cloud_init_fields[] = { "user_data", "ssh_authorized_keys", NULL };
static const char *const security_fields[] = { "privileged", "cap_add", "cap_drop",
                                               "seccomp",    "userns",  NULL };

static bool is_rfc1123_label(const char *s)
{
        size_t n = strlen(s);
        if (n == 0 || n > 63 || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
                return false;
        return in_set(s, "-");
}

bool hd_codec_label_key_is_valid(const char *key)
{
        if (!key)
                return false;
        size_t n = strlen(key);
        if (n == 0 || n > HD_MAX_LABEL_KEY || !is_alnum(key[0]) || !is_alnum(key[n - 1]))
                return false;
        return in_set(key, "._/-");
}

static bool env_key_is_valid(const char *key)
{
        if (!key[0] || !(key[0] == '_' || (key[0] >= 'A' && key[0] <= 'Z') ||
                         (key[0] >= 'a' && key[0] <= 'z')))
                return false;
        return in_set(key, "_");
}

/* A user or group: a name ([A-Za-z0-9._-], not starting with '-') or a uid. */
static bool user_part_is_valid(const char *s, size_t n)
{
        if (n == 0 || n > 32 || s[0] == '-')
                return false;
        bool digits = true;
        for (size_t i = 0; i < n; i++) {
                if (!is_alnum(s[i]) && !strchr("._-", s[i]))
                        return false;
                if (s[i] < '0' || s[i] > '9')
                        digits = false;
        }
        if (digits) {
                /* uids are 32-bit; (uid_t)-1 means "none" */
                char buf[33];
                memcpy(buf, s, n);
                buf[n] = '\0';
                int64_t v;
                if (hd_parse_int64(buf, &v) < 0 || v > 4294967294LL)
                        return false;
        }
        return true;
}

bool hd_codec_user_is_valid(const char *s)
{
        const char *colon = strchr(s, ':');
        if (!colon)
                return user_part_is_valid(s, strlen(s));
        return user_part_is_valid(s, (size_t)(colon - s)) &&
               user_part_is_valid(colon + 1, strlen(colon + 1));
}

static int check_name(const char *name, HdError **err)
{
        if (!*name)
                return hd_codec_fail(err, "name", "must not be empty");
        if (strlen(name) > 63)
                return hd_codec_fail(err, "name", "must be at most 63 characters");
        if (!hd_name_is_valid(name))
                return hd_codec_fail(
                        err, "name",
                        "`%.*s` is not a valid name: use lowercase letters, digits and `-`, "
                        "starting and ending with a letter or digit",
                        HD_CODEC_Q(name));
        /* {name} in a path is a name or a UUID: the two must not be confusable. */
        if (hd_uuid_is_valid(name))
                return hd_codec_fail(err, "name",
                                     "`%s` has the form of a UUID, which names cannot have", name);
        return 0;
}

static int check_image(const char *image, HdError **err)
{
        if (!*image)
                return hd_codec_fail(err, "image", "must not be empty");
        if (strlen(image) > 255)
                return hd_codec_fail(err, "image", "must be at most 255 characters");
        if (!in_set(image, "._:/@-"))
                return hd_codec_fail(err, "image",
                                     "`%.*s` is not a valid image reference: use [A-Za-z0-9._:/@-]",
                                     HD_CODEC_Q(image));
        return 0;
}

int hd_codec_parse_command(const json_t *a, HdStrv *ret, HdError **err)
{
        if (json_array_size(a) > HD_MAX_COMMAND_ARGS)
                return hd_codec_fail(err, "command", "must have at most %d arguments",
                                     HD_MAX_COMMAND_ARGS);

        size_t i;
        json_t *v;
        json_array_foreach (a, i, v) {
                const char *s = json_string_value(v);
                char f[32];
                snprintf(f, sizeof(f), "command[%zu]", i);
                if (i == 0 && !*s)
                        return hd_codec_fail(err, f, "must not be empty");
                if (json_string_length(v) > HD_MAX_STRING)
                        return hd_codec_fail(err, f, "must be at most %d bytes", HD_MAX_STRING);
                if (hd_strv_push(ret, s) < 0)
                        return hd_error_set(err, -ENOMEM, "out of memory");
        }
        return 0;
}

int hd_codec_parse_env(const json_t *o, HdKVList *ret, HdError **err)
{
        if (json_object_size(o) > HD_MAX_ENV)
                return hd_codec_fail(err, "env", "must have at most %d variables", HD_MAX_ENV);

        const char *key;
        json_t *v;
        json_object_foreach ((json_t *)o, key, v) {
                _cleanup_free_ char *f = hd_codec_field_join("env", key);
                if (!f)
                        return hd_error_set(err, -ENOMEM, "out of memory");
                if (!env_key_is_valid(key) || strlen(key) > HD_MAX_STRING)
                        return hd_codec_fail(
                                err, f,
                                "`%.*s` is not a valid variable name: use [A-Za-z_][A-Za-z0-9_]*",
                                HD_CODEC_Q(key));
                if (json_string_length(v) > HD_MAX_STRING)
                        return hd_codec_fail(err, f, "must be at most %d bytes", HD_MAX_STRING);
                if (hd_kvlist_set(ret, key, json_string_value(v)) < 0)
                        return hd_error_set(err, -ENOMEM, "out of memory");
        }
        return 0;
}

int hd_codec_check_label_value(const char *value, const char *field, HdError **err)
{
        if (utf8_chars(value) > HD_MAX_LABEL_VALUE)
                return hd_codec_fail(err, field, "must be at most %d characters",
                                     HD_MAX_LABEL_VALUE);
        if (has_control(value))
                return hd_codec_fail(err, field, "must not contain control characters");
        return 0;
}

int hd_codec_check_label_key(const char *key, const char *field, HdError **err)
{
        if (!hd_codec_label_key_is_valid(key))
                return hd_codec_fail(
                        err, field,
                        "`%.*s` is not a valid label key: use up to %d of [A-Za-z0-9._/-], "
                        "starting and ending with a letter or digit",
                        HD_CODEC_Q(key), HD_MAX_LABEL_KEY);
        return 0;
}

static int parse_labels(const json_t *o, HdKVList *ret, HdError **err)
{
        if (json_object_size(o) > HD_MAX_LABELS)
                return hd_codec_fail(err, "labels", "must have at most %d labels", HD_MAX_LABELS);

        const char *key;
        json_t *v;
        json_object_foreach ((json_t *)o, key, v) {
                _cleanup_free_ char *f = hd_codec_field_join("labels", key);
                if (!f)
                        return hd_error_set(err, -ENOMEM, "out of memory");
                int r = hd_codec_check_label_key(key, f, err);
                if (r < 0)
                        return r;
                r = hd_codec_check_label_value(json_string_value(v), f, err);
                if (r < 0)
                        return r;
                if (hd_kvlist_set(ret, key, json_string_value(v)) < 0)
                        return hd_error_set(err, -ENOMEM, "out of memory");
        }
        return 0;
}

static int parse_vcpus(const json_t *v, HdKind kind, double *ret, HdError **err)
{
        const char *f = "resources.vcpus";
        double d = json_number_value(v);
        if (!isfinite(d) || d <= 0 || d > HD_MAX_VCPUS)
                return hd_codec_fail(err, f, "must be greater than 0 and at most %g", HD_MAX_VCPUS);
        if (kind == HD_KIND_VM) {
                if (d != floor(d))
                        return hd_codec_fail(err, f, "must be a whole number for kind `vm`");
                *ret = d;
                return 0;
        }
        double hundredths = round(d * 100.0);
        if (fabs(d * 100.0 - hundredths) > 1e-6 || hundredths < 1)
                return hd_codec_fail(err, f, "must be a multiple of 0.01");
        *ret = hundredths / 100.0;
        return 0;
}

static int parse_resources(const json_t *o, HdKind kind, HdResources *ret, HdError **err)
{
        bool vm = kind == HD_KIND_VM;
        const json_t *v;
        int r;

        *ret = (HdResources){
                .vcpus = HD_DEFAULT_VCPUS,
                .memory_mb = HD_DEFAULT_MEMORY_MB,
                .pids_max = vm ? 0 : HD_DEFAULT_PIDS_MAX,
                .disk_gb = 0,
        };
        if (!o)
                return 0;

        if ((v = json_object_get(o, "vcpus"))) {
                r = parse_vcpus(v, kind, &ret->vcpus, err);
                if (r < 0)
                        return r;
        }
        if ((v = json_object_get(o, "memory_mb"))) {
                r = hd_codec_check_int_range(v, vm ? HD_MIN_VM_MEMORY_MB : HD_MIN_MEMORY_MB,
                                             HD_MAX_MEMORY_MB, "resources.memory_mb",
                                             vm ? " for kind `vm`" : "", err);
                if (r < 0)
                        return r;
                ret->memory_mb = json_integer_value(v);
        }
        if ((v = json_object_get(o, "pids_max"))) {
                r = hd_codec_check_int_range(v, 1, HD_MAX_PIDS, "resources.pids_max", "", err);
                if (r < 0)
                        return r;
                ret->pids_max = json_integer_value(v);
        }
        if ((v = json_object_get(o, "disk_gb"))) {
                r = hd_codec_check_int_range(v, 1, HD_MAX_DISK_GB, "resources.disk_gb", "", err);
                if (r < 0)
                        return r;
                ret->disk_gb = json_integer_value(v);
        }
        /* Whether the host has these CPUs is the driver's to say (at create); here only
         * the form. Kept as written, so that the stored spec reads back the same. */
        if ((v = json_object_get(o, "cpuset"))) {
                const char *cs = json_string_value(v);
                HdCpuMask mask;
                if (json_string_length(v) > HD_CPULIST_MAX || strlen(cs) != json_string_length(v) ||
                    hd_cpulist_parse(cs, &mask) < 0)
                        return hd_codec_fail(err, "resources.cpuset",
                                             "must be a CPU list of at most %d characters: CPU "
                                             "numbers below %d and ascending ranges, no spaces, "
                                             "like `0`, `0-3` or `0,2,4-5`",
                                             HD_CPULIST_MAX, HD_CPU_MAX);
                if (!(ret->cpuset = strdup(cs)))
                        return hd_error_set(err, -ENOMEM, "out of memory");
        }
        return 0;
}

static int parse_restart_policy(const json_t *o, HdRestartPolicy *ret_policy, int64_t *ret_retries,
                                HdError **err)
{
        *ret_policy = HD_RESTART_NO;
        *ret_retries = 0;
        if (!o)
                return 0;

        const char *name = json_string_value(json_object_get(o, "name"));
        HdRestartPolicy p = hd_restart_policy_from_string(name);
        if (p == HD_RESTART_INVALID)
                return hd_codec_fail(
                        err, "restart_policy.name",
                        "`%.*s` is not a restart policy: use `no`, `on-failure` or `always`",
                        HD_CODEC_Q(name));

        const json_t *v = json_object_get(o, "max_retries");
        int64_t retries = 0;
        if (v) {
                int r = hd_codec_check_int_range(v, 0, HD_MAX_RESTART_RETRIES,
                                                 "restart_policy.max_retries", "", err);
                if (r < 0)
                        return r;
                retries = json_integer_value(v);
                if (retries != 0 && p != HD_RESTART_ON_FAILURE)
                        return hd_codec_fail(err, "restart_policy.max_retries",
                                             "is only allowed with restart policy `on-failure`");
        }
        *ret_policy = p;
        *ret_retries = retries;
        return 0;
}

/* ---- instance spec: cloud_init (VMs) --------------------------------------- */

/* Public key types that OpenSSH's authorized_keys takes, each followed by one space
 * and the key blob in base64. Options before the type are not accepted. */
static const char *const ssh_key_types[] = {
        "ssh-ed25519",
        "ssh-rsa",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com",
        "sk-ecdsa-sha2-nistp256@openssh.com",
        "ssh-dss",
};

static int check_ssh_key(const json_t *v, const char *field, HdError **err)
{
        const char *k = json_string_value(v);
        size_t len = json_string_length(v);

        if (len > HD_MAX_SSH_KEY)
                return hd_codec_fail(err, field, "must be at most %d bytes", HD_MAX_SSH_KEY);
        if (strlen(k) != len || !hd_utf8_is_clean(k, true))
                return hd_codec_fail(err, field,
                                     "must be a single line of UTF-8 without control characters");

        size_t type_len = strcspn(k, " ");
        const char *type = NULL;
        for (size_t i = 0; i < HD_ARRAY_SIZE(ssh_key_types); i++)
                if (strlen(ssh_key_types[i]) == type_len &&
                    strncmp(k, ssh_key_types[i], type_len) == 0)
                        type = ssh_key_types[i];
        if (!type)
                return hd_codec_fail(
                        err, field,
                        "`%.*s` does not start with a known key type: use ssh-ed25519, "
                        "ssh-rsa, ecdsa-sha2-nistp256/384/521, "
                        "sk-ssh-ed25519@openssh.com, "
                        "sk-ecdsa-sha2-nistp256@openssh.com or ssh-dss",
                        HD_CODEC_Q(k));

        /* "TYPE BASE64[ COMMENT]" */
        const char *blob = k + type_len;
        size_t blob_len = blob[0] == ' ' ? strcspn(blob + 1, " ") : 0;
        _cleanup_free_ char *decoded = NULL;
        size_t decoded_len = 0;
        if (blob_len == 0 || hd_base64_decode(blob + 1, blob_len, &decoded, &decoded_len) < 0 ||
            decoded_len == 0)
                return hd_codec_fail(
                        err, field, "`%s` must be followed by a space and the key in base64", type);
        return 0;
}

static int parse_cloud_init(const json_t *o, HdCloudInit *ret, HdError **err)
{
        static const char *const keys_field = "cloud_init.ssh_authorized_keys";
        const json_t *ud = json_object_get(o, "user_data");
        const json_t *keys = json_object_get(o, "ssh_authorized_keys");

        if (json_is_string(ud)) {
                const char *f = "cloud_init.user_data";
                const char *s = json_string_value(ud);
                if (json_string_length(ud) > HD_MAX_USER_DATA)
                        return hd_codec_fail(err, f, "must be at most %d bytes", HD_MAX_USER_DATA);
                if (strlen(s) != json_string_length(ud))
                        return hd_codec_fail(err, f, "must not contain NUL characters");
                if (!hd_utf8_is_valid(s))
                        return hd_codec_fail(err, f, "must be valid UTF-8");
                /* "" is the same as no user-data */
                if (*s && !(ret->user_data = strdup(s)))
                        return hd_error_set(err, -ENOMEM, "out of memory");
        }

        if (json_array_size(keys) > HD_MAX_SSH_KEYS)
                return hd_codec_fail(err, keys_field, "must have at most %d keys", HD_MAX_SSH_KEYS);
        size_t i;
        json_t *v;
        json_array_foreach (keys, i, v) {
                char f[64];
                snprintf(f, sizeof(f), "%s[%zu]", keys_field, i);
                int r = check_ssh_key(v, f, err);
                if (r < 0)
                        return r;
                if (hd_strv_push(&ret->ssh_authorized_keys, json_string_value(v)) < 0)
                        return hd_error_set(err, -ENOMEM, "out of memory");
        }

        /* The seed adds the keys to the user's #cloud-config; other user-data (a
         * script, MIME) has no place for them. */
        if (ret->ssh_authorized_keys.n > 0 && ret->user_data &&
            !hd_str_startswith(ret->user_data, "#cloud-config"))
                return hd_codec_fail(err, keys_field,
                                     "needs `cloud_init.user_data` that starts with "
                                     "`#cloud-config`, or none");
        return 0;
}

/* ---- instance spec: security (containers) ---------------------------------- */

/* The capabilities Linux knows, in number order (CAP_CHOWN = 0 …
 * CAP_CHECKPOINT_RESTORE = 40), without their CAP_ prefix. */
static const char *const capabilities[] = {
        "CHOWN",
        "DAC_OVERRIDE",
        "DAC_READ_SEARCH",
        "FOWNER",
        "FSETID",
        "KILL",
        "SETGID",
        "SETUID",
        "SETPCAP",
        "LINUX_IMMUTABLE",
        "NET_BIND_SERVICE",
        "NET_BROADCAST",
        "NET_ADMIN",
        "NET_RAW",
        "IPC_LOCK",
        "IPC_OWNER",
        "SYS_MODULE",
        "SYS_RAWIO",
        "SYS_CHROOT",
        "SYS_PTRACE",
        "SYS_PACCT",
        "SYS_ADMIN",
        "SYS_BOOT",
        "SYS_NICE",
        "SYS_RESOURCE",
        "SYS_TIME",
        "SYS_TTY_CONFIG",
        "MKNOD",
        "LEASE",
        "AUDIT_WRITE",
        "AUDIT_CONTROL",
        "SETFCAP",
        "MAC_OVERRIDE",
        "MAC_ADMIN",
        "SYSLOG",
        "WAKE_ALARM",
        "BLOCK_SUSPEND",
        "AUDIT_READ",
        "PERFMON",
        "BPF",
        "CHECKPOINT_RESTORE",
};

/* "net_admin", "CAP_NET_ADMIN", "Cap_Net_Admin" → "CAP_NET_ADMIN"; "all" → "ALL".
 * NULL when s names no capability. */
static const char *capability_normalize(const char *s, char buf[static 32])
{
        if (strcasecmp(s, "ALL") == 0)
                return "ALL";
        if (strncasecmp(s, "CAP_", 4) == 0)
                s += 4;
        for (size_t i = 0; i < HD_ARRAY_SIZE(capabilities); i++)
                if (strcasecmp(s, capabilities[i]) == 0) {
                        snprintf(buf, 32, "CAP_%s", capabilities[i]);
                        return buf;
                }
        return NULL;
}

static bool strv_contains(const HdStrv *v, const char *s)
{
        for (size_t i = 0; i < v->n; i++)
                if (strcmp(v->items[i], s) == 0)
                        return true;
        return false;
}

/* A list of capability names, normalized, duplicates dropped (first one kept). */
static int parse_capabilities(const json_t *a, const char *prefix, HdStrv *ret, HdError **err)
{
        size_t i;
        json_t *v;
        json_array_foreach (a, i, v) {
                const char *s = json_string_value(v);
                char buf[32];
                const char *cap =
                        strlen(s) == json_string_length(v) ? capability_normalize(s, buf) : NULL;
                if (!cap) {
                        char f[64];
                        snprintf(f, sizeof(f), "%s[%zu]", prefix, i);
                        return hd_codec_fail(err, f,
                                             "`%.*s` is not a Linux capability: use a name such "
                                             "as `CAP_NET_ADMIN` or `net_admin`, or `ALL`",
                                             HD_CODEC_Q(s));
                }
                if (!strv_contains(ret, cap) && hd_strv_push(ret, cap) < 0)
                        return hd_error_set(err, -ENOMEM, "out of memory");
        }
        return 0;
}

static int parse_security(const json_t *o, HdSecurity *ret, HdError **err)
{
        const json_t *v;
        int r;

        ret->privileged = json_is_true(json_object_get(o, "privileged"));
        ret->userns = json_is_true(json_object_get(o, "userns"));
        if ((v = json_object_get(o, "cap_add")) &&
            (r = parse_capabilities(v, "security.cap_add", &ret->cap_add, err)) < 0)
                return r;
        if ((v = json_object_get(o, "cap_drop")) &&
            (r = parse_capabilities(v, "security.cap_drop", &ret->cap_drop, err)) < 0)
                return r;
        if ((v = json_object_get(o, "seccomp"))) {
                const char *p = json_string_value(v);
                bool clean = strlen(p) == json_string_length(v);
                if (clean && strcmp(p, "unconfined") == 0) {
                        if (!(ret->seccomp = strdup(p)))
                                return hd_error_set(err, -ENOMEM, "out of memory");
                } else if (!clean || strcmp(p, "default") != 0)
                        return hd_codec_fail(
                                err, "security.seccomp",
                                "`%.*s` is not a seccomp profile: use `default` or `unconfined`",
                                HD_CODEC_Q(p));
        }
        return 0;
}

/* Fields that one kind cannot honour; rejected by name rather than ignored. */
static int check_kind_fields(const json_t *j, HdKind kind, HdError **err)
{
        static const char *const vm_top[] = { "command", "env", "workdir", "user", "security" };
        const json_t *res = json_object_get(j, "resources");
        const char *k = hd_kind_to_string(kind);

        if (kind == HD_KIND_VM) {
                for (size_t i = 0; i < HD_ARRAY_SIZE(vm_top); i++)
                        if (json_object_get(j, vm_top[i]))
                                return hd_codec_fail(err, vm_top[i],
                                                     "`%s` is not supported for kind `%s`",
                                                     vm_top[i], k);
                if (json_object_get(res, "pids_max"))
                        return hd_codec_fail(err, "resources.pids_max",
                                             "`resources.pids_max` is not supported for kind `%s`",
                                             k);
        } else if (json_object_get(j, "cloud_init")) {
                return hd_codec_fail(err, "cloud_init",
                                     "`cloud_init` is not supported for kind `%s`", k);
        } else if (json_object_get(res, "disk_gb"))
                return hd_codec_fail(err, "resources.disk_gb",
                                     "`resources.disk_gb` is not supported for kind `%s`", k);
        return 0;
}

/* The members of cloud_init and security (either may be NULL). */
static int check_nested_types(const json_t *ci, const json_t *sec, HdError **err)
{
        const json_t *ud = json_object_get(ci, "user_data");
        const json_t *keys = json_object_get(ci, "ssh_authorized_keys");
        const json_t *add = json_object_get(sec, "cap_add");
        const json_t *drop = json_object_get(sec, "cap_drop");
        int r;

        /* user_data may be null: that is how the canonical form says "none" */
        if (ud && !json_is_string(ud) && !json_is_null(ud))
                return hd_codec_fail(err, "cloud_init.user_data", "must be a string or null");
        if ((r = hd_codec_check_type(keys, JT_ARRAY, "cloud_init.ssh_authorized_keys", err)) < 0 ||
            (r = check_member_types(keys, JT_STRING, "cloud_init.ssh_authorized_keys", err)) < 0)
                return r;

        if ((r = hd_codec_check_type(json_object_get(sec, "privileged"), JT_BOOLEAN,
                                     "security.privileged", err)) < 0 ||
            (r = hd_codec_check_type(add, JT_ARRAY, "security.cap_add", err)) < 0 ||
            (r = check_member_types(add, JT_STRING, "security.cap_add", err)) < 0 ||
            (r = hd_codec_check_type(drop, JT_ARRAY, "security.cap_drop", err)) < 0 ||
            (r = check_member_types(drop, JT_STRING, "security.cap_drop", err)) < 0 ||
            (r = hd_codec_check_type(json_object_get(sec, "seccomp"), JT_STRING, "security.seccomp",
                                     err)) < 0 ||
            (r = hd_codec_check_type(json_object_get(sec, "userns"), JT_BOOLEAN, "security.userns",
                                     err)) < 0)
                return r;
        return 0;
}

static int spec_check_shape(const json_t *j, HdError **err)
{
        const json_t *res = json_object_get(j, "resources");
        const json_t *rp = json_object_get(j, "restart_policy");
        const json_t *ci = json_object_get(j, "cloud_init");
        const json_t *sec = json_object_get(j, "security");
        const json_t *ports = json_object_get(j, "ports");
        int r;

        /* 1. unknown fields, at every level we can see */
        r = hd_codec_check_unknown(j, NULL, spec_fields, err);
        if (r < 0)
                return r;
        if (json_is_array(ports) && (r = hd_codec_ports_check_unknown(ports, err)) < 0)
                return r;
        if (json_is_object(res) &&
            (r = hd_codec_check_unknown(res, "resources", resources_fields, err)) < 0)
                return r;
        if (json_is_object(rp) &&
            (r = hd_codec_check_unknown(rp, "restart_policy", restart_fields, err)) < 0)
                return r;
        if (json_is_object(ci) &&
            (r = hd_codec_check_unknown(ci, "cloud_init", cloud_init_fields, err)) < 0)
                return r;
        if (json_is_object(sec) &&
            (r = hd_codec_check_unknown(sec, "security", security_fields, err)) < 0)
                return r;

        /* 2. types */
        static const struct {
                const char *name;
                JType type;
        } top[] = {
                { "name", JT_STRING },
                { "kind", JT_STRING },
                { "image", JT_STRING },
                { "command", JT_ARRAY },
                { "env", JT_OBJECT },
                { "workdir", JT_STRING },
                { "user", JT_STRING },
                { "hostname", JT_STRING },
                { "labels", JT_OBJECT },
                { "resources", JT_OBJECT },
                { "restart_policy", JT_OBJECT },
                { "autostart", JT_BOOLEAN },
                { "network", JT_STRING },
                { "ip", JT_STRING },
                { "ports", JT_ARRAY },
                { "cloud_init", JT_OBJECT },
                { "security", JT_OBJECT },
        };
        for (size_t i = 0; i < HD_ARRAY_SIZE(top); i++)
                if ((r = hd_codec_check_type(json_object_get(j, top[i].name), top[i].type,
                                             top[i].name, err)) < 0)
                        return r;
        if ((r = check_member_types(json_object_get(j, "command"), JT_STRING, "command", err)) <
                    0 ||
            (r = check_member_types(json_object_get(j, "env"), JT_STRING, "env", err)) < 0 ||
            (r = check_member_types(json_object_get(j, "labels"), JT_STRING, "labels", err)) < 0)
                return r;
        if ((r = hd_codec_check_type(json_object_get(res, "vcpus"), JT_NUMBER, "resources.vcpus",
                                     err)) < 0 ||
            (r = hd_codec_check_type(json_object_get(res, "memory_mb"), JT_INTEGER,
                                     "resources.memory_mb", err)) < 0 ||
            (r = hd_codec_check_type(json_object_get(res, "pids_max"), JT_INTEGER,
                                     "resources.pids_max", err)) < 0 ||
            (r = hd_codec_check_type(json_object_get(res, "disk_gb"), JT_INTEGER,
                                     "resources.disk_gb", err)) < 0 ||
            (r = hd_codec_check_type(json_object_get(res, "cpuset"), JT_STRING, "resources.cpuset",
                                     err)) < 0 ||
            (r = hd_codec_check_type(json_object_get(rp, "name"), JT_STRING, "restart_policy.name",
                                     err)) < 0 ||
            (r = hd_codec_check_type(json_object_get(rp, "max_retries"), JT_INTEGER,
                                     "restart_policy.max_retries", err)) < 0)
                return r;
        r = check_nested_types(ci, sec, err);
        if (r < 0)
                return r;
        r = hd_codec_ports_check_types(ports, err);
        if (r < 0)
                return r;

        /* 3. required */
        static const char *const required[] = { "name", "kind", "image" };
        for (size_t i = 0; i < HD_ARRAY_SIZE(required); i++)
                if (!json_object_get(j, required[i]))
                        return hd_codec_fail(err, required[i], "is required");
        if (rp && !json_object_get(rp, "name"))
                return hd_codec_fail(err, "restart_policy.name", "is required");
        return hd_codec_ports_check_required(ports, err);
}

/* ---- instance spec: from JSON --------------------------------------------- */

int hd_codec_instance_spec_from_json(const json_t *j, HdInstanceSpec *ret, HdError **err)
{
        HdInstanceSpec s = { 0 };
        const json_t *v;
        int r;

        *ret = (HdInstanceSpec){ 0 };
        if (!json_is_object(j))
                return hd_error_set(err, -EINVAL, "request body must be a JSON object");

        r = spec_check_shape(j, err);
        if (r < 0)
                return r;

        /* 4. values */
        const char *name = json_string_value(json_object_get(j, "name"));
        r = check_name(name, err);
        if (r < 0)
                return r;

        const char *kind = json_string_value(json_object_get(j, "kind"));
        s.kind = hd_kind_from_string(kind);
        if (s.kind == HD_KIND_INVALID)
                return hd_codec_fail(err, "kind", "`%.*s` is not a kind: use `container` or `vm`",
                                     HD_CODEC_Q(kind));

        r = check_kind_fields(j, s.kind, err);
        if (r < 0)
                return r;

        const char *image = json_string_value(json_object_get(j, "image"));
        r = check_image(image, err);
        if (r < 0)
                return r;

        if (!(s.name = strdup(name)) || !(s.image = strdup(image)))
                goto oom;

        if ((v = json_object_get(j, "command")) &&
            (r = hd_codec_parse_command(v, &s.command, err)) < 0)
                goto fail;
        if ((v = json_object_get(j, "env")) && (r = hd_codec_parse_env(v, &s.env, err)) < 0)
                goto fail;

        if ((v = json_object_get(j, "workdir"))) {
                const char *w = json_string_value(v);
                if (w[0] != '/') {
                        r = hd_codec_fail(err, "workdir", "`%.*s` is not an absolute path",
                                          HD_CODEC_Q(w));
                        goto fail;
                }
                if (json_string_length(v) > HD_MAX_STRING || has_control(w)) {
                        r = hd_codec_fail(err, "workdir",
                                          "must be at most %d bytes without control characters",
                                          HD_MAX_STRING);
                        goto fail;
                }
                if (!(s.workdir = strdup(w)))
                        goto oom;
        }

        if ((v = json_object_get(j, "user"))) {
                const char *u = json_string_value(v);
                if (!hd_codec_user_is_valid(u)) {
                        r = hd_codec_fail(
                                err, "user",
                                "`%.*s` is not a valid user: use a name or uid, optionally "
                                "followed by `:group`",
                                HD_CODEC_Q(u));
                        goto fail;
                }
                if (!(s.user = strdup(u)))
                        goto oom;
        }

        const char *hostname = json_string_value(json_object_get(j, "hostname"));
        if (hostname && !is_rfc1123_label(hostname)) {
                r = hd_codec_fail(
                        err, "hostname",
                        "`%.*s` is not a valid hostname: use up to 63 letters, digits and `-`, "
                        "starting and ending with a letter or digit",
                        HD_CODEC_Q(hostname));
                goto fail;
        }
        if (!(s.hostname = strdup(hostname ? hostname : name)))
                goto oom;

        r = hd_codec_parse_spec_network(j, &s, err);
        if (r < 0)
                goto fail;

        if ((v = json_object_get(j, "labels")) && (r = parse_labels(v, &s.labels, err)) < 0)
                goto fail;

        r = parse_resources(json_object_get(j, "resources"), s.kind, &s.resources, err);
        if (r < 0)
                goto fail;

        r = parse_restart_policy(json_object_get(j, "restart_policy"), &s.restart_policy,
                                 &s.restart_max_retries, err);
        if (r < 0)
                goto fail;

        s.autostart = json_is_true(json_object_get(j, "autostart"));

        if ((v = json_object_get(j, "cloud_init")) &&
            (r = parse_cloud_init(v, &s.cloud_init, err)) < 0)
                goto fail;
        if ((v = json_object_get(j, "security")) && (r = parse_security(v, &s.security, err)) < 0)
                goto fail;

        *ret = s;
        return 0;

oom:
        r = hd_error_set(err, -ENOMEM, "out of memory");
fail:
        hd_instance_spec_clear(&s);
        return r;
}
