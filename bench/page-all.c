/* page-all: times listing every instance through GET /v1/instances in pages,
 * following the `next` cursor, over one kept-alive connection (one libcurl
 * handle), as bench/scale.sh needs.
 *
 *   page-all (--socket PATH | --url http://HOST:PORT --token-file F)
 *            [--limit 500] [--repeat 5] [--expect N]
 *
 * First an untimed pass parses every page fully with jansson and counts the
 * instances (checked against --expect when given) and how long client-side
 * parsing takes. Then --repeat timed passes fetch every page and read only the
 * `next` cursor (the last key of the top-level object), so the timings are the
 * server's cost plus transport, not the client's JSON parsing.
 *
 * Prints one line per pass and a final machine-readable line:
 *   RESULT instances=N pages=P bytes=B min_ms=.. median_ms=.. max_ms=.. parse_ms=..
 */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct Buf {
        char *data;
        size_t len, cap;
} Buf;

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
        Buf *b = userdata;
        size_t n = size * nmemb;
        if (b->len + n + 1 > b->cap) {
                size_t cap = b->cap ? b->cap : 1 << 20;
                while (cap < b->len + n + 1)
                        cap *= 2;
                char *d = realloc(b->data, cap);
                if (!d)
                        return 0;
                b->data = d;
                b->cap = cap;
        }
        memcpy(b->data + b->len, ptr, n);
        b->len += n;
        b->data[b->len] = '\0';
        return n;
}

static double now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The top-level "next" is the last key hostd writes; a `"next":` inside an
 * instance (a label key) always comes earlier, and one inside a string value
 * would have its quotes escaped. Returns a malloc'd cursor, or NULL for
 * null; sets *bad when the page has no readable cursor. */
static char *find_next(const Buf *b, bool *bad)
{
        const char *key = "\"next\":";
        size_t klen = strlen(key);
        if (!b->data) {
                *bad = true;
                return NULL;
        }
        const char *p = NULL;
        for (size_t i = b->len >= klen ? b->len - klen + 1 : 0; i-- > 0;)
                if (memcmp(b->data + i, key, klen) == 0) {
                        p = b->data + i;
                        break;
                }
        *bad = false;
        if (!p) {
                *bad = true;
                return NULL;
        }
        p += strlen(key);
        const char *end = strrchr(p, '}');
        if (!end) {
                *bad = true;
                return NULL;
        }
        json_error_t jerr;
        json_t *v = json_loadb(p, (size_t)(end - p), JSON_DECODE_ANY, &jerr);
        char *ret = NULL;
        if (json_is_string(v))
                ret = strdup(json_string_value(v));
        else if (!json_is_null(v))
                *bad = true;
        json_decref(v);
        return ret;
}

typedef struct Pass {
        long instances, pages;
        size_t bytes;
        double ms, parse_ms;
} Pass;

static int run_pass(CURL *c, const char *base, long limit, bool parse, Pass *out)
{
        Buf b = { 0 };
        char *cursor = NULL;
        char url[4096];
        memset(out, 0, sizeof(*out));
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
        double t0 = now_ms();
        for (;;) {
                if (cursor) {
                        char *esc = curl_easy_escape(c, cursor, 0);
                        snprintf(url, sizeof(url), "%s/v1/instances?limit=%ld&after=%s", base,
                                 limit, esc ? esc : "");
                        curl_free(esc);
                } else {
                        snprintf(url, sizeof(url), "%s/v1/instances?limit=%ld", base, limit);
                }
                b.len = 0;
                curl_easy_setopt(c, CURLOPT_URL, url);
                CURLcode cr = curl_easy_perform(c);
                long status = 0;
                curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
                if (cr != CURLE_OK || status != 200) {
                        fprintf(stderr, "page-all: GET %s: %s, HTTP %ld: %.300s\n", url,
                                curl_easy_strerror(cr), status, b.data ? b.data : "");
                        free(cursor);
                        free(b.data);
                        return -1;
                }
                out->pages++;
                out->bytes += b.len;
                if (parse) {
                        double p0 = now_ms();
                        json_error_t jerr;
                        json_t *doc = json_loadb(b.data, b.len, 0, &jerr);
                        json_t *arr = json_object_get(doc, "instances");
                        if (!json_is_array(arr)) {
                                fprintf(stderr, "page-all: page %ld is not an InstanceList: %s\n",
                                        out->pages, jerr.text);
                                json_decref(doc);
                                free(cursor);
                                free(b.data);
                                return -1;
                        }
                        out->instances += (long)json_array_size(arr);
                        json_decref(doc);
                        out->parse_ms += now_ms() - p0;
                }
                bool bad;
                free(cursor);
                cursor = find_next(&b, &bad);
                if (bad) {
                        fprintf(stderr, "page-all: page %ld has no readable `next`\n", out->pages);
                        free(b.data);
                        return -1;
                }
                if (!cursor)
                        break;
        }
        out->ms = now_ms() - t0;
        free(b.data);
        return 0;
}

static int cmp_double(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;
        return (x > y) - (x < y);
}

static void usage(FILE *f)
{
        fprintf(f, "usage: page-all (--socket PATH | --url http://HOST:PORT --token-file F)\n"
                   "                [--limit 500] [--repeat 5] [--expect N]\n");
}

int main(int argc, char **argv)
{
        const char *sock = NULL, *url = NULL, *token_file = NULL;
        long limit = 500, repeat = 5, expect = -1;
        for (int i = 1; i < argc; i++) {
                const char *a = argv[i];
                const char *v = i + 1 < argc ? argv[i + 1] : NULL;
                if (strcmp(a, "--help") == 0) {
                        usage(stdout);
                        return 0;
                }
                if (!v) {
                        usage(stderr);
                        return 2;
                }
                i++;
                if (strcmp(a, "--socket") == 0)
                        sock = v;
                else if (strcmp(a, "--url") == 0)
                        url = v;
                else if (strcmp(a, "--token-file") == 0)
                        token_file = v;
                else if (strcmp(a, "--limit") == 0)
                        limit = strtol(v, NULL, 10);
                else if (strcmp(a, "--repeat") == 0)
                        repeat = strtol(v, NULL, 10);
                else if (strcmp(a, "--expect") == 0)
                        expect = strtol(v, NULL, 10);
                else {
                        usage(stderr);
                        return 2;
                }
        }
        if (!!sock == !!url || (url && !token_file) || limit < 1 || repeat < 1 || repeat > 1000) {
                usage(stderr);
                return 2;
        }

        curl_global_init(CURL_GLOBAL_DEFAULT);
        CURL *c = curl_easy_init();
        if (!c)
                return 1;
        struct curl_slist *hdrs = NULL;
        if (url) {
                FILE *f = fopen(token_file, "r");
                char tok[512] = "";
                if (!f || !fgets(tok, sizeof(tok), f)) {
                        fprintf(stderr, "page-all: cannot read %s: %s\n", token_file,
                                strerror(errno));
                        return 1;
                }
                fclose(f);
                tok[strcspn(tok, "\r\n")] = '\0';
                char h[600];
                snprintf(h, sizeof(h), "Authorization: Bearer %s", tok);
                hdrs = curl_slist_append(hdrs, h);
                curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
        } else {
                curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock);
        }
        const char *base = url ? url : "http://localhost";
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
        curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);

        Pass first;
        if (run_pass(c, base, limit, true, &first) < 0)
                return 1;
        printf("verify pass: %ld instances in %ld pages, %zu bytes, %.1f ms "
               "(of which %.1f ms client-side JSON parsing)\n",
               first.instances, first.pages, first.bytes, first.ms, first.parse_ms);
        if (expect >= 0 && first.instances != expect) {
                fprintf(stderr, "page-all: expected %ld instances, listed %ld\n", expect,
                        first.instances);
                return 1;
        }

        double *ms = calloc((size_t)repeat, sizeof(double));
        if (!ms)
                return 1;
        for (long r = 0; r < repeat; r++) {
                Pass p;
                if (run_pass(c, base, limit, false, &p) < 0)
                        return 1;
                if (p.pages != first.pages) {
                        fprintf(stderr, "page-all: pass %ld saw %ld pages, not %ld\n", r + 1,
                                p.pages, first.pages);
                        return 1;
                }
                ms[r] = p.ms;
                printf("pass %ld: %ld pages, %zu bytes, %.1f ms\n", r + 1, p.pages, p.bytes, p.ms);
        }
        qsort(ms, (size_t)repeat, sizeof(double), cmp_double);
        double median = repeat % 2 ? ms[repeat / 2] : (ms[repeat / 2 - 1] + ms[repeat / 2]) / 2;
        printf("RESULT instances=%ld pages=%ld bytes=%zu min_ms=%.1f median_ms=%.1f max_ms=%.1f "
               "parse_ms=%.1f\n",
               first.instances, first.pages, first.bytes, ms[0], median, ms[repeat - 1],
               first.parse_ms);
        free(ms);
        curl_slist_free_all(hdrs);
        curl_easy_cleanup(c);
        curl_global_cleanup();
        return 0;
}
