#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Destination validation (review H4): start and create refuse, with exit 4
# and a message naming the reason, a destination that is the source's own
# PV or the live device, that another process holds open, that a dm table
# holds, that is already another migration's destination, or that carries
# a filesystem, PV or LUKS signature.  --force overrides; a clean
# destination is accepted; nothing is left suspended or half-created.
. "$(dirname "$0")/lib.sh"
lm_require_guest
H=$LM_HELPER
OUT=$(mktemp)
UUID=LVM-0123456789abcdef0123456789abcdefFEDCBA9876543210fedcba9876543211

exists() { dmsetup info "$1" >/dev/null 2>&1; }
# refused DESC DEST [START ARGS...]: exit 4, message, source table untouched.
refused() {
	local desc=$1 dest=$2 pat=$3
	shift 3
	expect_rc "$desc: refused" 4 "$H" start d-lv --meta /dev/mapper/d-meta --dest "$dest" "$@"
	lm_ok "$desc: the message says why" grep -q -- "$pat" "$OUT"
	lm_ok "$desc: table untouched, no hidden source" \
		bash -c "[ \"\$(dmsetup table d-lv)\" = '$orig_table' ] && ! dmsetup info d-lv-lmsrc >/dev/null 2>&1"
}

lm_plan 32
lm_load_modules || { lm_fail "modules load"; lm_exit; }
lm_lvm_setup
for s in d-pv:24 d-meta:1 d-meta2:1 d-clean:24 d-open:24 d-held:24 d-fs:24 d-pvsig:24 d-luks:24; do
	lm_slice "${s%%:*}" "${s##*:}" || { lm_fail "scratch devices"; lm_exit; }
done
dmsetup create d-lv --uuid "$UUID" --table "0 49152 linear /dev/mapper/d-pv 0"
lm_on_exit "dmsetup remove --retry d-lv"
lm_on_exit "dmsetup remove --retry d-lv-lmsrc"
lm_on_exit "dmsetup remove --retry d-lv2"
orig_table=$(dmsetup table d-lv)

refused "the source's own PV" /dev/mapper/d-pv "device stack of the source"
refused "the live device itself" /dev/mapper/d-lv "the source itself"

sleep 600 </dev/mapper/d-open &
holder=$!
lm_on_exit "kill $holder"
for ((i = 0; i < 100; i++)); do	# the shell opens it after the fork
	[ "$(dmsetup info -c --noheadings -o open d-open | tr -d ' ')" -ge 1 ] && break
	sleep 0.1
done
refused "a device a process holds open" /dev/mapper/d-open "open"
kill $holder; wait $holder 2>/dev/null

dmsetup create d-holder --table "0 49152 linear /dev/mapper/d-held 0"
lm_on_exit "dmsetup remove --retry d-holder"
refused "a device a dm table holds" /dev/mapper/d-held "held by"

mkfs.ext4 -q -F /dev/mapper/d-fs >/dev/null 2>&1
refused "a device with a filesystem" /dev/mapper/d-fs "ext4 signature"
pvcreate -q /dev/mapper/d-pvsig >/dev/null 2>&1
refused "a device with a PV signature" /dev/mapper/d-pvsig "LVM2_member signature"
printf 'LUKS\272\276\000\001' | dd of=/dev/mapper/d-luks conv=notrunc,sync oflag=direct bs=4096 status=none
refused "a device with a LUKS signature" /dev/mapper/d-luks "crypto_LUKS signature"

# create applies the same rules.
expect_rc "create onto a filesystem: refused" 4 "$H" create d-lv2 --meta /dev/mapper/d-meta2 \
	--source /dev/mapper/d-clean --dest /dev/mapper/d-fs
lm_not "create refused: no device made" exists d-lv2

# A clean destination is accepted; a second migration onto it is refused.
expect_rc "a clean destination is accepted" 0 "$H" start d-lv --meta /dev/mapper/d-meta --dest /dev/mapper/d-clean --throttle 1
expect_rc "create onto another migration's destination: refused" 4 "$H" create d-lv2 \
	--meta /dev/mapper/d-meta2 --source /dev/mapper/d-luks --dest /dev/mapper/d-clean
lm_ok "the message names the other migration" grep -q "already the destination of livemirror device d-lv" "$OUT"
lm_not "no second device made" exists d-lv2
expect_rc "cancel the first migration" 0 "$H" cancel d-lv
lm_eq "back on the original table" "$orig_table" "$(dmsetup table d-lv)"

# --force overrides a signature (the operator has looked).
expect_rc "--force accepts a filesystem destination" 0 "$H" start d-lv --meta /dev/mapper/d-meta2 --dest /dev/mapper/d-fs --force --throttle 1
lm_ok "--force still warns" grep -q "ext4 signature" "$OUT"
expect_rc "cancel the forced migration" 0 "$H" cancel d-lv
rm -f "$OUT"
lm_exit
