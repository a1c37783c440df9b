/*
 * Refcounted buffers, borrowed slices and zero-copy chains.
 *
 * Bytes received from a socket land in a struct rw_buf (a provided buffer handed to the
 * kernel through a buffer ring).  From then on they are referenced, never copied: a chain
 * is a FIFO of slices, each slice holding one reference on its buffer.  Sending a chain is a
 * vectored send of its slices; consuming sent bytes drops references, and when the last one
 * goes the buffer returns to the pool it came from (and from there to the buffer ring).
 *
 *   rw_buf (refs=2)                        chain: [slice A][slice B]
 *   +-----+---------------------------+            |          |
 *   | hdr | data .....used.....|free  |  <---------+----------+
 *   +-----+---------------------------+     A = {buf, 0, 100}  B = {buf, 100, 40}
 *
 * Single-threaded: a buffer, its pool and every chain that refers to it belong to one worker.
 */
#ifndef RW_CORE_BUF_H
#define RW_CORE_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct rw_buf_pool;

/*
 * Invariants: refs > 0 while any slice, SQE or owner refers to it; used <= cap; bytes
 * [0, used) are written.  data is 64-byte aligned and follows the header in one block.
 */
struct rw_buf {
	uint32_t refs;
	uint32_t cap;
	uint32_t used;
	uint32_t pad;
	struct rw_buf_pool *pool; /* where it returns when refs drops to 0 */
	uint8_t *data;
};

/* A per-worker free list of equal-sized buffers, bounded so idle memory goes back to libc. */
struct rw_buf_pool {
	uint32_t buf_size;
	uint32_t n_free;
	uint32_t max_free;   /* keep at most this many idle buffers */
	uint64_t n_live;     /* buffers handed out and not yet returned */
	struct rw_buf *free; /* singly linked through data's first word */
};

/* A borrowed view into a buffer: valid while someone holds a reference on buf. */
struct rw_slice {
	struct rw_buf *buf;
	uint32_t off;
	uint32_t len;
};

/* Slices a chain holds without a heap array: enough for an idle or lightly used connection. */
#define RW_CHAIN_INLINE 2u

/*
 * A FIFO of slices.  A zeroed struct is a valid empty chain.  Invariants: bytes equals the
 * sum of the slices' len; every slice has len > 0 and holds one reference on its buffer;
 * slices live in v[head .. head+count) modulo cap, where v and cap are one of
 *   - v == NULL, cap == 0: never used (the zeroed state; head == 0, count == 0);
 *   - v == inl, cap == RW_CHAIN_INLINE: the inline storage, no heap memory;
 *   - v is a heap array, cap a power of two > RW_CHAIN_INLINE, and count > 0.
 * An empty chain therefore holds no heap memory: the call that empties a chain frees its
 * array and falls back to inl (head 0).  Because v may point into the struct itself, a
 * chain must not be copied by value (rw_chain_move() is the way to hand slices over).
 */
struct rw_chain {
	struct rw_slice *v;
	uint32_t head;
	uint32_t count;
	uint32_t cap;
	uint32_t pad;
	size_t bytes;
	struct rw_slice inl[RW_CHAIN_INLINE];
};

void rw_buf_pool_init(struct rw_buf_pool *p, uint32_t buf_size, uint32_t max_free);
/* Free every idle buffer; buffers still live are freed when released. */
void rw_buf_pool_destroy(struct rw_buf_pool *p);
/* A buffer with refs == 1 and used == 0, or NULL when memory is exhausted. */
struct rw_buf *rw_buf_pool_get(struct rw_buf_pool *p);

static inline void rw_buf_ref(struct rw_buf *b)
{
	b->refs++;
}

/* Drop one reference; the last one returns b to its pool. */
void rw_buf_unref(struct rw_buf *b);

static inline bool rw_chain_empty(const struct rw_chain *c)
{
	return c->count == 0;
}

/*
 * Append bytes [off, off+len) of b; takes a NEW reference on b (the caller keeps its own).
 * Adjacent ranges of the same buffer merge into the tail slice.  0 or -ENOMEM.
 */
int rw_chain_append_buf(struct rw_chain *c, struct rw_buf *b, uint32_t off, uint32_t len);

/*
 * Copy len bytes into the chain: into the tail buffer's free room when this chain is its
 * only user, then into fresh buffers from pool.  Used for small reads (where holding a
 * whole provided buffer for a few bytes would waste memory) and by encoders.  0 or -ENOMEM
 * (nothing appended on failure).
 */
int rw_chain_append_copy(struct rw_chain *c, struct rw_buf_pool *pool, const void *data,
                         size_t len);

/*
 * Queue freshly received bytes: by reference (zero-copy) normally, but copied into the
 * chain's tail when the chain already holds a backlog and the read is small (under a
 * quarter of a buffer), so a peer trickling bytes at a stalled one cannot pin a whole
 * provided buffer per byte.  Memory held is then ~bytes held, which is what watermarks
 * count.  Returns 1 when copied, 0 when referenced, -ENOMEM.
 */
int rw_chain_append_recv(struct rw_chain *c, struct rw_buf_pool *pool, struct rw_buf *b,
                         uint32_t off, uint32_t len);

/* Move every slice of src to the end of dst; src becomes empty.  0 or -ENOMEM. */
int rw_chain_move(struct rw_chain *dst, struct rw_chain *src);

/*
 * Move the first n bytes (n <= src->bytes) of src to the end of dst, splitting a slice
 * (one extra reference) when n falls inside it.  0 or -ENOMEM (both chains unchanged).
 */
int rw_chain_split(struct rw_chain *dst, struct rw_chain *src, size_t n);

/* Drop the first n bytes (n <= bytes), releasing buffers no longer referenced. */
void rw_chain_consume(struct rw_chain *c, size_t n);

/* Release everything; the chain is empty (and zeroed) afterwards. */
void rw_chain_reset(struct rw_chain *c);

/* Fill up to max iovecs from the front of the chain; returns how many were filled. */
int rw_chain_iov(const struct rw_chain *c, struct iovec *iov, int max);

/* Copy up to len bytes from the front into out without consuming; returns bytes copied. */
size_t rw_chain_peek(const struct rw_chain *c, void *out, size_t len);

#endif
