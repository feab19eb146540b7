/* SVG badges; see badge.h. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "badge.h"

void badge_uptime_text(double uptime, char *buf, size_t len)
{
    long long hundredths;

    if (!(uptime >= 0.0))           /* NaN too */
        uptime = 0.0;
    if (uptime >= 1.0) {
        snprintf(buf, len, "100%%");
        return;
    }
    /* the epsilon absorbs binary error (0.999 * 1e4 = 9989.999...) */
    hundredths = (long long)floor(uptime * 10000.0 + 1e-6);
    if (hundredths >= 10000)
        hundredths = 9999;          /* not exactly 1: never "100%" */
    if (hundredths % 100 == 0)
        snprintf(buf, len, "%lld%%", hundredths / 100);
    else if (hundredths % 10 == 0)
        snprintf(buf, len, "%lld.%lld%%", hundredths / 100, hundredths % 100 / 10);
    else
        snprintf(buf, len, "%lld.%02lld%%", hundredths / 100, hundredths % 100);
}

const char *badge_uptime_color(double uptime)
{
    if (uptime >= 0.999)
        return BADGE_GREEN;
    if (uptime >= 0.99)
        return BADGE_YELLOW;
    if (uptime >= 0.95)
        return BADGE_ORANGE;
    return BADGE_RED;
}

/* Approximate width in pixels of s in 11 px Verdana (no font metrics here). */
static int badge_text_width(const char *s)
{
    int w = 0;

    for (; *s != '\0'; s++) {
        if (strchr("il.,:;!|' 1", *s) != NULL)
            w += 4;
        else if (strchr("mwMW%@", *s) != NULL)
            w += 10;
        else
            w += 7;
    }
    return w;
}

void badge_svg(struct webbuf *b, const char *label, const char *value, const char *color)
{
    int lw = badge_text_width(label) + 10, vw = badge_text_width(value) + 10;

    webbuf_printf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"20\" "
                     "role=\"img\" aria-label=\"", lw + vw);
    webbuf_esc(b, label);
    webbuf_put(b, ": ");
    webbuf_esc(b, value);
    webbuf_put(b, "\"><title>");
    webbuf_esc(b, label);
    webbuf_put(b, ": ");
    webbuf_esc(b, value);
    webbuf_printf(b, "</title><linearGradient id=\"s\" x2=\"0\" y2=\"100%%\">"
                     "<stop offset=\"0\" stop-color=\"#bbb\" stop-opacity=\".1\"/>"
                     "<stop offset=\"1\" stop-opacity=\".1\"/></linearGradient>"
                     "<clipPath id=\"r\"><rect width=\"%d\" height=\"20\" rx=\"3\" "
                     "fill=\"#fff\"/></clipPath><g clip-path=\"url(#r)\">"
                     "<rect width=\"%d\" height=\"20\" fill=\"#555\"/>"
                     "<rect x=\"%d\" width=\"%d\" height=\"20\" fill=\"", lw + vw, lw, lw, vw);
    webbuf_esc(b, color);
    webbuf_printf(b, "\"/><rect width=\"%d\" height=\"20\" fill=\"url(#s)\"/></g>"
                     "<g fill=\"#fff\" text-anchor=\"middle\" "
                     "font-family=\"Verdana,Geneva,DejaVu Sans,sans-serif\" font-size=\"11\">"
                     "<text x=\"%d\" y=\"14\" id=\"label\">", lw + vw, lw / 2);
    webbuf_esc(b, label);
    webbuf_printf(b, "</text><text x=\"%d\" y=\"14\" id=\"value\">", lw + vw / 2);
    webbuf_esc(b, value);
    webbuf_put(b, "</text></g></svg>\n");
}
