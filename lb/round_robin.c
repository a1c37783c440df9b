/*
 * Lock-free round robin: a shared cursor advanced with one atomic fetch_add, modulo the size
 * of the snapshot read in the same epoch read section.  Relaxed order is enough for the
 * cursor: it only spreads load, it orders no other memory.  The host ref is taken before the
 * section ends, so the host outlives the snapshot if it must.
 */
#include "lb/cluster.h"
#include "lb/epoch.h"

struct rw_host *rw_lb_round_robin_pick(struct rw_cluster *c)
{
	struct rw_host_set *set;
	struct rw_host *h = NULL;
	uint64_t i;

	rw_lb_read_lock();
	set = atomic_load_explicit(&c->hosts, memory_order_acquire);
	if (set && set->n) {
		i = atomic_fetch_add_explicit(&c->rr_next, 1, memory_order_relaxed);
		h = set->hosts[i % set->n];
		rw_host_ref(h);
	}
	rw_lb_read_unlock();
	return h;
}
