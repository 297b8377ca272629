/* Operations: durable async jobs. The row is committed (pending) before any
 * side effect; workers run them in order; waiters are woken when theirs ends. */
#include <string.h>

#include "core-internal.h"
#include "hd-log.h"

/* ---- bookkeeping ---------------------------------------------------------------------------- */

/* The condition an operation's waiters sleep on (FNV-1a of its id). */
static pthread_cond_t *done_cond(HdCore *c, const char *id)
{
        uint32_t h = 2166136261u;
        for (const char *p = id; *p; p++)
                h = (h ^ (uint8_t)*p) * 16777619u;
        return &c->done_conds[h % HD_CORE_WAIT_BUCKETS];
}

bool hd_core_ops_instance_busy(HdCore *c, const char *instance_uuid,
                               char ret_op_id[static HD_UUID_STRING_MAX])
{
        bool busy = false;
        pthread_mutex_lock(&c->lock);
        for (HdActiveOp *op = c->active; op; op = op->next)
                if (strcmp(op->instance_uuid, instance_uuid) == 0) {
                        snprintf(ret_op_id, HD_UUID_STRING_MAX, "%s", op->id);
                        busy = true;
                        break;
                }
        pthread_mutex_unlock(&c->lock);
        return busy;
}

void hd_core_active_free(HdActiveOp *a)
{
        if (!a)
                return;
        if (a->job.free)
                a->job.free(a->job.ud);
        free(a);
}

static void job_done(HdCoreJob *job)
{
        if (job && job->free)
                job->free(job->ud);
        if (job)
                *job = (HdCoreJob){ 0 };
}

/* Appends to the active list (FIFO) and wakes a worker. Caller holds no lock. The job
 * (may be NULL) is consumed. */
static int enqueue(HdCore *c, const HdOperation *o, HdCoreJob *job)
{
        HdActiveOp *a = calloc(1, sizeof(*a));
        if (!a) {
                job_done(job);
                return -ENOMEM;
        }
        snprintf(a->id, sizeof(a->id), "%s", o->id);
        snprintf(a->instance_uuid, sizeof(a->instance_uuid), "%s", o->instance_uuid);
        a->action = o->action;
        atomic_init(&a->cancel_requested, false);
        if (job) {
                a->job = *job;
                *job = (HdCoreJob){ 0 };
        }

        pthread_mutex_lock(&c->lock);
        HdActiveOp **tail = &c->active;
        while (*tail)
                tail = &(*tail)->next;
        *tail = a;
        pthread_cond_signal(&c->work_cond);
        pthread_mutex_unlock(&c->lock);
        return 0;
}

static void count_final(HdCore *c, const HdOperation *o)
{
        if (hd_op_status_is_final(o->status) && o->action >= 0 && o->action < HD_ACTION__COUNT)
                atomic_fetch_add(&c->op_totals[o->action][o->status], 1);
}

void hd_core_operation_totals(HdCore *c, uint64_t ret[HD_ACTION__COUNT][HD_OP__COUNT])
{
        for (int a = 0; a < HD_ACTION__COUNT; a++)
                for (int st = 0; st < HD_OP__COUNT; st++)
                        ret[a][st] = atomic_load(&c->op_totals[a][st]);
}

static void forget(HdCore *c, const char *id)
{
        bool has_late = false;
        HdDriverResult late;
        char uuid[HD_UUID_STRING_MAX] = "";
        pthread_mutex_lock(&c->lock);
        for (HdActiveOp **p = &c->active; *p; p = &(*p)->next)
                if (strcmp((*p)->id, id) == 0) {
                        HdActiveOp *dead = *p;
                        *p = dead->next;
                        if ((has_late = dead->has_late)) {
                                late = dead->late;
                                snprintf(uuid, sizeof(uuid), "%s", dead->instance_uuid);
                        }
                        hd_core_active_free(dead);
                        break;
                }
        pthread_cond_broadcast(done_cond(c, id));
        pthread_mutex_unlock(&c->lock);
        if (has_late)
                hd_core_apply_state_change(c, uuid, &late);
}

bool hd_core_ops_defer_report(HdCore *c, const char *uuid, const HdDriverResult *res)
{
        bool deferred = false;
        pthread_mutex_lock(&c->lock);
        for (HdActiveOp *a = c->active; a; a = a->next)
                if (a->running && strcmp(a->instance_uuid, uuid) == 0) {
                        a->late = *res;
                        a->has_late = deferred = true;
                        break;
                }
        pthread_mutex_unlock(&c->lock);
        return deferred;
}

static json_t *op_event_data(const HdOperation *o)
{
        json_t *d = json_pack("{s:s, s:s}", "action", hd_action_to_string(o->action), "status",
                              hd_op_status_to_string(o->status));
        if (o->error_message)
                json_object_set_new(d, "error", json_string(o->error_message));
        return d;
}

/* Writes the operation's new status and its event in tx. */
static int tx_op_update(HdStoreTx *tx, HdOperation *o, const HdInstance *inst, int64_t *seq,
                        HdError **err)
{
        o->updated_at = hd_now_ms();
        if (hd_op_status_is_final(o->status))
                o->finished_at = o->updated_at;
        int r = hd_store_tx_operation_update(tx, o, err);
        if (r < 0)
                return r;
        HdInstance named = { 0 };
        if (!inst) {
                /* The instance may be gone (deleted); the event still names it. */
                snprintf(named.uuid, sizeof(named.uuid), "%s", o->instance_uuid);
                named.spec.name = o->instance_name;
                inst = &named;
        }
        return hd_core_tx_event(tx, "operation.updated", inst, o->id, op_event_data(o), seq, err);
}

static int op_set_error(HdOperation *o, const char *code, const char *message)
{
        free(o->error_code);
        free(o->error_message);
        o->error_code = strdup(code);
        o->error_message = strdup(message ? message : "unknown error");
        return o->error_code && o->error_message ? 0 : -ENOMEM;
}

/* Records o (pending) with its event and queues it with job (consumed; may be NULL). */
static int submit(HdCore *c, const HdInstance *inst, HdAction a, const char *args_json,
                  HdCoreJob *job, HdOperation **ret, HdError **err)
{
        _cleanup_(hd_operation_freep) HdOperation *o = calloc(1, sizeof(*o));
        int r = o ? hd_uuid_generate(o->id) : -ENOMEM;
        if (r >= 0) {
                o->action = a;
                snprintf(o->instance_uuid, sizeof(o->instance_uuid), "%s", inst->uuid);
                o->instance_name = strdup(inst->spec.name);
                o->args_json = strdup(args_json);
                if (!o->instance_name || !o->args_json)
                        r = -ENOMEM;
        }
        if (r < 0) {
                job_done(job);
                return hd_error_set(err, r, "cannot record the operation: %s", strerror(-r));
        }
        o->status = HD_OP_PENDING;
        o->created_at = o->updated_at = hd_now_ms();

        int64_t seq = 0;
        _cleanup_tx_ HdStoreTx *tx = NULL;
        r = hd_store_tx_begin(c->store, &tx, err);
        if (r >= 0)
                r = hd_store_tx_operation_insert(tx, o, err);
        if (r >= 0)
                r = hd_core_tx_event(tx, "operation.created", inst, o->id, op_event_data(o), &seq,
                                     err);
        if (r >= 0)
                r = hd_store_tx_commit(TAKE_PTR(tx), err);
        if (r < 0) {
                job_done(job);
                return r;
        }
        hd_core_events_published(c, seq);

        r = enqueue(c, o, job);
        if (r < 0)
                return hd_error_set(err, r, "out of memory");
        *ret = TAKE_PTR(o);
        return 0;
}

int hd_core_ops_submit(HdCore *c, const HdInstance *inst, HdAction a, const char *args_json,
                       HdOperation **ret, HdError **err)
{
        return submit(c, inst, a, args_json, NULL, ret, err);
}

int hd_core_job_submit(HdCore *c, HdAction a, const char *target, const char *args_json,
                       HdCoreJob *job, HdOperation **ret, HdError **err)
{
        if (!hd_action_is_job(a) || !job || !job->run) {
                job_done(job);
                return hd_error_set(err, -EINVAL, "not a job action");
        }
        if (atomic_load(&c->shutting_down)) {
                job_done(job);
                return hd_error_set(err, -ESHUTDOWN, "hostd is shutting down");
        }
        /* An image operation names its image where an instance action names the
         * instance; the uuid stays empty so no event claims an instance. */
        HdInstance named = { .spec.name = (char *)target };
        return submit(c, &named, a, args_json, job, ret, err);
}

/* ---- running ----------------------------------------------------------------------------------
 */

/* What a driver's progress callback needs to find its operation. */
typedef struct RunCtx {
        HdCore *core;
        HdOperation *op;
        int64_t last_ms; /* when progress was last recorded */
} RunCtx;

/* Progress is durable (an operation read after a restart shows how far it got) but each
 * record is a commit: at most four a second, plus the last. */
#define PROGRESS_INTERVAL_MS 250

static void progress_cb(HdDriverOp *dop, int64_t done, int64_t total)
{
        RunCtx *rc = dop->core_data;
        _cleanup_error_ HdError *err = NULL;
        _cleanup_tx_ HdStoreTx *tx = NULL;
        int64_t seq = 0;

        int64_t now = hd_monotonic_ms();
        if (now - rc->last_ms < PROGRESS_INTERVAL_MS && !(total > 0 && done >= total))
                return;
        rc->last_ms = now;

        rc->op->progress_done = done;
        rc->op->progress_total = total;
        int r = hd_store_tx_begin(rc->core->store, &tx, &err);
        if (r >= 0)
                r = tx_op_update(tx, rc->op, NULL, &seq, &err);
        if (r >= 0)
                r = hd_store_tx_commit(TAKE_PTR(tx), &err);
        if (r < 0) {
                hd_log_warn("operation %s: recording progress failed: %s", rc->op->id,
                            err && err->message ? err->message : "unknown error");
                return;
        }
        hd_core_events_published(rc->core, seq);
}

static HdState transitional_state(HdAction a)
{
        switch (a) {
        case HD_ACTION_START:
                return HD_STATE_STARTING;
        case HD_ACTION_STOP:
        case HD_ACTION_RESTART:
                return HD_STATE_STOPPING;
        case HD_ACTION_DELETE:
                return HD_STATE_DELETING;
        default:
                return HD_STATE_INVALID;
        }
}

static void decode_args(const char *args_json, HdActionArgs *ret)
{
        *ret = (HdActionArgs){ .timeout_s = 10, .signal = 9 };
        _cleanup_json_ json_t *j = args_json ? json_loads(args_json, 0, NULL) : NULL;
        json_t *v;
        if ((v = json_object_get(j, "timeout")) && json_is_integer(v))
                ret->timeout_s = (int)json_integer_value(v);
        if ((v = json_object_get(j, "signal")) && json_is_integer(v))
                ret->signal = (int)json_integer_value(v);
        if ((v = json_object_get(j, "force")))
                ret->force = json_is_true(v);
}

/* Calls the driver for one operation; fills res with the state it left. */
static int call_driver(HdCore *c, const HdInstance *inst, HdAction a, const HdActionArgs *args,
                       HdDriverOp *dop, HdDriverResult *res, HdError **err)
{
        HdDriver *d = c->drivers[inst->spec.kind];

        if (a != HD_ACTION_DELETE)
                return hd_driver_action_slot(d, a)(d, inst, args, dop, res, err);

        if (!inst->provisioned)
                return 0;
        if (!c->available[inst->spec.kind])
                return hd_error_set(err, -ENODEV, "%s driver unavailable: %s",
                                    hd_kind_to_string(inst->spec.kind), c->reason[inst->spec.kind]);
        if (res->state != HD_STATE_STOPPED && res->state != HD_STATE_EXITED &&
            res->state != HD_STATE_CREATED && res->state != HD_STATE_ERROR) {
                /* force: like `docker rm -f`, the workload is killed, not asked. */
                HdActionArgs kill_args = { .signal = 9, .timeout_s = 0 };
                HdDriverActionFn stop = d->kill ? d->kill : d->stop;
                if (!stop)
                        return hd_error_set(err, -EOPNOTSUPP, "the driver cannot stop it");
                int r = stop(d, inst, &kill_args, dop, res, err);
                if (r < 0)
                        return r;
        }
        return d->remove(d, inst, args, dop, res, err);
}

static void error_code_for(int r, const char **ret_code)
{
        switch (r) {
        case -ECANCELED:
                *ret_code = "cancelled";
                break;
        case -ENODEV:
                *ret_code = "unavailable";
                break;
        case -EOPNOTSUPP:
                *ret_code = "not_implemented";
                break;
        case -EBUSY:
        case -EEXIST:
                *ret_code = "conflict";
                break;
        case -EINVAL:
        case -EBADMSG:
                *ret_code = "invalid_argument";
                break;
        case -ENOENT:
                *ret_code = "not_found";
                break;
        case -EACCES:
        case -EPERM:
                *ret_code = "forbidden";
                break;
        case -ECONNREFUSED:
        case -EHOSTUNREACH:
                *ret_code = "bad_gateway";
                break;
        default:
                *ret_code = "internal";
        }
}

/* An image job: running, the job, then its outcome; no instance is involved. */
static void run_job(HdCore *c, HdActiveOp *active)
{
        _cleanup_error_ HdError *err = NULL;
        _cleanup_(hd_operation_freep) HdOperation *o = NULL;
        int64_t seq = 0;
        int r = hd_store_operation_get(c->store, active->id, &o, &err);
        if (r >= 0) {
                _cleanup_tx_ HdStoreTx *tx = NULL;
                o->status = HD_OP_RUNNING;
                r = hd_store_tx_begin(c->store, &tx, &err);
                if (r >= 0)
                        r = tx_op_update(tx, o, NULL, &seq, &err);
                if (r >= 0)
                        r = hd_store_tx_commit(TAKE_PTR(tx), &err);
        }
        if (r < 0) {
                hd_log_error("operation %s could not start: %s", active->id,
                             err && err->message ? err->message : "unknown error");
                forget(c, active->id);
                return;
        }
        hd_core_events_published(c, seq);

        RunCtx rc = { .core = c, .op = o };
        HdDriverOp dop = {
                .op_id = o->id,
                .cancel_requested = &active->cancel_requested,
                .progress = progress_cb,
                .core_data = &rc,
        };
        _cleanup_error_ HdError *jerr = NULL;
        int jr = active->job.run(active->job.ud, &dop, &jerr);
        if (jr < 0 && !jerr)
                hd_error_set(&jerr, jr, "%s", strerror(-jr));
        if (jr >= 0) {
                o->status = HD_OP_SUCCESS;
                if (o->progress_total > 0)
                        o->progress_done = o->progress_total;
        } else {
                const char *code;
                error_code_for(jr, &code);
                o->status = jr == -ECANCELED ? HD_OP_CANCELLED : HD_OP_FAILURE;
                op_set_error(o, code, jerr->message);
        }
        _cleanup_tx_ HdStoreTx *tx = NULL;
        r = hd_store_tx_begin(c->store, &tx, &err);
        if (r >= 0)
                r = tx_op_update(tx, o, NULL, &seq, &err);
        if (r >= 0)
                r = hd_store_tx_commit(TAKE_PTR(tx), &err);
        if (r < 0)
                hd_log_error("operation %s: recording the outcome failed: %s", o->id, err->message);
        else
                count_final(c, o);
        if (jr < 0)
                hd_log_warn("operation %s (%s %s) failed: %s", o->id,
                            hd_action_to_string(o->action), o->instance_name, jerr->message);
        else
                hd_log_info("operation %s (%s %s) succeeded", o->id, hd_action_to_string(o->action),
                            o->instance_name);
        hd_core_events_published(c, seq);
        forget(c, o->id);
}

static void run_op(HdCore *c, HdActiveOp *active)
{
        if (active->job.run) {
                run_job(c, active);
                return;
        }
        _cleanup_error_ HdError *err = NULL;
        _cleanup_(hd_operation_freep) HdOperation *o = NULL;
        _cleanup_(hd_instance_freep) HdInstance *inst = NULL;
        int64_t seq = 0;
        int r;

        r = hd_store_operation_get(c->store, active->id, &o, &err);
        if (r < 0) {
                hd_log_error("operation %s vanished: %s", active->id, err->message);
                forget(c, active->id);
                return;
        }

        /* Mark it running and put the instance in its transitional state, in one
         * transaction, before the driver does anything. */
        HdState before = HD_STATE_INVALID;
        {
                _cleanup_tx_ HdStoreTx *tx = NULL;
                r = hd_store_tx_begin(c->store, &tx, &err);
                if (r >= 0) {
                        r = hd_store_tx_instance_get(tx, o->instance_uuid, &inst, &err);
                        if (r == -ENOENT && o->action == HD_ACTION_DELETE) {
                                /* Already gone: a delete interrupted after its commit. */
                                hd_error_free(TAKE_PTR(err));
                                r = 0;
                        }
                }
                if (r >= 0) {
                        o->status = HD_OP_RUNNING;
                        r = tx_op_update(tx, o, inst, &seq, &err);
                }
                if (r >= 0 && inst) {
                        before = inst->state;
                        HdState trans = transitional_state(o->action);
                        if (trans != HD_STATE_INVALID && trans != inst->state) {
                                inst->updated_at = hd_now_ms();
                                r = hd_core_tx_set_state(tx, inst, trans, &seq, &err);
                                if (r >= 0)
                                        r = hd_store_tx_instance_update(tx, inst, inst->revision,
                                                                        &err);
                                if (r >= 0)
                                        inst->revision++;
                        }
                }
                if (r >= 0)
                        r = hd_store_tx_commit(TAKE_PTR(tx), &err);
        }
        if (r < 0) {
                hd_log_error("operation %s could not start: %s", o->id, err->message);
                forget(c, o->id);
                return;
        }
        hd_core_events_published(c, seq);

        HdActionArgs args;
        decode_args(o->args_json, &args);
        HdDriverResult res = { .state = before };
        RunCtx rc = { .core = c, .op = o };
        HdDriverOp dop = {
                .op_id = o->id,
                .cancel_requested = &active->cancel_requested,
                .progress = progress_cb,
                .core_data = &rc,
        };
        _cleanup_error_ HdError *derr = NULL;
        int dr = inst ? call_driver(c, inst, o->action, &args, &dop, &res, &derr) : 0;

        /* Record the outcome: the instance (re-read, a PATCH may have landed),
         * the operation and their events, in one transaction. */
        _cleanup_(hd_instance_freep) HdInstance *now = NULL;
        _cleanup_tx_ HdStoreTx *tx = NULL;
        r = hd_store_tx_begin(c->store, &tx, &err);
        if (r >= 0 && inst) {
                r = hd_store_tx_instance_get(tx, o->instance_uuid, &now, &err);
                if (r == -ENOENT) {
                        hd_error_free(TAKE_PTR(err));
                        r = 0;
                }
        }
        if (r >= 0 && now) {
                if (o->action == HD_ACTION_DELETE && dr >= 0) {
                        r = hd_store_tx_instance_delete(tx, now->uuid, &err);
                        if (r >= 0)
                                r = hd_core_tx_event(tx, "instance.deleted", now, o->id, NULL, &seq,
                                                     &err);
                } else {
                        HdState to = res.state == HD_STATE_INVALID ? before : res.state;
                        if (o->action == HD_ACTION_DELETE && dr < 0)
                                to = before;
                        now->has_exit_code = res.has_exit_code;
                        now->exit_code = res.exit_code;
                        free(now->reason);
                        now->reason = res.reason[0] ? strdup(res.reason) : NULL;
                        free(now->error);
                        now->error = dr < 0 && derr ? strdup(derr->message) : NULL;
                        if (o->action != HD_ACTION_DELETE && dr >= 0)
                                now->provisioned = true;
                        now->updated_at = hd_now_ms();
                        r = hd_core_tx_set_state(tx, now, to, &seq, &err);
                        /* A container is ready once its process runs: it has no guest
                         * to ask, and Docker's readiness is the same. */
                        if (r >= 0 && dr >= 0 && now->spec.kind == HD_KIND_CONTAINER &&
                            now->state == HD_STATE_RUNNING && now->ready_at == 0 &&
                            (o->action == HD_ACTION_START || o->action == HD_ACTION_RESTART)) {
                                now->ready_at = hd_now_ms();
                                char when[32];
                                hd_time_format(now->ready_at, when);
                                r = hd_core_tx_event(tx, "instance.ready", now, o->id,
                                                     json_pack("{s:s}", "ready_at", when), &seq,
                                                     &err);
                        }
                        if (r >= 0)
                                r = hd_store_tx_instance_update(tx, now, now->revision, &err);
                }
        }
        if (r >= 0) {
                if (dr >= 0) {
                        o->status = HD_OP_SUCCESS;
                } else {
                        const char *code;
                        error_code_for(dr, &code);
                        o->status = dr == -ECANCELED ? HD_OP_CANCELLED : HD_OP_FAILURE;
                        op_set_error(o, code, derr ? derr->message : NULL);
                }
                o->progress_done = o->progress_total;
                r = tx_op_update(tx, o, now ? now : inst, &seq, &err);
        }
        if (r >= 0)
                r = hd_store_tx_commit(TAKE_PTR(tx), &err);
        if (r >= 0 && now && o->action == HD_ACTION_DELETE && dr >= 0) {
                hd_core_release(c, now);
                /* Its address and forwards went with its row: the firewall and the
                 * network's DHCP and DNS follow. */
                if (now->n_addresses > 0)
                        hd_core_net_sync(c);
        }
        /* A start whose workload was done before the start was (/bin/true): its exit
         * counts for the restart policy like any other. */
        if (r >= 0 && now && dr >= 0 && now->state == HD_STATE_EXITED &&
            (o->action == HD_ACTION_START || o->action == HD_ACTION_RESTART))
                hd_core_restart_consider(c, now);
        if (r >= 0)
                count_final(c, o);
        if (r < 0)
                hd_log_error("operation %s: recording the outcome failed: %s", o->id, err->message);
        else if (dr < 0)
                hd_log_warn("operation %s (%s %s) failed: %s", o->id,
                            hd_action_to_string(o->action), o->instance_name,
                            derr ? derr->message : "unknown error");
        else
                hd_log_info("operation %s (%s %s) succeeded", o->id, hd_action_to_string(o->action),
                            o->instance_name);
        hd_core_events_published(c, seq);
        forget(c, o->id);
}

static void *worker_main(void *arg)
{
        HdCore *c = arg;
        pthread_mutex_lock(&c->lock);
        while (!atomic_load(&c->shutting_down)) {
                HdActiveOp *next = NULL;
                for (HdActiveOp *a = c->active; a; a = a->next)
                        if (!a->running && !a->cancelled) {
                                next = a;
                                break;
                        }
                if (!next) {
                        pthread_cond_wait(&c->work_cond, &c->lock);
                        continue;
                }
                next->running = true;
                pthread_mutex_unlock(&c->lock);
                run_op(c, next); /* frees next through forget() */
                pthread_mutex_lock(&c->lock);
        }
        pthread_mutex_unlock(&c->lock);
        return NULL;
}

int hd_core_ops_start(HdCore *c, HdError **err)
{
        c->workers = calloc((size_t)c->cfg.op_workers, sizeof(pthread_t));
        if (!c->workers)
                return hd_error_set(err, -ENOMEM, "out of memory");
        for (int i = 0; i < c->cfg.op_workers; i++) {
                int r = pthread_create(&c->workers[i], NULL, worker_main, c);
                if (r != 0) {
                        hd_core_ops_stop(c);
                        return hd_error_set(err, -r, "cannot start operation workers");
                }
                c->n_workers++;
        }
        c->started = true;
        return 0;
}

void hd_core_ops_stop(HdCore *c)
{
        pthread_mutex_lock(&c->lock);
        pthread_cond_broadcast(&c->work_cond);
        for (size_t i = 0; i < HD_CORE_WAIT_BUCKETS; i++)
                pthread_cond_broadcast(&c->done_conds[i]);
        pthread_mutex_unlock(&c->lock);
        for (int i = 0; i < c->n_workers; i++)
                pthread_join(c->workers[i], NULL);
        c->n_workers = 0;
}

/* ---- reconciliation ------------------------------------------------------------------------- */

/* An operation that was running when hostd died: a delete is finished (its
 * intent is on disk); anything else failed, and its instance is asked of the
 * driver, or marked error when no driver can tell. */
static int reconcile_interrupted(HdCore *c, HdOperation *o, HdError **err)
{
        _cleanup_tx_ HdStoreTx *tx = NULL;
        _cleanup_(hd_instance_freep) HdInstance *inst = NULL;
        int64_t seq = 0;

        int r = hd_store_tx_begin(c->store, &tx, err);
        if (r < 0)
                return r;
        r = hd_store_tx_instance_get(tx, o->instance_uuid, &inst, NULL);
        if (r >= 0 && inst->state == transitional_state(o->action)) {
                HdDriver *d = c->drivers[inst->spec.kind];
                HdDriverResult res = { .state = HD_STATE_ERROR };
                _cleanup_error_ HdError *derr = NULL;
                free(inst->error);
                inst->error = NULL;
                if (!c->available[inst->spec.kind] || !d->observe ||
                    d->observe(d, inst, &res, &derr) < 0) {
                        res.state = HD_STATE_ERROR;
                        if (asprintf(&inst->error,
                                     "hostd stopped during %s and the %s driver cannot tell "
                                     "the state now: %s",
                                     hd_action_to_string(o->action),
                                     hd_kind_to_string(inst->spec.kind),
                                     derr                         ? derr->message
                                     : c->reason[inst->spec.kind] ? c->reason[inst->spec.kind]
                                                                  : "no observe support") < 0)
                                inst->error = NULL;
                }
                inst->updated_at = hd_now_ms();
                r = hd_core_tx_set_state(tx, inst, res.state, &seq, err);
                if (r >= 0)
                        r = hd_store_tx_instance_update(tx, inst, inst->revision, err);
                if (r < 0)
                        return r;
        }
        o->status = HD_OP_FAILURE;
        op_set_error(o, "internal", "interrupted: hostd stopped while the operation was running");
        r = tx_op_update(tx, o, inst, &seq, err);
        if (r >= 0)
                r = hd_store_tx_commit(TAKE_PTR(tx), err);
        if (r >= 0) {
                hd_core_events_published(c, seq);
                count_final(c, o);
        }
        return r;
}

int hd_core_ops_reconcile(HdCore *c, HdError **err)
{
        HdOperation **ops = NULL;
        size_t n = 0;
        int r = hd_store_operation_list_unfinished(c->store, &ops, &n, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n && r >= 0; i++) {
                HdOperation *o = ops[i];
                if (!hd_action_is_job(o->action) &&
                    (o->status == HD_OP_PENDING || o->action == HD_ACTION_DELETE)) {
                        hd_log_info("resuming %s operation %s on %s",
                                    hd_action_to_string(o->action), o->id, o->instance_name);
                        r = enqueue(c, o, NULL);
                        if (r < 0)
                                hd_error_set(err, r, "out of memory");
                } else {
                        hd_log_warn("operation %s (%s %s) was interrupted by a restart", o->id,
                                    hd_action_to_string(o->action), o->instance_name);
                        r = reconcile_interrupted(c, o, err);
                }
        }
        hd_operation_array_free(ops, n);
        return r;
}

/* ---- queries -------------------------------------------------------------------------------- */

int hd_core_operation_get(HdCore *c, const char *id, HdOperation **ret, HdError **err)
{
        return hd_store_operation_get(c->store, id, ret, err);
}

int hd_core_operation_list(HdCore *c, const HdOperationFilter *f, HdOperation ***ret, size_t *ret_n,
                           bool *ret_more, HdError **err)
{
        return hd_store_operation_list(c->store, f, ret, ret_n, ret_more, err);
}

int hd_core_operation_wait(HdCore *c, const char *id, int64_t timeout_ms, HdOperation **ret,
                           HdError **err)
{
        int64_t deadline = hd_monotonic_ms() + timeout_ms;
        /* An unfinished operation is on the active list until its outcome is
         * committed, so waiters sleep on that list, not on the store: the store
         * is read once, at the end. Every change broadcasts under c->lock. */
        pthread_mutex_lock(&c->lock);
        while (!atomic_load(&c->shutting_down) && hd_monotonic_ms() < deadline) {
                bool active = false;
                for (HdActiveOp *a = c->active; a && !active; a = a->next)
                        active = strcmp(a->id, id) == 0;
                if (!active)
                        break;
                hd_cond_wait_until(done_cond(c, id), &c->lock, deadline);
        }
        pthread_mutex_unlock(&c->lock);
        return hd_store_operation_get(c->store, id, ret, err);
}

int hd_core_operation_cancel(HdCore *c, const char *id, HdOperation **ret, HdError **err)
{
        _cleanup_(hd_operation_freep) HdOperation *o = NULL;
        int r = hd_store_operation_get(c->store, id, &o, err);
        if (r < 0)
                return r;

        bool was_pending = false, was_running = false;
        pthread_mutex_lock(&c->lock);
        for (HdActiveOp *a = c->active; a; a = a->next) {
                if (strcmp(a->id, id) != 0 || a->cancelled)
                        continue;
                if (a->running) {
                        atomic_store(&a->cancel_requested, true);
                        was_running = true;
                } else {
                        /* It stays listed (so waiters keep waiting) until the
                         * cancellation is committed; no worker will take it. */
                        a->cancelled = true;
                        was_pending = true;
                }
                break;
        }
        pthread_mutex_unlock(&c->lock);

        if (was_running) {
                *ret = TAKE_PTR(o);
                return 0;
        }
        if (!was_pending)
                return hd_error_set(err, -EBUSY, "operation %s is already %s", id,
                                    hd_op_status_to_string(o->status));

        int64_t seq = 0;
        _cleanup_tx_ HdStoreTx *tx = NULL;
        _cleanup_(hd_instance_freep) HdInstance *inst = NULL;
        o->status = HD_OP_CANCELLED;
        op_set_error(o, "cancelled", "cancelled before it started");
        r = hd_store_tx_begin(c->store, &tx, err);
        if (r >= 0) {
                (void)hd_store_tx_instance_get(tx, o->instance_uuid, &inst, NULL);
                r = tx_op_update(tx, o, inst, &seq, err);
        }
        if (r >= 0)
                r = hd_store_tx_commit(TAKE_PTR(tx), err);
        if (r < 0) {
                pthread_mutex_lock(&c->lock);
                for (HdActiveOp *a = c->active; a; a = a->next)
                        if (strcmp(a->id, id) == 0)
                                a->cancelled = false;
                pthread_cond_signal(&c->work_cond);
                pthread_mutex_unlock(&c->lock);
                return r;
        }
        hd_core_events_published(c, seq);
        count_final(c, o);
        forget(c, id);
        *ret = TAKE_PTR(o);
        return 0;
}
