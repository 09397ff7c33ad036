#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A live LV migration as an LVM hypervisor host would do it: an LV in one
# volume group holds a mounted ext4 that a writer keeps changing; the helper
# moves the LV's live dm device to an LV of the same size in another volume
# group (metadata on a small LV sized with 'metadata measure'), switches while
# the writer runs, and the data is then checked on the destination LV alone.
. "$(dirname "$0")/lib.sh"
lm_require_guest
lm_plan 12
LM=$LM_HELPER
lm_load_modules || { lm_fail "modules load"; lm_exit; }
lm_lvm_setup
modprobe loop

# Two "disks" on separate backing files: loop devices over tmpfs files.
for i in 1 2; do
	truncate -s 200M /tmp/pv$i.img
	loop[i]=$(losetup --find --show /tmp/pv$i.img) || { lm_fail "loop device"; lm_exit; }
	lm_on_exit "losetup -d ${loop[i]}; rm -f /tmp/pv$i.img"
done
lm_on_exit "vgremove -f -q vg_old vg_new"
lm_ok "two volume groups on separate disks" bash -c "
	pvcreate -q ${loop[1]} ${loop[2]} && vgcreate -q vg_old ${loop[1]} && vgcreate -q vg_new ${loop[2]}"
lvcreate -q -y -L 96M -n vmdisk vg_old && lvcreate -q -y -L 96M -n vmdisk vg_new || { lm_fail "LVs"; lm_exit; }
need=$($LM metadata measure --source /dev/vg_old/vmdisk | sed -n 's/^bytes=//p')
lm_ok "metadata size measured ($need bytes) and its LV created" \
	lvcreate -q -y -L "$(( (need + 1048575) / 1048576 ))M" -n vmdisk_meta vg_new

mkfs.ext4 -q -E nodiscard /dev/vg_old/vmdisk && mkdir -p /tmp/vm && mount /dev/vg_old/vmdisk /tmp/vm ||
	{ lm_fail "mkfs/mount"; lm_exit; }
lm_on_exit "umount /tmp/vm"
for i in $(seq 1 12); do head -c 512K /dev/urandom >/tmp/vm/base$i; done
sync

# Writer: keeps creating and rewriting files (their final checksums kept
# outside the fs) and runs whole fio write+verify passes on a file.
rm -f /tmp/stop /tmp/files.md5
(
	n=0
	while [ ! -e /tmp/stop ]; do
		n=$((n + 1))
		f=/tmp/vm/gen$((n % 9))
		head -c $((64 * (n % 7 + 1)))K /dev/urandom >"$f.tmp" && mv "$f.tmp" "$f" || exit 1
		sync "$f" 2>/dev/null
	done
) &
files_writer=$!
(
	while [ ! -e /tmp/stop ]; do
		fio --name=lv --filename=/tmp/vm/fio.dat --size=8M --rw=randwrite --bs=4k \
			--ioengine=psync --direct=1 --verify=crc32c --do_verify=1 --fsync=16 --verify_state_save=0 \
			--output=/tmp/fio-lv.log >/dev/null 2>&1 || exit 1
	done
) &
fio_writer=$!
sleep 2

src_dm=$(dmsetup info -c --noheadings -o name /dev/vg_old/vmdisk)
lm_ok "livemirror start under the mounted LV ($src_dm)" \
	$LM start "$src_dm" --meta /dev/vg_new/vmdisk_meta --dest /dev/vg_new/vmdisk --throttle 32
lm_ok "the LV's own dm device now runs livemirror" bash -c "dmsetup table $src_dm | grep -q livemirror"
lm_ok "the migration reaches synced while the writers run" $LM wait "$src_dm" --timeout 300
sw_out=$($LM switch "$src_dm" 2>&1)
lm_eq "switch while the writers run" 0 $?
lm_diag "$sw_out"
lm_ok "switch retires the old LV in LVM's metadata (the fence)" \
	bash -c "grep -q 'retired as vg_old/vmdisk_livemirror_stale' <<<\"\$1\" &&
		lvs vg_old/vmdisk_livemirror_stale >/dev/null 2>&1" _ "$sw_out"
sleep 3
touch /tmp/stop
wait $files_writer; frc=$?
wait $fio_writer; wrc=$?
lm_eq "the writers saw no error (files, fio verify)" "0 0" "$frc $wrc"
(cd /tmp/vm && md5sum base* gen*) >/tmp/files.md5
umount /tmp/vm

old_pv=$(lsblk -dno MAJ:MIN "${loop[1]}" | tr -d ' ')
lm_not "after the switch no dm table maps the old volume group's disk ($old_pv)" \
	bash -c "dmsetup table | grep -q ' $old_pv '"
lm_ok "fsck -fn is clean on the destination LV" fsck.ext4 -fn /dev/vg_new/vmdisk
# The destination LV alone: take the migrated device away, then mount it.
dmsetup remove "$src_dm"
mount /dev/vg_new/vmdisk /tmp/vm || { lm_fail "mount destination LV"; lm_exit; }
lm_ok "every file's checksum matches on the destination LV" bash -c "cd /tmp/vm && md5sum -c --quiet /tmp/files.md5"
lm_ok "fio --verify_only passes on the destination LV" fio --name=lv --filename=/tmp/vm/fio.dat --size=8M \
	--rw=randwrite --bs=4k --ioengine=psync --direct=1 --eta=never --verify=crc32c --verify_only=1 --verify_state_save=0 --aux-path=/tmp --output=/tmp/fio-v.log
umount /tmp/vm
lm_exit
