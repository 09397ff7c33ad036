#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The demo that `make demo` runs inside the guest: the job a hypervisor host
# has.  A VM disk is an LV in one volume group, holding a mounted ext4 that a
# writer keeps changing; it moves to an LV in another volume group while in
# use, switches over, and the data is then checked on the new LV alone.
set -uo pipefail
. "$(dirname "$0")/../testing/selftests/livemirror/lib.sh"
LM=$LM_HELPER
step() { printf '\n=== %s\n' "$*"; }
die() { echo "demo: FAILED: $*" >&2; touch /tmp/demo.stop; lm_run_cleanups; exit 1; }

step "Loading dm-dirtylog and dm-livemirror; two disks, two volume groups"
lm_load_modules || die "cannot load the modules"
lm_lvm_setup
modprobe loop
for i in 1 2 3; do
	truncate -s 300M /tmp/disk$i.img
	disk[i]=$(losetup --find --show /tmp/disk$i.img) || die "loop device"
	lm_on_exit "losetup -d ${disk[i]}"
done
lm_on_exit "vgremove -f -q vg_old vg_new"
pvcreate -q "${disk[1]}" "${disk[2]}" "${disk[3]}" && vgcreate -q vg_old "${disk[1]}" "${disk[3]}" &&
	vgcreate -q vg_new "${disk[2]}" || die "VGs"
lvcreate -q -y -L 192M -n vmdisk vg_old "${disk[1]}" || die "source LV"
lvs -o lv_name,vg_name,lv_size,devices

step "The VM disk vg_old/vmdisk: ext4, mounted, with files and a writer"
mkfs.ext4 -q -E nodiscard /dev/vg_old/vmdisk || die mkfs
mkdir -p /tmp/vm && mount /dev/vg_old/vmdisk /tmp/vm || die mount
lm_on_exit "umount /tmp/vm"
for i in $(seq 1 20); do head -c 1M /dev/urandom >/tmp/vm/file$i; done
(cd /tmp/vm && md5sum file*) >/tmp/demo.md5
sync
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
echo "20 files written (checksums recorded); fio keeps rewriting and verifying fio.dat"
sleep 3

step "Size and create the destination LV and the metadata LV in vg_new"
$LM metadata measure --source /dev/vg_old/vmdisk
need=$($LM metadata measure --source /dev/vg_old/vmdisk | sed -n 's/^bytes=//p')
lvcreate -q -y -L 192M -n vmdisk vg_new && lvcreate -q -y -L "$(( (need + 1048575) / 1048576 ))M" -n vmdisk_meta vg_new ||
	die "destination LVs"

step "livemirror start: move vg_old/vmdisk while it is mounted and written"
$LM start vg_old-vmdisk --meta /dev/vg_new/vmdisk_meta --dest /dev/vg_new/vmdisk --throttle 16 ||
	die "start failed"
dmsetup table vg_old-vmdisk

step "Progress"
for _ in $(seq 1 240); do
	$LM status vg_old-vmdisk
	[ "$(lm_field vg_old-vmdisk state)" = synced ] && break
	sleep 3
done
[ "$(lm_field vg_old-vmdisk state)" = synced ] || die "did not reach synced"
echo "(every write now goes to both volume groups; the writer is still running)"
sleep 3

step "livemirror switch: suspend, check in sync, record the decision, go to vg_new"
$LM switch vg_old-vmdisk || die "switch failed"
echo "vg_old-vmdisk's table now (vg_new/vmdisk alone):"
dmsetup table vg_old-vmdisk
echo "LVM's view: the old LV is retired (new name, new uuid, activation skip), so that"
echo "no LVM command can load the old PV's data into vg_old-vmdisk again:"
lvs -o lv_name,vg_name,lv_attr,lv_tags,devices vg_old vg_new
echo "$ lvchange --refresh vg_old/vmdisk"
lvchange --refresh vg_old/vmdisk 2>&1 | sed 's/^/  /'
sleep 3

step "Stop the writer; unmount"
touch /tmp/demo.stop
wait $writer || die "the writer saw an error"
umount /tmp/vm
$LM recover --meta /dev/vg_new/vmdisk_meta

step "livemirror lvm-finish: nothing has vg_old-vmdisk open any more; clean up vg_old"
$LM lvm-finish vg_old/vmdisk --meta /dev/vg_new/vmdisk_meta || die "lvm-finish"
lvs -o lv_name,vg_name,devices vg_old vg_new

step "The new LV alone: fsck, checksums, fio verify"
fsck.ext4 -fn /dev/vg_new/vmdisk >/tmp/fsck.log 2>&1 && echo "fsck -fn: clean" || { cat /tmp/fsck.log; die "fsck found problems"; }
mount /dev/vg_new/vmdisk /tmp/vm || die "mount vg_new/vmdisk"
(cd /tmp/vm && md5sum -c --quiet /tmp/demo.md5) && echo "20 files: checksums match" || die "checksum mismatch"
fio "${FIOJOB[@]}" --verify_only=1 --output=/tmp/fio-verify.log >/dev/null 2>&1 &&
	echo "fio --verify_only: every block of fio.dat verifies" ||
	{ cat /tmp/fio-verify.log; die "fio verify failed"; }
umount /tmp/vm

step "A move within one VG: livemirror lvmove ends as pvmove ends"
lvcreate -q -y -L 64M -n data vg_old "${disk[1]}" || die "LV data"
dd if=/dev/urandom of=/dev/vg_old/data bs=1M count=64 oflag=direct status=none
sum=$(md5sum </dev/vg_old/data)
echo "before:"
lvs -o lv_name,vg_name,devices vg_old
sleep 600 </dev/vg_old/data &	# a user that keeps it open throughout
holder=$!
$LM lvmove vg_old/data "${disk[3]}" || die "lvmove"
echo "after (the LV's table is LVM's own linear mapping over the new PV):"
lvs -a -o lv_name,vg_name,devices vg_old
dmsetup table vg_old-data
pvs -o pv_name,vg_name,pv_used "${disk[1]}" "${disk[3]}"
[ "$(md5sum </dev/vg_old/data)" = "$sum" ] && echo "data: checksum matches" || die "data differs"
echo "LVM's commands treat it as any LV now:"
for c in "lvchange --refresh vg_old/data" "vgchange --refresh vg_old" "pvmove ${disk[1]}"; do
	echo "\$ $c"
	$c 2>&1 | grep -v -e 'leaked on' -e WARNING | sed 's/^/  /'
done
kill $holder
wait $holder 2>/dev/null
echo "\$ lvchange -an vg_old/data; lvchange -aey vg_old/data"
lvchange -an vg_old/data && lvchange -aey vg_old/data || die "reactivation"
dmsetup table vg_old-data
[ "$(md5sum </dev/vg_old/data)" = "$sum" ] && echo "data: checksum still matches" ||
	die "data differs after the LVM commands"
step "Done: one VM disk moved to another VG and one LV to another PV, while in use."
echo "See Documentation/livemirror-lvm.rst."
lm_run_cleanups
