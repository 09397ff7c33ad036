#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `livemirror status --watch` ends with the exit code of the state it ended
# on, as `wait` does (livemirror.8, status): 0 synced, 0 switched (also when
# the switch replaced the table while the watch slept), 1 cancelled, 8 a dead
# destination (dest-error stop), and it never runs on for ever over a
# degraded device.  Issue 15, item 4.
. "$(dirname "$0")/lib.sh"
lm_require_guest
H=$LM_HELPER
OUT=$(mktemp -p /run)
MB=2

fresh() {
	local d
	for d in w-vm w-vm-lmsrc; do
		dmsetup info "$d" >/dev/null 2>&1 || continue
		dmsetup resume "$d" >/dev/null 2>&1
		dmsetup remove --retry "$d" >/dev/null 2>&1
	done
	rm -f /run/livemirror/w-vm.state
	dmsetup suspend w-dead 2>/dev/null
	dmsetup load w-dead --table "0 $((MB * 2048)) linear /dev/mapper/w-dst 0"
	dmsetup resume w-dead
	dd if=/dev/zero of=/dev/mapper/w-dead bs=1M count=$MB oflag=direct status=none
	dd if=/dev/zero of=/dev/mapper/w-meta bs=64k count=16 oflag=direct status=none
	dmsetup create w-vm --table "0 $((MB * 2048)) linear /dev/mapper/w-src 0" &&
		"$H" start w-vm --meta /dev/mapper/w-meta --dest /dev/mapper/w-dead \
			--region-size 64K --paused "$@" >"$OUT" 2>&1 ||
		{ lm_diag "setup failed"; sed 's/^/#   /' "$OUT"; }
}

# watch_bg ARGS...: status --watch in the background (at most 60 s), its
# output in /run/watch.out; `watch_rc` waits for it and sets rc to its exit
# code (not in a subshell: only this shell can wait for it).
watch_bg() {
	timeout 60 "$H" status w-vm --watch "$@" >/run/watch.out 2>&1 &
	wpid=$!
	sleep 2
}
watch_rc() {
	wait $wpid
	rc=$?
}
show() { sed 's/^/#   watch: /' /run/watch.out | tail -5; }

lm_plan 6
lm_load_modules || { lm_fail "modules load"; lm_exit; }
lm_slice w-src $MB && lm_slice w-dst $MB && lm_slice w-meta 1 || { lm_fail "scratch"; lm_exit; }
dmsetup create w-dead --table "0 $((MB * 2048)) linear /dev/mapper/w-dst 0"
lm_fill /dev/mapper/w-src
lm_on_exit "dmsetup remove --retry w-vm; dmsetup remove --retry w-vm-lmsrc; dmsetup remove --retry w-dead"

# Paused, then resumed: the watch ends at synced with 0.
fresh
watch_bg
"$H" resume w-vm >/dev/null 2>&1
watch_rc
lm_eq "watch until synced exits 0" 0 "$rc"; [ "$rc" = 0 ] || show
lm_eq "its last report says synced" state=synced "$(grep '^state=' /run/watch.out | tail -1)"

# Synced and switched while the watch sleeps (interval 8 s): the table is
# replaced by a linear one over the destination; that is success.
fresh
watch_bg --interval 8
"$H" resume w-vm >/dev/null 2>&1 && "$H" wait w-vm --timeout 60 >/dev/null 2>&1 &&
	"$H" switch w-vm >"$OUT" 2>&1 || { lm_diag "switch failed"; sed 's/^/#   /' "$OUT"; }
watch_rc
lm_eq "watch across a switch that replaced the table exits 0" 0 "$rc"; [ "$rc" = 0 ] || show

# Cancelled while watched: 1, as wait.
fresh
watch_bg
"$H" cancel w-vm >"$OUT" 2>&1 || { lm_diag "cancel failed"; sed 's/^/#   /' "$OUT"; }
watch_rc
lm_eq "watch across a cancel exits 1" 1 "$rc"; [ "$rc" = 1 ] || show

# A dead destination (dest-error stop): 8, as wait, and no endless watch.
fresh
watch_bg
dmsetup suspend w-dead && dmsetup load w-dead --table "0 $((MB * 2048)) error" &&
	dmsetup resume w-dead
"$H" resume w-vm >/dev/null 2>&1
dd if=/dev/urandom of=/dev/mapper/w-vm bs=64k count=4 oflag=direct status=none
watch_rc
lm_eq "watch over a dead destination exits 8 (124: it never ended)" 8 "$rc"; [ "$rc" = 8 ] || show
"$H" cancel w-vm >/dev/null 2>&1
lm_ok "nothing left suspended" nothing_suspended
rm -f "$OUT" /run/watch.out
lm_exit
