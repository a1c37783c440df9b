/*
 * Spans over a chain, the chain cursor and the grammar's character classes.
 *
 * The parser never gathers a header into contiguous memory, so everything that reads a
 * reported name or value (compare, copy, decimal parse) walks the slices it straddles.  A
 * span is located by walking slices from the chain's head: O(slices), which is one or two
 * for the usual header that sits inside a single receive buffer.
 */
#include "proto/h1.h"
#include "proto/internal.h"

#include <errno.h>
#include <string.h>

#define T RW_C_TCHAR
#define V RW_C_VALUE
#define U RW_C_TARGET
#define X RW_C_HEX
#define D RW_C_DIGIT
#define Q RW_C_QDTEXT

/* obs-text (0x80-0xff) is field value and quoted text, never token or target. */
#define OBS   (V | Q)
#define OBS8  OBS, OBS, OBS, OBS, OBS, OBS, OBS, OBS
#define OBS64 OBS8, OBS8, OBS8, OBS8, OBS8, OBS8, OBS8, OBS8

const uint8_t rw__h1_class[256] = {
    ['\t'] = V | Q,
    [' '] = V | Q,
    ['!'] = T | V | U | Q,
    ['"'] = V,
    ['#'] = T | V | Q,
    ['$'] = T | V | U | Q,
    ['%'] = T | V | U | Q,
    ['&'] = T | V | U | Q,
    ['\''] = T | V | U | Q,
    ['('] = V | U | Q,
    [')'] = V | U | Q,
    ['*'] = T | V | U | Q,
    ['+'] = T | V | U | Q,
    [','] = V | U | Q,
    ['-'] = T | V | U | Q,
    ['.'] = T | V | U | Q,
    ['/'] = V | U | Q,
    ['0'] = T | V | U | X | D | Q,
    ['1'] = T | V | U | X | D | Q,
    ['2'] = T | V | U | X | D | Q,
    ['3'] = T | V | U | X | D | Q,
    ['4'] = T | V | U | X | D | Q,
    ['5'] = T | V | U | X | D | Q,
    ['6'] = T | V | U | X | D | Q,
    ['7'] = T | V | U | X | D | Q,
    ['8'] = T | V | U | X | D | Q,
    ['9'] = T | V | U | X | D | Q,
    [':'] = V | U | Q,
    [';'] = V | U | Q,
    ['<'] = V | Q,
    ['='] = V | U | Q,
    ['>'] = V | Q,
    ['?'] = V | U | Q,
    ['@'] = V | U | Q,
    ['A'] = T | V | U | X | Q,
    ['B'] = T | V | U | X | Q,
    ['C'] = T | V | U | X | Q,
    ['D'] = T | V | U | X | Q,
    ['E'] = T | V | U | X | Q,
    ['F'] = T | V | U | X | Q,
    ['G'] = T | V | U | Q,
    ['H'] = T | V | U | Q,
    ['I'] = T | V | U | Q,
    ['J'] = T | V | U | Q,
    ['K'] = T | V | U | Q,
    ['L'] = T | V | U | Q,
    ['M'] = T | V | U | Q,
    ['N'] = T | V | U | Q,
    ['O'] = T | V | U | Q,
    ['P'] = T | V | U | Q,
    ['Q'] = T | V | U | Q,
    ['R'] = T | V | U | Q,
    ['S'] = T | V | U | Q,
    ['T'] = T | V | U | Q,
    ['U'] = T | V | U | Q,
    ['V'] = T | V | U | Q,
    ['W'] = T | V | U | Q,
    ['X'] = T | V | U | Q,
    ['Y'] = T | V | U | Q,
    ['Z'] = T | V | U | Q,
    ['['] = V | U | Q,
    ['\\'] = V,
    [']'] = V | U | Q,
    ['^'] = T | V | Q,
    ['_'] = T | V | U | Q,
    ['`'] = T | V | Q,
    ['a'] = T | V | U | X | Q,
    ['b'] = T | V | U | X | Q,
    ['c'] = T | V | U | X | Q,
    ['d'] = T | V | U | X | Q,
    ['e'] = T | V | U | X | Q,
    ['f'] = T | V | U | X | Q,
    ['g'] = T | V | U | Q,
    ['h'] = T | V | U | Q,
    ['i'] = T | V | U | Q,
    ['j'] = T | V | U | Q,
    ['k'] = T | V | U | Q,
    ['l'] = T | V | U | Q,
    ['m'] = T | V | U | Q,
    ['n'] = T | V | U | Q,
    ['o'] = T | V | U | Q,
    ['p'] = T | V | U | Q,
    ['q'] = T | V | U | Q,
    ['r'] = T | V | U | Q,
    ['s'] = T | V | U | Q,
    ['t'] = T | V | U | Q,
    ['u'] = T | V | U | Q,
    ['v'] = T | V | U | Q,
    ['w'] = T | V | U | Q,
    ['x'] = T | V | U | Q,
    ['y'] = T | V | U | Q,
    ['z'] = T | V | U | Q,
    ['{'] = V | Q,
    ['|'] = T | V | Q,
    ['}'] = V | Q,
    ['~'] = T | V | U | Q,
    [0x80] = OBS64,
    [0xc0] = OBS64,
};

void rw__h1_cursor_seek(struct rw__h1_cursor *cur, const struct rw_chain *c, size_t off)
{
	cur->chain = c;
	cur->slice = 0;
	cur->pos = off;
	while (cur->slice < c->count) {
		const struct rw_slice *s = rw__h1_slice(c, cur->slice);

		if (off < s->len) {
			cur->p = s->buf->data + s->off + off;
			cur->end = s->buf->data + s->off + s->len;
			return;
		}
		off -= s->len;
		cur->slice++;
	}
	cur->p = cur->end = NULL;
}

void rw__h1_cursor_skip(struct rw__h1_cursor *cur, size_t n)
{
	cur->pos += n;
	while (n) {
		size_t here = (size_t)(cur->end - cur->p);

		if (n < here) {
			cur->p += n;
			return;
		}
		n -= here;
		cur->slice++;
		if (cur->slice < cur->chain->count) {
			const struct rw_slice *s = rw__h1_slice(cur->chain, cur->slice);

			cur->p = s->buf->data + s->off;
			cur->end = cur->p + s->len;
		} else {
			cur->p = cur->end = NULL;
		}
	}
}

void rw_span_iter_init(struct rw_span_iter *it, const struct rw_span *s)
{
	it->chain = s->chain;
	it->slice = 0;
	it->skip = s->off;
	it->left = s->len;
}

bool rw_span_iter_next(struct rw_span_iter *it, const uint8_t **data, size_t *len)
{
	while (it->left && it->slice < it->chain->count) {
		const struct rw_slice *s = rw__h1_slice(it->chain, it->slice++);
		size_t n;

		if (it->skip >= s->len) {
			it->skip -= s->len;
			continue;
		}
		n = s->len - it->skip;
		if (n > it->left)
			n = it->left;
		*data = s->buf->data + s->off + it->skip;
		*len = n;
		it->skip = 0;
		it->left -= n;
		return true;
	}
	return false;
}

bool rw_span_eq_nocase(const struct rw_span *s, const char *str)
{
	struct rw_span_iter it;
	const uint8_t *d;
	size_t n, at = 0, slen = strlen(str);

	if (s->len != slen)
		return false;
	rw_span_iter_init(&it, s);
	while (rw_span_iter_next(&it, &d, &n))
		for (size_t i = 0; i < n; i++, at++)
			if (rw__h1_lower(d[i]) != rw__h1_lower((uint8_t)str[at]))
				return false;
	return at == slen;
}

size_t rw_span_copy(const struct rw_span *s, void *out, size_t cap)
{
	struct rw_span_iter it;
	struct rw_span part = *s;
	const uint8_t *d;
	size_t n, done = 0;

	if (part.len > cap)
		part.len = cap;
	rw_span_iter_init(&it, &part);
	while (rw_span_iter_next(&it, &d, &n)) {
		memcpy((uint8_t *)out + done, d, n);
		done += n;
	}
	return done;
}

int rw_span_to_u64(const struct rw_span *s, uint64_t *out)
{
	struct rw_span_iter it;
	const uint8_t *d;
	uint64_t v = 0;
	size_t n;

	if (s->len == 0)
		return -EINVAL;
	rw_span_iter_init(&it, s);
	while (rw_span_iter_next(&it, &d, &n)) {
		for (size_t i = 0; i < n; i++) {
			uint64_t digit = (uint64_t)(d[i] - '0');

			if (!rw__h1_is(d[i], RW_C_DIGIT))
				return -EINVAL;
			if (v > ((uint64_t)INT64_MAX - digit) / 10)
				return -ERANGE;
			v = v * 10 + digit;
		}
	}
	*out = v;
	return 0;
}

const char *rw_h1_error_name(enum rw_h1_error e)
{
	static const char *const names[RW_H1_E_COUNT] = {
	    [RW_H1_E_NONE] = "none",
	    [RW_H1_E_METHOD] = "bad_method",
	    [RW_H1_E_TARGET] = "bad_target",
	    [RW_H1_E_VERSION] = "bad_version",
	    [RW_H1_E_VERSION_UNSUPP] = "version_unsupported",
	    [RW_H1_E_STATUS] = "bad_status",
	    [RW_H1_E_HEADER_NAME] = "bad_header_name",
	    [RW_H1_E_HEADER_VALUE] = "bad_header_value",
	    [RW_H1_E_OBS_FOLD] = "obs_fold",
	    [RW_H1_E_BARE_CR] = "bare_cr",
	    [RW_H1_E_BARE_LF] = "bare_lf",
	    [RW_H1_E_HEADERS_TOO_LARGE] = "headers_too_large",
	    [RW_H1_E_TOO_MANY_HEADERS] = "too_many_headers",
	    [RW_H1_E_CONTENT_LENGTH] = "bad_content_length",
	    [RW_H1_E_CL_AND_TE] = "cl_and_te",
	    [RW_H1_E_TRANSFER_ENCODING] = "bad_transfer_encoding",
	    [RW_H1_E_TE_HTTP10] = "te_in_http10",
	    [RW_H1_E_HOST] = "bad_host",
	    [RW_H1_E_CHUNK_SIZE] = "bad_chunk_size",
	    [RW_H1_E_CHUNK_EXT] = "bad_chunk_ext",
	    [RW_H1_E_CHUNK_DATA] = "bad_chunk_data",
	    [RW_H1_E_BODY_TOO_LARGE] = "body_too_large",
	    [RW_H1_E_CONNECT] = "bad_connect",
	    [RW_H1_E_INCOMPLETE] = "incomplete",
	    [RW_H1_E_CALLBACK] = "callback",
	};

	return (unsigned)e < RW_H1_E_COUNT && names[e] ? names[e] : "unknown";
}
