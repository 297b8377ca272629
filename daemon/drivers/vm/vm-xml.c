/* The libvirt domain XML for a hostd VM: validation of HdVmDomainSpec, then a small
 * XML writer that escapes every text node and attribute value; and the names and
 * kernel argument that wire a VM to its network. */
#include "vm-xml.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hd-util.h"

/* ---- validation ------------------------------------------------------------------ */

/* True for well-formed UTF-8 whose characters XML 1.0 can carry and that hold no
 * control characters: no C0 controls (tab and newline included), no DEL, no
 * surrogates, no overlong forms, nothing past U+10FFFF, no U+FFFE/U+FFFF. */

static int check_text(const char *field, const char *value, HdError **err)
{
        if (!hd_utf8_is_clean(value, false))
                return hd_error_set_field(err, -EINVAL, field,
                                          "%s must be UTF-8 without control characters", field);
        return 0;
}

/* An optional path: absolute and clean when present. */
static int check_path(const char *field, const char *value, HdError **err)
{
        if (!value)
                return 0;
        int r = check_text(field, value, err);
        if (r < 0)
                return r;
        if (value[0] != '/')
                return hd_error_set_field(err, -EINVAL, field,
                                          "%s must be an absolute path, not `%s`", field, value);
        return 0;
}

static bool machine_is_valid(const char *s)
{
        size_t n = strlen(s);
        if (n == 0 || n > 64)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '-' || c == '_'))
                        return false;
        }
        return true;
}

/* A Linux interface name as the kernel takes it (dev_valid_name), narrowed to characters
 * that need no quoting anywhere: 1..15 of [A-Za-z0-9_.-], not "." or "..". */
static bool ifname_is_valid(const char *s)
{
        size_t n = strlen(s);
        if (n == 0 || n > 15 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '-' || c == '_'))
                        return false;
        }
        return true;
}

static int hex_digit(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* "xx:xx:xx:xx:xx:xx" and unicast: libvirt refuses a multicast MAC for a NIC. */
static bool mac_is_valid(const char *s)
{
        if (strlen(s) != 17)
                return false;
        for (size_t i = 0; i < 17; i++) {
                bool sep = i % 3 == 2;
                if (sep ? s[i] != ':' : hex_digit(s[i]) < 0)
                        return false;
        }
        return (hex_digit(s[1]) & 1) == 0;
}

static int check_ifname(const char *field, const char *value, HdError **err)
{
        if (ifname_is_valid(value))
                return 0;
        int r = check_text(field, value, err);
        if (r < 0)
                return r;
        return hd_error_set_field(err, -EINVAL, field,
                                  "%s `%s` is not an interface name: use 1 to 15 letters, digits, "
                                  "`.`, `-` and `_`",
                                  field, value);
}

/* The NIC: all of it hangs on the bridge. */
static int nic_validate(const HdVmDomainSpec *s, HdError **err)
{
        int r;

        if (!s->bridge) {
                if (s->mac)
                        return hd_error_set_field(err, -EINVAL, "mac", "mac needs a bridge");
                if (s->tap)
                        return hd_error_set_field(err, -EINVAL, "tap", "tap needs a bridge");
                if (s->mtu)
                        return hd_error_set_field(err, -EINVAL, "mtu", "mtu needs a bridge");
                return 0;
        }
        if ((r = check_ifname("bridge", s->bridge, err)) < 0)
                return r;
        if (!s->mac || !*s->mac)
                return hd_error_set_field(err, -EINVAL, "mac", "mac is required with a bridge");
        if (!mac_is_valid(s->mac)) {
                if ((r = check_text("mac", s->mac, err)) < 0)
                        return r;
                return hd_error_set_field(err, -EINVAL, "mac",
                                          "mac `%s` is not a unicast MAC address "
                                          "(xx:xx:xx:xx:xx:xx)",
                                          s->mac);
        }
        if (s->tap && (r = check_ifname("tap", s->tap, err)) < 0)
                return r;
        if (s->mtu != 0 && (s->mtu < HD_VM_MTU_MIN || s->mtu > HD_VM_MTU_MAX))
                return hd_error_set_field(err, -EINVAL, "mtu", "mtu must be from %d to %d, not %d",
                                          HD_VM_MTU_MIN, HD_VM_MTU_MAX, s->mtu);
        return 0;
}

static int spec_validate(const HdVmDomainSpec *s, HdError **err)
{
        int r;

        if (!s->name || !*s->name)
                return hd_error_set_field(err, -EINVAL, "name", "name is required");
        if ((r = check_text("name", s->name, err)) < 0)
                return r;
        /* libvirt refuses '/' in a domain name (it names files after it). */
        if (strchr(s->name, '/'))
                return hd_error_set_field(err, -EINVAL, "name", "name must not contain `/`");

        if (!s->uuid || !*s->uuid)
                return hd_error_set_field(err, -EINVAL, "uuid", "uuid is required");
        if (!hd_uuid_is_valid(s->uuid)) {
                if ((r = check_text("uuid", s->uuid, err)) < 0)
                        return r;
                return hd_error_set_field(err, -EINVAL, "uuid", "uuid `%s` is not a valid UUID",
                                          s->uuid);
        }

        if (s->instance_name && (r = check_text("instance_name", s->instance_name, err)) < 0)
                return r;

        if (s->vcpus < 1 || s->vcpus > HD_VM_VCPUS_MAX)
                return hd_error_set_field(err, -EINVAL, "vcpus",
                                          "vcpus must be between 1 and %d, not %d", HD_VM_VCPUS_MAX,
                                          s->vcpus);
        /* Whether the host has these CPUs is the driver's check; here only the form, so
         * that nothing else reaches the attribute. */
        HdCpuMask cpus;
        if (s->cpuset && hd_cpulist_parse(s->cpuset, &cpus) < 0) {
                if ((r = check_text("cpuset", s->cpuset, err)) < 0)
                        return r;
                return hd_error_set_field(err, -EINVAL, "cpuset",
                                          "cpuset `%s` is not a CPU list (like `0`, `0-3` or "
                                          "`0,2,4-5`, CPUs below %d)",
                                          s->cpuset, HD_CPU_MAX);
        }
        if (s->memory_mb < HD_VM_MEMORY_MB_MIN)
                return hd_error_set_field(err, -EINVAL, "memory_mb",
                                          "memory_mb must be at least %d, not %lld",
                                          HD_VM_MEMORY_MB_MIN, (long long)s->memory_mb);
        if (s->memory_mb > HD_VM_MEMORY_MB_MAX)
                return hd_error_set_field(err, -EINVAL, "memory_mb",
                                          "memory_mb must be at most %lld, not %lld",
                                          (long long)HD_VM_MEMORY_MB_MAX, (long long)s->memory_mb);

        if (s->machine && !machine_is_valid(s->machine)) {
                if ((r = check_text("machine", s->machine, err)) < 0)
                        return r;
                return hd_error_set_field(err, -EINVAL, "machine",
                                          "machine `%s` is not a machine type name", s->machine);
        }

        if ((r = check_path("emulator", s->emulator, err)) < 0 ||
            (r = check_path("disk_path", s->disk_path, err)) < 0 ||
            (r = check_path("kernel", s->kernel, err)) < 0 ||
            (r = check_path("initrd", s->initrd, err)) < 0 ||
            (r = check_path("seed_iso", s->seed_iso, err)) < 0 ||
            (r = check_path("agent_socket", s->agent_socket, err)) < 0)
                return r;
        if (s->cmdline && (r = check_text("cmdline", s->cmdline, err)) < 0)
                return r;
        if (!s->kernel && s->initrd)
                return hd_error_set_field(err, -EINVAL, "initrd", "initrd needs a kernel");
        if (!s->kernel && s->cmdline)
                return hd_error_set_field(err, -EINVAL, "cmdline", "cmdline needs a kernel");
        if (!s->kernel && !s->disk_path)
                return hd_error_set_field(err, -EINVAL, "disk_path",
                                          "a VM needs a disk_path or a kernel to boot");

        if ((r = nic_validate(s, err)) < 0)
                return r;

        if (!s->console_log || !*s->console_log)
                return hd_error_set_field(err, -EINVAL, "console_log", "console_log is required");
        return check_path("console_log", s->console_log, err);
}

/* ---- a small XML writer ---------------------------------------------------------- */

typedef struct XmlWriter {
        FILE *f;
        char *buf;
        size_t len;
        int depth;
} XmlWriter;

static void xml_escape(XmlWriter *w, const char *s)
{
        for (; *s; s++) {
                switch (*s) {
                case '&':
                        fputs("&amp;", w->f);
                        break;
                case '<':
                        fputs("&lt;", w->f);
                        break;
                case '>':
                        fputs("&gt;", w->f);
                        break;
                case '\'':
                        fputs("&apos;", w->f);
                        break;
                case '"':
                        fputs("&quot;", w->f);
                        break;
                default:
                        fputc(*s, w->f);
                }
        }
}

/* "<name a='v' b='w'" from NULL-terminated attribute name/value pairs. */
static void xml_tag_open(XmlWriter *w, const char *name, va_list ap)
{
        fprintf(w->f, "%*s<%s", w->depth * 2, "", name);
        for (const char *attr; (attr = va_arg(ap, const char *));) {
                const char *value = va_arg(ap, const char *);
                fprintf(w->f, " %s='", attr);
                xml_escape(w, value);
                fputc('\'', w->f);
        }
}

/* <name attrs…> and one level deeper. */
static __attribute__((sentinel)) void xml_start(XmlWriter *w, const char *name, ...)
{
        va_list ap;
        va_start(ap, name);
        xml_tag_open(w, name, ap);
        va_end(ap);
        fputs(">\n", w->f);
        w->depth++;
}

static void xml_end(XmlWriter *w, const char *name)
{
        w->depth--;
        fprintf(w->f, "%*s</%s>\n", w->depth * 2, "", name);
}

/* <name attrs…/> */
static __attribute__((sentinel)) void xml_empty(XmlWriter *w, const char *name, ...)
{
        va_list ap;
        va_start(ap, name);
        xml_tag_open(w, name, ap);
        va_end(ap);
        fputs("/>\n", w->f);
}

/* <name attrs…>text</name> */
static __attribute__((sentinel)) void xml_text(XmlWriter *w, const char *name, const char *text,
                                               ...)
{
        va_list ap;
        va_start(ap, text);
        xml_tag_open(w, name, ap);
        va_end(ap);
        fputc('>', w->f);
        xml_escape(w, text);
        fprintf(w->f, "</%s>\n", name);
}

/* ---- the domain ------------------------------------------------------------------ */

static void write_metadata(XmlWriter *w, const HdVmDomainSpec *s)
{
        xml_start(w, "metadata", NULL);
        xml_start(w, "hostd:instance", "xmlns:hostd", HD_VM_XML_NS, NULL);
        xml_text(w, "hostd:uuid", s->uuid, NULL);
        if (s->instance_name)
                xml_text(w, "hostd:name", s->instance_name, NULL);
        xml_end(w, "hostd:instance");
        xml_end(w, "metadata");
}

static void write_os(XmlWriter *w, const HdVmDomainSpec *s)
{
        xml_start(w, "os", NULL);
        xml_text(w, "type", "hvm", "arch", "x86_64", "machine", s->machine ? s->machine : "q35",
                 NULL);
        if (s->kernel) {
                xml_text(w, "kernel", s->kernel, NULL);
                if (s->initrd)
                        xml_text(w, "initrd", s->initrd, NULL);
                if (s->cmdline)
                        xml_text(w, "cmdline", s->cmdline, NULL);
        } else {
                xml_empty(w, "boot", "dev", "hd", NULL);
        }
        xml_end(w, "os");
}

/* The serial port and the console on it share one definition of the log file. */
static void write_console(XmlWriter *w, const char *element, const char *target_type,
                          const char *log)
{
        xml_start(w, element, "type", "file", NULL);
        xml_empty(w, "source", "path", log, "append", "on", NULL);
        xml_empty(w, "target", "type", target_type, "port", "0", NULL);
        xml_end(w, element);
}

/* Devices sit on the root bus as integrated endpoints: left without an address, libvirt
 * gives each its own PCIe root port (for hotplug, which hostd never does), and every
 * port is one more device for qemu to set up and the guest to enumerate at boot. */
enum { SLOT_DISK = 2, SLOT_NIC, SLOT_BALLOON, SLOT_RNG, SLOT_SERIAL };

static void pci_address(XmlWriter *w, int slot)
{
        char s[8];
        snprintf(s, sizeof(s), "0x%02x", slot);
        xml_empty(w, "address", "type", "pci", "domain", "0x0000", "bus", "0x00", "slot", s,
                  "function", "0x0", NULL);
}

static void write_devices(XmlWriter *w, const HdVmDomainSpec *s)
{
        xml_start(w, "devices", NULL);
        if (s->emulator)
                xml_text(w, "emulator", s->emulator, NULL);
        if (s->disk_path) {
                xml_start(w, "disk", "type", "file", "device", "disk", NULL);
                xml_empty(w, "driver", "name", "qemu", "type", "qcow2", "cache", "none", "discard",
                          "unmap", NULL);
                xml_empty(w, "source", "file", s->disk_path, NULL);
                xml_empty(w, "target", "dev", "vda", "bus", "virtio", NULL);
                pci_address(w, SLOT_DISK);
                xml_end(w, "disk");
        }
        if (s->seed_iso) {
                xml_start(w, "disk", "type", "file", "device", "cdrom", NULL);
                xml_empty(w, "driver", "name", "qemu", "type", "raw", NULL);
                xml_empty(w, "source", "file", s->seed_iso, NULL);
                xml_empty(w, "target", "dev", "sda", "bus", "sata", NULL);
                xml_empty(w, "readonly", NULL);
                xml_end(w, "disk");
        }
        /* No USB bus: nothing needs it, and no tablet means no periodic wakeups. */
        xml_empty(w, "controller", "type", "usb", "model", "none", NULL);
        if (s->bridge) {
                /* A tap on the network's bridge; the guest gets IPAM's address from the
                 * network's dnsmasq, whose static lease is keyed on this MAC. */
                xml_start(w, "interface", "type", "bridge", NULL);
                xml_empty(w, "mac", "address", s->mac, NULL);
                xml_empty(w, "source", "bridge", s->bridge, NULL);
                if (s->tap)
                        xml_empty(w, "target", "dev", s->tap, NULL);
                xml_empty(w, "model", "type", "virtio", NULL);
                /* Also the virtio device's host_mtu, which the guest's driver adopts. */
                if (s->mtu) {
                        char mtu[16];
                        snprintf(mtu, sizeof(mtu), "%d", s->mtu);
                        xml_empty(w, "mtu", "size", mtu, NULL);
                }
                pci_address(w, SLOT_NIC);
                xml_end(w, "interface");
        }
        write_console(w, "serial", "isa-serial", s->console_log);
        write_console(w, "console", "serial", s->console_log);
        /* The QEMU guest agent's port: a guest that runs the agent is ready when it
         * first answers. */
        if (s->agent_socket) {
                xml_start(w, "controller", "type", "virtio-serial", "index", "0", NULL);
                pci_address(w, SLOT_SERIAL);
                xml_end(w, "controller");
                xml_start(w, "channel", "type", "unix", NULL);
                xml_empty(w, "source", "mode", "bind", "path", s->agent_socket, NULL);
                xml_empty(w, "target", "type", "virtio", "name", "org.qemu.guest_agent.0", NULL);
                xml_end(w, "channel");
        }
        /* A guest with a balloon driver reports the memory it uses every 10 s. */
        xml_start(w, "memballoon", "model", "virtio", NULL);
        xml_empty(w, "stats", "period", "10", NULL);
        pci_address(w, SLOT_BALLOON);
        xml_end(w, "memballoon");
        xml_start(w, "rng", "model", "virtio", NULL);
        xml_text(w, "backend", "/dev/urandom", "model", "random", NULL);
        pci_address(w, SLOT_RNG);
        xml_end(w, "rng");
        xml_end(w, "devices");
}

int hd_vm_domain_xml(const HdVmDomainSpec *s, char **ret_xml, HdError **err)
{
        if (!s || !ret_xml)
                return hd_error_set(err, -EINVAL, "no domain spec");
        int r = spec_validate(s, err);
        if (r < 0)
                return r;

        XmlWriter w = { 0 };
        w.f = open_memstream(&w.buf, &w.len);
        if (!w.f)
                return hd_error_set(err, -ENOMEM, "out of memory");

        char vcpus[16], memory[32];
        snprintf(vcpus, sizeof(vcpus), "%d", s->vcpus);
        snprintf(memory, sizeof(memory), "%lld", (long long)s->memory_mb);

        xml_start(&w, "domain", "type", s->kvm ? "kvm" : "qemu", NULL);
        xml_text(&w, "name", s->name, NULL);
        xml_text(&w, "uuid", s->uuid, NULL);
        write_metadata(&w, s);
        xml_text(&w, "memory", memory, "unit", "MiB", NULL);
        xml_text(&w, "currentMemory", memory, "unit", "MiB", NULL);
        if (s->cpuset)
                xml_text(&w, "vcpu", vcpus, "placement", "static", "cpuset", s->cpuset, NULL);
        else
                xml_text(&w, "vcpu", vcpus, "placement", "static", NULL);
        write_os(&w, s);
        /* ACPI lets a stop ask the guest to power off (virDomainShutdown). */
        xml_start(&w, "features", NULL);
        xml_empty(&w, "acpi", NULL);
        xml_empty(&w, "apic", NULL);
        xml_end(&w, "features");
        if (s->kvm)
                xml_empty(&w, "cpu", "mode", "host-passthrough", NULL);
        xml_empty(&w, "clock", "offset", "utc", NULL);
        xml_text(&w, "on_poweroff", "destroy", NULL);
        xml_text(&w, "on_reboot", "restart", NULL);
        xml_text(&w, "on_crash", "destroy", NULL);
        write_devices(&w, s);
        xml_end(&w, "domain");

        bool failed = ferror(w.f);
        if (fclose(w.f) != 0 || failed) {
                free(w.buf);
                return hd_error_set(err, -ENOMEM, "out of memory rendering the domain XML");
        }
        *ret_xml = w.buf;
        return 0;
}

/* ---- networking helpers ---------------------------------------------------------- */

int hd_vm_tap_name(const char *uuid, char ret[static HD_VM_TAP_NAME_MAX])
{
        ret[0] = '\0';
        if (!uuid || !hd_uuid_is_valid(uuid))
                return -EINVAL;
        size_t n = strlen(HD_VM_TAP_PREFIX);
        memcpy(ret, HD_VM_TAP_PREFIX, n);
        for (const char *p = uuid; *p && n < HD_VM_TAP_NAME_MAX - 1; p++)
                if (*p != '-')
                        ret[n++] = (char)(*p >= 'A' && *p <= 'F' ? *p - 'A' + 'a' : *p);
        ret[n] = '\0';
        return 0;
}

/* An RFC 1123 host name of letters, digits, '-' and '.': nothing that ends a kernel
 * argument (a space) or an ip= field (a colon). */
static bool ip_hostname_is_valid(const char *s)
{
        size_t n = strlen(s);
        if (n == 0 || n > 63)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '-'))
                        return false;
        }
        return true;
}

int hd_vm_kernel_ip_arg(const char *address, int prefix_len, const char *gateway,
                        const char *hostname, char **ret, HdError **err)
{
        uint32_t a, gw;
        if (!ret)
                return hd_error_set(err, -EINVAL, "no result pointer");
        *ret = NULL;
        if (!address || hd_ipv4_parse(address, &a) < 0)
                return hd_error_set_field(err, -EINVAL, "address",
                                          "address `%s` is not an IPv4 address",
                                          address ? address : "");
        if (prefix_len < 1 || prefix_len > 32)
                return hd_error_set_field(err, -EINVAL, "prefix_len",
                                          "prefix_len must be from 1 to 32, not %d", prefix_len);
        if (gateway && *gateway && hd_ipv4_parse(gateway, &gw) < 0)
                return hd_error_set_field(err, -EINVAL, "gateway",
                                          "gateway `%s` is not an IPv4 address", gateway);
        if (hostname && !ip_hostname_is_valid(hostname)) {
                int r = check_text("hostname", hostname, err);
                if (r < 0)
                        return r;
                return hd_error_set_field(err, -EINVAL, "hostname",
                                          "hostname `%s` is not a host name", hostname);
        }
        /* hd_ipv4_parse takes only the canonical dotted quad: both go in as given. */
        char mask[16];
        hd_ipv4_format(hd_ipv4_mask(prefix_len), mask);
        if (asprintf(ret, "ip=%s::%s:%s:%s:eth0:off", address, gateway ? gateway : "", mask,
                     hostname ? hostname : "") < 0) {
                *ret = NULL;
                return hd_error_set(err, -ENOMEM, "out of memory");
        }
        return 0;
}
