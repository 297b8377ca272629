/* The registry client and the pull built on it: a manifest by tag or digest (an index
 * narrowed to linux/amd64), then the config and layers streamed into the blob store and
 * recorded like an oci-archive import (img-import.c does the recording). */
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "hd-json.h"
#include "img-registry.h"
#include "img-store-internal.h"

#define MANIFEST_MAX   (4U << 20)
#define SMALL_BODY_MAX (64U << 10) /* tokens and error bodies */
#define PROGRESS_STEP  (256 << 10)

#define MT_OCI_MANIFEST    "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX       "application/vnd.oci.image.index.v1+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_LIST     "application/vnd.docker.distribution.manifest.list.v2+json"

/* ---- references ------------------------------------------------------------------------ */

static int ref_error(HdError **err, const char *s, const char *why)
{
        return hd_error_set_field(err, -EINVAL, "ref",
                                  "image reference `%.300s` is invalid: %s (use "
                                  "HOST[:PORT]/REPO[:TAG] or HOST[:PORT]/REPO@sha256:…)",
                                  s, why);
}

static bool is_lower_alnum(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool host_is_valid(const char *h)
{
        const char *colon = strchr(h, ':');
        size_t n = colon ? (size_t)(colon - h) : strlen(h);
        if (n == 0 || n > 253)
                return false;
        for (size_t k = 0; k < n; k++)
                if (!isalnum((unsigned char)h[k]) && h[k] != '.' && h[k] != '-')
                        return false;
        if (!colon)
                return true;
        size_t p = strlen(colon + 1);
        if (p == 0 || p > 5)
                return false;
        for (size_t k = 1; colon[k]; k++)
                if (!isdigit((unsigned char)colon[k]))
                        return false;
        return atoi(colon + 1) > 0 && atoi(colon + 1) < 65536;
}

/* Components [a-z0-9]+([._-]+[a-z0-9]+)* joined by '/'. */
static bool repo_is_valid(const char *s)
{
        size_t n = strlen(s);
        if (n == 0 || n > 255 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
                return false;
        for (size_t k = 1; k < n; k++) {
                if (is_lower_alnum(s[k]))
                        continue;
                if (!strchr("._-/", s[k]))
                        return false;
                if (s[k] == '/' && (!is_lower_alnum(s[k - 1]) || !is_lower_alnum(s[k + 1])))
                        return false;
        }
        return true;
}

static bool tag_is_valid(const char *s)
{
        size_t n = strlen(s);
        if (n == 0 || n > 128 || s[0] == '.' || s[0] == '-')
                return false;
        for (size_t k = 0; k < n; k++)
                if (!isalnum((unsigned char)s[k]) && !strchr("_.-", s[k]))
                        return false;
        return true;
}

int hd_img_ref_parse(const char *s, HdImgRef *ret, HdError **err)
{
        *ret = (HdImgRef){ 0 };
        if (!s || !*s)
                return ref_error(err, "", "it is empty");
        if (strlen(s) > 1024)
                return ref_error(err, s, "it is too long");
        const char *slash = strchr(s, '/');
        if (!slash)
                return ref_error(err, s, "it names no registry host");
        _cleanup_free_ char *host = strndup(s, (size_t)(slash - s));
        _cleanup_free_ char *rest = strdup(slash + 1);
        if (!host || !rest)
                return hd_error_set(err, -ENOMEM, "out of memory");
        if (!host_is_valid(host))
                return ref_error(err, s, "the host is not HOST[:PORT]");
        _cleanup_free_ char *tag = NULL, *digest = NULL;
        char *at = strchr(rest, '@');
        if (at) {
                *at = '\0';
                if (!hd_img_blob_digest_is_valid(at + 1))
                        return ref_error(err, s, "the digest is not sha256:<64 lowercase hex>");
                if (!(digest = strdup(at + 1)))
                        return hd_error_set(err, -ENOMEM, "out of memory");
        }
        char *colon = strrchr(rest, ':');
        if (colon && !strchr(colon, '/')) {
                *colon = '\0';
                if (!tag_is_valid(colon + 1))
                        return ref_error(err, s, "the tag is invalid");
                if (!(tag = strdup(colon + 1)))
                        return hd_error_set(err, -ENOMEM, "out of memory");
        }
        if (!repo_is_valid(rest))
                return ref_error(err, s, "the repository is invalid");
        ret->host = TAKE_PTR(host);
        ret->repo = TAKE_PTR(rest);
        ret->tag = TAKE_PTR(tag);
        ret->digest = TAKE_PTR(digest);
        return 0;
}

void hd_img_ref_done(HdImgRef *r)
{
        free(r->host);
        free(r->repo);
        free(r->tag);
        free(r->digest);
        *r = (HdImgRef){ 0 };
}

/* ---- the client ------------------------------------------------------------------------- */

struct HdImgRegistry {
        CURL *curl;
        char *host;
        char *repo;
        bool tls_verify;
        char *username;
        char *password;
        const char *scheme; /* "https", or "http" once https failed without tls_verify */
        bool scheme_known;  /* a request has gone through with it */
        char *bearer;       /* "Authorization: Bearer …" */
        bool basic;
        const atomic_bool *cancel;
        char errbuf[CURL_ERROR_SIZE];
};

/* One response: its status and headers, and its body either streamed into w (2xx only) or
 * kept in memory up to max bytes. */
typedef struct Resp {
        long status;
        char *content_type;
        char *www_auth;
        char *location;       /* Location: where an upload goes on */
        char *content_digest; /* Docker-Content-Digest */
        char *buf;
        size_t len;
        size_t max;
        bool too_big;
        HdImgBlobWriter *w;
        HdError *werr;
        int wr;
        int64_t done;
        void (*progress)(int64_t done, void *ud);
        void *ud;
} Resp;

/* What a request sends: a method, and a body read from memory or from an fd. */
typedef struct Req {
        const char *method; /* NULL: GET */
        const char *accept; /* a whole "Accept: …" header, or NULL */
        const char *content_type;
        const char *data; /* a body in memory … */
        int fd;           /* … or from this fd (data NULL, fd ≥ 0) */
        int64_t size;     /* its length */
        int64_t offset;   /* bytes sent so far */
        void (*progress)(int64_t done, void *ud);
        void *ud;
} Req;

static void resp_reset(Resp *p)
{
        free(p->content_type);
        free(p->www_auth);
        free(p->location);
        free(p->content_digest);
        free(p->buf);
        hd_error_free(p->werr);
        p->content_type = p->www_auth = p->location = p->content_digest = p->buf = NULL;
        p->werr = NULL;
        p->status = 0;
        p->len = 0;
        p->too_big = false;
        p->wr = 0;
        p->done = 0;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
        curl_global_init(CURL_GLOBAL_DEFAULT);
}

int hd_img_registry_new(const char *host, const char *repo, const HdImgRegistryOptions *o,
                        HdImgRegistry **ret, HdError **err)
{
        pthread_once(&curl_once, curl_init_once);
        _cleanup_(hd_img_registry_freep) HdImgRegistry *r = calloc(1, sizeof(*r));
        if (!r)
                return hd_error_set(err, -ENOMEM, "out of memory");
        r->tls_verify = o->tls_verify;
        r->cancel = o->cancel;
        r->scheme = "https";
        if (!(r->host = strdup(host)) || !(r->repo = strdup(repo)) ||
            (o->username && !(r->username = strdup(o->username))) ||
            (o->password && !(r->password = strdup(o->password))))
                return hd_error_set(err, -ENOMEM, "out of memory");
        if (!(r->curl = curl_easy_init()))
                return hd_error_set(err, -ENOMEM, "cannot create a curl handle");
        *ret = TAKE_PTR(r);
        return 0;
}

void hd_img_registry_free(HdImgRegistry *r)
{
        if (!r)
                return;
        if (r->curl)
                curl_easy_cleanup(r->curl);
        free(r->host);
        free(r->repo);
        free(r->username);
        if (r->password) {
                explicit_bzero(r->password, strlen(r->password));
                free(r->password);
        }
        free(r->bearer);
        free(r);
}

static size_t on_header(char *data, size_t size, size_t n, void *ud)
{
        Resp *p = ud;
        size_t len = size * n;
        if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
                /* A new response (after a redirect or a 100): forget the last one's. */
                const char *sp = memchr(data, ' ', len);
                p->status = sp ? strtol(sp + 1, NULL, 10) : 0;
                free(p->content_type);
                free(p->www_auth);
                free(p->location);
                free(p->content_digest);
                p->content_type = p->www_auth = p->location = p->content_digest = NULL;
                return len;
        }
        const char *colon = memchr(data, ':', len);
        if (!colon)
                return len;
        size_t klen = (size_t)(colon - data);
        const char *v = colon + 1, *end = data + len;
        while (v < end && (*v == ' ' || *v == '\t'))
                v++;
        while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
                end--;
        char **slot = NULL;
        if (klen == strlen("content-type") && strncasecmp(data, "content-type", klen) == 0)
                slot = &p->content_type;
        else if (klen == strlen("www-authenticate") &&
                 strncasecmp(data, "www-authenticate", klen) == 0 && !p->www_auth)
                slot = &p->www_auth;
        else if (klen == strlen("location") && strncasecmp(data, "location", klen) == 0)
                slot = &p->location;
        else if (klen == strlen("docker-content-digest") &&
                 strncasecmp(data, "docker-content-digest", klen) == 0)
                slot = &p->content_digest;
        if (slot) {
                free(*slot);
                *slot = strndup(v, (size_t)(end - v));
        }
        return len;
}

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
        Resp *p = ud;
        size_t len = size * n;
        if (p->w && p->status >= 200 && p->status < 300) {
                p->wr = hd_img_blob_writer_write(p->w, data, len, &p->werr);
                if (p->wr < 0)
                        return 0;
                p->done += (int64_t)len;
                if (p->progress)
                        p->progress(p->done, p->ud);
                return len;
        }
        if (p->len + len > p->max) {
                p->too_big = true;
                return 0;
        }
        char *nb = realloc(p->buf, p->len + len + 1);
        if (!nb)
                return 0;
        p->buf = nb;
        memcpy(p->buf + p->len, data, len);
        p->len += len;
        p->buf[p->len] = '\0';
        return len;
}

/* The transport-level failure of a request. */
static int curl_error(HdImgRegistry *r, CURLcode c, const char *url, HdError **err)
{
        if (c == CURLE_ABORTED_BY_CALLBACK && r->cancel && atomic_load(r->cancel))
                return hd_error_set(err, -ECANCELED, "cancelled");
        const char *msg = r->errbuf[0] ? r->errbuf : curl_easy_strerror(c);
        int code = c == CURLE_COULDNT_CONNECT ? -ECONNREFUSED : -EHOSTUNREACH;
        return hd_error_set(err, code, "cannot reach `%.300s`: %s", url, msg);
}

static size_t on_upload(char *buf, size_t size, size_t n, void *ud)
{
        Req *q = ud;
        size_t want = size * n;
        if ((int64_t)want > q->size - q->offset)
                want = (size_t)(q->size - q->offset);
        if (want == 0)
                return 0;
        if (q->data) {
                memcpy(buf, q->data + q->offset, want);
        } else {
                ssize_t got;
                do
                        got = pread(q->fd, buf, want, q->offset);
                while (got < 0 && errno == EINTR);
                if (got <= 0)
                        return CURL_READFUNC_ABORT; /* a stored blob shrank: damaged */
                want = (size_t)got;
        }
        q->offset += (int64_t)want;
        if (q->progress)
                q->progress(q->offset, q->ud);
        return want;
}

/* curl rewinds an upload to send it again (after a redirect or an auth retry). */
static int on_seek(void *ud, curl_off_t offset, int origin)
{
        Req *q = ud;
        if (origin != SEEK_SET || offset < 0 || offset > q->size)
                return CURL_SEEKFUNC_FAIL;
        q->offset = offset;
        return CURL_SEEKFUNC_OK;
}

static int on_xfer(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                   curl_off_t ulnow)
{
        (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
        const HdImgRegistry *r = ud;
        return r->cancel && atomic_load(r->cancel) ? 1 : 0;
}

/* Performs one request of url into p. auth: send the credentials we have. Returns the
 * curl code; a failed write into p->w is left in p->wr/p->werr. */
static CURLcode perform(HdImgRegistry *r, const char *url, Req *q, bool auth, const char *user,
                        const char *pass, Resp *p)
{
        CURL *c = r->curl;
        curl_easy_reset(c);
        r->errbuf[0] = '\0';
        struct curl_slist *hdrs = NULL, *t;
        _cleanup_free_ char *ctype = NULL;
        if (q && q->accept && (t = curl_slist_append(hdrs, q->accept)))
                hdrs = t;
        if (auth && r->bearer && (t = curl_slist_append(hdrs, r->bearer)))
                hdrs = t;
        if (q && q->content_type && asprintf(&ctype, "Content-Type: %s", q->content_type) >= 0 &&
            (t = curl_slist_append(hdrs, ctype)))
                hdrs = t;
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, r->errbuf);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 120L);
        curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 256L << 10);
        curl_easy_setopt(c, CURLOPT_USERAGENT, "hostd");
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, r->tls_verify ? 1L : 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, r->tls_verify ? 2L : 0L);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, p);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, p);
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_xfer);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, r);
        const char *method = q && q->method ? q->method : "GET";
        if (strcmp(method, "HEAD") == 0) {
                curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
        } else if (strcmp(method, "PUT") == 0 || strcmp(method, "POST") == 0) {
                q->offset = 0;
                curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
                curl_easy_setopt(c, CURLOPT_READFUNCTION, on_upload);
                curl_easy_setopt(c, CURLOPT_READDATA, q);
                curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, on_seek);
                curl_easy_setopt(c, CURLOPT_SEEKDATA, q);
                curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)q->size);
                if (strcmp(method, "POST") == 0)
                        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "POST");
        }
        if (user) {
                curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
                curl_easy_setopt(c, CURLOPT_USERNAME, user);
                curl_easy_setopt(c, CURLOPT_PASSWORD, pass ? pass : "");
        }
        CURLcode rc = curl_easy_perform(c);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
        curl_slist_free_all(hdrs);
        return rc;
}

/* The value of key in an auth challenge's parameters (key="value" or key=value), or NULL. */
static char *challenge_param(const char *params, const char *key)
{
        size_t klen = strlen(key);
        const char *s = params;
        while (*s) {
                while (*s == ' ' || *s == ',')
                        s++;
                const char *eq = strchr(s, '=');
                if (!eq)
                        return NULL;
                bool match = (size_t)(eq - s) == klen && strncasecmp(s, key, klen) == 0;
                const char *v = eq + 1, *end;
                if (*v == '"') {
                        v++;
                        end = strchr(v, '"');
                        if (!end)
                                return NULL;
                        s = end + 1;
                } else {
                        end = v + strcspn(v, ",");
                        s = end;
                }
                if (match)
                        return strndup(v, (size_t)(end - v));
        }
        return NULL;
}

static char *add_query(CURL *c, char *url, const char *key, const char *value)
{
        if (!url || !value)
                return url;
        char *esc = curl_easy_escape(c, value, 0);
        char *out = NULL;
        if (esc && asprintf(&out, "%s%s%s=%s", url, strchr(url, '?') ? "&" : "?", key, esc) < 0)
                out = NULL;
        curl_free(esc);
        free(url);
        return out;
}

/* Answers a 401's challenge: a bearer token from the realm, or basic auth. */
static int authenticate(HdImgRegistry *r, const char *challenge, HdError **err)
{
        if (!challenge)
                return hd_error_set(err, -EACCES, "registry `%s` refused the request", r->host);
        if (strncasecmp(challenge, "Basic", 5) == 0) {
                if (!r->username)
                        return hd_error_set(err, -EACCES,
                                            "registry `%s` requires a username and password",
                                            r->host);
                r->basic = true;
                return 0;
        }
        if (strncasecmp(challenge, "Bearer ", 7) != 0)
                return hd_error_set(err, -EACCES,
                                    "registry `%s` asks for an unsupported authentication: %.100s",
                                    r->host, challenge);
        _cleanup_free_ char *realm = challenge_param(challenge + 7, "realm");
        _cleanup_free_ char *service = challenge_param(challenge + 7, "service");
        _cleanup_free_ char *scope = challenge_param(challenge + 7, "scope");
        if (!realm || (strncmp(realm, "https://", 8) != 0 && strncmp(realm, "http://", 7) != 0))
                return hd_error_set(err, -EACCES,
                                    "registry `%s` gave a bearer challenge without a usable realm",
                                    r->host);
        _cleanup_free_ char *default_scope = NULL;
        if (!scope && asprintf(&default_scope, "repository:%s:pull", r->repo) < 0)
                return hd_error_set(err, -ENOMEM, "out of memory");
        _cleanup_free_ char *url = strdup(realm);
        url = add_query(r->curl, url, "service", service);
        url = add_query(r->curl, url, "scope", scope ? scope : default_scope);
        if (!url)
                return hd_error_set(err, -ENOMEM, "out of memory");

        Resp p = { .max = SMALL_BODY_MAX };
        CURLcode rc = perform(r, url, NULL, false, r->username, r->password, &p);
        int ret = 0;
        if (rc != CURLE_OK) {
                ret = curl_error(r, rc, realm, err);
        } else if (p.status == 401 || p.status == 403) {
                ret = hd_error_set(err, -EACCES, "token server `%.300s` refused the %s", realm,
                                   r->username ? "credentials" : "anonymous request");
        } else if (p.status < 200 || p.status >= 300) {
                ret = hd_error_set(err, -EACCES, "token server `%.300s` answered HTTP %ld", realm,
                                   p.status);
        } else {
                json_error_t jerr;
                _cleanup_json_ json_t *j = p.buf ? json_loadb(p.buf, p.len, 0, &jerr) : NULL;
                const char *token = json_string_value(json_object_get(j, "token"));
                if (!token)
                        token = json_string_value(json_object_get(j, "access_token"));
                free(r->bearer);
                r->bearer = NULL;
                if (!token || strpbrk(token, "\r\n"))
                        ret = hd_error_set(err, -EACCES, "token server `%.300s` gave no token",
                                           realm);
                else if (asprintf(&r->bearer, "Authorization: Bearer %s", token) < 0)
                        ret = hd_error_set(err, -ENOMEM, "out of memory");
        }
        resp_reset(&p);
        return ret;
}

/* The first message of a registry's error body, or "". */
static const char *registry_message(const Resp *p, char *buf, size_t size)
{
        buf[0] = '\0';
        if (!p->buf)
                return buf;
        json_error_t jerr;
        _cleanup_json_ json_t *j = json_loadb(p->buf, p->len, 0, &jerr);
        json_t *e = json_array_get(json_object_get(j, "errors"), 0);
        const char *code = json_string_value(json_object_get(e, "code"));
        const char *msg = json_string_value(json_object_get(e, "message"));
        if (code || msg)
                snprintf(buf, size, ": %s%s%s", code ? code : "", code && msg ? " " : "",
                         msg ? msg : "");
        return buf;
}

/* The URL of target: a path under /v2/<repo>/, an absolute path on the registry, or a
 * whole URL (an upload's Location). */
static char *make_url(HdImgRegistry *r, const char *target)
{
        char *url = NULL;
        int n;
        if (strncmp(target, "https://", 8) == 0 || strncmp(target, "http://", 7) == 0)
                n = asprintf(&url, "%s", target);
        else if (target[0] == '/')
                n = asprintf(&url, "%s://%s%s", r->scheme, r->host, target);
        else
                n = asprintf(&url, "%s://%s/v2/%s/%s", r->scheme, r->host, r->repo, target);
        return n < 0 ? NULL : url;
}

/* Sends q (NULL: a plain GET) to target into p, answering an auth challenge once and
 * falling back to plain http when that is allowed. */
static int request(HdImgRegistry *r, const char *target, Req *q, const char *what, Resp *p,
                   HdError **err)
{
        bool challenged = false;
        for (;;) {
                _cleanup_free_ char *url = make_url(r, target);
                if (!url)
                        return hd_error_set(err, -ENOMEM, "out of memory");
                resp_reset(p);
                CURLcode rc =
                        perform(r, url, q, true, r->basic ? r->username : NULL, r->password, p);
                if (p->wr < 0) {
                        if (p->wr == -EBADMSG)
                                return hd_error_set_field(
                                        err, -EBADMSG, "body",
                                        "%s is not what its descriptor says: %s", what,
                                        p->werr && p->werr->message ? p->werr->message
                                                                    : "too large");
                        if (!p->werr)
                                return hd_error_set(err, p->wr, "%s: %s", what, strerror(-p->wr));
                        hd_error_wrap(&p->werr, "%s", what);
                        return hd_error_propagate(err, &p->werr);
                }
                if (rc == CURLE_WRITE_ERROR && p->too_big)
                        return hd_error_set_field(err, -EBADMSG, "body",
                                                  "%s is larger than %zu bytes", what, p->max);
                if (rc != CURLE_OK) {
                        if (!r->scheme_known && !r->tls_verify && strcmp(r->scheme, "https") == 0 &&
                            rc != CURLE_ABORTED_BY_CALLBACK) {
                                r->scheme = "http";
                                continue;
                        }
                        return curl_error(r, rc, url, err);
                }
                r->scheme_known = true;
                if (p->status == 401 && !challenged) {
                        challenged = true;
                        int ret = authenticate(r, p->www_auth, err);
                        if (ret < 0)
                                return ret;
                        continue;
                }
                break;
        }
        char msg[512];
        if (p->status >= 200 && p->status < 300)
                return 0;
        if (p->status == 404)
                return hd_error_set(err, -ENOENT, "%s not found in `%s/%s`%s", what, r->host,
                                    r->repo, registry_message(p, msg, sizeof(msg)));
        if (p->status == 401 || p->status == 403)
                return hd_error_set(err, -EACCES, "registry `%s` refused access to `%s`%s", r->host,
                                    r->repo, registry_message(p, msg, sizeof(msg)));
        return hd_error_set(err, -EIO, "registry `%s` answered HTTP %ld for %s%s", r->host,
                            p->status, what, registry_message(p, msg, sizeof(msg)));
}

int hd_img_registry_get_manifest(HdImgRegistry *r, const char *reference, char **ret_body,
                                 size_t *ret_len, char **ret_media_type, HdError **err)
{
        _cleanup_free_ char *path = NULL, *what = NULL;
        if (asprintf(&path, "manifests/%s", reference) < 0 ||
            asprintf(&what, "manifest `%s`", reference) < 0)
                return hd_error_set(err, -ENOMEM, "out of memory");
        Resp p = { .max = MANIFEST_MAX };
        Req q = { .accept = "Accept: " MT_OCI_MANIFEST ", " MT_OCI_INDEX ", " MT_DOCKER_MANIFEST
                            ", " MT_DOCKER_LIST };
        int ret = request(r, path, &q, what, &p, err);
        if (ret >= 0) {
                if (!p.buf && !(p.buf = strdup("")))
                        ret = hd_error_set(err, -ENOMEM, "out of memory");
        }
        if (ret >= 0) {
                if (p.content_type) {
                        /* Drop parameters (…; charset=utf-8). */
                        p.content_type[strcspn(p.content_type, "; ")] = '\0';
                }
                *ret_body = TAKE_PTR(p.buf);
                *ret_len = p.len;
                if (ret_media_type)
                        *ret_media_type = TAKE_PTR(p.content_type);
        }
        resp_reset(&p);
        return ret;
}

int hd_img_registry_get_blob(HdImgRegistry *r, const char *digest, HdImgBlobWriter *w,
                             void (*progress)(int64_t done, void *ud), void *ud, HdError **err)
{
        _cleanup_free_ char *path = NULL, *what = NULL;
        if (asprintf(&path, "blobs/%s", digest) < 0 || asprintf(&what, "blob `%s`", digest) < 0)
                return hd_error_set(err, -ENOMEM, "out of memory");
        Resp p = { .max = SMALL_BODY_MAX, .w = w, .progress = progress, .ud = ud };
        int ret = request(r, path, NULL, what, &p, err);
        resp_reset(&p);
        return ret;
}

/* ---- uploads ---------------------------------------------------------------------------- */

int hd_img_registry_has_blob(HdImgRegistry *r, const char *digest, int64_t size, bool *ret,
                             HdError **err)
{
        _cleanup_free_ char *path = NULL, *what = NULL;
        if (asprintf(&path, "blobs/%s", digest) < 0 || asprintf(&what, "blob `%s`", digest) < 0)
                return hd_error_set(err, -ENOMEM, "out of memory");
        Resp p = { .max = SMALL_BODY_MAX };
        Req q = { .method = "HEAD" };
        _cleanup_error_ HdError *e = NULL;
        int r2 = request(r, path, &q, what, &p, &e);
        resp_reset(&p);
        (void)size;
        if (r2 == -ENOENT) {
                *ret = false;
                return 0;
        }
        if (r2 < 0)
                return hd_error_propagate(err, &e);
        *ret = true;
        return 0;
}

int hd_img_registry_put_blob(HdImgRegistry *r, const char *digest, int fd, int64_t size,
                             void (*progress)(int64_t done, void *ud), void *ud, HdError **err)
{
        _cleanup_free_ char *what = NULL;
        if (asprintf(&what, "upload of blob `%s`", digest) < 0)
                return hd_error_set(err, -ENOMEM, "out of memory");
        /* POST starts an upload session; one PUT with ?digest= sends it whole (a monolithic
         * upload, which every registry takes, and the registry checks the digest). */
        Resp p = { .max = SMALL_BODY_MAX };
        Req start = { .method = "POST", .data = "", .size = 0 };
        int ret = request(r, "blobs/uploads/", &start, what, &p, err);
        if (ret >= 0 && p.status != 202)
                ret = hd_error_set(err, -EIO, "registry `%s` answered HTTP %ld to starting the %s",
                                   r->host, p.status, what);
        if (ret >= 0 && (!p.location || !*p.location))
                ret = hd_error_set(err, -EIO, "registry `%s` gave no location for the %s", r->host,
                                   what);
        _cleanup_free_ char *target = NULL;
        if (ret >= 0) {
                char *esc = curl_easy_escape(r->curl, digest, 0);
                if (!esc || asprintf(&target, "%s%sdigest=%s", p.location,
                                     strchr(p.location, '?') ? "&" : "?", esc) < 0)
                        ret = hd_error_set(err, -ENOMEM, "out of memory");
                curl_free(esc);
        }
        resp_reset(&p);
        if (ret < 0)
                return ret;
        Req put = { .method = "PUT",
                    .content_type = "application/octet-stream",
                    .fd = fd,
                    .size = size,
                    .progress = progress,
                    .ud = ud };
        ret = request(r, target, &put, what, &p, err);
        if (ret >= 0 && p.status != 201)
                ret = hd_error_set(err, -EIO, "registry `%s` answered HTTP %ld to the %s", r->host,
                                   p.status, what);
        if (ret >= 0 && p.content_digest && strcmp(p.content_digest, digest) != 0)
                ret = hd_error_set(err, -EBADMSG, "registry `%s` stored the %s as `%.100s`",
                                   r->host, what, p.content_digest);
        resp_reset(&p);
        return ret;
}

int hd_img_registry_put_manifest(HdImgRegistry *r, const char *reference, const char *media_type,
                                 const char *body, size_t len, const char *digest, HdError **err)
{
        _cleanup_free_ char *path = NULL, *what = NULL;
        if (asprintf(&path, "manifests/%s", reference) < 0 ||
            asprintf(&what, "manifest `%s`", reference) < 0)
                return hd_error_set(err, -ENOMEM, "out of memory");
        Resp p = { .max = SMALL_BODY_MAX };
        Req q = { .method = "PUT", .content_type = media_type, .data = body, .size = (int64_t)len };
        int ret = request(r, path, &q, what, &p, err);
        if (ret >= 0 && p.status != 201 && p.status != 200)
                ret = hd_error_set(err, -EIO, "registry `%s` answered HTTP %ld to the %s", r->host,
                                   p.status, what);
        if (ret >= 0 && p.content_digest && strcmp(p.content_digest, digest) != 0)
                ret = hd_error_set(err, -EBADMSG, "registry `%s` stored %s as `%.100s`, not `%s`",
                                   r->host, what, p.content_digest, digest);
        resp_reset(&p);
        return ret;
}
