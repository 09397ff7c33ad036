#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Issue 14, the helper against target 1.2.0 (metadata format version 2):
# version 1 metadata is refused until 'metadata repair --upgrade'; start
# binds the ids, refuses metadata bound to another device (exit 6) unless
# --reuse-metadata; a table opened from disk trusts nothing without
# --trust-log (status opened= trusted=); recover --scan finds the metadata.
# Needs the 1.2.0 module: skipped on an older one.
. "$(dirname "$0")/lib.sh"
lm_require_guest
H=$LM_HELPER
OUT=$(mktemp)
UUID_A=LMTEST-identity-a
UUID_B=LMTEST-identity-b

lm_plan 20
lm_load_modules || { lm_fail "modules load"; lm_exit; }
if ! dmsetup targets | awk '$1 == "livemirror" { split(substr($2, 2), v, "."); exit !(v[1] > 1 || v[2] >= 2) }'; then
	for ((i = 0; i < 20; i++)); do lm_skip "needs target livemirror >= 1.2.0"; done
	lm_exit
fi
lm_slice i-pv 16 && lm_slice i-pv2 16 && lm_slice i-dst 16 && lm_slice i-meta 1 ||
	{ lm_fail "scratch devices"; lm_exit; }
M=/dev/mapper/i-meta
dmsetup create i-lv --uuid "$UUID_A" --table "0 32768 linear /dev/mapper/i-pv 0"
dmsetup create i-lv2 --uuid "$UUID_B" --table "0 32768 linear /dev/mapper/i-pv2 0"
lm_on_exit "dmsetup remove --retry i-lv"
lm_on_exit "dmsetup remove --retry i-lv2"
lm_on_exit "dmsetup remove --retry i-lv-lmsrc"
lm_on_exit "dmsetup remove --retry i-lv2-lmsrc"

# Version 1 metadata: every command refuses it and names the way out.
"$H" metadata repair "$M" --region-size 64K --source-sectors 32768 --dest-sectors 32768 \
	--label L >/dev/null
python3 - "$M" "$LM_TOP/tools/testing/selftests/livemirror" <<'PY'
import os, struct, sys
sys.path.insert(0, sys.argv[2])
from metadata_corrupt import reseal
fd = os.open(sys.argv[1], os.O_RDWR)
img = bytearray(os.pread(fd, 8192, 0))
for s in (0, 1):
    struct.pack_into("<I", img, s * 4096 + 16, 1)
    reseal(img, s)
os.pwrite(fd, bytes(img), 0)
os.fsync(fd)
os.close(fd)
PY
expect_rc "check of version 1 metadata" 1 "$H" metadata check "$M"
lm_ok "check names the upgrade" grep -q "repair --upgrade" "$OUT"
expect_rc "start over version 1 metadata refused" 6 "$H" start i-lv --meta "$M" \
	--dest /dev/mapper/i-dst --force --label L --region-size 64K
lm_ok "start names the upgrade" grep -q "repair --upgrade $M" "$OUT"
expect_rc "metadata repair --upgrade" 0 "$H" metadata repair "$M" --upgrade
expect_rc "upgraded: check clean" 0 "$H" metadata check "$M"

# The first table binds the ids.
expect_rc "start binds the ids" 0 "$H" start i-lv --meta "$M" --dest /dev/mapper/i-dst \
	--force --label L --region-size 64K
lm_eq "opened: unbound" unbound "$(lm_named i-lv opened)"
lm_eq "not trusted" 0 "$(lm_named i-lv trusted)"
"$H" status i-lv --json >"$OUT" 2>&1
lm_ok "status --json shows opened" grep -q '"opened":"unbound"' "$OUT"
expect_rc "cancel" 0 "$H" cancel i-lv
"$H" metadata repair "$M" >/dev/null 2>&1	# cancelled -> copying, ids kept
"$H" metadata dump "$M" >"$OUT" 2>&1
lm_ok "dump shows the bound device id" grep -q "device id     dm:$UUID_A" "$OUT"
lm_ok "dump shows a clean detach" grep -q "last detach   clean at" "$OUT"

# Another device over this metadata: refused before loading, naming both ids.
expect_rc "start of another device over bound metadata" 6 "$H" start i-lv2 --meta "$M" \
	--dest /dev/mapper/i-dst --force --label L --region-size 64K
lm_ok "refusal names device_id and both values" \
	bash -c "grep -q device_id '$OUT' && grep -q 'dm:$UUID_A' '$OUT' && grep -q 'dm:$UUID_B' '$OUT'"
expect_rc "--reuse-metadata accepts it" 0 "$H" start i-lv2 --meta "$M" \
	--dest /dev/mapper/i-dst --force --label L --region-size 64K --reuse-metadata
lm_eq "reused: formatted" formatted "$(lm_named i-lv2 opened)"

# recover --scan finds the migration.
expect_rc "recover --scan" 0 "$H" recover --scan --json
lm_ok "scan lists the metadata, copying, source authoritative" \
	python3 -c "import json,sys; d=json.load(open('$OUT')); sys.exit(not any(m['state']=='copying' and m['authoritative']=='source' and m['device_id']=='dm:$UUID_B' for m in d['metadata']))"
expect_rc "cancel the reused migration" 0 "$H" cancel i-lv2
lm_exit
