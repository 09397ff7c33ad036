#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# livemirror, review C1 (issue 13): a write that races the copier's bitmap
# scan must not be lost.  Sync, let the bitmap go clean, then run a
# sequential writer (fio, 4 KiB, queue depth 32) just ahead of the copier
# while a loop sends 'retry' (each restarts the copy pass over a mostly
# clean bitmap, so the copier keeps scanning clean gaps the writer is
# dirtying).  Then synced, the lazy clear, suspend: the legs must be
# identical region by region.  At b790ef5 a second write to a clean region
# that the scan has passed goes to the source only and the region is then
# cleared as in sync; the regions named below are such lost writes.
# LM_C1_MB (leg size, default 384), LM_C1_REGION (sectors, default 128),
# LM_C1_SECONDS (writer run time, default 45).
. "$(dirname "$0")/lib.sh"
lm_require_guest
MB=${LM_C1_MB:-384}
R=${LM_C1_REGION:-128}
SECS=${LM_C1_SECONDS:-45}
export LM_RAM_MB=$((2 * MB + 16))
SIO=$(dirname "$0")/stress_io
[ -x "$SIO" ] || SIO=$LM_TOP/build/ksft/livemirror/stress_io
lm_plan 5
lm_diag "legs ${MB} MiB, region $R sectors, writer ${SECS} s"
lm_ok "modules load" lm_load_modules
lm_slice c1-s "$MB" && lm_slice c1-d "$MB" && lm_slice c1-m 4 || { lm_fail "scratch devices"; lm_exit; }
N=$((MB * 2048))
dmsetup create c1 --table "0 $N livemirror /dev/mapper/c1-m /dev/mapper/c1-s /dev/mapper/c1-d $R"
lm_on_exit "dmsetup remove --retry c1"
lm_ok "first pass synced" lm_wait_state c1 synced 300
for ((i = 0; i < 100; i++)); do [ "$(lm_field c1 dirty)" = 0 ] && break; sleep 0.1; done
lm_eq "bitmap clean before the writer" 0 "$(lm_field c1 dirty)"

cd /tmp || exit 1
fio --name=seq --filename=/dev/mapper/c1 --rw=write --bs=4k --iodepth=32 --direct=1 \
	--ioengine=libaio --size=$((MB * 1024 * 1024)) --time_based --runtime="$SECS" \
	--output="$(mktemp /run/c1-fio.XXXXXX)" >/dev/null 2>&1 &
fpid=$!
nretry=0
while kill -0 $fpid 2>/dev/null; do
	dmsetup message c1 0 retry && nretry=$((nretry + 1))
	sleep 0.02
done
wait $fpid
lm_diag "retry sent $nretry times during the writer; status $(lm_info c1)"
lm_wait_state c1 synced 300
sleep 5	# the lazy clear (2-3 s of idle groups)
lm_diag "status after synced + 5 s: $(lm_info c1)"
dmsetup suspend c1
out=$("$SIO" compare /dev/mapper/c1-s /dev/mapper/c1-d "$R" /dev/mapper/c1-m)
rc=$?
lm_diag "suspended: $(lm_info c1)"
echo "$out"
lm_eq "legs identical after the sequential writer and retries, synced + suspend" 0 "$rc"
dmsetup resume c1
lm_exit
