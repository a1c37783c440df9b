/*
 * Host-set snapshots (lb/host_set.c), epoch reclamation (lb/epoch.c) and round robin over a
 * changing set: unchanged addresses keep their host object, refcounts return to zero, a pick
 * never returns a host outside the current or previous snapshot, and concurrent pickers
 * against a rapid publisher leave nothing unreclaimed (run under -DRW_TSAN=ON too).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb/cluster.h"
#include "lb/epoch.h"
#include "tests/unit/check.h"

/* A pick the way the proxy makes it (no balancer configured: plain round robin). */
static struct rw_host *pick(struct rw_cluster *c)
{
	struct rw_lb_pick_ctx ctx = {0};

	return rw_cluster_pick(c, &ctx);
}

static struct rw_lb_address addr4(unsigned last, unsigned port)
{
	struct rw_lb_address a;
	struct sockaddr_in *in = (struct sockaddr_in *)&a.addr;

	memset(&a, 0, sizeof(a));
	in->sin_family = AF_INET;
	in->sin_port = htons((uint16_t)port);
	in->sin_addr.s_addr = htonl(0x7f000000u | last);
	a.len = sizeof(*in);
	return a;
}

static unsigned last_octet(const struct rw_host *h)
{
	return ntohl(((const struct sockaddr_in *)&h->addr)->sin_addr.s_addr) & 0xff;
}

static void test_build_keeps_unchanged_hosts(void)
{
	struct rw_lb_address a[3] = {addr4(1, 80), addr4(2, 80), addr4(2, 80)};
	struct rw_lb_address b[2] = {addr4(2, 80), addr4(3, 80)};
	struct rw_host_set *s1, *s2;
	struct rw_host *kept;
	char buf[128];

	CHECK(rw_host_set_build(NULL, a, 3, &s1) == 0);
	CHECK(s1->n == 3);
	CHECK(s1->hosts[1] != s1->hosts[2]); /* duplicates stay separate hosts */
	CHECK(!strcmp(s1->hosts[0]->name, "127.0.0.1:80"));
	CHECK(!strcmp(rw_host_set_format(s1, buf, sizeof(buf)),
	              "127.0.0.1:80, 127.0.0.2:80, 127.0.0.2:80"));
	atomic_store(&s1->hosts[1]->cx_total, 7);
	CHECK(rw_host_set_build(s1, b, 2, &s2) == 0);
	CHECK(s2->hosts[0] == s1->hosts[1]); /* same object, counters kept */
	CHECK(atomic_load(&s2->hosts[0]->cx_total) == 7);
	CHECK(last_octet(s2->hosts[1]) == 3);
	CHECK(!rw_host_set_equal(s1, s2));
	CHECK(atomic_load(&s2->hosts[0]->refs) == 2);
	kept = s1->hosts[0];
	rw_host_ref(kept); /* a session on a host about to be removed */
	rw_host_set_free(s1);
	CHECK(atomic_load(&s2->hosts[0]->refs) == 1);
	CHECK(atomic_load(&kept->refs) == 1 && last_octet(kept) == 1);
	rw_host_unref(kept);
	CHECK(!strcmp(rw_host_set_format(NULL, buf, sizeof(buf)), "none"));
	CHECK(!strcmp(rw_host_set_format(s2, buf, 12), "127.0.0...."));
	rw_host_set_free(s2);
}

static void test_round_robin_over_changing_sets(void)
{
	static char name[] = "c";
	struct rw_cluster c;
	struct rw_host *prev[4], *h, *held[64];
	struct rw_lb_address a[4];
	struct rw_host_set *cur, *old;
	size_t n_prev = 0, n_held = 0, i, k;
	int round;

	memset(&c, 0, sizeof(c));
	c.name = name;
	CHECK(pick(&c) == NULL);
	for (round = 0; round < 16; round++) {
		size_t n = (size_t)(round % 4) + 1;

		for (i = 0; i < n; i++)
			a[i] = addr4((unsigned)(round + (int)i) % 6 + 1, 80);
		/* Remember (and pin) the outgoing snapshot's hosts to check membership. */
		for (i = 0; i < n_prev; i++)
			rw_host_unref(prev[i]);
		old = rw_cluster_hosts_writer(&c);
		n_prev = old ? old->n : 0;
		for (i = 0; i < n_prev; i++) {
			prev[i] = old->hosts[i];
			rw_host_ref(prev[i]);
		}
		CHECK(rw_host_set_build(old, a, n, &cur) == 0);
		rw_cluster_publish(&c, cur);
		for (k = 0; k < 3 * n; k++) {
			bool found = false;

			h = pick(&c);
			CHECK(h);
			for (i = 0; i < cur->n; i++)
				found |= cur->hosts[i] == h;
			for (i = 0; i < n_prev; i++)
				found |= prev[i] == h;
			CHECK(found);
			if (n_held < 64)
				held[n_held++] = h;
			else
				rw_host_unref(h);
		}
	}
	for (i = 0; i < n_prev; i++)
		rw_host_unref(prev[i]);
	rw_cluster_release_hosts(&c);
	CHECK(rw_lb_reclaim(false) == 0);
	/* Sessions outlive their hosts' sets; dropping the last refs frees them (ASan). */
	for (i = 0; i < n_held; i++)
		rw_host_unref(held[i]);
}

/* ---- concurrency: pickers against a rapid publisher ---- */

#define PICKERS   3
#define PUBLISHES 20000

static struct rw_cluster shared;
static atomic_bool stop_picking;

static void *picker(void *arg)
{
	unsigned long picks = 0;

	(void)arg;
	CHECK(rw_lb_epoch_register() == 0);
	while (!atomic_load(&stop_picking)) {
		struct rw_host *h = pick(&shared);

		if (h) {
			/* Touch the host like a session would, then drop the ref. */
			atomic_fetch_add_explicit(&h->cx_total, 1, memory_order_relaxed);
			CHECK(last_octet(h) >= 1 && last_octet(h) <= 8);
			rw_host_unref(h);
			picks++;
		}
	}
	rw_lb_epoch_unregister();
	return (void *)picks;
}

static void test_concurrent_publish(void)
{
	pthread_t t[PICKERS];
	struct rw_lb_address a[8];
	struct rw_host_set *set;
	unsigned long total = 0;
	unsigned seed = 1;
	void *res;
	int i, j;

	static char name[] = "shared";

	memset(&shared, 0, sizeof(shared));
	shared.name = name;
	for (i = 0; i < PICKERS; i++)
		CHECK(pthread_create(&t[i], NULL, picker, NULL) == 0);
	for (i = 0; i < PUBLISHES; i++) {
		size_t n = (size_t)(rand_r(&seed) % 9); /* sometimes empty */

		for (j = 0; j < (int)n; j++)
			a[j] = addr4((unsigned)(rand_r(&seed) % 8) + 1, 80);
		CHECK(rw_host_set_build(rw_cluster_hosts_writer(&shared), a, n, &set) == 0);
		rw_cluster_publish(&shared, set);
	}
	atomic_store(&stop_picking, true);
	for (i = 0; i < PICKERS; i++) {
		CHECK(pthread_join(t[i], &res) == 0);
		total += (unsigned long)res;
	}
	rw_cluster_release_hosts(&shared);
	CHECK(rw_lb_reclaim(false) == 0);
	printf("concurrent: %d publishes, %lu picks on %d threads\n", PUBLISHES, total, PICKERS);
}

int main(void)
{
	test_build_keeps_unchanged_hosts();
	test_round_robin_over_changing_sets();
	test_concurrent_publish();
	rw_lb_epoch_unregister();
	printf("lb host_set: all passed\n");
	return 0;
}
