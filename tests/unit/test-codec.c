/* Tests for api/: the string tables, HdKVList/HdStrv, the struct helpers and the
 * codec (parsing, validation, canonical output, patches, actions). */
#include <check.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>

#include "hd-codec.h"
#include "hd-spec.h"

/* ---- helpers -------------------------------------------------------------- */

static json_t *parse_ok(const char *body)
{
        json_t *j = NULL;
        HdError *err = NULL;
        int r = hd_codec_parse_object(body, strlen(body), &j, &err);
        ck_assert_msg(r == 0, "parse failed for %s: %s", body, err ? err->message : "?");
        ck_assert_ptr_null(err);
        ck_assert_ptr_nonnull(j);
        return j;
}

/* Parses body and validates it as a spec, which must succeed. */
static void spec_ok(const char *body, HdInstanceSpec *ret)
{
        _cleanup_json_ json_t *j = parse_ok(body);
        _cleanup_error_ HdError *err = NULL;
        int r = hd_codec_instance_spec_from_json(j, ret, &err);
        ck_assert_msg(r == 0, "spec rejected: %s: %s (field %s)", body, err ? err->message : "?",
                      err && err->field ? err->field : "-");
        ck_assert_ptr_null(err);
}

/* Validation must fail with -EINVAL on exactly field, with msg in the message. */
static void spec_bad(const char *body, const char *field, const char *msg)
{
        _cleanup_json_ json_t *j = parse_ok(body);
        _cleanup_error_ HdError *err = NULL;
        HdInstanceSpec s;
        memset(&s, 0xaa, sizeof(s));
        int r = hd_codec_instance_spec_from_json(j, &s, &err);
        ck_assert_msg(r == -EINVAL, "expected -EINVAL for %s, got %d", body, r);
        ck_assert_ptr_nonnull(err);
        ck_assert_int_eq(err->code, -EINVAL);
        ck_assert_ptr_nonnull(err->field);
        ck_assert_msg(strcmp(err->field, field) == 0, "%s: field `%s`, expected `%s` (%s)", body,
                      err->field, field, err->message);
        if (msg)
                ck_assert_msg(strstr(err->message, msg), "%s: message `%s` lacks `%s`", body,
                              err->message, msg);
        /* On failure ret is left empty, so clearing it is harmless. */
        ck_assert_ptr_null(s.name);
        hd_instance_spec_clear(&s);
}

static char *dumps(const json_t *j)
{
        char *s = json_dumps(j, JSON_COMPACT);
        ck_assert_ptr_nonnull(s);
        return s;
}

/* A string of n copies of c. */
static char *repeat(char c, size_t n)
{
        char *s = malloc(n + 1);
        ck_assert_ptr_nonnull(s);
        memset(s, c, n);
        s[n] = '\0';
        return s;
}

static char *fmt(const char *f, ...) HD_PRINTF(1, 2);
static char *fmt(const char *f, ...)
{
        char *s = NULL;
        va_list ap;
        va_start(ap, f);
        int r = vasprintf(&s, f, ap);
        va_end(ap);
        ck_assert_int_ge(r, 0);
        return s;
}

#define CT(extra) "{\"name\":\"web-1\",\"kind\":\"container\",\"image\":\"busybox\"" extra "}"
#define VM(extra) "{\"name\":\"vm-1\",\"kind\":\"vm\",\"image\":\"debian\"" extra "}"

/* Real public keys (ssh-keygen), for cloud_init.ssh_authorized_keys. */
#define KEY_ED                                                                              \
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEKS1SDwRX9AnxfelTz63o37WaeVsttzTSScap0soY2U " \
        "alice@example"
#define KEY_ED_BLOB "AAAAC3NzaC1lZDI1NTE5AAAAIEKS1SDwRX9AnxfelTz63o37WaeVsttzTSScap0soY2U"
#define KEY_EC                                                                                     \
        "ecdsa-sha2-nistp256 "                                                                     \
        "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBL0oDu0S/5gRp2MRupog6ljmMLL27qZIbkjL" \
        "FulK6SNWWPKJ1J2ybk2laQxZboF/8oxE/Nv6Uxx5/kNBkScs5oI= bob"

/* ---- string tables -------------------------------------------------------- */

START_TEST(test_string_tables)
{
        for (int k = 0; k < HD_KIND__COUNT; k++)
                ck_assert_int_eq(hd_kind_from_string(hd_kind_to_string(k)), k);
        for (int s = 0; s < HD_STATE__COUNT; s++)
                ck_assert_int_eq(hd_state_from_string(hd_state_to_string(s)), s);
        for (int p = 0; p < HD_RESTART__COUNT; p++)
                ck_assert_int_eq(hd_restart_policy_from_string(hd_restart_policy_to_string(p)), p);
        for (int a = 0; a < HD_ACTION__COUNT; a++)
                ck_assert_int_eq(hd_action_from_string(hd_action_to_string(a)), a);
        for (int s = 0; s < HD_OP__COUNT; s++)
                ck_assert_int_eq(hd_op_status_from_string(hd_op_status_to_string(s)), s);

        ck_assert_str_eq(hd_kind_to_string(HD_KIND_VM), "vm");
        ck_assert_str_eq(hd_state_to_string(HD_STATE_DELETING), "deleting");
        ck_assert_str_eq(hd_restart_policy_to_string(HD_RESTART_ON_FAILURE), "on-failure");
        ck_assert_str_eq(hd_action_to_string(HD_ACTION_KILL), "kill");
        ck_assert_str_eq(hd_op_status_to_string(HD_OP_CANCELLED), "cancelled");

        ck_assert_ptr_null(hd_kind_to_string(HD_KIND_INVALID));
        ck_assert_ptr_null(hd_state_to_string(HD_STATE__COUNT));
        ck_assert_int_eq(hd_kind_from_string("VM"), HD_KIND_INVALID);
        ck_assert_int_eq(hd_kind_from_string(NULL), HD_KIND_INVALID);
        ck_assert_int_eq(hd_state_from_string(""), HD_STATE_INVALID);
        ck_assert_int_eq(hd_restart_policy_from_string("on_failure"), HD_RESTART_INVALID);
        ck_assert_int_eq(hd_action_from_string("exec"), HD_ACTION_INVALID);
        ck_assert_int_eq(hd_op_status_from_string("done"), HD_OP_INVALID);

        ck_assert(!hd_op_status_is_final(HD_OP_PENDING));
        ck_assert(!hd_op_status_is_final(HD_OP_RUNNING));
        ck_assert(hd_op_status_is_final(HD_OP_SUCCESS));
        ck_assert(hd_op_status_is_final(HD_OP_FAILURE));
        ck_assert(hd_op_status_is_final(HD_OP_CANCELLED));
}
END_TEST

/* ---- HdKVList, HdStrv, copies ----------------------------------------------- */

START_TEST(test_kvlist)
{
        _cleanup_(hd_kvlist_clear) HdKVList l = { 0 };
        const char *keys[] = { "m", "c", "x", "a", "q", "b" };
        for (size_t i = 0; i < HD_ARRAY_SIZE(keys); i++)
                ck_assert_int_eq(hd_kvlist_set(&l, keys[i], keys[i]), 0);
        ck_assert_uint_eq(l.n, 6);
        for (size_t i = 1; i < l.n; i++)
                ck_assert_int_lt(strcmp(l.items[i - 1].key, l.items[i].key), 0);

        ck_assert_int_eq(hd_kvlist_set(&l, "c", "new"), 0);
        ck_assert_uint_eq(l.n, 6);
        ck_assert_str_eq(hd_kvlist_get(&l, "c"), "new");
        ck_assert_str_eq(hd_kvlist_get(&l, "a"), "a");
        ck_assert_str_eq(hd_kvlist_get(&l, "x"), "x");
        ck_assert_ptr_null(hd_kvlist_get(&l, "zz"));
        ck_assert_ptr_null(hd_kvlist_get(NULL, "a"));

        ck_assert_int_eq(hd_kvlist_remove(&l, "m"), 1);
        ck_assert_int_eq(hd_kvlist_remove(&l, "m"), 0);
        ck_assert_int_eq(hd_kvlist_remove(&l, "nope"), 0);
        ck_assert_uint_eq(l.n, 5);
        ck_assert_ptr_null(hd_kvlist_get(&l, "m"));
        ck_assert_str_eq(l.items[0].key, "a");
        ck_assert_str_eq(l.items[4].key, "x");

        ck_assert_int_eq(hd_kvlist_set(&l, NULL, "v"), -EINVAL);
        ck_assert_int_eq(hd_kvlist_set(&l, "k", NULL), -EINVAL);

        _cleanup_(hd_kvlist_clear) HdKVList c;
        ck_assert_int_eq(hd_kvlist_copy(&c, &l), 0);
        ck_assert_uint_eq(c.n, l.n);
        for (size_t i = 0; i < l.n; i++) {
                ck_assert_str_eq(c.items[i].key, l.items[i].key);
                ck_assert_str_eq(c.items[i].value, l.items[i].value);
                ck_assert_ptr_ne(c.items[i].key, l.items[i].key);
        }

        /* removing everything leaves a valid empty list */
        while (l.n)
                ck_assert_int_eq(hd_kvlist_remove(&l, l.items[0].key), 1);
        ck_assert_ptr_null(l.items);
        HdKVList e;
        ck_assert_int_eq(hd_kvlist_copy(&e, &l), 0);
        ck_assert_uint_eq(e.n, 0);
        hd_kvlist_clear(&e);
        hd_kvlist_clear(NULL);
}
END_TEST

START_TEST(test_strv)
{
        _cleanup_(hd_strv_clear) HdStrv v = { 0 };
        ck_assert_int_eq(hd_strv_push(&v, "a"), 0);
        ck_assert_int_eq(hd_strv_push(&v, ""), 0);
        ck_assert_int_eq(hd_strv_push(&v, "c"), 0);
        ck_assert_int_eq(hd_strv_push(&v, NULL), -EINVAL);
        ck_assert_uint_eq(v.n, 3);
        ck_assert_str_eq(v.items[1], "");

        _cleanup_(hd_strv_clear) HdStrv c;
        ck_assert_int_eq(hd_strv_copy(&c, &v), 0);
        ck_assert_uint_eq(c.n, 3);
        ck_assert_str_eq(c.items[2], "c");
        ck_assert_ptr_ne(c.items[0], v.items[0]);
        hd_strv_clear(NULL);
}
END_TEST

START_TEST(test_struct_copy_clear)
{
        HdInstance *i = calloc(1, sizeof(*i));
        ck_assert_ptr_nonnull(i);
        spec_ok(CT(",\"command\":[\"sh\"],\"env\":{\"A\":\"1\"},\"workdir\":\"/w\","
                   "\"labels\":{\"t\":\"v\"}"),
                &i->spec);
        strcpy(i->uuid, "11111111-2222-4333-8444-555555555555");
        i->reason = strdup("oom");
        i->placement.host = strdup("local");
        i->placement.reason = strdup("admitted");
        i->revision = 7;

        HdInstance c;
        ck_assert_int_eq(hd_instance_copy(&c, i), 0);
        ck_assert_str_eq(c.uuid, i->uuid);
        ck_assert_str_eq(c.spec.name, "web-1");
        ck_assert_ptr_ne(c.spec.name, i->spec.name);
        ck_assert_str_eq(c.spec.command.items[0], "sh");
        ck_assert_str_eq(hd_kvlist_get(&c.spec.env, "A"), "1");
        ck_assert_str_eq(c.spec.workdir, "/w");
        ck_assert_ptr_null(c.spec.user);
        ck_assert_str_eq(c.reason, "oom");
        ck_assert_ptr_null(c.error);
        ck_assert_str_eq(c.placement.host, "local");
        ck_assert_ptr_null(c.placement.driver);
        ck_assert_int_eq(c.revision, 7);

        _cleanup_json_ json_t *a = hd_codec_instance_to_json(i);
        _cleanup_json_ json_t *b = hd_codec_instance_to_json(&c);
        ck_assert(json_equal(a, b));

        hd_instance_clear(&c);
        ck_assert_ptr_null(c.spec.name);
        hd_instance_clear(&c); /* twice is fine */
        hd_instance_free(i);
        hd_instance_free(NULL);

        HdOperation *o = calloc(1, sizeof(*o));
        o->instance_name = strdup("x");
        o->args_json = strdup("{}");
        o->error_code = strdup("internal");
        HdEvent *e = calloc(1, sizeof(*e));
        e->type = strdup("instance.created");
        e->data_json = strdup("{}");
        HdOperation **ops = calloc(2, sizeof(*ops));
        ops[0] = o;
        hd_operation_array_free(ops, 2);
        HdEvent **evs = calloc(1, sizeof(*evs));
        evs[0] = e;
        hd_event_array_free(evs, 1);
        HdInstance **insts = calloc(3, sizeof(*insts));
        insts[1] = calloc(1, sizeof(HdInstance));
        hd_instance_array_free(insts, 3);
        hd_instance_array_free(NULL, 0);
        hd_operation_free(NULL);
        hd_event_free(NULL);
        hd_operation_clear(NULL);
        hd_event_clear(NULL);
        hd_placement_clear(NULL);
        hd_instance_spec_clear(NULL);
}
END_TEST

/* ---- hd_codec_parse_object ------------------------------------------------ */

static void parse_bad(const char *body, size_t len, int code, const char *field, const char *msg)
{
        json_t *j = NULL;
        _cleanup_error_ HdError *err = NULL;
        int r = hd_codec_parse_object(body, len, &j, &err);
        ck_assert_int_eq(r, code);
        ck_assert_ptr_null(j);
        ck_assert_ptr_nonnull(err);
        ck_assert_int_eq(err->code, code);
        if (field) {
                ck_assert_ptr_nonnull(err->field);
                ck_assert_str_eq(err->field, field);
        } else
                ck_assert_ptr_null(err->field);
        ck_assert_msg(strstr(err->message, msg), "message `%s` lacks `%s`", err->message, msg);
}

START_TEST(test_parse_object)
{
        _cleanup_json_ json_t *j = parse_ok("{\"a\": [1, 2, {\"b\": null}]}");
        ck_assert(json_is_object(j));

        parse_bad("{\"name\": }", 10, -EINVAL, NULL, "malformed JSON at line 1, column 10: ");
        parse_bad("{\n  \"a\": 1,\n  \"b\" 2}", 19, -EINVAL, NULL, "malformed JSON at line 3, ");
        parse_bad("", 0, -EINVAL, NULL, "malformed JSON at line ");
        parse_bad(NULL, 0, -EINVAL, NULL, "malformed JSON");
        parse_bad("{} {}", 5, -EINVAL, NULL, "malformed JSON");
        parse_bad("{\"a\":1", 6, -EINVAL, NULL, "malformed JSON");
        parse_bad("[1, 2]", 6, -EINVAL, NULL, "must be a JSON object");
        parse_bad("42", 2, -EINVAL, NULL, "malformed JSON");
        parse_bad("\"s\"", 3, -EINVAL, NULL, "malformed JSON");
        parse_bad("null", 4, -EINVAL, NULL, "malformed JSON");

        /* duplicate keys name the key, also nested ones */
        const char *dup = "{\"name\": \"a\", \"name\": \"b\"}";
        parse_bad(dup, strlen(dup), -EINVAL, "name", "duplicate key `name`");
        dup = "{\"resources\": {\"memory_mb\": 1, \"memory_mb\": 2}}";
        parse_bad(dup, strlen(dup), -EINVAL, "resources.memory_mb",
                  "duplicate key `resources.memory_mb`");
        dup = "{\"a\\u0062\": 1, \"ab\": 2}";
        parse_bad(dup, strlen(dup), -EINVAL, "ab", "duplicate key `ab`");
        /* the path runs through arrays, escaped quotes and long keys */
        dup = "{\"x\": [1, {\"q\\\"\": \"}\"}, {\"k\": 1, \"k\": 2}]}";
        parse_bad(dup, strlen(dup), -EINVAL, "x[2].k", "duplicate key `x[2].k`");
        dup = "{\"labels\": {\"a-very-long-label-key-name\": \"1\", "
              "\"a-very-long-label-key-name\": \"2\"}}";
        parse_bad(dup, strlen(dup), -EINVAL, "labels.a-very-long-label-key-name", "duplicate key");

        /* NUL: escaped or raw, it never gets into a string */
        const char *nul = "{\"name\": \"a\\u0000b\"}";
        parse_bad(nul, strlen(nul), -EINVAL, NULL, "malformed JSON");
        const char raw[] = "{\"name\": \"a\0b\"}";
        parse_bad(raw, sizeof(raw) - 1, -EINVAL, NULL, "malformed JSON");
        /* a body that stops at a NUL is not silently truncated */
        const char trail[] = "{}\0garbage";
        parse_bad(trail, sizeof(trail) - 1, -EINVAL, NULL, "malformed JSON");

        /* invalid UTF-8: rejected, and the message stays printable ASCII */
        const char *bad = "{\"a\": \"\xff\xfe\"}";
        json_t *none = NULL;
        _cleanup_error_ HdError *err = NULL;
        ck_assert_int_eq(hd_codec_parse_object(bad, strlen(bad), &none, &err), -EINVAL);
        for (const char *p = err->message; *p; p++)
                ck_assert((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f);

        /* too large: refused before parsing */
        _cleanup_free_ char *big = repeat(' ', HD_MAX_BODY_BYTES + 1);
        big[0] = '{';
        big[HD_MAX_BODY_BYTES] = '}';
        parse_bad(big, HD_MAX_BODY_BYTES + 1, -EFBIG, NULL, "larger than");
        big[HD_MAX_BODY_BYTES - 1] = '}';
        _cleanup_json_ json_t *fits = NULL;
        ck_assert_int_eq(hd_codec_parse_object(big, HD_MAX_BODY_BYTES, &fits, NULL), 0);
}
END_TEST

/* ---- spec: accepted input and defaults ------------------------------------ */

START_TEST(test_spec_defaults_container)
{
        HdInstanceSpec s;
        spec_ok(CT(""), &s);
        ck_assert_str_eq(s.name, "web-1");
        ck_assert_int_eq(s.kind, HD_KIND_CONTAINER);
        ck_assert_str_eq(s.image, "busybox");
        ck_assert_uint_eq(s.command.n, 0);
        ck_assert_uint_eq(s.env.n, 0);
        ck_assert_ptr_null(s.workdir);
        ck_assert_ptr_null(s.user);
        ck_assert_str_eq(s.hostname, "web-1");
        ck_assert_uint_eq(s.labels.n, 0);
        ck_assert_double_eq(s.resources.vcpus, HD_DEFAULT_VCPUS);
        ck_assert_int_eq(s.resources.memory_mb, HD_DEFAULT_MEMORY_MB);
        ck_assert_int_eq(s.resources.pids_max, HD_DEFAULT_PIDS_MAX);
        ck_assert_int_eq(s.resources.disk_gb, 0);
        ck_assert_int_eq(s.restart_policy, HD_RESTART_NO);
        ck_assert_int_eq(s.restart_max_retries, 0);
        ck_assert(!s.autostart);
        hd_instance_spec_clear(&s);
        ck_assert_ptr_null(s.name);
}
END_TEST

START_TEST(test_spec_defaults_vm)
{
        HdInstanceSpec s;
        spec_ok(VM(""), &s);
        ck_assert_int_eq(s.kind, HD_KIND_VM);
        ck_assert_str_eq(s.hostname, "vm-1");
        ck_assert_double_eq(s.resources.vcpus, 1.0);
        ck_assert_int_eq(s.resources.memory_mb, 256);
        ck_assert_int_eq(s.resources.pids_max, 0);
        ck_assert_int_eq(s.resources.disk_gb, 0);
        hd_instance_spec_clear(&s);

        spec_ok(VM(",\"resources\":{\"vcpus\":2,\"memory_mb\":64,\"disk_gb\":10},"
                   "\"hostname\":\"Guest-7\""),
                &s);
        ck_assert_double_eq(s.resources.vcpus, 2.0);
        ck_assert_int_eq(s.resources.memory_mb, 64);
        ck_assert_int_eq(s.resources.disk_gb, 10);
        ck_assert_str_eq(s.hostname, "Guest-7");
        hd_instance_spec_clear(&s);

        spec_ok(VM(",\"resources\":{\"vcpus\":4.0}"), &s);
        ck_assert_double_eq(s.resources.vcpus, 4.0);
        hd_instance_spec_clear(&s);
}
END_TEST

START_TEST(test_spec_full_container)
{
        HdInstanceSpec s;
        spec_ok("{\"name\":\"a\",\"kind\":\"container\","
                "\"image\":\"registry.example.com:5000/lib/busybox:1.36@sha256:abc\","
                "\"command\":[\"sh\",\"-c\",\"echo \\\"hi\\\"\\nexit 3\"],"
                "\"env\":{\"PATH\":\"/bin\",\"_X1\":\"tab\\there\",\"EMPTY\":\"\"},"
                "\"workdir\":\"/srv/app\",\"user\":\"1000:1000\",\"hostname\":\"box\","
                "\"labels\":{\"tier\":\"web\",\"app.kubernetes.io/name\":\"x\",\"e\":\"\"},"
                "\"resources\":{\"vcpus\":1.25,\"memory_mb\":16,\"pids_max\":4194304},"
                "\"restart_policy\":{\"name\":\"on-failure\",\"max_retries\":1000},"
                "\"autostart\":true}",
                &s);
        ck_assert_uint_eq(s.command.n, 3);
        ck_assert_str_eq(s.command.items[2], "echo \"hi\"\nexit 3");
        ck_assert_uint_eq(s.env.n, 3);
        ck_assert_str_eq(s.env.items[0].key, "EMPTY"); /* sorted */
        ck_assert_str_eq(hd_kvlist_get(&s.env, "_X1"), "tab\there");
        ck_assert_str_eq(s.workdir, "/srv/app");
        ck_assert_str_eq(s.user, "1000:1000");
        ck_assert_str_eq(s.hostname, "box");
        ck_assert_str_eq(hd_kvlist_get(&s.labels, "app.kubernetes.io/name"), "x");
        ck_assert_double_eq(s.resources.vcpus, 1.25);
        ck_assert_int_eq(s.resources.memory_mb, 16);
        ck_assert_int_eq(s.resources.pids_max, 4194304);
        ck_assert_int_eq(s.restart_policy, HD_RESTART_ON_FAILURE);
        ck_assert_int_eq(s.restart_max_retries, 1000);
        ck_assert(s.autostart);
        hd_instance_spec_clear(&s);
}
END_TEST

START_TEST(test_spec_accepts_edges)
{
        static const char *const ok[] = {
                CT(",\"resources\":{\"vcpus\":0.01}"),
                CT(",\"resources\":{\"vcpus\":512}"),
                CT(",\"resources\":{\"vcpus\":511.99}"),
                CT(",\"resources\":{\"vcpus\":0.07}"),
                CT(",\"resources\":{\"memory_mb\":16777216}"),
                CT(",\"resources\":{\"pids_max\":1}"),
                VM(",\"resources\":{\"vcpus\":512,\"disk_gb\":65536,\"memory_mb\":16777216}"),
                VM(",\"resources\":{\"disk_gb\":1}"),
                CT(",\"user\":\"root\""),
                CT(",\"user\":\"www-data:www-data\""),
                CT(",\"user\":\"4294967294\""),
                CT(",\"user\":\"_svc.x:0\""),
                CT(",\"workdir\":\"/\""),
                CT(",\"command\":[]"),
                CT(",\"command\":[\"sh\",\"\"]"),
                CT(",\"env\":{}"),
                CT(",\"env\":{\"A\":\"line1\\nline2\\u0001\"}"),
                CT(",\"labels\":{}"),
                CT(",\"hostname\":\"a\""),
                CT(",\"restart_policy\":{\"name\":\"always\"}"),
                CT(",\"restart_policy\":{\"name\":\"no\",\"max_retries\":0}"),
                CT(",\"restart_policy\":{\"name\":\"on-failure\",\"max_retries\":0}"),
                CT(",\"autostart\":false"),
                "{\"name\":\"0\",\"kind\":\"container\",\"image\":\"a\"}",
                "{\"image\":\"a\",\"kind\":\"vm\",\"name\":\"9-z\"}",
                /* 36 characters but not a UUID */
                "{\"name\":\"abcdefgh-abcd-abcd-abcd-abcdefghijkl\",\"kind\":\"vm\",\"image\":"
                "\"a\"}",
        };
        for (size_t i = 0; i < HD_ARRAY_SIZE(ok); i++) {
                HdInstanceSpec s;
                spec_ok(ok[i], &s);
                hd_instance_spec_clear(&s);
        }

        HdInstanceSpec s;
        spec_ok(CT(",\"resources\":{\"vcpus\":0.07}"), &s);
        ck_assert_double_eq(s.resources.vcpus, 0.07);
        hd_instance_spec_clear(&s);

        /* 63-character name, 63-character label key, 256-character value */
        _cleanup_free_ char *n63 = repeat('a', 63);
        _cleanup_free_ char *k63 = repeat('k', 63);
        _cleanup_free_ char *v256 = repeat('v', 256);
        _cleanup_free_ char *body = fmt("{\"name\":\"%s\",\"kind\":\"container\",\"image\":\"i\","
                                        "\"labels\":{\"%s\":\"%s\"}}",
                                        n63, k63, v256);
        spec_ok(body, &s);
        ck_assert_str_eq(s.hostname, n63);
        hd_instance_spec_clear(&s);

        /* 256 characters of two bytes each is within the limit */
        _cleanup_free_ char *wide = calloc(1, 2 * 256 + 1);
        for (int i = 0; i < 256; i++)
                memcpy(wide + 2 * i, "\xc3\xa9", 2);
        _cleanup_free_ char *wbody = fmt(CT(",\"labels\":{\"k\":\"%s\"}"), wide);
        spec_ok(wbody, &s);
        hd_instance_spec_clear(&s);
}
END_TEST

/* ---- spec: rejections ------------------------------------------------------- */

typedef struct BadCase {
        const char *body;
        const char *field;
        const char *msg;
} BadCase;

static const BadCase bad_cases[] = {
        /* networks: a name, `none` or (containers) `host` */
        { CT(",\"network\":\"Bridge\""), "network", "not a valid network name" },
        { CT(",\"network\":\"-net\""), "network", "not a valid network name" },
        { CT(",\"network\":\"net-\""), "network", "not a valid network name" },
        { CT(",\"network\":\"net_0\""), "network", "not a valid network name" },
        { CT(",\"network\":\"\""), "network", "must not be empty" },
        { CT(",\"network\":\"abcdefghijklmnop\""), "network", "at most 15 characters" },
        { CT(",\"network\":\"default\""), "network", "`default` is reserved" },
        { CT(",\"network\":\"all\""), "network", "`all` is reserved" },
        { CT(",\"network\":1"), "network", "must be a string" },
        { CT(",\"network\":null"), "network", "must be a string" },
        { VM(",\"network\":\"host\""), "network", "`host` is not supported for kind `vm`" },
        /* ip: dotted IPv4, strictly, and only on a network */
        { CT(",\"ip\":\"10.88.0.256\""), "ip", "not an IPv4 address" },
        { CT(",\"ip\":\"10.88.0.07\""), "ip", "not an IPv4 address" },
        { CT(",\"ip\":\"10.88.0\""), "ip", "not an IPv4 address" },
        { CT(",\"ip\":\" 10.88.0.7\""), "ip", "not an IPv4 address" },
        { CT(",\"ip\":\"10.88.0.7/24\""), "ip", "not an IPv4 address" },
        { CT(",\"ip\":\"\""), "ip", "not an IPv4 address" },
        { CT(",\"ip\":167772161"), "ip", "must be a string" },
        { CT(",\"network\":\"none\",\"ip\":\"10.88.0.7\""), "ip", "network `none`" },
        { CT(",\"network\":\"host\",\"ip\":\"10.88.0.7\""), "ip", "network `host`" },
        { VM(",\"network\":\"none\",\"ip\":\"10.88.0.7\""), "ip", "network `none`" },
        /* ports */
        { CT(",\"ports\":{}"), "ports", "must be an array" },
        { CT(",\"ports\":[8080]"), "ports[0]", "must be an object" },
        { CT(",\"ports\":[{\"host_port\":1,\"port\":1},null]"), "ports[1]", "must be an object" },
        { CT(",\"ports\":[{\"host_port\":1,\"port\":1},{\"hostPort\":1}]"), "ports[1].hostPort",
          "unknown field `hostPort`" },
        { CT(",\"ports\":[{\"host_port\":\"8080\",\"port\":80}]"), "ports[0].host_port",
          "must be an integer" },
        { CT(",\"ports\":[{\"host_port\":8080,\"port\":80.0}]"), "ports[0].port",
          "must be an integer" },
        { CT(",\"ports\":[{\"host_port\":8080,\"port\":80,\"protocol\":6}]"), "ports[0].protocol",
          "must be a string" },
        { CT(",\"ports\":[{\"port\":80}]"), "ports[0].host_port", "is required" },
        { CT(",\"ports\":[{\"host_port\":1,\"port\":1},{\"host_port\":80}]"), "ports[1].port",
          "is required" },
        { CT(",\"ports\":[{\"host_port\":0,\"port\":80}]"), "ports[0].host_port",
          "between 1 and 65535" },
        { CT(",\"ports\":[{\"host_port\":65536,\"port\":80}]"), "ports[0].host_port",
          "between 1 and 65535" },
        { CT(",\"ports\":[{\"host_port\":80,\"port\":0}]"), "ports[0].port",
          "between 1 and 65535" },
        { CT(",\"ports\":[{\"host_port\":80,\"port\":-1}]"), "ports[0].port",
          "between 1 and 65535" },
        { CT(",\"ports\":[{\"host_port\":1,\"port\":1},{\"host_port\":2,\"port\":2},"
             "{\"host_port\":80,\"port\":65536}]"),
          "ports[2].port", "between 1 and 65535" },
        { CT(",\"ports\":[{\"host_port\":80,\"port\":80,\"protocol\":\"sctp\"}]"),
          "ports[0].protocol", "`sctp` is not a protocol" },
        { CT(",\"ports\":[{\"host_port\":80,\"port\":80,\"protocol\":\"TCP\"}]"),
          "ports[0].protocol", "`TCP` is not a protocol" },
        { CT(",\"ports\":[{\"host_port\":8080,\"port\":80},"
             "{\"host_port\":8080,\"port\":81,\"protocol\":\"tcp\"}]"),
          "ports[1].host_port", "host port 8080/tcp is already forwarded by `ports[0]`" },
        { CT(",\"ports\":[{\"host_port\":53,\"port\":53,\"protocol\":\"udp\"},"
             "{\"host_port\":53,\"port\":53,\"protocol\":\"tcp\"},"
             "{\"host_port\":53,\"port\":5353,\"protocol\":\"udp\"}]"),
          "ports[2].host_port", "host port 53/udp is already forwarded by `ports[0]`" },
        { CT(",\"network\":\"none\",\"ports\":[{\"host_port\":80,\"port\":80}]"), "ports",
          "network `none`" },
        { CT(",\"network\":\"host\",\"ports\":[{\"host_port\":80,\"port\":80}]"), "ports",
          "network `host`" },
        { VM(",\"network\":\"none\",\"ports\":[{\"host_port\":22,\"port\":22}]"), "ports",
          "network `none`" },
        /* unknown (in ports too) beats wrong type beats missing beats bad value */
        { "{\"name\":5,\"ports\":[{\"x\":1}]}", "ports[0].x", "unknown field" },
        { "{\"name\":\"a\",\"kind\":\"vm\",\"image\":\"a\",\"network\":\"Bad\","
          "\"ports\":[{\"host_port\":\"x\"}]}",
          "ports[0].host_port", "must be an integer" },
        { "{\"name\":\"a\",\"kind\":\"vm\",\"network\":\"Bad\",\"ports\":[{}]}", "image",
          "is required" },
        { "{\"name\":\"a\",\"kind\":\"vm\",\"image\":\"a\",\"network\":\"Bad\","
          "\"ports\":[{}]}",
          "ports[0].host_port", "is required" },
        { CT(",\"network\":\"Bad\",\"ip\":\"x\",\"ports\":[{\"host_port\":0,\"port\":0}]"),
          "network", "not a valid network name" },
        { CT(",\"ip\":\"x\",\"ports\":[{\"host_port\":0,\"port\":0}]"), "ip",
          "not an IPv4 address" },
        /* unknown fields, top-level and nested */
        { CT(",\"foo\":1"), "foo", "unknown field `foo`" },
        { CT(",\"Name\":\"x\""), "Name", "unknown field `Name`" },
        { CT(",\"resources\":{\"memory_mb\":64,\"cpu\":1}"), "resources.cpu",
          "unknown field `cpu`" },
        { CT(",\"restart_policy\":{\"name\":\"no\",\"delay\":1}"), "restart_policy.delay",
          "unknown field `delay`" },
        /* unknown beats wrong type beats missing beats bad value */
        { "{\"name\":5,\"foo\":1}", "foo", "unknown field" },
        { "{\"name\":5}", "name", "must be a string" },
        { "{\"name\":\"BAD\",\"kind\":\"vm\"}", "image", "is required" },
        { "{\"name\":\"ok\",\"kind\":\"vm\",\"image\":\"a\",\"resources\":{\"memory_mb\":\"x\","
          "\"bogus\":1}}",
          "resources.bogus", "unknown field" },
        /* wrong types */
        { "{\"name\":null,\"kind\":\"vm\",\"image\":\"a\"}", "name", "must be a string" },
        { "{\"name\":\"a\",\"kind\":1,\"image\":\"a\"}", "kind", "must be a string" },
        { "{\"name\":\"a\",\"kind\":\"vm\",\"image\":[]}", "image", "must be a string" },
        { CT(",\"command\":\"sh -c x\""), "command", "must be an array" },
        { CT(",\"command\":[\"sh\",\"-c\",3]"), "command[2]", "must be a string" },
        { CT(",\"env\":[]"), "env", "must be an object" },
        { CT(",\"env\":{\"PATH\":1}"), "env.PATH", "must be a string" },
        { CT(",\"env\":{\"A\":null}"), "env.A", "must be a string" },
        { CT(",\"workdir\":1"), "workdir", "must be a string" },
        { CT(",\"user\":1000"), "user", "must be a string" },
        { CT(",\"hostname\":true"), "hostname", "must be a string" },
        { CT(",\"labels\":[]"), "labels", "must be an object" },
        { CT(",\"labels\":{\"tier\":1}"), "labels.tier", "must be a string" },
        { CT(",\"resources\":1"), "resources", "must be an object" },
        { CT(",\"resources\":{\"memory_mb\":256.5}"), "resources.memory_mb", "must be an integer" },
        { CT(",\"resources\":{\"memory_mb\":256.0}"), "resources.memory_mb", "must be an integer" },
        { CT(",\"resources\":{\"memory_mb\":\"256\"}"), "resources.memory_mb",
          "must be an integer" },
        { CT(",\"resources\":{\"vcpus\":\"1\"}"), "resources.vcpus", "must be a number" },
        { CT(",\"resources\":{\"vcpus\":true}"), "resources.vcpus", "must be a number" },
        { CT(",\"resources\":{\"pids_max\":1e3}"), "resources.pids_max", "must be an integer" },
        { VM(",\"resources\":{\"disk_gb\":null}"), "resources.disk_gb", "must be an integer" },
        { CT(",\"restart_policy\":\"always\""), "restart_policy", "must be an object" },
        { CT(",\"restart_policy\":{\"name\":1}"), "restart_policy.name", "must be a string" },
        { CT(",\"restart_policy\":{\"name\":\"on-failure\",\"max_retries\":\"3\"}"),
          "restart_policy.max_retries", "must be an integer" },
        { CT(",\"autostart\":\"yes\""), "autostart", "must be a boolean" },
        { CT(",\"autostart\":1"), "autostart", "must be a boolean" },
        /* missing required */
        { "{}", "name", "is required" },
        { "{\"kind\":\"vm\",\"image\":\"a\"}", "name", "is required" },
        { "{\"name\":\"a\",\"image\":\"a\"}", "kind", "is required" },
        { "{\"name\":\"a\",\"kind\":\"container\"}", "image", "is required" },
        { CT(",\"restart_policy\":{}"), "restart_policy.name", "is required" },
        /* names */
        { "{\"name\":\"\",\"kind\":\"vm\",\"image\":\"a\"}", "name", "must not be empty" },
        { "{\"name\":\"Web\",\"kind\":\"vm\",\"image\":\"a\"}", "name",
          "`Web` is not a valid name" },
        { "{\"name\":\"-web\",\"kind\":\"vm\",\"image\":\"a\"}", "name", "not a valid name" },
        { "{\"name\":\"web-\",\"kind\":\"vm\",\"image\":\"a\"}", "name", "not a valid name" },
        { "{\"name\":\"web_1\",\"kind\":\"vm\",\"image\":\"a\"}", "name", "not a valid name" },
        { "{\"name\":\"web.1\",\"kind\":\"vm\",\"image\":\"a\"}", "name", "not a valid name" },
        { "{\"name\":\"a b\",\"kind\":\"vm\",\"image\":\"a\"}", "name", "not a valid name" },
        { "{\"name\":\"a\\nb\",\"kind\":\"vm\",\"image\":\"a\"}", "name", "not a valid name" },
        { "{\"name\":\"caf\\u00e9\",\"kind\":\"vm\",\"image\":\"a\"}", "name", "not a valid name" },
        { "{\"name\":\"0b5dbbd4-5b6e-4f3c-9d2a-1c2b3a4d5e6f\",\"kind\":\"vm\",\"image\":\"a\"}",
          "name", "UUID" },
        /* kind */
        { "{\"name\":\"a\",\"kind\":\"lxc\",\"image\":\"a\"}", "kind", "`lxc` is not a kind" },
        { "{\"name\":\"a\",\"kind\":\"VM\",\"image\":\"a\"}", "kind", "is not a kind" },
        /* kind-specific */
        { VM(",\"command\":[\"sh\"]"), "command", "`command` is not supported for kind `vm`" },
        { VM(",\"command\":[]"), "command", "not supported for kind `vm`" },
        { VM(",\"env\":{}"), "env", "`env` is not supported for kind `vm`" },
        { VM(",\"workdir\":\"/\""), "workdir", "`workdir` is not supported for kind `vm`" },
        { VM(",\"user\":\"root\""), "user", "`user` is not supported for kind `vm`" },
        { VM(",\"resources\":{\"pids_max\":10}"), "resources.pids_max",
          "`resources.pids_max` is not supported for kind `vm`" },
        { CT(",\"resources\":{\"disk_gb\":10}"), "resources.disk_gb",
          "`resources.disk_gb` is not supported for kind `container`" },
        { VM(",\"resources\":{\"vcpus\":1.5}"), "resources.vcpus", "whole number" },
        { VM(",\"resources\":{\"memory_mb\":63}"), "resources.memory_mb",
          "must be between 64 and 16777216 for kind `vm`" },
        /* image */
        { "{\"name\":\"a\",\"kind\":\"vm\",\"image\":\"\"}", "image", "must not be empty" },
        { "{\"name\":\"a\",\"kind\":\"vm\",\"image\":\"bad image\"}", "image",
          "not a valid image reference" },
        { "{\"name\":\"a\",\"kind\":\"vm\",\"image\":\"a\\tb\"}", "image", "not a valid image" },
        /* resources: negative, zero, absurd */
        { CT(",\"resources\":{\"memory_mb\":-1}"), "resources.memory_mb",
          "must be between 16 and 16777216" },
        { CT(",\"resources\":{\"memory_mb\":0}"), "resources.memory_mb", "between 16 and" },
        { CT(",\"resources\":{\"memory_mb\":15}"), "resources.memory_mb", "between 16 and" },
        { CT(",\"resources\":{\"memory_mb\":16777217}"), "resources.memory_mb",
          "between 16 and 16777216" },
        { CT(",\"resources\":{\"memory_mb\":9223372036854775807}"), "resources.memory_mb",
          "between" },
        { CT(",\"resources\":{\"memory_mb\":-9223372036854775807}"), "resources.memory_mb",
          "between" },
        { CT(",\"resources\":{\"vcpus\":0}"), "resources.vcpus",
          "must be greater than 0 and at most 512" },
        { CT(",\"resources\":{\"vcpus\":-1.5}"), "resources.vcpus", "greater than 0" },
        { CT(",\"resources\":{\"vcpus\":512.01}"), "resources.vcpus", "at most 512" },
        { CT(",\"resources\":{\"vcpus\":1e300}"), "resources.vcpus", "at most 512" },
        { CT(",\"resources\":{\"vcpus\":0.001}"), "resources.vcpus", "multiple of 0.01" },
        { CT(",\"resources\":{\"vcpus\":1.005}"), "resources.vcpus", "multiple of 0.01" },
        { CT(",\"resources\":{\"pids_max\":0}"), "resources.pids_max",
          "must be between 1 and 4194304" },
        { CT(",\"resources\":{\"pids_max\":4194305}"), "resources.pids_max", "between 1 and" },
        { VM(",\"resources\":{\"disk_gb\":0}"), "resources.disk_gb", "between 1 and 65536" },
        { VM(",\"resources\":{\"disk_gb\":65537}"), "resources.disk_gb", "between 1 and 65536" },
        { VM(",\"resources\":{\"vcpus\":513}"), "resources.vcpus", "at most 512" },
        /* command, env, workdir, user, hostname */
        { CT(",\"command\":[\"\"]"), "command[0]", "must not be empty" },
        { CT(",\"env\":{\"1A\":\"x\"}"), "env.1A", "not a valid variable name" },
        { CT(",\"env\":{\"A-B\":\"x\"}"), "env.A-B", "not a valid variable name" },
        { CT(",\"env\":{\"\":\"x\"}"), "env.", "not a valid variable name" },
        { CT(",\"env\":{\"A=B\":\"x\"}"), "env.A=B", "not a valid variable name" },
        { CT(",\"workdir\":\"srv\""), "workdir", "`srv` is not an absolute path" },
        { CT(",\"workdir\":\"\""), "workdir", "not an absolute path" },
        { CT(",\"workdir\":\"/a\\nb\""), "workdir", "control characters" },
        { CT(",\"workdir\":\"/a\\u007fb\""), "workdir", "control characters" },
        { CT(",\"user\":\"\""), "user", "not a valid user" },
        { CT(",\"user\":\"-x\""), "user", "not a valid user" },
        { CT(",\"user\":\"a:\""), "user", "not a valid user" },
        { CT(",\"user\":\":a\""), "user", "not a valid user" },
        { CT(",\"user\":\"a:b:c\""), "user", "not a valid user" },
        { CT(",\"user\":\"a b\""), "user", "not a valid user" },
        { CT(",\"user\":\"a\\u0001\""), "user", "not a valid user" },
        { CT(",\"user\":\"4294967295\""), "user", "not a valid user" },
        { CT(",\"hostname\":\"\""), "hostname", "not a valid hostname" },
        { CT(",\"hostname\":\"-a\""), "hostname", "not a valid hostname" },
        { CT(",\"hostname\":\"a.example.com\""), "hostname", "not a valid hostname" },
        { CT(",\"hostname\":\"a_b\""), "hostname", "not a valid hostname" },
        /* labels */
        { CT(",\"labels\":{\"-tier\":\"x\"}"), "labels.-tier", "not a valid label key" },
        { CT(",\"labels\":{\"tier-\":\"x\"}"), "labels.tier-", "not a valid label key" },
        { CT(",\"labels\":{\"\":\"x\"}"), "labels.", "not a valid label key" },
        { CT(",\"labels\":{\"a b\":\"x\"}"), "labels.a b", "not a valid label key" },
        { CT(",\"labels\":{\"tier\":\"a\\nb\"}"), "labels.tier", "control characters" },
        { CT(",\"labels\":{\"tier\":\"a\\u007f\"}"), "labels.tier", "control characters" },
        /* restart policy */
        { CT(",\"restart_policy\":{\"name\":\"sometimes\"}"), "restart_policy.name",
          "`sometimes` is not a restart policy" },
        { CT(",\"restart_policy\":{\"name\":\"always\",\"max_retries\":3}"),
          "restart_policy.max_retries", "only allowed with restart policy `on-failure`" },
        { CT(",\"restart_policy\":{\"name\":\"on-failure\",\"max_retries\":1001}"),
          "restart_policy.max_retries", "between 0 and 1000" },
        { CT(",\"restart_policy\":{\"name\":\"on-failure\",\"max_retries\":-1}"),
          "restart_policy.max_retries", "between 0 and 1000" },
        /* cloud_init: VMs only, its shape, its values */
        { CT(",\"cloud_init\":{}"), "cloud_init",
          "`cloud_init` is not supported for kind `container`" },
        { CT(",\"cloud_init\":{\"user_data\":\"#cloud-config\\n\"}"), "cloud_init",
          "not supported for kind `container`" },
        { VM(",\"cloud_init\":{\"userdata\":\"x\"}"), "cloud_init.userdata",
          "unknown field `userdata`" },
        { VM(",\"cloud_init\":\"#cloud-config\""), "cloud_init", "must be an object" },
        { VM(",\"cloud_init\":null"), "cloud_init", "must be an object" },
        { VM(",\"cloud_init\":{\"user_data\":5}"), "cloud_init.user_data",
          "must be a string or null" },
        { VM(",\"cloud_init\":{\"user_data\":[\"a\"]}"), "cloud_init.user_data",
          "must be a string or null" },
        { VM(",\"cloud_init\":{\"ssh_authorized_keys\":\"" KEY_ED "\"}"),
          "cloud_init.ssh_authorized_keys", "must be an array" },
        { VM(",\"cloud_init\":{\"ssh_authorized_keys\":null}"), "cloud_init.ssh_authorized_keys",
          "must be an array" },
        { VM(",\"cloud_init\":{\"ssh_authorized_keys\":[\"" KEY_ED "\",\"" KEY_EC "\",7]}"),
          "cloud_init.ssh_authorized_keys[2]", "must be a string" },
        { VM(",\"cloud_init\":{\"ssh_authorized_keys\":[\"" KEY_ED "\",\"" KEY_EC "\",\"\"]}"),
          "cloud_init.ssh_authorized_keys[2]", "does not start with a known key type" },
        { VM(",\"cloud_init\":{\"ssh_authorized_keys\":[\"ssh-foo " KEY_ED_BLOB "\"]}"),
          "cloud_init.ssh_authorized_keys[0]", "`ssh-foo " },
        { VM(",\"cloud_init\":{\"ssh_authorized_keys\":[\"SSH-ED25519 " KEY_ED_BLOB "\"]}"),
          "cloud_init.ssh_authorized_keys[0]", "known key type" },
        { VM(",\"cloud_init\":{\"ssh_authorized_keys\":[\"ssh-ed25519x " KEY_ED_BLOB "\"]}"),
          "cloud_init.ssh_authorized_keys[0]", "known key type" },
        { VM(",\"cloud_init\":{\"ssh_authorized_keys\":[\" " KEY_ED "\"]}"),
          "cloud_init.ssh_authorized_keys[0]", "known key type" },
        { VM(",\"cloud_init\":{\"ssh_authorized_keys\":[\"no-agent-forwarding " KEY_ED "\"]}"),
          "cloud_init.ssh_authorized_keys[0]", "known key type" },
        { VM(",\"cloud_init\":{\"ssh_authorized_keys\":[\"ssh-ed25519\"]}"),
          "cloud_init.ssh_authorized_keys[0]", "followed by a space and the key in base64" },
        { VM(",\"cloud_init\":{\"ssh_authorized_keys\":[\"ssh-ed25519 \"]}"),
          "cloud_init.ssh_authorized_keys[0]", "in base64" },
        { VM(",\"cloud_init\":{\"ssh_authorized_keys\":[\"ssh-ed25519  " KEY_ED_BLOB "\"]}"),
          "cloud_init.ssh_authorized_keys[0]", "in base64" },
        { VM(",\"cloud_init\":{\"ssh_authorized_keys\":[\"ssh-ed25519 not*base64\"]}"),
          "cloud_init.ssh_authorized_keys[0]", "in base64" },
        { VM(",\"cloud_init\":{\"ssh_authorized_keys\":[\"ssh-rsa AAAAB3NzaC1yc2E\"]}"),
          "cloud_init.ssh_authorized_keys[0]", "in base64" },
        { VM(",\"cloud_init\":{\"ssh_authorized_keys\":[\"" KEY_ED "\\n" KEY_EC "\"]}"),
          "cloud_init.ssh_authorized_keys[0]", "single line" },
        { VM(",\"cloud_init\":{\"ssh_authorized_keys\":[\"" KEY_ED "\\r\"]}"),
          "cloud_init.ssh_authorized_keys[0]", "single line" },
        { VM(",\"cloud_init\":{\"ssh_authorized_keys\":[\"" KEY_ED " a\\tb\"]}"),
          "cloud_init.ssh_authorized_keys[0]", "control characters" },
        { VM(",\"cloud_init\":{\"ssh_authorized_keys\":[\"" KEY_ED " \\u0085\"]}"),
          "cloud_init.ssh_authorized_keys[0]", "control characters" },
        /* keys go into #cloud-config user-data; other user-data has no place for them */
        { VM(",\"cloud_init\":{\"user_data\":\"#!/bin/sh\\necho hi\\n\","
             "\"ssh_authorized_keys\":[\"" KEY_ED "\"]}"),
          "cloud_init.ssh_authorized_keys", "`#cloud-config`" },
        { VM(",\"cloud_init\":{\"user_data\":\" #cloud-config\\n\","
             "\"ssh_authorized_keys\":[\"" KEY_ED "\"]}"),
          "cloud_init.ssh_authorized_keys", "`#cloud-config`" },
        /* unknown beats wrong type beats kind */
        { CT(",\"cloud_init\":{\"x\":1}"), "cloud_init.x", "unknown field" },
        { CT(",\"cloud_init\":{\"user_data\":1}"), "cloud_init.user_data", "must be a string" },
        /* security: containers only, its shape, its values */
        { VM(",\"security\":{}"), "security", "`security` is not supported for kind `vm`" },
        { VM(",\"security\":{\"privileged\":false}"), "security", "not supported for kind `vm`" },
        { CT(",\"security\":{\"priviledged\":true}"), "security.priviledged",
          "unknown field `priviledged`" },
        { CT(",\"security\":{\"capabilities\":[]}"), "security.capabilities", "unknown field" },
        { CT(",\"security\":true"), "security", "must be an object" },
        { CT(",\"security\":{\"privileged\":\"true\"}"), "security.privileged",
          "must be a boolean" },
        { CT(",\"security\":{\"userns\":1}"), "security.userns", "must be a boolean" },
        { CT(",\"security\":{\"cap_add\":\"NET_ADMIN\"}"), "security.cap_add", "must be an array" },
        { CT(",\"security\":{\"cap_drop\":{}}"), "security.cap_drop", "must be an array" },
        { CT(",\"security\":{\"cap_add\":[\"NET_ADMIN\",null]}"), "security.cap_add[1]",
          "must be a string" },
        { CT(",\"security\":{\"seccomp\":null}"), "security.seccomp", "must be a string" },
        { CT(",\"security\":{\"seccomp\":false}"), "security.seccomp", "must be a string" },
        { CT(",\"security\":{\"seccomp\":\"Default\"}"), "security.seccomp",
          "`Default` is not a seccomp profile" },
        { CT(",\"security\":{\"seccomp\":\"\"}"), "security.seccomp", "not a seccomp profile" },
        { CT(",\"security\":{\"seccomp\":\"/etc/seccomp.json\"}"), "security.seccomp",
          "use `default` or `unconfined`" },
        { CT(",\"security\":{\"cap_add\":[\"NET_ADMIN\",\"NET_ADMIM\"]}"), "security.cap_add[1]",
          "`NET_ADMIM` is not a Linux capability" },
        { CT(",\"security\":{\"cap_add\":[\"\"]}"), "security.cap_add[0]",
          "is not a Linux capability" },
        { CT(",\"security\":{\"cap_add\":[\"CAP_\"]}"), "security.cap_add[0]",
          "is not a Linux capability" },
        { CT(",\"security\":{\"cap_add\":[\"CAP_ALL\"]}"), "security.cap_add[0]",
          "is not a Linux capability" },
        { CT(",\"security\":{\"cap_add\":[\"CAPNET_ADMIN\"]}"), "security.cap_add[0]",
          "is not a Linux capability" },
        { CT(",\"security\":{\"cap_add\":[\"CAP_CAP_CHOWN\"]}"), "security.cap_add[0]",
          "is not a Linux capability" },
        { CT(",\"security\":{\"cap_add\":[\" CHOWN\"]}"), "security.cap_add[0]",
          "is not a Linux capability" },
        { CT(",\"security\":{\"cap_add\":[\"NET-ADMIN\"]}"), "security.cap_add[0]",
          "is not a Linux capability" },
        /* 41 is not a capability yet */
        { CT(",\"security\":{\"cap_add\":[\"CAP_41\"]}"), "security.cap_add[0]",
          "is not a Linux capability" },
        { CT(",\"security\":{\"cap_drop\":[\"chown\",\"sys_admin\",\"SYS_WIZARD\"]}"),
          "security.cap_drop[2]", "`SYS_WIZARD` is not a Linux capability" },
        /* unknown beats wrong type beats kind */
        { VM(",\"security\":{\"x\":1}"), "security.x", "unknown field" },
        { VM(",\"security\":{\"userns\":\"no\"}"), "security.userns", "must be a boolean" },
};

START_TEST(test_spec_bad)
{
        spec_bad(bad_cases[_i].body, bad_cases[_i].field, bad_cases[_i].msg);
}
END_TEST

START_TEST(test_spec_bad_limits)
{
        /* 64-character name */
        _cleanup_free_ char *n64 = repeat('a', 64);
        _cleanup_free_ char *b1 = fmt("{\"name\":\"%s\",\"kind\":\"vm\",\"image\":\"a\"}", n64);
        spec_bad(b1, "name", "at most 63 characters");

        /* 64-character label key, 257-character value */
        _cleanup_free_ char *k64 = repeat('k', 64);
        _cleanup_free_ char *b2 = fmt(CT(",\"labels\":{\"%s\":\"v\"}"), k64);
        _cleanup_free_ char *f2 = fmt("labels.%s", k64);
        spec_bad(b2, f2, "not a valid label key");
        _cleanup_free_ char *v257 = repeat('v', 257);
        _cleanup_free_ char *b3 = fmt(CT(",\"labels\":{\"k\":\"%s\"}"), v257);
        spec_bad(b3, "labels.k", "at most 256 characters");

        /* 65 labels: too many; 64 are fine */
        char *labels = strdup("");
        for (int i = 0; i < 65; i++) {
                char *next = fmt("%s%s\"l%d\":\"v\"", labels, i ? "," : "", i);
                free(labels);
                labels = next;
                if (i == 63) {
                        _cleanup_free_ char *ok = fmt(CT(",\"labels\":{%s}"), labels);
                        HdInstanceSpec s;
                        spec_ok(ok, &s);
                        ck_assert_uint_eq(s.labels.n, 64);
                        hd_instance_spec_clear(&s);
                }
        }
        _cleanup_free_ char *b4 = fmt(CT(",\"labels\":{%s}"), labels);
        free(labels);
        spec_bad(b4, "labels", "at most 64 labels");

        /* 256-character image */
        _cleanup_free_ char *img = repeat('i', 256);
        _cleanup_free_ char *b5 = fmt("{\"name\":\"a\",\"kind\":\"vm\",\"image\":\"%s\"}", img);
        spec_bad(b5, "image", "at most 255 characters");

        /* 1025 arguments; an argument over HD_MAX_STRING */
        char *args = strdup("\"sh\"");
        for (int i = 1; i < HD_MAX_COMMAND_ARGS + 1; i++) {
                char *next = fmt("%s,\"a\"", args);
                free(args);
                args = next;
        }
        _cleanup_free_ char *b6 = fmt(CT(",\"command\":[%s]"), args);
        free(args);
        spec_bad(b6, "command", "at most 1024 arguments");
        _cleanup_free_ char *longarg = repeat('x', HD_MAX_STRING + 1);
        _cleanup_free_ char *b7 = fmt(CT(",\"command\":[\"sh\",\"%s\"]"), longarg);
        spec_bad(b7, "command[1]", "at most 4096 bytes");

        /* 1025 variables; a value over HD_MAX_STRING */
        char *env = strdup("");
        for (int i = 0; i < HD_MAX_ENV + 1; i++) {
                char *next = fmt("%s%s\"V%d\":\"\"", env, i ? "," : "", i);
                free(env);
                env = next;
        }
        _cleanup_free_ char *b8 = fmt(CT(",\"env\":{%s}"), env);
        free(env);
        spec_bad(b8, "env", "at most 1024 variables");
        _cleanup_free_ char *b9 = fmt(CT(",\"env\":{\"A\":\"%s\"}"), longarg);
        spec_bad(b9, "env.A", "at most 4096 bytes");

        /* a 65-character hostname */
        _cleanup_free_ char *h = repeat('h', 64);
        _cleanup_free_ char *b10 = fmt(CT(",\"hostname\":\"%s\""), h);
        spec_bad(b10, "hostname", "not a valid hostname");
}
END_TEST

/* ---- spec: cloud_init and security -------------------------------------------- */

START_TEST(test_spec_cloud_init)
{
        HdInstanceSpec s;

        /* left out, or empty: nothing, and older stored specs without it still load */
        spec_ok(VM(""), &s);
        ck_assert_ptr_null(s.cloud_init.user_data);
        ck_assert_uint_eq(s.cloud_init.ssh_authorized_keys.n, 0);
        hd_instance_spec_clear(&s);
        spec_ok(VM(",\"cloud_init\":{}"), &s);
        ck_assert_ptr_null(s.cloud_init.user_data);
        ck_assert_uint_eq(s.cloud_init.ssh_authorized_keys.n, 0);
        hd_instance_spec_clear(&s);
        spec_ok(VM(",\"cloud_init\":{\"user_data\":null,\"ssh_authorized_keys\":[]}"), &s);
        ck_assert_ptr_null(s.cloud_init.user_data);
        hd_instance_spec_clear(&s);
        /* "" is the same as none */
        spec_ok(VM(",\"cloud_init\":{\"user_data\":\"\",\"ssh_authorized_keys\":[\"" KEY_ED "\"]}"),
                &s);
        ck_assert_ptr_null(s.cloud_init.user_data);
        ck_assert_uint_eq(s.cloud_init.ssh_authorized_keys.n, 1);
        hd_instance_spec_clear(&s);

        /* user-data as given, byte for byte: newlines, tabs, other controls, UTF-8 */
        spec_ok(VM(",\"cloud_init\":{\"user_data\":\"#cloud-config\\nruncmd:\\n\\t- [echo, "
                   "\\\"caf\\u00e9 \\u2603 \\ud83d\\ude00\\\"]\\r\\n\\u0001\"}"),
                &s);
        ck_assert_str_eq(s.cloud_init.user_data,
                         "#cloud-config\nruncmd:\n\t- [echo, \"caf\xc3\xa9 \xe2\x98\x83 "
                         "\xf0\x9f\x98\x80\"]\r\n\x01");
        hd_instance_spec_clear(&s);

        /* a script is fine without keys */
        spec_ok(VM(",\"cloud_init\":{\"user_data\":\"#!/bin/sh\\necho hi\\n\"}"), &s);
        ck_assert_str_eq(s.cloud_init.user_data, "#!/bin/sh\necho hi\n");
        hd_instance_spec_clear(&s);

        /* every key type, in order, kept as given (comments and all) */
        spec_ok(VM(",\"cloud_init\":{\"user_data\":\"#cloud-config\\n\","
                   "\"ssh_authorized_keys\":[\"" KEY_ED "\",\"" KEY_EC "\","
                   "\"ssh-rsa " KEY_ED_BLOB "\",\"ecdsa-sha2-nistp384 " KEY_ED_BLOB " x\","
                   "\"ecdsa-sha2-nistp521 " KEY_ED_BLOB "\","
                   "\"sk-ssh-ed25519@openssh.com " KEY_ED_BLOB " a comment with  spaces\","
                   "\"sk-ecdsa-sha2-nistp256@openssh.com " KEY_ED_BLOB " \","
                   "\"ssh-dss " KEY_ED_BLOB " caf\\u00e9\",\"" KEY_ED "\"]}"),
                &s);
        ck_assert_str_eq(s.cloud_init.user_data, "#cloud-config\n");
        ck_assert_uint_eq(s.cloud_init.ssh_authorized_keys.n, 9);
        ck_assert_str_eq(s.cloud_init.ssh_authorized_keys.items[0], KEY_ED);
        ck_assert_str_eq(s.cloud_init.ssh_authorized_keys.items[1], KEY_EC);
        ck_assert_str_eq(s.cloud_init.ssh_authorized_keys.items[5],
                         "sk-ssh-ed25519@openssh.com " KEY_ED_BLOB " a comment with  spaces");
        ck_assert_str_eq(s.cloud_init.ssh_authorized_keys.items[7],
                         "ssh-dss " KEY_ED_BLOB " caf\xc3\xa9");
        hd_instance_spec_clear(&s);

        /* a key without a comment */
        spec_ok(VM(",\"cloud_init\":{\"ssh_authorized_keys\":[\"ssh-ed25519 " KEY_ED_BLOB "\"]}"),
                &s);
        ck_assert_str_eq(s.cloud_init.ssh_authorized_keys.items[0], "ssh-ed25519 " KEY_ED_BLOB);
        hd_instance_spec_clear(&s);
}
END_TEST

/* A VM spec whose cloud_init.user_data is the n bytes at text (built without the
 * parser, which would refuse NUL and bad UTF-8 itself). */
static json_t *vm_with_user_data(const char *text, size_t n)
{
        json_t *j = parse_ok(VM(""));
        json_t *ci = json_object();
        json_t *ud = json_stringn_nocheck(text, n);
        ck_assert_ptr_nonnull(ud);
        ck_assert_int_eq(json_object_set_new(ci, "user_data", ud), 0);
        ck_assert_int_eq(json_object_set_new(j, "cloud_init", ci), 0);
        return j;
}

static void user_data_bad(const char *text, size_t n, const char *msg)
{
        _cleanup_json_ json_t *j = vm_with_user_data(text, n);
        _cleanup_error_ HdError *err = NULL;
        HdInstanceSpec s;
        ck_assert_int_eq(hd_codec_instance_spec_from_json(j, &s, &err), -EINVAL);
        ck_assert_str_eq(err->field, "cloud_init.user_data");
        ck_assert_msg(strstr(err->message, msg), "`%s` lacks `%s`", err->message, msg);
        ck_assert_ptr_null(s.name);
}

START_TEST(test_spec_cloud_init_limits)
{
        HdInstanceSpec s;

        /* user_data: 64 KiB fits, one byte more does not */
        _cleanup_free_ char *ud = repeat('u', 64 * 1024);
        _cleanup_free_ char *b1 = fmt(VM(",\"cloud_init\":{\"user_data\":\"%s\"}"), ud);
        spec_ok(b1, &s);
        ck_assert_uint_eq(strlen(s.cloud_init.user_data), 64 * 1024);
        hd_instance_spec_clear(&s);
        _cleanup_free_ char *ud1 = repeat('u', 64 * 1024 + 1);
        _cleanup_free_ char *b2 = fmt(VM(",\"cloud_init\":{\"user_data\":\"%s\"}"), ud1);
        spec_bad(b2, "cloud_init.user_data", "at most 65536 bytes");

        /* NUL, and text that is not UTF-8 */
        user_data_bad("#cloud-config\n\0x", 16, "NUL");
        user_data_bad("\0", 1, "NUL");
        user_data_bad("caf\xe9", 4, "valid UTF-8");          /* Latin-1 */
        user_data_bad("\xc0\xaf", 2, "valid UTF-8");         /* overlong */
        user_data_bad("\xed\xa0\x80", 3, "valid UTF-8");     /* a surrogate */
        user_data_bad("\xf4\x90\x80\x80", 4, "valid UTF-8"); /* past U+10FFFF */
        user_data_bad("\xe2\x98", 2, "valid UTF-8");         /* cut short */
        user_data_bad("\x80", 1, "valid UTF-8");             /* a lone continuation */

        /* 64 keys fit, 65 do not */
        char *keys = strdup("");
        for (int i = 0; i < 65; i++) {
                char *next = fmt("%s%s\"" KEY_ED " k%d\"", keys, i ? "," : "", i);
                free(keys);
                keys = next;
                if (i == 63) {
                        _cleanup_free_ char *ok =
                                fmt(VM(",\"cloud_init\":{\"ssh_authorized_keys\":[%s]}"), keys);
                        spec_ok(ok, &s);
                        ck_assert_uint_eq(s.cloud_init.ssh_authorized_keys.n, 64);
                        ck_assert_str_eq(s.cloud_init.ssh_authorized_keys.items[63], KEY_ED " k63");
                        hd_instance_spec_clear(&s);
                }
        }
        _cleanup_free_ char *b3 = fmt(VM(",\"cloud_init\":{\"ssh_authorized_keys\":[%s]}"), keys);
        free(keys);
        spec_bad(b3, "cloud_init.ssh_authorized_keys", "at most 64 keys");

        /* a key of 8 KiB fits, one byte more does not */
        const char *head = "ssh-ed25519 " KEY_ED_BLOB " ";
        _cleanup_free_ char *comment = repeat('c', 8192 - strlen(head));
        _cleanup_free_ char *b4 =
                fmt(VM(",\"cloud_init\":{\"ssh_authorized_keys\":[\"" KEY_ED "\",\"%s%s\"]}"), head,
                    comment);
        spec_ok(b4, &s);
        ck_assert_uint_eq(strlen(s.cloud_init.ssh_authorized_keys.items[1]), 8192);
        hd_instance_spec_clear(&s);
        _cleanup_free_ char *b5 =
                fmt(VM(",\"cloud_init\":{\"ssh_authorized_keys\":[\"" KEY_ED "\",\"%s%sc\"]}"),
                    head, comment);
        spec_bad(b5, "cloud_init.ssh_authorized_keys[1]", "at most 8192 bytes");

        /* a key with a NUL inside */
        _cleanup_json_ json_t *j = parse_ok(VM(""));
        json_t *ci = json_object();
        json_t *ka = json_array();
        json_array_append_new(ka, json_string(KEY_ED));
        json_array_append_new(ka, json_stringn(KEY_ED "\0x", strlen(KEY_ED) + 2));
        json_object_set_new(ci, "ssh_authorized_keys", ka);
        json_object_set_new(j, "cloud_init", ci);
        _cleanup_error_ HdError *err = NULL;
        ck_assert_int_eq(hd_codec_instance_spec_from_json(j, &s, &err), -EINVAL);
        ck_assert_str_eq(err->field, "cloud_init.ssh_authorized_keys[1]");
}
END_TEST

START_TEST(test_spec_security)
{
        HdInstanceSpec s;

        /* left out, or empty: the defaults; older stored specs still load */
        spec_ok(CT(""), &s);
        ck_assert(!s.security.privileged);
        ck_assert(!s.security.userns);
        ck_assert_uint_eq(s.security.cap_add.n, 0);
        ck_assert_uint_eq(s.security.cap_drop.n, 0);
        ck_assert_ptr_null(s.security.seccomp);
        hd_instance_spec_clear(&s);
        spec_ok(CT(",\"security\":{}"), &s);
        ck_assert(!s.security.privileged);
        ck_assert_ptr_null(s.security.seccomp);
        hd_instance_spec_clear(&s);

        /* every member; names in any case, with or without CAP_, normalized; duplicates
         * (in any spelling) collapsed, the first one's place kept */
        spec_ok(CT(",\"security\":{\"privileged\":true,\"userns\":true,"
                   "\"cap_add\":[\"net_admin\",\"CAP_SYS_PTRACE\",\"Cap_Net_Admin\","
                   "\"NET_ADMIN\",\"cap_bpf\",\"all\",\"ALL\",\"checkpoint_restore\","
                   "\"sys_ptrace\"],"
                   "\"cap_drop\":[\"MKNOD\",\"cap_net_raw\",\"mknod\"],"
                   "\"seccomp\":\"unconfined\"}"),
                &s);
        ck_assert(s.security.privileged);
        ck_assert(s.security.userns);
        const char *add[] = { "CAP_NET_ADMIN", "CAP_SYS_PTRACE", "CAP_BPF", "ALL",
                              "CAP_CHECKPOINT_RESTORE" };
        ck_assert_uint_eq(s.security.cap_add.n, HD_ARRAY_SIZE(add));
        for (size_t i = 0; i < HD_ARRAY_SIZE(add); i++)
                ck_assert_str_eq(s.security.cap_add.items[i], add[i]);
        ck_assert_uint_eq(s.security.cap_drop.n, 2);
        ck_assert_str_eq(s.security.cap_drop.items[0], "CAP_MKNOD");
        ck_assert_str_eq(s.security.cap_drop.items[1], "CAP_NET_RAW");
        ck_assert_str_eq(s.security.seccomp, "unconfined");
        hd_instance_spec_clear(&s);

        /* "default" is the default profile: stored as none */
        spec_ok(CT(",\"security\":{\"seccomp\":\"default\",\"privileged\":false,"
                   "\"userns\":false,\"cap_add\":[],\"cap_drop\":[\"ALL\"]}"),
                &s);
        ck_assert_ptr_null(s.security.seccomp);
        ck_assert_uint_eq(s.security.cap_drop.n, 1);
        ck_assert_str_eq(s.security.cap_drop.items[0], "ALL");
        hd_instance_spec_clear(&s);

        /* all 41 capabilities the kernel knows, each in both spellings */
        static const char *const caps[] = {
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
        ck_assert_uint_eq(HD_ARRAY_SIZE(caps), 41);
        char *list = strdup("");
        for (size_t i = 0; i < HD_ARRAY_SIZE(caps); i++) {
                char *next = fmt("%s%s\"CAP_%s\",\"%s\"", list, i ? "," : "", caps[i], caps[i]);
                free(list);
                list = next;
        }
        _cleanup_free_ char *body = fmt(CT(",\"security\":{\"cap_add\":[%s]}"), list);
        free(list);
        spec_ok(body, &s);
        ck_assert_uint_eq(s.security.cap_add.n, 41);
        for (size_t i = 0; i < HD_ARRAY_SIZE(caps); i++) {
                _cleanup_free_ char *want = fmt("CAP_%s", caps[i]);
                ck_assert_str_eq(s.security.cap_add.items[i], want);
        }
        hd_instance_spec_clear(&s);

        /* a name with a NUL inside is not a capability */
        _cleanup_json_ json_t *j = parse_ok(CT(""));
        json_t *sec = json_object();
        json_t *a = json_array();
        json_array_append_new(a, json_stringn("CHOWN\0x", 7));
        json_object_set_new(sec, "cap_drop", a);
        json_object_set_new(j, "security", sec);
        _cleanup_error_ HdError *err = NULL;
        ck_assert_int_eq(hd_codec_instance_spec_from_json(j, &s, &err), -EINVAL);
        ck_assert_str_eq(err->field, "security.cap_drop[0]");
}
END_TEST

START_TEST(test_spec_not_object)
{
        _cleanup_json_ json_t *a = json_array();
        _cleanup_error_ HdError *err = NULL;
        HdInstanceSpec s;
        ck_assert_int_eq(hd_codec_instance_spec_from_json(a, &s, &err), -EINVAL);
        ck_assert_ptr_null(s.name);
        ck_assert_int_eq(hd_codec_instance_spec_from_json(NULL, &s, NULL), -EINVAL);
}
END_TEST

/* ---- canonical JSON and round trips ---------------------------------------- */

static void assert_round_trip(const char *body)
{
        HdInstanceSpec a, b;
        spec_ok(body, &a);
        _cleanup_json_ json_t *ja = hd_codec_instance_spec_to_json(&a);
        ck_assert_ptr_nonnull(ja);
        _cleanup_free_ char *ta = dumps(ja);

        /* its own output is accepted unchanged, through text too */
        spec_ok(ta, &b);
        _cleanup_json_ json_t *jb = hd_codec_instance_spec_to_json(&b);
        _cleanup_free_ char *tb = dumps(jb);
        ck_assert_str_eq(ta, tb);
        ck_assert(json_equal(ja, jb));

        /* and a copy has the same canonical form */
        HdInstanceSpec c;
        ck_assert_int_eq(hd_instance_spec_copy(&c, &a), 0);
        _cleanup_json_ json_t *jc = hd_codec_instance_spec_to_json(&c);
        ck_assert(json_equal(ja, jc));

        hd_instance_spec_clear(&a);
        hd_instance_spec_clear(&b);
        hd_instance_spec_clear(&c);
}

START_TEST(test_spec_canonical)
{
        HdInstanceSpec s;
        spec_ok(CT(",\"labels\":{\"z\":\"1\",\"a\":\"2\"},\"autostart\":true,"
                   "\"env\":{\"B\":\"b\",\"A\":\"a\"},\"user\":\"u\""),
                &s);
        _cleanup_json_ json_t *j = hd_codec_instance_spec_to_json(&s);
        _cleanup_free_ char *t = dumps(j);
        ck_assert_str_eq(
                t,
                "{\"name\":\"web-1\",\"kind\":\"container\",\"image\":\"busybox\",\"command\":[],"
                "\"env\":{\"A\":\"a\",\"B\":\"b\"},\"user\":\"u\",\"ports\":[],"
                "\"hostname\":\"web-1\","
                "\"labels\":{\"a\":\"2\",\"z\":\"1\"},"
                "\"resources\":{\"vcpus\":1.0,\"memory_mb\":256,\"pids_max\":1024},"
                "\"restart_policy\":{\"name\":\"no\",\"max_retries\":0},\"autostart\":true,"
                "\"security\":{\"privileged\":false,\"cap_add\":[],\"cap_drop\":[],"
                "\"seccomp\":\"default\",\"userns\":false}}");
        hd_instance_spec_clear(&s);

        spec_ok(VM(",\"resources\":{\"vcpus\":2,\"disk_gb\":8},"
                   "\"restart_policy\":{\"name\":\"on-failure\",\"max_retries\":5}"),
                &s);
        _cleanup_json_ json_t *v = hd_codec_instance_spec_to_json(&s);
        _cleanup_free_ char *vt = dumps(v);
        ck_assert_str_eq(vt, "{\"name\":\"vm-1\",\"kind\":\"vm\",\"image\":\"debian\","
                             "\"ports\":[],\"hostname\":\"vm-1\",\"labels\":{},"
                             "\"resources\":{\"vcpus\":2.0,\"memory_mb\":256,\"disk_gb\":8},"
                             "\"restart_policy\":{\"name\":\"on-failure\",\"max_retries\":5},"
                             "\"autostart\":false,"
                             "\"cloud_init\":{\"user_data\":null,\"ssh_authorized_keys\":[]}}");
        ck_assert(json_is_real(json_object_get(json_object_get(v, "resources"), "vcpus")));
        hd_instance_spec_clear(&s);

        /* a VM without disk_gb leaves it out; a container never has it */
        spec_ok(VM(""), &s);
        _cleanup_json_ json_t *v2 = hd_codec_instance_spec_to_json(&s);
        ck_assert_ptr_null(json_object_get(json_object_get(v2, "resources"), "disk_gb"));
        ck_assert_ptr_null(json_object_get(json_object_get(v2, "resources"), "pids_max"));
        ck_assert_ptr_null(json_object_get(v2, "command"));
        ck_assert_ptr_null(json_object_get(v2, "env"));
        ck_assert_ptr_null(json_object_get(v2, "workdir"));
        ck_assert_ptr_null(json_object_get(v2, "security"));
        hd_instance_spec_clear(&s);

        /* cloud_init and security as given, normalized */
        spec_ok(VM(",\"cloud_init\":{\"user_data\":\"#cloud-config\\n\","
                   "\"ssh_authorized_keys\":[\"" KEY_ED "\"]}"),
                &s);
        _cleanup_json_ json_t *v3 = hd_codec_instance_spec_to_json(&s);
        _cleanup_free_ char *v3t = dumps(json_object_get(v3, "cloud_init"));
        ck_assert_str_eq(v3t, "{\"user_data\":\"#cloud-config\\n\","
                              "\"ssh_authorized_keys\":[\"" KEY_ED "\"]}");
        hd_instance_spec_clear(&s);
        spec_ok(CT(",\"security\":{\"cap_add\":[\"net_admin\",\"all\",\"CAP_NET_ADMIN\"],"
                   "\"cap_drop\":[\"Cap_Chown\"],\"seccomp\":\"unconfined\",\"userns\":true}"),
                &s);
        _cleanup_json_ json_t *c3 = hd_codec_instance_spec_to_json(&s);
        _cleanup_free_ char *c3t = dumps(json_object_get(c3, "security"));
        ck_assert_str_eq(c3t, "{\"privileged\":false,\"cap_add\":[\"CAP_NET_ADMIN\",\"ALL\"],"
                              "\"cap_drop\":[\"CAP_CHOWN\"],\"seccomp\":\"unconfined\","
                              "\"userns\":true}");
        ck_assert_ptr_null(json_object_get(c3, "cloud_init"));
        hd_instance_spec_clear(&s);

        ck_assert_ptr_null(hd_codec_instance_spec_to_json(NULL));
}
END_TEST

START_TEST(test_spec_round_trip)
{
        assert_round_trip(CT(""));
        assert_round_trip(VM(""));
        assert_round_trip(VM(",\"resources\":{\"vcpus\":512,\"memory_mb\":64,\"disk_gb\":65536},"
                             "\"labels\":{\"os\":\"debian\"},\"autostart\":true"));
        assert_round_trip(CT(",\"command\":[\"sh\",\"-c\",\"printf '%s\\\\n' \\u00e9\\t\"],"
                             "\"env\":{\"X\":\"\\u0001\\n\",\"PATH\":\"/bin:/usr/bin\"},"
                             "\"workdir\":\"/tmp\",\"user\":\"1:2\",\"hostname\":\"Host-1\","
                             "\"labels\":{\"a/b.c_d-e\":\"\\u00e9\\u00e8\",\"x\":\"\"},"
                             "\"resources\":{\"vcpus\":0.07,\"memory_mb\":16777216,"
                             "\"pids_max\":1},"
                             "\"restart_policy\":{\"name\":\"on-failure\",\"max_retries\":1000},"
                             "\"autostart\":true"));
        assert_round_trip(CT(",\"resources\":{\"vcpus\":511.99}"));
        assert_round_trip(CT(",\"resources\":{\"vcpus\":0.1}"));
        assert_round_trip(CT(",\"resources\":{\"vcpus\":3.3}"));
        assert_round_trip(CT(",\"restart_policy\":{\"name\":\"always\"}"));
        assert_round_trip(VM(",\"cloud_init\":{}"));
        assert_round_trip(VM(",\"cloud_init\":{\"user_data\":\"\"}"));
        assert_round_trip(VM(",\"cloud_init\":{\"user_data\":\"#cloud-config\\nusers: []\\n"
                             "\\u00e9\\t\\u0001\",\"ssh_authorized_keys\":[\"" KEY_ED "\",\"" KEY_EC
                             "\"]}"));
        assert_round_trip(VM(",\"cloud_init\":{\"ssh_authorized_keys\":[\"" KEY_ED "\"]}"));
        assert_round_trip(CT(",\"security\":{}"));
        assert_round_trip(CT(",\"security\":{\"privileged\":true,\"cap_add\":[\"all\",\"net_raw\","
                             "\"CAP_NET_RAW\"],\"cap_drop\":[\"Cap_Mknod\"],"
                             "\"seccomp\":\"unconfined\",\"userns\":true}"));
        assert_round_trip(CT(",\"security\":{\"seccomp\":\"default\"}"));
        assert_round_trip(CT(",\"network\":\"none\""));
        assert_round_trip(CT(",\"network\":\"host\",\"ports\":[]"));
        assert_round_trip(CT(",\"network\":\"net0\",\"ip\":\"10.88.0.5\","
                             "\"ports\":[{\"host_port\":8080,\"port\":80},"
                             "{\"host_port\":53,\"port\":53,\"protocol\":\"udp\"}]"));
        /* no network yet (the core's to fill in), with ports and an address */
        assert_round_trip(CT(",\"ip\":\"10.88.0.5\",\"ports\":[{\"host_port\":1,\"port\":65535}]"));
        assert_round_trip(VM(",\"network\":\"lab-2\",\"ports\":[{\"host_port\":2222,\"port\":22,"
                             "\"protocol\":\"tcp\"}]"));
        assert_round_trip(VM(",\"network\":\"none\""));
}
END_TEST

START_TEST(test_instance_to_json)
{
        HdInstance i = { 0 };
        spec_ok(CT(",\"labels\":{\"tier\":\"web\"}"), &i.spec);
        strcpy(i.uuid, "0b5dbbd4-5b6e-4f3c-9d2a-1c2b3a4d5e6f");
        i.state = HD_STATE_RUNNING;
        i.revision = 3;
        i.created_at = 1795341600123;
        i.updated_at = 1795341601000;

        _cleanup_json_ json_t *j = hd_codec_instance_to_json(&i);
        ck_assert_ptr_nonnull(j);
        _cleanup_free_ char *t = dumps(j);
        ck_assert_str_eq(
                t,
                "{\"name\":\"web-1\",\"kind\":\"container\",\"image\":\"busybox\",\"command\":[],"
                "\"env\":{},\"network\":\"none\",\"ports\":[],\"hostname\":\"web-1\","
                "\"labels\":{\"tier\":\"web\"},"
                "\"resources\":{\"vcpus\":1.0,\"memory_mb\":256,\"pids_max\":1024},"
                "\"restart_policy\":{\"name\":\"no\",\"max_retries\":0},\"autostart\":false,"
                "\"security\":{\"privileged\":false,\"cap_add\":[],\"cap_drop\":[],"
                "\"seccomp\":\"default\",\"userns\":false},"
                "\"uuid\":\"0b5dbbd4-5b6e-4f3c-9d2a-1c2b3a4d5e6f\",\"state\":\"running\","
                "\"exit_code\":null,\"reason\":null,\"error\":null,"
                "\"placement\":{\"host\":null,\"driver\":null,\"reason\":null},"
                "\"revision\":3,\"created_at\":\"2026-11-22T10:00:00.123Z\","
                "\"updated_at\":\"2026-11-22T10:00:01.000Z\",\"ready_at\":null,"
                "\"addresses\":[]}");

        i.state = HD_STATE_EXITED;
        i.has_exit_code = true;
        i.exit_code = 137;
        i.reason = strdup("signal");
        i.error = strdup("bad \xff bytes"); /* not UTF-8: still representable */
        i.placement.host = strdup("local");
        i.placement.driver = strdup("container");
        i.placement.reason = strdup("admitted");
        _cleanup_json_ json_t *k = hd_codec_instance_to_json(&i);
        ck_assert_ptr_nonnull(k);
        ck_assert_str_eq(json_string_value(json_object_get(k, "state")), "exited");
        ck_assert_int_eq(json_integer_value(json_object_get(k, "exit_code")), 137);
        ck_assert_str_eq(json_string_value(json_object_get(k, "reason")), "signal");
        ck_assert_str_eq(json_string_value(json_object_get(k, "error")), "bad ? bytes");
        json_t *pl = json_object_get(k, "placement");
        ck_assert_str_eq(json_string_value(json_object_get(pl, "host")), "local");
        ck_assert_str_eq(json_string_value(json_object_get(pl, "driver")), "container");
        ck_assert_str_eq(json_string_value(json_object_get(pl, "reason")), "admitted");

        /* the spec part of an instance is accepted back as a spec once the status
         * fields are taken out */
        const char *status[] = { "uuid",       "state",     "exit_code", "reason",
                                 "error",      "placement", "revision",  "created_at",
                                 "updated_at", "ready_at",  "addresses" };
        for (size_t n = 0; n < HD_ARRAY_SIZE(status); n++)
                ck_assert_int_eq(json_object_del(k, status[n]), 0);
        HdInstanceSpec back;
        _cleanup_error_ HdError *err = NULL;
        ck_assert_int_eq(hd_codec_instance_spec_from_json(k, &back, &err), 0);
        hd_instance_spec_clear(&back);

        hd_instance_clear(&i);
        ck_assert_ptr_null(hd_codec_instance_to_json(NULL));
}
END_TEST

/* ---- PATCH ------------------------------------------------------------------ */

static void patch_bad(const char *body, const char *field, const char *msg)
{
        _cleanup_json_ json_t *j = parse_ok(body);
        _cleanup_error_ HdError *err = NULL;
        HdInstancePatch p;
        ck_assert_int_eq(hd_codec_instance_patch_from_json(j, &p, &err), -EINVAL);
        ck_assert_ptr_nonnull(err->field);
        ck_assert_msg(strcmp(err->field, field) == 0, "%s: field %s (%s)", body, err->field,
                      err->message);
        ck_assert_msg(strstr(err->message, msg), "%s: %s", body, err->message);
        ck_assert(!p.has_labels);
        hd_instance_patch_clear(&p);
}

/* ---- resources.cpuset --------------------------------------------------------- */

START_TEST(test_spec_cpuset)
{
        HdInstanceSpec s;
        spec_ok(CT(""), &s);
        ck_assert_ptr_null(s.resources.cpuset); /* no pinning */
        _cleanup_json_ json_t *none = hd_codec_instance_spec_to_json(&s);
        ck_assert_ptr_null(json_object_get(json_object_get(none, "resources"), "cpuset"));
        hd_instance_spec_clear(&s);

        /* kept as written (not made canonical), for both kinds */
        spec_ok(CT(",\"resources\":{\"cpuset\":\"0,2,4-5\"}"), &s);
        ck_assert_str_eq(s.resources.cpuset, "0,2,4-5");
        _cleanup_json_ json_t *j = hd_codec_instance_spec_to_json(&s);
        _cleanup_free_ char *t = dumps(json_object_get(j, "resources"));
        ck_assert_str_eq(t, "{\"vcpus\":1.0,\"memory_mb\":256,\"pids_max\":1024,"
                            "\"cpuset\":\"0,2,4-5\"}");
        HdInstanceSpec c;
        ck_assert_int_eq(hd_instance_spec_copy(&c, &s), 0);
        ck_assert_ptr_ne(c.resources.cpuset, s.resources.cpuset);
        ck_assert_str_eq(c.resources.cpuset, "0,2,4-5");
        hd_instance_spec_clear(&c);
        ck_assert_ptr_null(c.resources.cpuset);
        hd_instance_spec_clear(&s);

        spec_ok(VM(",\"resources\":{\"vcpus\":2,\"cpuset\":\"0-1\",\"disk_gb\":8}"), &s);
        ck_assert_str_eq(s.resources.cpuset, "0-1");
        _cleanup_json_ json_t *v = hd_codec_instance_spec_to_json(&s);
        _cleanup_free_ char *vt = dumps(json_object_get(v, "resources"));
        ck_assert_str_eq(vt, "{\"vcpus\":2.0,\"memory_mb\":256,\"disk_gb\":8,\"cpuset\":\"0-1\"}");
        hd_instance_spec_clear(&s);

        /* the stored canonical spec reads back exactly */
        assert_round_trip(CT(",\"resources\":{\"cpuset\":\"0\"}"));
        assert_round_trip(CT(",\"resources\":{\"vcpus\":0.5,\"cpuset\":\"5,0-2,1\"}"));
        assert_round_trip(VM(",\"resources\":{\"vcpus\":4,\"cpuset\":\"0-3\"}"));
        assert_round_trip(VM(",\"resources\":{\"cpuset\":\"1023\"}"));

        /* "10,0,0,…,0": 256 characters; "100,0,…,0": 257 */
        char list[300] = "10";
        for (int k = 0; k < 127; k++)
                strcat(list, ",0");
        _cleanup_free_ char *longest = fmt(CT(",\"resources\":{\"cpuset\":\"%s\"}"), list);
        _cleanup_free_ char *too_long = fmt(CT(",\"resources\":{\"cpuset\":\"0%s\"}"), list);
        spec_ok(longest, &s);
        ck_assert_uint_eq(strlen(s.resources.cpuset), 256);
        hd_instance_spec_clear(&s);
        spec_bad(too_long, "resources.cpuset", "at most 256 characters");

        /* as JSON string contents: "\\n" is a newline */
        static const char *const bad[] = {
                "",     "-1",  "1-", "3-1",  "0,",    ",0",
                "0,,1", " 0",  "0 ", "0, 1", "1024",  "0-1024",
                "a",    "0x1", "+1", "0\\n", "0-1-2", "99999999999999999999"
        };
        for (size_t k = 0; k < HD_ARRAY_SIZE(bad); k++) {
                _cleanup_free_ char *body = fmt(CT(",\"resources\":{\"cpuset\":\"%s\"}"), bad[k]);
                spec_bad(body, "resources.cpuset", "must be a CPU list");
                _cleanup_free_ char *vm = fmt(VM(",\"resources\":{\"cpuset\":\"%s\"}"), bad[k]);
                spec_bad(vm, "resources.cpuset", "must be a CPU list");
        }
        spec_bad(CT(",\"resources\":{\"cpuset\":0}"), "resources.cpuset", "must be a string");
        spec_bad(CT(",\"resources\":{\"cpuset\":null}"), "resources.cpuset", "must be a string");
        spec_bad(VM(",\"resources\":{\"cpuset\":[0,1]}"), "resources.cpuset", "must be a string");

        /* not a live-updatable limit: a PATCH names resources as unknown */
        patch_bad("{\"resources\":{\"cpuset\":\"0\"}}", "resources", "unknown field");
}
END_TEST

START_TEST(test_patch)
{
        _cleanup_(hd_instance_patch_clear) HdInstancePatch p;
        _cleanup_json_ json_t *j =
                parse_ok("{\"labels\":{\"tier\":\"db\",\"old\":null,\"new\":\"1\"}}");
        ck_assert_int_eq(hd_codec_instance_patch_from_json(j, &p, NULL), 0);
        ck_assert(p.has_labels);
        ck_assert_uint_eq(p.set_labels.n, 2);
        ck_assert_str_eq(hd_kvlist_get(&p.set_labels, "tier"), "db");
        ck_assert_uint_eq(p.remove_labels.n, 1);
        ck_assert_str_eq(p.remove_labels.items[0], "old");

        HdInstanceSpec s;
        spec_ok(CT(",\"labels\":{\"tier\":\"web\",\"old\":\"x\",\"keep\":\"k\"}"), &s);
        ck_assert_int_eq(hd_codec_instance_patch_apply(&p, &s, NULL), 0);
        ck_assert_uint_eq(s.labels.n, 3);
        ck_assert_str_eq(hd_kvlist_get(&s.labels, "tier"), "db");
        ck_assert_str_eq(hd_kvlist_get(&s.labels, "new"), "1");
        ck_assert_str_eq(hd_kvlist_get(&s.labels, "keep"), "k");
        ck_assert_ptr_null(hd_kvlist_get(&s.labels, "old"));

        /* removing an absent key is fine */
        ck_assert_int_eq(hd_codec_instance_patch_apply(&p, &s, NULL), 0);
        ck_assert_uint_eq(s.labels.n, 3);
        hd_instance_spec_clear(&s);

        /* an empty patch changes nothing */
        _cleanup_(hd_instance_patch_clear) HdInstancePatch e;
        _cleanup_json_ json_t *je = parse_ok("{}");
        ck_assert_int_eq(hd_codec_instance_patch_from_json(je, &e, NULL), 0);
        ck_assert(!e.has_labels);
        spec_ok(CT(",\"labels\":{\"a\":\"b\"}"), &s);
        ck_assert_int_eq(hd_codec_instance_patch_apply(&e, &s, NULL), 0);
        ck_assert_uint_eq(s.labels.n, 1);
        hd_instance_spec_clear(&s);
}
END_TEST

START_TEST(test_patch_bad)
{
        patch_bad("{\"name\":\"x\"}", "name", "unknown field `name`");
        patch_bad("{\"labels\":{},\"foo\":1}", "foo", "unknown field `foo`");
        /* a created instance's security and cloud-init data are fixed */
        patch_bad("{\"security\":{\"privileged\":true}}", "security", "unknown field `security`");
        patch_bad("{\"labels\":{},\"cloud_init\":{}}", "cloud_init", "unknown field `cloud_init`");
        /* and so is where it sits on the network */
        patch_bad("{\"network\":\"none\"}", "network", "unknown field `network`");
        patch_bad("{\"labels\":{},\"ip\":\"10.88.0.9\"}", "ip", "unknown field `ip`");
        patch_bad("{\"ports\":[]}", "ports", "unknown field `ports`");
        patch_bad("{\"labels\":[]}", "labels", "must be an object");
        patch_bad("{\"labels\":null}", "labels", "must be an object");
        patch_bad("{\"labels\":{\"a\":\"x\",\"tier\":5}}", "labels.tier",
                  "must be a string or null");
        patch_bad("{\"labels\":{\"-a\":\"x\"}}", "labels.-a", "not a valid label key");
        patch_bad("{\"labels\":{\"-a\":null}}", "labels.-a", "not a valid label key");
        patch_bad("{\"labels\":{\"a\":\"x\\ny\"}}", "labels.a", "control characters");

        char *labels = strdup("");
        for (int i = 0; i < 65; i++) {
                char *next = fmt("%s%s\"l%d\":\"v\"", labels, i ? "," : "", i);
                free(labels);
                labels = next;
        }
        _cleanup_free_ char *body = fmt("{\"labels\":{%s}}", labels);
        free(labels);
        patch_bad(body, "labels", "at most 64 labels");

        _cleanup_json_ json_t *a = json_array();
        HdInstancePatch p;
        ck_assert_int_eq(hd_codec_instance_patch_from_json(a, &p, NULL), -EINVAL);
}
END_TEST

START_TEST(test_patch_apply_limit)
{
        HdInstanceSpec s;
        spec_ok(CT(""), &s);
        for (int i = 0; i < 60; i++) {
                char k[16];
                snprintf(k, sizeof(k), "l%d", i);
                ck_assert_int_eq(hd_kvlist_set(&s.labels, k, "v"), 0);
        }

        /* 60 + 5 new = 65: refused, spec unchanged */
        _cleanup_(hd_instance_patch_clear) HdInstancePatch p;
        _cleanup_json_ json_t *j = parse_ok(
                "{\"labels\":{\"n1\":\"v\",\"n2\":\"v\",\"n3\":\"v\",\"n4\":\"v\",\"n5\":\"v\"}}");
        ck_assert_int_eq(hd_codec_instance_patch_from_json(j, &p, NULL), 0);
        _cleanup_error_ HdError *err = NULL;
        ck_assert_int_eq(hd_codec_instance_patch_apply(&p, &s, &err), -EINVAL);
        ck_assert_str_eq(err->field, "labels");
        ck_assert_uint_eq(s.labels.n, 60);
        ck_assert_ptr_null(hd_kvlist_get(&s.labels, "n1"));

        /* with one removal it fits exactly */
        _cleanup_(hd_instance_patch_clear) HdInstancePatch q;
        _cleanup_json_ json_t *k = parse_ok("{\"labels\":{\"n1\":\"v\",\"n2\":\"v\",\"n3\":\"v\","
                                            "\"n4\":\"v\",\"n5\":\"v\",\"l0\":null}}");
        ck_assert_int_eq(hd_codec_instance_patch_from_json(k, &q, NULL), 0);
        ck_assert_int_eq(hd_codec_instance_patch_apply(&q, &s, NULL), 0);
        ck_assert_uint_eq(s.labels.n, 64);
        hd_instance_spec_clear(&s);
}
END_TEST

/* ---- action arguments -------------------------------------------------------- */

static void args_ok(HdAction a, const char *body, const char *expect)
{
        _cleanup_json_ json_t *j = body ? parse_ok(body) : NULL;
        _cleanup_free_ char *args = NULL;
        _cleanup_error_ HdError *err = NULL;
        int r = hd_codec_action_args_from_json(a, j, &args, &err);
        ck_assert_msg(r == 0, "%s %s: %s", hd_action_to_string(a), body ? body : "(none)",
                      err ? err->message : "?");
        ck_assert_str_eq(args, expect);
}

static void args_bad(HdAction a, const char *body, const char *field, const char *msg)
{
        _cleanup_json_ json_t *j = parse_ok(body);
        char *args = NULL;
        _cleanup_error_ HdError *err = NULL;
        ck_assert_int_eq(hd_codec_action_args_from_json(a, j, &args, &err), -EINVAL);
        ck_assert_ptr_null(args);
        ck_assert_ptr_nonnull(err->field);
        ck_assert_msg(strcmp(err->field, field) == 0, "%s: field %s", body, err->field);
        ck_assert_msg(strstr(err->message, msg), "%s: %s", body, err->message);
}

START_TEST(test_action_args)
{
        args_ok(HD_ACTION_STOP, NULL, "{\"timeout\":10}");
        args_ok(HD_ACTION_STOP, "{}", "{\"timeout\":10}");
        args_ok(HD_ACTION_STOP, "{\"timeout\":0}", "{\"timeout\":0}");
        args_ok(HD_ACTION_RESTART, "{\"timeout\":3600}", "{\"timeout\":3600}");
        args_ok(HD_ACTION_KILL, NULL, "{\"signal\":9}");
        args_ok(HD_ACTION_KILL, "{\"signal\":\"SIGTERM\"}", "{\"signal\":15}");
        args_ok(HD_ACTION_KILL, "{\"signal\":\"TERM\"}", "{\"signal\":15}");
        args_ok(HD_ACTION_KILL, "{\"signal\":\"HUP\"}", "{\"signal\":1}");
        args_ok(HD_ACTION_KILL, "{\"signal\":\"SIGWINCH\"}", "{\"signal\":28}");
        args_ok(HD_ACTION_KILL, "{\"signal\":\"SYS\"}", "{\"signal\":31}");
        args_ok(HD_ACTION_KILL, "{\"signal\":1}", "{\"signal\":1}");
        args_ok(HD_ACTION_KILL, "{\"signal\":64}", "{\"signal\":64}");
        for (HdAction a = HD_ACTION_START; a < HD_ACTION__COUNT; a++)
                if (a != HD_ACTION_STOP && a != HD_ACTION_RESTART && a != HD_ACTION_KILL &&
                    !hd_action_is_job(a)) {
                        args_ok(a, NULL, "{}");
                        args_ok(a, "{}", "{}");
                        args_bad(a, "{\"timeout\":1}", "timeout", "unknown field `timeout`");
                }

        args_bad(HD_ACTION_STOP, "{\"timeout\":-1}", "timeout", "between 0 and 3600");
        args_bad(HD_ACTION_STOP, "{\"timeout\":3601}", "timeout", "between 0 and 3600");
        args_bad(HD_ACTION_STOP, "{\"timeout\":\"10\"}", "timeout", "must be an integer");
        args_bad(HD_ACTION_STOP, "{\"timeout\":1.5}", "timeout", "must be an integer");
        args_bad(HD_ACTION_STOP, "{\"timeout\":null}", "timeout", "must be an integer");
        args_bad(HD_ACTION_RESTART, "{\"force\":true}", "force", "unknown field `force`");
        args_bad(HD_ACTION_STOP, "{\"signal\":9}", "signal", "unknown field");
        args_bad(HD_ACTION_KILL, "{\"timeout\":9}", "timeout", "unknown field");
        args_bad(HD_ACTION_KILL, "{\"signal\":0}", "signal", "between 1 and 64");
        args_bad(HD_ACTION_KILL, "{\"signal\":65}", "signal", "between 1 and 64");
        args_bad(HD_ACTION_KILL, "{\"signal\":-9}", "signal", "between 1 and 64");
        args_bad(HD_ACTION_KILL, "{\"signal\":\"sigterm\"}", "signal", "`sigterm` is not a signal");
        args_bad(HD_ACTION_KILL, "{\"signal\":\"SIGFOO\"}", "signal", "not a signal");
        args_bad(HD_ACTION_KILL, "{\"signal\":\"SIG\"}", "signal", "not a signal");
        args_bad(HD_ACTION_KILL, "{\"signal\":\"15\"}", "signal", "not a signal");
        args_bad(HD_ACTION_KILL, "{\"signal\":15.0}", "signal", "must be a string or an integer");
        args_bad(HD_ACTION_KILL, "{\"signal\":true}", "signal", "must be a string or an integer");

        char *args = NULL;
        /* Image transfers take their request, not instance-action arguments. */
        ck_assert_int_eq(hd_codec_action_args_from_json(HD_ACTION_IMAGE_PULL, NULL, &args, NULL),
                         -EINVAL);
        ck_assert_int_eq(hd_codec_action_args_from_json(HD_ACTION_INVALID, NULL, &args, NULL),
                         -EINVAL);
        ck_assert_int_eq(hd_codec_action_args_from_json(HD_ACTION__COUNT, NULL, &args, NULL),
                         -EINVAL);
        _cleanup_json_ json_t *arr = json_array();
        ck_assert_int_eq(hd_codec_action_args_from_json(HD_ACTION_STOP, arr, &args, NULL), -EINVAL);
        ck_assert_ptr_null(args);
}
END_TEST

/* ---- operations, events, errors --------------------------------------------- */

START_TEST(test_operation_to_json)
{
        HdOperation o = { 0 };
        strcpy(o.id, "11111111-2222-4333-8444-555555555555");
        o.action = HD_ACTION_STOP;
        strcpy(o.instance_uuid, "0b5dbbd4-5b6e-4f3c-9d2a-1c2b3a4d5e6f");
        o.instance_name = strdup("web-1");
        o.status = HD_OP_RUNNING;
        o.args_json = strdup("{\"timeout\":10}");
        o.progress_done = 1;
        o.progress_total = 2;
        o.created_at = 1795341600123;
        o.updated_at = 1795341600123;

        _cleanup_json_ json_t *j = hd_codec_operation_to_json(&o);
        _cleanup_free_ char *t = dumps(j);
        ck_assert_str_eq(t, "{\"id\":\"11111111-2222-4333-8444-555555555555\",\"action\":\"stop\","
                            "\"instance\":{\"uuid\":\"0b5dbbd4-5b6e-4f3c-9d2a-1c2b3a4d5e6f\","
                            "\"name\":\"web-1\"},\"status\":\"running\","
                            "\"args\":{\"timeout\":10},\"error\":null,"
                            "\"progress\":{\"done\":1,\"total\":2},"
                            "\"created_at\":\"2026-11-22T10:00:00.123Z\","
                            "\"updated_at\":\"2026-11-22T10:00:00.123Z\",\"finished_at\":null}");

        o.status = HD_OP_FAILURE;
        o.error_code = strdup("unavailable");
        o.error_message = strdup("driver `vm` is unavailable");
        o.finished_at = 1795341601000;
        free(o.args_json);
        o.args_json = strdup("not json");
        _cleanup_json_ json_t *k = hd_codec_operation_to_json(&o);
        ck_assert_ptr_nonnull(k);
        json_t *e = json_object_get(k, "error");
        ck_assert_str_eq(json_string_value(json_object_get(e, "code")), "unavailable");
        ck_assert_str_eq(json_string_value(json_object_get(e, "message")),
                         "driver `vm` is unavailable");
        ck_assert_str_eq(json_string_value(json_object_get(k, "finished_at")),
                         "2026-11-22T10:00:01.000Z");
        ck_assert(json_is_object(json_object_get(k, "args")));
        ck_assert_uint_eq(json_object_size(json_object_get(k, "args")), 0);

        /* an array is not an object; NULL is {} too */
        free(o.args_json);
        o.args_json = strdup("[1]");
        _cleanup_json_ json_t *l = hd_codec_operation_to_json(&o);
        ck_assert_uint_eq(json_object_size(json_object_get(l, "args")), 0);
        free(o.args_json);
        o.args_json = NULL;
        _cleanup_json_ json_t *m = hd_codec_operation_to_json(&o);
        ck_assert(json_is_object(json_object_get(m, "args")));

        hd_operation_clear(&o);
        ck_assert_ptr_null(hd_codec_operation_to_json(NULL));
}
END_TEST

START_TEST(test_event_to_json)
{
        HdEvent e = { 0 };
        e.seq = 42;
        e.time = 1795341600123;
        e.type = strdup("instance.state");
        strcpy(e.instance_uuid, "0b5dbbd4-5b6e-4f3c-9d2a-1c2b3a4d5e6f");
        e.instance_name = strdup("web-1");
        e.data_json = strdup("{\"from\":\"created\",\"to\":\"starting\"}");
        _cleanup_json_ json_t *j = hd_codec_event_to_json(&e);
        _cleanup_free_ char *t = dumps(j);
        ck_assert_str_eq(t, "{\"seq\":42,\"time\":\"2026-11-22T10:00:00.123Z\","
                            "\"type\":\"instance.state\","
                            "\"instance\":{\"uuid\":\"0b5dbbd4-5b6e-4f3c-9d2a-1c2b3a4d5e6f\","
                            "\"name\":\"web-1\"},"
                            "\"data\":{\"from\":\"created\",\"to\":\"starting\"}}");
        hd_event_clear(&e);

        e.seq = 43;
        e.type = strdup("operation.updated");
        strcpy(e.operation_id, "11111111-2222-4333-8444-555555555555");
        e.data_json = strdup("{\"status\":");
        _cleanup_json_ json_t *k = hd_codec_event_to_json(&e);
        _cleanup_free_ char *kt = dumps(k);
        ck_assert_str_eq(kt, "{\"seq\":43,\"time\":\"1970-01-01T00:00:00.000Z\","
                             "\"type\":\"operation.updated\","
                             "\"operation\":\"11111111-2222-4333-8444-555555555555\","
                             "\"data\":{}}");
        hd_event_clear(&e);
        ck_assert_ptr_null(hd_codec_event_to_json(NULL));
}
END_TEST

START_TEST(test_error_to_json)
{
        _cleanup_json_ json_t *a = hd_codec_error_to_json("invalid_argument", "must be a string",
                                                          "resources.memory_mb");
        _cleanup_free_ char *ta = dumps(a);
        ck_assert_str_eq(ta,
                         "{\"error\":{\"code\":\"invalid_argument\","
                         "\"message\":\"must be a string\",\"field\":\"resources.memory_mb\"}}");
        _cleanup_json_ json_t *b = hd_codec_error_to_json("not_found", "no such instance", NULL);
        _cleanup_free_ char *tb = dumps(b);
        ck_assert_str_eq(tb,
                         "{\"error\":{\"code\":\"not_found\",\"message\":\"no such instance\"}}");
}
END_TEST

START_TEST(test_label_key)
{
        static const char *const ok[] = {
                "a", "A", "0", "tier", "app.kubernetes.io/name", "a-b_c", "a__b", "x.y/z-1"
        };
        static const char *const bad[] = { "",   "-a",  "a-",  "_a",  "a_", ".a",
                                           "a/", "a b", "a:b", "a=b", "é",  "a\n" };
        for (size_t i = 0; i < HD_ARRAY_SIZE(ok); i++)
                ck_assert_msg(hd_codec_label_key_is_valid(ok[i]), "%s", ok[i]);
        for (size_t i = 0; i < HD_ARRAY_SIZE(bad); i++)
                ck_assert_msg(!hd_codec_label_key_is_valid(bad[i]), "%s", bad[i]);
        ck_assert(!hd_codec_label_key_is_valid(NULL));
        _cleanup_free_ char *k63 = repeat('k', 63);
        _cleanup_free_ char *k64 = repeat('k', 64);
        ck_assert(hd_codec_label_key_is_valid(k63));
        ck_assert(!hd_codec_label_key_is_valid(k64));
}
END_TEST

/* ---- suite -------------------------------------------------------------------- */

START_TEST(test_image_pull_request)
{
        HdImagePullRequest r = { 0 };
        HdError *err = NULL;
        json_t *j = parse_ok("{\"ref\": \"127.0.0.1:5000/lib/app:1\", \"name\": \"app\","
                             " \"tls_verify\": false, \"username\": \"u\", \"password\": \"p\"}");
        ck_assert_int_eq(hd_codec_image_pull_from_json(j, &r, &err), 0);
        ck_assert_str_eq(r.ref, "127.0.0.1:5000/lib/app:1");
        ck_assert_str_eq(r.name, "app");
        ck_assert_ptr_null(r.tag);
        ck_assert(!r.tls_verify);
        ck_assert_str_eq(r.password, "p");
        hd_image_pull_request_clear(&r);
        json_decref(j);

        j = parse_ok("{\"ref\": \"h/r\"}");
        ck_assert_int_eq(hd_codec_image_pull_from_json(j, &r, &err), 0);
        ck_assert(r.tls_verify); /* the default */
        hd_image_pull_request_clear(&r);
        json_decref(j);

        const char *bad[] = { "{}",
                              "{\"ref\": 1}",
                              "{\"ref\": \"\"}",
                              "{\"ref\": \"h/r\", \"x\": 1}",
                              "{\"ref\": \"h/r\", \"tls_verify\": \"no\"}",
                              "{\"ref\": \"h/r\", \"username\": \"u\"}" };
        const char *field[] = { "ref", "ref", "ref", "x", "tls_verify", "password" };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                j = parse_ok(bad[i]);
                ck_assert_int_eq(hd_codec_image_pull_from_json(j, &r, &err), -EINVAL);
                ck_assert_msg(strcmp(err->field, field[i]) == 0, "%s: field %s", bad[i],
                              err->field);
                hd_error_free(err);
                err = NULL;
                json_decref(j);
        }
}
END_TEST

START_TEST(test_image_push_request)
{
        HdImagePullRequest r = { 0 };
        HdError *err = NULL;
        json_t *j = parse_ok("{\"ref\": \"127.0.0.1:5000/team/app:2\", \"tls_verify\": false,"
                             " \"username\": \"u\", \"password\": \"secret\"}");
        ck_assert_int_eq(hd_codec_image_push_from_json(j, &r, &err), 0);
        ck_assert_str_eq(r.ref, "127.0.0.1:5000/team/app:2");
        ck_assert(!r.tls_verify);
        /* What the operation records keeps everything but the password. */
        char *args = hd_codec_image_transfer_args(&r);
        ck_assert_ptr_nonnull(args);
        ck_assert_str_eq(args, "{\"ref\":\"127.0.0.1:5000/team/app:2\",\"tls_verify\":false,"
                               "\"username\":\"u\"}");
        ck_assert_ptr_null(strstr(args, "secret"));
        free(args);
        hd_image_pull_request_clear(&r);
        json_decref(j);

        /* name and tag belong to pulls only. */
        const char *bad[] = { "{\"ref\": \"h/r\", \"name\": \"n\"}",
                              "{\"ref\": \"h/r\", \"tag\": \"t\"}", "{\"tls_verify\": true}" };
        const char *field[] = { "name", "tag", "ref" };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                j = parse_ok(bad[i]);
                ck_assert_int_eq(hd_codec_image_push_from_json(j, &r, &err), -EINVAL);
                ck_assert_msg(strcmp(err->field, field[i]) == 0, "%s: field %s", bad[i],
                              err->field);
                hd_error_free(err);
                err = NULL;
                json_decref(j);
        }
}
END_TEST

START_TEST(test_exec_request)
{
        HdExecRequest r = { 0 };
        HdError *err = NULL;
        json_t *j = parse_ok("{\"command\": [\"sh\", \"-c\", \"id\"], \"env\": {\"A\": \"1\"},"
                             " \"workdir\": \"/tmp\", \"user\": \"1000:1000\", \"timeout\": 5,"
                             " \"stdin\": \"aGkAdGhlcmU=\", \"stdin_encoding\": \"base64\"}");
        ck_assert_int_eq(hd_codec_exec_request_from_json(j, &r, &err), 0);
        ck_assert_uint_eq(r.command.n, 3);
        ck_assert_str_eq(hd_kvlist_get(&r.env, "A"), "1");
        ck_assert_str_eq(r.workdir, "/tmp");
        ck_assert_str_eq(r.user, "1000:1000");
        ck_assert_int_eq(r.timeout_s, 5);
        ck_assert_uint_eq(r.stdin_len, 8);
        ck_assert_int_eq(memcmp(r.stdin_data, "hi\0there", 8), 0);
        hd_exec_request_clear(&r);
        json_decref(j);

        j = parse_ok("{\"command\": [\"true\"]}");
        ck_assert_int_eq(hd_codec_exec_request_from_json(j, &r, &err), 0);
        ck_assert_int_eq(r.timeout_s, 60);
        ck_assert_ptr_null(r.stdin_data);
        hd_exec_request_clear(&r);
        json_decref(j);

        const char *bad[] = {
                "{}",
                "{\"command\": []}",
                "{\"command\": \"ls\"}",
                "{\"command\": [1]}",
                "{\"command\": [\"\"]}",
                "{\"command\": [\"x\"], \"cmd\": 1}",
                "{\"command\": [\"x\"], \"env\": {\"1A\": \"x\"}}",
                "{\"command\": [\"x\"], \"workdir\": \"tmp\"}",
                "{\"command\": [\"x\"], \"workdir\": \"/a\\nb\"}",
                "{\"command\": [\"x\"], \"user\": \"a b\"}",
                "{\"command\": [\"x\"], \"timeout\": 0}",
                "{\"command\": [\"x\"], \"stdin\": \"@@@\", \"stdin_encoding\": \"base64\"}",
                "{\"command\": [\"x\"], \"stdin_encoding\": \"hex\"}"
        };
        const char *field[] = { "command", "command", "command",       "command[0]", "command[0]",
                                "cmd",     "env.1A",  "workdir",       "workdir",    "user",
                                "timeout", "stdin",   "stdin_encoding" };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                j = parse_ok(bad[i]);
                ck_assert_int_eq(hd_codec_exec_request_from_json(j, &r, &err), -EINVAL);
                ck_assert_msg(strcmp(err->field, field[i]) == 0, "%s: field %s", bad[i],
                              err->field);
                hd_error_free(err);
                err = NULL;
                json_decref(j);
        }
}
END_TEST

START_TEST(test_exec_result_encoding)
{
        HdExecResult r = {
                .exit_code = 3, .out = strdup("hi\n"), .out_len = 3, .err = strdup(""), .err_len = 0
        };
        json_t *j = hd_codec_exec_result_to_json(&r);
        ck_assert_str_eq(json_string_value(json_object_get(j, "encoding")), "utf-8");
        ck_assert_str_eq(json_string_value(json_object_get(j, "stdout")), "hi\n");
        ck_assert_int_eq(json_integer_value(json_object_get(j, "exit_code")), 3);
        json_decref(j);
        /* Not UTF-8, or a NUL: both outputs in base64. */
        r.out[1] = '\0';
        j = hd_codec_exec_result_to_json(&r);
        ck_assert_str_eq(json_string_value(json_object_get(j, "encoding")), "base64");
        ck_assert_str_eq(json_string_value(json_object_get(j, "stdout")), "aAAK");
        ck_assert_str_eq(json_string_value(json_object_get(j, "stderr")), "");
        json_decref(j);
        r.out[1] = (char)0xff;
        j = hd_codec_exec_result_to_json(&r);
        ck_assert_str_eq(json_string_value(json_object_get(j, "encoding")), "base64");
        json_decref(j);
        hd_exec_result_clear(&r);
}
END_TEST

/* ---- networking: the spec's network, ip and ports ----------------------------- */

START_TEST(test_spec_network)
{
        HdInstanceSpec s;

        /* absent: NULL, for the core to fill in with the default network */
        spec_ok(CT(""), &s);
        ck_assert_ptr_null(s.network);
        ck_assert_ptr_null(s.ip);
        ck_assert_ptr_null(s.ports);
        ck_assert_uint_eq(s.n_ports, 0);
        hd_instance_spec_clear(&s);
        spec_ok(VM(""), &s);
        ck_assert_ptr_null(s.network);
        hd_instance_spec_clear(&s);

        /* `none` is kept as given: NULL would mean the default network */
        spec_ok(CT(",\"network\":\"none\""), &s);
        ck_assert_str_eq(s.network, "none");
        hd_instance_spec_clear(&s);
        spec_ok(VM(",\"network\":\"none\""), &s);
        ck_assert_str_eq(s.network, "none");
        hd_instance_spec_clear(&s);
        spec_ok(CT(",\"network\":\"host\""), &s);
        ck_assert_str_eq(s.network, "host");
        hd_instance_spec_clear(&s);

        /* a network's name, for both kinds; 1 and 15 characters */
        spec_ok(VM(",\"network\":\"hostd0\",\"ip\":\"10.88.0.10\""), &s);
        ck_assert_str_eq(s.network, "hostd0");
        ck_assert_str_eq(s.ip, "10.88.0.10");
        hd_instance_spec_clear(&s);
        spec_ok(CT(",\"network\":\"a\""), &s);
        ck_assert_str_eq(s.network, "a");
        hd_instance_spec_clear(&s);
        spec_ok(CT(",\"network\":\"abcdefghijklmn5\""), &s);
        ck_assert_str_eq(s.network, "abcdefghijklmn5");
        hd_instance_spec_clear(&s);
        spec_ok(CT(",\"network\":\"a-b--c\""), &s);
        hd_instance_spec_clear(&s);

        /* ip without a network: on the default one */
        spec_ok(CT(",\"ip\":\"192.168.7.254\""), &s);
        ck_assert_ptr_null(s.network);
        ck_assert_str_eq(s.ip, "192.168.7.254");
        hd_instance_spec_clear(&s);

        /* ports: protocol tcp unless told; the same host port for tcp and udp */
        spec_ok(CT(",\"network\":\"net0\",\"ports\":[{\"host_port\":8080,\"port\":80},"
                   "{\"port\":53,\"host_port\":53,\"protocol\":\"udp\"},"
                   "{\"host_port\":53,\"port\":53,\"protocol\":\"tcp\"},"
                   "{\"host_port\":65535,\"port\":1}]"),
                &s);
        ck_assert_uint_eq(s.n_ports, 4);
        ck_assert_int_eq(s.ports[0].host_port, 8080);
        ck_assert_int_eq(s.ports[0].port, 80);
        ck_assert_int_eq(s.ports[0].protocol, HD_PROTO_TCP);
        ck_assert_int_eq(s.ports[1].host_port, 53);
        ck_assert_int_eq(s.ports[1].protocol, HD_PROTO_UDP);
        ck_assert_int_eq(s.ports[2].protocol, HD_PROTO_TCP);
        ck_assert_int_eq(s.ports[3].host_port, 65535);
        ck_assert_int_eq(s.ports[3].port, 1);
        _cleanup_json_ json_t *j = hd_codec_instance_spec_to_json(&s);
        _cleanup_free_ char *t = dumps(json_object_get(j, "ports"));
        ck_assert_str_eq(t, "[{\"host_port\":8080,\"port\":80,\"protocol\":\"tcp\"},"
                            "{\"host_port\":53,\"port\":53,\"protocol\":\"udp\"},"
                            "{\"host_port\":53,\"port\":53,\"protocol\":\"tcp\"},"
                            "{\"host_port\":65535,\"port\":1,\"protocol\":\"tcp\"}]");
        ck_assert_str_eq(json_string_value(json_object_get(j, "network")), "net0");
        ck_assert_ptr_null(json_object_get(j, "ip"));
        hd_instance_spec_clear(&s);

        /* an empty list is no ports, with any network */
        spec_ok(CT(",\"network\":\"none\",\"ports\":[]"), &s);
        ck_assert_uint_eq(s.n_ports, 0);
        hd_instance_spec_clear(&s);

        /* a canonical spec names network and ip as stored */
        spec_ok(CT(",\"network\":\"net0\",\"ip\":\"10.0.0.2\""), &s);
        _cleanup_json_ json_t *c = hd_codec_instance_spec_to_json(&s);
        _cleanup_free_ char *ct = dumps(c);
        ck_assert_msg(strstr(ct, "\"user\"") == NULL &&
                              strstr(ct, "\"env\":{},\"network\":\"net0\",\"ip\":\"10.0.0.2\","
                                         "\"ports\":[],\"hostname\":\"web-1\""),
                      "%s", ct);
        hd_instance_spec_clear(&s);
}
END_TEST

/* The core fills a NULL network in after parsing; ip and ports must then still have
 * a network to go with. */
START_TEST(test_spec_check_network)
{
        HdInstanceSpec s;
        _cleanup_error_ HdError *err = NULL;

        spec_ok(CT(",\"ip\":\"10.88.0.5\",\"ports\":[{\"host_port\":80,\"port\":80}]"), &s);
        ck_assert_int_eq(hd_codec_instance_spec_check_network(&s, NULL), 0);
        s.network = strdup("hostd0");
        ck_assert_int_eq(hd_codec_instance_spec_check_network(&s, NULL), 0);
        free(s.network);
        s.network = strdup("none");
        ck_assert_int_eq(hd_codec_instance_spec_check_network(&s, &err), -EINVAL);
        ck_assert_str_eq(err->field, "ip");
        hd_error_free(err);
        err = NULL;
        free(s.ip);
        s.ip = NULL;
        ck_assert_int_eq(hd_codec_instance_spec_check_network(&s, &err), -EINVAL);
        ck_assert_str_eq(err->field, "ports");
        ck_assert_msg(strstr(err->message, "network `none`"), "%s", err->message);
        /* which the stored form would not pass either */
        _cleanup_json_ json_t *j = hd_codec_instance_spec_to_json(&s);
        HdInstanceSpec back;
        ck_assert_int_eq(hd_codec_instance_spec_from_json(j, &back, NULL), -EINVAL);
        s.n_ports = 0;
        ck_assert_int_eq(hd_codec_instance_spec_check_network(&s, NULL), 0);
        hd_instance_spec_clear(&s);
}
END_TEST

START_TEST(test_spec_ports_limit)
{
        char *ports = strdup("");
        for (int i = 0; i < HD_PORTS_MAX + 1; i++) {
                char *next =
                        fmt("%s%s{\"host_port\":%d,\"port\":80}", ports, i ? "," : "", 10000 + i);
                free(ports);
                ports = next;
                if (i == HD_PORTS_MAX - 1) {
                        _cleanup_free_ char *ok = fmt(CT(",\"ports\":[%s]"), ports);
                        HdInstanceSpec s;
                        spec_ok(ok, &s);
                        ck_assert_uint_eq(s.n_ports, HD_PORTS_MAX);
                        ck_assert_int_eq(s.ports[HD_PORTS_MAX - 1].host_port,
                                         10000 + HD_PORTS_MAX - 1);
                        hd_instance_spec_clear(&s);
                        assert_round_trip(ok);
                }
        }
        _cleanup_free_ char *bad = fmt(CT(",\"ports\":[%s]"), ports);
        free(ports);
        spec_bad(bad, "ports", "at most 64 entries");
}
END_TEST

START_TEST(test_instance_addresses_to_json)
{
        HdInstance i = { 0 };
        spec_ok(VM(",\"network\":\"net0\""), &i.spec);
        strcpy(i.uuid, "0b5dbbd4-5b6e-4f3c-9d2a-1c2b3a4d5e6f");
        i.revision = 1;
        i.n_addresses = 1;
        i.addresses = calloc(1, sizeof(*i.addresses));
        ck_assert_ptr_nonnull(i.addresses);
        i.addresses[0].network = strdup("net0");
        i.addresses[0].bridge = strdup("net0");
        strcpy(i.addresses[0].address, "10.88.0.2");
        i.addresses[0].prefix_len = 24;
        strcpy(i.addresses[0].gateway, "10.88.0.1");
        strcpy(i.addresses[0].mac, "02:00:0a:58:00:02");
        i.addresses[0].mtu = 1500;

        _cleanup_json_ json_t *j = hd_codec_instance_to_json(&i);
        ck_assert_ptr_nonnull(j);
        ck_assert_str_eq(json_string_value(json_object_get(j, "network")), "net0");
        _cleanup_free_ char *t = dumps(json_object_get(j, "addresses"));
        ck_assert_str_eq(t, "[{\"network\":\"net0\",\"bridge\":\"net0\",\"address\":\"10.88.0.2\","
                            "\"prefix_len\":24,\"gateway\":\"10.88.0.1\","
                            "\"mac\":\"02:00:0a:58:00:02\",\"mtu\":1500}]");

        /* copies keep them */
        HdInstance c;
        ck_assert_int_eq(hd_instance_copy(&c, &i), 0);
        _cleanup_json_ json_t *k = hd_codec_instance_to_json(&c);
        ck_assert(json_equal(j, k));
        hd_instance_clear(&c);

        /* a VM stored before networks existed: no network, shown as none */
        free(i.spec.network);
        i.spec.network = NULL;
        hd_instance_addresses_free(i.addresses, i.n_addresses);
        i.addresses = NULL;
        i.n_addresses = 0;
        _cleanup_json_ json_t *old = hd_codec_instance_to_json(&i);
        ck_assert_str_eq(json_string_value(json_object_get(old, "network")), "none");
        ck_assert(json_is_array(json_object_get(old, "addresses")));
        ck_assert_uint_eq(json_array_size(json_object_get(old, "addresses")), 0);
        /* while its stored (canonical) form leaves it out */
        _cleanup_json_ json_t *stored = hd_codec_instance_spec_to_json(&i.spec);
        ck_assert_ptr_null(json_object_get(stored, "network"));
        hd_instance_clear(&i);
}
END_TEST

/* ---- networking: POST /v1/networks and Network ----------------------------------- */

static void network_ok(const char *body, HdNetwork *ret)
{
        _cleanup_json_ json_t *j = parse_ok(body);
        _cleanup_error_ HdError *err = NULL;
        int r = hd_codec_network_create_from_json(j, ret, &err);
        ck_assert_msg(r == 0, "network rejected: %s: %s (field %s)", body, err ? err->message : "?",
                      err && err->field ? err->field : "-");
        ck_assert_ptr_null(err);
}

static void network_bad(const char *body, const char *field, const char *msg)
{
        _cleanup_json_ json_t *j = parse_ok(body);
        _cleanup_error_ HdError *err = NULL;
        HdNetwork n;
        memset(&n, 0xaa, sizeof(n));
        int r = hd_codec_network_create_from_json(j, &n, &err);
        ck_assert_msg(r == -EINVAL, "expected -EINVAL for %s, got %d", body, r);
        ck_assert_ptr_nonnull(err);
        ck_assert_ptr_nonnull(err->field);
        ck_assert_msg(strcmp(err->field, field) == 0, "%s: field `%s`, expected `%s` (%s)", body,
                      err->field, field, err->message);
        ck_assert_msg(strstr(err->message, msg), "%s: message `%s` lacks `%s`", body, err->message,
                      msg);
        ck_assert_ptr_null(n.name);
        ck_assert_ptr_null(n.subnet);
        ck_assert_ptr_null(n.gateway);
}

START_TEST(test_network_create)
{
        HdNetwork n;

        network_ok("{\"name\":\"net0\",\"subnet\":\"10.88.0.0/24\"}", &n);
        ck_assert_str_eq(n.name, "net0");
        ck_assert_str_eq(n.subnet, "10.88.0.0/24");
        ck_assert_str_eq(n.gateway, "10.88.0.1");
        ck_assert_int_eq(n.mtu, HD_NETWORK_MTU_DEFAULT);
        ck_assert(n.nat);
        ck_assert(!n.is_default);
        ck_assert_int_eq(n.created_at, 0);
        ck_assert_int_eq(n.used_by, 0);
        hd_network_clear(&n);
        ck_assert_ptr_null(n.name);

        network_ok(
                "{\"subnet\":\"172.20.0.0/16\",\"name\":\"lab-2\",\"gateway\":\"172.20.255.254\","
                "\"mtu\":9000,\"nat\":false}",
                &n);
        ck_assert_str_eq(n.subnet, "172.20.0.0/16");
        ck_assert_str_eq(n.gateway, "172.20.255.254");
        ck_assert_int_eq(n.mtu, 9000);
        ck_assert(!n.nat);
        hd_network_clear(&n);

        /* the edges: /8 and /29, 15-character names, mtu 576, nat true */
        network_ok("{\"name\":\"abcdefghijklmn5\",\"subnet\":\"10.0.0.0/8\",\"mtu\":576,"
                   "\"nat\":true}",
                   &n);
        ck_assert_str_eq(n.gateway, "10.0.0.1");
        ck_assert_int_eq(n.mtu, 576);
        ck_assert(n.nat);
        hd_network_clear(&n);
        network_ok("{\"name\":\"9\",\"subnet\":\"192.168.1.248/29\",\"gateway\":\"192.168.1.254\"}",
                   &n);
        ck_assert_str_eq(n.subnet, "192.168.1.248/29");
        ck_assert_str_eq(n.gateway, "192.168.1.254");
        hd_network_clear(&n);
        network_ok("{\"name\":\"a-b\",\"subnet\":\"100.64.0.0/10\"}", &n);
        ck_assert_str_eq(n.gateway, "100.64.0.1");
        hd_network_clear(&n);
        /* just below and above the ranges a bridge cannot use */
        network_ok("{\"name\":\"x\",\"subnet\":\"126.255.255.0/24\"}", &n);
        hd_network_clear(&n);
        network_ok("{\"name\":\"x\",\"subnet\":\"223.255.255.0/24\"}", &n);
        hd_network_clear(&n);
        network_ok("{\"name\":\"x\",\"subnet\":\"169.253.0.0/16\"}", &n);
        hd_network_clear(&n);

        /* the result serializes, and clearing twice (or NULL) is fine */
        network_ok("{\"name\":\"net0\",\"subnet\":\"10.88.0.0/24\"}", &n);
        n.is_default = true;
        n.created_at = 1795341600123;
        n.used_by = 3;
        _cleanup_json_ json_t *j = hd_codec_network_to_json(&n);
        ck_assert_ptr_nonnull(j);
        _cleanup_free_ char *t = dumps(j);
        ck_assert_str_eq(t, "{\"name\":\"net0\",\"bridge\":\"net0\",\"subnet\":\"10.88.0.0/24\","
                            "\"gateway\":\"10.88.0.1\",\"mtu\":1500,\"nat\":true,\"default\":true,"
                            "\"created_at\":\"2026-11-22T10:00:00.123Z\",\"used_by\":3}");
        HdNetwork c;
        ck_assert_int_eq(hd_network_copy(&c, &n), 0);
        _cleanup_json_ json_t *jc = hd_codec_network_to_json(&c);
        ck_assert(json_equal(j, jc));
        hd_network_clear(&c);
        hd_network_clear(&n);
        hd_network_clear(&n);
        hd_network_clear(NULL);
        ck_assert_ptr_null(hd_codec_network_to_json(NULL));

        /* what the API returns for a network is accepted back as a create request once
         * the output-only members are taken out */
        const char *out_only[] = { "bridge", "default", "created_at", "used_by" };
        for (size_t i = 0; i < HD_ARRAY_SIZE(out_only); i++)
                ck_assert_int_eq(json_object_del(j, out_only[i]), 0);
        _cleanup_error_ HdError *err = NULL;
        ck_assert_int_eq(hd_codec_network_create_from_json(j, &n, &err), 0);
        _cleanup_json_ json_t *back = hd_codec_network_to_json(&n);
        ck_assert_str_eq(json_string_value(json_object_get(back, "subnet")), "10.88.0.0/24");
        hd_network_clear(&n);

        _cleanup_json_ json_t *a = json_array();
        ck_assert_int_eq(hd_codec_network_create_from_json(a, &n, NULL), -EINVAL);
        ck_assert_ptr_null(n.name);
        ck_assert_int_eq(hd_codec_network_create_from_json(NULL, &n, NULL), -EINVAL);
}
END_TEST

typedef struct NetBadCase {
        const char *body;
        const char *field;
        const char *msg;
} NetBadCase;

#define NET(extra) "{\"name\":\"net0\",\"subnet\":\"10.88.0.0/24\"" extra "}"

static const NetBadCase net_bad_cases[] = {
        /* unknown, types, required: in that order */
        { NET(",\"bridge\":\"br0\""), "bridge", "unknown field `bridge`" },
        { NET(",\"default\":true"), "default", "unknown field `default`" },
        { "{\"name\":5,\"x\":1}", "x", "unknown field `x`" },
        { "{\"name\":5}", "name", "must be a string" },
        { "{\"name\":\"net0\",\"subnet\":[]}", "subnet", "must be a string" },
        { NET(",\"gateway\":167772161"), "gateway", "must be a string" },
        { NET(",\"mtu\":\"1500\""), "mtu", "must be an integer" },
        { NET(",\"mtu\":1500.0"), "mtu", "must be an integer" },
        { NET(",\"nat\":\"no\""), "nat", "must be a boolean" },
        { NET(",\"nat\":null"), "nat", "must be a boolean" },
        { "{\"subnet\":\"10.88.0.0/24\"}", "name", "is required" },
        { "{\"name\":\"Bad\"}", "subnet", "is required" },
        /* name */
        { "{\"name\":\"\",\"subnet\":\"10.88.0.0/24\"}", "name", "must not be empty" },
        { "{\"name\":\"abcdefghijklmnop\",\"subnet\":\"10.88.0.0/24\"}", "name",
          "at most 15 characters" },
        { "{\"name\":\"Net0\",\"subnet\":\"10.88.0.0/24\"}", "name", "not a valid network name" },
        { "{\"name\":\"-net\",\"subnet\":\"10.88.0.0/24\"}", "name", "not a valid network name" },
        { "{\"name\":\"net-\",\"subnet\":\"10.88.0.0/24\"}", "name", "not a valid network name" },
        { "{\"name\":\"net.0\",\"subnet\":\"10.88.0.0/24\"}", "name", "not a valid network name" },
        { "{\"name\":\"net 0\",\"subnet\":\"10.88.0.0/24\"}", "name", "not a valid network name" },
        { "{\"name\":\"none\",\"subnet\":\"10.88.0.0/24\"}", "name", "`none` is reserved" },
        { "{\"name\":\"host\",\"subnet\":\"10.88.0.0/24\"}", "name", "`host` is reserved" },
        { "{\"name\":\"default\",\"subnet\":\"10.88.0.0/24\"}", "name", "`default` is reserved" },
        { "{\"name\":\"all\",\"subnet\":\"10.88.0.0/24\"}", "name", "`all` is reserved" },
        /* subnet */
        { "{\"name\":\"n\",\"subnet\":\"10.88.0.0\"}", "subnet",
          "not an IPv4 subnet in CIDR form" },
        { "{\"name\":\"n\",\"subnet\":\"10.88.0.0/\"}", "subnet", "not an IPv4 subnet" },
        { "{\"name\":\"n\",\"subnet\":\"10.88.0.0/33\"}", "subnet", "not an IPv4 subnet" },
        { "{\"name\":\"n\",\"subnet\":\"10.88.0.0/024\"}", "subnet", "not an IPv4 subnet" },
        { "{\"name\":\"n\",\"subnet\":\"10.88.00.0/24\"}", "subnet", "not an IPv4 subnet" },
        { "{\"name\":\"n\",\"subnet\":\"10.88.0.0/24 \"}", "subnet", "not an IPv4 subnet" },
        { "{\"name\":\"n\",\"subnet\":\"fd00::/64\"}", "subnet", "not an IPv4 subnet" },
        { "{\"name\":\"n\",\"subnet\":\"\"}", "subnet", "not an IPv4 subnet" },
        { "{\"name\":\"n\",\"subnet\":\"10.0.0.0/7\"}", "subnet", "prefix length 7: use 8 to 29" },
        { "{\"name\":\"n\",\"subnet\":\"10.88.0.0/30\"}", "subnet",
          "prefix length 30: use 8 to 29" },
        { "{\"name\":\"n\",\"subnet\":\"10.88.0.4/32\"}", "subnet", "prefix length 32" },
        { "{\"name\":\"n\",\"subnet\":\"0.0.0.0/0\"}", "subnet", "prefix length 0" },
        { "{\"name\":\"n\",\"subnet\":\"10.88.0.1/24\"}", "subnet",
          "`10.88.0.1/24` has host bits set: use `10.88.0.0/24`" },
        { "{\"name\":\"n\",\"subnet\":\"172.20.3.7/16\"}", "subnet", "use `172.20.0.0/16`" },
        { "{\"name\":\"n\",\"subnet\":\"192.168.1.250/29\"}", "subnet", "use `192.168.1.248/29`" },
        { "{\"name\":\"n\",\"subnet\":\"127.0.0.0/8\"}", "subnet", "loopback" },
        { "{\"name\":\"n\",\"subnet\":\"127.1.0.0/16\"}", "subnet", "overlaps 127.0.0.0/8" },
        { "{\"name\":\"n\",\"subnet\":\"0.0.0.0/24\"}", "subnet", "overlaps 0.0.0.0/8" },
        { "{\"name\":\"n\",\"subnet\":\"169.254.0.0/24\"}", "subnet", "link-local" },
        { "{\"name\":\"n\",\"subnet\":\"169.0.0.0/8\"}", "subnet", "overlaps 169.254.0.0/16" },
        { "{\"name\":\"n\",\"subnet\":\"224.0.0.0/24\"}", "subnet", "multicast" },
        { "{\"name\":\"n\",\"subnet\":\"240.0.0.0/8\"}", "subnet", "overlaps 224.0.0.0/3" },
        { "{\"name\":\"n\",\"subnet\":\"255.255.255.0/24\"}", "subnet", "overlaps 224.0.0.0/3" },
        /* gateway */
        { NET(",\"gateway\":\"10.88.0\""), "gateway", "not an IPv4 address" },
        { NET(",\"gateway\":\"10.88.0.1/24\""), "gateway", "not an IPv4 address" },
        { NET(",\"gateway\":\"10.88.0.01\""), "gateway", "not an IPv4 address" },
        { NET(",\"gateway\":\"\""), "gateway", "not an IPv4 address" },
        { NET(",\"gateway\":\"10.89.0.1\""), "gateway",
          "`10.89.0.1` is not inside subnet `10.88.0.0/24`" },
        { NET(",\"gateway\":\"10.88.0.0\""), "gateway", "is the network address" },
        { NET(",\"gateway\":\"10.88.0.255\""), "gateway", "is the broadcast address" },
        /* mtu */
        { NET(",\"mtu\":575"), "mtu", "between 576 and 9000" },
        { NET(",\"mtu\":9001"), "mtu", "between 576 and 9000" },
        { NET(",\"mtu\":0"), "mtu", "between 576 and 9000" },
        { NET(",\"mtu\":-1500"), "mtu", "between 576 and 9000" },
        /* values in field order: name, subnet, gateway, mtu */
        { "{\"name\":\"Bad\",\"subnet\":\"x\",\"mtu\":1}", "name", "not a valid network name" },
        { "{\"name\":\"n\",\"subnet\":\"x\",\"gateway\":\"y\",\"mtu\":1}", "subnet",
          "not an IPv4 subnet" },
        { "{\"name\":\"n\",\"subnet\":\"10.0.0.0/8\",\"gateway\":\"y\",\"mtu\":1}", "gateway",
          "not an IPv4 address" },
};

START_TEST(test_network_create_bad)
{
        network_bad(net_bad_cases[_i].body, net_bad_cases[_i].field, net_bad_cases[_i].msg);
}
END_TEST

START_TEST(test_network_name)
{
        static const char *const good[] = { "a",      "0",     "net0",
                                            "a-b",    "a--b",  "abcdefghijklmn5",
                                            "hostd0", "nonet", "hosts" };
        static const char *const bad[] = {
                "",    "-", "-a",   "a-",   "A",       "a_b", "a.b",
                "a b", "é", "none", "host", "default", "all", "abcdefghijklmnop"
        };
        for (size_t i = 0; i < HD_ARRAY_SIZE(good); i++)
                ck_assert_msg(hd_codec_network_name_is_valid(good[i]), "%s", good[i]);
        for (size_t i = 0; i < HD_ARRAY_SIZE(bad); i++)
                ck_assert_msg(!hd_codec_network_name_is_valid(bad[i]), "%s", bad[i]);
        ck_assert(!hd_codec_network_name_is_valid(NULL));
        ck_assert_str_eq(hd_proto_to_string(HD_PROTO_UDP), "udp");
        ck_assert_int_eq(hd_proto_from_string("tcp"), HD_PROTO_TCP);
        ck_assert_int_eq(hd_proto_from_string("TCP"), HD_PROTO_INVALID);
        ck_assert_int_eq(hd_proto_from_string(NULL), HD_PROTO_INVALID);
}
END_TEST

/* Parsing refuses NUL in strings, but the codec takes json_t from anywhere: a value with
 * an embedded NUL must not pass as the part before it. */
START_TEST(test_network_embedded_nul)
{
        static const struct {
                const char *key, *value;
                size_t len;
                const char *field;
        } cases[] = {
                { "network", "net\0x", 5, "network" },
                { "network", "none\0", 5, "network" },
                { "ip", "10.88.0.7\0", 10, "ip" },
        };
        for (size_t i = 0; i < HD_ARRAY_SIZE(cases); i++) {
                _cleanup_json_ json_t *j = parse_ok(CT(""));
                json_object_set_new(j, cases[i].key, json_stringn(cases[i].value, cases[i].len));
                _cleanup_error_ HdError *err = NULL;
                HdInstanceSpec s;
                ck_assert_int_eq(hd_codec_instance_spec_from_json(j, &s, &err), -EINVAL);
                ck_assert_str_eq(err->field, cases[i].field);
        }

        _cleanup_json_ json_t *p = parse_ok(CT(",\"ports\":[{\"host_port\":1,\"port\":1}]"));
        json_object_set_new(json_array_get(json_object_get(p, "ports"), 0), "protocol",
                            json_stringn("tcp\0", 4));
        _cleanup_error_ HdError *perr = NULL;
        HdInstanceSpec s;
        ck_assert_int_eq(hd_codec_instance_spec_from_json(p, &s, &perr), -EINVAL);
        ck_assert_str_eq(perr->field, "ports[0].protocol");

        static const struct {
                const char *key, *value;
                size_t len;
        } net[] = {
                { "name", "net\0", 4 },
                { "subnet", "10.88.0.0/24\0", 13 },
                { "gateway", "10.88.0.1\0", 10 },
        };
        for (size_t i = 0; i < HD_ARRAY_SIZE(net); i++) {
                _cleanup_json_ json_t *j =
                        parse_ok("{\"name\":\"net0\",\"subnet\":\"10.88.0.0/24\"}");
                json_object_set_new(j, net[i].key, json_stringn(net[i].value, net[i].len));
                _cleanup_error_ HdError *err = NULL;
                HdNetwork n;
                ck_assert_int_eq(hd_codec_network_create_from_json(j, &n, &err), -EINVAL);
                ck_assert_str_eq(err->field, net[i].key);
                ck_assert_ptr_null(n.name);
        }
}
END_TEST

static Suite *codec_suite(void)
{
        Suite *s = suite_create("codec");

        TCase *tc = tcase_create("spec-types");
        tcase_add_test(tc, test_string_tables);
        tcase_add_test(tc, test_kvlist);
        tcase_add_test(tc, test_strv);
        tcase_add_test(tc, test_struct_copy_clear);
        suite_add_tcase(s, tc);

        tc = tcase_create("parse");
        tcase_add_test(tc, test_parse_object);
        suite_add_tcase(s, tc);

        tc = tcase_create("spec");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_spec_defaults_container);
        tcase_add_test(tc, test_spec_defaults_vm);
        tcase_add_test(tc, test_spec_full_container);
        tcase_add_test(tc, test_spec_accepts_edges);
        tcase_add_loop_test(tc, test_spec_bad, 0, (int)HD_ARRAY_SIZE(bad_cases));
        tcase_add_test(tc, test_spec_bad_limits);
        tcase_add_test(tc, test_spec_cloud_init);
        tcase_add_test(tc, test_spec_cloud_init_limits);
        tcase_add_test(tc, test_spec_security);
        tcase_add_test(tc, test_spec_not_object);
        tcase_add_test(tc, test_spec_canonical);
        tcase_add_test(tc, test_spec_round_trip);
        tcase_add_test(tc, test_spec_cpuset);
        tcase_add_test(tc, test_instance_to_json);
        suite_add_tcase(s, tc);

        tc = tcase_create("network");
        tcase_add_test(tc, test_spec_network);
        tcase_add_test(tc, test_spec_check_network);
        tcase_add_test(tc, test_spec_ports_limit);
        tcase_add_test(tc, test_instance_addresses_to_json);
        tcase_add_test(tc, test_network_create);
        tcase_add_loop_test(tc, test_network_create_bad, 0, (int)HD_ARRAY_SIZE(net_bad_cases));
        tcase_add_test(tc, test_network_name);
        tcase_add_test(tc, test_network_embedded_nul);
        suite_add_tcase(s, tc);

        tc = tcase_create("patch");
        tcase_add_test(tc, test_patch);
        tcase_add_test(tc, test_patch_bad);
        tcase_add_test(tc, test_patch_apply_limit);
        suite_add_tcase(s, tc);

        tc = tcase_create("output");
        tcase_add_test(tc, test_action_args);
        tcase_add_test(tc, test_operation_to_json);
        tcase_add_test(tc, test_event_to_json);
        tcase_add_test(tc, test_error_to_json);
        tcase_add_test(tc, test_label_key);
        tcase_add_test(tc, test_image_pull_request);
        tcase_add_test(tc, test_image_push_request);
        tcase_add_test(tc, test_exec_request);
        tcase_add_test(tc, test_exec_result_encoding);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(codec_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
