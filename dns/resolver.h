/*
 * Asynchronous DNS for STRICT_DNS / LOGICAL_DNS clusters: one resolver thread running c-ares,
 * shared by every worker, so no worker ever blocks on a lookup.
 *
 * Every entry point is thread-safe.  Callbacks run ON THE RESOLVER THREAD, never inside the
 * call that registered them; they must not block.  The caller moves results to its workers
 * itself: copy what the result holds (it is valid only during the callback), build an
 * immutable host-set snapshot and publish it (one atomic pointer swap), never mutate a set
 * a worker may be reading.  See docs/ARCHITECTURE.md, "Threading".
 */
#ifndef RW_DNS_RESOLVER_H
#define RW_DNS_RESOLVER_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct rw_dns_resolver;
struct rw_dns_watch;

/* Envoy's Cluster.dns_lookup_family. */
enum rw_dns_family {
	RW_DNS_AUTO,         /* AAAA; if that yields no address, A (Envoy's AUTO) */
	RW_DNS_V4_ONLY,      /* A only */
	RW_DNS_V6_ONLY,      /* AAAA only */
	RW_DNS_V4_PREFERRED, /* A; if that yields no address, AAAA */
	RW_DNS_ALL,          /* A and AAAA in parallel, IPv6 addresses first */
};

struct rw_dns_options {
	/* "ip", "ip:port" or "[ipv6]:port"; none (count 0) = the servers in /etc/resolv.conf. */
	const char *const *nameservers;
	size_t nameserver_count;
	uint32_t timeout_ms; /* first try per server; c-ares doubles it each round; 0 = 5000 */
	uint32_t tries;      /* rounds over the servers; 0 = c-ares' default (4) */
	bool use_tcp;        /* Envoy's use_tcp_for_dns_lookups */
	bool no_search;      /* Envoy's no_default_search_domain: ignore resolv.conf search list */
	bool no_hosts_file;  /* DNS only; default: the hosts file first, then DNS */
	/* c-ares 1.18 has no per-channel hosts path: with this set, CARES_HOSTS in the
	 * environment (read at each lookup) replaces /etc/hosts.  Meant for tests. */
	bool hosts_from_env;
};

struct rw_dns_address {
	struct sockaddr_storage addr; /* AF_INET or AF_INET6, port set, unused bytes zero */
	socklen_t len;
};

/*
 * status: 0, or a negative errno:
 *   -ENOENT        the name does not exist (NXDOMAIN, and not in the hosts file)
 *   -ENODATA       the name exists but has no address of the requested families
 *   -ETIMEDOUT     no server answered in time
 *   -ECONNREFUSED  no usable answer: servers unreachable, or all said SERVFAIL/REFUSED
 *                  (c-ares 1.18 reports those as "could not contact DNS servers")
 *   -ECANCELED     the resolver is being destroyed   -ENOMEM  out of memory
 *   -EINVAL        malformed name                    -EIO     any other failure
 * message: a static string for logs, never NULL.  ttl_s: the smallest TTL of the addresses;
 * 0 when unknown (IP literals, hosts file) or on error.
 */
struct rw_dns_result {
	int status;
	const char *message;
	const struct rw_dns_address *addresses;
	size_t count;
	uint32_t ttl_s;
};

/* Runs on the resolver thread; result and everything it points to are valid during the call. */
typedef void (*rw_dns_cb)(void *ctx, const struct rw_dns_result *result);

/*
 * Read resolv.conf, open the c-ares channel and start the resolver thread (with every signal
 * blocked).  opt may be NULL for the defaults.  Returns 0 and *out, or a negative errno
 * (-EINVAL for an unparsable nameserver) with nothing left running.
 */
int rw_dns_resolver_create(const struct rw_dns_options *opt, struct rw_dns_resolver **out);

/*
 * Stop the thread and free the resolver.  One-shot lookups still pending (queued or on the
 * wire) complete first, on the resolver thread, with -ECANCELED: each callback runs exactly
 * once.  Watches are freed without a further callback; their handles become invalid.  No
 * other call on r may run concurrently or after; must not be called from a callback.
 */
void rw_dns_resolver_destroy(struct rw_dns_resolver *r);

/*
 * Resolve name once (a copy is taken).  port is set in every address.  No query is sent for
 * an IP literal (its own answer; -ENODATA if its family is excluded) nor for "localhost" and
 * names under it (loopback, RFC 6761, even with no_hosts_file).  Addresses come in answer
 * order.  Returns 0 and cb runs exactly once later, never inside this call; or -EINVAL
 * (empty or too long name, bad family), -ENOMEM, -ECANCELED (resolver stopping) and cb never
 * runs.
 */
int rw_dns_resolve(struct rw_dns_resolver *r, const char *name, uint16_t port,
                   enum rw_dns_family family, rw_dns_cb cb, void *ctx);

/* Envoy's Cluster DNS refresh fields.  A zeroed struct gives Envoy's defaults. */
struct rw_dns_watch_options {
	uint32_t refresh_ms;      /* dns_refresh_rate; 0 = 5000 */
	bool respect_ttl;         /* respect_dns_ttl: after an answer, re-resolve at its TTL… */
	uint32_t min_refresh_ms;  /* …but never sooner than dns_min_refresh_rate; 0 = 5000 */
	uint32_t failure_base_ms; /* dns_failure_refresh_rate.base_interval; 0 = retry failures
	                           * at refresh_ms, no backoff */
	uint32_t failure_max_ms;  /* .max_interval; 0 = 10 × base */
};

/*
 * Resolve name now and then periodically: after an answer every refresh_ms (or at the TTL,
 * see above); after a failure every refresh_ms, or with jittered exponential backoff from
 * failure_base_ms doubling up to failure_max_ms.
 * cb runs on the first completion (whatever its status), then only when the address set
 * changes.  Sets are sorted and duplicate-free; each later callback carries the complete new
 * set.  -ENOENT/-ENODATA are answers (the set is now empty, reported with that status);
 * other failures after the first completion keep the last set and are not reported.
 * Returns 0 with *out set before cb can first run (so cb may unwatch through it), or
 * -EINVAL/-ENOMEM/-ECANCELED with cb never running.
 */
int rw_dns_watch(struct rw_dns_resolver *r, const char *name, uint16_t port,
                 enum rw_dns_family family, const struct rw_dns_watch_options *opt, rw_dns_cb cb,
                 void *ctx, struct rw_dns_watch **out);

/*
 * Stop a watch and free it (soon, on the resolver thread).  When this returns the callback is
 * not running and never runs again; callable from the watch's own callback.  From another
 * thread it waits for a running callback to return, so do not call it while holding a lock
 * that callback takes.  w is invalid afterwards.
 */
void rw_dns_unwatch(struct rw_dns_watch *w);

/* Does this result describe the name's current address set (empty on -ENOENT/-ENODATA)? */
static inline bool rw_dns_result_is_answer(const struct rw_dns_result *res)
{
	return res->status == 0 || res->status == -ENOENT || res->status == -ENODATA;
}

#endif
