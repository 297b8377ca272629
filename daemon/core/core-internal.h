/* State shared by the core's files (core.c, core-operations.c, core-events.c). */
#pragma once

#include <pthread.h>
#include <stdatomic.h>

#include "core.h"

/* An operation that is pending or running; the store holds the durable copy. */
typedef struct HdActiveOp {
        char id[HD_UUID_STRING_MAX];
        char instance_uuid[HD_UUID_STRING_MAX];
        HdAction action;
        bool running;
        bool cancelled; /* cancelled while pending: no worker may take it */
        atomic_bool cancel_requested;
        HdCoreJob job; /* image actions: the work itself; run NULL otherwise */
        /* A change the driver reported while this operation ran on the instance: it
         * is applied after the operation's own outcome, so that outcome cannot
         * overwrite it (a container that exits right after its start). */
        bool has_late;
        HdDriverResult late;
        struct HdActiveOp *next;
} HdActiveOp;

#define HD_CORE_WAIT_BUCKETS 64

struct HdCore {
        HdCoreConfig cfg;
        HdStore *store;
        HdDriver *drivers[HD_KIND__COUNT];
        bool available[HD_KIND__COUNT];
        char *reason[HD_KIND__COUNT];
        HdHostFacts facts;
        HdSchedCapacity capacity;

        /* Admission reads the allocation and inserts in one step. The totals
         * are kept here (hostd is the inventory's only writer) rather than
         * summed over every row at each create. */
        pthread_mutex_t admit_lock;
        double allocated_vcpus;
        int64_t allocated_memory_mb;

        /* Operations: the active list in FIFO order, worker wake-ups, and a
         * condition broadcast whenever any operation changes. */
        pthread_mutex_t lock;
        pthread_cond_t work_cond;
        /* Waiters of an operation sleep on the bucket its id hashes to, so the
         * end of one operation wakes only its own waiters (and rare neighbours),
         * not every waiter in the daemon. */
        pthread_cond_t done_conds[HD_CORE_WAIT_BUCKETS];
        HdActiveOp *active;
        pthread_t *workers;
        int n_workers;
        bool started;
        atomic_bool shutting_down;

        /* Operations that reached a final status since start, for /metrics. */
        atomic_uint_fast64_t op_totals[HD_ACTION__COUNT][HD_OP__COUNT];

        /* Restart policies (core-restart.c): the schedule and its thread. */
        pthread_mutex_t restart_lock;
        pthread_cond_t restart_cond;
        struct HdRestart *restarts;
        pthread_t restart_thread;
        bool restart_started;
        bool restart_stop;

        /* Networks (core-network.c): the manager, or NULL and why not; the default
         * network a create without `network` joins. */
        struct HdNet *net;
        char *net_reason;
        HdNetwork *default_network; /* what the config asks for; NULL: none */
        pthread_mutex_t net_lock;   /* one sync at a time, in inventory order */

        /* Events: the newest seq committed, and its condition. */
        pthread_mutex_t ev_lock;
        pthread_cond_t ev_cond;
        int64_t last_seq;
};

/* core-events.c: append an event in tx. data is consumed (may be NULL for {}). */
int hd_core_tx_event(HdStoreTx *tx, const char *type, const HdInstance *inst, const char *op_id,
                     json_t *data, int64_t *ret_seq, HdError **err);
/* Appends instance.state when the state changes, and sets inst->state. */
int hd_core_tx_set_state(HdStoreTx *tx, HdInstance *inst, HdState to, int64_t *ret_seq,
                         HdError **err);
/* After a commit: makes events up to seq visible to streams. */
void hd_core_events_published(HdCore *c, int64_t seq);

/* core.c: records a state a driver reported by itself (store, then event). */
void hd_core_apply_state_change(HdCore *c, const char *uuid, const HdDriverResult *res);
/* core.c: asks the drivers what each running or paused instance really is, and
 * records what changed while hostd was away. */
int hd_core_reconcile_instances(HdCore *c, HdError **err);

/* core.c: gives back what a deleted instance held. */
void hd_core_release(HdCore *c, const HdInstance *inst);

/* core-bench.c: fails the runs a stopped hostd left running and deletes their
 * instances (after the workers started). */
int hd_core_benchmark_reconcile(HdCore *c);

/* core-network.c: brings the host's networks to the inventory (logged, not returned:
 * the inventory is right and the supervisor or the next sync retries). */
void hd_core_net_sync(HdCore *c);
/* At start: the default network's row, then a sync (bridges, dnsmasqs, rules). */
int hd_core_net_start(HdCore *c, HdError **err);
/* At create, inside tx after the instance's insert: resolves spec.network, takes the
 * address and forwards, and fills inst->addresses. */
int hd_core_tx_net_assign(HdCore *c, HdStoreTx *tx, HdInstance *inst, HdError **err);
/* Before the transaction: fills spec.network with the default when absent, checks the
 * ports are free on the host. */
int hd_core_net_prepare(HdCore *c, HdInstanceSpec *spec, HdError **err);

/* core-operations.c */
int hd_core_ops_start(HdCore *c, HdError **err);
void hd_core_ops_stop(HdCore *c);
int hd_core_ops_reconcile(HdCore *c, HdError **err);
bool hd_core_ops_instance_busy(HdCore *c, const char *instance_uuid,
                               char ret_op_id[static HD_UUID_STRING_MAX]);
int hd_core_ops_submit(HdCore *c, const HdInstance *inst, HdAction a, const char *args_json,
                       HdOperation **ret, HdError **err);
/* Keeps a driver's report about uuid for after the operation running on it; false when
 * none runs (the caller applies it now). */
bool hd_core_ops_defer_report(HdCore *c, const char *uuid, const HdDriverResult *res);

/* Frees an active-list entry and its job. */
void hd_core_active_free(HdActiveOp *a);

/* core-restart.c */
int hd_core_restart_start(HdCore *c, HdError **err);
void hd_core_restart_stop(HdCore *c);
/* After inst exited by itself: schedules its restart when its policy says so. */
void hd_core_restart_consider(HdCore *c, const HdInstance *inst);
/* A user action on the instance, or its deletion: its restarts start over. */
void hd_core_restart_forget(HdCore *c, const char *uuid);
/* core.c: an action, by the user or by a restart policy (from_policy). */
int hd_core_instance_action_as(HdCore *c, const char *ref, HdAction a, const char *args_json,
                               bool force, bool from_policy, HdOperation **ret, HdError **err);

/* Condition waits use CLOCK_MONOTONIC deadlines in ms. */
void hd_cond_init_monotonic(pthread_cond_t *cond);
int hd_cond_wait_until(pthread_cond_t *cond, pthread_mutex_t *m, int64_t deadline_ms);
