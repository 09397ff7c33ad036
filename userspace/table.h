/* SPDX-License-Identifier: GPL-2.0 */
/* The livemirror table line: build it, and parse the canonical echo. */
#ifndef LM_TABLE_H
#define LM_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LM_TARGET "livemirror"
#define LM_DEFAULT_REGION_SECTORS 1024ULL	/* 512 KiB, like dm-mirror */
#define LM_MAX_COPY_DEPTH 64

struct lm_table {
	char meta[64];
	char source[64];
	char dest[64];
	uint64_t region_sectors;
	uint64_t throttle;		/* MiB/s, 0 = unlimited */
	bool have_throttle;
	uint32_t copy_depth;		/* 0 = default */
	bool start_paused;
	char dest_error[8];		/* "" = default */
	char label[64];			/* "" = none */
	bool reuse_metadata;		/* reformat metadata of other legs */
	bool trust_log;			/* keep clean bits of a log opened from disk */
	char source_id[152];		/* explicit identity text, "" = none */
	char dest_id[152];
};

/* Parameters after the target type.  0 or -1 with why. */
int lm_table_parse(const char *params, struct lm_table *t, char *why, size_t len);
/* Render the parameters (not start/length/type).  0 or -1 if too long. */
int lm_table_format(const struct lm_table *t, char *buf, size_t len);

#endif
