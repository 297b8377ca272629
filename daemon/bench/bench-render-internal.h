/* What bench-render.c shares with its Markdown and SVG halves (bench-render-md.c,
 * bench-render-svg.c): a figure of the result read into a struct, number and unit
 * formatting, and text escaping. Not part of the renderers' contract
 * (bench-render.h). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "bench-render.h"

/* The sides of a figure, in the order they are drawn and tabled. */
enum { HD_BENCH_VM, HD_BENCH_CT, HD_BENCH_HOST, HD_BENCH_SIDES };
/* "vm", "container", "host": the keys in the result */
extern const char *const hd_bench_side_keys[HD_BENCH_SIDES];
/* "VM", "container", "host": what a reader sees */
extern const char *const hd_bench_side_names[HD_BENCH_SIDES];

typedef struct {
        const char *missing; /* why there are no numbers; NULL when measured */
        double p50, p95, min, max, n, vs_host;
        bool has_p95, has_min, has_max, has_n, has_vs_host;
} HdBenchSide;

/* Strings point into the result JSON, which must outlive the figure. */
typedef struct {
        const char *workload, *name, *label, *unit; /* unit "" when the result has none */
        bool higher_better, has_host, has_ratio;
        double ratio; /* vm p50 / container p50 */
        HdBenchSide side[HD_BENCH_SIDES];
} HdBenchFigure;

#define HD_BENCH_TCG_WARNING                                                               \
        "The VM side ran under TCG (software emulation, no KVM): its figures are not KVM " \
        "figures."

/* o[key] as a string / a finite number, or NULL / false when absent or of another type. */
const char *hd_bench_str(const json_t *o, const char *key);
bool hd_bench_num(const json_t *o, const char *key, double *ret);

/* Reads one figure; false when fig is not one (no workload or name to key it by). A side
 * of the wrong shape reads as missing, with a reason, never as 0. */
bool hd_bench_figure_load(const json_t *fig, HdBenchFigure *ret);
/* The result's figure workload/name, or NULL. */
const json_t *hd_bench_figure_json(const json_t *result, const char *workload, const char *name);
/* As hd_bench_figure_load, or a figure whose every side is missing "not in this result". */
void hd_bench_figure_find(const json_t *result, const char *workload, const char *name,
                          HdBenchFigure *ret);
/* Every well-formed figure, in the result's order (*ret: free()); -ENOMEM. */
int hd_bench_figures_load(const json_t *result, HdBenchFigure **ret, size_t *ret_n);
/* Whether manifest.accel says the VM side ran under TCG. */
bool hd_bench_is_tcg(const json_t *result);

#define HD_BENCH_NUM_MAX 64
#define HD_BENCH_TXT_MAX 160
/* Three significant digits, thousands separated: "3,124", "15.3", "0.144", "16". */
void hd_bench_fmt_num(char buf[static HD_BENCH_NUM_MAX], double v);
/* "204×", "12.1×", "0.98×". */
void hd_bench_fmt_ratio(char buf[static HD_BENCH_NUM_MAX], double r);
/* A value with its unit as a reader takes it in: "3,124 ms", "12.5 s", "231 MiB". */
void hd_bench_fmt_human(char buf[static HD_BENCH_TXT_MAX], double v, const char *unit);
bool hd_bench_unit_is(const char *unit, const char *want);

/* Characters (code points; an invalid byte counts as one) in s. */
size_t hd_bench_utf8_count(const char *s);
enum { HD_BENCH_ESC_XML, HD_BENCH_ESC_MD };
/* Writes s (NULL: nothing) as one line of XML or Markdown text: invalid UTF-8 becomes
 * U+FFFD, control characters a space, markup is escaped; past max characters it ends in
 * "…" (0: no limit). */
void hd_bench_put_text(FILE *f, const char *s, int mode, size_t max);
/* Closes the open_memstream *f and hands *buf on; NULL when a write ran out of memory. */
char *hd_bench_stream_finish(FILE **f, char **buf);
