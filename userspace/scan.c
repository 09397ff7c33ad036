// SPDX-License-Identifier: GPL-2.0
/*
 * recover --scan: find livemirror metadata on this host's block devices by
 * its magic (blocks 0 and 1 of every device under /sys/class/block; those
 * that cannot be opened are skipped) and list each migration with the leg
 * its metadata names authoritative.  Read only, shared opens: a device in
 * a live table is read, never locked or written.
 *
 * lm_scan_each() (scan.h) is the search itself, for guard --scan too.
 *
 * Test hook (LM_TEST_HOOKS builds only): LIVEMIRROR_SCAN_DIR=DIR scans the
 * regular files in DIR instead of the block devices.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "exitcodes.h"
#include "meta.h"
#include "result.h"
#include "scan.h"
#include "util.h"

#define SCAN_SCHEMA 1

static const char *authority(const struct lm_meta *m)
{
	if (meta_needs_upgrade(m) || m->best < 0)
		return "unknown";
	switch (m->sb[m->best].state) {
	case LM_STATE_COPYING:
	case LM_STATE_CANCELLED:
		return "source";
	case LM_STATE_SWITCHED:
		return "destination";
	case LM_STATE_PREPARED:
		return "decided by coordinator";
	}
	return "unknown";
}

/* Either slot carries the livemirror magic (valid or not). */
static bool has_magic(const struct lm_meta *m)
{
	for (int i = 0; i < LM_SB_SLOTS; i++)
		if (m->status[i] != SLOT_ZERO && m->status[i] != SLOT_BAD_MAGIC &&
		    m->status[i] != SLOT_UNREADABLE)
			return true;
	return false;
}

static void print_one(const char *path, const struct lm_meta *m, bool json, int n)
{
	const struct lm_sbinfo *sb = m->best >= 0 ? &m->sb[m->best] :
				     m->old >= 0 ? &m->sb[m->old] : NULL;
	const char *state = m->best >= 0 ? lm_state_name(sb->state) :
			    m->old >= 0 ? "old-version" : "damaged";
	char u[33] = "", g[33] = "", c[33] = "";

	if (sb) {
		hex_encode(sb->uuid, LM_UUID_LEN, u);
		if (sb->group_members) {
			hex_encode(sb->group_uuid, LM_UUID_LEN, g);
			hex_encode(sb->coordinator_uuid, LM_UUID_LEN, c);
		}
	}
	if (json) {
		printf("%s{\"device\":", n ? "," : "");
		lm_json_str(stdout, path);
		printf(",\"uuid\":\"%s\",\"state\":\"%s\",\"label\":", u, state);
		lm_json_str(stdout, sb ? sb->label : "");
		printf(",\"device_id\":");
		lm_json_str(stdout, sb ? sb->device_id : "");
		printf(",\"source_id\":");
		lm_json_str(stdout, sb ? sb->source_id : "");
		printf(",\"dest_id\":");
		lm_json_str(stdout, sb ? sb->dest_id : "");
		if (g[0])
			printf(",\"group\":{\"uuid\":\"%s\",\"coordinator\":\"%s\",\"index\":%" PRIu32
			       ",\"members\":%" PRIu32 "}", g, c, sb->group_index, sb->group_members);
		else
			printf(",\"group\":null");
		printf(",\"authoritative\":\"%s\"}", !strcmp(authority(m), "decided by coordinator") ?
		       "decided_by_coordinator" : authority(m));
		return;
	}
	printf("%s: log %s state %s authoritative=\"%s\"\n", path, u[0] ? u : "-", state,
	       authority(m));
	if (sb)
		printf("    label %s, device id %s, source id %s, dest id %s\n",
		       sb->label[0] ? sb->label : "(none)",
		       sb->device_id[0] ? sb->device_id : "(unbound)",
		       sb->source_id[0] ? sb->source_id : "(unbound)",
		       sb->dest_id[0] ? sb->dest_id : "(unbound)");
	if (g[0])
		printf("    group %s, member %" PRIu32 " of %" PRIu32 ", coordinator log %s\n", g,
		       sb->group_index, sb->group_members, c);
	if (m->best < 0)
		printf("    %s\n", m->old >= 0 ? "format version 1: run 'livemirror metadata "
		       "repair --upgrade' on it" : "no valid superblock: see 'livemirror "
		       "metadata check'");
}

/* fn's result when path holds livemirror metadata, else 0. */
static int scan_one(const char *path, lm_scan_fn fn, void *ctx, bool *found)
{
	struct lm_meta m;
	char err[256];
	int r = 0;

	*found = false;
	if (meta_open(&m, path, META_RO, err, sizeof(err)))
		return 0;
	if (m.size_bytes >= 2 * LM_BLOCK_SIZE && !meta_load(&m) && has_magic(&m)) {
		*found = true;
		r = fn(path, &m, ctx);
	}
	meta_close(&m);
	return r;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int lm_scan_each(lm_scan_fn fn, void *ctx, int *nfound)
{
	const char *dir = "/sys/class/block", *prefix = "/dev";
	struct dirent **ents;
	char path[512];
	int n, r = 0;

	*nfound = 0;
#ifdef LM_TEST_HOOKS
	if (getenv("LIVEMIRROR_SCAN_DIR") && *getenv("LIVEMIRROR_SCAN_DIR"))
		dir = prefix = getenv("LIVEMIRROR_SCAN_DIR");
#endif
	n = scandir(dir, &ents, NULL, by_name);
	if (n < 0) {
		lm_err("cannot list %s", dir);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		bool found;

		if (!r && ents[i]->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", prefix, ents[i]->d_name);
			r = scan_one(path, fn, ctx, &found);
			*nfound += found;
		}
		free(ents[i]);
	}
	free(ents);
	return r;
}

struct list_ctx {
	bool json;
	int n;
};

static int list_one(const char *path, const struct lm_meta *m, void *ctx)
{
	struct list_ctx *c = ctx;

	print_one(path, m, c->json, c->n++);
	return 0;
}

int cmd_recover_scan(struct lm_args *a)
{
	struct list_ctx c = { a->json, 0 };
	int found;

	if (a->json)
		printf("{\"schema\":%d,\"metadata\":[", SCAN_SCHEMA);
	if (lm_scan_each(list_one, &c, &found) < 0) {
		if (a->json)
			printf("]}\n");
		return LM_EXIT_ERROR;
	}
	if (a->json)
		printf("]}\n");
	else if (!found)
		printf("no livemirror metadata found\n");
	return LM_EXIT_OK;
}
