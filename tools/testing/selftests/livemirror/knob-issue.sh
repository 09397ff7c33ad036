#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# livemirror, the PREEMPT_RT crash of the ninth session (fixed in b5ca87c)
# made reproducible on any kernel with the test build's delay point
# LM_TP_ISSUE (make test-modules; make knobs runs it).  lm_issue() submits
# a write's source clone and then, for a mirrored write, its destination
# clone.  A discard or write-zeroes goes to the source only and is issued
# from the worker once its marks are durable: as soon as its source clone
# is submitted, nothing holds its per-bio data, which the next guest write
# may reuse.  Before b5ca87c lm_issue() read io->to_dest again after that
# submit; RT preempted the worker there, and the worker then sent a third
# clone of somebody else's write and completed that write early, while its
# clones still used the guest's pages.  The delay point holds the worker
# in exactly that spot, for every pass, while random mirrored writes run
# beside it: the old code crashes or corrupts within seconds, the fixed
# code must go on with fio's verify clean and the legs identical.
# Needs 2 vCPUs.
. "$(dirname "$0")/lib.sh"
lm_require_guest
MS=${LM_KNOB_MS:-5}
SECS=${LM_KNOB_SECS:-40}
lm_plan 7
lm_ok "modules load" lm_load_modules
modprobe loop
P=/sys/module/dm_livemirror/parameters
lm_require_knob 6
lm_on_exit "echo -1,0 >$P/test_delay_ms"
W=$(mktemp -d /dev/shm/kissue.XXXXXX)
mkloop() { truncate -s "$2" "$W/$1.img" && losetup -f --show "$W/$1.img"; }
S=$(mkloop s 64M) D=$(mkloop d 64M) M=$(mkloop m 1M)
lm_on_exit "rm -rf $W"
lm_on_exit "losetup -d $S $D $M"

# 64 MiB, 64 KiB regions; fio writes the first 48 MiB, the discards and
# write-zeroes go to the last 16.
N=$((64 * 2048))
lm_fill "$S"
dmsetup create ki --table "0 $N livemirror $M $S $D 128"
lm_on_exit "dmsetup remove --retry ki"
lm_ok "synced" lm_wait_state ki synced 180

PASSES=1000000
echo $PASSES >$P/test_delay_count
echo 2,"$MS" >$P/test_delay_ms
dmesg -c >/dev/null
# Source-only range writes issued from the worker, one after the other.
(
	end=$((SECONDS + SECS)) i=0
	while [ $SECONDS -lt $end ]; do
		# two regions each: a range op, so source only, from the worker
		off=$(((48 << 20) + (RANDOM % 255) * 65536 + 32768))
		if ((i++ % 2)); then
			blkdiscard -o $off -l 65536 /dev/mapper/ki
		else
			blkdiscard -z -o $off -l 65536 /dev/mapper/ki
		fi
	done
) &
ranges=$!
fio --name=ki --filename=/dev/mapper/ki --direct=1 --ioengine=libaio \
	--rw=randwrite --bs=4k --iodepth=16 --numjobs=2 --size=24M \
	--offset_increment=24M --runtime=$SECS --time_based \
	--verify=crc32c --verify_backlog=64 --verify_fatal=1 \
	--group_reporting --output="$W/fio.out" >/dev/null 2>&1
frc=$?
wait $ranges
left=$(cat $P/test_delay_count)
echo -1,0 >$P/test_delay_ms
lm_diag "delayed passes of lm_issue from the worker: $((PASSES - left)), ${MS} ms each"
lm_ok "the worker was held after the source clone (point 2)" test $((PASSES - left)) -gt 20
lm_eq "fio: every write verified" 0 $frc
[ $frc = 0 ] || lm_diag "$(grep -i -m3 'verify\|err' "$W/fio.out")"
lm_ok "no kernel report" eval "! dmesg | grep -E -q 'BUG|WARNING|Oops|general protection'"
lm_ok "synced again" lm_wait_state ki synced 180
dmsetup suspend ki
lm_ok "the legs are identical" lm_same "$S" "$D" $N
dmsetup resume ki
lm_exit
