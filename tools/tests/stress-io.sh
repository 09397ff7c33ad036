#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host-side: the guest stress driver (stress_io) itself, under ASan and
# UBSan, on plain files (no dm, no ioctls: its discards and write-zeroes
# fail there and leave their sectors unknown).  It must verify its own
# writes, find a sector changed behind its back, and name the region that a
# compare finds different.
top=$(cd "$(dirname "$0")/../.." && pwd)
src=$top/tools/testing/selftests/livemirror/stress_io.c
echo "TAP version 13"
echo "1..4"
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
sio=$w/stress_io
if ! gcc -std=gnu11 -O1 -g -Wall -Wextra -Werror -fsanitize=address,undefined \
	-fno-sanitize-recover=all -fno-omit-frame-pointer "$src" -pthread -o "$sio" 2>"$w/cc.log"; then
	echo "not ok 1 stress_io builds with ASan+UBSan"; sed 's/^/#   /' "$w/cc.log"; exit 1
fi
echo "ok 1 stress_io builds with ASan+UBSan"
truncate -s 16M "$w/a.img"
ok=1
for p in 0 1 2; do
	"$sio" run "$w/a.img" "$w/state" 11 $p 3000 $((p * 15 + 2)) >"$w/run.log" 2>&1
	# only ENOTTY from the ioctls is expected on a file
	grep -q 'bad, ' "$w/run.log" && grep -q ' 0 bad' "$w/run.log" || ok=0
	grep '^# I/O error' "$w/run.log" | grep -qv 'Inappropriate ioctl' && ok=0
	grep -q 'Sanitizer' "$w/run.log" && ok=0
done
"$sio" verify "$w/a.img" "$w/state" >"$w/v.log" 2>&1 || ok=0
if [ $ok = 1 ]; then echo "ok 2 three phases of 3000 operations verify"; else
	echo "not ok 2 three phases of 3000 operations verify"; sed 's/^/#   /' "$w/run.log" "$w/v.log" | tail -20; fi
cp "$w/a.img" "$w/b.img"
# overwrite one known sector (the first verified one) in the copy
s=$(od -An -tu8 -w8 -v "$w/state" | awk '$1 != 18446744073709551615 {print NR - 1; exit}')
head -c 512 /dev/urandom | dd of="$w/b.img" bs=512 seek="$s" conv=notrunc status=none
if ! "$sio" verify "$w/b.img" "$w/state" >"$w/v.log" 2>&1 && grep -q "sector $s does not hold" "$w/v.log"; then
	echo "ok 3 verify finds the changed sector $s"; else echo "not ok 3 verify finds the changed sector $s"
	sed 's/^/#   /' "$w/v.log"; fi
out=$("$sio" compare "$w/a.img" "$w/b.img" 128 2>&1)
if [ $? = 1 ] && echo "$out" | grep -q "region $((s / 128)) differs" &&
	echo "$out" | grep -q ": 1 of 256 regions differ"; then
	echo "ok 4 compare names region $((s / 128))"; else echo "not ok 4 compare names region $((s / 128))"
	echo "$out" | sed 's/^/#   /'; fi
