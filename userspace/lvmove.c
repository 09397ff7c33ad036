// SPDX-License-Identifier: GPL-2.0
/*
 * lvmove VG/LV PV...: move an active LV onto other PVs of its own VG and
 * end as pvmove ends (Documentation/livemirror-lvm.rst, "Moving an LV
 * within its VG").  The steps, each one the helper's own command run as a
 * child (so that each keeps its locks, crash points and exit codes):
 *
 *  1 allocate VG/LV_lmdst (the LV's size, on the PVs given) and
 *    VG/LV_lmmeta (the metadata, sized by 'metadata measure'), unless a
 *    previous run left them (then the migration is resumed)
 *  2 start the migration under the LV's live dm device (not when one runs)
 *  3 wait until it is synced
 *  4 switch: the LVM fence then swaps the segments of LV and LV_lmdst in
 *    LVM's metadata, refreshes LV onto the new extents (LVM's own linear
 *    table), clears the fence and removes LV_lmdst with the old extents
 *  5 remove VG/LV_lmmeta
 *
 * A crash at any step: run the same lvmove again (or, after the switch's
 * commit, 'livemirror recover'); nothing is copied that the log says clean.
 * Runs in the helper's main thread only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmds.h"
#include "dm.h"
#include "exitcodes.h"
#include "lvmfence.h"
#include "meta.h"
#include "table.h"
#include "util.h"

#define OUT_MAX 16384
#define LVMOVE_SCHEMA 1

struct move {
	char vg[128], lv[128], dm[300];
	char dst[160], meta[160];
	uint64_t sectors;
	bool json;
	const char *step;
};

/* Run the helper itself with args (NULL-terminated); its exit status. */
static int run_self(bool json, const char *const *args)
{
	const char *argv[24];
	int n = 0, st;
	pid_t pid;

	argv[n++] = "livemirror";
	for (int i = 0; args[i] && n < 22; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return LM_EXIT_ERROR;
	if (!pid) {
		/* --json: the children's words go to stderr, stdout keeps one object */
		if (json)
			dup2(2, 1);
		execv("/proc/self/exe", (char *const *)argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return LM_EXIT_ERROR;
	return WIFEXITED(st) ? WEXITSTATUS(st) : LM_EXIT_ERROR;
}

static int lvm(char *out, const char *const *args)
{
	int r = lm_lvm_runv(false, out, OUT_MAX, args);

	if (r)
		fprintf(stderr, "%s", out);
	return r;
}

static bool lv_exists(const char *vg, const char *lv)
{
	char name[300], *out = malloc(OUT_MAX);
	bool r;

	if (!out)
		return false;
	snprintf(name, sizeof(name), "%s/%s", vg, lv);
	r = !lm_lvm_runv(false, out, OUT_MAX, (const char *[]){ "lvs", name, NULL });
	free(out);
	return r;
}

static int inspect(struct move *m, char *out)
{
	char name[300], *line, *f[5], *p;
	int n = 0;

	snprintf(name, sizeof(name), "%s/%s", m->vg, m->lv);
	if (lvm(out, (const char *[]){ "lvs", "--noheadings", "--units", "s", "--nosuffix",
		"--separator", "|", "-o", "lv_size,lv_active,vg_lock_type,lv_active_exclusively,"
		"segtype", name, NULL })) {
		lm_err("%s: no such LV (lvs failed)", name);
		return LM_EXIT_NOT_FOUND;
	}
	line = out;
	while (*line == ' ')
		line++;
	p = line;
	while (n < 5 && (f[n] = strsep(&p, "|")))
		n++;
	if (n < 5) {
		lm_err("%s: cannot read lvs output", name);
		return LM_EXIT_ERROR;
	}
	for (int i = 0; i < n; i++) {
		char *e = f[i] + strlen(f[i]);

		while (*f[i] == ' ')
			f[i]++;
		while (e > f[i] && (e[-1] == ' ' || e[-1] == '\n'))
			*--e = 0;
	}
	if (parse_u64(f[0], UINT64_MAX, &m->sectors) || !m->sectors) {
		lm_err("%s: cannot read its size ('%s')", name, f[0]);
		return LM_EXIT_ERROR;
	}
	if (strcmp(f[1], "active")) {
		lm_err("%s is not active: an inactive LV needs no live move (use pvmove, or "
		       "activate it with -aey first)", name);
		return LM_EXIT_NOT_FOUND;
	}
	/* lvmlockd: a shared activation may be in use on other hosts (issue 16 item 5) */
	if (f[2][0] && strcmp(f[2], "none")) {
		lm_err("%s is in a shared VG (lock type %s): refused in this release (see "
		       "livemirror-lvm.rst, Shared VGs); move it with pvmove", name, f[2]);
		return LM_EXIT_BUSY;
	}
	if (strcmp(f[4], "linear") && strcmp(f[4], "striped") && strcmp(f[4], "livemirror")) {
		lm_err("%s has segment type %s: lvmove moves linear and striped LVs only", name,
		       f[4]);
		return LM_EXIT_ERROR;
	}
	return 0;
}

/* lvcreate -L size -n name VG on the PVs given (a->pos[1..]). */
static int lvcreate_on(const struct move *m, const struct lm_args *a, const char *name,
		       const char *size, char *out)
{
	const char *args[LM_MAX_POS + 12] = { "lvcreate", "-q", "-y", "-L", size, "-n", name,
					      m->vg };
	int n = 8;

	for (int i = 1; i < a->npos; i++)
		args[n++] = a->pos[i];
	args[n] = NULL;
	if (!lvm(out, args))
		return 0;
	lm_err("%s/%s: cannot allocate %s/%s on %s%s", m->vg, m->lv, m->vg, name, a->pos[1],
	       a->npos > 2 ? " ..." : "");
	return -1;
}

static void result(const struct move *m, int rc)
{
	if (!m->json)
		return;
	printf("{\"schema\":%d,\"command\":\"lvmove\",\"lv\":\"%s/%s\",\"device\":\"%s\","
	       "\"outcome\":\"%s\",\"step\":\"%s\",\"exit\":%d}\n", LVMOVE_SCHEMA, m->vg, m->lv,
	       m->dm, rc ? "failed" : "moved", m->step, rc);
}

int cmd_lvmove(struct lm_args *a)
{
	struct move m = { .json = a->json, .step = "inspect" };
	char *out = malloc(OUT_MAX), size[40], thr[32], reg[40], metapath[300], dstpath[300];
	const char *slash = strchr(a->pos[0], '/');
	struct lm_dminfo info;
	int rc;

	if (!out)
		return LM_EXIT_ERROR;
	if (!slash || slash == a->pos[0] || !slash[1] || strchr(slash + 1, '/') ||
	    (size_t)(slash - a->pos[0]) >= sizeof(m.vg)) {
		lm_err("lvmove: '%s' is not VG/LV", a->pos[0]);
		free(out);
		return LM_EXIT_USAGE;
	}
	snprintf(m.vg, sizeof(m.vg), "%.*s", (int)(slash - a->pos[0]), a->pos[0]);
	snprintf(m.lv, sizeof(m.lv), "%s", slash + 1);
	if (strlen(m.lv) > 100) {
		lm_err("lvmove: LV name %s too long", m.lv);
		free(out);
		return LM_EXIT_USAGE;
	}
	lm_lvm_dm_name(m.vg, m.lv, m.dm, sizeof(m.dm));
	snprintf(m.dst, sizeof(m.dst), "%s_lmdst", m.lv);
	snprintf(m.meta, sizeof(m.meta), "%s_lmmeta", m.lv);
	snprintf(dstpath, sizeof(dstpath), "/dev/%s/%s", m.vg, m.dst);
	snprintf(metapath, sizeof(metapath), "/dev/%s/%s", m.vg, m.meta);
	rc = inspect(&m, out);
	if (rc)
		goto out;

	/* a killed earlier run may have left the device suspended: recover it first */
	if (!lmdm_info(m.dm, &info) && info.exists && info.suspended) {
		m.step = "recover";
		rc = run_self(m.json, (const char *[]){ "recover", "--live", m.dm, NULL });
		if (rc)
			goto out;
	}
	/* an earlier run got past its switch: finish that one, never move again */
	{
		struct lm_sbinfo sb;
		bool have_meta = lv_exists(m.vg, m.meta);

		if (have_meta && !lv_exists(m.vg, m.dst)) {
			if (!meta_read_best(metapath, &sb) && sb.state == LM_STATE_SWITCHED)
				goto cleanup;
			lm_err("%s/%s: %s exists but %s does not, and the migration is not switched: "
			       "remove %s (lvremove) and run lvmove again", m.vg, m.lv, m.meta, m.dst,
			       metapath);
			rc = LM_EXIT_ERROR;
			goto out;
		}
		if (have_meta && !meta_read_best(metapath, &sb) && sb.state == LM_STATE_SWITCHED)
			goto do_switch;
	}

	/* 1: allocate (or find what an earlier run allocated) */
	m.step = "allocate";
	if (!lv_exists(m.vg, m.dst)) {
		snprintf(size, sizeof(size), "%" PRIu64 "s", m.sectors);
		if (lvcreate_on(&m, a, m.dst, size, out)) {
			rc = LM_EXIT_ERROR;
			goto out;
		}
		crash_point("after-alloc-dest");
	}
	if (!lv_exists(m.vg, m.meta)) {
		uint64_t region = a->region_sectors ? a->region_sectors : LM_DEFAULT_REGION_SECTORS;

		/* what 'metadata measure' says, rounded up by lvcreate to whole extents */
		snprintf(size, sizeof(size), "%" PRIu64 "b",
			 meta_bytes_needed(nr_regions_for(m.sectors, region)));
		if (lvcreate_on(&m, a, m.meta, size, out)) {
			rc = LM_EXIT_ERROR;
			goto out;
		}
		crash_point("after-alloc-meta");
	}

	/* 2: start, unless the migration runs already */
	m.step = "start";
	if (lmdm_info(m.dm, &info) || !info.exists) {
		lm_err("%s/%s: its dm device %s is not there", m.vg, m.lv, m.dm);
		rc = LM_EXIT_NOT_FOUND;
		goto out;
	}
	{
		struct lmdm_table t;
		bool running = false;

		if (!lmdm_get_table(m.dm, false, &t)) {
			running = t.n == 1 && !strcmp(t.t[0].type, LM_TARGET);
			lmdm_table_free(&t);
		}
		if (!running) {
			const char *args[16] = { "start", m.dm, "--meta", metapath, "--dest", dstpath };
			int n = 6;

			if (a->seen & O(OPT_THROTTLE)) {
				snprintf(thr, sizeof(thr), "%" PRIu64, a->throttle);
				args[n++] = "--throttle";
				args[n++] = thr;
			}
			if (a->seen & O(OPT_REGION)) {
				snprintf(reg, sizeof(reg), "%" PRIu64 "s", a->region_sectors);
				args[n++] = "--region-size";
				args[n++] = reg;
			}
			args[n] = NULL;
			rc = run_self(m.json, args);
			if (rc)
				goto out;
			crash_point("after-start");
		}
	}

	/* 3: wait for sync */
	m.step = "wait";
	rc = run_self(m.json, (const char *[]){ "wait", m.dm, NULL });
	if (rc)
		goto out;

	/* 4: switch; the fence swaps the extents in LVM's metadata */
do_switch:
	m.step = "switch";
	rc = run_self(m.json, (const char *[]){ "switch", m.dm, NULL });
	if (rc)
		goto out;
	if (lv_exists(m.vg, m.dst)) {
		lm_err("%s/%s switched, but %s/%s is still there: the LVM step did not finish; "
		       "run 'livemirror lvmove %s/%s' again", m.vg, m.lv, m.vg, m.dst, m.vg, m.lv);
		rc = LM_EXIT_INCOMPLETE;
		goto out;
	}

	/* 5: the metadata's job is done: LVM's metadata now tells where the LV is */
cleanup:
	m.step = "cleanup";
	{
		char name[300], action[400];
		struct lm_lv lv;

		/* a run killed between the swap's lvremove and the end of the fence */
		if (!lmdm_info(m.dm, &info) && info.exists && !lm_lvm_find(info.uuid, false, &lv) &&
		    lv.moved &&
		    lm_fence_resolve(info.uuid, NULL, true, false, NULL, action, sizeof(action),
				     NULL)) {
			rc = LM_EXIT_INCOMPLETE;
			goto out;
		}

		snprintf(name, sizeof(name), "%s/%s", m.vg, m.meta);
		if (lvm(out, (const char *[]){ "lvremove", "-q", "-y", name, NULL })) {
			lm_warn("%s: could not remove the metadata LV; remove it with 'lvremove %s'",
				name, name);
			rc = LM_EXIT_INCOMPLETE;
			goto out;
		}
	}
	m.step = "done";
	if (!m.json)
		printf("%s/%s: moved; LVM's metadata names the new extents\n", m.vg, m.lv);
	rc = 0;
out:
	result(&m, rc);
	free(out);
	return rc;
}
