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
# Prints one line per build: p50/p99/p99.9 of the hot writer in microseconds
# and the metadata writes per 1000 hot writes.  Figures, not assertions.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
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
	local moddir=$1 tag=$2 w0 w1 out cold
	local ko d
	for ko in "$moddir/dm-dirtylog/dm-dirtylog.ko" "$moddir/dm-livemirror/dm-livemirror.ko"; do
		for d in $(modinfo -F depends "$ko" | tr , ' '); do
			modprobe "$d" 2>/dev/null
		done
		insmod "$ko" || return 1
	done
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
	w0=$(awk '{ print $5 }' /sys/block/"$(basename "$(readlink -f /dev/mapper/m4-meta)")"/stat)
	# the cold writer: one 4k write per second into a new region of the block
	( for i in $(seq 16 80); do
		dd if=/dev/urandom of=/dev/mapper/m4 bs=4k count=1 seek=$((i * 16 + 3)) \
			oflag=direct status=none
		sleep 1
	  done ) &
	cold=$!
	out=$(fio --name=hot --filename=/dev/mapper/m4 --rw=randwrite --bs=4k --size=512k \
		--direct=1 --ioengine=psync --runtime=30 --time_based \
		--percentile_list=50:99:99.9 --output-format=terse --terse-version=3)
	kill $cold 2>/dev/null; wait $cold 2>/dev/null
	w1=$(awk '{ print $5 }' /sys/block/"$(basename "$(readlink -f /dev/mapper/m4-meta)")"/stat)
	# terse v3: write iops 54, runtime (ms) 55, clat percentiles from 64
	echo "$out" | awk -F';' -v tag="$tag" -v mw=$((w1 - w0)) '{
		ios = $54 * $55 / 1000; printf "%s: hot writer iops=%s clat_us p50=%s p99=%s p99.9=%s, metadata writes per 1000 hot writes=%.0f\n",
			tag, $54, substr($64, index($64, "=") + 1), substr($65, index($65, "=") + 1),
			substr($66, index($66, "=") + 1), ios ? 1000 * mw / ios : 0 }'
	dmsetup remove m4
	dmsetup remove m4-meta
	rmmod dm_livemirror dm_dirtylog
}

i=0
for d in "$@"; do
	run_one "$d" "build $i ($d)" || echo "build $i ($d): failed"
	i=$((i + 1))
done
dmsetup remove m4-src m4-dst m4-mraw
