/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Harness of the tests that run the whole helper over the fake
 * libdevmapper (fakedm.h): each run is a forked child running lm_main()
 * with LIVEMIRROR_RUNDIR in the test's directory, its stdout and stderr
 * captured in out and err.  setup() builds n VMs: vm[i] (a dm device, or an
 * LV "vg--old-vmI" when lvm) linear over src[i], a destination dst[i] twice
 * as large and fresh metadata meta[i] (a real file).
 */
#ifndef LM_TEST_HARNESS_H
#define LM_TEST_HARNESS_H

#include <stdbool.h>
#include <sys/types.h>

#define SECTORS 2048

extern char dir[64], out[16384], err[16384];
extern char meta[4][128], src[4][64], dst[4][64], vm[4][32];

/* A fresh directory lm-NAME-test.XXXXXX (in /dev/shm when it can), the fake mapped. */
void hs_begin(const char *name);
void hs_end(void);			/* removes the directory */

/* env is "K=V K=V ..." (may be NULL); argv ends with NULL. */
pid_t lm_bg_v(int slot, const char *env, const char *const *argv);
int lm_wait(int slot, pid_t pid);	/* exit code; fills out and err */
int lm_run(const char *env, const char *const *argv);
#define LM(env, ...) lm_run((env), (const char *const[]){ __VA_ARGS__, NULL })
/* Wait for a child to park at its FAKEDM_PAUSE point. */
bool wait_paused(int slot, pid_t pid, double secs);
void dump_diag(void);

void make_file(const char *path, off_t size);
void setup(int n, bool lvm);
int start_one(int i, const char *env);
void setup_synced(int n, bool lvm);	/* started and synced */

/*
 * Format meta[i] as version 2 metadata bound to these ids ("" unbound),
 * as start would meet it: uuid 5a5a..., label L, vm i's geometry.
 */
void make_bound_meta(int i, const char *dev_id, const char *src_id, const char *dst_id);

/* Which leg serves I/O: 'd' destination, 's' source, '?' neither/unknown. */
char leg_of(int i);
bool nothing_suspended(void);
bool consistent(int i);
/* The switch protocol's invariant over vm[0..n-1]; prints why when not. */
bool hs_invariant(int n);
#define check_invariant(what, n) \
	ok(hs_invariant(n), "%s: nothing suspended, every table on the leg its metadata names", \
	   (what))

#endif
