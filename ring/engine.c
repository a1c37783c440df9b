/*
 * Engine setup, the slot table and the loop.
 *
 * One loop turn: re-arm receives that ran out of buffers -> publish buffer-ring refills ->
 * ONE io_uring_submit_and_wait_timeout (submits everything the last turn produced and
 * waits for at least one completion or the next timer) -> read the clock, run due timers
 * -> dispatch every completion -> one io_uring_cq_advance.
 */
#include "ring/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"

#define DEFAULT_BUF_SIZE    (32u * 1024u)
#define DEFAULT_BUF_ENTRIES 1024u
#define DEFAULT_SQ_ENTRIES  1024u
#define BUF_GROUP           1

/*
 * Batched waits: after a turn that handled at least BATCH_BUSY_CQES completions the worker is
 * busy, so the next wait asks for BATCH_NR completions within batch_wait_us (kernel 6.12+)
 * instead of returning for the first one.  An idle worker still wakes for a lone event at
 * once; a busy one makes several times fewer system calls.
 */
#define BATCH_NR        32
#define BATCH_BUSY_CQES 2

/* Not in liburing 2.3 headers: kernel 6.12 honours min_wait_usec (batched waits). */
#define RW_FEAT_MIN_TIMEOUT (1u << 15)

int rw__slot_alloc(struct rw_engine *e, void *obj, uint32_t *slot, uint32_t *gen)
{
	uint32_t i;

	if (e->free_slot == UINT32_MAX) {
		uint32_t n = e->n_slots ? e->n_slots * 2 : 256;
		struct rw_slot *ns = realloc(e->slots, sizeof(*ns) * n);

		if (!ns)
			return -ENOMEM;
		for (i = e->n_slots; i < n; i++) {
			ns[i].obj = NULL;
			ns[i].gen = 1;
			ns[i].next_free = i + 1 < n ? i + 1 : UINT32_MAX;
		}
		e->slots = ns;
		e->free_slot = e->n_slots;
		e->n_slots = n;
	}
	i = e->free_slot;
	e->free_slot = e->slots[i].next_free;
	e->slots[i].obj = obj;
	*slot = i;
	*gen = e->slots[i].gen;
	return 0;
}

void rw__slot_free(struct rw_engine *e, uint32_t slot)
{
	struct rw_slot *s = &e->slots[slot];

	s->obj = NULL;
	s->gen = (s->gen + 1) & RW_UD_GEN_MASK;
	s->next_free = e->free_slot;
	e->free_slot = slot;
}

struct io_uring_sqe *rw__sqe(struct rw_engine *e)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&e->ring);

	while (!sqe) {
		/* SQ full mid-turn: push what we have; rare with a 1024-entry SQ. */
		io_uring_submit(&e->ring);
		e->stats.enters++;
		sqe = io_uring_get_sqe(&e->ring);
	}
	e->stats.sqes++;
	return sqe;
}

static void arm_ctl(struct rw_engine *e)
{
	struct io_uring_sqe *sqe = rw__sqe(e);

	io_uring_prep_read(sqe, e->ctl_fd, &e->ctl_buf, sizeof(e->ctl_buf), 0);
	io_uring_sqe_set_data64(sqe,
	                        rw__ud_pack(RW_OP_CTRL, e->slots[e->ctl_slot].gen, e->ctl_slot));
}

static int ring_init(struct rw_engine *e, char *err, size_t errlen)
{
	struct io_uring_params p;
	const unsigned base = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL;
	const unsigned tries[] = {
	    base | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
	    base | IORING_SETUP_COOP_TASKRUN,
	    IORING_SETUP_CQSIZE,
	};
	int r = -EINVAL;
	size_t i;

	for (i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
		memset(&p, 0, sizeof(p));
		p.flags = tries[i];
		p.cq_entries = e->opt.sq_entries * 8;
		r = io_uring_queue_init_params(e->opt.sq_entries, &e->ring, &p);
		if (r != -EINVAL)
			break;
	}
	if (r == -ENOSYS) {
		snprintf(err, errlen,
		         "io_uring is not available in this kernel (ringway needs "
		         "Linux 5.19 or newer with CONFIG_IO_URING)");
		return r;
	}
	if (r == -EPERM) {
		snprintf(err, errlen,
		         "io_uring is disabled on this system (sysctl "
		         "kernel.io_uring_disabled, or a seccomp profile forbids it)");
		return r;
	}
	if (r < 0) {
		snprintf(err, errlen, "io_uring_setup failed: %s%s", strerror(-r),
		         r == -ENOMEM ? " (raise RLIMIT_MEMLOCK: ulimit -l)" : "");
		return r;
	}
	e->feat.defer_taskrun = p.flags & IORING_SETUP_DEFER_TASKRUN;
	e->feat.coop_taskrun = p.flags & IORING_SETUP_COOP_TASKRUN;
	e->feat.ext_arg = p.features & IORING_FEAT_EXT_ARG;
	e->feat.min_wait = e->feat.ext_arg && (p.features & RW_FEAT_MIN_TIMEOUT);
	/* Multishot accept/recv are assumed and switched off at the first -EINVAL. */
	e->feat.multishot_accept = true;
	e->feat.multishot_recv = true;
	return 0;
}

int rw_engine_create(const struct rw_engine_options *opt, struct rw_engine **out, char *err,
                     size_t errlen)
{
	struct rw_engine *e = calloc(1, sizeof(*e));
	uint32_t gen;
	int r;

	if (!e) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	e->opt = *opt;
	if (!e->opt.buf_size)
		e->opt.buf_size = DEFAULT_BUF_SIZE;
	if (!e->opt.buf_entries)
		e->opt.buf_entries = DEFAULT_BUF_ENTRIES;
	if (!e->opt.sq_entries)
		e->opt.sq_entries = DEFAULT_SQ_ENTRIES;
	e->free_slot = UINT32_MAX;
	e->ctl_fd = -1;
	e->batch_nr = BATCH_NR;
	e->batch_wait_us = opt->batch_wait_us;
	e->batch_min_cqes = BATCH_BUSY_CQES;
	r = ring_init(e, err, errlen);
	if (r)
		goto fail_free;
	rw_buf_pool_init(&e->pool, e->opt.buf_size, e->opt.buf_entries / 4);
	r = rw__bufring_init(e, e->opt.buf_entries, BUF_GROUP);
	if (r) {
		snprintf(err, errlen,
		         "cannot register a provided-buffer ring: %s (ringway needs Linux 5.19+)",
		         strerror(-r));
		goto fail_ring;
	}
	e->now_us = rw_clock_us();
	e->now_ms = e->now_us / 1000u;
	rw_timer_wheel_init(&e->timers, e->now_ms);
	e->ctl_fd = eventfd(0, EFD_CLOEXEC);
	if (e->ctl_fd < 0) {
		r = -errno;
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		goto fail_buf;
	}
	r = rw__slot_alloc(e, e, &e->ctl_slot, &gen);
	if (r) {
		snprintf(err, errlen, "out of memory");
		goto fail_buf;
	}
	arm_ctl(e);
	*out = e;
	return 0;

fail_buf:
	if (e->ctl_fd >= 0)
		close(e->ctl_fd);
	rw__bufring_destroy(e);
	rw_buf_pool_destroy(&e->pool);
fail_ring:
	io_uring_queue_exit(&e->ring);
fail_free:
	free(e->slots);
	free(e);
	return r;
}

void rw_engine_destroy(struct rw_engine *e)
{
	struct rw_send_ctx *c;
	uint32_t i;

	if (!e)
		return;
	/* Tearing the ring down cancels whatever is still in flight. */
	io_uring_queue_exit(&e->ring);
	for (i = 0; i < e->n_listeners; i++) {
		if (!e->listeners[i]->closed)
			close(e->listeners[i]->fd);
		free(e->listeners[i]);
	}
	free(e->listeners);
	rw__bufring_destroy(e);
	rw_buf_pool_destroy(&e->pool);
	while ((c = e->send_free)) {
		e->send_free = c->next;
		free(c);
	}
	close(e->ctl_fd);
	free(e->slots);
	free(e);
}

static void drain_timeout(struct rw_timer *t, void *arg)
{
	struct rw_engine *e = arg;

	(void)t;
	e->drain_fired = true;
	if (e->drain_cb)
		e->drain_cb(e->drain_ctx);
	rw__file_cancel_all(e);
}

static void start_drain(struct rw_engine *e, uint64_t drain_ms)
{
	if (e->draining)
		return;
	e->draining = true;
	rw__listeners_close(e);
	rw_timer_add(&e->timers, &e->drain_timer, drain_ms, drain_timeout, e);
	rw_log_debug("ring", "worker %d draining: %u sockets open", e->opt.worker_id,
	             e->live_socks);
	if (e->drain_start_cb)
		e->drain_start_cb(e->drain_start_ctx);
}

/* rw_engine_stop_listening(): the listeners close, the loop keeps serving open sockets. */
static void stop_listening(struct rw_engine *e, int req)
{
	if (e->draining)
		return; /* a drain closed them already and told every connection */
	rw__listeners_close(e);
	rw_log_debug("ring", "worker %d stopped listening: %u sockets open", e->opt.worker_id,
	             e->live_socks);
	if (req == 2 && e->drain_start_cb)
		e->drain_start_cb(e->drain_start_ctx);
}

static void ctl_cqe(struct rw_engine *e, struct io_uring_cqe *cqe)
{
	int stop = atomic_exchange(&e->stop_listen_req, 0);
	uint64_t req = atomic_exchange(&e->drain_ms_req, 0);

	if (stop)
		stop_listening(e, stop);
	if (req && !e->draining) {
		start_drain(e, req - 1);
	} else if (req && !e->drain_fired) {
		/* A second request (second signal) cuts the deadline short. */
		rw_timer_add(&e->timers, &e->drain_timer, req - 1, drain_timeout, e);
	}
	if (cqe->res >= 0 || cqe->res == -EINTR || cqe->res == -EAGAIN)
		arm_ctl(e);
}

static void dispatch(struct rw_engine *e, struct io_uring_cqe *cqe)
{
	uint64_t ud = io_uring_cqe_get_data64(cqe);
	enum rw_op op = rw__ud_op(ud);
	uint32_t slot = rw__ud_slot(ud);
	void *obj;

	if (op == RW_OP_CANCEL || op == RW_OP_NONE)
		return;
	if (slot >= e->n_slots || e->slots[slot].gen != rw__ud_gen(ud) ||
	    !(obj = e->slots[slot].obj)) {
		/* Stale: the owner is gone.  A buffer the kernel picked must still go back. */
		if (cqe->flags & IORING_CQE_F_BUFFER)
			rw_buf_unref(rw__bufring_take(
			    e, (uint16_t)(cqe->flags >> IORING_CQE_BUFFER_SHIFT), 0));
		return;
	}
	switch (op) {
	case RW_OP_ACCEPT:
		rw__listener_cqe(e, obj, cqe);
		break;
	case RW_OP_CTRL:
		ctl_cqe(e, cqe);
		break;
	case RW_OP_WRITE:
		rw__file_cqe(e, obj, cqe);
		break;
	default:
		rw__sock_cqe(e, obj, op, cqe);
		break;
	}
}

static unsigned batch_nr(const struct rw_engine *e)
{
	return e->last_cqes >= e->batch_min_cqes ? e->batch_nr : 1;
}

static unsigned batch_wait_us(const struct rw_engine *e)
{
	return e->batch_wait_us;
}

static bool finished(const struct rw_engine *e)
{
	return e->draining && e->live_socks == 0 && e->live_writes == 0;
}

int rw_engine_run(struct rw_engine *e)
{
	struct io_uring_cqe *cqe;
	unsigned head, n;
	uint64_t next;
	int r;

	e->now_us = rw_clock_us();
	e->now_ms = e->now_us / 1000u;
	rw_timer_wheel_advance(&e->timers, e->now_ms);
	while (!finished(e)) {
		rw__sock_rearm_waiting(e);
		rw__bufring_commit(e);
		next = rw_timer_wheel_next(&e->timers);
		e->stats.loop_turns++;
		e->stats.enters++;
		r = rw__enter(e, batch_nr(e), next, batch_wait_us(e));
		if (r < 0 && r != -ETIME && r != -EINTR && r != -EAGAIN && r != -EBUSY) {
			rw_log_error("ring", "worker %d: io_uring_enter failed: %s",
			             e->opt.worker_id, strerror(-r));
			return r;
		}
		/* The clock must be read after the wait: callbacks arm timers relative to it. */
		e->now_us = rw_clock_us();
		e->now_ms = e->now_us / 1000u;
		rw_timer_wheel_advance(&e->timers, e->now_ms);
		n = 0;
		io_uring_for_each_cqe(&e->ring, head, cqe)
		{
			dispatch(e, cqe);
			n++;
		}
		io_uring_cq_advance(&e->ring, n);
		e->stats.cqes += n;
		e->last_cqes = n;
	}
	/* Leave nothing half-submitted: the close SQEs of the last sockets. */
	io_uring_submit(&e->ring);
	e->stats.enters++;
	return 0;
}

void rw_engine_drain(struct rw_engine *e, uint64_t drain_ms)
{
	uint64_t one = 1;
	ssize_t r;

	/* +1 so that a zero deadline still reads as "requested". */
	atomic_store(&e->drain_ms_req, drain_ms + 1);
	do {
		r = write(e->ctl_fd, &one, sizeof(one));
	} while (r < 0 && errno == EINTR);
}

void rw_engine_stop_listening(struct rw_engine *e, bool graceful)
{
	uint64_t one = 1;
	int want = graceful ? 2 : 1, cur = 0;
	ssize_t r;

	/* A graceful request is not downgraded by a plain one still pending. */
	while (!atomic_compare_exchange_weak(&e->stop_listen_req, &cur, cur > want ? cur : want))
		;
	do {
		r = write(e->ctl_fd, &one, sizeof(one));
	} while (r < 0 && errno == EINTR);
}

void rw_engine_set_drain_timeout_cb(struct rw_engine *e, void (*cb)(void *ctx), void *ctx)
{
	e->drain_cb = cb;
	e->drain_ctx = ctx;
}

void rw_engine_set_drain_start_cb(struct rw_engine *e, void (*cb)(void *ctx), void *ctx)
{
	e->drain_start_cb = cb;
	e->drain_start_ctx = ctx;
}

const struct rw_engine_features *rw_engine_features(const struct rw_engine *e)
{
	return &e->feat;
}

const struct rw_engine_stats *rw_engine_stats(const struct rw_engine *e)
{
	return &e->stats;
}

uint64_t rw_engine_now_ms(const struct rw_engine *e)
{
	return e->now_ms;
}

uint64_t rw_engine_now_us(const struct rw_engine *e)
{
	return e->now_us;
}

struct rw_timer_wheel *rw_engine_timers(struct rw_engine *e)
{
	return &e->timers;
}

struct rw_buf_pool *rw_engine_pool(struct rw_engine *e)
{
	return &e->pool;
}

bool rw_engine_draining(const struct rw_engine *e)
{
	return e->draining;
}

bool rw_engine_drain_expired(const struct rw_engine *e)
{
	return e->drain_fired;
}
