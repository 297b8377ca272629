/* The one driver vtable, shared by VMs and containers. The core sees only this.
 *
 * A NULL slot means "this kind cannot do that" and the API answers 501. Action
 * slots run on an operation worker thread, may block, and report the state the
 * instance ended up in through HdDriverResult; they never touch the store or the
 * HTTP layer. Changes a driver notices on its own (a guest powering off, a
 * container exiting) go through HdDriverSink, which the core turns into state
 * transitions and events. */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>

#include "hd-error.h"
#include "hd-spec.h"

typedef struct HdDriver HdDriver;

/* Arguments of an action, decoded by the core from the operation's args. */
typedef struct HdActionArgs {
        int timeout_s; /* stop, restart: seconds before forcing */
        int signal;    /* kill */
        bool force;    /* delete: stop first */
} HdActionArgs;

/* Per-operation context: cancellation and progress. */
typedef struct HdDriverOp {
        const char *op_id;
        const atomic_bool *cancel_requested;
        void (*progress)(struct HdDriverOp *op, int64_t done, int64_t total);
        void *core_data;
} HdDriverOp;

/* What an action left behind. */
typedef struct HdDriverResult {
        HdState state;
        bool has_exit_code;
        int exit_code;
        char reason[32];
} HdDriverResult;

typedef struct HdDriverSink {
        void *core;
        void (*state_changed)(void *core, const char *uuid, const HdDriverResult *r);
        /* The running instance is ready (a VM's console marker or guest agent), at
         * at_ms. Ignored unless the instance is running or paused. */
        void (*ready)(void *core, const char *uuid, int64_t at_ms);
} HdDriverSink;

/* ---- logs, exec and stats: the same shapes for both kinds -------------------------- */

/* An open log, read as text: a driver's own reader behind two slots. */
typedef struct HdDriverLogs HdDriverLogs;
struct HdDriverLogs {
        /* Copies at most max bytes of log text to out. > 0: bytes; 0: nothing now,
         * call again in a while; -ENODATA: the end (everything read, and not following
         * or the instance's process has ended); other < 0: an error. */
        ssize_t (*read)(HdDriverLogs *l, char *out, size_t max);
        void (*close)(HdDriverLogs *l);
};

/* What a driver found at init, for GET /v1. Strings are the driver's, valid while it
 * lives; NULL where a fact does not apply. */
typedef struct HdDriverFacts {
        const char *accel;        /* VMs: "kvm" or "tcg" */
        const char *accel_reason; /* why */
        const char *endpoint;     /* VMs: the libvirt URI */
        const char *detail;       /* one line on what it runs on */
        /* VMs: names of the domains libvirt held at init that carry no hostd metadata
         * (someone else's; reported, never touched). */
        char *const *foreign;
        size_t n_foreign;
        /* VMs: the hypervisor's and libvirt's versions ("7.2.0"), for benchmark
         * manifests; NULL when unknown. */
        const char *hypervisor_version;
        const char *libvirt_version;
} HdDriverFacts;

typedef int (*HdDriverActionFn)(HdDriver *d, const HdInstance *inst, const HdActionArgs *args,
                                HdDriverOp *op, HdDriverResult *ret, HdError **err);

struct HdDriver {
        HdKind kind;
        const char *name;

        /* Probes the host and prepares the driver. Failing leaves the driver
         * unavailable; the error's message becomes the reason GET /v1 reports. */
        int (*init)(HdDriver *d, const HdDriverSink *sink, HdError **err);
        void (*shutdown)(HdDriver *d);

        /* Rejects spec fields this driver cannot honour, naming the field. */
        int (*validate)(HdDriver *d, const HdInstanceSpec *spec, HdError **err);

        HdDriverActionFn start;
        HdDriverActionFn stop;
        HdDriverActionFn restart;
        HdDriverActionFn kill;
        HdDriverActionFn pause;
        HdDriverActionFn resume;
        /* Frees everything the driver made for the instance (it is stopped). */
        HdDriverActionFn remove;

        /* Reports what the instance really is now, for reconciliation at start. */
        int (*observe)(HdDriver *d, const HdInstance *inst, HdDriverResult *ret, HdError **err);

        /* Opens the instance's output (a container's stdout and stderr, a VM's serial
         * console). */
        int (*logs_open)(HdDriver *d, const HdInstance *inst, const HdLogOptions *o,
                         HdDriverLogs **ret, HdError **err);
        /* Runs a command inside the running instance and collects its output. -EBUSY
         * when it is not running. Blocks up to the request's timeout. */
        int (*exec)(HdDriver *d, const HdInstance *inst, const HdExecRequest *req,
                    HdExecResult *ret, HdError **err);
        /* Resource usage now. -EBUSY when the instance is not running. */
        int (*stats)(HdDriver *d, const HdInstance *inst, HdStats *ret, HdError **err);

        /* What init found (optional). */
        void (*facts)(HdDriver *d, HdDriverFacts *ret);

        void *data;
};

/* The slot for an action, or NULL when the driver cannot do it. */
HdDriverActionFn hd_driver_action_slot(const HdDriver *d, HdAction a);

/* What the built-in drivers need from hostd. */
typedef struct HdDriversConfig {
        const char *state_dir;
        struct HdImgStore *images;
        bool allow_privileged;
        const char *libvirt_uri; /* NULL: the VM driver's embedded default */
} HdDriversConfig;

/* The drivers this build has, one per kind; NULL where a kind has no driver (yet).
 * ret_reason[kind] says why a kind has none. Free them with hd_drivers_free once the
 * core is gone. */
void hd_drivers_builtin(const HdDriversConfig *cfg, HdDriver *ret[HD_KIND__COUNT],
                        const char *ret_reason[HD_KIND__COUNT]);
void hd_drivers_free(HdDriver *d[HD_KIND__COUNT]);
