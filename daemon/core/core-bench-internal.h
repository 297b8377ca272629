/* Private to the benchmark runner (core-bench.c: the job, its manifest and the API;
 * core-bench-run.c: the workloads and the instances they drive). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "core-internal.h"
#include "hd-codec.h"
#include "hd-json.h"

#define BENCH_LABEL      "hostd-benchmark"
#define READY_TIMEOUT_MS (300 * 1000)
#define OP_TIMEOUT_MS    (300 * 1000)

typedef struct Bench {
        HdCore *core;
        HdBenchRequest req;
        char id[HD_UUID_STRING_MAX];
        char short_id[9];
        int64_t created_at;
        json_t *result; /* the stored JSON, figures appended as they come */
        HdDriverOp *op;
        int64_t done, total;
        /* every instance made, for the cleanup */
        char **made;
        size_t n_made;
        int seq;
} Bench;

/* One idle instance of each kind serves the memory, cpu and io workloads. */
typedef struct Idle {
        char name[64];
        bool up;
        char why[256];
} Idle;

bool hd_bench_cancelled(Bench *b);
/* Records n more steps done as the operation's progress. */
void hd_bench_step(Bench *b, int64_t n);
double hd_bench_now_ms(void);
/* Stores the result as it stands with status (and error); < 0 only logged. */
int hd_bench_save(Bench *b, const char *status, const char *error);
/* Deletes an instance the run made (force, waited for) and forgets it. */
int hd_bench_destroy(Bench *b, const char *name, double *ret_ms, HdError **err);
void hd_bench_forget(Bench *b, const char *name);

/* The workloads: each appends its figures to the result. */
void hd_bench_image(Bench *b);
void hd_bench_lifecycle(Bench *b);
void hd_bench_idle_start(Bench *b, Idle idle[2]);
void hd_bench_memory(Bench *b, Idle idle[2]);
void hd_bench_cpu(Bench *b, Idle idle[2]);
void hd_bench_io(Bench *b, Idle idle[2]);
void hd_bench_density(Bench *b);
