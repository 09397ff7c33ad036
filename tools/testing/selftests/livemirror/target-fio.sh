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
N=65536	# 32 MiB, 512 regions of 64 KiB: the copy at 1 MiB/s lasts 32 s

lm_slice fi-m 1 && lm_slice fi-sb 32 && lm_slice fi-d 32
lm_fill /dev/mapper/fi-sb
# reads of the source (the copier's) are slow, writes are not
dmsetup create fi-s --table "0 $N delay /dev/mapper/fi-sb 0 5 /dev/mapper/fi-sb 0 0"
lm_on_exit "dmsetup remove --retry fi-s"
dmsetup create fi --table "0 $N livemirror /dev/mapper/fi-m /dev/mapper/fi-s /dev/mapper/fi-d 128 5 start_paused throttle 1 copy_depth 8"
lm_on_exit "dmsetup remove --retry fi"

# fio may take many seconds to start in a loaded guest: the copy starts
# with fio's first write, and must still run after its last one (4 MiB of
# 4 KiB writes: 1024 writes on the source)
src_writes() { awk '{ print $5 }' "/sys/block/dm-$(dmsetup info -c --noheadings -o minor fi-sb | tr -d ' ')/stat"; }
w0=$(src_writes)
F="--filename=/dev/mapper/fi --direct=1 --ioengine=psync --bs=4k --verify=crc32c --verify_fatal=1"
fio --name=during $F --rw=randwrite --size=16M --io_size=4M --randseed=11 --output=/tmp/fio1.log &
fpid=$!
for ((i = 0; i < 600; i++)); do [ "$(src_writes)" -gt "$w0" ] && break; sleep 0.2; done
dmsetup message fi 0 resume
for ((i = 0; i < 600; i++)); do [ "$(src_writes)" -ge $((w0 + 1024)) ] && break; sleep 0.2; done
st=$(lm_info fi)
wait $fpid
lm_ok "fio randwrite+verify during the copy" test $? = 0
lm_diag "state after the last write: $st"
read -r -a a <<<"$st"
lm_ok "the copy ran during all the writes" test "${a[2]}" = copying -a "${a[0]%/*}" -gt 0
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
