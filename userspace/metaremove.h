/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The end of a metadata LV whose migration is over: 'lvm-finish' after a
 * switch across VGs, and lvmove's clean-up after a move within one VG.
 *
 * lvremove alone would leave the log on the freed extents: lvcreate wipes
 * only the first 4 KiB of a new LV, so superblock slot B would survive
 * there, and a later 'start --meta' on a new LV over those extents would
 * rightly refuse it as another migration's metadata.  So the LV is first
 * tagged livemirror_finished, then both superblock slots are zeroed, then
 * it is removed.  The tag is what tells a run killed after the zeroing
 * that the log it cannot read is one it scrubbed itself, so that only the
 * lvremove is left to do.
 *
 * Runs in the helper's main thread only, outside any suspend.
 */
#ifndef LM_METAREMOVE_H
#define LM_METAREMOVE_H
#include <stdbool.h>

/* Is the LV at path tagged livemirror_finished? false also when no LV. */
bool lm_meta_lv_finished(const char *path);

/*
 * Tag, zero and lvremove the metadata LV at path; nothing when path is no
 * LV.  who prefixes the messages; crash names the crash point between the
 * zeroing and the lvremove.  0, or LM_EXIT_ERROR with the reason printed.
 */
int lm_meta_lv_remove(const char *path, const char *who, const char *crash);

#endif
