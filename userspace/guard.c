// SPDX-License-Identifier: GPL-2.0
/*
 * Locks, the suspended-window critical section, the live-table check and
 * the state record (guard.h).
 *
 * Lock files follow lvm2's own protocol (lvmlock.c); the migration locks
 * in LIVEMIRROR_RUNDIR are taken the same way.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "exitcodes.h"
#include "footprint.h"
#include "guard.h"
#include "lvmlock.h"
#include "table.h"
#include "util.h"

#define MAX_LOCKS 160
static struct {
	int fd;
	char path[300];
} locks[MAX_LOCKS];
static int nlocks;

const char *lm_rundir(void)
{
	const char *d = getenv("LIVEMIRROR_RUNDIR");

	return d && *d ? d : "/run/livemirror";
}

static int push_lock(const char *path, double deadline, const char *what)
{
	int fd, r;

	for (int i = 0; i < nlocks; i++)
		if (!strcmp(locks[i].path, path))
			return 0;
	if (nlocks == MAX_LOCKS) {
		lm_err("too many locks");
		return LM_EXIT_ERROR;
	}
	r = lm_flock_path(path, deadline, &fd, what);
	if (r)
		return r;
	locks[nlocks].fd = fd;
	snprintf(locks[nlocks].path, sizeof(locks[nlocks].path), "%s", path);
	nlocks++;
	return 0;
}

/* The VG name of an LVM dm name "vg-lv" ("-" inside names doubled). */
static int lvm_vg_name(const char *dmname, char *vg, size_t len)
{
	size_t n = 0;

	for (const char *p = dmname; *p; p++) {
		if (*p == '-' && p[1] == '-') {
			p++;
		} else if (*p == '-') {
			vg[n] = 0;
			return n ? 0 : -1;
		}
		if (n + 1 >= len)
			return -1;
		vg[n++] = *p;
	}
	return -1;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_vg(const void *a, const void *b)
{
	return strcmp(a, b);
}

static int ensure_dir(const char *d)
{
	if (!mkdir(d, 0700) || errno == EEXIST)
		return 0;
	lm_err("cannot create %s: %s", d, strerror(errno));
	return LM_EXIT_ERROR;
}

int lm_lock_devices(const char *const *names, int n, bool vg)
{
	double t = lm_lock_timeout < 0 ? LM_LOCK_TIMEOUT_DEFAULT : lm_lock_timeout;
	double deadline = now_mono() + t;
	const char **sorted;
	char path[300], vgs[64][128], what[200];
	int nvg = 0, r = 0;

	if (ensure_dir(lm_rundir()))
		return LM_EXIT_ERROR;
	sorted = calloc((size_t)n + 1, sizeof(*sorted));
	if (!sorted)
		return LM_EXIT_ERROR;
	memcpy(sorted, names, sizeof(*sorted) * (size_t)n);
	qsort(sorted, (size_t)n, sizeof(*sorted), cmp_str);
	/* Ours first (LVM never waits on them), sorted to avoid deadlocks. */
	for (int i = 0; i < n && !r; i++) {
		char safe[128];
		size_t k;

		snprintf(safe, sizeof(safe), "%s", sorted[i]);
		for (k = 0; safe[k]; k++)
			if (safe[k] == '/')
				safe[k] = '_';
		snprintf(path, sizeof(path), "%s/%s.lock", lm_rundir(), safe);
		snprintf(what, sizeof(what), "migration %s", sorted[i]);
		r = push_lock(path, deadline, what);
	}
	/* Then LVM's VG locks, in alphabetical order of the VG as LVM takes them. */
	for (int i = 0; i < n && !r && vg; i++) {
		struct lm_dminfo info;
		char v[128];
		bool dup = false;

		if (lmdm_info(sorted[i], &info) || !info.exists || strncmp(info.uuid, "LVM-", 4) ||
		    lvm_vg_name(sorted[i], v, sizeof(v)))
			continue;
		for (int j = 0; j < nvg; j++)
			dup = dup || !strcmp(vgs[j], v);
		if (!dup && nvg < 64)
			snprintf(vgs[nvg++], sizeof(vgs[0]), "%s", v);
	}
	qsort(vgs, (size_t)nvg, sizeof(vgs[0]), cmp_vg);
	if (nvg && !r) {
		struct stat st;

		if (stat(lm_lvm_lockdir(), &st))
			r = ensure_dir(lm_lvm_lockdir());
	}
	for (int i = 0; i < nvg && !r; i++) {
		char aux[320];
		int afd;

		snprintf(path, sizeof(path), "%s/V_%s", lm_lvm_lockdir(), vgs[i]);
		snprintf(aux, sizeof(aux), "%s:aux", path);
		snprintf(what, sizeof(what), "LVM volume group %s", vgs[i]);
		r = lm_flock_path(aux, deadline, &afd, what);
		if (r)
			break;
		r = push_lock(path, deadline, what);
		lm_undo_flock(aux, afd);
	}
	free(sorted);
	return r;
}

void lm_unlock_all(void)
{
	while (nlocks > 0) {
		nlocks--;
		if (!strncmp(locks[nlocks].path, lm_lvm_lockdir(), strlen(lm_lvm_lockdir()))) {
			flock(locks[nlocks].fd, LOCK_UN);
			lm_undo_flock(locks[nlocks].path, locks[nlocks].fd);
		} else {
			close(locks[nlocks].fd);
		}
	}
}

/* ---- critical section ----------------------------------------------------- */

static sigset_t saved_mask;
static bool in_crit, mem_locked;

void lm_crit_enter(void)
{
	sigset_t all;

	if (!in_crit) {
		sigfillset(&all);
		sigprocmask(SIG_BLOCK, &all, &saved_mask);
		in_crit = true;
	}
	if (!mem_locked) {
		if (mlockall(MCL_CURRENT | MCL_FUTURE))
			lm_debug("mlockall failed: %s (continuing)", strerror(errno));
		else
			mem_locked = true;
	}
}

void lm_crit_unlock_mem(void)
{
	if (mem_locked)
		munlockall();
	mem_locked = false;
}

void lm_crit_leave(void)
{
	lm_crit_unlock_mem();
	if (in_crit) {
		fflush(NULL);
		in_crit = false;
		sigprocmask(SIG_SETMASK, &saved_mask, NULL);
	}
}

void lm_crit_save(struct lm_crit_saved *s)
{
	s->in_crit = in_crit;
	s->mem_locked = mem_locked;
}

void lm_crit_restore(const struct lm_crit_saved *s)
{
	if (!s->mem_locked)
		lm_crit_unlock_mem();
	if (!s->in_crit)
		lm_crit_leave();
}

/* ---- the table that went live --------------------------------------------- */

static void squash(const char *in, char *out, size_t len)
{
	size_t n = 0;
	bool sp = true;

	for (; *in && n + 1 < len; in++) {
		if (*in == ' ' || *in == '\t') {
			if (!sp)
				out[n++] = ' ';
			sp = true;
		} else {
			out[n++] = *in;
			sp = false;
		}
	}
	while (n && out[n - 1] == ' ')
		n--;
	out[n] = 0;
}

static bool target_eq(const struct lmdm_target *a, const struct lmdm_target *b)
{
	char x[1024], y[1024], why[128];
	struct lm_table ta, tb;

	if (a->start != b->start || a->length != b->length || strcmp(a->type, b->type))
		return false;
	if (!strcmp(a->type, LM_TARGET)) {
		if (lm_table_parse(a->params, &ta, why, sizeof(why)) ||
		    lm_table_parse(b->params, &tb, why, sizeof(why)))
			return false;
		return !strcmp(ta.meta, tb.meta) && !strcmp(ta.source, tb.source) &&
		       !strcmp(ta.dest, tb.dest) && ta.region_sectors == tb.region_sectors;
	}
	squash(a->params, x, sizeof(x));
	squash(b->params, y, sizeof(y));
	return !strcmp(x, y);
}

bool lm_live_table_is(const char *name, const struct lmdm_table *t)
{
	struct lmdm_table live;
	bool eq;

	if (lmdm_get_table(name, false, &live))
		return false;
	eq = live.n == t->n;
	for (int i = 0; eq && i < t->n; i++)
		eq = target_eq(&live.t[i], &t->t[i]);
	lmdm_table_free(&live);
	return eq;
}

/* ---- state record ------------------------------------------------------------ */

void lm_record_path(const char *name, char *buf, size_t len)
{
	char safe[128];

	snprintf(safe, sizeof(safe), "%s", name);
	for (size_t k = 0; safe[k]; k++)
		if (safe[k] == '/')
			safe[k] = '_';
	snprintf(buf, len, "%s/%s.state", lm_rundir(), safe);
}

/* Footprints from the last record of the same legs, else of the legs now. */
static void fill_feet(const char *name, struct lm_record *r)
{
	struct lm_footprint fp;
	struct lm_record old;

	if (!lm_record_read(name, &old) && !strcmp(old.source, r->source) &&
	    !strcmp(old.dest, r->dest)) {
		if (!r->source_foot[0])
			snprintf(r->source_foot, sizeof(r->source_foot), "%s", old.source_foot);
		if (!r->dest_foot[0])
			snprintf(r->dest_foot, sizeof(r->dest_foot), "%s", old.dest_foot);
	}
	if (!r->source_foot[0] && r->source[0] && !lm_footprint_of(r->source, r->length, &fp))
		lm_foot_format(&fp, r->source_foot, sizeof(r->source_foot));
	if (!r->dest_foot[0] && r->dest[0] && !lm_footprint_of(r->dest, r->length, &fp))
		lm_foot_format(&fp, r->dest_foot, sizeof(r->dest_foot));
}

int lm_record_write(const char *name, const struct lm_record *rec)
{
	char path[300], tmp[320];
	struct lm_record *r;
	FILE *f;
	int fd, ret = -1;

	if (ensure_dir(lm_rundir()))
		return -1;
	r = malloc(sizeof(*r));
	if (!r)
		return -1;
	*r = *rec;
	fill_feet(name, r);
	lm_record_path(name, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		if (fd >= 0)
			close(fd);
		lm_warn("cannot write state record %s: %s", path, strerror(errno));
		goto out;
	}
	fprintf(f, "state=%s\nsource=%s\ndest=%s\nmeta=%s\nhidden=%s\nlength=%llu\n"
		"source_foot=%s\ndest_foot=%s\n", r->state, r->source, r->dest, r->meta,
		r->hidden, r->length, r->source_foot, r->dest_foot);
	if (fflush(f) || fsync(fileno(f))) {
		fclose(f);
		goto out;
	}
	fclose(f);
	if (rename(tmp, path)) {
		lm_warn("cannot write state record %s: %s", path, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	free(r);
	return ret;
}

int lm_record_read(const char *name, struct lm_record *r)
{
	char path[300], line[3200];
	FILE *f;

	memset(r, 0, sizeof(*r));
	lm_record_path(name, path, sizeof(path));
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *v = strchr(line, '=');

		if (!v)
			continue;
		*v++ = 0;
		v[strcspn(v, "\n")] = 0;
		if (!strcmp(line, "state"))
			snprintf(r->state, sizeof(r->state), "%s", v);
		else if (!strcmp(line, "source"))
			snprintf(r->source, sizeof(r->source), "%s", v);
		else if (!strcmp(line, "dest"))
			snprintf(r->dest, sizeof(r->dest), "%s", v);
		else if (!strcmp(line, "meta"))
			snprintf(r->meta, sizeof(r->meta), "%s", v);
		else if (!strcmp(line, "hidden"))
			snprintf(r->hidden, sizeof(r->hidden), "%s", v);
		else if (!strcmp(line, "length"))
			r->length = strtoull(v, NULL, 10);
		else if (!strcmp(line, "source_foot"))
			snprintf(r->source_foot, sizeof(r->source_foot), "%s", v);
		else if (!strcmp(line, "dest_foot"))
			snprintf(r->dest_foot, sizeof(r->dest_foot), "%s", v);
	}
	fclose(f);
	return r->state[0] ? 0 : -1;
}

int lm_record_each(int (*fn)(const char *name, const struct lm_record *r, void *ctx),
		   void *ctx)
{
	struct lm_record *r = malloc(sizeof(*r));
	struct dirent **ents;
	int n, ret = 0;

	if (!r)
		return -1;
	n = scandir(lm_rundir(), &ents, NULL, alphasort);
	for (int i = 0; i < n; i++) {
		char name[256];
		size_t l = strlen(ents[i]->d_name);

		/* names with '/' were recorded as '_': the record says enough */
		if (!ret && l > 6 && l - 6 < sizeof(name) &&
		    !strcmp(ents[i]->d_name + l - 6, ".state")) {
			snprintf(name, sizeof(name), "%.*s", (int)(l - 6), ents[i]->d_name);
			if (!lm_record_read(name, r))
				ret = fn(name, r, ctx);
		}
		free(ents[i]);
	}
	if (n >= 0)
		free(ents);
	free(r);
	return ret;
}
