/* String tables, the sorted string map, string vectors, and the clear/copy/free
 * functions of every API struct. */
#include "hd-spec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- string tables -------------------------------------------------------- */

static const char *const kind_table[HD_KIND__COUNT] = {
        [HD_KIND_CONTAINER] = "container",
        [HD_KIND_VM] = "vm",
};

static const char *const state_table[HD_STATE__COUNT] = {
        [HD_STATE_CREATED] = "created",   [HD_STATE_STARTING] = "starting",
        [HD_STATE_RUNNING] = "running",   [HD_STATE_STOPPING] = "stopping",
        [HD_STATE_STOPPED] = "stopped",   [HD_STATE_PAUSED] = "paused",
        [HD_STATE_EXITED] = "exited",     [HD_STATE_ERROR] = "error",
        [HD_STATE_DELETING] = "deleting",
};

static const char *const restart_table[HD_RESTART__COUNT] = {
        [HD_RESTART_NO] = "no",
        [HD_RESTART_ON_FAILURE] = "on-failure",
        [HD_RESTART_ALWAYS] = "always",
};

static const char *const action_table[HD_ACTION__COUNT] = {
        [HD_ACTION_START] = "start",           [HD_ACTION_STOP] = "stop",
        [HD_ACTION_RESTART] = "restart",       [HD_ACTION_KILL] = "kill",
        [HD_ACTION_PAUSE] = "pause",           [HD_ACTION_RESUME] = "resume",
        [HD_ACTION_DELETE] = "delete",         [HD_ACTION_IMAGE_PULL] = "image_pull",
        [HD_ACTION_IMAGE_PUSH] = "image_push", [HD_ACTION_BENCHMARK] = "benchmark",
};

bool hd_action_is_image(HdAction a)
{
        return a == HD_ACTION_IMAGE_PULL || a == HD_ACTION_IMAGE_PUSH;
}

bool hd_action_is_job(HdAction a)
{
        return hd_action_is_image(a) || a == HD_ACTION_BENCHMARK;
}

static const char *const op_status_table[HD_OP__COUNT] = {
        [HD_OP_PENDING] = "pending", [HD_OP_RUNNING] = "running",     [HD_OP_SUCCESS] = "success",
        [HD_OP_FAILURE] = "failure", [HD_OP_CANCELLED] = "cancelled",
};

static const char *table_to_string(const char *const *table, size_t n, int v)
{
        if (v < 0 || (size_t)v >= n)
                return NULL;
        return table[v];
}

static int table_from_string(const char *const *table, size_t n, const char *s)
{
        if (!s)
                return -1;
        for (size_t i = 0; i < n; i++)
                if (table[i] && strcmp(table[i], s) == 0)
                        return (int)i;
        return -1;
}

#define DEFINE_STRING_TABLE(name, type, table, invalid)                      \
        const char *name##_to_string(type v)                                 \
        {                                                                    \
                return table_to_string(table, HD_ARRAY_SIZE(table), (int)v); \
        }                                                                    \
        type name##_from_string(const char *s)                               \
        {                                                                    \
                int r = table_from_string(table, HD_ARRAY_SIZE(table), s);   \
                return r < 0 ? invalid : (type)r;                            \
        }

DEFINE_STRING_TABLE(hd_kind, HdKind, kind_table, HD_KIND_INVALID)
DEFINE_STRING_TABLE(hd_state, HdState, state_table, HD_STATE_INVALID)
DEFINE_STRING_TABLE(hd_restart_policy, HdRestartPolicy, restart_table, HD_RESTART_INVALID)
DEFINE_STRING_TABLE(hd_action, HdAction, action_table, HD_ACTION_INVALID)
DEFINE_STRING_TABLE(hd_op_status, HdOpStatus, op_status_table, HD_OP_INVALID)

static const char *const proto_table[HD_PROTO__COUNT] = {
        [HD_PROTO_TCP] = "tcp",
        [HD_PROTO_UDP] = "udp",
};
DEFINE_STRING_TABLE(hd_proto, HdProto, proto_table, HD_PROTO_INVALID)

/* ---- HdKVList ------------------------------------------------------------- */

void hd_kvlist_clear(HdKVList *l)
{
        if (!l)
                return;
        for (size_t i = 0; i < l->n; i++) {
                free(l->items[i].key);
                free(l->items[i].value);
        }
        free(l->items);
        l->items = NULL;
        l->n = 0;
}

/* Binary search: the index of key, or where it would be inserted (*found false). */
static size_t kvlist_find(const HdKVList *l, const char *key, bool *found)
{
        size_t lo = 0, hi = l->n;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = strcmp(l->items[mid].key, key);
                if (c == 0) {
                        *found = true;
                        return mid;
                }
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        *found = false;
        return lo;
}

int hd_kvlist_set(HdKVList *l, const char *key, const char *value)
{
        if (!l || !key || !value)
                return -EINVAL;

        _cleanup_free_ char *v = strdup(value);
        if (!v)
                return -ENOMEM;

        bool found;
        size_t at = kvlist_find(l, key, &found);
        if (found) {
                free(l->items[at].value);
                l->items[at].value = TAKE_PTR(v);
                return 0;
        }

        _cleanup_free_ char *k = strdup(key);
        if (!k)
                return -ENOMEM;
        HdKV *items = realloc(l->items, (l->n + 1) * sizeof(*items));
        if (!items)
                return -ENOMEM;
        l->items = items;
        memmove(&items[at + 1], &items[at], (l->n - at) * sizeof(*items));
        items[at] = (HdKV){ .key = TAKE_PTR(k), .value = TAKE_PTR(v) };
        l->n++;
        return 0;
}

int hd_kvlist_remove(HdKVList *l, const char *key)
{
        if (!l || !key)
                return 0;
        bool found;
        size_t at = kvlist_find(l, key, &found);
        if (!found)
                return 0;
        free(l->items[at].key);
        free(l->items[at].value);
        memmove(&l->items[at], &l->items[at + 1], (l->n - at - 1) * sizeof(*l->items));
        l->n--;
        if (l->n == 0) {
                free(l->items);
                l->items = NULL;
        }
        return 1;
}

const char *hd_kvlist_get(const HdKVList *l, const char *key)
{
        if (!l || !key)
                return NULL;
        bool found;
        size_t at = kvlist_find(l, key, &found);
        return found ? l->items[at].value : NULL;
}

/* dst is overwritten (not cleared first); on failure it is left empty. */
int hd_kvlist_copy(HdKVList *dst, const HdKVList *src)
{
        *dst = (HdKVList){ 0 };
        if (!src || src->n == 0)
                return 0;

        HdKVList t = { .items = calloc(src->n, sizeof(HdKV)) };
        if (!t.items)
                return -ENOMEM;
        for (size_t i = 0; i < src->n; i++) {
                t.items[i].key = strdup(src->items[i].key);
                t.items[i].value = strdup(src->items[i].value);
                t.n++;
                if (!t.items[i].key || !t.items[i].value) {
                        hd_kvlist_clear(&t);
                        return -ENOMEM;
                }
        }
        *dst = t;
        return 0;
}

/* ---- HdStrv --------------------------------------------------------------- */

void hd_strv_clear(HdStrv *v)
{
        if (!v)
                return;
        for (size_t i = 0; i < v->n; i++)
                free(v->items[i]);
        free(v->items);
        v->items = NULL;
        v->n = 0;
}

int hd_strv_push(HdStrv *v, const char *s)
{
        if (!v || !s)
                return -EINVAL;
        _cleanup_free_ char *copy = strdup(s);
        if (!copy)
                return -ENOMEM;
        char **items = realloc(v->items, (v->n + 1) * sizeof(*items));
        if (!items)
                return -ENOMEM;
        v->items = items;
        items[v->n++] = TAKE_PTR(copy);
        return 0;
}

/* dst is overwritten (not cleared first); on failure it is left empty. */
int hd_strv_copy(HdStrv *dst, const HdStrv *src)
{
        *dst = (HdStrv){ 0 };
        if (!src || src->n == 0)
                return 0;

        HdStrv t = { .items = calloc(src->n, sizeof(char *)) };
        if (!t.items)
                return -ENOMEM;
        for (size_t i = 0; i < src->n; i++) {
                t.items[i] = strdup(src->items[i]);
                t.n++;
                if (!t.items[i]) {
                        hd_strv_clear(&t);
                        return -ENOMEM;
                }
        }
        *dst = t;
        return 0;
}

/* ---- instance spec and instance ------------------------------------------- */

/* strdup that keeps NULL as NULL; false only when an allocation failed. */
static bool dup_opt(char **dst, const char *src)
{
        *dst = src ? strdup(src) : NULL;
        return !src || *dst;
}

void hd_instance_spec_clear(HdInstanceSpec *s)
{
        if (!s)
                return;
        free(s->name);
        free(s->image);
        hd_strv_clear(&s->command);
        hd_kvlist_clear(&s->env);
        free(s->workdir);
        free(s->user);
        free(s->hostname);
        free(s->network);
        free(s->ip);
        free(s->ports);
        hd_kvlist_clear(&s->labels);
        free(s->cloud_init.user_data);
        hd_strv_clear(&s->cloud_init.ssh_authorized_keys);
        hd_strv_clear(&s->security.cap_add);
        hd_strv_clear(&s->security.cap_drop);
        free(s->security.seccomp);
        free(s->resources.cpuset);
        *s = (HdInstanceSpec){ 0 };
}

/* dst is overwritten (not cleared first); on failure it is left empty. */
int hd_instance_spec_copy(HdInstanceSpec *dst, const HdInstanceSpec *src)
{
        HdInstanceSpec t = *src;
        t.name = t.image = t.workdir = t.user = t.hostname = t.network = t.ip = NULL;
        t.ports = NULL;
        t.resources.cpuset = NULL;
        t.command = (HdStrv){ 0 };
        t.env = t.labels = (HdKVList){ 0 };
        t.cloud_init = (HdCloudInit){ 0 };
        t.security = (HdSecurity){ .privileged = src->security.privileged,
                                   .userns = src->security.userns };

        if (!dup_opt(&t.name, src->name) || !dup_opt(&t.image, src->image) ||
            !dup_opt(&t.workdir, src->workdir) || !dup_opt(&t.user, src->user) ||
            !dup_opt(&t.hostname, src->hostname) || !dup_opt(&t.network, src->network) ||
            hd_strv_copy(&t.command, &src->command) < 0 || hd_kvlist_copy(&t.env, &src->env) < 0 ||
            hd_kvlist_copy(&t.labels, &src->labels) < 0 ||
            !dup_opt(&t.cloud_init.user_data, src->cloud_init.user_data) ||
            hd_strv_copy(&t.cloud_init.ssh_authorized_keys, &src->cloud_init.ssh_authorized_keys) <
                    0 ||
            hd_strv_copy(&t.security.cap_add, &src->security.cap_add) < 0 ||
            hd_strv_copy(&t.security.cap_drop, &src->security.cap_drop) < 0 ||
            !dup_opt(&t.security.seccomp, src->security.seccomp) || !dup_opt(&t.ip, src->ip) ||
            !dup_opt(&t.resources.cpuset, src->resources.cpuset) ||
            (src->n_ports &&
             !(t.ports = hd_memdup(src->ports, src->n_ports * sizeof(*src->ports))))) {
                hd_instance_spec_clear(&t);
                *dst = (HdInstanceSpec){ 0 };
                return -ENOMEM;
        }
        *dst = t;
        return 0;
}

void hd_placement_clear(HdPlacement *p)
{
        if (!p)
                return;
        free(p->host);
        free(p->driver);
        free(p->reason);
        *p = (HdPlacement){ 0 };
}

void hd_instance_clear(HdInstance *i)
{
        if (!i)
                return;
        hd_instance_spec_clear(&i->spec);
        free(i->reason);
        free(i->error);
        hd_placement_clear(&i->placement);
        hd_instance_addresses_free(i->addresses, i->n_addresses);
        *i = (HdInstance){ 0 };
}

void hd_instance_free(HdInstance *i)
{
        if (!i)
                return;
        hd_instance_clear(i);
        free(i);
}

/* dst is overwritten (not cleared first); on failure it is left empty. */
int hd_instance_copy(HdInstance *dst, const HdInstance *src)
{
        HdInstance t = *src;
        t.spec = (HdInstanceSpec){ 0 };
        t.reason = t.error = NULL;
        t.placement = (HdPlacement){ 0 };
        t.addresses = NULL;
        t.n_addresses = 0;

        if (hd_instance_spec_copy(&t.spec, &src->spec) < 0 || !dup_opt(&t.reason, src->reason) ||
            hd_instance_addresses_copy(&t.addresses, &t.n_addresses, src->addresses,
                                       src->n_addresses) < 0 ||
            !dup_opt(&t.error, src->error) || !dup_opt(&t.placement.host, src->placement.host) ||
            !dup_opt(&t.placement.driver, src->placement.driver) ||
            !dup_opt(&t.placement.reason, src->placement.reason)) {
                hd_instance_clear(&t);
                *dst = (HdInstance){ 0 };
                return -ENOMEM;
        }
        *dst = t;
        return 0;
}

/* ---- networks ----------------------------------------------------------------- */

void hd_instance_address_clear(HdInstanceAddress *a)
{
        if (!a)
                return;
        free(a->network);
        free(a->bridge);
        *a = (HdInstanceAddress){ 0 };
}

void hd_instance_addresses_free(HdInstanceAddress *a, size_t n)
{
        for (size_t i = 0; a && i < n; i++)
                hd_instance_address_clear(&a[i]);
        free(a);
}

int hd_instance_addresses_copy(HdInstanceAddress **dst, size_t *dst_n, const HdInstanceAddress *src,
                               size_t n)
{
        *dst = NULL;
        *dst_n = 0;
        if (n == 0)
                return 0;
        HdInstanceAddress *t = calloc(n, sizeof(*t));
        if (!t)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                t[i] = src[i];
                t[i].network = t[i].bridge = NULL;
                if (!dup_opt(&t[i].network, src[i].network) ||
                    !dup_opt(&t[i].bridge, src[i].bridge)) {
                        hd_instance_addresses_free(t, i + 1);
                        return -ENOMEM;
                }
        }
        *dst = t;
        *dst_n = n;
        return 0;
}

void hd_network_clear(HdNetwork *n)
{
        if (!n)
                return;
        free(n->name);
        free(n->subnet);
        free(n->gateway);
        *n = (HdNetwork){ 0 };
}

void hd_network_free(HdNetwork *n)
{
        if (!n)
                return;
        hd_network_clear(n);
        free(n);
}

/* dst is overwritten (not cleared first); on failure it is left empty. */
int hd_network_copy(HdNetwork *dst, const HdNetwork *src)
{
        HdNetwork t = *src;
        t.name = t.subnet = t.gateway = NULL;
        if (!dup_opt(&t.name, src->name) || !dup_opt(&t.subnet, src->subnet) ||
            !dup_opt(&t.gateway, src->gateway)) {
                hd_network_clear(&t);
                *dst = (HdNetwork){ 0 };
                return -ENOMEM;
        }
        *dst = t;
        return 0;
}

void hd_network_array_free(HdNetwork **a, size_t n)
{
        for (size_t i = 0; a && i < n; i++)
                hd_network_free(a[i]);
        free(a);
}

/* ---- operations and events ------------------------------------------------ */

void hd_operation_clear(HdOperation *o)
{
        if (!o)
                return;
        free(o->instance_name);
        free(o->args_json);
        free(o->error_code);
        free(o->error_message);
        *o = (HdOperation){ 0 };
}

void hd_operation_free(HdOperation *o)
{
        if (!o)
                return;
        hd_operation_clear(o);
        free(o);
}

void hd_event_clear(HdEvent *e)
{
        if (!e)
                return;
        free(e->type);
        free(e->instance_name);
        free(e->data_json);
        *e = (HdEvent){ 0 };
}

void hd_event_free(HdEvent *e)
{
        if (!e)
                return;
        hd_event_clear(e);
        free(e);
}

void hd_instance_array_free(HdInstance **a, size_t n)
{
        if (!a)
                return;
        for (size_t i = 0; i < n; i++)
                hd_instance_free(a[i]);
        free(a);
}

void hd_operation_array_free(HdOperation **a, size_t n)
{
        if (!a)
                return;
        for (size_t i = 0; i < n; i++)
                hd_operation_free(a[i]);
        free(a);
}

void hd_event_array_free(HdEvent **a, size_t n)
{
        if (!a)
                return;
        for (size_t i = 0; i < n; i++)
                hd_event_free(a[i]);
        free(a);
}

/* ---- images ---- */

void hd_image_layers_free(HdImageLayer *a, size_t n)
{
        for (size_t k = 0; a && k < n; k++) {
                free(a[k].digest);
                free(a[k].diff_id);
                free(a[k].media_type);
        }
        free(a);
}

void hd_image_free(HdImage *i)
{
        if (!i)
                return;
        free(i->name);
        free(i->tag);
        free(i->digest);
        free(i->format);
        free(i->config_json);
        free(i->manifest_digest);
        free(i->config_digest);
        hd_image_layers_free(i->layers, i->n_layers);
        free(i);
}

void hd_image_array_free(HdImage **a, size_t n)
{
        for (size_t k = 0; a && k < n; k++)
                hd_image_free(a[k]);
        free(a);
}

void hd_exec_request_clear(HdExecRequest *r)
{
        if (!r)
                return;
        hd_strv_clear(&r->command);
        hd_kvlist_clear(&r->env);
        free(r->workdir);
        free(r->user);
        free(r->stdin_data);
        *r = (HdExecRequest){ 0 };
}

void hd_exec_result_clear(HdExecResult *r)
{
        if (!r)
                return;
        free(r->out);
        free(r->err);
        *r = (HdExecResult){ 0 };
}
