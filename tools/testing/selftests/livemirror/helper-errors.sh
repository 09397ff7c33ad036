#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# livemirror helper: error paths give the documented exit code, a clear
# message, and never leave a device suspended.
#   bad arguments (2), unknown device (5), not synced (3), timeout (7),
#   metadata in use (4), metadata of other legs / cancelled / corrupt (6),
#   dead destination (8), cancel with a dead destination, repeated cancel.
. "$(dirname "$0")/lib.sh"
lm_require_guest
H=$LM_HELPER
OUT=$(mktemp)

# expect_msg DESC REGEX: the last command's output matches.
expect_msg() {
	if grep -Eq "$2" "$OUT"; then lm_pass "$1"; else lm_fail "$1"; sed 's/^/#   /' "$OUT"; fi
}

table_type() { dmsetup table "$1" 2>/dev/null | awk '{print $3}'; }

lm_plan 56
lm_load_modules || { lm_fail "modules load"; lm_exit; }
lm_slice e-src 16 && lm_slice e-dst 16 && lm_slice e-small 8 && lm_slice e-meta 1 &&
	lm_slice e-dst2 16 || { lm_fail "scratch devices"; lm_exit; }
lm_fill /dev/mapper/e-src
M=/dev/mapper/e-meta S=/dev/mapper/e-src D=/dev/mapper/e-dst
lm_on_exit "dmsetup remove --retry e-vm"
lm_on_exit "dmsetup remove --retry e-dead"

# Usage errors.
expect_rc "no command" 2 "$H"
expect_rc "unknown command" 2 "$H" frobnicate
expect_rc "create without --dest" 2 "$H" create e-vm --meta $M --source $S
expect_rc "bad region size" 2 "$H" create e-vm --meta $M --source $S --dest $D --region-size 1000
expect_rc "bad copy depth" 2 "$H" create e-vm --meta $M --source $S --dest $D --copy-depth 99
expect_rc "--help of a command" 0 "$H" switch --help
expect_msg "--help prints usage" "usage: livemirror switch"

# Unknown devices.
expect_rc "status of an unknown device" 5 "$H" status e-nosuch
expect_msg "message names the device" "e-nosuch not found"
expect_rc "switch of an unknown device" 5 "$H" switch e-nosuch
expect_rc "pause of an unknown device" 5 "$H" pause e-nosuch
expect_rc "start under an unknown device" 5 "$H" start e-nosuch --meta $M --dest $D
expect_rc "status of a non-livemirror device" 1 "$H" status e-src
expect_rc "cancel of a non-migrating device is a no-op" 0 "$H" cancel e-src

# Destination smaller than the source.
expect_rc "destination smaller than source" 1 "$H" create e-vm --meta $M --source $S --dest /dev/mapper/e-small
expect_msg "message says smaller" "smaller than the source"
lm_not "no device left behind" bash -c "dmsetup info e-vm >/dev/null 2>&1"

# Not synced (paused), timeout, messages.
expect_rc "create paused" 0 "$H" create e-vm --meta $M --source $S --dest $D --paused --region-size 64K --label e1
lm_eq "state paused" paused "$(lm_field e-vm state)"
expect_rc "switch refused while not synced" 3 "$H" switch e-vm
expect_msg "refusal names device and reason" "e-vm: refusing to switch"
lm_eq "still a livemirror table" livemirror "$(table_type e-vm)"
expect_rc "cancel --keep-dest refused while not synced" 3 "$H" cancel e-vm --keep-dest
expect_rc "wait times out" 7 "$H" wait e-vm --timeout 2
expect_rc "throttle message" 0 "$H" throttle e-vm 7
lm_eq "throttle in status" 7 "$(lm_field e-vm throttle)"
expect_rc "copy-depth message" 0 "$H" copy-depth e-vm 2
lm_eq "copy depth in status" 2 "$(lm_field e-vm depth)"
expect_rc "bad copy-depth value" 2 "$H" copy-depth e-vm 0
expect_rc "metadata check refuses live metadata" 4 "$H" metadata check $M
expect_rc "metadata repair refuses live metadata" 4 "$H" metadata repair $M
expect_rc "create on metadata in use" 4 "$H" create e-vm2 --meta $M --source $S --dest /dev/mapper/e-dst2
expect_rc "resume" 0 "$H" resume e-vm
expect_rc "wait until synced" 0 "$H" wait e-vm --timeout 300
expect_rc "status --watch ends once synced" 0 timeout 60 "$H" status e-vm --watch
expect_rc "status (not a terminal)" 0 "$H" status e-vm
expect_msg "key=value lines" "^state=synced$"
expect_rc "status --json" 0 "$H" status e-vm --json
expect_msg "json says synced" '"state":"synced".*"mirroring":true'

# Cancel records CANCELLED: the metadata is not reused by mistake.
expect_rc "cancel" 0 "$H" cancel e-vm
lm_eq "back on the source (linear)" linear "$(table_type e-vm)"
expect_rc "cancel again is a no-op" 0 "$H" cancel e-vm
dmsetup remove e-vm
expect_rc "create on cancelled metadata refused" 6 "$H" create e-vm --meta $M --source $S --dest $D --region-size 64K --label e1
expect_msg "says cancelled" "cancelled"
expect_rc "create with another label refused" 6 "$H" create e-vm --meta $M --source $S --dest $D --region-size 64K --label other
expect_msg "says other legs" "belongs to other legs"

# Corrupt metadata.
dd if=/dev/urandom of=$M bs=4096 count=2 oflag=direct status=none
expect_rc "check finds corrupt metadata" 1 "$H" metadata check $M
expect_msg "check names slots A and B" "slot A.*" 
expect_rc "create on corrupt metadata refused" 6 "$H" create e-vm --meta $M --source $S --dest $D --region-size 64K --label e1
expect_rc "recover on corrupt metadata" 6 "$H" recover --meta $M
expect_rc "repair with identity" 0 "$H" metadata repair $M --region-size 64K --source-sectors 32768 --dest-sectors 32768 --label e1

# Dead destination: degraded, switch refused with 8, cancel still works.
dmsetup create e-dead --table "0 32768 linear /dev/mapper/e-dst 0"
expect_rc "create over repaired metadata" 0 "$H" create e-vm --meta $M --source $S --dest /dev/mapper/e-dead --region-size 64K --label e1
"$H" wait e-vm --timeout 300 >/dev/null 2>&1
dmsetup suspend e-dead && dmsetup load e-dead --table "0 32768 error" && dmsetup resume e-dead
dd if=/dev/urandom of=/dev/mapper/e-vm bs=64k count=4 oflag=direct status=none
lm_wait_state e-vm degraded 60
expect_rc "wait reports the dead destination" 8 "$H" wait e-vm --timeout 30
expect_rc "switch refused with a dead destination" 8 "$H" switch e-vm
expect_rc "cancel works with a dead destination" 0 "$H" cancel e-vm
lm_eq "back on the source" linear "$(table_type e-vm)"
rm -f "$OUT"
lm_exit
