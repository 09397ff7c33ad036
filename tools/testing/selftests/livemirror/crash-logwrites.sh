#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Power-cut test with dm-log-writes (see Documentation/dm-dirtylog-crash-testing.rst).
#
# Part 1, one log: a dm-log-writes device over a ram-disk slice is carved into
# three dm-linear slices (metadata, source, destination), so every write of
# the stack lands in ONE log, in one order.  livemirror runs over the slices
# while crash-writer writes, overwrites and flushes through it: during the
# copy, while mirroring, across suspend/resume and across a destination
# error.  Then crash-check replays the log and, at every FLUSH and FUA entry,
# every mark and random entries between them, checks that every region the
# dirty log calls clean is identical on both legs and that every write
# acknowledged before a completed flush is on the source.  At a few of those
# points the replayed state is copied to fresh slices and the target must
# load it and resync to identical legs.
#
# Part 2, two logs: the destination gets its own log-writes device, so only
# the destination's own flushes make its writes durable.  Consistent cuts
# (both log-writes devices suspended, a mark in each) are checked the same
# way; checking the destination as it was two cuts earlier (a destination
# whose flushes before a clear did not happen) must be caught.
#
# Knobs: CL_OPS (writes per phase, default 500), CL_RANDOM (random replay
# points, default 600), CL_LOADS (replay points loaded into the target,
# default 4), CL_SEED.
. "$(dirname "$0")/lib.sh"
lm_require_guest

TOOLS=$LM_TOP/tools/replay-log
for t in replay-log crash-check crash-writer lw-cut; do
	if [ ! -x "$TOOLS/$t" ]; then
		echo "1..0 # SKIP $TOOLS/$t is not built (make -C tools/replay-log)"
		exit 4
	fi
done
export PATH=$TOOLS:$PATH

OPS=${CL_OPS:-500}
NRANDOM=${CL_RANDOM:-600}
NLOADS=${CL_LOADS:-4}
SEED=${CL_SEED:-$(date +%s)}
RS=128				# region: 64 KiB
LEG_MB=32
LEG=$((LEG_MB * 2048))		# sectors per leg
META=2048			# 1 MiB metadata slice
W=$(mktemp -d "${TMPDIR:-/tmp}/crash-lw.XXXXXX")
lm_on_exit "rm -rf $W"
T0=$(date +%s)

PARTS=${CL_PARTS:-1 2}
plan=0
case " $PARTS " in *" 1 "*) plan=$((plan + 14 + NLOADS * 3)) ;; esac
case " $PARTS " in *" 2 "*) plan=$((plan + 4)) ;; esac
lm_plan $((plan + 1))

# Watchdog: a stuck stack is reported with its state, not a silent timeout.
(
	sleep "${CL_WATCHDOG:-780}"
	echo "# crash-logwrites: watchdog fired; dm state and blocked tasks follow"
	dmsetup info -c 2>&1 | sed 's/^/# /'
	dmsetup status 2>&1 | sed 's/^/# /'
	ps -eo pid,stat,wchan:32,args | grep -v '\[' | sed 's/^/# /'
	for p in $(pgrep -x dmsetup; pgrep -x crash-writer); do
		echo "# stack of $p: $(tr '\0' ' ' </proc/$p/cmdline)"; sed 's/^/#   /' /proc/$p/stack
	done
	echo w >/proc/sysrq-trigger
) &
wdog=$!
lm_on_exit "kill $wdog"

lm_diag "seed $SEED, $OPS writes per phase, legs ${LEG_MB} MiB, regions $((RS / 2)) KiB"

load() { modprobe dm-log-writes && lm_load_modules; }
lm_ok "modules load (dm-log-writes, dm-dirtylog, dm-livemirror)" load

mark() { lw-cut --mark "$2" "$1"; }
# Wait for a livemirror state, at most $3 seconds.
wait_state() { lm_wait_state "$1" "$2" "${3:-300}"; }
# Fill a device with 0xee bytes, so an uncopied destination differs.
garbage() {
	local mb=$(( $(blockdev --getsz "$1") / 2048 ))
	tr '\0' '\356' </dev/zero | dd of="$1" bs=1M count="$mb" iflag=fullblock oflag=direct status=none
}
writer() { crash-writer --dev "$1" --journal "$2" --seed "$((SEED + ${4:-0}))" --ops "$OPS" \
	--threads 4 --fsync-every 12 --mark "$3" "${@:5}"; }

# ---------------------------------------------------------------- part 1 --
part1() {
base_sectors=$((META + 2 * LEG))
lm_ram_init
ram_mark=$(cat /run/lm-brd-next)	# part 2 reuses part 1's ram once it is gone
lm_slice cl-base $(( base_sectors / 2048 )) && lm_slice cl-log 400 || { lm_fail "scratch devices"; return; }
dmsetup create cl-lw --table "0 $base_sectors log-writes /dev/mapper/cl-base /dev/mapper/cl-log"
lm_on_exit "dmsetup remove --retry cl-lw"
dmsetup create cl-meta --table "0 $META linear /dev/mapper/cl-lw 0"
dmsetup create cl-src --table "0 $LEG linear /dev/mapper/cl-lw $META"
dmsetup create cl-dst --table "0 $LEG linear /dev/mapper/cl-lw $((META + LEG))"
lm_on_exit "dmsetup remove --retry cl-meta; dmsetup remove --retry cl-src; dmsetup remove --retry cl-dst"
J=$W/journal

garbage /dev/mapper/cl-dst
lm_ok "source filled with stamped blocks through the log" \
	crash-writer --dev /dev/mapper/cl-src --journal "$J" --fill --mark cl-lw
mark cl-lw start

TABLE="0 $LEG livemirror /dev/mapper/cl-meta /dev/mapper/cl-src /dev/mapper/cl-dst $RS"
# The replays below load the same migration over copies of its devices, as
# a boot after a power cut does: the identities are given, so that the
# copies present the same ones, and the replay tables carry trust_log, so
# that only the regions the replayed log calls dirty are copied again.
IDS="source_id cl-src dest_id cl-dst device_id cl-lm"
lm_ok "livemirror loads over the three log-writes slices (zeroed metadata)" \
	dmsetup create cl-lm --table "$TABLE 8 throttle 2 $IDS"
lm_on_exit "dmsetup remove --retry cl-lm"

mark cl-lw phase-copy
lm_diag "copy phase: $(lm_info cl-lm)"
lm_ok "writes, overwrites and flushes during the copy" writer /dev/mapper/cl-lm "$J" cl-lw 1
lm_diag "after copy-phase writes: $(lm_info cl-lm)"
dmsetup message cl-lm 0 throttle 0
lm_ok "copy completes (synced)" wait_state cl-lm synced

mark cl-lw phase-mirror
lm_ok "writes, overwrites and flushes while mirroring" writer /dev/mapper/cl-lm "$J" cl-lw 2

mark cl-lw phase-suspend
writer /dev/mapper/cl-lm "$J" cl-lw 3 >"$W/w3.log" 2>&1 &
wpid=$!
for i in 1 2 3 4; do
	sleep 0.5
	dmsetup suspend cl-lm && dmsetup resume cl-lm
done
lm_ok "writes across suspend/resume" wait "$wpid"

mark cl-lw phase-deverr
dmsetup suspend cl-dst && dmsetup load cl-dst --table "0 $LEG error" && dmsetup resume cl-dst
writer /dev/mapper/cl-lm "$J" cl-lw 4 >"$W/w4.log" 2>&1
wrc=$?
lm_diag "destination failed: $(lm_info cl-lm)"
state=$(lm_field cl-lm state)
dmsetup suspend cl-dst && dmsetup load cl-dst --table "0 $LEG linear /dev/mapper/cl-lw $((META + LEG))" &&
	dmsetup resume cl-dst
dmsetup message cl-lm 0 retry
lm_ok "writes succeed while the destination fails (state was $state)" test "$wrc" = 0 -a "$state" = degraded
mark cl-lw phase-retry
lm_ok "after retry the copy completes again" wait_state cl-lm synced
writer /dev/mapper/cl-lm "$J" cl-lw 5 >/dev/null 2>&1
mark cl-lw phase-end
verify() { crash-writer --dev /dev/mapper/cl-lm --journal "$J" --verify >/dev/null; }
lm_ok "every block reads back as its last acknowledged write" verify
lm_ok "legs identical while live and synced" lm_same /dev/mapper/cl-src /dev/mapper/cl-dst "$LEG"

# Tear down; the log-writes destructor completes the log (super, end mark).
dmsetup remove --retry cl-lm
dmsetup remove --retry cl-meta; dmsetup remove --retry cl-src; dmsetup remove --retry cl-dst
dmsetup remove --retry cl-lw
replay-log --log /dev/mapper/cl-log --summary | sed 's/^/# log: /'
LOG=/dev/mapper/cl-log
CK=(--log "$LOG" --journal "$J" --meta "0:$META" --src "$META:$LEG" --dst "$((META + LEG)):$LEG"
    --region-sectors "$RS")

t=$(date +%s)
crash-check "${CK[@]}" --random "$NRANDOM" --seed "$SEED" >"$W/check.out" 2>&1
crc=$?
sed 's/^/# /' "$W/check.out" | head -30
points=$(sed -n 's/.* points \([0-9]*\) .*/\1/p' "$W/check.out")
lm_ok "one log: invariant holds at every replayed point (${points:-0} points, $(( $(date +%s) - t )) s)" \
	test "$crc" = 0
if [ "$crc" != 0 ] && [ -d "${LM_OUT:-}" ]; then
	# Keep the evidence: the used part of the log and the journal.
	bytes=$(replay-log --log "$LOG" --summary | sed -n 's/.* bytes //p')
	cp "$J" "$LM_OUT/crash-journal"
	head -c "$bytes" "$LOG" >"$LM_OUT/crash-log.img"
	lm_diag "log ($bytes bytes) and journal saved to $LM_OUT"
fi
lm_ok "one log: at least 1000 points checked" test "${points:-0}" -ge 1000

crash-check "${CK[@]}" --inject corrupt-dst >"$W/inj1.out" 2>&1
lm_ok "checker catches a corrupted clean region on the destination ($(tail -n1 "$W/inj1.out"))" test $? = 0
crash-check "${CK[@]}" --inject lose-write >"$W/inj2.out" 2>&1
lm_ok "checker catches a lost acknowledged source write ($(tail -n1 "$W/inj2.out"))" test $? = 0

# Load the target over replayed states: FLUSH/FUA points spread over the
# phases.  The replay advances incrementally (replay-log --start/--cursor).
lm_slice cl-rep $(( base_sectors / 2048 )) && lm_slice cl-scr $(( base_sectors / 2048 ))
mapfile -t fl < <(replay-log --log "$LOG" --find-flushes --start "$(replay-log --log "$LOG" --next-mark start)" | cut -f1)
nfl=${#fl[@]}
prev=-1
for ((n = 1; n <= NLOADS; n++)); do
	p=${fl[$(( (nfl - 1) * n / NLOADS ))]}
	[ "$p" -gt "$prev" ] || p=$((prev + 1))
	replay-log --log "$LOG" --replay /dev/mapper/cl-rep --start $((prev + 1)) --end "$p" --cursor "$W/cursor"
	prev=$p
	dd if=/dev/mapper/cl-rep of=/dev/mapper/cl-scr bs=1M oflag=direct status=none
	dmsetup create cl-rmeta --table "0 $META linear /dev/mapper/cl-scr 0"
	dmsetup create cl-rsrc --table "0 $LEG linear /dev/mapper/cl-scr $META"
	dmsetup create cl-rdst --table "0 $LEG linear /dev/mapper/cl-scr $((META + LEG))"
	srcsum=$(lm_sum /dev/mapper/cl-rsrc)
	info=""
	if dmsetup create cl-rlm --table "0 $LEG livemirror /dev/mapper/cl-rmeta /dev/mapper/cl-rsrc /dev/mapper/cl-rdst $RS 8 trust_log start_paused $IDS"; then
		info="$(lm_info cl-rlm) $(lm_named cl-rlm opened)"
		d0=$(lm_field cl-rlm dirty)
		lm_ok "point $p: target loads the replayed metadata ($info)" true
		dmsetup message cl-rlm 0 resume
		wait_state cl-rlm synced 300
		lm_ok "point $p: only the $d0 regions dirty at the power cut were copied again ($(lm_named cl-rlm copied_bytes) bytes)" \
			test "$(lm_named cl-rlm copied_bytes)" -le $((d0 * RS * 512))
		dmsetup remove --retry cl-rlm
		lm_ok "point $p: after resync the legs are identical and the source unchanged" \
			bash -c "[ '$(lm_sum /dev/mapper/cl-rsrc)' = '$srcsum' ] && [ '$(lm_sum /dev/mapper/cl-rdst)' = '$srcsum' ]"
	else
		lm_fail "point $p: target loads the replayed metadata"
		lm_fail "point $p: only the dirty regions were copied again"
		lm_fail "point $p: after resync the legs are identical"
	fi
	dmsetup remove --retry cl-rmeta; dmsetup remove --retry cl-rsrc; dmsetup remove --retry cl-rdst
done
dmsetup remove --retry cl-log; dmsetup remove --retry cl-base
dmsetup remove --retry cl-rep; dmsetup remove --retry cl-scr
echo "$ram_mark" >/run/lm-brd-next
lm_diag "part 1 done after $(( $(date +%s) - T0 )) s"
}


# ---------------------------------------------------------------- part 2 --
part2() {
# Metadata and source share log A; the destination has log B of its own.
lm_slice cl2-abase $(( (META + LEG) / 2048 )) && lm_slice cl2-bbase "$LEG_MB" &&
	lm_slice cl2-loga 256 && lm_slice cl2-logb 256 || { lm_fail "part 2 scratch devices"; return; }
dmsetup create cl2-lwa --table "0 $((META + LEG)) log-writes /dev/mapper/cl2-abase /dev/mapper/cl2-loga"
dmsetup create cl2-dst --table "0 $LEG log-writes /dev/mapper/cl2-bbase /dev/mapper/cl2-logb"
lm_on_exit "dmsetup remove --retry cl2-lwa; dmsetup remove --retry cl2-dst"
dmsetup create cl2-meta --table "0 $META linear /dev/mapper/cl2-lwa 0"
dmsetup create cl2-src --table "0 $LEG linear /dev/mapper/cl2-lwa $META"
lm_on_exit "dmsetup remove --retry cl2-meta; dmsetup remove --retry cl2-src"
J2=$W/journal2
garbage /dev/mapper/cl2-dst
crash-writer --dev /dev/mapper/cl2-src --journal "$J2" --fill --mark cl2-lwa
mark cl2-lwa start
ncut=0 cut_ms=0
take_cut() {
	# A consistent cut: nothing completes on either log while both marks go in.
	local t=$(date +%s%N)
	lw-cut "cut-$ncut" cl2-lwa cl2-dst && ncut=$((ncut + 1))
	cut_ms=$((cut_ms + ($(date +%s%N) - t) / 1000000))
}
lm_diag "part 2: stack ready, first cut"
take_cut
lm_diag "part 2: first cut done"
dmsetup create cl2-lm --table "0 $LEG livemirror /dev/mapper/cl2-meta /dev/mapper/cl2-src /dev/mapper/cl2-dst $RS 2 throttle 4"
lm_on_exit "dmsetup remove --retry cl2-lm"
# Short writer runs with cuts while each runs and after it: at least two
# cuts per round, whatever the speed of the writer.
wrc=0
rounds() {
	local i wpid
	for ((i = 0; i < 8; i++)); do
		writer /dev/mapper/cl2-lm "$J2" cl2-lwa $(($1 + i)) --ops $((OPS / 5 + 1)) >>"$W/w2.log" 2>&1 &
		wpid=$!
		take_cut
		while kill -0 "$wpid" 2>/dev/null; do take_cut; done
		wait "$wpid" || wrc=1
		take_cut
	done
}
rounds 100
lm_diag "part 2: copy-phase writes done, $ncut cuts: $(lm_info cl2-lm)"
dmsetup message cl2-lm 0 throttle 0
wait_state cl2-lm synced
rounds 200
# The lazy clear needs idle periods, so with cuts ~0.2 s apart no region is
# ever written and then clean within two cuts, and a destination lagging two
# cuts would go unseen.  Make that happen once: cut A, a burst of writes,
# cut B, wait until the log has cleared the burst's regions, cut C.  At C a
# destination still as of A lacks the burst in regions the log calls clean.
take_cut
writer /dev/mapper/cl2-lm "$J2" cl2-lwa 250 --ops $((OPS / 5 + 1)) >>"$W/w2.log" 2>&1 || wrc=1
take_cut
nr=$(lm_field cl2-lm nr_regions)
for _ in $(seq 1 300); do
	[ "$(lm_field cl2-lm dirty)" -le $((nr / 8)) ] && break
	sleep 0.2
done
lm_diag "part 2: after the burst and idle: $(lm_info cl2-lm)"
[ "$wrc" = 0 ]
lm_ok "two logs: writes during copy and mirroring, $ncut consistent cuts (mean $((cut_ms / (ncut ? ncut : 1))) ms each)" test $? = 0
take_cut
dmsetup remove --retry cl2-lm
dmsetup remove --retry cl2-meta; dmsetup remove --retry cl2-src
dmsetup remove --retry cl2-lwa; dmsetup remove --retry cl2-dst
CK2=(--log /dev/mapper/cl2-loga --log-dst /dev/mapper/cl2-logb --journal "$J2" --meta "0:$META"
     --src "$META:$LEG" --dst "0:$LEG" --region-sectors "$RS")
crash-check "${CK2[@]}" >"$W/check2.out" 2>&1
crc=$?
sed 's/^/# /' "$W/check2.out" | head -20
cuts=$(sed -n 's/.* points \([0-9]*\) .*/\1/p' "$W/check2.out")
lm_ok "two logs: invariant holds at every consistent cut (${cuts:-0} cuts)" test "$crc" = 0 -a "${cuts:-0}" -ge 20
crash-check "${CK2[@]}" --dst-lag 2 >"$W/check3.out" 2>&1
crc=$?
sed 's/^/# lag 2: /' "$W/check3.out" | tail -n 3
lm_ok "two logs: a destination lagging two cuts (missing flush before clear) is caught" test "$crc" = 1
crash-check "${CK2[@]}" --inject corrupt-dst >/dev/null 2>&1
lm_ok "two logs: checker catches a corrupted clean destination region" test $? = 0

}

case " $PARTS " in *" 1 "*) part1 ;; esac
case " $PARTS " in *" 2 "*) part2 ;; esac
lm_diag "total run time $(( $(date +%s) - T0 )) s"
lm_exit
