/* SPDX-License-Identifier: GPL-2.0 */
/* Destination validation before create and start overwrite a device. */
#ifndef LM_DESTCHECK_H
#define LM_DESTCHECK_H

#include <stdbool.h>

/*
 * Refuse (LM_EXIT_BUSY, with a message naming the reason) a destination that
 * is open or held, that is in or under the device tree of source_ref (the
 * device being migrated; "MAJ:MIN" or a path) or of meta, that is a leg of a
 * livemirror table, or that carries a filesystem, PV, LUKS or partition-table
 * signature.  The signature check is skipped when meta already holds a valid
 * log (the same migration restarted: the destination then holds a partial
 * copy of the source, signatures included).  With force every refusal is a
 * warning and 0 is returned.  Other failures: LM_EXIT_*.
 */
int lm_dest_check(const char *dest, const char *source_ref, const char *meta, bool force);

#endif
