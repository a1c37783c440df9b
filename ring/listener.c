/*
 * Listening sockets: creation with SO_REUSEPORT (each worker owns one socket per listener
 * address and the kernel spreads connections between them, so workers never share an
 * accept queue) and multishot accept.
 */
#include "ring/internal.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"

#define ACCEPT_RETRY_MS 100 /* after EMFILE/ENFILE: let connections close first */

int rw_listen_socket(const struct sockaddr *addr, socklen_t len, int backlog, int *fd_out,
                     struct sockaddr_storage *bound)
{
	int one = 1;
	socklen_t blen = sizeof(*bound);
	int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
	int r;

	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)))
		goto fail;
	if (addr->sa_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)))
		goto fail;
	if (bind(fd, addr, len) || listen(fd, backlog))
		goto fail;
	if (bound && getsockname(fd, (struct sockaddr *)bound, &blen))
		goto fail;
	*fd_out = fd;
	return 0;
fail:
	r = -errno;
	close(fd);
	return r;
}

int rw_udp_socket(const struct sockaddr *addr, socklen_t len, int *fd_out)
{
	int fd = socket(addr->sa_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_UDP);
	int r;

	if (fd < 0)
		return -errno;
	if (connect(fd, addr, len)) {
		r = -errno;
		close(fd);
		return r;
	}
	*fd_out = fd;
	return 0;
}

static void arm_accept(struct rw_engine *e, struct rw_listener_slot *l)
{
	struct io_uring_sqe *sqe = rw__sqe(e);

	if (e->feat.multishot_accept)
		io_uring_prep_multishot_accept(sqe, l->fd, NULL, NULL, SOCK_CLOEXEC);
	else
		io_uring_prep_accept(sqe, l->fd, NULL, NULL, SOCK_CLOEXEC);
	io_uring_sqe_set_data64(sqe, rw__ud_pack(RW_OP_ACCEPT, l->gen, l->slot));
	l->armed = true;
}

static void retry_accept(struct rw_timer *t, void *arg)
{
	struct rw_listener_slot *l = arg;

	(void)t;
	if (!l->closed && !l->armed)
		arm_accept(l->eng, l);
}

int rw_engine_listen(struct rw_engine *e, int fd, rw_accept_cb cb, void *ctx)
{
	struct rw_listener_slot **nl, *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	nl = realloc(e->listeners, sizeof(*nl) * (e->n_listeners + 1));
	if (!nl || rw__slot_alloc(e, l, &l->slot, &l->gen)) {
		if (nl)
			e->listeners = nl;
		free(l);
		return -ENOMEM;
	}
	e->listeners = nl;
	e->listeners[e->n_listeners++] = l;
	l->fd = fd;
	l->cb = cb;
	l->ctx = ctx;
	l->eng = e;
	arm_accept(e, l);
	return 0;
}

void rw__listener_cqe(struct rw_engine *e, struct rw_listener_slot *l, struct io_uring_cqe *cqe)
{
	bool more = cqe->flags & IORING_CQE_F_MORE;

	if (cqe->res >= 0) {
		e->stats.accepts++;
		if (l->closed)
			close(cqe->res);
		else
			l->cb(e, l->ctx, cqe->res);
	}
	if (more)
		return;
	l->armed = false;
	if (l->closed)
		return;
	if (cqe->res == -EINVAL && e->feat.multishot_accept) {
		e->feat.multishot_accept = false;
		rw_log_warn("ring", "kernel refused multishot accept; using single-shot accepts");
	} else if (cqe->res == -EMFILE || cqe->res == -ENFILE || cqe->res == -ENOMEM ||
	           cqe->res == -ENOBUFS) {
		rw_log_warn("ring", "accept: %s; pausing accepts for %d ms", strerror(-cqe->res),
		            ACCEPT_RETRY_MS);
		rw_timer_add(&e->timers, &l->retry, ACCEPT_RETRY_MS, retry_accept, l);
		return;
	} else if (cqe->res < 0 && cqe->res != -ECANCELED && cqe->res != -EINTR &&
	           cqe->res != -ECONNABORTED && cqe->res != -EAGAIN) {
		rw_log_warn("ring", "accept: %s", strerror(-cqe->res));
	}
	arm_accept(e, l);
}

void rw__listeners_close(struct rw_engine *e)
{
	uint32_t i;

	for (i = 0; i < e->n_listeners; i++) {
		struct rw_listener_slot *l = e->listeners[i];
		struct io_uring_sqe *sqe;

		if (l->closed)
			continue;
		l->closed = true;
		rw_timer_del(&e->timers, &l->retry);
		if (l->armed) {
			sqe = rw__sqe(e);
			io_uring_prep_cancel64(sqe, rw__ud_pack(RW_OP_ACCEPT, l->gen, l->slot), 0);
			io_uring_sqe_set_data64(sqe, rw__ud_pack(RW_OP_CANCEL, 0, 0));
		}
		/* The armed accept holds a file reference, so close() alone would leave the
		 * socket listening until the kernel reaps that request (with DEFER_TASKRUN: only
		 * when this thread next enters the ring).  shutdown() stops listening now: new
		 * SYNs go to reuseport sockets still open, or are refused once all drained. */
		shutdown(l->fd, SHUT_RDWR);
		close(l->fd);
	}
}
