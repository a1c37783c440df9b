/*
 * The small admin endpoints: /ready, /server_info, /clusters, /logging, /quitquitquit.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "admin/internal.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/memory.h"
#include "lb/cluster.h"
#include "lb/epoch.h"

uint16_t rw__admin_ready(struct rw_admin *a, const struct admin_req *r, struct admin_body *b,
                         const char **type)
{
	const char *state = rw__admin_server_state();

	(void)a;
	(void)r;
	(void)type;
	rw__admin_put(b, "%s\n", state);
	return strcmp(state, "LIVE") == 0 ? 200 : 503;
}

uint16_t rw__admin_server_info(struct rw_admin *a, const struct admin_req *r, struct admin_body *b,
                               const char **type)
{
	unsigned long long up = (unsigned long long)((rw_clock_ms() - a->start_ms) / 1000);
	char started[64];
	struct tm tm;

	(void)r;
	gmtime_r(&a->start_wall, &tm);
	strftime(started, sizeof(started), "%Y-%m-%dT%H:%M:%SZ", &tm);
	rw__admin_put(
	    b,
	    "{\"version\":\"%s\",\"state\":\"%s\",\"uptime_current_epoch\":\"%llus\","
	    "\"uptime_all_epochs\":\"%llus\",\"command_line_options\":{\"concurrency\":%d},"
	    "\"node\":{},\"start_time\":\"%s\"}\n",
	    a->opt.version, rw__admin_server_state(), up, up, a->opt.concurrency, started);
	*type = "application/json";
	return 200;
}

static const char *health_text(uint32_t h, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	if (!h)
		return "healthy";
	if (h & RW_HOST_FAILED_ACTIVE_HC)
		o += (size_t)snprintf(buf + o, len - o, "/failed_active_hc");
	if ((h & RW_HOST_PENDING_HC) && o < len)
		o += (size_t)snprintf(buf + o, len - o, "/pending_active_hc");
	if ((h & RW_HOST_EJECTED) && o < len)
		o += (size_t)snprintf(buf + o, len - o, "/failed_outlier_check");
	if ((h & RW_HOST_EDS_UNHEALTHY) && o < len)
		snprintf(buf + o, len - o, "/failed_eds_health");
	return buf;
}

/* Envoy's /clusters: "<cluster>::<host>::<stat>::<value>" lines, or ?format=json. */
uint16_t rw__admin_clusters(struct rw_admin *a, const struct admin_req *r, struct admin_body *b,
                            const char **type)
{
	char fmt[16] = "";
	bool json = rw__admin_query(r, "format", fmt, sizeof(fmt)) && strcmp(fmt, "json") == 0;

	if (json) {
		*type = "application/json";
		rw__admin_put(b, "{\"cluster_statuses\":[");
	}
	rw_lb_read_lock();
	for (size_t i = 0; i < a->opt.n_clusters; i++) {
		struct rw_cluster *c = a->opt.clusters[i];
		struct rw_host_set *set = atomic_load_explicit(&c->hosts, memory_order_acquire);
		size_t n = set ? set->n : 0;

		if (json) {
			rw__admin_put(b, "%s{\"name\":", i ? "," : "");
			rw__admin_put_json_str(b, c->name);
			rw__admin_put(b, ",\"host_statuses\":[");
		}
		for (size_t k = 0; k < n; k++) {
			struct rw_host *h = set->hosts[k];
			uint32_t hf = atomic_load_explicit(&h->health, memory_order_relaxed);
			char flags[96];
			long long cx =
			    (long long)atomic_load_explicit(&h->cx_active, memory_order_relaxed);
			unsigned long long total =
			    atomic_load_explicit(&h->cx_total, memory_order_relaxed);
			unsigned long long fail =
			    atomic_load_explicit(&h->cx_connect_fail, memory_order_relaxed);
			unsigned long long rq_total =
			    atomic_load_explicit(&h->rq_total, memory_order_relaxed);
			unsigned rq = atomic_load_explicit(&h->rq_active, memory_order_relaxed);

			health_text(hf, flags, sizeof(flags));
			if (json) {
				rw__admin_put(
				    b,
				    "%s{\"address\":\"%s\",\"cx_active\":%lld,\"cx_total\":%llu,"
				    "\"cx_connect_fail\":%llu,\"rq_active\":%u,\"rq_total\":%llu,"
				    "\"weight\":%u,\"priority\":%u,\"health_flags\":\"%s\"}",
				    k ? "," : "", h->name, cx, total, fail, rq, rq_total, h->weight,
				    h->priority, hf ? flags : "healthy");
				continue;
			}
			rw__admin_put(b, "%s::%s::cx_active::%lld\n", c->name, h->name, cx);
			rw__admin_put(b, "%s::%s::cx_total::%llu\n", c->name, h->name, total);
			rw__admin_put(b, "%s::%s::cx_connect_fail::%llu\n", c->name, h->name, fail);
			rw__admin_put(b, "%s::%s::rq_active::%u\n", c->name, h->name, rq);
			rw__admin_put(b, "%s::%s::rq_total::%llu\n", c->name, h->name, rq_total);
			rw__admin_put(b, "%s::%s::health_flags::%s\n", c->name, h->name,
			              hf ? flags : "healthy");
			rw__admin_put(b, "%s::%s::weight::%u\n", c->name, h->name, h->weight);
			rw__admin_put(b, "%s::%s::priority::%u\n", c->name, h->name, h->priority);
		}
		if (json)
			rw__admin_put(b, "]}");
	}
	rw_lb_read_unlock();
	if (json)
		rw__admin_put(b, "]}\n");
	return 200;
}

/* Envoy's /logging: POST ?level=<name> changes it; the level is one atomic. */
uint16_t rw__admin_logging(struct rw_admin *a, const struct admin_req *r, struct admin_body *b,
                           const char **type)
{
	char name[16];

	(void)a;
	(void)type;
	if (rw__admin_query(r, "level", name, sizeof(name))) {
		int level;

		if (!r->post) {
			rw__admin_put(b, "This endpoint requires POST.\n");
			return 405;
		}
		level = rw_log_level_parse(name);
		if (level < 0) {
			rw__admin_put(b, "error: unknown level '%s'\n", name);
			return 400;
		}
		atomic_store(&rw_log_level_current, level);
		rw_log_info("admin", "log level set to %s", name);
	}
	rw__admin_put(b, "active loggers:\n  all: %s\n",
	              rw_log_level_name((enum rw_log_level)atomic_load(&rw_log_level_current)));
	return 200;
}

uint16_t rw__admin_quit(struct rw_admin *a, const struct admin_req *r, struct admin_body *b,
                        const char **type)
{
	(void)a;
	(void)r;
	(void)type;
	rw__admin_put(b, "OK\n");
	rw_log_info("admin", "POST /quitquitquit: shutting down");
	kill(getpid(), SIGTERM); /* the main thread drains, as for a signal */
	return 200;
}

/* Envoy's POST /reopen_logs: after a log rotation moved the files away. */
uint16_t rw__admin_reopen_logs(struct rw_admin *a, const struct admin_req *r, struct admin_body *b,
                               const char **type)
{
	char err[256] = "";
	int n;

	(void)r;
	(void)type;
	if (!a->opt.reopen_logs) {
		rw__admin_put(b, "not available\n");
		return 503;
	}
	n = a->opt.reopen_logs(err, sizeof(err));
	if (n < 0) {
		rw__admin_put(b, "%s\n", err);
		return 500;
	}
	rw_log_info("admin", "POST /reopen_logs: %d access log file(s) reopened", n);
	rw__admin_put(b, "OK\n");
	return 200;
}

/* Envoy's /memory, from glibc's allocator (Envoy reports tcmalloc's): byte counts as strings,
 * as Envoy prints them.  A sanitizer's allocator leaves glibc's counters at 0. */
uint16_t rw__admin_memory(struct rw_admin *a, const struct admin_req *r, struct admin_body *b,
                          const char **type)
{
	struct rw_memory m;

	(void)a;
	(void)r;
	rw_memory_read(&m);
	*type = "application/json";
	rw__admin_put(b,
	              "{\"allocated\":\"%llu\",\"heap_size\":\"%llu\",\"pageheap_unmapped\":\"0\","
	              "\"pageheap_free\":\"%llu\",\"total_thread_cache\":\"0\","
	              "\"total_physical_bytes\":\"%llu\"}\n",
	              (unsigned long long)m.allocated, (unsigned long long)m.heap_size,
	              (unsigned long long)m.heap_free, (unsigned long long)m.resident);
	return 200;
}
