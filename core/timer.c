/*
 * Hierarchical timer wheel: 5 levels of 64 slots, 1 ms ticks.
 *
 * A timer's slot is a pure function of its deadline and the wheel's clock (slot_for()), so
 * rw_timer_del() finds the list head without a back-pointer in struct rw_timer, and the
 * clock can jump any distance by re-placing only the slots whose function value changed:
 * a 10 hour jump touches at most 5 * 64 slots plus the timers that actually move, never
 * one step per millisecond.  Each timer moves at most once per level it descends.
 *
 * Placement of expires E while the clock is at N (digit L = bits 6L..6L+5):
 *
 *   E <= N                     level 0, slot N & 63    the due list, fired by the next advance
 *   E, N differ first in L<4   level L, slot digit L of E   (always > digit L of N)
 *   E >> 24 != N >> 24         level 4, slot (E >> 24) & 63  (E >> 24 is N >> 24 + 1..64)
 *
 * Lower levels hold strictly earlier deadlines than higher ones, which is what lets
 * rw_timer_wheel_next() stop at the first occupied slot.
 */
#include "core/timer.h"

#include <stddef.h>
#include <string.h>

#define SLOT_MASK (RW_TIMER_SLOTS - 1)
#define TOP_LEVEL (RW_TIMER_LEVELS - 1)
#define TOP_SHIFT (TOP_LEVEL * RW_TIMER_LEVEL_BITS)

_Static_assert(TOP_SHIFT + RW_TIMER_LEVEL_BITS < 64, "wheel range must fit the clock");

/*
 * Slot lists are NULL-terminated forwards; the head's prev points at the tail, so append and
 * splice are O(1) and every linked entry has prev != NULL, which rw_timer_active() relies on.
 * Unlinked entries get next = prev = NULL.
 */
static void list_append(struct rw_timer **head, struct rw_timer *t)
{
	struct rw_timer *first = *head;

	t->next = NULL;
	if (!first) {
		t->prev = t;
		*head = t;
		return;
	}
	t->prev = first->prev;
	first->prev->next = t;
	first->prev = t;
}

static void list_unlink(struct rw_timer **head, struct rw_timer *t)
{
	struct rw_timer *first = *head;

	if (t == first) {
		*head = t->next;
		if (t->next)
			t->next->prev = t->prev;
	} else {
		t->prev->next = t->next;
		if (t->next)
			t->next->prev = t->prev;
		else
			first->prev = t->prev;
	}
	t->next = NULL;
	t->prev = NULL;
}

/* Move all of *src to the tail of *dst, keeping order (equal deadlines stay in arming order). */
static void list_splice(struct rw_timer **dst, struct rw_timer **src)
{
	struct rw_timer *first = *src, *tail;

	if (!first)
		return;
	*src = NULL;
	if (!*dst) {
		*dst = first;
		return;
	}
	tail = (*dst)->prev;
	tail->next = first;
	(*dst)->prev = first->prev;
	first->prev = tail;
}

static unsigned digit(uint64_t ms, unsigned level)
{
	return (unsigned)(ms >> (level * RW_TIMER_LEVEL_BITS)) & SLOT_MASK;
}

static struct rw_timer **slot_for(struct rw_timer_wheel *w, uint64_t expires)
{
	uint64_t now = w->now;
	unsigned level;

	if (expires <= now)
		return &w->slots[0][now & SLOT_MASK];
	if (expires >> TOP_SHIFT != now >> TOP_SHIFT)
		return &w->slots[TOP_LEVEL][digit(expires, TOP_LEVEL)];
	level = (unsigned)(63 - __builtin_clzll(expires ^ now)) / RW_TIMER_LEVEL_BITS;
	return &w->slots[level][digit(expires, level)];
}

void rw_timer_wheel_init(struct rw_timer_wheel *w, uint64_t now_ms)
{
	memset(w, 0, sizeof(*w));
	w->now = now_ms;
}

void rw_timer_add(struct rw_timer_wheel *w, struct rw_timer *t, uint64_t delay_ms, rw_timer_cb cb,
                  void *arg)
{
	rw_timer_del(w, t);
	if (delay_ms > RW_TIMER_MAX_DELAY)
		delay_ms = RW_TIMER_MAX_DELAY;
	t->expires = w->now + delay_ms;
	t->cb = cb;
	t->arg = arg;
	list_append(slot_for(w, t->expires), t);
	w->count++;
}

void rw_timer_del(struct rw_timer_wheel *w, struct rw_timer *t)
{
	if (!rw_timer_active(t))
		return;
	list_unlink(slot_for(w, t->expires), t);
	w->count--;
}

/*
 * Set the clock to now_ms (> w->now) and restore slot_for() for every timer.  At level L
 * only the slots for digits after the old clock's, up to the new clock's, change function
 * value (see the table above); every other slot keeps its timers in place.  The old due
 * list moves too because the due slot follows the clock.
 */
static void move_clock(struct rw_timer_wheel *w, uint64_t now_ms)
{
	struct rw_timer *todo = NULL, *t;
	uint64_t old = w->now;
	unsigned level;

	list_splice(&todo, &w->slots[0][old & SLOT_MASK]);
	for (level = 0; level < RW_TIMER_LEVELS; level++) {
		unsigned shift = level * RW_TIMER_LEVEL_BITS;
		uint64_t from = old >> shift, to = now_ms >> shift, i;

		/* Unchanged here means unchanged on every coarser level too. */
		if (from == to)
			break;
		for (i = 1; i <= to - from && i <= RW_TIMER_SLOTS; i++)
			list_splice(&todo, &w->slots[level][(from + i) & SLOT_MASK]);
	}
	w->now = now_ms;
	while ((t = todo)) {
		list_unlink(&todo, t);
		list_append(slot_for(w, t->expires), t);
	}
}

static bool sorted(const struct rw_timer *t)
{
	for (; t && t->next; t = t->next)
		if (t->expires > t->next->expires)
			return false;
	return true;
}

/*
 * Stable bottom-up merge sort of a due list by deadline (Simon Tatham's list mergesort), so a
 * late advance fires timers in the order they would have fired on time.  Due lists come
 * sorted in the common case (one level-0 slot), which the pre-check makes O(n).
 */
static void sort_by_deadline(struct rw_timer **head)
{
	struct rw_timer *list = *head, *p, *q, *e, *tail;
	unsigned long insize = 1, nmerges, psize, qsize;

	if (sorted(list))
		return;
	do {
		p = list;
		list = NULL;
		tail = NULL;
		nmerges = 0;
		while (p) {
			nmerges++;
			q = p;
			for (psize = 0; psize < insize && q; psize++)
				q = q->next;
			qsize = insize;
			while (psize > 0 || (qsize > 0 && q)) {
				if (psize == 0 || (qsize > 0 && q && q->expires < p->expires)) {
					e = q;
					q = q->next;
					qsize--;
				} else {
					e = p;
					p = p->next;
					psize--;
				}
				if (tail)
					tail->next = e;
				else
					list = e;
				tail = e;
			}
			p = q;
		}
		tail->next = NULL;
		insize *= 2;
	} while (nmerges > 1);

	/* Rebuild prev links: each points at its predecessor, the head's at the tail. */
	for (p = list; p->next; p = p->next)
		p->next->prev = p;
	list->prev = p;
	*head = list;
}

unsigned rw_timer_wheel_advance(struct rw_timer_wheel *w, uint64_t now_ms)
{
	struct rw_timer marker = {0}, **due, *t;
	unsigned ran = 0;

	if (now_ms > w->now)
		move_clock(w, now_ms);
	due = &w->slots[0][w->now & SLOT_MASK];
	if (!*due)
		return 0;
	sort_by_deadline(due);

	/*
	 * Callbacks arm relative to w->now, so a delay-0 re-arm lands on this same due list.  It
	 * goes after the marker and waits for the next advance instead of looping here.  Deleting
	 * or re-arming a not-yet-fired due timer unlinks it from before the marker.
	 */
	list_append(due, &marker);
	while ((t = *due) != &marker) {
		rw_timer_cb cb = t->cb;
		void *arg = t->arg;

		list_unlink(due, t);
		w->count--;
		/* t may be freed or re-armed by its callback; do not touch it afterwards. */
		cb(t, arg);
		ran++;
	}
	list_unlink(due, &marker);
	return ran;
}

uint64_t rw_timer_wheel_next(const struct rw_timer_wheel *w)
{
	uint64_t now = w->now, block;
	unsigned level, i;

	if (!w->count)
		return UINT64_MAX;
	if (w->slots[0][now & SLOT_MASK])
		return 0;
	/* The first occupied slot bounds the earliest deadline from below by its start. */
	for (level = 0; level < TOP_LEVEL; level++) {
		unsigned shift = level * RW_TIMER_LEVEL_BITS;

		block = now >> shift;
		for (i = digit(now, level) + 1; i < RW_TIMER_SLOTS; i++)
			if (w->slots[level][i])
				return (((block & ~(uint64_t)SLOT_MASK) | i) << shift) - now;
	}
	block = now >> TOP_SHIFT;
	for (i = 1; i <= RW_TIMER_SLOTS; i++)
		if (w->slots[TOP_LEVEL][(block + i) & SLOT_MASK])
			return ((block + i) << TOP_SHIFT) - now;
	return UINT64_MAX;
}
