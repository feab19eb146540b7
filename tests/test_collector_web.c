/* The pages' pure parts: uptime figures, badge SVG, escaping and the bounded buffer. */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <string.h>

#include "badge.h"
#include "webbuf.h"

struct pct_case {
    double uptime;
    char want[16];
};

Test(web, uptime_text_truncates_and_never_rounds_up_to_100)
{
    static const struct pct_case cases[] = {
        { 1.0, "100%" },     { 0.999, "99.9%" },  { 0.9999, "99.99%" }, { 0.99999, "99.99%" },
        { 0.999999, "99.99%" }, { 0.5, "50%" },   { 0.0, "0%" },        { 0.12345, "12.34%" },
        { 0.9, "90%" },      { -1.0, "0%" },      { 2.0, "100%" },
    };
    char buf[16];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        badge_uptime_text(cases[i].uptime, buf, sizeof(buf));
        cr_expect(eq(str, buf, (char *)cases[i].want), "uptime %.6f", cases[i].uptime);
    }
}

Test(web, badge_escapes_its_text)
{
    struct webbuf b;

    webbuf_init(&b, 0);
    badge_svg(&b, "st<a>tus", "\"up\" & 'x'", BADGE_GREEN);
    cr_assert(eq(int, b.failed, 0));
    cr_expect(strstr(b.s, "<svg xmlns=\"http://www.w3.org/2000/svg\"") == b.s);
    cr_expect(strstr(b.s, "st&lt;a&gt;tus") != NULL, "%s", b.s);
    cr_expect(strstr(b.s, "&quot;up&quot; &amp; &#39;x&#39;") != NULL, "%s", b.s);
    cr_expect(strstr(b.s, "<a>") == NULL);
    webbuf_close(&b);
}

Test(web, escaping_drops_controls_and_replaces_bad_utf8)
{
    struct webbuf b;

    webbuf_init(&b, 0);
    webbuf_esc(&b, "a\x01" "b\xff" "c\xc3\xa9<");
    cr_expect(eq(str, b.s, "ab\xef\xbf\xbd" "c\xc3\xa9&lt;"));
    webbuf_close(&b);
}

Test(web, buffer_fails_at_its_cap_instead_of_truncating)
{
    struct webbuf b;

    webbuf_init(&b, 64);
    for (int i = 0; i < 100; i++)
        webbuf_printf(&b, "%d,", i);
    cr_expect(eq(int, b.failed, 1));
    cr_expect(le(sz, b.len, 64));
    webbuf_close(&b);
    webbuf_init(&b, 64);
    webbuf_put(&b, "short");
    cr_expect(eq(int, b.failed, 0));
    cr_expect(eq(str, b.s, "short"));
    webbuf_close(&b);
}
