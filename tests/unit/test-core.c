/* The core with the real store (a temp SQLite file) and a fake driver: the
 * fake is a test double for the driver vtable only, never used outside unit
 * tests. */
#include <check.h>
#include <ftw.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "core.h"

/* ---- fake driver ---------------------------------------------------------------------------- */

typedef struct Fake {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        bool block_start; /* start waits until released or cancelled */
        bool released;
        int starts, stops, kills, removes;
        int last_signal;
} Fake;

static Fake fake;

static int fake_start(HdDriver *d, const HdInstance *inst, const HdActionArgs *args, HdDriverOp *op,
                      HdDriverResult *ret, HdError **err)
{
        pthread_mutex_lock(&fake.lock);
        fake.starts++;
        while (fake.block_start && !fake.released) {
                if (atomic_load(op->cancel_requested)) {
                        pthread_mutex_unlock(&fake.lock);
                        return hd_error_set(err, -ECANCELED, "start cancelled");
                }
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                ts.tv_nsec += 10 * 1000 * 1000;
                if (ts.tv_nsec >= 1000000000) {
                        ts.tv_sec++;
                        ts.tv_nsec -= 1000000000;
                }
                pthread_cond_timedwait(&fake.cond, &fake.lock, &ts);
        }
        pthread_mutex_unlock(&fake.lock);
        op->progress(op, 1, 1);
        ret->state = HD_STATE_RUNNING;
        return 0;
}

static int fake_stop(HdDriver *d, const HdInstance *inst, const HdActionArgs *args, HdDriverOp *op,
                     HdDriverResult *ret, HdError **err)
{
        fake.stops++;
        ret->state = HD_STATE_STOPPED;
        ret->has_exit_code = true;
        ret->exit_code = 0;
        return 0;
}

static int fake_kill(HdDriver *d, const HdInstance *inst, const HdActionArgs *args, HdDriverOp *op,
                     HdDriverResult *ret, HdError **err)
{
        fake.kills++;
        fake.last_signal = args->signal;
        ret->state = HD_STATE_EXITED;
        ret->has_exit_code = true;
        ret->exit_code = 128 + args->signal;
        snprintf(ret->reason, sizeof(ret->reason), "signal");
        return 0;
}

static int fake_remove(HdDriver *d, const HdInstance *inst, const HdActionArgs *args,
                       HdDriverOp *op, HdDriverResult *ret, HdError **err)
{
        fake.removes++;
        return 0;
}

static HdDriver fake_driver = {
        .kind = HD_KIND_CONTAINER,
        .name = "fake",
        .start = fake_start,
        .stop = fake_stop,
        .kill = fake_kill,
        .remove = fake_remove,
};

/* ---- fixture -------------------------------------------------------------------------------- */

static char dir[64];
static char db[128];
static HdStore *store;
static HdCore *core;

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
        return remove(p);
}

static void open_core(int workers, bool start)
{
        HdDriver *drivers[HD_KIND__COUNT] = { &fake_driver, NULL };
        const char *reasons[HD_KIND__COUNT] = { NULL, "no vm driver in this test" };
        HdCoreConfig cfg = { .cpu_overcommit = 1.0,
                             .memory_overcommit = 1.0,
                             .host_cpus = 4,
                             .host_memory_mb = 4096,
                             .op_workers = workers };
        ck_assert_int_eq(hd_store_open(db, 1000, &store, NULL), 0);
        ck_assert_int_eq(hd_core_new(&cfg, store, drivers, reasons, &core, NULL), 0);
        if (start)
                ck_assert_int_eq(hd_core_start(core, NULL), 0);
}

static void close_core(void)
{
        hd_core_free(core);
        core = NULL;
        hd_store_close(store);
        store = NULL;
}

static void setup(void)
{
        snprintf(dir, sizeof(dir), "/tmp/hd-test-core-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(dir));
        snprintf(db, sizeof(db), "%s/hostd.db", dir);
        memset(&fake, 0, sizeof(fake));
        pthread_mutex_init(&fake.lock, NULL);
        pthread_cond_init(&fake.cond, NULL);
        open_core(2, true);
}

static void teardown(void)
{
        pthread_mutex_lock(&fake.lock);
        fake.released = true;
        pthread_cond_broadcast(&fake.cond);
        pthread_mutex_unlock(&fake.lock);
        close_core();
        nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static HdInstance *create(const char *name, HdKind kind, double vcpus, int64_t mem)
{
        HdInstanceSpec spec = {
                .name = (char *)name,
                .kind = kind,
                .image = (char *)"busybox",
                .resources = { .vcpus = vcpus, .memory_mb = mem, .pids_max = 100 },
        };
        HdInstance *inst = NULL;
        HdError *err = NULL;
        int r = hd_core_instance_create(core, &spec, &inst, &err);
        ck_assert_msg(r == 0, "create %s: %s", name, err ? err->message : "?");
        return inst;
}

static HdOperation *act(const char *ref, HdAction a, bool force)
{
        HdOperation *op = NULL;
        HdError *err = NULL;
        int r = hd_core_instance_action(
                core, ref, a, a == HD_ACTION_KILL ? "{\"signal\":15}" : "{}", force, &op, &err);
        ck_assert_msg(r == 0, "action: %s", err ? err->message : "?");
        return op;
}

static HdOperation *wait_op(const char *id, int64_t ms)
{
        HdOperation *op = NULL;
        ck_assert_int_eq(hd_core_operation_wait(core, id, ms, &op, NULL), 0);
        return op;
}

static HdState state_of(const char *name)
{
        HdInstance *i = NULL;
        ck_assert_int_eq(hd_core_instance_get(core, name, &i, NULL), 0);
        HdState s = i->state;
        hd_instance_free(i);
        return s;
}

/* ---- tests ---------------------------------------------------------------------------------- */

START_TEST(test_create_admits_and_records)
{
        HdInstance *a = create("a", HD_KIND_CONTAINER, 1.5, 1024);
        ck_assert_int_eq(a->state, HD_STATE_CREATED);
        ck_assert_int_eq(a->revision, 1);
        ck_assert_str_eq(a->placement.driver, "container");
        ck_assert_ptr_nonnull(strstr(a->placement.reason, "1.50 of 4.00 vCPUs"));
        ck_assert_int_ge(hd_core_event_last_seq(core), 1);

        HdHostUsage u;
        ck_assert_int_eq(hd_core_host_usage(core, &u, NULL), 0);
        ck_assert_double_eq_tol(u.allocated_vcpus, 1.5, 1e-9);
        ck_assert_int_eq(u.allocated_memory_mb, 1024);
        ck_assert_int_eq(u.counts[HD_KIND_CONTAINER][HD_STATE_CREATED], 1);
        hd_instance_free(a);
}
END_TEST

START_TEST(test_create_refusals_leave_inventory_unchanged)
{
        hd_instance_free(create("a", HD_KIND_CONTAINER, 3, 1024));
        int64_t seq = hd_core_event_last_seq(core);

        HdInstanceSpec dup = { .name = (char *)"a",
                               .kind = HD_KIND_VM,
                               .image = (char *)"x",
                               .resources = { .vcpus = 1, .memory_mb = 64 } };
        HdInstance *out = NULL;
        HdError *err = NULL;
        ck_assert_int_eq(hd_core_instance_create(core, &dup, &out, &err), -EEXIST);
        ck_assert_str_eq(err->field, "name");
        hd_error_free(TAKE_PTR(err));

        HdInstanceSpec big = dup;
        big.name = (char *)"b";
        big.resources.vcpus = 2; /* 3 + 2 > 4 */
        ck_assert_int_eq(hd_core_instance_create(core, &big, &out, &err), -ENOSPC);
        ck_assert_ptr_nonnull(strstr(err->message, "3.00 of 4.00 allocated"));
        hd_error_free(TAKE_PTR(err));

        ck_assert_int_eq(hd_core_event_last_seq(core), seq);
        HdHostUsage u;
        ck_assert_int_eq(hd_core_host_usage(core, &u, NULL), 0);
        ck_assert_int_eq(u.counts[HD_KIND_VM][HD_STATE_CREATED], 0);
        ck_assert_double_eq_tol(u.allocated_vcpus, 3, 1e-9);
}
END_TEST

START_TEST(test_unavailable_driver_is_503_with_reason)
{
        hd_instance_free(create("v", HD_KIND_VM, 1, 64));
        HdOperation *op = NULL;
        HdError *err = NULL;
        ck_assert_int_eq(
                hd_core_instance_action(core, "v", HD_ACTION_START, "{}", false, &op, &err),
                -ENODEV);
        ck_assert_ptr_nonnull(strstr(err->message, "no vm driver in this test"));
        hd_error_free(err);
        ck_assert_int_eq(state_of("v"), HD_STATE_CREATED);

        HdDriverStatus st;
        hd_core_driver_status(core, HD_KIND_VM, &st);
        ck_assert(!st.available);
        hd_core_driver_status(core, HD_KIND_CONTAINER, &st);
        ck_assert(st.available);

        /* Never provisioned: deleting needs no driver. */
        op = act("v", HD_ACTION_DELETE, false);
        HdOperation *done = wait_op(op->id, 5000);
        ck_assert_int_eq(done->status, HD_OP_SUCCESS);
        HdInstance *gone = NULL;
        ck_assert_int_eq(hd_core_instance_get(core, "v", &gone, NULL), -ENOENT);
        hd_operation_free(op);
        hd_operation_free(done);
}
END_TEST

START_TEST(test_start_stop_lifecycle_and_events)
{
        hd_instance_free(create("c", HD_KIND_CONTAINER, 1, 64));
        int64_t seq0 = hd_core_event_last_seq(core);
        HdOperation *op = act("c", HD_ACTION_START, false);
        ck_assert_int_eq(op->status, HD_OP_PENDING);
        HdOperation *done = wait_op(op->id, 5000);
        ck_assert_int_eq(done->status, HD_OP_SUCCESS);
        ck_assert_int_eq(done->progress_done, 1);
        ck_assert_int_eq(state_of("c"), HD_STATE_RUNNING);
        ck_assert_int_eq(fake.starts, 1);

        /* Starting a running instance is a conflict, not a second start. */
        HdOperation *again = NULL;
        HdError *err = NULL;
        ck_assert_int_eq(
                hd_core_instance_action(core, "c", HD_ACTION_START, "{}", false, &again, &err),
                -EBUSY);
        hd_error_free(TAKE_PTR(err));

        /* The events tell the story in order. */
        HdEvent **evs = NULL;
        size_t n = 0;
        ck_assert_int_eq(hd_core_events_since(core, seq0, 100, &evs, &n, NULL), 0);
        /* A container is ready once its start has it running. */
        const char *want[] = { "operation.created", "operation.updated", "instance.state",
                               "operation.updated", "instance.state",    "instance.ready",
                               "operation.updated" };
        ck_assert_uint_eq(n, HD_ARRAY_SIZE(want));
        for (size_t i = 0; i < n; i++)
                ck_assert_str_eq(evs[i]->type, want[i]);
        ck_assert_ptr_nonnull(strstr(evs[2]->data_json, "\"starting\""));
        ck_assert_ptr_nonnull(strstr(evs[4]->data_json, "\"running\""));
        hd_event_array_free(evs, n);

        HdOperation *stop = act("c", HD_ACTION_STOP, false);
        HdOperation *stopped = wait_op(stop->id, 5000);
        ck_assert_int_eq(stopped->status, HD_OP_SUCCESS);
        ck_assert_int_eq(state_of("c"), HD_STATE_STOPPED);
        hd_operation_free(op);
        hd_operation_free(done);
        hd_operation_free(stop);
        hd_operation_free(stopped);
}
END_TEST

START_TEST(test_delete_running_needs_force)
{
        hd_instance_free(create("r", HD_KIND_CONTAINER, 1, 64));
        HdOperation *op = act("r", HD_ACTION_START, false);
        hd_operation_free(wait_op(op->id, 5000));
        hd_operation_free(op);

        HdOperation *del = NULL;
        HdError *err = NULL;
        ck_assert_int_eq(
                hd_core_instance_action(core, "r", HD_ACTION_DELETE, NULL, false, &del, &err),
                -EBUSY);
        ck_assert_ptr_nonnull(strstr(err->message, "force"));
        hd_error_free(err);
        ck_assert_int_eq(state_of("r"), HD_STATE_RUNNING);

        del = act("r", HD_ACTION_DELETE, true);
        HdOperation *done = wait_op(del->id, 5000);
        ck_assert_int_eq(done->status, HD_OP_SUCCESS);
        ck_assert_int_eq(fake.kills, 1);
        ck_assert_int_eq(fake.last_signal, 9);
        ck_assert_int_eq(fake.removes, 1);
        HdInstance *gone = NULL;
        ck_assert_int_eq(hd_core_instance_get(core, "r", &gone, NULL), -ENOENT);
        hd_operation_free(del);
        hd_operation_free(done);
}
END_TEST

START_TEST(test_kill_records_exit)
{
        hd_instance_free(create("k", HD_KIND_CONTAINER, 1, 64));
        HdOperation *op = act("k", HD_ACTION_START, false);
        hd_operation_free(wait_op(op->id, 5000));
        hd_operation_free(op);
        op = act("k", HD_ACTION_KILL, false);
        hd_operation_free(wait_op(op->id, 5000));
        hd_operation_free(op);
        HdInstance *i = NULL;
        ck_assert_int_eq(hd_core_instance_get(core, "k", &i, NULL), 0);
        ck_assert_int_eq(i->state, HD_STATE_EXITED);
        ck_assert(i->has_exit_code);
        ck_assert_int_eq(i->exit_code, 128 + 15);
        ck_assert_str_eq(i->reason, "signal");
        hd_instance_free(i);

        /* pause is not implemented by the fake: a NULL slot is 501. */
        HdError *err = NULL;
        ck_assert_int_eq(
                hd_core_instance_action(core, "k", HD_ACTION_PAUSE, "{}", false, &op, &err),
                -EOPNOTSUPP);
        hd_error_free(err);
}
END_TEST

START_TEST(test_cancel_pending_and_running)
{
        close_core();
        open_core(1, true); /* one worker: the second operation must wait */
        hd_instance_free(create("a", HD_KIND_CONTAINER, 1, 64));
        hd_instance_free(create("b", HD_KIND_CONTAINER, 1, 64));
        fake.block_start = true;

        HdOperation *opa = act("a", HD_ACTION_START, false);
        HdOperation *opb = act("b", HD_ACTION_START, false);
        /* Wait until a's start is inside the driver. */
        for (int i = 0; i < 500 && fake.starts == 0; i++)
                usleep(10000);
        ck_assert_int_eq(fake.starts, 1);

        /* A wait that times out returns the operation as it is. */
        HdOperation *w = wait_op(opb->id, 50);
        ck_assert_int_eq(w->status, HD_OP_PENDING);
        hd_operation_free(w);

        HdOperation *c = NULL;
        ck_assert_int_eq(hd_core_operation_cancel(core, opb->id, &c, NULL), 0);
        ck_assert_int_eq(c->status, HD_OP_CANCELLED);
        hd_operation_free(c);
        ck_assert_int_eq(state_of("b"), HD_STATE_CREATED);

        ck_assert_int_eq(hd_core_operation_cancel(core, opa->id, &c, NULL), 0);
        hd_operation_free(c);
        HdOperation *done = wait_op(opa->id, 5000);
        ck_assert_int_eq(done->status, HD_OP_CANCELLED);
        ck_assert_str_eq(done->error_code, "cancelled");
        hd_operation_free(done);

        /* Cancelling a final operation is a conflict. */
        HdError *err = NULL;
        ck_assert_int_eq(hd_core_operation_cancel(core, opb->id, &c, &err), -EBUSY);
        hd_error_free(err);
        ck_assert_int_eq(fake.starts, 1); /* b never reached the driver */
        hd_operation_free(opa);
        hd_operation_free(opb);
}
END_TEST

START_TEST(test_pending_operation_survives_restart)
{
        close_core();
        open_core(1, false); /* no workers: the operation stays pending */
        hd_instance_free(create("p", HD_KIND_CONTAINER, 1, 64));
        HdOperation *op = act("p", HD_ACTION_START, false);
        close_core();

        open_core(1, true);
        HdOperation *done = wait_op(op->id, 5000);
        ck_assert_int_eq(done->status, HD_OP_SUCCESS);
        ck_assert_int_eq(state_of("p"), HD_STATE_RUNNING);
        hd_operation_free(op);
        hd_operation_free(done);
}
END_TEST

START_TEST(test_interrupted_operation_is_reconciled)
{
        hd_instance_free(create("i", HD_KIND_CONTAINER, 1, 64));
        close_core();

        /* Forge what a SIGKILL mid-start leaves: a running operation and an
         * instance in "starting". */
        ck_assert_int_eq(hd_store_open(db, 1000, &store, NULL), 0);
        HdStoreTx *tx = NULL;
        HdInstance *inst = NULL;
        ck_assert_int_eq(hd_store_tx_begin(store, &tx, NULL), 0);
        ck_assert_int_eq(hd_store_tx_instance_get(tx, "i", &inst, NULL), 0);
        inst->state = HD_STATE_STARTING;
        ck_assert_int_eq(hd_store_tx_instance_update(tx, inst, inst->revision, NULL), 0);
        HdOperation o = { .action = HD_ACTION_START,
                          .status = HD_OP_RUNNING,
                          .instance_name = inst->spec.name,
                          .args_json = (char *)"{}",
                          .created_at = 1,
                          .updated_at = 1 };
        snprintf(o.id, sizeof(o.id), "11111111-2222-4333-8444-555555555555");
        snprintf(o.instance_uuid, sizeof(o.instance_uuid), "%s", inst->uuid);
        ck_assert_int_eq(hd_store_tx_operation_insert(tx, &o, NULL), 0);
        ck_assert_int_eq(hd_store_tx_commit(tx, NULL), 0);
        hd_instance_free(inst);
        hd_store_close(store);

        open_core(1, true); /* the fake has no observe slot */
        HdOperation *op = NULL;
        ck_assert_int_eq(hd_core_operation_get(core, o.id, &op, NULL), 0);
        ck_assert_int_eq(op->status, HD_OP_FAILURE);
        ck_assert_ptr_nonnull(strstr(op->error_message, "interrupted"));
        hd_operation_free(op);
        HdInstance *after = NULL;
        ck_assert_int_eq(hd_core_instance_get(core, "i", &after, NULL), 0);
        ck_assert_int_eq(after->state, HD_STATE_ERROR);
        ck_assert_ptr_nonnull(strstr(after->error, "hostd stopped during start"));
        hd_instance_free(after);
}
END_TEST

/* ---- image jobs ----------------------------------------------------------------------------- */

typedef struct TestJob {
        int steps;  /* progress reports before returning */
        int result; /* what run returns */
        bool until_cancelled;
        int *freed; /* incremented by free */
} TestJob;

static int test_job_run(void *ud, HdDriverOp *op, HdError **err)
{
        TestJob *j = ud;
        for (int k = 1; k <= j->steps; k++) {
                op->progress(op, k * 100, j->steps * 100);
                usleep(1000);
        }
        while (j->until_cancelled && !atomic_load(op->cancel_requested))
                usleep(1000);
        if (j->until_cancelled)
                return hd_error_set(err, -ECANCELED, "cancelled");
        if (j->result < 0)
                return hd_error_set(err, j->result, "registry says no");
        return 0;
}

static void test_job_free(void *ud)
{
        TestJob *j = ud;
        (*j->freed)++;
        free(j);
}

static HdOperation *submit_job(HdAction a, int steps, int result, bool until_cancelled, int *freed)
{
        TestJob *j = calloc(1, sizeof(*j));
        ck_assert_ptr_nonnull(j);
        *j = (TestJob){ steps, result, until_cancelled, freed };
        HdCoreJob job = { .run = test_job_run, .free = test_job_free, .ud = j };
        HdOperation *op = NULL;
        HdError *err = NULL;
        int r = hd_core_job_submit(core, a, "app:1.0", "{\"ref\":\"h/app:1.0\"}", &job, &op, &err);
        ck_assert_msg(r == 0, "submit: %s", err ? err->message : "?");
        ck_assert_ptr_null(job.ud); /* consumed */
        return op;
}

START_TEST(test_image_job_progress_and_outcome)
{
        int freed = 0;
        HdOperation *op = submit_job(HD_ACTION_IMAGE_PULL, 3, 0, false, &freed);
        ck_assert_int_eq(op->status, HD_OP_PENDING);
        ck_assert_str_eq(op->instance_name, "app:1.0");
        ck_assert_str_eq(op->instance_uuid, "");
        HdOperation *done = wait_op(op->id, 5000);
        ck_assert_int_eq(done->status, HD_OP_SUCCESS);
        ck_assert_int_eq(done->progress_total, 300);
        ck_assert_int_eq(done->progress_done, 300);
        ck_assert_int_eq(freed, 1);
        hd_operation_free(op);
        hd_operation_free(done);

        /* A failure keeps the job's errno as an API code. */
        op = submit_job(HD_ACTION_IMAGE_PUSH, 0, -EACCES, false, &freed);
        done = wait_op(op->id, 5000);
        ck_assert_int_eq(done->status, HD_OP_FAILURE);
        ck_assert_str_eq(done->error_code, "forbidden");
        ck_assert_str_eq(done->error_message, "registry says no");
        ck_assert_int_eq(freed, 2);
        hd_operation_free(op);
        hd_operation_free(done);

        /* Not an image action: refused, and the job is still freed. */
        TestJob *j = calloc(1, sizeof(*j));
        j->freed = &freed;
        HdCoreJob job = { .run = test_job_run, .free = test_job_free, .ud = j };
        HdError *err = NULL;
        ck_assert_int_eq(hd_core_job_submit(core, HD_ACTION_START, "x", "{}", &job, &op, &err),
                         -EINVAL);
        hd_error_free(err);
        ck_assert_int_eq(freed, 3);
}
END_TEST

START_TEST(test_image_job_cancel_and_restart)
{
        close_core();
        open_core(1, true);
        int freed = 0;
        HdOperation *running = submit_job(HD_ACTION_IMAGE_PULL, 1, 0, true, &freed);
        HdOperation *pending = submit_job(HD_ACTION_IMAGE_PULL, 1, 0, false, &freed);
        HdOperation *c = NULL;
        for (int i = 0; i < 500; i++) {
                HdOperation *now = wait_op(running->id, 0);
                bool started = now->status == HD_OP_RUNNING;
                hd_operation_free(now);
                if (started)
                        break;
                usleep(10000);
        }
        /* The pending one is cancelled at once, its job freed unrun. */
        ck_assert_int_eq(hd_core_operation_cancel(core, pending->id, &c, NULL), 0);
        ck_assert_int_eq(c->status, HD_OP_CANCELLED);
        hd_operation_free(c);
        ck_assert_int_eq(freed, 1);
        /* The running one sees its flag and stops. */
        ck_assert_int_eq(hd_core_operation_cancel(core, running->id, &c, NULL), 0);
        hd_operation_free(c);
        HdOperation *done = wait_op(running->id, 5000);
        ck_assert_int_eq(done->status, HD_OP_CANCELLED);
        hd_operation_free(done);
        ck_assert_int_eq(freed, 2);
        hd_operation_free(running);
        hd_operation_free(pending);

        /* A job queued when hostd stops is not resumed (its credentials are gone): it
         * is failed as interrupted, and freed at shutdown. */
        close_core();
        open_core(1, false);
        HdOperation *orphan = submit_job(HD_ACTION_IMAGE_PUSH, 1, 0, false, &freed);
        close_core();
        ck_assert_int_eq(freed, 3);
        open_core(1, true);
        done = wait_op(orphan->id, 0);
        ck_assert_int_eq(done->status, HD_OP_FAILURE);
        ck_assert_ptr_nonnull(strstr(done->error_message, "interrupted"));
        hd_operation_free(done);
        hd_operation_free(orphan);
}
END_TEST

START_TEST(test_patch_labels_with_revision)
{
        hd_instance_free(create("l", HD_KIND_CONTAINER, 1, 64));
        HdInstancePatch p = { .has_labels = true };
        ck_assert_int_eq(hd_kvlist_set(&p.set_labels, "tier", "web"), 0);
        HdInstance *out = NULL;
        HdError *err = NULL;
        ck_assert_int_eq(hd_core_instance_patch(core, "l", &p, 7, &out, &err), -ESTALE);
        hd_error_free(TAKE_PTR(err));
        ck_assert_int_eq(hd_core_instance_patch(core, "l", &p, 1, &out, NULL), 0);
        ck_assert_int_eq(out->revision, 2);
        ck_assert_str_eq(hd_kvlist_get(&out->spec.labels, "tier"), "web");
        hd_instance_free(out);
        ck_assert_int_eq(hd_core_instance_patch(core, "l", &p, -1, &out, NULL), 0);
        ck_assert_int_eq(out->revision, 3);
        hd_instance_free(out);
        hd_instance_patch_clear(&p);
}
END_TEST

START_TEST(test_events_wait)
{
        int64_t seq = hd_core_event_last_seq(core);
        ck_assert_int_eq(hd_core_events_wait(core, seq, 20), 0);
        hd_instance_free(create("e", HD_KIND_CONTAINER, 1, 64));
        ck_assert_int_eq(hd_core_events_wait(core, seq, 20), 1);
        hd_core_shutdown(core);
        ck_assert_int_eq(hd_core_events_wait(core, hd_core_event_last_seq(core), 1000), -ECANCELED);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("core");
        TCase *tc = tcase_create("core");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 30);
        tcase_add_test(tc, test_create_admits_and_records);
        tcase_add_test(tc, test_create_refusals_leave_inventory_unchanged);
        tcase_add_test(tc, test_unavailable_driver_is_503_with_reason);
        tcase_add_test(tc, test_start_stop_lifecycle_and_events);
        tcase_add_test(tc, test_delete_running_needs_force);
        tcase_add_test(tc, test_kill_records_exit);
        tcase_add_test(tc, test_cancel_pending_and_running);
        tcase_add_test(tc, test_pending_operation_survives_restart);
        tcase_add_test(tc, test_interrupted_operation_is_reconciled);
        tcase_add_test(tc, test_patch_labels_with_revision);
        tcase_add_test(tc, test_image_job_progress_and_outcome);
        tcase_add_test(tc, test_image_job_cancel_and_restart);
        tcase_add_test(tc, test_events_wait);
        suite_add_tcase(s, tc);
        SRunner *sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? 1 : 0;
}
