/*
 * The provided-buffer ring (IORING_REGISTER_PBUF_RING).
 *
 * Classic usage hands a buffer back to the ring only when the application is done with it,
 * so a few slow connections holding data can drain the ring and stall every other socket
 * on the worker with -ENOBUFS.  Here a buffer id is a slot, not a buffer: when the kernel
 * fills buffer `bid`, the engine takes that rw_buf out (it now lives in chains, refcounted)
 * and puts a fresh pool buffer under the same id at once.  The ring therefore stays full,
 * held memory is bounded by the connections' watermarks, and -ENOBUFS only happens when
 * one loop turn receives on more sockets than the ring has entries.
 *
 * Debian 12's liburing 2.3 has no io_uring_setup_buf_ring(), so the ring memory is mapped
 * and registered here.
 */
#include "ring/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/log.h"

static void add(struct rw_bufring *r, struct rw_buf *b, uint16_t bid)
{
	io_uring_buf_ring_add(r->br, b->data, b->cap, bid, io_uring_buf_ring_mask(r->entries),
	                      (int)r->pending);
	r->pending++;
}

int rw__bufring_init(struct rw_engine *e, uint32_t entries, uint16_t bgid)
{
	struct rw_bufring *r = &e->bufring;
	struct io_uring_buf_reg reg;
	size_t size = entries * sizeof(struct io_uring_buf);
	uint32_t i;
	int ret;

	if (entries == 0 || entries > 32768 || (entries & (entries - 1)))
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	r->entries = entries;
	r->bgid = bgid;
	r->bufs = calloc(entries, sizeof(*r->bufs));
	r->hole_ids = calloc(entries, sizeof(*r->hole_ids));
	if (!r->bufs || !r->hole_ids) {
		ret = -ENOMEM;
		goto fail;
	}
	r->br = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	if (r->br == MAP_FAILED) {
		r->br = NULL;
		ret = -ENOMEM;
		goto fail;
	}
	io_uring_buf_ring_init(r->br);
	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (unsigned long)r->br;
	reg.ring_entries = entries;
	reg.bgid = bgid;
	ret = io_uring_register_buf_ring(&e->ring, &reg, 0);
	if (ret)
		goto fail;
	for (i = 0; i < entries; i++) {
		r->bufs[i] = rw_buf_pool_get(&e->pool);
		if (!r->bufs[i]) {
			ret = -ENOMEM;
			goto fail_unreg;
		}
		add(r, r->bufs[i], (uint16_t)i);
	}
	rw__bufring_commit(e);
	return 0;

fail_unreg:
	io_uring_unregister_buf_ring(&e->ring, bgid);
fail:
	rw__bufring_destroy(e);
	return ret;
}

void rw__bufring_destroy(struct rw_engine *e)
{
	struct rw_bufring *r = &e->bufring;
	uint32_t i;

	if (r->bufs)
		for (i = 0; i < r->entries; i++)
			if (r->bufs[i])
				rw_buf_unref(r->bufs[i]);
	if (r->br)
		munmap(r->br, r->entries * sizeof(struct io_uring_buf));
	free(r->bufs);
	free(r->hole_ids);
	memset(r, 0, sizeof(*r));
}

struct rw_buf *rw__bufring_take(struct rw_engine *e, uint16_t bid, uint32_t len)
{
	struct rw_bufring *r = &e->bufring;
	struct rw_buf *b = r->bufs[bid];
	struct rw_buf *fresh = rw_buf_pool_get(&e->pool);

	b->used = len;
	r->bufs[bid] = fresh;
	if (fresh)
		add(r, fresh, bid);
	else
		r->hole_ids[r->holes++] = bid;
	return b;
}

void rw__bufring_commit(struct rw_engine *e)
{
	struct rw_bufring *r = &e->bufring;

	while (r->holes) {
		uint16_t bid = r->hole_ids[r->holes - 1];
		struct rw_buf *b = rw_buf_pool_get(&e->pool);

		if (!b)
			break;
		r->bufs[bid] = b;
		add(r, b, bid);
		r->holes--;
	}
	if (r->pending) {
		io_uring_buf_ring_advance(r->br, (int)r->pending);
		r->pending = 0;
	}
}
