/* The API's resource types as C structs. The codec (hd-codec.h) is the one place
 * where untrusted JSON becomes these structs and where they become JSON again. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hd-util.h"

typedef enum HdKind {
        HD_KIND_CONTAINER = 0,
        HD_KIND_VM = 1,
        HD_KIND__COUNT,
        HD_KIND_INVALID = -1,
} HdKind;

typedef enum HdState {
        HD_STATE_CREATED = 0,
        HD_STATE_STARTING,
        HD_STATE_RUNNING,
        HD_STATE_STOPPING,
        HD_STATE_STOPPED,
        HD_STATE_PAUSED,
        HD_STATE_EXITED,
        HD_STATE_ERROR,
        HD_STATE_DELETING,
        HD_STATE__COUNT,
        HD_STATE_INVALID = -1,
} HdState;

typedef enum HdRestartPolicy {
        HD_RESTART_NO = 0,
        HD_RESTART_ON_FAILURE,
        HD_RESTART_ALWAYS,
        HD_RESTART__COUNT,
        HD_RESTART_INVALID = -1,
} HdRestartPolicy;

typedef enum HdAction {
        HD_ACTION_START = 0,
        HD_ACTION_STOP,
        HD_ACTION_RESTART,
        HD_ACTION_KILL,
        HD_ACTION_PAUSE,
        HD_ACTION_RESUME,
        HD_ACTION_DELETE,
        HD_ACTION_IMAGE_PULL, /* operations on images, not instances */
        HD_ACTION_IMAGE_PUSH,
        HD_ACTION_BENCHMARK, /* a benchmark run: its id in instance_name */
        HD_ACTION__COUNT,
        HD_ACTION_INVALID = -1,
} HdAction;

typedef enum HdOpStatus {
        HD_OP_PENDING = 0,
        HD_OP_RUNNING,
        HD_OP_SUCCESS,
        HD_OP_FAILURE,
        HD_OP_CANCELLED,
        HD_OP__COUNT,
        HD_OP_INVALID = -1,
} HdOpStatus;

/* String tables: "container", "created", "on-failure", "start", "success"… */
const char *hd_kind_to_string(HdKind k);
HdKind hd_kind_from_string(const char *s);
const char *hd_state_to_string(HdState s);
HdState hd_state_from_string(const char *s);
const char *hd_restart_policy_to_string(HdRestartPolicy p);
HdRestartPolicy hd_restart_policy_from_string(const char *s);
const char *hd_action_to_string(HdAction a);
HdAction hd_action_from_string(const char *s);
/* True for the actions whose operation is about an image (its ref in instance_name,
 * instance_uuid empty). */
bool hd_action_is_image(HdAction a);
/* True for the actions that are jobs rather than instance actions: image transfers and
 * benchmark runs (no instance_uuid; they do not survive a restart). */
bool hd_action_is_job(HdAction a);
const char *hd_op_status_to_string(HdOpStatus s);
HdOpStatus hd_op_status_from_string(const char *s);
static inline bool hd_op_status_is_final(HdOpStatus s)
{
        return s == HD_OP_SUCCESS || s == HD_OP_FAILURE || s == HD_OP_CANCELLED;
}

/* A string map kept sorted by key, so JSON output and comparisons are stable. */
typedef struct HdKV {
        char *key;
        char *value;
} HdKV;

typedef struct HdKVList {
        HdKV *items;
        size_t n;
} HdKVList;

typedef struct HdStrv {
        char **items;
        size_t n;
} HdStrv;

typedef struct HdResources {
        double vcpus;      /* > 0; fractions allowed for containers only */
        int64_t memory_mb; /* > 0 */
        int64_t pids_max;  /* containers; 0 = not applicable (VMs) */
        int64_t disk_gb;   /* VMs; 0 = the image's own size */
        /* CPUs to pin to, a CPU list as the user wrote it ("0-1,4": hd_cpulist_parse's
         * form, at most HD_CPULIST_MAX characters); NULL: no pinning. */
        char *cpuset;
} HdResources;

/* Defaults applied by the codec when a create request leaves a field out. */
#define HD_DEFAULT_VCPUS     1.0
#define HD_DEFAULT_MEMORY_MB 256
#define HD_DEFAULT_PIDS_MAX  1024

/* cloud-init NoCloud data for a VM's `cidata` seed (VMs only). Empty: no seed. */
typedef struct HdCloudInit {
        char *user_data;            /* the user-data file as given, or NULL */
        HdStrv ssh_authorized_keys; /* public keys for the default user */
} HdCloudInit;

/* A container's security knobs beyond DESIGN §4's defaults (containers only). All but
 * cap_drop and userns need the daemon's allow-privileged. */
typedef struct HdSecurity {
        bool privileged; /* every capability, no seccomp, no masked paths, host devices */
        HdStrv cap_add;  /* "CAP_NET_ADMIN" form, or "ALL" */
        HdStrv cap_drop; /* same form */
        char *seccomp;   /* NULL: the default profile; "unconfined": none */
        bool userns;     /* a user namespace with its own id range */
} HdSecurity;

/* ---- networking ---------------------------------------------------------------------- */

typedef enum HdProto {
        HD_PROTO_TCP = 0,
        HD_PROTO_UDP = 1,
        HD_PROTO__COUNT,
        HD_PROTO_INVALID = -1,
} HdProto;

/* "tcp", "udp"; and back (HD_PROTO_INVALID for anything else). */
const char *hd_proto_to_string(HdProto p);
HdProto hd_proto_from_string(const char *s);

/* A port of the host forwarded to one of the instance's (Docker's -p host:port/proto).
 * It reaches the instance from every host address, loopback included. */
typedef struct HdPortForward {
        int host_port; /* 1..65535 */
        int port;      /* the instance's, 1..65535 */
        HdProto protocol;
} HdPortForward;

#define HD_PORTS_MAX 64

/* Dotted IPv4 ("255.255.255.255" + NUL) and MAC ("02:00:00:00:00:00" + NUL). */
#define HD_IPV4_STRING_MAX 16
#define HD_MAC_STRING_MAX  18

/* An instance's address on a network, handed out by IPAM when the instance is created
 * and kept for its whole life. It carries what a driver needs to wire the instance up,
 * so a driver never looks the network up. */
typedef struct HdInstanceAddress {
        char *network; /* the network's name */
        char *bridge;  /* its Linux bridge */
        char address[HD_IPV4_STRING_MAX];
        int prefix_len; /* of the network's subnet */
        char gateway[HD_IPV4_STRING_MAX];
        char mac[HD_MAC_STRING_MAX]; /* lower case, locally administered */
        int mtu;
} HdInstanceAddress;

/* A managed network: a Linux bridge with an IPv4 subnet, DHCP and DNS from a dnsmasq
 * of hostd's, and NAT to the host's uplink. */
typedef struct HdNetwork {
        char *name;      /* also the bridge's name: HD_NETWORK_NAME_MAX chars at most */
        char *subnet;    /* canonical CIDR, host bits zero: "10.88.0.0/24" */
        char *gateway;   /* the bridge's own address, dotted */
        int mtu;         /* 576..9000 */
        bool nat;        /* masquerade traffic leaving the host */
        bool is_default; /* output only: the config names it the default (not stored) */
        int64_t created_at;
        int64_t used_by; /* output only: instances with an address on it */
} HdNetwork;

#define HD_NETWORK_NAME_MAX    15 /* IFNAMSIZ - 1 */
#define HD_NETWORK_MTU_DEFAULT 1500

/* What a user asks for. Empty strings/lists mean "the image's default". */
typedef struct HdInstanceSpec {
        char *name;
        HdKind kind;
        char *image;
        HdStrv command; /* containers only */
        HdKVList env;   /* containers only */
        char *workdir;  /* containers only; NULL = image default */
        char *user;     /* containers only; NULL = image default */
        char *hostname; /* defaults to name */
        /* A network's name or "none"; containers also "host" (privileged). NULL on a
         * create request: the core puts the default network's name (or "none" when
         * there is none); a stored spec always names one. */
        char *network;
        char *ip;             /* a static IPv4 address on network; NULL: IPAM picks */
        HdPortForward *ports; /* needs a network (not none or host) */
        size_t n_ports;
        HdKVList labels;
        HdResources resources;
        HdRestartPolicy restart_policy;
        int64_t restart_max_retries; /* only with on-failure; 0 = unlimited */
        bool autostart;
        HdCloudInit cloud_init; /* VMs only */
        HdSecurity security;    /* containers only */
} HdInstanceSpec;

/* Where the scheduler put an instance and why. */
typedef struct HdPlacement {
        char *host;   /* "local" until multi-host placement exists */
        char *driver; /* the driver kind chosen */
        char *reason; /* human-readable admission arithmetic */
} HdPlacement;

/* An instance as the inventory holds it: the spec plus observed status. */
typedef struct HdInstance {
        char uuid[HD_UUID_STRING_MAX];
        HdInstanceSpec spec;
        HdState state;
        int64_t revision; /* bumped on every change; the ETag */
        int64_t created_at;
        int64_t updated_at;
        int64_t ready_at; /* ms; when the running guest said it is ready, 0 = not (yet) */
        bool has_exit_code;
        int exit_code;
        char *reason;     /* why it exited / errored: "oom", "signal", … or NULL */
        char *error;      /* message for state error, or NULL */
        bool provisioned; /* a driver has created resources for it */
        HdPlacement placement;
        HdInstanceAddress *addresses; /* one per network joined (0 or 1 today) */
        size_t n_addresses;
} HdInstance;

typedef struct HdOperation {
        char id[HD_UUID_STRING_MAX];
        HdAction action;
        char instance_uuid[HD_UUID_STRING_MAX];
        char *instance_name;
        HdOpStatus status;
        char *args_json;     /* the action's arguments as a JSON object text, or NULL */
        char *error_code;    /* API error code string when failed, or NULL */
        char *error_message; /* or NULL */
        int64_t progress_done;
        int64_t progress_total; /* 0 = unknown */
        int64_t created_at;
        int64_t updated_at;
        int64_t finished_at; /* 0 while not final */
} HdOperation;

typedef struct HdEvent {
        int64_t seq;
        int64_t time;                           /* ms since epoch */
        char *type;                             /* "instance.created", "instance.state", … */
        char instance_uuid[HD_UUID_STRING_MAX]; /* "" when not about an instance */
        char *instance_name;                    /* or NULL */
        char operation_id[HD_UUID_STRING_MAX];  /* "" when not about an operation */
        char *data_json;                        /* a JSON object text, never NULL once stored */
} HdEvent;

/* ---- images ---- */

/* A layer blob, stored once however many images use it. digest is the blob's
 * "sha256:<hex>"; diff_id the uncompressed content's (it may equal digest; NULL
 * on insert means the same as digest). */
typedef struct HdImageLayer {
        char *digest;
        char *diff_id;
        char *media_type; /* may be NULL */
        int64_t size;     /* compressed bytes */
        int64_t unpacked_size;
} HdImageLayer;

/* One name:tag. Several tags may share one digest (the sha256 of the image's
 * config or manifest, computed by the importer). */
typedef struct HdImage {
        int64_t id;
        char *name; /* e.g. `library/busybox` */
        char *tag;
        char *digest;
        HdKind kind;
        char *format;      /* rootfs, oci-archive, docker-archive, qcow2, raw or kernel */
        int64_t size;      /* bytes of all its blobs */
        char *config_json; /* a JSON object, opaque to the store; NULL is stored as {} */
        int64_t created_at;
        HdImageLayer *layers; /* in order, bottom first */
        size_t n_layers;
        char *manifest_digest; /* the OCI manifest blob kept for exports; NULL: none */
        char *config_digest;   /* the image config blob; NULL: none */
} HdImage;

void hd_image_free(HdImage *i);
HD_DEFINE_CLEANUP(HdImage *, hd_image_free)
void hd_image_array_free(HdImage **a, size_t n);
/* Frees the strings of each of the n layers, then the array. */
void hd_image_layers_free(HdImageLayer *a, size_t n);

/* ---- logs, exec and stats: the same shapes for both kinds ---------------------------- */

typedef enum HdLogStreams {
        HD_LOG_STDOUT = 1,
        HD_LOG_STDERR = 2,
        HD_LOG_ALL = 3,
} HdLogStreams;

typedef struct HdLogOptions {
        int64_t tail; /* the last N lines; < 0: all */
        bool follow;  /* go on until the instance's process ends */
        bool timestamps;
        HdLogStreams streams;
} HdLogOptions;

#define HD_EXEC_OUTPUT_MAX (16U << 20)

typedef struct HdExecRequest {
        HdStrv command;
        HdKVList env;
        char *workdir; /* NULL: the instance's */
        char *user;    /* NULL: the instance's */
        char *stdin_data;
        size_t stdin_len;
        int timeout_s;
} HdExecRequest;

typedef struct HdExecResult {
        int exit_code;
        bool timed_out;
        bool truncated; /* an output passed HD_EXEC_OUTPUT_MAX and was cut */
        char *out, *err;
        size_t out_len, err_len;
} HdExecResult;

typedef struct HdStats {
        int64_t time_ms;
        uint64_t cpu_usage_ns, cpu_user_ns, cpu_system_ns;
        uint64_t cpu_throttled_periods, cpu_throttled_ns;
        uint64_t memory_bytes, memory_peak_bytes, memory_limit_bytes;
        uint64_t oom_kills;
        uint64_t pids_current, pids_limit;
        uint64_t io_read_bytes, io_write_bytes;
        /* VMs: what the guest costs the host, its qemu process, beside the guest's own
         * figures above. */
        bool has_host;
        uint64_t host_cpu_ns, host_user_ns, host_system_ns;
        uint64_t host_rss_bytes, host_rss_peak_bytes;
        /* Both kinds: the proportional set size (shared pages split among their users)
         * of the host process the instance costs: a VM's qemu, a container's monitor
         * (the container's own memory is in memory_bytes). Unset when /proc cannot
         * tell. */
        bool has_pss;
        uint64_t host_pss_bytes;
} HdStats;

/* Each _clear frees what the struct owns and zeroes it; each _free also frees the
 * struct. All accept NULL. */
void hd_kvlist_clear(HdKVList *l);
/* Inserts or replaces key, keeping the list sorted. Copies both strings. */
int hd_kvlist_set(HdKVList *l, const char *key, const char *value);
/* Removes key if present; returns 1 if it was removed, 0 if absent. */
int hd_kvlist_remove(HdKVList *l, const char *key);
const char *hd_kvlist_get(const HdKVList *l, const char *key);
int hd_kvlist_copy(HdKVList *dst, const HdKVList *src);
void hd_strv_clear(HdStrv *v);
int hd_strv_push(HdStrv *v, const char *s);
int hd_strv_copy(HdStrv *dst, const HdStrv *src);

void hd_instance_address_clear(HdInstanceAddress *a);
void hd_instance_addresses_free(HdInstanceAddress *a, size_t n);
int hd_instance_addresses_copy(HdInstanceAddress **dst, size_t *dst_n, const HdInstanceAddress *src,
                               size_t n);
void hd_network_clear(HdNetwork *n);
void hd_network_free(HdNetwork *n);
int hd_network_copy(HdNetwork *dst, const HdNetwork *src);
void hd_network_array_free(HdNetwork **a, size_t n);
HD_DEFINE_CLEANUP(HdNetwork *, hd_network_free)

void hd_instance_spec_clear(HdInstanceSpec *s);
int hd_instance_spec_copy(HdInstanceSpec *dst, const HdInstanceSpec *src);
void hd_placement_clear(HdPlacement *p);
void hd_exec_request_clear(HdExecRequest *r);
void hd_exec_result_clear(HdExecResult *r);
void hd_instance_clear(HdInstance *i);
void hd_instance_free(HdInstance *i);
int hd_instance_copy(HdInstance *dst, const HdInstance *src);
void hd_operation_clear(HdOperation *o);
void hd_operation_free(HdOperation *o);
void hd_event_clear(HdEvent *e);
void hd_event_free(HdEvent *e);

HD_DEFINE_CLEANUP(HdInstance *, hd_instance_free)
HD_DEFINE_CLEANUP(HdOperation *, hd_operation_free)
HD_DEFINE_CLEANUP(HdEvent *, hd_event_free)

/* Frees an array of n pointers and the array itself. */
void hd_instance_array_free(HdInstance **a, size_t n);
void hd_operation_array_free(HdOperation **a, size_t n);
void hd_event_array_free(HdEvent **a, size_t n);
