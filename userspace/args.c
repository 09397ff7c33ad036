// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "table.h"
#include "util.h"

#define COMMON (O(OPT_HELP) | O(OPT_VERBOSE))
/* State-changing commands: --json result object, --lock-timeout. */
#define MUTATE (O(OPT_JSON) | O(OPT_LOCK_TIMEOUT))
#define TUNING (O(OPT_REGION) | O(OPT_THROTTLE) | O(OPT_DEPTH) | O(OPT_PAUSED) | \
		O(OPT_LABEL) | O(OPT_DEST_ERROR))

const struct lm_cmd lm_commands[] = {
	{ "create", 1, 1, COMMON | MUTATE | TUNING | O(OPT_META) | O(OPT_SOURCE) | O(OPT_DEST) |
	  O(OPT_FORCE) | O(OPT_UUID) | O(OPT_REUSE_META) | O(OPT_TRUST_LOG),
	  O(OPT_META) | O(OPT_SOURCE) | O(OPT_DEST),
	  "NAME --meta M --source S --dest D [--region-size SIZE] [--throttle MiBs]\n"
	  "        [--copy-depth N] [--paused] [--label L] [--dest-error stop|retry]\n"
	  "        [--force] [--uuid UUID] [--reuse-metadata | --trust-log]",
	  "Create device NAME mirroring S to D, tracked by metadata M.  Refuses a\n"
	  "destination smaller than the source and metadata that belongs to other legs,\n"
	  "and (exit 4, unless --force) a destination that is open, held, part of the\n"
	  "source's device stack, a leg of a livemirror table, or carries a signature.\n"
	  "NAME gets the dm uuid LIVEMIRROR-<id>: the one M is bound to, else M's own\n"
	  "uuid, else (fresh M) a new random id that M then records; --uuid overrides.\n"
	  "--reuse-metadata and --trust-log as for start (created again over the same\n"
	  "metadata, the uuid makes the device's identity strong, as trust needs)." },
	{ "start", 1, 1, COMMON | MUTATE | TUNING | O(OPT_META) | O(OPT_DEST) |
	  O(OPT_SOURCE_NAME) | O(OPT_FORCE) | O(OPT_REUSE_META) | O(OPT_TRUST_LOG),
	  O(OPT_META) | O(OPT_DEST),
	  "LIVE_DEV --meta M --dest D [--region-size SIZE] [--throttle MiBs]\n"
	  "        [--copy-depth N] [--paused] [--label L] [--dest-error stop|retry]\n"
	  "        [--source-name NAME] [--force] [--reuse-metadata | --trust-log]\n"
	  "        [--json] [--lock-timeout S]",
	  "Start migrating the live dm device LIVE_DEV (held open by its users) to D:\n"
	  "its current table moves to a hidden device (LIVE_DEV-lmsrc, or --source-name)\n"
	  "and LIVE_DEV is reloaded with livemirror over it.  Holders never reopen\n"
	  "anything.  The label defaults to one derived from LIVE_DEV's dm UUID.\n"
	  "Metadata bound to other legs is refused (exit 6) unless --reuse-metadata\n"
	  "(reformat: full copy).  --trust-log keeps the log's clean bits: DANGEROUS,\n"
	  "see livemirror(8).\n"
	  "On any error everything is rolled back and nothing is left suspended.\n"
	  "The destination is validated as for create (exit 4 unless --force)." },
	{ "status", 1, 1, COMMON | O(OPT_JSON) | O(OPT_WATCH) | O(OPT_INTERVAL), 0,
	  "DEV [--json] [--watch] [--interval S]",
	  "Show migration state.  Human output with a progress bar on a terminal,\n"
	  "key=value lines otherwise, one JSON object with --json.  Rate and ETA are\n"
	  "measured over --interval seconds (default 0.5) while copying." },
	{ "wait", 1, 1, COMMON | O(OPT_TIMEOUT) | O(OPT_UNTIL), 0,
	  "DEV [--timeout S] [--until synced|switched|any]",
	  "Wait, on device-mapper events, until DEV is synced (exit 0), has failed\n"
	  "(exit 8 destination failed, 6 metadata failed) or the timeout expired (7).\n"
	  "--until switched waits for the switch (by anyone), --until any for the next\n"
	  "change of state or health.  Under --dest-error retry a degraded destination\n"
	  "is waited out: the target retries it by itself." },
	{ "events", 0, LM_MAX_POS, COMMON | O(OPT_JSON) | O(OPT_TIMEOUT), 0,
	  "[DEV...] [--json] [--timeout S]",
	  "Print one line per state change of every migration (or of DEV...): when a\n"
	  "device becomes a livemirror device, changes state, health or mirroring, or\n"
	  "stops being one (switched, cancelled, removed).  The first lines give the\n"
	  "current state.  Woken by device-mapper events, not by polling.  Runs until\n"
	  "killed, or for --timeout seconds.  --json prints one object per line." },
	{ "pause", 1, 1, COMMON | MUTATE, 0, "DEV [--json]", "Pause the background copy." },
	{ "resume", 1, 1, COMMON | MUTATE, 0, "DEV [--json]",
	  "Resume the background copy (not a suspended device: see 'recover --live')." },
	{ "throttle", 2, 2, COMMON | MUTATE, 0, "DEV MiBs [--json]",
	  "Limit the copy rate (0 = unlimited)." },
	{ "copy-depth", 2, 2, COMMON | MUTATE, 0, "DEV N [--json]",
	  "Regions copied concurrently (1..64)." },
	{ "retry", 1, 1, COMMON | MUTATE, 0, "DEV [--json]",
	  "Retry a failed destination (state degraded -> copying)." },
	{ "switch", 1, LM_MAX_POS, COMMON | MUTATE | O(OPT_POST_COMMIT_HOOK), 0,
	  "DEV [DEV...] [--json] [--lock-timeout S] [--post-commit-hook CMD]",
	  "Atomically and durably make the destination authoritative, for one device\n"
	  "or a group (all or none, even across a crash).  Refuses unless synced and\n"
	  "healthy (exit 3; 8 when the destination failed).  Run again after a success\n"
	  "it exits 0 (already switched); exit 9 means committed but unfinished: run\n"
	  "it again.  --post-commit-hook runs CMD (sh -c) once the switch is committed\n"
	  "and resumed, with a JSON description of it on stdin; a failed hook exits 16\n"
	  "(the switch stays done).  See livemirror-switch.rst." },
	{ "cancel", 1, 1, COMMON | MUTATE | O(OPT_KEEP_DEST), 0,
	  "DEV [--keep-dest] [--json] [--lock-timeout S]",
	  "Stop migrating: DEV goes back to the source alone.  Safe to repeat, works\n"
	  "with a dead destination.  Refused with exit 10 once switched, 14 while a\n"
	  "group switch is prepared ('livemirror recover' resolves it).  --keep-dest\n"
	  "(only when synced) records CANCELLED durably, leaving the destination a\n"
	  "consistent copy." },
	{ "recover", 0, LM_MAX_POS, COMMON | MUTATE | O(OPT_META) | O(OPT_SOURCE) |
	  O(OPT_DEST) | O(OPT_PRINT_TABLE) | O(OPT_NAME) | O(OPT_LIVE) | O(OPT_COORD_LOST) |
	  O(OPT_SCAN), 0,
	  "--meta M [--meta M2 ...] [--source S --dest D] [--print-table] [--name NAME]\n"
	  "        [--coordinator-lost=source|destination] [--json]\n"
	  "   or: recover --scan [--json]\n"
	  "   or: recover --live DEV [DEV...] [--json] [--lock-timeout S]",
	  "After a crash, decide from metadata alone which leg is authoritative\n"
	  "(finishing or rolling back an interrupted group switch).  With --source and\n"
	  "--dest (one --meta), print the right table (--print-table) or create device\n"
	  "NAME with it (--name).  --live: for devices left suspended or half-done by\n"
	  "a killed helper, roll forward or back as their metadata says and resume\n"
	  "them (all members of a group together).  A PREPARED member that ran after\n"
	  "its prepare exits 13 (needs resync).  --coordinator-lost decides PREPARED\n"
	  "members whose coordinator's metadata is gone for good (dangerous: see\n"
	  "livemirror(8)).  --scan lists the livemirror metadata found on this host." },
	{ "guard", 1, 1, COMMON | O(OPT_JSON) | O(OPT_SCAN), 0, "DEV [--scan] [--json]",
	  "Exit 0 when DEV is safe to use, 15 when DEV is, or maps, a leg that\n"
	  "livemirror calls stale: the source of a switched migration or the\n"
	  "destination of a cancelled one.  For hypervisor hooks before a VM starts.\n"
	  "Uses the helper's state records; --scan also reads every livemirror\n"
	  "metadata on this host (after a reboot the records are gone)." },
	{ "lvmove", 2, LM_MAX_POS, COMMON | O(OPT_JSON) | O(OPT_THROTTLE) | O(OPT_REGION), 0,
	  "VG/LV [VG/LV...] PV... [--throttle MiBs] [--region-size SIZE] [--json]",
	  "Move the active LV VG/LV onto the PVs given, of its own VG, while it is in\n"
	  "use, and end as pvmove ends: LVM's metadata names the new extents, the LV's\n"
	  "table is LVM's own linear mapping, the old extents are free.  Allocates\n"
	  "VG/LV_lmdst and VG/LV_lmmeta, migrates, switches (the LVM fence swaps the\n"
	  "extents in LVM's metadata) and removes both.  Several LVs of one VG are\n"
	  "switched at one point (a group switch: all or none).  Run it again after a\n"
	  "crash.  pause, resume and throttle work on the LV's dm device meanwhile." },
	{ "lvm-finish", 1, 1, COMMON | O(OPT_JSON) | O(OPT_META), O(OPT_META),
	  "VG/LV --meta M [--json]",
	  "After a switch across VGs, once the consumer reopened the new LV or stopped:\n"
	  "remove the switched device VG-LV, the retired LV VG/LV_livemirror_stale (the\n"
	  "old extents) and the metadata LV M.  Refused (exit 4) while VG-LV is open,\n"
	  "and (exit 3) unless M says switched." },
	{ "boot", 0, 0, COMMON | O(OPT_JSON) | O(OPT_LOCK_TIMEOUT), 0, "[--json] [--lock-timeout S]",
	  "At boot, after LVM activation and before anything opens the volumes\n"
	  "(livemirror-boot.service): find every livemirror metadata on this host\n"
	  "(as recover --scan) and handle each migration by its state.  COPYING:\n"
	  "resumed with start under the device its metadata names, if active, over\n"
	  "the same metadata and destination (ids checked; the log trusted only when\n"
	  "the last table never detached, else every region copied again).\n"
	  "SWITCHED: reported, nothing activated; exit 15 when the device is active\n"
	  "but does not map the destination (the stale source).  PREPARED: decided by\n"
	  "recover, then as the state it wrote.  Exit 0 when everything was handled,\n"
	  "else the first migration's non-zero exit; each one says what to do next." },
	{ "metadata dump", 1, 1, COMMON | O(OPT_JSON) | O(OPT_XML), 0, "M [--json|--xml]",
	  "Print superblock slots, identity, state and dirty regions." },
	{ "metadata check", 1, 1, COMMON, 0, "M",
	  "Check metadata: exit 0 clean, 1 damaged (every problem listed), 4 in use." },
	{ "metadata repair", 1, 1, COMMON | O(OPT_REGION) | O(OPT_SRC_SECTORS) |
	  O(OPT_DST_SECTORS) | O(OPT_LABEL) | O(OPT_FORCE) | O(OPT_UPGRADE), 0,
	  "M [--region-size SIZE --source-sectors N --dest-sectors N [--label L]]\n"
	  "        [--force] [--upgrade]",
	  "Reset M to a valid all-dirty log (full recopy), keeping identity, leg ids\n"
	  "and any switched/prepared decision from the best slot.  Without a valid slot\n"
	  "the identity must be given.  --force resets even a clean log.  --upgrade\n"
	  "converts format version 1 metadata to version 2 (ids unbound, all dirty)." },
	{ "metadata measure", 0, 0, COMMON | O(OPT_SIZE) | O(OPT_SOURCE) | O(OPT_REGION) |
	  O(OPT_JSON), 0,
	  "--size BYTES|--source DEV [--region-size SIZE] [--json]",
	  "Print the metadata size needed for a source of that size." },
	{ "help", 0, 2, COMMON, 0, "[COMMAND]", "Show help." },
};
const size_t lm_ncommands = sizeof(lm_commands) / sizeof(lm_commands[0]);

static const struct {
	const char *name;
	int id;
	bool arg;
} opts[] = {
	{ "meta", OPT_META, true }, { "source", OPT_SOURCE, true },
	{ "dest", OPT_DEST, true }, { "region-size", OPT_REGION, true },
	{ "throttle", OPT_THROTTLE, true }, { "copy-depth", OPT_DEPTH, true },
	{ "paused", OPT_PAUSED, false }, { "label", OPT_LABEL, true },
	{ "dest-error", OPT_DEST_ERROR, true }, { "json", OPT_JSON, false },
	{ "xml", OPT_XML, false }, { "watch", OPT_WATCH, false },
	{ "interval", OPT_INTERVAL, true }, { "timeout", OPT_TIMEOUT, true },
	{ "keep-dest", OPT_KEEP_DEST, false }, { "print-table", OPT_PRINT_TABLE, false },
	{ "name", OPT_NAME, true }, { "size", OPT_SIZE, true },
	{ "source-sectors", OPT_SRC_SECTORS, true }, { "dest-sectors", OPT_DST_SECTORS, true },
	{ "force", OPT_FORCE, false }, { "help", OPT_HELP, false },
	{ "verbose", OPT_VERBOSE, false }, { "source-name", OPT_SOURCE_NAME, true },
	{ "lock-timeout", OPT_LOCK_TIMEOUT, true }, { "live", OPT_LIVE, false },
	{ "until", OPT_UNTIL, true }, { "upgrade", OPT_UPGRADE, false },
	{ "reuse-metadata", OPT_REUSE_META, false }, { "trust-log", OPT_TRUST_LOG, false },
	{ "coordinator-lost", OPT_COORD_LOST, true }, { "scan", OPT_SCAN, false },
	{ "uuid", OPT_UUID, true }, { "post-commit-hook", OPT_POST_COMMIT_HOOK, true },
};

/* dm's own safe set (what libdevmapper does not mangle), at most 128 bytes. */
static bool uuid_valid(const char *u)
{
	size_t n = strlen(u);

	if (!n || n > 128)
		return false;
	for (; *u; u++)
		if (!isalnum((unsigned char)*u) && !strchr("#+-.:=@_", *u))
			return false;
	return true;
}

const struct lm_cmd *lm_find_cmd(int argc, char **argv, int *used)
{
	char name[64];

	if (argc < 1)
		return NULL;
	*used = 1;
	if (!strcmp(argv[0], "metadata")) {
		if (argc < 2)
			return NULL;
		snprintf(name, sizeof(name), "metadata %s", argv[1]);
		*used = 2;
	} else {
		snprintf(name, sizeof(name), "%s", argv[0]);
	}
	for (size_t i = 0; i < lm_ncommands; i++)
		if (!strcmp(lm_commands[i].name, name))
			return &lm_commands[i];
	return NULL;
}

int lm_region_from_bytes(uint64_t bytes, uint64_t *sectors, char *why, size_t len)
{
	uint64_t s = bytes >> 9;

	if (bytes % 512) {
		snprintf(why, len, "region size %llu bytes is not a multiple of 512 "
			 "(use a suffix: s, K, M, G)", (unsigned long long)bytes);
		return -1;
	}
	if (s < 8) {
		snprintf(why, len, "region size %llu bytes is too small (minimum 4K); "
			 "did you mean %llus or %lluK?", (unsigned long long)bytes,
			 (unsigned long long)bytes, (unsigned long long)bytes);
		return -1;
	}
	if (s & (s - 1)) {
		snprintf(why, len, "region size %llu bytes is not a power of two",
			 (unsigned long long)bytes);
		return -1;
	}
	*sectors = s;
	return 0;
}

static int set_opt(struct lm_args *a, int id, const char *v, char *why, size_t len)
{
	uint64_t u;

	switch (id) {
	case OPT_META:
		if (a->nmeta == LM_MAX_META) {
			snprintf(why, len, "too many --meta");
			return -1;
		}
		a->meta[a->nmeta++] = v;
		return 0;
	case OPT_SOURCE: a->source = v; return 0;
	case OPT_DEST: a->dest = v; return 0;
	case OPT_NAME: a->name = v; return 0;
	case OPT_SOURCE_NAME: a->source_name = v; return 0;
	case OPT_REGION:
		if (parse_size(v, &u)) {
			snprintf(why, len, "bad --region-size '%s'", v);
			return -1;
		}
		return lm_region_from_bytes(u, &a->region_sectors, why, len);
	case OPT_THROTTLE:
		if (parse_u64(v, 1u << 20, &a->throttle)) {
			snprintf(why, len, "bad --throttle '%s' (MiB/s, 0 = unlimited)", v);
			return -1;
		}
		return 0;
	case OPT_DEPTH:
		if (parse_u64(v, LM_MAX_COPY_DEPTH, &u) || !u) {
			snprintf(why, len, "bad --copy-depth '%s' (1..%d)", v, LM_MAX_COPY_DEPTH);
			return -1;
		}
		a->copy_depth = (uint32_t)u;
		return 0;
	case OPT_LABEL:
		if (!label_valid(v)) {
			snprintf(why, len, "bad --label '%s' (1..63 printable chars, no spaces)", v);
			return -1;
		}
		a->label = v;
		return 0;
	case OPT_DEST_ERROR:
		if (strcmp(v, "stop") && strcmp(v, "retry")) {
			snprintf(why, len, "bad --dest-error '%s' (stop or retry)", v);
			return -1;
		}
		a->dest_error = v;
		return 0;
	case OPT_INTERVAL:
		if (parse_seconds(v, &a->interval) || a->interval < 0.05 || a->interval > 3600) {
			snprintf(why, len, "bad --interval '%s' (seconds, 0.05..3600)", v);
			return -1;
		}
		return 0;
	case OPT_TIMEOUT:
		if (parse_seconds(v, &a->timeout)) {
			snprintf(why, len, "bad --timeout '%s' (seconds)", v);
			return -1;
		}
		return 0;
	case OPT_LOCK_TIMEOUT:
		if (parse_seconds(v, &a->lock_timeout) || a->lock_timeout > 86400) {
			snprintf(why, len, "bad --lock-timeout '%s' (seconds, 0 = do not wait)", v);
			return -1;
		}
		return 0;
	case OPT_SIZE:
		if (parse_size(v, &a->size_bytes) || !a->size_bytes) {
			snprintf(why, len, "bad --size '%s'", v);
			return -1;
		}
		return 0;
	case OPT_SRC_SECTORS:
	case OPT_DST_SECTORS:
		if (parse_u64(v, UINT64_MAX >> 9, &u) || !u) {
			snprintf(why, len, "bad sector count '%s'", v);
			return -1;
		}
		if (id == OPT_SRC_SECTORS)
			a->src_sectors = u;
		else
			a->dst_sectors = u;
		return 0;
	case OPT_UNTIL:
		if (strcmp(v, "synced") && strcmp(v, "switched") && strcmp(v, "any")) {
			snprintf(why, len, "bad --until '%s' (synced, switched or any)", v);
			return -1;
		}
		a->until = v;
		return 0;
	case OPT_COORD_LOST:
		if (strcmp(v, "source") && strcmp(v, "destination")) {
			snprintf(why, len, "bad --coordinator-lost '%s' (source or destination)", v);
			return -1;
		}
		a->coord_lost = v;
		return 0;
	case OPT_UUID:
		if (!uuid_valid(v)) {
			snprintf(why, len, "bad --uuid '%s' (1..128 of A-Z a-z 0-9 # + - . : = @ _)", v);
			return -1;
		}
		a->uuid = v;
		return 0;
	case OPT_POST_COMMIT_HOOK:
		if (!*v) {
			snprintf(why, len, "--post-commit-hook needs a command");
			return -1;
		}
		a->post_commit_hook = v;
		return 0;
	case OPT_UPGRADE: a->upgrade = true; return 0;
	case OPT_REUSE_META: a->reuse_meta = true; return 0;
	case OPT_TRUST_LOG: a->trust_log = true; return 0;
	case OPT_SCAN: a->scan = true; return 0;
	case OPT_PAUSED: a->paused = true; return 0;
	case OPT_JSON: a->json = true; return 0;
	case OPT_XML: a->xml = true; return 0;
	case OPT_WATCH: a->watch = true; return 0;
	case OPT_KEEP_DEST: a->keep_dest = true; return 0;
	case OPT_PRINT_TABLE: a->print_table = true; return 0;
	case OPT_FORCE: a->force = true; return 0;
	case OPT_LIVE: a->live = true; return 0;
	case OPT_HELP: a->help = true; return 0;
	case OPT_VERBOSE: lm_verbose++; return 0;
	}
	return -1;
}

int lm_parse(const struct lm_cmd *cmd, int argc, char **argv, struct lm_args *a,
	     char *why, size_t len)
{
	bool only_pos = false;

	memset(a, 0, sizeof(*a));
	a->cmd = cmd;
	a->interval = 0.5;
	a->timeout = -1;
	a->lock_timeout = -1;
	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i], *val = NULL, *eq;
		char name[32];
		size_t nl;
		int k = -1;

		if (only_pos || arg[0] != '-' || !arg[1]) {
			if (a->npos == LM_MAX_POS) {
				snprintf(why, len, "too many arguments");
				return 2;
			}
			a->pos[a->npos++] = arg;
			continue;
		}
		if (!strcmp(arg, "--")) {
			only_pos = true;
			continue;
		}
		if (!strcmp(arg, "-h"))
			arg = "--help";
		else if (!strcmp(arg, "-v"))
			arg = "--verbose";
		if (arg[1] != '-') {
			snprintf(why, len, "unknown option '%s'", arg);
			return 2;
		}
		arg += 2;
		eq = strchr(arg, '=');
		nl = eq ? (size_t)(eq - arg) : strlen(arg);
		if (nl >= sizeof(name)) {
			snprintf(why, len, "unknown option '--%.40s'", arg);
			return 2;
		}
		memcpy(name, arg, nl);
		name[nl] = 0;
		for (size_t j = 0; j < sizeof(opts) / sizeof(opts[0]); j++)
			if (!strcmp(opts[j].name, name))
				k = (int)j;
		if (k < 0 || !(cmd->allowed & O(opts[k].id))) {
			snprintf(why, len, "%s option '--%s' for '%s'",
				 k < 0 ? "unknown" : "unexpected", name, cmd->name);
			return 2;
		}
		if (opts[k].arg) {
			if (eq) {
				val = eq + 1;
			} else if (i + 1 < argc) {
				val = argv[++i];
			} else {
				snprintf(why, len, "option '--%s' needs a value", name);
				return 2;
			}
		} else if (eq) {
			snprintf(why, len, "option '--%s' takes no value", name);
			return 2;
		}
		if ((a->seen & O(opts[k].id)) && opts[k].id != OPT_META &&
		    opts[k].id != OPT_VERBOSE) {
			snprintf(why, len, "option '--%s' given twice", name);
			return 2;
		}
		a->seen |= O(opts[k].id);
		if (set_opt(a, opts[k].id, val, why, len))
			return 2;
	}
	if (a->help)
		return 0;
	if (a->npos < cmd->min_pos || a->npos > cmd->max_pos) {
		snprintf(why, len, "'%s' takes %s%d argument%s, got %d", cmd->name,
			 cmd->min_pos == cmd->max_pos ? "" : "at least ",
			 cmd->min_pos, cmd->min_pos == 1 ? "" : "s", a->npos);
		if (a->npos > cmd->max_pos)
			snprintf(why, len, "'%s': unexpected argument '%s'", cmd->name,
				 a->pos[cmd->max_pos]);
		return 2;
	}
	for (size_t j = 0; j < sizeof(opts) / sizeof(opts[0]); j++)
		if ((cmd->required & O(opts[j].id)) && !(a->seen & O(opts[j].id))) {
			snprintf(why, len, "'%s' needs --%s", cmd->name, opts[j].name);
			return 2;
		}
	if (!strcmp(cmd->name, "recover") && a->scan) {
		if (a->npos || a->nmeta || a->live || (a->seen & ~(O(OPT_SCAN) | O(OPT_JSON) |
		    O(OPT_HELP) | O(OPT_VERBOSE)))) {
			snprintf(why, len, "'recover --scan' takes no argument and only --json");
			return 2;
		}
	} else if (!strcmp(cmd->name, "recover")) {
		if (a->coord_lost && a->live) {
			snprintf(why, len, "--coordinator-lost needs --meta, not --live");
			return 2;
		}
		if (a->live ? a->npos == 0 || a->nmeta || (a->seen & (O(OPT_SOURCE) | O(OPT_DEST) |
		    O(OPT_PRINT_TABLE) | O(OPT_NAME))) : a->npos || !a->nmeta) {
			snprintf(why, len, a->live ? "'recover --live' takes DEV arguments and no "
				 "other option" : "'recover' needs --meta (or --live DEV...)");
			return 2;
		}
	}
	if (a->reuse_meta && a->trust_log) {
		snprintf(why, len, "--reuse-metadata and --trust-log are exclusive (reused "
			 "metadata is reformatted, every region dirty)");
		return 2;
	}
	if (a->json && a->xml) {
		snprintf(why, len, "--json and --xml are exclusive");
		return 2;
	}
	return 0;
}
