/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The footprint of a block device: the ranges it maps, at every level of
 * its device-mapper stack, each named by an identity that stays the same
 * while the helper's state records live (one boot): "dm:<uuid>" for a dm
 * device with a uuid, else "dev:<major>:<minor>".  Two devices share data
 * when their footprints overlap: same identity, overlapping sectors.  This
 * is what guard compares, so that another LV on the same PV is not called
 * stale because it shares the disk with a stale leg.
 *
 * linear targets are followed with their offsets, livemirror to the leg it
 * serves (the source until the switch, then the destination); any other
 * target (striped, crypt ...) is taken to use every device its table
 * names, whole: more overlap than there really is, never less.
 */
#ifndef LM_FOOTPRINT_H
#define LM_FOOTPRINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LM_FOOT_MAX 16
#define LM_WHOLE UINT64_MAX	/* a length: to the end of the device */

struct lm_extent {
	char id[140];
	uint64_t start, len;
};

struct lm_footprint {
	int n;
	struct lm_extent e[LM_FOOT_MAX];
};

/* The identity of a device "MAJ:MIN" as guard uses it; -1 if unknown. */
int lm_foot_id(const char *ref, char *out, size_t len);
/* Footprint of "MAJ:MIN", len sectors from 0 (LM_WHOLE for all).  0 or -1. */
int lm_footprint_of(const char *ref, uint64_t len, struct lm_footprint *f);
bool lm_foot_overlap(const struct lm_footprint *a, const struct lm_footprint *b);
/* Does any level of f have this identity (any range)? */
bool lm_foot_has_id(const struct lm_footprint *f, const char *id);

/* One line for the state record: "start+len@id ...", LM_WHOLE as "*". */
void lm_foot_format(const struct lm_footprint *f, char *buf, size_t len);
int lm_foot_parse(const char *s, struct lm_footprint *f);	/* 0 or -1 */

#endif
