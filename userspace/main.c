// SPDX-License-Identifier: GPL-2.0
/* livemirror: command dispatch and help. */
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "cmds.h"
#include "dm.h"
#include "exitcodes.h"
#include "guard.h"
#include "result.h"
#include "util.h"
#include "version.h"

static const struct {
	const char *name;
	int (*fn)(struct lm_args *a);
	bool dm;
} handlers[] = {
	{ "create", cmd_create, true },
	{ "start", cmd_start, true },
	{ "status", cmd_status, true },
	{ "wait", cmd_wait, true },
	{ "events", cmd_events, true },
	{ "pause", cmd_simple_message, true },
	{ "resume", cmd_simple_message, true },
	{ "throttle", cmd_simple_message, true },
	{ "copy-depth", cmd_simple_message, true },
	{ "retry", cmd_simple_message, true },
	{ "switch", cmd_switch, true },
	{ "cancel", cmd_cancel, true },
	{ "recover", cmd_recover_any, true },
	{ "guard", cmd_guard, true },
	{ "lvmove", cmd_lvmove, true },
	{ "lvm-finish", cmd_lvm_finish, true },
	{ "boot", cmd_boot, true },
	{ "metadata dump", cmd_meta_dump, false },
	{ "metadata check", cmd_meta_check, false },
	{ "metadata repair", cmd_meta_repair, false },
	{ "metadata measure", cmd_meta_measure, false },
};

/* Commands whose --json prints the result object of result.h. */
static bool result_json(const struct lm_cmd *c, const struct lm_args *a)
{
	static const char *const mutating[] = {
		"create", "start", "switch", "cancel", "pause", "resume", "throttle",
		"copy-depth", "retry",
	};

	if (!strcmp(c->name, "recover"))
		return a->live && a->json;
	for (size_t i = 0; i < sizeof(mutating) / sizeof(mutating[0]); i++)
		if (!strcmp(c->name, mutating[i]))
			return a->json;
	return false;
}

static bool argv_has(int argc, char **argv, const char *s)
{
	for (int i = 0; i < argc; i++)
		if (!strcmp(argv[i], s))
			return true;
	return false;
}

static void usage_list(FILE *f)
{
	fprintf(f, "usage: %s COMMAND [ARGS]   (%s COMMAND --help for details)\n\n"
		"commands:\n", LM_PROG, LM_PROG);
	for (size_t i = 0; i < lm_ncommands; i++)
		fprintf(f, "  %s %s\n", lm_commands[i].name,
			strchr(lm_commands[i].usage, '\n') ? "..." : lm_commands[i].usage);
	fprintf(f, "\nexit codes: 0 ok/nothing to do, 1 error, 2 usage, 3 not synced (refused),\n"
		"4 device busy, 5 not found, 6 metadata damaged/mismatch, 7 timeout,\n"
		"8 destination/leg failed, 9 switch committed but unfinished (run it again),\n"
		"10 refused: already switched, 11 locked (--lock-timeout), 12 live table\n"
		"not the one loaded, 13 needs resync (recover), 14 refused: group switch\n"
		"prepared (run recover), 15 stale leg (guard), 16 switched but the\n"
		"post-commit hook failed, 99 reserved (crash injection).  See livemirror(8).\n");
}

static void cmd_help(const struct lm_cmd *c)
{
	printf("usage: %s %s %s\n\n%s\n", LM_PROG, c->name, c->usage, c->help);
}

int main(int argc, char **argv)
{
	const struct lm_cmd *cmd;
	struct lm_args a;
	char why[512];
	int used = 0, r = LM_EXIT_ERROR;
	bool dm = false;

	/* -v / --verbose before the command, as after it. */
	while (argc > 1 && (!strcmp(argv[1], "-v") || !strcmp(argv[1], "--verbose"))) {
		lm_verbose++;
		argv[1] = argv[0];
		argv++;
		argc--;
	}
	if (argc < 2) {
		usage_list(stderr);
		return LM_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    (!strcmp(argv[1], "help") && argc == 2)) {
		usage_list(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		lmdm_init();
		lm_print_versions();
		lmdm_exit();
		return 0;
	}
	if (!strcmp(argv[1], "help")) {
		cmd = lm_find_cmd(argc - 2, argv + 2, &used);
		if (!cmd) {
			lm_err("unknown command '%s'", argv[2]);
			return LM_EXIT_USAGE;
		}
		cmd_help(cmd);
		return 0;
	}
	cmd = lm_find_cmd(argc - 1, argv + 1, &used);
	if (!cmd) {
		if (!strcmp(argv[1], "metadata"))
			lm_err("'metadata' needs a subcommand: dump, check, repair, measure");
		else
			lm_err("unknown command '%s'", argv[1]);
		usage_list(stderr);
		return LM_EXIT_USAGE;
	}
	if (lm_parse(cmd, argc - 1 - used, argv + 1 + used, &a, why, sizeof(why))) {
		bool json = argv_has(argc, argv, "--json") && strcmp(cmd->name, "status") &&
			    strncmp(cmd->name, "metadata", 8);

		if (json)
			lm_result_begin(cmd->name);
		lm_err("%s", why);
		fprintf(stderr, "usage: %s %s %s\n", LM_PROG, cmd->name, cmd->usage);
		lm_result_end(LM_EXIT_USAGE);
		return LM_EXIT_USAGE;
	}
	if (a.help) {
		cmd_help(cmd);
		return 0;
	}
	lm_lock_timeout = a.lock_timeout;
	if (result_json(cmd, &a))
		lm_result_begin(cmd->name);
	for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++) {
		if (strcmp(handlers[i].name, cmd->name))
			continue;
		if (handlers[i].dm) {
			lmdm_init();
			dm = true;
			/* recover and guard (read only) must work whatever is loaded: they warn. */
			r = lm_version_check(!strcmp(cmd->name, "recover") ||
					     !strcmp(cmd->name, "guard"));
			if (r)
				break;
		}
		r = handlers[i].fn(&a);
		break;
	}
	lm_unlock_all();
	if (dm)
		lmdm_exit();
	fflush(stdout);
	lm_result_end(r);
	lm_crit_leave();
	return r;
}
