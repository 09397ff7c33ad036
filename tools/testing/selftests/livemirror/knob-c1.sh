#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# livemirror, review C1 made deterministic with the test build's delay
# point LM_TP_SEARCH (make test-modules; make knobs runs it): the copier is
# held for LM_KNOB_MS between its bitmap search and what follows it (at
# b790ef5: the cursor store; now: the re-check under the region's lock).
# While it is held, two writes go to one clean region that the search has
# passed.  At b790ef5 the first is mirrored and the second goes to the
# source only behind the stale cursor; the region is then cleared as in
# sync and the destination lacks the second write.  The legs must be
# identical once synced and suspended.  Needs 2 vCPUs (the copier sleeps
# in the delay, the writer runs beside it).
. "$(dirname "$0")/lib.sh"
lm_require_guest
MS=${LM_KNOB_MS:-4000}
lm_plan 7
lm_ok "modules load" lm_load_modules
P=/sys/module/dm_livemirror/parameters
lm_require_knob 6
lm_on_exit "echo -1,0 >$P/test_delay_ms"

# 64 MiB legs, 64 KiB regions: 1024 regions.
lm_slice k1-m 1 && lm_slice k1-s 64 && lm_slice k1-d 64
lm_fill /dev/mapper/k1-s
N=$((64 * 2048)) R=128
dmsetup create k1 --table "0 $N livemirror /dev/mapper/k1-m /dev/mapper/k1-s /dev/mapper/k1-d $R"
lm_on_exit "dmsetup remove --retry k1"
lm_ok "synced" lm_wait_state k1 synced 180
sleep 5		# the lazy clear: every region clean

# The last region dirty again, so that the restarted search has
# something to find far beyond region 10.
dd if=/dev/urandom of=/dev/mapper/k1 bs=4k count=1 seek=$(((N / 8) - 1)) oflag=direct status=none
echo 1 >$P/test_delay_count
echo 0,"$MS" >$P/test_delay_ms
dmesg -c >/dev/null
dmsetup message k1 0 retry
sleep 1		# the copier is now held in its search
# two writes to region 10 (sectors 1280..1407), one after the other
dd if=/dev/urandom of=/dev/mapper/k1 bs=4k count=2 seek=160 oflag=direct status=none
dd if=/dev/urandom of=/dev/mapper/k1 bs=4k count=2 seek=160 oflag=direct status=none
lm_ok "the copier was held in its search ($MS ms)" \
	eval "dmesg | grep -q 'delaying point 0'"
echo -1,0 >$P/test_delay_ms
lm_ok "synced again" lm_wait_state k1 synced 120
sleep 5
lm_eq "status: nothing dirty" 0 "$(lm_field k1 dirty)"
dmsetup suspend k1
d=$(cmp -n 65536 -i $((1280 * 512)) /dev/mapper/k1-s /dev/mapper/k1-d 2>&1 | head -1)
[ -n "$d" ] && lm_diag "region 10 of the legs: $d (the log calls it clean: dirty=$(lm_field k1 dirty))"
lm_ok "C1: region 10 identical on both legs (the second write reached the destination)" \
	cmp -s -n 65536 -i $((1280 * 512)) /dev/mapper/k1-s /dev/mapper/k1-d
lm_ok "C1: the legs are identical" cmp -s /dev/mapper/k1-s /dev/mapper/k1-d
dmsetup resume k1
lm_exit
