#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# livemirror lvmove (issue 16 item 2): an LV of one VG, a mounted ext4 that a
# writer keeps changing, is moved onto another PV of the same VG and must end
# as pvmove ends: lvs -o +devices names the new PV, the old extents are free,
# the LV's table is LVM's own linear mapping (no livemirror layer, no stacked
# device, no helper LVs left), the files' checksums match, and LVM commands
# behave as for any LV.  Then kills of lvmove at its steps and inside the
# switch's LVM part; the same lvmove run again finishes, with the data intact.
. "$(dirname "$0")/lib.sh"
lm_require_guest
# LM_LVMOVE_KILLS: all (make lvm-kills), or the steps to kill at; default
# the one of make check (the group above is killed at its commit too).
case "${LM_LVMOVE_KILLS:-}" in
'') steps="after-swap" ;;
all) steps="after-alloc-dest after-alloc-meta after-start after-arm-0 after-suspend after-commit \
	after-resume after-unstack before-swap after-swap after-refresh after-lvremove after-unfence \
	after-scrub" ;;
*) steps=$LM_LVMOVE_KILLS ;;
esac
nkills=$(wc -w <<<"$steps")
lm_plan $((37 + nkills))
LM=$LM_HELPER
H=$LM_HELPER_TEST
lm_load_modules || { lm_fail "modules load"; lm_exit; }
lm_lvm_setup
modprobe loop

for i in 1 2; do
	truncate -s 400M /run/mpv$i.img
	loop[i]=$(losetup --find --show /run/mpv$i.img) || { lm_fail "loop device"; lm_exit; }
	lm_on_exit "losetup -d ${loop[i]}; rm -f /run/mpv$i.img"
done
lm_on_exit "vgremove -f -q vg >/dev/null 2>&1"
lm_on_exit "dmsetup remove_all >/dev/null 2>&1"
q() { "$@" >/dev/null 2>&1; }
q pvcreate -q "${loop[1]}" "${loop[2]}" && q vgcreate -q vg "${loop[1]}" "${loop[2]}" ||
	{ lm_fail "VG"; lm_exit; }
new_pv=$(lsblk -dno MAJ:MIN "${loop[2]}" | tr -d ' ')
old_pv=$(lsblk -dno MAJ:MIN "${loop[1]}" | tr -d ' ')
sum() { dd if="$1" bs=1M iflag=direct status=none | md5sum | cut -d' ' -f1; }
# ends_like_pvmove LV: LVM's metadata and the kernel agree on the new PV.
ends_like_pvmove() {
	local lv=$1
	lvs --noheadings -o devices "vg/$lv" 2>/dev/null | grep -q "${loop[2]}" &&
		! lvs --noheadings -o devices "vg/$lv" 2>/dev/null | grep -q "${loop[1]}" &&
		dmsetup table "vg-$lv" | grep -q "^0 [0-9]* linear $new_pv " &&
		! dmsetup ls | grep -q "$lv-lmsrc\|${lv}_lmdst\|${lv}_lmmeta" &&
		! lvs --noheadings -o lv_name vg 2>/dev/null | grep -q "${lv}_lm" &&
		[ -z "$(lvs --noheadings -o lv_tags "vg/$lv" 2>/dev/null | tr -d ' ')" ] &&
		! lvs --noheadings -o lv_attr "vg/$lv" 2>/dev/null | grep -q 'k *$'
}

# ---- the move of a mounted, written ext4 -----------------------------------
q lvcreate -q -y -L 64M -n vmdisk vg "${loop[1]}" || { lm_fail "LV"; lm_exit; }
mkfs.ext4 -q -E nodiscard /dev/vg/vmdisk && mkdir -p /run/vm && mount /dev/vg/vmdisk /run/vm ||
	{ lm_fail "mkfs/mount"; lm_exit; }
lm_on_exit "umount /run/vm 2>/dev/null"
for i in $(seq 1 8); do head -c 512K /dev/urandom >/run/vm/base$i; done
sync
rm -f /run/stop
(
	n=0
	while [ ! -e /run/stop ]; do
		n=$((n + 1))
		f=/run/vm/gen$((n % 9))
		head -c $((64 * (n % 7 + 1)))K /dev/urandom >"$f.tmp" && mv "$f.tmp" "$f" || exit 1
		sync "$f" 2>/dev/null
	done
) &
writer=$!
(
	while [ ! -e /run/stop ]; do
		fio --name=lv --filename=/run/vm/fio.dat --size=8M --rw=randwrite --bs=4k \
			--ioengine=psync --direct=1 --verify=crc32c --do_verify=1 --fsync=16 \
			--verify_state_save=0 --output=/run/fio-mv.log >/dev/null 2>&1 || exit 1
	done
) &
fiow=$!
sleep 2
mvout=$($LM lvmove vg/vmdisk "${loop[2]}" --throttle 32 2>&1)
lm_eq "lvmove vg/vmdisk onto the other PV while the writers run" 0 $?
lm_diag "$mvout"
sleep 2
touch /run/stop
wait $writer; wr=$?
wait $fiow; fr=$?
lm_eq "the writers saw no error (files, fio verify)" "0 0" "$wr $fr"
lm_ok "it ends like pvmove: lvs names the new PV, LVM's own linear table, nothing left" \
	ends_like_pvmove vmdisk
lm_eq "the old PV's extents are free" 0 \
	"$(pvs --noheadings --units s --nosuffix -o pv_used "${loop[1]}" | tr -d ' ')"
lm_eq "no table maps the old PV" "" "$(dmsetup table | grep " $old_pv " | head -1)"
# lvcreate wipes only 4 KiB of a new LV: a log left on the freed extents of
# vmdisk_lmmeta would be refused by a later start on an LV there.
lm_eq "no livemirror superblock is left on either PV (the log is zeroed before its lvremove)" 0 \
	"$(cat /run/mpv1.img /run/mpv2.img | grep -a -c -F LMIRROR1)"
(cd /run/vm && md5sum base* gen*) >/run/files.md5
# LVM commands on the moved LV, as on any LV
q lvchange --refresh vg/vmdisk
lm_ok "lvchange --refresh: files intact" bash -c "cd /run/vm && md5sum -c --quiet /run/files.md5"
umount /run/vm
lm_ok "fsck -fn is clean" fsck.ext4 -fn /dev/vg/vmdisk
before=$(sum /dev/vg/vmdisk)
lm_ok "lvchange -an, then -aey, as for any LV" bash -c "lvchange -an vg/vmdisk && lvchange -aey vg/vmdisk"
lm_eq "same data after deactivation and activation" "$before" "$(sum /dev/vg/vmdisk)"
lm_ok "vgchange --refresh, pvscan --cache -aay" bash -c "vgchange --refresh vg && pvscan --cache -aay >/dev/null"
lm_ok "lvextend works on it" lvextend -q -L +8M vg/vmdisk "${loop[2]}"
lm_ok "a snapshot works on it" bash -c "lvcreate -q -s -L 8M -n snap vg/vmdisk && lvremove -q -y vg/snap"
before=$(sum /dev/vg/vmdisk)
lm_ok "vgchange -an, vgchange -ay and lvchange -ay, as for any LV" \
	bash -c "{ vgchange -an vg && vgchange -ay vg && lvchange -ay vg/vmdisk; } >/dev/null 2>&1"
lm_eq "same data after the VG's deactivation and activation" "$before" "$(sum /dev/vg/vmdisk)"
lm_ok "pvmove of the old PV finds nothing of the LV to move" \
	bash -c "pvmove -i0 \"\$1\" 2>&1 | grep -q 'No data to move'" _ "${loop[1]}"
# An up-convert to raid1 with a leg on the old PV, and the split back: the
# leg that stays is the new PV's.  (The debug kernel's config has no dm-raid.)
if ! modprobe dm-raid 2>/dev/null; then
	lm_skip "lvconvert to raid1 onto the old PV and back to linear: this kernel has no dm-raid"
	lm_skip "same data after lvconvert, the old PV free again: no dm-raid"
else
	lm_ok "lvconvert to raid1 onto the old PV and back to linear" \
		bash -c "{ lvconvert -y --type raid1 -m1 vg/vmdisk \"\$1\" &&
			for i in \$(seq 1 240); do
				[ \"\$(lvs --noheadings -o sync_percent vg/vmdisk | tr -d ' ')\" = 100.00 ] && break
				sleep 0.5
			done && lvconvert -y -m0 vg/vmdisk \"\$1\"; } >/dev/null 2>&1" _ "${loop[1]}"
	lm_eq "same data after lvconvert, the old PV free again" "$before 0" \
		"$(sum /dev/vg/vmdisk) $(pvs --noheadings --units s --nosuffix -o pv_used "${loop[1]}" | tr -d ' ')"
fi
mount /dev/vg/vmdisk /run/vm && lm_ok "every file's checksum matches after all that" \
	bash -c "cd /run/vm && md5sum -c --quiet /run/files.md5"
lm_ok "fio --verify_only passes" fio --name=lv --filename=/run/vm/fio.dat --size=8M \
	--rw=randwrite --bs=4k --ioengine=psync --direct=1 --eta=never --verify=crc32c \
	--verify_only=1 --verify_state_save=0 --aux-path=/run --output=/run/fio-v.log
umount /run/vm

# ---- --json, and bad input -------------------------------------------------
q lvcreate -q -y -L 16M -n j vg "${loop[1]}" &&
	dd if=/dev/urandom of=/dev/vg/j bs=1M count=16 oflag=direct status=none
want=$(sum /dev/vg/j)
js=$($LM lvmove vg/j "${loop[2]}" --json 2>/dev/null)
lm_ok "lvmove --json: one versioned object, outcome moved" \
	bash -c "grep -q '\"schema\":1,\"command\":\"lvmove\".*\"outcome\":\"moved\"' <<<\"\$1\"" _ "$js"
lm_eq "... data intact" "$want" "$(sum /dev/vg/j)"
expect_rc "lvmove of a missing LV (exit 5)" 5 $LM lvmove vg/nosuch "${loop[2]}"
expect_rc "lvmove with no VG/ (exit 2)" 2 $LM lvmove nosuch "${loop[2]}"
q lvchange -an vg/j
expect_rc "lvmove of an inactive LV: use pvmove (exit 5)" 5 $LM lvmove vg/j "${loop[1]}"

# ---- a group: two LVs switched at one point --------------------------------
q lvcreate -q -y -L 16M -n g1 vg "${loop[1]}" && q lvcreate -q -y -L 8M -n g2 vg "${loop[1]}" &&
	dd if=/dev/urandom of=/dev/vg/g1 bs=1M count=16 oflag=direct status=none &&
	dd if=/dev/urandom of=/dev/vg/g2 bs=1M count=8 oflag=direct status=none
w1=$(sum /dev/vg/g1) w2=$(sum /dev/vg/g2)
# group_ok LV1 LV2 "SUM1 SUM2": both moved like pvmove, with their data.
group_ok() {
	ends_like_pvmove "$1" && ends_like_pvmove "$2" &&
		[ "$(sum "/dev/vg/$1") $(sum "/dev/vg/$2")" = "$3" ]
}
js=$($LM lvmove vg/g1 vg/g2 "${loop[2]}" --json 2>/dev/null)
lm_ok "lvmove vg/g1 vg/g2: one group switch, both moved (--json lists both)" \
	bash -c "grep -q '\"outcome\":\"moved\".*\"lvs\":\[{\"lv\":\"vg/g1\".*\"lv\":\"vg/g2\"' <<<\"\$1\"" _ "$js"
lm_ok "... both end like pvmove, data intact" group_ok g1 g2 "$w1 $w2"
# killed at the group's commit: the same command again finishes both
q lvcreate -q -y -L 8M -n g3 vg "${loop[1]}" && q lvcreate -q -y -L 8M -n g4 vg "${loop[1]}" &&
	dd if=/dev/urandom of=/dev/vg/g3 bs=1M count=8 oflag=direct status=none &&
	dd if=/dev/urandom of=/dev/vg/g4 bs=1M count=8 oflag=direct status=none
w3=$(sum /dev/vg/g3) w4=$(sum /dev/vg/g4)
LIVEMIRROR_CRASH_AT=after-commit "$H" lvmove vg/g3 vg/g4 "${loop[2]}" >/dev/null 2>&1
rc=$?
out=$($LM lvmove vg/g3 vg/g4 "${loop[2]}" 2>&1)
if [ $rc = 99 ] && group_ok g3 g4 "$w3 $w4"; then
	lm_pass "a group killed at its commit, lvmove again: both moved, data intact"
else
	lm_fail "a group killed at its commit (exit $rc), lvmove again: both moved, data intact"
	lm_diag "$out" "$(lvs -a -o +devices,tags vg 2>&1)"
fi
expect_rc "a group across VGs: refused" 2 $LM lvmove vg/g3 other/x "${loop[2]}"
expect_rc "no PV given: refused" 2 $LM lvmove vg/g3 vg/g4

# ---- --throttle, pause and resume while lvmove waits, progress --------------
# A 16 MiB LV at 1 MiB/s copies for about 16 s: time to pause and resume the
# migration under lvmove, which must wait through it and then finish.
q lvcreate -q -y -L 16M -n t vg "${loop[1]}" &&
	dd if=/dev/urandom of=/dev/vg/t bs=1M count=16 oflag=direct status=none ||
	lm_fail "throttle LV"
tw=$(sum /dev/vg/t)
$LM lvmove vg/t "${loop[2]}" --throttle 1 >/run/t-lvmove.out 2>&1 &
mvpid=$!
copying() {
	dmsetup table vg-t 2>/dev/null | grep -q ' livemirror ' &&
		[ "$(lm_field vg-t state)" = copying ]
}
for ((i = 0; i < 600; i++)); do copying && break; sleep 0.1; done
lm_eq "lvmove --throttle 1: the migration's table copies at 1 MiB/s" "copying 1" \
	"$(lm_field vg-t state) $(lm_field vg-t throttle)"
pct() { $LM status vg-t --json 2>/dev/null | grep -o '"percent":[0-9.]*' | cut -d: -f2; }
for ((i = 0; i < 100; i++)); do [ "$(pct)" != 0.00 ] && break; sleep 0.1; done
q $LM pause vg-t
p1=$(lm_named vg-t copied_bytes) c1=$(pct)
sleep 2
p2=$(lm_named vg-t copied_bytes) c2=$(pct)
lm_eq "pause during lvmove: state paused, no byte copied in 2 s" "paused ${p1:-none}" \
	"$(lm_field vg-t state) ${p2:-unread}"
lm_ok "status --json shows the progress part way ($c1 % = $c2 %)" \
	python3 -c "import sys; a, b = float('$c1'), float('$c2'); sys.exit(not (0 < a < 100 and a == b))"
lm_ok "lvmove is still waiting while paused" kill -0 $mvpid
q $LM resume vg-t
wait $mvpid
rc=$?
lm_eq "resume: lvmove finishes (exit 0)" 0 $rc
[ "$rc" = 0 ] || sed 's/^/#   /' /run/t-lvmove.out
lm_ok "... it ends like pvmove" ends_like_pvmove t
lm_eq "... with the data intact" "$tw" "$(sum /dev/vg/t)"

# ---- kills at lvmove's steps and in the switch's LVM part -------------------
# kill_at STEP N: a fresh LV moved with a kill at STEP; lvmove again finishes.
kill_at() {
	local step=$1 lv=k$2 w="" rc
	q lvcreate -q -y -L 16M -n "$lv" vg "${loop[1]}" &&
		dd if=/dev/urandom of="/dev/vg/$lv" bs=1M count=16 oflag=direct status=none ||
		{ lm_fail "$step: setup"; return; }
	sleep 600 <"/dev/mapper/vg-$lv" &	# the VM holds it open throughout
	local holder=$!
	LIVEMIRROR_CRASH_AT=$step "$H" lvmove "vg/$lv" "${loop[2]}" >/dev/null 2>&1
	rc=$?
	# After the swap the destination LV's metadata names the old extents:
	# a refresh of it (an admin, a tool) must not reach the VM's device.
	[ "$step" = after-swap ] && q lvchange --refresh "vg/${lv}_lmdst"
	# the VM writes after the kill (unless the kill left it suspended: then
	# the re-run's recover resumes it first); a re-run must keep them
	if ! dmsetup info "vg-$lv" | grep -q SUSPENDED; then
		dd if=/dev/urandom of="/dev/mapper/vg-$lv" bs=1M count=2 oflag=direct status=none
		w=$(sum "/dev/mapper/vg-$lv")
	fi
	OUT2=$($LM lvmove "vg/$lv" "${loop[2]}" 2>&1)
	[ -n "$w" ] || w=$(sum "/dev/vg/$lv")
	if [ "$rc" = 99 ] && ends_like_pvmove "$lv" && [ "$(sum "/dev/mapper/vg-$lv")" = "$w" ]; then
		lm_pass "killed at $step, lvmove again: ends like pvmove, data intact"
	else
		lm_fail "killed at $step (exit $rc), lvmove again: not finished or data differs"
		printf '#   %s\n' "$OUT2" "$(dmsetup table "vg-$lv")" "$(lvs -a -o +devices,tags vg 2>&1)" \
			"$(dmsetup ls)" "want $w got $(sum "/dev/mapper/vg-$lv")"
	fi
	kill $holder 2>/dev/null
	wait $holder 2>/dev/null
}
# Each kill costs about two minutes under TCG: make check runs one of the
# fourteen steps, LM_LVMOVE_KILLS=all (make lvm-kills) every one.
n=0
for step in $steps; do
	n=$((n + 1))
	kill_at $step $n
done
lm_exit
