/* The view cache: every instance's rendered API JSON in memory, by name, so a
 * GET answers without a SQLite read transaction. It is write-through: a
 * transaction collects its view changes and they land in the cache only after
 * COMMIT succeeds (a rolled-back write never shows). A read miss fills the cache
 * only if no commit happened since the read began (the generation check), so a
 * slow reader can never put back a row a writer has since changed or deleted. */
#include <errno.h>
#include <string.h>

#include "store-internal.h"

static size_t bucket_of(const char *name)
{
        uint32_t h = 2166136261u;
        for (const char *p = name; *p; p++)
                h = (h ^ (uint8_t)*p) * 16777619u;
        return h % HD_STORE_CACHE_BUCKETS;
}

static void entry_free(HdViewEntry *e)
{
        if (!e)
                return;
        free(e->name);
        free(e->json);
        free(e);
}

void hd_store_cache_init(HdViewCache *c)
{
        memset(c, 0, sizeof(*c));
        pthread_rwlock_init(&c->lock, NULL);
}

void hd_store_cache_destroy(HdViewCache *c)
{
        for (size_t b = 0; b < HD_STORE_CACHE_BUCKETS; b++)
                for (HdViewEntry *e = c->buckets[b]; e;) {
                        HdViewEntry *next = e->next;
                        entry_free(e);
                        e = next;
                }
        pthread_rwlock_destroy(&c->lock);
        memset(c, 0, sizeof(*c));
}

int hd_store_cache_get(HdViewCache *c, const char *name, HdInstanceView **ret)
{
        int r = -ENOENT;
        pthread_rwlock_rdlock(&c->lock);
        for (HdViewEntry *e = c->buckets[bucket_of(name)]; e; e = e->next) {
                if (strcmp(e->name, name) != 0)
                        continue;
                HdInstanceView *v = calloc(1, sizeof(*v));
                if (v) {
                        v->name = strdup(e->name);
                        v->json = strdup(e->json);
                        v->revision = e->revision;
                }
                if (!v || !v->name || !v->json) {
                        hd_instance_view_free(v);
                        r = -ENOMEM;
                } else {
                        *ret = v;
                        r = 0;
                }
                break;
        }
        pthread_rwlock_unlock(&c->lock);
        return r;
}

uint64_t hd_store_cache_generation(HdViewCache *c)
{
        pthread_rwlock_rdlock(&c->lock);
        uint64_t g = c->generation;
        pthread_rwlock_unlock(&c->lock);
        return g;
}

/* Inserts or replaces; the caller holds the write lock. */
static void put_locked(HdViewCache *c, const char *name, const char *uuid, int64_t revision,
                       const char *json)
{
        HdViewEntry **slot = &c->buckets[bucket_of(name)];
        for (HdViewEntry *e = *slot; e; e = e->next)
                if (strcmp(e->name, name) == 0) {
                        char *copy = strdup(json);
                        if (!copy) {
                                /* Better no entry than a stale one. */
                                e->revision = -1;
                                return;
                        }
                        free(e->json);
                        e->json = copy;
                        e->revision = revision;
                        snprintf(e->uuid, sizeof(e->uuid), "%s", uuid);
                        return;
                }
        if (c->n >= HD_STORE_CACHE_MAX)
                return; /* full: the rest is read from SQLite */
        HdViewEntry *e = calloc(1, sizeof(*e));
        if (!e)
                return;
        e->name = strdup(name);
        e->json = strdup(json);
        if (!e->name || !e->json) {
                entry_free(e);
                return;
        }
        e->revision = revision;
        snprintf(e->uuid, sizeof(e->uuid), "%s", uuid);
        e->next = *slot;
        *slot = e;
        c->n++;
}

static void remove_uuid_locked(HdViewCache *c, const char *uuid)
{
        for (size_t b = 0; b < HD_STORE_CACHE_BUCKETS; b++)
                for (HdViewEntry **p = &c->buckets[b]; *p; p = &(*p)->next)
                        if (strcmp((*p)->uuid, uuid) == 0) {
                                HdViewEntry *dead = *p;
                                *p = dead->next;
                                entry_free(dead);
                                c->n--;
                                return;
                        }
}

void hd_store_cache_fill(HdViewCache *c, uint64_t seen_generation, const HdInstanceView *v,
                         const char *uuid)
{
        pthread_rwlock_wrlock(&c->lock);
        if (c->generation == seen_generation)
                put_locked(c, v->name, uuid, v->revision, v->json);
        pthread_rwlock_unlock(&c->lock);
}

int hd_store_tx_note_view(HdStoreTx *tx, const char *name, const char *uuid, int64_t revision,
                          const char *json)
{
        HdViewChange *ch = calloc(1, sizeof(*ch));
        if (!ch)
                return -ENOMEM;
        ch->name = name ? strdup(name) : NULL;
        ch->json = json ? strdup(json) : NULL;
        if ((name && !ch->name) || (json && !ch->json)) {
                hd_store_view_changes_free(ch);
                return -ENOMEM;
        }
        snprintf(ch->uuid, sizeof(ch->uuid), "%s", uuid);
        ch->revision = revision;
        ch->next = tx->changes;
        tx->changes = ch;
        return 0;
}

void hd_store_view_changes_free(HdViewChange *ch)
{
        while (ch) {
                HdViewChange *next = ch->next;
                free(ch->name);
                free(ch->json);
                free(ch);
                ch = next;
        }
}

void hd_store_cache_apply(HdViewCache *c, HdViewChange *changes)
{
        if (!changes)
                return;
        /* The list is newest first: apply it oldest first. */
        HdViewChange *rev = NULL;
        while (changes) {
                HdViewChange *next = changes->next;
                changes->next = rev;
                rev = changes;
                changes = next;
        }
        pthread_rwlock_wrlock(&c->lock);
        /* An instance never changes its name, so a write replaces by name and
         * only a delete needs the search by uuid. */
        for (HdViewChange *ch = rev; ch; ch = ch->next) {
                if (ch->json)
                        put_locked(c, ch->name, ch->uuid, ch->revision, ch->json);
                else
                        remove_uuid_locked(c, ch->uuid);
        }
        c->generation++;
        pthread_rwlock_unlock(&c->lock);
        hd_store_view_changes_free(rev);
}
