/* Shared by the container driver's files: ct-driver.c (the vtable, the watcher) and
 * ct-driver-spawn.c (config.json and the monitor's start). Not for other modules. */
#pragma once

#include <pthread.h>
#include <stdint.h>

#include "ct-bundle.h"
#include "ct-cgroup.h"
#include "ct-driver.h"

/* One running container whose monitor the watcher follows. */
typedef struct CtWatch {
        uint64_t key; /* the epoll key: never reused, so a stale event finds nothing */
        char uuid[HD_UUID_STRING_MAX];
        int pidfd; /* the monitor's */
        /* An action is ending the container itself (stop, kill, remove): the exit is
         * its outcome, not news for the sink. */
        bool busy;
        struct CtWatch *next;
} CtWatch;

typedef struct CtDriver {
        HdDriver base;
        char *state_dir;
        char *root; /* <state_dir>/containers */
        HdImgStore *images;
        char *monitor;
        char *seccomp_path;
        bool allow_privileged;
        uint64_t caps_all;          /* every capability a container can be given here */
        pthread_mutex_t idmap_lock; /* held while a container's host id range is picked */
        HdCtCgroupHost cg;
        HdDriverSink sink;
        char detail[160]; /* for GET /v1 */

        pthread_mutex_t lock; /* the watch list */
        CtWatch *watches;
        uint64_t next_key;
        int epfd;
        int wake_fd; /* eventfd: shutdown */
        pthread_t thread;
        bool thread_started;
} CtDriver;

/* <root>/<uuid> */
char *hd_ct_driver_bundle_dir(CtDriver *d, const char *uuid);

/* What a spec's security knobs come to on this host. */
typedef struct CtSecurityPlan {
        uint64_t caps; /* the effective (and bounding) set */
        bool seccomp;  /* the default profile; false: none */
        bool privileged;
        bool userns;
} CtSecurityPlan;

/* Checks the spec's `security` against what this hostd allows and this host has, and
 * resolves it. -EPERM naming the field (`security.privileged`, `security.cap_add[i]`,
 * `security.seccomp`) for a privileged knob without allow-privileged; -EINVAL naming the
 * field for what cannot be honoured (an unknown capability, one hostd itself lacks,
 * privileged with userns). Both validate and start call it: a hostd restarted without
 * allow-privileged starts no privileged container. */
int hd_ct_driver_security(CtDriver *d, const HdSecurity *sec, CtSecurityPlan *ret, HdError **err);

/* Writes the bundle's config.json from the instance and its image (the image config
 * supplies what the spec leaves out: entrypoint + cmd, env, workdir, user), creating
 * the bundle's upper/work/rootfs directories. -EINVAL naming the field when the two
 * leave nothing to run. */
int hd_ct_driver_write_config(CtDriver *d, const HdInstance *inst, const char *dir, HdError **err);

/* Runs `hostd-monitor start DIR` and reads its one-line answer: *ret gets state.json
 * once the container's init has exec'd. The error names the step that failed. */
int hd_ct_driver_spawn(CtDriver *d, const char *dir, HdCtState *ret, HdError **err);

/* ct-driver-io.c: the logs, exec and stats slots. */
int hd_ct_driver_logs_open(HdDriver *d, const HdInstance *inst, const HdLogOptions *o,
                           HdDriverLogs **ret, HdError **err);
int hd_ct_driver_exec(HdDriver *d, const HdInstance *inst, const HdExecRequest *req,
                      HdExecResult *ret, HdError **err);
int hd_ct_driver_stats(HdDriver *d, const HdInstance *inst, HdStats *ret, HdError **err);
