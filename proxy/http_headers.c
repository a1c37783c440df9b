/* Header blocks (see http_headers.h). */
#include "proxy/http_headers.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_MIN  512u
#define FIELDS_MIN 16u
/* A head is bounded by max_request_headers_kb (<= 8 MiB); this only guards the arithmetic. */
#define ARENA_MAX (64u * 1024u * 1024u)

void rw_http_headers_clear(struct rw_http_headers *h)
{
	h->used = 0;
	h->n = 0;
}

void rw_http_headers_free(struct rw_http_headers *h)
{
	free(h->arena);
	free(h->f);
	memset(h, 0, sizeof(*h));
}

static int reserve(struct rw_http_headers *h, size_t bytes)
{
	if (h->n == h->fcap) {
		uint32_t nc = h->fcap ? h->fcap * 2 : FIELDS_MIN;
		struct rw_http_field *nf = realloc(h->f, nc * sizeof(*nf));

		if (!nf)
			return -ENOMEM;
		h->f = nf;
		h->fcap = nc;
	}
	if (bytes > ARENA_MAX - h->used)
		return -ENOMEM;
	if (h->used + bytes > h->cap) {
		size_t nc = h->cap ? h->cap : ARENA_MIN;
		char *na;

		while (nc < h->used + bytes)
			nc *= 2;
		na = realloc(h->arena, nc);
		if (!na)
			return -ENOMEM;
		h->arena = na;
		h->cap = (uint32_t)nc;
	}
	return 0;
}

int rw_http_headers_add_reserve(struct rw_http_headers *h, const char *name, size_t name_len,
                                size_t value_len, char **value)
{
	struct rw_http_field *f;
	char *p;

	if (name_len > UINT32_MAX || value_len > UINT32_MAX || reserve(h, name_len + value_len + 2))
		return -ENOMEM;
	f = &h->f[h->n++];
	p = h->arena + h->used;
	f->name_off = h->used;
	f->name_len = (uint32_t)name_len;
	for (size_t i = 0; i < name_len; i++) {
		char c = name[i];

		p[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
	}
	p[name_len] = '\0';
	f->value_off = h->used + (uint32_t)name_len + 1;
	f->value_len = (uint32_t)value_len;
	p[name_len + 1 + value_len] = '\0';
	h->used += (uint32_t)(name_len + value_len + 2);
	*value = p + name_len + 1;
	return 0;
}

int rw_http_headers_add(struct rw_http_headers *h, const char *name, size_t name_len,
                        const char *value, size_t value_len)
{
	char *v;
	int r = rw_http_headers_add_reserve(h, name, name_len, value_len, &v);

	if (r == 0 && value_len)
		memcpy(v, value, value_len);
	return r;
}

int rw_http_headers_find(const struct rw_http_headers *h, const char *name, size_t name_len,
                         uint32_t start)
{
	for (uint32_t i = start; i < h->n; i++)
		if (rw_http_field_is(h, i, name, name_len))
			return (int)i;
	return -1;
}

const char *rw_http_headers_get(const struct rw_http_headers *h, const char *name,
                                size_t *value_len)
{
	int i = rw_http_headers_find(h, name, strlen(name), 0);

	if (i < 0)
		return NULL;
	if (value_len)
		*value_len = h->f[i].value_len;
	return rw_http_field_value(h, (uint32_t)i);
}

void rw_http_headers_remove_at(struct rw_http_headers *h, uint32_t i)
{
	memmove(&h->f[i], &h->f[i + 1], (h->n - i - 1) * sizeof(h->f[0]));
	h->n--;
}

uint32_t rw_http_headers_remove(struct rw_http_headers *h, const char *name, size_t name_len)
{
	uint32_t out = 0, removed = 0;

	for (uint32_t i = 0; i < h->n; i++) {
		if (rw_http_field_is(h, i, name, name_len)) {
			removed++;
			continue;
		}
		h->f[out++] = h->f[i];
	}
	h->n = out;
	return removed;
}

int rw_http_headers_set(struct rw_http_headers *h, const char *name, size_t name_len,
                        const char *value, size_t value_len)
{
	int i = rw_http_headers_find(h, name, name_len, 0);
	char *v;

	if (i >= 0 && h->f[i].value_len >= value_len) {
		/* Overwrite in place (the usual case: same-size or shorter values). */
		memcpy(h->arena + h->f[i].value_off, value, value_len);
		h->arena[h->f[i].value_off + value_len] = '\0';
		h->f[i].value_len = (uint32_t)value_len;
		while ((i = rw_http_headers_find(h, name, name_len, (uint32_t)i + 1)) >= 0)
			rw_http_headers_remove_at(h, (uint32_t)i), i--;
		return 0;
	}
	if (rw_http_headers_add_reserve(h, name, name_len, value_len, &v))
		return -ENOMEM;
	if (value_len)
		memcpy(v, value, value_len);
	/* Drop the older copies (all but the one just added, which is last). */
	for (uint32_t j = 0; j + 1 < h->n;) {
		if (rw_http_field_is(h, j, name, name_len))
			rw_http_headers_remove_at(h, j);
		else
			j++;
	}
	return 0;
}
