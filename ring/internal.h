/*
 * ring/ internals shared by engine.c, bufring.c, sock.c and listener.c only.
 *
 * user_data layout (64 bits), encoded and decoded only through the helpers below:
 *
 *   63      56 55                  32 31                               0
 *   +---------+----------------------+----------------------------------+
 *   |   op    |   generation (24)    |          slot index (32)         |
 *   +---------+----------------------+----------------------------------+
 *
 * The slot table maps an index to its owner (a socket, a listener, the control channel).
 * Freeing a slot bumps its generation, so a completion that names an old generation is
 * recognised as stale and dropped instead of touching a reused object (nginx's epoll
 * "instance" bit, widened).
 */
#ifndef RW_RING_INTERNAL_H
#define RW_RING_INTERNAL_H

#include <liburing.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/timer.h"
#include "ring/engine.h"

enum rw_op {
	RW_OP_NONE,
	RW_OP_ACCEPT,
	RW_OP_RECV,
	RW_OP_SEND,
	RW_OP_CONNECT,
	RW_OP_SHUTDOWN,
	RW_OP_CLOSE,
	RW_OP_CANCEL, /* completions of cancel requests: nothing to do */
	RW_OP_CTRL,   /* the cross-thread control eventfd */
	RW_OP_WRITE,  /* a file write (file.c) */
	RW_OP_MAX,
};

#define RW_UD_GEN_BITS 24
#define RW_UD_GEN_MASK ((1u << RW_UD_GEN_BITS) - 1)

_Static_assert(RW_OP_MAX <= 256, "op must fit 8 bits");

static inline uint64_t rw__ud_pack(enum rw_op op, uint32_t gen, uint32_t slot)
{
	return ((uint64_t)op << 56) | ((uint64_t)(gen & RW_UD_GEN_MASK) << 32) | slot;
}

static inline enum rw_op rw__ud_op(uint64_t ud)
{
	return (enum rw_op)(ud >> 56);
}

static inline uint32_t rw__ud_gen(uint64_t ud)
{
	return (uint32_t)(ud >> 32) & RW_UD_GEN_MASK;
}

static inline uint32_t rw__ud_slot(uint64_t ud)
{
	return (uint32_t)ud;
}

struct rw_slot {
	void *obj;
	uint32_t gen;
	uint32_t next_free;
};

/* Provided-buffer ring whose slots are refilled with fresh pool buffers as soon as the
 * kernel consumes one, so buffers held by slow connections never starve the ring. */
struct rw_bufring {
	struct io_uring_buf_ring *br;
	struct rw_buf **bufs; /* by buffer id */
	uint32_t entries;
	uint32_t pending; /* added but not yet advanced */
	uint32_t holes;   /* ids we could not refill (pool exhausted) */
	uint16_t *hole_ids;
	uint16_t bgid;
};

#define RW_SEND_IOV 32

struct rw_send_ctx {
	struct msghdr msg;
	struct iovec iov[RW_SEND_IOV];
	struct rw_send_ctx *next; /* free list */
	size_t bytes;
};

enum rw_sock_flag {
	SOCK_RECV_ARMED = 1u << 0,  /* a recv SQE/multishot is live in the kernel */
	SOCK_RECV_WANTED = 1u << 1, /* owner wants data (not paused by backpressure) */
	SOCK_RECV_DONE = 1u << 2,   /* EOF or error seen: never re-arm */
	SOCK_CONNECTING = 1u << 3,
	SOCK_SHUT_PENDING = 1u << 4, /* shutdown(WR) once out drains */
	SOCK_SHUT_DONE = 1u << 5,
	SOCK_CLOSING = 1u << 6,
	SOCK_CLOSE_SENT = 1u << 7,
	SOCK_CANCEL_SENT = 1u << 8,
	SOCK_WAIT_BUFS = 1u << 9,    /* on the engine's ENOBUFS list */
	SOCK_CANCEL_RECV = 1u << 10, /* a recv cancel is in flight (pause) */
};

struct rw_sock {
	uint32_t slot;
	uint32_t gen;
	int fd;
	uint16_t flags;
	uint16_t inflight; /* CQEs still owed by the kernel; free only at 0 */
	struct rw_engine *eng;
	const struct rw_sock_ops *ops; /* NULL once closing */
	void *ctx;
	struct rw_chain out;
	struct rw_send_ctx *send; /* non-NULL while a send is in flight */
	struct rw_sock *wait_next;
	uint64_t sent; /* bytes sent since the owner last took the count (stats) */
};

struct rw_listener_slot {
	uint32_t slot;
	uint32_t gen;
	int fd;
	bool armed;
	bool closed;
	rw_accept_cb cb;
	void *ctx;
	struct rw_timer retry; /* re-arm after EMFILE */
	struct rw_engine *eng;
};

struct rw_engine {
	struct io_uring ring;
	struct rw_engine_features feat;
	struct rw_engine_stats stats;
	struct rw_engine_options opt;
	struct rw_buf_pool pool;
	struct rw_bufring bufring;
	struct rw_timer_wheel timers;
	uint64_t now_ms;         /* now_us / 1000 */
	uint64_t now_us;         /* read once per loop turn, after the wait */
	unsigned last_cqes;      /* completions handled by the previous turn */
	unsigned batch_nr;       /* completions to wait for when busy */
	unsigned batch_wait_us;  /* ... for at most this long */
	unsigned batch_min_cqes; /* "busy" = the previous turn handled at least this many */

	struct rw_slot *slots;
	uint32_t n_slots;
	uint32_t free_slot; /* head of the free list, UINT32_MAX if none */
	uint32_t live_socks;
	uint32_t live_writes;         /* file writes in flight: the loop runs until they complete */
	struct rw_file_write *writes; /* ... listed, so the drain deadline can cancel them */

	struct rw_send_ctx *send_free;
	struct rw_sock *wait_bufs; /* sockets whose recv stopped on -ENOBUFS */

	struct rw_listener_slot **listeners;
	uint32_t n_listeners;

	/* Cross-thread control: the signal thread writes the eventfd after setting flags. */
	int ctl_fd;
	uint32_t ctl_slot;
	uint64_t ctl_buf;
	_Atomic uint64_t drain_ms_req; /* 0 = none; drain deadline length requested */
	_Atomic int stop_listen_req;   /* 0 = none, 1 = stop listening, 2 = also drain (graceful) */
	bool draining;
	bool drain_fired;
	struct rw_timer drain_timer;
	void (*drain_cb)(void *ctx);
	void *drain_ctx;
	void (*drain_start_cb)(void *ctx);
	void *drain_start_ctx;
};

/* Slot table */
int rw__slot_alloc(struct rw_engine *e, void *obj, uint32_t *slot, uint32_t *gen);
void rw__slot_free(struct rw_engine *e, uint32_t slot);

/* SQE acquisition: flushes the SQ when full (counted as an enter). Never returns NULL. */
struct io_uring_sqe *rw__sqe(struct rw_engine *e);

/* Buffer ring */
int rw__bufring_init(struct rw_engine *e, uint32_t entries, uint16_t bgid);
void rw__bufring_destroy(struct rw_engine *e);
/* Take buffer bid out of the ring (caller owns the ref) and refill the slot. */
struct rw_buf *rw__bufring_take(struct rw_engine *e, uint16_t bid, uint32_t len);
/* Make refills visible to the kernel; retries holes.  Call once per loop turn. */
void rw__bufring_commit(struct rw_engine *e);

/*
 * Submit what is queued and wait for completions: at least one, or wait_nr within
 * min_wait_us when the kernel supports minimum waits; until timeout_ms (UINT64_MAX: none).
 * Returns >= 0 or a negative errno (-ETIME on timeout).
 */
int rw__enter(struct rw_engine *e, unsigned wait_nr, uint64_t timeout_ms, unsigned min_wait_us);

/* Completion handlers */
void rw__sock_cqe(struct rw_engine *e, struct rw_sock *s, enum rw_op op, struct io_uring_cqe *cqe);
void rw__sock_rearm_waiting(struct rw_engine *e);
void rw__listener_cqe(struct rw_engine *e, struct rw_listener_slot *l, struct io_uring_cqe *cqe);
void rw__listeners_close(struct rw_engine *e);
void rw__file_cqe(struct rw_engine *e, void *obj, struct io_uring_cqe *cqe);
/* The drain deadline: cancel every file write still in flight (a pipe nobody reads must
   not keep a stopping worker alive); their callbacks see -ECANCELED. */
void rw__file_cancel_all(struct rw_engine *e);

#endif
