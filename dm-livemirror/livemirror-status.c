// SPDX-License-Identifier: GPL-2.0
/*
 * dm-livemirror: status lines and messages.
 *
 * Nothing here waits for I/O of the data path, so status and messages work
 * while the device is suspended.  switch, prepare and cancel even require a
 * suspended device: only then are no writes and no copies in flight.
 *
 * Contexts: status in any process context, without sleeping; messages in
 * process context under msg_lock (they may sleep on metadata I/O).
 */
#include <linux/kernel.h>
#include <linux/string.h>
#include "livemirror.h"

static const char *lm_state_name(struct lm_target *lm)
{
	unsigned long f = READ_ONCE(lm->flags);

	if (f & BIT(LM_F_SWITCHED))
		return "switched";
	if (f & BIT(LM_F_FAILED))
		return "failed";
	if (f & BIT(LM_F_CANCELLED))
		return "cancelled";
	if (f & BIT(LM_F_DEGRADED))
		return "degraded";
	if (f & BIT(LM_F_PASS_DONE))
		return "synced";
	if (f & BIT(LM_F_PAUSED))
		return "paused";
	return "copying";
}

static unsigned int lm_nr_features(struct lm_args *a)
{
	return (a->has_throttle ? 2 : 0) + (a->has_copy_depth ? 2 : 0) +
	       (a->start_paused ? 1 : 0) + (a->has_policy ? 2 : 0) +
	       (a->has_label ? 2 : 0) + (a->has_timeout ? 2 : 0) +
	       (a->has_dest_sync ? 2 : 0) + (a->trust_log ? 1 : 0) +
	       (a->reuse_metadata ? 1 : 0) + (*a->source_id ? 2 : 0) +
	       (*a->dest_id ? 2 : 0) + (*a->device_id ? 2 : 0);
}

/* What this table's log found when it was opened (see dirtylog.h). */
static const char *lm_opened_name(struct lm_target *lm)
{
	if (lm->log_was_live)
		return "live";
	switch (dirtylog_opened(lm->log)) {
	case DIRTYLOG_OPENED_FORMATTED:
		return "formatted";
	case DIRTYLOG_OPENED_CLEAN:
		return "clean";
	case DIRTYLOG_OPENED_UNCLEAN:
		return "unclean";
	default:
		return "unbound";
	}
}

void lm_status(struct dm_target *ti, status_type_t type,
	       unsigned int status_flags, char *result, unsigned int maxlen)
{
	struct lm_target *lm = ti->private;
	struct lm_args *a = &lm->args;
	unsigned long f = READ_ONCE(lm->flags);
	unsigned int sz = 0, nf;
	bool meta_dead;

	switch (type) {
	case STATUSTYPE_INFO:
		meta_dead = (f & BIT(LM_F_FAILED)) || dirtylog_failed(lm->log);
		DMEMIT("%llu/%llu %llu %s %c%c%c %u %u %d %llu",
		       (unsigned long long)lm_count_in_sync(lm),
		       (unsigned long long)lm->nr_regions,
		       (unsigned long long)dirtylog_count(lm->log),
		       lm_state_name(lm),
		       (f & BIT(LM_F_SRC_DEAD)) ? 'D' : 'A',
		       (f & BIT(LM_F_DST_DEAD)) ? 'D' : 'A',
		       meta_dead ? 'D' : 'A',
		       READ_ONCE(lm->copy_depth), READ_ONCE(lm->throttle),
		       lm_dest_ok(lm) ? 1 : 0,
		       (unsigned long long)atomic64_read(&lm->dest_errors));
		/* named fields from here on: parsers skip what they do not know */
		DMEMIT(" copied_bytes=%llu copy_ms=%llu opened=%s trusted=%d",
		       (unsigned long long)atomic64_read(&lm->copied_bytes),
		       (unsigned long long)lm_copy_ms(lm), lm_opened_name(lm),
		       lm->log_was_live || dirtylog_trusted(lm->log));
		break;

	case STATUSTYPE_TABLE:
		DMEMIT("%s %s %s %llu", lm->meta->name, lm->src->name,
		       lm->dst->name, (unsigned long long)lm->region_sectors);
		nf = lm_nr_features(a);
		if (!nf)
			break;
		DMEMIT(" %u", nf);
		if (a->has_throttle)
			DMEMIT(" throttle %u", a->throttle);
		if (a->has_copy_depth)
			DMEMIT(" copy_depth %u", a->copy_depth);
		if (a->start_paused)
			DMEMIT(" start_paused");
		if (a->has_policy)
			DMEMIT(" dest_error %s",
			       a->policy == LM_DEST_RETRY ? "retry" : "stop");
		if (a->has_label)
			DMEMIT(" label %s", a->label);
		if (a->has_timeout)
			DMEMIT(" dest_timeout %u", a->dest_timeout);
		if (a->has_dest_sync)
			DMEMIT(" dest_sync %s", a->dest_async ? "async" : "sync");
		if (*a->source_id)
			DMEMIT(" source_id %s", a->source_id);
		if (*a->dest_id)
			DMEMIT(" dest_id %s", a->dest_id);
		if (*a->device_id)
			DMEMIT(" device_id %s", a->device_id);
		if (a->trust_log)
			DMEMIT(" trust_log");
		if (a->reuse_metadata)
			DMEMIT(" reuse_metadata");
		break;

	case STATUSTYPE_IMA:
		DMEMIT_TARGET_NAME_VERSION(ti->type);
		DMEMIT(",metadata_device=%s,source_device=%s,dest_device=%s,region_size=%llu;",
		       lm->meta->name, lm->src->name, lm->dst->name,
		       (unsigned long long)lm->region_sectors);
		break;
	}
}

static int lm_parse_uint(const char *s, unsigned int min, unsigned int max,
			 unsigned int *v)
{
	if (kstrtouint(s, 10, v) || *v < min || *v > max)
		return -EINVAL;
	return 0;
}

static int lm_parse_uuid(const char *s, u8 *uuid)
{
	if (strlen(s) != 2 * LM_UUID_LEN || hex2bin(uuid, s, LM_UUID_LEN))
		return -EINVAL;
	return 0;
}

/*
 * Called with msg_lock held, which lm_resume() takes too: once this saw
 * the device suspended, no I/O reaches this table until the message ends.
 * dm_suspended() alone is not enough: it stays true for a moment after
 * the resume let I/O through.
 */
static bool lm_quiesced(struct lm_target *lm)
{
	return dm_suspended(lm->ti) && test_bit(LM_F_SUSPENDED, &lm->flags);
}

/* Checks shared by switch and prepare. */
static int lm_check_switchable(struct lm_target *lm, const char *what)
{
	unsigned long f = READ_ONCE(lm->flags);

	if (!lm_quiesced(lm)) {
		DMERR("%s: the device must be suspended", what);
		return -EINVAL;
	}
	if ((f & BIT(LM_F_FAILED)) || dirtylog_failed(lm->log)) {
		DMERR("%s: refused, the metadata has failed", what);
		return -EINVAL;
	}
	if (f & BIT(LM_F_CANCELLED)) {
		DMERR("%s: refused, the migration was cancelled", what);
		return -EINVAL;
	}
	if (f & (BIT(LM_F_DEGRADED) | BIT(LM_F_SRC_DEAD) | BIT(LM_F_DST_DEAD))) {
		DMERR("%s: refused, a leg has failed (send retry and wait for sync)", what);
		return -EINVAL;
	}
	if (READ_ONCE(lm->active_slots)) {
		DMERR("%s: refused, copies are in flight", what);
		return -EBUSY;
	}
	/* N is the authority, not the pass flag */
	if (atomic64_read(&lm->nr_need)) {
		DMERR("%s: refused, the copy is not complete (%llu regions to copy)",
		      what, (unsigned long long)atomic64_read(&lm->nr_need));
		return -EINVAL;
	}
	return 0;
}

/* Flush both legs, clear every in-sync region, commit; 0 when clean. */
static int lm_make_clean(struct lm_target *lm, const char *what)
{
	int r;

	lm_test_delay(LM_TP_MAKE_CLEAN);
	r = lm_flush_legs(lm);
	if (r) {
		DMERR("%s: flushing the legs failed (%d)", what, r);
		return r;
	}
	r = lm_clear_in_sync(lm, true);
	if (!r)
		r = dirtylog_commit(lm->log);
	if (r) {
		lm_meta_error(lm);
		DMERR("%s: committing the log failed (%d)", what, r);
		return r;
	}
	if (dirtylog_count(lm->log)) {
		DMERR("%s: %llu regions are still dirty", what,
		      (unsigned long long)dirtylog_count(lm->log));
		return -EBUSY;
	}
	return 0;
}

static int lm_msg_switch(struct lm_target *lm)
{
	int r;

	if (test_bit(LM_F_SWITCHED, &lm->flags))
		return 0;
	r = lm_check_switchable(lm, "switch");
	if (r)
		return r;
	r = lm_make_clean(lm, "switch");
	if (r)
		return r;
	r = dirtylog_set_state(lm->log, LM_STATE_SWITCHED, NULL);
	if (r) {
		lm_meta_error(lm);
		DMERR("switch: recording the switch failed (%d)", r);
		return r;
	}
	set_bit(LM_F_SWITCHED, &lm->flags);
	clear_bit(LM_F_PREPARED, &lm->flags);
	DMINFO("%s: switched to the destination",
	       dm_device_name(dm_table_get_md(lm->ti->table)));
	lm_event(lm);
	return 0;
}

static int lm_msg_prepare(struct lm_target *lm, unsigned int argc, char **argv)
{
	struct dirtylog_group g;
	int r;

	if (argc != 5) {
		DMERR("prepare: usage: prepare <group_uuid_hex32> <coordinator_log_uuid_hex32> <members> <index>");
		return -EINVAL;
	}
	if (lm_parse_uuid(argv[1], g.group_uuid)) {
		DMERR("prepare: invalid group uuid '%s' (32 hex digits)", argv[1]);
		return -EINVAL;
	}
	if (lm_parse_uuid(argv[2], g.coordinator_uuid)) {
		DMERR("prepare: invalid coordinator uuid '%s' (32 hex digits)", argv[2]);
		return -EINVAL;
	}
	if (lm_parse_uint(argv[3], 1, UINT_MAX, &g.members)) {
		DMERR("prepare: invalid member count '%s'", argv[3]);
		return -EINVAL;
	}
	if (lm_parse_uint(argv[4], 0, g.members - 1, &g.index)) {
		DMERR("prepare: invalid member index '%s'", argv[4]);
		return -EINVAL;
	}
	if (test_bit(LM_F_SWITCHED, &lm->flags)) {
		DMERR("prepare: refused, already switched");
		return -EINVAL;
	}
	r = lm_check_switchable(lm, "prepare");
	if (r)
		return r;
	r = lm_make_clean(lm, "prepare");
	if (r)
		return r;
	r = dirtylog_set_state(lm->log, LM_STATE_PREPARED, &g);
	if (r) {
		lm_meta_error(lm);
		DMERR("prepare: recording the state failed (%d)", r);
		return r;
	}
	set_bit(LM_F_PREPARED, &lm->flags);
	lm_event(lm);
	return 0;
}

static int lm_msg_abort_prepare(struct lm_target *lm)
{
	int r;

	if (test_bit(LM_F_SWITCHED, &lm->flags)) {
		DMERR("abort_prepare: refused, already switched");
		return -EINVAL;
	}
	if (dirtylog_state(lm->log) == LM_STATE_COPYING)
		return 0;
	if (dirtylog_state(lm->log) != LM_STATE_PREPARED) {
		DMERR("abort_prepare: refused, the mirror is not prepared");
		return -EINVAL;
	}
	r = dirtylog_set_state(lm->log, LM_STATE_COPYING, NULL);
	if (r) {
		lm_meta_error(lm);
		DMERR("abort_prepare: recording the state failed (%d)", r);
		return r;
	}
	clear_bit(LM_F_PREPARED, &lm->flags);
	lm_event(lm);
	return 0;
}

static int lm_msg_cancel(struct lm_target *lm)
{
	int r;

	if (test_bit(LM_F_CANCELLED, &lm->flags))
		return 0;
	if (!lm_quiesced(lm)) {
		DMERR("cancel: the device must be suspended");
		return -EINVAL;
	}
	if (test_bit(LM_F_SWITCHED, &lm->flags)) {
		DMERR("cancel: refused, already switched to the destination");
		return -EINVAL;
	}
	/*
	 * A group member's coordinator may already have switched the group to
	 * the destinations; only the group decision (abort_prepare, or switch)
	 * may end a prepared member.
	 */
	if (test_bit(LM_F_PREPARED, &lm->flags)) {
		DMERR("cancel: refused, a group switch is prepared: send abort_prepare first (or run 'livemirror recover')");
		return -EINVAL;
	}
	if (test_bit(LM_F_FAILED, &lm->flags) || dirtylog_failed(lm->log)) {
		DMERR("cancel: refused, the metadata has failed");
		return -EINVAL;
	}
	r = dirtylog_set_state(lm->log, LM_STATE_CANCELLED, NULL);
	if (r) {
		lm_meta_error(lm);
		DMERR("cancel: recording the state failed (%d)", r);
		return r;
	}
	set_bit(LM_F_CANCELLED, &lm->flags);
	lm_event(lm);
	return 0;
}

static int lm_msg_tunable(struct lm_target *lm, unsigned int argc, char **argv)
{
	unsigned long flags;
	unsigned int v;

	if (argc != 2) {
		DMERR("%s: expects one value", argv[0]);
		return -EINVAL;
	}
	if (!strcasecmp(argv[0], "dest_timeout")) {
		if (lm_parse_uint(argv[1], 0, LM_MAX_DEST_TIMEOUT, &v)) {
			DMERR("dest_timeout: invalid timeout '%s' (seconds, 0..%u)",
			      argv[1], LM_MAX_DEST_TIMEOUT);
			return -EINVAL;
		}
		WRITE_ONCE(lm->dest_timeout, v);
		return 0;
	} else if (!strcasecmp(argv[0], "throttle")) {
		if (lm_parse_uint(argv[1], 0, LM_MAX_THROTTLE, &v)) {
			DMERR("throttle: invalid rate '%s' (MiB/s, 0..%u)",
			      argv[1], LM_MAX_THROTTLE);
			return -EINVAL;
		}
		spin_lock_irqsave(&lm->copy_lock, flags);
		WRITE_ONCE(lm->throttle, v);
		lm->tokens = 0;
		lm->tokens_at = jiffies;
		spin_unlock_irqrestore(&lm->copy_lock, flags);
	} else {
		if (lm_parse_uint(argv[1], 1, LM_MAX_COPY_DEPTH, &v)) {
			DMERR("copy_depth: invalid depth '%s' (1..%u)",
			      argv[1], LM_MAX_COPY_DEPTH);
			return -EINVAL;
		}
		WRITE_ONCE(lm->copy_depth, v);
	}
	if (!test_bit(LM_F_SUSPENDED, &lm->flags))
		lm_copy_kick(lm);
	return 0;
}

static int lm_message_locked(struct lm_target *lm, unsigned int argc, char **argv)
{
	const char *cmd = argv[0];

	if (!strcasecmp(cmd, "throttle") || !strcasecmp(cmd, "copy_depth") ||
	    !strcasecmp(cmd, "dest_timeout"))
		return lm_msg_tunable(lm, argc, argv);
	if (!strcasecmp(cmd, "prepare"))
		return lm_msg_prepare(lm, argc, argv);

	if (argc != 1) {
		DMERR("%s: takes no arguments", cmd);
		return -EINVAL;
	}
	if (!strcasecmp(cmd, "pause")) {
		if (!test_and_set_bit(LM_F_PAUSED, &lm->flags))
			lm_event(lm);
		return 0;
	}
	if (!strcasecmp(cmd, "resume")) {
		if (test_and_clear_bit(LM_F_PAUSED, &lm->flags)) {
			lm_event(lm);
			if (!test_bit(LM_F_SUSPENDED, &lm->flags))
				lm_copy_kick(lm);
		}
		return 0;
	}
	if (!strcasecmp(cmd, "retry")) {
		if (test_bit(LM_F_FAILED, &lm->flags)) {
			DMERR("retry: refused, the metadata has failed");
			return -EINVAL;
		}
		if (test_bit(LM_F_SWITCHED, &lm->flags) ||
		    test_bit(LM_F_CANCELLED, &lm->flags)) {
			DMERR("retry: refused, the migration is over");
			return -EINVAL;
		}
		if (lm_retry(lm)) {
			DMERR("retry: timed-out destination writes are still in flight");
			return -EBUSY;
		}
		return 0;
	}
	if (!strcasecmp(cmd, "switch"))
		return lm_msg_switch(lm);
	if (!strcasecmp(cmd, "abort_prepare"))
		return lm_msg_abort_prepare(lm);
	if (!strcasecmp(cmd, "cancel"))
		return lm_msg_cancel(lm);

	DMERR("unknown message '%s'", cmd);
	return -EINVAL;
}

int lm_message(struct dm_target *ti, unsigned int argc, char **argv,
	       char *result, unsigned int maxlen)
{
	struct lm_target *lm = ti->private;
	int r;

	if (!argc) {
		DMERR("empty message");
		return -EINVAL;
	}
	mutex_lock(&lm->msg_lock);
	r = lm_message_locked(lm, argc, argv);
	mutex_unlock(&lm->msg_lock);
	return r;
}
