// SPDX-License-Identifier: GPL-2.0
/*
 * dm-livemirror: table parsing, constructor, destructor and module init.
 *
 * The log object is shared between tables that name the same metadata
 * device: a table reload runs the new constructor while the old table is
 * still live, so both tables must see one in-core bitmap.  The first table
 * opens the log, later ones take a reference after checking that their
 * geometry matches; the last destructor closes it.  The old table's
 * postsuspend commits, so the new table continues from the same bitmap.
 *
 * Contexts: everything here runs in process context from dm ioctls (ctr,
 * dtr, io_hints, iterate_devices) or module load.  The constructor and
 * the destructor may sleep on metadata I/O, but never with lm_logs_lock
 * held: that global mutex only guards the list of logs, whose entries are
 * marked opening or closing while their I/O runs.
 */
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/log2.h>
#include <linux/string.h>
#include <linux/mutex.h>
#include <linux/wait.h>
#include "livemirror.h"

static LIST_HEAD(lm_logs);
static DEFINE_MUTEX(lm_logs_lock);

/*
 * A log in core belongs to one mapped device and one pair of legs.  Only a
 * reload of that device over the same legs may share it (the new table
 * then continues from the live bitmap); anything else would apply clean
 * bits to data they do not describe: a replaced or swapped destination, a
 * second device, a second target of the same table.  dm-thin's pool
 * lookup binds its metadata the same way.
 */
static const char *lm_share_refused(struct lm_shared_log *sl,
				    struct lm_target *lm)
{
	struct mapped_device *md = dm_table_get_md(lm->ti->table);
	struct lm_target *h;

	list_for_each_entry(h, &sl->holders, holder) {
		if (h->ti->table == lm->ti->table)
			return "Metadata device is already used by another livemirror target of this table";
		if (dm_table_get_md(h->ti->table) != md)
			return "Metadata device is in use by another mapped device";
		if (h->src->bdev->bd_dev != lm->src->bdev->bd_dev ||
		    h->dst->bdev->bd_dev != lm->dst->bdev->bd_dev)
			return "Metadata device is in use with other legs: a new destination needs new metadata";
	}
	return NULL;
}

/*
 * Bumped under lm_logs_lock whenever an entry leaves LM_LOG_OPENING or
 * LM_LOG_CLOSING; a table of the same metadata device sleeps on
 * lm_logs_wq until it moves, then looks the device up again.
 */
static unsigned long lm_logs_gen;
static DECLARE_WAIT_QUEUE_HEAD(lm_logs_wq);

static void lm_logs_changed(void)
{
	lockdep_assert_held(&lm_logs_lock);
	WRITE_ONCE(lm_logs_gen, lm_logs_gen + 1);
	wake_up_all(&lm_logs_wq);
}

/*
 * The entry of metadata device @dev once it is neither being opened nor
 * closed, or NULL.  Called and returns with lm_logs_lock held; drops it
 * while waiting, and returns an ERR_PTR if a signal ends the wait.
 */
static struct lm_shared_log *lm_find_log(dev_t dev)
{
	struct lm_shared_log *sl;
	unsigned long gen;
	int r;

	for (;;) {
		list_for_each_entry(sl, &lm_logs, list)
			if (sl->dev == dev)
				goto found;
		return NULL;
found:
		if (sl->state == LM_LOG_LIVE)
			return sl;
		gen = lm_logs_gen;
		mutex_unlock(&lm_logs_lock);
		r = wait_event_killable(lm_logs_wq,
					READ_ONCE(lm_logs_gen) != gen);
		mutex_lock(&lm_logs_lock);
		if (r)
			return ERR_PTR(r);
	}
}

static const char *lm_share_geometry(struct lm_shared_log *sl,
				     const struct dirtylog_identity *id)
{
	if (sl->id.region_sectors != id->region_sectors ||
	    sl->id.nr_regions != id->nr_regions ||
	    sl->id.source_sectors != id->source_sectors ||
	    sl->id.dest_sectors != id->dest_sectors ||
	    strcmp(sl->label, id->label))
		return "Metadata device is in use by a live table with another geometry or label";
	return NULL;
}

/*
 * Take the log of lm->meta: share the live one, or open it.  The open's
 * metadata I/O (reading the bitmap, a format, a distrusted log's rewrite)
 * runs outside lm_logs_lock behind an LM_LOG_OPENING entry, so a slow or
 * hung metadata device stalls only the tables that name it (M7).
 */
static struct lm_shared_log *lm_get_log(struct lm_target *lm,
					const struct dirtylog_identity *id,
					char **error)
{
	struct block_device *bdev = lm->meta->bdev;
	struct lm_shared_log *sl;
	struct dirtylog *log;
	char *err = "Cannot open the metadata log";
	const char *why;

	mutex_lock(&lm_logs_lock);
	sl = lm_find_log(bdev->bd_dev);
	if (IS_ERR(sl)) {
		*error = "Interrupted while another table opened or closed this metadata device";
		goto out;
	}
	if (sl) {
		why = lm_share_refused(sl, lm);
		if (!why)
			why = lm_share_geometry(sl, id);
		if (why) {
			*error = (char *)why;
			sl = ERR_PTR(-EBUSY);
		} else {
			sl->refs++;
			list_add(&lm->holder, &sl->holders);
			lm->log_was_live = true;
		}
		goto out;
	}

	sl = kzalloc(sizeof(*sl), GFP_KERNEL);
	if (!sl) {
		*error = "Cannot allocate the log reference";
		sl = ERR_PTR(-ENOMEM);
		goto out;
	}
	sl->id = *id;
	strscpy(sl->label, id->label, sizeof(sl->label));
	sl->id.label = sl->label;
	sl->dev = bdev->bd_dev;
	sl->refs = 1;
	sl->state = LM_LOG_OPENING;
	INIT_LIST_HEAD(&sl->holders);
	list_add(&sl->list, &lm_logs);
	mutex_unlock(&lm_logs_lock);

	log = dirtylog_open(bdev, &sl->id, &err);

	mutex_lock(&lm_logs_lock);
	/* the ids and flags were for the open only; sharing checks the legs */
	sl->id.device_id = NULL;
	sl->id.source_id = NULL;
	sl->id.dest_id = NULL;
	sl->id.flags = 0;
	lm_logs_changed();
	if (IS_ERR_OR_NULL(log)) {
		int r = log ? PTR_ERR(log) : -EINVAL;

		list_del(&sl->list);
		kfree(sl);
		*error = err;
		sl = ERR_PTR(r);
		goto out;
	}
	sl->log = log;
	sl->state = LM_LOG_LIVE;
	list_add(&lm->holder, &sl->holders);
out:
	mutex_unlock(&lm_logs_lock);
	return sl;
}

/*
 * The last holder closes the log (a commit and the log's workqueue) outside
 * lm_logs_lock; until it is closed, a new table of the same metadata waits
 * in lm_find_log(), so that two logs never write one device.
 */
static void lm_put_log(struct lm_target *lm, struct lm_shared_log *sl)
{
	mutex_lock(&lm_logs_lock);
	list_del(&lm->holder);
	if (--sl->refs) {
		mutex_unlock(&lm_logs_lock);
		return;
	}
	sl->state = LM_LOG_CLOSING;
	mutex_unlock(&lm_logs_lock);

	dirtylog_close(sl->log);

	mutex_lock(&lm_logs_lock);
	list_del(&sl->list);
	lm_logs_changed();
	mutex_unlock(&lm_logs_lock);
	kfree(sl);
}

static int lm_parse_features(struct dm_arg_set *as, struct lm_args *a,
			     char **error)
{
	static const struct dm_arg feat_count = {
		0, LM_MAX_FEATURE_ARGS, "Invalid number of feature arguments"
	};
	static const struct dm_arg throttle_arg = {
		0, LM_MAX_THROTTLE, "Invalid throttle (MiB/s)"
	};
	static const struct dm_arg depth_arg = {
		1, LM_MAX_COPY_DEPTH, "Invalid copy_depth (1..64)"
	};
	static const struct dm_arg timeout_arg = {
		0, LM_MAX_DEST_TIMEOUT, "Invalid dest_timeout (0..3600 seconds)"
	};
	unsigned int argc;
	const char *name, *val;
	int r;

	a->policy = LM_DEST_STOP;
	a->dest_timeout = LM_DEFAULT_DEST_TIMEOUT;
	if (!as->argc)
		return 0;

	r = dm_read_arg_group(&feat_count, as, &argc, error);
	if (r)
		return r;

	while (argc) {
		name = dm_shift_arg(as);
		argc--;

		if (!strcasecmp(name, "start_paused")) {
			if (a->start_paused)
				goto dup;
			a->start_paused = true;
			continue;
		}
		if (!strcasecmp(name, "trust_log")) {
			if (a->trust_log)
				goto dup;
			a->trust_log = true;
			continue;
		}
		if (!strcasecmp(name, "reuse_metadata")) {
			if (a->reuse_metadata)
				goto dup;
			a->reuse_metadata = true;
			continue;
		}

		if (strcasecmp(name, "throttle") && strcasecmp(name, "copy_depth") &&
		    strcasecmp(name, "dest_error") && strcasecmp(name, "label") &&
		    strcasecmp(name, "dest_timeout") && strcasecmp(name, "dest_sync") &&
		    strcasecmp(name, "source_id") && strcasecmp(name, "dest_id") &&
		    strcasecmp(name, "device_id")) {
			*error = "Unknown feature argument";
			return -EINVAL;
		}
		if (!argc) {
			*error = "Feature argument is missing its value";
			return -EINVAL;
		}

		if (!strcasecmp(name, "throttle")) {
			if (a->has_throttle)
				goto dup;
			r = dm_read_arg(&throttle_arg, as, &a->throttle, error);
			if (r)
				return r;
			a->has_throttle = true;
		} else if (!strcasecmp(name, "copy_depth")) {
			if (a->has_copy_depth)
				goto dup;
			r = dm_read_arg(&depth_arg, as, &a->copy_depth, error);
			if (r)
				return r;
			a->has_copy_depth = true;
		} else if (!strcasecmp(name, "dest_timeout")) {
			if (a->has_timeout)
				goto dup;
			r = dm_read_arg(&timeout_arg, as, &a->dest_timeout, error);
			if (r)
				return r;
			a->has_timeout = true;
		} else if (!strcasecmp(name, "dest_sync")) {
			if (a->has_dest_sync)
				goto dup;
			val = dm_shift_arg(as);
			if (!strcasecmp(val, "async")) {
				a->dest_async = true;
			} else if (strcasecmp(val, "sync")) {
				*error = "Invalid dest_sync (sync|async)";
				return -EINVAL;
			}
			a->has_dest_sync = true;
		} else if (!strcasecmp(name, "source_id") ||
			   !strcasecmp(name, "dest_id") ||
			   !strcasecmp(name, "device_id")) {
			char *to = !strcasecmp(name, "source_id") ? a->source_id :
				   !strcasecmp(name, "dest_id") ? a->dest_id :
				   a->device_id;

			if (*to)
				goto dup;
			val = dm_shift_arg(as);
			if (!*val || strlen(val) > LM_MAX_USER_ID) {
				*error = "Invalid source_id, dest_id or device_id (1 to 150 characters)";
				return -EINVAL;
			}
			strscpy(to, val, LM_MAX_USER_ID + 1);
		} else if (!strcasecmp(name, "dest_error")) {
			if (a->has_policy)
				goto dup;
			val = dm_shift_arg(as);
			if (!strcasecmp(val, "stop")) {
				a->policy = LM_DEST_STOP;
			} else if (!strcasecmp(val, "retry")) {
				a->policy = LM_DEST_RETRY;
			} else {
				*error = "Invalid dest_error policy (stop|retry)";
				return -EINVAL;
			}
			a->has_policy = true;
		} else {
			if (a->has_label)
				goto dup;
			val = dm_shift_arg(as);
			if (strlen(val) >= LM_LABEL_LEN) {
				*error = "Label too long (max 63 characters)";
				return -EINVAL;
			}
			if (!*val) {
				*error = "Empty label";
				return -EINVAL;
			}
			strscpy(a->label, val, sizeof(a->label));
			a->has_label = true;
		}
		argc--;
	}
	return 0;
dup:
	*error = "Duplicate feature argument";
	return -EINVAL;
}

/*
 * The copy writes the destination and the log whatever the table's mode,
 * so a read-only table is refused before anything is opened or written.
 */
static int lm_get_dev(struct dm_target *ti, const char *path,
		      struct dm_dev **dev, char *error)
{
	int r = dm_get_device(ti, path, FMODE_READ | FMODE_WRITE, dev);

	if (r)
		ti->error = error;
	return r;
}

static int lm_check_geometry(struct dm_target *ti, struct lm_target *lm)
{
	struct block_device *meta = lm->meta->bdev;
	struct block_device *src = lm->src->bdev;
	struct block_device *dst = lm->dst->bdev;
	unsigned int lbs = bdev_logical_block_size(src);

	if (meta == src || meta == dst || src == dst) {
		ti->error = "The same device is given twice (metadata, source and destination must differ)";
		return -EINVAL;
	}
	if (bdev_logical_block_size(dst) != lbs) {
		ti->error = "Source and destination have different logical block sizes";
		return -EINVAL;
	}
	if (!is_power_of_2(lm->region_sectors)) {
		ti->error = "Region size is not a power of two";
		return -EINVAL;
	}
	if (lm->region_sectors < LM_MIN_REGION) {
		ti->error = "Region size is smaller than 8 sectors";
		return -EINVAL;
	}
	if ((lm->region_sectors << SECTOR_SHIFT) % lbs) {
		ti->error = "Region size is not a multiple of the legs' logical block size";
		return -EINVAL;
	}
	lm->src_sectors = bdev_nr_sectors(src);
	if (bdev_nr_sectors(dst) < lm->src_sectors) {
		ti->error = "Destination device is smaller than the source device";
		return -EINVAL;
	}
	if (ti->len != lm->src_sectors) {
		ti->error = "Target length does not match the source device size";
		return -EINVAL;
	}
	return 0;
}

static int lm_alloc_core(struct dm_target *ti, struct lm_target *lm)
{
	unsigned int nb, i;

	/* about one bucket per 16 regions, between 64 and 64k buckets */
	nb = clamp_t(u64, roundup_pow_of_two(max_t(u64, lm->nr_regions >> 4, 1)),
		     64, 65536);
	lm->buckets = kvcalloc(nb, sizeof(*lm->buckets), GFP_KERNEL);
	if (!lm->buckets)
		goto nomem;
	lm->bucket_mask = nb - 1;
	for (i = 0; i < nb; i++) {
		spin_lock_init(&lm->buckets[i].lock);
		INIT_HLIST_HEAD(&lm->buckets[i].writes);
		INIT_HLIST_HEAD(&lm->buckets[i].copies);
		bio_list_init(&lm->buckets[i].held);
	}

	/* the log has the same limit: dirtylog_open() refuses more regions */
	if (lm_need_alloc(lm))
		goto nomem;

	lm->nr_groups = (lm->nr_regions + (1 << LM_GROUP_SHIFT) - 1) >> LM_GROUP_SHIFT;
	lm->group_epoch = kvzalloc(lm->nr_groups, GFP_KERNEL);
	if (!lm->group_epoch)
		goto nomem;

	if (bioset_init(&lm->bs, 2 * BIO_POOL_SIZE, sizeof(struct lm_clone_pad),
			BIOSET_NEED_BVECS | BIOSET_NEED_RESCUER))
		goto nomem;
	for (i = 0; i < LM_NR_HANG_LISTS; i++) {
		spin_lock_init(&lm->hang[i].lock);
		INIT_LIST_HEAD(&lm->hang[i].clones);
	}

	lm->kc = dm_kcopyd_client_create(NULL);
	if (IS_ERR(lm->kc)) {
		lm->kc = NULL;
		ti->error = "Cannot create kcopyd client";
		return -ENOMEM;
	}

	lm->wq = alloc_workqueue("dm-livemirror", WQ_MEM_RECLAIM, 0);
	if (!lm->wq)
		goto nomem;
	return 0;
nomem:
	ti->error = "Cannot allocate memory";
	return -ENOMEM;
}

static void lm_free(struct lm_target *lm)
{
	if (lm->wq)
		destroy_workqueue(lm->wq);
	if (lm->kc)
		dm_kcopyd_client_destroy(lm->kc);
	bioset_exit(&lm->bs);
	kvfree(lm->group_epoch);
	lm_need_free(lm);
	kvfree(lm->buckets);
	if (lm->shared)
		lm_put_log(lm, lm->shared);
	if (lm->dst)
		dm_put_device(lm->ti, lm->dst);
	if (lm->src)
		dm_put_device(lm->ti, lm->src);
	if (lm->meta)
		dm_put_device(lm->ti, lm->meta);
	kfree(lm);
}

/*
 * livemirror <metadata_dev> <source_dev> <dest_dev> <region_size>
 *            [<#feature_args> <feature_arg>*]
 */
static int lm_ctr(struct dm_target *ti, unsigned int argc, char **argv)
{
	struct dm_arg_set as = { .argc = argc, .argv = argv };
	struct dirtylog_identity id;
	struct lm_target *lm;
	char *ids;
	unsigned long long rs;
	char dummy;
	unsigned int i;
	int r;

	if (argc < 4) {
		ti->error = "Not enough arguments";
		return -EINVAL;
	}
	if (!(dm_table_get_mode(ti->table) & FMODE_WRITE)) {
		ti->error = "A livemirror table cannot be read-only: the copy writes the destination and the log";
		return -EINVAL;
	}

	lm = kzalloc(sizeof(*lm), GFP_KERNEL);
	if (!lm) {
		ti->error = "Cannot allocate memory";
		return -ENOMEM;
	}
	lm->ti = ti;
	spin_lock_init(&lm->epoch_lock);
	spin_lock_init(&lm->copy_lock);
	spin_lock_init(&lm->deferred_lock);
	bio_list_init(&lm->deferred);
	bio_list_init(&lm->ready);
	/* no copy, no tick before the first resume */
	set_bit(LM_F_SUSPENDED, &lm->flags);
	init_waitqueue_head(&lm->slots_wait);
	init_waitqueue_head(&lm->late_wait);
	mutex_init(&lm->msg_lock);
	INIT_WORK(&lm->worker, lm_do_worker);
	INIT_WORK(&lm->event_work, lm_event_work);
	INIT_DELAYED_WORK(&lm->copy_dwork, lm_copy_work);
	INIT_DELAYED_WORK(&lm->tick_dwork, lm_tick_work);
	INIT_DELAYED_WORK(&lm->reap_dwork, lm_reap_work);
	for (i = 0; i < LM_MAX_COPY_DEPTH; i++) {
		lm->slots[i].lm = lm;
		lm->slots[i].state = LM_SLOT_FREE;
		bio_list_init(&lm->slots[i].deferred);
	}
	/* start well above zero so that epoch arithmetic never wraps below */
	lm->epoch = 1024;

	r = lm_get_dev(ti, dm_shift_arg(&as), &lm->meta,
		       "Error opening metadata device");
	if (r)
		goto bad;
	r = lm_get_dev(ti, dm_shift_arg(&as), &lm->src,
		       "Error opening source device");
	if (r)
		goto bad;
	r = lm_get_dev(ti, dm_shift_arg(&as), &lm->dst,
		       "Error opening destination device");
	if (r)
		goto bad;

	if (sscanf(dm_shift_arg(&as), "%llu%c", &rs, &dummy) != 1 ||
	    !rs || rs > LM_MAX_REGION) {
		ti->error = "Invalid region size (8 to 2097152 sectors, a power of two)";
		r = -EINVAL;
		goto bad;
	}
	lm->region_sectors = rs;

	r = lm_parse_features(&as, &lm->args, &ti->error);
	if (r)
		goto bad;
	if (as.argc) {
		ti->error = "Too many arguments";
		r = -EINVAL;
		goto bad;
	}

	r = lm_check_geometry(ti, lm);
	if (r)
		goto bad;

	lm->region_shift = ilog2(lm->region_sectors);
	lm->nr_regions = (lm->src_sectors + lm->region_sectors - 1) >> lm->region_shift;
	if (lm->nr_regions > DIRTYLOG_MAX_REGIONS) {
		ti->error = "too many regions for the dirty log: use a larger region size";
		r = -EINVAL;
		goto bad;
	}
	lm->throttle = lm->args.throttle;
	if (!lm->args.has_copy_depth)
		lm->args.copy_depth =
			clamp_t(u64, LM_DEFAULT_COPY_SECTORS >> lm->region_shift,
				LM_MIN_DEFAULT_DEPTH, LM_MAX_COPY_DEPTH);
	lm->copy_depth = lm->args.copy_depth;
	lm->dest_timeout = lm->args.dest_timeout;
	if (lm->args.start_paused)
		set_bit(LM_F_PAUSED, &lm->flags);

	r = lm_alloc_core(ti, lm);
	if (r)
		goto bad;

	ids = kmalloc(3 * LM_ID_LEN, GFP_KERNEL);
	if (!ids) {
		ti->error = "Cannot allocate memory";
		r = -ENOMEM;
		goto bad;
	}
	lm_device_identity(ti, lm->args.device_id, ids);
	lm_leg_identity(lm->src->bdev, lm->args.source_id, ids + LM_ID_LEN);
	lm_leg_identity(lm->dst->bdev, lm->args.dest_id, ids + 2 * LM_ID_LEN);
	id.region_sectors = lm->region_sectors;
	id.nr_regions = lm->nr_regions;
	id.source_sectors = lm->src_sectors;
	id.dest_sectors = bdev_nr_sectors(lm->dst->bdev);
	id.label = lm->args.label;
	id.device_id = ids;
	id.source_id = ids + LM_ID_LEN;
	id.dest_id = ids + 2 * LM_ID_LEN;
	id.flags = (lm->args.trust_log ? DIRTYLOG_TRUST : 0) |
		   (lm->args.reuse_metadata ? DIRTYLOG_REUSE : 0);
	lm->shared = lm_get_log(lm, &id, &ti->error);
	kfree(ids);
	if (IS_ERR(lm->shared)) {
		r = PTR_ERR(lm->shared);
		lm->shared = NULL;
		goto bad;
	}
	lm->log = lm->shared->log;

	if (lm_adopt_log_state(lm)) {
		ti->error = LM_CANCELLED_MSG;
		r = -EINVAL;
		goto bad;
	}
	if (dirtylog_failed(lm->log)) {
		set_bit(LM_F_FAILED, &lm->flags);
		DMERR("%s: metadata log has failed", dm_device_name(dm_table_get_md(ti->table)));
	}
	/* every durably dirty region is copied (again): N := L */
	lm_need_copy_dirty(lm);

	r = dm_set_target_max_io_len(ti, lm->region_sectors);
	if (r) {
		ti->error = "Cannot set the maximum I/O size";
		goto bad;
	}
	ti->num_flush_bios = 2;
	ti->num_discard_bios = 1;
	ti->num_write_zeroes_bios = 1;
	ti->per_io_data_size = sizeof(struct lm_io);
	ti->private = lm;
	return 0;
bad:
	lm_free(lm);
	return r;
}

/*
 * No copy may start once teardown began; the running ones end before the
 * kcopyd client goes, and the work their completions queued before the
 * workqueue goes.
 */
static void lm_dtr(struct dm_target *ti)
{
	struct lm_target *lm = ti->private;

	set_bit(LM_F_SUSPENDED, &lm->flags);
	cancel_delayed_work_sync(&lm->copy_dwork);
	cancel_delayed_work_sync(&lm->tick_dwork);
	cancel_delayed_work_sync(&lm->reap_dwork);
	dm_kcopyd_client_destroy(lm->kc);
	lm->kc = NULL;
	cancel_delayed_work_sync(&lm->copy_dwork);
	flush_workqueue(lm->wq);
	/* late destination clones come from this table's bioset */
	if (atomic_read(&lm->late))
		DMWARN("%s: waiting for %d timed-out destination writes",
		       dm_device_name(dm_table_get_md(ti->table)),
		       atomic_read(&lm->late));
	spin_lock_irq(&lm->late_wait.lock);
	wait_event_lock_irq(lm->late_wait, !atomic_read(&lm->late),
			    lm->late_wait.lock);
	spin_unlock_irq(&lm->late_wait.lock);
	lm_free(lm);
}

/*
 * Range ops are marked region by region, so they are bounded; and they are
 * aligned to regions where the upper layers care (fstrim does).  Devices
 * without discard or write-zeroes keep none.
 */
static void lm_io_hints(struct dm_target *ti, struct queue_limits *limits)
{
	struct lm_target *lm = ti->private;
	unsigned int bytes = lm->region_sectors << SECTOR_SHIFT;
	sector_t max = min_t(u64, (u64)lm->region_sectors * LM_MAX_RANGE_REGIONS,
			     round_down(UINT_MAX >> SECTOR_SHIFT, lm->region_sectors));

	/* io_opt only: io_min would read as a stripe unit to mkfs */
	if (limits->io_opt < bytes || limits->io_opt % bytes)
		blk_limits_io_opt(limits, bytes);
	if (limits->max_discard_sectors) {
		limits->max_discard_sectors = min_t(sector_t, limits->max_discard_sectors, max);
		limits->max_hw_discard_sectors = min_t(sector_t, limits->max_hw_discard_sectors, max);
		limits->discard_granularity = max(limits->discard_granularity, bytes);
	}
	if (limits->max_write_zeroes_sectors)
		limits->max_write_zeroes_sectors =
			min_t(sector_t, limits->max_write_zeroes_sectors, max);
}

static int lm_iterate_devices(struct dm_target *ti,
			      iterate_devices_callout_fn fn, void *data)
{
	struct lm_target *lm = ti->private;
	int r;

	r = fn(ti, lm->src, 0, ti->len, data);
	if (!r)
		r = fn(ti, lm->dst, 0, ti->len, data);
	return r;
}

struct target_type lm_target_type = {
	.name = "livemirror",
	.version = {1, 2, 0},
	.module = THIS_MODULE,
	.ctr = lm_ctr,
	.dtr = lm_dtr,
	.map = lm_map,
	.end_io = lm_end_io,
	.presuspend = lm_presuspend,
	.presuspend_undo = lm_presuspend_undo,
	.postsuspend = lm_postsuspend,
	.preresume = lm_preresume,
	.resume = lm_resume,
	.status = lm_status,
	.message = lm_message,
	.iterate_devices = lm_iterate_devices,
	.io_hints = lm_io_hints,
};

static int __init dm_livemirror_init(void)
{
	int r = dm_register_target(&lm_target_type);

	if (r)
		DMERR("register failed %d", r);
	return r;
}

static void __exit dm_livemirror_exit(void)
{
	dm_unregister_target(&lm_target_type);
}

module_init(dm_livemirror_init);
module_exit(dm_livemirror_exit);

MODULE_DESCRIPTION(DM_NAME " live migration mirror target");
MODULE_AUTHOR("dm-livemirror developers");
MODULE_LICENSE("GPL");
