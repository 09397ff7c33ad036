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
# 64 MiB, 1024 regions of 64 KiB: at 1 MiB/s the copy lasts over a minute,
# so the suspend and the reload below surely happen in the middle of it
# even when every dmsetup call of a loaded guest takes seconds
N=131072 NR=1024

lm_slice ct-m 1 && lm_slice ct-s 64 && lm_slice ct-d 64
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
lm_ok "resume copies something ($a regions)" test "$a" -gt 0 -a "$a" -lt $NR
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
# reload mid-copy: the new table continues from the log's progress.  It
# starts paused, so its in_sync is exactly where the old table stopped.
read -r -a st <<<"$(lm_info ct)"
c=${st[0]%/*}
lm_ok "the reload happens mid-copy (${st[0]} ${st[2]})" \
	test "${st[2]}" = copying -a "$c" -gt 0 -a "$c" -lt $NR
dmsetup load ct --table "$T 3 start_paused throttle 0"
dmsetup suspend ct && dmsetup resume ct
r=$(lm_field ct in_sync)
lm_ok "reload mid-copy: the new table continues where the old one was ($c -> $r)" \
	test "$r" -ge "$c" -a "$r" -lt $NR
dmsetup message ct 0 resume
lm_ok "reload mid-copy: synced" lm_wait_state ct synced 120
lm_ok "destination identical after pause, suspend and reload" lm_same /dev/mapper/ct-s /dev/mapper/ct-d $N
dmsetup remove ct

# throttle scales the copy time: 8 MiB at 1 MiB/s vs 4 MiB/s
N=16384
lm_slice ct-s8 8 && lm_slice ct-d8 8
lm_fill /dev/mapper/ct-s8
copy_time() {
	local name=$1 rate=$2 t0
	lm_slice "$name-m" 1 || return 1
	t0=$(date +%s)
	dmsetup create "$name" --table "0 $N livemirror /dev/mapper/$name-m /dev/mapper/ct-s8 /dev/mapper/ct-d8 128 2 throttle $rate" || return 1
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
