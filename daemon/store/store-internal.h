/* Private to the store (store.c, store-instances.c, store-ops-events.c,
 * store-migrate.c) and its unit tests. Nothing outside daemon/store and
 * tests/unit/test-{store,migrations}.c includes this. */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#include "hd-error.h"
#include "store.h"

/* How long a connection waits on a lock held by another connection or process. */
#define HD_STORE_BUSY_TIMEOUT_MS 5000

static inline void sqlite3_finalizep(sqlite3_stmt **st)
{
        if (*st)
                sqlite3_finalize(*st);
}

/* Sets *err from the last failure on db: -ENOMEM for SQLITE_NOMEM, -EIO otherwise,
 * with "<context>: <sqlite3_errmsg>" as the message. Returns the code. */
int hd_store_sqlite_error(HdError **err, sqlite3 *db, const char *fmt, ...) HD_PRINTF(3, 4);

/* Runs one or more SQL statements that return no rows. */
int hd_store_exec(sqlite3 *db, const char *sql, HdError **err);

/* ---- connections and statements (store.c) -------------------------------------- */

/* Enough readers that request threads rarely queue for one; each keeps a small
 * page cache (HD_STORE_READER_CACHE_KIB) so the pool stays cheap in memory. */
#define HD_STORE_READERS          8
#define HD_STORE_READER_CACHE_KIB 1024

/* Column lists of the row decoders: decode_instance(), decode_operation() and
 * decode_event() read columns by these positions. */
#define HD_STORE_INSTANCE_COLUMNS_V1                                                 \
        "uuid, name, spec, state, revision, exit_code, reason, error, provisioned, " \
        "placement_host, placement_driver, placement_reason, created_at, updated_at"
/* Position 14 is ready_at: a column from schema v6 on, a NULL before; position 15 the
 * instance's addresses, a JSON array of [network, address, mac, subnet, gateway, mtu]
 * from schema v7 on, a NULL before. So every other position is the same at every
 * version. */
#define HD_STORE_ADDRESSES_SQL                                                                   \
        "(SELECT json_group_array(json_array(a.network, a.address, a.mac, n.subnet, n.gateway, " \
        "n.mtu)) FROM addresses AS a JOIN networks AS n ON n.name = a.network "                  \
        "WHERE a.instance_uuid = instances.uuid)"
#define HD_STORE_INSTANCE_COLUMNS     HD_STORE_INSTANCE_COLUMNS_V1 ", ready_at, " HD_STORE_ADDRESSES_SQL
#define HD_STORE_INSTANCE_COLUMNS_V6  HD_STORE_INSTANCE_COLUMNS_V1 ", ready_at, NULL"
#define HD_STORE_INSTANCE_COLUMNS_PRE HD_STORE_INSTANCE_COLUMNS_V1 ", NULL, NULL"
#define HD_STORE_READY_AT_SINCE       6
#define HD_STORE_NETWORKS_SINCE       7
#define HD_STORE_OPERATION_COLUMNS                                                            \
        "id, action, instance_uuid, instance_name, status, args, error_code, error_message, " \
        "progress_done, progress_total, created_at, updated_at, finished_at"
/* Appended to the instance columns from schema v3 on (positions 16 and 17). */
#define HD_STORE_VIEW_COLUMNS  ", view, view_format"
#define HD_STORE_EVENT_COLUMNS "seq, time, type, instance_uuid, instance_name, operation_id, data"

/* The statements every connection caches; their SQL is in store.c. */
typedef enum HdStoreStmt {
        HD_STORE_STMT_INSTANCE_INSERT,
        HD_STORE_STMT_INSTANCE_UPDATE,
        HD_STORE_STMT_INSTANCE_REVISION,
        HD_STORE_STMT_INSTANCE_DELETE,
        HD_STORE_STMT_INSTANCE_BY_NAME,
        HD_STORE_STMT_INSTANCE_BY_UUID,
        HD_STORE_STMT_VIEW_BY_NAME,
        HD_STORE_STMT_VIEW_BY_UUID,
        HD_STORE_STMT_VIEW_SET,
        HD_STORE_STMT_LABELS_DELETE,
        HD_STORE_STMT_LABELS_INSERT,
        HD_STORE_STMT_ALLOCATED,
        HD_STORE_STMT_COUNTS,
        HD_STORE_STMT_OP_INSERT,
        HD_STORE_STMT_OP_UPDATE,
        HD_STORE_STMT_OP_GET,
        HD_STORE_STMT_OP_ROWID,
        HD_STORE_STMT_OP_UNFINISHED,
        HD_STORE_STMT_EVENT_INSERT,
        HD_STORE_STMT_EVENT_TRIM,
        HD_STORE_STMT_EVENTS_SINCE,
        HD_STORE_STMT_EVENT_LAST_SEQ,
        HD_STORE_STMT__COUNT,
} HdStoreStmt;

/* Instance lists are built from their filter's shape: kind?, state?, after? (3 bits)
 * and the number of label pairs. Shapes with up to HD_STORE_LIST_LABELS_CACHED pairs
 * are cached per connection; longer ones are prepared for the call. */
#define HD_STORE_LIST_LABELS_CACHED 4
#define HD_STORE_LIST_SHAPES        (8 * (HD_STORE_LIST_LABELS_CACHED + 1))
/* Operation lists: status?, instance?, after?. */
#define HD_STORE_OPLIST_SHAPES 8

typedef struct HdStoreConn {
        sqlite3 *db;
        int version; /* the schema version, set once migrations have run */
        sqlite3_stmt *stmts[HD_STORE_STMT__COUNT];
        sqlite3_stmt *list[HD_STORE_LIST_SHAPES];
        sqlite3_stmt *view_list[HD_STORE_LIST_SHAPES];
        sqlite3_stmt *oplist[HD_STORE_OPLIST_SHAPES];
} HdStoreConn;

/* The instance columns a SELECT names at this schema version. */
static inline const char *hd_store_instance_columns(int version)
{
        return version >= HD_STORE_NETWORKS_SINCE   ? HD_STORE_INSTANCE_COLUMNS
               : version >= HD_STORE_READY_AT_SINCE ? HD_STORE_INSTANCE_COLUMNS_V6
                                                    : HD_STORE_INSTANCE_COLUMNS_PRE;
}

/* ---- the view cache (store-cache.c) ----------------------------------------------- */

#define HD_STORE_CACHE_BUCKETS 16384
#define HD_STORE_CACHE_MAX     65536

typedef struct HdViewEntry {
        char *name;
        char uuid[HD_UUID_STRING_MAX];
        int64_t revision;
        char *json;
        struct HdViewEntry *next;
} HdViewEntry;

typedef struct HdViewCache {
        pthread_rwlock_t lock;
        HdViewEntry *buckets[HD_STORE_CACHE_BUCKETS];
        size_t n;
        uint64_t generation; /* bumped by every commit that changed a view */
} HdViewCache;

/* A view written (json set) or an instance deleted (json NULL) in a transaction. */
typedef struct HdViewChange {
        char uuid[HD_UUID_STRING_MAX];
        char *name;
        char *json;
        int64_t revision;
        struct HdViewChange *next;
} HdViewChange;

void hd_store_cache_init(HdViewCache *c);
void hd_store_cache_destroy(HdViewCache *c);
/* A copy of the cached view of name: 0, -ENOENT on a miss, -ENOMEM. */
int hd_store_cache_get(HdViewCache *c, const char *name, HdInstanceView **ret);
uint64_t hd_store_cache_generation(HdViewCache *c);
/* Caches a view read from SQLite, unless a commit happened since seen_generation. */
void hd_store_cache_fill(HdViewCache *c, uint64_t seen_generation, const HdInstanceView *v,
                         const char *uuid);
/* Records a change in tx for hd_store_cache_apply() at commit. */
int hd_store_tx_note_view(HdStoreTx *tx, const char *name, const char *uuid, int64_t revision,
                          const char *json);
/* Applies (and frees) a committed transaction's changes. */
void hd_store_cache_apply(HdViewCache *c, HdViewChange *changes);
void hd_store_view_changes_free(HdViewChange *ch);

struct HdStore {
        HdViewCache cache;
        int version; /* the schema version the database is at */
        int64_t event_retention;

        pthread_mutex_t write_lock; /* held for the life of an HdStoreTx */
        HdStoreConn writer;

        pthread_mutex_t pool_lock;
        pthread_cond_t pool_cond;
        HdStoreConn readers[HD_STORE_READERS];
        HdStoreConn *free_readers[HD_STORE_READERS];
        size_t n_free;
        bool locks_ready;
};

struct HdStoreTx {
        HdStore *store;
        HdViewChange *changes; /* view cache updates, applied after COMMIT */
};

/* Resets a cached statement when the variable goes out of scope. */
static inline void hd_store_stmt_resetp(sqlite3_stmt **st)
{
        if (*st) {
                sqlite3_reset(*st);
                sqlite3_clear_bindings(*st);
        }
}
#define _cleanup_reset_ _cleanup_(hd_store_stmt_resetp)

/* Runs call (an sqlite3_bind_*()) only while the local `rc` is still SQLITE_OK,
 * keeping the first failure in rc. */
#define HD_STORE_BIND(call)          \
        do {                         \
                if (rc == SQLITE_OK) \
                        rc = (call); \
        } while (0)

/* Whether a step result is a UNIQUE or PRIMARY KEY violation. */
bool hd_store_is_unique_violation(int rc);

/* Prepares sql into *slot (persistent, owned by c) unless it is already there. */
int hd_store_conn_prepare(HdStoreConn *c, const char *sql, sqlite3_stmt **slot, HdError **err);
/* Sets *ret to c's cached statement id, preparing it on first use. The statement
 * stays owned by c; reset it when done (_cleanup_reset_). */
int hd_store_conn_stmt(HdStoreConn *c, HdStoreStmt id, sqlite3_stmt **ret, HdError **err);

/* Copies a text column into *ret (NULL for SQL NULL); -ENOMEM on failure. */
int hd_store_col_strdup(sqlite3_stmt *st, int col, char **ret);
/* Copies a uuid column into buf ("" for SQL NULL); -EIO when it does not fit. */
int hd_store_col_uuid(sqlite3_stmt *st, int col, char buf[static HD_UUID_STRING_MAX]);

/* ---- reader pool (store.c) ------------------------------------------------------ */

typedef struct HdStoreReaderLease {
        HdStore *store;
        HdStoreConn *conn;
} HdStoreReaderLease;

/* Takes a reader connection from the pool, waiting for one to come free. */
HdStoreReaderLease hd_store_reader_acquire(HdStore *s);
/* Gives the lease's connection back to the pool; a lease already given back is fine. */
void hd_store_reader_releasep(HdStoreReaderLease *l);
#define _cleanup_lease_ _cleanup_(hd_store_reader_releasep)

/* ---- row collection (store.c) --------------------------------------------------- */

typedef int (*HdStoreDecodeFn)(sqlite3_stmt *st, void **ret, HdError **err);
typedef void (*HdStoreFreeFn)(void *p);

/* Steps st to the end (or past max rows, when max > 0), decoding each row into a
 * new array handed to *ret (the caller frees it and its rows); on failure nothing
 * is handed out. *ret_more (may be NULL) says whether a row was left after max. */
int hd_store_collect_rows(sqlite3_stmt *st, size_t max, HdStoreDecodeFn decode,
                          HdStoreFreeFn free_one, void ***ret, size_t *ret_n, bool *ret_more,
                          HdError **err);

/* ---- store-instances.c ----------------------------------------------------------- */

/* Renders again the view of every instance whose view is missing or was made by
 * a build with another HD_CODEC_INSTANCE_FORMAT (schema v3 and later). */
int hd_store_refresh_views(HdStore *s, HdError **err);

/* ---- store-migrate.c ---------------------------------------------------------- */

/* Brings the database on db up to target_version (1..hd_store_schema_latest()),
 * one transaction per step, each also setting PRAGMA user_version. A database
 * already past target_version is left alone; one newer than this build is refused
 * with -EPROTO. *ret_version gets the version the database ends up at. */
int hd_store_migrate(sqlite3 *db, int target_version, int *ret_version, HdError **err);

/* ---- for unit tests only -------------------------------------------------------- */

/* Runs SQL on the writer connection (under the writer mutex, outside any HdStoreTx). */
int hd_store_debug_exec(HdStore *s, const char *sql, HdError **err);
/* Runs a query on a reader connection and returns the first column of its first
 * row as an integer (0 when there is no row). */
int hd_store_debug_query_int64(HdStore *s, const char *sql, int64_t *ret, HdError **err);
