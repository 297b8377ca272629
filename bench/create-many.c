/* create-many: creates exactly N instances through POST /v1/instances, from T
 * threads that each keep one connection (one libcurl handle), for
 * bench/scale.sh.
 *
 *   create-many --socket PATH --count N [--threads 8] [--prefix s] [--kind container]
 *               [--vcpus 0.1]
 *
 * Instance i (0-based) is named PREFIX-NNNNN with a minimal spec:
 *   {"name": "...", "kind": KIND, "image": "busybox", "resources": {"vcpus": VCPUS}}
 * (a small vcpus value keeps N instances within --cpu-overcommit's 1000 cap).
 * Every answer must be 201; the first failure stops all threads (exit 1).
 * Prints: RESULT created=N seconds=S per_second=R
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *sock, *prefix = "s", *kind = "container", *vcpus = "0.1";
static long count;
static atomic_long next_index, created;
static atomic_bool failed;

static size_t sink(char *ptr, size_t size, size_t nmemb, void *userdata)
{
        char *last = userdata; /* keep the start of the body for error messages */
        size_t n = size * nmemb;
        if (last[0] == '\0') {
                size_t k = n < 255 ? n : 255;
                memcpy(last, ptr, k);
                last[k] = '\0';
        }
        return n;
}

static void *worker(void *arg)
{
        CURL *c = curl_easy_init();
        if (!c) {
                atomic_store(&failed, true);
                return NULL;
        }
        char errbody[256];
        struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
        curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock);
        curl_easy_setopt(c, CURLOPT_URL, "http://localhost/v1/instances");
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, errbody);
        char body[256];
        for (;;) {
                if (atomic_load(&failed))
                        break;
                long i = atomic_fetch_add(&next_index, 1);
                if (i >= count)
                        break;
                snprintf(body, sizeof(body),
                         "{\"name\":\"%s-%05ld\",\"kind\":\"%s\",\"image\":\"busybox\","
                         "\"resources\":{\"vcpus\":%s}}",
                         prefix, i, kind, vcpus);
                errbody[0] = '\0';
                curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
                CURLcode cr = curl_easy_perform(c);
                long status = 0;
                curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
                if (cr != CURLE_OK || status != 201) {
                        fprintf(stderr, "create-many: POST %s: %s, HTTP %ld: %s\n", body,
                                curl_easy_strerror(cr), status, errbody);
                        atomic_store(&failed, true);
                        break;
                }
                atomic_fetch_add(&created, 1);
        }
        curl_slist_free_all(hdrs);
        curl_easy_cleanup(c);
        return NULL;
}

int main(int argc, char **argv)
{
        long threads = 8;
        for (int i = 1; i + 1 < argc; i += 2) {
                if (strcmp(argv[i], "--socket") == 0)
                        sock = argv[i + 1];
                else if (strcmp(argv[i], "--count") == 0)
                        count = strtol(argv[i + 1], NULL, 10);
                else if (strcmp(argv[i], "--threads") == 0)
                        threads = strtol(argv[i + 1], NULL, 10);
                else if (strcmp(argv[i], "--prefix") == 0)
                        prefix = argv[i + 1];
                else if (strcmp(argv[i], "--kind") == 0)
                        kind = argv[i + 1];
                else if (strcmp(argv[i], "--vcpus") == 0)
                        vcpus = argv[i + 1];
                else
                        sock = NULL; /* unknown option: fall through to usage */
        }
        if (!sock || count < 1 || threads < 1 || threads > 256 || argc % 2 == 0) {
                fprintf(stderr, "usage: create-many --socket PATH --count N [--threads 8] "
                                "[--prefix s] [--kind container] [--vcpus 0.1]\n");
                return 2;
        }

        curl_global_init(CURL_GLOBAL_DEFAULT);
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        pthread_t *tids = calloc((size_t)threads, sizeof(*tids));
        if (!tids)
                return 1;
        long started = 0;
        for (; started < threads; started++)
                if (pthread_create(&tids[started], NULL, worker, NULL) != 0)
                        break;
        for (long i = 0; i < started; i++)
                pthread_join(tids[i], NULL);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        free(tids);
        curl_global_cleanup();

        double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        long n = atomic_load(&created);
        printf("RESULT created=%ld seconds=%.2f per_second=%.0f\n", n, s, (double)n / s);
        return atomic_load(&failed) || n != count ? 1 : 0;
}
