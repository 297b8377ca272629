/* POST /v1/benchmarks: the request of a VM-vs-container benchmark run. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hd-codec-internal.h"
#include "hd-codec.h"

static const char *const workload_names[HD_BENCH__COUNT] = {
        [HD_BENCH_LIFECYCLE] = "lifecycle",
        [HD_BENCH_MEMORY] = "memory",
        [HD_BENCH_IMAGE] = "image",
        [HD_BENCH_CPU] = "cpu",
        [HD_BENCH_IO] = "io",
        [HD_BENCH_DENSITY] = "density",
};

const char *hd_bench_workload_name(HdBenchWorkload w)
{
        return w >= 0 && w < HD_BENCH__COUNT ? workload_names[w] : NULL;
}

void hd_bench_request_clear(HdBenchRequest *r)
{
        if (!r)
                return;
        free(r->container_image);
        free(r->vm_image);
        free(r->cpuset);
        *r = (HdBenchRequest){ 0 };
}

static int get_int(const json_t *o, const char *key, const char *field, int64_t min, int64_t max,
                   int64_t def, int64_t *ret, HdError **err)
{
        json_t *v = json_object_get(o, key);
        *ret = def;
        if (!v)
                return 0;
        int r = hd_codec_check_type(v, JT_INTEGER, field, err);
        if (r >= 0)
                r = hd_codec_check_int_range(v, min, max, field, "", err);
        if (r >= 0)
                *ret = json_integer_value(v);
        return r;
}

static int get_image(const json_t *j, const char *key, char **ret, HdError **err)
{
        json_t *v = json_object_get(j, key);
        if (!v)
                return hd_codec_fail(err, key, "`%s` is required", key);
        int r = hd_codec_check_type(v, JT_STRING, key, err);
        if (r < 0)
                return r;
        const char *s = json_string_value(v);
        if (!*s || strlen(s) > 512 || !hd_utf8_is_clean(s, true))
                return hd_codec_fail(err, key, "`%s` must be an image reference", key);
        if (!(*ret = strdup(s)))
                return hd_error_set(err, -ENOMEM, "out of memory");
        return 0;
}

int hd_codec_bench_request_from_json(const json_t *j, HdBenchRequest *ret, HdError **err)
{
        static const char *const top[] = { "workloads", "container_image",
                                           "vm_image",  "repetitions",
                                           "warmup",    "envelope",
                                           "sizes",     NULL };
        static const char *const env[] = { "vcpus", "memory_mb", "cpuset", NULL };
        static const char *const sizes[] = { "cpu_mib", "io_mib", "density_max", NULL };
        HdBenchRequest r = { 0 };
        int rc;

        if (!json_is_object(j))
                return hd_codec_fail(err, NULL, "the body must be a JSON object");
        if ((rc = hd_codec_check_unknown(j, NULL, top, err)) < 0)
                return rc;

        json_t *w = json_object_get(j, "workloads");
        if (!w) {
                r.workloads = HD_BENCH_ALL;
        } else {
                if ((rc = hd_codec_check_type(w, JT_ARRAY, "workloads", err)) < 0)
                        return rc;
                if (json_array_size(w) == 0)
                        return hd_codec_fail(err, "workloads", "name at least one workload");
                size_t i;
                json_t *it;
                json_array_foreach (w, i, it) {
                        char field[32];
                        snprintf(field, sizeof(field), "workloads[%zu]", i);
                        const char *s = json_string_value(it);
                        if (!s)
                                return hd_codec_fail(err, field, "must be a string");
                        if (strcmp(s, "all") == 0) {
                                r.workloads = HD_BENCH_ALL;
                                continue;
                        }
                        int k = 0;
                        while (k < HD_BENCH__COUNT && strcmp(workload_names[k], s) != 0)
                                k++;
                        if (k == HD_BENCH__COUNT)
                                return hd_codec_fail(err, field,
                                                     "`%.*s` is not a workload: use lifecycle, "
                                                     "memory, image, cpu, io, density or all",
                                                     HD_CODEC_Q(s));
                        r.workloads |= 1u << k;
                }
        }

        int64_t v;
        if ((rc = get_int(j, "repetitions", "repetitions", 1, 50, 5, &v, err)) < 0)
                return rc;
        r.repetitions = (int)v;
        if ((rc = get_int(j, "warmup", "warmup", 0, 5, 1, &v, err)) < 0)
                return rc;
        r.warmup = (int)v;

        r.vcpus = 1;
        r.memory_mb = 256;
        json_t *e = json_object_get(j, "envelope");
        if (e) {
                if ((rc = hd_codec_check_type(e, JT_OBJECT, "envelope", err)) < 0 ||
                    (rc = hd_codec_check_unknown(e, "envelope", env, err)) < 0)
                        return rc;
                if ((rc = get_int(e, "vcpus", "envelope.vcpus", 1, 64, 1, &v, err)) < 0)
                        return rc;
                r.vcpus = (int)v;
                if ((rc = get_int(e, "memory_mb", "envelope.memory_mb", 64, 65536, 256, &v, err)) <
                    0)
                        return rc;
                r.memory_mb = v;
                json_t *cs = json_object_get(e, "cpuset");
                if (cs && !json_is_null(cs)) {
                        if ((rc = hd_codec_check_type(cs, JT_STRING, "envelope.cpuset", err)) < 0)
                                return rc;
                        HdCpuMask mask;
                        if (json_string_length(cs) > HD_CPULIST_MAX ||
                            hd_cpulist_parse(json_string_value(cs), &mask) < 0)
                                return hd_codec_fail(err, "envelope.cpuset",
                                                     "must be a CPU list like `0` or `0-1,3`");
                        if (!(r.cpuset = strdup(json_string_value(cs))))
                                return hd_error_set(err, -ENOMEM, "out of memory");
                }
        }
        r.cpu_mib = 64;
        r.io_mib = 64;
        r.density_max = 8;
        json_t *sz = json_object_get(j, "sizes");
        if (sz) {
                if ((rc = hd_codec_check_type(sz, JT_OBJECT, "sizes", err)) < 0 ||
                    (rc = hd_codec_check_unknown(sz, "sizes", sizes, err)) < 0 ||
                    (rc = get_int(sz, "cpu_mib", "sizes.cpu_mib", 1, 4096, 64, &v, err)) < 0)
                        goto fail;
                r.cpu_mib = (int)v;
                if ((rc = get_int(sz, "io_mib", "sizes.io_mib", 1, 4096, 64, &v, err)) < 0)
                        goto fail;
                r.io_mib = (int)v;
                if ((rc = get_int(sz, "density_max", "sizes.density_max", 1, 500, 8, &v, err)) < 0)
                        goto fail;
                r.density_max = (int)v;
        }
        if ((rc = get_image(j, "container_image", &r.container_image, err)) < 0 ||
            (rc = get_image(j, "vm_image", &r.vm_image, err)) < 0)
                goto fail;
        *ret = r;
        return 0;
fail:
        hd_bench_request_clear(&r);
        return rc;
}

json_t *hd_codec_bench_request_to_json(const HdBenchRequest *r)
{
        json_t *w = json_array();
        for (int k = 0; k < HD_BENCH__COUNT; k++)
                if (r->workloads & (1u << k))
                        json_array_append_new(w, json_string(workload_names[k]));
        return json_pack("{s:o, s:s, s:s, s:i, s:i, s:{s:i, s:I, s:s?}, s:{s:i, s:i, s:i}}",
                         "workloads", w, "container_image", r->container_image, "vm_image",
                         r->vm_image, "repetitions", r->repetitions, "warmup", r->warmup,
                         "envelope", "vcpus", r->vcpus, "memory_mb", (json_int_t)r->memory_mb,
                         "cpuset", r->cpuset, "sizes", "cpu_mib", r->cpu_mib, "io_mib", r->io_mib,
                         "density_max", r->density_max);
}
