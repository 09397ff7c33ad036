#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# dm-dirtylog on its own, through the test-only module in dirtylog-test/
# (build it with 'make -C tools/testing/selftests/livemirror/dirtylog-test'):
# formatting, marks and commits, persistence, bad blocks, superblock slots,
# state changes, a metadata device whose writes fail (dm-flakey), and the
# batches of a large write (M5).
. "$(dirname "$0")/lib.sh"
lm_require_guest

tmod=$LM_MODDIR/tools/testing/selftests/livemirror/dirtylog-test/dirtylog_test.ko
if [ ! -f "$tmod" ]; then
	echo "1..0 # SKIP dirtylog-test module not built"
	exit 4
fi
lm_plan 5

modprobe libcrc32c
modprobe dm-mod
modprobe dm-flakey
grep -q '^dm_dirtylog ' /proc/modules || insmod "$LM_MODDIR/dm-dirtylog/dm-dirtylog.ko"

# run_phase DEV PHASE: load the test module once; its TAP lines become
# diagnostics, its load status the verdict.
run_phase() {
	local tag="dirtylog-kmod-$2-$$" rc
	echo "$tag" >/dev/kmsg
	insmod "$tmod" dev="$1" phase="$2"
	rc=$?
	grep -q '^dirtylog_test ' /proc/modules && rmmod dirtylog_test
	dmesg | sed -n "/$tag/,\$p" | sed -n 's/.*dirtylog_test: /  /p' | while read -r l; do lm_diag "$l"; done
	return $rc
}

lm_slice dtl-meta 16
lm_ok "fresh: format, marks, commits, reload, bad blocks, slots, states" \
	run_phase /dev/mapper/dtl-meta fresh

sz=$(lm_dev_sectors /dev/mapper/dtl-meta)
# The fail phase opens the log (which writes its attach record) while the
# writes work, then waits for "go": the table then fails every write.
dmsetup create dtl-fail --table "0 $sz linear /dev/mapper/dtl-meta 0"
lm_on_exit "dmsetup remove --retry dtl-fail"
fail_writes() {
	local i
	for ((i = 0; i < 600; i++)); do
		dmesg | grep -q "dirtylog_test: # waiting for go" && break
		sleep 0.1
	done
	dmsetup suspend dtl-fail &&
		dmsetup reload dtl-fail --table "0 $sz flakey /dev/mapper/dtl-meta 0 0 1 1 error_writes" &&
		dmsetup resume dtl-fail &&
		echo 1 >/sys/module/dirtylog_test/parameters/go
}
dmesg -C
fail_writes &
lm_ok "fail: metadata write error fails the log and its waiters" \
	run_phase /dev/mapper/dtl-fail fail
wait
dmsetup remove --retry dtl-fail

lm_ok "verify: nothing was written after the failure" \
	run_phase /dev/mapper/dtl-meta verify

lm_slice dtl-ident 16
lm_ok "ident: identity, trust, reuse and the attach record" \
	run_phase /dev/mapper/dtl-ident ident
lm_slice dtl-batch 4
lm_ok "batch: a write of 300 bitmap blocks goes out in batches of 256" \
	run_phase /dev/mapper/dtl-batch batch
lm_exit
