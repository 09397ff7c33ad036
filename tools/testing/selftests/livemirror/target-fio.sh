#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# livemirror under guest writes: fio --verify while the copy runs over a
# slow source (dm-delay, so writes race the copy of their region), again
# after sync, then switch and verify the data on the destination alone.
. "$(dirname "$0")/lib.sh"
lm_require_guest
lm_plan 9

lm_ok "modules load" lm_load_modules
modprobe dm-delay
N=32768	# 16 MiB, 256 regions of 64 KiB

lm_slice fi-m 1 && lm_slice fi-sb 16 && lm_slice fi-d 16
lm_fill /dev/mapper/fi-sb
# reads of the source (the copier's) are slow, writes are not
dmsetup create fi-s --table "0 $N delay /dev/mapper/fi-sb 0 5 /dev/mapper/fi-sb 0 0"
lm_on_exit "dmsetup remove --retry fi-s"
dmsetup create fi --table "0 $N livemirror /dev/mapper/fi-m /dev/mapper/fi-s /dev/mapper/fi-d 128 4 throttle 1 copy_depth 8"
lm_on_exit "dmsetup remove --retry fi"

before=$(lm_field fi state)
F="--filename=/dev/mapper/fi --direct=1 --ioengine=psync --bs=4k --verify=crc32c --verify_fatal=1"
lm_ok "fio randwrite+verify during the copy" \
	fio --name=during $F --rw=randwrite --size=16M --io_size=4M --randseed=11 --output=/tmp/fio1.log
lm_diag "state after the first fio: $(lm_info fi)"
lm_eq "the copy was running when the writes started" copying "$before"
dmsetup message fi 0 throttle 0
lm_ok "synced" lm_wait_state fi synced 120
lm_ok "destination identical to the source" lm_same /dev/mapper/fi-sb /dev/mapper/fi-d $N

lm_ok "fio randwrite+verify after sync" \
	fio --name=after $F --rw=randwrite --size=16M --randseed=22 --output=/tmp/fio2.log
dmsetup suspend fi
lm_ok "switch while suspended" dmsetup message fi 0 switch
dmsetup resume fi
lm_eq "state switched" switched "$(lm_field fi state)"
dmsetup remove fi
lm_ok "the destination alone holds what fio wrote (verify_only)" \
	fio --name=after ${F/\/dev\/mapper\/fi /\/dev\/mapper\/fi-d } --rw=randwrite --size=16M \
	--randseed=22 --verify_only --output=/tmp/fio3.log
lm_exit
