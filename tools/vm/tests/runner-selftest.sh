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
echo "1..5"
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
rm -rf "$d"
[ $fail = 0 ]
