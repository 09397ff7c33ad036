// SPDX-License-Identifier: GPL-2.0
/*
 * replay-log: list and replay a dm-log-writes log.
 *
 * usage: replay-log --log LOG [options]
 *   --list              list entries START..END: index sector nr_sectors flags [mark]
 *   --find-flushes      list the entries START..END that carry FLUSH or FUA
 *   --next-mark NAME    print the index of the first mark NAME at or after START
 *                       (exit 1 when there is none)
 *   --replay DEV        write entries START..END onto DEV (block device or file)
 *   --start N           first entry (default 0)
 *   --end N             last entry, inclusive (default: the last one)
 *   --end-mark NAME     last entry = the first mark NAME at or after START
 *   --cursor FILE       remember where entry END+1 starts, so that the next
 *                       call with --start END+1 does not walk the log from 0
 *   --discard zero|skip replay discards as zeroes (default) or leave stale data
 *   --summary           print: entries N sectorsize S bytes B (B: end of
 *                       the last entry, what a copy of the log needs)
 *
 * Incremental replay: "--replay DEV --start 0 --end 99" then
 * "--replay DEV --start 100 --end 250" gives DEV the same content as
 * "--replay DEV --end 250" (DEV starting from the pre-log state).
 *
 * Exit status: 0 ok, 1 mark not found, 2 usage or log error.
 */
#include "lwlog.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f)
{
	fputs("usage: replay-log --log LOG [--list | --find-flushes | --next-mark NAME |\n"
	      "                  --replay DEV | --summary] [--start N] [--end N |\n"
	      "                  --end-mark NAME] [--cursor FILE] [--discard zero|skip]\n",
	      f);
}

static bool parse_u64(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	if (!*s || *s == '-')
		return false;
	*v = strtoull(s, &end, 0);
	return !errno && !*end;
}

static int die(const char *msg)
{
	fprintf(stderr, "replay-log: %s\n", msg);
	return 2;
}

/* Cursor file: "<idx> <byte offset> <log size> <nr_entries>\n". */
static void cursor_load(struct lw_log *log, const char *path, uint64_t start)
{
	uint64_t idx, off, size, nr;
	FILE *f = fopen(path, "r");

	if (!f)
		return;
	if (fscanf(f, "%" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64, &idx, &off,
		   &size, &nr) == 4 &&
	    size == log->size && nr == log->nr_entries && idx <= start &&
	    off >= log->sectorsize && off <= log->size)
		lw_setpos(log, idx, off);
	fclose(f);
}

static void cursor_save(const struct lw_log *log, const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return;
	fprintf(f, "%" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
		log->next_idx, log->next_off, log->size, log->nr_entries);
	fclose(f);
}

int main(int argc, char **argv)
{
	enum { O_START = 256, O_END, O_END_MARK, O_CURSOR, O_DISCARD };
	static const struct option opts[] = {
		{ "log", required_argument, NULL, 'l' },
		{ "list", no_argument, NULL, 'L' },
		{ "find-flushes", no_argument, NULL, 'F' },
		{ "next-mark", required_argument, NULL, 'n' },
		{ "replay", required_argument, NULL, 'r' },
		{ "summary", no_argument, NULL, 's' },
		{ "start", required_argument, NULL, O_START },
		{ "end", required_argument, NULL, O_END },
		{ "end-mark", required_argument, NULL, O_END_MARK },
		{ "cursor", required_argument, NULL, O_CURSOR },
		{ "discard", required_argument, NULL, O_DISCARD },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *logpath = NULL, *replay = NULL, *next_mark = NULL;
	const char *end_mark = NULL, *cursor = NULL;
	bool list = false, flushes = false, summary = false, have_end = false;
	uint64_t start = 0, end = 0;
	enum lw_discard dmode = LW_DISCARD_ZERO;
	struct lw_log log;
	struct lw_entry *e;
	int c, nmodes, tfd = -1, r, ret = 0;
	char fl[64];

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'l': logpath = optarg; break;
		case 'L': list = true; break;
		case 'F': flushes = true; break;
		case 'n': next_mark = optarg; break;
		case 'r': replay = optarg; break;
		case 's': summary = true; break;
		case O_START:
			if (!parse_u64(optarg, &start))
				return die("--start needs an entry index");
			break;
		case O_END:
			if (!parse_u64(optarg, &end))
				return die("--end needs an entry index");
			have_end = true;
			break;
		case O_END_MARK: end_mark = optarg; break;
		case O_CURSOR: cursor = optarg; break;
		case O_DISCARD:
			if (!strcmp(optarg, "zero"))
				dmode = LW_DISCARD_ZERO;
			else if (!strcmp(optarg, "skip"))
				dmode = LW_DISCARD_SKIP;
			else
				return die("--discard is zero or skip");
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || !logpath) {
		usage(stderr);
		return 2;
	}
	nmodes = list + flushes + summary + !!next_mark + !!replay;
	if (nmodes != 1)
		return die("give exactly one of --list, --find-flushes, --next-mark, --replay, --summary");
	if (have_end && end_mark)
		return die("--end and --end-mark exclude each other");
	if (have_end && end < start)
		return die("--end is before --start");

	if (lw_open(&log, logpath))
		return die(log.err);
	if (summary) {
		if (lw_seek(&log, log.nr_entries))
			return die(log.err);
		printf("entries %" PRIu64 " sectorsize %u bytes %" PRIu64 "\n",
		       log.nr_entries, log.sectorsize, log.next_off);
		return 0;
	}
	if (!have_end && !end_mark) {
		if (!log.nr_entries)
			return next_mark ? 1 : 0;
		end = log.nr_entries - 1;
	}
	if (start >= log.nr_entries && log.nr_entries)
		return die("--start is past the last entry");
	if (have_end && end >= log.nr_entries)
		return die("--end is past the last entry");
	if (cursor)
		cursor_load(&log, cursor, start);
	if (lw_seek(&log, start))
		return die(log.err);
	if (replay) {
		tfd = open(replay, O_WRONLY | O_CLOEXEC);
		if (tfd < 0) {
			fprintf(stderr, "replay-log: %s: %s\n", replay, strerror(errno));
			return 2;
		}
	}
	e = malloc(sizeof(*e));
	if (!e)
		return die("out of memory");
	for (;;) {
		if (have_end && log.next_idx > end)
			break;
		r = lw_next(&log, e);
		if (r < 0) {
			ret = die(log.err);
			break;
		}
		if (r == 0) {
			if (end_mark || next_mark) {
				fprintf(stderr, "replay-log: mark '%s' not found\n",
					end_mark ? end_mark : next_mark);
				ret = next_mark ? 1 : 2;
			}
			break;
		}
		if (list)
			printf("%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%s%s%s\n", e->idx,
			       e->sector, e->nr_sectors,
			       lw_flags_str(e->flags, fl, sizeof(fl)),
			       (e->flags & LW_MARK) ? "\t" : "", e->mark);
		if (flushes && (e->flags & (LW_FLUSH | LW_FUA)))
			printf("%" PRIu64 "\t%s\n", e->idx,
			       lw_flags_str(e->flags, fl, sizeof(fl)));
		if (replay && lw_apply_fd(&log, e, tfd, dmode)) {
			ret = die(log.err);
			break;
		}
		if (next_mark && (e->flags & LW_MARK) && !strcmp(e->mark, next_mark)) {
			printf("%" PRIu64 "\n", e->idx);
			break;
		}
		if (end_mark && (e->flags & LW_MARK) && !strcmp(e->mark, end_mark))
			break;
	}
	if (tfd >= 0) {
		if (!ret && fsync(tfd) && errno != EINVAL)
			ret = die("fsync of the replay target failed");
		close(tfd);
	}
	if (cursor && !ret)
		cursor_save(&log, cursor);
	free(e);
	lw_close(&log);
	return ret;
}
