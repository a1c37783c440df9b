/*
 * Stats: Envoy's counters, gauges and histograms, named as Envoy names them
 * (cluster.<name>.upstream_rq_total, http.<prefix>.downstream_rq_2xx, ...).
 *
 * Every thread that records (the workers, the health checker, the admin) attaches a block of
 * its own: a record is a plain load-add-store on memory no other thread writes, so no cache
 * line is shared on the request path.  A reader (the admin thread, a stats sink) merges the
 * blocks when it reads; a thread that never attached records into one shared block with
 * atomic adds (start-up code, tests).
 *
 * Stats are registered once, in scopes (one per cluster, connection manager, listener ...),
 * before the first thread attaches; a scope's stats are then addressed by their index in the
 * scope's table.  A scope that was never registered (zeroed) records into a sink nobody
 * reads, so code under test needs no stats set-up.
 *
 *   rw_stats_scope_add()            start-up, single-threaded
 *   rw_stats_thread_attach()        each recording thread, after registration
 *   rw_stat_inc()/rw_gauge_*()/rw_stat_record()   any thread, any time (lock-free)
 *   rw_stats_read()                 any thread: a merged, sorted snapshot
 */
#ifndef RW_STATS_STATS_H
#define RW_STATS_STATS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stats/hist.h"

enum rw_stat_kind {
	RW_STAT_COUNTER,
	RW_STAT_GAUGE,
	RW_STAT_HISTOGRAM,
};

enum rw_stat_unit {
	RW_STAT_UNIT_NONE,
	RW_STAT_UNIT_MS, /* recorded in microseconds, shown in milliseconds (Envoy's unit) */
};

/* One entry of a scope's table. */
struct rw_stat_def {
	const char *name; /* "upstream_rq_total", "outlier_detection.ejections_active" */
	enum rw_stat_kind kind;
	enum rw_stat_unit unit;
};

/* Table entries: RW_STAT_C("upstream_rq_total"), gauges, histograms in milliseconds. */
#define RW_STAT_C(n)                                                                               \
	{                                                                                          \
		n, RW_STAT_COUNTER, RW_STAT_UNIT_NONE                                              \
	}
#define RW_STAT_G(n)                                                                               \
	{                                                                                          \
		n, RW_STAT_GAUGE, RW_STAT_UNIT_NONE                                                \
	}
#define RW_STAT_H(n)                                                                               \
	{                                                                                          \
		n, RW_STAT_HISTOGRAM, RW_STAT_UNIT_MS                                              \
	}

/*
 * A registered scope: where its stats live.  Zeroed = unregistered (records are dropped).
 * Scalars (counters, gauges) take two slots each (a gauge's increments and decrements, so a
 * gauge that went back to 0 still reads as used).
 */
struct rw_stats_scope {
	uint32_t base;  /* first scalar slot */
	uint32_t codes; /* first per-status-code slot (100..599), 0: none */
	uint32_t hbase; /* first histogram, 0: none */
};

struct rw_stats_scope_spec {
	const char *name;      /* "cluster.backend": stats are "<name>.<stat>" */
	const char *prom;      /* "cluster": Prometheus metrics "envoy_cluster_<stat>" */
	const char *tag_name;  /* "envoy_cluster_name", or NULL */
	const char *tag_value; /* "backend" */
	const struct rw_stat_def *scalars;
	size_t n_scalars;
	const struct rw_stat_def *hists;
	size_t n_hists;
	/* Per-status counters "<codes_name>_<code>" (Envoy's upstream_rq_503), listed once
	 * non-zero; NULL for none. */
	const char *codes_name;
};

/*
 * Register a scope (before any thread attached): 0, -ENOMEM, -EBUSY (too late) or -E2BIG.
 * Strings are copied.
 */
int rw_stats_scope_add(const struct rw_stats_scope_spec *spec, struct rw_stats_scope *out);

/* A stat whose value is computed when read (a membership count, an atomic kept elsewhere,
   uptime); fn runs on the reading thread.  Counters computed so are monotonic. */
typedef int64_t (*rw_stat_read_fn)(void *arg);
int rw_stats_add_computed(const char *scope, const char *prom, const char *tag_name,
                          const char *tag_value, const char *stat, enum rw_stat_kind kind,
                          rw_stat_read_fn fn, void *arg);

/* Give the calling thread its own block (idempotent): 0, -ENOMEM or -ENOSPC (then the
 * thread keeps recording into the shared block). */
int rw_stats_thread_attach(void);

/* Drop every scope and block (tests, and the end of main). */
void rw_stats_free_all(void);

/* A merged view of one stat. */
struct rw_stat_view {
	const char *name;   /* "cluster.backend.upstream_rq_total" */
	const char *prom;   /* "envoy_cluster_upstream_rq_total" */
	const char *labels; /* "envoy_cluster_name=\"backend\"" or "" */
	enum rw_stat_kind kind;
	enum rw_stat_unit unit;
	bool used;                      /* ever recorded */
	bool lazy;                      /* a per-status counter: listed only once used */
	int64_t value;                  /* counters (since the last reset) and gauges */
	const struct rw_hist *cum;      /* histograms: since start */
	const struct rw_hist *interval; /* histograms: during the last flush interval, or NULL */
};

struct rw_stats_read {
	size_t n;
	struct rw_stat_view *v; /* sorted by name */
	size_t *by_prom;        /* indexes of v sorted by (prom, labels) */
	struct rw_hist *hists_; /* storage behind the views' histograms */
};

/* Merge every block now: 0 or -ENOMEM.  Any thread; free with rw_stats_read_free(). */
int rw_stats_read(struct rw_stats_read *out);
void rw_stats_read_free(struct rw_stats_read *r);

/* Envoy's /reset_counters: counters read 0 from now on (blocks are not written). */
void rw_stats_reset_counters(void);

/*
 * End a flush interval (stats_flush_interval): histograms' interval views become what was
 * recorded since the previous call.  0 or -ENOMEM.  Called by one thread (the flusher).
 */
int rw_stats_flush(void);

/* ---- recording (inline: the request path) ---- */

#define RW_STATS_VOID_SLOTS 2048 /* slots of the unregistered sink (>= 2 * scalars + 500) */

struct rw_stats_block {
	_Atomic uint64_t *v; /* scalar slots */
	_Atomic uint64_t *h; /* histograms: RW_HIST_BUCKETS counts + sum, per histogram */
};

#define RW_STATS_HIST_STRIDE (RW_HIST_BUCKETS + 1)

extern _Thread_local struct rw_stats_block *rw__stats_self;
extern struct rw_stats_block *rw__stats_shared;

static inline void rw__stat_add(uint32_t slot, uint64_t n)
{
	struct rw_stats_block *b = rw__stats_self;

	if (__builtin_expect(b != NULL, 1)) {
		/* Only this thread writes the slot: a relaxed load and store, no locked RMW. */
		uint64_t cur = atomic_load_explicit(&b->v[slot], memory_order_relaxed);

		atomic_store_explicit(&b->v[slot], cur + n, memory_order_relaxed);
	} else {
		atomic_fetch_add_explicit(&rw__stats_shared->v[slot], n, memory_order_relaxed);
	}
}

static inline void rw_stat_add(const struct rw_stats_scope *sc, unsigned stat, uint64_t n)
{
	rw__stat_add(sc->base + 2 * stat, n);
}

static inline void rw_stat_inc(const struct rw_stats_scope *sc, unsigned stat)
{
	rw__stat_add(sc->base + 2 * stat, 1);
}

static inline void rw_gauge_inc(const struct rw_stats_scope *sc, unsigned stat)
{
	rw__stat_add(sc->base + 2 * stat, 1);
}

static inline void rw_gauge_dec(const struct rw_stats_scope *sc, unsigned stat)
{
	rw__stat_add(sc->base + 2 * stat + 1, 1);
}

static inline void rw_gauge_add(const struct rw_stats_scope *sc, unsigned stat, int64_t d)
{
	if (d >= 0)
		rw__stat_add(sc->base + 2 * stat, (uint64_t)d);
	else
		rw__stat_add(sc->base + 2 * stat + 1, (uint64_t)-d);
}

/* The scope's per-status counter for code (ignored outside 100..599). */
static inline void rw_stat_code(const struct rw_stats_scope *sc, unsigned code)
{
	if (code >= 100 && code <= 599)
		rw__stat_add(sc->codes + code - 100, 1);
}

void rw__stat_record(uint32_t hist, uint64_t v);

/* Record v (microseconds for RW_STAT_UNIT_MS histograms) in the scope's histogram. */
static inline void rw_stat_record(const struct rw_stats_scope *sc, unsigned hist, uint64_t v)
{
	if (sc->hbase)
		rw__stat_record(sc->hbase + hist, v);
}

#endif
