/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What keeps a state-changing command safe among other commands, LVM and
 * signals: per-migration locks, LVM's VG file locks, the suspended-window
 * critical section (signals blocked, memory locked), the check of the table
 * that went live, and the small state record that makes switch and cancel
 * idempotent after the livemirror table is gone.
 */
#ifndef LM_GUARD_H
#define LM_GUARD_H

#include <stdbool.h>
#include <stddef.h>

#include "dm.h"
#include "lvmlock.h"

/* Directory of lock files and state records (LIVEMIRROR_RUNDIR overrides). */
const char *lm_rundir(void);

/*
 * Lock the migrations of the given dm devices (names as resolved), in
 * sorted order, and for those that are LVM logical volumes also LVM's VG
 * lock (V_<vg> in LVM's locking dir) when vg is true.  Held until exit or
 * lm_unlock_all().  0, LM_EXIT_LOCKED on timeout, LM_EXIT_ERROR.
 */
int lm_lock_devices(const char *const *names, int n, bool vg);
void lm_unlock_all(void);

/*
 * The critical section of LVM's activation code: from before the first
 * suspend, block every signal that can be blocked and lock all memory
 * (a page fault must not wait on a suspended device).  lm_crit_unlock_mem()
 * after the last resume; signals stay blocked until lm_crit_leave(), at
 * the end of the command's state changes, when pending signals act.
 */
void lm_crit_enter(void);
void lm_crit_unlock_mem(void);
void lm_crit_leave(void);

/*
 * A suspend outside the command's own section (the fence's unstack, which
 * recover and boot reach too): lm_crit_save, lm_crit_enter, suspend and
 * resume, then lm_crit_restore puts back what the caller had.
 */
struct lm_crit_saved {
	bool in_crit, mem_locked;
};
void lm_crit_save(struct lm_crit_saved *s);
void lm_crit_restore(const struct lm_crit_saved *s);

/* Does the live table of name equal t (same targets; livemirror legs)? */
bool lm_live_table_is(const char *name, const struct lmdm_table *t);

/*
 * State record <rundir>/<name>.state: state (migrating, switching, switched,
 * cancelled), the legs and metadata as MAJ:MIN, the hidden source name, and
 * the footprints of both legs (footprint.h) for guard.  A footprint is
 * taken when the record first names its legs, while they are certainly
 * the migration's (a dm minor is reused once its device is gone), and
 * carried over by every later write for the same legs.
 */
struct lm_record {
	char state[16];
	char source[64], dest[64], meta[64];
	char hidden[128];
	unsigned long long length;
	char source_foot[3072], dest_foot[3072];
};

int lm_record_write(const char *name, const struct lm_record *r);
int lm_record_read(const char *name, struct lm_record *r);	/* 0 found, -1 not */
/* Every record in the run directory, by name; stops when fn returns non-zero. */
int lm_record_each(int (*fn)(const char *name, const struct lm_record *r, void *ctx),
		   void *ctx);
/* Path of name's record (for messages). */
void lm_record_path(const char *name, char *buf, size_t len);

#endif
