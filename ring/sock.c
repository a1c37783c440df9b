/*
 * Connected sockets: multishot receive into the buffer ring, vectored zero-copy sends of the
 * outgoing chain, half-close and the cancel -> close -> free teardown.
 *
 * Lifetime rule: every SQE that names a socket counts in s->inflight until its final CQE
 * (for multishot: the one without IORING_CQE_F_MORE).  The socket is closed only at
 * inflight == 0 and freed when the close completes, so no completion can ever reach freed
 * memory, and no buffer a send still points at is released early.
 */
#include "ring/internal.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"

static uint64_t ud(const struct rw_sock *s, enum rw_op op)
{
	return rw__ud_pack(op, s->gen, s->slot);
}

static void begin_close(struct rw_sock *s)
{
	struct io_uring_sqe *sqe;

	if (s->inflight || (s->flags & SOCK_CLOSE_SENT))
		return;
	s->flags |= SOCK_CLOSE_SENT;
	sqe = rw__sqe(s->eng);
	io_uring_prep_close(sqe, s->fd);
	io_uring_sqe_set_data64(sqe, ud(s, RW_OP_CLOSE));
	s->inflight++;
}

static void free_sock(struct rw_engine *e, struct rw_sock *s)
{
	rw_chain_reset(&s->out);
	rw__slot_free(e, s->slot);
	e->live_socks--;
	free(s);
}

static struct rw_sock *sock_new(struct rw_engine *e, int fd, const struct rw_sock_ops *ops,
                                void *ctx)
{
	struct rw_sock *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	if (rw__slot_alloc(e, s, &s->slot, &s->gen)) {
		free(s);
		return NULL;
	}
	s->fd = fd;
	s->eng = e;
	s->ops = ops;
	s->ctx = ctx;
	e->live_socks++;
	return s;
}

struct rw_sock *rw_sock_adopt(struct rw_engine *e, int fd, const struct rw_sock_ops *ops, void *ctx)
{
	struct rw_sock *s = sock_new(e, fd, ops, ctx);

	if (!s)
		close(fd);
	return s;
}

int rw_sock_connect(struct rw_engine *e, const struct sockaddr *addr, socklen_t len,
                    const struct rw_sock_ops *ops, void *ctx, struct rw_sock **out)
{
	struct io_uring_sqe *sqe;
	struct rw_sock *s;
	int one = 1;
	int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);

	if (fd < 0)
		return -errno;
	/* Proxied request/response traffic must not wait on Nagle. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	s = sock_new(e, fd, ops, ctx);
	if (!s) {
		close(fd);
		return -ENOMEM;
	}
	s->flags |= SOCK_CONNECTING;
	sqe = rw__sqe(e);
	io_uring_prep_connect(sqe, fd, addr, len);
	io_uring_sqe_set_data64(sqe, ud(s, RW_OP_CONNECT));
	s->inflight++;
	*out = s;
	return 0;
}

static void arm_recv(struct rw_sock *s)
{
	struct rw_engine *e = s->eng;
	struct io_uring_sqe *sqe = rw__sqe(e);

	if (e->feat.multishot_recv)
		io_uring_prep_recv_multishot(sqe, s->fd, NULL, 0, 0);
	else
		io_uring_prep_recv(sqe, s->fd, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = e->bufring.bgid;
	io_uring_sqe_set_data64(sqe, ud(s, RW_OP_RECV));
	s->flags |= SOCK_RECV_ARMED;
	s->inflight++;
}

static bool recv_may_arm(const struct rw_sock *s)
{
	return (s->flags & SOCK_RECV_WANTED) &&
	       !(s->flags & (SOCK_RECV_ARMED | SOCK_RECV_DONE | SOCK_CLOSING | SOCK_CONNECTING |
	                     SOCK_WAIT_BUFS));
}

void rw_sock_read_start(struct rw_sock *s)
{
	s->flags |= SOCK_RECV_WANTED;
	if (recv_may_arm(s))
		arm_recv(s);
}

void rw_sock_read_stop(struct rw_sock *s)
{
	struct io_uring_sqe *sqe;

	s->flags &= (uint16_t)~SOCK_RECV_WANTED;
	if (!(s->flags & SOCK_RECV_ARMED) || (s->flags & SOCK_CANCEL_RECV))
		return;
	/* The multishot recv ends with -ECANCELED; data already in flight still arrives. */
	s->flags |= SOCK_CANCEL_RECV;
	sqe = rw__sqe(s->eng);
	io_uring_prep_cancel64(sqe, ud(s, RW_OP_RECV), 0);
	io_uring_sqe_set_data64(sqe, rw__ud_pack(RW_OP_CANCEL, 0, 0));
}

struct rw_chain *rw_sock_out(struct rw_sock *s)
{
	return &s->out;
}

uint64_t rw_sock_take_sent(struct rw_sock *s)
{
	uint64_t n = s->sent;

	s->sent = 0;
	return n;
}

size_t rw_sock_out_bytes(const struct rw_sock *s)
{
	return s->out.bytes;
}

bool rw_sock_flushed(const struct rw_sock *s)
{
	return !s->send && rw_chain_empty(&s->out);
}

int rw_sock_fd(const struct rw_sock *s)
{
	return s->fd;
}

int rw_sock_peer_addr(const struct rw_sock *s, struct sockaddr_storage *out)
{
	socklen_t len = sizeof(*out);

	return getpeername(s->fd, (struct sockaddr *)out, &len) ? -errno : 0;
}

int rw_sock_local_addr(const struct rw_sock *s, struct sockaddr_storage *out)
{
	socklen_t len = sizeof(*out);

	return getsockname(s->fd, (struct sockaddr *)out, &len) ? -errno : 0;
}

void rw_fd_close(int fd)
{
	close(fd);
}

static struct rw_send_ctx *send_ctx_get(struct rw_engine *e)
{
	struct rw_send_ctx *c = e->send_free;

	if (c) {
		e->send_free = c->next;
		return c;
	}
	return malloc(sizeof(*c));
}

static void send_ctx_put(struct rw_engine *e, struct rw_send_ctx *c)
{
	c->next = e->send_free;
	e->send_free = c;
}

static void shutdown_now(struct rw_sock *s)
{
	struct io_uring_sqe *sqe = rw__sqe(s->eng);

	s->flags = (uint16_t)((s->flags & ~SOCK_SHUT_PENDING) | SOCK_SHUT_DONE);
	io_uring_prep_shutdown(sqe, s->fd, SHUT_WR);
	io_uring_sqe_set_data64(sqe, ud(s, RW_OP_SHUTDOWN));
	s->inflight++;
}

void rw_sock_flush(struct rw_sock *s)
{
	struct io_uring_sqe *sqe;
	struct rw_send_ctx *c;
	int n;

	if (s->send || (s->flags & (SOCK_CLOSING | SOCK_CONNECTING)))
		return;
	if (rw_chain_empty(&s->out)) {
		if (s->flags & SOCK_SHUT_PENDING)
			shutdown_now(s);
		return;
	}
	c = send_ctx_get(s->eng);
	if (!c) {
		/* Retried on the next flush; the data stays queued. */
		return;
	}
	n = rw_chain_iov(&s->out, c->iov, RW_SEND_IOV);
	sqe = rw__sqe(s->eng);
	if (n == 1) {
		io_uring_prep_send(sqe, s->fd, c->iov[0].iov_base, c->iov[0].iov_len, MSG_NOSIGNAL);
	} else {
		memset(&c->msg, 0, sizeof(c->msg));
		c->msg.msg_iov = c->iov;
		c->msg.msg_iovlen = (size_t)n;
		io_uring_prep_sendmsg(sqe, s->fd, &c->msg, MSG_NOSIGNAL);
	}
	io_uring_sqe_set_data64(sqe, ud(s, RW_OP_SEND));
	s->send = c;
	s->inflight++;
}

void rw_sock_shutdown_write(struct rw_sock *s)
{
	if (s->flags & (SOCK_SHUT_DONE | SOCK_SHUT_PENDING | SOCK_CLOSING))
		return;
	s->flags |= SOCK_SHUT_PENDING;
	rw_sock_flush(s);
}

void rw_sock_close(struct rw_sock *s)
{
	struct rw_engine *e = s->eng;
	struct io_uring_sqe *sqe;

	if (s->flags & SOCK_CLOSING)
		return;
	s->flags |= SOCK_CLOSING;
	s->ops = NULL;
	s->ctx = NULL;
	if (s->flags & SOCK_WAIT_BUFS) {
		struct rw_sock **pp = &e->wait_bufs;

		while (*pp != s)
			pp = &(*pp)->wait_next;
		*pp = s->wait_next;
		s->flags &= (uint16_t)~SOCK_WAIT_BUFS;
	}
	if (s->inflight) {
		/* One cancel for every request on this fd: recv, send, connect. */
		s->flags |= SOCK_CANCEL_SENT;
		sqe = rw__sqe(e);
		io_uring_prep_cancel_fd(sqe, s->fd, IORING_ASYNC_CANCEL_ALL);
		io_uring_sqe_set_data64(sqe, rw__ud_pack(RW_OP_CANCEL, 0, 0));
		return;
	}
	begin_close(s);
}

void rw__sock_rearm_waiting(struct rw_engine *e)
{
	struct rw_sock *s = e->wait_bufs;

	if (!s || e->bufring.holes == e->bufring.entries)
		return;
	e->wait_bufs = NULL;
	while (s) {
		struct rw_sock *next = s->wait_next;

		s->flags &= (uint16_t)~SOCK_WAIT_BUFS;
		s->wait_next = NULL;
		if (recv_may_arm(s))
			arm_recv(s);
		s = next;
	}
}

static void recv_cqe(struct rw_engine *e, struct rw_sock *s, struct io_uring_cqe *cqe)
{
	bool more = cqe->flags & IORING_CQE_F_MORE;
	struct rw_buf *b = NULL;

	if (cqe->flags & IORING_CQE_F_BUFFER)
		b = rw__bufring_take(e, (uint16_t)(cqe->flags >> IORING_CQE_BUFFER_SHIFT),
		                     cqe->res > 0 ? (uint32_t)cqe->res : 0);
	if (cqe->res > 0 && s->ops)
		s->ops->on_data(s, s->ctx, b, 0, (uint32_t)cqe->res);
	if (b)
		rw_buf_unref(b);
	if (more)
		return;

	s->flags &= (uint16_t) ~(SOCK_RECV_ARMED | SOCK_CANCEL_RECV);
	s->inflight--;
	if (cqe->res == -EINVAL && e->feat.multishot_recv) {
		e->feat.multishot_recv = false;
		rw_log_warn("ring", "kernel refused multishot recv; using single-shot receives");
	} else if (cqe->res == -ENOBUFS) {
		e->stats.enobufs++;
		if (!(s->flags & SOCK_CLOSING)) {
			s->flags |= SOCK_WAIT_BUFS;
			s->wait_next = e->wait_bufs;
			e->wait_bufs = s;
		}
	} else if (cqe->res == 0) {
		s->flags |= SOCK_RECV_DONE;
		if (s->ops)
			s->ops->on_eof(s, s->ctx);
	} else if (cqe->res < 0 && cqe->res != -ECANCELED) {
		s->flags |= SOCK_RECV_DONE;
		if (s->ops)
			s->ops->on_error(s, s->ctx, cqe->res);
	}
	if (recv_may_arm(s))
		arm_recv(s);
}

static void send_cqe(struct rw_engine *e, struct rw_sock *s, struct io_uring_cqe *cqe)
{
	send_ctx_put(e, s->send);
	s->send = NULL;
	s->inflight--;
	if (cqe->res < 0) {
		if (cqe->res != -ECANCELED && s->ops)
			s->ops->on_error(s, s->ctx, cqe->res);
		return;
	}
	rw_chain_consume(&s->out, (size_t)cqe->res);
	s->sent += (uint64_t)cqe->res;
	rw_sock_flush(s);
	if (s->ops && s->ops->on_sent)
		s->ops->on_sent(s, s->ctx);
}

static void connect_cqe(struct rw_sock *s, struct io_uring_cqe *cqe)
{
	s->flags &= (uint16_t)~SOCK_CONNECTING;
	s->inflight--;
	if (!s->ops)
		return;
	if (cqe->res < 0) {
		s->ops->on_error(s, s->ctx, cqe->res);
		return;
	}
	if (recv_may_arm(s))
		arm_recv(s);
	rw_sock_flush(s);
	s->ops->on_connect(s, s->ctx);
}

void rw__sock_cqe(struct rw_engine *e, struct rw_sock *s, enum rw_op op, struct io_uring_cqe *cqe)
{
	switch (op) {
	case RW_OP_RECV:
		recv_cqe(e, s, cqe);
		break;
	case RW_OP_SEND:
		send_cqe(e, s, cqe);
		break;
	case RW_OP_CONNECT:
		connect_cqe(s, cqe);
		break;
	case RW_OP_SHUTDOWN:
		s->inflight--;
		break;
	case RW_OP_CLOSE:
		free_sock(e, s);
		return;
	default:
		break;
	}
	if ((s->flags & SOCK_CLOSING) && !s->inflight)
		begin_close(s);
}
