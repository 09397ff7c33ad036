// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
#include <errno.h>
#include <libdevmapper.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "dm.h"
#include "exitcodes.h"
#include "util.h"

static char last_error[512];

static void dm_logger(int level, const char *file, int line, int dm_errno,
		      const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	(void)file;
	(void)line;
	(void)dm_errno;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	level &= 7;	/* strip _LOG_STDERR, _LOG_ONCE */
	if (level <= 3 /* _LOG_ERR */)
		snprintf(last_error, sizeof(last_error), "%s", msg);
	if (level <= 3 /* _LOG_ERR */ ? lm_verbose > 0 : lm_verbose > 1)
		fprintf(stderr, "%s: libdevmapper: %s\n", LM_PROG, msg);
}

void lmdm_init(void)
{
	dm_log_with_errno_init(dm_logger);
}

void lmdm_exit(void)
{
	dm_lib_release();
	dm_lib_exit();
}

const char *lmdm_last_error(void)
{
	return last_error[0] ? last_error : "unknown error";
}

static struct dm_task *task(int type, const char *name)
{
	struct dm_task *dmt = dm_task_create(type);

	last_error[0] = 0;
	if (!dmt)
		return NULL;
	if (name && !dm_task_set_name(dmt, name)) {
		dm_task_destroy(dmt);
		return NULL;
	}
	return dmt;
}

static void fill_info(struct dm_task *dmt, struct lm_dminfo *i)
{
	struct dm_info di;
	const char *s;

	memset(i, 0, sizeof(*i));
	if (!dm_task_get_info(dmt, &di) || !di.exists)
		return;
	i->exists = true;
	i->suspended = di.suspended;
	i->live_table = di.live_table;
	i->inactive_table = di.inactive_table;
	i->open_count = di.open_count;
	i->event_nr = di.event_nr;
	i->major = (uint32_t)di.major;
	i->minor = (uint32_t)di.minor;
	s = dm_task_get_name(dmt);
	snprintf(i->name, sizeof(i->name), "%s", s ? s : "");
	s = dm_task_get_uuid(dmt);
	snprintf(i->uuid, sizeof(i->uuid), "%s", s ? s : "");
}

int lmdm_info(const char *name, struct lm_dminfo *i)
{
	struct dm_task *dmt = task(DM_DEVICE_INFO, name);
	int r = -1;

	memset(i, 0, sizeof(*i));
	if (!dmt)
		return -1;
	if (dm_task_run(dmt)) {
		fill_info(dmt, i);
		r = 0;
	}
	dm_task_destroy(dmt);
	return r;
}

int lmdm_info_devno(uint32_t major, uint32_t minor, struct lm_dminfo *i)
{
	struct dm_task *dmt = task(DM_DEVICE_INFO, NULL);
	int r = -1;

	memset(i, 0, sizeof(*i));
	if (!dmt)
		return -1;
	if (dm_task_set_major_minor(dmt, (int)major, (int)minor, 0) && dm_task_run(dmt)) {
		fill_info(dmt, i);
		r = 0;
	}
	dm_task_destroy(dmt);
	return r;
}

int lmdm_resolve(const char *arg, char *name, size_t len)
{
	struct lm_dminfo i;
	struct stat st;

	if (!strncmp(arg, "/dev/mapper/", 12)) {
		arg += 12;
	} else if (arg[0] == '/') {
		if (stat(arg, &st)) {
			lm_err("%s: %s", arg, strerror(errno));
			return LM_EXIT_NOT_FOUND;
		}
		if (!S_ISBLK(st.st_mode)) {
			lm_err("%s is not a block device", arg);
			return LM_EXIT_USAGE;
		}
		if (lmdm_info_devno(major(st.st_rdev), minor(st.st_rdev), &i) || !i.exists) {
			lm_err("%s is not a device-mapper device", arg);
			return LM_EXIT_NOT_FOUND;
		}
		snprintf(name, len, "%s", i.name);
		return LM_EXIT_OK;
	}
	if (!*arg || strlen(arg) >= len || strlen(arg) >= 128) {
		lm_err("bad device name '%s'", arg);
		return LM_EXIT_USAGE;
	}
	snprintf(name, len, "%s", arg);
	if (lmdm_info(name, &i)) {
		lm_err("cannot query device %s: %s (is device-mapper available? are you root?)",
		       name, lmdm_last_error());
		return LM_EXIT_ERROR;
	}
	if (!i.exists) {
		lm_err("device %s not found", name);
		return LM_EXIT_NOT_FOUND;
	}
	return LM_EXIT_OK;
}

int lmdm_table_add(struct lmdm_table *t, uint64_t start, uint64_t len,
		   const char *type, const char *params)
{
	struct lmdm_target *n = realloc(t->t, sizeof(*n) * (size_t)(t->n + 1));

	if (!n)
		return -1;
	t->t = n;
	n += t->n;
	n->start = start;
	n->length = len;
	snprintf(n->type, sizeof(n->type), "%s", type);
	n->params = strdup(params ? params : "");
	if (!n->params)
		return -1;
	t->n++;
	return 0;
}

void lmdm_table_free(struct lmdm_table *t)
{
	for (int i = 0; i < t->n; i++)
		free(t->t[i].params);
	free(t->t);
	t->t = NULL;
	t->n = 0;
}

uint64_t lmdm_table_length(const struct lmdm_table *t)
{
	uint64_t len = 0;

	for (int i = 0; i < t->n; i++)
		len += t->t[i].length;
	return len;
}

int lmdm_get_table(const char *name, bool status, struct lmdm_table *t)
{
	struct dm_task *dmt = task(status ? DM_DEVICE_STATUS : DM_DEVICE_TABLE, name);
	void *next = NULL;
	int r = -1;

	t->n = 0;
	t->t = NULL;
	if (!dmt)
		return -1;
	dm_task_no_open_count(dmt);
	if (!dm_task_run(dmt))
		goto out;
	do {
		uint64_t start, length;
		char *type = NULL, *params = NULL;

		next = dm_get_next_target(dmt, next, &start, &length, &type, &params);
		if (!type)
			break;
		if (lmdm_table_add(t, start, length, type, params)) {
			lmdm_table_free(t);
			goto out;
		}
	} while (next);
	r = 0;
out:
	dm_task_destroy(dmt);
	return r;
}

int lmdm_message(const char *name, const char *msg)
{
	struct dm_task *dmt = task(DM_DEVICE_TARGET_MSG, name);
	int r = -1;

	if (!dmt)
		return -1;
	if (dm_task_set_sector(dmt, 0) && dm_task_set_message(dmt, msg) && dm_task_run(dmt))
		r = 0;
	dm_task_destroy(dmt);
	return r;
}

static int run_simple(int type, const char *name, bool cookie)
{
	struct dm_task *dmt = task(type, name);
	uint32_t ck = 0;
	int r = -1;

	if (!dmt)
		return -1;
	if (cookie && !dm_task_set_cookie(dmt, &ck, 0))
		goto out;
	if (dm_task_run(dmt))
		r = 0;
	if (cookie)
		dm_udev_wait(ck);
out:
	dm_task_destroy(dmt);
	return r;
}

int lmdm_suspend(const char *name)
{
	return run_simple(DM_DEVICE_SUSPEND, name, false);
}

int lmdm_resume(const char *name)
{
	return run_simple(DM_DEVICE_RESUME, name, true);
}

int lmdm_clear(const char *name)
{
	return run_simple(DM_DEVICE_CLEAR, name, false);
}

/*
 * dm_task_retry_remove: a device that is briefly open (udev's blkid, a
 * scanning lvm) gets EBUSY; libdevmapper retries for a few seconds, as
 * 'dmsetup remove --retry' does, instead of leaving the device behind.
 */
int lmdm_remove(const char *name)
{
	struct dm_task *dmt = task(DM_DEVICE_REMOVE, name);
	uint32_t ck = 0;
	int r = -1;

	if (!dmt)
		return -1;
	if (!dm_task_retry_remove(dmt) || !dm_task_set_cookie(dmt, &ck, 0))
		goto out;
	if (dm_task_run(dmt))
		r = 0;
	dm_udev_wait(ck);
out:
	dm_task_destroy(dmt);
	return r;
}

static int add_targets(struct dm_task *dmt, const struct lmdm_table *t)
{
	for (int i = 0; i < t->n; i++)
		if (!dm_task_add_target(dmt, t->t[i].start, t->t[i].length, t->t[i].type,
					t->t[i].params))
			return -1;
	return 0;
}

int lmdm_load(const char *name, const struct lmdm_table *t)
{
	struct dm_task *dmt = task(DM_DEVICE_RELOAD, name);
	int r = -1;

	if (!dmt)
		return -1;
	if (!add_targets(dmt, t) && dm_task_run(dmt))
		r = 0;
	dm_task_destroy(dmt);
	return r;
}

int lmdm_create(const char *name, const char *uuid, const struct lmdm_table *t,
		struct lm_dminfo *out)
{
	return lmdm_create_flags(name, uuid, t, out, 0);
}

int lmdm_create_private(const char *name, const char *uuid, const struct lmdm_table *t,
			struct lm_dminfo *out)
{
	/*
	 * As LVM does for its private layers (-real, -cow, -tdata): udev keeps
	 * the /dev/mapper node but runs no blkid, makes no /dev/disk links and
	 * starts no pvscan on it.
	 */
	return lmdm_create_flags(name, uuid, t, out, DM_UDEV_DISABLE_SUBSYSTEM_RULES_FLAG |
				 DM_UDEV_DISABLE_DISK_RULES_FLAG |
				 DM_UDEV_DISABLE_OTHER_RULES_FLAG);
}

int lmdm_create_flags(const char *name, const char *uuid, const struct lmdm_table *t,
		      struct lm_dminfo *out, uint16_t udev_flags)
{
	struct dm_task *dmt = task(DM_DEVICE_CREATE, name);
	uint32_t ck = 0;
	int r = -1;

	if (!dmt)
		return -1;
	if ((uuid && *uuid && !dm_task_set_uuid(dmt, uuid)) || add_targets(dmt, t) ||
	    !dm_task_set_cookie(dmt, &ck, udev_flags))
		goto out;
	if (dm_task_run(dmt))
		r = 0;
	dm_udev_wait(ck);
	if (!r && out)
		lmdm_info(name, out);
out:
	dm_task_destroy(dmt);
	return r;
}

int lmdm_waitevent(const char *name, uint32_t event_nr)
{
	struct dm_task *dmt = task(DM_DEVICE_WAITEVENT, name);
	int r = -1;

	if (!dmt)
		return -1;
	if (dm_task_set_event_nr(dmt, event_nr)) {
		errno = 0;
		if (dm_task_run(dmt))
			r = 0;
	}
	dm_task_destroy(dmt);
	return r;
}
