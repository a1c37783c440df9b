/* Monotonic milliseconds: the clock timers and timeouts are measured on; and microseconds,
   on the same clock (rw_clock_ms() == rw_clock_us() / 1000), for request phase timings. */
#ifndef RW_CORE_CLOCK_H
#define RW_CORE_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t rw_clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static inline uint64_t rw_clock_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

#endif
