/* What the VM driver watches and reads back: the watcher thread (libvirt's lifecycle
 * events become sink reports, consoles are scanned for the readiness marker), the serial
 * console as logs, and a running domain's figures. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libvirt/libvirt-qemu.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "hd-log.h"
#include "hd-util.h"
#include "vm-driver-internal.h"
#include "hd-proc.h"
#include "vm-xml.h"

#define READY_POLL_MS        20 /* how often a booting guest's console is read */
#define AGENT_PING_TIMEOUT_S 2
#define AGENT_PING_TRIES     5
#define ACTIVE_CHECK_MS      250 /* how often a log follower asks whether the guest still runs */
#define STARTING_GRACE_MS    60000

/* ---- the watch list (caller holds d->lock) ------------------------------------------- */

static VmWatch *watch_find(VmDriver *d, const char *uuid)
{
        for (VmWatch *w = d->watches; w; w = w->next)
                if (strcmp(w->uuid, uuid) == 0)
                        return w;
        return NULL;
}

/* Finds or adds uuid's watch; NULL when out of memory. */
static VmWatch *watch_get(VmDriver *d, const char *uuid)
{
        VmWatch *w = watch_find(d, uuid);
        if (w)
                return w;
        if (!(w = calloc(1, sizeof(*w))))
                return NULL;
        snprintf(w->uuid, sizeof(w->uuid), "%s", uuid);
        w->reported = HD_STATE_INVALID;
        w->next = d->watches;
        d->watches = w;
        return w;
}

static void watch_free(VmWatch *w)
{
        if (!w)
                return;
        free(w->console);
        free(w);
}

void hd_vm_watch_event(VmDriver *d, const char *uuid, int event, int detail)
{
        pthread_mutex_lock(&d->lock);
        VmWatch *w = watch_find(d, uuid);
        if (w && w->busy > 0) {
                pthread_mutex_unlock(&d->lock);
                return; /* an action's own doing: its result says it */
        }
        VmEvent *e = calloc(1, sizeof(*e));
        if (e) {
                snprintf(e->uuid, sizeof(e->uuid), "%s", uuid);
                e->event = event;
                e->detail = detail;
                *d->events_tail = e;
                d->events_tail = &e->next;
                pthread_cond_signal(&d->cond);
        }
        pthread_mutex_unlock(&d->lock);
        if (!e)
                hd_log_error("vm %s: lifecycle event lost: out of memory", uuid);
}

void hd_vm_watch_agent(VmDriver *d, const char *uuid)
{
        pthread_mutex_lock(&d->lock);
        VmWatch *w = watch_get(d, uuid);
        if (w) {
                w->agent_due_ms = hd_monotonic_ms();
                w->agent_tries = 0;
                pthread_cond_signal(&d->cond);
        }
        pthread_mutex_unlock(&d->lock);
        if (!w)
                hd_log_error("vm %s: cannot ask its guest agent: out of memory", uuid);
}

void hd_vm_watch_reboot(VmDriver *d, const char *uuid)
{
        /* Only counted where hostd acted already (a restart marks the domain busy first). */
        pthread_mutex_lock(&d->lock);
        VmWatch *w = watch_find(d, uuid);
        if (w)
                w->reboots++;
        pthread_mutex_unlock(&d->lock);
}

void hd_vm_busy_enter(VmDriver *d, const char *uuid)
{
        pthread_mutex_lock(&d->lock);
        VmWatch *w = watch_get(d, uuid);
        if (w)
                w->busy++;
        pthread_mutex_unlock(&d->lock);
}

void hd_vm_busy_leave(VmDriver *d, const char *uuid, HdState outcome)
{
        pthread_mutex_lock(&d->lock);
        VmWatch *w = watch_find(d, uuid);
        if (w && w->busy > 0)
                w->busy--;
        if (w)
                w->reported = outcome;
        pthread_mutex_unlock(&d->lock);
}

void hd_vm_reported(VmDriver *d, const char *uuid, HdState state)
{
        pthread_mutex_lock(&d->lock);
        VmWatch *w = watch_get(d, uuid);
        if (w)
                w->reported = state;
        pthread_mutex_unlock(&d->lock);
}

uint64_t hd_vm_reboots(VmDriver *d, const char *uuid)
{
        pthread_mutex_lock(&d->lock);
        VmWatch *w = watch_find(d, uuid);
        uint64_t n = w ? w->reboots : 0;
        pthread_mutex_unlock(&d->lock);
        return n;
}

/* Where the current boot's output begins on the console, kept for a hostd that re-attaches
 * to the guest before it is ready: the console also holds earlier boots' markers. */
static char *boot_offset_path(const char *console)
{
        char *p = NULL;
        return asprintf(&p, "%s.boot", console) < 0 ? NULL : p;
}

void hd_vm_ready_arm(VmDriver *d, const char *uuid, const char *console, int64_t offset)
{
        _cleanup_free_ char *kept = boot_offset_path(console);
        char text[32];
        int len = snprintf(text, sizeof(text), "%lld\n", (long long)offset);
        if (!kept || hd_write_file_atomic(kept, text, (size_t)len, 0600) < 0)
                hd_log_warn("vm %s: cannot keep where this boot's console output begins", uuid);

        char *copy = strdup(console);
        pthread_mutex_lock(&d->lock);
        VmWatch *w = copy ? watch_get(d, uuid) : NULL;
        if (w) {
                free(w->console);
                w->console = TAKE_PTR(copy);
                w->ready_offset = offset;
                w->carry_len = 0;
                w->want_ready = true;
                w->ready_deadline_ms = hd_monotonic_ms() + HD_VM_READY_WATCH_MS;
                pthread_cond_signal(&d->cond);
        }
        pthread_mutex_unlock(&d->lock);
        if (!w)
                hd_log_error("vm %s: cannot watch for readiness: out of memory", uuid);
        free(copy);
}

void hd_vm_ready_rearm(VmDriver *d, const char *uuid, const char *console)
{
        _cleanup_free_ char *kept = boot_offset_path(console);
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int64_t offset = 0;
        if (kept && hd_read_file(kept, 64, &text, &len) >= 0)
                offset = strtoll(text, NULL, 10);
        if (offset < 0)
                offset = 0;
        hd_vm_ready_arm(d, uuid, console, offset);
}

void hd_vm_ready_disarm(VmDriver *d, const char *uuid)
{
        pthread_mutex_lock(&d->lock);
        VmWatch *w = watch_find(d, uuid);
        if (w)
                w->want_ready = false;
        pthread_mutex_unlock(&d->lock);
}

void hd_vm_watch_forget(VmDriver *d, const char *uuid)
{
        pthread_mutex_lock(&d->lock);
        for (VmWatch **p = &d->watches; *p; p = &(*p)->next) {
                if (strcmp((*p)->uuid, uuid) == 0) {
                        VmWatch *w = *p;
                        *p = w->next;
                        watch_free(w);
                        break;
                }
        }
        pthread_mutex_unlock(&d->lock);
}

/* ---- readiness ----------------------------------------------------------------------- */

/* Reads what the console got since the last look; true once the marker is there. Only
 * new bytes are read: a booting guest's console is a few KiB. */
static bool console_scan(VmWatch *w)
{
        _cleanup_close_ int fd = open(w->console, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0)
                return false;
        if (st.st_size < w->ready_offset) {
                /* Replaced or truncated: what is there now is this boot's. */
                w->ready_offset = 0;
                w->carry_len = 0;
        }
        const size_t keep = sizeof(HD_VM_READY_MARKER) - 2; /* marker length - 1 */
        char buf[sizeof(w->carry) + 65536];
        for (;;) {
                memcpy(buf, w->carry, w->carry_len);
                ssize_t n = pread(fd, buf + w->carry_len, sizeof(buf) - sizeof(w->carry),
                                  w->ready_offset);
                if (n <= 0)
                        return false;
                size_t len = w->carry_len + (size_t)n;
                w->ready_offset += n;
                if (memmem(buf, len, HD_VM_READY_MARKER, sizeof(HD_VM_READY_MARKER) - 1))
                        return true;
                w->carry_len = len < keep ? len : keep;
                memcpy(w->carry, buf + len - w->carry_len, w->carry_len);
        }
}

/* The first watch whose console shows the marker now (its watch is disarmed). Caller
 * holds d->lock. */
static bool ready_next(VmDriver *d, char ret_uuid[static HD_UUID_STRING_MAX], bool *ret_any)
{
        *ret_any = false;
        int64_t now = hd_monotonic_ms();
        for (VmWatch *w = d->watches; w; w = w->next) {
                if (w->want_ready && now > w->ready_deadline_ms) {
                        hd_log_info("vm %s: no %s on its console in %d min: not watching it "
                                    "any longer",
                                    w->uuid, HD_VM_READY_MARKER, HD_VM_READY_WATCH_MS / 60000);
                        w->want_ready = false;
                }
                if (!w->want_ready)
                        continue;
                if (console_scan(w)) {
                        w->want_ready = false;
                        snprintf(ret_uuid, HD_UUID_STRING_MAX, "%s", w->uuid);
                        return true;
                }
                *ret_any = true;
        }
        return false;
}

/* ---- lifecycle events ---------------------------------------------------------------- */

static const char *event_name(int event)
{
        static const char *const names[] = { "defined",   "undefined",   "started",
                                             "suspended", "resumed",     "stopped",
                                             "shutdown",  "pmsuspended", "crashed" };
        return event >= 0 && (size_t)event < HD_ARRAY_SIZE(names) ? names[event] : "unknown";
}

bool hd_vm_result_for_state(int state, int reason, HdDriverResult *ret)
{
        *ret = (HdDriverResult){ 0 };
        switch (state) {
        case VIR_DOMAIN_RUNNING:
        case VIR_DOMAIN_BLOCKED:
        case VIR_DOMAIN_SHUTDOWN: /* being shut down: it still runs */
                ret->state = HD_STATE_RUNNING;
                return true;
        case VIR_DOMAIN_PAUSED:
        case VIR_DOMAIN_PMSUSPENDED:
                ret->state = HD_STATE_PAUSED;
                if (state == VIR_DOMAIN_PAUSED && reason == VIR_DOMAIN_PAUSED_IOERROR)
                        snprintf(ret->reason, sizeof(ret->reason), "io-error");
                return true;
        case VIR_DOMAIN_SHUTOFF:
                ret->state = HD_STATE_STOPPED;
                if (reason == VIR_DOMAIN_SHUTOFF_CRASHED || reason == VIR_DOMAIN_SHUTOFF_FAILED) {
                        ret->state = HD_STATE_ERROR;
                        snprintf(ret->reason, sizeof(ret->reason), "%s",
                                 reason == VIR_DOMAIN_SHUTOFF_CRASHED ? "crashed"
                                                                      : "hypervisor-failed");
                } else if (reason == VIR_DOMAIN_SHUTOFF_SHUTDOWN) {
                        snprintf(ret->reason, sizeof(ret->reason), "poweroff");
                } else if (reason == VIR_DOMAIN_SHUTOFF_DESTROYED) {
                        snprintf(ret->reason, sizeof(ret->reason), "destroyed");
                }
                return true;
        case VIR_DOMAIN_CRASHED:
                ret->state = HD_STATE_ERROR;
                snprintf(ret->reason, sizeof(ret->reason), "crashed");
                return true;
        default:
                return false;
        }
}

/* An event says something changed; what the domain is now says what. Reading the state
 * back (rather than trusting the event) keeps a late event from undoing a newer change. */
/* The first watch whose agent ping is due (taken off); *ret_any says whether any is
 * pending. Caller holds d->lock. */
static bool agent_next(VmDriver *d, char ret_uuid[static HD_UUID_STRING_MAX], bool *ret_any)
{
        int64_t now = hd_monotonic_ms();
        for (VmWatch *w = d->watches; w; w = w->next) {
                if (!w->agent_due_ms)
                        continue;
                if (w->agent_due_ms <= now) {
                        w->agent_due_ms = 0;
                        snprintf(ret_uuid, HD_UUID_STRING_MAX, "%s", w->uuid);
                        return true;
                }
                *ret_any = true;
        }
        return false;
}

/* The agent's first answer to a ping is the guest saying it is ready. Unanswered, the
 * ping is tried again later, 0.5 s, 1 s … 8 s on: an agent that connected while no hostd
 * ran is connected by libvirt a moment after hostd re-attaches. */
static void agent_ping(VmDriver *d, const char *uuid)
{
        virDomainPtr dom = NULL;
        _cleanup_error_ HdError *err = NULL;
        if (hd_vm_domain_lookup(d, uuid, &dom, &err) <= 0)
                return;
        char *reply = virDomainQemuAgentCommand(dom, "{\"execute\": \"guest-ping\"}",
                                                AGENT_PING_TIMEOUT_S, 0);
        if (!reply)
                hd_log_debug("vm %s: its guest agent does not answer: %s", uuid,
                             hd_vm_error_message());
        bool active = virDomainIsActive(dom) == 1;
        virResetLastError();
        hd_vm_domain_free(dom);
        if (!reply) {
                pthread_mutex_lock(&d->lock);
                VmWatch *w = watch_find(d, uuid);
                if (active && w && !w->agent_due_ms && w->agent_tries < AGENT_PING_TRIES) {
                        w->agent_due_ms = hd_monotonic_ms() + (INT64_C(500) << w->agent_tries);
                        w->agent_tries++;
                }
                pthread_mutex_unlock(&d->lock);
                return;
        }
        free(reply);
        hd_log_info("vm %s is ready (its guest agent answers)", uuid);
        if (d->sink.ready)
                d->sink.ready(d->sink.core, uuid, hd_now_ms());
}

static void handle_event(VmDriver *d, const VmEvent *e)
{
        virDomainPtr dom = NULL;
        _cleanup_error_ HdError *err = NULL;
        if (hd_vm_domain_lookup(d, e->uuid, &dom, &err) <= 0)
                return; /* undefined meanwhile (a delete) */
        char uuid[HD_UUID_STRING_MAX];
        int state = 0, reason = 0;
        HdDriverResult res;
        bool ours = hd_vm_domain_is_hostd(dom, uuid) && strcmp(uuid, e->uuid) == 0;
        bool known = ours && virDomainGetState(dom, &state, &reason, 0) == 0 &&
                     hd_vm_result_for_state(state, reason, &res);
        hd_vm_domain_free(dom);
        if (!known)
                return;
        pthread_mutex_lock(&d->lock);
        VmWatch *w = watch_get(d, e->uuid);
        /* An action began meanwhile (its outcome will say), or the event echoes what the
         * core was told already (an action's own doing, delivered after it ended). */
        bool quiet = w && (w->busy > 0 || w->reported == res.state);
        if (w && !quiet)
                w->reported = res.state;
        if (w && res.state != HD_STATE_RUNNING && res.state != HD_STATE_PAUSED)
                w->want_ready = false;
        pthread_mutex_unlock(&d->lock);
        hd_log_debug("vm %s: libvirt reports %s (detail %d): %s%s", e->uuid, event_name(e->event),
                     e->detail, hd_state_to_string(res.state), quiet ? ", already known" : "");
        if (quiet)
                return;
        hd_log_info("vm %s: now %s%s%s (libvirt event: %s)", e->uuid, hd_state_to_string(res.state),
                    res.reason[0] ? ", " : "", res.reason, event_name(e->event));
        d->sink.state_changed(d->sink.core, e->uuid, &res);
}

/* ---- the watcher thread -------------------------------------------------------------- */

static void *watcher_main(void *arg)
{
        VmDriver *d = arg;
        pthread_mutex_lock(&d->lock);
        while (!d->watcher_quit) {
                if (d->events) {
                        VmEvent *e = d->events;
                        d->events = e->next;
                        if (!d->events)
                                d->events_tail = &d->events;
                        pthread_mutex_unlock(&d->lock);
                        handle_event(d, e);
                        free(e);
                        pthread_mutex_lock(&d->lock);
                        continue;
                }
                char uuid[HD_UUID_STRING_MAX];
                bool any = false;
                if (ready_next(d, uuid, &any)) {
                        int64_t at = hd_now_ms();
                        pthread_mutex_unlock(&d->lock);
                        hd_log_info("vm %s is ready (its console shows %s)", uuid,
                                    HD_VM_READY_MARKER);
                        if (d->sink.ready)
                                d->sink.ready(d->sink.core, uuid, at);
                        pthread_mutex_lock(&d->lock);
                        continue;
                }
                if (agent_next(d, uuid, &any)) {
                        pthread_mutex_unlock(&d->lock);
                        agent_ping(d, uuid);
                        pthread_mutex_lock(&d->lock);
                        continue;
                }
                if (!any) {
                        pthread_cond_wait(&d->cond, &d->lock);
                        continue;
                }
                struct timespec ts;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                ts.tv_nsec += READY_POLL_MS * 1000000L;
                if (ts.tv_nsec >= 1000000000L) {
                        ts.tv_sec++;
                        ts.tv_nsec -= 1000000000L;
                }
                pthread_cond_timedwait(&d->cond, &d->lock, &ts);
        }
        pthread_mutex_unlock(&d->lock);
        return NULL;
}

int hd_vm_watcher_start(VmDriver *d, HdError **err)
{
        d->watcher_quit = false;
        int r = pthread_create(&d->watcher, NULL, watcher_main, d);
        if (r != 0)
                return hd_error_set(err, -r, "cannot start the vm watcher thread: %s", strerror(r));
        d->watcher_started = true;
        return 0;
}

void hd_vm_watcher_stop(VmDriver *d)
{
        pthread_mutex_lock(&d->lock);
        if (d->watcher_started) {
                d->watcher_quit = true;
                pthread_cond_broadcast(&d->cond);
        }
        pthread_mutex_unlock(&d->lock);
        if (d->watcher_started) {
                pthread_join(d->watcher, NULL);
                d->watcher_started = false;
        }
        pthread_mutex_lock(&d->lock);
        while (d->events) {
                VmEvent *e = d->events;
                d->events = e->next;
                free(e);
        }
        d->events_tail = &d->events;
        pthread_mutex_unlock(&d->lock);
}

/* ---- logs: the serial console -------------------------------------------------------- */

typedef struct VmLogs {
        HdDriverLogs base;
        VmDriver *d;
        char uuid[HD_UUID_STRING_MAX];
        char *path;
        int fd;
        int64_t off;
        int64_t tail; /* lines still to skip to, applied at the first open: < 0 none */
        bool follow;
        bool ended; /* the guest stopped: one last read, then the end */
        int64_t opened_ms, checked_ms;
        bool starting;
        bool empty; /* stderr alone was asked for: the console is stdout */
} VmLogs;

/* Where the last `lines` lines of the file begin (its final newline ends the last line). */
static int64_t tail_offset(int fd, int64_t size, int64_t lines)
{
        if (lines == 0)
                return size;
        char buf[8192];
        int64_t pos = size, seen = 0;
        while (pos > 0) {
                size_t n = pos < (int64_t)sizeof(buf) ? (size_t)pos : sizeof(buf);
                pos -= (int64_t)n;
                if (pread(fd, buf, n, pos) != (ssize_t)n)
                        return 0;
                for (size_t i = n; i-- > 0;) {
                        if (buf[i] != '\n' || pos + (int64_t)i == size - 1)
                                continue;
                        if (++seen == lines)
                                return pos + (int64_t)i + 1;
                }
        }
        return 0;
}

static void logs_try_open(VmLogs *l)
{
        if (l->fd >= 0)
                return;
        l->fd = open(l->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (l->fd < 0)
                return;
        struct stat st;
        if (l->tail >= 0 && fstat(l->fd, &st) == 0)
                l->off = tail_offset(l->fd, st.st_size, l->tail);
}

static bool guest_active(VmLogs *l)
{
        virDomainPtr dom = NULL;
        _cleanup_error_ HdError *err = NULL;
        if (hd_vm_domain_lookup(l->d, l->uuid, &dom, &err) <= 0)
                return false;
        bool active = virDomainIsActive(dom) == 1;
        hd_vm_domain_free(dom);
        return active;
}

static ssize_t logs_read(HdDriverLogs *base, char *out, size_t max)
{
        VmLogs *l = (VmLogs *)base;
        if (l->empty)
                return -ENODATA;
        for (;;) {
                logs_try_open(l);
                if (l->fd >= 0) {
                        ssize_t n = pread(l->fd, out, max, l->off);
                        if (n < 0)
                                return -errno;
                        if (n > 0) {
                                l->off += n;
                                return n;
                        }
                }
                if (!l->follow || l->ended)
                        return -ENODATA;
                int64_t now = hd_monotonic_ms();
                if (now - l->checked_ms < ACTIVE_CHECK_MS)
                        return 0;
                l->checked_ms = now;
                if (guest_active(l)) {
                        l->starting = false;
                        return 0;
                }
                /* A start under way may not have made the domain run yet. */
                if (l->starting && now - l->opened_ms < STARTING_GRACE_MS)
                        return 0;
                l->ended = true; /* drain what the guest wrote last */
        }
}

static void logs_close(HdDriverLogs *base)
{
        VmLogs *l = (VmLogs *)base;
        if (!l)
                return;
        if (l->fd >= 0)
                close(l->fd);
        free(l->path);
        free(l);
}

int hd_vm_logs_open(HdDriver *base, const HdInstance *inst, const HdLogOptions *o,
                    HdDriverLogs **ret, HdError **err)
{
        VmDriver *d = vm_driver(base);
        if (o->timestamps)
                return hd_error_set_field(err, -EINVAL, "timestamps",
                                          "a VM's serial console has no timestamps");
        VmLogs *l = calloc(1, sizeof(*l));
        if (!l)
                return hd_error_set(err, -ENOMEM, "out of memory");
        l->base = (HdDriverLogs){ .read = logs_read, .close = logs_close };
        l->d = d;
        l->fd = -1;
        l->tail = o->tail;
        snprintf(l->uuid, sizeof(l->uuid), "%s", inst->uuid);
        l->opened_ms = hd_monotonic_ms();
        l->checked_ms = l->opened_ms - ACTIVE_CHECK_MS;
        l->starting = inst->state == HD_STATE_STARTING;
        /* Following a VM that does not run has nothing to wait for. The console is the
         * only stream, counted as stdout. */
        l->follow = o->follow && (inst->state == HD_STATE_RUNNING ||
                                  inst->state == HD_STATE_PAUSED || l->starting);
        if (!(l->path = hd_vm_console_path(d, inst->uuid))) {
                logs_close(&l->base);
                return hd_error_set(err, -ENOMEM, "out of memory");
        }
        l->empty = !(o->streams & HD_LOG_STDOUT);
        if (!l->empty)
                logs_try_open(l);
        *ret = &l->base;
        return 0;
}

/* ---- stats --------------------------------------------------------------------------- */

/* VmRSS and VmHWM of a process, in bytes. */
static void proc_memory(pid_t pid, uint64_t *ret_rss, uint64_t *ret_hwm)
{
        char path[64], line[256];
        snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        while (f && fgets(line, sizeof(line), f)) {
                unsigned long long kib = 0;
                if (sscanf(line, "VmRSS: %llu kB", &kib) == 1)
                        *ret_rss = kib * 1024;
                else if (sscanf(line, "VmHWM: %llu kB", &kib) == 1)
                        *ret_hwm = kib * 1024;
        }
}

static void cpu_split(virDomainPtr dom, HdStats *ret)
{
        int n = virDomainGetCPUStats(dom, NULL, 0, -1, 1, 0);
        if (n <= 0) {
                virResetLastError();
                return;
        }
        virTypedParameterPtr params = calloc((size_t)n, sizeof(*params));
        if (!params)
                return;
        int got = virDomainGetCPUStats(dom, params, (unsigned)n, -1, 1, 0);
        if (got < 0) {
                virResetLastError();
                free(params);
                return;
        }
        unsigned long long v = 0;
        if (virTypedParamsGetULLong(params, got, VIR_DOMAIN_CPU_STATS_USERTIME, &v) == 1)
                ret->host_user_ns = v;
        if (virTypedParamsGetULLong(params, got, VIR_DOMAIN_CPU_STATS_SYSTEMTIME, &v) == 1)
                ret->host_system_ns = v;
        virTypedParamsClear(params, got);
        free(params);
}

/* The time the guest's vCPU threads have run, in ns. */
static uint64_t vcpu_time(virDomainPtr dom, int nr)
{
        if (nr <= 0 || nr > HD_VM_VCPUS_MAX)
                return 0;
        virVcpuInfoPtr v = calloc((size_t)nr, sizeof(*v));
        if (!v)
                return 0;
        uint64_t sum = 0;
        int got = virDomainGetVcpus(dom, v, nr, NULL, 0);
        for (int k = 0; k < got; k++)
                sum += v[k].cpuTime;
        if (got < 0)
                virResetLastError();
        free(v);
        return sum;
}

int hd_vm_stats(HdDriver *base, const HdInstance *inst, HdStats *ret, HdError **err)
{
        VmDriver *d = vm_driver(base);
        *ret = (HdStats){ .time_ms = hd_now_ms() };
        virDomainPtr dom = NULL;
        int r = hd_vm_domain_lookup(d, inst->uuid, &dom, err);
        if (r < 0)
                return r;
        virDomainInfo info;
        if (r == 0 || virDomainIsActive(dom) != 1 || virDomainGetInfo(dom, &info) < 0) {
                hd_vm_domain_free(dom);
                return hd_error_set(err, -EBUSY, "vm `%s` is not running", inst->spec.name);
        }
        /* The guest's own figures where the container's are (its vCPUs' time, the
         * memory it uses), and under host what it costs the host: all of qemu's CPU time
         * (device emulation, and TCG's translation) and qemu's resident memory. */
        ret->has_host = true;
        ret->host_cpu_ns = info.cpuTime;
        ret->memory_limit_bytes = (uint64_t)info.maxMem * 1024;
        cpu_split(dom, ret);
        ret->cpu_usage_ns = vcpu_time(dom, info.nrVirtCpu);
        pid_t pid = hd_vm_domain_pid(d, dom);
        if (pid > 0) {
                proc_memory(pid, &ret->host_rss_bytes, &ret->host_rss_peak_bytes);
                /* RSS counts qemu's shared libraries whole; PSS its share of them, what
                 * one more guest really costs. */
                ret->has_pss = hd_proc_pss(pid, &ret->host_pss_bytes) >= 0;
        }
        /* In use: what the guest's balloon driver reports; without one, the guest memory
         * qemu has touched (its resident size, at most the guest's size). */
        uint64_t avail = 0, unused = 0;
        virDomainMemoryStatStruct ms[VIR_DOMAIN_MEMORY_STAT_NR];
        int n = virDomainMemoryStats(dom, ms, VIR_DOMAIN_MEMORY_STAT_NR, 0);
        for (int k = 0; k < n; k++) {
                if (ms[k].tag == VIR_DOMAIN_MEMORY_STAT_AVAILABLE)
                        avail = ms[k].val * 1024;
                else if (ms[k].tag == VIR_DOMAIN_MEMORY_STAT_UNUSED)
                        unused = ms[k].val * 1024;
        }
        if (n < 0)
                virResetLastError();
        uint64_t limit = ret->memory_limit_bytes;
        if (avail > 0 && unused <= avail) {
                ret->memory_bytes = avail - unused;
        } else {
                ret->memory_bytes = ret->host_rss_bytes < limit ? ret->host_rss_bytes : limit;
                ret->memory_peak_bytes =
                        ret->host_rss_peak_bytes < limit ? ret->host_rss_peak_bytes : limit;
        }
        virDomainBlockStatsStruct bs;
        if (virDomainBlockStats(dom, "vda", &bs, sizeof(bs)) == 0) {
                ret->io_read_bytes = bs.rd_bytes > 0 ? (uint64_t)bs.rd_bytes : 0;
                ret->io_write_bytes = bs.wr_bytes > 0 ? (uint64_t)bs.wr_bytes : 0;
        } else {
                virResetLastError();
        }
        hd_vm_domain_free(dom);
        return 0;
}
