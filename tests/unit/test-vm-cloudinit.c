/* Tests for vm-cloudinit.c: seed ISOs built with the real tool and read back (volume id
 * from the primary volume descriptor, files extracted with xorriso or isoinfo), the
 * genisoimage fallback, the tool missing or failing, and the validation errors. The
 * ISO tests print SKIP and pass when neither xorriso nor genisoimage is installed. */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <spawn.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "hd-util.h"
#include "vm-cloudinit.h"

extern char **environ;

#define UUID "0b5dbbd4-5b6e-4f3c-9d2a-1c2b3a4d5e6f"

static char *saved_path;

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

static bool have_iso_tool(void)
{
        _cleanup_free_ char *x = find_tool("xorriso");
        _cleanup_free_ char *g = find_tool("genisoimage");
        if (x || g)
                return true;
        fprintf(stderr, "SKIP: neither xorriso nor genisoimage is installed\n");
        return false;
}

/* Runs argv; *ret_out (when non-NULL) gets its stdout. Returns the exit status. */
static int run(char *const argv[], char **ret_out)
{
        int fds[2];
        ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
        pid_t pid;
        ck_assert_int_eq(posix_spawn(&pid, argv[0], &fa, NULL, argv, environ), 0);
        posix_spawn_file_actions_destroy(&fa);
        close(fds[1]);
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);
        ck_assert_ptr_nonnull(f);
        char buf[4096];
        ssize_t n;
        while ((n = read(fds[0], buf, sizeof(buf))) > 0)
                fwrite(buf, 1, (size_t)n, f);
        close(fds[0]);
        fclose(f);
        int status;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        if (ret_out)
                *ret_out = out;
        else
                free(out);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* A scratch directory with TMPDIR pointed at an empty "tmp" inside it, so that each test
 * can check the seed's private directory was removed. */
static char *scratch_new(void)
{
        char tmpl[] = "/tmp/test-vm-cloudinit-XXXXXX";
        ck_assert_ptr_nonnull(mkdtemp(tmpl));
        char *dir = strdup(tmpl);
        _cleanup_free_ char *tmp = NULL;
        ck_assert_int_ge(asprintf(&tmp, "%s/tmp", dir), 0);
        ck_assert_int_eq(mkdir(tmp, 0700), 0);
        ck_assert_int_eq(setenv("TMPDIR", tmp, 1), 0);
        return dir;
}

static size_t count_entries(const char *dir)
{
        DIR *d = opendir(dir);
        ck_assert_ptr_nonnull(d);
        size_t n = 0;
        for (struct dirent *de; (de = readdir(d));)
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                        n++;
        closedir(d);
        return n;
}

static void rm_rf(const char *dir)
{
        char *argv[] = { (char *)"/bin/rm", (char *)"-rf", (char *)dir, NULL };
        ck_assert_int_eq(run(argv, NULL), 0);
}

/* Checks that the private directory is gone, puts PATH back and removes the scratch. */
static void scratch_free(char *dir)
{
        _cleanup_free_ char *tmp = NULL;
        ck_assert_int_ge(asprintf(&tmp, "%s/tmp", dir), 0);
        ck_assert_msg(count_entries(tmp) == 0, "the seed left files in %s", tmp);
        unsetenv("TMPDIR");
        ck_assert_int_eq(setenv("PATH", saved_path, 1), 0);
        rm_rf(dir);
        free(dir);
}

static char *path_in(const char *dir, const char *name)
{
        char *p = NULL;
        ck_assert_int_ge(asprintf(&p, "%s/%s", dir, name), 0);
        return p;
}

/* The volume id from the primary volume descriptor (sector 16, 32 bytes at offset 40,
 * padded with spaces). */
static void check_volume_id(const char *iso, const char *want)
{
        _cleanup_close_ int fd = open(iso, O_RDONLY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        unsigned char pvd[2048];
        ck_assert_int_eq(pread(fd, pvd, sizeof(pvd), 16 * 2048), (ssize_t)sizeof(pvd));
        ck_assert_int_eq(pvd[0], 1);
        ck_assert(memcmp(pvd + 1, "CD001", 5) == 0);
        char volid[33];
        memcpy(volid, pvd + 40, 32);
        volid[32] = '\0';
        for (int i = 31; i >= 0 && volid[i] == ' '; i--)
                volid[i] = '\0';
        ck_assert_str_eq(volid, want);
}

/* Reads meta-data and user-data back from the ISO, and checks nothing else is there. */
static void read_seed(const char *scratch, const char *iso, char **ret_meta, char **ret_user)
{
        _cleanup_free_ char *xorriso = find_tool("xorriso");
        if (xorriso) {
                _cleanup_free_ char *out = path_in(scratch, "extracted");
                char *argv[] = { xorriso,     (char *)"-osirrox", (char *)"on", (char *)"-indev",
                                 (char *)iso, (char *)"-extract", (char *)"/",  out,
                                 NULL };
                ck_assert_int_eq(run(argv, NULL), 0);
                ck_assert_uint_eq(count_entries(out), 2); /* no network-config */
                _cleanup_free_ char *meta = path_in(out, "meta-data");
                _cleanup_free_ char *user = path_in(out, "user-data");
                ck_assert_int_eq(hd_read_file(meta, 1 << 20, ret_meta, NULL), 0);
                ck_assert_int_eq(hd_read_file(user, 1 << 20, ret_user, NULL), 0);
                ck_assert_int_eq(chmod(out, 0700), 0); /* extracted read-only */
                rm_rf(out);
                return;
        }
        _cleanup_free_ char *isoinfo = find_tool("isoinfo");
        if (!isoinfo) {
                fprintf(stderr, "SKIP: no xorriso or isoinfo to read the seed back\n");
                *ret_meta = *ret_user = NULL;
                return;
        }
        char *argv_meta[] = { isoinfo,      (char *)"-i",         (char *)iso, (char *)"-R",
                              (char *)"-x", (char *)"/meta-data", NULL };
        ck_assert_int_eq(run(argv_meta, ret_meta), 0);
        char *argv_user[] = { isoinfo,      (char *)"-i",         (char *)iso, (char *)"-R",
                              (char *)"-x", (char *)"/user-data", NULL };
        ck_assert_int_eq(run(argv_user, ret_user), 0);
}

/* Builds the seed into scratch/seed.iso and checks the label and both files. */
static void check_seed(const char *scratch, const HdVmCloudInit *ci, const char *want_meta,
                       const char *want_user)
{
        _cleanup_free_ char *iso = path_in(scratch, "seed.iso");
        _cleanup_error_ HdError *err = NULL;
        int r = hd_vm_cloudinit_seed(ci, iso, &err);
        ck_assert_msg(r == 0, "seed failed: %d %s", r, err ? err->message : "?");
        ck_assert_ptr_null(err);

        struct stat st;
        ck_assert_int_eq(stat(iso, &st), 0);
        ck_assert(S_ISREG(st.st_mode));
        ck_assert_int_eq(st.st_mode & 0044, 0044); /* qemu reads it */
        check_volume_id(iso, "cidata");

        _cleanup_free_ char *meta = NULL, *user = NULL;
        read_seed(scratch, iso, &meta, &user);
        if (!meta)
                return;
        ck_assert_str_eq(meta, want_meta);
        ck_assert_str_eq(user, want_user);
}

static const char *const keys[] = {
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl "
        "alice@laptop",
        "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 bob's key: #1 & \"more\"",
};

#define META "instance-id: '" UUID "'\nlocal-hostname: 'web-1'\n"
#define KEYS_BLOCK                                                                               \
        "ssh_authorized_keys:\n"                                                                 \
        "  - 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl " \
        "alice@laptop'\n"                                                                        \
        "  - 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 bob''s key: #1 & \"more\"'\n"

/* ---- seeds ----------------------------------------------------------------------- */

START_TEST(test_default_user_data)
{
        if (!have_iso_tool())
                return;
        char *scratch = scratch_new();
        HdVmCloudInit ci = {
                .instance_id = UUID,
                .hostname = "web-1",
                .ssh_authorized_keys = keys,
                .n_keys = HD_ARRAY_SIZE(keys),
        };
        check_seed(scratch, &ci, META, "#cloud-config\nhostname: 'web-1'\n" KEYS_BLOCK);

        /* Again without keys, over the ISO already there. */
        ci.n_keys = 0;
        ci.ssh_authorized_keys = NULL;
        check_seed(scratch, &ci, META, "#cloud-config\nhostname: 'web-1'\n");
        scratch_free(scratch);
}
END_TEST

START_TEST(test_cloud_config_gets_keys)
{
        if (!have_iso_tool())
                return;
        char *scratch = scratch_new();
        HdVmCloudInit ci = {
                .instance_id = UUID,
                .hostname = "web-1",
                .user_data = "#cloud-config\npackages:\n  - nginx", /* no final newline */
                .ssh_authorized_keys = keys,
                .n_keys = HD_ARRAY_SIZE(keys),
        };
        check_seed(scratch, &ci, META, "#cloud-config\npackages:\n  - nginx\n" KEYS_BLOCK);

        /* A top-level list of the user's own wins: the text goes in as it is. */
        static const char own[] = "#cloud-config\r\nssh_authorized_keys:\r\n  - ssh-ed25519 "
                                  "AAAA mine\r\nruncmd:\r\n  - [touch, /ok]\r\n";
        ci.user_data = own;
        check_seed(scratch, &ci, META, own);

        /* An indented "ssh_authorized_keys:" (a user's) is not the top-level key. */
        ci.user_data = "#cloud-config\nusers:\n  - name: x\n    ssh_authorized_keys: [a]\n";
        check_seed(scratch, &ci, META,
                   "#cloud-config\nusers:\n  - name: x\n    ssh_authorized_keys: [a]\n" KEYS_BLOCK);
        scratch_free(scratch);
}
END_TEST

START_TEST(test_script_as_is)
{
        if (!have_iso_tool())
                return;
        char *scratch = scratch_new();
        _cleanup_free_ char *iso = path_in(scratch, "seed.iso");
        ck_assert_int_eq(hd_write_file_atomic(iso, "old", 3, 0600), 0);
        HdVmCloudInit ci = {
                .instance_id = "i-0123 'quoted'",
                .hostname = "host.example.org",
                .user_data = "#!/bin/sh\necho 'hi' > /tmp/x\n",
        };
        check_seed(scratch, &ci,
                   "instance-id: 'i-0123 ''quoted'''\nlocal-hostname: 'host.example.org'\n",
                   "#!/bin/sh\necho 'hi' > /tmp/x\n");

        /* The limit itself is fine. */
        _cleanup_free_ char *big = malloc(HD_VM_USER_DATA_MAX + 1);
        ck_assert_ptr_nonnull(big);
        memset(big, 'x', HD_VM_USER_DATA_MAX);
        memcpy(big, "#!/bin/sh\n#", 11);
        big[HD_VM_USER_DATA_MAX] = '\0';
        ci.user_data = big;
        check_seed(scratch, &ci,
                   "instance-id: 'i-0123 ''quoted'''\nlocal-hostname: 'host.example.org'\n", big);
        scratch_free(scratch);
}
END_TEST

/* ---- the tool -------------------------------------------------------------------- */

static char *bin_dir(const char *scratch)
{
        char *bin = path_in(scratch, "bin");
        ck_assert_int_eq(mkdir(bin, 0700), 0);
        return bin;
}

START_TEST(test_genisoimage_fallback)
{
        /* xorriso started as "genisoimage" speaks mkisofs: it stands in for genisoimage
         * on a PATH without xorriso. */
        _cleanup_free_ char *xorriso = find_tool("xorriso");
        if (!xorriso) {
                fprintf(stderr, "SKIP: xorriso is not installed to stand in for genisoimage\n");
                return;
        }
        char *scratch = scratch_new();
        _cleanup_free_ char *bin = bin_dir(scratch);
        _cleanup_free_ char *link = path_in(bin, "genisoimage");
        ck_assert_int_eq(symlink(xorriso, link), 0);
        ck_assert_int_eq(setenv("PATH", bin, 1), 0);
        _cleanup_free_ char *iso = path_in(scratch, "seed.iso");
        HdVmCloudInit ci = { .instance_id = UUID, .hostname = "web-1" };
        _cleanup_error_ HdError *err = NULL;
        int r = hd_vm_cloudinit_seed(&ci, iso, &err);
        ck_assert_msg(r == 0, "seed failed: %s", err ? err->message : "?");
        ck_assert_int_eq(setenv("PATH", saved_path, 1), 0); /* read_seed needs xorriso */
        check_volume_id(iso, "cidata");
        _cleanup_free_ char *meta = NULL, *user = NULL;
        read_seed(scratch, iso, &meta, &user);
        ck_assert_str_eq(meta, META);
        ck_assert_str_eq(user, "#cloud-config\nhostname: 'web-1'\n");
        scratch_free(scratch);
}
END_TEST

START_TEST(test_no_tool)
{
        char *scratch = scratch_new();
        _cleanup_free_ char *bin = bin_dir(scratch);
        ck_assert_int_eq(setenv("PATH", bin, 1), 0);
        _cleanup_free_ char *iso = path_in(scratch, "seed.iso");
        HdVmCloudInit ci = { .instance_id = UUID, .hostname = "web-1" };
        _cleanup_error_ HdError *err = NULL;
        ck_assert_int_eq(hd_vm_cloudinit_seed(&ci, iso, &err), -ENOENT);
        ck_assert_ptr_nonnull(err);
        ck_assert_ptr_nonnull(strstr(err->message, "apt-get install xorriso"));
        ck_assert_int_eq(access(iso, F_OK), -1);
        scratch_free(scratch);
}
END_TEST

START_TEST(test_tool_fails)
{
        _cleanup_free_ char *false_bin = find_tool("false");
        ck_assert_ptr_nonnull(false_bin);
        char *scratch = scratch_new();
        _cleanup_free_ char *bin = bin_dir(scratch);
        _cleanup_free_ char *link = path_in(bin, "xorriso");
        ck_assert_int_eq(symlink(false_bin, link), 0);
        ck_assert_int_eq(setenv("PATH", bin, 1), 0);
        _cleanup_free_ char *iso = path_in(scratch, "seed.iso");
        HdVmCloudInit ci = { .instance_id = UUID, .hostname = "web-1" };
        _cleanup_error_ HdError *err = NULL;
        ck_assert_int_eq(hd_vm_cloudinit_seed(&ci, iso, &err), -EIO);
        ck_assert_ptr_nonnull(err);
        ck_assert_msg(strstr(err->message, "xorriso") && strstr(err->message, "exit status 1"),
                      "%s", err->message);
        ck_assert_int_eq(access(iso, F_OK), -1);
        scratch_free(scratch);
}
END_TEST

/* ---- validation ------------------------------------------------------------------ */

static void expect_error(const HdVmCloudInit *ci, const char *field, const char *what)
{
        _cleanup_error_ HdError *err = NULL;
        int r = hd_vm_cloudinit_seed(ci, "/nonexistent/seed.iso", &err);
        ck_assert_msg(r == -EINVAL, "%s: got %d, not -EINVAL", what, r);
        ck_assert_ptr_nonnull(err);
        ck_assert_ptr_nonnull(err->message);
        ck_assert_msg(err->field && strcmp(err->field, field) == 0,
                      "%s: field is `%s`, not `%s` (%s)", what, err->field ? err->field : "(null)",
                      field, err->message);
}

START_TEST(test_errors)
{
        _cleanup_error_ HdError *err = NULL;
        ck_assert_int_eq(hd_vm_cloudinit_seed(NULL, "/x.iso", &err), -EINVAL);
        HdVmCloudInit ok = { .instance_id = UUID, .hostname = "web-1" };
        ck_assert_int_eq(hd_vm_cloudinit_seed(&ok, NULL, NULL), -EINVAL);

        _cleanup_free_ char *big = malloc(HD_VM_USER_DATA_MAX + 2);
        ck_assert_ptr_nonnull(big);
        memset(big, 'x', HD_VM_USER_DATA_MAX + 1);
        memcpy(big, "#cloud-config\n#", 15);
        big[HD_VM_USER_DATA_MAX + 1] = '\0';
        _cleanup_free_ char *long_key = malloc(64 * 1024);
        ck_assert_ptr_nonnull(long_key);
        memset(long_key, 'k', 64 * 1024 - 1);
        long_key[64 * 1024 - 1] = '\0';

        static const char *const newline_key[] = { "ssh-ed25519 AAAA a\n  - 'evil'" };
        static const char *const cr_key[] = { "ssh-ed25519 AAAA a\r" };
        static const char *const esc_key[] = { "ssh-ed25519 AAAA \x1b[2J" };
        static const char *const c1_key[] = { "ssh-ed25519 AAAA \xc2\x85" };
        static const char *const bad_utf8_key[] = { "ssh-ed25519 AAAA \xff" };
        static const char *const empty_key[] = { "ok", "" };
        static const char *const null_key[] = { NULL };
        static const char *const good_key[] = { "ssh-ed25519 AAAA ok" };
        const char *long_keys[] = { long_key };

        HdVmCloudInit ci;
#define EXPECT(field, mutation)                                                   \
        do {                                                                      \
                ci = (HdVmCloudInit){ .instance_id = UUID, .hostname = "web-1" }; \
                mutation;                                                         \
                expect_error(&ci, field, #mutation);                              \
        } while (0)

        EXPECT("instance_id", ci.instance_id = NULL);
        EXPECT("instance_id", ci.instance_id = "");
        EXPECT("instance_id", ci.instance_id = "a\nb");
        EXPECT("hostname", ci.hostname = NULL);
        EXPECT("hostname", ci.hostname = "");
        EXPECT("hostname", ci.hostname = "web_1");
        EXPECT("hostname", ci.hostname = "-web");
        EXPECT("hostname", ci.hostname = "web-");
        EXPECT("hostname", ci.hostname = "a..b");
        EXPECT("hostname", ci.hostname = "web\n");
        EXPECT("hostname", ci.hostname = "it's");
        EXPECT("user_data", ci.user_data = big);
        EXPECT("ssh_authorized_keys", (ci.ssh_authorized_keys = newline_key, ci.n_keys = 1));
        EXPECT("ssh_authorized_keys", (ci.ssh_authorized_keys = cr_key, ci.n_keys = 1));
        EXPECT("ssh_authorized_keys", (ci.ssh_authorized_keys = esc_key, ci.n_keys = 1));
        EXPECT("ssh_authorized_keys", (ci.ssh_authorized_keys = c1_key, ci.n_keys = 1));
        EXPECT("ssh_authorized_keys", (ci.ssh_authorized_keys = bad_utf8_key, ci.n_keys = 1));
        EXPECT("ssh_authorized_keys", (ci.ssh_authorized_keys = empty_key, ci.n_keys = 2));
        EXPECT("ssh_authorized_keys", (ci.ssh_authorized_keys = null_key, ci.n_keys = 1));
        EXPECT("ssh_authorized_keys", (ci.ssh_authorized_keys = long_keys, ci.n_keys = 1));
        EXPECT("ssh_authorized_keys", ci.n_keys = 1); /* the array is NULL */
        /* Keys cannot be merged into a script, nor into other user-data formats. */
        EXPECT("ssh_authorized_keys", (ci.user_data = "#!/bin/sh\necho hi\n",
                                       ci.ssh_authorized_keys = good_key, ci.n_keys = 1));
        EXPECT("ssh_authorized_keys", (ci.user_data = "#include\nhttp://x/y\n",
                                       ci.ssh_authorized_keys = good_key, ci.n_keys = 1));
        EXPECT("ssh_authorized_keys", (ci.user_data = " #cloud-config\n",
                                       ci.ssh_authorized_keys = good_key, ci.n_keys = 1));
#undef EXPECT
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("vm-cloudinit");
        TCase *tc = tcase_create("seed");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_default_user_data);
        tcase_add_test(tc, test_cloud_config_gets_keys);
        tcase_add_test(tc, test_script_as_is);
        tcase_add_test(tc, test_genisoimage_fallback);
        tcase_add_test(tc, test_no_tool);
        tcase_add_test(tc, test_tool_fails);
        tcase_add_test(tc, test_errors);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        const char *path = getenv("PATH");
        saved_path = strdup(path ? path : "/usr/bin:/bin");
        SRunner *sr = srunner_create(suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        free(saved_path);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
