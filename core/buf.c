/*
 * Buffer pool and zero-copy chains (see buf.h for the model and invariants).
 *
 * The chain is a power-of-two ring of slices rather than a linked list of nodes so that an
 * append is a store, not an allocation, and so that building an iovec array is a linear walk.
 * The first RW_CHAIN_INLINE slices live inside the struct; a heap ring exists only while the
 * chain holds more, and is freed when the chain empties, so an idle chain costs no heap.
 */
#include "core/buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define BUF_HDR 64u /* header rounded up to a cache line; data starts 64-byte aligned */

void rw_buf_pool_init(struct rw_buf_pool *p, uint32_t buf_size, uint32_t max_free)
{
	memset(p, 0, sizeof(*p));
	p->buf_size = buf_size;
	p->max_free = max_free;
}

static struct rw_buf *free_next(struct rw_buf *b)
{
	struct rw_buf *next;

	memcpy(&next, b->data, sizeof(next));
	return next;
}

void rw_buf_pool_destroy(struct rw_buf_pool *p)
{
	while (p->free) {
		struct rw_buf *b = p->free;

		p->free = free_next(b);
		free(b);
	}
	p->n_free = 0;
	/* Buffers still live are freed when released, not parked on a dead pool's list. */
	p->max_free = 0;
}

struct rw_buf *rw_buf_pool_get(struct rw_buf_pool *p)
{
	struct rw_buf *b = p->free;
	void *mem;

	if (b) {
		p->free = free_next(b);
		p->n_free--;
	} else {
		/* An idle buffer links the free list through data's first word: even a tiny
		 * buffer needs room for that pointer. */
		size_t size = p->buf_size < sizeof(b) ? sizeof(b) : p->buf_size;

		_Static_assert(sizeof(struct rw_buf) <= BUF_HDR, "buffer header outgrew its line");
		if (posix_memalign(&mem, BUF_HDR, BUF_HDR + size))
			return NULL;
		b = mem;
		b->cap = p->buf_size;
		b->pool = p;
		b->data = (uint8_t *)mem + BUF_HDR;
	}
	b->refs = 1;
	b->used = 0;
	p->n_live++;
	return b;
}

void rw_buf_unref(struct rw_buf *b)
{
	struct rw_buf_pool *p = b->pool;

	if (--b->refs)
		return;
	p->n_live--;
	if (p->n_free >= p->max_free) {
		free(b);
		return;
	}
	memcpy(b->data, &p->free, sizeof(p->free));
	p->free = b;
	p->n_free++;
}

static struct rw_slice *slot(const struct rw_chain *c, uint32_t i)
{
	return &c->v[(c->head + i) & (c->cap - 1)];
}

static bool on_heap(const struct rw_chain *c)
{
	return c->cap > RW_CHAIN_INLINE;
}

/* Make room for `more` slices; keeps the ring contiguous from index 0 after growing. */
static int reserve(struct rw_chain *c, uint32_t more)
{
	uint32_t need = c->count + more, ncap, i;
	struct rw_slice *nv;

	if (need <= c->cap)
		return 0;
	if (need <= RW_CHAIN_INLINE) { /* only a never-used chain (cap 0) gets here */
		c->v = c->inl;
		c->cap = RW_CHAIN_INLINE;
		c->head = 0;
		return 0;
	}
	for (ncap = 2 * RW_CHAIN_INLINE; ncap < need; ncap *= 2)
		;
	nv = malloc(sizeof(*nv) * ncap);
	if (!nv)
		return -ENOMEM;
	for (i = 0; i < c->count; i++)
		nv[i] = *slot(c, i);
	if (on_heap(c))
		free(c->v);
	c->v = nv;
	c->cap = ncap;
	c->head = 0;
	return 0;
}

/* The chain just became empty: give its heap ring back and use the inline slots again. */
static void emptied(struct rw_chain *c)
{
	if (on_heap(c)) {
		free(c->v);
		c->v = c->inl;
		c->cap = RW_CHAIN_INLINE;
	}
	c->head = 0;
}

/* After a struct copy, v may still point at the inline slots of the struct it came from. */
static void rehome(struct rw_chain *c, const struct rw_chain *from)
{
	if (c->v == from->inl)
		c->v = c->inl;
}

static struct rw_slice *tail(const struct rw_chain *c)
{
	return c->count ? slot(c, c->count - 1) : NULL;
}

int rw_chain_append_buf(struct rw_chain *c, struct rw_buf *b, uint32_t off, uint32_t len)
{
	struct rw_slice *t = tail(c);

	if (!len)
		return 0;
	if (t && t->buf == b && t->off + t->len == off) {
		t->len += len;
		c->bytes += len;
		return 0;
	}
	if (reserve(c, 1))
		return -ENOMEM;
	rw_buf_ref(b);
	*slot(c, c->count) = (struct rw_slice){b, off, len};
	c->count++;
	c->bytes += len;
	return 0;
}

int rw_chain_append_copy(struct rw_chain *c, struct rw_buf_pool *pool, const void *data, size_t len)
{
	const uint8_t *src = data;
	struct rw_slice *t = tail(c);
	size_t room, n, done = 0;

	/* Only extend a tail this chain owns alone and that ends at the buffer's write mark,
	 * otherwise we would scribble over bytes another slice or an SQE still refers to. */
	if (t && t->buf->refs == 1 && t->off + t->len == t->buf->used) {
		room = t->buf->cap - t->buf->used;
		n = len < room ? len : room;
		memcpy(t->buf->data + t->buf->used, src, n);
		t->buf->used += (uint32_t)n;
		t->len += (uint32_t)n;
		c->bytes += n;
		done = n;
	}
	while (done < len) {
		struct rw_buf *b = rw_buf_pool_get(pool);

		if (!b || reserve(c, 1)) {
			if (b)
				rw_buf_unref(b);
			/* Undo so a failed append leaves the chain as it was. */
			c->bytes -= done;
			while (done) {
				t = tail(c);
				n = done < t->len ? done : t->len;
				t->len -= (uint32_t)n;
				t->buf->used -= (uint32_t)n;
				done -= n;
				if (!t->len) {
					c->count--;
					rw_buf_unref(t->buf);
				}
			}
			if (!c->count)
				emptied(c);
			return -ENOMEM;
		}
		n = len - done < b->cap ? len - done : b->cap;
		memcpy(b->data, src + done, n);
		b->used = (uint32_t)n;
		*slot(c, c->count) = (struct rw_slice){b, 0, (uint32_t)n};
		c->count++;
		c->bytes += n;
		done += n;
	}
	return 0;
}

int rw_chain_append_recv(struct rw_chain *c, struct rw_buf_pool *pool, struct rw_buf *b,
                         uint32_t off, uint32_t len)
{
	int r;

	if (c->count && len < b->cap / 4) {
		r = rw_chain_append_copy(c, pool, b->data + off, len);
		return r ? r : 1;
	}
	return rw_chain_append_buf(c, b, off, len);
}

int rw_chain_move(struct rw_chain *dst, struct rw_chain *src)
{
	uint32_t i;

	if (!src->count)
		return 0;
	if (!dst->count) {
		/* Swap the structs: a heap ring changes hands as is, inline slices travel in
		 * the copies; then a v left on the other struct's inl is pointed at its own. */
		struct rw_chain tmp = *dst;

		*dst = *src;
		*src = tmp;
		rehome(dst, src);
		rehome(src, dst);
		emptied(src);
		return 0;
	}
	if (reserve(dst, src->count))
		return -ENOMEM;
	for (i = 0; i < src->count; i++)
		*slot(dst, dst->count + i) = *slot(src, i);
	dst->count += src->count;
	dst->bytes += src->bytes;
	src->count = 0;
	src->bytes = 0;
	emptied(src);
	return 0;
}

int rw_chain_split(struct rw_chain *dst, struct rw_chain *src, size_t n)
{
	uint32_t whole = 0, i;
	size_t acc = 0;
	struct rw_slice *s;

	while (whole < src->count && acc + slot(src, whole)->len <= n)
		acc += slot(src, whole++)->len;
	if (reserve(dst, whole + (acc < n)))
		return -ENOMEM;
	for (i = 0; i < whole; i++)
		*slot(dst, dst->count++) = *slot(src, i);
	src->head = (src->head + whole) & (src->cap ? src->cap - 1 : 0);
	src->count -= whole;
	if (acc < n) {
		uint32_t part = (uint32_t)(n - acc);

		s = slot(src, 0);
		rw_buf_ref(s->buf);
		*slot(dst, dst->count++) = (struct rw_slice){s->buf, s->off, part};
		s->off += part;
		s->len -= part;
	}
	dst->bytes += n;
	src->bytes -= n;
	if (!src->count)
		emptied(src);
	return 0;
}

void rw_chain_consume(struct rw_chain *c, size_t n)
{
	c->bytes -= n;
	while (n) {
		struct rw_slice *s = slot(c, 0);

		if (n < s->len) {
			s->off += (uint32_t)n;
			s->len -= (uint32_t)n;
			return;
		}
		n -= s->len;
		rw_buf_unref(s->buf);
		c->head = (c->head + 1) & (c->cap - 1);
		c->count--;
	}
	if (!c->count)
		emptied(c);
}

void rw_chain_reset(struct rw_chain *c)
{
	uint32_t i;

	for (i = 0; i < c->count; i++)
		rw_buf_unref(slot(c, i)->buf);
	if (on_heap(c))
		free(c->v);
	memset(c, 0, sizeof(*c));
}

int rw_chain_iov(const struct rw_chain *c, struct iovec *iov, int max)
{
	int i, n = (int)c->count < max ? (int)c->count : max;

	for (i = 0; i < n; i++) {
		const struct rw_slice *s = slot(c, (uint32_t)i);

		iov[i].iov_base = s->buf->data + s->off;
		iov[i].iov_len = s->len;
	}
	return n;
}

size_t rw_chain_peek(const struct rw_chain *c, void *out, size_t len)
{
	uint8_t *dst = out;
	size_t done = 0;
	uint32_t i;

	for (i = 0; i < c->count && done < len; i++) {
		const struct rw_slice *s = slot(c, i);
		size_t n = len - done < s->len ? len - done : s->len;

		memcpy(dst + done, s->buf->data + s->off, n);
		done += n;
	}
	return done;
}
