#include <fcntl.h>
#include <linux/kvm.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "scheduler.h"

static int64_t count_cpus(void)
{
        _cleanup_fclose_ FILE *f = fopen("/proc/cpuinfo", "re");
        int64_t n = 0;
        char line[512];
        if (f)
                while (fgets(line, sizeof(line), f))
                        if (strncmp(line, "processor", 9) == 0)
                                n++;
        if (n <= 0)
                n = sysconf(_SC_NPROCESSORS_ONLN);
        return n > 0 ? n : 1;
}

static int64_t read_memtotal_mb(void)
{
        _cleanup_fclose_ FILE *f = fopen("/proc/meminfo", "re");
        char line[256];
        long long kb = 0;
        if (f)
                while (fgets(line, sizeof(line), f))
                        if (sscanf(line, "MemTotal: %lld kB", &kb) == 1)
                                break;
        return kb > 0 ? kb / 1024 : 0;
}

static bool is_fs(const char *path, long magic)
{
        struct statfs st;
        return statfs(path, &st) == 0 && (long)st.f_type == magic;
}

static void probe_cgroup(HdHostFacts *f)
{
        if (is_fs("/sys/fs/cgroup", CGROUP2_SUPER_MAGIC))
                snprintf(f->cgroup_version, sizeof(f->cgroup_version), "v2");
        else if (is_fs("/sys/fs/cgroup/unified", CGROUP2_SUPER_MAGIC))
                snprintf(f->cgroup_version, sizeof(f->cgroup_version), "hybrid");
        else
                snprintf(f->cgroup_version, sizeof(f->cgroup_version), "v1");
}

static void probe_kvm(HdHostFacts *f)
{
        snprintf(f->accel, sizeof(f->accel), "tcg");
        _cleanup_close_ int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
        if (fd < 0) {
                snprintf(f->accel_reason, sizeof(f->accel_reason),
                         "/dev/kvm cannot be opened (%s): VMs run under TCG software emulation",
                         strerror(errno));
                return;
        }
        /* A device node is not enough: nested or paravirtual setups expose one
         * that cannot make a VM. Ask for the API version and make a VM. */
        int version = ioctl(fd, KVM_GET_API_VERSION, 0);
        if (version != KVM_API_VERSION) {
                snprintf(f->accel_reason, sizeof(f->accel_reason),
                         "/dev/kvm answers API version %d, not %d: VMs run under TCG", version,
                         KVM_API_VERSION);
                return;
        }
        _cleanup_close_ int vm = ioctl(fd, KVM_CREATE_VM, 0);
        if (vm < 0) {
                snprintf(f->accel_reason, sizeof(f->accel_reason),
                         "/dev/kvm cannot create a VM (%s): VMs run under TCG", strerror(errno));
                return;
        }
        snprintf(f->accel, sizeof(f->accel), "kvm");
        snprintf(f->accel_reason, sizeof(f->accel_reason), "/dev/kvm is usable (API version %d)",
                 version);
}

void hd_host_probe(HdHostFacts *ret)
{
        *ret = (HdHostFacts){ 0 };
        if (gethostname(ret->hostname, sizeof(ret->hostname) - 1) < 0)
                snprintf(ret->hostname, sizeof(ret->hostname), "localhost");
        ret->cpus = count_cpus();
        ret->memory_mb = read_memtotal_mb();
        probe_cgroup(ret);
        probe_kvm(ret);
}
