/*
 * Unit tests for proto/h1_encode.c: heads and chunk framing encoded, then parsed back
 * (directed cases and a randomized round trip with random fields, chunk sizes and input
 * splits); chunk payloads moved by reference, not copied; refusal of names and values that
 * would inject fields; failure leaves the output untouched; the hop-by-hop predicate.
 * RW_TEST_SEED=<n> replays a run.
 */
#include "h1_harness.h"

#include <errno.h>
#include <string.h>

#define F(n, v)                                                                                    \
	{                                                                                          \
		n, sizeof(n) - 1, v, sizeof(v) - 1                                                 \
	}

static char *flatten(const struct rw_chain *c, size_t *len)
{
	char *s = malloc(c->bytes + 1);

	CHECK(s);
	*len = rw_chain_peek(c, s, c->bytes);
	CHECK(*len == c->bytes);
	s[*len] = 0;
	return s;
}

static void expect_parse(enum rw_h1_kind kind, const struct rw_chain *c, const char *events)
{
	struct h1t_opts o = {.kind = kind};
	size_t len;
	char *wire = flatten(c, &len);
	char *got = h1t_run_whole(&o, wire, len);

	if (strcmp(got, events)) {
		fprintf(stderr, "wire:     %s\nexpected: %s\ngot:      %s\n", wire, events, got);
		CHECK(0);
	}
	free(got);
	free(wire);
}

static void test_request_chunked(void)
{
	static const struct rw_h1_field fields[] = {F("Host", "h"),
	                                            F("Transfer-Encoding", "chunked")};
	static const struct rw_h1_field trailers[] = {F("X-Sum", "abc")};
	struct rw_chain out = {0}, body = {0};
	struct rw_buf *payload;
	size_t len;
	char *wire;

	CHECK(rw_h1_encode_request_head(&out, &h1t_small, "POST", "/up?x=1", 1, fields, 2) == 0);
	/* a 300-byte body in three slices of one buffer: must be moved, not copied */
	payload = rw_buf_pool_get(&h1t_big);
	CHECK(payload);
	memset(payload->data, 'p', 300);
	payload->used = 300;
	CHECK(rw_chain_append_buf(&body, payload, 0, 100) == 0);
	CHECK(rw_chain_append_buf(&body, payload, 200, 100) == 0);
	CHECK(body.count == 2 && payload->refs == 3); /* ours + one per slice */
	CHECK(rw_h1_encode_chunk(&out, &h1t_small, &body) == 0);
	CHECK(body.bytes == 0 && rw_chain_empty(&body));
	CHECK(payload->refs == 3); /* the same two slices, now in out */
	CHECK(rw_h1_encode_chunk(&out, &h1t_small, &body) == 0); /* empty: nothing */
	CHECK(rw_h1_encode_last_chunk(&out, &h1t_small, trailers, 1) == 0);
	wire = flatten(&out, &len);
	CHECK(!strncmp(
	    wire, "POST /up?x=1 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nc8\r\n",
	    65));
	CHECK(!strcmp(wire + len - 19, "\r\n0\r\nX-Sum: abc\r\n\r\n"));
	free(wire);
	{
		char expect[512] = "REQ POST /up?x=1 1.1|H Host: h|H Transfer-Encoding: chunked|"
				   "HC chunked ka host|B ";

		memset(expect + strlen(expect), 'p', 200);
		strcat(expect, "|T X-Sum: abc|END");
		expect_parse(RW_H1_REQUEST, &out, expect);
	}
	rw_buf_unref(payload);
	rw_chain_reset(&body);
	rw_chain_reset(&out);
	CHECK(h1t_big.n_live == 0);
}

static void test_response(void)
{
	static const struct rw_h1_field fields[] = {F("Content-Length", "2"), F("X-Empty", "")};
	struct rw_chain out = {0};

	CHECK(rw_h1_encode_response_head(&out, &h1t_small, 1, 404, "Not Found", fields, 2) == 0);
	CHECK(rw_chain_append_copy(&out, &h1t_small, "no", 2) == 0);
	expect_parse(RW_H1_RESPONSE, &out,
	             "RSP 1.1 404 Not Found|H Content-Length: 2|H X-Empty: |HC len=2 ka|B no|END");
	rw_chain_reset(&out);
	CHECK(rw_h1_encode_response_head(&out, &h1t_small, 0, 204, NULL, NULL, 0) == 0);
	expect_parse(RW_H1_RESPONSE, &out, "RSP 1.0 204 |HC none close|END");
	rw_chain_reset(&out);
	CHECK(rw_h1_encode_request_head(&out, &h1t_small, "OPTIONS", "*", 0, NULL, 0) == 0);
	expect_parse(RW_H1_REQUEST, &out, "REQ OPTIONS * 1.0 asterisk|HC none close|END");
	rw_chain_reset(&out);
}

/* Injection attempts are refused and leave the output as it was. */
static void test_refusals(void)
{
	static const struct rw_h1_field crlf[] = {F("X", "a\r\nInjected: 1")};
	static const struct rw_h1_field lf[] = {F("X", "a\nb")};
	static const struct rw_h1_field nul[] = {F("X", "a\0b")};
	static const struct rw_h1_field name_colon[] = {F("X:Y", "1")};
	static const struct rw_h1_field name_empty[] = {F("", "1")};
	struct rw_chain out = {0};

	CHECK(rw_chain_append_copy(&out, &h1t_small, "keep", 4) == 0);
	CHECK(rw_h1_encode_request_head(&out, &h1t_small, "GET", "/", 1, crlf, 1) == -EINVAL);
	CHECK(rw_h1_encode_request_head(&out, &h1t_small, "GET", "/", 1, lf, 1) == -EINVAL);
	CHECK(rw_h1_encode_request_head(&out, &h1t_small, "GET", "/", 1, nul, 1) == -EINVAL);
	CHECK(rw_h1_encode_request_head(&out, &h1t_small, "GET", "/", 1, name_colon, 1) == -EINVAL);
	CHECK(rw_h1_encode_request_head(&out, &h1t_small, "GET", "/", 1, name_empty, 1) == -EINVAL);
	CHECK(rw_h1_encode_request_head(&out, &h1t_small, "G T", "/", 1, NULL, 0) == -EINVAL);
	CHECK(rw_h1_encode_request_head(&out, &h1t_small, "GET", "/a b", 1, NULL, 0) == -EINVAL);
	CHECK(rw_h1_encode_request_head(&out, &h1t_small, "GET", "", 1, NULL, 0) == -EINVAL);
	CHECK(rw_h1_encode_response_head(&out, &h1t_small, 1, 200, "O\r\nK", NULL, 0) == -EINVAL);
	CHECK(rw_h1_encode_response_head(&out, &h1t_small, 1, 99, "x", NULL, 0) == -EINVAL);
	CHECK(rw_h1_encode_response_head(&out, &h1t_small, 1, 600, "x", NULL, 0) == -EINVAL);
	CHECK(rw_h1_encode_last_chunk(&out, &h1t_small, crlf, 1) == -EINVAL);
	CHECK(out.bytes == 4);
	rw_chain_reset(&out);
}

static void test_hop_by_hop(void)
{
	static const char *hop[] = {"Connection",        "keep-alive", "PROXY-CONNECTION", "te",
	                            "Transfer-Encoding", "upgrade",    "Trailer"};
	const char *conn = "close, X-Private ,\tx-other";

	for (size_t i = 0; i < sizeof(hop) / sizeof(hop[0]); i++)
		CHECK(rw_h1_is_hop_by_hop(hop[i], strlen(hop[i]), NULL, 0));
	CHECK(!rw_h1_is_hop_by_hop("Trailers", 8, NULL, 0));
	CHECK(!rw_h1_is_hop_by_hop("Host", 4, NULL, 0));
	CHECK(!rw_h1_is_hop_by_hop("Content-Length", 14, NULL, 0));
	CHECK(rw_h1_is_hop_by_hop("x-private", 9, conn, strlen(conn)));
	CHECK(rw_h1_is_hop_by_hop("X-Other", 7, conn, strlen(conn)));
	CHECK(!rw_h1_is_hop_by_hop("X-Priv", 6, conn, strlen(conn)));
	CHECK(!rw_h1_is_hop_by_hop("X-Private2", 10, conn, strlen(conn)));
	CHECK(!rw_h1_is_hop_by_hop("", 0, ",,", 2));
}

/* Random heads and bodies: encode, parse back under random splits, compare. */
static void test_random_round_trip(void)
{
	for (int iter = 0; iter < 300; iter++) {
		struct rw_h1_field f[8];
		char names[8][32], values[8][40], expect[8192];
		struct rw_chain out = {0};
		bool chunked = h1t_rng() % 2;
		size_t nf = 1 + (size_t)chunked + h1t_rng() % 7, len, el, ncuts = 0, cuts[2048];
		struct h1t_opts o = {.kind = RW_H1_REQUEST};
		struct h1t_plan plan;
		char *wire, *got;

		el = (size_t)sprintf(expect, "REQ PUT /r%d 1.1", iter);
		for (size_t i = 0; i < nf; i++) {
			size_t vl = h1t_rng() % 30;

			if (i == 0)
				strcpy(names[i], "Host");
			else if (i == 1 && chunked)
				strcpy(names[i], "Transfer-Encoding");
			else
				snprintf(names[i], sizeof(names[i]), "X-%zu-%c", i,
				         (char)('a' + h1t_rng() % 26));
			if (i == 1 && chunked) {
				strcpy(values[i], "chunked");
				vl = 7;
			} else {
				for (size_t k = 0; k < vl; k++)
					values[i][k] = (char)(0x21 + h1t_rng() % 94);
				values[i][vl] = 0;
			}
			f[i] = (struct rw_h1_field){names[i], strlen(names[i]), values[i], vl};
			el += (size_t)sprintf(expect + el, "|H %s: %s", names[i], values[i]);
		}
		{
			char target[16];

			sprintf(target, "/r%d", iter);
			CHECK(rw_h1_encode_request_head(&out, &h1t_small, "PUT", target, 1, f,
			                                nf) == 0);
		}
		el += (size_t)sprintf(expect + el, "|HC %s ka host", chunked ? "chunked" : "none");
		if (chunked) {
			size_t pieces = h1t_rng() % 5, body = 0;

			for (size_t i = 0; i < pieces; i++) {
				struct rw_chain b = {0};
				size_t bl = 1 + h1t_rng() % 600;
				char tmp[600];

				for (size_t k = 0; k < bl; k++)
					tmp[k] = (char)('a' + (body + k) % 26);
				if (!body)
					el += (size_t)sprintf(expect + el, "|B ");
				memcpy(expect + el, tmp, bl);
				el += bl;
				body += bl;
				h1t_append(&b, tmp, bl);
				CHECK(rw_h1_encode_chunk(&out, &h1t_small, &b) == 0);
				CHECK(b.bytes == 0);
				rw_chain_reset(&b);
			}
			CHECK(rw_h1_encode_last_chunk(&out, &h1t_small, f + nf - 1, 1) == 0);
			el += (size_t)sprintf(expect + el, "|T %s: %s", f[nf - 1].name,
			                      values[nf - 1]);
		}
		strcpy(expect + el, "|END");
		wire = flatten(&out, &len);
		for (size_t left = len; left; ncuts++) {
			cuts[ncuts] = 1 + h1t_rng() % 50;
			if (cuts[ncuts] > left)
				cuts[ncuts] = left;
			left -= cuts[ncuts];
		}
		plan = (struct h1t_plan){cuts, NULL, ncuts};
		got = h1t_run(&o, wire, len, &plan);
		if (strcmp(got, expect)) {
			fprintf(stderr, "expected: %s\ngot:      %s\n", expect, got);
			CHECK(0);
		}
		free(got);
		free(wire);
		rw_chain_reset(&out);
	}
}

int main(void)
{
	double t0;

	h1t_seed_init();
	t0 = h1t_now();
	test_request_chunked();
	test_response();
	test_refusals();
	test_hop_by_hop();
	test_random_round_trip();
	printf("h1_encode: ok, %.2fs\n", h1t_now() - t0);
	rw_buf_pool_destroy(&h1t_small);
	rw_buf_pool_destroy(&h1t_big);
	return 0;
}
