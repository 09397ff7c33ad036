#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# livemirror under injected faults (issue 7).  The source, the destination
# and the metadata device are dm-linear devices over loop devices (loop has
# a write cache, so flushes are not stripped on the way down); their tables
# are swapped to 'error' or 'flakey' at a random moment:
#
#  - destination fails during the copy, during mirroring under fio writers,
#    during a flush storm (fio fsync=1), during suspend/resume and during a
#    table reload: no guest-visible error, fio --verify passes, the mirror
#    is degraded (health ADA), no region reported in sync differs between
#    the legs; after the repair and 'retry' the legs are identical.
#  - source fails: the guest's I/O errors are EXPECTED (documented: a source
#    error fails the bio); the switch is refused (exit 8); no region
#    reported in sync differs; retry resynchronises.
#  - metadata fails ('error', flakey error_writes, flakey drop_writes) during
#    mirroring and flush storms: writes and flushes succeed (documented
#    fallback: source only), state failed / health ..D, retry and switch
#    refused (exit 6); after the metadata is repaired and the table loaded
#    again from it, no region may be in sync while the legs differ.
#  - the switch (userspace helper) with the destination or the metadata
#    failing before it and at every step of it (the helper is held at the
#    step under gdb while the table is swapped): refused with a documented
#    exit code whenever the decision is not yet durable, nothing left
#    suspended, and 'livemirror recover' names one leg holding the data.
#
# Timing is random: the seed is printed; LM_SEED=<n> repeats a run.
. "$(dirname "$0")/lib.sh"
lm_require_guest
H=$LM_HELPER_TEST	# crash and failure injection
SEED=${LM_SEED:-$(( ($(date +%s) ^ $$) % 32768 ))}
RANDOM=$SEED
MB=16
N=$((MB * 2048))
REG=128				# region size, sectors (64 KiB): 256 regions
TF=$(mktemp -d /tmp/tf.XXXXXX)
OUT=$TF/out
declare -A RAW SZ

echo "TAP version 13"
lm_diag "seed $SEED (LM_SEED=$SEED repeats this run)"
lm_on_exit "rm -rf $TF"

# Only the main shell draws random numbers, so a seed gives one run.
# rnd_delay [MAX]: RD = 0.5 s + up to MAX tenths (fio needs ~1 s to start).
rnd_delay() { RD=$((5 + RANDOM % ${1:-25})); RD=$((RD / 10)).$((RD % 10)); }

# ---- devices ---------------------------------------------------------------
# mkleg NAME MB: /dev/mapper/NAME, a dm-linear over a fresh loop device.
mkleg() {
	truncate -s "${2}M" "$TF/$1.img" || return 1
	RAW[$1]=$(losetup -f --show "$TF/$1.img") || return 1
	lm_on_exit "losetup -d ${RAW[$1]}"
	SZ[$1]=$(($2 * 2048))
	dmsetup create "$1" --table "$(tbl "$1" ok)" || return 1
	lm_on_exit "dmsetup remove --retry $1"
}

# tbl NAME KIND: a table for leg NAME.
#  ok       linear over its loop device
#  error    dm-error (note: dm-error takes no flush bios, so flushes pass)
#  dead     flakey always down, no feature: every bio fails, flushes too
#  ewrites  flakey always down, error_writes: reads work, writes+flushes fail
#  flaky    flakey 1 s up / 1 s down with error_writes
#  drop     flakey always down, drop_writes: writes "succeed" and are lost
tbl() {
	local n=${SZ[$1]} r=${RAW[$1]}
	case "$2" in
	ok) echo "0 $n linear $r 0" ;;
	error) echo "0 $n error" ;;
	dead) echo "0 $n flakey $r 0 0 3600" ;;
	ewrites) echo "0 $n flakey $r 0 0 3600 1 error_writes" ;;
	flaky) echo "0 $n flakey $r 0 1 1 1 error_writes" ;;
	drop) echo "0 $n flakey $r 0 0 3600 1 drop_writes" ;;
	esac
}
# preload LEG KIND, then fire LEG: the fault lands at the resume.
preload() { dmsetup load "$1" --table "$(tbl "$1" "$2")"; }
fire() { dmsetup resume "$1"; }
swap() { preload "$1" "$2" && fire "$1"; }

TABLE="livemirror /dev/mapper/tf-m /dev/mapper/tf-s /dev/mapper/tf-d $REG"

# new_target [FEATURES...]: fresh metadata, target tf, copy starts.
new_target() {
	dd if=/dev/zero of=/dev/mapper/tf-m bs=1M count=1 oflag=direct status=none
	dmsetup create tf --table "0 $N $TABLE $*"
}
rm_target() {
	dmsetup resume tf >/dev/null 2>&1
	dmsetup remove --retry tf >/dev/null 2>&1
}

# ---- observations ----------------------------------------------------------
# wait_clean [S]: the lazy clear has cleared every region.
wait_clean() {
	local i
	for ((i = 0; i < ${1:-30} * 2; i++)); do
		[ "$(lm_field tf dirty)" = 0 ] && return 0
		sleep 0.5
	done
	return 1
}

# ndiff: "<count> <first differing regions>" between the raw legs.
ndiff() {
	dd if="${RAW[tf-s]}" iflag=direct bs=1M of="$TF/a" status=none
	dd if="${RAW[tf-d]}" iflag=direct bs=1M count=$MB of="$TF/b" status=none
	/usr/bin/python3 - "$TF/a" "$TF/b" $((REG * 512)) <<'PY'
import sys
a = open(sys.argv[1], 'rb').read()
b = open(sys.argv[2], 'rb').read()
rs = int(sys.argv[3])
d = [i // rs for i in range(0, len(a), rs) if a[i:i + rs] != b[i:i + rs]]
print(len(d), ','.join(map(str, d[:12])) or '-')
PY
}

# check_insync TAG: with tf suspended, no region the status counts as in
# sync differs between the legs (in_sync + differing <= nr_regions).
check_insync() {
	local is nr d
	dmsetup suspend tf
	is=$(lm_field tf in_sync) nr=$(lm_field tf nr_regions)
	read -r d DLIST <<<"$(ndiff)"
	if [ $((is + d)) -le "$nr" ]; then
		lm_pass "$1: no region reported in sync differs ($is/$nr in sync, $d differ)"
	else
		lm_fail "$1: no region reported in sync differs ($is/$nr in sync, $d differ)"
		lm_diag "status: $(lm_info tf); differing regions: $DLIST"
	fi
	dmsetup resume tf
}

# legs_equal TAG: with tf suspended, the legs are byte-identical.
legs_equal() {
	local d
	dmsetup suspend tf
	read -r d DLIST <<<"$(ndiff)"
	lm_eq "$1: legs byte-identical" "0" "$d"
	[ "$d" = 0 ] || lm_diag "status: $(lm_info tf); differing regions: $DLIST"
	dmsetup resume tf
}

# guest_write [SEEK_4K]: one small direct write plus fsync; counts failures.
WERR=0
guest_write() {
	dd if=/dev/urandom of=/dev/mapper/tf bs=4k count=1 seek="$1" oflag=direct \
		conv=fsync,notrunc status=none 2>>"$TF/dd.err" || WERR=$((WERR + 1))
}

# provoke STATE [FIRST STRIDE]: write until the target noticed the fault,
# up to ~6 s (a flaky leg is down 1 s in every 2, and the writes are less
# than 1 s apart, so one lands in a down second).  Without FIRST the writes
# go to the first 16 blocks (region 0, in sync in every phase): every write
# reaches the destination.  A metadata fault is seen only by metadata I/O,
# and a write to a dirty region makes none (nor does its flush: nothing is
# pending), so those pass FIRST STRIDE: 4 KiB blocks FIRST, FIRST+STRIDE,
# ..., each in a clean region, whose write needs a mark first.
provoke() {
	local i b
	for ((i = 0; i < 12; i++)); do
		[ "$(lm_field tf state)" = "$1" ] && return 0
		if [ -n "${2:-}" ]; then b=$(($2 + i * $3)); else b=$((i % 16)); fi
		guest_write $b
		sleep 0.5
	done
	[ "$(lm_field tf state)" = "$1" ]
}

# fio_bg OUTFILE [FIO ARGS...]: random writes with verify, ~6 s of writes.
fio_bg() {
	local o=$1
	shift
	fio --name=tf --filename=/dev/mapper/tf --ioengine=psync --direct=1 \
		--rw=randwrite --bs=4k --size=${FIO_SIZE:-${MB}m} --io_size=6m --rate=1m \
		--verify=crc32c --verify_state_save=0 --aux-path=/tmp \
		--output="$o" "$@" >/dev/null 2>&1 &
	FIO_PID=$!
}
fio_wait() {
	wait "$FIO_PID"
	FIO_RC=$?
	[ "$FIO_RC" = 0 ] || grep -iE 'err|verify' "$1" | head -5 | sed 's/^/#   fio: /'
}

synced_aaa() { lm_wait_state tf synced 120 && [ "$(lm_field tf health)" = AAA ]; }

# expect_rcs DESC "RC..." CMD...: expect_rc accepting any of several codes
# (when a fault is seen depends on timing, e.g. by the suspend's own flush).
expect_rcs() {
	local desc=$1 want=$2 got
	shift 2
	"$@" >"$OUT" 2>&1
	got=$?
	if [[ " $want " == *" $got "* ]] && nothing_suspended; then
		lm_pass "$desc (exit $got)"
	else
		lm_fail "$desc (exit $got, expected one of $want)"
		sed 's/^/#   /' "$OUT"
		dmsetup info -c 2>&1 | sed 's/^/#   /'
	fi
}

# ---- scenarios: destination -------------------------------------------------
# dest_fault PHASE KIND
dest_fault() {
	local phase=$1 kind=$2 tag="dest $2 during $1" feat='' bg='' pre
	WERR=0
	[ "$phase" = copy ] && feat="2 throttle 1"
	new_target $feat || { lm_fail "$tag: create"; return; }
	[ "$phase" = copy ] || lm_wait_state tf synced 120
	pre=$(lm_field tf state)
	preload tf-d "$kind"
	rnd_delay 30
	lm_diag "$tag: fault in ${RD}s, state $pre"
	case "$phase" in
	flush) fio_bg "$TF/fio.log" --fsync=1 ;;
	*) fio_bg "$TF/fio.log" ;;
	esac
	case "$phase" in
	suspend)
		(for i in 1 2 3 4; do
			dmsetup suspend tf; sleep 0.3; dmsetup resume tf
		done) & bg=$! ;;
	reload)
		(sleep 0.5; dmsetup reload tf --table "0 $N $TABLE 2 copy_depth 16" &&
			dmsetup suspend tf && dmsetup resume tf) & bg=$! ;;
	esac
	sleep "$RD"
	fire tf-d
	[ -n "$bg" ] && wait "$bg"
	fio_wait "$TF/fio.log"
	provoke degraded
	lm_eq "$tag: guest writes and flushes succeed, fio verify passes" "0 0" "$FIO_RC $WERR"
	read -r -a st <<<"$(lm_info tf)"
	lm_eq "$tag: degraded, health ADA, not mirroring" "degraded ADA 0" \
		"${st[2]} ${st[3]} ${st[6]}"
	lm_ok "$tag: destination errors counted (${st[7]})" test "${st[7]:-0}" -ge 1
	check_insync "$tag"
	swap tf-d ok
	dmsetup message tf 0 throttle 0
	lm_ok "$tag: retry accepted" dmsetup message tf 0 retry
	lm_ok "$tag: retry converges to synced AAA" synced_aaa
	legs_equal "$tag: after retry"
	rm_target
}

# ---- scenario: source -------------------------------------------------------
src_fault() {
	local tag="source error during mirroring"
	new_target && lm_wait_state tf synced 120
	preload tf-s error
	rnd_delay 20
	lm_diag "$tag: fault in ${RD}s"
	fio_bg "$TF/fio.log" --io_size=4m
	sleep "$RD"
	fire tf-s
	fio_wait "$TF/fio.log"
	# Documented: "Source error: the guest's bio fails".
	lm_not "$tag: the guest sees I/O errors (expected: a source error fails the bio)" \
		test "$FIO_RC" = 0
	lm_eq "$tag: source health D" D "$(lm_field tf health | cut -c1)"
	expect_rc "$tag: switch refused, leg failed" 8 "$H" switch tf
	check_insync "$tag"
	swap tf-s ok
	lm_ok "$tag: retry accepted" dmsetup message tf 0 retry
	lm_ok "$tag: retry converges" lm_wait_state tf synced 120
	legs_equal "$tag: after retry"
	rm_target
}

# ---- scenarios: metadata ----------------------------------------------------
# meta_fault KIND PHASE RELOAD: RELOAD=1 re-creates the target from the
# repaired metadata and checks that nothing is in sync that differs.
meta_fault() {
	local kind=$1 phase=$2 reload=$3 tag="metadata $1 during $2" sum
	WERR=0
	new_target && lm_wait_state tf synced 120
	lm_ok "$tag: lazy clear made every region clean first" wait_clean 30
	preload tf-m "$kind"
	rnd_delay 20
	lm_diag "$tag: fault in ${RD}s"
	# fio in the first half; the second half stays clean (bit clear on disk)
	FIO_SIZE=$((MB / 2))m
	if [ "$phase" = flush ]; then
		fio_bg "$TF/fio.log" --io_size=3m --fsync=1
	else
		fio_bg "$TF/fio.log" --io_size=3m
	fi
	FIO_SIZE=
	sleep "$RD"
	fire tf-m
	fio_wait "$TF/fio.log"
	# writes to clean regions of the second half, each needs a new mark
	for i in 0 1 2 3; do guest_write $(( (N / 16) + i * 160 + 3 )); done
	if [ "$kind" = drop ]; then
		# a lying device: the target cannot notice; it must stay mirrored
		lm_eq "$tag: guest writes and flushes succeed, fio verify passes" \
			"0 0" "$FIO_RC $WERR"
		lm_eq "$tag: still synced AAA (dropped writes are not seen)" "synced AAA" \
			"$(lm_field tf state) $(lm_field tf health)"
		legs_equal "$tag: writes still mirrored"
	else
		# regions 129, 139, ... 239: not written yet (the four above: 128..158)
		provoke failed $(( (N / 16) + 16 + 3 )) 160
		# Documented: "Metadata error: state failed, metadata health D;
		# writes go to the source only, no copies, no clears, switch refused."
		lm_eq "$tag: guest writes and flushes succeed, fio verify passes" \
			"0 0" "$FIO_RC $WERR"
		lm_eq "$tag: state failed, metadata health D" "failed D" \
			"$(lm_field tf state) $(lm_field tf health | cut -c3)"
		lm_not "$tag: retry refused" dmsetup message tf 0 retry
		expect_rc "$tag: switch refused, metadata failed" 6 "$H" switch tf
		check_insync "$tag"
	fi
	[ "$reload" = 1 ] || { swap tf-m ok; rm_target; return; }

	# The metadata comes back (or the machine reboots): load the table on it.
	sum=$(lm_sum /dev/mapper/tf)
	swap tf-m ok
	rm_target
	dmsetup create tf --table "0 $N $TABLE"
	lm_ok "$tag, reloaded: copy completes" lm_wait_state tf synced 120
	check_insync "$tag, reloaded from the repaired metadata"
	expect_rc "$tag, reloaded: switch" 0 "$H" switch tf
	lm_eq "$tag, reloaded and switched: the destination holds the guest's data" \
		"$sum" "$(lm_sum /dev/mapper/tf)"
	rm_target
}

# ---- the switch ---------------------------------------------------------------
# sw_setup: a synced mirror made by the helper, known data written through it.
sw_setup() {
	dd if=/dev/zero of=/dev/mapper/tf-m bs=1M count=1 oflag=direct status=none
	"$H" create tf --meta /dev/mapper/tf-m --source /dev/mapper/tf-s \
		--dest /dev/mapper/tf-d --region-size 64K >"$OUT" 2>&1 &&
	"$H" wait tf --timeout 300 >>"$OUT" 2>&1 &&
	dd if=/dev/urandom of=/dev/mapper/tf bs=64k count=16 seek=$((RANDOM % 200)) \
		oflag=direct status=none &&
	expected=$(lm_sum /dev/mapper/tf)
}

# What a reboot leaves: nothing of the device-mapper state.
reboot_sim() {
	dmsetup info tf >/dev/null 2>&1 || return 0
	dmsetup clear tf >/dev/null 2>&1
	dmsetup resume tf >/dev/null 2>&1
	dmsetup remove --retry tf >/dev/null 2>&1
}

devno() { dmsetup info -c --noheadings -o major,minor --separator : "$1"; }

# sw_recover TAG LEG: after repairing LEG and a simulated reboot, recover
# names LEG (source|dest) and the device it builds holds the data.
sw_recover() {
	local tag=$1 leg=$2 want
	reboot_sim
	"$H" recover --meta /dev/mapper/tf-m --source /dev/mapper/tf-s \
		--dest /dev/mapper/tf-d >"$OUT" 2>&1
	lm_eq "$tag: recover names the $leg" "$leg" \
		"$(grep -o 'authoritative=[a-z]*' "$OUT" | cut -d= -f2)"
	"$H" recover --meta /dev/mapper/tf-m --source /dev/mapper/tf-s \
		--dest /dev/mapper/tf-d --name tf-rec >"$OUT" 2>&1
	want=$([ "$leg" = dest ] && devno tf-d || devno tf-s)
	lm_eq "$tag: recovered device on the $leg holds the data" \
		"0 $N linear $want 0 $expected" \
		"$(dmsetup table tf-rec 2>/dev/null) $(lm_sum /dev/mapper/tf-rec 2>/dev/null)"
	dmsetup remove --retry tf-rec >/dev/null 2>&1
}

# switch_at STEP LEG KIND: run the switch under gdb, held at the write(2)
# of its "crash-point: STEP" trace line while LEG is swapped to KIND.  The
# line is matched natively (length, first and last 8 bytes after the
# prefix): gdb's Python is far too slow under TCG.
le64() { printf '%s' "$1" | od -An -t d8 -N8 | tr -d ' '; }
switch_at() {
	local line=$'crash-point: '"$1"$'\n'
	local tail=${line:13}
	cat >"$TF/pause.gdb" <<GDB
set pagination off
set confirm off
set \$tf_hit = 0
catch syscall write
condition 1 \$tf_hit == 0 && \$rdi == 2 && \$rdx == ${#line} && *(long *)(\$rsi + 13) == $(le64 "$tail") && *(long *)(\$rsi + ${#line} - 8) == $(le64 "${line: -8}")
commands 1
silent
set \$tf_hit = 1
shell dmsetup load $2 --table '$(tbl "$2" "$3")' && dmsetup resume $2
continue
end
run
quit \$_exitcode
GDB
	LIVEMIRROR_CRASH_TRACE=1 gdb -nx -q -batch -readnever -x "$TF/pause.gdb" --args "$H" switch tf
}

# ---- run --------------------------------------------------------------------
lm_ok "modules load" lm_load_modules
modprobe loop && modprobe dm-flakey
mkleg tf-s $MB && mkleg tf-d $MB && mkleg tf-m 1 || { lm_fail "scratch devices"; echo "1..$_lm_n"; lm_exit; }
lm_fill /dev/mapper/tf-s
lm_on_exit "dmsetup remove --retry tf-rec"
lm_on_exit "rm_target"
t0=$SECONDS

dest_fault copy error
dest_fault mirror flaky
dest_fault flush dead
dest_fault suspend dead
dest_fault reload error
lm_diag "destination scenarios: $((SECONDS - t0)) s"
src_fault
meta_fault error mirror 1
meta_fault flaky flush 0
meta_fault drop flush 1
lm_diag "source and metadata scenarios: $((SECONDS - t0)) s"

# A switch without faults, to learn its steps.
if sw_setup; then
	mapfile -t steps < <(LIVEMIRROR_CRASH_TRACE=1 "$H" switch tf 2>&1 >/dev/null |
			     sed -n 's/^crash-point: //p')
	lm_ok "switch steps traced (${steps[*]})" test "${#steps[@]}" -ge 6
	lm_eq "clean switch: the destination holds the data" "$expected" "$(lm_sum /dev/mapper/tf)"
	reboot_sim
else
	lm_fail "switch setup"; sed 's/^/#   /' "$OUT"
fi

# Before the switch, with a guest write that lets the target see the fault.
sw_setup
swap tf-d dead
guest_write 7
expected=$(lm_sum /dev/mapper/tf)
expect_rc "switch, destination dead before: refused" 8 "$H" switch tf
swap tf-d ok
sw_recover "switch, destination dead before" source

sw_setup
swap tf-m error
guest_write 7
expected=$(lm_sum /dev/mapper/tf)
expect_rc "switch, metadata error before: refused" 6 "$H" switch tf
swap tf-m ok
sw_recover "switch, metadata error before" source

# Before the switch, no I/O in between: only the switch itself can notice.
sw_setup
swap tf-m error
expect_rcs "switch, metadata error just before: refused" "1 6" "$H" switch tf
swap tf-m ok
sw_recover "switch, metadata error just before" source

sw_setup
swap tf-d dead
expect_rcs "switch, destination dead just before: refused" "1 8" "$H" switch tf
swap tf-d ok
sw_recover "switch, destination dead just before" source

# At each step: the fault alternates between the destination and the metadata.
leg=source i=$((SEED % 2))
for step in "${steps[@]}"; do
	[ "$step" = after-commit ] && leg=dest
	if [ $((i++ % 2)) = 0 ]; then dev=tf-d kind=dead; else dev=tf-m kind=error; fi
	tag="switch, $dev $kind at $step"
	if ! sw_setup; then
		lm_fail "$tag: setup"; sed 's/^/#   /' "$OUT"; reboot_sim; continue
	fi
	want=$([ $leg = source ] && echo 1 || echo 0)
	expect_rc "$tag" "$want" switch_at "$step" "$dev" "$kind"
	if [ $leg = source ]; then
		lm_eq "$tag: live device still reads the data from the source" \
			"$expected" "$(lm_sum /dev/mapper/tf)"
	fi
	swap "$dev" ok
	sw_recover "$tag" $leg
done
lm_diag "total: $((SECONDS - t0)) s"
dmesg | grep -E 'livemirror|dirtylog' | tail -15 | sed 's/^/# dmesg: /'
echo "1..$_lm_n"
lm_exit
