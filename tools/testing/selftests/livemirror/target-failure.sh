#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# livemirror: a destination that fails (its dm device swapped to 'error')
# never fails guest I/O, degrades the mirror (health ADA, dest_errors), and
# 'retry' (or dest_error retry after 5 s) resynchronises it; a failing
# source fails the guest's I/O.
. "$(dirname "$0")/lib.sh"
lm_require_guest
lm_plan 16

lm_ok "modules load" lm_load_modules
N=16384

# swap DEV TABLE: replace the table of a leg device under the mirror
swap() { dmsetup load "$1" --table "$2" && dmsetup suspend "$1" && dmsetup resume "$1"; }

lm_slice fa-m 1 && lm_slice fa-s 8 && lm_slice fa-dd 8
dmsetup create fa-d --table "0 $N linear /dev/mapper/fa-dd 0"
lm_on_exit "dmsetup remove --retry fa-d"
lm_fill /dev/mapper/fa-s
dmsetup create fa --table "0 $N livemirror /dev/mapper/fa-m /dev/mapper/fa-s /dev/mapper/fa-d 128"
lm_on_exit "dmsetup remove --retry fa"
lm_wait_state fa synced 60

swap fa-d "0 $N error"
head -c 1048576 /dev/urandom >/tmp/fa.data
lm_ok "a write while the destination fails succeeds" \
	dd if=/tmp/fa.data of=/dev/mapper/fa bs=64k seek=16 oflag=direct status=none
lm_ok "the write is on the source" cmp -s /tmp/fa.data <(dd if=/dev/mapper/fa-s bs=64k skip=16 count=16 iflag=direct status=none)
read -r -a st <<<"$(lm_info fa)"
lm_eq "status: degraded, health ADA, not mirroring" "degraded ADA 0" "${st[2]} ${st[3]} ${st[6]}"
lm_ok "status: destination errors counted" test "${st[7]}" -ge 1
lm_ok "status: written regions are dirty" test "${st[1]}" -ge 1
sleep 6
lm_eq "dest_error stop: still degraded after 6 s" degraded "$(lm_field fa state)"
swap fa-d "0 $N linear /dev/mapper/fa-dd 0"
lm_ok "retry message accepted" dmsetup message fa 0 retry
lm_ok "retry resynchronises" lm_wait_state fa synced 60
lm_eq "health back to AAA" AAA "$(lm_field fa health)"
lm_ok "destination identical to source after retry" lm_same /dev/mapper/fa-s /dev/mapper/fa-dd $N

# dest_error retry: the target retries by itself after 5 s
dmsetup reload fa --table "0 $N livemirror /dev/mapper/fa-m /dev/mapper/fa-s /dev/mapper/fa-d 128 2 dest_error retry"
dmsetup suspend fa && dmsetup resume fa
lm_wait_state fa synced 60
swap fa-d "0 $N error"
dd if=/dev/urandom of=/dev/mapper/fa bs=64k count=8 seek=40 oflag=direct status=none
lm_diag "after the failed write: $(lm_info fa)"
swap fa-d "0 $N linear /dev/mapper/fa-dd 0"
lm_diag "after the repair: $(lm_info fa)"
lm_ok "dest_error retry: resynchronised without a message" lm_wait_state fa synced 60
lm_diag "synced: $(lm_info fa)"
lm_ok "dest_error retry: destination identical" lm_same /dev/mapper/fa-s /dev/mapper/fa-dd $N
cmp <(dd if=/dev/mapper/fa-s iflag=direct bs=64k status=none) \
	<(dd if=/dev/mapper/fa-dd iflag=direct bs=64k status=none) | sed 's/^/# /'
dmesg | grep livemirror | tail -12 | sed 's/^/# /'

# a failing source fails the guest's reads and writes
dmsetup create fa-s2 --table "0 $N linear /dev/mapper/fa-s 0"
lm_on_exit "dmsetup remove --retry fa-s2"
lm_slice fa-m2 1 && lm_slice fa-d2 8
dmsetup create fa2 --table "0 $N livemirror /dev/mapper/fa-m2 /dev/mapper/fa-s2 /dev/mapper/fa-d2 128"
lm_on_exit "dmsetup remove --retry fa2"
lm_wait_state fa2 synced 60
swap fa-s2 "0 $N error"
lm_not "a read from a failed source fails" dd if=/dev/mapper/fa2 of=/dev/null bs=4k count=1 skip=5 iflag=direct status=none
lm_not "a write to a failed source fails" dd if=/dev/zero of=/dev/mapper/fa2 bs=4k count=1 seek=5 oflag=direct status=none
lm_eq "status: source health D" D "$(lm_field fa2 health | cut -c1)"
swap fa-s2 "0 $N linear /dev/mapper/fa-s 0"
lm_exit
