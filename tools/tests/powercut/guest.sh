#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of tools/tests/powercut-restart.sh (run by it through
# tools/vm/run-in-guest, never on its own).  TAP lines go to stdout; facts
# the host checks go to $LM_OUT (the writable results share).
#
#   guest.sh cut       boot 1, disks vda (source), vdb (destination), vdc
#                      (metadata): fill the source with stamped blocks, start
#                      a throttled copy, write and flush through the mirror
#                      (crash-writer, journal on the share), then with a
#                      writer still running and the copy mid-way, ask the
#                      host for the power cut ($LM_OUT/cut-now) and wait for
#                      it.  If the host does not cut within PC_CUT_WAIT
#                      seconds (or PC_CUT=sysrq), the guest resets itself
#                      (sysrq b: no sync, no flush; -no-reboot ends qemu).
#   guest.sh restart   boot 2, the same three disks plus vdd-vdf, a copy of
#                      them the host took after the cut: the boot-time
#                      restart with trust_log on vda-vdc, then the same
#                      restart without trust_log on vdd-vdf (the control).
#
# Environment (from the host): PC_LEG_MB, PC_RS (region sectors),
# PC_META_DIRTY and PC_COPY_DIRTY (dirty regions the host read from each
# metadata image), PC_SEED, PC_COMPAT=old (the table the module had before
# identities and trust_log: no id features, no trust_log).
. "$(dirname "$0")/../../testing/selftests/livemirror/lib.sh"
lm_require_guest

export PATH=$LM_TOP/tools/replay-log:$PATH
RS=${PC_RS:-128}
LEG=$(( ${PC_LEG_MB:-256} * 2048 ))
SEED=${PC_SEED:-1}
J=$LM_OUT/journal
IDS="source_id pc-src dest_id pc-dst device_id pc-lm"
TRUST="trust_log"
if [ "${PC_COMPAT:-}" = old ]; then IDS="" TRUST=""; fi
fact() { echo "$1=$2" >>"$LM_OUT/facts"; }
# Diagnostics carry the seconds since the script started.
lm_diag() { printf '# [%3d s] %s\n' "$SECONDS" "$@"; }
table() {	# table META SRC DST [FEATURES...]
	local m=$1 s=$2 d=$3; shift 3
	local f="$* $IDS"
	set -- $f
	echo "0 $LEG livemirror $m $s $d $RS $# $f"
}

phase_cut() {
	lm_plan 5
	lm_ok "modules load" lm_load_modules
	lm_ok "source filled with stamped blocks and flushed ($(( LEG / 2048 )) MiB)" \
		crash-writer --dev /dev/vda --journal "$J" --fill
	lm_ok "livemirror loads over vda/vdb/vdc (ids: ${IDS:-none}), throttle 16 MiB/s" \
		dmsetup create pc-lm --table "$(table /dev/vdc /dev/vda /dev/vdb throttle 16)"
	lm_diag "after load: $(dmsetup status pc-lm)"
	local nr i st ins nb=$((LEG / 8))
	nr=$(lm_field pc-lm nr_regions)
	fact nr "$nr"
	# Copy about 70 % (overshooting by the time a poll takes: 13 % at
	# 24 MiB/s beside another guest), then pause (no new copies) while
	# writer A runs.
	for ((i = 0; i < 1200; i++)); do
		read -r _ _ _ st _ < <(dmsetup status pc-lm)
		ins=${st%/*}
		[ "${ins:-0}" -ge $((nr * 70 / 100)) ] && break
		sleep 0.05
	done
	dmsetup message pc-lm 0 pause
	sleep 0.5
	ins=$(lm_field pc-lm in_sync)
	lm_diag "paused: $(dmsetup status pc-lm)"
	lm_ok "copy paused at $((ins * 100 / nr)) % ($ins of $nr regions in sync; state $(lm_field pc-lm state))" \
		test "$(lm_field pc-lm state)" = paused -a "${ins:-0}" -ge $((nr * 70 / 100)) -a "${ins:-0}" -lt $((nr * 95 / 100))
	# Writer A: writes, overwrites and flushes over the upper half, copied
	# and not yet copied regions, to the end.
	lm_ok "writes, overwrites and flushes through the mirror over copied and uncopied regions" \
		crash-writer --dev /dev/mapper/pc-lm --journal "$J" --seed "$SEED" --ops 1500 \
		--threads 4 --fsync-every 12 --range $((nb / 2)):$((nb / 2))
	lm_diag "after writer A: $(dmsetup status pc-lm)"
	# Let the lazy clear clean writer A's regions, so the log has clean
	# bits that only trust keeps.
	sleep 3
	lm_diag "after the lazy clear: $(dmsetup status pc-lm)"
	# The copy crawls on at 1 MiB/s (16 regions a second) and writer B,
	# over 8 MiB of copied regions, is still writing when the power goes.
	dmsetup message pc-lm 0 throttle 1
	dmsetup message pc-lm 0 resume
	crash-writer --dev /dev/mapper/pc-lm --journal "$J" --seed "$((SEED + 1))" --ops 1000000 \
		--threads 2 --fsync-every 8 --range $((nb / 4)):2048 >"$LM_OUT/writer-b.log" 2>&1 &
	sleep 1
	grep -c '^D ' "$J" | sed 's/^/# flushes returned so far: /'
	dmsetup status pc-lm >"$LM_OUT/cut-status"
	lm_diag "at the cut: $(cat "$LM_OUT/cut-status")"
	sync "$LM_OUT/cut-status" 2>/dev/null
	date +%s.%N >"$LM_OUT/cut-now"
	if [ "${PC_CUT:-host}" != sysrq ]; then
		sleep "${PC_CUT_WAIT:-20}"
		echo "# the host did not cut within ${PC_CUT_WAIT:-20} s: sysrq reset" >"$LM_OUT/cut-self"
	else
		echo "# PC_CUT=sysrq: the guest resets itself" >"$LM_OUT/cut-self"
	fi
	# Reset without sync or flush; with -no-reboot qemu exits.
	echo b >/proc/sysrq-trigger
	sleep 60
}

# durable DESC DEV: every block holds its last write acknowledged before the
# last flush that returned, or a later one (crash-writer --verify-durable).
durable() {
	local out rc
	out=$(crash-writer --dev "$2" --journal "$J" --verify-durable 2>&1)
	rc=$?
	if [ $rc = 0 ]; then lm_pass "$1 ($out)"; else lm_fail "$1"; printf '%s\n' "$out" | sed 's/^/#   /'; fi
}

# check_restart NAME META SRC DST KIND WANT_DIRTY (KIND: trusted, with
# trust_log, or control, without): load, check, resync,
# compare, verify (7 checks; 5 for the control, whose legs the host
# compares); WANT_DIRTY is what the host read from the metadata image.
check_restart() {
	local name=$1 m=$2 s=$3 d=$4 kind=$5 want=$6 nr d0 ins opened trusted copied trust=""
	[ "$kind" = trusted ] && trust=$TRUST
	if ! dmsetup create "$name" --table "$(table "$m" "$s" "$d" $trust start_paused)"; then
		lm_fail "$name: the restart table loads (${trust:-no trust_log})"
		local nf=4
		[ "$kind" = trusted ] && nf=6
		for ((i = 0; i < nf; i++)); do lm_fail "$name: (not loaded)"; done
		return
	fi
	lm_diag "$name at open: $(dmsetup status "$name")"
	nr=$(lm_field "$name" nr_regions) d0=$(lm_field "$name" dirty) ins=$(lm_field "$name" in_sync)
	opened=$(lm_named "$name" opened) trusted=$(lm_named "$name" trusted)
	fact "$name.nr" "$nr"; fact "$name.dirty_at_open" "$d0"; fact "$name.opened" "$opened"
	local wt=1
	case "$want" in '' | *[!0-9]*) want=-1 ;; esac
	[ "$kind" = trusted ] || wt=0
	lm_eq "$name: the restart table loads (${trust:-no trust_log}); opened=unclean trusted=$wt" \
		"unclean $wt" "$opened $trusted"
	if [ "$kind" = trusted ]; then
		lm_eq "$name: regions dirty at open = the metadata's dirty count ($want of $nr), in_sync $ins" \
			"$want $((nr - want))" "$d0 $ins"
	else
		lm_eq "$name: every region dirty at open ($nr of $nr; the metadata had $want)" \
			"$nr 0" "$d0 $ins"
	fi
	local t=$SECONDS
	dmsetup message "$name" 0 resume
	lm_wait_state "$name" synced 300
	copied=$(lm_named "$name" copied_bytes)
	fact "$name.copied_bytes" "$copied"; fact "$name.copy_s" "$((SECONDS - t))"
	lm_diag "$name synced: $(dmsetup status "$name")"
	lm_eq "$name: synced, and the copy wrote exactly the $d0 regions dirty at open ($((d0 * RS * 512)) bytes)" \
		"synced $((d0 * RS * 512))" "$(lm_field "$name" state) $copied"
	lm_diag "$name: verifying"
	[ "$kind" = trusted ] &&
		durable "$name: the writer's durable data reads back through the mirror" /dev/mapper/"$name"
	dmsetup suspend "$name"
	[ "$kind" = trusted ] &&
		lm_ok "$name: suspended, source and destination identical byte for byte" lm_same "$s" "$d" "$LEG"
	durable "$name: the durable data is on the destination alone" "$d"
	lm_diag "$name: verified"
	dmsetup resume "$name"
	lm_ok "$name: removed" dmsetup remove --retry "$name"
}

phase_restart() {
	lm_plan 13
	# Boot-time restart: the table goes over the source before anything
	# else opens it.
	lm_ok "modules load" lm_load_modules
	check_restart pc-lm /dev/vdc /dev/vda /dev/vdb trusted "${PC_META_DIRTY:-?}"
	check_restart pc-ctl /dev/vdf /dev/vdd /dev/vde control "${PC_COPY_DIRTY:-?}"
}

case "${1:-}" in
cut) phase_cut ;;
restart) phase_restart ;;
*) echo "usage: $0 cut|restart" >&2; exit 2 ;;
esac
lm_exit
