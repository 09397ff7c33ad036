#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The demo that `make demo` runs inside the guest: a VM-style disk holding a
# mounted ext4 that a writer keeps changing is moved to new storage while it
# is in use; then the switch; then the data is checked on the new storage
# alone.
set -uo pipefail
. "$(dirname "$0")/../testing/selftests/livemirror/lib.sh"
LM=$LM_HELPER
step() { printf '\n=== %s\n' "$*"; }
die() { echo "demo: $*" >&2; lm_run_cleanups; exit 1; }

step "Loading dm-dirtylog and dm-livemirror"
lm_load_modules || die "cannot load the modules"
lm_slice demo-old 192 && lm_slice demo-new 192 && lm_slice demo-meta 1 || die "no scratch devices"

step "A 'VM disk' on the old storage: ext4, mounted, with files"
dmsetup create vmdisk --table "0 $(lm_dev_sectors /dev/mapper/demo-old) linear /dev/mapper/demo-old 0" || die "vmdisk"
lm_on_exit "dmsetup remove --retry vmdisk"
mkfs.ext4 -q -E nodiscard /dev/mapper/vmdisk || die mkfs
mkdir -p /tmp/vm && mount /dev/mapper/vmdisk /tmp/vm || die mount
lm_on_exit "umount /tmp/vm"
for i in $(seq 1 20); do head -c 1M /dev/urandom >/tmp/vm/file$i; done
(cd /tmp/vm && md5sum file*) >/tmp/demo.md5
sync
echo "20 files written; checksums recorded"

step "A writer keeps changing the disk (fio, crc32c-verified data)"
# Whole passes, each writing every block once in random order and reading it
# back; a pass is never cut short, so the file always verifies as a whole.
FIOJOB=(--name=vmwriter --filename=/tmp/vm/fio.dat --size=16M --rw=randwrite --bs=4k
	--ioengine=psync --direct=1 --verify=crc32c --fsync=32 --verify_state_save=0 --aux-path=/tmp)
rm -f /tmp/demo.stop
(passes=0; while [ ! -e /tmp/demo.stop ]; do
	fio "${FIOJOB[@]}" --do_verify=1 --output=/tmp/fio-pass.log >/dev/null 2>&1 ||
		{ echo "writer: fio pass failed"; cat /tmp/fio-pass.log; exit 1; }
	passes=$((passes + 1))
done; echo "writer: $passes full write+verify passes, no error") &
writer=$!
sleep 3

step "livemirror start: move vmdisk to the new storage while it is mounted and written"
$LM start vmdisk --meta /dev/mapper/demo-meta --dest /dev/mapper/demo-new --throttle 16 ||
	die "start failed"
dmsetup table vmdisk

step "Progress"
for _ in $(seq 1 240); do
	$LM status vmdisk
	[ "$(lm_field vmdisk state)" = synced ] && break
	sleep 2
done
[ "$(lm_field vmdisk state)" = synced ] || die "did not reach synced"
echo "(every write now goes to both storages; the writer is still running)"
sleep 3

step "livemirror switch: suspend, check in sync, record the decision, go to the new storage"
$LM switch vmdisk || die "switch failed"
echo "vmdisk's table now (the destination alone):"
dmsetup table vmdisk
dmsetup ls | grep -q lmsrc && echo "(hidden source device still present)" || echo "(the hidden source device is gone)"
sleep 3

step "Stop the writer and check its data"
touch /tmp/demo.stop
wait $writer || die "the writer saw an error"
umount /tmp/vm
dmsetup remove vmdisk

step "The new storage alone (vmdisk removed): fsck, checksums, fio verify"
fsck.ext4 -fn /dev/mapper/demo-new >/tmp/fsck.log 2>&1 && echo "fsck: clean" || { cat /tmp/fsck.log; die "fsck found problems"; }
mount -o ro /dev/mapper/demo-new /tmp/vm || die "mount new"
(cd /tmp/vm && md5sum -c --quiet /tmp/demo.md5) && echo "20 files: checksums match" || die "checksum mismatch"
fio "${FIOJOB[@]}" --verify_only=1 --output=/tmp/fio-verify.log >/dev/null 2>&1 &&
	echo "fio --verify_only on the new storage: all blocks verify" ||
	{ cat /tmp/fio-verify.log; die "fio verify failed"; }
umount /tmp/vm
step "Done: vmdisk now lives on the new storage, and nobody had to close it."
lm_run_cleanups
