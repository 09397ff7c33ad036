#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `livemirror recover --live` on LVM LVs (issue 15, item 3): a switch or a
# cancel of an LV killed in its suspended window (test build,
# LIVEMIRROR_CRASH_AT) leaves the LV suspended; recover --live, which takes
# the VG's lock as LVM does, rolls it forward (metadata SWITCHED: the
# destination-only table) or back (not switched: the livemirror table, or
# the source once CANCELLED), resumes it, and the LV's data is byte for byte
# what was written before the crash (md5), as is the leg it now maps.
. "$(dirname "$0")/lib.sh"
lm_require_guest
H=$LM_HELPER_TEST
OUT=$(mktemp -p /run)
VG=vg_rl
MB=8
SECT=$((MB * 2048))

devno() { dmsetup info -c --noheadings -o major,minor --separator : "$1"; }

# The leg the live table of $LV maps.
leg_now() {
	local t
	t=$(dmsetup table "$LV" 2>/dev/null) || { echo gone; return; }
	set -- $t
	case "$3" in
	linear)
		if [ "$4" = "$DST" ]; then echo dest
		elif [ "$4" = "$PV" ] || [ "$4" = "$(devno "$LV-lmsrc" 2>/dev/null)" ]; then echo source
		else echo "linear:$4"; fi ;;
	livemirror)
		case "$(lm_field "$LV" state)" in switched) echo dest ;; *) echo source ;; esac ;;
	*) echo "$3" ;;
	esac
}
meta_leg() {
	local s
	if [ "$(dmsetup table "$LV" 2>/dev/null | cut -d' ' -f3)" = livemirror ]; then
		s=$(lm_field "$LV" state)
	else
		s=$("$H" metadata dump /dev/mapper/rl-meta 2>/dev/null | awk '$1 == "state" { print $2 }')
	fi
	[ "$s" = switched ] && echo dest || echo source
}
eqo() {
	if [ "$2" = "$3" ]; then lm_pass "$1"; else
		lm_fail "$1"; lm_diag "expected '$2', got '$3'"; sed 's/^/#   /' "$OUT"; fi
}

# CMD CRASH-POINT LEG: what the metadata must name after the crash.
cases=("switch after-suspend source" "switch after-confirm source"
       "switch after-commit dest" "switch after-load dest"
       "cancel cancel-after-suspend source" "cancel cancel-after-message source")
lm_plan $((1 + ${#cases[@]} * 7))
lm_load_modules && modprobe loop || { lm_fail "modules load"; lm_exit; }
lm_lvm_setup
lm_on_exit "rm -rf /dev/$VG"
truncate -s 128M /run/rl-pv.img
loopdev=$(losetup --find --show /run/rl-pv.img) || { lm_fail "loop device"; lm_exit; }
lm_on_exit "losetup -d $loopdev; rm -f /run/rl-pv.img"
lm_on_exit "vgremove -f -q $VG"
PV=$(lsblk -dno MAJ:MIN "$loopdev" | tr -d ' ')
pvcreate -q "$loopdev" && vgcreate -q $VG "$loopdev" &&
	lm_slice rl-dst $MB && lm_slice rl-meta 1 || { lm_fail "setup"; lm_exit; }
DST=$(devno rl-dst)
lm_pass "VG on a loop device, destination and metadata slices"

k=0
for c in "${cases[@]}"; do
	read -r cmd step want_leg <<<"$c"
	k=$((k + 1)) LV=$VG-lv$k
	lvcreate -q -y -L ${MB}M -n lv$k $VG >/dev/null &&
		dd if=/dev/urandom of=/dev/mapper/$LV bs=1M count=$MB oflag=direct status=none &&
		dd if=/dev/zero of=/dev/mapper/rl-meta bs=64k count=16 oflag=direct status=none &&
		dd if=/dev/zero of=/dev/mapper/rl-dst bs=1M count=$MB oflag=direct status=none &&
		"$H" start $LV --meta /dev/mapper/rl-meta --dest /dev/mapper/rl-dst \
			--region-size 64K >"$OUT" 2>&1 &&
		"$H" wait $LV --timeout 200 >>"$OUT" 2>&1 ||
		{ lm_diag "$step: setup failed"; sed 's/^/#   /' "$OUT"; }
	# Writes through the mirror, then the crash in the suspended window.
	dd if=/dev/urandom of=/dev/mapper/$LV bs=64k count=8 seek=$((RANDOM % 100)) \
		oflag=direct status=none
	want=$(lm_sum /dev/mapper/$LV $SECT)
	LIVEMIRROR_CRASH_AT=$step "$H" $cmd $LV >"$OUT" 2>&1
	eqo "$cmd $step: helper crashed at the step" 99 $?
	lm_diag "$cmd $step: left $(dmsetup info -c --noheadings -o suspended $LV) with a $(dmsetup table $LV | cut -d' ' -f3) table"
	"$H" recover --live $LV >"$OUT" 2>&1
	eqo "$cmd $step: recover --live exits 0" 0 $?
	lm_ok "$cmd $step: nothing left suspended" nothing_suspended
	leg=$(leg_now) ml=$(meta_leg)
	lm_eq "$cmd $step: table on the leg the metadata names ($ml)" "$ml" "$leg"
	lm_eq "$cmd $step: which is the $want_leg" "$want_leg" "$leg"
	lm_eq "$cmd $step: LV data unchanged (md5)" "$want" "$(lm_sum /dev/mapper/$LV $SECT)"
	if [ "$want_leg" = dest ]; then
		lm_eq "$cmd $step: destination leg holds it (md5)" "$want" \
			"$(lm_sum /dev/mapper/rl-dst $SECT)"
	else
		src=/dev/mapper/$LV
		dmsetup info $LV-lmsrc >/dev/null 2>&1 && src=/dev/mapper/$LV-lmsrc
		lm_eq "$cmd $step: source leg ($src) holds it (md5)" "$want" "$(lm_sum $src $SECT)"
	fi
	# Clean up this LV: back to no livemirror device at all.
	[ "$(dmsetup table $LV | cut -d' ' -f3)" = livemirror ] && "$H" cancel $LV >/dev/null 2>&1
	dmsetup remove --retry $LV >/dev/null 2>&1
	dmsetup remove --retry $LV-lmsrc >/dev/null 2>&1
	rm -f /run/livemirror/$LV.state
	lvremove -f -q $VG/lv$k >/dev/null 2>&1
done
rm -f "$OUT"
lm_exit
