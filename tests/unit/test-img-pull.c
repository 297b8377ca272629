/* Tests for daemon/images/img-registry.c (hd_img_store_pull) against a real registry on
 * loopback: Debian's docker-registry with a throwaway config, an image pushed into it with
 * skopeo from an OCI archive made here, and pulls by tag and digest checked against
 * skopeo's digest. A tiny Python fake in front of it checks bearer tokens fetched with
 * basic auth and blob redirects. Skips (passing) when docker-registry, skopeo or python3
 * is missing, the registry does not start, or not run as root (the extractor needs it). */
#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hd-util.h"
#include "img-store.h"

#define REGISTRY_BIN "/usr/bin/docker-registry"
#define SKOPEO_BIN   "/usr/bin/skopeo"

/* ---- the registry, shared by all tests ---------------------------------------------- */

static char regdir[64]; /* its storage, config, the archive and the fake */
static pid_t reg_pid = -1, fake_pid = -1;
static int reg_port, fake_port;
static char image_digest[128]; /* skopeo inspect's Digest of test/busybox:1.0 */

/* The archive generator, shared with the other image tests. */
#define GEN_PY HD_TEST_DATA_DIR "/gen-images.py"

/* The fake: GET /token needs basic auth user:secret and gives a token; /v2/… needs the
 * token, answers manifests from the real registry and redirects blobs to it. */
static const char fake_py[] =
        "import sys, base64, urllib.request, http.server\n"
        "port, real = int(sys.argv[1]), sys.argv[2]\n"
        "class H(http.server.BaseHTTPRequestHandler):\n"
        "    def log_message(self, *a): pass\n"
        "    def do_GET(self):\n"
        "        if self.path.startswith('/token'):\n"
        "            ok = 'Basic ' + base64.b64encode(b'user:secret').decode()\n"
        "            if self.headers.get('Authorization') != ok or\\\n"
        "               'scope=repository%3Atest%2Fbusybox%3Apull' not in self.path:\n"
        "                self.send_response(401); self.end_headers(); return\n"
        "            b = b'{\"token\": \"tok\"}'\n"
        "            self.send_response(200); self.send_header('Content-Length', str(len(b)))\n"
        "            self.end_headers(); self.wfile.write(b); return\n"
        "        if self.headers.get('Authorization') != 'Bearer tok':\n"
        "            self.send_response(401)\n"
        "            self.send_header('WWW-Authenticate', 'Bearer "
        "realm=\"http://127.0.0.1:%d/token\",'\n"
        "                             'service=\"fake\",scope=\"repository:test/busybox:pull\"' % "
        "port)\n"
        "            self.send_header('Content-Length', '0'); self.end_headers(); return\n"
        "        if '/blobs/' in self.path:\n"
        "            self.send_response(307); self.send_header('Location', real + self.path)\n"
        "            self.send_header('Content-Length', '0'); self.end_headers(); return\n"
        "        req = urllib.request.Request(real + self.path, headers={'Accept': "
        "self.headers['Accept']})\n"
        "        try:\n"
        "            with urllib.request.urlopen(req) as r:\n"
        "                b, ct, st = r.read(), r.headers['Content-Type'], 200\n"
        "        except urllib.error.HTTPError as e:\n"
        "            b, ct, st = e.read(), 'application/json', e.code\n"
        "        self.send_response(st); self.send_header('Content-Type', ct)\n"
        "        self.send_header('Content-Length', str(len(b))); self.end_headers()\n"
        "        self.wfile.write(b)\n"
        "http.server.HTTPServer(('127.0.0.1', port), H).serve_forever()\n";

static int free_port(void)
{
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof(a);
        if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
            getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
                if (fd >= 0)
                        close(fd);
                return -1;
        }
        close(fd);
        return ntohs(a.sin_port);
}

static bool port_open(int port)
{
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in a = { .sin_family = AF_INET,
                                 .sin_port = htons((uint16_t)port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
        if (fd >= 0)
                close(fd);
        return ok;
}

static pid_t spawn(char *const argv[], const char *log)
{
        pid_t pid = fork();
        if (pid == 0) {
                int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
                if (fd >= 0) {
                        dup2(fd, 1);
                        dup2(fd, 2);
                }
                execv(argv[0], argv);
                _exit(127);
        }
        return pid;
}

static bool wait_port(int port, pid_t pid)
{
        for (int k = 0; k < 200; k++) {
                if (port_open(port))
                        return true;
                if (waitpid(pid, NULL, WNOHANG) == pid)
                        return false;
                struct timespec ts = { 0, 50 * 1000 * 1000 };
                nanosleep(&ts, NULL);
        }
        return false;
}

static void stop(pid_t *pid)
{
        if (*pid > 0) {
                kill(*pid, SIGTERM);
                waitpid(*pid, NULL, 0);
        }
        *pid = -1;
}

static int run_quiet(const char *fmt, ...) HD_PRINTF(1, 2);

static int run_quiet(const char *fmt, ...)
{
        _cleanup_free_ char *cmd = NULL;
        va_list ap;
        va_start(ap, fmt);
        int r = vasprintf(&cmd, fmt, ap);
        va_end(ap);
        return r < 0 ? -1 : system(cmd);
}

/* Starts the registry and the fake and pushes the test image; the reason when it cannot. */
static const char *start_registry(void)
{
        if (geteuid() != 0)
                return "not root (the layer extractor sets ownership)";
        if (access(REGISTRY_BIN, X_OK) < 0)
                return REGISTRY_BIN " is missing (apt-get install docker-registry)";
        if (access(SKOPEO_BIN, X_OK) < 0)
                return SKOPEO_BIN " is missing (apt-get install skopeo)";
        if (run_quiet("python3 -c pass") != 0)
                return "python3 is missing";
        snprintf(regdir, sizeof(regdir), "/tmp/test-img-pull-reg-XXXXXX");
        if (!mkdtemp(regdir) || (reg_port = free_port()) < 0)
                return "cannot make a temp dir or find a free port";
        char p[128], q[128];
        _cleanup_free_ char *cfg = NULL;
        if (asprintf(&cfg,
                     "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
                     "    rootdirectory: %s/storage\nhttp:\n  addr: 127.0.0.1:%d\n",
                     regdir, reg_port) < 0)
                return "out of memory";
        snprintf(p, sizeof(p), "%s/config.yml", regdir);
        if (hd_write_file_atomic(p, cfg, strlen(cfg), 0600) < 0)
                return "cannot write the registry config";
        snprintf(q, sizeof(q), "%s/registry.log", regdir);
        char *argv[] = { REGISTRY_BIN, "serve", p, NULL };
        reg_pid = spawn(argv, q);
        if (reg_pid < 0 || !wait_port(reg_port, reg_pid))
                return "docker-registry did not start (see its log in the temp dir)";

        snprintf(p, sizeof(p), "%s/gen.py", regdir);
        if (symlink(GEN_PY, p) < 0)
                return "cannot write gen.py";
        if (run_quiet("cd %s && python3 gen.py oci img.tar base app1 >/dev/null && " SKOPEO_BIN
                      " --insecure-policy copy -q --dest-tls-verify=false "
                      "oci-archive:img.tar docker://127.0.0.1:%d/test/busybox:1.0 >push.log 2>&1",
                      regdir, reg_port) != 0)
                return "skopeo copy into the registry failed (see push.log in the temp dir)";
        _cleanup_free_ char *cmd = NULL;
        if (asprintf(&cmd,
                     SKOPEO_BIN " inspect --tls-verify=false --format '{{.Digest}}' "
                                "docker://127.0.0.1:%d/test/busybox:1.0",
                     reg_port) < 0)
                return "out of memory";
        FILE *f = popen(cmd, "r");
        if (!f || !fgets(image_digest, sizeof(image_digest), f)) {
                if (f)
                        pclose(f);
                return "skopeo inspect failed";
        }
        pclose(f);
        image_digest[strcspn(image_digest, "\n")] = '\0';

        snprintf(p, sizeof(p), "%s/fake.py", regdir);
        if (hd_write_file_atomic(p, fake_py, strlen(fake_py), 0644) < 0 ||
            (fake_port = free_port()) < 0)
                return "cannot write fake.py";
        char port[16], real[64];
        snprintf(port, sizeof(port), "%d", fake_port);
        snprintf(real, sizeof(real), "http://127.0.0.1:%d", reg_port);
        snprintf(q, sizeof(q), "%s/fake.log", regdir);
        char *fargv[] = { "/usr/bin/python3", p, port, real, NULL };
        fake_pid = spawn(fargv, q);
        if (fake_pid < 0 || !wait_port(fake_port, fake_pid))
                return "the fake registry did not start";
        return NULL;
}

static void stop_registry(void)
{
        stop(&fake_pid);
        stop(&reg_pid);
        if (regdir[0]) {
                _cleanup_close_ int tmp = open("/tmp", O_PATH | O_DIRECTORY | O_CLOEXEC);
                (void)hd_img_rm_rf_at(tmp, regdir + strlen("/tmp/"));
        }
}

/* ---- per-test store ----------------------------------------------------------------- */

static char work[64];
static char root[128];
static HdStore *inv;
static HdImgStore *store;

static void setup(void)
{
        snprintf(work, sizeof(work), "/tmp/test-img-pull-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(work));
        snprintf(root, sizeof(root), "%s/images", work);
        char p[128];
        snprintf(p, sizeof(p), "%s/hostd.db", work);
        HdError *err = NULL;
        ck_assert_int_eq(hd_store_open(p, 100, &inv, &err), 0);
        HdImgStoreConfig config = { 0 };
        ck_assert_int_eq(hd_img_store_open(root, inv, &config, &store, &err), 0);
}

static void teardown(void)
{
        hd_img_store_close(store);
        store = NULL;
        hd_store_close(inv);
        inv = NULL;
        _cleanup_close_ int tmp = open("/tmp", O_PATH | O_DIRECTORY | O_CLOEXEC);
        ck_assert_int_eq(hd_img_rm_rf_at(tmp, work + strlen("/tmp/")), 0);
}

static int count(const char *sub)
{
        char p[256];
        snprintf(p, sizeof(p), "%s/%s", root, sub);
        DIR *d = opendir(p);
        ck_assert_ptr_nonnull(d);
        int n = 0;
        struct dirent *de;
        while ((de = readdir(d)))
                n += strlen(de->d_name) == 64;
        closedir(d);
        return n;
}

static bool layer_has(const char *diff_id, const char *file)
{
        char p[512];
        struct stat st;
        snprintf(p, sizeof(p), "%s/layers/%s/%s", root, diff_id + strlen("sha256:"), file);
        return stat(p, &st) == 0;
}

typedef struct Progress {
        int calls;
        int64_t done, total;
} Progress;

static void on_progress(int64_t done, int64_t total, void *ud)
{
        Progress *pr = ud;
        ck_assert_int_le(done, total);
        ck_assert_int_ge(done, pr->done);
        pr->calls++;
        pr->done = done;
        pr->total = total;
}

static int pull(const char *ref, const char *name, const char *user, const char *pass, Progress *pr,
                HdImage **ret, HdError **err)
{
        HdImgPullParams p = {
                .ref = ref, .name = name, .tls_verify = false, .username = user, .password = pass
        };
        return hd_img_store_pull(store, &p, pr ? on_progress : NULL, pr, ret, err);
}

#define ck_assert_ok(expr, err)                                               \
        do {                                                                  \
                int _r = (expr);                                              \
                ck_assert_msg(_r >= 0, "%s failed: %d %s", #expr, _r,         \
                              (err) && (err)->message ? (err)->message : ""); \
        } while (0)

static void pull_fails(const char *ref, const char *user, const char *pass, int code,
                       const char *field)
{
        HdError *err = NULL;
        HdImage *img = NULL;
        int r = pull(ref, "failed", user, pass, NULL, &img, &err);
        ck_assert_msg(r == code, "pull %s: %d (want %d) %s", ref, r, code,
                      err && err->message ? err->message : "");
        ck_assert_ptr_null(img);
        ck_assert_ptr_nonnull(err);
        if (field)
                ck_assert_str_eq(err->field ? err->field : "", field);
        hd_error_free(err);
        /* Nothing left behind. */
        ck_assert_int_eq(count("blobs/sha256"), 0);
        ck_assert_int_eq(count("layers"), 0);
}

/* ---- tests ---------------------------------------------------------------------------- */

START_TEST(test_pull)
{
        char ref[256];
        snprintf(ref, sizeof(ref), "127.0.0.1:%d/test/busybox:1.0", reg_port);
        HdError *err = NULL;
        HdImage *a = NULL, *b = NULL, *c = NULL;
        Progress pr = { 0 };
        ck_assert_ok(pull(ref, NULL, NULL, NULL, &pr, &a, &err), err);
        ck_assert_str_eq(a->name, "busybox");
        ck_assert_str_eq(a->tag, "1.0");
        ck_assert_str_eq(a->format, "oci-archive");
        ck_assert_str_eq(a->digest, image_digest);
        ck_assert_str_eq(a->manifest_digest, image_digest);
        ck_assert_uint_eq(a->n_layers, 2);
        ck_assert(layer_has(a->layers[0].diff_id, "l/base.txt"));
        ck_assert(layer_has(a->layers[1].diff_id, "l/app1.txt"));
        ck_assert_int_gt(pr.calls, 1);
        ck_assert_int_gt(pr.total, 0);
        ck_assert_int_eq(pr.done, pr.total);
        ck_assert_ptr_nonnull(strstr(a->config_json, "/bin/sh"));
        int blobs = count("blobs/sha256"); /* manifest, config, 2 layers */
        ck_assert_int_eq(blobs, 4);
        ck_assert_int_eq(count("layers"), 2);

        /* The same image under another name adds nothing; so does a pull by digest. */
        ck_assert_ok(pull(ref, "copy", NULL, NULL, NULL, &b, &err), err);
        ck_assert_str_eq(b->digest, a->digest);
        ck_assert_int_eq(count("blobs/sha256"), blobs);
        ck_assert_int_eq(count("layers"), 2);
        snprintf(ref, sizeof(ref), "127.0.0.1:%d/test/busybox@%s", reg_port, image_digest);
        ck_assert_ok(pull(ref, "bydigest", NULL, NULL, NULL, &c, &err), err);
        ck_assert_str_eq(c->digest, image_digest);
        ck_assert_str_eq(c->tag, "latest");
        ck_assert_int_eq(count("blobs/sha256"), blobs);

        /* Taken name:tag. */
        HdImage *d = NULL;
        ck_assert_int_eq(pull(ref, "bydigest", NULL, NULL, NULL, &d, &err), -EEXIST);
        hd_error_free(err);
        hd_image_free(a);
        hd_image_free(b);
        hd_image_free(c);
}
END_TEST

START_TEST(test_errors)
{
        char ref[256];
        snprintf(ref, sizeof(ref), "127.0.0.1:%d/test/busybox:nope", reg_port);
        pull_fails(ref, NULL, NULL, -ENOENT, NULL);
        snprintf(ref, sizeof(ref), "127.0.0.1:%d/test/unknown:1.0", reg_port);
        pull_fails(ref, NULL, NULL, -ENOENT, NULL);
        snprintf(ref, sizeof(ref), "127.0.0.1:%d/test/busybox@sha256:%064d", reg_port, 0);
        pull_fails(ref, NULL, NULL, -ENOENT, NULL);
        const char *bad[] = { "",
                              "busybox",
                              "127.0.0.1:5000/",
                              "127.0.0.1:5000/Test/busybox",
                              "127.0.0.1:5000/test//busybox",
                              "127.0.0.1:5000/test/busybox:",
                              "127.0.0.1:5000/test/busybox:-x",
                              "127.0.0.1:5000/test/busybox@sha256:abc",
                              "127.0.0.1:x/test/busybox",
                              "127.0.0.1:99999/test/busybox",
                              "ho st/test/busybox" };
        for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
                pull_fails(bad[k], NULL, NULL, -EINVAL, "ref");

        /* A registry that is down. */
        int port = free_port();
        ck_assert_int_gt(port, 0);
        snprintf(ref, sizeof(ref), "127.0.0.1:%d/test/busybox:1.0", port);
        HdError *err = NULL;
        HdImage *img = NULL;
        int r = pull(ref, NULL, NULL, NULL, NULL, &img, &err);
        ck_assert_msg(r == -ECONNREFUSED || r == -EHOSTUNREACH, "down: %d", r);
        ck_assert_ptr_nonnull(strstr(err->message, "127.0.0.1"));
        hd_error_free(err);
}
END_TEST

START_TEST(test_auth)
{
        char ref[256];
        snprintf(ref, sizeof(ref), "127.0.0.1:%d/test/busybox:1.0", fake_port);
        pull_fails(ref, NULL, NULL, -EACCES, NULL);
        pull_fails(ref, "user", "wrong", -EACCES, NULL);
        HdError *err = NULL;
        HdImage *img = NULL;
        ck_assert_ok(pull(ref, NULL, "user", "secret", NULL, &img, &err), err);
        ck_assert_str_eq(img->digest, image_digest);
        ck_assert_uint_eq(img->n_layers, 2);
        hd_image_free(img);
}
END_TEST

static Suite *img_pull_suite(void)
{
        Suite *s = suite_create("img-pull");
        TCase *tc = tcase_create("pull");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_pull);
        tcase_add_test(tc, test_errors);
        tcase_add_test(tc, test_auth);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        const char *why = start_registry();
        if (why) {
                printf("SKIP: test-img-pull: %s\n", why);
                stop_registry();
                return EXIT_SUCCESS;
        }
        SRunner *sr = srunner_create(img_pull_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        stop_registry();
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
