/* SPDX-License-Identifier: GPL-2.0 */
/*
 * switch --post-commit-hook CMD: once the switch is committed and every
 * member resumed on its destination, run CMD (sh -c) with a JSON
 * description of the switch on its standard input, so that a hook can
 * repoint a VM's configuration at the new device.  The switch cannot be
 * undone, so a failed hook is reported (LM_EXIT_HOOK_FAILED), never rolled
 * back.  The description (schema in livemirror(8)) is taken before the
 * switch changes anything, while the hidden source still exists.
 */
#ifndef LM_HOOK_H
#define LM_HOOK_H

#include <stdbool.h>

#include "meta.h"

#define LM_HOOK_SCHEMA 1

struct lm_hook_leg {
	char ref[64];		/* MAJ:MIN, "" unknown */
	char path[256];		/* /dev/VG/LV, /dev/mapper/NAME or /dev/sdX, "" unknown */
	char id[LM_ID_LEN];	/* the identity the metadata records, "" unbound */
};

struct lm_hook_dev {
	char name[128];
	char uuid[130];
	char path[256];		/* the path a VM config names: /dev/VG/LV or /dev/mapper/NAME */
	char meta_uuid[33];	/* the log's uuid in hex, "" unreadable */
	struct lm_hook_leg source, dest, meta;
	bool hidden_source;	/* source was the hidden device made by start */
};

/*
 * Describe a member from its legs (MAJ:MIN; "" to take them from its state
 * record) and hidden source name ("" none).
 */
void lm_hook_describe(const char *name, const char *source, const char *dest,
		      const char *meta, const char *hidden, struct lm_hook_dev *d);

/*
 * Run cmd with the description of devs[0..n-1] (devs[0] the coordinator of
 * a group when n > 1).  0, or LM_EXIT_HOOK_FAILED after a message.
 */
int lm_hook_run(const char *cmd, const struct lm_hook_dev *devs, int n, bool already);

#endif
