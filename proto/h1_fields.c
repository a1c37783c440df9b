/*
 * The meaning of a head: which fields decide framing and connection reuse, and what the
 * request-target says.  The byte grammar is checked by h1_parse.c; this file reads the
 * fields that matter (Content-Length, Transfer-Encoding, Host, Connection, Upgrade, Expect)
 * through spans and records facts in p->flags, and splits the request-target into its parts.
 * The smuggling decisions live here and in head_end() in h1_parse.c.
 */
#include "proto/h1.h"
#include "proto/internal.h"

#include <string.h>

/* Byte-at-a-time reader over a span (a field value may straddle buffers). */
struct reader {
	struct rw_span_iter it;
	const uint8_t *d;
	size_t n;
};

static void reader_init(struct reader *r, const struct rw_span *s)
{
	rw_span_iter_init(&r->it, s);
	r->n = 0;
}

/* The next byte, or -1 at the end. */
static int reader_get(struct reader *r)
{
	if (r->n == 0 && !rw_span_iter_next(&r->it, &r->d, &r->n))
		return -1;
	r->n--;
	return *r->d++;
}

static bool is_ows(int c)
{
	return c == ' ' || c == '\t';
}

/*
 * Content-Length = 1*DIGIT, also as a list of identical values ("5, 5", RFC 9110 8.6) and
 * across repeated fields.  Differing values, empty elements, signs and overflow are errors.
 */
static int content_length(struct rw_h1_parser *p, const struct rw_span *value)
{
	struct reader r;
	int c;

	reader_init(&r, value);
	c = reader_get(&r);
	for (;;) {
		uint64_t v = 0;
		size_t digits = 0;

		while (is_ows(c))
			c = reader_get(&r);
		for (; c >= '0' && c <= '9'; c = reader_get(&r), digits++) {
			uint64_t d = (uint64_t)(c - '0');

			if (v > ((uint64_t)INT64_MAX - d) / 10)
				return rw__h1_fail(p, RW_H1_E_CONTENT_LENGTH, 400,
				                   "Content-Length overflow");
			v = v * 10 + d;
		}
		while (is_ows(c))
			c = reader_get(&r);
		if (!digits || (c != ',' && c != -1))
			return rw__h1_fail(p, RW_H1_E_CONTENT_LENGTH, 400,
			                   "malformed Content-Length");
		if ((p->flags & RW_H1_F_CL) && p->head.content_length != v)
			return rw__h1_fail(p, RW_H1_E_CONTENT_LENGTH, 400,
			                   "differing Content-Length values");
		p->flags |= RW_H1_F_CL;
		p->head.content_length = v;
		if (c == -1)
			return 0;
		c = reader_get(&r);
	}
}

/* Connection = #connection-option: note close, keep-alive, upgrade and anything else. */
static void connection(struct rw_h1_parser *p, const struct rw_span *value)
{
	struct reader r;
	char tok[12];
	size_t len = 0;
	bool junk = false, space = false;
	int c;

	reader_init(&r, value);
	do {
		c = reader_get(&r);
		if (c == ',' || c == -1) {
			if (junk || len > sizeof(tok))
				p->flags |= RW_H1_F_CONN_EXTRA;
			else if (len == 5 && !memcmp(tok, "close", 5))
				p->flags |= RW_H1_F_CONN_CLOSE;
			else if (len == 10 && !memcmp(tok, "keep-alive", 10))
				p->flags |= RW_H1_F_CONN_KEEP;
			else if (len == 7 && !memcmp(tok, "upgrade", 7))
				p->flags |= RW_H1_F_CONN_UPGRADE;
			else if (len)
				p->flags |= RW_H1_F_CONN_EXTRA;
			len = 0;
			junk = space = false;
		} else if (is_ows(c)) {
			space = len > 0;
		} else if (rw__h1_is((uint8_t)c, RW_C_TCHAR) && !space) {
			if (len < sizeof(tok))
				tok[len] = (char)rw__h1_lower((uint8_t)c);
			len++;
		} else {
			junk = true; /* not a token, or "two words": some other name */
		}
	} while (c != -1);
}

static bool name_is(const struct rw_span *name, const char *s, size_t len)
{
	return name->len == len && rw_span_eq_nocase(name, s);
}

int rw__h1_field(struct rw_h1_parser *p, const struct rw_span *name, const struct rw_span *value)
{
	if (name_is(name, "content-length", 14))
		return content_length(p, value);
	if (name_is(name, "transfer-encoding", 17)) {
		/* Only a single "chunked" is understood; the verdict waits for the whole head. */
		p->n_te++;
		if (rw_span_eq_nocase(value, "chunked"))
			p->flags |= RW_H1_F_TE_CHUNKED;
	} else if (name_is(name, "host", 4)) {
		if (++p->n_host > 1 && p->kind == RW_H1_REQUEST)
			return rw__h1_fail(p, RW_H1_E_HOST, 400, "multiple Host fields");
	} else if (name_is(name, "connection", 10)) {
		connection(p, value);
	} else if (name_is(name, "upgrade", 7)) {
		p->flags |= RW_H1_F_UPGRADE;
	} else if (name_is(name, "expect", 6)) {
		if (rw_span_eq_nocase(value, "100-continue"))
			p->flags |= RW_H1_F_EXPECT_100;
	}
	return 0;
}

static enum rw_h1_method method_id(const struct rw_span *m)
{
	static const struct {
		const char *name;
		enum rw_h1_method id;
	} known[] = {
	    {"GET", RW_H1_METHOD_GET},         {"HEAD", RW_H1_METHOD_HEAD},
	    {"POST", RW_H1_METHOD_POST},       {"PUT", RW_H1_METHOD_PUT},
	    {"DELETE", RW_H1_METHOD_DELETE},   {"CONNECT", RW_H1_METHOD_CONNECT},
	    {"OPTIONS", RW_H1_METHOD_OPTIONS}, {"TRACE", RW_H1_METHOD_TRACE},
	    {"PATCH", RW_H1_METHOD_PATCH},
	};
	char buf[8];

	if (m->len >= sizeof(buf))
		return RW_H1_METHOD_OTHER;
	rw_span_copy(m, buf, sizeof(buf));
	buf[m->len] = 0;
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(buf, known[i].name)) /* methods are case-sensitive */
			return known[i].id;
	return RW_H1_METHOD_OTHER;
}

static struct rw_span sub(const struct rw_span *s, size_t from, size_t len)
{
	return (struct rw_span){s->chain, s->off + from, len};
}

/* authority-form (CONNECT): host ":" port, port 1*DIGIT; no userinfo, path or query. */
static bool authority_form(const struct rw_span *t)
{
	struct reader r;
	size_t i = 0, colon_at = 0, digits = 0;
	bool colon = false, bad = false;
	int c;

	reader_init(&r, t);
	for (; (c = reader_get(&r)) != -1; i++) {
		if (c == '/' || c == '?' || c == '@')
			return false;
		if (c == ':') {
			colon = true;
			colon_at = i;
			digits = 0;
			bad = false;
		} else if (colon) {
			if (c >= '0' && c <= '9')
				digits++;
			else
				bad = true;
		}
	}
	return colon && colon_at > 0 && digits > 0 && !bad;
}

/*
 * absolute-form: scheme "://" authority [path-abempty] ["?" query]: split into scheme,
 * authority and the rest.  Userinfo ("user@host") is refused (RFC 9110 4.2.4).
 */
static bool absolute_form(const struct rw_span *t, struct rw_h1_request_line *rl)
{
	struct reader r;
	size_t i = 0, scheme_len = 0, auth_end;
	int c;

	reader_init(&r, t);
	while ((c = reader_get(&r)) != -1) {
		bool alpha = (c | 0x20) >= 'a' && (c | 0x20) <= 'z';

		if (c == ':')
			break;
		if (!alpha && (i == 0 || !(rw__h1_is((uint8_t)c, RW_C_DIGIT) || c == '+' ||
		                           c == '-' || c == '.')))
			return false;
		i++;
	}
	scheme_len = i;
	if (c != ':' || scheme_len == 0 || reader_get(&r) != '/' || reader_get(&r) != '/')
		return false;
	i += 3;
	auth_end = i;
	while ((c = reader_get(&r)) != -1 && c != '/' && c != '?') {
		if (c == '@')
			return false;
		auth_end++;
	}
	if (auth_end == i)
		return false;
	rl->scheme = sub(t, 0, scheme_len);
	rl->authority = sub(t, i, auth_end - i);
	rl->path = sub(t, auth_end, t->len - auth_end);
	return true;
}

int rw__h1_request_target(struct rw_h1_parser *p, struct rw_h1_request_line *rl)
{
	const struct rw_span *t = &rl->target;
	uint8_t first;

	rl->method_id = method_id(&rl->method);
	rl->scheme = rl->authority = rl->path = sub(t, 0, 0);
	rw_span_copy(t, &first, 1);
	if (rl->method_id == RW_H1_METHOD_CONNECT) {
		if (!authority_form(t))
			return rw__h1_fail(p, RW_H1_E_TARGET, 400,
			                   "CONNECT target is not host:port");
		rl->form = RW_H1_TARGET_AUTHORITY;
		rl->authority = *t;
	} else if (first == '/') {
		rl->form = RW_H1_TARGET_ORIGIN;
		rl->path = *t;
	} else if (t->len == 1 && first == '*') {
		if (rl->method_id != RW_H1_METHOD_OPTIONS)
			return rw__h1_fail(p, RW_H1_E_TARGET, 400, "'*' target without OPTIONS");
		rl->form = RW_H1_TARGET_ASTERISK;
		rl->path = *t;
	} else if (absolute_form(t, rl)) {
		rl->form = RW_H1_TARGET_ABSOLUTE;
	} else {
		return rw__h1_fail(p, RW_H1_E_TARGET, 400, "malformed request-target");
	}
	return 0;
}
