/*
 * The report as an A4 PDF: cairo for the page and vector charts, pango for
 * text (DejaVu Sans, embedded as a subset by cairo). The same blocks as the
 * HTML, laid out top to bottom between 40 pt margins.
 *
 * Layout rules (they decide the page count):
 *   - a heading is kept with at least 60 pt of what follows it;
 *   - a paragraph or chart never splits: it moves to the next page whole;
 *   - a table row never splits; a table that breaks repeats its header row;
 *   - every page ends with "Page N of M", so the layout runs twice: once to
 *     count pages (output discarded), once to write with M known. Both passes
 *     make identical decisions because the footer is outside the body.
 */
#include <cairo-pdf.h>
#include <errno.h>
#include <pango/pangocairo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report_doc.h"
#include "report_fmt.h"

#define PDF_W           595.28
#define PDF_H           841.89
#define PDF_MARGIN      40.0
#define PDF_BODY_BOTTOM (PDF_H - 50.0)
#define PDF_CELL_PAD    2.5
#define PDF_FONT        "DejaVu Sans"

struct report_pdf {
    cairo_t *cr;
    PangoLayout *layout;
    const struct report_doc *d;
    double y;
    int page;  /* 1-based, the page being drawn */
    int pages; /* total, known in the second pass (0 while counting) */
};

static void report_pdf_rgb(cairo_t *cr, const char *rgb)
{
    unsigned v = (unsigned)strtoul(rgb + 1, NULL, 16);

    cairo_set_source_rgb(cr, (v >> 16 & 255) / 255.0, (v >> 8 & 255) / 255.0, (v & 255) / 255.0);
}

/* Sets the layout's text, font and wrap width (width <= 0: no wrapping). */
static void report_pdf_setup(struct report_pdf *p, const char *text, double size, int bold,
                             double width)
{
    PangoFontDescription *fd = pango_font_description_new();

    pango_font_description_set_family(fd, PDF_FONT);
    pango_font_description_set_size(fd, (int)(size * PANGO_SCALE));
    pango_font_description_set_weight(fd, bold ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL);
    pango_layout_set_font_description(p->layout, fd);
    pango_font_description_free(fd);
    pango_layout_set_wrap(p->layout, PANGO_WRAP_WORD_CHAR);
    pango_layout_set_width(p->layout, width > 0 ? (int)(width * PANGO_SCALE) : -1);
    pango_layout_set_text(p->layout, text, -1);
}

static double report_pdf_height(struct report_pdf *p, const char *text, double size, int bold,
                                double width)
{
    int w, h;

    report_pdf_setup(p, text, size, bold, width);
    pango_layout_get_size(p->layout, &w, &h);
    return (double)h / PANGO_SCALE;
}

static void report_pdf_show(struct report_pdf *p, double x, double y, const char *text,
                            double size, int bold, double width, const char *rgb)
{
    report_pdf_setup(p, text, size, bold, width);
    report_pdf_rgb(p->cr, rgb);
    cairo_move_to(p->cr, x, y);
    pango_cairo_show_layout(p->cr, p->layout);
}

static void report_pdf_footer(struct report_pdf *p)
{
    char text[64];

    if (p->pages > 0)
        snprintf(text, sizeof(text), "Page %d of %d", p->page, p->pages);
    else
        snprintf(text, sizeof(text), "Page %d", p->page);
    report_pdf_show(p, PDF_MARGIN, PDF_H - 32, p->d->v[0].text, 7, 0, 380, "#666666");
    report_pdf_setup(p, text, 7, 0, -1);
    {
        int w, h;

        pango_layout_get_size(p->layout, &w, &h);
        report_pdf_show(p, PDF_W - PDF_MARGIN - (double)w / PANGO_SCALE, PDF_H - 32, text, 7, 0,
                        -1, "#666666");
    }
}

static void report_pdf_new_page(struct report_pdf *p)
{
    report_pdf_footer(p);
    cairo_show_page(p->cr);
    p->page++;
    p->y = PDF_MARGIN;
}

/* Starts a new page unless h more points fit on this one. */
static int report_pdf_ensure(struct report_pdf *p, double h)
{
    if (p->y + h <= PDF_BODY_BOTTOM || p->y == PDF_MARGIN)
        return 0;
    report_pdf_new_page(p);
    return 1;
}

static void report_pdf_cairo_rect(void *ctx, double x, double y, double w, double h,
                                  const char *rgb)
{
    struct report_pdf *p = ctx;

    report_pdf_rgb(p->cr, rgb);
    cairo_rectangle(p->cr, x, y, w, h);
    cairo_fill(p->cr);
}

static void report_pdf_cairo_line(void *ctx, double x1, double y1, double x2, double y2,
                                  const char *rgb, double width, int dashed)
{
    struct report_pdf *p = ctx;
    static const double dash[] = {4, 3};

    report_pdf_rgb(p->cr, rgb);
    cairo_set_line_width(p->cr, width);
    cairo_set_dash(p->cr, dash, dashed ? 2 : 0, 0);
    cairo_move_to(p->cr, x1, y1);
    cairo_line_to(p->cr, x2, y2);
    cairo_stroke(p->cr);
    cairo_set_dash(p->cr, dash, 0, 0);
}

/* (x, y) is the baseline point, as in SVG. */
static void report_pdf_cairo_text(void *ctx, double x, double y, const char *s, int anchor,
                                  double size, const char *rgb)
{
    struct report_pdf *p = ctx;
    int w, h;
    double base;

    report_pdf_setup(p, s, size, 0, -1);
    pango_layout_get_size(p->layout, &w, &h);
    base = (double)pango_layout_get_baseline(p->layout) / PANGO_SCALE;
    x -= anchor < 0 ? 0 : anchor > 0 ? (double)w / PANGO_SCALE : (double)w / PANGO_SCALE / 2;
    report_pdf_rgb(p->cr, rgb);
    cairo_move_to(p->cr, x, y - base);
    pango_cairo_show_layout(p->cr, p->layout);
}

static void report_pdf_chart(struct report_pdf *p, const struct report_block *b)
{
    double scale = (PDF_W - 2 * PDF_MARGIN) / REPORT_CHART_W;
    struct report_draw draw = {report_pdf_cairo_rect, report_pdf_cairo_line, report_pdf_cairo_text,
                               p};

    report_pdf_ensure(p, REPORT_CHART_H * scale + 8);
    cairo_save(p->cr);
    cairo_translate(p->cr, PDF_MARGIN, p->y);
    cairo_scale(p->cr, scale, scale);
    report_chart_draw(p->d, b, &draw);
    cairo_restore(p->cr);
    p->y += REPORT_CHART_H * scale + 8;
}

#define PDF_TABLE_SIZE 7.0

/* Height of row `row` of t, each cell wrapped to its column width. */
static double report_pdf_row_height(struct report_pdf *p, const struct report_block *t,
                                    const double *colw, size_t row)
{
    double hmax = 0;
    size_t c;

    for (c = 0; c < t->ncols; c++) {
        double h = report_pdf_height(p, t->cells[row * t->ncols + c].text, PDF_TABLE_SIZE,
                                     row == 0, colw[c] - 2 * PDF_CELL_PAD);

        if (h > hmax)
            hmax = h;
    }
    return hmax + 2 * PDF_CELL_PAD;
}

static void report_pdf_row(struct report_pdf *p, const struct report_block *t, const double *colw,
                           size_t row, double h)
{
    static const char *const ink[] = {"#222222", "#1a7f37", "#c62828"};
    double x = PDF_MARGIN;
    size_t c;

    for (c = 0; c < t->ncols; c++) {
        const struct report_cell *cell = &t->cells[row * t->ncols + c];

        if (row == 0) {
            report_pdf_rgb(p->cr, "#eeeeee");
            cairo_rectangle(p->cr, x, p->y, colw[c], h);
            cairo_fill(p->cr);
        }
        report_pdf_rgb(p->cr, "#bbbbbb");
        cairo_set_line_width(p->cr, 0.4);
        cairo_rectangle(p->cr, x, p->y, colw[c], h);
        cairo_stroke(p->cr);
        report_pdf_show(p, x + PDF_CELL_PAD, p->y + PDF_CELL_PAD, cell->text, PDF_TABLE_SIZE,
                        row == 0 || cell->mark != REPORT_MARK_NONE, colw[c] - 2 * PDF_CELL_PAD,
                        ink[cell->mark]);
        x += colw[c];
    }
    p->y += h;
}

static void report_pdf_table(struct report_pdf *p, const struct report_block *t)
{
    double colw[REPORT_DOC_MAX_COLS], total = 0, head_h;
    size_t c, row, nrows = t->ncells / t->ncols;

    for (c = 0; c < t->ncols; c++)
        total += t->widths[c];
    for (c = 0; c < t->ncols; c++)
        colw[c] = t->widths[c] / total * (PDF_W - 2 * PDF_MARGIN);
    head_h = report_pdf_row_height(p, t, colw, 0);
    for (row = 0; row < nrows; row++) {
        double h = row == 0 ? head_h : report_pdf_row_height(p, t, colw, row);

        if (row == 0)
            report_pdf_ensure(p, head_h + (nrows > 1 ? report_pdf_row_height(p, t, colw, 1) : 0));
        else if (report_pdf_ensure(p, h))
            report_pdf_row(p, t, colw, 0, head_h);
        report_pdf_row(p, t, colw, row, h);
    }
    p->y += 8;
}

static void report_pdf_block(struct report_pdf *p, const struct report_block *b)
{
    double w = PDF_W - 2 * PDF_MARGIN, h;

    switch (b->kind) {
    case REPORT_BLOCK_TITLE:
        h = report_pdf_height(p, b->text, 16, 1, w);
        report_pdf_show(p, PDF_MARGIN, p->y, b->text, 16, 1, w, "#222222");
        p->y += h + 6;
        break;
    case REPORT_BLOCK_HEADING:
        h = report_pdf_height(p, b->text, 12, 1, w);
        report_pdf_ensure(p, h + 10 + 60);
        if (p->y > PDF_MARGIN)
            p->y += 10;
        report_pdf_show(p, PDF_MARGIN, p->y, b->text, 12, 1, w, "#222222");
        p->y += h + 4;
        break;
    case REPORT_BLOCK_PARA:
        h = report_pdf_height(p, b->text, 8.5, 0, w);
        report_pdf_ensure(p, h);
        report_pdf_show(p, PDF_MARGIN, p->y, b->text, 8.5, 0, w, "#222222");
        p->y += h + 6;
        break;
    case REPORT_BLOCK_TABLE:
        report_pdf_table(p, b);
        break;
    case REPORT_BLOCK_CHART:
        report_pdf_chart(p, b);
        break;
    }
}

static cairo_status_t report_pdf_discard(void *closure, const unsigned char *data,
                                         unsigned int length)
{
    return CAIRO_STATUS_SUCCESS;
}

static cairo_status_t report_pdf_write(void *closure, const unsigned char *data,
                                       unsigned int length)
{
    return fwrite(data, 1, length, closure) == length ? CAIRO_STATUS_SUCCESS
                                                      : CAIRO_STATUS_WRITE_ERROR;
}

static void report_pdf_metadata(cairo_surface_t *s, const struct report_doc *d)
{
    char date[32];
    int64_t days = d->r->generated_ms / 86400000, ms = d->r->generated_ms % 86400000;
    int64_t year;
    int month, day;

    nines_civil_from_days(days, &year, &month, &day);
    snprintf(date, sizeof(date), "%04d-%02d-%02dT%02d:%02d:%02dZ", (int)year, month, day,
             (int)(ms / 3600000), (int)(ms / 60000 % 60), (int)(ms / 1000 % 60));
    cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_TITLE, d->v[0].text);
    cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_AUTHOR, "nines");
    cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_CREATOR, "nines");
    cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_CREATE_DATE, date);
}

/* One layout pass onto a surface writing through fn; returns the pages drawn or a
   cairo status (negated). */
static int report_pdf_pass(const struct report_doc *d, cairo_write_func_t fn, void *closure,
                           int pages)
{
    cairo_surface_t *s = cairo_pdf_surface_create_for_stream(fn, closure, PDF_W, PDF_H);
    struct report_pdf p = {0};
    cairo_status_t st;
    size_t i;

    report_pdf_metadata(s, d);
    p.cr = cairo_create(s);
    p.layout = pango_cairo_create_layout(p.cr);
    p.d = d;
    p.y = PDF_MARGIN;
    p.page = 1;
    p.pages = pages;
    for (i = 0; i < d->n; i++)
        report_pdf_block(&p, &d->v[i]);
    report_pdf_footer(&p);
    cairo_show_page(p.cr);
    g_object_unref(p.layout);
    st = cairo_status(p.cr);
    cairo_destroy(p.cr);
    cairo_surface_finish(s);
    if (st == CAIRO_STATUS_SUCCESS)
        st = cairo_surface_status(s);
    cairo_surface_destroy(s);
    return st == CAIRO_STATUS_SUCCESS ? p.page : -(int)st;
}

int report_pdf(const struct report *r, const char *path, struct nines_err *err)
{
    struct report_doc d;
    FILE *f;
    int rc, pages, e;

    rc = report_doc_build(r, &d, err);
    if (rc != 0) {
        report_doc_close(&d);
        return rc;
    }
    pages = report_pdf_pass(&d, report_pdf_discard, NULL, 0);
    if (pages < 0) {
        report_doc_close(&d);
        return nines_err_set(err, NINES_EIO, "report: PDF layout: %s",
                             cairo_status_to_string((cairo_status_t)-pages));
    }
    f = fopen(path, "wb");
    if (f == NULL) {
        e = errno;
        report_doc_close(&d);
        return nines_err_set(err, NINES_EIO, "report: %s: %s", path, strerror(e));
    }
    rc = report_pdf_pass(&d, report_pdf_write, f, pages);
    report_doc_close(&d);
    e = fclose(f) != 0 ? errno : 0;
    if (rc < 0 || e != 0) {
        unlink(path);
        return nines_err_set(err, NINES_EIO, "report: %s: %s", path,
                             rc < 0 ? cairo_status_to_string((cairo_status_t)-rc) : strerror(e));
    }
    if (rc != pages) {
        unlink(path);
        return nines_err_set(err, NINES_ESTATE, "report: %s: layout gave %d then %d pages", path,
                             pages, rc);
    }
    return 0;
}
