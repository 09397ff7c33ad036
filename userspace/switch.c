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
 * Any error before the commit point: abort_prepare + resume the old tables.
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
#include "live.h"
#include "util.h"

struct member {
	struct lm_live l;
	struct lm_sbinfo sb;
	bool suspended;		/* by us */
	bool prepared;
	bool committed;		/* switch recorded for this member */
	bool was_switched;	/* already switched before we started */
};

/*
 * LVM rebuilds an LV's table from its own metadata, which still names the
 * old PV: a refresh or reactivation would silently put the LV back on the
 * stale source.  The helper cannot stop LVM, so it says so, loudly.
 */
static void warn_if_lvm(const char *name)
{
	struct lm_dminfo i;

	if (lmdm_info(name, &i) || strncmp(i.uuid, "LVM-", 4))
		return;
	lm_warn("%s is an LVM logical volume whose LVM metadata still names the old physical "
		"volume: do not run 'lvchange --refresh', deactivate/activate, resize or pvmove it, "
		"or the LV goes back to the old data. Move the VM to the destination LV and remove "
		"this one (see Documentation/livemirror-lvm.rst).", name);
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
	for (int i = 0; i < n; i++) {
		if (group && m[i].prepared && !m[i].committed &&
		    lmdm_message(m[i].l.name, "abort_prepare"))
			lm_err("%s: abort_prepare failed: %s; its metadata stays PREPARED until "
			       "'livemirror recover'", m[i].l.name, lmdm_last_error());
	}
	for (int i = n - 1; i >= 0; i--) {
		if (!m[i].suspended)
			continue;
		if (lmdm_resume(m[i].l.name))
			lm_err("%s: resume failed: %s; run 'dmsetup resume %s'", m[i].l.name,
			       lmdm_last_error(), m[i].l.name);
		else
			m[i].suspended = false;
	}
}

int cmd_switch(struct lm_args *a)
{
	int n = a->npos, r = 0, coord = 0, late_errors = 0;
	bool group = n > 1, all_switched = true;
	uint8_t gid[LM_UUID_LEN];
	char gidhex[33], cidhex[33], msg[160];
	struct member *m;

	m = calloc((size_t)n, sizeof(*m));
	if (!m)
		return LM_EXIT_ERROR;
	/* Step 1: look at every member, refuse early. */
	for (int i = 0; i < n; i++) {
		r = lm_live_get(a->pos[i], &m[i].l, NULL);
		if (r)
			goto out;
		for (int j = 0; j < i; j++)
			if (!strcmp(m[j].l.name, m[i].l.name)) {
				lm_err("%s given twice", m[i].l.name);
				r = LM_EXIT_USAGE;
				goto out;
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
		if (group) {
			r = lm_live_read_sb(&m[i].l, &m[i].sb);
			if (r)
				goto out;
		}
	}
	if (group && !all_switched && m[coord].was_switched) {
		/* A previous run committed: finish it. */
		lm_note("coordinator %s already switched: finishing the group switch",
			m[coord].l.name);
	}

	/* Step 2: suspend everything, then confirm while nothing can change. */
	for (int i = 0; i < n; i++) {
		if (fail_point("suspend-%d", i) || lmdm_suspend(m[i].l.name)) {
			lm_err("%s: suspend failed: %s", m[i].l.name, lmdm_last_error());
			r = LM_EXIT_ERROR;
			goto abort;
		}
		m[i].suspended = true;
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
			if (lm_live_refresh_status(&m[0].l) ||
			    strcmp(m[0].l.st.state, "switched")) {
				lm_err("%s: switch message failed: %s (%s); old table resumed",
				       m[0].l.name, lmdm_last_error(), strerror(e));
				r = LM_EXIT_ERROR;
				goto abort;
			}
		}
		m[0].committed = true;
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

			if (lm_live_refresh_status(&m[coord].l) ||
			    strcmp(m[coord].l.st.state, "switched")) {
				lm_err("%s: switch (commit) failed on the coordinator: %s (%s); "
				       "group switch aborted", m[coord].l.name, lmdm_last_error(),
				       strerror(e));
				r = LM_EXIT_ERROR;
				goto abort;
			}
		}
		m[coord].committed = true;
		crash_point("after-commit");
	} else {
		m[coord].committed = true;
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

		if (lm_linear_table(&dt, m[i].l.length, m[i].l.tbl.dest) ||
		    lmdm_load(m[i].l.name, &dt)) {
			lm_err("%s: cannot load the destination-only table: %s; the switched "
			       "livemirror table stays (I/O goes to the destination)",
			       m[i].l.name, lmdm_last_error());
			lmdm_clear(m[i].l.name);
			late_errors++;
		}
		lmdm_table_free(&dt);
		crash_point("after-load-%d", i);
	}
	crash_point("after-load");
	for (int i = 0; i < n; i++) {
		if (lmdm_resume(m[i].l.name)) {
			lm_err("%s: resume failed: %s; run 'dmsetup resume %s'", m[i].l.name,
			       lmdm_last_error(), m[i].l.name);
			late_errors++;
		} else {
			m[i].suspended = false;
		}
		crash_point("after-resume-%d", i);
	}
	crash_point("after-resume");

	/* Step 5: hidden sources made by `start` are no longer used. */
	for (int i = 0; i < n; i++) {
		if (!m[i].l.hidden_source)
			continue;
		if (lmdm_remove(m[i].l.hidden_name)) {
			lm_warn("could not remove hidden source %s: %s", m[i].l.hidden_name,
				lmdm_last_error());
		}
		crash_point("after-remove-source-%d", i);
	}
	for (int i = 0; i < n; i++) {
		char dpath[256];

		if (dev_path(m[i].l.tbl.dest, dpath, sizeof(dpath)))
			snprintf(dpath, sizeof(dpath), "%s", m[i].l.tbl.dest);
		printf("%s: switched to the destination %s (%s)%s\n", m[i].l.name, dpath,
		       m[i].l.tbl.dest, m[i].was_switched ? ", was already switched" : "");
		warn_if_lvm(m[i].l.name);
	}
	r = late_errors ? LM_EXIT_ERROR : 0;
	goto out;
abort:
	rollback(m, n, group);
out:
	free(m);
	return r;
}
