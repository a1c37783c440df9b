/*
 * Lock-free round robin: a shared cursor advanced with one atomic fetch_add.  Relaxed order
 * is enough: the cursor only spreads load, it orders no other memory.
 */
#include "lb/cluster.h"

struct rw_host *rw_lb_round_robin_pick(struct rw_cluster *c)
{
	uint64_t i;

	if (!c->n_hosts)
		return NULL;
	i = atomic_fetch_add_explicit(&c->rr_next, 1, memory_order_relaxed);
	return &c->hosts[i % c->n_hosts];
}
