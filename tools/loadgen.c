/*
 * rw-loadgen: closed-loop load generator for the TCP benchmarks, one thread, level-triggered
 * epoll, no io_uring (it must not share the proxy's engine).
 *
 *   rr    every connection sends a --req-size request, waits for the full --resp-size response,
 *         records the round-trip time, repeats until --duration or --requests. Pair with
 *         `rw-upstream --mode rr`. Reports requests, rps and latency percentiles.
 *   bulk  upload (default): every connection sends --bytes of the pattern, half-closes, and
 *         checks the 8-byte count a `rw-upstream --mode sink` returns. download: reads from a
 *         `--mode source` upstream until EOF (--verify checks the pattern). Reports bytes/s.
 *   http  closed-loop HTTP/1.1 keep-alive: every connection sends "GET --path" with "Host:
 *         --host", reads the whole response (status line, headers, a Content-Length, chunked
 *         or read-until-close body), records the time, repeats. A response with "Connection:
 *         close" (or a body that ends at EOF) ends the connection and a new one is opened.
 *         Non-2xx responses count as errors ("status") as well as in status_counts.
 *   idle  opens --connections keep-alive HTTP connections (at most 256 setting up at once),
 *         does one GET on each so the proxy holds a fully set-up client connection and its
 *         upstream connection, prints "ready" on stdout once every connection is established
 *         (or failed), holds them idle for --hold seconds (or until SIGTERM), then closes.
 *         A proxy that closes or writes on an idle connection is an error.
 *
 * Latency uses a log-linear histogram (64 sub-buckets per power of two, <= 1.6% error, ns
 * resolution), so recording a sample is a shift and an increment.
 * Output is one JSON object on stdout.
 */
#include "tool_common.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define HIST_SUB_BITS 6
#define HIST_SUB      (1u << HIST_SUB_BITS)
#define HIST_BUCKETS  (HIST_SUB * 60)
#define IO_BURST      16
#define CHUNK_SIZE    (256 * 1024)
/* After the deadline, in-flight work gets this long to finish before it counts as an error. */
#define GRACE_NS (5ULL * 1000000000ULL)

enum mode { MODE_RR, MODE_BULK, MODE_HTTP, MODE_IDLE };

/* http/idle: at most this many connections set up (connect + first request) at once, so 10k
 * connects do not overflow a proxy's accept queue. */
#define IDLE_WINDOW 256
/* http/idle: response bytes buffered per connection (heads must fit) */
#define RESP_BUF_SIZE (RW_TOOL_HTTP_HEAD_MAX + 16384)
/* http/idle: longest chunk-size or trailer line accepted */
#define CHUNK_LINE_MAX 1024
#define STATUS_MAX     600

/* Why a connection failed; counted per kind so a report tells a refused connect from a proxy
 * that resets or truncates. */
enum failure {
	FAIL_CONNECT,  /* connect refused or socket set-up failed */
	FAIL_EOF,      /* peer closed before the exchange was complete */
	FAIL_IO,       /* send/recv error such as ECONNRESET */
	FAIL_PROTOCOL, /* wrong byte count or pattern */
	FAIL_TIMEOUT,  /* still busy when the grace period ended */
	FAIL_STATUS,   /* http: a response that was not 2xx (the connection goes on) */
	FAIL_KINDS,
};

static const char *const failure_names[FAIL_KINDS] = {"connect",  "eof",     "io",
                                                      "protocol", "timeout", "status"};

enum conn_state {
	CONNECTING,
	RR_SENDING,   /* request partly written */
	RR_WAITING,   /* waiting for the response */
	UP_SENDING,   /* bulk upload: writing the body */
	UP_COUNT,     /* bulk upload: half-closed, reading the sink's 8-byte count */
	DOWN_READING, /* bulk download: reading until EOF */
	H_SENDING,    /* http: request partly written */
	H_READING,    /* http: reading the response */
	IDLE_HOLD,    /* idle: established, held open */
	DONE,
};

/* http: where the response parser is */
enum resp_state {
	RS_HEAD,       /* status line and headers */
	RS_BODY_LEN,   /* Content-Length body: body_left bytes to go */
	RS_CHUNK_SIZE, /* chunked: a chunk-size line */
	RS_CHUNK_DATA, /* chunked: body_left bytes of chunk data */
	RS_CHUNK_CRLF, /* chunked: the CRLF after chunk data */
	RS_TRAILERS,   /* chunked: trailer lines up to the empty line */
	RS_BODY_EOF,   /* no length: the body ends when the server closes */
};

struct conn {
	int fd;
	enum conn_state state;
	uint32_t events;
	uint64_t started_ns;  /* rr: when the current request's first byte was sent */
	uint64_t off;         /* rr: bytes of the request sent / response received;
	                       * bulk: bytes sent or received */
	uint8_t count_buf[8]; /* bulk upload: the sink's count reply */
	unsigned count_len;
	/* http/idle */
	char *rbuf; /* response bytes not parsed yet (heap) */
	size_t rlen;
	enum resp_state rstate;
	uint64_t body_left;
	int status;
	bool resp_close;  /* the server will close after this response */
	bool reconnected; /* CONNECTING again after a server-side close */
};

struct histogram {
	uint64_t buckets[HIST_BUCKETS];
	uint64_t count;
	uint64_t max;
};

static struct {
	enum mode mode;
	bool download;
	bool verify;
	struct rw_tool_addr target;
	unsigned connections;
	double duration;
	uint64_t request_cap; /* 0 = no cap */
	uint64_t req_size;
	uint64_t resp_size;
	uint64_t bulk_bytes;
	int epfd;
	uint64_t deadline_ns;
	bool stopping; /* deadline or cap reached: start no new work */
	uint64_t issued;
	uint64_t completed;
	uint64_t errors;
	uint64_t errors_by_kind[FAIL_KINDS];
	bool reported_first_error;
	uint64_t bytes;
	unsigned live;
	uint64_t last_done_ns;
	struct histogram hist;
	/* http/idle */
	const char *path;
	const char *host;
	char *request;
	size_t request_len;
	uint64_t reconnects;
	uint64_t status_counts[STATUS_MAX];
	double hold;
	unsigned next_open;   /* idle: next connection to open */
	unsigned setting_up;  /* idle: connections opened but not yet established */
	unsigned established; /* idle: connections that got their response */
	unsigned idle_failed; /* idle: connections that failed during set-up */
} g;

static uint8_t scratch[CHUNK_SIZE];
static uint8_t pattern[CHUNK_SIZE + RW_TOOL_PATTERN_PERIOD];

static void usage(void)
{
	fprintf(
	    stderr,
	    "usage: rw-loadgen --target ADDR:PORT --mode rr|bulk|http|idle [--connections N]\n"
	    "                  [--duration SECONDS] [--requests N] [--req-size N] [--resp-size N]\n"
	    "                  [--bytes N] [--direction upload|download] [--verify]\n"
	    "                  [--path /PATH] [--host HOST] [--hold SECONDS]\n");
	exit(2);
}

static unsigned hist_index(uint64_t v)
{
	unsigned msb, shift;

	if (v < 2 * HIST_SUB)
		return (unsigned)v;
	msb = 63u - (unsigned)__builtin_clzll(v);
	shift = msb - HIST_SUB_BITS;
	/* v >> shift lies in [HIST_SUB, 2*HIST_SUB): shift*SUB + that is contiguous with the
	 * linear range below 2*HIST_SUB. */
	return shift * HIST_SUB + (unsigned)(v >> shift);
}

static void hist_record(struct histogram *h, uint64_t v)
{
	unsigned i = hist_index(v);

	if (i >= HIST_BUCKETS)
		i = HIST_BUCKETS - 1;
	h->buckets[i]++;
	h->count++;
	if (v > h->max)
		h->max = v;
}

/* The value at quantile q (0..1): midpoint of the bucket holding the ceil(q*count)-th sample. */
static double hist_quantile(const struct histogram *h, double q)
{
	uint64_t rank, seen = 0;

	if (!h->count)
		return 0.0;
	rank = (uint64_t)ceil(q * (double)h->count);
	if (rank < 1)
		rank = 1;
	for (unsigned i = 0; i < HIST_BUCKETS; i++) {
		unsigned shift;
		uint64_t low;

		seen += h->buckets[i];
		if (seen < rank)
			continue;
		shift = i < 2 * HIST_SUB ? 0 : i / HIST_SUB - 1;
		low = (uint64_t)(i - shift * HIST_SUB) << shift;
		return (double)low + (double)((1ULL << shift) - 1) / 2.0;
	}
	return (double)h->max;
}

static void set_events(struct conn *c, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = c};

	if (c->events == events)
		return;
	c->events = events;
	epoll_ctl(g.epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->state = DONE;
	free(c->rbuf);
	c->rbuf = NULL;
	g.live--;
}

/* The connection finished its work. */
static void conn_done(struct conn *c)
{
	if (c->state == DONE)
		return;
	conn_close(c);
	g.last_done_ns = rw_tool_now_ns();
}

/* The connection failed. Failures do not move last_done_ns, so they cannot stretch "seconds".
 * The first failure is described on stderr (err = errno, or 0). */
static void conn_fail(struct conn *c, enum failure kind, int err, const char *what)
{
	if (c->state == DONE)
		return;
	if (g.mode == MODE_IDLE && c->state != IDLE_HOLD) {
		g.setting_up--;
		g.idle_failed++;
	}
	g.errors++;
	g.errors_by_kind[kind]++;
	if (!g.reported_first_error) {
		g.reported_first_error = true;
		fprintf(stderr, "rw-loadgen: first error (%s): %s%s%s\n", failure_names[kind], what,
		        err ? ": " : "", err ? strerror(err) : "");
	}
	conn_close(c);
}

static bool is_transient(int err)
{
	return err == EAGAIN || err == EWOULDBLOCK || err == EINTR;
}

/* rr: send (the rest of) the current request. */
static void rr_send(struct conn *c)
{
	while (c->off < g.req_size) {
		size_t len = (size_t)(g.req_size - c->off);
		ssize_t n;

		if (len > CHUNK_SIZE)
			len = CHUNK_SIZE;
		n = send(c->fd, pattern + c->off % RW_TOOL_PATTERN_PERIOD, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (is_transient(errno)) {
				c->state = RR_SENDING;
				set_events(c, EPOLLOUT);
				return;
			}
			conn_fail(c, FAIL_IO, errno, "send request");
			return;
		}
		c->off += (uint64_t)n;
	}
	c->state = RR_WAITING;
	c->off = 0;
	set_events(c, EPOLLIN);
}

static void rr_start(struct conn *c)
{
	if (g.stopping || (g.request_cap && g.issued >= g.request_cap)) {
		conn_done(c);
		return;
	}
	g.issued++;
	c->off = 0;
	c->started_ns = rw_tool_now_ns();
	rr_send(c);
}

static void rr_receive(struct conn *c)
{
	for (int i = 0; i < IO_BURST; i++) {
		ssize_t n = recv(c->fd, scratch, sizeof(scratch), 0);

		if (n == 0) {
			conn_fail(c, FAIL_EOF, 0, "connection closed while waiting for a response");
			return;
		}
		if (n < 0) {
			if (!is_transient(errno))
				conn_fail(c, FAIL_IO, errno, "recv response");
			return;
		}
		c->off += (uint64_t)n;
		if (c->off > g.resp_size) {
			conn_fail(c, FAIL_PROTOCOL, 0, "more response bytes than --resp-size");
			return;
		}
		if (c->off == g.resp_size) {
			hist_record(&g.hist, rw_tool_now_ns() - c->started_ns);
			g.completed++;
			rr_start(c);
			return;
		}
	}
}

static void upload_send(struct conn *c)
{
	for (int i = 0; i < IO_BURST; i++) {
		uint64_t left = g.stopping ? 0 : g.bulk_bytes - c->off;
		size_t len = left > CHUNK_SIZE ? CHUNK_SIZE : (size_t)left;
		ssize_t n;

		if (len == 0) {
			/* Body done (or deadline): half-close and collect the sink's count. */
			shutdown(c->fd, SHUT_WR);
			c->state = UP_COUNT;
			set_events(c, EPOLLIN);
			return;
		}
		n = send(c->fd, pattern + c->off % RW_TOOL_PATTERN_PERIOD, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (!is_transient(errno))
				conn_fail(c, FAIL_IO, errno, "send body");
			return;
		}
		c->off += (uint64_t)n;
	}
}

static void upload_count(struct conn *c)
{
	ssize_t n =
	    recv(c->fd, c->count_buf + c->count_len, sizeof(c->count_buf) - c->count_len, 0);
	uint64_t count = 0;

	if (n < 0) {
		if (!is_transient(errno))
			conn_fail(c, FAIL_IO, errno, "recv sink count");
		return;
	}
	if (n == 0) {
		conn_fail(c, FAIL_EOF, 0,
		          "connection closed before the sink's byte count arrived "
		          "(does the path pass a half-close on?)");
		return;
	}
	c->count_len += (unsigned)n;
	if (c->count_len < sizeof(c->count_buf))
		return;
	for (unsigned b = 0; b < 8; b++)
		count = count << 8 | c->count_buf[b];
	if (count != c->off) {
		fprintf(stderr, "rw-loadgen: sink counted %llu bytes, sent %llu\n",
		        (unsigned long long)count, (unsigned long long)c->off);
		conn_fail(c, FAIL_PROTOCOL, 0, "sink count differs from bytes sent");
		return;
	}
	g.bytes += count;
	conn_done(c);
}

static void download_read(struct conn *c)
{
	for (int i = 0; i < IO_BURST; i++) {
		ssize_t n = recv(c->fd, scratch, sizeof(scratch), 0);

		if (n < 0) {
			if (!is_transient(errno))
				conn_fail(c, FAIL_IO, errno, "recv download");
			return;
		}
		if (n == 0) {
			if (g.bulk_bytes && c->off != g.bulk_bytes)
				conn_fail(c, FAIL_EOF, 0, "download ended before --bytes");
			else
				conn_done(c);
			return;
		}
		if (g.verify &&
		    memcmp(scratch, pattern + c->off % RW_TOOL_PATTERN_PERIOD, (size_t)n) != 0) {
			fprintf(stderr, "rw-loadgen: pattern mismatch near offset %llu\n",
			        (unsigned long long)c->off);
			conn_fail(c, FAIL_PROTOCOL, 0, "download pattern mismatch");
			return;
		}
		c->off += (uint64_t)n;
		g.bytes += (uint64_t)n;
	}
}

/* ---- http / idle --------------------------------------------------------------------------- */

static void h_send(struct conn *c);

static void h_start(struct conn *c)
{
	if (g.mode == MODE_HTTP && (g.stopping || (g.request_cap && g.issued >= g.request_cap))) {
		conn_done(c);
		return;
	}
	g.issued++;
	c->off = 0;
	c->rlen = 0;
	c->rstate = RS_HEAD;
	c->started_ns = rw_tool_now_ns();
	h_send(c);
}

static void h_send(struct conn *c)
{
	while (c->off < g.request_len) {
		ssize_t n = send(c->fd, g.request + c->off, g.request_len - c->off, MSG_NOSIGNAL);

		if (n < 0) {
			if (is_transient(errno)) {
				c->state = H_SENDING;
				set_events(c, EPOLLOUT);
				return;
			}
			conn_fail(c, FAIL_IO, errno, "send request");
			return;
		}
		c->off += (uint64_t)n;
	}
	c->state = H_READING;
	set_events(c, EPOLLIN);
}

/* Open a connection (again). Returns false when it failed (already counted). */
static bool h_connect(struct conn *c)
{
	struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};

	c->fd = rw_tool_connect(&g.target);
	c->state = CONNECTING;
	c->events = EPOLLOUT;
	if (!c->rbuf)
		c->rbuf = malloc(RESP_BUF_SIZE);
	if (!c->rbuf) {
		conn_fail(c, FAIL_CONNECT, ENOMEM, "malloc");
		return false;
	}
	if (c->fd < 0) {
		conn_fail(c, FAIL_CONNECT, -c->fd, "connect");
		return false;
	}
	if (epoll_ctl(g.epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
		conn_fail(c, FAIL_CONNECT, errno, "epoll_ctl");
		return false;
	}
	return true;
}

/* The server ends the connection after a response: open a new one and go on. */
static void h_reconnect(struct conn *c)
{
	if (g.stopping || (g.request_cap && g.issued >= g.request_cap)) {
		conn_done(c);
		return;
	}
	close(c->fd);
	c->fd = -1;
	g.reconnects++;
	c->reconnected = true;
	h_connect(c);
}

/* Parse what is buffered. Returns 1 when the response is complete, 0 when more bytes are
 * needed, -1 on a protocol error. The unparsed tail stays at the start of rbuf. */
static int h_parse(struct conn *c)
{
	size_t pos = 0;

	for (;;) {
		size_t avail = c->rlen - pos;
		const char *p = c->rbuf + pos;
		const char *nl;

		switch (c->rstate) {
		case RS_HEAD: {
			struct rw_tool_http_head h;
			int r = rw_tool_http_parse_head(p, avail, true, &h);

			if (r < 0)
				return -1;
			if (r == 0)
				goto need_more;
			pos += h.head_len;
			if (h.status == 101)
				return -1;
			if (h.status < 200)
				continue; /* informational: the real response follows */
			c->status = h.status;
			c->resp_close =
			    h.conn_close || (h.version_minor == 0 && !h.conn_keep_alive);
			if (h.status == 204 || h.status == 304) {
				goto complete;
			} else if (h.chunked) {
				c->rstate = RS_CHUNK_SIZE;
			} else if (h.transfer_encoding || h.content_length < 0) {
				c->rstate = RS_BODY_EOF;
				c->resp_close = true;
			} else {
				c->body_left = (uint64_t)h.content_length;
				c->rstate = RS_BODY_LEN;
				if (c->body_left == 0)
					goto complete;
			}
			break;
		}
		case RS_BODY_LEN:
		case RS_CHUNK_DATA: {
			size_t take = avail < c->body_left ? avail : (size_t)c->body_left;

			pos += take;
			c->body_left -= take;
			if (c->body_left > 0)
				goto need_more;
			if (c->rstate == RS_BODY_LEN)
				goto complete;
			c->rstate = RS_CHUNK_CRLF;
			break;
		}
		case RS_CHUNK_CRLF:
			if (avail < 2)
				goto need_more;
			if (p[0] != '\r' || p[1] != '\n')
				return -1;
			pos += 2;
			c->rstate = RS_CHUNK_SIZE;
			break;
		case RS_CHUNK_SIZE: {
			uint64_t size = 0;
			size_t i = 0, line;

			nl = memchr(p, '\n', avail);
			if (!nl)
				goto line_more;
			line = (size_t)(nl - p);
			if (line == 0 || p[line - 1] != '\r')
				return -1;
			for (; i < line - 1 && i < 16; i++) {
				char ch = p[i];
				unsigned digit;

				if (ch >= '0' && ch <= '9')
					digit = (unsigned)(ch - '0');
				else if ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'f')
					digit = (unsigned)((ch | 0x20) - 'a' + 10);
				else
					break;
				size = size << 4 | digit;
			}
			/* at least one hex digit, then CR or a chunk extension */
			if (i == 0 || (i < line - 1 && p[i] != ';' && p[i] != ' ' && p[i] != '\t'))
				return -1;
			pos += line + 1;
			c->body_left = size;
			c->rstate = size ? RS_CHUNK_DATA : RS_TRAILERS;
			break;
		}
		case RS_TRAILERS: {
			size_t line;

			nl = memchr(p, '\n', avail);
			if (!nl)
				goto line_more;
			line = (size_t)(nl - p);
			if (line == 0 || p[line - 1] != '\r')
				return -1;
			pos += line + 1;
			if (line == 1)
				goto complete;
			break;
		}
		case RS_BODY_EOF:
			pos = c->rlen; /* completes at EOF */
			goto need_more;
		}
	}
line_more:
	if (c->rlen - pos > CHUNK_LINE_MAX)
		return -1;
need_more:
	memmove(c->rbuf, c->rbuf + pos, c->rlen - pos);
	c->rlen -= pos;
	return 0;
complete:
	/* Closed loop: nothing may follow the response we asked for. */
	if (pos != c->rlen)
		return -1;
	c->rlen = 0;
	return 1;
}

static void h_response_done(struct conn *c)
{
	hist_record(&g.hist, rw_tool_now_ns() - c->started_ns);
	g.completed++;
	if (c->status >= 100 && c->status < STATUS_MAX)
		g.status_counts[c->status]++;
	if (c->status / 100 != 2) {
		g.errors++;
		g.errors_by_kind[FAIL_STATUS]++;
		if (!g.reported_first_error) {
			g.reported_first_error = true;
			fprintf(stderr, "rw-loadgen: first error (status): HTTP %d\n", c->status);
		}
	}
	if (g.mode == MODE_IDLE) {
		if (c->resp_close) {
			conn_fail(c, FAIL_EOF, 0,
			          "the server closes the connection after the "
			          "response; it cannot be held idle");
			return;
		}
		g.setting_up--;
		g.established++;
		c->state = IDLE_HOLD;
		free(c->rbuf);
		c->rbuf = NULL;
		set_events(c, EPOLLIN);
		return;
	}
	if (c->resp_close)
		h_reconnect(c);
	else
		h_start(c);
}

static void h_receive(struct conn *c)
{
	for (int i = 0; i < IO_BURST; i++) {
		ssize_t n = recv(c->fd, c->rbuf + c->rlen, RESP_BUF_SIZE - c->rlen, 0);
		int r;

		if (n == 0) {
			if (c->rstate == RS_BODY_EOF)
				h_response_done(c);
			else
				conn_fail(c, FAIL_EOF, 0,
				          "connection closed while waiting for a response");
			return;
		}
		if (n < 0) {
			if (!is_transient(errno))
				conn_fail(c, FAIL_IO, errno, "recv response");
			return;
		}
		c->rlen += (size_t)n;
		r = h_parse(c);
		if (r < 0) {
			conn_fail(c, FAIL_PROTOCOL, 0, "malformed or unexpected response bytes");
			return;
		}
		if (r > 0) {
			h_response_done(c);
			return;
		}
	}
}

/* idle: anything on a held connection is wrong: the proxy closed it or sent bytes. */
static void idle_event(struct conn *c)
{
	char byte;
	ssize_t n = recv(c->fd, &byte, 1, 0);

	if (n == 0)
		conn_fail(c, FAIL_EOF, 0, "the proxy closed an idle keep-alive connection");
	else if (n > 0)
		conn_fail(c, FAIL_PROTOCOL, 0, "bytes arrived on an idle connection");
	else if (!is_transient(errno))
		conn_fail(c, FAIL_IO, errno, "idle connection");
}

/* idle: keep IDLE_WINDOW connections setting up until all are opened. */
static void idle_open_more(struct conn *conns)
{
	while (g.setting_up < IDLE_WINDOW && g.next_open < g.connections) {
		struct conn *c = &conns[g.next_open++];

		g.live++;
		g.setting_up++;
		h_connect(c);
	}
}

static void on_connected(struct conn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err) {
		conn_fail(c, FAIL_CONNECT, err, "connect");
		return;
	}
	if (g.mode == MODE_RR) {
		rr_start(c);
	} else if (g.mode == MODE_HTTP || g.mode == MODE_IDLE) {
		h_start(c);
	} else if (g.download) {
		c->state = DOWN_READING;
		set_events(c, EPOLLIN);
	} else {
		c->state = UP_SENDING;
		upload_send(c);
	}
}

static void conn_event(struct conn *c)
{
	switch (c->state) {
	case CONNECTING:
		on_connected(c);
		break;
	case RR_SENDING:
		rr_send(c);
		break;
	case RR_WAITING:
		rr_receive(c);
		break;
	case UP_SENDING:
		upload_send(c);
		break;
	case UP_COUNT:
		upload_count(c);
		break;
	case DOWN_READING:
		download_read(c);
		break;
	case H_SENDING:
		h_send(c);
		break;
	case H_READING:
		h_receive(c);
		break;
	case IDLE_HOLD:
		idle_event(c);
		break;
	case DONE:
		break;
	}
}

/* Deadline passed: idle rr connections close now; busy ones finish their request. Upload
 * connections stop sending at their next turn; downloads stop at their next read. */
static void begin_stop(struct conn *conns)
{
	g.stopping = true;
	for (unsigned i = 0; i < g.connections; i++) {
		struct conn *c = &conns[i];

		if (c->state == CONNECTING && c->reconnected)
			conn_done(c); /* http: reopening after a server close; nothing owed */
		else if (c->state == CONNECTING)
			conn_fail(c, FAIL_TIMEOUT, 0, "still connecting at the deadline");
		else if (c->state == UP_SENDING)
			upload_send(c);
		else if (c->state == DOWN_READING)
			conn_done(c); /* duration cap: count what arrived */
	}
}

static void print_status_counts(void)
{
	bool first = true;

	printf(",\"status_counts\":{");
	for (int s = 0; s < STATUS_MAX; s++) {
		if (!g.status_counts[s])
			continue;
		printf("%s\"%d\":%llu", first ? "" : ",", s,
		       (unsigned long long)g.status_counts[s]);
		first = false;
	}
	printf("}");
}

static void print_error_kinds(void)
{
	printf(",\"errors_by_kind\":{");
	for (int k = 0; k < FAIL_KINDS; k++)
		printf("%s\"%s\":%llu", k ? "," : "", failure_names[k],
		       (unsigned long long)g.errors_by_kind[k]);
	printf("}}\n");
}

static void print_json(uint64_t start_ns)
{
	uint64_t end_ns = g.last_done_ns ? g.last_done_ns : rw_tool_now_ns();
	double seconds = (double)(end_ns - start_ns) / 1e9;

	if (seconds <= 0)
		seconds = 1e-9;
	if (g.mode == MODE_RR) {
		printf("{\"mode\":\"rr\",\"connections\":%u,\"requests\":%llu,\"seconds\":%.6f,"
		       "\"rps\":%.1f,\"p50_us\":%.2f,\"p90_us\":%.2f,\"p99_us\":%.2f,"
		       "\"p999_us\":%.2f,\"max_us\":%.2f,\"errors\":%llu",
		       g.connections, (unsigned long long)g.completed, seconds,
		       (double)g.completed / seconds, hist_quantile(&g.hist, 0.50) / 1e3,
		       hist_quantile(&g.hist, 0.90) / 1e3, hist_quantile(&g.hist, 0.99) / 1e3,
		       hist_quantile(&g.hist, 0.999) / 1e3, (double)g.hist.max / 1e3,
		       (unsigned long long)g.errors);
	} else if (g.mode == MODE_HTTP) {
		printf("{\"mode\":\"http\",\"connections\":%u,\"requests\":%llu,\"seconds\":%.6f,"
		       "\"rps\":%.1f,\"p50_us\":%.2f,\"p90_us\":%.2f,\"p99_us\":%.2f,"
		       "\"p999_us\":%.2f,\"max_us\":%.2f,\"errors\":%llu,\"reconnects\":%llu",
		       g.connections, (unsigned long long)g.completed, seconds,
		       (double)g.completed / seconds, hist_quantile(&g.hist, 0.50) / 1e3,
		       hist_quantile(&g.hist, 0.90) / 1e3, hist_quantile(&g.hist, 0.99) / 1e3,
		       hist_quantile(&g.hist, 0.999) / 1e3, (double)g.hist.max / 1e3,
		       (unsigned long long)g.errors, (unsigned long long)g.reconnects);
		print_status_counts();
	} else {
		printf("{\"mode\":\"bulk\",\"direction\":\"%s\",\"connections\":%u,\"bytes\":%llu,"
		       "\"seconds\":%.6f,\"gbps\":%.3f,\"gbytes_per_s\":%.3f,\"errors\":%llu",
		       g.download ? "download" : "upload", g.connections,
		       (unsigned long long)g.bytes, seconds, (double)g.bytes * 8 / seconds / 1e9,
		       (double)g.bytes / seconds / 1e9, (unsigned long long)g.errors);
	}
	print_error_kinds();
	fflush(stdout);
}

/* "GET PATH HTTP/1.1" + Host: the whole request, built once. */
static void build_request(const char *target)
{
	int len;

	if (!g.host)
		g.host = target;
	if (g.path[0] != '/' && strcmp(g.path, "*") != 0)
		rw_tool_die(0, "--path must start with '/'");
	for (const char *p = g.path; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			rw_tool_die(0, "--path has a space or control byte");
	for (const char *p = g.host; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			rw_tool_die(0, "--host has a control byte");
	len = asprintf(&g.request, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", g.path, g.host);
	if (len < 0)
		rw_tool_die(ENOMEM, "asprintf");
	g.request_len = (size_t)len;
}

static void parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"target", required_argument, NULL, 't'},
	    {"mode", required_argument, NULL, 'm'},
	    {"connections", required_argument, NULL, 'c'},
	    {"duration", required_argument, NULL, 'd'},
	    {"requests", required_argument, NULL, 'n'},
	    {"req-size", required_argument, NULL, 'q'},
	    {"resp-size", required_argument, NULL, 'r'},
	    {"bytes", required_argument, NULL, 'b'},
	    {"direction", required_argument, NULL, 'D'},
	    {"verify", no_argument, NULL, 'v'},
	    {"path", required_argument, NULL, 'p'},
	    {"host", required_argument, NULL, 'H'},
	    {"hold", required_argument, NULL, 'o'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *target = NULL;
	uint64_t value;
	int opt;

	g.connections = 1;
	g.req_size = 64;
	g.resp_size = 64;
	g.duration = -1;
	g.path = "/";
	g.hold = 10;
	while ((opt = getopt_long(argc, argv, "t:m:c:d:n:q:r:b:D:vp:H:o:h", opts, NULL)) != -1) {
		switch (opt) {
		case 't':
			target = optarg;
			break;
		case 'm':
			if (strcmp(optarg, "rr") == 0)
				g.mode = MODE_RR;
			else if (strcmp(optarg, "bulk") == 0)
				g.mode = MODE_BULK;
			else if (strcmp(optarg, "http") == 0)
				g.mode = MODE_HTTP;
			else if (strcmp(optarg, "idle") == 0)
				g.mode = MODE_IDLE;
			else
				usage();
			break;
		case 'c':
			if (rw_tool_size_parse(optarg, &value) < 0 || value == 0 || value > 1000000)
				usage();
			g.connections = (unsigned)value;
			break;
		case 'd':
			if (rw_tool_seconds_parse(optarg, &g.duration) < 0)
				usage();
			break;
		case 'n':
			if (rw_tool_size_parse(optarg, &g.request_cap) < 0)
				usage();
			break;
		case 'q':
			if (rw_tool_size_parse(optarg, &g.req_size) < 0 || g.req_size == 0)
				usage();
			break;
		case 'r':
			if (rw_tool_size_parse(optarg, &g.resp_size) < 0 || g.resp_size == 0)
				usage();
			break;
		case 'b':
			if (rw_tool_size_parse(optarg, &g.bulk_bytes) < 0)
				usage();
			break;
		case 'D':
			if (strcmp(optarg, "download") == 0)
				g.download = true;
			else if (strcmp(optarg, "upload") != 0)
				usage();
			break;
		case 'v':
			g.verify = true;
			break;
		case 'p':
			g.path = optarg;
			break;
		case 'H':
			g.host = optarg;
			break;
		case 'o':
			if (rw_tool_seconds_parse(optarg, &g.hold) < 0)
				usage();
			break;
		default:
			usage();
		}
	}
	if (!target || optind != argc)
		usage();
	if (rw_tool_addr_parse(target, &g.target) < 0)
		rw_tool_die(0, "bad --target address '%s'", target);
	if (g.mode == MODE_BULK && !g.download && g.bulk_bytes == 0)
		rw_tool_die(0, "bulk upload needs --bytes N");
	if (g.mode == MODE_HTTP || g.mode == MODE_IDLE)
		build_request(target);
	if (g.mode == MODE_IDLE) {
		/* --duration bounds the set-up phase; the hold is --hold. */
		if (g.duration < 0)
			g.duration = 60;
		return;
	}
	/* Something must end the run: a duration, a request cap, or a finite bulk size. */
	if (g.duration < 0 && !g.request_cap && !(g.mode == MODE_BULK && g.bulk_bytes))
		g.duration = 10;
}

/* idle: open every connection, print "ready", hold, close. */
static void run_idle(struct conn *conns, volatile sig_atomic_t *stop)
{
	struct epoll_event events[256];
	uint64_t start_ns = rw_tool_now_ns(), ready_ns = 0, hold_end_ns = 0;
	uint64_t setup_deadline_ns = start_ns + (uint64_t)(g.duration * 1e9);
	unsigned open_at_end = 0;

	idle_open_more(conns);
	for (;;) {
		uint64_t now = rw_tool_now_ns();
		int timeout_ms, n;

		if (!ready_ns && g.setting_up == 0 && g.next_open == g.connections) {
			ready_ns = now;
			hold_end_ns = now + (uint64_t)(g.hold * 1e9);
			printf("ready\n");
			fflush(stdout);
		}
		if (*stop || (ready_ns && now >= hold_end_ns))
			break;
		if (!ready_ns && now >= setup_deadline_ns) {
			for (unsigned i = 0; i < g.next_open; i++)
				if (conns[i].state != IDLE_HOLD)
					conn_fail(&conns[i], FAIL_TIMEOUT, 0,
					          "not established before --duration");
			for (; g.next_open < g.connections; g.next_open++) {
				g.idle_failed++;
				g.errors++;
				g.errors_by_kind[FAIL_TIMEOUT]++;
			}
			continue;
		}
		timeout_ms =
		    (int)(((ready_ns ? hold_end_ns : setup_deadline_ns) - now) / 1000000 + 1);
		n = epoll_wait(g.epfd, events, 256, timeout_ms);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rw_tool_die(errno, "epoll_wait");
		}
		for (int i = 0; i < n; i++)
			conn_event(events[i].data.ptr);
		idle_open_more(conns);
	}
	for (unsigned i = 0; i < g.connections; i++) {
		if (conns[i].state == IDLE_HOLD) {
			open_at_end++;
			conn_done(&conns[i]);
		}
	}
	printf("{\"mode\":\"idle\",\"connections\":%u,\"established\":%u,\"open_at_end\":%u,"
	       "\"setup_seconds\":%.6f,\"held_seconds\":%.6f,\"errors\":%llu",
	       g.connections, g.established, open_at_end,
	       (double)((ready_ns ? ready_ns : rw_tool_now_ns()) - start_ns) / 1e9,
	       ready_ns ? (double)(rw_tool_now_ns() - ready_ns) / 1e9 : 0.0,
	       (unsigned long long)g.errors);
	print_status_counts();
	print_error_kinds();
}

int main(int argc, char **argv)
{
	struct epoll_event events[256];
	struct conn *conns;
	volatile sig_atomic_t *stop;
	uint64_t start_ns, hard_deadline_ns = 0;

	parse_args(argc, argv);
	rw_tool_raise_nofile();
	stop = rw_tool_install_stop_signals();
	rw_tool_pattern_fill(pattern, sizeof(pattern));

	g.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (g.epfd < 0)
		rw_tool_die(errno, "epoll_create1");
	conns = calloc(g.connections, sizeof(*conns));
	if (!conns)
		rw_tool_die(ENOMEM, "calloc");
	if (g.mode == MODE_IDLE) {
		run_idle(conns, stop);
		free(conns);
		free(g.request);
		return 0;
	}

	start_ns = rw_tool_now_ns();
	g.deadline_ns = g.duration >= 0 ? start_ns + (uint64_t)(g.duration * 1e9) : UINT64_MAX;
	for (unsigned i = 0; i < g.connections; i++) {
		struct conn *c = &conns[i];
		struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};

		if (g.mode == MODE_HTTP) {
			g.live++;
			h_connect(c);
			continue;
		}
		c->fd = rw_tool_connect(&g.target);
		c->state = CONNECTING;
		c->events = EPOLLOUT;
		g.live++;
		if (c->fd < 0)
			conn_fail(c, FAIL_CONNECT, -c->fd, "connect");
		else if (epoll_ctl(g.epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0)
			conn_fail(c, FAIL_CONNECT, errno, "epoll_ctl");
	}

	while (g.live > 0) {
		uint64_t now = rw_tool_now_ns();
		int timeout_ms = -1;
		int n;

		if (*stop && !g.stopping)
			begin_stop(conns);
		if (!g.stopping && now >= g.deadline_ns)
			begin_stop(conns);
		if (g.stopping && !hard_deadline_ns)
			hard_deadline_ns = now + GRACE_NS;
		if (hard_deadline_ns && now >= hard_deadline_ns)
			break;
		if (g.live == 0)
			break;
		if (!g.stopping && g.deadline_ns != UINT64_MAX)
			timeout_ms = (int)((g.deadline_ns - now) / 1000000 + 1);
		else if (hard_deadline_ns)
			timeout_ms = (int)((hard_deadline_ns - now) / 1000000 + 1);
		n = epoll_wait(g.epfd, events, 256, timeout_ms);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rw_tool_die(errno, "epoll_wait");
		}
		for (int i = 0; i < n; i++)
			conn_event(events[i].data.ptr);
	}
	/* Whatever is still open after the grace period did not finish: an error each. */
	for (unsigned i = 0; i < g.connections; i++)
		if (conns[i].state != DONE)
			conn_fail(&conns[i], FAIL_TIMEOUT, 0, "unfinished after the grace period");
	print_json(start_ns);
	free(conns);
	free(g.request);
	return 0;
}
