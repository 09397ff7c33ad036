#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# livemirror: the kernel review's M7 at b790ef5.  The constructor held the
# module's global log mutex across the metadata I/O of the open (and the
# format of new metadata), so one hung or slow metadata device stalled the
# create, reload and remove of every other livemirror device.  Now:
#   - a table whose metadata device hangs blocks no other device's create
#     or remove; a second table of the same metadata waits for the first
#     (two logs must never write one device), and both complete once the
#     metadata device is back;
#   - the format is lazy: new metadata costs two superblock writes, not one
#     write per bitmap block (4 TiB at 64 KiB regions: 2065 blocks).
. "$(dirname "$0")/lib.sh"
lm_require_guest
lm_plan 10

lm_ok "modules load" lm_load_modules
modprobe loop
W=$(mktemp -d /dev/shm/m7.XXXXXX)
lm_on_exit "rm -rf $W"

# done_within SECONDS PIDFILE: the background command whose pid is in
# PIDFILE ended within SECONDS (a D-state ioctl cannot be killed, so the
# test waits instead of using timeout(1)).
done_within() {
	local i pid
	pid=$(cat "$2")
	for ((i = 0; i < $1 * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}
bg() {	# bg NAME CMD...: run CMD in the background, its rc in $W/NAME.rc
	local name=$1
	shift
	("$@" >"$W/$name.out" 2>&1; echo $? >"$W/$name.rc") &
	echo $! >"$W/$name.pid"
}

# ---- a hung metadata device stalls only its own tables ---------------------
lm_slice m7a-m 1 && lm_slice m7a-s 4 && lm_slice m7a-d 4
lm_slice m7b-m 1 && lm_slice m7b-s 4 && lm_slice m7b-d 4
dmsetup create m7a-mm --table "0 2048 linear /dev/mapper/m7a-m 0"
lm_on_exit "dmsetup resume m7a-mm 2>/dev/null; dmsetup remove --retry m7a-mm"
TA="0 $((4 * 2048)) livemirror /dev/mapper/m7a-mm /dev/mapper/m7a-s /dev/mapper/m7a-d 128"
TB="0 $((4 * 2048)) livemirror /dev/mapper/m7b-m /dev/mapper/m7b-s /dev/mapper/m7b-d 128"
# A's metadata device is suspended: every read of it waits
dmsetup suspend m7a-mm
bg a dmsetup create m7a --table "$TA"
lm_on_exit "dmsetup remove --retry m7a 2>/dev/null"
sleep 3
lm_not "A's create waits for its hung metadata device" done_within 0 "$W/a.pid"
bg b dmsetup create m7b --table "$TB"
lm_on_exit "dmsetup remove --retry m7b 2>/dev/null"
lm_ok "M7: another device's create does not wait for it" done_within 30 "$W/b.pid"
lm_eq "M7: (and succeeds)" 0 "$(cat "$W/b.rc" 2>/dev/null)"
bg br dmsetup remove m7b
lm_ok "M7: nor does another device's remove" \
	eval 'done_within 30 "$W/br.pid" && test "$(cat "$W/br.rc")" = 0'

# the same metadata under a second name: must wait for A's open, then be
# refused (one mapped device per log), never open a second log
bg a2 dmsetup create m7a2 --table "$TA"
lm_on_exit "dmsetup remove --retry m7a2 2>/dev/null"
sleep 2
lm_not "a second table of the hung metadata waits for the first" done_within 0 "$W/a2.pid"
dmsetup resume m7a-mm
done_within 60 "$W/a.pid" && done_within 60 "$W/a2.pid"
lm_ok "A's create completes once its metadata is back (rc $(cat "$W/a.rc" 2>/dev/null), $(tr '\n' ' ' <"$W/a.out"))" \
	test "$(cat "$W/a.rc" 2>/dev/null)" = 0
lm_ok "the second table of A's metadata is refused ($(tr '\n' ' ' <"$W/a2.out"))" \
	test "$(cat "$W/a2.rc" 2>/dev/null)" != 0
dmsetup remove --retry m7a2 2>/dev/null
dmsetup resume m7a
lm_ok "A synchronises" lm_wait_state m7a synced 120

# ---- lazy format -----------------------------------------------------------
# 4 TiB dm-zero legs, 64 KiB regions: 2^26 regions, 2065 bitmap blocks.
# Counted: metadata sectors written by the create (the table is loaded
# suspended and never resumed, so no copy runs).
truncate -s 12M "$W/lazy.img"
ML=$(losetup -f --show "$W/lazy.img")
lm_on_exit "losetup -d $ML"
BIG=$((4 << 31))	# 4 TiB in sectors
dmsetup create m7z-s --table "0 $BIG zero"
dmsetup create m7z-d --table "0 $BIG zero"
lm_on_exit "dmsetup remove --retry m7z-s; dmsetup remove --retry m7z-d"
wsect() { awk '{ print $7 }' "/sys/block/$(basename "$ML")/stat"; }
w0=$(wsect)
t0=$(date +%s%N)
dmsetup create m7z --notable
dmsetup load m7z --table "0 $BIG livemirror $ML /dev/mapper/m7z-s /dev/mapper/m7z-d 128"
t1=$(date +%s%N)
lm_on_exit "dmsetup remove --retry m7z"
w1=$(wsect)
lm_diag "create of a 4 TiB table on zeroed metadata: $(((t1 - t0) / 1000000)) ms, $((w1 - w0)) metadata sectors written"
lm_ok "lazy format: at most 4 blocks written ($((w1 - w0)) sectors)" test $((w1 - w0)) -le 32
dmsetup remove m7z
lm_exit
