/* SPDX-License-Identifier: GPL-2.0 */
/* Command table and command-line parsing (pure: no device access). */
#ifndef LM_ARGS_H
#define LM_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LM_MAX_POS 64
#define LM_MAX_META 64

enum lm_opt {
	OPT_META, OPT_SOURCE, OPT_DEST, OPT_REGION, OPT_THROTTLE, OPT_DEPTH,
	OPT_PAUSED, OPT_LABEL, OPT_DEST_ERROR, OPT_JSON, OPT_XML, OPT_WATCH,
	OPT_INTERVAL, OPT_TIMEOUT, OPT_KEEP_DEST, OPT_PRINT_TABLE, OPT_NAME,
	OPT_SIZE, OPT_SRC_SECTORS, OPT_DST_SECTORS, OPT_FORCE, OPT_HELP,
	OPT_VERBOSE, OPT_SOURCE_NAME, OPT_LOCK_TIMEOUT, OPT_LIVE, OPT_UNTIL,
	OPT_UPGRADE, OPT_REUSE_META, OPT_TRUST_LOG, OPT_COORD_LOST, OPT_SCAN,
	OPT_UUID, OPT_POST_COMMIT_HOOK,
	OPT__COUNT
};

#define O(x) (1ull << (x))
_Static_assert(OPT__COUNT <= 64, "options are a 64-bit mask");

struct lm_cmd {
	const char *name;	/* "create", "metadata dump", ... */
	int min_pos, max_pos;
	uint64_t allowed;	/* O(OPT_*) */
	uint64_t required;
	const char *usage;	/* after "livemirror NAME " */
	const char *help;	/* description */
};

struct lm_args {
	const struct lm_cmd *cmd;
	uint64_t seen;			/* O(OPT_*) given */
	const char *pos[LM_MAX_POS];
	int npos;
	const char *meta[LM_MAX_META];
	int nmeta;
	const char *source, *dest, *label, *dest_error, *name, *source_name;
	const char *until;		/* wait --until: synced, switched, any */
	const char *coord_lost;		/* recover --coordinator-lost: source, destination */
	const char *uuid;		/* create --uuid: the dm uuid of the new device */
	const char *post_commit_hook;	/* switch --post-commit-hook: a shell command */
	bool upgrade, reuse_meta, trust_log, scan;
	uint64_t region_sectors;
	uint64_t throttle;
	uint32_t copy_depth;
	bool paused, json, xml, watch, keep_dest, print_table, force, help, live;
	double interval, timeout;
	double lock_timeout;		/* < 0: default */
	uint64_t size_bytes, src_sectors, dst_sectors;
};

extern const struct lm_cmd lm_commands[];
extern const size_t lm_ncommands;

/*
 * Find the command named by argv[0] (and argv[1] for "metadata X").
 * *used = words consumed.  NULL when unknown.
 */
const struct lm_cmd *lm_find_cmd(int argc, char **argv, int *used);

/*
 * Parse argv (after the command words).  Returns 0, or 2 (usage) with why.
 * "--help" sets a->help and stops checking for required options.
 */
int lm_parse(const struct lm_cmd *cmd, int argc, char **argv, struct lm_args *a,
	     char *why, size_t len);

/* Region size in bytes -> sectors, with the target's rules. 0 or -1. */
int lm_region_from_bytes(uint64_t bytes, uint64_t *sectors, char *why, size_t len);

#endif
