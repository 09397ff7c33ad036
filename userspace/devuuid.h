/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The dm uuid that create gives a new livemirror device, so that the
 * kernel's identity of the device is the strong "dm:<uuid>" (trust_log
 * needs it) and the same migration gets the same uuid every time it is
 * created again over its metadata (the helper's restart and boot paths).
 */
#ifndef LM_DEVUUID_H
#define LM_DEVUUID_H

#include <stddef.h>

#define LM_DEV_UUID_PREFIX "LIVEMIRROR-"

/*
 * The uuid for a device over the metadata at meta_path, in this order:
 *  1. given (--uuid), when not NULL;
 *  2. the uuid the metadata is bound to: its device_id is "dm:<uuid>"
 *     (not an LVM- one: that is an LV's, which only LVM may create);
 *  3. "" when it is bound to a weak "dm-name:" identity (an older helper
 *     created the device without a uuid: a uuid now would not match);
 *  4. "LIVEMIRROR-<the metadata's uuid in hex>" when it is formatted but
 *     not bound yet;
 *  5. "LIVEMIRROR-<32 random hex digits>" when it is fresh (all zero) or
 *     unreadable: the kernel formats it and records the device_id, so
 *     rule 2 finds the same uuid next time.
 * *rule is set to the rule's number (for messages).  0, or -1 when no
 * random bytes could be had.
 */
int lm_dev_uuid(const char *meta_path, const char *given, char *out, size_t len, int *rule);

#endif
