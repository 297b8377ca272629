/* The VM driver's vtable: init and shutdown, spec checks, and the actions on libvirt
 * domains (start, stop, kill, restart, pause, resume, remove, observe). Every action marks
 * its domain busy while it runs, so that the lifecycle events it causes are its outcome
 * and not news for the sink. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "hd-log.h"
#include "hd-util.h"
#include "vm-driver-internal.h"
#include "vm-xml.h"

#define WAIT_POLL_MS  50
#define DOMAIN_PREFIX "hostd-"

static void domain_freep(virDomainPtr *p)
{
        hd_vm_domain_free(*p);
}
#define _cleanup_domain_ _cleanup_(domain_freep)

/* ---- init ---------------------------------------------------------------------------- */

static int vm_init(HdDriver *base, const HdDriverSink *sink, HdError **err)
{
        VmDriver *d = vm_driver(base);
        d->sink = *sink;
        if (!d->images)
                return hd_error_set(err, -ENODEV, "the image store is not open");
        int r = hd_mkdir_p(d->vms_dir, 0700);
        if (r < 0)
                return hd_error_set(err, r, "cannot create `%s`: %s", d->vms_dir, strerror(-r));
        if ((r = hd_vm_watcher_start(d, err)) < 0 || (r = hd_vm_conn_open(d, err)) < 0) {
                hd_vm_conn_close(d);
                hd_vm_watcher_stop(d);
                return r;
        }
        return 0;
}

static void vm_shutdown(HdDriver *base)
{
        VmDriver *d = vm_driver(base);
        /* No more reports: the core is going away. The guests go on running. */
        hd_vm_watcher_stop(d);
        hd_vm_conn_close(d);
        pthread_mutex_lock(&d->lock);
        while (d->watches) {
                VmWatch *w = d->watches;
                d->watches = w->next;
                free(w->console);
                free(w);
        }
        pthread_mutex_unlock(&d->lock);
}

static int vm_validate(HdDriver *base, const HdInstanceSpec *spec, HdError **err)
{
        VmDriver *d = vm_driver(base);
        const HdResources *res = &spec->resources;
        if (!spec->image || !*spec->image)
                return hd_error_set_field(err, -EINVAL, "image", "a VM needs an image");
        if (res->vcpus != floor(res->vcpus) || res->vcpus < 1 || res->vcpus > HD_VM_VCPUS_MAX)
                return hd_error_set_field(err, -EINVAL, "resources.vcpus",
                                          "resources.vcpus must be a whole number from 1 to %d "
                                          "for kind `vm`",
                                          HD_VM_VCPUS_MAX);
        if (res->memory_mb < HD_VM_MEMORY_MB_MIN || res->memory_mb > HD_VM_MEMORY_MB_MAX)
                return hd_error_set_field(err, -EINVAL, "resources.memory_mb",
                                          "resources.memory_mb must be from %d to %lld for "
                                          "kind `vm`",
                                          HD_VM_MEMORY_MB_MIN, (long long)HD_VM_MEMORY_MB_MAX);
        /* Pinning to CPUs the host does not have online is refused at create, not
         * found out when libvirt starts the guest. */
        if (res->cpuset) {
                int r = hd_cpulist_check_host(res->cpuset, "resources.cpuset", err);
                if (r < 0)
                        return r;
        }
        /* A managed network's name or `none` is fine: the NIC is a tap on its bridge.
         * A guest has its own kernel, so it cannot share the host's network stack. */
        if (spec->network && strcmp(spec->network, "host") == 0)
                return hd_error_set_field(err, -EINVAL, "network",
                                          "network `host` is not supported for kind `vm`: "
                                          "use a network's name or `none`");
        /* The image must be there now, and be a VM image, so that a create that cannot
         * start is refused at once. */
        _cleanup_(hd_img_vm_file_clear) HdImgVmFile img = { 0 };
        int r = hd_img_store_vm_file(d->images, spec->image, &img, err);
        if (r < 0)
                return r;
        return hd_vm_disk_check(&img, res->disk_gb, err);
}

/* ---- helpers ------------------------------------------------------------------------- */

static int lookup(VmDriver *d, const HdInstance *inst, virDomainPtr *ret, HdError **err)
{
        int r = hd_vm_domain_lookup(d, inst->uuid, ret, err);
        return r < 0 ? hd_error_wrap(err, "vm `%s`", inst->spec.name) : r;
}

/* The instance state the domain is in now. */
static void state_now(virDomainPtr dom, HdDriverResult *ret)
{
        int state = 0, reason = 0;
        if (virDomainGetState(dom, &state, &reason, 0) < 0 ||
            !hd_vm_result_for_state(state, reason, ret))
                *ret = (HdDriverResult){ .state = HD_STATE_ERROR };
}

static int libvirt_fail(HdError **err, const char *what, const HdInstance *inst)
{
        return hd_error_set(err, -EIO, "cannot %s vm `%s`: %s", what, inst->spec.name,
                            hd_vm_error_message());
}

/* Waits until the domain no longer runs: 1 it stopped, 0 timeout, -ECANCELED. */
static int wait_inactive(virDomainPtr dom, int64_t timeout_ms, HdDriverOp *op)
{
        int64_t deadline = hd_monotonic_ms() + timeout_ms;
        for (;;) {
                if (virDomainIsActive(dom) != 1)
                        return 1;
                if (hd_monotonic_ms() >= deadline)
                        return 0;
                if (op && op->cancel_requested && atomic_load(op->cancel_requested))
                        return -ECANCELED;
                usleep(WAIT_POLL_MS * 1000);
        }
}

static int64_t file_size(const char *path)
{
        struct stat st;
        return stat(path, &st) == 0 ? st.st_size : 0;
}

/* Destroys (if it runs) and undefines the domain, and removes the instance's files. */
static int discard(VmDriver *d, const HdInstance *inst, HdError **err)
{
        _cleanup_domain_ virDomainPtr dom = NULL;
        int r = lookup(d, inst, &dom, err);
        if (r < 0)
                return r;
        if (dom) {
                if (virDomainIsActive(dom) == 1 && virDomainDestroy(dom) < 0 &&
                    virDomainIsActive(dom) == 1)
                        return libvirt_fail(err, "destroy", inst);
                unsigned flags =
                        VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA |
                        VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA | VIR_DOMAIN_UNDEFINE_NVRAM;
                if (virDomainUndefineFlags(dom, flags) < 0 && virDomainUndefine(dom) < 0)
                        return libvirt_fail(err, "undefine", inst);
        }
        /* The embedded driver's per-domain qemu log is hostd's to clean: libvirt keeps it
         * for any domain, and a later instance of the same name would append to it. */
        if (d->libvirt_root) {
                _cleanup_free_ char *log = NULL;
                if (asprintf(&log, "%s/log/qemu/" DOMAIN_PREFIX "%s.log", d->libvirt_root,
                             inst->spec.name) < 0)
                        return hd_error_set(err, -ENOMEM, "out of memory");
                if (unlink(log) < 0 && errno != ENOENT)
                        hd_log_warn("vm %s: cannot remove `%s`: %m", inst->spec.name, log);
        }
        hd_vm_ready_disarm(d, inst->uuid);
        return hd_vm_instance_dir_remove(d, inst->uuid, err);
}

/* ---- start --------------------------------------------------------------------------- */

/* The kernel command line of a direct kernel boot: the bundle's, and for an instance
 * with an address the kernel's ip= argument, so that a guest without a DHCP client
 * comes up with IPAM's address (a disk image's guest asks the network's dnsmasq, whose
 * static lease gives the same). NULL in *ret when there is none. */
static int kernel_cmdline(const HdInstance *inst, const VmBootFiles *boot, char **ret,
                          HdError **err)
{
        *ret = NULL;
        if (!boot->kernel)
                return 0;
        if (inst->n_addresses == 0) {
                if (boot->cmdline && !(*ret = strdup(boot->cmdline)))
                        return hd_error_set(err, -ENOMEM, "out of memory");
                return 0;
        }
        const HdInstanceAddress *a = &inst->addresses[0];
        _cleanup_free_ char *ip = NULL;
        int r = hd_vm_kernel_ip_arg(a->address, a->prefix_len, a->gateway,
                                    inst->spec.hostname ? inst->spec.hostname : inst->spec.name,
                                    &ip, err);
        if (r < 0)
                return hd_error_wrap(err, "the address on network `%s`",
                                     a->network ? a->network : "");
        /* Last, so it wins over an ip= of the bundle's: the kernel and init both take
         * the last one. */
        if (asprintf(ret, "%s%s%s", boot->cmdline ? boot->cmdline : "",
                     boot->cmdline && *boot->cmdline ? " " : "", ip) < 0) {
                *ret = NULL;
                return hd_error_set(err, -ENOMEM, "out of memory");
        }
        return 0;
}

/* Defines the domain from the instance (every start: a changed spec takes effect) and
 * returns it. */
static int define(VmDriver *d, const HdInstance *inst, const char *dir, const char *console,
                  virDomainPtr *ret, HdError **err)
{
        _cleanup_(hd_img_vm_file_clear) HdImgVmFile img = { 0 };
        int r = hd_img_store_vm_file(d->images, inst->spec.image, &img, err);
        if (r < 0)
                return hd_error_wrap(err, "image `%s`", inst->spec.image);
        _cleanup_(hd_vm_boot_files_clear) VmBootFiles boot = { 0 };
        if ((r = hd_vm_disk_prepare(d, inst, &img, dir, &boot, err)) < 0)
                return r;
        _cleanup_free_ char *name = NULL, *agent = NULL;
        if (asprintf(&name, DOMAIN_PREFIX "%s", inst->spec.name) < 0 ||
            asprintf(&agent, "%s/agent.sock", dir) < 0)
                return hd_error_set(err, -ENOMEM, "out of memory");
        /* The agent's socket sits in the instance's directory, which libvirt's own
         * channel path (under its root, with the domain's name) would outgrow. */
        if (strlen(agent) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
                hd_log_warn("vm %s: no guest agent channel: its socket path `%s` is too long "
                            "for a unix socket",
                            inst->spec.name, agent);
                free(TAKE_PTR(agent));
        }
        _cleanup_free_ char *cmdline = NULL;
        if ((r = kernel_cmdline(inst, &boot, &cmdline, err)) < 0)
                return hd_error_wrap(err, "vm `%s`", inst->spec.name);
        /* IPAM's address (one network at most today): a tap on that network's bridge,
         * named after the instance so that reconciliation knows it for hostd's. */
        const HdInstanceAddress *addr = inst->n_addresses > 0 ? &inst->addresses[0] : NULL;
        char tap[HD_VM_TAP_NAME_MAX];
        if (addr && hd_vm_tap_name(inst->uuid, tap) < 0)
                return hd_error_set(err, -EINVAL, "vm `%s`: uuid `%s` is not a UUID",
                                    inst->spec.name, inst->uuid);
        HdVmDomainSpec spec = {
                .name = name,
                .uuid = inst->uuid,
                .instance_name = inst->spec.name,
                .vcpus = (int)ceil(inst->spec.resources.vcpus),
                .cpuset = inst->spec.resources.cpuset,
                .memory_mb = inst->spec.resources.memory_mb,
                .kvm = d->kvm,
                .disk_path = boot.disk,
                .kernel = boot.kernel,
                .initrd = boot.initrd,
                .cmdline = cmdline,
                .seed_iso = boot.seed_iso,
                .console_log = console,
                .bridge = addr ? addr->bridge : NULL,
                .mac = addr ? addr->mac : NULL,
                .tap = addr ? tap : NULL,
                .mtu = addr ? addr->mtu : 0,
                .agent_socket = agent,
        };
        _cleanup_free_ char *xml = NULL;
        if ((r = hd_vm_domain_xml(&spec, &xml, err)) < 0)
                return hd_error_wrap(err, "vm `%s`", inst->spec.name);
        if (!(*ret = virDomainDefineXML(d->conn, xml)))
                return libvirt_fail(err, "define", inst);
        return 0;
}

static int do_start(VmDriver *d, const HdInstance *inst, HdDriverResult *ret, HdError **err)
{
        _cleanup_domain_ virDomainPtr dom = NULL;
        int r = lookup(d, inst, &dom, err);
        if (r < 0)
                return r;
        if (dom && virDomainIsActive(dom) == 1) {
                state_now(dom, ret);
                return 0;
        }
        hd_vm_domain_free(TAKE_PTR(dom));
        _cleanup_free_ char *dir = hd_vm_instance_dir(d, inst->uuid);
        _cleanup_free_ char *console = hd_vm_console_path(d, inst->uuid);
        if (!dir || !console)
                return hd_error_set(err, -ENOMEM, "out of memory");
        if ((r = hd_mkdir_p(dir, 0700)) < 0)
                return hd_error_set(err, r, "cannot create `%s`: %s", dir, strerror(-r));

        int64_t t0 = hd_monotonic_ms();
        r = define(d, inst, dir, console, &dom, err);
        if (r >= 0) {
                /* This boot's output starts at the console's end: earlier boots stay in
                 * the log, and their marker does not count. */
                hd_vm_ready_arm(d, inst->uuid, console, file_size(console));
                if (virDomainCreate(dom) < 0) {
                        r = libvirt_fail(err, "start", inst);
                        hd_vm_ready_disarm(d, inst->uuid);
                } else {
                        pthread_mutex_lock(&d->versions_lock);
                        d->started_once = true;
                        pthread_mutex_unlock(&d->versions_lock);
                }
        }
        if (r < 0) {
                /* A first start leaves nothing behind: a delete of an instance never
                 * provisioned does not call the driver. */
                _cleanup_error_ HdError *e2 = NULL;
                if (!inst->provisioned && discard(d, inst, &e2) < 0)
                        hd_log_warn("vm %s: cleaning up after a failed start: %s", inst->spec.name,
                                    e2->message);
                return r;
        }
        hd_log_info("vm %s started: domain " DOMAIN_PREFIX "%s, %s, %d vcpu, %lld MiB (%lld ms)",
                    inst->spec.name, inst->spec.name, d->kvm ? "kvm" : "tcg",
                    (int)ceil(inst->spec.resources.vcpus),
                    (long long)inst->spec.resources.memory_mb, (long long)(hd_monotonic_ms() - t0));
        ret->state = HD_STATE_RUNNING;
        return 0;
}

static int vm_start(HdDriver *base, const HdInstance *inst, const HdActionArgs *args,
                    HdDriverOp *op, HdDriverResult *ret, HdError **err)
{
        (void)args, (void)op;
        VmDriver *d = vm_driver(base);
        hd_vm_busy_enter(d, inst->uuid);
        int r = do_start(d, inst, ret, err);
        hd_vm_busy_leave(d, inst->uuid, ret->state);
        return r;
}

/* ---- stop, kill, restart ------------------------------------------------------------- */

/* Destroys a running domain (qemu gets SIGTERM, then SIGKILL). */
static int destroy(VmDriver *d, const HdInstance *inst, virDomainPtr dom, HdError **err)
{
        if (virDomainIsActive(dom) == 1 && virDomainDestroy(dom) < 0 && virDomainIsActive(dom) == 1)
                return libvirt_fail(err, "destroy", inst);
        hd_vm_ready_disarm(d, inst->uuid);
        return 0;
}

/* ACPI power button, then destroy after timeout_ms. */
static int do_stop(VmDriver *d, const HdInstance *inst, int64_t timeout_ms, HdDriverOp *op,
                   HdDriverResult *ret, HdError **err)
{
        _cleanup_domain_ virDomainPtr dom = NULL;
        int r = lookup(d, inst, &dom, err);
        if (r < 0)
                return r;
        if (dom && virDomainIsActive(dom) == 1) {
                int state = 0, reason = 0;
                /* A paused guest cannot hear the button. */
                if (virDomainGetState(dom, &state, &reason, 0) == 0 && state == VIR_DOMAIN_PAUSED &&
                    virDomainResume(dom) < 0)
                        virResetLastError();
                r = 0;
                if (virDomainShutdownFlags(dom, VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN) == 0)
                        r = wait_inactive(dom, timeout_ms, op);
                else
                        hd_log_debug("vm %s: ACPI shutdown refused: %s", inst->spec.name,
                                     hd_vm_error_message());
                if (r == -ECANCELED) {
                        state_now(dom, ret);
                        return hd_error_set(err, -ECANCELED, "stopping vm `%s` was cancelled",
                                            inst->spec.name);
                }
                if (r == 0)
                        hd_log_info("vm %s did not power off within %lld s: destroying it",
                                    inst->spec.name, (long long)(timeout_ms / 1000));
                if ((r = destroy(d, inst, dom, err)) < 0) {
                        state_now(dom, ret);
                        return r;
                }
        }
        hd_vm_ready_disarm(d, inst->uuid);
        *ret = (HdDriverResult){ .state = HD_STATE_STOPPED };
        return 0;
}

static int vm_stop(HdDriver *base, const HdInstance *inst, const HdActionArgs *args, HdDriverOp *op,
                   HdDriverResult *ret, HdError **err)
{
        VmDriver *d = vm_driver(base);
        int timeout_s = args && args->timeout_s >= 0 ? args->timeout_s : 10;
        hd_vm_busy_enter(d, inst->uuid);
        int r = do_stop(d, inst, (int64_t)timeout_s * 1000, op, ret, err);
        hd_vm_busy_leave(d, inst->uuid, ret->state);
        return r;
}

static int vm_kill(HdDriver *base, const HdInstance *inst, const HdActionArgs *args, HdDriverOp *op,
                   HdDriverResult *ret, HdError **err)
{
        (void)args, (void)op;
        VmDriver *d = vm_driver(base);
        hd_vm_busy_enter(d, inst->uuid);
        _cleanup_domain_ virDomainPtr dom = NULL;
        int r = lookup(d, inst, &dom, err);
        if (r > 0 && (r = destroy(d, inst, dom, err)) < 0)
                state_now(dom, ret);
        if (r >= 0)
                *ret = (HdDriverResult){ .state = HD_STATE_STOPPED };
        hd_vm_busy_leave(d, inst->uuid, ret->state);
        return r < 0 ? r : 0;
}

/* A reboot asked of the guest (the ACPI power button, which libvirt turns into a reset
 * once the guest powers off); a guest that does not come back by the timeout is destroyed
 * and started again. */
static int do_restart(VmDriver *d, const HdInstance *inst, int64_t timeout_ms, HdDriverOp *op,
                      HdDriverResult *ret, HdError **err)
{
        _cleanup_domain_ virDomainPtr dom = NULL;
        int r = lookup(d, inst, &dom, err);
        if (r < 0)
                return r;
        if (!dom || virDomainIsActive(dom) != 1)
                return do_start(d, inst, ret, err);
        int state = 0, reason = 0;
        if (virDomainGetState(dom, &state, &reason, 0) == 0 && state == VIR_DOMAIN_PAUSED &&
            virDomainResume(dom) < 0)
                virResetLastError();

        _cleanup_free_ char *console = hd_vm_console_path(d, inst->uuid);
        if (!console)
                return hd_error_set(err, -ENOMEM, "out of memory");
        uint64_t reboots = hd_vm_reboots(d, inst->uuid);
        hd_vm_ready_arm(d, inst->uuid, console, file_size(console));
        bool rebooted = false;
        if (virDomainReboot(dom, VIR_DOMAIN_REBOOT_ACPI_POWER_BTN) == 0) {
                int64_t deadline = hd_monotonic_ms() + timeout_ms;
                while (!rebooted && virDomainIsActive(dom) == 1 && hd_monotonic_ms() < deadline) {
                        if (op && op->cancel_requested && atomic_load(op->cancel_requested)) {
                                state_now(dom, ret);
                                return hd_error_set(err, -ECANCELED,
                                                    "restarting vm `%s` was cancelled",
                                                    inst->spec.name);
                        }
                        usleep(WAIT_POLL_MS * 1000);
                        rebooted = hd_vm_reboots(d, inst->uuid) != reboots;
                }
        } else {
                hd_log_debug("vm %s: ACPI reboot refused: %s", inst->spec.name,
                             hd_vm_error_message());
        }
        if (rebooted && virDomainIsActive(dom) == 1) {
                hd_log_info("vm %s rebooted", inst->spec.name);
                ret->state = HD_STATE_RUNNING;
                return 0;
        }
        hd_log_info("vm %s did not reboot within %lld s: destroying and starting it again",
                    inst->spec.name, (long long)(timeout_ms / 1000));
        if ((r = destroy(d, inst, dom, err)) < 0) {
                state_now(dom, ret);
                return r;
        }
        return do_start(d, inst, ret, err);
}

static int vm_restart(HdDriver *base, const HdInstance *inst, const HdActionArgs *args,
                      HdDriverOp *op, HdDriverResult *ret, HdError **err)
{
        VmDriver *d = vm_driver(base);
        int timeout_s = args && args->timeout_s >= 0 ? args->timeout_s : 10;
        hd_vm_busy_enter(d, inst->uuid);
        int r = do_restart(d, inst, (int64_t)timeout_s * 1000, op, ret, err);
        hd_vm_busy_leave(d, inst->uuid, ret->state);
        return r;
}

/* ---- pause, resume ------------------------------------------------------------------- */

static int suspend(VmDriver *d, const HdInstance *inst, bool paused, HdDriverResult *ret,
                   HdError **err)
{
        hd_vm_busy_enter(d, inst->uuid);
        _cleanup_domain_ virDomainPtr dom = NULL;
        int r = lookup(d, inst, &dom, err);
        int state = 0, reason = 0;
        if (r >= 0 && (r == 0 || virDomainGetState(dom, &state, &reason, 0) < 0 ||
                       state == VIR_DOMAIN_SHUTOFF || state == VIR_DOMAIN_CRASHED))
                r = hd_error_set(err, -EBUSY, "vm `%s` is not running", inst->spec.name);
        if (r >= 0 && paused && state != VIR_DOMAIN_PAUSED && virDomainSuspend(dom) < 0)
                r = libvirt_fail(err, "pause", inst);
        if (r >= 0 && !paused && state == VIR_DOMAIN_PAUSED && virDomainResume(dom) < 0)
                r = libvirt_fail(err, "resume", inst);
        if (dom)
                state_now(dom, ret);
        hd_vm_busy_leave(d, inst->uuid, ret->state);
        return r < 0 ? r : 0;
}

static int vm_pause(HdDriver *base, const HdInstance *inst, const HdActionArgs *args,
                    HdDriverOp *op, HdDriverResult *ret, HdError **err)
{
        (void)args, (void)op;
        return suspend(vm_driver(base), inst, true, ret, err);
}

static int vm_resume(HdDriver *base, const HdInstance *inst, const HdActionArgs *args,
                     HdDriverOp *op, HdDriverResult *ret, HdError **err)
{
        (void)args, (void)op;
        return suspend(vm_driver(base), inst, false, ret, err);
}

/* ---- remove, observe ----------------------------------------------------------------- */

static int vm_remove(HdDriver *base, const HdInstance *inst, const HdActionArgs *args,
                     HdDriverOp *op, HdDriverResult *ret, HdError **err)
{
        (void)args, (void)op;
        VmDriver *d = vm_driver(base);
        hd_vm_busy_enter(d, inst->uuid);
        int r = discard(d, inst, err);
        hd_vm_busy_leave(d, inst->uuid, ret->state);
        if (r < 0)
                return r;
        hd_vm_watch_forget(d, inst->uuid);
        *ret = (HdDriverResult){ .state = HD_STATE_STOPPED };
        return 0;
}

/* At hostd's start: the domain as libvirt has it. libvirt itself re-attaches to running
 * guests (their monitors) when the connection opens; a guest found gone later arrives as
 * a lifecycle event. */
static int vm_observe(HdDriver *base, const HdInstance *inst, HdDriverResult *ret, HdError **err)
{
        VmDriver *d = vm_driver(base);
        _cleanup_domain_ virDomainPtr dom = NULL;
        int r = lookup(d, inst, &dom, err);
        if (r < 0)
                return r;
        if (r == 0) {
                *ret = (HdDriverResult){ .state = HD_STATE_ERROR };
                snprintf(ret->reason, sizeof(ret->reason), "domain vanished");
                return 0;
        }
        state_now(dom, ret);
        hd_vm_reported(d, inst->uuid, ret->state);
        /* A guest adopted before it said it is ready: hostd listens again. */
        if (inst->ready_at == 0 &&
            (ret->state == HD_STATE_RUNNING || ret->state == HD_STATE_PAUSED)) {
                _cleanup_free_ char *console = hd_vm_console_path(d, inst->uuid);
                if (!console)
                        return hd_error_set(err, -ENOMEM, "out of memory");
                hd_vm_ready_rearm(d, inst->uuid, console);
                hd_vm_watch_agent(d, inst->uuid);
        }
        return 0;
}

/* ---- the driver ---------------------------------------------------------------------- */

static void vm_facts(HdDriver *base, HdDriverFacts *ret);

HdDriver *hd_vm_driver_new(const HdVmDriverConfig *cfg)
{
        VmDriver *d = calloc(1, sizeof(*d));
        if (!d)
                return NULL;
        d->base = (HdDriver){
                .kind = HD_KIND_VM,
                .name = "vm",
                .init = vm_init,
                .shutdown = vm_shutdown,
                .validate = vm_validate,
                .start = vm_start,
                .stop = vm_stop,
                .restart = vm_restart,
                .kill = vm_kill,
                .pause = vm_pause,
                .resume = vm_resume,
                .remove = vm_remove,
                .observe = vm_observe,
                .logs_open = hd_vm_logs_open,
                .exec = hd_vm_exec,
                .stats = hd_vm_stats,
                .facts = vm_facts,
        };
        d->images = cfg->images;
        d->lifecycle_cb = d->reboot_cb = d->agent_cb = -1;
        d->events_tail = &d->events;
        pthread_mutex_init(&d->lock, NULL);
        pthread_mutex_init(&d->versions_lock, NULL);
        pthread_mutex_init(&d->kernel_lock, NULL);
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&d->cond, &ca);
        pthread_condattr_destroy(&ca);
        snprintf(d->accel_reason, sizeof(d->accel_reason), "not probed yet");
        bool ok = (d->state_dir = strdup(cfg->state_dir)) &&
                  asprintf(&d->vms_dir, "%s/vms", cfg->state_dir) >= 0 &&
                  asprintf(&d->kernels_dir, "%s/vm/kernels", cfg->state_dir) >= 0 &&
                  (!cfg->accel || (d->accel_cfg = strdup(cfg->accel)));
        if (ok && cfg->uri)
                ok = (d->uri = strdup(cfg->uri)) != NULL;
        else if (ok)
                ok = asprintf(&d->libvirt_root, "%s/libvirt", cfg->state_dir) >= 0 &&
                     asprintf(&d->uri, "qemu:///embed?root=%s", d->libvirt_root) >= 0;
        if (!ok) {
                hd_vm_driver_free(&d->base);
                return NULL;
        }
        return &d->base;
}

void hd_vm_driver_free(HdDriver *base)
{
        if (!base)
                return;
        VmDriver *d = vm_driver(base);
        vm_shutdown(base);
        pthread_mutex_destroy(&d->lock);
        pthread_mutex_destroy(&d->versions_lock);
        pthread_mutex_destroy(&d->kernel_lock);
        pthread_cond_destroy(&d->cond);
        free(d->state_dir);
        free(d->vms_dir);
        free(d->kernels_dir);
        free(d->libvirt_root);
        free(d->uri);
        hd_strv_clear(&d->foreign);
        free(d->accel_cfg);
        free(d);
}

static void format_version(unsigned long v, char buf[32])
{
        snprintf(buf, 32, "%lu.%lu.%lu", v / 1000000, (v / 1000) % 1000, v % 1000);
}

static void vm_facts(HdDriver *base, HdDriverFacts *ret)
{
        VmDriver *d = vm_driver(base);
        pthread_mutex_lock(&d->versions_lock);
        unsigned long v = 0;
        if (!d->libvirt_version[0] && d->conn && virConnectGetLibVersion(d->conn, &v) == 0)
                format_version(v, d->libvirt_version);
        if (!d->qemu_version[0] && d->started_once && d->conn &&
            virConnectGetVersion(d->conn, &v) == 0 && v > 0)
                format_version(v, d->qemu_version);
        ret->libvirt_version = d->libvirt_version[0] ? d->libvirt_version : NULL;
        ret->hypervisor_version = d->qemu_version[0] ? d->qemu_version : NULL;
        pthread_mutex_unlock(&d->versions_lock);
        ret->accel = d->kvm ? "kvm" : "tcg";
        ret->accel_reason = d->accel_reason;
        ret->endpoint = d->uri;
        ret->foreign = d->foreign.items;
        ret->n_foreign = d->foreign.n;
}

const char *hd_vm_driver_accel(const HdDriver *base, const char **ret_reason)
{
        const VmDriver *d = (const VmDriver *)base;
        if (ret_reason)
                *ret_reason = d ? d->accel_reason : NULL;
        return d ? (d->kvm ? "kvm" : "tcg") : NULL;
}

const char *hd_vm_driver_uri(const HdDriver *base)
{
        const VmDriver *d = (const VmDriver *)base;
        return d ? d->uri : NULL;
}
