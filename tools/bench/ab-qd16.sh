#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# An A/B of module builds on the one figure `make bench` showed moving:
# mirroring (synced), 4k random writes at QD16 on ram disks, as a ratio to
# dm-linear on the same ram disk in the same round.  Run in a guest with
# the builds to compare (module trees, built):
#
#   tools/vm/run-in-guest --smp 1 -- tools/bench/ab-qd16.sh DIR_A DIR_B ...
#
# AB_ROUNDS (default 3) rounds, the order of the builds reversed every other
# round; AB_SECONDS per fio job (default 5).  Prints one line per build and
# round and the median ratio per build.  Figures, not assertions.
set -uo pipefail
. "$(dirname "$0")/load-modules.sh"
export DM_DISABLE_UDEV=1
modprobe dm-mod
modprobe brd rd_nr=1 rd_size=$((300 * 1024)) max_part=0
N=$((128 * 2048))		# 128 MiB legs, 512 KiB regions as the bench
dmsetup create ab-src --table "0 $N linear /dev/ram0 0"
dmsetup create ab-dst --table "0 $N linear /dev/ram0 $N"
dmsetup create ab-meta --table "0 8192 linear /dev/ram0 $((2 * N))"
secs=${AB_SECONDS:-5}

iops() {
	fio --name=ab --filename="$1" --rw=randwrite --bs=4k --iodepth=16 --ioengine=libaio \
		--direct=1 --runtime="$secs" --time_based --output-format=terse --terse-version=3 \
		2>/dev/null | awk -F';' '{print $49}'
}

one() {
	local dir=$1 lin lm
	lm_bench_load "$dir" || { echo "$dir: cannot load"; return 1; }
	dd if=/dev/zero of=/dev/mapper/ab-meta bs=1M count=4 oflag=direct status=none
	dmsetup create ab --table "0 $N livemirror /dev/mapper/ab-meta /dev/mapper/ab-src /dev/mapper/ab-dst 1024" ||
		{ rmmod dm_livemirror dm_dirtylog; return 1; }
	for _ in $(seq 1 600); do
		dmsetup status ab | grep -q ' synced ' && break
		sleep 0.1
	done
	# warm: every region written once, so the measured job makes no marks
	fio --name=warm --filename=/dev/mapper/ab --rw=write --bs=512k --direct=1 \
		--size=128m --output=/dev/null >/dev/null 2>&1
	lin=$(iops /dev/mapper/ab-src)
	lm=$(iops /dev/mapper/ab)
	dmsetup remove ab
	rmmod dm_livemirror dm_dirtylog
	echo "R build=$dir round=$2 linear=$lin livemirror=$lm ratio=$(echo "scale=3; $lm / $lin" | bc)"
}

for ((round = 0; round < ${AB_ROUNDS:-3}; round++)); do
	builds=("$@")
	if ((round % 2)); then
		builds=(); for ((k = $#; k >= 1; k--)); do builds+=("${!k}"); done
	fi
	for d in "${builds[@]}"; do
		one "$d" "$round" | tee -a /tmp/ab.out
	done
done
for d in "$@"; do
	grep "build=$d " /tmp/ab.out | sed 's/.*ratio=//' | sort -n |
		awk -v d="$d" '{ a[NR] = $1 } END { printf "median build=%s ratio=%s (n=%d)\n", d, a[int((NR + 1) / 2)], NR }'
done
dmsetup remove ab-src ab-dst ab-meta
