/* The inventory: the only module that talks to SQLite.
 *
 * One writer connection, used under a mutex through HdStoreTx, plus a small pool
 * of reader connections (WAL lets them read while a write is in flight). Every
 * state change goes through a transaction: the row and its event are committed
 * together, with synchronous=FULL, before anyone is told about them. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "hd-error.h"
#include "hd-spec.h"

typedef struct HdStore HdStore;
typedef struct HdStoreTx HdStoreTx;

/* The newest schema version this build knows. */
int hd_store_schema_latest(void);

/* Opens (creating if needed) the database at path and applies every pending
 * migration, each in its own transaction. event_retention bounds the events
 * table (oldest rows are dropped in the same transaction that appends). */
int hd_store_open(const char *path, int64_t event_retention, HdStore **ret, HdError **err);

/* For migration tests: opens and migrates only up to target_version. */
int hd_store_open_version(const char *path, int target_version, HdStore **ret, HdError **err);

/* Closes every connection (checkpointing the WAL). NULL is fine. */
void hd_store_close(HdStore *s);
HD_DEFINE_CLEANUP(HdStore *, hd_store_close)

int hd_store_schema_version(HdStore *s, int *ret, HdError **err);
/* Runs PRAGMA integrity_check; 0 when it says "ok", -EIO with its first line otherwise. */
int hd_store_integrity_check(HdStore *s, HdError **err);

/* ---- transactions --------------------------------------------------------- */

/* BEGIN IMMEDIATE on the writer connection; holds the writer mutex until commit
 * or rollback. */
int hd_store_tx_begin(HdStore *s, HdStoreTx **ret, HdError **err);
/* Commits and frees tx (also on failure, after rolling back). */
int hd_store_tx_commit(HdStoreTx *tx, HdError **err);
/* Rolls back and frees; NULL is fine, so it works as a cleanup. */
void hd_store_tx_rollback(HdStoreTx *tx);
HD_DEFINE_CLEANUP(HdStoreTx *, hd_store_tx_rollback)
#define _cleanup_tx_ _cleanup_(hd_store_tx_rollbackp)

/* ---- instances (writes, inside a transaction) ----------------------------- */

/* Inserts a new instance with revision 1. -EEXIST (message names the instance)
 * when the name or uuid is taken. Labels go to the label index too. */
int hd_store_tx_instance_insert(HdStoreTx *tx, const HdInstance *i, HdError **err);

/* Writes every field of i (spec, state, status, placement, provisioned) if the
 * stored revision equals expect_revision, and sets the stored revision to
 * expect_revision + 1 (i->revision is not read). -ENOENT if gone, -ESTALE if the
 * revision differs. */
int hd_store_tx_instance_update(HdStoreTx *tx, const HdInstance *i, int64_t expect_revision,
                                HdError **err);

/* Renders and stores again the view of i (at i->revision) after rows it shows but
 * does not own changed in tx: its addresses, taken after its insert. */
int hd_store_tx_instance_view_refresh(HdStoreTx *tx, const HdInstance *i, HdError **err);

/* Deletes by uuid; -ENOENT if absent. */
int hd_store_tx_instance_delete(HdStoreTx *tx, const char *uuid, HdError **err);

/* Reads inside the transaction (consistent with its writes). */
int hd_store_tx_instance_get(HdStoreTx *tx, const char *name_or_uuid, HdInstance **ret,
                             HdError **err);

/* Sum of resources over every instance in the inventory (any state), for admission. */
int hd_store_tx_allocated(HdStoreTx *tx, double *ret_vcpus, int64_t *ret_memory_mb, HdError **err);

/* ---- operations and events (writes, inside a transaction) ----------------- */

int hd_store_tx_operation_insert(HdStoreTx *tx, const HdOperation *o, HdError **err);
/* Writes status, error, progress, updated_at, finished_at of o->id; -ENOENT if absent. */
int hd_store_tx_operation_update(HdStoreTx *tx, const HdOperation *o, HdError **err);

/* Appends an event; assigns and returns its seq (also stored in e->seq). Drops the
 * oldest events beyond the retention count in the same transaction. */
int hd_store_tx_event_append(HdStoreTx *tx, HdEvent *e, HdError **err);

/* ---- reads (reader connections, no transaction needed) -------------------- */

/* By name, or by uuid when the argument looks like one. -ENOENT if absent. */
int hd_store_instance_get(HdStore *s, const char *name_or_uuid, HdInstance **ret, HdError **err);

typedef struct HdInstanceFilter {
        HdKind kind;        /* HD_KIND_INVALID = any */
        HdState state;      /* HD_STATE_INVALID = any */
        const HdKV *labels; /* every key=value must match */
        size_t n_labels;
        const char *after; /* cursor: names strictly greater than this; NULL = start */
        size_t limit;      /* 1..; the store returns at most limit rows */
} HdInstanceFilter;

/* Lists instances ordered by name. *ret_more is true when rows remain after the
 * last one returned (the caller's next cursor is the last name). */
int hd_store_instance_list(HdStore *s, const HdInstanceFilter *f, HdInstance ***ret, size_t *ret_n,
                           bool *ret_more, HdError **err);

/* An instance's API JSON (what hd_codec_instance_to_json() makes), as stored
 * with its row at every write: the read path of GET and list, with no decoding. */
typedef struct HdInstanceView {
        char *name;
        char *json;
        int64_t revision;
} HdInstanceView;
void hd_instance_view_free(HdInstanceView *v);
void hd_instance_view_array_free(HdInstanceView **a, size_t n);
HD_DEFINE_CLEANUP(HdInstanceView *, hd_instance_view_free)

/* Like hd_store_instance_get(), returning the view. */
int hd_store_instance_get_view(HdStore *s, const char *name_or_uuid, HdInstanceView **ret,
                               HdError **err);
/* Like hd_store_instance_list(), returning views. */
int hd_store_instance_list_views(HdStore *s, const HdInstanceFilter *f, HdInstanceView ***ret,
                                 size_t *ret_n, bool *ret_more, HdError **err);

/* Counts per kind and state, for /v1/host and /metrics. */
int hd_store_instance_counts(HdStore *s, int64_t counts[HD_KIND__COUNT][HD_STATE__COUNT],
                             HdError **err);

/* Sum of allocated resources (same as the tx variant, outside a transaction). */
int hd_store_allocated(HdStore *s, double *ret_vcpus, int64_t *ret_memory_mb, HdError **err);

int hd_store_operation_get(HdStore *s, const char *id, HdOperation **ret, HdError **err);

typedef struct HdOperationFilter {
        HdOpStatus status;         /* HD_OP_INVALID = any */
        const char *instance_uuid; /* NULL = any */
        const char *
                after; /* cursor: created earlier than this id's row (newest first); NULL = start */
        size_t limit;
} HdOperationFilter;

/* Newest first. */
int hd_store_operation_list(HdStore *s, const HdOperationFilter *f, HdOperation ***ret,
                            size_t *ret_n, bool *ret_more, HdError **err);

/* Every operation still pending or running (for reconciliation at start). */
int hd_store_operation_list_unfinished(HdStore *s, HdOperation ***ret, size_t *ret_n,
                                       HdError **err);

/* Events with seq > since, oldest first, at most limit. */
int hd_store_events_since(HdStore *s, int64_t since, size_t limit, HdEvent ***ret, size_t *ret_n,
                          HdError **err);
/* The highest seq ever assigned (0 when none). */
int hd_store_event_last_seq(HdStore *s, int64_t *ret, HdError **err);

/* ---- images and layers (schema v4) ------------------------------------------------ */

/* Inserts the image and its layers, in order. A layer row already present is
 * reused, so shared layers are stored once. Sets i->id, and i->created_at when
 * it was 0. -EINVAL naming the field for an invalid name, tag, digest, kind,
 * format, size or config; -EEXIST when name:tag is taken. */
int hd_store_tx_image_insert(HdStoreTx *tx, HdImage *i, HdError **err);

/* Looks an image up by ref: "name:tag", "name" (= name:latest) or "sha256:<64 hex>"
 * (by digest; the oldest tag when several share it). The image comes with its
 * layers. -EINVAL for a malformed ref, -ENOENT (naming ref) when absent. */
int hd_store_image_get(HdStore *s, const char *ref, HdImage **ret, HdError **err);
int hd_store_tx_image_get(HdStoreTx *tx, const char *ref, HdImage **ret, HdError **err);

/* Every image (of kind, unless kind is HD_KIND_INVALID), with its layers, ordered by
 * name then tag. */
int hd_store_image_list(HdStore *s, HdKind kind, HdImage ***ret, size_t *ret_n, HdError **err);

/* Deletes one tag by id; its layers stay (prune removes them). -ENOENT if absent. */
int hd_store_tx_image_delete(HdStoreTx *tx, int64_t id, HdError **err);

/* How many instances use the tag i names: those whose spec.image is "name:tag", or
 * "name" when the tag is latest, or i's digest — the digest only while i is the
 * last tag carrying it, since an instance naming the digest still finds it
 * through another tag. */
int hd_store_tx_image_users(HdStoreTx *tx, const HdImage *i, int64_t *ret_count, HdError **err);

/* Layers no image references any more (for prune), ordered by digest; free with
 * hd_image_layers_free(). */
int hd_store_tx_layers_unreferenced(HdStoreTx *tx, HdImageLayer **ret, size_t *ret_n,
                                    HdError **err);
/* Deletes a layer row. -ENOENT if absent, -EBUSY while an image still uses it. */
int hd_store_tx_layer_delete(HdStoreTx *tx, const char *digest, HdError **err);

/* Every layer digest known, ordered, so the image store can tell which blobs on
 * disk are orphans of a crash. The caller frees each string and the array. */
int hd_store_layer_digests(HdStore *s, char ***ret, size_t *ret_n, HdError **err);

/* ---- networks, IPAM and port forwards (schema v7) -------------------------------- */

/* Inserts a network. -EEXIST naming the network that holds the name or the subnet. */
int hd_store_tx_network_insert(HdStoreTx *tx, const HdNetwork *n, HdError **err);
/* Deletes one. -ENOENT if absent; -EBUSY (naming how many) while addresses are on it. */
int hd_store_tx_network_delete(HdStoreTx *tx, const char *name, HdError **err);
/* One network with used_by filled. -ENOENT (naming it) if absent. */
int hd_store_network_get(HdStore *s, const char *name, HdNetwork **ret, HdError **err);
int hd_store_tx_network_get(HdStoreTx *tx, const char *name, HdNetwork **ret, HdError **err);
/* Every network ordered by name, used_by filled. */
int hd_store_network_list(HdStore *s, HdNetwork ***ret, size_t *ret_n, HdError **err);
int hd_store_tx_network_list(HdStoreTx *tx, HdNetwork ***ret, size_t *ret_n, HdError **err);

/* Gives instance_uuid (already inserted in tx) an address on network with mac:
 * want when it is non-zero (-EEXIST naming the instance that holds it), else the
 * lowest address in [first, last] that is neither taken nor skip. -ENOSPC when the
 * range is full; -EEXIST (naming the mac) when the mac is taken, so the caller can
 * draw another. */
int hd_store_tx_address_take(HdStoreTx *tx, const char *network, const char *instance_uuid,
                             uint32_t want, uint32_t first, uint32_t last, uint32_t skip,
                             const char *mac, uint32_t *ret, HdError **err);

/* Records a forward of the host's port to instance_uuid (already inserted in tx).
 * -EEXIST naming the instance that forwards that port already. */
int hd_store_tx_forward_insert(HdStoreTx *tx, const char *instance_uuid, const HdPortForward *f,
                               HdError **err);

/* What hostd's firewall and DHCP are rendered from: every address with its instance and
 * network, and every forward with the address it goes to. */
typedef struct HdStoreAddress {
        char instance_uuid[HD_UUID_STRING_MAX];
        char *instance_name;
        char *hostname; /* the spec's hostname, or NULL */
        char *network;
        uint32_t address;
        char mac[HD_MAC_STRING_MAX];
        HdKind kind;
} HdStoreAddress;

typedef struct HdStoreForward {
        char instance_uuid[HD_UUID_STRING_MAX];
        char *network;
        uint32_t address;
        HdPortForward f;
} HdStoreForward;

void hd_store_addresses_free(HdStoreAddress *a, size_t n);
void hd_store_forwards_free(HdStoreForward *f, size_t n);
/* Ordered by network, then address. */
int hd_store_address_list(HdStore *s, HdStoreAddress **ret, size_t *ret_n, HdError **err);
/* Ordered by protocol, then host port. */
int hd_store_forward_list(HdStore *s, HdStoreForward **ret, size_t *ret_n, HdError **err);

/* Decodes the addresses column (HD_STORE_ADDRESSES_SQL's JSON) into an instance's
 * addresses; for the store's decoders. */
int hd_store_decode_addresses(const char *json, HdInstanceAddress **ret, size_t *ret_n);

/* ---- benchmark runs (schema v8) ------------------------------------------------------ */

typedef struct HdStoreBenchmark {
        char id[HD_UUID_STRING_MAX];
        char *status; /* running, success, failure, cancelled */
        int64_t created_at;
        int64_t finished_at; /* 0 while running */
        char *result;        /* the API's JSON text */
} HdStoreBenchmark;
void hd_store_benchmark_free(HdStoreBenchmark *b);
void hd_store_benchmark_array_free(HdStoreBenchmark **a, size_t n);
HD_DEFINE_CLEANUP(HdStoreBenchmark *, hd_store_benchmark_free)

/* Inserts or replaces the run's row (its own transaction). */
int hd_store_benchmark_put(HdStore *s, const HdStoreBenchmark *b, HdError **err);
/* -ENOENT naming it when absent. */
int hd_store_benchmark_get(HdStore *s, const char *id, HdStoreBenchmark **ret, HdError **err);
/* Newest first. */
int hd_store_benchmark_list(HdStore *s, HdStoreBenchmark ***ret, size_t *ret_n, HdError **err);
/* -ENOENT when absent. */
int hd_store_benchmark_delete(HdStore *s, const char *id, HdError **err);
