#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The helper and LVM exclude each other on a volume group (review finding
# H1, LVM half): while `livemirror switch` of an LV is in its suspend/load/
# resume window (held open by slow metadata), LVM's VG lock file is locked,
# and an LVM command that writes the VG's metadata (lvchange --addtag, which
# takes the same exclusive lock as lvchange --refresh) waits until the
# switch is over.
. "$(dirname "$0")/lib.sh"
lm_require_guest
H=$LM_HELPER
OUT=$(mktemp -p /run)
LVMCF='devices/global_filter=["a|^/dev/loop|","r|.*|"]'

lm_plan 5
lm_load_modules || { lm_fail "modules load"; lm_exit; }
modprobe dm-delay && modprobe loop || { lm_fail "dm-delay, loop"; lm_exit; }
lm_lvm_setup
# Without udev, lvm leaves /dev/vg_lk behind on vgremove: drop it last.
lm_on_exit "rm -rf /dev/vg_lk"
truncate -s 64M /run/lk-pv.img
loopdev=$(losetup --find --show /run/lk-pv.img) || { lm_fail "loop device"; lm_exit; }
lm_on_exit "losetup -d $loopdev; rm -f /run/lk-pv.img"
lm_on_exit "vgremove -f -q vg_lk"
pvcreate -q "$loopdev" && vgcreate -q vg_lk "$loopdev" && lvcreate -q -y -L 8M -n lv vg_lk &&
	lm_slice lk-dst 8 && lm_slice lk-meta 1 &&
	dmsetup create lk-mslow --table "0 2048 delay /dev/mapper/lk-meta 0 0" ||
	{ lm_fail "setup"; lm_exit; }
lm_on_exit "dmsetup remove --retry lk-mslow"
lm_on_exit "dmsetup remove --retry vg_lk-lv-lmsrc"
"$H" start vg_lk-lv --meta /dev/mapper/lk-mslow --dest /dev/mapper/lk-dst --region-size 64K \
	>"$OUT" 2>&1 && "$H" wait vg_lk-lv --timeout 120 >>"$OUT" 2>&1
lm_eq "LV migrating and synced" 0 $?
# Every metadata write now takes 400 ms: the switch window lasts seconds.
dmsetup suspend lk-mslow &&
	dmsetup load lk-mslow --table "0 2048 delay /dev/mapper/lk-meta 0 0 /dev/mapper/lk-meta 0 400" &&
	dmsetup resume lk-mslow

( "$H" switch vg_lk-lv >/run/lk-switch.log 2>&1; echo "$? $(date +%s%N)" >/run/lk-switch.end ) &
sp=$!
# When the helper records the commit ("switched", inside its V_vg_lk window,
# before the retire and the unlock): lvchange must end after that.  The
# helper's own exit comes after its unlock, so lvchange may end before it.
( rec=${LIVEMIRROR_RUNDIR:-/run/livemirror}/vg_lk-lv.state
  for _ in $(seq 1 3000); do
	grep -qs switched "$rec" && break
	sleep 0.02
  done; date +%s%N >/run/lk-switched ) &
wp=$!
sleep 0.5
# LVM's protocol: exclusive flock of V_<vg> (the helper holds it, so -n fails).
flock -n /run/lock/lvm/V_vg_lk true
lm_eq "V_vg_lk is locked during the switch window" 1 $?
lvchange -q --config "$LVMCF" --addtag lmlocktest vg_lk/lv >"$OUT" 2>&1
lrc=$? lend=$(date +%s%N)
wait $sp
wait $wp
read -r src send </run/lk-switch.end
read -r scommit </run/lk-switched
lm_eq "switch of the LV" 0 "$src"
# It ran after the switch, which retired the LV (the fence): "not found".
lm_ok "lvchange --addtag after the switch finds no LV vg_lk/lv: the fence retired it" \
	bash -c "[ $lrc = 5 ] && lvs vg_lk/lv_livemirror_stale >/dev/null 2>&1"
lm_diag "lvchange ended $(( (lend - scommit) / 1000000 )) ms after the switch's commit, $(( (lend - send) / 1000000 )) ms after the helper's exit"
lm_ok "lvchange waited for the switch's commit" [ "$lend" -ge "$scommit" ]
dmsetup remove --retry vg_lk-lv >/dev/null 2>&1
rm -f "$OUT" /run/lk-switch.log /run/lk-switch.end /run/lk-switched
lm_exit
