/* Operation and event rows: inserting and updating operations, appending events
 * (trimming the oldest past the retention), and reading both back. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "store-internal.h"

static const char *empty_to_null(const char *s)
{
        return s && *s ? s : NULL;
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

        if (hd_store_col_uuid(st, 0, o->id) < 0 || hd_store_col_uuid(st, 2, o->instance_uuid) < 0)
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
        if (hd_store_col_strdup(st, 3, &o->instance_name) < 0 ||
            hd_store_col_strdup(st, 5, &o->args_json) < 0 ||
            hd_store_col_strdup(st, 6, &o->error_code) < 0 ||
            hd_store_col_strdup(st, 7, &o->error_message) < 0)
                return hd_error_set(err, -ENOMEM, "out of memory");

        *ret = TAKE_PTR(o);
        return 0;
}

int hd_store_tx_operation_insert(HdStoreTx *tx, const HdOperation *o, HdError **err)
{
        HdStoreConn *c = &tx->store->writer;
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int rc = SQLITE_OK, r;

        if (!hd_uuid_is_valid(o->id))
                return hd_error_set(err, -EINVAL, "operation id `%s` is not a uuid", o->id);
        if (!hd_action_to_string(o->action) || !hd_op_status_to_string(o->status))
                return hd_error_set(err, -EINVAL, "operation `%s` has an invalid action or status",
                                    o->id);
        r = hd_store_conn_stmt(c, HD_STORE_STMT_OP_INSERT, &st, err);
        if (r < 0)
                return r;
        HD_STORE_BIND(sqlite3_bind_text(st, 1, o->id, -1, SQLITE_STATIC));
        HD_STORE_BIND(sqlite3_bind_text(st, 2, hd_action_to_string(o->action), -1, SQLITE_STATIC));
        HD_STORE_BIND(sqlite3_bind_text(st, 3, empty_to_null(o->instance_uuid), -1, SQLITE_STATIC));
        HD_STORE_BIND(sqlite3_bind_text(st, 4, o->instance_name, -1, SQLITE_STATIC));
        HD_STORE_BIND(
                sqlite3_bind_text(st, 5, hd_op_status_to_string(o->status), -1, SQLITE_STATIC));
        HD_STORE_BIND(sqlite3_bind_text(st, 6, o->args_json, -1, SQLITE_STATIC));
        HD_STORE_BIND(sqlite3_bind_text(st, 7, o->error_code, -1, SQLITE_STATIC));
        HD_STORE_BIND(sqlite3_bind_text(st, 8, o->error_message, -1, SQLITE_STATIC));
        HD_STORE_BIND(sqlite3_bind_int64(st, 9, o->progress_done));
        HD_STORE_BIND(sqlite3_bind_int64(st, 10, o->progress_total));
        HD_STORE_BIND(sqlite3_bind_int64(st, 11, o->created_at));
        HD_STORE_BIND(sqlite3_bind_int64(st, 12, o->updated_at));
        HD_STORE_BIND(o->finished_at ? sqlite3_bind_int64(st, 13, o->finished_at)
                                     : sqlite3_bind_null(st, 13));
        if (rc != SQLITE_OK)
                return hd_store_sqlite_error(err, c->db, "could not bind operation `%s`", o->id);
        rc = sqlite3_step(st);
        if (hd_store_is_unique_violation(rc))
                return hd_error_set(err, -EEXIST, "operation `%s` already exists", o->id);
        if (rc != SQLITE_DONE)
                return hd_store_sqlite_error(err, c->db, "could not insert operation `%s`", o->id);
        return 0;
}

int hd_store_tx_operation_update(HdStoreTx *tx, const HdOperation *o, HdError **err)
{
        HdStoreConn *c = &tx->store->writer;
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int rc = SQLITE_OK, r;

        if (!hd_op_status_to_string(o->status))
                return hd_error_set(err, -EINVAL, "operation `%s` has an invalid status", o->id);
        r = hd_store_conn_stmt(c, HD_STORE_STMT_OP_UPDATE, &st, err);
        if (r < 0)
                return r;
        HD_STORE_BIND(sqlite3_bind_text(st, 1, o->id, -1, SQLITE_STATIC));
        HD_STORE_BIND(
                sqlite3_bind_text(st, 2, hd_op_status_to_string(o->status), -1, SQLITE_STATIC));
        HD_STORE_BIND(sqlite3_bind_text(st, 3, o->error_code, -1, SQLITE_STATIC));
        HD_STORE_BIND(sqlite3_bind_text(st, 4, o->error_message, -1, SQLITE_STATIC));
        HD_STORE_BIND(sqlite3_bind_int64(st, 5, o->progress_done));
        HD_STORE_BIND(sqlite3_bind_int64(st, 6, o->progress_total));
        HD_STORE_BIND(sqlite3_bind_int64(st, 7, o->updated_at));
        HD_STORE_BIND(o->finished_at ? sqlite3_bind_int64(st, 8, o->finished_at)
                                     : sqlite3_bind_null(st, 8));
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
        _cleanup_lease_ HdStoreReaderLease l = hd_store_reader_acquire(s);
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int r = hd_store_conn_stmt(l.conn, HD_STORE_STMT_OP_GET, &st, err);
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

        _cleanup_lease_ HdStoreReaderLease l = hd_store_reader_acquire(s);
        if (after) {
                /* The cursor is the id of the last row of the previous page. */
                _cleanup_reset_ sqlite3_stmt *cur = NULL;
                r = hd_store_conn_stmt(l.conn, HD_STORE_STMT_OP_ROWID, &cur, err);
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
                         "SELECT " HD_STORE_OPERATION_COLUMNS " FROM operations WHERE 1%s%s%s"
                         " ORDER BY rowid DESC LIMIT ?",
                         status ? " AND status = ?" : "", inst ? " AND instance_uuid = ?" : "",
                         after ? " AND rowid < ?" : "");
                r = hd_store_conn_prepare(l.conn, sql, &l.conn->oplist[shape], err);
                if (r < 0)
                        return r;
        }
        _cleanup_reset_ sqlite3_stmt *st = l.conn->oplist[shape];

        if (status)
                HD_STORE_BIND(sqlite3_bind_text(st, idx++, hd_op_status_to_string(f->status), -1,
                                                SQLITE_STATIC));
        if (inst)
                HD_STORE_BIND(sqlite3_bind_text(st, idx++, f->instance_uuid, -1, SQLITE_STATIC));
        if (after)
                HD_STORE_BIND(sqlite3_bind_int64(st, idx++, after_rowid));
        HD_STORE_BIND(sqlite3_bind_int64(st, idx++, (int64_t)f->limit + 1));
        if (rc != SQLITE_OK)
                return hd_store_sqlite_error(err, l.conn->db, "could not bind list filter");

        return hd_store_collect_rows(st, f->limit, decode_operation, operation_free_void,
                                     (void ***)ret, ret_n, ret_more, err);
}

int hd_store_operation_list_unfinished(HdStore *s, HdOperation ***ret, size_t *ret_n, HdError **err)
{
        _cleanup_lease_ HdStoreReaderLease l = hd_store_reader_acquire(s);
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int r = hd_store_conn_stmt(l.conn, HD_STORE_STMT_OP_UNFINISHED, &st, err);
        if (r < 0)
                return r;
        return hd_store_collect_rows(st, 0, decode_operation, operation_free_void, (void ***)ret,
                                     ret_n, NULL, err);
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
        if (hd_store_col_uuid(st, 3, e->instance_uuid) < 0 ||
            hd_store_col_uuid(st, 5, e->operation_id) < 0)
                return hd_error_set(err, -EIO, "stored ids of event %lld are invalid",
                                    (long long)e->seq);
        if (hd_store_col_strdup(st, 2, &e->type) < 0 ||
            hd_store_col_strdup(st, 4, &e->instance_name) < 0 ||
            hd_store_col_strdup(st, 6, &e->data_json) < 0)
                return hd_error_set(err, -ENOMEM, "out of memory");
        if (!e->data_json && !(e->data_json = strdup("{}")))
                return hd_error_set(err, -ENOMEM, "out of memory");

        *ret = TAKE_PTR(e);
        return 0;
}

int hd_store_tx_event_append(HdStoreTx *tx, HdEvent *e, HdError **err)
{
        HdStore *s = tx->store;
        HdStoreConn *c = &s->writer;
        int rc = SQLITE_OK, r;

        if (!e->type || !*e->type)
                return hd_error_set(err, -EINVAL, "event has no type");

        {
                _cleanup_reset_ sqlite3_stmt *st = NULL;
                r = hd_store_conn_stmt(c, HD_STORE_STMT_EVENT_INSERT, &st, err);
                if (r < 0)
                        return r;
                HD_STORE_BIND(sqlite3_bind_int64(st, 1, e->time));
                HD_STORE_BIND(sqlite3_bind_text(st, 2, e->type, -1, SQLITE_STATIC));
                HD_STORE_BIND(sqlite3_bind_text(st, 3, empty_to_null(e->instance_uuid), -1,
                                                SQLITE_STATIC));
                HD_STORE_BIND(sqlite3_bind_text(st, 4, e->instance_name, -1, SQLITE_STATIC));
                HD_STORE_BIND(sqlite3_bind_text(st, 5, empty_to_null(e->operation_id), -1,
                                                SQLITE_STATIC));
                HD_STORE_BIND(sqlite3_bind_text(st, 6, e->data_json ? e->data_json : "{}", -1,
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
                r = hd_store_conn_stmt(c, HD_STORE_STMT_EVENT_TRIM, &st, err);
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
        _cleanup_lease_ HdStoreReaderLease l = hd_store_reader_acquire(s);
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int r = hd_store_conn_stmt(l.conn, HD_STORE_STMT_EVENTS_SINCE, &st, err);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, since);
        sqlite3_bind_int64(st, 2, limit > 0 ? (int64_t)limit : -1);
        return hd_store_collect_rows(st, 0, decode_event, event_free_void, (void ***)ret, ret_n,
                                     NULL, err);
}

int hd_store_event_last_seq(HdStore *s, int64_t *ret, HdError **err)
{
        _cleanup_lease_ HdStoreReaderLease l = hd_store_reader_acquire(s);
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int r = hd_store_conn_stmt(l.conn, HD_STORE_STMT_EVENT_LAST_SEQ, &st, err);
        if (r < 0)
                return r;
        if (sqlite3_step(st) != SQLITE_ROW)
                return hd_store_sqlite_error(err, l.conn->db, "could not read the last event seq");
        *ret = sqlite3_column_int64(st, 0);
        return 0;
}
