// SPDX-License-Identifier: GPL-2.0
/*
 * boot: what a host runs once at boot (tools/systemd/livemirror-boot.service),
 * after LVM activated its volumes and before anything (libvirtd, pve-guests)
 * can open them.  Every livemirror metadata on this host is found by its
 * magic (scan.h), and each migration is handled by the state its metadata
 * records:
 *
 *   COPYING    resumed under the live device its superblock names (device_id)
 *              with 'start' over the same metadata and destination, so that
 *              the stored ids are checked as always.  The log's clean bits are
 *              kept (--trust-log) only when the metadata says ATTACHED (the host
 *              went down under a live table, dm-dirtylog.rst "Trust rule") and
 *              all three ids are strong; after a clean detach every region is
 *              copied again.  An LV that a switch killed before its commit left
 *              armed (so that autoactivation skipped it) is disarmed and then
 *              autoactivated (lvchange -aay).  A device that is not active, a
 *              destination that cannot be found, or weak ids: reported, left
 *              alone.
 *   SWITCHED   the LVM fence finished (lvmfence.h: the old LV retired, or the
 *              swap of a move within one VG), nothing activated: the
 *              destination holds the data;
 *              a device_id device that is active but does not map the
 *              destination (LVM activated the LV on its old PV) is the stale
 *              source: exit 15, left as it is for guard to fence.
 *   PREPARED   resolved by recover (cmd_recover() with the metadata of the
 *              group found here), then handled by the state it wrote.
 *   CANCELLED  nothing to do.
 * Damaged and format version 1 metadata is reported (exit 6).
 *
 * Exit: 0 when every migration was handled, else the first non-zero of the
 * migrations in scan order (LM_EXIT_*).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "cmds.h"
#include "dev.h"
#include "dm.h"
#include "exitcodes.h"
#include "footprint.h"
#include "guard.h"
#include "live.h"
#include "lvmfence.h"
#include "meta.h"
#include "result.h"
#include "scan.h"
#include "util.h"

#define BOOT_SCHEMA 1
#define MAX_MIG 64

struct mig {
	char path[256];			/* the metadata device */
	bool valid;			/* a valid version 2 superblock */
	struct lm_sbinfo sb;
	char uuid[33];
	char found_state[16];		/* as scanned (before recover) */
	char device[128];		/* dm name of device_id, "" not active */
	char dest[256];			/* a path of dest_id, "" not found */
	bool attached, trusted, changed;
	const char *action;
	const char *authoritative;
	char reason[768];
	char advice[768];
	int rc;
};

struct boot {
	int n, dups;
	struct mig m[MAX_MIG];
};

/*
 * snprintf into a field of the migration from other fields of it (never the
 * same one); out of line, so that -Wrestrict does not see one object.
 */
static __attribute__((noinline, format(printf, 3, 4))) void say(char *dst, size_t len,
								const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dst, len, fmt, ap);
	va_end(ap);
}

/* ---- finding devices by identity ------------------------------------------ */

static int read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return -1;
	if (!fgets(buf, (int)len, f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	n = strlen(buf);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = 0;
	return 0;
}

static const char *sys_block(void)
{
	return "/sys/class/block";
}

/* The dm device with this uuid: its name (and /dev path).  0 or -1. */
static int dm_by_uuid(const char *uuid, char *name, size_t nlen, char *path, size_t plen)
{
	struct dirent *e;
	DIR *d = opendir(sys_block());
	char p[PATH_MAX], v[256];
	int r = -1;

	if (!d)
		return -1;
	while (r && (e = readdir(d))) {
		if (strncmp(e->d_name, "dm-", 3))
			continue;
		snprintf(p, sizeof(p), "%s/%s/dm/uuid", sys_block(), e->d_name);
		if (read_line(p, v, sizeof(v)) || strcmp(v, uuid))
			continue;
		snprintf(p, sizeof(p), "%s/%s/dm/name", sys_block(), e->d_name);
		if (read_line(p, v, sizeof(v)))
			continue;
		snprintf(name, nlen, "%.127s", v);
		snprintf(path, plen, "/dev/%.200s", e->d_name);
		r = 0;
	}
	closedir(d);
	return r;
}

/*
 * A disk's own id as the kernel writes it ("naa:<hex>[-pN]", "eui:..."),
 * from the wwid sysfs gives ("naa.<hex>", "eui.<hex>"); best effort: a
 * wrong guess is refused by the table constructor, which computes the real
 * one.
 */
static bool disk_has_id(const char *kname, const char *id)
{
	char p[PATH_MAX], real[PATH_MAX], parent[PATH_MAX], w[256], cand[300], part[16] = "";
	const char *disk = kname;
	char *slash;

	snprintf(p, sizeof(p), "%s/%s/partition", sys_block(), kname);
	if (!read_line(p, w, sizeof(w))) {
		snprintf(part, sizeof(part), "-p%.8s", w);
		snprintf(p, sizeof(p), "%s/%s", sys_block(), kname);
		if (!realpath(p, real))
			return false;
		slash = strrchr(real, '/');
		if (!slash)
			return false;
		*slash = 0;
		slash = strrchr(real, '/');
		if (!slash)
			return false;
		snprintf(parent, sizeof(parent), "%.200s", slash + 1);
		disk = parent;
	}
	snprintf(p, sizeof(p), "%s/%.200s/wwid", sys_block(), disk);
	if (read_line(p, w, sizeof(w))) {
		snprintf(p, sizeof(p), "%s/%.200s/device/wwid", sys_block(), disk);
		if (read_line(p, w, sizeof(w)))
			return false;
	}
	if (strlen(w) < 5 || w[3] != '.')
		return false;
	for (char *c = w; *c; c++)
		if (*c >= 'A' && *c <= 'F')
			*c = (char)(*c - 'A' + 'a');
	snprintf(cand, sizeof(cand), "%.3s:%s%s", w, w + 4, part);
	if (!strcmp(cand, id))
		return true;
	/* NVMe: an nguid the kernel may hand out as an NAA designator */
	snprintf(cand, sizeof(cand), "naa:%s%s", w + 4, part);
	return !strncmp(w, "eui.", 4) && !strcmp(cand, id);
}

static int disk_by_id(const char *id, char *path, size_t plen)
{
	struct dirent *e;
	DIR *d = opendir(sys_block());
	int r = -1;

	if (!d)
		return -1;
	while (r && (e = readdir(d)))
		if (e->d_name[0] != '.' && strncmp(e->d_name, "dm-", 3) &&
		    disk_has_id(e->d_name, id)) {
			snprintf(path, plen, "/dev/%.200s", e->d_name);
			r = 0;
		}
	closedir(d);
	return r;
}

/* A block device path for a stored leg id; 0 or -1. */
static int path_of_id(const char *id, char *path, size_t plen)
{
	char name[128];

	if (!strncmp(id, "dm:", 3))
		return dm_by_uuid(id + 3, name, sizeof(name), path, plen);
	if (!strncmp(id, "naa:", 4) || !strncmp(id, "eui:", 4) || !strncmp(id, "t10:", 4))
		return disk_by_id(id, path, plen);
	return -1;
}

/* ---- the scan ---------------------------------------------------------------- */

static int collect(const char *path, const struct lm_meta *m, void *ctx)
{
	struct boot *b = ctx;
	struct mig *g;

	if (m->best >= 0)
		for (int i = 0; i < b->n; i++)
			if (b->m[i].valid && !memcmp(b->m[i].sb.uuid, m->sb[m->best].uuid,
						     LM_UUID_LEN)) {
				lm_note("%s: the same log as %s (uuid %s), handled there", path,
					b->m[i].path, b->m[i].uuid);
				b->dups++;
				return 0;
			}
	if (b->n == MAX_MIG) {
		lm_warn("more than %d livemirror metadata devices: %s and later ones are not "
			"handled", MAX_MIG, path);
		return 1;
	}
	g = &b->m[b->n++];
	memset(g, 0, sizeof(*g));
	snprintf(g->path, sizeof(g->path), "%s", path);
	g->action = "none";
	g->authoritative = "unknown";
	if (meta_needs_upgrade(m)) {
		snprintf(g->found_state, sizeof(g->found_state), "old-version");
		meta_upgrade_advice(path, g->reason, sizeof(g->reason));
		g->rc = LM_EXIT_METADATA;
	} else if (m->best < 0) {
		snprintf(g->found_state, sizeof(g->found_state), "damaged");
		say(g->reason, sizeof(g->reason), "no valid superblock (slot A: %s; slot B: "
			 "%s)", m->why[0], m->why[1]);
		say(g->advice, sizeof(g->advice), "see 'livemirror metadata check %s'", path);
		g->rc = LM_EXIT_METADATA;
	} else {
		g->valid = true;
		g->sb = m->sb[m->best];
		hex_encode(g->sb.uuid, LM_UUID_LEN, g->uuid);
		snprintf(g->found_state, sizeof(g->found_state), "%s", lm_state_name(g->sb.state));
	}
	return 0;
}

/* The device device_id names, if active: its name.  0 or -1. */
static int find_device(struct mig *g)
{
	char path[256];
	struct lm_dminfo info;

	if (!strncmp(g->sb.device_id, "dm:", 3))
		return dm_by_uuid(g->sb.device_id + 3, g->device, sizeof(g->device), path,
				  sizeof(path));
	if (!strncmp(g->sb.device_id, "dm-name:", 8) &&
	    !lmdm_info(g->sb.device_id + 8, &info) && info.exists) {
		snprintf(g->device, sizeof(g->device), "%s", info.name);
		return 0;
	}
	return -1;
}

static const char *id_or(const char *id)
{
	return id[0] ? id : "(unbound)";
}

/* ---- COPYING ------------------------------------------------------------------ */

/*
 * A switch killed before its commit left the LV armed, so boot's
 * autoactivation skipped it; now that the fence is cleared (the source
 * decides), activate it as autoactivation would have (-aay honours the
 * LV's own activation settings), so that the migration can be resumed.
 */
static void autoactivate(struct mig *g, const char *fence)
{
	char name[300], out[4096];
	struct lm_lv lv;
	int r;

	lm_note("%s: %s", g->path, fence);
	if (lm_lvm_find(g->sb.device_id + 3, false, &lv))
		return;
	snprintf(name, sizeof(name), "%s/%s", lv.vg, lv.lv);
	r = lm_lvm_runv(false, out, sizeof(out), (const char *[]){ "lvchange", "-aay", name, NULL });
	if (r)
		lm_warn("%s: autoactivation after clearing the fence failed ('lvm lvchange -aay' exit "
			"%d): %s", name, r, out);
	else
		lm_note("%s: activated as autoactivation would have (the fence had kept it down)",
			name);
}

static void do_copying(struct mig *g, const struct lm_args *a)
{
	static const char *const names[3] = { "device_id", "source_id", "dest_id" };
	const char *ids[3] = { g->sb.device_id, g->sb.source_id, g->sb.dest_id };
	struct lmdm_table t;
	struct lm_args s;
	struct lm_live l;
	bool running = false;
	int r;

	g->authoritative = "source";
	g->attached = g->sb.flags & LM_SB_FLAG_ATTACHED;
	/* a switch killed before its commit left the LV armed: the source decides */
	if (!strncmp(g->sb.device_id, "dm:LVM-", 7)) {
		char fence[400];

		if (lm_fence_resolve(g->sb.device_id + 3, NULL, false, false, g->uuid, fence,
				     sizeof(fence), NULL))
			g->rc = LM_EXIT_ERROR;
		else if (fence[0])
			autoactivate(g, fence);
	}
	for (int i = 0; i < 3; i++)
		if (lm_id_kind(ids[i], LM_ID_LEN) != LM_ID_STRONG) {
			g->action = "left";
			g->rc = LM_EXIT_METADATA;
			say(g->reason, sizeof(g->reason), "its %s is %s '%s': a weak or unbound "
				 "identity may name another device after a reboot, so boot does not "
				 "guess which devices are the migration's", names[i],
				 ids[i][0] ? "weak" : "unbound", ids[i]);
			say(g->advice, sizeof(g->advice), "the source is authoritative; restart "
				 "it by hand with 'livemirror start DEV --meta %s --dest D' (every "
				 "region is copied again)", g->path);
			return;
		}
	if (find_device(g)) {
		g->action = "left";
		g->rc = LM_EXIT_NOT_FOUND;
		say(g->reason, sizeof(g->reason), "the migrated device %s is not active",
			 g->sb.device_id);
		if (!strncmp(g->sb.device_id, "dm:LIVEMIRROR-", 14))
			say(g->advice, sizeof(g->advice), "made by 'livemirror create': create it "
				 "again with 'livemirror create NAME --meta %s --source S --dest D "
				 "--trust-log' (source %s, destination %s; drop --trust-log if anything "
				 "may have written the source since)", g->path, g->sb.source_id,
				 g->sb.dest_id);
		else
			say(g->advice, sizeof(g->advice), "activate it (an LV: lvchange -ay), "
				 "then run 'livemirror boot' again before anything opens it");
		return;
	}
	if (path_of_id(g->sb.dest_id, g->dest, sizeof(g->dest))) {
		g->dest[0] = 0;
		g->action = "left";
		g->rc = LM_EXIT_NOT_FOUND;
		say(g->reason, sizeof(g->reason), "device %s is active, but its destination "
			 "%s was not found", g->device, g->sb.dest_id);
		say(g->advice, sizeof(g->advice), "make the destination available, then run "
			 "'livemirror boot' again, or 'livemirror start %s --meta %s --dest D "
			 "--trust-log' by hand if nothing wrote %s since", g->device, g->path,
			 g->device);
		return;
	}
	if (!lmdm_get_table(g->device, false, &t)) {
		running = t.n == 1 && !strcmp(t.t[0].type, LM_TARGET);
		lmdm_table_free(&t);
	}
	memset(&s, 0, sizeof(s));
	s.cmd = lm_find_cmd(1, (char *[]){ "start" }, &r);
	s.pos[0] = g->device;
	s.npos = 1;
	s.meta[0] = g->path;
	s.nmeta = 1;
	s.dest = g->dest;
	s.label = g->sb.label[0] ? g->sb.label : NULL;
	s.region_sectors = g->sb.region_sectors;
	s.trust_log = g->attached;
	s.lock_timeout = a->lock_timeout;
	lm_note("%s: resuming the migration of %s to %s (metadata %s, %s)", g->uuid, g->device,
		g->dest, g->path, g->attached ? "last table never detached: trusting the log" :
		"last table detached cleanly: every region copied again");
	r = cmd_start(&s);
	lm_unlock_all();
	lm_crit_leave();
	g->rc = r;
	if (r) {
		g->action = "left";
		say(g->reason, sizeof(g->reason), "start failed (exit %d): %s", r,
			 lm_last_error_msg());
		say(g->advice, sizeof(g->advice), "the source is authoritative; see 'livemirror "
			 "status %s' and the message above", g->device);
		return;
	}
	g->action = running ? "already-running" : "resumed";
	g->changed = !running;
	if (!lm_live_get(g->device, &l, NULL)) {
		g->trusted = l.st.trusted == 1;
		say(g->reason, sizeof(g->reason), "%s: %s, %" PRIu64 " of %" PRIu64
			 " regions to copy", g->device, running ? "already migrating" :
			 g->trusted ? "resumed, the log's clean bits kept (the last table never "
			 "detached)" : "resumed, every region copied again (the last table "
			 "detached cleanly, or trust was not possible)",
			 l.st.nr_regions - l.st.in_sync, l.st.nr_regions);
	} else {
		say(g->reason, sizeof(g->reason), "%s: resumed", g->device);
	}
	say(g->advice, sizeof(g->advice), "'livemirror wait %s' then 'livemirror switch "
		 "%s' as before", g->device, g->device);
}

/* ---- SWITCHED ----------------------------------------------------------------- */

static void do_switched(struct mig *g)
{
	struct lm_footprint fp;
	struct lm_dminfo info;
	char ref[32], did[140] = "";
	bool on_dest = false, known = false;

	g->authoritative = "dest";
	g->action = "none";
	/*
	 * The LVM fence first (lvmfence.h): a crash between the switch's
	 * commit and the end of its LVM step left the old LV armed (it did
	 * not activate); retire it, or finish the swap of a move in one VG.
	 */
	if (!strncmp(g->sb.device_id, "dm:LVM-", 7)) {
		char fence[400];
		bool moved = false;

		if (lm_fence_resolve(g->sb.device_id + 3, !strncmp(g->sb.dest_id, "dm:", 3) ?
				     g->sb.dest_id + 3 : NULL, true, false, g->uuid, fence,
				     sizeof(fence), &moved)) {
			g->rc = LM_EXIT_ERROR;
		} else if (fence[0]) {
			g->action = "fence-finished";
			g->changed = true;
			lm_note("%s: %s", g->path, fence);
		}
		if (!g->rc && moved) {
			say(g->reason, sizeof(g->reason), "switched: a move within one VG, finished "
			    "in LVM's metadata (the LV names the new extents)");
			say(g->advice, sizeof(g->advice), "activate the LV as usual (it did not "
			    "activate at boot: it was fenced until now); then remove the metadata %s",
			    g->path);
			return;
		}
	}
	if (path_of_id(g->sb.dest_id, g->dest, sizeof(g->dest)))
		g->dest[0] = 0;
	if (find_device(g)) {
		g->device[0] = 0;
		say(g->reason, sizeof(g->reason), "switched: the destination %s%s%s%s holds "
			 "the data; the migrated device %s is not active", id_or(g->sb.dest_id),
			 g->dest[0] ? " (" : "", g->dest, g->dest[0] ? ")" : "",
			 id_or(g->sb.device_id));
		say(g->advice, sizeof(g->advice), "nothing to do at boot; the source %s is "
			 "stale: do not activate it for use; once the destination is in use, remove "
			 "the metadata %s", id_or(g->sb.source_id), g->path);
		return;
	}
	if (!lmdm_info(g->device, &info) && info.exists) {
		snprintf(ref, sizeof(ref), "%u:%u", info.major, info.minor);
		if (!lm_footprint_of(ref, LM_WHOLE, &fp)) {
			if (!strncmp(g->sb.dest_id, "dm:", 3)) {
				known = true;
				on_dest = lm_foot_has_id(&fp, g->sb.dest_id);
			} else if (g->dest[0] && !dev_table_ref(g->dest, ref, sizeof(ref)) &&
				   !lm_foot_id(ref, did, sizeof(did))) {
				known = true;
				on_dest = lm_foot_has_id(&fp, did);
			}
		}
	}
	if (on_dest) {
		say(g->reason, sizeof(g->reason), "switched: %s is active and maps the "
			 "destination %s", g->device, g->sb.dest_id);
		say(g->advice, sizeof(g->advice), "nothing to do; once consumers use the "
			 "destination, remove the metadata %s", g->path);
		return;
	}
	g->action = "fenced";
	g->rc = LM_EXIT_STALE;
	say(g->reason, sizeof(g->reason), "switched: the destination %s%s%s%s holds the "
		 "data, but %s is active and %s: it was activated on the stale source %s "
		 "(LVM's metadata still names the old PV)", g->sb.dest_id, g->dest[0] ? " (" : "",
		 g->dest, g->dest[0] ? ")" : "", g->device, known ?
		 "does not map the destination" : "cannot be shown to map the destination",
		 id_or(g->sb.source_id));
	say(g->advice, sizeof(g->advice), "left as it is, nothing activated: do not start "
		 "anything on %s ('livemirror guard --scan' refuses it in hypervisor hooks); point "
		 "its consumers at the destination%s%s, deactivate %s (lvchange -an, or dmsetup "
		 "remove) and keep its VG from auto-activating until the old LV is removed (see "
		 "livemirror-lvm.rst, 'What the operator runs next')", g->device,
		 g->dest[0] ? " " : "", g->dest, g->device);
}

/* ---- PREPARED: recover decides --------------------------------------------------- */

/* cmd_recover() on the group metadata found here; its JSON object in *json. */
static int run_recover(struct boot *b, const struct lm_args *a, char **json)
{
	struct lm_args ra;
	FILE *tmp = NULL;
	int r, saved = -1;

	*json = NULL;
	memset(&ra, 0, sizeof(ra));
	ra.cmd = lm_find_cmd(1, (char *[]){ "recover" }, &r);
	ra.lock_timeout = a->lock_timeout;
	for (int i = 0; i < b->n; i++) {
		struct mig *g = &b->m[i];
		bool take = g->valid && g->sb.state == LM_STATE_PREPARED;

		/* and every coordinator (or member) of a PREPARED log's group */
		for (int j = 0; j < b->n && !take && g->valid; j++)
			take = b->m[j].valid && b->m[j].sb.state == LM_STATE_PREPARED &&
			       !memcmp(b->m[j].sb.coordinator_uuid, g->sb.uuid, LM_UUID_LEN);
		if (take && ra.nmeta < LM_MAX_META)
			ra.meta[ra.nmeta++] = g->path;
	}
	if (!ra.nmeta)
		return 0;
	ra.json = a->json;
	if (a->json) {
		/* capture its object: stdout already goes to stderr */
		fflush(stdout);
		tmp = tmpfile();
		saved = dup(1);
		if (tmp && saved >= 0)
			dup2(fileno(tmp), 1);
	} else {
		printf("recover: deciding %d interrupted group switch metadata\n", ra.nmeta);
	}
	r = cmd_recover(&ra);
	fflush(stdout);
	if (tmp && saved >= 0) {
		long n;

		dup2(saved, 1);
		n = ftell(tmp);
		if (n > 0 && (*json = calloc(1, (size_t)n + 1))) {
			rewind(tmp);
			if (fread(*json, 1, (size_t)n, tmp) != (size_t)n)
				(*json)[0] = 0;
			while (n > 0 && ((*json)[n - 1] == '\n' || (*json)[n - 1] == 0))
				(*json)[--n] = 0;
		}
	}
	if (saved >= 0)
		close(saved);
	if (tmp)
		fclose(tmp);
	return r;
}

/* ---- output ---------------------------------------------------------------------- */

static void print_human(const struct mig *g)
{
	printf("%s: log %s, %s%s: %s", g->path, g->uuid[0] ? g->uuid : "-", g->found_state,
	       g->valid && strcmp(g->found_state, lm_state_name(g->sb.state)) ?
	       (g->sb.state == LM_STATE_SWITCHED ? " -> switched" : " -> copying") : "",
	       g->action);
	if (g->rc)
		printf(" (exit %d, %s)", g->rc, lm_exit_name(g->rc));
	putchar('\n');
	printf("    %s\n", g->reason);
	if (g->advice[0])
		printf("    next: %s\n", g->advice);
}

static void print_json(FILE *f, const struct boot *b, const char *recover_json, int rc,
		       bool changed, const char *err)
{
	fprintf(f, "{\"schema\":%d,\"command\":\"boot\",\"outcome\":\"%s\",\"changed\":%s,"
		"\"migrations\":[", BOOT_SCHEMA, !b->n ? "nothing-found" : rc ? "attention" :
		"handled", changed ? "true" : "false");
	for (int i = 0; i < b->n; i++) {
		const struct mig *g = &b->m[i];

		fprintf(f, "%s{\"metadata\":", i ? "," : "");
		lm_json_str(f, g->path);
		fprintf(f, ",\"uuid\":");
		lm_json_str(f, g->uuid);
		fprintf(f, ",\"found_state\":\"%s\",\"state\":\"%s\",\"label\":", g->found_state,
			g->valid ? lm_state_name(g->sb.state) : g->found_state);
		lm_json_str(f, g->valid ? g->sb.label : "");
		fprintf(f, ",\"device_id\":");
		lm_json_str(f, g->valid ? g->sb.device_id : "");
		fprintf(f, ",\"source_id\":");
		lm_json_str(f, g->valid ? g->sb.source_id : "");
		fprintf(f, ",\"dest_id\":");
		lm_json_str(f, g->valid ? g->sb.dest_id : "");
		fprintf(f, ",\"device\":");
		if (g->device[0])
			lm_json_str(f, g->device);
		else
			fprintf(f, "null");
		fprintf(f, ",\"dest\":");
		if (g->dest[0])
			lm_json_str(f, g->dest);
		else
			fprintf(f, "null");
		fprintf(f, ",\"attached\":%s,\"trusted\":%s,\"action\":\"%s\",\"authoritative\":"
			"\"%s\",\"reason\":", g->attached ? "true" : "false",
			g->trusted ? "true" : "false", g->action, g->authoritative);
		lm_json_str(f, g->reason);
		fprintf(f, ",\"advice\":");
		lm_json_str(f, g->advice);
		fprintf(f, ",\"exit\":%d}", g->rc);
	}
	fprintf(f, "],\"recover\":%s,\"exit\":%d,\"error\":", recover_json && recover_json[0] ?
		recover_json : "null", rc);
	if (!rc) {
		fprintf(f, "null");
	} else {
		fprintf(f, "{\"code\":%d,\"name\":", rc);
		lm_json_str(f, lm_exit_name(rc));
		fprintf(f, ",\"reason\":");
		lm_json_str(f, err);
		fputc('}', f);
	}
	fprintf(f, "}\n");
}

int cmd_boot(struct lm_args *a)
{
	struct boot *b = calloc(1, sizeof(*b));
	char *recover_json = NULL, err[1024] = "";
	int found = 0, rc = 0, out = -1, rrc;
	bool changed = false;

	if (!b)
		return LM_EXIT_ERROR;
	if (a->json) {
		/* stdout holds the one object; every human message goes to stderr */
		fflush(stdout);
		out = dup(1);
		if (out >= 0)
			dup2(2, 1);
	}
	if (lm_scan_each(collect, b, &found) < 0) {
		rc = LM_EXIT_ERROR;
		snprintf(err, sizeof(err), "%s", lm_last_error_msg());
		goto print;
	}
	rrc = run_recover(b, a, &recover_json);
	/* what recover wrote decides how each PREPARED log goes on */
	for (int i = 0; i < b->n; i++) {
		struct mig *g = &b->m[i];
		struct lm_sbinfo sb;

		if (!g->valid || g->sb.state != LM_STATE_PREPARED)
			continue;
		if (!meta_read_best(g->path, &sb))
			g->sb = sb;
		if (g->sb.state == LM_STATE_PREPARED) {
			g->rc = rrc ? rrc : LM_EXIT_PREPARED;
			g->action = "left";
			say(g->reason, sizeof(g->reason), "interrupted group switch that recover "
				 "did not decide (exit %d, see its output)", rrc);
			say(g->advice, sizeof(g->advice), "run 'livemirror recover --meta %s' "
				 "with the metadata of every member of the group (see livemirror(8), "
				 "recover, NEEDS RESYNC)", g->path);
		}
	}
	for (int i = 0; i < b->n; i++) {
		struct mig *g = &b->m[i];

		if (!g->valid || g->rc)
			continue;
		switch (g->sb.state) {
		case LM_STATE_COPYING:
			do_copying(g, a);
			break;
		case LM_STATE_SWITCHED:
			do_switched(g);
			break;
		case LM_STATE_CANCELLED:
			g->authoritative = "source";
			say(g->reason, sizeof(g->reason), "cancelled: the source %s holds the data",
				 id_or(g->sb.source_id));
			say(g->advice, sizeof(g->advice), "nothing to do; remove or reuse the "
				 "metadata %s", g->path);
			break;
		default:
			g->rc = LM_EXIT_METADATA;
			say(g->reason, sizeof(g->reason), "unknown state %" PRIu32, g->sb.state);
			break;
		}
		if (!strcmp(g->found_state, "prepared"))
			g->changed = true;
	}
	for (int i = 0; i < b->n; i++) {
		if (b->m[i].rc && !rc) {
			rc = b->m[i].rc;
			snprintf(err, sizeof(err), "%s: %s", b->m[i].path, b->m[i].reason);
		}
		changed = changed || b->m[i].changed;
	}
print:
	if (a->json) {
		FILE *f;

		fflush(stdout);
		f = out >= 0 ? fdopen(out, "w") : NULL;
		if (f) {
			print_json(f, b, recover_json, rc, changed, err);
			fclose(f);
		}
	} else {
		for (int i = 0; i < b->n; i++)
			print_human(&b->m[i]);
		if (!b->n && !rc)
			printf("no livemirror metadata found\n");
		else if (b->n)
			printf("%d migration%s, %s\n", b->n, b->n == 1 ? "" : "s",
			       rc ? "some need attention (see above)" : "all handled");
	}
	free(recover_json);
	free(b);
	return rc;
}
