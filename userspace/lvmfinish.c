// SPDX-License-Identifier: GPL-2.0
/*
 * lvm-finish VG/LV --meta M: the clean-up after a switch across VGs, once the
 * consumer reopened the new LV or stopped (issue 16 item 3).  Refused while
 * the switched device VG-LV is open, and unless M says SWITCHED (finishing
 * an undecided migration would destroy its source).  Then, in this order:
 *
 *  1 remove the switched device VG-LV (it only mapped the destination);
 *  2 lvremove VG/LV_livemirror_stale (the retired old LV: the old extents);
 *  3 lvremove M when it is an LV (the decision is no longer needed: no
 *    device and no LVM metadata names the old data any more), tagged
 *    livemirror_finished and its log zeroed first (metaremove.h); the tag
 *    tells a re-run that an unreadable M is one this command scrubbed.
 *
 * Each step is skipped when already done, so a run killed halfway is
 * finished by running it again.  Runs in the helper's main thread only.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "dm.h"
#include "exitcodes.h"
#include "lvmfence.h"
#include "meta.h"
#include "metaremove.h"
#include "result.h"
#include "util.h"

#define OUT_MAX 16384
#define FINISH_SCHEMA 1

static int lvm_quiet(char *out, const char *const *args)
{
	return lm_lvm_runv(false, out, OUT_MAX, args);
}

static void result(bool json, const char *lv, const char *outcome, int rc)
{
	if (!json)
		return;
	printf("{\"schema\":%d,\"command\":\"lvm-finish\",\"lv\":", FINISH_SCHEMA);
	lm_json_str(stdout, lv);
	printf(",\"outcome\":\"%s\",\"exit\":%d}\n", outcome, rc);
}

/* Step 3: scrub and remove the metadata LV (nothing when it is no LV). */
static int remove_meta(const char *path)
{
	int rc = lm_meta_lv_remove(path, "lvm-finish", "finish-after-scrub");

	if (!rc)
		printf("%s: metadata LV removed\n", path);
	return rc;
}

int cmd_lvm_finish(struct lm_args *a)
{
	char vg[128], lv[128], dm[300], stale[300], *out;
	const char *slash = strchr(a->pos[0], '/');
	struct lm_sbinfo sb;
	struct lm_dminfo info;
	int rc;

	if (!slash || slash == a->pos[0] || !slash[1] || strchr(slash + 1, '/') ||
	    (size_t)(slash - a->pos[0]) >= sizeof(vg) || strlen(slash + 1) > 100) {
		lm_err("lvm-finish: '%s' is not VG/LV", a->pos[0]);
		return LM_EXIT_USAGE;
	}
	snprintf(vg, sizeof(vg), "%.*s", (int)(slash - a->pos[0]), a->pos[0]);
	snprintf(lv, sizeof(lv), "%s", slash + 1);
	lm_lvm_dm_name(vg, lv, dm, sizeof(dm));
	snprintf(stale, sizeof(stale), "%s/%s%s", vg, lv, LM_STALE_SUFFIX);

	if (meta_read_best(a->meta[0], &sb)) {
		if ((lmdm_info(dm, &info) || !info.exists) && lm_meta_lv_finished(a->meta[0])) {
			/* killed after the scrub: only the lvremove is left */
			rc = remove_meta(a->meta[0]);
			result(a->json, a->pos[0], rc ? "failed" : "finished", rc);
			return rc;
		}
		lm_err("lvm-finish: cannot read livemirror metadata on %s (already finished?)",
		       a->meta[0]);
		result(a->json, a->pos[0], "refused", LM_EXIT_METADATA);
		return LM_EXIT_METADATA;
	}
	if (sb.state != LM_STATE_SWITCHED) {
		lm_err("lvm-finish: the metadata %s says %s, not switched: the old LV may still "
		       "be the authoritative one; nothing removed", a->meta[0],
		       lm_state_name(sb.state));
		result(a->json, a->pos[0], "refused", LM_EXIT_NOT_SYNCED);
		return LM_EXIT_NOT_SYNCED;
	}
	if (!strncmp(sb.device_id, "dm:LVM-", 7)) {
		struct lm_lv old;
		int f = lm_lvm_find(sb.device_id + 3, false, &old);

		if (f != 1) {
			lm_err("lvm-finish: LVM still knows the switched LV (%s/%s) by its uuid: the "
			       "fence did not finish; run 'livemirror recover --meta %s' first; "
			       "nothing removed", f ? "?" : old.vg, f ? "?" : old.lv, a->meta[0]);
			result(a->json, a->pos[0], "refused", LM_EXIT_ERROR);
			return LM_EXIT_ERROR;
		}
	}
	if (!lmdm_info(dm, &info) && info.exists && info.open_count) {
		lm_err("lvm-finish: %s is still open (%d): its consumer still uses the switched "
		       "device; repoint it at the new LV (or stop it) first; nothing removed", dm,
		       info.open_count);
		result(a->json, a->pos[0], "busy", LM_EXIT_BUSY);
		return LM_EXIT_BUSY;
	}
	out = malloc(OUT_MAX);
	if (!out)
		return LM_EXIT_ERROR;
	rc = LM_EXIT_ERROR;
	if (!lmdm_info(dm, &info) && info.exists) {
		if (lmdm_remove(dm)) {
			lm_err("lvm-finish: cannot remove %s: %s", dm, lmdm_last_error());
			goto out;
		}
		printf("%s: removed the switched device\n", dm);
	}
	crash_point("finish-after-remove");
	if (!lvm_quiet(out, (const char *[]){ "lvs", stale, NULL })) {
		if (lvm_quiet(out, (const char *[]){ "lvremove", "-q", "-y", stale, NULL })) {
			fprintf(stderr, "%s", out);
			lm_err("lvm-finish: cannot remove the retired LV %s", stale);
			goto out;
		}
		printf("%s: removed (the old extents are free)\n", stale);
	}
	crash_point("finish-after-lvremove");
	rc = remove_meta(a->meta[0]);
out:
	result(a->json, a->pos[0], rc ? "failed" : "finished", rc);
	free(out);
	return rc;
}
