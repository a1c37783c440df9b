/*
 * File writes through the ring (access logs): one IORING_OP_WRITE per call at the file's
 * current position (offset -1), so an O_APPEND file gets whole writes appended and a
 * worker never blocks on a slow disk or a full pipe.  Each write owns a slot until its CQE,
 * so a completion after the owner's state changed still finds valid memory.
 */
#include "ring/internal.h"

#include <errno.h>
#include <stdlib.h>

struct rw_file_write {
	uint32_t slot;
	uint32_t gen;
	rw_file_write_cb cb;
	void *ctx;
	struct rw_file_write *next, *prev; /* the engine's list of writes in flight */
};

int rw_engine_file_write(struct rw_engine *e, int fd, const void *data, uint32_t len,
                         rw_file_write_cb cb, void *ctx)
{
	struct rw_file_write *w;
	struct io_uring_sqe *sqe;

	if (e->drain_fired)
		return -ECANCELED; /* past the drain deadline: nothing may hold the loop open */
	w = malloc(sizeof(*w));
	if (!w)
		return -ENOMEM;
	if (rw__slot_alloc(e, w, &w->slot, &w->gen)) {
		free(w);
		return -ENOMEM;
	}
	w->cb = cb;
	w->ctx = ctx;
	sqe = rw__sqe(e);
	io_uring_prep_write(sqe, fd, data, len, (uint64_t)-1);
	io_uring_sqe_set_data64(sqe, rw__ud_pack(RW_OP_WRITE, w->gen, w->slot));
	e->live_writes++;
	w->prev = NULL;
	w->next = e->writes;
	if (w->next)
		w->next->prev = w;
	e->writes = w;
	return 0;
}

void rw__file_cancel_all(struct rw_engine *e)
{
	for (struct rw_file_write *w = e->writes; w; w = w->next) {
		struct io_uring_sqe *sqe = rw__sqe(e);

		io_uring_prep_cancel64(sqe, rw__ud_pack(RW_OP_WRITE, w->gen, w->slot), 0);
		io_uring_sqe_set_data64(sqe, rw__ud_pack(RW_OP_CANCEL, 0, 0));
	}
}

void rw__file_cqe(struct rw_engine *e, void *obj, struct io_uring_cqe *cqe)
{
	struct rw_file_write *w = obj;
	rw_file_write_cb cb = w->cb;
	void *ctx = w->ctx;

	rw__slot_free(e, w->slot);
	e->live_writes--;
	if (w->prev)
		w->prev->next = w->next;
	else
		e->writes = w->next;
	if (w->next)
		w->next->prev = w->prev;
	free(w);
	cb(ctx, cqe->res);
}
