// SPDX-License-Identifier: GPL-2.0
/*
 * Fake libdevmapper (and fake dev.c) for the host tests: see fakedm.h.
 * Only what the helper calls is implemented, with the semantics of the
 * real dm ioctls that the helper's protocols depend on:
 *  - RELOAD fills the inactive slot (a second RELOAD overwrites it);
 *  - SUSPEND of a suspended device succeeds and does nothing;
 *  - RESUME swaps in the inactive table if there is one, then resumes;
 *  - messages go to the LIVE table, suspended or not;
 *  - REMOVE fails (EBUSY) while another table refers to the device.
 * The livemirror target keeps its durable state in the metadata file,
 * formatted on first use like the kernel's ctr does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libdevmapper.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "dev.h"
#include "exitcodes.h"
#include "meta.h"
#include "table.h"
#include "util.h"
#include "fakedm.h"

struct fk_state *fk;

/* ---- shared state ------------------------------------------------------ */

void fk_init(void)
{
	if (fk)
		return;
	fk = mmap(NULL, sizeof(*fk), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		  -1, 0);
	if (fk == MAP_FAILED)
		abort();
	fk_reset();
}

void fk_reset(void)
{
	memset(fk, 0, sizeof(*fk));
	fk->next_dm_minor = 0;
	fk->next_disk_minor = 16;
}

static const char *ref_of(uint32_t maj, uint32_t min, char *buf, size_t len)
{
	snprintf(buf, len, "%u:%u", maj, min);
	return buf;
}

uint32_t fk_add_disk(const char *path, uint64_t sectors, bool is_meta)
{
	for (int i = 0; i < FK_MAXDISK; i++) {
		struct fk_disk *d = &fk->disk[i];

		if (d->used)
			continue;
		d->used = true;
		snprintf(d->path, sizeof(d->path), "%s", path);
		d->minor = fk->next_disk_minor++;
		d->sectors = sectors;
		d->is_meta = is_meta;
		return d->minor;
	}
	abort();
}

struct fk_disk *fk_disk_by_path(const char *path)
{
	for (int i = 0; i < FK_MAXDISK; i++)
		if (fk->disk[i].used && !strcmp(fk->disk[i].path, path))
			return &fk->disk[i];
	return NULL;
}

static struct fk_disk *disk_by_minor(uint32_t min)
{
	for (int i = 0; i < FK_MAXDISK; i++)
		if (fk->disk[i].used && fk->disk[i].minor == min)
			return &fk->disk[i];
	return NULL;
}

struct fk_dev *fk_dev_by_name(const char *name)
{
	for (int i = 0; i < FK_MAXDEV; i++)
		if (fk->dev[i].used && !strcmp(fk->dev[i].name, name))
			return &fk->dev[i];
	return NULL;
}

static struct fk_dev *dev_by_minor(uint32_t min)
{
	for (int i = 0; i < FK_MAXDEV; i++)
		if (fk->dev[i].used && fk->dev[i].minor == min)
			return &fk->dev[i];
	return NULL;
}

static int parse_ref(const char *s, uint32_t *maj, uint32_t *min)
{
	unsigned int a, b;

	if (sscanf(s, "%u:%u", &a, &b) != 2)
		return -1;
	*maj = a;
	*min = b;
	return 0;
}

static uint64_t ref_sectors(const char *ref)
{
	uint32_t a, b;
	struct fk_disk *d;
	struct fk_dev *v;
	uint64_t len = 0;

	if (parse_ref(ref, &a, &b))
		return 0;
	if (a == FK_DISK_MAJOR) {
		d = disk_by_minor(b);
		return d ? d->sectors : 0;
	}
	v = dev_by_minor(b);
	if (!v || !v->has_live)
		return 0;
	for (int i = 0; i < v->live.n; i++)
		len += v->live.t[i].len;
	return len;
}

const char *fk_ref(const char *s, char *buf, size_t len)
{
	struct fk_disk *d = fk_disk_by_path(s);
	struct fk_dev *v;

	if (d)
		return ref_of(FK_DISK_MAJOR, d->minor, buf, len);
	if (!strncmp(s, "/dev/mapper/", 12))
		s += 12;
	v = fk_dev_by_name(s);
	if (v)
		return ref_of(FK_DM_MAJOR, v->minor, buf, len);
	snprintf(buf, len, "?");
	return buf;
}

static struct fk_dev *new_dev(const char *name, const char *uuid)
{
	for (int i = 0; i < FK_MAXDEV; i++) {
		struct fk_dev *v = &fk->dev[i];

		if (v->used)
			continue;
		memset(v, 0, sizeof(*v));
		v->used = true;
		snprintf(v->name, sizeof(v->name), "%s", name);
		snprintf(v->uuid, sizeof(v->uuid), "%s", uuid ? uuid : "");
		v->minor = fk->next_dm_minor++;
		return v;
	}
	abort();
}

struct fk_dev *fk_create_linear(const char *name, const char *uuid, uint64_t len,
				const char *ref)
{
	struct fk_dev *v = new_dev(name, uuid);

	v->has_live = true;
	v->live.n = 1;
	v->live.t[0].len = len;
	snprintf(v->live.t[0].type, sizeof(v->live.t[0].type), "linear");
	snprintf(v->live.t[0].params, sizeof(v->live.t[0].params), "%s 0", ref);
	return v;
}

void fk_release(int slot)
{
	__atomic_store_n(&fk->release[slot], 1, __ATOMIC_SEQ_CST);
}

void fk_set_synced(const char *meta_path, bool synced)
{
	struct fk_disk *d = fk_disk_by_path(meta_path);

	if (!d)
		abort();
	d->synced = synced;
}

/* ---- the livemirror target's metadata ----------------------------------- */

static const char *meta_file_of_ref(const char *ref)
{
	uint32_t a, b;
	struct fk_disk *d;

	if (parse_ref(ref, &a, &b) || a != FK_DISK_MAJOR)
		return NULL;
	d = disk_by_minor(b);
	return d && d->is_meta ? d->path : NULL;
}

static int meta_rw(const char *path, struct lm_meta *m)
{
	char err[256];

	if (meta_open(m, path, META_RW_EXCL, err, sizeof(err)))
		return -1;
	if (meta_load(m)) {
		meta_close(m);
		return -1;
	}
	return 0;
}

uint32_t fk_meta_state(const char *path)
{
	struct lm_meta m;
	uint32_t s;

	if (meta_rw(path, &m))
		return 0xffffffff;
	s = m.best < 0 ? 0 : m.sb[m.best].state;
	meta_close(&m);
	return s;
}

/*
 * The ctr: format fresh metadata, like dm-dirtylog does, bound to the
 * mapped device's identity as the kernel computes it (livemirror-ident.c).
 */
static int lm_ctr(const struct fk_target *t, const char *name, const char *uuid)
{
	struct lm_table lt;
	struct lm_sbinfo sb;
	struct lm_meta m;
	const char *mp;
	char why[128];
	int r = 0;

	if (lm_table_parse(t->params, &lt, why, sizeof(why)))
		return -EINVAL;
	mp = meta_file_of_ref(lt.meta);
	if (!mp || !ref_sectors(lt.source) || ref_sectors(lt.dest) < t->len)
		return -ENODEV;
	if (meta_rw(mp, &m))
		return -EIO;
	if (meta_fresh(&m)) {
		memset(&sb, 0, sizeof(sb));
		random_bytes(sb.uuid, LM_UUID_LEN);
		sb.state = LM_STATE_COPYING;
		sb.region_sectors = lt.region_sectors;
		sb.source_sectors = t->len;
		sb.dest_sectors = ref_sectors(lt.dest);
		sb.nr_regions = nr_regions_for(t->len, lt.region_sectors);
		sb.bitmap_start = LM_BITMAP_START;
		sb.bitmap_blocks = lm_bitmap_blocks(sb.nr_regions);
		sb.nr_bitmaps = 1;
		snprintf(sb.label, sizeof(sb.label), "%s", lt.label);
		if (uuid[0])
			snprintf(sb.device_id, LM_ID_LEN, "dm:%s", uuid);
		else
			snprintf(sb.device_id, LM_ID_LEN, "dm-name:%s", name);
		if (meta_format(&m, &sb))
			r = -EIO;
	} else if (m.best < 0) {
		r = -EINVAL;
	}
	meta_close(&m);
	return r;
}

static const char *lm_meta_of(const struct fk_table *tb)
{
	struct lm_table lt;
	char why[128];

	if (tb->n != 1 || strcmp(tb->t[0].type, LM_TARGET) ||
	    lm_table_parse(tb->t[0].params, &lt, why, sizeof(why)))
		return NULL;
	return meta_file_of_ref(lt.meta);
}

static void lm_status(const struct fk_table *tb, char *out, size_t len)
{
	const char *mp = lm_meta_of(tb);
	struct fk_disk *d = mp ? fk_disk_by_path(mp) : NULL;
	uint32_t st = mp ? fk_meta_state(mp) : 0xffffffff;
	const char *name;
	bool done;

	switch (st) {
	case LM_STATE_SWITCHED: name = "switched"; done = true; break;
	case LM_STATE_CANCELLED: name = "cancelled"; done = d && d->synced; break;
	case LM_STATE_COPYING:
	case LM_STATE_PREPARED:
		done = d && d->synced;
		name = done ? "synced" : "copying";
		break;
	default: name = "failed"; done = false; break;
	}
	snprintf(out, len, "%d/100 %d %s %s 4 0 1 0", done ? 100 : 50, done ? 0 : 50, name,
		 st == 0xffffffff ? "AAD" : "AAA");
}

static int set_state(const char *mp, uint32_t state, const char *const *grp);

void fk_set_meta_state(const char *meta_path, uint32_t state)
{
	if (set_state(meta_path, state, NULL))
		abort();
}

void fk_set_meta_prepared(const char *meta_path)
{
	struct lm_meta m;
	char self[33];
	const char *grp[4] = { "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee", self, "2", "0" };

	if (meta_rw(meta_path, &m) || m.best < 0)
		abort();
	hex_encode(m.sb[m.best].uuid, LM_UUID_LEN, self);
	meta_close(&m);
	if (set_state(meta_path, LM_STATE_PREPARED, grp))
		abort();
}

static int set_state(const char *mp, uint32_t state, const char *const *grp)
{
	struct lm_sbinfo sb;
	struct lm_meta m;
	int r = 0;

	if (meta_rw(mp, &m))
		return -EIO;
	if (m.best < 0) {
		meta_close(&m);
		return -EIO;
	}
	sb = m.sb[m.best];
	sb.state = state;
	/*
	 * As the kernel (livemirror 1.2.0): SWITCHED and CANCELLED keep a
	 * PREPARED log's group fields, COPYING (abort_prepare) zeroes them.
	 */
	if (state != LM_STATE_SWITCHED && state != LM_STATE_CANCELLED) {
		memset(sb.group_uuid, 0, LM_UUID_LEN);
		memset(sb.coordinator_uuid, 0, LM_UUID_LEN);
		sb.group_members = sb.group_index = 0;
	}
	if (grp && (hex_decode(grp[0], sb.group_uuid, LM_UUID_LEN) ||
		    hex_decode(grp[1], sb.coordinator_uuid, LM_UUID_LEN) ||
		    sscanf(grp[2], "%u", &sb.group_members) != 1 ||
		    sscanf(grp[3], "%u", &sb.group_index) != 1))
		r = -EINVAL;
	if (!r && meta_write_sb(&m, &sb))
		r = -EIO;
	meta_close(&m);
	return r;
}

/* dm_target_msg on the live livemirror table: the kernel's checks. */
static int lm_message(struct fk_dev *v, const char *msg)
{
	const char *mp = v->has_live ? lm_meta_of(&v->live) : NULL;
	struct fk_disk *d = mp ? fk_disk_by_path(mp) : NULL;
	char w[6][80];
	const char *grp[4];
	uint32_t st;
	int n;

	if (!mp)
		return -EINVAL;
	n = sscanf(msg, "%79s %79s %79s %79s %79s %79s", w[0], w[1], w[2], w[3], w[4], w[5]);
	st = fk_meta_state(mp);
	if (!strcmp(w[0], "switch")) {
		if (st == LM_STATE_SWITCHED)
			return 0;
		if (!d->synced || st == LM_STATE_CANCELLED)
			return -EBUSY;
		return set_state(mp, LM_STATE_SWITCHED, NULL);
	}
	if (!strcmp(w[0], "prepare")) {
		if (n != 5)
			return -EINVAL;
		if (st == LM_STATE_SWITCHED || !d->synced)
			return -EINVAL;
		for (int i = 0; i < 4; i++)
			grp[i] = w[i + 1];
		return set_state(mp, LM_STATE_PREPARED, grp);
	}
	if (!strcmp(w[0], "abort_prepare")) {
		if (st == LM_STATE_SWITCHED)
			return -EINVAL;
		if (st == LM_STATE_COPYING)
			return 0;
		if (st != LM_STATE_PREPARED)
			return -EINVAL;
		return set_state(mp, LM_STATE_COPYING, NULL);
	}
	if (!strcmp(w[0], "cancel")) {
		if (st == LM_STATE_CANCELLED)
			return 0;
		/* PREPARED: the group's coordinator decides (livemirror 1.3) */
		if (!v->suspended || st == LM_STATE_SWITCHED || st == LM_STATE_PREPARED)
			return -EINVAL;
		return set_state(mp, LM_STATE_CANCELLED, NULL);
	}
	if (!strcmp(w[0], "pause") || !strcmp(w[0], "resume") || !strcmp(w[0], "retry") ||
	    !strcmp(w[0], "throttle") || !strcmp(w[0], "copy_depth"))
		return 0;
	return -EINVAL;
}

/* ---- fake dev.c ------------------------------------------------------- */

int dev_devno(const char *path, uint32_t *maj, uint32_t *min)
{
	struct fk_disk *d;
	struct fk_dev *v;

	if (!parse_ref(path, maj, min))
		return 0;
	d = fk_disk_by_path(path);
	if (d) {
		*maj = FK_DISK_MAJOR;
		*min = d->minor;
		return 0;
	}
	if (!strncmp(path, "/dev/mapper/", 12) && (v = fk_dev_by_name(path + 12))) {
		*maj = FK_DM_MAJOR;
		*min = v->minor;
		return 0;
	}
	lm_err("%s: No such file or directory", path);
	return LM_EXIT_NOT_FOUND;
}

int dev_table_ref(const char *path, char *buf, size_t len)
{
	uint32_t a, b;
	int r = dev_devno(path, &a, &b);

	if (!r)
		snprintf(buf, len, "%u:%u", a, b);
	return r;
}

int dev_path(const char *ref, char *buf, size_t len)
{
	uint32_t a, b;
	struct fk_disk *d;
	struct fk_dev *v;

	if (parse_ref(ref, &a, &b)) {
		snprintf(buf, len, "%s", ref);
		return 0;
	}
	if (a == FK_DISK_MAJOR && (d = disk_by_minor(b))) {
		snprintf(buf, len, "%s", d->path);
		return 0;
	}
	if (a == FK_DM_MAJOR && (v = dev_by_minor(b))) {
		snprintf(buf, len, "/dev/mapper/%s", v->name);
		return 0;
	}
	lm_err("no device %s", ref);
	return LM_EXIT_NOT_FOUND;
}

int dev_size(const char *ref, uint64_t *sectors, uint32_t *lbs)
{
	char r[32];
	uint32_t a, b;
	int rc = dev_devno(ref, &a, &b);

	if (rc)
		return rc;
	*sectors = ref_sectors(ref_of(a, b, r, sizeof(r)));
	if (!*sectors) {
		lm_err("cannot open %s", ref);
		return LM_EXIT_NOT_FOUND;
	}
	if (lbs)
		*lbs = 512;
	return 0;
}

/* ---- fake libdevmapper ------------------------------------------------- */

struct dm_task {
	int type;
	char name[128];
	char uuid[130];
	bool by_devno;
	uint32_t major, minor;
	struct fk_table tbl;	/* targets added, or the result of TABLE/STATUS */
	char message[256];
	uint32_t *cookie;
	bool inactive;
	/* Result. */
	bool ran, exists;
	struct fk_dev snap;
};

static dm_log_with_errno_fn logfn;

void dm_log_with_errno_init(dm_log_with_errno_fn fn)
{
	logfn = fn;
}

void dm_lib_release(void) { }
void dm_lib_exit(void) { }

struct dm_task *dm_task_create(int type)
{
	struct dm_task *t = calloc(1, sizeof(*t));

	if (t)
		t->type = type;
	return t;
}

void dm_task_destroy(struct dm_task *dmt)
{
	free(dmt);
}

int dm_task_set_name(struct dm_task *dmt, const char *name)
{
	snprintf(dmt->name, sizeof(dmt->name), "%s", name);
	return 1;
}

int dm_task_set_uuid(struct dm_task *dmt, const char *uuid)
{
	snprintf(dmt->uuid, sizeof(dmt->uuid), "%s", uuid);
	return 1;
}

int dm_task_set_major_minor(struct dm_task *dmt, int major, int minor, int fb)
{
	(void)fb;
	dmt->by_devno = true;
	dmt->major = (uint32_t)major;
	dmt->minor = (uint32_t)minor;
	return 1;
}

int dm_task_no_open_count(struct dm_task *dmt) { (void)dmt; return 1; }
int dm_task_secure_data(struct dm_task *dmt) { (void)dmt; return 1; }
int dm_task_retry_remove(struct dm_task *dmt) { (void)dmt; return 1; }
int dm_task_skip_lockfs(struct dm_task *dmt) { (void)dmt; return 1; }
int dm_task_no_flush(struct dm_task *dmt) { (void)dmt; return 1; }
const char *dm_task_get_message_response(struct dm_task *dmt) { (void)dmt; return NULL; }

int dm_task_query_inactive_table(struct dm_task *dmt)
{
	dmt->inactive = true;
	return 1;
}

int dm_task_set_sector(struct dm_task *dmt, uint64_t sector)
{
	(void)dmt;
	(void)sector;
	return 1;
}

int dm_task_set_message(struct dm_task *dmt, const char *message)
{
	snprintf(dmt->message, sizeof(dmt->message), "%s", message);
	return 1;
}

int dm_task_set_event_nr(struct dm_task *dmt, uint32_t event_nr)
{
	(void)dmt;
	(void)event_nr;
	return 1;
}

int dm_task_set_cookie(struct dm_task *dmt, uint32_t *cookie, uint16_t flags)
{
	(void)flags;
	if (!*cookie)
		*cookie = (uint32_t)(__atomic_add_fetch(&fk->cookies, 1, __ATOMIC_SEQ_CST));
	dmt->cookie = cookie;
	return 1;
}

static struct fk_dev *suspended_by_me(void);

int dm_udev_wait(uint32_t cookie)
{
	(void)cookie;
	__atomic_add_fetch(&fk->udev_waits, 1, __ATOMIC_SEQ_CST);
	/* A member held suspended while udev works on another one (M2). */
	if (suspended_by_me())
		__atomic_add_fetch(&fk->udev_wait_suspended, 1, __ATOMIC_SEQ_CST);
	return 1;
}

int dm_task_add_target(struct dm_task *dmt, uint64_t start, uint64_t size, const char *ttype,
		       const char *params)
{
	struct fk_target *t;

	if (dmt->tbl.n == FK_MAXTGT)
		return 0;
	t = &dmt->tbl.t[dmt->tbl.n++];
	t->start = start;
	t->len = size;
	snprintf(t->type, sizeof(t->type), "%s", ttype);
	snprintf(t->params, sizeof(t->params), "%s", params);
	return 1;
}

void *dm_get_next_target(struct dm_task *dmt, void *next, uint64_t *start, uint64_t *length,
			 char **target_type, char **params)
{
	intptr_t i = (intptr_t)next;

	if (i >= dmt->tbl.n) {
		*target_type = NULL;
		*params = NULL;
		*start = *length = 0;
		return NULL;
	}
	*start = dmt->tbl.t[i].start;
	*length = dmt->tbl.t[i].len;
	*target_type = dmt->tbl.t[i].type;
	*params = dmt->tbl.t[i].params;
	return i + 1 < dmt->tbl.n ? (void *)(i + 1) : NULL;
}

int dm_task_get_info(struct dm_task *dmt, struct dm_info *i)
{
	memset(i, 0, sizeof(*i));
	if (!dmt->ran)
		return 0;
	i->exists = dmt->exists;
	if (!dmt->exists)
		return 1;
	i->suspended = dmt->snap.suspended;
	i->live_table = dmt->snap.has_live;
	i->inactive_table = dmt->snap.has_inactive;
	i->open_count = 0;
	for (int k = 0; k < FK_MAXDEV; k++) {
		struct fk_dev *o = &fk->dev[k];
		char me[32];

		if (!o->used)
			continue;
		ref_of(FK_DM_MAJOR, dmt->snap.minor, me, sizeof(me));
		for (int s = 0; s < 2; s++) {
			const struct fk_table *tb = s ? &o->inactive : &o->live;

			if (!(s ? o->has_inactive : o->has_live))
				continue;
			for (int j = 0; j < tb->n; j++)
				if (strstr(tb->t[j].params, me))
					i->open_count++;
		}
	}
	i->open_count += dmt->snap.extra_open;
	i->event_nr = dmt->snap.event_nr;
	i->major = FK_DM_MAJOR;
	i->minor = (int)dmt->snap.minor;
	return 1;
}

const char *dm_task_get_name(const struct dm_task *dmt)
{
	return dmt->exists ? dmt->snap.name : NULL;
}

const char *dm_task_get_uuid(const struct dm_task *dmt)
{
	return dmt->exists ? dmt->snap.uuid : NULL;
}

static const char *op_name(int type)
{
	switch (type) {
	case DM_DEVICE_INFO: return "info";
	case DM_DEVICE_TABLE: return "table";
	case DM_DEVICE_STATUS: return "status";
	case DM_DEVICE_SUSPEND: return "suspend";
	case DM_DEVICE_RESUME: return "resume";
	case DM_DEVICE_RELOAD: return "reload";
	case DM_DEVICE_CLEAR: return "clear";
	case DM_DEVICE_CREATE: return "create";
	case DM_DEVICE_REMOVE: return "remove";
	case DM_DEVICE_TARGET_MSG: return "message";
	case DM_DEVICE_WAITEVENT: return "waitevent";
	default: return "other";
	}
}

/* FAKEDM_FAIL / FAKEDM_PAUSE matching, counted per process. */
static int fail_count;

static bool knob_match(const char *knob, const char *op, const char *dev, bool *after)
{
	const char *v = getenv(knob);
	char kop[32], kdev[128];
	bool post = false;
	int nth = 1, n;

	if (after)
		*after = false;
	if (!v || !*v)
		return false;
	n = sscanf(v, "%31[^:]:%127[^:]:%d", kop, kdev, &nth);
	if (n < 2)
		return false;
	if (kop[strlen(kop) - 1] == '!') {
		kop[strlen(kop) - 1] = 0;
		post = true;
	}
	if (strcmp(kop, op) || (strcmp(kdev, "*") && strcmp(kdev, dev)))
		return false;
	if (!after)
		return true;
	if (++fail_count != nth)
		return false;
	*after = post;
	return true;
}

static void maybe_pause(const char *op, const char *dev)
{
	static bool done;
	const char *s = getenv("FAKEDM_SLOT");
	int slot = s ? atoi(s) : 0;

	if (done || !knob_match("FAKEDM_PAUSE", op, dev, NULL))
		return;
	done = true;
	__atomic_store_n(&fk->paused[slot], 1, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&fk->release[slot], __ATOMIC_SEQ_CST))
		usleep(1000);
}

static void log_op(const char *op, const char *dev, int r)
{
	int n = __atomic_fetch_add(&fk->nops, 1, __ATOMIC_SEQ_CST);

	if (n < 256)
		snprintf(fk->oplog[n], sizeof(fk->oplog[n]), "%d %s %s%s", (int)getpid(), op,
			 dev, r ? " FAILED" : "");
}

static bool sighup_blocked(void)
{
	sigset_t cur;

	sigprocmask(SIG_BLOCK, NULL, &cur);
	return sigismember(&cur, SIGHUP);
}

/* Is the VG lock of an LVM device held (by some other open file)? */
static bool vg_lock_held(const struct fk_dev *v)
{
	char vg[128], path[400];
	size_t n = 0;
	bool held;
	int fd;

	if (!fk->vg_lock_dir[0] || strncmp(v->uuid, "LVM-", 4))
		return true;
	for (const char *p = v->name; *p && n < sizeof(vg) - 1; p++) {
		if (*p == '-' && p[1] == '-') {
			vg[n++] = '-';
			p++;
		} else if (*p == '-') {
			break;
		} else {
			vg[n++] = *p;
		}
	}
	vg[n] = 0;
	snprintf(path, sizeof(path), "%s/V_%s", fk->vg_lock_dir, vg);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return false;
	held = flock(fd, LOCK_EX | LOCK_NB) != 0;
	close(fd);
	return held;
}

static struct fk_dev *suspended_by_me(void)
{
	for (int i = 0; i < FK_MAXDEV; i++)
		if (fk->dev[i].used && fk->dev[i].suspended && fk->dev[i].susp_pid == getpid())
			return &fk->dev[i];
	return NULL;
}

static int fail(struct dm_task *dmt, const char *what, int err)
{
	if (logfn)
		logfn(3, __FILE__, __LINE__, -1, "fake %s %s: %s", op_name(dmt->type), dmt->name,
		      what);
	errno = err;
	return 0;
}

int dm_task_run(struct dm_task *dmt)
{
	const char *op = op_name(dmt->type);
	struct fk_dev *v = NULL;
	bool after = false;
	char st[160];
	int r = 0;

	dmt->ran = true;
	if (dmt->by_devno) {
		if (dmt->major == FK_DM_MAJOR)
			v = dev_by_minor(dmt->minor);
	} else {
		v = fk_dev_by_name(dmt->name);
	}
	if (v)
		snprintf(dmt->name, sizeof(dmt->name), "%s", v->name);
	maybe_pause(op, dmt->name);
	if (strcmp(op, "info") && strcmp(op, "table") && strcmp(op, "status") &&
	    suspended_by_me() && !sighup_blocked())
		fk->unblocked_in_window++;
	if (v && (dmt->type == DM_DEVICE_SUSPEND || dmt->type == DM_DEVICE_RELOAD ||
		  dmt->type == DM_DEVICE_RESUME) && !vg_lock_held(v))
		fk->vg_lock_missing++;
	if (knob_match("FAKEDM_FAIL", op, dmt->name, &after) && !after) {
		snprintf(fk->fail_note, sizeof(fk->fail_note), "%.30s %.120s", op, dmt->name);
		log_op(op, dmt->name, 1);
		return fail(dmt, "injected failure", EIO);
	}
	switch (dmt->type) {
	case DM_DEVICE_CREATE:
		if (v)
			return fail(dmt, "exists", EBUSY);
		if (dmt->tbl.n == 1 && !strcmp(dmt->tbl.t[0].type, LM_TARGET) &&
		    (r = lm_ctr(&dmt->tbl.t[0], dmt->name, dmt->uuid)))
			return fail(dmt, "ctr failed", -r);
		v = new_dev(dmt->name, dmt->uuid);
		v->has_live = true;
		v->live = dmt->tbl;
		break;
	case DM_DEVICE_INFO:
		break;
	default:
		if (!v) {
			log_op(op, dmt->name, 1);
			return fail(dmt, "No such device or address", ENXIO);
		}
		break;
	}
	switch (dmt->type) {
	case DM_DEVICE_TABLE:
	case DM_DEVICE_STATUS:
		if (dmt->inactive ? !v->has_inactive : !v->has_live) {
			dmt->tbl.n = 0;
			break;
		}
		dmt->tbl = dmt->inactive ? v->inactive : v->live;
		if (dmt->type == DM_DEVICE_STATUS)
			for (int i = 0; i < dmt->tbl.n; i++) {
				if (!strcmp(dmt->tbl.t[i].type, LM_TARGET)) {
					lm_status(dmt->inactive ? &v->inactive : &v->live, st,
						  sizeof(st));
					snprintf(dmt->tbl.t[i].params,
						 sizeof(dmt->tbl.t[i].params), "%s", st);
				} else {
					dmt->tbl.t[i].params[0] = 0;
				}
			}
		break;
	case DM_DEVICE_SUSPEND:
		if (!v->suspended)
			v->susp_pid = getpid();
		v->suspended = true;
		break;
	case DM_DEVICE_RESUME:
		if (v->has_inactive) {
			v->live = v->inactive;
			v->has_live = true;
			v->has_inactive = false;
		}
		v->suspended = false;
		v->event_nr++;
		break;
	case DM_DEVICE_RELOAD:
		if (dmt->tbl.n == 1 && !strcmp(dmt->tbl.t[0].type, LM_TARGET) &&
		    (r = lm_ctr(&dmt->tbl.t[0], v->name, v->uuid))) {
			log_op(op, dmt->name, 1);
			return fail(dmt, "ctr failed", -r);
		}
		v->inactive = dmt->tbl;
		v->has_inactive = true;
		break;
	case DM_DEVICE_CLEAR:
		v->has_inactive = false;
		break;
	case DM_DEVICE_REMOVE: {
		struct dm_info di;

		dmt->exists = true;
		dmt->snap = *v;
		dm_task_get_info(dmt, &di);
		if (di.open_count || v->suspended) {
			log_op(op, dmt->name, 1);
			return fail(dmt, "Device or resource busy", EBUSY);
		}
		v->used = false;
		v = NULL;
		break;
	}
	case DM_DEVICE_TARGET_MSG:
		r = lm_message(v, dmt->message);
		if (r) {
			log_op("message", dmt->message, 1);
			return fail(dmt, "message refused", -r);
		}
		v->event_nr++;
		break;
	default:
		break;
	}
	if (dmt->type == DM_DEVICE_TARGET_MSG)
		log_op("message", dmt->message, 0);
	else if (dmt->type != DM_DEVICE_INFO && dmt->type != DM_DEVICE_TABLE &&
		 dmt->type != DM_DEVICE_STATUS)
		log_op(op, dmt->name, 0);
	dmt->exists = v != NULL;
	if (v)
		dmt->snap = *v;
	if (after)
		return fail(dmt, "injected failure after the fact", EIO);
	return 1;
}

/*
 * Calls of the commands this shim does not drive (destination checks,
 * events, --version): answer "nothing there" so that those paths fail
 * cleanly if a test ever reaches them.
 */
struct dm_names *dm_task_get_names(struct dm_task *dmt)
{
	(void)dmt;
	return NULL;
}

struct dm_versions *dm_task_get_versions(struct dm_task *dmt)
{
	(void)dmt;
	return NULL;
}

int dm_get_library_version(char *version, size_t size)
{
	snprintf(version, size, "fakedm");
	return 1;
}

int dm_driver_version(char *version, size_t size)
{
	(void)version;
	(void)size;
	return 0;
}
