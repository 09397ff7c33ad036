#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# livemirror, review C1 (issue 13): a write that races the copier's bitmap
# scan must not be lost.  Large sparse legs (loop over tmpfs files, all
# zero) with small regions, so the bitmap is long (2^21 bits by default)
# and the copier's scan over its clean part takes a while; the log starts
# clean (stress_io logclear), so the mirror is synced at once.  Then a
# sequential writer (fio, 2 KiB blocks so that each region gets two writes
# back to back, queue depth 32, in 1 MiB bursts so that the tmpfs files
# stay small and it never comes back over what it wrote) runs while
# 'retry' is sent every LM_C1_RETRY_MS: each restarts the copy pass, which
# copies the writer's recent trail, catches up with the writer's head and
# scans the clean rest of the bitmap, while the writer dirties the regions
# the scan has passed.  Afterwards: synced, the lazy clear, suspend, and the
# legs must be identical region by region over what the writer covered.
# At b790ef5 the copier stores its cursor past regions dirtied during its
# scan: the second write to such a region goes to the source only, and the
# region is then treated and cleared as in sync; the regions named below
# are lost writes.  LM_C1_GB (leg size, default 8), LM_C1_REGION (sectors,
# default 8), LM_C1_BS_K (block KiB, default 2), LM_C1_SECONDS (default 40),
# LM_C1_RETRY_MS (default 300), LM_C1_DEPTH (copy_depth).  LM_C1_MODE=brd: the review's recipe
# instead (ram-disk legs of LM_C1_MB, default 448, 64 KiB regions, fio at
# full speed wrapping around, retry every 20 ms).
. "$(dirname "$0")/lib.sh"
lm_require_guest
GB=${LM_C1_GB:-8}
R=${LM_C1_REGION:-8}
BS_K=${LM_C1_BS_K:-2}
SECS=${LM_C1_SECONDS:-40}
RETRY_MS=${LM_C1_RETRY_MS:-300}
# copy_depth 1: the copier then holds one slot, so it never defers all the
# writer's in-flight writes at once and the writer keeps writing while
# the copier scans past its head.
FEAT=()
[ -n "${LM_C1_DEPTH:-}" ] && FEAT=(copy_depth "$LM_C1_DEPTH")
SIO=$(cd "$(dirname "$0")" && pwd)/stress_io
lm_plan 5
lm_ok "modules load" lm_load_modules
MODE=${LM_C1_MODE:-sparse}
if [ "$MODE" = brd ]; then
	# The review's statistical recipe: ram-disk legs, 64 KiB regions, fio
	# at full speed wrapping over the legs, retry every 20 ms; the log is
	# formatted dirty and the first pass copies the legs.
	MB=${LM_C1_MB:-448}
	R=${LM_C1_REGION:-128} BS_K=${LM_C1_BS_K:-4} RETRY_MS=${LM_C1_RETRY_MS:-20}
	export LM_RAM_MB=$((2 * MB + 8))
	lm_slice c1-s "$MB" && lm_slice c1-d "$MB" && lm_slice c1-m 4 || { lm_fail "scratch"; lm_exit; }
	S=/dev/mapper/c1-s D=/dev/mapper/c1-d M=/dev/mapper/c1-m
	N=$((MB * 2048))
	FIO_PACE=(--time_based --size=$((MB << 20)))
	lm_diag "brd legs ${MB} MiB, region $R sectors: $((N / R)) regions; writer $SECS s of $BS_K KiB writes at full speed, retry every $RETRY_MS ms"
	dmsetup create c1 --table "0 $N livemirror $M $S $D $R ${#FEAT[@]} ${FEAT[*]}"
else
	modprobe loop
	W=$(mktemp -d /dev/shm/c1.XXXXXX)
	mkloop() { truncate -s "$2" "$W/$1.img" && losetup -f --show "$W/$1.img"; }
	S=$(mkloop s ${GB}G) D=$(mkloop d ${GB}G) M=$(mkloop m 4M)
	lm_on_exit "rm -rf $W"
	lm_on_exit "losetup -d $S $D $M"
	N=$((GB * 2097152))
	TABLE="0 $N livemirror $M $S $D $R"
	# 1 MiB bursts at queue depth 32, 120 ms apart: about 8 MiB/s
	FIO_PACE=(--thinktime=120ms --thinktime_blocks=$((1024 / BS_K)))
	lm_diag "legs ${GB} GiB (sparse), region $R sectors: $((N / R)) regions; writer $SECS s of $BS_K KiB writes, retry every $RETRY_MS ms"
	# Format the log (all dirty) bound to named legs, then clear it: both
	# legs are all zeroes.  The second table trusts the cleared bits
	# (trust_log, which needs identities that a loop device alone does not
	# give); without it every region would be dirty again and the first
	# pass would copy all 2 x GB GiB.
	IDS=(source_id c1-src dest_id c1-dst device_id c1-lm)
	dmsetup create c1 --table "$TABLE $((${#FEAT[@]} + 7)) start_paused ${IDS[*]} ${FEAT[*]}" &&
		dmsetup remove c1 && "$SIO" logclear "$M" &&
		dmsetup create c1 --table "$TABLE $((${#FEAT[@]} + 7)) trust_log ${IDS[*]} ${FEAT[*]}"
fi
lm_on_exit "dmsetup remove --retry c1"
lm_diag "table: $(dmsetup table c1)"
lm_ok "synced" lm_wait_state c1 synced 300
for ((i = 0; i < 100; i++)); do [ "$(lm_field c1 dirty)" = 0 ] && break; sleep 0.1; done
lm_eq "bitmap clean before the writer" 0 "$(lm_field c1 dirty)"

cd /tmp || exit 1
TMPW=$(mktemp -d /run/c1.XXXXXX)
lm_on_exit "rm -rf $TMPW"
fio --name=seq --filename=/dev/mapper/c1 --rw=write --bs="${BS_K}k" --iodepth=32 --direct=1 \
	--ioengine=libaio "${FIO_PACE[@]}" --runtime="$SECS" --output="$TMPW/fio.out" >/dev/null 2>&1 &
fpid=$!
"$SIO" msgloop c1 retry "$RETRY_MS" "$SECS"
wait $fpid
written=$(sed -n 's/.*WRITE: bw=.* io=\([0-9.]*\)\([KMG]\)i*B.*/\1 \2/p' "$TMPW/fio.out" |
	awk '{m = $2 == "G" ? 1073741824 : $2 == "M" ? 1048576 : 1024; printf "%.0f", $1 * m}')
lm_diag "fio wrote ${written:-?} bytes sequentially from 0; status $(lm_info c1)"
lm_wait_state c1 synced 300
sleep 5	# the lazy clear (2-3 s of idle groups)
lm_diag "status after synced + 5 s: $(lm_info c1)"
dmsetup suspend c1
# compare what the writer covered, plus a margin of 64 MiB
lim=$(( (${written:-$((N * 512))} >> 9) + 131072 ))
out=$("$SIO" compare "$S" "$D" "$R" "$M" "$lim")
rc=$?
lm_diag "suspended: $(lm_info c1)"
echo "$out"
lm_eq "legs identical after the sequential writer and retries, synced + suspend" 0 "$rc"
dmsetup resume c1
lm_exit
