#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host-side: DKMS builds both modules from a copy of the tree against the
# installed kernel headers, in private DKMS and source trees (nothing is
# installed on the machine).  Then 'make dkms-install' into a staging root:
# the modules' source in its /usr/src, DKMS builds them from there, and the
# helper and the boot unit are installed beside them.
top=$(cd "$(dirname "$0")/../.." && pwd)
echo "TAP version 13"
echo "1..6"
kver=$("$top/tools/kernel/kernel-info" default kver 2>/dev/null)
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$top/dkms.conf")
if ! command -v dkms >/dev/null || [ -z "$kver" ]; then
	for i in 1 2 3 4 5 6; do echo "ok $i dkms # SKIP dkms or kernel headers missing"; done; exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
src=$work/src/dm-livemirror-$ver
mkdir -p "$src" "$work/dkms"
(cd "$top" && git ls-files -z -co --exclude-standard 2>/dev/null | xargs -0 cp --parents -t "$src" 2>/dev/null) ||
	cp -r "$top"/. "$src"
opts=(--sourcetree "$work/src" --dkmstree "$work/dkms" -m dm-livemirror -v "$ver")
if dkms add "${opts[@]}" >"$work/log" 2>&1; then echo "ok 1 dkms add"; else echo "not ok 1 dkms add"; sed 's/^/# /' "$work/log"; fi
if dkms build "${opts[@]}" -k "$kver" >"$work/log" 2>&1; then
	echo "ok 2 dkms build against $kver"
else
	echo "not ok 2 dkms build against $kver"; sed 's/^/# /' "$work/log" | tail -20
	cat "$work/dkms/dm-livemirror/$ver/build/make.log" 2>/dev/null | tail -20 | sed 's/^/# /'
fi
n=$(find "$work/dkms/dm-livemirror/$ver/$kver" -name '*.ko*' 2>/dev/null | wc -l)
if [ "$n" = 2 ]; then echo "ok 3 both modules built by dkms"; else echo "not ok 3 both modules built by dkms (found $n)"; fi

root=$work/root
mkdir -p "$work/dkms2"
if make -s -C "$top" dkms-install DESTDIR="$root" PREFIX=/usr KVER="$kver" \
	DKMS_OPTS="--sourcetree $root/usr/src --dkmstree $work/dkms2" >"$work/log" 2>&1; then
	echo "ok 4 make dkms-install DESTDIR=... succeeds"
else
	echo "not ok 4 make dkms-install DESTDIR=... succeeds"; tail -20 "$work/log" | sed 's/^/# /'
fi
n=$(find "$work/dkms2/dm-livemirror/$ver/$kver" -name '*.ko*' 2>/dev/null | wc -l)
[ "$n" = 2 ] && [ -e "$root/usr/src/dm-livemirror-$ver/dkms.conf" ] &&
	echo "ok 5 DKMS built both modules from $root/usr/src/dm-livemirror-$ver" ||
	echo "not ok 5 DKMS built both modules from $root/usr/src/dm-livemirror-$ver (found $n)"
units=$(find "$root" -name livemirror-boot.service -o -name livemirror-ready.target | wc -l)
[ -x "$root/usr/sbin/livemirror" ] && [ "$units" = 2 ] &&
	echo "ok 6 the helper and the boot unit and target are installed with it" ||
	echo "not ok 6 the helper and the boot unit and target are installed with it (units: $units)"
