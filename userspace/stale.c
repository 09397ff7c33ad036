// SPDX-License-Identifier: GPL-2.0
/*
 * guard DEV: is DEV safe to open, or is it (or does it map) a leg that
 * livemirror calls stale: the source of a switched migration, or the
 * destination of a cancelled one?  Meant for hypervisor hooks that run
 * before a VM starts, so that no LVM activation or reboot can bring a VM
 * up on the data a switch left behind.
 *
 * Where the knowledge comes from:
 *  - the state records of this boot (guard.h): the legs' footprints, taken
 *    when the migration began, so that another LV on the same PV is not
 *    called stale; the record's metadata, when it can still be read, must
 *    agree (a record whose metadata moved on is superseded);
 *  - with --scan, the livemirror metadata on this host (scan.h), which
 *    outlives a reboot but names legs only by identity: a device is stale
 *    when its stack holds the identity of the stale leg, or when it is the
 *    migrated device itself and its stack does not hold the destination.
 * Undecided group switches (PREPARED) count as stale: only recover knows
 * whether the source still holds.  Read only; takes no lock.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cmds.h"
#include "dev.h"
#include "dm.h"
#include "exitcodes.h"
#include "footprint.h"
#include "guard.h"
#include "meta.h"
#include "result.h"
#include "scan.h"
#include "util.h"

#define GUARD_SCHEMA 1
#define MAX_HITS 8

struct hit {
	char migration[128];		/* "" when found by --scan */
	char metadata[256];
	char state[16];			/* switched, cancelled, prepared */
	char leg[8];			/* the stale leg: source or dest */
	char by[8];			/* record or scan */
	char authoritative[256];	/* the leg that holds the data, "" unknown */
};

struct guard {
	char dev[256];
	struct lm_footprint fp;
	int nhits;
	struct hit hits[MAX_HITS];
};

static void add_hit(struct guard *g, const char *migration, const char *metadata,
		    const char *state, const char *leg, const char *by, const char *auth)
{
	struct hit *h;

	for (int i = 0; i < g->nhits; i++)
		if (!strcmp(g->hits[i].metadata, metadata) && !strcmp(g->hits[i].leg, leg))
			return;
	if (g->nhits == MAX_HITS)
		return;
	h = &g->hits[g->nhits++];
	snprintf(h->migration, sizeof(h->migration), "%s", migration);
	snprintf(h->metadata, sizeof(h->metadata), "%s", metadata);
	snprintf(h->state, sizeof(h->state), "%s", state);
	snprintf(h->leg, sizeof(h->leg), "%s", leg);
	snprintf(h->by, sizeof(h->by), "%s", by);
	snprintf(h->authoritative, sizeof(h->authoritative), "%s", auth);
}

/* The state in the record's metadata; false when it cannot be read. */
static bool meta_state(const char *ref, char *path, size_t len, uint32_t *state)
{
	struct lm_sbinfo sb;

	if (dev_path(ref, path, len)) {
		snprintf(path, len, "%s", ref);
		return false;
	}
	if (meta_read_best(path, &sb))
		return false;
	*state = sb.state;
	return true;
}

static int check_record(const char *name, const struct lm_record *r, void *ctx)
{
	struct guard *g = ctx;
	struct lm_footprint stale;
	char mpath[256], auth[256] = "";
	const char *leg, *foot, *state = r->state, *auth_ref;
	uint32_t ms = 0;
	bool have = meta_state(r->meta, mpath, sizeof(mpath), &ms);

	if (!strcmp(r->state, "switched") || !strcmp(r->state, "switching")) {
		/*
		 * switching: the switch began; only the metadata says whether it
		 * committed.  Unreadable metadata: fail closed.
		 */
		if (have && ms != LM_STATE_SWITCHED && ms != LM_STATE_PREPARED)
			return 0;
		if (have && ms == LM_STATE_PREPARED)
			state = "prepared";
		else
			state = "switched";
		leg = "source";
		foot = r->source_foot;
		auth_ref = ms == LM_STATE_PREPARED ? NULL : r->dest;
	} else if (!strcmp(r->state, "cancelled")) {
		if (have && ms != LM_STATE_CANCELLED)
			return 0;
		leg = "dest";
		foot = r->dest_foot;
		/*
		 * The device is back on its source; the source ref may be a
		 * hidden device that is gone (and its minor reused).
		 */
		auth_ref = NULL;
		snprintf(auth, sizeof(auth), "/dev/mapper/%s", name);
	} else {
		return 0;
	}
	if (lm_foot_parse(foot, &stale) || !stale.n || !lm_foot_overlap(&g->fp, &stale))
		return 0;
	if (auth_ref && dev_path(auth_ref, auth, sizeof(auth)))
		snprintf(auth, sizeof(auth), "%s", auth_ref);
	add_hit(g, name, mpath, state, leg, "record", auth);
	return 0;
}

/* Identities this helper can compute for a device (footprint.h). */
static bool computable(const char *id)
{
	return !strncmp(id, "dm:", 3) || !strncmp(id, "dev:", 4);
}

static int check_meta(const char *path, const struct lm_meta *m, void *ctx)
{
	struct guard *g = ctx;
	const struct lm_sbinfo *sb;
	const char *state;

	if (m->best < 0)
		return 0;
	sb = &m->sb[m->best];
	if (sb->state == LM_STATE_CANCELLED) {
		if (sb->dest_id[0] && lm_foot_has_id(&g->fp, sb->dest_id))
			add_hit(g, "", path, "cancelled", "dest", "scan", sb->source_id);
		return 0;
	}
	if (sb->state != LM_STATE_SWITCHED && sb->state != LM_STATE_PREPARED)
		return 0;
	state = sb->state == LM_STATE_SWITCHED ? "switched" : "prepared";
	if (sb->source_id[0] && lm_foot_has_id(&g->fp, sb->source_id))
		add_hit(g, "", path, state, "source", "scan", sb->dest_id);
	/* the migrated device itself, activated again somewhere but its destination */
	else if (sb->device_id[0] && lm_foot_has_id(&g->fp, sb->device_id) &&
		 computable(sb->dest_id) && !lm_foot_has_id(&g->fp, sb->dest_id))
		add_hit(g, "", path, state, "source", "scan", sb->dest_id);
	return 0;
}

static void print_json(const struct guard *g, bool scanned, int rc)
{
	printf("{\"schema\":%d,\"command\":\"guard\",\"device\":", GUARD_SCHEMA);
	lm_json_str(stdout, g->dev);
	printf(",\"safe\":%s,\"scanned\":%s,\"stale\":[", rc ? "false" : "true",
	       scanned ? "true" : "false");
	for (int i = 0; i < g->nhits; i++) {
		const struct hit *h = &g->hits[i];

		printf("%s{\"migration\":", i ? "," : "");
		if (h->migration[0])
			lm_json_str(stdout, h->migration);
		else
			printf("null");
		printf(",\"metadata\":");
		lm_json_str(stdout, h->metadata);
		printf(",\"state\":\"%s\",\"leg\":\"%s\",\"found_by\":\"%s\",\"authoritative\":",
		       h->state, h->leg, h->by);
		lm_json_str(stdout, h->authoritative);
		printf("}");
	}
	printf("],\"exit\":%d,\"error\":", rc);
	if (!rc) {
		printf("null");
	} else {
		printf("{\"code\":%d,\"name\":", rc);
		lm_json_str(stdout, lm_exit_name(rc));
		printf(",\"reason\":");
		lm_json_str(stdout, lm_last_error_msg());
		printf("}");
	}
	printf("}\n");
}

static void say_hit(const struct guard *g, const struct hit *h)
{
	char who[512];

	if (h->migration[0])
		snprintf(who, sizeof(who), "livemirror migration '%s' (metadata %s)", h->migration,
			 h->metadata);
	else
		snprintf(who, sizeof(who), "the livemirror migration of metadata %s", h->metadata);
	if (!strcmp(h->state, "prepared"))
		lm_err("%s maps the source of %s, whose group switch is prepared and may be "
		       "committed: its data may be stale; run 'livemirror recover' before using it",
		       g->dev, who);
	else if (!strcmp(h->leg, "source"))
		lm_err("%s maps the stale source of %s, which switched to %s: the destination "
		       "holds the data; do not use %s", g->dev, who,
		       h->authoritative[0] ? h->authoritative : "its destination", g->dev);
	else
		lm_err("%s maps the destination of %s, which was cancelled: it is an incomplete or "
		       "outdated copy, the source (%s) holds the data; do not use %s", g->dev, who,
		       h->authoritative[0] ? h->authoritative : "unknown", g->dev);
}

/* DEV as "MAJ:MIN": a block device path or MAJ:MIN, else a dm name. */
static int dev_ref(const char *arg, char *ref, size_t len)
{
	struct lm_dminfo i;
	char name[128];
	uint32_t a, b;

	if (arg[0] == '/' && strncmp(arg, "/dev/mapper/", 12)) {
		if (dev_devno(arg, &a, &b))
			return LM_EXIT_NOT_FOUND;
		snprintf(ref, len, "%u:%u", a, b);
		return 0;
	}
	if (lmdm_resolve(arg, name, sizeof(name)))
		return LM_EXIT_NOT_FOUND;
	if (lmdm_info(name, &i) || !i.exists) {
		lm_err("device %s not found", name);
		return LM_EXIT_NOT_FOUND;
	}
	snprintf(ref, len, "%u:%u", i.major, i.minor);
	return 0;
}

int cmd_guard(struct lm_args *a)
{
	static struct guard g;
	char ref[32];
	int r, found;

	memset(&g, 0, sizeof(g));
	snprintf(g.dev, sizeof(g.dev), "%s", a->pos[0]);
	r = dev_ref(a->pos[0], ref, sizeof(ref));
	if (!r && lm_footprint_of(ref, LM_WHOLE, &g.fp)) {
		lm_err("%s: cannot read what it maps", a->pos[0]);
		r = LM_EXIT_ERROR;
	}
	if (!r && lm_record_each(check_record, &g) < 0) {
		lm_err("cannot read the state records in %s", lm_rundir());
		r = LM_EXIT_ERROR;
	}
	if (!r && a->scan && lm_scan_each(check_meta, &g, &found) < 0)
		r = LM_EXIT_ERROR;
	if (!r && g.nhits) {
		for (int i = 0; i < g.nhits; i++)
			say_hit(&g, &g.hits[i]);
		r = LM_EXIT_STALE;
	}
	if (a->json)
		print_json(&g, a->scan, r);
	else if (!r)
		printf("%s: safe: no livemirror migration calls it stale%s\n", g.dev,
		       a->scan ? "" : " (state records only; --scan reads the metadata too)");
	return r;
}
