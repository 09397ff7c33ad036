// SPDX-License-Identifier: GPL-2.0
/* The post-commit hook of switch (hook.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dev.h"
#include "dm.h"
#include "exitcodes.h"
#include "guard.h"
#include "hook.h"
#include "live.h"
#include "result.h"
#include "util.h"

/* "vg-lv" (with "-" doubled inside names) -> /dev/vg/lv; -1 if not of that form. */
static int lvm_path(const char *dmname, char *out, size_t len)
{
	char vg[128], lv[128];
	size_t n = 0;
	char *p = vg;

	for (const char *s = dmname; *s; s++) {
		if (*s == '-' && s[1] == '-') {
			s++;
		} else if (*s == '-' && p == vg) {
			vg[n] = 0;
			p = lv;
			n = 0;
			continue;
		}
		if (n + 1 >= sizeof(vg))
			return -1;
		p[n++] = *s;
	}
	p[n] = 0;
	if (p != lv || !vg[0] || !lv[0])
		return -1;
	snprintf(out, len, "/dev/%.120s/%.120s", vg, lv);
	return 0;
}

/* The path a user would write for "MAJ:MIN". */
static void path_of(const char *ref, char *out, size_t len)
{
	struct lm_dminfo i;
	unsigned int a, b;

	out[0] = 0;
	if (!ref[0] || sscanf(ref, "%u:%u", &a, &b) != 2)
		return;
	if (!lmdm_info_devno(a, b, &i) && i.exists) {
		if (strncmp(i.uuid, LM_LVM_UUID_PREFIX, 4) || lm_is_hidden_uuid(i.uuid) ||
		    lvm_path(i.name, out, len))
			snprintf(out, len, "/dev/mapper/%s", i.name);
		return;
	}
	if (dev_path(ref, out, len))
		out[0] = 0;
}

static void leg(struct lm_hook_leg *l, const char *ref, const char *id)
{
	snprintf(l->ref, sizeof(l->ref), "%s", ref);
	snprintf(l->id, sizeof(l->id), "%s", id);
	path_of(ref, l->path, sizeof(l->path));
}

void lm_hook_describe(const char *name, const char *source, const char *dest,
		      const char *meta, const char *hidden, struct lm_hook_dev *d)
{
	struct lm_sbinfo sb = { 0 };
	struct lm_record rec;
	struct lm_dminfo i;
	char mpath[256];

	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name);
	if (!meta[0] && !lm_record_read(name, &rec)) {
		source = rec.source;
		meta = rec.meta;
		hidden = rec.hidden;
		if (!dest[0])
			dest = rec.dest;
	}
	if (!lmdm_info(name, &i) && i.exists)
		snprintf(d->uuid, sizeof(d->uuid), "%s", i.uuid);
	if (strncmp(d->uuid, LM_LVM_UUID_PREFIX, 4) || lvm_path(name, d->path, sizeof(d->path)))
		snprintf(d->path, sizeof(d->path), "/dev/mapper/%s", name);
	if (meta[0] && !dev_path(meta, mpath, sizeof(mpath)) && !meta_read_best(mpath, &sb))
		hex_encode(sb.uuid, LM_UUID_LEN, d->meta_uuid);
	else
		memset(&sb, 0, sizeof(sb));
	leg(&d->source, source, sb.source_id);
	leg(&d->dest, dest, sb.dest_id);
	leg(&d->meta, meta, "");
	d->hidden_source = hidden && hidden[0];
}

static void json_leg(FILE *f, const char *key, const struct lm_hook_leg *l)
{
	fprintf(f, ",\"%s\":{\"path\":", key);
	lm_json_str(f, l->path);
	fprintf(f, ",\"ref\":");
	lm_json_str(f, l->ref);
	fprintf(f, ",\"id\":");
	lm_json_str(f, l->id);
	fputc('}', f);
}

static void write_json(FILE *f, const struct lm_hook_dev *devs, int n, bool already)
{
	char when[32];
	struct tm tm;
	time_t t = time(NULL);

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(f, "{\"schema\":%d,\"event\":\"switched\",\"time\":\"%s\",\"already_switched\":%s,"
		"\"group\":", LM_HOOK_SCHEMA, when, already ? "true" : "false");
	if (n > 1) {
		fprintf(f, "{\"coordinator\":");
		lm_json_str(f, devs[0].name);
		fprintf(f, ",\"members\":[");
		for (int i = 0; i < n; i++) {
			fprintf(f, "%s", i ? "," : "");
			lm_json_str(f, devs[i].name);
		}
		fprintf(f, "]}");
	} else {
		fprintf(f, "null");
	}
	fprintf(f, ",\"devices\":[");
	for (int i = 0; i < n; i++) {
		const struct lm_hook_dev *d = &devs[i];

		fprintf(f, "%s{\"name\":", i ? "," : "");
		lm_json_str(f, d->name);
		fprintf(f, ",\"uuid\":");
		lm_json_str(f, d->uuid);
		fprintf(f, ",\"path\":");
		lm_json_str(f, d->path);
		json_leg(f, "source", &d->source);
		fprintf(f, ",\"hidden_source\":%s", d->hidden_source ? "true" : "false");
		json_leg(f, "dest", &d->dest);
		json_leg(f, "metadata", &d->meta);
		fprintf(f, ",\"metadata_uuid\":");
		lm_json_str(f, d->meta_uuid);
		fputc('}', f);
	}
	fprintf(f, "]}\n");
}

int lm_hook_run(const char *cmd, const struct lm_hook_dev *devs, int n, bool already)
{
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	char why[128];
	int fds[2], st;
	pid_t pid;
	FILE *f;

	/*
	 * The devices are resumed: the critical section is over, and a hook
	 * that hangs must leave the helper interruptible.
	 */
	lm_crit_leave();
	fflush(NULL);
	if (pipe(fds)) {
		snprintf(why, sizeof(why), "could not start: no pipe: %s", strerror(errno));
		goto failed;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(why, sizeof(why), "could not start: no fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		goto failed;
	}
	if (!pid) {
		sigset_t none;

		/* the switch runs with signals blocked; the hook must not */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		dup2(fds[0], 0);
		close(fds[0]);
		close(fds[1]);
		setenv("LIVEMIRROR_HOOK", "post-commit", 1);
		setenv("LIVEMIRROR_DEVICE", devs[0].name, 1);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(fds[0]);
	/* a hook that does not read its input must not kill the helper */
	sigaction(SIGPIPE, &ign, &old);
	f = fdopen(fds[1], "w");
	if (f) {
		write_json(f, devs, n, already);
		fclose(f);
	} else {
		close(fds[1]);
	}
	sigaction(SIGPIPE, &old, NULL);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(st) && !WEXITSTATUS(st))
		return 0;
	if (WIFEXITED(st))
		snprintf(why, sizeof(why), "failed (exit %d)", WEXITSTATUS(st));
	else
		snprintf(why, sizeof(why), "was killed by signal %d", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
failed:
	/* one message: it is also the --json result's reason */
	lm_err("post-commit hook '%s' %s; the switch of %s%s is committed and done and the "
	       "hook's failure does not undo it (nothing can): fix what the hook was to do, or run "
	       "the same 'livemirror switch --post-commit-hook' again, which runs the hook again",
	       cmd, why, devs[0].name, n > 1 ? " and its group" : "");
	return LM_EXIT_HOOK_FAILED;
}
