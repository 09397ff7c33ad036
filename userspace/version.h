/* SPDX-License-Identifier: GPL-2.0 */
/* Helper, library, driver and target versions: --version and the skew check. */
#ifndef LM_VERSION_H
#define LM_VERSION_H

#include <stdbool.h>
#include <stdint.h>

#define LM_HELPER_VERSION "1.0"
/*
 * The target major version this helper speaks.  The module bumps its major
 * only when the table or the fixed status fields change incompatibly; new
 * trailing status fields and new messages keep the major.
 */
#define LM_TARGET_MAJOR 1

/* 1 and v filled when the target is registered, 0 when not loaded, -1 error. */
int lm_target_version(const char *target, uint32_t v[3]);
/*
 * Refuse (LM_EXIT_ERROR, with a message) a loaded livemirror target whose
 * major differs; only warn when warn_only.  0 when matching, not loaded, or
 * device-mapper cannot be asked (the command then reports that itself).
 */
int lm_version_check(bool warn_only);
/* --version: helper, libdevmapper, dm driver and target versions. */
void lm_print_versions(void);

#endif
