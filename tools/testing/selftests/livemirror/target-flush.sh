#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# livemirror: a guest flush reaches both legs and a FUA write carries FUA on
# both legs.  Each leg is a dm-log-writes device over a loop device (loop
# has a write cache, so flushes are not stripped); the logs are read back.
. "$(dirname "$0")/lib.sh"
lm_require_guest
lm_plan 6

lm_ok "modules load" lm_load_modules
modprobe loop
modprobe dm-log-writes

mkloop() { truncate -s "$2" "/tmp/fl-$1.img" && losetup -f --show "/tmp/fl-$1.img"; }
S=$(mkloop s 4M) D=$(mkloop d 4M) SL=$(mkloop sl 64M) DL=$(mkloop dl 64M) M=$(mkloop m 1M)
lm_on_exit "losetup -d $S $D $SL $DL $M"
N=8192
dd if=/dev/urandom of="$S" bs=1M count=4 oflag=direct status=none
dmsetup create fl-s --table "0 $N log-writes $S $SL"
dmsetup create fl-d --table "0 $N log-writes $D $DL"
dmsetup create fl --table "0 $N livemirror $M /dev/mapper/fl-s /dev/mapper/fl-d 128"
lm_wait_state fl synced 60
# wait until nothing is left to lazily clear, so no clear flushes follow
for ((i = 0; i < 60; i++)); do [ "$(lm_field fl dirty)" = 0 ] && break; sleep 0.5; done

dmsetup message fl-s 0 mark m1 && dmsetup message fl-d 0 mark m1
# fsync of the block device issues an empty REQ_PREFLUSH
dd if=/dev/zero of=/dev/mapper/fl bs=4k count=0 conv=fsync,notrunc status=none
dmsetup message fl-s 0 mark m2 && dmsetup message fl-d 0 mark m2
dd if=/dev/urandom of=/dev/mapper/fl bs=4k count=1 seek=100 oflag=direct,dsync status=none
dmsetup message fl-s 0 mark m3 && dmsetup message fl-d 0 mark m3
dmsetup remove fl && dmsetup remove fl-s && dmsetup remove fl-d

# count LOG flags (1 flush, 2 fua) of the entries between two marks
count() {
	/usr/bin/python3 - "$1" "$2" "$3" "$4" <<'PY'
import struct, sys
dev, a, b, bit = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
with open(dev, 'rb') as f:
    sb = f.read(512)
    magic, ver, nr, ss = struct.unpack_from('<QQQI', sb)
    sec, inside, n = ss // 512, False, 0
    for _ in range(nr):
        f.seek(sec * 512)
        e = f.read(512)
        sector, nsec, flags, dlen = struct.unpack_from('<QQQQ', e)
        if flags & 8:
            name = e[32:32 + dlen].decode()
            if name == a: inside = True
            if name == b: inside = False
        elif inside and flags & bit:
            n += 1
        sec += 1 + (0 if flags & 4 else nsec)
print(n)
PY
}
lm_ok "the flush reached the source" test "$(count "$SL" m1 m2 1)" -ge 1
lm_ok "the flush reached the destination" test "$(count "$DL" m1 m2 1)" -ge 1
lm_ok "the FUA write is FUA on the source" test "$(count "$SL" m2 m3 2)" -ge 1
lm_ok "the FUA write is FUA on the destination" test "$(count "$DL" m2 m3 2)" -ge 1
lm_ok "no FUA before the FUA write (parser sanity)" test "$(count "$DL" m1 m2 2)" -eq 0
lm_exit
