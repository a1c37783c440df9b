/* statsd lines for a flush (see statsd.h). */
#include "stats/statsd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct packer {
	char buf[65536];
	size_t len, max;
	rw_statsd_emit emit;
	void *ctx;
};

static void pack(struct packer *p, const char *line, size_t n)
{
	if (n > p->max)
		return; /* a line that can never fit a datagram is dropped, not split */
	if (p->len && p->len + 1 + n > p->max) {
		p->emit(p->ctx, p->buf, p->len);
		p->len = 0;
	}
	if (p->len)
		p->buf[p->len++] = '\n';
	memcpy(p->buf + p->len, line, n);
	p->len += n;
}

int rw_statsd_init(struct rw_statsd *sd, const char *prefix)
{
	memset(sd, 0, sizeof(*sd));
	snprintf(sd->prefix, sizeof(sd->prefix), "%s", prefix);
	return 0;
}

void rw_statsd_fini(struct rw_statsd *sd)
{
	free(sd->last);
	sd->last = NULL;
	sd->n_last = 0;
}

/* "1.25" with up to 3 decimals and no trailing zeros. */
static int fmt_ms(char *out, size_t len, double ms)
{
	int n = snprintf(out, len, "%.3f", ms);

	while (n > 1 && out[n - 1] == '0')
		out[--n] = '\0';
	if (n > 1 && out[n - 1] == '.')
		out[--n] = '\0';
	return n;
}

int rw_statsd_flush(struct rw_statsd *sd, const struct rw_stats_read *rd, size_t max,
                    rw_statsd_emit emit, void *ctx)
{
	struct packer *p;
	char line[640];

	if (sd->n_last != rd->n) {
		int64_t *last = calloc(rd->n ? rd->n : 1, sizeof(*last));

		if (!last)
			return -ENOMEM;
		free(sd->last);
		sd->last = last;
		sd->n_last = rd->n;
	}
	p = malloc(sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->len = 0;
	p->max = max < sizeof(p->buf) ? max : sizeof(p->buf);
	p->emit = emit;
	p->ctx = ctx;
	for (size_t i = 0; i < rd->n; i++) {
		const struct rw_stat_view *v = &rd->v[i];
		int n = 0;

		if (!v->used)
			continue;
		if (v->kind == RW_STAT_COUNTER) {
			/* After /reset_counters the value restarts below the last one. */
			int64_t d = v->value >= sd->last[i] ? v->value - sd->last[i] : v->value;

			sd->last[i] = v->value;
			if (d > 0)
				n = snprintf(line, sizeof(line), "%s.%s:%lld|c", sd->prefix,
				             v->name, (long long)d);
		} else if (v->kind == RW_STAT_GAUGE) {
			n = snprintf(line, sizeof(line), "%s.%s:%lld|g", sd->prefix, v->name,
			             (long long)v->value);
		} else if (v->interval && v->interval->count) {
			for (uint32_t b = 0; b < RW_HIST_BUCKETS; b++) {
				uint64_t c = v->interval->b[b];
				double mid = (double)(rw_hist_low(b) + rw_hist_high(b) - 1) / 2;
				char val[48];

				if (!c)
					continue;
				if (v->unit == RW_STAT_UNIT_MS)
					fmt_ms(val, sizeof(val), mid / 1000.0);
				else
					snprintf(val, sizeof(val), "%.0f", mid);
				n = c == 1 ? snprintf(line, sizeof(line), "%s.%s:%s|ms", sd->prefix,
				                      v->name, val)
				           : snprintf(line, sizeof(line), "%s.%s:%s|ms|@%.6g",
				                      sd->prefix, v->name, val, 1.0 / (double)c);
				if (n > 0 && (size_t)n < sizeof(line))
					pack(p, line, (size_t)n);
			}
			continue;
		}
		if (n > 0 && (size_t)n < sizeof(line))
			pack(p, line, (size_t)n);
	}
	if (p->len)
		emit(ctx, p->buf, p->len);
	free(p);
	return 0;
}
