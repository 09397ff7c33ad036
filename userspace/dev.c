// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "dev.h"
#include "exitcodes.h"
#include "util.h"

static int parse_majmin(const char *ref, uint32_t *maj, uint32_t *min)
{
	unsigned int a, b;
	char c;

	if (sscanf(ref, "%u:%u%c", &a, &b, &c) != 2)
		return -1;
	*maj = a;
	*min = b;
	return 0;
}

int dev_devno(const char *path, uint32_t *maj, uint32_t *min)
{
	struct stat st;

	if (!parse_majmin(path, maj, min))
		return 0;
	if (stat(path, &st)) {
		lm_err("%s: %s", path, strerror(errno));
		return errno == ENOENT ? LM_EXIT_NOT_FOUND : LM_EXIT_ERROR;
	}
	if (!S_ISBLK(st.st_mode)) {
		lm_err("%s is not a block device", path);
		return LM_EXIT_USAGE;
	}
	*maj = major(st.st_rdev);
	*min = minor(st.st_rdev);
	return 0;
}

int dev_table_ref(const char *path, char *buf, size_t len)
{
	uint32_t a, b;
	int r = dev_devno(path, &a, &b);

	if (r)
		return r;
	snprintf(buf, len, "%u:%u", a, b);
	return 0;
}

int dev_path(const char *ref, char *buf, size_t len)
{
	static char tmpdir[64];
	char p[128], line[256];
	uint32_t a, b;
	struct stat st;
	FILE *f;

	if (parse_majmin(ref, &a, &b)) {
		snprintf(buf, len, "%s", ref);
		return 0;
	}
	snprintf(p, sizeof(p), "/sys/dev/block/%u:%u/uevent", a, b);
	f = fopen(p, "re");
	if (f) {
		while (fgets(line, sizeof(line), f)) {
			if (strncmp(line, "DEVNAME=", 8))
				continue;
			line[strcspn(line, "\n")] = 0;
			snprintf(buf, len, "/dev/%s", line + 8);
			if (!stat(buf, &st) && S_ISBLK(st.st_mode) &&
			    major(st.st_rdev) == a && minor(st.st_rdev) == b) {
				fclose(f);
				return 0;
			}
		}
		fclose(f);
	}
	/* No usable node: make a private one. */
	if (!tmpdir[0]) {
		snprintf(tmpdir, sizeof(tmpdir), "/tmp/livemirror.XXXXXX");
		if (!mkdtemp(tmpdir)) {
			tmpdir[0] = 0;
			lm_err("cannot make a device node for %s: %s", ref, strerror(errno));
			return LM_EXIT_ERROR;
		}
	}
	snprintf(buf, len, "%s/%u_%u", tmpdir, a, b);
	if (mknod(buf, S_IFBLK | 0600, makedev(a, b)) && errno != EEXIST) {
		lm_err("cannot make a device node for %s: %s", ref, strerror(errno));
		return LM_EXIT_ERROR;
	}
	return 0;
}

int dev_size(const char *ref, uint64_t *sectors, uint32_t *lbs)
{
	char path[256];
	uint64_t bytes;
	int fd, r, ss = 512;

	r = dev_path(ref, path, sizeof(path));
	if (r)
		return r;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		lm_err("cannot open %s: %s", ref, strerror(errno));
		return errno == ENOENT || errno == ENXIO ? LM_EXIT_NOT_FOUND : LM_EXIT_ERROR;
	}
	if (ioctl(fd, BLKGETSIZE64, &bytes)) {
		lm_err("%s: cannot get size: %s", ref, strerror(errno));
		close(fd);
		return LM_EXIT_ERROR;
	}
	ioctl(fd, BLKSSZGET, &ss);
	close(fd);
	*sectors = bytes >> 9;
	if (lbs)
		*lbs = (uint32_t)ss;
	return 0;
}
