/*
 * Unit tests for the trace-context codecs (proxy/http_trace.c): W3C traceparent, B3 single
 * and B3 multi parse and format round trips, 64- and 128-bit trace ids, and the malformed
 * values (wrong length, non-hex, all-zero ids, version ff) that must be refused so the
 * proxy starts a new trace instead of forwarding them.
 */
#include <errno.h>
#include <string.h>

#include "../check.h"
#include "proxy/http_headers.h"
#include "proxy/http_internal.h"
#include "proxy/http_trace.h"

#define TP_TRACE "4bf92f3577b34da6a3ce929d0e0e4736"
#define TP_SPAN  "00f067aa0ba902b7"

static int tp(const char *v, struct rw_http_trace *t)
{
	return rw_http_trace_parse_traceparent(v, strlen(v), t);
}

static int b3(const char *v, struct rw_http_trace *t)
{
	return rw_http_trace_parse_b3(v, strlen(v), t);
}

static void test_traceparent(void)
{
	static const char *const bad[] = {
	    "",
	    "00-" TP_TRACE "-" TP_SPAN "-0",                      /* short */
	    "00-" TP_TRACE "-" TP_SPAN "-011",                    /* long for version 00 */
	    "00-" TP_TRACE "-" TP_SPAN "-01-x",                   /* version 00 has no extras */
	    "ff-" TP_TRACE "-" TP_SPAN "-01",                     /* forbidden version */
	    "0g-" TP_TRACE "-" TP_SPAN "-01",                     /* non-hex version */
	    "00-00000000000000000000000000000000-" TP_SPAN "-01", /* zero trace id */
	    "00-" TP_TRACE "-0000000000000000-01",                /* zero span id */
	    "00-4BF92F3577B34DA6A3CE929D0E0E4736-" TP_SPAN "-01", /* uppercase */
	    "00-" TP_TRACE "-00f067aa0ba902bz-01",                /* non-hex span */
	    "00_" TP_TRACE "-" TP_SPAN "-01",                     /* separator */
	    "00-4bf92f3577b34da6a3ce929d0e0e473-" TP_SPAN "0-01", /* misplaced dash */
	    "01-" TP_TRACE "-" TP_SPAN "-01x",                    /* later version: '-' next */
	};
	struct rw_http_trace t;
	char out[RW_HTTP_TRACEPARENT_LEN + 1], id[33];

	CHECK(tp("00-" TP_TRACE "-" TP_SPAN "-01", &t) == 0);
	CHECK(t.has_ids && t.id_128 && t.sampled == 1 && !t.debug && t.parent_id == 0);
	CHECK(t.trace_hi == 0x4bf92f3577b34da6ull && t.trace_lo == 0xa3ce929d0e0e4736ull);
	CHECK(t.span_id == 0x00f067aa0ba902b7ull);
	CHECK(rw_http_trace_format_traceparent(&t, out) == 55);
	CHECK(strcmp(out, "00-" TP_TRACE "-" TP_SPAN "-01") == 0);
	CHECK(rw_http_trace_format_trace_id(&t, id) == 32 && strcmp(id, TP_TRACE) == 0);

	CHECK(tp("00-" TP_TRACE "-" TP_SPAN "-00", &t) == 0 && t.sampled == 0);
	rw_http_trace_format_traceparent(&t, out);
	CHECK(strcmp(out + 53, "00") == 0);
	/* Other flag bits: only "sampled" is read and written. */
	CHECK(tp("00-" TP_TRACE "-" TP_SPAN "-03", &t) == 0 && t.sampled == 1);
	rw_http_trace_format_traceparent(&t, out);
	CHECK(strcmp(out + 53, "01") == 0);
	/* A later version is read by its version-00 prefix and answered as version 00. */
	CHECK(tp("cc-" TP_TRACE "-" TP_SPAN "-01-what-comes-next", &t) == 0);
	CHECK(tp("01-" TP_TRACE "-" TP_SPAN "-01", &t) == 0);
	rw_http_trace_format_traceparent(&t, out);
	CHECK(strncmp(out, "00-", 3) == 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (tp(bad[i], &t) != -EINVAL)
			fprintf(stderr, "traceparent '%s' was accepted\n", bad[i]);
		CHECK(tp(bad[i], &t) == -EINVAL);
	}

	/* A 64-bit trace id (from B3) is zero-padded into W3C. */
	t = (struct rw_http_trace){.trace_lo = 0x1234, .span_id = 1, .has_ids = true, .sampled = 0};
	rw_http_trace_format_traceparent(&t, out);
	CHECK(strcmp(out, "00-00000000000000000000000000001234-0000000000000001-00") == 0);
	CHECK(tp(out, &t) == 0 && t.trace_hi == 0 && t.trace_lo == 0x1234);
}

static void test_b3_single(void)
{
	static const char *const bad[] = {
	    "",
	    "2",
	    "x",
	    "80f198ee56343ba864fe8b2a57d3eff7",                     /* no span id */
	    "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-",   /* empty sampling */
	    "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-2",  /* bad sampling */
	    "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-", /* empty parent */
	    "80f198ee56343ba8-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b9",  /* short parent */
	    "80f198ee56343ba864fe8b2a57d3eff-e457b5a2e4d86bd1-1",   /* 31 digits */
	    "80f198ee56343ba8-e457b5a2e4d86bd-1",                   /* 15 digits */
	    "0000000000000000-e457b5a2e4d86bd1-1",                  /* zero trace id */
	    "80f198ee56343ba8-0000000000000000-1",                  /* zero span id */
	    "80f198ee56343ba8-e457b5a2e4d86bd1-true",               /* one char only here */
	    "80f198ee56343bg8-e457b5a2e4d86bd1-1",                  /* non-hex */
	};
	struct rw_http_trace t;
	char out[RW_HTTP_TRACE_B3_MAX + 1];
	const char *full = "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90";

	CHECK(b3(full, &t) == 0 && t.has_ids && t.id_128 && t.sampled == 1 && !t.debug);
	CHECK(t.span_id == 0xe457b5a2e4d86bd1ull && t.parent_id == 0x05e3ac9a4f6e3b90ull);
	CHECK(rw_http_trace_format_b3(&t, out) == strlen(full) && strcmp(out, full) == 0);

	CHECK(b3("80f198ee56343ba8-e457b5a2e4d86bd1", &t) == 0);
	CHECK(!t.id_128 && t.trace_lo == 0x80f198ee56343ba8ull && t.sampled == -1);
	CHECK(b3("80f198ee56343ba8-e457b5a2e4d86bd1-d", &t) == 0 && t.debug && t.sampled == 1);
	rw_http_trace_format_b3(&t, out);
	CHECK(strcmp(out, "80f198ee56343ba8-e457b5a2e4d86bd1-d") == 0);
	/* Uppercase hex is read (B3 is lenient there); written lowercase. */
	CHECK(b3("80F198EE56343BA8-E457B5A2E4D86BD1-0", &t) == 0 && t.sampled == 0);
	rw_http_trace_format_b3(&t, out);
	CHECK(strcmp(out, "80f198ee56343ba8-e457b5a2e4d86bd1-0") == 0);

	/* A sampling decision only. */
	CHECK(b3("0", &t) == 0 && !t.has_ids && t.sampled == 0);
	CHECK(b3("1", &t) == 0 && !t.has_ids && t.sampled == 1);
	CHECK(b3("d", &t) == 0 && !t.has_ids && t.debug);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (b3(bad[i], &t) != -EINVAL)
			fprintf(stderr, "b3 '%s' was accepted\n", bad[i]);
		CHECK(b3(bad[i], &t) == -EINVAL);
	}
}

static struct rw_http_trace_b3_multi multi(const char *trace, const char *span, const char *parent,
                                           const char *sampled, const char *flags)
{
	struct rw_http_trace_b3_multi m = {trace, span, parent, sampled, flags, 0, 0, 0, 0, 0};

	m.trace_id_len = trace ? strlen(trace) : 0;
	m.span_id_len = span ? strlen(span) : 0;
	m.parent_id_len = parent ? strlen(parent) : 0;
	m.sampled_len = sampled ? strlen(sampled) : 0;
	m.flags_len = flags ? strlen(flags) : 0;
	return m;
}

static void test_b3_multi(void)
{
	struct rw_http_trace t;
	struct rw_http_trace_b3_multi m;
	char id[33];

	m = multi(NULL, NULL, NULL, NULL, NULL);
	CHECK(rw_http_trace_parse_b3_multi(&m, &t) == -ENOENT);
	m = multi("463ac35c9f6413ad48485a3953bb6124", "a2fb4a1d1a96d312", "0020000000000001", "1",
	          NULL);
	CHECK(rw_http_trace_parse_b3_multi(&m, &t) == 0 && t.has_ids && t.id_128);
	CHECK(t.parent_id == 0x0020000000000001ull && t.sampled == 1);
	CHECK(rw_http_trace_format_trace_id(&t, id) == 32);
	CHECK(strcmp(id, "463ac35c9f6413ad48485a3953bb6124") == 0);
	m = multi("463ac35c9f6413ad", "a2fb4a1d1a96d312", NULL, "false", NULL);
	CHECK(rw_http_trace_parse_b3_multi(&m, &t) == 0 && !t.id_128 && t.sampled == 0);
	CHECK(rw_http_trace_format_trace_id(&t, id) == 16 && strcmp(id, "463ac35c9f6413ad") == 0);
	m = multi("463ac35c9f6413ad", "a2fb4a1d1a96d312", NULL, "true", NULL);
	CHECK(rw_http_trace_parse_b3_multi(&m, &t) == 0 && t.sampled == 1);
	m = multi("463ac35c9f6413ad", "a2fb4a1d1a96d312", NULL, NULL, "1");
	CHECK(rw_http_trace_parse_b3_multi(&m, &t) == 0 && t.debug && t.sampled == 1);
	m = multi("463ac35c9f6413ad", "a2fb4a1d1a96d312", NULL, NULL, NULL);
	CHECK(rw_http_trace_parse_b3_multi(&m, &t) == 0 && t.sampled == -1);
	/* A sampling decision alone. */
	m = multi(NULL, NULL, NULL, "0", NULL);
	CHECK(rw_http_trace_parse_b3_multi(&m, &t) == 0 && !t.has_ids && t.sampled == 0);

	m = multi("463ac35c9f6413ad", NULL, NULL, "1", NULL); /* no span id */
	CHECK(rw_http_trace_parse_b3_multi(&m, &t) == -EINVAL);
	m = multi(NULL, "a2fb4a1d1a96d312", NULL, NULL, NULL); /* no trace id */
	CHECK(rw_http_trace_parse_b3_multi(&m, &t) == -EINVAL);
	m = multi("463ac35c9f6413a", "a2fb4a1d1a96d312", NULL, NULL, NULL); /* 15 digits */
	CHECK(rw_http_trace_parse_b3_multi(&m, &t) == -EINVAL);
	m = multi("0000000000000000", "a2fb4a1d1a96d312", NULL, NULL, NULL);
	CHECK(rw_http_trace_parse_b3_multi(&m, &t) == -EINVAL);
	m = multi("463ac35c9f6413ad", "a2fb4a1d1a96d312", "0", NULL, NULL);
	CHECK(rw_http_trace_parse_b3_multi(&m, &t) == -EINVAL);
	m = multi("463ac35c9f6413ad", "a2fb4a1d1a96d312", NULL, "yes", NULL);
	CHECK(rw_http_trace_parse_b3_multi(&m, &t) == -EINVAL);
}

/* %TRACE_ID% reads W3C first, then B3 multi, then B3 single; invalid values do not count. */
static void test_trace_id_lookup(void)
{
	struct rw_http_headers h = {0};
	char id[33];

	CHECK(rw__http_trace_id(&h, id) == 0 && id[0] == '\0');
	CHECK(rw_http_headers_add(&h, RW_HTTP_LIT("b3"),
	                          RW_HTTP_LIT("80f198ee56343ba8-e457b5a2e4d86bd1-1")) == 0);
	CHECK(rw__http_trace_id(&h, id) == 16 && strcmp(id, "80f198ee56343ba8") == 0);
	CHECK(rw_http_headers_add(&h, RW_HTTP_LIT("X-B3-TraceId"),
	                          RW_HTTP_LIT("463ac35c9f6413ad48485a3953bb6124")) == 0);
	CHECK(rw_http_headers_add(&h, RW_HTTP_LIT("x-b3-spanid"),
	                          RW_HTTP_LIT("a2fb4a1d1a96d312")) == 0);
	CHECK(rw__http_trace_id(&h, id) == 32 &&
	      strcmp(id, "463ac35c9f6413ad48485a3953bb6124") == 0);
	CHECK(rw_http_headers_add(&h, RW_HTTP_LIT("traceparent"), RW_HTTP_LIT("garbage")) == 0);
	CHECK(rw__http_trace_id(&h, id) == 32 &&
	      strcmp(id, "463ac35c9f6413ad48485a3953bb6124") == 0);
	CHECK(rw_http_headers_set(&h, RW_HTTP_LIT("traceparent"),
	                          RW_HTTP_LIT("00-" TP_TRACE "-" TP_SPAN "-01")) == 0);
	CHECK(rw__http_trace_id(&h, id) == 32 && strcmp(id, TP_TRACE) == 0);
	rw_http_headers_free(&h);
}

static void test_hex(void)
{
	char out[16];

	rw_http_trace_hex64(0, out);
	CHECK(memcmp(out, "0000000000000000", 16) == 0);
	rw_http_trace_hex64(UINT64_MAX, out);
	CHECK(memcmp(out, "ffffffffffffffff", 16) == 0);
	rw_http_trace_hex64(0x0123456789abcdefull, out);
	CHECK(memcmp(out, "0123456789abcdef", 16) == 0);
}

int main(void)
{
	test_hex();
	test_traceparent();
	test_b3_single();
	test_b3_multi();
	test_trace_id_lookup();
	printf("proxy http trace: ok\n");
	return 0;
}
