/*
 * rw-splice-relay: the smallest honest TCP relay, used as the zero-copy floor in the benchmarks.
 *
 * One thread, edge-triggered epoll. Each accepted client gets a non-blocking connect to the
 * upstream and one pipe per direction; bytes move socket -> pipe -> socket with splice(2), so
 * payload never enters user space. FIN is passed on with shutdown(SHUT_WR) once a direction's
 * pipe is empty; the relay closes when both directions are done or either side fails.
 *
 *   client --splice--> [pipe up]   --splice--> upstream
 *   client <--splice-- [pipe down] <--splice-- upstream
 *
 * Edge-triggered epoll only re-reports a socket after it hit EAGAIN, so a direction that stops
 * early (burst limit) is put on a ready list and resumed after the current batch. Relays closed
 * during a batch are freed only after it, because the batch may still name their other socket.
 */
#include "tool_common.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

/* splice round trips per direction per turn before yielding to other relays */
#define PUMP_BURST 32

struct relay;

struct end {
	struct relay *relay;
	int fd;
};

struct direction {
	int pipe_rd;
	int pipe_wr;
	size_t in_pipe;   /* bytes spliced in and not yet out */
	bool src_eof;     /* source sent FIN */
	bool done;        /* FIN passed on to the destination */
	bool dst_blocked; /* bytes wait in the pipe for the destination's EPOLLOUT */
};

enum { PUMP_UP = 1, PUMP_DOWN = 2 };

struct relay {
	struct end client;
	struct end server;
	struct direction up;   /* client -> server */
	struct direction down; /* server -> client */
	bool connected;
	bool dead;
	bool queued;
	struct relay *ready_next;
	struct relay *dead_next;
};

static struct {
	struct rw_tool_addr upstream;
	size_t pipe_size;
	int epfd;
	int listen_fd;
	struct relay *ready;
	struct relay *graveyard;
	uint64_t accepted;
	uint64_t bytes_up;
	uint64_t bytes_down;
	uint64_t splice_calls;
	bool warned_setup;
} g;

static void usage(void)
{
	fprintf(stderr,
	        "usage: rw-splice-relay --listen ADDR:PORT --upstream ADDR:PORT "
	        "[--pipe-size BYTES]\n"
	        "  prints 'listening on ADDR:PORT' as its first stdout line; port 0 = any\n");
	exit(2);
}

static void close_if_open(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void relay_close(struct relay *r)
{
	if (r->dead)
		return;
	r->dead = true;
	close_if_open(&r->client.fd);
	close_if_open(&r->server.fd);
	close_if_open(&r->up.pipe_rd);
	close_if_open(&r->up.pipe_wr);
	close_if_open(&r->down.pipe_rd);
	close_if_open(&r->down.pipe_wr);
	r->dead_next = g.graveyard;
	g.graveyard = r;
}

static void relay_queue(struct relay *r)
{
	if (r->queued)
		return;
	r->queued = true;
	r->ready_next = g.ready;
	g.ready = r;
}

/* Move bytes src -> pipe -> dst until both sides would block. Returns 1 when the burst limit
 * cut it short, 0 when it blocked or finished, -1 when the relay must close. */
static int pump(struct direction *d, int src, int dst, uint64_t *counter)
{
	d->dst_blocked = false;
	for (int turn = 0; turn < PUMP_BURST; turn++) {
		bool progress = false;
		ssize_t n;

		/* A pipe counts slots, not bytes, so it may refuse before pipe_size bytes: an
		 * EAGAIN here then means "pipe full" and the drain below makes room. */
		if (!d->src_eof && d->in_pipe < g.pipe_size) {
			n = splice(src, NULL, d->pipe_wr, NULL, g.pipe_size - d->in_pipe,
			           SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			g.splice_calls++;
			if (n > 0) {
				d->in_pipe += (size_t)n;
				progress = true;
			} else if (n == 0) {
				d->src_eof = true;
				progress = true;
			} else if (errno != EAGAIN && errno != EINTR) {
				return -1;
			}
		}
		if (d->in_pipe > 0) {
			n = splice(d->pipe_rd, NULL, dst, NULL, d->in_pipe,
			           SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			g.splice_calls++;
			if (n > 0) {
				d->in_pipe -= (size_t)n;
				*counter += (uint64_t)n;
				progress = true;
			} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
				return -1;
			}
			d->dst_blocked = d->in_pipe > 0;
		}
		if (d->src_eof && d->in_pipe == 0 && !d->done) {
			shutdown(dst, SHUT_WR);
			d->done = true;
		}
		if (!progress || d->done)
			return 0;
	}
	return 1;
}

/* which: PUMP_UP and/or PUMP_DOWN. Pumping only the directions an event concerns avoids a
 * wasted EAGAIN splice per event on the idle direction. */
static void relay_pump(struct relay *r, int which)
{
	int up = 0, down = 0;

	if (r->dead || !r->connected)
		return;
	if ((which & PUMP_UP) && !r->up.done)
		up = pump(&r->up, r->client.fd, r->server.fd, &g.bytes_up);
	if (up >= 0 && (which & PUMP_DOWN) && !r->down.done)
		down = pump(&r->down, r->server.fd, r->client.fd, &g.bytes_down);
	if (up < 0 || down < 0 || (r->up.done && r->down.done))
		relay_close(r);
	else if (up > 0 || down > 0)
		relay_queue(r);
}

static void end_event(struct end *e, uint32_t events)
{
	struct relay *r = e->relay;

	if (r->dead)
		return;
	if (!r->connected) {
		int err = 0;
		socklen_t len = sizeof(err);

		if (e != &r->server || !(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return; /* client bytes wait until the upstream is connected */
		if (getsockopt(r->server.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) {
			relay_close(r);
			return;
		}
		r->connected = true;
		relay_pump(r, PUMP_UP | PUMP_DOWN);
		return;
	}

	/* e is the source of one direction and the destination of the other. */
	struct direction *src_of = e == &r->client ? &r->up : &r->down;
	struct direction *dst_of = e == &r->client ? &r->down : &r->up;
	int which = 0;

	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		which |= src_of == &r->up ? PUMP_UP : PUMP_DOWN;
	if ((events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) && dst_of->dst_blocked)
		which |= dst_of == &r->up ? PUMP_UP : PUMP_DOWN;
	relay_pump(r, which);
}

static int make_pipe(struct direction *d)
{
	int fds[2];

	if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0)
		return -errno;
	d->pipe_rd = fds[0];
	d->pipe_wr = fds[1];
	if (g.pipe_size)
		fcntl(d->pipe_wr, F_SETPIPE_SZ, (int)g.pipe_size);
	return 0;
}

static int watch(struct end *e)
{
	struct epoll_event ev = {
	    .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
	    .data.ptr = e,
	};

	return epoll_ctl(g.epfd, EPOLL_CTL_ADD, e->fd, &ev);
}

static void accept_all(void)
{
	for (;;) {
		struct relay *r;
		int fd = accept4(g.listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				fprintf(stderr, "rw-splice-relay: accept: %s\n", strerror(errno));
			return;
		}
		r = calloc(1, sizeof(*r));
		if (!r) {
			close(fd);
			continue;
		}
		g.accepted++;
		r->client.relay = r;
		r->server.relay = r;
		r->client.fd = fd;
		r->server.fd = -1;
		r->up.pipe_rd = r->up.pipe_wr = r->down.pipe_rd = r->down.pipe_wr = -1;
		rw_tool_set_nodelay(fd);
		r->server.fd = rw_tool_connect(&g.upstream);
		if (r->server.fd < 0 || make_pipe(&r->up) < 0 || make_pipe(&r->down) < 0 ||
		    watch(&r->client) < 0 || watch(&r->server) < 0) {
			int err = r->server.fd < 0 ? -r->server.fd : errno;

			if (!g.warned_setup) {
				/* Each relay holds 6 descriptors: 2 sockets and 2 pipes. */
				fprintf(stderr, "rw-splice-relay: connection set-up failed: %s\n",
				        strerror(err));
				g.warned_setup = true;
			}
			if (r->server.fd < 0)
				r->server.fd = -1;
			relay_close(r);
		}
	}
}

static void reap(void)
{
	while (g.graveyard) {
		struct relay *r = g.graveyard;

		g.graveyard = r->dead_next;
		free(r);
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"listen", required_argument, NULL, 'l'},
	    {"upstream", required_argument, NULL, 'u'},
	    {"pipe-size", required_argument, NULL, 'p'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *listen_text = NULL, *upstream_text = NULL;
	struct rw_tool_addr addr;
	struct epoll_event ev, events[256];
	volatile sig_atomic_t *stop;
	uint64_t value;
	char buf[80];
	int opt;

	while ((opt = getopt_long(argc, argv, "l:u:p:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'l':
			listen_text = optarg;
			break;
		case 'u':
			upstream_text = optarg;
			break;
		case 'p':
			if (rw_tool_size_parse(optarg, &value) < 0 || value > (1u << 30))
				usage();
			g.pipe_size = (size_t)value;
			break;
		default:
			usage();
		}
	}
	if (!listen_text || !upstream_text || optind != argc)
		usage();
	if (rw_tool_addr_parse(listen_text, &addr) < 0)
		rw_tool_die(0, "bad --listen address '%s'", listen_text);
	if (rw_tool_addr_parse(upstream_text, &g.upstream) < 0)
		rw_tool_die(0, "bad --upstream address '%s'", upstream_text);

	rw_tool_raise_nofile();
	stop = rw_tool_install_stop_signals();
	g.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (g.epfd < 0)
		rw_tool_die(errno, "epoll_create1");
	g.listen_fd = rw_tool_listen(&addr, 4096);
	if (g.listen_fd < 0)
		rw_tool_die(-g.listen_fd, "listen on %s", listen_text);
	if (!g.pipe_size) {
		/* Learn the default capacity so the byte accounting in pump() has a bound. */
		int fds[2];

		if (pipe(fds) < 0)
			rw_tool_die(errno, "pipe");
		g.pipe_size = (size_t)fcntl(fds[1], F_GETPIPE_SZ);
		close(fds[0]);
		close(fds[1]);
	}
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	if (epoll_ctl(g.epfd, EPOLL_CTL_ADD, g.listen_fd, &ev) < 0)
		rw_tool_die(errno, "epoll_ctl(ADD listen)");

	printf("listening on %s\n",
	       rw_tool_addr_format((struct sockaddr *)&addr.ss, buf, sizeof(buf)));
	fflush(stdout);

	while (!*stop) {
		int n = epoll_wait(g.epfd, events, 256, g.ready ? 0 : -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			rw_tool_die(errno, "epoll_wait");
		}
		for (int i = 0; i < n; i++) {
			if (!events[i].data.ptr)
				accept_all();
			else
				end_event(events[i].data.ptr, events[i].events);
		}
		/* Resume relays that hit the burst limit; they may queue themselves again. */
		struct relay *list = g.ready;

		g.ready = NULL;
		while (list) {
			struct relay *r = list;

			list = r->ready_next;
			r->queued = false;
			relay_pump(r, PUMP_UP | PUMP_DOWN);
		}
		reap();
	}
	fprintf(stderr,
	        "rw-splice-relay: accepted=%llu bytes_up=%llu bytes_down=%llu splices=%llu\n",
	        (unsigned long long)g.accepted, (unsigned long long)g.bytes_up,
	        (unsigned long long)g.bytes_down, (unsigned long long)g.splice_calls);
	return 0;
}
