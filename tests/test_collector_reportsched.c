/* When a monthly report is due, and how long a failed one waits. */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "reportsched.h"
#include "tz.h"

Test(reportsched, due_from_the_report_day_and_hour_in_the_customers_zone)
{
    struct nines_err err = { 0 };
    struct nines_tz *tz = nines_tz_load("Europe/Berlin", &err);
    int64_t due = nines_tz_local_to_utc_ms(tz, 2026, 11, 1, 6, 0, 0, 0);
    int y = 0, m = 0;

    cr_assert(ne(ptr, tz, NULL), "%s", err.msg);
    cr_expect(eq(i64, due, INT64_C(1793509200000)), "06:00 CET is 05:00Z");
    cr_expect(eq(int, reportsched_due(tz, 1, 6, due - 1, &y, &m), 0));
    cr_expect(eq(int, reportsched_due(tz, 1, 6, due, &y, &m), 1));
    cr_expect(eq(int, y, 2026));
    cr_expect(eq(int, m, 10));
    /* January reports December of the year before; day 3 at 00:00 */
    due = nines_tz_local_to_utc_ms(tz, 2027, 1, 3, 0, 0, 0, 0);
    cr_expect(eq(int, reportsched_due(tz, 3, 0, due - 1, &y, &m), 0));
    cr_expect(eq(int, reportsched_due(tz, 3, 0, due + 86400000, &y, &m), 1));
    cr_expect(eq(int, y, 2026));
    cr_expect(eq(int, m, 12));
    nines_tz_free(tz);
}

Test(reportsched, backoff_doubles_from_15_seconds_to_an_hour)
{
    cr_expect(eq(i64, reportsched_backoff_ms(1), 15000));
    cr_expect(eq(i64, reportsched_backoff_ms(2), 30000));
    cr_expect(eq(i64, reportsched_backoff_ms(8), 1920000));
    cr_expect(eq(i64, reportsched_backoff_ms(9), 3600000));
    cr_expect(eq(i64, reportsched_backoff_ms(1000), 3600000));
}
