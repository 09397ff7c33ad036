#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host-side checks of the guest runner itself: exit status, disks, and the
# kernel-log scan that must fail a run whose command passed.
top=$(cd "$(dirname "$0")/../../.." && pwd)
run=$top/tools/vm/run-in-guest
n=0 fail=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n $2"; else fail=$((fail + 1)); echo "not ok $n $2"; fi; }

echo "TAP version 13"
echo "1..7"
mkdir -p "$top/build/vm/runs"
d=$(mktemp -d "$top/build/vm/runs/selftest.XXXXXX")
"$run" --timeout 180 --out "$d/a" --disk 16M -- bash -c '
	[ "$(blockdev --getsz /dev/vda)" = 32768 ] || exit 10
	printf lm-runner-disk-check | dd of=/dev/vda bs=512 seek=100 conv=sync,fsync status=none || exit 11
	modprobe dm-mod && dmsetup create rs-lin --table "0 2048 linear /dev/vda 0" || exit 12
	[ -b /dev/mapper/rs-lin ] || exit 13
	dmsetup remove rs-lin || exit 14
	exit 7' >"$d/a.out" 2>&1
rc=$?
ok $([ $rc = 7 ]; echo $?) "the command's exit status comes back to the host (got $rc, want 7)"
ok $(grep -q 'lm-guest: running' "$d/a/console.log"; echo $?) "the console log is captured on the host"
ok $(dd if="$d/a/disk0.img" bs=512 skip=100 count=1 status=none | grep -q lm-runner-disk-check; echo $?) \
	"a virtio disk written in the guest keeps its data on the host file"

"$run" --timeout 180 --out "$d/b" -- bash -c 'echo "WARNING: CPU: 0 PID: 1 at lm-test-warn (injected)" >/dev/kmsg; exit 0' >"$d/b.out" 2>&1
rc=$?
ok $([ $rc = 125 ]; echo $?) "a WARNING in the guest kernel log fails a passing run (got $rc, want 125)"
ok $(grep -q 'guest kernel log has problems' "$d/b.out"; echo $?) "the runner names the kernel-log problem"
# kmemleak: only where the debug kernel and a module built for it exist
# (make check KERNEL=debug builds both; building them here would take 10 min).
leakmod=$top/build/kmod/debug/tools/testing/selftests/livemirror/dirtylog-test/dirtylog_test.ko
if "$top/tools/kernel/build-debug-kernel" --cached >/dev/null && [ -f "$leakmod" ]; then
	LM_KERNEL=debug "$run" --timeout 900 --out "$d/c" -- bash -c "modprobe libcrc32c; modprobe dm-mod;
		insmod $top/build/kmod/debug/dm-dirtylog/dm-dirtylog.ko && insmod $leakmod phase=leak" >"$d/c.out" 2>&1
	rc=$?
	ok $([ $rc = 125 ]; echo $?) "debug kernel: memory a module loses fails a passing run (got $rc, want 125)"
	ok $(grep -q 'kmemleak: unreferenced object from livemirror code' "$d/c.out"; echo $?) "the runner names the kmemleak report"
else
	echo "ok 6 debug kernel: kmemleak detection # SKIP no debug kernel built (make check KERNEL=debug)"
	echo "ok 7 the runner names the kmemleak report # SKIP"
	n=$((n + 2))
fi
rm -rf "$d"
[ $fail = 0 ]
