/* The VM driver's libvirt connection: libvirt's default event loop on a thread of its
 * own (the embedded QEMU driver runs its monitors on it), the embedded driver's
 * qemu.conf, the connection itself, the KVM probe, the lifecycle and reboot callbacks
 * (which only queue work for the watcher thread) and the domain listing at start. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "hd-log.h"
#include "hd-util.h"
#include "vm-driver-internal.h"
#include "vm-xml.h"

/* ---- libvirt, once per process ------------------------------------------------------- */

/* libvirt prints every error on stderr unless told otherwise; hostd reports them itself,
 * once, where they are handled. */
static void quiet_errors(void *userdata, virErrorPtr e)
{
        (void)userdata, (void)e;
}

static pthread_once_t libvirt_once = PTHREAD_ONCE_INIT;
static int libvirt_once_result;

static void libvirt_setup(void)
{
        /* The default event loop must be registered before the first connection. */
        if (virInitialize() < 0 || virEventRegisterDefaultImpl() < 0) {
                libvirt_once_result = -EIO;
                return;
        }
        virSetErrorFunc(NULL, quiet_errors);
}

const char *hd_vm_error_message(void)
{
        const char *m = virGetLastErrorMessage();
        return m && *m ? m : "unknown libvirt error";
}

/* ---- the event loop thread ----------------------------------------------------------- */

static void *loop_main(void *arg)
{
        VmDriver *d = arg;
        while (!atomic_load(&d->loop_quit)) {
                if (virEventRunDefaultImpl() < 0) {
                        hd_log_error("libvirt event loop: %s", hd_vm_error_message());
                        usleep(100 * 1000);
                }
        }
        return NULL;
}

/* A timer that fires at once: the loop wakes up, runs it, and sees loop_quit. */
static void wake_once(int timer, void *opaque)
{
        (void)opaque;
        virEventRemoveTimeout(timer);
}

static int loop_start(VmDriver *d, HdError **err)
{
        atomic_store(&d->loop_quit, false);
        int r = pthread_create(&d->loop_thread, NULL, loop_main, d);
        if (r != 0)
                return hd_error_set(err, -r, "cannot start libvirt's event loop thread: %s",
                                    strerror(r));
        d->loop_started = true;
        return 0;
}

static void loop_stop(VmDriver *d)
{
        if (!d->loop_started)
                return;
        atomic_store(&d->loop_quit, true);
        if (virEventAddTimeout(0, wake_once, NULL, NULL) < 0)
                hd_log_warn("cannot wake libvirt's event loop: %s", hd_vm_error_message());
        pthread_join(d->loop_thread, NULL);
        d->loop_started = false;
}

/* ---- callbacks (on the event loop: queue, never block) ------------------------------- */

static int on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
        (void)conn;
        char uuid[VIR_UUID_STRING_BUFLEN];
        if (virDomainGetUUIDString(dom, uuid) == 0)
                hd_vm_watch_event(opaque, uuid, event, detail);
        return 0;
}

static void on_reboot(virConnectPtr conn, virDomainPtr dom, void *opaque)
{
        (void)conn;
        char uuid[VIR_UUID_STRING_BUFLEN];
        if (virDomainGetUUIDString(dom, uuid) == 0)
                hd_vm_watch_reboot(opaque, uuid);
}

/* The guest opened its agent's port: a guest that runs the QEMU guest agent is ready
 * once the agent answers, which the watcher asks (never here, on the loop). */
static void on_agent(virConnectPtr conn, virDomainPtr dom, int state, int reason, void *opaque)
{
        (void)conn, (void)reason;
        char uuid[VIR_UUID_STRING_BUFLEN];
        if (state == VIR_CONNECT_DOMAIN_EVENT_AGENT_LIFECYCLE_STATE_CONNECTED &&
            virDomainGetUUIDString(dom, uuid) == 0)
                hd_vm_watch_agent(opaque, uuid);
}

/* ---- the embedded driver's configuration --------------------------------------------- */

static int write_qemu_conf(VmDriver *d, HdError **err)
{
        _cleanup_free_ char *etc = NULL, *path = NULL;
        if (asprintf(&etc, "%s/etc", d->libvirt_root) < 0 ||
            asprintf(&path, "%s/qemu.conf", etc) < 0)
                return hd_error_set(err, -ENOMEM, "out of memory");
        int r = hd_mkdir_p(etc, 0700);
        if (r < 0)
                return hd_error_set(err, r, "cannot create `%s`: %s", etc, strerror(-r));
        /* Console and logs go straight to files: there is no virtlogd to hand them to. As
         * root, qemu runs as root too and nothing is chown'ed: the state directory is
         * root's alone, and image blobs are shared backing files that must stay as they
         * are. */
        static const char common[] =
                "# Written by hostd at each start: the embedded QEMU driver's settings.\n"
                "stdio_handler = \"file\"\n";
        static const char as_root[] = "user = \"root\"\n"
                                      "group = \"root\"\n"
                                      "dynamic_ownership = 0\n"
                                      "remember_owner = 0\n";
        _cleanup_free_ char *text = NULL;
        if (asprintf(&text, "%s%s", common, geteuid() == 0 ? as_root : "") < 0)
                return hd_error_set(err, -ENOMEM, "out of memory");
        r = hd_write_file_atomic(path, text, strlen(text), 0600);
        if (r < 0)
                return hd_error_set(err, r, "cannot write `%s`: %s", path, strerror(-r));
        return 0;
}

/* Whether the URI names a QEMU driver on this machine (its emulator must be here too). */
static bool uri_is_local(const char *uri)
{
        return hd_str_startswith(uri, "qemu:///");
}

static bool have_program(const char *name)
{
        const char *path = getenv("PATH");
        if (!path || !*path)
                path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        _cleanup_free_ char *copy = strdup(path);
        char *save = NULL;
        for (char *dir = copy ? strtok_r(copy, ":", &save) : NULL; dir;
             dir = strtok_r(NULL, ":", &save)) {
                char p[PATH_MAX];
                if (snprintf(p, sizeof(p), "%s/%s", dir, name) < (int)sizeof(p) &&
                    access(p, X_OK) == 0)
                        return true;
        }
        return false;
}

/* ---- KVM ----------------------------------------------------------------------------- */

/* Whether /dev/kvm can run a guest. A device node is not enough: sandboxes and some nested
 * setups expose one that answers the API version, even makes VMs and runs a few
 * instructions, yet offers a CPUID without SSE3. QEMU's default CPU model needs SSE3,
 * and a guest kernel then hangs at boot. */
static bool kvm_device_usable(char *why, size_t n)
{
        _cleanup_close_ int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
        if (fd < 0) {
                snprintf(why, n, "/dev/kvm cannot be opened (%s)", strerror(errno));
                return false;
        }
        int version = ioctl(fd, KVM_GET_API_VERSION, 0);
        if (version != KVM_API_VERSION) {
                snprintf(why, n, "/dev/kvm answers API version %d, not %d", version,
                         KVM_API_VERSION);
                return false;
        }
        _cleanup_close_ int vm = ioctl(fd, KVM_CREATE_VM, 0);
        if (vm < 0) {
                snprintf(why, n, "/dev/kvm cannot create a VM (%s)", strerror(errno));
                return false;
        }
        for (unsigned nent = 64; nent <= 4096; nent *= 2) {
                _cleanup_free_ struct kvm_cpuid2 *c =
                        calloc(1, sizeof(*c) + nent * sizeof(struct kvm_cpuid_entry2));
                if (!c) {
                        snprintf(why, n, "out of memory");
                        return false;
                }
                c->nent = nent;
                if (ioctl(fd, KVM_GET_SUPPORTED_CPUID, c) < 0) {
                        if (errno == E2BIG)
                                continue;
                        snprintf(why, n, "/dev/kvm cannot report its CPUID (%s)", strerror(errno));
                        return false;
                }
                for (unsigned k = 0; k < c->nent; k++)
                        if (c->entries[k].function == 1 && (c->entries[k].ecx & 1))
                                return true;
                snprintf(why, n,
                         "/dev/kvm offers no SSE3 in its CPUID: an emulated or nested KVM that "
                         "cannot boot a guest");
                return false;
        }
        snprintf(why, n, "/dev/kvm reports too large a CPUID");
        return false;
}

static void probe_accel(VmDriver *d)
{
        const char *cfg = d->accel_cfg;
        if (cfg && strcmp(cfg, "kvm") == 0) {
                d->kvm = true;
                snprintf(d->accel_reason, sizeof(d->accel_reason), "kvm forced by configuration");
                return;
        }
        if (cfg && strcmp(cfg, "tcg") == 0) {
                d->kvm = false;
                snprintf(d->accel_reason, sizeof(d->accel_reason), "tcg forced by configuration");
                return;
        }
        char why[192];
        d->kvm = false;
        /* A remote libvirt's host is not this one: ask libvirt alone. */
        if (uri_is_local(d->uri) && !kvm_device_usable(why, sizeof(why))) {
                snprintf(d->accel_reason, sizeof(d->accel_reason),
                         "%s: VMs run under TCG software emulation", why);
                return;
        }
        char *caps = virConnectGetDomainCapabilities(d->conn, NULL, "x86_64", "q35", "kvm", 0);
        if (!caps) {
                snprintf(d->accel_reason, sizeof(d->accel_reason),
                         "libvirt cannot use KVM (%s): VMs run under TCG software emulation",
                         hd_vm_error_message());
                return;
        }
        free(caps);
        d->kvm = true;
        snprintf(d->accel_reason, sizeof(d->accel_reason),
                 "/dev/kvm is usable and libvirt offers kvm");
}

/* ---- domains ------------------------------------------------------------------------- */

void hd_vm_domain_free(virDomainPtr dom)
{
        if (dom)
                virDomainFree(dom);
}

int hd_vm_domain_lookup(VmDriver *d, const char *uuid, virDomainPtr *ret, HdError **err)
{
        *ret = virDomainLookupByUUIDString(d->conn, uuid);
        if (*ret)
                return 1;
        virErrorPtr e = virGetLastError();
        if (e && e->code == VIR_ERR_NO_DOMAIN) {
                virResetLastError();
                return 0;
        }
        return hd_error_set(err, -EIO, "cannot look up the domain of %s: %s", uuid,
                            hd_vm_error_message());
}

bool hd_vm_domain_is_hostd(virDomainPtr dom, char ret_uuid[static HD_UUID_STRING_MAX])
{
        _cleanup_free_ char *md = virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT,
                                                       HD_VM_XML_NS, VIR_DOMAIN_AFFECT_CURRENT);
        if (!md) {
                virResetLastError();
                return false;
        }
        /* <hostd:instance …><hostd:uuid>UUID</hostd:uuid>…: whatever the prefix. */
        const char *p = strstr(md, "uuid>");
        if (!p)
                return false;
        p += strlen("uuid>");
        while (*p == ' ' || *p == '\n' || *p == '\t')
                p++;
        if (strlen(p) < HD_UUID_STRING_MAX - 1)
                return false;
        memcpy(ret_uuid, p, HD_UUID_STRING_MAX - 1);
        ret_uuid[HD_UUID_STRING_MAX - 1] = '\0';
        return hd_uuid_is_valid(ret_uuid);
}

pid_t hd_vm_domain_pid(VmDriver *d, virDomainPtr dom)
{
        const char *name = virDomainGetName(dom);
        _cleanup_free_ char *path = NULL;
        if (!name)
                return 0;
        if (d->libvirt_root) {
                if (asprintf(&path, "%s/run/qemu/%s.pid", d->libvirt_root, name) < 0)
                        return 0;
        } else if (strcmp(d->uri, "qemu:///system") == 0) {
                if (asprintf(&path, "/run/libvirt/qemu/%s.pid", name) < 0)
                        return 0;
        } else {
                return 0;
        }
        _cleanup_free_ char *text = NULL;
        if (hd_read_file(path, 64, &text, NULL) < 0)
                return 0;
        text[strcspn(text, "\n")] = '\0';
        int64_t pid = 0;
        if (hd_parse_int64(text, &pid) < 0 || pid <= 1 || pid > INT_MAX)
                return 0;
        /* A stale file may name a recycled pid: it must still be a qemu. */
        char exe[64], target[PATH_MAX];
        snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)pid);
        ssize_t n = readlink(exe, target, sizeof(target) - 1);
        if (n <= 0)
                return 0;
        target[n] = '\0';
        const char *base = strrchr(target, '/');
        return hd_str_startswith(base ? base + 1 : target, "qemu-system") ? (pid_t)pid : 0;
}

/* Reports what libvirt holds: hostd's domains are observed instance by instance later,
 * anything else is someone else's and is never touched. */
static void list_domains(VmDriver *d)
{
        virDomainPtr *doms = NULL;
        int n = virConnectListAllDomains(d->conn, &doms, 0);
        if (n < 0) {
                hd_log_warn("vm driver: cannot list libvirt's domains: %s", hd_vm_error_message());
                return;
        }
        int ours = 0, foreign = 0;
        hd_strv_clear(&d->foreign);
        for (int k = 0; k < n; k++) {
                char uuid[HD_UUID_STRING_MAX];
                if (hd_vm_domain_is_hostd(doms[k], uuid)) {
                        ours++;
                        hd_log_debug("vm driver: domain `%s` is instance %s",
                                     virDomainGetName(doms[k]), uuid);
                } else {
                        foreign++;
                        if (hd_strv_push(&d->foreign, virDomainGetName(doms[k])) < 0)
                                hd_log_warn("vm driver: out of memory");
                        hd_log_warn("vm driver: libvirt domain `%s` has no hostd metadata: "
                                    "not hostd's, left alone",
                                    virDomainGetName(doms[k]));
                }
                virDomainFree(doms[k]);
        }
        free(doms);
        hd_log_info("vm driver: libvirt holds %d hostd domain(s) and %d foreign one(s)", ours,
                    foreign);
}

/* ---- open and close ------------------------------------------------------------------ */

static int connect_uri(VmDriver *d, HdError **err)
{
        d->conn = virConnectOpen(d->uri);
        if (!d->conn) {
                virErrorPtr e = virGetLastError();
                const char *msg = hd_vm_error_message();
                if (e && e->code == VIR_ERR_NO_CONNECT)
                        return hd_error_set(err, -ENODEV,
                                            "libvirt has no driver for `%s` (for the embedded "
                                            "QEMU driver: apt-get install "
                                            "libvirt-daemon-driver-qemu): %s",
                                            d->uri, msg);
                if (strstr(msg, "Failed to parse user"))
                        return hd_error_set(err, -ENODEV,
                                            "libvirt's QEMU driver cannot start (%s): it needs "
                                            "its system user even when qemu runs as root; "
                                            "create it (useradd --system --user-group "
                                            "libvirt-qemu) or install libvirt-daemon-system",
                                            msg);
                return hd_error_set(err, -ENODEV, "cannot connect to libvirt at `%s`: %s", d->uri,
                                    msg);
        }
        const char *type = virConnectGetType(d->conn);
        if (!type || strcmp(type, "QEMU") != 0)
                return hd_error_set(err, -ENODEV, "libvirt at `%s` is a %s driver, not QEMU",
                                    d->uri, type ? type : "unknown");
        return 0;
}

int hd_vm_conn_open(VmDriver *d, HdError **err)
{
        pthread_once(&libvirt_once, libvirt_setup);
        if (libvirt_once_result < 0)
                return hd_error_set(err, -ENODEV, "libvirt cannot be initialized: %s",
                                    hd_vm_error_message());
        int r;
        if (d->libvirt_root && (r = write_qemu_conf(d, err)) < 0)
                return r;
        if (uri_is_local(d->uri) && !have_program("qemu-system-x86_64"))
                return hd_error_set(err, -ENODEV,
                                    "qemu-system-x86_64 not found (apt-get install "
                                    "qemu-system-x86)");
        /* Connecting is quick: libvirt probes the emulator (a few seconds, then cached under
         * the root) on first need, which makes the first start on a new state dir slower.
         * It is not done ahead here: the probe's qemu would outlive a hostd killed
         * meanwhile. */
        if ((r = loop_start(d, err)) < 0 || (r = connect_uri(d, err)) < 0)
                return r;
        probe_accel(d);

        d->lifecycle_cb =
                virConnectDomainEventRegisterAny(d->conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                                 VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), d, NULL);
        if (d->lifecycle_cb < 0)
                return hd_error_set(err, -EIO, "cannot follow libvirt's lifecycle events: %s",
                                    hd_vm_error_message());
        d->reboot_cb =
                virConnectDomainEventRegisterAny(d->conn, NULL, VIR_DOMAIN_EVENT_ID_REBOOT,
                                                 VIR_DOMAIN_EVENT_CALLBACK(on_reboot), d, NULL);
        if (d->reboot_cb < 0)
                return hd_error_set(err, -EIO, "cannot follow libvirt's reboot events: %s",
                                    hd_vm_error_message());
        d->agent_cb =
                virConnectDomainEventRegisterAny(d->conn, NULL, VIR_DOMAIN_EVENT_ID_AGENT_LIFECYCLE,
                                                 VIR_DOMAIN_EVENT_CALLBACK(on_agent), d, NULL);
        if (d->agent_cb < 0)
                return hd_error_set(err, -EIO, "cannot follow guest agents: %s",
                                    hd_vm_error_message());
        list_domains(d);

        unsigned long version = 0;
        (void)virConnectGetLibVersion(d->conn, &version);
        hd_log_info("vm driver: libvirt %lu.%lu.%lu at %s, accel %s (%s)", version / 1000000,
                    version / 1000 % 1000, version % 1000, d->uri, d->kvm ? "kvm" : "tcg",
                    d->accel_reason);
        return 0;
}

void hd_vm_conn_close(VmDriver *d)
{
        if (d->conn) {
                if (d->lifecycle_cb >= 0)
                        virConnectDomainEventDeregisterAny(d->conn, d->lifecycle_cb);
                if (d->reboot_cb >= 0)
                        virConnectDomainEventDeregisterAny(d->conn, d->reboot_cb);
                if (d->agent_cb >= 0)
                        virConnectDomainEventDeregisterAny(d->conn, d->agent_cb);
                d->lifecycle_cb = d->reboot_cb = d->agent_cb = -1;
                /* The embedded driver shuts down with its last connection, and may still need
                 * the event loop meanwhile: the loop stops after. Guests go on running. */
                virConnectClose(d->conn);
                d->conn = NULL;
        }
        loop_stop(d);
}
