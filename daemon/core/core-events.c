#include <time.h>

#include "core-internal.h"
#include "hd-log.h"

void hd_cond_init_monotonic(pthread_cond_t *cond)
{
        pthread_condattr_t attr;
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(cond, &attr);
        pthread_condattr_destroy(&attr);
}

int hd_cond_wait_until(pthread_cond_t *cond, pthread_mutex_t *m, int64_t deadline_ms)
{
        struct timespec ts = {
                .tv_sec = deadline_ms / 1000,
                .tv_nsec = (deadline_ms % 1000) * 1000000,
        };
        return pthread_cond_timedwait(cond, m, &ts);
}

int hd_core_tx_event(HdStoreTx *tx, const char *type, const HdInstance *inst, const char *op_id,
                     json_t *data, int64_t *ret_seq, HdError **err)
{
        _cleanup_json_ json_t *owned = data ? data : json_object();
        _cleanup_free_ char *text = json_dumps(owned, JSON_COMPACT);
        if (!text)
                return hd_error_set(err, -ENOMEM, "out of memory");

        HdEvent e = {
                .time = hd_now_ms(),
                .type = (char *)type,
                .instance_name = inst ? inst->spec.name : NULL,
                .data_json = text,
        };
        if (inst)
                snprintf(e.instance_uuid, sizeof(e.instance_uuid), "%s", inst->uuid);
        if (op_id)
                snprintf(e.operation_id, sizeof(e.operation_id), "%s", op_id);

        int r = hd_store_tx_event_append(tx, &e, err);
        if (r < 0)
                return r;
        if (ret_seq)
                *ret_seq = e.seq;
        return 0;
}

int hd_core_tx_set_state(HdStoreTx *tx, HdInstance *inst, HdState to, int64_t *ret_seq,
                         HdError **err)
{
        if (inst->state == to)
                return 0;
        json_t *data = json_pack("{s:s, s:s}", "from", hd_state_to_string(inst->state), "to",
                                 hd_state_to_string(to));
        if (inst->has_exit_code)
                json_object_set_new(data, "exit_code", json_integer(inst->exit_code));
        if (inst->reason)
                json_object_set_new(data, "reason", json_string(inst->reason));
        inst->state = to;
        /* Ready is a fact about the current run: it ends with the run. */
        if (to != HD_STATE_RUNNING && to != HD_STATE_PAUSED)
                inst->ready_at = 0;
        return hd_core_tx_event(tx, "instance.state", inst, NULL, data, ret_seq, err);
}

void hd_core_events_published(HdCore *c, int64_t seq)
{
        pthread_mutex_lock(&c->ev_lock);
        if (seq > c->last_seq) {
                c->last_seq = seq;
                pthread_cond_broadcast(&c->ev_cond);
        }
        pthread_mutex_unlock(&c->ev_lock);
}

int64_t hd_core_event_last_seq(HdCore *c)
{
        pthread_mutex_lock(&c->ev_lock);
        int64_t seq = c->last_seq;
        pthread_mutex_unlock(&c->ev_lock);
        return seq;
}

int hd_core_events_wait(HdCore *c, int64_t after_seq, int64_t timeout_ms)
{
        int64_t deadline = hd_monotonic_ms() + timeout_ms;
        int r = 0;
        pthread_mutex_lock(&c->ev_lock);
        for (;;) {
                if (c->last_seq > after_seq) {
                        r = 1;
                        break;
                }
                if (atomic_load(&c->shutting_down)) {
                        r = -ECANCELED;
                        break;
                }
                if (hd_monotonic_ms() >= deadline)
                        break;
                hd_cond_wait_until(&c->ev_cond, &c->ev_lock, deadline);
        }
        pthread_mutex_unlock(&c->ev_lock);
        return r;
}

int hd_core_events_since(HdCore *c, int64_t since, size_t limit, HdEvent ***ret, size_t *ret_n,
                         HdError **err)
{
        return hd_store_events_since(c->store, since, limit, ret, ret_n, err);
}
