// SPDX-License-Identifier: GPL-2.0
/*
 * recover --live DEV...: put devices that a killed helper left suspended
 * or half-changed back into a consistent state, following their metadata:
 *   livemirror table live, SWITCHED        -> forward: destination-only table
 *   PREPARED, its coordinator SWITCHED     -> forward: switch, destination-only
 *   PREPARED, coordinator not switched     -> back: abort_prepare, resume
 *   CANCELLED                              -> forward: source-only table
 *   otherwise (copying, synced, ...)       -> back: drop the inactive table, resume
 *   original table live, livemirror loaded -> back (an interrupted start)
 * and remove a hidden source device that nothing uses any more.  Every
 * member of a group must be given together, so that PREPARED members find
 * their coordinator.  Runs under the same locks as switch.  The LVM fence
 * (lvmfence.h) follows the leg: destination -> the old LV is retired,
 * source -> an armed fence is disarmed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "dm.h"
#include "exitcodes.h"
#include "guard.h"
#include "idcheck.h"
#include "live.h"
#include "lvmfence.h"
#include "result.h"
#include "util.h"

struct rdev {
	char name[128];
	struct lm_dminfo info;
	bool is_lm, inactive_lm, have_sb;
	struct lm_live l;
	struct lm_sbinfo sb;
	const char *action;
	const char *leg;
	int rc;
};

static bool table_is_lm(const struct lmdm_table *t)
{
	return t->n == 1 && !strcmp(t->t[0].type, LM_TARGET);
}

/* Remove a hidden source left behind, if it is ours and unused. */
static void remove_hidden(const char *hidden)
{
	struct lm_dminfo hi;

	/* ours: LMSRC-<uuid>, or an LV's private layer LVM-<uuid>-lmsrc (live.h) */
	if (!hidden[0] || lmdm_info(hidden, &hi) || !hi.exists || !lm_is_hidden_uuid(hi.uuid) ||
	    hi.open_count)
		return;
	if (lmdm_remove(hidden))
		lm_warn("could not remove hidden source %s: %s", hidden, lmdm_last_error());
	else
		lm_note("removed unused hidden source %s", hidden);
}

static void hidden_name_of(const struct rdev *d, char *buf, size_t len)
{
	struct lm_record rec;

	if (d->is_lm && d->l.hidden_source)
		snprintf(buf, len, "%s", d->l.hidden_name);
	else if (!lm_record_read(d->name, &rec) && rec.hidden[0])
		snprintf(buf, len, "%s", rec.hidden);
	else
		snprintf(buf, len, "%.120s%s", d->name, LM_SRC_SUFFIX);
}

static void write_record(const struct rdev *d, const char *state)
{
	lm_live_record(d->name, state, &d->l);
}

/* Load t (if any) over whatever is inactive, resume, check it went live. */
static int load_resume(struct rdev *d, const struct lmdm_table *t, uint32_t *cookie)
{
	struct lm_dminfo i;

	lmdm_clear(d->name);
	if (t && lmdm_load(d->name, t)) {
		lm_err("%s: cannot load the table: %s", d->name, lmdm_last_error());
		lmdm_clear(d->name);
		if (!lmdm_info(d->name, &i) && i.suspended && lmdm_resume_cookie(d->name, cookie))
			lm_err("%s: resume failed: %s", d->name, lmdm_last_error());
		return LM_EXIT_ERROR;
	}
	if (lmdm_info(d->name, &i))
		return LM_EXIT_ERROR;
	if ((i.suspended || i.inactive_table) && lmdm_resume_cookie(d->name, cookie)) {
		lm_err("%s: resume failed: %s", d->name, lmdm_last_error());
		return LM_EXIT_ERROR;
	}
	if (t && !lm_live_table_is(d->name, t)) {
		lm_err("%s: the live table after resume is not the one loaded", d->name);
		return LM_EXIT_TABLE_MISMATCH;
	}
	return 0;
}

static int source_only(const struct rdev *d, struct lmdm_table *t)
{
	if (d->l.hidden_source) {
		if (lmdm_get_table(d->l.hidden_name, false, t) || !t->n ||
		    lmdm_table_length(t) != d->l.length) {
			lmdm_table_free(t);
			lm_err("%s: cannot use the table of hidden source %s", d->name,
			       d->l.hidden_name);
			return LM_EXIT_ERROR;
		}
		return 0;
	}
	return lm_linear_table(t, d->l.length, d->l.tbl.source) ? LM_EXIT_ERROR : 0;
}

static int forward_switch(struct rdev *d, uint32_t *cookie)
{
	struct lmdm_table t;
	int r;

	if (lm_linear_table(&t, d->l.length, d->l.tbl.dest))
		return LM_EXIT_ERROR;
	r = load_resume(d, &t, cookie);
	lmdm_table_free(&t);
	d->leg = "dest";
	if (r)
		return r;
	write_record(d, "switched");
	d->action = "rolled-forward";
	return 0;
}

static int recover_one(struct rdev *d, struct rdev *all, int n, uint32_t *cookie)
{
	struct lmdm_table t = { 0 };
	int r;

	d->leg = "source";
	if (!d->is_lm) {
		struct lm_record rec;

		if (d->inactive_lm || d->info.suspended || d->info.inactive_table) {
			/* An interrupted start (or a stray load): back to the live table. */
			r = load_resume(d, NULL, cookie);
			if (r)
				return r;
			d->action = "rolled-back";
		}
		if (!lm_record_read(d->name, &rec) && (!strcmp(rec.state, "switched") ||
						      !strcmp(rec.state, "switching"))) {
			if (lm_linear_table(&t, rec.length, rec.dest))
				return LM_EXIT_ERROR;
			if (lm_live_table_is(d->name, &t)) {
				d->leg = "dest";
				snprintf(rec.state, sizeof(rec.state), "switched");
				lm_record_write(d->name, &rec);
			} else if (!strcmp(rec.state, "switched")) {
				d->leg = "unknown";
			}
			lmdm_table_free(&t);
		}
		return 0;
	}
	if (!strcmp(d->l.st.state, "switched"))
		return forward_switch(d, cookie);
	if (d->have_sb && d->sb.state == LM_STATE_PREPARED) {
		struct rdev *c = NULL;

		for (int j = 0; j < n; j++)
			if (all[j].have_sb && !memcmp(all[j].sb.uuid, d->sb.coordinator_uuid,
						      LM_UUID_LEN))
				c = &all[j];
		/* committed only by a coordinator switched in this very group */
		if (c && c != d && !strcmp(c->l.st.state, "switched") && c->have_sb &&
		    !memcmp(c->sb.group_uuid, d->sb.group_uuid, LM_UUID_LEN) &&
		    d->l.st.in_sync < d->l.st.nr_regions) {
			lm_err("%s: coordinator %s switched, but this member has %" PRIu64
			       " regions not in sync (it ran after its prepare): resumed as it is; "
			       "run 'livemirror recover --live' again once it is synced",
			       d->name, c->name, d->l.st.nr_regions - d->l.st.in_sync);
			load_resume(d, NULL, cookie);
			d->leg = "unknown";
			return LM_EXIT_NEEDS_RESYNC;
		}
		if (c && c != d && !strcmp(c->l.st.state, "switched") && c->have_sb &&
		    !memcmp(c->sb.group_uuid, d->sb.group_uuid, LM_UUID_LEN)) {
			if (lmdm_message(d->name, "switch")) {
				lm_err("%s: switch failed: %s", d->name, lmdm_last_error());
				load_resume(d, NULL, cookie);
				d->leg = "dest";
				return LM_EXIT_INCOMPLETE;
			}
			lm_note("%s: coordinator %s switched: finishing this member", d->name,
				c->name);
			return forward_switch(d, cookie);
		}
		if (!c) {
			lm_err("%s: PREPARED for a group switch whose coordinator is not among the "
			       "given devices; resumed as it is, run 'livemirror recover --live' "
			       "with every member", d->name);
			load_resume(d, NULL, cookie);
			d->leg = "unknown";
			return LM_EXIT_NOT_FOUND;
		}
		if (lmdm_message(d->name, "abort_prepare"))
			lm_warn("%s: abort_prepare failed: %s", d->name, lmdm_last_error());
	}
	if (!strcmp(d->l.st.state, "cancelled")) {
		r = source_only(d, &t);
		if (!r)
			r = load_resume(d, &t, cookie);
		lmdm_table_free(&t);
		if (r)
			return r;
		write_record(d, "cancelled");
		d->action = "rolled-forward";
		return 0;
	}
	if (d->info.suspended || d->info.inactive_table) {
		r = load_resume(d, NULL, cookie);
		if (r)
			return r;
		d->action = "rolled-back";
	}
	return 0;
}

static int cmd_recover_live(struct lm_args *a)
{
	int n = a->npos, rc = 0;
	struct rdev *d = calloc((size_t)n, sizeof(*d));
	const char **names = calloc((size_t)n, sizeof(*names));
	uint32_t cookie = 0;
	bool changed = false, all_dest = true, all_src = true;

	if (!d || !names) {
		free(d);
		free(names);
		return LM_EXIT_ERROR;
	}
	for (int i = 0; i < n && !rc; i++) {
		rc = lmdm_resolve(a->pos[i], d[i].name, sizeof(d[i].name));
		names[i] = d[i].name;
	}
	if (!rc)
		rc = lm_lock_devices(names, n, true);
	/* Look at everything first: PREPARED members need their coordinator's state. */
	for (int i = 0; i < n && !rc; i++) {
		struct lmdm_table t;

		if (lmdm_info(d[i].name, &d[i].info) || !d[i].info.exists) {
			lm_err("device %s not found", d[i].name);
			rc = LM_EXIT_NOT_FOUND;
			break;
		}
		if (d[i].info.inactive_table && !lmdm_get_inactive_table(d[i].name, &t)) {
			d[i].inactive_lm = table_is_lm(&t);
			lmdm_table_free(&t);
		}
		if (lmdm_get_table(d[i].name, false, &t)) {
			lm_err("%s: cannot read table: %s", d[i].name, lmdm_last_error());
			rc = LM_EXIT_ERROR;
			break;
		}
		d[i].is_lm = table_is_lm(&t);
		lmdm_table_free(&t);
		if (!d[i].is_lm)
			continue;
		rc = lm_live_get(d[i].name, &d[i].l, NULL);
		if (!rc && !lm_live_read_sb(&d[i].l, &d[i].sb))
			d[i].have_sb = true;
	}
	if (rc)
		goto out;
	lm_crit_enter();
	/* Members first, coordinators last, as 'recover' writes metadata. */
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < n; i++) {
			bool coord = d[i].have_sb && !memcmp(d[i].sb.uuid, d[i].sb.coordinator_uuid,
							     LM_UUID_LEN);
			int r;

			if (coord != (pass == 1))
				continue;
			r = recover_one(&d[i], d, n, &cookie);
			if (r && !rc)
				rc = r;
			d[i].rc = r;
		}
	lm_crit_unlock_mem();
	lmdm_udev_wait(cookie);
	for (int i = 0; i < n; i++) {
		char hidden[160];

		/* Only when unused: a live livemirror table still holds it open. */
		hidden_name_of(&d[i], hidden, sizeof(hidden));
		remove_hidden(hidden);
		/* "source" of a device that is not livemirror is a guess: leave the fence */
		if (!d[i].rc && (!strcmp(d[i].leg, "dest") ||
				 (!strcmp(d[i].leg, "source") && d[i].is_lm))) {
			char fence[400], did[LM_ID_LEN] = "";
			struct lm_record rec;
			const char *dest = d[i].is_lm ? d[i].l.tbl.dest :
					   !lm_record_read(d[i].name, &rec) ? rec.dest : "";

			if (!dest[0] || lm_dm_leg_id(dest, did, sizeof(did)) || strncmp(did, "dm:", 3))
				did[0] = 0;
			char log[2 * LM_UUID_LEN + 1] = "";

			if (d[i].have_sb)
				hex_encode(d[i].sb.uuid, LM_UUID_LEN, log);
			if (lm_fence_resolve(d[i].info.uuid, did[0] ? did + 3 : NULL,
					     !strcmp(d[i].leg, "dest"), true, log[0] ? log : NULL,
					     fence, sizeof(fence), NULL)) {
				d[i].rc = LM_EXIT_ERROR;
				if (!rc)
					rc = LM_EXIT_ERROR;
			} else if (fence[0]) {
				printf("%s: %s\n", d[i].name, fence);
				changed = true;
			}
		}
		if (d[i].action)
			changed = true;
		all_dest = all_dest && !strcmp(d[i].leg, "dest");
		all_src = all_src && !strcmp(d[i].leg, "source");
		printf("%s: %s, %s authoritative%s\n", d[i].name,
		       d[i].action ? d[i].action : "nothing to do", d[i].leg,
		       d[i].rc ? " (with errors)" : "");
		lm_result_device(d[i].name, d[i].action ? d[i].action : "nothing-to-do",
				 d[i].leg);
	}
	lm_result_set(changed ? "recovered" : "nothing-to-do",
		      all_dest ? "dest" : all_src ? "source" : "unknown", changed);
out:
	free(d);
	free(names);
	return rc;
}

int cmd_recover_any(struct lm_args *a)
{
	if (a->scan)
		return cmd_recover_scan(a);
	return a->live ? cmd_recover_live(a) : cmd_recover(a);
}
