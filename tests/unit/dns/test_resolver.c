/*
 * Unit tests for dns/: the resolver thread and watches, against the in-process DNS server of
 * dns_server.c on 127.0.0.1 (never any other nameserver: no network is assumed).
 *
 * Covers every dns_lookup_family policy, NXDOMAIN/NODATA/SERVFAIL/timeouts, IP literals, the
 * hosts file, many threads resolving at once, watches (changes reported once, unchanged
 * answers not at all, TTL-driven refresh, failure backoff, unwatch from the callback and
 * from another thread) and destroy with lookups pending.  Leaks are left to ASan/valgrind.
 */
#include "dns/resolver.h"
#include "dns_server.h"

#include "tests/unit/check.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WAIT_MS 5000 /* generous: CI machines under sanitizers are slow */

static struct dns_server *server;
static pthread_t main_thread;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* What callbacks saw: the latest result and how many ran. */
struct waiter {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int calls;
	int status;
	struct rw_dns_address addrs[16];
	size_t count;
	uint32_t ttl_s;
	bool wrong_thread;
	/* watch tests */
	struct rw_dns_watch *watch;
	bool unwatch_in_callback;
	unsigned callback_sleep_ms;
	atomic_bool callback_finished;
};

static void waiter_init(struct waiter *w)
{
	memset(w, 0, sizeof(*w));
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
}

static void waiter_fini(struct waiter *w)
{
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
}

/* Touches the waiter only before its final unlock: the test may reuse it right after. */
static void on_result(void *ctx, const struct rw_dns_result *res)
{
	struct waiter *w = ctx;

	CHECK(res->message != NULL);
	CHECK(res->count == 0 || res->addresses != NULL);
	CHECK(res->status == 0 ? res->count > 0 : res->count == 0);
	pthread_mutex_lock(&w->lock);
	bool unwatch = w->unwatch_in_callback;
	unsigned sleep_for = w->callback_sleep_ms;
	pthread_mutex_unlock(&w->lock);
	if (sleep_for)
		sleep_ms(sleep_for);
	if (unwatch)
		rw_dns_unwatch(w->watch);

	pthread_mutex_lock(&w->lock);
	w->status = res->status;
	w->count = res->count < 16 ? res->count : 16;
	if (w->count)
		memcpy(w->addrs, res->addresses, w->count * sizeof(w->addrs[0]));
	w->ttl_s = res->ttl_s;
	if (pthread_equal(pthread_self(), main_thread))
		w->wrong_thread = true;
	atomic_store(&w->callback_finished, true);
	w->calls++;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

static void wait_calls(struct waiter *w, int calls)
{
	struct timespec deadline;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += WAIT_MS / 1000;
	pthread_mutex_lock(&w->lock);
	while (w->calls < calls)
		CHECK(pthread_cond_timedwait(&w->cond, &w->lock, &deadline) == 0);
	CHECK(!w->wrong_thread);
	pthread_mutex_unlock(&w->lock);
}

static int calls_of(struct waiter *w)
{
	int n;

	pthread_mutex_lock(&w->lock);
	n = w->calls;
	pthread_mutex_unlock(&w->lock);
	return n;
}

/* Is text:port (an IPv4 or IPv6 literal) among the waiter's addresses? */
static bool has_addr(struct waiter *w, const char *text, uint16_t port)
{
	struct rw_dns_address want = {0};

	if (inet_pton(AF_INET, text, &((struct sockaddr_in *)&want.addr)->sin_addr) == 1) {
		((struct sockaddr_in *)&want.addr)->sin_family = AF_INET;
		((struct sockaddr_in *)&want.addr)->sin_port = htons(port);
		want.len = sizeof(struct sockaddr_in);
	} else {
		CHECK(inet_pton(AF_INET6, text, &((struct sockaddr_in6 *)&want.addr)->sin6_addr) ==
		      1);
		((struct sockaddr_in6 *)&want.addr)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&want.addr)->sin6_port = htons(port);
		want.len = sizeof(struct sockaddr_in6);
	}
	for (size_t i = 0; i < w->count; i++)
		if (w->addrs[i].len == want.len &&
		    memcmp(&w->addrs[i].addr, &want.addr, want.len) == 0)
			return true;
	return false;
}

static struct rw_dns_resolver *make_resolver(uint32_t timeout_ms, uint32_t tries, bool hosts_env,
                                             bool no_hosts)
{
	static char server_name[32];
	static const char *servers[] = {server_name};
	struct rw_dns_options opt = {
	    .nameservers = servers,
	    .nameserver_count = 1,
	    .timeout_ms = timeout_ms,
	    .tries = tries,
	    .no_search = true,
	    .hosts_from_env = hosts_env,
	    .no_hosts_file = no_hosts,
	};
	struct rw_dns_resolver *r = NULL;

	snprintf(server_name, sizeof(server_name), "127.0.0.1:%u", dns_server_port(server));
	CHECK(rw_dns_resolver_create(&opt, &r) == 0);
	CHECK(r);
	return r;
}

/* Resolve and wait; the result is left in *w (initialised here). */
static void resolve(struct rw_dns_resolver *r, const char *name, uint16_t port,
                    enum rw_dns_family family, struct waiter *w)
{
	waiter_init(w);
	CHECK(rw_dns_resolve(r, name, port, family, on_result, w) == 0);
	wait_calls(w, 1);
	sleep_ms(0);
	CHECK(calls_of(w) == 1);
}

static void expect(struct rw_dns_resolver *r, const char *name, enum rw_dns_family family,
                   int status, size_t count, const char *first)
{
	struct waiter w;

	resolve(r, name, 80, family, &w);
	if (w.status != status || w.count != count)
		fprintf(stderr, "%s family %d: status %d count %zu, want %d %zu\n", name, family,
		        w.status, w.count, status, count);
	CHECK(w.status == status);
	CHECK(w.count == count);
	if (first) {
		struct waiter only = w;

		only.count = 1; /* the first address is the one named */
		CHECK(has_addr(&only, first, 80));
	}
	waiter_fini(&w);
}

static void test_families(void)
{
	struct rw_dns_resolver *r = make_resolver(1000, 2, false, false);
	struct waiter w;

	resolve(r, "v4.test", 8080, RW_DNS_V4_ONLY, &w);
	CHECK(w.status == 0 && w.count == 2);
	CHECK(has_addr(&w, "192.0.2.1", 8080) && has_addr(&w, "192.0.2.2", 8080));
	CHECK(w.ttl_s == 30); /* the smaller of 300 and 30 */
	waiter_fini(&w);

	expect(r, "v4.test", RW_DNS_V6_ONLY, -ENODATA, 0, NULL);
	expect(r, "v6.test", RW_DNS_V6_ONLY, 0, 1, "2001:db8::1");
	expect(r, "v6.test", RW_DNS_V4_ONLY, -ENODATA, 0, NULL);

	expect(r, "both.test", RW_DNS_V4_ONLY, 0, 1, "192.0.2.10");
	expect(r, "both.test", RW_DNS_V6_ONLY, 0, 1, "2001:db8::10");
	expect(r, "both.test", RW_DNS_AUTO, 0, 1, "2001:db8::10");
	expect(r, "both.test", RW_DNS_V4_PREFERRED, 0, 1, "192.0.2.10");
	expect(r, "both.test", RW_DNS_ALL, 0, 2, "2001:db8::10"); /* IPv6 first */

	/* Fallbacks: AUTO asks AAAA first, then A; V4_PREFERRED the other way round. */
	unsigned aaaa_before = dns_server_queries(server, "v4.test", DNS_TYPE_AAAA);
	expect(r, "v4.test", RW_DNS_AUTO, 0, 2, NULL);
	CHECK(dns_server_queries(server, "v4.test", DNS_TYPE_AAAA) == aaaa_before + 1);
	expect(r, "v6.test", RW_DNS_V4_PREFERRED, 0, 1, "2001:db8::1");
	expect(r, "v4.test", RW_DNS_ALL, 0, 2, NULL);

	expect(r, "empty.test", RW_DNS_ALL, -ENODATA, 0, NULL);
	expect(r, "empty.test", RW_DNS_AUTO, -ENODATA, 0, NULL);
	for (int f = RW_DNS_AUTO; f <= RW_DNS_ALL; f++)
		expect(r, "nx.test", (enum rw_dns_family)f, -ENOENT, 0, NULL);
	expect(r, "servfail.test", RW_DNS_V4_ONLY, -ECONNREFUSED, 0, NULL);
	/* Case does not matter, a trailing dot is allowed. */
	expect(r, "V4.Test.", RW_DNS_V4_ONLY, 0, 2, NULL);
	rw_dns_resolver_destroy(r);
}

static void test_literals_and_arguments(void)
{
	struct rw_dns_resolver *r = make_resolver(1000, 2, false, false);
	unsigned before = dns_server_queries(server, NULL, 0);
	char long_name[300];
	struct waiter w;

	resolve(r, "192.0.2.99", 443, RW_DNS_AUTO, &w);
	CHECK(w.status == 0 && w.count == 1 && has_addr(&w, "192.0.2.99", 443) && w.ttl_s == 0);
	waiter_fini(&w);
	expect(r, "192.0.2.99", RW_DNS_V4_ONLY, 0, 1, "192.0.2.99");
	expect(r, "192.0.2.99", RW_DNS_ALL, 0, 1, "192.0.2.99");
	expect(r, "192.0.2.99", RW_DNS_V6_ONLY, -ENODATA, 0, NULL);
	expect(r, "2001:db8::99", RW_DNS_V6_ONLY, 0, 1, "2001:db8::99");
	expect(r, "2001:db8::99", RW_DNS_AUTO, 0, 1, "2001:db8::99");
	expect(r, "2001:db8::99", RW_DNS_V4_ONLY, -ENODATA, 0, NULL);
	CHECK(dns_server_queries(server, NULL, 0) == before);

	/* Refused up front: the callback never runs. */
	waiter_init(&w);
	CHECK(rw_dns_resolve(r, "", 80, RW_DNS_AUTO, on_result, &w) == -EINVAL);
	CHECK(rw_dns_resolve(r, NULL, 80, RW_DNS_AUTO, on_result, &w) == -EINVAL);
	CHECK(rw_dns_resolve(r, "a.test", 80, (enum rw_dns_family)42, on_result, &w) == -EINVAL);
	CHECK(rw_dns_resolve(r, "a.test", 80, RW_DNS_AUTO, NULL, &w) == -EINVAL);
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	CHECK(rw_dns_resolve(r, long_name, 80, RW_DNS_AUTO, on_result, &w) == -EINVAL);
	CHECK(rw_dns_watch(r, "", 80, RW_DNS_AUTO, NULL, on_result, &w, &w.watch) == -EINVAL);
	sleep_ms(50);
	CHECK(calls_of(&w) == 0);
	waiter_fini(&w);
	rw_dns_resolver_destroy(r);

	/* A nameserver c-ares cannot parse fails creation. */
	static const char *bad[] = {"not an address"};
	struct rw_dns_options opt = {.nameservers = bad, .nameserver_count = 1};
	r = NULL;
	CHECK(rw_dns_resolver_create(&opt, &r) < 0 && r == NULL);
}

static void test_timeouts(void)
{
	struct rw_dns_resolver *r = make_resolver(100, 2, false, false);
	uint64_t start = now_ms();
	struct waiter w;
	int fd;

	dns_server_drop(server, true);
	resolve(r, "v4.test", 80, RW_DNS_V4_ONLY, &w);
	CHECK(w.status == -ETIMEDOUT && w.count == 0);
	CHECK(now_ms() - start < 3000);
	waiter_fini(&w);
	dns_server_drop(server, false);
	rw_dns_resolver_destroy(r);

	/* A port nobody listens on: refused (ICMP) or, without ICMP, a timeout. */
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sin);
	char dead[32];
	const char *servers[] = {dead};
	struct rw_dns_options opt = {
	    .nameservers = servers, .nameserver_count = 1, .timeout_ms = 100, .tries = 1};

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0);
	CHECK(getsockname(fd, (struct sockaddr *)&sin, &len) == 0);
	close(fd);
	snprintf(dead, sizeof(dead), "127.0.0.1:%u", ntohs(sin.sin_port));
	CHECK(rw_dns_resolver_create(&opt, &r) == 0);
	resolve(r, "v4.test", 80, RW_DNS_V4_ONLY, &w);
	CHECK(w.status == -ECONNREFUSED || w.status == -ETIMEDOUT);
	waiter_fini(&w);
	rw_dns_resolver_destroy(r);
}

static void test_hosts_file(void)
{
	struct rw_dns_resolver *r = make_resolver(1000, 2, false, false);

	/* localhost names are loopback without a query (RFC 6761), whatever the options. */
	expect(r, "localhost", RW_DNS_V4_ONLY, 0, 1, "127.0.0.1");
	expect(r, "localhost", RW_DNS_V6_ONLY, 0, 1, "::1");
	expect(r, "LocalHost.", RW_DNS_AUTO, 0, 1, "::1");
	expect(r, "db.localhost", RW_DNS_V4_PREFERRED, 0, 1, "127.0.0.1");
	expect(r, "localhost", RW_DNS_ALL, 0, 2, "::1");
	expect(r, "notlocalhost", RW_DNS_V4_ONLY, -ENOENT, 0, NULL);
	CHECK(dns_server_queries(server, "localhost", 0) == 0);
	CHECK(dns_server_queries(server, "db.localhost", 0) == 0);
	rw_dns_resolver_destroy(r);

	/* DNS only: a name the hosts file has goes to the server, which does not know it. */
	r = make_resolver(1000, 2, true, true);
	expect(r, "custom.hosts.test", RW_DNS_V4_ONLY, -ENOENT, 0, NULL);
	CHECK(dns_server_queries(server, "custom.hosts.test", DNS_TYPE_A) == 1);
	rw_dns_resolver_destroy(r);

	/* CARES_HOSTS (set in main) replaces the system file. */
	r = make_resolver(1000, 2, true, false);
	expect(r, "custom.hosts.test", RW_DNS_V4_ONLY, 0, 1, "192.0.2.77");
	expect(r, "custom.hosts.test", RW_DNS_V6_ONLY, 0, 1, "2001:db8::77");
	expect(r, "custom.hosts.test", RW_DNS_ALL, 0, 2, "2001:db8::77");
	CHECK(dns_server_queries(server, "custom.hosts.test", 0) == 1); /* only the one above */
	/* Not in the file for AAAA: asked of DNS (NXDOMAIN), then A from the file. */
	expect(r, "only4.hosts.test", RW_DNS_AUTO, 0, 1, "192.0.2.78");
	CHECK(dns_server_queries(server, "only4.hosts.test", DNS_TYPE_AAAA) == 1);
	CHECK(dns_server_queries(server, "only4.hosts.test", DNS_TYPE_A) == 0);
	rw_dns_resolver_destroy(r);
}

#define THREADS        4
#define PER_THREAD     100
#define TOTAL_REQUESTS (THREADS * PER_THREAD)

struct burst {
	struct rw_dns_resolver *r;
	struct waiter *w;
	unsigned index;
};

static void *burst_main(void *arg)
{
	struct burst *b = arg;
	static const char *names[] = {"v4.test", "both.test", "192.0.2.5", "nx.test"};

	for (unsigned i = 0; i < PER_THREAD; i++)
		CHECK(rw_dns_resolve(b->r, names[(i + b->index) % 4], 80, RW_DNS_V4_ONLY, on_result,
		                     b->w) == 0);
	return NULL;
}

static void test_many_threads(void)
{
	struct rw_dns_resolver *r = make_resolver(1000, 3, false, false);
	struct burst bursts[THREADS];
	pthread_t threads[THREADS];
	struct waiter w;

	waiter_init(&w);
	for (unsigned i = 0; i < THREADS; i++) {
		bursts[i] = (struct burst){.r = r, .w = &w, .index = i};
		CHECK(pthread_create(&threads[i], NULL, burst_main, &bursts[i]) == 0);
	}
	for (unsigned i = 0; i < THREADS; i++)
		pthread_join(threads[i], NULL);
	wait_calls(&w, TOTAL_REQUESTS);
	sleep_ms(20);
	CHECK(calls_of(&w) == TOTAL_REQUESTS);
	rw_dns_resolver_destroy(r);
	waiter_fini(&w);
}

static void set_watched(const char *a, const char *b)
{
	dns_server_set(server, "w.test");
	if (a)
		dns_server_add(server, "w.test", a, 300);
	if (b)
		dns_server_add(server, "w.test", b, 300);
}

static void test_watch_changes(void)
{
	struct rw_dns_resolver *r = make_resolver(100, 1, false, false);
	struct rw_dns_watch_options opt = {.refresh_ms = 100};
	unsigned queries;
	struct waiter w;

	set_watched("192.0.2.21", NULL);
	waiter_init(&w);
	CHECK(rw_dns_watch(r, "w.test", 9000, RW_DNS_V4_ONLY, &opt, on_result, &w, &w.watch) == 0);
	wait_calls(&w, 1);
	CHECK(w.status == 0 && w.count == 1 && has_addr(&w, "192.0.2.21", 9000));

	/* Refreshes keep going, but an unchanged answer is not reported. */
	queries = dns_server_queries(server, "w.test", DNS_TYPE_A);
	sleep_ms(450);
	CHECK(dns_server_queries(server, "w.test", DNS_TYPE_A) >= queries + 2);
	CHECK(calls_of(&w) == 1);

	/* A change is reported once, sorted. */
	set_watched("192.0.2.22", "192.0.2.21");
	wait_calls(&w, 2);
	CHECK(w.status == 0 && w.count == 2);
	CHECK(has_addr(&w, "192.0.2.21", 9000) && has_addr(&w, "192.0.2.22", 9000));
	CHECK(memcmp(&((struct sockaddr_in *)&w.addrs[0].addr)->sin_addr,
	             &((struct sockaddr_in *)&w.addrs[1].addr)->sin_addr, 4) < 0);

	/* The same set in another order (or with a duplicate) is no change. */
	set_watched("192.0.2.21", "192.0.2.22");
	dns_server_add(server, "w.test", "192.0.2.22", 300);
	sleep_ms(350);
	CHECK(calls_of(&w) == 2);

	/* NXDOMAIN is an answer: the set is now empty. */
	dns_server_remove(server, "w.test");
	wait_calls(&w, 3);
	CHECK(w.status == -ENOENT && w.count == 0);

	/* Timeouts are not: the last set stays and nothing is reported. */
	set_watched("192.0.2.23", NULL);
	wait_calls(&w, 4);
	CHECK(w.status == 0 && has_addr(&w, "192.0.2.23", 9000));
	dns_server_drop(server, true);
	queries = dns_server_queries(server, "w.test", DNS_TYPE_A);
	sleep_ms(500);
	CHECK(dns_server_queries(server, "w.test", DNS_TYPE_A) > queries);
	dns_server_drop(server, false);
	sleep_ms(300);
	CHECK(calls_of(&w) == 4);

	rw_dns_unwatch(w.watch);
	rw_dns_resolver_destroy(r);
	waiter_fini(&w);
}

static void test_watch_ttl(void)
{
	struct rw_dns_resolver *r = make_resolver(500, 2, false, false);
	struct rw_dns_watch_options ttl_opt = {
	    .refresh_ms = 60000, .respect_ttl = true, .min_refresh_ms = 200};
	struct rw_dns_watch_options plain_opt = {.refresh_ms = 60000};
	struct waiter ttl, plain, zero;
	uint64_t changed_at;

	dns_server_set(server, "ttl.test");
	dns_server_add(server, "ttl.test", "192.0.2.30", 1);
	dns_server_set(server, "plain.test");
	dns_server_add(server, "plain.test", "192.0.2.31", 1);
	dns_server_set(server, "ttl0.test");
	dns_server_add(server, "ttl0.test", "192.0.2.32", 0);
	waiter_init(&ttl);
	waiter_init(&plain);
	waiter_init(&zero);
	CHECK(rw_dns_watch(r, "ttl.test", 1, RW_DNS_V4_ONLY, &ttl_opt, on_result, &ttl,
	                   &ttl.watch) == 0);
	CHECK(rw_dns_watch(r, "plain.test", 1, RW_DNS_V4_ONLY, &plain_opt, on_result, &plain,
	                   &plain.watch) == 0);
	CHECK(rw_dns_watch(r, "ttl0.test", 1, RW_DNS_V4_ONLY, &ttl_opt, on_result, &zero,
	                   &zero.watch) == 0);
	wait_calls(&ttl, 1);
	wait_calls(&plain, 1);
	wait_calls(&zero, 1);
	CHECK(ttl.ttl_s == 1 && zero.ttl_s == 0);

	dns_server_set(server, "ttl.test");
	dns_server_add(server, "ttl.test", "192.0.2.40", 1);
	changed_at = now_ms();
	wait_calls(&ttl, 2); /* at the 1 s TTL, not the 60 s refresh rate */
	CHECK(now_ms() - changed_at < 3000);
	CHECK(has_addr(&ttl, "192.0.2.40", 1));
	sleep_ms(300);
	/* Without respect_ttl, or with TTL 0, the 60 s refresh rate rules. */
	CHECK(dns_server_queries(server, "plain.test", DNS_TYPE_A) == 1);
	CHECK(dns_server_queries(server, "ttl0.test", DNS_TYPE_A) == 1);
	CHECK(calls_of(&plain) == 1 && calls_of(&zero) == 1);

	rw_dns_unwatch(ttl.watch);
	rw_dns_unwatch(plain.watch);
	rw_dns_unwatch(zero.watch);
	rw_dns_resolver_destroy(r);
	waiter_fini(&ttl);
	waiter_fini(&plain);
	waiter_fini(&zero);
}

static void test_watch_failures(void)
{
	struct rw_dns_resolver *r = make_resolver(500, 2, false, false);
	struct rw_dns_watch_options opt = {
	    .refresh_ms = 60000, .failure_base_ms = 50, .failure_max_ms = 200};
	unsigned queries;
	struct waiter w;

	dns_server_set(server, "flaky.test");
	dns_server_set_rcode(server, "flaky.test", 2);
	waiter_init(&w);
	CHECK(rw_dns_watch(r, "flaky.test", 53, RW_DNS_V4_ONLY, &opt, on_result, &w, &w.watch) ==
	      0);
	wait_calls(&w, 1); /* the first completion is reported even when it failed */
	CHECK(w.status == -ECONNREFUSED && w.count == 0);
	sleep_ms(800);
	/* Backoff 50..200 ms, not the 60 s refresh rate; and failures are not reported. */
	queries = dns_server_queries(server, "flaky.test", DNS_TYPE_A);
	CHECK(queries >= 4 && queries <= 20);
	CHECK(calls_of(&w) == 1);

	dns_server_set(server, "flaky.test");
	dns_server_add(server, "flaky.test", "192.0.2.50", 60);
	wait_calls(&w, 2);
	CHECK(w.status == 0 && has_addr(&w, "192.0.2.50", 53));
	/* After an answer the refresh rate is back: no more queries. */
	queries = dns_server_queries(server, "flaky.test", DNS_TYPE_A);
	sleep_ms(300);
	CHECK(dns_server_queries(server, "flaky.test", DNS_TYPE_A) == queries);
	rw_dns_unwatch(w.watch);
	rw_dns_resolver_destroy(r);
	waiter_fini(&w);
}

static void test_unwatch(void)
{
	struct rw_dns_resolver *r = make_resolver(500, 2, false, false);
	struct rw_dns_watch_options opt = {.refresh_ms = 50};
	unsigned queries;
	struct waiter w, self, slow, never;

	/* From the caller's thread: no callback after it returns, refreshes stop. */
	set_watched("192.0.2.60", NULL);
	waiter_init(&w);
	CHECK(rw_dns_watch(r, "w.test", 1, RW_DNS_V4_ONLY, &opt, on_result, &w, &w.watch) == 0);
	wait_calls(&w, 1);
	rw_dns_unwatch(w.watch);
	queries = dns_server_queries(server, "w.test", DNS_TYPE_A);
	set_watched("192.0.2.61", NULL);
	sleep_ms(300);
	CHECK(calls_of(&w) == 1);
	CHECK(dns_server_queries(server, "w.test", DNS_TYPE_A) <= queries + 1);

	/* From its own callback. */
	waiter_init(&self);
	self.unwatch_in_callback = true;
	CHECK(rw_dns_watch(r, "w.test", 1, RW_DNS_V4_ONLY, &opt, on_result, &self, &self.watch) ==
	      0);
	wait_calls(&self, 1);
	set_watched("192.0.2.62", NULL);
	sleep_ms(300);
	CHECK(calls_of(&self) == 1);

	/* From another thread while the callback runs: waits for it to return. */
	waiter_init(&slow);
	slow.callback_sleep_ms = 300;
	CHECK(rw_dns_watch(r, "w.test", 1, RW_DNS_V4_ONLY, &opt, on_result, &slow, &slow.watch) ==
	      0);
	while (dns_server_queries(server, "w.test", DNS_TYPE_A) == queries)
		sleep_ms(1);
	sleep_ms(100); /* the answer is back, the callback is sleeping */
	rw_dns_unwatch(slow.watch);
	CHECK(atomic_load(&slow.callback_finished));
	CHECK(calls_of(&slow) == 1);

	/* Before the first answer (held back by the server): never called, and the refresh
	 * still on the wire frees the watch when it completes. */
	waiter_init(&never);
	dns_server_drop(server, true);
	queries = dns_server_queries(server, "w.test", DNS_TYPE_A);
	CHECK(rw_dns_watch(r, "w.test", 1, RW_DNS_V4_ONLY, &opt, on_result, &never, &never.watch) ==
	      0);
	while (dns_server_queries(server, "w.test", DNS_TYPE_A) == queries)
		sleep_ms(1);
	rw_dns_unwatch(never.watch);
	dns_server_drop(server, false);
	sleep_ms(700); /* c-ares retries after 500 ms and gets its answer */
	CHECK(calls_of(&never) == 0);

	rw_dns_resolver_destroy(r);
	waiter_fini(&w);
	waiter_fini(&self);
	waiter_fini(&slow);
	waiter_fini(&never);
}

static void test_destroy_pending(void)
{
	struct rw_dns_resolver *r = make_resolver(5000, 3, false, false);
	struct rw_dns_watch *watch = NULL;
	struct waiter w, watched;
	uint64_t start;

	waiter_init(&w);
	waiter_init(&watched);
	dns_server_drop(server, true);
	for (int i = 0; i < 10; i++)
		CHECK(rw_dns_resolve(r, "v4.test", 80, (enum rw_dns_family)(i % 5), on_result,
		                     &w) == 0);
	CHECK(rw_dns_watch(r, "both.test", 80, RW_DNS_ALL, NULL, on_result, &watched, &watch) == 0);
	while (dns_server_queries(server, NULL, 0) == 0)
		sleep_ms(1);
	/* Some on the wire, these maybe still queued: every one completes once, cancelled. */
	for (int i = 0; i < 10; i++)
		CHECK(rw_dns_resolve(r, "both.test", 80, RW_DNS_AUTO, on_result, &w) == 0);
	start = now_ms();
	rw_dns_resolver_destroy(r);
	CHECK(now_ms() - start < 1000);
	CHECK(calls_of(&w) == 20 && w.status == -ECANCELED);
	CHECK(calls_of(&watched) == 0);
	dns_server_drop(server, false);
	waiter_fini(&w);
	waiter_fini(&watched);
}

static void run(const char *name, void (*test)(void))
{
	uint64_t start = now_ms();

	test();
	printf("ok %-28s %4u ms\n", name, (unsigned)(now_ms() - start));
	fflush(stdout);
}

int main(void)
{
	char hosts_path[] = "/tmp/rw-dns-hosts-XXXXXX";
	int fd = mkstemp(hosts_path);
	static const char hosts[] = "192.0.2.77 custom.hosts.test\n2001:db8::77 custom.hosts.test\n"
				    "192.0.2.78 only4.hosts.test\n";

	/* Before any thread exists: setenv() is not thread-safe. */
	CHECK(fd >= 0 && write(fd, hosts, sizeof(hosts) - 1) == (ssize_t)(sizeof(hosts) - 1));
	close(fd);
	CHECK(setenv("CARES_HOSTS", hosts_path, 1) == 0);
	main_thread = pthread_self();

	server = dns_server_start();
	dns_server_set(server, "v4.test");
	dns_server_add(server, "v4.test", "192.0.2.1", 300);
	dns_server_add(server, "v4.test", "192.0.2.2", 30);
	dns_server_set(server, "v6.test");
	dns_server_add(server, "v6.test", "2001:db8::1", 300);
	dns_server_set(server, "both.test");
	dns_server_add(server, "both.test", "192.0.2.10", 300);
	dns_server_add(server, "both.test", "2001:db8::10", 300);
	dns_server_set(server, "empty.test");
	dns_server_set(server, "servfail.test");
	dns_server_set_rcode(server, "servfail.test", 2);

	run("families", test_families);
	run("literals_and_arguments", test_literals_and_arguments);
	run("timeouts", test_timeouts);
	run("hosts_file", test_hosts_file);
	run("many_threads", test_many_threads);
	run("watch_changes", test_watch_changes);
	run("watch_ttl", test_watch_ttl);
	run("watch_failures", test_watch_failures);
	run("unwatch", test_unwatch);
	run("destroy_pending", test_destroy_pending);

	dns_server_stop(server);
	unlink(hosts_path);
	return 0;
}
