/* testutil: see testutil.h. */
#include "config.h"

#include <sched.h>
#include <stdlib.h>

#include "ctx.h"
#include "testutil.h"

int
ls_test_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

size_t
scaled(size_t n)
{
	const char *s = getenv("LS_STRESS_SCALE");
	double f = s != NULL ? strtod(s, NULL) : 1.0;

	if (f <= 0)
		f = 1.0;
	n = (size_t)((double)n * f);
	return n > 0 ? n : 1;
}

int
spin_until(atomic_int *v, int want)
{
	int64_t end = ls_now_ms() + 10000;

	while (atomic_load(v) < want) {
		if (ls_now_ms() > end)
			return 0;
		sched_yield();
	}
	return 1;
}

void
settle(void)
{
	struct ls_ctx *ctx = ls_ctx_new(NULL);

	ck_assert_int_eq(ls_ctx_sleep(ctx, 20), 0);
	ls_ctx_free(ctx);
}
