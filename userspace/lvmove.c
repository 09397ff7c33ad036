// SPDX-License-Identifier: GPL-2.0
/*
 * lvmove VG/LV [VG/LV...] PV...: move active LVs onto other PVs of their
 * own VG and end as pvmove ends (Documentation/livemirror-lvm.rst, "Moving
 * an LV within its VG"); several LVs (one VG) are switched at one point,
 * by one group switch.  The steps, each one the helper's own command run
 * as a child (so that each keeps its locks, crash points and exit codes):
 *
 *  1 allocate VG/LV_lmdst (the LV's size, on the PVs given) and
 *    VG/LV_lmmeta (the metadata, sized by 'metadata measure'), unless a
 *    previous run left them (then the migration is resumed)
 *  2 start the migration under the LV's live dm device (not when one runs)
 *  3 wait until it is synced
 *  4 switch: the LVM fence then swaps the segments of LV and LV_lmdst in
 *    LVM's metadata, refreshes LV onto the new extents (LVM's own linear
 *    table), clears the fence and removes LV_lmdst with the old extents
 *  5 remove VG/LV_lmmeta, its log zeroed first (metaremove.h)
 *
 * A crash at any step: run the same lvmove again (or, after the switch's
 * commit, 'livemirror recover'); nothing is copied that the log says clean.
 * Runs in the helper's main thread only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
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
#include "metaremove.h"
#include "table.h"
#include "util.h"

#define OUT_MAX 16384
#define LVMOVE_SCHEMA 1

enum phase { PH_COPY, PH_SWITCH, PH_CLEANUP };

struct move {
	char vg[128], lv[128], dm[300];
	char dst[160], meta[160];
	char dstpath[300], metapath[300];
	enum phase phase;
	uint64_t sectors;
	bool json;
	const char *step;
};

/* Run the helper itself with args (NULL-terminated); its exit status. */
static int run_self(bool json, const char *const *args)
{
	const char *argv[LM_MAX_POS + 24];
	int n = 0, st;
	pid_t pid;

	argv[n++] = "livemirror";
	for (int i = 0; args[i] && n < (int)(sizeof(argv) / sizeof(argv[0])) - 1; i++)
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

/*
 * The LVs of the move (each one, <lv>_lmdst and <lv>_lmmeta), one lvs for
 * all that lvmove asks (each lvm command is a process and a metadata scan,
 * most of a move's time): lines "name|size|active|lock type|segtype|tags",
 * a line per segment.  NULL (and a message) when lvs fails.
 */
#define LIST_FIELDS 6
#define LIST_MAX (256 << 10)
static char *vg_list(const struct move *m, int n)
{
	size_t len = 64 + (size_t)n * 3 * 140, o;
	char *sel = malloc(len), *out = malloc(LIST_MAX);
	int r = -1;

	if (!sel || !out)
		goto out;
	o = (size_t)snprintf(sel, len, "vg_name=\"%s\"&&(", m[0].vg);
	for (int i = 0; i < n; i++)
		o += (size_t)snprintf(sel + o, len - o, "%slv_name=\"%s\"||lv_name=\"%s\"||"
				      "lv_name=\"%s\"", i ? "||" : "", m[i].lv, m[i].dst,
				      m[i].meta);
	snprintf(sel + o, len - o, ")");
	r = lm_lvm_runv(false, out, LIST_MAX, (const char *[]){ "lvs", "-a", "--noheadings",
		"--units", "s", "--nosuffix", "--separator", "|", "-o",
		"lv_name,lv_size,lv_active,vg_lock_type,segtype,lv_tags", "-S", sel, NULL });
	if (r) {
		fprintf(stderr, "%s", out);
		lm_err("%s: no such VG (lvs failed)", m[0].vg);
	}
out:
	free(sel);
	if (r) {
		free(out);
		return NULL;
	}
	return out;
}

/*
 * The fields of LV name's first line in list (trimmed, into buf), or
 * false when the VG has no such LV.
 */
static bool vg_lv(const char *list, const char *name, char *buf, size_t len,
		  char *f[LIST_FIELDS])
{
	for (const char *p = list; p && *p; ) {
		const char *e = strchr(p, '\n');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		char *q;
		int k = 0;

		if (n < len) {
			memcpy(buf, p, n);
			buf[n] = 0;
			q = buf;
			while (k < LIST_FIELDS && (f[k] = strsep(&q, "|")))
				k++;
			for (int i = 0; i < k; i++) {
				char *t = f[i] + strlen(f[i]);

				while (*f[i] == ' ')
					f[i]++;
				while (t > f[i] && (t[-1] == ' ' || t[-1] == '\r'))
					*--t = 0;
			}
			if (k == LIST_FIELDS && !strcmp(f[0], name))
				return true;
		}
		p = e ? e + 1 : NULL;
	}
	return false;
}

static bool lv_listed(const char *list, const char *name)
{
	char buf[1024], *f[LIST_FIELDS];

	return vg_lv(list, name, buf, sizeof(buf), f);
}

/* Is tag one of LV name's tags in list? */
static bool lv_tagged(const char *list, const char *name, const char *tag)
{
	char buf[1024], *f[LIST_FIELDS];

	return vg_lv(list, name, buf, sizeof(buf), f) && lm_lvm_has_tag(f[5], tag);
}

static int inspect(struct move *m, const char *list)
{
	char name[300], buf[1024], *f[LIST_FIELDS];

	snprintf(name, sizeof(name), "%s/%s", m->vg, m->lv);
	if (!vg_lv(list, m->lv, buf, sizeof(buf), f)) {
		lm_err("%s: no such LV", name);
		return LM_EXIT_NOT_FOUND;
	}
	if (parse_u64(f[1], UINT64_MAX, &m->sectors) || !m->sectors) {
		lm_err("%s: cannot read its size ('%s')", name, f[1]);
		return LM_EXIT_ERROR;
	}
	if (strcmp(f[2], "active")) {
		lm_err("%s is not active: an inactive LV needs no live move (use pvmove, or "
		       "activate it with -aey first)", name);
		return LM_EXIT_NOT_FOUND;
	}
	/* lvmlockd: a shared activation may be in use on other hosts (issue 16 item 5) */
	if (f[3][0] && strcmp(f[3], "none")) {
		lm_err("%s is in a shared VG (lock type %s): refused in this release (see "
		       "livemirror-lvm.rst, Shared VGs); move it with pvmove", name, f[3]);
		return LM_EXIT_BUSY;
	}
	if (strcmp(f[4], "linear") && strcmp(f[4], "striped") && strcmp(f[4], "livemirror")) {
		lm_err("%s has segment type %s: lvmove moves linear and striped LVs only", name,
		       f[4]);
		return LM_EXIT_ERROR;
	}
	return 0;
}

/* lvcreate -L size -n name VG on the PVs given (a->pos[first..]). */
static int lvcreate_on(const struct move *m, const struct lm_args *a, int first,
		       const char *name, const char *size, char *out)
{
	const char *args[LM_MAX_POS + 12] = { "lvcreate", "-q", "-y", "-L", size, "-n", name,
					      m->vg };
	int n = 8;

	for (int i = first; i < a->npos; i++)
		args[n++] = a->pos[i];
	args[n] = NULL;
	if (!lvm(out, args))
		return 0;
	lm_err("%s/%s: cannot allocate %s/%s on %s%s", m->vg, m->lv, m->vg, name, a->pos[first],
	       a->npos > first + 1 ? " ..." : "");
	return -1;
}

static void result(const struct move *m, int n, int rc)
{
	if (!m[0].json)
		return;
	if (n == 1) {
		printf("{\"schema\":%d,\"command\":\"lvmove\",\"lv\":\"%s/%s\",\"device\":\"%s\","
		       "\"outcome\":\"%s\",\"step\":\"%s\",\"exit\":%d}\n", LVMOVE_SCHEMA, m->vg,
		       m->lv, m->dm, rc ? "failed" : "moved", m->step, rc);
		return;
	}
	/* a group: the same fields per LV, switched at one point */
	printf("{\"schema\":%d,\"command\":\"lvmove\",\"outcome\":\"%s\",\"exit\":%d,\"lvs\":[",
	       LVMOVE_SCHEMA, rc ? "failed" : "moved", rc);
	for (int i = 0; i < n; i++)
		printf("%s{\"lv\":\"%s/%s\",\"device\":\"%s\",\"step\":\"%s\"}", i ? "," : "",
		       m[i].vg, m[i].lv, m[i].dm, m[i].step);
	printf("]}\n");
}

/* VG/LV into m; LM_EXIT_USAGE with a message when it is not that. */
static int parse_lv(const char *arg, struct move *m)
{
	const char *slash = strchr(arg, '/');

	if (!slash || slash == arg || !slash[1] || strchr(slash + 1, '/') ||
	    (size_t)(slash - arg) >= sizeof(m->vg)) {
		lm_err("lvmove: '%s' is not VG/LV", arg);
		return LM_EXIT_USAGE;
	}
	snprintf(m->vg, sizeof(m->vg), "%.*s", (int)(slash - arg), arg);
	snprintf(m->lv, sizeof(m->lv), "%s", slash + 1);
	if (strlen(m->lv) > 100) {
		lm_err("lvmove: LV name %s too long", m->lv);
		return LM_EXIT_USAGE;
	}
	lm_lvm_dm_name(m->vg, m->lv, m->dm, sizeof(m->dm));
	snprintf(m->dst, sizeof(m->dst), "%s_lmdst", m->lv);
	snprintf(m->meta, sizeof(m->meta), "%s_lmmeta", m->lv);
	snprintf(m->dstpath, sizeof(m->dstpath), "/dev/%s/%s", m->vg, m->dst);
	snprintf(m->metapath, sizeof(m->metapath), "/dev/%s/%s", m->vg, m->meta);
	return 0;
}

/*
 * The metadata LV holds no log of this LV's migration (a new LV: lvcreate
 * may not have wiped extents where an earlier log lived, and 'start' rightly
 * refuses another migration's log): zero all of it, which 'start' formats.
 * A log of this LV's own migration (a restart) is kept.
 */
static int fresh_meta(const struct move *m, const char *dm_uuid)
{
	static char zero[1 << 20];
	struct lm_sbinfo sb;
	off_t size, done = 0;
	int fd, rc = 0;

	if (!meta_read_best(m->metapath, &sb) && !strncmp(sb.device_id, "dm:", 3) &&
	    !strcmp(sb.device_id + 3, dm_uuid))
		return 0;
	fd = open(m->metapath, O_WRONLY | O_CLOEXEC | O_EXCL);
	if (fd < 0 || (size = lseek(fd, 0, SEEK_END)) < 0 || lseek(fd, 0, SEEK_SET)) {
		lm_err("%s: cannot open it to wipe it: %s", m->metapath, strerror(errno));
		if (fd >= 0)
			close(fd);
		return LM_EXIT_ERROR;
	}
	while (done < size && !rc) {
		size_t n = size - done < (off_t)sizeof(zero) ? (size_t)(size - done) : sizeof(zero);
		ssize_t w = write(fd, zero, n);

		if (w <= 0)
			rc = LM_EXIT_ERROR;
		else
			done += w;
	}
	if (rc || fsync(fd)) {
		lm_err("%s: cannot wipe it: %s", m->metapath, strerror(errno));
		rc = LM_EXIT_ERROR;
	}
	close(fd);
	return rc;
}

/*
 * Steps 1 and 2 for one LV, or what an earlier run left: sets m->phase to
 * PH_COPY (started or running: wait, then switch), PH_SWITCH (its metadata
 * says SWITCHED: run the switch again, which finishes the LVM step) or
 * PH_CLEANUP (switched and swapped: only the log is left).
 */
static int prepare(struct move *m, const struct lm_args *a, int first_pv, char *out,
		   const char *list)
{
	struct lm_dminfo info;
	char size[40], thr[32], reg[40];
	bool have_dst = lv_listed(list, m->dst), have_meta = lv_listed(list, m->meta);
	int rc = inspect(m, list);

	if (rc)
		return rc;
	/* an earlier run got past its switch: finish that one, never move again */
	{
		struct lm_sbinfo sb;
		bool switched = have_meta && !meta_read_best(m->metapath, &sb) &&
				sb.state == LM_STATE_SWITCHED;

		if (have_meta && !have_dst) {
			/* or killed in the clean-up after the log was zeroed */
			if (switched || lv_tagged(list, m->meta, LM_TAG_FINISHED)) {
				m->phase = PH_CLEANUP;
				return 0;
			}
			lm_err("%s/%s: %s exists but %s does not, and the migration is not switched: "
			       "remove %s (lvremove) and run lvmove again", m->vg, m->lv, m->meta,
			       m->dst, m->metapath);
			return LM_EXIT_ERROR;
		}
		if (switched) {
			m->phase = PH_SWITCH;
			return 0;
		}
	}
	m->phase = PH_COPY;

	/* 1: allocate (or find what an earlier run allocated) */
	m->step = "allocate";
	if (!have_dst) {
		snprintf(size, sizeof(size), "%" PRIu64 "s", m->sectors);
		if (lvcreate_on(m, a, first_pv, m->dst, size, out))
			return LM_EXIT_ERROR;
		crash_point("after-alloc-dest");
	}
	if (!have_meta) {
		uint64_t region = a->region_sectors ? a->region_sectors : LM_DEFAULT_REGION_SECTORS;

		/* what 'metadata measure' says, rounded up by lvcreate to whole extents */
		snprintf(size, sizeof(size), "%" PRIu64 "b",
			 meta_bytes_needed(nr_regions_for(m->sectors, region)));
		if (lvcreate_on(m, a, first_pv, m->meta, size, out))
			return LM_EXIT_ERROR;
		crash_point("after-alloc-meta");
	}

	/* 2: start, unless the migration runs already */
	m->step = "start";
	if (lmdm_info(m->dm, &info) || !info.exists) {
		lm_err("%s/%s: its dm device %s is not there", m->vg, m->lv, m->dm);
		return LM_EXIT_NOT_FOUND;
	}
	{
		struct lmdm_table t;
		bool running = false;

		if (!lmdm_get_table(m->dm, false, &t)) {
			running = t.n == 1 && !strcmp(t.t[0].type, LM_TARGET);
			lmdm_table_free(&t);
		}
		if (!running) {
			const char *args[16] = { "start", m->dm, "--meta", m->metapath, "--dest",
						 m->dstpath };
			int n = 6;

			rc = fresh_meta(m, info.uuid);
			if (rc)
				return rc;
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
			rc = run_self(m->json, args);
			if (rc)
				return rc;
			crash_point("after-start");
		}
	}
	return 0;
}

/*
 * After the switch: <lv>_lmdst must be gone.  One tagged livemirror_stale
 * holds the old extents after a written swap (a re-run whose fence step
 * could not name it): remove it.
 */
static int dst_gone(struct move *m, char *out, const char *list)
{
	char name[300];

	if (!lv_listed(list, m->dst))
		return 0;
	snprintf(name, sizeof(name), "%s/%s", m->vg, m->dst);
	if (lv_tagged(list, m->dst, LM_TAG_STALE) &&
	    !lvm(out, (const char *[]){ "lvremove", "-q", "-y", name, NULL }))
		return 0;
	lm_err("%s/%s switched, but %s is still there: the LVM step did not finish; run this "
	       "lvmove again", m->vg, m->lv, name);
	return LM_EXIT_INCOMPLETE;
}

/* Step 5: the metadata's job is done; LVM's metadata now tells where the LV is. */
static int cleanup(struct move *m, const char *list)
{
	char name[300], action[400];
	struct lm_dminfo info;

	m->step = "cleanup";
	/* a run killed between the swap's lvremove and the end of the fence */
	if (lv_tagged(list, m->lv, LM_TAG_MOVED) && !lmdm_info(m->dm, &info) && info.exists &&
	    lm_fence_resolve(info.uuid, NULL, true, false, NULL, action, sizeof(action), NULL))
		return LM_EXIT_INCOMPLETE;
	snprintf(name, sizeof(name), "%s/%s", m->vg, m->meta);
	if (lv_listed(list, m->meta) && lm_meta_lv_remove(m->metapath, "lvmove", "after-scrub")) {
		lm_warn("%s: could not remove the metadata LV; run this lvmove again, or remove it "
			"with 'lvremove %s'", name, name);
		return LM_EXIT_INCOMPLETE;
	}
	m->step = "done";
	if (!m->json)
		printf("%s/%s: moved; LVM's metadata names the new extents\n", m->vg, m->lv);
	return 0;
}

int cmd_lvmove(struct lm_args *a)
{
	struct move *m = calloc(LM_MAX_POS, sizeof(*m));
	char *out = malloc(OUT_MAX), *list = NULL;
	const char *sw[LM_MAX_POS + 2] = { "switch" };
	int n = 0, nsw = 1, rc = 0;

	if (!out || !m) {
		free(out);
		free(m);
		return LM_EXIT_ERROR;
	}
	m[0].json = a->json;
	m[0].step = "inspect";
	/* VG/LV... then PV... (a PV is a path: it starts with '/') */
	while (n < a->npos && a->pos[n][0] != '/')
		n++;
	if (!n || n == a->npos) {
		lm_err("lvmove: %s", !n ? "the first argument must be VG/LV" :
		       "give the PVs to move onto (paths, e.g. /dev/sdc)");
		rc = LM_EXIT_USAGE;
		n = 1;
		goto out;
	}
	for (int i = 0; i < n; i++) {
		m[i].json = a->json;
		m[i].step = "inspect";
		rc = parse_lv(a->pos[i], &m[i]);
		if (rc)
			goto out;
		for (int j = 0; j < i; j++)
			if (!strcmp(m[i].dm, m[j].dm)) {
				lm_err("lvmove: %s/%s given twice", m[i].vg, m[i].lv);
				rc = LM_EXIT_USAGE;
				goto out;
			}
		if (strcmp(m[i].vg, m[0].vg)) {
			lm_err("lvmove: %s/%s and %s/%s are in different VGs: a group moves within "
			       "one VG", m[0].vg, m[0].lv, m[i].vg, m[i].lv);
			rc = LM_EXIT_USAGE;
			goto out;
		}
	}
	/*
	 * A killed earlier run may have left devices suspended: one recover
	 * for all of them, so that a group's coordinator decides its members.
	 */
	{
		const char *rec[LM_MAX_POS + 3] = { "recover", "--live" };
		int nrec = 2;

		for (int i = 0; i < n; i++) {
			struct lm_dminfo info;

			if (!lmdm_info(m[i].dm, &info) && info.exists && info.suspended) {
				m[i].step = "recover";
				rec[nrec++] = m[i].dm;
			}
		}
		rec[nrec] = NULL;
		if (nrec > 2) {
			rc = run_self(m[0].json, rec);
			if (rc)
				goto out;
		}
	}
	list = vg_list(m, n);
	if (!list) {
		rc = LM_EXIT_NOT_FOUND;
		goto out;
	}
	for (int i = 0; i < n && !rc; i++)
		rc = prepare(&m[i], a, n, out, list);
	if (rc)
		goto out;

	/* 3: wait until every started migration is synced */
	for (int i = 0; i < n && !rc; i++) {
		if (m[i].phase != PH_COPY)
			continue;
		m[i].step = "wait";
		rc = run_self(m[i].json, (const char *[]){ "wait", m[i].dm, NULL });
	}
	if (rc)
		goto out;

	/*
	 * 4: switch; the fence swaps each LV's extents in LVM's metadata.
	 * Members an earlier run switched finish on their own (each one's
	 * switch again), then the rest in one group switch: all or none at
	 * one commit point.
	 */
	for (int pass = PH_SWITCH; pass >= PH_COPY && !rc; pass--) {
		nsw = 1;
		for (int i = 0; i < n; i++)
			if ((int)m[i].phase == pass) {
				m[i].step = "switch";
				sw[nsw++] = m[i].dm;
			}
		sw[nsw] = NULL;
		if (nsw > 1)
			rc = run_self(m[0].json, sw);
	}
	if (rc)
		goto out;
	/* what the switch left: one listing for every member's clean-up */
	free(list);
	list = vg_list(m, n);
	if (!list) {
		rc = LM_EXIT_INCOMPLETE;
		goto out;
	}
	for (int i = 0; i < n && !rc; i++)
		if (m[i].phase != PH_CLEANUP)
			rc = dst_gone(&m[i], out, list);
	if (rc)
		goto out;
	for (int i = 0; i < n && !rc; i++)
		rc = cleanup(&m[i], list);
out:
	result(m, n, rc);
	free(list);
	free(out);
	free(m);
	return rc;
}
