#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Soak (not part of 'make check'; tools/soak/run boots the guest): fio
# verify writers on a live dm device for LM_SOAK_MINUTES (default 30) while a
# random loop migrates it with livemirror and pauses, resumes, throttles,
# changes copy_depth, suspends/resumes, reloads the same table, cancels and
# restarts (fresh metadata slice, or 'metadata repair' of the cancelled
# one), then a final switch under the writers.  Zero verify errors (during
# the run, verify_backlog, and a final verify_only pass on the destination
# alone), every operation succeeds, unreclaimable slab stays within 8 MiB of
# its value after the warm-up.  Memory is sampled every minute and printed
# as a table.  TAP output; LM_SEED repeats a run's operation sequence.
. "$(dirname "$0")/../testing/selftests/livemirror/lib.sh"
lm_require_guest
MIN=${LM_SOAK_MINUTES:-30}
SEED=${LM_SEED:-$RANDOM}
RANDOM=$SEED	# the operation sequence follows from the seed
SRC_MB=${LM_SOAK_MB:-64}
S=$((SRC_MB * 2048))
H=$LM_HELPER
W=$(mktemp -d /tmp/soak.XXXXXX)
UUID=LVM-50a50a50a50a50a50a50a50a50a50a5S0AK50a50a50a50a50a50a50a50a50a50a5
cd /tmp || exit 1	# fio writes state files in the cwd
t0=$(date +%s)
t_end=$((t0 + MIN * 60))
# The final resume, wait, switch and verify need about a minute and a half.
t_ops_end=$((t_end - 90))
lm_plan 11
lm_diag "seed $SEED, $MIN minutes, ${SRC_MB} MiB device (repeat: LM_SEED=$SEED LM_SOAK_MINUTES=$MIN)"

if lm_load_modules; then lm_pass "modules load"; else lm_fail "modules load"; lm_exit; fi
setup() {
	lm_slice sk-src "$SRC_MB" && lm_slice sk-dst "$SRC_MB" && lm_slice sk-meta0 1 && lm_slice sk-meta1 1 &&
	dmsetup create sk-lv --uuid "$UUID" --table "0 $S linear /dev/mapper/sk-src 0" &&
	lm_on_exit "dmsetup remove --retry sk-lv" && lm_on_exit "dmsetup remove --retry sk-lv-lmsrc"
}
if setup; then lm_pass "scratch devices and the live device"; else lm_fail "scratch devices"; lm_exit; fi

table_type() { dmsetup table "$1" 2>/dev/null | awk '{print $3}'; }
now() { date +%s; }

# ---- memory, every minute ---------------------------------------------------
# minute MemAvailable(KiB) Slab SUnreclaim kmalloc bio dm(+kcopyd) ops passes
sample() {
	local m=$1 a s u k=- b=- d=-
	read -r a s u < <(awk '/^MemAvailable:/ {a = $2} /^Slab:/ {s = $2} /^SUnreclaim:/ {u = $2}
		END {print a, s, u}' /proc/meminfo)
	if [ -r /proc/slabinfo ]; then
		# active objects x object size, KiB
		read -r k b d < <(awk 'NR > 2 { v = $2 * $4 / 1024 }
			NR > 2 && $1 ~ /^kmalloc-/ {k += v} NR > 2 && $1 ~ /^(bio|biovec)/ {b += v}
			NR > 2 && $1 ~ /^(dm_|dm-|kcopyd)/ {d += v}
			END {printf "%d %d %d\n", k, b, d}' /proc/slabinfo)
	fi
	echo "$m $a $s $u $k $b $d $(cat "$W/nops" 2>/dev/null || echo 0) $(grep -c . "$W/passes" 2>/dev/null || echo 0)"
}
sampler() {
	local m=0
	while :; do
		sample $m >>"$W/mem"
		m=$((m + 1))
		sleep $((t0 + m * 60 - $(now))) 2>/dev/null || sleep 1
	done
}
sampler &
sampler_pid=$!
lm_on_exit "kill $sampler_pid"

# ---- writers ------------------------------------------------------------------
# Passes of two fio jobs (each over half the device, every block once per
# pass in random order), verifying as they go (verify_backlog) and at the
# end of each pass.  A pass's seed is recorded before it starts: the last
# one is verified again on the destination after the switch.
FIO=(--filename=/dev/mapper/sk-lv --direct=1 --ioengine=psync --rw=randwrite --bs=4k
     --size=$((S * 512 / 2)) --numjobs=2 --offset_increment=$((S * 512 / 2))
     --verify=crc32c --verify_backlog=256 --verify_fatal=1 --randrepeat=1 --rate_iops=400
     --group_reporting --verify_state_save=0 --aux-path=/tmp)
writer() {
	local pass=0 seed rc
	while [ ! -e "$W/stop" ]; do
		pass=$((pass + 1))
		seed=$((SEED * 1000 + pass))
		fio --name=w "${FIO[@]}" --randseed=$seed --output="$W/fio.cur" >/dev/null 2>&1
		rc=$?
		echo "$pass $seed $rc $(now)" >>"$W/passes"
		[ $rc = 0 ] || cp "$W/fio.cur" "$W/fio.failed.$pass"
	done
}
writer &
writer_pid=$!
lm_on_exit "touch $W/stop; kill $writer_pid"
for ((i = 0; i < 300; i++)); do
	[ "$(dmsetup info -c --noheadings -o open sk-lv | tr -d ' ')" -ge 1 ] && break
	sleep 0.2
done

# ---- the migration and the operations ------------------------------------
meta_k=0
declare -A n_ok n_fail
OUT=$W/op.out
start_mirror() {
	local thr=${1:-0}
	"$H" start sk-lv --meta "/dev/mapper/sk-meta$meta_k" --dest /dev/mapper/sk-dst \
		--region-size 64K --throttle "$thr"
}
first_start() {
	dd if=/dev/zero of=/dev/mapper/sk-meta0 bs=64k count=16 oflag=direct status=none
	start_mirror 2
}
if first_start >"$OUT" 2>&1; then lm_pass "livemirror start under the writers"; else
	lm_fail "livemirror start under the writers"; sed 's/^/#   /' "$OUT"; lm_exit; fi

# cancel, then start again: half the time on the other (zeroed) metadata
# slice, half the time on the cancelled one after 'metadata repair'
# (livemirror(8): CANCELLED becomes COPYING, all dirty).
op_cancel_restart() {
	"$H" cancel sk-lv >"$OUT" 2>&1 || return 1
	[ "$(table_type sk-lv)" = linear ] || { echo "after cancel: $(dmsetup table sk-lv)" >>"$OUT"; return 1; }
	if ((RANDOM % 2)); then
		"$H" metadata repair "/dev/mapper/sk-meta$meta_k" >>"$OUT" 2>&1 || return 1
		n_ok[restart_repaired]=$((${n_ok[restart_repaired]:-0} + 1))
	else
		meta_k=$((1 - meta_k))
		dd if=/dev/zero of="/dev/mapper/sk-meta$meta_k" bs=64k count=16 oflag=direct status=none
		n_ok[restart_fresh]=$((${n_ok[restart_fresh]:-0} + 1))
	fi
	local thr=(0 1 2 5)
	start_mirror "${thr[RANDOM % 4]}" >>"$OUT" 2>&1
}
op_pause() { "$H" pause sk-lv >"$OUT" 2>&1; }
op_resume() { "$H" resume sk-lv >"$OUT" 2>&1; }
op_throttle() { local v=(0 0 1 2 5 20 100); "$H" throttle sk-lv "${v[RANDOM % 7]}" >"$OUT" 2>&1; }
op_copy_depth() { local v=(1 2 4 8 16 64); "$H" copy-depth sk-lv "${v[RANDOM % 6]}" >"$OUT" 2>&1; }
op_suspend() {
	dmsetup suspend sk-lv >"$OUT" 2>&1 || return 1
	sleep "0.$((RANDOM % 10))"
	dmsetup resume sk-lv >>"$OUT" 2>&1
}
op_reload() {
	local t
	t=$(dmsetup table sk-lv) && dmsetup load sk-lv --table "$t" >"$OUT" 2>&1 &&
		dmsetup suspend sk-lv >>"$OUT" 2>&1 && dmsetup resume sk-lv >>"$OUT" 2>&1
}
OPS=(pause resume resume throttle throttle copy_depth suspend suspend reload reload cancel_restart)
# every kind once first, in random order, then at random
first=(pause resume throttle copy_depth suspend reload cancel_restart)
for ((i = ${#first[@]} - 1; i > 0; i--)); do
	j=$((RANDOM % (i + 1))); x=${first[i]}; first[i]=${first[j]}; first[j]=$x
done
nops=0 left_suspended=0
while [ "$(now)" -lt "$t_ops_end" ]; do
	if [ $nops -lt ${#first[@]} ]; then op=${first[nops]}; else op=${OPS[RANDOM % ${#OPS[@]}]}; fi
	if [ "$(table_type sk-lv)" != livemirror ]; then
		# a failed restart: try again
		op=restart
		start_mirror 0 >"$OUT" 2>&1
	else
		"op_$op"
	fi
	rc=$?
	nops=$((nops + 1))
	echo $nops >"$W/nops"
	if [ $rc = 0 ]; then
		n_ok[$op]=$((${n_ok[$op]:-0} + 1))
	else
		n_fail[$op]=$((${n_fail[$op]:-0} + 1))
		lm_diag "$(( $(now) - t0 ))s: $op failed (exit $rc): $(tr '\n' ' ' <"$OUT" | cut -c1-300)"
		lm_diag "  status: $(dmsetup status sk-lv 2>&1)"
	fi
	if ! nothing_suspended; then
		left_suspended=$((left_suspended + 1))
		lm_diag "$op left a device suspended: $(dmsetup info -c 2>&1 | tr '\n' ' ')"
		dmsetup resume sk-lv
	fi
	sleep "$((RANDOM % 4)).$((RANDOM % 10))"
done
ops_line=""
for k in pause resume throttle copy_depth suspend reload cancel_restart restart_fresh restart_repaired restart; do
	[ -n "${n_ok[$k]:-}${n_fail[$k]:-}" ] && ops_line+="$k ${n_ok[$k]:-0}${n_fail[$k]:+/${n_fail[$k]} failed}, "
done
lm_diag "operations: $nops (${ops_line%, })"
nfail=0
for k in "${!n_fail[@]}"; do nfail=$((nfail + n_fail[$k])); done
lm_ok "every operation succeeded ($nops operations, $nfail failed)" test "$nfail" = 0 -a "$nops" -gt 0
lm_eq "no operation left a device suspended" 0 "$left_suspended"

# ---- final switch under the writers -----------------------------------------
final_sync() {
	[ "$(table_type sk-lv)" = livemirror ] || start_mirror 0 || return 1
	"$H" resume sk-lv && "$H" throttle sk-lv 0 && "$H" wait sk-lv --timeout 900
}
t=$(now)
if final_sync >"$OUT" 2>&1; then lm_pass "synced after the operations ($(( $(now) - t )) s)"; else
	lm_fail "synced after the operations"; sed 's/^/#   /' "$OUT"; lm_diag "$(dmsetup status sk-lv)"; fi
held() {
	local i
	for ((i = 0; i < 50; i++)); do
		[ "$(dmsetup info -c --noheadings -o open sk-lv | tr -d ' ')" -ge 1 ] && return 0
		sleep 0.2
	done
	return 1
}
lm_ok "writers still running at the switch (device held open)" held
if "$H" switch sk-lv >"$OUT" 2>&1 &&
	[ "$(dmsetup table sk-lv)" = "0 $S linear $(dmsetup info -c --noheadings -o major,minor --separator : sk-dst) 0" ]; then
	lm_pass "switch under the writers: linear over the destination"
else
	lm_fail "switch under the writers"; sed 's/^/#   /' "$OUT"; lm_diag "$(dmsetup table sk-lv)"
fi
# the pass running at the switch completes on the destination, then stop
touch "$W/stop"
wait $writer_pid
passes=$(grep -c . "$W/passes")
bad=$(awk '$3 != 0' "$W/passes" | wc -l)
ls "$W"/fio.failed.* >/dev/null 2>&1 && for f in "$W"/fio.failed.*; do
	grep -iE 'verify|bad|error|fail' "$f" | head -5 | sed "s|^|# $(basename "$f"): |"
done
lm_ok "fio writers: $passes passes, zero verify errors (failed passes: $bad)" test "$bad" = 0 -a "$passes" -gt 0
read -r last_pass last_seed _ < <(tail -n 1 "$W/passes")
FIO_DST=("${FIO[@]/\/dev\/mapper\/sk-lv//dev/mapper/sk-dst}")
if fio --name=w "${FIO_DST[@]}" --randseed="$last_seed" --verify_only --output="$W/fio.final" >/dev/null 2>&1; then
	lm_pass "final verify_only of pass $last_pass on the destination alone"
else
	lm_fail "final verify_only of pass $last_pass on the destination alone"
	grep -iE 'verify|bad|error|fail' "$W/fio.final" | head -10 | sed 's/^/#   /'
fi

# ---- memory ------------------------------------------------------------------
kill $sampler_pid 2>/dev/null
wait $sampler_pid 2>/dev/null
sync
echo 3 >/proc/sys/vm/drop_caches
sample end >>"$W/mem"
lm_diag "memory every minute (KiB; kmalloc/bio/dm: active objects x size from /proc/slabinfo)"
lm_diag "$(printf '%6s %12s %9s %10s %9s %7s %7s %6s %6s' minute MemAvailable Slab SUnreclaim kmalloc bio dm ops passes)"
while read -r l; do
	# shellcheck disable=SC2086
	lm_diag "$(printf '%6s %12s %9s %10s %9s %7s %7s %6s %6s' $l)"
done <"$W/mem"
# warm-up: one minute in (the device migrating, fio running, first ops done)
warm=$(awk '$1 == 1 {print $4}' "$W/mem")
[ -n "$warm" ] || warm=$(awk 'NR == 1 {print $4}' "$W/mem")
end=$(awk '$1 == "end" {print $4}' "$W/mem")
max=$(awk '$1 != "end" && $4 > m {m = $4} END {print m}' "$W/mem")
lm_ok "unreclaimable slab at the end within 8 MiB of the warm-up ($warm -> $end KiB, peak $max)" \
	test $((end - warm)) -lt 8192
lm_diag "total $(( $(now) - t0 )) s"
rm -rf "$W"
lm_exit
