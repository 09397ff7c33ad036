// SPDX-License-Identifier: GPL-2.0
/*
 * The helper's state machines against a fake device-mapper (fakedm.c):
 * start, switch (one device and a group), cancel and recover --live, run
 * as the real CLI in forked children.  Covers every LIVEMIRROR_FAIL_AT and
 * LIVEMIRROR_CRASH_AT step (found by tracing a run), failures the fake
 * injects into the dm calls themselves, and a step-by-step replay of the
 * cancel/switch interleaving of review finding H1.  After every scenario
 * the invariant of the switch protocol is checked: nothing is left
 * suspended, and the live table is on the destination exactly when the
 * metadata says SWITCHED.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "exitcodes.h"
#include "meta.h"
#include "table.h"
#include "fakedm.h"
#include "tap.h"

#include "harness.h"

/* ---- H1: cancel racing switch, replayed --------------------------------- */

static void test_h1_replay(void)
{
	pid_t a, b;
	int ra, rb;
	bool a_paused;

	setup_synced(1, false);
	/* B (cancel) reads the state and is about to load the source-only table. */
	b = lm_bg_v(1, "FAKEDM_PAUSE=reload:vm0", (const char *const[]){ "cancel", vm[0], NULL });
	ok(wait_paused(1, b, 5), "H1 replay: cancel parked before its load");
	/* A (switch) commits and loads the destination-only table, parks before resume. */
	a = lm_bg_v(2, "FAKEDM_PAUSE=resume:vm0", (const char *const[]){ "switch", vm[0], NULL });
	a_paused = wait_paused(2, a, 1);
	/* B's load overwrites A's inactive table, B resumes; then A resumes. */
	fk_release(1);
	rb = lm_wait(1, b);
	printf("# cancel exit %d: %s", rb, err);
	fk_release(2);
	ra = lm_wait(2, a);
	printf("# switch exit %d (parked before resume: %d): %s", ra, a_paused, err);
	check_invariant("H1 replay cancel-load between switch-load and switch-resume", 1);
	ok(!(ra == 0 && fk_meta_state(meta[0]) == LM_STATE_SWITCHED && leg_of(0) != 'd'),
	   "H1 replay: switch does not exit 0 with the source live over SWITCHED metadata");
}


/* The other order: switch holds the lock, cancel must wait and then refuse. */
static void test_h1_replay_other_order(void)
{
	pid_t a, b;
	int ra, rb;

	setup_synced(1, false);
	a = lm_bg_v(1, "FAKEDM_PAUSE=resume:vm0", (const char *const[]){ "switch", vm[0], NULL });
	ok(wait_paused(1, a, 5), "switch parked before its resume");
	b = lm_bg_v(2, NULL, (const char *const[]){ "cancel", vm[0], "--json", NULL });
	usleep(50000);
	fk_release(1);
	ra = lm_wait(1, a);
	rb = lm_wait(2, b);
	is_int(ra, 0, "switch holding the lock finishes");
	is_int(rb, LM_EXIT_SWITCHED, "the cancel that waited for the lock is refused: switched");
	ok(strstr(out, "\"outcome\":\"refused\"") && strstr(out, "\"authoritative\":\"dest\""),
	   "cancel --json: refused, destination authoritative");
	check_invariant("switch then cancel", 1);
}

/* Unscripted: switch and cancel started together, many times. */
static void test_race_loop(int rounds)
{
	int bad = 0, dwins = 0, swins = 0;

	for (int i = 0; i < rounds; i++) {
		pid_t a, b;
		int ra, rb;
		char l;

		setup_synced(1, false);
		if (i % 2) {
			a = lm_bg_v(1, NULL, (const char *const[]){ "switch", vm[0], NULL });
			b = lm_bg_v(2, NULL, (const char *const[]){ "cancel", vm[0], NULL });
		} else {
			b = lm_bg_v(2, NULL, (const char *const[]){ "cancel", vm[0], NULL });
			a = lm_bg_v(1, NULL, (const char *const[]){ "switch", vm[0], NULL });
		}
		ra = lm_wait(1, a);
		rb = lm_wait(2, b);
		l = leg_of(0);
		if (!consistent(0) || !nothing_suspended() ||
		    (l == 'd' ? ra != 0 || rb != LM_EXIT_SWITCHED : ra == 0 || rb != 0)) {
			bad++;
			printf("# round %d: leg %c state %u switch %d cancel %d\n", i, l,
			       fk_meta_state(meta[0]), ra, rb);
		}
		if (l == 'd')
			dwins++;
		else
			swins++;
	}
	is_int(bad, 0, "%d parallel switch/cancel rounds (switch won %d, cancel won %d): one "
	       "winner, table on the destination exactly when SWITCHED", rounds, dwins, swins);
}

/* A switch recorded behind the helper's back (no lock): cancel must re-read. */
static void test_cancel_rechecks(void)
{
	pid_t b;
	int rb;

	setup_synced(1, false);
	b = lm_bg_v(1, "FAKEDM_PAUSE=message:vm0", (const char *const[]){ "cancel", vm[0], NULL });
	ok(wait_paused(1, b, 5), "cancel parked before its cancel message");
	fk_set_meta_state(meta[0], LM_STATE_SWITCHED);
	fk_release(1);
	rb = lm_wait(1, b);
	is_int(rb, LM_EXIT_SWITCHED, "cancel whose message is refused as switched exits 10");
	check_invariant("cancel refused by the kernel", 1);
}

static int hold_lock(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT, 0600);

	if (fd < 0 || flock(fd, LOCK_EX))
		abort();
	return fd;
}

static void test_locks(void)
{
	char p[256], env[320];
	int fd, r;

	setup_synced(1, false);
	snprintf(p, sizeof(p), "%s/vm0.lock", dir);
	fd = hold_lock(p);
	r = LM(NULL, "switch", vm[0], "--lock-timeout", "0.1", "--json");
	is_int(r, LM_EXIT_LOCKED, "switch while the migration is locked: exit 11");
	ok(strstr(out, "\"name\":\"locked\"") && strstr(out, "\"changed\":false"),
	   "switch --json: error locked, nothing changed");
	r = LM(NULL, "cancel", vm[0], "--lock-timeout", "0");
	is_int(r, LM_EXIT_LOCKED, "cancel while locked: exit 11");
	r = LM(NULL, "pause", vm[0], "--lock-timeout", "0");
	is_int(r, LM_EXIT_LOCKED, "pause while locked: exit 11");
	close(fd);
	check_invariant("locked out", 1);

	/* LVM: the VG lock is held across suspend/load/resume, and honoured. */
	setup(1, true);
	snprintf(env, sizeof(env), "LIVEMIRROR_LVM_LOCKDIR=%s", fk->vg_lock_dir);
	r = LM(env, "start", vm[0], "--meta", meta[0], "--dest", dst[0], "--force");
	is_int(r, 0, "start of an LV");
	fk_set_synced(meta[0], true);
	r = LM(env, "switch", vm[0]);
	is_int(r, 0, "switch of an LV");
	is_int(fk->vg_lock_missing, 0, "every suspend, load and resume ran under V_<vg>");
	check_invariant("LV switched", 1);
	setup(1, true);
	snprintf(p, sizeof(p), "%s/V_vg-old", fk->vg_lock_dir);
	fd = hold_lock(p);
	r = LM(env, "start", vm[0], "--meta", meta[0], "--dest", dst[0], "--force",
	       "--lock-timeout", "0.1");
	is_int(r, LM_EXIT_LOCKED, "start while LVM holds the VG lock: exit 11");
	close(fd);
	ok(leg_of(0) == 's' && !fk_dev_by_name("vg--old-vm0-lmsrc"), "nothing was changed");
}

static void test_idempotent(void)
{
	int r;

	setup_synced(1, false);
	is_int(LM(NULL, "switch", vm[0]), 0, "switch");
	is_int(LM(NULL, "switch", vm[0]), 0, "switch again (an orchestrator's retry): exit 0");
	is_int(LM(NULL, "cancel", vm[0]), LM_EXIT_SWITCHED, "cancel after a switch: exit 10");
	check_invariant("switch, switch, cancel", 1);

	setup_synced(1, false);
	r = LM(NULL, "switch", vm[0], "--json");
	is_int(r, 0, "switch --json");
	ok(out[0] == '{' && strchr(out, '\n') == out + strlen(out) - 1 &&
	   out[strlen(out) - 2] == '}', "switch --json: stdout is one JSON object on one line");
	ok(strstr(out, "\"schema\":1") && strstr(out, "\"outcome\":\"switched\"") &&
	   strstr(out, "\"changed\":true"), "switch --json: schema 1, switched, changed");
	r = LM(NULL, "switch", vm[0], "--json");
	is_int(r, 0, "switch again: exit 0");
	ok(strstr(out, "\"outcome\":\"already-switched\"") && strstr(out, "\"changed\":false"),
	   "switch again --json: already-switched, not changed");
	r = LM(NULL, "cancel", vm[0], "--json");
	is_int(r, LM_EXIT_SWITCHED, "cancel after the switch: exit 10");
	ok(strstr(out, "\"name\":\"switched\""), "cancel --json error names it");
	check_invariant("switch twice, cancel refused", 1);

	setup_synced(1, false);
	r = LM(NULL, "cancel", vm[0]);
	is_int(r, 0, "cancel");
	r = LM(NULL, "cancel", vm[0], "--json");
	is_int(r, 0, "cancel again: exit 0");
	ok(strstr(out, "\"outcome\":\"not-migrating\""), "cancel again: not-migrating");
	r = LM(NULL, "switch", vm[0]);
	ok(r != 0 && r != LM_EXIT_INCOMPLETE, "switch after cancel fails without a commit");
	check_invariant("cancel twice", 1);

	/* Someone reloaded the switched device with the old table. */
	setup_synced(1, false);
	LM(NULL, "switch", vm[0]);
	{
		struct fk_dev *v = fk_dev_by_name(vm[0]);
		char ref[32];

		snprintf(v->live.t[0].params, sizeof(v->live.t[0].params), "%s 0",
			 fk_ref(src[0], ref, sizeof(ref)));
	}
	r = LM(NULL, "switch", vm[0]);
	is_int(r, LM_EXIT_TABLE_MISMATCH, "switch of a switched device now on the old table: 12");

	/* Usage errors are JSON too. */
	r = LM(NULL, "switch", "--json", "--bogus");
	ok(r == LM_EXIT_USAGE && strstr(out, "\"name\":\"usage\""), "usage error as JSON");
}

static void test_incomplete(void)
{
	const char *const fails[] = { "LIVEMIRROR_FAIL_AT=resume-0", "LIVEMIRROR_FAIL_AT=load-0",
				      "FAKEDM_FAIL=resume:vm0", "FAKEDM_FAIL=reload:vm0" };

	for (size_t k = 0; k < sizeof(fails) / sizeof(fails[0]); k++) {
		int r;

		setup_synced(1, false);
		r = LM(fails[k], "switch", vm[0], "--json");
		is_int(r, LM_EXIT_INCOMPLETE, "%s after the commit: exit 9", fails[k]);
		ok(strstr(out, "\"outcome\":\"committed-incomplete\"") &&
		   strstr(out, "\"authoritative\":\"dest\""), "%s: JSON committed-incomplete, dest",
		   fails[k]);
		ok(fk_meta_state(meta[0]) == LM_STATE_SWITCHED && leg_of(0) == 'd',
		   "%s: I/O is on the destination", fails[k]);
		r = LM(NULL, "switch", vm[0]);
		is_int(r, 0, "%s: switch again finishes", fails[k]);
		check_invariant(fails[k], 1);
	}
}

static void test_table_mismatch(void)
{
	pid_t a;
	int r;

	setup_synced(1, false);
	a = lm_bg_v(1, "FAKEDM_PAUSE=resume:vm0", (const char *const[]){ "switch", vm[0], NULL });
	ok(wait_paused(1, a, 5), "switch parked before resume");
	{
		/* An LVM refresh that ignores locks loads the LV's old table. */
		struct fk_dev *v = fk_dev_by_name(vm[0]);
		char ref[32];

		v->inactive.n = 1;
		v->inactive.t[0].len = SECTORS;
		snprintf(v->inactive.t[0].type, sizeof(v->inactive.t[0].type), "linear");
		snprintf(v->inactive.t[0].params, sizeof(v->inactive.t[0].params), "%s 0",
			 fk_ref(src[0], ref, sizeof(ref)));
	}
	fk_release(1);
	r = lm_wait(1, a);
	is_int(r, LM_EXIT_TABLE_MISMATCH, "switch sees the foreign table that went live: 12");
}

static void test_signals(void)
{
	pid_t a;
	int r;

	setup_synced(3, false);
	fk->unblocked_in_window = 0;
	fk->udev_wait_suspended = 0;
	r = LM(NULL, "switch", vm[0], vm[1], vm[2]);
	is_int(r, 0, "group switch of 3");
	is_int(fk->unblocked_in_window, 0, "SIGHUP blocked at every dm call of the window");
	is_int(fk->udev_wait_suspended, 0, "no udev wait while a member is suspended (M2)");
	check_invariant("group switch", 3);

	setup_synced(3, false);
	a = lm_bg_v(1, "FAKEDM_PAUSE=message:vm1", (const char *const[]){ "switch", vm[0], vm[1],
									  vm[2], NULL });
	ok(wait_paused(1, a, 5), "group switch parked in its suspended window");
	kill(a, SIGHUP);
	usleep(20000);
	fk_release(1);
	r = lm_wait(1, a);
	ok(r == 0 || r == 128 + SIGHUP, "HUP in the window: switch completes (exit %d)", r);
	check_invariant("SIGHUP while suspended", 3);

	setup_synced(1, false);
	a = lm_bg_v(1, "FAKEDM_PAUSE=message:vm0", (const char *const[]){ "cancel", vm[0], NULL });
	ok(wait_paused(1, a, 5), "cancel parked in its suspended window");
	kill(a, SIGTERM);
	usleep(20000);
	fk_release(1);
	lm_wait(1, a);
	check_invariant("SIGTERM while cancel suspended", 1);
}

/* M6: a resume that fails after the kernel swapped the tables. */
static void test_start_resume_swapped(void)
{
	int r;

	setup(1, false);
	r = start_one(0, "FAKEDM_FAIL=resume!:vm0");
	ok(r != 0, "start whose resume fails after the swap fails");
	ok(leg_of(0) == 's' && !strcmp(fk_dev_by_name(vm[0])->live.t[0].type, "linear") &&
	   !fk_dev_by_name("vm0-lmsrc"), "the original table is live again, hidden source gone");
	check_invariant("start resume failed after swap", 1);
}

/* ---- every fail point and crash point ------------------------------------ */

enum cmdk { C_START, C_SWITCH, C_GROUP, C_CANCEL, C_NCMD };
static const char *const cmd_names[] = { "start", "switch", "group switch", "cancel" };

static void prepare_for(enum cmdk c)
{
	switch (c) {
	case C_START: setup(1, false); break;
	case C_GROUP: setup_synced(2, false); break;
	default: setup_synced(1, false); break;
	}
}

static int run_cmd(enum cmdk c, const char *env)
{
	switch (c) {
	case C_START: return start_one(0, env);
	case C_SWITCH: return LM(env, "switch", vm[0]);
	case C_GROUP: return LM(env, "switch", vm[0], vm[1]);
	default: return LM(env, "cancel", vm[0]);
	}
}

static int ndev_of(enum cmdk c)
{
	return c == C_GROUP ? 2 : 1;
}

/* Points listed by a traced run: "crash-point: X" / "fail-point: X". */
static int list_points(enum cmdk c, const char *kind, char pts[][64], int max)
{
	char tag[32];
	int n = 0;

	prepare_for(c);
	run_cmd(c, "LIVEMIRROR_CRASH_TRACE=1");
	snprintf(tag, sizeof(tag), "%s-point: ", kind);
	for (char *p = strstr(err, tag); p && n < max; p = strstr(p + 1, tag)) {
		sscanf(p + strlen(tag), "%63s", pts[n]);
		n++;
	}
	return n;
}

static void test_fail_points(void)
{
	char pts[64][64], env[128], what[160];

	for (int c = 0; c < C_NCMD; c++) {
		int n = list_points(c, "fail", pts, 64);

		ok(n > 0, "%s: %d fail points traced", cmd_names[c], n);
		for (int i = 0; i < n; i++) {
			int r;

			prepare_for(c);
			snprintf(env, sizeof(env), "LIVEMIRROR_FAIL_AT=%s", pts[i]);
			r = run_cmd(c, env);
			snprintf(what, sizeof(what), "%s fail at %s (exit %d)", cmd_names[c], pts[i], r);
			/* cancel goes on without recording CANCELLED (a dead metadata device) */
			ok(r != 0 || (c == C_CANCEL && !strcmp(pts[i], "message")), "%s: fails", what);
			if (r == LM_EXIT_INCOMPLETE)
				ok(run_cmd(c, NULL) == 0, "%s: run again finishes", what);
			check_invariant(what, ndev_of(c));
		}
	}
}

static void test_dm_failures(void)
{
	static const char *const ops[] = { "suspend", "resume", "resume!", "reload", "message",
					   "create", "remove", "clear" };
	char env[128], what[160];

	for (int c = 0; c < C_NCMD; c++)
		for (size_t o = 0; o < sizeof(ops) / sizeof(ops[0]); o++)
			for (int nth = 1; nth <= 2; nth++) {
				int r;

				prepare_for(c);
				snprintf(env, sizeof(env), "FAKEDM_FAIL=%s:*:%d", ops[o], nth);
				r = run_cmd(c, env);
				snprintf(what, sizeof(what), "%s with dm %s #%d failing (exit %d)",
					 cmd_names[c], ops[o], nth, r);
				if (r == LM_EXIT_INCOMPLETE)
					r = run_cmd(c, NULL);
				else if (r)
					LM(NULL, "recover", "--live", vm[0], c == C_GROUP ? vm[1] : NULL);
				check_invariant(what, ndev_of(c));
			}
}

static void test_crash_points(void)
{
	char pts[64][64], env[128], what[160];

	for (int c = 0; c < C_NCMD; c++) {
		int n = list_points(c, "crash", pts, 64);

		ok(n > 0, "%s: %d crash points traced", cmd_names[c], n);
		for (int i = 0; i < n; i++) {
			int r;

			prepare_for(c);
			snprintf(env, sizeof(env), "LIVEMIRROR_CRASH_AT=%s", pts[i]);
			r = run_cmd(c, env);
			snprintf(what, sizeof(what), "%s crash at %s", cmd_names[c], pts[i]);
			is_int(r, LM_EXIT_CRASH, "%s: crashed", what);
			r = LM(NULL, "recover", "--live", vm[0], c == C_GROUP ? vm[1] : NULL);
			is_int(r, 0, "%s: recover --live exits 0", what);
			check_invariant(what, ndev_of(c));
			/* And the command, run again, gets where it was going. */
			r = run_cmd(c, NULL);
			if (c == C_START && r == 0)
				fk_set_synced(meta[0], true);
			ok(r == 0 && (c == C_SWITCH || c == C_GROUP ? leg_of(0) == 'd' :
				      leg_of(0) == 's') && nothing_suspended(),
			   "%s: run again succeeds (exit %d)", what, r);
			check_invariant(what, ndev_of(c));
		}
	}
}

static const char *live_params(int i)
{
	struct fk_dev *v = fk_dev_by_name(vm[i]);

	return v && v->has_live && v->live.n == 1 ? v->live.t[0].params : "";
}

static int start_l(int i, const char *env, const char *opt)
{
	if (opt)
		return LM(env, "start", vm[i], "--meta", meta[i], "--dest", dst[i], "--force",
			  "--label", "L", opt);
	return LM(env, "start", vm[i], "--meta", meta[i], "--dest", dst[i], "--force",
		  "--label", "L");
}

static void test_identity(void)
{
	int r;

	/* the right device and source: accepted */
	setup(1, false);
	make_bound_meta(0, "dm:UUID-vm0", "dm:LMSRC-UUID-vm0", "");
	is_int(start_l(0, NULL, NULL), 0, "start over metadata bound to these legs");
	ok(!strstr(live_params(0), "trust_log") && !strstr(live_params(0), "reuse_metadata"),
	   "no trust_log nor reuse_metadata unless asked: %s", live_params(0));

	/* another device's metadata */
	setup(1, false);
	make_bound_meta(0, "dm:UUID-other", "dm:LMSRC-UUID-other", "");
	r = start_l(0, NULL, NULL);
	is_int(r, LM_EXIT_METADATA, "metadata of another device refused (exit 6)");
	ok(strstr(err, "device_id") && strstr(err, "dm:UUID-other") && strstr(err, "dm:UUID-vm0"),
	   "the refusal names the field and both values: %s", err);
	ok(!strcmp(fk_dev_by_name(vm[0])->live.t[0].type, "linear"), "nothing loaded");

	/* --reuse-metadata: passed to the kernel, which reformats */
	r = start_l(0, NULL, "--reuse-metadata");
	is_int(r, 0, "--reuse-metadata accepts it");
	ok(strstr(live_params(0), " reuse_metadata") != NULL, "table has reuse_metadata: %s",
	   live_params(0));

	/* --reuse-metadata never throws a switch decision away */
	setup(1, false);
	make_bound_meta(0, "dm:UUID-other", "", "");
	fk_set_meta_state(meta[0], LM_STATE_SWITCHED);
	is_int(start_l(0, NULL, "--reuse-metadata"), LM_EXIT_METADATA,
	       "--reuse-metadata on SWITCHED metadata refused");

	/* --trust-log: only with strong stored ids */
	setup(1, false);
	make_bound_meta(0, "dm:UUID-vm0", "dm:LMSRC-UUID-vm0", "dev:7:3");
	is_int(start_l(0, NULL, "--trust-log"), LM_EXIT_METADATA,
	       "--trust-log with a weak dest_id refused");
	ok(strstr(err, "dest_id") && strstr(err, "weak"), "says which id is weak: %s", err);
	setup(1, false);
	make_bound_meta(0, "dm:UUID-vm0", "dm:LMSRC-UUID-vm0", "naa:5000c500a1b2c3d4");
	is_int(start_l(0, NULL, "--trust-log"), 0, "--trust-log with strong ids");
	ok(strstr(live_params(0), " trust_log") != NULL, "table has trust_log: %s",
	   live_params(0));
	is_int(LM(NULL, "start", vm[0], "--meta", meta[0], "--dest", dst[0], "--force", "--trust-log",
		  "--reuse-metadata"), LM_EXIT_USAGE, "--trust-log with --reuse-metadata: usage");

	/* the kernel refuses the table over ids the helper cannot verify */
	setup(1, false);
	make_bound_meta(0, "dm:UUID-vm0", "dm:LMSRC-UUID-vm0", "naa:5000c500a1b2c3d4");
	r = start_l(0, "FAKEDM_FAIL=reload:vm0", NULL);
	is_int(r, LM_EXIT_METADATA, "kernel refusal with unverifiable bound ids: exit 6");
	ok(strstr(err, "naa:5000c500a1b2c3d4") != NULL, "names the stored ids: %s", err);
	check_invariant("identity refusals", 1);
}

/* Issue 14: a PREPARED log belongs to a group: a single-device switch refuses it. */
static void test_switch_prepared(void)
{
	int r;

	setup_synced(1, false);
	fk_set_meta_prepared(meta[0]);
	r = LM(NULL, "switch", vm[0]);
	is_int(r, LM_EXIT_NOT_SYNCED, "single switch of PREPARED metadata refused (exit 3)");
	ok(strstr(err, "group") != NULL, "the refusal names the group: %s", err);
	is_int(fk_meta_state(meta[0]), LM_STATE_PREPARED, "metadata still PREPARED");
	check_invariant("single switch of a prepared member refused", 1);
}

/*
 * status --watch ends with wait's codes (issue 15, item 4): 0 at synced, 0
 * when a switch replaced the table while the watch slept (exit 1 before),
 * 1 when a cancel did.
 */
static void test_watch(void)
{
	pid_t w;
	int r;

	setup(1, false);
	is_int(start_one(0, NULL), 0, "watch: start");
	w = lm_bg_v(1, NULL, (const char *const[]){ "status", vm[0], "--watch", "--interval", "1",
						   NULL });
	usleep(300000);
	fk_set_synced(meta[0], true);
	is_int(lm_wait(1, w), 0, "status --watch until synced: exit 0");

	setup(1, false);
	start_one(0, NULL);
	w = lm_bg_v(1, NULL, (const char *const[]){ "status", vm[0], "--watch", "--interval", "3",
						   NULL });
	usleep(300000);
	fk_set_synced(meta[0], true);
	is_int(LM(NULL, "switch", vm[0]), 0, "watch: switch while the watch sleeps");
	r = lm_wait(1, w);
	is_int(r, 0, "status --watch across a switch that replaced the table: exit 0");
	if (r)
		printf("#   %s", err);
	check_invariant("watch across a switch", 1);

	setup(1, false);
	start_one(0, NULL);
	w = lm_bg_v(1, NULL, (const char *const[]){ "status", vm[0], "--watch", "--interval", "1",
						   NULL });
	usleep(300000);
	is_int(LM(NULL, "cancel", vm[0]), 0, "watch: cancel while watched");
	is_int(lm_wait(1, w), 1, "status --watch across a cancel: exit 1");
}

int main(void)
{
	hs_begin("dm");

	test_h1_replay();
	test_h1_replay_other_order();
	test_race_loop(200);
	test_cancel_rechecks();
	test_locks();
	test_idempotent();
	test_incomplete();
	test_table_mismatch();
	test_signals();
	test_start_resume_swapped();
	test_switch_prepared();
	test_identity();
	test_fail_points();
	test_dm_failures();
	test_crash_points();
	test_watch();

	hs_end();
	return tap_done();
}
