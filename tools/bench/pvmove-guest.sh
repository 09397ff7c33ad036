#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of tools/bench/pvmove-compare (never on its own).  Disks vda
# and vdb are the two PVs of VG cmp; LV cmp/lv (PC_LV_MB) starts on vda.
#
#   pvmove-guest.sh compare   the same move, with Debian's pvmove and with
#                             livemirror lvmove, in interleaved rounds, while
#                             fio writes the LV (4k random, QD8): elapsed
#                             time and fio's IOPS during the move, against
#                             fio's IOPS with no move
#   pvmove-guest.sh cut TOOL  start a move with TOOL (pvmove | lvmove) under
#                             the same writer and ask for the power cut
#                             ($LM_OUT/cut-now) about half way
#   pvmove-guest.sh resume TOOL  after the cut: autoactivation (timed; lvm2#136),
#                             then finish the move with TOOL and count what
#                             reached the destination PV (bytes copied again)
#
# Lines "R key=value ..." on stdout are the figures; the host collects them.
. "$(dirname "$0")/../testing/selftests/livemirror/lib.sh"
lm_require_guest
LM=$LM_HELPER
MB=${PC_LV_MB:-512}
q() { "$@" >/dev/null 2>&1; }
now() { date +%s.%N; }
# sectors written to a disk so far (/sys/block/X/stat field 7)
wsect() { awk '{print $7}' "/sys/block/$1/stat"; }
other() { [ "$1" = /dev/vda ] && echo /dev/vdb || echo /dev/vda; }
where() { lvs --noheadings -o devices cmp/lv | grep -o '/dev/vd[ab]' | head -1; }

setup() {
	lm_load_modules || exit 1
	lm_lvm_setup
	q pvcreate -q /dev/vda /dev/vdb && q vgcreate -q cmp /dev/vda /dev/vdb &&
		q lvcreate -q -y -L "${MB}M" -n lv cmp /dev/vda || { echo "R error=setup"; exit 1; }
	dd if=/dev/urandom of=/dev/cmp/lv bs=1M count="$MB" oflag=direct status=none
}

# writer SECS LOG [SIZE]: fio 4k random writes, QD8, with a per-second IOPS
# log, over the whole LV or its first SIZE (a hot set).
writer() {
	fio --name=w --filename=/dev/cmp/lv --direct=1 --ioengine=libaio --rw=randwrite \
		--bs=4k --iodepth=8 --runtime="$1" --time_based --write_iops_log="$2" \
		--log_avg_msec=1000 ${3:+--size=$3} --output=/dev/null >/dev/null 2>&1
}

# iops_between LOG T0 T1 START: mean IOPS of the log's seconds within
# [T0, T1] (seconds since the epoch; START: when fio started).
iops_between() {
	awk -F, -v a="$2" -v b="$3" -v s="$4" '
		{ t = s + $1 / 1000; if (t >= a && t <= b) { sum += $2; n++ } }
		END { if (n) printf "%.0f", sum / n; else print 0 }' "$1"_iops.1.log 2>/dev/null
}

# move TOOL: move cmp/lv to the other PV.
move() {
	local from to
	from=$(where) to=$(other "$(where)")
	case "$1" in
	pvmove) pvmove -q -i 0 -n cmp/lv "$from" "$to" >/dev/null 2>&1 ;;
	lvmove) "$LM" lvmove cmp/lv "$to" 2>&1 | while IFS= read -r l; do
			echo "$(date +%s.%N) $l"; done >>"$LM_OUT/lvmove-steps.log"
		return "${PIPESTATUS[0]}" ;;
	esac
}

phase_compare() {
	local r tool t0 t1 fs log rc
	setup
	log=/run/fio-base fs=$(now)
	writer 20 $log
	echo "R tool=none round=0 iops=$(iops_between $log "$fs" "$(now)" "$fs")"
	for r in 1 2; do
		for tool in pvmove lvmove; do
			[ $r = 2 ] && tool=$([ $tool = pvmove ] && echo lvmove || echo pvmove)
			log=/run/fio-$tool-$r
			fs=$(now)
			writer 600 $log &
			local w=$!
			sleep 5
			t0=$(now)
			move $tool
			rc=$?
			t1=$(now)
			sleep 2
			# $w is the subshell: stop fio itself (SIGINT: it ends and writes its log)
			pkill -INT -x fio
			wait $w 2>/dev/null
			echo "R tool=$tool round=$r rc=$rc elapsed=$(echo "$t1 - $t0" | bc) iops=$(iops_between $log "$t0" "$t1" "$fs") on=$(where)"
		done
	done
}

phase_cut() {
	local tool=$1 t p
	setup
	# a VM's writes have a hot set: the first 64 MiB of the LV
	writer 600 /run/fio-cut 64M &
	sleep 3
	case "$tool" in
	pvmove) pvmove -i 1 -n cmp/lv /dev/vda /dev/vdb >"$LM_OUT/move.log" 2>&1 & ;;
	lvmove) "$LM" lvmove cmp/lv /dev/vdb --throttle 8 >"$LM_OUT/move.log" 2>&1 & ;;
	esac
	for ((t = 0; t < 3000; t++)); do
		if [ "$tool" = pvmove ]; then
			p=$(lvs -a --noheadings -o copy_percent cmp 2>/dev/null | tr -d ' ' | grep -m1 .)
			p=${p%%.*}
		else
			local ins nr
			ins=$(lm_field cmp-lv in_sync 2>/dev/null) nr=$(lm_field cmp-lv nr_regions 2>/dev/null)
			p=$(( ${nr:-0} > 0 ? ${ins:-0} * 100 / nr : 0 ))
		fi
		[ "${p:-0}" -ge 50 ] 2>/dev/null && break
		sleep 0.2
	done
	echo "R tool=$tool cut_at_percent=${p:-?}"
	sync
	echo "$tool" >"$LM_OUT/cut-now"
	sleep 30
	echo b >/proc/sysrq-trigger
}

phase_resume() {
	local tool=$1 t0 rc w0 w1 t1
	lm_load_modules || exit 1
	lm_lvm_setup
	# counted from before autoactivation: a pvmove's mirror resyncs from there
	w0=$(wsect vdb)
	t0=$(now)
	timeout 120 vgchange -aay cmp >/dev/null 2>&1
	rc=$?
	echo "R tool=$tool autoactivation_rc=$rc autoactivation_s=$(echo "$(now) - $t0" | bc)"
	[ $rc = 124 ] && { echo "R tool=$tool hang=vgchange"; exit 0; }
	case "$tool" in
	pvmove)
		# lvm2: pvmove with no arguments restarts the interrupted move
		timeout 1200 pvmove -i 0 >"$LM_OUT/resume.log" 2>&1
		rc=$?
		;;
	lvmove)
		"$LM" boot >"$LM_OUT/resume.log" 2>&1 &&
			timeout 1200 "$LM" lvmove cmp/lv /dev/vdb >>"$LM_OUT/resume.log" 2>&1
		rc=$?
		;;
	esac
	t1=$(now)
	sync
	w1=$(wsect vdb)
	echo "R tool=$tool resume_rc=$rc resume_s=$(echo "$t1 - $t0" | bc) recopied_bytes=$(((w1 - w0) * 512)) lv_bytes=$((MB << 20)) on=$(where)"
}

case "${1:-}" in
compare) phase_compare ;;
cut) phase_cut "${2:?tool}" ;;
resume) phase_resume "${2:?tool}" ;;
*) echo "usage: $0 compare | cut TOOL | resume TOOL" >&2; exit 2 ;;
esac
