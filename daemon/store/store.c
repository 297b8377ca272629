/* The inventory on SQLite.
 *
 * One writer connection, used only between hd_store_tx_begin() and commit or
 * rollback with the writer mutex held, and a fixed pool of reader connections
 * handed out under a mutex/condvar. WAL lets readers run while a write is in
 * flight. Connections are opened NOMUTEX: each is used by one thread at a time,
 * which our own locking guarantees. Every connection caches its prepared
 * statements (SQLITE_PREPARE_PERSISTENT); they are reset as soon as a call is done
 * with them, so no reader keeps an old WAL snapshot pinned.
 *
 * This file holds the connections, the reader pool, the statement cache and
 * transactions; the rows themselves are read and written in store-instances.c
 * and store-ops-events.c. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <string.h>

#include "store-internal.h"

/* ---- statements --------------------------------------------------------------- */

/* Instance writes share one parameter numbering (bind_instance() in
 * store-instances.c). */
static const char *const stmt_sql[HD_STORE_STMT__COUNT] = {
        [HD_STORE_STMT_INSTANCE_INSERT] =
                "INSERT INTO instances (uuid, name, kind, state, revision, spec, labels, vcpus, "
                "memory_mb, exit_code, reason, error, provisioned, placement_host, "
                "placement_driver, placement_reason, created_at, updated_at, ready_at) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, "
                "?17, ?18, ?19)",
        [HD_STORE_STMT_INSTANCE_UPDATE] =
                "UPDATE instances SET name = ?2, kind = ?3, state = ?4, revision = ?5 + 1, "
                "spec = ?6, labels = ?7, vcpus = ?8, memory_mb = ?9, exit_code = ?10, "
                "reason = ?11, error = ?12, provisioned = ?13, placement_host = ?14, "
                "placement_driver = ?15, placement_reason = ?16, updated_at = ?18, "
                "ready_at = ?19 "
                "WHERE uuid = ?1 AND revision = ?5", /* ?17 (created_at) is bound, unused */
        [HD_STORE_STMT_INSTANCE_REVISION] = "SELECT revision FROM instances WHERE uuid = ?1",
        [HD_STORE_STMT_INSTANCE_DELETE] = "DELETE FROM instances WHERE uuid = ?1",
        [HD_STORE_STMT_INSTANCE_BY_NAME] =
                "SELECT " HD_STORE_INSTANCE_COLUMNS " FROM instances WHERE name = ?1",
        [HD_STORE_STMT_INSTANCE_BY_UUID] =
                "SELECT " HD_STORE_INSTANCE_COLUMNS " FROM instances WHERE uuid = lower(?1)",
        [HD_STORE_STMT_VIEW_BY_NAME] = "SELECT " HD_STORE_INSTANCE_COLUMNS HD_STORE_VIEW_COLUMNS
                                       " FROM instances WHERE name = ?1",
        [HD_STORE_STMT_VIEW_BY_UUID] = "SELECT " HD_STORE_INSTANCE_COLUMNS HD_STORE_VIEW_COLUMNS
                                       " FROM instances WHERE uuid = lower(?1)",
        [HD_STORE_STMT_VIEW_SET] =
                "UPDATE instances SET view = ?2, view_format = ?3 WHERE uuid = ?1",
        [HD_STORE_STMT_LABELS_DELETE] = "DELETE FROM instance_labels WHERE instance_uuid = ?1",
        [HD_STORE_STMT_LABELS_INSERT] =
                "INSERT INTO instance_labels (instance_uuid, key, value) VALUES (?1, ?2, ?3)",
        [HD_STORE_STMT_ALLOCATED] =
                "SELECT total(vcpus), coalesce(sum(memory_mb), 0) FROM instances",
        [HD_STORE_STMT_COUNTS] = "SELECT kind, state, count(*) FROM instances GROUP BY kind, state",
        [HD_STORE_STMT_OP_INSERT] =
                "INSERT INTO operations (id, action, instance_uuid, instance_name, "
                "status, args, error_code, error_message, progress_done, "
                "progress_total, created_at, updated_at, finished_at) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        [HD_STORE_STMT_OP_UPDATE] = "UPDATE operations SET status = ?2, error_code = ?3, "
                                    "error_message = ?4, progress_done = ?5, progress_total = ?6, "
                                    "updated_at = ?7, finished_at = ?8 WHERE id = ?1",
        [HD_STORE_STMT_OP_GET] =
                "SELECT " HD_STORE_OPERATION_COLUMNS " FROM operations WHERE id = ?1",
        [HD_STORE_STMT_OP_ROWID] = "SELECT rowid FROM operations WHERE id = ?1",
        [HD_STORE_STMT_OP_UNFINISHED] = "SELECT " HD_STORE_OPERATION_COLUMNS " FROM operations "
                                        "WHERE status IN ('pending', 'running') ORDER BY rowid",
        [HD_STORE_STMT_EVENT_INSERT] =
                "INSERT INTO events (time, type, instance_uuid, instance_name, "
                "operation_id, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        [HD_STORE_STMT_EVENT_TRIM] = "DELETE FROM events WHERE seq <= ?1",
        [HD_STORE_STMT_EVENTS_SINCE] = "SELECT " HD_STORE_EVENT_COLUMNS
                                       " FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        [HD_STORE_STMT_EVENT_LAST_SEQ] = "SELECT coalesce((SELECT seq FROM sqlite_sequence "
                                         "WHERE name = 'events'), 0)",
};

/* The statements that differ before schema v6 (no ready_at column). Tests open
 * databases at every version, and hostd must serve one until it migrates. */
static const char *const stmt_sql_pre_ready[HD_STORE_STMT__COUNT] = {
        [HD_STORE_STMT_INSTANCE_INSERT] =
                "INSERT INTO instances (uuid, name, kind, state, revision, spec, labels, vcpus, "
                "memory_mb, exit_code, reason, error, provisioned, placement_host, "
                "placement_driver, placement_reason, created_at, updated_at) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, "
                "?17, ?18)",
        [HD_STORE_STMT_INSTANCE_UPDATE] =
                "UPDATE instances SET name = ?2, kind = ?3, state = ?4, revision = ?5 + 1, "
                "spec = ?6, labels = ?7, vcpus = ?8, memory_mb = ?9, exit_code = ?10, "
                "reason = ?11, error = ?12, provisioned = ?13, placement_host = ?14, "
                "placement_driver = ?15, placement_reason = ?16, updated_at = ?18 "
                "WHERE uuid = ?1 AND revision = ?5",
        [HD_STORE_STMT_INSTANCE_BY_NAME] =
                "SELECT " HD_STORE_INSTANCE_COLUMNS_PRE " FROM instances WHERE name = ?1",
        [HD_STORE_STMT_INSTANCE_BY_UUID] =
                "SELECT " HD_STORE_INSTANCE_COLUMNS_PRE " FROM instances WHERE uuid = lower(?1)",
        [HD_STORE_STMT_VIEW_BY_NAME] = "SELECT " HD_STORE_INSTANCE_COLUMNS_PRE HD_STORE_VIEW_COLUMNS
                                       " FROM instances WHERE name = ?1",
        [HD_STORE_STMT_VIEW_BY_UUID] = "SELECT " HD_STORE_INSTANCE_COLUMNS_PRE HD_STORE_VIEW_COLUMNS
                                       " FROM instances WHERE uuid = lower(?1)",
};

/* The reads that differ at schema v6 (ready_at, but no addresses yet). */
static const char *const stmt_sql_pre_net[HD_STORE_STMT__COUNT] = {
        [HD_STORE_STMT_INSTANCE_BY_NAME] =
                "SELECT " HD_STORE_INSTANCE_COLUMNS_V6 " FROM instances WHERE name = ?1",
        [HD_STORE_STMT_INSTANCE_BY_UUID] =
                "SELECT " HD_STORE_INSTANCE_COLUMNS_V6 " FROM instances WHERE uuid = lower(?1)",
        [HD_STORE_STMT_VIEW_BY_NAME] = "SELECT " HD_STORE_INSTANCE_COLUMNS_V6 HD_STORE_VIEW_COLUMNS
                                       " FROM instances WHERE name = ?1",
        [HD_STORE_STMT_VIEW_BY_UUID] = "SELECT " HD_STORE_INSTANCE_COLUMNS_V6 HD_STORE_VIEW_COLUMNS
                                       " FROM instances WHERE uuid = lower(?1)",
};

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

bool hd_store_is_unique_violation(int rc)
{
        return rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY;
}

int hd_store_conn_prepare(HdStoreConn *c, const char *sql, sqlite3_stmt **slot, HdError **err)
{
        if (!*slot &&
            sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, slot, NULL) != SQLITE_OK)
                return hd_store_sqlite_error(err, c->db, "could not prepare statement");
        return 0;
}

int hd_store_conn_stmt(HdStoreConn *c, HdStoreStmt id, sqlite3_stmt **ret, HdError **err)
{
        const char *sql = stmt_sql[id];
        if (c->version < HD_STORE_READY_AT_SINCE && stmt_sql_pre_ready[id])
                sql = stmt_sql_pre_ready[id];
        else if (c->version < HD_STORE_NETWORKS_SINCE && stmt_sql_pre_net[id])
                sql = stmt_sql_pre_net[id];
        int r = hd_store_conn_prepare(c, sql, &c->stmts[id], err);
        if (r < 0)
                return r;
        *ret = c->stmts[id];
        return 0;
}

static void conn_close(HdStoreConn *c)
{
        for (size_t i = 0; i < HD_STORE_STMT__COUNT; i++)
                sqlite3_finalize(c->stmts[i]);
        for (size_t i = 0; i < HD_STORE_LIST_SHAPES; i++)
                sqlite3_finalize(c->list[i]);
        for (size_t i = 0; i < HD_STORE_OPLIST_SHAPES; i++)
                sqlite3_finalize(c->oplist[i]);
        for (size_t i = 0; i < HD_STORE_LIST_SHAPES; i++)
                sqlite3_finalize(c->view_list[i]);
        sqlite3_close_v2(c->db);
        memset(c, 0, sizeof(*c));
}

static int conn_open(HdStoreConn *c, const char *path, HdError **err)
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

int hd_store_col_strdup(sqlite3_stmt *st, int col, char **ret)
{
        const char *t = (const char *)sqlite3_column_text(st, col);
        if (!t) {
                *ret = NULL;
                return 0;
        }
        *ret = strdup(t);
        return *ret ? 0 : -ENOMEM;
}

int hd_store_col_uuid(sqlite3_stmt *st, int col, char buf[static HD_UUID_STRING_MAX])
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

/* ---- open and close --------------------------------------------------------------- */

static void configure_sqlite(void)
{
        /* hostd never reads SQLite's memory statistics; keeping them costs a
         * global mutex on every allocation, which request threads contend on. */
        sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static int store_open(const char *path, int target_version, int64_t retention, HdStore **ret,
                      HdError **err)
{
        static pthread_once_t once = PTHREAD_ONCE_INIT;
        pthread_once(&once, configure_sqlite);

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
        hd_store_cache_init(&s->cache);

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
        s->writer.version = s->version;

        if (s->version >= 3) {
                r = hd_store_refresh_views(s, err);
                if (r < 0)
                        return hd_error_wrap(err, "could not open database `%s`", path);
        }

        /* Readers open after the migrations, so they never see an old schema. */
        for (size_t i = 0; i < HD_STORE_READERS; i++) {
                r = conn_open(&s->readers[i], path, err);
                if (r >= 0)
                        r = hd_store_exec(
                                s->readers[i].db,
                                "PRAGMA cache_size = -" HD_STRINGIFY(HD_STORE_READER_CACHE_KIB),
                                err);
                if (r < 0)
                        return r;
                s->readers[i].version = s->version;
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
        for (size_t i = 0; i < HD_STORE_READERS; i++)
                conn_close(&s->readers[i]);
        conn_close(&s->writer);
        if (s->locks_ready) {
                pthread_cond_destroy(&s->pool_cond);
                pthread_mutex_destroy(&s->pool_lock);
                pthread_mutex_destroy(&s->write_lock);
        }
        hd_store_cache_destroy(&s->cache);
        free(s);
}

/* ---- reader pool ------------------------------------------------------------------ */

HdStoreReaderLease hd_store_reader_acquire(HdStore *s)
{
        pthread_mutex_lock(&s->pool_lock);
        while (s->n_free == 0)
                pthread_cond_wait(&s->pool_cond, &s->pool_lock);
        HdStoreConn *c = s->free_readers[--s->n_free];
        pthread_mutex_unlock(&s->pool_lock);
        return (HdStoreReaderLease){ .store = s, .conn = c };
}

void hd_store_reader_releasep(HdStoreReaderLease *l)
{
        if (!l->conn)
                return;
        pthread_mutex_lock(&l->store->pool_lock);
        l->store->free_readers[l->store->n_free++] = l->conn;
        pthread_cond_signal(&l->store->pool_cond);
        pthread_mutex_unlock(&l->store->pool_lock);
        l->conn = NULL;
}

int hd_store_schema_version(HdStore *s, int *ret, HdError **err)
{
        _cleanup_lease_ HdStoreReaderLease l = hd_store_reader_acquire(s);
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;

        if (sqlite3_prepare_v2(l.conn->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK ||
            sqlite3_step(st) != SQLITE_ROW)
                return hd_store_sqlite_error(err, l.conn->db, "could not read the schema version");
        *ret = sqlite3_column_int(st, 0);
        return 0;
}

int hd_store_integrity_check(HdStore *s, HdError **err)
{
        _cleanup_lease_ HdStoreReaderLease l = hd_store_reader_acquire(s);
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
        tx->changes = NULL;
        *ret = tx;
        return 0;
}

static void tx_end(HdStoreTx *tx)
{
        hd_store_view_changes_free(tx->changes);
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
        /* Still under the writer lock, so caches see commits in order. */
        hd_store_cache_apply(&tx->store->cache, TAKE_PTR(tx->changes));
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
        _cleanup_lease_ HdStoreReaderLease l = hd_store_reader_acquire(s);
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

int hd_store_collect_rows(sqlite3_stmt *st, size_t max, HdStoreDecodeFn decode,
                          HdStoreFreeFn free_one, void ***ret, size_t *ret_n, bool *ret_more,
                          HdError **err)
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
