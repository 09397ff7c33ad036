/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The LVM fence: after a switch, no LVM command and no reboot may put a
 * migrated LV back on its old PV (Documentation/livemirror-lvm.rst,
 * "The fence").  Two steps around the switch's commit point:
 *
 *  arm     before the first suspend: activation skip, autoactivation off
 *          and the tag livemirror_switching on the LV (a metadata commit,
 *          no table reload); a skip or autoactivation off already set is
 *          kept in a tag (livemirror_prior_*).  Undone by disarm when the
 *          switch aborts, which restores what the arm found.
 *  retire  after the commit: the LV is renamed <lv>_livemirror_stale and
 *          given a new LVM uuid (vgcfgbackup, edit, vgcfgrestore), tag
 *          livemirror_stale.  LVM then knows no LV by the uuid of the live
 *          device: refresh, (de)activation, resize, pvmove and snapshots
 *          cannot reload it; the old extents stay allocated to the stale
 *          LV until 'livemirror lvm-finish' (or lvremove) frees them.
 *
 * When the destination is an LV of the same VG, retire is a swap instead:
 * the LV takes the destination LV's segments (tag livemirror_moved), the
 * destination LV the old ones; then the LV is refreshed (LVM's own linear
 * table over the new extents), its fence cleared, and the destination LV,
 * which now owns the old extents, removed: pvmove's end state.
 *
 * `recover` finishes or undoes whichever step a crash left, from the
 * metadata's decision (lm_fence_resolve).  Callers that hold LVM's VG lock
 * (guard.h) pass locked = true: the LVM commands then run with
 * --nolocking, the lock being ours.
 */
#ifndef LM_LVMFENCE_H
#define LM_LVMFENCE_H
#include <stdbool.h>
#include <stddef.h>

#define LM_TAG_SWITCHING "livemirror_switching"
#define LM_TAG_STALE "livemirror_stale"
#define LM_TAG_MOVED "livemirror_moved"
/* what the arm found, so that disarm and unfence put it back */
#define LM_TAG_PRIOR_SKIP "livemirror_prior_skip"
#define LM_TAG_PRIOR_NOAUTO "livemirror_prior_noauto"
/* livemirror_log_<uuid>: the metadata whose switch armed the fence */
#define LM_TAG_LOG "livemirror_log_"
/* on a metadata LV whose log lvm-finish scrubbed before removing it */
#define LM_TAG_FINISHED "livemirror_finished"
#define LM_STALE_SUFFIX "_livemirror_stale"

struct lm_lv {
	char vg[128];
	char lv[128];
	char lvuuid[40];	/* dashed */
	unsigned long long sectors;	/* its size */
	bool skip;		/* activation skip set */
	bool autoact;		/* autoactivation enabled */
	bool switching;		/* tagged livemirror_switching */
	bool stale;		/* tagged livemirror_stale */
	bool moved;		/* tagged livemirror_moved (a swap was written) */
	bool prior_skip;	/* the arm found activation skip set */
	bool prior_noauto;	/* the arm found autoactivation off */
	char log[33];		/* uuid of the arming metadata ("" none) */
	bool shared;		/* in a lockd VG (lvmlockd) */
	char lock_type[16];
};

/*
 * Run "lvm ARGS..." (args NULL-terminated, args[0] the lvm command; with
 * locked, --nolocking follows it), stdin /dev/null, stdout and stderr into
 * out.  The exit status, 127 when lvm cannot run, -1 on a local error.
 */
int lm_lvm_runv(bool locked, char *out, size_t len, const char *const *args);

/* Is tag one of tags (lv_tags output, comma-separated)? */
bool lm_lvm_has_tag(const char *tags, const char *tag);

/* The dm name LVM gives VG/LV: "vg-lv", a '-' inside either name doubled. */
void lm_lvm_dm_name(const char *vg, const char *lv, char *out, size_t len);

/*
 * The LV that a dm uuid ("LVM-<vg uuid><lv uuid>", optional suffix) names
 * in LVM's metadata.  0 found, 1 none (not an LVM uuid, or LVM knows no
 * such LV), LM_EXIT_NOT_FOUND when LVM cannot be asked (never 1: that
 * would read as "not an LVM LV" and fail open).
 */
int lm_lvm_find(const char *dm_uuid, bool locked, struct lm_lv *out);

/*
 * Shared VGs (lvmlockd): exclusive activation (-aey) is the supported mode.
 * LM_EXIT_BUSY with a message when the device is an LV activated otherwise
 * in a shared VG; what names the refused action.  0 otherwise.
 */
int lm_lvm_refuse_shared(const char *dm_uuid, bool locked, const char *what);

/*
 * Before the arm: the edit the commit will need (retire or swap), tried with
 * vgcfgrestore --test, so that a VG whose metadata cannot take it (a thin
 * pool, a missing PV, a snapshot of the LV, a name too long) refuses the
 * switch while the source is still authoritative.  lv: what lm_lvm_find
 * said of dm_uuid.  0, or LM_EXIT_ERROR.
 */
int lm_fence_check(const struct lm_lv *lv, const char *dm_uuid, const char *dest_uuid,
		   bool locked);

/* log: the switch's metadata uuid (32 hex digits), tagged on the LV; may be NULL */
int lm_fence_arm(struct lm_lv *lv, bool locked, const char *log);	/* updates *lv */
int lm_fence_disarm(const struct lm_lv *lv, bool locked);
/* newname (may be NULL) receives "vg/lv_livemirror_stale". */
int lm_fence_retire(const struct lm_lv *lv, bool locked, char *newname, size_t len);

/*
 * After a decision, for the device whose dm uuid is given (dest_uuid: the
 * dm uuid of its destination, may be NULL): dest -> retire the LV (or swap,
 * same VG) if LVM still knows it; source -> disarm it if armed.  What was
 * done goes to action (may be NULL); *moved (may be NULL) is set when the
 * swap of a move within one VG finished.  log (may be NULL) is the uuid of
 * the metadata whose decision this is: an LV whose fence another metadata
 * armed (tag livemirror_log_<uuid>) is left alone.  0, or LM_EXIT_ERROR.
 */
int lm_fence_resolve(const char *dm_uuid, const char *dest_uuid, bool dest, bool locked,
		     const char *log, char *action, size_t len, bool *moved);
#endif
