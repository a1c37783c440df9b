/*
 * Per-worker proxy state: the engine this worker drives and the sessions it owns, so a
 * drain deadline can close whatever is still open.  Never shared between threads.
 */
#ifndef RW_PROXY_WORKER_H
#define RW_PROXY_WORKER_H

#include <stddef.h>
#include <stdint.h>

struct rw_access_log_writer;
struct rw_engine;
struct http_worker;

struct rw_session_link;

/* What a session type does when the worker needs it gone. */
struct rw_session_ops {
	/* Tear the session down at once (drain deadline). */
	void (*close)(struct rw_session_link *link);
	/* The server started draining (optional): finish the current exchange, then close. */
	void (*drain)(struct rw_session_link *link);
};

/* Intrusive link every session type embeds. */
struct rw_session_link {
	struct rw_session_link *prev, *next;
	const struct rw_session_ops *ops;
};

struct rw_proxy_worker {
	struct rw_engine *eng;
	int id;
	struct rw_session_link sessions; /* circular list head */
	uint64_t cx_total;
	uint64_t cx_active;
	uint64_t next_conn_id;
	struct http_worker *http; /* HTTP connection manager state (proxy/http_*.c) */
	/* Access log writers, one per log this worker wrote to (access_log.c). */
	struct rw_access_log_writer **log_writers;
	size_t n_log_writers;
	uint64_t log_dropped; /* lines dropped (buffer full while writing) */
	uint64_t log_rng;     /* xorshift state of runtime_filter draws; seeded when 0 */
};

void rw_proxy_worker_init(struct rw_proxy_worker *w, struct rw_engine *e, int id);
void rw_proxy_worker_track(struct rw_proxy_worker *w, struct rw_session_link *l);
void rw_proxy_worker_untrack(struct rw_proxy_worker *w, struct rw_session_link *l);
/* Tell every session the server is draining. */
void rw_proxy_worker_drain(struct rw_proxy_worker *w);
/* Close every session (drain deadline reached). */
void rw_proxy_worker_close_all(struct rw_proxy_worker *w);

#endif
