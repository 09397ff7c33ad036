#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A destination on another host: a network namespace exporting a disk over
# NVMe/TCP (kernel nvmet), reached through a veth pair with netem latency.
# The migration completes and verifies; copy throughput is compared with a
# local destination; the link is cut mid-copy while a writer runs, guest
# writes keep succeeding, and after the link is back 'retry' resynchronises
# only what is dirty, and the switch then succeeds.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-remote.sh"
lm_require_guest
lm_plan 14
LM=$LM_HELPER
MB=48
REGION=256	# sectors: 128 KiB
lm_load_modules || { lm_fail "modules load"; lm_exit; }
lm_slice rsrc $MB && lm_slice rlocal $MB && lm_slice rback $MB && lm_slice rmeta1 1 && lm_slice rmeta2 1 &&
	lm_slice rmeta3 1 || { lm_fail "scratch devices"; lm_exit; }
lm_fill /dev/mapper/rsrc
sectors=$(lm_dev_sectors /dev/mapper/rsrc)

# Time to sync, in milliseconds, of an unthrottled copy to $2.
time_copy() {
	local name=$1 dst=$2 meta=$3 t0 t1
	t0=$(date +%s%N)
	$LM create "$name" --meta "$meta" --source /dev/mapper/rsrc --dest "$dst" --region-size ${REGION}s >/dev/null || return 1
	$LM wait "$name" --timeout 600 >/dev/null || return 1
	t1=$(date +%s%N)
	echo $(( (t1 - t0) / 1000000 ))
}

rdev=$(lm_remote_setup /dev/mapper/rback)
lm_ok "NVMe/TCP export from the storage namespace is imported as $rdev" test -b "$rdev"
lm_remote_latency 3
lm_ok "3 ms of netem delay each way on the link" bash -c "tc qdisc show dev lm-host | grep -q netem"

ms_local=$(time_copy rmig-local /dev/mapper/rlocal /dev/mapper/rmeta1)
lm_ok "local migration completes ($ms_local ms)" test -n "$ms_local"
dmsetup remove rmig-local
ms_remote=$(time_copy rmig-remote "$rdev" /dev/mapper/rmeta2)
lm_ok "remote migration over NVMe/TCP completes ($ms_remote ms)" test -n "$ms_remote"
lm_ok "remote destination is byte-identical to the source" lm_same /dev/mapper/rsrc /dev/mapper/rback "$sectors"
if [ -n "$ms_local" ] && [ -n "$ms_remote" ] && [ "$ms_remote" -gt 0 ]; then
	lm_diag "copy throughput: local $((MB * 1000 / (ms_local + 1))) MiB/s, remote (3 ms) $((MB * 1000 / ms_remote)) MiB/s, ratio remote/local $(awk "BEGIN { printf \"%.2f\", $ms_local / $ms_remote }")"
fi
dmsetup remove rmig-remote

# Link cut mid-copy, with a writer on the livemirror device.
lm_remote_latency 0
dd if=/dev/zero of="$rdev" bs=1M count=$MB oflag=direct status=none
$LM create rmig --meta /dev/mapper/rmeta3 --source /dev/mapper/rsrc --dest "$rdev" \
	--region-size ${REGION}s --throttle 4 >/dev/null || { lm_fail "create rmig"; lm_exit; }
lm_on_exit "dmsetup remove --retry rmig"
rm -f /tmp/rstop
FIO=(--name=w --filename=/dev/mapper/rmig --size=12M --rw=randwrite --bs=4k --ioengine=psync
	--direct=1 --verify=crc32c --fsync=16 --eta=never --verify_state_save=0 --aux-path=/tmp)
( while [ ! -e /tmp/rstop ]; do fio "${FIO[@]}" --do_verify=1 --output=/tmp/rfio.log >/dev/null 2>&1 || exit 1; done ) &
writer=$!
# Cut mid-copy, but only once some copied regions are clean on disk, so that
# "resync only what is dirty" has something to leave out.
for _ in $(seq 1 300); do
	d=$(lm_field rmig dirty)
	[ -n "$d" ] && [ "$d" -le $(( $(lm_field rmig nr_regions) * 3 / 4 )) ] && break
	sleep 0.2
done
lm_diag "cutting the link at: $(lm_info rmig)"
lm_remote_cut
for _ in $(seq 1 100); do [ "$(lm_field rmig state)" = degraded ] && break; sleep 0.2; done
lm_eq "destination goes to D and the device to degraded after the link cut" "degraded ADA" \
	"$(lm_field rmig state) $(lm_field rmig health)"
sleep 4	# writes keep coming while the destination is unreachable
lm_remote_restore
for _ in $(seq 1 100); do dd if="$rdev" of=/dev/null bs=4k count=1 iflag=direct 2>/dev/null && break; sleep 0.2; done
touch /tmp/rstop
wait $writer
lm_eq "the writer saw no error through the cut" 0 $?
dirty=$(lm_field rmig dirty)
nr=$(lm_field rmig nr_regions)
dm_back=dm-$(dmsetup info -c --noheadings -o minor rback | tr -d " ")
w0=$(awk '{print $7}' /sys/block/$dm_back/stat)
$LM throttle rmig 0 >/dev/null
lm_ok "retry after the link is back" $LM retry rmig
lm_ok "the migration resynchronises to synced" $LM wait rmig --timeout 600
w1=$(awk '{print $7}' /sys/block/$dm_back/stat)
written=$((w1 - w0))
lm_diag "dirty at retry: $dirty of $nr regions; sectors written to the destination by the resync: $written (full copy: $sectors)"
lm_ok "the resync writes no more than the dirty regions" test "$written" -le $((dirty * REGION))
lm_ok "and less than a full recopy" test "$written" -lt "$sectors"
lm_ok "switch to the remote destination succeeds" $LM switch rmig
lm_ok "the data verifies through the switched device" fio "${FIO[@]}" --verify_only=1 --output=/tmp/rfio-v.log
lm_ok "the remote disk equals the source outside the writer's area" \
	bash -c "cmp -s -i $((12 * 1048576)) /dev/mapper/rsrc /dev/mapper/rback"
lm_exit
