#include <math.h>
#include <string.h>

#include "core-internal.h"
#include "hd-log.h"

/* ---- lifecycle ------------------------------------------------------------------------------ */

static void driver_state_changed(void *core, const char *uuid, const HdDriverResult *r);
static void driver_ready(void *core, const char *uuid, int64_t at_ms);

int hd_core_new(const HdCoreConfig *cfg, HdStore *store, HdDriver *const drivers[HD_KIND__COUNT],
                const char *const unavailable_reason[HD_KIND__COUNT], HdCore **ret, HdError **err)
{
        if (!(cfg->cpu_overcommit > 0) || !(cfg->memory_overcommit > 0))
                return hd_error_set(err, -EINVAL, "overcommit ratios must be positive");

        HdCore *c = calloc(1, sizeof(*c));
        if (!c)
                return hd_error_set(err, -ENOMEM, "out of memory");
        c->cfg = *cfg;
        if (c->cfg.op_workers <= 0)
                c->cfg.op_workers = 4;
        c->store = store;
        pthread_mutex_init(&c->admit_lock, NULL);
        pthread_mutex_init(&c->net_lock, NULL);
        pthread_mutex_init(&c->lock, NULL);
        pthread_mutex_init(&c->ev_lock, NULL);
        pthread_mutex_init(&c->restart_lock, NULL);
        hd_cond_init_monotonic(&c->restart_cond);
        hd_cond_init_monotonic(&c->work_cond);
        for (size_t i = 0; i < HD_CORE_WAIT_BUCKETS; i++)
                hd_cond_init_monotonic(&c->done_conds[i]);
        hd_cond_init_monotonic(&c->ev_cond);

        hd_host_probe(&c->facts);
        hd_sched_capacity_init(&c->capacity, cfg->host_cpus > 0 ? cfg->host_cpus : c->facts.cpus,
                               cfg->host_memory_mb > 0 ? cfg->host_memory_mb : c->facts.memory_mb,
                               cfg->cpu_overcommit, cfg->memory_overcommit);

        HdDriverSink sink = { .core = c,
                              .state_changed = driver_state_changed,
                              .ready = driver_ready };
        for (int k = 0; k < HD_KIND__COUNT; k++) {
                HdDriver *d = drivers ? drivers[k] : NULL;
                if (!d) {
                        const char *why = unavailable_reason && unavailable_reason[k]
                                                  ? unavailable_reason[k]
                                                  : "no driver for this kind";
                        c->reason[k] = strdup(why);
                        continue;
                }
                _cleanup_error_ HdError *derr = NULL;
                if (d->init && d->init(d, &sink, &derr) < 0) {
                        c->reason[k] = strdup(derr && derr->message ? derr->message
                                                                    : "driver failed to start");
                        hd_log_warn("%s driver unavailable: %s", hd_kind_to_string(d->kind),
                                    c->reason[k]);
                        continue;
                }
                c->drivers[k] = d;
                c->available[k] = true;
        }

        int64_t seq = 0;
        int r = hd_store_event_last_seq(store, &seq, err);
        if (r >= 0)
                r = hd_store_allocated(store, &c->allocated_vcpus, &c->allocated_memory_mb, err);
        if (r < 0) {
                hd_core_free(c);
                return r;
        }
        c->last_seq = seq;
        *ret = c;
        return 0;
}

int hd_core_start(HdCore *c, HdError **err)
{
        int r = hd_core_ops_reconcile(c, err);
        /* Networks before instances: a container restarted by its policy needs its
         * bridge. */
        if (r >= 0)
                r = hd_core_net_start(c, err);
        if (r >= 0)
                r = hd_core_reconcile_instances(c, err);
        if (r >= 0)
                r = hd_core_ops_start(c, err);
        if (r >= 0)
                r = hd_core_restart_start(c, err);
        if (r >= 0)
                r = hd_core_benchmark_reconcile(c);
        return r;
}

bool hd_core_is_shutting_down(HdCore *c)
{
        return atomic_load(&c->shutting_down);
}

void hd_core_shutdown(HdCore *c)
{
        if (!c || atomic_exchange(&c->shutting_down, true))
                return;
        pthread_mutex_lock(&c->ev_lock);
        pthread_cond_broadcast(&c->ev_cond);
        pthread_mutex_unlock(&c->ev_lock);
        hd_core_restart_stop(c);
        hd_core_ops_stop(c);
        for (int k = 0; k < HD_KIND__COUNT; k++)
                if (c->available[k] && c->drivers[k]->shutdown)
                        c->drivers[k]->shutdown(c->drivers[k]);
}

void hd_core_free(HdCore *c)
{
        if (!c)
                return;
        hd_core_shutdown(c);
        for (HdActiveOp *op = c->active; op;) {
                HdActiveOp *next = op->next;
                hd_core_active_free(op);
                op = next;
        }
        for (int k = 0; k < HD_KIND__COUNT; k++)
                free(c->reason[k]);
        free(c->workers);
        free(c->net_reason);
        hd_network_free(c->default_network);
        pthread_mutex_destroy(&c->net_lock);
        pthread_mutex_destroy(&c->admit_lock);
        pthread_mutex_destroy(&c->lock);
        pthread_mutex_destroy(&c->ev_lock);
        pthread_mutex_destroy(&c->restart_lock);
        pthread_cond_destroy(&c->restart_cond);
        pthread_cond_destroy(&c->work_cond);
        for (size_t i = 0; i < HD_CORE_WAIT_BUCKETS; i++)
                pthread_cond_destroy(&c->done_conds[i]);
        pthread_cond_destroy(&c->ev_cond);
        free(c);
}

/* ---- server and host ------------------------------------------------------------------------ */

void hd_core_driver_status(HdCore *c, HdKind kind, HdDriverStatus *ret)
{
        if (kind < 0 || kind >= HD_KIND__COUNT) {
                *ret = (HdDriverStatus){ .available = false, .reason = "unknown kind" };
                return;
        }
        *ret = (HdDriverStatus){ .available = c->available[kind], .reason = c->reason[kind] };
        if (c->available[kind] && c->drivers[kind]->facts)
                c->drivers[kind]->facts(c->drivers[kind], &ret->facts);
}

const HdHostFacts *hd_core_host_facts(HdCore *c)
{
        return &c->facts;
}

int hd_core_host_usage(HdCore *c, HdHostUsage *ret, HdError **err)
{
        *ret = (HdHostUsage){ .capacity = c->capacity };
        pthread_mutex_lock(&c->admit_lock);
        ret->allocated_vcpus = c->allocated_vcpus;
        ret->allocated_memory_mb = c->allocated_memory_mb;
        pthread_mutex_unlock(&c->admit_lock);
        return hd_store_instance_counts(c->store, ret->counts, err);
}

/* ---- instances ------------------------------------------------------------------------------ */

int hd_core_instance_create(HdCore *c, const HdInstanceSpec *spec, HdInstance **ret, HdError **err)
{
        HdDriver *d = c->drivers[spec->kind];
        if (d && d->validate) {
                int r = d->validate(d, spec, err);
                if (r < 0)
                        return r;
        }

        _cleanup_(hd_instance_freep) HdInstance *inst = calloc(1, sizeof(*inst));
        if (!inst)
                return hd_error_set(err, -ENOMEM, "out of memory");
        int r = hd_instance_spec_copy(&inst->spec, spec);
        if (r < 0)
                return hd_error_set(err, r, "out of memory");
        r = hd_core_net_prepare(c, &inst->spec, err);
        if (r < 0)
                return r;
        r = hd_uuid_generate(inst->uuid);
        if (r < 0)
                return hd_error_set(err, r, "cannot generate a uuid");
        inst->state = HD_STATE_CREATED;
        inst->revision = 1;
        inst->created_at = inst->updated_at = hd_now_ms();

        int64_t seq = 0;
        pthread_mutex_lock(&c->admit_lock);
        {
                _cleanup_tx_ HdStoreTx *tx = NULL;
                _cleanup_(hd_instance_freep) HdInstance *existing = NULL;
                HdSchedRequest req = {
                        .kind = spec->kind,
                        .vcpus = spec->resources.vcpus,
                        .memory_mb = spec->resources.memory_mb,
                };

                r = hd_store_tx_begin(c->store, &tx, err);
                if (r >= 0) {
                        _cleanup_error_ HdError *lookup = NULL;
                        r = hd_store_tx_instance_get(tx, spec->name, &existing, &lookup);
                        if (r >= 0)
                                r = hd_error_set_field(err, -EEXIST, "name",
                                                       "instance `%s` already exists", spec->name);
                        else if (r == -ENOENT)
                                r = 0;
                        else
                                r = hd_error_propagate(err, &lookup);
                }
                if (r >= 0)
                        r = hd_sched_place(&c->capacity, c->allocated_vcpus, c->allocated_memory_mb,
                                           &req, &inst->placement, err);
                if (r >= 0)
                        r = hd_store_tx_instance_insert(tx, inst, err);
                if (r >= 0)
                        r = hd_core_tx_net_assign(c, tx, inst, err);
                if (r >= 0)
                        r = hd_core_tx_event(tx, "instance.created", inst, NULL,
                                             json_pack("{s:s, s:s}", "kind",
                                                       hd_kind_to_string(spec->kind), "image",
                                                       spec->image),
                                             &seq, err);
                if (r >= 0)
                        r = hd_store_tx_commit(TAKE_PTR(tx), err);
                if (r >= 0) {
                        c->allocated_vcpus += spec->resources.vcpus;
                        c->allocated_memory_mb += spec->resources.memory_mb;
                }
        }
        pthread_mutex_unlock(&c->admit_lock);
        if (r < 0)
                return r;

        hd_core_events_published(c, seq);
        if (inst->n_addresses > 0)
                hd_core_net_sync(c);
        hd_log_info("instance %s (%s) created: %s", inst->spec.name, inst->uuid,
                    inst->placement.reason);
        *ret = TAKE_PTR(inst);
        return 0;
}

void hd_core_release(HdCore *c, const HdInstance *inst)
{
        hd_core_restart_forget(c, inst->uuid);
        pthread_mutex_lock(&c->admit_lock);
        c->allocated_vcpus -= inst->spec.resources.vcpus;
        c->allocated_memory_mb -= inst->spec.resources.memory_mb;
        if (c->allocated_vcpus < 0.005)
                c->allocated_vcpus = 0; /* no drift below zero from rounding */
        pthread_mutex_unlock(&c->admit_lock);
}

int hd_core_instance_get_view(HdCore *c, const char *ref, HdInstanceView **ret, HdError **err)
{
        return hd_store_instance_get_view(c->store, ref, ret, err);
}

int hd_core_instance_list_views(HdCore *c, const HdInstanceFilter *f, HdInstanceView ***ret,
                                size_t *ret_n, bool *ret_more, HdError **err)
{
        return hd_store_instance_list_views(c->store, f, ret, ret_n, ret_more, err);
}

int hd_core_image_list(HdCore *c, HdKind kind, HdImage ***ret, size_t *ret_n, HdError **err)
{
        return hd_store_image_list(c->store, kind, ret, ret_n, err);
}

int hd_core_image_get(HdCore *c, const char *ref, HdImage **ret, HdError **err)
{
        return hd_store_image_get(c->store, ref, ret, err);
}

int hd_core_instance_get(HdCore *c, const char *ref, HdInstance **ret, HdError **err)
{
        return hd_store_instance_get(c->store, ref, ret, err);
}

int hd_core_instance_list(HdCore *c, const HdInstanceFilter *f, HdInstance ***ret, size_t *ret_n,
                          bool *ret_more, HdError **err)
{
        return hd_store_instance_list(c->store, f, ret, ret_n, ret_more, err);
}

int hd_core_instance_patch(HdCore *c, const char *ref, const HdInstancePatch *p, int64_t if_match,
                           HdInstance **ret, HdError **err)
{
        _cleanup_tx_ HdStoreTx *tx = NULL;
        _cleanup_(hd_instance_freep) HdInstance *inst = NULL;
        int64_t seq = 0;

        int r = hd_store_tx_begin(c->store, &tx, err);
        if (r < 0)
                return r;
        r = hd_store_tx_instance_get(tx, ref, &inst, err);
        if (r < 0)
                return r;
        if (if_match >= 0 && if_match != inst->revision)
                return hd_error_set(
                        err, -ESTALE, "instance `%s` is at revision %lld, not %lld (If-Match)",
                        inst->spec.name, (long long)inst->revision, (long long)if_match);
        r = hd_codec_instance_patch_apply(p, &inst->spec, err);
        if (r < 0)
                return r;
        inst->updated_at = hd_now_ms();
        r = hd_store_tx_instance_update(tx, inst, inst->revision, err);
        if (r < 0)
                return r;
        inst->revision++;

        json_t *labels = json_object();
        for (size_t i = 0; i < inst->spec.labels.n; i++)
                json_object_set_new(labels, inst->spec.labels.items[i].key,
                                    json_string(inst->spec.labels.items[i].value));
        r = hd_core_tx_event(
                tx, "instance.updated", inst, NULL,
                json_pack("{s:I, s:o}", "revision", (json_int_t)inst->revision, "labels", labels),
                &seq, err);
        if (r < 0)
                return r;
        r = hd_store_tx_commit(TAKE_PTR(tx), err);
        if (r < 0)
                return r;
        hd_core_events_published(c, seq);
        *ret = TAKE_PTR(inst);
        return 0;
}

/* Which states each action may start from. */
static bool action_allowed(HdAction a, HdState s)
{
        switch (a) {
        case HD_ACTION_START:
                return s == HD_STATE_CREATED || s == HD_STATE_STOPPED || s == HD_STATE_EXITED ||
                       s == HD_STATE_ERROR;
        case HD_ACTION_STOP:
                return s == HD_STATE_RUNNING || s == HD_STATE_PAUSED || s == HD_STATE_STARTING;
        case HD_ACTION_RESTART:
                return s == HD_STATE_RUNNING || s == HD_STATE_PAUSED || s == HD_STATE_STOPPED ||
                       s == HD_STATE_EXITED || s == HD_STATE_CREATED || s == HD_STATE_ERROR;
        case HD_ACTION_KILL:
                return s == HD_STATE_RUNNING || s == HD_STATE_PAUSED || s == HD_STATE_STARTING ||
                       s == HD_STATE_STOPPING;
        case HD_ACTION_PAUSE:
                return s == HD_STATE_RUNNING;
        case HD_ACTION_RESUME:
                return s == HD_STATE_PAUSED;
        case HD_ACTION_DELETE:
                return s != HD_STATE_DELETING;
        default:
                return false;
        }
}

static bool state_is_active(HdState s)
{
        return s == HD_STATE_RUNNING || s == HD_STATE_PAUSED || s == HD_STATE_STARTING ||
               s == HD_STATE_STOPPING;
}

int hd_core_instance_action(HdCore *c, const char *ref, HdAction a, const char *args_json,
                            bool force, HdOperation **ret, HdError **err)
{
        return hd_core_instance_action_as(c, ref, a, args_json, force, false, ret, err);
}

int hd_core_instance_action_as(HdCore *c, const char *ref, HdAction a, const char *args_json,
                               bool force, bool from_policy, HdOperation **ret, HdError **err)
{
        _cleanup_(hd_instance_freep) HdInstance *inst = NULL;
        int r = hd_store_instance_get(c->store, ref, &inst, err);
        if (r < 0)
                return r;
        /* What the user does overrides a pending restart. */
        if (!from_policy)
                hd_core_restart_forget(c, inst->uuid);

        HdKind k = inst->spec.kind;
        const char *kind = hd_kind_to_string(k);
        /* A delete of something no driver ever touched needs no driver. */
        bool needs_driver = a != HD_ACTION_DELETE || inst->provisioned;
        if (needs_driver && !c->available[k])
                return hd_error_set(err, -ENODEV, "%s driver unavailable: %s", kind, c->reason[k]);
        if (needs_driver && !hd_driver_action_slot(c->drivers[k], a))
                return hd_error_set(err, -EOPNOTSUPP, "the %s driver cannot %s an instance", kind,
                                    hd_action_to_string(a));

        char busy[HD_UUID_STRING_MAX];
        if (hd_core_ops_instance_busy(c, inst->uuid, busy))
                return hd_error_set(err, -EBUSY, "instance `%s` has operation %s in progress",
                                    inst->spec.name, busy);
        if (a == HD_ACTION_DELETE && state_is_active(inst->state) && !force)
                return hd_error_set(err, -EBUSY,
                                    "instance `%s` is %s; stop it first or delete with force=true",
                                    inst->spec.name, hd_state_to_string(inst->state));
        if (!action_allowed(a, inst->state))
                return hd_error_set(err, -EBUSY, "cannot %s instance `%s` while it is %s",
                                    hd_action_to_string(a), inst->spec.name,
                                    hd_state_to_string(inst->state));

        _cleanup_free_ char *args = NULL;
        if (a == HD_ACTION_DELETE) {
                _cleanup_json_ json_t *j = json_pack("{s:b}", "force", force);
                args = json_dumps(j, JSON_COMPACT);
        } else {
                args = strdup(args_json ? args_json : "{}");
        }
        if (!args)
                return hd_error_set(err, -ENOMEM, "out of memory");
        return hd_core_ops_submit(c, inst, a, args, ret, err);
}

/* ---- logs, exec, stats -------------------------------------------------------------------- */

typedef enum IoSlot { IO_LOGS, IO_EXEC, IO_STATS } IoSlot;

/* The instance and its driver, when the driver is there and has the slot. */
static int io_driver(HdCore *c, const char *ref, IoSlot slot, HdInstance **ret_inst,
                     HdDriver **ret_driver, HdError **err)
{
        static const char *const what[] = {
                [IO_LOGS] = "show logs", [IO_EXEC] = "run commands", [IO_STATS] = "report stats"
        };
        _cleanup_(hd_instance_freep) HdInstance *inst = NULL;
        int r = hd_store_instance_get(c->store, ref, &inst, err);
        if (r < 0)
                return r;
        HdKind k = inst->spec.kind;
        if (!c->available[k])
                return hd_error_set(err, -ENODEV, "%s driver unavailable: %s", hd_kind_to_string(k),
                                    c->reason[k]);
        HdDriver *d = c->drivers[k];
        bool has = slot == IO_LOGS   ? d->logs_open != NULL
                   : slot == IO_EXEC ? d->exec != NULL
                                     : d->stats != NULL;
        if (!has)
                return hd_error_set(err, -EOPNOTSUPP, "the %s driver cannot %s",
                                    hd_kind_to_string(k), what[slot]);
        *ret_driver = d;
        *ret_inst = TAKE_PTR(inst);
        return 0;
}

int hd_core_instance_logs(HdCore *c, const char *ref, const HdLogOptions *o, HdDriverLogs **ret,
                          HdError **err)
{
        _cleanup_(hd_instance_freep) HdInstance *inst = NULL;
        HdDriver *d = NULL;
        int r = io_driver(c, ref, IO_LOGS, &inst, &d, err);
        if (r < 0)
                return r;
        return d->logs_open(d, inst, o, ret, err);
}

int hd_core_instance_exec(HdCore *c, const char *ref, const HdExecRequest *req, HdExecResult *ret,
                          HdError **err)
{
        _cleanup_(hd_instance_freep) HdInstance *inst = NULL;
        HdDriver *d = NULL;
        int r = io_driver(c, ref, IO_EXEC, &inst, &d, err);
        if (r < 0)
                return r;
        if (inst->state != HD_STATE_RUNNING)
                return hd_error_set(err, -EBUSY, "instance `%s` is %s, not running",
                                    inst->spec.name, hd_state_to_string(inst->state));
        return d->exec(d, inst, req, ret, err);
}

int hd_core_instance_stats(HdCore *c, const char *ref, HdStats *ret, HdError **err)
{
        _cleanup_(hd_instance_freep) HdInstance *inst = NULL;
        HdDriver *d = NULL;
        int r = io_driver(c, ref, IO_STATS, &inst, &d, err);
        if (r < 0)
                return r;
        if (inst->state != HD_STATE_RUNNING && inst->state != HD_STATE_PAUSED)
                return hd_error_set(err, -EBUSY, "instance `%s` is %s, not running",
                                    inst->spec.name, hd_state_to_string(inst->state));
        return d->stats(d, inst, ret, err);
}

/* ---- driver reports ------------------------------------------------------------------------- */

/* A driver noticed a change by itself (exit, power-off): record it like any
 * other transition, store first, then the event; after the operation running on the
 * instance, if one is. */
static void driver_state_changed(void *core, const char *uuid, const HdDriverResult *res)
{
        HdCore *c = core;
        if (!hd_core_ops_defer_report(c, uuid, res))
                hd_core_apply_state_change(c, uuid, res);
}

void hd_core_apply_state_change(HdCore *c, const char *uuid, const HdDriverResult *res)
{
        _cleanup_error_ HdError *err = NULL;
        _cleanup_tx_ HdStoreTx *tx = NULL;
        _cleanup_(hd_instance_freep) HdInstance *inst = NULL;
        int64_t seq = 0;

        int r = hd_store_tx_begin(c->store, &tx, &err);
        if (r >= 0)
                r = hd_store_tx_instance_get(tx, uuid, &inst, &err);
        if (r == -ENOENT)
                return; /* deleted meanwhile: nothing to record */
        bool changed =
                r >= 0 && (inst->state != res->state || inst->has_exit_code != res->has_exit_code ||
                           inst->exit_code != res->exit_code);
        if (changed) {
                inst->has_exit_code = res->has_exit_code;
                inst->exit_code = res->exit_code;
                free(inst->reason);
                inst->reason = res->reason[0] ? strdup(res->reason) : NULL;
                inst->updated_at = hd_now_ms();
                r = hd_core_tx_set_state(tx, inst, res->state, &seq, &err);
                if (r >= 0)
                        r = hd_store_tx_instance_update(tx, inst, inst->revision, &err);
                if (r >= 0)
                        r = hd_store_tx_commit(TAKE_PTR(tx), &err);
        }
        if (r < 0) {
                hd_log_error("recording a state change of %s failed: %s", uuid,
                             err && err->message ? err->message : "unknown error");
                return;
        }
        hd_core_events_published(c, seq);
        /* Only an end the instance came to by itself: a stop's own report finds the
         * state already recorded. */
        if (changed)
                hd_core_restart_consider(c, inst);
}

/* A driver saw the running instance become ready: recorded once per run, with an
 * event. A report for a run that is over (or not yet begun) is dropped. */
static void driver_ready(void *core, const char *uuid, int64_t at_ms)
{
        HdCore *c = core;
        _cleanup_error_ HdError *err = NULL;
        _cleanup_tx_ HdStoreTx *tx = NULL;
        _cleanup_(hd_instance_freep) HdInstance *inst = NULL;
        int64_t seq = 0;

        int r = hd_store_tx_begin(c->store, &tx, &err);
        if (r >= 0)
                r = hd_store_tx_instance_get(tx, uuid, &inst, &err);
        if (r == -ENOENT)
                return;
        /* Starting and stopping too: the guest may say so before its start or
         * restart operation has recorded its outcome. */
        if (r >= 0 && (inst->ready_at > 0 ||
                       (inst->state != HD_STATE_RUNNING && inst->state != HD_STATE_PAUSED &&
                        inst->state != HD_STATE_STARTING && inst->state != HD_STATE_STOPPING)))
                return;
        if (r >= 0) {
                inst->ready_at = at_ms;
                inst->updated_at = hd_now_ms();
                char when[32];
                hd_time_format(at_ms, when);
                r = hd_core_tx_event(tx, "instance.ready", inst, NULL,
                                     json_pack("{s:s}", "ready_at", when), &seq, &err);
        }
        if (r >= 0)
                r = hd_store_tx_instance_update(tx, inst, inst->revision, &err);
        if (r >= 0)
                r = hd_store_tx_commit(TAKE_PTR(tx), &err);
        if (r < 0) {
                hd_log_error("recording that %s is ready failed: %s", uuid,
                             err && err->message ? err->message : "unknown error");
                return;
        }
        hd_core_events_published(c, seq);
}

int hd_core_reconcile_instances(HdCore *c, HdError **err)
{
        _cleanup_free_ char *after = NULL;
        for (;;) {
                HdInstanceFilter f = { .kind = HD_KIND_INVALID,
                                       .state = HD_STATE_INVALID,
                                       .after = after,
                                       .limit = 500 };
                HdInstance **items = NULL;
                size_t n = 0;
                bool more = false;
                int r = hd_store_instance_list(c->store, &f, &items, &n, &more, err);
                if (r < 0)
                        return r;
                for (size_t k = 0; k < n; k++) {
                        HdInstance *inst = items[k];
                        HdDriver *d = c->drivers[inst->spec.kind];
                        if (!c->available[inst->spec.kind] || !d->observe || !inst->provisioned ||
                            (inst->state != HD_STATE_RUNNING && inst->state != HD_STATE_PAUSED))
                                continue;
                        HdDriverResult res = { .state = inst->state };
                        _cleanup_error_ HdError *derr = NULL;
                        if (d->observe(d, inst, &res, &derr) < 0) {
                                hd_log_warn("%s: cannot tell its state: %s", inst->spec.name,
                                            derr && derr->message ? derr->message : "?");
                                continue;
                        }
                        if (res.state != inst->state) {
                                hd_log_info("%s is %s, not %s as recorded", inst->spec.name,
                                            hd_state_to_string(res.state),
                                            hd_state_to_string(inst->state));
                                hd_core_apply_state_change(c, inst->uuid, &res);
                        }
                }
                free(after);
                after = n > 0 ? strdup(items[n - 1]->spec.name) : NULL;
                hd_instance_array_free(items, n);
                if (!more || !after)
                        return 0;
        }
}
