/* SPDX-License-Identifier: GPL-2.0 */
/* Minimal TAP output for the helper's unit tests. */
#ifndef LM_TAP_H
#define LM_TAP_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_fail;

#define ok(cond, ...) do { \
		int ok_ = !!(cond); \
		tap_n++; \
		if (!ok_) \
			tap_fail++; \
		printf("%sok %d - ", ok_ ? "" : "not ", tap_n); \
		printf(__VA_ARGS__); \
		printf("\n"); \
		if (!ok_) \
			printf("#   failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
	} while (0)

#define is_int(a, b, ...) do { \
		long long a_ = (long long)(a), b_ = (long long)(b); \
		ok(a_ == b_, __VA_ARGS__); \
		if (a_ != b_) \
			printf("#   got %lld, expected %lld\n", a_, b_); \
	} while (0)

#define is_str(a, b, ...) do { \
		const char *a_ = (a), *b_ = (b); \
		ok(a_ && b_ && !strcmp(a_, b_), __VA_ARGS__); \
		if (!a_ || !b_ || strcmp(a_, b_)) \
			printf("#   got '%s', expected '%s'\n", a_ ? a_ : "(null)", b_ ? b_ : "(null)"); \
	} while (0)

static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	printf("# %s: %d passed, %d failed\n", "tests", tap_n - tap_fail, tap_fail);
	return tap_fail ? 1 : 0;
}

#endif
