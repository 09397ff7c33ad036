// SPDX-License-Identifier: GPL-2.0
/*
 * cancel refuses a migration whose metadata is PREPARED (issue 16): it is a
 * member of a group switch whose coordinator may already have committed,
 * so the source may already be stale.  Only 'livemirror recover' (the
 * group's decision) says which leg is authoritative.  The helper checks
 * before it loads or suspends anything; if the state appears behind its
 * back, the kernel's refusal of the cancel message must end in the old
 * table resumed, never the source-only one.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exitcodes.h"
#include "meta.h"
#include "table.h"
#include "fakedm.h"
#include "tap.h"
#include "harness.h"

/* Any load, suspend, resume or message of vm0 logged since op n? */
static bool touched_since(int n)
{
	for (int i = n; i < fk->nops && i < 256; i++)
		if (strstr(fk->oplog[i], " reload ") || strstr(fk->oplog[i], " suspend ") ||
		    strstr(fk->oplog[i], " resume ") || strstr(fk->oplog[i], " message "))
			return true;
	return false;
}

static bool still_livemirror(void)
{
	struct fk_dev *v = fk_dev_by_name(vm[0]);

	return v && v->has_live && v->live.n == 1 && !strcmp(v->live.t[0].type, LM_TARGET);
}

static void test_refused(void)
{
	int n, r;

	setup_synced(1, false);
	fk_set_meta_prepared(meta[0]);
	n = fk->nops;
	r = LM(NULL, "cancel", vm[0]);
	is_int(r, LM_EXIT_PREPARED, "cancel of a PREPARED member: exit 14");
	ok(strstr(err, "PREPARED") && strstr(err, "group switch") &&
	   strstr(err, "livemirror recover"), "says a group switch is prepared and that recover "
	   "resolves it: %s", err);
	ok(!touched_since(n), "nothing loaded, suspended or sent");
	is_int(fk_meta_state(meta[0]), LM_STATE_PREPARED, "metadata still PREPARED");
	ok(still_livemirror(), "the livemirror table stays live");
	check_invariant("cancel of a prepared member refused", 1);

	r = LM(NULL, "cancel", vm[0], "--keep-dest");
	is_int(r, LM_EXIT_PREPARED, "cancel --keep-dest of a PREPARED member: exit 14");

	n = fk->nops;
	r = LM(NULL, "cancel", vm[0], "--json");
	is_int(r, LM_EXIT_PREPARED, "cancel --json: exit 14");
	ok(strstr(out, "\"outcome\":\"refused\"") && strstr(out, "\"changed\":false") &&
	   strstr(out, "\"authoritative\":\"unknown\""),
	   "--json: refused, nothing changed, authority unknown: %s", out);
	ok(strstr(out, "\"code\":14") && strstr(out, "\"name\":\"prepared\"") &&
	   strstr(out, "livemirror recover"), "--json error names it and the way out: %s", out);
	ok(strstr(out, "\"state\":\"prepared\""), "--json device state prepared: %s", out);
	ok(!touched_since(n), "--json: nothing loaded, suspended or sent");
}

/*
 * PREPARED written behind the helper's back (no lock) after its check: the
 * kernel refuses the cancel message, and the helper must put the livemirror
 * table back, not the source-only one.
 */
static void test_prepared_behind_back(void)
{
	pid_t b;
	int r;

	setup_synced(1, false);
	b = lm_bg_v(1, "FAKEDM_PAUSE=message:vm0", (const char *const[]){ "cancel", vm[0], NULL });
	ok(wait_paused(1, b, 5), "cancel parked before its cancel message");
	fk_set_meta_prepared(meta[0]);
	fk_release(1);
	r = lm_wait(1, b);
	is_int(r, LM_EXIT_PREPARED, "cancel whose message the kernel refuses as PREPARED: exit 14");
	is_int(fk_meta_state(meta[0]), LM_STATE_PREPARED, "metadata still PREPARED");
	ok(still_livemirror(), "the livemirror table was resumed, not the source-only one");
	check_invariant("cancel refused by the kernel for PREPARED", 1);
}

int main(void)
{
	hs_begin("cancel");

	test_refused();
	test_prepared_behind_back();

	hs_end();
	return tap_done();
}
