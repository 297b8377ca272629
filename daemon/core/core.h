/* The core: instances, operations (async jobs), events and admission. Handlers
 * call it with validated structs; it writes the store first, then acts through
 * the driver vtable, then tells waiters. It never sees HTTP. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "driver.h"
#include "hd-codec.h"
#include "hd-error.h"
#include "hd-spec.h"
#include "scheduler.h"
#include "store.h"

typedef struct HdCore HdCore;

typedef struct HdCoreConfig {
        double cpu_overcommit;    /* vCPUs admitted per host CPU */
        double memory_overcommit; /* MiB admitted per host MiB */
        int64_t host_cpus;        /* 0 = read from /proc */
        int64_t host_memory_mb;   /* 0 = read from /proc */
        int op_workers;           /* operation worker threads */
        const char *state_dir;    /* for benchmarks' host-side files; NULL: /var/tmp */
} HdCoreConfig;

/* Takes no ownership of store or drivers; they must outlive the core. A NULL
 * driver (or one whose init fails) makes its kind unavailable, with reason. */
int hd_core_new(const HdCoreConfig *cfg, HdStore *store, HdDriver *const drivers[HD_KIND__COUNT],
                const char *const unavailable_reason[HD_KIND__COUNT], HdCore **ret, HdError **err);

/* Reconciles the inventory with reality (unfinished operations, transitional
 * states) and starts the operation workers. */
int hd_core_start(HdCore *c, HdError **err);

/* Wakes every waiter and event stream, lets running operations finish, stops
 * the workers. Pending operations stay pending in the store and are resumed or
 * failed at the next start. */
void hd_core_shutdown(HdCore *c);
bool hd_core_is_shutting_down(HdCore *c);
void hd_core_free(HdCore *c);
HD_DEFINE_CLEANUP(HdCore *, hd_core_free)

/* ---- server and host ---------------------------------------------------------------------- */

typedef struct HdDriverStatus {
        bool available;
        const char *reason;  /* static or owned by the core; valid while it lives */
        HdDriverFacts facts; /* what an available driver found at init */
} HdDriverStatus;

void hd_core_driver_status(HdCore *c, HdKind kind, HdDriverStatus *ret);
const HdHostFacts *hd_core_host_facts(HdCore *c);

typedef struct HdHostUsage {
        HdSchedCapacity capacity;
        double allocated_vcpus;
        int64_t allocated_memory_mb;
        int64_t counts[HD_KIND__COUNT][HD_STATE__COUNT];
} HdHostUsage;
int hd_core_host_usage(HdCore *c, HdHostUsage *ret, HdError **err);

/* ---- instances ---------------------------------------------------------------------------- */

/* Admits the spec against capacity (-ENOSPC with the numbers), records the
 * placement, and stores it as "created" together with its event. */
int hd_core_instance_create(HdCore *c, const HdInstanceSpec *spec, HdInstance **ret, HdError **err);
int hd_core_instance_get(HdCore *c, const char *ref, HdInstance **ret, HdError **err);
int hd_core_instance_list(HdCore *c, const HdInstanceFilter *f, HdInstance ***ret, size_t *ret_n,
                          bool *ret_more, HdError **err);
/* The same as rendered JSON text, as the store keeps it: the fast read path. */
int hd_core_instance_get_view(HdCore *c, const char *ref, HdInstanceView **ret, HdError **err);
int hd_core_instance_list_views(HdCore *c, const HdInstanceFilter *f, HdInstanceView ***ret,
                                size_t *ret_n, bool *ret_more, HdError **err);
/* if_match < 0 means no precondition; otherwise -ESTALE unless it equals the
 * current revision. */
int hd_core_instance_patch(HdCore *c, const char *ref, const HdInstancePatch *p, int64_t if_match,
                           HdInstance **ret, HdError **err);

/* Queues an action (delete included) as an operation and returns it, pending.
 * args_json is the codec's canonical argument object. -ENODEV when the kind's
 * driver is unavailable, -EOPNOTSUPP when it cannot do the action, -EBUSY when
 * the state forbids it or another operation on the instance is unfinished. */
int hd_core_instance_action(HdCore *c, const char *ref, HdAction a, const char *args_json,
                            bool force, HdOperation **ret, HdError **err);

/* The instance's output, a command run in it, its resource usage: through its driver.
 * -ENODEV when the driver is unavailable, -EOPNOTSUPP when it cannot, -EBUSY (exec,
 * stats) when the instance is not running. */
int hd_core_instance_logs(HdCore *c, const char *ref, const HdLogOptions *o, HdDriverLogs **ret,
                          HdError **err);
int hd_core_instance_exec(HdCore *c, const char *ref, const HdExecRequest *req, HdExecResult *ret,
                          HdError **err);
int hd_core_instance_stats(HdCore *c, const char *ref, HdStats *ret, HdError **err);

/* ---- images (the inventory's records; files are the image store's) ---------------------- */

int hd_core_image_list(HdCore *c, HdKind kind, HdImage ***ret, size_t *ret_n, HdError **err);
int hd_core_image_get(HdCore *c, const char *ref, HdImage **ret, HdError **err);

/* ---- networks ----------------------------------------------------------------------------- */

struct HdNet;
/* Hands the core the network manager (NULL: networking unavailable, with reason) and
 * the default network to keep (NULL: none). Call before hd_core_start; the core takes
 * no ownership of net, and copies default_network. */
int hd_core_set_net(HdCore *c, struct HdNet *net, const char *reason,
                    const HdNetwork *default_network, HdError **err);
/* Whether networks can be managed here; *ret_reason says why not. */
bool hd_core_net_available(HdCore *c, const char **ret_reason);
int hd_core_network_list(HdCore *c, HdNetwork ***ret, size_t *ret_n, HdError **err);
int hd_core_network_get(HdCore *c, const char *name, HdNetwork **ret, HdError **err);
/* -EEXIST for a taken name or an overlapping subnet, -ENODEV when networking is
 * unavailable; the bridge, dnsmasq and rules exist when it returns. */
int hd_core_network_create(HdCore *c, const HdNetwork *n, HdNetwork **ret, HdError **err);
/* -EPERM for the default network, -EBUSY while instances are on it. */
int hd_core_network_delete(HdCore *c, const char *name, HdError **err);

/* ---- benchmarks --------------------------------------------------------------------------- */

/* Starts a VM-vs-container run as an operation (its id, the run's, in instance_name).
 * -ENODEV when a driver is unavailable, 404/400 naming the image field. */
int hd_core_benchmark_start(HdCore *c, const HdBenchRequest *req, HdOperation **ret, HdError **err);
int hd_core_benchmark_get(HdCore *c, const char *id, HdStoreBenchmark **ret, HdError **err);
int hd_core_benchmark_list(HdCore *c, HdStoreBenchmark ***ret, size_t *ret_n, HdError **err);
/* -EBUSY while it runs. */
int hd_core_benchmark_delete(HdCore *c, const char *id, HdError **err);

/* ---- operations --------------------------------------------------------------------------- */

int hd_core_operation_get(HdCore *c, const char *id, HdOperation **ret, HdError **err);
int hd_core_operation_list(HdCore *c, const HdOperationFilter *f, HdOperation ***ret, size_t *ret_n,
                           bool *ret_more, HdError **err);
/* Blocks until the operation is final, timeout_ms passes or the core shuts
 * down; returns the operation as it then is. */
int hd_core_operation_wait(HdCore *c, const char *id, int64_t timeout_ms, HdOperation **ret,
                           HdError **err);
/* A pending operation is cancelled at once; a running one is asked to stop.
 * -EBUSY when it is already final. */
int hd_core_operation_cancel(HdCore *c, const char *id, HdOperation **ret, HdError **err);

/* Work that is an operation but not an instance action: an image pull or push. run is
 * called on an operation worker; it reports progress and watches for cancellation
 * through op, and returns < 0 with err set on failure (-ECANCELED once cancelled). free
 * releases ud (credentials included) whether run ran or not. */
typedef struct HdCoreJob {
        int (*run)(void *ud, HdDriverOp *op, HdError **err);
        void (*free)(void *ud);
        void *ud;
} HdCoreJob;

/* Records a pending operation of image action a about target (an image reference) with
 * args_json (which must hold no secret: it is stored and shown) and queues job. The job
 * is consumed, on failure too. A job does not survive a hostd restart: it is then
 * failed as interrupted. */
int hd_core_job_submit(HdCore *c, HdAction a, const char *target, const char *args_json,
                       HdCoreJob *job, HdOperation **ret, HdError **err);

/* Operations that reached each final status since hostd started, per action. */
void hd_core_operation_totals(HdCore *c, uint64_t ret[HD_ACTION__COUNT][HD_OP__COUNT]);

/* ---- events ------------------------------------------------------------------------------- */

int64_t hd_core_event_last_seq(HdCore *c);
/* Waits until an event with seq > after_seq exists: 1 when there is one, 0 on
 * timeout, -ECANCELED when the core is shutting down. */
int hd_core_events_wait(HdCore *c, int64_t after_seq, int64_t timeout_ms);
int hd_core_events_since(HdCore *c, int64_t since, size_t limit, HdEvent ***ret, size_t *ret_n,
                         HdError **err);
