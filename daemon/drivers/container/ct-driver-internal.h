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
