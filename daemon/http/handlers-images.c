/* /v1/images: list, streamed import, get, delete, prune, export, pull and push. */
#include <string.h>

#include "hd-codec.h"
#include "hd-log.h"
#include "http-internal.h"

static HdImgStore *images(HdRequest *req)
{
        return req->http->cfg.images;
}

static bool images_ready(HdRequest *req, HdResponse *resp)
{
        if (images(req))
                return true;
        hd_resp_error_status(resp, 503, NULL, "the image store is not open");
        return false;
}

void hd_handle_image_list(HdRequest *req, HdResponse *resp)
{
        HdKind kind = HD_KIND_INVALID;
        const char *k = hd_req_query(req, "kind");
        if (k && (kind = hd_kind_from_string(k)) == HD_KIND_INVALID) {
                hd_resp_error_status(resp, 400, "kind", "unknown kind `%s`", k);
                return;
        }
        _cleanup_error_ HdError *err = NULL;
        HdImage **items = NULL;
        size_t n = 0;
        if (hd_core_image_list(req->http->core, kind, &items, &n, &err) < 0) {
                hd_resp_error(resp, err);
                return;
        }
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
                json_array_append_new(arr, hd_codec_image_to_json(items[i]));
        hd_image_array_free(items, n);
        hd_resp_json(resp, 200, json_pack("{s:o}", "images", arr));
}

void hd_handle_image_get(HdRequest *req, HdResponse *resp)
{
        _cleanup_error_ HdError *err = NULL;
        _cleanup_(hd_image_freep) HdImage *img = NULL;
        if (hd_core_image_get(req->http->core, req->params[0], &img, &err) < 0) {
                hd_resp_error(resp, err);
                return;
        }
        hd_resp_json(resp, 200, hd_codec_image_to_json(img));
}

void hd_handle_image_delete(HdRequest *req, HdResponse *resp)
{
        if (!images_ready(req, resp))
                return;
        _cleanup_error_ HdError *err = NULL;
        _cleanup_(hd_image_freep) HdImage *img = NULL;
        if (hd_core_image_get(req->http->core, req->params[0], &img, &err) < 0 ||
            hd_img_store_delete(images(req), req->params[0], &err) < 0) {
                hd_resp_error(resp, err);
                return;
        }
        hd_log_info("image %s:%s deleted", img->name, img->tag);
        hd_resp_json(resp, 200, hd_codec_image_to_json(img));
}

void hd_handle_image_prune(HdRequest *req, HdResponse *resp)
{
        if (!images_ready(req, resp))
                return;
        _cleanup_error_ HdError *err = NULL;
        HdImgPruneResult r = { 0 };
        if (hd_img_store_prune(images(req), &r, &err) < 0) {
                hd_resp_error(resp, err);
                return;
        }
        hd_resp_json(resp, 200,
                     json_pack("{s:I, s:I, s:I}", "layers_removed", (json_int_t)r.layers_removed,
                               "blobs_removed", (json_int_t)r.blobs_removed, "bytes_freed",
                               (json_int_t)r.bytes_freed));
}

/* The image as an OCI archive (containers) or its disk/kernel file (VMs),
 * streamed from a file: never built in memory. */
void hd_handle_image_export(HdRequest *req, HdResponse *resp)
{
        if (!images_ready(req, resp))
                return;
        _cleanup_error_ HdError *err = NULL;
        int fd = -1;
        int64_t size = 0;
        const char *ctype = NULL;
        if (hd_img_store_export(images(req), req->params[0], &fd, &size, &ctype, &err) < 0) {
                hd_resp_error(resp, err);
                return;
        }
        hd_req_extend_timeout(req, 0); /* a large image takes a while to send */
        resp->status = 200;
        resp->content_type = ctype;
        resp->has_fd = true;
        resp->fd = fd;
        resp->fd_size = (uint64_t)size;
}

/* ---- registry transfers (operations) ------------------------------------------------------- */

/* A pull or push as an operation's job: the request (with its password, which is never
 * stored) and the store it works on. */
typedef struct TransferJob {
        HdImgStore *store;
        HdImagePullRequest req;
        char *image; /* push: the local image */
} TransferJob;

static void transfer_job_free(void *ud)
{
        TransferJob *j = ud;
        if (!j)
                return;
        if (j->req.password)
                explicit_bzero(j->req.password, strlen(j->req.password));
        hd_image_pull_request_clear(&j->req);
        free(j->image);
        free(j);
}

static void job_progress(int64_t done, int64_t total, void *ud)
{
        HdDriverOp *op = ud;
        op->progress(op, done, total);
}

static int run_pull(void *ud, HdDriverOp *op, HdError **err)
{
        TransferJob *j = ud;
        HdImgPullParams p = {
                .ref = j->req.ref,
                .name = j->req.name,
                .tag = j->req.tag,
                .tls_verify = j->req.tls_verify,
                .username = j->req.username,
                .password = j->req.password,
                .cancel = op->cancel_requested,
        };
        _cleanup_(hd_image_freep) HdImage *img = NULL;
        int r = hd_img_store_pull(j->store, &p, job_progress, op, &img, err);
        if (r >= 0)
                hd_log_info("image %s:%s pulled from %s (%s)", img->name, img->tag, j->req.ref,
                            img->digest);
        return r;
}

static int run_push(void *ud, HdDriverOp *op, HdError **err)
{
        TransferJob *j = ud;
        HdImgPushParams p = {
                .image = j->image,
                .ref = j->req.ref,
                .tls_verify = j->req.tls_verify,
                .username = j->req.username,
                .password = j->req.password,
                .cancel = op->cancel_requested,
        };
        char digest[HD_IMG_DIGEST_STRING_MAX];
        int r = hd_img_store_push(j->store, &p, job_progress, op, digest, err);
        if (r >= 0)
                hd_log_info("image %s pushed to %s (%s)", j->image, j->req.ref, digest);
        return r;
}

/* Checks the request, then queues the transfer and answers its operation (?wait=N
 * blocks for it as instance actions do). */
static void transfer(HdRequest *req, HdResponse *resp, HdAction a)
{
        if (!images_ready(req, resp))
                return;
        int64_t wait_s;
        if (hd_req_query_int(req, resp, "wait", 0, 3600, 0, &wait_s) < 0)
                return;
        _cleanup_json_ json_t *body = NULL;
        if (hd_req_body_json(req, resp, true, &body) < 0)
                return;
        _cleanup_error_ HdError *err = NULL;
        TransferJob *j = calloc(1, sizeof(*j));
        if (!j) {
                hd_resp_error_status(resp, 500, NULL, "out of memory");
                return;
        }
        j->store = images(req);
        HdCoreJob job = { .run = a == HD_ACTION_IMAGE_PULL ? run_pull : run_push,
                          .free = transfer_job_free,
                          .ud = j };
        int r = a == HD_ACTION_IMAGE_PULL ? hd_codec_image_pull_from_json(body, &j->req, &err)
                                          : hd_codec_image_push_from_json(body, &j->req, &err);
        _cleanup_free_ char *target = NULL, *args = NULL;
        if (r >= 0 && a == HD_ACTION_IMAGE_PULL) {
                HdImgPullParams p = { .ref = j->req.ref, .name = j->req.name, .tag = j->req.tag };
                r = hd_img_store_pull_check(j->store, &p, &target, &err);
        } else if (r >= 0) {
                HdImgPushParams p = { .image = req->params[0], .ref = j->req.ref };
                r = hd_img_store_push_check(j->store, &p, &err);
                if (r >= 0 &&
                    (!(j->image = strdup(req->params[0])) || !(target = strdup(req->params[0]))))
                        r = hd_error_set(&err, -ENOMEM, "out of memory");
        }
        if (r >= 0 && !(args = hd_codec_image_transfer_args(&j->req)))
                r = hd_error_set(&err, -ENOMEM, "out of memory");
        _cleanup_(hd_operation_freep) HdOperation *op = NULL;
        if (r >= 0)
                r = hd_core_job_submit(req->http->core, a, target, args, &job, &op, &err);
        else
                transfer_job_free(j);
        if (r < 0) {
                hd_resp_error(resp, err);
                return;
        }
        hd_resp_operation(req, resp, op, wait_s);
}

/* POST /v1/images/pull: fetches from an OCI registry, as an operation. */
void hd_handle_image_pull(HdRequest *req, HdResponse *resp)
{
        transfer(req, resp, HD_ACTION_IMAGE_PULL);
}

/* POST /v1/images/{ref}/push: sends a container image to an OCI registry. */
void hd_handle_image_push(HdRequest *req, HdResponse *resp)
{
        transfer(req, resp, HD_ACTION_IMAGE_PUSH);
}

/* ---- streamed import ------------------------------------------------------------------------ */

/* Per request: the import in progress, and the first error it met. */
typedef struct ImportState {
        HdImgImport *imp;
        HdError *err;
} ImportState;

static void import_state_free(ImportState *st)
{
        if (!st)
                return;
        hd_img_import_abort(st->imp);
        hd_error_free(st->err);
        free(st);
}

static int import_begin(HdRequest *req, HdResponse *resp)
{
        if (!images_ready(req, resp))
                return -ENODEV;
        const char *kind = hd_req_query(req, "kind");
        HdImgImportParams p = {
                .name = hd_req_query(req, "name"),
                .tag = hd_req_query(req, "tag"),
                .kind = kind ? hd_kind_from_string(kind) : HD_KIND_INVALID,
                .format = hd_req_query(req, "format"),
        };
        if (!p.name) {
                hd_resp_error_status(resp, 400, "name", "query parameter `name` is required");
                return -EINVAL;
        }
        if (!kind || p.kind == HD_KIND_INVALID) {
                hd_resp_error_status(resp, 400, "kind",
                                     "query parameter `kind` must be container or vm");
                return -EINVAL;
        }
        if (!p.format) {
                hd_resp_error_status(resp, 400, "format", "query parameter `format` is required");
                return -EINVAL;
        }

        ImportState *st = calloc(1, sizeof(*st));
        if (!st) {
                hd_resp_error_status(resp, 500, NULL, "out of memory");
                return -ENOMEM;
        }
        _cleanup_error_ HdError *err = NULL;
        int r = hd_img_import_begin(images(req), &p, &st->imp, &err);
        if (r < 0) {
                import_state_free(st);
                hd_resp_error(resp, err);
                return r;
        }
        /* An upload can take long: no idle timeout while it streams. */
        hd_req_extend_timeout(req, 0);
        req->stream_state = st;
        return 0;
}

static int import_chunk(HdRequest *req, const char *data, size_t len)
{
        ImportState *st = req->stream_state;
        if (!st || st->err)
                return -EIO;
        return hd_img_import_write(st->imp, data, len, &st->err);
}

static void import_abort(HdRequest *req)
{
        import_state_free(req->stream_state);
        req->stream_state = NULL;
}

static const char *const upload_types[] = { "application/octet-stream", "application/x-tar",
                                            "application/gzip", "application/zstd", NULL };

const HdStreamHooks hd_image_import_hooks = {
        .begin = import_begin,
        .chunk = import_chunk,
        .abort = import_abort,
        .content_types = upload_types,
};

void hd_handle_image_import(HdRequest *req, HdResponse *resp)
{
        ImportState *st = TAKE_PTR(req->stream_state);
        if (!st) {
                hd_resp_error_status(resp, 500, NULL, "no import in progress");
                return;
        }
        if (st->err) {
                hd_resp_error(resp, st->err);
                import_state_free(st);
                return;
        }
        if (!req->has_body) {
                import_state_free(st);
                hd_resp_error_status(resp, 400, "body", "the image file is the request body");
                return;
        }

        _cleanup_error_ HdError *err = NULL;
        _cleanup_(hd_image_freep) HdImage *img = NULL;
        int r = hd_img_import_finish(TAKE_PTR(st->imp), &img, &err);
        import_state_free(st);
        if (r < 0) {
                hd_resp_error(resp, err);
                return;
        }
        hd_log_info("image %s:%s imported (%s, %s, %lld bytes)", img->name, img->tag, img->format,
                    img->digest, (long long)img->size);
        if (asprintf(&resp->location, "/v1/images/%s:%s", img->name, img->tag) < 0)
                resp->location = NULL;
        hd_resp_json(resp, 201, hd_codec_image_to_json(img));
}
