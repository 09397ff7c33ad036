#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host-side: DKMS builds both modules from a copy of the tree against the
# installed kernel headers, in private DKMS and source trees (nothing is
# installed on the machine).
top=$(cd "$(dirname "$0")/../.." && pwd)
echo "TAP version 13"
echo "1..3"
kver=$("$top/tools/kernel/kernel-info" default kver 2>/dev/null)
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$top/dkms.conf")
if ! command -v dkms >/dev/null || [ -z "$kver" ]; then
	echo "ok 1 dkms build # SKIP dkms or kernel headers missing"; echo "ok 2 # SKIP"; echo "ok 3 # SKIP"; exit 0
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
