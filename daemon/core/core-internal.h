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

/* core.c: gives back what a deleted instance held. */
void hd_core_release(HdCore *c, const HdInstance *inst);

/* core-operations.c */
int hd_core_ops_start(HdCore *c, HdError **err);
void hd_core_ops_stop(HdCore *c);
int hd_core_ops_reconcile(HdCore *c, HdError **err);
bool hd_core_ops_instance_busy(HdCore *c, const char *instance_uuid,
                               char ret_op_id[static HD_UUID_STRING_MAX]);
int hd_core_ops_submit(HdCore *c, const HdInstance *inst, HdAction a, const char *args_json,
                       HdOperation **ret, HdError **err);

/* Frees an active-list entry and its job. */
void hd_core_active_free(HdActiveOp *a);

/* Condition waits use CLOCK_MONOTONIC deadlines in ms. */
void hd_cond_init_monotonic(pthread_cond_t *cond);
int hd_cond_wait_until(pthread_cond_t *cond, pthread_mutex_t *m, int64_t deadline_ms);
