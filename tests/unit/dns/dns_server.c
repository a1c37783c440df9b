/*
 * The resolver tests' DNS server (see dns_server.h).  One thread, poll() with a short timeout
 * so stopping needs no extra descriptor; every table access under one mutex.  Parses just
 * enough of RFC 1035: one question, uncompressed name, class IN.
 */
#include "dns_server.h"

#include "tests/unit/check.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_ENTRIES 32
#define MAX_ADDRS   8
#define MAX_LOG     4096
#define NAME_MAX_   256

struct record {
	unsigned qtype;
	unsigned char bytes[16];
	uint32_t ttl;
};

struct entry {
	bool used;
	char name[NAME_MAX_];
	unsigned rcode;
	struct record records[MAX_ADDRS];
	unsigned count;
};

struct logged_query {
	char name[NAME_MAX_];
	unsigned qtype;
};

struct dns_server {
	int fd;
	uint16_t port;
	pthread_t thread;
	atomic_bool stop;
	pthread_mutex_t lock;
	bool drop;
	struct entry entries[MAX_ENTRIES];
	struct logged_query log[MAX_LOG];
	unsigned logged;
};

static struct entry *find(struct dns_server *s, const char *name)
{
	for (unsigned i = 0; i < MAX_ENTRIES; i++)
		if (s->entries[i].used && strcasecmp(s->entries[i].name, name) == 0)
			return &s->entries[i];
	return NULL;
}

static void put_u16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

static void put_u32(unsigned char *p, uint32_t v)
{
	put_u16(p, v >> 16);
	put_u16(p + 2, v & 0xffff);
}

/* Returns the response length, or 0 to stay silent. */
static size_t answer(struct dns_server *s, const unsigned char *q, size_t qlen, unsigned char *out,
                     size_t cap)
{
	char name[NAME_MAX_];
	size_t pos = 12, name_len = 0, n;
	unsigned qtype, rcode = 0, ancount = 0;
	struct entry *e;

	if (qlen < 12 || ((q[4] << 8) | q[5]) != 1)
		return 0;
	while (pos < qlen && q[pos] != 0) {
		unsigned label = q[pos];

		if (label > 63 || pos + 1 + label > qlen || name_len + label + 2 > sizeof(name))
			return 0;
		if (name_len)
			name[name_len++] = '.';
		memcpy(name + name_len, q + pos + 1, label);
		name_len += label;
		pos += 1 + label;
	}
	name[name_len] = '\0';
	if (pos + 5 > qlen)
		return 0;
	pos++;
	qtype = (unsigned)(q[pos] << 8 | q[pos + 1]);
	pos += 4; /* type, class */

	pthread_mutex_lock(&s->lock);
	if (s->logged < MAX_LOG) {
		strcpy(s->log[s->logged].name, name);
		s->log[s->logged].qtype = qtype;
		s->logged++;
	}
	if (s->drop) {
		pthread_mutex_unlock(&s->lock);
		return 0;
	}
	CHECK(pos + 12 <= cap);
	memcpy(out, q, pos);                            /* id, question */
	out[2] = (unsigned char)(0x84 | (q[2] & 0x01)); /* QR, AA, RD as asked */
	n = pos;
	e = find(s, name);
	if (!e)
		rcode = 3; /* NXDOMAIN */
	else if (e->rcode)
		rcode = e->rcode;
	else {
		for (unsigned i = 0; i < e->count; i++) {
			const struct record *rec = &e->records[i];
			unsigned rdlen = rec->qtype == DNS_TYPE_A ? 4 : 16;

			if (rec->qtype != qtype)
				continue;
			CHECK(n + 12 + rdlen <= cap);
			put_u16(out + n, 0xc00c); /* the question's name */
			put_u16(out + n + 2, qtype);
			put_u16(out + n + 4, 1); /* IN */
			put_u32(out + n + 6, rec->ttl);
			put_u16(out + n + 10, rdlen);
			memcpy(out + n + 12, rec->bytes, rdlen);
			n += 12 + rdlen;
			ancount++;
		}
	}
	pthread_mutex_unlock(&s->lock);
	out[3] = (unsigned char)(0x80 | rcode); /* RA */
	put_u16(out + 6, ancount);
	put_u16(out + 8, 0);
	put_u16(out + 10, 0);
	return n;
}

static void *serve(void *arg)
{
	struct dns_server *s = arg;
	unsigned char query[512], response[1024];

	while (!atomic_load(&s->stop)) {
		struct pollfd pfd = {.fd = s->fd, .events = POLLIN};
		struct sockaddr_storage peer;
		socklen_t peer_len = sizeof(peer);
		ssize_t got;
		size_t len;

		if (poll(&pfd, 1, 20) <= 0)
			continue;
		got = recvfrom(s->fd, query, sizeof(query), 0, (struct sockaddr *)&peer, &peer_len);
		if (got <= 0)
			continue;
		len = answer(s, query, (size_t)got, response, sizeof(response));
		if (len)
			(void)sendto(s->fd, response, len, 0, (struct sockaddr *)&peer, peer_len);
	}
	return NULL;
}

struct dns_server *dns_server_start(void)
{
	struct dns_server *s = calloc(1, sizeof(*s));
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sin);

	CHECK(s);
	s->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK(s->fd >= 0);
	CHECK(bind(s->fd, (struct sockaddr *)&sin, sizeof(sin)) == 0);
	CHECK(getsockname(s->fd, (struct sockaddr *)&sin, &len) == 0);
	s->port = ntohs(sin.sin_port);
	pthread_mutex_init(&s->lock, NULL);
	CHECK(pthread_create(&s->thread, NULL, serve, s) == 0);
	return s;
}

void dns_server_stop(struct dns_server *s)
{
	atomic_store(&s->stop, true);
	pthread_join(s->thread, NULL);
	close(s->fd);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

uint16_t dns_server_port(const struct dns_server *s)
{
	return s->port;
}

void dns_server_set(struct dns_server *s, const char *name)
{
	struct entry *e;

	CHECK(strlen(name) < NAME_MAX_);
	pthread_mutex_lock(&s->lock);
	e = find(s, name);
	for (unsigned i = 0; !e && i < MAX_ENTRIES; i++)
		if (!s->entries[i].used)
			e = &s->entries[i];
	CHECK(e);
	memset(e, 0, sizeof(*e));
	e->used = true;
	strcpy(e->name, name);
	pthread_mutex_unlock(&s->lock);
}

void dns_server_add(struct dns_server *s, const char *name, const char *addr, uint32_t ttl)
{
	struct entry *e;
	struct record rec = {.ttl = ttl};

	if (inet_pton(AF_INET, addr, rec.bytes) == 1)
		rec.qtype = DNS_TYPE_A;
	else if (inet_pton(AF_INET6, addr, rec.bytes) == 1)
		rec.qtype = DNS_TYPE_AAAA;
	CHECK(rec.qtype);
	pthread_mutex_lock(&s->lock);
	e = find(s, name);
	CHECK(e && e->count < MAX_ADDRS);
	e->records[e->count++] = rec;
	pthread_mutex_unlock(&s->lock);
}

void dns_server_set_rcode(struct dns_server *s, const char *name, unsigned rcode)
{
	struct entry *e;

	pthread_mutex_lock(&s->lock);
	e = find(s, name);
	CHECK(e);
	e->rcode = rcode;
	pthread_mutex_unlock(&s->lock);
}

void dns_server_remove(struct dns_server *s, const char *name)
{
	struct entry *e;

	pthread_mutex_lock(&s->lock);
	e = find(s, name);
	if (e)
		e->used = false;
	pthread_mutex_unlock(&s->lock);
}

void dns_server_drop(struct dns_server *s, bool on)
{
	pthread_mutex_lock(&s->lock);
	s->drop = on;
	pthread_mutex_unlock(&s->lock);
}

unsigned dns_server_queries(struct dns_server *s, const char *name, unsigned qtype)
{
	unsigned n = 0;

	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < s->logged; i++)
		if ((!name || strcasecmp(s->log[i].name, name) == 0) &&
		    (!qtype || s->log[i].qtype == qtype))
			n++;
	pthread_mutex_unlock(&s->lock);
	return n;
}
