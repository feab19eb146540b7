/*
 * The two charts as drawing calls, so SVG (HTML) and cairo (PDF) draw the
 * same picture. Daily availability: one bar per day from an axis floor chosen
 * so small dips stay visible (the largest of 99.9, 99, 95, 90, 0 at or below
 * both the target and the worst day), green at or above target, red below,
 * grey where the day had no eligible time. Latency: each service's daily p95
 * as a line, broken where a day has no data.
 */
#include <stdio.h>

#include "report_doc.h"
#include "report_fmt.h"

#define CHART_LEFT   44.0
#define CHART_RIGHT  8.0
#define CHART_TOP    20.0
#define CHART_BOTTOM 18.0

static const char *const report_chart_palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd",
                                                   "#8c564b", "#e377c2", "#7f7f7f", "#17becf"};

static double report_chart_floor(const struct report *r, const struct report_service *s)
{
    static const double floors[] = {99.9, 99, 95, 90, 0};
    double low = s->target_pct;
    size_t i;
    int k;

    for (k = 0; k < r->ndays; k++) {
        double v = s->daily[k].availability_pct;

        if (v >= 0 && v < low)
            low = v;
    }
    for (i = 0; i < sizeof(floors) / sizeof(floors[0]); i++) {
        if (floors[i] < low || floors[i] == 0)
            return floors[i];
    }
    return 0;
}

static void report_chart_frame(const struct report *r, const struct report_draw *dr,
                               const char *title)
{
    double pw = REPORT_CHART_W - CHART_LEFT - CHART_RIGHT;
    double slot = pw / r->ndays;
    char label[16];
    int k;

    dr->text(dr->ctx, 0, 12, title, -1, 9, "#222222");
    dr->line(dr->ctx, CHART_LEFT, REPORT_CHART_H - CHART_BOTTOM, REPORT_CHART_W - CHART_RIGHT,
             REPORT_CHART_H - CHART_BOTTOM, "#444444", 0.8, 0);
    for (k = 0; k < r->ndays; k++) {
        if (k != 0 && (k + 1) % 5 != 0)
            continue;
        snprintf(label, sizeof(label), "%d", k + 1);
        dr->text(dr->ctx, CHART_LEFT + (k + 0.5) * slot, REPORT_CHART_H - 5, label, 0, 7,
                 "#444444");
    }
}

static void report_chart_daily(const struct report *r, const struct report_service *s,
                               const struct report_draw *dr, const char *title)
{
    double pw = REPORT_CHART_W - CHART_LEFT - CHART_RIGHT;
    double ph = REPORT_CHART_H - CHART_TOP - CHART_BOTTOM;
    double base = REPORT_CHART_H - CHART_BOTTOM, slot = pw / r->ndays;
    double lo = report_chart_floor(r, s), ty;
    char label[REPORT_FMT_LEN + 16];
    int k;

    report_chart_frame(r, dr, title);
    for (k = 0; k < r->ndays; k++) {
        double v = s->daily[k].availability_pct, x = CHART_LEFT + k * slot + slot * 0.15;
        double h = (v - lo) / (100.0 - lo) * ph;

        if (v < 0) {
            dr->rect(dr->ctx, x, CHART_TOP, slot * 0.7, ph, "#dddddd");
            continue;
        }
        dr->rect(dr->ctx, x, base - h, slot * 0.7, h, v >= s->target_pct ? "#2e9e44" : "#d62728");
    }
    ty = base - (s->target_pct - lo) / (100.0 - lo) * ph;
    dr->line(dr->ctx, CHART_LEFT, ty, REPORT_CHART_W - CHART_RIGHT, ty, "#555555", 0.8, 1);
    report_fmt_exact(s->target_pct, label, sizeof(label));
    dr->text(dr->ctx, CHART_LEFT - 3, ty + 3, label, 1, 7, "#555555");
    dr->text(dr->ctx, CHART_LEFT - 3, CHART_TOP + 3, "100", 1, 7, "#444444");
    report_fmt_exact(lo, label, sizeof(label));
    dr->text(dr->ctx, CHART_LEFT - 3, base, label, 1, 7, "#444444");
}

/* 1, 2 or 5 × 10^k at or above v. */
static double report_chart_nice(double v)
{
    double step = 1;

    while (step * 10 <= v)
        step *= 10;
    while (step > v * 10 && step > 1e-3)
        step /= 10;
    if (v <= step)
        return step;
    if (v <= 2 * step)
        return 2 * step;
    if (v <= 5 * step)
        return 5 * step;
    return 10 * step;
}

static void report_chart_latency(const struct report *r, const struct report_draw *dr,
                                 const char *title)
{
    double pw = REPORT_CHART_W - CHART_LEFT - CHART_RIGHT;
    double ph = REPORT_CHART_H - CHART_TOP - CHART_BOTTOM;
    double base = REPORT_CHART_H - CHART_BOTTOM, slot = pw / r->ndays, top = 0;
    size_t i, n = r->services_count ? r->services_count : 1;
    char label[REPORT_FMT_LEN];
    int k;

    for (i = 0; i < n; i++)
        for (k = 0; k < r->ndays; k++) {
            const struct report_service *s = r->services_count ? &r->services[i] : &r->overall;

            if (s->daily[k].p95_ms > top)
                top = s->daily[k].p95_ms;
        }
    top = report_chart_nice(top > 0 ? top : 1);
    report_chart_frame(r, dr, title);
    for (i = 0; i < n; i++) {
        const struct report_service *s = r->services_count ? &r->services[i] : &r->overall;
        const char *rgb = report_chart_palette[i % 8];

        for (k = 1; k < r->ndays; k++) {
            double a = s->daily[k - 1].p95_ms, b = s->daily[k].p95_ms;

            if (a < 0 || b < 0)
                continue;
            dr->line(dr->ctx, CHART_LEFT + (k - 0.5) * slot, base - a / top * ph,
                     CHART_LEFT + (k + 0.5) * slot, base - b / top * ph, rgb, 1.5, 0);
        }
        dr->rect(dr->ctx, REPORT_CHART_W - 150, 4 + 10.0 * i, 8, 6, rgb);
        dr->text(dr->ctx, REPORT_CHART_W - 138, 10 + 10.0 * i, s->name, -1, 7, "#222222");
    }
    snprintf(label, sizeof(label), "%g ms", top);
    dr->text(dr->ctx, CHART_LEFT - 3, CHART_TOP + 3, label, 1, 7, "#444444");
    dr->text(dr->ctx, CHART_LEFT - 3, base, "0", 1, 7, "#444444");
}

void report_chart_draw(const struct report_doc *d, const struct report_block *b,
                       const struct report_draw *draw)
{
    char title[REPORT_NAME_LEN + 64];

    if (b->chart == REPORT_CHART_DAILY) {
        snprintf(title, sizeof(title), "%s: availability per day (%%), target dashed",
                 b->svc->name);
        report_chart_daily(d->r, b->svc, draw, title);
    } else {
        report_chart_latency(d->r, draw, "p95 response time per day (ms)");
    }
}
