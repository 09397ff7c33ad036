/* SPDX-License-Identifier: GPL-2.0 */
/* Finding livemirror metadata on this host by its magic (scan.c). */
#ifndef LM_SCAN_H
#define LM_SCAN_H

#include "meta.h"

/* Called for each metadata found (loaded, shared read); non-zero stops. */
typedef int (*lm_scan_fn)(const char *path, const struct lm_meta *m, void *ctx);

/*
 * Every block device (LIVEMIRROR_SCAN_DIR in test builds) that carries the
 * livemirror magic, in name order.  *nfound counts them.  Returns the first
 * non-zero result of fn, 0, or -1 when the devices cannot be listed.
 */
int lm_scan_each(lm_scan_fn fn, void *ctx, int *nfound);

#endif
