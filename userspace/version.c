// SPDX-License-Identifier: GPL-2.0
/*
 * Versions.  DKMS rebuilds the module on its own schedule, so the helper
 * and the module can differ: --version shows both, and every device-mapper
 * command first checks that the loaded target's major version is the one
 * this helper was written for (review M4).
 */
#include <libdevmapper.h>
#include <stdio.h>
#include <string.h>

#include "exitcodes.h"
#include "table.h"
#include "util.h"
#include "version.h"

int lm_target_version(const char *target, uint32_t v[3])
{
	struct dm_task *dmt = dm_task_create(DM_DEVICE_LIST_VERSIONS);
	struct dm_versions *t, *last;
	int r = -1;

	if (!dmt)
		return -1;
	dm_task_no_open_count(dmt);
	t = dm_task_run(dmt) ? dm_task_get_versions(dmt) : NULL;
	if (!t)
		goto out;
	r = 0;
	do {
		last = t;
		if (!strcmp(t->name, target)) {
			for (int i = 0; i < 3; i++)
				v[i] = t->version[i];
			r = 1;
			break;
		}
		t = (struct dm_versions *)((char *)t + t->next);
	} while (last != t);
out:
	dm_task_destroy(dmt);
	return r;
}

int lm_version_check(bool warn_only)
{
	uint32_t v[3];

	if (lm_target_version(LM_TARGET, v) != 1 || v[0] == LM_TARGET_MAJOR)
		return 0;
	if (warn_only) {
		lm_warn("the loaded %s target is version %u.%u.%u; this helper (%s) speaks "
			"major %d", LM_TARGET, v[0], v[1], v[2], LM_HELPER_VERSION,
			LM_TARGET_MAJOR);
		return 0;
	}
	lm_err("the loaded %s target is version %u.%u.%u, this helper (%s) speaks major %d: "
	       "install the helper that came with the module (see '%s --version')",
	       LM_TARGET, v[0], v[1], v[2], LM_HELPER_VERSION, LM_TARGET_MAJOR, LM_PROG);
	return LM_EXIT_ERROR;
}

void lm_print_versions(void)
{
	char lib[64] = "", drv[64] = "";
	uint32_t v[3];
	int r;

	printf("%s %s (target major %d)\n", LM_PROG, LM_HELPER_VERSION, LM_TARGET_MAJOR);
	if (dm_get_library_version(lib, sizeof(lib)))
		printf("libdevmapper %s\n", lib);
	if (!dm_driver_version(drv, sizeof(drv))) {
		printf("device-mapper driver: not available (no /dev/mapper/control, or not "
		       "root)\n");
		return;
	}
	printf("device-mapper driver %s\n", drv);
	r = lm_target_version(LM_TARGET, v);
	if (r == 1)
		printf("target %s %u.%u.%u%s\n", LM_TARGET, v[0], v[1], v[2],
		       v[0] == LM_TARGET_MAJOR ? "" : " (MISMATCH: not supported by this helper)");
	else
		printf("target %s: %s\n", LM_TARGET, r ? "cannot list the targets" :
		       "not loaded (modprobe dm-livemirror)");
}
