// SPDX-License-Identifier: GPL-2.0
#include "dmctl.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/dm-ioctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static int ctl_fd = -1;

static int dm_ioctl_named(unsigned long cmd, const char *name, unsigned int flags,
			  const char *msg)
{
	size_t size = sizeof(struct dm_ioctl) + sizeof(struct dm_target_msg) +
		      (msg ? strlen(msg) + 1 : 0) + 64;
	struct dm_ioctl *io = calloc(1, size);
	int r;

	if (!io)
		return -ENOMEM;
	if (ctl_fd < 0)
		ctl_fd = open("/dev/mapper/control", O_RDWR | O_CLOEXEC);
	if (ctl_fd < 0) {
		free(io);
		return -errno;
	}
	io->version[0] = DM_VERSION_MAJOR;
	io->data_size = (__u32)size;
	io->data_start = sizeof(struct dm_ioctl);
	io->flags = flags;
	snprintf(io->name, sizeof(io->name), "%s", name);
	if (msg) {
		struct dm_target_msg *m = (void *)((char *)io + io->data_start);

		m->sector = 0;
		strcpy(m->message, msg);
	}
	r = ioctl(ctl_fd, cmd, io) ? -errno : 0;
	free(io);
	return r;
}

int dmctl_suspend(const char *name)
{
	return dm_ioctl_named(DM_DEV_SUSPEND, name, DM_SUSPEND_FLAG | DM_SKIP_LOCKFS_FLAG, NULL);
}

int dmctl_resume(const char *name)
{
	return dm_ioctl_named(DM_DEV_SUSPEND, name, 0, NULL);
}

int dmctl_message(const char *name, const char *msg)
{
	return dm_ioctl_named(DM_TARGET_MSG, name, 0, msg);
}
