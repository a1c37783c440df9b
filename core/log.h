/*
 * Leveled logging with component names, in Envoy's default line format
 *   [2026-11-28 23:59:01.123][1234][info][main] message
 * so operators' log tooling keeps working.  The level is one global atomic: changing it at
 * runtime (later from the admin API) needs no lock, and a disabled level costs one load.
 */
#ifndef RW_CORE_LOG_H
#define RW_CORE_LOG_H

#include <stdatomic.h>
#include <stdbool.h>

enum rw_log_level {
	RW_LOG_TRACE,
	RW_LOG_DEBUG,
	RW_LOG_INFO,
	RW_LOG_WARN,
	RW_LOG_ERROR,
	RW_LOG_CRITICAL,
	RW_LOG_OFF,
};

extern _Atomic int rw_log_level_current;

/* Parse "trace".."critical"/"off" (Envoy's names; "warn" and "warning" both); -EINVAL if unknown.
 */
int rw_log_level_parse(const char *name);
const char *rw_log_level_name(enum rw_log_level level);

static inline bool rw_log_enabled(enum rw_log_level level)
{
	return (int)level >= atomic_load_explicit(&rw_log_level_current, memory_order_relaxed);
}

/* Write one line to stderr (a single write(2), so lines from workers never interleave). */
void rw_log_write(enum rw_log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define RW_LOG(level, component, ...)                                                              \
	do {                                                                                       \
		if (rw_log_enabled(level))                                                         \
			rw_log_write(level, component, __VA_ARGS__);                               \
	} while (0)

#define rw_log_debug(comp, ...) RW_LOG(RW_LOG_DEBUG, comp, __VA_ARGS__)
#define rw_log_info(comp, ...)  RW_LOG(RW_LOG_INFO, comp, __VA_ARGS__)
#define rw_log_warn(comp, ...)  RW_LOG(RW_LOG_WARN, comp, __VA_ARGS__)
#define rw_log_error(comp, ...) RW_LOG(RW_LOG_ERROR, comp, __VA_ARGS__)

#ifdef RW_DEBUG
#include <stdlib.h>
#define RW_BUG_ON(cond)                                                                            \
	do {                                                                                       \
		if (cond) {                                                                        \
			rw_log_write(RW_LOG_CRITICAL, "bug", "%s:%d: BUG_ON(%s)", __FILE__,        \
			             __LINE__, #cond);                                             \
			abort();                                                                   \
		}                                                                                  \
	} while (0)
#else
#define RW_BUG_ON(cond) ((void)0)
#endif

#endif
