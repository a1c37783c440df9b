/*
 * A request's or response's header fields, independent of the HTTP version: one compact
 * block per message, names lowercased, pseudo-headers (":method", ":path", ":authority",
 * ":scheme", ":status") stored first like HTTP/2 does, so the HTTP/1.1 and (later) HTTP/2
 * codecs fill the same structure and the router and header mutations never branch on the
 * version.
 *
 * Names and values are copied into one arena owned by the block (the codec's spans point
 * into receive buffers that are consumed as soon as the head is parsed).  Fields are kept
 * as offsets, so the arena can grow; removal compacts the index, not the arena.  A block is
 * reused for the next message with rw_http_headers_clear(), keeping its memory.
 */
#ifndef RW_PROXY_HTTP_HEADERS_H
#define RW_PROXY_HTTP_HEADERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rw_http_field {
	uint32_t name_off;
	uint32_t name_len;
	uint32_t value_off;
	uint32_t value_len;
};

/* A zeroed struct is a valid empty block. */
struct rw_http_headers {
	char *arena;
	uint32_t used;
	uint32_t cap;
	struct rw_http_field *f;
	uint32_t n;
	uint32_t fcap;
};

void rw_http_headers_clear(struct rw_http_headers *h);
void rw_http_headers_free(struct rw_http_headers *h);

/*
 * Append a field; the name is lowercased while copied.  0 or -ENOMEM (nothing added).
 * rw_http_headers_add_parts appends the value from two pieces (either may be empty).
 */
int rw_http_headers_add(struct rw_http_headers *h, const char *name, size_t name_len,
                        const char *value, size_t value_len);
/*
 * Reserve a value of value_len bytes for the caller to fill through *value (valid until the
 * next add); 0 or -ENOMEM.
 */
int rw_http_headers_add_reserve(struct rw_http_headers *h, const char *name, size_t name_len,
                                size_t value_len, char **value);

/* Index of the first field named name (lowercase) at or after start, or -1. */
int rw_http_headers_find(const struct rw_http_headers *h, const char *name, size_t name_len,
                         uint32_t start);
/* The first value of name, or NULL (len unset). */
const char *rw_http_headers_get(const struct rw_http_headers *h, const char *name,
                                size_t *value_len);
/* Remove every field named name; returns how many. */
uint32_t rw_http_headers_remove(struct rw_http_headers *h, const char *name, size_t name_len);
/* Remove field i (order of the others kept). */
void rw_http_headers_remove_at(struct rw_http_headers *h, uint32_t i);
/* Replace every field named name by one with value (or add it).  0 or -ENOMEM. */
int rw_http_headers_set(struct rw_http_headers *h, const char *name, size_t name_len,
                        const char *value, size_t value_len);

static inline const char *rw_http_field_name(const struct rw_http_headers *h, uint32_t i)
{
	return h->arena + h->f[i].name_off;
}

static inline const char *rw_http_field_value(const struct rw_http_headers *h, uint32_t i)
{
	return h->arena + h->f[i].value_off;
}

static inline bool rw_http_field_is(const struct rw_http_headers *h, uint32_t i, const char *name,
                                    size_t len)
{
	return h->f[i].name_len == len &&
	       __builtin_memcmp(h->arena + h->f[i].name_off, name, len) == 0;
}

#define RW_HTTP_LIT(s) s, sizeof(s) - 1

#endif
