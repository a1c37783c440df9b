/*
 * The completion engine: one io_uring per worker thread, nothing shared on the data path.
 *
 * Everything above this layer (proxy/) sees sockets as struct rw_sock with callbacks and an
 * outgoing chain; it never issues a syscall.  The engine batches every SQE produced while
 * handling one pass of completions into a single io_uring_submit_and_wait per loop turn.
 *
 * Callback contract (libuv's): callbacks run on the worker thread, from inside the loop.
 * A callback may call any rw_sock_* function, including rw_sock_close() on its own socket;
 * after rw_sock_close() no callback runs for that socket again.
 */
#ifndef RW_RING_ENGINE_H
#define RW_RING_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct rw_buf;
struct rw_buf_pool;
struct rw_chain;
struct rw_engine;
struct rw_sock;
struct rw_timer_wheel;

struct rw_engine_options {
	uint32_t buf_size;    /* provided-buffer size, bytes (default 32 KiB) */
	uint32_t buf_entries; /* provided-buffer ring entries, power of two (default 1024) */
	uint32_t sq_entries;  /* default 1024 */
	int worker_id;
	uint32_t batch_wait_us; /* a busy worker waits up to this for a batch (0: never) */
};

/* What the kernel gave us, probed once per engine (read-only afterwards). */
struct rw_engine_features {
	bool defer_taskrun; /* SINGLE_ISSUER|DEFER_TASKRUN accepted */
	bool coop_taskrun;
	bool multishot_accept; /* cleared at runtime if the kernel answers -EINVAL */
	bool multishot_recv;
	bool ext_arg;  /* wait with timeout in one io_uring_enter */
	bool min_wait; /* IORING_FEAT_MIN_TIMEOUT (6.12): batched waits */
};

struct rw_engine_stats {
	uint64_t loop_turns;
	uint64_t enters; /* io_uring_enter system calls made by this engine */
	uint64_t cqes;
	uint64_t sqes;
	uint64_t accepts;
	uint64_t enobufs;      /* multishot recvs stopped because the buffer ring ran dry */
	uint64_t small_copies; /* small reads copied into a backlog instead of referenced */
};

struct rw_sock_ops {
	/* Bytes [off, off+len) of b arrived; valid during the call (rw_buf_ref to keep). */
	void (*on_data)(struct rw_sock *s, void *ctx, struct rw_buf *b, uint32_t off, uint32_t len);
	/* The peer half-closed its side (recv returned 0); no more on_data. */
	void (*on_eof)(struct rw_sock *s, void *ctx);
	/* A connect, recv or send failed; err is a negative errno (-ECONNREFUSED, ...). */
	void (*on_error)(struct rw_sock *s, void *ctx, int err);
	/* rw_sock_connect() finished successfully. */
	void (*on_connect)(struct rw_sock *s, void *ctx);
	/* A send completed; the outgoing chain shrank (watermark checks go here). */
	void (*on_sent)(struct rw_sock *s, void *ctx);
};

/* Accept callback: fd is a connected socket the callee now owns. */
typedef void (*rw_accept_cb)(struct rw_engine *e, void *ctx, int fd);

/*
 * Create an engine (io_uring + provided-buffer ring) for the calling thread.  Returns 0 or a
 * negative errno, with a human message in err: -ENOSYS when the kernel has no io_uring,
 * -EPERM when it is disabled by sysctl, -ENOMEM when RLIMIT_MEMLOCK is too small.
 */
int rw_engine_create(const struct rw_engine_options *opt, struct rw_engine **out, char *err,
                     size_t errlen);
void rw_engine_destroy(struct rw_engine *e);

/*
 * Run the loop until rw_engine_stop() was requested and no socket is left (or the drain
 * deadline passed and on_drain_timeout closed what remained).  0 or negative errno.
 */
int rw_engine_run(struct rw_engine *e);

/*
 * Ask the engine to drain: stop accepting now, keep serving open sockets, exit when none is
 * left.  After drain_ms, on_drain_timeout(ctx) runs once so the owner can close the rest.
 * Thread-safe: called from the signal-handling thread.
 */
void rw_engine_drain(struct rw_engine *e, uint64_t drain_ms);
/*
 * Ask the engine to stop accepting (Envoy's POST /drain_listeners): every listening socket
 * is closed, but the loop keeps running and open sockets are served as before, until a real
 * rw_engine_drain().  With graceful, the drain-start callback also runs once (connections
 * are told to finish: HTTP answers carry "connection: close").  Thread-safe, like
 * rw_engine_drain(); a no-op once draining.
 */
void rw_engine_stop_listening(struct rw_engine *e, bool graceful);
void rw_engine_set_drain_timeout_cb(struct rw_engine *e, void (*cb)(void *ctx), void *ctx);
/* cb(ctx) runs once on the worker thread when draining starts (close idle connections). */
void rw_engine_set_drain_start_cb(struct rw_engine *e, void (*cb)(void *ctx), void *ctx);

const struct rw_engine_features *rw_engine_features(const struct rw_engine *e);
const struct rw_engine_stats *rw_engine_stats(const struct rw_engine *e);
uint64_t rw_engine_now_ms(const struct rw_engine *e); /* cached once per loop turn */
/* Monotonic microseconds, cached with now_ms (same clock, now_ms == now_us / 1000): events
   handled in one loop turn share one value.  Costs no system call. */
uint64_t rw_engine_now_us(const struct rw_engine *e);
struct rw_timer_wheel *rw_engine_timers(struct rw_engine *e);
struct rw_buf_pool *rw_engine_pool(struct rw_engine *e);
bool rw_engine_draining(const struct rw_engine *e);
/* The drain deadline passed (what is left is being closed, file writes are refused). */
bool rw_engine_drain_expired(const struct rw_engine *e);

/*
 * Start a multishot accept on a listening socket (the engine takes ownership of fd and
 * closes it when draining starts).  0 or negative errno.
 */
int rw_engine_listen(struct rw_engine *e, int fd, rw_accept_cb cb, void *ctx);

/* Wrap an accepted, connected fd.  NULL on ENOMEM (fd is then closed). */
struct rw_sock *rw_sock_adopt(struct rw_engine *e, int fd, const struct rw_sock_ops *ops,
                              void *ctx);

/*
 * Open a TCP socket and start connecting to addr (which must stay valid until on_connect or
 * on_error).  0 with *out set, or a negative errno (no callback then).
 */
int rw_sock_connect(struct rw_engine *e, const struct sockaddr *addr, socklen_t len,
                    const struct rw_sock_ops *ops, void *ctx, struct rw_sock **out);

/* Arm receiving (multishot recv into the buffer ring); idempotent. */
void rw_sock_read_start(struct rw_sock *s);
/* Stop receiving (backpressure); a few in-flight completions may still arrive. */
void rw_sock_read_stop(struct rw_sock *s);

/* The outgoing chain: append, then rw_sock_flush(). */
struct rw_chain *rw_sock_out(struct rw_sock *s);
/* Start sending the outgoing chain if no send is in flight. */
void rw_sock_flush(struct rw_sock *s);
/* shutdown(SHUT_WR) once everything queued so far is sent (a half-close). */
void rw_sock_shutdown_write(struct rw_sock *s);
/* Nothing queued, nothing in flight. */
bool rw_sock_flushed(const struct rw_sock *s);
size_t rw_sock_out_bytes(const struct rw_sock *s);
/* Bytes sent since the last call (for byte counters; call it from on_sent). */
uint64_t rw_sock_take_sent(struct rw_sock *s);

/*
 * Close: detach callbacks, cancel what is in flight, close the fd once the kernel is done
 * with every buffer, then free.  The caller must not touch s afterwards.
 */
void rw_sock_close(struct rw_sock *s);

int rw_sock_fd(const struct rw_sock *s);

/* The connection's peer (remote) or local address: 0 or negative errno. */
int rw_sock_peer_addr(const struct rw_sock *s, struct sockaddr_storage *out);
int rw_sock_local_addr(const struct rw_sock *s, struct sockaddr_storage *out);

/*
 * Write len bytes of data to fd (a file opened O_APPEND, or a pipe/tty) at its current
 * position with one io_uring write.  data must stay valid until cb(ctx, res) runs, once,
 * with the bytes written or a negative errno; the loop does not end (drain) while a write
 * is in flight.  0, or -ENOMEM (cb never runs then).
 */
typedef void (*rw_file_write_cb)(void *ctx, int res);
/* (Past the drain deadline, writes in flight are cancelled and new ones refused with
   -ECANCELED: a pipe nobody reads cannot keep a stopping worker alive.) */
int rw_engine_file_write(struct rw_engine *e, int fd, const void *data, uint32_t len,
                         rw_file_write_cb cb, void *ctx);

/* Close a raw fd we decided not to serve (accept path under memory pressure). */
void rw_fd_close(int fd);

/*
 * Create a listening TCP socket bound to addr with SO_REUSEPORT (so each worker can own one
 * for the same address) and TCP_NODELAY (inherited by accepted sockets).  0 or negative
 * errno; on success *bound holds the actual address (port 0 resolved).
 */
int rw_listen_socket(const struct sockaddr *addr, socklen_t len, int backlog, int *fd_out,
                     struct sockaddr_storage *bound);

/* A UDP socket connected to addr (each write is one datagram: stats sinks).  0 or
   negative errno. */
int rw_udp_socket(const struct sockaddr *addr, socklen_t len, int *fd_out);

#endif
