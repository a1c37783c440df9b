/*
 * Distributed-trace context headers, pure codecs (proxy/http_trace.c): W3C Trace Context
 * "traceparent", B3 single "b3" and B3 multi "x-b3-*".  No I/O and no allocation, so they
 * are tested without sockets; the request-path glue that uses them is
 * rw__http_trace_request() (http_internal.h).
 *
 * A parse returns 0 for a valid value, -EINVAL for a malformed one (wrong length, non-hex,
 * an all-zero id, W3C version ff): the caller treats that like an absent header and starts
 * a new trace, so a broken context is never forwarded.
 */
#ifndef RW_PROXY_HTTP_TRACE_H
#define RW_PROXY_HTTP_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RW_HTTP_TRACEPARENT_LEN 55 /* "00-" 32 hex "-" 16 hex "-" 2 hex */
#define RW_HTTP_TRACE_B3_MAX    68 /* 32 + 1 + 16 + 2 + 1 + 16 */

/* One span's context.  A zeroed struct is "no context". */
struct rw_http_trace {
	uint64_t trace_hi;  /* high half of a 128-bit trace id; 0 for a 64-bit one */
	uint64_t trace_lo;  /* never 0 in a context with ids */
	uint64_t span_id;   /* never 0 in a context with ids */
	uint64_t parent_id; /* 0: no parent (a root span) */
	bool has_ids;       /* false: a sampling decision only ("b3: 0", x-b3-sampled alone) */
	bool id_128;        /* the trace id is printed with 32 hex digits (else 16) */
	int8_t sampled;     /* 1, 0, or -1: the sender deferred the decision */
	bool debug;         /* B3 debug ("x-b3-flags: 1", "b3: ...-d"): implies sampled */
};

/* The B3 multi headers of a request; a NULL value is an absent header. */
struct rw_http_trace_b3_multi {
	const char *trace_id, *span_id, *parent_id, *sampled, *flags;
	size_t trace_id_len, span_id_len, parent_id_len, sampled_len, flags_len;
};

/* "00-<32 hex>-<16 hex>-<2 hex>" (lowercase; a later version may append "-..."). */
int rw_http_trace_parse_traceparent(const char *v, size_t len, struct rw_http_trace *out);
/* Version 00 with t's ids (a 64-bit trace id is zero-padded); flags carry only "sampled".
   Writes RW_HTTP_TRACEPARENT_LEN chars and a NUL; returns the length. */
size_t rw_http_trace_format_traceparent(const struct rw_http_trace *t,
                                        char out[RW_HTTP_TRACEPARENT_LEN + 1]);

/* "{traceid}-{spanid}[-{sampled}[-{parentspanid}]]" or a bare "0" / "1" / "d". */
int rw_http_trace_parse_b3(const char *v, size_t len, struct rw_http_trace *out);
/* "{traceid}-{spanid}-{1|0|d}[-{parentspanid}]" and a NUL; returns the length. */
size_t rw_http_trace_format_b3(const struct rw_http_trace *t, char out[RW_HTTP_TRACE_B3_MAX + 1]);

/* Returns 0 (a context, or a sampling decision only), -EINVAL, or -ENOENT when none of the
   headers is there. */
int rw_http_trace_parse_b3_multi(const struct rw_http_trace_b3_multi *in,
                                 struct rw_http_trace *out);

/* The trace id in hex (16 or 32 digits per t->id_128) and a NUL; returns the length. */
size_t rw_http_trace_format_trace_id(const struct rw_http_trace *t, char out[33]);
/* 16 lowercase hex digits of v (no NUL). */
void rw_http_trace_hex64(uint64_t v, char out[16]);

#endif
