#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# livemirror start: migrate under a live dm device held open by a running
# fio --verify writer, switch while it writes, and verify the data from the
# destination alone.  Then start + cancel restores the original table, and a
# failing start rolls back completely.
. "$(dirname "$0")/lib.sh"
lm_require_guest
cd /tmp || exit 1	# fio writes state files in the cwd
H=$LM_HELPER
OUT=$(mktemp)
UUID=LVM-0123456789abcdef0123456789abcdefFEDCBA9876543210fedcba9876543210

devno() { dmsetup info -c --noheadings -o major,minor --separator : "$1"; }
table_type() { dmsetup table "$1" 2>/dev/null | awk '{print $3}'; }
exists() { dmsetup info "$1" >/dev/null 2>&1; }

FIO_JOB=(--name=writer --filename=/dev/mapper/s-lv --direct=1 --ioengine=psync
	 --rw=randwrite --bs=4k --size=24M --verify=crc32c --verify_fatal=1
	 --randrepeat=1 --group_reporting --verify_state_save=0)
open_count() { dmsetup info -c --noheadings -o open s-lv | tr -d ' '; }
verify_dest() { fio "${FIO_JOB[@]/\/dev\/mapper\/s-lv//dev/mapper/s-dst}" --verify_only >"$OUT.fio2" 2>&1; }

lm_plan 28
lm_load_modules || { lm_fail "modules load"; lm_exit; }
lm_slice s-pv 40 && lm_slice s-dst 40 && lm_slice s-meta 1 && lm_slice s-meta2 1 &&
	lm_slice s-dst2 40 && lm_slice s-tiny 8 || { lm_fail "scratch devices"; lm_exit; }
lm_fill /dev/mapper/s-pv
dmsetup create s-lv --uuid "$UUID" --table "0 81920 linear /dev/mapper/s-pv 0"
lm_on_exit "dmsetup remove --retry s-lv"
lm_on_exit "dmsetup remove --retry s-lv-lmsrc"
orig_table=$(dmsetup table s-lv)

# A failing start (destination too small) rolls everything back.
expect_rc "start with a too small destination fails" 1 "$H" start s-lv --meta /dev/mapper/s-meta --dest /dev/mapper/s-tiny
lm_eq "original table untouched" "$orig_table" "$(dmsetup table s-lv)"
lm_not "no hidden source left behind" exists s-lv-lmsrc
for f in load suspend resume; do
	LIVEMIRROR_FAIL_AT=$f expect_rc "start failing at $f rolls back" 1 "$LM_HELPER_TEST" start s-lv \
		--meta /dev/mapper/s-meta --dest /dev/mapper/s-dst --region-size 64K
	lm_ok "failure at $f: original table live, no inactive table, no hidden source" \
		bash -c "[ \"\$(dmsetup table s-lv)\" = '$orig_table' ] &&
			 dmsetup info -c --noheadings -o tables_loaded s-lv | grep -qx ' *Live' &&
			 ! dmsetup info s-lv-lmsrc >/dev/null 2>&1"
done

# The writer holds the device open for the whole migration.
t0=$(date +%s)
fio "${FIO_JOB[@]}" --rate=256k --output="$OUT.fio" >/dev/null 2>&1 &
fiopid=$!
for ((i = 0; i < 150; i++)); do [ "$(open_count)" -ge 1 ] && break; sleep 0.2; done
lm_ok "device is held open by the writer" test "$(open_count)" -ge 1
lm_diag "start $(( $(date +%s) - t0 ))s after the writer"
expect_rc "start under the open device" 0 "$H" start s-lv --meta /dev/mapper/s-meta --dest /dev/mapper/s-dst --region-size 64K
lm_eq "live table is livemirror" livemirror "$(table_type s-lv)"
lm_ok "source leg is the hidden device" bash -c "dmsetup table s-lv | grep -q ' $(devno s-lv-lmsrc) '"
lm_eq "hidden device has the original table" "$orig_table" "$(dmsetup table s-lv-lmsrc)"
lm_ok "hidden device uuid is <LV uuid>-lmsrc (an LVM private layer)" bash -c "dmsetup info -c --noheadings -o uuid s-lv-lmsrc | grep -qx '$UUID-lmsrc'"
lm_ok "label derived from the dm uuid" bash -c "dmsetup table s-lv | grep -q ' label LVM-0123456789abcdef'"
expect_rc "start again is a no-op" 0 "$H" start s-lv --meta /dev/mapper/s-meta --dest /dev/mapper/s-dst
expect_rc "wait until synced while the writer runs" 0 "$H" wait s-lv --timeout 600
lm_diag "writer started $(( $(date +%s) - t0 ))s before the switch"
lm_ok "writer still running at switch time" kill -0 $fiopid
expect_rc "switch under the writer" 0 "$H" switch s-lv
lm_eq "table is linear over the destination" "0 81920 linear $(devno s-dst) 0" "$(dmsetup table s-lv)"
lm_not "hidden source removed" exists s-lv-lmsrc
wait $fiopid
fiorc=$?
lm_eq "fio write+verify through the switch passed" 0 "$fiorc"
[ "$fiorc" = 0 ] || sed 's/^/#   /' "$OUT.fio"
lm_ok "fio verifies the data on the destination device alone" verify_dest

# start + cancel: back to exactly the table it had.
before=$(dmsetup table s-lv)
expect_rc "start a second migration" 0 "$H" start s-lv --meta /dev/mapper/s-meta2 --dest /dev/mapper/s-dst2 --region-size 64K --throttle 1
expect_rc "cancel it" 0 "$H" cancel s-lv
lm_eq "original table restored" "$before" "$(dmsetup table s-lv)"
lm_not "hidden source removed after cancel" exists s-lv-lmsrc
rm -f "$OUT" "$OUT.fio" "$OUT.fio2"
lm_exit
