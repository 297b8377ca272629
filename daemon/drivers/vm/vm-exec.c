/* exec in a running VM through its QEMU guest agent (libvirt's virDomainQemuAgentCommand):
 * guest-exec starts the command with its stdin, guest-exec-status is asked until it has
 * ended (every 5 ms at first, backing off to 100 ms), and a command past its timeout is
 * killed with another guest-exec (`kill -9`). vm-agent.c builds and reads the JSON. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libvirt/libvirt-qemu.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "hd-log.h"
#include "hd-util.h"
#include "vm-agent.h"
#include "vm-driver-internal.h"

/* How long one agent command may take. A large stdin takes a shell agent (the tiny
 * image's) a while to read; a guest that answers nothing in this time has no agent
 * worth the name. */
#define AGENT_CALL_TIMEOUT_S 30
#define POLL_FIRST_MS        5
#define POLL_MAX_MS          100
/* After the kill: how long the killed command's status (and output) is waited for. */
#define KILL_GRACE_MS 2000
#define KILLED_EXIT   137 /* 128 + SIGKILL, what a container's exec reports too */
#define SPAWN_FAILED  "Failed to execute child process" /* glib's, in qemu-ga */

static void domain_freep(virDomainPtr *p)
{
        hd_vm_domain_free(*p);
}

static void sleep_ms(int64_t ms)
{
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* ---- one agent command --------------------------------------------------------------- */

/* An agent command's failure, as libvirt reported it. */
typedef struct AgentFailure {
        int code; /* virErrorNumber */
        char message[512];
} AgentFailure;

/* Sends cmd; its reply (malloc'd) in *ret. On failure, *ret_fail says libvirt's why. */
static int agent_call(virDomainPtr dom, const char *cmd, int timeout_s, char **ret,
                      AgentFailure *ret_fail)
{
        *ret = virDomainQemuAgentCommand(dom, cmd, timeout_s, 0);
        if (*ret)
                return 0;
        virErrorPtr e = virGetLastError();
        ret_fail->code = e ? e->code : VIR_ERR_INTERNAL_ERROR;
        snprintf(ret_fail->message, sizeof(ret_fail->message), "%s", hd_vm_error_message());
        virResetLastError();
        return -EIO;
}

/* A failed agent command as hostd's error: the guest stopped (-EBUSY), its agent is not
 * connected or does not answer (-ENODEV: 503, worth a retry once the guest is up), the
 * agent has no guest-exec (-EOPNOTSUPP), or anything else the agent or libvirt said
 * (-EIO). */
static int agent_error(virDomainPtr dom, const HdInstance *inst, const AgentFailure *f,
                       HdError **err)
{
        const char *name = inst->spec.name;
        if (virDomainIsActive(dom) != 1) {
                virResetLastError();
                return hd_error_set(err, -EBUSY, "vm `%s` is not running", name);
        }
        switch (f->code) {
        case VIR_ERR_OPERATION_INVALID: /* libvirt's "domain is not running" */
                return hd_error_set(err, -EBUSY, "vm `%s` is not running", name);
        case VIR_ERR_ARGUMENT_UNSUPPORTED: /* no agent channel in the domain */
                return hd_error_set(err, -ENODEV, "vm `%s` has no guest agent channel (%s)", name,
                                    f->message);
        case VIR_ERR_AGENT_UNRESPONSIVE:
        case VIR_ERR_AGENT_UNSYNCED:
        case VIR_ERR_OPERATION_TIMEOUT: /* another agent command held on too long */
                return hd_error_set(err, -ENODEV,
                                    "the guest agent of vm `%s` is not connected or does not "
                                    "answer: the guest must run the QEMU guest agent (%s)",
                                    name, f->message);
        default:
                break;
        }
        if (strstr(f->message, "CommandNotFound") || strstr(f->message, "has not been found") ||
            strstr(f->message, "has been disabled"))
                return hd_error_set(err, -EOPNOTSUPP,
                                    "the guest agent of vm `%s` does not run commands (%s)", name,
                                    f->message);
        return hd_error_set(err, -EIO, "vm `%s`: guest agent: %s", name, f->message);
}

/* ---- the command's status ------------------------------------------------------------ */

/* Asks once: 1 and ret filled once the command ended, 0 while it runs. */
static int status_once(virDomainPtr dom, const HdInstance *inst, int64_t pid, HdExecResult *ret,
                       HdError **err)
{
        _cleanup_free_ char *cmd = hd_vm_agent_status_command(pid);
        if (!cmd)
                return hd_error_set(err, -ENOMEM, "out of memory");
        _cleanup_free_ char *reply = NULL;
        AgentFailure f;
        if (agent_call(dom, cmd, AGENT_CALL_TIMEOUT_S, &reply, &f) < 0)
                return agent_error(dom, inst, &f, err);
        bool exited = false;
        int r = hd_vm_agent_exec_status(reply, &exited, ret);
        if (r == -ENOMEM)
                return hd_error_set(err, r, "out of memory");
        if (r < 0)
                return hd_error_set(err, -EIO,
                                    "vm `%s`: the guest agent's guest-exec-status reply makes no "
                                    "sense: %.200s",
                                    inst->spec.name, reply);
        return exited ? 1 : 0;
}

/* Asks until the command ended (1) or deadline_ms (monotonic) passed (0). */
static int status_wait(virDomainPtr dom, const HdInstance *inst, int64_t pid, int64_t deadline_ms,
                       HdExecResult *ret, HdError **err)
{
        int64_t pause = POLL_FIRST_MS;
        for (;;) {
                int r = status_once(dom, inst, pid, ret, err);
                if (r != 0)
                        return r;
                int64_t left = deadline_ms - hd_monotonic_ms();
                if (left <= 0)
                        return 0;
                sleep_ms(pause < left ? pause : left);
                pause = pause * 2 > POLL_MAX_MS ? POLL_MAX_MS : pause * 2;
        }
}

/* The command ran past its timeout: kill -9 it (through the agent too), then collect
 * what it wrote and its status, which also lets the agent forget it. Best effort: a
 * command that cannot be killed or collected is reported killed all the same. */
static void kill_and_collect(virDomainPtr dom, const HdInstance *inst, int64_t pid,
                             HdExecResult *ret)
{
        _cleanup_error_ HdError *e = NULL;
        _cleanup_free_ char *cmd = hd_vm_agent_kill_command(pid);
        _cleanup_free_ char *reply = NULL;
        AgentFailure f;
        int64_t killer = 0;
        if (!cmd || agent_call(dom, cmd, AGENT_CALL_TIMEOUT_S, &reply, &f) < 0 ||
            hd_vm_agent_exec_pid(reply, &killer) < 0)
                hd_log_warn("vm %s: cannot kill command %lld past its timeout through the guest "
                            "agent: %s",
                            inst->spec.name, (long long)pid,
                            cmd ? (reply ? reply : f.message) : "out of memory");
        int64_t deadline = hd_monotonic_ms() + KILL_GRACE_MS;
        int r = status_wait(dom, inst, pid, deadline, ret, &e);
        if (r <= 0) {
                hd_exec_result_clear(ret);
                ret->exit_code = KILLED_EXIT;
                if (r < 0)
                        hd_log_debug("vm %s: no status of command %lld after its kill: %s",
                                     inst->spec.name, (long long)pid, e->message);
        }
        ret->timed_out = true;
        if (killer > 0) {
                _cleanup_(hd_exec_result_clear) HdExecResult k = { 0 };
                _cleanup_error_ HdError *e2 = NULL;
                (void)status_wait(dom, inst, killer, hd_monotonic_ms() + KILL_GRACE_MS, &k, &e2);
        }
}

/* ---- exec ---------------------------------------------------------------------------- */

/* guest-exec's own refusal to start the program (qemu-ga could not spawn it): the
 * answer a container's exec gives, exit code 127 (not found) or 126, the reason on
 * stderr. */
static int spawn_failed(const AgentFailure *f, HdExecResult *ret, HdError **err)
{
        const char *why = strstr(f->message, SPAWN_FAILED);
        *ret = (HdExecResult){ .exit_code = strstr(why, "No such file") ? 127 : 126 };
        if (asprintf(&ret->err, "%s\n", why) < 0) {
                ret->err = NULL;
                return hd_error_set(err, -ENOMEM, "out of memory");
        }
        ret->err_len = strlen(ret->err);
        return 0;
}

int hd_vm_exec(HdDriver *base, const HdInstance *inst, const HdExecRequest *req, HdExecResult *ret,
               HdError **err)
{
        VmDriver *d = vm_driver(base);
        *ret = (HdExecResult){ 0 };
        _cleanup_free_ char *cmd = NULL;
        int r = hd_vm_agent_exec_command(req, &cmd, err);
        if (r < 0)
                return r;
        _cleanup_(domain_freep) virDomainPtr dom = NULL;
        r = hd_vm_domain_lookup(d, inst->uuid, &dom, err);
        if (r < 0)
                return hd_error_wrap(err, "vm `%s`", inst->spec.name);
        if (r == 0 || virDomainIsActive(dom) != 1) {
                virResetLastError();
                return hd_error_set(err, -EBUSY, "vm `%s` is not running", inst->spec.name);
        }

        int64_t deadline = hd_monotonic_ms() + (int64_t)req->timeout_s * 1000;
        _cleanup_free_ char *reply = NULL;
        AgentFailure f;
        if (agent_call(dom, cmd, AGENT_CALL_TIMEOUT_S, &reply, &f) < 0) {
                if (f.code == VIR_ERR_INTERNAL_ERROR && strstr(f.message, SPAWN_FAILED))
                        return spawn_failed(&f, ret, err);
                return agent_error(dom, inst, &f, err);
        }
        int64_t pid = 0;
        if (hd_vm_agent_exec_pid(reply, &pid) < 0)
                return hd_error_set(err, -EIO,
                                    "vm `%s`: the guest agent's guest-exec reply has no pid: "
                                    "%.200s",
                                    inst->spec.name, reply);
        hd_log_debug("vm %s: guest agent runs `%s` as pid %lld", inst->spec.name,
                     req->command.items[0], (long long)pid);

        r = status_wait(dom, inst, pid, deadline, ret, err);
        if (r < 0)
                return r;
        if (r == 0)
                kill_and_collect(dom, inst, pid, ret);
        return 0;
}
