/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Minimal device-mapper ioctls by device name (no libdevmapper): under TCG
 * a dmsetup process costs about a second, far too slow for marks after every
 * flush and for consistent cuts.
 */
#ifndef RL_DMCTL_H
#define RL_DMCTL_H
int dmctl_suspend(const char *name);	/* skips lockfs; waits for in-flight I/O */
int dmctl_resume(const char *name);
int dmctl_message(const char *name, const char *msg);
#endif
