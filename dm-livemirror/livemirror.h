/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dm-livemirror: shared definitions of the livemirror target.
 *
 * The target copies a source leg to a destination leg while the device is
 * in use.  See Documentation/dm-livemirror.rst for the table line, status,
 * messages and data-path semantics.
 *
 * Files:
 *   livemirror-ctr.c     table parsing, ctr/dtr, shared log, io_hints, init
 *   livemirror-io.c      map/end_io, write routing, the write interlock
 *   livemirror-copy.c    copy pass (kcopyd), copy slots, throttle
 *   livemirror-sync.c    epochs, lazy clear, leg flushes, suspend/resume
 *   livemirror-status.c  status and messages (switch, prepare, cancel)
 *
 * Region state.  Every decision about a region R is taken from R's own
 * state, read under R's bucket lock (lm_bucket_of()).  The state is made of
 * four facts, each with one owner:
 *
 *   L  the log's bit: "the legs may differ on disk" (dm-dirtylog owns it;
 *      it is durable before any write that could make the legs differ);
 *   N  need_copy: "R still needs a copy" (lm->need, this target's;
 *      livemirror-need.c);
 *   S  a copy slot for R exists (the bucket's copies list);
 *   W  the tracked writes in flight to R (the bucket's writes list).
 *
 * The states named in the model (tools/model/livemirror.pml) are:
 *
 *   CLEAN     L=0 N=0   the legs are identical on stable storage
 *   DIRTY     L=1 N=0   identical in core; writes go to both legs;
 *                       the lazy clear may take it back to CLEAN
 *   NEEDCOPY  L=1 N=1   the legs may differ: writes go to the source only
 *   COPYING   S         writes are deferred on the slot until it ends
 *
 * N is only ever cleared when a slot is created for R (under R's bucket
 * lock, the copy then reading the source after every write in W), and it
 * may be set at any time by anyone: a write that goes to the source only,
 * a failed clone, a finished discard, a failed copy, a resume.  N is a
 * subset of L, save where a setter found no memory at all and put a whole
 * chunk of N (livemirror-need.c): a region in N whose log bit is clear is
 * identical on both legs, and is only copied once for nothing, because
 * every write marks its region before it is issued, whatever its route.
 * The copy cursor only searches N for the next candidate; it never says
 * whether a region is in sync.
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
#define LM_NOMEM_DELAY		(HZ / 10)	/* copier out of memory for N */
#define LM_MAX_FEATURE_ARGS	21
#define LM_MAX_USER_ID		150		/* source_id, dest_id, device_id */
#define LM_DEFAULT_DEST_TIMEOUT	30		/* seconds */
#define LM_MAX_DEST_TIMEOUT	3600
#define LM_NR_HANG_LISTS	16		/* dest clones in flight */
/* Regions of N searched per step of the copier (no lock is held). */
#define LM_SCAN_CHUNK		(1UL << 16)
/* Discards and write-zeroes are split to at most this many regions. */
#define LM_MAX_RANGE_REGIONS	1024
/* Regions are at most 1 GiB, as in dm-clone: a write waits for a copy. */
#define LM_MAX_REGION		(1U << 21)	/* sectors */

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
	LM_F_SRC_DEAD,		/* health letters */
	LM_F_DST_DEAD,
};

/*
 * Per-region hash bucket: in-flight writes (W), active copy slots (S) and
 * the writes held back by the write-after-write interlock.
 */
/*
 * A chunk of N (livemirror-need.c): NULL, all set, or a page of bits.  The
 * page is a struct lm_need_page: an rcu_head, then LM_NEED_LONGS words.
 */
#define LM_NEED_LONGS	((PAGE_SIZE - sizeof(struct rcu_head)) / sizeof(long))
#define LM_NEED_BITS	(LM_NEED_LONGS * BITS_PER_LONG)

struct lm_need_page;

struct lm_need_chunk {
	spinlock_t lock;		/* innermost; any context */
	unsigned int count;		/* regions of the chunk in N */
	struct lm_need_page __rcu *p;
};

struct lm_bucket {
	spinlock_t lock;
	struct hlist_head writes;
	struct hlist_head copies;
	struct bio_list held;		/* overlap a mirrored write in flight */
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
	bool abandoned;			/* timed out: writes no longer wait */
	unsigned long started;		/* jiffies, for the dest timeout */
	struct bio_list deferred;	/* writes that arrived during the copy */
};

/*
 * In front of every destination clone (the bioset's front_pad): who owns
 * its completion.  The clone's end_io and the timeout both take @io with
 * xchg under the hang list's lock; whoever gets it completes the guest's
 * share, and a clone whose @io was taken is late: it only frees itself.
 */
struct lm_clone_pad {
	struct lm_io *io;
	struct list_head node;		/* lm_hang_list, in issue order */
	unsigned long issued;		/* jiffies */
	unsigned int list;
};

struct lm_hang_list {
	spinlock_t lock;
	struct list_head clones;
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
	bool tracked;			/* in the bucket's writes list */
	bool dst_failed;
	bool dst_skipped;		/* the destination did not support it */
	bool unmarked;			/* mirrored because its mark failed */
	int mark_err;			/* for the worker: the mark's result */
	atomic_t pending;		/* clones in flight */
	blk_status_t status;		/* source status */
};

enum {
	LM_IO_PASS,	/* remapped as is, nothing to undo */
	LM_IO_WRITE,	/* tracked single-region write */
	LM_IO_RANGE,	/* discard or multi-region write-zeroes */
	LM_IO_FLUSH,	/* empty flush, remapped as is */
	LM_IO_DFLUSH,	/* empty flush to the destination, through our clone */
};

struct lm_args {
	unsigned int throttle;
	unsigned int copy_depth;
	bool start_paused;
	enum lm_dest_policy policy;
	char label[LM_LABEL_LEN];
	/* which features were given, to echo them in the table status */
	unsigned int dest_timeout;	/* seconds, 0 = wait for ever */
	bool dest_async;		/* no guest flush/FUA to the destination */
	bool trust_log;			/* keep clean bits read from disk */
	bool reuse_metadata;		/* start over on metadata of other legs */
	char source_id[LM_MAX_USER_ID + 1];	/* "" = derived from the leg */
	char dest_id[LM_MAX_USER_ID + 1];
	char device_id[LM_MAX_USER_ID + 1];
	bool has_throttle, has_copy_depth, has_policy, has_label, has_timeout;
	bool has_dest_sync;
};

/*
 * The log as shared by every table on one metadata device.  Whatever must
 * survive a table reload lives here, not in a table.
 */
struct lm_shared_log {
	struct list_head list;
	dev_t dev;
	unsigned int refs;
	/*
	 * LM_LOG_OPENING and LM_LOG_CLOSING: the metadata I/O of the open or
	 * close runs outside lm_logs_lock, and another table of the same
	 * metadata device waits for it to end (every other device goes on).
	 */
	enum { LM_LOG_OPENING, LM_LOG_LIVE, LM_LOG_CLOSING } state;
	struct dirtylog *log;
	struct dirtylog_identity id;
	char label[LM_LABEL_LEN];
	struct list_head holders;	/* lm_target.holder, under lm_logs_lock */
	/*
	 * Set once a write was mirrored without a durable mark (the log had
	 * failed): from then on the destination must be flushed with the
	 * source, by this table and by any later one.
	 */
	bool unmarked;
	/*
	 * Destination writes that timed out and may still land (clones and
	 * copies of any table on this log): no copy may write the destination
	 * until they are all back, or a late write could overwrite a newer
	 * copy of its region.
	 */
	atomic_t late;
};

struct lm_target {
	struct dm_target *ti;
	struct dm_dev *meta, *src, *dst;
	struct lm_shared_log *shared;
	bool log_was_live;		/* shared a log a live table held */
	struct list_head holder;	/* in shared->holders */
	struct dirtylog *log;
	struct lm_args args;		/* as loaded (table status) */

	sector_t region_sectors;
	unsigned int region_shift;
	u64 nr_regions;
	sector_t src_sectors;

	unsigned long flags;		/* LM_F_* */
	unsigned int resume_gen;	/* bumped by every resume (messages) */
	atomic64_t dest_errors;
	unsigned long degraded_at;	/* jiffies */
	atomic_t err_gen;		/* bumps on every leg error */

	/* runtime tunables */
	unsigned int throttle;		/* MiB/s, 0 = unlimited */
	unsigned int copy_depth;
	unsigned int dest_timeout;	/* seconds, 0 = never */

	/* destination clones in flight, for the timeout; late ones */
	struct lm_hang_list hang[LM_NR_HANG_LISTS];
	atomic_t late;			/* this table's late clones */
	wait_queue_head_t late_wait;
	unsigned int abandoned_slots;	/* under copy_lock */

	/* write tracking */
	struct lm_bucket *buckets;
	unsigned int bucket_mask;

	/* epochs for the lazy clear */
	spinlock_t epoch_lock;
	unsigned long epoch;
	atomic_t inflight[LM_NR_EPOCHS];
	u8 *group_epoch;
	u64 nr_groups;

	/* N: see the top of this file and livemirror-need.c */
	struct lm_need_chunk *need;
	unsigned long nr_need_chunks;
	struct lm_need_page *need_spare;	/* for a setter out of memory */
	atomic64_t nr_need;		/* regions in N */

	/* copy pass */
	spinlock_t copy_lock;
	u64 copy_next;			/* where the search goes on */
	unsigned long need_gen;		/* bumped when a cursor is lowered */
	unsigned int active_slots;
	atomic64_t copied_bytes;	/* by the copy, for the status */
	unsigned long busy_since;	/* jiffies the slots last became busy */
	unsigned long copy_jiffies;	/* with a slot busy, before busy_since */
	struct lm_slot slots[LM_MAX_COPY_DEPTH];
	wait_queue_head_t slots_wait;
	struct dm_kcopyd_client *kc;
	s64 tokens;			/* throttle token bucket, bytes */
	unsigned long tokens_at;	/* jiffies of last refill */

	/*
	 * Writes for the worker: released by finished copies and by the
	 * interlock, or whose marks became durable.
	 */
	spinlock_t deferred_lock;
	struct bio_list deferred;	/* to route again */
	struct bio_list ready;		/* marks durable (or failed): issue */

	struct bio_set bs;
	struct workqueue_struct *wq;
	struct work_struct worker;	/* deferred bios, ready slots */
	struct work_struct issue_work;	/* bios whose marks are durable */
	struct delayed_work copy_dwork;	/* picks regions (throttled) */
	struct delayed_work tick_dwork;	/* epochs, lazy clear, retry */
	struct delayed_work reap_dwork;	/* dest timeout, also while suspending */
	struct work_struct event_work;
	struct mutex msg_lock;		/* messages and suspend hooks */
};

/* livemirror-ctr.c */
extern struct target_type lm_target_type;

/* livemirror-io.c */
int lm_map(struct dm_target *ti, struct bio *bio);
void lm_late_put(struct lm_target *lm);
void lm_reap_hung_writes(struct lm_target *lm);
int lm_end_io(struct dm_target *ti, struct bio *bio, blk_status_t *error);
void lm_route_write(struct lm_target *lm, struct lm_io *io);
void lm_defer_bios(struct lm_target *lm, struct bio_list *bios);
void lm_do_worker(struct work_struct *ws);
void lm_issue_work(struct work_struct *ws);
unsigned int lm_bucket_of(struct lm_target *lm, u64 region);

/* livemirror-copy.c */
void lm_copy_work(struct work_struct *ws);
void lm_copy_kick(struct lm_target *lm);
void lm_start_ready_slots(struct lm_target *lm);
void lm_abandon_hung_copies(struct lm_target *lm);
bool lm_set_need(struct lm_target *lm, u64 region);
void lm_need_search(struct lm_target *lm, u64 from);
void lm_need_copy(struct lm_target *lm, u64 region);
void lm_need_copy_range(struct lm_target *lm, u64 first, u64 last);
void lm_need_copy_dirty(struct lm_target *lm);
bool lm_all_copied(struct lm_target *lm);
struct lm_slot *lm_find_slot(struct lm_bucket *b, u64 region);
u64 lm_count_in_sync(struct lm_target *lm);
u64 lm_copy_ms(struct lm_target *lm);

/* livemirror-sync.c */
void lm_tick_work(struct work_struct *ws);
void lm_reap_work(struct work_struct *ws);
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
#define LM_PREPARED_MSG "group switch prepared: send switch or abort_prepare first"
void lm_event(struct lm_target *lm);
void lm_event_work(struct work_struct *ws);
void lm_dest_error(struct lm_target *lm);
void lm_src_error(struct lm_target *lm);
void lm_meta_error(struct lm_target *lm);
int lm_retry(struct lm_target *lm);

/* livemirror-status.c */
void lm_status(struct dm_target *ti, status_type_t type,
	       unsigned int status_flags, char *result, unsigned int maxlen);
int lm_message(struct dm_target *ti, unsigned int argc, char **argv,
	       char *result, unsigned int maxlen);

/* livemirror-need.c: N; decisions read it under the bucket lock */
bool lm_needs_copy(struct lm_target *lm, u64 region);
int lm_test_and_clear_need(struct lm_target *lm, u64 region);
u64 lm_need_next(struct lm_target *lm, u64 from, u64 end);
u64 lm_need_next_zero(struct lm_target *lm, u64 from, u64 end);
void lm_need_refill(struct lm_target *lm);
u64 lm_need_from_log(struct lm_target *lm);
int lm_need_alloc(struct lm_target *lm);
void lm_need_free(struct lm_target *lm);

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

/* livemirror-ident.c: identities for the log (dirtylog-format.h). */
void lm_leg_identity(struct block_device *bdev, const char *given, char *buf);
void lm_device_identity(struct dm_target *ti, const char *given, char *buf);

/*
 * livemirror-testhooks.c: delay points that widen race windows for the
 * guest tests (the copier's lockless search, a switch's force clear, the
 * worker between a write's two clones).
 * They exist only in the test build (make test-modules, LM_TEST_HOOKS),
 * never in the module that is installed.
 */
enum lm_test_point {
	LM_TP_SEARCH,		/* after the copier's search, before re-checking */
	LM_TP_MAKE_CLEAN,	/* switch/prepare: checked, before the force clear */
	LM_TP_ISSUE,		/* lm_issue() from the worker, after the source clone */
	LM_TP_NR
};
#ifdef LM_TEST_HOOKS
void lm_test_delay(enum lm_test_point p);
/* Delay @p only when the caller runs as work item @work (it may sleep). */
static inline void lm_test_delay_in(struct work_struct *work,
				    enum lm_test_point p)
{
	if (current_work() == work)
		lm_test_delay(p);
}
#else
static inline void lm_test_delay(enum lm_test_point p) { }
static inline void lm_test_delay_in(struct work_struct *work,
				    enum lm_test_point p) { }
#endif

#endif /* DM_LIVEMIRROR_H */
