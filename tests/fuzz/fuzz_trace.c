/*
 * libFuzzer harness for the trace-context codecs (proxy/http_trace.c): W3C traceparent,
 * B3 single and B3 multi headers, as they arrive from any client.
 *
 * Input: byte 0 picks the parser (0 traceparent, 1 b3, 2 b3 multi: the rest is split on
 * '\n' into trace id, span id, parent id, sampled, flags).  Beyond "no crash, no overflow": a
 * value that parses with ids has non-zero trace and span ids, and formatting it then parsing
 * the result gives the same ids and sampling decision back (what ringway forwards is always
 * valid and means what it read).
 */
#include <stdlib.h>
#include <string.h>

#include "proxy/http_trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same_ids(const struct rw_http_trace *a, const struct rw_http_trace *b)
{
	if (a->trace_hi != b->trace_hi || a->trace_lo != b->trace_lo || a->span_id != b->span_id)
		abort();
}

static void check(const struct rw_http_trace *t, int mode)
{
	char buf[RW_HTTP_TRACE_B3_MAX + 1], id[33];
	struct rw_http_trace back;
	size_t n;

	if (!t->has_ids)
		return;
	if (!t->trace_lo && !t->trace_hi)
		abort();
	if (!t->span_id)
		abort();
	n = rw_http_trace_format_trace_id(t, id);
	if (n != (t->id_128 ? 32u : 16u) || id[n] != '\0')
		abort();
	if (mode == 0) {
		char tp[RW_HTTP_TRACEPARENT_LEN + 1];

		n = rw_http_trace_format_traceparent(t, tp);
		if (n != RW_HTTP_TRACEPARENT_LEN || rw_http_trace_parse_traceparent(tp, n, &back))
			abort();
		same_ids(t, &back);
		if ((t->sampled == 1) != (back.sampled == 1))
			abort();
		return;
	}
	n = rw_http_trace_format_b3(t, buf);
	if (n > RW_HTTP_TRACE_B3_MAX || buf[n] != '\0' || rw_http_trace_parse_b3(buf, n, &back))
		abort();
	same_ids(t, &back);
	if (back.parent_id != t->parent_id)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rw_http_trace t;
	const char *p;
	size_t n;
	int mode;

	if (size < 1)
		return 0;
	mode = data[0] % 3;
	p = (const char *)data + 1;
	n = size - 1;
	memset(&t, 0, sizeof(t));
	if (mode == 0) {
		if (rw_http_trace_parse_traceparent(p, n, &t) == 0)
			check(&t, 0);
	} else if (mode == 1) {
		if (rw_http_trace_parse_b3(p, n, &t) == 0)
			check(&t, 1);
	} else {
		struct rw_http_trace_b3_multi m;
		const char **v[5] = {&m.trace_id, &m.span_id, &m.parent_id, &m.sampled, &m.flags};
		size_t *l[5] = {&m.trace_id_len, &m.span_id_len, &m.parent_id_len, &m.sampled_len,
		                &m.flags_len};
		size_t start = 0, k = 0;

		memset(&m, 0, sizeof(m));
		for (size_t i = 0; i <= n && k < 5; i++) {
			if (i < n && p[i] != '\n')
				continue;
			if (i > start) { /* an empty field is an absent header */
				*v[k] = p + start;
				*l[k] = i - start;
			}
			k++;
			start = i + 1;
		}
		if (rw_http_trace_parse_b3_multi(&m, &t) == 0)
			check(&t, 1);
	}
	return 0;
}
