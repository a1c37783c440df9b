/*
 * The resolver thread: one c-ares channel driven by poll(), shared by every worker.
 *
 * c-ares 1.18 channels are not thread-safe, so only this thread touches the channel.  Other
 * threads hand work over through an inbox under a mutex and an eventfd (written only when the
 * inbox goes from empty to non-empty).  Sockets are tracked with c-ares' socket-state
 * callback and poll(), not ares_fds(): select() breaks on descriptors >= FD_SETSIZE, which a
 * proxy with thousands of connections reaches.  Each family is its own getaddrinfo call
 * (never AF_UNSPEC): 1.18 double-frees an AF_UNSPEC lookup destroyed mid-flight, and the
 * split gives Envoy's AUTO/V4_PREFERRED fallback order exactly.
 */
#include "dns/internal.h"

#include "core/clock.h"
#include "core/log.h"

#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define MAX_NAME_LEN 254 /* 253 plus an optional trailing dot */

static _Thread_local const struct rw_dns_resolver *current_resolver;

static pthread_mutex_t library_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned library_users;

bool rw__dns_on_thread(const struct rw_dns_resolver *r)
{
	return current_resolver == r;
}

void rw__dns_wake(struct rw_dns_resolver *r)
{
	uint64_t one = 1;

	/* EAGAIN means the counter is saturated: still readable, so nothing is lost. */
	if (write(r->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		rw_log_error("dns", "wake-up write failed: %s", strerror(errno));
}

static int map_ares_status(int status)
{
	switch (status) {
	case ARES_SUCCESS:
		return 0;
	case ARES_ENOTFOUND:
		return -ENOENT;
	case ARES_ENODATA:
		return -ENODATA;
	case ARES_ETIMEOUT:
		return -ETIMEDOUT;
	case ARES_ECONNREFUSED:
		return -ECONNREFUSED;
	case ARES_ENOMEM:
		return -ENOMEM;
	case ARES_ECANCELLED:
	case ARES_EDESTRUCTION:
		return -ECANCELED;
	case ARES_EBADNAME:
	case ARES_EBADFAMILY:
	case ARES_EBADQUERY:
	case ARES_EBADSTR:
		return -EINVAL;
	default:
		return -EIO;
	}
}

/* Keep the failure that says most: cancellation beats everything, "no data" nothing. */
static void note_error(struct rw__dns_lookup *l, int error, const char *message)
{
	if (l->error == -ECANCELED)
		return;
	if (l->error == 0 || l->error == -ENODATA || error == -ECANCELED) {
		l->error = error;
		l->message = message;
	}
}

static bool append_address(struct rw__dns_lookup *l, int family, const void *addr,
                           uint32_t scope_id)
{
	struct rw_dns_address *a;

	if (l->count == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 4;
		struct rw_dns_address *grown = realloc(l->addrs, cap * sizeof(*grown));

		if (!grown)
			return false;
		l->addrs = grown;
		l->cap = cap;
	}
	a = &l->addrs[l->count++];
	memset(a, 0, sizeof(*a));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&a->addr;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(l->port);
		memcpy(&sin->sin_addr, addr, sizeof(sin->sin_addr));
		a->len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a->addr;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(l->port);
		memcpy(&sin6->sin6_addr, addr, sizeof(sin6->sin6_addr));
		sin6->sin6_scope_id = scope_id;
		a->len = sizeof(*sin6);
	}
	return true;
}

/* ALL: IPv6 answers first (RFC 6724's default preference), each family in answer order. */
static void put_v6_first(struct rw__dns_lookup *l)
{
	size_t i, v6 = 0;

	for (i = 0; i < l->count; i++) {
		if (l->addrs[i].addr.ss_family != AF_INET6)
			continue;
		if (i != v6) {
			struct rw_dns_address moved = l->addrs[i];

			memmove(&l->addrs[v6 + 1], &l->addrs[v6], (i - v6) * sizeof(moved));
			l->addrs[v6] = moved;
		}
		v6++;
	}
}

static void finish(struct rw__dns_lookup *l)
{
	if (l->count == 0) {
		if (l->error == 0)
			note_error(l, -ENODATA, "no address of the requested family");
		l->ttl_s = 0;
	} else {
		l->error = 0;
		l->message = "ok";
		if (l->ttl_s == UINT32_MAX)
			l->ttl_s = 0;
		if (l->parallel)
			put_v6_first(l);
	}
	l->done(l);
}

static void query_next_family(struct rw__dns_lookup *l);

static void on_addrinfo(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
	struct rw__dns_lookup *l = arg;
	struct ares_addrinfo_node *n;

	(void)timeouts;
	l->pending--;
	if (status == ARES_SUCCESS && res) {
		for (n = res->nodes; n; n = n->ai_next) {
			bool ok;

			if (n->ai_family == AF_INET)
				ok = append_address(
				    l, AF_INET,
				    &((struct sockaddr_in *)(void *)n->ai_addr)->sin_addr, 0);
			else if (n->ai_family == AF_INET6)
				ok = append_address(
				    l, AF_INET6,
				    &((struct sockaddr_in6 *)(void *)n->ai_addr)->sin6_addr,
				    ((struct sockaddr_in6 *)(void *)n->ai_addr)->sin6_scope_id);
			else
				continue;
			if (!ok) {
				note_error(l, -ENOMEM, "out of memory");
				break;
			}
			if (n->ai_ttl >= 0 && (uint32_t)n->ai_ttl < l->ttl_s)
				l->ttl_s = (uint32_t)n->ai_ttl;
		}
	} else if (status != ARES_SUCCESS) {
		note_error(l, map_ares_status(status), ares_strerror(status));
	}
	if (res)
		ares_freeaddrinfo(res);
	if (l->pending)
		return;
	if (l->count == 0 && l->next_family < l->family_count && l->error != -ECANCELED &&
	    l->error != -ENOMEM && !l->r->shutting_down) {
		query_next_family(l);
		return;
	}
	finish(l);
}

/* May complete synchronously (hosts file) and so free l: touch nothing after the call. */
static void query_next_family(struct rw__dns_lookup *l)
{
	struct ares_addrinfo_hints hints = {0};

	hints.ai_flags = l->r->ai_flags;
	hints.ai_family = l->families[l->next_family++];
	l->pending++;
	ares_getaddrinfo(l->r->channel, l->name, NULL, &hints, on_addrinfo, l);
}

/* RFC 6761: "localhost" and names under it are loopback, never asked of DNS. */
static bool is_localhost(const char *name)
{
	size_t len = strlen(name);

	if (len && name[len - 1] == '.')
		len--;
	if (len < 9 || strncasecmp(name + len - 9, "localhost", 9) != 0)
		return false;
	return len == 9 || name[len - 10] == '.';
}

/*
 * Answers that need no lookup: an IP literal is its own address; a localhost name is
 * loopback by policy (RFC 6761 6.3), decided here rather than by c-ares 1.18, whose loopback
 * fallback leaks a string per lookup when the hosts file lacks the family.
 */
static bool resolve_locally(struct rw__dns_lookup *l)
{
	static const struct in6_addr loopback6 = IN6ADDR_LOOPBACK_INIT;
	const uint32_t loopback4 = htonl(INADDR_LOOPBACK);
	unsigned char bytes[sizeof(struct in6_addr)];
	bool ok = true;

	if (is_localhost(l->name)) {
		for (unsigned i = 0; i < l->family_count && ok; i++) {
			if (l->families[i] == AF_INET6)
				ok = append_address(l, AF_INET6, &loopback6, 0);
			else
				ok = append_address(l, AF_INET, &loopback4, 0);
			if (!l->parallel)
				break; /* the first family always has an answer */
		}
	} else if (inet_pton(AF_INET, l->name, bytes) == 1) {
		if (l->family == RW_DNS_V6_ONLY)
			note_error(l, -ENODATA, "IPv4 literal, IPv6 only");
		else
			ok = append_address(l, AF_INET, bytes, 0);
	} else if (inet_pton(AF_INET6, l->name, bytes) == 1) {
		if (l->family == RW_DNS_V4_ONLY)
			note_error(l, -ENODATA, "IPv6 literal, IPv4 only");
		else
			ok = append_address(l, AF_INET6, bytes, 0);
	} else {
		return false;
	}
	if (!ok)
		note_error(l, -ENOMEM, "out of memory");
	finish(l);
	return true;
}

void rw__dns_lookup_start(struct rw__dns_lookup *l)
{
	l->count = 0;
	l->error = 0;
	l->message = NULL;
	l->ttl_s = UINT32_MAX;
	l->next_family = 0;
	l->pending = 0;
	l->parallel = l->family == RW_DNS_ALL;
	l->family_count = 1;
	switch (l->family) {
	case RW_DNS_V4_ONLY:
		l->families[0] = AF_INET;
		break;
	case RW_DNS_V6_ONLY:
		l->families[0] = AF_INET6;
		break;
	case RW_DNS_V4_PREFERRED:
		l->families[0] = AF_INET;
		l->families[1] = AF_INET6;
		l->family_count = 2;
		break;
	case RW_DNS_ALL:
	case RW_DNS_AUTO:
	default:
		l->families[0] = AF_INET6;
		l->families[1] = AF_INET;
		l->family_count = 2;
		break;
	}
	if (resolve_locally(l))
		return;
	if (l->parallel) {
		/* pending covers both before the first call, which may complete at once. */
		l->pending = 1;
		query_next_family(l);
		l->pending--;
	}
	query_next_family(l);
}

static void oneshot_done(struct rw__dns_lookup *l)
{
	struct rw_dns_result res = {
	    .status = l->error,
	    .message = l->message,
	    .addresses = l->addrs,
	    .count = l->count,
	    .ttl_s = l->ttl_s,
	};

	l->cb(l->ctx, &res);
	free(l->addrs);
	free(l);
}

bool rw__dns_valid_request(const struct rw_dns_resolver *r, const char *name,
                           enum rw_dns_family family, rw_dns_cb cb)
{
	size_t len;

	if (!r || !name || !cb || (unsigned)family > RW_DNS_ALL)
		return false;
	len = strnlen(name, MAX_NAME_LEN + 1);
	return len > 0 && len <= MAX_NAME_LEN;
}

int rw_dns_resolve(struct rw_dns_resolver *r, const char *name, uint16_t port,
                   enum rw_dns_family family, rw_dns_cb cb, void *ctx)
{
	struct rw__dns_lookup *l;
	size_t len;
	bool was_empty;

	if (!rw__dns_valid_request(r, name, family, cb))
		return -EINVAL;
	len = strlen(name);
	l = calloc(1, sizeof(*l) + len + 1);
	if (!l)
		return -ENOMEM;
	memcpy(l + 1, name, len + 1);
	l->r = r;
	l->name = (const char *)(l + 1);
	l->port = port;
	l->family = family;
	l->done = oneshot_done;
	l->cb = cb;
	l->ctx = ctx;

	pthread_mutex_lock(&r->lock);
	if (r->stopping) {
		pthread_mutex_unlock(&r->lock);
		free(l);
		return -ECANCELED;
	}
	was_empty = rw__dns_inbox_empty(r);
	*r->inbox_tail = l;
	r->inbox_tail = &l->next;
	pthread_mutex_unlock(&r->lock);
	if (was_empty)
		rw__dns_wake(r);
	return 0;
}

/* c-ares tells us which sockets to watch for what; an (0, 0) pair means it closed. */
static void on_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct rw_dns_resolver *r = data;
	short events = (short)((readable ? POLLIN : 0) | (writable ? POLLOUT : 0));
	size_t i;

	for (i = 0; i < r->sock_count; i++)
		if (r->socks[i].fd == fd)
			break;
	if (!events) {
		if (i < r->sock_count)
			r->socks[i] = r->socks[--r->sock_count];
		return;
	}
	if (i == r->sock_count) {
		if (r->sock_count == r->sock_cap) {
			size_t cap = r->sock_cap ? r->sock_cap * 2 : 8;
			struct pollfd *grown = realloc(r->socks, cap * sizeof(*grown));

			if (!grown) {
				/* Its queries will time out instead of hanging. */
				rw_log_error("dns", "out of memory tracking a DNS socket");
				return;
			}
			r->socks = grown;
			r->sock_cap = cap;
		}
		r->sock_count++;
	}
	r->socks[i] = (struct pollfd){.fd = fd, .events = events};
}

/* Take everything queued for the thread; returns true when the resolver is stopping. */
static bool drain_inbox(struct rw_dns_resolver *r)
{
	struct rw__dns_lookup *l, *next_l;
	struct rw_dns_watch *adds, *dead, *w, *next_w;
	bool stop;

	pthread_mutex_lock(&r->lock);
	l = r->inbox;
	r->inbox = NULL;
	r->inbox_tail = &r->inbox;
	adds = r->watch_adds;
	dead = r->watch_dead;
	r->watch_adds = r->watch_dead = NULL;
	stop = r->stopping;
	pthread_mutex_unlock(&r->lock);

	for (w = adds; w; w = next_w) {
		next_w = w->add_next;
		rw__dns_watch_attach(w);
	}
	/* A watch is always attached before its detach: both lists were taken together and
	 * rw_dns_unwatch() follows rw_dns_watch(). */
	for (w = dead; w; w = next_w) {
		next_w = w->dead_next;
		rw__dns_watch_detach(w);
	}
	for (; l; l = next_l) {
		next_l = l->next;
		if (stop) {
			note_error(l, -ECANCELED, "resolver is shutting down");
			finish(l);
		} else {
			rw__dns_lookup_start(l);
		}
	}
	return stop;
}

static int poll_timeout_ms(struct rw_dns_resolver *r)
{
	struct timeval tv, *tvp = ares_timeout(r->channel, NULL, &tv);
	uint64_t wheel = rw_timer_wheel_next(&r->wheel);
	uint64_t ms = UINT64_MAX;

	if (tvp)
		ms = (uint64_t)tvp->tv_sec * 1000u + ((uint64_t)tvp->tv_usec + 999u) / 1000u;
	if (wheel < ms)
		ms = wheel;
	if (ms == UINT64_MAX)
		return -1;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

static bool grow_pfds(struct rw_dns_resolver *r, size_t need)
{
	struct pollfd *grown;

	if (need <= r->pfd_cap)
		return true;
	grown = realloc(r->pfds, need * sizeof(*grown));
	if (!grown)
		return false;
	r->pfds = grown;
	r->pfd_cap = need;
	return true;
}

static void poll_once(struct rw_dns_resolver *r)
{
	size_t i, n = 1 + r->sock_count;
	bool processed = false;
	int ready;

	if (!grow_pfds(r, n))
		n = r->pfd_cap; /* >= 8: watch fewer sockets this turn; those queries may time out
		                 */
	r->pfds[0] = (struct pollfd){.fd = r->wake_fd, .events = POLLIN};
	/* A copy: processing one socket can make c-ares open or close others. */
	for (i = 1; i < n; i++)
		r->pfds[i] =
		    (struct pollfd){.fd = r->socks[i - 1].fd, .events = r->socks[i - 1].events};
	ready = poll(r->pfds, n, poll_timeout_ms(r));
	if (ready < 0) {
		if (errno != EINTR)
			rw_log_error("dns", "poll failed: %s", strerror(errno));
		return;
	}
	if (r->pfds[0].revents & POLLIN) {
		uint64_t value;

		if (read(r->wake_fd, &value, sizeof(value)) < 0 && errno != EAGAIN)
			rw_log_error("dns", "wake-up read failed: %s", strerror(errno));
	}
	for (i = 1; i < n; i++) {
		short ev = r->pfds[i].revents, want = r->pfds[i].events;
		ares_socket_t rfd = ARES_SOCKET_BAD, wfd = ARES_SOCKET_BAD;

		if (!ev)
			continue;
		if ((want & POLLIN) && (ev & (POLLIN | POLLERR | POLLHUP)))
			rfd = r->pfds[i].fd;
		if ((want & POLLOUT) && (ev & (POLLOUT | POLLERR | POLLHUP)))
			wfd = r->pfds[i].fd;
		ares_process_fd(r->channel, rfd, wfd);
		processed = true;
	}
	if (!processed)
		ares_process_fd(r->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD); /* timeouts */
}

static void *resolver_main(void *arg)
{
	struct rw_dns_resolver *r = arg;

	current_resolver = r;
	for (;;) {
		if (drain_inbox(r))
			break;
		rw_timer_wheel_advance(&r->wheel, rw_clock_ms());
		poll_once(r);
	}
	/* Lookups on the wire complete now with ARES_EDESTRUCTION: one-shot callbacks run
	 * with -ECANCELED, watch refreshes end silently.  Nothing new starts. */
	r->shutting_down = true;
	ares_destroy(r->channel);
	r->channel = NULL;
	rw__dns_watch_free_all(r);
	return NULL;
}

static int map_init_status(int status)
{
	int err = map_ares_status(status);

	return err == -EIO ? -EINVAL : err;
}

/* "a,b,c" for ares_set_servers_ports_csv(). */
static char *join_servers(const struct rw_dns_options *opt)
{
	size_t i, len = 1;
	char *csv;

	for (i = 0; i < opt->nameserver_count; i++)
		len += strlen(opt->nameservers[i]) + 1;
	csv = malloc(len);
	if (!csv)
		return NULL;
	csv[0] = '\0';
	for (i = 0; i < opt->nameserver_count; i++) {
		if (i)
			strcat(csv, ",");
		strcat(csv, opt->nameservers[i]);
	}
	return csv;
}

static int init_channel(struct rw_dns_resolver *r, const struct rw_dns_options *opt)
{
	struct ares_options ao;
	ares_channel channel;
	char lookups[3];
	int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_LOOKUPS, status;

	memset(&ao, 0, sizeof(ao));
	ao.sock_state_cb = on_sock_state;
	ao.sock_state_cb_data = r;
	strcpy(lookups, opt->no_hosts_file ? "b" : "fb");
	ao.lookups = lookups;
	if (opt->timeout_ms) {
		mask |= ARES_OPT_TIMEOUTMS;
		ao.timeout = opt->timeout_ms > INT_MAX ? INT_MAX : (int)opt->timeout_ms;
	}
	if (opt->tries) {
		mask |= ARES_OPT_TRIES;
		ao.tries = opt->tries > 100 ? 100 : (int)opt->tries;
	}
	if (opt->use_tcp) {
		mask |= ARES_OPT_FLAGS;
		ao.flags = ARES_FLAG_USEVC;
	}
	if (opt->no_search) {
		mask |= ARES_OPT_DOMAINS; /* an empty list replaces resolv.conf's */
		ao.domains = NULL;
		ao.ndomains = 0;
	}
	status = ares_init_options(&channel, &ao, mask);
	if (status != ARES_SUCCESS) {
		rw_log_error("dns", "c-ares init failed: %s", ares_strerror(status));
		return map_init_status(status);
	}
	r->channel = channel;
	if (opt->nameserver_count) {
		char *csv = join_servers(opt);

		if (!csv)
			return -ENOMEM;
		status = ares_set_servers_ports_csv(r->channel, csv);
		if (status != ARES_SUCCESS)
			rw_log_error("dns", "bad nameserver list '%s': %s", csv,
			             ares_strerror(status));
		free(csv);
		if (status != ARES_SUCCESS)
			return map_init_status(status);
	}
	return 0;
}

static int library_acquire(void)
{
	int status = ARES_SUCCESS;

	pthread_mutex_lock(&library_lock);
	if (library_users == 0)
		status = ares_library_init(ARES_LIB_INIT_ALL);
	if (status == ARES_SUCCESS)
		library_users++;
	pthread_mutex_unlock(&library_lock);
	return status == ARES_SUCCESS ? 0 : map_init_status(status);
}

static void library_release(void)
{
	pthread_mutex_lock(&library_lock);
	if (--library_users == 0)
		ares_library_cleanup();
	pthread_mutex_unlock(&library_lock);
}

static void free_resolver(struct rw_dns_resolver *r)
{
	if (r->channel)
		ares_destroy(r->channel);
	if (r->wake_fd >= 0)
		close(r->wake_fd);
	pthread_cond_destroy(&r->callback_done);
	pthread_mutex_destroy(&r->lock);
	free(r->socks);
	free(r->pfds);
	free(r);
	library_release();
}

int rw_dns_resolver_create(const struct rw_dns_options *opt, struct rw_dns_resolver **out)
{
	static const struct rw_dns_options defaults;
	struct rw_dns_resolver *r;
	sigset_t all, saved;
	int err;

	if (!opt)
		opt = &defaults;
	if (opt->nameserver_count && !opt->nameservers)
		return -EINVAL;
	err = library_acquire();
	if (err)
		return err;
	r = calloc(1, sizeof(*r));
	if (!r) {
		library_release();
		return -ENOMEM;
	}
	r->wake_fd = -1;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->callback_done, NULL);
	r->inbox_tail = &r->inbox;
	r->ai_flags = ARES_AI_NOSORT | (opt->hosts_from_env ? ARES_AI_ENVHOSTS : 0);
	r->rng = rw_clock_ms() ^ (uint64_t)(uintptr_t)r ^ UINT64_C(0x9e3779b97f4a7c15);
	rw_timer_wheel_init(&r->wheel, rw_clock_ms());
	if (!grow_pfds(r, 8)) {
		err = -ENOMEM;
		goto fail;
	}
	r->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (r->wake_fd < 0) {
		err = -errno;
		goto fail;
	}
	err = init_channel(r, opt);
	if (err)
		goto fail;
	/* Signals belong to the main thread (docs/ARCHITECTURE.md); the thread inherits this. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &saved);
	err = -pthread_create(&r->thread, NULL, resolver_main, r);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	if (err)
		goto fail;
	*out = r;
	return 0;
fail:
	free_resolver(r);
	return err;
}

void rw_dns_resolver_destroy(struct rw_dns_resolver *r)
{
	if (!r)
		return;
	RW_BUG_ON(rw__dns_on_thread(r));
	pthread_mutex_lock(&r->lock);
	r->stopping = true;
	pthread_mutex_unlock(&r->lock);
	rw__dns_wake(r);
	pthread_join(r->thread, NULL);
	free_resolver(r);
}
