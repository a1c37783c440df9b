/*
 * The per-host, per-check health state machine of Envoy's active health checking, pure:
 * results in, transitions and the delay before the next check out.  No I/O, no clock, no
 * randomness of its own (the caller passes a random value), so it is unit-tested exactly.
 *
 *   pending ──first success──► healthy ◄──healthy_threshold successes── unhealthy
 *      │                          │                                        ▲
 *      └──first failure──► unhealthy  ──unhealthy_threshold network failures┘
 *                                     (or one bad HTTP status: at once)
 *
 * Envoy's rules kept here: a host starts unhealthy and pending; its very first success makes
 * it healthy at once (faster start-up), whatever healthy_threshold says; an HTTP answer with
 * an unexpected status ejects at once (unhealthy_threshold applies to network failures:
 * refused, reset, closed early, timed out); streaks reset on the opposite result.
 */
#ifndef RW_HEALTH_STATE_H
#define RW_HEALTH_STATE_H

#include <stdbool.h>
#include <stdint.h>

struct rw_config_health_check;

enum rw_health_result {
	RW_HEALTH_OK = 0,
	RW_HEALTH_FAIL_NETWORK, /* connect/reset/early close/timeout: counts to the threshold */
	RW_HEALTH_FAIL_ACTIVE,  /* the host answered "unhealthy" (HTTP status): immediate */
};

enum rw_health_transition {
	RW_HEALTH_UNCHANGED = 0,
	RW_HEALTH_CHANGE_PENDING, /* a streak towards the other state is under way */
	RW_HEALTH_CHANGED,        /* unhealthy flipped */
};

/* A zeroed struct is not valid: use rw_health_state_init(). */
struct rw_health_state {
	bool unhealthy;       /* what this check says (Envoy's FAILED_ACTIVE_HC) */
	bool pending;         /* no result yet (Envoy's PENDING_ACTIVE_HC) */
	uint32_t n_healthy;   /* consecutive successes while unhealthy */
	uint32_t n_unhealthy; /* consecutive network failures while healthy */
	uint32_t ok_streak;   /* consecutive successes, whatever the state (for logs) */
	uint32_t fail_streak; /* consecutive failures, whatever the state (for logs) */
};

/* A new host: unhealthy and pending until its first result. */
void rw_health_state_init(struct rw_health_state *s);

/* Record one check's result under hc's thresholds; returns what happened to unhealthy. */
enum rw_health_transition rw_health_state_record(struct rw_health_state *s,
                                                 const struct rw_config_health_check *hc,
                                                 enum rw_health_result r);

/*
 * Milliseconds until the next check after a result (ok = it was a success) that caused
 * transition t: interval after a success, unhealthy_interval after a failure, the edge
 * intervals while a streak is pending; no_traffic_interval instead while the cluster never
 * had traffic.  Then Envoy's jitter: + rnd % (interval_jitter_percent of the base), +
 * rnd' % interval_jitter (rnd's two halves).
 */
uint64_t rw_health_next_delay(const struct rw_config_health_check *hc, bool ok,
                              enum rw_health_transition t, bool had_traffic, uint64_t rnd);

#endif
