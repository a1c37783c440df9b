/*
 * Unit tests for the HTTP/1.1 parser's connection-level behaviour and helpers: pipelining
 * (the parse stops at each message end and returns exactly that message's length),
 * keep-alive decisions, response framing driven by the request method, 1xx then final,
 * close-delimited bodies ended by EOF, tunnels, the default 60 KiB / 100 field limits at and
 * past the edge, pause and abort from callbacks, and the span helpers on spans straddling
 * many buffers.  RW_TEST_SEED=<n> replays a run.
 */
#include "h1_harness.h"

#include <errno.h>
#include <string.h>

struct count {
	int ends;
	int heads;
	struct rw_h1_head last;
	int abort_at; /* on_header returns -1 at this header (1-based), 0 = never */
	int headers;
};

static int c_head(void *ctx, const struct rw_h1_head *h)
{
	struct count *c = ctx;

	c->heads++;
	c->last = *h;
	return 0;
}

static int c_end(void *ctx)
{
	((struct count *)ctx)->ends++;
	return 0;
}

static int c_header(void *ctx, const struct rw_span *n, const struct rw_span *v)
{
	struct count *c = ctx;

	(void)n;
	(void)v;
	return ++c->headers == c->abort_at ? -1 : 0;
}

static const struct rw_h1_callbacks counting = {
    .on_header = c_header,
    .on_headers_complete = c_head,
    .on_message_complete = c_end,
};

/* Three pipelined requests in one chain: each parse returns exactly one message. */
static void test_pipelining(void)
{
	static const char *msgs[] = {
	    "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n",
	    "POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc",
	    ("PUT /3 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
	     "1\r\nz\r\n0\r\n\r\n"),
	};
	static const bool ka[] = {true, true, false};
	struct rw_h1_parser p;
	struct rw_chain in = {0};
	struct count c = {0};

	for (size_t i = 0; i < 3; i++)
		h1t_append(&in, msgs[i], strlen(msgs[i]));
	rw_h1_parser_init(&p, RW_H1_REQUEST, NULL);
	for (size_t i = 0; i < 3; i++) {
		ssize_t n = rw_h1_parse(&p, &in, &counting, &c);

		CHECK(n == (ssize_t)strlen(msgs[i]));
		CHECK(c.ends == (int)i + 1);
		CHECK(c.last.keep_alive == ka[i]);
		CHECK(rw_h1_parser_idle(&p));
		rw_chain_consume(&in, (size_t)n);
	}
	CHECK(in.bytes == 0);
	CHECK(rw_h1_parse(&p, &in, &counting, &c) == 0);
	CHECK(rw_h1_parse_eof(&p, &counting, &c) == 0);
	/* a partial head: nothing consumed, not idle, EOF now is an error */
	h1t_append(&in, "GET /4 HT", 9);
	CHECK(rw_h1_parse(&p, &in, &counting, &c) == 0);
	CHECK(!rw_h1_parser_idle(&p) && in.bytes == 9);
	CHECK(rw_h1_parse_eof(&p, &counting, &c) == -RW_H1_E_INCOMPLETE);
	rw_chain_reset(&in);
}

/* Responses to GET, HEAD, GET on one connection: the method is set per response. */
static void test_response_methods(void)
{
	static const char rsp[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"
				  "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"
				  "HTTP/1.1 100 Continue\r\n\r\n"
				  "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nyo";
	static const enum rw_h1_method m[] = {RW_H1_METHOD_GET, RW_H1_METHOD_HEAD,
	                                      RW_H1_METHOD_POST};
	static const size_t len[] = {40, 38, 25, 40};
	struct rw_h1_parser p;
	struct rw_chain in = {0};
	struct count c = {0};
	size_t k = 0;

	h1t_append(&in, rsp, sizeof(rsp) - 1);
	rw_h1_parser_init(&p, RW_H1_RESPONSE, NULL);
	for (size_t i = 0; i < 4; i++) {
		ssize_t n;

		if (i != 3) /* the 100 does not use up the method: no reset before the 200 */
			rw_h1_parser_set_request_method(&p, m[k++]);
		n = rw_h1_parse(&p, &in, &counting, &c);
		CHECK(n == (ssize_t)len[i]);
		CHECK(c.last.method == m[k - 1]);
		CHECK(c.last.interim == (i == 2));
		rw_chain_consume(&in, (size_t)n);
	}
	CHECK(c.last.body == RW_H1_BODY_LENGTH && c.ends == 4);
	rw_chain_reset(&in);
}

/* A 101 makes the parser step aside: the tunnel bytes stay in the chain. */
static void test_tunnel(void)
{
	static const char rsp[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n"
				  "Connection: upgrade\r\n\r\nPRI * HTTP/2.0";
	struct rw_h1_parser p;
	struct rw_chain in = {0};
	struct count c = {0};
	ssize_t n;

	h1t_append(&in, rsp, sizeof(rsp) - 1);
	rw_h1_parser_init(&p, RW_H1_RESPONSE, NULL);
	n = rw_h1_parse(&p, &in, &counting, &c);
	CHECK(n == (ssize_t)(sizeof(rsp) - 1 - 14));
	CHECK(c.last.body == RW_H1_BODY_TUNNEL && c.last.upgrade && !c.last.keep_alive);
	CHECK(rw_h1_parser_in_tunnel(&p));
	rw_chain_consume(&in, (size_t)n);
	CHECK(rw_h1_parse(&p, &in, &counting, &c) == 0);
	CHECK(in.bytes == 14);
	CHECK(rw_h1_parse_eof(&p, &counting, &c) == 0);
	rw_chain_reset(&in);
}

/* Close-delimited body: body until EOF, then message complete from rw_h1_parse_eof. */
static void test_eof_body(void)
{
	struct rw_h1_parser p;
	struct rw_chain in = {0};
	struct count c = {0};
	const char *head = "HTTP/1.0 200 OK\r\n\r\n";

	rw_h1_parser_init(&p, RW_H1_RESPONSE, NULL);
	h1t_append(&in, head, strlen(head));
	CHECK(rw_h1_parse(&p, &in, &counting, &c) == (ssize_t)strlen(head));
	rw_chain_consume(&in, strlen(head));
	CHECK(c.last.body == RW_H1_BODY_EOF && !c.last.keep_alive && c.ends == 0);
	for (int i = 0; i < 5; i++) {
		h1t_append(&in, "0123456789", 10);
		CHECK(rw_h1_parse(&p, &in, &counting, &c) == 10);
		rw_chain_consume(&in, 10);
	}
	CHECK(c.ends == 0);
	CHECK(rw_h1_parse_eof(&p, &counting, &c) == 0);
	CHECK(c.ends == 1);
	rw_chain_reset(&in);
}

static char *build_request(size_t target_head, size_t n_fields)
{
	/* "GET / HTTP/1.1\r\n" + "Host: x\r\n" + fields "X: v\r\n" + filler + "\r\n" */
	char *m = malloc(target_head + n_fields * 8 + 64);
	size_t len;

	CHECK(m);
	len = (size_t)sprintf(m, "GET / HTTP/1.1\r\nHost: x\r\n");
	for (size_t i = 1; i < n_fields; i++)
		len += (size_t)sprintf(m + len, "X: v\r\n");
	if (target_head > len + 2) {
		size_t filler = target_head - len - 2;

		CHECK(filler >= 6);
		memcpy(m + len, "F: ", 3);
		memset(m + len + 3, 'f', filler - 5);
		memcpy(m + len + filler - 2, "\r\n", 2);
		len += filler;
	}
	memcpy(m + len, "\r\n", 3);
	return m;
}

static void expect(const char *got, const char *suffix)
{
	size_t a = strlen(got), b = strlen(suffix);

	if (a < b || strcmp(got + a - b, suffix)) {
		fprintf(stderr, "expected ...%s\n got %s\n", suffix, got);
		CHECK(0);
	}
}

/* Envoy's defaults: 60 KiB of head and 100 fields; the edge passes, one more is 431. */
static void test_limits(void)
{
	struct h1t_opts o = {.kind = RW_H1_REQUEST};
	size_t sizes[] = {60 * 1024, 60 * 1024 + 1};
	size_t cuts[4096];

	for (int i = 0; i < 2; i++) {
		char *m = build_request(sizes[i], 2);
		size_t len = strlen(m), n = 0, left = len;
		struct h1t_plan plan;
		char *got;

		CHECK(len == sizes[i]);
		got = h1t_run_whole(&o, m, len);
		expect(got, i ? "ERR headers_too_large 431" : "HC none ka host|END");
		free(got);
		while (left) { /* random small buffers: the 60 KiB field straddles hundreds */
			size_t l = 1 + h1t_rng() % 100;

			cuts[n++] = l < left ? l : left;
			left -= cuts[n - 1];
		}
		plan = (struct h1t_plan){cuts, NULL, n};
		got = h1t_run(&o, m, len, &plan);
		expect(got, i ? "ERR headers_too_large 431" : "HC none ka host|END");
		free(got);
		free(m);
	}
	for (int i = 0; i < 2; i++) {
		char *m = build_request(0, 100 + (size_t)i);
		char *got = h1t_run_whole(&o, m, strlen(m));

		expect(got, i ? "ERR too_many_headers 431" : "HC none ka host|END");
		free(got);
		free(m);
	}
	/* leading empty lines count too: an endless stream of CRLF is cut off */
	{
		size_t len = 61 * 1024;
		char *m = malloc(len);
		char *got;

		CHECK(m);
		for (size_t i = 0; i < len; i += 2)
			memcpy(m + i, "\r\n", 2);
		got = h1t_run_whole(&o, m, len);
		expect(got, "ERR headers_too_large 431");
		free(got);
		free(m);
	}
}

/* Chunk extensions are bounded: a 4 KiB chunk-size line is refused. */
static void test_chunk_ext_limit(void)
{
	struct h1t_opts o = {.kind = RW_H1_REQUEST};
	const char *head = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1;a=";
	size_t hl = strlen(head);
	char *m = malloc(hl + 8192);
	char *got;

	CHECK(m);
	memcpy(m, head, hl);
	memset(m + hl, 'v', 4090);
	memcpy(m + hl + 4090, "\r\nz\r\n0\r\n\r\n", 10);
	got = h1t_run_whole(&o, m, hl + 4100);
	expect(got, "B z|END"); /* 4094-byte line: fine */
	free(got);
	memset(m + hl, 'v', 5000);
	got = h1t_run_whole(&o, m, hl + 5000);
	expect(got, "ERR bad_chunk_ext 400");
	free(got);
	free(m);
}

/* A negative callback return aborts with RW_H1_E_CALLBACK; the parser stays failed. */
static void test_abort(void)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\n\r\n";
	struct rw_h1_parser p;
	struct rw_chain in = {0};
	struct count c = {.abort_at = 2};
	uint16_t status;

	h1t_append(&in, req, sizeof(req) - 1);
	rw_h1_parser_init(&p, RW_H1_REQUEST, NULL);
	CHECK(rw_h1_parse(&p, &in, &counting, &c) == -RW_H1_E_CALLBACK);
	CHECK(rw_h1_parser_error(&p, NULL, &status) == RW_H1_E_CALLBACK && status == 0);
	CHECK(c.headers == 2 && c.heads == 0);
	CHECK(rw_h1_parse(&p, &in, &counting, &c) == -RW_H1_E_CALLBACK);
	CHECK(c.headers == 2);
	rw_chain_reset(&in);
}

/* Span helpers over a span cut into one-byte buffers. */
static void test_spans(void)
{
	struct rw_chain c = {0};
	const char *text = "xxContent-LENGTH 18446744073709551615 9223372036854775807 12a";
	struct rw_span s;
	struct rw_span_iter it;
	const uint8_t *d;
	size_t n, pieces = 0, total = 0;
	char out[64];
	uint64_t v;

	for (size_t i = 0; text[i]; i++)
		h1t_append(&c, text + i, 1);
	s = (struct rw_span){&c, 2, 14};
	CHECK(rw_span_eq_nocase(&s, "content-length"));
	CHECK(!rw_span_eq_nocase(&s, "content-lengtH "));
	CHECK(!rw_span_eq_nocase(&s, "content-lengti"));
	rw_span_iter_init(&it, &s);
	while (rw_span_iter_next(&it, &d, &n)) {
		CHECK(n == 1 && *d == (uint8_t)text[2 + total]);
		pieces++;
		total += n;
	}
	CHECK(pieces == 14 && total == 14);
	CHECK(rw_span_copy(&s, out, 7) == 7 && !memcmp(out, "Content", 7));
	CHECK(rw_span_copy(&s, out, sizeof(out)) == 14 && !memcmp(out, "Content-LENGTH", 14));
	s = (struct rw_span){&c, 17, 20};
	CHECK(rw_span_to_u64(&s, &v) == -ERANGE);
	s = (struct rw_span){&c, 38, 19};
	CHECK(rw_span_to_u64(&s, &v) == 0 && v == INT64_MAX);
	s = (struct rw_span){&c, 58, 3};
	CHECK(rw_span_to_u64(&s, &v) == -EINVAL);
	s = (struct rw_span){&c, 58, 2};
	CHECK(rw_span_to_u64(&s, &v) == 0 && v == 12);
	s = (struct rw_span){&c, 58, 0};
	CHECK(rw_span_to_u64(&s, &v) == -EINVAL);
	CHECK(rw_span_eq_nocase(&s, ""));
	rw_chain_reset(&c);
}

int main(void)
{
	double t0;

	h1t_seed_init();
	t0 = h1t_now();
	test_pipelining();
	test_response_methods();
	test_tunnel();
	test_eof_body();
	test_limits();
	test_chunk_ext_limit();
	test_abort();
	test_spans();
	printf("h1_misc: ok, %.2fs\n", h1t_now() - t0);
	rw_buf_pool_destroy(&h1t_small);
	rw_buf_pool_destroy(&h1t_big);
	return 0;
}
