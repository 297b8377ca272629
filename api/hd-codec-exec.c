/* The codec of the instance I/O endpoints: exec's request and answer, and stats. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hd-codec-internal.h"
#include "hd-codec.h"
#include "hd-util.h"

#define EXEC_TIMEOUT_DEFAULT 60
#define EXEC_TIMEOUT_MAX     3600
#define EXEC_STDIN_MAX       (16U << 20)

static bool has_control(const char *s)
{
        for (; *s; s++)
                if ((unsigned char)*s < 0x20 || *s == 0x7f)
                        return true;
        return false;
}

static int parse_stdin(const json_t *j, HdExecRequest *r, HdError **err)
{
        const json_t *in = json_object_get(j, "stdin");
        const json_t *enc = json_object_get(j, "stdin_encoding");
        int rc = hd_codec_check_type(in, JT_STRING, "stdin", err);
        if (rc >= 0)
                rc = hd_codec_check_type(enc, JT_STRING, "stdin_encoding", err);
        if (rc < 0)
                return rc;
        const char *e = enc ? json_string_value(enc) : "utf-8";
        if (strcmp(e, "utf-8") != 0 && strcmp(e, "base64") != 0)
                return hd_codec_fail(err, "stdin_encoding",
                                     "must be `utf-8` or `base64`, not `%.*s`", HD_CODEC_Q(e));
        if (!in)
                return 0;
        size_t len = json_string_length(in);
        if (len > EXEC_STDIN_MAX * 4 / 3 + 4)
                return hd_codec_fail(err, "stdin", "must be at most %u bytes", EXEC_STDIN_MAX);
        if (strcmp(e, "base64") == 0) {
                rc = hd_base64_decode(json_string_value(in), len, &r->stdin_data, &r->stdin_len);
                if (rc == -EINVAL)
                        return hd_codec_fail(err, "stdin", "is not valid base64");
                if (rc < 0)
                        return hd_error_set(err, rc, "out of memory");
        } else {
                if (!(r->stdin_data = malloc(len + 1)))
                        return hd_error_set(err, -ENOMEM, "out of memory");
                memcpy(r->stdin_data, json_string_value(in), len + 1);
                r->stdin_len = len;
        }
        if (r->stdin_len > EXEC_STDIN_MAX)
                return hd_codec_fail(err, "stdin", "must be at most %u bytes", EXEC_STDIN_MAX);
        return 0;
}

static int check_command_shape(const json_t *cmd, HdError **err)
{
        if (!cmd)
                return hd_codec_fail(err, "command", "is required");
        int r = hd_codec_check_type(cmd, JT_ARRAY, "command", err);
        if (r < 0)
                return r;
        if (json_array_size(cmd) == 0)
                return hd_codec_fail(err, "command", "must not be empty");
        size_t i;
        json_t *v;
        json_array_foreach (cmd, i, v) {
                char f[32];
                snprintf(f, sizeof(f), "command[%zu]", i);
                if ((r = hd_codec_check_type(v, JT_STRING, f, err)) < 0)
                        return r;
        }
        return 0;
}

static int check_env_shape(const json_t *env, HdError **err)
{
        int r = hd_codec_check_type(env, JT_OBJECT, "env", err);
        const char *key;
        json_t *v;
        json_object_foreach ((json_t *)env, key, v) {
                if (r < 0)
                        break;
                _cleanup_free_ char *f = hd_codec_field_join("env", key);
                r = f ? hd_codec_check_type(v, JT_STRING, f, err)
                      : hd_error_set(err, -ENOMEM, "out of memory");
        }
        return r;
}

int hd_codec_exec_request_from_json(const json_t *j, HdExecRequest *ret, HdError **err)
{
        static const char *const fields[] = { "command", "env",     "workdir",        "user",
                                              "stdin",   "timeout", "stdin_encoding", NULL };
        _cleanup_(hd_exec_request_clear) HdExecRequest r = { .timeout_s = EXEC_TIMEOUT_DEFAULT };
        if (!json_is_object(j))
                return hd_codec_fail(err, "body", "must be a JSON object");
        int rc = hd_codec_check_unknown(j, NULL, fields, err);
        const json_t *cmd = json_object_get(j, "command"), *env = json_object_get(j, "env");
        if (rc >= 0)
                rc = check_command_shape(cmd, err);
        if (rc >= 0)
                rc = hd_codec_parse_command(cmd, &r.command, err);
        if (rc >= 0)
                rc = check_env_shape(env, err);
        if (rc >= 0 && env)
                rc = hd_codec_parse_env(env, &r.env, err);
        const json_t *wd = json_object_get(j, "workdir"), *user = json_object_get(j, "user");
        if (rc >= 0)
                rc = hd_codec_check_type(wd, JT_STRING, "workdir", err);
        if (rc >= 0 && wd && json_string_value(wd)[0] != '/')
                rc = hd_codec_fail(err, "workdir", "`%.*s` is not an absolute path",
                                   HD_CODEC_Q(json_string_value(wd)));
        if (rc >= 0 && wd && (json_string_length(wd) > 4096 || has_control(json_string_value(wd))))
                rc = hd_codec_fail(err, "workdir",
                                   "must be at most 4096 bytes without control characters");
        if (rc >= 0)
                rc = hd_codec_check_type(user, JT_STRING, "user", err);
        if (rc >= 0 && user && !hd_codec_user_is_valid(json_string_value(user)))
                rc = hd_codec_fail(err, "user", "`%.*s` is not uid[:gid] or name[:group]",
                                   HD_CODEC_Q(json_string_value(user)));
        const json_t *t = json_object_get(j, "timeout");
        if (rc >= 0)
                rc = hd_codec_check_type(t, JT_INTEGER, "timeout", err);
        if (rc >= 0 && t)
                rc = hd_codec_check_int_range(t, 1, EXEC_TIMEOUT_MAX, "timeout", " seconds", err);
        if (rc >= 0 && t)
                r.timeout_s = (int)json_integer_value(t);
        if (rc >= 0)
                rc = parse_stdin(j, &r, err);
        if (rc >= 0 && ((wd && !(r.workdir = strdup(json_string_value(wd)))) ||
                        (user && !(r.user = strdup(json_string_value(user))))))
                rc = hd_error_set(err, -ENOMEM, "out of memory");
        if (rc < 0)
                return rc;
        *ret = r;
        r = (HdExecRequest){ 0 };
        return 0;
}

/* Both outputs as text when both are UTF-8 (jansson checks), else both in base64. */
json_t *hd_codec_exec_result_to_json(const HdExecResult *r)
{
        _cleanup_json_ json_t *o = json_object();
        /* A NUL is valid UTF-8, but many JSON readers (jansson among them) refuse
         * \u0000 by default: such output goes as base64 too. */
        bool nul = (r->out && memchr(r->out, 0, r->out_len)) ||
                   (r->err && memchr(r->err, 0, r->err_len));
        json_t *out = nul ? NULL : json_stringn(r->out ? r->out : "", r->out_len);
        json_t *err = nul ? NULL : json_stringn(r->err ? r->err : "", r->err_len);
        bool base64 = !out || !err;
        if (base64) {
                json_decref(out);
                json_decref(err);
                _cleanup_free_ char *b1 = hd_base64_encode(r->out ? r->out : "", r->out_len);
                _cleanup_free_ char *b2 = hd_base64_encode(r->err ? r->err : "", r->err_len);
                out = b1 ? json_string(b1) : NULL;
                err = b2 ? json_string(b2) : NULL;
        }
        bool ok = hd_codec_add(o, "exit_code", json_integer(r->exit_code)) &&
                  hd_codec_add(o, "stdout", out) && hd_codec_add(o, "stderr", err) &&
                  hd_codec_add(o, "encoding", json_string(base64 ? "base64" : "utf-8")) &&
                  hd_codec_add(o, "truncated", json_boolean(r->truncated)) &&
                  hd_codec_add(o, "timed_out", json_boolean(r->timed_out));
        return ok ? TAKE_PTR(o) : NULL;
}

static json_t *uint_json(uint64_t v)
{
        return json_integer(v > (uint64_t)INT64_MAX ? INT64_MAX : (json_int_t)v);
}

json_t *hd_codec_stats_to_json(const HdStats *s)
{
        char time[32];
        hd_time_format(s->time_ms, time);
        json_t *o =
                json_pack("{s:s, s:{s:o, s:o, s:o, s:o, s:o}, s:{s:o, s:o, s:o, s:o},"
                          " s:{s:o, s:o}, s:{s:o, s:o}}",
                          "time", time, "cpu", "usage_ns", uint_json(s->cpu_usage_ns), "user_ns",
                          uint_json(s->cpu_user_ns), "system_ns", uint_json(s->cpu_system_ns),
                          "throttled_periods", uint_json(s->cpu_throttled_periods), "throttled_ns",
                          uint_json(s->cpu_throttled_ns), "memory", "usage_bytes",
                          uint_json(s->memory_bytes), "peak_bytes", uint_json(s->memory_peak_bytes),
                          "limit_bytes", uint_json(s->memory_limit_bytes), "oom_kills",
                          uint_json(s->oom_kills), "pids", "current", uint_json(s->pids_current),
                          "limit", uint_json(s->pids_limit), "io", "read_bytes",
                          uint_json(s->io_read_bytes), "write_bytes", uint_json(s->io_write_bytes));
        if (!o)
                return NULL;
        /* host: what the instance costs the host besides its own figures: a VM's qemu
         * (CPU, RSS, PSS), a container's monitor (PSS alone). */
        json_t *host = NULL;
        if (s->has_host)
                host = json_pack("{s:o, s:o, s:o, s:o, s:o}", "cpu_ns", uint_json(s->host_cpu_ns),
                                 "user_ns", uint_json(s->host_user_ns), "system_ns",
                                 uint_json(s->host_system_ns), "rss_bytes",
                                 uint_json(s->host_rss_bytes), "rss_peak_bytes",
                                 uint_json(s->host_rss_peak_bytes));
        else if (s->has_pss)
                host = json_object();
        bool ok = host || !(s->has_host || s->has_pss);
        if (ok && host && s->has_pss)
                ok = json_object_set_new(host, "pss_bytes", uint_json(s->host_pss_bytes)) == 0;
        if (ok && host)
                ok = json_object_set_new(o, "host", TAKE_PTR(host)) == 0;
        if (!ok) {
                json_decref(host);
                json_decref(o);
                return NULL;
        }
        return o;
}
