// SPDX-License-Identifier: GPL-2.0
/*
 * LVM's VG file locks (lvmlock.h).  lvm2's protocol: open with
 * O_CREAT|O_APPEND|O_RDWR, flock(), then check that the path still names
 * the inode we locked (LVM unlinks lock files when it releases them) and
 * retry if not.  An exclusive VG lock first takes "V_<vg>:aux", as LVM
 * does with prioritise_write_locks, so that readers cannot starve it.
 *
 * Runs in the helper's main thread only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "exitcodes.h"
#include "lvmlock.h"
#include "util.h"

double lm_lock_timeout = -1;

const char *lm_lvm_lockdir(void)
{
	const char *d = getenv("LIVEMIRROR_LVM_LOCKDIR");

	return d && *d ? d : "/run/lock/lvm";
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static double lock_timeout(void)
{
	return lm_lock_timeout < 0 ? LM_LOCK_TIMEOUT_DEFAULT : lm_lock_timeout;
}

int lm_flock_path(const char *path, double deadline, int *out_fd, const char *what)
{
	bool told = false;

	for (;;) {
		struct stat a, b;
		int fd = open(path, O_CREAT | O_APPEND | O_RDWR | O_CLOEXEC, 0600);

		if (fd < 0) {
			lm_err("cannot open lock file %s: %s", path, strerror(errno));
			return LM_EXIT_ERROR;
		}
		if (!flock(fd, LOCK_EX | LOCK_NB)) {
			if (!stat(path, &a) && !fstat(fd, &b) && a.st_ino == b.st_ino &&
			    a.st_dev == b.st_dev) {
				*out_fd = fd;
				return 0;
			}
			close(fd);	/* unlinked under us: lock the new file */
			continue;
		}
		close(fd);
		if (errno != EWOULDBLOCK && errno != EINTR) {
			lm_err("cannot lock %s: %s", path, strerror(errno));
			return LM_EXIT_ERROR;
		}
		if (now_mono() >= deadline) {
			lm_err("%s is locked by another command (lock file %s); gave up after "
			       "%.1f s (--lock-timeout)", what, path, lock_timeout());
			return LM_EXIT_LOCKED;
		}
		if (!told) {
			lm_debug("waiting for the lock of %s (%s)", what, path);
			told = true;
		}
		sleep_ms(10);
	}
}

void lm_undo_flock(const char *path, int fd)
{
	struct stat a, b;

	if (!flock(fd, LOCK_EX | LOCK_NB) && !stat(path, &a) && !fstat(fd, &b) &&
	    a.st_ino == b.st_ino)
		unlink(path);
	close(fd);
}

int lm_vg_lock(const char *vg, int *fd)
{
	char path[300], aux[320], what[200];
	double deadline = now_mono() + lock_timeout();
	struct stat st;
	int afd, r;

	if (stat(lm_lvm_lockdir(), &st) && mkdir(lm_lvm_lockdir(), 0700) && errno != EEXIST) {
		lm_err("cannot create %s: %s", lm_lvm_lockdir(), strerror(errno));
		return LM_EXIT_ERROR;
	}
	snprintf(path, sizeof(path), "%s/V_%s", lm_lvm_lockdir(), vg);
	snprintf(aux, sizeof(aux), "%s:aux", path);
	snprintf(what, sizeof(what), "LVM volume group %s", vg);
	r = lm_flock_path(aux, deadline, &afd, what);
	if (r)
		return r;
	r = lm_flock_path(path, deadline, fd, what);
	lm_undo_flock(aux, afd);
	return r;
}

void lm_vg_unlock(const char *vg, int fd)
{
	char path[300];

	snprintf(path, sizeof(path), "%s/V_%s", lm_lvm_lockdir(), vg);
	flock(fd, LOCK_UN);
	lm_undo_flock(path, fd);
}
