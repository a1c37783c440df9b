/*
 * Periodic re-resolution for STRICT_DNS / LOGICAL_DNS clusters, with Envoy's refresh rules:
 * dns_refresh_rate, respect_dns_ttl floored by dns_min_refresh_rate, and
 * dns_failure_refresh_rate's jittered exponential backoff.  Refresh timers live on a timer
 * wheel that the resolver thread advances; the owner hears only about changed address sets.
 *
 * Lifetime: rw_dns_unwatch() marks the watch cancelled under the lock (so no callback starts
 * after it returns) and queues it; the thread detaches it and frees it, or, when a refresh is
 * on the wire, lets that refresh's completion free it.
 */
#include "dns/internal.h"

#include "core/log.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_REFRESH_MS     5000u
#define DEFAULT_MIN_REFRESH_MS 5000u
#define MAX_BACKOFF_SHIFT      20u

static void free_watch(struct rw_dns_watch *w)
{
	free(w->lookup.addrs);
	free(w->set);
	free(w);
}

static int compare_address(const void *a, const void *b)
{
	const struct rw_dns_address *x = a, *y = b;

	if (x->len != y->len)
		return x->len < y->len ? -1 : 1; /* IPv4 before IPv6 */
	return memcmp(&x->addr, &y->addr, x->len);
}

/* Sort and drop duplicates (a name can list an address twice, or under two CNAMEs). */
static size_t normalize(struct rw_dns_address *a, size_t n)
{
	size_t i, out = 0;

	if (n < 2)
		return n;
	qsort(a, n, sizeof(*a), compare_address);
	for (i = 1; i < n; i++)
		if (compare_address(&a[out], &a[i]) != 0)
			a[++out] = a[i];
	return out + 1;
}

static bool same_set(const struct rw_dns_watch *w, const struct rw__dns_lookup *l)
{
	size_t i;

	if (w->set_count != l->count)
		return false;
	for (i = 0; i < l->count; i++)
		if (compare_address(&w->set[i], &l->addrs[i]) != 0)
			return false;
	return true;
}

static bool store_set(struct rw_dns_watch *w, const struct rw__dns_lookup *l)
{
	if (l->count > w->set_count || !w->set) {
		struct rw_dns_address *grown = realloc(w->set, (l->count + 1) * sizeof(*grown));

		if (!grown)
			return false;
		w->set = grown;
	}
	if (l->count)
		memcpy(w->set, l->addrs, l->count * sizeof(*w->set));
	w->set_count = l->count;
	return true;
}

static uint64_t next_random(struct rw_dns_resolver *r)
{
	r->rng ^= r->rng >> 12;
	r->rng ^= r->rng << 25;
	r->rng ^= r->rng >> 27;
	return r->rng * UINT64_C(2685821657736338717);
}

/* Uniform in [base, min(base * 2^failures, max)]: spread, but never sooner than base. */
static uint64_t failure_delay(struct rw_dns_watch *w)
{
	uint64_t base = w->opt.failure_base_ms, interval;
	unsigned shift = w->failures < MAX_BACKOFF_SHIFT ? w->failures : MAX_BACKOFF_SHIFT;

	if (!base)
		return w->opt.refresh_ms;
	w->failures++;
	interval = base << shift;
	if (interval > w->opt.failure_max_ms)
		interval = w->opt.failure_max_ms;
	if (interval <= base)
		return base;
	return base + next_random(w->r) % (interval - base + 1);
}

static uint64_t answer_delay(struct rw_dns_watch *w, uint32_t ttl_s)
{
	uint64_t ttl_ms = (uint64_t)ttl_s * 1000u;

	w->failures = 0;
	/* A TTL of 0 (literal, hosts file, or a record asking not to be cached) falls back to
	 * the refresh rate, as in Envoy. */
	if (!w->opt.respect_ttl || ttl_s == 0)
		return w->opt.refresh_ms;
	return ttl_ms < w->opt.min_refresh_ms ? w->opt.min_refresh_ms : ttl_ms;
}

/* The callback protocol rw_dns_unwatch() relies on: never start one for a cancelled watch,
 * and publish which watch is in its callback. */
static void report(struct rw_dns_watch *w, const struct rw_dns_result *res)
{
	struct rw_dns_resolver *r = w->r;

	pthread_mutex_lock(&r->lock);
	if (w->cancelled) {
		pthread_mutex_unlock(&r->lock);
		return;
	}
	r->in_callback = w;
	pthread_mutex_unlock(&r->lock);

	w->cb(w->ctx, res);

	pthread_mutex_lock(&r->lock);
	r->in_callback = NULL;
	pthread_cond_broadcast(&r->callback_done);
	pthread_mutex_unlock(&r->lock);
}

static void refresh(struct rw_timer *t, void *arg)
{
	struct rw_dns_watch *w = arg;

	(void)t;
	w->in_flight = true;
	rw__dns_lookup_start(&w->lookup);
}

static void watch_lookup_done(struct rw__dns_lookup *l)
{
	struct rw_dns_watch *w = l->watch;
	struct rw_dns_resolver *r = w->r;
	struct rw_dns_result res = {.status = l->error, .message = l->message, .ttl_s = l->ttl_s};
	bool answer, changed;

	w->in_flight = false;
	if (w->removed) {
		free_watch(w);
		return;
	}
	if (r->shutting_down)
		return;
	res.count = l->count = normalize(l->addrs, l->count);
	res.addresses = l->addrs;
	answer = rw_dns_result_is_answer(&res);
	rw_log_debug("dns", "'%s': lookup done: %s (%zu addresses)", w->name, res.message,
	             res.count);
	if (answer && w->failing)
		rw_log_info("dns", "'%s' resolves again", w->name);
	if (!answer && w->reported && !w->failing)
		rw_log_warn("dns",
		            "'%s': %s; keeping the last %zu addresses until it resolves again",
		            w->name, res.message, w->set_count);
	w->failing = !answer;
	rw_timer_add(&r->wheel, &w->timer, answer ? answer_delay(w, l->ttl_s) : failure_delay(w),
	             refresh, w);
	if (answer)
		changed = !w->reported || !same_set(w, l);
	else
		changed = !w->reported; /* the first completion is reported whatever it is */
	if (!changed)
		return;
	if (answer && !store_set(w, l)) {
		rw_log_warn("dns", "%s: out of memory, address change not reported yet", w->name);
		return;
	}
	if (!answer)
		w->set_count = 0;
	w->reported = true;
	/* Last: the callback may unwatch, after which w is only valid until the next drain. */
	report(w, &res);
}

void rw__dns_watch_attach(struct rw_dns_watch *w)
{
	struct rw_dns_resolver *r = w->r;

	w->prev = NULL;
	w->next = r->watches;
	if (r->watches)
		r->watches->prev = w;
	r->watches = w;
	rw_timer_add(&r->wheel, &w->timer, 0, refresh, w);
}

void rw__dns_watch_detach(struct rw_dns_watch *w)
{
	struct rw_dns_resolver *r = w->r;

	if (w->prev)
		w->prev->next = w->next;
	else
		r->watches = w->next;
	if (w->next)
		w->next->prev = w->prev;
	rw_timer_del(&r->wheel, &w->timer);
	w->removed = true;
	if (!w->in_flight)
		free_watch(w); /* else watch_lookup_done() frees it */
}

void rw__dns_watch_free_all(struct rw_dns_resolver *r)
{
	struct rw_dns_watch *w, *next;

	for (w = r->watches; w; w = next) {
		next = w->next;
		free_watch(w);
	}
	r->watches = NULL;
}

int rw_dns_watch(struct rw_dns_resolver *r, const char *name, uint16_t port,
                 enum rw_dns_family family, const struct rw_dns_watch_options *opt, rw_dns_cb cb,
                 void *ctx, struct rw_dns_watch **out)
{
	static const struct rw_dns_watch_options defaults;
	struct rw_dns_watch *w;
	size_t len;
	bool was_empty;

	if (!out || !rw__dns_valid_request(r, name, family, cb))
		return -EINVAL;
	len = strlen(name);
	if (!opt)
		opt = &defaults;
	w = calloc(1, sizeof(*w) + len + 1);
	if (!w)
		return -ENOMEM;
	memcpy(w->name, name, len + 1);
	w->r = r;
	w->cb = cb;
	w->ctx = ctx;
	w->opt = *opt;
	if (!w->opt.refresh_ms)
		w->opt.refresh_ms = DEFAULT_REFRESH_MS;
	if (!w->opt.min_refresh_ms)
		w->opt.min_refresh_ms = DEFAULT_MIN_REFRESH_MS;
	if (w->opt.failure_base_ms && !w->opt.failure_max_ms)
		w->opt.failure_max_ms = w->opt.failure_base_ms * 10u;
	w->lookup.r = r;
	w->lookup.name = w->name;
	w->lookup.port = port;
	w->lookup.family = family;
	w->lookup.done = watch_lookup_done;
	w->lookup.watch = w;

	/* Before publishing: the first callback may want to unwatch through *out. */
	*out = w;
	pthread_mutex_lock(&r->lock);
	if (r->stopping) {
		pthread_mutex_unlock(&r->lock);
		free(w);
		*out = NULL;
		return -ECANCELED;
	}
	was_empty = rw__dns_inbox_empty(r);
	w->add_next = r->watch_adds;
	r->watch_adds = w;
	pthread_mutex_unlock(&r->lock);
	if (was_empty)
		rw__dns_wake(r);
	return 0;
}

void rw_dns_unwatch(struct rw_dns_watch *w)
{
	struct rw_dns_resolver *r;
	bool on_thread, was_empty = false;

	if (!w)
		return;
	r = w->r;
	on_thread = rw__dns_on_thread(r);
	pthread_mutex_lock(&r->lock);
	if (!w->cancelled) {
		w->cancelled = true;
		was_empty = rw__dns_inbox_empty(r);
		w->dead_next = r->watch_dead;
		r->watch_dead = w;
	}
	while (!on_thread && r->in_callback == w)
		pthread_cond_wait(&r->callback_done, &r->lock);
	pthread_mutex_unlock(&r->lock);
	if (was_empty)
		rw__dns_wake(r);
}
