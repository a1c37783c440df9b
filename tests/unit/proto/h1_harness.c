/*
 * Event recorder and feeder for the HTTP/1.1 parser tests (see h1_harness.h).
 *
 * Body events are merged ("B hel" + "B lo" → "B hello") so the string does not depend on
 * where the input was cut.  In pause mode every callback returns RW_H1_PAUSE and body bytes
 * are taken out of the input chain with rw_chain_consume + rw_chain_split exactly as the
 * connection manager will, which checks the parse's return value against the body span.
 */
#include "h1_harness.h"

#include <string.h>
#include <time.h>

uint64_t h1t_seed;
static uint64_t rng_state;
struct rw_buf_pool h1t_small, h1t_big;

uint64_t h1t_rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(2685821657736338717);
}

void h1t_seed_init(void)
{
	const char *env = getenv("RW_TEST_SEED");

	h1t_seed = env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL);
	rng_state = h1t_seed ? h1t_seed : 1;
	printf("seed %llu\n", (unsigned long long)h1t_seed);
	rw_buf_pool_init(&h1t_small, 256, 64);
	rw_buf_pool_init(&h1t_big, 1 << 20, 4);
}

double h1t_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void h1t_append(struct rw_chain *c, const void *data, size_t len)
{
	while (len) {
		struct rw_buf_pool *pool = len > h1t_small.buf_size ? &h1t_big : &h1t_small;
		struct rw_buf *b = rw_buf_pool_get(pool);
		uint32_t n = len < pool->buf_size ? (uint32_t)len : pool->buf_size;

		CHECK(b);
		memcpy(b->data, data, n);
		b->used = n;
		CHECK(rw_chain_append_buf(c, b, 0, n) == 0);
		rw_buf_unref(b);
		data = (const uint8_t *)data + n;
		len -= n;
	}
}

struct rec {
	const struct h1t_opts *o;
	char *out;
	size_t len;
	bool in_body;
	const struct rw_chain *in;
	/* pause mode: the body span to split out after the parse returns */
	bool body_pending;
	size_t body_off, body_len;
	char body_copy[4096];
};

static void put(struct rec *r, const char *s, size_t n)
{
	CHECK(r->len + n < H1T_OUT_MAX);
	memcpy(r->out + r->len, s, n);
	r->len += n;
	r->out[r->len] = 0;
}

static void puts_(struct rec *r, const char *s)
{
	put(r, s, strlen(s));
}

static void event(struct rec *r, const char *s)
{
	if (r->len)
		put(r, "|", 1);
	puts_(r, s);
	r->in_body = false;
}

static void put_span(struct rec *r, const struct rw_span *s)
{
	size_t n;

	CHECK(s->chain == r->in);
	CHECK(s->off + s->len <= r->in->bytes);
	CHECK(r->len + s->len < H1T_OUT_MAX);
	n = rw_span_copy(s, r->out + r->len, s->len);
	CHECK(n == s->len);
	r->len += n;
	r->out[r->len] = 0;
}

static int ret(struct rec *r)
{
	return r->o->pause ? RW_H1_PAUSE : 0;
}

static int on_request_line(void *ctx, const struct rw_h1_request_line *rl)
{
	struct rec *r = ctx;
	char v[16];

	event(r, "REQ ");
	put_span(r, &rl->method);
	puts_(r, " ");
	put_span(r, &rl->target);
	snprintf(v, sizeof(v), " 1.%u", rl->version_minor);
	puts_(r, v);
	if (rl->form == RW_H1_TARGET_ABSOLUTE) {
		puts_(r, " scheme=");
		put_span(r, &rl->scheme);
	}
	if (rl->form == RW_H1_TARGET_ABSOLUTE || rl->form == RW_H1_TARGET_AUTHORITY) {
		puts_(r, " auth=");
		put_span(r, &rl->authority);
	}
	if (rl->form == RW_H1_TARGET_ABSOLUTE) {
		puts_(r, " path=");
		put_span(r, &rl->path);
	}
	if (rl->form == RW_H1_TARGET_ASTERISK)
		puts_(r, " asterisk");
	return ret(r);
}

static int on_status_line(void *ctx, const struct rw_h1_status_line *sl)
{
	struct rec *r = ctx;
	char v[32];

	snprintf(v, sizeof(v), "RSP 1.%u %u ", sl->version_minor, sl->status);
	event(r, v);
	put_span(r, &sl->reason);
	return ret(r);
}

static int field(struct rec *r, const char *kind, const struct rw_span *n, const struct rw_span *v)
{
	event(r, kind);
	put_span(r, n);
	puts_(r, ": ");
	put_span(r, v);
	return ret(r);
}

static int on_header(void *ctx, const struct rw_span *n, const struct rw_span *v)
{
	return field(ctx, "H ", n, v);
}

static int on_trailer(void *ctx, const struct rw_span *n, const struct rw_span *v)
{
	return field(ctx, "T ", n, v);
}

static int on_headers_complete(void *ctx, const struct rw_h1_head *h)
{
	static const char *const body[] = {"none", "len", "chunked", "eof", "tunnel"};
	struct rec *r = ctx;
	char v[64];

	CHECK(h->is_response == (r->o->kind == RW_H1_RESPONSE));
	CHECK(h->chunked == (h->body == RW_H1_BODY_CHUNKED));
	event(r, "HC ");
	puts_(r, body[h->body]);
	if (h->body == RW_H1_BODY_LENGTH) {
		snprintf(v, sizeof(v), "=%llu", (unsigned long long)h->content_length);
		puts_(r, v);
	} else if (h->has_content_length) {
		snprintf(v, sizeof(v), " cl=%llu", (unsigned long long)h->content_length);
		puts_(r, v);
	}
	puts_(r, h->keep_alive ? " ka" : " close");
	if (h->has_host)
		puts_(r, " host");
	if (h->upgrade)
		puts_(r, " upgrade");
	if (h->expect_continue)
		puts_(r, " continue");
	if (h->interim)
		puts_(r, " interim");
	if (h->connection_extra)
		puts_(r, " extra");
	return ret(r);
}

static int on_body(void *ctx, const struct rw_span *data)
{
	struct rec *r = ctx;

	CHECK(data->len > 0);
	if (!r->in_body)
		event(r, "B ");
	put_span(r, data);
	r->in_body = true;
	if (r->o->pause) {
		CHECK(!r->body_pending);
		CHECK(data->len <= sizeof(r->body_copy));
		r->body_pending = true;
		r->body_off = data->off;
		r->body_len = data->len;
		rw_span_copy(data, r->body_copy, sizeof(r->body_copy));
	}
	return ret(r);
}

static int on_message_complete(void *ctx)
{
	struct rec *r = ctx;

	event(r, "END");
	return ret(r);
}

static const struct rw_h1_callbacks callbacks = {
    .on_request_line = on_request_line,
    .on_status_line = on_status_line,
    .on_header = on_header,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_trailer = on_trailer,
    .on_message_complete = on_message_complete,
};

static void error(struct rec *r, struct rw_h1_parser *p, ssize_t n)
{
	const char *detail;
	uint16_t status;
	enum rw_h1_error e = rw_h1_parser_error(p, &detail, &status);
	char v[80];

	CHECK(n == -(ssize_t)e);
	CHECK(detail && *detail);
	snprintf(v, sizeof(v), "ERR %s %u", rw_h1_error_name(e), status);
	event(r, v);
}

/* Parse until the parser needs more; false after an error. */
static bool drain(struct rec *r, struct rw_h1_parser *p, struct rw_chain *in)
{
	for (;;) {
		ssize_t n = rw_h1_parse(p, in, &callbacks, r);

		if (n < 0) {
			error(r, p, n);
			return false;
		}
		if (n == 0)
			return true;
		CHECK((size_t)n <= in->bytes);
		if (r->body_pending) {
			struct rw_chain body = {0};
			char tmp[4096];

			CHECK(r->body_off + r->body_len == (size_t)n);
			rw_chain_consume(in, r->body_off);
			CHECK(rw_chain_split(&body, in, r->body_len) == 0);
			CHECK(rw_chain_peek(&body, tmp, sizeof(tmp)) == r->body_len);
			CHECK(memcmp(tmp, r->body_copy, r->body_len) == 0);
			rw_chain_reset(&body);
			r->body_pending = false;
		} else {
			rw_chain_consume(in, (size_t)n);
		}
		if (r->o->kind == RW_H1_RESPONSE && rw_h1_parser_idle(p) && r->o->method)
			rw_h1_parser_set_request_method(p, r->o->method);
	}
}

char *h1t_run(const struct h1t_opts *o, const void *data, size_t len, const struct h1t_plan *plan)
{
	struct rw_h1_parser p;
	struct rw_chain in = {0};
	struct rec r = {.o = o, .in = &in};
	const uint8_t *d = data;
	bool ok = true;
	size_t at = 0;

	static char out[H1T_OUT_MAX];

	r.out = out;
	r.out[0] = 0;
	rw_h1_parser_init(&p, o->kind, &o->cfg);
	if (o->method)
		rw_h1_parser_set_request_method(&p, o->method);
	for (size_t i = 0; i < plan->n && ok; i++) {
		h1t_append(&in, d + at, plan->cuts[i]);
		at += plan->cuts[i];
		if (plan->group && plan->group[i] && i + 1 < plan->n)
			continue;
		ok = drain(&r, &p, &in);
	}
	CHECK(!ok || at == len);
	if (ok && o->eof) {
		ssize_t n = rw_h1_parse_eof(&p, &callbacks, &r);

		if (n < 0)
			error(&r, &p, n);
	}
	rw_chain_reset(&in);
	r.out = strdup(r.out);
	CHECK(r.out);
	return r.out;
}

char *h1t_run_whole(const struct h1t_opts *o, const void *data, size_t len)
{
	struct h1t_plan plan = {&len, NULL, 1};

	return h1t_run(o, data, len, &plan);
}
