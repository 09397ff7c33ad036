// SPDX-License-Identifier: GPL-2.0
/* create, start (migrate under a live device) and cancel. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cmds.h"
#include "destcheck.h"
#include "dev.h"
#include "dm.h"
#include "exitcodes.h"
#include "live.h"
#include "util.h"

/* Common checks of the legs; fills the table.  LM_EXIT_*. */
static int build_lm_table(struct lm_args *a, const char *src_ref, uint64_t src_sectors,
			  uint32_t src_lbs, const char *label, struct lm_table *t)
{
	uint64_t dst_sectors;
	uint32_t dst_lbs;
	int r;

	memset(t, 0, sizeof(*t));
	r = dev_size(a->dest, &dst_sectors, &dst_lbs);
	if (r)
		return r;
	if (dst_sectors < src_sectors) {
		lm_err("destination %s (%" PRIu64 " sectors) is smaller than the source "
		       "(%" PRIu64 " sectors)", a->dest, dst_sectors, src_sectors);
		return LM_EXIT_ERROR;
	}
	t->region_sectors = a->region_sectors ? a->region_sectors : LM_DEFAULT_REGION_SECTORS;
	if ((t->region_sectors << 9) % src_lbs || (t->region_sectors << 9) % dst_lbs) {
		lm_err("region size %" PRIu64 " sectors is not a multiple of the logical block "
		       "size of the legs (%u, %u bytes)", t->region_sectors, src_lbs, dst_lbs);
		return LM_EXIT_USAGE;
	}
	r = lm_meta_precheck(a->meta[0], src_sectors, dst_sectors, t->region_sectors, label);
	if (r)
		return r;
	if (dev_table_ref(a->meta[0], t->meta, sizeof(t->meta)) ||
	    dev_table_ref(a->dest, t->dest, sizeof(t->dest)))
		return LM_EXIT_ERROR;
	snprintf(t->source, sizeof(t->source), "%s", src_ref);
	if (a->seen & O(OPT_THROTTLE)) {
		t->have_throttle = true;
		t->throttle = a->throttle;
	}
	t->copy_depth = a->copy_depth;
	t->start_paused = a->paused;
	if (a->dest_error)
		snprintf(t->dest_error, sizeof(t->dest_error), "%s", a->dest_error);
	if (label)
		snprintf(t->label, sizeof(t->label), "%s", label);
	return 0;
}

int cmd_create(struct lm_args *a)
{
	const char *name = a->pos[0];
	struct lmdm_table dt = { 0 };
	struct lm_dminfo info;
	struct lm_table t;
	char src_ref[64], params[1024];
	uint64_t src_sectors;
	uint32_t src_lbs;
	int r;

	if (a->nmeta != 1) {
		lm_err("create takes exactly one --meta");
		return LM_EXIT_USAGE;
	}
	if (lmdm_info(name, &info)) {
		lm_err("cannot query device-mapper: %s", lmdm_last_error());
		return LM_EXIT_ERROR;
	}
	if (info.exists) {
		lm_err("device %s already exists", name);
		return LM_EXIT_BUSY;
	}
	r = dev_size(a->source, &src_sectors, &src_lbs);
	if (r)
		return r;
	if (!src_sectors) {
		lm_err("source %s is empty", a->source);
		return LM_EXIT_ERROR;
	}
	r = dev_table_ref(a->source, src_ref, sizeof(src_ref));
	if (r)
		return r;
	r = lm_dest_check(a->dest, src_ref, a->meta[0], a->force);
	if (r)
		return r;
	r = build_lm_table(a, src_ref, src_sectors, src_lbs, a->label, &t);
	if (r)
		return r;
	if (lm_table_format(&t, params, sizeof(params)) ||
	    lmdm_table_add(&dt, 0, src_sectors, LM_TARGET, params)) {
		lm_err("table too long");
		return LM_EXIT_ERROR;
	}
	lm_debug("table: 0 %" PRIu64 " livemirror %s", src_sectors, params);
	if (lmdm_create(name, NULL, &dt, NULL)) {
		lm_err("%s: the kernel refused the table '0 %" PRIu64 " livemirror %s': %s "
		       "(see dmesg)", name, src_sectors, params, lmdm_last_error());
		lmdm_table_free(&dt);
		return LM_EXIT_ERROR;
	}
	lmdm_table_free(&dt);
	printf("%s: created, mirroring %s to %s (metadata %s)%s\n", name, a->source,
	       a->dest, a->meta[0], a->paused ? ", paused" : "");
	return 0;
}

static bool same_dev(const char *ref, const char *path)
{
	uint32_t a1, b1, a2, b2;

	if (dev_devno(ref, &a1, &b1) || dev_devno(path, &a2, &b2))
		return false;
	return a1 == a2 && b1 == b2;
}

int cmd_start(struct lm_args *a)
{
	struct lmdm_table cur = { 0 }, nt = { 0 };
	struct lm_dminfo info, hinfo;
	char name[128], hidden[160], huuid[140], label[64], src_ref[64], params[1024];
	const char *lbl;
	struct lm_table t;
	uint64_t len, sec;
	uint32_t lbs;
	int r;

	if (a->nmeta != 1) {
		lm_err("start takes exactly one --meta");
		return LM_EXIT_USAGE;
	}
	r = lmdm_resolve(a->pos[0], name, sizeof(name));
	if (r)
		return r;
	if (lmdm_info(name, &info) || !info.exists) {
		lm_err("device %s not found", name);
		return LM_EXIT_NOT_FOUND;
	}
	if (!info.live_table) {
		lm_err("%s has no live table", name);
		return LM_EXIT_ERROR;
	}
	if (info.suspended) {
		lm_err("%s is suspended; resume it first", name);
		return LM_EXIT_BUSY;
	}
	if (info.inactive_table) {
		lm_err("%s has an inactive table loaded (another tool is working on it)", name);
		return LM_EXIT_BUSY;
	}
	if (lmdm_get_table(name, false, &cur) || !cur.n) {
		lm_err("%s: cannot read table: %s", name, lmdm_last_error());
		return LM_EXIT_ERROR;
	}
	for (int i = 0; i < cur.n; i++) {
		struct lm_table old;
		char why[128];

		if (strcmp(cur.t[i].type, LM_TARGET))
			continue;
		r = LM_EXIT_ERROR;
		if (cur.n == 1 && !lm_table_parse(cur.t[0].params, &old, why, sizeof(why)) &&
		    same_dev(old.dest, a->dest) && same_dev(old.meta, a->meta[0])) {
			printf("%s: already migrating to %s; nothing to do\n", name, a->dest);
			r = 0;
		} else {
			lm_err("%s is already a livemirror device", name);
		}
		lmdm_table_free(&cur);
		return r;
	}
	len = lmdm_table_length(&cur);
	snprintf(src_ref, sizeof(src_ref), "%u:%u", info.major, info.minor);
	r = dev_size(src_ref, &sec, &lbs);
	if (r)
		goto out;
	if (sec != len)
		lm_warn("%s: table length %" PRIu64 " differs from device size %" PRIu64,
			name, len, sec);
	if (a->label) {
		lbl = a->label;
	} else {
		label_from_uuid(info.uuid[0] ? info.uuid : name, label, sizeof(label));
		lbl = label;
	}
	if (a->source_name)
		snprintf(hidden, sizeof(hidden), "%s", a->source_name);
	else
		snprintf(hidden, sizeof(hidden), "%s%s", name, LM_SRC_SUFFIX);
	if (strlen(hidden) >= 128) {
		lm_err("hidden source name '%s' too long", hidden);
		r = LM_EXIT_USAGE;
		goto out;
	}
	if (lmdm_info(hidden, &hinfo) || hinfo.exists) {
		lm_err("%s already exists (left over from an earlier run? remove it with "
		       "'dmsetup remove %s' if unused)", hidden, hidden);
		r = LM_EXIT_BUSY;
		goto out;
	}
	/* Check legs and metadata before touching anything. */
	r = lm_dest_check(a->dest, src_ref, a->meta[0], a->force);
	if (r)
		goto out;
	r = build_lm_table(a, "0:0", len, lbs, lbl, &t);
	if (r)
		goto out;

	lm_hidden_uuid(info.uuid[0] ? info.uuid : name, huuid, sizeof(huuid));
	if (lmdm_create_private(hidden, huuid, &cur, &hinfo) || !hinfo.exists) {
		lm_err("cannot create hidden source %s: %s", hidden, lmdm_last_error());
		r = LM_EXIT_ERROR;
		goto out;
	}
	crash_point("after-create-source");
	snprintf(src_ref, sizeof(src_ref), "%u:%u", hinfo.major, hinfo.minor);
	snprintf(t.source, sizeof(t.source), "%s", src_ref);
	if (lm_table_format(&t, params, sizeof(params)) ||
	    lmdm_table_add(&nt, 0, len, LM_TARGET, params)) {
		lm_err("table too long");
		r = LM_EXIT_ERROR;
		goto undo_hidden;
	}
	lm_debug("table: 0 %" PRIu64 " livemirror %s", len, params);
	if (fail_point("load") || lmdm_load(name, &nt)) {
		lm_err("%s: the kernel refused the table '0 %" PRIu64 " livemirror %s': %s "
		       "(see dmesg)", name, len, params, lmdm_last_error());
		r = LM_EXIT_ERROR;
		lmdm_clear(name);
		goto undo_hidden;
	}
	crash_point("after-load");
	if (fail_point("suspend") || lmdm_suspend(name)) {
		lm_err("%s: suspend failed: %s", name, lmdm_last_error());
		r = LM_EXIT_ERROR;
		goto undo_load;
	}
	crash_point("after-suspend");
	if (fail_point("resume") || lmdm_resume(name)) {
		lm_err("%s: resume with the livemirror table failed: %s", name,
		       lmdm_last_error());
		r = LM_EXIT_ERROR;
		goto undo_load;
	}
	crash_point("after-resume");
	printf("%s: migrating to %s (hidden source %s, metadata %s, label %s)%s\n", name,
	       a->dest, hidden, a->meta[0], lbl, a->paused ? ", paused" : "");
	r = 0;
	goto out;

undo_load:
	lmdm_clear(name);
	lmdm_info(name, &info);
	if (info.suspended && lmdm_resume(name))
		lm_err("%s: could not resume the original table: %s; run 'dmsetup resume %s'",
		       name, lmdm_last_error(), name);
	lmdm_table_free(&nt);
	if (lmdm_get_table(name, false, &nt) == 0) {
		bool still_old = nt.n && strcmp(nt.t[0].type, LM_TARGET);

		lmdm_table_free(&nt);
		if (!still_old) {
			lm_err("%s: livemirror table is live; keeping hidden source %s", name,
			       hidden);
			goto out;
		}
	}
undo_hidden:
	if (lmdm_remove(hidden))
		lm_warn("could not remove hidden source %s: %s", hidden, lmdm_last_error());
out:
	lmdm_table_free(&cur);
	lmdm_table_free(&nt);
	return r;
}

/* Table that puts DEV back on its source alone. */
static int source_table(const struct lm_live *l, struct lmdm_table *t)
{
	if (l->hidden_source) {
		if (lmdm_get_table(l->hidden_name, false, t) || !t->n) {
			lm_err("cannot read the table of hidden source %s: %s", l->hidden_name,
			       lmdm_last_error());
			return LM_EXIT_ERROR;
		}
		if (lmdm_table_length(t) != l->length) {
			lmdm_table_free(t);
			lm_err("hidden source %s has a different length", l->hidden_name);
			return LM_EXIT_ERROR;
		}
		return 0;
	}
	if (lm_linear_table(t, l->length, l->tbl.source))
		return LM_EXIT_ERROR;
	return 0;
}

int cmd_cancel(struct lm_args *a)
{
	struct lmdm_table st = { 0 };
	struct lm_live l;
	bool not_lm, recorded = false;
	int r;

	r = lm_live_get(a->pos[0], &l, &not_lm);
	if (r) {
		if (not_lm) {
			printf("%s is not migrating (no livemirror table); nothing to do\n",
			       l.name);
			return 0;
		}
		return r;
	}
	if (!strcmp(l.st.state, "switched")) {
		lm_err("%s has switched: the destination is authoritative and the source is "
		       "stale; finish with 'livemirror switch %s'", l.name, l.name);
		return LM_EXIT_ERROR;
	}
	if (a->keep_dest && !lm_status_synced(&l.st)) {
		lm_err("%s is not synced (state %s, health %s): --keep-dest needs a consistent "
		       "destination", l.name, l.st.state, l.st.health);
		return lm_status_dest_dead(&l.st) ? LM_EXIT_LEG_FAILED : LM_EXIT_NOT_SYNCED;
	}
	r = source_table(&l, &st);
	if (r)
		return r;
	if (lmdm_load(l.name, &st)) {
		lm_err("%s: cannot load the source-only table: %s", l.name, lmdm_last_error());
		lmdm_clear(l.name);
		r = LM_EXIT_ERROR;
		goto out;
	}
	crash_point("cancel-after-load");
	if (lmdm_suspend(l.name)) {
		lm_err("%s: suspend failed: %s", l.name, lmdm_last_error());
		r = LM_EXIT_ERROR;
		goto abort;
	}
	crash_point("cancel-after-suspend");
	if (a->keep_dest) {
		if (lm_live_refresh_status(&l) || !lm_status_synced(&l.st)) {
			lm_err("%s: not synced once suspended (state %s); cancel aborted", l.name,
			       l.st.state);
			r = LM_EXIT_NOT_SYNCED;
			goto abort;
		}
	}
	/* Record CANCELLED so this metadata is never trusted again by mistake. */
	if (lmdm_message(l.name, "cancel")) {
		if (a->keep_dest) {
			lm_err("%s: could not record the cancel in the metadata: %s", l.name,
			       lmdm_last_error());
			r = LM_EXIT_ERROR;
			goto abort;
		}
		lm_warn("%s: could not record the cancel in metadata %s (%s): do not reuse "
			"that metadata without 'livemirror metadata repair'", l.name,
			l.tbl.meta, lmdm_last_error());
	} else {
		recorded = true;
	}
	crash_point("cancel-after-message");
	if (lmdm_resume(l.name)) {
		lm_err("%s: resume failed: %s", l.name, lmdm_last_error());
		r = LM_EXIT_ERROR;
		goto abort;
	}
	crash_point("cancel-after-resume");
	if (l.hidden_source && lmdm_remove(l.hidden_name))
		lm_warn("could not remove hidden source %s: %s", l.hidden_name,
			lmdm_last_error());
	printf("%s: cancelled, back on the source%s\n", l.name,
	       a->keep_dest ? "; destination kept as a consistent copy" :
	       recorded ? "" : " (metadata not updated)");
	r = 0;
	goto out;
abort:
	lmdm_clear(l.name);
	if (lmdm_resume(l.name))
		lm_err("%s: could not resume: %s", l.name, lmdm_last_error());
out:
	lmdm_table_free(&st);
	return r;
}
