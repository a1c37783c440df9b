/*
 * rw-upstream: the test upstream server the benchmarks and integration tests put behind a proxy.
 *
 * One thread, level-triggered epoll, non-blocking sockets, one small struct per connection and
 * shared scratch/pattern buffers, so 10k+ idle connections cost little memory: a connection only
 * owns heap memory while the peer is not reading what it echoed (backpressure backlog).
 *
 * Modes:
 *   echo    echo bytes back; after the client's FIN, finish echoing, then shutdown(SHUT_WR)
 *   sink    read and discard; at EOF send the 8-byte big-endian count of bytes received, close
 *   source  write --bytes N of the deterministic pattern (byte i = i % 251), then shutdown
 *   hold    accept and never read; close only when the peer goes away
 *   rr      per --req-size bytes received, send --resp-size pattern bytes (pipelining allowed)
 *   id      write "--id STRING\n" to each new connection, then shutdown
 *   http    minimal HTTP/1.1 keep-alive server: every request (request line and headers up to
 *           CRLFCRLF, an optional Content-Length body that is read and discarded) gets
 *           "HTTP/1.1 200 OK" with Content-Length and a --resp-size body (default 13 bytes,
 *           "Hello, world\n"). Pipelined requests in one read are all answered, in order, with
 *           one writev. "Connection: close" or HTTP/1.0 get the response with "Connection:
 *           close", then a half-close. Anything else (malformed head, Transfer-Encoding, an
 *           HTTP/1.1 request without Host, a head over 16 KiB) gets 400 and the same close.
 */
#include "tool_common.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

enum mode { MODE_ECHO, MODE_SINK, MODE_SOURCE, MODE_HOLD, MODE_RR, MODE_ID, MODE_HTTP };

/* http: what ends the response queue of a connection. */
enum http_final { HTTP_FINAL_NONE, HTTP_FINAL_CLOSE, HTTP_FINAL_BAD };

/* http: a partial request kept between reads lives in a heap buffer this large (a complete
 * head always fits: longer ones are rejected). */
#define HTTP_STASH_SIZE (2 * RW_TOOL_HTTP_HEAD_MAX)
#define HTTP_IOV_MAX    64
#define HTTP_BODY_TEXT  "Hello, world\n"

/* Reads or writes per readiness event before yielding to other connections (level-triggered
 * epoll reports the rest again). Keeps one bulk stream from starving the others. */
#define IO_BURST     16
#define SCRATCH_SIZE (256 * 1024)

struct conn {
	int fd;
	uint32_t events;    /* current epoll interest */
	bool rd_eof;        /* peer sent FIN */
	bool draining;      /* our write side is shut; discard reads until EOF, then close */
	uint64_t rx_count;  /* sink: total bytes; rr: bytes of the partial request */
	uint64_t tx_done;   /* bytes sent so far: the pattern offset */
	uint64_t tx_owed;   /* source/rr/id: bytes still to send */
	uint8_t *backlog;   /* echo: bytes the peer has not taken yet (heap, only when blocked) */
	size_t backlog_off; /* echo: first unsent byte of backlog */
	size_t backlog_len; /* echo: end of backlog; sink: 8 when the count reply is queued */
	uint8_t reply[8];   /* sink: the count reply */
	/* http */
	uint8_t *stash; /* unparsed bytes of a partial request (heap, only while partial) */
	size_t stash_len;
	uint64_t body_left; /* Content-Length bytes of the current request still to discard */
	uint64_t ok_owed;   /* keep-alive 200 responses still to send */
	size_t resp_off;    /* bytes of the first owed response already sent */
	uint8_t final;      /* enum http_final: the last response, then half-close */
	bool final_sent;
};

struct http_resp {
	uint8_t *buf;
	size_t len;
};

static struct {
	enum mode mode;
	uint64_t source_bytes;
	uint64_t req_size;
	uint64_t resp_size;
	const char *id;
	size_t id_len;
	int epfd;
	int listen_fd;
	bool accept_paused;
	uint64_t accepted;
	uint64_t open_conns;
	uint64_t bytes_in;
	uint64_t bytes_out;
	uint64_t http_requests;
	uint64_t http_bad;
	struct http_resp resp_ok;    /* 200, keep-alive */
	struct http_resp resp_close; /* 200 with Connection: close */
	struct http_resp resp_bad;   /* 400 with Connection: close */
} g;

static uint8_t scratch[SCRATCH_SIZE];
static uint8_t pattern[SCRATCH_SIZE + RW_TOOL_PATTERN_PERIOD];

static void usage(void)
{
	fprintf(stderr,
	        "usage: rw-upstream --listen ADDR:PORT [--mode echo|sink|source|hold|rr|id|http]\n"
	        "                   [--bytes N] [--req-size N] [--resp-size N] [--id STRING]\n"
	        "  prints 'listening on ADDR:PORT' as its first stdout line; port 0 = any\n");
	exit(2);
}

static void set_events(struct conn *c, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = c};

	if (c->events == events)
		return;
	c->events = events;
	if (epoll_ctl(g.epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0)
		rw_tool_die(errno, "epoll_ctl(MOD)");
}

static void conn_close(struct conn *c)
{
	close(c->fd);
	free(c->backlog);
	free(c->stash);
	free(c);
	g.open_conns--;
	if (g.accept_paused) {
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};

		if (epoll_ctl(g.epfd, EPOLL_CTL_ADD, g.listen_fd, &ev) == 0)
			g.accept_paused = false;
	}
}

/* Our side is done sending: half-close and wait for the peer's FIN so close() never turns
 * unread bytes into a RST that could truncate what we sent. */
static void start_drain(struct conn *c)
{
	shutdown(c->fd, SHUT_WR);
	c->draining = true;
	set_events(c, EPOLLIN);
}

static bool is_transient(int err)
{
	return err == EAGAIN || err == EWOULDBLOCK || err == EINTR;
}

/* Write up to tx_owed bytes of the pattern (or the id string). Returns 1 when everything owed
 * was sent, 0 when the socket is full, -1 when the connection failed. */
static int send_owed(struct conn *c)
{
	for (int i = 0; i < IO_BURST && c->tx_owed > 0; i++) {
		const uint8_t *src;
		size_t len = c->tx_owed > SCRATCH_SIZE ? SCRATCH_SIZE : (size_t)c->tx_owed;
		ssize_t n;

		if (g.mode == MODE_ID)
			src = (const uint8_t *)g.id + (g.id_len - c->tx_owed);
		else
			src = pattern + c->tx_done % RW_TOOL_PATTERN_PERIOD;
		n = send(c->fd, src, len, MSG_NOSIGNAL);
		if (n < 0)
			return is_transient(errno) ? 0 : -1;
		c->tx_done += (uint64_t)n;
		c->tx_owed -= (uint64_t)n;
		g.bytes_out += (uint64_t)n;
	}
	return c->tx_owed == 0 ? 1 : 0;
}

static void drain_readable(struct conn *c)
{
	for (int i = 0; i < IO_BURST; i++) {
		ssize_t n = recv(c->fd, scratch, sizeof(scratch), 0);

		if (n > 0)
			continue;
		if (n < 0 && is_transient(errno))
			return;
		conn_close(c);
		return;
	}
}

static void echo_event(struct conn *c, uint32_t events)
{
	if (c->backlog) {
		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		while (c->backlog_off < c->backlog_len) {
			ssize_t n = send(c->fd, c->backlog + c->backlog_off,
			                 c->backlog_len - c->backlog_off, MSG_NOSIGNAL);

			if (n < 0) {
				if (is_transient(errno))
					return;
				conn_close(c);
				return;
			}
			c->backlog_off += (size_t)n;
			g.bytes_out += (uint64_t)n;
		}
		free(c->backlog);
		c->backlog = NULL;
		if (c->rd_eof) {
			shutdown(c->fd, SHUT_WR);
			conn_close(c);
			return;
		}
		set_events(c, EPOLLIN);
		return;
	}
	for (int i = 0; i < IO_BURST; i++) {
		ssize_t n = recv(c->fd, scratch, sizeof(scratch), 0);
		ssize_t w;

		if (n == 0) {
			/* Everything received was already echoed: pass the FIN on. */
			shutdown(c->fd, SHUT_WR);
			conn_close(c);
			return;
		}
		if (n < 0) {
			if (!is_transient(errno))
				conn_close(c);
			return;
		}
		g.bytes_in += (uint64_t)n;
		w = send(c->fd, scratch, (size_t)n, MSG_NOSIGNAL);
		if (w < 0 && !is_transient(errno)) {
			conn_close(c);
			return;
		}
		if (w < 0)
			w = 0;
		g.bytes_out += (uint64_t)w;
		if (w < n) {
			/* Peer is slow: keep the rest and stop reading until it is taken. */
			c->backlog = malloc((size_t)(n - w));
			if (!c->backlog) {
				conn_close(c);
				return;
			}
			memcpy(c->backlog, scratch + w, (size_t)(n - w));
			c->backlog_off = 0;
			c->backlog_len = (size_t)(n - w);
			set_events(c, EPOLLOUT);
			return;
		}
	}
}

static void sink_event(struct conn *c)
{
	if (c->backlog_len) {
		ssize_t n = send(c->fd, c->reply + c->backlog_off, c->backlog_len - c->backlog_off,
		                 MSG_NOSIGNAL);

		if (n < 0 && is_transient(errno))
			return;
		if (n > 0)
			c->backlog_off += (size_t)n;
		if (n > 0 && c->backlog_off < c->backlog_len)
			return;
		conn_close(c);
		return;
	}
	for (int i = 0; i < IO_BURST; i++) {
		ssize_t n = recv(c->fd, scratch, sizeof(scratch), 0);

		if (n > 0) {
			c->rx_count += (uint64_t)n;
			g.bytes_in += (uint64_t)n;
			continue;
		}
		if (n < 0) {
			if (!is_transient(errno))
				conn_close(c);
			return;
		}
		for (int b = 0; b < 8; b++)
			c->reply[b] = (uint8_t)(c->rx_count >> (56 - 8 * b));
		c->backlog_off = 0;
		c->backlog_len = sizeof(c->reply);
		set_events(c, EPOLLOUT);
		sink_event(c);
		return;
	}
}

static void rr_event(struct conn *c, uint32_t events)
{
	if (c->tx_owed > 0 && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
		int r = send_owed(c);

		if (r < 0) {
			conn_close(c);
			return;
		}
		if (r == 0)
			return;
		if (c->rd_eof) {
			start_drain(c);
			return;
		}
		set_events(c, EPOLLIN);
	}
	if (!(events & (EPOLLIN | EPOLLERR | EPOLLHUP)) || c->tx_owed > 0)
		return;
	for (int i = 0; i < IO_BURST; i++) {
		ssize_t n = recv(c->fd, scratch, sizeof(scratch), 0);

		if (n == 0) {
			c->rd_eof = true;
			break;
		}
		if (n < 0) {
			if (!is_transient(errno)) {
				conn_close(c);
				return;
			}
			break;
		}
		g.bytes_in += (uint64_t)n;
		c->rx_count += (uint64_t)n;
		c->tx_owed += c->rx_count / g.req_size * g.resp_size;
		c->rx_count %= g.req_size;
		if (c->tx_owed > 0)
			break;
	}
	if (c->tx_owed > 0) {
		int r = send_owed(c);

		if (r < 0) {
			conn_close(c);
			return;
		}
		if (r == 0) {
			/* Response backlog: stop reading requests until it is sent. */
			set_events(c, EPOLLOUT);
			return;
		}
	}
	if (c->rd_eof)
		start_drain(c);
}

static bool http_pending(const struct conn *c)
{
	return c->ok_owed > 0 || (c->final != HTTP_FINAL_NONE && !c->final_sent);
}

/* Parse every complete request in data[0..len); queue a response for each. Returns the bytes
 * consumed: the rest is a partial request. Stops at a request that ends the connection. */
static size_t http_process(struct conn *c, const uint8_t *data, size_t len)
{
	size_t pos = 0;

	while (pos < len && c->final == HTTP_FINAL_NONE) {
		struct rw_tool_http_head h;
		int r;

		if (c->body_left > 0) {
			size_t take = len - pos < c->body_left ? len - pos : (size_t)c->body_left;

			pos += take;
			c->body_left -= take;
			continue;
		}
		r = rw_tool_http_parse_head((const char *)data + pos, len - pos, false, &h);
		if (r == 0)
			break;
		if (r < 0 || h.transfer_encoding || (h.version_minor == 1 && !h.has_host)) {
			c->final = HTTP_FINAL_BAD;
			g.http_bad++;
			break;
		}
		g.http_requests++;
		pos += h.head_len;
		c->body_left = h.content_length > 0 ? (uint64_t)h.content_length : 0;
		/* HTTP/1.0 keep-alive would need "Connection: keep-alive" in the reply: close. */
		if (h.conn_close || h.version_minor == 0) {
			c->final = HTTP_FINAL_CLOSE;
			break;
		}
		c->ok_owed++;
	}
	return pos;
}

static const struct http_resp *http_final_resp(const struct conn *c)
{
	return c->final == HTTP_FINAL_BAD ? &g.resp_bad : &g.resp_close;
}

/* Send owed responses, several per writev. Returns 1 when all are sent, 0 when the socket is
 * full, -1 when the connection failed. */
static int http_send(struct conn *c)
{
	for (int burst = 0; burst < IO_BURST && http_pending(c); burst++) {
		struct iovec iov[HTTP_IOV_MAX];
		size_t off = c->resp_off;
		uint64_t ok = c->ok_owed;
		int n = 0;
		ssize_t w;

		for (; n < HTTP_IOV_MAX && ok > 0; n++, ok--, off = 0) {
			iov[n].iov_base = g.resp_ok.buf + off;
			iov[n].iov_len = g.resp_ok.len - off;
		}
		if (n < HTTP_IOV_MAX && ok == 0 && c->final != HTTP_FINAL_NONE) {
			iov[n].iov_base = http_final_resp(c)->buf + off;
			iov[n].iov_len = http_final_resp(c)->len - off;
			n++;
		}
		w = writev(c->fd, iov, n);
		if (w < 0)
			return is_transient(errno) ? 0 : -1;
		g.bytes_out += (uint64_t)w;
		while (w > 0) {
			size_t cur = (c->ok_owed > 0 ? g.resp_ok.len : http_final_resp(c)->len) -
			             c->resp_off;

			if ((size_t)w < cur) {
				c->resp_off += (size_t)w;
				break;
			}
			w -= (ssize_t)cur;
			c->resp_off = 0;
			if (c->ok_owed > 0)
				c->ok_owed--;
			else
				c->final_sent = true;
		}
	}
	return http_pending(c) ? 0 : 1;
}

/* Keep the unconsumed tail of data (len bytes, consumed of them parsed) for the next read. */
static bool http_keep_rest(struct conn *c, const uint8_t *data, size_t len, size_t consumed)
{
	size_t left = len - consumed;

	if (left == 0 || c->final != HTTP_FINAL_NONE) {
		free(c->stash);
		c->stash = NULL;
		c->stash_len = 0;
		return true;
	}
	if (!c->stash) {
		c->stash = malloc(HTTP_STASH_SIZE);
		if (!c->stash)
			return false;
	}
	memmove(c->stash, data + consumed, left);
	c->stash_len = left;
	return true;
}

static void http_event(struct conn *c, uint32_t events)
{
	int r;

	if (http_pending(c) && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
		r = http_send(c);
		if (r < 0) {
			conn_close(c);
			return;
		}
		if (r == 0)
			return;
		if (c->final != HTTP_FINAL_NONE) {
			start_drain(c);
			return;
		}
		set_events(c, EPOLLIN);
	}
	if (!(events & (EPOLLIN | EPOLLERR | EPOLLHUP)) || http_pending(c))
		return;
	for (int i = 0; i < IO_BURST; i++) {
		uint8_t *dst = c->stash ? c->stash + c->stash_len : scratch;
		size_t room = c->stash ? HTTP_STASH_SIZE - c->stash_len : sizeof(scratch);
		const uint8_t *data;
		size_t len;
		ssize_t n = recv(c->fd, dst, room, 0);

		if (n == 0) {
			c->rd_eof = true;
			break;
		}
		if (n < 0) {
			if (!is_transient(errno)) {
				conn_close(c);
				return;
			}
			break;
		}
		g.bytes_in += (uint64_t)n;
		data = c->stash ? c->stash : scratch;
		len = c->stash ? c->stash_len + (size_t)n : (size_t)n;
		if (!http_keep_rest(c, data, len, http_process(c, data, len))) {
			conn_close(c);
			return;
		}
		if (http_pending(c))
			break; /* answer before reading more */
	}
	if (http_pending(c)) {
		r = http_send(c);
		if (r < 0) {
			conn_close(c);
			return;
		}
		if (r == 0) {
			/* Response backlog: stop reading requests until it is sent. */
			set_events(c, EPOLLOUT);
			return;
		}
		if (c->final != HTTP_FINAL_NONE) {
			start_drain(c);
			return;
		}
	}
	if (c->rd_eof)
		conn_close(c);
}

/* Build "HTTP/1.1 <status>" + Content-Length [+ Connection: close] + body into r. */
static void http_build(struct http_resp *r, const char *status, bool close_it, uint64_t body)
{
	char head[160];
	int hl =
	    snprintf(head, sizeof(head), "HTTP/1.1 %s\r\nContent-Length: %llu\r\n%s\r\n", status,
	             (unsigned long long)body, close_it ? "Connection: close\r\n" : "");

	r->len = (size_t)hl + (size_t)body;
	r->buf = malloc(r->len ? r->len : 1);
	if (!r->buf)
		rw_tool_die(ENOMEM, "malloc response");
	memcpy(r->buf, head, (size_t)hl);
	for (uint64_t i = 0; i < body; i++)
		r->buf[(size_t)hl + i] = (uint8_t)HTTP_BODY_TEXT[i % (sizeof(HTTP_BODY_TEXT) - 1)];
}

static void stream_event(struct conn *c)
{
	int r = send_owed(c);

	if (r < 0)
		conn_close(c);
	else if (r > 0)
		start_drain(c);
}

static void conn_event(struct conn *c, uint32_t events)
{
	if (c->draining) {
		drain_readable(c);
		return;
	}
	switch (g.mode) {
	case MODE_ECHO:
		echo_event(c, events);
		break;
	case MODE_SINK:
		sink_event(c);
		break;
	case MODE_RR:
		rr_event(c, events);
		break;
	case MODE_HTTP:
		http_event(c, events);
		break;
	case MODE_SOURCE:
	case MODE_ID:
		stream_event(c);
		break;
	case MODE_HOLD:
		conn_close(c);
		break;
	}
}

static void accept_all(void)
{
	for (;;) {
		struct epoll_event ev;
		struct conn *c;
		int fd = accept4(g.listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE) {
				/* Out of descriptors: stop accepting until a connection closes,
				 * instead of spinning on a level-triggered listener. */
				fprintf(stderr, "rw-upstream: accept: %s (pausing)\n",
				        strerror(errno));
				epoll_ctl(g.epfd, EPOLL_CTL_DEL, g.listen_fd, NULL);
				g.accept_paused = true;
			}
			return;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		rw_tool_set_nodelay(fd);
		switch (g.mode) {
		case MODE_SOURCE:
			c->tx_owed = g.source_bytes;
			c->events = EPOLLOUT;
			break;
		case MODE_ID:
			c->tx_owed = g.id_len;
			c->events = EPOLLOUT;
			break;
		case MODE_HOLD:
			/* Never EPOLLIN: unread bytes would fire forever. RDHUP tells us the
			 * peer left, so held sockets do not leak. */
			c->events = EPOLLRDHUP;
			break;
		default:
			c->events = EPOLLIN;
			break;
		}
		ev.events = c->events;
		ev.data.ptr = c;
		if (epoll_ctl(g.epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			free(c);
			continue;
		}
		g.accepted++;
		g.open_conns++;
	}
}

static enum mode parse_mode(const char *s)
{
	static const struct {
		const char *name;
		enum mode mode;
	} modes[] = {{"echo", MODE_ECHO}, {"sink", MODE_SINK}, {"source", MODE_SOURCE},
	             {"hold", MODE_HOLD}, {"rr", MODE_RR},     {"id", MODE_ID},
	             {"http", MODE_HTTP}};

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strcmp(s, modes[i].name) == 0)
			return modes[i].mode;
	usage();
	return MODE_ECHO;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"listen", required_argument, NULL, 'l'},
	    {"mode", required_argument, NULL, 'm'},
	    {"bytes", required_argument, NULL, 'b'},
	    {"req-size", required_argument, NULL, 'q'},
	    {"resp-size", required_argument, NULL, 'r'},
	    {"id", required_argument, NULL, 'i'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *listen_text = NULL;
	struct rw_tool_addr addr;
	struct epoll_event ev, events[256];
	volatile sig_atomic_t *stop;
	char buf[80];
	char *id_line;
	bool resp_size_set = false;
	int opt;

	g.req_size = 64;
	g.resp_size = 64;
	g.id = "rw-upstream";
	while ((opt = getopt_long(argc, argv, "l:m:b:q:r:i:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'l':
			listen_text = optarg;
			break;
		case 'm':
			g.mode = parse_mode(optarg);
			break;
		case 'b':
			if (rw_tool_size_parse(optarg, &g.source_bytes) < 0)
				usage();
			break;
		case 'q':
			if (rw_tool_size_parse(optarg, &g.req_size) < 0 || g.req_size == 0)
				usage();
			break;
		case 'r':
			if (rw_tool_size_parse(optarg, &g.resp_size) < 0)
				usage();
			resp_size_set = true;
			break;
		case 'i':
			g.id = optarg;
			break;
		default:
			usage();
		}
	}
	if (!listen_text || optind != argc)
		usage();
	if (rw_tool_addr_parse(listen_text, &addr) < 0)
		rw_tool_die(0, "bad --listen address '%s'", listen_text);

	id_line = malloc(strlen(g.id) + 2);
	if (!id_line)
		rw_tool_die(ENOMEM, "malloc");
	g.id_len = (size_t)sprintf(id_line, "%s\n", g.id);
	g.id = id_line;

	rw_tool_raise_nofile();
	stop = rw_tool_install_stop_signals();
	rw_tool_pattern_fill(pattern, sizeof(pattern));
	if (g.mode == MODE_HTTP) {
		if (!resp_size_set)
			g.resp_size = sizeof(HTTP_BODY_TEXT) - 1;
		if (g.resp_size > (1ULL << 30))
			rw_tool_die(0, "--resp-size above 1 GiB");
		http_build(&g.resp_ok, "200 OK", false, g.resp_size);
		http_build(&g.resp_close, "200 OK", true, g.resp_size);
		http_build(&g.resp_bad, "400 Bad Request", true, 0);
	}

	g.listen_fd = rw_tool_listen(&addr, 4096);
	if (g.listen_fd < 0)
		rw_tool_die(-g.listen_fd, "listen on %s", listen_text);
	g.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (g.epfd < 0)
		rw_tool_die(errno, "epoll_create1");
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	if (epoll_ctl(g.epfd, EPOLL_CTL_ADD, g.listen_fd, &ev) < 0)
		rw_tool_die(errno, "epoll_ctl(ADD listen)");

	printf("listening on %s\n",
	       rw_tool_addr_format((struct sockaddr *)&addr.ss, buf, sizeof(buf)));
	fflush(stdout);

	while (!*stop) {
		int n = epoll_wait(g.epfd, events, 256, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			rw_tool_die(errno, "epoll_wait");
		}
		for (int i = 0; i < n; i++) {
			if (!events[i].data.ptr)
				accept_all();
			else
				conn_event(events[i].data.ptr, events[i].events);
		}
	}
	fprintf(stderr, "rw-upstream: accepted=%llu open=%llu bytes_in=%llu bytes_out=%llu",
	        (unsigned long long)g.accepted, (unsigned long long)g.open_conns,
	        (unsigned long long)g.bytes_in, (unsigned long long)g.bytes_out);
	if (g.mode == MODE_HTTP)
		fprintf(stderr, " http_requests=%llu http_bad=%llu",
		        (unsigned long long)g.http_requests, (unsigned long long)g.http_bad);
	fputc('\n', stderr);
	free(g.resp_ok.buf);
	free(g.resp_close.buf);
	free(g.resp_bad.buf);
	free(id_line);
	return 0;
}
