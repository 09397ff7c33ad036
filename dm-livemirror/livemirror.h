/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dm-livemirror: shared definitions of the livemirror target.
 *
 * The target copies a source leg to a destination leg while the device is
 * in use.  See Documentation/dm-livemirror.rst for the table line, status,
 * messages and data-path semantics.
 *
 * Files:
 *   livemirror-ctr.c     table parsing, ctr/dtr, shared log, module init
 *   livemirror-io.c      map/end_io, write routing and write tracking
 *   livemirror-copy.c    copy pass (kcopyd), copy slots, throttle
 *   livemirror-sync.c    epochs, lazy clear, leg flushes, suspend/resume
 *   livemirror-status.c  status and messages (switch, prepare, cancel)
 */
#ifndef DM_LIVEMIRROR_H
#define DM_LIVEMIRROR_H

#include <linux/device-mapper.h>
#include <linux/dm-kcopyd.h>
#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include <linux/wait.h>
#include "dirtylog.h"

#define DM_MSG_PREFIX "livemirror"

#define LM_MAX_COPY_DEPTH	64
/*
 * Without copy_depth, as many regions are copied at once as make 16 MiB in
 * flight (QEMU's mirror buffer by default), 4 to 64: enough to hide a few
 * milliseconds of destination latency at full copy speed.
 */
#define LM_DEFAULT_COPY_SECTORS	(16U << 11)
#define LM_MIN_DEFAULT_DEPTH	4
#define LM_MAX_THROTTLE		(1U << 20)	/* MiB/s */
#define LM_MIN_REGION		8		/* sectors */
#define LM_GROUP_SHIFT		6		/* 64 regions per epoch group */
#define LM_NR_EPOCHS		8		/* in-flight counters (ring) */
#define LM_MARK_AHEAD		16		/* regions marked per stream commit */
#define LM_TICK			HZ		/* lazy-clear period */
#define LM_RETRY_DELAY		(5 * HZ)	/* dest_error retry back-off */
#define LM_MAX_FEATURE_ARGS	9

enum lm_dest_policy {
	LM_DEST_STOP,
	LM_DEST_RETRY,
};

/* Bits of lm->flags. */
enum {
	LM_F_DEGRADED,		/* a leg failed: no dest writes, no copies */
	LM_F_FAILED,		/* metadata failed */
	LM_F_SWITCHED,		/* destination authoritative */
	LM_F_CANCELLED,		/* migration cancelled: source only */
	LM_F_PREPARED,		/* group switch prepared (metadata) */
	LM_F_PAUSED,		/* copy pass paused by the user */
	LM_F_PASS_DONE,		/* the copy pass reached the end */
	LM_F_SUSPENDED,		/* presuspend..resume: no new copies */
	LM_F_UNMARKED,		/* failed log: writes mirrored unmarked */
	LM_F_SRC_DEAD,		/* health letters */
	LM_F_DST_DEAD,
};

/* Per-region hash bucket: in-flight writes and active copy slots. */
struct lm_bucket {
	spinlock_t lock;
	struct hlist_head writes;
	struct hlist_head copies;
};

enum lm_slot_state {
	LM_SLOT_FREE,
	LM_SLOT_WAIT,		/* waiting for in-flight writes to drain */
	LM_SLOT_READY,		/* writes drained, copy not yet started */
	LM_SLOT_COPYING,	/* kcopyd job in flight */
};

/* One region being copied. */
struct lm_slot {
	struct lm_target *lm;
	struct hlist_node node;
	u64 region;
	unsigned int waiting;		/* in-flight writes still to drain */
	enum lm_slot_state state;
	struct bio_list deferred;	/* writes that arrived during the copy */
};

/* Per-bio data. */
struct lm_io {
	struct lm_target *lm;
	struct dirtylog_waiter waiter;
	struct hlist_node node;		/* lm_bucket.writes */
	u64 region;			/* first region */
	u64 last;			/* last region (range ops) */
	unsigned int kind;		/* LM_IO_* */
	unsigned int epoch;		/* full epoch the write belongs to */
	bool to_dest;			/* mirror to the destination */
	bool dst_failed;
	bool unmarked;			/* mirrored because its mark failed */
	atomic_t pending;		/* clones in flight */
	blk_status_t status;		/* source status */
};

enum {
	LM_IO_PASS,	/* remapped as is, nothing to undo */
	LM_IO_WRITE,	/* tracked single-region write */
	LM_IO_RANGE,	/* discard or multi-region write-zeroes */
	LM_IO_FLUSH,	/* empty flush, target bio nr in 'region' */
};

struct lm_args {
	unsigned int throttle;
	unsigned int copy_depth;
	bool start_paused;
	enum lm_dest_policy policy;
	char label[LM_LABEL_LEN];
	/* which features were given, to echo them in the table status */
	bool has_throttle, has_copy_depth, has_policy, has_label;
};

struct lm_shared_log;

struct lm_target {
	struct dm_target *ti;
	struct dm_dev *meta, *src, *dst;
	struct lm_shared_log *shared;
	struct dirtylog *log;
	struct lm_args args;		/* as loaded (table status) */

	sector_t region_sectors;
	unsigned int region_shift;
	u64 nr_regions;
	sector_t src_sectors;

	unsigned long flags;		/* LM_F_* */
	atomic64_t dest_errors;
	unsigned long degraded_at;	/* jiffies */
	atomic_t err_gen;		/* bumps on every leg error */

	/* runtime tunables */
	unsigned int throttle;		/* MiB/s, 0 = unlimited */
	unsigned int copy_depth;

	/* write tracking */
	struct lm_bucket *buckets;
	unsigned int bucket_mask;

	/* epochs for the lazy clear */
	spinlock_t epoch_lock;
	unsigned long epoch;
	atomic_t inflight[LM_NR_EPOCHS];
	u8 *group_epoch;
	u64 nr_groups;

	/* copy pass */
	spinlock_t copy_lock;
	u64 copy_next;			/* regions below are in sync in core */
	unsigned int active_slots;
	struct lm_slot slots[LM_MAX_COPY_DEPTH];
	wait_queue_head_t slots_wait;
	struct dm_kcopyd_client *kc;
	s64 tokens;			/* throttle token bucket, bytes */
	unsigned long tokens_at;	/* jiffies of last refill */
	atomic64_t regions_copied;

	/* deferred writes released by finished copies */
	spinlock_t deferred_lock;
	struct bio_list deferred;

	struct bio_set bs;
	struct workqueue_struct *wq;
	struct work_struct worker;	/* deferred bios, ready slots */
	struct delayed_work copy_dwork;	/* picks regions (throttled) */
	struct delayed_work tick_dwork;	/* epochs, lazy clear, retry */
	struct work_struct event_work;
	struct mutex msg_lock;		/* messages and suspend hooks */
};

/* livemirror-ctr.c */
extern struct target_type lm_target_type;

/* livemirror-io.c */
int lm_map(struct dm_target *ti, struct bio *bio);
int lm_end_io(struct dm_target *ti, struct bio *bio, blk_status_t *error);
void lm_route_write(struct lm_target *lm, struct lm_io *io);
void lm_do_worker(struct work_struct *ws);
unsigned int lm_bucket_of(struct lm_target *lm, u64 region);

/* livemirror-copy.c */
void lm_copy_work(struct work_struct *ws);
void lm_copy_kick(struct lm_target *lm);
void lm_start_ready_slots(struct lm_target *lm);
void lm_restart_pass(struct lm_target *lm, u64 from);
bool lm_region_in_sync(struct lm_target *lm, u64 region);
struct lm_slot *lm_find_slot(struct lm_bucket *b, u64 region);
u64 lm_count_in_sync(struct lm_target *lm);

/* livemirror-sync.c */
void lm_tick_work(struct work_struct *ws);
unsigned long lm_epoch_enter(struct lm_target *lm, u64 first, u64 last);
void lm_epoch_exit(struct lm_target *lm, unsigned long epoch);
void lm_touch_group(struct lm_target *lm, u64 region);
int lm_flush_legs(struct lm_target *lm);
int lm_clear_in_sync(struct lm_target *lm, bool force);
void lm_presuspend(struct dm_target *ti);
void lm_presuspend_undo(struct dm_target *ti);
void lm_postsuspend(struct dm_target *ti);
void lm_resume(struct dm_target *ti);
int lm_preresume(struct dm_target *ti);
int lm_adopt_log_state(struct lm_target *lm);

#define LM_CANCELLED_MSG "migration was cancelled; repair metadata to restart"
void lm_event(struct lm_target *lm);
void lm_event_work(struct work_struct *ws);
void lm_dest_error(struct lm_target *lm);
void lm_src_error(struct lm_target *lm);
void lm_meta_error(struct lm_target *lm);
void lm_retry(struct lm_target *lm);

/* livemirror-status.c */
void lm_status(struct dm_target *ti, status_type_t type,
	       unsigned int status_flags, char *result, unsigned int maxlen);
int lm_message(struct dm_target *ti, unsigned int argc, char **argv,
	       char *result, unsigned int maxlen);

static inline u64 lm_region_of(struct lm_target *lm, sector_t sector)
{
	return sector >> lm->region_shift;
}

/*
 * The destination can still take writes, whatever the log's state: it has
 * not failed and the migration is neither switched nor cancelled.
 */
static inline bool lm_dest_alive(struct lm_target *lm)
{
	return !(READ_ONCE(lm->flags) & (BIT(LM_F_DEGRADED) | BIT(LM_F_DST_DEAD) |
			      BIT(LM_F_SWITCHED) | BIT(LM_F_CANCELLED)));
}

static inline bool lm_dest_ok(struct lm_target *lm)
{
	return !(READ_ONCE(lm->flags) & (BIT(LM_F_DEGRADED) | BIT(LM_F_FAILED) |
			      BIT(LM_F_SWITCHED) | BIT(LM_F_CANCELLED)));
}

#endif /* DM_LIVEMIRROR_H */
