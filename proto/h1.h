/*
 * HTTP/1.1 codec (RFC 9112): a pure parser and encoder, no I/O, no allocation.
 *
 * The parser reads the connection's input chain in place and reports what it finds through a
 * const callbacks table (nghttp2 style).  Names, values and body bytes are reported as spans of
 * that chain, never copied, so a header that straddles two receive buffers costs nothing and
 * body data can be split out of the chain by reference.  The parser is strict: every framing
 * ambiguity that could let two HTTP agents disagree about where a message ends (request
 * smuggling) is an error with a code, a log detail and the status the caller should answer.
 *
 * Feeding:  n = rw_h1_parse(p, in, cb, ctx)
 *   n > 0   n bytes at the front of *in are done with: the caller rw_chain_consume()s them (or
 *           splits body bytes out first, see on_body) before calling again.
 *   n == 0  nothing more can be done until more bytes are appended to *in (or EOF).
 *   n < 0   -(enum rw_h1_error); rw_h1_parser_error() has the detail and status.
 * The parser returns early after a callback asks to pause and always after on_message_complete,
 * so pipelined messages are handed over one at a time.
 */
#ifndef RW_PROTO_H1_H
#define RW_PROTO_H1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct rw_chain;
struct rw_buf_pool;

/*
 * A borrowed view of bytes [off, off+len) of a chain, off counted from the chain's current
 * front.  Valid only while the chain is not modified (in a parser callback: during the call).
 * The bytes may straddle any number of slices; use the helpers below to read them.
 */
struct rw_span {
	const struct rw_chain *chain;
	size_t off;
	size_t len;
};

/* Iterates the contiguous pieces of a span. */
struct rw_span_iter {
	const struct rw_chain *chain;
	uint32_t slice; /* index of the next slice, relative to the chain's head */
	size_t skip;    /* bytes still to skip before the span starts */
	size_t left;    /* span bytes not yet returned */
};

void rw_span_iter_init(struct rw_span_iter *it, const struct rw_span *s);
/* The next non-empty piece of the span: true with data and len set, or false at the end. */
bool rw_span_iter_next(struct rw_span_iter *it, const uint8_t **data, size_t *len);
/* Whether the span equals the NUL-terminated str, ASCII case-insensitively. */
bool rw_span_eq_nocase(const struct rw_span *s, const char *str);
/* Copy min(s->len, cap) bytes into out (no terminator); returns the count copied. */
size_t rw_span_copy(const struct rw_span *s, void *out, size_t cap);
/* Parse decimal digits: 0, -EINVAL (empty or a non-digit) or -ERANGE (above INT64_MAX). */
int rw_span_to_u64(const struct rw_span *s, uint64_t *out);

/* Methods the codec itself cares about; anything else is RW_H1_METHOD_OTHER (see the span). */
enum rw_h1_method {
	RW_H1_METHOD_OTHER = 0,
	RW_H1_METHOD_GET,
	RW_H1_METHOD_HEAD,
	RW_H1_METHOD_POST,
	RW_H1_METHOD_PUT,
	RW_H1_METHOD_DELETE,
	RW_H1_METHOD_CONNECT,
	RW_H1_METHOD_OPTIONS,
	RW_H1_METHOD_TRACE,
	RW_H1_METHOD_PATCH,
};

/* RFC 9112 3.2 request-target forms. */
enum rw_h1_target_form {
	RW_H1_TARGET_ORIGIN = 0, /* /path?query */
	RW_H1_TARGET_ABSOLUTE,   /* http://authority/path?query */
	RW_H1_TARGET_AUTHORITY,  /* host:port, CONNECT only */
	RW_H1_TARGET_ASTERISK,   /* *, OPTIONS only */
};

struct rw_h1_request_line {
	struct rw_span method;
	struct rw_span target;    /* as received */
	struct rw_span scheme;    /* absolute-form only, else len 0 */
	struct rw_span authority; /* absolute- and authority-form, else len 0 */
	/*
	 * The path and query: the whole target in origin-form, the rest after the authority in
	 * absolute-form.  May be empty or start with '?' there: the caller then prefixes "/".
	 */
	struct rw_span path;
	enum rw_h1_method method_id;
	enum rw_h1_target_form form;
	uint8_t version_minor; /* HTTP/1.<minor>: 0 or 1 */
};

struct rw_h1_status_line {
	struct rw_span reason;
	uint16_t status; /* 100..599 */
	uint8_t version_minor;
};

/* How the message body is delimited (RFC 9112 6.3). */
enum rw_h1_body {
	RW_H1_BODY_NONE =
	    0, /* no body: Content-Length 0 or absent on a request, HEAD, 1xx, 204, 304 */
	RW_H1_BODY_LENGTH,  /* exactly content_length bytes */
	RW_H1_BODY_CHUNKED, /* chunked transfer coding, trailers may follow */
	RW_H1_BODY_EOF,     /* response read until the connection closes: rw_h1_parse_eof() */
	RW_H1_BODY_TUNNEL,  /* 101 or 2xx to CONNECT: after this head the bytes are a tunnel */
};

/* The summary passed to on_headers_complete. */
struct rw_h1_head {
	enum rw_h1_body body;
	uint64_t content_length;  /* when has_content_length */
	enum rw_h1_method method; /* the request's method (for a response: the one it answers) */
	uint16_t status;          /* responses */
	uint8_t version_minor;
	uint32_t n_headers;
	bool is_response;
	bool has_content_length;
	bool chunked;
	/* The connection may carry another message after this one (HTTP/1.1 without
	   "Connection: close", HTTP/1.0 with "Connection: keep-alive", not close-delimited). */
	bool keep_alive;
	bool upgrade;          /* HTTP/1.1, an Upgrade field and "upgrade" in Connection */
	bool expect_continue;  /* request: HTTP/1.1 with "Expect: 100-continue" */
	bool has_host;         /* request: exactly one Host field */
	bool interim;          /* response: 1xx other than 101; the final response follows */
	bool connection_extra; /* Connection names other fields: those are hop-by-hop too */
};

/*
 * Callbacks: each optional (NULL = ignored).  Return 0 to continue, RW_H1_PAUSE to make
 * rw_h1_parse() return right after the element that fired it (its bytes counted as
 * consumed), or a negative value to abort (the parse returns -RW_H1_E_CALLBACK).
 * on_headers_complete and, for a message without body, on_message_complete belong to the
 * same element (the empty line ending the head).
 */
#define RW_H1_PAUSE 1

struct rw_h1_callbacks {
	int (*on_request_line)(void *ctx, const struct rw_h1_request_line *rl);
	int (*on_status_line)(void *ctx, const struct rw_h1_status_line *sl);
	/* name and value spans; the value has leading and trailing whitespace removed */
	int (*on_header)(void *ctx, const struct rw_span *name, const struct rw_span *value);
	int (*on_headers_complete)(void *ctx, const struct rw_h1_head *head);
	/*
	 * Body bytes (de-chunked).  To forward them zero-copy return RW_H1_PAUSE: the parse then
	 * returns data->off + data->len, and the caller does rw_chain_consume(in, data->off)
	 * followed by rw_chain_split(out, in, data->len).
	 */
	int (*on_body)(void *ctx, const struct rw_span *data);
	int (*on_trailer)(void *ctx, const struct rw_span *name, const struct rw_span *value);
	int (*on_message_complete)(void *ctx);
};

/* Errors: rw_h1_parse() returns the negated value. */
enum rw_h1_error {
	RW_H1_E_NONE = 0,
	RW_H1_E_METHOD,            /* invalid method token */
	RW_H1_E_TARGET,            /* invalid request-target (character or form) */
	RW_H1_E_VERSION,           /* malformed HTTP-version */
	RW_H1_E_VERSION_UNSUPP,    /* well-formed but not HTTP/1.0 or 1.1 */
	RW_H1_E_STATUS,            /* malformed status line */
	RW_H1_E_HEADER_NAME,       /* invalid field name, or whitespace before the colon */
	RW_H1_E_HEADER_VALUE,      /* control character in a field value */
	RW_H1_E_OBS_FOLD,          /* line folding (a field line starting with whitespace) */
	RW_H1_E_BARE_CR,           /* CR not followed by LF */
	RW_H1_E_BARE_LF,           /* LF not preceded by CR */
	RW_H1_E_HEADERS_TOO_LARGE, /* head above max_headers_kb */
	RW_H1_E_TOO_MANY_HEADERS,  /* more than max_headers_count fields */
	RW_H1_E_CONTENT_LENGTH,    /* malformed, overflowing or conflicting Content-Length */
	RW_H1_E_CL_AND_TE,         /* both Content-Length and Transfer-Encoding */
	RW_H1_E_TRANSFER_ENCODING, /* Transfer-Encoding other than a single "chunked" */
	RW_H1_E_TE_HTTP10,         /* Transfer-Encoding in an HTTP/1.0 message */
	RW_H1_E_HOST,              /* HTTP/1.1 request without Host, or several Host fields */
	RW_H1_E_CHUNK_SIZE,        /* malformed or overflowing chunk-size */
	RW_H1_E_CHUNK_EXT,         /* malformed or too long chunk extension */
	RW_H1_E_CHUNK_DATA,        /* chunk data not followed by CRLF */
	RW_H1_E_BODY_TOO_LARGE,    /* body above max_body_size */
	RW_H1_E_CONNECT,           /* CONNECT with a body */
	RW_H1_E_INCOMPLETE,        /* EOF in the middle of a message */
	RW_H1_E_CALLBACK,          /* a callback returned a negative value */
	RW_H1_E_COUNT
};

/* A stable name for an error code ("bad_method", ...), for logs and tests. */
const char *rw_h1_error_name(enum rw_h1_error e);

enum rw_h1_kind {
	RW_H1_REQUEST = 0, /* downstream side: parse requests */
	RW_H1_RESPONSE,    /* upstream side: parse responses */
};

struct rw_h1_config {
	uint32_t max_headers_kb;    /* request/status line + fields + CRLFs; 0 = 60 (Envoy) */
	uint32_t max_headers_count; /* fields in the head, and in the trailers; 0 = 100 */
	uint64_t max_body_size;     /* Content-Length or de-chunked total; 0 = unlimited */
};

/* Parser state: a fixed-size value, no allocation; copyable only between calls. */
struct rw_h1_parser {
	struct rw_h1_config cfg;
	enum rw_h1_kind kind;
	uint8_t state;     /* enum in h1_parse.c */
	uint8_t trailers;  /* parsing the trailer section */
	uint8_t tunnel;    /* message done and the connection is now a tunnel */
	uint8_t vlen;      /* bytes of the HTTP-version seen */
	char vbuf[8];      /* the HTTP-version ("HTTP/1.1") being read */
	size_t scanned;    /* bytes of the current, incomplete line already checked */
	size_t mark[3];    /* offsets inside the current line (token boundaries) */
	size_t head_bytes; /* head (or trailer section) bytes so far */
	uint32_t n_fields;
	uint32_t n_host;
	uint32_t n_te;
	uint16_t flags;     /* field facts gathered for the summary (internal.h) */
	uint64_t remaining; /* body or chunk bytes still expected; chunk-size being read */
	uint64_t body_total;
	size_t ext_len;              /* chunk-size line length (extensions are bounded) */
	enum rw_h1_method answer_to; /* response parser: the request's method */
	struct rw_h1_head head;
	enum rw_h1_error error;
	const char *detail;
	uint16_t error_status;
};

void rw_h1_parser_init(struct rw_h1_parser *p, enum rw_h1_kind kind,
                       const struct rw_h1_config *cfg);

/*
 * Response parser: the method of the request the next final response answers (HEAD and
 * CONNECT change its framing).  Kept across 1xx interim responses; reset to GET after each
 * final response.
 */
void rw_h1_parser_set_request_method(struct rw_h1_parser *p, enum rw_h1_method m);

/*
 * Parse from the front of *in (see the top of this file).  Before the next call the caller
 * must consume exactly the returned count and may only append bytes.  A request parser
 * returns after each request; for CONNECT and upgrade requests the caller decides whether
 * what follows is a tunnel (and stops feeding the parser) or the next request.
 */
ssize_t rw_h1_parse(struct rw_h1_parser *p, const struct rw_chain *in,
                    const struct rw_h1_callbacks *cb, void *ctx);

/*
 * The peer closed: completes a close-delimited body (on_message_complete fires, returns 0).
 * Returns 0 between messages, -RW_H1_E_INCOMPLETE in the middle of one.
 */
ssize_t rw_h1_parse_eof(struct rw_h1_parser *p, const struct rw_h1_callbacks *cb, void *ctx);

/* Between messages: no byte of the next one seen yet (state 0 is "start"). */
static inline bool rw_h1_parser_idle(const struct rw_h1_parser *p)
{
	return p->state == 0 && p->scanned == 0 && !p->tunnel;
}

/* After a 101 or a 2xx to CONNECT: the rest of the connection is not HTTP. */
static inline bool rw_h1_parser_in_tunnel(const struct rw_h1_parser *p)
{
	return p->tunnel != 0;
}

/* The last error, its log detail (static string) and the HTTP status to answer (400, 413,
   431, 501, 505; 502 for a bad response).  RW_H1_E_NONE while all is well. */
static inline enum rw_h1_error rw_h1_parser_error(const struct rw_h1_parser *p, const char **detail,
                                                  uint16_t *status)
{
	if (detail)
		*detail = p->detail;
	if (status)
		*status = p->error_status;
	return p->error;
}

/* ---- encoders: append to a chain, copying only the framing ---- */

struct rw_h1_field {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
};

/*
 * Append "METHOD target HTTP/1.x\r\n" + fields + "\r\n".  Names must be tokens and values
 * free of CR, LF and NUL (-EINVAL otherwise, so a forwarded value cannot inject a field).
 * 0, -EINVAL or -ENOMEM; nothing is appended on failure.
 */
int rw_h1_encode_request_head(struct rw_chain *out, struct rw_buf_pool *pool, const char *method,
                              const char *target, uint8_t version_minor,
                              const struct rw_h1_field *fields, size_t n_fields);

/* Append "HTTP/1.x status reason\r\n" + fields + "\r\n"; as above. */
int rw_h1_encode_response_head(struct rw_chain *out, struct rw_buf_pool *pool,
                               uint8_t version_minor, uint16_t status, const char *reason,
                               const struct rw_h1_field *fields, size_t n_fields);

/*
 * Append one chunk carrying every byte of *body: "<hex>\r\n", then body's slices moved by
 * reference (body ends empty), then "\r\n".  An empty body appends nothing (a zero-size chunk
 * would end the message).  0 or -ENOMEM (out and body unchanged).
 */
int rw_h1_encode_chunk(struct rw_chain *out, struct rw_buf_pool *pool, struct rw_chain *body);

/* Append the last chunk "0\r\n", the trailer fields and "\r\n"; errors as for heads. */
int rw_h1_encode_last_chunk(struct rw_chain *out, struct rw_buf_pool *pool,
                            const struct rw_h1_field *trailers, size_t n_trailers);

/*
 * Whether a field must not be forwarded: Connection, Keep-Alive, Proxy-Connection, TE,
 * Transfer-Encoding, Upgrade, Trailer, and any name listed in the message's Connection
 * value (pass it, or NULL/0).  Case-insensitive.
 */
bool rw_h1_is_hop_by_hop(const char *name, size_t len, const char *connection,
                         size_t connection_len);

#endif
