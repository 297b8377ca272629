/* exec in a VM through the QEMU guest agent, the protocol's side: the guest-exec and
 * guest-exec-status commands hostd sends, and what their replies say. Pure (jansson, no
 * libvirt): vm-exec.c sends them. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "hd-error.h"
#include "hd-spec.h"

/* The PATH a command gets when the request sets env: the agent then gives it exactly
 * the request's variables, and a command without PATH finds nothing. */
#define HD_VM_AGENT_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* The most a command sent to the agent may take. libvirt (9.0) writes an agent command
 * to qemu's socket with safewrite(), which forgets a partial write that ends in EAGAIN:
 * past the socket's buffer (wmem_default, 208 KiB by default) a command reaches the
 * guest with pieces repeated. */
#define HD_VM_AGENT_COMMAND_MAX (160 * 1024)

/* The guest-exec command for req, as JSON (malloc'd, in *ret): path and arg from
 * req->command, or `/bin/sh -c 'cd -- "$1" || exit 126; shift; exec "$@"'` around them
 * when req->workdir is set; env (when req->env has any) as VAR=value strings, with PATH
 * added unless set; stdin as input-data (base64); capture-output. -EINVAL naming `user`
 * when req->user is set (the agent runs every command as itself), and naming `stdin`
 * (or `command` without stdin) when the JSON passes HD_VM_AGENT_COMMAND_MAX. */
int hd_vm_agent_exec_command(const HdExecRequest *req, char **ret, HdError **err);
/* guest-exec-status for pid (malloc'd JSON; NULL when out of memory). */
char *hd_vm_agent_status_command(int64_t pid);
/* guest-exec of `/bin/sh -c 'kill -9 PID'`, for a command past its timeout. */
char *hd_vm_agent_kill_command(int64_t pid);

/* The pid in guest-exec's reply ({"return": {"pid": N}}); -EBADMSG when there is none. */
int hd_vm_agent_exec_pid(const char *reply, int64_t *ret);

/* guest-exec-status's reply: *ret_exited says whether the command ended; once it did,
 * ret gets its exit code (a signal N as 128 + N, as Docker reports it), both outputs
 * decoded (NUL-terminated, each cut at HD_EXEC_OUTPUT_MAX) and truncated when the agent
 * or that cut one. ret is cleared first and owns what it gets. -EBADMSG for a reply that
 * is not one (no `exited`, an ended command without exitcode or signal, data that is not
 * base64), -ENOMEM. */
int hd_vm_agent_exec_status(const char *reply, bool *ret_exited, HdExecResult *ret);
