#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# livemirror, review M1 (issue 13): overlapping writes in flight to one
# region must land in the same order on both legs.  Two threads pinned to
# the two vCPUs (stress_io m1race) write different patterns to the same
# 4 KiB at the same moment, round after round; the source is a ram disk
# (completes inline), the destination sits behind dm-delay.  After each
# round both writes have completed: the legs are read at the block, and the
# race stops at the first round where they differ, so that difference is
# the final state.  Then synced, the lazy clear, suspend: the legs must be
# identical.  At b790ef5 the two clones of each write are issued
# independently, so the legs can end with different writers' data while the
# log calls the region in sync.  Needs 2 vCPUs to race at all.
# LM_M1_ROUNDS (default 20000) rounds per try, LM_M1_TRIES (default 3).
. "$(dirname "$0")/lib.sh"
lm_require_guest
ROUNDS=${LM_M1_ROUNDS:-20000}
TRIES=${LM_M1_TRIES:-3}
SIO=$(cd "$(dirname "$0")" && pwd)/stress_io
[ -x "$SIO" ] || SIO=$LM_TOP/build/ksft/livemirror/stress_io
lm_plan 3
lm_diag "$(nproc) CPUs online, $TRIES tries of $ROUNDS rounds"
lm_ok "modules load" lm_load_modules
modprobe dm-delay
lm_slice m1-s 16 && lm_slice m1-d 16 && lm_slice m1-m 1 || { lm_fail "scratch devices"; lm_exit; }
N=$((16 * 2048))
R=128
dmsetup create m1-dd --table "0 $N delay /dev/mapper/m1-d 0 0"
lm_on_exit "dmsetup remove --retry m1-dd"
dmsetup create m1 --table "0 $N livemirror /dev/mapper/m1-m /dev/mapper/m1-s /dev/mapper/m1-dd $R"
lm_on_exit "dmsetup remove --retry m1"
lm_ok "synced" lm_wait_state m1 synced 120
bad=0
for ((t = 1; t <= TRIES; t++)); do
	# a different block each try: a region that has been raced before
	# is never reused
	off=$(( (t * 37 % 256) * 65536 ))
	"$SIO" m1race /dev/mapper/m1 /dev/mapper/m1-s /dev/mapper/m1-d "$ROUNDS" "$off"
	lm_wait_state m1 synced 120
	sleep 4	# the lazy clear
	dmsetup suspend m1
	out=$("$SIO" compare /dev/mapper/m1-s /dev/mapper/m1-d $R /dev/mapper/m1-m)
	rc=$?
	dmsetup resume m1
	lm_diag "try $t (offset $off): status $(lm_info m1)"
	echo "$out"
	[ $rc = 0 ] || { bad=$((bad + 1)); break; }
done
lm_eq "legs identical after racing overlapping writes, synced + suspend" 0 "$bad"
lm_exit
