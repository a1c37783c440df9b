/*
 * Envoy's outlier detection (passive health checking), pure: no I/O, no clock, no random
 * source -- time and randomness are passed in, so tests are deterministic.
 *
 * Two sides, two threads:
 *   - workers call rw_outlier_report() on every upstream outcome: relaxed atomics on the
 *     host's detector state (host->od), never a lock.  Crossing a consecutive-error threshold
 *     only *requests* an ejection (a flag on the host and a per-cluster dirty counter).
 *   - ONE thread per server runs rw_outlier_tick() per cluster: it performs requested
 *     ejections, every interval evaluates success rate and failure percentage, unejects hosts
 *     whose time passed, and sets/clears RW_HOST_EJECTED; the caller then refreshes the
 *     cluster's balancer (rw_cluster_refresh) when told something changed.
 *
 *   cluster ── rw_outlier_detector { config, dirty, interval deadline }   (tick thread)
 *                   ▲ det
 *   host->od ── rw_outlier_host { consecutive counters, interval counts,  (workers: atomics)
 *                                 eject request, ejection time, backoff } (tick thread: plain)
 *
 * A host's od is attached by the tick thread the first time it sees the host (before the
 * workers start for STATIC clusters, within one tick for hosts DNS adds); a worker reporting
 * on a host without one does nothing.  It is freed with the host (rw_host_unref).
 */
#ifndef RW_LB_OUTLIER_H
#define RW_LB_OUTLIER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct rw_host;
struct rw_host_set;

/* Mirrors config.cluster.v3.OutlierDetection (see config/config.h for Envoy's defaults). */
struct rw_outlier_config {
	uint32_t consecutive_5xx;
	uint32_t consecutive_gateway_failure;
	uint32_t consecutive_local_origin_failure;
	uint64_t interval_ms;
	uint64_t base_ejection_time_ms;
	uint64_t max_ejection_time_ms;
	uint32_t max_ejection_percent;
	uint32_t enforcing_consecutive_5xx;
	uint32_t enforcing_consecutive_gateway_failure;
	uint32_t enforcing_consecutive_local_origin_failure;
	uint32_t enforcing_success_rate;
	uint32_t enforcing_local_origin_success_rate; /* Envoy's default 100 (not configurable) */
	uint32_t enforcing_failure_percentage;
	uint32_t enforcing_failure_percentage_local_origin;
	uint32_t success_rate_minimum_hosts;
	uint32_t success_rate_request_volume;
	uint32_t success_rate_stdev_factor; /* thousandths: 1900 = 1.9 */
	uint32_t failure_percentage_threshold;
	uint32_t failure_percentage_minimum_hosts;
	uint32_t failure_percentage_request_volume;
	bool split_external_local_origin_errors;
};

/* One upstream outcome, as the HTTP router sees it. */
enum rw_outlier_result {
	RW_OUTLIER_SUCCESS,         /* a final response below 500 */
	RW_OUTLIER_5XX,             /* 500..599 except the gateway errors */
	RW_OUTLIER_GATEWAY,         /* 502, 503, 504 */
	RW_OUTLIER_CONNECT_FAILED,  /* local origin: refused, reset, protocol error */
	RW_OUTLIER_TIMEOUT,         /* local origin: connect or per-try timeout */
	RW_OUTLIER_CONNECT_SUCCESS, /* local origin: a response arrived (split mode only) */
};

/* Why a host was ejected (Envoy's OutlierEjectionType). */
enum rw_outlier_type {
	RW_OUTLIER_EJECT_CONSECUTIVE_5XX,
	RW_OUTLIER_EJECT_CONSECUTIVE_GATEWAY,
	RW_OUTLIER_EJECT_CONSECUTIVE_LOCAL,
	RW_OUTLIER_EJECT_SUCCESS_RATE,
	RW_OUTLIER_EJECT_SUCCESS_RATE_LOCAL,
	RW_OUTLIER_EJECT_FAILURE_PERCENTAGE,
	RW_OUTLIER_EJECT_FAILURE_PERCENTAGE_LOCAL,
	RW_OUTLIER_EJECT_TYPES
};

/* One cluster's detector.  Owned by whoever runs the ticks; outlives the cluster's workers. */
struct rw_outlier_detector {
	struct rw_outlier_config cfg;
	_Atomic uint32_t dirty;    /* ejection requests since the last tick (workers bump) */
	uint64_t next_interval_ms; /* tick thread only, like everything below */
	uint32_t n_ejected;        /* hosts of the last tick's set carrying RW_HOST_EJECTED */
	uint64_t rng;              /* splitmix64 state, seeded by each tick's random */
	uint64_t ejections_enforced[RW_OUTLIER_EJECT_TYPES];
	uint64_t ejections_detected[RW_OUTLIER_EJECT_TYPES];
	uint64_t ejections_overflow; /* skipped by max_ejection_percent */
	double success_rate_mean;    /* last external success-rate evaluation; -1 when none */
	double success_rate_threshold;
};

/* Per-host state (host->od). */
struct rw_outlier_host {
	struct rw_outlier_detector *det;
	_Atomic uint32_t consecutive_5xx;
	_Atomic uint32_t consecutive_gateway;
	_Atomic uint32_t consecutive_local;
	_Atomic uint32_t eject_request; /* 1u << enum rw_outlier_type, consecutive kinds */
	/* This interval's requests: total in the high 32 bits, successes in the low 32, so one
	 * fetch_add counts both and one exchange takes a consistent pair. */
	_Atomic uint64_t external;
	_Atomic uint64_t local;
	/* Tick thread only. */
	uint64_t ejected_at_ms;
	uint32_t backoff;     /* ejection time multiplier (Envoy's ejectTimeBackoff) */
	uint32_t n_ejections; /* times ejected, ever */
};

/* What a tick did, for logs (hosts named in order of the set). */
struct rw_outlier_changes {
	uint32_t ejected;
	uint32_t unejected;
};

/* A detector with cfg and its first interval ending at now_ms + interval. */
void rw_outlier_detector_init(struct rw_outlier_detector *d, const struct rw_outlier_config *cfg,
                              uint64_t now_ms);

/*
 * Record one outcome for h.  Lock-free, any worker.  Returns true when a consecutive
 * threshold was just reached: an ejection is then requested (flag on the host, the cluster
 * detector's dirty count bumped) for the next tick to carry out.  No-op without h->od.
 */
bool rw_outlier_report(struct rw_host *h, enum rw_outlier_result r);

/* The outcome a final response status stands for. */
enum rw_outlier_result rw_outlier_result_of_status(unsigned status);

/*
 * Run the detector over hosts (the cluster's current set, which the caller keeps alive):
 * attach state to new hosts, carry out requested ejections, and when the interval is due,
 * uneject, evaluate success rate / failure percentage and start a new interval.  random
 * seeds the enforcing_* draws.  Returns true when any host's RW_HOST_EJECTED bit changed
 * (counts in *out when not NULL): the caller then rebuilds the balancer.  One thread only.
 * Attaching needs memory: a host whose state cannot be allocated is skipped until later.
 */
bool rw_outlier_tick(struct rw_outlier_detector *d, struct rw_host_set *hosts, uint64_t now_ms,
                     uint64_t random, struct rw_outlier_changes *out);

/* Current ejection time of a host that is (or would be) ejected now, for logs and tests. */
uint64_t rw_outlier_ejection_time_ms(const struct rw_outlier_detector *d,
                                     const struct rw_outlier_host *oh);

/* Free a host's state (from rw_host_unref). */
void rw_outlier_host_free(struct rw_outlier_host *oh);

#endif
