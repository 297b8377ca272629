/* The inventory on SQLite.
 *
 * One writer connection, used only between hd_store_tx_begin() and commit or
 * rollback with the writer mutex held, and a fixed pool of reader connections
 * handed out under a mutex/condvar. WAL lets readers run while a write is in
 * flight. Connections are opened NOMUTEX: each is used by one thread at a time,
 * which our own locking guarantees. Every connection caches its prepared
 * statements (SQLITE_PREPARE_PERSISTENT); they are reset as soon as a call is done
 * with them, so no reader keeps an old WAL snapshot pinned. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <string.h>

#include "hd-codec.h"
#include "hd-json.h"
#include "store-internal.h"

#define STORE_READERS 4

/* ---- statements --------------------------------------------------------------- */

#define INSTANCE_COLUMNS                                                             \
        "uuid, name, spec, state, revision, exit_code, reason, error, provisioned, " \
        "placement_host, placement_driver, placement_reason, created_at, updated_at"
#define OPERATION_COLUMNS                                                                     \
        "id, action, instance_uuid, instance_name, status, args, error_code, error_message, " \
        "progress_done, progress_total, created_at, updated_at, finished_at"
#define EVENT_COLUMNS "seq, time, type, instance_uuid, instance_name, operation_id, data"

typedef enum StoreStmt {
        STMT_INSTANCE_INSERT,
        STMT_INSTANCE_UPDATE,
        STMT_INSTANCE_REVISION,
        STMT_INSTANCE_DELETE,
        STMT_INSTANCE_BY_NAME,
        STMT_INSTANCE_BY_UUID,
        STMT_LABELS_DELETE,
        STMT_LABELS_INSERT,
        STMT_ALLOCATED,
        STMT_COUNTS,
        STMT_OP_INSERT,
        STMT_OP_UPDATE,
        STMT_OP_GET,
        STMT_OP_ROWID,
        STMT_OP_UNFINISHED,
        STMT_EVENT_INSERT,
        STMT_EVENT_TRIM,
        STMT_EVENTS_SINCE,
        STMT_EVENT_LAST_SEQ,
        STMT__COUNT,
} StoreStmt;

/* Instance writes share one parameter numbering (bind_instance()). */
static const char *const stmt_sql[STMT__COUNT] = {
        [STMT_INSTANCE_INSERT] =
                "INSERT INTO instances (uuid, name, kind, state, revision, spec, labels, vcpus, "
                "memory_mb, exit_code, reason, error, provisioned, placement_host, "
                "placement_driver, placement_reason, created_at, updated_at) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, "
                "?17, ?18)",
        [STMT_INSTANCE_UPDATE] =
                "UPDATE instances SET name = ?2, kind = ?3, state = ?4, revision = ?5 + 1, "
                "spec = ?6, labels = ?7, vcpus = ?8, memory_mb = ?9, exit_code = ?10, "
                "reason = ?11, error = ?12, provisioned = ?13, placement_host = ?14, "
                "placement_driver = ?15, placement_reason = ?16, updated_at = ?18 "
                "WHERE uuid = ?1 AND revision = ?5", /* ?17 (created_at) is bound, unused */
        [STMT_INSTANCE_REVISION] = "SELECT revision FROM instances WHERE uuid = ?1",
        [STMT_INSTANCE_DELETE] = "DELETE FROM instances WHERE uuid = ?1",
        [STMT_INSTANCE_BY_NAME] = "SELECT " INSTANCE_COLUMNS " FROM instances WHERE name = ?1",
        [STMT_INSTANCE_BY_UUID] =
                "SELECT " INSTANCE_COLUMNS " FROM instances WHERE uuid = lower(?1)",
        [STMT_LABELS_DELETE] = "DELETE FROM instance_labels WHERE instance_uuid = ?1",
        [STMT_LABELS_INSERT] =
                "INSERT INTO instance_labels (instance_uuid, key, value) VALUES (?1, ?2, ?3)",
        [STMT_ALLOCATED] = "SELECT total(vcpus), coalesce(sum(memory_mb), 0) FROM instances",
        [STMT_COUNTS] = "SELECT kind, state, count(*) FROM instances GROUP BY kind, state",
        [STMT_OP_INSERT] = "INSERT INTO operations (id, action, instance_uuid, instance_name, "
                           "status, args, error_code, error_message, progress_done, "
                           "progress_total, created_at, updated_at, finished_at) "
                           "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        [STMT_OP_UPDATE] = "UPDATE operations SET status = ?2, error_code = ?3, "
                           "error_message = ?4, progress_done = ?5, progress_total = ?6, "
                           "updated_at = ?7, finished_at = ?8 WHERE id = ?1",
        [STMT_OP_GET] = "SELECT " OPERATION_COLUMNS " FROM operations WHERE id = ?1",
        [STMT_OP_ROWID] = "SELECT rowid FROM operations WHERE id = ?1",
        [STMT_OP_UNFINISHED] = "SELECT " OPERATION_COLUMNS " FROM operations "
                               "WHERE status IN ('pending', 'running') ORDER BY rowid",
        [STMT_EVENT_INSERT] = "INSERT INTO events (time, type, instance_uuid, instance_name, "
                              "operation_id, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        [STMT_EVENT_TRIM] = "DELETE FROM events WHERE seq <= ?1",
        [STMT_EVENTS_SINCE] =
                "SELECT " EVENT_COLUMNS " FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        [STMT_EVENT_LAST_SEQ] = "SELECT coalesce((SELECT seq FROM sqlite_sequence "
                                "WHERE name = 'events'), 0)",
};

/* Instance lists are built from their filter's shape: kind?, state?, after? (3 bits)
 * and the number of label pairs. Shapes with up to LIST_LABELS_CACHED pairs are
 * cached per connection; longer ones are prepared for the call. */
#define LIST_LABELS_CACHED 4
#define LIST_SHAPES        (8 * (LIST_LABELS_CACHED + 1))
/* Operation lists: status?, instance?, after?. */
#define OPLIST_SHAPES 8

typedef struct StoreConn {
        sqlite3 *db;
        sqlite3_stmt *stmts[STMT__COUNT];
        sqlite3_stmt *list[LIST_SHAPES];
        sqlite3_stmt *oplist[OPLIST_SHAPES];
} StoreConn;

struct HdStore {
        int version; /* the schema version the database is at */
        int64_t event_retention;

        pthread_mutex_t write_lock; /* held for the life of an HdStoreTx */
        StoreConn writer;

        pthread_mutex_t pool_lock;
        pthread_cond_t pool_cond;
        StoreConn readers[STORE_READERS];
        StoreConn *free_readers[STORE_READERS];
        size_t n_free;
        bool locks_ready;
};

struct HdStoreTx {
        HdStore *store;
};

/* Resets a cached statement when the variable goes out of scope. */
static void stmt_resetp(sqlite3_stmt **st)
{
        if (*st) {
                sqlite3_reset(*st);
                sqlite3_clear_bindings(*st);
        }
}
#define _cleanup_reset_ _cleanup_(stmt_resetp)

/* ---- helpers ------------------------------------------------------------------ */

int hd_store_sqlite_error(HdError **err, sqlite3 *db, const char *fmt, ...)
{
        int code = (sqlite3_errcode(db) & 0xff) == SQLITE_NOMEM ? -ENOMEM : -EIO;
        _cleanup_free_ char *what = NULL;
        va_list ap;

        va_start(ap, fmt);
        int r = vasprintf(&what, fmt, ap);
        va_end(ap);
        if (r < 0)
                what = NULL;
        return hd_error_set(err, code, "%s: %s", what ? what : "sqlite", sqlite3_errmsg(db));
}

int hd_store_exec(sqlite3 *db, const char *sql, HdError **err)
{
        char *msg = NULL;
        int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);

        if (rc == SQLITE_OK)
                return 0;
        int code = (rc & 0xff) == SQLITE_NOMEM ? -ENOMEM : -EIO;
        hd_error_set(err, code, "%s", msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return code;
}

static bool is_unique_violation(int rc)
{
        return rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY;
}

static int conn_prepare(StoreConn *c, const char *sql, sqlite3_stmt **slot, HdError **err)
{
        if (!*slot &&
            sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, slot, NULL) != SQLITE_OK)
                return hd_store_sqlite_error(err, c->db, "could not prepare statement");
        return 0;
}

static int conn_stmt(StoreConn *c, StoreStmt id, sqlite3_stmt **ret, HdError **err)
{
        int r = conn_prepare(c, stmt_sql[id], &c->stmts[id], err);
        if (r < 0)
                return r;
        *ret = c->stmts[id];
        return 0;
}

static void conn_close(StoreConn *c)
{
        for (size_t i = 0; i < STMT__COUNT; i++)
                sqlite3_finalize(c->stmts[i]);
        for (size_t i = 0; i < LIST_SHAPES; i++)
                sqlite3_finalize(c->list[i]);
        for (size_t i = 0; i < OPLIST_SHAPES; i++)
                sqlite3_finalize(c->oplist[i]);
        sqlite3_close_v2(c->db);
        memset(c, 0, sizeof(*c));
}

static int conn_open(StoreConn *c, const char *path, HdError **err)
{
        const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        int r;

        if (sqlite3_open_v2(path, &c->db, flags, NULL) != SQLITE_OK) {
                r = c->db ? hd_store_sqlite_error(err, c->db, "could not open database `%s`", path)
                          : hd_error_set(err, -ENOMEM, "could not open database `%s`", path);
                conn_close(c);
                return r;
        }
        sqlite3_extended_result_codes(c->db, 1);
        sqlite3_busy_timeout(c->db, HD_STORE_BUSY_TIMEOUT_MS);
        sqlite3_db_config(c->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);

        if (sqlite3_prepare_v2(c->db, "PRAGMA journal_mode = WAL", -1, &st, NULL) != SQLITE_OK ||
            sqlite3_step(st) != SQLITE_ROW)
                return hd_store_sqlite_error(err, c->db, "could not set journal mode of `%s`",
                                             path);
        const char *mode = (const char *)sqlite3_column_text(st, 0);
        if (!mode || strcmp(mode, "wal") != 0)
                return hd_error_set(err, -EIO,
                                    "could not put `%s` in WAL mode (journal mode is %s)", path,
                                    mode ? mode : "unknown");

        r = hd_store_exec(c->db, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON", err);
        if (r < 0)
                return hd_error_wrap(err, "could not configure `%s`", path);
        return 0;
}

static int col_strdup(sqlite3_stmt *st, int col, char **ret)
{
        const char *t = (const char *)sqlite3_column_text(st, col);
        if (!t) {
                *ret = NULL;
                return 0;
        }
        *ret = strdup(t);
        return *ret ? 0 : -ENOMEM;
}

static int col_uuid(sqlite3_stmt *st, int col, char buf[static HD_UUID_STRING_MAX])
{
        const char *t = (const char *)sqlite3_column_text(st, col);
        if (!t) {
                buf[0] = '\0';
                return 0;
        }
        if (strlen(t) >= HD_UUID_STRING_MAX)
                return -EIO;
        strcpy(buf, t);
        return 0;
}

static const char *empty_to_null(const char *s)
{
        return s && *s ? s : NULL;
}

/* ---- open and close --------------------------------------------------------------- */

static int store_open(const char *path, int target_version, int64_t retention, HdStore **ret,
                      HdError **err)
{
        _cleanup_(hd_store_closep) HdStore *s = NULL;
        pthread_mutexattr_t attr;
        int r;

        if (!path || !*path)
                return hd_error_set(err, -EINVAL, "no database path given");
        if (retention < 0)
                return hd_error_set(err, -EINVAL, "event retention must not be negative");

        s = calloc(1, sizeof(*s));
        if (!s)
                return hd_error_set(err, -ENOMEM, "out of memory");
        s->event_retention = retention;

        /* Error-checking, so a nested hd_store_tx_begin() on one thread fails
         * instead of deadlocking. */
        pthread_mutexattr_init(&attr);
        pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
        pthread_mutex_init(&s->write_lock, &attr);
        pthread_mutexattr_destroy(&attr);
        pthread_mutex_init(&s->pool_lock, NULL);
        pthread_cond_init(&s->pool_cond, NULL);
        s->locks_ready = true;

        r = conn_open(&s->writer, path, err);
        if (r < 0)
                return r;
        r = hd_store_migrate(s->writer.db, target_version, &s->version, err);
        if (r < 0)
                return hd_error_wrap(err, "could not open database `%s`", path);

        /* Readers open after the migrations, so they never see an old schema. */
        for (size_t i = 0; i < STORE_READERS; i++) {
                r = conn_open(&s->readers[i], path, err);
                if (r < 0)
                        return r;
                s->free_readers[s->n_free++] = &s->readers[i];
        }

        *ret = TAKE_PTR(s);
        return 0;
}

int hd_store_open(const char *path, int64_t event_retention, HdStore **ret, HdError **err)
{
        return store_open(path, hd_store_schema_latest(), event_retention, ret, err);
}

/* Event retention is unlimited here: this is for migration tests. */
int hd_store_open_version(const char *path, int target_version, HdStore **ret, HdError **err)
{
        return store_open(path, target_version, 0, ret, err);
}

void hd_store_close(HdStore *s)
{
        if (!s)
                return;
        /* The writer goes last: closing the last connection checkpoints the WAL. */
        for (size_t i = 0; i < STORE_READERS; i++)
                conn_close(&s->readers[i]);
        conn_close(&s->writer);
        if (s->locks_ready) {
                pthread_cond_destroy(&s->pool_cond);
                pthread_mutex_destroy(&s->pool_lock);
                pthread_mutex_destroy(&s->write_lock);
        }
        free(s);
}

/* ---- reader pool ------------------------------------------------------------------ */

typedef struct ReaderLease {
        HdStore *store;
        StoreConn *conn;
} ReaderLease;

static ReaderLease reader_acquire(HdStore *s)
{
        pthread_mutex_lock(&s->pool_lock);
        while (s->n_free == 0)
                pthread_cond_wait(&s->pool_cond, &s->pool_lock);
        StoreConn *c = s->free_readers[--s->n_free];
        pthread_mutex_unlock(&s->pool_lock);
        return (ReaderLease){ .store = s, .conn = c };
}

static void reader_releasep(ReaderLease *l)
{
        if (!l->conn)
                return;
        pthread_mutex_lock(&l->store->pool_lock);
        l->store->free_readers[l->store->n_free++] = l->conn;
        pthread_cond_signal(&l->store->pool_cond);
        pthread_mutex_unlock(&l->store->pool_lock);
        l->conn = NULL;
}
#define _cleanup_lease_ _cleanup_(reader_releasep)

int hd_store_schema_version(HdStore *s, int *ret, HdError **err)
{
        _cleanup_lease_ ReaderLease l = reader_acquire(s);
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;

        if (sqlite3_prepare_v2(l.conn->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK ||
            sqlite3_step(st) != SQLITE_ROW)
                return hd_store_sqlite_error(err, l.conn->db, "could not read the schema version");
        *ret = sqlite3_column_int(st, 0);
        return 0;
}

int hd_store_integrity_check(HdStore *s, HdError **err)
{
        _cleanup_lease_ ReaderLease l = reader_acquire(s);
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;

        if (sqlite3_prepare_v2(l.conn->db, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK ||
            sqlite3_step(st) != SQLITE_ROW)
                return hd_store_sqlite_error(err, l.conn->db, "integrity check failed");
        const char *res = (const char *)sqlite3_column_text(st, 0);
        if (!res || strcmp(res, "ok") != 0)
                return hd_error_set(err, -EIO, "integrity check failed: %s",
                                    res ? res : "no result");
        return 0;
}

/* ---- transactions ----------------------------------------------------------------- */

int hd_store_tx_begin(HdStore *s, HdStoreTx **ret, HdError **err)
{
        HdStoreTx *tx = malloc(sizeof(*tx));
        if (!tx)
                return hd_error_set(err, -ENOMEM, "out of memory");

        int e = pthread_mutex_lock(&s->write_lock);
        if (e != 0) {
                free(tx);
                return hd_error_set(err, -e, "could not take the store's writer lock: %s",
                                    strerror(e));
        }
        int r = hd_store_exec(s->writer.db, "BEGIN IMMEDIATE", err);
        if (r < 0) {
                pthread_mutex_unlock(&s->write_lock);
                free(tx);
                return hd_error_wrap(err, "could not begin a transaction");
        }
        tx->store = s;
        *ret = tx;
        return 0;
}

static void tx_end(HdStoreTx *tx)
{
        pthread_mutex_unlock(&tx->store->write_lock);
        free(tx);
}

void hd_store_tx_rollback(HdStoreTx *tx)
{
        if (!tx)
                return;
        sqlite3 *db = tx->store->writer.db;
        /* SQLite may already have rolled back on its own after some errors. */
        if (!sqlite3_get_autocommit(db))
                (void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        tx_end(tx);
}

int hd_store_tx_commit(HdStoreTx *tx, HdError **err)
{
        int r = hd_store_exec(tx->store->writer.db, "COMMIT", err);
        if (r < 0) {
                hd_error_wrap(err, "could not commit");
                hd_store_tx_rollback(tx);
                return r;
        }
        tx_end(tx);
        return 0;
}

int hd_store_debug_exec(HdStore *s, const char *sql, HdError **err)
{
        pthread_mutex_lock(&s->write_lock);
        int r = hd_store_exec(s->writer.db, sql, err);
        pthread_mutex_unlock(&s->write_lock);
        return r;
}

int hd_store_debug_query_int64(HdStore *s, const char *sql, int64_t *ret, HdError **err)
{
        _cleanup_lease_ ReaderLease l = reader_acquire(s);
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;

        if (sqlite3_prepare_v2(l.conn->db, sql, -1, &st, NULL) != SQLITE_OK)
                return hd_store_sqlite_error(err, l.conn->db, "could not prepare `%s`", sql);
        int rc = sqlite3_step(st);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
                return hd_store_sqlite_error(err, l.conn->db, "could not run `%s`", sql);
        *ret = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
        return 0;
}

/* ---- row collection ------------------------------------------------------------ */

typedef int (*DecodeFn)(sqlite3_stmt *st, void **ret, HdError **err);
typedef void (*FreeFn)(void *p);

/* Steps st to the end (or past max rows, when max > 0), decoding each row.
 * *ret_more says whether a row was left after max. */
static int collect_rows(sqlite3_stmt *st, size_t max, DecodeFn decode, FreeFn free_one, void ***ret,
                        size_t *ret_n, bool *ret_more, HdError **err)
{
        void **a = NULL;
        size_t n = 0, cap = 0;
        bool more = false;
        int rc, r = 0;

        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                if (max > 0 && n == max) {
                        more = true;
                        break;
                }
                if (n == cap) {
                        size_t ncap = cap ? cap * 2 : 16;
                        void **na = realloc(a, ncap * sizeof(*a));
                        if (!na) {
                                r = hd_error_set(err, -ENOMEM, "out of memory");
                                goto fail;
                        }
                        a = na;
                        cap = ncap;
                }
                r = decode(st, &a[n], err);
                if (r < 0)
                        goto fail;
                n++;
        }
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
                r = hd_store_sqlite_error(err, sqlite3_db_handle(st), "could not read rows");
                goto fail;
        }

        *ret = a;
        *ret_n = n;
        if (ret_more)
                *ret_more = more;
        return 0;

fail:
        for (size_t i = 0; i < n; i++)
                free_one(a[i]);
        free(a);
        return r;
}

/* ---- instances ------------------------------------------------------------------ */

static void instance_free_void(void *p)
{
        hd_instance_free(p);
}

static int decode_instance(sqlite3_stmt *st, void **ret, HdError **err)
{
        _cleanup_(hd_instance_freep) HdInstance *i = calloc(1, sizeof(*i));
        _cleanup_json_ json_t *j = NULL;
        _cleanup_error_ HdError *e = NULL;
        const char *name = (const char *)sqlite3_column_text(st, 1);
        const char *spec = (const char *)sqlite3_column_text(st, 2);
        json_error_t jerr;

        if (!i)
                return hd_error_set(err, -ENOMEM, "out of memory");
        name = name ? name : "";
        if (col_uuid(st, 0, i->uuid) < 0)
                return hd_error_set(err, -EIO, "stored uuid of instance `%s` is invalid", name);

        j = spec ? json_loads(spec, JSON_REJECT_DUPLICATES, &jerr) : NULL;
        if (!j)
                return hd_error_set(err, -EIO, "stored spec of instance `%s` is not valid json: %s",
                                    name, spec ? jerr.text : "missing");
        if (hd_codec_instance_spec_from_json(j, &i->spec, &e) < 0)
                return hd_error_set(err, -EIO, "stored spec of instance `%s` is invalid: %s", name,
                                    e && e->message ? e->message : "rejected by the codec");

        i->state = hd_state_from_string((const char *)sqlite3_column_text(st, 3));
        if (i->state == HD_STATE_INVALID)
                return hd_error_set(err, -EIO, "stored state of instance `%s` is invalid", name);
        i->revision = sqlite3_column_int64(st, 4);
        i->has_exit_code = sqlite3_column_type(st, 5) != SQLITE_NULL;
        i->exit_code = i->has_exit_code ? sqlite3_column_int(st, 5) : 0;
        i->provisioned = sqlite3_column_int(st, 8) != 0;
        i->created_at = sqlite3_column_int64(st, 12);
        i->updated_at = sqlite3_column_int64(st, 13);
        if (col_strdup(st, 6, &i->reason) < 0 || col_strdup(st, 7, &i->error) < 0 ||
            col_strdup(st, 9, &i->placement.host) < 0 ||
            col_strdup(st, 10, &i->placement.driver) < 0 ||
            col_strdup(st, 11, &i->placement.reason) < 0)
                return hd_error_set(err, -ENOMEM, "out of memory");

        *ret = TAKE_PTR(i);
        return 0;
}

/* Fetches the single row of a by-name/by-uuid statement already bound. */
static int instance_fetch(sqlite3_stmt *st, HdInstance **ret, bool *found, HdError **err)
{
        int rc = sqlite3_step(st);
        if (rc == SQLITE_DONE) {
                *found = false;
                return 0;
        }
        if (rc != SQLITE_ROW)
                return hd_store_sqlite_error(err, sqlite3_db_handle(st), "could not read instance");
        *found = true;
        return decode_instance(st, (void **)ret, err);
}

static int instance_get_conn(StoreConn *c, const char *name_or_uuid, HdInstance **ret,
                             HdError **err)
{
        bool found = false;
        int r;

        if (!name_or_uuid)
                return hd_error_set(err, -EINVAL, "no instance name given");

        /* Names can never have the form of a uuid (the codec refuses them), so the
         * form alone says which column to look in. */
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        r = conn_stmt(
                c, hd_uuid_is_valid(name_or_uuid) ? STMT_INSTANCE_BY_UUID : STMT_INSTANCE_BY_NAME,
                &st, err);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, name_or_uuid, -1, SQLITE_STATIC);
        r = instance_fetch(st, ret, &found, err);
        if (r < 0)
                return r;
        if (!found)
                return hd_error_set(err, -ENOENT, "instance `%s` not found", name_or_uuid);
        return 0;
}

static char *labels_to_json(const HdKVList *labels)
{
        _cleanup_json_ json_t *o = json_object();
        if (!o)
                return NULL;
        for (size_t k = 0; k < labels->n; k++)
                if (json_object_set_new(o, labels->items[k].key,
                                        json_string(labels->items[k].value)) < 0)
                        return NULL;
        return json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
}

#define BIND(call)                   \
        do {                         \
                if (rc == SQLITE_OK) \
                        rc = (call); \
        } while (0)

/* Binds ?1..?18 of STMT_INSTANCE_INSERT / STMT_INSTANCE_UPDATE. */
static int bind_instance(sqlite3_stmt *st, const HdInstance *i, const char *spec,
                         const char *labels, int64_t revision)
{
        int rc = SQLITE_OK;

        BIND(sqlite3_bind_text(st, 1, i->uuid, -1, SQLITE_STATIC));
        BIND(sqlite3_bind_text(st, 2, i->spec.name, -1, SQLITE_STATIC));
        BIND(sqlite3_bind_text(st, 3, hd_kind_to_string(i->spec.kind), -1, SQLITE_STATIC));
        BIND(sqlite3_bind_text(st, 4, hd_state_to_string(i->state), -1, SQLITE_STATIC));
        BIND(sqlite3_bind_int64(st, 5, revision));
        BIND(sqlite3_bind_text(st, 6, spec, -1, SQLITE_STATIC));
        BIND(sqlite3_bind_text(st, 7, labels, -1, SQLITE_STATIC));
        BIND(sqlite3_bind_double(st, 8, i->spec.resources.vcpus));
        BIND(sqlite3_bind_int64(st, 9, i->spec.resources.memory_mb));
        BIND(i->has_exit_code ? sqlite3_bind_int(st, 10, i->exit_code) : sqlite3_bind_null(st, 10));
        BIND(sqlite3_bind_text(st, 11, i->reason, -1, SQLITE_STATIC));
        BIND(sqlite3_bind_text(st, 12, i->error, -1, SQLITE_STATIC));
        BIND(sqlite3_bind_int(st, 13, i->provisioned));
        BIND(sqlite3_bind_text(st, 14, i->placement.host, -1, SQLITE_STATIC));
        BIND(sqlite3_bind_text(st, 15, i->placement.driver, -1, SQLITE_STATIC));
        BIND(sqlite3_bind_text(st, 16, i->placement.reason, -1, SQLITE_STATIC));
        BIND(sqlite3_bind_int64(st, 17, i->created_at));
        BIND(sqlite3_bind_int64(st, 18, i->updated_at));
        return rc;
}

/* The text forms of what an instance row stores besides its scalar fields. */
static int instance_texts(const HdInstance *i, char **ret_spec, char **ret_labels, HdError **err)
{
        if (!i->spec.name || !*i->spec.name)
                return hd_error_set_field(err, -EINVAL, "name", "instance has no name");
        if (!hd_uuid_is_valid(i->uuid))
                return hd_error_set(err, -EINVAL, "instance `%s` has an invalid uuid `%s`",
                                    i->spec.name, i->uuid);
        if (!hd_kind_to_string(i->spec.kind) || !hd_state_to_string(i->state))
                return hd_error_set(err, -EINVAL, "instance `%s` has an invalid kind or state",
                                    i->spec.name);

        _cleanup_json_ json_t *j = hd_codec_instance_spec_to_json(&i->spec);
        _cleanup_free_ char *spec = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        _cleanup_free_ char *labels = labels_to_json(&i->spec.labels);
        if (!spec || !labels)
                return hd_error_set(err, -ENOMEM, "could not serialize instance `%s`",
                                    i->spec.name);
        *ret_spec = TAKE_PTR(spec);
        *ret_labels = TAKE_PTR(labels);
        return 0;
}

/* Replaces the label index rows of an instance (schema v2 and later). */
static int write_labels(HdStore *s, const HdInstance *i, bool replace, HdError **err)
{
        StoreConn *c = &s->writer;
        int r;

        if (s->version < 2)
                return 0;
        if (replace) {
                _cleanup_reset_ sqlite3_stmt *st = NULL;
                r = conn_stmt(c, STMT_LABELS_DELETE, &st, err);
                if (r < 0)
                        return r;
                sqlite3_bind_text(st, 1, i->uuid, -1, SQLITE_STATIC);
                if (sqlite3_step(st) != SQLITE_DONE)
                        return hd_store_sqlite_error(err, c->db,
                                                     "could not clear labels of instance `%s`",
                                                     i->spec.name);
        }

        _cleanup_reset_ sqlite3_stmt *st = NULL;
        r = conn_stmt(c, STMT_LABELS_INSERT, &st, err);
        if (r < 0)
                return r;
        for (size_t k = 0; k < i->spec.labels.n; k++) {
                const HdKV *kv = &i->spec.labels.items[k];
                sqlite3_reset(st);
                sqlite3_bind_text(st, 1, i->uuid, -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 2, kv->key, -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 3, kv->value ? kv->value : "", -1, SQLITE_STATIC);
                if (sqlite3_step(st) != SQLITE_DONE)
                        return hd_store_sqlite_error(err, c->db,
                                                     "could not write label `%s` of instance `%s`",
                                                     kv->key, i->spec.name);
        }
        return 0;
}

int hd_store_tx_instance_insert(HdStoreTx *tx, const HdInstance *i, HdError **err)
{
        HdStore *s = tx->store;
        _cleanup_free_ char *spec = NULL, *labels = NULL;
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int r;

        r = instance_texts(i, &spec, &labels, err);
        if (r < 0)
                return r;
        r = conn_stmt(&s->writer, STMT_INSTANCE_INSERT, &st, err);
        if (r < 0)
                return r;
        if (bind_instance(st, i, spec, labels, 1) != SQLITE_OK)
                return hd_store_sqlite_error(err, s->writer.db, "could not bind instance `%s`",
                                             i->spec.name);
        int rc = sqlite3_step(st);
        if (is_unique_violation(rc))
                return hd_error_set(err, -EEXIST, "instance `%s` already exists", i->spec.name);
        if (rc != SQLITE_DONE)
                return hd_store_sqlite_error(err, s->writer.db, "could not insert instance `%s`",
                                             i->spec.name);
        return write_labels(s, i, false, err);
}

int hd_store_tx_instance_update(HdStoreTx *tx, const HdInstance *i, int64_t expect_revision,
                                HdError **err)
{
        HdStore *s = tx->store;
        _cleanup_free_ char *spec = NULL, *labels = NULL;
        int r, rc;

        r = instance_texts(i, &spec, &labels, err);
        if (r < 0)
                return r;

        {
                _cleanup_reset_ sqlite3_stmt *st = NULL;
                r = conn_stmt(&s->writer, STMT_INSTANCE_UPDATE, &st, err);
                if (r < 0)
                        return r;
                if (bind_instance(st, i, spec, labels, expect_revision) != SQLITE_OK)
                        return hd_store_sqlite_error(err, s->writer.db,
                                                     "could not bind instance `%s`", i->spec.name);
                rc = sqlite3_step(st);
                if (is_unique_violation(rc))
                        return hd_error_set(err, -EEXIST, "instance `%s` already exists",
                                            i->spec.name);
                if (rc != SQLITE_DONE)
                        return hd_store_sqlite_error(
                                err, s->writer.db, "could not update instance `%s`", i->spec.name);
        }

        if (sqlite3_changes(s->writer.db) == 0) {
                /* Nothing matched: tell a missing row from a stale revision. */
                _cleanup_reset_ sqlite3_stmt *st = NULL;
                r = conn_stmt(&s->writer, STMT_INSTANCE_REVISION, &st, err);
                if (r < 0)
                        return r;
                sqlite3_bind_text(st, 1, i->uuid, -1, SQLITE_STATIC);
                rc = sqlite3_step(st);
                if (rc == SQLITE_DONE)
                        return hd_error_set(err, -ENOENT, "instance `%s` not found", i->spec.name);
                if (rc != SQLITE_ROW)
                        return hd_store_sqlite_error(err, s->writer.db,
                                                     "could not read instance `%s`", i->spec.name);
                return hd_error_set(err, -ESTALE,
                                    "instance `%s` was changed meanwhile (revision %lld, "
                                    "expected %lld)",
                                    i->spec.name, (long long)sqlite3_column_int64(st, 0),
                                    (long long)expect_revision);
        }

        return write_labels(s, i, true, err);
}

int hd_store_tx_instance_delete(HdStoreTx *tx, const char *uuid, HdError **err)
{
        StoreConn *c = &tx->store->writer;
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int r = conn_stmt(c, STMT_INSTANCE_DELETE, &st, err);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, uuid, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
                return hd_store_sqlite_error(err, c->db, "could not delete instance `%s`", uuid);
        if (sqlite3_changes(c->db) == 0)
                return hd_error_set(err, -ENOENT, "instance `%s` not found", uuid);
        /* Label rows go with it (ON DELETE CASCADE). */
        return 0;
}

int hd_store_tx_instance_get(HdStoreTx *tx, const char *name_or_uuid, HdInstance **ret,
                             HdError **err)
{
        return instance_get_conn(&tx->store->writer, name_or_uuid, ret, err);
}

int hd_store_instance_get(HdStore *s, const char *name_or_uuid, HdInstance **ret, HdError **err)
{
        _cleanup_lease_ ReaderLease l = reader_acquire(s);
        return instance_get_conn(l.conn, name_or_uuid, ret, err);
}

static int allocated_conn(StoreConn *c, double *ret_vcpus, int64_t *ret_memory_mb, HdError **err)
{
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int r = conn_stmt(c, STMT_ALLOCATED, &st, err);
        if (r < 0)
                return r;
        if (sqlite3_step(st) != SQLITE_ROW)
                return hd_store_sqlite_error(err, c->db, "could not sum allocated resources");
        *ret_vcpus = sqlite3_column_double(st, 0);
        *ret_memory_mb = sqlite3_column_int64(st, 1);
        return 0;
}

int hd_store_tx_allocated(HdStoreTx *tx, double *ret_vcpus, int64_t *ret_memory_mb, HdError **err)
{
        return allocated_conn(&tx->store->writer, ret_vcpus, ret_memory_mb, err);
}

int hd_store_allocated(HdStore *s, double *ret_vcpus, int64_t *ret_memory_mb, HdError **err)
{
        _cleanup_lease_ ReaderLease l = reader_acquire(s);
        return allocated_conn(l.conn, ret_vcpus, ret_memory_mb, err);
}

int hd_store_instance_counts(HdStore *s, int64_t counts[HD_KIND__COUNT][HD_STATE__COUNT],
                             HdError **err)
{
        _cleanup_lease_ ReaderLease l = reader_acquire(s);
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int r, rc;

        memset(counts, 0, sizeof(int64_t) * HD_KIND__COUNT * HD_STATE__COUNT);
        r = conn_stmt(l.conn, STMT_COUNTS, &st, err);
        if (r < 0)
                return r;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                HdKind k = hd_kind_from_string((const char *)sqlite3_column_text(st, 0));
                HdState t = hd_state_from_string((const char *)sqlite3_column_text(st, 1));
                if (k == HD_KIND_INVALID || t == HD_STATE_INVALID)
                        continue; /* cannot be written through this API */
                counts[k][t] = sqlite3_column_int64(st, 2);
        }
        if (rc != SQLITE_DONE)
                return hd_store_sqlite_error(err, l.conn->db, "could not count instances");
        return 0;
}

static char *list_sql(int version, bool kind, bool state, bool after, size_t n_labels)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (!f)
                return NULL;

        fputs("SELECT " INSTANCE_COLUMNS " FROM instances WHERE 1", f);
        if (kind)
                fputs(" AND kind = ?", f);
        if (state)
                fputs(" AND state = ?", f);
        if (after)
                fputs(" AND name > ?", f);
        for (size_t k = 0; k < n_labels; k++)
                /* v1 databases have no label index: look into the JSON copy. */
                fputs(version >= 2 ? " AND EXISTS (SELECT 1 FROM instance_labels AS l"
                                     " WHERE l.instance_uuid = instances.uuid"
                                     " AND l.key = ? AND l.value = ?)"
                                   : " AND EXISTS (SELECT 1 FROM json_each(instances.labels) AS l"
                                     " WHERE l.key = ? AND l.value = ?)",
                      f);
        fputs(" ORDER BY name LIMIT ?", f);
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

int hd_store_instance_list(HdStore *s, const HdInstanceFilter *f, HdInstance ***ret, size_t *ret_n,
                           bool *ret_more, HdError **err)
{
        bool kind = f->kind != HD_KIND_INVALID, state = f->state != HD_STATE_INVALID;
        bool after = f->after != NULL;
        /* The lease is declared first so it is released last, after the statements
         * below are reset: another thread may take the connection right away. */
        _cleanup_lease_ ReaderLease l = reader_acquire(s);
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *owned = NULL;
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int rc = SQLITE_OK, idx = 1, r;

        if (f->limit == 0)
                return hd_error_set_field(err, -EINVAL, "limit", "limit must be at least 1");
        if (kind && !hd_kind_to_string(f->kind))
                return hd_error_set_field(err, -EINVAL, "kind", "invalid kind filter");
        if (state && !hd_state_to_string(f->state))
                return hd_error_set_field(err, -EINVAL, "state", "invalid state filter");
        if (f->n_labels > 0 && !f->labels)
                return hd_error_set_field(err, -EINVAL, "label", "label filter has no labels");

        size_t shape = (kind ? 1 : 0) | (state ? 2 : 0) | (after ? 4 : 0);
        shape += 8 * f->n_labels;
        if (f->n_labels <= LIST_LABELS_CACHED && l.conn->list[shape]) {
                st = l.conn->list[shape];
        } else {
                _cleanup_free_ char *sql = list_sql(s->version, kind, state, after, f->n_labels);
                if (!sql)
                        return hd_error_set(err, -ENOMEM, "out of memory");
                if (f->n_labels <= LIST_LABELS_CACHED) {
                        r = conn_prepare(l.conn, sql, &l.conn->list[shape], err);
                        if (r < 0)
                                return r;
                        st = l.conn->list[shape];
                } else if (sqlite3_prepare_v2(l.conn->db, sql, -1, &owned, NULL) != SQLITE_OK)
                        return hd_store_sqlite_error(err, l.conn->db,
                                                     "could not prepare statement");
        }
        sqlite3_stmt *q = st ? st : owned;

        if (kind)
                BIND(sqlite3_bind_text(q, idx++, hd_kind_to_string(f->kind), -1, SQLITE_STATIC));
        if (state)
                BIND(sqlite3_bind_text(q, idx++, hd_state_to_string(f->state), -1, SQLITE_STATIC));
        if (after)
                BIND(sqlite3_bind_text(q, idx++, f->after, -1, SQLITE_STATIC));
        for (size_t k = 0; k < f->n_labels; k++) {
                BIND(sqlite3_bind_text(q, idx++, f->labels[k].key, -1, SQLITE_STATIC));
                BIND(sqlite3_bind_text(q, idx++, f->labels[k].value, -1, SQLITE_STATIC));
        }
        /* One row more than asked for tells whether another page exists. */
        BIND(sqlite3_bind_int64(q, idx++, (int64_t)f->limit + 1));
        if (rc != SQLITE_OK)
                return hd_store_sqlite_error(err, l.conn->db, "could not bind list filter");

        return collect_rows(q, f->limit, decode_instance, instance_free_void, (void ***)ret, ret_n,
                            ret_more, err);
}

/* ---- operations ----------------------------------------------------------------- */

static void operation_free_void(void *p)
{
        hd_operation_free(p);
}

static int decode_operation(sqlite3_stmt *st, void **ret, HdError **err)
{
        _cleanup_(hd_operation_freep) HdOperation *o = calloc(1, sizeof(*o));
        if (!o)
                return hd_error_set(err, -ENOMEM, "out of memory");
        const char *id = (const char *)sqlite3_column_text(st, 0);

        if (col_uuid(st, 0, o->id) < 0 || col_uuid(st, 2, o->instance_uuid) < 0)
                return hd_error_set(err, -EIO, "stored ids of operation `%s` are invalid",
                                    id ? id : "");
        o->action = hd_action_from_string((const char *)sqlite3_column_text(st, 1));
        o->status = hd_op_status_from_string((const char *)sqlite3_column_text(st, 4));
        if (o->action == HD_ACTION_INVALID || o->status == HD_OP_INVALID)
                return hd_error_set(err, -EIO,
                                    "stored action or status of operation `%s` is invalid", o->id);
        o->progress_done = sqlite3_column_int64(st, 8);
        o->progress_total = sqlite3_column_int64(st, 9);
        o->created_at = sqlite3_column_int64(st, 10);
        o->updated_at = sqlite3_column_int64(st, 11);
        o->finished_at = sqlite3_column_int64(st, 12); /* NULL reads as 0 */
        if (col_strdup(st, 3, &o->instance_name) < 0 || col_strdup(st, 5, &o->args_json) < 0 ||
            col_strdup(st, 6, &o->error_code) < 0 || col_strdup(st, 7, &o->error_message) < 0)
                return hd_error_set(err, -ENOMEM, "out of memory");

        *ret = TAKE_PTR(o);
        return 0;
}

int hd_store_tx_operation_insert(HdStoreTx *tx, const HdOperation *o, HdError **err)
{
        StoreConn *c = &tx->store->writer;
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int rc = SQLITE_OK, r;

        if (!hd_uuid_is_valid(o->id))
                return hd_error_set(err, -EINVAL, "operation id `%s` is not a uuid", o->id);
        if (!hd_action_to_string(o->action) || !hd_op_status_to_string(o->status))
                return hd_error_set(err, -EINVAL, "operation `%s` has an invalid action or status",
                                    o->id);
        r = conn_stmt(c, STMT_OP_INSERT, &st, err);
        if (r < 0)
                return r;
        BIND(sqlite3_bind_text(st, 1, o->id, -1, SQLITE_STATIC));
        BIND(sqlite3_bind_text(st, 2, hd_action_to_string(o->action), -1, SQLITE_STATIC));
        BIND(sqlite3_bind_text(st, 3, empty_to_null(o->instance_uuid), -1, SQLITE_STATIC));
        BIND(sqlite3_bind_text(st, 4, o->instance_name, -1, SQLITE_STATIC));
        BIND(sqlite3_bind_text(st, 5, hd_op_status_to_string(o->status), -1, SQLITE_STATIC));
        BIND(sqlite3_bind_text(st, 6, o->args_json, -1, SQLITE_STATIC));
        BIND(sqlite3_bind_text(st, 7, o->error_code, -1, SQLITE_STATIC));
        BIND(sqlite3_bind_text(st, 8, o->error_message, -1, SQLITE_STATIC));
        BIND(sqlite3_bind_int64(st, 9, o->progress_done));
        BIND(sqlite3_bind_int64(st, 10, o->progress_total));
        BIND(sqlite3_bind_int64(st, 11, o->created_at));
        BIND(sqlite3_bind_int64(st, 12, o->updated_at));
        BIND(o->finished_at ? sqlite3_bind_int64(st, 13, o->finished_at)
                            : sqlite3_bind_null(st, 13));
        if (rc != SQLITE_OK)
                return hd_store_sqlite_error(err, c->db, "could not bind operation `%s`", o->id);
        rc = sqlite3_step(st);
        if (is_unique_violation(rc))
                return hd_error_set(err, -EEXIST, "operation `%s` already exists", o->id);
        if (rc != SQLITE_DONE)
                return hd_store_sqlite_error(err, c->db, "could not insert operation `%s`", o->id);
        return 0;
}

int hd_store_tx_operation_update(HdStoreTx *tx, const HdOperation *o, HdError **err)
{
        StoreConn *c = &tx->store->writer;
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int rc = SQLITE_OK, r;

        if (!hd_op_status_to_string(o->status))
                return hd_error_set(err, -EINVAL, "operation `%s` has an invalid status", o->id);
        r = conn_stmt(c, STMT_OP_UPDATE, &st, err);
        if (r < 0)
                return r;
        BIND(sqlite3_bind_text(st, 1, o->id, -1, SQLITE_STATIC));
        BIND(sqlite3_bind_text(st, 2, hd_op_status_to_string(o->status), -1, SQLITE_STATIC));
        BIND(sqlite3_bind_text(st, 3, o->error_code, -1, SQLITE_STATIC));
        BIND(sqlite3_bind_text(st, 4, o->error_message, -1, SQLITE_STATIC));
        BIND(sqlite3_bind_int64(st, 5, o->progress_done));
        BIND(sqlite3_bind_int64(st, 6, o->progress_total));
        BIND(sqlite3_bind_int64(st, 7, o->updated_at));
        BIND(o->finished_at ? sqlite3_bind_int64(st, 8, o->finished_at) : sqlite3_bind_null(st, 8));
        if (rc != SQLITE_OK)
                return hd_store_sqlite_error(err, c->db, "could not bind operation `%s`", o->id);
        if (sqlite3_step(st) != SQLITE_DONE)
                return hd_store_sqlite_error(err, c->db, "could not update operation `%s`", o->id);
        if (sqlite3_changes(c->db) == 0)
                return hd_error_set(err, -ENOENT, "operation `%s` not found", o->id);
        return 0;
}

int hd_store_operation_get(HdStore *s, const char *id, HdOperation **ret, HdError **err)
{
        _cleanup_lease_ ReaderLease l = reader_acquire(s);
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int r = conn_stmt(l.conn, STMT_OP_GET, &st, err);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
                return hd_error_set(err, -ENOENT, "operation `%s` not found", id ? id : "");
        if (rc != SQLITE_ROW)
                return hd_store_sqlite_error(err, l.conn->db, "could not read operation `%s`", id);
        return decode_operation(st, (void **)ret, err);
}

int hd_store_operation_list(HdStore *s, const HdOperationFilter *f, HdOperation ***ret,
                            size_t *ret_n, bool *ret_more, HdError **err)
{
        bool status = f->status != HD_OP_INVALID, inst = f->instance_uuid != NULL;
        bool after = f->after != NULL;
        int64_t after_rowid = 0;
        int rc = SQLITE_OK, idx = 1, r;

        if (f->limit == 0)
                return hd_error_set_field(err, -EINVAL, "limit", "limit must be at least 1");
        if (status && !hd_op_status_to_string(f->status))
                return hd_error_set_field(err, -EINVAL, "status", "invalid status filter");

        _cleanup_lease_ ReaderLease l = reader_acquire(s);
        if (after) {
                /* The cursor is the id of the last row of the previous page. */
                _cleanup_reset_ sqlite3_stmt *cur = NULL;
                r = conn_stmt(l.conn, STMT_OP_ROWID, &cur, err);
                if (r < 0)
                        return r;
                sqlite3_bind_text(cur, 1, f->after, -1, SQLITE_STATIC);
                rc = sqlite3_step(cur);
                if (rc == SQLITE_DONE)
                        return hd_error_set_field(err, -EINVAL, "after",
                                                  "unknown operation cursor `%s`", f->after);
                if (rc != SQLITE_ROW)
                        return hd_store_sqlite_error(err, l.conn->db, "could not read cursor");
                after_rowid = sqlite3_column_int64(cur, 0);
                rc = SQLITE_OK;
        }

        size_t shape = (status ? 1 : 0) | (inst ? 2 : 0) | (after ? 4 : 0);
        if (!l.conn->oplist[shape]) {
                char sql[512];
                snprintf(sql, sizeof(sql),
                         "SELECT " OPERATION_COLUMNS " FROM operations WHERE 1%s%s%s"
                         " ORDER BY rowid DESC LIMIT ?",
                         status ? " AND status = ?" : "", inst ? " AND instance_uuid = ?" : "",
                         after ? " AND rowid < ?" : "");
                r = conn_prepare(l.conn, sql, &l.conn->oplist[shape], err);
                if (r < 0)
                        return r;
        }
        _cleanup_reset_ sqlite3_stmt *st = l.conn->oplist[shape];

        if (status)
                BIND(sqlite3_bind_text(st, idx++, hd_op_status_to_string(f->status), -1,
                                       SQLITE_STATIC));
        if (inst)
                BIND(sqlite3_bind_text(st, idx++, f->instance_uuid, -1, SQLITE_STATIC));
        if (after)
                BIND(sqlite3_bind_int64(st, idx++, after_rowid));
        BIND(sqlite3_bind_int64(st, idx++, (int64_t)f->limit + 1));
        if (rc != SQLITE_OK)
                return hd_store_sqlite_error(err, l.conn->db, "could not bind list filter");

        return collect_rows(st, f->limit, decode_operation, operation_free_void, (void ***)ret,
                            ret_n, ret_more, err);
}

int hd_store_operation_list_unfinished(HdStore *s, HdOperation ***ret, size_t *ret_n, HdError **err)
{
        _cleanup_lease_ ReaderLease l = reader_acquire(s);
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int r = conn_stmt(l.conn, STMT_OP_UNFINISHED, &st, err);
        if (r < 0)
                return r;
        return collect_rows(st, 0, decode_operation, operation_free_void, (void ***)ret, ret_n,
                            NULL, err);
}

/* ---- events --------------------------------------------------------------------- */

static void event_free_void(void *p)
{
        hd_event_free(p);
}

static int decode_event(sqlite3_stmt *st, void **ret, HdError **err)
{
        _cleanup_(hd_event_freep) HdEvent *e = calloc(1, sizeof(*e));
        if (!e)
                return hd_error_set(err, -ENOMEM, "out of memory");

        e->seq = sqlite3_column_int64(st, 0);
        e->time = sqlite3_column_int64(st, 1);
        if (col_uuid(st, 3, e->instance_uuid) < 0 || col_uuid(st, 5, e->operation_id) < 0)
                return hd_error_set(err, -EIO, "stored ids of event %lld are invalid",
                                    (long long)e->seq);
        if (col_strdup(st, 2, &e->type) < 0 || col_strdup(st, 4, &e->instance_name) < 0 ||
            col_strdup(st, 6, &e->data_json) < 0)
                return hd_error_set(err, -ENOMEM, "out of memory");
        if (!e->data_json && !(e->data_json = strdup("{}")))
                return hd_error_set(err, -ENOMEM, "out of memory");

        *ret = TAKE_PTR(e);
        return 0;
}

int hd_store_tx_event_append(HdStoreTx *tx, HdEvent *e, HdError **err)
{
        HdStore *s = tx->store;
        StoreConn *c = &s->writer;
        int rc = SQLITE_OK, r;

        if (!e->type || !*e->type)
                return hd_error_set(err, -EINVAL, "event has no type");

        {
                _cleanup_reset_ sqlite3_stmt *st = NULL;
                r = conn_stmt(c, STMT_EVENT_INSERT, &st, err);
                if (r < 0)
                        return r;
                BIND(sqlite3_bind_int64(st, 1, e->time));
                BIND(sqlite3_bind_text(st, 2, e->type, -1, SQLITE_STATIC));
                BIND(sqlite3_bind_text(st, 3, empty_to_null(e->instance_uuid), -1, SQLITE_STATIC));
                BIND(sqlite3_bind_text(st, 4, e->instance_name, -1, SQLITE_STATIC));
                BIND(sqlite3_bind_text(st, 5, empty_to_null(e->operation_id), -1, SQLITE_STATIC));
                BIND(sqlite3_bind_text(st, 6, e->data_json ? e->data_json : "{}", -1,
                                       SQLITE_STATIC));
                if (rc != SQLITE_OK)
                        return hd_store_sqlite_error(err, c->db, "could not bind event");
                if (sqlite3_step(st) != SQLITE_DONE)
                        return hd_store_sqlite_error(err, c->db, "could not append event `%s`",
                                                     e->type);
        }
        int64_t seq = sqlite3_last_insert_rowid(c->db);

        if (s->event_retention > 0 && seq > s->event_retention) {
                _cleanup_reset_ sqlite3_stmt *st = NULL;
                r = conn_stmt(c, STMT_EVENT_TRIM, &st, err);
                if (r < 0)
                        return r;
                sqlite3_bind_int64(st, 1, seq - s->event_retention);
                if (sqlite3_step(st) != SQLITE_DONE)
                        return hd_store_sqlite_error(err, c->db, "could not trim old events");
        }

        e->seq = seq;
        return 0;
}

/* limit 0 means no limit. */
int hd_store_events_since(HdStore *s, int64_t since, size_t limit, HdEvent ***ret, size_t *ret_n,
                          HdError **err)
{
        _cleanup_lease_ ReaderLease l = reader_acquire(s);
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int r = conn_stmt(l.conn, STMT_EVENTS_SINCE, &st, err);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, since);
        sqlite3_bind_int64(st, 2, limit > 0 ? (int64_t)limit : -1);
        return collect_rows(st, 0, decode_event, event_free_void, (void ***)ret, ret_n, NULL, err);
}

int hd_store_event_last_seq(HdStore *s, int64_t *ret, HdError **err)
{
        _cleanup_lease_ ReaderLease l = reader_acquire(s);
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int r = conn_stmt(l.conn, STMT_EVENT_LAST_SEQ, &st, err);
        if (r < 0)
                return r;
        if (sqlite3_step(st) != SQLITE_ROW)
                return hd_store_sqlite_error(err, l.conn->db, "could not read the last event seq");
        *ret = sqlite3_column_int64(st, 0);
        return 0;
}
