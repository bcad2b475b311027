/*
 * Tests of secret: the copy is exact, its mapping is marked not to be
 * dumped (the "dd" VmFlag in /proc/self/smaps), and it is gone once freed.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "secret.h"
#include "testutil.h"

/*
 * The VmFlags of the mapping that holds address p, from /proc/self/smaps,
 * into flags; 1 if a mapping holds p, 0 if none does.
 */
static int
vmflags_of(const void *p, char *flags, size_t len)
{
	unsigned long a = (unsigned long)(uintptr_t)p, lo, hi;
	char line[512];
	int in = 0, found = 0;
	FILE *f;

	flags[0] = '\0';
	ck_assert_ptr_nonnull(f = fopen("/proc/self/smaps", "r"));
	while (fgets(line, sizeof line, f) != NULL) {
		/* A mapping's first line is "lo-hi perms ..."; no field line
		 * ("Size:", "AnonHugePages:") scans as two numbers. */
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {
			in = a >= lo && a < hi;
			found |= in;
		} else if (in && strncmp(line, "VmFlags:", 8) == 0) {
			snprintf(flags, len, "%s", line + 8);
			in = 0;
		}
	}
	fclose(f);
	return found;
}

/* Does the space-separated flag list hold flag? */
static int
has_flag(const char *flags, const char *flag)
{
	char buf[512], *tok, *save;

	snprintf(buf, sizeof buf, "%s", flags);
	for (tok = strtok_r(buf, " \n", &save); tok != NULL;
	     tok = strtok_r(NULL, " \n", &save))
		if (strcmp(tok, flag) == 0)
			return 1;
	return 0;
}

START_TEST(copy_is_exact)
{
	const char key[] = "0123456789abcdef0123456789abcdef";
	char *s;

	ck_assert_ptr_nonnull(s = ls_secret_new(key, 10));
	ck_assert_str_eq(s, "0123456789");
	ls_secret_free(s);
	ck_assert_ptr_nonnull(s = ls_secret_new(key, 0));
	ck_assert_str_eq(s, "");
	ls_secret_free(s);
	ck_assert_ptr_nonnull(s = ls_secret_printf("DD-API-KEY: %s", key));
	ck_assert_str_eq(s, "DD-API-KEY: 0123456789abcdef0123456789abcdef");
	ls_secret_free(s);
	ls_secret_free(NULL);
}
END_TEST

START_TEST(mapping_not_dumped)
{
	char flags[512], *s, *h;

	ck_assert_ptr_nonnull(s = ls_secret_new("k3y", 3));
	ck_assert_ptr_nonnull(h = ls_secret_printf("DD-API-KEY: %s", s));
	ck_assert_int_eq(vmflags_of(s, flags, sizeof flags), 1);
	ck_assert_msg(has_flag(flags, "dd"), "VmFlags of the key: %s", flags);
	ck_assert_int_eq(vmflags_of(h, flags, sizeof flags), 1);
	ck_assert_msg(
	    has_flag(flags, "dd"), "VmFlags of the header: %s", flags);
	/* Not so for ordinary memory: the test can tell. */
	ck_assert_int_eq(vmflags_of(flags, flags, sizeof flags), 1);
	ck_assert_msg(!has_flag(flags, "dd"), "the stack is marked dd");
	ls_secret_free(h);
	ls_secret_free(s);
}
END_TEST

START_TEST(larger_than_a_page)
{
	size_t n = 3 * 4096 + 100, i;
	char *src, *s, flags[512];

	src = malloc(n);
	for (i = 0; i < n; i++)
		src[i] = 'a' + (char)(i % 26);
	ck_assert_ptr_nonnull(s = ls_secret_new(src, n));
	ck_assert_int_eq(memcmp(s, src, n), 0);
	ck_assert_int_eq(s[n], '\0');
	ck_assert_int_eq(vmflags_of(s + n, flags, sizeof flags), 1);
	ck_assert(has_flag(flags, "dd"));
	ls_secret_free(s);
	free(src);
}
END_TEST

START_TEST(freed_is_unmapped)
{
	char flags[512], *s;

	ck_assert_ptr_nonnull(s = ls_secret_new("gone", 4));
	ls_secret_free(s);
	/* Nothing is mapped there any more; or if the allocator (ASan's, say)
	 * has mapped something new there, it is not that mapping. */
	if (vmflags_of(s, flags, sizeof flags))
		ck_assert_msg(
		    !has_flag(flags, "dd"), "still mapped: %s", flags);
}
END_TEST

static Suite *
secret_suite(void)
{
	Suite *s = suite_create("secret");
	TCase *tc = tcase_create("secret");

	tcase_add_test(tc, copy_is_exact);
	tcase_add_test(tc, mapping_not_dumped);
	tcase_add_test(tc, larger_than_a_page);
	tcase_add_test(tc, freed_is_unmapped);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return ls_test_run(secret_suite());
}
