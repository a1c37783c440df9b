/*
 * Log line formatting.  Each line is built in a stack buffer and written with one write(2)
 * so concurrent workers never interleave partial lines.
 */
#include "core/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

_Atomic int rw_log_level_current = RW_LOG_INFO;

static const char *const names[] = {"trace", "debug",    "info", "warning",
                                    "error", "critical", "off"};

int rw_log_level_parse(const char *name)
{
	int i;

	if (!strcmp(name, "warn"))
		return RW_LOG_WARN;
	for (i = 0; i <= RW_LOG_OFF; i++)
		if (!strcmp(name, names[i]))
			return i;
	return -EINVAL;
}

const char *rw_log_level_name(enum rw_log_level level)
{
	return (unsigned)level <= RW_LOG_OFF ? names[level] : "?";
}

void rw_log_write(enum rw_log_level level, const char *component, const char *fmt, ...)
{
	char line[2048];
	struct timespec ts;
	struct tm tm;
	size_t n;
	int r;
	va_list ap;

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	n = strftime(line, sizeof(line), "[%Y-%m-%d %H:%M:%S", &tm);
	r = snprintf(line + n, sizeof(line) - n, ".%03ld][%ld][%s][%s] ", ts.tv_nsec / 1000000,
	             (long)syscall(SYS_gettid), rw_log_level_name(level), component);
	if (r > 0)
		n += (size_t)r < sizeof(line) - n ? (size_t)r : sizeof(line) - n - 1;
	va_start(ap, fmt);
	r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	if (r > 0)
		n += (size_t)r < sizeof(line) - n ? (size_t)r : sizeof(line) - n - 1;
	if (n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	while (write(STDERR_FILENO, line, n) < 0 && errno == EINTR)
		;
}
