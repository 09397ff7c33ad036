// SPDX-License-Identifier: GPL-2.0
/* Leg identity checks before a table is loaded (idcheck.h). */
#include <stdio.h>
#include <string.h>

#include "dev.h"
#include "dm.h"
#include "exitcodes.h"
#include "idcheck.h"
#include "util.h"

int lm_dm_leg_id(const char *path, char *out, size_t len)
{
	struct lm_dminfo info;
	uint32_t maj, min;

	out[0] = 0;
	if (dev_devno(path, &maj, &min))
		return -1;
	if (lmdm_info_devno(maj, min, &info) || !info.exists || !info.uuid[0])
		return 0;
	snprintf(out, len, "dm:%s", info.uuid);
	return 0;
}

void lm_device_id(const char *name, const char *uuid, char *out, size_t len)
{
	if (uuid && uuid[0])
		snprintf(out, len, "dm:%s", uuid);
	else
		snprintf(out, len, "dm-name:%s", name);
}

static int compare(const char *meta_path, const char *field, const char *what,
		   const char *stored, const char *want)
{
	if (!stored[0] || !want[0] || !strcmp(stored, want))
		return 0;
	lm_err("metadata %s belongs to another %s: its %s is '%s', this %s is '%s' "
	       "(the right metadata? else start over with --reuse-metadata: every region "
	       "is copied again)", meta_path, what, field, stored, what, want);
	return LM_EXIT_METADATA;
}

int lm_ids_check(const char *meta_path, const struct lm_ids *want, bool trust_log)
{
	struct lm_sbinfo sb;
	int r;

	if (meta_read_best(meta_path, &sb))
		return 0;	/* fresh or damaged: lm_meta_precheck() decides */
	r = compare(meta_path, "device_id", "device", sb.device_id, want->device);
	if (!r)
		r = compare(meta_path, "source_id", "source", sb.source_id, want->source);
	if (!r)
		r = compare(meta_path, "dest_id", "destination", sb.dest_id, want->dest);
	/* the legs swapped: a mismatch the message should say plainly */
	if (r && sb.source_id[0] && !strcmp(sb.source_id, want->dest))
		lm_err("metadata %s: the given destination is the metadata's source: legs "
		       "swapped?", meta_path);
	if (r)
		return r;
	if (trust_log) {
		const char *ids[3] = { sb.device_id, sb.source_id, sb.dest_id };
		static const char *const names[3] = { "device_id", "source_id", "dest_id" };

		for (int i = 0; i < 3; i++)
			if (lm_id_kind(ids[i], LM_ID_LEN) != LM_ID_STRONG) {
				lm_err("metadata %s: --trust-log needs strong stored ids, but its %s "
				       "is '%s' (%s); the kernel refuses trust_log", meta_path,
				       names[i], ids[i], ids[i][0] ? "weak" : "not bound yet");
				return LM_EXIT_METADATA;
			}
	}
	return 0;
}

int lm_ids_explain_refusal(const char *meta_path, const struct lm_ids *want)
{
	struct lm_sbinfo sb;
	bool unverified;

	if (meta_read_best(meta_path, &sb))
		return LM_EXIT_ERROR;
	unverified = (sb.device_id[0] && !want->device[0]) ||
		     (sb.source_id[0] && !want->source[0]) || (sb.dest_id[0] && !want->dest[0]);
	if (!unverified)
		return LM_EXIT_ERROR;
	lm_err("metadata %s is bound to device '%s', source '%s', destination '%s', which "
	       "this helper cannot all verify; if dmesg names an identity mismatch, the "
	       "metadata belongs to other legs (--reuse-metadata starts over, every region "
	       "copied again)", meta_path, sb.device_id, sb.source_id, sb.dest_id);
	return LM_EXIT_METADATA;
}
