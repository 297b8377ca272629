/* Tests for bench-render.c: the Markdown report and the SVG chart of a stored TCG run
 * compared byte for byte with the golden files in tests/data/bench/ (the SVG also
 * checked well-formed by xmllint when it is installed), the TCG warning, missing
 * figures, escaping, the comparison of two runs, and results of the wrong shape.
 * Run with HD_UPDATE_GOLDEN=1 to rewrite the golden files (then look at the diff, and at
 * the SVG, before keeping them). */
#include <check.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>

#include "bench-render.h"
#include "hd-json.h"
#include "hd-util.h"

extern char **environ;

#define GOLDEN_DIR HD_TEST_DATA_DIR "/bench"

/* ---- helpers --------------------------------------------------------------------- */

static json_t *load(const char *name)
{
        _cleanup_free_ char *path = NULL;
        ck_assert_int_ge(asprintf(&path, "%s/%s", GOLDEN_DIR, name), 0);
        json_error_t error;
        json_t *j = json_load_file(path, 0, &error);
        ck_assert_msg(j, "%s:%d: %s", path, error.line, error.text);
        return j;
}

/* The path to a dotted location in j (objects only), which must exist. */
static json_t *at(json_t *j, const char *path)
{
        _cleanup_free_ char *copy = strdup(path);
        ck_assert_ptr_nonnull(copy);
        char *save = NULL;
        for (char *k = strtok_r(copy, ".", &save); k; k = strtok_r(NULL, ".", &save)) {
                j = json_object_get(j, k);
                ck_assert_msg(j, "no %s in %s", k, path);
        }
        return j;
}

static void set_str(json_t *j, const char *obj_path, const char *key, const char *value)
{
        ck_assert_int_eq(json_object_set_new(at(j, obj_path), key, json_string(value)), 0);
}

static json_t *figure(json_t *result, const char *name)
{
        size_t i;
        json_t *fig;
        json_array_foreach (json_object_get(result, "figures"), i, fig) {
                if (strcmp(json_string_value(json_object_get(fig, "name")), name) == 0)
                        return fig;
        }
        ck_abort_msg("no figure %s", name);
        return NULL;
}

static char *find_tool(const char *name)
{
        const char *path = getenv("PATH");
        if (!path)
                return NULL;
        _cleanup_free_ char *copy = strdup(path);
        ck_assert_ptr_nonnull(copy);
        char *save = NULL;
        for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
                char *p = NULL;
                ck_assert_int_ge(asprintf(&p, "%s/%s", d, name), 0);
                if (access(p, X_OK) == 0)
                        return p;
                free(p);
        }
        return NULL;
}

/* xmllint --noout on stdin: the SVG must be well-formed XML whatever the input was. */
static void check_well_formed(const char *svg)
{
        _cleanup_free_ char *xmllint = find_tool("xmllint");
        if (!xmllint) {
                fprintf(stderr, "SKIP: xmllint not installed (libxml2-utils)\n");
                return;
        }
        int fds[2];
        ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, fds[0], 0);
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
        char *argv[] = { xmllint, (char *)"--noout", (char *)"-", NULL };
        pid_t pid;
        ck_assert_int_eq(posix_spawn(&pid, xmllint, &fa, NULL, argv, environ), 0);
        posix_spawn_file_actions_destroy(&fa);
        close(fds[0]);
        ck_assert_int_eq(hd_write_all(fds[1], svg, strlen(svg)), 0);
        close(fds[1]);
        int status;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "xmllint rejects:\n%s", svg);
}

/* Compares text with GOLDEN_DIR/name; on a mismatch leaves the output in /tmp and names
 * both files for diff. */
static void check_golden(const char *name, const char *text)
{
        _cleanup_free_ char *golden = NULL;
        ck_assert_int_ge(asprintf(&golden, "%s/%s", GOLDEN_DIR, name), 0);
        if (getenv("HD_UPDATE_GOLDEN")) {
                ck_assert_int_eq(hd_write_file_atomic(golden, text, strlen(text), 0644), 0);
                fprintf(stderr, "updated %s\n", golden);
        }
        _cleanup_free_ char *want = NULL;
        size_t want_len = 0;
        int r = hd_read_file(golden, 1 << 20, &want, &want_len);
        ck_assert_msg(r == 0, "cannot read %s: %s", golden, strerror(-r));
        if (want_len == strlen(text) && memcmp(want, text, want_len) == 0)
                return;

        size_t line = 1;
        for (size_t i = 0; i < want_len && text[i] && want[i] == text[i]; i++)
                if (text[i] == '\n')
                        line++;
        _cleanup_free_ char *actual = NULL;
        ck_assert_int_ge(asprintf(&actual, "/tmp/test-bench-render-%s", name), 0);
        (void)hd_write_file_atomic(actual, text, strlen(text), 0644);
        ck_abort_msg("%s differs from the golden file at line %zu:\n  diff -u %s %s", name, line,
                     golden, actual);
}

/* The line of text that contains needle (a copy), or NULL. */
static char *line_with(const char *text, const char *needle)
{
        const char *p = strstr(text, needle);
        if (!p)
                return NULL;
        const char *start = p, *end = strchr(p, '\n');
        while (start > text && start[-1] != '\n')
                start--;
        return strndup(start, end ? (size_t)(end - start) : strlen(start));
}

static double num_at(const json_t *j, const char *key)
{
        const json_t *v = json_object_get(j, key);
        ck_assert_msg(json_is_number(v), "%s is not a number", key);
        return json_number_value(v);
}

/* ---- rendering ------------------------------------------------------------------- */

START_TEST(test_golden)
{
        _cleanup_json_ json_t *r = load("result-tcg.json");
        _cleanup_free_ char *md = hd_bench_markdown(r);
        _cleanup_free_ char *svg = hd_bench_svg(r);
        ck_assert_ptr_nonnull(md);
        ck_assert_ptr_nonnull(svg);
        check_golden("result-tcg.md", md);
        check_golden("result-tcg.svg", svg);
        check_well_formed(svg);

        /* The measured table reads like the seeds' one. */
        ck_assert_ptr_nonnull(strstr(md, "| | VM | container | VM/container |\n"));
        ck_assert_ptr_nonnull(
                strstr(md, "| start time (start → ready, p50) | 3,124 ms | 15.3 ms | 204× |\n"));
        ck_assert_ptr_nonnull(strstr(md, "| memory (host cost of one idle instance) | 231 MiB | "
                                         "2.48 MiB | 93.3× |\n"));
        ck_assert_ptr_nonnull(strstr(
                md, "| isolation | full (own kernel) | process level (shared kernel) | — |"));
        ck_assert_ptr_nonnull(strstr(md, "12.2× host (1,740 ms)"));
        ck_assert_ptr_nonnull(strstr(md, "0.97× host (1,176 MiB/s)"));
        ck_assert_ptr_nonnull(strstr(md, "| 0.19× / — |"));

        /* The same rendering twice is the same bytes. */
        _cleanup_free_ char *md2 = hd_bench_markdown(r);
        _cleanup_free_ char *svg2 = hd_bench_svg(r);
        ck_assert_str_eq(md, md2);
        ck_assert_str_eq(svg, svg2);
}
END_TEST

START_TEST(test_tcg_banner)
{
        _cleanup_json_ json_t *r = load("result-tcg.json");
        _cleanup_free_ char *md = hd_bench_markdown(r);
        _cleanup_free_ char *svg = hd_bench_svg(r);
        ck_assert_ptr_nonnull(md);
        ck_assert_ptr_nonnull(svg);
        /* First, before anything else, and again at the detailed figures. */
        ck_assert(hd_str_startswith(md, "> **⚠ The VM side ran under TCG (software emulation, "
                                        "no KVM): its figures are not KVM figures.**\n"));
        ck_assert_ptr_nonnull(strstr(md, "## All figures (⚠ VM under TCG: not KVM figures)"));
        ck_assert_ptr_nonnull(strstr(svg, "class=\"warn\">⚠ The VM side ran under TCG"));
        ck_assert_ptr_nonnull(strstr(svg, "Why: /dev/kvm: KVM_CREATE_VM failed"));

        /* The same run under KVM: no warning anywhere. */
        set_str(r, "manifest", "accel", "kvm");
        set_str(r, "manifest", "accel_reason", "/dev/kvm is usable");
        _cleanup_free_ char *kmd = hd_bench_markdown(r);
        _cleanup_free_ char *ksvg = hd_bench_svg(r);
        ck_assert_ptr_nonnull(kmd);
        ck_assert_ptr_nonnull(ksvg);
        ck_assert(hd_str_startswith(kmd, "# hostd benchmark: VM vs container\n"));
        ck_assert_ptr_null(strstr(kmd, "⚠"));
        ck_assert_ptr_null(strstr(kmd, "not KVM figures"));
        ck_assert_ptr_nonnull(strstr(kmd, "\n## All figures\n"));
        ck_assert_ptr_null(strstr(ksvg, "⚠"));
        ck_assert_ptr_null(strstr(ksvg, "class=\"warn\""));
        ck_assert_ptr_null(strstr(ksvg, "not KVM figures"));
        check_well_formed(ksvg);
        /* The banner's 58 px are gone. */
        ck_assert_uint_lt(strlen(ksvg), strlen(svg));
}
END_TEST

START_TEST(test_missing)
{
        _cleanup_json_ json_t *r = load("result-tcg.json");
        _cleanup_free_ char *md = hd_bench_markdown(r);
        _cleanup_free_ char *svg = hd_bench_svg(r);
        ck_assert_ptr_nonnull(md);
        ck_assert_ptr_nonnull(svg);

        /* A missing side: the container has no guest. */
        _cleanup_free_ char *guest = line_with(md, "| memory | guest view (used) |");
        ck_assert_ptr_nonnull(guest);
        ck_assert_str_eq(guest, "| memory | guest view (used) | MiB | missing: a container has "
                                "no guest of its own | | | | 38.2 | 39 | 37.5 | 39.1 | | — |");

        /* A missing figure: every side says why, and no cell reads 0. */
        _cleanup_free_ char *read = line_with(md, "| io | sequential read |");
        ck_assert_ptr_nonnull(read);
        ck_assert_ptr_nonnull(strstr(read, "missing: page cache not dropped: "
                                           "/proc/sys/vm/drop_caches"));
        ck_assert_ptr_null(strstr(read, " 0 "));
        ck_assert_ptr_null(strstr(read, "0.00"));
        _cleanup_free_ char *io = line_with(md, "| performance: io write / read (vs host) |");
        ck_assert_ptr_nonnull(io);
        ck_assert_ptr_nonnull(strstr(io, "0.18× host (221 MiB/s) / missing: page cache"));

        /* In the SVG: a hatched slot, the word, and the reason in its tooltip. */
        ck_assert_ptr_nonnull(strstr(svg, "<title>container: missing: a container has no guest "
                                          "of its own</title><rect"));
        ck_assert_ptr_nonnull(strstr(svg, "fill=\"url(#hatch)\""));
        ck_assert_ptr_nonnull(strstr(svg, "class=\"missing\">missing: page cache not dropped"));

        /* A figure the result lacks altogether, and sides of the wrong shape. */
        json_array_remove(json_object_get(r, "figures"), 1); /* start_to_ready */
        json_t *mem = figure(r, "host_cost");
        ck_assert_int_eq(
                json_object_set_new(json_object_get(mem, "vm"), "p50", json_string("fast")), 0);
        ck_assert_int_eq(json_object_set_new(mem, "container", json_integer(0)), 0);
        ck_assert_int_eq(json_object_del(mem, "ratio"), 0);
        _cleanup_free_ char *md2 = hd_bench_markdown(r);
        _cleanup_free_ char *svg2 = hd_bench_svg(r);
        ck_assert_ptr_nonnull(md2);
        ck_assert_ptr_nonnull(svg2);
        check_well_formed(svg2);
        _cleanup_free_ char *start = line_with(md2, "| start time");
        ck_assert_ptr_nonnull(start);
        ck_assert_str_eq(start, "| start time (start → ready, p50) | missing: not in this result "
                                "| missing: not in this result | — |");
        _cleanup_free_ char *memory = line_with(md2, "| memory (host cost");
        ck_assert_ptr_nonnull(memory);
        ck_assert_str_eq(memory, "| memory (host cost of one idle instance) | missing: no p50 "
                                 "in the result | missing: malformed in the result | — |");
}
END_TEST

START_TEST(test_escaping)
{
        _cleanup_json_ json_t *r = load("result-tcg.json");
        const char *evil = "<script>&\"'";
        set_str(r, "manifest.images.container", "ref", evil);
        set_str(r, "manifest.versions", "hostd", evil);
        set_str(r, "manifest", "accel_reason", evil);
        json_t *fig = figure(r, "create");
        ck_assert_int_eq(json_object_set_new(fig, "label", json_string(evil)), 0);
        ck_assert_int_eq(json_object_set_new(fig, "unit", json_string(evil)), 0);
        ck_assert_int_eq(json_object_set_new(figure(r, "stop"), "container",
                                             json_pack("{s:s}", "missing", evil)),
                         0);
        /* jansson accepts no invalid UTF-8 from a parser, but a caller can build it. */
        ck_assert_int_eq(json_object_set_new(figure(r, "delete"), "label",
                                             json_string_nocheck("bad \xff\xfe utf-8 \x01")),
                         0);

        _cleanup_free_ char *svg = hd_bench_svg(r);
        ck_assert_ptr_nonnull(svg);
        check_well_formed(svg);
        ck_assert_ptr_null(strstr(svg, "<script"));
        ck_assert_ptr_null(strstr(svg, "\xff"));
        ck_assert_ptr_nonnull(strstr(svg, "&lt;script&gt;&amp;&quot;&apos;"));
        ck_assert_ptr_nonnull(strstr(svg, "container (&lt;script&gt;&amp;&quot;&apos;)"));
        ck_assert_ptr_nonnull(strstr(svg, "bad \xef\xbf\xbd\xef\xbf\xbd utf-8  "));

        _cleanup_free_ char *md = hd_bench_markdown(r);
        ck_assert_ptr_nonnull(md);
        ck_assert_ptr_null(strstr(md, "<script"));
        ck_assert_ptr_nonnull(strstr(md, "&lt;script&gt;&amp;\"'"));
        /* A table cell cannot be split by a value's pipe. */
        set_str(r, "manifest.host", "cpu_model", "a | b");
        json_t *f2 = figure(r, "stop");
        ck_assert_int_eq(json_object_set_new(f2, "label", json_string("x|y\nz")), 0);
        _cleanup_free_ char *md2 = hd_bench_markdown(r);
        ck_assert_ptr_nonnull(md2);
        ck_assert_ptr_nonnull(strstr(md2, "| lifecycle | x\\|y z |"));
        ck_assert_ptr_nonnull(strstr(md2, "cpu_model: a \\| b"));
}
END_TEST

START_TEST(test_garbage)
{
        const char *inputs[] = {
                "null",
                "[]",
                "{}",
                "\"x\"",
                "{\"figures\": 5, \"manifest\": []}",
                "{\"figures\": [1, null, {\"workload\": 3}, {\"workload\": \"x\"}], "
                "\"manifest\": {\"accel\": 5, \"host\": \"h\", \"images\": [1]}}",
                "{\"figures\": [{\"workload\": \"x\", \"name\": \"y\", \"container\": \"s\", "
                "\"vm\": {\"p50\": \"fast\"}, \"host\": [], \"ratio\": \"big\", \"unit\": 7}]}",
                "{\"figures\": [{\"workload\": \"x\", \"name\": \"y\", \"unit\": \"ms\", "
                "\"container\": {\"p50\": -5, \"min\": -7, \"max\": 1e300}, "
                "\"vm\": {\"p50\": 1e-300, \"missing\": null}}, "
                "{\"workload\": \"x\", \"name\": \"z\", \"unit\": \"ms\", "
                "\"container\": {\"p50\": 0}, \"vm\": {\"p50\": 0}}], "
                "\"manifest\": {\"accel\": \"TCG\", \"started_at\": \"2026\", "
                "\"a\": {\"b\": {\"c\": {\"d\": {\"e\": {\"f\": {\"g\": {\"h\": {\"i\": "
                "1}}}}}}}}}}",
        };
        for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
                json_error_t error;
                _cleanup_json_ json_t *j = json_loads(inputs[i], JSON_DECODE_ANY, &error);
                ck_assert_msg(j, "%s: %s", inputs[i], error.text);
                _cleanup_free_ char *md = hd_bench_markdown(j);
                _cleanup_free_ char *svg = hd_bench_svg(j);
                ck_assert_msg(md && svg, "%s", inputs[i]);
                check_well_formed(svg);
                ck_assert_ptr_nonnull(strstr(md, "| isolation |"));
                _cleanup_json_ json_t *c = hd_bench_compare(j, j);
                ck_assert_ptr_nonnull(c);
        }

        _cleanup_free_ char *md = hd_bench_markdown(NULL);
        _cleanup_free_ char *svg = hd_bench_svg(NULL);
        ck_assert_ptr_nonnull(md);
        ck_assert_ptr_nonnull(svg);
        ck_assert_ptr_nonnull(strstr(md, "missing: not in this result"));
        ck_assert_ptr_nonnull(strstr(svg, "No figures in this result."));
        check_well_formed(svg);

        /* Without manifests nothing says two runs are alike. */
        _cleanup_json_ json_t *c = hd_bench_compare(NULL, NULL);
        ck_assert_ptr_nonnull(c);
        ck_assert(json_is_false(json_object_get(c, "comparable")));
        ck_assert_str_eq(json_string_value(json_object_get(
                                 json_array_get(json_object_get(c, "differences"), 0), "field")),
                         "manifest");
        ck_assert_uint_eq(json_array_size(json_object_get(c, "figures")), 0);
}
END_TEST

/* ---- comparing ------------------------------------------------------------------- */

static const json_t *compared(const json_t *c, const char *name)
{
        size_t i;
        const json_t *f;
        json_array_foreach (json_object_get(c, "figures"), i, f) {
                if (strcmp(json_string_value(json_object_get(f, "name")), name) == 0)
                        return f;
        }
        ck_abort_msg("no figure %s in the comparison", name);
        return NULL;
}

START_TEST(test_compare_same)
{
        _cleanup_json_ json_t *a = load("result-tcg.json");
        _cleanup_json_ json_t *b = load("result-tcg-rerun.json");
        _cleanup_json_ json_t *c = hd_bench_compare(a, b);
        ck_assert_ptr_nonnull(c);
        /* Only started_at differs between the manifests. */
        ck_assert(json_is_true(json_object_get(c, "comparable")));
        ck_assert_uint_eq(json_array_size(json_object_get(c, "differences")), 0);
        ck_assert_uint_eq(json_array_size(json_object_get(c, "figures")),
                          json_array_size(json_object_get(a, "figures")));

        const json_t *start = compared(c, "start_to_ready");
        ck_assert_str_eq(json_string_value(json_object_get(start, "workload")), "lifecycle");
        ck_assert_str_eq(json_string_value(json_object_get(start, "unit")), "ms");
        ck_assert_double_eq_tol(num_at(json_object_get(start, "a"), "vm"), 3124.0, 1e-9);
        ck_assert_double_eq_tol(num_at(json_object_get(start, "b"), "vm"), 3436.4, 1e-9);
        ck_assert_double_eq_tol(num_at(json_object_get(start, "a"), "container"), 15.3, 1e-9);
        ck_assert_double_eq_tol(num_at(json_object_get(start, "change"), "vm"), 1.10, 1e-9);
        ck_assert_double_eq_tol(num_at(json_object_get(start, "change"), "container"), 0.98, 1e-9);
        const json_t *cpu = compared(c, "cpu_job");
        ck_assert_double_eq_tol(num_at(json_object_get(cpu, "change"), "vm"), 0.95, 1e-9);
        ck_assert_double_eq_tol(num_at(json_object_get(cpu, "change"), "container"), 1.0, 1e-9);
        const json_t *create = compared(c, "create");
        ck_assert_double_eq_tol(num_at(json_object_get(create, "change"), "vm"), 1.0, 1e-9);

        /* A missing side has no p50 and no change, in either run. */
        const json_t *guest = compared(c, "guest_view");
        ck_assert(json_is_null(json_object_get(json_object_get(guest, "a"), "container")));
        ck_assert(json_is_null(json_object_get(json_object_get(guest, "change"), "container")));
        ck_assert_double_eq_tol(num_at(json_object_get(guest, "change"), "vm"), 1.0, 1e-9);
        const json_t *read = compared(c, "io_read");
        ck_assert(json_is_null(json_object_get(json_object_get(read, "change"), "vm")));

        /* The same run compared with itself changes by exactly 1. */
        _cleanup_json_ json_t *self = hd_bench_compare(a, a);
        ck_assert(json_is_true(json_object_get(self, "comparable")));
        ck_assert_double_eq(num_at(json_object_get(compared(self, "io_write"), "change"), "vm"),
                            1.0);
}
END_TEST

static const json_t *difference(const json_t *c, const char *field)
{
        size_t i;
        const json_t *d;
        json_array_foreach (json_object_get(c, "differences"), i, d) {
                if (strcmp(json_string_value(json_object_get(d, "field")), field) == 0)
                        return d;
        }
        return NULL;
}

START_TEST(test_compare_differs)
{
        _cleanup_json_ json_t *a = load("result-tcg.json");
        _cleanup_json_ json_t *b = load("result-tcg-rerun.json");
        set_str(b, "manifest", "accel", "kvm");
        set_str(b, "manifest.images.vm", "digest", "sha256:0000");
        set_str(b, "manifest.images.vm", "ref", "debian-12");
        ck_assert_int_eq(json_object_set_new(at(b, "manifest.envelope"), "vcpus", json_integer(2)),
                         0);
        ck_assert_int_eq(json_object_set_new(at(b, "manifest.host"), "numa_nodes", json_integer(1)),
                         0);
        ck_assert_int_eq(json_object_del(at(b, "manifest.versions"), "qemu"), 0);
        /* 256 and 256.0 are the same number. */
        ck_assert_int_eq(
                json_object_set_new(at(b, "manifest.envelope"), "memory_mb", json_real(256.0)), 0);
        /* A figure only b has. */
        ck_assert_int_eq(
                json_array_append_new(json_object_get(b, "figures"),
                                      json_pack("{s:s, s:s, s:s, s:{s:f}, s:{s:f}}", "workload",
                                                "lifecycle", "name", "restart", "unit", "ms",
                                                "container", "p50", 20.0, "vm", "p50", 900.0)),
                0);

        _cleanup_json_ json_t *c = hd_bench_compare(a, b);
        ck_assert_ptr_nonnull(c);
        ck_assert(json_is_false(json_object_get(c, "comparable")));
        const struct {
                const char *field, *a, *b;
        } want[] = {
                { "manifest.host.numa_nodes", NULL, NULL },
                { "manifest.accel", "tcg", "kvm" },
                { "manifest.versions.qemu", "7.2.22", NULL },
                { "manifest.images.vm.ref", "tiny", "debian-12" },
                { "manifest.images.vm.digest",
                  "sha256:8950abfda7b727630760dd35bcf5c3daa7631aff223a90f7728c0d2521dde10c",
                  "sha256:0000" },
                { "manifest.envelope.vcpus", NULL, NULL },
        };
        const json_t *diffs = json_object_get(c, "differences");
        ck_assert_uint_eq(json_array_size(diffs), HD_ARRAY_SIZE(want));
        for (size_t i = 0; i < HD_ARRAY_SIZE(want); i++) {
                const json_t *d = json_array_get(diffs, i);
                ck_assert_str_eq(json_string_value(json_object_get(d, "field")), want[i].field);
                if (want[i].a)
                        ck_assert_str_eq(json_string_value(json_object_get(d, "a")), want[i].a);
                if (want[i].b)
                        ck_assert_str_eq(json_string_value(json_object_get(d, "b")), want[i].b);
        }
        ck_assert(json_is_null(json_object_get(difference(c, "manifest.host.numa_nodes"), "a")));
        ck_assert_int_eq(
                json_integer_value(json_object_get(difference(c, "manifest.host.numa_nodes"), "b")),
                1);
        ck_assert(json_is_null(json_object_get(difference(c, "manifest.versions.qemu"), "b")));
        ck_assert_int_eq(
                json_integer_value(json_object_get(difference(c, "manifest.envelope.vcpus"), "b")),
                2);
        ck_assert_ptr_null(difference(c, "manifest.started_at"));
        ck_assert_ptr_null(difference(c, "manifest.envelope.memory_mb"));

        /* Figures are still set side by side; the one only b has has no a and no change. */
        const json_t *restart = compared(c, "restart");
        ck_assert(json_is_null(json_object_get(json_object_get(restart, "a"), "vm")));
        ck_assert_double_eq(num_at(json_object_get(restart, "b"), "vm"), 900.0);
        ck_assert(json_is_null(json_object_get(json_object_get(restart, "change"), "vm")));
        ck_assert_double_eq_tol(
                num_at(json_object_get(compared(c, "start_to_ready"), "change"), "vm"), 1.10, 1e-9);

        /* A subtree only one side has is one difference, at its root. */
        ck_assert_int_eq(json_object_del(at(a, "manifest"), "images"), 0);
        _cleanup_json_ json_t *c2 = hd_bench_compare(a, b);
        const json_t *img = difference(c2, "manifest.images");
        ck_assert_ptr_nonnull(img);
        ck_assert(json_is_null(json_object_get(img, "a")));
        ck_assert(json_is_object(json_object_get(img, "b")));
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("bench-render");
        TCase *tc = tcase_create("render");
        tcase_add_test(tc, test_golden);
        tcase_add_test(tc, test_tcg_banner);
        tcase_add_test(tc, test_missing);
        tcase_add_test(tc, test_escaping);
        tcase_add_test(tc, test_garbage);
        suite_add_tcase(s, tc);
        TCase *cmp = tcase_create("compare");
        tcase_add_test(cmp, test_compare_same);
        tcase_add_test(cmp, test_compare_differs);
        suite_add_tcase(s, cmp);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
