/*
 * proto/ internals shared between the codec's files (no other folder includes this):
 * character classes from the RFC 9110/9112 grammar and a read cursor over a chain.
 */
#ifndef RW_PROTO_INTERNAL_H
#define RW_PROTO_INTERNAL_H

#include "core/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Character classes, one bit each in rw__h1_class[]. */
#define RW_C_TCHAR  0x01 /* token character (RFC 9110 5.6.2) */
#define RW_C_VALUE  0x02 /* field-vchar, obs-text, SP, HTAB */
#define RW_C_TARGET 0x04 /* request-target: unreserved, sub-delims, ":@/?%" and "[]" */
#define RW_C_HEX    0x08
#define RW_C_DIGIT  0x10
#define RW_C_QDTEXT 0x20 /* quoted-string text (RFC 9110 5.6.4) */

extern const uint8_t rw__h1_class[256];

static inline bool rw__h1_is(uint8_t c, uint8_t cls)
{
	return (rw__h1_class[c] & cls) != 0;
}

static inline uint8_t rw__h1_lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c | 0x20) : c;
}

static inline const struct rw_slice *rw__h1_slice(const struct rw_chain *c, uint32_t i)
{
	return &c->v[(c->head + i) & (c->cap - 1)];
}

/* Reads a chain byte by byte from an offset; walks slice by slice. */
struct rw__h1_cursor {
	const struct rw_chain *chain;
	uint32_t slice; /* slice holding p (== count at the end) */
	const uint8_t *p, *end;
	size_t pos; /* offset of p from the chain's front */
};

/* Position the cursor at offset off (<= chain bytes). */
void rw__h1_cursor_seek(struct rw__h1_cursor *cur, const struct rw_chain *c, size_t off);
/* Advance n bytes (n <= bytes left). */
void rw__h1_cursor_skip(struct rw__h1_cursor *cur, size_t n);

/* Field facts gathered while reading a head, for its summary (rw_h1_parser.flags). */
#define RW_H1_F_CL           0x0001 /* Content-Length seen (value in head.content_length) */
#define RW_H1_F_TE_CHUNKED   0x0002 /* a Transfer-Encoding field whose value is "chunked" */
#define RW_H1_F_CONN_CLOSE   0x0004
#define RW_H1_F_CONN_KEEP    0x0008
#define RW_H1_F_CONN_UPGRADE 0x0010
#define RW_H1_F_CONN_EXTRA   0x0020 /* Connection lists another field name */
#define RW_H1_F_UPGRADE      0x0040 /* an Upgrade field */
#define RW_H1_F_EXPECT_100   0x0080

struct rw_h1_parser;

/* Record an error (the status becomes 502 on a response parser); returns -1. */
int rw__h1_fail(struct rw_h1_parser *p, enum rw_h1_error e, uint16_t status, const char *detail);
/* Check a head field and note what the summary needs; 0 or -1 (error recorded). */
int rw__h1_field(struct rw_h1_parser *p, const struct rw_span *name, const struct rw_span *value);
/* Classify the method and the request-target; 0 or -1 (error recorded). */
int rw__h1_request_target(struct rw_h1_parser *p, struct rw_h1_request_line *rl);

#endif
