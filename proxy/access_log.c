/*
 * Envoy access logs shared by the HCM and tcp_proxy (see access_log.h).
 *
 * The main thread opens each log's file (O_APPEND) when a listener is built; workers only
 * format and hand bytes to the ring.  Each worker keeps, per log, two 64 KiB buffers:
 * lines are formatted straight into the filling one, and whenever no write is in flight it
 * is handed to the kernel with one io_uring write (rw_engine_file_write) while the other
 * fills.  A line that does not fit while a write is in flight is dropped and counted, so a
 * slow disk never blocks a worker nor grows memory.  Since every write holds whole lines
 * and the file is O_APPEND, workers sharing a file never interleave inside a line.  The
 * engine's loop keeps running until its writes complete, so a drain flushes what is
 * buffered.
 */
#include "proxy/access_log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "core/hex.h"
#include "core/log.h"
#include "core/timer.h"
#include "proxy/http_headers.h"
#include "proxy/http_internal.h"
#include "proxy/stats.h"
#include "proxy/worker.h"
#include "ring/engine.h"

#define LOG_BUF_SIZE (64u * 1024u)
/* A buffer is written once it holds this much, or FLUSH_MS after its first line (Envoy's
 * file_flush_interval is 1 s): under load a write carries ~100 lines, not one, and io_uring
 * wakes its file-write worker thread rarely. */
#define FLUSH_BYTES (16u * 1024u)
#define FLUSH_MS    100

struct rw_access_log_writer {
	const struct rw_access_log *log;
	struct rw_proxy_worker *w;
	char *buf[2];
	uint32_t len[2];
	uint32_t sent; /* of the buffer in flight, after a short write */
	int fill;      /* the buffer lines are appended to; the other one may be in flight */
	bool inflight;
	bool timer_armed;
	struct rw_timer timer; /* FLUSH_MS after the first line of a buffer */
};

const char *rw_access_log_flags_format(uint32_t flags, char *buf, size_t len)
{
	static const char *const names[] = {"UH",  "UF", "UO", "NR", "URX", "NC", "DT",
	                                    "DC",  "UT", "LR", "UR", "UC",  "SI", "DPE",
	                                    "UPE", "DI", "FI", "RL", "LH"};
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(flags & (1u << i)))
			continue;
		o += (size_t)snprintf(buf + o, o < len ? len - o : 0, "%s%s", o ? "," : "",
		                      names[i]);
	}
	if (!o)
		snprintf(buf, len, "-");
	return buf;
}

const char *rw_access_log_failure_reason(int err)
{
	switch (err) {
	case -ECONNREFUSED:
		return "connection refused";
	case -ETIMEDOUT:
		return "connect timeout";
	case -ECONNRESET:
		return "connection reset";
	case -EHOSTUNREACH:
		return "host unreachable";
	case -ENETUNREACH:
		return "network unreachable";
	case -EPIPE:
		return "broken pipe";
	case -ENOMEM:
	case -EMFILE:
	case -ENFILE:
		return "local resource exhausted";
	default:
		return "connection failure";
	}
}

/* Every open set of logs, so /reopen_logs and SIGUSR1 can reach them (log rotation). */
struct log_group {
	struct rw_access_log *logs;
	size_t n;
};

static struct {
	pthread_mutex_t lock;
	struct log_group *g;
	size_t n, cap;
} groups = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int group_add(struct rw_access_log *logs, size_t n)
{
	int r = 0;

	pthread_mutex_lock(&groups.lock);
	if (groups.n == groups.cap) {
		size_t cap = groups.cap ? groups.cap * 2 : 8;
		struct log_group *g = realloc(groups.g, cap * sizeof(*g));

		if (!g)
			r = -ENOMEM;
		else
			groups.g = g, groups.cap = cap;
	}
	if (!r)
		groups.g[groups.n++] = (struct log_group){logs, n};
	pthread_mutex_unlock(&groups.lock);
	return r;
}

static void group_remove(const struct rw_access_log *logs)
{
	pthread_mutex_lock(&groups.lock);
	for (size_t i = 0; i < groups.n; i++)
		if (groups.g[i].logs == logs) {
			groups.g[i] = groups.g[--groups.n];
			break;
		}
	if (!groups.n) {
		free(groups.g);
		groups.g = NULL;
		groups.cap = 0;
	}
	pthread_mutex_unlock(&groups.lock);
}

/*
 * Reopen by path and dup2() the new file onto the old descriptor: workers keep writing to
 * the same fd number, now the new file, with no window where the number is closed or reused;
 * writes in flight hold their own reference to the old file and finish there.
 */
int rw_access_logs_reopen(char *err, size_t errlen)
{
	int first = 0, count = 0;

	pthread_mutex_lock(&groups.lock);
	for (size_t i = 0; i < groups.n; i++)
		for (size_t k = 0; k < groups.g[i].n; k++) {
			struct rw_access_log *l = &groups.g[i].logs[k];
			int fd;

			if (!l->own_fd)
				continue;
			fd = open(l->cfg->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
			if (fd < 0 || dup2(fd, l->fd) < 0) {
				if (!first) {
					first = -errno;
					snprintf(err, errlen, "cannot reopen access log '%s': %s",
					         l->cfg->path, strerror(errno));
				}
				if (fd >= 0)
					close(fd);
				continue;
			}
			close(fd);
			count++;
		}
	pthread_mutex_unlock(&groups.lock);
	return first ? first : count;
}

int rw_access_logs_open(const struct rw_config_access_log *cfgs, size_t n,
                        struct rw_access_log **out, char *err, size_t errlen)
{
	struct rw_access_log *logs;

	*out = NULL;
	if (!n)
		return 0;
	logs = calloc(n, sizeof(*logs));
	if (!logs)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct rw_config_access_log *cfg = &cfgs[i];
		struct rw_access_log *l = &logs[i];

		l->cfg = cfg;
		if (cfg->kind == RW_CONFIG_ACCESS_LOG_STDOUT) {
			l->fd = STDOUT_FILENO;
		} else if (cfg->kind == RW_CONFIG_ACCESS_LOG_STDERR) {
			l->fd = STDERR_FILENO;
		} else {
			l->fd = open(cfg->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
			if (l->fd < 0) {
				int r = -errno;

				snprintf(err, errlen, "cannot open access log '%s': %s", cfg->path,
				         strerror(errno));
				rw_access_logs_close(logs, i);
				return r;
			}
			l->own_fd = true;
		}
	}
	if (group_add(logs, n)) {
		snprintf(err, errlen, "out of memory");
		rw_access_logs_close(logs, n);
		return -ENOMEM;
	}
	*out = logs;
	return 0;
}

void rw_access_logs_close(struct rw_access_log *logs, size_t n)
{
	if (logs)
		group_remove(logs);
	for (size_t i = 0; i < n; i++)
		if (logs[i].own_fd)
			close(logs[i].fd);
	free(logs);
}

static bool compare(enum rw_config_cmp_op op, uint64_t a, uint64_t b)
{
	switch (op) {
	case RW_CONFIG_CMP_EQ:
		return a == b;
	case RW_CONFIG_CMP_GE:
		return a >= b;
	case RW_CONFIG_CMP_LE:
		return a <= b;
	case RW_CONFIG_CMP_NE:
		return a != b;
	case RW_CONFIG_CMP_LT:
		return a < b;
	case RW_CONFIG_CMP_GT:
		return a > b;
	}
	return false;
}

/* xorshift64* (as the HCM's own draws): sampling needs spread, not secrecy. */
static uint64_t draw(uint64_t *state)
{
	uint64_t x = *state;

	if (!x) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		x = ((uint64_t)ts.tv_sec * 1000000007u) ^ (uint64_t)ts.tv_nsec ^ (uintptr_t)state;
		if (!x)
			x = 0x9e3779b97f4a7c15u;
	}
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * UINT64_C(2685821657736338717);
}

/* Envoy's UUID draw (UuidUtils::uuidModBy): the first 8 hex digits of x-request-id, so every
   log of one request (and every hop sharing the id) samples alike.  False without one. */
static bool request_id_value(const struct rw_http_headers *h, uint64_t *out)
{
	size_t len;
	const char *id = h ? rw_http_headers_get(h, "x-request-id", &len) : NULL;
	uint64_t v = 0;

	if (!id || len < 8)
		return false;
	for (size_t i = 0; i < 8; i++) {
		char c = id[i];
		unsigned d;

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			return false;
		v = v << 4 | d;
	}
	*out = v;
	return true;
}

/* RuntimeFilter with no runtime override: value % denominator < numerator (featureEnabled). */
static bool sampled(const struct rw_config_access_log_filter *flt,
                    const struct rw_access_log_facts *f)
{
	uint64_t v;

	if (flt->u.runtime.independent_randomness || !request_id_value(f->request, &v)) {
		uint64_t local = 0;

		v = draw(f->rng ? f->rng : &local);
	}
	return v % flt->u.runtime.denominator < flt->u.runtime.numerator;
}

static bool pass(const struct rw_config_access_log_filter *flt, const struct rw_access_log_facts *f)
{
	static const struct rw_http_headers no_headers;

	switch (flt->kind) {
	case RW_CONFIG_AL_FILTER_NONE:
		return true;
	case RW_CONFIG_AL_FILTER_NOT_HEALTH_CHECK:
		return !f->health_check;
	case RW_CONFIG_AL_FILTER_STATUS_CODE:
		return compare(flt->u.cmp.op, f->status, flt->u.cmp.value);
	case RW_CONFIG_AL_FILTER_DURATION:
		return compare(flt->u.cmp.op, f->duration_ms, flt->u.cmp.value);
	case RW_CONFIG_AL_FILTER_RESPONSE_FLAG:
		return flt->u.flag_mask ? (f->rflags & flt->u.flag_mask) != 0 : f->rflags != 0;
	case RW_CONFIG_AL_FILTER_RUNTIME:
		return sampled(flt, f);
	case RW_CONFIG_AL_FILTER_TRACEABLE:
		/* Envoy: traced with reason ServiceForced; a health check is never traced. */
		return f->trace_forced && !f->health_check;
	case RW_CONFIG_AL_FILTER_HEADER:
		/* Envoy matches a session without request headers against an empty map. */
		return rw__http_header_matches(f->request ? f->request : &no_headers,
		                               &flt->u.header);
	case RW_CONFIG_AL_FILTER_AND:
		for (size_t i = 0; i < flt->u.list.n; i++)
			if (!pass(&flt->u.list.filters[i], f))
				return false;
		return true;
	case RW_CONFIG_AL_FILTER_OR:
		for (size_t i = 0; i < flt->u.list.n; i++)
			if (pass(&flt->u.list.filters[i], f))
				return true;
		return false;
	}
	return true;
}

bool rw_access_log_pass(const struct rw_config_access_log *log, const struct rw_access_log_facts *f)
{
	return pass(&log->filter, f);
}

/* ---- lines ---- */

/* A value whose format is one numeric operator is written as a JSON number (Envoy's typed
   JSON): these operators print digits or "-". */
static bool numeric_format(const char *f)
{
	static const char *const numeric[] = {
	    "%RESPONSE_CODE%",    "%BYTES_RECEIVED%",    "%BYTES_SENT%",
	    "%DURATION%",         "%CONNECTION_ID%",     "%UPSTREAM_REQUEST_ATTEMPT_COUNT%",
	    "%REQUEST_DURATION%", "%RESPONSE_DURATION%", "%RESPONSE_TX_DURATION%",
	};
	size_t n = strlen(f);

	for (size_t i = 0; i < sizeof(numeric) / sizeof(numeric[0]); i++)
		if (strcmp(f, numeric[i]) == 0)
			return true;
	return n > 19 && memcmp(f, "%COMMON_DURATION(", 17) == 0 && f[n - 2] == ')' &&
	       strchr(f + 1, '%') == f + n - 1;
}

static void jstring(struct rw_format_out *o, const char *s, size_t n)
{

	rw_format_put(o, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		char esc[6] = {'\\', 'u', '0', '0', RW_HEX_LOWER[ch >> 4], RW_HEX_LOWER[ch & 15]};

		if (ch == '"' || ch == '\\') {
			char two[2] = {'\\', (char)ch};

			rw_format_put(o, two, 2);
		} else if (ch < 0x20) {
			rw_format_put(o, esc, 6);
		} else {
			rw_format_put(o, (const char *)&s[i], 1);
		}
	}
	rw_format_put(o, "\"", 1);
}

static bool all_digits(const char *s, size_t n)
{
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* One JSON object: each value is expanded in place at the end of o, then, as a string,
   moved right by the quotes and escapes it needs (bounded by o's room). */
static void json_object(struct rw_format_out *o, const struct rw_config_access_log_json_field *f,
                        size_t n, rw_format_var_fn fn, void *ctx, char *tmp, size_t tmp_cap)
{
	rw_format_put(o, "{", 1);
	for (size_t i = 0; i < n && !o->overflow; i++) {
		int len;

		if (i)
			rw_format_put(o, ",", 1);
		jstring(o, f[i].key, strlen(f[i].key));
		rw_format_put(o, ":", 1);
		if (!f[i].format) {
			json_object(o, f[i].fields, f[i].n_fields, fn, ctx, tmp, tmp_cap);
			continue;
		}
		len = rw_format_expand(f[i].format, fn, ctx, true, tmp, tmp_cap);
		if (len < 0) {
			o->overflow = true;
			return;
		}
		if (numeric_format(f[i].format) && all_digits(tmp, (size_t)len))
			rw_format_put(o, tmp, (size_t)len);
		else
			jstring(o, tmp, (size_t)len);
	}
	rw_format_put(o, "}", 1);
}

int rw_access_log_format(const struct rw_config_access_log *log, rw_format_var_fn fn, void *ctx,
                         char *out, size_t cap)
{
	struct rw_format_out o = {.p = out, .cap = cap};
	char tmp[8192];

	if (!log->json)
		return rw_format_expand(log->format ? log->format : RW_CONFIG_ACCESS_LOG_DEFAULT,
		                        fn, ctx, true, out, cap);
	json_object(&o, log->json_fields, log->n_json_fields, fn, ctx, tmp, sizeof(tmp));
	rw_format_put(&o, "\n", 1);
	return o.overflow ? -ENOSPC : (int)o.len;
}

/* ---- writing ---- */

static void writer_start(struct rw_access_log_writer *w);
static void writer_schedule(struct rw_access_log_writer *w);

static void write_done(void *ctx, int res)
{
	struct rw_access_log_writer *w = ctx;
	int idx = w->fill ^ 1;

	if (res > 0)
		rw_gauge_add(&rw_proxy_fs_stats, RW_FS_WRITE_TOTAL_BUFFERED, -(int64_t)res);
	if (res > 0 && w->sent + (uint32_t)res < w->len[idx]) {
		/* Short write: the rest goes next, before any newer line. */
		w->sent += (uint32_t)res;
		if (rw_engine_file_write(w->w->eng, w->log->fd, w->buf[idx] + w->sent,
		                         w->len[idx] - w->sent, write_done, w) == 0)
			return;
		rw_stat_inc(&rw_proxy_fs_stats, RW_FS_WRITE_FAILED);
		rw_gauge_add(&rw_proxy_fs_stats, RW_FS_WRITE_TOTAL_BUFFERED,
		             -(int64_t)(w->len[idx] - w->sent));
	} else if (res < 0) {
		rw_log_warn("proxy", "access log write failed: %s", strerror(-res));
		rw_stat_inc(&rw_proxy_fs_stats, RW_FS_WRITE_FAILED);
		rw_gauge_add(&rw_proxy_fs_stats, RW_FS_WRITE_TOTAL_BUFFERED,
		             -(int64_t)(w->len[idx] - w->sent));
	} else {
		rw_stat_inc(&rw_proxy_fs_stats, RW_FS_WRITE_COMPLETED);
	}
	w->len[idx] = 0;
	w->inflight = false;
	writer_schedule(w);
}

static void flush_timer(struct rw_timer *t, void *arg)
{
	struct rw_access_log_writer *w = arg;

	(void)t;
	w->timer_armed = false;
	writer_start(w);
	if (w->inflight)
		return;
	writer_schedule(w); /* nothing was written (a failed submit): try again later */
}

/* Write now when enough is buffered or the server drains, else within FLUSH_MS. */
static void writer_schedule(struct rw_access_log_writer *w)
{
	if (!w->len[w->fill])
		return;
	if (w->len[w->fill] >= FLUSH_BYTES || rw_engine_draining(w->w->eng)) {
		writer_start(w);
		if (w->inflight)
			return;
	}
	if (!w->timer_armed) {
		rw_timer_add(rw_engine_timers(w->w->eng), &w->timer, FLUSH_MS, flush_timer, w);
		w->timer_armed = true;
	}
}

static void writer_start(struct rw_access_log_writer *w)
{
	int idx = w->fill;

	if (w->inflight || !w->len[idx])
		return;
	if (w->timer_armed) {
		rw_timer_del(rw_engine_timers(w->w->eng), &w->timer);
		w->timer_armed = false;
	}
	w->fill ^= 1;
	w->sent = 0;
	w->inflight = true;
	if (rw_engine_file_write(w->w->eng, w->log->fd, w->buf[idx], w->len[idx], write_done, w)) {
		w->w->log_dropped++;
		rw_stat_inc(&rw_proxy_fs_stats, RW_FS_LINES_DROPPED);
		rw_stat_inc(&rw_proxy_fs_stats, RW_FS_WRITE_FAILED);
		rw_gauge_add(&rw_proxy_fs_stats, RW_FS_WRITE_TOTAL_BUFFERED, -(int64_t)w->len[idx]);
		w->len[idx] = 0;
		w->inflight = false;
	}
}

static struct rw_access_log_writer *writer_get(struct rw_proxy_worker *pw,
                                               const struct rw_access_log *l)
{
	struct rw_access_log_writer *w, **grown;

	for (size_t i = 0; i < pw->n_log_writers; i++)
		if (pw->log_writers[i]->log == l)
			return pw->log_writers[i];
	grown = realloc(pw->log_writers, (pw->n_log_writers + 1) * sizeof(*grown));
	if (!grown)
		return NULL;
	pw->log_writers = grown;
	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->buf[0] = malloc(LOG_BUF_SIZE);
	w->buf[1] = malloc(LOG_BUF_SIZE);
	if (!w->buf[0] || !w->buf[1]) {
		free(w->buf[0]);
		free(w->buf[1]);
		free(w);
		return NULL;
	}
	w->log = l;
	w->w = pw;
	pw->log_writers[pw->n_log_writers++] = w;
	return w;
}

void rw_access_log_write(struct rw_proxy_worker *pw, const struct rw_access_log *l,
                         const struct rw_access_log_facts *facts, rw_format_var_fn fn, void *ctx)
{
	struct rw_access_log_writer *w;
	int n;

	if (!rw_access_log_pass(l->cfg, facts))
		return;
	w = writer_get(pw, l);
	if (!w) {
		pw->log_dropped++;
		rw_stat_inc(&rw_proxy_fs_stats, RW_FS_LINES_DROPPED);
		return;
	}
	n = rw_access_log_format(l->cfg, fn, ctx, w->buf[w->fill] + w->len[w->fill],
	                         LOG_BUF_SIZE - w->len[w->fill]);
	if (n < 0) {
		pw->log_dropped++; /* full while a write is in flight, or one huge line */
		rw_stat_inc(&rw_proxy_fs_stats, RW_FS_LINES_DROPPED);
		return;
	}
	w->len[w->fill] += (uint32_t)n;
	rw_stat_inc(&rw_proxy_fs_stats, RW_FS_WRITE_BUFFERED);
	rw_gauge_add(&rw_proxy_fs_stats, RW_FS_WRITE_TOTAL_BUFFERED, n);
	writer_schedule(w);
}

void rw_access_log_worker_flush(struct rw_proxy_worker *pw)
{
	for (size_t i = 0; i < pw->n_log_writers; i++)
		writer_start(pw->log_writers[i]);
}

void rw_access_log_worker_fini(struct rw_proxy_worker *pw)
{
	for (size_t i = 0; i < pw->n_log_writers; i++) {
		struct rw_access_log_writer *w = pw->log_writers[i];

		if (w->timer_armed)
			rw_timer_del(rw_engine_timers(pw->eng), &w->timer);
		/* A worker that stopped on an error (not a drain) may still have a write in
		 * flight: the kernel owns that buffer until the ring is torn down, so it is left
		 * allocated rather than freed under the kernel's feet (error path only). */
		if (w->inflight)
			continue;
		/* Lines still waiting (the loop ended before their flush): written here, in
		 * place, as the worker is done serving -- unless the drain deadline cut the
		 * writes short (a pipe nobody reads would block this write forever). */
		if (w->len[w->fill] && (rw_engine_drain_expired(pw->eng) ||
		                        write(w->log->fd, w->buf[w->fill], w->len[w->fill]) < 0))
			pw->log_dropped++;
		free(pw->log_writers[i]->buf[0]);
		free(pw->log_writers[i]->buf[1]);
		free(pw->log_writers[i]);
	}
	free(pw->log_writers);
	pw->log_writers = NULL;
	pw->n_log_writers = 0;
	if (pw->log_dropped)
		rw_log_warn("proxy", "worker %d dropped %llu access log lines", pw->id,
		            (unsigned long long)pw->log_dropped);
}
