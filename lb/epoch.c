/*
 * Epoch-based reclamation: see lb/epoch.h for the protocol and why it is correct.  The
 * retire list is short (one entry per host-set change) and touched only by writers, so a
 * mutex guards it; readers never take it.
 */
#include "lb/epoch.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "core/log.h"

struct slot {
	_Alignas(64) _Atomic uint64_t epoch; /* 0: not in a read section */
	_Atomic bool used;
};

struct retired {
	struct retired *next;
	void *p;
	rw_lb_free_fn free_fn;
	uint64_t epoch; /* safe once every slot is 0 or >= epoch */
};

static struct slot slots[RW_LB_MAX_READERS];
static _Atomic uint64_t global_epoch = 1;
static pthread_mutex_t retire_lock = PTHREAD_MUTEX_INITIALIZER;
static struct retired *retire_list;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static pthread_key_t slot_key;
static _Thread_local struct slot *my_slot;

static void release_slot(void *arg)
{
	struct slot *s = arg;

	atomic_store_explicit(&s->epoch, 0, memory_order_release);
	atomic_store_explicit(&s->used, false, memory_order_release);
}

static void make_key(void)
{
	/* The destructor gives a lazily registered thread's slot back when it exits. */
	if (pthread_key_create(&slot_key, release_slot))
		abort();
}

int rw_lb_epoch_register(void)
{
	size_t i;

	if (my_slot)
		return 0;
	pthread_once(&key_once, make_key);
	for (i = 0; i < RW_LB_MAX_READERS; i++) {
		bool expected = false;

		if (atomic_compare_exchange_strong(&slots[i].used, &expected, true)) {
			my_slot = &slots[i];
			pthread_setspecific(slot_key, my_slot);
			return 0;
		}
	}
	return -EAGAIN;
}

void rw_lb_epoch_unregister(void)
{
	if (!my_slot)
		return;
	RW_BUG_ON(atomic_load_explicit(&my_slot->epoch, memory_order_relaxed) != 0);
	pthread_setspecific(slot_key, NULL);
	release_slot(my_slot);
	my_slot = NULL;
}

void rw_lb_read_lock(void)
{
	if (!my_slot && rw_lb_epoch_register())
		abort(); /* more than RW_LB_MAX_READERS threads: a bug, not a load condition */
	RW_BUG_ON(atomic_load_explicit(&my_slot->epoch, memory_order_relaxed) != 0);
	atomic_store(&my_slot->epoch, atomic_load(&global_epoch));
}

void rw_lb_read_unlock(void)
{
	atomic_store_explicit(&my_slot->epoch, 0, memory_order_release);
}

/* The oldest epoch a reader is in, or UINT64_MAX when none is reading. */
static uint64_t oldest_reader(void)
{
	uint64_t min = UINT64_MAX, e;
	size_t i;

	for (i = 0; i < RW_LB_MAX_READERS; i++) {
		if (!atomic_load(&slots[i].used))
			continue;
		e = atomic_load(&slots[i].epoch);
		if (e && e < min)
			min = e;
	}
	return min;
}

static size_t reclaim_once(void)
{
	struct retired *done = NULL, **pp, *r;
	uint64_t oldest;
	size_t left = 0;

	pthread_mutex_lock(&retire_lock);
	oldest = oldest_reader();
	for (pp = &retire_list; (r = *pp);) {
		if (r->epoch <= oldest) {
			*pp = r->next;
			r->next = done;
			done = r;
		} else {
			pp = &r->next;
			left++;
		}
	}
	pthread_mutex_unlock(&retire_lock);
	while ((r = done)) {
		done = r->next;
		r->free_fn(r->p);
		free(r);
	}
	return left;
}

void rw_lb_retire(void *p, rw_lb_free_fn free_fn)
{
	struct retired *r = malloc(sizeof(*r));

	if (!r)
		abort(); /* start-up / control-plane allocation: see STYLE.md */
	r->p = p;
	r->free_fn = free_fn;
	/* After the caller's exchange: readers that see this epoch see the new pointer. */
	r->epoch = atomic_fetch_add(&global_epoch, 1) + 1;
	pthread_mutex_lock(&retire_lock);
	r->next = retire_list;
	retire_list = r;
	pthread_mutex_unlock(&retire_lock);
	reclaim_once();
}

size_t rw_lb_reclaim(bool wait)
{
	const struct timespec pause = {.tv_sec = 0, .tv_nsec = 100 * 1000};
	size_t left;

	while ((left = reclaim_once()) && wait)
		nanosleep(&pause, NULL);
	return left;
}
