/* Image rows (schema v4, manifest and config digests since v5): one row per name:tag in `images`,
 * each layer blob once in `layers`, and `image_layers` saying which image uses which layer at which
 * position. Whether a layer is still in use is asked of image_layers (for prune),
 * never counted in a column that could drift.
 *
 * Images change rarely and are few, so statements are prepared per call rather
 * than cached on the connections. An image is read together with its layers in
 * one statement (a join), so it comes from one snapshot. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hd-json.h"
#include "store-internal.h"

#define IMAGE_NAME_MAX 255
#define IMAGE_TAG_MAX  128
#define MEDIA_TYPE_MAX 255
#define DIGEST_PREFIX  "sha256:"
#define DIGEST_HEX_LEN 64

/* ---- validation ------------------------------------------------------------------- */

static bool is_lower_alnum(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* DESIGN's name pattern per '/'-separated component, with '.' and '_' allowed in the
 * middle too (`library/busybox`, `my.registry/team_x/app`). Components are never
 * empty and never start or end with a separator, so no `..` component, no leading
 * or trailing '/' and no `//`. */
static bool image_name_is_valid(const char *s)
{
        size_t n = strlen(s);
        if (n == 0 || n > IMAGE_NAME_MAX)
                return false;
        for (const char *comp = s;;) {
                const char *end = strchr(comp, '/');
                size_t len = end ? (size_t)(end - comp) : strlen(comp);
                if (len == 0 || !is_lower_alnum(comp[0]) || !is_lower_alnum(comp[len - 1]))
                        return false;
                for (size_t k = 1; k + 1 < len; k++)
                        if (!is_lower_alnum(comp[k]) && !strchr("-._", comp[k]))
                                return false;
                if (!end)
                        return true;
                comp = end + 1;
        }
}

/* [A-Za-z0-9_][A-Za-z0-9._-]{0,127} */
static bool image_tag_is_valid(const char *s)
{
        size_t n = strlen(s);
        if (n == 0 || n > IMAGE_TAG_MAX)
                return false;
        for (size_t k = 0; k < n; k++) {
                char c = s[k];
                bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                          (c >= '0' && c <= '9') || c == '_' || (k > 0 && (c == '.' || c == '-'));
                if (!ok)
                        return false;
        }
        return true;
}

/* "sha256:" and 64 lowercase hex digits. */
static bool digest_is_valid(const char *s)
{
        if (!s || strncmp(s, DIGEST_PREFIX, strlen(DIGEST_PREFIX)) != 0)
                return false;
        s += strlen(DIGEST_PREFIX);
        for (size_t k = 0; k < DIGEST_HEX_LEN; k++)
                if (!((s[k] >= '0' && s[k] <= '9') || (s[k] >= 'a' && s[k] <= 'f')))
                        return false;
        return s[DIGEST_HEX_LEN] == '\0';
}

static bool format_is_valid(const char *s)
{
        static const char *const formats[] = {
                "rootfs", "oci-archive", "docker-archive", "qcow2", "raw", "kernel",
        };
        for (size_t k = 0; k < HD_ARRAY_SIZE(formats); k++)
                if (strcmp(s, formats[k]) == 0)
                        return true;
        return false;
}

static bool media_type_is_valid(const char *s)
{
        size_t n = strlen(s);
        if (n == 0 || n > MEDIA_TYPE_MAX)
                return false;
        for (size_t k = 0; k < n; k++)
                if (s[k] <= ' ' || s[k] > '~')
                        return false;
        return true;
}

static int check_layer(const HdImageLayer *l, size_t k, HdError **err)
{
        char field[64];

        snprintf(field, sizeof(field), "layers[%zu].digest", k);
        if (!digest_is_valid(l->digest))
                return hd_error_set_field(err, -EINVAL, field,
                                          "layer digest `%.100s` is not sha256:<64 lowercase hex>",
                                          l->digest ? l->digest : "");
        snprintf(field, sizeof(field), "layers[%zu].diff_id", k);
        if (l->diff_id && !digest_is_valid(l->diff_id))
                return hd_error_set_field(err, -EINVAL, field,
                                          "layer diff_id `%.100s` is not sha256:<64 lowercase hex>",
                                          l->diff_id);
        snprintf(field, sizeof(field), "layers[%zu].media_type", k);
        if (l->media_type && !media_type_is_valid(l->media_type))
                return hd_error_set_field(err, -EINVAL, field,
                                          "layer media type `%.100s` is invalid", l->media_type);
        snprintf(field, sizeof(field), "layers[%zu].size", k);
        if (l->size < 0 || l->unpacked_size < 0)
                return hd_error_set_field(err, -EINVAL, field, "layer `%s` has a negative size",
                                          l->digest);
        return 0;
}

static int check_image(const HdImage *i, HdError **err)
{
        if (!i->name || !image_name_is_valid(i->name))
                return hd_error_set_field(err, -EINVAL, "name",
                                          "image name `%.300s` is invalid: use lowercase "
                                          "[a-z0-9] components joined by '/', with '-', '.' "
                                          "or '_' inside, at most %d characters",
                                          i->name ? i->name : "", IMAGE_NAME_MAX);
        if (!i->tag || !image_tag_is_valid(i->tag))
                return hd_error_set_field(err, -EINVAL, "tag",
                                          "image tag `%.300s` is invalid: use "
                                          "[A-Za-z0-9_][A-Za-z0-9._-]{0,127}",
                                          i->tag ? i->tag : "");
        if (!digest_is_valid(i->digest))
                return hd_error_set_field(err, -EINVAL, "digest",
                                          "image digest `%.100s` is not sha256:<64 lowercase hex>",
                                          i->digest ? i->digest : "");
        if (!hd_kind_to_string(i->kind))
                return hd_error_set_field(err, -EINVAL, "kind", "image kind is invalid");
        if (!i->format || !format_is_valid(i->format))
                return hd_error_set_field(err, -EINVAL, "format",
                                          "image format `%.100s` is not one of rootfs, "
                                          "oci-archive, docker-archive, qcow2, raw, kernel",
                                          i->format ? i->format : "");
        if (i->size < 0)
                return hd_error_set_field(err, -EINVAL, "size", "image size must not be negative");
        if (i->manifest_digest && !digest_is_valid(i->manifest_digest))
                return hd_error_set_field(err, -EINVAL, "manifest_digest",
                                          "manifest digest `%.100s` is not sha256:<64 lowercase "
                                          "hex>",
                                          i->manifest_digest);
        if (i->config_digest && !digest_is_valid(i->config_digest))
                return hd_error_set_field(err, -EINVAL, "config_digest",
                                          "config digest `%.100s` is not sha256:<64 lowercase hex>",
                                          i->config_digest);
        if (i->config_json) {
                json_error_t jerr;
                _cleanup_json_ json_t *j =
                        json_loads(i->config_json, JSON_REJECT_DUPLICATES, &jerr);
                if (!j || !json_is_object(j))
                        return hd_error_set_field(err, -EINVAL, "config",
                                                  "image config is not a json object%s%s",
                                                  j ? "" : ": ", j ? "" : jerr.text);
        }
        if (i->n_layers > 0 && !i->layers)
                return hd_error_set_field(err, -EINVAL, "layers", "image layers are missing");
        for (size_t k = 0; k < i->n_layers; k++) {
                int r = check_layer(&i->layers[k], k, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- reading ---------------------------------------------------------------------- */

static int prepare(sqlite3 *db, const char *sql, sqlite3_stmt **ret, HdError **err)
{
        if (sqlite3_prepare_v2(db, sql, -1, ret, NULL) != SQLITE_OK)
                return hd_store_sqlite_error(err, db, "could not prepare statement");
        return 0;
}

/* Image columns 0..8, then its layer's 9..13 (NULL for an image with none), then the
 * image's manifest and config digests 14..15; rows of one image are adjacent and in
 * layer order. */
#define IMAGE_SELECT                                                                 \
        "SELECT i.id, i.name, i.tag, i.digest, i.kind, i.format, i.size, i.config, " \
        "i.created_at, l.digest, l.diff_id, l.media_type, l.size, l.unpacked_size, " \
        "i.manifest_digest, i.config_digest "                                        \
        "FROM images AS i LEFT JOIN image_layers AS il ON il.image_id = i.id "       \
        "LEFT JOIN layers AS l ON l.digest = il.layer_digest "
#define IMAGE_ORDER " ORDER BY i.name, i.tag, il.position"

static int decode_layer(sqlite3_stmt *st, int col, HdImageLayer *l)
{
        l->size = sqlite3_column_int64(st, col + 3);
        l->unpacked_size = sqlite3_column_int64(st, col + 4);
        if (hd_store_col_strdup(st, col, &l->digest) < 0 ||
            hd_store_col_strdup(st, col + 1, &l->diff_id) < 0 ||
            hd_store_col_strdup(st, col + 2, &l->media_type) < 0)
                return -ENOMEM;
        return 0;
}

static int decode_image(sqlite3_stmt *st, HdImage **ret, HdError **err)
{
        _cleanup_(hd_image_freep) HdImage *i = calloc(1, sizeof(*i));
        if (!i)
                return hd_error_set(err, -ENOMEM, "out of memory");
        i->id = sqlite3_column_int64(st, 0);
        i->size = sqlite3_column_int64(st, 6);
        i->created_at = sqlite3_column_int64(st, 8);
        if (hd_store_col_strdup(st, 1, &i->name) < 0 || hd_store_col_strdup(st, 2, &i->tag) < 0 ||
            hd_store_col_strdup(st, 3, &i->digest) < 0 ||
            hd_store_col_strdup(st, 5, &i->format) < 0 ||
            hd_store_col_strdup(st, 7, &i->config_json) < 0 ||
            hd_store_col_strdup(st, 14, &i->manifest_digest) < 0 ||
            hd_store_col_strdup(st, 15, &i->config_digest) < 0)
                return hd_error_set(err, -ENOMEM, "out of memory");
        i->kind = hd_kind_from_string((const char *)sqlite3_column_text(st, 4));
        if (i->kind == HD_KIND_INVALID)
                return hd_error_set(err, -EIO, "stored kind of image %lld is invalid",
                                    (long long)i->id);
        *ret = TAKE_PTR(i);
        return 0;
}

static int image_add_layer(HdImage *i, sqlite3_stmt *st, HdError **err)
{
        HdImageLayer *nl = realloc(i->layers, (i->n_layers + 1) * sizeof(*nl));
        if (!nl)
                return hd_error_set(err, -ENOMEM, "out of memory");
        i->layers = nl;
        HdImageLayer *l = &i->layers[i->n_layers++];
        memset(l, 0, sizeof(*l));
        if (decode_layer(st, 9, l) < 0)
                return hd_error_set(err, -ENOMEM, "out of memory");
        return 0;
}

/* Steps an IMAGE_SELECT statement already bound to its end, grouping the rows into
 * images. */
static int collect_images(sqlite3_stmt *st, HdImage ***ret, size_t *ret_n, HdError **err)
{
        HdImage **a = NULL;
        size_t n = 0, cap = 0;
        int rc, r = 0;

        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                int64_t id = sqlite3_column_int64(st, 0);
                if (n == 0 || a[n - 1]->id != id) {
                        if (n == cap) {
                                size_t ncap = cap ? cap * 2 : 8;
                                HdImage **na = realloc(a, ncap * sizeof(*na));
                                if (!na) {
                                        r = hd_error_set(err, -ENOMEM, "out of memory");
                                        goto fail;
                                }
                                a = na;
                                cap = ncap;
                        }
                        r = decode_image(st, &a[n], err);
                        if (r < 0)
                                goto fail;
                        n++;
                }
                if (sqlite3_column_type(st, 9) != SQLITE_NULL) {
                        r = image_add_layer(a[n - 1], st, err);
                        if (r < 0)
                                goto fail;
                }
        }
        if (rc != SQLITE_DONE) {
                r = hd_store_sqlite_error(err, sqlite3_db_handle(st), "could not read images");
                goto fail;
        }
        *ret = a;
        *ret_n = n;
        return 0;

fail:
        hd_image_array_free(a, n);
        return r;
}

/* Splits ref into name and tag, or recognizes a digest (*ret_name NULL then). */
static int parse_ref(const char *ref, char **ret_name, char **ret_tag, HdError **err)
{
        if (!ref)
                return hd_error_set(err, -EINVAL, "no image reference given");
        if (strncmp(ref, DIGEST_PREFIX, strlen(DIGEST_PREFIX)) == 0) {
                if (!digest_is_valid(ref))
                        return hd_error_set(err, -EINVAL,
                                            "image digest `%.100s` is not sha256:<64 lowercase "
                                            "hex>",
                                            ref);
                *ret_name = *ret_tag = NULL;
                return 0;
        }

        const char *colon = strchr(ref, ':');
        _cleanup_free_ char *name = colon ? strndup(ref, (size_t)(colon - ref)) : strdup(ref);
        _cleanup_free_ char *tag = strdup(colon ? colon + 1 : "latest");
        if (!name || !tag)
                return hd_error_set(err, -ENOMEM, "out of memory");
        if (!image_name_is_valid(name) || !image_tag_is_valid(tag))
                return hd_error_set(err, -EINVAL,
                                    "`%.300s` is not a valid image reference: use name[:tag] "
                                    "or sha256:<digest>",
                                    ref);
        *ret_name = TAKE_PTR(name);
        *ret_tag = TAKE_PTR(tag);
        return 0;
}

static int image_get_conn(HdStoreConn *c, const char *ref, HdImage **ret, HdError **err)
{
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        _cleanup_free_ char *name = NULL, *tag = NULL;
        HdImage **a = NULL;
        size_t n = 0;
        int r;

        r = parse_ref(ref, &name, &tag, err);
        if (r < 0)
                return r;
        if (name) {
                r = prepare(c->db, IMAGE_SELECT "WHERE i.name = ?1 AND i.tag = ?2" IMAGE_ORDER, &st,
                            err);
                if (r < 0)
                        return r;
                sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 2, tag, -1, SQLITE_STATIC);
        } else {
                /* Several tags may carry the digest: the oldest answers for it. */
                r = prepare(c->db,
                            IMAGE_SELECT "WHERE i.id = (SELECT id FROM images WHERE digest = ?1 "
                                         "ORDER BY created_at, id LIMIT 1)" IMAGE_ORDER,
                            &st, err);
                if (r < 0)
                        return r;
                sqlite3_bind_text(st, 1, ref, -1, SQLITE_STATIC);
        }
        r = collect_images(st, &a, &n, err);
        if (r < 0)
                return hd_error_wrap(err, "could not read image `%s`", ref);
        if (n == 0) {
                free(a);
                return hd_error_set(err, -ENOENT, "image `%s` not found", ref);
        }
        *ret = a[0];
        free(a); /* name, tag and the digest's oldest row each select one image */
        return 0;
}

int hd_store_image_get(HdStore *s, const char *ref, HdImage **ret, HdError **err)
{
        _cleanup_lease_ HdStoreReaderLease l = hd_store_reader_acquire(s);
        return image_get_conn(l.conn, ref, ret, err);
}

int hd_store_tx_image_get(HdStoreTx *tx, const char *ref, HdImage **ret, HdError **err)
{
        return image_get_conn(&tx->store->writer, ref, ret, err);
}

int hd_store_image_list(HdStore *s, HdKind kind, HdImage ***ret, size_t *ret_n, HdError **err)
{
        _cleanup_lease_ HdStoreReaderLease l = hd_store_reader_acquire(s);
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        int r;

        if (kind != HD_KIND_INVALID && !hd_kind_to_string(kind))
                return hd_error_set_field(err, -EINVAL, "kind", "image kind is invalid");
        r = prepare(l.conn->db,
                    kind == HD_KIND_INVALID ? IMAGE_SELECT IMAGE_ORDER
                                            : IMAGE_SELECT "WHERE i.kind = ?1" IMAGE_ORDER,
                    &st, err);
        if (r < 0)
                return r;
        if (kind != HD_KIND_INVALID)
                sqlite3_bind_text(st, 1, hd_kind_to_string(kind), -1, SQLITE_STATIC);
        return collect_images(st, ret, ret_n, err);
}

/* ---- writing ---------------------------------------------------------------------- */

static int insert_layers(sqlite3 *db, const HdImage *i, HdError **err)
{
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *layer = NULL, *link = NULL;
        int r;

        /* A layer already stored (by another image, or earlier in this one) is kept
         * as it is: its digest is its identity. */
        r = prepare(db,
                    "INSERT INTO layers (digest, diff_id, media_type, size, unpacked_size, "
                    "created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (digest) DO NOTHING",
                    &layer, err);
        if (r < 0)
                return r;
        r = prepare(db,
                    "INSERT INTO image_layers (image_id, position, layer_digest) "
                    "VALUES (?1, ?2, ?3)",
                    &link, err);
        if (r < 0)
                return r;

        for (size_t k = 0; k < i->n_layers; k++) {
                const HdImageLayer *l = &i->layers[k];
                int rc = SQLITE_OK;

                sqlite3_reset(layer);
                HD_STORE_BIND(sqlite3_bind_text(layer, 1, l->digest, -1, SQLITE_STATIC));
                HD_STORE_BIND(sqlite3_bind_text(layer, 2, l->diff_id ? l->diff_id : l->digest, -1,
                                                SQLITE_STATIC));
                HD_STORE_BIND(sqlite3_bind_text(layer, 3, l->media_type, -1, SQLITE_STATIC));
                HD_STORE_BIND(sqlite3_bind_int64(layer, 4, l->size));
                HD_STORE_BIND(sqlite3_bind_int64(layer, 5, l->unpacked_size));
                HD_STORE_BIND(sqlite3_bind_int64(layer, 6, i->created_at));
                if (rc != SQLITE_OK || sqlite3_step(layer) != SQLITE_DONE)
                        return hd_store_sqlite_error(err, db, "could not insert layer `%s`",
                                                     l->digest);

                sqlite3_reset(link);
                HD_STORE_BIND(sqlite3_bind_int64(link, 1, i->id));
                HD_STORE_BIND(sqlite3_bind_int64(link, 2, (int64_t)k));
                HD_STORE_BIND(sqlite3_bind_text(link, 3, l->digest, -1, SQLITE_STATIC));
                if (rc != SQLITE_OK || sqlite3_step(link) != SQLITE_DONE)
                        return hd_store_sqlite_error(err, db,
                                                     "could not link layer `%s` to image `%s:%s`",
                                                     l->digest, i->name, i->tag);
        }
        return 0;
}

int hd_store_tx_image_insert(HdStoreTx *tx, HdImage *i, HdError **err)
{
        sqlite3 *db = tx->store->writer.db;
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        int r, rc = SQLITE_OK;

        r = check_image(i, err);
        if (r < 0)
                return r;
        if (i->created_at == 0)
                i->created_at = hd_now_ms();

        r = prepare(db,
                    "INSERT INTO images (name, tag, digest, kind, format, size, config, "
                    "created_at, manifest_digest, config_digest) "
                    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                    &st, err);
        if (r < 0)
                return r;
        HD_STORE_BIND(sqlite3_bind_text(st, 1, i->name, -1, SQLITE_STATIC));
        HD_STORE_BIND(sqlite3_bind_text(st, 2, i->tag, -1, SQLITE_STATIC));
        HD_STORE_BIND(sqlite3_bind_text(st, 3, i->digest, -1, SQLITE_STATIC));
        HD_STORE_BIND(sqlite3_bind_text(st, 4, hd_kind_to_string(i->kind), -1, SQLITE_STATIC));
        HD_STORE_BIND(sqlite3_bind_text(st, 5, i->format, -1, SQLITE_STATIC));
        HD_STORE_BIND(sqlite3_bind_int64(st, 6, i->size));
        HD_STORE_BIND(sqlite3_bind_text(st, 7, i->config_json ? i->config_json : "{}", -1,
                                        SQLITE_STATIC));
        HD_STORE_BIND(sqlite3_bind_int64(st, 8, i->created_at));
        HD_STORE_BIND(i->manifest_digest
                              ? sqlite3_bind_text(st, 9, i->manifest_digest, -1, SQLITE_STATIC)
                              : sqlite3_bind_null(st, 9));
        HD_STORE_BIND(i->config_digest
                              ? sqlite3_bind_text(st, 10, i->config_digest, -1, SQLITE_STATIC)
                              : sqlite3_bind_null(st, 10));
        if (rc != SQLITE_OK)
                return hd_store_sqlite_error(err, db, "could not bind image `%s:%s`", i->name,
                                             i->tag);
        rc = sqlite3_step(st);
        if (hd_store_is_unique_violation(rc))
                return hd_error_set(err, -EEXIST, "image `%s:%s` already exists", i->name, i->tag);
        if (rc != SQLITE_DONE)
                return hd_store_sqlite_error(err, db, "could not insert image `%s:%s`", i->name,
                                             i->tag);
        i->id = sqlite3_last_insert_rowid(db);
        return insert_layers(db, i, err);
}

int hd_store_tx_image_delete(HdStoreTx *tx, int64_t id, HdError **err)
{
        sqlite3 *db = tx->store->writer.db;
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;

        /* Its image_layers rows go with it (ON DELETE CASCADE); the layers stay. */
        int r = prepare(db, "DELETE FROM images WHERE id = ?1", &st, err);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, id);
        if (sqlite3_step(st) != SQLITE_DONE)
                return hd_store_sqlite_error(err, db, "could not delete image %lld", (long long)id);
        if (sqlite3_changes(db) == 0)
                return hd_error_set(err, -ENOENT, "image %lld not found", (long long)id);
        return 0;
}

int hd_store_tx_image_users(HdStoreTx *tx, const HdImage *i, int64_t *ret_count, HdError **err)
{
        sqlite3 *db = tx->store->writer.db;
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        _cleanup_free_ char *ref = NULL;
        int r, rc = SQLITE_OK;

        if (!i->name || !i->tag || !i->digest)
                return hd_error_set(err, -EINVAL, "image has no name, tag or digest");
        if (asprintf(&ref, "%s:%s", i->name, i->tag) < 0)
                return hd_error_set(err, -ENOMEM, "out of memory");

        /* CASE, not AND, so json_extract never sees a row that is not JSON. The
         * digest counts only while no other tag carries it. */
        r = prepare(db,
                    "SELECT count(*) FROM ("
                    "  SELECT CASE WHEN json_valid(spec) THEN json_extract(spec, '$.image') END"
                    "    AS image FROM instances"
                    ") WHERE image IN (?1, ?2)"
                    "  OR (image = ?3 AND NOT EXISTS"
                    "      (SELECT 1 FROM images WHERE digest = ?3 AND id != ?4))",
                    &st, err);
        if (r < 0)
                return r;
        HD_STORE_BIND(sqlite3_bind_text(st, 1, ref, -1, SQLITE_STATIC));
        HD_STORE_BIND(strcmp(i->tag, "latest") == 0
                              ? sqlite3_bind_text(st, 2, i->name, -1, SQLITE_STATIC)
                              : sqlite3_bind_null(st, 2));
        HD_STORE_BIND(sqlite3_bind_text(st, 3, i->digest, -1, SQLITE_STATIC));
        HD_STORE_BIND(sqlite3_bind_int64(st, 4, i->id));
        if (rc != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW)
                return hd_store_sqlite_error(err, db, "could not count the users of image `%s`",
                                             ref);
        *ret_count = sqlite3_column_int64(st, 0);
        return 0;
}

/* ---- layers ----------------------------------------------------------------------- */

int hd_store_tx_layers_unreferenced(HdStoreTx *tx, HdImageLayer **ret, size_t *ret_n, HdError **err)
{
        sqlite3 *db = tx->store->writer.db;
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        HdImageLayer *a = NULL;
        size_t n = 0, cap = 0;
        int r, rc;

        r = prepare(db,
                    "SELECT digest, diff_id, media_type, size, unpacked_size FROM layers AS l "
                    "WHERE NOT EXISTS (SELECT 1 FROM image_layers AS il "
                    "WHERE il.layer_digest = l.digest) ORDER BY digest",
                    &st, err);
        if (r < 0)
                return r;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                if (n == cap) {
                        size_t ncap = cap ? cap * 2 : 8;
                        HdImageLayer *na = realloc(a, ncap * sizeof(*na));
                        if (!na) {
                                r = hd_error_set(err, -ENOMEM, "out of memory");
                                goto fail;
                        }
                        a = na;
                        cap = ncap;
                }
                memset(&a[n], 0, sizeof(a[n]));
                n++; /* counted first, so a half-decoded layer is freed too */
                if (decode_layer(st, 0, &a[n - 1]) < 0) {
                        r = hd_error_set(err, -ENOMEM, "out of memory");
                        goto fail;
                }
        }
        if (rc != SQLITE_DONE) {
                r = hd_store_sqlite_error(err, db, "could not read unreferenced layers");
                goto fail;
        }
        *ret = a;
        *ret_n = n;
        return 0;

fail:
        hd_image_layers_free(a, n);
        return r;
}

int hd_store_tx_layer_delete(HdStoreTx *tx, const char *digest, HdError **err)
{
        sqlite3 *db = tx->store->writer.db;
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;

        if (!digest_is_valid(digest))
                return hd_error_set_field(err, -EINVAL, "digest",
                                          "layer digest `%.100s` is not sha256:<64 lowercase hex>",
                                          digest ? digest : "");
        int r = prepare(db, "DELETE FROM layers WHERE digest = ?1", &st, err);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, digest, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        /* image_layers references it: foreign keys refuse the delete. */
        if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
                return hd_error_set(err, -EBUSY, "layer `%s` is still used by an image", digest);
        if (rc != SQLITE_DONE)
                return hd_store_sqlite_error(err, db, "could not delete layer `%s`", digest);
        if (sqlite3_changes(db) == 0)
                return hd_error_set(err, -ENOENT, "layer `%s` not found", digest);
        return 0;
}

int hd_store_layer_digests(HdStore *s, char ***ret, size_t *ret_n, HdError **err)
{
        _cleanup_lease_ HdStoreReaderLease l = hd_store_reader_acquire(s);
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        char **a = NULL;
        size_t n = 0, cap = 0;
        int r, rc;

        r = prepare(l.conn->db, "SELECT digest FROM layers ORDER BY digest", &st, err);
        if (r < 0)
                return r;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                if (n == cap) {
                        size_t ncap = cap ? cap * 2 : 16;
                        char **na = realloc(a, ncap * sizeof(*na));
                        if (!na) {
                                r = hd_error_set(err, -ENOMEM, "out of memory");
                                goto fail;
                        }
                        a = na;
                        cap = ncap;
                }
                if (hd_store_col_strdup(st, 0, &a[n]) < 0 || !a[n]) {
                        r = hd_error_set(err, -ENOMEM, "out of memory");
                        goto fail;
                }
                n++;
        }
        if (rc != SQLITE_DONE) {
                r = hd_store_sqlite_error(err, l.conn->db, "could not read layer digests");
                goto fail;
        }
        *ret = a;
        *ret_n = n;
        return 0;

fail:
        for (size_t k = 0; k < n; k++)
                free(a[k]);
        free(a);
        return r;
}
