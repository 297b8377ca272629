/* The images API against a real hostd: streamed imports, layer sharing on disk,
 * bad uploads that leave nothing behind, delete guarded by instances, prune, and
 * the inventory across a restart. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "hd-macro.h"

static HdTestDaemon d;
static char *work;

static void setup(void)
{
        ck_assert_int_eq(hd_test_daemon_start(&d, NULL), 0);
        work = hd_test_mkdtemp("images-work");
        ck_assert_ptr_nonnull(work);
}

static void teardown(void)
{
        hd_test_daemon_cleanup(&d);
        if (work)
                hd_test_rm_rf(work);
        free(work);
        work = NULL;
}

static void sh(const char *fmt, ...) HD_PRINTF(1, 2);
static void sh(const char *fmt, ...)
{
        char cmd[2048];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(cmd, sizeof(cmd), fmt, ap);
        va_end(ap);
        ck_assert_msg(system(cmd) == 0, "failed: %s", cmd);
}

/* A small root filesystem as a gzip'd tar, in work/NAME. */
static void make_rootfs(const char *name, const char *marker)
{
        sh("set -e; cd '%s'; rm -rf root; mkdir -p root/bin root/etc root/tmp; "
           "echo '%s' > root/etc/marker; printf '#!/bin/sh\\necho hi\\n' > root/bin/hello; "
           "chmod 755 root/bin/hello; tar -C root --numeric-owner --owner=0 --group=0 "
           "--mtime=@0 --sort=name -czf '%s' .",
           work, marker, name);
}

/* Streams a file with the real curl binary (its upload is never in memory). */
static int upload(const char *query, const char *file, const char *content_type, json_t **ret_body)
{
        char out[512], cmd[2048];
        snprintf(out, sizeof(out), "%s/upload-response", work);
        snprintf(cmd, sizeof(cmd),
                 "curl -s -o '%s' -w '%%{http_code}' --unix-socket '%s' -X POST "
                 "-H 'Content-Type: %s' -T '%s/%s' 'http://localhost/v1/images?%s'",
                 out, d.socket_path, content_type, work, file, query);
        FILE *p = popen(cmd, "r");
        ck_assert_ptr_nonnull(p);
        int status = 0;
        ck_assert_int_eq(fscanf(p, "%d", &status), 1);
        pclose(p);
        if (ret_body)
                *ret_body = json_load_file(out, 0, NULL);
        return status;
}

static int count_entries(const char *sub)
{
        char path[512];
        snprintf(path, sizeof(path), "%s/images/%s", d.dir, sub);
        DIR *dir = opendir(path);
        if (!dir)
                return -1;
        int n = 0;
        for (struct dirent *e; (e = readdir(dir));)
                if (e->d_name[0] != '.')
                        n++;
        closedir(dir);
        return n;
}

static const char *str(const json_t *j, const char *k)
{
        return json_string_value(json_object_get(j, k));
}

static json_t *get(const char *path, int want)
{
        HdCurlResult r = { 0 };
        ck_assert_int_eq(hd_test_get(&d, &r, path), 0);
        ck_assert_msg(r.status == want, "GET %s: %s", path, hd_curl_result_describe(&r));
        json_t *j = json_incref(r.json);
        hd_curl_result_clear(&r);
        return j;
}

START_TEST(test_import_get_list_and_share)
{
        make_rootfs("a.tar.gz", "one");
        json_t *img = NULL;
        ck_assert_int_eq(upload("name=busybox&kind=container&format=rootfs", "a.tar.gz",
                                "application/octet-stream", &img),
                         201);
        ck_assert_str_eq(str(img, "ref"), "busybox:latest");
        ck_assert_str_eq(str(img, "format"), "rootfs");
        ck_assert_uint_eq(json_array_size(json_object_get(img, "layers")), 1);
        const char *digest = str(img, "digest");
        ck_assert(strncmp(digest, "sha256:", 7) == 0);

        /* The same bytes under another name share the layer: one tree, one layer blob (and
         * one config and manifest). */
        json_t *img2 = NULL;
        ck_assert_int_eq(upload("name=library/tools&tag=1.0&kind=container&format=rootfs",
                                "a.tar.gz", "application/gzip", &img2),
                         201);
        ck_assert_str_eq(str(img2, "digest"), digest);
        ck_assert_int_eq(count_entries("layers"), 1);
        ck_assert_int_eq(count_entries("blobs/sha256"), 3); /* layer, config, manifest */

        json_t *by_name = get("/v1/images/busybox", 200);
        json_t *by_tag = get("/v1/images/busybox:latest", 200);
        json_t *slashed = get("/v1/images/library/tools:1.0", 200);
        ck_assert(json_equal(by_name, img));
        ck_assert(json_equal(by_tag, img));
        ck_assert_str_eq(str(slashed, "name"), "library/tools");
        json_t *list = get("/v1/images?kind=container", 200);
        ck_assert_uint_eq(json_array_size(json_object_get(list, "images")), 2);
        json_t *none = get("/v1/images?kind=vm", 200);
        ck_assert_uint_eq(json_array_size(json_object_get(none, "images")), 0);
        json_decref(get("/v1/images/nothere", 404));

        /* The unpacked layer holds the files. */
        char marker[512];
        snprintf(marker, sizeof(marker), "%s/images/layers", d.dir);
        sh("grep -qx one '%s'/*/etc/marker && test -x '%s'/*/bin/hello", marker, marker);

        json_t *items[] = { img, img2, by_name, by_tag, slashed, list, none };
        for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++)
                json_decref(items[i]);
}
END_TEST

START_TEST(test_bad_uploads_leave_nothing)
{
        make_rootfs("a.tar.gz", "one");
        sh("head -c 100000 /dev/urandom > '%s/junk.bin'", work);
        ck_assert_int_eq(upload("name=ok&kind=container&format=rootfs", "a.tar.gz",
                                "application/octet-stream", NULL),
                         201);
        int blobs = count_entries("blobs/sha256"), layers = count_entries("layers");

        struct {
                const char *query, *file, *type;
                int status;
                const char *field;
        } cases[] = {
                { "kind=container&format=rootfs", "a.tar.gz", "application/octet-stream", 400,
                  "name" },
                { "name=x&format=rootfs", "a.tar.gz", "application/octet-stream", 400, "kind" },
                { "name=x&kind=container", "a.tar.gz", "application/octet-stream", 400, "format" },
                { "name=x&kind=vm&format=rootfs", "a.tar.gz", "application/octet-stream", 400,
                  "format" },
                { "name=Bad!&kind=container&format=rootfs", "a.tar.gz", "application/octet-stream",
                  400, "name" },
                { "name=x&kind=container&format=rootfs", "a.tar.gz", "application/json", 415,
                  NULL },
                { "name=ok&kind=container&format=rootfs", "a.tar.gz", "application/octet-stream",
                  409, NULL },
                { "name=x&kind=container&format=rootfs", "junk.bin", "application/octet-stream",
                  400, NULL },
                { "name=x&kind=container&format=oci-archive", "a.tar.gz",
                  "application/octet-stream", 400, NULL },
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                json_t *body = NULL;
                int status = upload(cases[i].query, cases[i].file, cases[i].type, &body);
                ck_assert_msg(status == cases[i].status, "%s: got %d", cases[i].query, status);
                json_t *e = json_object_get(body, "error");
                ck_assert_msg(json_is_object(e), "%s: no JSON error", cases[i].query);
                if (cases[i].field)
                        ck_assert_str_eq(str(e, "field"), cases[i].field);
                json_decref(body);
        }
        ck_assert_int_eq(count_entries("blobs/sha256"), blobs);
        ck_assert_int_eq(count_entries("layers"), layers);
        json_t *list = get("/v1/images", 200);
        ck_assert_uint_eq(json_array_size(json_object_get(list, "images")), 1);
        json_decref(list);
        json_decref(get("/v1", 200));
}
END_TEST

START_TEST(test_delete_guarded_by_instances_then_prune)
{
        make_rootfs("a.tar.gz", "one");
        make_rootfs("b.tar.gz", "two");
        ck_assert_int_eq(upload("name=web&kind=container&format=rootfs", "a.tar.gz",
                                "application/octet-stream", NULL),
                         201);
        ck_assert_int_eq(upload("name=db&kind=container&format=rootfs", "b.tar.gz",
                                "application/octet-stream", NULL),
                         201);
        ck_assert_int_eq(count_entries("layers"), 2);

        HdCurlResult r = { 0 };
        ck_assert_int_eq(hd_test_send_json(&d, &r, "POST", "/v1/instances",
                                           "{\"name\": \"w1\", \"kind\": \"container\", "
                                           "\"image\": \"web\"}"),
                         0);
        ck_assert_int_eq(r.status, 201);
        hd_curl_result_clear(&r);

        ck_assert_int_eq(hd_test_curl(&d, &r, "DELETE", "/v1/images/web", NULL, NULL, 0, NULL), 0);
        ck_assert_msg(r.status == 409, "%s", hd_curl_result_describe(&r));
        ck_assert_ptr_nonnull(strstr(hd_test_error_message(r.json), "1 instance"));
        hd_curl_result_clear(&r);
        json_decref(get("/v1/images/web", 200));

        ck_assert_int_eq(
                hd_test_curl(&d, &r, "DELETE", "/v1/instances/w1?wait=10", NULL, NULL, 0, NULL), 0);
        ck_assert_int_eq(r.status, 200);
        hd_curl_result_clear(&r);
        ck_assert_int_eq(
                hd_test_curl(&d, &r, "DELETE", "/v1/images/web:latest", NULL, NULL, 0, NULL), 0);
        ck_assert_msg(r.status == 200, "%s", hd_curl_result_describe(&r));
        ck_assert_str_eq(str(r.json, "ref"), "web:latest");
        hd_curl_result_clear(&r);
        /* Its layer was not shared: gone with it. The other stays. */
        ck_assert_int_eq(count_entries("layers"), 1);
        ck_assert_int_eq(count_entries("blobs/sha256"), 3); /* layer, config, manifest */
        json_decref(get("/v1/images/web", 404));

        /* Orphans (a crash between commit and cleanup) are what prune is for. */
        sh("mkdir -p '%s/images/layers/%064d' && echo x > '%s/images/blobs/sha256/%064d'", d.dir, 0,
           d.dir, 0);
        ck_assert_int_eq(hd_test_curl(&d, &r, "POST", "/v1/images/prune", NULL, NULL, 0, NULL), 0);
        ck_assert_msg(r.status == 200, "%s", hd_curl_result_describe(&r));
        ck_assert_int_ge(json_integer_value(json_object_get(r.json, "layers_removed")) +
                                 json_integer_value(json_object_get(r.json, "blobs_removed")),
                         1);
        hd_curl_result_clear(&r);
        ck_assert_int_eq(count_entries("layers"), 1);
        ck_assert_int_eq(count_entries("blobs/sha256"), 3); /* layer, config, manifest */
}
END_TEST

START_TEST(test_images_survive_restart_and_crash_leftovers_go)
{
        make_rootfs("a.tar.gz", "one");
        json_t *img = NULL;
        ck_assert_int_eq(upload("name=keep&kind=container&format=rootfs", "a.tar.gz",
                                "application/octet-stream", &img),
                         201);
        ck_assert_int_eq(hd_test_daemon_stop(&d, SIGKILL, NULL), 0);
        /* What an import cut short by the crash could leave. */
        sh("mkdir -p '%s/images/layers/%064d' && echo x > '%s/images/blobs/sha256/%064d'", d.dir, 1,
           d.dir, 1);
        ck_assert_int_eq(hd_test_daemon_restart(&d), 0);
        json_t *again = get("/v1/images/keep", 200);
        ck_assert(json_equal(img, again));
        ck_assert_int_eq(count_entries("layers"), 1);
        ck_assert_int_eq(count_entries("blobs/sha256"), 3); /* layer, config, manifest */
        json_decref(img);
        json_decref(again);
}
END_TEST

/* GET …/export into work/file; returns the HTTP status. */
static int export_to(const char *ref, const char *file)
{
        char cmd[2048];
        snprintf(cmd, sizeof(cmd),
                 "curl -s -o '%s/%s' -w '%%{http_code}' --unix-socket '%s' "
                 "'http://localhost/v1/images/%s/export'",
                 work, file, d.socket_path, ref);
        FILE *p = popen(cmd, "r");
        ck_assert_ptr_nonnull(p);
        int status = 0;
        ck_assert_int_eq(fscanf(p, "%d", &status), 1);
        pclose(p);
        return status;
}

static const char *layer0(const json_t *img)
{
        return json_string_value(
                json_object_get(json_array_get(json_object_get(img, "layers"), 0), "digest"));
}

/* Export gives an OCI archive that imports back with the same layers, and a
 * second round trip changes no digest at all. */
START_TEST(test_export_round_trip)
{
        make_rootfs("a.tar.gz", "one");
        json_t *orig = NULL, *copy = NULL, *copy2 = NULL;
        ck_assert_int_eq(upload("name=src&kind=container&format=rootfs", "a.tar.gz",
                                "application/octet-stream", &orig),
                         201);
        ck_assert_int_eq(export_to("src", "src.oci.tar"), 200);
        sh("tar -tf '%s/src.oci.tar' | grep -qx oci-layout && "
           "tar -tf '%s/src.oci.tar' | grep -qx index.json",
           work, work);
        ck_assert_int_eq(upload("name=copy&kind=container&format=oci-archive", "src.oci.tar",
                                "application/x-tar", &copy),
                         201);
        ck_assert_str_eq(layer0(copy), layer0(orig));
        ck_assert_int_eq(export_to("copy:latest", "copy.oci.tar"), 200);
        ck_assert_int_eq(upload("name=copy2&kind=container&format=oci-archive", "copy.oci.tar",
                                "application/x-tar", &copy2),
                         201);
        ck_assert_str_eq(str(copy2, "digest"), str(copy, "digest"));
        ck_assert_int_eq(count_entries("layers"), 1);
        if (system("command -v skopeo >/dev/null 2>&1") == 0)
                sh("skopeo inspect 'oci-archive:%s/copy.oci.tar' >/dev/null", work);
        ck_assert_int_eq(export_to("nothere", "x.tar"), 404);
        json_decref(orig);
        json_decref(copy);
        json_decref(copy2);
}
END_TEST

/* The digest skopeo reports for a reference in the loopback registry. */
static char *remote_digest(const char *ref)
{
        sh("skopeo inspect --tls-verify=false 'docker://%s' | sed -n "
           "'s/.*\"Digest\": \"\\(.*\\)\",/\\1/p' | head -1 > '%s/remote-digest'",
           ref, work);
        char *remote = NULL;
        char path[512];
        snprintf(path, sizeof(path), "%s/remote-digest", work);
        ck_assert_int_eq(hd_test_read_file(path, &remote, NULL), 0);
        remote[strcspn(remote, "\n")] = '\0';
        return remote;
}

/* Sends a transfer with ?wait and returns its final operation. */
static json_t *transfer_op(const char *path, const char *body)
{
        HdCurlResult r = { 0 };
        ck_assert_int_eq(hd_test_send_json(&d, &r, "POST", path, body), 0);
        ck_assert_msg(r.status == 200, "%s", hd_curl_result_describe(&r));
        json_t *op = json_incref(r.json);
        hd_curl_result_clear(&r);
        return op;
}

static const char *op_error_code(const json_t *op)
{
        return json_string_value(json_object_get(json_object_get(op, "error"), "code"));
}

/* Pull and push against a real registry on loopback (Debian's docker-registry): skopeo
 * pushes and hostd pulls, then hostd pushes and skopeo pulls, with the digests compared
 * on both sides. Skipped when either tool is missing. */
START_TEST(test_registry_pull_and_push)
{
        if (system("command -v docker-registry >/dev/null && command -v skopeo >/dev/null") != 0) {
                fprintf(stderr, "SKIP: docker-registry or skopeo not installed\n");
                return;
        }
        int port = hd_test_free_port();
        sh("set -e; cd '%s'; mkdir -p reg; printf 'version: 0.1\nstorage:\n  filesystem:\n"
           "    rootdirectory: %s/reg\nhttp:\n  addr: 127.0.0.1:%d\nlog:\n  level: error\n'"
           " > reg.yml; (docker-registry serve reg.yml > reg.log 2>&1 & echo $! > reg.pid)",
           work, work, port);
        char url[64];
        snprintf(url, sizeof(url), "127.0.0.1:%d", port);
        bool up = false;
        for (int i = 0; i < 100 && !up; i++) {
                char cmd[256];
                snprintf(cmd, sizeof(cmd), "curl -sf http://%s/v2/ >/dev/null", url);
                up = system(cmd) == 0;
                if (!up)
                        usleep(100000);
        }
        if (up) {
                char body[512], ref[256];
                /* skopeo → registry → hostd: an OCI archive of hostd's own export. */
                make_rootfs("a.tar.gz", "pulled");
                ck_assert_int_eq(upload("name=seed&kind=container&format=rootfs", "a.tar.gz",
                                        "application/octet-stream", NULL),
                                 201);
                ck_assert_int_eq(export_to("seed", "seed.oci.tar"), 200);
                snprintf(ref, sizeof(ref), "%s/test/app:1.0", url);
                sh("skopeo copy -q --dest-tls-verify=false 'oci-archive:%s/seed.oci.tar' "
                   "'docker://%s'",
                   work, ref);
                char *remote = remote_digest(ref);
                snprintf(body, sizeof(body), "{\"ref\": \"%s\", \"tls_verify\": false}", ref);
                json_t *op = transfer_op("/v1/images/pull?wait=120", body);
                ck_assert_str_eq(str(op, "status"), "success");
                ck_assert_str_eq(str(op, "action"), "image_pull");
                ck_assert_str_eq(str(op, "image"), "app:1.0");
                json_t *pr = json_object_get(op, "progress");
                ck_assert_int_gt(json_integer_value(json_object_get(pr, "total")), 0);
                ck_assert_int_eq(json_integer_value(json_object_get(pr, "done")),
                                 json_integer_value(json_object_get(pr, "total")));
                /* The password never reaches the stored arguments. */
                ck_assert_ptr_null(json_object_get(json_object_get(op, "args"), "password"));
                json_decref(op);
                HdCurlResult r = { 0 };
                ck_assert_int_eq(hd_test_get(&d, &r, "/v1/images/app:1.0"), 0);
                ck_assert_int_eq(r.status, 200);
                ck_assert_str_eq(str(r.json, "digest"), remote);
                hd_curl_result_clear(&r);
                free(remote);

                /* An unknown tag: the operation fails, naming why. */
                snprintf(body, sizeof(body),
                         "{\"ref\": \"%s/test/app:nope\", \"tls_verify\": false, "
                         "\"name\": \"x\"}",
                         url);
                op = transfer_op("/v1/images/pull?wait=60", body);
                ck_assert_str_eq(str(op, "status"), "failure");
                ck_assert_str_eq(op_error_code(op), "not_found");
                json_decref(op);

                /* hostd → registry → skopeo: a two-layer image pushed under a new name. */
                sh("python3 '" HD_TEST_DATA_DIR "/gen-images.py' oci '%s/busybox-extra.oci.tar' "
                   "base extra",
                   work);
                ck_assert_int_eq(upload("name=extra&kind=container&format=oci-archive",
                                        "busybox-extra.oci.tar", "application/x-tar", NULL),
                                 201);
                json_t *extra = NULL;
                ck_assert_int_eq(hd_test_get(&d, &r, "/v1/images/extra"), 0);
                extra = json_incref(r.json);
                hd_curl_result_clear(&r);
                snprintf(ref, sizeof(ref), "%s/pushed/extra:2.0", url);
                snprintf(body, sizeof(body), "{\"ref\": \"%s\", \"tls_verify\": false}", ref);
                op = transfer_op("/v1/images/extra/push?wait=120", body);
                ck_assert_msg(strcmp(str(op, "status"), "success") == 0, "push: %s",
                              json_dumps(op, 0));
                ck_assert_str_eq(str(op, "image"), "extra");
                json_decref(op);
                remote = remote_digest(ref);
                ck_assert_str_eq(remote, str(extra, "digest"));
                free(remote);
                /* skopeo pulls it back, verifying every blob, into an archive that hostd
                 * imports to the same digest. */
                sh("rm -f '%s/back.oci.tar' && skopeo copy -q --src-tls-verify=false "
                   "'docker://%s' 'oci-archive:%s/back.oci.tar'",
                   work, ref, work);
                json_t *back = NULL;
                ck_assert_int_eq(upload("name=back&kind=container&format=oci-archive",
                                        "back.oci.tar", "application/x-tar", &back),
                                 201);
                ck_assert_str_eq(str(back, "digest"), str(extra, "digest"));
                json_decref(back);
                /* Again: every blob is there already; the manifest is put again. */
                op = transfer_op("/v1/images/extra/push?wait=120", body);
                ck_assert_str_eq(str(op, "status"), "success");
                json_decref(op);
                json_decref(extra);

                /* Refused before anything is queued. */
                snprintf(body, sizeof(body),
                         "{\"ref\": \"%s/x@sha256:%064d\", \"tls_verify\": false}", url, 0);
                ck_assert_int_eq(hd_test_send_json(&d, &r, "POST", "/v1/images/extra/push", body),
                                 0);
                ck_assert_int_eq(r.status, 400);
                ck_assert_str_eq(hd_test_error_field(r.json), "ref");
                hd_curl_result_clear(&r);
                ck_assert_int_eq(hd_test_send_json(&d, &r, "POST", "/v1/images/nothere/push",
                                                   "{\"ref\": \"127.0.0.1:1/a:b\"}"),
                                 0);
                ck_assert_int_eq(r.status, 404);
                hd_curl_result_clear(&r);
                ck_assert_int_eq(hd_test_send_json(&d, &r, "POST", "/v1/images/extra/push",
                                                   "{\"ref\": \"127.0.0.1:1/a:b\", \"name\": "
                                                   "\"n\"}"),
                                 0);
                ck_assert_int_eq(r.status, 400);
                ck_assert_str_eq(hd_test_error_field(r.json), "name");
                hd_curl_result_clear(&r);
                op = transfer_op("/v1/images/extra/push?wait=60",
                                 "{\"ref\": \"127.0.0.1:1/a:b\", \"tls_verify\": false}");
                ck_assert_str_eq(str(op, "status"), "failure");
                ck_assert_str_eq(op_error_code(op), "bad_gateway");
                json_decref(op);
        }
        sh("kill $(cat '%s/reg.pid') 2>/dev/null; true", work);
        ck_assert_msg(up, "the registry did not start");

        json_t *op = transfer_op("/v1/images/pull?wait=60",
                                 "{\"ref\": \"127.0.0.1:1/a:b\", \"tls_verify\": false, "
                                 "\"name\": \"z\"}");
        ck_assert_str_eq(str(op, "status"), "failure");
        ck_assert_str_eq(op_error_code(op), "bad_gateway");
        json_decref(op);
        HdCurlResult r = { 0 };
        ck_assert_int_eq(hd_test_send_json(&d, &r, "POST", "/v1/images/pull",
                                           "{\"ref\": \"::bad\", \"name\": \"z\"}"),
                         0);
        ck_assert_int_eq(r.status, 400);
        ck_assert_str_eq(hd_test_error_field(r.json), "ref");
        hd_curl_result_clear(&r);
        /* name:tag taken: 409 at once. */
        ck_assert_int_eq(hd_test_send_json(&d, &r, "POST", "/v1/images/pull",
                                           "{\"ref\": \"127.0.0.1:1/seed:latest\"}"),
                         0);
        ck_assert_int_eq(r.status, up ? 409 : r.status);
        hd_curl_result_clear(&r);
}
END_TEST

static long vm_hwm_kib(pid_t pid)
{
        char path[64], line[256];
        snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
        FILE *f = fopen(path, "re");
        long kib = -1;
        while (f && fgets(line, sizeof(line), f))
                if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
                        break;
        if (f)
                fclose(f);
        return kib;
}

/* The body is never held in memory: a 256 MiB upload moves hostd's peak RSS by
 * far less than its size. */
START_TEST(test_upload_is_streamed)
{
        sh("set -e; cd '%s'; mkdir -p big; head -c 268435456 /dev/urandom > big/blob; "
           "tar -C big -cf big.tar .; rm -rf big",
           work);
        long before = vm_hwm_kib(d.pid);
        ck_assert_int_eq(upload("name=big&kind=container&format=rootfs", "big.tar",
                                "application/x-tar", NULL),
                         201);
        long after = vm_hwm_kib(d.pid);
        ck_assert_int_gt(before, 0);
        ck_assert_msg(after - before < 32 * 1024, "peak RSS grew by %ld KiB for a 256 MiB upload",
                      after - before);
}
END_TEST

int main(void)
{
        hd_test_init();
        Suite *s = suite_create("images");
        TCase *tc = tcase_create("images");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 240);
        tcase_add_test(tc, test_import_get_list_and_share);
        tcase_add_test(tc, test_bad_uploads_leave_nothing);
        tcase_add_test(tc, test_delete_guarded_by_instances_then_prune);
        tcase_add_test(tc, test_images_survive_restart_and_crash_leftovers_go);
        tcase_add_test(tc, test_upload_is_streamed);
        tcase_add_test(tc, test_export_round_trip);
        tcase_add_test(tc, test_registry_pull_and_push);
        suite_add_tcase(s, tc);
        SRunner *sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        hd_test_fini(failed);
        return failed ? 1 : 0;
}
