#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# livemirror switch of a group of 3 devices: all or none, even across a crash
# at any step (between the members included).  After the crash and a
# simulated reboot, `livemirror recover` with the three metadata devices
# names the same leg for every member, finishes or rolls back PREPARED
# members, and the data verifies on that leg.
. "$(dirname "$0")/lib.sh"
lm_require_guest
H=$LM_HELPER_TEST	# crash and failure injection
OUT=$(mktemp)
MB=4
SECT=$((MB * 2048))
N=3

devno() { dmsetup info -c --noheadings -o major,minor --separator : "$1"; }
metas() { local i; for ((i = 0; i < N; i++)); do echo --meta /dev/mapper/g-meta$i; done; }
members() { local i; for ((i = 0; i < N; i++)); do echo g-vm$i; done; }

setup() {
	local i
	for ((i = 0; i < N; i++)); do
		dd if=/dev/zero of=/dev/mapper/g-meta$i bs=1M count=1 oflag=direct status=none
		"$H" create g-vm$i --meta /dev/mapper/g-meta$i --source /dev/mapper/g-src$i \
			--dest /dev/mapper/g-dst$i --region-size 64K --label grp$i >"$OUT" 2>&1 || return 1
	done
	for ((i = 0; i < N; i++)); do
		"$H" wait g-vm$i --timeout 300 >>"$OUT" 2>&1 || return 1
		dd if=/dev/urandom of=/dev/mapper/g-vm$i bs=64k count=4 seek=$((RANDOM % 50)) \
			oflag=direct status=none
		sums[$i]=$(lm_sum /dev/mapper/g-vm$i)
	done
}

reboot_sim() {
	local d
	for d in $(members); do
		dmsetup info "$d" >/dev/null 2>&1 || continue
		dmsetup clear "$d" >/dev/null 2>&1
		dmsetup resume "$d" >/dev/null 2>&1
		dmsetup remove --retry "$d" >/dev/null 2>&1
	done
}

# legs FILE: the authoritative legs in a recover answer, one line.
legs() { grep -o 'authoritative=[a-z]*' "$1" | cut -d= -f2 | xargs; }
# states: the metadata states now, one line.
states() {
	local i
	for ((i = 0; i < N; i++)); do
		"$H" metadata dump /dev/mapper/g-meta$i | awk '$1 == "state" { printf "%s ", $2 }'
	done
}

lm_load_modules || { lm_plan 1; lm_fail "modules load"; lm_exit; }
for ((i = 0; i < N; i++)); do
	lm_slice g-src$i $MB && lm_slice g-dst$i $MB && lm_slice g-meta$i 1 ||
		{ lm_plan 1; lm_fail "scratch devices"; lm_exit; }
	lm_fill /dev/mapper/g-src$i
	lm_on_exit "dmsetup remove --retry g-vm$i"
done

# A clean group switch, enumerating the steps.
setup || { lm_plan 1; lm_fail "setup"; sed 's/^/#   /' "$OUT"; lm_exit; }
mapfile -t steps < <(LIVEMIRROR_CRASH_TRACE=1 "$H" switch $(members) 2>&1 >/dev/null |
		     sed -n 's/^crash-point: //p')
all_steps=${#steps[@]}
if [ -z "${LM_HELPER_FULL:-}" ]; then
	# Every step costs a full setup under TCG: by default the ones around
	# each member and the commit point (LM_HELPER_FULL=1 runs them all).
	keep=" after-suspend-1 after-confirm after-prepare-0 after-prepare-2 after-commit "
	keep+="after-switch-member-1 after-switch-member-2 after-load-1 after-resume "
	mapfile -t steps < <(printf '%s\n' "${steps[@]}" | while read -r s; do
		[[ $keep == *" $s "* ]] && echo "$s"; done)
fi
FAILS=(suspend-1 prepare-0 prepare-2 commit)
lm_plan $((5 + ${#steps[@]} * 4 + 1 + ${#FAILS[@]} * 3 + 2))
ok_all=1
for ((i = 0; i < N; i++)); do
	[ "$(dmsetup table g-vm$i)" = "0 $SECT linear $(devno g-dst$i) 0" ] || ok_all=0
done
lm_eq "group switch: every member linear over its destination" 1 $ok_all
lm_ok "group switch: nothing suspended" nothing_suspended
reboot_sim
lm_eq "group switch: every metadata says switched" "switched switched switched " "$(states)"
lm_ok "group has per-member crash points ($all_steps)" \
	bash -c "printf '%s\n' ${steps[*]} | grep -q after-switch-member-2"

# A PREPARED member cannot be decided without the coordinator's metadata.
setup
LIVEMIRROR_CRASH_AT=after-prepare-2 "$H" switch $(members) >/dev/null 2>&1
reboot_sim
"$H" recover --meta /dev/mapper/g-meta2 >"$OUT" 2>&1
lm_eq "recover without the coordinator's metadata: not found" 5 $?
reboot_sim

leg=source
for step in "${steps[@]}"; do
	[ "$step" = after-commit ] && leg=dest
	if ! setup; then
		lm_fail "$step: setup"; sed 's/^/#   /' "$OUT"
		for i in 1 2 3; do lm_fail "$step: skipped"; done
		reboot_sim
		continue
	fi
	LIVEMIRROR_CRASH_AT=$step "$H" switch $(members) >"$OUT" 2>&1
	lm_eq "$step: helper crashed at the step" 99 $?
	reboot_sim
	# Pass the metadata in another order: the coordinator is found by uuid.
	"$H" recover --meta /dev/mapper/g-meta2 --meta /dev/mapper/g-meta0 \
		--meta /dev/mapper/g-meta1 >"$OUT" 2>&1
	lm_eq "$step: every member recovers to the $leg" "$leg $leg $leg" "$(legs "$OUT")"
	want=$([ $leg = dest ] && echo "switched switched switched " || echo "copying copying copying ")
	lm_eq "$step: no member left prepared" "$want" "$(states)"
	ok_data=1
	for ((i = 0; i < N; i++)); do
		src=/dev/mapper/g-src$i
		[ $leg = dest ] && src=/dev/mapper/g-dst$i
		[ "$(lm_sum $src)" = "${sums[$i]}" ] || ok_data=0
	done
	lm_eq "$step: data verifies on the $leg of every member" 1 $ok_data
done

# An error before the commit point rolls back: abort_prepare, old tables
# resumed, nothing suspended, every metadata back to copying.
setup
for f in "${FAILS[@]}"; do
	LIVEMIRROR_FAIL_AT=$f "$H" switch $(members) >"$OUT" 2>&1
	lm_eq "failure at $f: switch exits 1" 1 $?
	lm_ok "failure at $f: nothing suspended" nothing_suspended
	lm_eq "failure at $f: every member still mirroring and synced" "synced synced synced" \
		"$(for d in $(members); do lm_field $d state; done | xargs)"
done
reboot_sim
lm_eq "after the failures no metadata is prepared" "copying copying copying " "$(states)"
# A member that is not synced: refused before anything is suspended.
setup
dmsetup remove g-vm1
dd if=/dev/zero of=/dev/mapper/g-meta1 bs=1M count=1 oflag=direct status=none
"$H" create g-vm1 --meta /dev/mapper/g-meta1 --source /dev/mapper/g-src1 \
	--dest /dev/mapper/g-dst1 --region-size 64K --label grp1 --paused >/dev/null 2>&1
"$H" switch $(members) >"$OUT" 2>&1
lm_eq "group with a member not synced: refused (exit 3)" 3 $?
reboot_sim
rm -f "$OUT"
lm_exit
