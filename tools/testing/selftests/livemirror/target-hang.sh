#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# livemirror: a destination that hangs instead of failing (review M8).  The
# destination is a dm-linear that is suspended, so every bio sent to it
# waits, as on an NVMe/TCP link cut within ctrl_loss_tmo.  Guest writes,
# flushes and a suspend of the mirror must finish within dest_timeout; the
# mirror degrades; once the destination answers again, the late writes come
# back, retry copies what is needed, and the legs end identical.
. "$(dirname "$0")/lib.sh"
lm_require_guest
lm_plan 10

lm_ok "modules load" lm_load_modules
lm_slice hg-m 1 && lm_slice hg-s 16 && lm_slice hg-raw 16
N=$((16 * 2048))
dmsetup create hg-d --table "0 $N linear /dev/mapper/hg-raw 0"
lm_on_exit "dmsetup resume hg-d; dmsetup remove --retry hg-d"
lm_fill /dev/mapper/hg-s
dmsetup create hg --table "0 $N livemirror /dev/mapper/hg-m /dev/mapper/hg-s /dev/mapper/hg-d 128"
lm_on_exit "dmsetup remove --retry hg"
lm_wait_state hg synced 120
# A 2 s timeout (the module at b790ef5 has none: the message fails there
# and the writes below hang, which is the failure this test shows).
dmsetup message hg 0 dest_timeout 2 || lm_diag "no dest_timeout message"

dmsetup suspend hg-d
start=$(date +%s)
lm_ok "a write completes while the destination hangs" \
	timeout 30 dd if=/dev/urandom of=/dev/mapper/hg bs=4k count=4 seek=100 oflag=direct,dsync status=none
lm_ok "a flush completes while the destination hangs" \
	timeout 30 python3 -c "import os; fd = os.open('/dev/mapper/hg', os.O_WRONLY); os.fsync(fd)"
lm_diag "took $(( $(date +%s) - start )) s"
lm_eq "the mirror is degraded" degraded "$(lm_field hg state)"
lm_ok "suspend of the mirror finishes" timeout 30 dmsetup suspend hg
timeout 30 dmsetup resume hg
lm_ok "writes go on from the source" \
	timeout 30 dd if=/dev/urandom of=/dev/mapper/hg bs=64k count=16 seek=50 oflag=direct status=none
lm_not "retry is refused while the late writes are out" dmsetup message hg 0 retry

dmsetup resume hg-d
sleep 2
lm_ok "retry once the destination answers" dmsetup message hg 0 retry
lm_ok "synced again" lm_wait_state hg synced 120
dmsetup suspend hg
lm_ok "legs identical" lm_same /dev/mapper/hg-s /dev/mapper/hg-d $N
dmsetup resume hg

lm_exit
