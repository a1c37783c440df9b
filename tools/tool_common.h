/*
 * Small helpers shared by the measuring instruments in tools/ (rw-upstream, rw-loadgen,
 * rw-splice-relay). These tools use plain epoll on purpose: they must not share the proxy's
 * io_uring engine, or a bug there would bias both sides of a measurement. Nothing here links
 * a project library.
 */
#ifndef RW_TOOL_COMMON_H
#define RW_TOOL_COMMON_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* The deterministic byte pattern source/bulk streams carry: byte at stream offset o is o % 251.
 * 251 is prime so the pattern never lines up with power-of-two buffer sizes. */
#define RW_TOOL_PATTERN_PERIOD 251

struct rw_tool_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

/* Print "prog: message" plus strerror(errno) when errno_value != 0, then exit(1). */
void rw_tool_die(int errno_value, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parse "127.0.0.1:8080", "[::1]:8080" or "localhost:0" (numeric hosts and "localhost" only:
 * the tools never resolve names). Returns 0 or -EINVAL. */
int rw_tool_addr_parse(const char *text, struct rw_tool_addr *out);

/* Format an address as "127.0.0.1:PORT" or "[::1]:PORT" into buf (at least 64 bytes). */
const char *rw_tool_addr_format(const struct sockaddr *sa, char *buf, size_t size);

/* Parse a byte count with optional suffix: K, M, G (powers of 1000) or KiB, MiB, GiB (powers of
 * 1024). Returns 0 or -EINVAL. */
int rw_tool_size_parse(const char *text, uint64_t *out);

/* Parse a non-negative decimal number of seconds ("5", "0.5"). Returns 0 or -EINVAL. */
int rw_tool_seconds_parse(const char *text, double *out);

/* Raise RLIMIT_NOFILE to its hard limit so the tools can hold 10k+ sockets. */
void rw_tool_raise_nofile(void);

/* Make fd non-blocking. Returns 0 or -errno. */
int rw_tool_set_nonblock(int fd);

/* Best-effort TCP_NODELAY: small request/response round trips must not wait for Nagle. */
void rw_tool_set_nodelay(int fd);

/* Create a non-blocking listening socket bound to addr with SO_REUSEADDR; the bound address is
 * written back into addr (so port 0 becomes the kernel's choice). Returns fd or -errno. */
int rw_tool_listen(struct rw_tool_addr *addr, int backlog);

/* Start a non-blocking connect. Returns the fd (connected or EINPROGRESS) or -errno. */
int rw_tool_connect(const struct rw_tool_addr *addr);

/* Fill buf with the pattern starting at stream offset 0; callers index it at (offset % 251). */
void rw_tool_pattern_fill(uint8_t *buf, size_t size);

/* Monotonic time in nanoseconds. */
uint64_t rw_tool_now_ns(void);

/* Install handlers so SIGINT/SIGTERM set the returned flag, and ignore SIGPIPE. */
volatile sig_atomic_t *rw_tool_install_stop_signals(void);

/* ---- HTTP/1.1 message heads (rw-upstream --mode http, rw-loadgen --mode http|idle) ---------
 *
 * Strict on purpose: the tools check a proxy's output, so anything odd is an error, not
 * something to work around. CRLF line ends only, no obs-fold, token header names, no control
 * bytes in values, one consistent Content-Length of digits only. */

/* A head longer than this is malformed. */
#define RW_TOOL_HTTP_HEAD_MAX 16384

struct rw_tool_http_head {
	size_t head_len;        /* bytes up to and including the empty line */
	int version_minor;      /* HTTP/1.0 or HTTP/1.1 */
	int status;             /* responses: the status code; requests: 0 */
	int64_t content_length; /* -1 when there is no Content-Length */
	bool transfer_encoding; /* any Transfer-Encoding header */
	bool chunked;           /* Transfer-Encoding ends in "chunked" */
	bool conn_close;        /* Connection: close */
	bool conn_keep_alive;   /* Connection: keep-alive */
	bool has_host;          /* requests: a Host header */
};

/* Parse the request or response head at the start of buf. Returns 1 and fills *out when it is
 * complete and well-formed, 0 when more bytes are needed, -1 when it is malformed (or longer
 * than RW_TOOL_HTTP_HEAD_MAX). */
int rw_tool_http_parse_head(const char *buf, size_t len, bool response,
                            struct rw_tool_http_head *out);

#endif
