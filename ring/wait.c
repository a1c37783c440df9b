/*
 * The loop's one system call: submit everything queued and wait, with batching.
 *
 * liburing 2.3 (Debian 12) cannot pass a minimum-wait time, so the SQ tail is published
 * here and io_uring_enter is called directly with an io_uring_getevents_arg.  Kernels since
 * 6.12 (IORING_FEAT_MIN_TIMEOUT) read `min_wait_usec` from what older headers call `pad`:
 * wait up to that long for `wait_nr` completions, then return with whatever has arrived.
 * That lets a busy worker collect a batch per system call without adding latency to an
 * idle one (see rw__enter's caller for when batching is asked for).
 */
#include "ring/internal.h"

#include <errno.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Publish SQEs prepared since the last call; returns how many the kernel has not consumed. */
static unsigned flush_sq(struct io_uring *ring)
{
	struct io_uring_sq *sq = &ring->sq;
	unsigned tail = sq->sqe_tail;

	if (sq->sqe_head != tail) {
		sq->sqe_head = tail;
		io_uring_smp_store_release(sq->ktail, tail);
	}
	return tail - *sq->khead;
}

int rw__enter(struct rw_engine *e, unsigned wait_nr, uint64_t timeout_ms, unsigned min_wait_us)
{
	struct io_uring_getevents_arg arg = {0};
	struct __kernel_timespec ts;
	struct io_uring_cqe *cqe;
	unsigned submit;
	long r;

	if (!e->feat.ext_arg) {
		/* Pre-5.11 kernels: liburing emulates the timeout with an extra SQE. */
		if (timeout_ms == UINT64_MAX)
			return io_uring_submit_and_wait(&e->ring, 1);
		ts.tv_sec = (long long)(timeout_ms / 1000);
		ts.tv_nsec = (long long)(timeout_ms % 1000) * 1000000;
		return io_uring_submit_and_wait_timeout(&e->ring, &cqe, 1, &ts, NULL);
	}
	submit = flush_sq(&e->ring);
	if (timeout_ms != UINT64_MAX) {
		ts.tv_sec = (long long)(timeout_ms / 1000);
		ts.tv_nsec = (long long)(timeout_ms % 1000) * 1000000;
		arg.ts = (uint64_t)(uintptr_t)&ts;
	}
	/* Without a minimum wait the kernel would hold out for all wait_nr completions. */
	if (e->feat.min_wait && wait_nr > 1 && min_wait_us)
		arg.pad = min_wait_us; /* min_wait_usec on 6.12+ */
	else
		wait_nr = 1;
	arg.sigmask_sz = _NSIG / 8;
	r = syscall(__NR_io_uring_enter, e->ring.ring_fd, submit, wait_nr,
	            IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, &arg, sizeof(arg));
	return r < 0 ? -errno : (int)r;
}
