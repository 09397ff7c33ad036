#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# livemirror: the copy pass makes the destination byte-identical to the
# source for several region sizes and device sizes that are not a multiple
# of the region size; status and table lines have the documented form.
. "$(dirname "$0")/lib.sh"
lm_require_guest
lm_plan 19

lm_ok "modules load" lm_load_modules

# check_sync NAME SRC_SECTORS REGION: fill, mirror, wait synced, compare.
check_sync() {
	local n=$1 sectors=$2 rs=$3 mb
	mb=$(( sectors / 2048 ))
	lm_slice "$n-m" 1 && lm_slice "$n-s" "$mb" $((sectors - mb * 2048)) &&
		lm_slice "$n-d" $((mb + 1)) || return 1
	lm_fill "/dev/mapper/$n-s"
	dmsetup create "$n" --table "0 $sectors livemirror /dev/mapper/$n-m /dev/mapper/$n-s /dev/mapper/$n-d $rs" || return 1
	lm_on_exit "dmsetup remove --retry $n"
	lm_wait_state "$n" synced 120 || return 1
	lm_same "/dev/mapper/$n-s" "/dev/mapper/$n-d" "$sectors" || return 1
	# the data reads back through the target too
	lm_same "/dev/mapper/$n" "/dev/mapper/$n-d" "$sectors"
}

lm_ok "region 8 sectors, 4 MiB + 3 sectors: identical" check_sync sy8 $((4 * 2048 + 3)) 8
lm_ok "region 128 sectors, 8 MiB + 64 sectors: identical" check_sync sy128 $((8 * 2048 + 64)) 128
lm_ok "region 1024 sectors, 6 MiB + 520 sectors: identical" check_sync sy1k $((6 * 2048 + 520)) 1024
lm_ok "region 4096 sectors, 10 MiB - 8 sectors: identical" check_sync sy8k $((10 * 2048 - 8)) 4096

# status fields of the last one: 10 MiB - 8 sectors / 2 MiB regions = 5 regions
lm_eq "nr_regions counts the partial last region" 5 "$(lm_field sy8k nr_regions)"
lm_eq "in_sync equals nr_regions when synced" 5 "$(lm_field sy8k in_sync)"
lm_eq "health AAA" AAA "$(lm_field sy8k health)"
lm_eq "default copy_depth: 16 MiB of 2 MiB regions" 8 "$(lm_field sy8k depth)"
lm_eq "default throttle 0" 0 "$(lm_field sy8k throttle)"
lm_eq "mirroring 1" 1 "$(lm_field sy8k mirroring)"
lm_eq "no destination errors" 0 "$(lm_field sy8k dest_errors)"
lm_eq "copied_bytes: every byte copied once" $(( (10 * 2048 - 8) * 512 )) "$(lm_named sy8k copied_bytes)"
# lazy clear: idle in-sync regions are cleared after a few periods
dirty_cleared() {
	local i
	for ((i = 0; i < 100; i++)); do
		[ "$(lm_field sy8k dirty)" = 0 ] && return 0
		sleep 0.1
	done
	return 1
}
lm_ok "idle copied regions are lazily cleared (dirty 0)" dirty_cleared

# hysteresis: a region written every 0.2 s keeps its bit (no clear and
# re-mark per write, so no metadata writes at all); it is cleared once idle.
# fio runs until killed: in a slow guest it may take many seconds to start,
# so the checks start only once its first write marked the region.
meta_writes() { awk '{ print $5 }' "/sys/block/dm-$(dmsetup info -c --noheadings -o minor sy8k-m | tr -d ' ')/stat"; }
hot_region() {
	local i w0 w1 d
	for ((i = 0; i < 120; i++)); do
		[ "$(lm_field sy8k dirty)" -ge 1 ] && break
		sleep 0.5
	done
	[ "$i" -lt 120 ] || { lm_diag "fio never wrote"; return 1; }
	sleep 1	# the first mark's commit
	w0=$(meta_writes)
	# at least four lazy-clear periods, sampled while fio still writes
	for ((i = 0; i < 6; i++)); do
		d=$(lm_field sy8k dirty)
		kill -0 "$hot" 2>/dev/null || { lm_diag "fio ended too early"; return 1; }
		[ "$d" -ge 1 ] || { lm_diag "sample $i: dirty $d"; return 1; }
		sleep 1
	done
	w1=$(meta_writes)
	lm_diag "metadata writes while hot: $((w1 - w0))"
	[ $((w1 - w0)) -le 1 ]
}
fio --name=hot --filename=/dev/mapper/sy8k --rw=write --bs=4k --size=4k --offset=1M \
	--direct=1 --time_based --runtime=300 --thinktime=200000 >/tmp/hot.log 2>&1 &
hot=$!
lm_ok "a region written continuously stays dirty, no log writes" hot_region
kill "$hot" 2>/dev/null
wait $hot
lm_diag "$(grep -E 'write:|issued|error' /tmp/hot.log)"
lm_ok "and is cleared once idle" dirty_cleared
dd if=/dev/urandom of=/dev/mapper/sy8k bs=64k count=37 seek=11 oflag=direct status=none
lm_ok "writes after sync reach both legs" lm_same /dev/mapper/sy8k-s /dev/mapper/sy8k-d $((10 * 2048 - 8))

# table line echoes what was loaded, canonical form, features in order
devno() { dmsetup info -c --noheadings -o major,minor "$1" | tr -d ' '; }
lm_slice tb-s 4 && lm_slice tb-d 4 && lm_slice tb-m 1
dmsetup create tb --table "0 8192 livemirror /dev/mapper/tb-m /dev/mapper/tb-s /dev/mapper/tb-d 64 9 label vm1-disk0 dest_error retry start_paused copy_depth 2 throttle 5"
lm_on_exit "dmsetup remove --retry tb"
tm=$(devno tb-m) ts=$(devno tb-s) td=$(devno tb-d)
lm_eq "table status is canonical" \
	"0 8192 livemirror $tm $ts $td 64 9 throttle 5 copy_depth 2 start_paused dest_error retry label vm1-disk0" \
	"$(dmsetup table tb)"
lm_eq "start_paused: state paused, nothing copied" "0/128 128 paused AAA 2 5 1 0" "$(lm_info tb)"
lm_exit
