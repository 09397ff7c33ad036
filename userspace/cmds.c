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

static bool terminal_state(const struct lm_status *s)
{
	return !strcmp(s->state, "synced") || !strcmp(s->state, "switched") ||
	       !strcmp(s->state, "failed") || !strcmp(s->state, "cancelled");
}

int cmd_status(struct lm_args *a)
{
	bool tty = isatty(1) && !a->json;
	struct lm_status prev;
	struct lm_report rep;
	struct lm_live l;
	double t0, t1, interval = a->interval;
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
		if (!strcmp(l.st.state, "copying")) {
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
		if (terminal_state(&rep.st))
			break;
		prev = rep.st;
		sleep_s(interval);
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
	return 0;
}

/* --- wait ------------------------------------------------------------- */

struct waiter {
	const char *name;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	int result;
	char state[32];
};

static int wait_loop(struct waiter *w)
{
	struct lm_dminfo info;
	struct lm_live l;

	memset(&l, 0, sizeof(l));
	snprintf(l.name, sizeof(l.name), "%s", w->name);
	for (;;) {
		if (lmdm_info(l.name, &info) || !info.exists) {
			lm_err("%s disappeared", l.name);
			return LM_EXIT_NOT_FOUND;
		}
		/* event_nr first: any change after this wakes the wait below. */
		if (lm_live_refresh_status(&l))
			return LM_EXIT_ERROR;
		snprintf(w->state, sizeof(w->state), "%s", l.st.state);
		if (!strcmp(l.st.state, "switched"))
			return 0;
		if (!strcmp(l.st.state, "cancelled")) {
			lm_err("%s: the migration was cancelled", l.name);
			return LM_EXIT_ERROR;
		}
		if (!strcmp(l.st.state, "failed") || l.st.health[2] == 'D') {
			lm_err("%s: metadata failed", l.name);
			return LM_EXIT_METADATA;
		}
		if (lm_status_dest_dead(&l.st)) {
			lm_err("%s: destination failed (state %s, health %s, %" PRIu64 " errors)",
			       l.name, l.st.state, l.st.health, l.st.dest_errors);
			return LM_EXIT_LEG_FAILED;
		}
		if (l.st.health[0] == 'D') {
			lm_err("%s: source failed (health %s)", l.name, l.st.health);
			return LM_EXIT_LEG_FAILED;
		}
		if (lm_status_synced(&l.st))
			return 0;
		lm_debug("%s: %s %" PRIu64 "/%" PRIu64 ", waiting for event %u", l.name,
			 l.st.state, l.st.in_sync, l.st.nr_regions, info.event_nr);
		if (lmdm_waitevent(l.name, info.event_nr) && errno != EINTR) {
			lm_err("%s: waiting for events failed: %s", l.name, lmdm_last_error());
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
	if (!strcmp(l.st.state, "paused"))
		lm_warn("%s is paused: it will not get synced until 'livemirror resume %s'",
			l.name, l.name);
	w.name = l.name;
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
