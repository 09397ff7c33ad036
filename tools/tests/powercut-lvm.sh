#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Power cuts during 'livemirror lvmove' and 'livemirror switch', each
# followed by a reboot that runs what a host's boot runs (issue 16: "a power
# cut at every step of lvmove and of the switch's LVM part, with a reboot
# that runs the boot command"; "a reboot mid-migration with autoactivation",
# lvm2#136).
#
# For each step: two sparse PV images survive two guest boots.  Boot 1
# (tools/tests/powercut/lvm-guest.sh cut STEP) moves a mounted, written
# ext4 LV from vda to vdb with the test helper held at STEP; when the guest
# asks ($run/boot1/cut-now), this script kills qemu with SIGKILL: no sync,
# no flush, no clean exit of anything.  Boot 2 (lvm-guest.sh boot STEP):
# vgchange -aay must return, 'livemirror boot' must handle the migration,
# the hypervisor's lvchange -aey must give an LV with every file that was
# durable before the cut, lvmove run again must end like pvmove, and
# refreshes must leave the data alone.
#
# A step named switch-S cuts a switch across VGs held at S instead
# (lvm-guest.sh: boot 2 starts the VM on the LV the decision names, and
# lvm-finish must then leave nothing on the old PV).
#
# PC_LVM_STEPS: the steps (default: after-commit and switch-after-commit,
# the ones make check runs; "all", make powercut-lvm: a cut mid-copy and at
# every step of lvmove, of its switch's LVM part and of a switch across VGs).
# PC_KEEP=1 keeps the run directories.  TAP output.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2
run=$top/tools/vm/run-in-guest
moddir=${LM_MODDIR:-$top}
steps=${PC_LVM_STEPS:-after-commit switch-after-commit}
[ "$steps" = all ] && steps="mid-copy after-alloc-meta after-start after-arm-0 after-suspend \
	after-commit after-resume after-unstack before-swap after-swap after-refresh after-lvremove \
	after-unfence after-scrub \
	switch-after-arm-0 switch-after-suspend switch-after-confirm switch-after-commit \
	switch-after-load switch-after-resume switch-after-remove-source-0 \
	switch-before-vgcfgrestore switch-after-vgcfgrestore switch-after-retire-0"
tmo=1
[ "${LM_KERNEL:-default}" = debug ] && tmo=4
T0=$(date +%s)

skip() { echo "1..0 # SKIP $*"; exit 0; }
tools/kernel/kernel-info kver >/dev/null 2>&1 || skip "no guest kernel (make deps)"
command -v qemu-system-x86_64 >/dev/null || skip "no qemu-system-x86_64"
for f in "$moddir/dm-livemirror/dm-livemirror.ko" "$moddir/dm-dirtylog/dm-dirtylog.ko" \
	userspace/livemirror userspace/livemirror-test; do
	[ -e "$f" ] || skip "$f is not built (make all tools)"
done

. "$top/tools/tests/powercut/host-lib.sh"

nsteps=$(wc -w <<<"$steps")
# Per step: boot 1's guest checks (lvm-guest.sh phase_cut's lm_plan), the
# cut, boot 2's guest checks (phase_boot's lm_plan), boot 2's end.
cut_checks=3 boot_checks=10 per_step=$((cut_checks + 1 + boot_checks + 1))
echo "TAP version 13"
echo "1..$((nsteps * per_step))"
base=$top/build/vm/runs/powercut-lvm-${LM_KERNEL:-default}
rm -rf "$base"
mkdir -p "$base"
[ "${PC_KEEP:-0}" = 1 ] || trap '[ "$fail" = 0 ] && rm -rf "$base"' EXIT
envs=(--env "LM_MODDIR=$moddir")

for step in $steps; do
	dir=$base/$step
	mkdir -p "$dir"
	truncate -s 256M "$dir/pv1.img" "$dir/pv2.img"
	t1=$(date +%s)
	"$run" --timeout $((600 * tmo)) --smp 2 --out "$dir/boot1" --disk "$dir/pv1.img" \
		--disk "$dir/pv2.img" "${envs[@]}" -- \
		bash -c "tools/tests/powercut/lvm-guest.sh cut $step 2>&1 | tee \$LM_OUT/tap" \
		>"$dir/boot1.log" 2>&1 &
	rig=$!
	cut_by=""
	while kill -0 "$rig" 2>/dev/null; do
		if [ -e "$dir/boot1/cut-now" ] && [ -z "$cut_by" ]; then
			qpid=$(cut_qemu "$rig") && cut_by="SIGKILL of qemu at $(cat "$dir/boot1/cut-now")"
		fi
		sleep 0.1
	done
	wait "$rig"
	rc1=$?
	[ -e "$dir/boot1/cut-self" ] && cut_by=$(sed 's/^# //' "$dir/boot1/cut-self")
	guest_tap "$dir/boot1/tap" "$cut_checks" "$step, boot 1"
	check "$step: boot 1 ended by the power cut (${cut_by:-no cut}; run-in-guest exit $rc1, $(( $(date +%s) - t1 )) s)" \
		test "$rc1" = 124 -a ! -e "$dir/boot1/rc" -a -n "$cut_by"
	mkdir -p "$dir/boot2"
	cp "$dir/boot1/durable" "$dir/boot2/durable" 2>/dev/null
	t2=$(date +%s)
	"$run" --timeout $((900 * tmo)) --smp 2 --out "$dir/boot2" --disk "$dir/pv1.img" \
		--disk "$dir/pv2.img" "${envs[@]}" -- \
		bash -c "tools/tests/powercut/lvm-guest.sh boot $step 2>&1 | tee \$LM_OUT/tap" \
		>"$dir/boot2.log" 2>&1
	rc2=$?
	guest_tap "$dir/boot2/tap" "$boot_checks" "$step, boot 2"
	grep 'run-in-guest:' "$dir/boot2.log" | sed 's/^/# /'
	check "$step: boot 2 ended normally with a clean kernel log (exit $rc2, $(( $(date +%s) - t2 )) s)" \
		test "$rc2" = 0
done
diag "total $(( $(date +%s) - T0 )) s for: $steps"
[ "$n" = $((nsteps * per_step)) ] || nok "the plan: $n results instead of $((nsteps * per_step))"
[ "$fail" = 0 ] || diag "$fail failed; consoles, logs and images kept in $base"
[ "$fail" = 0 ]
