/*
 * The statsd line protocol for a flush (envoy.stat_sinks.statsd): counters as the change
 * since the previous flush ("<prefix>.<name>:<delta>|c"), gauges as their value ("|g"), and
 * each histogram's interval as one timer line per non-empty bucket with the bucket's middle
 * value and a sample rate of 1/count ("<prefix>.<name>:<ms>|ms|@<rate>"), so a statsd server
 * counts every recorded value.  Lines are packed into datagrams of at most max bytes.
 *
 * Pure: formatting only; the caller sends the datagrams.
 */
#ifndef RW_STATS_STATSD_H
#define RW_STATS_STATSD_H

#include <stddef.h>
#include <stdint.h>

#include "stats/stats.h"

struct rw_statsd {
	char prefix[128];
	int64_t *last; /* per stat of the read: counter value at the previous flush */
	size_t n_last;
};

typedef void (*rw_statsd_emit)(void *ctx, const char *datagram, size_t len);

/* 0, or -ENOMEM (nothing emitted). */
int rw_statsd_init(struct rw_statsd *sd, const char *prefix);
void rw_statsd_fini(struct rw_statsd *sd);

/* One flush of rd (stats read right after rw_stats_flush()): emits every datagram.  0 or
 * -ENOMEM. */
int rw_statsd_flush(struct rw_statsd *sd, const struct rw_stats_read *rd, size_t max,
                    rw_statsd_emit emit, void *ctx);

#endif
