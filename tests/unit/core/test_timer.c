/*
 * Unit tests for core/timer.c.
 *
 * The main test drives the wheel with random arms, deletes and clock jumps (from 0 ms to
 * hours) and checks every callback against a reference model: each arming fires exactly
 * once, never early, on the first advance at or after its deadline, in deadline order, and
 * rw_timer_wheel_next() never over-estimates.  Plain asserts that stay on in Release builds.
 * RW_TEST_SEED=<n> in the environment replays a run; the seed is printed on start.
 */
#include "core/timer.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RW_CHECK_NOTE() fprintf(stderr, "(seed %" PRIu64 ")\n", seed)
#include "tests/unit/check.h"

#define HOUR_MS (3600u * 1000u)

#include "tests/unit/random.h"

/* A timer with an id and a record of its firings, for the directed tests. */
struct rec {
	struct rw_timer timer;
	unsigned id;
	unsigned fires;
	uint64_t fired_at;
};

/* One wheel for the directed tests, so callbacks can reach it. */
static struct rw_timer_wheel wheel;
static unsigned fire_log[64];
static unsigned fire_log_len;

static void rec_cb(struct rw_timer *t, void *arg)
{
	struct rec *r = arg;

	CHECK(&r->timer == t);
	CHECK(!rw_timer_active(t));
	CHECK(t->next == NULL && t->prev == NULL);
	CHECK(t->expires <= wheel.now);
	r->fires++;
	r->fired_at = wheel.now;
	if (fire_log_len < sizeof(fire_log) / sizeof(fire_log[0]))
		fire_log[fire_log_len++] = r->id;
}

static void test_inactive(void)
{
	struct rw_timer t;
	struct rec r = {.id = 1};

	memset(&t, 0, sizeof(t));
	rw_timer_wheel_init(&wheel, 1000);
	CHECK(!rw_timer_active(&t));
	rw_timer_del(&wheel, &t);
	CHECK(wheel.count == 0);
	CHECK(rw_timer_wheel_next(&wheel) == UINT64_MAX);
	CHECK(rw_timer_wheel_advance(&wheel, 5000) == 0);
	CHECK(wheel.now == 5000);

	rw_timer_add(&wheel, &r.timer, 10, rec_cb, &r);
	CHECK(rw_timer_active(&r.timer));
	CHECK(r.timer.expires == 5010);
	CHECK(wheel.count == 1);
	rw_timer_del(&wheel, &r.timer);
	CHECK(!rw_timer_active(&r.timer));
	CHECK(r.timer.next == NULL && r.timer.prev == NULL);
	CHECK(wheel.count == 0);
	rw_timer_del(&wheel, &r.timer);
	CHECK(wheel.count == 0);
	CHECK(rw_timer_wheel_advance(&wheel, 10000) == 0);
	CHECK(r.fires == 0);

	/* A clock behind the wheel's is ignored rather than rewinding it. */
	CHECK(rw_timer_wheel_advance(&wheel, 3) == 0);
	CHECK(wheel.now == 10000);

	/* Re-arming an active timer moves it rather than linking it twice. */
	rw_timer_add(&wheel, &r.timer, 100, rec_cb, &r);
	rw_timer_add(&wheel, &r.timer, 5, rec_cb, &r);
	CHECK(wheel.count == 1);
	CHECK(rw_timer_wheel_advance(&wheel, 10005) == 1);
	CHECK(rw_timer_wheel_advance(&wheel, 10200) == 0);
	CHECK(r.fires == 1 && r.fired_at == 10005);
	CHECK(wheel.count == 0);
}

/* One late advance fires everything due in deadline order, equal deadlines in arming order. */
static void test_order(void)
{
	static const uint64_t delays[] = {5, 1, 3, 3, 0, 64, 65, 63, 4096, 100000, 3, 262143, 0};
	const unsigned n = sizeof(delays) / sizeof(delays[0]);
	static const unsigned expect[] = {4, 12, 1, 2, 3, 10, 0, 7, 5, 6, 8, 9, 11};
	struct rec recs[sizeof(delays) / sizeof(delays[0])];
	unsigned i;

	memset(recs, 0, sizeof(recs));
	rw_timer_wheel_init(&wheel, 4000000001u);
	fire_log_len = 0;
	for (i = 0; i < n; i++) {
		recs[i].id = i;
		rw_timer_add(&wheel, &recs[i].timer, delays[i], rec_cb, &recs[i]);
	}
	CHECK(rw_timer_wheel_next(&wheel) == 0);
	CHECK(rw_timer_wheel_advance(&wheel, wheel.now + 300000) == n);
	CHECK(fire_log_len == n);
	for (i = 0; i < n; i++)
		CHECK(fire_log[i] == expect[i]);
	CHECK(wheel.count == 0);
	CHECK(rw_timer_wheel_next(&wheel) == UINT64_MAX);
}

static void test_delay_zero(void)
{
	struct rec r = {.id = 0};

	rw_timer_wheel_init(&wheel, 63);
	rw_timer_add(&wheel, &r.timer, 0, rec_cb, &r);
	CHECK(rw_timer_wheel_next(&wheel) == 0);
	/* Due at the current clock: an advance that does not move the clock still runs it. */
	CHECK(rw_timer_wheel_advance(&wheel, 63) == 1);
	CHECK(r.fires == 1 && r.fired_at == 63);
	CHECK(rw_timer_wheel_advance(&wheel, 63) == 0);

	/* Armed with delay 0 and fired by an advance that crosses a level boundary. */
	rw_timer_add(&wheel, &r.timer, 0, rec_cb, &r);
	CHECK(rw_timer_wheel_advance(&wheel, 1u << 20) == 1);
	CHECK(r.fires == 2 && r.fired_at == 1u << 20);
}

static unsigned self_fires;
static uint64_t self_delay;

static void rearm_self_cb(struct rw_timer *t, void *arg)
{
	(void)arg;
	self_fires++;
	CHECK(self_fires < 1000); /* a delay-0 re-arm looping inside one advance */
	rw_timer_add(&wheel, t, self_delay, rearm_self_cb, NULL);
	CHECK(rw_timer_active(t));
}

static void test_rearm_from_callback(void)
{
	struct rw_timer t = {0};
	uint64_t start = 1000, ms;

	rw_timer_wheel_init(&wheel, start);

	/* Delay 0 inside the callback: once per advance, never a loop. */
	self_fires = 0;
	self_delay = 0;
	rw_timer_add(&wheel, &t, 0, rearm_self_cb, NULL);
	CHECK(rw_timer_wheel_advance(&wheel, start) == 1);
	CHECK(rw_timer_wheel_advance(&wheel, start) == 1);
	CHECK(rw_timer_wheel_advance(&wheel, start + 10 * HOUR_MS) == 1);
	CHECK(self_fires == 3);
	CHECK(t.expires == wheel.now);
	CHECK(rw_timer_wheel_next(&wheel) == 0);

	/* A period of 7 ms fires every 7 ms when the clock ticks by 1 ms... */
	start = wheel.now;
	self_delay = 7;
	self_fires = 0;
	rw_timer_add(&wheel, &t, 7, rearm_self_cb, NULL);
	for (ms = 1; ms <= 700; ms++)
		CHECK(rw_timer_wheel_advance(&wheel, start + ms) == (unsigned)(ms % 7 == 0));
	CHECK(self_fires == 100);
	/* ...and once per advance when the clock jumps over several periods. */
	CHECK(rw_timer_wheel_advance(&wheel, wheel.now + 1000) == 1);
	CHECK(t.expires == wheel.now + 7);
	rw_timer_del(&wheel, &t);
	CHECK(wheel.count == 0);
}

/* Three timers all due in the same advance; the first one's callback edits the others. */
static struct rec edit_recs[4];

static void edit_cb(struct rw_timer *t, void *arg)
{
	rec_cb(t, arg);
	rw_timer_del(&wheel, t);                   /* itself: already inactive, a no-op */
	rw_timer_del(&wheel, &edit_recs[1].timer); /* due later in this advance */
	rw_timer_add(&wheel, &edit_recs[2].timer, 50, rec_cb, &edit_recs[2]); /* due, moved */
	rw_timer_add(&wheel, &edit_recs[3].timer, 0, rec_cb, &edit_recs[3]);  /* due, re-armed */
}

static void test_edit_from_callback(void)
{
	unsigned i;

	memset(edit_recs, 0, sizeof(edit_recs));
	rw_timer_wheel_init(&wheel, 100);
	for (i = 0; i < 4; i++)
		edit_recs[i].id = i;
	rw_timer_add(&wheel, &edit_recs[0].timer, 10, edit_cb, &edit_recs[0]);
	rw_timer_add(&wheel, &edit_recs[1].timer, 20, rec_cb, &edit_recs[1]);
	rw_timer_add(&wheel, &edit_recs[2].timer, 4000, rec_cb, &edit_recs[2]);
	rw_timer_add(&wheel, &edit_recs[3].timer, 5000, rec_cb, &edit_recs[3]);
	CHECK(rw_timer_wheel_advance(&wheel, 6000) == 1);
	CHECK(edit_recs[0].fires == 1);
	CHECK(edit_recs[1].fires == 0 && !rw_timer_active(&edit_recs[1].timer));
	CHECK(edit_recs[2].fires == 0 && edit_recs[2].timer.expires == 6050);
	CHECK(edit_recs[3].fires == 0 && edit_recs[3].timer.expires == 6000);
	CHECK(wheel.count == 2);
	CHECK(rw_timer_wheel_next(&wheel) == 0);
	CHECK(rw_timer_wheel_advance(&wheel, 6049) == 1);
	CHECK(edit_recs[3].fires == 1 && edit_recs[3].fired_at == 6049);
	CHECK(rw_timer_wheel_advance(&wheel, 6050) == 1);
	CHECK(edit_recs[2].fires == 1 && edit_recs[2].fired_at == 6050);
	CHECK(wheel.count == 0);
}

static void test_clamp(void)
{
	static const uint64_t starts[] = {0,
	                                  1,
	                                  (1u << 24) - 1,
	                                  1u << 24,
	                                  (1u << 30) - 1,
	                                  UINT64_C(987654321987),
	                                  UINT64_C(1) << 40};
	static const uint64_t delays[] = {RW_TIMER_MAX_DELAY, RW_TIMER_MAX_DELAY + 1,
	                                  UINT64_C(1) << 40, UINT64_MAX};
	struct rec r = {.id = 0};
	unsigned i, j;

	CHECK(RW_TIMER_MAX_DELAY == (UINT64_C(1) << 30) - 1);
	for (i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
		for (j = 0; j < sizeof(delays) / sizeof(delays[0]); j++) {
			uint64_t start = starts[i], next;

			rw_timer_wheel_init(&wheel, start);
			r.fires = 0;
			rw_timer_add(&wheel, &r.timer, delays[j], rec_cb, &r);
			CHECK(r.timer.expires == start + RW_TIMER_MAX_DELAY);
			next = rw_timer_wheel_next(&wheel);
			CHECK(next >= 1 && next <= RW_TIMER_MAX_DELAY);
			CHECK(rw_timer_wheel_advance(&wheel, start + RW_TIMER_MAX_DELAY - 1) == 0);
			CHECK(rw_timer_wheel_next(&wheel) == 1);
			CHECK(rw_timer_wheel_advance(&wheel, start + RW_TIMER_MAX_DELAY) == 1);
			CHECK(r.fires == 1 && r.fired_at == start + RW_TIMER_MAX_DELAY);
		}
	}
}

/*
 * An event loop that sleeps exactly next() ms each turn must fire every timer exactly at its
 * deadline: an over-estimate would fire late, a wrong bound early.  Each timer costs at most
 * one early wake-up per level it cascades through.
 */
static void test_next_driven_loop(void)
{
	const unsigned n = 10000;
	struct rec *recs = calloc(n, sizeof(*recs));
	uint64_t start = rng() >> 20, next;
	unsigned i, turns = 0, fired = 0;

	CHECK(recs);
	rw_timer_wheel_init(&wheel, start);
	for (i = 0; i < n; i++) {
		uint64_t span = (uint64_t[]){64, 5000, HOUR_MS, 10 * HOUR_MS,
		                             RW_TIMER_MAX_DELAY + 1}[rng_below(5)];

		recs[i].id = i;
		rw_timer_add(&wheel, &recs[i].timer, rng_below(span), rec_cb, &recs[i]);
	}
	while ((next = rw_timer_wheel_next(&wheel)) != UINT64_MAX) {
		unsigned ran = rw_timer_wheel_advance(&wheel, wheel.now + next);

		CHECK(next > 0 || ran > 0);
		fired += ran;
		turns++;
	}
	CHECK(fired == n);
	for (i = 0; i < n; i++)
		CHECK(recs[i].fires == 1 && recs[i].fired_at == recs[i].timer.expires);
	CHECK(turns <= n * RW_TIMER_LEVELS);
	free(recs);
}

/* Jumping the clock by 10 hours at once fires everything due, in order, without ms steps. */
static void test_large_jump(void)
{
	const unsigned n = 20000;
	struct rec *recs = calloc(n, sizeof(*recs));
	uint64_t start = 123456789;
	unsigned i;
	double t0;

	CHECK(recs);
	rw_timer_wheel_init(&wheel, start);
	for (i = 0; i < n; i++) {
		recs[i].id = i;
		rw_timer_add(&wheel, &recs[i].timer, rng_below(12 * HOUR_MS), rec_cb, &recs[i]);
	}
	t0 = now_seconds();
	CHECK(rw_timer_wheel_advance(&wheel, start + 10 * HOUR_MS) <= n);
	for (i = 0; i < n; i++) {
		uint64_t deadline = recs[i].timer.expires;

		CHECK(recs[i].fires == (unsigned)(deadline <= start + 10 * HOUR_MS));
		if (recs[i].fires)
			CHECK(recs[i].fired_at == start + 10 * HOUR_MS);
		else
			CHECK(rw_timer_active(&recs[i].timer));
	}
	CHECK(rw_timer_wheel_advance(&wheel, start + 20 * HOUR_MS) > 0);
	CHECK(wheel.count == 0);
	for (i = 0; i < n; i++)
		CHECK(recs[i].fires == 1);
	printf("  large jump: %u timers over 20 h in 2 advances: %.3f ms\n", n,
	       (now_seconds() - t0) * 1e3);
	free(recs);
}

/* ---- Random operations against a reference model. ---- */

#define MODEL_TIMERS 100000u

struct model {
	struct rw_timer_wheel w;
	struct rw_timer timers[MODEL_TIMERS];
	uint64_t deadline[MODEL_TIMERS];
	uint32_t armed_gen[MODEL_TIMERS]; /* advance generation when armed */
	bool armed[MODEL_TIMERS];
	uint32_t gen;        /* advances started so far */
	uint64_t last_fired; /* deadline of the previous callback in this advance */
	unsigned fired;      /* callbacks in this advance */
	unsigned armed_count;
	bool quiet; /* callbacks do not arm or delete (final drain) */
	uint64_t total_fired, total_armed;
};

static struct model *model;

static uint64_t random_delay(void)
{
	unsigned r = (unsigned)rng_below(100);

	if (r < 25)
		return rng_below(64);
	if (r < 45)
		return rng_below(4096);
	if (r < 65)
		return rng_below(600000);
	if (r < 93)
		return rng_below(4 * HOUR_MS);
	if (r < 97)
		return rng_below(RW_TIMER_MAX_DELAY + 1);
	if (r < 98)
		return 0;
	return RW_TIMER_MAX_DELAY + rng_below(UINT64_MAX - RW_TIMER_MAX_DELAY);
}

static void model_cb(struct rw_timer *t, void *arg);

static void model_arm(unsigned i, uint64_t delay)
{
	struct model *m = model;

	if (!m->armed[i])
		m->armed_count++;
	rw_timer_add(&m->w, &m->timers[i], delay, model_cb, m);
	m->armed[i] = true;
	m->deadline[i] = m->w.now + (delay > RW_TIMER_MAX_DELAY ? RW_TIMER_MAX_DELAY : delay);
	m->armed_gen[i] = m->gen;
	m->total_armed++;
	CHECK(m->timers[i].expires == m->deadline[i]);
}

static void model_del(unsigned i)
{
	struct model *m = model;

	if (m->armed[i])
		m->armed_count--;
	rw_timer_del(&m->w, &m->timers[i]);
	m->armed[i] = false;
	CHECK(!rw_timer_active(&m->timers[i]));
}

static void model_random_op(void)
{
	unsigned i = (unsigned)rng_below(MODEL_TIMERS);

	if (rng_below(3) == 0)
		model_del(i);
	else
		model_arm(i, random_delay());
}

static void model_cb(struct rw_timer *t, void *arg)
{
	struct model *m = arg;
	unsigned i = (unsigned)(t - m->timers), k;

	CHECK(m == model && i < MODEL_TIMERS);
	CHECK(m->armed[i]);              /* exactly once per arming */
	CHECK(m->armed_gen[i] < m->gen); /* armed before this advance began */
	CHECK(m->deadline[i] == t->expires);
	CHECK(m->deadline[i] <= m->w.now);      /* never early */
	CHECK(m->deadline[i] >= m->last_fired); /* deadline order */
	CHECK(!rw_timer_active(t) && t->next == NULL);
	m->last_fired = m->deadline[i];
	m->armed[i] = false;
	m->armed_count--;
	m->fired++;
	m->total_fired++;
	if (m->quiet)
		return;

	switch (rng_below(8)) {
	case 0:
		model_arm(i, 0); /* must wait for the next advance */
		break;
	case 1:
		model_arm(i, random_delay());
		break;
	case 2:
		/* Often a timer due in this same advance, given big clock jumps. */
		model_del((unsigned)rng_below(MODEL_TIMERS));
		break;
	case 3:
		for (k = 0; k < 3; k++)
			model_random_op();
		break;
	default:
		break;
	}
}

/*
 * After each advance: every timer armed before it whose deadline has passed has fired, the
 * wheel agrees with the model, and next() is a lower bound of the earliest deadline.
 */
static void model_verify(void)
{
	struct model *m = model;
	uint64_t earliest = UINT64_MAX, next = rw_timer_wheel_next(&m->w);
	unsigned i, armed = 0;

	for (i = 0; i < MODEL_TIMERS; i++) {
		const struct rw_timer *t = &m->timers[i];

		if (!m->armed[i]) {
			CHECK(!rw_timer_active(t) && t->next == NULL);
			continue;
		}
		armed++;
		CHECK(rw_timer_active(t) && t->expires == m->deadline[i]);
		CHECK(m->deadline[i] > m->w.now || m->armed_gen[i] == m->gen);
		if (m->deadline[i] < earliest)
			earliest = m->deadline[i];
	}
	CHECK(armed == m->armed_count && armed == m->w.count);
	if (!armed)
		CHECK(next == UINT64_MAX);
	else if (earliest <= m->w.now)
		CHECK(next == 0);
	else
		CHECK(next >= 1 && next <= earliest - m->w.now);
}

static uint64_t random_step(void)
{
	unsigned r = (unsigned)rng_below(100);

	if (r < 40)
		return rng_below(4);
	if (r < 65)
		return rng_below(100);
	if (r < 80)
		return rng_below(5000);
	if (r < 90)
		return rng_below(600000);
	if (r < 97)
		return rng_below(4 * HOUR_MS);
	return rng_below(10 * HOUR_MS);
}

static void model_advance(uint64_t to)
{
	struct model *m = model;
	unsigned ran;

	m->gen++;
	m->fired = 0;
	m->last_fired = 0;
	ran = rw_timer_wheel_advance(&m->w, to);
	CHECK(ran == m->fired);
	CHECK(m->w.now == to);
}

static void test_random_model(void)
{
	const unsigned rounds = 2500;
	struct model *m = calloc(1, sizeof(*m));
	unsigned i, round, ops;
	uint64_t start;

	CHECK(m);
	model = m;
	/* Random start, so runs cross level boundaries at different phases. */
	start = rng() >> 22;
	rw_timer_wheel_init(&m->w, start);
	for (i = 0; i < MODEL_TIMERS; i++)
		model_arm(i, random_delay());
	for (round = 0; round < rounds; round++) {
		for (ops = (unsigned)rng_below(50); ops; ops--)
			model_random_op();
		model_verify();
		model_advance(m->w.now + random_step());
	}
	/* Drain: everything armed fires by the end of the wheel's range. */
	m->quiet = true;
	model_advance(m->w.now);
	model_verify();
	model_advance(m->w.now + RW_TIMER_MAX_DELAY);
	model_verify();
	CHECK(m->armed_count == 0 && m->w.count == 0);
	CHECK(m->total_fired <= m->total_armed);
	printf("  random model: %u timers, %u rounds, %" PRIu64 " armings, %" PRIu64
	       " fired, clock span %.1f days\n",
	       MODEL_TIMERS, rounds, m->total_armed, m->total_fired,
	       (double)(m->w.now - start) / 86400e3);
	free(m);
	model = NULL;
}

static void count_cb(struct rw_timer *t, void *arg)
{
	(void)t;
	(*(unsigned *)arg)++;
}

/* Idle-timeout pattern at scale: completes quickly; times are printed, not asserted. */
static void test_perf(void)
{
	const unsigned n = 100000;
	struct rw_timer *timers = calloc(n, sizeof(*timers));
	unsigned i, k, fired = 0;
	uint64_t start = 5000, ms;
	double t0, t1, t2;

	CHECK(timers);
	rw_timer_wheel_init(&wheel, start);
	t0 = now_seconds();
	for (k = 0; k < 10; k++)
		for (i = 0; i < n; i++)
			rw_timer_add(&wheel, &timers[i], 30000 + rng_below(1000), count_cb, &fired);
	for (i = 0; i < n; i++)
		rw_timer_del(&wheel, &timers[i]);
	CHECK(wheel.count == 0);
	t1 = now_seconds();
	for (i = 0; i < n; i++)
		rw_timer_add(&wheel, &timers[i], rng_below(HOUR_MS), count_cb, &fired);
	for (ms = 1; ms <= 10000; ms++)
		rw_timer_wheel_advance(&wheel, start + ms);
	for (; ms <= HOUR_MS + 1000; ms += 1000)
		rw_timer_wheel_advance(&wheel, start + ms);
	t2 = now_seconds();
	CHECK(fired == n && wheel.count == 0);
	printf("  perf: %u timers: 1M add/re-add + 100k del %.1f ms; 100k fired over 10k 1-ms "
	       "and 3.6k 1-s advances %.1f ms\n",
	       n, (t1 - t0) * 1e3, (t2 - t1) * 1e3);
	free(timers);
}

int main(void)
{
	struct {
		const char *name;
		void (*fn)(void);
	} tests[] = {
	    {"inactive", test_inactive},
	    {"order", test_order},
	    {"delay_zero", test_delay_zero},
	    {"rearm_from_callback", test_rearm_from_callback},
	    {"edit_from_callback", test_edit_from_callback},
	    {"clamp", test_clamp},
	    {"next_driven_loop", test_next_driven_loop},
	    {"large_jump", test_large_jump},
	    {"random_model", test_random_model},
	    {"perf", test_perf},
	};
	unsigned i;

	rng_seed(UINT64_C(0x5eed1e55));
	printf("test_timer: seed %" PRIu64 "\n", seed);
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		double t0 = now_seconds();

		tests[i].fn();
		printf("ok %s (%.1f ms)\n", tests[i].name, (now_seconds() - t0) * 1e3);
	}
	return 0;
}
