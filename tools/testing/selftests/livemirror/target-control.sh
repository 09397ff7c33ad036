#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# livemirror: pause freezes the copy, throttle scales the copy time,
# copy_depth and throttle messages show in the status, suspend/resume and a
# table reload in the middle of the copy continue it to a byte-identical
# destination.
. "$(dirname "$0")/lib.sh"
lm_require_guest
lm_plan 14

lm_ok "modules load" lm_load_modules
N=16384	# 8 MiB, 128 regions of 64 KiB

lm_slice ct-m 1 && lm_slice ct-s 8 && lm_slice ct-d 8
lm_fill /dev/mapper/ct-s
T="0 $N livemirror /dev/mapper/ct-m /dev/mapper/ct-s /dev/mapper/ct-d 128"
dmsetup create ct --table "$T 3 start_paused throttle 1"
lm_on_exit "dmsetup remove --retry ct"
sleep 2
lm_eq "start_paused: nothing copied" "0 paused" "$(lm_field ct in_sync) $(lm_field ct state)"
dmsetup message ct 0 resume
sleep 3
dmsetup message ct 0 pause
sleep 1
a=$(lm_field ct in_sync)
sleep 3
b=$(lm_field ct in_sync)
lm_ok "resume copies something ($a regions)" test "$a" -gt 0 -a "$a" -lt 128
lm_eq "pause freezes the copied count" "$a" "$b"
lm_eq "state paused" paused "$(lm_field ct state)"
lm_ok "copy_depth message" dmsetup message ct 0 copy_depth 2
lm_eq "status shows copy_depth and throttle" "2 1" "$(lm_field ct depth) $(lm_field ct throttle)"

# suspend in the middle of the copy: status works, resume continues
dmsetup message ct 0 resume
sleep 2
dmsetup suspend ct
s1=$(lm_field ct in_sync)
sleep 2
lm_eq "suspended: status works and the copy stands still" "$s1" "$(lm_field ct in_sync)"
dmsetup resume ct
sleep 2
# reload mid-copy: the new table continues from the log's progress
c=$(lm_field ct in_sync)
dmsetup load ct --table "$T 2 throttle 0"
dmsetup suspend ct && dmsetup resume ct
lm_ok "reload mid-copy: the new table starts from the bitmap ($c regions done)" \
	test "$(lm_field ct dirty)" -le $((128 - c + 4))
lm_ok "reload mid-copy: synced" lm_wait_state ct synced 60
lm_ok "destination identical after pause, suspend and reload" lm_same /dev/mapper/ct-s /dev/mapper/ct-d $N
dmsetup remove ct

# throttle scales the copy time: 8 MiB at 1 MiB/s vs 4 MiB/s
copy_time() {
	local name=$1 rate=$2 t0
	lm_slice "$name-m" 1 || return 1
	t0=$(date +%s)
	dmsetup create "$name" --table "0 $N livemirror /dev/mapper/$name-m /dev/mapper/ct-s /dev/mapper/ct-d 128 2 throttle $rate" || return 1
	lm_wait_state "$name" synced 60 >&2 || return 1
	echo $(( $(date +%s) - t0 ))
	dmsetup remove "$name"
}
slow=$(copy_time ct1 1)
fast=$(copy_time ct4 4)
lm_diag "8 MiB: ${slow}s at 1 MiB/s, ${fast}s at 4 MiB/s"
lm_ok "throttle 1 MiB/s: 8 MiB take at least 6 s" test "${slow:-0}" -ge 6
lm_ok "throttle 4 MiB/s is at least twice as fast" test $((fast * 2)) -le "${slow:-0}"
lm_exit
