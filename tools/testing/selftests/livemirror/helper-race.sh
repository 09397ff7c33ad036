#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `livemirror switch` and `livemirror cancel` of the same migration run in
# parallel, LM_RACE_ITERS times (default 30; the review's 200 with
# LM_RACE_ITERS=200), for at most LM_RACE_MAX_S seconds (default 150: a round
# costs about 14 helper and dmsetup runs, seconds under TCG).  Each round starts a migration under a live device,
# waits until synced, then races the two.  Exactly one may win: the table
# ends on the destination exactly when the metadata says SWITCHED (and on
# the source exactly when it does not), switch exits 0 exactly when it won,
# cancel exits 0 exactly when it won and 10 (refused: switched) otherwise,
# and nothing is left suspended (review finding H1).
. "$(dirname "$0")/lib.sh"
lm_require_guest
H=$LM_HELPER
ITERS=${LM_RACE_ITERS:-30}
MAX_S=${LM_RACE_MAX_S:-150}	# stop early (and say so) past this many seconds
OUT=$(mktemp -p /run)
MB=1

devno() { dmsetup info -c --noheadings -o major,minor --separator : "$1"; }

# The leg the live table of r-vm maps: dest, source, or what else it is.
leg_now() {
	local t
	t=$(dmsetup table r-vm 2>/dev/null) || { echo gone; return; }
	set -- $t
	case "$3" in
	linear)
		if [ "$4" = "$DST" ]; then echo dest
		elif [ "$4" = "$SRC" ]; then echo source
		elif [ -n "$HID" ] && [ "$4" = "$HID" ]; then echo source
		else echo "linear:$4"; fi ;;
	livemirror)
		case "$(lm_field r-vm state)" in
		switched) echo dest ;; *) echo source ;;
		esac ;;
	*) echo "$3" ;;
	esac
}

# The metadata state: from the live table's status, or from the device.
meta_state() {
	local s
	if [ "$(dmsetup table r-vm 2>/dev/null | cut -d' ' -f3)" = livemirror ]; then
		s=$(lm_field r-vm state)
		[ "$s" = switched ] && echo switched || echo not-switched
		return
	fi
	s=$("$H" metadata dump /dev/mapper/r-meta | awk '$1 == "state" { print $2 }')
	[ "$s" = switched ] && echo switched || echo "not-switched"
}

lm_plan 6
lm_load_modules || { lm_fail "modules load"; lm_exit; }
lm_slice r-src $MB && lm_slice r-dst $MB && lm_slice r-meta 1 || { lm_fail "scratch"; lm_exit; }
lm_fill /dev/mapper/r-src
SRC=$(devno r-src) DST=$(devno r-dst)
lm_on_exit "dmsetup remove --retry r-vm; dmsetup remove --retry r-vm-lmsrc"
lm_pass "setup"

bad_leg=0 bad_rc=0 suspended=0 setup_fail=0 dest_wins=0 src_wins=0 t0=$SECONDS
for ((it = 0; it < ITERS; it++)); do
	if [ $((SECONDS - t0)) -ge "$MAX_S" ]; then
		lm_diag "stopping after $it of $ITERS rounds: LM_RACE_MAX_S=$MAX_S s reached"
		ITERS=$it
		break
	fi
	dmsetup remove --retry r-vm >/dev/null 2>&1
	dmsetup remove --retry r-vm-lmsrc >/dev/null 2>&1
	dd if=/dev/zero of=/dev/mapper/r-meta bs=64k count=4 oflag=direct status=none
	((it % 10 == 0)) && lm_diag "round $it at $((SECONDS - t0)) s"
	dmsetup create r-vm --uuid "RACE-vm" --table "0 $((MB * 2048)) linear /dev/mapper/r-src 0" &&
		timeout 60 "$H" start r-vm --meta /dev/mapper/r-meta --dest /dev/mapper/r-dst \
			--region-size 64K >"$OUT" 2>&1 &&
		timeout 60 "$H" wait r-vm --timeout 50 >>"$OUT" 2>&1 ||
		{ setup_fail=$((setup_fail + 1)); sed 's/^/#   /' "$OUT"; continue; }
	HID=$(devno r-vm-lmsrc)
	# Alternate who gets the head start; the other follows at once.
	if ((it % 2)); then
		timeout 60 "$H" switch r-vm >/run/race-s 2>&1 & ps=$!
		timeout 60 "$H" cancel r-vm >/run/race-c 2>&1 & pc=$!
	else
		timeout 60 "$H" cancel r-vm >/run/race-c 2>&1 & pc=$!
		timeout 60 "$H" switch r-vm >/run/race-s 2>&1 & ps=$!
	fi
	wait $ps; rs=$?
	wait $pc; rc=$?
	if [ $rs = 124 ] || [ $rc = 124 ]; then
		lm_diag "round $it: a helper hung (switch $rs, cancel $rc)"
		sed 's/^/#   switch: /' /run/race-s; sed 's/^/#   cancel: /' /run/race-c
		dmsetup info -c | sed 's/^/#   /'
	fi
	leg=$(leg_now) ms=$(meta_state)
	nothing_suspended || suspended=$((suspended + 1))
	if [ "$leg" = dest ] && [ "$ms" = switched ]; then
		dest_wins=$((dest_wins + 1))
		[ $rs = 0 ] && [ $rc = 10 ] ||
			{ bad_rc=$((bad_rc + 1)); lm_diag "round $it: dest won, switch $rs cancel $rc"; }
	elif [ "$leg" = source ] && [ "$ms" != switched ]; then
		src_wins=$((src_wins + 1))
		[ $rs != 0 ] && [ $rc = 0 ] ||
			{ bad_rc=$((bad_rc + 1)); lm_diag "round $it: source won, switch $rs cancel $rc"; }
	else
		bad_leg=$((bad_leg + 1))
		lm_diag "round $it: table on '$leg' but metadata $ms (switch exit $rs, cancel exit $rc)"
		sed 's/^/#   switch: /' /run/race-s; sed 's/^/#   cancel: /' /run/race-c
	fi
done
lm_diag "$ITERS rounds in $((SECONDS - t0)) s: switch won $dest_wins, cancel won $src_wins"
lm_eq "every round set up" 0 $setup_fail
lm_eq "table on the destination exactly when the metadata says SWITCHED" 0 $bad_leg
lm_eq "exit codes name the winner (switch 0 / cancel 10, or cancel 0 / switch non-zero)" 0 $bad_rc
lm_eq "nothing left suspended" 0 $suspended
lm_ok "every round had a winner" [ $((dest_wins + src_wins)) -eq $((ITERS - setup_fail)) ]
rm -f "$OUT" /run/race-s /run/race-c
lm_exit
