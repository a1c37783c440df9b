/*
 * Shared by the proto/ unit tests: an aborting CHECK (on in Release), a recorder that turns
 * parser events into one string ("REQ GET /a 1.1|H host: x|HC len=5 ka host|B hello|END"),
 * and a feeder that delivers a message to the parser cut into a chosen list of buffers, the
 * way a connection would: append what arrived, parse, consume what the parser returned.
 */
#ifndef RW_TEST_H1_HARNESS_H
#define RW_TEST_H1_HARNESS_H

#include "core/buf.h"
#include "proto/h1.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

extern uint64_t h1t_seed;

#define RW_CHECK_NOTE() fprintf(stderr, "(seed %llu)\n", (unsigned long long)h1t_seed)
#include "tests/unit/check.h"

#define H1T_OUT_MAX (1 << 17)

struct h1t_opts {
	enum rw_h1_kind kind;
	enum rw_h1_method method; /* response parser: the request each response answers */
	bool eof;                 /* the peer closes after the input */
	bool pause;               /* every callback pauses; body is split out zero-copy */
	struct rw_h1_config cfg;
};

/*
 * How the input arrives: cuts[i] are the lengths of the buffers, in order (sum == len);
 * a buffer with `group` set is appended together with the next one before parsing.
 */
struct h1t_plan {
	const size_t *cuts;
	const bool *group; /* may be NULL */
	size_t n;
};

/* Run the parser over data delivered per plan; returns a malloc'd event string. */
char *h1t_run(const struct h1t_opts *o, const void *data, size_t len, const struct h1t_plan *plan);
/* Whole, in one buffer. */
char *h1t_run_whole(const struct h1t_opts *o, const void *data, size_t len);

uint64_t h1t_rng(void);
void h1t_seed_init(void);
double h1t_now(void);

/* Test-wide pools: small buffers for splitting, large ones for whole messages. */
extern struct rw_buf_pool h1t_small, h1t_big;
/* Append len bytes as one buffer of their own (never merged with the previous one). */
void h1t_append(struct rw_chain *c, const void *data, size_t len);

#endif
