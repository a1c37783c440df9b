/*
 * Distributed tracing: trace-context headers in, a span id per hop out.
 *
 * The first half is pure codecs (http_trace.h): W3C traceparent, B3 single and B3 multi.
 * The second half is the HCM's request step, run only when the HCM has a tracing block:
 * pick up the incoming context (traceparent first, then x-b3-*, then b3), make the sampling
 * decision the way Envoy does when the sender left it open, and write the hop's context
 * back into every format the request used, or start a new trace in the provider's format
 * (zipkin: B3 multi; opentelemetry or none: W3C).  Ids come from the worker's PRNG.
 * ringway reports no spans: the ids only travel in headers and access logs.
 */
#include <errno.h>
#include <string.h>

#include "core/hex.h"
#include "proxy/http_internal.h"
#include "proxy/http_trace.h"

/* 1..16 hex digits into *out; lowercase_only for W3C.  False on anything else. */
static bool parse_hex64(const char *s, size_t len, bool lowercase_only, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 16)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		unsigned d;

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F' && !lowercase_only)
			d = (unsigned)(c - 'A' + 10);
		else
			return false;
		v = v << 4 | d;
	}
	*out = v;
	return true;
}

/* A 16- or 32-digit trace id, not all zero. */
static bool parse_trace_id(const char *s, size_t len, bool lowercase_only, struct rw_http_trace *t)
{
	t->trace_hi = 0;
	if (len == 32) {
		if (!parse_hex64(s, 16, lowercase_only, &t->trace_hi) ||
		    !parse_hex64(s + 16, 16, lowercase_only, &t->trace_lo))
			return false;
		t->id_128 = true;
	} else if (len == 16) {
		if (!parse_hex64(s, 16, lowercase_only, &t->trace_lo))
			return false;
		t->id_128 = false;
	} else {
		return false;
	}
	return t->trace_hi || t->trace_lo;
}

/* A 16-digit span id, not zero. */
static bool parse_span_id(const char *s, size_t len, bool lowercase_only, uint64_t *out)
{
	return len == 16 && parse_hex64(s, len, lowercase_only, out) && *out != 0;
}

void rw_http_trace_hex64(uint64_t v, char out[16])
{
	for (int i = 15; i >= 0; i--, v >>= 4)
		out[i] = RW_HEX_LOWER[v & 15];
}

size_t rw_http_trace_format_trace_id(const struct rw_http_trace *t, char out[33])
{
	size_t n = 0;

	if (t->id_128) {
		rw_http_trace_hex64(t->trace_hi, out);
		n = 16;
	}
	rw_http_trace_hex64(t->trace_lo, out + n);
	n += 16;
	out[n] = '\0';
	return n;
}

/* ---- W3C traceparent ---- */

int rw_http_trace_parse_traceparent(const char *v, size_t len, struct rw_http_trace *out)
{
	struct rw_http_trace t = {0};
	uint64_t version, flags;

	if (len < RW_HTTP_TRACEPARENT_LEN || !parse_hex64(v, 2, true, &version) || version == 0xff)
		return -EINVAL;
	/* Version 00 is exactly 55 chars; a later one may append fields after a '-'. */
	if (version == 0 ? len != RW_HTTP_TRACEPARENT_LEN
	                 : len > RW_HTTP_TRACEPARENT_LEN && v[RW_HTTP_TRACEPARENT_LEN] != '-')
		return -EINVAL;
	if (v[2] != '-' || v[35] != '-' || v[52] != '-')
		return -EINVAL;
	if (!parse_trace_id(v + 3, 32, true, &t) || !parse_span_id(v + 36, 16, true, &t.span_id) ||
	    !parse_hex64(v + 53, 2, true, &flags))
		return -EINVAL;
	t.id_128 = true;
	t.has_ids = true;
	t.sampled = (flags & 1) ? 1 : 0;
	*out = t;
	return 0;
}

size_t rw_http_trace_format_traceparent(const struct rw_http_trace *t,
                                        char out[RW_HTTP_TRACEPARENT_LEN + 1])
{
	memcpy(out, "00-", 3);
	rw_http_trace_hex64(t->trace_hi, out + 3);
	rw_http_trace_hex64(t->trace_lo, out + 19);
	out[35] = '-';
	rw_http_trace_hex64(t->span_id, out + 36);
	out[52] = '-';
	out[53] = '0';
	out[54] = (t->sampled > 0 || t->debug) ? '1' : '0';
	out[55] = '\0';
	return RW_HTTP_TRACEPARENT_LEN;
}

/* ---- B3 ---- */

/* A B3 sampling state ("1", "0", "d", and for x-b3-sampled also "true" / "false"). */
static bool parse_sampled(const char *s, size_t len, struct rw_http_trace *t)
{
	if (len == 1 && (s[0] == '1' || s[0] == '0')) {
		t->sampled = s[0] == '1';
	} else if (len == 1 && s[0] == 'd') {
		t->sampled = 1;
		t->debug = true;
	} else if (len == 4 && strncmp(s, "true", 4) == 0) {
		t->sampled = 1;
	} else if (len == 5 && strncmp(s, "false", 5) == 0) {
		t->sampled = 0;
	} else {
		return false;
	}
	return true;
}

int rw_http_trace_parse_b3(const char *v, size_t len, struct rw_http_trace *out)
{
	struct rw_http_trace t = {.sampled = -1};
	const char *end = v + len, *p, *dash;

	if (len == 1) {
		/* Only a sampling decision: "0" (deny), "1" (accept), "d" (debug). */
		if (v[0] != '0' && v[0] != '1' && v[0] != 'd')
			return -EINVAL;
		parse_sampled(v, 1, &t);
		*out = t;
		return 0;
	}
	dash = memchr(v, '-', len);
	if (!dash || !parse_trace_id(v, (size_t)(dash - v), false, &t))
		return -EINVAL;
	p = dash + 1;
	dash = memchr(p, '-', (size_t)(end - p));
	if (!parse_span_id(p, (size_t)((dash ? dash : end) - p), false, &t.span_id))
		return -EINVAL;
	if (dash) {
		p = dash + 1;
		dash = memchr(p, '-', (size_t)(end - p));
		/* The sampling state is one character here, so never "true". */
		if ((dash ? dash : end) - p != 1 || !parse_sampled(p, 1, &t))
			return -EINVAL;
		if (dash && !parse_span_id(dash + 1, (size_t)(end - dash - 1), false, &t.parent_id))
			return -EINVAL;
	}
	t.has_ids = true;
	*out = t;
	return 0;
}

size_t rw_http_trace_format_b3(const struct rw_http_trace *t, char out[RW_HTTP_TRACE_B3_MAX + 1])
{
	size_t n = rw_http_trace_format_trace_id(t, out);

	out[n++] = '-';
	rw_http_trace_hex64(t->span_id, out + n);
	n += 16;
	out[n++] = '-';
	out[n++] = t->debug ? 'd' : (t->sampled > 0 ? '1' : '0');
	if (t->parent_id) {
		out[n++] = '-';
		rw_http_trace_hex64(t->parent_id, out + n);
		n += 16;
	}
	out[n] = '\0';
	return n;
}

int rw_http_trace_parse_b3_multi(const struct rw_http_trace_b3_multi *in, struct rw_http_trace *out)
{
	struct rw_http_trace t = {.sampled = -1};

	if (!in->trace_id && !in->span_id && !in->parent_id && !in->sampled && !in->flags)
		return -ENOENT;
	if (in->sampled && !parse_sampled(in->sampled, in->sampled_len, &t))
		return -EINVAL;
	/* X-B3-Flags: 1 is debug, which implies an accept decision. */
	if (in->flags && in->flags_len == 1 && in->flags[0] == '1') {
		t.debug = true;
		t.sampled = 1;
	}
	if (!in->trace_id && !in->span_id && !in->parent_id) {
		*out = t; /* a sampling decision only */
		return 0;
	}
	if (!in->trace_id || !parse_trace_id(in->trace_id, in->trace_id_len, false, &t) ||
	    !in->span_id || !parse_span_id(in->span_id, in->span_id_len, false, &t.span_id))
		return -EINVAL;
	if (in->parent_id && !parse_span_id(in->parent_id, in->parent_id_len, false, &t.parent_id))
		return -EINVAL;
	t.has_ids = true;
	*out = t;
	return 0;
}

/* ---- the request step ---- */

/* The trace headers of one request, found in one pass over its fields. */
struct trace_fields {
	const char *traceparent, *b3, *request_id;
	size_t traceparent_len, b3_len, request_id_len;
	struct rw_http_trace_b3_multi m;
	bool force_trace, client_trace_id, envoy_internal;
};

static bool is(const char *name, size_t len, const char *lit, size_t lit_len)
{
	return len == lit_len && memcmp(name, lit, len) == 0;
}

#define IS(lit) is(name, len, lit, sizeof(lit) - 1)

static void scan(const struct rw_http_headers *h, struct trace_fields *f)
{
	memset(f, 0, sizeof(*f));
	for (uint32_t i = 0; i < h->n; i++) {
		const char *name = rw_http_field_name(h, i);
		size_t len = h->f[i].name_len;
		const char *v = rw_http_field_value(h, i);
		size_t vl = h->f[i].value_len;

		/* Names are stored lowercase; the first copy of a field counts. */
		if (len < 2 || (name[0] != 't' && name[0] != 'b' && name[0] != 'x'))
			continue;
		if (IS("traceparent") && !f->traceparent)
			f->traceparent = v, f->traceparent_len = vl;
		else if (IS("b3") && !f->b3)
			f->b3 = v, f->b3_len = vl;
		else if (IS("x-b3-traceid") && !f->m.trace_id)
			f->m.trace_id = v, f->m.trace_id_len = vl;
		else if (IS("x-b3-spanid") && !f->m.span_id)
			f->m.span_id = v, f->m.span_id_len = vl;
		else if (IS("x-b3-parentspanid") && !f->m.parent_id)
			f->m.parent_id = v, f->m.parent_id_len = vl;
		else if (IS("x-b3-sampled") && !f->m.sampled)
			f->m.sampled = v, f->m.sampled_len = vl;
		else if (IS("x-b3-flags") && !f->m.flags)
			f->m.flags = v, f->m.flags_len = vl;
		else if (IS("x-request-id") && !f->request_id)
			f->request_id = v, f->request_id_len = vl;
		else if (IS("x-envoy-force-trace"))
			f->force_trace = true;
		else if (IS("x-client-trace-id"))
			f->client_trace_id = true;
		else if (IS("x-envoy-internal"))
			f->envoy_internal = true;
	}
}

#undef IS

size_t rw__http_trace_id(const struct rw_http_headers *h, char out[33])
{
	struct trace_fields f;
	struct rw_http_trace t;

	scan(h, &f);
	if ((f.traceparent &&
	     rw_http_trace_parse_traceparent(f.traceparent, f.traceparent_len, &t) == 0) ||
	    (rw_http_trace_parse_b3_multi(&f.m, &t) == 0 && t.has_ids) ||
	    (f.b3 && rw_http_trace_parse_b3(f.b3, f.b3_len, &t) == 0 && t.has_ids))
		return rw_http_trace_format_trace_id(&t, out);
	out[0] = '\0';
	return 0;
}

static uint64_t nonzero_random(struct http_worker *hw)
{
	uint64_t r;

	do
		r = rw__http_random(hw);
	while (r == 0);
	return r;
}

/*
 * Envoy's decision for a request whose sender did not decide (conn_manager_utility.cc):
 * x-client-trace-id within client_sampling, else x-envoy-force-trace (not from an edge
 * request, which Envoy strips it from), else random_sampling; then overall_sampling may
 * still say no.  The draw is the first 8 hex digits of x-request-id modulo 10000, as Envoy's
 * UUID request ids give, so hops sharing a request id agree; a PRNG draw when it has none.
 * A trace forced by x-envoy-force-trace marks the stream S_TRACE_FORCED: Envoy's reason
 * ServiceForced, the one traceable_filter logs.
 */
static bool decide(struct http_stream *s, const struct trace_fields *f)
{
	const struct rw_config_hcm *hcm = s->c->l->cfg->hcm;
	const struct rw_config_tracing *tc = &hcm->tracing;
	struct http_worker *hw = s->c->l->worker->http;
	bool edge = hcm->use_remote_address && !f->envoy_internal;
	uint64_t draw;
	bool traced, forced = false;

	if (!f->request_id || f->request_id_len < 8 || !parse_hex64(f->request_id, 8, false, &draw))
		draw = rw__http_random(hw);
	draw %= 10000;
	if (f->client_trace_id && rw__http_random(hw) % 10000 < tc->client_sampling)
		traced = true;
	else if (f->force_trace && !edge)
		traced = forced = true;
	else
		traced = draw < tc->random_sampling;
	if (forced && draw < tc->overall_sampling)
		s->flags |= S_TRACE_FORCED;
	return traced && draw < tc->overall_sampling;
}

/* Write t into the B3 multi headers (x-b3-sampled or, for debug, x-b3-flags). */
static int set_b3_multi(struct rw_http_headers *h, const struct rw_http_trace *t)
{
	char id[33], span[16], parent[16];
	size_t n = rw_http_trace_format_trace_id(t, id);
	int r;

	rw_http_trace_hex64(t->span_id, span);
	r = rw_http_headers_set(h, RW_HTTP_LIT("x-b3-traceid"), id, n);
	if (!r)
		r = rw_http_headers_set(h, RW_HTTP_LIT("x-b3-spanid"), span, 16);
	if (!r && t->parent_id) {
		rw_http_trace_hex64(t->parent_id, parent);
		r = rw_http_headers_set(h, RW_HTTP_LIT("x-b3-parentspanid"), parent, 16);
	} else if (!r) {
		rw_http_headers_remove(h, RW_HTTP_LIT("x-b3-parentspanid"));
	}
	if (r)
		return r;
	if (t->debug) {
		/* B3: debug implies accept, so X-B3-Sampled is not sent with it. */
		rw_http_headers_remove(h, RW_HTTP_LIT("x-b3-sampled"));
		return rw_http_headers_set(h, RW_HTTP_LIT("x-b3-flags"), RW_HTTP_LIT("1"));
	}
	rw_http_headers_remove(h, RW_HTTP_LIT("x-b3-flags"));
	return rw_http_headers_set(h, RW_HTTP_LIT("x-b3-sampled"), t->sampled > 0 ? "1" : "0", 1);
}

int rw__http_trace_request(struct http_stream *s)
{
	const struct rw_config_tracing *tc = &s->c->l->cfg->hcm->tracing;
	struct http_worker *hw = s->c->l->worker->http;
	struct rw_http_headers *h = &s->req;
	struct trace_fields f;
	struct rw_http_trace in = {.sampled = -1}, hint = {.sampled = -1}, t = {0}, x;
	bool w3c_ok = false, from_b3 = false;
	bool have_w3c, have_multi, have_single;
	char buf[RW_HTTP_TRACE_B3_MAX + 1];
	int r = 0;

	scan(h, &f);
	have_w3c = f.traceparent != NULL;
	have_single = f.b3 != NULL;
	/* A sampling decision alone (b3: 0, x-b3-sampled) counts as a hint, not a context. */
	if (have_w3c && rw_http_trace_parse_traceparent(f.traceparent, f.traceparent_len, &x) == 0)
		in = x, w3c_ok = true;
	r = rw_http_trace_parse_b3_multi(&f.m, &x);
	have_multi = r != -ENOENT;
	if (r == 0) {
		if (x.has_ids && !in.has_ids)
			in = x, from_b3 = true;
		else if (!x.has_ids)
			hint = x;
	}
	if (have_single && rw_http_trace_parse_b3(f.b3, f.b3_len, &x) == 0) {
		if (x.has_ids && !in.has_ids)
			in = x, from_b3 = true;
		else if (!x.has_ids && hint.sampled < 0)
			hint = x;
	}

	if (in.has_ids) {
		t = in;
		/* Zipkin's shared span context (Envoy's default): the server side of a B3 span
		 * keeps the client's span id, unless an upstream span is spawned. */
		if (!(tc->provider == RW_CONFIG_TRACER_ZIPKIN && tc->shared_span_context &&
		      !tc->spawn_upstream_span && from_b3)) {
			t.parent_id = in.span_id;
			t.span_id = nonzero_random(hw);
		}
	} else {
		t.id_128 = tc->provider != RW_CONFIG_TRACER_ZIPKIN || tc->trace_id_128bit;
		t.trace_hi = t.id_128 ? rw__http_random(hw) : 0;
		t.trace_lo = nonzero_random(hw);
		t.span_id = nonzero_random(hw);
		t.has_ids = true;
		t.sampled = hint.sampled;
		t.debug = hint.debug;
	}
	if (t.sampled < 0)
		t.sampled = decide(s, &f) ? 1 : 0;
	else if (f.force_trace)
		(void)decide(s, &f); /* the sender decided; Envoy still records the reason */
	r = 0;

	/* Every format the request used gets this hop's context; none: the provider's own. */
	if (!have_w3c && !have_multi && !have_single) {
		if (tc->provider == RW_CONFIG_TRACER_ZIPKIN)
			have_multi = true;
		else
			have_w3c = true;
	}
	if (have_w3c) {
		/* W3C: a traceparent that failed to parse takes its tracestate with it. */
		if (!w3c_ok)
			rw_http_headers_remove(h, RW_HTTP_LIT("tracestate"));
		r = rw_http_headers_set(h, RW_HTTP_LIT("traceparent"), buf,
		                        rw_http_trace_format_traceparent(&t, buf));
	}
	if (!r && have_multi)
		r = set_b3_multi(h, &t);
	if (!r && have_single)
		r = rw_http_headers_set(h, RW_HTTP_LIT("b3"), buf,
		                        rw_http_trace_format_b3(&t, buf));
	return r ? -ENOMEM : 0;
}
