/*
 * The report as one self-contained HTML file: inline CSS (screen and print),
 * charts as SVG images inlined as data: URIs, no script, no external URL.
 *
 * The SVG is an image rather than an <svg> element because HTML4-era
 * validators (libxml2's HTML parser, which we test with) reject SVG tags;
 * an <img src="data:image/svg+xml;base64,..."> is valid everywhere, prints
 * as vectors and still needs nothing outside the file.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_doc.h"
#include "report_fmt.h"

static const char report_html_css[] =
    "body{font-family:'DejaVu Sans',Verdana,sans-serif;font-size:10pt;color:#222;"
    "max-width:60em;margin:1.5em auto;padding:0 1em}"
    "h1{font-size:16pt;margin-bottom:.3em}h2{font-size:12pt;margin-top:1.6em;"
    "border-bottom:1px solid #bbb}"
    "table{border-collapse:collapse;width:100%;margin:.4em 0}"
    "th,td{border:1px solid #ccc;padding:.2em .4em;text-align:left;vertical-align:top}"
    "th{background:#eee}td.ok{color:#1a7f37;font-weight:bold}"
    "td.bad{color:#c62828;font-weight:bold}"
    "img.chart{width:100%;max-width:52em;display:block;margin:.4em 0}"
    "p.hash{font-family:'DejaVu Sans Mono',monospace;word-break:break-all}"
    "@media print{body{max-width:none;margin:0;font-size:9pt}"
    "h2{break-after:avoid}tr,img.chart{break-inside:avoid}"
    "thead{display:table-header-group}}"
    "@page{size:A4;margin:15mm}";

/* Appends s with &, <, >, " and ' escaped. */
static void report_html_text(struct report_buf *b, const char *s)
{
    const char *run = s;

    for (; *s != '\0'; s++) {
        const char *esc;

        switch (*s) {
        case '&':
            esc = "&amp;";
            break;
        case '<':
            esc = "&lt;";
            break;
        case '>':
            esc = "&gt;";
            break;
        case '"':
            esc = "&quot;";
            break;
        case '\'':
            esc = "&#39;";
            break;
        default:
            continue;
        }
        report_fmt_buf_add(b, run, (size_t)(s - run));
        report_fmt_buf_puts(b, esc);
        run = s + 1;
    }
    report_fmt_buf_add(b, run, (size_t)(s - run));
}

static void report_svg_rect(void *ctx, double x, double y, double w, double h, const char *rgb)
{
    report_fmt_buf_printf(ctx,
                          "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" "
                          "fill=\"%s\"/>",
                          x, y, w, h, rgb);
}

static void report_svg_line(void *ctx, double x1, double y1, double x2, double y2, const char *rgb,
                            double width, int dashed)
{
    report_fmt_buf_printf(ctx,
                          "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" "
                          "stroke=\"%s\" stroke-width=\"%.2f\"%s/>",
                          x1, y1, x2, y2, rgb, width, dashed ? " stroke-dasharray=\"4 3\"" : "");
}

static void report_svg_text(void *ctx, double x, double y, const char *s, int anchor, double size,
                            const char *rgb)
{
    report_fmt_buf_printf(ctx,
                          "<text x=\"%.2f\" y=\"%.2f\" font-size=\"%.1f\" fill=\"%s\" "
                          "text-anchor=\"%s\">",
                          x, y, size, rgb,
                          anchor < 0   ? "start"
                          : anchor > 0 ? "end"
                                       : "middle");
    report_html_text(ctx, s);
    report_fmt_buf_puts(ctx, "</text>");
}

/* The chart as an SVG document, base64 into b as an <img>. */
static void report_html_chart(struct report_buf *b, const struct report_doc *d,
                              const struct report_block *blk)
{
    struct report_buf svg = {0};
    struct report_draw draw = {report_svg_rect, report_svg_line, report_svg_text, &svg};
    unsigned char *enc;

    report_fmt_buf_printf(&svg,
                          "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %g %g\""
                          " font-family=\"DejaVu Sans,Verdana,sans-serif\">",
                          REPORT_CHART_W, REPORT_CHART_H);
    report_chart_draw(d, blk, &draw);
    report_fmt_buf_puts(&svg, "</svg>");
    if (svg.failed) {
        b->failed = svg.failed;
        free(svg.p);
        return;
    }
    enc = malloc(4 * ((svg.len + 2) / 3) + 1);
    if (enc == NULL) {
        b->failed = NINES_ENOMEM;
        free(svg.p);
        return;
    }
    EVP_EncodeBlock(enc, (const unsigned char *)svg.p, (int)svg.len);
    report_fmt_buf_puts(b, "<img class=\"chart\" alt=\"");
    report_html_text(b, blk->text);
    report_fmt_buf_puts(b, " chart\" src=\"data:image/svg+xml;base64,");
    report_fmt_buf_puts(b, (const char *)enc);
    report_fmt_buf_puts(b, "\">\n");
    free(enc);
    free(svg.p);
}

static void report_html_table(struct report_buf *b, const struct report_block *t)
{
    static const char *const cls[] = {"", " class=\"ok\"", " class=\"bad\""};
    size_t i;

    report_fmt_buf_puts(b, "<table>\n<thead><tr>");
    for (i = 0; i < t->ncells; i++) {
        const struct report_cell *c = &t->cells[i];

        if (i == t->ncols)
            report_fmt_buf_puts(b, "</tr></thead>\n<tbody>\n<tr>");
        else if (i > t->ncols && i % t->ncols == 0)
            report_fmt_buf_puts(b, "</tr>\n<tr>");
        report_fmt_buf_puts(b, i < t->ncols ? "<th>" : "<td");
        if (i >= t->ncols)
            report_fmt_buf_printf(b, "%s>", cls[c->mark]);
        report_html_text(b, c->text);
        report_fmt_buf_puts(b, i < t->ncols ? "</th>" : "</td>");
    }
    report_fmt_buf_puts(b, t->ncells > t->ncols ? "</tr>\n</tbody>\n</table>\n"
                                                : "</tr></thead>\n</table>\n");
}

static void report_html_block(struct report_buf *b, const struct report_doc *d,
                              const struct report_block *blk, int last)
{
    switch (blk->kind) {
    case REPORT_BLOCK_TITLE:
        report_fmt_buf_puts(b, "<h1>");
        report_html_text(b, blk->text);
        report_fmt_buf_puts(b, "</h1>\n");
        break;
    case REPORT_BLOCK_HEADING:
        report_fmt_buf_puts(b, "<h2>");
        report_html_text(b, blk->text);
        report_fmt_buf_puts(b, "</h2>\n");
        break;
    case REPORT_BLOCK_PARA:
        report_fmt_buf_puts(b, last ? "<p class=\"hash\">" : "<p>");
        report_html_text(b, blk->text);
        report_fmt_buf_puts(b, "</p>\n");
        break;
    case REPORT_BLOCK_TABLE:
        report_html_table(b, blk);
        break;
    case REPORT_BLOCK_CHART:
        report_html_chart(b, d, blk);
        break;
    }
}

int report_html(const struct report *r, char **out, size_t *len, struct nines_err *err)
{
    struct report_doc d;
    struct report_buf b = {0};
    size_t i;
    int rc;

    *out = NULL;
    *len = 0;
    rc = report_doc_build(r, &d, err);
    if (rc != 0) {
        report_doc_close(&d);
        return rc;
    }
    report_fmt_buf_puts(&b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">"
                            "\n<title>");
    report_html_text(&b, d.v[0].text);
    report_fmt_buf_puts(&b, "</title>\n<style>");
    report_fmt_buf_puts(&b, report_html_css);
    report_fmt_buf_puts(&b, "</style>\n</head>\n<body>\n");
    for (i = 0; i < d.n; i++)
        report_html_block(&b, &d, &d.v[i], i + 1 == d.n);
    report_fmt_buf_puts(&b, "</body>\n</html>\n");
    report_doc_close(&d);
    return report_fmt_buf_take(&b, out, len, err, "report: HTML");
}
