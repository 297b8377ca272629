/* Tests for vm-xml.c: the domain XML compared byte for byte with the golden files in
 * tests/data/vm-xml/, checked well-formed by xmllint and against libvirt's schema by
 * virt-xml-validate when those are installed, and the validation errors. Run with
 * HD_UPDATE_GOLDEN=1 to rewrite the golden files (then read the diff before keeping it). */
#include <check.h>
#include <fcntl.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>

#include "hd-util.h"
#include "vm-xml.h"

extern char **environ;

#define GOLDEN_DIR HD_TEST_DATA_DIR "/vm-xml"
#define UUID       "0b5dbbd4-5b6e-4f3c-9d2a-1c2b3a4d5e6f"

/* ---- helpers --------------------------------------------------------------------- */

static char *find_tool(const char *name)
{
        const char *path = getenv("PATH");
        if (!path)
                return NULL;
        _cleanup_free_ char *copy = strdup(path);
        ck_assert_ptr_nonnull(copy);
        char *save = NULL;
        for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
                char *p = NULL;
                ck_assert_int_ge(asprintf(&p, "%s/%s", d, name), 0);
                if (access(p, X_OK) == 0)
                        return p;
                free(p);
        }
        return NULL;
}

/* Runs argv with stdin fed from input (or empty) and stdout on /dev/null, stderr too
 * when quiet; returns the exit status. */
static int run_with_input(char *const argv[], const char *input, bool quiet)
{
        int fds[2];
        ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, fds[0], 0);
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
        if (quiet)
                posix_spawn_file_actions_adddup2(&fa, 1, 2);
        pid_t pid;
        ck_assert_int_eq(posix_spawn(&pid, argv[0], &fa, NULL, argv, environ), 0);
        posix_spawn_file_actions_destroy(&fa);
        close(fds[0]);
        if (input) {
                size_t len = strlen(input);
                ck_assert_int_eq(write(fds[1], input, len), (ssize_t)len);
        }
        close(fds[1]);
        int status;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void check_well_formed(const char *xml)
{
        _cleanup_free_ char *xmllint = find_tool("xmllint");
        if (!xmllint) {
                fprintf(stderr, "SKIP: xmllint not installed (libxml2-utils)\n");
                return;
        }
        char *argv[] = { xmllint, (char *)"--noout", (char *)"-", NULL };
        ck_assert_msg(run_with_input(argv, xml, false) == 0, "xmllint rejects:\n%s", xml);
}

static void check_schema(const char *name, const char *xml)
{
        _cleanup_free_ char *validate = find_tool("virt-xml-validate");
        if (!validate)
                return; /* libvirt-clients: optional */
        char path[] = "/tmp/test-vm-xml-XXXXXX";
        int fd = mkstemp(path);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, xml, strlen(xml)), (ssize_t)strlen(xml));
        close(fd);
        char *argv[] = { validate, path, (char *)"domain", NULL };
        /* It says "validates" on stderr: keep it quiet, and the file when it fails. */
        int status = run_with_input(argv, NULL, true);
        ck_assert_msg(status == 0, "virt-xml-validate rejects %s: virt-xml-validate %s domain",
                      name, path);
        unlink(path);
}

/* Compares xml with GOLDEN_DIR/name; on a mismatch leaves the output beside it in /tmp
 * and names both files for diff. */
static void check_golden(const char *name, const char *xml)
{
        _cleanup_free_ char *golden = NULL;
        ck_assert_int_ge(asprintf(&golden, "%s/%s", GOLDEN_DIR, name), 0);
        if (getenv("HD_UPDATE_GOLDEN")) {
                ck_assert_int_eq(hd_write_file_atomic(golden, xml, strlen(xml), 0644), 0);
                fprintf(stderr, "updated %s\n", golden);
        }
        _cleanup_free_ char *want = NULL;
        size_t want_len = 0;
        int r = hd_read_file(golden, 1 << 20, &want, &want_len);
        ck_assert_msg(r == 0, "cannot read %s: %s", golden, strerror(-r));
        if (want_len == strlen(xml) && memcmp(want, xml, want_len) == 0)
                return;

        size_t line = 1;
        for (size_t i = 0; i < want_len && xml[i] && want[i] == xml[i]; i++)
                if (xml[i] == '\n')
                        line++;
        _cleanup_free_ char *actual = NULL;
        ck_assert_int_ge(asprintf(&actual, "/tmp/test-vm-xml-%s", name), 0);
        (void)hd_write_file_atomic(actual, xml, strlen(xml), 0644);
        ck_abort_msg("%s differs from the golden file at line %zu:\n  diff -u %s %s", name, line,
                     golden, actual);
}

static void check_domain(const char *name, const HdVmDomainSpec *s)
{
        _cleanup_error_ HdError *err = NULL;
        _cleanup_free_ char *xml = NULL;
        int r = hd_vm_domain_xml(s, &xml, &err);
        ck_assert_msg(r == 0, "%s: %s (field %s)", name, err ? err->message : "?",
                      err && err->field ? err->field : "-");
        ck_assert_ptr_null(err);
        check_well_formed(xml);
        check_schema(name, xml);
        check_golden(name, xml);
}

/* ---- golden files ---------------------------------------------------------------- */

START_TEST(test_tcg_kernel_boot)
{
        const HdVmDomainSpec s = {
                .name = "hostd-" UUID,
                .uuid = UUID,
                .instance_name = "web",
                .vcpus = 1,
                .memory_mb = 256,
                .kvm = false,
                .kernel = "/var/lib/hostd/images/k/vmlinuz",
                .initrd = "/var/lib/hostd/images/k/initrd.img",
                .cmdline = "console=ttyS0 root=/dev/vda rw",
                .console_log = "/var/lib/hostd/instances/" UUID "/console.log",
        };
        check_domain("tcg-kernel.xml", &s);
}
END_TEST

START_TEST(test_kvm_disk_boot)
{
        const HdVmDomainSpec s = {
                .name = "hostd-" UUID,
                .uuid = UUID,
                .instance_name = "db-1",
                .vcpus = 4,
                .memory_mb = 4096,
                .kvm = true,
                .machine = "pc-q35-7.2",
                .emulator = "/usr/bin/qemu-system-x86_64",
                .disk_path = "/var/lib/hostd/instances/" UUID "/disk.qcow2",
                .seed_iso = "/var/lib/hostd/instances/" UUID "/seed.iso",
                .console_log = "/var/lib/hostd/instances/" UUID "/console.log",
                .bridge = "hostd0",
                .mac = "52:54:00:0a:58:00",
                .tap = "hdt0b5dbbd45b6",
                .mtu = 1450,
                .agent_socket = "/var/lib/hostd/instances/" UUID "/agent.sock",
        };
        check_domain("kvm-disk.xml", &s);
}
END_TEST

START_TEST(test_escaping)
{
        const HdVmDomainSpec s = {
                .name = "a&b<c>'d\"e",
                .uuid = UUID,
                .instance_name = "<script>&amp;'\"</script>",
                .vcpus = 2,
                .memory_mb = 16,
                .kvm = true,
                .kernel = "/boot/vm&linuz<'1'>",
                .cmdline = "init=/bin/sh x=\"a b\" y='c' z=&<>",
                .disk_path = "/srv/it's \"quoted\"/a&b.qcow2",
                .seed_iso = "/srv/<seed>.iso",
                .console_log = "/srv/log's & <more>/\"console\".log",
        };
        check_domain("escaping.xml", &s);
}
END_TEST

/* ---- validation ------------------------------------------------------------------ */

static HdVmDomainSpec valid_spec(void)
{
        return (HdVmDomainSpec){
                .name = "hostd-vm",
                .uuid = UUID,
                .vcpus = 1,
                .memory_mb = 64,
                .disk_path = "/d.qcow2",
                .console_log = "/c.log",
        };
}

static void expect_error(const HdVmDomainSpec *s, const char *field, const char *what)
{
        _cleanup_error_ HdError *err = NULL;
        char *xml = NULL;
        int r = hd_vm_domain_xml(s, &xml, &err);
        ck_assert_msg(r == -EINVAL, "%s: got %d, not -EINVAL", what, r);
        ck_assert_ptr_null(xml);
        ck_assert_ptr_nonnull(err);
        ck_assert_ptr_nonnull(err->message);
        ck_assert_msg(err->field && strcmp(err->field, field) == 0,
                      "%s: field is `%s`, not `%s` (%s)", what, err->field ? err->field : "(null)",
                      field, err->message);
}

START_TEST(test_errors)
{
        _cleanup_error_ HdError *err = NULL;
        char *xml = NULL;
        ck_assert_int_eq(hd_vm_domain_xml(NULL, &xml, &err), -EINVAL);
        ck_assert_ptr_null(xml);

        /* The baseline is fine and minimal (no NIC, no kernel, default machine). */
        HdVmDomainSpec s = valid_spec();
        _cleanup_free_ char *ok = NULL;
        ck_assert_int_eq(hd_vm_domain_xml(&s, &ok, NULL), 0);
        ck_assert_ptr_nonnull(strstr(ok, "<type arch='x86_64' machine='q35'>hvm</type>"));
        ck_assert_ptr_null(strstr(ok, "<interface"));
        ck_assert_ptr_null(strstr(ok, "host-passthrough"));
        ck_assert_ptr_null(strstr(ok, "<hostd:name>"));

#define EXPECT(field, mutation)                     \
        do {                                        \
                s = valid_spec();                   \
                mutation;                           \
                expect_error(&s, field, #mutation); \
        } while (0)

        EXPECT("name", s.name = NULL);
        EXPECT("name", s.name = "");
        EXPECT("name", s.name = "a/b");
        EXPECT("name", s.name = "a\nb");
        EXPECT("name", s.name = "bad\xff utf8");
        EXPECT("name", s.name = "overlong \xc0\xaf");
        EXPECT("uuid", s.uuid = NULL);
        EXPECT("uuid", s.uuid = "");
        EXPECT("uuid", s.uuid = "0b5dbbd4-5b6e-4f3c-9d2a-1c2b3a4d5e6");
        EXPECT("uuid", s.uuid = "0b5dbbd4-5b6e-4f3c-9d2a-1c2b3a4d5e6g");
        EXPECT("instance_name", s.instance_name = "tab\there");
        EXPECT("vcpus", s.vcpus = 0);
        EXPECT("vcpus", s.vcpus = -1);
        EXPECT("vcpus", s.vcpus = HD_VM_VCPUS_MAX + 1);
        EXPECT("memory_mb", s.memory_mb = 15);
        EXPECT("memory_mb", s.memory_mb = -1);
        EXPECT("memory_mb", s.memory_mb = INT64_MAX);
        EXPECT("machine", s.machine = "");
        EXPECT("machine", s.machine = "q35'/><evil/>");
        EXPECT("emulator", s.emulator = "qemu-system-x86_64");
        EXPECT("disk_path", s.disk_path = "disk.qcow2");
        EXPECT("disk_path", s.disk_path = "/disk\r.qcow2");
        EXPECT("disk_path", s.disk_path = NULL); /* nothing to boot */
        EXPECT("kernel", s.kernel = "vmlinuz");
        EXPECT("initrd", (s.kernel = "/k", s.initrd = "initrd"));
        EXPECT("initrd", s.initrd = "/initrd");         /* without a kernel */
        EXPECT("cmdline", s.cmdline = "console=ttyS0"); /* without a kernel */
        EXPECT("cmdline", (s.kernel = "/k", s.cmdline = "a\nb"));
        EXPECT("seed_iso", s.seed_iso = "seed.iso");
        EXPECT("seed_iso", s.seed_iso = "/seed\x7f.iso");
        EXPECT("agent_socket", s.agent_socket = "agent.sock");
        EXPECT("console_log", s.console_log = NULL);
        EXPECT("console_log", s.console_log = "");
        EXPECT("console_log", s.console_log = "console.log");
        EXPECT("console_log", s.console_log = "/console\x1b.log");
#undef EXPECT

        /* The limits themselves are fine; so is a kernel without a disk. */
        s = valid_spec();
        s.vcpus = HD_VM_VCPUS_MAX;
        s.memory_mb = HD_VM_MEMORY_MB_MIN;
        s.disk_path = NULL;
        s.kernel = "/k";
        s.name = "name with spaces and ünïcødé";
        _cleanup_free_ char *edge = NULL;
        ck_assert_int_eq(hd_vm_domain_xml(&s, &edge, NULL), 0);
        ck_assert_ptr_nonnull(strstr(edge, "<vcpu placement='static'>256</vcpu>"));
        ck_assert_ptr_nonnull(strstr(edge, "<name>name with spaces and ünïcødé</name>"));
        check_well_formed(edge);
        check_schema("edge", edge);
}
END_TEST

/* ---- the NIC -------------------------------------------------------------------- */

static HdVmDomainSpec nic_spec(void)
{
        HdVmDomainSpec s = valid_spec();
        s.bridge = "hostd0";
        s.mac = "52:54:00:0a:58:00";
        s.tap = "hdt0b5dbbd45b6";
        s.mtu = 1500;
        return s;
}

START_TEST(test_nic)
{
        HdVmDomainSpec s = nic_spec();
        _cleanup_free_ char *xml = NULL;
        ck_assert_int_eq(hd_vm_domain_xml(&s, &xml, NULL), 0);
        /* The whole element, on the NIC's fixed root-bus slot. */
        ck_assert_ptr_nonnull(
                strstr(xml, "    <interface type='bridge'>\n"
                            "      <mac address='52:54:00:0a:58:00'/>\n"
                            "      <source bridge='hostd0'/>\n"
                            "      <target dev='hdt0b5dbbd45b6'/>\n"
                            "      <model type='virtio'/>\n"
                            "      <mtu size='1500'/>\n"
                            "      <address type='pci' domain='0x0000' bus='0x00' slot='0x03' "
                            "function='0x0'/>\n"
                            "    </interface>\n"));
        ck_assert_ptr_null(strstr(xml, "type='user'"));
        check_well_formed(xml);
        check_schema("nic", xml);

        /* Without a tap or an MTU libvirt picks them: no element for either (vda keeps
         * its target). */
        s.tap = NULL;
        s.mtu = 0;
        _cleanup_free_ char *bare = NULL;
        ck_assert_int_eq(hd_vm_domain_xml(&s, &bare, NULL), 0);
        ck_assert_ptr_nonnull(strstr(bare, "<source bridge='hostd0'/>"));
        ck_assert_ptr_null(strstr(bare, "<target dev='hdt"));
        ck_assert_ptr_null(strstr(bare, "<mtu"));
        check_schema("nic-bare", bare);

        /* The edges of what is allowed. */
        s = nic_spec();
        s.bridge = "a.b-c_D0123456"; /* 14 */
        s.tap = "x23456789012345";   /* 15 */
        s.mac = "FE:FF:FF:FF:FF:FF"; /* upper case, locally administered, unicast */
        s.mtu = HD_VM_MTU_MAX;
        _cleanup_free_ char *edge = NULL;
        ck_assert_int_eq(hd_vm_domain_xml(&s, &edge, NULL), 0);
        ck_assert_ptr_nonnull(strstr(edge, "<mtu size='9000'/>"));
        s.mtu = HD_VM_MTU_MIN;
        _cleanup_free_ char *edge2 = NULL;
        ck_assert_int_eq(hd_vm_domain_xml(&s, &edge2, NULL), 0);
        ck_assert_ptr_nonnull(strstr(edge2, "<mtu size='576'/>"));
}
END_TEST

START_TEST(test_nic_errors)
{
        HdVmDomainSpec s;
#define EXPECT(field, mutation)                     \
        do {                                        \
                s = nic_spec();                     \
                mutation;                           \
                expect_error(&s, field, #mutation); \
        } while (0)

        EXPECT("bridge", s.bridge = "");
        EXPECT("bridge", s.bridge = "a23456789012345x"); /* 16 */
        EXPECT("bridge", s.bridge = "br 0");
        EXPECT("bridge", s.bridge = "br/0");
        EXPECT("bridge", s.bridge = "br:0");
        EXPECT("bridge", s.bridge = "br'0");
        EXPECT("bridge", s.bridge = ".");
        EXPECT("bridge", s.bridge = "..");
        EXPECT("bridge", s.bridge = "br\n0");
        EXPECT("bridge", s.bridge = "br\xc3\xa9");
        EXPECT("mac", s.mac = NULL);
        EXPECT("mac", s.mac = "");
        EXPECT("mac", s.mac = "52:54:00:0a:58");
        EXPECT("mac", s.mac = "52:54:00:0a:58:00:01");
        EXPECT("mac", s.mac = "52-54-00-0a-58-00");
        EXPECT("mac", s.mac = "52:54:00:0a:58:0g");
        EXPECT("mac", s.mac = "525:4:00:0a:58:00");
        EXPECT("mac", s.mac = "01:00:5e:00:00:01"); /* multicast */
        EXPECT("mac", s.mac = "ff:ff:ff:ff:ff:ff"); /* broadcast */
        EXPECT("mac", s.mac = "52:54:00:0a:58:\x01\x02");
        EXPECT("tap", s.tap = "");
        EXPECT("tap", s.tap = "hdt0b5dbbd45b6ff"); /* 16 */
        EXPECT("tap", s.tap = "tap'><evil/>");
        EXPECT("mtu", s.mtu = HD_VM_MTU_MIN - 1);
        EXPECT("mtu", s.mtu = HD_VM_MTU_MAX + 1);
        EXPECT("mtu", s.mtu = -1);
        /* Each part of a NIC needs the bridge. */
        EXPECT("mac", s.bridge = NULL);
        EXPECT("tap", (s.bridge = NULL, s.mac = NULL));
        EXPECT("mtu", (s.bridge = NULL, s.mac = NULL, s.tap = NULL));
#undef EXPECT

        /* And with none of them, no NIC at all. */
        s = nic_spec();
        s.bridge = s.mac = s.tap = NULL;
        s.mtu = 0;
        _cleanup_free_ char *xml = NULL;
        ck_assert_int_eq(hd_vm_domain_xml(&s, &xml, NULL), 0);
        ck_assert_ptr_null(strstr(xml, "<interface"));
        ck_assert_ptr_null(strstr(xml, "slot='0x03'"));
}
END_TEST

START_TEST(test_tap_name)
{
        char tap[HD_VM_TAP_NAME_MAX];
        ck_assert_int_eq(hd_vm_tap_name(UUID, tap), 0);
        ck_assert_str_eq(tap, "hdt0b5dbbd45b6");
        ck_assert_uint_eq(strlen(tap), 14);
        ck_assert_int_eq(hd_vm_tap_name("0B5DBBD4-5B6E-4F3C-9D2A-1C2B3A4D5E6F", tap), 0);
        ck_assert_str_eq(tap, "hdt0b5dbbd45b6");
        ck_assert_int_eq(hd_vm_tap_name("0b5dbbd4-5b6e", tap), -EINVAL);
        ck_assert_str_eq(tap, "");
        ck_assert_int_eq(hd_vm_tap_name(NULL, tap), -EINVAL);

        /* What it makes is a tap that hd_vm_domain_xml takes. */
        ck_assert_int_eq(hd_vm_tap_name(UUID, tap), 0);
        HdVmDomainSpec s = nic_spec();
        s.tap = tap;
        _cleanup_free_ char *xml = NULL;
        ck_assert_int_eq(hd_vm_domain_xml(&s, &xml, NULL), 0);
}
END_TEST

/* ---- the kernel's ip= ------------------------------------------------------------ */

static void expect_ip_arg(const char *addr, int prefix, const char *gw, const char *host,
                          const char *want)
{
        _cleanup_error_ HdError *err = NULL;
        _cleanup_free_ char *arg = NULL;
        int r = hd_vm_kernel_ip_arg(addr, prefix, gw, host, &arg, &err);
        ck_assert_msg(r == 0, "%s/%d: %s", addr, prefix, err ? err->message : "?");
        ck_assert_str_eq(arg, want);
}

static void expect_ip_error(const char *addr, int prefix, const char *gw, const char *host,
                            const char *field)
{
        _cleanup_error_ HdError *err = NULL;
        char *arg = (char *)"untouched";
        ck_assert_int_eq(hd_vm_kernel_ip_arg(addr, prefix, gw, host, &arg, &err), -EINVAL);
        ck_assert_ptr_null(arg);
        ck_assert_ptr_nonnull(err);
        ck_assert_msg(err->field && strcmp(err->field, field) == 0, "field `%s`, not `%s` (%s)",
                      err->field ? err->field : "(null)", field, err->message);
}

START_TEST(test_kernel_ip_arg)
{
        expect_ip_arg("10.88.0.5", 24, "10.88.0.1", "web",
                      "ip=10.88.0.5::10.88.0.1:255.255.255.0:web:eth0:off");
        expect_ip_arg("172.16.3.200", 20, "172.16.0.1", "db-1.example",
                      "ip=172.16.3.200::172.16.0.1:255.255.240.0:db-1.example:eth0:off");
        expect_ip_arg("192.168.1.2", 32, "192.168.1.1", "h",
                      "ip=192.168.1.2::192.168.1.1:255.255.255.255:h:eth0:off");
        expect_ip_arg("10.0.0.2", 1, NULL, NULL, "ip=10.0.0.2:::128.0.0.0::eth0:off");
        expect_ip_arg("10.0.0.2", 8, "", "a", "ip=10.0.0.2:::255.0.0.0:a:eth0:off");

        expect_ip_error(NULL, 24, "10.88.0.1", "web", "address");
        expect_ip_error("", 24, "10.88.0.1", "web", "address");
        expect_ip_error("10.88.0.256", 24, "10.88.0.1", "web", "address");
        expect_ip_error("10.88.0.05", 24, "10.88.0.1", "web", "address");
        expect_ip_error("10.88.0.5/24", 24, "10.88.0.1", "web", "address");
        expect_ip_error("10.88.0.5", 0, "10.88.0.1", "web", "prefix_len");
        expect_ip_error("10.88.0.5", 33, "10.88.0.1", "web", "prefix_len");
        expect_ip_error("10.88.0.5", 24, "10.88.0", "web", "gateway");
        expect_ip_error("10.88.0.5", 24, "10.88.0.1 x", "web", "gateway");
        expect_ip_error("10.88.0.5", 24, "10.88.0.1", "", "hostname");
        expect_ip_error("10.88.0.5", 24, "10.88.0.1", "a:b", "hostname");
        expect_ip_error("10.88.0.5", 24, "10.88.0.1", "a b", "hostname");
        expect_ip_error("10.88.0.5", 24, "10.88.0.1", "a\nb", "hostname");
        expect_ip_error("10.88.0.5", 24, "10.88.0.1",
                        "a234567890123456789012345678901234567890123456789012345678901234", /* 64 */
                        "hostname");

        /* What it makes is a cmdline that hd_vm_domain_xml takes. */
        _cleanup_free_ char *arg = NULL;
        ck_assert_int_eq(hd_vm_kernel_ip_arg("10.88.0.5", 24, "10.88.0.1", "web", &arg, NULL), 0);
        HdVmDomainSpec s = valid_spec();
        s.kernel = "/k";
        s.cmdline = arg;
        _cleanup_free_ char *xml = NULL;
        ck_assert_int_eq(hd_vm_domain_xml(&s, &xml, NULL), 0);
        ck_assert_ptr_nonnull(strstr(
                xml, "<cmdline>ip=10.88.0.5::10.88.0.1:255.255.255.0:web:eth0:off</cmdline>"));
}
END_TEST

/* ---- CPU pinning ----------------------------------------------------------------- */

START_TEST(test_cpuset)
{
        HdVmDomainSpec s = valid_spec();
        _cleanup_free_ char *free_xml = NULL;
        ck_assert_int_eq(hd_vm_domain_xml(&s, &free_xml, NULL), 0);
        ck_assert_ptr_nonnull(strstr(free_xml, "<vcpu placement='static'>1</vcpu>"));
        ck_assert_ptr_null(strstr(free_xml, "cpuset"));

        s.vcpus = 2;
        s.cpuset = "0-1";
        _cleanup_error_ HdError *err = NULL;
        _cleanup_free_ char *xml = NULL;
        ck_assert_int_eq(hd_vm_domain_xml(&s, &xml, &err), 0);
        ck_assert_ptr_nonnull(strstr(xml, "<vcpu placement='static' cpuset='0-1'>2</vcpu>"));
        check_well_formed(xml);
        check_schema("cpuset", xml);

        /* as given, any valid list: the kernel and libvirt take the same forms */
        s.cpuset = "0,2,4-5";
        _cleanup_free_ char *xml2 = NULL;
        ck_assert_int_eq(hd_vm_domain_xml(&s, &xml2, NULL), 0);
        ck_assert_ptr_nonnull(strstr(xml2, "<vcpu placement='static' cpuset='0,2,4-5'>2</vcpu>"));
        check_schema("cpuset", xml2);

        static const char *const bad[] = { "",  "3-1", "0,",     "1024", "0-1024", "-1",
                                           "a", "0 1", "0'/><x", "0\n",  "^1",     "0-1,^1" };
        for (size_t k = 0; k < HD_ARRAY_SIZE(bad); k++) {
                s.cpuset = bad[k];
                expect_error(&s, "cpuset", bad[k]);
        }
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("vm-xml");
        TCase *tc = tcase_create("domain");
        tcase_add_test(tc, test_tcg_kernel_boot);
        tcase_add_test(tc, test_kvm_disk_boot);
        tcase_add_test(tc, test_escaping);
        tcase_add_test(tc, test_errors);
        tcase_add_test(tc, test_cpuset);
        suite_add_tcase(s, tc);
        TCase *net = tcase_create("network");
        tcase_add_test(net, test_nic);
        tcase_add_test(net, test_nic_errors);
        tcase_add_test(net, test_tap_name);
        tcase_add_test(net, test_kernel_ip_arg);
        suite_add_tcase(s, net);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
