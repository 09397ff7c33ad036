#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# livemirror: malformed table lines and messages are rejected, each with its
# own error text in the kernel log.
. "$(dirname "$0")/lib.sh"
lm_require_guest
lm_plan 61

lm_load_modules || { lm_fail "modules load"; lm_exit; }
modprobe loop
lm_slice er-m 1 && lm_slice er-s 4 && lm_slice er-d 4 && lm_slice er-small 2 &&
	lm_slice er-m2 1 && lm_slice er-s2 4 && lm_slice er-d2 4
M=/dev/mapper/er-m S=/dev/mapper/er-s D=/dev/mapper/er-d
L="0 8192 livemirror $M $S $D"

# Every attempt is tagged in the kernel log; the verdicts are taken at the
# end from one kernel log dump (each dmsetup call is slow in the guest).
_tag=0 _descs=() _wants=() _rcs=()
attempt() {
	local desc=$1 want=$2
	shift 2
	_tag=$((_tag + 1))
	echo "lm-errors-mark-$_tag" >/dev/kmsg
	"$@" 2>/dev/null
	_rcs+=($?) _descs+=("$desc") _wants+=("$want")
}

# bad_table DESCRIPTION EXPECTED_TEXT TABLE
bad_table() {
	attempt "table rejected: $1" "$2" dmsetup create er-t --table "$3"
	[ "${_rcs[-1]}" != 0 ] && return
	dmsetup remove er-t
}

# bad_msg DESCRIPTION EXPECTED_TEXT DEV MESSAGE...
bad_msg() {
	local desc=$1 want=$2 dev=$3
	shift 3
	attempt "message rejected: $desc" "$want" dmsetup message "$dev" 0 "$@"
}

verdicts() {
	local log i seg
	log=$(dmesg)
	for ((i = 0; i < _tag; i++)); do
		seg=$(sed -n "/lm-errors-mark-$((i + 1))\$/,/lm-errors-mark-$((i + 2))\$/p" <<<"$log")
		if [ "${_rcs[i]}" != 0 ] && grep -qF -- "${_wants[i]}" <<<"$seg"; then
			lm_pass "${_descs[i]}"
		else
			lm_fail "${_descs[i]}"
			lm_diag "status ${_rcs[i]}, expected '${_wants[i]}' in:" "$seg"
		fi
	done
}

bad_table "no arguments" "Not enough arguments" "0 8192 livemirror"
bad_table "three arguments" "Not enough arguments" "0 8192 livemirror $M $S $D"
bad_table "missing metadata device" "Error opening metadata device" "0 8192 livemirror /dev/nonexistent $S $D 64"
bad_table "missing source device" "Error opening source device" "0 8192 livemirror $M /dev/nonexistent $D 64"
bad_table "missing destination device" "Error opening destination device" "0 8192 livemirror $M $S /dev/nonexistent 64"
bad_table "region size not a number" "Invalid region size" "$L abc"
bad_table "region size zero" "Invalid region size" "$L 0"
bad_table "region size negative" "Invalid region size" "$L -8"
bad_table "region size with suffix" "Invalid region size" "$L 8k"
bad_table "region size not a power of two" "Region size is not a power of two" "$L 24"
bad_table "region size below 8 sectors" "Region size is smaller than 8 sectors" "$L 4"
bad_table "feature count not a number" "Invalid number of feature arguments" "$L 64 x"
bad_table "feature count larger than the arguments" "Invalid number of feature arguments" "$L 64 2 start_paused"
bad_table "feature count above 9" "Invalid number of feature arguments" "$L 64 10 start_paused"
bad_table "unknown feature" "Unknown feature argument" "$L 64 1 turbo"
bad_table "throttle not a number" "Invalid throttle" "$L 64 2 throttle fast"
bad_table "throttle too large" "Invalid throttle" "$L 64 2 throttle 99999999"
bad_table "copy_depth 0" "Invalid copy_depth" "$L 64 2 copy_depth 0"
bad_table "copy_depth 65" "Invalid copy_depth" "$L 64 2 copy_depth 65"
bad_table "unknown dest_error policy" "Invalid dest_error policy" "$L 64 2 dest_error ignore"
bad_table "label of 64 characters" "Label too long" "$L 64 2 label $(printf 'x%.0s' {1..64})"
bad_table "duplicate feature" "Duplicate feature argument" "$L 64 2 start_paused start_paused"
bad_table "duplicate throttle" "Duplicate feature argument" "$L 64 4 throttle 1 throttle 2"
bad_table "feature without its value" "Feature argument is missing its value" "$L 64 1 throttle"
bad_table "trailing arguments" "Too many arguments" "$L 64 1 start_paused extra"
bad_table "trailing argument without features" "Invalid number of feature arguments" "$L 64 extra"
bad_table "source and destination identical" "The same device is given twice" "0 8192 livemirror $M $S $S 64"
bad_table "metadata is the source" "The same device is given twice" "0 8192 livemirror $S $S $D 64"
bad_table "metadata is the destination" "The same device is given twice" "0 8192 livemirror $D $S $D 64"
bad_table "destination smaller than source" "Destination device is smaller than the source" "0 8192 livemirror $M $S /dev/mapper/er-small 64"
bad_table "target shorter than source" "Target length does not match the source device size" "0 4096 livemirror $M $S $D 64"
bad_table "target longer than source" "Target length does not match the source device size" "0 16384 livemirror $M $S $D 64"

# legs with different logical block sizes: a 4096-byte-sector loop device
truncate -s 4M /tmp/er-4k.img
lb=$(losetup -f --show -b 4096 /tmp/er-4k.img)
lm_on_exit "losetup -d $lb"
bad_table "legs with different logical block sizes" "different logical block sizes" "0 8192 livemirror $M $S $lb 64"

# metadata of another leg pair / geometry
dmsetup create er-a --table "$L 64 2 label first" && dmsetup remove er-a
bad_table "metadata label mismatch" "metadata belongs to a different leg pair" "$L 64 2 label second"
bad_table "metadata region size mismatch" "metadata region size is 64 sectors" "$L 128 2 label first"

# metadata in use by a live table with another geometry
dmsetup create er-live --table "0 8192 livemirror /dev/mapper/er-m2 /dev/mapper/er-s2 /dev/mapper/er-d2 64"
lm_on_exit "dmsetup remove --retry er-live"
bad_table "metadata in use by another mapped device" "in use by another mapped device" \
	"0 8192 livemirror /dev/mapper/er-m2 /dev/mapper/er-s2 /dev/mapper/er-d2 128"
# the same device reloaded over the same legs with another geometry
attempt "table rejected: reload with another geometry on the live metadata" "in use by a live table" \
	dmsetup load er-live --table "0 8192 livemirror /dev/mapper/er-m2 /dev/mapper/er-s2 /dev/mapper/er-d2 128"
dmsetup clear er-live

# ---- messages --------------------------------------------------------------
lm_slice er-m3 1
dmsetup create er-msg --table "0 8192 livemirror /dev/mapper/er-m3 $S $D 64 3 label first start_paused"
lm_on_exit "dmsetup remove --retry er-msg"
G=0123456789abcdef0123456789abcdef
bad_msg "unknown message" "unknown message 'frobnicate'" er-msg frobnicate
bad_msg "throttle without value" "throttle: expects one value" er-msg throttle
bad_msg "throttle not a number" "throttle: invalid rate" er-msg throttle abc
bad_msg "throttle fractional" "throttle: invalid rate" er-msg throttle 1.5
bad_msg "throttle too large" "throttle: invalid rate" er-msg throttle 99999999
bad_msg "copy_depth 0" "copy_depth: invalid depth" er-msg copy_depth 0
bad_msg "copy_depth 65" "copy_depth: invalid depth" er-msg copy_depth 65
bad_msg "copy_depth with two values" "copy_depth: expects one value" er-msg copy_depth 1 2
bad_msg "pause with an argument" "pause: takes no arguments" er-msg pause now
bad_msg "resume with an argument" "resume: takes no arguments" er-msg resume x
bad_msg "retry with an argument" "retry: takes no arguments" er-msg retry 1
bad_msg "switch while live" "switch: the device must be suspended" er-msg switch
bad_msg "cancel while live" "cancel: the device must be suspended" er-msg cancel
bad_msg "prepare with too few arguments" "prepare: usage" er-msg prepare $G $G 2
bad_msg "prepare with a bad group uuid" "prepare: invalid group uuid" er-msg prepare xyz $G 2 0
bad_msg "prepare with a bad coordinator uuid" "prepare: invalid coordinator uuid" er-msg prepare $G ${G}00 2 0
bad_msg "prepare with 0 members" "prepare: invalid member count" er-msg prepare $G $G 0 0
bad_msg "prepare with index >= members" "prepare: invalid member index" er-msg prepare $G $G 2 2
bad_msg "abort_prepare with an argument" "abort_prepare: takes no arguments" er-msg abort_prepare now
dmsetup suspend er-msg
bad_msg "switch before the copy is complete" "switch: refused, the copy is not complete" er-msg switch
bad_msg "prepare before the copy is complete" "prepare: refused, the copy is not complete" er-msg prepare $G $G 2 1
info=$(lm_info er-msg)

# a cancelled migration cannot be loaded again
dmsetup message er-msg 0 cancel
cancel_rc=$?
dmsetup resume er-msg && dmsetup remove er-msg
# (under the device's own name: the metadata is bound to it)
attempt "table rejected: metadata of a cancelled migration" \
	"migration was cancelled; repair metadata to restart" \
	dmsetup create er-msg --table "0 8192 livemirror /dev/mapper/er-m3 $S $D 64 2 label first"
[ "${_rcs[-1]}" != 0 ] || dmsetup remove er-msg
verdicts
lm_eq "the rejected messages changed nothing" "0/128 128 paused AAA 64 0 1 0" "$info"
lm_eq "cancel while suspended is accepted" 0 "$cancel_rc"
lm_exit
