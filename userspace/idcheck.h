/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The leg identity stored in version 2 metadata (device_id, source_id,
 * dest_id) against the legs a command was given, before any table is
 * loaded.  The helper computes the dm identities ("dm:<uuid>",
 * "dm-name:<name>"); a disk's own id (naa:, eui:, t10:) only the kernel
 * computes, so those are left to the table constructor.
 */
#ifndef LM_IDCHECK_H
#define LM_IDCHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "meta.h"

struct lm_ids {
	char device[LM_ID_LEN];		/* "" = cannot compute here */
	char source[LM_ID_LEN];
	char dest[LM_ID_LEN];
};

/* "dm:<uuid>" for a dm device with a uuid, else "" (0), -1 if unknown device. */
int lm_dm_leg_id(const char *path, char *out, size_t len);
/* The mapped device's own id as the kernel computes it. */
void lm_device_id(const char *name, const char *uuid, char *out, size_t len);

/*
 * Compare with the metadata at meta_path.  0, or LM_EXIT_METADATA after an
 * error naming the field and both values.  Empty stored ids (unbound) and
 * ids not computed here always pass.  trust_log: refuse unless all three
 * stored ids are strong (the kernel refuses it too).
 */
int lm_ids_check(const char *meta_path, const struct lm_ids *want, bool trust_log);

/*
 * The kernel refused the table: if the metadata is bound to ids this helper
 * could not verify, say so and return LM_EXIT_METADATA; else LM_EXIT_ERROR.
 */
int lm_ids_explain_refusal(const char *meta_path, const struct lm_ids *want);

#endif
