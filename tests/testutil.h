/*
 * testutil: what the Check suites share: the runner, stress sizes scaled
 * by LS_STRESS_SCALE, and bounded waits on a thread's progress.
 */
#ifndef LS_TESTUTIL_H
#define LS_TESTUTIL_H

#include <stdatomic.h>
#include <stddef.h>

#include <check.h>

/* Runs suite s and frees it: EXIT_SUCCESS when every test passed. */
int ls_test_run(Suite *s);
/* n times LS_STRESS_SCALE (default 1), at least 1. */
size_t scaled(size_t n);
/* Spins until *v reaches want, for at most ten seconds: 1 if it did. */
int spin_until(atomic_int *v, int want);
/*
 * Gives a thread that announced it is about to wait a moment to get into
 * the wait, so that the wake-up path, not the fast path, is what the test
 * exercises. Correctness never depends on it: a test passes either way,
 * it only covers less when the thread is slow.
 */
void settle(void);

#endif
