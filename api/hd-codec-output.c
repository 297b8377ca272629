/* The codec's output half: structs → the API's JSON (specs, instances,
 * operations, events, errors). */
#include "hd-codec.h"

#include <string.h>

#include "hd-codec-internal.h"
#include "hd-util.h"

/* ---- small helpers -------------------------------------------------------- */

/* A JSON string for output. Text that is not valid UTF-8 (a driver's error
 * message, say) is kept with its non-ASCII bytes replaced by '?'. NULL → NULL. */
static json_t *jstr(const char *s)
{
        if (!s)
                return NULL;
        json_t *j = json_string(s);
        if (j)
                return j;
        _cleanup_free_ char *copy = strdup(s);
        if (!copy)
                return NULL;
        for (char *p = copy; *p; p++)
                if ((unsigned char)*p >= 0x80)
                        *p = '?';
        return json_string(copy);
}

static json_t *jstr_or_null(const char *s)
{
        return s ? jstr(s) : json_null();
}

static json_t *jtime(int64_t ms)
{
        char buf[32];
        hd_time_format(ms, buf);
        return json_string(buf);
}

bool hd_codec_add(json_t *o, const char *key, json_t *v)
{
        if (!o || !v) {
                json_decref(v);
                return false;
        }
        return json_object_set_new(o, key, v) == 0;
}

/* ---- instance specs and instances ----------------------------------------- */

static json_t *kvlist_to_json(const HdKVList *l)
{
        _cleanup_json_ json_t *o = json_object();
        for (size_t i = 0; o && i < l->n; i++)
                if (!hd_codec_add(o, l->items[i].key, jstr(l->items[i].value)))
                        return NULL;
        return TAKE_PTR(o);
}

static json_t *strv_to_json(const HdStrv *v)
{
        _cleanup_json_ json_t *a = json_array();
        for (size_t i = 0; a && i < v->n; i++)
                if (json_array_append_new(a, jstr(v->items[i])) < 0)
                        return NULL;
        return TAKE_PTR(a);
}

/* VMs: {"user_data": text or null, "ssh_authorized_keys": [...]}. */
static json_t *cloud_init_to_json(const HdCloudInit *ci)
{
        _cleanup_json_ json_t *o = json_object();
        if (!hd_codec_add(o, "user_data", jstr_or_null(ci->user_data)) ||
            !hd_codec_add(o, "ssh_authorized_keys", strv_to_json(&ci->ssh_authorized_keys)))
                return NULL;
        return TAKE_PTR(o);
}

/* Containers: all five members, seccomp "default" when none was asked for. */
static json_t *security_to_json(const HdSecurity *sec)
{
        _cleanup_json_ json_t *o = json_object();
        if (!hd_codec_add(o, "privileged", json_boolean(sec->privileged)) ||
            !hd_codec_add(o, "cap_add", strv_to_json(&sec->cap_add)) ||
            !hd_codec_add(o, "cap_drop", strv_to_json(&sec->cap_drop)) ||
            !hd_codec_add(o, "seccomp", jstr(sec->seccomp ? sec->seccomp : "default")) ||
            !hd_codec_add(o, "userns", json_boolean(sec->userns)))
                return NULL;
        return TAKE_PTR(o);
}

/* [{"host_port", "port", "protocol"}, …], protocol always written. */
static json_t *ports_to_json(const HdPortForward *p, size_t n)
{
        _cleanup_json_ json_t *a = json_array();
        for (size_t i = 0; a && i < n; i++) {
                _cleanup_json_ json_t *e = json_object();
                if (!hd_codec_add(e, "host_port", json_integer(p[i].host_port)) ||
                    !hd_codec_add(e, "port", json_integer(p[i].port)) ||
                    !hd_codec_add(e, "protocol", jstr(hd_proto_to_string(p[i].protocol))) ||
                    json_array_append(a, e) < 0)
                        return NULL;
        }
        return TAKE_PTR(a);
}

/* Appends the canonical spec fields to o; false on failure. default_network stands
 * in for a NULL network (NULL: leave it out). */
static bool spec_fields_to_json(json_t *o, const HdInstanceSpec *s, const char *default_network)
{
        bool ct = s->kind == HD_KIND_CONTAINER;
        const char *network = s->network ? s->network : default_network;
        bool ok = hd_codec_add(o, "name", jstr(s->name)) &&
                  hd_codec_add(o, "kind", jstr(hd_kind_to_string(s->kind))) &&
                  hd_codec_add(o, "image", jstr(s->image));
        if (ok && ct)
                ok = hd_codec_add(o, "command", strv_to_json(&s->command)) &&
                     hd_codec_add(o, "env", kvlist_to_json(&s->env)) &&
                     (!s->workdir || hd_codec_add(o, "workdir", jstr(s->workdir))) &&
                     (!s->user || hd_codec_add(o, "user", jstr(s->user)));
        ok = ok && (!network || hd_codec_add(o, "network", jstr(network))) &&
             (!s->ip || hd_codec_add(o, "ip", jstr(s->ip))) &&
             hd_codec_add(o, "ports", ports_to_json(s->ports, s->n_ports)) &&
             hd_codec_add(o, "hostname", jstr(s->hostname ? s->hostname : s->name)) &&
             hd_codec_add(o, "labels", kvlist_to_json(&s->labels));
        if (!ok)
                return false;

        _cleanup_json_ json_t *res = json_object();
        ok = hd_codec_add(res, "vcpus", json_real(s->resources.vcpus)) &&
             hd_codec_add(res, "memory_mb", json_integer(s->resources.memory_mb)) &&
             (!ct || hd_codec_add(res, "pids_max", json_integer(s->resources.pids_max))) &&
             (ct || s->resources.disk_gb == 0 ||
              hd_codec_add(res, "disk_gb", json_integer(s->resources.disk_gb))) &&
             (!s->resources.cpuset || hd_codec_add(res, "cpuset", jstr(s->resources.cpuset)));
        if (!ok || !hd_codec_add(o, "resources", TAKE_PTR(res)))
                return false;

        _cleanup_json_ json_t *rp = json_object();
        ok = hd_codec_add(rp, "name", jstr(hd_restart_policy_to_string(s->restart_policy))) &&
             hd_codec_add(rp, "max_retries", json_integer(s->restart_max_retries));
        return ok && hd_codec_add(o, "restart_policy", TAKE_PTR(rp)) &&
               hd_codec_add(o, "autostart", json_boolean(s->autostart)) &&
               (ct ? hd_codec_add(o, "security", security_to_json(&s->security))
                   : hd_codec_add(o, "cloud_init", cloud_init_to_json(&s->cloud_init)));
}

json_t *hd_codec_instance_spec_to_json(const HdInstanceSpec *s)
{
        _cleanup_json_ json_t *o = json_object();
        /* A NULL network stays NULL through the store: it means "the default". */
        if (!s || !spec_fields_to_json(o, s, NULL))
                return NULL;
        return TAKE_PTR(o);
}

static json_t *address_to_json(const HdInstanceAddress *a)
{
        _cleanup_json_ json_t *o = json_object();
        if (!hd_codec_add(o, "network", jstr_or_null(a->network)) ||
            !hd_codec_add(o, "bridge", jstr_or_null(a->bridge)) ||
            !hd_codec_add(o, "address", jstr(a->address)) ||
            !hd_codec_add(o, "prefix_len", json_integer(a->prefix_len)) ||
            !hd_codec_add(o, "gateway", a->gateway[0] ? jstr(a->gateway) : json_null()) ||
            !hd_codec_add(o, "mac", jstr(a->mac)) || !hd_codec_add(o, "mtu", json_integer(a->mtu)))
                return NULL;
        return TAKE_PTR(o);
}

static json_t *addresses_to_json(const HdInstanceAddress *a, size_t n)
{
        _cleanup_json_ json_t *arr = json_array();
        for (size_t i = 0; arr && i < n; i++)
                if (json_array_append_new(arr, address_to_json(&a[i])) < 0)
                        return NULL;
        return TAKE_PTR(arr);
}

json_t *hd_codec_instance_to_json(const HdInstance *i)
{
        _cleanup_json_ json_t *o = json_object();
        /* Rows stored before networks existed have no network: they have none. */
        if (!i || !spec_fields_to_json(o, &i->spec, "none"))
                return NULL;

        _cleanup_json_ json_t *pl = json_object();
        bool ok = hd_codec_add(pl, "host", jstr_or_null(i->placement.host)) &&
                  hd_codec_add(pl, "driver", jstr_or_null(i->placement.driver)) &&
                  hd_codec_add(pl, "reason", jstr_or_null(i->placement.reason));

        ok = ok && hd_codec_add(o, "uuid", jstr(i->uuid)) &&
             hd_codec_add(o, "state", jstr(hd_state_to_string(i->state))) &&
             hd_codec_add(o, "exit_code",
                          i->has_exit_code ? json_integer(i->exit_code) : json_null()) &&
             hd_codec_add(o, "reason", jstr_or_null(i->reason)) &&
             hd_codec_add(o, "error", jstr_or_null(i->error)) &&
             hd_codec_add(o, "placement", TAKE_PTR(pl)) &&
             hd_codec_add(o, "revision", json_integer(i->revision)) &&
             hd_codec_add(o, "created_at", jtime(i->created_at)) &&
             hd_codec_add(o, "updated_at", jtime(i->updated_at)) &&
             hd_codec_add(o, "ready_at", i->ready_at > 0 ? jtime(i->ready_at) : json_null()) &&
             hd_codec_add(o, "addresses", addresses_to_json(i->addresses, i->n_addresses));
        return ok ? TAKE_PTR(o) : NULL;
}

/* ---- operations, events, errors ------------------------------------------- */

/* A stored JSON object text as a value; NULL or anything but an object gives {}. */
static json_t *embed_object(const char *text)
{
        json_t *j = text ? json_loads(text, 0, NULL) : NULL;
        if (json_is_object(j))
                return j;
        json_decref(j);
        return json_object();
}

static json_t *instance_ref(const char *uuid, const char *name)
{
        _cleanup_json_ json_t *o = json_object();
        if (!hd_codec_add(o, "uuid", jstr(uuid)) || !hd_codec_add(o, "name", jstr_or_null(name)))
                return NULL;
        return TAKE_PTR(o);
}

json_t *hd_codec_operation_to_json(const HdOperation *op)
{
        _cleanup_json_ json_t *o = json_object();
        if (!op || !o)
                return NULL;

        json_t *error;
        if (op->error_code || op->error_message) {
                error = json_object();
                if (!hd_codec_add(error, "code",
                                  jstr(op->error_code ? op->error_code : "internal")) ||
                    !hd_codec_add(error, "message",
                                  jstr(op->error_message ? op->error_message : ""))) {
                        json_decref(error);
                        return NULL;
                }
        } else
                error = json_null();

        _cleanup_json_ json_t *progress = json_object();
        bool ok = hd_codec_add(progress, "done", json_integer(op->progress_done)) &&
                  hd_codec_add(progress, "total", json_integer(op->progress_total));

        ok = hd_codec_add(o, "id", jstr(op->id)) && ok &&
             hd_codec_add(o, "action", jstr(hd_action_to_string(op->action))) &&
             (hd_action_is_image(op->action)
                      ? hd_codec_add(o, "image", jstr_or_null(op->instance_name))
              : op->action == HD_ACTION_BENCHMARK
                      ? hd_codec_add(o, "benchmark", jstr_or_null(op->instance_name))
                      : hd_codec_add(o, "instance",
                                     instance_ref(op->instance_uuid, op->instance_name))) &&
             hd_codec_add(o, "status", jstr(hd_op_status_to_string(op->status))) &&
             hd_codec_add(o, "args", embed_object(op->args_json)) &&
             hd_codec_add(o, "error", TAKE_PTR(error)) &&
             hd_codec_add(o, "progress", TAKE_PTR(progress)) &&
             hd_codec_add(o, "created_at", jtime(op->created_at)) &&
             hd_codec_add(o, "updated_at", jtime(op->updated_at)) &&
             hd_codec_add(o, "finished_at", op->finished_at ? jtime(op->finished_at) : json_null());
        json_decref(error); /* only still set when an earlier step failed */
        return ok ? TAKE_PTR(o) : NULL;
}

json_t *hd_codec_event_to_json(const HdEvent *e)
{
        _cleanup_json_ json_t *o = json_object();
        if (!e || !o)
                return NULL;

        bool ok = hd_codec_add(o, "seq", json_integer(e->seq)) &&
                  hd_codec_add(o, "time", jtime(e->time)) && hd_codec_add(o, "type", jstr(e->type));
        if (ok && e->instance_uuid[0])
                ok = hd_codec_add(o, "instance", instance_ref(e->instance_uuid, e->instance_name));
        if (ok && e->operation_id[0])
                ok = hd_codec_add(o, "operation", jstr(e->operation_id));
        ok = ok && hd_codec_add(o, "data", embed_object(e->data_json));
        return ok ? TAKE_PTR(o) : NULL;
}

json_t *hd_codec_error_to_json(const char *code, const char *message, const char *field)
{
        _cleanup_json_ json_t *inner = json_object();
        if (!hd_codec_add(inner, "code", jstr(code ? code : "internal")) ||
            !hd_codec_add(inner, "message", jstr(message ? message : "")) ||
            (field && !hd_codec_add(inner, "field", jstr(field))))
                return NULL;

        _cleanup_json_ json_t *o = json_object();
        if (!hd_codec_add(o, "error", TAKE_PTR(inner)))
                return NULL;
        return TAKE_PTR(o);
}

json_t *hd_codec_image_to_json(const HdImage *i)
{
        char created[32];
        hd_time_format(i->created_at, created);
        _cleanup_free_ char *ref = NULL;
        if (asprintf(&ref, "%s:%s", i->name ? i->name : "", i->tag ? i->tag : "") < 0)
                return NULL;
        json_t *config = i->config_json ? json_loads(i->config_json, 0, NULL) : NULL;
        if (!json_is_object(config)) {
                json_decref(config);
                config = json_object();
        }
        json_t *layers = json_array();
        for (size_t k = 0; k < i->n_layers; k++) {
                const HdImageLayer *l = &i->layers[k];
                json_array_append_new(layers,
                                      json_pack("{s:s?, s:s?, s:s?, s:I}", "digest", l->digest,
                                                "diff_id", l->diff_id, "media_type", l->media_type,
                                                "size", (json_int_t)l->size));
        }
        return json_pack("{s:s?, s:s?, s:s, s:s?, s:s?, s:s?, s:I, s:s, s:o, s:o}", "name", i->name,
                         "tag", i->tag, "ref", ref, "digest", i->digest, "kind",
                         hd_kind_to_string(i->kind), "format", i->format, "size",
                         (json_int_t)i->size, "created_at", created, "config", config, "layers",
                         layers);
}

/* ---- networks --------------------------------------------------------------- */

json_t *hd_codec_network_to_json(const HdNetwork *n)
{
        _cleanup_json_ json_t *o = json_object();
        if (!n || !hd_codec_add(o, "name", jstr(n->name)) ||
            !hd_codec_add(o, "bridge", jstr(n->name)) ||
            !hd_codec_add(o, "subnet", jstr(n->subnet)) ||
            !hd_codec_add(o, "gateway", jstr(n->gateway)) ||
            !hd_codec_add(o, "mtu", json_integer(n->mtu)) ||
            !hd_codec_add(o, "nat", json_boolean(n->nat)) ||
            !hd_codec_add(o, "default", json_boolean(n->is_default)) ||
            !hd_codec_add(o, "created_at", jtime(n->created_at)) ||
            !hd_codec_add(o, "used_by", json_integer(n->used_by)))
                return NULL;
        return TAKE_PTR(o);
}
