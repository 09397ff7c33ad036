// SPDX-License-Identifier: GPL-2.0
/* The dm uuid of a device that create makes (devuuid.h). */
#include <stdio.h>
#include <string.h>

#include "devuuid.h"
#include "meta.h"
#include "util.h"

int lm_dev_uuid(const char *meta_path, const char *given, char *out, size_t len, int *rule)
{
	struct lm_sbinfo sb;
	uint8_t id[LM_UUID_LEN];
	char hex[2 * LM_UUID_LEN + 1];

	if (given) {
		*rule = 1;
		snprintf(out, len, "%s", given);
		return 0;
	}
	if (!meta_read_best(meta_path, &sb)) {
		/*
		 * Not an LV's uuid: a device made with it would pass for the
		 * LV in LVM's eyes.  Such metadata belongs to a migration that
		 * start made under the LV; the id check refuses it below.
		 */
		if (!strncmp(sb.device_id, "dm:", 3) && sb.device_id[3] &&
		    strncmp(sb.device_id + 3, "LVM-", 4)) {
			*rule = 2;
			snprintf(out, len, "%s", sb.device_id + 3);
			return 0;
		}
		if (!strncmp(sb.device_id, "dm-name:", 8)) {
			*rule = 3;
			out[0] = 0;
			return 0;
		}
		/* unbound, or bound to another kind of id: the id check decides */
		*rule = 4;
		hex_encode(sb.uuid, LM_UUID_LEN, hex);
		snprintf(out, len, "%s%s", LM_DEV_UUID_PREFIX, hex);
		return 0;
	}
	*rule = 5;
	if (random_bytes(id, sizeof(id)))
		return -1;
	hex_encode(id, sizeof(id), hex);
	snprintf(out, len, "%s%s", LM_DEV_UUID_PREFIX, hex);
	return 0;
}
