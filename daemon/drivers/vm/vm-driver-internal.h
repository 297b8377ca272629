/* Shared by the VM driver's files: vm-driver.c (the vtable and the actions), vm-conn.c
 * (the libvirt connection and its event loop), vm-disk.c (overlays and the kernel cache),
 * vm-io.c (the watcher, logs and stats) and vm-exec.c (exec through the guest agent).
 * Not for other modules.
 *
 * libvirt's types appear here only as incomplete structs (virDomainPtr is a struct
 * _virDomain *): only the vm-*.c files include libvirt/libvirt.h. */
#pragma once

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "img-store.h"
#include "vm-driver.h"

struct _virConnect;
struct _virDomain;

/* What the driver keeps per domain it knows about: action bookkeeping and readiness. */
typedef struct VmWatch {
        char uuid[HD_UUID_STRING_MAX];
        /* Actions under way on the domain: the state changes they cause are their
         * outcome, so lifecycle events meanwhile are not news for the sink. */
        int busy;
        /* The state the core was last told (an action's outcome, or a report): an event
         * that finds the domain in that state is an echo, not news. */
        HdState reported;
        uint64_t reboots; /* reboot events seen (a restart waits for the next one) */
        /* Readiness: the console is scanned from ready_offset for the marker. */
        bool want_ready;
        int64_t ready_deadline_ms; /* monotonic: a guest without the marker is not read forever */
        char *console;
        int64_t ready_offset;
        char carry[16]; /* the end of the last read, for a marker cut in two */
        size_t carry_len;
        /* A ping of the guest agent is due at agent_due_ms (monotonic; 0: none), the
         * agent_tries-th: libvirt may take a moment to connect to an agent it adopted. */
        int64_t agent_due_ms;
        int agent_tries;
        struct VmWatch *next;
} VmWatch;

/* A lifecycle event, queued by the event loop for the watcher thread. */
typedef struct VmEvent {
        char uuid[HD_UUID_STRING_MAX];
        int event, detail;
        struct VmEvent *next;
} VmEvent;

typedef struct VmDriver {
        HdDriver base;
        char *state_dir;
        char *vms_dir;      /* <state_dir>/vms: one directory per instance */
        char *kernels_dir;  /* <state_dir>/vm/kernels: kernel bundles, unpacked once */
        char *libvirt_root; /* <state_dir>/libvirt for the embedded driver, else NULL */
        char *uri;
        char *accel_cfg; /* NULL, "auto", "kvm" or "tcg" */
        HdImgStore *images;
        HdDriverSink sink;
        bool kvm;
        char accel_reason[256];
        HdStrv foreign; /* domains without hostd metadata, seen at init */
        /* Versions for GET /v1 and benchmark manifests: libvirt's read at init, QEMU's
         * once a guest has started (asking earlier would make libvirt probe QEMU). */
        pthread_mutex_t versions_lock;
        char libvirt_version[32];
        char qemu_version[32];
        bool started_once;

        /* vm-conn.c */
        struct _virConnect *conn;
        int lifecycle_cb, reboot_cb, agent_cb; /* callback ids, -1 when none */
        pthread_t loop_thread;
        bool loop_started;
        atomic_bool loop_quit;

        /* vm-io.c: the watcher thread, and what it watches */
        pthread_mutex_t lock;
        pthread_cond_t cond;
        VmWatch *watches;
        VmEvent *events, **events_tail;
        pthread_t watcher;
        bool watcher_started;
        bool watcher_quit;

        pthread_mutex_t kernel_lock; /* one unpacking of a kernel bundle at a time */
} VmDriver;

static inline VmDriver *vm_driver(HdDriver *d)
{
        return (VmDriver *)d;
}

/* ---- vm-conn.c ----------------------------------------------------------------------- */

/* Starts libvirt's event loop thread, writes the embedded driver's qemu.conf, connects,
 * probes KVM, registers the lifecycle and reboot callbacks and lists the domains (hostd's
 * are left to observe, foreign ones are reported). The error says why VMs cannot run. */
int hd_vm_conn_open(VmDriver *d, HdError **err);
/* Deregisters the callbacks, closes the connection and stops the event loop. Guests go on
 * running. Safe to call when nothing was opened. */
void hd_vm_conn_close(VmDriver *d);
/* libvirt's last error on this thread, never NULL. */
const char *hd_vm_error_message(void);
/* The domain with the instance's UUID: 1 and *ret (free with hd_vm_domain_free), 0 when
 * there is none, -EIO (err set) when libvirt cannot tell. */
int hd_vm_domain_lookup(VmDriver *d, const char *uuid, struct _virDomain **ret, HdError **err);
void hd_vm_domain_free(struct _virDomain *dom);
/* Whether the domain carries hostd's metadata; its instance UUID goes to ret_uuid. */
bool hd_vm_domain_is_hostd(struct _virDomain *dom, char ret_uuid[static HD_UUID_STRING_MAX]);
/* The qemu process of a running domain, from libvirt's pid file; 0 when unknown. */
pid_t hd_vm_domain_pid(VmDriver *d, struct _virDomain *dom);

/* ---- vm-disk.c ----------------------------------------------------------------------- */

/* <vms_dir>/<uuid>, malloc'd; NULL when out of memory. */
char *hd_vm_instance_dir(VmDriver *d, const char *uuid);
/* <vms_dir>/<uuid>/console.log, the serial console's file (malloc'd; NULL: no memory). */
char *hd_vm_console_path(VmDriver *d, const char *uuid);

/* What a domain boots from, all absolute paths (or NULL). */
typedef struct VmBootFiles {
        char *disk;     /* <dir>/disk.qcow2 */
        char *kernel;   /* <kernels_dir>/<hex>/vmlinuz */
        char *initrd;   /* <kernels_dir>/<hex>/initrd, when the bundle has one */
        char *cmdline;  /* the bundle's */
        char *seed_iso; /* <dir>/seed.iso, the cloud-init NoCloud seed, when the spec has
                           cloud_init data */
} VmBootFiles;
void hd_vm_boot_files_clear(VmBootFiles *b);

/* Prepares an instance's files in dir (which exists): for a qcow2 or raw image a qcow2
 * overlay backed by the image blob (made once, then kept: it is the VM's disk), grown to
 * disk_gb when set; for a kernel bundle its kernel and initrd from the shared cache
 * (unpacked on first use) and, when disk_gb > 0, an empty qcow2 disk. The blob is only
 * ever read. When spec.cloud_init has user_data or keys, the seed ISO is written again
 * (instance-id: the UUID, local-hostname: spec.hostname), so it always matches the spec;
 * without, a seed left from before is removed. Errors name the tool or file that failed. */
int hd_vm_disk_prepare(VmDriver *d, const HdInstance *inst, const HdImgVmFile *img, const char *dir,
                       VmBootFiles *ret, HdError **err);
/* Checks resources.disk_gb against the image: an overlay cannot be smaller than its
 * backing file's virtual size (-EINVAL naming resources.disk_gb). */
int hd_vm_disk_check(const HdImgVmFile *img, int64_t disk_gb, HdError **err);
/* Removes the instance's directory and everything in it; a missing one is fine. */
int hd_vm_instance_dir_remove(VmDriver *d, const char *uuid, HdError **err);

/* ---- vm-io.c ------------------------------------------------------------------------- */

/* The watcher thread: turns queued lifecycle events into sink reports (the domain's real
 * state, read back) and watches consoles for the readiness marker. */
int hd_vm_watcher_start(VmDriver *d, HdError **err);
void hd_vm_watcher_stop(VmDriver *d);
/* From libvirt's event loop: queue an event (dropped while an action runs on uuid). */
void hd_vm_watch_event(VmDriver *d, const char *uuid, int event, int detail);
void hd_vm_watch_reboot(VmDriver *d, const char *uuid);
/* Asks the watcher to ping uuid's guest agent (again, a few times, while it is not
 * connected); its first answer makes the guest ready. */
void hd_vm_watch_agent(VmDriver *d, const char *uuid);
/* Marks an action under way on uuid (events are its outcome), and its end with the state
 * it reports. */
void hd_vm_busy_enter(VmDriver *d, const char *uuid);
void hd_vm_busy_leave(VmDriver *d, const char *uuid, HdState outcome);
/* Records the state the core knows uuid in (observe's answer). */
void hd_vm_reported(VmDriver *d, const char *uuid, HdState state);
/* Reboot events seen for uuid so far. */
uint64_t hd_vm_reboots(VmDriver *d, const char *uuid);
/* Watches console (from offset on) for the readiness marker, or stops watching. */
void hd_vm_ready_arm(VmDriver *d, const char *uuid, const char *console, int64_t offset);
/* At re-attach: watches again for the marker of the boot that was running, from where
 * that boot's output began on the console (hd_vm_ready_arm keeps it beside the console). */
void hd_vm_ready_rearm(VmDriver *d, const char *uuid, const char *console);
void hd_vm_ready_disarm(VmDriver *d, const char *uuid);
/* Forgets everything about uuid (the instance is being removed). */
void hd_vm_watch_forget(VmDriver *d, const char *uuid);
/* The instance state for a libvirt domain state and reason (virDomainGetState's); false
 * for a state that says nothing (VIR_DOMAIN_NOSTATE). */
bool hd_vm_result_for_state(int state, int reason, HdDriverResult *ret);

/* The console's readiness marker (the tiny image's init prints it), and how long after a
 * boot the console is read for it. */
#define HD_VM_READY_MARKER   "HOSTD-READY"
#define HD_VM_READY_WATCH_MS (15 * 60 * 1000)

int hd_vm_logs_open(HdDriver *d, const HdInstance *inst, const HdLogOptions *o, HdDriverLogs **ret,
                    HdError **err);
int hd_vm_stats(HdDriver *d, const HdInstance *inst, HdStats *ret, HdError **err);

/* ---- vm-exec.c ----------------------------------------------------------------------- */

/* The exec slot: runs the request's command through the guest's QEMU guest agent
 * (guest-exec, then guest-exec-status until it ends or its timeout kills it). -EBUSY
 * when the domain does not run, -ENODEV when its agent is not connected or does not
 * answer, -EINVAL (field `user`) for a request with a user; a program the agent cannot
 * start is exit code 127 (not found) or 126 with the reason on stderr, as in a
 * container. */
int hd_vm_exec(HdDriver *d, const HdInstance *inst, const HdExecRequest *req, HdExecResult *ret,
               HdError **err);
