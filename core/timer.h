/*
 * A hierarchical timer wheel (millisecond ticks) for per-connection timeouts.
 *
 * Why not one io_uring timeout SQE per connection: at 100k connections with idle timers that
 * are pushed forward on every byte, that is a syscall-visible SQE per event.  The wheel makes
 * add/delete O(1) with intrusive entries, and the event loop asks it for the next deadline
 * once per turn to bound its wait.  Single-threaded: each worker owns its wheel.
 */
#ifndef RW_CORE_TIMER_H
#define RW_CORE_TIMER_H

#include <stdbool.h>
#include <stdint.h>

struct rw_timer;
typedef void (*rw_timer_cb)(struct rw_timer *t, void *arg);

/*
 * Intrusive timer entry, embedded in its owner.  A zeroed struct is an inactive timer.
 * Invariant: linked into exactly one wheel slot while active (prev != NULL), in no slot and
 * next == prev == NULL otherwise.  Do not write expires while active: it locates the slot.
 */
struct rw_timer {
	struct rw_timer *next, *prev;
	uint64_t expires; /* absolute ms, the wheel's clock */
	rw_timer_cb cb;
	void *arg;
};

#define RW_TIMER_LEVELS     5 /* 64^5 ms ~ 12.4 days before clamping */
#define RW_TIMER_LEVEL_BITS 6
#define RW_TIMER_SLOTS      (1u << RW_TIMER_LEVEL_BITS)
/* Longest delay rw_timer_add() honours; longer ones are clamped to it. */
#define RW_TIMER_MAX_DELAY ((UINT64_C(1) << (RW_TIMER_LEVELS * RW_TIMER_LEVEL_BITS)) - 1)

struct rw_timer_wheel {
	uint64_t now; /* ms; advanced only by rw_timer_wheel_advance() */
	uint32_t count;
	struct rw_timer *slots[RW_TIMER_LEVELS][RW_TIMER_SLOTS];
};

/* Start the wheel's clock at now_ms. */
void rw_timer_wheel_init(struct rw_timer_wheel *w, uint64_t now_ms);

/*
 * (Re)arm t to fire cb(t, arg) once the wheel reaches now + delay_ms (delay 0 fires on the
 * next advance).  Re-arming an active timer moves it.  Delays beyond RW_TIMER_MAX_DELAY are
 * clamped to it.  Safe from inside any callback; the timer then fires on a later advance.
 */
void rw_timer_add(struct rw_timer_wheel *w, struct rw_timer *t, uint64_t delay_ms, rw_timer_cb cb,
                  void *arg);

/* Disarm t if active; safe on an inactive or zeroed timer and from inside any callback. */
void rw_timer_del(struct rw_timer_wheel *w, struct rw_timer *t);

static inline bool rw_timer_active(const struct rw_timer *t)
{
	return t->prev != 0;
}

/*
 * Move the clock to now_ms (a now_ms behind the clock leaves it unchanged) and run every
 * timer whose deadline is <= the clock, in deadline order, ties in arming order.  The clock
 * is already at now_ms while callbacks run.  Callbacks may add or delete any timer, including
 * their own; timers they arm never run in this call, even with delay 0.  A timer is inactive
 * when its callback runs.  Not reentrant: do not call from a callback.  Returns the number of
 * callbacks run.
 */
unsigned rw_timer_wheel_advance(struct rw_timer_wheel *w, uint64_t now_ms);

/*
 * Milliseconds until the earliest timer may fire, or UINT64_MAX when none is armed; 0 only
 * when one is already due.  May under-estimate for timers on the outer levels (the caller then
 * just wakes early and advances, at most once per level); never over-estimates.  O(slots).
 */
uint64_t rw_timer_wheel_next(const struct rw_timer_wheel *w);

#endif
