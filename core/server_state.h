/*
 * Process-wide server state that the admin thread writes and workers read: the manual
 * health-check failure of Envoy's POST /healthcheck/fail (cleared by /healthcheck/ok).
 *
 * It lives in core/ so proxy/ (the health_check HTTP filter, drain-close of responses) and
 * admin/ both link it without proxy/ depending on admin/.  One relaxed atomic: a worker
 * seeing the change one request late is fine, and reading it costs one load.
 */
#ifndef RW_CORE_SERVER_STATE_H
#define RW_CORE_SERVER_STATE_H

#include <stdatomic.h>
#include <stdbool.h>

extern _Atomic bool rw_server_hc_failed_flag;

/* Is the server manually health-check failed (Envoy's "DRAINING" server state)? */
static inline bool rw_server_health_check_failed(void)
{
	return atomic_load_explicit(&rw_server_hc_failed_flag, memory_order_relaxed);
}

/* Set or clear the failure; returns the previous value.  Any thread. */
static inline bool rw_server_set_health_check_failed(bool failed)
{
	return atomic_exchange_explicit(&rw_server_hc_failed_flag, failed, memory_order_relaxed);
}

#endif
