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
#include <strings.h>
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

/* ---- HTTP/1.1 heads ------------------------------------------------------------------------ */

static bool http_is_tchar(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

static bool http_is_digit(unsigned char ch)
{
	return ch >= '0' && ch <= '9';
}

static bool http_name_is(const char *name, size_t len, const char *want)
{
	return strlen(want) == len && strncasecmp(name, want, len) == 0;
}

/* "HTTP/1.0" or "HTTP/1.1" at p (8 bytes available); returns the minor version or -1. */
static int http_version(const char *p)
{
	if (memcmp(p, "HTTP/1.", 7) != 0 || (p[7] != '0' && p[7] != '1'))
		return -1;
	return p[7] - '0';
}

static bool http_parse_request_line(const char *p, size_t len, struct rw_tool_http_head *out)
{
	size_t i = 0, target_start;

	while (i < len && http_is_tchar((unsigned char)p[i]))
		i++;
	if (i == 0 || i >= len || p[i] != ' ')
		return false;
	target_start = ++i;
	while (i < len && (unsigned char)p[i] > 0x20 && (unsigned char)p[i] < 0x7f)
		i++;
	if (i == target_start || i >= len || p[i] != ' ' || len - i - 1 != 8)
		return false;
	out->version_minor = http_version(p + i + 1);
	return out->version_minor >= 0;
}

static bool http_parse_status_line(const char *p, size_t len, struct rw_tool_http_head *out)
{
	if (len < 12 || (out->version_minor = http_version(p)) < 0 || p[8] != ' ' ||
	    !http_is_digit((unsigned char)p[9]) || !http_is_digit((unsigned char)p[10]) ||
	    !http_is_digit((unsigned char)p[11]) || p[9] == '0')
		return false;
	out->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	if (len == 12)
		return true; /* no reason phrase (and no SP): tolerated */
	if (p[12] != ' ')
		return false;
	for (size_t i = 13; i < len; i++)
		if (((unsigned char)p[i] < 0x20 && p[i] != '\t') || p[i] == 0x7f)
			return false;
	return true;
}

/* Apply the comma-separated tokens of a Connection or Transfer-Encoding value. */
static void http_tokens(const char *v, size_t len, struct rw_tool_http_head *out, bool is_te)
{
	size_t start = 0;

	while (start <= len) {
		size_t end = start, a, b;

		while (end < len && v[end] != ',')
			end++;
		a = start;
		b = end;
		while (a < b && (v[a] == ' ' || v[a] == '\t'))
			a++;
		while (b > a && (v[b - 1] == ' ' || v[b - 1] == '\t'))
			b--;
		if (is_te) {
			/* Only the last coding decides whether the body is chunked. */
			if (b > a || end == len)
				out->chunked = http_name_is(v + a, b - a, "chunked");
		} else if (http_name_is(v + a, b - a, "close")) {
			out->conn_close = true;
		} else if (http_name_is(v + a, b - a, "keep-alive")) {
			out->conn_keep_alive = true;
		}
		start = end + 1;
	}
}

static bool http_parse_header(const char *p, size_t len, bool response,
                              struct rw_tool_http_head *out)
{
	size_t name_len = 0, a, b;

	while (name_len < len && http_is_tchar((unsigned char)p[name_len]))
		name_len++;
	if (name_len == 0 || name_len >= len || p[name_len] != ':')
		return false;
	for (size_t i = name_len + 1; i < len; i++) {
		unsigned char ch = (unsigned char)p[i];

		if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			return false;
	}
	a = name_len + 1;
	b = len;
	while (a < b && (p[a] == ' ' || p[a] == '\t'))
		a++;
	while (b > a && (p[b - 1] == ' ' || p[b - 1] == '\t'))
		b--;
	if (http_name_is(p, name_len, "content-length")) {
		int64_t value = 0;

		if (a == b || b - a > 18)
			return false;
		for (size_t i = a; i < b; i++) {
			if (!http_is_digit((unsigned char)p[i]))
				return false;
			value = value * 10 + (p[i] - '0');
		}
		if (out->content_length >= 0 && out->content_length != value)
			return false;
		out->content_length = value;
	} else if (http_name_is(p, name_len, "transfer-encoding")) {
		out->transfer_encoding = true;
		http_tokens(p + a, b - a, out, true);
	} else if (http_name_is(p, name_len, "connection")) {
		http_tokens(p + a, b - a, out, false);
	} else if (!response && http_name_is(p, name_len, "host")) {
		if (out->has_host)
			return false;
		out->has_host = true;
	}
	return true;
}

int rw_tool_http_parse_head(const char *buf, size_t len, bool response,
                            struct rw_tool_http_head *out)
{
	size_t pos = 0;
	bool first = true;

	memset(out, 0, sizeof(*out));
	out->content_length = -1;
	if (len > RW_TOOL_HTTP_HEAD_MAX)
		len = RW_TOOL_HTTP_HEAD_MAX;
	for (;;) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t line_len;

		if (!nl)
			return len >= RW_TOOL_HTTP_HEAD_MAX ? -1 : 0;
		line_len = (size_t)(nl - (buf + pos));
		if (line_len == 0 || buf[pos + line_len - 1] != '\r')
			return -1; /* bare LF */
		line_len--;
		if (first) {
			if (response ? !http_parse_status_line(buf + pos, line_len, out)
			             : !http_parse_request_line(buf + pos, line_len, out))
				return -1;
			first = false;
		} else if (line_len == 0) {
			out->head_len = (size_t)(nl - buf) + 1;
			break;
		} else if (!http_parse_header(buf + pos, line_len, response, out)) {
			return -1; /* also rejects obs-fold: a line starting with SP/HTAB */
		}
		pos = (size_t)(nl - buf) + 1;
	}
	/* Both framings at once is a smuggling vector: a tool never accepts it. */
	if (out->transfer_encoding && out->content_length >= 0)
		return -1;
	return 1;
}
