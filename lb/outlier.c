/*
 * Outlier detection, as Envoy's DetectorImpl / DetectorHostMonitorImpl do it (see
 * lb/outlier.h for the threading split).  Envoy decisions kept:
 *   - consecutive thresholds fire on "== N" (a count past N does not fire again until the
 *     counter is reset: by a success, by the ejection request being handled, by uneject);
 *   - without split_external_local_origin_errors a connect failure counts as a 503 and a
 *     timeout as a 504 (both gateway errors); with it they only feed the local-origin
 *     counter and success rate, and a response resets the local-origin counter;
 *   - an ejection is skipped when (ejected + 1) / hosts would pass max_ejection_percent;
 *   - ejection time = min(base * backoff, max); backoff grows per ejection while
 *     base * backoff < max + base, and drops by one at each interval the host is not ejected;
 *   - unejection, success rate and failure percentage run once per interval, on the counts
 *     of the interval that just ended; ejected hosts are left out of the statistics.
 */
#include "lb/outlier.h"

#include <math.h>
#include <stdlib.h>

#include "lb/cluster.h"

#define TOTAL_ONE (UINT64_C(1) << 32)

/* One host's success rate in an evaluation, and which checks its volume qualifies it for. */
struct sr_sample {
	double rate;
	bool sr_valid, fp_valid;
};

static inline uint32_t load32(_Atomic uint32_t *a)
{
	return atomic_load_explicit(a, memory_order_relaxed);
}

/* A success resets a counter: skip the store when it is already 0 (no line bouncing). */
static inline void reset32(_Atomic uint32_t *a)
{
	if (load32(a))
		atomic_store_explicit(a, 0, memory_order_relaxed);
}

static inline uint32_t inc32(_Atomic uint32_t *a)
{
	return atomic_fetch_add_explicit(a, 1, memory_order_relaxed) + 1;
}

enum rw_outlier_result rw_outlier_result_of_status(unsigned status)
{
	if (status < 500 || status > 599)
		return RW_OUTLIER_SUCCESS;
	if (status >= 502 && status <= 504)
		return RW_OUTLIER_GATEWAY;
	return RW_OUTLIER_5XX;
}

static bool request_ejection(struct rw_outlier_host *oh, enum rw_outlier_type type)
{
	uint32_t bit = 1u << type;

	if (!(atomic_fetch_or_explicit(&oh->eject_request, bit, memory_order_relaxed) & bit))
		atomic_fetch_add_explicit(&oh->det->dirty, 1, memory_order_release);
	return true;
}

/* An HTTP status (or a local-origin error mapped onto one, when not split). */
static bool external_result(struct rw_outlier_host *oh, const struct rw_outlier_config *cfg,
                            enum rw_outlier_result r)
{
	bool fired = false;

	if (r == RW_OUTLIER_SUCCESS) {
		atomic_fetch_add_explicit(&oh->external, TOTAL_ONE | 1, memory_order_relaxed);
		reset32(&oh->consecutive_5xx);
		reset32(&oh->consecutive_gateway);
		return false;
	}
	atomic_fetch_add_explicit(&oh->external, TOTAL_ONE, memory_order_relaxed);
	if (r == RW_OUTLIER_GATEWAY) {
		if (inc32(&oh->consecutive_gateway) == cfg->consecutive_gateway_failure)
			fired = request_ejection(oh, RW_OUTLIER_EJECT_CONSECUTIVE_GATEWAY);
	} else {
		reset32(&oh->consecutive_gateway);
	}
	if (inc32(&oh->consecutive_5xx) == cfg->consecutive_5xx)
		fired = request_ejection(oh, RW_OUTLIER_EJECT_CONSECUTIVE_5XX);
	return fired;
}

bool rw_outlier_report(struct rw_host *h, enum rw_outlier_result r)
{
	struct rw_outlier_host *oh = atomic_load_explicit(&h->od, memory_order_acquire);
	const struct rw_outlier_config *cfg;

	if (!oh)
		return false;
	cfg = &oh->det->cfg;
	switch (r) {
	case RW_OUTLIER_CONNECT_SUCCESS:
		if (cfg->split_external_local_origin_errors) {
			atomic_fetch_add_explicit(&oh->local, TOTAL_ONE | 1, memory_order_relaxed);
			reset32(&oh->consecutive_local);
		}
		return false;
	case RW_OUTLIER_CONNECT_FAILED:
	case RW_OUTLIER_TIMEOUT:
		if (!cfg->split_external_local_origin_errors)
			return external_result(oh, cfg, RW_OUTLIER_GATEWAY); /* 503 / 504 */
		atomic_fetch_add_explicit(&oh->local, TOTAL_ONE, memory_order_relaxed);
		if (inc32(&oh->consecutive_local) == cfg->consecutive_local_origin_failure)
			return request_ejection(oh, RW_OUTLIER_EJECT_CONSECUTIVE_LOCAL);
		return false;
	default:
		return external_result(oh, cfg, r);
	}
}

void rw_outlier_detector_init(struct rw_outlier_detector *d, const struct rw_outlier_config *cfg,
                              uint64_t now_ms)
{
	*d = (struct rw_outlier_detector){.cfg = *cfg};
	atomic_init(&d->dirty, 0);
	d->next_interval_ms = now_ms + cfg->interval_ms;
	d->success_rate_mean = -1;
	d->success_rate_threshold = -1;
}

void rw_outlier_host_free(struct rw_outlier_host *oh)
{
	free(oh);
}

/* splitmix64: the enforcing_* draws, seeded by the caller's random per tick. */
static uint64_t next_random(struct rw_outlier_detector *d)
{
	uint64_t z = (d->rng += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static uint32_t enforcing(const struct rw_outlier_config *cfg, enum rw_outlier_type type)
{
	switch (type) {
	case RW_OUTLIER_EJECT_CONSECUTIVE_5XX:
		return cfg->enforcing_consecutive_5xx;
	case RW_OUTLIER_EJECT_CONSECUTIVE_GATEWAY:
		return cfg->enforcing_consecutive_gateway_failure;
	case RW_OUTLIER_EJECT_CONSECUTIVE_LOCAL:
		return cfg->enforcing_consecutive_local_origin_failure;
	case RW_OUTLIER_EJECT_SUCCESS_RATE:
		return cfg->enforcing_success_rate;
	case RW_OUTLIER_EJECT_SUCCESS_RATE_LOCAL:
		return cfg->enforcing_local_origin_success_rate;
	case RW_OUTLIER_EJECT_FAILURE_PERCENTAGE:
		return cfg->enforcing_failure_percentage;
	default:
		return cfg->enforcing_failure_percentage_local_origin;
	}
}

/* Envoy's featureEnabled(percent): always at 100, never at 0, else a draw. */
static bool enforced(struct rw_outlier_detector *d, enum rw_outlier_type type)
{
	uint32_t pct = enforcing(&d->cfg, type);

	if (pct >= 100)
		return true;
	if (pct == 0)
		return false;
	return next_random(d) % 100 < pct;
}

uint64_t rw_outlier_ejection_time_ms(const struct rw_outlier_detector *d,
                                     const struct rw_outlier_host *oh)
{
	uint64_t t = d->cfg.base_ejection_time_ms * oh->backoff;

	return t < d->cfg.max_ejection_time_ms ? t : d->cfg.max_ejection_time_ms;
}

static bool is_ejected(const struct rw_host *h)
{
	return atomic_load_explicit(&h->health, memory_order_relaxed) & RW_HOST_EJECTED;
}

static void eject(struct rw_outlier_detector *d, size_t n_hosts, struct rw_host *h,
                  enum rw_outlier_type type, uint64_t now_ms, struct rw_outlier_changes *ch)
{
	struct rw_outlier_host *oh = h->od;
	uint64_t max_pct = d->cfg.max_ejection_percent < 100 ? d->cfg.max_ejection_percent : 100;

	d->ejections_detected[type]++;
	if ((uint64_t)(d->n_ejected + 1) * 100 > max_pct * n_hosts) {
		d->ejections_overflow++;
		return;
	}
	if (!enforced(d, type))
		return;
	atomic_fetch_or_explicit(&h->health, RW_HOST_EJECTED, memory_order_relaxed);
	d->n_ejected++;
	d->ejections_enforced[type]++;
	oh->ejected_at_ms = now_ms;
	oh->n_ejections++;
	if ((uint64_t)oh->backoff * d->cfg.base_ejection_time_ms <
	    d->cfg.max_ejection_time_ms + d->cfg.base_ejection_time_ms)
		oh->backoff++;
	ch->ejected++;
}

/* The consecutive counter behind a consecutive ejection type. */
static _Atomic uint32_t *counter_of(struct rw_outlier_host *oh, enum rw_outlier_type type)
{
	switch (type) {
	case RW_OUTLIER_EJECT_CONSECUTIVE_5XX:
		return &oh->consecutive_5xx;
	case RW_OUTLIER_EJECT_CONSECUTIVE_GATEWAY:
		return &oh->consecutive_gateway;
	default:
		return &oh->consecutive_local;
	}
}

static void handle_requests(struct rw_outlier_detector *d, struct rw_host_set *hosts,
                            uint64_t now_ms, struct rw_outlier_changes *ch)
{
	static const enum rw_outlier_type kinds[] = {
	    RW_OUTLIER_EJECT_CONSECUTIVE_5XX,
	    RW_OUTLIER_EJECT_CONSECUTIVE_GATEWAY,
	    RW_OUTLIER_EJECT_CONSECUTIVE_LOCAL,
	};

	for (size_t i = 0; i < hosts->n; i++) {
		struct rw_host *h = hosts->hosts[i];
		struct rw_outlier_host *oh = h->od;
		uint32_t req;

		if (!oh)
			continue;
		req = atomic_exchange_explicit(&oh->eject_request, 0, memory_order_acquire);
		for (size_t k = 0; req && k < sizeof(kinds) / sizeof(kinds[0]); k++) {
			if (!(req & (1u << kinds[k])))
				continue;
			/* Reset so a further bout of N errors is caught even without a success
			 * in between (Envoy resets in onConsecutiveErrorWorker). */
			atomic_store_explicit(counter_of(oh, kinds[k]), 0, memory_order_relaxed);
			if (!is_ejected(h))
				eject(d, hosts->n, h, kinds[k], now_ms, ch);
		}
	}
}

static void uneject_due(struct rw_outlier_detector *d, struct rw_host_set *hosts, uint64_t now_ms,
                        struct rw_outlier_changes *ch)
{
	for (size_t i = 0; i < hosts->n; i++) {
		struct rw_host *h = hosts->hosts[i];
		struct rw_outlier_host *oh = h->od;

		if (!oh)
			continue;
		if (!is_ejected(h)) {
			/* Healthy at this check: the multiplier decays (Envoy). */
			if (oh->backoff)
				oh->backoff--;
			continue;
		}
		if (now_ms - oh->ejected_at_ms < rw_outlier_ejection_time_ms(d, oh))
			continue;
		atomic_fetch_and_explicit(&h->health, ~(uint32_t)RW_HOST_EJECTED,
		                          memory_order_relaxed);
		d->n_ejected--;
		/* So a counter left near its threshold does not re-eject on a single error. */
		atomic_store_explicit(&oh->consecutive_5xx, 0, memory_order_relaxed);
		atomic_store_explicit(&oh->consecutive_gateway, 0, memory_order_relaxed);
		atomic_store_explicit(&oh->consecutive_local, 0, memory_order_relaxed);
		ch->unejected++;
	}
}

/*
 * Success rate and failure percentage over one origin's counts of the interval that ended
 * (counts[i] = total << 32 | successes, per host of the set).
 */
static void evaluate(struct rw_outlier_detector *d, struct rw_host_set *hosts,
                     const uint64_t *counts, struct sr_sample *s, bool local, uint64_t now_ms,
                     struct rw_outlier_changes *ch)
{
	const struct rw_outlier_config *cfg = &d->cfg;
	uint64_t sr_volume =
	    cfg->success_rate_request_volume ? cfg->success_rate_request_volume : 1;
	uint64_t fp_volume =
	    cfg->failure_percentage_request_volume ? cfg->failure_percentage_request_volume : 1;
	size_t n_sr = 0, n_fp = 0, i;
	double sum = 0, mean, variance = 0, threshold;

	if (!local)
		d->success_rate_mean = d->success_rate_threshold = -1;
	if (hosts->n < cfg->success_rate_minimum_hosts &&
	    hosts->n < cfg->failure_percentage_minimum_hosts)
		return;
	for (i = 0; i < hosts->n; i++) {
		uint64_t total = counts[i] >> 32;

		s[i].sr_valid = s[i].fp_valid = false;
		if (!hosts->hosts[i]->od || is_ejected(hosts->hosts[i]) || !total)
			continue;
		s[i].rate = 100.0 * (double)(counts[i] & UINT32_MAX) / (double)total;
		if (total >= sr_volume) {
			s[i].sr_valid = true;
			sum += s[i].rate;
			n_sr++;
		}
		if (total >= fp_volume) {
			s[i].fp_valid = true;
			n_fp++;
		}
	}
	if (n_sr && n_sr >= cfg->success_rate_minimum_hosts) {
		mean = sum / (double)n_sr;
		for (i = 0; i < hosts->n; i++)
			if (s[i].sr_valid)
				variance += (s[i].rate - mean) * (s[i].rate - mean);
		variance /= (double)n_sr;
		threshold = mean - (double)cfg->success_rate_stdev_factor / 1000.0 * sqrt(variance);
		if (!local) {
			d->success_rate_mean = mean;
			d->success_rate_threshold = threshold;
		}
		for (i = 0; i < hosts->n; i++)
			if (s[i].sr_valid && s[i].rate < threshold && !is_ejected(hosts->hosts[i]))
				eject(d, hosts->n, hosts->hosts[i],
				      local ? RW_OUTLIER_EJECT_SUCCESS_RATE_LOCAL
				            : RW_OUTLIER_EJECT_SUCCESS_RATE,
				      now_ms, ch);
	}
	if (n_fp && n_fp >= cfg->failure_percentage_minimum_hosts)
		for (i = 0; i < hosts->n; i++)
			if (s[i].fp_valid &&
			    100.0 - s[i].rate >= cfg->failure_percentage_threshold &&
			    !is_ejected(hosts->hosts[i]))
				eject(d, hosts->n, hosts->hosts[i],
				      local ? RW_OUTLIER_EJECT_FAILURE_PERCENTAGE_LOCAL
				            : RW_OUTLIER_EJECT_FAILURE_PERCENTAGE,
				      now_ms, ch);
}

/* The interval ended: uneject, take every host's counts (starting the next interval), judge. */
static void interval(struct rw_outlier_detector *d, struct rw_host_set *hosts, uint64_t now_ms,
                     struct rw_outlier_changes *ch)
{
	uint64_t *ext = calloc(hosts->n ? hosts->n : 1, 2 * sizeof(*ext));
	struct sr_sample *s = calloc(hosts->n ? hosts->n : 1, sizeof(*s));
	uint64_t *loc = ext ? ext + hosts->n : NULL;

	uneject_due(d, hosts, now_ms, ch);
	for (size_t i = 0; i < hosts->n; i++) {
		struct rw_outlier_host *oh = hosts->hosts[i]->od;
		uint64_t e, l;

		if (!oh)
			continue;
		e = atomic_exchange_explicit(&oh->external, 0, memory_order_relaxed);
		l = atomic_exchange_explicit(&oh->local, 0, memory_order_relaxed);
		if (ext) {
			ext[i] = e;
			loc[i] = l;
		}
	}
	/* Out of memory: this interval is not judged; the next one will be. */
	if (ext && s) {
		evaluate(d, hosts, ext, s, false, now_ms, ch);
		if (d->cfg.split_external_local_origin_errors)
			evaluate(d, hosts, loc, s, true, now_ms, ch);
	}
	free(ext);
	free(s);
}

bool rw_outlier_tick(struct rw_outlier_detector *d, struct rw_host_set *hosts, uint64_t now_ms,
                     uint64_t random, struct rw_outlier_changes *out)
{
	struct rw_outlier_changes ch = {0};
	bool dirty;

	d->rng = random;
	d->n_ejected = 0;
	for (size_t i = 0; hosts && i < hosts->n; i++) {
		struct rw_host *h = hosts->hosts[i];

		if (!h->od) {
			struct rw_outlier_host *oh = calloc(1, sizeof(*oh));

			if (oh) {
				oh->det = d;
				atomic_store_explicit(&h->od, oh, memory_order_release);
			}
		}
		d->n_ejected += is_ejected(h);
	}
	/* Taken before the hosts' flags: a request raised after its host was scanned bumps
	 * dirty again and is handled next tick. */
	dirty = atomic_exchange_explicit(&d->dirty, 0, memory_order_acquire) != 0;
	if (hosts && dirty)
		handle_requests(d, hosts, now_ms, &ch);
	if (now_ms >= d->next_interval_ms) {
		if (hosts)
			interval(d, hosts, now_ms, &ch);
		d->next_interval_ms = now_ms + d->cfg.interval_ms;
	}
	if (out)
		*out = ch;
	return ch.ejected || ch.unejected;
}
