#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The hidden source out of udev's and LVM's sight (review H2), with a real
# systemd-udevd and LVM's stock udev settings.  A guest PV and VG live inside
# a migrated LV; a second LV holds a filesystem.  While the migrations run:
# the hidden devices carry the udev flags of an LVM private layer, udev never
# probes them (no /dev/disk/by-uuid link to them, not even after a change
# event), pvscan never sees the guest PV, the host cannot see or activate
# the guest VG.  Cancel and switch remove the hidden device even while
# something holds it open for a moment.
. "$(dirname "$0")/lib.sh"
lm_require_guest
H=$LM_HELPER
OUT=$(mktemp)
UUID1=LVM-0123456789abcdef0123456789abcdefFEDCBA9876543210fedcba9876543201
UUID2=LVM-0123456789abcdef0123456789abcdefFEDCBA9876543210fedcba9876543202
# LVM with udev (stock settings), whatever an earlier test put in lvm.conf.
LVMCFG='devices { obtain_device_list_from_udev = 1 scan_lvs = 0 use_devicesfile = 0 }
activation { udev_sync = 1 udev_rules = 1 monitoring = 0 } global { use_lvmpolld = 0 }'
# LVM's warnings go to a file: the guest runner fails a run whose console
# shows "WARNING".
lvm_() { local c=$1; shift; "$c" --config "$LVMCFG" "$@" 2>>"$OUT.lvm"; }
# Only to create the guest's PV inside LV 1: let LVM scan that LV alone.
lvm_lvs() {
	local c=$1; shift
	"$c" --config "${LVMCFG/scan_lvs = 0/scan_lvs = 1 filter = [ \"a|^/dev/mapper/h-lv1\$|\", \"r|.*|\" ]}" \
		"$@" 2>>"$OUT.lvm"
}

lm_plan 21
lm_load_modules || { lm_fail "modules load"; lm_exit; }
# A real udev for this test only (the guest has none by default).
if ! udevadm control --ping >/dev/null 2>&1; then
	mkdir -p /run/udev
	/lib/systemd/systemd-udevd --daemon >/dev/null 2>&1 || true
	# Stop it afterwards and remove its socket: libdevmapper takes a leftover
	# /run/udev/control for a running udev.
	lm_on_exit "udevadm control --exit; sleep 0.5; rm -rf /run/udev"
fi
if ! udevadm control --ping >/dev/null 2>&1; then
	echo "1..0 # SKIP cannot start systemd-udevd in this guest"
	exit 4
fi
unset DM_DISABLE_UDEV	# libdevmapper and LVM use udev as on a real host
for s in h-pv1:24 h-pv2:24 h-dst1s:24 h-dst2s:24 h-meta1:1 h-meta2:1; do
	lm_slice "${s%%:*}" "${s##*:}" || { lm_fail "scratch devices"; lm_exit; }
done
# The destinations are LVs of the new VG on a real host: LVM does not scan
# them either (scan_lvs=0), and their PV does not show the copy of the guest
# PV at its start, so these also start 1 MiB into their slices.
for i in 1 2; do
	dmsetup create h-dst$i --uuid "${UUID1%01}1$i" --table "0 47104 linear /dev/mapper/h-dst${i}s 2048"
	lm_on_exit "dmsetup remove --retry h-dst$i"
done
# As an LV's extents sit past its PV's label, these "LVs" start 1 MiB into
# their slices: the guest's signatures are seen through the LV stack only.
dmsetup create h-lv1 --uuid "$UUID1" --table "0 47104 linear /dev/mapper/h-pv1 2048"
dmsetup create h-lv2 --uuid "$UUID2" --table "0 47104 linear /dev/mapper/h-pv2 2048"
for d in h-lv1 h-lv2; do
	lm_on_exit "dmsetup remove --retry $d"
	lm_on_exit "dmsetup remove --retry $d-lmsrc"
done
lm_on_exit "dmsetup remove --retry gvg-glv"

# The guest's PV and VG inside LV 1 (scan_lvs=1 only to create them), a
# filesystem in LV 2.
lvm_lvs pvcreate -q /dev/mapper/h-lv1 >"$OUT" 2>&1 &&
	lvm_lvs vgcreate -q gvg /dev/mapper/h-lv1 >>"$OUT" 2>&1 &&
	lvm_lvs lvcreate -q -an -Zn -L 8M -n glv gvg >>"$OUT" 2>&1 || sed 's/^/#   /' "$OUT"
lm_ok "guest VG gvg created inside h-lv1" lvm_lvs vgs gvg
mkfs.ext4 -q -F /dev/mapper/h-lv2 >/dev/null 2>&1
udevadm settle
fsuuid=$(blkid -s UUID -o value /dev/mapper/h-lv2)
lm_ok "by-uuid link of the filesystem points at h-lv2" \
	test "$(readlink -f "/dev/disk/by-uuid/$fsuuid")" = "$(readlink -f /dev/mapper/h-lv2)"
lm_not "the host does not see gvg on the LV itself (scan_lvs=0)" lvm_ vgs gvg
rm -rf /run/lvm/pvs_online /run/lvm/vgs_online

expect_rc "start h-lv1" 0 "$H" start h-lv1 --meta /dev/mapper/h-meta1 --dest /dev/mapper/h-dst1
expect_rc "start h-lv2" 0 "$H" start h-lv2 --meta /dev/mapper/h-meta2 --dest /dev/mapper/h-dst2 --throttle 1
udevadm settle
lm_eq "hidden source uuid is the LV's with -lmsrc" "$UUID1-lmsrc" \
	"$(dmsetup info -c --noheadings -o uuid h-lv1-lmsrc)"
db=$(udevadm info --query=property /dev/mapper/h-lv1-lmsrc 2>&1)
lm_diag "udev db of h-lv1-lmsrc:" $(grep -E '^(DM_UDEV|ID_FS|DM_UUID)' <<<"$db")
lm_ok "udev: the hidden device has the private-layer flags" bash -c \
	"grep -qx DM_UDEV_DISABLE_DISK_RULES_FLAG=1 <<<'$db' &&
	 grep -qx DM_UDEV_DISABLE_OTHER_RULES_FLAG=1 <<<'$db' &&
	 grep -qx DM_UDEV_DISABLE_SUBSYSTEM_RULES_FLAG=1 <<<'$db'"
lm_not "udev did not probe the hidden device (no ID_FS_TYPE)" grep -q '^ID_FS_TYPE=' <<<"$db"
hid2=$(readlink -f /dev/mapper/h-lv2-lmsrc)
lm_ok "by-uuid does not point at the hidden device" \
	test "$(readlink -f "/dev/disk/by-uuid/$fsuuid")" != "$hid2"
udevadm trigger --action=change --subsystem-match=block
udevadm settle
lm_ok "nor after a change event on every block device" \
	test "$(readlink -f "/dev/disk/by-uuid/$fsuuid")" != "$hid2"
lm_not "no /dev/disk link at all names the hidden device" bash -c \
	"find /dev/disk -type l -exec readlink -f {} + 2>/dev/null | grep -qx '$hid2'"
lm_not "pvscan recorded no PV online (no autoactivation)" bash -c \
	"ls /run/lvm/pvs_online 2>/dev/null | grep -q ."
lm_not "the host does not see gvg through the hidden source" lvm_ vgs gvg
lm_not "pvs lists no hidden device" bash -c "pvs --config '$LVMCFG' -o pv_name --noheadings 2>/dev/null | grep -q lmsrc"
lm_diag "pvs: $(pvs --config "$LVMCFG" -o pv_name,vg_name --noheadings 2>/dev/null | tr '\n' ';')"
lvm_ vgchange -ay >/dev/null 2>&1
lm_not "vgchange -ay does not activate the guest VG" dmsetup info gvg-glv

# Removal retries while something briefly holds the hidden device open.
(exec 3</dev/mapper/h-lv2-lmsrc; sleep 3) &
sleep 0.3
expect_rc "cancel h-lv2 while the hidden source is briefly open" 0 "$H" cancel h-lv2
lm_not "its hidden source was removed all the same" dmsetup info h-lv2-lmsrc
wait
expect_rc "wait h-lv1" 0 "$H" wait h-lv1 --timeout 300
expect_rc "switch h-lv1" 0 "$H" switch h-lv1
lm_not "hidden source removed after the switch" dmsetup info h-lv1-lmsrc
lm_not "gvg still not active on the host" dmsetup info gvg-glv
rm -f "$OUT" "$OUT.lvm"
lm_exit
