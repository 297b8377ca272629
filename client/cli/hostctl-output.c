/* hostctl: output — aligned tables, key/value listings and JSON. */
#include "hostctl.h"

#include <inttypes.h>
#include <string.h>

struct HostctlTable {
        size_t n_columns;
        size_t n_cells;
        size_t cap;
        char **cells; /* row-major; the first row is the header (when there is one) */
};

/* ---- Tables -------------------------------------------------------------------------- */

HostctlTable *hostctl_table_new(size_t n_columns, const char *const *headers)
{
        HostctlTable *t = calloc(1, sizeof(*t));
        if (!t)
                return NULL;
        t->n_columns = n_columns;
        if (headers && hostctl_table_add(t, headers) < 0) {
                hostctl_table_free(t);
                return NULL;
        }
        return t;
}

int hostctl_table_add(HostctlTable *t, const char *const *cells)
{
        if (!t)
                return -EINVAL;
        if (t->n_cells + t->n_columns > t->cap) {
                size_t cap = t->cap ? t->cap * 2 : t->n_columns * 16;
                char **p = realloc(t->cells, cap * sizeof(*p));
                if (!p)
                        return -ENOMEM;
                t->cells = p;
                t->cap = cap;
        }
        for (size_t i = 0; i < t->n_columns; i++) {
                char *s = strdup(cells[i] ? cells[i] : "-");
                if (!s) {
                        while (i > 0)
                                free(t->cells[t->n_cells + --i]);
                        return -ENOMEM;
                }
                t->cells[t->n_cells + i] = s;
        }
        t->n_cells += t->n_columns;
        return 0;
}

/* Display width of a UTF-8 string: code points, which is right for what we print. */
static size_t hostctl_width(const char *s)
{
        size_t w = 0;
        for (; *s; s++)
                if (((unsigned char)*s & 0xc0) != 0x80)
                        w++;
        return w;
}

void hostctl_table_print(const HostctlTable *t, FILE *f)
{
        if (!t || t->n_cells == 0)
                return;
        size_t *w = calloc(t->n_columns, sizeof(*w));
        if (!w)
                return;
        for (size_t i = 0; i < t->n_cells; i++) {
                size_t cw = hostctl_width(t->cells[i]);
                if (cw > w[i % t->n_columns])
                        w[i % t->n_columns] = cw;
        }
        for (size_t i = 0; i < t->n_cells; i++) {
                size_t col = i % t->n_columns;
                fputs(t->cells[i], f);
                if (col + 1 == t->n_columns) {
                        fputc('\n', f);
                } else {
                        for (size_t pad = hostctl_width(t->cells[i]); pad < w[col] + 2; pad++)
                                fputc(' ', f);
                }
        }
        free(w);
}

void hostctl_table_free(HostctlTable *t)
{
        if (!t)
                return;
        for (size_t i = 0; i < t->n_cells; i++)
                free(t->cells[i]);
        free(t->cells);
        free(t);
}

/* ---- Values -------------------------------------------------------------------------- */

static bool hostctl_is_scalar(const json_t *v)
{
        return !json_is_object(v) && !json_is_array(v);
}

char *hostctl_value_string(const json_t *v)
{
        char *s = NULL;

        switch (json_typeof(v)) {
        case JSON_NULL:
                return strdup("-");
        case JSON_STRING:
                return strdup(json_string_value(v));
        case JSON_INTEGER:
                if (asprintf(&s, "%" JSON_INTEGER_FORMAT, json_integer_value(v)) < 0)
                        return NULL;
                return s;
        case JSON_REAL:
                if (asprintf(&s, "%g", json_real_value(v)) < 0)
                        return NULL;
                return s;
        case JSON_TRUE:
                return strdup("true");
        case JSON_FALSE:
                return strdup("false");
        case JSON_ARRAY: {
                size_t i;
                json_t *e;
                bool scalars = json_array_size(v) > 0;
                json_array_foreach (v, i, e)
                        scalars = scalars && hostctl_is_scalar(e);
                if (!scalars)
                        break;
                size_t len = 0;
                FILE *f = open_memstream(&s, &len);
                if (!f)
                        return NULL;
                json_array_foreach (v, i, e) {
                        _cleanup_free_ char *es = hostctl_value_string(e);
                        fprintf(f, "%s%s", i > 0 ? ", " : "", es ? es : "?");
                }
                fclose(f);
                return s;
        }
        case JSON_OBJECT:
        default:
                break;
        }
        return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

void hostctl_print_json(const json_t *j)
{
        json_dumpf(j, stdout, JSON_INDENT(2) | JSON_ENCODE_ANY);
        fputc('\n', stdout);
}

/* ---- Key/value listings -------------------------------------------------------------- */

static void hostctl_kv_add(HostctlTable *t, const char *prefix, const json_t *obj)
{
        const char *key;
        json_t *v;

        json_object_foreach ((json_t *)obj, key, v) {
                _cleanup_free_ char *name = NULL;
                if (asprintf(&name, "%s%s%s", prefix ? prefix : "", prefix ? "." : "", key) < 0) {
                        name = NULL;
                        continue;
                }
                if (json_is_object(v) && json_object_size(v) > 0) {
                        hostctl_kv_add(t, name, v);
                        continue;
                }
                _cleanup_free_ char *label = NULL;
                _cleanup_free_ char *value =
                        json_is_object(v) ? strdup("-") : hostctl_value_string(v);
                if (asprintf(&label, "%s:", name) < 0)
                        continue;
                hostctl_table_add(t, (const char *const[]){ label, value });
        }
}

void hostctl_print_kv(const json_t *obj)
{
        _cleanup_(hostctl_table_freep) HostctlTable *t = hostctl_table_new(2, NULL);
        if (!t || !json_is_object(obj))
                return;
        hostctl_kv_add(t, NULL, obj);
        hostctl_table_print(t, stdout);
}

/* ---- Resource tables ----------------------------------------------------------------- */

static const char *hostctl_str(const json_t *obj, const char *key)
{
        return json_string_value(json_object_get(obj, key));
}

void hostctl_print_instances(const json_t *instances)
{
        static const char *const headers[] = { "NAME",    "KIND",  "STATE",  "IMAGE",
                                               "ADDRESS", "VCPUS", "MEMORY", "UUID" };
        _cleanup_(hostctl_table_freep) HostctlTable *t = hostctl_table_new(8, headers);
        size_t i;
        json_t *in;

        if (!t)
                return;
        json_array_foreach (instances, i, in) {
                const json_t *res = json_object_get(in, "resources");
                const json_t *vcpus = json_object_get(res, "vcpus");
                const json_t *mem = json_object_get(res, "memory_mb");
                _cleanup_free_ char *vcpus_s = vcpus ? hostctl_value_string(vcpus) : NULL;
                _cleanup_free_ char *mem_s = NULL;
                char uuid[9] = "";
                const char *u = hostctl_str(in, "uuid");
                /* One network per instance today; "-" without one (or an older hostd). */
                const char *address =
                        hostctl_str(json_array_get(json_object_get(in, "addresses"), 0), "address");

                if (json_is_integer(mem) &&
                    asprintf(&mem_s, "%" JSON_INTEGER_FORMAT "MiB", json_integer_value(mem)) < 0)
                        mem_s = NULL;
                if (u)
                        snprintf(uuid, sizeof(uuid), "%s", u);
                hostctl_table_add(t, (const char *const[]){
                                             hostctl_str(in, "name"),
                                             hostctl_str(in, "kind"),
                                             hostctl_str(in, "state"),
                                             hostctl_str(in, "image"),
                                             address,
                                             vcpus_s,
                                             mem_s,
                                             u ? uuid : NULL,
                                     });
        }
        hostctl_table_print(t, stdout);
}

static const char *hostctl_instance_ref(const json_t *op)
{
        const json_t *in = json_object_get(op, "instance");
        const char *name = hostctl_str(in, "name");
        return name ? name : hostctl_str(in, "uuid");
}

void hostctl_print_operations(const json_t *operations)
{
        /* TARGET: the instance of an action, or the image of a pull or push. */
        static const char *const headers[] = { "ID", "ACTION", "TARGET", "STATUS", "CREATED" };
        _cleanup_(hostctl_table_freep) HostctlTable *t = hostctl_table_new(5, headers);
        size_t i;
        json_t *op;

        if (!t)
                return;
        json_array_foreach (operations, i, op) {
                hostctl_table_add(t, (const char *const[]){
                                             hostctl_str(op, "id"),
                                             hostctl_str(op, "action"),
                                             hostctl_str(op, "image") ? hostctl_str(op, "image")
                                             : hostctl_str(op, "benchmark")
                                                     ? hostctl_str(op, "benchmark")
                                                     : hostctl_instance_ref(op),
                                             hostctl_str(op, "status"),
                                             hostctl_str(op, "created_at"),
                                     });
        }
        hostctl_table_print(t, stdout);
}

void hostctl_print_event_line(const json_t *event)
{
        const json_t *data = json_object_get(event, "data");
        _cleanup_free_ char *seq = hostctl_value_string(json_object_get(event, "seq"));
        _cleanup_free_ char *data_s =
                data ? json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        const char *time = hostctl_str(event, "time");
        const char *type = hostctl_str(event, "type");
        const char *instance = hostctl_instance_ref(event);

        printf("%s %s %s %s %s\n", seq ? seq : "-", time ? time : "-", type ? type : "-",
               instance ? instance : "-", data_s ? data_s : "-");
}

/* Bytes as "512B", "1.5KiB", "27.0MiB", … into buf. */
const char *hostctl_bytes(int64_t n, char *buf, size_t size)
{
        static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
        double v = (double)n;
        size_t u = 0;

        if (n < 1024) {
                snprintf(buf, size, "%" PRId64 "B", n);
                return buf;
        }
        v /= 1024;
        while (v >= 1024 && u + 1 < HD_ARRAY_SIZE(units)) {
                v /= 1024;
                u++;
        }
        snprintf(buf, size, "%.1f%s", v, units[u]);
        return buf;
}

int hostctl_print_list(Hostctl *ctl, const json_t *answer, const char *member,
                       void (*print)(const json_t *items))
{
        if (ctl->output == HOSTCTL_OUTPUT_JSON) {
                hostctl_print_json(answer);
                return HOSTCTL_EXIT_OK;
        }
        json_t *items = json_object_get(answer, member);
        if (!json_is_array(items))
                return hostctl_error("unexpected answer from %s: no `%s` array",
                                     hc_client_endpoint(ctl->client), member);
        print(items);
        return HOSTCTL_EXIT_OK;
}
