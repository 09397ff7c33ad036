// SPDX-License-Identifier: GPL-2.0
/* The --json result object of state-changing commands (result.h). */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "exitcodes.h"
#include "result.h"
#include "util.h"

#define MAX_DEV 64

static struct {
	bool active;
	int fd;
	char command[32];
	char outcome[32];
	char authoritative[8];
	bool changed;
	int ndev;
	struct {
		char name[128];
		char state[32];
		char leg[8];
	} dev[MAX_DEV];
} res;

const char *lm_exit_name(int rc)
{
	switch (rc) {
	case LM_EXIT_OK: return "ok";
	case LM_EXIT_ERROR: return "error";
	case LM_EXIT_USAGE: return "usage";
	case LM_EXIT_NOT_SYNCED: return "not_synced";
	case LM_EXIT_BUSY: return "busy";
	case LM_EXIT_NOT_FOUND: return "not_found";
	case LM_EXIT_METADATA: return "metadata";
	case LM_EXIT_TIMEOUT: return "timeout";
	case LM_EXIT_LEG_FAILED: return "leg_failed";
	case LM_EXIT_INCOMPLETE: return "committed_incomplete";
	case LM_EXIT_SWITCHED: return "switched";
	case LM_EXIT_LOCKED: return "locked";
	case LM_EXIT_TABLE_MISMATCH: return "table_mismatch";
	case LM_EXIT_NEEDS_RESYNC: return "needs_resync";
	case LM_EXIT_PREPARED: return "prepared";
	case LM_EXIT_STALE: return "stale";
	case LM_EXIT_HOOK_FAILED: return "hook_failed";
	case LM_EXIT_CRASH: return "crash";
	default: return "unknown";
	}
}

void lm_result_begin(const char *command)
{
	memset(&res, 0, sizeof(res));
	fflush(stdout);
	res.fd = dup(1);
	if (res.fd < 0)
		return;
	dup2(2, 1);
	res.active = true;
	snprintf(res.command, sizeof(res.command), "%s", command);
	snprintf(res.authoritative, sizeof(res.authoritative), "unknown");
}

bool lm_result_active(void)
{
	return res.active;
}

void lm_result_set(const char *outcome, const char *authoritative, bool changed)
{
	if (outcome)
		snprintf(res.outcome, sizeof(res.outcome), "%s", outcome);
	if (authoritative)
		snprintf(res.authoritative, sizeof(res.authoritative), "%s", authoritative);
	res.changed = res.changed || changed;
}

void lm_result_changed(void)
{
	res.changed = true;
}

void lm_result_device(const char *name, const char *state, const char *leg)
{
	int i;

	for (i = 0; i < res.ndev; i++)
		if (!strcmp(res.dev[i].name, name))
			break;
	if (i == MAX_DEV)
		return;
	if (i == res.ndev)
		res.ndev++;
	snprintf(res.dev[i].name, sizeof(res.dev[i].name), "%s", name);
	if (state)
		snprintf(res.dev[i].state, sizeof(res.dev[i].state), "%s", state);
	if (leg)
		snprintf(res.dev[i].leg, sizeof(res.dev[i].leg), "%s", leg);
}

void lm_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

void lm_result_end(int rc)
{
	FILE *f;

	if (!res.active)
		return;
	res.active = false;
	fflush(stdout);
	f = fdopen(res.fd, "w");
	if (!f)
		return;
	if (!res.outcome[0])
		snprintf(res.outcome, sizeof(res.outcome), "%s", rc ? "error" : "ok");
	fprintf(f, "{\"schema\":%d,\"command\":", LM_RESULT_SCHEMA);
	lm_json_str(f, res.command);
	fprintf(f, ",\"outcome\":");
	lm_json_str(f, res.outcome);
	fprintf(f, ",\"authoritative\":");
	lm_json_str(f, res.authoritative);
	fprintf(f, ",\"changed\":%s,\"devices\":[", res.changed ? "true" : "false");
	for (int i = 0; i < res.ndev; i++) {
		fprintf(f, "%s{\"name\":", i ? "," : "");
		lm_json_str(f, res.dev[i].name);
		fprintf(f, ",\"state\":");
		lm_json_str(f, res.dev[i].state[0] ? res.dev[i].state : "unknown");
		fprintf(f, ",\"leg\":");
		lm_json_str(f, res.dev[i].leg[0] ? res.dev[i].leg : "unknown");
		fputc('}', f);
	}
	fprintf(f, "],\"exit\":%d,\"error\":", rc);
	if (!rc) {
		fprintf(f, "null");
	} else {
		fprintf(f, "{\"code\":%d,\"name\":", rc);
		lm_json_str(f, lm_exit_name(rc));
		fprintf(f, ",\"reason\":");
		lm_json_str(f, lm_last_error_msg());
		fputc('}', f);
	}
	fprintf(f, "}\n");
	fclose(f);
}
