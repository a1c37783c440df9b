/*
 * Unit tests for core/buf.c: the buffer pool, refcounts and zero-copy chains.
 *
 * Directed tests pin down each contract in buf.h: free-list reuse and its bound, a buffer
 * going back to its pool exactly when its last slice goes, tail merging, append_copy's
 * "only user and ends at used" rule, append_recv's copy-on-backlog rule, a split at every
 * byte offset, slice-ring wrap-around and growth, the inline slots (a chain of at most
 * RW_CHAIN_INLINE slices needs no heap array, and one that empties gives its array back),
 * and move/split between every pair of chain shapes.  A randomized model test then runs 100k
 * mixed operations over three chains against plain byte arrays and audits every refcount.
 * CMake links this test with -Wl,--wrap=malloc,--wrap=posix_memalign (RW_TEST_WRAP_ALLOC) so
 * it can fail allocations on purpose and check that a failed call changes nothing; built by
 * hand without it, those checks are skipped.  CHECK stays on in Release builds.
 * RW_TEST_SEED=<n> in the environment replays a run; the seed is printed on start.
 */
#include "core/buf.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RW_CHECK_NOTE() fprintf(stderr, "(seed %" PRIu64 ")\n", seed)
#include "tests/unit/check.h"

#define SENTINEL 0xa5 /* fills a buffer's free room so a stray write shows */

#include "tests/unit/random.h"

/*
 * Allocation failure injection.  buf.c has no allocator hook, so the link wraps its two
 * allocators: once armed, the allocation after `fail_in` successful ones fails, and every
 * one after it, until disarmed.  The test's own allocations happen only while disarmed.
 */
#ifdef RW_TEST_WRAP_ALLOC
#define HAVE_FAILS 1
void *__real_malloc(size_t size);
void *__wrap_malloc(size_t size);
int __real_posix_memalign(void **out, size_t align, size_t size);
int __wrap_posix_memalign(void **out, size_t align, size_t size);

static long fail_in = -1;       /* -1: disarmed */
static unsigned long n_mallocs; /* successful malloc calls, to count ring growth */

static bool alloc_fails(void)
{
	if (fail_in < 0)
		return false;
	if (fail_in > 0) {
		fail_in--;
		return false;
	}
	return true;
}

void *__wrap_malloc(size_t size)
{
	void *p = alloc_fails() ? NULL : __real_malloc(size);

	n_mallocs += p != NULL;
	return p;
}

int __wrap_posix_memalign(void **out, size_t align, size_t size)
{
	return alloc_fails() ? ENOMEM : __real_posix_memalign(out, align, size);
}

static inline void fail_after(long n)
{
	fail_in = n;
}

static inline void fail_never(void)
{
	fail_in = -1;
}

static inline unsigned long mallocs(void)
{
	return n_mallocs;
}
#else
#define HAVE_FAILS 0
static inline void fail_after(long n)
{
	(void)n;
}

static inline void fail_never(void)
{
}

/* Without the wrap nothing is counted: checks of mallocs() deltas hold trivially. */
static inline unsigned long mallocs(void)
{
	return 0;
}
#endif

static uint8_t scratch[1 << 16];

static struct rw_slice *at(const struct rw_chain *c, uint32_t i)
{
	return &c->v[(c->head + i) & (c->cap - 1)];
}

static struct rw_slice *tail_of(const struct rw_chain *c)
{
	return c->count ? at(c, c->count - 1) : NULL;
}

/* No heap array: never used (zeroed) or back on its inline slots, head at 0. */
static bool no_heap(const struct rw_chain *c)
{
	if (!c->cap)
		return c->v == NULL && c->head == 0;
	return c->cap == RW_CHAIN_INLINE && c->v == c->inl && c->head == 0;
}

/* Holds its slices in the inline slots. */
static bool on_inline(const struct rw_chain *c)
{
	return c->cap == RW_CHAIN_INLINE && c->v == c->inl;
}

static unsigned slices_of(const struct rw_chain *c, const struct rw_buf *b)
{
	unsigned n = 0;
	uint32_t i;

	for (i = 0; i < c->count; i++)
		n += at(c, i)->buf == b;
	return n;
}

/* The structural invariants buf.h writes beside struct rw_chain. */
static void check_chain(const struct rw_chain *c)
{
	size_t sum = 0;
	uint32_t i;

	CHECK((c->cap & (c->cap - 1)) == 0);
	CHECK(c->count <= c->cap);
	CHECK(c->cap ? c->v != NULL && c->head < c->cap : c->v == NULL && c->head == 0);
	/* Inline slots exactly at cap RW_CHAIN_INLINE; a heap ring never inline, never empty. */
	CHECK(c->cap == 0 || (c->cap == RW_CHAIN_INLINE) == (c->v == c->inl));
	CHECK(c->cap <= RW_CHAIN_INLINE || c->count > 0);
	CHECK(c->count || c->head == 0);
	CHECK(rw_chain_empty(c) == (c->count == 0));
	for (i = 0; i < c->count; i++) {
		const struct rw_slice *s = at(c, i);

		CHECK(s->len > 0 && s->buf->refs > 0);
		CHECK(s->buf->used <= s->buf->cap && s->off + s->len <= s->buf->used);
		sum += s->len;
	}
	CHECK(sum == c->bytes);
}

/* The chain holds exactly want[0, len), read back through peek and through iov. */
static void check_bytes(const struct rw_chain *c, const void *want, size_t len)
{
	struct iovec iov[8];
	size_t done = 0, short_len;
	uint32_t i = 0;
	int n, k;

	check_chain(c);
	CHECK(c->bytes == len && len <= sizeof(scratch));
	CHECK(rw_chain_peek(c, scratch, sizeof(scratch)) == len);
	CHECK(memcmp(scratch, want, len) == 0);
	short_len = len / 3;
	CHECK(rw_chain_peek(c, scratch, short_len) == short_len);
	CHECK(memcmp(scratch, want, short_len) == 0);
	/* A full iov walk only for short chains: the model test calls this on every op. */
	if (c->count > 8)
		return;
	n = rw_chain_iov(c, iov, 8);
	CHECK(n == (int)c->count);
	for (k = 0; k < n; k++, i++) {
		CHECK(iov[k].iov_base == at(c, i)->buf->data + at(c, i)->off);
		CHECK(iov[k].iov_len == at(c, i)->len);
		CHECK(memcmp(iov[k].iov_base, (const uint8_t *)want + done, iov[k].iov_len) == 0);
		done += iov[k].iov_len;
	}
	CHECK(done == len);
}

/* A buffer with [0, used) random and the free room filled with SENTINEL. */
static struct rw_buf *make_buf(struct rw_buf_pool *p, uint32_t used)
{
	struct rw_buf *b = rw_buf_pool_get(p);
	uint32_t i;

	CHECK(b && used <= b->cap);
	for (i = 0; i < used; i++)
		b->data[i] = (uint8_t)rng();
	memset(b->data + used, SENTINEL, b->cap - used);
	b->used = used;
	return b;
}

static void push(uint8_t *want, size_t *len, const void *p, size_t n)
{
	memcpy(want + *len, p, n);
	*len += n;
}

static void pop(uint8_t *want, size_t *len, size_t n)
{
	memmove(want, want + n, *len - n);
	*len -= n;
}

/* Append b[off, off+len) to c and to its model. */
static void add(struct rw_chain *c, struct rw_buf *b, uint32_t off, uint32_t len, uint8_t *want,
                size_t *wlen)
{
	CHECK(rw_chain_append_buf(c, b, off, len) == 0);
	push(want, wlen, b->data + off, len);
	check_bytes(c, want, *wlen);
}

/* Consume n bytes from c and its model. */
static void eat(struct rw_chain *c, size_t n, uint8_t *want, size_t *wlen)
{
	rw_chain_consume(c, n);
	pop(want, wlen, n);
	check_bytes(c, want, *wlen);
}

static void test_pool(void)
{
	struct rw_buf_pool p;
	struct rw_buf *b[8], *again[4];
	unsigned i, j;

	rw_buf_pool_init(&p, 100, 3);
	CHECK(p.buf_size == 100 && p.max_free == 3 && p.n_live == 0 && p.n_free == 0 && !p.free);
	for (i = 0; i < 8; i++) {
		b[i] = rw_buf_pool_get(&p);
		CHECK(b[i] && b[i]->refs == 1 && b[i]->used == 0 && b[i]->cap == 100);
		CHECK(b[i]->pool == &p && (uintptr_t)b[i]->data % 64 == 0);
		memset(b[i]->data, (int)i, b[i]->cap); /* the whole capacity is writable */
		CHECK(p.n_live == i + 1 && p.n_free == 0);
		for (j = 0; j < i; j++)
			CHECK(b[j] != b[i]);
	}
	/* An extra reference keeps a buffer out of the pool. */
	rw_buf_ref(b[0]);
	CHECK(b[0]->refs == 2);
	rw_buf_unref(b[0]);
	CHECK(b[0]->refs == 1 && p.n_live == 8 && p.n_free == 0);

	/* Releasing keeps at most max_free idle buffers; the rest go back to libc. */
	b[2]->used = 77;
	for (i = 0; i < 8; i++) {
		rw_buf_unref(b[i]);
		CHECK(p.n_live == 7 - i);
		CHECK(p.n_free == (i + 1 < 3 ? i + 1 : 3));
	}
	/* Reuse is LIFO and hands the buffer out reset. */
	for (i = 0; i < 3; i++) {
		again[i] = rw_buf_pool_get(&p);
		CHECK(again[i] == b[2 - i] && again[i]->refs == 1 && again[i]->used == 0);
		CHECK(again[i]->cap == 100 && again[i]->pool == &p);
		CHECK(p.n_live == i + 1 && p.n_free == 2 - i);
	}
	CHECK(!p.free);
	again[3] = rw_buf_pool_get(&p); /* free list empty: a fresh allocation */
	CHECK(again[3] && p.n_live == 4 && p.n_free == 0);
	for (i = 0; i < 4; i++)
		rw_buf_unref(again[i]);
	CHECK(p.n_live == 0 && p.n_free == 3);
	rw_buf_pool_destroy(&p);
	CHECK(p.n_free == 0 && !p.free && p.n_live == 0);

	/* max_free 0 keeps nothing idle. */
	rw_buf_pool_init(&p, 64, 0);
	b[0] = rw_buf_pool_get(&p);
	CHECK(b[0] && p.n_live == 1);
	rw_buf_unref(b[0]);
	CHECK(p.n_live == 0 && p.n_free == 0 && !p.free);
	rw_buf_pool_destroy(&p);
}

/* buf.h: destroy frees idle buffers, and buffers still live are freed when released. */
static void test_pool_destroy_live(void)
{
	struct rw_buf_pool p;
	struct rw_buf *a, *b, *c;

	rw_buf_pool_init(&p, 64, 4);
	a = rw_buf_pool_get(&p);
	b = rw_buf_pool_get(&p);
	c = rw_buf_pool_get(&p);
	CHECK(a && b && c);
	rw_buf_unref(c);
	CHECK(p.n_free == 1 && p.n_live == 2);
	rw_buf_pool_destroy(&p);
	CHECK(p.n_free == 0 && !p.free && p.n_live == 2);
	/* Not parked on the dead pool's free list, where nothing would ever free them. */
	rw_buf_unref(a);
	CHECK(p.n_live == 1 && p.n_free == 0 && !p.free);
	rw_buf_unref(b);
	CHECK(p.n_live == 0 && p.n_free == 0 && !p.free);
}

/* Buffers smaller than the free-list link still round-trip through the pool. */
static void test_pool_tiny(void)
{
	static const char text[] = "tiny buffers make one slice per byte, forcing ring growth";
	const size_t len = sizeof(text) - 1;
	struct rw_buf_pool p;
	struct rw_chain c = {0};
	struct rw_buf *b[3];
	uint8_t want[sizeof(text)];
	size_t wlen = 0;
	uint32_t size;
	unsigned i;

	for (size = 1; size <= 9; size++) {
		rw_buf_pool_init(&p, size, 2);
		for (i = 0; i < 3; i++) {
			b[i] = rw_buf_pool_get(&p);
			CHECK(b[i] && b[i]->cap == size);
			memset(b[i]->data, 0x11, size);
		}
		for (i = 0; i < 3; i++)
			rw_buf_unref(b[i]);
		CHECK(p.n_free == 2 && p.n_live == 0);
		b[0] = rw_buf_pool_get(&p);
		CHECK(b[0] == b[1] && b[0]->refs == 1 && b[0]->used == 0);
		memset(b[0]->data, 0x22, size);
		rw_buf_unref(b[0]);
		rw_buf_pool_destroy(&p);
	}

	rw_buf_pool_init(&p, 1, 4);
	CHECK(rw_chain_append_copy(&c, &p, text, len) == 0);
	push(want, &wlen, text, len);
	CHECK(c.count == len && c.cap == 64 && p.n_live == len);
	check_bytes(&c, want, wlen);
	while (wlen) {
		eat(&c, 1, want, &wlen);
		CHECK(p.n_live == wlen);
		/* The ring stays while anything is in it, and goes with the last slice. */
		CHECK(wlen ? c.cap == 64 : no_heap(&c) && c.cap == RW_CHAIN_INLINE);
	}
	rw_chain_reset(&c);
	rw_buf_pool_destroy(&p);
}

/* A zeroed chain is a valid empty value, and no-ops allocate nothing. */
static void test_empty_chain(void)
{
	struct rw_buf_pool p;
	struct rw_chain c = {0}, d = {0};
	struct iovec iov[2];
	struct rw_buf *b;

	rw_buf_pool_init(&p, 64, 4);
	b = make_buf(&p, 10);
	check_bytes(&c, "", 0);
	CHECK(rw_chain_peek(&c, scratch, 10) == 0);
	CHECK(rw_chain_iov(&c, iov, 2) == 0);
	rw_chain_consume(&c, 0);
	CHECK(rw_chain_split(&d, &c, 0) == 0);
	CHECK(rw_chain_move(&d, &c) == 0);
	CHECK(rw_chain_append_buf(&c, b, 3, 0) == 0 && b->refs == 1);
	CHECK(rw_chain_append_copy(&c, &p, "x", 0) == 0 && p.n_live == 1);
	CHECK(!c.v && !c.cap && !c.count && !c.bytes && !d.v && !d.cap && !d.count && !d.bytes);
	rw_chain_reset(&c);
	CHECK(!c.v && !c.cap && !c.count && !c.bytes && !c.head);

	/* reset releases and zeroes, and the chain is usable again. */
	CHECK(rw_chain_append_buf(&c, b, 0, 4) == 0);
	CHECK(rw_chain_append_buf(&c, b, 6, 4) == 0);
	rw_chain_consume(&c, 2);
	CHECK(b->refs == 3);
	rw_chain_reset(&c);
	CHECK(!c.v && !c.cap && !c.count && !c.bytes && !c.head && b->refs == 1);
	CHECK(rw_chain_append_buf(&c, b, 0, 10) == 0);
	check_bytes(&c, b->data, 10);
	rw_chain_reset(&c);
	rw_buf_unref(b);
	CHECK(p.n_live == 0);
	rw_buf_pool_destroy(&p);
}

/* A buffer returns to its pool exactly when its last slice (or other holder) lets go. */
static void test_refcount_return(void)
{
	struct rw_buf_pool p;
	struct rw_chain c = {0}, d = {0};
	struct rw_buf *b;

	rw_buf_pool_init(&p, 256, 4);
	b = make_buf(&p, 200);
	CHECK(rw_chain_append_buf(&c, b, 0, 10) == 0);
	CHECK(rw_chain_append_buf(&c, b, 20, 10) == 0);
	CHECK(rw_chain_append_buf(&c, b, 50, 10) == 0);
	CHECK(rw_chain_append_buf(&d, b, 100, 10) == 0);
	CHECK(b->refs == 5 && c.count == 3 && d.count == 1);
	rw_buf_unref(b); /* the producer's own reference: the chains keep b alive */
	CHECK(b->refs == 4 && p.n_live == 1 && p.n_free == 0);
	rw_chain_consume(&c, 4); /* inside a slice: nothing released */
	CHECK(b->refs == 4 && c.count == 3 && at(&c, 0)->off == 4 && at(&c, 0)->len == 6);
	rw_chain_consume(&c, 6);
	CHECK(b->refs == 3 && c.count == 2);
	rw_chain_consume(&c, 20); /* two slices at once */
	CHECK(b->refs == 1 && c.count == 0 && c.head == 0 && p.n_live == 1);
	rw_chain_consume(&d, 9);
	CHECK(b->refs == 1 && p.n_live == 1 && p.n_free == 0);
	rw_chain_consume(&d, 1); /* the last byte of the last slice */
	CHECK(p.n_live == 0 && p.n_free == 1 && p.free == b);

	/* Both halves of a split hold a reference. */
	b = make_buf(&p, 100);
	CHECK(rw_chain_append_buf(&c, b, 0, 100) == 0);
	rw_buf_unref(b);
	CHECK(rw_chain_split(&d, &c, 40) == 0);
	CHECK(b->refs == 2);
	rw_chain_reset(&c);
	CHECK(b->refs == 1 && p.n_live == 1);
	rw_chain_reset(&d);
	CHECK(p.n_live == 0);

	/* A reference taken with rw_buf_ref() (an SQE in flight) outlives the chain. */
	b = make_buf(&p, 100);
	CHECK(rw_chain_append_buf(&c, b, 0, 100) == 0);
	rw_buf_ref(b);
	rw_buf_unref(b);
	rw_chain_consume(&c, 100);
	CHECK(p.n_live == 1 && b->refs == 1);
	rw_buf_unref(b);
	CHECK(p.n_live == 0);
	rw_chain_reset(&c);
	rw_chain_reset(&d);
	rw_buf_pool_destroy(&p);
}

static void test_append_buf_merge(void)
{
	struct rw_buf_pool p;
	struct rw_chain c = {0};
	struct rw_buf *b, *b2;
	uint8_t want[1024];
	size_t wlen = 0;

	rw_buf_pool_init(&p, 256, 4);
	b = make_buf(&p, 200);
	b2 = make_buf(&p, 200);
	add(&c, b, 0, 10, want, &wlen);
	CHECK(c.count == 1 && b->refs == 2);
	add(&c, b, 10, 5, want, &wlen); /* adjacent: grows the tail, no new reference */
	CHECK(c.count == 1 && b->refs == 2 && at(&c, 0)->len == 15);
	add(&c, b, 15, 0, want, &wlen); /* empty: nothing */
	CHECK(c.count == 1 && b->refs == 2);
	add(&c, b, 20, 5, want, &wlen); /* a gap: a new slice */
	CHECK(c.count == 2 && b->refs == 3);
	add(&c, b, 25, 5, want, &wlen);
	CHECK(c.count == 2 && b->refs == 3 && at(&c, 1)->len == 10);
	add(&c, b, 0, 5, want, &wlen); /* same buffer, earlier range */
	CHECK(c.count == 3 && b->refs == 4);
	add(&c, b2, 5, 5, want, &wlen); /* another buffer at the offset that would be adjacent */
	CHECK(c.count == 4 && b2->refs == 2);
	add(&c, b, 10, 5, want, &wlen); /* adjacent to a slice of b, but not to the tail */
	CHECK(c.count == 5 && b->refs == 5);

	/* A tail already partly consumed still merges. */
	eat(&c, wlen - 2, want, &wlen);
	CHECK(c.count == 1 && at(&c, 0)->off == 13 && at(&c, 0)->len == 2 && b->refs == 2);
	add(&c, b, 15, 100, want, &wlen);
	CHECK(c.count == 1 && at(&c, 0)->len == 102 && b->refs == 2 && b2->refs == 1);
	rw_chain_reset(&c);
	rw_buf_unref(b);
	rw_buf_unref(b2);
	CHECK(p.n_live == 0);
	rw_buf_pool_destroy(&p);
}

static void test_consume(void)
{
	static const uint32_t lens[] = {5, 1, 10, 7};
	struct rw_buf_pool p;
	struct rw_chain c = {0};
	struct rw_buf *b[4];
	uint8_t want[64];
	size_t wlen = 0;
	unsigned i;

	rw_buf_pool_init(&p, 64, 8);
	for (i = 0; i < 4; i++) {
		b[i] = make_buf(&p, 32);
		add(&c, b[i], 3, lens[i], want, &wlen);
		rw_buf_unref(b[i]);
		/* Two slices fit the inline slots; the third moves them to a heap ring. */
		CHECK(i < RW_CHAIN_INLINE ? on_inline(&c) : c.cap == 4 && c.v != c.inl);
	}
	eat(&c, 0, want, &wlen);
	CHECK(c.count == 4 && p.n_live == 4);
	eat(&c, 3, want, &wlen); /* partial */
	CHECK(c.count == 4 && at(&c, 0)->off == 6 && at(&c, 0)->len == 2 && b[0]->refs == 1);
	eat(&c, 2, want, &wlen); /* exactly to a slice boundary: that buffer returns */
	CHECK(c.count == 3 && p.n_live == 3 && c.head == 1);
	eat(&c, 1 + 4, want, &wlen); /* a whole slice and part of the next */
	CHECK(c.count == 2 && p.n_live == 2 && at(&c, 0)->len == 6);
	CHECK(c.cap == 4 && c.v != c.inl); /* two slices left, still in the heap ring */
	eat(&c, wlen, want, &wlen);        /* everything */
	CHECK(c.count == 0 && c.head == 0 && c.bytes == 0 && p.n_live == 0);
	CHECK(no_heap(&c) && c.cap == RW_CHAIN_INLINE); /* the ring is freed, inline again */
	b[0] = make_buf(&p, 32);
	add(&c, b[0], 0, 32, want, &wlen);
	CHECK(on_inline(&c) && c.count == 1);
	rw_buf_unref(b[0]);
	eat(&c, 32, want, &wlen);
	CHECK(p.n_live == 0 && no_heap(&c));
	rw_chain_reset(&c);
	CHECK(!c.v && !c.cap && !c.head);
	rw_buf_pool_destroy(&p);
}

static void test_move(void)
{
	struct rw_buf_pool p;
	struct rw_chain a = {0}, b = {0};
	struct rw_buf *x;
	uint8_t wa[512], wb[512];
	size_t la = 0, lb = 0;
	struct rw_slice *v;
	uint32_t i;

	rw_buf_pool_init(&p, 256, 4);
	x = make_buf(&p, 256);

	/* Into an empty, never-used chain: the slices and the heap ring change hands. */
	for (i = 0; i < 3; i++)
		add(&b, x, 10 * i, 5, wb, &lb);
	v = b.v;
	CHECK(b.cap == 4 && v != b.inl);
	CHECK(rw_chain_move(&a, &b) == 0);
	push(wa, &la, wb, lb);
	lb = 0;
	check_bytes(&a, wa, la);
	check_bytes(&b, wb, lb);
	CHECK(a.v == v && a.cap == 4 && a.count == 3 && b.count == 0 && x->refs == 4);
	CHECK(!b.v && !b.cap && !b.head); /* b took a's never-used state */

	/* Inline slices into an empty chain that was used: they travel with the struct swap,
	 * and each chain's v ends up on its own inline slots. */
	add(&b, x, 100, 5, wb, &lb);
	CHECK(on_inline(&b));
	eat(&a, la, wa, &la);
	CHECK(a.count == 0 && no_heap(&a) && a.cap == RW_CHAIN_INLINE && x->refs == 2);
	CHECK(rw_chain_move(&a, &b) == 0);
	push(wa, &la, wb, lb);
	lb = 0;
	check_bytes(&a, wa, la);
	check_bytes(&b, wb, lb);
	CHECK(on_inline(&a) && a.count == 1 && no_heap(&b) && b.cap == RW_CHAIN_INLINE);

	/* Into a non-empty chain: appended in order, growing dst; src's ring is freed. */
	for (i = 0; i < 5; i++)
		add(&b, x, 120 + 10 * i, 3 + i, wb, &lb);
	CHECK(b.cap == 8);
	CHECK(rw_chain_move(&a, &b) == 0);
	push(wa, &la, wb, lb);
	lb = 0;
	check_bytes(&a, wa, la);
	check_bytes(&b, wb, lb);
	CHECK(a.count == 6 && a.cap == 8 && a.v != a.inl && b.count == 0 && no_heap(&b));
	CHECK(x->refs == 7);

	/* An empty source is a no-op. */
	CHECK(rw_chain_move(&a, &b) == 0);
	check_bytes(&a, wa, la);
	/* src is reusable afterwards. */
	add(&b, x, 200, 10, wb, &lb);
	CHECK(on_inline(&b));
	CHECK(rw_chain_move(&a, &b) == 0);
	push(wa, &la, wb, lb);
	lb = 0;
	check_bytes(&a, wa, la);
	CHECK(x->refs == 8 && no_heap(&b));

	rw_chain_reset(&a);
	rw_chain_reset(&b);
	rw_buf_unref(x);
	CHECK(p.n_live == 0);
	rw_buf_pool_destroy(&p);
}

/* The split source: {buffer, off, len}.  Buffer 0 appears twice, never adjacent. */
static const struct {
	unsigned buf;
	uint32_t off, len;
} split_pieces[] = {
    {0, 0, 7}, {1, 3, 1}, {2, 0, 20}, {0, 10, 3}, {1, 50, 12}, {2, 20, 1}, {3, 5, 9}, {3, 30, 4},
};
#define SPLIT_PIECES (sizeof(split_pieces) / sizeof(split_pieces[0]))
#define SPLIT_BUFS   6

/*
 * src = split_pieces laid out in an 8-slot ring wrapped past its end (head 1, last slice in
 * v[0]).  dst is variant 0: empty; 1: two slices (its full inline slots); 2: a full,
 * wrapped 4-slot heap ring.
 */
static void split_setup(struct rw_chain *src, struct rw_chain *dst, struct rw_buf **bufs,
                        int variant, uint8_t *ws, size_t *ls, uint8_t *wd, size_t *ld)
{
	unsigned i;

	add(src, bufs[4], 90, 2, ws, ls); /* a junk slice to push head off 0 */
	for (i = 0; i < SPLIT_PIECES - 1; i++)
		add(src, bufs[split_pieces[i].buf], split_pieces[i].off, split_pieces[i].len, ws,
		    ls);
	eat(src, 2, ws, ls);
	add(src, bufs[split_pieces[i].buf], split_pieces[i].off, split_pieces[i].len, ws, ls);
	CHECK(src->cap == 8 && src->head == 1 && src->count == SPLIT_PIECES);
	CHECK(&src->v[0] == at(src, SPLIT_PIECES - 1));

	if (variant == 1) {
		add(dst, bufs[0], 40, 5, wd, ld);
		add(dst, bufs[5], 0, 6, wd, ld);
		CHECK(on_inline(dst) && dst->count == 2);
	} else if (variant == 2) {
		add(dst, bufs[5], 90, 2, wd, ld);
		add(dst, bufs[5], 10, 3, wd, ld);
		add(dst, bufs[0], 60, 3, wd, ld);
		add(dst, bufs[5], 30, 3, wd, ld);
		eat(dst, 2, wd, ld);
		add(dst, bufs[0], 70, 3, wd, ld);
		CHECK(dst->cap == 4 && dst->count == 4 && dst->head == 1);
	}
}

/* Split a multi-slice chain at every byte offset, into an empty and into non-empty chains. */
static void test_split_every_offset(void)
{
	struct rw_buf_pool p;
	struct rw_buf *bufs[SPLIT_BUFS];
	uint8_t ws[256], wd[256], full[256];
	size_t total = 0, n, ls, ld, pos, chunk;
	uint32_t k, i, j, dst_count, expect_dst, expect_src, live;
	int variant;

	for (i = 0; i < SPLIT_PIECES; i++)
		total += split_pieces[i].len;
	rw_buf_pool_init(&p, 128, 8);
	for (n = 0; n <= total; n++) {
		for (variant = 0; variant < 3; variant++) {
			struct rw_chain src = {0}, dst = {0};

			for (k = 0; k < SPLIT_BUFS; k++) {
				bufs[k] = rw_buf_pool_get(&p);
				CHECK(bufs[k]);
				for (j = 0; j < 100; j++)
					bufs[k]->data[j] = (uint8_t)(k * 41 + j * 7 + 1);
				bufs[k]->used = 100;
			}
			ls = ld = 0;
			split_setup(&src, &dst, bufs, variant, ws, &ls, wd, &ld);
			CHECK(ls == total);
			for (k = 0; k < SPLIT_BUFS; k++)
				rw_buf_unref(bufs[k]); /* the chains hold the only references */
			dst_count = dst.count;
			expect_dst = expect_src = 0;
			for (i = 0, pos = 0; i < SPLIT_PIECES; pos += split_pieces[i++].len) {
				expect_dst += pos < n;
				expect_src += pos + split_pieces[i].len > n;
			}

			CHECK(rw_chain_split(&dst, &src, n) == 0);
			memcpy(full, wd, ld);
			memcpy(full + ld, ws, n);
			check_bytes(&dst, full, ld + n);
			check_bytes(&src, ws + n, total - n);
			CHECK(dst.count == dst_count + expect_dst && src.count == expect_src);
			/* src keeps its ring while it holds anything and frees it when emptied;
			 * dst uses its inline slots until it needs a third slice. */
			CHECK(n == total ? no_heap(&src) && src.cap == RW_CHAIN_INLINE
			                 : src.cap == 8 && src.v != src.inl);
			if (dst.count > RW_CHAIN_INLINE)
				CHECK(dst.v != dst.inl && dst.cap >= dst.count);
			else if (variant != 2)
				CHECK(dst.count ? on_inline(&dst) : no_heap(&dst));
			for (k = 0, live = 0; k < SPLIT_BUFS; k++) {
				unsigned refs = slices_of(&src, bufs[k]) + slices_of(&dst, bufs[k]);

				/* Only buffers the chains still refer to may be live. */
				if (refs)
					CHECK(bufs[k]->refs == refs);
				live += refs > 0;
			}
			CHECK(p.n_live == live);

			/* Both halves drain in random chunks and every buffer comes home. */
			ld += n;
			memcpy(wd, full, ld);
			pop(ws, &ls, n);
			while (ld) {
				chunk = 1 + rng_below(ld < 9 ? ld : 9);
				eat(&dst, chunk, wd, &ld);
			}
			while (ls) {
				chunk = 1 + rng_below(ls < 9 ? ls : 9);
				eat(&src, chunk, ws, &ls);
			}
			CHECK(p.n_live == 0 && no_heap(&src) && no_heap(&dst));
			rw_chain_reset(&src);
			rw_chain_reset(&dst);
		}
	}
	rw_buf_pool_destroy(&p);
}

static void test_append_copy(void)
{
	static const char alpha[] = "abcdefghijklmnopqrstuvwxyz";
	struct rw_buf_pool p;
	struct rw_chain c = {0}, d = {0};
	struct rw_buf *x, *y;
	uint8_t want[512], wd[512], src[256], snap[64];
	size_t wlen = 0, dlen = 0;
	uint32_t i;

	for (i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)rng();
	rw_buf_pool_init(&p, 64, 8);

	/* Into an empty chain: fresh pool buffers, each filled before the next. */
	CHECK(rw_chain_append_copy(&c, &p, src, 150) == 0);
	push(want, &wlen, src, 150);
	check_bytes(&c, want, wlen);
	CHECK(c.count == 3 && p.n_live == 3 && at(&c, 2)->len == 22 && at(&c, 2)->buf->used == 22);
	for (i = 0; i < 3; i++)
		CHECK(at(&c, i)->off == 0 && at(&c, i)->buf->refs == 1);
	/* Sole user, tail ends at used: the next copy fills the tail's room first. */
	CHECK(rw_chain_append_copy(&c, &p, alpha, 10) == 0);
	push(want, &wlen, alpha, 10);
	check_bytes(&c, want, wlen);
	CHECK(c.count == 3 && p.n_live == 3 && at(&c, 2)->len == 32);
	/* More than the room: the room fills up, then fresh buffers. */
	CHECK(rw_chain_append_copy(&c, &p, src, 32 + 64 + 1) == 0);
	push(want, &wlen, src, 32 + 64 + 1);
	check_bytes(&c, want, wlen);
	CHECK(c.count == 5 && p.n_live == 5 && at(&c, 2)->buf->used == 64);
	rw_chain_reset(&c);
	wlen = 0;

	/* A provided buffer whose only user is this chain is extended too. */
	x = make_buf(&p, 10);
	add(&c, x, 0, 10, want, &wlen);
	rw_buf_unref(x);
	CHECK(rw_chain_append_copy(&c, &p, alpha, 5) == 0);
	push(want, &wlen, alpha, 5);
	check_bytes(&c, want, wlen);
	CHECK(c.count == 1 && x->used == 15 && at(&c, 0)->len == 15 && p.n_live == 1);
	rw_chain_reset(&c);
	wlen = 0;

	/* Another chain shares the tail buffer: never write into it, from either side. */
	x = make_buf(&p, 10);
	add(&c, x, 0, 10, want, &wlen);
	add(&d, x, 5, 5, wd, &dlen);
	rw_buf_unref(x);
	memcpy(snap, x->data, sizeof(snap));
	CHECK(rw_chain_append_copy(&c, &p, alpha, 3) == 0);
	push(want, &wlen, alpha, 3);
	CHECK(rw_chain_append_copy(&d, &p, alpha + 3, 3) == 0);
	push(wd, &dlen, alpha + 3, 3);
	check_bytes(&c, want, wlen);
	check_bytes(&d, wd, dlen);
	CHECK(c.count == 2 && d.count == 2 && x->refs == 2 && x->used == 10);
	CHECK(memcmp(x->data, snap, sizeof(snap)) == 0);
	y = at(&c, 1)->buf; /* c's new tail, c its only user: extended */
	CHECK(rw_chain_append_copy(&c, &p, alpha, 4) == 0);
	push(want, &wlen, alpha, 4);
	check_bytes(&c, want, wlen);
	CHECK(c.count == 2 && y->used == 7);
	rw_chain_reset(&c);
	rw_chain_reset(&d);
	wlen = dlen = 0;
	CHECK(p.n_live == 0);

	/* The tail slice stops short of used (bytes past it belong to someone's view). */
	x = make_buf(&p, 10);
	add(&c, x, 0, 5, want, &wlen);
	rw_buf_unref(x);
	memcpy(snap, x->data, sizeof(snap));
	CHECK(x->refs == 1);
	CHECK(rw_chain_append_copy(&c, &p, alpha, 3) == 0);
	push(want, &wlen, alpha, 3);
	check_bytes(&c, want, wlen);
	CHECK(c.count == 2 && x->used == 10 && memcmp(x->data, snap, sizeof(snap)) == 0);
	rw_chain_reset(&c);
	wlen = 0;

	/* The same buffer twice in this chain: refs 2, so the tail is not ours alone. */
	x = make_buf(&p, 10);
	add(&c, x, 0, 3, want, &wlen);
	add(&c, x, 5, 5, want, &wlen);
	rw_buf_unref(x);
	memcpy(snap, x->data, sizeof(snap));
	CHECK(rw_chain_append_copy(&c, &p, alpha, 3) == 0);
	push(want, &wlen, alpha, 3);
	check_bytes(&c, want, wlen);
	CHECK(c.count == 3 && x->used == 10 && memcmp(x->data, snap, sizeof(snap)) == 0);
	rw_chain_reset(&c);
	wlen = 0;

	/* A holder outside any chain (an SQE): untouched until it lets go, then extended. */
	x = make_buf(&p, 10);
	add(&c, x, 0, 10, want, &wlen);
	memcpy(snap, x->data, sizeof(snap));
	CHECK(rw_chain_append_copy(&c, &p, alpha, 3) == 0);
	push(want, &wlen, alpha, 3);
	CHECK(c.count == 2 && x->used == 10 && memcmp(x->data, snap, sizeof(snap)) == 0);
	eat(&c, 10, want, &wlen); /* x's slice gone; refill c's new tail to the brim */
	CHECK(rw_chain_append_copy(&c, &p, src, 61) == 0);
	push(want, &wlen, src, 61);
	CHECK(c.count == 1 && at(&c, 0)->buf->used == 64);
	/* A full tail (used == cap): a fresh buffer. */
	CHECK(rw_chain_append_copy(&c, &p, alpha, 1) == 0);
	push(want, &wlen, alpha, 1);
	check_bytes(&c, want, wlen);
	CHECK(c.count == 2);
	rw_chain_reset(&c);
	wlen = 0;
	add(&c, x, 0, 10, want, &wlen);
	rw_buf_unref(x);
	CHECK(rw_chain_append_copy(&c, &p, alpha, 3) == 0);
	push(want, &wlen, alpha, 3);
	check_bytes(&c, want, wlen);
	CHECK(c.count == 1 && x->used == 13);
	rw_chain_reset(&c);
	CHECK(p.n_live == 0);
	rw_buf_pool_destroy(&p);
}

static void test_append_recv(void)
{
	struct rw_buf_pool rx, cp;
	struct rw_chain c = {0};
	struct rw_buf *x, *y, *z;
	uint8_t want[1024], snap[256];
	size_t wlen = 0;

	rw_buf_pool_init(&rx, 256, 4); /* cap / 4 == 64 */
	rw_buf_pool_init(&cp, 64, 4);
	x = make_buf(&rx, 200);
	/* No backlog: even a 1-byte read is referenced. */
	CHECK(rw_chain_append_recv(&c, &cp, x, 0, 1) == 0);
	push(want, &wlen, x->data, 1);
	CHECK(x->refs == 2 && c.count == 1 && cp.n_live == 0);
	/* Backlog, read of cap / 4 or more: referenced, merging when adjacent. */
	CHECK(rw_chain_append_recv(&c, &cp, x, 20, 64) == 0);
	push(want, &wlen, x->data + 20, 64);
	CHECK(x->refs == 3 && c.count == 2 && cp.n_live == 0);
	CHECK(rw_chain_append_recv(&c, &cp, x, 84, 100) == 0);
	push(want, &wlen, x->data + 84, 100);
	CHECK(x->refs == 3 && c.count == 2);
	check_bytes(&c, want, wlen);
	/* Backlog, read under cap / 4: copied; x gains no reference and is not written. */
	memcpy(snap, x->data, sizeof(snap));
	CHECK(rw_chain_append_recv(&c, &cp, x, 184, 63) == 1);
	push(want, &wlen, x->data + 184, 63);
	CHECK(x->refs == 3 && x->used == 200 && memcmp(x->data, snap, sizeof(snap)) == 0);
	CHECK(c.count == 3 && cp.n_live == 1);
	/* The copy buffer is the chain's alone: further small reads fill it up. */
	CHECK(rw_chain_append_recv(&c, &cp, x, 0, 1) == 1);
	push(want, &wlen, x->data, 1);
	CHECK(c.count == 3 && cp.n_live == 1 && at(&c, 2)->buf->used == 64);
	CHECK(rw_chain_append_recv(&c, &cp, x, 1, 1) == 1);
	push(want, &wlen, x->data + 1, 1);
	CHECK(c.count == 4 && cp.n_live == 2);
	check_bytes(&c, want, wlen);
	rw_chain_reset(&c);
	wlen = 0;
	rw_buf_unref(x);
	CHECK(rx.n_live == 0 && cp.n_live == 0);

	/* The engine's path: a provided buffer is queued, then released by the caller; a
	 * trickle behind it lands in its free room instead of pinning another buffer. */
	y = make_buf(&rx, 100);
	CHECK(rw_chain_append_recv(&c, &cp, y, 0, 100) == 0);
	push(want, &wlen, y->data, 100);
	rw_buf_unref(y);
	z = make_buf(&rx, 30);
	CHECK(rw_chain_append_recv(&c, &cp, z, 0, 30) == 1);
	push(want, &wlen, z->data, 30);
	CHECK(c.count == 1 && y->used == 130 && z->refs == 1 && cp.n_live == 0);
	rw_buf_unref(z);
	check_bytes(&c, want, wlen);
	CHECK(rx.n_live == 1);
	rw_chain_reset(&c);
	CHECK(rx.n_live == 0 && cp.n_live == 0);
	rw_buf_pool_destroy(&rx);
	rw_buf_pool_destroy(&cp);
}

static void test_iov(void)
{
	struct rw_buf_pool p;
	struct rw_chain c = {0};
	struct iovec iov[12];
	struct rw_buf *x;
	uint8_t want[256];
	size_t wlen = 0, done;
	int max, n, k;
	uint32_t i;

	rw_buf_pool_init(&p, 256, 4);
	x = make_buf(&p, 256);
	for (i = 0; i < 6; i++)
		add(&c, x, 20 * i, 1 + i, want, &wlen);
	eat(&c, 1 + 2 + 3 + 4, want, &wlen);
	for (i = 6; i < 10; i++)
		add(&c, x, 20 * i, 1 + i, want, &wlen);
	CHECK(c.cap == 8 && c.head == 4 && c.count == 6); /* wrapped: v[6], v[7], v[0]... */
	for (max = 0; max <= 12; max++) {
		memset(iov, 0, sizeof(iov));
		n = rw_chain_iov(&c, iov, max);
		CHECK(n == (max < 6 ? max : 6));
		for (k = 0, done = 0; k < n; k++) {
			CHECK(iov[k].iov_base == x->data + at(&c, (uint32_t)k)->off);
			CHECK(iov[k].iov_len == at(&c, (uint32_t)k)->len);
			CHECK(memcmp(iov[k].iov_base, want + done, iov[k].iov_len) == 0);
			done += iov[k].iov_len;
		}
		for (; k < 12; k++)
			CHECK(iov[k].iov_base == NULL && iov[k].iov_len == 0);
	}
	rw_chain_reset(&c);
	CHECK(rw_chain_iov(&c, iov, 12) == 0);
	rw_buf_unref(x);
	rw_buf_pool_destroy(&p);
}

/* One-byte slices of one buffer that never merge: k-th is at 2 * (k % 127). */
static void add_piece(struct rw_chain *c, struct rw_buf *b, unsigned k, uint8_t *want, size_t *wlen)
{
	uint32_t off = 2 * (k % 127);

	CHECK(rw_chain_append_buf(c, b, off, 1) == 0);
	push(want, wlen, b->data + off, 1);
}

/* The slice ring wraps past its end and grows while wrapped, keeping FIFO order. */
static void test_ring_wrap(void)
{
	struct rw_buf_pool p;
	struct rw_chain c = {0};
	struct rw_buf *x;
	uint8_t want[1024];
	size_t wlen = 0;
	unsigned k = 0, i, m, saw_wrapped = 0, saw_grow_wrapped = 0;
	uint32_t cap;

	rw_buf_pool_init(&p, 256, 4);
	x = make_buf(&p, 256);
	for (; k < 4; k++)
		add_piece(&c, x, k, want, &wlen);
	CHECK(c.cap == 4 && c.count == 4 && c.head == 0);
	eat(&c, 2, want, &wlen);
	add_piece(&c, x, k++, want, &wlen);
	add_piece(&c, x, k++, want, &wlen);
	CHECK(c.cap == 4 && c.count == 4 && c.head == 2);
	CHECK(c.v[0].off == 2 * 4 && c.v[1].off == 2 * 5 && at(&c, 0)->off == 2 * 2);
	check_bytes(&c, want, wlen);
	add_piece(&c, x, k++, want, &wlen); /* full and wrapped: grows, unrolled to v[0] */
	CHECK(c.cap == 8 && c.count == 5 && c.head == 0);
	for (i = 0; i < 5; i++)
		CHECK(c.v[i].off == 2 * (2 + i));
	check_bytes(&c, want, wlen);

	/* Interleave: appends outpace consumes up to ~200 slices, then drain back down. */
	for (i = 0; i < 3000; i++) {
		bool draining = (i / 500) % 2;

		for (m = rng_below(draining ? 2 : 4); m && c.count < 600; m--) {
			if (c.count == c.cap && c.head)
				saw_grow_wrapped++;
			cap = c.cap;
			add_piece(&c, x, k++, want, &wlen);
			CHECK(c.cap == cap || (c.cap == 2 * cap && c.head == 0));
		}
		m = rng_below(draining ? 4 : 2);
		eat(&c, m < c.count ? m : c.count, want, &wlen);
		saw_wrapped += c.head + c.count > c.cap;
		CHECK(x->refs == 1 + c.count);
	}
	CHECK(saw_wrapped > 100 && saw_grow_wrapped > 0);
	rw_chain_reset(&c);
	rw_buf_unref(x);
	CHECK(p.n_live == 0);
	rw_buf_pool_destroy(&p);
}

/* The ring capacity a chain that grew to n slices has: a power of two, inline up to 2. */
static uint32_t cap_for(uint32_t n)
{
	uint32_t cap = 2 * RW_CHAIN_INLINE;

	if (n <= RW_CHAIN_INLINE)
		return RW_CHAIN_INLINE;
	while (cap < n)
		cap *= 2;
	return cap;
}

/* Up to RW_CHAIN_INLINE slices live inside the struct: no allocation, and the ring arithmetic
 * (head, mask cap - 1) works on the two inline slots; a third slice grows a heap ring. */
static void test_inline(void)
{
	struct rw_buf_pool p;
	struct rw_chain c = {0}, d = {0};
	struct rw_buf *x;
	uint8_t want[2048], wd[2048];
	size_t wlen = 0, dlen = 0;
	unsigned k = 0, i;
	unsigned long m0;

	CHECK(RW_CHAIN_INLINE == 2 && sizeof(c.inl) / sizeof(c.inl[0]) == RW_CHAIN_INLINE);
	rw_buf_pool_init(&p, 256, 4);
	x = make_buf(&p, 256);
	m0 = mallocs();
	add_piece(&c, x, k++, want, &wlen);
	CHECK(on_inline(&c) && c.count == 1 && c.head == 0 && at(&c, 0) == &c.inl[0]);
	add_piece(&c, x, k++, want, &wlen);
	CHECK(on_inline(&c) && c.count == 2 && at(&c, 1) == &c.inl[1]);
	check_bytes(&c, want, wlen);
	/* A FIFO through two slots: head alternates and the tail wraps round to inl[0]. */
	for (i = 0; i < 1000; i++) {
		eat(&c, 1, want, &wlen);
		CHECK(c.count == 1 && c.head == (i + 1) % 2 && on_inline(&c));
		add_piece(&c, x, k++, want, &wlen);
		CHECK(on_inline(&c) && c.count == 2 && at(&c, 1) == &c.inl[i % 2]);
		check_bytes(&c, want, wlen);
	}
	CHECK(mallocs() == m0 && x->refs == 3);

	/* A third slice while wrapped (head 1): a 4-slot heap ring, unrolled to index 0. */
	eat(&c, 1, want, &wlen);
	add_piece(&c, x, k++, want, &wlen);
	CHECK(on_inline(&c) && c.head == 1 && c.count == 2);
	add_piece(&c, x, k++, want, &wlen);
	CHECK(c.cap == 4 && c.v != c.inl && c.head == 0 && c.count == 3);
	CHECK(mallocs() == m0 + HAVE_FAILS);
	check_bytes(&c, want, wlen);
	/* Growth continues by powers of two. */
	for (i = 4; i <= 70; i++) {
		add_piece(&c, x, k++, want, &wlen);
		CHECK(c.count == i && c.cap == cap_for(i) && c.v != c.inl);
	}
	check_bytes(&c, want, wlen);
	/* Draining keeps the ring down to one slice, then the last slice takes it along. */
	while (c.count > 1) {
		eat(&c, 1, want, &wlen);
		CHECK(c.cap == 128 && c.v != c.inl);
	}
	eat(&c, 1, want, &wlen);
	CHECK(c.count == 0 && no_heap(&c) && c.cap == RW_CHAIN_INLINE && x->refs == 1);
	/* ...and two slices again cost nothing. */
	m0 = mallocs();
	add_piece(&c, x, k++, want, &wlen);
	add_piece(&c, x, k++, want, &wlen);
	CHECK(on_inline(&c) && mallocs() == m0);

	/* A never-used chain that needs more than two slices at once skips the inline stage. */
	add_piece(&c, x, k++, want, &wlen);
	CHECK(c.cap == 4);
	m0 = mallocs();
	CHECK(rw_chain_split(&d, &c, 3) == 0);
	push(wd, &dlen, want, 3);
	pop(want, &wlen, 3);
	CHECK(d.cap == 4 && d.v != d.inl && d.count == 3 && mallocs() == m0 + HAVE_FAILS);
	CHECK(no_heap(&c) && c.cap == RW_CHAIN_INLINE);
	check_bytes(&c, want, wlen);
	check_bytes(&d, wd, dlen);
	/* A slice split into an emptied chain lands in its inline slots. */
	CHECK(rw_chain_split(&c, &d, 1) == 0);
	push(want, &wlen, wd, 1);
	pop(wd, &dlen, 1);
	CHECK(on_inline(&c) && c.count == 1 && d.cap == 4 && d.count == 2);
	check_bytes(&c, want, wlen);
	check_bytes(&d, wd, dlen);
	rw_chain_reset(&c);
	rw_chain_reset(&d);
	CHECK(x->refs == 1);
	rw_buf_unref(x);
	CHECK(p.n_live == 0);
	rw_buf_pool_destroy(&p);
}

/* Seven 1-byte slices in an 8-slot heap ring wrapped past its end. */
static void grow_wrapped(struct rw_chain *c, struct rw_buf *x, unsigned *k, uint8_t *want,
                         size_t *wlen)
{
	unsigned i;

	for (i = 0; i < 6; i++)
		add_piece(c, x, (*k)++, want, wlen);
	eat(c, 3, want, wlen);
	for (i = 0; i < 4; i++)
		add_piece(c, x, (*k)++, want, wlen);
	CHECK(c->cap == 8 && c->v != c->inl && c->count == 7 && c->head == 3);
	check_bytes(c, want, *wlen);
}

/*
 * However a chain that grew a heap ring becomes empty, the ring goes with its last slice and
 * the chain is back on its inline slots: an idle chain holds no heap memory.  (Under ASan a
 * ring dropped without being freed shows as a leak too.)
 */
static void test_empty_frees_heap(void)
{
	enum {
		CONSUME_ALL,   /* one consume of everything */
		CONSUME_STEPS, /* all but the last byte, then the last byte */
		SPLIT_EMPTY,   /* split everything into a never-used chain */
		SPLIT_INLINE,  /* split everything into a chain with one inline slice */
		MOVE_FULL,     /* move into a chain with one inline slice */
		MOVE_HEAP,     /* move into a chain with a heap ring */
		MOVE_EMPTY,    /* move into an emptied chain: the structs swap */
		MOVE_ZERO,     /* move into a never-used chain: the structs swap */
		WAYS,
	};
	struct rw_buf_pool p;
	struct rw_buf *x;
	uint8_t want[64], wd[64];
	size_t wlen, dlen;
	unsigned k = 0, i;
	unsigned long m0;
	int way;

	rw_buf_pool_init(&p, 256, 4);
	x = make_buf(&p, 256);
	for (way = 0; way < WAYS; way++) {
		struct rw_chain c = {0}, d = {0};
		struct rw_slice *v;

		wlen = dlen = 0;
		grow_wrapped(&c, x, &k, want, &wlen);
		v = c.v;
		if (way == SPLIT_INLINE || way == MOVE_FULL)
			add_piece(&d, x, k++, wd, &dlen);
		if (way == MOVE_HEAP)
			for (i = 0; i < 3; i++)
				add_piece(&d, x, k++, wd, &dlen);
		if (way == MOVE_EMPTY) {
			grow_wrapped(&d, x, &k, wd, &dlen);
			eat(&d, dlen, wd, &dlen);
		}
		switch (way) {
		case CONSUME_ALL:
			eat(&c, wlen, want, &wlen);
			break;
		case CONSUME_STEPS:
			eat(&c, wlen - 1, want, &wlen);
			CHECK(c.count == 1 && c.v == v);
			eat(&c, 1, want, &wlen);
			break;
		case SPLIT_EMPTY:
		case SPLIT_INLINE:
			CHECK(rw_chain_split(&d, &c, wlen) == 0);
			push(wd, &dlen, want, wlen);
			wlen = 0;
			break;
		default:
			CHECK(rw_chain_move(&d, &c) == 0);
			push(wd, &dlen, want, wlen);
			wlen = 0;
			break;
		}
		check_bytes(&c, want, wlen);
		check_bytes(&d, wd, dlen);
		CHECK(c.count == 0 && c.bytes == 0 && no_heap(&c));
		/* The swap hands the ring over whole; c takes d's empty state. */
		if (way == MOVE_EMPTY || way == MOVE_ZERO)
			CHECK(d.v == v && (way == MOVE_ZERO ? !c.cap : c.cap == RW_CHAIN_INLINE));
		else
			CHECK(c.cap == RW_CHAIN_INLINE && d.v != v);
		CHECK(x->refs == 1 + d.count);
		/* The emptied chain takes two slices without allocating. */
		m0 = mallocs();
		add_piece(&c, x, k++, want, &wlen);
		add_piece(&c, x, k++, want, &wlen);
		CHECK(on_inline(&c) && mallocs() == m0);
		check_bytes(&c, want, wlen);
		check_bytes(&d, wd, dlen);
		rw_chain_reset(&c);
		rw_chain_reset(&d);
		CHECK(x->refs == 1);
	}

#if HAVE_FAILS
	/* A failed append_copy that had grown an empty chain's ring undoes the growth too.
	 * Fail each allocation in turn: buffers 1-3, the 4-slot ring for the 3rd slice,
	 * buffers 4-5, the 8-slot ring for the 5th slice. */
	{
		struct rw_buf_pool q;
		struct rw_chain c = {0};
		long n;
		int r;

		rw_buf_pool_init(&q, 64, 0);
		for (n = 0;; n++) {
			fail_after(n);
			r = rw_chain_append_copy(&c, &q, scratch, 64 * 5);
			fail_never();
			if (!r)
				break;
			CHECK(r == -ENOMEM && n < 8);
			CHECK(c.count == 0 && c.bytes == 0 && q.n_live == 0);
			/* A first failure leaves a never-used chain as it was; later ones leave
			 * it on its inline slots, with any ring grown meanwhile freed. */
			CHECK(n == 0 ? !c.v && !c.cap : no_heap(&c) && c.cap == RW_CHAIN_INLINE);
			check_chain(&c);
		}
		CHECK(n == 7 && c.count == 5 && c.cap == 8);
		rw_chain_reset(&c);
		CHECK(q.n_live == 0);
		rw_buf_pool_destroy(&q);
	}
#endif
	rw_buf_unref(x);
	CHECK(p.n_live == 0);
	rw_buf_pool_destroy(&p);
}

/*
 * Chain shapes for the move/split matrix: never used, emptied (inline again), one inline
 * slice, two inline slices wrapped (head 1), a 3-slice heap ring, a full wrapped heap ring.
 */
enum { SH_ZERO, SH_EMPTIED, SH_IN1, SH_IN2W, SH_HEAP3, SH_HEAPW, SHAPES };

static void make_shape(struct rw_chain *c, int sh, struct rw_buf *x, unsigned *k, uint8_t *want,
                       size_t *wlen)
{
	static const unsigned adds[SHAPES][2] = {{0, 0}, {3, 0}, {1, 0}, {2, 1}, {3, 0}, {4, 2}};
	static const unsigned eats[SHAPES] = {0, 3, 0, 1, 0, 2};
	unsigned i;

	for (i = 0; i < adds[sh][0]; i++)
		add_piece(c, x, (*k)++, want, wlen);
	eat(c, eats[sh], want, wlen);
	for (i = 0; i < adds[sh][1]; i++)
		add_piece(c, x, (*k)++, want, wlen);
	check_bytes(c, want, *wlen);
	switch (sh) {
	case SH_ZERO:
		CHECK(!c->v && !c->cap && !c->count);
		break;
	case SH_EMPTIED:
		CHECK(no_heap(c) && c->cap == RW_CHAIN_INLINE && !c->count);
		break;
	case SH_IN1:
		CHECK(on_inline(c) && c->count == 1);
		break;
	case SH_IN2W:
		CHECK(on_inline(c) && c->count == 2 && c->head == 1);
		break;
	case SH_HEAP3:
		CHECK(c->cap == 4 && c->v != c->inl && c->count == 3 && c->head == 0);
		break;
	default:
		CHECK(c->cap == 4 && c->v != c->inl && c->count == 4 && c->head == 2);
		break;
	}
}

/*
 * move and split between every pair of shapes.  A move into an empty chain swaps the
 * structs: a heap ring must change hands untouched, inline slices must come out in dst's own
 * inline slots (not the source's), and src must get back an empty chain with no heap memory.
 * A split or move that empties src frees its ring.  Afterwards both chains are used
 * independently, which would show any v left pointing into the other struct.
 */
static void test_move_split_shapes(void)
{
	enum { OP_MOVE, OP_SPLIT_ALL, OP_SPLIT_PART, OPS };
	struct rw_buf_pool p;
	struct rw_buf *x;
	uint8_t wa[64], wb[64];
	size_t la, lb, n;
	unsigned k = 0, i;
	int ssh, dsh, op;

	rw_buf_pool_init(&p, 256, 4);
	x = make_buf(&p, 256);
	for (op = 0; op < OPS; op++)
		for (ssh = 0; ssh < SHAPES; ssh++)
			for (dsh = 0; dsh < SHAPES; dsh++) {
				struct rw_chain a = {0}, b = {0}; /* a: dst, b: src */
				struct rw_slice *sv;
				uint32_t scount, scap, dcount, moved;
				bool swap;

				la = lb = 0;
				make_shape(&a, dsh, x, &k, wa, &la);
				make_shape(&b, ssh, x, &k, wb, &lb);
				sv = b.v;
				scount = b.count;
				scap = b.cap;
				dcount = a.count;
				n = op == OP_SPLIT_PART && lb ? lb - 1 : lb;
				swap = op == OP_MOVE && scount && !dcount;
				if (op == OP_MOVE)
					CHECK(rw_chain_move(&a, &b) == 0);
				else
					CHECK(rw_chain_split(&a, &b, n) == 0);
				push(wa, &la, wb, n);
				pop(wb, &lb, n);
				check_bytes(&a, wa, la);
				check_bytes(&b, wb, lb);
				moved = scount - b.count;
				CHECK(a.count == dcount + moved && moved == n);
				CHECK(x->refs == 1 + a.count + b.count);
				if (!scount) /* nothing to hand over: src untouched */
					CHECK(b.v == sv && b.cap == scap);
				else if (lb) /* src keeps its storage while it holds slices */
					CHECK(b.v == sv && b.cap == scap && b.count == 1);
				else
					CHECK(no_heap(&b));
				if (swap) {
					CHECK(scap > RW_CHAIN_INLINE ? a.v == sv : on_inline(&a));
					CHECK(dsh == SH_ZERO ? !b.v && !b.cap : on_inline(&b));
				} else if (a.count == 0) {
					CHECK(no_heap(&a));
				} else if (a.count <= RW_CHAIN_INLINE) {
					CHECK(on_inline(&a));
				} else {
					CHECK(a.v != a.inl && a.v != sv &&
					      a.cap == cap_for(a.count) &&
					      (dcount > RW_CHAIN_INLINE || a.head == 0));
				}

				/* Independent from here on. */
				for (i = 0; i < 3; i++)
					add_piece(&b, x, k++, wb, &lb);
				check_bytes(&a, wa, la);
				add_piece(&a, x, k++, wa, &la);
				check_bytes(&b, wb, lb);
				eat(&b, lb, wb, &lb);
				check_bytes(&a, wa, la);
				eat(&a, la, wa, &la);
				CHECK(no_heap(&a) && no_heap(&b) && x->refs == 1);
				rw_chain_reset(&a);
				rw_chain_reset(&b);
			}
	rw_buf_unref(x);
	CHECK(p.n_live == 0);
	rw_buf_pool_destroy(&p);
}

/* Encoders build into a chain local to their frame and move it out (h1_encode.c): the
 * destination must not keep pointing into the dead frame's inline slots. */
static void __attribute__((noinline))
encode_into(struct rw_chain *out, struct rw_buf *x, unsigned n, unsigned *k, uint8_t *want,
            size_t *wlen)
{
	struct rw_chain tmp = {0};
	unsigned i;

	for (i = 0; i < n; i++)
		add_piece(&tmp, x, (*k)++, want, wlen);
	CHECK(rw_chain_move(out, &tmp) == 0);
	CHECK(no_heap(&tmp));
	rw_chain_reset(&tmp);
}

static void __attribute__((noinline)) clobber_stack(void)
{
	volatile uint8_t junk[4096];
	unsigned i;

	for (i = 0; i < sizeof(junk); i++)
		junk[i] = 0xee;
}

static void test_move_from_frame(void)
{
	struct rw_buf_pool p;
	struct rw_chain out = {0};
	struct rw_buf *x;
	uint8_t want[64];
	size_t wlen = 0;
	unsigned k = 0, n;

	rw_buf_pool_init(&p, 256, 4);
	x = make_buf(&p, 256);
	for (n = 1; n <= 4; n++) {
		encode_into(&out, x, n, &k, want, &wlen); /* into an empty out: the swap */
		CHECK(n <= RW_CHAIN_INLINE ? on_inline(&out) : out.cap == 4);
		encode_into(&out, x, 1, &k, want, &wlen); /* into a non-empty out: appended */
		clobber_stack();
		check_bytes(&out, want, wlen);
		eat(&out, wlen, want, &wlen);
		CHECK(no_heap(&out) && x->refs == 1);
	}
	rw_chain_reset(&out);
	rw_buf_unref(x);
	CHECK(p.n_live == 0);
	rw_buf_pool_destroy(&p);
}

#if HAVE_FAILS
/* Every call that can fail for memory leaves everything as it was when it does. */
static void test_alloc_failure(void)
{
	struct rw_buf_pool p, q; /* q keeps nothing idle: every get allocates */
	struct rw_chain c = {0}, d = {0}, e = {0};
	struct rw_buf *x, *y;
	uint8_t want[1024], wd[1024], we[64], src[512];
	size_t wlen = 0, dlen = 0, le = 0, bytes;
	uint32_t i, count, head, used;
	uint64_t live;
	long k;
	int r;

	for (i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)rng();
	rw_buf_pool_init(&p, 64, 8);
	rw_buf_pool_init(&q, 64, 0);

	/* pool_get: a free-list hit cannot fail, a miss can. */
	fail_after(0);
	CHECK(!rw_buf_pool_get(&p) && p.n_live == 0);
	fail_never();
	x = rw_buf_pool_get(&p);
	rw_buf_unref(x);
	fail_after(0);
	y = rw_buf_pool_get(&p);
	fail_never();
	CHECK(y == x && p.n_live == 1);
	rw_buf_unref(y);
	x = make_buf(&p, 64);

	/* The inline slots need no allocation: the first two slices cannot fail.  A third
	 * needs a heap ring; failing, it takes no reference and leaves the inline slots. */
	fail_after(0);
	CHECK(rw_chain_append_buf(&c, x, 0, 4) == 0);
	CHECK(rw_chain_append_buf(&c, x, 10, 4) == 0);
	CHECK(rw_chain_append_buf(&c, x, 20, 4) == -ENOMEM);
	fail_never();
	push(want, &wlen, x->data, 4);
	push(want, &wlen, x->data + 10, 4);
	check_bytes(&c, want, wlen);
	CHECK(x->refs == 3 && c.count == 2 && on_inline(&c));

	/* append_buf needing a slot takes no reference on failure; a merge needs no slot. */
	for (i = 2; i < 4; i++)
		add(&c, x, 10 * i, 4, want, &wlen);
	CHECK(c.cap == 4 && c.v != c.inl);
	fail_after(0);
	CHECK(rw_chain_append_buf(&c, x, 50, 4) == -ENOMEM);
	CHECK(rw_chain_append_buf(&c, x, 34, 2) == 0);
	fail_never();
	push(want, &wlen, x->data + 34, 2);
	check_bytes(&c, want, wlen);
	CHECK(x->refs == 5 && c.count == 4 && c.cap == 4);
	rw_chain_reset(&c);
	rw_buf_unref(x);
	wlen = 0;

	/* append_copy: fail the 1st, 2nd, ... allocation; each failure is fully undone,
	 * including the bytes it had already put in the tail's room. */
	x = make_buf(&p, 50);
	add(&c, x, 0, 50, want, &wlen);
	rw_buf_unref(x);
	for (k = 0;; k++) {
		count = c.count;
		bytes = c.bytes;
		used = x->used;
		live = p.n_live + q.n_live;
		fail_after(k);
		r = rw_chain_append_copy(&c, &q, src, 14 + 64 * 3 + 5);
		fail_never();
		if (!r)
			break;
		CHECK(r == -ENOMEM && k < 16);
		CHECK(c.count == count && c.bytes == bytes && x->used == used);
		CHECK(p.n_live + q.n_live == live && at(&c, 0)->len == 50);
		check_bytes(&c, want, wlen);
	}
	/* 4 buffers and two ring growths: inline to 4 slots for the 3rd slice (x's and the
	 * first copy's sit inline), 4 to 8 for the 5th.  A failure after the first growth
	 * keeps the 4-slot ring (the chain is not empty), so from k = 3 on the call makes 5
	 * allocations (4 buffers, the growth to 8) and first succeeds when all 5 may. */
	CHECK(k == 5 && c.cap == 8);
	push(want, &wlen, src, 14 + 64 * 3 + 5);
	check_bytes(&c, want, wlen);
	CHECK(c.count == 5 && x->used == 64);

	/* split into a full ring: both chains unchanged. */
	y = make_buf(&p, 64);
	for (i = 0; i < 4; i++)
		add(&d, y, 10 * i, 5, wd, &dlen);
	rw_buf_unref(y);
	head = c.head;
	fail_after(0);
	CHECK(rw_chain_split(&d, &c, 60) == -ENOMEM);
	fail_never();
	CHECK(c.head == head && c.count == 5 && d.count == 4 && x->refs == 1 && y->refs == 4);
	check_bytes(&c, want, wlen);
	check_bytes(&d, wd, dlen);
	/* split or move into full inline slots: the same, and dst keeps them. */
	add(&e, y, 1, 2, we, &le);
	add(&e, y, 6, 2, we, &le);
	fail_after(0);
	CHECK(rw_chain_split(&e, &c, 60) == -ENOMEM);
	CHECK(rw_chain_move(&e, &c) == -ENOMEM);
	fail_never();
	CHECK(c.head == head && c.count == 5 && x->refs == 1 && y->refs == 6);
	CHECK(on_inline(&e) && e.count == 2);
	check_bytes(&c, want, wlen);
	check_bytes(&e, we, le);
	rw_chain_reset(&e);
	/* move into a full ring: the same. */
	fail_after(0);
	CHECK(rw_chain_move(&d, &c) == -ENOMEM);
	fail_never();
	CHECK(c.count == 5 && d.count == 4);
	check_bytes(&c, want, wlen);
	check_bytes(&d, wd, dlen);
	CHECK(rw_chain_split(&d, &c, 60) == 0);
	push(wd, &dlen, want, 60);
	pop(want, &wlen, 60);
	check_bytes(&c, want, wlen);
	check_bytes(&d, wd, dlen);
	CHECK(x->refs == 2);

	/* append_recv fails the same way on both of its paths. */
	rw_chain_reset(&c);
	rw_chain_reset(&d);
	wlen = dlen = 0;
	x = make_buf(&p, 64);
	fail_after(0);
	CHECK(rw_chain_append_recv(&c, &q, x, 0, 20) == 0); /* into an inline slot */
	fail_never();
	push(want, &wlen, x->data, 20);
	add(&c, x, 30, 20, want, &wlen); /* the inline slots are full */
	fail_after(0);
	CHECK(rw_chain_append_recv(&c, &q, x, 48, 16) == -ENOMEM); /* cap / 4: by reference */
	fail_never();
	CHECK(x->refs == 3 && c.count == 2 && on_inline(&c));
	fail_after(0); /* a small read copies, into a fresh buffer */
	CHECK(rw_chain_append_recv(&c, &q, x, 0, 8) == -ENOMEM);
	fail_never();
	CHECK(x->refs == 3 && c.count == 2 && p.n_live == 1 && q.n_live == 0 && on_inline(&c));
	check_bytes(&c, want, wlen);
	rw_chain_reset(&c);
	rw_buf_unref(x);
	CHECK(p.n_live == 0 && q.n_live == 0);
	rw_buf_pool_destroy(&p);
	rw_buf_pool_destroy(&q);
}
#endif

/*
 * The randomized model: three chains, each mirrored by a byte array, fed from "provided"
 * buffers the test holds (like recv CQEs not yet handed over) and pinned now and then by
 * extra references (like send SQEs in flight).  A pinned buffer must never change.
 */
#define MODEL_OPS       100000
#define MODEL_CHAINS    3
#define MODEL_HELD      4
#define MODEL_PINS      4
#define MODEL_MAX_BYTES 8192
#define RX_SIZE         256
#define CP_SIZE         64

struct model {
	struct rw_chain c;
	size_t len;
	uint8_t want[MODEL_MAX_BYTES];
};

struct pin {
	struct rw_buf *buf;
	uint32_t used;
	uint8_t data[RX_SIZE];
};

/* What an op must leave untouched when it fails, and what a shared tail must keep. */
struct before {
	uint32_t count;
	size_t bytes;
	struct rw_buf *tail;
	uint32_t tail_len, tail_used, tail_refs;
	uint64_t live;
	uint8_t tail_data[RX_SIZE];
};

static struct model models[MODEL_CHAINS];
static struct rw_buf *held[MODEL_HELD];
static struct pin pins[MODEL_PINS];
static struct rw_buf_pool rx_pool, cp_pool;
static struct rw_buf *census_v[MODEL_MAX_BYTES + MODEL_HELD + MODEL_PINS];
static uint8_t copy_src[1024];

static struct {
	unsigned long merges, extends, recv_copies, recv_refs, enomem, wrapped_splits;
	unsigned long rings_freed; /* ops that emptied a chain holding a heap ring */
	uint32_t max_count;
} st;

static size_t model_total(void)
{
	size_t sum = 0;
	unsigned i;

	for (i = 0; i < MODEL_CHAINS; i++)
		sum += models[i].len;
	return sum;
}

static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t) * (struct rw_buf *const *)a;
	uintptr_t y = (uintptr_t) * (struct rw_buf *const *)b;

	return (x > y) - (x < y);
}

/* Every buffer's refs equals the holders the test can see, and n_live counts them all:
 * a buffer that outlived its last holder, or left too early, shows up here. */
static void model_census(void)
{
	size_t n = 0, i, j, distinct = 0;
	uint32_t k;
	unsigned m;

	for (m = 0; m < MODEL_CHAINS; m++)
		for (k = 0; k < models[m].c.count; k++)
			census_v[n++] = at(&models[m].c, k)->buf;
	for (m = 0; m < MODEL_HELD; m++)
		census_v[n++] = held[m];
	for (m = 0; m < MODEL_PINS; m++)
		if (pins[m].buf)
			census_v[n++] = pins[m].buf;
	qsort(census_v, n, sizeof(census_v[0]), cmp_ptr);
	for (i = 0; i < n; i = j) {
		for (j = i; j < n && census_v[j] == census_v[i]; j++)
			;
		CHECK(census_v[i]->refs == j - i);
		distinct++;
	}
	CHECK(distinct == rx_pool.n_live + cp_pool.n_live);
}

/*
 * Bytes of b to watch for stray writes: all of an rx buffer (make_buf filled its room with
 * SENTINEL), only [0, used) of a copy buffer, whose room is never initialized; a write
 * there would have to move used, which is checked too.
 */
static uint32_t watched(const struct rw_buf *b)
{
	return b->pool == &rx_pool ? b->cap : b->used;
}

static void check_pins(void)
{
	unsigned i;

	for (i = 0; i < MODEL_PINS; i++)
		if (pins[i].buf) {
			CHECK(pins[i].buf->used == pins[i].used);
			CHECK(memcmp(pins[i].buf->data, pins[i].data, watched(pins[i].buf)) == 0);
		}
}

static void take_before(struct before *bf, const struct model *m)
{
	const struct rw_slice *t = tail_of(&m->c);

	bf->count = m->c.count;
	bf->bytes = m->c.bytes;
	bf->live = rx_pool.n_live + cp_pool.n_live;
	bf->tail = t ? t->buf : NULL;
	if (t) {
		bf->tail_len = t->len;
		bf->tail_used = t->buf->used;
		bf->tail_refs = t->buf->refs;
		memcpy(bf->tail_data, t->buf->data, watched(t->buf));
	}
}

/* A tail buffer someone else also held must come out of any append byte-for-byte intact. */
static void check_shared_tail(const struct before *bf)
{
	if (bf->tail && bf->tail_refs > 1) {
		CHECK(bf->tail->used == bf->tail_used);
		CHECK(memcmp(bf->tail->data, bf->tail_data, watched(bf->tail)) == 0);
	}
}

static void check_unchanged(const struct before *bf, const struct model *m)
{
	const struct rw_slice *t = tail_of(&m->c);

	CHECK(m->c.count == bf->count && m->c.bytes == bf->bytes);
	CHECK(rx_pool.n_live + cp_pool.n_live == bf->live);
	if (bf->tail)
		CHECK(t->buf == bf->tail && t->len == bf->tail_len &&
		      t->buf->used == bf->tail_used);
	check_bytes(&m->c, m->want, m->len);
}

/* Slices append_copy(len) must add: it uses the tail's room only when it may. */
static uint32_t copy_adds(const struct rw_chain *c, size_t len)
{
	const struct rw_slice *t = tail_of(c);
	size_t room = 0;

	if (t && t->buf->refs == 1 && t->off + t->len == t->buf->used)
		room = t->buf->cap - t->buf->used;
	if (room && len)
		st.extends++;
	len = len > room ? len - room : 0;
	return (uint32_t)((len + CP_SIZE - 1) / CP_SIZE);
}

static uint32_t model_len(uint32_t max)
{
	uint32_t r = rng_below(100);

	if (r < 3)
		return 0;
	if (r < 50)
		return 1 + rng_below(16 < max ? 16 : max);
	if (r < 85)
		return 1 + rng_below(100 < max ? 100 : max);
	return 1 + rng_below(max);
}

static void model_push(struct model *m, const void *p, size_t n)
{
	push(m->want, &m->len, p, n);
}

static void model_consume(struct model *m, size_t n)
{
	rw_chain_consume(&m->c, n);
	pop(m->want, &m->len, n);
}

/* Keep the total under MODEL_MAX_BYTES: drain half of the biggest chain. */
static bool model_full(size_t more)
{
	struct model *big = &models[0];
	unsigned i;

	if (model_total() + more <= MODEL_MAX_BYTES)
		return false;
	for (i = 1; i < MODEL_CHAINS; i++)
		if (models[i].len > big->len)
			big = &models[i];
	model_consume(big, big->len / 2 + 1);
	return true;
}

static void arm(bool armed)
{
	if (armed)
		fail_after((long)rng_below(3));
}

/* Random [off, off+len) inside b's written bytes, often adjacent to m's tail. */
static void pick_range(const struct model *m, const struct rw_buf *b, uint32_t *off, uint32_t *len,
                       bool small)
{
	const struct rw_slice *t = tail_of(&m->c);

	if (t && t->buf == b && t->off + t->len < b->used && rng_below(2))
		*off = t->off + t->len;
	else
		*off = rng_below(b->used);
	*len = small ? rng_below(b->cap / 4 + 2) : model_len(b->used - *off);
	if (*len > b->used - *off)
		*len = b->used - *off;
}

static void op_append_buf(struct model *m, bool armed)
{
	struct rw_buf *b = held[rng_below(MODEL_HELD)];
	const struct rw_slice *t = tail_of(&m->c);
	struct before bf;
	uint32_t off, len, refs = b->refs;
	bool merge;
	int r;

	pick_range(m, b, &off, &len, false);
	if (model_full(len))
		return;
	merge = len && t && t->buf == b && t->off + t->len == off;
	take_before(&bf, m);
	arm(armed);
	r = rw_chain_append_buf(&m->c, b, off, len);
	fail_never();
	if (r) {
		CHECK(r == -ENOMEM && armed && len && !merge && b->refs == refs);
		check_unchanged(&bf, m);
		st.enomem++;
		return;
	}
	model_push(m, b->data + off, len);
	CHECK(m->c.count == bf.count + (len && !merge));
	CHECK(b->refs == refs + (len && !merge));
	st.merges += merge;
}

static void op_append_copy(struct model *m, bool armed)
{
	uint32_t len = model_len(sizeof(copy_src)), i, adds;
	struct before bf;
	int r;

	if (model_full(len))
		return;
	for (i = 0; i < len; i++)
		copy_src[i] = (uint8_t)rng();
	take_before(&bf, m);
	adds = copy_adds(&m->c, len);
	arm(armed);
	r = rw_chain_append_copy(&m->c, &cp_pool, copy_src, len);
	fail_never();
	check_shared_tail(&bf);
	if (r) {
		CHECK(r == -ENOMEM && armed);
		check_unchanged(&bf, m);
		st.enomem++;
		return;
	}
	model_push(m, copy_src, len);
	CHECK(m->c.count == bf.count + adds);
}

static void op_append_recv(struct model *m, bool armed)
{
	struct rw_buf *b = held[rng_below(MODEL_HELD)];
	const struct rw_slice *t = tail_of(&m->c);
	uint32_t off, len, refs = b->refs, adds = 0;
	struct before bf;
	bool copy, merge;
	int r;

	pick_range(m, b, &off, &len, rng_below(2));
	if (model_full(len))
		return;
	copy = m->c.count && len < b->cap / 4;
	merge = !copy && len && t && t->buf == b && t->off + t->len == off;
	take_before(&bf, m);
	if (copy)
		adds = copy_adds(&m->c, len);
	arm(armed);
	r = rw_chain_append_recv(&m->c, &cp_pool, b, off, len);
	fail_never();
	check_shared_tail(&bf);
	if (r < 0) {
		CHECK(r == -ENOMEM && armed && b->refs == refs);
		check_unchanged(&bf, m);
		st.enomem++;
		return;
	}
	CHECK(r == copy);
	model_push(m, b->data + off, len);
	if (copy) {
		CHECK(m->c.count == bf.count + adds && b->refs == refs);
		st.recv_copies++;
	} else {
		CHECK(m->c.count == bf.count + (len && !merge));
		CHECK(b->refs == refs + (len && !merge));
		st.recv_refs++;
	}
}

static void op_move(struct model *dst, struct model *src, bool armed)
{
	struct before bd, bs;
	int r;

	take_before(&bd, dst);
	take_before(&bs, src);
	arm(armed);
	r = rw_chain_move(&dst->c, &src->c);
	fail_never();
	if (r) {
		CHECK(r == -ENOMEM && armed && bd.count && bs.count);
		check_unchanged(&bd, dst);
		check_unchanged(&bs, src);
		st.enomem++;
		return;
	}
	model_push(dst, src->want, src->len);
	src->len = 0;
	CHECK(dst->c.count == bd.count + bs.count && src->c.count == 0 && src->c.bytes == 0);
}

static void op_split(struct model *dst, struct model *src, bool armed)
{
	struct before bd, bs;
	struct rw_buf *straddled = NULL;
	uint32_t i, whole = 0, refs = 0;
	size_t n, pos = 0;
	int r;

	n = rng_below(src->len + 1);
	if (rng_below(4) == 0 && src->c.count) { /* exactly at a slice boundary */
		uint32_t upto = rng_below(src->c.count + 1);

		for (i = 0, n = 0; i < upto; i++)
			n += at(&src->c, i)->len;
	}
	for (i = 0; i < src->c.count; pos += at(&src->c, i++)->len) {
		if (pos + at(&src->c, i)->len <= n) {
			whole++;
		} else if (pos < n) {
			straddled = at(&src->c, i)->buf;
			refs = straddled->refs;
		}
	}
	if (src->c.head + src->c.count > src->c.cap)
		st.wrapped_splits++;
	take_before(&bd, dst);
	take_before(&bs, src);
	arm(armed);
	r = rw_chain_split(&dst->c, &src->c, n);
	fail_never();
	if (r) {
		CHECK(r == -ENOMEM && armed && (straddled || whole));
		check_unchanged(&bd, dst);
		check_unchanged(&bs, src);
		st.enomem++;
		return;
	}
	model_push(dst, src->want, n);
	pop(src->want, &src->len, n);
	CHECK(dst->c.count == bd.count + whole + (straddled != NULL));
	CHECK(src->c.count == bs.count - whole);
	if (straddled)
		CHECK(straddled->refs == refs + 1);
}

static void op_consume(struct model *m)
{
	uint32_t i, left = 0;
	size_t n, pos = 0;

	n = rng_below(4) ? rng_below(m->len + 1) : m->len;
	for (i = 0; i < m->c.count; pos += at(&m->c, i++)->len)
		left += pos + at(&m->c, i)->len > n;
	model_consume(m, n);
	CHECK(m->c.count == left);
}

static void op_peek_iov(const struct model *m)
{
	struct iovec iov[16];
	size_t len = rng_below(m->len + 10), done = 0;
	int max = (int)rng_below(16), n, k;

	CHECK(rw_chain_peek(&m->c, scratch, len) == (len < m->len ? len : m->len));
	CHECK(memcmp(scratch, m->want, len < m->len ? len : m->len) == 0);
	n = rw_chain_iov(&m->c, iov, max);
	CHECK(n == ((int)m->c.count < max ? (int)m->c.count : max));
	for (k = 0; k < n; k++) {
		CHECK(iov[k].iov_len == at(&m->c, (uint32_t)k)->len);
		CHECK(memcmp(iov[k].iov_base, m->want + done, iov[k].iov_len) == 0);
		done += iov[k].iov_len;
	}
}

static void op_refresh_held(void)
{
	unsigned h = rng_below(MODEL_HELD);
	uint32_t used = rng_below(3) ? 1 + rng_below(RX_SIZE) : RX_SIZE;

	rw_buf_unref(held[h]);
	held[h] = make_buf(&rx_pool, used);
}

static void op_pin(void)
{
	struct pin *pn = &pins[rng_below(MODEL_PINS)];
	struct model *m = &models[rng_below(MODEL_CHAINS)];
	struct rw_buf *b;

	if (pn->buf) {
		rw_buf_unref(pn->buf);
		pn->buf = NULL;
	} else if (m->c.count) {
		b = at(&m->c, rng_below(m->c.count))->buf;
		rw_buf_ref(b);
		pn->buf = b;
		pn->used = b->used;
		memcpy(pn->data, b->data, watched(b));
	}
}

static void test_random_model(void)
{
	unsigned long i;
	unsigned h, op, ai, bi;
	struct model *a, *b;
	bool armed, a_heap, b_heap;

	memset(&st, 0, sizeof(st));
	rw_buf_pool_init(&rx_pool, RX_SIZE, 8);
	rw_buf_pool_init(&cp_pool, CP_SIZE, 4);
	for (h = 0; h < MODEL_HELD; h++)
		held[h] = make_buf(&rx_pool, 1 + rng_below(RX_SIZE));
	for (i = 0; i < MODEL_OPS; i++) {
		ai = rng_below(MODEL_CHAINS);
		bi = (ai + 1 + rng_below(MODEL_CHAINS - 1)) % MODEL_CHAINS;
		a = &models[ai];
		b = &models[bi];
		armed = HAVE_FAILS && rng_below(16) == 0;
		a_heap = a->c.cap > RW_CHAIN_INLINE;
		b_heap = b->c.cap > RW_CHAIN_INLINE;
		op = rng_below(100);
		if (op < 18)
			op_append_buf(a, armed);
		else if (op < 36)
			op_append_copy(a, armed);
		else if (op < 54)
			op_append_recv(a, armed);
		else if (op < 60)
			op_move(a, b, armed);
		else if (op < 72)
			op_split(a, b, armed);
		else if (op < 86)
			op_consume(a);
		else if (op < 90)
			op_peek_iov(a);
		else if (op < 94)
			op_refresh_held();
		else if (op < 99)
			op_pin();
		else if (rng_below(4) == 0) {
			rw_chain_reset(&a->c);
			a->len = 0;
		}
		/* check_chain() fails on an empty chain still holding a heap ring. */
		check_bytes(&a->c, a->want, a->len);
		check_bytes(&b->c, b->want, b->len);
		st.rings_freed += (a_heap && !a->c.count) + (b_heap && !b->c.count);
		check_pins();
		if (a->c.count > st.max_count)
			st.max_count = a->c.count;
		if (i % 64 == 0)
			model_census();
	}
	model_census();
	for (h = 0; h < MODEL_CHAINS; h++) {
		rw_chain_reset(&models[h].c);
		models[h].len = 0;
	}
	for (h = 0; h < MODEL_PINS; h++)
		if (pins[h].buf) {
			rw_buf_unref(pins[h].buf);
			pins[h].buf = NULL;
		}
	for (h = 0; h < MODEL_HELD; h++)
		rw_buf_unref(held[h]);
	CHECK(rx_pool.n_live == 0 && cp_pool.n_live == 0);
	rw_buf_pool_destroy(&rx_pool);
	rw_buf_pool_destroy(&cp_pool);
	printf("  %d ops: %lu merges, %lu tail extensions, recv %lu copied / %lu referenced, "
	       "%lu wrapped splits, %lu ENOMEM, %lu rings freed, max %u slices\n",
	       MODEL_OPS, st.merges, st.extends, st.recv_copies, st.recv_refs, st.wrapped_splits,
	       st.enomem, st.rings_freed, st.max_count);
	CHECK(st.merges > 0 && st.extends > 0 && st.recv_copies > 0 && st.recv_refs > 0);
	CHECK(st.rings_freed > 0);
	CHECK(st.wrapped_splits > 0 && (st.enomem > 0) == HAVE_FAILS);
}

int main(void)
{
	struct {
		const char *name;
		void (*fn)(void);
	} tests[] = {
		{"pool", test_pool},
		{"pool_destroy_live", test_pool_destroy_live},
		{"pool_tiny", test_pool_tiny},
		{"empty_chain", test_empty_chain},
		{"refcount_return", test_refcount_return},
		{"append_buf_merge", test_append_buf_merge},
		{"consume", test_consume},
		{"move", test_move},
		{"split_every_offset", test_split_every_offset},
		{"append_copy", test_append_copy},
		{"append_recv", test_append_recv},
		{"iov", test_iov},
		{"ring_wrap", test_ring_wrap},
		{"inline", test_inline},
		{"empty_frees_heap", test_empty_frees_heap},
		{"move_split_shapes", test_move_split_shapes},
		{"move_from_frame", test_move_from_frame},
#if HAVE_FAILS
		{"alloc_failure", test_alloc_failure},
#endif
		{"random_model", test_random_model},
	};
	unsigned i;

	rng_seed(UINT64_C(0xb0f5eed));
	printf("test_buf: seed %" PRIu64 "%s\n", seed,
	       HAVE_FAILS ? "" : " (no allocator wrap: failure tests skipped)");
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		double t0 = now_seconds();

		tests[i].fn();
		printf("ok %s (%.1f ms)\n", tests[i].name, (now_seconds() - t0) * 1e3);
	}
	return 0;
}
