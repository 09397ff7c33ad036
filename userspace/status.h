/* SPDX-License-Identifier: GPL-2.0 */
/* INFO status line of the livemirror target: parse and print. */
#ifndef LM_STATUS_H
#define LM_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct lm_status {
	uint64_t in_sync;
	uint64_t nr_regions;
	uint64_t dirty;
	char state[32];
	char health[4];		/* source, dest, metadata: 'A' or 'D' */
	uint32_t copy_depth;
	uint64_t throttle;
	bool mirroring;
	uint64_t dest_errors;
	/*
	 * Optional trailing fields (absent from the 1.x module): bytes the
	 * background copy has written to the destination since the table was
	 * loaded, and the milliseconds it spent copying (pauses excluded).
	 * With both, status knows the copy rate without sampling twice.
	 */
	bool have_copied_bytes, have_copy_ms;
	uint64_t copied_bytes, copy_ms;
	/*
	 * livemirror 1.2.0: what the log found when this table opened it
	 * (formatted, clean, unclean, unbound, live; "" = field absent) and
	 * whether its clean bits were kept (-1 = field absent).
	 */
	char opened[16];
	int trusted;
};

struct lm_report {
	const char *device;
	struct lm_status st;
	uint64_t region_bytes;
	double rate;		/* bytes/s of in-sync growth, < 0 unknown */
	double eta;		/* seconds, < 0 unknown */
};

int lm_status_parse(const char *line, struct lm_status *s, char *why, size_t len);
double lm_status_percent(const struct lm_status *s);
bool lm_status_synced(const struct lm_status *s);	/* synced and healthy */
bool lm_status_dest_dead(const struct lm_status *s);
/* Rate/ETA from two samples dt seconds apart. */
void lm_report_rate(struct lm_report *r, const struct lm_status *prev, double dt);

void lm_print_json(FILE *f, const struct lm_report *r);
void lm_print_kv(FILE *f, const struct lm_report *r);
void lm_print_human(FILE *f, const struct lm_report *r, int width);
/* One line, progress bar, for --watch on a TTY (no newline). */
void lm_print_bar_line(FILE *f, const struct lm_report *r, int width);

#endif
