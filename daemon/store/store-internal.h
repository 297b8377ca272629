/* Private to the store (store.c, store-migrate.c) and its unit tests. Nothing
 * outside daemon/store and tests/unit/test-{store,migrations}.c includes this. */
#pragma once

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
