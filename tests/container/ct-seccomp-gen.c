/* Writes hostd's default seccomp program (hd_ct_seccomp_build) to a file, as the
 * container driver does for each monitor to read: the integration test's stand-in
 * for hostd. usage: ct-seccomp-gen FILE */
#include <stdio.h>
#include <string.h>

#include "ct-security.h"
#include "hd-util.h"

int main(int argc, char **argv)
{
        if (argc != 2) {
                fprintf(stderr, "usage: ct-seccomp-gen FILE\n");
                return 2;
        }
        _cleanup_error_ HdError *err = NULL;
        _cleanup_free_ void *prog = NULL;
        size_t len = 0;
        int r = hd_ct_seccomp_build(&prog, &len, &err);
        if (r < 0) {
                fprintf(stderr, "ct-seccomp-gen: %s\n",
                        err && err->message ? err->message : strerror(-r));
                return 1;
        }
        r = hd_write_file_atomic(argv[1], prog, len, 0644);
        if (r < 0) {
                fprintf(stderr, "ct-seccomp-gen: write `%s`: %s\n", argv[1], strerror(-r));
                return 1;
        }
        return 0;
}
