/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Edits of LVM's text metadata (vgcfgbackup's format), see lvmtext.c.
 */
#ifndef LM_LVMTEXT_H
#define LM_LVMTEXT_H
#include <stdbool.h>
#include <stddef.h>

#define LVMTEXT_NAME_MAX 128

struct lvmtext_retire {
	const char *lvuuid;	/* dashed LVM uuid of the LV to retire */
	const char *oldname;	/* its name, checked */
	const char *newname;	/* the name it gets */
	const char *newid;	/* the dashed uuid it gets */
	const char *tag_from;	/* tag replaced (NULL: none) */
	const char *tag_to;	/* tag put in its place, or added */
};

/*
 * The metadata with that LV renamed, given a new id and re-tagged, its
 * segments and flags untouched: LVM then knows no LV by the old id, so
 * nothing it does can load a table into the device that still carries it.
 * Refused (NULL, why) when the LV is not found exactly once, has another
 * name, the new name exists, or another LV refers to it.  Free the result.
 */
char *lvmtext_retire(const char *text, const struct lvmtext_retire *r, char *why, size_t len);

struct lvmtext_swap {
	const char *uuid_a, *uuid_b;	/* dashed uuids of the two LVs */
	const char *tag_a_from;		/* A's tag replaced (NULL: none) */
	const char *tag_a_to;		/* ... by this one */
	const char *tag_b_to;		/* added to B */
};

/*
 * The metadata with the segments (segment_count and every segmentN) of
 * LVs A and B exchanged, names, ids and flags kept, tags edited: a move
 * within one VG, done in LVM's own terms (A now maps B's extents).  Both
 * must have the same size (the caller checks).  NULL with why when refused.
 */
char *lvmtext_swap(const char *text, const struct lvmtext_swap *w, char *why, size_t len);

/* Is there an LV section of that name? */
bool lvmtext_has_lv(const char *text, const char *name);

/* 32 uuid characters (a dm uuid's part) -> LVM's 6-4-4-4-4-4-6 form; out >= 39. */
int lvmtext_uuid_dashed(const char *raw32, char *out, size_t len);
#endif
