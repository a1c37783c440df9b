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
 */
#include "tool_common.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

enum mode { MODE_ECHO, MODE_SINK, MODE_SOURCE, MODE_HOLD, MODE_RR, MODE_ID };

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
} g;

static uint8_t scratch[SCRATCH_SIZE];
static uint8_t pattern[SCRATCH_SIZE + RW_TOOL_PATTERN_PERIOD];

static void usage(void)
{
	fprintf(stderr,
	        "usage: rw-upstream --listen ADDR:PORT [--mode echo|sink|source|hold|rr|id]\n"
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
	             {"hold", MODE_HOLD}, {"rr", MODE_RR},     {"id", MODE_ID}};

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
	fprintf(stderr, "rw-upstream: accepted=%llu open=%llu bytes_in=%llu bytes_out=%llu\n",
	        (unsigned long long)g.accepted, (unsigned long long)g.open_conns,
	        (unsigned long long)g.bytes_in, (unsigned long long)g.bytes_out);
	free(id_line);
	return 0;
}
