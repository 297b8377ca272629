#include "scheduler.h"

#include <math.h>
#include <string.h>

void hd_sched_capacity_init(HdSchedCapacity *c, int64_t cpus, int64_t memory_mb,
                            double cpu_overcommit, double memory_overcommit)
{
        *c = (HdSchedCapacity){
                .cpus = cpus,
                .memory_mb = memory_mb,
                .cpu_overcommit = cpu_overcommit,
                .memory_overcommit = memory_overcommit,
                .vcpus = (double)cpus * cpu_overcommit,
                .admit_memory_mb = (int64_t)floor((double)memory_mb * memory_overcommit),
        };
}

/* vCPUs are compared in hundredths so 0.1 + 0.2 fits where 0.3 is left. */
static int64_t centi(double v)
{
        return (int64_t)llround(v * 100.0);
}

int hd_sched_place(const HdSchedCapacity *cap, double allocated_vcpus, int64_t allocated_memory_mb,
                   const HdSchedRequest *req, HdPlacement *ret, HdError **err)
{
        if (req->kind < 0 || req->kind >= HD_KIND__COUNT)
                return hd_error_set_field(err, -EINVAL, "kind", "unknown kind");
        if (!(req->vcpus > 0) || req->memory_mb <= 0)
                return hd_error_set(err, -EINVAL, "a placement needs positive vcpus and memory");

        double vcpus_after = allocated_vcpus + req->vcpus;
        int64_t mem_after = allocated_memory_mb + req->memory_mb;

        if (centi(vcpus_after) > centi(cap->vcpus))
                return hd_error_set_field(
                        err, -ENOSPC, "resources.vcpus",
                        "not enough CPU: %.2f vCPUs requested, %.2f of %.2f allocated "
                        "(%lld CPUs x overcommit %.2f)",
                        req->vcpus, allocated_vcpus, cap->vcpus, (long long)cap->cpus,
                        cap->cpu_overcommit);
        if (mem_after > cap->admit_memory_mb)
                return hd_error_set_field(
                        err, -ENOSPC, "resources.memory_mb",
                        "not enough memory: %lld MiB requested, %lld of %lld MiB allocated "
                        "(%lld MiB x overcommit %.2f)",
                        (long long)req->memory_mb, (long long)allocated_memory_mb,
                        (long long)cap->admit_memory_mb, (long long)cap->memory_mb,
                        cap->memory_overcommit);

        _cleanup_free_ char *reason = NULL;
        if (asprintf(&reason,
                     "admitted on the local host: %.2f of %.2f vCPUs and %lld of %lld MiB "
                     "allocated with this instance (cpu overcommit %.2f, memory overcommit %.2f)",
                     vcpus_after, cap->vcpus, (long long)mem_after, (long long)cap->admit_memory_mb,
                     cap->cpu_overcommit, cap->memory_overcommit) < 0)
                return hd_error_set(err, -ENOMEM, "out of memory");

        char *host = strdup("local");
        char *driver = strdup(hd_kind_to_string(req->kind));
        if (!host || !driver) {
                free(host);
                free(driver);
                return hd_error_set(err, -ENOMEM, "out of memory");
        }
        hd_placement_clear(ret);
        ret->host = host;
        ret->driver = driver;
        ret->reason = TAKE_PTR(reason);
        return 0;
}
