// SPDX-License-Identifier: GPL-2.0
/*
 * livemirror events: one line per state change of every migration (or of
 * the devices named), for automation.
 *
 * Driven by device-mapper's global event: DM_DEV_ARM_POLL on the control
 * device, then poll() until any dm device raises an event (the target calls
 * dm_table_event on every state change), is created, removed or renamed.
 * Only then are the devices' statuses read again and compared with what was
 * last printed.  Arming before the scan means no change between the scan
 * and the poll is lost.  Nothing is read while nothing happens.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libdevmapper.h>
#include <linux/dm-ioctl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cmds.h"
#include "dm.h"
#include "exitcodes.h"
#include "result.h"
#include "status.h"
#include "table.h"
#include "util.h"

#define MAX_DEVS 4096

struct dev_state {
	char name[128];
	bool seen;		/* present in the current scan */
	bool lm;		/* a livemirror table is live */
	bool removed;
	struct lm_status st;
};

struct events {
	struct dev_state *d;
	int n;
	const char *const *only;	/* NULL: every device */
	int nonly;
	bool json;
};

static void now_iso(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

/*
 * kind: "initial" (first scan), "new" (became a livemirror device),
 * "change" (state, health or mirroring changed), "detached" (its table is
 * no longer livemirror: switched or cancelled), "removed".  previous is the
 * state before a change, NULL otherwise; for detached and removed, state is
 * the last state seen.
 */
static int emit(const struct events *ev, const struct dev_state *d, const char *kind,
		const char *previous)
{
	const struct lm_status *s = &d->st;
	char t[40];

	now_iso(t, sizeof(t));
	if (ev->json) {
		printf("{\"schema\":1,\"time\":\"%s\",\"device\":", t);
		lm_json_str(stdout, d->name);
		printf(",\"event\":\"%s\",\"state\":\"%s\",\"previous\":", kind, s->state);
		if (previous)
			printf("\"%s\"", previous);
		else
			fputs("null", stdout);
		printf(",\"health\":\"%s\",\"in_sync\":%" PRIu64 ",\"regions\":%" PRIu64
		       ",\"dest_errors\":%" PRIu64 ",\"mirroring\":%s}\n", s->health, s->in_sync,
		       s->nr_regions, s->dest_errors, s->mirroring ? "true" : "false");
	} else {
		printf("%s %s %s %s%s%s health %s in_sync %" PRIu64 "/%" PRIu64
		       " dest_errors %" PRIu64 "\n", t, d->name, kind, s->state,
		       previous ? " was " : "", previous ? previous : "", s->health, s->in_sync,
		       s->nr_regions, s->dest_errors);
	}
	if (fflush(stdout) || ferror(stdout))
		return -1;
	return 0;
}

static bool wanted(const struct events *ev, const char *name)
{
	if (!ev->only)
		return true;
	for (int i = 0; i < ev->nonly; i++)
		if (!strcmp(ev->only[i], name))
			return true;
	return false;
}

static struct dev_state *find(struct events *ev, const char *name)
{
	for (int i = 0; i < ev->n; i++)
		if (!strcmp(ev->d[i].name, name))
			return &ev->d[i];
	if (ev->n == MAX_DEVS)
		return NULL;
	memset(&ev->d[ev->n], 0, sizeof(ev->d[ev->n]));
	snprintf(ev->d[ev->n].name, sizeof(ev->d[ev->n].name), "%s", name);
	return &ev->d[ev->n++];
}

/* Read one device's status; update and print.  -1 when stdout failed. */
static int scan_one(struct events *ev, const char *name, bool initial)
{
	struct dev_state *d = find(ev, name);
	struct lmdm_table t;
	struct lm_status st;
	char why[256];
	bool lm = false;
	int r = 0;

	if (!d)
		return 0;
	d->seen = true;
	if (lmdm_get_table(name, true, &t))
		return 0;	/* removed between the list and now: next scan */
	if (t.n == 1 && !strcmp(t.t[0].type, LM_TARGET) &&
	    !lm_status_parse(t.t[0].params, &st, why, sizeof(why)))
		lm = true;
	else if (t.n == 1 && !strcmp(t.t[0].type, LM_TARGET))
		lm_warn("%s: %s", name, why);
	lmdm_table_free(&t);
	if (lm && !d->lm) {
		d->st = st;
		r = emit(ev, d, initial ? "initial" : "new", NULL);
	} else if (lm && (strcmp(st.state, d->st.state) || strcmp(st.health, d->st.health) ||
			  st.mirroring != d->st.mirroring)) {
		char prev[32];

		snprintf(prev, sizeof(prev), "%s", d->st.state);
		d->st = st;
		r = emit(ev, d, "change", prev);
	} else if (lm) {
		d->st = st;	/* progress only: not an event */
	} else if (d->lm) {
		r = emit(ev, d, "detached", NULL);
	}
	d->lm = lm;
	d->removed = false;
	return r;
}

static int scan(struct events *ev, bool initial)
{
	struct dm_task *dmt = dm_task_create(DM_DEVICE_LIST);
	struct dm_names *names;
	unsigned int next = 0;
	int r = 0;

	if (!dmt)
		return -2;
	names = dm_task_run(dmt) ? dm_task_get_names(dmt) : NULL;
	if (!names) {
		dm_task_destroy(dmt);
		return -2;
	}
	for (int i = 0; i < ev->n; i++)
		ev->d[i].seen = false;
	if (names->dev) {
		do {
			names = (struct dm_names *)((char *)names + next);
			if (wanted(ev, names->name) && scan_one(ev, names->name, initial))
				r = -1;
			next = names->next;
		} while (next && !r);
	}
	dm_task_destroy(dmt);
	for (int i = 0; i < ev->n && !r; i++) {
		struct dev_state *d = &ev->d[i];

		if (d->seen || d->removed)
			continue;
		if (d->lm && emit(ev, d, "removed", NULL))
			r = -1;
		d->lm = false;
		d->removed = true;
	}
	return r;
}

static int arm(int fd)
{
	struct dm_ioctl io;

	memset(&io, 0, sizeof(io));
	io.version[0] = DM_VERSION_MAJOR;
	io.version[1] = 0;
	io.version[2] = 0;
	io.data_size = sizeof(io);
	return ioctl(fd, DM_DEV_ARM_POLL, &io);
}

int cmd_events(struct lm_args *a)
{
	static char names[LM_MAX_POS][128];
	static const char *only[LM_MAX_POS];
	struct events ev = { .json = a->json };
	double deadline = a->timeout >= 0 ? now_mono() + a->timeout : -1;
	int fd, r;

	for (int i = 0; i < a->npos; i++) {
		r = lmdm_resolve(a->pos[i], names[i], sizeof(names[i]));
		if (r)
			return r;
		only[i] = names[i];
	}
	if (a->npos) {
		ev.only = only;
		ev.nonly = a->npos;
	}
	ev.d = calloc(MAX_DEVS, sizeof(*ev.d));
	if (!ev.d) {
		lm_err("out of memory");
		return LM_EXIT_ERROR;
	}
	fd = open("/dev/mapper/control", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		lm_err("cannot open /dev/mapper/control: %s", strerror(errno));
		free(ev.d);
		return errno == ENOENT ? LM_EXIT_NOT_FOUND : LM_EXIT_ERROR;
	}
	for (bool initial = true;; initial = false) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int ms = -1;

		if (arm(fd)) {
			lm_err("DM_DEV_ARM_POLL failed: %s (kernel older than 4.15?)",
			       strerror(errno));
			r = LM_EXIT_ERROR;
			break;
		}
		r = scan(&ev, initial);
		if (r) {
			if (r == -2)
				lm_err("cannot list device-mapper devices: %s", lmdm_last_error());
			r = r == -2 ? LM_EXIT_ERROR : 0;	/* stdout closed: done */
			break;
		}
		if (deadline >= 0) {
			double left = deadline - now_mono();

			if (left <= 0)
				break;
			ms = (int)(left * 1000) + 1;
		}
		r = poll(&p, 1, ms);
		if (r < 0 && errno != EINTR) {
			lm_err("poll: %s", strerror(errno));
			r = LM_EXIT_ERROR;
			break;
		}
		r = 0;
		if (deadline >= 0 && now_mono() >= deadline)
			break;
	}
	close(fd);
	free(ev.d);
	return r;
}
