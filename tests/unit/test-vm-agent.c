/* Tests for vm-agent.c: the guest-exec command built from exec requests (plain, env with
 * and without PATH, stdin, workdir, a user refused), the status and kill commands, and
 * the replies of guest-exec and guest-exec-status read back (running, exit code, signal,
 * outputs, truncation, and replies that make no sense). */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hd-json.h"
#include "hd-util.h"
#include "vm-agent.h"

/* ---- helpers --------------------------------------------------------------------- */

/* A request for argv (NULL-terminated); the caller clears it. */
static HdExecRequest request(const char *const *argv)
{
        HdExecRequest r = { .timeout_s = 60 };
        for (; *argv; argv++)
                ck_assert_int_eq(hd_strv_push(&r.command, *argv), 0);
        return r;
}

/* The command built for r, parsed; its "arguments" in *ret_args (borrowed). */
static json_t *built(const HdExecRequest *r, json_t **ret_args)
{
        _cleanup_free_ char *text = NULL;
        _cleanup_error_ HdError *err = NULL;
        ck_assert_int_eq(hd_vm_agent_exec_command(r, &text, &err), 0);
        json_error_t e;
        json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &e);
        ck_assert_msg(j, "not JSON: %s", text);
        ck_assert_str_eq(json_string_value(json_object_get(j, "execute")), "guest-exec");
        *ret_args = json_object_get(j, "arguments");
        ck_assert(json_is_object(*ret_args));
        ck_assert(json_is_true(json_object_get(*ret_args, "capture-output")));
        return j;
}

static void assert_strings(const json_t *a, const char *const *want)
{
        size_t n = 0;
        for (; want[n]; n++) {
                ck_assert_msg(json_is_string(json_array_get(a, n)), "item %zu", n);
                ck_assert_str_eq(json_string_value(json_array_get(a, n)), want[n]);
        }
        ck_assert_uint_eq(json_array_size(a), n);
}

/* ---- commands -------------------------------------------------------------------- */

START_TEST(test_exec_plain)
{
        _cleanup_(hd_exec_request_clear) HdExecRequest r =
                request((const char *[]){ "sh", "-c", "echo 'a \"b\"' | cat >&2", NULL });
        json_t *args;
        _cleanup_json_ json_t *j = built(&r, &args);
        ck_assert_str_eq(json_string_value(json_object_get(args, "path")), "sh");
        assert_strings(json_object_get(args, "arg"),
                       (const char *[]){ "-c", "echo 'a \"b\"' | cat >&2", NULL });
        /* No env: the agent's own; no stdin: no input-data. */
        ck_assert_ptr_null(json_object_get(args, "env"));
        ck_assert_ptr_null(json_object_get(args, "input-data"));

        _cleanup_(hd_exec_request_clear) HdExecRequest one =
                request((const char *[]){ "true", NULL });
        _cleanup_json_ json_t *j1 = built(&one, &args);
        assert_strings(json_object_get(args, "arg"), (const char *[]){ NULL });
}
END_TEST

START_TEST(test_exec_env_stdin)
{
        _cleanup_(hd_exec_request_clear) HdExecRequest r = request((const char *[]){ "cat", NULL });
        ck_assert_int_eq(hd_kvlist_set(&r.env, "B", "two words"), 0);
        ck_assert_int_eq(hd_kvlist_set(&r.env, "A", "1=x"), 0);
        r.stdin_data = malloc(4);
        memcpy(r.stdin_data, "hi\0x", 4);
        r.stdin_len = 4;
        json_t *args;
        _cleanup_json_ json_t *j = built(&r, &args);
        /* The agent gives exactly these: a PATH comes along. */
        assert_strings(
                json_object_get(args, "env"),
                (const char *[]){ "A=1=x", "B=two words", "PATH=" HD_VM_AGENT_DEFAULT_PATH, NULL });
        ck_assert_str_eq(json_string_value(json_object_get(args, "input-data")), "aGkAeA==");

        /* A PATH of the request's own is kept, and no other added. */
        ck_assert_int_eq(hd_kvlist_set(&r.env, "PATH", "/opt/bin"), 0);
        _cleanup_json_ json_t *j2 = built(&r, &args);
        assert_strings(json_object_get(args, "env"),
                       (const char *[]){ "A=1=x", "B=two words", "PATH=/opt/bin", NULL });
}
END_TEST

START_TEST(test_exec_workdir)
{
        _cleanup_(hd_exec_request_clear) HdExecRequest r =
                request((const char *[]){ "ls", "-l", "it's here", NULL });
        r.workdir = strdup("/srv/a dir");
        json_t *args;
        _cleanup_json_ json_t *j = built(&r, &args);
        /* The directory and the command are arguments of a fixed script. */
        ck_assert_str_eq(json_string_value(json_object_get(args, "path")), "/bin/sh");
        assert_strings(json_object_get(args, "arg"),
                       (const char *[]){ "-c", "cd -- \"$1\" || exit 126; shift; exec \"$@\"", "sh",
                                         "/srv/a dir", "ls", "-l", "it's here", NULL });
}
END_TEST

START_TEST(test_exec_refused)
{
        _cleanup_(hd_exec_request_clear) HdExecRequest r = request((const char *[]){ "id", NULL });
        r.user = strdup("1000");
        _cleanup_free_ char *text = NULL;
        _cleanup_error_ HdError *err = NULL;
        ck_assert_int_eq(hd_vm_agent_exec_command(&r, &text, &err), -EINVAL);
        ck_assert_ptr_null(text);
        ck_assert_str_eq(err->field, "user");
        ck_assert_ptr_nonnull(strstr(err->message, "kind `vm`"));

        /* Past what libvirt can send the agent: stdin, or the command when it has none. */
        _cleanup_(hd_exec_request_clear) HdExecRequest big =
                request((const char *[]){ "cat", NULL });
        big.stdin_len = HD_VM_AGENT_COMMAND_MAX / 4 * 3;
        big.stdin_data = calloc(1, big.stdin_len);
        _cleanup_error_ HdError *e1 = NULL;
        ck_assert_int_eq(hd_vm_agent_exec_command(&big, &text, &e1), -EINVAL);
        ck_assert_str_eq(e1->field, "stdin");
        big.stdin_len = HD_VM_AGENT_COMMAND_MAX / 4 * 3 - 200;
        ck_assert_int_eq(hd_vm_agent_exec_command(&big, &text, NULL), 0);
        ck_assert_uint_le(strlen(text), HD_VM_AGENT_COMMAND_MAX);
        free(TAKE_PTR(text));
        _cleanup_(hd_exec_request_clear) HdExecRequest args =
                request((const char *[]){ "echo", NULL });
        char *arg = malloc(4001);
        memset(arg, 'a', 4000);
        arg[4000] = '\0';
        for (int k = 0; k < 50; k++)
                ck_assert_int_eq(hd_strv_push(&args.command, arg), 0);
        free(arg);
        _cleanup_error_ HdError *e3 = NULL;
        ck_assert_int_eq(hd_vm_agent_exec_command(&args, &text, &e3), -EINVAL);
        ck_assert_str_eq(e3->field, "command");
        ck_assert_ptr_null(text);

        _cleanup_(hd_exec_request_clear) HdExecRequest empty = { 0 };
        _cleanup_error_ HdError *e2 = NULL;
        ck_assert_int_eq(hd_vm_agent_exec_command(&empty, &text, &e2), -EINVAL);
        ck_assert_str_eq(e2->field, "command");
}
END_TEST

START_TEST(test_status_and_kill_commands)
{
        _cleanup_free_ char *st = hd_vm_agent_status_command(4242);
        json_error_t e;
        _cleanup_json_ json_t *j = json_loads(st, 0, &e);
        ck_assert_ptr_nonnull(j);
        ck_assert_str_eq(json_string_value(json_object_get(j, "execute")), "guest-exec-status");
        ck_assert_int_eq(
                json_integer_value(json_object_get(json_object_get(j, "arguments"), "pid")), 4242);

        _cleanup_free_ char *k = hd_vm_agent_kill_command(4242);
        _cleanup_json_ json_t *jk = json_loads(k, 0, &e);
        ck_assert_ptr_nonnull(jk);
        ck_assert_str_eq(json_string_value(json_object_get(jk, "execute")), "guest-exec");
        json_t *args = json_object_get(jk, "arguments");
        ck_assert_str_eq(json_string_value(json_object_get(args, "path")), "/bin/sh");
        assert_strings(json_object_get(args, "arg"),
                       (const char *[]){ "-c", "kill -9 4242", NULL });
}
END_TEST

/* ---- replies --------------------------------------------------------------------- */

START_TEST(test_exec_pid)
{
        int64_t pid = 0;
        ck_assert_int_eq(hd_vm_agent_exec_pid("{\"return\": {\"pid\": 1234}}", &pid), 0);
        ck_assert_int_eq(pid, 1234);
        static const char *const bad[] = { "{\"return\": {}}",
                                           "{\"return\": {\"pid\": \"1\"}}",
                                           "{\"return\": {\"pid\": 0}}",
                                           "{\"return\": 5}",
                                           "not json",
                                           "" };
        for (size_t k = 0; k < HD_ARRAY_SIZE(bad); k++)
                ck_assert_int_eq(hd_vm_agent_exec_pid(bad[k], &pid), -EBADMSG);
        ck_assert_int_eq(hd_vm_agent_exec_pid(NULL, &pid), -EBADMSG);
}
END_TEST

START_TEST(test_status_running_and_exited)
{
        _cleanup_(hd_exec_result_clear) HdExecResult res = { 0 };
        bool exited = true;
        ck_assert_int_eq(
                hd_vm_agent_exec_status("{\"return\": {\"exited\": false}}", &exited, &res), 0);
        ck_assert(!exited);

        /* "out\n", "err\n"; exit code 3 */
        ck_assert_int_eq(hd_vm_agent_exec_status("{\"return\": {\"exited\": true, \"exitcode\": 3, "
                                                 "\"out-data\": \"b3V0Cg==\", \"err-data\": "
                                                 "\"ZXJyCg==\"}}",
                                                 &exited, &res),
                         0);
        ck_assert(exited);
        ck_assert_int_eq(res.exit_code, 3);
        ck_assert_uint_eq(res.out_len, 4);
        ck_assert_str_eq(res.out, "out\n");
        ck_assert_uint_eq(res.err_len, 4);
        ck_assert_str_eq(res.err, "err\n");
        ck_assert(!res.truncated && !res.timed_out);

        /* A signal, as Docker says it; no output at all (qemu-ga leaves the data out). */
        ck_assert_int_eq(hd_vm_agent_exec_status(
                                 "{\"return\": {\"exited\": true, \"signal\": 9, \"exitcode\": 0}}",
                                 &exited, &res),
                         0);
        ck_assert(exited);
        ck_assert_int_eq(res.exit_code, 137);
        ck_assert_uint_eq(res.out_len, 0);
        ck_assert_uint_eq(res.err_len, 0);

        /* The agent cut an output. */
        ck_assert_int_eq(
                hd_vm_agent_exec_status("{\"return\": {\"exited\": true, \"exitcode\": 0, "
                                        "\"out-data\": \"AA==\", \"out-truncated\": true}}",
                                        &exited, &res),
                0);
        ck_assert(res.truncated);
        ck_assert_uint_eq(res.out_len, 1);
        ck_assert_int_eq(res.out[0], 0);
}
END_TEST

START_TEST(test_status_cut_at_max)
{
        size_t n = HD_EXEC_OUTPUT_MAX + 3;
        char *raw = malloc(n);
        ck_assert_ptr_nonnull(raw);
        memset(raw, 'x', n);
        _cleanup_free_ char *b64 = hd_base64_encode(raw, n);
        free(raw);
        _cleanup_free_ char *reply = NULL;
        ck_assert_int_ge(asprintf(&reply,
                                  "{\"return\": {\"exited\": true, \"exitcode\": 0, \"err-data\": "
                                  "\"%s\"}}",
                                  b64),
                         0);
        _cleanup_(hd_exec_result_clear) HdExecResult res = { 0 };
        bool exited = false;
        ck_assert_int_eq(hd_vm_agent_exec_status(reply, &exited, &res), 0);
        ck_assert(exited && res.truncated);
        ck_assert_uint_eq(res.err_len, HD_EXEC_OUTPUT_MAX);
        ck_assert_int_eq(res.err[res.err_len], '\0');
}
END_TEST

START_TEST(test_status_nonsense)
{
        static const char *const bad[] = {
                "",
                "{}",
                "{\"return\": {}}",
                "{\"return\": {\"exited\": 1}}",
                "{\"return\": {\"exited\": true}}",
                "{\"return\": {\"exited\": true, \"exitcode\": \"0\"}}",
                "{\"return\": {\"exited\": true, \"exitcode\": 0, \"out-data\": \"not base64!\"}}",
                "{\"return\": {\"exited\": true, \"exitcode\": 0, \"err-data\": 5}}",
                "{\"error\": {\"class\": \"GenericError\", \"desc\": \"no\"}}",
        };
        for (size_t k = 0; k < HD_ARRAY_SIZE(bad); k++) {
                _cleanup_(hd_exec_result_clear) HdExecResult res = { 0 };
                bool exited = true;
                ck_assert_msg(hd_vm_agent_exec_status(bad[k], &exited, &res) == -EBADMSG, "%s",
                              bad[k]);
                ck_assert(!exited);
                ck_assert_ptr_null(res.out);
                ck_assert_ptr_null(res.err);
        }
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("vm-agent");
        TCase *tc = tcase_create("commands");
        tcase_add_test(tc, test_exec_plain);
        tcase_add_test(tc, test_exec_env_stdin);
        tcase_add_test(tc, test_exec_workdir);
        tcase_add_test(tc, test_exec_refused);
        tcase_add_test(tc, test_status_and_kill_commands);
        suite_add_tcase(s, tc);
        TCase *rp = tcase_create("replies");
        tcase_add_test(rp, test_exec_pid);
        tcase_add_test(rp, test_status_running_and_exited);
        tcase_add_test(rp, test_status_cut_at_max);
        tcase_add_test(rp, test_status_nonsense);
        suite_add_tcase(s, rp);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
