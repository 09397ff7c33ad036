// SPDX-License-Identifier: GPL-2.0
/*
 * The crash-safe switch (Documentation/livemirror-switch.rst).
 *
 *  1 refuse unless every member is synced and healthy
 *  2 suspend every member; confirm synced while suspended
 *  3 record durably: one device -> "switch"; a group -> "prepare" on every
 *    member, "switch" on the coordinator (THE commit point), "switch" on the rest
 *  4 load the destination-only table (linear over the destination) and resume
 *  5 remove hidden source devices made by `start`
 *  6 retire the old LVs in LVM's metadata (the LVM fence, lvmfence.h; it
 *    was armed before step 2, and is disarmed when the switch aborts)
 * Any error before the commit point: abort_prepare + resume the old tables.
 *
 * Every member's migration lock (and LVM's VG lock for LVs) is held from
 * before the first look at its state to the end; signals are blocked and
 * memory locked from the first suspend on (guard.h).  The resumes share
 * one udev cookie, waited for once after the last resume.  After the
 * resume the live table is read back.  Results: 0 switched (also when run
 * again: "already switched"), 9 committed but unfinished (run it again),
 * 12 the live table is not the destination-only one, 16 switched but the
 * --post-commit-hook failed (hook.h); other codes mean nothing was
 * committed and the source stays authoritative.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "dev.h"
#include "dm.h"
#include "exitcodes.h"
#include "guard.h"
#include "hook.h"
#include "idcheck.h"
#include "live.h"
#include "lvmfence.h"
#include "result.h"
#include "util.h"

struct member {
	struct lm_live l;
	struct lm_sbinfo sb;
	bool suspended;		/* by us */
	bool prepared;
	bool committed;		/* switch recorded for this member */
	bool loaded;		/* destination-only table loaded */
	double t_suspend, t_resume;	/* monotonic, for -v: time held suspended */
	bool was_switched;	/* already switched before we started */
	bool done;		/* destination-only table already live (a re-run) */
	struct lm_lv lv;	/* the LVM LV it is, when is_lv */
	bool is_lv;
	bool armed;		/* LVM fence armed by us (lvmfence.h) */
	bool retired;		/* old LV retired in LVM's metadata */
	bool moved;		/* ... by a swap: LVM's own table is live (same VG) */
};

/*
 * LVM rebuilds an LV's table from its own metadata, which names the old
 * PV.  Once the fence retired the LV (lvmfence.h) LVM cannot do that any
 * more; when it could not, say so, loudly.
 */
static void warn_if_lvm(const char *name, bool retired)
{
	struct lm_dminfo i;

	if (retired || lmdm_info(name, &i) || strncmp(i.uuid, "LVM-", 4))
		return;
	lm_warn("%s is an LVM logical volume that LVM's metadata still maps onto the old "
		"physical volume (the fence did not finish): do not run 'lvchange --refresh', "
		"deactivate/activate, resize or pvmove it, or the LV goes back to the old data; "
		"run this 'livemirror switch' again (see Documentation/livemirror-lvm.rst).", name);
}

/* Finish the LVM fence of a switched member: retire the old LV. */
static int fence_retire(struct member *m)
{
	char action[400], did[LM_ID_LEN], log[2 * LM_UUID_LEN + 1], path[256];
	struct lm_dminfo i;
	struct lm_sbinfo sb;
	struct lm_lv lv;

	if (lmdm_info(m->l.name, &i) || !i.exists)
		return 0;
	if (lm_dm_leg_id(m->l.tbl.dest, did, sizeof(did)) || strncmp(did, "dm:", 3))
		did[0] = 0;
	hex_encode(m->sb.uuid, LM_UUID_LEN, log);
	/*
	 * A re-run of a switched member read no superblock yet, and its
	 * destination may be gone (a reboot): the metadata names both.
	 */
	if (strspn(log, "0") == strlen(log)) {
		log[0] = 0;
		if (m->l.tbl.meta[0] && !dev_path(m->l.tbl.meta, path, sizeof(path)) &&
		    !meta_read_best(path, &sb)) {
			hex_encode(sb.uuid, LM_UUID_LEN, log);
			if (!did[0] && !strncmp(sb.dest_id, "dm:", 3))
				snprintf(did, sizeof(did), "%s", sb.dest_id);
		}
	}
	if (lm_fence_resolve(i.uuid, did[0] ? did + 3 : NULL, true, true, log[0] ? log : NULL,
			     action, sizeof(action), &m->moved))
		return -1;
	/* retired: LVM knows no LV by the device's uuid, or it was moved here */
	m->retired = m->moved || lm_lvm_find(i.uuid, true, &lv) == 1 || lv.stale;
	if (action[0])
		printf("%s: %s\n", m->l.name, action);
	return 0;
}

static int refuse_code(const struct lm_status *s)
{
	if (!strcmp(s->state, "failed") || s->health[2] == 'D')
		return LM_EXIT_METADATA;
	if (lm_status_dest_dead(s) || s->health[0] == 'D')
		return LM_EXIT_LEG_FAILED;
	return LM_EXIT_NOT_SYNCED;
}

static const char *refuse_reason(const struct lm_status *s)
{
	if (!strcmp(s->state, "failed") || s->health[2] == 'D')
		return "metadata failed";
	if (lm_status_dest_dead(s))
		return "destination failed";
	if (s->health[0] == 'D')
		return "source failed";
	if (!s->mirroring)
		return "writes not mirrored yet";
	return "not synced";
}

static bool ready(const struct lm_status *s)
{
	return lm_status_synced(s) && s->mirroring;
}

static void rollback(struct member *m, int n, bool group)
{
	uint32_t cookie = 0;

	for (int i = 0; i < n; i++) {
		if (group && m[i].prepared && !m[i].committed &&
		    lmdm_message(m[i].l.name, "abort_prepare"))
			lm_err("%s: abort_prepare failed: %s; its metadata stays PREPARED until "
			       "'livemirror recover'", m[i].l.name, lmdm_last_error());
	}
	for (int i = n - 1; i >= 0; i--) {
		if (!m[i].suspended)
			continue;
		if (lmdm_resume_cookie(m[i].l.name, &cookie))
			lm_err("%s: resume failed: %s; run 'livemirror recover --live %s'",
			       m[i].l.name, lmdm_last_error(), m[i].l.name);
		else
			m[i].suspended = false;
	}
	lm_crit_unlock_mem();
	lmdm_udev_wait(cookie);
}

/*
 * A member whose table is no longer livemirror: was it switched by an
 * earlier run (state record, and the live table is the destination-only
 * table)?  0 yes, LM_EXIT_TABLE_MISMATCH recorded switched but something
 * else is live, LM_EXIT_ERROR not ours.
 */
static int check_done(const char *name, struct member *m)
{
	struct lm_record rec;
	struct lmdm_table dt;
	bool same;

	if (!lm_record_read(name, &rec) && !strcmp(rec.state, "moved")) {
		/* a move within one VG, finished: LVM's own table is live */
		snprintf(m->l.name, sizeof(m->l.name), "%s", name);
		snprintf(m->l.tbl.dest, sizeof(m->l.tbl.dest), "%s", rec.dest);
		m->done = m->was_switched = m->committed = m->retired = m->moved = true;
		return 0;
	}
	if (lm_record_read(name, &rec) ||
	    (strcmp(rec.state, "switched") && strcmp(rec.state, "switching"))) {
		if (!strcmp(rec.state, "cancelled"))
			lm_err("%s is not a livemirror device: its migration was cancelled", name);
		else
			lm_err("%s is not a livemirror device", name);
		return LM_EXIT_ERROR;
	}
	if (lm_linear_table(&dt, rec.length, rec.dest))
		return LM_EXIT_ERROR;
	same = lm_live_table_is(name, &dt);
	lmdm_table_free(&dt);
	if (!same) {
		struct lm_dminfo di;
		struct lm_lv lv;

		/* a move within the VG after its swap: LVM's own table over the new extents */
		if (!lmdm_info(name, &di) && !lm_lvm_find(di.uuid, true, &lv) && lv.moved)
			same = true;
	}
	if (!same) {
		struct lmdm_table own;
		struct lm_dminfo dd;
		unsigned int ma, mi;

		/* ... or before it: the destination LV's own table (the fence's unstack) */
		if (sscanf(rec.dest, "%u:%u", &ma, &mi) == 2 && !lmdm_info_devno(ma, mi, &dd) &&
		    dd.exists && !lmdm_get_table(dd.name, false, &own)) {
			same = own.n && lm_live_table_is(name, &own);
			lmdm_table_free(&own);
		}
	}
	snprintf(m->l.name, sizeof(m->l.name), "%s", name);
	snprintf(m->l.tbl.dest, sizeof(m->l.tbl.dest), "%s", rec.dest);
	snprintf(m->l.tbl.meta, sizeof(m->l.tbl.meta), "%s", rec.meta);
	if (!same && !strcmp(rec.state, "switching")) {
		lm_err("%s is not a livemirror device", name);
		return LM_EXIT_ERROR;
	}
	if (!same) {
		lm_err("%s was switched to %s, but its live table is no longer the "
		       "destination-only table (reloaded by LVM or another tool?); the "
		       "destination is authoritative: check 'dmsetup table %s'", name, rec.dest,
		       name);
		return LM_EXIT_TABLE_MISMATCH;
	}
	m->done = true;
	m->was_switched = true;
	m->committed = true;
	if (fence_retire(m)) {
		lm_err("%s: switched, but the old LV could not be retired in LVM's metadata: "
		       "run the same 'livemirror switch' again", name);
		return LM_EXIT_INCOMPLETE;
	}
	if (strcmp(rec.state, "switched")) {
		snprintf(rec.state, sizeof(rec.state), "switched");
		lm_record_write(name, &rec);
	}
	return 0;
}

/*
 * "switching" is written before the first suspend and "switched" once the
 * destination-only table is live, so a re-run after a crash past the commit
 * still recognises its own table (linear over this destination).
 */
static void record_state(const struct member *m, const char *state)
{
	lm_live_record(m->l.name, state, &m->l);
}

int cmd_switch(struct lm_args *a)
{
	int n = a->npos, r = 0, coord = 0, late_errors = 0, ndone = 0, mismatch = 0;
	bool group = n > 1, all_switched = true, commit_unknown = false;
	const char **names;
	uint32_t cookie = 0;
	uint8_t gid[LM_UUID_LEN];
	char gidhex[33], cidhex[33], msg[160];
	struct lm_hook_dev *descs = NULL;
	struct member *m;

	m = calloc((size_t)n, sizeof(*m));
	names = calloc((size_t)n, sizeof(*names));
	if (a->post_commit_hook)
		descs = calloc((size_t)n, sizeof(*descs));
	if (!m || !names || (a->post_commit_hook && !descs)) {
		free(m);
		free(names);
		free(descs);
		return LM_EXIT_ERROR;
	}
	/* Step 0: resolve the names and take every member's lock. */
	for (int i = 0; i < n; i++) {
		r = lmdm_resolve(a->pos[i], m[i].l.name, sizeof(m[i].l.name));
		if (r)
			goto out;
		for (int j = 0; j < i; j++)
			if (!strcmp(m[j].l.name, m[i].l.name)) {
				lm_err("%s given twice", m[i].l.name);
				r = LM_EXIT_USAGE;
				goto out;
			}
		names[i] = m[i].l.name;
	}
	r = lm_lock_devices(names, n, true);
	if (r)
		goto out;
	lm_result_set("refused", "source", false);
	/* Step 1: look at every member, refuse early. */
	for (int i = 0; i < n; i++) {
		char name[128];
		bool not_lm;

		snprintf(name, sizeof(name), "%s", names[i]);
		r = lm_live_get(name, &m[i].l, &not_lm);
		if (r && not_lm)
			r = check_done(name, &m[i]);
		if (r)
			goto out;
		/* for the hook: the legs as they are now, the hidden source included */
		if (descs && m[i].done)
			lm_hook_describe(name, "", m[i].l.tbl.dest, "", "", &descs[i]);
		else if (descs)
			lm_hook_describe(name, m[i].l.tbl.source, m[i].l.tbl.dest, m[i].l.tbl.meta,
					 m[i].l.hidden_source ? m[i].l.hidden_name : "", &descs[i]);
		if (m[i].done) {
			ndone++;
			continue;
		}
		m[i].was_switched = !strcmp(m[i].l.st.state, "switched");
		if (!m[i].was_switched)
			all_switched = false;
		if (!m[i].was_switched && !ready(&m[i].l.st)) {
			lm_err("%s: refusing to switch: %s (state %s, health %s, %" PRIu64 "/%" PRIu64
			       " regions in sync)", m[i].l.name, refuse_reason(&m[i].l.st),
			       m[i].l.st.state, m[i].l.st.health, m[i].l.st.in_sync,
			       m[i].l.st.nr_regions);
			r = refuse_code(&m[i].l.st);
			goto out;
		}
		if (group || !m[i].was_switched) {
			r = lm_live_read_sb(&m[i].l, &m[i].sb);
			if (r)
				goto out;
		}
		/*
		 * A PREPARED log belongs to a group attempt: only that group's
		 * coordinator decides it (review H3).  Switching it alone would
		 * commit one member of an undecided group.
		 */
		if (!group && !m[i].was_switched && m[i].sb.state == LM_STATE_PREPARED) {
			char g[33];

			hex_encode(m[i].sb.group_uuid, LM_UUID_LEN, g);
			lm_err("%s: refusing to switch one device: its metadata is PREPARED for "
			       "group %s (member %" PRIu32 " of %" PRIu32 "); switch the whole group "
			       "or run 'livemirror recover --live %s'", m[i].l.name, g,
			       m[i].sb.group_index, m[i].sb.group_members, m[i].l.name);
			r = LM_EXIT_NOT_SYNCED;
			goto out;
		}
	}
	if (ndone == n) {
		for (int i = 0; i < n; i++) {
			printf("%s: already switched to the destination %s\n", m[i].l.name,
			       m[i].l.tbl.dest);
			lm_result_device(m[i].l.name, "switched", "dest");
		}
		lm_result_set("already-switched", "dest", false);
		r = 0;
		goto out;
	}
	if (ndone && !all_switched) {
		lm_err("some members are already switched and others are not: resolve with "
		       "'livemirror recover --live' on every member");
		r = LM_EXIT_ERROR;
		goto out;
	}
	/* Members finished by an earlier run take no further part. */
	if (ndone) {
		int k = 0;

		for (int i = 0; i < n; i++) {
			if (m[i].done) {
				lm_result_device(m[i].l.name, "switched", "dest");
				continue;
			}
			m[k++] = m[i];
		}
		n = k;
		group = n > 1;
	}
	if (group && !all_switched && m[coord].was_switched) {
		/* A previous run committed: finish it. */
		lm_note("coordinator %s already switched: finishing the group switch",
			m[coord].l.name);
	}
	lm_result_set("aborted", "source", false);

	/*
	 * Step 1b: arm the LVM fence before anything is suspended (LVM
	 * commands must not meet a suspended device): from here on no
	 * activation can bring an old LV up, whatever crashes.
	 */
	for (int i = 0; i < n; i++) {
		char log[2 * LM_UUID_LEN + 1];
		int f;

		if (m[i].was_switched)
			continue;
		f = lm_lvm_find(m[i].l.info.uuid, true, &m[i].lv);
		if (f == 1)
			continue;
		if (!f && m[i].lv.shared) {
			r = lm_lvm_refuse_shared(m[i].l.info.uuid, true, "switch it");
			goto abort;
		}
		if (!f) {
			char did[LM_ID_LEN];

			if (lm_dm_leg_id(m[i].l.tbl.dest, did, sizeof(did)) || strncmp(did, "dm:", 3))
				did[0] = 0;
			f = lm_fence_check(&m[i].lv, m[i].l.info.uuid, did[0] ? did + 3 : NULL,
					   true);
		}
		hex_encode(m[i].sb.uuid, LM_UUID_LEN, log);
		if (f || fail_point("arm-%d", i) || lm_fence_arm(&m[i].lv, true, log)) {
			r = LM_EXIT_ERROR;
			goto abort;
		}
		m[i].is_lv = true;
		m[i].armed = true;
		crash_point("after-arm-%d", i);
	}

	for (int i = 0; i < n; i++)
		record_state(&m[i], "switching");
	/* Step 2: suspend everything, then confirm while nothing can change. */
	lm_crit_enter();
	for (int i = 0; i < n; i++) {
		if (fail_point("suspend-%d", i) || lmdm_suspend(m[i].l.name)) {
			lm_err("%s: suspend failed: %s", m[i].l.name, lmdm_last_error());
			r = LM_EXIT_ERROR;
			goto abort;
		}
		m[i].suspended = true;
		m[i].t_suspend = now_mono();
		crash_point("after-suspend-%d", i);
	}
	crash_point("after-suspend");
	for (int i = 0; i < n; i++) {
		if (lm_live_refresh_status(&m[i].l)) {
			r = LM_EXIT_ERROR;
			goto abort;
		}
		if (!strcmp(m[i].l.st.state, "switched"))
			continue;
		if (!ready(&m[i].l.st)) {
			lm_err("%s: not ready once suspended: %s (state %s, health %s); switch "
			       "aborted, old tables resumed", m[i].l.name,
			       refuse_reason(&m[i].l.st), m[i].l.st.state, m[i].l.st.health);
			r = refuse_code(&m[i].l.st);
			goto abort;
		}
	}
	crash_point("after-confirm");

	/* Step 3: durable record.  The commit point is one superblock write. */
	if (!group) {
		if (fail_point("commit") || lmdm_message(m[0].l.name, "switch")) {
			int e = errno;

			/* Did it become durable anyway? The status tells. */
			if (lm_live_refresh_status(&m[0].l))
				commit_unknown = true;
			if (commit_unknown || strcmp(m[0].l.st.state, "switched")) {
				lm_err("%s: switch message failed: %s (%s); old table resumed",
				       m[0].l.name, lmdm_last_error(), strerror(e));
				r = LM_EXIT_ERROR;
				goto abort;
			}
		}
		m[0].committed = true;
		lm_result_set("committed-incomplete", "dest", true);
		crash_point("after-commit");
	} else if (!m[coord].was_switched) {
		if (random_bytes(gid, sizeof(gid))) {
			lm_err("cannot get random bytes for the group uuid");
			r = LM_EXIT_ERROR;
			goto abort;
		}
		hex_encode(gid, sizeof(gid), gidhex);
		hex_encode(m[coord].sb.uuid, LM_UUID_LEN, cidhex);
		for (int i = 0; i < n; i++) {
			if (m[i].was_switched) {
				lm_err("%s already switched but coordinator %s is not; resolve with "
				       "'livemirror recover'", m[i].l.name, m[coord].l.name);
				r = LM_EXIT_ERROR;
				goto abort;
			}
			snprintf(msg, sizeof(msg), "prepare %s %s %d %d", gidhex, cidhex, n, i);
			m[i].prepared = true;	/* abort_prepare is harmless if it failed */
			if (fail_point("prepare-%d", i) || lmdm_message(m[i].l.name, msg)) {
				lm_err("%s: prepare failed: %s; group switch aborted", m[i].l.name,
				       lmdm_last_error());
				r = LM_EXIT_ERROR;
				goto abort;
			}
			crash_point("after-prepare-%d", i);
		}
		if (fail_point("commit") || lmdm_message(m[coord].l.name, "switch")) {
			int e = errno;

			if (lm_live_refresh_status(&m[coord].l))
				commit_unknown = true;
			if (commit_unknown || strcmp(m[coord].l.st.state, "switched")) {
				lm_err("%s: switch (commit) failed on the coordinator: %s (%s); "
				       "group switch aborted", m[coord].l.name, lmdm_last_error(),
				       strerror(e));
				r = LM_EXIT_ERROR;
				goto abort;
			}
		}
		m[coord].committed = true;
		lm_result_set("committed-incomplete", "dest", true);
		crash_point("after-commit");
	} else {
		m[coord].committed = true;
		lm_result_set("committed-incomplete", "dest", false);
	}
	/* Past the commit point: the destination is authoritative, go forward only. */
	for (int i = 0; i < n; i++) {
		if (m[i].committed)
			continue;
		if (lmdm_message(m[i].l.name, "switch")) {
			lm_err("%s: switch failed after the commit point: %s; its destination is "
			       "authoritative (coordinator %s switched); finish with 'livemirror "
			       "recover'", m[i].l.name, lmdm_last_error(), m[coord].l.name);
			late_errors++;
		} else {
			m[i].committed = true;
		}
		crash_point("after-switch-member-%d", i);
	}

	/* Step 4: destination-only tables.  A failed load keeps the switched
	 * livemirror table, which already sends all I/O to the destination. */
	for (int i = 0; i < n; i++) {
		struct lmdm_table dt;

		m[i].loaded = false;
		if (lm_linear_table(&dt, m[i].l.length, m[i].l.tbl.dest) ||
		    fail_point("load-%d", i) || lmdm_load(m[i].l.name, &dt)) {
			lm_err("%s: cannot load the destination-only table: %s; the switched "
			       "livemirror table stays (I/O goes to the destination)",
			       m[i].l.name, lmdm_last_error());
			lmdm_clear(m[i].l.name);
			late_errors++;
		} else {
			m[i].loaded = true;
		}
		lmdm_table_free(&dt);
		crash_point("after-load-%d", i);
	}
	crash_point("after-load");
	for (int i = 0; i < n; i++) {
		if (fail_point("resume-%d", i) || lmdm_resume_cookie(m[i].l.name, &cookie)) {
			lm_err("%s: resume failed: %s; run 'livemirror switch' again or "
			       "'livemirror recover --live %s'", m[i].l.name, lmdm_last_error(),
			       m[i].l.name);
			late_errors++;
		} else {
			m[i].suspended = false;
			m[i].t_resume = now_mono();
		}
		crash_point("after-resume-%d", i);
	}
	lm_crit_unlock_mem();
	lmdm_udev_wait(cookie);
	for (int i = 0; i < n; i++)
		if (m[i].t_resume > 0)
			lm_debug("%s: suspended for %.1f ms", m[i].l.name,
				 (m[i].t_resume - m[i].t_suspend) * 1e3);
	crash_point("after-resume");
	/* Did our table go live, or did someone else's load slip in? */
	for (int i = 0; i < n; i++) {
		struct lmdm_table dt;

		if (!m[i].loaded || m[i].suspended)
			continue;
		if (lm_linear_table(&dt, m[i].l.length, m[i].l.tbl.dest))
			continue;
		if (!lm_live_table_is(m[i].l.name, &dt)) {
			lm_err("%s: the live table after resume is not the destination-only table "
			       "that was loaded (another tool reloaded the device); the destination "
			       "is authoritative: check 'dmsetup table %s'", m[i].l.name,
			       m[i].l.name);
			mismatch++;
		} else {
			record_state(&m[i], "switched");
		}
		lmdm_table_free(&dt);
	}

	/* Step 5: hidden sources made by `start` are no longer used. */
	for (int i = 0; i < n; i++) {
		if (!m[i].l.hidden_source)
			continue;
		if (!m[i].loaded || m[i].suspended)
			continue;	/* still in use by the switched livemirror table */
		if (lmdm_remove(m[i].l.hidden_name)) {
			lm_warn("could not remove hidden source %s: %s", m[i].l.hidden_name,
				lmdm_last_error());
		}
		crash_point("after-remove-source-%d", i);
	}
	/* Step 6: retire the old LVs in LVM's metadata (lvmfence.h). */
	for (int i = 0; i < n; i++) {
		if (!m[i].committed)
			continue;
		if (fail_point("retire-%d", i) || fence_retire(&m[i]))
			late_errors++;
		else if (m[i].moved)
			record_state(&m[i], "moved");
		crash_point("after-retire-%d", i);
	}
	for (int i = 0; i < n; i++) {
		char dpath[256];

		/* a move within the VG removed the destination LV: no node to name */
		if (m[i].moved)
			snprintf(dpath, sizeof(dpath), "LVM's new extents");
		else if (dev_path(m[i].l.tbl.dest, dpath, sizeof(dpath)))
			snprintf(dpath, sizeof(dpath), "%s", m[i].l.tbl.dest);
		printf("%s: switched to the destination %s (%s)%s\n", m[i].l.name, dpath,
		       m[i].l.tbl.dest, m[i].was_switched ? ", was already switched" : "");
		lm_result_device(m[i].l.name, m[i].loaded && !m[i].suspended ? "switched" :
				 "committed", "dest");
		warn_if_lvm(m[i].l.name, m[i].retired);
	}
	if (mismatch)
		r = LM_EXIT_TABLE_MISMATCH;
	else if (late_errors)
		r = LM_EXIT_INCOMPLETE;
	else
		r = 0;
	if (r == LM_EXIT_INCOMPLETE)
		lm_err("the switch is committed (the destination is authoritative) but %d "
		       "step%s failed: run the same 'livemirror switch' again to finish",
		       late_errors, late_errors == 1 ? "" : "s");
	lm_result_set(r == LM_EXIT_TABLE_MISMATCH ? "table-mismatch" :
		      r ? "committed-incomplete" : "switched", "dest", true);
	goto out;
abort:
	rollback(m, n, group);
	/* an unknown commit outcome keeps the fence: recover decides from the metadata */
	for (int i = 0; i < n && !commit_unknown; i++)
		if (m[i].armed && !lm_fence_disarm(&m[i].lv, true))
			m[i].armed = false;
	if (commit_unknown)
		lm_err("the switch's commit outcome is unknown (the status could not be read): "
		       "the LVM fence stays armed; run 'livemirror recover --live'");
	for (int i = 0; i < n; i++) {
		record_state(&m[i], "migrating");
		lm_result_device(m[i].l.name, "not-switched", "source");
	}
out:
	/* after the commit and the resumes only: all_switched = nothing new was done */
	if (descs && !r) {
		/*
		 * The switch is finished: let go of the migration's and LVM's
		 * VG locks first, or a hook that runs an LVM command waits on
		 * them for ever while we wait for the hook.
		 */
		lm_unlock_all();
		r = lm_hook_run(a->post_commit_hook, descs, a->npos, all_switched);
	}
	else if (descs && r == LM_EXIT_INCOMPLETE)
		lm_err("post-commit hook not run: the switch is not finished; the same 'livemirror "
		       "switch --post-commit-hook' again finishes it and then runs the hook");
	free(descs);
	free(m);
	free(names);
	return r;
}
