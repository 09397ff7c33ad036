/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A fake libdevmapper for host tests of the helper's state machines.
 *
 * The helper's dm.c is linked unchanged against fakedm.c, which implements
 * the libdevmapper calls it makes over an in-memory device-mapper: devices
 * with a live and an inactive table slot, suspend state, open counts from
 * table references, udev cookies, and a livemirror target whose state
 * (copying/synced, prepared, switched, cancelled) lives in its metadata
 * file, written the way the kernel writes it.  dev.c is replaced too
 * (fake block devices with sizes), so no host device is ever touched.
 *
 * The state sits in a MAP_SHARED mapping: each helper run is a forked child
 * (crash points _exit() it) and several children can run at once, so the
 * test can replay an interleaving step by step.  Knobs, read by the child
 * from its environment:
 *   FAKEDM_FAIL=op:dev[:n]   the n-th (default 1st) op on dev fails before
 *                            it takes effect; "op!" fails after (a resume
 *                            that swapped the table, then reported an error)
 *   FAKEDM_PAUSE=op:dev      before the first such op, the child parks until
 *                            fk_release() (slot FAKEDM_SLOT, 0..3)
 * op is one of info table status suspend resume reload clear create remove
 * message waitevent; dev "*" matches every device.
 */
#ifndef LM_FAKEDM_H
#define LM_FAKEDM_H

#include <stdbool.h>
#include <stdint.h>

#define FK_MAXDEV 24
#define FK_MAXTGT 4
#define FK_MAXDISK 24
#define FK_SLOTS 4
#define FK_DM_MAJOR 253
#define FK_DISK_MAJOR 8

struct fk_target {
	uint64_t start, len;
	char type[32];
	char params[600];
};

struct fk_table {
	int n;
	struct fk_target t[FK_MAXTGT];
};

struct fk_dev {
	bool used;
	char name[128];
	char uuid[130];
	uint32_t minor;
	bool suspended;
	bool has_live, has_inactive;
	struct fk_table live, inactive;
	uint32_t event_nr;
	int extra_open;			/* holders outside dm (a VM) */
	/* Who suspended it: for the signal-mask check. */
	int susp_pid;
};

struct fk_disk {
	bool used;
	char path[200];			/* /dev/fk/NAME, or a real metadata file */
	uint32_t minor;
	uint64_t sectors;
	bool is_meta;
	bool synced;			/* livemirror: copy complete (for its meta) */
};

struct fk_state {
	struct fk_dev dev[FK_MAXDEV];
	struct fk_disk disk[FK_MAXDISK];
	uint32_t next_dm_minor, next_disk_minor;
	/* Op counters per (op, device) are kept by name in a small log. */
	int nops;
	char oplog[256][80];
	int cookies, udev_waits;
	int udev_wait_suspended;	/* udev waits while the waiter held a device suspended */
	/* Ops that changed a table or suspend state of a device another pid
	 * suspended, or any op run while we held devices suspended with
	 * SIGHUP unblocked. */
	int unblocked_in_window;
	int vg_lock_missing;		/* suspend/reload/resume of an LV without V_<vg> */
	char vg_lock_dir[200];
	volatile int paused[FK_SLOTS];
	volatile int release[FK_SLOTS];
	char fail_note[200];
};

extern struct fk_state *fk;

void fk_init(void);			/* map the shared state (once) */
void fk_reset(void);			/* empty device-mapper and disks */
uint32_t fk_add_disk(const char *path, uint64_t sectors, bool is_meta);
struct fk_disk *fk_disk_by_path(const char *path);
struct fk_dev *fk_dev_by_name(const char *name);
/* Create a dm device with one linear target over a disk/device ref. */
struct fk_dev *fk_create_linear(const char *name, const char *uuid, uint64_t len,
				const char *ref);
void fk_set_synced(const char *meta_path, bool synced);
uint32_t fk_meta_state(const char *meta_path);	/* LM_STATE_* from the file */
/* Write a state as the kernel would (another agent acting behind our back). */
void fk_set_meta_state(const char *meta_path, uint32_t state);
/* PREPARED as member 0 (the coordinator) of a group of 2. */
void fk_set_meta_prepared(const char *meta_path);
void fk_release(int slot);
/* "M:m" of a disk path or dm name. */
const char *fk_ref(const char *path_or_name, char *buf, size_t len);

#endif
