#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# livemirror switch, crash injection at every step (LIVEMIRROR_CRASH_AT):
# after each simulated crash and reboot, `livemirror recover` names the right
# leg (source before the commit point, destination from it on), the device
# it builds holds the data, and re-running switch after a crash finishes it.
. "$(dirname "$0")/lib.sh"
lm_require_guest
H=$LM_HELPER_TEST	# crash and failure injection
OUT=$(mktemp)
MB=8
SECT=$((MB * 2048))

devno() { dmsetup info -c --noheadings -o major,minor --separator : "$1"; }

# A synced mirror with known data written through it.
setup() {
	dd if=/dev/zero of=/dev/mapper/c-meta bs=1M count=1 oflag=direct status=none
	"$H" create c-vm --meta /dev/mapper/c-meta --source /dev/mapper/c-src \
		--dest /dev/mapper/c-dst --region-size 64K >"$OUT" 2>&1 &&
	"$H" wait c-vm --timeout 300 >>"$OUT" 2>&1 &&
	dd if=/dev/urandom of=/dev/mapper/c-vm bs=64k count=16 seek=$((RANDOM % 100)) \
		oflag=direct status=none &&
	expected=$(lm_sum /dev/mapper/c-vm)
}

# What a reboot leaves: nothing of the device-mapper state.
reboot_sim() {
	local d
	for d in "$@"; do
		dmsetup info "$d" >/dev/null 2>&1 || continue
		dmsetup clear "$d" >/dev/null 2>&1
		dmsetup resume "$d" >/dev/null 2>&1
		dmsetup remove --retry "$d" >/dev/null 2>&1
	done
}

authoritative() { grep -o 'authoritative=[a-z]*' "$OUT" | cut -d= -f2; }

lm_load_modules || { lm_plan 1; lm_fail "modules load"; lm_exit; }
lm_slice c-src $MB && lm_slice c-dst $MB && lm_slice c-meta 1 ||
	{ lm_plan 1; lm_fail "scratch devices"; lm_exit; }
lm_fill /dev/mapper/c-src
lm_on_exit "dmsetup remove --retry c-vm"
lm_on_exit "dmsetup remove --retry c-rec"

# Enumerate the steps with a full switch.
setup || { lm_plan 1; lm_fail "setup"; sed 's/^/#   /' "$OUT"; lm_exit; }
mapfile -t steps < <(LIVEMIRROR_CRASH_TRACE=1 "$H" switch c-vm 2>&1 >/dev/null |
		     sed -n 's/^crash-point: //p')
reboot_sim c-vm
lm_plan $((2 + ${#steps[@]} * 5 + 4))
lm_ok "switch has crash points (${#steps[@]}: ${steps[*]})" test ${#steps[@]} -ge 6
lm_ok "after-commit is one of them" bash -c "printf '%s\n' ${steps[*]} | grep -qx after-commit"

leg=source
for step in "${steps[@]}"; do
	[ "$step" = after-commit ] && leg=dest
	if ! setup; then
		lm_fail "$step: setup"; sed 's/^/#   /' "$OUT"
		for i in 1 2 3 4; do lm_fail "$step: skipped"; done
		reboot_sim c-vm
		continue
	fi
	LIVEMIRROR_CRASH_AT=$step "$H" switch c-vm >"$OUT" 2>&1
	lm_eq "$step: helper crashed at the step" 99 $?
	reboot_sim c-vm
	"$H" recover --meta /dev/mapper/c-meta --source /dev/mapper/c-src \
		--dest /dev/mapper/c-dst >"$OUT" 2>&1
	rc=$?
	lm_eq "$step: recover exits 0" 0 $rc
	lm_eq "$step: recover names the $leg" $leg "$(authoritative)"
	"$H" recover --meta /dev/mapper/c-meta --source /dev/mapper/c-src \
		--dest /dev/mapper/c-dst --name c-rec >"$OUT" 2>&1
	want=$([ $leg = dest ] && devno c-dst || devno c-src)
	lm_eq "$step: recovered device maps the $leg" "0 $SECT linear $want 0" "$(dmsetup table c-rec 2>/dev/null)"
	lm_eq "$step: data verifies" "$expected" "$(lm_sum /dev/mapper/c-rec)"
	dmsetup remove --retry c-rec >/dev/null 2>&1
done

# Re-running switch after a crash (no reboot) finishes the job.
setup
LIVEMIRROR_CRASH_AT=after-commit "$H" switch c-vm >/dev/null 2>&1
lm_eq "crash after the commit point" 99 $?
"$H" switch c-vm >"$OUT" 2>&1
lm_eq "switch re-run after the crash finishes" 0 $?
lm_eq "device ends on the destination" "0 $SECT linear $(devno c-dst) 0" "$(dmsetup table c-vm)"
lm_ok "nothing left suspended" nothing_suspended
reboot_sim c-vm
rm -f "$OUT"
lm_exit
