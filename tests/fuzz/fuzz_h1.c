/*
 * libFuzzer harness for the HTTP/1.1 parser (proto/h1_parse.c).
 *
 * Input: byte 0 picks the mode (bit 0 response parser; bits 1-2 the request method a
 * response answers: GET, HEAD, CONNECT, POST; bit 3 EOF after the input; bit 4 a tiny
 * config: 1 KiB head, 4 fields, 64-byte body), bytes 1-2 seed the split points, the rest is
 * the stream.  The stream is parsed twice: whole (one buffer up to 64 KiB), then cut into random
 * small buffers arriving in random groups with every callback pausing and body bytes split out of
 * the chain zero-copy.  Beyond "no crash, no leak, no hang" the two runs must agree exactly
 * (a digest of every event, the error and its status) and every promise in h1.h must hold:
 * spans inside the chain, a parse never returns more than it was given, a paused body span
 * ends where the parse says, statuses are from the documented set.
 */
#include "core/buf.h"
#include "proto/h1.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct rw_buf_pool small_pool, big; /* split runs; whole runs (one buffer) */

struct run {
	const struct rw_chain *in;
	uint64_t hash;
	bool pause;
	bool in_body;
	bool body_pending;
	size_t body_off, body_len;
	uint64_t body_hash; /* of the paused span, checked against what gets split out */
};

static uint64_t mix(uint64_t h, const void *d, size_t n)
{
	const uint8_t *p = d;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * UINT64_C(1099511628211);
	return h;
}

static void event(struct run *r, char kind)
{
	r->hash = mix(r->hash, &kind, 1);
	r->in_body = false;
}

/* Digest a span's bytes; sep: end it with a separator (not for body bytes, whose events
   are cut wherever the input was). */
static void span_sep(struct run *r, const struct rw_span *s, bool sep)
{
	struct rw_span_iter it;
	const uint8_t *d;
	size_t n, total = 0;

	if (s->chain != r->in || s->off > r->in->bytes || s->len > r->in->bytes - s->off)
		abort();
	rw_span_iter_init(&it, s);
	while (rw_span_iter_next(&it, &d, &n)) {
		if (n == 0)
			abort();
		r->hash = mix(r->hash, d, n);
		total += n;
	}
	if (total != s->len)
		abort();
	if (sep)
		r->hash = mix(r->hash, "|", 1);
}

static void span(struct run *r, const struct rw_span *s)
{
	span_sep(r, s, true);
}

static int ret(struct run *r)
{
	return r->pause ? RW_H1_PAUSE : 0;
}

static int on_request_line(void *ctx, const struct rw_h1_request_line *rl)
{
	struct run *r = ctx;

	event(r, 'R');
	span(r, &rl->method);
	span(r, &rl->target);
	span(r, &rl->scheme);
	span(r, &rl->authority);
	span(r, &rl->path);
	r->hash = mix(r->hash, &rl->method_id, sizeof(rl->method_id));
	r->hash = mix(r->hash, &rl->form, sizeof(rl->form));
	if (rl->version_minor > 1)
		abort();
	return ret(r);
}

static int on_status_line(void *ctx, const struct rw_h1_status_line *sl)
{
	struct run *r = ctx;

	event(r, 'S');
	span(r, &sl->reason);
	r->hash = mix(r->hash, &sl->status, sizeof(sl->status));
	if (sl->status < 100 || sl->status > 599 || sl->version_minor > 1)
		abort();
	return ret(r);
}

static int field(struct run *r, char kind, const struct rw_span *n, const struct rw_span *v)
{
	char buf[32];
	uint64_t num;

	event(r, kind);
	span(r, n);
	span(r, v);
	if (n->len == 0)
		abort();
	/* the helpers must cope with any span */
	if (rw_span_copy(v, buf, sizeof(buf)) != (v->len < sizeof(buf) ? v->len : sizeof(buf)))
		abort();
	if (rw_span_eq_nocase(n, "content-length") && rw_span_to_u64(v, &num) == 0)
		r->hash = mix(r->hash, &num, sizeof(num));
	return ret(r);
}

static int on_header(void *ctx, const struct rw_span *n, const struct rw_span *v)
{
	return field(ctx, 'H', n, v);
}

static int on_trailer(void *ctx, const struct rw_span *n, const struct rw_span *v)
{
	return field(ctx, 'T', n, v);
}

static int on_headers_complete(void *ctx, const struct rw_h1_head *h)
{
	struct run *r = ctx;
	uint8_t facts[] = {(uint8_t)h->body,    h->has_content_length, h->chunked,  h->keep_alive,
	                   h->upgrade,          h->expect_continue,    h->has_host, h->interim,
	                   h->connection_extra, h->version_minor};

	event(r, 'C');
	r->hash = mix(r->hash, facts, sizeof(facts));
	r->hash = mix(r->hash, &h->content_length, sizeof(h->content_length));
	if (h->chunked != (h->body == RW_H1_BODY_CHUNKED) ||
	    (h->body == RW_H1_BODY_LENGTH && (!h->has_content_length || !h->content_length)))
		abort();
	return ret(r);
}

static int on_body(void *ctx, const struct rw_span *d)
{
	struct run *r = ctx;

	if (d->len == 0 || r->body_pending)
		abort();
	if (!r->in_body)
		event(r, 'B');
	span_sep(r, d, false);
	r->in_body = true;
	if (r->pause) {
		struct rw_span_iter it;
		const uint8_t *p;
		size_t n;

		r->body_pending = true;
		r->body_off = d->off;
		r->body_len = d->len;
		r->body_hash = 0;
		rw_span_iter_init(&it, d);
		while (rw_span_iter_next(&it, &p, &n))
			r->body_hash = mix(r->body_hash, p, n);
	}
	return ret(r);
}

static int on_message_complete(void *ctx)
{
	struct run *r = ctx;

	event(r, 'E');
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

static void append(struct rw_chain *c, struct rw_buf_pool *pool, const uint8_t *d, size_t len)
{
	while (len) {
		struct rw_buf *b = rw_buf_pool_get(pool);
		uint32_t n = len < pool->buf_size ? (uint32_t)len : pool->buf_size;

		if (!b)
			abort();
		memcpy(b->data, d, n);
		b->used = n;
		if (rw_chain_append_buf(c, b, 0, n) != 0)
			abort();
		rw_buf_unref(b);
		d += n;
		len -= n;
	}
}

static uint32_t next(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* Returns the digest of the run; *err gets the error and its status. */
static uint64_t run(uint8_t mode, uint32_t seed, const uint8_t *d, size_t len, bool split, int *err)
{
	static const enum rw_h1_method methods[] = {RW_H1_METHOD_GET, RW_H1_METHOD_HEAD,
	                                            RW_H1_METHOD_CONNECT, RW_H1_METHOD_POST};
	struct rw_h1_config small = {1, 4, 64};
	enum rw_h1_method m = methods[(mode >> 1) & 3];
	struct rw_h1_parser p;
	struct rw_chain in = {0};
	struct run r = {.in = &in, .hash = 14695981039346656037u, .pause = split};
	size_t at = 0;

	*err = 0;
	rw_h1_parser_init(&p, mode & 1 ? RW_H1_RESPONSE : RW_H1_REQUEST, mode & 16 ? &small : NULL);
	rw_h1_parser_set_request_method(&p, m);
	while (at < len && !*err) {
		size_t piece = len - at;

		/* cut into buffers of 1..16 bytes, several arriving before each parse */
		if (split) {
			do {
				size_t n = 1 + next(&seed) % 16;

				if (n > len - at)
					n = len - at;
				append(&in, &small_pool, d + at, n);
				at += n;
			} while (at < len && next(&seed) % 4 != 0);
		} else {
			append(&in, &big, d, piece);
			at = len;
		}
		for (;;) {
			size_t before = in.bytes;
			ssize_t n = rw_h1_parse(&p, &in, &callbacks, &r);

			if (n < 0) {
				const char *detail;
				uint16_t status;
				enum rw_h1_error e = rw_h1_parser_error(&p, &detail, &status);

				if (n != -(ssize_t)e || e == RW_H1_E_NONE || !detail || !*detail)
					abort();
				if (status != 400 && status != 413 && status != 431 &&
				    status != 501 && status != 505 && status != 502)
					abort();
				if ((mode & 1) && status != 502)
					abort();
				*err = (int)e << 16 | status;
				break;
			}
			if (n == 0)
				break;
			if ((size_t)n > before)
				abort();
			if (r.body_pending) {
				struct rw_chain body = {0};
				struct iovec iov[64];
				uint64_t h = 0;
				int k;

				if (r.body_off + r.body_len != (size_t)n)
					abort();
				rw_chain_consume(&in, r.body_off);
				if (rw_chain_split(&body, &in, r.body_len) != 0)
					abort();
				k = rw_chain_iov(&body, iov, 64);
				for (int i = 0; i < k; i++)
					h = mix(h, iov[i].iov_base, iov[i].iov_len);
				if (k < 64 && h != r.body_hash)
					abort();
				rw_chain_reset(&body);
				r.body_pending = false;
			} else {
				rw_chain_consume(&in, (size_t)n);
			}
			if (rw_h1_parser_idle(&p))
				rw_h1_parser_set_request_method(&p, m);
		}
	}
	if (!*err && (mode & 8)) {
		ssize_t n = rw_h1_parse_eof(&p, &callbacks, &r);

		if (n < 0)
			*err = (int)p.error << 16 | p.error_status;
	}
	rw_chain_reset(&in);
	return r.hash;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t mode;
	uint32_t seed;
	uint64_t whole, split;
	int err_whole, err_split;

	if (!small_pool.buf_size) {
		rw_buf_pool_init(&small_pool, 64, 256);
		rw_buf_pool_init(&big, 1 << 16, 2);
	}
	if (size < 3)
		return 0;
	mode = data[0];
	seed = (uint32_t)data[1] << 8 | data[2] | 1u << 20;
	whole = run(mode, seed, data + 3, size - 3, false, &err_whole);
	split = run(mode, seed, data + 3, size - 3, true, &err_split);
	if (whole != split || err_whole != err_split)
		abort();
	if (small_pool.n_live != 0 || big.n_live != 0)
		abort();
	return 0;
}
