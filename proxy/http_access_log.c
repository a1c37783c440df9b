/*
 * Envoy access logs for the HTTP connection manager.
 *
 * The main thread opens each log's file (O_APPEND) when the HCM config is built; workers
 * only format and hand bytes to the ring.  Each worker keeps, per log, two 64 KiB buffers:
 * lines are appended to the filling one, and whenever no write is in flight it is handed
 * to the kernel with one io_uring write (rw_engine_file_write) while the other fills.  A
 * line that does not fit while a write is in flight is dropped and counted, so a slow disk
 * never blocks a worker nor grows memory.  Since every write holds whole lines and the
 * file is O_APPEND, workers sharing a file never interleave inside a line.  The engine's
 * loop keeps running until its writes complete, so a drain flushes what is buffered.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "proxy/http_internal.h"
#include "ring/engine.h"

#define LOG_BUF_SIZE (64u * 1024u)

struct http_log_writer {
	const struct http_access_log *log;
	struct rw_engine *eng;
	struct http_worker *hw;
	char *buf[2];
	uint32_t len[2];
	uint32_t sent; /* of the buffer in flight, after a short write */
	int fill;      /* the buffer lines are appended to; the other one may be in flight */
	bool inflight;
};

int rw__http_access_logs_open(struct rw_http_config *c, char *err, size_t errlen)
{
	const struct rw_config_hcm *hcm = c->hcm;

	if (!hcm->n_access_logs)
		return 0;
	c->logs = calloc(hcm->n_access_logs, sizeof(*c->logs));
	if (!c->logs)
		return -ENOMEM;
	for (size_t i = 0; i < hcm->n_access_logs; i++) {
		const struct rw_config_access_log *cfg = &hcm->access_logs[i];
		struct http_access_log *l = &c->logs[c->n_logs];

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
				return r;
			}
			l->own_fd = true;
		}
		c->n_logs++;
	}
	return 0;
}

void rw__http_access_logs_close(struct rw_http_config *c)
{
	for (size_t i = 0; i < c->n_logs; i++)
		if (c->logs[i].own_fd)
			close(c->logs[i].fd);
	free(c->logs);
	c->logs = NULL;
	c->n_logs = 0;
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

bool rw__http_access_log_filter(const struct rw_config_access_log *log, const struct http_stream *s)
{
	switch (log->filter) {
	case RW_CONFIG_AL_FILTER_NONE:
	case RW_CONFIG_AL_FILTER_NOT_HEALTH_CHECK: /* no health_check HTTP filter: never one */
		return true;
	case RW_CONFIG_AL_FILTER_STATUS_CODE:
		return compare(log->cmp_op, s->status, log->cmp_value);
	case RW_CONFIG_AL_FILTER_DURATION:
		return compare(log->cmp_op, rw_clock_ms() - s->start_ms, log->cmp_value);
	case RW_CONFIG_AL_FILTER_RESPONSE_FLAG:
		return log->flag_mask ? (s->rflags & log->flag_mask) != 0 : s->rflags != 0;
	}
	return true;
}

/* A value whose format is one numeric operator is written as a JSON number. */
static bool numeric_format(const char *f)
{
	static const char *const numeric[] = {
	    "%RESPONSE_CODE%", "%BYTES_RECEIVED%", "%BYTES_SENT%",
	    "%DURATION%",      "%CONNECTION_ID%",  "%UPSTREAM_REQUEST_ATTEMPT_COUNT%"};

	for (size_t i = 0; i < sizeof(numeric) / sizeof(numeric[0]); i++)
		if (strcmp(f, numeric[i]) == 0)
			return true;
	return false;
}

struct jout {
	char *p;
	size_t len, cap;
	bool overflow;
};

static void jput(struct jout *o, const char *s, size_t n)
{
	if (n > o->cap - o->len) {
		o->overflow = true;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static void jstring(struct jout *o, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	jput(o, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		char esc[6] = {'\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15]};

		if (ch == '"' || ch == '\\') {
			char two[2] = {'\\', (char)ch};

			jput(o, two, 2);
		} else if (ch < 0x20) {
			jput(o, esc, 6);
		} else {
			jput(o, (const char *)&s[i], 1);
		}
	}
	jput(o, "\"", 1);
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

int rw__http_access_log_format(struct http_stream *s, const struct rw_config_access_log *log,
                               char *out, size_t cap)
{
	struct http_vars_ctx v = {.s = s, .response = true, .access_log = true};
	struct http_worker *hw = s->c->l->worker->http;
	struct jout o = {.p = out, .cap = cap};

	if (!log->json)
		return rw__http_expand(&v, log->format ? log->format : RW_CONFIG_ACCESS_LOG_DEFAULT,
		                       out, cap);
	jput(&o, "{", 1);
	for (size_t i = 0; i < log->n_json_fields; i++) {
		const struct rw_config_access_log_json_field *f = &log->json_fields[i];
		int n = rw__http_expand(&v, f->format, hw->scratch, sizeof(hw->scratch));

		if (n < 0)
			return n;
		if (i)
			jput(&o, ",", 1);
		jstring(&o, f->key, strlen(f->key));
		jput(&o, ":", 1);
		if (numeric_format(f->format) && all_digits(hw->scratch, (size_t)n))
			jput(&o, hw->scratch, (size_t)n);
		else
			jstring(&o, hw->scratch, (size_t)n);
	}
	jput(&o, "}\n", 2);
	return o.overflow ? -ENOSPC : (int)o.len;
}

/* ---- writing ---- */

static void writer_start(struct http_log_writer *w);

static void write_done(void *ctx, int res)
{
	struct http_log_writer *w = ctx;
	int idx = w->fill ^ 1;

	if (res > 0 && w->sent + (uint32_t)res < w->len[idx]) {
		/* Short write: the rest goes next, before any newer line. */
		w->sent += (uint32_t)res;
		if (rw_engine_file_write(w->eng, w->log->fd, w->buf[idx] + w->sent,
		                         w->len[idx] - w->sent, write_done, w) == 0)
			return;
	} else if (res < 0) {
		rw_log_warn("http", "access log write failed: %s", strerror(-res));
	}
	w->len[idx] = 0;
	w->inflight = false;
	writer_start(w);
}

static void writer_start(struct http_log_writer *w)
{
	int idx = w->fill;

	if (w->inflight || !w->len[idx])
		return;
	w->fill ^= 1;
	w->sent = 0;
	w->inflight = true;
	if (rw_engine_file_write(w->eng, w->log->fd, w->buf[idx], w->len[idx], write_done, w)) {
		w->hw->log_dropped++;
		w->len[idx] = 0;
		w->inflight = false;
	}
}

static struct http_log_writer *writer_get(struct http_worker *hw, const struct http_access_log *l)
{
	struct http_log_writer *w, **grown;

	for (size_t i = 0; i < hw->n_writers; i++)
		if (hw->writers[i]->log == l)
			return hw->writers[i];
	grown = realloc(hw->writers, (hw->n_writers + 1) * sizeof(*grown));
	if (!grown)
		return NULL;
	hw->writers = grown;
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
	w->hw = hw;
	w->eng = hw->w->eng;
	hw->writers[hw->n_writers++] = w;
	return w;
}

void rw__http_access_log(struct http_stream *s)
{
	const struct rw_http_config *cfg = s->c->l->cfg;
	struct http_worker *hw = s->c->l->worker->http;

	for (size_t i = 0; i < cfg->n_logs; i++) {
		const struct http_access_log *l = &cfg->logs[i];
		struct http_log_writer *w;
		int n;

		if (!rw__http_access_log_filter(l->cfg, s))
			continue;
		w = writer_get(hw, l);
		if (!w) {
			hw->log_dropped++;
			continue;
		}
		n = rw__http_access_log_format(s, l->cfg, w->buf[w->fill] + w->len[w->fill],
		                               LOG_BUF_SIZE - w->len[w->fill]);
		if (n < 0) {
			hw->log_dropped++; /* full while a write is in flight, or one huge line */
			continue;
		}
		w->len[w->fill] += (uint32_t)n;
		writer_start(w);
	}
}

void rw__http_access_log_worker_fini(struct http_worker *hw)
{
	for (size_t i = 0; i < hw->n_writers; i++) {
		/* A worker that stopped on an error (not a drain) may still have a write in
		 * flight: the kernel owns that buffer until the ring is torn down, so it is left
		 * allocated rather than freed under the kernel's feet (error path only). */
		if (hw->writers[i]->inflight)
			continue;
		free(hw->writers[i]->buf[0]);
		free(hw->writers[i]->buf[1]);
		free(hw->writers[i]);
	}
	free(hw->writers);
	hw->writers = NULL;
	hw->n_writers = 0;
	if (hw->log_dropped)
		rw_log_warn("http", "worker %d dropped %llu access log lines", hw->w->id,
		            (unsigned long long)hw->log_dropped);
}
