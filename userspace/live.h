/* SPDX-License-Identifier: GPL-2.0 */
/* A loaded livemirror device: its table, status and legs. */
#ifndef LM_LIVE_H
#define LM_LIVE_H

#include <stdbool.h>

#include "dm.h"
#include "meta.h"
#include "status.h"
#include "table.h"

#define LM_SRC_UUID_PREFIX "LMSRC-"
#define LM_SRC_SUFFIX "-lmsrc"
#define LM_LVM_UUID_PREFIX "LVM-"

/*
 * dm UUID of the hidden source of a device with dm UUID uuid.  An LV's
 * (LVM-<vg><lv>) becomes LVM-<vg><lv>-lmsrc: LVM treats any LVM- UUID with a
 * suffix as one of its private layers (like -real), never scans it for PVs
 * and removes it with the LV.  Others become LMSRC-<uuid>.
 */
void lm_hidden_uuid(const char *uuid, char *out, size_t len);
bool lm_is_hidden_uuid(const char *uuid);

struct lm_live {
	char name[128];
	struct lm_dminfo info;
	uint64_t length;
	char params[1024];
	struct lm_table tbl;
	struct lm_status st;
	bool hidden_source;		/* source leg is a device made by start */
	char hidden_name[128];
};

/*
 * Resolve DEV and load table + status.  When the table is not a single
 * livemirror target, returns LM_EXIT_ERROR (quiet when quiet_notlm, with
 * *not_lm set).  Messages name the device and the reason.
 */
int lm_live_get(const char *arg, struct lm_live *l, bool *not_lm);
int lm_live_refresh_status(struct lm_live *l);
/* Read the metadata superblock of a loaded device (shared read). */
int lm_live_read_sb(const struct lm_live *l, struct lm_sbinfo *sb);
/*
 * Write the state record of device @name (guard.h) as @state, naming the
 * legs, metadata, hidden source and length of @l.
 */
int lm_live_record(const char *name, const char *state, const struct lm_live *l);
/* Identity check of existing metadata against the legs; LM_EXIT_*. */
int lm_meta_precheck(const char *meta_path, uint64_t src_sectors, uint64_t dst_sectors,
		     uint64_t region_sectors, const char *label, bool reuse);
/* Build a one-target table. */
int lm_linear_table(struct lmdm_table *t, uint64_t len, const char *dev);

#endif
