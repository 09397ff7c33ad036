#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# livemirror, review H2 (issue 13): a guest that trims regularly must not
# keep the copy from converging.  Synced mirror on loop legs (tmpfs files,
# which take discards); fio writes at random over a 64 MiB hot set at a
# fixed rate while a 4 KiB discard below the hot set arrives every second.
# Measured: the status state, sampled 4 times a second, and the sectors
# written to the destination beyond what fio wrote.  A discard must cost a
# re-copy of the discarded region only, so the extra destination traffic
# stays within a few regions per discard and the mirror is synced in most
# samples.  At b790ef5 every discard moves the copy cursor back to the
# discarded region, so the whole recently written hot set is copied again
# each second and the state flaps between copying and synced.
. "$(dirname "$0")/lib.sh"
lm_require_guest
SECS=${LM_H2_SECONDS:-20}
lm_plan 4
lm_ok "modules load" lm_load_modules
modprobe loop
W=$(mktemp -d /dev/shm/h2.XXXXXX)
mkloop() { truncate -s "$2" "$W/$1.img" && losetup -f --show "$W/$1.img"; }
S=$(mkloop s 128M) D=$(mkloop d 128M) M=$(mkloop m 1M)
lm_on_exit "rm -rf $W"
lm_on_exit "losetup -d $S $D $M"
N=$((128 * 2048))
R=128	# 64 KiB regions
dmsetup create h2 --table "0 $N livemirror $M $S $D $R"
lm_on_exit "dmsetup remove --retry h2"
lm_ok "first pass synced" lm_wait_state h2 synced 300
dst_w() { awk '{print $7}' "/sys/block/$(basename "$D")/stat"; }
cd /tmp || exit 1
w0=$(dst_w)
fio --name=hot --filename=/dev/mapper/h2 --rw=randwrite --bs=4k --direct=1 --ioengine=psync \
	--offset=64m --size=64m --rate_iops=200 --time_based --runtime="$SECS" \
	--output="$W/fio.out" >/dev/null 2>&1 &
fpid=$!
ndisc=0 nsamp=0 nsync=0 flips=0 last=""
tnext=$(date +%s)
while kill -0 $fpid 2>/dev/null; do
	if [ "$(date +%s)" -ge "$tnext" ]; then
		blkdiscard -o 0 -l 4096 /dev/mapper/h2 && ndisc=$((ndisc + 1))
		tnext=$(( $(date +%s) + 1 ))
	fi
	st=$(lm_field h2 state)
	nsamp=$((nsamp + 1))
	[ "$st" = synced ] && nsync=$((nsync + 1))
	[ -n "$last" ] && [ "$st" != "$last" ] && flips=$((flips + 1))
	last=$st
	sleep 0.25
done
wait $fpid
fio_kib=$(sed -n 's/.*WRITE: bw=.* io=\([0-9.]*\)\([KMG]\)i*B.*/\1 \2/p' "$W/fio.out" |
	awk '{m = $2 == "G" ? 1048576 : $2 == "M" ? 1024 : 1; printf "%d", $1 * m}')
lm_wait_state h2 synced 300
w1=$(dst_w)
extra_kib=$(( (w1 - w0) / 2 - ${fio_kib:-0} ))
per=$(( extra_kib / (ndisc > 0 ? ndisc : 1) ))
lm_diag "$SECS s: $ndisc discards, fio wrote ${fio_kib:-?} KiB; destination wrote $(( (w1 - w0) / 2 )) KiB," \
	"extra $extra_kib KiB = $per KiB per discard; state synced in $nsync of $nsamp samples, $flips state changes"
# budget: 4 regions (256 KiB) per discard
lm_ok "copy traffic per discard within 4 regions (measured $per KiB, budget 256 KiB)" test "$per" -le 256
lm_ok "synced in at least 75% of the samples ($nsync of $nsamp)" test $((nsync * 4)) -ge $((nsamp * 3))
lm_exit
