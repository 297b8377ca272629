/* Renders a benchmark result (bench-render.h): what the Markdown report
 * (bench-render-md.c) and the SVG chart (bench-render-svg.c) share, reading the result,
 * formatting numbers and escaping text, and the comparison of two runs.
 *
 * The result is stored JSON that an older or newer runner, or a hand edit, may have
 * shaped differently, so everything here reads it defensively: a value of the wrong
 * type counts as absent, and an absent number reads "missing", never 0. Output depends
 * only on the input (no clock, no locale-dependent sorting), so golden files can pin it. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bench-render-internal.h"
#include "hd-json.h"
#include "hd-macro.h"

/* ---- reading the result ---------------------------------------------------------- */

const char *const hd_bench_side_keys[HD_BENCH_SIDES] = { "vm", "container", "host" };
const char *const hd_bench_side_names[HD_BENCH_SIDES] = { "VM", "container", "host" };

#define NOT_IN_RESULT "not in this result"

const char *hd_bench_str(const json_t *o, const char *key)
{
        return json_string_value(json_object_get(o, key));
}

bool hd_bench_num(const json_t *o, const char *key, double *ret)
{
        const json_t *v = json_object_get(o, key);
        if (!json_is_number(v) || !isfinite(json_number_value(v)))
                return false;
        *ret = json_number_value(v);
        return true;
}

static void side_load(const json_t *fig, const char *key, HdBenchSide *ret)
{
        *ret = (HdBenchSide){ 0 };
        const json_t *s = json_object_get(fig, key);
        if (!s) {
                ret->missing = "not measured";
                return;
        }
        if (!json_is_object(s)) {
                ret->missing = "malformed in the result";
                return;
        }
        if (json_object_get(s, "missing")) {
                ret->missing = hd_bench_str(s, "missing");
                if (!ret->missing || !*ret->missing)
                        ret->missing = "no reason given";
                return;
        }
        if (!hd_bench_num(s, "p50", &ret->p50)) {
                ret->missing = "no p50 in the result";
                return;
        }
        ret->has_p95 = hd_bench_num(s, "p95", &ret->p95);
        ret->has_min = hd_bench_num(s, "min", &ret->min);
        ret->has_max = hd_bench_num(s, "max", &ret->max);
        ret->has_n = hd_bench_num(s, "n", &ret->n);
        ret->has_vs_host = hd_bench_num(s, "vs_host", &ret->vs_host);
}

/* False when fig is not a figure at all (no workload or name to key it by). */
bool hd_bench_figure_load(const json_t *fig, HdBenchFigure *ret)
{
        *ret = (HdBenchFigure){ 0 };
        ret->workload = hd_bench_str(fig, "workload");
        ret->name = hd_bench_str(fig, "name");
        if (!ret->workload || !ret->name)
                return false;
        ret->label = hd_bench_str(fig, "label") ?: ret->name;
        ret->unit = hd_bench_str(fig, "unit") ?: "";
        const char *better = hd_bench_str(fig, "better");
        ret->higher_better = better && strcmp(better, "higher") == 0;
        for (int i = 0; i < HD_BENCH_SIDES; i++)
                side_load(fig, hd_bench_side_keys[i], &ret->side[i]);
        ret->has_host = json_object_get(fig, "host") != NULL;

        const HdBenchSide *vm = &ret->side[HD_BENCH_VM], *ct = &ret->side[HD_BENCH_CT];
        ret->has_ratio = hd_bench_num(fig, "ratio", &ret->ratio);
        if (!ret->has_ratio && !vm->missing && !ct->missing && ct->p50 != 0) {
                ret->ratio = vm->p50 / ct->p50;
                ret->has_ratio = true;
        }
        /* vs_host is p50 / host p50 by definition: fill it in where the runner did not. */
        const HdBenchSide *host = &ret->side[HD_BENCH_HOST];
        for (int i = HD_BENCH_VM; i <= HD_BENCH_CT; i++) {
                HdBenchSide *s = &ret->side[i];
                if (!s->missing && !s->has_vs_host && ret->has_host && !host->missing &&
                    host->p50 != 0) {
                        s->vs_host = s->p50 / host->p50;
                        s->has_vs_host = true;
                }
        }
        return true;
}

const json_t *hd_bench_figure_json(const json_t *result, const char *workload, const char *name)
{
        size_t i;
        const json_t *fig;
        json_array_foreach (json_object_get(result, "figures"), i, fig) {
                const char *w = hd_bench_str(fig, "workload"), *n = hd_bench_str(fig, "name");
                if (w && n && strcmp(w, workload) == 0 && strcmp(n, name) == 0)
                        return fig;
        }
        return NULL;
}

/* The figure, or one whose every side is missing because the result lacks it. */
void hd_bench_figure_find(const json_t *result, const char *workload, const char *name,
                          HdBenchFigure *ret)
{
        if (hd_bench_figure_load(hd_bench_figure_json(result, workload, name), ret))
                return;
        *ret = (HdBenchFigure){ .workload = workload, .name = name, .label = name, .unit = "" };
        for (int i = 0; i < HD_BENCH_SIDES; i++)
                ret->side[i].missing = NOT_IN_RESULT;
}

int hd_bench_figures_load(const json_t *result, HdBenchFigure **ret, size_t *ret_n)
{
        const json_t *arr = json_object_get(result, "figures");
        size_t n = json_array_size(arr), k = 0;
        *ret = NULL;
        *ret_n = 0;
        if (n == 0)
                return 0;
        _cleanup_free_ HdBenchFigure *figs = calloc(n, sizeof(HdBenchFigure));
        if (!figs)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (hd_bench_figure_load(json_array_get(arr, i), &figs[k]))
                        k++;
        *ret_n = k;
        *ret = TAKE_PTR(figs);
        return 0;
}

bool hd_bench_is_tcg(const json_t *result)
{
        const char *accel = hd_bench_str(json_object_get(result, "manifest"), "accel");
        return accel && strcasecmp(accel, "tcg") == 0;
}

/* ---- numbers and units ----------------------------------------------------------- */

/* Drops the zeros a fixed precision leaves at the end: "16.0" is 16 instances. */
static void trim_zeros(char *buf)
{
        char *dot = strchr(buf, '.');
        if (!dot || strchr(buf, 'e'))
                return;
        char *end = buf + strlen(buf);
        while (end > dot + 1 && end[-1] == '0')
                end--;
        if (end == dot + 1)
                end = dot;
        *end = '\0';
}

/* Three significant digits, thousands separated from 1,000 up. Huge or tiny values
 * (garbage, mostly) fall back to %g so that the buffer always suffices. */
void hd_bench_fmt_num(char buf[static HD_BENCH_NUM_MAX], double v)
{
        double a = fabs(v);
        if (v == 0) {
                snprintf(buf, HD_BENCH_NUM_MAX, "0");
        } else if (a >= 1e15 || a < 1) {
                snprintf(buf, HD_BENCH_NUM_MAX, "%.3g", v);
        } else if (a < 100) {
                snprintf(buf, HD_BENCH_NUM_MAX, a < 10 ? "%.2f" : "%.1f", v);
                trim_zeros(buf);
        } else {
                char raw[HD_BENCH_NUM_MAX];
                int len = snprintf(raw, sizeof(raw), "%.0f", a);
                size_t o = 0;
                if (v < 0)
                        buf[o++] = '-';
                for (int i = 0; i < len; i++) {
                        if (i > 0 && (len - i) % 3 == 0)
                                buf[o++] = ',';
                        buf[o++] = raw[i];
                }
                buf[o] = '\0';
        }
}

void hd_bench_fmt_ratio(char buf[static HD_BENCH_NUM_MAX], double r)
{
        double a = fabs(r);
        if (a >= 100)
                hd_bench_fmt_num(buf, r);
        else if (a >= 10)
                snprintf(buf, HD_BENCH_NUM_MAX, "%.1f", r);
        else if (a >= 0.01 || r == 0)
                snprintf(buf, HD_BENCH_NUM_MAX, "%.2f", r);
        else
                snprintf(buf, HD_BENCH_NUM_MAX, "%.2g", r);
        trim_zeros(buf);
        /* hd_bench_fmt_num writes at most 27 bytes ("-999,999,999,999,999" or %.3g) */
        strcat(buf, "×");
}

bool hd_bench_unit_is(const char *unit, const char *want)
{
        return unit && strcmp(unit, want) == 0;
}

/* A value in units a reader takes in at a glance: times in ms below 10 s and in s from
 * there, MiB below 1 GiB and GiB from there; throughput stays in MiB/s so that the
 * figures of one row read in one unit; unknown units as they are. */
void hd_bench_fmt_human(char buf[static HD_BENCH_TXT_MAX], double v, const char *unit)
{
        char num[HD_BENCH_NUM_MAX];
        if (hd_bench_unit_is(unit, "ms") || hd_bench_unit_is(unit, "s")) {
                double ms = hd_bench_unit_is(unit, "s") ? v * 1000 : v;
                bool secs = fabs(ms) >= 10000;
                hd_bench_fmt_num(num, secs ? ms / 1000 : ms);
                snprintf(buf, HD_BENCH_TXT_MAX, "%s %s", num, secs ? "s" : "ms");
        } else if (hd_bench_unit_is(unit, "MiB")) {
                bool gib = fabs(v) >= 1024;
                hd_bench_fmt_num(num, gib ? v / 1024 : v);
                snprintf(buf, HD_BENCH_TXT_MAX, "%s %s", num, gib ? "GiB" : "MiB");
        } else {
                hd_bench_fmt_num(num, v);
                if (!unit || !*unit || hd_bench_unit_is(unit, "instances"))
                        snprintf(buf, HD_BENCH_TXT_MAX, "%s", num);
                else
                        snprintf(buf, HD_BENCH_TXT_MAX, "%s %s", num, unit);
        }
}

/* ---- text escaping --------------------------------------------------------------- */

/* The length of the well-formed UTF-8 sequence at s (shortest form, no surrogates, no
 * U+FFFE/U+FFFF, which XML forbids), or 0. Stops at a NUL. */
static size_t utf8_seq(const unsigned char *s)
{
        static const uint32_t shortest[] = { 0, 0, 0x80, 0x800, 0x10000 };
        size_t n;
        uint32_t cp;
        if (s[0] < 0x80)
                return 1;
        if ((s[0] & 0xe0) == 0xc0) {
                n = 2;
                cp = s[0] & 0x1f;
        } else if ((s[0] & 0xf0) == 0xe0) {
                n = 3;
                cp = s[0] & 0x0f;
        } else if ((s[0] & 0xf8) == 0xf0) {
                n = 4;
                cp = s[0] & 0x07;
        } else {
                return 0;
        }
        for (size_t i = 1; i < n; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = cp << 6 | (s[i] & 0x3f);
        }
        if (cp < shortest[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffe ||
            cp == 0xffff)
                return 0;
        return n;
}

size_t hd_bench_utf8_count(const char *s)
{
        size_t count = 0;
        for (const unsigned char *p = (const unsigned char *)s; p && *p; count++) {
                size_t n = utf8_seq(p);
                p += n ? n : 1;
        }
        return count;
}

/* Writes s as one line of text for XML or Markdown: invalid UTF-8 becomes U+FFFD,
 * control characters (newlines too) a space, markup characters are escaped; past max
 * characters it ends in "…" (0: no limit). */
void hd_bench_put_text(FILE *f, const char *s, int mode, size_t max)
{
        size_t limit = SIZE_MAX, count = 0;
        if (max > 0 && hd_bench_utf8_count(s) > max)
                limit = max - 1;
        for (const unsigned char *p = (const unsigned char *)s; p && *p; count++) {
                if (count == limit) {
                        fputs("…", f);
                        return;
                }
                size_t n = utf8_seq(p);
                if (n == 0) {
                        fputs("\xef\xbf\xbd", f);
                        p++;
                        continue;
                }
                if (n > 1) {
                        fwrite(p, 1, n, f);
                        p += n;
                        continue;
                }
                unsigned char c = *p++;
                if (c < 0x20 || c == 0x7f) {
                        fputc(' ', f);
                } else if (c == '&') {
                        fputs("&amp;", f);
                } else if (c == '<') {
                        fputs("&lt;", f);
                } else if (c == '>') {
                        fputs("&gt;", f);
                } else if (mode == HD_BENCH_ESC_XML && c == '"') {
                        fputs("&quot;", f);
                } else if (mode == HD_BENCH_ESC_XML && c == '\'') {
                        fputs("&apos;", f);
                } else if (mode == HD_BENCH_ESC_MD && strchr("\\|`*[]", c)) {
                        /* Markdown would read these as table cells, code or links. */
                        fputc('\\', f);
                        fputc(c, f);
                } else {
                        fputc(c, f);
                }
        }
}

/* Closes the memstream and hands its buffer on; NULL when any write ran out of memory. */
char *hd_bench_stream_finish(FILE **f, char **buf)
{
        bool failed = ferror(*f);
        int r = fclose(TAKE_PTR(*f));
        if (failed || r != 0)
                return NULL;
        return TAKE_PTR(*buf);
}

/* ---- comparing two runs ---------------------------------------------------------- */

static bool leaf_equal(const json_t *a, const json_t *b)
{
        if (!a || !b)
                return a == b;
        if (json_is_number(a) && json_is_number(b))
                return json_number_value(a) == json_number_value(b);
        return json_equal(a, b);
}

static int diff_add(json_t *diffs, const char *path, const json_t *a, const json_t *b)
{
        json_t *d = json_pack("{s:s, s:O, s:O}", "field", path, "a", a ?: json_null(), "b",
                              b ?: json_null());
        return d && json_array_append_new(diffs, d) == 0 ? 0 : -ENOMEM;
}

/* Appends every leaf path where a and b differ; a subtree present on one side only, or
 * of another type on each, is one difference at its root. */
static int diff_tree(json_t *diffs, const char *path, const json_t *a, const json_t *b, int depth)
{
        if (depth > 16 || !a || !b || json_typeof(a) != json_typeof(b) ||
            !(json_is_object(a) || json_is_array(a)))
                return leaf_equal(a, b) ? 0 : diff_add(diffs, path, a, b);

        if (json_is_array(a)) {
                size_t n = json_array_size(a) > json_array_size(b) ? json_array_size(a)
                                                                   : json_array_size(b);
                for (size_t i = 0; i < n; i++) {
                        _cleanup_free_ char *p = NULL;
                        if (asprintf(&p, "%s[%zu]", path, i) < 0)
                                return -ENOMEM;
                        int r = diff_tree(diffs, p, json_array_get(a, i), json_array_get(b, i),
                                          depth + 1);
                        if (r < 0)
                                return r;
                }
                return 0;
        }
        const char *key;
        const json_t *va;
        for (int pass = 0; pass < 2; pass++) {
                /* a's keys in a's order, then those only b has */
                json_object_foreach ((json_t *)(pass == 0 ? a : b), key, va) {
                        if (depth == 0 && strcmp(key, "started_at") == 0)
                                continue; /* when a run started is no reason not to compare */
                        if (pass == 1 && json_object_get(a, key))
                                continue;
                        _cleanup_free_ char *p = NULL;
                        if (asprintf(&p, "%s.%s", path, key) < 0)
                                return -ENOMEM;
                        int r = diff_tree(diffs, p, json_object_get(a, key),
                                          json_object_get(b, key), depth + 1);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* {"container": p50 | null, "vm": p50 | null}; NULL when out of memory. */
static json_t *p50s(const HdBenchFigure *fig)
{
        json_t *o = json_object();
        for (int i = HD_BENCH_CT; o && i >= HD_BENCH_VM; i--) {
                const HdBenchSide *s = &fig->side[i];
                json_t *v = s->missing ? json_null() : json_real(s->p50);
                if (json_object_set_new(o, hd_bench_side_keys[i], v) < 0)
                        json_decref(TAKE_PTR(o));
        }
        return o;
}

static json_t *change(const HdBenchFigure *a, const HdBenchFigure *b)
{
        json_t *o = json_object();
        bool same_unit = strcmp(a->unit, b->unit) == 0;
        for (int i = HD_BENCH_CT; o && i >= HD_BENCH_VM; i--) {
                const HdBenchSide *sa = &a->side[i], *sb = &b->side[i];
                json_t *v = same_unit && !sa->missing && !sb->missing && sa->p50 != 0
                                    ? json_real(sb->p50 / sa->p50)
                                    : json_null();
                if (json_object_set_new(o, hd_bench_side_keys[i], v) < 0)
                        json_decref(TAKE_PTR(o));
        }
        return o;
}

static int compare_figure(json_t *out, const json_t *ja, const json_t *jb)
{
        HdBenchFigure a, b;
        const HdBenchFigure *any = NULL;
        if (hd_bench_figure_load(ja, &a))
                any = &a;
        if (hd_bench_figure_load(jb, &b))
                any = any ?: &b;
        if (!any)
                return 0;
        if (any != &a)
                hd_bench_figure_find(NULL, b.workload, b.name, &a);
        else if (!jb)
                hd_bench_figure_find(NULL, a.workload, a.name, &b);
        json_t *e = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o}", "workload", any->workload, "name",
                              any->name, "unit", *a.unit ? a.unit : b.unit, "a", p50s(&a), "b",
                              p50s(&b), "change", change(&a, &b));
        return e && json_array_append_new(out, e) == 0 ? 0 : -ENOMEM;
}

json_t *hd_bench_compare(const json_t *a, const json_t *b)
{
        _cleanup_json_ json_t *diffs = json_array(), *figs = json_array();
        if (!diffs || !figs)
                return NULL;
        const json_t *ma = json_object_get(a, "manifest"), *mb = json_object_get(b, "manifest");
        int r;
        if (json_is_object(ma) && json_is_object(mb))
                r = diff_tree(diffs, "manifest", ma, mb, 0);
        else /* without both manifests nothing says the runs are alike */
                r = diff_add(diffs, "manifest", ma, mb);
        if (r < 0)
                return NULL;

        size_t i;
        const json_t *fa, *fb;
        json_array_foreach (json_object_get(a, "figures"), i, fa) {
                const char *w = hd_bench_str(fa, "workload"), *n = hd_bench_str(fa, "name");
                if (w && n && compare_figure(figs, fa, hd_bench_figure_json(b, w, n)) < 0)
                        return NULL;
        }
        json_array_foreach (json_object_get(b, "figures"), i, fb) {
                const char *w = hd_bench_str(fb, "workload"), *n = hd_bench_str(fb, "name");
                if (w && n && !hd_bench_figure_json(a, w, n) && compare_figure(figs, NULL, fb) < 0)
                        return NULL;
        }
        return json_pack("{s:b, s:O, s:O}", "comparable", json_array_size(diffs) == 0,
                         "differences", diffs, "figures", figs);
}
