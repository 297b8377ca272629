/* Admission and placement. Pure functions over numbers, so placement across
 * several hosts can later replace hd_sched_place() without touching callers. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "hd-error.h"
#include "hd-spec.h"

/* What the host offers, before and after overcommit. */
typedef struct HdSchedCapacity {
        int64_t cpus;
        int64_t memory_mb;
        double cpu_overcommit;
        double memory_overcommit;
        double vcpus;            /* cpus * cpu_overcommit */
        int64_t admit_memory_mb; /* memory_mb * memory_overcommit */
} HdSchedCapacity;

typedef struct HdSchedRequest {
        HdKind kind;
        double vcpus;
        int64_t memory_mb;
} HdSchedRequest;

/* Facts the host probe found, also served by GET /v1. */
typedef struct HdHostFacts {
        char hostname[256];
        int64_t cpus;
        int64_t memory_mb;
        char cgroup_version[8]; /* "v1", "v2" or "hybrid" */
        char accel[8];          /* "kvm" or "tcg" */
        char accel_reason[160];
} HdHostFacts;

/* Reads CPUs (/proc/cpuinfo) and memory (/proc/meminfo), cgroup layout and
 * /dev/kvm. Never fails: what cannot be read is reported as such. */
void hd_host_probe(HdHostFacts *ret);

void hd_sched_capacity_init(HdSchedCapacity *c, int64_t cpus, int64_t memory_mb,
                            double cpu_overcommit, double memory_overcommit);

/* Admits req on top of what is allocated, choosing host and driver. On success
 * fills ret (caller clears). -ENOSPC with a message giving the numbers when the
 * host is full; -EINVAL for an impossible request. */
int hd_sched_place(const HdSchedCapacity *cap, double allocated_vcpus, int64_t allocated_memory_mb,
                   const HdSchedRequest *req, HdPlacement *ret, HdError **err);
