/* exec through the QEMU guest agent, the protocol's side: guest-exec's command built
 * from an exec request, and the replies of guest-exec and guest-exec-status read back
 * (qemu's qga/qapi-schema.json describes both). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hd-json.h"
#include "hd-util.h"
#include "vm-agent.h"

/* cd to $1 (exit 126 as a container's exec does when its workdir is missing), then run
 * the rest: the directory and the command travel as arguments, never inside the script,
 * so nothing in them needs quoting. */
#define WORKDIR_SCRIPT "cd -- \"$1\" || exit 126; shift; exec \"$@\""

/* ---- commands ------------------------------------------------------------------------ */

static bool push(json_t *a, const char *s)
{
        return json_array_append_new(a, json_string(s)) == 0;
}

/* path and arg: the command itself, or the shell that changes to the workdir first. */
static bool command_args(const HdExecRequest *req, json_t *o)
{
        json_t *arg = json_array();
        if (json_object_set_new(o, "arg", arg) < 0)
                return false;
        size_t first = 1;
        if (req->workdir) {
                /* $0 is "sh"; $1 the directory; the command follows. */
                if (json_object_set_new(o, "path", json_string("/bin/sh")) < 0 ||
                    !push(arg, "-c") || !push(arg, WORKDIR_SCRIPT) || !push(arg, "sh") ||
                    !push(arg, req->workdir))
                        return false;
                first = 0;
        } else if (json_object_set_new(o, "path", json_string(req->command.items[0])) < 0) {
                return false;
        }
        for (size_t k = first; k < req->command.n; k++)
                if (!push(arg, req->command.items[k]))
                        return false;
        return true;
}

static bool command_env(const HdExecRequest *req, json_t *o)
{
        if (req->env.n == 0)
                return true; /* the agent's own environment */
        json_t *env = json_array();
        if (json_object_set_new(o, "env", env) < 0)
                return false;
        bool has_path = false;
        for (size_t k = 0; k < req->env.n; k++) {
                const HdKV *kv = &req->env.items[k];
                _cleanup_free_ char *s = NULL;
                if (asprintf(&s, "%s=%s", kv->key, kv->value) < 0 || !push(env, s))
                        return false;
                has_path = has_path || strcmp(kv->key, "PATH") == 0;
        }
        return has_path || push(env, "PATH=" HD_VM_AGENT_DEFAULT_PATH);
}

int hd_vm_agent_exec_command(const HdExecRequest *req, char **ret, HdError **err)
{
        *ret = NULL;
        if (req->user)
                return hd_error_set_field(err, -EINVAL, "user",
                                          "user is not supported for kind `vm`: the guest agent "
                                          "runs commands as its own user");
        if (req->command.n == 0)
                return hd_error_set_field(err, -EINVAL, "command", "command must not be empty");
        _cleanup_json_ json_t *args = json_object();
        _cleanup_json_ json_t *cmd = json_object();
        bool ok = args && cmd && command_args(req, args) && command_env(req, args) &&
                  json_object_set_new(args, "capture-output", json_true()) == 0;
        if (ok && req->stdin_len > 0) {
                _cleanup_free_ char *b64 = hd_base64_encode(req->stdin_data, req->stdin_len);
                ok = b64 && json_object_set_new(args, "input-data", json_string(b64)) == 0;
        }
        ok = ok && json_object_set_new(cmd, "execute", json_string("guest-exec")) == 0 &&
             json_object_set(cmd, "arguments", args) == 0;
        _cleanup_free_ char *text = ok ? json_dumps(cmd, JSON_COMPACT) : NULL;
        if (!text)
                return hd_error_set(err, -ENOMEM, "out of memory");
        size_t len = strlen(text);
        if (len > HD_VM_AGENT_COMMAND_MAX)
                return hd_error_set_field(err, -EINVAL, req->stdin_len > 0 ? "stdin" : "command",
                                          "for kind `vm`, the command with its stdin must fit "
                                          "in %u bytes of guest agent JSON (stdin goes as "
                                          "base64), not %zu",
                                          (unsigned)HD_VM_AGENT_COMMAND_MAX, len);
        *ret = TAKE_PTR(text);
        return 0;
}

char *hd_vm_agent_status_command(int64_t pid)
{
        char *s = NULL;
        return asprintf(&s,
                        "{\"execute\":\"guest-exec-status\",\"arguments\":{\"pid\":%" PRId64 "}}",
                        pid) < 0
                       ? NULL
                       : s;
}

char *hd_vm_agent_kill_command(int64_t pid)
{
        char *s = NULL;
        return asprintf(&s,
                        "{\"execute\":\"guest-exec\",\"arguments\":{\"path\":\"/bin/sh\","
                        "\"arg\":[\"-c\",\"kill -9 %" PRId64 "\"],\"capture-output\":true}}",
                        pid) < 0
                       ? NULL
                       : s;
}

/* ---- replies ------------------------------------------------------------------------- */

/* The reply's "return" member (borrowed from *ret_root, which the caller frees). */
static json_t *reply_return(const char *reply, json_t **ret_root)
{
        json_error_t e;
        *ret_root = reply ? json_loads(reply, JSON_REJECT_DUPLICATES, &e) : NULL;
        return json_object_get(*ret_root, "return");
}

int hd_vm_agent_exec_pid(const char *reply, int64_t *ret)
{
        _cleanup_json_ json_t *root = NULL;
        json_t *pid = json_object_get(reply_return(reply, &root), "pid");
        if (!json_is_integer(pid) || json_integer_value(pid) <= 0)
                return -EBADMSG;
        *ret = json_integer_value(pid);
        return 0;
}

/* One output: "<name>-data" (absent: nothing written) and "<name>-truncated". */
static int output(const json_t *r, const char *name, char **ret, size_t *ret_len, bool *truncated)
{
        char key[32];
        snprintf(key, sizeof(key), "%s-truncated", name);
        if (json_is_true(json_object_get(r, key)))
                *truncated = true;
        snprintf(key, sizeof(key), "%s-data", name);
        const json_t *data = json_object_get(r, key);
        if (!data)
                return 0;
        if (!json_is_string(data))
                return -EBADMSG;
        int rc = hd_base64_decode(json_string_value(data), json_string_length(data), ret, ret_len);
        if (rc < 0)
                return rc == -EINVAL ? -EBADMSG : rc;
        if (*ret_len > HD_EXEC_OUTPUT_MAX) {
                *ret_len = HD_EXEC_OUTPUT_MAX;
                (*ret)[*ret_len] = '\0';
                *truncated = true;
        }
        return 0;
}

int hd_vm_agent_exec_status(const char *reply, bool *ret_exited, HdExecResult *ret)
{
        hd_exec_result_clear(ret);
        *ret_exited = false;
        _cleanup_json_ json_t *root = NULL;
        const json_t *r = reply_return(reply, &root);
        const json_t *exited = json_object_get(r, "exited");
        if (!json_is_boolean(exited))
                return -EBADMSG;
        if (!json_is_true(exited))
                return 0;
        /* qemu-ga sets signal for a command a signal ended, else exitcode. */
        const json_t *sig = json_object_get(r, "signal"), *code = json_object_get(r, "exitcode");
        if (json_is_integer(sig))
                ret->exit_code = 128 + (int)json_integer_value(sig);
        else if (json_is_integer(code))
                ret->exit_code = (int)json_integer_value(code);
        else
                return -EBADMSG;
        int rc = output(r, "out", &ret->out, &ret->out_len, &ret->truncated);
        if (rc >= 0)
                rc = output(r, "err", &ret->err, &ret->err_len, &ret->truncated);
        if (rc < 0) {
                hd_exec_result_clear(ret);
                return rc;
        }
        *ret_exited = true;
        return 0;
}
