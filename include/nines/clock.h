/* Time: wall clock for timestamps, monotonic for durations. */
#ifndef NINES_CLOCK_H
#define NINES_CLOCK_H

#include <stddef.h>
#include <stdint.h>

int64_t nines_wall_ms(void);     /* CLOCK_REALTIME, ms since the epoch */
int64_t nines_mono_us(void);     /* CLOCK_MONOTONIC, microseconds */
/* "2026-11-28T17:41:10.123Z" */
const char *nines_iso8601_ms(int64_t ms, char *buf, size_t len);

#endif
