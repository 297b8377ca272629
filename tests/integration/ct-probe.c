/* Tries, from inside a container, what the security defaults must refuse, and prints
 * one NAME=RESULT line per attempt (RESULT: ok, or the errno's name). Linked statically,
 * so it runs in an image of its own.
 *
 * These calls succeed against the host when run there as root, so the probe refuses to
 * run unless it is pid 1 of its own pid namespace (DESIGN.md §7). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/keyctl.h>
#include <linux/reboot.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

static void report(const char *name, long r)
{
        printf("%s=%s\n", name, r >= 0 ? "ok" : strerrorname_np(errno));
}

int main(void)
{
        if (getpid() != 1) {
                fprintf(stderr, "ct-probe: refusing to run: not pid 1 of a pid namespace\n");
                return 2;
        }
        report("mount", mount("none", "/mnt", "tmpfs", 0, NULL));
        report("umount", umount2("/proc", MNT_DETACH));
        report("unshare_user", unshare(CLONE_NEWUSER));
        report("unshare_ns", unshare(CLONE_NEWNS));
        report("setns", setns(0, 0));
        report("keyctl", syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0));
        report("add_key", syscall(SYS_add_key, "user", "k", "v", 1, KEY_SPEC_PROCESS_KEYRING));
        union bpf_attr attr;
        memset(&attr, 0, sizeof(attr));
        report("bpf", syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof(attr)));
        report("init_module", syscall(SYS_init_module, NULL, 0, ""));
        report("finit_module", syscall(SYS_finit_module, -1, "", 0));
        report("delete_module", syscall(SYS_delete_module, "loop", 0));
        report("kexec_load", syscall(SYS_kexec_load, 0, 0, NULL, 0));
        report("clone3", syscall(SYS_clone3, NULL, 0));
        long child = syscall(SYS_clone, CLONE_NEWNS | SIGCHLD, NULL, NULL, NULL, 0);
        if (child == 0)
                _exit(0); /* only if the filter let it through: the report says so */
        report("clone_newns", child);
        report("perf_event_open", syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0));
        report("reboot", syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2,
                                 LINUX_REBOOT_CMD_CAD_OFF, NULL));
        report("swapoff", syscall(SYS_swapoff, "/nonexistent"));
        struct timeval tv;
        gettimeofday(&tv, NULL);
        report("settimeofday", settimeofday(&tv, NULL));
        report("open_by_handle_at", syscall(SYS_open_by_handle_at, -1, NULL, 0));
        report("socket_vsock", socket(AF_VSOCK, SOCK_STREAM, 0));
        report("socket_alg", socket(38 /* AF_ALG */, SOCK_SEQPACKET, 0));
        report("personality_bad", personality(0x0400000));
        report("pivot_root", syscall(SYS_pivot_root, "/", "/"));
        /* Making a node is allowed (CAP_MKNOD); using one off the allow-list is not. */
        report("mknod_blk", mknod("/tmp/blk", S_IFBLK | 0600, makedev(8, 0)));
        report("open_blk", open("/tmp/blk", O_RDONLY));
        report("sethostname", sethostname("x", 1)); /* needs CAP_SYS_ADMIN */
        report("chown", chown("/tmp", 1, 1));       /* allowed: CAP_CHOWN */
        fflush(stdout);
        return 0;
}
