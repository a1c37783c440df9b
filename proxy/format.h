/*
 * Envoy's substitution format strings ("%REQ(:path)% %DURATION%"), shared by header
 * mutations, the HTTP connection manager's access logs and tcp_proxy's: the loop that finds
 * each %OPERATOR% and hands it to the session's resolver, and the value printers several
 * resolvers share (addresses, START_TIME, durations, COMMON_DURATION).
 *
 * The loader (config/headers.c) checked every operator and its argument, so expansion only
 * dispatches; an operator a resolver does not know prints nothing.
 */
#ifndef RW_PROXY_FORMAT_H
#define RW_PROXY_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sockaddr_storage;

/* A bounded output: bytes past cap are cut and remembered (overflow). */
struct rw_format_out {
	char *p;
	size_t len, cap;
	bool overflow;
};

/* One operator: %name(arg):limit%; limit is SIZE_MAX when none was written. */
struct rw_format_op {
	const char *name;
	size_t len;
	const char *arg; /* NULL without "(...)" */
	size_t arg_len;
	size_t limit;
};

/* Print op's value into o, or nothing when it has none (or does not know op). */
typedef void (*rw_format_var_fn)(void *ctx, struct rw_format_out *o, const struct rw_format_op *op);

/*
 * Expand format into out (cap bytes), fn(ctx, ...) resolving each operator.  dash: an
 * operator that printed nothing prints "-" (Envoy's access logs).  Returns the length, or
 * -ENOSPC when out was too small.
 */
int rw_format_expand(const char *format, rw_format_var_fn fn, void *ctx, bool dash, char *out,
                     size_t cap);

bool rw_format_op_is(const struct rw_format_op *op, const char *name);
void rw_format_put(struct rw_format_out *o, const char *s, size_t n);
/* s NUL-terminated; NULL prints nothing. */
void rw_format_put_str(struct rw_format_out *o, const char *s);
void rw_format_put_u64(struct rw_format_out *o, uint64_t v);

enum rw_format_addr {
	RW_FORMAT_ADDR = 0,  /* "ip:port", "[v6]:port" */
	RW_FORMAT_ADDR_IP,   /* "ip" */
	RW_FORMAT_ADDR_PORT, /* "port" */
};
/* ss NULL or of no known family: nothing. */
void rw_format_put_addr(struct rw_format_out *o, const struct sockaddr_storage *ss,
                        enum rw_format_addr mode);

/*
 * %START_TIME(fmt)%: the UTC wall-clock time age_us microseconds ago, by strftime with
 * Envoy's additions: %f (9 fractional digits), %1f..%9f, %E1S..%E9S (seconds with that
 * many digits) and %s (seconds since the epoch).  An empty fmt is Envoy's default
 * "%Y-%m-%dT%H:%M:%E3SZ".
 */
void rw_format_put_start_time(struct rw_format_out *o, uint64_t age_us, const char *fmt,
                              size_t len);

/* Whole milliseconds from from_us to to_us (monotonic µs); nothing when either is 0 or
   to_us < from_us. */
void rw_format_put_ms(struct rw_format_out *o, uint64_t from_us, uint64_t to_us);

/* Envoy's stream points (%COMMON_DURATION%), in Envoy's order. */
enum rw_phase {
	RW_PHASE_DS_RX_BEG = 0, /* first downstream byte received */
	RW_PHASE_DS_RX_END,     /* last downstream byte received */
	RW_PHASE_US_CX_BEG,     /* upstream connection requested */
	RW_PHASE_US_CX_END,     /* upstream connection obtained */
	RW_PHASE_US_TX_BEG,     /* first upstream byte sent */
	RW_PHASE_US_TX_END,     /* last upstream byte sent */
	RW_PHASE_US_RX_BEG,     /* first upstream byte received */
	RW_PHASE_US_RX_END,     /* last upstream byte received */
	RW_PHASE_DS_TX_BEG,     /* first downstream byte sent */
	RW_PHASE_DS_TX_END,     /* last downstream byte sent */
	RW_PHASE_N,
};

/*
 * %COMMON_DURATION(START:END:PRECISION)%: points[] are monotonic µs indexed by rw_phase
 * (0 = did not happen, then nothing is printed); PRECISION is ms, us or ns.
 */
void rw_format_put_common_duration(struct rw_format_out *o, const uint64_t points[RW_PHASE_N],
                                   const char *arg, size_t len);

#endif
