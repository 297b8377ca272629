/* The codec's PATCH bodies and action arguments: untrusted JSON → validated
 * structs, with the same rules and error order as hd-codec.c. */
#include "hd-codec.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "hd-codec-internal.h"
#include "hd-util.h"

/* ---- PATCH ---------------------------------------------------------------- */

void hd_instance_patch_clear(HdInstancePatch *p)
{
        if (!p)
                return;
        hd_kvlist_clear(&p->set_labels);
        hd_strv_clear(&p->remove_labels);
        *p = (HdInstancePatch){ 0 };
}

int hd_codec_instance_patch_from_json(const json_t *j, HdInstancePatch *ret, HdError **err)
{
        static const char *const fields[] = { "labels", NULL };
        _cleanup_(hd_instance_patch_clear) HdInstancePatch p = { 0 };
        int r;

        *ret = (HdInstancePatch){ 0 };
        if (!json_is_object(j))
                return hd_error_set(err, -EINVAL, "request body must be a JSON object");
        r = hd_codec_check_unknown(j, NULL, fields, err);
        if (r < 0)
                return r;

        const json_t *labels = json_object_get(j, "labels");
        r = hd_codec_check_type(labels, JT_OBJECT, "labels", err);
        if (r < 0)
                return r;
        if (!labels) {
                *ret = p;
                p = (HdInstancePatch){ 0 };
                return 0;
        }

        const char *key;
        json_t *v;
        json_object_foreach ((json_t *)labels, key, v) {
                if (json_is_string(v) || json_is_null(v))
                        continue;
                _cleanup_free_ char *f = hd_codec_field_join("labels", key);
                return hd_codec_fail(err, f ? f : "labels", "must be a string or null");
        }

        p.has_labels = true;
        json_object_foreach ((json_t *)labels, key, v) {
                _cleanup_free_ char *f = hd_codec_field_join("labels", key);
                if (!f)
                        return hd_error_set(err, -ENOMEM, "out of memory");
                r = hd_codec_check_label_key(key, f, err);
                if (r < 0)
                        return r;
                if (json_is_null(v)) {
                        r = hd_strv_push(&p.remove_labels, key);
                } else {
                        r = hd_codec_check_label_value(json_string_value(v), f, err);
                        if (r < 0)
                                return r;
                        r = hd_kvlist_set(&p.set_labels, key, json_string_value(v));
                }
                if (r < 0)
                        return hd_error_set(err, -ENOMEM, "out of memory");
        }
        if (p.set_labels.n > HD_MAX_LABELS)
                return hd_codec_fail(err, "labels", "must have at most %d labels", HD_MAX_LABELS);

        *ret = p;
        p = (HdInstancePatch){ 0 };
        return 0;
}

int hd_codec_instance_patch_apply(const HdInstancePatch *p, HdInstanceSpec *spec, HdError **err)
{
        if (!p->has_labels)
                return 0;

        _cleanup_(hd_kvlist_clear) HdKVList labels = { 0 };
        if (hd_kvlist_copy(&labels, &spec->labels) < 0)
                return hd_error_set(err, -ENOMEM, "out of memory");
        for (size_t i = 0; i < p->remove_labels.n; i++)
                hd_kvlist_remove(&labels, p->remove_labels.items[i]);
        for (size_t i = 0; i < p->set_labels.n; i++)
                if (hd_kvlist_set(&labels, p->set_labels.items[i].key,
                                  p->set_labels.items[i].value) < 0)
                        return hd_error_set(err, -ENOMEM, "out of memory");
        if (labels.n > HD_MAX_LABELS)
                return hd_codec_fail(err, "labels",
                                     "must have at most %d labels (this change would leave %zu)",
                                     HD_MAX_LABELS, labels.n);

        hd_kvlist_clear(&spec->labels);
        spec->labels = labels;
        labels = (HdKVList){ 0 };
        return 0;
}

/* ---- action arguments ----------------------------------------------------- */

static const struct {
        const char *name;
        int number;
} signals[] = {
        { "HUP", SIGHUP },       { "INT", SIGINT },   { "QUIT", SIGQUIT },
        { "ILL", SIGILL },       { "TRAP", SIGTRAP }, { "ABRT", SIGABRT },
        { "BUS", SIGBUS },       { "FPE", SIGFPE },   { "KILL", SIGKILL },
        { "USR1", SIGUSR1 },     { "SEGV", SIGSEGV }, { "USR2", SIGUSR2 },
        { "PIPE", SIGPIPE },     { "ALRM", SIGALRM }, { "TERM", SIGTERM },
#ifdef SIGSTKFLT
        { "STKFLT", SIGSTKFLT },
#endif
        { "CHLD", SIGCHLD },     { "CONT", SIGCONT }, { "STOP", SIGSTOP },
        { "TSTP", SIGTSTP },     { "TTIN", SIGTTIN }, { "TTOU", SIGTTOU },
        { "URG", SIGURG },       { "XCPU", SIGXCPU }, { "XFSZ", SIGXFSZ },
        { "VTALRM", SIGVTALRM }, { "PROF", SIGPROF }, { "WINCH", SIGWINCH },
        { "IO", SIGIO },         { "PWR", SIGPWR },   { "SYS", SIGSYS },
};

static int signal_from_name(const char *s)
{
        if (hd_str_startswith(s, "SIG"))
                s += 3;
        for (size_t i = 0; i < HD_ARRAY_SIZE(signals); i++)
                if (strcmp(s, signals[i].name) == 0)
                        return signals[i].number;
        return -EINVAL;
}

int hd_codec_action_args_from_json(HdAction a, const json_t *j, char **ret_args, HdError **err)
{
        static const char *const none[] = { NULL };
        static const char *const timeout[] = { "timeout", NULL };
        static const char *const kill[] = { "signal", NULL };
        const char *const *fields;
        int r;

        switch (a) {
        case HD_ACTION_STOP:
        case HD_ACTION_RESTART:
                fields = timeout;
                break;
        case HD_ACTION_KILL:
                fields = kill;
                break;
        case HD_ACTION_START:
        case HD_ACTION_PAUSE:
        case HD_ACTION_RESUME:
        case HD_ACTION_DELETE:
                fields = none;
                break;
        default:
                return hd_error_set(err, -EINVAL, "unknown action");
        }

        if (j && !json_is_object(j))
                return hd_error_set(err, -EINVAL, "request body must be a JSON object");
        if (j && (r = hd_codec_check_unknown(j, NULL, fields, err)) < 0)
                return r;

        _cleanup_json_ json_t *args = json_object();
        if (!args)
                return hd_error_set(err, -ENOMEM, "out of memory");

        if (fields == timeout) {
                const json_t *v = json_object_get(j, "timeout");
                int64_t t = 10;
                if (v) {
                        if ((r = hd_codec_check_type(v, JT_INTEGER, "timeout", err)) < 0 ||
                            (r = hd_codec_check_int_range(v, 0, HD_MAX_STOP_TIMEOUT, "timeout", "",
                                                          err)) < 0)
                                return r;
                        t = json_integer_value(v);
                }
                if (!hd_codec_add(args, "timeout", json_integer(t)))
                        return hd_error_set(err, -ENOMEM, "out of memory");
        } else if (fields == kill) {
                const json_t *v = json_object_get(j, "signal");
                int sig = SIGKILL;
                if (json_is_integer(v)) {
                        if ((r = hd_codec_check_int_range(v, 1, 64, "signal", "", err)) < 0)
                                return r;
                        sig = (int)json_integer_value(v);
                } else if (json_is_string(v)) {
                        sig = signal_from_name(json_string_value(v));
                        if (sig < 0)
                                return hd_codec_fail(
                                        err, "signal",
                                        "`%.*s` is not a signal: use a name like `SIGTERM` "
                                        "or a number from 1 to 64",
                                        HD_CODEC_Q(json_string_value(v)));
                } else if (v)
                        return hd_codec_fail(err, "signal", "must be a string or an integer");
                if (!hd_codec_add(args, "signal", json_integer(sig)))
                        return hd_error_set(err, -ENOMEM, "out of memory");
        }

        char *text = json_dumps(args, JSON_COMPACT);
        if (!text)
                return hd_error_set(err, -ENOMEM, "out of memory");
        *ret_args = text;
        return 0;
}

/* ---- image pull requests ---------------------------------------------------------------- */

void hd_image_pull_request_clear(HdImagePullRequest *r)
{
        if (!r)
                return;
        free(r->ref);
        free(r->name);
        free(r->tag);
        if (r->password) {
                explicit_bzero(r->password, strlen(r->password));
                free(r->password);
        }
        free(r->username);
        *r = (HdImagePullRequest){ 0 };
}

static int pull_string(const json_t *j, const char *key, size_t max, char **ret, HdError **err)
{
        const json_t *v = json_object_get(j, key);
        int r = hd_codec_check_type(v, JT_STRING, key, err);
        if (r < 0 || !v)
                return r;
        const char *s = json_string_value(v);
        size_t len = strlen(s);
        if (len == 0 || len > max)
                return hd_codec_fail(err, key, "must be 1 to %zu characters", max);
        for (const char *p = s; *p; p++)
                if ((unsigned char)*p < 0x20 || *p == 0x7f)
                        return hd_codec_fail(err, key, "must not contain control characters");
        *ret = strdup(s);
        return *ret ? 0 : hd_codec_fail(err, key, "out of memory");
}

static int transfer_from_json(const json_t *j, bool push, HdImagePullRequest *ret, HdError **err)
{
        static const char *const pull_fields[] = { "ref",      "name",     "tag", "tls_verify",
                                                   "username", "password", NULL };
        static const char *const push_fields[] = { "ref", "tls_verify", "username", "password",
                                                   NULL };
        HdImagePullRequest r = { .tls_verify = true };
        int rc = hd_codec_check_unknown(j, NULL, push ? push_fields : pull_fields, err);
        if (rc >= 0)
                rc = pull_string(j, "ref", 1024, &r.ref, err);
        if (rc >= 0 && !r.ref)
                rc = hd_codec_fail(err, "ref", "is required");
        if (rc >= 0)
                rc = pull_string(j, "name", 255, &r.name, err);
        if (rc >= 0)
                rc = pull_string(j, "tag", 128, &r.tag, err);
        if (rc >= 0)
                rc = pull_string(j, "username", 255, &r.username, err);
        if (rc >= 0)
                rc = pull_string(j, "password", 4096, &r.password, err);
        const json_t *tv = json_object_get(j, "tls_verify");
        if (rc >= 0)
                rc = hd_codec_check_type(tv, JT_BOOLEAN, "tls_verify", err);
        if (rc >= 0 && tv)
                r.tls_verify = json_is_true(tv);
        if (rc >= 0 && !r.username != !r.password)
                rc = hd_codec_fail(err, r.username ? "password" : "username",
                                   "username and password go together");
        if (rc < 0) {
                hd_image_pull_request_clear(&r);
                return rc;
        }
        *ret = r;
        return 0;
}

int hd_codec_image_pull_from_json(const json_t *j, HdImagePullRequest *ret, HdError **err)
{
        return transfer_from_json(j, false, ret, err);
}

int hd_codec_image_push_from_json(const json_t *j, HdImagePullRequest *ret, HdError **err)
{
        return transfer_from_json(j, true, ret, err);
}

char *hd_codec_image_transfer_args(const HdImagePullRequest *r)
{
        _cleanup_json_ json_t *o =
                json_pack("{s:s, s:b}", "ref", r->ref, "tls_verify", r->tls_verify);
        if (!o || (r->name && json_object_set_new(o, "name", json_string(r->name)) < 0) ||
            (r->tag && json_object_set_new(o, "tag", json_string(r->tag)) < 0) ||
            (r->username && json_object_set_new(o, "username", json_string(r->username)) < 0))
                return NULL;
        return json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
}
