/* A benchmark run's stored result, rendered: the seeds' VM-vs-container table as
 * Markdown, a bar chart as SVG, and the comparison of two runs. Pure functions of the
 * result JSON (below), so golden files can check them.
 *
 * The result JSON (what GET /v1/benchmarks/{id} returns):
 *
 *   {
 *     "id": "<uuid>",
 *     "status": "running" | "success" | "failure" | "cancelled",
 *     "error": "<why it failed>" | null,
 *     "operation_id": "<uuid>",
 *     "created_at": "<RFC 3339>", "finished_at": "<RFC 3339>" | null,
 *     "request": {
 *       "workloads": ["lifecycle", "memory", "image", "cpu", "io", "density"],
 *       "container_image": "busybox", "vm_image": "tiny",
 *       "repetitions": 5, "warmup": 1,
 *       "envelope": {"vcpus": 1, "memory_mb": 256, "cpuset": "0" | null},
 *       "sizes": {"cpu_mib": 64, "io_mib": 64, "density_max": 8}
 *     },
 *     "manifest": {
 *       "host": {"cpu_model": "…", "cpus": 2, "memory_mb": 24105, "kernel": "6.1.0-…",
 *                "cgroup": "v1" | "v2" | "hybrid"},
 *       "accel": "kvm" | "tcg", "accel_reason": "…",
 *       "versions": {"hostd": "0.1.0", "qemu": "7.2.0", "libvirt": "9.0.0"},
 *       "images": {"container": {"ref": "busybox", "digest": "sha256:…"},
 *                  "vm": {"ref": "tiny", "digest": "sha256:…"}},
 *       "envelope": {…the request's…},
 *       "started_at": "<RFC 3339>"
 *     },
 *     "figures": [
 *       {"workload": "lifecycle", "name": "start_to_ready", "label": "start → ready",
 *        "unit": "ms", "better": "lower" | "higher",
 *        "container": SIDE, "vm": SIDE, "host": SIDE (only cpu and io: the same job on
 *        the host), "ratio": vm p50 / container p50 | null}
 *       …
 *     ]
 *   }
 *
 *   SIDE = {"p50": x, "p95": x, "min": x, "max": x, "n": N, "vs_host": p50 / host p50
 *           (cpu and io only; absent otherwise)}
 *        | {"missing": "<why it could not be measured>"}
 *
 * Figures (workload / name / unit / better):
 *   lifecycle / create, start_to_ready, stop, delete                  / ms  / lower
 *   memory    / host_cost  (container: cgroup memory.current + monitor PSS;
 *                           VM: qemu PSS)                             / MiB / lower
 *   memory    / guest_view (VM: what its balloon reports used; a container has none:
 *                           missing, "a container has no guest of its own") / MiB / lower
 *   image     / image_total, image_unique, image_shared               / MiB / lower
 *   cpu       / cpu_job    (hashing cpu_mib MiB with busybox md5sum)  / s   / lower
 *   io        / io_write, io_read (io_mib MiB sequential with dd)     / MiB/s / higher
 *   density   / density_count (instances that fit)                    / instances / higher
 *   density   / density_per_instance (host memory per instance)      / MiB / lower
 * Numbers are JSON numbers (doubles); a figure or side may be missing with a reason. */
#pragma once

#include <jansson.h>

/* The seeds' table with measured numbers: a TCG warning first when the VM side ran
 * under TCG, then rows start time, image size, memory, performance (cpu, io),
 * density, isolation, each with VM, container and VM/container; then every figure with
 * p50/p95/min/max; then the manifest. A missing figure reads "missing: <reason>".
 * NULL when out of memory. */
char *hd_bench_markdown(const json_t *result);

/* A bar chart: one group per figure, the VM and container bars side by side (and the
 * host's where there is one), figures of each unit on their own panel with a labelled,
 * scaled axis; a TCG banner when the VM side ran under TCG; missing figures marked.
 * NULL when out of memory. */
char *hd_bench_svg(const json_t *result);

/* Two runs side by side: {"comparable": bool, "differences": [{"field": "manifest.accel",
 * "a": …, "b": …}], "figures": [{"workload", "name", "unit", "a": {"container": p50,
 * "vm": p50}, "b": {…}, "change": {"container": b/a, "vm": b/a}}]}. Runs are comparable
 * when their manifests match except started_at. NULL when out of memory. */
json_t *hd_bench_compare(const json_t *a, const json_t *b);
