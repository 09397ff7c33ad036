// SPDX-License-Identifier: GPL-2.0
/* create, start (migrate under a live device) and cancel. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cmds.h"
#include "destcheck.h"
#include "dev.h"
#include "devuuid.h"
#include "dm.h"
#include "exitcodes.h"
#include "guard.h"
#include "idcheck.h"
#include "live.h"
#include "lvmfence.h"
#include "result.h"
#include "util.h"

/* Common checks of the legs; fills the table.  LM_EXIT_*. */
static int build_lm_table(struct lm_args *a, const char *src_ref, uint64_t src_sectors,
			  uint32_t src_lbs, const char *label, const struct lm_ids *ids,
			  struct lm_table *t)
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
	if (a->reuse_meta && a->trust_log) {
		lm_err("--reuse-metadata and --trust-log are exclusive: reused metadata is "
		       "reformatted, every region dirty");
		return LM_EXIT_USAGE;
	}
	r = lm_meta_precheck(a->meta[0], src_sectors, dst_sectors, t->region_sectors, label,
			     a->reuse_meta);
	if (r)
		return r;
	if (!a->reuse_meta) {
		r = lm_ids_check(a->meta[0], ids, a->trust_log);
		if (r)
			return r;
	}
	t->reuse_metadata = a->reuse_meta;
	t->trust_log = a->trust_log;
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
	struct lm_ids ids;
	char src_ref[64], params[1024], uuid[130];
	uint64_t src_sectors;
	uint32_t src_lbs;
	int r, rule;

	if (a->nmeta != 1) {
		lm_err("create takes exactly one --meta");
		return LM_EXIT_USAGE;
	}
	r = lm_lock_devices(&name, 1, false);
	if (r)
		return r;
	lm_result_set("failed", "unknown", false);
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
	if (lm_dev_uuid(a->meta[0], a->uuid, uuid, sizeof(uuid), &rule)) {
		lm_err("cannot get random bytes for the dm uuid of %s", name);
		return LM_EXIT_ERROR;
	}
	if (rule == 3)
		lm_note("%s: metadata %s is bound to the weak identity 'dm-name:%s' (created by "
			"an older helper): creating %s without a dm uuid to match; trust_log is "
			"impossible on this metadata", name, a->meta[0], name, name);
	memset(&ids, 0, sizeof(ids));
	/* what the kernel will record for the device: dm:<uuid> (strong) */
	lm_device_id(name, uuid, ids.device, sizeof(ids.device));
	if (lm_dm_leg_id(a->source, ids.source, sizeof(ids.source)) ||
	    lm_dm_leg_id(a->dest, ids.dest, sizeof(ids.dest)))
		return LM_EXIT_NOT_FOUND;
	r = build_lm_table(a, src_ref, src_sectors, src_lbs, a->label, &ids, &t);
	if (r)
		return r;
	if (lm_table_format(&t, params, sizeof(params)) ||
	    lmdm_table_add(&dt, 0, src_sectors, LM_TARGET, params)) {
		lm_err("table too long");
		return LM_EXIT_ERROR;
	}
	lm_debug("table: 0 %" PRIu64 " livemirror %s", src_sectors, params);
	if (lmdm_create(name, uuid[0] ? uuid : NULL, &dt, NULL)) {
		lm_err("%s: the kernel refused the table '0 %" PRIu64 " livemirror %s'%s%s: %s "
		       "(see dmesg; a device with that uuid may exist already)", name, src_sectors,
		       params, uuid[0] ? " with dm uuid " : "", uuid, lmdm_last_error());
		lmdm_table_free(&dt);
		return lm_ids_explain_refusal(a->meta[0], &ids);
	}
	lmdm_table_free(&dt);
	lm_result_set("created", "source", true);
	lm_result_device(name, "copying", "source");
	printf("%s: created, mirroring %s to %s (metadata %s, dm uuid %s)%s\n", name,
	       a->source, a->dest, a->meta[0], uuid[0] ? uuid : "none", a->paused ? ", paused" : "");
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
	const char *lbl, *nm;
	struct lm_table t;
	struct lm_ids ids;
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
	nm = name;
	r = lm_lock_devices(&nm, 1, true);
	if (r)
		return r;
	lm_result_set("failed", "source", false);
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
	r = lm_lvm_refuse_shared(info.uuid, true, "start a migration under it");
	if (r)
		return r;
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
			lm_result_set("already-started", "source", false);
			lm_result_device(name, "migrating", "source");
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
	lm_hidden_uuid(info.uuid[0] ? info.uuid : name, huuid, sizeof(huuid));
	memset(&ids, 0, sizeof(ids));
	lm_device_id(name, info.uuid, ids.device, sizeof(ids.device));
	snprintf(ids.source, sizeof(ids.source), "dm:%s", huuid);	/* the hidden source */
	if (lm_dm_leg_id(a->dest, ids.dest, sizeof(ids.dest))) {
		r = LM_EXIT_NOT_FOUND;
		goto out;
	}
	r = build_lm_table(a, "0:0", len, lbs, lbl, &ids, &t);
	if (r)
		goto out;

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
		r = lm_ids_explain_refusal(a->meta[0], &ids);
		lmdm_clear(name);
		goto undo_hidden;
	}
	crash_point("after-load");
	lm_crit_enter();
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
	lm_crit_unlock_mem();
	crash_point("after-resume");
	if (!lm_live_table_is(name, &nt)) {
		lm_err("%s: the live table after resume is not the livemirror table that was "
		       "loaded (another tool reloaded the device); check 'dmsetup table %s' and "
		       "'livemirror status %s'", name, name, name);
		r = LM_EXIT_TABLE_MISMATCH;
		lm_result_set("table-mismatch", "unknown", true);
		goto out;
	}
	{
		struct lm_record rec;

		memset(&rec, 0, sizeof(rec));
		snprintf(rec.state, sizeof(rec.state), "migrating");
		snprintf(rec.source, sizeof(rec.source), "%s", t.source);
		snprintf(rec.dest, sizeof(rec.dest), "%s", t.dest);
		snprintf(rec.meta, sizeof(rec.meta), "%s", t.meta);
		snprintf(rec.hidden, sizeof(rec.hidden), "%.127s", hidden);
		rec.length = len;
		lm_record_write(name, &rec);
	}
	printf("%s: migrating to %s (hidden source %s, metadata %s, label %s)%s\n", name,
	       a->dest, hidden, a->meta[0], lbl, a->paused ? ", paused" : "");
	lm_result_set("started", "source", true);
	lm_result_device(name, "migrating", "source");
	r = 0;
	goto out;

undo_load:
	/*
	 * Back to the original table.  A resume that failed after the kernel
	 * swapped the tables leaves the livemirror table live: load the
	 * original table again and resume it, so that the hidden source can go.
	 */
	lmdm_clear(name);
	lmdm_info(name, &info);
	if (!lm_live_table_is(name, &cur)) {
		if (lmdm_load(name, &cur))
			lm_err("%s: could not reload the original table: %s", name,
			       lmdm_last_error());
		lmdm_info(name, &info);
	}
	if ((info.suspended || info.inactive_table) && lmdm_resume(name))
		lm_err("%s: could not resume the original table: %s; run 'livemirror recover "
		       "--live %s'", name, lmdm_last_error(), name);
	lm_crit_unlock_mem();
	if (!lm_live_table_is(name, &cur)) {
		lm_err("%s: the original table is not live again; keeping hidden source %s "
		       "(see 'livemirror recover --live %s')", name, hidden, name);
		lm_result_set("failed", "unknown", true);
		goto out;
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

static void cancel_result(const char *name, const char *outcome, const char *leg,
			  bool changed)
{
	lm_result_set(outcome, leg, changed);
	lm_result_device(name, outcome, leg);
}

/*
 * A PREPARED log is a member of a group switch whose coordinator may have
 * committed already: then the destination is authoritative and going back
 * to the source would lose writes.  Only recover, reading the group's
 * decision, may say which leg holds.  LM_EXIT_PREPARED after the message,
 * 0 when not PREPARED or the metadata cannot be read (then the kernel,
 * which refuses the cancel message on PREPARED too, has the last word).
 */
static int refuse_prepared(const struct lm_live *l)
{
	struct lm_sbinfo sb;
	char g[33], c[33];

	if (lm_live_read_sb(l, &sb) || sb.state != LM_STATE_PREPARED)
		return 0;
	hex_encode(sb.group_uuid, LM_UUID_LEN, g);
	hex_encode(sb.coordinator_uuid, LM_UUID_LEN, c);
	lm_err("%s: refusing to cancel: its metadata %s is PREPARED for group switch %s (member "
	       "%" PRIu32 " of %" PRIu32 ", coordinator log %s), whose coordinator may already "
	       "have decided it; that decision says which leg is authoritative: run 'livemirror "
	       "recover --live' with every member of the group (or 'livemirror recover --meta' "
	       "with their metadata), then cancel if the group was rolled back", l->name,
	       l->tbl.meta, g, sb.group_index, sb.group_members, c);
	cancel_result(l->name, "prepared", "unknown", false);
	lm_result_set("refused", "unknown", false);
	return LM_EXIT_PREPARED;
}

int cmd_cancel(struct lm_args *a)
{
	struct lmdm_table st = { 0 };
	struct lm_record rec;
	struct lm_live l;
	char name[128];
	const char *nm = name;
	bool not_lm, recorded = false;
	int r;

	r = lmdm_resolve(a->pos[0], name, sizeof(name));
	if (r)
		return r;
	r = lm_lock_devices(&nm, 1, true);
	if (r)
		return r;
	r = lm_live_get(name, &l, &not_lm);
	if (r) {
		if (not_lm) {
			struct lmdm_table dt = { 0 };
			bool on_dest = false;

			if (!lm_record_read(name, &rec) && (!strcmp(rec.state, "switched") ||
							   !strcmp(rec.state, "switching")) &&
			    !lm_linear_table(&dt, rec.length, rec.dest))
				on_dest = lm_live_table_is(name, &dt);
			lmdm_table_free(&dt);
			if (on_dest) {
				lm_err("%s has switched to the destination %s: the destination is "
				       "authoritative and the source is stale; refusing to cancel",
				       name, rec.dest);
				cancel_result(name, "refused", "dest", false);
				return LM_EXIT_SWITCHED;
			}
			printf("%s is not migrating (no livemirror table); nothing to do\n", name);
			cancel_result(name, "not-migrating", "source", false);
			return 0;
		}
		return r;
	}
	if (!strcmp(l.st.state, "switched")) {
		lm_err("%s has switched: the destination is authoritative and the source is "
		       "stale; finish with 'livemirror switch %s'", l.name, l.name);
		cancel_result(l.name, "refused", "dest", false);
		return LM_EXIT_SWITCHED;
	}
	r = refuse_prepared(&l);
	if (r)
		return r;
	lm_result_set("failed", "source", false);
	if (a->keep_dest && !lm_status_synced(&l.st)) {
		lm_err("%s is not synced (state %s, health %s): --keep-dest needs a consistent "
		       "destination", l.name, l.st.state, l.st.health);
		return lm_status_dest_dead(&l.st) ? LM_EXIT_LEG_FAILED : LM_EXIT_NOT_SYNCED;
	}
	r = source_table(&l, &st);
	if (r)
		return r;
	if (fail_point("load") || lmdm_load(l.name, &st)) {
		lm_err("%s: cannot load the source-only table: %s", l.name, lmdm_last_error());
		lmdm_clear(l.name);
		r = LM_EXIT_ERROR;
		goto out;
	}
	crash_point("cancel-after-load");
	lm_crit_enter();
	if (fail_point("suspend") || lmdm_suspend(l.name)) {
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
	if (fail_point("message") || lmdm_message(l.name, "cancel")) {
		char err[512];

		snprintf(err, sizeof(err), "%s", lmdm_last_error());
		/*
		 * The kernel refuses once the switch is recorded: then the
		 * destination is authoritative and the source-only table must
		 * never go live.
		 */
		if (!lm_live_refresh_status(&l) && !strcmp(l.st.state, "switched")) {
			lm_err("%s switched while cancelling: the destination is authoritative; "
			       "cancel refused, switched table resumed", l.name);
			r = LM_EXIT_SWITCHED;
			lm_result_set("refused", "dest", false);
			goto abort;
		}
		/* prepared behind our back (not through the helper's locks) */
		r = refuse_prepared(&l);
		if (r)
			goto abort;
		if (a->keep_dest) {
			lm_err("%s: could not record the cancel in the metadata: %s", l.name, err);
			r = LM_EXIT_ERROR;
			goto abort;
		}
		lm_warn("%s: could not record the cancel in metadata %s (%s): do not reuse "
			"that metadata without 'livemirror metadata repair'", l.name,
			l.tbl.meta, err);
	} else {
		recorded = true;
	}
	crash_point("cancel-after-message");
	if (fail_point("resume") || lmdm_resume(l.name)) {
		lm_err("%s: resume failed: %s", l.name, lmdm_last_error());
		r = LM_EXIT_ERROR;
		goto abort;
	}
	lm_crit_unlock_mem();
	crash_point("cancel-after-resume");
	if (!lm_live_table_is(l.name, &st)) {
		lm_err("%s: the live table after resume is not the source-only table that was "
		       "loaded (another tool reloaded the device); check 'dmsetup table %s'",
		       l.name, l.name);
		r = LM_EXIT_TABLE_MISMATCH;
		lm_result_set("table-mismatch", "unknown", true);
		goto out;
	}
	memset(&rec, 0, sizeof(rec));
	snprintf(rec.state, sizeof(rec.state), "cancelled");
	snprintf(rec.source, sizeof(rec.source), "%s", l.tbl.source);
	snprintf(rec.dest, sizeof(rec.dest), "%s", l.tbl.dest);
	snprintf(rec.meta, sizeof(rec.meta), "%s", l.tbl.meta);
	rec.length = l.length;
	lm_record_write(l.name, &rec);
	if (l.hidden_source && lmdm_remove(l.hidden_name))
		lm_warn("could not remove hidden source %s: %s", l.hidden_name,
			lmdm_last_error());
	printf("%s: cancelled, back on the source%s\n", l.name,
	       a->keep_dest ? "; destination kept as a consistent copy" :
	       recorded ? "" : " (metadata not updated)");
	cancel_result(l.name, "cancelled", "source", true);
	r = 0;
	goto out;
abort:
	lmdm_clear(l.name);
	if (lmdm_resume(l.name))
		lm_err("%s: could not resume: %s; run 'livemirror recover --live %s'", l.name,
		       lmdm_last_error(), l.name);
	lm_crit_unlock_mem();
out:
	lmdm_table_free(&st);
	return r;
}
