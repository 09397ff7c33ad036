#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# livemirror start and cancel, crash injection at every step
# (LIVEMIRROR_CRASH_AT, test build): after each crash, `livemirror recover
# --live` leaves nothing suspended, the live table on the leg the metadata
# names (the source: start and cancel never make the destination
# authoritative), no hidden source that nothing uses, and the device's data
# byte for byte what was written before the crash (md5 of the whole device
# and of the source leg, never status alone).  The command re-run after
# recover then finishes (issue 15, "the crash steps of start and cancel").
. "$(dirname "$0")/lib.sh"
lm_require_guest
H=$LM_HELPER_TEST	# crash and failure injection
OUT=$(mktemp -p /run)
MB=4
SECT=$((MB * 2048))

devno() { dmsetup info -c --noheadings -o major,minor --separator : "$1"; }

# The leg the live table of x-vm maps: source, dest, or what else it is.
leg_now() {
	local t
	t=$(dmsetup table x-vm 2>/dev/null) || { echo gone; return; }
	set -- $t
	case "$3" in
	linear)
		if [ "$4" = "$DST" ]; then echo dest
		elif [ "$4" = "$SRC" ]; then echo source
		elif [ "$4" = "$(devno x-vm-lmsrc 2>/dev/null)" ]; then echo source
		else echo "linear:$4"; fi ;;
	livemirror)
		case "$(lm_field x-vm state)" in
		switched) echo dest ;; *) echo source ;;
		esac ;;
	*) echo "$3" ;;
	esac
}

# The leg the metadata names: from the live status when a livemirror table
# holds it, else from the device (never written: source).
meta_leg() {
	local s
	if [ "$(dmsetup table x-vm 2>/dev/null | cut -d' ' -f3)" = livemirror ]; then
		s=$(lm_field x-vm state)
	else
		s=$("$H" metadata dump /dev/mapper/x-meta 2>/dev/null | awk '$1 == "state" { print $2 }')
	fi
	[ "$s" = switched ] && echo dest || echo source
}

# A hidden source left with no livemirror table over it.
stray_hidden() {
	dmsetup info x-vm-lmsrc >/dev/null 2>&1 &&
		[ "$(dmsetup table x-vm 2>/dev/null | cut -d' ' -f3)" != livemirror ] &&
		! dmsetup table x-vm 2>/dev/null | grep -q " $(devno x-vm-lmsrc) "
}

teardown() {
	local d
	for d in x-vm x-vm-lmsrc; do
		dmsetup info "$d" >/dev/null 2>&1 || continue
		dmsetup clear "$d" >/dev/null 2>&1
		dmsetup resume "$d" >/dev/null 2>&1
		dmsetup remove --retry "$d" >/dev/null 2>&1
	done
	rm -f /run/livemirror/x-vm.state
}

# x-vm on its original linear table over x-src, fresh metadata.
fresh() {
	teardown
	dd if=/dev/zero of=/dev/mapper/x-meta bs=64k count=16 oflag=direct status=none
	dmsetup create x-vm --uuid XCRASH-vm --table "0 $SECT linear /dev/mapper/x-src 0"
}

# lm_eq that shows the helper's output ($OUT) on a failure.
eqo() {
	if [ "$2" = "$3" ]; then lm_pass "$1"; else
		lm_fail "$1"; lm_diag "expected '$2', got '$3'"; sed 's/^/#   /' "$OUT"; fi
}

# After the crash and `recover --live`: the checks every step shares.
# $1 step, $2 expected md5 of x-vm (and of x-src).
check_after() {
	local step=$1 want=$2 rc leg ml
	"$H" recover --live x-vm >"$OUT" 2>&1
	rc=$?
	eqo "$step: recover --live exits 0" 0 $rc
	lm_ok "$step: nothing left suspended" nothing_suspended
	leg=$(leg_now) ml=$(meta_leg)
	lm_eq "$step: table on the leg the metadata names ($ml)" "$ml" "$leg"
	lm_eq "$step: which is the source" source "$leg"
	lm_not "$step: no stray hidden source" stray_hidden
	lm_eq "$step: device data unchanged (md5)" "$want" "$(lm_sum /dev/mapper/x-vm $SECT)"
	lm_eq "$step: source leg data unchanged (md5)" "$want" "$(lm_sum /dev/mapper/x-src $SECT)"
}

lm_load_modules || { lm_plan 1; lm_fail "modules load"; lm_exit; }
lm_slice x-src $MB && lm_slice x-dst $MB && lm_slice x-meta 1 ||
	{ lm_plan 1; lm_fail "scratch devices"; lm_exit; }
lm_fill /dev/mapper/x-src
SRC=$(devno x-src) DST=$(devno x-dst)
lm_on_exit teardown

# Enumerate the crash points of start and of cancel with one full run each.
fresh
mapfile -t ssteps < <(LIVEMIRROR_CRASH_TRACE=1 "$H" start x-vm --meta /dev/mapper/x-meta \
	--dest /dev/mapper/x-dst --region-size 64K 2>&1 >/dev/null | sed -n 's/^crash-point: //p')
"$H" wait x-vm --timeout 200 >/dev/null 2>&1
mapfile -t csteps < <(LIVEMIRROR_CRASH_TRACE=1 "$H" cancel x-vm 2>&1 >/dev/null |
	sed -n 's/^crash-point: //p')
per=9
lm_plan $((2 + ${#ssteps[@]} * (per + 1) + ${#csteps[@]} * (per + 1)))
lm_ok "start has crash points (${#ssteps[@]}: ${ssteps[*]})" test ${#ssteps[@]} -ge 4
lm_ok "cancel has crash points (${#csteps[@]}: ${csteps[*]})" test ${#csteps[@]} -ge 4

for step in "${ssteps[@]}"; do
	fresh
	want=$(lm_sum /dev/mapper/x-vm $SECT)
	LIVEMIRROR_CRASH_AT=$step "$H" start x-vm --meta /dev/mapper/x-meta \
		--dest /dev/mapper/x-dst --region-size 64K >"$OUT" 2>&1
	eqo "start $step: helper crashed at the step" 99 $?
	check_after "start $step" "$want"
	# What recover left must not block a new start (or the running one).
	if [ "$(dmsetup table x-vm | cut -d' ' -f3)" != livemirror ]; then
		dd if=/dev/zero of=/dev/mapper/x-meta bs=64k count=16 oflag=direct status=none
		"$H" start x-vm --meta /dev/mapper/x-meta --dest /dev/mapper/x-dst \
			--region-size 64K >"$OUT" 2>&1
	fi
	"$H" wait x-vm --timeout 200 >>"$OUT" 2>&1 && "$H" switch x-vm >>"$OUT" 2>&1
	eqo "start $step: start again, wait and switch exit 0" 0 $?
	lm_eq "start $step: switched device holds the data (md5)" "$want" \
		"$(lm_sum /dev/mapper/x-vm $SECT)"
done

for step in "${csteps[@]}"; do
	fresh
	"$H" start x-vm --meta /dev/mapper/x-meta --dest /dev/mapper/x-dst \
		--region-size 64K >"$OUT" 2>&1 && "$H" wait x-vm --timeout 200 >>"$OUT" 2>&1 ||
		{ lm_diag "cancel $step: setup failed"; sed 's/^/#   /' "$OUT"; }
	# Writes through the mirror, so the data is not just the fill pattern.
	dd if=/dev/urandom of=/dev/mapper/x-vm bs=64k count=8 seek=$((RANDOM % 50)) \
		oflag=direct status=none
	want=$(lm_sum /dev/mapper/x-vm $SECT)
	LIVEMIRROR_CRASH_AT=$step "$H" cancel x-vm >"$OUT" 2>&1
	eqo "cancel $step: helper crashed at the step" 99 $?
	check_after "cancel $step" "$want"
	"$H" cancel x-vm >"$OUT" 2>&1
	eqo "cancel $step: cancel again exits 0" 0 $?
	lm_ok "cancel $step: ends on a linear table over the source" \
		bash -c "[ \"\$(dmsetup table x-vm | cut -d' ' -f3,4)\" = 'linear $SRC' ] ||
			 [ \"\$(dmsetup table x-vm | cut -d' ' -f3,4)\" = \"linear \$(dmsetup info -c --noheadings -o major,minor --separator : x-vm-lmsrc 2>/dev/null)\" ]"
done
rm -f "$OUT"
lm_exit
