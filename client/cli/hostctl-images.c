/* hostctl: `image ls|import|show|rm|prune`, the images API. */
#include "hostctl.h"

#include <inttypes.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

enum {
        OPT_KIND = 256,
        OPT_NAME,
        OPT_TAG,
        OPT_FORMAT,
        OPT_INSECURE,
        OPT_USERNAME,
        OPT_PASSWORD_FILE,
};

/* Width of the bar of `import` on a terminal, in characters. */
#define HOSTCTL_BAR_WIDTH 30

/* ---- Helpers ------------------------------------------------------------------------- */

static const char *hostctl_image_str(const json_t *obj, const char *key)
{
        return json_string_value(json_object_get(obj, key));
}

/* "sha256:0123456789abcdef…" → "0123456789ab", as docker shows image IDs. */
static const char *hostctl_short_digest(const char *digest, char *buf, size_t size)
{
        if (!digest)
                return NULL;
        const char *colon = strchr(digest, ':');
        snprintf(buf, size, "%.12s", colon ? colon + 1 : digest);
        return buf;
}

static void hostctl_print_images(const json_t *images)
{
        static const char *const headers[] = { "NAME", "TAG",    "KIND",   "FORMAT",
                                               "SIZE", "DIGEST", "CREATED" };
        _cleanup_(hostctl_table_freep) HostctlTable *t = hostctl_table_new(7, headers);
        size_t i;
        json_t *img;

        if (!t)
                return;
        json_array_foreach (images, i, img) {
                const json_t *size = json_object_get(img, "size");
                char size_s[32], digest_s[16];

                hostctl_table_add(t, (const char *const[]){
                                             hostctl_image_str(img, "name"),
                                             hostctl_image_str(img, "tag"),
                                             hostctl_image_str(img, "kind"),
                                             hostctl_image_str(img, "format"),
                                             json_is_integer(size)
                                                     ? hostctl_bytes(json_integer_value(size),
                                                                     size_s, sizeof(size_s))
                                                     : NULL,
                                             hostctl_short_digest(hostctl_image_str(img, "digest"),
                                                                  digest_s, sizeof(digest_s)),
                                             hostctl_image_str(img, "created_at"),
                                     });
        }
        hostctl_table_print(t, stdout);
}

/* An Image as "key: value" lines, then its layers as a table. */
static void hostctl_print_image(Hostctl *ctl, const json_t *img)
{
        _cleanup_json_ json_t *top = NULL;
        const json_t *layers = json_object_get(img, "layers");
        size_t i;
        json_t *l;

        if (ctl->output == HOSTCTL_OUTPUT_JSON || !json_is_array(layers)) {
                hostctl_print_object(ctl, img);
                return;
        }
        top = json_copy((json_t *)img);
        if (!top || json_object_del(top, "layers") < 0) {
                hostctl_print_object(ctl, img);
                return;
        }
        hostctl_print_kv(top);
        if (json_array_size(layers) == 0)
                return;

        static const char *const headers[] = { "LAYER", "SIZE", "DIFF_ID", "MEDIA_TYPE" };
        _cleanup_(hostctl_table_freep) HostctlTable *t = hostctl_table_new(4, headers);
        if (!t)
                return;
        json_array_foreach (layers, i, l) {
                const json_t *size = json_object_get(l, "size");
                char size_s[32], digest_s[16], diff_s[16];
                hostctl_table_add(t, (const char *const[]){
                                             hostctl_short_digest(hostctl_image_str(l, "digest"),
                                                                  digest_s, sizeof(digest_s)),
                                             json_is_integer(size)
                                                     ? hostctl_bytes(json_integer_value(size),
                                                                     size_s, sizeof(size_s))
                                                     : NULL,
                                             hostctl_short_digest(hostctl_image_str(l, "diff_id"),
                                                                  diff_s, sizeof(diff_s)),
                                             hostctl_image_str(l, "media_type"),
                                     });
        }
        fputc('\n', stdout);
        hostctl_table_print(t, stdout);
}

/* ---- ls, show, rm, prune ------------------------------------------------------------- */

static int hostctl_image_ls(Hostctl *ctl, int argc, char **argv)
{
        static const struct option options[] = {
                { "kind", required_argument, NULL, OPT_KIND },
                HOSTCTL_COMMON_OPTIONS,
                {},
        };
        _cleanup_json_ json_t *list = NULL;
        const char *kind = NULL;
        HcError err;
        int c, r;

        while ((c = hostctl_getopt(ctl, argc, argv, options)) != -1) {
                if (c != OPT_KIND)
                        return c - HOSTCTL_OPT_STOP;
                kind = optarg;
        }
        r = hostctl_positional(argc, argv, 0, 0, NULL);
        if (r >= 0)
                return r;
        if (!hostctl_client(ctl))
                return HOSTCTL_EXIT_ERROR;
        if (hc_image_list(ctl->client, kind, &list, &err) < 0)
                return hostctl_api_error(&err, NULL);
        return hostctl_print_list(ctl, list, "images", hostctl_print_images);
}

static int hostctl_image_show(Hostctl *ctl, int argc, char **argv)
{
        _cleanup_json_ json_t *img = NULL;
        HcError err;
        int r = hostctl_only_common_options(ctl, argc, argv, 1, 1, "image REF");
        if (r >= 0)
                return r;
        if (!hostctl_client(ctl))
                return HOSTCTL_EXIT_ERROR;
        if (hc_image_get(ctl->client, argv[optind], &img, &err) < 0)
                return hostctl_api_error(&err, NULL);
        hostctl_print_image(ctl, img);
        return HOSTCTL_EXIT_OK;
}

static int hostctl_image_rm(Hostctl *ctl, int argc, char **argv)
{
        _cleanup_json_ json_t *img = NULL;
        HcError err;
        int r = hostctl_only_common_options(ctl, argc, argv, 1, 1, "image REF");
        if (r >= 0)
                return r;
        if (!hostctl_client(ctl))
                return HOSTCTL_EXIT_ERROR;
        if (hc_image_delete(ctl->client, argv[optind], &img, &err) < 0)
                return hostctl_api_error(&err, NULL);
        if (ctl->output == HOSTCTL_OUTPUT_JSON) {
                hostctl_print_json(img);
        } else {
                const char *ref = hostctl_image_str(img, "ref");
                printf("deleted %s\n", ref ? ref : argv[optind]);
        }
        return HOSTCTL_EXIT_OK;
}

static int hostctl_image_prune(Hostctl *ctl, int argc, char **argv)
{
        _cleanup_json_ json_t *res = NULL;
        HcError err;
        char freed[32];
        int r = hostctl_only_common_options(ctl, argc, argv, 0, 0, NULL);
        if (r >= 0)
                return r;
        if (!hostctl_client(ctl))
                return HOSTCTL_EXIT_ERROR;
        if (hc_image_prune(ctl->client, &res, &err) < 0)
                return hostctl_api_error(&err, NULL);
        if (ctl->output == HOSTCTL_OUTPUT_JSON) {
                hostctl_print_json(res);
                return HOSTCTL_EXIT_OK;
        }
        printf("removed %" JSON_INTEGER_FORMAT " layers and %" JSON_INTEGER_FORMAT
               " blobs, freed %s\n",
               json_integer_value(json_object_get(res, "layers_removed")),
               json_integer_value(json_object_get(res, "blobs_removed")),
               hostctl_bytes(json_integer_value(json_object_get(res, "bytes_freed")), freed,
                             sizeof(freed)));
        return HOSTCTL_EXIT_OK;
}

/* The first line of path, for --password-file. */
static int hostctl_read_password(const char *path, char **ret)
{
        FILE *f = fopen(path, "re");
        size_t cap = 0;
        ssize_t n = f ? getline(ret, &cap, f) : -1;
        if (f)
                fclose(f);
        if (n < 0) {
                fprintf(stderr, "hostctl: cannot read `%s`\n", path);
                return -1;
        }
        (*ret)[strcspn(*ret, "\r\n")] = '\0';
        return 0;
}

/* The registry options pulls and pushes share: 1 when c was one of them, 0 when not,
 * -1 on error. The password read from a file lands in *password_buf. */
typedef struct HostctlRegistryOpts {
        bool tls_verify;
        const char *username;
        const char *password;
        char *password_buf;
} HostctlRegistryOpts;

static int hostctl_registry_opt(int c, HostctlRegistryOpts *o)
{
        switch (c) {
        case OPT_INSECURE:
                o->tls_verify = false;
                return 1;
        case OPT_USERNAME:
                o->username = optarg;
                return 1;
        case OPT_PASSWORD_FILE:
                free(o->password_buf);
                o->password_buf = NULL;
                if (hostctl_read_password(optarg, &o->password_buf) < 0)
                        return -1;
                o->password = o->password_buf;
                return 1;
        default:
                return 0;
        }
}

static void hostctl_registry_opts_clear(HostctlRegistryOpts *o)
{
        free(o->password_buf);
}

/* ---- progress ------------------------------------------------------------------------ */

typedef struct HostctlProgress {
        FILE *out;        /* stdout, or stderr when stdout carries the JSON answer */
        bool bar;         /* out is a terminal: one line redrawn with \r */
        const char *verb; /* "importing", "pulling", "pushing" */
        const char *what; /* "name:tag" */
        int last;         /* the last percentage (bar) or tenth (lines) shown; -1 none */
        int64_t last_bytes;
        bool drawn; /* a bar is on screen, to be ended with a newline */
} HostctlProgress;

static void hostctl_progress_bar(HostctlProgress *p, int64_t done, int64_t total)
{
        char done_s[32], total_s[32];

        if (total > 0) {
                int pct = (int)(done * 100 / total);
                int fill = (int)(done * HOSTCTL_BAR_WIDTH / total);
                if (pct == p->last)
                        return;
                p->last = pct;
                fprintf(p->out, "\r%s %s [", p->verb, p->what);
                for (int i = 0; i < HOSTCTL_BAR_WIDTH; i++)
                        fputc(i < fill ? '#' : '-', p->out);
                fprintf(p->out, "] %3d%% %s/%s\033[K", pct,
                        hostctl_bytes(done, done_s, sizeof(done_s)),
                        hostctl_bytes(total, total_s, sizeof(total_s)));
        } else {
                /* Size unknown: redraw on each MiB. */
                if (done - p->last_bytes < 1024 * 1024 && p->drawn)
                        return;
                p->last_bytes = done;
                fprintf(p->out, "\r%s %s %s\033[K", p->verb, p->what,
                        hostctl_bytes(done, done_s, sizeof(done_s)));
        }
        p->drawn = true;
        fflush(p->out);
}

/* Not a terminal: a plain line at each 10% (each 100 MiB when the size is unknown). */
static void hostctl_progress_lines(HostctlProgress *p, int64_t done, int64_t total)
{
        char done_s[32], total_s[32];

        if (total > 0) {
                int tenth = (int)(done * 10 / total);
                if (tenth == p->last)
                        return;
                p->last = tenth;
                fprintf(p->out, "%s %s: %d%% (%s of %s)\n", p->verb, p->what, tenth * 10,
                        hostctl_bytes(done, done_s, sizeof(done_s)),
                        hostctl_bytes(total, total_s, sizeof(total_s)));
        } else {
                if (done - p->last_bytes < 100 * 1024 * 1024)
                        return;
                p->last_bytes = done;
                fprintf(p->out, "%s %s: %s\n", p->verb, p->what,
                        hostctl_bytes(done, done_s, sizeof(done_s)));
        }
        fflush(p->out);
}

static int hostctl_on_progress(int64_t done, int64_t total, void *userdata)
{
        HostctlProgress *p = userdata;
        if (p->bar)
                hostctl_progress_bar(p, done, total);
        else
                hostctl_progress_lines(p, done, total);
        return 0;
}

static void hostctl_progress_end(HostctlProgress *p)
{
        if (p->drawn) {
                fputc('\n', p->out);
                fflush(p->out);
                p->drawn = false;
        }
}

/* Progress goes where the answer goes, unless that is JSON for a program. */
static HostctlProgress hostctl_progress_start(Hostctl *ctl, const char *verb, const char *what)
{
        FILE *out = ctl->output == HOSTCTL_OUTPUT_JSON ? stderr : stdout;
        return (HostctlProgress){
                .out = out,
                .bar = isatty(fileno(out)) == 1,
                .verb = verb,
                .what = what,
                .last = -1,
        };
}

/* `image pull REF [--name N] [--tag T] [--insecure] [--username U --password-file F]` */
static int hostctl_image_pull(Hostctl *ctl, int argc, char **argv)
{
        static const struct option options[] = {
                { "name", required_argument, NULL, OPT_NAME },
                { "tag", required_argument, NULL, OPT_TAG },
                { "insecure", no_argument, NULL, OPT_INSECURE },
                { "username", required_argument, NULL, OPT_USERNAME },
                { "password-file", required_argument, NULL, OPT_PASSWORD_FILE },
                {},
        };
        HcImagePull p = { 0 };
        _cleanup_(hostctl_registry_opts_clear) HostctlRegistryOpts ro = { .tls_verify = true };
        int c, r;
        while ((c = hostctl_getopt(ctl, argc, argv, options)) != -1) {
                if (c == OPT_NAME)
                        p.name = optarg;
                else if (c == OPT_TAG)
                        p.tag = optarg;
                else if ((r = hostctl_registry_opt(c, &ro)) < 0)
                        return HOSTCTL_EXIT_ERROR;
                else if (r == 0)
                        return c - HOSTCTL_OPT_STOP;
        }
        p.tls_verify = ro.tls_verify;
        p.username = ro.username;
        p.password = ro.password;
        r = hostctl_positional(argc, argv, 1, 1, "image REF");
        if (r >= 0)
                return r;
        p.ref = argv[optind];
        if (!hostctl_client(ctl))
                return HOSTCTL_EXIT_ERROR;
        _cleanup_json_ json_t *img = NULL;
        HcError err;
        HostctlProgress pr = hostctl_progress_start(ctl, "pulling", p.ref);
        r = hc_image_pull(ctl->client, &p, hostctl_on_progress, &pr, &img, &err);
        hostctl_progress_end(&pr);
        if (r < 0)
                return hostctl_api_error(&err, NULL);
        hostctl_print_image(ctl, img);
        return HOSTCTL_EXIT_OK;
}

/* `image push IMAGE HOST/REPO[:TAG] [--insecure] [--username U --password-file F]` */
static int hostctl_image_push(Hostctl *ctl, int argc, char **argv)
{
        static const struct option options[] = {
                { "insecure", no_argument, NULL, OPT_INSECURE },
                { "username", required_argument, NULL, OPT_USERNAME },
                { "password-file", required_argument, NULL, OPT_PASSWORD_FILE },
                {},
        };
        _cleanup_(hostctl_registry_opts_clear) HostctlRegistryOpts ro = { .tls_verify = true };
        int c, r;
        while ((c = hostctl_getopt(ctl, argc, argv, options)) != -1) {
                if ((r = hostctl_registry_opt(c, &ro)) < 0)
                        return HOSTCTL_EXIT_ERROR;
                if (r == 0)
                        return c - HOSTCTL_OPT_STOP;
        }
        HcImagePush p = { .tls_verify = ro.tls_verify,
                          .username = ro.username,
                          .password = ro.password };
        r = hostctl_positional(argc, argv, 2, 2, "image IMAGE HOST/REPO[:TAG]");
        if (r >= 0)
                return r;
        const char *image = argv[optind];
        p.ref = argv[optind + 1];
        if (!hostctl_client(ctl))
                return HOSTCTL_EXIT_ERROR;
        _cleanup_json_ json_t *op = NULL, *img = NULL;
        HcError err;
        HostctlProgress pr = hostctl_progress_start(ctl, "pushing", image);
        r = hc_image_push(ctl->client, image, &p, hostctl_on_progress, &pr, &op, &err);
        hostctl_progress_end(&pr);
        if (r < 0)
                return hostctl_api_error(&err, NULL);
        if (ctl->output == HOSTCTL_OUTPUT_JSON) {
                hostctl_print_json(op);
                return HOSTCTL_EXIT_OK;
        }
        /* The manifest went as stored: the registry has the local image's digest. */
        if (hc_image_get(ctl->client, image, &img, &err) < 0)
                return hostctl_api_error(&err, NULL);
        printf("pushed %s to %s (%s)\n", image, p.ref,
               json_string_value(json_object_get(img, "digest")));
        return HOSTCTL_EXIT_OK;
}

/* `image export REF FILE`: FILE "-" is standard output. */
static int hostctl_image_export(Hostctl *ctl, int argc, char **argv)
{
        HcError err;
        int r = hostctl_only_common_options(ctl, argc, argv, 2, 2, "image REF FILE");
        if (r >= 0)
                return r;
        const char *ref = argv[optind], *path = argv[optind + 1];
        if (!hostctl_client(ctl))
                return HOSTCTL_EXIT_ERROR;
        bool to_stdout = strcmp(path, "-") == 0;
        int fd = to_stdout ? STDOUT_FILENO
                           : open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) {
                fprintf(stderr, "hostctl: cannot create `%s`: %s\n", path, strerror(errno));
                return HOSTCTL_EXIT_ERROR;
        }
        int64_t bytes = 0;
        r = hc_image_export(ctl->client, ref, fd, &bytes, &err);
        if (!to_stdout && close(fd) < 0 && r >= 0) {
                fprintf(stderr, "hostctl: writing `%s`: %s\n", path, strerror(errno));
                return HOSTCTL_EXIT_ERROR;
        }
        if (r < 0) {
                if (!to_stdout)
                        unlink(path);
                return hostctl_api_error(&err, NULL);
        }
        if (!to_stdout) {
                char size[32];
                fprintf(stderr, "exported %s to %s (%s)\n", ref, path,
                        hostctl_bytes(bytes, size, sizeof(size)));
        }
        return HOSTCTL_EXIT_OK;
}

/* ---- import -------------------------------------------------------------------------- */

static int hostctl_image_import(Hostctl *ctl, int argc, char **argv)
{
        static const struct option options[] = {
                { "name", required_argument, NULL, OPT_NAME },
                { "tag", required_argument, NULL, OPT_TAG },
                { "kind", required_argument, NULL, OPT_KIND },
                { "format", required_argument, NULL, OPT_FORMAT },
                HOSTCTL_COMMON_OPTIONS,
                {},
        };
        HcImageImport imp = { .fd = -1 };
        _cleanup_json_ json_t *img = NULL;
        _cleanup_free_ char *what = NULL;
        HcError err;
        int c, r;

        while ((c = hostctl_getopt(ctl, argc, argv, options)) != -1) {
                switch (c) {
                case OPT_NAME:
                        imp.name = optarg;
                        break;
                case OPT_TAG:
                        imp.tag = optarg;
                        break;
                case OPT_KIND:
                        imp.kind = optarg;
                        break;
                case OPT_FORMAT:
                        imp.format = optarg;
                        break;
                default:
                        return c - HOSTCTL_OPT_STOP;
                }
        }
        r = hostctl_positional(argc, argv, 1, 1, "image FILE");
        if (r >= 0)
                return r;
        if (!imp.name)
                return hostctl_usage_error("image import: --name is required");
        if (!imp.kind)
                return hostctl_usage_error("image import: --kind container|vm is required");
        if (!imp.format)
                return hostctl_usage_error(
                        "image import: --format is required (container: rootfs, oci-archive, "
                        "docker-archive; vm: qcow2, raw, kernel)");
        imp.path = argv[optind];
        if (asprintf(&what, "%s:%s", imp.name, imp.tag && *imp.tag ? imp.tag : "latest") < 0) {
                what = NULL;
                return hostctl_error("out of memory");
        }

        HostctlProgress p = hostctl_progress_start(ctl, "importing", what);
        if (!hostctl_client(ctl))
                return HOSTCTL_EXIT_ERROR;
        r = hc_image_import(ctl->client, &imp, hostctl_on_progress, &p, &img, &err);
        hostctl_progress_end(&p);
        if (r < 0)
                return hostctl_api_error(&err, NULL);
        hostctl_print_image(ctl, img);
        return HOSTCTL_EXIT_OK;
}

/* ---- Dispatch ------------------------------------------------------------------------ */

int hostctl_cmd_image(Hostctl *ctl, int argc, char **argv)
{
        static const HostctlSub subs[] = {
                { "ls", hostctl_image_ls },         { "list", hostctl_image_ls },
                { "import", hostctl_image_import }, { "show", hostctl_image_show },
                { "rm", hostctl_image_rm },         { "prune", hostctl_image_prune },
                { "export", hostctl_image_export }, { "pull", hostctl_image_pull },
                { "push", hostctl_image_push },
        };
        return hostctl_dispatch(ctl, argc, argv, subs, HD_ARRAY_SIZE(subs),
                                "ls, import, show, export, rm, prune, pull, push");
}
