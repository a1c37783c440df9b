/*
 * /stats (text, ?format=json, ?filter=<regex>, ?usedonly, ?type=), /stats/prometheus and
 * POST /reset_counters, from a merged read of every thread's stats block (stats/stats.h).
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <math.h>
#include <pcre2.h>
#include <stdio.h>
#include <string.h>

#include "admin/internal.h"
#include "stats/stats.h"

static const double quantiles[] = {0, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999, 1};
static const char *const quantile_names[] = {"P0",  "P25", "P50",   "P75",   "P90",
                                             "P95", "P99", "P99.5", "P99.9", "P100"};
#define N_QUANTILES (sizeof(quantiles) / sizeof(quantiles[0]))

/* Prometheus' default buckets as Envoy uses them (milliseconds). */
static const double buckets_ms[] = {0.5,   1,      5,      10,      25,     50,    100,
                                    250,   500,    1000,   2500,    5000,   10000, 30000,
                                    60000, 300000, 600000, 1800000, 3600000};

struct stats_query {
	bool usedonly;
	bool counters, gauges, histograms; /* ?type= */
	pcre2_code *filter;
	pcre2_match_data *md;
};

static int query_parse(const struct admin_req *r, struct stats_query *q, struct admin_body *b)
{
	char val[512];

	memset(q, 0, sizeof(*q));
	q->usedonly = rw__admin_query(r, "usedonly", val, sizeof(val));
	q->counters = q->gauges = q->histograms = true;
	if (rw__admin_query(r, "type", val, sizeof(val)) && strcmp(val, "All") != 0) {
		q->counters = strcmp(val, "Counters") == 0;
		q->gauges = strcmp(val, "Gauges") == 0;
		q->histograms = strcmp(val, "Histograms") == 0;
		if (!q->counters && !q->gauges && !q->histograms) {
			rw__admin_put(b, "usage: type=(All|Counters|Gauges|Histograms)\n");
			return -1;
		}
	}
	if (rw__admin_query(r, "filter", val, sizeof(val)) && val[0]) {
		int err;
		PCRE2_SIZE off;

		q->filter =
		    pcre2_compile((PCRE2_SPTR)val, PCRE2_ZERO_TERMINATED, 0, &err, &off, NULL);
		if (!q->filter) {
			PCRE2_UCHAR msg[128];

			pcre2_get_error_message(err, msg, sizeof(msg));
			rw__admin_put(b, "Invalid re2 regex: %s at offset %zu\n", (char *)msg,
			              (size_t)off);
			return -1;
		}
		q->md = pcre2_match_data_create_from_pattern(q->filter, NULL);
		if (!q->md) {
			pcre2_code_free(q->filter);
			q->filter = NULL;
			rw__admin_put(b, "out of memory\n");
			return -1;
		}
	}
	return 0;
}

static void query_free(struct stats_query *q)
{
	pcre2_match_data_free(q->md);
	pcre2_code_free(q->filter);
}

/* Listed at all (per-status counters only once used), and by the query? */
static bool wanted(const struct stats_query *q, const struct rw_stat_view *v)
{
	if (v->lazy && !v->used)
		return false;
	if (q->usedonly && !v->used)
		return false;
	if ((v->kind == RW_STAT_COUNTER && !q->counters) ||
	    (v->kind == RW_STAT_GAUGE && !q->gauges) ||
	    (v->kind == RW_STAT_HISTOGRAM && !q->histograms))
		return false;
	return !q->filter ||
	       pcre2_match(q->filter, (PCRE2_SPTR)v->name, strlen(v->name), 0, 0, q->md, NULL) >= 0;
}

/* A histogram value in its display unit, as a short decimal ("0.125", "12", "1050"). */
static void put_value(struct admin_body *b, const struct rw_stat_view *v, double raw)
{
	double x = v->unit == RW_STAT_UNIT_MS ? raw / 1000.0 : raw;
	char buf[64];
	size_t n;

	if (isnan(x)) {
		rw__admin_put(b, "nan");
		return;
	}
	n = (size_t)snprintf(buf, sizeof(buf), "%.3f", x);
	while (n > 1 && buf[n - 1] == '0')
		buf[--n] = '\0';
	if (n > 1 && buf[n - 1] == '.')
		buf[--n] = '\0';
	rw__admin_put_mem(b, buf, n);
}

static double quantile_of(const struct rw_hist *h, size_t i)
{
	return h && h->count ? rw_hist_quantile(h, quantiles[i]) : NAN;
}

static void text(const struct rw_stats_read *rd, const struct stats_query *q, struct admin_body *b)
{
	for (size_t i = 0; i < rd->n; i++) {
		const struct rw_stat_view *v = &rd->v[i];

		if (v->kind == RW_STAT_HISTOGRAM || !wanted(q, v))
			continue;
		rw__admin_put(b, "%s: %lld\n", v->name, (long long)v->value);
	}
	for (size_t i = 0; i < rd->n; i++) {
		const struct rw_stat_view *v = &rd->v[i];

		if (v->kind != RW_STAT_HISTOGRAM || !wanted(q, v))
			continue;
		rw__admin_put(b, "%s: ", v->name);
		if (!v->cum->count) {
			rw__admin_put(b, "No recorded values\n");
			continue;
		}
		for (size_t k = 0; k < N_QUANTILES; k++) {
			rw__admin_put(b, "%s%s(", k ? " " : "", quantile_names[k]);
			put_value(b, v, quantile_of(v->interval, k));
			rw__admin_put_mem(b, ",", 1);
			put_value(b, v, quantile_of(v->cum, k));
			rw__admin_put_mem(b, ")", 1);
		}
		rw__admin_put_mem(b, "\n", 1);
	}
}

static void json_number(struct admin_body *b, const struct rw_stat_view *v, double raw)
{
	if (isnan(raw))
		rw__admin_put(b, "null");
	else
		put_value(b, v, raw);
}

static void json(const struct rw_stats_read *rd, const struct stats_query *q, struct admin_body *b)
{
	bool first = true;

	rw__admin_put(b, "{\"stats\":[");
	for (size_t i = 0; i < rd->n; i++) {
		const struct rw_stat_view *v = &rd->v[i];

		if (v->kind == RW_STAT_HISTOGRAM || !wanted(q, v))
			continue;
		rw__admin_put(b, "%s{\"name\":", first ? "" : ",");
		rw__admin_put_json_str(b, v->name);
		rw__admin_put(b, ",\"value\":%lld}", (long long)v->value);
		first = false;
	}
	if (q->histograms) {
		bool hfirst = true;

		rw__admin_put(b,
		              "%s{\"histograms\":{\"supported_quantiles\":[0,25,50,75,90,95,99,"
		              "99.5,99.9,100],\"computed_quantiles\":[",
		              first ? "" : ",");
		for (size_t i = 0; i < rd->n; i++) {
			const struct rw_stat_view *v = &rd->v[i];

			if (v->kind != RW_STAT_HISTOGRAM || !wanted(q, v))
				continue;
			rw__admin_put(b, "%s{\"name\":", hfirst ? "" : ",");
			rw__admin_put_json_str(b, v->name);
			rw__admin_put(b, ",\"values\":[");
			for (size_t k = 0; k < N_QUANTILES; k++) {
				rw__admin_put(b, "%s{\"interval\":", k ? "," : "");
				json_number(b, v, quantile_of(v->interval, k));
				rw__admin_put(b, ",\"cumulative\":");
				json_number(b, v, quantile_of(v->cum, k));
				rw__admin_put_mem(b, "}", 1);
			}
			/* ringway: counts too, so a dashboard can draw rates without a scrape diff
			 */
			rw__admin_put(b, "],\"count\":%llu,\"interval_count\":%llu}",
			              (unsigned long long)v->cum->count,
			              (unsigned long long)(v->interval ? v->interval->count : 0));
			hfirst = false;
		}
		rw__admin_put(b, "]}}");
	}
	rw__admin_put(b, "]}\n");
}

/* The query and a merged read of every block: 0, or the status of the error answered in b. */
static uint16_t begin(const struct admin_req *r, struct admin_body *b, struct stats_query *q,
                      struct rw_stats_read *rd)
{
	if (query_parse(r, q, b))
		return 400;
	if (rw_stats_read(rd)) {
		query_free(q);
		rw__admin_put(b, "out of memory\n");
		return 503;
	}
	return 0;
}

uint16_t rw__admin_stats(struct rw_admin *a, const struct admin_req *r, struct admin_body *b,
                         const char **type)
{
	struct rw_stats_read rd;
	struct stats_query q;
	char fmt[16] = "";
	uint16_t err = begin(r, b, &q, &rd);

	(void)a;
	if (err)
		return err;
	if (rw__admin_query(r, "format", fmt, sizeof(fmt)) && strcmp(fmt, "json") == 0) {
		*type = "application/json";
		json(&rd, &q, b);
	} else if (fmt[0] && strcmp(fmt, "text") != 0) {
		rw__admin_put(b, "usage: format=(json|text)\n");
		rw_stats_read_free(&rd);
		query_free(&q);
		return 400;
	} else {
		text(&rd, &q, b);
	}
	rw_stats_read_free(&rd);
	query_free(&q);
	return 200;
}

/* Prometheus text exposition 0.0.4: one # TYPE per metric, its series grouped under it. */
static void prom_series(struct admin_body *b, const struct rw_stat_view *v, const char *suffix,
                        const char *extra)
{
	bool any = v->labels[0] || extra[0];

	rw__admin_put(b, "%s%s%s%s%s%s%s", v->prom, suffix, any ? "{" : "", v->labels,
	              v->labels[0] && extra[0] ? "," : "", extra, any ? "}" : "");
}

uint16_t rw__admin_prometheus(struct rw_admin *a, const struct admin_req *r, struct admin_body *b,
                              const char **type)
{
	struct rw_stats_read rd;
	struct stats_query q;
	const char *last = "";
	uint16_t err = begin(r, b, &q, &rd);

	(void)a;
	if (err)
		return err;
	*type = "text/plain; version=0.0.4";
	for (size_t i = 0; i < rd.n; i++) {
		const struct rw_stat_view *v = &rd.v[rd.by_prom[i]];

		if (!wanted(&q, v))
			continue;
		if (strcmp(v->prom, last) != 0) {
			rw__admin_put(b, "# TYPE %s %s\n", v->prom,
			              v->kind == RW_STAT_COUNTER ? "counter"
			              : v->kind == RW_STAT_GAUGE ? "gauge"
			                                         : "histogram");
			last = v->prom;
		}
		if (v->kind != RW_STAT_HISTOGRAM) {
			prom_series(b, v, "", "");
			rw__admin_put(b, " %lld\n", (long long)v->value);
			continue;
		}
		for (size_t k = 0; k < sizeof(buckets_ms) / sizeof(buckets_ms[0]); k++) {
			char le[48];
			double bound = buckets_ms[k];
			uint64_t raw =
			    v->unit == RW_STAT_UNIT_MS ? (uint64_t)(bound * 1000) : (uint64_t)bound;

			snprintf(le, sizeof(le), "le=\"%g\"", bound);
			prom_series(b, v, "_bucket", le);
			rw__admin_put(b, " %llu\n",
			              (unsigned long long)rw_hist_count_le(v->cum, raw));
		}
		prom_series(b, v, "_bucket", "le=\"+Inf\"");
		rw__admin_put(b, " %llu\n", (unsigned long long)v->cum->count);
		prom_series(b, v, "_sum", "");
		rw__admin_put_mem(b, " ", 1);
		if (v->unit == RW_STAT_UNIT_MS)
			put_value(b, v, (double)v->cum->sum);
		else
			rw__admin_put(b, "%llu", (unsigned long long)v->cum->sum);
		rw__admin_put_mem(b, "\n", 1);
		prom_series(b, v, "_count", "");
		rw__admin_put(b, " %llu\n", (unsigned long long)v->cum->count);
	}
	rw_stats_read_free(&rd);
	query_free(&q);
	return 200;
}

uint16_t rw__admin_reset_counters(struct rw_admin *a, const struct admin_req *r,
                                  struct admin_body *b, const char **type)
{
	(void)a;
	(void)r;
	(void)type;
	rw_stats_reset_counters();
	rw__admin_put(b, "OK\n");
	return 200;
}
