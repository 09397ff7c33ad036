#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Shared VGs with a real lvmlockd (issue 16 item 5; livemirror-lvm.rst,
# "Shared VGs").  sanlock (without a watchdog: -w 0, a test guest has none)
# and lvmlockd run in the guest; a VG created --shared on a loop device
# holds the VM's LV.  'start' under it, activated exclusively (-aey) and
# then shared (-asy), and 'lvmove' of it must be refused with exit 4 and a
# message that names lvmlockd, and leave the LV's table and the VG as they
# were.  A migration in a local VG beside it switches as usual.
# helper-lvm-fence.sh covers the switch's refusal, which a real
# lockd cannot reach (start refuses first), with a wrapper of lvm.
. "$(dirname "$0")/lib.sh"
lm_require_guest
LM=$LM_HELPER
q() { "$@" >/dev/null 2>&1; }

command -v lvmlockd >/dev/null && command -v sanlock >/dev/null ||
	{ echo "1..0 # SKIP lvmlockd or sanlock is not installed (make deps)"; exit 0; }
lm_plan 10
lm_load_modules || { lm_fail "modules load"; lm_exit; }
modprobe loop
lm_lvm_setup
cat >>/etc/lvm/lvmlocal.conf <<'CONF'
local { host_id = 1 }
CONF
sed -i 's/^global { use_lvmpolld = 0 }$/global { use_lvmpolld = 0 use_lvmlockd = 1 }/' /etc/lvm/lvm.conf
lm_on_exit "sed -i 's/ use_lvmlockd = 1//' /etc/lvm/lvm.conf"
mkdir -p /run/sanlock /run/lvm
sanlock daemon -w 0 -U root -G root
lvmlockd
lm_on_exit "sanlock shutdown -f 1 >/dev/null 2>&1"
lm_on_exit "lvmlockctl --stop-lockspaces >/dev/null 2>&1; pkill -x lvmlockd"
for i in 1 2 3; do
	truncate -s 600M /run/lkd$i.img
	loop[i]=$(losetup --find --show /run/lkd$i.img) || { lm_fail "loop device"; lm_exit; }
	lm_on_exit "losetup -d ${loop[i]}; rm -f /run/lkd$i.img"
done
lm_on_exit "rm -rf /dev/vg_sh /dev/vg_loc /run/lkd-data"
lm_on_exit "dmsetup remove_all >/dev/null 2>&1"
lm_on_exit "vgremove -f -q vg_loc >/dev/null 2>&1"
lm_on_exit "lvchange -an vg_sh/vmdisk >/dev/null 2>&1; vgremove -f -q vg_sh >/dev/null 2>&1"
t=$SECONDS
# The first sanlock VG creates the global lock, so it comes first, with
# vgcreate's own pvcreate (pvcreate needs that lock).
out=$(vgcreate -q --shared vg_sh "${loop[1]}" "${loop[2]}" 2>&1 &&
	pvcreate -q "${loop[3]}" 2>&1 &&
	lvcreate -q -y -an -Zn -L 16M -n vmdisk vg_sh "${loop[1]}" 2>&1 &&
	vgcreate -q vg_loc "${loop[3]}" 2>&1 &&
	lvcreate -q -y -L 16M -n dst vg_loc 2>&1 && lvcreate -q -y -L 4M -n meta vg_loc 2>&1)
lm_eq "a shared VG (sanlock) with lvmlockd, a local VG beside it ($((SECONDS - t)) s)" \
	sanlock "$(vgs --noheadings -o vg_lock_type vg_sh 2>/dev/null | tr -d ' ')"
# (the guest runner fails a run whose console says "WARNING:", as the kernel does)
{ echo "$out"; lvmlockctl -i 2>&1 | head -8; } | sed -e 's/^/#   /' -e 's/WARNING:/(lvm) warning:/'
dd if=/dev/zero of=/dev/vg_loc/meta bs=1M count=4 oflag=direct status=none

# refused_start DESC: start under vg_sh-vmdisk must refuse and change nothing.
refused_start() {
	local err rc
	err=$("$LM" start vg_sh-vmdisk --meta /dev/vg_loc/meta --dest /dev/vg_loc/dst 2>&1)
	rc=$?
	lm_ok "$1: start refused (exit $rc), naming lvmlockd and the doc" \
		bash -c "[ $rc = 4 ] && grep -q 'shared VG (lvmlockd, lock type sanlock)' <<<\"\$1\" &&
			grep -q livemirror-lvm.rst <<<\"\$1\"" _ "$err"
	[ $rc = 4 ] || sed 's/^/#   /' <<<"$err"
	lm_ok "$1: the LV's table is still LVM's linear one, the metadata untouched" \
		bash -c "dmsetup table vg_sh-vmdisk | grep -q ' linear ' &&
			[ \"\$(head -c 1M /dev/vg_loc/meta | tr -d '\\0' | wc -c)\" = 0 ]"
}

dd if=/dev/urandom of=/run/lkd-data bs=1M count=16 status=none
out=$(lvchange -aey vg_sh/vmdisk 2>&1) &&
	dd if=/run/lkd-data of=/dev/vg_sh/vmdisk bs=1M oflag=direct status=none
lm_eq "exclusive activation (-aey) of vg_sh/vmdisk, data written" 0 $?
[ -n "$out" ] && sed 's/^/#   /' <<<"$out"
refused_start "-aey"
q lvchange -an vg_sh/vmdisk
out=$(lvchange -asy vg_sh/vmdisk 2>&1)
lm_eq "shared activation (-asy) of vg_sh/vmdisk" 0 $?
[ -n "$out" ] && sed 's/^/#   /' <<<"$out"
refused_start "-asy"
q lvchange -an vg_sh/vmdisk
q lvchange -aey vg_sh/vmdisk
err=$("$LM" lvmove vg_sh/vmdisk "${loop[2]}" 2>&1)
rc=$?
lm_ok "lvmove in the shared VG: refused (exit $rc), naming pvmove instead; nothing allocated, data intact" \
	bash -c "[ $rc = 4 ] && grep -q 'shared VG (lock type sanlock)' <<<\"\$1\" && grep -q pvmove <<<\"\$1\" &&
		! lvs --noheadings -o lv_name vg_sh 2>/dev/null | grep -q 'vmdisk_lm' &&
		cmp -s /run/lkd-data /dev/vg_sh/vmdisk" _ "$err"
[ $rc = 4 ] || sed 's/^/#   /' <<<"$err"

# A host with lvmlockd also has local VGs: a migration in one still
# switches, its fence (LVM commands run --nolocking under the helper's VG
# lock) working beside lvmlockd.
out=$(lvcreate -q -y -L 16M -n vm vg_loc 2>&1 &&
	dd if=/run/lkd-data of=/dev/vg_loc/vm bs=1M oflag=direct status=none 2>&1 &&
	"$LM" start vg_loc-vm --meta /dev/vg_loc/meta --dest /dev/vg_loc/dst 2>&1 &&
	"$LM" wait vg_loc-vm --timeout 300 2>&1 && "$LM" switch vg_loc-vm 2>&1)
lm_eq "an LV of the local VG beside it: start, wait, switch" 0 $?
sed 's/^/#   /' <<<"$out"
lm_ok "... the old LV fenced by LVM's metadata, the device serves the data from the destination" \
	bash -c "lvs --noheadings -o lv_name,lv_tags vg_loc | grep -q 'vm_livemirror_stale .*livemirror_stale' &&
		cmp -s /run/lkd-data /dev/mapper/vg_loc-vm && cmp -s /run/lkd-data /dev/vg_loc/dst"
rm -f /run/lkd-data
lm_exit
