#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host-side: the boot unit (tools/systemd/livemirror-boot.service) and its
# target, as 'make install' ships them, pass 'systemd-analyze verify', are
# ordered after LVM activation and before the consumers, and point
# ExecStart at the installed helper.  verify needs the binaries it names
# (and the man page for Documentation=): the installed units are verified
# from a temporary copy whose ExecStart names the built helper (the file
# installed as $PREFIX/sbin/livemirror), with MANPATH at the staged man
# pages; a copy with a missing ExecStart binary must fail, so that a pass
# means something.
top=$(cd "$(dirname "$0")/../.." && pwd)
stage=$(mktemp -d) copy=$(mktemp -d)
trap 'rm -rf "$stage" "$copy"' EXIT
n=0 fail=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
nok() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n - $*"; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else nok "$d"; fi; }
echo "TAP version 13"
if ! command -v systemd-analyze >/dev/null; then
	echo "1..0 # SKIP no systemd-analyze"
	exit 0
fi
echo "1..9"
units=(livemirror-boot.service livemirror-ready.target)
unitdir=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || echo /lib/systemd/system)

make -s -C "$top/userspace" install DESTDIR="$stage" PREFIX=/usr >"$stage.log" 2>&1
rc=$?
check "make install DESTDIR=... PREFIX=/usr succeeds" test $rc = 0
[ $rc = 0 ] || sed 's/^/# /' "$stage.log" | tail -20
rm -f "$stage.log"
svc=$stage$unitdir/livemirror-boot.service
check "both units installed in $unitdir" test -f "$svc" -a -f "$stage$unitdir/livemirror-ready.target"
check "ExecStart names the installed helper /usr/sbin/livemirror, which is there" \
	bash -c 'grep -qx "ExecStart=/usr/sbin/livemirror boot.*" "$1" && test -x "$2/usr/sbin/livemirror"' _ "$svc" "$stage"

for u in "${units[@]}"; do
	sed "s|/usr/sbin/livemirror|$top/userspace/livemirror|g" "$stage$unitdir/$u" >"$copy/$u"
done
out=$(MANPATH=$stage/usr/share/man systemd-analyze verify "${units[@]/#/$copy/}" 2>&1)
rc=$?
check "systemd-analyze verify passes, with nothing to say (exit $rc)" test $rc = 0 -a -z "$out"
[ -z "$out" ] || printf '#   %s\n' "$out"

# The unit's ordering, as systemd reads it (continuation lines joined).
prop() { sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$copy/livemirror-boot.service" |
	sed -n "s/^$1=//p" | tr -s ' \t' '\n'; }
after=$(prop After) before=$(prop Before)
check "After= LVM activation (lvm2-activation*.service) and udev settle" \
	bash -c 'for u in lvm2-activation.service lvm2-activation-early.service systemd-udev-settle.service; do
		grep -qx "$u" <<<"$1" || exit 1; done' _ "$after"
check "Before= libvirtd.service, pve-guests.service and livemirror-ready.target" \
	bash -c 'for u in libvirtd.service pve-guests.service livemirror-ready.target; do
		grep -qx "$u" <<<"$1" || exit 1; done' _ "$before"
check "oneshot, RemainAfterExit, runs 'livemirror boot'" \
	bash -c 'grep -qx Type=oneshot "$1" && grep -qx RemainAfterExit=yes "$1" &&
		grep -q "^ExecStart=.*/livemirror boot" "$1"' _ "$copy/livemirror-boot.service"

sed -i 's|^ExecStart=.*|ExecStart=/nonexistent/livemirror boot|' "$copy/livemirror-boot.service"
MANPATH=$stage/usr/share/man systemd-analyze verify "$copy/livemirror-boot.service" >/dev/null 2>&1
check "control: verify fails for a unit whose ExecStart binary is missing" test $? != 0
check "the installed helper knows the command ('livemirror boot --help')" \
	bash -c '"$1/usr/sbin/livemirror" boot --help | grep -q "^usage: livemirror boot"' _ "$stage"
[ "$fail" = 0 ]
