// SPDX-License-Identifier: GPL-2.0
/*
 * livemirror guard DEV (issue 16 item 3): exit 0 when DEV is safe to use,
 * 15 when DEV is, or maps, a leg that livemirror calls stale: the source of
 * a switched migration, the destination of a cancelled one.  From the
 * state records (with the legs' footprints: another LV on the same PV is
 * not stale), and with --scan from the metadata alone (after a reboot).
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exitcodes.h"
#include "guard.h"
#include "meta.h"
#include "fakedm.h"
#include "tap.h"
#include "harness.h"

static int guard(const char *dev)
{
	return LM(NULL, "guard", dev);
}

static int guard_scan(const char *dev)
{
	char env[128];

	snprintf(env, sizeof(env), "LIVEMIRROR_SCAN_DIR=%s", dir);
	return LM(env, "guard", dev, "--scan");
}

/* Put dev's table on ref at offset off (what an LVM reactivation does). */
static void repoint(const char *dev, const char *ref, unsigned int off)
{
	struct fk_dev *v = fk_dev_by_name(dev);

	snprintf(v->live.t[0].params, sizeof(v->live.t[0].params), "%s %u", ref, off);
	snprintf(v->live.t[0].type, sizeof(v->live.t[0].type), "linear");
}

static void test_switched(void)
{
	char ref[32];

	setup(1, false);
	is_int(start_one(0, NULL), 0, "start");
	is_int(guard(vm[0]), 0, "migrating: the device is safe");
	is_int(guard(src[0]), 0, "migrating: the source is safe");
	fk_set_synced(meta[0], true);
	is_int(LM(NULL, "switch", vm[0]), 0, "switch");
	is_int(guard(vm[0]), 0, "switched: the device (on its destination) is safe");
	ok(strstr(out, "safe"), "says so: %s", out);
	is_int(guard(dst[0]), 0, "switched: the destination is safe");
	is_int(guard(src[0]), LM_EXIT_STALE, "switched: the old source is stale (exit 15)");
	ok(strstr(err, "livemirror migration 'vm0'") && strstr(err, "stale source") &&
	   strstr(err, dst[0]), "names livemirror, the migration and where the data is: %s", err);

	fk_create_linear("other", "UUID-other", SECTORS, fk_ref(src[0], ref, sizeof(ref)));
	is_int(guard("other"), LM_EXIT_STALE, "a device over the old source is stale");
	fk_add_disk("/dev/fk/spare", SECTORS, false);
	fk_create_linear("spare", "UUID-spare", SECTORS, fk_ref("/dev/fk/spare", ref, sizeof(ref)));
	is_int(guard("spare"), 0, "an unrelated device is safe");
	is_int(guard("/dev/mapper/spare"), 0, "named by its /dev/mapper path too");

	/* LVM activating the LV again from its old metadata */
	repoint(vm[0], fk_ref(src[0], ref, sizeof(ref)), 0);
	is_int(guard(vm[0]), LM_EXIT_STALE, "the device reloaded over its old source is stale");

	is_int(LM(NULL, "guard", src[0], "--json"), LM_EXIT_STALE, "--json: exit 15");
	ok(strstr(out, "\"schema\":1") && strstr(out, "\"command\":\"guard\"") &&
	   strstr(out, "\"safe\":false") && strstr(out, "\"migration\":\"vm0\"") &&
	   strstr(out, "\"state\":\"switched\"") && strstr(out, "\"leg\":\"source\"") &&
	   strstr(out, "\"found_by\":\"record\"") && strstr(out, "\"name\":\"stale\""),
	   "--json: the stale leg, its migration, how it was found: %s", out);
	is_int(LM(NULL, "guard", "spare", "--json"), 0, "--json of a safe device: exit 0");
	ok(strstr(out, "\"safe\":true") && strstr(out, "\"stale\":[]") &&
	   strstr(out, "\"error\":null"), "--json: safe, nothing stale: %s", out);

	/* metadata that moved on (reformatted for a new migration) supersedes the record */
	fk_set_meta_state(meta[0], LM_STATE_COPYING);
	is_int(guard(src[0]), 0, "a record whose metadata is no longer SWITCHED is superseded");
}

/* Two LVs on one PV: only the moved one's extents are stale. */
static void test_extents(void)
{
	char pv[32], p[128];

	setup(1, false);
	fk_add_disk("/dev/fk/pv", 4096, false);
	fk_ref("/dev/fk/pv", pv, sizeof(pv));
	fk_create_linear("vg-a", "LVM-vguuidlva", 1024, pv);
	fk_create_linear("vg-b", "LVM-vguuidlvb", 1024, pv);
	repoint("vg-b", pv, 1024);
	is_int(LM(NULL, "start", "vg-a", "--meta", meta[0], "--dest", dst[0], "--force"), 0,
	       "start the LV vg-a");
	fk_set_synced(meta[0], true);
	is_int(LM(NULL, "switch", "vg-a"), 0, "switch vg-a");
	is_int(guard("vg-b"), 0, "another LV on the same PV, other extents: safe");
	is_int(guard("/dev/fk/pv"), LM_EXIT_STALE, "the PV itself holds the stale extents");
	fk_create_linear("vg-c", "LVM-vguuidlvc", 1024, pv);
	repoint("vg-c", pv, 512);
	is_int(guard("vg-c"), LM_EXIT_STALE, "an LV over half of the old extents: stale");
	snprintf(p, sizeof(p), "%s/vg-a.state", dir);
	ok(access(p, R_OK) == 0, "the state record is where livemirror(8) says");
}

static void test_cancelled(void)
{
	setup(1, false);
	is_int(start_one(0, NULL), 0, "start");
	is_int(LM(NULL, "cancel", vm[0]), 0, "cancel");
	is_int(guard(dst[0]), LM_EXIT_STALE, "cancelled: the destination is stale");
	ok(strstr(err, "livemirror migration 'vm0'") && strstr(err, "cancelled"),
	   "names the migration and that it was cancelled: %s", err);
	is_int(guard(vm[0]), 0, "cancelled: the device (back on its source) is safe");
	is_int(guard(src[0]), 0, "cancelled: the source is safe");
}

/* A livemirror table serves one leg: the source until the switch, then the destination. */
static void test_livemirror_leg(void)
{
	setup(2, false);
	is_int(start_one(0, NULL), 0, "start vm0");
	is_int(LM(NULL, "cancel", vm[0]), 0, "cancel vm0: its destination is stale");
	is_int(LM(NULL, "start", vm[1], "--meta", meta[1], "--dest", dst[0], "--force"), 0,
	       "start vm1 onto vm0's cancelled destination");
	is_int(guard(vm[1]), 0, "vm1, migrating onto it, serves its source: safe");
	is_int(guard(dst[0]), LM_EXIT_STALE, "the cancelled destination itself is still not for use");

	setup_synced(1, false);
	is_int(LM("LIVEMIRROR_FAIL_AT=load-0", "switch", vm[0]), LM_EXIT_INCOMPLETE,
	       "a switch committed, its destination-only table not loaded (exit 9)");
	is_int(guard(vm[0]), 0, "the switched livemirror table serves the destination: safe");
	is_int(guard(src[0]), LM_EXIT_STALE, "the source of the committed switch is stale");
}

/* An interrupted group switch: only recover knows which leg holds. */
static void test_prepared(void)
{
	setup_synced(2, false);
	is_int(LM("LIVEMIRROR_CRASH_AT=after-prepare-1", "switch", vm[0], vm[1]), LM_EXIT_CRASH,
	       "group switch killed after both prepares");
	is_int(guard(src[1]), LM_EXIT_STALE, "a PREPARED member's source is not called safe");
	ok(strstr(err, "prepared") && strstr(err, "livemirror recover"),
	   "says the group switch is prepared and recover decides: %s", err);
}

/* After a reboot: no records, only the metadata. */
static void test_scan(void)
{
	char s[32], d[32], p[128];

	setup(1, false);
	make_bound_meta(0, "dm:UUID-vm0", "dm:UUID-old", "dm:UUID-new");
	fk_set_meta_state(meta[0], LM_STATE_SWITCHED);
	fk_create_linear("old", "UUID-old", SECTORS, fk_ref(src[0], s, sizeof(s)));
	fk_create_linear("new", "UUID-new", SECTORS, fk_ref(dst[0], d, sizeof(d)));
	snprintf(p, sizeof(p), "%s/vm0.state", dir);
	unlink(p);
	is_int(guard("old"), 0, "no record: without --scan nothing is known");
	is_int(guard_scan("old"), LM_EXIT_STALE, "--scan: the switched source is stale");
	ok(strstr(err, "metadata") && strstr(err, meta[0]), "names the metadata: %s", err);
	is_int(guard_scan("vm0"), LM_EXIT_STALE,
	       "--scan: the migrated device activated off its destination is stale");
	repoint(vm[0], fk_ref("new", d, sizeof(d)), 0);
	is_int(guard_scan("vm0"), 0, "--scan: the migrated device over its destination is safe");
	is_int(guard_scan("new"), 0, "--scan: the destination is safe");

	fk_set_meta_state(meta[0], LM_STATE_CANCELLED);
	is_int(guard_scan("new"), LM_EXIT_STALE, "--scan: a cancelled destination is stale");
	is_int(guard_scan("old"), 0, "--scan: a cancelled migration's source is safe");
	{
		char env[128];

		snprintf(env, sizeof(env), "LIVEMIRROR_SCAN_DIR=%s", dir);
		is_int(LM(env, "guard", "new", "--scan", "--json"), LM_EXIT_STALE, "--scan --json");
		ok(strstr(out, "\"found_by\":\"scan\"") && strstr(out, "\"migration\":null") &&
		   strstr(out, "\"leg\":\"dest\"") && strstr(out, "\"scanned\":true"),
		   "--json: found by the scan: %s", out);
	}
}

static void test_errors(void)
{
	setup(1, false);
	is_int(guard("nosuchdev"), LM_EXIT_NOT_FOUND, "an unknown device: exit 5");
	is_int(LM(NULL, "guard", "nosuchdev", "--json"), LM_EXIT_NOT_FOUND, "--json: exit 5");
	ok(strstr(out, "\"exit\":5") && strstr(out, "\"name\":\"not_found\""),
	   "--json error: %s", out);
	is_int(LM(NULL, "guard"), LM_EXIT_USAGE, "no DEV: usage");
}

static bool sigint_blocked(void)
{
	sigset_t cur;

	sigprocmask(SIG_BLOCK, NULL, &cur);
	return sigismember(&cur, SIGINT);
}

/* VmLck of /proc/self/status, in kB (-1 unknown) */
static long locked_kb(void)
{
	char line[128];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmLck: %ld", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

/* The fence's unstack suspends inside a section of its own (lm_crit_save) */
static void test_crit_nesting(void)
{
	struct lm_crit_saved s;
	bool can_lock;

	lm_crit_save(&s);
	lm_crit_enter();
	ok(sigint_blocked(), "a section from outside one blocks signals");
	can_lock = locked_kb() > 0;
	lm_crit_restore(&s);
	ok(!sigint_blocked() && locked_kb() <= 0, "restore leaves it: signals and memory as before");

	lm_crit_enter();
	lm_crit_unlock_mem();
	lm_crit_save(&s);
	lm_crit_enter();
	ok(!can_lock || locked_kb() > 0, "inside a command's section: memory locked again (%ld kB)",
	   locked_kb());
	lm_crit_restore(&s);
	ok(sigint_blocked() && locked_kb() <= 0,
	   "restore keeps the command's section (signals blocked), memory as it had it");
	lm_crit_leave();
	ok(!sigint_blocked(), "and the command's own leave ends it");
}

int main(void)
{
	hs_begin("guard");

	test_crit_nesting();

	test_switched();
	test_extents();
	test_cancelled();
	test_livemirror_leg();
	test_prepared();
	test_scan();
	test_errors();

	hs_end();
	return tap_done();
}
