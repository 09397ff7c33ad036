// SPDX-License-Identifier: GPL-2.0
/*
 * recover decisions on metadata files: every state, interrupted group
 * switches before and after the commit point, the coordinator missing.
 * libdevmapper is stubbed: recover only needs it for --name.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>

#include "args.h"
#include "cmds.h"
#include "dm.h"
#include "exitcodes.h"
#include "guard.h"
#include "meta.h"
#include "util.h"
#include "tap.h"

/* --- stubs ----------------------------------------------------------- */
const char *lmdm_last_error(void) { return "stub"; }
int lmdm_table_add(struct lmdm_table *t, uint64_t s, uint64_t l, const char *ty,
		   const char *p)
{
	(void)t; (void)s; (void)l; (void)ty; (void)p;
	return 0;
}
void lmdm_table_free(struct lmdm_table *t) { (void)t; }
/* lvmfence.c's swap: never reached here (no LVM in these tests) */
int lmdm_load(const char *n, const struct lmdm_table *t) { (void)n; (void)t; return -1; }
int lmdm_clear(const char *n) { (void)n; return -1; }
int lmdm_suspend(const char *n) { (void)n; return -1; }
int lmdm_resume(const char *n) { (void)n; return -1; }
void lm_crit_save(struct lm_crit_saved *s) { (void)s; }
void lm_crit_enter(void) {}
void lm_crit_restore(const struct lm_crit_saved *s) { (void)s; }
uint64_t lmdm_table_length(const struct lmdm_table *t) { (void)t; return 0; }
int lmdm_info(const char *n, struct lm_dminfo *i)
{
	(void)n;
	memset(i, 0, sizeof(*i));
	return 0;
}
int lmdm_get_table(const char *n, bool st, struct lmdm_table *t)
{
	(void)n; (void)st; (void)t;
	return -1;
}
/* Every device is a dm device with uuid "U<major>-<minor>" (the ids checks). */
int lmdm_info_devno(uint32_t major, uint32_t minor, struct lm_dminfo *i)
{
	memset(i, 0, sizeof(*i));
	i->exists = true;
	snprintf(i->uuid, sizeof(i->uuid), "U%u-%u", major, minor);
	return 0;
}
int lmdm_create(const char *n, const char *u, const struct lmdm_table *t,
		struct lm_dminfo *o)
{
	(void)n; (void)u; (void)t; (void)o;
	return -1;
}

static char paths[3][96];

/*
 * As the kernel writes it: a group's members keep the group fields in
 * PREPARED, SWITCHED and CANCELLED; prepare leaves the bitmap clean.  The
 * knobs below craft the other cases.
 */
static char scan_dir[40] = "/tmp";
static uint8_t group_byte = 0xee;	/* 0: the group uuid zeroed */
static uint64_t dirty_regions;		/* regions left dirty in the bitmap */
static const char *src_id = "", *dst_id = "";	/* stored leg ids */

static void make_meta(int i, uint32_t state, int coord, int members)
{
	uint8_t blk[LM_BLOCK_SIZE];
	struct lm_sbinfo sb;
	struct lm_meta m;
	char err[256];
	int fd;

	snprintf(paths[i], sizeof(paths[i]), "%s/lm-recover-test-%d.XXXXXX", scan_dir, i);
	fd = mkstemp(paths[i]);
	if (fd < 0 || ftruncate(fd, 1 << 16))
		abort();
	close(fd);
	memset(&sb, 0, sizeof(sb));
	memset(sb.uuid, 0x10 * (i + 1), LM_UUID_LEN);
	sb.state = state;
	sb.region_sectors = 8;
	sb.source_sectors = 800;
	sb.dest_sectors = 800;
	sb.nr_regions = 100;
	sb.bitmap_start = LM_BITMAP_START;
	sb.bitmap_blocks = 1;
	sb.nr_bitmaps = 1;
	snprintf(sb.source_id, LM_ID_LEN, "%s", src_id);
	snprintf(sb.dest_id, LM_ID_LEN, "%s", dst_id);
	if (members) {
		memset(sb.group_uuid, group_byte, LM_UUID_LEN);
		memset(sb.coordinator_uuid, 0x10 * (coord + 1), LM_UUID_LEN);
		sb.group_members = (uint32_t)members;
		sb.group_index = (uint32_t)i;
	}
	if (meta_open(&m, paths[i], META_RW_EXCL, err, sizeof(err)))
		abort();
	meta_load(&m);
	if (meta_format(&m, &sb))
		abort();
	bm_encode(blk, 0, sb.uuid, sb.nr_regions, false);
	for (uint64_t r = 0; r < dirty_regions; r++)
		blk[LM_BITMAP_HEADER_SIZE + r / 8] |= (uint8_t)(1u << (r % 8));
	{
		uint32_t c = htole32(block_csum(blk));

		memcpy(blk, &c, 4);
	}
	if (meta_write_block(&m, LM_BITMAP_START, blk))
		abort();
	meta_close(&m);
}

static uint32_t state_of(int i)
{
	struct lm_meta m;
	char err[256];
	uint32_t s;

	if (meta_open(&m, paths[i], META_RO, err, sizeof(err)) || meta_load(&m) || m.best < 0)
		return 999;
	s = m.sb[m.best].state;
	meta_close(&m);
	return s;
}

static char out[8192];

static int recover(const char *extra, int n)
{
	char line[512], *argv[32], cap[] = "/tmp/lm-recover-out.XXXXXX";
	const struct lm_cmd *c;
	struct lm_args a;
	int argc = 0, used, rc, fd, saved;
	char why[256];
	ssize_t len;

	snprintf(line, sizeof(line), "recover %s", extra);
	for (int i = 0; i < n; i++) {
		strcat(line, " --meta ");
		strcat(line, paths[i]);
	}
	for (char *t = strtok(line, " "); t; t = strtok(NULL, " "))
		argv[argc++] = t;
	c = lm_find_cmd(argc, argv, &used);
	if (!c || lm_parse(c, argc - used, argv + used, &a, why, sizeof(why)))
		return -2;
	fd = mkstemp(cap);
	fflush(stdout);
	saved = dup(1);
	dup2(fd, 1);
	rc = a.scan ? cmd_recover_scan(&a) : cmd_recover(&a);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	len = pread(fd, out, sizeof(out) - 1, 0);
	out[len > 0 ? len : 0] = 0;
	close(fd);
	unlink(cap);
	return rc;
}

static int count(const char *needle)
{
	int n = 0;

	for (const char *p = out; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void cleanup(int n)
{
	for (int i = 0; i < n; i++)
		unlink(paths[i]);
}

int main(void)
{
	static const struct { uint32_t st; const char *leg; } single[] = {
		{ LM_STATE_COPYING, "source" }, { LM_STATE_SWITCHED, "dest" },
		{ LM_STATE_CANCELLED, "source" },
	};

	for (size_t k = 0; k < 3; k++) {
		char want[64];

		make_meta(0, single[k].st, 0, 0);
		is_int(recover("", 1), 0, "%s: exit 0", lm_state_name(single[k].st));
		snprintf(want, sizeof(want), "authoritative=%s", single[k].leg);
		ok(strstr(out, want), "%s -> %s", lm_state_name(single[k].st), single[k].leg);
		cleanup(1);
	}

	/* Crash after prepare on all, before the commit: all roll back. */
	make_meta(0, LM_STATE_PREPARED, 0, 3);
	make_meta(1, LM_STATE_PREPARED, 0, 3);
	make_meta(2, LM_STATE_PREPARED, 0, 3);
	is_int(recover("", 3), 0, "prepared group, no commit: exit 0");
	is_int(count("authoritative=source"), 3, "every member -> source");
	ok(state_of(0) == LM_STATE_COPYING && state_of(1) == LM_STATE_COPYING &&
	   state_of(2) == LM_STATE_COPYING, "every member rolled back to copying");
	is_int(recover("", 3), 0, "second recover: exit 0");
	is_int(count("authoritative=source"), 3, "second recover agrees");
	cleanup(3);

	/* Crash after the commit, before the other members switched. */
	make_meta(0, LM_STATE_SWITCHED, 0, 3);
	make_meta(1, LM_STATE_SWITCHED, 0, 3);
	make_meta(2, LM_STATE_PREPARED, 0, 3);
	is_int(recover("--json", 3), 0, "committed group: exit 0");
	is_int(count("\"authoritative\":\"dest\""), 3, "every member -> dest: %s", out);
	is_int(state_of(2), LM_STATE_SWITCHED, "prepared member finished to switched");
	cleanup(3);

	/* Partly prepared (crash between prepares): coordinator prepared. */
	make_meta(0, LM_STATE_PREPARED, 0, 3);
	make_meta(1, LM_STATE_PREPARED, 0, 3);
	make_meta(2, LM_STATE_COPYING, 0, 0);
	is_int(recover("", 3), 0, "partly prepared: exit 0");
	is_int(count("authoritative=source"), 3, "every member -> source");
	cleanup(3);

	/* The coordinator's metadata is missing. */
	make_meta(0, LM_STATE_SWITCHED, 0, 3);
	make_meta(1, LM_STATE_PREPARED, 0, 3);
	{
		char keep[96];

		strcpy(keep, paths[0]);
		strcpy(paths[0], paths[1]);
		is_int(recover("", 1), LM_EXIT_NOT_FOUND, "coordinator missing: exit 5");
		ok(strstr(out, "authoritative=unknown"), "leg unknown without the coordinator");
		is_int(state_of(0), LM_STATE_PREPARED, "nothing written");
		strcpy(paths[0], keep);
	}
	cleanup(2);

	/*
	 * Issue 14 item 3.  A coordinator that switched alone (or in another
	 * attempt: group uuid zero or different) did not commit this group.
	 */
	/* coordinator 0: SWITCHED with its group uuid zeroed (switched alone) */
	group_byte = 0;
	make_meta(0, LM_STATE_SWITCHED, 0, 3);
	group_byte = 0xee;
	make_meta(1, LM_STATE_PREPARED, 0, 3);
	is_int(recover("", 2), 0, "coordinator switched without the group: exit 0");
	ok(strstr(out, "authoritative=source") && count("authoritative=dest") == 1,
	   "the member whose group never committed -> source: %s", out);
	is_int(state_of(1), LM_STATE_COPYING, "that member rolled back");
	cleanup(2);
	/* another group's uuid */
	group_byte = 0x77;
	make_meta(0, LM_STATE_SWITCHED, 0, 3);
	group_byte = 0xee;
	make_meta(1, LM_STATE_PREPARED, 0, 3);
	is_int(recover("", 2), 0, "coordinator switched in another group: exit 0");
	is_int(state_of(1), LM_STATE_COPYING, "member of the other attempt rolled back");
	cleanup(2);

	/* A PREPARED member that ran after the prepare (dirty bits): needs resync. */
	make_meta(0, LM_STATE_SWITCHED, 0, 2);
	dirty_regions = 5;
	make_meta(1, LM_STATE_PREPARED, 0, 2);
	dirty_regions = 0;
	is_int(recover("", 2), LM_EXIT_NEEDS_RESYNC, "dirty prepared member: exit %d",
	       LM_EXIT_NEEDS_RESYNC);
	ok(strstr(out, "authoritative=needs-resync") && !strstr(out, "state=prepared "
	   "authoritative=dest"), "dirty member: needs resync, never dest: %s", out);
	is_int(state_of(1), LM_STATE_PREPARED, "dirty member: nothing written");
	is_int(recover("--json", 2), LM_EXIT_NEEDS_RESYNC, "json: same exit");
	ok(strstr(out, "\"authoritative\":\"needs_resync\"") &&
	   strstr(out, "\"outcome\":\"needs_resync\"") && strstr(out, "\"dirty\":5"),
	   "json: needs_resync outcome: %s", out);
	cleanup(2);

	/* The coordinator is lost for good: --coordinator-lost. */
	make_meta(0, LM_STATE_SWITCHED, 0, 2);
	make_meta(1, LM_STATE_PREPARED, 0, 2);
	{
		char keep[96];

		strcpy(keep, paths[0]);
		strcpy(paths[0], paths[1]);
		is_int(recover("--coordinator-lost=source", 1), 0,
		       "--coordinator-lost=source: exit 0");
		ok(strstr(out, "authoritative=source") != NULL, "lost -> source: %s", out);
		is_int(state_of(0), LM_STATE_COPYING, "lost -> source: rolled back to copying");
		strcpy(paths[0], keep);
	}
	cleanup(2);
	make_meta(0, LM_STATE_SWITCHED, 0, 2);
	make_meta(1, LM_STATE_PREPARED, 0, 2);
	{
		char keep[96];

		strcpy(keep, paths[0]);
		strcpy(paths[0], paths[1]);
		is_int(recover("--coordinator-lost=destination", 1), 0,
		       "--coordinator-lost=destination, clean bitmap: exit 0");
		ok(strstr(out, "authoritative=dest") != NULL, "lost -> dest: %s", out);
		is_int(state_of(0), LM_STATE_SWITCHED, "lost -> dest: finished to switched");
		strcpy(paths[0], keep);
	}
	cleanup(2);
	make_meta(0, LM_STATE_SWITCHED, 0, 2);
	dirty_regions = 1;
	make_meta(1, LM_STATE_PREPARED, 0, 2);
	dirty_regions = 0;
	{
		char keep[96];

		strcpy(keep, paths[0]);
		strcpy(paths[0], paths[1]);
		is_int(recover("--coordinator-lost=destination", 1), LM_EXIT_NEEDS_RESYNC,
		       "--coordinator-lost=destination refused with a dirty bitmap");
		is_int(state_of(0), LM_STATE_PREPARED, "dirty: nothing written");
		strcpy(paths[0], keep);
	}
	cleanup(2);

	/* recover --scan over a directory of images (the test hook). */
	strcpy(scan_dir, "/tmp/lm-scan-XXXXXX");
	if (!mkdtemp(scan_dir))
		abort();
	setenv("LIVEMIRROR_SCAN_DIR", scan_dir, 1);
	is_int(recover("--scan", 0), 0, "scan of an empty directory: exit 0");
	ok(strstr(out, "no livemirror metadata found") != NULL, "nothing found: %s", out);
	make_meta(0, LM_STATE_SWITCHED, 0, 2);
	make_meta(1, LM_STATE_PREPARED, 0, 2);
	make_meta(2, LM_STATE_COPYING, 0, 0);
	{
		char junk[80];
		int fd;

		snprintf(junk, sizeof(junk), "%s/junk", scan_dir);
		fd = open(junk, O_RDWR | O_CREAT, 0600);
		if (fd < 0 || write(fd, "not metadata at all", 19) != 19 ||
		    ftruncate(fd, 1 << 16))
			abort();
		close(fd);
		snprintf(junk, sizeof(junk), "%s/unreadable", scan_dir);
		fd = open(junk, O_RDWR | O_CREAT, 0000);
		close(fd);
	}
	is_int(recover("--scan", 0), 0, "scan: exit 0");
	is_int(count("authoritative="), 3, "three migrations listed, junk skipped: %s", out);
	ok(strstr(out, "state switched authoritative=\"destination\"") &&
	   strstr(out, "state prepared authoritative=\"decided by coordinator\"") &&
	   strstr(out, "state copying authoritative=\"source\"") &&
	   strstr(out, "group eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee, member 1 of 2, coordinator log "
		  "10101010101010101010101010101010"), "states, legs and group: %s", out);
	is_int(recover("--scan --json", 0), 0, "scan --json: exit 0");
	ok(strstr(out, "{\"schema\":1,\"metadata\":[{\"device\":") == out &&
	   strstr(out, "\"authoritative\":\"decided_by_coordinator\"") &&
	   strstr(out, "\"group\":null") && strstr(out, "\"index\":1,\"members\":2") &&
	   strstr(out, "\"source_id\":\"\""), "json: %s", out);
	is_int(recover("--scan --meta x", 0), -2, "--scan takes no --meta");
	unsetenv("LIVEMIRROR_SCAN_DIR");
	cleanup(3);
	{
		char cmd[80];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", scan_dir);
		if (system(cmd))
			abort();
	}
	strcpy(scan_dir, "/tmp");

	/* Table printing with --source/--dest (paths must be block devices:
	 * a regular file is refused). */
	make_meta(0, LM_STATE_SWITCHED, 0, 0);
	ok(recover("--source /nonexistent --dest /nonexistent", 1) != 0,
	   "unknown legs are refused");
	cleanup(1);

	/* Review M8: the given legs must be the ones the metadata is bound to. */
	src_id = "dm:U7-0";
	dst_id = "dm:U7-1";
	make_meta(0, LM_STATE_SWITCHED, 0, 0);
	src_id = dst_id = "";
	is_int(recover("--source 7:0 --dest 7:1 --print-table", 1), 0, "the bound legs: exit 0");
	ok(strstr(out, "linear 7:1 0") != NULL, "table on the destination: %s", out);
	is_int(recover("--source 7:1 --dest 7:0 --print-table", 1), LM_EXIT_METADATA,
	       "swapped legs refused (exit 6)");
	ok(!strstr(out, "linear"), "no table printed for swapped legs: %s", out);
	is_int(recover("--source 7:0 --dest 7:5 --print-table", 1), LM_EXIT_METADATA,
	       "another destination refused (exit 6)");
	cleanup(1);
	return tap_done();
}
