/* Benchmark runs (schema v8): one row per run, its result the API's JSON. Rare writes,
 * so statements are prepared per call. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store-internal.h"

void hd_store_benchmark_free(HdStoreBenchmark *b)
{
        if (!b)
                return;
        free(b->status);
        free(b->result);
        free(b);
}

void hd_store_benchmark_array_free(HdStoreBenchmark **a, size_t n)
{
        for (size_t i = 0; a && i < n; i++)
                hd_store_benchmark_free(a[i]);
        free(a);
}

static int need_v8(HdStore *s, HdError **err)
{
        if (s->version < 8)
                return hd_error_set(err, -EOPNOTSUPP,
                                    "the inventory is at schema version %d: benchmarks need 8",
                                    s->version);
        return 0;
}

static int decode_benchmark(sqlite3_stmt *st, void **ret, HdError **err)
{
        HdStoreBenchmark *b = calloc(1, sizeof(*b));
        if (!b || hd_store_col_uuid(st, 0, b->id) < 0 ||
            hd_store_col_strdup(st, 1, &b->status) < 0 ||
            hd_store_col_strdup(st, 4, &b->result) < 0) {
                hd_store_benchmark_free(b);
                return hd_error_set(err, -ENOMEM, "out of memory");
        }
        b->created_at = sqlite3_column_int64(st, 2);
        b->finished_at = sqlite3_column_int64(st, 3);
        *ret = b;
        return 0;
}

static void benchmark_free_void(void *p)
{
        hd_store_benchmark_free(p);
}

int hd_store_benchmark_put(HdStore *s, const HdStoreBenchmark *b, HdError **err)
{
        int r = need_v8(s, err);
        if (r < 0)
                return r;
        _cleanup_tx_ HdStoreTx *tx = NULL;
        r = hd_store_tx_begin(s, &tx, err);
        if (r < 0)
                return r;
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(s->writer.db,
                               "INSERT OR REPLACE INTO benchmarks (id, status, created_at, "
                               "finished_at, result) VALUES (?1, ?2, ?3, ?4, ?5)",
                               -1, &st, NULL) != SQLITE_OK)
                return hd_store_sqlite_error(err, s->writer.db, "could not prepare");
        sqlite3_bind_text(st, 1, b->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, b->status, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, b->created_at);
        if (b->finished_at > 0)
                sqlite3_bind_int64(st, 4, b->finished_at);
        sqlite3_bind_text(st, 5, b->result, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
                return hd_store_sqlite_error(err, s->writer.db, "could not store benchmark `%s`",
                                             b->id);
        return hd_store_tx_commit(TAKE_PTR(tx), err);
}

int hd_store_benchmark_get(HdStore *s, const char *id, HdStoreBenchmark **ret, HdError **err)
{
        int r = need_v8(s, err);
        if (r < 0)
                return r;
        _cleanup_lease_ HdStoreReaderLease l = hd_store_reader_acquire(s);
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(l.conn->db,
                               "SELECT id, status, created_at, finished_at, result FROM "
                               "benchmarks WHERE id = lower(?1)",
                               -1, &st, NULL) != SQLITE_OK)
                return hd_store_sqlite_error(err, l.conn->db, "could not prepare");
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
                return hd_error_set(err, -ENOENT, "benchmark `%s` not found", id);
        if (rc != SQLITE_ROW)
                return hd_store_sqlite_error(err, l.conn->db, "could not read benchmark `%s`", id);
        return decode_benchmark(st, (void **)ret, err);
}

int hd_store_benchmark_list(HdStore *s, HdStoreBenchmark ***ret, size_t *ret_n, HdError **err)
{
        *ret = NULL;
        *ret_n = 0;
        if (s->version < 8)
                return 0;
        _cleanup_lease_ HdStoreReaderLease l = hd_store_reader_acquire(s);
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(l.conn->db,
                               "SELECT id, status, created_at, finished_at, result FROM "
                               "benchmarks ORDER BY created_at DESC, id",
                               -1, &st, NULL) != SQLITE_OK)
                return hd_store_sqlite_error(err, l.conn->db, "could not prepare");
        return hd_store_collect_rows(st, 0, decode_benchmark, benchmark_free_void, (void ***)ret,
                                     ret_n, NULL, err);
}

int hd_store_benchmark_delete(HdStore *s, const char *id, HdError **err)
{
        int r = need_v8(s, err);
        if (r < 0)
                return r;
        _cleanup_tx_ HdStoreTx *tx = NULL;
        r = hd_store_tx_begin(s, &tx, err);
        if (r < 0)
                return r;
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(s->writer.db, "DELETE FROM benchmarks WHERE id = lower(?1)", -1, &st,
                               NULL) != SQLITE_OK)
                return hd_store_sqlite_error(err, s->writer.db, "could not prepare");
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
                return hd_store_sqlite_error(err, s->writer.db, "could not delete benchmark `%s`",
                                             id);
        if (sqlite3_changes(s->writer.db) == 0)
                return hd_error_set(err, -ENOENT, "benchmark `%s` not found", id);
        return hd_store_tx_commit(TAKE_PTR(tx), err);
}
