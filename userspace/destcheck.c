// SPDX-License-Identifier: GPL-2.0
/*
 * Destination validation for create and start.
 *
 * The kernel only compares device numbers, so a typo in --dest overwrites
 * whatever it names: another VM's disk, another migration's destination, the
 * PV the source itself lives on.  Before any table is built this file looks
 * at the destination from every side the system offers (device-mapper tables,
 * sysfs holders and slaves, mounts, open file descriptors, an exclusive open,
 * on-disk signatures) and refuses with LM_EXIT_BUSY unless --force.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libdevmapper.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#ifdef LM_HAVE_BLKID
#include <blkid.h>
#endif

#include "dev.h"
#include "destcheck.h"
#include "dm.h"
#include "exitcodes.h"
#include "meta.h"
#include "table.h"
#include "util.h"

#define MAX_TREE 256

struct check {
	const char *dest;
	uint32_t maj, min;
	char sys[PATH_MAX];	/* resolved /sys/dev/block/MAJ:MIN */
	bool force;
	int problems;
};

/* Report one reason for refusing: an error, or a warning under --force. */
static void refuse(struct check *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void refuse(struct check *c, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->problems++;
	if (c->force)
		lm_warn("--force: ignoring: destination %s %s", c->dest, msg);
	else
		lm_err("destination %s %s", c->dest, msg);
}

static int sys_path(uint32_t maj, uint32_t min, char *out)
{
	char p[64];

	snprintf(p, sizeof(p), "/sys/dev/block/%u:%u", maj, min);
	return realpath(p, out) ? 0 : -1;
}

/* Kernel name (dm-3, sdb1) and, for dm devices, the dm name. */
static void describe(const char *sysdir, char *out, size_t len)
{
	const char *base = strrchr(sysdir, '/');
	char p[PATH_MAX + 16], name[128] = "";
	FILE *f;

	base = base ? base + 1 : sysdir;
	snprintf(p, sizeof(p), "%s/dm/name", sysdir);
	f = fopen(p, "re");
	if (f) {
		if (fgets(name, sizeof(name), f))
			name[strcspn(name, "\n")] = 0;
		fclose(f);
	}
	if (name[0])
		snprintf(out, len, "%s (%s)", base, name);
	else
		snprintf(out, len, "%s", base);
}

/* ---- device-mapper: legs of livemirror tables ------------------------- */

static void check_lm_params(struct check *c, const char *name, const char *params,
			    bool inactive)
{
	static const char *const role[] = { "destination", "source", "metadata" };
	struct lm_table t;
	const char *legs[3];
	char why[128];

	if (lm_table_parse(params, &t, why, sizeof(why)))
		return;
	legs[0] = t.dest;
	legs[1] = t.source;
	legs[2] = t.meta;

	for (int i = 0; i < 3; i++) {
		uint32_t a, b;

		if (sscanf(legs[i], "%u:%u", &a, &b) == 2 && a == c->maj && b == c->min)
			refuse(c, "is already the %s of livemirror device %s%s", role[i], name,
			       inactive ? " (inactive table)" : "");
	}
}

static void check_tables_of(struct check *c, const char *name, bool inactive)
{
	struct dm_task *dmt = dm_task_create(DM_DEVICE_TABLE);
	void *next = NULL;

	if (!dmt)
		return;
	if (!dm_task_set_name(dmt, name) || (inactive && !dm_task_query_inactive_table(dmt)))
		goto out;
	dm_task_no_open_count(dmt);
	if (!dm_task_run(dmt))
		goto out;
	do {
		uint64_t start, length;
		char *type = NULL, *params = NULL;

		next = dm_get_next_target(dmt, next, &start, &length, &type, &params);
		if (type && !strcmp(type, LM_TARGET) && params)
			check_lm_params(c, name, params, inactive);
	} while (next);
out:
	dm_task_destroy(dmt);
}

static void check_livemirror_legs(struct check *c)
{
	struct dm_task *dmt = dm_task_create(DM_DEVICE_LIST);
	struct dm_names *n;
	unsigned int next = 0;

	if (!dmt)
		return;
	if (!dm_task_run(dmt))
		goto out;
	n = dm_task_get_names(dmt);
	if (!n || !n->dev)
		goto out;
	do {
		n = (struct dm_names *)((char *)n + next);
		check_tables_of(c, n->name, false);
		check_tables_of(c, n->name, true);
		next = n->next;
	} while (next);
out:
	dm_task_destroy(dmt);
}

/* ---- sysfs: the source's device tree, holders ------------------------- */

/* Like dev_devno, but quiet: a missing or odd reference only skips a check. */
static int quiet_devno(const char *ref, uint32_t *maj, uint32_t *min)
{
	unsigned int a, b;
	struct stat st;
	char x;

	if (sscanf(ref, "%u:%u%c", &a, &b, &x) == 2) {
		*maj = a;
		*min = b;
		return 0;
	}
	if (stat(ref, &st) || !S_ISBLK(st.st_mode))
		return -1;
	*maj = major(st.st_rdev);
	*min = minor(st.st_rdev);
	return 0;
}

/* Collect sysdir and everything below it (its slaves, recursively). */
static void collect_tree(const char *sysdir, char (*tree)[PATH_MAX], int *n, int depth)
{
	char p[PATH_MAX + 16], q[PATH_MAX * 2];
	struct dirent *e;
	DIR *d;

	for (int i = 0; i < *n; i++)
		if (!strcmp(tree[i], sysdir))
			return;
	if (*n >= MAX_TREE || depth > 16)
		return;
	snprintf(tree[(*n)++], PATH_MAX, "%s", sysdir);
	snprintf(p, sizeof(p), "%s/slaves", sysdir);
	d = opendir(p);
	if (!d)
		return;
	while ((e = readdir(d))) {
		char real[PATH_MAX];

		if (e->d_name[0] == '.')
			continue;
		snprintf(q, sizeof(q), "%s/%s", p, e->d_name);
		if (realpath(q, real))
			collect_tree(real, tree, n, depth + 1);
	}
	closedir(d);
}

/* a equals b, or is a partition of b (a lives in b's sysfs directory). */
static bool within(const char *a, const char *b)
{
	size_t n = strlen(b);

	return !strncmp(a, b, n) && (a[n] == 0 || a[n] == '/');
}

static void check_tree(struct check *c, const char *ref, const char *what)
{
	static char tree[MAX_TREE][PATH_MAX];
	char root[PATH_MAX], desc[PATH_MAX + 160];
	uint32_t a, b;
	int n = 0;

	if (!ref || quiet_devno(ref, &a, &b) || sys_path(a, b, root))
		return;
	collect_tree(root, tree, &n, 0);
	for (int i = 0; i < n; i++) {
		if (!within(tree[i], c->sys) && !within(c->sys, tree[i]))
			continue;
		describe(tree[i], desc, sizeof(desc));
		if (!strcmp(tree[i], c->sys))
			refuse(c, "is %s%s%s", i ? "part of the device stack of the " : "the ",
			       what, i ? "" : " itself");
		else
			refuse(c, "and %s, in the device stack of the %s, are partitions of "
			       "one disk or one is a partition of the other", desc, what);
		if (i)
			lm_note("  (%s: %s is below it)", what, desc);
		return;
	}
}

static void list_holders(const char *sysdir, char *out, size_t len)
{
	char p[PATH_MAX + 16], q[PATH_MAX * 2], real[PATH_MAX], desc[PATH_MAX + 160];
	struct dirent *e;
	DIR *d;

	out[0] = 0;
	snprintf(p, sizeof(p), "%s/holders", sysdir);
	d = opendir(p);
	if (!d)
		return;
	while ((e = readdir(d))) {
		size_t used = strlen(out);

		if (e->d_name[0] == '.')
			continue;
		snprintf(q, sizeof(q), "%s/%s", p, e->d_name);
		if (!realpath(q, real))
			snprintf(real, sizeof(real), "%s", e->d_name);
		describe(real, desc, sizeof(desc));
		snprintf(out + used, len - used, "%s%s", used ? ", " : "", desc);
	}
	closedir(d);
}

static void check_holders(struct check *c)
{
	char held[1024], p[PATH_MAX * 2], desc[PATH_MAX + 160];
	struct dirent *e;
	struct stat st;
	DIR *d;

	list_holders(c->sys, held, sizeof(held));
	if (held[0])
		refuse(c, "is held by %s", held);
	/* A whole disk: its partitions' holders count too. */
	d = opendir(c->sys);
	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s/partition", c->sys, e->d_name);
		if (stat(p, &st))
			continue;
		snprintf(p, sizeof(p), "%s/%s", c->sys, e->d_name);
		list_holders(p, held, sizeof(held));
		describe(p, desc, sizeof(desc));
		if (held[0])
			refuse(c, "has partition %s held by %s", desc, held);
	}
	closedir(d);
}

/* ---- users: dm open count, mounts, processes, exclusive claims -------- */

static void check_open_count(struct check *c)
{
	struct lm_dminfo i;

	if (!lmdm_info_devno(c->maj, c->min, &i) && i.exists && i.open_count > 0)
		refuse(c, "is open (device-mapper device %s, open count %d)", i.name,
		       i.open_count);
}

static void check_mounts(struct check *c)
{
	char line[4096];
	FILE *f = fopen("/proc/self/mountinfo", "re");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned int id, parent, a, b;
		char mnt[1024];

		if (sscanf(line, "%u %u %u:%u %*s %1023s", &id, &parent, &a, &b, mnt) == 5 &&
		    a == c->maj && b == c->min) {
			refuse(c, "is mounted on %s", mnt);
			break;
		}
	}
	fclose(f);
}

static void check_processes(struct check *c)
{
	dev_t want = makedev(c->maj, c->min);
	pid_t self = getpid();
	struct dirent *p;
	DIR *proc = opendir("/proc");

	if (!proc)
		return;
	while ((p = readdir(proc))) {
		char fdd[64], fp[320], comm[64] = "?";
		struct dirent *e;
		DIR *d;
		long pid;
		char *end;
		bool found = false;

		pid = strtol(p->d_name, &end, 10);
		if (*end || pid <= 0 || pid == self)
			continue;
		snprintf(fdd, sizeof(fdd), "/proc/%ld/fd", pid);
		d = opendir(fdd);
		if (!d)
			continue;
		while (!found && (e = readdir(d))) {
			struct stat st;

			if (e->d_name[0] == '.')
				continue;
			snprintf(fp, sizeof(fp), "%s/%s", fdd, e->d_name);
			if (!stat(fp, &st) && S_ISBLK(st.st_mode) && st.st_rdev == want)
				found = true;
		}
		closedir(d);
		if (!found)
			continue;
		snprintf(fp, sizeof(fp), "/proc/%ld/comm", pid);
		{
			FILE *f = fopen(fp, "re");

			if (f) {
				if (fgets(comm, sizeof(comm), f))
					comm[strcspn(comm, "\n")] = 0;
				fclose(f);
			}
		}
		refuse(c, "is open by process %ld (%s)", pid, comm);
		break;
	}
	closedir(proc);
}

/* The kernel's own claim: mounts, swap, md, dm tables, O_EXCL openers. */
static void check_exclusive(struct check *c, const char *path)
{
	int fd = open(path, O_RDONLY | O_EXCL | O_CLOEXEC);

	if (fd >= 0) {
		close(fd);
		return;
	}
	if (errno == EBUSY && !c->problems)
		refuse(c, "is claimed by the kernel (mounted, swap, RAID or another table)");
}

/* ---- signatures ------------------------------------------------------- */

#ifdef LM_HAVE_BLKID
static int probe_signature(const char *path, char *what, size_t len)
{
	blkid_probe pr = blkid_new_probe_from_filename(path);
	const char *v = NULL;
	int r;

	if (!pr)
		return -1;
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_LABEL |
					  BLKID_SUBLKS_UUID);
	blkid_probe_enable_partitions(pr, 1);
	r = blkid_do_safeprobe(pr);
	what[0] = 0;
	if (r == 0) {
		if (!blkid_probe_lookup_value(pr, "TYPE", &v, NULL))
			snprintf(what, len, "a %s signature", v);
		else if (!blkid_probe_lookup_value(pr, "PTTYPE", &v, NULL))
			snprintf(what, len, "a %s partition table", v);
		else
			snprintf(what, len, "a signature");
		if (!blkid_probe_lookup_value(pr, "UUID", &v, NULL)) {
			size_t n = strlen(what);

			snprintf(what + n, len - n, " (UUID %s)", v);
		}
	} else if (r == -2) {
		snprintf(what, len, "several conflicting signatures");
	}
	blkid_free_probe(pr);
	return r < 0 && r != -2 ? -1 : 0;
}
#else
/* Without libblkid: the magics that matter most for a hypervisor's disks. */
static int probe_signature(const char *path, char *what, size_t len)
{
	static const struct { const char *name; long off; const char *magic; size_t n; } sigs[] = {
		{ "LVM2_member", 0x218, "LVM2 001", 8 }, { "LVM2_member", 0x018, "LVM2 001", 8 },
		{ "crypto_LUKS", 0, "LUKS\xba\xbe", 6 }, { "xfs", 0, "XFSB", 4 },
		{ "ext4", 0x438, "\x53\xef", 2 }, { "btrfs", 0x10040, "_BHRfS_M", 8 },
		{ "swap", 0xff6, "SWAPSPACE2", 10 }, { "livemirror metadata", 0, "LMIRROR1", 8 },
		{ "gpt", 0x200, "EFI PART", 8 }, { "dos", 0x1fe, "\x55\xaa", 2 },
	};
	static unsigned char buf[0x10048];
	ssize_t got;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	what[0] = 0;
	if (fd < 0)
		return -1;
	got = pread(fd, buf, sizeof(buf), 0);
	close(fd);
	if (got < 0)
		return -1;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigs[i].off + (long)sigs[i].n <= got &&
		    !memcmp(buf + sigs[i].off, sigs[i].magic, sigs[i].n)) {
			snprintf(what, len, "a %s signature", sigs[i].name);
			return 0;
		}
	return 0;
}
#endif

/* A valid log in meta means this migration ran before: the same legs. */
static bool meta_in_use(const char *meta)
{
	struct lm_meta m;
	char err[256];
	bool r;

	if (!meta || meta_open(&m, meta, META_RO, err, sizeof(err)))
		return false;
	r = !meta_load(&m) && m.best >= 0;
	meta_close(&m);
	return r;
}

static void check_signature(struct check *c, const char *path, const char *meta)
{
	char what[256];

	if (meta_in_use(meta)) {
		lm_debug("metadata %s holds a log: destination %s is a partial copy, its "
			 "signatures are not checked", meta, c->dest);
		return;
	}
	if (probe_signature(path, what, sizeof(what))) {
		lm_warn("destination %s: cannot probe for signatures: %s", c->dest,
			strerror(errno));
		return;
	}
	if (what[0])
		refuse(c, "carries %s: it holds data (wipe it with 'wipefs -a' if it is "
		       "really unused, or give --force)", what);
}

int lm_dest_check(const char *dest, const char *source_ref, const char *meta, bool force)
{
	struct check c = { .dest = dest, .force = force };
	char path[256];
	int r;

	r = dev_devno(dest, &c.maj, &c.min);
	if (r)
		return r;
	r = dev_path(dest, path, sizeof(path));
	if (r)
		return r;
	if (sys_path(c.maj, c.min, c.sys)) {
		lm_err("destination %s: no sysfs entry for %u:%u", dest, c.maj, c.min);
		return LM_EXIT_NOT_FOUND;
	}
	check_livemirror_legs(&c);
	check_tree(&c, source_ref, "source");
	check_tree(&c, meta, "metadata device");
	check_holders(&c);
	check_open_count(&c);
	check_mounts(&c);
	check_processes(&c);
	check_exclusive(&c, path);
	check_signature(&c, path, meta);
	if (c.problems && !force) {
		lm_note("refusing to overwrite %s (give --force to override)", dest);
		return LM_EXIT_BUSY;
	}
	return 0;
}
