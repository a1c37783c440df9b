/*
 * Envoy access logs (config.accesslog.v3.AccessLog) for every session type that has them:
 * the HTTP connection manager (one line per request) and tcp_proxy (one per connection).
 *
 * A session type supplies a resolver for the %OPERATOR%s (format.h) and the three values
 * the filters test; this module owns the rest: the files the main thread opens at start-up,
 * Envoy's response flags, text and (nested) JSON lines, and the per-worker writers that
 * hand whole lines to io_uring without ever blocking a worker.
 */
#ifndef RW_PROXY_ACCESS_LOG_H
#define RW_PROXY_ACCESS_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proxy/format.h"

struct rw_config_access_log;
struct rw_proxy_worker;

/* Envoy's response flags (%RESPONSE_FLAGS%), in Envoy's print order; config/access_log.c's
   response_flag_filter names use the same bits. */
enum {
	RW_RF_UH = 1u << 0,   /* no healthy upstream host */
	RW_RF_UF = 1u << 1,   /* upstream connection failure */
	RW_RF_UO = 1u << 2,   /* upstream overflow (circuit breaker) */
	RW_RF_NR = 1u << 3,   /* no route */
	RW_RF_URX = 1u << 4,  /* upstream retry limit exceeded */
	RW_RF_NC = 1u << 5,   /* no cluster found */
	RW_RF_DT = 1u << 6,   /* request or connection duration timeout */
	RW_RF_DC = 1u << 7,   /* downstream connection termination */
	RW_RF_UT = 1u << 8,   /* upstream request timeout */
	RW_RF_LR = 1u << 9,   /* local reset */
	RW_RF_UR = 1u << 10,  /* upstream remote reset */
	RW_RF_UC = 1u << 11,  /* upstream connection termination */
	RW_RF_SI = 1u << 12,  /* stream idle timeout */
	RW_RF_DPE = 1u << 13, /* downstream protocol error */
	RW_RF_UPE = 1u << 14, /* upstream protocol error */
	RW_RF_DI = 1u << 15,  /* the fault filter delayed the request */
	RW_RF_FI = 1u << 16,  /* the fault filter aborted the request */
	RW_RF_RL = 1u << 17,  /* rate limited (local_ratelimit) */
	RW_RF_LH = 1u << 18,  /* failed local health check (health_check filter) */
};

/* "UF,URX" into buf ("-" when none); returns buf. */
const char *rw_access_log_flags_format(uint32_t flags, char *buf, size_t len);

/* %UPSTREAM_TRANSPORT_FAILURE_REASON% for a failed upstream connect or exchange (err a
   negative errno): "connection refused", "connect timeout", ... (static). */
const char *rw_access_log_failure_reason(int err);

/* One configured access log: the fd the main thread opened at start-up. */
struct rw_access_log {
	const struct rw_config_access_log *cfg;
	int fd;
	bool own_fd; /* a file (closed with the config), not stdout/stderr */
};

/* Open the n logs of cfgs (main thread, start-up) into *out (NULL when n is 0).  0, or a
   negative errno with the path in err (nothing is left open then). */
int rw_access_logs_open(const struct rw_config_access_log *cfgs, size_t n,
                        struct rw_access_log **out, char *err, size_t errlen);
void rw_access_logs_close(struct rw_access_log *logs, size_t n);
/* Reopen every open file log by its path (log rotation: Envoy's POST /reopen_logs and
   SIGUSR1).  Any thread.  The number reopened, or the first negative errno with err set (the
   others are still reopened; a log that failed keeps its old file). */
int rw_access_logs_reopen(char *err, size_t errlen);

struct rw_http_headers;

/* What the filters test (status 0 for a TCP session). */
struct rw_access_log_facts {
	uint16_t status;
	uint64_t duration_ms;
	uint32_t rflags;
	bool health_check; /* the health_check HTTP filter matched (not_health_check_filter) */
	bool trace_forced; /* the HCM's tracing forced this trace (traceable_filter, as Envoy) */
	/* The request headers (header_filter; runtime_filter's x-request-id), NULL for a TCP
	   session, which header filters see as no headers at all. */
	const struct rw_http_headers *request;
	/* xorshift state for runtime_filter's independent draws (the worker's log_rng). */
	uint64_t *rng;
};

/* Whether log's filter tree lets a session with these facts through.  Recursion is bounded
   by RW_CONFIG_AL_FILTER_MAX_DEPTH; no allocation.  May advance *facts->rng. */
bool rw_access_log_pass(const struct rw_config_access_log *log,
                        const struct rw_access_log_facts *facts);

/*
 * Format one line of log into out: its text format (or Envoy's default), or its JSON
 * object (nested objects included) ended by a newline.  Operators are resolved by fn(ctx).
 * Returns the length, or -ENOSPC.
 */
int rw_access_log_format(const struct rw_config_access_log *log, rw_format_var_fn fn, void *ctx,
                         char *out, size_t cap);

/*
 * Write one line to l from worker w if its filter passes: formatted straight into the
 * worker's buffer for l and handed to the ring; never blocks.  A line that does not fit
 * (a write in flight and the other buffer full) or cannot get a buffer is dropped and
 * counted in w->log_dropped.
 */
void rw_access_log_write(struct rw_proxy_worker *w, const struct rw_access_log *l,
                         const struct rw_access_log_facts *facts, rw_format_var_fn fn, void *ctx);

/* Free w's writers once its loop ended (a writer with a write in flight after an error exit
   is left to the kernel), warning about dropped lines. */
/* Draining starts: write what the worker's buffers hold now, not at the next flush. */
void rw_access_log_worker_flush(struct rw_proxy_worker *pw);
void rw_access_log_worker_fini(struct rw_proxy_worker *w);

#endif
