#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A signal while a group switch holds its members suspended (review finding
# M1): `timeout -s HUP T livemirror switch a b c` with slow metadata devices
# (dm-delay on every write), for several T that land in different steps.
# Afterwards nothing may be suspended and the group must be all on the
# destination or all on the source.  Then a killed switch (crash injection
# leaves the members suspended) is put right by `recover --live`: forward
# after the commit point, back before it, with the data intact.
. "$(dirname "$0")/lib.sh"
lm_require_guest
H=$LM_HELPER
OUT=$(mktemp -p /run)
MB=2
N=3
DELAY_MS=${LM_HUP_DELAY_MS:-150}
TIMES=${LM_HUP_TIMES:-"0.05 0.15 0.3 0.5 0.8"}

members() { local i; for ((i = 0; i < N; i++)); do echo h-vm$i; done; }
devno() { dmsetup info -c --noheadings -o major,minor --separator : "$1"; }

# delay MS: every metadata write of every member takes MS milliseconds.
delay() {
	local i
	for ((i = 0; i < N; i++)); do
		dmsetup suspend h-mslow$i &&
		dmsetup load h-mslow$i --table "0 2048 delay /dev/mapper/h-meta$i 0 0 /dev/mapper/h-meta$i 0 $1" &&
		dmsetup resume h-mslow$i || return 1
	done
}

teardown() {
	local d
	for d in $(members); do
		dmsetup info "$d" >/dev/null 2>&1 || continue
		dmsetup clear "$d" >/dev/null 2>&1
		dmsetup resume "$d" >/dev/null 2>&1
		dmsetup remove --retry "$d" >/dev/null 2>&1
	done
	delay 0
}

setup() {
	local i
	teardown
	for ((i = 0; i < N; i++)); do
		dd if=/dev/zero of=/dev/mapper/h-mslow$i bs=64k count=4 oflag=direct status=none
		"$H" create h-vm$i --meta /dev/mapper/h-mslow$i --source /dev/mapper/h-src$i \
			--dest /dev/mapper/h-dst$i --region-size 64K >"$OUT" 2>&1 || return 1
	done
	for ((i = 0; i < N; i++)); do
		"$H" wait h-vm$i --timeout 120 >>"$OUT" 2>&1 || return 1
	done
}

# legs: "dest", "source" or "mixed/unknown" for the whole group.
legs() {
	local i t leg all=
	for ((i = 0; i < N; i++)); do
		read -r -a t <<<"$(dmsetup table h-vm$i 2>/dev/null)"
		case "${t[2]}" in
		linear) [ "${t[3]}" = "$(devno h-dst$i)" ] && leg=dest || leg="linear:${t[3]}" ;;
		livemirror) [ "$(lm_field h-vm$i state)" = switched ] && leg=dest || leg=source ;;
		*) leg="?${t[2]}" ;;
		esac
		all+="$leg "
	done
	case "$all" in
	"dest dest dest ") echo dest ;; "source source source ") echo source ;;
	*) echo "mixed: $all" ;;
	esac
}

set -- $TIMES
lm_plan $((1 + $# * 2 + 2 * 4))
lm_load_modules || { lm_fail "modules load"; lm_exit; }
modprobe dm-delay || { lm_fail "dm-delay"; lm_exit; }
for ((i = 0; i < N; i++)); do
	lm_slice h-src$i $MB && lm_slice h-dst$i $MB && lm_slice h-meta$i 1 &&
	dmsetup create h-mslow$i --table "0 2048 delay /dev/mapper/h-meta$i 0 0" ||
		{ lm_fail "scratch devices"; lm_exit; }
	lm_on_exit "dmsetup remove --retry h-mslow$i"
	lm_on_exit "dmsetup remove --retry h-vm$i"
	lm_fill /dev/mapper/h-src$i
	sums[$i]=$(lm_sum /dev/mapper/h-src$i)
done
lm_pass "setup"

for t in $TIMES; do
	setup || { lm_fail "setup for HUP after $t s"; lm_fail "-"; sed 's/^/#   /' "$OUT"; continue; }
	delay "$DELAY_MS"
	t0=$(date +%s.%N)
	timeout -s HUP "$t" "$H" switch $(members) >"$OUT" 2>&1
	rc=$?
	t1=$(date +%s.%N)
	lm_diag "HUP after $t s: exit $rc, ended after $(echo "$t1 - $t0" | bc) s, group on $(legs)"
	lm_ok "HUP after $t s: nothing left suspended" nothing_suspended
	l=$(legs)
	lm_ok "HUP after $t s: the whole group on one leg ($l)" [ "$l" = dest -o "$l" = source ]
	nothing_suspended || { sed 's/^/#   /' "$OUT"; dmsetup info -c | sed 's/^/#   /'; }
done

# A switch killed in its window leaves the members suspended; recover --live
# rolls forward after the commit point and back before it.
for step in after-commit:dest after-prepare-1:source; do
	crash=${step%%:*} want=${step#*:}
	setup || { lm_fail "setup for $crash"; continue; }
	LIVEMIRROR_CRASH_AT=$crash "$LM_HELPER_TEST" switch $(members) >"$OUT" 2>&1
	lm_eq "switch killed at $crash" 99 $?
	"$H" recover --live $(members) >"$OUT" 2>&1
	rc=$?
	lm_eq "recover --live after $crash exits 0" 0 $rc
	[ $rc = 0 ] || sed 's/^/#   /' "$OUT"
	lm_ok "recover --live after $crash: nothing suspended" nothing_suspended
	ok=1
	for ((i = 0; i < N; i++)); do
		[ "$(lm_sum /dev/mapper/h-vm$i)" = "${sums[$i]}" ] || ok=0
	done
	l=$(legs)
	lm_ok "recover --live after $crash: group on the $want ($l), data intact" \
		[ "$l" = "$want" -a $ok = 1 ]
done
teardown
rm -f "$OUT"
lm_exit
