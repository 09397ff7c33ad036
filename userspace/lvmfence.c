// SPDX-License-Identifier: GPL-2.0
/*
 * The LVM fence (lvmfence.h): LVM commands run as child processes of the
 * helper, their output captured and shown on failure.  lvm2 itself owns
 * its metadata format; the only edit made outside lvm2's own commands is
 * the rename and new uuid of lm_fence_retire, done on vgcfgbackup's text
 * by lvmtext.c and written back by vgcfgrestore.
 *
 * Runs in the helper's main thread only.  LIVEMIRROR_LVM names the lvm
 * binary (default "lvm" in PATH, else /usr/sbin/lvm, else /sbin/lvm).  An
 * LV with no lvm to run fails closed: no switch, no fence step skipped.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dm.h"
#include "exitcodes.h"
#include "guard.h"
#include "lvmfence.h"
#include "lvmlock.h"
#include "lvmtext.h"
#include "util.h"

#define OUT_MAX 16384
#define ARGS_MAX 24

static const char *lvm_bin(void)
{
	const char *b = getenv("LIVEMIRROR_LVM");

	return b && *b ? b : "lvm";
}

/*
 * Run "lvm <args...>" (NULL-terminated), stdin from /dev/null, stdout and
 * stderr into out.  Returns the exit status, 127 when lvm cannot run, -1
 * on a local error.
 */
int lm_lvm_runv(bool locked, char *out, size_t len, const char *const *args)
{
	const char *argv[ARGS_MAX + 4];
	int argc = 0, fds[2], st;
	size_t got = 0;
	double t0 = now_mono();
	pid_t pid;

	argv[argc++] = lvm_bin();
	argv[argc++] = args[0];
	if (locked)
		argv[argc++] = "--nolocking";
	for (int i = 1; argc < ARGS_MAX && args[i]; i++)
		argv[argc++] = args[i];
	argv[argc] = NULL;
	out[0] = 0;
	fflush(NULL);
	if (pipe2(fds, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (!pid) {
		int nul = open("/dev/null", O_RDONLY);
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (nul >= 0)
			dup2(nul, 0);
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		/* our lock files are CLOEXEC; lvm warns about any other fd */
		setenv("LVM_SUPPRESS_FD_WARNINGS", "1", 1);
		execvp(argv[0], (char *const *)argv);
		/* a boot unit or cron job may have no sbin in PATH */
		if (!getenv("LIVEMIRROR_LVM")) {
			execv("/usr/sbin/lvm", (char *const *)argv);
			execv("/sbin/lvm", (char *const *)argv);
		}
		_exit(127);
	}
	close(fds[1]);
	for (;;) {
		ssize_t n;

		if (got + 1 >= len) {
			char sink[512];

			n = read(fds[0], sink, sizeof(sink));
		} else {
			n = read(fds[0], out + got, len - 1 - got);
			if (n > 0)
				got += (size_t)n;
		}
		if (n == 0 || (n < 0 && errno != EINTR))
			break;
	}
	out[got] = 0;
	close(fds[0]);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (!WIFEXITED(st))
		return -1;
	/* -v: each lvm command and its time (lvmove's elapsed time is mostly these) */
	lm_debug("lvm %s%s: exit %d, %.2f s", argv[1], locked ? " --nolocking" : "",
		 WEXITSTATUS(st), now_mono() - t0);
	return WEXITSTATUS(st);
}

void lm_lvm_dm_name(const char *vg, const char *lv, char *out, size_t len)
{
	size_t o = 0;

	for (int part = 0; part < 2; part++) {
		for (const char *p = part ? lv : vg; *p && o + 3 < len; p++) {
			if (*p == '-')
				out[o++] = '-';
			out[o++] = *p;
		}
		if (!part && o + 2 < len)
			out[o++] = '-';
	}
	out[o] = 0;
}

/* lvm_runv with the arguments listed (NULL-terminated). */
static int lvm_run(bool locked, char *out, size_t len, ...)
{
	const char *args[ARGS_MAX + 1];
	int n = 0;
	va_list ap;

	va_start(ap, len);
	for (const char *a; n < ARGS_MAX && (a = va_arg(ap, const char *)); )
		args[n++] = a;
	va_end(ap);
	args[n] = NULL;
	return lm_lvm_runv(locked, out, len, args);
}

/* lvm's output indented, for a message after a failure. */
static void show_output(const char *out)
{
	const char *p = out;

	while (*p) {
		const char *e = strchr(p, '\n');
		int n = e ? (int)(e - p) : (int)strlen(p);

		if (n)
			fprintf(stderr, "  lvm: %.*s\n", n, p);
		p += n + (e ? 1 : 0);
	}
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = 0;
	return s;
}

bool lm_lvm_has_tag(const char *tags, const char *tag)
{
	size_t n = strlen(tag);

	for (const char *p = tags; (p = strstr(p, tag)); p += n)
		if ((p == tags || p[-1] == ',') && (p[n] == 0 || p[n] == ','))
			return true;
	return false;
}

/* The uuid of a livemirror_log_<uuid> tag in tags (comma-separated), or "". */
static void log_tag(const char *tags, char out[33])
{
	size_t k = strlen(LM_TAG_LOG);

	out[0] = 0;
	for (const char *p = tags; (p = strstr(p, LM_TAG_LOG)); p += k) {
		const char *u = p + k;
		size_t n = 0;

		if (p != tags && p[-1] != ',')
			continue;
		while (n < 32 && isxdigit((unsigned char)u[n]))
			n++;
		if (n == 32 && (!u[n] || u[n] == ',' || u[n] == ' ' || u[n] == '\n')) {
			memcpy(out, u, 32);
			out[32] = 0;
			return;
		}
	}
}

static int find_sel(const char *what, const char *sel, const char *uuid_a, bool locked,
		    struct lm_lv *lv, const char *uuid_b, struct lm_lv *b, int *rb);

/* "lv_uuid=<dashed>" of an LVM dm uuid into sel; -1 when it is none */
static int uuid_sel(const char *dm_uuid, char *dashed, size_t dlen, char *sel, size_t slen)
{
	if (strncmp(dm_uuid, "LVM-", 4) || strlen(dm_uuid) < 68 ||
	    lvmtext_uuid_dashed(dm_uuid + 36, dashed, dlen))
		return -1;
	snprintf(sel, slen, "lv_uuid=%s", dashed);
	return 0;
}

int lm_lvm_find(const char *dm_uuid, bool locked, struct lm_lv *lv)
{
	char dashed[40], sel[64];

	memset(lv, 0, sizeof(*lv));
	if (uuid_sel(dm_uuid, dashed, sizeof(dashed), sel, sizeof(sel)))
		return 1;
	return find_sel(dm_uuid, sel, dashed, locked, lv, NULL, NULL, NULL);
}

/*
 * Two LVs by dm uuid in one lvs (each lvm command costs a process and a
 * metadata scan: the switch's fence steps are most of its time): *ra and
 * *rb as lm_lvm_find returns them, the result an error (LM_EXIT_NOT_FOUND) when LVM
 * cannot be asked, else 0.
 */
static int find_two(const char *uuid_a, const char *uuid_b, bool locked, struct lm_lv *a,
		    int *ra, struct lm_lv *b, int *rb)
{
	char da[40], db[40], sa[64], sb[64], sel[140];
	int r;

	memset(a, 0, sizeof(*a));
	memset(b, 0, sizeof(*b));
	*ra = *rb = 1;
	if (uuid_sel(uuid_a, da, sizeof(da), sa, sizeof(sa)))
		return 0;
	if (uuid_sel(uuid_b, db, sizeof(db), sb, sizeof(sb))) {
		*ra = find_sel(uuid_a, sa, da, locked, a, NULL, NULL, NULL);
		return *ra == 1 ? 0 : *ra;
	}
	snprintf(sel, sizeof(sel), "%s||%s", sa, sb);
	r = find_sel(uuid_a, sel, da, locked, a, db, b, rb);
	if (r != 0 && r != 1)
		return r;
	*ra = r;
	return 0;
}

/* The LV named vg/name (1 when LVM knows none). */
static int find_name(const char *vg, const char *name, bool locked, struct lm_lv *lv)
{
	char sel[300];

	memset(lv, 0, sizeof(*lv));
	snprintf(sel, sizeof(sel), "vg_name=%s&&lv_name=%s", vg, name);
	return find_sel(name, sel, NULL, locked, lv, NULL, NULL, NULL);
}

static void parse_lv_line(char *const f[9], struct lm_lv *lv)
{
	/* lv_active_exclusively is 1 for any locally active LV in 2.03.16 */
	snprintf(lv->lock_type, sizeof(lv->lock_type), "%s", trim(f[7]));
	lv->shared = lv->lock_type[0] && strcmp(lv->lock_type, "none");
	lv->sectors = strtoull(trim(f[6]), NULL, 10);
	snprintf(lv->vg, sizeof(lv->vg), "%s", trim(f[0]));
	snprintf(lv->lv, sizeof(lv->lv), "%s", trim(f[1]));
	snprintf(lv->lvuuid, sizeof(lv->lvuuid), "%s", trim(f[2]));
	lv->skip = !strcmp(trim(f[3]), "1");
	lv->autoact = !strcmp(trim(f[4]), "1");
	lv->switching = lm_lvm_has_tag(trim(f[5]), LM_TAG_SWITCHING);
	lv->stale = lm_lvm_has_tag(f[5], LM_TAG_STALE);
	lv->moved = lm_lvm_has_tag(f[5], LM_TAG_MOVED);
	lv->prior_skip = lm_lvm_has_tag(f[5], LM_TAG_PRIOR_SKIP);
	lv->prior_noauto = lm_lvm_has_tag(f[5], LM_TAG_PRIOR_NOAUTO);
	log_tag(f[5], lv->log);
}

/*
 * The LV that selection sel picks into *lv (0, or 1 for none; uuid_a, if
 * given, must be its uuid, dashed); with uuid_b, the line of that LV goes
 * to *b instead, *rb 0 or 1.
 */
static int find_sel(const char *what, const char *sel, const char *uuid_a, bool locked,
		    struct lm_lv *lv, const char *uuid_b, struct lm_lv *b, int *rb)
{
	const char *dm_uuid = what;
	char *out, *line, *save;
	int rc;

	/*
	 * Errors are never 1 (LM_EXIT_ERROR), which callers read as "not an
	 * LVM LV": that would fail open.  LM_EXIT_NOT_FOUND: LVM cannot be
	 * asked (no lvm binary, lvs failed).
	 */
	out = malloc(OUT_MAX);
	if (!out)
		return LM_EXIT_NOT_FOUND;
	rc = lvm_run(locked, out, OUT_MAX, "lvs", "-a", "--noheadings", "--binary",
		     "--units", "s", "--nosuffix", "--separator", "|", "-o",
		     "vg_name,lv_name,lv_uuid,lv_skip_activation,autoactivation,lv_tags,lv_size,"
		     "vg_lock_type,lv_active_exclusively",
		     "-S", sel, NULL);
	if (rc == 127) {
		/*
		 * An LV that LVM made, and no lvm to fence it with: fail closed,
		 * as LVM (another PATH, another host of the VG) could bring it
		 * back on the old extents after a switch.
		 */
		lm_err("%s is an LVM LV but '%s' cannot be run (not in PATH, /usr/sbin or /sbin): "
		       "the LVM fence needs it; set LIVEMIRROR_LVM to the lvm binary", dm_uuid,
		       lvm_bin());
		free(out);
		return LM_EXIT_NOT_FOUND;
	}
	if (rc) {
		lm_err("cannot ask LVM about the LV %s ('lvm lvs' exit %d)", what, rc);
		show_output(out);
		free(out);
		return LM_EXIT_NOT_FOUND;
	}
	rc = 1;
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[9], *p = trim(line);
		int n = 0;

		while (n < 9 && (f[n] = strsep(&p, "|")))
			n++;
		if (n < 9)
			continue;
		if (uuid_b && !strcmp(trim(f[2]), uuid_b)) {
			parse_lv_line(f, b);
			*rb = 0;
			continue;
		}
		if (uuid_a && strcmp(trim(f[2]), uuid_a))
			continue;
		parse_lv_line(f, lv);
		rc = 0;
	}
	free(out);
	return rc;
}

/*
 * Clear the fence of lv (its tag @tag: livemirror_switching, or
 * livemirror_moved after a swap) and put back the activation skip and
 * autoactivation the arm found.  lvm's exit status; its output in out.
 */
static int unfence(const struct lm_lv *lv, bool locked, const char *tag, char *out)
{
	char name[260], logtag[64];

	snprintf(name, sizeof(name), "%s/%s", lv->vg, lv->lv);
	snprintf(logtag, sizeof(logtag), "%s%s", lv->log[0] ? LM_TAG_LOG : tag, lv->log);
	/* --deltag of a tag the LV lacks is harmless: repeat the fence's own */
	return lvm_run(locked, out, OUT_MAX, "lvchange", "-y", "--setactivationskip",
		       lv->prior_skip ? "y" : "n", "--setautoactivation",
		       lv->prior_noauto ? "n" : "y", "--deltag", tag,
		       "--deltag", lv->prior_skip ? LM_TAG_PRIOR_SKIP : tag,
		       "--deltag", lv->prior_noauto ? LM_TAG_PRIOR_NOAUTO : tag,
		       "--deltag", logtag, name, NULL);
}

/* unfence() with the output shown on failure. */
static int unfence_show(const struct lm_lv *lv, bool locked, const char *tag)
{
	char *out = malloc(OUT_MAX);
	int rc;

	if (!out)
		return LM_EXIT_ERROR;
	rc = unfence(lv, locked, tag, out);
	if (rc) {
		lm_err("%s/%s: clearing the fence failed ('lvm lvchange' exit %d)", lv->vg, lv->lv,
		       rc);
		show_output(out);
	}
	free(out);
	return rc;
}

int lm_fence_arm(struct lm_lv *lv, bool locked, const char *log)
{
	char name[260], *out = malloc(OUT_MAX);
	int rc;

	if (!out)
		return LM_EXIT_ERROR;
	snprintf(name, sizeof(name), "%s/%s", lv->vg, lv->lv);
	/*
	 * Metadata only: lvchange reloads no table for these (measured on
	 * 2.03.16).  Armed already (a re-run): the flags are ours, the prior
	 * tags from the first arm stay.
	 */
	if (!lv->switching && (lv->log[0] || lv->prior_skip || lv->prior_noauto)) {
		/* tags an earlier, unfinished arm left: the flags now are the truth */
		char old[64];

		snprintf(old, sizeof(old), "%s%s", lv->log[0] ? LM_TAG_LOG : LM_TAG_SWITCHING,
			 lv->log);
		rc = lvm_run(locked, out, OUT_MAX, "lvchange", "-y", "--deltag", old, "--deltag",
			     LM_TAG_PRIOR_SKIP, "--deltag", LM_TAG_PRIOR_NOAUTO, name, NULL);
		if (rc) {
			lm_err("%s: cannot clear the tags of an earlier switch ('lvm lvchange' exit "
			       "%d); nothing switched", name, rc);
			show_output(out);
			free(out);
			return LM_EXIT_ERROR;
		}
		lv->log[0] = 0;
		lv->prior_skip = lv->prior_noauto = false;
	}
	{
		bool first = !lv->switching;
		char logtag[64];

		snprintf(logtag, sizeof(logtag), "%s%s", log && first ? LM_TAG_LOG :
			 LM_TAG_SWITCHING, log && first ? log : "");
		rc = lvm_run(locked, out, OUT_MAX, "lvchange", "-y", "--setactivationskip", "y",
			     "--setautoactivation", "n", "--addtag", LM_TAG_SWITCHING,
			     "--addtag", first && lv->skip ? LM_TAG_PRIOR_SKIP : LM_TAG_SWITCHING,
			     "--addtag", first && !lv->autoact ? LM_TAG_PRIOR_NOAUTO :
			     LM_TAG_SWITCHING, "--addtag", logtag, name, NULL);
	}
	if (rc) {
		lm_err("%s: cannot fence the LV in LVM's metadata before the switch ('lvm lvchange' "
		       "exit %d); nothing switched", name, rc);
		show_output(out);
	} else {
		lm_note("%s: activation skip, autoactivation off and tag %s set before the "
			"commit", name, LM_TAG_SWITCHING);
		/* what the metadata now says, for a disarm by this same run */
		if (!lv->switching) {
			lv->prior_skip = lv->skip;
			lv->prior_noauto = !lv->autoact;
			snprintf(lv->log, sizeof(lv->log), "%s", log ? log : "");
		}
		lv->switching = lv->skip = true;
		lv->autoact = false;
	}
	free(out);
	return rc ? LM_EXIT_ERROR : 0;
}

int lm_fence_disarm(const struct lm_lv *lv, bool locked)
{
	char name[260], *out = malloc(OUT_MAX);
	int rc;

	if (!out)
		return LM_EXIT_ERROR;
	snprintf(name, sizeof(name), "%s/%s", lv->vg, lv->lv);
	rc = unfence(lv, locked, LM_TAG_SWITCHING, out);
	if (rc) {
		lm_err("%s: the switch did not commit (the source stays authoritative) but the "
		       "LV's fence could not be cleared ('lvm lvchange' exit %d): run 'livemirror "
		       "recover --live' (or by hand: 'lvchange -k%s --setautoactivation %s --deltag "
		       "%s --deltag %s%s --deltag %s --deltag %s %s')", name, rc,
		       lv->prior_skip ? "y" : "n", lv->prior_noauto ? "n" : "y", LM_TAG_SWITCHING,
		       lv->log[0] ? LM_TAG_LOG : LM_TAG_SWITCHING, lv->log, LM_TAG_PRIOR_SKIP,
		       LM_TAG_PRIOR_NOAUTO, name);
		show_output(out);
	}
	free(out);
	return rc ? LM_EXIT_ERROR : 0;
}

static char *read_all(const char *path)
{
	struct stat st;
	char *buf;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) || st.st_size <= 0 || st.st_size > (64 << 20)) {
		close(fd);
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	n = buf ? read(fd, buf, (size_t)st.st_size) : -1;
	close(fd);
	if (n != st.st_size) {
		free(buf);
		return NULL;
	}
	buf[n] = 0;
	return buf;
}

static int write_all(const char *path, const char *text)
{
	size_t len = strlen(text);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, text, len);
	if (close(fd) || n != (ssize_t)len)
		return -1;
	return 0;
}

/* A fresh 0700 directory for vgcfgbackup's file (TMPDIR, else /tmp). */
static int private_dir(char *dir, size_t len)
{
	const char *t = getenv("TMPDIR");

	snprintf(dir, len, "%s/livemirror-lvm.XXXXXX", t && *t ? t : "/tmp");
	if (mkdtemp(dir))
		return 0;
	lm_err("cannot create a directory in %s: %s", t && *t ? t : "/tmp", strerror(errno));
	dir[0] = 0;
	return -1;
}

/*
 * The end of an edit: its directory removed after success, kept after a
 * failure (the texts before and after tell what was attempted).
 */
static void edit_dir_done(const char *dir, bool ok)
{
	char path[300];

	if (!dir[0])
		return;
	if (!ok) {
		lm_note("VG metadata before and after the edit kept in %s", dir);
		return;
	}
	snprintf(path, sizeof(path), "%s/before", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/after", dir);
	unlink(path);
	rmdir(dir);
}

static int new_lvm_uuid(char *out, size_t len)
{
	static const char set[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
	uint8_t rnd[32];
	char raw[33];

	if (random_bytes(rnd, sizeof(rnd)))
		return -1;
	for (int i = 0; i < 32; i++)
		raw[i] = set[rnd[i] % 62];
	raw[32] = 0;
	return lvmtext_uuid_dashed(raw, out, len);
}

/* dry: vgcfgrestore --test, nothing written (lm_fence_check) */
static int retire_impl(const struct lm_lv *lv, bool locked, bool dry, char *newname, size_t nlen)
{
	char name[260], dir[200] = "", before[300], after[300], stale[LVMTEXT_NAME_MAX + 32], id[40], why[256];
	char *out = malloc(OUT_MAX), *text = NULL, *edited = NULL;
	int rc = LM_EXIT_ERROR, x;

	if (!out)
		return LM_EXIT_ERROR;
	snprintf(name, sizeof(name), "%s/%s", lv->vg, lv->lv);
	if (private_dir(dir, sizeof(dir)))
		goto out;
	snprintf(before, sizeof(before), "%s/before", dir);
	snprintf(after, sizeof(after), "%s/after", dir);
	x = lvm_run(locked, out, OUT_MAX, "vgcfgbackup", "-f", before, lv->vg, NULL);
	text = x ? NULL : read_all(before);
	if (!text) {
		lm_err("%s: cannot read VG %s's metadata ('lvm vgcfgbackup' exit %d)", name,
		       lv->vg, x);
		show_output(out);
		goto out;
	}
	/* the first free name of <lv>_livemirror_stale, _2, _3 ... */
	for (int i = 1; i < 100; i++) {
		if (i == 1)
			snprintf(stale, sizeof(stale), "%s%s", lv->lv, LM_STALE_SUFFIX);
		else
			snprintf(stale, sizeof(stale), "%s%s_%d", lv->lv, LM_STALE_SUFFIX, i);
		if (!lvmtext_has_lv(text, stale))
			break;
	}
	if (strlen(stale) >= LVMTEXT_NAME_MAX) {
		lm_err("%s: the name %s is too long for LVM: rename the LV shorter first", name,
		       stale);
		goto out;
	}
	if (new_lvm_uuid(id, sizeof(id))) {
		lm_err("no random bytes for a new LVM uuid");
		goto out;
	}
	edited = lvmtext_retire(text, &(struct lvmtext_retire){
		.lvuuid = lv->lvuuid, .oldname = lv->lv, .newname = stale, .newid = id,
		.tag_from = LM_TAG_SWITCHING, .tag_to = LM_TAG_STALE }, why, sizeof(why));
	if (!edited) {
		lm_err("%s: cannot retire the old LV in VG %s's metadata: %s", name, lv->vg, why);
		goto out;
	}
	if (write_all(after, edited)) {
		lm_err("cannot write %s: %s", after, strerror(errno));
		goto out;
	}
	if (!dry)
		crash_point("before-vgcfgrestore");
	/* -y: lvm asks because the VG has active LVs; their tables are not touched */
	x = dry ? lvm_run(locked, out, OUT_MAX, "vgcfgrestore", "--test", "-y", "-f", after,
			  lv->vg, NULL) :
		  lvm_run(locked, out, OUT_MAX, "vgcfgrestore", "-y", "-f", after, lv->vg, NULL);
	if (x) {
		lm_err("%s: %s VG %s's metadata with the old LV retired failed ('lvm vgcfgrestore%s'"
		       " exit %d)%s", name, dry ? "a trial write of" : "writing", lv->vg,
		       dry ? " --test" : "", x, dry ? "; nothing switched" : "");
		show_output(out);
		goto out;
	}
	if (dry) {
		rc = 0;
		goto out;
	}
	crash_point("after-vgcfgrestore");
	lm_note("%s: LVM's LV renamed %s/%s and given a new uuid: no LVM command can load it "
		"into the switched device again", name, lv->vg, stale);
	if (newname)
		snprintf(newname, nlen, "%s/%s", lv->vg, stale);
	rc = 0;
out:
	edit_dir_done(dir, !rc);
	free(edited);
	free(text);
	free(out);
	return rc;
}

int lm_fence_retire(const struct lm_lv *lv, bool locked, char *newname, size_t nlen)
{
	return retire_impl(lv, locked, false, newname, nlen);
}

/*
 * Run one lvm command on vg/lv: the arguments given (NULL-terminated),
 * then "vg/lv".  0 or its exit status, the output shown on failure.
 */
static int lvm_on(bool locked, const char *what, const char *vg, const char *lv, ...)
{
	const char *args[ARGS_MAX + 1];
	char name[260], *out = malloc(OUT_MAX);
	int rc, n = 0;
	va_list ap;

	if (!out)
		return -1;
	snprintf(name, sizeof(name), "%s/%s", vg, lv);
	va_start(ap, lv);
	for (const char *x; n < ARGS_MAX - 1 && (x = va_arg(ap, const char *)); )
		args[n++] = x;
	va_end(ap);
	args[n++] = name;
	args[n] = NULL;
	rc = lm_lvm_runv(locked, out, OUT_MAX, args);
	if (rc) {
		lm_err("%s: %s failed ('lvm %s' exit %d)", name, what, args[0], rc);
		show_output(out);
	}
	free(out);
	return rc;
}

/* Is @word one of the space-separated words of @s? */
static bool has_word(const char *s, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = s; (p = strstr(p, word)); p += n)
		if ((p == s || p[-1] == ' ') && (p[n] == ' ' || !p[n]))
			return true;
	return false;
}

/*
 * Before the swap: while the switched LV's table stacks on b's device, the
 * swap would leave b's device mapping the new extents under metadata that
 * names the old ones, and a refresh of b (killed helper, admin) would put
 * the LV on the old data.  So the LV takes b's own table first (the same
 * extents, one layer less): from then on no command on b can reach the LV.
 * b's device stays until the lvremove (a re-run of the switch recognises
 * the LV's table as b's).  Nothing to do when b is not active.
 */
static int unlink_dest(const struct lm_lv *a, const struct lm_lv *b)
{
	char an[300], bn[300], devno[24];
	struct lm_dminfo ai, bi;
	struct lmdm_table at, bt = { 0 };
	bool stacked = false;
	int rc = LM_EXIT_ERROR;

	lm_lvm_dm_name(a->vg, a->lv, an, sizeof(an));
	lm_lvm_dm_name(b->vg, b->lv, bn, sizeof(bn));
	if (lmdm_info(bn, &bi) || !bi.exists)
		return 0;
	snprintf(devno, sizeof(devno), "%u:%u", bi.major, bi.minor);
	if (!lmdm_info(an, &ai) && ai.exists && !lmdm_get_table(an, false, &at)) {
		for (int i = 0; i < at.n; i++)
			stacked |= has_word(at.t[i].params, devno);
		lmdm_table_free(&at);
	}
	if (stacked) {
		if (lmdm_get_table(bn, false, &bt)) {
			lm_err("%s: cannot read its table: %s", bn, lmdm_last_error());
			return LM_EXIT_ERROR;
		}
		if (lmdm_table_length(&bt) != a->sectors) {
			lm_err("%s: %s maps %" PRIu64 " sectors, the LV has %llu: not swapped", an,
			       bn, lmdm_table_length(&bt), a->sectors);
			goto out;
		}
		struct lm_crit_saved crit;
		bool bad;

		/* as any suspend: no page fault on, no signal in, a suspended device */
		lm_crit_save(&crit);
		lm_crit_enter();
		bad = lmdm_load(an, &bt) || lmdm_suspend(an) || lmdm_resume(an);
		if (bad) {
			lm_err("%s: cannot map %s's extents directly: %s", an, bn,
			       lmdm_last_error());
			lmdm_clear(an);
			if (lmdm_resume(an))
				lm_err("%s is left SUSPENDED: run 'livemirror recover --live %s'", an,
				       an);
		}
		lm_crit_restore(&crit);
		if (bad)
			goto out;
		crash_point("after-unstack");
	}
	rc = 0;
out:
	if (stacked)
		lmdm_table_free(&bt);
	return rc;
}

/*
 * A move within one VG (lvmfence.h, "swap"): LV a takes b's segments, b
 * a's (tags livemirror_moved on a, livemirror_stale on b); then a's table
 * is refreshed from LVM's metadata (linear over the new extents, which
 * hold the same data as b), b, which now owns the old extents, removed,
 * and a's fence cleared last.  Each step can be repeated after a crash.
 */
static int fence_swap(const struct lm_lv *a, const struct lm_lv *b, bool locked, bool dry,
		      char *action, size_t len)
{
	char dir[200] = "", before[300], after[300], why[256], *out = NULL, *text = NULL;
	char *edited = NULL;
	int rc = LM_EXIT_ERROR, x;

	if (!a->moved) {
		out = malloc(OUT_MAX);
		if (!out || private_dir(dir, sizeof(dir)))
			goto out;
		snprintf(before, sizeof(before), "%s/before", dir);
		snprintf(after, sizeof(after), "%s/after", dir);
		x = lvm_run(locked, out, OUT_MAX, "vgcfgbackup", "-f", before, a->vg, NULL);
		text = x ? NULL : read_all(before);
		if (!text) {
			lm_err("%s/%s: cannot read VG %s's metadata ('lvm vgcfgbackup' exit %d)",
			       a->vg, a->lv, a->vg, x);
			show_output(out);
			goto out;
		}
		edited = lvmtext_swap(text, &(struct lvmtext_swap){
			.uuid_a = a->lvuuid, .uuid_b = b->lvuuid, .tag_a_from = LM_TAG_SWITCHING,
			.tag_a_to = LM_TAG_MOVED, .tag_b_to = LM_TAG_STALE }, why, sizeof(why));
		if (!edited) {
			lm_err("%s/%s: cannot give it the extents of %s in LVM's metadata: %s",
			       a->vg, a->lv, b->lv, why);
			goto out;
		}
		if (write_all(after, edited)) {
			lm_err("cannot write %s: %s", after, strerror(errno));
			goto out;
		}
		if (dry) {
			x = lvm_run(locked, out, OUT_MAX, "vgcfgrestore", "--test", "-y", "-f", after,
				    a->vg, NULL);
			if (x) {
				lm_err("%s/%s: a trial write of VG %s's metadata with the extents "
				       "swapped failed ('lvm vgcfgrestore --test' exit %d); nothing "
				       "switched", a->vg, a->lv, a->vg, x);
				show_output(out);
			} else {
				rc = 0;
			}
			goto out;
		}
		if (unlink_dest(a, b))
			goto out;
		crash_point("before-swap");
		x = lvm_run(locked, out, OUT_MAX, "vgcfgrestore", "-y", "-f", after, a->vg, NULL);
		if (x) {
			lm_err("%s/%s: writing VG %s's metadata with the extents swapped failed "
			       "('lvm vgcfgrestore' exit %d)", a->vg, a->lv, a->vg, x);
			show_output(out);
			goto out;
		}
		crash_point("after-swap");
	}
	/* LVM's own table now: linear over the new extents, the same data as b */
	if (lvm_on(locked, "refresh onto the new extents", a->vg, a->lv, "lvchange", "--refresh",
		   NULL))
		goto out;
	crash_point("after-refresh");
	/* before the fence goes: a's tag livemirror_moved tells a re-run what is left */
	if (lvm_on(locked, "removing the old extents' LV", a->vg, b->lv, "lvremove", "-y", NULL))
		goto out;
	crash_point("after-lvremove");
	if (unfence_show(a, locked, LM_TAG_MOVED))
		goto out;
	crash_point("after-unfence");
	if (action)
		snprintf(action, len, "LVM: %s/%s now maps the new extents (LVM's own table); %s "
			 "removed with the old extents", a->vg, a->lv, b->lv);
	lm_note("%s/%s moved within VG %s: LVM's metadata names the new extents", a->vg, a->lv,
		a->vg);
	rc = 0;
out:
	edit_dir_done(dir, !rc);
	free(edited);
	free(text);
	free(out);
	return rc;
}

/* Is the destination (dm uuid) an LV of the same VG as the device? */
static bool same_vg(const char *dm_uuid, const char *dest_uuid)
{
	return dest_uuid && !strncmp(dest_uuid, "LVM-", 4) && strlen(dest_uuid) >= 68 &&
	       !strncmp(dm_uuid, dest_uuid, 36);
}

/*
 * Only lvmove's own destination (<lv>_lmdst) is swapped and removed: any
 * other LV given as --dest belongs to its user and is kept (the old LV is
 * retired instead).
 */
static bool swappable(const struct lm_lv *lv, const struct lm_lv *b)
{
	char want[LVMTEXT_NAME_MAX + 16];

	snprintf(want, sizeof(want), "%s_lmdst", lv->lv);
	return !strcmp(b->lv, want) && b->sectors == lv->sectors;
}

static int resolve(const char *dm_uuid, const char *dest_uuid, bool dest, bool locked,
		   const char *log, char *action, size_t len, bool *moved)
{
	struct lm_lv lv, b;
	char stale[300];
	bool same = dest && same_vg(dm_uuid, dest_uuid);
	int r, rb = 1;

	if (action && len)
		action[0] = 0;
	if (moved)
		*moved = false;
	/* the destination of a move within the VG comes with the same lvs */
	if (same) {
		int e = find_two(dm_uuid, dest_uuid, locked, &lv, &r, &b, &rb);

		if (e)
			return e;
	} else {
		r = lm_lvm_find(dm_uuid, locked, &lv);
	}
	if (r == 1)
		return 0;
	if (r)
		return r;
	/* a fence another migration armed is that migration's to resolve */
	if (log && lv.log[0] && strcasecmp(log, lv.log)) {
		lm_note("%s/%s: its LVM fence belongs to the migration with log %s, not %s: "
			"left alone", lv.vg, lv.lv, lv.log, log);
		return 0;
	}
	if (dest) {
		char want[LVMTEXT_NAME_MAX + 16];

		r = rb;
		/*
		 * The destination's device can be gone (a re-run after a reboot
		 * knows it only by device number): lvmove's own <lv>_lmdst, by
		 * name, is the same LV.
		 */
		snprintf(want, sizeof(want), "%s_lmdst", lv.lv);
		if (r == 1 && (lv.moved || lv.switching)) {
			r = find_name(lv.vg, want, locked, &b);
			if (r != 0 && r != 1)
				return r;
			same = same || !r;
		}
		/*
		 * Never swap twice: the destination LV is tagged
		 * livemirror_stale by the same vgcfgrestore that writes the
		 * swap, so a stale one means that the swap is written (and
		 * the fence perhaps cleared since); a second swap would give
		 * the LV its old extents back.  Any other LV than lvmove's own
		 * destination is not swapped: the LV is retired.
		 */
		if (r == 0 && !lv.moved) {
			if (!swappable(&lv, &b)) {
				r = 1;
				same = false;
			} else if (b.stale) {
				r = 1;
				lv.switching = false;	/* swapped: only b is left */
			}
		}
		if (r == 0) {
			r = fence_swap(&lv, &b, locked, false, action, len);
			if (!r && moved)
				*moved = true;
			return r;
		}
		if (lv.moved) {	/* swapped; b already removed: the fence is left */
			if (lvm_on(locked, "refresh onto the new extents", lv.vg, lv.lv, "lvchange",
				   "--refresh", NULL) ||
			    unfence_show(&lv, locked, LM_TAG_MOVED))
				return LM_EXIT_ERROR;
			if (moved)
				*moved = true;
			return 0;
		}
		/*
		 * A move within the VG whose destination LV is gone and whose
		 * fence is cleared is finished: LVM's metadata is right.  Any
		 * other LV still known by the switched device's uuid maps stale
		 * extents (armed by us, or switched by a helper before the fence).
		 */
		if (same && !lv.switching) {
			if (moved)
				*moved = true;
			return 0;
		}
		r = lm_fence_retire(&lv, locked, stale, sizeof(stale));
		if (!r && action)
			snprintf(action, len, "LVM: %s/%s retired as %s", lv.vg, lv.lv, stale);
		return r;
	}
	if (!lv.switching)
		return 0;
	r = lm_fence_disarm(&lv, locked);
	if (!r && action)
		snprintf(action, len, "LVM: %s/%s activation skip cleared", lv.vg, lv.lv);
	return r;
}

/*
 * A caller without LVM's VG lock (recover, boot, lvmove's clean-up) gets it
 * here for the whole resolve: a vgcfgbackup and the vgcfgrestore of its
 * edit are two lvm commands, and a change another command made between
 * them would be overwritten.
 */
int lm_fence_resolve(const char *dm_uuid, const char *dest_uuid, bool dest, bool locked,
		     const char *log, char *action, size_t len, bool *moved)
{
	struct lm_lv lv;
	int r, fd;

	if (locked)
		return resolve(dm_uuid, dest_uuid, dest, true, log, action, len, moved);
	r = lm_lvm_find(dm_uuid, false, &lv);
	if (r) {
		if (action && len)
			action[0] = 0;
		if (moved)
			*moved = false;
		return r == 1 ? 0 : r;
	}
	r = lm_vg_lock(lv.vg, &fd);
	if (r)
		return r;
	r = resolve(dm_uuid, dest_uuid, dest, true, log, action, len, moved);
	lm_vg_unlock(lv.vg, fd);
	return r;
}

int lm_lvm_refuse_shared(const char *dm_uuid, bool locked, const char *what)
{
	struct lm_lv lv;
	int r = lm_lvm_find(dm_uuid, locked, &lv);

	if (r == 1)
		return 0;
	if (r)
		return r;
	if (!lv.shared)
		return 0;
	lm_err("%s/%s is in a shared VG (lvmlockd, lock type %s): refusing to %s; the LVM fence "
	       "cannot take lvmlockd's cluster locks yet, and lvm2 2.03 reports every locally "
	       "active LV as exclusive, so a shared activation (-asy) elsewhere cannot be ruled "
	       "out (see livemirror-lvm.rst, Shared VGs)", lv.vg, lv.lv, lv.lock_type, what);
	return LM_EXIT_BUSY;
}

int lm_fence_check(const struct lm_lv *lv, const char *dm_uuid, const char *dest_uuid,
		   bool locked)
{
	struct lm_lv b;

	if (same_vg(dm_uuid, dest_uuid) && !lm_lvm_find(dest_uuid, locked, &b) &&
	    swappable(lv, &b))
		return fence_swap(lv, &b, locked, true, NULL, 0) ? LM_EXIT_ERROR : 0;
	return retire_impl(lv, locked, true, NULL, 0) ? LM_EXIT_ERROR : 0;
}
