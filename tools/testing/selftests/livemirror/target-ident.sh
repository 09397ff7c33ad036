#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Issue 14: a log belongs to one migration.  The metadata records the
# identity of the mapped device and of both legs (dm uuids here), and a
# table opened from disk trusts its clean bits only with trust_log:
#   - a destination replaced by an empty disk, swapped legs, and a second
#     device on the same metadata are refused once no table holds the log;
#   - a restart after a bypass (the table replaced by linear over the
#     source, the source written, the migration loaded again on the same
#     metadata) ends with the destination identical to the source;
#   - reuse_metadata starts over on purpose, all dirty;
#   - trust_log keeps the bits of a log whose last table let go cleanly,
#     and is refused with weak identities.
. "$(dirname "$0")/lib.sh"
lm_require_guest
lm_plan 17

lm_ok "modules load" lm_load_modules

MB=16
N=$((MB * 2048))
# leg NAME: a dm device with a uuid over a fresh slice
leg() {
	lm_slice "$1-raw" "${2:-$MB}" &&
		dmsetup create "$1" -u "lmtest-$1-$RANDOM" --table "0 $(( ${2:-$MB} * 2048 )) linear /dev/mapper/$1-raw 0" &&
		lm_on_exit "dmsetup remove --retry $1"
}
leg id-m 1 && leg id-s && leg id-d && leg id-e
lm_fill /dev/mapper/id-s
U=lmtest-migration-$RANDOM
T="0 $N livemirror /dev/mapper/id-m /dev/mapper/id-s"
mk() { dmsetup create id -u "$U" --table "$T $1 128${2:+ $2}"; }
rm_id() { dmsetup remove --retry id 2>/dev/null; }
lm_on_exit rm_id

lm_ok "a migration runs and syncs" mk /dev/mapper/id-d
lm_wait_state id synced 120
lm_ok "legs identical once synced" lm_same /dev/mapper/id-s /dev/mapper/id-d $N
lm_eq "a fresh log reports opened=formatted" formatted "$(lm_named id opened)"
rm_id

# ---- restart after a bypass (review C1) -------------------------------------
# The device goes on as plain linear over the source (what an LVM refresh
# or a reboot gives), the source is written, then the migration is loaded
# again on the same metadata.
dmsetup create id -u "$U" --table "0 $N linear /dev/mapper/id-s 0"
dd if=/dev/urandom of=/dev/mapper/id bs=64k count=16 seek=37 oflag=direct status=none
dmsetup remove --retry id
lm_ok "the migration is loaded again on the same metadata" mk /dev/mapper/id-d
lm_eq "... and reports that the last table detached cleanly" clean "$(lm_named id opened)"
lm_eq "... without trust" 0 "$(lm_named id trusted)"
lm_wait_state id synced 120
lm_ok "C1: after the bypass the destination is identical to the source" \
	lm_same /dev/mapper/id-s /dev/mapper/id-d $N

# the same through a reload of a live device (suspend, linear, resume, write,
# suspend, livemirror, resume)
dmsetup suspend id && dmsetup reload id --table "0 $N linear /dev/mapper/id-s 0" && dmsetup resume id
dd if=/dev/urandom of=/dev/mapper/id bs=64k count=16 seek=201 oflag=direct status=none
dmsetup suspend id && dmsetup reload id --table "$T /dev/mapper/id-d 128" && dmsetup resume id
lm_wait_state id synced 120
lm_ok "C1 by reload: the destination is identical to the source" \
	lm_same /dev/mapper/id-s /dev/mapper/id-d $N
rm_id

# ---- the log is bound to its legs and device ----------------------------------
lm_not "a second mapped device on the same metadata is refused" \
	dmsetup create id-sw -u "lmtest-other-$RANDOM" --table "$T /dev/mapper/id-d 128"
dmsetup remove --retry id-sw 2>/dev/null
lm_not "swapped legs are refused" \
	dmsetup create id -u "$U" --table "0 $N livemirror /dev/mapper/id-m /dev/mapper/id-d /dev/mapper/id-s 128"
rm_id
lm_not "a destination replaced by another disk of the same size is refused" mk /dev/mapper/id-e
rm_id
lm_slice id-d2-raw $MB
dmsetup remove --retry id-d
dmsetup create id-d -u "lmtest-recreated-$RANDOM" --table "0 $N linear /dev/mapper/id-d2-raw 0"
lm_not "a destination re-created empty under the same name is refused" mk /dev/mapper/id-d
rm_id

# ---- reuse_metadata and trust_log ----------------------------------------------
lm_ok "reuse_metadata starts over on a new destination" mk /dev/mapper/id-e "1 reuse_metadata"
lm_eq "... as a new log" formatted "$(lm_named id opened)"
lm_wait_state id synced 120
rm_id
lm_ok "trust_log keeps the bits of a cleanly detached log" mk /dev/mapper/id-e "1 trust_log"
lm_eq "... nothing to copy" 0 "$(lm_field id dirty)"
rm_id
lm_exit
