// SPDX-License-Identifier: GPL-2.0
/*
 * The fake-libdm test harness shared by the tests that run the whole
 * helper (harness.h): forked runs of the CLI, the standard disk set and
 * the switch protocol's invariant.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "meta.h"
#include "table.h"
#include "fakedm.h"
#include "harness.h"

int lm_main(int argc, char **argv);

void hs_begin(const char *name)
{
	snprintf(dir, sizeof(dir), "%s/lm-%.12s-test.XXXXXX",
		 access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm", name);
	if (!mkdtemp(dir))
		abort();
	fk_init();
	signal(SIGPIPE, SIG_IGN);
}

void hs_end(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		printf("# could not remove %s\n", dir);
}

char dir[64], out[16384], err[16384];
char meta[4][128], src[4][64], dst[4][64], vm[4][32];

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
pid_t lm_bg_v(int slot, const char *env, const char *const *argv)
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

int lm_wait(int slot, pid_t pid)
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

int lm_run(const char *env, const char *const *argv)
{
	return lm_wait(0, lm_bg_v(0, env, argv));
}

/* Wait for a child to park at its pause point; false if it exited or timed out. */
bool wait_paused(int slot, pid_t pid, double secs)
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

void dump_diag(void)
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

void make_file(const char *path, off_t size)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || ftruncate(fd, size))
		abort();
	close(fd);
}

/* n VMs on their own source disk, each with a destination disk and fresh metadata. */
void setup(int n, bool lvm)
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

int start_one(int i, const char *env)
{
	/* --force: the fake's legs are not in sysfs for the destination checks */
	return LM(env, "start", vm[i], "--meta", meta[i], "--dest", dst[i], "--force");
}

/* Migrating and synced. */
void setup_synced(int n, bool lvm)
{
	setup(n, lvm);
	for (int i = 0; i < n; i++) {
		if (start_one(i, NULL)) {
			dump_diag();
			fflush(stdout);
			abort();
		}
		fk_set_synced(meta[i], true);
	}
}

/* Which leg serves I/O: 'd' destination, 's' source, '?' neither/unknown. */
char leg_of(int i)
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

bool nothing_suspended(void)
{
	for (int i = 0; i < FK_MAXDEV; i++)
		if (fk->dev[i].used && (fk->dev[i].suspended || fk->dev[i].has_inactive))
			return false;
	return true;
}

/* The invariant: on the destination exactly when the metadata says SWITCHED. */
bool consistent(int i)
{
	uint32_t st = fk_meta_state(meta[i]);
	char l = leg_of(i);

	return l == (st == LM_STATE_SWITCHED ? 'd' : 's');
}

bool hs_invariant(int n)
{
	bool good = nothing_suspended();

	for (int i = 0; i < n; i++)
		good = good && consistent(i);
	if (!good) {
		for (int i = 0; i < n; i++)
			printf("#   %s: leg %c, metadata state %u, suspended %d\n", vm[i], leg_of(i),
			       fk_meta_state(meta[i]), fk_dev_by_name(vm[i]) ?
			       fk_dev_by_name(vm[i])->suspended : -1);
		dump_diag();
	}
	return good;
}

/*
 * Issue 14 item 3: metadata of version 2 bound to legs, as start would
 * meet it (label L, the default region, vm i's geometry).
 */
void make_bound_meta(int i, const char *dev_id, const char *src_id, const char *dst_id)
{
	struct lm_sbinfo sb;
	struct lm_meta m;
	char e[256];

	memset(&sb, 0, sizeof(sb));
	memset(sb.uuid, 0x5a, LM_UUID_LEN);
	sb.state = LM_STATE_COPYING;
	sb.region_sectors = 1024;
	sb.source_sectors = SECTORS;
	sb.dest_sectors = SECTORS * 2;
	sb.nr_regions = nr_regions_for(SECTORS, 1024);
	sb.bitmap_start = LM_BITMAP_START;
	sb.bitmap_blocks = lm_bitmap_blocks(sb.nr_regions);
	sb.nr_bitmaps = 1;
	strcpy(sb.label, "L");
	snprintf(sb.device_id, LM_ID_LEN, "%s", dev_id);
	snprintf(sb.source_id, LM_ID_LEN, "%s", src_id);
	snprintf(sb.dest_id, LM_ID_LEN, "%s", dst_id);
	if (meta_open(&m, meta[i], META_RW_EXCL, e, sizeof(e)))
		abort();
	meta_load(&m);
	if (meta_format(&m, &sb))
		abort();
	meta_close(&m);
}
