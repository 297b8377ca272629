/* Replays fuzz inputs without libFuzzer: runs LLVMFuzzerTestOneInput over every
 * file named on the command line, and every regular file in every directory
 * named there, so a corpus runs as an ordinary test. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hd-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Large enough for any seed; libFuzzer's own default -max_len is far smaller. */
#define REPLAY_MAX_INPUT (16 * 1024 * 1024)

static int run_file(const char *path)
{
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        int r = hd_read_file(path, REPLAY_MAX_INPUT, &data, &len);
        if (r < 0) {
                fprintf(stderr, "%s: %s\n", path, strerror(-r));
                return r;
        }
        /* a private copy of exactly len bytes, so ASan sees reads past the end */
        _cleanup_free_ uint8_t *copy = malloc(len ? len : 1);
        if (!copy)
                return -ENOMEM;
        memcpy(copy, data, len);
        LLVMFuzzerTestOneInput(copy, len);
        return 0;
}

static int cmp(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_dir(const char *path, int *count)
{
        DIR *d = opendir(path);
        if (!d) {
                fprintf(stderr, "%s: %s\n", path, strerror(errno));
                return -errno;
        }
        char **names = NULL;
        size_t n = 0;
        int r = 0;
        for (struct dirent *de; (de = readdir(d));) {
                if (de->d_name[0] == '.')
                        continue;
                char **nn = realloc(names, (n + 1) * sizeof(*names));
                if (!nn) {
                        r = -ENOMEM;
                        break;
                }
                names = nn;
                if (asprintf(&names[n], "%s/%s", path, de->d_name) < 0) {
                        r = -ENOMEM;
                        break;
                }
                n++;
        }
        closedir(d);
        /* a stable order makes a failing replay reproducible */
        if (n)
                qsort(names, n, sizeof(*names), cmp);
        for (size_t i = 0; i < n; i++) {
                struct stat st;
                if (r >= 0 && stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
                        r = run_file(names[i]);
                        (*count)++;
                }
                free(names[i]);
        }
        free(names);
        return r;
}

int main(int argc, char **argv)
{
        int count = 0;
        if (argc < 2) {
                fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
                return EXIT_FAILURE;
        }
        for (int i = 1; i < argc; i++) {
                struct stat st;
                if (stat(argv[i], &st) < 0) {
                        fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
                        return EXIT_FAILURE;
                }
                int r = S_ISDIR(st.st_mode) ? run_dir(argv[i], &count) : run_file(argv[i]);
                if (!S_ISDIR(st.st_mode) && r >= 0)
                        count++;
                if (r < 0)
                        return EXIT_FAILURE;
        }
        if (count == 0) {
                fprintf(stderr, "no inputs found\n");
                return EXIT_FAILURE;
        }
        printf("%d inputs ran\n", count);
        return EXIT_SUCCESS;
}
