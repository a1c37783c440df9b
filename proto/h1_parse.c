/*
 * HTTP/1.1 message parser (RFC 9112): an explicit state machine over the input chain.
 *
 * Head lines are checked byte by byte as they arrive but reported only when complete, as
 * spans of the chain: the bytes of an incomplete line stay in the caller's chain (they are
 * not "consumed") and p->scanned remembers how far they were checked, so a line trickling in
 * one byte at a time is still scanned once.  Chunk framing is consumed as it is read (its
 * state is a few integers); body bytes are reported as spans as soon as any arrive.
 *
 *   chain front                              in->bytes
 *   |<-- consumed (returned) -->|<-- scanned -->|
 *   | complete lines, body, ... | partial line  |
 *
 * Every rejection happens at a fixed byte of the input, so the events before an error do not
 * depend on how the input was split (the chunking-invariance test checks exactly that).
 */
#include "proto/h1.h"
#include "proto/internal.h"

#include <string.h>

enum state {
	S_START = 0, /* before a message; a request may be preceded by empty lines */
	S_START_LF,  /* CR of such an empty line */
	S_METHOD,    /* request line */
	S_TARGET,
	S_VERSION,
	S_RL_LF,
	S_SL_VERSION, /* status line */
	S_SL_CODE,
	S_SL_REASON,
	S_SL_LF,
	S_FIELD_START, /* field lines of the head or of the trailer section */
	S_FIELD_NAME,
	S_FIELD_OWS,
	S_FIELD_VALUE,
	S_FIELD_LF,
	S_HEAD_END_LF, /* CR of the empty line ending the head (or trailers) */
	S_BODY_LENGTH, /* body states: spans, not bytes */
	S_BODY_EOF,
	S_CHUNK_DATA,
	S_CHUNK_SIZE_FIRST, /* chunk framing: consumed as read */
	S_CHUNK_SIZE,
	S_CHUNK_BWS, /* whitespace before a ';' */
	S_CHUNK_EXT_NAME_START,
	S_CHUNK_EXT_NAME,
	S_CHUNK_EXT_AFTER_NAME,
	S_CHUNK_EXT_VAL_START,
	S_CHUNK_EXT_VAL,
	S_CHUNK_EXT_QUOTED,
	S_CHUNK_EXT_QUOTED_ESC,
	S_CHUNK_EXT_AFTER_QUOTED,
	S_CHUNK_SIZE_LF,
	S_CHUNK_DATA_CR,
	S_CHUNK_DATA_LF,
	S_ERROR,
};

#define MAX_CHUNK_LINE 4096 /* chunk-size line with extensions; beyond that it is abuse */

/* Marks inside the current line, as offsets from its first byte. */
#define M_METHOD_END 0 /* request line */
#define M_TARGET_END 1
#define M_REASON     0 /* status line */
#define M_REASON_END 1
#define M_NAME_END   0 /* field line */
#define M_VALUE      1
#define M_VALUE_END  2

static bool in_line(uint8_t s)
{
	return s >= S_METHOD && s <= S_HEAD_END_LF;
}

static bool in_head(uint8_t s)
{
	return s <= S_HEAD_END_LF;
}

int rw__h1_fail(struct rw_h1_parser *p, enum rw_h1_error e, uint16_t status, const char *detail)
{
	p->state = S_ERROR;
	p->error = e;
	p->detail = detail;
	/* A bad response is the upstream's fault: the downstream gets a 502. */
	p->error_status = p->kind == RW_H1_RESPONSE && status ? 502 : status;
	return -1;
}

static void message_reset(struct rw_h1_parser *p)
{
	p->state = S_START;
	p->trailers = 0;
	p->vlen = 0;
	p->scanned = 0;
	memset(p->mark, 0, sizeof(p->mark));
	p->head_bytes = 0;
	p->n_fields = p->n_host = p->n_te = 0;
	p->flags = 0;
	p->remaining = p->body_total = 0;
	p->ext_len = 0;
	memset(&p->head, 0, sizeof(p->head));
}

void rw_h1_parser_init(struct rw_h1_parser *p, enum rw_h1_kind kind, const struct rw_h1_config *cfg)
{
	memset(p, 0, sizeof(*p));
	if (cfg)
		p->cfg = *cfg;
	if (!p->cfg.max_headers_kb)
		p->cfg.max_headers_kb = 60;
	if (!p->cfg.max_headers_count)
		p->cfg.max_headers_count = 100;
	p->kind = kind;
	p->answer_to = RW_H1_METHOD_GET;
	message_reset(p);
}

void rw_h1_parser_set_request_method(struct rw_h1_parser *p, enum rw_h1_method m)
{
	p->answer_to = m;
}

/* Map a callback's return value: 0 go on, 1 pause, -1 abort (error recorded). */
static int verdict(struct rw_h1_parser *p, int rc)
{
	if (rc < 0)
		return rw__h1_fail(p, RW_H1_E_CALLBACK, 0, "aborted by callback");
	return rc > 0;
}

static struct rw_span span(const struct rw_chain *in, size_t off, size_t len)
{
	return (struct rw_span){in, off, len};
}

/* HTTP-version in p->vbuf: 1 = "HTTP/1.x" with x 0 or 1, 0 = other digits, -1 malformed. */
static int version(struct rw_h1_parser *p)
{
	if (p->vlen != 8)
		return -1;
	if (p->vbuf[5] == '1' && (p->vbuf[7] == '0' || p->vbuf[7] == '1')) {
		p->head.version_minor = (uint8_t)(p->vbuf[7] - '0');
		return 1;
	}
	return 0;
}

/* One more byte of "HTTP/" DIGIT "." DIGIT; false when it cannot be part of one. */
static bool version_byte(struct rw_h1_parser *p, uint8_t c)
{
	static const char pattern[] = "HTTP/0.0";

	if (p->vlen >= 8)
		return false;
	if (pattern[p->vlen] == '0' ? !rw__h1_is(c, RW_C_DIGIT) : c != pattern[p->vlen])
		return false;
	p->vbuf[p->vlen++] = (char)c;
	return true;
}

static int request_line(struct rw_h1_parser *p, const struct rw_chain *in, size_t base,
                        const struct rw_h1_callbacks *cb, void *ctx)
{
	struct rw_h1_request_line rl;
	int v = version(p);

	if (v < 0)
		return rw__h1_fail(p, RW_H1_E_VERSION, 400, "malformed HTTP version");
	if (v == 0)
		return rw__h1_fail(p, RW_H1_E_VERSION_UNSUPP, 505, "unsupported HTTP version");
	memset(&rl, 0, sizeof(rl));
	rl.method = span(in, base, p->mark[M_METHOD_END]);
	rl.target = span(in, base + p->mark[M_METHOD_END] + 1,
	                 p->mark[M_TARGET_END] - p->mark[M_METHOD_END] - 1);
	rl.version_minor = p->head.version_minor;
	if (rw__h1_request_target(p, &rl) < 0)
		return -1;
	p->head.method = rl.method_id;
	return cb->on_request_line ? verdict(p, cb->on_request_line(ctx, &rl)) : 0;
}

static int status_line(struct rw_h1_parser *p, const struct rw_chain *in, size_t base,
                       const struct rw_h1_callbacks *cb, void *ctx)
{
	struct rw_h1_status_line sl;

	sl.status = p->head.status;
	sl.version_minor = p->head.version_minor;
	sl.reason = span(in, base + p->mark[M_REASON], p->mark[M_REASON_END] - p->mark[M_REASON]);
	return cb->on_status_line ? verdict(p, cb->on_status_line(ctx, &sl)) : 0;
}

static int field_line(struct rw_h1_parser *p, const struct rw_chain *in, size_t base,
                      const struct rw_h1_callbacks *cb, void *ctx)
{
	struct rw_span name = span(in, base, p->mark[M_NAME_END]);
	struct rw_span value =
	    span(in, base + p->mark[M_VALUE], p->mark[M_VALUE_END] - p->mark[M_VALUE]);

	if (++p->n_fields > p->cfg.max_headers_count)
		return rw__h1_fail(p, RW_H1_E_TOO_MANY_HEADERS, 431, "too many header fields");
	if (p->trailers)
		return cb->on_trailer ? verdict(p, cb->on_trailer(ctx, &name, &value)) : 0;
	if (rw__h1_field(p, &name, &value) < 0)
		return -1;
	return cb->on_header ? verdict(p, cb->on_header(ctx, &name, &value)) : 0;
}

/* The framing verdict for a request head (RFC 9112 6, 9.3; Envoy's choices, see h1.h). */
static int request_framing(struct rw_h1_parser *p)
{
	struct rw_h1_head *h = &p->head;
	bool te = p->n_te > 0;

	if (h->version_minor == 1 && p->n_host == 0)
		return rw__h1_fail(p, RW_H1_E_HOST, 400, "HTTP/1.1 request without Host");
	h->has_host = p->n_host == 1;
	if (te && (p->flags & RW_H1_F_CL))
		return rw__h1_fail(p, RW_H1_E_CL_AND_TE, 400,
		                   "both Content-Length and Transfer-Encoding");
	if (te && h->version_minor == 0)
		return rw__h1_fail(p, RW_H1_E_TE_HTTP10, 400, "Transfer-Encoding in HTTP/1.0");
	if (te &&
	    (p->n_te != 1 || !(p->flags & RW_H1_F_TE_CHUNKED) || h->method == RW_H1_METHOD_CONNECT))
		return rw__h1_fail(p, RW_H1_E_TRANSFER_ENCODING, 501,
		                   "unsupported Transfer-Encoding");
	if (h->method == RW_H1_METHOD_CONNECT && h->content_length)
		return rw__h1_fail(p, RW_H1_E_CONNECT, 400, "CONNECT with a body");
	if (te)
		h->body = RW_H1_BODY_CHUNKED;
	else if (h->content_length)
		h->body = RW_H1_BODY_LENGTH;
	h->expect_continue = h->version_minor == 1 && (p->flags & RW_H1_F_EXPECT_100);
	return 0;
}

static int response_framing(struct rw_h1_parser *p)
{
	struct rw_h1_head *h = &p->head;
	bool te = p->n_te > 0;

	h->method = p->answer_to;
	if (te && (p->flags & RW_H1_F_CL))
		return rw__h1_fail(p, RW_H1_E_CL_AND_TE, 502,
		                   "both Content-Length and Transfer-Encoding");
	if (te && h->version_minor == 0)
		return rw__h1_fail(p, RW_H1_E_TE_HTTP10, 502, "Transfer-Encoding in HTTP/1.0");
	if (te && (p->n_te != 1 || !(p->flags & RW_H1_F_TE_CHUNKED)))
		return rw__h1_fail(p, RW_H1_E_TRANSFER_ENCODING, 502,
		                   "unsupported Transfer-Encoding");
	if (h->status < 200 && h->status != 101)
		h->interim = true;
	else if (h->status == 101 ||
	         (p->answer_to == RW_H1_METHOD_CONNECT && h->status >= 200 && h->status < 300))
		h->body = RW_H1_BODY_TUNNEL;
	else if (p->answer_to == RW_H1_METHOD_HEAD || h->status == 204 || h->status == 304)
		h->body = RW_H1_BODY_NONE;
	else if (te)
		h->body = RW_H1_BODY_CHUNKED;
	else if (p->flags & RW_H1_F_CL)
		h->body = h->content_length ? RW_H1_BODY_LENGTH : RW_H1_BODY_NONE;
	else
		h->body = RW_H1_BODY_EOF;
	return 0;
}

/* The empty line after the fields: decide framing, report, and enter the body. */
static int head_end(struct rw_h1_parser *p, const struct rw_h1_callbacks *cb, void *ctx)
{
	struct rw_h1_head *h = &p->head;
	int rc;

	h->is_response = p->kind == RW_H1_RESPONSE;
	h->n_headers = p->n_fields;
	h->has_content_length = (p->flags & RW_H1_F_CL) != 0;
	if (!h->has_content_length)
		h->content_length = 0;
	rc = h->is_response ? response_framing(p) : request_framing(p);
	if (rc < 0)
		return -1;
	h->chunked = h->body == RW_H1_BODY_CHUNKED;
	if (h->body == RW_H1_BODY_LENGTH && p->cfg.max_body_size &&
	    h->content_length > p->cfg.max_body_size)
		return rw__h1_fail(p, RW_H1_E_BODY_TOO_LARGE, 413, "Content-Length above limit");
	if (h->version_minor == 1)
		h->keep_alive = !(p->flags & RW_H1_F_CONN_CLOSE);
	else
		h->keep_alive =
		    (p->flags & (RW_H1_F_CONN_KEEP | RW_H1_F_CONN_CLOSE)) == RW_H1_F_CONN_KEEP;
	if (h->body == RW_H1_BODY_EOF || h->body == RW_H1_BODY_TUNNEL)
		h->keep_alive = false;
	/* RFC 9110 7.8: Upgrade in an HTTP/1.0 message is ignored. */
	h->upgrade = h->version_minor == 1 && (p->flags & RW_H1_F_UPGRADE) &&
	             (p->flags & RW_H1_F_CONN_UPGRADE);
	h->connection_extra = (p->flags & RW_H1_F_CONN_EXTRA) != 0;
	rc = cb->on_headers_complete ? verdict(p, cb->on_headers_complete(ctx, h)) : 0;
	if (rc < 0)
		return -1;
	switch (h->body) {
	case RW_H1_BODY_LENGTH:
		p->state = S_BODY_LENGTH;
		p->remaining = h->content_length;
		break;
	case RW_H1_BODY_CHUNKED:
		p->state = S_CHUNK_SIZE_FIRST;
		break;
	case RW_H1_BODY_EOF:
		p->state = S_BODY_EOF;
		break;
	case RW_H1_BODY_NONE:
	case RW_H1_BODY_TUNNEL:
		p->state = S_START; /* message_complete() follows */
		break;
	}
	return rc;
}

/* The message is over: report it and get ready for the next one. */
static int message_complete(struct rw_h1_parser *p, const struct rw_h1_callbacks *cb, void *ctx)
{
	bool tunnel = p->head.body == RW_H1_BODY_TUNNEL;
	bool final = p->kind == RW_H1_RESPONSE && !p->head.interim;
	int rc = cb->on_message_complete ? verdict(p, cb->on_message_complete(ctx)) : 0;

	if (rc < 0)
		return -1;
	message_reset(p);
	if (final)
		p->answer_to = RW_H1_METHOD_GET;
	if (tunnel)
		p->tunnel = 1;
	return 1; /* the parser stops after each message */
}

static int fail_line(struct rw_h1_parser *p, uint8_t c, enum rw_h1_error e, const char *detail)
{
	if (c == '\n')
		return rw__h1_fail(p, RW_H1_E_BARE_LF, 400, "bare LF");
	return rw__h1_fail(p, e, e == RW_H1_E_STATUS ? 502 : 400, detail);
}

/* One byte of a head line; returns 0, 1 (line complete: process it) or -1. */
static int head_byte(struct rw_h1_parser *p, uint8_t c, size_t off)
{
	switch (p->state) {
	case S_METHOD:
		if (rw__h1_is(c, RW_C_TCHAR))
			return 0;
		if (c != ' ' || off == 0)
			return fail_line(p, c, RW_H1_E_METHOD, "invalid method");
		p->mark[M_METHOD_END] = off;
		p->state = S_TARGET;
		return 0;
	case S_TARGET:
		if (rw__h1_is(c, RW_C_TARGET))
			return 0;
		if (c != ' ' || off == p->mark[M_METHOD_END] + 1)
			return fail_line(p, c, RW_H1_E_TARGET, "invalid request-target");
		p->mark[M_TARGET_END] = off;
		p->vlen = 0;
		p->state = S_VERSION;
		return 0;
	case S_VERSION:
		if (c == '\r') {
			p->state = S_RL_LF;
			return 0;
		}
		if (!version_byte(p, c))
			return fail_line(p, c, RW_H1_E_VERSION, "malformed HTTP version");
		return 0;
	case S_SL_VERSION:
		if (c == ' ') {
			int v = version(p);

			if (v < 0)
				return fail_line(p, c, RW_H1_E_VERSION, "malformed HTTP version");
			if (v == 0)
				return rw__h1_fail(p, RW_H1_E_VERSION_UNSUPP, 505,
				                   "unsupported HTTP version");
			p->head.status = 0;
			p->state = S_SL_CODE;
			return 0;
		}
		if (!version_byte(p, c))
			return fail_line(p, c, RW_H1_E_VERSION, "malformed HTTP version");
		return 0;
	case S_SL_CODE:
		if (rw__h1_is(c, RW_C_DIGIT) && off < 12) {
			p->head.status = (uint16_t)(p->head.status * 10 + (c - '0'));
			return 0;
		}
		if (off != 12 || (c != ' ' && c != '\r') || p->head.status < 100 ||
		    p->head.status > 599)
			return fail_line(p, c, RW_H1_E_STATUS, "malformed status code");
		p->mark[M_REASON] = p->mark[M_REASON_END] = c == ' ' ? off + 1 : off;
		p->state = c == ' ' ? S_SL_REASON : S_SL_LF;
		return 0;
	case S_SL_REASON:
		if (c == '\r') {
			p->mark[M_REASON_END] = off;
			p->state = S_SL_LF;
			return 0;
		}
		if (!rw__h1_is(c, RW_C_VALUE))
			return fail_line(p, c, RW_H1_E_STATUS, "invalid reason phrase");
		return 0;
	case S_FIELD_START:
		if (c == '\r') {
			p->state = S_HEAD_END_LF;
			return 0;
		}
		if (c == ' ' || c == '\t')
			return rw__h1_fail(p, RW_H1_E_OBS_FOLD, 400, "obsolete line folding");
		if (!rw__h1_is(c, RW_C_TCHAR))
			return fail_line(p, c, RW_H1_E_HEADER_NAME, "invalid header name");
		p->state = S_FIELD_NAME;
		return 0;
	case S_FIELD_NAME:
		if (rw__h1_is(c, RW_C_TCHAR))
			return 0;
		if (c == ' ' || c == '\t')
			return rw__h1_fail(p, RW_H1_E_HEADER_NAME, 400,
			                   "whitespace between header name and colon");
		if (c != ':')
			return fail_line(p, c, RW_H1_E_HEADER_NAME, "invalid header name");
		p->mark[M_NAME_END] = off;
		p->mark[M_VALUE] = p->mark[M_VALUE_END] = off + 1;
		p->state = S_FIELD_OWS;
		return 0;
	case S_FIELD_OWS:
		if (c == ' ' || c == '\t') {
			p->mark[M_VALUE] = p->mark[M_VALUE_END] = off + 1;
			return 0;
		}
		p->state = S_FIELD_VALUE;
		__attribute__((fallthrough)); /* the first byte of the value */
	case S_FIELD_VALUE:
		if (c == '\r') {
			p->state = S_FIELD_LF;
			return 0;
		}
		if (!rw__h1_is(c, RW_C_VALUE))
			return fail_line(p, c, RW_H1_E_HEADER_VALUE, "invalid header value");
		if (c != ' ' && c != '\t')
			p->mark[M_VALUE_END] = off + 1;
		return 0;
	case S_RL_LF:
	case S_SL_LF:
	case S_FIELD_LF:
	case S_HEAD_END_LF:
		if (c != '\n')
			return rw__h1_fail(p, RW_H1_E_BARE_CR, 400, "CR not followed by LF");
		return 1;
	default:
		return rw__h1_fail(p, RW_H1_E_NONE, 500, "parser state corrupt");
	}
}

/* The line at base whose LF was just read is complete: report it.  0, 1 (stop) or -1. */
static int line_done(struct rw_h1_parser *p, const struct rw_chain *in, size_t base,
                     const struct rw_h1_callbacks *cb, void *ctx)
{
	int rc;

	switch (p->state) {
	case S_RL_LF:
		p->state = S_FIELD_START;
		return request_line(p, in, base, cb, ctx);
	case S_SL_LF:
		p->state = S_FIELD_START;
		return status_line(p, in, base, cb, ctx);
	case S_FIELD_LF:
		p->state = S_FIELD_START;
		return field_line(p, in, base, cb, ctx);
	default: /* S_HEAD_END_LF */
		if (p->trailers)
			return message_complete(p, cb, ctx);
		rc = head_end(p, cb, ctx);
		if (rc >= 0 && p->state == S_START)
			return message_complete(p, cb, ctx);
		return rc;
	}
}

static int hex(uint8_t c)
{
	return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

/* A byte before a message: empty lines (requests only), then the start line begins. */
static int start_byte(struct rw_h1_parser *p, uint8_t c)
{
	if (p->state == S_START_LF) {
		if (c != '\n')
			return rw__h1_fail(p, RW_H1_E_BARE_CR, 400, "CR not followed by LF");
		p->state = S_START;
		return 0;
	}
	if (c == '\r' && p->kind == RW_H1_REQUEST) {
		p->state = S_START_LF;
		return 0;
	}
	p->state = p->kind == RW_H1_REQUEST ? S_METHOD : S_SL_VERSION;
	p->vlen = 0;
	return head_byte(p, c, 0);
}

/* One byte of chunk framing (consumed as read).  0 or -1. */
static int chunk_byte(struct rw_h1_parser *p, uint8_t c)
{
	if (++p->ext_len > MAX_CHUNK_LINE)
		return rw__h1_fail(p, RW_H1_E_CHUNK_EXT, 400, "chunk extensions too long");
	switch (p->state) {
	case S_CHUNK_SIZE_FIRST:
	case S_CHUNK_SIZE:
		if (rw__h1_is(c, RW_C_HEX)) {
			if (p->remaining > (uint64_t)INT64_MAX >> 4)
				return rw__h1_fail(p, RW_H1_E_CHUNK_SIZE, 400,
				                   "chunk size overflow");
			p->remaining = p->remaining << 4 | (uint64_t)hex(c);
			p->state = S_CHUNK_SIZE;
			return 0;
		}
		if (p->state == S_CHUNK_SIZE_FIRST)
			break;
		if (c == ';')
			p->state = S_CHUNK_EXT_NAME_START;
		else if (c == ' ' || c == '\t')
			p->state = S_CHUNK_BWS;
		else if (c == '\r')
			p->state = S_CHUNK_SIZE_LF;
		else
			break;
		return 0;
	case S_CHUNK_BWS:
		if (c == ';')
			p->state = S_CHUNK_EXT_NAME_START;
		else if (c != ' ' && c != '\t')
			return rw__h1_fail(p, RW_H1_E_CHUNK_EXT, 400, "junk after chunk size");
		return 0;
	case S_CHUNK_EXT_NAME_START:
		if (rw__h1_is(c, RW_C_TCHAR))
			p->state = S_CHUNK_EXT_NAME;
		else if (c != ' ' && c != '\t')
			return rw__h1_fail(p, RW_H1_E_CHUNK_EXT, 400, "invalid chunk extension");
		return 0;
	case S_CHUNK_EXT_NAME:
	case S_CHUNK_EXT_AFTER_NAME:
		if (rw__h1_is(c, RW_C_TCHAR) && p->state == S_CHUNK_EXT_NAME)
			return 0;
		if (c == '=')
			p->state = S_CHUNK_EXT_VAL_START;
		else if (c == ';')
			p->state = S_CHUNK_EXT_NAME_START;
		else if (c == ' ' || c == '\t')
			p->state = S_CHUNK_EXT_AFTER_NAME;
		else if (c == '\r' && p->state == S_CHUNK_EXT_NAME)
			p->state = S_CHUNK_SIZE_LF;
		else
			return rw__h1_fail(p, RW_H1_E_CHUNK_EXT, 400, "invalid chunk extension");
		return 0;
	case S_CHUNK_EXT_VAL_START:
		if (c == '"')
			p->state = S_CHUNK_EXT_QUOTED;
		else if (rw__h1_is(c, RW_C_TCHAR))
			p->state = S_CHUNK_EXT_VAL;
		else if (c != ' ' && c != '\t')
			return rw__h1_fail(p, RW_H1_E_CHUNK_EXT, 400, "invalid chunk extension");
		return 0;
	case S_CHUNK_EXT_VAL:
	case S_CHUNK_EXT_AFTER_QUOTED:
		if (rw__h1_is(c, RW_C_TCHAR) && p->state == S_CHUNK_EXT_VAL)
			return 0;
		if (c == ';')
			p->state = S_CHUNK_EXT_NAME_START;
		else if (c == ' ' || c == '\t')
			p->state = S_CHUNK_BWS;
		else if (c == '\r')
			p->state = S_CHUNK_SIZE_LF;
		else
			return rw__h1_fail(p, RW_H1_E_CHUNK_EXT, 400, "invalid chunk extension");
		return 0;
	case S_CHUNK_EXT_QUOTED:
		if (c == '"')
			p->state = S_CHUNK_EXT_AFTER_QUOTED;
		else if (c == '\\')
			p->state = S_CHUNK_EXT_QUOTED_ESC;
		else if (!rw__h1_is(c, RW_C_QDTEXT))
			return rw__h1_fail(p, RW_H1_E_CHUNK_EXT, 400, "invalid chunk extension");
		return 0;
	case S_CHUNK_EXT_QUOTED_ESC:
		if (!rw__h1_is(c, RW_C_VALUE))
			return rw__h1_fail(p, RW_H1_E_CHUNK_EXT, 400, "invalid chunk extension");
		p->state = S_CHUNK_EXT_QUOTED;
		return 0;
	case S_CHUNK_SIZE_LF:
		if (c != '\n')
			return rw__h1_fail(p, RW_H1_E_BARE_CR, 400, "CR not followed by LF");
		p->ext_len = 0;
		if (p->remaining == 0) {
			/* last-chunk: the trailer section follows, with its own limits */
			p->trailers = 1;
			p->head_bytes = 0;
			p->n_fields = 0;
			p->state = S_FIELD_START;
			return 0;
		}
		p->body_total += p->remaining;
		if (p->cfg.max_body_size && p->body_total > p->cfg.max_body_size)
			return rw__h1_fail(p, RW_H1_E_BODY_TOO_LARGE, 413,
			                   "chunked body above limit");
		p->state = S_CHUNK_DATA;
		return 0;
	case S_CHUNK_DATA_CR:
		if (c != '\r')
			return rw__h1_fail(p, RW_H1_E_CHUNK_DATA, 400,
			                   "chunk data longer than its size");
		p->state = S_CHUNK_DATA_LF;
		p->ext_len = 0;
		return 0;
	case S_CHUNK_DATA_LF:
		if (c != '\n')
			return rw__h1_fail(p, RW_H1_E_BARE_CR, 400, "CR not followed by LF");
		p->state = S_CHUNK_SIZE_FIRST;
		p->ext_len = 0;
		return 0;
	default:
		break;
	}
	if (c == '\n')
		return rw__h1_fail(p, RW_H1_E_BARE_LF, 400, "bare LF");
	return rw__h1_fail(p, RW_H1_E_CHUNK_SIZE, 400, "invalid chunk size");
}

/* Report the body bytes available at the cursor.  0, 1 (stop) or -1. */
static int body_bytes(struct rw_h1_parser *p, struct rw__h1_cursor *cur, const struct rw_chain *in,
                      const struct rw_h1_callbacks *cb, void *ctx)
{
	size_t n = in->bytes - cur->pos;
	struct rw_span data;
	int rc;

	if (p->state != S_BODY_EOF && n > p->remaining)
		n = (size_t)p->remaining;
	if (p->state == S_BODY_EOF && p->cfg.max_body_size) {
		/* Report up to the limit and fail at the first byte past it, so the events
		   do not depend on how the bytes arrived. */
		uint64_t room = p->cfg.max_body_size - p->body_total;

		if (room == 0)
			return rw__h1_fail(p, RW_H1_E_BODY_TOO_LARGE, 413, "body above limit");
		if (n > room)
			n = (size_t)room;
	}
	data = span(in, cur->pos, n);
	rw__h1_cursor_skip(cur, n);
	if (p->state == S_BODY_EOF)
		p->body_total += n;
	else
		p->remaining -= n;
	rc = cb->on_body ? verdict(p, cb->on_body(ctx, &data)) : 0;
	if (rc < 0 || p->remaining || p->state == S_BODY_EOF)
		return rc;
	if (p->state == S_CHUNK_DATA) {
		p->state = S_CHUNK_DATA_CR;
		return rc;
	}
	/* Content-Length body done: message_complete rides on the last body byte. */
	return message_complete(p, cb, ctx);
}

ssize_t rw_h1_parse(struct rw_h1_parser *p, const struct rw_chain *in,
                    const struct rw_h1_callbacks *cb, void *ctx)
{
	size_t limit = (size_t)p->cfg.max_headers_kb * 1024;
	size_t consumed = 0;
	struct rw__h1_cursor cur;

	if (p->state == S_ERROR)
		return -(ssize_t)p->error;
	if (p->tunnel || p->scanned >= in->bytes)
		return 0;
	rw__h1_cursor_seek(&cur, in, p->scanned);
	while (cur.p) {
		uint8_t c;
		size_t off;
		int rc;

		if (p->state == S_BODY_LENGTH || p->state == S_BODY_EOF ||
		    p->state == S_CHUNK_DATA) {
			rc = body_bytes(p, &cur, in, cb, ctx);
			if (rc < 0)
				return -(ssize_t)p->error;
			consumed = cur.pos;
			if (rc)
				break;
			continue;
		}
		c = *cur.p;
		off = cur.pos - consumed; /* offset in the current line */
		if (cur.p + 1 < cur.end) {
			cur.p++;
			cur.pos++;
		} else {
			rw__h1_cursor_skip(&cur, 1);
		}
		if (in_head(p->state) && ++p->head_bytes > limit) {
			rw__h1_fail(p, RW_H1_E_HEADERS_TOO_LARGE, 431, "headers too large");
			return -(ssize_t)p->error;
		}
		if (!in_head(p->state)) {
			rc = chunk_byte(p, c);
			consumed = cur.pos;
		} else if (p->state == S_START || p->state == S_START_LF) {
			rc = start_byte(p, c);
			if (!in_line(p->state))
				consumed = cur.pos;
		} else {
			rc = head_byte(p, c, off);
			if (rc > 0) {
				rc = line_done(p, in, consumed, cb, ctx);
				consumed = cur.pos;
			}
		}
		if (rc < 0)
			return -(ssize_t)p->error;
		if (rc > 0)
			break;
	}
	p->scanned = cur.pos - consumed;
	if (p->state == S_ERROR)
		return -(ssize_t)p->error;
	return (ssize_t)consumed;
}

ssize_t rw_h1_parse_eof(struct rw_h1_parser *p, const struct rw_h1_callbacks *cb, void *ctx)
{
	if (p->state == S_ERROR)
		return -(ssize_t)p->error;
	if (p->state == S_BODY_EOF)
		return message_complete(p, cb, ctx) < 0 ? -(ssize_t)p->error : 0;
	if (p->tunnel || (p->state == S_START && p->scanned == 0))
		return 0;
	rw__h1_fail(p, RW_H1_E_INCOMPLETE, 400, "connection closed inside a message");
	return -(ssize_t)p->error;
}
