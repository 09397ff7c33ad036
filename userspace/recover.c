// SPDX-License-Identifier: GPL-2.0
/*
 * recover: from metadata alone, which leg is authoritative?
 *   SWITCHED               -> destination
 *   PREPARED               -> the coordinator (named in the superblock, looked
 *                             up among the given metadata) decides: SWITCHED
 *                             with this member's group uuid -> destination
 *                             (finish: write SWITCHED here), unless this member
 *                             has dirty regions (it ran after its prepare:
 *                             needs resync, exit 13, nothing written); else
 *                             source (roll back: write COPYING)
 *                             --coordinator-lost=source|destination decides
 *                             for a coordinator whose metadata is gone
 *                             (destination only with an all-clean bitmap)
 *   COPYING, CANCELLED, 0  -> source
 * Writes happen only when no live table holds the metadata (O_EXCL).
 * The LVM fence (lvmfence.h) of the device the metadata is bound to
 * (device_id dm:LVM-...) follows the decision: destination -> retire the
 * old LV, source -> disarm an armed fence.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmds.h"
#include "dev.h"
#include "devuuid.h"
#include "dm.h"
#include "exitcodes.h"
#include "idcheck.h"
#include "lvmfence.h"
#include "meta.h"
#include "result.h"
#include "util.h"

enum leg { LEG_UNKNOWN, LEG_SOURCE, LEG_DEST, LEG_RESYNC };

struct rec {
	const char *path;
	int open_rc;
	bool valid, fresh;
	struct lm_sbinfo sb;
	uint64_t dirty;		/* dirty regions (PREPARED members only) */
	enum leg leg;
	char reason[1024];
	char action[600];
	int rc;
};

static const char *leg_name(enum leg l)
{
	return l == LEG_DEST ? "dest" : l == LEG_SOURCE ? "source" :
	       l == LEG_RESYNC ? "needs-resync" : "unknown";
}

static void load_one(struct rec *r)
{
	struct lm_meta m;
	char err[256];

	r->open_rc = meta_open(&m, r->path, META_RO, err, sizeof(err));
	if (r->open_rc) {
		snprintf(r->reason, sizeof(r->reason), "%s", err);
		r->rc = r->open_rc;
		return;
	}
	if (meta_load(&m)) {
		snprintf(r->reason, sizeof(r->reason), "unreadable: %s", m.why[0]);
		r->rc = LM_EXIT_ERROR;
	} else if (meta_fresh(&m)) {
		r->fresh = true;
	} else if (meta_needs_upgrade(&m)) {
		meta_upgrade_advice(r->path, r->reason, sizeof(r->reason));
		r->rc = LM_EXIT_METADATA;
	} else if (m.best < 0) {
		snprintf(r->reason, sizeof(r->reason), "no valid superblock (slot A: %s; "
			 "slot B: %s)", m.why[0], m.why[1]);
		r->rc = LM_EXIT_METADATA;
	} else {
		r->valid = true;
		r->sb = m.sb[m.best];
		if (r->sb.state == LM_STATE_PREPARED &&
		    meta_count_dirty(&m, &r->sb, &r->dirty))
			r->dirty = r->sb.nr_regions;
	}
	meta_close(&m);
}

/* Durably set the state of r's metadata, only if nobody uses it. */
static void write_state(struct rec *r, uint32_t state, bool clear_group)
{
	struct lm_meta m;
	struct lm_sbinfo sb;
	char err[256];
	int rc;

	rc = meta_open(&m, r->path, META_RW_EXCL, err, sizeof(err));
	if (rc) {
		snprintf(r->action, sizeof(r->action), rc == LM_EXIT_BUSY ?
			 "none: in use by a live table (not written)" : "none: cannot open");
		if (rc != LM_EXIT_BUSY)
			lm_err("%s", err);
		return;
	}
	if (meta_load(&m) || m.best < 0 || m.sb[m.best].generation != r->sb.generation) {
		snprintf(r->action, sizeof(r->action), "none: metadata changed under us");
		meta_close(&m);
		return;
	}
	sb = m.sb[m.best];
	sb.state = state;
	sb.state_time = (uint64_t)time(NULL);
	if (clear_group) {
		memset(sb.group_uuid, 0, sizeof(sb.group_uuid));
		memset(sb.coordinator_uuid, 0, sizeof(sb.coordinator_uuid));
		sb.group_members = 0;
		sb.group_index = 0;
	}
	if (meta_write_sb(&m, &sb)) {
		snprintf(r->action, sizeof(r->action), "none: write failed: %s", strerror(errno));
		r->rc = LM_EXIT_ERROR;
	} else {
		snprintf(r->action, sizeof(r->action), "%s: wrote %s",
			 state == LM_STATE_SWITCHED ? "finished" : "rolled back",
			 lm_state_name(state));
		r->sb = sb;
	}
	meta_close(&m);
}

/* Dirty PREPARED member of a committed group: neither leg is known complete. */
static void needs_resync(struct rec *r, const char *why)
{
	r->leg = LEG_RESYNC;
	r->rc = LM_EXIT_NEEDS_RESYNC;
	snprintf(r->reason, sizeof(r->reason), "%s, but this member has %" PRIu64 " dirty "
		 "region%s: it ran after its prepare, so its destination lacks writes that "
		 "only its source has; nothing written: resync it (see livemirror(8), "
		 "NEEDS RESYNC)", why, r->dirty, r->dirty == 1 ? "" : "s");
}

static void decide_lost(struct rec *r, const char *how, const char *hex)
{
	if (!strcmp(how, "source")) {
		r->leg = LEG_SOURCE;
		snprintf(r->reason, sizeof(r->reason), "coordinator log %s not given; "
			 "--coordinator-lost=source: rolled back to the source", hex);
		return;	/* written COPYING by cmd_recover */
	}
	if (r->dirty) {
		needs_resync(r, "--coordinator-lost=destination");
		return;
	}
	r->leg = LEG_DEST;
	snprintf(r->reason, sizeof(r->reason), "coordinator log %s not given; "
		 "--coordinator-lost=destination (bitmap all clean): finished to the "
		 "destination", hex);
	write_state(r, LM_STATE_SWITCHED, false);
}

static void decide(struct rec *recs, int n, int i, const char *coord_lost)
{
	struct rec *r = &recs[i], *c = NULL;
	char hex[33];

	snprintf(r->action, sizeof(r->action), "none");
	if (r->rc)
		return;
	if (r->fresh) {
		r->leg = LEG_SOURCE;
		snprintf(r->reason, sizeof(r->reason), "metadata never used");
		return;
	}
	switch (r->sb.state) {
	case LM_STATE_SWITCHED:
		r->leg = LEG_DEST;
		snprintf(r->reason, sizeof(r->reason), "switch recorded");
		return;
	case LM_STATE_COPYING:
		r->leg = LEG_SOURCE;
		snprintf(r->reason, sizeof(r->reason), "migration not switched");
		return;
	case LM_STATE_CANCELLED:
		r->leg = LEG_SOURCE;
		snprintf(r->reason, sizeof(r->reason), "migration cancelled");
		return;
	case LM_STATE_PREPARED:
		break;
	default:
		r->rc = LM_EXIT_METADATA;
		snprintf(r->reason, sizeof(r->reason), "unknown state %" PRIu32, r->sb.state);
		return;
	}
	hex_encode(r->sb.coordinator_uuid, LM_UUID_LEN, hex);
	for (int j = 0; j < n; j++)
		if (recs[j].valid && !memcmp(recs[j].sb.uuid, r->sb.coordinator_uuid, LM_UUID_LEN))
			c = &recs[j];
	if (!c && coord_lost) {
		decide_lost(r, coord_lost, hex);
		return;
	}
	if (!c) {
		r->rc = LM_EXIT_NOT_FOUND;
		snprintf(r->reason, sizeof(r->reason), "interrupted group switch: coordinator "
			 "log %s is not among the given --meta; pass its metadata too (if it is "
			 "lost for good, see --coordinator-lost)", hex);
		return;
	}
	/*
	 * The kernel keeps the group fields in SWITCHED and CANCELLED: the
	 * group committed only if the coordinator switched in this very
	 * group.  A coordinator switched alone or in another attempt (zero or
	 * other group uuid) says nothing about this one.
	 */
	if (c->sb.state == LM_STATE_SWITCHED && !all_zero(r->sb.group_uuid, LM_UUID_LEN) &&
	    !memcmp(c->sb.group_uuid, r->sb.group_uuid, LM_UUID_LEN)) {
		char why[320];

		snprintf(why, sizeof(why), "coordinator %s (log %s) switched: the group switch "
			 "committed", c->path, hex);
		if (r->dirty) {
			needs_resync(r, why);
			return;
		}
		r->leg = LEG_DEST;
		snprintf(r->reason, sizeof(r->reason), "%s", why);
		write_state(r, LM_STATE_SWITCHED, false);
	} else {
		char g[33];

		r->leg = LEG_SOURCE;
		bool other = c->sb.state != LM_STATE_PREPARED &&
			     memcmp(c->sb.group_uuid, r->sb.group_uuid, LM_UUID_LEN);

		hex_encode(c->sb.group_uuid, LM_UUID_LEN, g);
		snprintf(r->reason, sizeof(r->reason), "coordinator %s (log %s) is %s%s%s: the "
			 "group switch never committed", c == r ? "(this log)" : c->path, hex,
			 lm_state_name(c->sb.state),
			 !other ? "" : all_zero(c->sb.group_uuid, LM_UUID_LEN) ?
			 " alone (not in this group)" : " in another group ", other &&
			 !all_zero(c->sb.group_uuid, LM_UUID_LEN) ? g : "");
		/* Keep ourselves PREPARED until every member was decided. */
	}
}

int cmd_recover(struct lm_args *a)
{
	int n = a->nmeta, rc = 0;
	struct rec *recs = calloc((size_t)n, sizeof(*recs));
	char table[256] = "", leg_ref[80] = "";
	uint64_t tlen = 0;

	if (!recs)
		return LM_EXIT_ERROR;
	if ((a->source || a->dest || a->print_table || a->name) &&
	    (!a->source || !a->dest || n != 1)) {
		lm_err("--source, --dest, --print-table and --name need one --meta with both "
		       "--source and --dest");
		free(recs);
		return LM_EXIT_USAGE;
	}
	for (int i = 0; i < n; i++) {
		recs[i].path = a->meta[i];
		load_one(&recs[i]);
	}
	for (int i = 0; i < n; i++)
		decide(recs, n, i, a->coord_lost);
	/* Roll back PREPARED members whose group never committed (coordinator last). */
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < n; i++) {
			struct rec *r = &recs[i];
			bool is_coord = !memcmp(r->sb.uuid, r->sb.coordinator_uuid, LM_UUID_LEN);

			if (!r->rc && r->valid && r->sb.state == LM_STATE_PREPARED &&
			    r->leg == LEG_SOURCE && is_coord == (pass == 1))
				write_state(r, LM_STATE_COPYING, true);
		}
	for (int i = 0; i < n; i++) {
		struct rec *r = &recs[i];
		char fence[400], log[2 * LM_UUID_LEN + 1];

		if (r->rc || !r->valid || (r->leg != LEG_DEST && r->leg != LEG_SOURCE) ||
		    strncmp(r->sb.device_id, "dm:LVM-", 7))
			continue;
		hex_encode(r->sb.uuid, LM_UUID_LEN, log);
		if (lm_fence_resolve(r->sb.device_id + 3, !strncmp(r->sb.dest_id, "dm:", 3) ?
				     r->sb.dest_id + 3 : NULL, r->leg == LEG_DEST, false, log, fence,
				     sizeof(fence), NULL))
			r->rc = LM_EXIT_ERROR;
		else if (fence[0])
			snprintf(r->action + strlen(r->action), sizeof(r->action) - strlen(r->action),
				 "%s%s", r->action[0] ? "; " : "", fence);
	}
	for (int i = 0; i < n; i++)
		if (recs[i].rc && !rc)
			rc = recs[i].rc;
	if (n == 1 && a->source && !recs[0].rc && recs[0].valid) {
		struct lm_ids ids = { "", "", "" };

		/* review M8: the given legs must be the metadata's (dm legs here) */
		if (lm_dm_leg_id(a->source, ids.source, sizeof(ids.source)) ||
		    lm_dm_leg_id(a->dest, ids.dest, sizeof(ids.dest))) {
			lm_err("--source %s or --dest %s: no such device", a->source, a->dest);
			free(recs);
			return LM_EXIT_NOT_FOUND;
		}
		rc = lm_ids_check(recs[0].path, &ids, false);
		if (rc) {
			free(recs);
			return rc;
		}
	}
	if (n == 1 && a->source && !recs[0].rc) {
		const char *leg = recs[0].leg == LEG_DEST ? a->dest : a->source;
		uint64_t len = recs[0].sb.source_sectors, sec;
		char ref[64];

		if (recs[0].fresh) {
			if (dev_size(a->source, &sec, NULL)) {
				free(recs);
				return LM_EXIT_NOT_FOUND;
			}
			len = sec;
		}
		if (dev_table_ref(leg, ref, sizeof(ref))) {
			free(recs);
			return LM_EXIT_NOT_FOUND;
		}
		snprintf(leg_ref, sizeof(leg_ref), "%s 0", ref);
		tlen = len;
		snprintf(table, sizeof(table), "0 %" PRIu64 " linear %s 0", len, ref);
	}
	if (a->json) {
		printf("{\"schema\":2,\"outcome\":\"%s\",\"metadata\":[",
		       !rc ? "decided" : rc == LM_EXIT_NEEDS_RESYNC ? "needs_resync" : "error");
		for (int i = 0; i < n; i++) {
			struct rec *r = &recs[i];
			char hex[33];

			printf("%s{\"meta\":", i ? "," : "");
			lm_json_str(stdout, r->path);
			printf(",\"state\":\"%s\",\"authoritative\":\"%s\",\"reason\":",
			       r->valid ? lm_state_name(r->sb.state) : r->fresh ? "fresh" : "damaged",
			       r->leg == LEG_RESYNC ? "needs_resync" : leg_name(r->leg));
			lm_json_str(stdout, r->reason);
			printf(",\"action\":");
			lm_json_str(stdout, r->action);
			if (r->valid) {
				hex_encode(r->sb.uuid, LM_UUID_LEN, hex);
				printf(",\"uuid\":\"%s\",\"label\":", hex);
				lm_json_str(stdout, r->sb.label);
				if (r->sb.state == LM_STATE_PREPARED)
					printf(",\"dirty\":%" PRIu64, r->dirty);
			}
			printf(",\"exit\":%d}", r->rc);
		}
		printf("]");
		if (table[0])
			printf(",\"table\":\"%s\"", table);
		printf("}\n");
	} else {
		for (int i = 0; i < n; i++) {
			struct rec *r = &recs[i];

			printf("%s: state=%s authoritative=%s action=\"%s\" reason=\"%s\"\n", r->path,
			       r->valid ? lm_state_name(r->sb.state) : r->fresh ? "fresh" : "damaged",
			       leg_name(r->leg), r->action, r->reason);
		}
		if (table[0] && !a->name)
			printf("%s\n", table);
	}
	if (table[0] && a->name) {
		struct lmdm_table t = { 0 };
		char uuid[130] = "";
		int rule = 0;

		/*
		 * The uuid the metadata is bound to (create made it, devuuid.h
		 * rule 2), so that the migration can be started again over the
		 * device; none otherwise, as before.
		 */
		if (lm_dev_uuid(recs[0].path, NULL, uuid, sizeof(uuid), &rule) || rule != 2)
			uuid[0] = 0;
		if (lmdm_table_add(&t, 0, tlen, "linear", leg_ref) ||
		    lmdm_create(a->name, uuid[0] ? uuid : NULL, &t, NULL)) {
			lm_err("cannot create %s with '%s': %s", a->name, table, lmdm_last_error());
			rc = rc ? rc : LM_EXIT_ERROR;
		} else if (!a->json) {
			printf("%s: created on the %s leg\n", a->name, leg_name(recs[0].leg));
		}
		lmdm_table_free(&t);
	}
	free(recs);
	return rc;
}
