/*
 * The unit tests' assertion: unlike assert(), stays on in Release (NDEBUG) builds, which is
 * what CI runs.  A test that wants more context on failure (a random seed) defines
 * RW_CHECK_NOTE() before including this header.
 */
#ifndef RW_TESTS_UNIT_CHECK_H
#define RW_TESTS_UNIT_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#ifndef RW_CHECK_NOTE
#define RW_CHECK_NOTE() ((void)0)
#endif

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);   \
			RW_CHECK_NOTE();                                                           \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#endif
