/* Restart policies: an instance that ends by itself (not by a stop, kill or delete) is
 * started again after an exponential backoff when its policy says so: `always`, or
 * `on-failure` for a non-zero exit code up to max_retries. Docker's rules: the delay
 * doubles from 100 ms up to a minute, and starts over once a run lasted 10 s.
 *
 * The restart count lives here, not in the inventory: a hostd restart resets it. */
#include <string.h>

#include "core-internal.h"
#include "hd-log.h"

#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS   60000
#define BACKOFF_RESET_MS 10000

/* One instance's restarts: how many in a row, and the next one, if due. */
typedef struct HdRestart {
        char uuid[HD_UUID_STRING_MAX];
        int64_t count;
        int64_t due_ms;     /* monotonic; 0: none scheduled */
        int64_t started_ms; /* monotonic, when the last restart was made */
        struct HdRestart *next;
} HdRestart;

static HdRestart *find(HdCore *c, const char *uuid, bool create)
{
        for (HdRestart *r = c->restarts; r; r = r->next)
                if (strcmp(r->uuid, uuid) == 0)
                        return r;
        if (!create)
                return NULL;
        HdRestart *r = calloc(1, sizeof(*r));
        if (!r)
                return NULL;
        snprintf(r->uuid, sizeof(r->uuid), "%s", uuid);
        r->next = c->restarts;
        c->restarts = r;
        return r;
}

/* Whether the instance's run came to an end by itself, and whether that was a
 * failure. A container exits with its code; a VM's guest powers off (a clean end,
 * like exit 0) or its qemu crashes (a failure). */
static bool ended_by_itself(const HdInstance *inst, bool *ret_failed)
{
        switch (inst->state) {
        case HD_STATE_EXITED:
                *ret_failed = !inst->has_exit_code || inst->exit_code != 0;
                return true;
        case HD_STATE_STOPPED:
                *ret_failed = false;
                return inst->spec.kind == HD_KIND_VM && inst->reason &&
                       strcmp(inst->reason, "poweroff") == 0;
        case HD_STATE_ERROR:
                *ret_failed = true;
                return inst->spec.kind == HD_KIND_VM && inst->reason &&
                       strcmp(inst->reason, "crashed") == 0;
        default:
                return false;
        }
}

void hd_core_restart_consider(HdCore *c, const HdInstance *inst)
{
        bool failed = false;
        if (!ended_by_itself(inst, &failed))
                return;
        const HdInstanceSpec *s = &inst->spec;
        if (s->restart_policy == HD_RESTART_NO ||
            (s->restart_policy == HD_RESTART_ON_FAILURE && !failed))
                return;
        pthread_mutex_lock(&c->restart_lock);
        HdRestart *r = find(c, inst->uuid, true);
        if (r) {
                int64_t now = hd_monotonic_ms();
                /* A run that lasted starts the backoff over. */
                if (r->started_ms && now - r->started_ms >= BACKOFF_RESET_MS)
                        r->count = 0;
                if (s->restart_policy == HD_RESTART_ON_FAILURE && s->restart_max_retries > 0 &&
                    r->count >= s->restart_max_retries) {
                        hd_log_info("%s ended (%s %d); no restart: %lld retries used", s->name,
                                    hd_state_to_string(inst->state), inst->exit_code,
                                    (long long)r->count);
                } else {
                        int64_t delay = BACKOFF_FIRST_MS;
                        for (int64_t k = 0; k < r->count && delay < BACKOFF_MAX_MS; k++)
                                delay *= 2;
                        if (delay > BACKOFF_MAX_MS)
                                delay = BACKOFF_MAX_MS;
                        r->due_ms = now + delay;
                        hd_log_info("%s ended (%s %d); restart %lld in %lld ms (%s)", s->name,
                                    hd_state_to_string(inst->state), inst->exit_code,
                                    (long long)r->count + 1, (long long)delay,
                                    hd_restart_policy_to_string(s->restart_policy));
                        pthread_cond_signal(&c->restart_cond);
                }
        }
        pthread_mutex_unlock(&c->restart_lock);
}

void hd_core_restart_forget(HdCore *c, const char *uuid)
{
        pthread_mutex_lock(&c->restart_lock);
        for (HdRestart **p = &c->restarts; *p; p = &(*p)->next)
                if (strcmp((*p)->uuid, uuid) == 0) {
                        HdRestart *dead = *p;
                        *p = dead->next;
                        free(dead);
                        break;
                }
        pthread_mutex_unlock(&c->restart_lock);
}

/* Starts what is due; the action checks the state again, so an instance the user
 * started, stopped or deleted meanwhile is left as it is. */
static void *restart_main(void *arg)
{
        HdCore *c = arg;
        pthread_mutex_lock(&c->restart_lock);
        while (!c->restart_stop) {
                int64_t now = hd_monotonic_ms(), next = 0;
                HdRestart *due = NULL;
                for (HdRestart *r = c->restarts; r; r = r->next) {
                        if (!r->due_ms)
                                continue;
                        if (r->due_ms <= now) {
                                due = r;
                                break;
                        }
                        if (!next || r->due_ms < next)
                                next = r->due_ms;
                }
                if (!due) {
                        if (next)
                                hd_cond_wait_until(&c->restart_cond, &c->restart_lock, next);
                        else
                                pthread_cond_wait(&c->restart_cond, &c->restart_lock);
                        continue;
                }
                due->due_ms = 0;
                due->count++;
                due->started_ms = now;
                char uuid[HD_UUID_STRING_MAX];
                snprintf(uuid, sizeof(uuid), "%s", due->uuid);
                pthread_mutex_unlock(&c->restart_lock);

                _cleanup_error_ HdError *err = NULL;
                _cleanup_(hd_operation_freep) HdOperation *op = NULL;
                if (hd_core_instance_action_as(c, uuid, HD_ACTION_START, "{}", false, true, &op,
                                               &err) < 0)
                        hd_log_info("restart of %s skipped: %s", uuid,
                                    err && err->message ? err->message : "?");
                pthread_mutex_lock(&c->restart_lock);
        }
        pthread_mutex_unlock(&c->restart_lock);
        return NULL;
}

int hd_core_restart_start(HdCore *c, HdError **err)
{
        int r = pthread_create(&c->restart_thread, NULL, restart_main, c);
        if (r != 0)
                return hd_error_set(err, -r, "cannot start the restart thread");
        c->restart_started = true;
        return 0;
}

void hd_core_restart_stop(HdCore *c)
{
        pthread_mutex_lock(&c->restart_lock);
        c->restart_stop = true;
        pthread_cond_broadcast(&c->restart_cond);
        pthread_mutex_unlock(&c->restart_lock);
        if (c->restart_started)
                pthread_join(c->restart_thread, NULL);
        c->restart_started = false;
        while (c->restarts) {
                HdRestart *r = c->restarts;
                c->restarts = r->next;
                free(r);
        }
}
