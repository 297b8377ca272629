/* Instance rows: encoding an HdInstance into its row (and its label index rows)
 * and back, the writes inside a transaction, and the reads through the reader
 * pool: get, list, counts and allocated resources. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hd-codec.h"
#include "hd-json.h"
#include "store-internal.h"

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
        if (hd_store_col_uuid(st, 0, i->uuid) < 0)
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
        i->ready_at = sqlite3_column_int64(st, 14); /* NULL reads as 0 */
        if (sqlite3_column_type(st, 15) == SQLITE_TEXT &&
            hd_store_decode_addresses((const char *)sqlite3_column_text(st, 15), &i->addresses,
                                      &i->n_addresses) < 0)
                return hd_error_set(err, -EIO, "stored addresses of instance `%s` are invalid",
                                    name);
        if (hd_store_col_strdup(st, 6, &i->reason) < 0 ||
            hd_store_col_strdup(st, 7, &i->error) < 0 ||
            hd_store_col_strdup(st, 9, &i->placement.host) < 0 ||
            hd_store_col_strdup(st, 10, &i->placement.driver) < 0 ||
            hd_store_col_strdup(st, 11, &i->placement.reason) < 0)
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

static int instance_get_conn(HdStoreConn *c, const char *name_or_uuid, HdInstance **ret,
                             HdError **err)
{
        bool found = false;
        int r;

        if (!name_or_uuid)
                return hd_error_set(err, -EINVAL, "no instance name given");

        /* Names can never have the form of a uuid (the codec refuses them), so the
         * form alone says which column to look in. */
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        r = hd_store_conn_stmt(c,
                               hd_uuid_is_valid(name_or_uuid) ? HD_STORE_STMT_INSTANCE_BY_UUID
                                                              : HD_STORE_STMT_INSTANCE_BY_NAME,
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

/* Binds ?1..?18 (?19 from schema v6) of HD_STORE_STMT_INSTANCE_INSERT /
 * HD_STORE_STMT_INSTANCE_UPDATE. */
static int bind_instance(sqlite3_stmt *st, const HdInstance *i, const char *spec,
                         const char *labels, int64_t revision)
{
        int rc = SQLITE_OK;

        HD_STORE_BIND(sqlite3_bind_text(st, 1, i->uuid, -1, SQLITE_STATIC));
        HD_STORE_BIND(sqlite3_bind_text(st, 2, i->spec.name, -1, SQLITE_STATIC));
        HD_STORE_BIND(sqlite3_bind_text(st, 3, hd_kind_to_string(i->spec.kind), -1, SQLITE_STATIC));
        HD_STORE_BIND(sqlite3_bind_text(st, 4, hd_state_to_string(i->state), -1, SQLITE_STATIC));
        HD_STORE_BIND(sqlite3_bind_int64(st, 5, revision));
        HD_STORE_BIND(sqlite3_bind_text(st, 6, spec, -1, SQLITE_STATIC));
        HD_STORE_BIND(sqlite3_bind_text(st, 7, labels, -1, SQLITE_STATIC));
        HD_STORE_BIND(sqlite3_bind_double(st, 8, i->spec.resources.vcpus));
        HD_STORE_BIND(sqlite3_bind_int64(st, 9, i->spec.resources.memory_mb));
        HD_STORE_BIND(i->has_exit_code ? sqlite3_bind_int(st, 10, i->exit_code)
                                       : sqlite3_bind_null(st, 10));
        HD_STORE_BIND(sqlite3_bind_text(st, 11, i->reason, -1, SQLITE_STATIC));
        HD_STORE_BIND(sqlite3_bind_text(st, 12, i->error, -1, SQLITE_STATIC));
        HD_STORE_BIND(sqlite3_bind_int(st, 13, i->provisioned));
        HD_STORE_BIND(sqlite3_bind_text(st, 14, i->placement.host, -1, SQLITE_STATIC));
        HD_STORE_BIND(sqlite3_bind_text(st, 15, i->placement.driver, -1, SQLITE_STATIC));
        HD_STORE_BIND(sqlite3_bind_text(st, 16, i->placement.reason, -1, SQLITE_STATIC));
        HD_STORE_BIND(sqlite3_bind_int64(st, 17, i->created_at));
        HD_STORE_BIND(sqlite3_bind_int64(st, 18, i->updated_at));
        if (sqlite3_bind_parameter_count(st) >= 19)
                HD_STORE_BIND(i->ready_at > 0 ? sqlite3_bind_int64(st, 19, i->ready_at)
                                              : sqlite3_bind_null(st, 19));
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

/* The instance's API JSON as GET returns it, at the given revision. */
static char *render_view(const HdInstance *i, int64_t revision)
{
        HdInstance at = *i; /* shallow: only the revision differs */
        at.revision = revision;
        _cleanup_json_ json_t *j = hd_codec_instance_to_json(&at);
        return j ? json_dumps(j, JSON_COMPACT) : NULL;
}

/* Stores the rendered view next to the row (schema v3 and later), and notes it
 * for the view cache at commit. */
static int write_view(HdStoreTx *tx, const HdInstance *i, int64_t revision, HdError **err)
{
        HdStore *s = tx->store;
        if (s->version < 3)
                return 0;
        /* The view shows what the row keeps: no ready_at before schema v6. */
        HdInstance kept = *i;
        if (s->version < HD_STORE_READY_AT_SINCE)
                kept.ready_at = 0;
        _cleanup_free_ char *view = render_view(&kept, revision);
        if (!view)
                return hd_error_set(err, -ENOMEM, "could not render instance `%s`", i->spec.name);
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int r = hd_store_conn_stmt(&s->writer, HD_STORE_STMT_VIEW_SET, &st, err);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, i->uuid, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, view, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 3, HD_CODEC_INSTANCE_FORMAT);
        if (sqlite3_step(st) != SQLITE_DONE)
                return hd_store_sqlite_error(err, s->writer.db,
                                             "could not store the view of instance `%s`",
                                             i->spec.name);
        if (hd_store_tx_note_view(tx, i->spec.name, i->uuid, revision, view) < 0)
                return hd_error_set(err, -ENOMEM, "out of memory");
        return 0;
}

/* Replaces the label index rows of an instance (schema v2 and later). */
static int write_labels(HdStore *s, const HdInstance *i, bool replace, HdError **err)
{
        HdStoreConn *c = &s->writer;
        int r;

        if (s->version < 2)
                return 0;
        if (replace) {
                _cleanup_reset_ sqlite3_stmt *st = NULL;
                r = hd_store_conn_stmt(c, HD_STORE_STMT_LABELS_DELETE, &st, err);
                if (r < 0)
                        return r;
                sqlite3_bind_text(st, 1, i->uuid, -1, SQLITE_STATIC);
                if (sqlite3_step(st) != SQLITE_DONE)
                        return hd_store_sqlite_error(err, c->db,
                                                     "could not clear labels of instance `%s`",
                                                     i->spec.name);
        }

        _cleanup_reset_ sqlite3_stmt *st = NULL;
        r = hd_store_conn_stmt(c, HD_STORE_STMT_LABELS_INSERT, &st, err);
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
        r = hd_store_conn_stmt(&s->writer, HD_STORE_STMT_INSTANCE_INSERT, &st, err);
        if (r < 0)
                return r;
        if (bind_instance(st, i, spec, labels, 1) != SQLITE_OK)
                return hd_store_sqlite_error(err, s->writer.db, "could not bind instance `%s`",
                                             i->spec.name);
        int rc = sqlite3_step(st);
        if (hd_store_is_unique_violation(rc))
                return hd_error_set(err, -EEXIST, "instance `%s` already exists", i->spec.name);
        if (rc != SQLITE_DONE)
                return hd_store_sqlite_error(err, s->writer.db, "could not insert instance `%s`",
                                             i->spec.name);
        r = write_labels(s, i, false, err);
        if (r < 0)
                return r;
        return write_view(tx, i, 1, err);
}

int hd_store_tx_instance_view_refresh(HdStoreTx *tx, const HdInstance *i, HdError **err)
{
        return write_view(tx, i, i->revision, err);
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
                r = hd_store_conn_stmt(&s->writer, HD_STORE_STMT_INSTANCE_UPDATE, &st, err);
                if (r < 0)
                        return r;
                if (bind_instance(st, i, spec, labels, expect_revision) != SQLITE_OK)
                        return hd_store_sqlite_error(err, s->writer.db,
                                                     "could not bind instance `%s`", i->spec.name);
                rc = sqlite3_step(st);
                if (hd_store_is_unique_violation(rc))
                        return hd_error_set(err, -EEXIST, "instance `%s` already exists",
                                            i->spec.name);
                if (rc != SQLITE_DONE)
                        return hd_store_sqlite_error(
                                err, s->writer.db, "could not update instance `%s`", i->spec.name);
        }

        if (sqlite3_changes(s->writer.db) == 0) {
                /* Nothing matched: tell a missing row from a stale revision. */
                _cleanup_reset_ sqlite3_stmt *st = NULL;
                r = hd_store_conn_stmt(&s->writer, HD_STORE_STMT_INSTANCE_REVISION, &st, err);
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

        r = write_labels(s, i, true, err);
        if (r < 0)
                return r;
        return write_view(tx, i, expect_revision + 1, err);
}

int hd_store_tx_instance_delete(HdStoreTx *tx, const char *uuid, HdError **err)
{
        HdStoreConn *c = &tx->store->writer;
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int r = hd_store_conn_stmt(c, HD_STORE_STMT_INSTANCE_DELETE, &st, err);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, uuid, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
                return hd_store_sqlite_error(err, c->db, "could not delete instance `%s`", uuid);
        if (sqlite3_changes(c->db) == 0)
                return hd_error_set(err, -ENOENT, "instance `%s` not found", uuid);
        /* Label rows go with it (ON DELETE CASCADE); the cached view at commit. */
        if (hd_store_tx_note_view(tx, NULL, uuid, 0, NULL) < 0)
                return hd_error_set(err, -ENOMEM, "out of memory");
        return 0;
}

int hd_store_tx_instance_get(HdStoreTx *tx, const char *name_or_uuid, HdInstance **ret,
                             HdError **err)
{
        return instance_get_conn(&tx->store->writer, name_or_uuid, ret, err);
}

int hd_store_instance_get(HdStore *s, const char *name_or_uuid, HdInstance **ret, HdError **err)
{
        _cleanup_lease_ HdStoreReaderLease l = hd_store_reader_acquire(s);
        return instance_get_conn(l.conn, name_or_uuid, ret, err);
}

static int allocated_conn(HdStoreConn *c, double *ret_vcpus, int64_t *ret_memory_mb, HdError **err)
{
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int r = hd_store_conn_stmt(c, HD_STORE_STMT_ALLOCATED, &st, err);
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
        _cleanup_lease_ HdStoreReaderLease l = hd_store_reader_acquire(s);
        return allocated_conn(l.conn, ret_vcpus, ret_memory_mb, err);
}

int hd_store_instance_counts(HdStore *s, int64_t counts[HD_KIND__COUNT][HD_STATE__COUNT],
                             HdError **err)
{
        _cleanup_lease_ HdStoreReaderLease l = hd_store_reader_acquire(s);
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int r, rc;

        memset(counts, 0, sizeof(int64_t) * HD_KIND__COUNT * HD_STATE__COUNT);
        r = hd_store_conn_stmt(l.conn, HD_STORE_STMT_COUNTS, &st, err);
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

static char *list_sql(int version, bool views, bool kind, bool state, bool after, size_t n_labels)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (!f)
                return NULL;

        fputs("SELECT ", f);
        fputs(hd_store_instance_columns(version), f);
        if (views)
                fputs(HD_STORE_VIEW_COLUMNS, f);
        fputs(" FROM instances WHERE 1", f);
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

static int list_rows(HdStore *s, const HdInstanceFilter *f, bool views, HdStoreDecodeFn decode,
                     HdStoreFreeFn free_one, void ***ret, size_t *ret_n, bool *ret_more,
                     HdError **err)
{
        bool kind = f->kind != HD_KIND_INVALID, state = f->state != HD_STATE_INVALID;
        bool after = f->after != NULL;
        /* The lease is declared first so it is released last, after the statements
         * below are reset: another thread may take the connection right away. */
        _cleanup_lease_ HdStoreReaderLease l = hd_store_reader_acquire(s);
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
        sqlite3_stmt **cache = views ? l.conn->view_list : l.conn->list;
        if (f->n_labels <= HD_STORE_LIST_LABELS_CACHED && cache[shape]) {
                st = cache[shape];
        } else {
                _cleanup_free_ char *sql =
                        list_sql(s->version, views, kind, state, after, f->n_labels);
                if (!sql)
                        return hd_error_set(err, -ENOMEM, "out of memory");
                if (f->n_labels <= HD_STORE_LIST_LABELS_CACHED) {
                        r = hd_store_conn_prepare(l.conn, sql, &cache[shape], err);
                        if (r < 0)
                                return r;
                        st = cache[shape];
                } else if (sqlite3_prepare_v2(l.conn->db, sql, -1, &owned, NULL) != SQLITE_OK)
                        return hd_store_sqlite_error(err, l.conn->db,
                                                     "could not prepare statement");
        }
        sqlite3_stmt *q = st ? st : owned;

        if (kind)
                HD_STORE_BIND(
                        sqlite3_bind_text(q, idx++, hd_kind_to_string(f->kind), -1, SQLITE_STATIC));
        if (state)
                HD_STORE_BIND(sqlite3_bind_text(q, idx++, hd_state_to_string(f->state), -1,
                                                SQLITE_STATIC));
        if (after)
                HD_STORE_BIND(sqlite3_bind_text(q, idx++, f->after, -1, SQLITE_STATIC));
        for (size_t k = 0; k < f->n_labels; k++) {
                HD_STORE_BIND(sqlite3_bind_text(q, idx++, f->labels[k].key, -1, SQLITE_STATIC));
                HD_STORE_BIND(sqlite3_bind_text(q, idx++, f->labels[k].value, -1, SQLITE_STATIC));
        }
        /* One row more than asked for tells whether another page exists. */
        HD_STORE_BIND(sqlite3_bind_int64(q, idx++, (int64_t)f->limit + 1));
        if (rc != SQLITE_OK)
                return hd_store_sqlite_error(err, l.conn->db, "could not bind list filter");

        return hd_store_collect_rows(q, f->limit, decode, free_one, ret, ret_n, ret_more, err);
}

int hd_store_instance_list(HdStore *s, const HdInstanceFilter *f, HdInstance ***ret, size_t *ret_n,
                           bool *ret_more, HdError **err)
{
        return list_rows(s, f, false, decode_instance, instance_free_void, (void ***)ret, ret_n,
                         ret_more, err);
}

/* ---- views ------------------------------------------------------------------------ */

void hd_instance_view_free(HdInstanceView *v)
{
        if (!v)
                return;
        free(v->name);
        free(v->json);
        free(v);
}

void hd_instance_view_array_free(HdInstanceView **a, size_t n)
{
        for (size_t i = 0; a && i < n; i++)
                hd_instance_view_free(a[i]);
        free(a);
}

static void view_free_void(void *p)
{
        hd_instance_view_free(p);
}

/* A row of the instance columns plus (from v3) view and view_format: the stored
 * view when it is current, else one rendered from the row. */
static int decode_view(sqlite3_stmt *st, void **ret, HdError **err)
{
        _cleanup_(hd_instance_view_freep) HdInstanceView *v = calloc(1, sizeof(*v));
        if (!v)
                return hd_error_set(err, -ENOMEM, "out of memory");
        v->revision = sqlite3_column_int64(st, 4);
        bool current = sqlite3_column_count(st) > 17 &&
                       sqlite3_column_type(st, 16) == SQLITE_TEXT &&
                       sqlite3_column_int(st, 17) == HD_CODEC_INSTANCE_FORMAT;
        if (current) {
                if (hd_store_col_strdup(st, 1, &v->name) < 0 ||
                    hd_store_col_strdup(st, 16, &v->json) < 0)
                        return hd_error_set(err, -ENOMEM, "out of memory");
        } else {
                _cleanup_(hd_instance_freep) HdInstance *i = NULL;
                int r = decode_instance(st, (void **)&i, err);
                if (r < 0)
                        return r;
                v->name = strdup(i->spec.name);
                v->json = render_view(i, i->revision);
                if (!v->name || !v->json)
                        return hd_error_set(err, -ENOMEM, "out of memory");
        }
        *ret = TAKE_PTR(v);
        return 0;
}

int hd_store_instance_get_view(HdStore *s, const char *name_or_uuid, HdInstanceView **ret,
                               HdError **err)
{
        if (s->version < 3) {
                _cleanup_(hd_instance_freep) HdInstance *i = NULL;
                int r = hd_store_instance_get(s, name_or_uuid, &i, err);
                if (r < 0)
                        return r;
                HdInstanceView *v = calloc(1, sizeof(*v));
                if (!v)
                        return hd_error_set(err, -ENOMEM, "out of memory");
                v->revision = i->revision;
                v->name = strdup(i->spec.name);
                v->json = render_view(i, i->revision);
                if (!v->name || !v->json) {
                        hd_instance_view_free(v);
                        return hd_error_set(err, -ENOMEM, "out of memory");
                }
                *ret = v;
                return 0;
        }
        if (!name_or_uuid)
                return hd_error_set(err, -EINVAL, "no instance name given");
        bool by_uuid = hd_uuid_is_valid(name_or_uuid);
        if (!by_uuid) {
                int cr = hd_store_cache_get(&s->cache, name_or_uuid, ret);
                if (cr == 0)
                        return 0;
                if (cr == -ENOMEM)
                        return hd_error_set(err, -ENOMEM, "out of memory");
        }
        uint64_t generation = hd_store_cache_generation(&s->cache);

        _cleanup_lease_ HdStoreReaderLease l = hd_store_reader_acquire(s);
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int r = hd_store_conn_stmt(l.conn,
                                   hd_uuid_is_valid(name_or_uuid) ? HD_STORE_STMT_VIEW_BY_UUID
                                                                  : HD_STORE_STMT_VIEW_BY_NAME,
                                   &st, err);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, name_or_uuid, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
                return hd_error_set(err, -ENOENT, "instance `%s` not found", name_or_uuid);
        if (rc != SQLITE_ROW)
                return hd_store_sqlite_error(err, l.conn->db, "could not read instance");
        char uuid[HD_UUID_STRING_MAX];
        if (hd_store_col_uuid(st, 0, uuid) < 0)
                return hd_error_set(err, -EIO, "stored uuid of instance `%s` is invalid",
                                    name_or_uuid);
        r = decode_view(st, (void **)ret, err);
        if (r >= 0)
                hd_store_cache_fill(&s->cache, generation, *ret, uuid);
        return r;
}

int hd_store_instance_list_views(HdStore *s, const HdInstanceFilter *f, HdInstanceView ***ret,
                                 size_t *ret_n, bool *ret_more, HdError **err)
{
        return list_rows(s, f, s->version >= 3, decode_view, view_free_void, (void ***)ret, ret_n,
                         ret_more, err);
}

int hd_store_refresh_views(HdStore *s, HdError **err)
{
        _cleanup_tx_ HdStoreTx *tx = NULL;
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        HdInstance **stale = NULL;
        size_t n = 0;

        int r = hd_store_tx_begin(s, &tx, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *sql = NULL;
        if (asprintf(&sql, "SELECT %s FROM instances WHERE view IS NULL OR view_format != ?1",
                     hd_store_instance_columns(s->version)) < 0)
                return hd_error_set(err, -ENOMEM, "out of memory");
        if (sqlite3_prepare_v2(s->writer.db, sql, -1, &st, NULL) != SQLITE_OK)
                return hd_store_sqlite_error(err, s->writer.db, "could not look for stale views");
        sqlite3_bind_int(st, 1, HD_CODEC_INSTANCE_FORMAT);
        r = hd_store_collect_rows(st, 0, decode_instance, instance_free_void, (void ***)&stale, &n,
                                  NULL, err);
        for (size_t k = 0; r >= 0 && k < n; k++)
                r = write_view(tx, stale[k], stale[k]->revision, err);
        hd_instance_array_free(stale, n);
        if (r < 0)
                return r;
        return hd_store_tx_commit(TAKE_PTR(tx), err);
}
