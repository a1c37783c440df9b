/*
 * ring/: accepting, then rw_engine_stop_listening() from another thread (the admin's POST
 * /drain_listeners): new connections are refused while an accepted one is still served (its
 * bytes echoed) and the loop keeps running until rw_engine_drain().  A graceful stop runs the
 * drain-start callback.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "ring/engine.h"
#include "tests/unit/check.h"

static struct rw_engine *eng;
static atomic_int accepted, drain_started, ready;
static int listen_fd;

static void on_data(struct rw_sock *s, void *ctx, struct rw_buf *b, uint32_t off, uint32_t len)
{
	(void)ctx;
	CHECK(rw_chain_append_buf(rw_sock_out(s), b, off, len) == 0);
	rw_sock_flush(s);
}

static void on_eof(struct rw_sock *s, void *ctx)
{
	(void)ctx;
	rw_sock_close(s);
}

static void on_error(struct rw_sock *s, void *ctx, int err)
{
	(void)ctx;
	(void)err;
	rw_sock_close(s);
}

static const struct rw_sock_ops echo_ops = {
    .on_data = on_data, .on_eof = on_eof, .on_error = on_error};

static void on_accept(struct rw_engine *e, void *ctx, int fd)
{
	struct rw_sock *s = rw_sock_adopt(e, fd, &echo_ops, ctx);

	CHECK(s);
	rw_sock_read_start(s);
	atomic_fetch_add(&accepted, 1);
}

static void drain_start(void *ctx)
{
	(void)ctx;
	atomic_fetch_add(&drain_started, 1);
}

static void *loop(void *arg)
{
	struct rw_engine_options eo = {.buf_size = 4096, .buf_entries = 64, .worker_id = 0};
	char err[256];

	(void)arg;
	CHECK(rw_engine_create(&eo, &eng, err, sizeof(err)) == 0);
	rw_engine_set_drain_start_cb(eng, drain_start, NULL);
	CHECK(rw_engine_listen(eng, listen_fd, on_accept, NULL) == 0);
	atomic_store(&ready, 1);
	CHECK(rw_engine_run(eng) == 0);
	return NULL;
}

static int dial(const struct sockaddr_storage *addr)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	CHECK(fd >= 0);
	if (connect(fd, (const struct sockaddr *)addr, sizeof(struct sockaddr_in))) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

static void wait_for(atomic_int *v, int want)
{
	for (int i = 0; i < 5000 && atomic_load(v) < want; i++)
		usleep(1000);
	CHECK(atomic_load(v) >= want);
}

static void echo_once(int fd, const char *msg)
{
	char buf[64];
	size_t n = strlen(msg), got = 0;

	CHECK(write(fd, msg, n) == (ssize_t)n);
	while (got < n) {
		ssize_t r = read(fd, buf + got, sizeof(buf) - got);

		CHECK(r > 0);
		got += (size_t)r;
	}
	CHECK(memcmp(buf, msg, n) == 0);
}

int main(void)
{
	struct sockaddr_storage any = {0}, bound;
	struct sockaddr_in *sin = (struct sockaddr_in *)&any;
	pthread_t t;
	int a, b, refused = 0;

	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(rw_listen_socket((struct sockaddr *)&any, sizeof(*sin), 16, &listen_fd, &bound) == 0);
	CHECK(pthread_create(&t, NULL, loop, NULL) == 0);
	wait_for(&ready, 1);

	a = dial(&bound);
	CHECK(a >= 0);
	wait_for(&accepted, 1);
	echo_once(a, "before");

	rw_engine_stop_listening(eng, true);
	wait_for(&drain_started, 1);
	/* The listening socket goes with the next loop turn: new connections are refused. */
	for (int i = 0; i < 2000; i++) {
		b = dial(&bound);
		if (b == -ECONNREFUSED) {
			refused = 1;
			break;
		}
		if (b >= 0)
			close(b);
		usleep(1000);
	}
	CHECK(refused);
	/* The accepted connection is still served and the loop still runs. */
	echo_once(a, "after stop_listening");
	CHECK(atomic_load(&drain_started) == 1);
	rw_engine_stop_listening(eng, false); /* again: no listener left, still serving */
	echo_once(a, "twice");

	close(a);
	rw_engine_drain(eng, 0);
	CHECK(pthread_join(t, NULL) == 0);
	rw_engine_destroy(eng);
	printf("ring listen: ok\n");
	return 0;
}
