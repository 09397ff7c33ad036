#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# livemirror: seeded differential stress test.  stress_io drives a random
# mix of writes (512 B .. 1 MiB, overlapping in hot windows), discards,
# write-zeroes, flushes and checked reads from up to 32 threads at once,
# in phases; during each phase a control loop (seeded too) suspends and
# resumes, reloads the table, pauses and resumes the copy, changes the
# throttle and the copy depth, sends bursts of retry, and injects destination write errors with
# dm-flakey followed by the retry message.  At the end of each phase, a
# checkpoint: every known sector reads back right through the mapped device,
# the mirror reaches synced, is suspended, and the legs are compared byte
# for byte region by region against each other, against the durable log
# (a differing region whose log bit is clear is a write a switch would
# lose) and against the expected data on the destination.  Zero mismatches.
#
# Legs and metadata are loop devices over tmpfs files (loop takes discards
# and honours flushes).  LM_STRESS_OPS (default 40000) operations in
# phases of LM_STRESS_PHASE_OPS (default 10000); LM_SEED repeats a run
# (the kernel still picks the interleaving).  'make stress' runs 10^6.
. "$(dirname "$0")/lib.sh"
lm_require_guest
OPS=${LM_STRESS_OPS:-40000}
PHASE_OPS=${LM_STRESS_PHASE_OPS:-10000}
SEED=${LM_SEED:-$(( $(date +%s) % 1000000 ))}
MB=${LM_STRESS_MB:-128}
RANDOM=$SEED
SIO=$(cd "$(dirname "$0")" && pwd)/stress_io
[ -x "$SIO" ] || SIO=$LM_TOP/build/ksft/livemirror/stress_io
regions=(8 32 128 1024)
R=${LM_STRESS_REGION:-${regions[RANDOM % 4]}}
NPH=$(( (OPS + PHASE_OPS - 1) / PHASE_OPS ))
t0=$(date +%s)
lm_plan 8
lm_diag "seed $SEED, $OPS operations in $NPH phases, ${MB} MiB legs, region $R sectors" \
	"repeat: LM_SEED=$SEED LM_STRESS_OPS=$OPS LM_STRESS_PHASE_OPS=$PHASE_OPS"

if lm_load_modules && modprobe loop && modprobe dm-flakey; then lm_pass "modules load"; else
	lm_fail "modules load"; lm_exit; fi
W=$(mktemp -d /dev/shm/stress.XXXXXX)
mkloop() { truncate -s "$2" "$W/$1.img" && losetup -f --show "$W/$1.img"; }
S=$(mkloop s ${MB}M) D=$(mkloop d ${MB}M) M=$(mkloop m 4M)
lm_on_exit "rm -rf $W"
lm_on_exit "losetup -d $S $D $M"
N=$((MB * 2048))
FL_UP="0 $N flakey $D 0 3600 0"
FL_DOWN="0 $N flakey $D 0 0 3600 1 error_writes"
dmsetup create st-dst --table "$FL_UP"
lm_on_exit "dmsetup remove --retry st-dst"
BASE="0 $N livemirror $M $S /dev/mapper/st-dst $R"
features=("" "2 throttle 50" "2 copy_depth 3" "2 dest_error retry" "4 copy_depth 64 dest_error retry")
if dmsetup create st --table "$BASE"; then lm_pass "livemirror device on loop legs"; else
	lm_fail "livemirror device"; lm_exit; fi
lm_on_exit "dmsetup remove --retry st"
MAPPED=/dev/mapper/st
lm_wait_state st synced 300 >/dev/null

# ---- the control loop (runs during a phase) ---------------------------------
ctl_fail=0
declare -A n_ctl
ctl() {	# ctl NAME CMD...: run, count, report a failure
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		echo "$name" >>"$W/ctl.ok"
	else
		echo "$name" >>"$W/ctl.fail"
		echo "# control $name failed: $(echo "$out" | tr '\n' ' ' | cut -c1-200)" >>"$W/ctl.log"
	fi
}
op_suspend() { ctl suspend dmsetup suspend st; sleep "0.$((RANDOM % 5))"; ctl resume dmsetup resume st; }
op_reload() {
	ctl reload dmsetup load st --table "$BASE ${features[RANDOM % ${#features[@]}]}"
	ctl reload-suspend dmsetup suspend st
	ctl reload-resume dmsetup resume st
}
op_pause() { ctl pause dmsetup message st 0 pause; sleep "0.$((RANDOM % 10))"; ctl unpause dmsetup message st 0 resume; }
op_throttle() { local v=(0 1 5 20 0); ctl throttle dmsetup message st 0 throttle "${v[RANDOM % 5]}"; }
op_depth() { local v=(1 4 16 64); ctl copy_depth dmsetup message st 0 copy_depth "${v[RANDOM % 4]}"; }
fl_set() { dmsetup load st-dst --table "$1" && dmsetup suspend st-dst && dmsetup resume st-dst; }
op_desterr() {
	ctl dest-down fl_set "$FL_DOWN"
	sleep "0.$((RANDOM % 10))"
	ctl dest-up fl_set "$FL_UP"
	ctl retry dmsetup message st 0 retry
}
# A burst of retries: each restarts the copy pass over a mostly clean
# bitmap, so the copier scans clean gaps while the writers dirty them.
op_retries() {
	local i
	for ((i = 0; i < 10; i++)); do ctl retry dmsetup message st 0 retry; sleep 0.02; done
}
CTL_OPS=(suspend reload pause throttle depth desterr suspend throttle retries retries)
# LM_STRESS_CTL (experiments): the control ops to draw from, e.g. "suspend"
# or "reload pause throttle depth retries"; "none": no control ops at all.
if [ -n "${LM_STRESS_CTL:-}" ]; then
	read -ra CTL_OPS <<<"$LM_STRESS_CTL"
	[ "$LM_STRESS_CTL" = none ] && CTL_OPS=()
	lm_diag "control ops: ${CTL_OPS[*]:-none}"
fi
control_loop() {
	RANDOM=$1
	[ ${#CTL_OPS[@]} = 0 ] && return 0
	while [ ! -e "$W/stop" ]; do
		"op_${CTL_OPS[RANDOM % ${#CTL_OPS[@]}]}"
		sleep "0.0$((RANDOM % 10))"
	done
}
# After a phase: destination up, device live, copy running at full speed.
settle() {
	fl_set "$FL_UP" >/dev/null 2>&1
	dmsetup resume st >/dev/null 2>&1
	dmsetup message st 0 resume >/dev/null 2>&1
	dmsetup message st 0 throttle 0 >/dev/null 2>&1
	dmsetup message st 0 copy_depth 16 >/dev/null 2>&1
	case "$(lm_field st state)/$(lm_field st health)" in
	synced/AAA | copying/AAA) ;;
	*) dmsetup message st 0 retry ;;
	esac
}

# ---- phases and checkpoints -----------------------------------------------
STATE=$W/expected.state
drv_fail=0 sync_fail=0 leg_fail=0 map_fail=0 dst_fail=0 nchk=0 done_ops=0
for ((p = 0; p < NPH; p++)); do
	n=$PHASE_OPS
	[ $((done_ops + n)) -gt "$OPS" ] && n=$((OPS - done_ops))
	threads=$((2 + RANDOM % 31))	# queue depth 2..32
	rm -f "$W/stop"
	control_loop $((SEED * 131 + p)) &
	cpid=$!
	"$SIO" run "$MAPPED" "$STATE" "$SEED" "$p" "$n" "$threads" >"$W/drv.out" 2>&1
	rc=$?
	touch "$W/stop"
	wait $cpid
	settle
	cat "$W/drv.out"
	done_ops=$((done_ops + n))
	[ $rc = 0 ] || { drv_fail=$((drv_fail + 1)); lm_diag "phase $p: stress_io exited $rc"; }
	[ -e "$W/ctl.log" ] && { cat "$W/ctl.log"; rm -f "$W/ctl.log"; }

	# checkpoint
	nchk=$((nchk + 1))
	"$SIO" verify "$MAPPED" "$STATE" >"$W/v.out" 2>&1 || map_fail=$((map_fail + 1))
	sed "s/^# /# phase $p: mapped: /" "$W/v.out"
	if ! lm_wait_state st synced 300; then
		sync_fail=$((sync_fail + 1))
		settle
		lm_wait_state st synced 120 || { lm_diag "phase $p: never synced, stopping"; break; }
	fi
	dirty_live=$(lm_field st dirty)
	dmsetup suspend st
	st_line=$(lm_info st)
	"$SIO" compare "$S" "$D" "$R" "$M" >"$W/c.out" 2>&1
	crc=$?
	"$SIO" verify "$D" "$STATE" >"$W/v.out" 2>&1 || dst_fail=$((dst_fail + 1))
	dmsetup resume st
	lm_diag "checkpoint $p after $done_ops ops (QD $threads): status before suspend dirty=$dirty_live," \
		"suspended: $st_line"
	sed "s/^# /# phase $p: /" "$W/c.out"
	sed "s/^# /# phase $p: destination: /" "$W/v.out"
	if [ $crc != 0 ]; then
		leg_fail=$((leg_fail + 1))
		lm_diag "phase $p: LEGS DIFFER after synced + suspend; stopping (seed $SEED, phase $p)"
		break
	fi
done
nok=$(cat "$W/ctl.ok" 2>/dev/null | wc -l)
nbad=$(cat "$W/ctl.fail" 2>/dev/null | wc -l)
lm_diag "control operations: $nok ok, $nbad failed ($(sort "$W/ctl.ok" 2>/dev/null | uniq -c |
	awk '{printf "%s %s, ", $2, $1}'))"
lm_diag "seed $SEED: $done_ops operations, $nchk checkpoints, $(( $(date +%s) - t0 )) s"
lm_eq "driver: no I/O errors or bad reads during the phases" 0 "$drv_fail"
lm_eq "control operations all succeeded" 0 "$nbad"
lm_eq "synced at every checkpoint" 0 "$sync_fail"
lm_eq "legs identical at every checkpoint ($nchk, region by region)" 0 "$leg_fail"
lm_eq "data verified through the mapped device at every checkpoint" 0 "$map_fail"
lm_eq "data verified on the destination at every checkpoint" 0 "$dst_fail"
lm_exit
