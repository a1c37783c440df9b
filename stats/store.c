/*
 * The stats registry and the per-thread blocks (see stats.h).
 *
 * Entries are appended while scopes register (single-threaded start-up); the first attach
 * or read freezes the registry: from then on entries, slots and their order never change, so
 * a reader needs the lock only against a concurrent attach, reset or flush.
 */
#include "stats/stats.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BLOCKS        256
#define MAX_SCOPE_SCALARS 512

struct entry {
	char *name;
	char *prom;
	char *labels;
	enum rw_stat_kind kind;
	enum rw_stat_unit unit;
	bool lazy;
	uint32_t slot; /* scalar slot, or histogram id */
	rw_stat_read_fn fn;
	void *arg;
};

static _Atomic uint64_t void_slots[RW_STATS_VOID_SLOTS];
static struct rw_stats_block void_block = {.v = void_slots, .h = NULL};

_Thread_local struct rw_stats_block *rw__stats_self;
struct rw_stats_block *rw__stats_shared = &void_block;

static struct {
	pthread_mutex_t lock;
	struct entry *e;
	size_t n, cap;
	uint32_t n_slots; /* scalar slots in a block */
	uint32_t n_hists; /* histogram ids in a block (id 0 unused) */
	bool frozen;
	size_t *order;   /* entries by name */
	size_t *by_prom; /* positions in order, by (prom, labels) */
	struct rw_stats_block *blocks[MAX_BLOCKS];
	size_t n_blocks;
	struct rw_stats_block *shared;     /* heap copy once something registered */
	size_t shared_slots, shared_hists; /* its capacities (>= the block shape) */
	int64_t *baseline;                 /* per entry: counter value at the last reset */
	struct rw_hist *last;              /* per histogram id: cumulative at the last flush */
	struct rw_hist *interval;          /* per histogram id: the last interval */
	bool have_interval;
} g = {.lock = PTHREAD_MUTEX_INITIALIZER, .n_slots = RW_STATS_VOID_SLOTS, .n_hists = 1};

static struct rw_stats_block *block_new(void)
{
	struct rw_stats_block *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->v = calloc(g.n_slots, sizeof(*b->v));
	b->h = calloc((size_t)g.n_hists * RW_STATS_HIST_STRIDE, sizeof(*b->h));
	if (!b->v || !b->h) {
		free(b->v);
		free(b->h);
		free(b);
		return NULL;
	}
	return b;
}

static void block_free(struct rw_stats_block *b)
{
	if (!b || b == &void_block)
		return;
	free(b->v);
	free(b->h);
	free(b);
}

/* Grow a zero-filled array of counts to at least need entries, doubling (registration adds
 * scopes one by one: growing by what each needs would copy the block once per scope). */
static int grow_counts(_Atomic uint64_t **v, size_t *cap, size_t need)
{
	size_t ncap = *cap ? *cap : 64;
	_Atomic uint64_t *nv;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	nv = realloc((void *)*v, ncap * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	memset((void *)(nv + *cap), 0, (ncap - *cap) * sizeof(*nv));
	*v = nv;
	*cap = ncap;
	return 0;
}

/* Registration grew the block shape: the shared block follows, keeping what was recorded in
 * it (registration is single-threaded: nobody records while it grows). */
static int grow_shared(void)
{
	if (!g.shared) {
		g.shared = calloc(1, sizeof(*g.shared));
		if (!g.shared)
			return -ENOMEM;
		g.shared_slots = g.shared_hists = 0;
	}
	if (grow_counts(&g.shared->v, &g.shared_slots, g.n_slots) ||
	    grow_counts(&g.shared->h, &g.shared_hists, (size_t)g.n_hists * RW_STATS_HIST_STRIDE))
		return -ENOMEM;
	rw__stats_shared = g.shared;
	return 0;
}

static int entry_add(const char *name, const char *prom, const char *labels, enum rw_stat_kind kind,
                     enum rw_stat_unit unit, bool lazy, uint32_t slot)
{
	struct entry *e;

	if (g.n == g.cap) {
		size_t cap = g.cap ? g.cap * 2 : 256;
		struct entry *ne = realloc(g.e, cap * sizeof(*ne));

		if (!ne)
			return -ENOMEM;
		g.e = ne;
		g.cap = cap;
	}
	e = &g.e[g.n];
	memset(e, 0, sizeof(*e));
	e->name = strdup(name);
	e->prom = strdup(prom);
	e->labels = strdup(labels);
	if (!e->name || !e->prom || !e->labels) {
		free(e->name);
		free(e->prom);
		free(e->labels);
		return -ENOMEM;
	}
	e->kind = kind;
	e->unit = unit;
	e->lazy = lazy;
	e->slot = slot;
	g.n++;
	return 0;
}

/* Prometheus metric names: [a-zA-Z0-9_] only. */
static void prom_name(char *out, size_t len, const char *prom, const char *stat)
{
	size_t o = (size_t)snprintf(out, len, "envoy_%s_%s", prom, stat);

	if (o >= len)
		o = len - 1;
	for (size_t i = 0; i < o; i++) {
		char ch = out[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_'))
			out[i] = '_';
	}
}

/* A label value: escape backslash, quote and newline. */
static void label(char *out, size_t len, const char *name, const char *value)
{
	size_t o = 0;

	if (!name) {
		out[0] = '\0';
		return;
	}
	o = (size_t)snprintf(out, len, "%s=\"", name);
	for (; *value && o + 3 < len; value++) {
		if (*value == '\\' || *value == '"' || *value == '\n') {
			out[o++] = '\\';
			out[o++] = *value == '\n' ? 'n' : *value;
		} else {
			out[o++] = *value;
		}
	}
	if (o + 2 > len)
		o = len - 2;
	out[o++] = '"';
	out[o] = '\0';
}

int rw_stats_scope_add(const struct rw_stats_scope_spec *spec, struct rw_stats_scope *out)
{
	char name[512], prom[256], tag[320], labels[400];
	size_t first = g.n;
	uint32_t n_slots = g.n_slots, n_hists = g.n_hists;
	struct rw_stats_scope sc = {0};
	int r = 0;

	if (g.frozen)
		return -EBUSY;
	if (spec->n_scalars > MAX_SCOPE_SCALARS)
		return -E2BIG;
	label(tag, sizeof(tag), spec->tag_name, spec->tag_value ? spec->tag_value : "");
	sc.base = n_slots;
	for (size_t i = 0; i < spec->n_scalars && !r; i++) {
		snprintf(name, sizeof(name), "%s.%s", spec->name, spec->scalars[i].name);
		prom_name(prom, sizeof(prom), spec->prom, spec->scalars[i].name);
		r = entry_add(name, prom, tag, spec->scalars[i].kind, spec->scalars[i].unit, false,
		              n_slots + 2 * (uint32_t)i);
	}
	n_slots += 2 * (uint32_t)spec->n_scalars;
	if (spec->codes_name && !r) {
		sc.codes = n_slots;
		prom_name(prom, sizeof(prom), spec->prom, spec->codes_name);
		for (unsigned code = 100; code <= 599 && !r; code++) {
			snprintf(name, sizeof(name), "%s.%s_%u", spec->name, spec->codes_name,
			         code);
			snprintf(labels, sizeof(labels), "envoy_response_code=\"%u\"%s%s", code,
			         tag[0] ? "," : "", tag);
			r = entry_add(name, prom, labels, RW_STAT_COUNTER, RW_STAT_UNIT_NONE, true,
			              n_slots + code - 100);
		}
		n_slots += 500;
	}
	if (spec->n_hists && !r) {
		sc.hbase = n_hists; /* ids hbase + i (never 0: id 0 is unused) */
		for (size_t i = 0; i < spec->n_hists && !r; i++) {
			snprintf(name, sizeof(name), "%s.%s", spec->name, spec->hists[i].name);
			prom_name(prom, sizeof(prom), spec->prom, spec->hists[i].name);
			r = entry_add(name, prom, tag, RW_STAT_HISTOGRAM, spec->hists[i].unit,
			              false, n_hists + (uint32_t)i);
		}
		n_hists += (uint32_t)spec->n_hists;
	}
	if (!r) {
		uint32_t old_slots = g.n_slots, old_hists = g.n_hists;

		g.n_slots = n_slots;
		g.n_hists = n_hists;
		r = grow_shared();
		if (r) {
			g.n_slots = old_slots;
			g.n_hists = old_hists;
		}
	}
	if (r) {
		while (g.n > first) {
			g.n--;
			free(g.e[g.n].name);
			free(g.e[g.n].prom);
			free(g.e[g.n].labels);
		}
		return r;
	}
	*out = sc;
	return 0;
}

int rw_stats_add_computed(const char *scope, const char *prom, const char *tag_name,
                          const char *tag_value, const char *stat, enum rw_stat_kind kind,
                          rw_stat_read_fn fn, void *arg)
{
	char name[512], pname[256], tag[320];
	int r;

	if (g.frozen)
		return -EBUSY;
	if (kind == RW_STAT_HISTOGRAM)
		return -EINVAL;
	snprintf(name, sizeof(name), "%s.%s", scope, stat);
	prom_name(pname, sizeof(pname), prom, stat);
	label(tag, sizeof(tag), tag_name, tag_value ? tag_value : "");
	r = entry_add(name, pname, tag, kind, RW_STAT_UNIT_NONE, false, 0);
	if (r)
		return r;
	g.e[g.n - 1].fn = fn;
	g.e[g.n - 1].arg = arg;
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(g.e[*(const size_t *)a].name, g.e[*(const size_t *)b].name);
}

static int by_prom_cmp(const void *a, const void *b)
{
	const struct entry *x = &g.e[g.order[*(const size_t *)a]];
	const struct entry *y = &g.e[g.order[*(const size_t *)b]];
	int c = strcmp(x->prom, y->prom);

	return c ? c : strcmp(x->labels, y->labels);
}

/* Called with the lock held. */
static int freeze(void)
{
	size_t n = g.n ? g.n : 1;

	if (g.frozen)
		return 0;
	if (!g.shared && grow_shared())
		return -ENOMEM;
	g.order = malloc(n * sizeof(*g.order));
	g.by_prom = malloc(n * sizeof(*g.by_prom));
	g.baseline = calloc(n, sizeof(*g.baseline));
	g.last = calloc(g.n_hists, sizeof(*g.last));
	g.interval = calloc(g.n_hists, sizeof(*g.interval));
	if (!g.order || !g.by_prom || !g.baseline || !g.last || !g.interval) {
		free(g.order);
		free(g.by_prom);
		free(g.baseline);
		free(g.last);
		free(g.interval);
		g.order = g.by_prom = NULL;
		g.baseline = NULL;
		g.last = g.interval = NULL;
		return -ENOMEM;
	}
	for (size_t i = 0; i < g.n; i++)
		g.order[i] = i;
	qsort(g.order, g.n, sizeof(*g.order), by_name);
	for (size_t i = 0; i < g.n; i++)
		g.by_prom[i] = i;
	qsort(g.by_prom, g.n, sizeof(*g.by_prom), by_prom_cmp);
	g.frozen = true;
	return 0;
}

int rw_stats_thread_attach(void)
{
	struct rw_stats_block *b;
	int r;

	if (rw__stats_self)
		return 0;
	pthread_mutex_lock(&g.lock);
	r = freeze();
	if (!r && g.n_blocks == MAX_BLOCKS)
		r = -ENOSPC;
	if (!r) {
		b = block_new();
		if (!b) {
			r = -ENOMEM;
		} else {
			g.blocks[g.n_blocks++] = b;
			rw__stats_self = b;
		}
	}
	pthread_mutex_unlock(&g.lock);
	return r;
}

void rw__stat_record(uint32_t hist, uint64_t v)
{
	struct rw_stats_block *b = rw__stats_self;
	uint32_t i = rw_hist_index(v);

	if (__builtin_expect(b != NULL, 1)) {
		_Atomic uint64_t *h = b->h + (size_t)hist * RW_STATS_HIST_STRIDE;
		uint64_t n = atomic_load_explicit(&h[i], memory_order_relaxed);
		uint64_t s = atomic_load_explicit(&h[RW_HIST_BUCKETS], memory_order_relaxed);

		atomic_store_explicit(&h[i], n + 1, memory_order_relaxed);
		atomic_store_explicit(&h[RW_HIST_BUCKETS], s + v, memory_order_relaxed);
		return;
	}
	b = rw__stats_shared;
	if (!b->h)
		return; /* nothing registered yet */
	atomic_fetch_add_explicit(&b->h[(size_t)hist * RW_STATS_HIST_STRIDE + i], 1,
	                          memory_order_relaxed);
	atomic_fetch_add_explicit(&b->h[(size_t)hist * RW_STATS_HIST_STRIDE + RW_HIST_BUCKETS], v,
	                          memory_order_relaxed);
}

/* Sum of slot over every block (lock held). */
static uint64_t slot_sum(uint32_t slot)
{
	uint64_t v = atomic_load_explicit(&g.shared->v[slot], memory_order_relaxed);

	for (size_t i = 0; i < g.n_blocks; i++)
		v += atomic_load_explicit(&g.blocks[i]->v[slot], memory_order_relaxed);
	return v;
}

static void hist_merge(struct rw_hist *out, uint32_t id)
{
	memset(out, 0, sizeof(*out));
	for (size_t k = 0; k <= g.n_blocks; k++) {
		struct rw_stats_block *b = k < g.n_blocks ? g.blocks[k] : g.shared;
		_Atomic uint64_t *h = b->h + (size_t)id * RW_STATS_HIST_STRIDE;

		for (uint32_t i = 0; i < RW_HIST_BUCKETS; i++) {
			uint64_t n = atomic_load_explicit(&h[i], memory_order_relaxed);

			out->b[i] += n;
			out->count += n;
		}
		out->sum += atomic_load_explicit(&h[RW_HIST_BUCKETS], memory_order_relaxed);
	}
}

/* The raw (not reset-adjusted) value of a scalar entry, and whether it was ever written. */
static int64_t scalar_raw(const struct entry *e, bool *used)
{
	if (e->fn) {
		int64_t v = e->fn(e->arg);

		*used = true;
		return v;
	}
	if (e->kind == RW_STAT_GAUGE) {
		uint64_t up = slot_sum(e->slot), down = slot_sum(e->slot + 1);

		*used = up || down;
		return (int64_t)(up - down);
	}
	{
		uint64_t v = slot_sum(e->slot);

		*used = v != 0;
		return (int64_t)v;
	}
}

int rw_stats_read(struct rw_stats_read *out)
{
	size_t n_h = 0, k = 0;
	struct rw_hist *hists = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&g.lock);
	r = freeze();
	if (r)
		goto out;
	for (size_t i = 0; i < g.n; i++)
		n_h += g.e[i].kind == RW_STAT_HISTOGRAM;
	out->v = calloc(g.n ? g.n : 1, sizeof(*out->v));
	out->by_prom = malloc((g.n ? g.n : 1) * sizeof(*out->by_prom));
	if (n_h)
		hists = malloc(n_h * 2 * sizeof(*hists));
	if (!out->v || !out->by_prom || (n_h && !hists)) {
		free(out->v);
		free(out->by_prom);
		free(hists);
		memset(out, 0, sizeof(*out));
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < g.n; i++) {
		size_t idx = g.order[i];
		const struct entry *e = &g.e[idx];
		struct rw_stat_view *v = &out->v[i];

		v->name = e->name;
		v->prom = e->prom;
		v->labels = e->labels;
		v->kind = e->kind;
		v->unit = e->unit;
		v->lazy = e->lazy;
		if (e->kind == RW_STAT_HISTOGRAM) {
			struct rw_hist *cum = &hists[2 * k], *iv = &hists[2 * k + 1];

			k++;
			hist_merge(cum, e->slot);
			v->cum = cum;
			v->used = cum->count != 0;
			if (g.have_interval) {
				*iv = g.interval[e->slot];
				v->interval = iv;
			}
			continue;
		}
		v->value = scalar_raw(e, &v->used);
		if (e->kind == RW_STAT_COUNTER)
			v->value -= g.baseline[idx];
	}
	memcpy(out->by_prom, g.by_prom, g.n * sizeof(*out->by_prom));
	out->n = g.n;
	out->hists_ = hists;
out:
	pthread_mutex_unlock(&g.lock);
	return r;
}

void rw_stats_read_free(struct rw_stats_read *r)
{
	free(r->v);
	free(r->by_prom);
	free(r->hists_);
	memset(r, 0, sizeof(*r));
}

void rw_stats_reset_counters(void)
{
	pthread_mutex_lock(&g.lock);
	if (!freeze()) {
		for (size_t i = 0; i < g.n; i++) {
			bool used;

			if (g.e[i].kind == RW_STAT_COUNTER)
				g.baseline[i] = scalar_raw(&g.e[i], &used);
		}
	}
	pthread_mutex_unlock(&g.lock);
}

int rw_stats_flush(void)
{
	struct rw_hist *cum = malloc(sizeof(*cum));
	int r;

	if (!cum)
		return -ENOMEM;
	pthread_mutex_lock(&g.lock);
	r = freeze();
	for (uint32_t id = 1; !r && id < g.n_hists; id++) {
		hist_merge(cum, id);
		rw_hist_sub(&g.interval[id], cum, &g.last[id]);
		g.last[id] = *cum;
	}
	if (!r)
		g.have_interval = true;
	pthread_mutex_unlock(&g.lock);
	free(cum);
	return r;
}

void rw_stats_free_all(void)
{
	pthread_mutex_lock(&g.lock);
	for (size_t i = 0; i < g.n; i++) {
		free(g.e[i].name);
		free(g.e[i].prom);
		free(g.e[i].labels);
	}
	free(g.e);
	for (size_t i = 0; i < g.n_blocks; i++)
		block_free(g.blocks[i]);
	rw__stats_shared = &void_block;
	block_free(g.shared);
	free(g.order);
	free(g.by_prom);
	free(g.baseline);
	free(g.last);
	free(g.interval);
	g.e = NULL;
	g.n = g.cap = 0;
	g.n_slots = RW_STATS_VOID_SLOTS;
	g.n_hists = 1;
	g.frozen = false;
	g.order = g.by_prom = NULL;
	g.n_blocks = 0;
	g.shared = NULL;
	g.shared_slots = g.shared_hists = 0;
	g.baseline = NULL;
	g.last = g.interval = NULL;
	g.have_interval = false;
	rw__stats_self = NULL;
	pthread_mutex_unlock(&g.lock);
}
