// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "dev.h"
#include "exitcodes.h"
#include "guard.h"
#include "live.h"
#include "util.h"

void lm_hidden_uuid(const char *uuid, char *out, size_t len)
{
	if (!strncmp(uuid, LM_LVM_UUID_PREFIX, strlen(LM_LVM_UUID_PREFIX)))
		snprintf(out, len, "%.120s%s", uuid, LM_SRC_SUFFIX);
	else
		snprintf(out, len, "%s%.120s", LM_SRC_UUID_PREFIX, uuid);
}

bool lm_is_hidden_uuid(const char *uuid)
{
	size_t n = strlen(uuid), k = strlen(LM_SRC_SUFFIX);

	if (!strncmp(uuid, LM_SRC_UUID_PREFIX, strlen(LM_SRC_UUID_PREFIX)))
		return true;
	return !strncmp(uuid, LM_LVM_UUID_PREFIX, strlen(LM_LVM_UUID_PREFIX)) && n > k &&
	       !strcmp(uuid + n - k, LM_SRC_SUFFIX);
}

int lm_live_refresh_status(struct lm_live *l)
{
	struct lmdm_table t;
	char why[256];
	int r;

	if (lmdm_get_table(l->name, true, &t)) {
		lm_err("%s: cannot read status: %s", l->name, lmdm_last_error());
		return LM_EXIT_ERROR;
	}
	if (t.n != 1 || strcmp(t.t[0].type, LM_TARGET)) {
		lmdm_table_free(&t);
		lm_err("%s: is no longer a livemirror device", l->name);
		return LM_EXIT_ERROR;
	}
	r = lm_status_parse(t.t[0].params, &l->st, why, sizeof(why));
	lmdm_table_free(&t);
	if (r) {
		lm_err("%s: %s", l->name, why);
		return LM_EXIT_ERROR;
	}
	return 0;
}

int lm_live_get(const char *arg, struct lm_live *l, bool *not_lm)
{
	struct lmdm_table t;
	char why[256];
	uint32_t maj, min;
	int r;

	memset(l, 0, sizeof(*l));
	if (not_lm)
		*not_lm = false;
	r = lmdm_resolve(arg, l->name, sizeof(l->name));
	if (r)
		return r;
	if (lmdm_info(l->name, &l->info) || !l->info.exists) {
		lm_err("device %s not found", l->name);
		return LM_EXIT_NOT_FOUND;
	}
	if (!l->info.live_table) {
		lm_err("%s has no live table", l->name);
		return LM_EXIT_ERROR;
	}
	if (lmdm_get_table(l->name, false, &t)) {
		lm_err("%s: cannot read table: %s", l->name, lmdm_last_error());
		return LM_EXIT_ERROR;
	}
	if (t.n != 1 || strcmp(t.t[0].type, LM_TARGET)) {
		lmdm_table_free(&t);
		if (not_lm) {
			*not_lm = true;
			return LM_EXIT_ERROR;
		}
		lm_err("%s is not a livemirror device", l->name);
		return LM_EXIT_ERROR;
	}
	l->length = t.t[0].length;
	snprintf(l->params, sizeof(l->params), "%s", t.t[0].params);
	lmdm_table_free(&t);
	if (lm_table_parse(l->params, &l->tbl, why, sizeof(why))) {
		lm_err("%s: unexpected table '%s': %s", l->name, l->params, why);
		return LM_EXIT_ERROR;
	}
	r = lm_live_refresh_status(l);
	if (r)
		return r;
	/* Was the source leg made by `start`? */
	if (!dev_devno(l->tbl.source, &maj, &min)) {
		struct lm_dminfo si;

		if (!lmdm_info_devno(maj, min, &si) && si.exists &&
		    lm_is_hidden_uuid(si.uuid)) {
			l->hidden_source = true;
			snprintf(l->hidden_name, sizeof(l->hidden_name), "%s", si.name);
		}
	}
	return 0;
}

int lm_live_read_sb(const struct lm_live *l, struct lm_sbinfo *sb)
{
	struct lm_meta m;
	char path[256], err[256];
	int r;

	r = dev_path(l->tbl.meta, path, sizeof(path));
	if (r)
		return r;
	r = meta_open(&m, path, META_RO, err, sizeof(err));
	if (r) {
		lm_err("%s: %s", l->name, err);
		return r;
	}
	if (!meta_load(&m) && meta_needs_upgrade(&m)) {
		meta_upgrade_advice(l->tbl.meta, err, sizeof(err));
		lm_err("%s: %s", l->name, err);
		meta_close(&m);
		return LM_EXIT_METADATA;
	}
	if (meta_load(&m) || m.best < 0) {
		lm_err("%s: metadata %s has no valid superblock (slot A: %s; slot B: %s)",
		       l->name, l->tbl.meta, m.why[0], m.why[1]);
		meta_close(&m);
		return LM_EXIT_METADATA;
	}
	*sb = m.sb[m.best];
	meta_close(&m);
	return 0;
}

int lm_meta_precheck(const char *meta_path, uint64_t src_sectors, uint64_t dst_sectors,
		     uint64_t region_sectors, const char *label, bool reuse)
{
	uint64_t nr = nr_regions_for(src_sectors, region_sectors);
	struct lm_sbinfo *sb;
	struct lm_meta m;
	char err[256];
	int r;

	r = meta_open(&m, meta_path, META_RO_EXCL, err, sizeof(err));
	if (r) {
		lm_err("%s", err);
		return r;
	}
	r = 0;
	if (m.size_bytes < meta_bytes_needed(nr)) {
		lm_err("metadata %s is too small: %" PRIu64 " bytes, %" PRIu64
		       " needed for %" PRIu64 " regions (see 'livemirror metadata measure')",
		       meta_path, m.size_bytes, meta_bytes_needed(nr), nr);
		r = LM_EXIT_ERROR;
		goto out;
	}
	if (meta_load(&m)) {
		lm_err("metadata %s: cannot read superblock: %s", meta_path, m.why[0]);
		r = LM_EXIT_ERROR;
		goto out;
	}
	if (meta_fresh(&m))
		goto out;
	if (meta_needs_upgrade(&m)) {
		meta_upgrade_advice(meta_path, err, sizeof(err));
		lm_err("%s", err);
		r = LM_EXIT_METADATA;
		goto out;
	}
	if (m.best < 0) {
		lm_err("metadata %s is damaged: slot A: %s; slot B: %s "
		       "(see 'livemirror metadata check/repair')", meta_path, m.why[0], m.why[1]);
		r = LM_EXIT_METADATA;
		goto out;
	}
	sb = &m.sb[m.best];
	if (reuse && (sb->state == LM_STATE_PREPARED || sb->state == LM_STATE_SWITCHED)) {
		lm_err("metadata %s is %s: --reuse-metadata would throw that decision away; "
		       "the kernel refuses it (see 'livemirror recover')", meta_path,
		       lm_state_name(sb->state));
		r = LM_EXIT_METADATA;
		goto out;
	}
	if (reuse)
		goto out;	/* the kernel reformats it: new uuid, every region dirty */
	if (sb->source_sectors != src_sectors || sb->dest_sectors != dst_sectors ||
	    sb->region_sectors != region_sectors || strcmp(sb->label, label ? label : "")) {
		lm_err("metadata %s belongs to other legs: it records source %" PRIu64
		       " sectors, destination %" PRIu64 " sectors, region %" PRIu64
		       " sectors, label '%s'; this table has %" PRIu64 ", %" PRIu64 ", %" PRIu64
		       ", '%s'", meta_path, sb->source_sectors, sb->dest_sectors,
		       sb->region_sectors, sb->label, src_sectors, dst_sectors, region_sectors,
		       label ? label : "");
		r = LM_EXIT_METADATA;
		goto out;
	}
	switch (sb->state) {
	case LM_STATE_CANCELLED:
		lm_err("metadata %s: migration was cancelled; repair metadata to restart "
		       "('livemirror metadata repair %s')", meta_path, meta_path);
		r = LM_EXIT_METADATA;
		break;
	case LM_STATE_PREPARED:
		lm_err("metadata %s: a group switch was interrupted; run 'livemirror recover' "
		       "with the metadata of every member first", meta_path);
		r = LM_EXIT_METADATA;
		break;
	case LM_STATE_SWITCHED:
		lm_warn("metadata %s records a completed switch: the device will use the "
			"destination only", meta_path);
		break;
	default:
		break;
	}
out:
	meta_close(&m);
	return r;
}

int lm_linear_table(struct lmdm_table *t, uint64_t len, const char *dev)
{
	char params[128];

	t->n = 0;
	t->t = NULL;
	snprintf(params, sizeof(params), "%s 0", dev);
	return lmdm_table_add(t, 0, len, "linear", params);
}

int lm_live_record(const char *name, const char *state, const struct lm_live *l)
{
	struct lm_record rec;

	memset(&rec, 0, sizeof(rec));
	snprintf(rec.state, sizeof(rec.state), "%s", state);
	snprintf(rec.source, sizeof(rec.source), "%s", l->tbl.source);
	snprintf(rec.dest, sizeof(rec.dest), "%s", l->tbl.dest);
	snprintf(rec.meta, sizeof(rec.meta), "%s", l->tbl.meta);
	snprintf(rec.hidden, sizeof(rec.hidden), "%s", l->hidden_name);
	rec.length = l->length;
	return lm_record_write(name, &rec);
}
