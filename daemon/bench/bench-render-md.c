/* The Markdown report of a benchmark result (hd_bench_markdown): the seeds' VM-vs-
 * container table with measured numbers, every figure, and the manifest. */
#include <stdlib.h>
#include <string.h>

#include "bench-render-internal.h"
#include "hd-macro.h"

static void md(FILE *f, const char *s)
{
        hd_bench_put_text(f, s, HD_BENCH_ESC_MD, 0);
}

static void md_missing(FILE *f, const HdBenchSide *s)
{
        fputs("missing: ", f);
        md(f, s->missing);
}

static void md_human(FILE *f, const HdBenchSide *s, const char *unit)
{
        char buf[HD_BENCH_TXT_MAX];
        if (s->missing) {
                md_missing(f, s);
                return;
        }
        hd_bench_fmt_human(buf, s->p50, unit);
        md(f, buf);
}

/* "12.3× host (1,740 ms)", or the plain value where there is no host figure. */
static void md_vs_host(FILE *f, const HdBenchFigure *fig, int i)
{
        const HdBenchSide *s = &fig->side[i];
        char r[HD_BENCH_NUM_MAX], v[HD_BENCH_TXT_MAX];
        if (s->missing || !s->has_vs_host) {
                md_human(f, s, fig->unit);
                return;
        }
        hd_bench_fmt_ratio(r, s->vs_host);
        hd_bench_fmt_human(v, s->p50, fig->unit);
        fprintf(f, "%s host (", r);
        md(f, v);
        fputc(')', f);
}

static void md_ratio(FILE *f, const HdBenchFigure *fig)
{
        char r[HD_BENCH_NUM_MAX];
        if (!fig->has_ratio) {
                fputs("—", f);
                return;
        }
        hd_bench_fmt_ratio(r, fig->ratio);
        fputs(r, f);
}

static void md_summary(FILE *f, const json_t *result)
{
        HdBenchFigure start, total, unique, shared, mem, cpu, wr, rd, count, per;
        hd_bench_figure_find(result, "lifecycle", "start_to_ready", &start);
        hd_bench_figure_find(result, "image", "image_total", &total);
        hd_bench_figure_find(result, "image", "image_unique", &unique);
        hd_bench_figure_find(result, "image", "image_shared", &shared);
        hd_bench_figure_find(result, "memory", "host_cost", &mem);
        hd_bench_figure_find(result, "cpu", "cpu_job", &cpu);
        hd_bench_figure_find(result, "io", "io_write", &wr);
        hd_bench_figure_find(result, "io", "io_read", &rd);
        hd_bench_figure_find(result, "density", "density_count", &count);
        hd_bench_figure_find(result, "density", "density_per_instance", &per);
        static const int order[] = { HD_BENCH_VM, HD_BENCH_CT };

        fputs("| | VM | container | VM/container |\n|---|---|---|---|\n", f);

        fputs("| start time (start → ready, p50) |", f);
        for (size_t k = 0; k < HD_ARRAY_SIZE(order); k++) {
                fputc(' ', f);
                md_human(f, &start.side[order[k]], start.unit);
                fputs(" |", f);
        }
        fputc(' ', f);
        md_ratio(f, &start);
        fputs(" |\n", f);

        fputs("| image size (on disk; unique / shared) |", f);
        for (size_t k = 0; k < HD_ARRAY_SIZE(order); k++) {
                int i = order[k];
                fputc(' ', f);
                md_human(f, &total.side[i], total.unit);
                if (!total.side[i].missing) {
                        fputs(" (", f);
                        md_human(f, &unique.side[i], unique.unit);
                        fputs(" / ", f);
                        md_human(f, &shared.side[i], shared.unit);
                        fputc(')', f);
                }
                fputs(" |", f);
        }
        fputc(' ', f);
        md_ratio(f, &total);
        fputs(" |\n", f);

        fputs("| memory (host cost of one idle instance) |", f);
        for (size_t k = 0; k < HD_ARRAY_SIZE(order); k++) {
                fputc(' ', f);
                md_human(f, &mem.side[order[k]], mem.unit);
                fputs(" |", f);
        }
        fputc(' ', f);
        md_ratio(f, &mem);
        fputs(" |\n", f);

        fputs("| performance: cpu (vs host) |", f);
        for (size_t k = 0; k < HD_ARRAY_SIZE(order); k++) {
                fputc(' ', f);
                md_vs_host(f, &cpu, order[k]);
                fputs(" |", f);
        }
        fputc(' ', f);
        md_ratio(f, &cpu);
        fputs(" |\n", f);

        fputs("| performance: io write / read (vs host) |", f);
        for (size_t k = 0; k < HD_ARRAY_SIZE(order); k++) {
                fputc(' ', f);
                md_vs_host(f, &wr, order[k]);
                fputs(" / ", f);
                md_vs_host(f, &rd, order[k]);
                fputs(" |", f);
        }
        fputc(' ', f);
        md_ratio(f, &wr);
        fputs(" / ", f);
        md_ratio(f, &rd);
        fputs(" |\n", f);

        fputs("| density (instances that fit, per-instance cost) |", f);
        for (size_t k = 0; k < HD_ARRAY_SIZE(order); k++) {
                int i = order[k];
                fputc(' ', f);
                md_human(f, &count.side[i], count.unit);
                if (!count.side[i].missing) {
                        fputs(" (", f);
                        md_human(f, &per.side[i], per.unit);
                        fputs(per.side[i].missing ? ")" : " each)", f);
                }
                fputs(" |", f);
        }
        fputc(' ', f);
        md_ratio(f, &count);
        fputs(" |\n", f);

        fputs("| isolation | full (own kernel) | process level (shared kernel) | — |\n", f);
}

static void md_cell_num(FILE *f, bool has, double v)
{
        char buf[HD_BENCH_NUM_MAX];
        if (has) {
                hd_bench_fmt_num(buf, v);
                fputc(' ', f);
                fputs(buf, f);
        }
        fputs(" |", f);
}

/* p50 | p95 | min | max of one side, or its reason in the first of those cells. */
static void md_side_cells(FILE *f, const HdBenchSide *s)
{
        if (s->missing) {
                fputc(' ', f);
                md_missing(f, s);
                fputs(" | | | |", f);
                return;
        }
        md_cell_num(f, true, s->p50);
        md_cell_num(f, s->has_p95, s->p95);
        md_cell_num(f, s->has_min, s->min);
        md_cell_num(f, s->has_max, s->max);
}

static void md_all_figures(FILE *f, const HdBenchFigure *figs, size_t n)
{
        fputs("| workload | figure | unit | container p50 | container p95 | container min | "
              "container max | VM p50 | VM p95 | VM min | VM max | host p50 | VM/container |\n"
              "|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n",
              f);
        for (size_t k = 0; k < n; k++) {
                const HdBenchFigure *fig = &figs[k];
                fputs("| ", f);
                md(f, fig->workload);
                fputs(" | ", f);
                md(f, fig->label);
                fputs(" | ", f);
                md(f, fig->unit);
                fputs(" |", f);
                md_side_cells(f, &fig->side[HD_BENCH_CT]);
                md_side_cells(f, &fig->side[HD_BENCH_VM]);
                const HdBenchSide *host = &fig->side[HD_BENCH_HOST];
                if (fig->has_host && host->missing) {
                        fputc(' ', f);
                        md_missing(f, host);
                        fputs(" |", f);
                } else {
                        md_cell_num(f, fig->has_host, host->p50);
                }
                fputc(' ', f);
                md_ratio(f, fig);
                fputs(" |\n", f);
        }
        if (n == 0)
                fputs("| (no figures in this result) | | | | | | | | | | | | |\n", f);
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A nested list of v's leaves, keys sorted so that the output does not depend on the
 * order the runner wrote them in. */
static int md_tree(FILE *f, const json_t *v, int depth)
{
        if (json_is_object(v)) {
                size_t n = json_object_size(v), k = 0;
                _cleanup_free_ const char **keys = calloc(n ? n : 1, sizeof(char *));
                if (!keys)
                        return -ENOMEM;
                const char *key;
                const json_t *child;
                json_object_foreach ((json_t *)v, key, child)
                        keys[k++] = key;
                qsort(keys, n, sizeof(char *), cmp_str);
                for (k = 0; k < n; k++) {
                        child = json_object_get(v, keys[k]);
                        fprintf(f, "\n%*s- ", depth * 2, "");
                        md(f, keys[k]);
                        fputc(':', f);
                        if (depth >= 8) {
                                fputs(" …", f);
                                continue;
                        }
                        if (!json_is_object(child) && !json_is_array(child))
                                fputc(' ', f);
                        int r = md_tree(f, child, depth + 1);
                        if (r < 0)
                                return r;
                }
        } else if (json_is_array(v)) {
                size_t i;
                const json_t *item;
                json_array_foreach (v, i, item) {
                        fprintf(f, "\n%*s- ", depth * 2, "");
                        if (depth >= 8) {
                                fputs("…", f);
                                continue;
                        }
                        int r = md_tree(f, item, depth + 1);
                        if (r < 0)
                                return r;
                }
        } else if (json_is_string(v)) {
                md(f, json_string_value(v));
        } else if (json_is_integer(v)) {
                fprintf(f, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        } else if (json_is_real(v)) {
                fprintf(f, "%.17g", json_real_value(v));
        } else {
                fputs(json_is_true(v) ? "true" : json_is_false(v) ? "false" : "null", f);
        }
        return 0;
}

/* One sentence on what was run, from the request. */
static void md_intro(FILE *f, const json_t *result)
{
        const json_t *req = json_object_get(result, "request");
        const char *id = hd_bench_str(result, "id"), *status = hd_bench_str(result, "status");
        double reps, warmup, v;
        fputs("Run ", f);
        md(f, id ?: "(no id)");
        fputs(": ", f);
        md(f, status ?: "status unknown");
        if (hd_bench_num(req, "repetitions", &reps)) {
                fprintf(f, ", %.0f repetitions", reps);
                if (hd_bench_num(req, "warmup", &warmup))
                        fprintf(f, " after %.0f warm-up", warmup);
        }
        const json_t *sizes = json_object_get(req, "sizes");
        if (hd_bench_num(sizes, "cpu_mib", &v))
                fprintf(f, "; the cpu job hashes %.0f MiB", v);
        if (hd_bench_num(sizes, "io_mib", &v))
                fprintf(f, "; io moves %.0f MiB", v);
        if (hd_bench_num(sizes, "density_max", &v))
                fprintf(f, "; density starts at most %.0f instances", v);
        fputs(". Figures are medians (p50); VM/container is the VM's p50 over the "
              "container's.\n",
              f);
        const char *error = hd_bench_str(result, "error");
        if (error && *error) {
                fputs("\n> **Error:** ", f);
                md(f, error);
                fputc('\n', f);
        }
}

char *hd_bench_markdown(const json_t *result)
{
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        _cleanup_fclose_ FILE *f = open_memstream(&buf, &len);
        if (!f)
                return NULL;
        _cleanup_free_ HdBenchFigure *figs = NULL;
        size_t n;
        if (hd_bench_figures_load(result, &figs, &n) < 0)
                return NULL;
        bool tcg = hd_bench_is_tcg(result);

        if (tcg)
                fputs("> **⚠ " HD_BENCH_TCG_WARNING "**\n\n", f);
        fputs("# hostd benchmark: VM vs container\n\n", f);
        md_intro(f, result);
        fputc('\n', f);
        md_summary(f, result);
        fputs(tcg ? "\n## All figures (⚠ VM under TCG: not KVM figures)\n\n"
                  : "\n## All figures\n\n",
              f);
        md_all_figures(f, figs, n);
        fputs("\n## Manifest\n", f);
        const json_t *manifest = json_object_get(result, "manifest");
        if (json_object_size(manifest) == 0)
                fputs("\n- (no manifest in this result)", f);
        else if (md_tree(f, manifest, 0) < 0)
                return NULL;
        fputc('\n', f);
        return hd_bench_stream_finish(&f, &buf);
}
