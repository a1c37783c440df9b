/*
 * The health checker thread: its own io_uring engine (created on the thread, SINGLE_ISSUER),
 * one session per (host, health check) pair, each a timer that alternates between "next
 * check" and "this check's timeout", and a fresh connection per check.
 *
 *   hc_cluster ──► hc_host (one ref on rw_host) ──► hc_session[n_health_checks]
 *        │            address + health_check_port     state (health/state.h), timer, socket
 *        └─ sync timer: re-read the cluster's host set (DNS changes), start/stop tracking
 *
 * A host is RW_HOST_FAILED_ACTIVE_HC when any of its sessions says unhealthy, and
 * RW_HOST_PENDING_HC while any session has no result yet.  Whenever those bits change the
 * cluster is refreshed from this thread, so the workers' balancers follow.
 *
 * Why a fresh connection per check (Envoy reuses one by default): a check then proves that
 * the host still accepts connections, which is what a host that stopped listening gets wrong
 * while an old connection lingers; the HTTP request says "Connection: close".
 */
#include "health/checker.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "config/config.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/timer.h"
#include "health/state.h"
#include "lb/cluster.h"
#include "lb/cluster_stats.h"
#include "lb/epoch.h"
#include "proto/h1.h"
#include "ring/engine.h"

#define SYNC_MAX_MS       1000u        /* host sets are re-read at least this often */
#define TCP_RECEIVE_MAX   (64u * 1024) /* bytes kept while looking for receive payloads */
#define START_WAIT_SLACK  1000u        /* first-round wait: longest timeout + this */
#define START_WAIT_MAX_MS 30000u
#define HOST_BITS         (RW_HOST_FAILED_ACTIVE_HC | RW_HOST_PENDING_HC)
#define USER_AGENT        "Envoy/HC"

struct hc_host;

struct hc_session {
	struct hc_host *hh;
	const struct rw_config_health_check *cfg;
	struct rw_health_state st;
	struct rw_timer timer; /* the next check; while a check runs, its timeout */
	struct rw_sock *sock;  /* non-NULL while a check runs */
	/* HTTP: response bytes not parsed yet, the parser, what the final head said. */
	struct rw_chain in;
	struct rw_h1_parser parser;
	uint16_t status;
	bool final_head, done;
	/* TCP: everything received so far (bounded), searched for the receive payloads. */
	uint8_t *rx;
	size_t rx_len;
	char detail[96]; /* why the last check failed */
};

struct hc_cluster;

struct hc_host {
	struct hc_host *next;
	struct hc_cluster *hc;
	struct rw_host *host;         /* one reference */
	struct sockaddr_storage addr; /* where checks connect (health_check_port applied) */
	socklen_t addrlen;
	bool seen;    /* in the set at the last sync */
	bool initial; /* counted in rw_health.initial_left until its first results */
	size_t n_sessions;
	struct hc_session sessions[];
};

struct hc_cluster {
	struct rw_health *h;
	struct rw_cluster *c;
	const struct rw_config_cluster *cfg;
	struct hc_host *hosts;
	struct rw_timer sync_timer;
	uint64_t sync_ms;
	bool had_traffic; /* some host ever had a connection: no_traffic_interval no more */
};

struct rw_health {
	struct hc_cluster *clusters;
	size_t n_clusters;
	pthread_t thread;
	struct rw_engine *eng;
	uint64_t rnd;
	uint64_t max_timeout_ms;
	/* Start-up handshake with rw_health_start(), under lock. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool ready;
	int init_result;
	char init_err[256];
	size_t initial_left;
};

static void start_check(struct rw_timer *t, void *arg);

static uint64_t next_random(struct rw_health *h)
{
	/* xorshift64*: jitter only needs to decorrelate hosts, not to be unpredictable. */
	h->rnd ^= h->rnd >> 12;
	h->rnd ^= h->rnd << 25;
	h->rnd ^= h->rnd >> 27;
	return h->rnd * UINT64_C(2685821657736338717);
}

static struct rw_timer_wheel *wheel(const struct hc_host *hh)
{
	return rw_engine_timers(hh->hc->h->eng);
}

/* ---- host bookkeeping ---- */

static void initial_done(struct hc_host *hh)
{
	struct rw_health *h = hh->hc->h;

	if (!hh->initial)
		return;
	hh->initial = false;
	pthread_mutex_lock(&h->lock);
	if (!--h->initial_left)
		pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
}

static uint16_t endpoint_hc_port(const struct rw_config_cluster *cc, const struct rw_host *host)
{
	const char *name = atomic_load_explicit(&host->hostname, memory_order_relaxed);
	const struct sockaddr_storage *ss = &host->addr;
	uint16_t port =
	    ntohs(ss->ss_family == AF_INET6 ? ((const struct sockaddr_in6 *)ss)->sin6_port
	                                    : ((const struct sockaddr_in *)ss)->sin_port);

	for (size_t i = 0; i < cc->n_endpoints; i++) {
		const struct rw_config_endpoint *ep = &cc->endpoints[i];

		if (name) {
			/* DNS: the endpoint this address was resolved from (name and port). */
			if (ep->hostname && (ep->hostname == name || !strcmp(ep->hostname, name)) &&
			    ep->port == port)
				return ep->health_check_port;
		} else if (ep->addr.len == host->addrlen &&
		           !memcmp(&ep->addr.ss, &host->addr, host->addrlen)) {
			return ep->health_check_port;
		}
	}
	return 0;
}

static struct hc_host *host_track(struct hc_cluster *hc, struct rw_host *host, bool initial)
{
	size_t n = hc->cfg->n_health_checks;
	struct hc_host *hh = calloc(1, sizeof(*hh) + n * sizeof(hh->sessions[0]));
	uint16_t port;

	if (!hh)
		return NULL;
	hh->hc = hc;
	hh->host = host;
	rw_host_ref(host);
	memcpy(&hh->addr, &host->addr, sizeof(hh->addr));
	hh->addrlen = host->addrlen;
	port = endpoint_hc_port(hc->cfg, host);
	if (port && hh->addr.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&hh->addr)->sin6_port = htons(port);
	else if (port)
		((struct sockaddr_in *)&hh->addr)->sin_port = htons(port);
	hh->n_sessions = n;
	for (size_t i = 0; i < n; i++) {
		struct hc_session *s = &hh->sessions[i];

		s->hh = hh;
		s->cfg = &hc->cfg->health_checks[i];
		rw_health_state_init(&s->st);
		/* The first check runs at once: nothing waits a whole interval to be routed. */
		rw_timer_add(wheel(hh), &s->timer, 0, start_check, s);
	}
	/* Envoy: a host of an actively checked cluster takes no traffic before its first check
	 * passes (the balancer's panic threshold still routes when every host is pending). */
	atomic_fetch_or(&host->health, HOST_BITS);
	hh->initial = initial;
	hh->next = hc->hosts;
	hc->hosts = hh;
	return hh;
}

static void probe_end(struct hc_session *s)
{
	if (s->sock) {
		rw_sock_close(s->sock);
		s->sock = NULL;
	}
	rw_chain_reset(&s->in);
	free(s->rx);
	s->rx = NULL;
	s->rx_len = 0;
}

static void host_untrack(struct hc_host *hh)
{
	for (size_t i = 0; i < hh->n_sessions; i++) {
		rw_timer_del(wheel(hh), &hh->sessions[i].timer);
		probe_end(&hh->sessions[i]);
	}
	initial_done(hh);
	rw_host_unref(hh->host);
	free(hh);
}

/* A session's state moved: recompute the host's bits, refresh and log when they changed. */
static void host_update(struct hc_host *hh, struct hc_session *s, enum rw_health_transition t,
                        bool was_pending)
{
	struct hc_cluster *hc = hh->hc;
	uint32_t want = 0, have;

	for (size_t i = 0; i < hh->n_sessions; i++) {
		if (hh->sessions[i].st.unhealthy)
			want |= RW_HOST_FAILED_ACTIVE_HC;
		if (hh->sessions[i].st.pending)
			want |= RW_HOST_PENDING_HC;
	}
	have = atomic_load(&hh->host->health) & HOST_BITS;
	if (want & ~have)
		atomic_fetch_or(&hh->host->health, want & ~have);
	if (have & ~want)
		atomic_fetch_and(&hh->host->health, ~(have & ~want));
	if ((have ^ want) & RW_HOST_FAILED_ACTIVE_HC) {
		if (want & RW_HOST_FAILED_ACTIVE_HC)
			rw_log_info("health",
			            "health check: cluster '%s' host %s is now unhealthy (%u "
			            "consecutive failure%s: %s)",
			            hc->c->name, hh->host->name, s->st.fail_streak,
			            s->st.fail_streak == 1 ? "" : "s", s->detail);
		else if (was_pending)
			rw_log_info(
			    "health",
			    "health check: cluster '%s' host %s is now healthy (first check "
			    "passed)",
			    hc->c->name, hh->host->name);
		else
			rw_log_info("health",
			            "health check: cluster '%s' host %s is now healthy (%u "
			            "consecutive success%s)",
			            hc->c->name, hh->host->name, s->st.ok_streak,
			            s->st.ok_streak == 1 ? "" : "es");
	} else if (was_pending && s->st.unhealthy) {
		rw_log_info("health",
		            "health check: cluster '%s' host %s is unhealthy (first check failed: "
		            "%s)",
		            hc->c->name, hh->host->name, s->detail);
	} else if (t == RW_HEALTH_CHANGE_PENDING && !s->st.unhealthy) {
		rw_log_debug("health", "health check: cluster '%s' host %s failed (%u of %u): %s",
		             hc->c->name, hh->host->name, s->st.fail_streak,
		             s->cfg->unhealthy_threshold, s->detail);
	}
	if (have != want)
		rw_cluster_refresh(hc->c);
	if (!(want & RW_HOST_PENDING_HC))
		initial_done(hh);
}

/* ---- one check ---- */

static void finish(struct hc_session *s, enum rw_health_result r, const char *detail)
{
	struct hc_host *hh = s->hh;
	struct hc_cluster *hc = hh->hc;
	bool was_pending = s->st.pending;
	enum rw_health_transition t;
	uint64_t delay;

	rw_timer_del(wheel(hh), &s->timer);
	probe_end(s);
	if (r != RW_HEALTH_OK)
		snprintf(s->detail, sizeof(s->detail), "%s", detail);
	rw_stat_inc(&hc->c->stats, r == RW_HEALTH_OK ? RW_CS_HC_SUCCESS : RW_CS_HC_FAILURE);
	if (r == RW_HEALTH_FAIL_NETWORK)
		rw_stat_inc(&hc->c->stats, RW_CS_HC_NETWORK_FAILURE);
	t = rw_health_state_record(&s->st, s->cfg, r);
	host_update(hh, s, t, was_pending);
	delay =
	    rw_health_next_delay(s->cfg, r == RW_HEALTH_OK, t, hc->had_traffic, next_random(hc->h));
	rw_timer_add(wheel(hh), &s->timer, delay, start_check, s);
}

static void finish_errno(struct hc_session *s, int err)
{
	char buf[96];

	snprintf(buf, sizeof(buf), "%s", strerror(-err));
	buf[0] = (char)tolower((unsigned char)buf[0]); /* "connection refused" */
	finish(s, RW_HEALTH_FAIL_NETWORK, buf);
}

static void check_timeout(struct rw_timer *t, void *arg)
{
	(void)t;
	finish(arg, RW_HEALTH_FAIL_NETWORK, "timeout");
}

/* HTTP */

static int http_on_headers(void *ctx, const struct rw_h1_head *head)
{
	struct hc_session *s = ctx;

	if (!head->interim) {
		s->final_head = true;
		s->status = head->status;
	}
	return 0;
}

static int http_on_complete(void *ctx)
{
	struct hc_session *s = ctx;

	if (!s->final_head)
		return 0; /* a 1xx: the final response follows */
	s->done = true;
	return RW_H1_PAUSE;
}

static const struct rw_h1_callbacks http_callbacks = {
    .on_headers_complete = http_on_headers,
    .on_message_complete = http_on_complete,
};

static void http_judge(struct hc_session *s)
{
	char buf[48];

	for (size_t i = 0; i < s->cfg->n_expected_statuses; i++)
		if (s->status >= s->cfg->expected_statuses[i].start &&
		    s->status < s->cfg->expected_statuses[i].end) {
			finish(s, RW_HEALTH_OK, NULL);
			return;
		}
	snprintf(buf, sizeof(buf), "HTTP status %u", s->status);
	finish(s, RW_HEALTH_FAIL_ACTIVE, buf);
}

static size_t field_find(const struct rw_h1_field *f, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (f[i].name_len == strlen(name) && !strncasecmp(f[i].name, name, f[i].name_len))
			return i;
	return n;
}

static void field_remove(struct rw_h1_field *f, size_t *n, size_t at)
{
	memmove(&f[at], &f[at + 1], (*n - at - 1) * sizeof(*f));
	(*n)--;
}

static struct rw_h1_field field(const char *name, const char *value)
{
	return (struct rw_h1_field){name, strlen(name), value, strlen(value)};
}

/*
 * GET <path> with Host (the configured host, else the cluster's name), User-Agent: Envoy/HC
 * and Connection: close; then request_headers_to_remove, then request_headers_to_add with
 * their append actions, as Envoy's header parser orders them.  Values are sent as written
 * (%VAR% operators are not expanded here).
 */
static int http_encode(struct hc_session *s)
{
	const struct rw_config_health_check *hc = s->cfg;
	struct rw_h1_field *f = calloc(3 + hc->n_request_headers_to_add, sizeof(*f));
	size_t n = 0, at;
	int r;

	if (!f)
		return -ENOMEM;
	f[n++] = field("Host", hc->host ? hc->host : s->hh->hc->c->name);
	f[n++] = field("User-Agent", USER_AGENT);
	f[n++] = field("Connection", "close");
	for (size_t i = 0; i < hc->n_request_headers_to_remove; i++) {
		const char *name = hc->request_headers_to_remove[i];

		while (strcasecmp(name, "host") && (at = field_find(f, n, name)) < n)
			field_remove(f, &n, at);
	}
	for (size_t i = 0; i < hc->n_request_headers_to_add; i++) {
		const struct rw_config_header_add *a = &hc->request_headers_to_add[i];

		if (!a->value[0] && !a->keep_empty_value)
			continue;
		at = field_find(f, n, a->key);
		switch (a->append_action) {
		case RW_CONFIG_ADD_IF_ABSENT:
			if (at < n)
				continue;
			break;
		case RW_CONFIG_OVERWRITE_IF_EXISTS:
			if (at == n)
				continue;
			__attribute__((fallthrough));
		case RW_CONFIG_OVERWRITE_IF_EXISTS_OR_ADD:
			while ((at = field_find(f, n, a->key)) < n)
				field_remove(f, &n, at);
			break;
		case RW_CONFIG_APPEND_IF_EXISTS_OR_ADD:
			break;
		}
		f[n++] = field(a->key, a->value);
	}
	r = rw_h1_encode_request_head(rw_sock_out(s->sock), rw_engine_pool(s->hh->hc->h->eng),
	                              "GET", hc->path, 1, f, n);
	free(f);
	return r;
}

static void http_feed(struct hc_session *s)
{
	const char *detail;
	ssize_t n;

	for (;;) {
		n = rw_h1_parse(&s->parser, &s->in, &http_callbacks, s);
		if (n < 0) {
			char buf[96];

			rw_h1_parser_error(&s->parser, &detail, NULL);
			snprintf(buf, sizeof(buf), "bad response: %s", detail ? detail : "?");
			finish(s, RW_HEALTH_FAIL_NETWORK, buf);
			return;
		}
		rw_chain_consume(&s->in, (size_t)n);
		if (s->done) {
			http_judge(s);
			return;
		}
		if (n == 0)
			return;
	}
}

/* TCP */

static bool tcp_matched(const struct hc_session *s)
{
	size_t pos = 0;

	for (size_t i = 0; i < s->cfg->n_receive; i++) {
		const struct rw_config_payload *p = &s->cfg->receive[i];
		const uint8_t *at = memmem(s->rx + pos, s->rx_len - pos, p->bytes, p->len);

		if (!at)
			return false;
		pos = (size_t)(at - s->rx) + p->len;
	}
	return true;
}

/* socket callbacks */

static void on_connect(struct rw_sock *sock, void *ctx)
{
	struct hc_session *s = ctx;
	struct rw_buf_pool *pool = rw_engine_pool(s->hh->hc->h->eng);
	int r = 0;

	(void)sock;
	if (s->cfg->kind == RW_CONFIG_HC_HTTP) {
		rw_h1_parser_init(&s->parser, RW_H1_RESPONSE, NULL);
		s->final_head = s->done = false;
		r = http_encode(s);
	} else if (s->cfg->send.len) {
		/* Without receive payloads, success is the send completing (on_sent). */
		r = rw_chain_append_copy(rw_sock_out(s->sock), pool, s->cfg->send.bytes,
		                         s->cfg->send.len);
	} else if (!s->cfg->n_receive) {
		finish(s, RW_HEALTH_OK, NULL); /* a plain connect check */
		return;
	}
	if (r) {
		finish_errno(s, r);
		return;
	}
	rw_sock_flush(s->sock);
	rw_sock_read_start(s->sock);
}

static void on_data(struct rw_sock *sock, void *ctx, struct rw_buf *b, uint32_t off, uint32_t len)
{
	struct hc_session *s = ctx;
	uint8_t *rx;

	(void)sock;
	if (s->cfg->kind == RW_CONFIG_HC_HTTP) {
		if (rw_chain_append_buf(&s->in, b, off, len)) {
			finish_errno(s, -ENOMEM);
			return;
		}
		http_feed(s);
		return;
	}
	if (s->rx_len + len > TCP_RECEIVE_MAX) {
		finish(s, RW_HEALTH_FAIL_NETWORK, "expected payload not found in 64 KiB");
		return;
	}
	rx = realloc(s->rx, s->rx_len + len);
	if (!rx) {
		finish_errno(s, -ENOMEM);
		return;
	}
	memcpy(rx + s->rx_len, b->data + off, len);
	s->rx = rx;
	s->rx_len += len;
	if (tcp_matched(s))
		finish(s, RW_HEALTH_OK, NULL);
}

static void on_eof(struct rw_sock *sock, void *ctx)
{
	struct hc_session *s = ctx;

	(void)sock;
	if (s->cfg->kind == RW_CONFIG_HC_HTTP) {
		if (rw_h1_parse_eof(&s->parser, &http_callbacks, s) == 0 && s->done) {
			http_judge(s);
			return;
		}
		finish(s, RW_HEALTH_FAIL_NETWORK, "connection closed before a complete response");
		return;
	}
	finish(s, RW_HEALTH_FAIL_NETWORK, "connection closed before the expected payload");
}

static void on_sent(struct rw_sock *sock, void *ctx)
{
	struct hc_session *s = ctx;

	if (s->cfg->kind == RW_CONFIG_HC_TCP && !s->cfg->n_receive && rw_sock_flushed(sock))
		finish(s, RW_HEALTH_OK, NULL);
}

static void on_error(struct rw_sock *sock, void *ctx, int err)
{
	(void)sock;
	finish_errno(ctx, err);
}

static const struct rw_sock_ops check_ops = {
    .on_data = on_data,
    .on_eof = on_eof,
    .on_error = on_error,
    .on_connect = on_connect,
    .on_sent = on_sent,
};

static void start_check(struct rw_timer *t, void *arg)
{
	struct hc_session *s = arg;
	struct hc_host *hh = s->hh;
	int r;

	(void)t;
	rw_stat_inc(&hh->hc->c->stats, RW_CS_HC_ATTEMPT);
	rw_timer_add(wheel(hh), &s->timer, s->cfg->timeout_ms, check_timeout, s);
	r = rw_sock_connect(hh->hc->h->eng, (const struct sockaddr *)&hh->addr, hh->addrlen,
	                    &check_ops, s, &s->sock);
	if (r) {
		s->sock = NULL;
		finish_errno(s, r);
	}
}

/* ---- following the cluster's host set ---- */

/* The cluster just had its first traffic: checks waiting out no_traffic_interval move up. */
static void traffic_started(struct hc_cluster *hc)
{
	struct rw_timer_wheel *w = rw_engine_timers(hc->h->eng);

	hc->had_traffic = true;
	for (struct hc_host *hh = hc->hosts; hh; hh = hh->next)
		for (size_t i = 0; i < hh->n_sessions; i++) {
			struct hc_session *s = &hh->sessions[i];
			uint64_t d;

			if (s->sock || !rw_timer_active(&s->timer))
				continue;
			d = rw_health_next_delay(s->cfg, !s->st.unhealthy, RW_HEALTH_UNCHANGED,
			                         true, next_random(hc->h));
			if (s->timer.expires > w->now + d)
				rw_timer_add(w, &s->timer, d, start_check, s);
		}
}

/* Re-read the host set: track new hosts (pending, checked at once), drop those that left. */
static void sync_cluster(struct hc_cluster *hc, bool initial)
{
	struct rw_host_set *set;
	struct rw_host **now = NULL;
	struct hc_host **pp, *hh;
	size_t n = 0;
	bool added = false;
	uint64_t cx = 0;

	rw_lb_read_lock();
	set = rw_cluster_hosts_writer(hc->c);
	if (set && set->n && (now = malloc(set->n * sizeof(*now)))) {
		n = set->n;
		for (size_t i = 0; i < n; i++) {
			now[i] = set->hosts[i];
			rw_host_ref(now[i]);
		}
	}
	rw_lb_read_unlock();
	if (set && set->n && !now) {
		rw_log_warn("health", "cluster '%s': out of memory, host set not re-read",
		            hc->c->name);
		return;
	}
	for (hh = hc->hosts; hh; hh = hh->next)
		hh->seen = false;
	for (size_t i = 0; i < n; i++) {
		cx += atomic_load_explicit(&now[i]->cx_total, memory_order_relaxed);
		for (hh = hc->hosts; hh && hh->host != now[i]; hh = hh->next)
			;
		if (!hh) {
			hh = host_track(hc, now[i], initial);
			added |= hh != NULL;
		}
		if (hh)
			hh->seen = true;
		rw_host_unref(now[i]);
	}
	free(now);
	for (pp = &hc->hosts; (hh = *pp);) {
		if (hh->seen) {
			pp = &hh->next;
			continue;
		}
		*pp = hh->next;
		rw_log_debug("health", "cluster '%s': host %s left, no longer checked", hc->c->name,
		             hh->host->name);
		host_untrack(hh);
	}
	if (initial) {
		size_t k = 0;

		for (hh = hc->hosts; hh; hh = hh->next)
			k++;
		pthread_mutex_lock(&hc->h->lock);
		hc->h->initial_left += k;
		pthread_mutex_unlock(&hc->h->lock);
	}
	if (added)
		rw_cluster_refresh(hc->c);
	if (cx && !hc->had_traffic)
		traffic_started(hc);
}

static void on_sync(struct rw_timer *t, void *arg)
{
	struct hc_cluster *hc = arg;

	sync_cluster(hc, false);
	rw_timer_add(rw_engine_timers(hc->h->eng), t, hc->sync_ms, on_sync, hc);
}

/* Draining starts (rw_health_stop): end every check; the engine exits once sockets close. */
static void on_stop(void *ctx)
{
	struct rw_health *h = ctx;

	for (size_t i = 0; i < h->n_clusters; i++) {
		struct hc_cluster *hc = &h->clusters[i];

		rw_timer_del(rw_engine_timers(h->eng), &hc->sync_timer);
		for (struct hc_host *hh = hc->hosts; hh; hh = hh->next)
			for (size_t k = 0; k < hh->n_sessions; k++) {
				rw_timer_del(wheel(hh), &hh->sessions[k].timer);
				probe_end(&hh->sessions[k]);
			}
	}
}

static void report_ready(struct rw_health *h, int r)
{
	pthread_mutex_lock(&h->lock);
	h->init_result = r;
	h->ready = true;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
}

static void *thread_main(void *arg)
{
	struct rw_health *h = arg;
	struct rw_engine_options eo = {
	    .buf_size = 16384, .buf_entries = 64, .sq_entries = 256, .worker_id = -1};
	int r = rw_lb_epoch_register();

	if (!r)
		(void)rw_stats_thread_attach(); /* else health_check.* go to the shared block */
	if (r)
		snprintf(h->init_err, sizeof(h->init_err), "no free host-set reader slot");
	else
		r = rw_engine_create(&eo, &h->eng, h->init_err, sizeof(h->init_err));
	if (r) {
		report_ready(h, r);
		goto out;
	}
	rw_engine_set_drain_start_cb(h->eng, on_stop, h);
	for (size_t i = 0; i < h->n_clusters; i++) {
		struct hc_cluster *hc = &h->clusters[i];

		sync_cluster(hc, true);
		rw_timer_add(rw_engine_timers(h->eng), &hc->sync_timer, hc->sync_ms, on_sync, hc);
	}
	report_ready(h, 0);
	r = rw_engine_run(h->eng);
	if (r)
		rw_log_error("health", "health checker stopped: %s", strerror(-r));
	for (size_t i = 0; i < h->n_clusters; i++) {
		struct hc_host *hh;

		while ((hh = h->clusters[i].hosts)) {
			h->clusters[i].hosts = hh->next;
			host_untrack(hh);
		}
	}
	rw_engine_destroy(h->eng);
out:
	rw_lb_epoch_unregister();
	return NULL;
}

static void free_health(struct rw_health *h)
{
	pthread_mutex_destroy(&h->lock);
	pthread_cond_destroy(&h->cond);
	free(h->clusters);
	free(h);
}

/* Envoy's cluster warming: wait (bounded) for every host's first result. */
static void wait_first_round(struct rw_health *h)
{
	uint64_t ms = h->max_timeout_ms + START_WAIT_SLACK;
	struct timespec dl;

	if (ms > START_WAIT_MAX_MS)
		ms = START_WAIT_MAX_MS;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += (time_t)(ms / 1000);
	dl.tv_nsec += (long)(ms % 1000) * 1000000;
	if (dl.tv_nsec >= 1000000000) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&h->lock);
	while (h->initial_left)
		if (pthread_cond_timedwait(&h->cond, &h->lock, &dl) == ETIMEDOUT)
			break;
	if (h->initial_left)
		rw_log_warn("health",
		            "%zu hosts have no first health check result after %llums; "
		            "starting",
		            h->initial_left, (unsigned long long)ms);
	pthread_mutex_unlock(&h->lock);
}

int rw_health_start(struct rw_health **out, const struct rw_health_target *targets, size_t n,
                    char *err, size_t errlen)
{
	struct rw_health *h;
	size_t k = 0;
	int r;

	*out = NULL;
	for (size_t i = 0; i < n; i++)
		k += targets[i].cfg->n_health_checks != 0;
	if (!k)
		return 0;
	h = calloc(1, sizeof(*h));
	if (!h || !(h->clusters = calloc(k, sizeof(*h->clusters)))) {
		free(h);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cond, NULL);
	h->rnd = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)h ^ UINT64_C(0x9e3779b97f4a7c15);
	for (size_t i = 0; i < n; i++) {
		const struct rw_config_cluster *cc = targets[i].cfg;
		struct hc_cluster *hc;

		if (!cc->n_health_checks)
			continue;
		hc = &h->clusters[h->n_clusters++];
		hc->h = h;
		hc->c = targets[i].cluster;
		hc->cfg = cc;
		hc->sync_ms = SYNC_MAX_MS;
		for (size_t j = 0; j < cc->n_health_checks; j++) {
			const struct rw_config_health_check *c = &cc->health_checks[j];

			if (c->interval_ms < hc->sync_ms)
				hc->sync_ms = c->interval_ms;
			if (c->timeout_ms > h->max_timeout_ms)
				h->max_timeout_ms = c->timeout_ms;
		}
	}
	if (pthread_create(&h->thread, NULL, thread_main, h)) {
		snprintf(err, errlen, "cannot start the health checker thread");
		free_health(h);
		return -EAGAIN;
	}
	pthread_mutex_lock(&h->lock);
	while (!h->ready)
		pthread_cond_wait(&h->cond, &h->lock);
	r = h->init_result;
	pthread_mutex_unlock(&h->lock);
	if (r) {
		snprintf(err, errlen, "%s", h->init_err);
		pthread_join(h->thread, NULL);
		free_health(h);
		return r;
	}
	wait_first_round(h);
	*out = h;
	return 0;
}

void rw_health_stop(struct rw_health *h)
{
	if (!h)
		return;
	rw_engine_drain(h->eng, 0);
	pthread_join(h->thread, NULL);
	free_health(h);
}
