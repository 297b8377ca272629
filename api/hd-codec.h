/* The codec: the ONE place where untrusted JSON becomes validated C structs, and
 * where structs become the API's JSON. Every validation error names the field
 * (dotted path, e.g. "resources.memory_mb") in HdError.field and uses -EINVAL. */
#pragma once

#include <jansson.h>

#include "hd-error.h"
#include "hd-json.h"
#include "hd-spec.h"

/* Largest request body hostd accepts, checked before any parsing. */
#define HD_MAX_BODY_BYTES (1024 * 1024)

/* Limits enforced by validation (also documented in api/openapi.yaml). */
#define HD_MAX_LABELS          64
#define HD_MAX_LABEL_KEY       63
#define HD_MAX_LABEL_VALUE     256
#define HD_MAX_ENV             1024
#define HD_MAX_COMMAND_ARGS    1024
#define HD_MAX_STRING          4096
#define HD_MAX_VCPUS           512.0
#define HD_MIN_MEMORY_MB       16
#define HD_MIN_VM_MEMORY_MB    64
#define HD_MAX_MEMORY_MB       (16LL * 1024 * 1024)
#define HD_MAX_PIDS            4194304
#define HD_MAX_DISK_GB         65536
#define HD_MAX_RESTART_RETRIES 1000
#define HD_MAX_STOP_TIMEOUT    3600

/* Parses a request body. Duplicate object keys are rejected, as is anything that
 * is not a single JSON object. Errors are -EINVAL with a message giving the
 * position; field is NULL except for duplicate keys. */
int hd_codec_parse_object(const char *body, size_t len, json_t **ret, HdError **err);

/* Validates a create request and fills ret (which the caller clears). Unknown
 * fields, wrong types, missing required fields, bad names and out-of-range
 * resources are -EINVAL naming the field. Fields that the requested kind cannot
 * honour (e.g. "command" for a VM) are rejected by name too. Defaults are applied:
 * vcpus, memory_mb, pids_max (containers), hostname (= name), restart policy "no".
 * network is a network's name, "none" or (containers) "host", kept as given; absent,
 * it stays NULL for the core to fill in. ip (dotted IPv4) and ports (at most
 * HD_PORTS_MAX, no host_port/protocol twice, protocol defaulting to tcp) are refused
 * with network "none" or "host"; whether the address is inside the network's subnet
 * and whether a host port is free is the core's to check. */
int hd_codec_instance_spec_from_json(const json_t *j, HdInstanceSpec *ret, HdError **err);

/* What hd_codec_instance_spec_from_json() cannot check while network is NULL: once
 * the core has put the default network's name (or "none") in, ip and ports still need
 * a network that is not "none" or "host". -EINVAL naming "ip" or "ports". The core
 * must call it after filling network in: a stored spec that fails it is not accepted
 * back by hd_codec_instance_spec_from_json(). */
int hd_codec_instance_spec_check_network(const HdInstanceSpec *s, HdError **err);

/* The canonical JSON of a spec: every field, defaults filled in, fields that do
 * not apply to the kind left out. hd_codec_instance_spec_from_json() accepts it
 * back unchanged; the store persists this form. network is left out while it is
 * NULL (a request the core has not given its default network yet), ip when it is
 * NULL; ports is always there. */
json_t *hd_codec_instance_spec_to_json(const HdInstanceSpec *s);

/* Bump whenever hd_codec_instance_to_json()'s output changes: the store keeps
 * each instance's rendered JSON and renders again rows of another format. */
#define HD_CODEC_INSTANCE_FORMAT 4

/* An instance as the API returns it: the spec fields at top level plus uuid, state,
 * exit_code, reason, error, placement, revision, created_at, updated_at, ready_at
 * and addresses ([{network, bridge, address, prefix_len, gateway, mac, mtu}], empty
 * when it has none). A NULL network shows as "none": rows stored before networks
 * existed have none. */
json_t *hd_codec_instance_to_json(const HdInstance *i);

/* A PATCH body: {"labels": {"key": "value" | null, …}} (JSON merge patch: null
 * removes the key). Only "labels" is accepted today; anything else (network, ip and
 * ports included) is -EINVAL naming the field. */
typedef struct HdInstancePatch {
        bool has_labels;
        HdKVList set_labels;
        HdStrv remove_labels;
} HdInstancePatch;
void hd_instance_patch_clear(HdInstancePatch *p);
int hd_codec_instance_patch_from_json(const json_t *j, HdInstancePatch *ret, HdError **err);
/* Applies a patch to a spec; fails (-EINVAL, field "labels") if the result would
 * exceed HD_MAX_LABELS. The spec is unchanged on failure. */
int hd_codec_instance_patch_apply(const HdInstancePatch *p, HdInstanceSpec *spec, HdError **err);

/* Validates the optional body of an action (j may be NULL for an empty body) and
 * returns its canonical arguments as a JSON object text in *ret_args:
 *   stop, restart: {"timeout": seconds}  (integer 0..3600, default 10)
 *   kill:          {"signal": number}    (name like "SIGTERM"/"TERM" or 1..64, default SIGKILL)
 *   start, pause, resume, delete: {} (no fields accepted) */
int hd_codec_action_args_from_json(HdAction a, const json_t *j, char **ret_args, HdError **err);

json_t *hd_codec_operation_to_json(const HdOperation *o);

/* POST /v1/images/pull: {"ref": "HOST[:PORT]/REPO[:TAG|@sha256:…]", "name": "…",
 * "tag": "…", "tls_verify": true, "username": "…", "password": "…"}. ref is
 * required; the rest optional (tls_verify defaults to true). The ref's grammar is
 * checked by the registry client; here only types, lengths and unknown fields. */
typedef struct HdImagePullRequest {
        char *ref;
        char *name;
        char *tag;
        bool tls_verify;
        char *username;
        char *password;
} HdImagePullRequest;
void hd_image_pull_request_clear(HdImagePullRequest *r);
int hd_codec_image_pull_from_json(const json_t *j, HdImagePullRequest *ret, HdError **err);
/* The body of POST /v1/images/{ref}/push: ref (the destination), tls_verify, username,
 * password; name and tag are not allowed. */
int hd_codec_image_push_from_json(const json_t *j, HdImagePullRequest *ret, HdError **err);
/* What an image operation records of a pull or push request: everything but the
 * password. A malloc'd JSON text, or NULL when out of memory. */
char *hd_codec_image_transfer_args(const HdImagePullRequest *r);

/* ---- benchmarks ---------------------------------------------------------------------- */

typedef enum HdBenchWorkload {
        HD_BENCH_LIFECYCLE = 0,
        HD_BENCH_MEMORY,
        HD_BENCH_IMAGE,
        HD_BENCH_CPU,
        HD_BENCH_IO,
        HD_BENCH_DENSITY,
        HD_BENCH__COUNT,
} HdBenchWorkload;
#define HD_BENCH_ALL ((1u << HD_BENCH__COUNT) - 1)
const char *hd_bench_workload_name(HdBenchWorkload w);

/* POST /v1/benchmarks: workloads (names or "all"; default all), container_image and
 * vm_image (required), repetitions 1..50 (5), warmup 0..5 (1), envelope {vcpus 1..64 (1),
 * memory_mb 64..65536 (256), cpuset (a CPU list, optional)}, sizes {cpu_mib (64),
 * io_mib (64), density_max (8)}. */
typedef struct HdBenchRequest {
        unsigned workloads; /* 1u << HdBenchWorkload */
        char *container_image;
        char *vm_image;
        int repetitions, warmup;
        int vcpus;
        int64_t memory_mb;
        char *cpuset; /* NULL: no pinning */
        int cpu_mib, io_mib, density_max;
} HdBenchRequest;
void hd_bench_request_clear(HdBenchRequest *r);
int hd_codec_bench_request_from_json(const json_t *j, HdBenchRequest *ret, HdError **err);
/* The request as a result's "request" member (every default filled in). */
json_t *hd_codec_bench_request_to_json(const HdBenchRequest *r);

/* An image as the API returns it: name, tag, ref ("name:tag"), digest, kind,
 * format, size, created_at, config (the stored object) and layers. */
json_t *hd_codec_image_to_json(const HdImage *i);
json_t *hd_codec_event_to_json(const HdEvent *e);

/* POST /v1/instances/{name}/exec: command (required), env, workdir, user, stdin (with
 * stdin_encoding utf-8 or base64), timeout. *ret is the caller's to clear. */
int hd_codec_exec_request_from_json(const json_t *j, HdExecRequest *ret, HdError **err);
/* {"exit_code", "stdout", "stderr", "encoding": "utf-8"|"base64", "truncated", "timed_out"} */
json_t *hd_codec_exec_result_to_json(const HdExecResult *r);
/* {"time", "cpu": {…}, "memory": {…}, "pids": {…}, "io": {…}} */
json_t *hd_codec_stats_to_json(const HdStats *s);

/* {"error": {"code": code, "message": message, "field": field (omitted if NULL)}} */
json_t *hd_codec_error_to_json(const char *code, const char *message, const char *field);

/* Label key rule shared with list filters: [A-Za-z0-9]([A-Za-z0-9._/-]{0,61}[A-Za-z0-9])? */
bool hd_codec_label_key_is_valid(const char *key);

/* ---- networks ---- */

/* POST /v1/networks: {"name", "subnet", "gateway"?, "mtu"?, "nat"?}. name: 1..15 of
 * [a-z0-9-], starting and ending with a letter or digit, not `none`, `host`,
 * `default` or `all`. subnet: IPv4 CIDR with prefix 8..29, host bits zero (the
 * message suggests the canonical form), not inside 0/8, 127/8, 169.254/16 or 224/3;
 * stored canonical. gateway: inside the subnet, neither its network nor its broadcast
 * address; default the first usable address. mtu 576..9000, default
 * HD_NETWORK_MTU_DEFAULT; nat default true. Unknown fields, wrong types and bad
 * values are -EINVAL naming the field. *ret (is_default false, created_at and used_by
 * 0) is the caller's to clear; it is left empty on failure. Overlaps with other
 * networks and names taken are the core's to check. */
int hd_codec_network_create_from_json(const json_t *j, HdNetwork *ret, HdError **err);

/* A network as the API returns it: name, bridge (= name), subnet, gateway, mtu, nat,
 * default (is_default), created_at (RFC 3339) and used_by. NULL when out of memory. */
json_t *hd_codec_network_to_json(const HdNetwork *n);

/* The network name rule above (for {name} in a path too). */
bool hd_codec_network_name_is_valid(const char *name);
