#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Issue 14, item 2, through the helper on LVM (review C1 of
# helper-lvm-review.md): a migration that LVM or an admin took away from
# under an LV, whose source was then written without the mirror, and that
# is started again on the same metadata and destination, must copy those
# writes: after the second start, wait and switch, the LV (now on the
# destination) holds exactly what was written, byte for byte (md5).
# The ways around the mirror, each on its own LV:
#   refresh     lvchange --refresh (LVM reloads its own linear table);
#   reactivate  lvchange -an / -ay, as a reboot with LVM activation does;
#   cancel      a cancel killed right after it loaded the source-only table
#               (test build, LIVEMIRROR_CRASH_AT=cancel-after-load), which a
#               later resume of the LV then puts live.
# Before format version 2 the restarted table trusted its clean bits: the
# pair was synced, so the restart was synced at once and the switch served
# a destination without the bypass writes.
. "$(dirname "$0")/lib.sh"
lm_require_guest
H=$LM_HELPER_TEST
OUT=$(mktemp -p /run)
VG=vg_by
MB=8
SECT=$((MB * 2048))

eqo() {
	if [ "$2" = "$3" ]; then lm_pass "$1"; else
		lm_fail "$1"; lm_diag "expected '$2', got '$3'"; sed 's/^/#   /' "$OUT"; fi
}
run() { "$@" >>"$OUT" 2>&1; }

cases=(refresh reactivate cancel)
lm_plan $((1 + ${#cases[@]} * 6))
lm_load_modules && modprobe loop || { lm_fail "modules load"; lm_exit; }
lm_lvm_setup
lm_on_exit "rm -rf /dev/$VG"
truncate -s 96M /run/by-pv.img
loopdev=$(losetup --find --show /run/by-pv.img) || { lm_fail "loop device"; lm_exit; }
lm_on_exit "losetup -d $loopdev; rm -f /run/by-pv.img"
lm_on_exit "vgremove -f -q $VG"
pvcreate -q "$loopdev" && vgcreate -q $VG "$loopdev" &&
	lm_slice by-dst $MB && lm_slice by-meta 1 || { lm_fail "setup"; lm_exit; }
lm_pass "VG on a loop device, destination and metadata slices"

k=0
for c in "${cases[@]}"; do
	k=$((k + 1)) LV=$VG-lv$k
	: >"$OUT"
	lvcreate -q -y -L ${MB}M -n lv$k $VG >/dev/null &&
		dd if=/dev/urandom of=/dev/mapper/$LV bs=1M count=$MB oflag=direct status=none &&
		dd if=/dev/zero of=/dev/mapper/by-meta bs=64k count=16 oflag=direct status=none &&
		dd if=/dev/zero of=/dev/mapper/by-dst bs=1M count=$MB oflag=direct status=none
	run "$H" start $LV --meta /dev/mapper/by-meta --dest /dev/mapper/by-dst --region-size 64K &&
		run "$H" wait $LV --timeout 200
	eqo "$c: the first start syncs" 0 $?

	# Around the mirror.
	case $c in
	refresh) run lvchange --refresh $VG/lv$k ;;
	# (LVM takes the hidden source down with the LV, as a reboot would)
	reactivate) run lvchange -an $VG/lv$k &&
		{ dmsetup remove --retry $LV-lmsrc >/dev/null 2>&1; run lvchange -ay $VG/lv$k; } ;;
	cancel) LIVEMIRROR_CRASH_AT=cancel-after-load "$H" cancel $LV >>"$OUT" 2>&1
		[ $? = 99 ] && run dmsetup resume $LV ;;
	esac
	eqo "$c: the LV no longer maps livemirror" 0 $?
	[ "$(dmsetup table $LV | cut -d' ' -f3)" != livemirror ] ||
		lm_diag "$c: still $(dmsetup table $LV)"
	# 4 MiB at a known offset, then what the LV holds.
	dd if=/dev/urandom of=/dev/mapper/$LV bs=64k count=64 seek=19 oflag=direct status=none
	want=$(lm_sum /dev/mapper/$LV $SECT)

	# The hidden source is left over where nothing maps it any more.
	dmsetup remove --retry $LV-lmsrc >/dev/null 2>&1
	rm -f /run/livemirror/$LV.state
	run "$H" start $LV --meta /dev/mapper/by-meta --dest /dev/mapper/by-dst --region-size 64K
	eqo "$c: start again on the same metadata and destination" 0 $?
	lm_diag "$c: restarted: $(lm_info $LV)"
	run "$H" wait $LV --timeout 200 && run "$H" switch $LV
	eqo "$c: wait and switch" 0 $?
	lm_eq "$c: the switched LV holds every write, the bypass's included (md5)" "$want" \
		"$(lm_sum /dev/mapper/$LV $SECT)"
	lm_eq "$c: so does the destination leg (md5)" "$want" "$(lm_sum /dev/mapper/by-dst $SECT)"

	dmsetup remove --retry $LV >/dev/null 2>&1
	dmsetup remove --retry $LV-lmsrc >/dev/null 2>&1
	rm -f /run/livemirror/$LV.state
	lvremove -f -q $VG/lv$k >/dev/null 2>&1
done
rm -f "$OUT"
lm_exit
