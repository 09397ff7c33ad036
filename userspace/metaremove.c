// SPDX-License-Identifier: GPL-2.0
/*
 * Scrub and remove a finished migration's metadata LV (metaremove.h says
 * why).  Main thread only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exitcodes.h"
#include "lvmfence.h"
#include "meta.h"
#include "metaremove.h"
#include "util.h"

#define OUT_MAX 16384

static bool tagged(char *out, const char *path, const char *tag)
{
	char *p;

	if (lm_lvm_runv(false, out, OUT_MAX,
			(const char *[]){ "lvs", "--noheadings", "-o", "lv_tags", path, NULL }))
		return false;
	for (p = out; *p == ' '; p++)
		;
	p[strcspn(p, " \n")] = 0;
	return lm_lvm_has_tag(p, tag);
}

bool lm_meta_lv_finished(const char *path)
{
	char *out = malloc(OUT_MAX);
	bool r = out && tagged(out, path, LM_TAG_FINISHED);

	free(out);
	return r;
}

/* Zero both superblock slots; a short write sets no errno, so it is -EIO. */
static int scrub(const char *path, const char *who)
{
	static const char zero[LM_SB_SLOTS * LM_BLOCK_SIZE];
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_EXCL);
	int rc = 0;

	errno = 0;
	if (fd < 0 || pwrite(fd, zero, sizeof(zero), 0) != (ssize_t)sizeof(zero) || fsync(fd))
		rc = errno ? -errno : -EIO;
	if (fd >= 0)
		close(fd);
	if (rc)
		lm_err("%s: cannot zero the log on %s: %s", who, path, strerror(-rc));
	return rc;
}

static int run(char *out, const char *const *args, const char *who, const char *what,
	       const char *path)
{
	if (!lm_lvm_runv(false, out, OUT_MAX, args))
		return 0;
	fprintf(stderr, "%s", out);
	lm_err("%s: cannot %s the metadata LV %s", who, what, path);
	return LM_EXIT_ERROR;
}

int lm_meta_lv_remove(const char *path, const char *who, const char *crash)
{
	char *out = malloc(OUT_MAX);
	int rc = LM_EXIT_ERROR;

	if (!out)
		return rc;
	if (lm_lvm_runv(false, out, OUT_MAX, (const char *[]){ "lvs", path, NULL })) {
		rc = 0;
		goto out;
	}
	if (!tagged(out, path, LM_TAG_FINISHED) &&
	    run(out, (const char *[]){ "lvchange", "-q", "--addtag", LM_TAG_FINISHED, path, NULL },
		who, "tag", path))
		goto out;
	if (scrub(path, who))
		goto out;
	crash_point("%s", crash);
	rc = run(out, (const char *[]){ "lvremove", "-q", "-y", path, NULL }, who, "remove", path);
out:
	free(out);
	return rc;
}
