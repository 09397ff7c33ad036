// SPDX-License-Identifier: GPL-2.0
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "result.h"
#include "status.h"
#include "util.h"

static const char *const states[] = {
	"copying", "paused", "synced", "degraded", "failed", "switched", "cancelled",
	"prepared",	/* not reported by the 1.x module yet (review M3) */
};

/* Strict unsigned decimal, no sign (parse_u64 rejects '-' and '+'). */
static int field_u64(const char *tok, uint64_t max, uint64_t *v)
{
	return parse_u64(tok, max, v);
}

/*
 * Optional key=value fields after the eight fixed ones.  A newer module may
 * append fields this helper does not know (review M4): they are ignored, so
 * only a change of the fixed fields (a new major version) breaks parsing.
 */
static void parse_optional(const char *tok, struct lm_status *s)
{
	const char *eq = strchr(tok, '=');
	uint64_t v;

	if (eq && (size_t)(eq - tok) == strlen("opened") && !strncmp(tok, "opened", 6)) {
		/* a word; an unexpected one is kept if it fits (a newer module) */
		if (strlen(eq + 1) < sizeof(s->opened) && strspn(eq + 1,
		    "abcdefghijklmnopqrstuvwxyz_-") == strlen(eq + 1))
			snprintf(s->opened, sizeof(s->opened), "%s", eq + 1);
		return;
	}
	if (!eq || parse_u64(eq + 1, UINT64_MAX, &v))
		return;
	if ((size_t)(eq - tok) == strlen("trusted") && !strncmp(tok, "trusted", 7)) {
		if (v <= 1)
			s->trusted = (int)v;
		return;
	}
	if ((size_t)(eq - tok) == strlen("copied_bytes") && !strncmp(tok, "copied_bytes", 12)) {
		s->copied_bytes = v;
		s->have_copied_bytes = true;
	} else if ((size_t)(eq - tok) == strlen("copy_ms") && !strncmp(tok, "copy_ms", 7)) {
		s->copy_ms = v;
		s->have_copy_ms = true;
	}
}

int lm_status_parse(const char *line, struct lm_status *s, char *why, size_t len)
{
	char buf[512], *tok[8], *save = NULL, *slash, *t;
	uint64_t in_sync, nr, dirty, depth, thr, mirroring, derr;
	bool known = false;
	int n = 0;

	memset(s, 0, sizeof(*s));
	if (strlen(line) >= sizeof(buf)) {
		snprintf(why, len, "status line too long (%zu bytes)", strlen(line));
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s", line);
	s->opened[0] = 0;
	s->trusted = -1;
	for (t = strtok_r(buf, " \t\n", &save); t; t = strtok_r(NULL, " \t\n", &save)) {
		if (n < 8)
			tok[n++] = t;
		else
			parse_optional(t, s);
	}
	if (n != 8) {
		snprintf(why, len, "unexpected status '%s'", line);
		return -1;
	}
	slash = strchr(tok[0], '/');
	if (!slash) {
		snprintf(why, len, "unexpected status '%s'", line);
		return -1;
	}
	*slash = 0;
	if (field_u64(tok[0], UINT64_MAX, &in_sync) || field_u64(slash + 1, UINT64_MAX, &nr) ||
	    field_u64(tok[1], UINT64_MAX, &dirty) || field_u64(tok[4], UINT32_MAX, &depth) ||
	    field_u64(tok[5], UINT64_MAX, &thr) || field_u64(tok[6], UINT64_MAX, &mirroring) ||
	    field_u64(tok[7], UINT64_MAX, &derr)) {
		snprintf(why, len, "unexpected status '%s'", line);
		return -1;
	}
	if (strlen(tok[2]) >= sizeof(s->state)) {
		snprintf(why, len, "unknown state '%s'", tok[2]);
		return -1;
	}
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		if (!strcmp(tok[2], states[i]))
			known = true;
	if (!known) {
		snprintf(why, len, "unknown state '%s'", tok[2]);
		return -1;
	}
	if (strlen(tok[3]) != 3 || strspn(tok[3], "AD") != 3) {
		snprintf(why, len, "bad health '%s'", tok[3]);
		return -1;
	}
	if (in_sync > nr || mirroring > 1) {
		snprintf(why, len, "inconsistent status '%s'", line);
		return -1;
	}
	s->in_sync = in_sync;
	s->nr_regions = nr;
	s->dirty = dirty;
	snprintf(s->state, sizeof(s->state), "%s", tok[2]);
	memcpy(s->health, tok[3], 4);
	s->copy_depth = (uint32_t)depth;
	s->throttle = thr;
	s->mirroring = mirroring;
	s->dest_errors = derr;
	return 0;
}

double lm_status_percent(const struct lm_status *s)
{
	if (!strcmp(s->state, "switched") || !s->nr_regions)
		return 100.0;
	return 100.0 * (double)s->in_sync / (double)s->nr_regions;
}

bool lm_status_synced(const struct lm_status *s)
{
	return !strcmp(s->state, "synced") && !strcmp(s->health, "AAA");
}

bool lm_status_dest_dead(const struct lm_status *s)
{
	return s->health[1] == 'D' || !strcmp(s->state, "degraded");
}

void lm_report_rate(struct lm_report *r, const struct lm_status *prev, double dt)
{
	r->rate = -1;
	r->eta = -1;
	if (!prev || dt <= 0 || r->st.in_sync < prev->in_sync)
		return;
	r->rate = (double)(r->st.in_sync - prev->in_sync) * (double)r->region_bytes / dt;
	if (r->rate > 0)
		r->eta = (double)(r->st.nr_regions - r->st.in_sync) *
			 (double)r->region_bytes / r->rate;
	else if (r->st.in_sync == r->st.nr_regions)
		r->eta = 0;
}

static const char *health_word(const struct lm_status *s)
{
	if (s->health[2] == 'D' || !strcmp(s->state, "failed"))
		return "metadata-failed";
	if (s->health[0] == 'D')
		return "source-failed";
	if (s->health[1] == 'D')
		return "dest-failed";
	return "ok";
}

void lm_print_json(FILE *f, const struct lm_report *r)
{
	const struct lm_status *s = &r->st;

	fputs("{\"device\":", f);
	lm_json_str(f, r->device);
	fprintf(f, ",\"state\":\"%s\",\"percent\":%.2f,\"regions\":%" PRIu64
		",\"in_sync\":%" PRIu64 ",\"dirty\":%" PRIu64 ",\"region_size\":%" PRIu64,
		s->state, lm_status_percent(s), s->nr_regions, s->in_sync, s->dirty,
		r->region_bytes);
	if (r->rate >= 0)
		fprintf(f, ",\"rate\":%.0f", r->rate);
	else
		fputs(",\"rate\":null", f);
	if (r->eta >= 0)
		fprintf(f, ",\"eta\":%.0f", r->eta);
	else
		fputs(",\"eta\":null", f);
	fprintf(f, ",\"health\":\"%s\",\"health_status\":\"%s\",\"dest_errors\":%" PRIu64
		",\"throttle\":%" PRIu64 ",\"copy_depth\":%u,\"mirroring\":%s",
		s->health, health_word(s), s->dest_errors, s->throttle, s->copy_depth,
		s->mirroring ? "true" : "false");
	if (s->opened[0])
		fprintf(f, ",\"opened\":\"%s\"", s->opened);
	if (s->trusted >= 0)
		fprintf(f, ",\"trusted\":%s", s->trusted ? "true" : "false");
	fputs("}\n", f);
}

void lm_print_kv(FILE *f, const struct lm_report *r)
{
	const struct lm_status *s = &r->st;

	fprintf(f, "device=%s\nstate=%s\npercent=%.2f\nregions=%" PRIu64 "\nin_sync=%" PRIu64
		"\ndirty=%" PRIu64 "\nregion_size=%" PRIu64 "\n",
		r->device, s->state, lm_status_percent(s), s->nr_regions, s->in_sync,
		s->dirty, r->region_bytes);
	if (r->rate >= 0)
		fprintf(f, "rate=%.0f\n", r->rate);
	else
		fputs("rate=\n", f);
	if (r->eta >= 0)
		fprintf(f, "eta=%.0f\n", r->eta);
	else
		fputs("eta=\n", f);
	fprintf(f, "health=%s\nhealth_status=%s\ndest_errors=%" PRIu64 "\nthrottle=%" PRIu64
		"\ncopy_depth=%u\nmirroring=%d\n", s->health, health_word(s), s->dest_errors,
		s->throttle, s->copy_depth, s->mirroring);
	if (s->opened[0])
		fprintf(f, "opened=%s\n", s->opened);
	if (s->trusted >= 0)
		fprintf(f, "trusted=%d\n", s->trusted);
}

void lm_print_bar_line(FILE *f, const struct lm_report *r, int width)
{
	const struct lm_status *s = &r->st;
	double pct = lm_status_percent(s);
	char rate[32] = "-", eta[32] = "-";
	int bar = width - 60, fill;

	if (bar < 10)
		bar = 10;
	if (bar > 50)
		bar = 50;
	fill = (int)(pct * bar / 100.0);
	if (r->rate >= 0 && !strcmp(s->state, "copying")) {
		fmt_size((uint64_t)r->rate, rate, sizeof(rate));
		strncat(rate, "/s", sizeof(rate) - strlen(rate) - 1);
	}
	if (r->eta >= 0 && !strcmp(s->state, "copying"))
		fmt_duration(r->eta, eta, sizeof(eta));
	else if (!strcmp(s->state, "synced") || !strcmp(s->state, "switched"))
		snprintf(eta, sizeof(eta), "done");
	fprintf(f, "%s: %-8s [", r->device, s->state);
	for (int i = 0; i < bar; i++)
		fputc(i < fill ? '#' : '.', f);
	fprintf(f, "] %6.2f%%  %s  ETA %s  %s", pct, rate, eta, s->health);
}

void lm_print_human(FILE *f, const struct lm_report *r, int width)
{
	const struct lm_status *s = &r->st;
	char done[32], total[32], thr[32];

	lm_print_bar_line(f, r, width);
	fputc('\n', f);
	fmt_size(s->in_sync * r->region_bytes, done, sizeof(done));
	fmt_size(s->nr_regions * r->region_bytes, total, sizeof(total));
	if (s->throttle)
		snprintf(thr, sizeof(thr), "%" PRIu64 " MiB/s", s->throttle);
	else
		snprintf(thr, sizeof(thr), "unlimited");
	fprintf(f, "  in sync   %s of %s (%" PRIu64 "/%" PRIu64 " regions), %" PRIu64
		" dirty\n", done, total, s->in_sync, s->nr_regions, s->dirty);
	fprintf(f, "  health    %s (source %s, destination %s, metadata %s), %" PRIu64
		" destination errors\n", s->health,
		s->health[0] == 'A' ? "alive" : "DEAD", s->health[1] == 'A' ? "alive" : "DEAD",
		s->health[2] == 'A' ? "alive" : "DEAD", s->dest_errors);
	fprintf(f, "  writes    %s\n", s->mirroring ?
		"mirrored to the destination (kept in sync by every write)" :
		"not yet mirrored to the destination");
	fprintf(f, "  throttle  %s, copy depth %u\n", thr, s->copy_depth);
	if (s->opened[0] || s->trusted >= 0) {
		const char *o = s->opened;
		const char *what = !strcmp(o, "formatted") ? "freshly formatted" :
				   !strcmp(o, "clean") ? "the last table detached cleanly" :
				   !strcmp(o, "unclean") ?
				   "the last table never detached (crash or power cut?)" :
				   !strcmp(o, "unbound") ? "its leg ids were not bound yet" :
				   !strcmp(o, "live") ? "held by the live table" : o[0] ? o : "-";

		fprintf(f, "  log       opened: %s; clean bits %s\n", what,
			s->trusted < 0 ? "(unknown)" : s->trusted ? "kept (trusted)" :
			"not trusted: every region copied again");
	}
}
