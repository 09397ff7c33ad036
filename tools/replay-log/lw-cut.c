// SPDX-License-Identifier: GPL-2.0
/*
 * lw-cut: a consistent cut across several dm-log-writes devices.
 *
 * usage: lw-cut MARK DEV...
 * Suspends every DEV in order (no I/O completes on any of them from then
 * on), appends "mark MARK" to each log, and resumes them in reverse order.
 * Every write a log shows before MARK completed before every write any of
 * the logs shows after it.  Also: lw-cut --mark MARK DEV (mark only).
 */
#include "dmctl.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	char msg[256];
	int i, r = 0, first = 2, suspended = 0;
	int only_mark = argc > 1 && !strcmp(argv[1], "--mark");

	if (only_mark)
		first = 3;
	if (argc < first + 1) {
		fprintf(stderr, "usage: lw-cut [--mark] MARK DEV...\n");
		return 2;
	}
	snprintf(msg, sizeof(msg), "mark %s", argv[first - 1]);
	if (!only_mark) {
		for (i = first; i < argc; i++, suspended++) {
			r = dmctl_suspend(argv[i]);
			if (r) {
				fprintf(stderr, "lw-cut: suspend %s: %s\n", argv[i], strerror(-r));
				break;
			}
		}
	}
	if (!r) {
		for (i = first; i < argc && !r; i++) {
			r = dmctl_message(argv[i], msg);
			if (r)
				fprintf(stderr, "lw-cut: %s on %s: %s\n", msg, argv[i], strerror(-r));
		}
	}
	for (i = first + suspended - 1; i >= first; i--) {
		int e = dmctl_resume(argv[i]);

		if (e) {
			fprintf(stderr, "lw-cut: resume %s: %s\n", argv[i], strerror(-e));
			r = e;
		}
	}
	return r ? 1 : 0;
}
