/*
 * Envoy substitution formats: the %OPERATOR% scanner and the shared value printers (see
 * format.h).  Nothing here allocates or makes a system call except START_TIME's
 * CLOCK_REALTIME read (vDSO), done only when a format uses it.
 */
#include "proxy/format.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

bool rw_format_op_is(const struct rw_format_op *op, const char *name)
{
	return strlen(name) == op->len && memcmp(op->name, name, op->len) == 0;
}

void rw_format_put(struct rw_format_out *o, const char *s, size_t n)
{
	if (n > o->cap - o->len) {
		o->overflow = true;
		n = o->cap - o->len;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

void rw_format_put_str(struct rw_format_out *o, const char *s)
{
	if (s)
		rw_format_put(o, s, strlen(s));
}

void rw_format_put_u64(struct rw_format_out *o, uint64_t v)
{
	char buf[24];

	rw_format_put(o, buf, (size_t)snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v));
}

void rw_format_put_addr(struct rw_format_out *o, const struct sockaddr_storage *ss,
                        enum rw_format_addr mode)
{
	char ip[INET6_ADDRSTRLEN], buf[64];
	const void *a;
	uint16_t port;
	int n;

	if (!ss)
		return;
	if (ss->ss_family == AF_INET) {
		a = &((const struct sockaddr_in *)ss)->sin_addr;
		port = ntohs(((const struct sockaddr_in *)ss)->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
		port = ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	} else {
		return;
	}
	inet_ntop(ss->ss_family, a, ip, sizeof(ip));
	if (mode == RW_FORMAT_ADDR_PORT)
		n = snprintf(buf, sizeof(buf), "%u", port);
	else if (mode == RW_FORMAT_ADDR_IP)
		n = snprintf(buf, sizeof(buf), "%s", ip);
	else
		n = snprintf(buf, sizeof(buf), ss->ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip,
		             port);
	if (n > 0)
		rw_format_put(o, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

void rw_format_put_start_time(struct rw_format_out *o, uint64_t age_us, const char *arg,
                              size_t arg_len)
{
	struct timespec now;
	char fmt[256], buf[256], frac[16], epoch[24];
	size_t f = 0, n;
	struct tm tm;
	int64_t start_us;
	time_t sec;
	long nsec;

	clock_gettime(CLOCK_REALTIME, &now);
	start_us = (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000 - (int64_t)age_us;
	sec = (time_t)(start_us / 1000000);
	nsec = (long)(start_us % 1000000) * 1000;
	if (!arg_len) {
		/* Envoy's default (every default-format line): the second's text is cached per
		 * thread, so a line costs no gmtime/strftime. */
		static _Thread_local time_t cached_sec = -1;
		static _Thread_local char cached[32];
		static _Thread_local size_t cached_len;
		char ms[5];

		if (sec != cached_sec) {
			gmtime_r(&sec, &tm);
			cached_len = strftime(cached, sizeof(cached), "%Y-%m-%dT%H:%M:%S.", &tm);
			cached_sec = sec;
		}
		rw_format_put(o, cached, cached_len);
		ms[0] = (char)('0' + nsec / 100000000);
		ms[1] = (char)('0' + nsec / 10000000 % 10);
		ms[2] = (char)('0' + nsec / 1000000 % 10);
		ms[3] = 'Z';
		rw_format_put(o, ms, 4);
		return;
	}
	gmtime_r(&sec, &tm);
	snprintf(frac, sizeof(frac), "%09ld", nsec);
	snprintf(epoch, sizeof(epoch), "%lld", (long long)sec);
	/* Envoy's specifiers become literal digits before strftime sees the format; a literal
	 * '%' in them is impossible (digits only), so strftime cannot misread them. */
	for (size_t i = 0; i < arg_len && f + 32 < sizeof(fmt); i++) {
		size_t digits = 0, skip = 0;
		const char *lit = NULL;

		if (arg[i] == '%' && i + 3 < arg_len && arg[i + 1] == 'E' && arg[i + 3] == 'S' &&
		    arg[i + 2] >= '1' && arg[i + 2] <= '9') {
			memcpy(fmt + f, "%S.", 3);
			f += 3;
			digits = (size_t)(arg[i + 2] - '0');
			skip = 3;
		} else if (arg[i] == '%' && i + 2 < arg_len && arg[i + 1] >= '1' &&
		           arg[i + 1] <= '9' && arg[i + 2] == 'f') {
			digits = (size_t)(arg[i + 1] - '0');
			skip = 2;
		} else if (arg[i] == '%' && i + 1 < arg_len && arg[i + 1] == 'f') {
			digits = 9;
			skip = 1;
		} else if (arg[i] == '%' && i + 1 < arg_len && arg[i + 1] == 's') {
			lit = epoch; /* glibc's %s reads tm as local time: done here instead */
			skip = 1;
		} else if (arg[i] == '%' && i + 1 < arg_len && arg[i + 1] == '%') {
			memcpy(fmt + f, "%%", 2);
			f += 2;
			i++;
			continue;
		}
		if (lit) {
			n = strlen(lit);
			memcpy(fmt + f, lit, n);
			f += n;
			i += skip;
			continue;
		}
		if (skip) {
			memcpy(fmt + f, frac, digits);
			f += digits;
			i += skip;
			continue;
		}
		fmt[f++] = arg[i];
	}
	fmt[f] = '\0';
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	n = strftime(buf, sizeof(buf), fmt, &tm);
#pragma GCC diagnostic pop
	rw_format_put(o, buf, n);
}

void rw_format_put_ms(struct rw_format_out *o, uint64_t from_us, uint64_t to_us)
{
	if (from_us && to_us && to_us >= from_us)
		rw_format_put_u64(o, (to_us - from_us) / 1000u);
}

static const char *const phase_names[RW_PHASE_N] = {
    "DS_RX_BEG", "DS_RX_END", "US_CX_BEG", "US_CX_END", "US_TX_BEG",
    "US_TX_END", "US_RX_BEG", "US_RX_END", "DS_TX_BEG", "DS_TX_END",
};

static int phase_of(const char *s, size_t len)
{
	for (int i = 0; i < RW_PHASE_N; i++)
		if (strlen(phase_names[i]) == len && memcmp(phase_names[i], s, len) == 0)
			return i;
	return -1;
}

void rw_format_put_common_duration(struct rw_format_out *o, const uint64_t points[RW_PHASE_N],
                                   const char *arg, size_t len)
{
	const char *c1 = memchr(arg, ':', len), *c2;
	int from, to;
	uint64_t a, b;

	if (!c1)
		return;
	c2 = memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - arg));
	if (!c2)
		return;
	from = phase_of(arg, (size_t)(c1 - arg));
	to = phase_of(c1 + 1, (size_t)(c2 - c1 - 1));
	if (from < 0 || to < 0)
		return;
	a = points[from];
	b = points[to];
	if (!a || !b || b < a)
		return; /* a point that did not happen: Envoy prints "-" */
	len -= (size_t)(c2 + 1 - arg);
	if (len == 2 && memcmp(c2 + 1, "ms", 2) == 0)
		rw_format_put_u64(o, (b - a) / 1000u);
	else if (len == 2 && memcmp(c2 + 1, "us", 2) == 0)
		rw_format_put_u64(o, b - a);
	else if (len == 2 && memcmp(c2 + 1, "ns", 2) == 0)
		rw_format_put_u64(o, (b - a) * 1000u); /* the clock has µs resolution */
}

int rw_format_expand(const char *format, rw_format_var_fn fn, void *ctx, bool dash, char *outp,
                     size_t cap)
{
	struct rw_format_out o = {.p = outp, .cap = cap};
	const char *p = format;

	while (*p) {
		const char *pct = strchr(p, '%');
		struct rw_format_op op = {.limit = SIZE_MAX};
		const char *end;
		size_t before;

		if (!pct) {
			rw_format_put(&o, p, strlen(p));
			break;
		}
		rw_format_put(&o, p, (size_t)(pct - p));
		if (pct[1] == '%') {
			rw_format_put(&o, "%", 1);
			p = pct + 2;
			continue;
		}
		op.name = pct + 1;
		op.len = strcspn(op.name, "(%");
		end = op.name + op.len;
		if (*end == '(') {
			op.arg = end + 1;
			end = strchr(op.arg, ')');
			if (!end)
				break;
			op.arg_len = (size_t)(end - op.arg);
			end++;
			if (*end == ':') {
				op.limit = 0;
				for (end++; *end >= '0' && *end <= '9'; end++)
					op.limit = op.limit * 10 + (size_t)(*end - '0');
			}
		}
		if (*end != '%')
			break; /* the loader rejects this; stop rather than guess */
		before = o.len;
		fn(ctx, &o, &op);
		if (dash && o.len == before)
			rw_format_put(&o, "-", 1); /* Envoy's access logs show a missing value so */
		p = end + 1;
	}
	return o.overflow ? -ENOSPC : (int)o.len;
}
