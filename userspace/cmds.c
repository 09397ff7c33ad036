// SPDX-License-Identifier: GPL-2.0
/* status, wait and the simple runtime messages. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cmds.h"
#include "dm.h"
#include "exitcodes.h"
#include "guard.h"
#include "live.h"
#include "result.h"
#include "util.h"

static void sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int term_width(void)
{
	struct winsize ws;

	if (!ioctl(1, TIOCGWINSZ, &ws) && ws.ws_col > 20)
		return ws.ws_col;
	return 80;
}

/*
 * The device is no longer a livemirror device: a single linear target over
 * the destination means the switch finished (the table was replaced).
 */
static bool switched_away(const char *name, const char *dest)
{
	struct lmdm_table t;
	uint32_t a, b, c, d;
	bool r = false;

	if (lmdm_get_table(name, false, &t))
		return false;
	if (t.n == 1 && !strcmp(t.t[0].type, "linear") &&
	    sscanf(t.t[0].params, "%u:%u", &a, &b) == 2 && sscanf(dest, "%u:%u", &c, &d) == 2)
		r = a == c && b == d;
	lmdm_table_free(&t);
	return r;
}

/*
 * How status --watch ends, with the codes of wait: 0 synced or switched, 1
 * cancelled, 6 metadata failed, 8 a leg failed (the destination unless its
 * error policy is retry: then the target retries and the watch goes on).
 * -1: go on watching.
 */
static int watch_end(const char *name, const struct lm_status *s, bool dest_retry)
{
	if (!strcmp(s->state, "switched"))
		return 0;
	if (!strcmp(s->state, "cancelled")) {
		lm_err("%s: the migration was cancelled", name);
		return LM_EXIT_ERROR;
	}
	if (!strcmp(s->state, "failed") || s->health[2] == 'D') {
		lm_err("%s: metadata failed", name);
		return LM_EXIT_METADATA;
	}
	if (s->health[0] == 'D') {
		lm_err("%s: source failed (health %s)", name, s->health);
		return LM_EXIT_LEG_FAILED;
	}
	if (lm_status_dest_dead(s) && !dest_retry) {
		lm_err("%s: destination failed (state %s, health %s, %" PRIu64 " errors)", name,
		       s->state, s->health, s->dest_errors);
		return LM_EXIT_LEG_FAILED;
	}
	if (!strcmp(s->state, "synced") && !lm_status_dest_dead(s))
		return 0;
	return -1;
}

int cmd_status(struct lm_args *a)
{
	bool tty = isatty(1) && !a->json;
	struct lm_status prev;
	struct lm_report rep;
	struct lm_live l;
	double t0, t1, interval = a->interval;
	bool dest_retry;
	int r;

	r = lm_live_get(a->pos[0], &l, NULL);
	if (r)
		return r;
	memset(&rep, 0, sizeof(rep));
	rep.device = l.name;
	rep.region_bytes = l.tbl.region_sectors << 9;
	rep.st = l.st;
	rep.rate = rep.eta = -1;
	t0 = now_mono();
	if (!a->watch) {
		if (!strcmp(l.st.state, "copying") && l.st.have_copied_bytes &&
		    l.st.have_copy_ms && l.st.copy_ms) {
			/* The target counts the copy itself: no second sample needed. */
			rep.rate = (double)l.st.copied_bytes * 1000.0 / (double)l.st.copy_ms;
			rep.eta = rep.rate > 0 ? (double)(l.st.nr_regions - l.st.in_sync) *
				  (double)rep.region_bytes / rep.rate : -1;
		} else if (!strcmp(l.st.state, "copying")) {
			prev = l.st;
			sleep_s(interval);
			r = lm_live_refresh_status(&l);
			if (r)
				return r;
			t1 = now_mono();
			rep.st = l.st;
			lm_report_rate(&rep, &prev, t1 - t0);
		} else if (!strcmp(l.st.state, "synced") || !strcmp(l.st.state, "switched")) {
			rep.rate = 0;
			rep.eta = 0;
		} else {
			rep.rate = 0;
		}
		if (a->json)
			lm_print_json(stdout, &rep);
		else if (tty)
			lm_print_human(stdout, &rep, term_width());
		else
			lm_print_kv(stdout, &rep);
		return 0;
	}
	if (interval < 1)
		interval = 1;
	dest_retry = !strcmp(l.tbl.dest_error, "retry");
	for (;;) {
		if (a->json)
			lm_print_json(stdout, &rep);
		else if (tty) {
			fputs("\r\033[K", stdout);
			lm_print_bar_line(stdout, &rep, term_width());
		} else {
			lm_print_kv(stdout, &rep);
			fputs("\n", stdout);
		}
		fflush(stdout);
		r = watch_end(l.name, &rep.st, dest_retry);
		if (r >= 0)
			break;
		prev = rep.st;
		sleep_s(interval);
		if (switched_away(l.name, l.tbl.dest)) {
			/* The switch finished and replaced the table while we slept. */
			if (tty)
				fputc('\n', stdout);
			lm_note("%s: switched (the table now maps the destination %s)", l.name,
				l.tbl.dest);
			return 0;
		}
		r = lm_live_refresh_status(&l);
		if (r)
			return r;
		t1 = now_mono();
		{
			double old_rate = rep.rate;

			rep.st = l.st;
			lm_report_rate(&rep, &prev, t1 - t0);
			/* Smooth the rate a little. */
			if (old_rate > 0 && rep.rate >= 0) {
				rep.rate = 0.7 * rep.rate + 0.3 * old_rate;
				if (rep.rate > 0)
					rep.eta = (double)(rep.st.nr_regions - rep.st.in_sync) *
						  (double)rep.region_bytes / rep.rate;
			}
		}
		t0 = t1;
	}
	if (tty)
		fputc('\n', stdout);
	return r;
}

/* --- wait ------------------------------------------------------------- */

enum { UNTIL_SYNCED, UNTIL_SWITCHED, UNTIL_ANY };

struct waiter {
	const char *name;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	bool checked;		/* the first evaluation is over */
	int result;
	int until;
	bool dest_retry;	/* --dest-error retry: degraded is transient */
	char dest[64];		/* the destination leg, to recognise a switch */
	char state[32];
};

static void wait_checked(struct waiter *w)
{
	pthread_mutex_lock(&w->lock);
	w->checked = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

static int wait_loop(struct waiter *w)
{
	struct lm_dminfo info;
	struct lmdm_table t;
	struct lm_status st, first;
	bool have_first = false, noted = false;
	char why[256];

	for (;;) {
		if (lmdm_info(w->name, &info) || !info.exists) {
			lm_err("%s disappeared", w->name);
			return LM_EXIT_NOT_FOUND;
		}
		/* event_nr first: any change after this wakes the wait below. */
		if (lmdm_get_table(w->name, true, &t)) {
			lm_err("%s: cannot read status: %s", w->name, lmdm_last_error());
			return LM_EXIT_ERROR;
		}
		if (t.n != 1 || strcmp(t.t[0].type, LM_TARGET)) {
			lmdm_table_free(&t);
			if (switched_away(w->name, w->dest)) {
				snprintf(w->state, sizeof(w->state), "switched");
				return 0;
			}
			lm_err("%s: is no longer a livemirror device (cancelled?)", w->name);
			return LM_EXIT_ERROR;
		}
		if (lm_status_parse(t.t[0].params, &st, why, sizeof(why))) {
			lmdm_table_free(&t);
			lm_err("%s: %s", w->name, why);
			return LM_EXIT_ERROR;
		}
		lmdm_table_free(&t);
		snprintf(w->state, sizeof(w->state), "%s", st.state);
		if (w->until == UNTIL_ANY) {
			if (have_first && (strcmp(st.state, first.state) ||
					   strcmp(st.health, first.health)))
				return 0;
			if (!have_first)
				first = st;
			have_first = true;
		} else if (!strcmp(st.state, "switched")) {
			return 0;
		} else if (!strcmp(st.state, "cancelled")) {
			lm_err("%s: the migration was cancelled", w->name);
			return LM_EXIT_ERROR;
		} else if (!strcmp(st.state, "failed") || st.health[2] == 'D') {
			lm_err("%s: metadata failed", w->name);
			return LM_EXIT_METADATA;
		} else if (st.health[0] == 'D') {
			lm_err("%s: source failed (health %s)", w->name, st.health);
			return LM_EXIT_LEG_FAILED;
		} else if (lm_status_dest_dead(&st) && !w->dest_retry) {
			lm_err("%s: destination failed (state %s, health %s, %" PRIu64 " errors)",
			       w->name, st.state, st.health, st.dest_errors);
			return LM_EXIT_LEG_FAILED;
		} else if (lm_status_dest_dead(&st)) {
			/* Review M5: the target retries by itself under this policy. */
			if (!noted)
				lm_note("%s: destination errors (%" PRIu64 "), state %s: the "
					"dest-error policy is retry, waiting for the target to retry",
					w->name, st.dest_errors, st.state);
			noted = true;
		} else if (w->until == UNTIL_SYNCED && lm_status_synced(&st)) {
			return 0;
		}
		lm_debug("%s: %s %" PRIu64 "/%" PRIu64 ", waiting for event %u", w->name,
			 st.state, st.in_sync, st.nr_regions, info.event_nr);
		wait_checked(w);
		if (lmdm_waitevent(w->name, info.event_nr) && errno != EINTR) {
			lm_err("%s: waiting for events failed: %s", w->name, lmdm_last_error());
			return LM_EXIT_ERROR;
		}
	}
}

static void *wait_thread(void *arg)
{
	struct waiter *w = arg;
	int r = wait_loop(w);

	pthread_mutex_lock(&w->lock);
	w->result = r;
	w->done = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int cmd_wait(struct lm_args *a)
{
	static struct waiter w;
	struct lm_live l;
	pthread_t th;
	struct timespec until;
	int r;

	r = lm_live_get(a->pos[0], &l, NULL);
	if (r)
		return r;
	if (!strcmp(l.st.state, "paused") && (!a->until || !strcmp(a->until, "synced")))
		lm_warn("%s is paused: it will not get synced until 'livemirror resume %s'",
			l.name, l.name);
	w.name = l.name;
	w.until = !a->until || !strcmp(a->until, "synced") ? UNTIL_SYNCED :
		  !strcmp(a->until, "switched") ? UNTIL_SWITCHED : UNTIL_ANY;
	w.dest_retry = !strcmp(l.tbl.dest_error, "retry");
	snprintf(w.dest, sizeof(w.dest), "%s", l.tbl.dest);
	pthread_mutex_init(&w.lock, NULL);
	pthread_cond_init(&w.cond, NULL);
	if (pthread_create(&th, NULL, wait_thread, &w)) {
		lm_err("cannot start a thread");
		return LM_EXIT_ERROR;
	}
	clock_gettime(CLOCK_REALTIME, &until);
	if (a->timeout >= 0) {
		double t = (double)until.tv_sec + (double)until.tv_nsec / 1e9 + a->timeout;

		until.tv_sec = (time_t)t;
		until.tv_nsec = (long)((t - (double)until.tv_sec) * 1e9);
	}
	pthread_mutex_lock(&w.lock);
	/*
	 * The first look at the status never blocks: wait for it whatever the
	 * timeout, so that --timeout 0 on a synced device is 0, not 7 (M5).
	 */
	while (!w.done && !w.checked)
		pthread_cond_wait(&w.cond, &w.lock);
	while (!w.done) {
		if (a->timeout < 0) {
			pthread_cond_wait(&w.cond, &w.lock);
		} else if (pthread_cond_timedwait(&w.cond, &w.lock, &until) == ETIMEDOUT &&
			   !w.done) {
			pthread_mutex_unlock(&w.lock);
			lm_err("%s: timeout after %gs (state %s)", l.name, a->timeout, w.state);
			/* The waiting thread is blocked in the kernel: just leave. */
			fflush(NULL);
			_exit(LM_EXIT_TIMEOUT);
		}
	}
	r = w.result;
	pthread_mutex_unlock(&w.lock);
	pthread_join(th, NULL);
	if (!r)
		printf("%s: %s\n", l.name, w.state);
	return r;
}

/* --- simple messages -------------------------------------------------- */

int cmd_simple_message(struct lm_args *a)
{
	const char *cmd = a->cmd->name;
	struct lm_live l;
	char msg[64], name[128];
	const char *nm = name;
	uint64_t v;
	int r;

	if (!strcmp(cmd, "throttle")) {
		if (parse_u64(a->pos[1], 1u << 20, &v)) {
			lm_err("bad throttle '%s' (MiB/s, 0 = unlimited)", a->pos[1]);
			return LM_EXIT_USAGE;
		}
		snprintf(msg, sizeof(msg), "throttle %" PRIu64, v);
	} else if (!strcmp(cmd, "copy-depth")) {
		if (parse_u64(a->pos[1], 64, &v) || !v) {
			lm_err("bad copy depth '%s' (1..64)", a->pos[1]);
			return LM_EXIT_USAGE;
		}
		snprintf(msg, sizeof(msg), "copy_depth %" PRIu64, v);
	} else {
		snprintf(msg, sizeof(msg), "%s", cmd);
	}
	/* Under the migration lock: a retry or resume must not race a switch. */
	r = lmdm_resolve(a->pos[0], l.name, sizeof(l.name));
	if (r)
		return r;
	snprintf(name, sizeof(name), "%s", l.name);
	r = lm_lock_devices(&nm, 1, false);
	if (r)
		return r;
	r = lm_live_get(name, &l, NULL);
	if (r)
		return r;
	if (lmdm_message(l.name, msg)) {
		int e = errno;

		lm_err("%s: message '%s' refused: %s (state %s; see dmesg)", l.name, msg,
		       e ? strerror(e) : lmdm_last_error(), l.st.state);
		lm_result_set("refused", !strcmp(l.st.state, "switched") ? "dest" : "source",
			      false);
		return LM_EXIT_ERROR;
	}
	if (lm_verbose)
		printf("%s: %s\n", l.name, msg);
	lm_result_set("done", !strcmp(l.st.state, "switched") ? "dest" : "source", true);
	lm_result_device(l.name, l.st.state, !strcmp(l.st.state, "switched") ? "dest" :
			 "source");
	return 0;
}
