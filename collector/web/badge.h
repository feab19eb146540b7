/*
 * Shields-style SVG badges (/badge/CHECK/status.svg, /badge/CHECK/uptime-30d.svg):
 * a grey label on the left, a coloured value on the right. Pure text output.
 */
#ifndef NINES_BADGE_H
#define NINES_BADGE_H

#include <stddef.h>

#include "webbuf.h"

#define BADGE_GREEN "#4c1"
#define BADGE_YELLOW "#dfb317"
#define BADGE_ORANGE "#fe7d37"
#define BADGE_RED "#e05d44"
#define BADGE_GREY "#9f9f9f"

/*
 * An uptime fraction (0..1) as people read it: "100%" only when it is exactly
 * 1, else truncated, never rounded up, to at most two decimals with trailing
 * zeros dropped (0.999 -> "99.9%", 0.99996 -> "99.99%", 0.5 -> "50%").
 */
void badge_uptime_text(double uptime, char *buf, size_t len);
/* The colour for an uptime: green >= 99.9%, yellow >= 99%, orange >= 95%, else red. */
const char *badge_uptime_color(double uptime);
/* Appends the SVG document; label and value are escaped. */
void badge_svg(struct webbuf *b, const char *label, const char *value, const char *color);

#endif
