/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Exit codes of the livemirror helper.  These are part of the interface:
 * scripts depend on them, so a value never changes meaning and numbers are
 * never reused.  Documented in Documentation/livemirror.8.
 */
#ifndef LM_EXITCODES_H
#define LM_EXITCODES_H

enum lm_exit {
	LM_EXIT_OK = 0,		/* success, or nothing to do */
	LM_EXIT_ERROR = 1,	/* generic error */
	LM_EXIT_USAGE = 2,	/* bad command line */
	LM_EXIT_NOT_SYNCED = 3,	/* refused: migration not synced/healthy */
	LM_EXIT_BUSY = 4,	/* device busy (in use by a live table, ...) */
	LM_EXIT_NOT_FOUND = 5,	/* device or metadata not found */
	LM_EXIT_METADATA = 6,	/* metadata damaged or belongs to other legs */
	LM_EXIT_TIMEOUT = 7,	/* timeout expired */
	LM_EXIT_LEG_FAILED = 8,	/* destination (or a leg) failed */
	/*
	 * switch committed (the destination is authoritative) but a later
	 * step (load, resume, a member's switch, removing the hidden source)
	 * failed: run the same switch again to finish it.
	 */
	LM_EXIT_INCOMPLETE = 9,
	/* refused because the migration has switched: the destination is
	 * authoritative and the source stale (cancel after a switch) */
	LM_EXIT_SWITCHED = 10,
	/* another command holds the migration's lock or LVM's VG lock and
	 * --lock-timeout expired; nothing was changed */
	LM_EXIT_LOCKED = 11,
	/* after resume the live table is not the one loaded: something else
	 * reloaded the device; read 'livemirror status' before acting */
	LM_EXIT_TABLE_MISMATCH = 12,
	/* recover: a PREPARED member ran after its prepare (dirty regions):
	 * neither leg is known complete; it must be resynced, see livemirror.8 */
	LM_EXIT_NEEDS_RESYNC = 13,
	/* refused: the metadata is PREPARED for a group switch whose
	 * coordinator may already have decided it; 'livemirror recover'
	 * resolves it (nothing was changed) */
	LM_EXIT_PREPARED = 14,
	/* guard: the device is, or maps, a leg livemirror calls stale (the
	 * source of a switched migration, the destination of a cancelled one) */
	LM_EXIT_STALE = 15,
	/* switch --post-commit-hook: the switch is done (committed, resumed)
	 * but the hook failed; the switch is not undone */
	LM_EXIT_HOOK_FAILED = 16,
	LM_EXIT_CRASH = 99,	/* reserved: crash injection (LIVEMIRROR_CRASH_AT) */
};

#endif /* LM_EXITCODES_H */
