// SPDX-License-Identifier: GPL-2.0
#include <stdint.h>

#include "args.h"
#include "util.h"
#include "tap.h"

struct tcase {
	const char *line;	/* command words + args, space separated */
	int rc;			/* -1: unknown command */
};

static const struct tcase cases[] = {
	{ "create vm --meta /m --source /s --dest /d", 0 },
	{ "create vm --meta=/m --source=/s --dest=/d --region-size 1M --throttle 10 "
	  "--copy-depth 8 --paused --label x --dest-error retry", 0 },
	{ "create vm --meta /m --source /s", 2 },			/* --dest missing */
	{ "create --meta /m --source /s --dest /d", 2 },		/* NAME missing */
	{ "create a b --meta /m --source /s --dest /d", 2 },		/* extra arg */
	{ "create vm --meta /m --source /s --dest /d --region-size 1000", 2 },
	{ "create vm --meta /m --source /s --dest /d --region-size 2K", 2 },
	{ "create vm --meta /m --source /s --dest /d --copy-depth 0", 2 },
	{ "create vm --meta /m --source /s --dest /d --copy-depth 65", 2 },
	{ "create vm --meta /m --source /s --dest /d --throttle -1", 2 },
	{ "create vm --meta /m --source /s --dest /d --label 'a b'", 2 },
	{ "create vm --meta /m --source /s --dest /d --dest-error maybe", 2 },
	{ "create vm --meta /m --source /s --dest /d --watch", 2 },
	{ "create vm --meta /m --source /s --dest /d --json", 0 },
	{ "create vm --meta /m --source /s --dest /d --uuid LIVEMIRROR-0a1b", 0 },
	{ "create vm --meta /m --source /s --dest /d --uuid a#+-.:=@_Z9", 0 },
	{ "create vm --meta /m --source /s --dest /d --uuid a/b", 2 },
	{ "create vm --meta /m --source /s --dest /d --uuid=", 2 },
	{ "create vm --meta /m --source /s --dest /d --uuid "
	  "x12345678901234567890123456789012345678901234567890123456789012345678901234567890"
	  "12345678901234567890123456789012345678901234567", 0 },	/* 128 */
	{ "create vm --meta /m --source /s --dest /d --uuid "
	  "x12345678901234567890123456789012345678901234567890123456789012345678901234567890"
	  "123456789012345678901234567890123456789012345678", 2 },	/* 129 */
	{ "start lv --meta /m --dest /d --uuid u", 2 },
	{ "switch a b --post-commit-hook true", 0 },
	{ "switch a --post-commit-hook=", 2 },
	{ "switch a --post-commit-hook", 2 },
	{ "cancel a --post-commit-hook true", 2 },
	{ "guard /dev/x", 0 },
	{ "guard vm --scan --json", 0 },
	{ "guard", 2 },
	{ "guard a b", 2 },
	{ "guard vm --lock-timeout 1", 2 },
	{ "switch a b --json --lock-timeout 2.5", 0 },
	{ "switch a --lock-timeout -1", 2 },
	{ "cancel a --lock-timeout x", 2 },
	{ "recover --live a b", 0 },
	{ "recover --live", 2 },
	{ "recover --live a --meta /m", 2 },
	{ "status a --lock-timeout 1", 2 },	/* not allowed */
	{ "create vm --meta /m --source /s --dest /d --dest /e", 2 },	/* twice */
	{ "create vm --meta /m --source /s --dest /d --paused=1", 2 },
	{ "create vm --meta", 2 },
	{ "create --help", 0 },
	{ "start lv --meta /m --dest /d", 0 },
	{ "start lv --meta /m", 2 },
	{ "start lv --meta /m --dest /d --source /s", 2 },
	{ "status vm", 0 },
	{ "status vm --json --watch --interval 2", 0 },
	{ "status vm --interval 0", 2 },
	{ "status", 2 },
	{ "wait vm --timeout 1.5", 0 },
	{ "wait vm --timeout x", 2 },
	{ "wait vm --until synced", 0 },
	{ "wait vm --until switched --timeout 0", 0 },
	{ "wait vm --until any", 0 },
	{ "wait vm --until done", 2 },
	{ "events", 0 },
	{ "events vm1 vm2 --json --timeout 10", 0 },
	{ "events --xml", 2 },
	{ "start lv --meta /m --dest /d --force", 0 },
	{ "create vm --meta /m --source /s --dest /d --force", 0 },
	{ "pause vm", 0 },
	{ "resume vm", 0 },
	{ "retry vm", 0 },
	{ "throttle vm 10", 0 },
	{ "throttle vm", 2 },
	{ "copy-depth vm 4", 0 },
	{ "switch a", 0 },
	{ "switch a b c", 0 },
	{ "switch", 2 },
	{ "switch a -x", 2 },
	{ "switch -- -a", 0 },
	{ "cancel a --keep-dest", 0 },
	{ "recover --meta /a --meta /b --meta /c", 0 },
	{ "recover --meta /a --source /s --dest /d --print-table --json", 0 },
	{ "recover", 2 },
	{ "recover x --meta /a", 2 },
	{ "metadata dump /m --json", 0 },
	{ "metadata dump /m --json --xml", 2 },
	{ "metadata check /m", 0 },
	{ "metadata check", 2 },
	{ "metadata repair /m --region-size 512K --source-sectors 100 --dest-sectors 100", 0 },
	{ "metadata repair /m --source-sectors 0", 2 },
	{ "metadata measure --size 1G", 0 },
	{ "metadata measure --size 0", 2 },
	{ "metadata measure --size 1G --region-size 4M --json", 0 },
	{ "metadata frobnicate /m", -1 },
	{ "metadata", -1 },
	{ "frobnicate", -1 },
	{ "status vm -h", 0 },
	{ "status vm -v -v", 0 },
	{ "status vm --", 0 },
	{ "status vm --verbose=3", 2 },
	{ "status vm --nosuchoption", 2 },
	{ "status vm --a-very-long-option-name-that-does-not-exist-at-all", 2 },
};

static int split(const char *line, char *buf, size_t len, char **argv, int max)
{
	int n = 0;

	snprintf(buf, len, "%s", line);
	for (char *t = strtok(buf, " "); t && n < max; t = strtok(NULL, " ")) {
		if (t[0] == '\'') {	/* 'a b' -> one word */
			char *e = strchr(t + 1, '\'');

			if (!e) {
				t[strlen(t)] = ' ';
				e = strchr(t + 1, '\'');
				strtok(NULL, " ");
			}
			if (e)
				*e = 0;
			t++;
		}
		argv[n++] = t;
	}
	return n;
}

static uint64_t rng = 88172645463325252ULL;

static uint64_t xorshift(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

int main(void)
{
	static const char *tokens[] = {
		"--meta", "--source", "--dest", "--region-size", "--throttle", "--copy-depth",
		"--paused", "--label", "--dest-error", "--json", "--xml", "--watch",
		"--interval", "--timeout", "--keep-dest", "--print-table", "--name", "--size",
		"--source-sectors", "--dest-sectors", "--force", "--help", "--", "-", "-h",
		"--meta=", "--size=1G", "--region-size=1M", "x", "", "0", "1", "18446744073709551616",
		"1K", "4K", "-1", "stop", "retry", "--=", "---", "--json=1", "\x01",
	};
	char buf[512], why[256], *argv[32];
	struct lm_args a;
	int bad = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int argc = split(cases[i].line, buf, sizeof(buf), argv, 32), used = 0, rc;
		const struct lm_cmd *c = lm_find_cmd(argc, argv, &used);

		if (!c) {
			is_int(-1, cases[i].rc, "%s -> unknown command", cases[i].line);
			continue;
		}
		why[0] = 0;
		rc = lm_parse(c, argc - used, argv + used, &a, why, sizeof(why));
		is_int(rc, cases[i].rc, "%s -> %d %s", cases[i].line, cases[i].rc, why);
		if (cases[i].rc == 2)
			ok(why[0] != 0, "  ... with a reason");
	}
	/* Specific values. */
	{
		int argc = split("create vm --meta /m --source /s --dest /d --region-size 1M "
				 "--throttle 10 --copy-depth 8 --paused --label x", buf, sizeof(buf),
				 argv, 32), used;
		const struct lm_cmd *c = lm_find_cmd(argc, argv, &used);

		ok(c && !lm_parse(c, argc - used, argv + used, &a, why, sizeof(why)), "parse create");
		is_int(a.region_sectors, 2048, "region 1M = 2048 sectors");
		is_int(a.throttle, 10, "throttle");
		is_int(a.copy_depth, 8, "copy depth");
		ok(a.paused, "paused");
		is_str(a.label, "x", "label");
		is_str(a.meta[0], "/m", "meta");
		is_str(a.pos[0], "vm", "name");
	}
	{
		int argc = split("recover --meta /a --meta /b --meta /c", buf, sizeof(buf), argv, 32),
		    used;
		const struct lm_cmd *c = lm_find_cmd(argc, argv, &used);

		ok(c && !lm_parse(c, argc - used, argv + used, &a, why, sizeof(why)) &&
		   a.nmeta == 3 && !strcmp(a.meta[2], "/c"), "repeated --meta");
	}
	/* Fuzz: random argument vectors for every command; rc is 0 or 2, no crash. */
	for (int round = 0; round < 20000; round++) {
		const struct lm_cmd *c = &lm_commands[xorshift() % lm_ncommands];
		int argc = (int)(xorshift() % 8), rc;
		char *fv[8];

		for (int k = 0; k < argc; k++)
			fv[k] = (char *)tokens[xorshift() % (sizeof(tokens) / sizeof(tokens[0]))];
		lm_verbose = 0;
		rc = lm_parse(c, argc, fv, &a, why, sizeof(why));
		if ((rc != 0 && rc != 2) || (rc == 2 && !why[0]))
			bad++;
		if (rc == 0 && !a.help && (a.npos < c->min_pos || a.npos > c->max_pos))
			bad++;
	}
	is_int(bad, 0, "fuzz: 20000 random command lines parsed or refused cleanly");
	lm_verbose = 0;
	return tap_done();
}
