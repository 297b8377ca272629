/* libhostclient: the images API (/v1/images). Imports stream the image file from disk
 * through curl's read callback, a buffer at a time, with the size announced up front. */
#include "hostclient-private.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* An import fails when no byte has moved for this long: generous, because the server
 * verifies and unpacks the image after the last byte before it answers. */
#define HC_IMPORT_STALL_S 600

static int hc_image_oom(HcError *err)
{
        return hc_error_setf(err, -ENOMEM, "transport", "out of memory");
}

/* ---- Paths --------------------------------------------------------------------------- */

static bool hc_ref_char_is_plain(unsigned char ch)
{
        return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
               ch == '-' || ch == '.' || ch == '_' || ch == '~' || ch == ':';
}

/* "/v1/images/<ref>": every '/'-separated segment of ref escaped on its own, the slashes
 * kept (the server takes the rest of the path as the ref). ':' may stand in a path as
 * it is. Empty segments are refused; "." and ".." are escaped so that curl does not
 * resolve them away. */
static int hc_image_path(HcBuf *b, const char *ref, HcError *err)
{
        static const char hex[] = "0123456789ABCDEF";

        if (!ref || !*ref)
                return hc_error_setf(err, -EINVAL, "invalid_argument",
                                     "image reference must not be empty");
        if (hc_buf_printf(b, "/v1/images/") < 0)
                return hc_image_oom(err);
        for (const char *seg = ref;;) {
                const char *end = strchr(seg, '/');
                size_t len = end ? (size_t)(end - seg) : strlen(seg);
                bool dots = strspn(seg, ".") == len;

                if (len == 0)
                        return hc_error_setf(err, -EINVAL, "invalid_argument",
                                             "invalid image reference `%s`: empty path segment",
                                             ref);
                for (size_t i = 0; i < len; i++) {
                        unsigned char ch = (unsigned char)seg[i];
                        int r;
                        if (hc_ref_char_is_plain(ch) && !dots) {
                                r = hc_buf_append(b, &seg[i], 1);
                        } else {
                                char e[3] = { '%', hex[ch >> 4], hex[ch & 0xf] };
                                r = hc_buf_append(b, e, sizeof(e));
                        }
                        if (r < 0)
                                return hc_image_oom(err);
                }
                if (!end)
                        return 0;
                if (hc_buf_append(b, "/", 1) < 0)
                        return hc_image_oom(err);
                seg = end + 1;
        }
}

static int hc_image_ref_request(HcClient *c, const char *method, const char *ref, json_t **ret,
                                HcError *err)
{
        _cleanup_buf_ HcBuf path = { 0 };
        int r;

        if (ret)
                *ret = NULL;
        r = hc_image_path(&path, ref, err);
        if (r < 0)
                return r;
        _cleanup_(hc_call_clear) HcCall call = { .method = method, .path = path.data };
        return hc_call_object(c, &call, ret, NULL, err);
}

/* ---- List, get, delete, prune -------------------------------------------------------- */

int hc_image_list(HcClient *c, const char *kind, json_t **ret, HcError *err)
{
        _cleanup_buf_ HcBuf path = { 0 };

        if (hc_buf_printf(&path, "/v1/images") < 0 ||
            (kind && *kind && hc_buf_add_query(&path, "kind", kind) < 0)) {
                if (ret)
                        *ret = NULL;
                return hc_image_oom(err);
        }
        _cleanup_(hc_call_clear) HcCall call = { .method = "GET", .path = path.data };
        return hc_call_object(c, &call, ret, NULL, err);
}

int hc_image_get(HcClient *c, const char *ref, json_t **ret, HcError *err)
{
        return hc_image_ref_request(c, "GET", ref, ret, err);
}

int hc_image_delete(HcClient *c, const char *ref, json_t **ret, HcError *err)
{
        return hc_image_ref_request(c, "DELETE", ref, ret, err);
}

int hc_image_prune(HcClient *c, json_t **ret, HcError *err)
{
        _cleanup_(hc_call_clear) HcCall call = { .method = "POST", .path = "/v1/images/prune" };
        return hc_call_object(c, &call, ret, NULL, err);
}

/* ---- Pull and push (operations) ------------------------------------------------------- */

/* How often a transfer's operation is read back for progress. */
#define HC_TRANSFER_POLL_MS 250

/* Follows a transfer's operation to its end, reporting its progress; a progress
 * callback that asks to stop cancels the operation. *ret_op gets the final operation. */
static int hc_transfer_follow(HcClient *c, json_t *op, HcProgressCallback progress, void *userdata,
                              json_t **ret_op, HcError *err)
{
        _cleanup_json_ json_t *cur = json_incref(op);
        const char *id = json_string_value(json_object_get(op, "id"));
        if (!id)
                return hc_error_setf(err, -EBADMSG, "protocol", "operation has no id");
        _cleanup_free_ char *op_id = strdup(id);
        if (!op_id)
                return hc_image_oom(err);
        for (;;) {
                json_t *pr = json_object_get(cur, "progress");
                int64_t done = json_integer_value(json_object_get(pr, "done"));
                int64_t total = json_integer_value(json_object_get(pr, "total"));
                if (progress) {
                        int stop = progress(done, total > 0 ? total : -1, userdata);
                        if (stop != 0 && !hc_operation_is_final(cur)) {
                                _cleanup_json_ json_t *ignored = NULL;
                                (void)hc_operation_cancel(c, op_id, &ignored, NULL);
                                return hc_error_setf(err, stop < 0 ? stop : -ECANCELED, "cancelled",
                                                     "transfer cancelled");
                        }
                }
                if (hc_operation_is_final(cur))
                        break;
                json_t *next = NULL;
                int r;
                if (progress) {
                        struct timespec ts = { 0, HC_TRANSFER_POLL_MS * 1000000L };
                        nanosleep(&ts, NULL);
                        r = hc_operation_get(c, op_id, &next, err);
                } else {
                        r = hc_operation_wait(c, op_id, 3600, &next, err);
                }
                if (r < 0)
                        return r;
                json_decref(cur);
                cur = next;
        }
        int r = hc_operation_check(cur, err);
        if (ret_op)
                *ret_op = TAKE_PTR(cur);
        return r;
}

static int hc_transfer_start(HcClient *c, const char *path, json_t *body, json_t **ret_op,
                             HcError *err)
{
        _cleanup_(hc_call_clear) HcCall call = { .method = "POST", .path = path, .body = body };
        return hc_call_object(c, &call, ret_op, NULL, err);
}

static json_t *hc_transfer_body(const char *ref, bool tls_verify, const char *username,
                                const char *password)
{
        json_t *body = json_pack("{s:s, s:b}", "ref", ref, "tls_verify", tls_verify);
        if (body &&
            ((username && json_object_set_new(body, "username", json_string(username)) < 0) ||
             (password && json_object_set_new(body, "password", json_string(password)) < 0))) {
                json_decref(body);
                return NULL;
        }
        return body;
}

int hc_image_pull(HcClient *c, const HcImagePull *p, HcProgressCallback progress, void *userdata,
                  json_t **ret, HcError *err)
{
        if (ret)
                *ret = NULL;
        if (!p || !p->ref || !*p->ref)
                return hc_error_setf(err, -EINVAL, "invalid_argument", "no image reference");
        _cleanup_json_ json_t *body =
                hc_transfer_body(p->ref, p->tls_verify, p->username, p->password);
        if (!body || (p->name && json_object_set_new(body, "name", json_string(p->name)) < 0) ||
            (p->tag && json_object_set_new(body, "tag", json_string(p->tag)) < 0))
                return hc_image_oom(err);
        _cleanup_json_ json_t *op = NULL, *final = NULL;
        int r = hc_transfer_start(c, "/v1/images/pull", body, &op, err);
        if (r >= 0)
                r = hc_transfer_follow(c, op, progress, userdata, &final, err);
        if (r < 0)
                return r;
        const char *image = json_string_value(json_object_get(final, "image"));
        if (!image)
                return hc_error_setf(err, -EBADMSG, "protocol", "pull operation names no image");
        return hc_image_get(c, image, ret, err);
}

int hc_image_push(HcClient *c, const char *image, const HcImagePush *p, HcProgressCallback progress,
                  void *userdata, json_t **ret, HcError *err)
{
        if (ret)
                *ret = NULL;
        if (!p || !p->ref || !*p->ref)
                return hc_error_setf(err, -EINVAL, "invalid_argument", "no image reference");
        _cleanup_buf_ HcBuf path = { 0 };
        int r = hc_image_path(&path, image, err);
        if (r < 0)
                return r;
        if (hc_buf_printf(&path, "/push") < 0)
                return hc_image_oom(err);
        _cleanup_json_ json_t *body =
                hc_transfer_body(p->ref, p->tls_verify, p->username, p->password);
        if (!body)
                return hc_image_oom(err);
        _cleanup_json_ json_t *op = NULL;
        r = hc_transfer_start(c, path.data, body, &op, err);
        if (r >= 0)
                r = hc_transfer_follow(c, op, progress, userdata, ret, err);
        return r;
}

/* ---- Export -------------------------------------------------------------------------- */

static int hc_error_errno(HcError *err, int code, const char *doing, const char *what);

typedef struct HcExport {
        HcClient *client;
        HcCall *call;
        int fd;
        int64_t written;
        int error; /* a failed write, as -errno */
} HcExport;

static size_t hc_export_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
        HcExport *x = userdata;
        size_t n = size * nmemb;
        long status = 0;
        curl_easy_getinfo(hc_client_curl(x->client), CURLINFO_RESPONSE_CODE, &status);
        if (status < 200 || status >= 300)
                /* An error answer: keep its body for hc_perform() to decode. */
                return hc_buf_append(&x->call->body_out, ptr, n) < 0 ? 0 : n;
        for (size_t done = 0; done < n;) {
                ssize_t w = write(x->fd, ptr + done, n - done);
                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        x->error = -errno;
                        return 0;
                }
                done += (size_t)w;
        }
        x->written += (int64_t)n;
        return n;
}

int hc_image_export(HcClient *c, const char *ref, int fd, int64_t *ret_bytes, HcError *err)
{
        _cleanup_buf_ HcBuf path = { 0 };
        int r = hc_image_path(&path, ref, err);
        if (r < 0)
                return r;
        if (hc_buf_printf(&path, "/export") < 0)
                return hc_image_oom(err);
        _cleanup_(hc_call_clear) HcCall call = {
                .method = "GET", .path = path.data, .accept = "*/*", .stall_s = 600
        };
        HcExport x = { .client = c, .call = &call, .fd = fd };
        call.write_cb = hc_export_write;
        call.write_data = &x;
        r = hc_perform(c, &call, err);
        if (x.error < 0)
                return hc_error_errno(err, x.error, "writing the export of", ref);
        if (r < 0)
                return r;
        if (ret_bytes)
                *ret_bytes = x.written;
        return 0;
}

/* ---- Import -------------------------------------------------------------------------- */

/* "<doing> `<what>`: <strerror>" with the code "io"; returns code (a -errno). */
static int hc_error_errno(HcError *err, int code, const char *doing, const char *what)
{
        char buf[256];
        return hc_error_setf(err, code, "io", "%s `%s`: %s", doing, what,
                             strerror_r(-code, buf, sizeof(buf)));
}

typedef struct HcUpload {
        int fd;
        off_t start;  /* offset of the first byte; -1 when fd cannot seek */
        int64_t size; /* bytes to send, -1 when unknown */
        int64_t sent; /* read so far */
        int error;    /* -errno of a failed read */
        bool shrank;  /* the file ended before size bytes */
        HcProgressCallback progress;
        void *userdata;
        int64_t reported;    /* the last done value handed to progress */
        int progress_result; /* what progress returned when it stopped the upload */
} HcUpload;

static size_t hc_upload_read(char *buf, size_t size, size_t nitems, void *userdata)
{
        HcUpload *u = userdata;
        size_t want = size * nitems;
        ssize_t n;

        if (u->size >= 0 && (int64_t)want > u->size - u->sent)
                want = (size_t)(u->size - u->sent);
        if (want == 0)
                return 0;
        do
                n = read(u->fd, buf, want);
        while (n < 0 && errno == EINTR);
        if (n < 0) {
                u->error = -errno;
                return CURL_READFUNC_ABORT;
        }
        if (n == 0 && u->size >= 0) {
                /* Content-Length promised more: the file shrank under us. */
                u->shrank = true;
                return CURL_READFUNC_ABORT;
        }
        u->sent += n;
        return (size_t)n;
}

/* curl rewinds when it retries the request on a fresh connection (a kept-alive one the
 * server had closed). */
static int hc_upload_seek(void *userdata, curl_off_t offset, int origin)
{
        HcUpload *u = userdata;

        if (origin != SEEK_SET || u->start < 0 || offset < 0 || (u->size >= 0 && offset > u->size))
                return CURL_SEEKFUNC_CANTSEEK;
        if (lseek(u->fd, u->start + (off_t)offset, SEEK_SET) < 0)
                return CURL_SEEKFUNC_FAIL;
        u->sent = offset;
        return CURL_SEEKFUNC_OK;
}

static int hc_upload_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow,
                              curl_off_t ultotal, curl_off_t ulnow)
{
        HcUpload *u = userdata;
        (void)dltotal;
        (void)dlnow;
        (void)ultotal;

        /* curl calls this often, also while the server works after the upload: pass on
         * changes only. */
        if (ulnow == u->reported)
                return 0;
        u->reported = ulnow;
        int r = u->progress(ulnow, u->size, u->userdata);
        if (r != 0) {
                u->progress_result = r;
                return 1;
        }
        return 0;
}

static int hc_import_query(HcBuf *b, const HcImageImport *imp)
{
        int r = hc_buf_printf(b, "/v1/images");
        if (r >= 0)
                r = hc_buf_add_query(b, "name", imp->name);
        if (r >= 0 && imp->tag && *imp->tag)
                r = hc_buf_add_query(b, "tag", imp->tag);
        if (r >= 0)
                r = hc_buf_add_query(b, "kind", imp->kind);
        if (r >= 0)
                r = hc_buf_add_query(b, "format", imp->format);
        return r;
}

int hc_image_import(HcClient *c, const HcImageImport *imp, HcProgressCallback progress,
                    void *userdata, json_t **ret, HcError *err)
{
        _cleanup_buf_ HcBuf path = { 0 };
        _cleanup_close_ int own_fd = -1;
        HcUpload up = { .fd = -1, .start = -1, .size = -1, .reported = -1 };
        const char *what;
        struct stat st;
        int r;

        if (ret)
                *ret = NULL;
        hc_error_clear(err);
        if (!c || !imp)
                return hc_error_setf(err, -EINVAL, "invalid_argument",
                                     "a client and an import are required");
        if (!imp->name || !*imp->name || !imp->kind || !*imp->kind || !imp->format || !*imp->format)
                return hc_error_setf(err, -EINVAL, "invalid_argument",
                                     "image name, kind and format must not be empty");

        if (imp->path) {
                what = imp->path;
                own_fd = open(imp->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (own_fd < 0)
                        return hc_error_errno(err, -errno, "cannot open", imp->path);
                up.fd = own_fd;
        } else {
                what = "the image input";
                if (imp->fd < 0)
                        return hc_error_setf(err, -EBADF, "invalid_argument",
                                             "an image path or fd is required");
                up.fd = imp->fd;
        }
        if (fstat(up.fd, &st) < 0)
                return hc_error_errno(err, -errno, "cannot stat", what);
        if (S_ISDIR(st.st_mode))
                return hc_error_setf(err, -EISDIR, "io", "`%s` is a directory", what);
        if (S_ISREG(st.st_mode)) {
                up.start = lseek(up.fd, 0, SEEK_CUR);
                if (up.start < 0)
                        return hc_error_errno(err, -errno, "cannot seek in", what);
                up.size = st.st_size > up.start ? (int64_t)(st.st_size - up.start) : 0;
        }
        up.progress = progress;
        up.userdata = userdata;

        if (hc_import_query(&path, imp) < 0)
                return hc_image_oom(err);
        _cleanup_(hc_call_clear) HcCall call = {
                .method = "POST",
                .path = path.data,
                .read_cb = hc_upload_read,
                .seek_cb = up.start >= 0 ? hc_upload_seek : NULL,
                .read_data = &up,
                .read_size = up.size,
                .xferinfo_cb = progress ? hc_upload_progress : NULL,
                .xferinfo_data = &up,
                .stall_s = HC_IMPORT_STALL_S,
        };
        r = hc_call_object(c, &call, ret, NULL, err);
        if (r != -ECANCELED)
                return r;
        if (up.progress_result != 0)
                return hc_error_setf(err, up.progress_result < 0 ? up.progress_result : -ECANCELED,
                                     "cancelled", "import stopped by the progress callback");
        if (up.shrank)
                return hc_error_setf(err, -EIO, "io", "`%s` shrank while it was being sent", what);
        if (up.error < 0)
                return hc_error_errno(err, up.error, "cannot read", what);
        return hc_error_setf(err, -ECANCELED, "cancelled", "import was aborted");
}
