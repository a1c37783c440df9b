/*
 * Ring hash (Envoy's RING_HASH, a ketama ring).  Each host gets entries in proportion to its
 * weight; entry i of a host sits at xxHash64("<host name>_<i>"), e.g. "127.0.0.1:8080_3".  A
 * request goes to the first entry at or after its hash, wrapping at the top, so removing one
 * of N hosts moves only the keys that host owned (about 1/N).
 *
 * Ring size, as Envoy sizes it: scale so the lightest host gets a whole number of entries,
 *   scale = min(ceil(w_min/W * ring_min) / (w_min/W), ring_max)      (W = sum of weights),
 * and walk the hosts keeping a running target of scale * (weights so far) / W, each host
 * adding entries until the running count reaches the target.  Envoy does this in doubles; it
 * is done here in exact integers, so equal weights always get equal counts.  The walk is in
 * host-name order, so the ring does not depend on the order the hosts were created in.
 *
 * Balance: a host's share is the sum of its arcs, so its spread shrinks as 1/sqrt(entries per
 * host).  With the default ring_min of 1024 and 100 hosts that is 11 entries each and a
 * standard deviation of about 30% of the mean share: raise ring_min for tighter balance.
 *
 * Lookup: a binary search of the whole ring is ~11 dependent loads for 2,000 entries.  A
 * bucket index over the hash's top k bits (2^k >= ring size, k <= 20) narrows it to the
 * entries of one bucket, about one on average, so a pick is two loads and a compare or two.
 *
 *   h ──top k bits──► bucket[b] .. bucket[b+1] ──search──► first hash[i] >= h ──► host[i]
 *
 * Without a request hash (has_hash false) ctx->random stands in for it, as in Envoy.
 * avoid: walk forward from the chosen entry to the first entry of another host.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lb/cluster.h"
#include "lb/internal.h"

#define RW_LB_RING_MAX_BUCKET_BITS 20 /* 4 MiB of index for rings past a million entries */

struct entry {
	uint64_t hash;
	uint32_t rank; /* the host's place in name order: breaks (unlikely) hash ties */
	uint32_t host;
};

static int by_hash(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return (x->rank > y->rank) - (x->rank < y->rank);
}

/* ceil(a * b / c) without overflow for a, b < 2^64, c >= 1. */
static uint64_t ceil_mul_div(uint64_t a, uint64_t b, uint64_t c)
{
	unsigned __int128 p = (unsigned __int128)a * b;

	return (uint64_t)((p + c - 1) / c);
}

/*
 * Entries up to and including the k-th host in name order, for weights so far = prefix:
 * ceil(scale * prefix / W) with scale = c * W / w_min (uncapped) or ring_max (capped).
 */
static uint64_t target(uint64_t prefix, uint64_t c, uint64_t w_min, uint64_t total,
                       uint64_t ring_max, bool capped)
{
	if (capped)
		return ceil_mul_div(ring_max, prefix, total);
	return ceil_mul_div(c, prefix, w_min);
}

/* v in decimal at out (no terminator); returns the length.  snprintf is 10x slower here. */
static size_t put_decimal(char *out, uint64_t v)
{
	char rev[20];
	size_t n = 0, i;

	do {
		rev[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		out[i] = rev[n - 1 - i];
	return n;
}

static void hash_entries(struct entry *e, const struct rw_host *h, uint32_t host, uint32_t rank,
                         uint64_t count)
{
	char key[sizeof(h->name) + 24];
	size_t len = strnlen(h->name, sizeof(h->name) - 1);
	uint64_t i;

	memcpy(key, h->name, len);
	key[len++] = '_';
	for (i = 0; i < count; i++) {
		size_t digits = put_decimal(key + len, i);

		e[i] = (struct entry){rw__lb_hash_seed(key, len + digits, 0), rank, host};
	}
}

/* The bucket index (see the top of the file); 0 or -ENOMEM. */
static int build_buckets(struct rw__lb_ring *ring)
{
	uint32_t bits = 1, i = 0;
	uint64_t b, n_buckets;

	while (bits < RW_LB_RING_MAX_BUCKET_BITS && ((uint64_t)1 << bits) < ring->len)
		bits++;
	n_buckets = (uint64_t)1 << bits;
	ring->shift = 64 - bits;
	ring->bucket = malloc((n_buckets + 1) * sizeof(*ring->bucket));
	if (!ring->bucket)
		return -ENOMEM;
	for (b = 0; b < n_buckets; b++) {
		while (i < ring->len && ring->hash[i] < b << ring->shift)
			i++;
		ring->bucket[b] = i;
	}
	ring->bucket[n_buckets] = ring->len;
	return 0;
}

int rw__lb_ring_build(struct rw_lb *lb, const struct rw_lb_params *p, const uint32_t *weight)
{
	uint64_t total = 0, w_min = UINT64_MAX, c, prefix = 0, done = 0, now, len;
	struct entry *entries = NULL;
	uint32_t *order = NULL, k, i;
	bool capped;
	int rc;

	for (i = 0; i < lb->n; i++) {
		total += weight[i];
		w_min = weight[i] < w_min ? weight[i] : w_min;
	}
	/* Entries for the lightest host, and whether ring_max cuts the scale down. */
	c = ceil_mul_div(w_min, p->ring_min, total);
	capped = (unsigned __int128)c * total > (unsigned __int128)p->ring_max * w_min;
	len = target(total, c, w_min, total, p->ring_max, capped);
	rc = rw__lb_sort_by_name(lb, &order);
	if (rc)
		goto out;
	rc = -ENOMEM;
	entries = malloc(len * sizeof(*entries));
	lb->ring.hash = malloc(len * sizeof(*lb->ring.hash));
	lb->ring.host = malloc(len * sizeof(*lb->ring.host));
	if (!entries || !lb->ring.hash || !lb->ring.host)
		goto out;
	for (k = 0; k < lb->n; k++) {
		prefix += weight[order[k]];
		now = target(prefix, c, w_min, total, p->ring_max, capped);
		hash_entries(entries + done, lb->hosts[order[k]], order[k], k, now - done);
		done = now;
	}
	qsort(entries, len, sizeof(*entries), by_hash);
	for (i = 0; i < len; i++) {
		lb->ring.hash[i] = entries[i].hash;
		lb->ring.host[i] = entries[i].host;
	}
	lb->ring.len = (uint32_t)len;
	rc = build_buckets(&lb->ring);
out:
	free(entries);
	free(order);
	return rc;
}

void rw__lb_ring_free(struct rw_lb *lb)
{
	free(lb->ring.hash);
	free(lb->ring.host);
	free(lb->ring.bucket);
	lb->ring.hash = NULL;
	lb->ring.host = NULL;
	lb->ring.bucket = NULL;
}

struct rw_host *rw__lb_ring_pick(const struct rw_lb *lb, const struct rw_lb_pick_ctx *ctx)
{
	const struct rw__lb_ring *ring = &lb->ring;
	uint64_t h = ctx->has_hash ? ctx->hash : ctx->random;
	uint32_t b = (uint32_t)(h >> ring->shift), half, i, idx, k;
	uint32_t len = ring->bucket[b + 1] - ring->bucket[b];
	const uint64_t *base = ring->hash + ring->bucket[b];

	/* The first entry >= h is in [bucket[b], bucket[b + 1]]: the one past the bucket's
	 * entries is >= (b + 1) << shift > h, or the end of the ring. */
	if (len) {
		while (len > 1) {
			half = len / 2;
			/* Arithmetic, not ?:, which gcc makes a mispredicted branch. */
			base += (size_t)(base[half - 1] < h) * half;
			len -= half;
		}
		base += *base < h;
	}
	i = (uint32_t)(base - ring->hash);
	if (i == ring->len)
		i = 0;
	idx = ring->host[i];
	if (lb->hosts[idx] != ctx->avoid)
		return lb->hosts[idx];
	for (k = 1; k < ring->len; k++) {
		i = i + 1 == ring->len ? 0 : i + 1;
		if (lb->hosts[ring->host[i]] != ctx->avoid)
			return lb->hosts[ring->host[i]];
	}
	/* Every entry is avoid's (hosts beyond ring_max got none): the next host. */
	return lb->hosts[rw__lb_next_other(lb, idx, ctx->avoid)];
}
