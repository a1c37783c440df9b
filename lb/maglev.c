/*
 * Maglev (Eisenbud et al., NSDI 2016; Envoy's MAGLEV): a lookup table of a prime number of
 * slots, built once, so a pick is table[hash % size], one load.  Each host walks its own
 * permutation of the slots, offset + i * skip (mod size), from two xxHash64s of its name
 * (seeds 0 and 1); hosts take turns claiming their next free slot until the table is full.
 * Every host ends up with size/N slots give or take one (equal weights), and removing a host
 * moves its slots plus a small amount of churn elsewhere.
 *
 * Weights, as Envoy does it: in round r a host takes a turn only if r * w >= its running
 * target, and each turn raises its target by w_max, so the heaviest host takes a turn every
 * round and a host of w_max/3 every third.  Envoy does this in doubles over normalized
 * weights; integers here give the same decisions without rounding.
 *
 * Turns go in host-name order (Envoy sorts too): the table depends only on the set of names,
 * so every worker and every restart builds the same one.
 *
 * Without a request hash (has_hash false) ctx->random stands in for it, as in Envoy.
 * avoid: retry with the complemented hash (Envoy's first retry), then the next slot with
 * another host.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lb/cluster.h"
#include "lb/internal.h"

#define EMPTY UINT32_MAX

struct turn {
	uint64_t pos;    /* offset + next * skip, mod size: the next slot to try */
	uint64_t skip;   /* in [1, size): size is prime, so the walk visits every slot */
	uint64_t target; /* takes a turn in round r once r * weight >= target */
	uint64_t weight;
	uint32_t host;
};

static void fill_table(uint32_t *table, uint64_t size, struct turn *turns, uint32_t n,
                       uint64_t w_max)
{
	uint64_t filled = 0, round;
	uint32_t i;

	for (round = 1; filled < size; round++) {
		for (i = 0; i < n && filled < size; i++) {
			struct turn *t = &turns[i];

			if (round * t->weight < t->target)
				continue;
			t->target += w_max;
			while (table[t->pos] != EMPTY)
				t->pos = t->pos + t->skip >= size ? t->pos + t->skip - size
				                                  : t->pos + t->skip;
			table[t->pos] = t->host;
			filled++;
		}
	}
}

int rw__lb_maglev_build(struct rw_lb *lb, const struct rw_lb_params *p, const uint32_t *weight)
{
	uint64_t size = p->maglev_table_size, w_max = 0, i;
	struct turn *turns = malloc(lb->n * sizeof(*turns));
	uint32_t *order = NULL, k;
	int rc = -ENOMEM;

	if (!turns || rw__lb_sort_by_name(lb, &order))
		goto out;
	lb->maglev.table = malloc(size * sizeof(*lb->maglev.table));
	if (!lb->maglev.table)
		goto out;
	for (i = 0; i < size; i++)
		lb->maglev.table[i] = EMPTY;
	for (k = 0; k < lb->n; k++) {
		const char *name = lb->hosts[order[k]]->name;
		size_t len = strnlen(name, sizeof(lb->hosts[0]->name));

		turns[k] = (struct turn){
		    .pos = rw__lb_hash_seed(name, len, 0) % size,
		    .skip = rw__lb_hash_seed(name, len, 1) % (size - 1) + 1,
		    .weight = weight[order[k]],
		    .host = order[k],
		};
		w_max = turns[k].weight > w_max ? turns[k].weight : w_max;
	}
	fill_table(lb->maglev.table, size, turns, lb->n, w_max);
	lb->maglev.size = size;
	rc = 0;
out:
	free(turns);
	free(order);
	return rc;
}

void rw__lb_maglev_free(struct rw_lb *lb)
{
	free(lb->maglev.table);
	lb->maglev.table = NULL;
}

struct rw_host *rw__lb_maglev_pick(const struct rw_lb *lb, const struct rw_lb_pick_ctx *ctx)
{
	const struct rw__lb_maglev *m = &lb->maglev;
	uint64_t h = ctx->has_hash ? ctx->hash : ctx->random, slot, k;
	uint32_t idx = m->table[h % m->size];

	if (lb->hosts[idx] != ctx->avoid)
		return lb->hosts[idx];
	slot = ~h % m->size;
	for (k = 0; k < m->size; k++) {
		if (lb->hosts[m->table[slot]] != ctx->avoid)
			return lb->hosts[m->table[slot]];
		slot = slot + 1 == m->size ? 0 : slot + 1;
	}
	/* Every slot is avoid's (more hosts than slots): the next host. */
	return lb->hosts[rw__lb_next_other(lb, idx, ctx->avoid)];
}
