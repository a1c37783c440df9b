/*
 * Every stats_flush_interval, on the admin thread: end the stats interval (histograms'
 * interval quantiles in /stats) and send the flush to each statsd sink as UDP datagrams,
 * written through the admin's io_uring (a sink that is down loses datagrams, nothing else).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/internal.h"
#include "config/config.h"
#include "core/log.h"
#include "core/timer.h"
#include "ring/engine.h"
#include "stats/statsd.h"

/* Envoy's statsd datagrams stay under a typical path MTU. */
#define DATAGRAM_MAX 1432

struct flush_sink {
	int fd;
	struct rw_statsd sd;
	uint64_t dropped; /* datagrams not sent (send failed or out of memory) */
};

struct admin_flush {
	struct rw_admin *a;
	struct rw_timer timer;
	uint64_t interval_ms;
	struct flush_sink *sinks;
	size_t n_sinks;
	struct flush_sink *cur; /* the sink being emitted to */
};

static void sent(void *ctx, int res)
{
	struct flush_sink **slot = ctx;

	if (res < 0)
		(*slot)->dropped++;
	free(slot);
}

/* One datagram: copied behind a back-pointer to its sink, freed when the write completes. */
static void emit(void *ctx, const char *p, size_t n)
{
	struct admin_flush *f = ctx;
	struct flush_sink **slot = malloc(sizeof(*slot) + n);

	if (!slot) {
		f->cur->dropped++;
		return;
	}
	*slot = f->cur;
	memcpy(slot + 1, p, n);
	if (rw_engine_file_write(f->a->eng, f->cur->fd, slot + 1, (uint32_t)n, sent, slot)) {
		f->cur->dropped++;
		free(slot);
	}
}

static void tick(struct rw_timer *t, void *arg)
{
	struct admin_flush *f = arg;
	struct rw_stats_read rd;

	(void)t;
	if (rw_stats_flush() == 0 && f->n_sinks && rw_stats_read(&rd) == 0) {
		for (size_t i = 0; i < f->n_sinks; i++) {
			f->cur = &f->sinks[i];
			if (rw_statsd_flush(&f->sinks[i].sd, &rd, DATAGRAM_MAX, emit, f))
				f->sinks[i].dropped++;
		}
		rw_stats_read_free(&rd);
	}
	rw_timer_add(rw_engine_timers(f->a->eng), &f->timer, f->interval_ms, tick, f);
}

int rw__admin_flush_start(struct rw_admin *a)
{
	const struct rw_config *cfg = a->opt.config;
	struct admin_flush *f = calloc(1, sizeof(*f));
	int r;

	if (!f)
		return -ENOMEM;
	f->a = a;
	f->interval_ms = cfg && cfg->stats_flush_interval_ms ? cfg->stats_flush_interval_ms
	                                                     : RW_CONFIG_DEFAULT_STATS_FLUSH_MS;
	f->n_sinks = cfg ? cfg->n_stats_sinks : 0;
	f->sinks = calloc(f->n_sinks ? f->n_sinks : 1, sizeof(*f->sinks));
	if (!f->sinks) {
		free(f);
		return -ENOMEM;
	}
	for (size_t i = 0; i < f->n_sinks; i++)
		f->sinks[i].fd = -1;
	for (size_t i = 0; i < f->n_sinks; i++) {
		const struct rw_config_stats_sink *s = &cfg->stats_sinks[i];
		char addr[128];

		rw_statsd_init(&f->sinks[i].sd, s->prefix);
		r = rw_udp_socket((const struct sockaddr *)&s->addr.ss, s->addr.len,
		                  &f->sinks[i].fd);
		if (r) {
			snprintf(a->init_err, sizeof(a->init_err), "statsd sink %s: %s",
			         rw_config_addr_format(&s->addr, addr, sizeof(addr)), strerror(-r));
			a->flush = f;
			rw__admin_flush_stop(a);
			return r;
		}
		rw_log_info("admin", "stats: flushing to statsd at %s every %llu ms",
		            rw_config_addr_format(&s->addr, addr, sizeof(addr)),
		            (unsigned long long)f->interval_ms);
	}
	a->flush = f;
	rw_timer_add(rw_engine_timers(a->eng), &f->timer, f->interval_ms, tick, f);
	return 0;
}

void rw__admin_flush_stop(struct rw_admin *a)
{
	struct admin_flush *f = a->flush;

	if (!f)
		return;
	if (a->eng)
		rw_timer_del(rw_engine_timers(a->eng), &f->timer);
	for (size_t i = 0; i < f->n_sinks; i++) {
		if (f->sinks[i].dropped)
			rw_log_warn("admin", "statsd sink %zu: %llu datagrams not sent", i,
			            (unsigned long long)f->sinks[i].dropped);
		rw_statsd_fini(&f->sinks[i].sd);
	}
	/* Writes still in flight point at their sink: the fds and sinks stay until the
	 * engine is gone (rw__admin_flush_free). */
}

void rw__admin_flush_free(struct rw_admin *a)
{
	struct admin_flush *f = a->flush;

	if (!f)
		return;
	for (size_t i = 0; i < f->n_sinks; i++)
		if (f->sinks[i].fd >= 0)
			rw_fd_close(f->sinks[i].fd);
	free(f->sinks);
	free(f);
	a->flush = NULL;
}
