/*
 * Helpers shared by the tools/ measuring instruments: address and size parsing, socket set-up,
 * the deterministic byte pattern and signal handling. Kept deliberately boring: blocking-free
 * sockets, no io_uring, no project libraries.
 */
#include "tool_common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

void rw_tool_die(int errno_value, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", program_invocation_short_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (errno_value)
		fprintf(stderr, ": %s", strerror(errno_value));
	fputc('\n', stderr);
	exit(1);
}

int rw_tool_addr_parse(const char *text, struct rw_tool_addr *out)
{
	char host[64];
	const char *port_text;
	size_t host_len;
	char *end;
	unsigned long port;

	memset(out, 0, sizeof(*out));
	if (text[0] == '[') {
		const char *close = strchr(text, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		host_len = (size_t)(close - text - 1);
		if (host_len >= sizeof(host))
			return -EINVAL;
		memcpy(host, text + 1, host_len);
		port_text = close + 2;
	} else {
		const char *colon = strrchr(text, ':');

		if (!colon)
			return -EINVAL;
		host_len = (size_t)(colon - text);
		if (host_len >= sizeof(host))
			return -EINVAL;
		memcpy(host, text, host_len);
		port_text = colon + 1;
	}
	host[host_len] = '\0';
	errno = 0;
	port = strtoul(port_text, &end, 10);
	if (errno || end == port_text || *end || port > 65535)
		return -EINVAL;
	if (strcmp(host, "localhost") == 0)
		strcpy(host, "127.0.0.1");

	struct sockaddr_in *in4 = (struct sockaddr_in *)&out->ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&out->ss;

	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		out->len = sizeof(*in4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		out->len = sizeof(*in6);
		return 0;
	}
	return -EINVAL;
}

const char *rw_tool_addr_format(const struct sockaddr *sa, char *buf, size_t size)
{
	char host[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		snprintf(buf, size, "[%s]:%u", host, ntohs(in6->sin6_port));
	} else {
		const struct sockaddr_in *in4 = (const struct sockaddr_in *)(const void *)sa;

		inet_ntop(AF_INET, &in4->sin_addr, host, sizeof(host));
		snprintf(buf, size, "%s:%u", host, ntohs(in4->sin_port));
	}
	return buf;
}

int rw_tool_size_parse(const char *text, uint64_t *out)
{
	char *end;
	unsigned long long value;
	uint64_t mult = 1;

	errno = 0;
	value = strtoull(text, &end, 10);
	if (errno || end == text || text[0] == '-')
		return -EINVAL;
	if (*end) {
		bool binary = strcmp(end + 1, "iB") == 0 || strcmp(end + 1, "i") == 0;

		if (end[1] && !binary && strcmp(end + 1, "B") != 0)
			return -EINVAL;
		switch (end[0]) {
		case 'K':
		case 'k':
			mult = binary ? 1024ULL : 1000ULL;
			break;
		case 'M':
			mult = binary ? 1024ULL * 1024 : 1000ULL * 1000;
			break;
		case 'G':
			mult = binary ? 1024ULL * 1024 * 1024 : 1000ULL * 1000 * 1000;
			break;
		default:
			return -EINVAL;
		}
	}
	if (value > UINT64_MAX / mult)
		return -EINVAL;
	*out = value * mult;
	return 0;
}

int rw_tool_seconds_parse(const char *text, double *out)
{
	char *end;
	double value;

	errno = 0;
	value = strtod(text, &end);
	if (errno || end == text || *end || !(value >= 0.0))
		return -EINVAL;
	*out = value;
	return 0;
}

void rw_tool_raise_nofile(void)
{
	struct rlimit lim;

	if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
		lim.rlim_cur = lim.rlim_max;
		setrlimit(RLIMIT_NOFILE, &lim);
	}
}

int rw_tool_set_nonblock(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

void rw_tool_set_nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

int rw_tool_listen(struct rw_tool_addr *addr, int backlog)
{
	int one = 1;
	int fd, err;

	fd = socket(addr->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&addr->ss, addr->len) < 0 || listen(fd, backlog) < 0)
		goto fail;
	addr->len = sizeof(addr->ss);
	if (getsockname(fd, (struct sockaddr *)&addr->ss, &addr->len) < 0)
		goto fail;
	return fd;
fail:
	err = -errno;
	close(fd);
	return err;
}

int rw_tool_connect(const struct rw_tool_addr *addr)
{
	int fd, err;

	fd = socket(addr->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	rw_tool_set_nodelay(fd);
	if (connect(fd, (const struct sockaddr *)&addr->ss, addr->len) < 0 &&
	    errno != EINPROGRESS) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

void rw_tool_pattern_fill(uint8_t *buf, size_t size)
{
	for (size_t i = 0; i < size; i++)
		buf[i] = (uint8_t)(i % RW_TOOL_PATTERN_PERIOD);
}

uint64_t rw_tool_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static volatile sig_atomic_t stop_flag;

static void on_stop_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

volatile sig_atomic_t *rw_tool_install_stop_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return &stop_flag;
}
