/*
 * Internal to collector/report/: the report's content as a list of blocks
 * (headings, paragraphs, tables of formatted text, charts), built once from
 * the model so that HTML and PDF show the same words and figures; each
 * renderer only lays the blocks out. Charts are described as drawing calls
 * through struct report_draw, which SVG and cairo each implement.
 */
#ifndef NINES_REPORT_DOC_H
#define NINES_REPORT_DOC_H

#include <stddef.h>

#include "report.h"
#include "tz.h"

enum report_block_kind {
    REPORT_BLOCK_TITLE = 0,
    REPORT_BLOCK_HEADING,
    REPORT_BLOCK_PARA,
    REPORT_BLOCK_TABLE,
    REPORT_BLOCK_CHART,
};

enum report_mark { REPORT_MARK_NONE = 0, REPORT_MARK_OK, REPORT_MARK_BAD };
enum report_chart_kind { REPORT_CHART_DAILY = 0, REPORT_CHART_LATENCY };

#define REPORT_DOC_MAX_COLS 12

struct report_cell {
    char *text;
    int mark; /* enum report_mark */
};

struct report_block {
    int kind;
    char *text; /* title, heading, paragraph, chart caption; NULL for a table */
    /* table: row 0 is the header */
    size_t ncols;
    size_t ncells;
    size_t cap;
    struct report_cell *cells;
    double widths[REPORT_DOC_MAX_COLS]; /* relative column widths */
    /* chart */
    int chart;
    const struct report_service *svc;
};

struct report_doc {
    const struct report *r;
    struct nines_tz *tz;
    struct report_block *v;
    size_t n;
    size_t cap;
    int failed; /* NINES_ENOMEM once any allocation failed */
};

/* Checks r and builds its blocks; report_doc_close() in every case. */
int report_doc_build(const struct report *r, struct report_doc *d, struct nines_err *err);
void report_doc_close(struct report_doc *d);

/* Drawing calls for a chart. Colours are "#rrggbb"; anchor -1 left, 0 centre, 1 right. */
struct report_draw {
    void (*rect)(void *ctx, double x, double y, double w, double h, const char *rgb);
    void (*line)(void *ctx, double x1, double y1, double x2, double y2, const char *rgb,
                 double width, int dashed);
    void (*text)(void *ctx, double x, double y, const char *s, int anchor, double size,
                 const char *rgb);
    void *ctx;
};

#define REPORT_CHART_W 520.0
#define REPORT_CHART_H 150.0

/* report_chart.c: draws block b's chart in a REPORT_CHART_W × REPORT_CHART_H box at 0,0. */
void report_chart_draw(const struct report_doc *d, const struct report_block *b,
                       const struct report_draw *draw);

#endif
