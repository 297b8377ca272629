/* cloud-init's NoCloud seed: the meta-data and user-data texts, and the ISO built from
 * them by xorriso (or genisoimage) in a private temporary directory. */
#include "vm-cloudinit.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "hd-util.h"

#define KEY_MAX         (16 * 1024)
#define INSTANCE_ID_MAX 256
#define HOSTNAME_MAX    253
#define ISO_MAX         (8 * 1024 * 1024)
#define TOOL_OUTPUT_MAX 2048
#define DEFAULT_PATH    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* ---- validation ------------------------------------------------------------------ */

/* True for UTF-8 that YAML can carry in a single-quoted scalar on one line: no C0 or C1
 * controls, no DEL, no surrogates or overlong forms, no U+FFFE/U+FFFF. */

/* RFC 1123: dot-separated labels of letters, digits and inner hyphens. */
static bool hostname_is_valid(const char *s)
{
        size_t n = strlen(s);
        if (n == 0 || n > HOSTNAME_MAX)
                return false;
        size_t label = 0;
        for (size_t i = 0; i <= n; i++) {
                char c = s[i];
                if (c == '.' || c == '\0') {
                        if (label == 0 || label > 63 || s[i - 1] == '-')
                                return false;
                        label = 0;
                        continue;
                }
                bool alnum =
                        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
                if (!alnum && !(c == '-' && label > 0))
                        return false;
                label++;
        }
        return true;
}

static bool is_cloud_config(const char *user_data)
{
        return hd_str_startswith(user_data, "#cloud-config");
}

/* A simple textual check for a top-level ssh_authorized_keys key (at the start of a
 * line), so that keys given beside the user's own list do not make a second one. */
static bool has_authorized_keys(const char *user_data)
{
        static const char key[] = "ssh_authorized_keys:";
        for (const char *line = user_data; line;) {
                if (strncmp(line, key, strlen(key)) == 0)
                        return true;
                const char *nl = strchr(line, '\n');
                line = nl ? nl + 1 : NULL;
        }
        return false;
}

static int validate(const HdVmCloudInit *ci, HdError **err)
{
        if (!ci->instance_id || !*ci->instance_id)
                return hd_error_set_field(err, -EINVAL, "instance_id", "instance_id is required");
        if (strlen(ci->instance_id) > INSTANCE_ID_MAX || !hd_utf8_is_clean(ci->instance_id, true))
                return hd_error_set_field(err, -EINVAL, "instance_id",
                                          "instance_id must be at most %d characters of UTF-8 "
                                          "without control characters",
                                          INSTANCE_ID_MAX);
        if (!ci->hostname || !*ci->hostname)
                return hd_error_set_field(err, -EINVAL, "hostname", "hostname is required");
        if (!hostname_is_valid(ci->hostname)) {
                if (!hd_utf8_is_clean(ci->hostname, true))
                        return hd_error_set_field(err, -EINVAL, "hostname",
                                                  "hostname must not contain control characters");
                return hd_error_set_field(err, -EINVAL, "hostname",
                                          "hostname `%s` is not a valid host name", ci->hostname);
        }
        if (ci->user_data && strlen(ci->user_data) > HD_VM_USER_DATA_MAX)
                return hd_error_set_field(err, -EINVAL, "user_data",
                                          "user_data must be at most %d bytes",
                                          HD_VM_USER_DATA_MAX);

        if (ci->n_keys > 0 && !ci->ssh_authorized_keys)
                return hd_error_set_field(err, -EINVAL, "ssh_authorized_keys",
                                          "ssh_authorized_keys is missing");
        for (size_t i = 0; i < ci->n_keys; i++) {
                const char *k = ci->ssh_authorized_keys[i];
                if (!k || !*k)
                        return hd_error_set_field(err, -EINVAL, "ssh_authorized_keys",
                                                  "ssh_authorized_keys[%zu] is empty", i);
                if (strlen(k) > KEY_MAX)
                        return hd_error_set_field(err, -EINVAL, "ssh_authorized_keys",
                                                  "ssh_authorized_keys[%zu] is longer than %d "
                                                  "bytes",
                                                  i, KEY_MAX);
                if (!hd_utf8_is_clean(k, true))
                        return hd_error_set_field(err, -EINVAL, "ssh_authorized_keys",
                                                  "ssh_authorized_keys[%zu] must be UTF-8 "
                                                  "without control characters",
                                                  i);
        }
        if (ci->n_keys > 0 && ci->user_data && !is_cloud_config(ci->user_data))
                return hd_error_set_field(err, -EINVAL, "ssh_authorized_keys",
                                          "keys need #cloud-config user-data");
        return 0;
}

/* ---- the texts ------------------------------------------------------------------- */

/* A YAML single-quoted scalar: nothing inside is special but the quote, doubled. The
 * value was checked for control characters, so it stays on one line. */
static void yaml_quoted(FILE *f, const char *s)
{
        fputc('\'', f);
        for (; *s; s++) {
                if (*s == '\'')
                        fputc('\'', f);
                fputc(*s, f);
        }
        fputc('\'', f);
}

static void write_keys(FILE *f, const HdVmCloudInit *ci)
{
        fputs("ssh_authorized_keys:\n", f);
        for (size_t i = 0; i < ci->n_keys; i++) {
                fputs("  - ", f);
                yaml_quoted(f, ci->ssh_authorized_keys[i]);
                fputc('\n', f);
        }
}

static int finish_text(FILE *f, char **buf, HdError **err)
{
        bool failed = ferror(f);
        if (fclose(f) != 0 || failed) {
                free(*buf);
                *buf = NULL;
                return hd_error_set(err, -ENOMEM, "out of memory");
        }
        return 0;
}

static int render_meta_data(const HdVmCloudInit *ci, char **ret, HdError **err)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (!f)
                return hd_error_set(err, -ENOMEM, "out of memory");
        fputs("instance-id: ", f);
        yaml_quoted(f, ci->instance_id);
        fputs("\nlocal-hostname: ", f);
        yaml_quoted(f, ci->hostname);
        fputc('\n', f);
        int r = finish_text(f, &buf, err);
        if (r < 0)
                return r;
        *ret = buf;
        return 0;
}

static int render_user_data(const HdVmCloudInit *ci, char **ret, HdError **err)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (!f)
                return hd_error_set(err, -ENOMEM, "out of memory");
        if (!ci->user_data) {
                fputs("#cloud-config\nhostname: ", f);
                yaml_quoted(f, ci->hostname);
                fputc('\n', f);
                if (ci->n_keys > 0)
                        write_keys(f, ci);
        } else {
                fputs(ci->user_data, f);
                /* validate() let keys through only with #cloud-config user-data. */
                if (ci->n_keys > 0 && !has_authorized_keys(ci->user_data)) {
                        size_t n = strlen(ci->user_data);
                        if (n > 0 && ci->user_data[n - 1] != '\n')
                                fputc('\n', f);
                        write_keys(f, ci);
                }
        }
        int r = finish_text(f, &buf, err);
        if (r < 0)
                return r;
        *ret = buf;
        return 0;
}

/* ---- files ----------------------------------------------------------------------- */

/* Removes a private temporary directory and the plain files in it. */
static void tmpdir_removep(char **dir)
{
        if (!*dir)
                return;
        int saved = errno;
        DIR *d = opendir(*dir);
        if (d) {
                for (struct dirent *de; (de = readdir(d));)
                        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                                (void)unlinkat(dirfd(d), de->d_name, 0);
                closedir(d);
        }
        (void)rmdir(*dir);
        free(*dir);
        *dir = NULL;
        errno = saved;
}

static int write_new_file(const char *dir, const char *name, const char *text, HdError **err)
{
        _cleanup_free_ char *path = NULL;
        if (asprintf(&path, "%s/%s", dir, name) < 0)
                return hd_error_set(err, -ENOMEM, "out of memory");
        _cleanup_close_ int fd =
                open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return hd_error_set(err, -errno, "cannot create `%s`: %m", path);
        for (size_t off = 0, len = strlen(text); off < len;) {
                ssize_t n = write(fd, text + off, len - off);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return hd_error_set(err, -errno, "cannot write `%s`: %m", path);
                off += (size_t)n;
        }
        return 0;
}

/* The first executable name on $PATH (or a default PATH); NULL when there is none. */
static char *find_program(const char *name)
{
        const char *path = getenv("PATH");
        if (!path || !*path)
                path = DEFAULT_PATH;
        for (const char *p = path; *p;) {
                size_t n = strcspn(p, ":");
                if (n > 0 && p[0] == '/') {
                        char *candidate = NULL;
                        if (asprintf(&candidate, "%.*s/%s", (int)n, p, name) < 0)
                                return NULL;
                        if (access(candidate, X_OK) == 0)
                                return candidate;
                        free(candidate);
                }
                p += n;
                if (*p == ':')
                        p++;
        }
        return NULL;
}

/* ---- the tool -------------------------------------------------------------------- */

/* Runs argv[0] with stdin on /dev/null, a clean signal state and a fixed environment;
 * fills out (TOOL_OUTPUT_MAX + 1 bytes) with the start of its stdout and stderr. */
static int run_tool(char *const argv[], char *out, int *ret_status, HdError **err)
{
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) < 0)
                return hd_error_set(err, -errno, "cannot create a pipe: %m");
        _cleanup_close_ int rd = fds[0];
        _cleanup_close_ int wr = fds[1];

        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_adddup2(&fa, wr, 1);
        posix_spawn_file_actions_adddup2(&fa, wr, 2);
        /* hostd blocks signals for its own loop: the tool starts with none blocked. */
        posix_spawnattr_t attr;
        posix_spawnattr_init(&attr);
        sigset_t none, all;
        sigemptyset(&none);
        sigfillset(&all);
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setsigdefault(&attr, &all);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        char *envp[] = { (char *)"PATH=" DEFAULT_PATH, (char *)"LC_ALL=C", NULL };
        pid_t pid;
        int r = posix_spawn(&pid, argv[0], &fa, &attr, argv, envp);
        posix_spawnattr_destroy(&attr);
        posix_spawn_file_actions_destroy(&fa);
        if (r != 0)
                return hd_error_set(err, -r, "cannot run `%s`: %s", argv[0], strerror(r));
        close(TAKE_FD(wr));

        size_t len = 0;
        for (;;) {
                char buf[512];
                ssize_t n = read(rd, buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                size_t keep = TOOL_OUTPUT_MAX - len < (size_t)n ? TOOL_OUTPUT_MAX - len : (size_t)n;
                memcpy(out + len, buf, keep);
                len += keep;
        }
        out[len] = '\0';

        int status = 0;
        while (waitpid(pid, &status, 0) < 0) {
                if (errno != EINTR)
                        return hd_error_set(err, -errno, "cannot wait for `%s`: %m", argv[0]);
        }
        *ret_status = status;
        return 0;
}

/* The tool's output on one line, for an error message. */
static void squash_output(char *s)
{
        size_t n = strlen(s);
        while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\t'))
                s[--n] = '\0';
        for (char *p = s; *p; p++)
                if ((unsigned char)*p < 0x20 || *p == 0x7f)
                        *p = ' ';
}

static int build_iso(const char *dir, const char *iso_out, HdError **err)
{
        _cleanup_free_ char *tool = find_program("xorriso");
        bool xorriso = tool != NULL;
        if (!tool)
                tool = find_program("genisoimage");
        if (!tool)
                return hd_error_set(err, -ENOENT,
                                    "neither xorriso nor genisoimage found to build the cloud-init "
                                    "seed: apt-get install xorriso");

        _cleanup_free_ char *meta = NULL, *user = NULL;
        if (asprintf(&meta, "%s/meta-data", dir) < 0 || asprintf(&user, "%s/user-data", dir) < 0)
                return hd_error_set(err, -ENOMEM, "out of memory");

        /* Both speak mkisofs: Joliet and rationalized Rock Ridge keep the names
         * "meta-data" and "user-data" and make the files world-readable. */
        char *argv[16];
        size_t n = 0;
        argv[n++] = tool;
        if (xorriso) {
                argv[n++] = (char *)"-no_rc"; /* no startup files: only this argument list */
                argv[n++] = (char *)"-as";
                argv[n++] = (char *)"mkisofs";
        }
        argv[n++] = (char *)"-quiet";
        argv[n++] = (char *)"-output";
        argv[n++] = (char *)iso_out;
        argv[n++] = (char *)"-volid";
        argv[n++] = (char *)"cidata";
        argv[n++] = (char *)"-joliet";
        argv[n++] = (char *)"-rational-rock";
        argv[n++] = user;
        argv[n++] = meta;
        argv[n] = NULL;

        char output[TOOL_OUTPUT_MAX + 1];
        int status = 0;
        int r = run_tool(argv, output, &status, err);
        if (r < 0)
                return r;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                squash_output(output);
                if (WIFEXITED(status))
                        return hd_error_set(err, -EIO, "`%s` failed with exit status %d%s%s", tool,
                                            WEXITSTATUS(status), *output ? ": " : "", output);
                return hd_error_set(err, -EIO, "`%s` was killed by signal %d%s%s", tool,
                                    WTERMSIG(status), *output ? ": " : "", output);
        }
        return 0;
}

int hd_vm_cloudinit_seed(const HdVmCloudInit *ci, const char *iso_path, HdError **err)
{
        if (!ci)
                return hd_error_set(err, -EINVAL, "no cloud-init configuration");
        if (!iso_path || !*iso_path)
                return hd_error_set(err, -EINVAL, "no path for the seed ISO");
        int r = validate(ci, err);
        if (r < 0)
                return r;

        _cleanup_free_ char *meta_data = NULL, *user_data = NULL;
        if ((r = render_meta_data(ci, &meta_data, err)) < 0 ||
            (r = render_user_data(ci, &user_data, err)) < 0)
                return r;

        const char *tmp = getenv("TMPDIR");
        if (!tmp || tmp[0] != '/')
                tmp = "/tmp";
        _cleanup_(tmpdir_removep) char *dir = NULL;
        {
                _cleanup_free_ char *template = NULL;
                if (asprintf(&template, "%s/hostd-seed-XXXXXX", tmp) < 0)
                        return hd_error_set(err, -ENOMEM, "out of memory");
                if (!mkdtemp(template))
                        return hd_error_set(err, -errno, "cannot create a directory in `%s`: %m",
                                            tmp);
                dir = TAKE_PTR(template);
        }
        if ((r = write_new_file(dir, "meta-data", meta_data, err)) < 0 ||
            (r = write_new_file(dir, "user-data", user_data, err)) < 0)
                return r;

        /* The tool writes in the private directory; the ISO then replaces iso_path
         * atomically, so a half-built image is never attached. */
        _cleanup_free_ char *iso_tmp = NULL;
        if (asprintf(&iso_tmp, "%s/seed.iso", dir) < 0)
                return hd_error_set(err, -ENOMEM, "out of memory");
        if ((r = build_iso(dir, iso_tmp, err)) < 0)
                return r;

        _cleanup_free_ char *iso = NULL;
        size_t iso_len = 0;
        r = hd_read_file(iso_tmp, ISO_MAX, &iso, &iso_len);
        if (r < 0)
                return hd_error_set(err, r, "cannot read the seed ISO built in `%s`: %s", dir,
                                    strerror(-r));
        r = hd_write_file_atomic(iso_path, iso, iso_len, 0644);
        if (r < 0)
                return hd_error_set(err, r, "cannot write `%s`: %s", iso_path, strerror(-r));
        return 0;
}
