#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The kernel review's M4 reproduction as a measurement: the p99 latency of a
# hot writer (4k random writes at QD1 over 8 regions that stay dirty) while a
# cold writer makes one write per second to a new clean region in the same
# bitmap block, with the metadata behind dm-delay (5 ms).  Run in a guest,
# once per module build given:
#
#   tools/vm/run-in-guest -- tools/bench/m4-latency.sh OLD_MODDIR NEW_MODDIR
#
# Prints one line per build and round (M4_ROUNDS, default 3; M4_SECONDS per
# run, default 20): p50/p99/p99.9 of the hot writer in microseconds and the
# metadata writes per 1000 hot writes.  Figures, not assertions.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tools/bench/load-modules.sh"
export DM_DISABLE_UDEV=1
modprobe dm-mod
modprobe dm-delay
modprobe brd rd_nr=1 rd_size=$((320 * 1024)) max_part=0
R=128				# 64 KiB regions
N=$((128 * 2048))		# 128 MiB legs: 2048 regions, one bitmap block
dmsetup create m4-src --table "0 $N linear /dev/ram0 0"
dmsetup create m4-dst --table "0 $N linear /dev/ram0 $N"
dmsetup create m4-mraw --table "0 2048 linear /dev/ram0 $((2 * N))"

run_one() {
	local moddir=$1 tag=$2 w0 w1 out cold mstat
	lm_bench_load "$moddir" || return 1
	dd if=/dev/zero of=/dev/mapper/m4-mraw bs=1M count=1 oflag=direct status=none
	dmsetup create m4-meta --table "0 2048 delay /dev/mapper/m4-mraw 0 5"
	dmsetup create m4 --table "0 $N livemirror /dev/mapper/m4-meta /dev/mapper/m4-src /dev/mapper/m4-dst $R"
	for _ in $(seq 600); do
		dmsetup status m4 | grep -q ' synced ' && break
		sleep 0.2
	done
	sleep 5		# lazy clear: every region clean
	# the hot set: regions 0-7, dirty from the first writes on
	fio --name=warm --filename=/dev/mapper/m4 --rw=randwrite --bs=4k --size=512k \
		--direct=1 --ioengine=psync --io_size=2m --output=/dev/null
	mstat=/sys/block/$(dmsetup info -c --noheadings -o blkdevname m4-meta | tr -d ' ')/stat
	w0=$(awk '{ print $5 }' "$mstat")
	# the cold writer: one 4k write per second into a new region of the block
	( for i in $(seq 16 80); do
		dd if=/dev/urandom of=/dev/mapper/m4 bs=4k count=1 seek=$((i * 16 + 3)) \
			oflag=direct status=none
		sleep 1
	  done ) &
	cold=$!
	out=$(fio --name=hot --filename=/dev/mapper/m4 --rw=randwrite --bs=4k --size=512k \
		--direct=1 --ioengine=psync --runtime=${M4_SECONDS:-20} --time_based \
		--percentile_list=50:99:99.9 --output-format=json)
	kill $cold 2>/dev/null; wait $cold 2>/dev/null
	w1=$(awk '{ print $5 }' "$mstat")
	echo "$out" | python3 -c '
import json, sys
tag, mw = sys.argv[1], int(sys.argv[2])
w = json.load(sys.stdin)["jobs"][0]["write"]
p = w["clat_ns"]["percentile"]
us = lambda k: p[k] / 1000
print("%s: hot writer iops=%.0f clat_us p50=%.0f p99=%.0f p99.9=%.0f, metadata writes per 1000 hot writes=%.0f"
      % (tag, w["iops"], us("50.000000"), us("99.000000"), us("99.900000"), 1000 * mw / max(w["total_ios"], 1)))' "$tag" $((w1 - w0))
	dmsetup remove m4
	dmsetup remove m4-meta
	rmmod dm_livemirror dm_dirtylog
}

# Rounds alternate the builds, in reverse order every other round: figures
# from one boot drift by tens of percent, so only interleaved ones compare.
for ((round = 0; round < ${M4_ROUNDS:-3}; round++)); do
	builds=("$@")
	if ((round % 2)); then
		builds=(); for ((k = $#; k >= 1; k--)); do builds+=("${!k}"); done
	fi
	for d in "${builds[@]}"; do
		run_one "$d" "round $round, $d" || echo "round $round, $d: failed"
	done
done
dmsetup remove m4-src m4-dst m4-mraw
