/*
 * Envoy's active health check state machine and interval choice (see state.h).  Kept apart
 * from the checker's I/O so thresholds, the first-check rule and the interval table are
 * tested without sockets or clocks.
 */
#include "health/state.h"

#include "config/config.h"

void rw_health_state_init(struct rw_health_state *s)
{
	*s = (struct rw_health_state){.unhealthy = true, .pending = true};
}

enum rw_health_transition rw_health_state_record(struct rw_health_state *s,
                                                 const struct rw_config_health_check *hc,
                                                 enum rw_health_result r)
{
	enum rw_health_transition t = RW_HEALTH_UNCHANGED;
	bool first = s->pending;

	s->pending = false;
	if (r == RW_HEALTH_OK) {
		s->ok_streak++;
		s->fail_streak = 0;
		s->n_unhealthy = 0;
		if (!s->unhealthy)
			return t;
		/* The first result of a new host counts in full: start-up is not held for
		 * healthy_threshold intervals (Envoy trades a little caution for that). */
		if (first || ++s->n_healthy >= hc->healthy_threshold) {
			s->unhealthy = false;
			s->n_healthy = 0;
			return RW_HEALTH_CHANGED;
		}
		return RW_HEALTH_CHANGE_PENDING;
	}
	s->fail_streak++;
	s->ok_streak = 0;
	s->n_healthy = 0;
	if (s->unhealthy)
		return t;
	if (r == RW_HEALTH_FAIL_ACTIVE || ++s->n_unhealthy >= hc->unhealthy_threshold) {
		s->unhealthy = true;
		s->n_unhealthy = 0;
		return RW_HEALTH_CHANGED;
	}
	return RW_HEALTH_CHANGE_PENDING;
}

uint64_t rw_health_next_delay(const struct rw_config_health_check *hc, bool ok,
                              enum rw_health_transition t, bool had_traffic, uint64_t rnd)
{
	uint64_t base, pct;
	uint32_t r1 = (uint32_t)rnd, r2 = (uint32_t)(rnd >> 32);

	if (!had_traffic)
		base = hc->no_traffic_interval_ms;
	else if (ok)
		base =
		    t == RW_HEALTH_CHANGE_PENDING ? hc->healthy_edge_interval_ms : hc->interval_ms;
	else
		base = t == RW_HEALTH_CHANGE_PENDING ? hc->unhealthy_edge_interval_ms
		                                     : hc->unhealthy_interval_ms;
	pct = (uint64_t)hc->interval_jitter_percent * base / 100;
	if (pct)
		base += r1 % pct;
	if (hc->interval_jitter_ms)
		base += r2 % hc->interval_jitter_ms;
	return base;
}
