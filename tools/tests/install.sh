#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host-side: `make install` into a staging root puts the modules under
# /lib/modules/<kver>/updates, the helper and its man page under the prefix.
top=$(cd "$(dirname "$0")/../.." && pwd)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
echo "TAP version 13"
echo "1..4"
kver=$(make -s -C "$top" --no-print-directory -f - print-kver <<'MK' 2>/dev/null
include Makefile
print-kver:
	@echo $(KVER)
MK
)
if make -s -C "$top" install DESTDIR="$stage" PREFIX=/usr >"$stage.log" 2>&1; then
	echo "ok 1 make install DESTDIR=... succeeds"
else
	echo "not ok 1 make install DESTDIR=... succeeds"; tail -20 "$stage.log" | sed 's/^/# /'
fi
rm -f "$stage.log"
n=$(ls "$stage/lib/modules/$kver/updates/"dm-{dirtylog,livemirror}.ko 2>/dev/null | wc -l)
[ "$n" = 2 ] && echo "ok 2 both modules in /lib/modules/$kver/updates" || echo "not ok 2 both modules in /lib/modules/$kver/updates (found $n)"
[ -x "$stage/usr/sbin/livemirror" ] || [ -x "$stage/usr/bin/livemirror" ] &&
	echo "ok 3 the helper is installed" || echo "not ok 3 the helper is installed"
ls "$stage"/usr/share/man/man8/livemirror.8* >/dev/null 2>&1 &&
	echo "ok 4 the man page is installed" || echo "not ok 4 the man page is installed"
