/*
 * dns/ internals shared by resolver.c (the thread, c-ares glue, one-shot lookups) and
 * watch.c (periodic re-resolution).  No other folder includes this.
 *
 * Locking: fields marked "lock" are guarded by rw_dns_resolver.lock; fields marked "thread"
 * are touched only by the resolver thread; the rest are immutable after creation.
 */
#ifndef RW_DNS_INTERNAL_H
#define RW_DNS_INTERNAL_H

#include "core/timer.h"
#include "dns/resolver.h"

#include <ares.h>
#include <poll.h>
#include <pthread.h>

/*
 * One resolution of one name under a family policy: one c-ares getaddrinfo per family, run
 * one after the other (AUTO, V4_PREFERRED: the second only if the first found nothing) or
 * together (ALL).  Completion calls done() on the resolver thread, which may free the lookup.
 */
struct rw__dns_lookup {
	struct rw__dns_lookup *next; /* inbox link (lock) */
	struct rw_dns_resolver *r;
	const char *name;
	uint16_t port;
	enum rw_dns_family family;
	void (*done)(struct rw__dns_lookup *l);
	rw_dns_cb cb; /* one-shot only */
	void *ctx;
	struct rw_dns_watch *watch; /* owner, or NULL for a one-shot */
	/* thread: progress and the collected answer */
	int families[2];
	unsigned family_count, next_family, pending;
	bool parallel;
	int error;           /* most telling failure so far, negative errno, 0 = none */
	const char *message; /* for error */
	struct rw_dns_address *addrs;
	size_t count, cap;
	uint32_t ttl_s; /* minimum so far; UINT32_MAX = none */
};

struct rw_dns_watch {
	struct rw_dns_resolver *r;
	struct rw_dns_watch *next, *prev; /* thread: r->watches */
	struct rw_dns_watch *add_next;    /* lock: r->watch_adds */
	struct rw_dns_watch *dead_next;   /* lock: r->watch_dead (its own link: the thread may
	                                   * still walk watch_adds when unwatch pushes) */
	struct rw__dns_lookup lookup;     /* the refresh; reused */
	struct rw_timer timer;            /* thread: next refresh */
	struct rw_dns_watch_options opt;  /* defaults filled in */
	rw_dns_cb cb;
	void *ctx;
	bool cancelled;                    /* lock: rw_dns_unwatch() was called */
	bool removed, in_flight, reported; /* thread */
	unsigned failures;                 /* thread: consecutive, for the backoff */
	bool failing;                      /* thread: the last lookup failed (for logging) */
	struct rw_dns_address *set;        /* thread: last reported set, sorted */
	size_t set_count;
	char name[];
};

struct rw_dns_resolver {
	pthread_mutex_t lock;
	pthread_cond_t callback_done;               /* in_callback went back to NULL */
	struct rw__dns_lookup *inbox, **inbox_tail; /* lock: one-shots to start */
	struct rw_dns_watch *watch_adds;            /* lock: watches to start */
	struct rw_dns_watch *watch_dead;            /* lock: watches to free */
	bool stopping;                              /* lock */
	const struct rw_dns_watch *in_callback;     /* lock: whose callback runs now */

	int wake_fd; /* eventfd: the inbox went from empty to non-empty, or stop */
	pthread_t thread;
	int ai_flags; /* ARES_AI_* for every getaddrinfo */

	/* thread */
	ares_channel channel;
	struct rw_timer_wheel wheel;
	struct rw_dns_watch *watches;
	struct pollfd *socks; /* c-ares sockets, from the socket-state callback */
	size_t sock_count, sock_cap;
	struct pollfd *pfds; /* poll() scratch: wake_fd + a copy of socks */
	size_t pfd_cap;
	bool shutting_down; /* ares_destroy() is running: start nothing, report nothing */
	uint64_t rng;
};

/* Resolver thread: start l (fields up to watch set by the caller); done() runs exactly once,
 * possibly before this returns (IP literals, hosts file). */
void rw__dns_lookup_start(struct rw__dns_lookup *l);

/* Any thread: the checks every request makes (name length, family, callback). */
bool rw__dns_valid_request(const struct rw_dns_resolver *r, const char *name,
                           enum rw_dns_family family, rw_dns_cb cb);

/* Any thread: make the resolver thread look at its inbox. */
void rw__dns_wake(struct rw_dns_resolver *r);

/* Is the calling thread r's resolver thread? */
bool rw__dns_on_thread(const struct rw_dns_resolver *r);

/* Resolver thread (watch.c): take over a new watch, forget an unwatched one, free them all. */
void rw__dns_watch_attach(struct rw_dns_watch *w);
void rw__dns_watch_detach(struct rw_dns_watch *w);
void rw__dns_watch_free_all(struct rw_dns_resolver *r);

/* Under r->lock: nothing queued, so whoever queues next must wake the thread. */
static inline bool rw__dns_inbox_empty(const struct rw_dns_resolver *r)
{
	return !r->inbox && !r->watch_adds && !r->watch_dead;
}

#endif
