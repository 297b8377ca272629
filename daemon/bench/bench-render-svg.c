/* The SVG chart of a benchmark result (hd_bench_svg): one panel per unit, a group of
 * horizontal bars per figure. Coordinates go through printf's %f, whose decimal point
 * is '.' because hostd never calls setlocale(). */
#include <math.h>
#include <string.h>

#include "bench-render-internal.h"
#include "hd-macro.h"

static void xml(FILE *f, const char *s, size_t max)
{
        hd_bench_put_text(f, s, HD_BENCH_ESC_XML, max);
}

/* A bar's label: as hd_bench_fmt_human, except that the seconds of a panel whose axis is in
 * seconds stay seconds, so that labels and axis read alike. */
static void fmt_bar(char buf[static HD_BENCH_TXT_MAX], double v, const char *unit)
{
        char num[HD_BENCH_NUM_MAX];
        if (!hd_bench_unit_is(unit, "s")) {
                hd_bench_fmt_human(buf, v, unit);
                return;
        }
        hd_bench_fmt_num(num, v);
        snprintf(buf, HD_BENCH_TXT_MAX, "%s s", num);
}

/* Layout, in px. Bars run horizontally: the figure names then sit on the left at full
 * length, and a group of two or three bars reads like a row of the Markdown table. */
#define SVG_W      960
#define MARGIN     16
#define LABEL_X    24
#define PLOT_X0    290.0
#define PLOT_X1    800.0
#define BAR_H      14
#define BAR_GAP    4
#define GROUP_PAD  9
#define GROUP_MIN  50
#define PANEL_HEAD 30
#define PANEL_AXIS 42
#define PANEL_GAP  18
#define MISSING_W  120.0
#define HEADER_H   108

/* A panel whose largest value is more than this many times its smallest positive one
 * draws on a log scale. Linear bars show ratios honestly while they fit: cpu (12×) and
 * io (5×) do. Lifecycle times (container 15 ms, VM 3 s) and memory (2.5 MiB vs 230 MiB)
 * do not: on a linear axis the container's bar would be a 2 px sliver, which reads as
 * "nothing" rather than "15 ms". A log axis with labelled decades keeps both visible,
 * and every bar carries its value, so no one has to read lengths off a log axis. */
#define LOG_THRESHOLD 20.0

static const char *const side_colours[HD_BENCH_SIDES] = { "#3b6fb6", "#e07b24", "#9e9e9e" };

typedef struct {
        bool log;
        double lo, hi, step;
} Scale;

static const struct {
        const char *unit, *title;
} panel_titles[] = {
        { "ms", "Lifecycle times" },        { "s", "CPU job time" },
        { "MiB", "Memory and image size" }, { "MiB/s", "I/O throughput" },
        { "instances", "Density" },
};

static double scale_x(const Scale *sc, double v)
{
        double t;
        if (sc->log)
                t = v <= sc->lo ? 0 : (log10(v) - log10(sc->lo)) / (log10(sc->hi) - log10(sc->lo));
        else
                t = v <= 0 ? 0 : v / sc->hi;
        t = t < 0 ? 0 : t > 1 ? 1 : t;
        return PLOT_X0 + t * (PLOT_X1 - PLOT_X0);
}

/* 1, 2, 2.5 or 5 times a power of ten, at least raw. */
static double nice_step(double raw)
{
        double mag = pow(10, floor(log10(raw)));
        double r = raw / mag;
        return (r <= 1 ? 1 : r <= 2 ? 2 : r <= 2.5 ? 2.5 : r <= 5 ? 5 : 10) * mag;
}

static void scale_fit(Scale *sc, const HdBenchFigure *figs, size_t n, const char *unit)
{
        double maxv = 0, minpos = INFINITY;
        for (size_t k = 0; k < n; k++) {
                if (strcmp(figs[k].unit, unit) != 0)
                        continue;
                for (int i = 0; i < HD_BENCH_SIDES; i++) {
                        const HdBenchSide *s = &figs[k].side[i];
                        if (s->missing)
                                continue;
                        double vals[] = { s->p50, s->has_min ? s->min : s->p50,
                                          s->has_max ? s->max : s->p50 };
                        for (size_t j = 0; j < HD_ARRAY_SIZE(vals); j++) {
                                maxv = fmax(maxv, vals[j]);
                                if (vals[j] > 0)
                                        minpos = fmin(minpos, vals[j]);
                        }
                }
        }
        if (maxv <= 0) {
                *sc = (Scale){ .log = false, .lo = 0, .hi = 1, .step = 0.25 };
        } else if (maxv / minpos > LOG_THRESHOLD) {
                double lo = pow(10, floor(log10(minpos))), hi = pow(10, ceil(log10(maxv)));
                if (hi <= lo)
                        hi = lo * 10;
                if (hi / lo > 1e8) /* eight decades are as many as the width can label */
                        lo = hi / 1e8;
                *sc = (Scale){ .log = true, .lo = lo, .hi = hi };
        } else {
                double step = nice_step(maxv / 4);
                *sc = (Scale){
                        .log = false, .lo = 0, .hi = ceil(maxv / step) * step, .step = step
                };
        }
}

static void fmt_tick(char buf[static HD_BENCH_NUM_MAX], double v)
{
        if (v >= 1000 && v < 1e15 && v == floor(v))
                hd_bench_fmt_num(buf, v);
        else
                snprintf(buf, HD_BENCH_NUM_MAX, "%g", v);
}

static int group_height(const HdBenchFigure *fig)
{
        int bars = fig->has_host ? 3 : 2;
        int h = 2 * GROUP_PAD + bars * BAR_H + (bars - 1) * BAR_GAP;
        return h < GROUP_MIN ? GROUP_MIN : h;
}

static void svg_tooltip(FILE *f, const HdBenchFigure *fig, int i)
{
        const HdBenchSide *s = &fig->side[i];
        char v[HD_BENCH_TXT_MAX], r[HD_BENCH_NUM_MAX];
        fprintf(f, "<title>%s: ", hd_bench_side_names[i]);
        if (s->missing) {
                fputs("missing: ", f);
                xml(f, s->missing, 0);
                fputs("</title>", f);
                return;
        }
        fmt_bar(v, s->p50, fig->unit);
        fputs("p50 ", f);
        xml(f, v, 0);
        const struct {
                const char *name;
                bool has;
                double v;
        } more[] = { { "p95", s->has_p95, s->p95 },
                     { "min", s->has_min, s->min },
                     { "max", s->has_max, s->max } };
        for (size_t k = 0; k < HD_ARRAY_SIZE(more); k++) {
                if (!more[k].has)
                        continue;
                fmt_bar(v, more[k].v, fig->unit);
                fprintf(f, ", %s ", more[k].name);
                xml(f, v, 0);
        }
        if (s->has_n)
                fprintf(f, ", n %.0f", s->n);
        if (s->has_vs_host) {
                hd_bench_fmt_ratio(r, s->vs_host);
                fprintf(f, ", %s host", r);
        }
        fputs("</title>", f);
}

static void svg_bar(FILE *f, const HdBenchFigure *fig, int i, const Scale *sc, double y)
{
        const HdBenchSide *s = &fig->side[i];
        fprintf(f, "<g>");
        svg_tooltip(f, fig, i);
        if (s->missing) {
                fprintf(f,
                        "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" "
                        "fill=\"url(#hatch)\" stroke=\"#9a9a9a\" stroke-dasharray=\"3 2\"/>",
                        PLOT_X0, y, MISSING_W, BAR_H);
                fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"missing\">missing: ",
                        PLOT_X0 + MISSING_W + 6, y + BAR_H - 3);
                xml(f, s->missing, 72);
                fputs("</text></g>\n", f);
                return;
        }
        double x = scale_x(sc, s->p50);
        double w = x - PLOT_X0;
        if (w < 1 && s->p50 > 0)
                w = 1; /* a value that is there shows as a hairline, not as nothing */
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>",
                PLOT_X0, y, w, BAR_H, side_colours[i]);
        double end = PLOT_X0 + w;
        if (s->has_min && s->has_max && s->max > s->min) {
                double x_min = scale_x(sc, s->min), x_max = scale_x(sc, s->max);
                double cy = y + BAR_H / 2.0;
                fprintf(f,
                        "<path d=\"M%.1f %.1fH%.1fM%.1f %.1fV%.1fM%.1f %.1fV%.1f\" "
                        "class=\"whisker\"/>",
                        x_min, cy, x_max, x_min, cy - 4, cy + 4, x_max, cy - 4, cy + 4);
                end = fmax(end, x_max);
        }
        char v[HD_BENCH_TXT_MAX];
        fmt_bar(v, s->p50, fig->unit);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"value\">", end + 6, y + BAR_H - 3);
        xml(f, v, 0);
        fputs("</text></g>\n", f);
}

static void svg_group(FILE *f, const HdBenchFigure *fig, const Scale *sc, double y, bool band)
{
        int h = group_height(fig);
        if (band)
                fprintf(f,
                        "<rect x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%d\" fill=\"#f5f6f8\"/>\n",
                        MARGIN, y, SVG_W - 2 * MARGIN, h);
        fprintf(f, "<text x=\"%d\" y=\"%.1f\" class=\"fig\"><title>", LABEL_X, y + 18);
        xml(f, fig->workload, 0);
        fputs(" / ", f);
        xml(f, fig->name, 0);
        fputs("</title>", f);
        xml(f, fig->label, 28);
        fprintf(f, "</text>\n<text x=\"%d\" y=\"%.1f\" class=\"note\">%s is better</text>\n",
                LABEL_X, y + 32, fig->higher_better ? "higher" : "lower");
        if (fig->has_ratio) {
                char r[HD_BENCH_NUM_MAX];
                hd_bench_fmt_ratio(r, fig->ratio);
                fprintf(f, "<text x=\"%d\" y=\"%.1f\" class=\"note\">VM/container %s</text>\n",
                        LABEL_X, y + 45, r);
        }
        int bars = fig->has_host ? 3 : 2;
        double top = y + (h - (bars * BAR_H + (bars - 1) * BAR_GAP)) / 2.0;
        for (int i = 0; i < bars; i++) {
                double by = top + i * (BAR_H + BAR_GAP);
                fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"side\">%s</text>\n", PLOT_X0 - 8,
                        by + BAR_H - 3, hd_bench_side_names[i]);
                svg_bar(f, fig, i, sc, by);
        }
}

static void svg_axis(FILE *f, const Scale *sc, const char *unit, double bottom)
{
        char t[HD_BENCH_NUM_MAX];
        fprintf(f, "<path d=\"M%.1f %.1fH%.1f\" class=\"axis\"/>\n", PLOT_X0, bottom, PLOT_X1);
        if (sc->log) {
                for (double d = sc->lo; d <= sc->hi * 1.0001; d *= 10) {
                        double x = scale_x(sc, d);
                        fmt_tick(t, d);
                        fprintf(f,
                                "<path d=\"M%.1f %.1fV%.1f\" class=\"axis\"/>"
                                "<text x=\"%.1f\" y=\"%.1f\" class=\"tick\">%s</text>\n",
                                x, bottom, bottom + 4, x, bottom + 15, t);
                }
        } else {
                for (int k = 0; k * sc->step <= sc->hi * 1.0001; k++) {
                        double v = k * sc->step, x = scale_x(sc, v);
                        fmt_tick(t, v);
                        fprintf(f,
                                "<path d=\"M%.1f %.1fV%.1f\" class=\"axis\"/>"
                                "<text x=\"%.1f\" y=\"%.1f\" class=\"tick\">%s</text>\n",
                                x, bottom, bottom + 4, x, bottom + 15, t);
                }
        }
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"axistitle\">", (PLOT_X0 + PLOT_X1) / 2,
                bottom + 32);
        xml(f, *unit ? unit : "(no unit)", 24);
        fputs(sc->log ? " (log scale)</text>\n" : "</text>\n", f);
}

static void svg_grid(FILE *f, const Scale *sc, double top, double bottom)
{
        if (sc->log) {
                for (double d = sc->lo; d <= sc->hi * 1.0001; d *= 10) {
                        fprintf(f, "<path d=\"M%.1f %.1fV%.1f\" class=\"grid\"/>\n", scale_x(sc, d),
                                top, bottom);
                        for (int m = 2; m <= 5 && d * m < sc->hi; m += 3)
                                fprintf(f, "<path d=\"M%.1f %.1fV%.1f\" class=\"minor\"/>\n",
                                        scale_x(sc, d * m), top, bottom);
                }
        } else {
                for (int k = 0; k * sc->step <= sc->hi * 1.0001; k++)
                        fprintf(f, "<path d=\"M%.1f %.1fV%.1f\" class=\"grid\"/>\n",
                                scale_x(sc, k * sc->step), top, bottom);
        }
}

static int panel_height(const HdBenchFigure *figs, size_t n, const char *unit)
{
        int h = PANEL_HEAD + PANEL_AXIS + PANEL_GAP;
        for (size_t k = 0; k < n; k++)
                if (strcmp(figs[k].unit, unit) == 0)
                        h += group_height(&figs[k]);
        return h;
}

static double svg_panel(FILE *f, const HdBenchFigure *figs, size_t n, const char *unit, double y)
{
        Scale sc;
        scale_fit(&sc, figs, n, unit);
        const char *title = NULL;
        for (size_t k = 0; k < HD_ARRAY_SIZE(panel_titles); k++)
                if (strcmp(panel_titles[k].unit, unit) == 0)
                        title = panel_titles[k].title;
        fprintf(f, "<text x=\"%d\" y=\"%.1f\" class=\"panel\">", LABEL_X, y + 18);
        if (title)
                fprintf(f, "%s (", title);
        xml(f, *unit ? unit : "no unit", 24);
        fputs(title ? ")</text>\n" : "</text>\n", f);
        fprintf(f, "<text x=\"%d\" y=\"%.1f\" class=\"scale\">%s</text>\n", SVG_W - MARGIN - 8,
                y + 18,
                sc.log ? "log scale: ×10 from one labelled line to the next"
                       : "linear scale from 0");

        double top = y + PANEL_HEAD, bottom = top;
        for (size_t k = 0; k < n; k++)
                if (strcmp(figs[k].unit, unit) == 0)
                        bottom += group_height(&figs[k]);
        svg_grid(f, &sc, top, bottom);
        double gy = top;
        bool band = false;
        for (size_t k = 0; k < n; k++) {
                if (strcmp(figs[k].unit, unit) != 0)
                        continue;
                svg_group(f, &figs[k], &sc, gy, band);
                gy += group_height(&figs[k]);
                band = !band;
        }
        svg_axis(f, &sc, unit, bottom);
        return bottom + PANEL_AXIS + PANEL_GAP;
}

/* Whether figs[k] is the first of its unit, so that each unit gets one panel, in the
 * order the result first names it. */
static bool unit_first(const HdBenchFigure *figs, size_t k)
{
        for (size_t j = 0; j < k; j++)
                if (strcmp(figs[j].unit, figs[k].unit) == 0)
                        return false;
        return true;
}

static void sep(FILE *f, bool *first)
{
        if (!*first)
                fputs(" · ", f);
        *first = false;
}

/* Title and three lines of context, each kept short enough for the width: the host,
 * the images, then the envelope, accelerator and versions. */
static void svg_header(FILE *f, const json_t *result)
{
        const json_t *m = json_object_get(result, "manifest");
        const json_t *host = json_object_get(m, "host"), *ver = json_object_get(m, "versions");
        const json_t *images = json_object_get(m, "images"), *env = json_object_get(m, "envelope");
        const json_t *req = json_object_get(result, "request");
        const char *started = hd_bench_str(m, "started_at"), *s;
        char buf[HD_BENCH_TXT_MAX];
        double v, w;

        fputs("<text x=\"24\" y=\"36\" class=\"title\">hostd ", f);
        xml(f, hd_bench_str(ver, "hostd") ?: "(version unknown)", 24);
        fputs(" · VM vs container", f);
        if (started) {
                /* The date of an RFC 3339 time (the time of day is in the Markdown's
                 * manifest); anything else as it is. */
                char date[11] = "";
                if (strlen(started) >= 10 && started[4] == '-')
                        memcpy(date, started, 10);
                fputs(" · ", f);
                xml(f, *date ? date : started, 32);
        }

        fputs("</text>\n<text x=\"24\" y=\"58\" class=\"sub\">host: ", f);
        xml(f, hd_bench_str(host, "cpu_model") ?: "unknown CPU", 48);
        if (hd_bench_num(host, "cpus", &v))
                fprintf(f, ", %.0f CPUs", v);
        if (hd_bench_num(host, "memory_mb", &v)) {
                hd_bench_fmt_human(buf, v, "MiB");
                fprintf(f, ", %s", buf);
        }
        if ((s = hd_bench_str(host, "kernel"))) {
                fputs(", Linux ", f);
                xml(f, s, 40);
        }
        if ((s = hd_bench_str(host, "cgroup"))) {
                fputs(", cgroup ", f);
                xml(f, s, 8);
        }

        fputs("</text>\n<text x=\"24\" y=\"76\" class=\"sub\">images: ", f);
        for (int i = HD_BENCH_VM; i <= HD_BENCH_CT; i++) {
                const json_t *img = json_object_get(images, hd_bench_side_keys[i]);
                fprintf(f, "%s%s ", i == HD_BENCH_VM ? "" : " · ", hd_bench_side_names[i]);
                xml(f, hd_bench_str(img, "ref") ?: "unknown", 32);
                if ((s = hd_bench_str(img, "digest"))) {
                        fputs(" (", f);
                        xml(f, s, 20);
                        fputc(')', f);
                }
        }

        fputs("</text>\n<text x=\"24\" y=\"94\" class=\"sub\">", f);
        bool first = true;
        if (json_is_object(env)) {
                sep(f, &first);
                fputs("envelope", f);
                if (hd_bench_num(env, "vcpus", &v))
                        fprintf(f, " %g vCPU", v);
                if (hd_bench_num(env, "memory_mb", &v))
                        fprintf(f, ", %.0f MiB", v);
                if ((s = hd_bench_str(env, "cpuset"))) {
                        fputs(", cpuset ", f);
                        xml(f, s, 16);
                }
        }
        sep(f, &first);
        fputs("accel ", f);
        xml(f, hd_bench_str(m, "accel") ?: "unknown", 16);
        const char *const tools[] = { "qemu", "libvirt" };
        for (size_t k = 0; k < HD_ARRAY_SIZE(tools); k++) {
                if (!(s = hd_bench_str(ver, tools[k])))
                        continue;
                sep(f, &first);
                fprintf(f, "%s ", tools[k]);
                xml(f, s, 16);
        }
        if (hd_bench_num(req, "repetitions", &v)) {
                sep(f, &first);
                fprintf(f, "%.0f runs", v);
                if (hd_bench_num(req, "warmup", &w))
                        fprintf(f, " after %.0f warm-up", w);
        }
        fputs("</text>\n", f);
}

static double svg_banner(FILE *f, const json_t *result, double y)
{
        const char *why = hd_bench_str(json_object_get(result, "manifest"), "accel_reason");
        fprintf(f,
                "<rect x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"46\" rx=\"6\" fill=\"#fff3dc\" "
                "stroke=\"#d98200\" stroke-width=\"1.5\"/>\n"
                "<text x=\"32\" y=\"%.1f\" class=\"warn\">⚠ " HD_BENCH_TCG_WARNING "</text>\n",
                MARGIN, y, SVG_W - 2 * MARGIN, y + 19);
        fprintf(f, "<text x=\"32\" y=\"%.1f\" class=\"warnwhy\">", y + 36);
        if (why) {
                fputs("Why: ", f);
                xml(f, why, 120);
        } else {
                fputs("Guest work runs 5–20× slower than under KVM; lifecycle and memory "
                      "figures are inflated too.",
                      f);
        }
        fputs("</text>\n", f);
        return y + 58;
}

static double svg_legend(FILE *f, const json_t *result, double y)
{
        const json_t *images = json_object_get(json_object_get(result, "manifest"), "images");
        double x = LABEL_X;
        for (int i = 0; i < HD_BENCH_SIDES; i++) {
                fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"14\" fill=\"%s\"/>",
                        x, y, side_colours[i]);
                fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"legend\">", x + 20, y + 12);
                const char *ref =
                        hd_bench_str(json_object_get(images, hd_bench_side_keys[i]), "ref");
                size_t chars;
                if (i == HD_BENCH_HOST) {
                        const char *text = "host (the same job, no isolation)";
                        fputs(text, f);
                        chars = hd_bench_utf8_count(text);
                } else {
                        fputs(hd_bench_side_names[i], f);
                        chars = strlen(hd_bench_side_names[i]);
                        if (ref) {
                                fputs(" (", f);
                                xml(f, ref, 20);
                                fputc(')', f);
                                size_t rc = hd_bench_utf8_count(ref);
                                chars += 3 + (rc > 20 ? 20 : rc);
                        }
                }
                fputs("</text>\n", f);
                x += 20 + 7.0 * chars + 24; /* about 7 px a character at 12 px */
        }
        fprintf(f,
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"28\" height=\"14\" fill=\"url(#hatch)\" "
                "stroke=\"#9a9a9a\" stroke-dasharray=\"3 2\"/>"
                "<text x=\"%.1f\" y=\"%.1f\" class=\"legend\">missing (the reason is beside it)"
                "</text>\n",
                x, y, x + 34, y + 12);
        fprintf(f,
                "<path d=\"M%d %.1fH%d M%d %.1fV%.1f M%d %.1fV%.1f\" class=\"whisker\"/>"
                "<text x=\"%d\" y=\"%.1f\" class=\"legend\">bar: p50 · whisker: min–max</text>\n",
                LABEL_X, y + 31, LABEL_X + 24, LABEL_X, y + 27, y + 35, LABEL_X + 24, y + 27,
                y + 35, LABEL_X + 32, y + 35);
        return y + 50;
}

static const char svg_style[] =
        "<style>\n"
        "text { font-family: 'DejaVu Sans', 'Helvetica Neue', Arial, sans-serif; font-size: "
        "12px; fill: #222; }\n"
        ".title { font-size: 20px; font-weight: bold; }\n"
        ".sub { fill: #555; }\n"
        ".warn { font-size: 14px; font-weight: bold; fill: #8a4500; }\n"
        ".warnwhy { font-size: 11px; fill: #8a4500; }\n"
        ".panel { font-size: 15px; font-weight: bold; }\n"
        ".scale { font-size: 11px; fill: #666; text-anchor: end; }\n"
        ".fig { font-size: 13px; font-weight: 600; }\n"
        ".note { font-size: 11px; fill: #666; }\n"
        ".side { font-size: 11px; fill: #555; text-anchor: end; }\n"
        ".value { font-size: 11px; }\n"
        ".missing { font-size: 11px; fill: #666; font-style: italic; }\n"
        ".tick { font-size: 11px; fill: #555; text-anchor: middle; }\n"
        ".axistitle { font-size: 11px; fill: #444; text-anchor: middle; }\n"
        ".legend { font-size: 12px; }\n"
        ".foot { font-size: 11px; fill: #666; }\n"
        ".grid { stroke: #dcdcdc; stroke-width: 1; }\n"
        ".minor { stroke: #eeeeee; stroke-width: 1; }\n"
        ".axis { stroke: #888; stroke-width: 1; fill: none; }\n"
        ".whisker { stroke: #333; stroke-width: 1.2; fill: none; }\n"
        "</style>\n"
        "<defs><pattern id=\"hatch\" patternUnits=\"userSpaceOnUse\" width=\"6\" height=\"6\" "
        "patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"#f2f2f2\"/>"
        "<path d=\"M0 0V6\" stroke=\"#b5b5b5\" stroke-width=\"2\"/></pattern></defs>\n";

char *hd_bench_svg(const json_t *result)
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

        /* The height is the sum of the parts below, computed before drawing them. */
        int height = HEADER_H + (tcg ? 58 : 0) + 50 + 40;
        for (size_t k = 0; k < n; k++)
                if (unit_first(figs, k))
                        height += panel_height(figs, n, figs[k].unit);
        if (n == 0)
                height += 40;

        fprintf(f,
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                "viewBox=\"0 0 %d %d\" role=\"img\">\n"
                "<title>hostd benchmark: VM vs container</title>\n%s"
                "<rect width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n",
                SVG_W, height, SVG_W, height, svg_style, SVG_W, height);
        svg_header(f, result);
        double y = HEADER_H;
        if (tcg)
                y = svg_banner(f, result, y);
        y = svg_legend(f, result, y);
        for (size_t k = 0; k < n; k++)
                if (unit_first(figs, k))
                        y = svg_panel(f, figs, n, figs[k].unit, y);
        if (n == 0) {
                fprintf(f,
                        "<text x=\"24\" y=\"%.1f\" class=\"sub\">No figures in this "
                        "result.</text>\n",
                        y + 20);
                y += 40;
        }
        const char *id = hd_bench_str(result, "id");
        fprintf(f,
                "<text x=\"24\" y=\"%.1f\" class=\"foot\">Each panel has its own scale. "
                "VM/container is the VM's p50 over the "
                "container's. Run ",
                y + 16);
        xml(f, id ?: "(no id)", 40);
        fputs(", status ", f);
        xml(f, hd_bench_str(result, "status") ?: "unknown", 16);
        fputs(".</text>\n</svg>\n", f);
        return hd_bench_stream_finish(&f, &buf);
}
