/* SPDX-License-Identifier: GPL-2.0 */
/*
 * LVM's VG file locks, taken the way lvm2 takes them (lib/misc/lvm-flock.c),
 * so that the helper and LVM's tools exclude each other on a VG.  guard.h
 * holds them for a whole command; the LVM fence (lvmfence.h) takes one
 * around a metadata edit when its caller holds none.  No libdevmapper here.
 */
#ifndef LM_LVMLOCK_H
#define LM_LVMLOCK_H

/* Seconds to wait for a lock (--lock-timeout); < 0 means the default. */
extern double lm_lock_timeout;
#define LM_LOCK_TIMEOUT_DEFAULT 60.0

/* LVM's locking directory (LIVEMIRROR_LVM_LOCKDIR overrides /run/lock/lvm). */
const char *lm_lvm_lockdir(void);

/*
 * An exclusive flock on path, polling until deadline (now_mono() seconds);
 * what names the lock in messages.  0 (fd in *out_fd), LM_EXIT_LOCKED on
 * timeout, LM_EXIT_ERROR.
 */
int lm_flock_path(const char *path, double deadline, int *out_fd, const char *what);

/* Release as lvm2's _undo_flock: unlink the file unless someone waits on it. */
void lm_undo_flock(const char *path, int fd);

/*
 * LVM's exclusive lock of VG vg ("V_<vg>", after its ":aux" file, as LVM
 * prioritises write locks), within --lock-timeout.  0 (fd in *fd),
 * LM_EXIT_LOCKED, LM_EXIT_ERROR.  lm_vg_unlock() releases it.
 */
int lm_vg_lock(const char *vg, int *fd);
void lm_vg_unlock(const char *vg, int fd);

#endif
