/*
 * Balancers shared across threads: 4 pickers use one published struct rw_lb (and the
 * cluster's shared round-robin cursor) while a writer keeps replacing the host set through
 * rw_cluster_publish() and the balancer through the epoch machinery (lb/epoch.h), cycling
 * through all five policies.  Every pick must come from a balancer that was current at some
 * moment of the picker's read section, return one of that balancer's hosts, and leave the
 * host usable (counters touched, a reference kept past the section like a session would).
 * Meant to run under ThreadSanitizer too (-DRW_TSAN=ON): the pick path must be race-free.
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
#include "lb/lb.h"
#include "tests/unit/check.h"

#define PICKERS   4
#define PUBLISHES 10000
#define ADDRS     12
#define HELD      16

/* What the writer publishes for pickers: a balancer and the generation that built it. */
struct snap {
	struct rw_lb *lb;
	uint64_t gen;
};

static struct rw_cluster cluster;
static _Atomic(struct snap *) current;
static _Atomic uint64_t published; /* generation of the last snap published */
static atomic_bool stop;

static void free_snap(void *p)
{
	struct snap *s = p;

	rw_lb_free(s->lb);
	free(s);
}

/* Per-thread splitmix64: tests/unit/random.h's generator is one global, not for threads. */
static uint64_t next_random(uint64_t *state)
{
	uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static bool in_lb(const struct rw_lb *lb, const struct rw_host *h)
{
	size_t i;

	for (i = 0; i < rw_lb_size(lb); i++)
		if (rw_lb_host(lb, i) == h)
			return true;
	return false;
}

static void *picker(void *arg)
{
	uint64_t state = (uint64_t)(uintptr_t)arg, g0, g1, picks = 0, k = 0;
	struct rw_host *held[HELD] = {NULL};
	unsigned i;

	CHECK(rw_lb_epoch_register() == 0);
	while (!atomic_load(&stop)) {
		struct rw_lb_pick_ctx ctx = {
		    .random = next_random(&state),
		    .hash = next_random(&state),
		    .has_hash = k & 1,
		    .cursor = &cluster.rr_next,
		};
		struct rw_host *h;
		struct snap *s;

		g0 = atomic_load(&published);
		rw_lb_read_lock();
		s = atomic_load(&current);
		if (!s) {
			rw_lb_read_unlock();
			continue;
		}
		if (k % 3 == 0 && rw_lb_size(s->lb))
			ctx.avoid = rw_lb_host(s->lb, 0);
		h = rw_lb_pick(s->lb, &ctx);
		g1 = atomic_load(&published);
		/* Current at some moment of this section: published before g1 became visible. */
		CHECK(s->gen >= g0 && s->gen <= g1 + 1);
		if (h) {
			CHECK(in_lb(s->lb, h));
			CHECK(rw_lb_size(s->lb) == 1 || h != ctx.avoid);
			atomic_fetch_add_explicit(&h->rq_active, 1, memory_order_relaxed);
			CHECK(h->name[0] == '1'); /* 10.0.0.x: the host is still alive */
			rw_host_ref(h);
			picks++;
		} else {
			CHECK(rw_lb_size(s->lb) == 0);
		}
		rw_lb_read_unlock();
		/* A session: the request ends later, the host ref is dropped later still. */
		if (held[k % HELD]) {
			atomic_fetch_sub_explicit(&held[k % HELD]->rq_active, 1,
			                          memory_order_relaxed);
			rw_host_unref(held[k % HELD]);
		}
		held[k % HELD] = h;
		k++;
	}
	for (i = 0; i < HELD; i++)
		if (held[i]) {
			atomic_fetch_sub_explicit(&held[i]->rq_active, 1, memory_order_relaxed);
			rw_host_unref(held[i]);
		}
	rw_lb_epoch_unregister();
	return (void *)(uintptr_t)picks;
}

static struct rw_lb_address addr4(unsigned last)
{
	struct rw_lb_address a;
	struct sockaddr_in *in = (struct sockaddr_in *)&a.addr;

	memset(&a, 0, sizeof(a));
	in->sin_family = AF_INET;
	in->sin_port = htons(8080);
	in->sin_addr.s_addr = htonl(0x0a000000u | last);
	a.len = sizeof(*in);
	return a;
}

static void publish(uint64_t gen, uint64_t *state)
{
	struct rw_lb_address a[ADDRS];
	struct rw_host_set *set;
	struct rw_lb_params p;
	struct snap *s, *old;
	size_t n = next_random(state) % (ADDRS + 1), i; /* sometimes empty */

	for (i = 0; i < n; i++)
		a[i] = addr4((unsigned)(next_random(state) % ADDRS) + 1);
	CHECK(rw_host_set_build(rw_cluster_hosts_writer(&cluster), a, n, &set) == 0);
	for (i = 0; i < set->n; i++)
		/* Only a host no reader can see yet (the set's ref is its only one) gets a weight.
		 */
		if (atomic_load(&set->hosts[i]->refs) == 1)
			set->hosts[i]->weight = (uint32_t)(next_random(state) % 4) + 1;
	rw_lb_params_init(&p, (enum rw_lb_policy)(gen % 5 + 1));
	p.ring_min = 64;            /* small tables: thousands of rebuilds under TSan */
	p.maglev_table_size = 1021; /* prime */
	s = malloc(sizeof(*s));
	CHECK(s);
	s->gen = gen;
	CHECK(rw_lb_create(&p, set->hosts, set->n, &s->lb) == 0);
	rw_cluster_publish(&cluster, set);
	old = atomic_exchange(&current, s);
	atomic_store(&published, gen);
	if (old)
		rw_lb_retire(old, free_snap);
}

int main(void)
{
	static char name[] = "threads";
	pthread_t t[PICKERS];
	uint64_t state = 7, total = 0, gen;
	void *res;
	int i;

	cluster.name = name;
	for (i = 0; i < PICKERS; i++)
		CHECK(pthread_create(&t[i], NULL, picker, (void *)(uintptr_t)(i + 1)) == 0);
	for (gen = 1; gen <= PUBLISHES; gen++)
		publish(gen, &state);
	atomic_store(&stop, true);
	for (i = 0; i < PICKERS; i++) {
		CHECK(pthread_join(t[i], &res) == 0);
		total += (uint64_t)(uintptr_t)res;
	}
	rw_lb_retire(atomic_exchange(&current, NULL), free_snap);
	rw_cluster_release_hosts(&cluster);
	CHECK(rw_lb_reclaim(false) == 0);
	CHECK(total > 0);
	printf("lb threads: %d publishes, %llu picks on %d threads, cursor at %llu: all passed\n",
	       PUBLISHES, (unsigned long long)total, PICKERS,
	       (unsigned long long)atomic_load(&cluster.rr_next));
	return 0;
}
