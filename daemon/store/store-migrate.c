/* Schema migrations: an ordered list of SQL steps, version N being the Nth entry.
 *
 * Each step runs in its own BEGIN IMMEDIATE transaction together with the
 * `PRAGMA user_version = N` that records it, so a crash leaves the database at
 * exactly one version. Steps are only ever appended: a released step never
 * changes, because databases in the field have already run it. */
#include <errno.h>
#include <string.h>

#include "store-internal.h"

typedef struct Migration {
        const char *description;
        const char *sql;
} Migration;

static const Migration migrations[] = {
        /* v1 */
        {
                .description = "initial schema",
                .sql = "CREATE TABLE instances ("
                       "  uuid TEXT PRIMARY KEY NOT NULL,"
                       "  name TEXT UNIQUE NOT NULL,"
                       "  kind TEXT NOT NULL,"
                       "  state TEXT NOT NULL,"
                       "  revision INTEGER NOT NULL,"
                       "  spec TEXT NOT NULL,"                /* canonical JSON from the codec */
                       "  labels TEXT NOT NULL DEFAULT '{}'," /* copy of spec.labels */
                       "  vcpus REAL NOT NULL DEFAULT 0,"
                       "  memory_mb INTEGER NOT NULL DEFAULT 0,"
                       "  exit_code INTEGER,"
                       "  reason TEXT,"
                       "  error TEXT,"
                       "  provisioned INTEGER NOT NULL DEFAULT 0,"
                       "  placement_host TEXT,"
                       "  placement_driver TEXT,"
                       "  placement_reason TEXT,"
                       "  created_at INTEGER NOT NULL,"
                       "  updated_at INTEGER NOT NULL"
                       ");"
                       /* instance_uuid is not a foreign key: operations outlive the
                        * instances they were about (a finished delete, for one). */
                       "CREATE TABLE operations ("
                       "  rowid INTEGER PRIMARY KEY,"
                       "  id TEXT UNIQUE NOT NULL,"
                       "  action TEXT NOT NULL,"
                       "  instance_uuid TEXT,"
                       "  instance_name TEXT,"
                       "  status TEXT NOT NULL,"
                       "  args TEXT,"
                       "  error_code TEXT,"
                       "  error_message TEXT,"
                       "  progress_done INTEGER NOT NULL DEFAULT 0,"
                       "  progress_total INTEGER NOT NULL DEFAULT 0,"
                       "  created_at INTEGER NOT NULL,"
                       "  updated_at INTEGER NOT NULL,"
                       "  finished_at INTEGER"
                       ");"
                       /* AUTOINCREMENT: a seq is never handed out twice, even after
                        * retention has deleted every row. */
                       "CREATE TABLE events ("
                       "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
                       "  time INTEGER NOT NULL,"
                       "  type TEXT NOT NULL,"
                       "  instance_uuid TEXT,"
                       "  instance_name TEXT,"
                       "  operation_id TEXT,"
                       "  data TEXT NOT NULL"
                       ");",
        },
        /* v2 */
        {
                .description = "label index and filter indexes",
                .sql = "CREATE TABLE instance_labels ("
                       "  instance_uuid TEXT NOT NULL"
                       "    REFERENCES instances(uuid) ON DELETE CASCADE,"
                       "  key TEXT NOT NULL,"
                       "  value TEXT NOT NULL,"
                       "  PRIMARY KEY (instance_uuid, key)"
                       ") WITHOUT ROWID;"
                       "CREATE INDEX instance_labels_key_value ON instance_labels(key, value);"
                       "INSERT INTO instance_labels (instance_uuid, key, value)"
                       "  SELECT i.uuid, l.key, l.value"
                       "  FROM instances AS i, json_each(i.labels) AS l"
                       "  WHERE json_valid(i.labels) AND json_type(i.labels) = 'object'"
                       "    AND l.type = 'text';"
                       "CREATE INDEX operations_status ON operations(status);"
                       "CREATE INDEX instances_kind_state ON instances(kind, state);",
        },
        /* v3 */
        {
                .description = "rendered API view of each instance",
                /* Reads outnumber writes by far: each write renders the
                 * instance's API JSON once so a GET or a list page serves it
                 * as stored. Rows written before (view NULL) or by a build whose
                 * output differs (view_format) are rendered again at open. */
                .sql = "ALTER TABLE instances ADD COLUMN view TEXT;"
                       "ALTER TABLE instances ADD COLUMN view_format INTEGER NOT NULL DEFAULT 0;",
        },
        /* v4 */
        {
                .description = "images and their layers",
                /* A layer is stored once however many images use it; whether it
                 * is still used is asked of image_layers, never counted. Image ids
                 * are AUTOINCREMENT so a delete by a stale id cannot hit a newer
                 * image. */
                .sql = "CREATE TABLE images ("
                       "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
                       "  name TEXT NOT NULL,"
                       "  tag TEXT NOT NULL,"
                       "  digest TEXT NOT NULL,"
                       "  kind TEXT NOT NULL,"
                       "  format TEXT NOT NULL,"
                       "  size INTEGER NOT NULL DEFAULT 0,"
                       "  config TEXT NOT NULL DEFAULT '{}',"
                       "  created_at INTEGER NOT NULL,"
                       "  UNIQUE (name, tag)"
                       ");"
                       "CREATE INDEX images_digest ON images(digest);"
                       "CREATE TABLE layers ("
                       "  digest TEXT PRIMARY KEY NOT NULL,"
                       "  diff_id TEXT NOT NULL,"
                       "  media_type TEXT,"
                       "  size INTEGER NOT NULL DEFAULT 0,"
                       "  unpacked_size INTEGER NOT NULL DEFAULT 0,"
                       "  created_at INTEGER NOT NULL"
                       ") WITHOUT ROWID;"
                       "CREATE TABLE image_layers ("
                       "  image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,"
                       "  position INTEGER NOT NULL,"
                       "  layer_digest TEXT NOT NULL REFERENCES layers(digest),"
                       "  PRIMARY KEY (image_id, position)"
                       ") WITHOUT ROWID;"
                       "CREATE INDEX image_layers_layer ON image_layers(layer_digest);",
        },
        /* v5 */
        {
                .description = "image manifest and config blobs",
                /* NULL for VM images and for images imported before v5. */
                .sql = "ALTER TABLE images ADD COLUMN manifest_digest TEXT;"
                       "ALTER TABLE images ADD COLUMN config_digest TEXT;",
        },
        /* v6 */
        {
                .description = "when each instance became ready",
                /* ms since the epoch; NULL while the instance has not said it is
                 * ready since it last started. */
                .sql = "ALTER TABLE instances ADD COLUMN ready_at INTEGER;",
        },
        /* v7 */
        {
                .description = "networks, IPAM and port forwards",
                /* An address or a forward is a row with a key, so the database itself
                 * refuses to hand one out twice; both go with their instance (ON DELETE
                 * CASCADE) in the transaction that deletes it, and a network cannot go
                 * while an address names it. Addresses are host-order integers so the
                 * lowest free one is found in order. */
                .sql = "CREATE TABLE networks ("
                       "  name TEXT PRIMARY KEY NOT NULL,"
                       "  subnet TEXT NOT NULL UNIQUE,"
                       "  gateway TEXT NOT NULL,"
                       "  mtu INTEGER NOT NULL,"
                       "  nat INTEGER NOT NULL,"
                       "  created_at INTEGER NOT NULL"
                       ") WITHOUT ROWID;"
                       "CREATE TABLE addresses ("
                       "  network TEXT NOT NULL REFERENCES networks(name),"
                       "  address INTEGER NOT NULL,"
                       "  instance_uuid TEXT NOT NULL"
                       "    REFERENCES instances(uuid) ON DELETE CASCADE,"
                       "  mac TEXT NOT NULL UNIQUE,"
                       "  PRIMARY KEY (network, address),"
                       "  UNIQUE (network, instance_uuid)"
                       ") WITHOUT ROWID;"
                       "CREATE INDEX addresses_instance ON addresses(instance_uuid);"
                       "CREATE TABLE port_forwards ("
                       "  protocol TEXT NOT NULL,"
                       "  host_port INTEGER NOT NULL,"
                       "  instance_uuid TEXT NOT NULL"
                       "    REFERENCES instances(uuid) ON DELETE CASCADE,"
                       "  port INTEGER NOT NULL,"
                       "  PRIMARY KEY (protocol, host_port)"
                       ") WITHOUT ROWID;"
                       "CREATE INDEX port_forwards_instance ON port_forwards(instance_uuid);",
        },
        /* v8 */
        {
                .description = "benchmark runs and their results",
                /* The result is the API's JSON, written whole at each step of a run;
                 * status and times are columns for the list and for reconciliation. */
                .sql = "CREATE TABLE benchmarks ("
                       "  id TEXT PRIMARY KEY NOT NULL,"
                       "  status TEXT NOT NULL,"
                       "  created_at INTEGER NOT NULL,"
                       "  finished_at INTEGER,"
                       "  result TEXT NOT NULL"
                       ") WITHOUT ROWID;"
                       "CREATE INDEX benchmarks_created ON benchmarks(created_at);",
        },
};

int hd_store_schema_latest(void)
{
        return (int)HD_ARRAY_SIZE(migrations);
}

static int read_user_version(sqlite3 *db, int *ret, HdError **err)
{
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;

        if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK ||
            sqlite3_step(st) != SQLITE_ROW)
                return hd_store_sqlite_error(err, db, "could not read the schema version");
        *ret = sqlite3_column_int(st, 0);
        return 0;
}

static int refuse_newer(int version, HdError **err)
{
        return hd_error_set(err, -EPROTO,
                            "database schema version %d is newer than this hostd (%d)", version,
                            hd_store_schema_latest());
}

static int apply_step(sqlite3 *db, int version, HdError **err)
{
        const Migration *m = &migrations[version - 1];
        char pragma[64];
        int current, r;

        r = hd_store_exec(db, "BEGIN IMMEDIATE", err);
        if (r < 0)
                return r;

        /* Another process may have migrated between our first look and the lock. */
        r = read_user_version(db, &current, err);
        if (r < 0)
                goto rollback;
        if (current > hd_store_schema_latest()) {
                r = refuse_newer(current, err);
                goto rollback;
        }
        if (current >= version)
                return hd_store_exec(db, "COMMIT", err);

        snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", version);
        r = hd_store_exec(db, m->sql, err);
        if (r >= 0)
                r = hd_store_exec(db, pragma, err);
        if (r >= 0)
                r = hd_store_exec(db, "COMMIT", err);
        if (r >= 0)
                return 0;
        hd_error_wrap(err, "migration to schema version %d (%s) failed", version, m->description);

rollback:
        if (!sqlite3_get_autocommit(db))
                (void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return r;
}

int hd_store_migrate(sqlite3 *db, int target_version, int *ret_version, HdError **err)
{
        int latest = hd_store_schema_latest();
        int current, r;

        if (target_version < 1 || target_version > latest)
                return hd_error_set(err, -EINVAL, "schema version %d is out of range 1..%d",
                                    target_version, latest);

        r = read_user_version(db, &current, err);
        if (r < 0)
                return r;
        if (current > latest)
                return refuse_newer(current, err);

        for (int v = current + 1; v <= target_version; v++) {
                r = apply_step(db, v, err);
                if (r < 0)
                        return r;
        }

        r = read_user_version(db, &current, err);
        if (r < 0)
                return r;
        *ret_version = current;
        return 0;
}
