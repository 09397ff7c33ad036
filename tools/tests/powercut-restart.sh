#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A guest power cut mid-copy, then a boot-time restart that trusts the log
# (issue 14, item 2).  Host side: three sparse disk files (source,
# destination, metadata) survive two guest boots (run-in-guest --disk FILE).
#
# Boot 1 (tools/tests/powercut/guest.sh cut): the source is filled with
# stamped blocks, livemirror copies it with explicit identities, throttled
# at 16 MiB/s and paused once about 70 % is copied; a writer writes,
# overwrites and flushes through the mirror over copied and uncopied
# regions (journal on the results share); the copy resumes at 1 MiB/s, a
# second writer is still writing when the guest asks for the cut, and this
# script kills qemu with SIGKILL (nothing in the guest runs after: no sync,
# no flush, no detach record).
#
# Between the boots, on the host: the metadata image must say that the last
# table never detached, its dirty count must cover every region not copied
# at the cut, and the source image must hold every write acknowledged
# before the last flush that returned.  The three images are copied for the
# control.
#
# Boot 2 (guest.sh restart): the same table with trust_log, before anything
# opens the source, must read opened=unclean trusted=1, have exactly the
# metadata's dirty regions dirty, copy exactly those again (copied_bytes),
# end with identical legs (compared suspended) and the writer's durable
# data on both.  The control loads the copies without trust_log: every
# region dirty, every region copied.  After the boot, on the host: legs
# byte-identical (cmp of the image files), metadata detached, 0 dirty.
# Before the control boots, 1 MiB is written to its source image behind
# the log (in regions the log calls clean), as a boot that opened the
# source before the migration was restarted would: the control's
# destination must have it, which only copying every region gives.
#
# Knobs: PC_LEG_MB (default 256), PC_SEED, PC_CUT=sysrq (the guest resets
# itself instead of being killed), PC_COMPAT=old (tables without the
# identity features and trust_log, for a module older than them; LM_HELPER
# then names a helper that reads that metadata), PC_KEEP=1 (keep the run
# directory build/vm/runs/powercut-<kernel> even when every check passed;
# the figures are kept in powercut-<kernel>-figures.txt beside it).  TAP
# output.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2
run=$top/tools/vm/run-in-guest
cw=$top/tools/replay-log/crash-writer
helper=${LM_HELPER:-$top/userspace/livemirror}
moddir=${LM_MODDIR:-$top}
LEG_MB=${PC_LEG_MB:-256}
RS=128			# 64 KiB regions
SEED=${PC_SEED:-$(date +%s)}
T0=$(date +%s)
# Guest time limits; the debug kernel (KASAN, lockdep) runs several times slower.
tmo=1
[ "${LM_KERNEL:-default}" = debug ] && tmo=4

skip() { echo "1..0 # SKIP $*"; exit 0; }
tools/kernel/kernel-info kver >/dev/null 2>&1 || skip "no guest kernel (make deps)"
command -v qemu-system-x86_64 >/dev/null || skip "no qemu-system-x86_64"
for f in "$moddir/dm-livemirror/dm-livemirror.ko" "$moddir/dm-dirtylog/dm-dirtylog.ko" "$cw" "$helper"; do
	[ -e "$f" ] || skip "$f is not built (make all tools)"
done

. "$top/tools/tests/powercut/host-lib.sh"

# json FILE EXPR: a value from the helper's metadata dump --json.
json() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2" 2>/dev/null; }
dump() { "$helper" metadata dump --json "$1" >"$2" 2>"$2.err"; }

echo "TAP version 13"
echo "1..30"
diag "seed $SEED, legs $LEG_MB MiB, regions $((RS / 2)) KiB, ${PC_COMPAT:+compat $PC_COMPAT, }helper $helper, modules $moddir"
# Per kernel flavour, as make check's results: suites on two kernels may run at once.
dir=$top/build/vm/runs/powercut-${LM_KERNEL:-default}
rm -rf "$dir"
mkdir -p "$dir"
# Removed when every check passed (the images take about 1 GiB), else kept.
[ "${PC_KEEP:-0}" = 1 ] || trap '[ "$fail" = 0 ] && rm -rf "$dir"' EXIT

# ---- the checker itself, on a plain file ------------------------------------
w=$dir/self
mkdir -p "$w"
truncate -s 8M "$w/a.img"
"$cw" --dev "$w/a.img" --journal "$w/j" --fill >/dev/null &&
	"$cw" --dev "$w/a.img" --journal "$w/j" --ops 400 --threads 3 --fsync-every 10 --seed 7 >/dev/null
# A journal torn by a cut: everything after the last S line's flush, and a
# half line at the end.
last_s=$(grep -n '^S ' "$w/j" | tail -n 2 | head -n 1 | cut -d: -f1)
head -n "$((last_s + 3))" "$w/j" >"$w/jt" && printf 'W 99' >>"$w/jt"
check "crash-writer --verify-durable accepts an intact image and a torn journal" \
	bash -c '"$1" --dev "$2/a.img" --journal "$2/j" --verify-durable >/dev/null &&
		"$1" --dev "$2/a.img" --journal "$2/jt" --verify-durable >/dev/null' _ "$cw" "$w"
# One block that lost its durable write: the newest W of the torn journal
# before its last D's S line, zeroed.
kmax=$(awk '/^D /{d=$2} END{print d}' "$w/jt")
blk=$(awk -v k="$kmax" '$1 == "S" && $2 == k {exit} $1 == "W" {b = $3} END {print b}' "$w/jt")
dd if=/dev/zero of="$w/a.img" bs=4096 seek="$blk" count=1 conv=notrunc status=none
"$cw" --dev "$w/a.img" --journal "$w/jt" --verify-durable >"$w/v.out" 2>&1
check "crash-writer --verify-durable catches a block that lost its durable write (block $blk)" \
	grep -q "block $blk should hold" "$w/v.out"

# ---- boot 1: the power cut --------------------------------------------------
src=$dir/src.img dst=$dir/dst.img meta=$dir/meta.img
truncate -s "${LEG_MB}M" "$src" "$dst" && truncate -s 4M "$meta"
envs=(--env "PC_LEG_MB=$LEG_MB" --env "PC_RS=$RS" --env "PC_SEED=$SEED"
      --env "LM_MODDIR=$moddir" --env "PC_CUT=${PC_CUT:-host}" ${PC_COMPAT:+--env "PC_COMPAT=$PC_COMPAT"})
t1=$(date +%s)
"$run" --timeout $((400 * tmo)) --out "$dir/boot1" --disk "$src" --disk "$dst" --disk "$meta" "${envs[@]}" -- \
	bash -c 'tools/tests/powercut/guest.sh cut 2>&1 | tee $LM_OUT/tap' >"$dir/boot1.log" 2>&1 &
rig=$!
cut_by="" cut_ms=""
while kill -0 "$rig" 2>/dev/null; do
	if [ -e "$dir/boot1/cut-now" ] && [ -z "$cut_by" ]; then
		ts=$(date +%s%N)
		if [ "${PC_CUT:-host}" = host ]; then
			if qpid=$(cut_qemu "$rig"); then
				cut_by="SIGKILL of qemu (pid $qpid)"
				cut_ms=$(( ($(date +%s%N) - ts) / 1000000 ))
			fi
		else
			cut_by="sysrq b in the guest"
		fi
	fi
	sleep 0.1
done
wait "$rig"
rc1=$?
b1_s=$(( $(date +%s) - t1 ))
[ -e "$dir/boot1/cut-self" ] && cut_by="$(sed 's/^# //' "$dir/boot1/cut-self")"
guest_tap "$dir/boot1/tap" 5 "boot 1"
cutstat=$(cat "$dir/boot1/cut-status" 2>/dev/null)
diag "boot 1: run-in-guest exit $rc1 after $b1_s s; cut: ${cut_by:-none}${cut_ms:+ (${cut_ms} ms to kill)}" \
	"status at the cut: $cutstat"
read -r -a cs <<<"$cutstat"
cut_insync=${cs[3]:-0/0} nr=${cs[3]:-0/0} cut_state=${cs[5]:-}
cut_insync=${cut_insync%/*} nr=${nr#*/}
check "boot 1 ended by the power cut mid-copy (exit $rc1, no exit status; state at the cut ${cut_state:-?}, $cut_insync/$nr in sync)" \
	test "$rc1" = 124 -a ! -e "$dir/boot1/rc" -a -n "$cut_by" -a "$cut_state" = copying
dump "$meta" "$dir/meta-cut.json"
d_meta=$(json "$dir/meta-cut.json" 'd["bitmap"]["dirty"]')
m_nr=$(json "$dir/meta-cut.json" 'd["superblock"]["nr_regions"]')
m_att=$(json "$dir/meta-cut.json" 'd["superblock"]["last_detach"]')
m_state=$(json "$dir/meta-cut.json" 'd["superblock"]["state"]')
sed 's/^/# dump: /' "$dir/meta-cut.json.err"
check "the metadata image after the cut: last detach ${m_att:-?} (the table never detached), state ${m_state:-?}, ${d_meta:-?} of ${m_nr:-?} regions dirty" \
	test "$m_att" = unclean -a "$m_state" = copying -a -n "$d_meta" -a "$m_nr" = "$nr"
# Regions not copied at the cut can only have been cleared after a copy and
# two idle lazy-clear periods (2 s), longer than the kill took.
check "its dirty regions cover the $((nr - cut_insync)) not in sync at the cut, and are under half of all $nr" \
	test -n "$d_meta" -a "${d_meta:-0}" -ge $((nr - cut_insync)) -a "${d_meta:-0}" -lt $((nr / 2))
"$cw" --dev "$src" --journal "$dir/boot1/journal" --verify-durable >"$dir/durable-src" 2>&1
vrc=$?
check "the source image holds the writers' durable data ($(tail -n1 "$dir/durable-src"))" test "$vrc" = 0
sed 's/^/#   /' "$dir/durable-src" | head -5
diag "journal: $(grep -c '^W ' "$dir/boot1/journal") writes, $(grep -c '^D ' "$dir/boot1/journal") flushes returned"

# The control's disks: the same three images as the cut left them, and then
# a bypass: 1 MiB of writes to the source behind the log's back (a boot that
# activated the source before the migration was restarted), in regions the
# log calls clean (regions 64-79, copied and cleared long before the cut).
# Only a restart that does not trust the log copies them.
for f in src dst meta; do cp --sparse=always "$dir/$f.img" "$dir/c$f.img"; done
bp_first=1024 bp_n=256
"$cw" --dev "$dir/csrc.img" --journal "$dir/bypass-journal" --ops 64 --threads 1 --fsync-every 8 \
	--range "$bp_first:$bp_n" --seed "$SEED" >"$dir/bypass.out" 2>&1
bprc=$?
bp_r0=$((bp_first * 8 / RS)) bp_r1=$(((bp_first + bp_n) * 8 / RS - 1))
bp_dirty=$(json "$dir/meta-cut.json" "sum(1 for b, e in d['bitmap']['dirty_ranges'] if b <= $bp_r1 and e >= $bp_r0)")
check "bypass: 1 MiB written to the control's source image behind the log, in regions $bp_r0-$bp_r1, clean in its metadata" \
	test "$bprc" = 0 -a "$bp_dirty" = 0 -a "$(json "$dir/meta-cut.json" 'd["bitmap"]["truncated"]')" = False
mkdir -p "$dir/boot2"
cp "$dir/boot1/journal" "$dir/boot2/journal"

# ---- boot 2: the boot-time restart, and the control -------------------------
t2=$(date +%s)
"$run" --timeout $((600 * tmo)) --out "$dir/boot2" --disk "$src" --disk "$dst" --disk "$meta" \
	--disk "$dir/csrc.img" --disk "$dir/cdst.img" --disk "$dir/cmeta.img" "${envs[@]}" \
	--env "PC_META_DIRTY=${d_meta:-?}" --env "PC_COPY_DIRTY=${d_meta:-?}" -- \
	bash -c 'tools/tests/powercut/guest.sh restart 2>&1 | tee $LM_OUT/tap' >"$dir/boot2.log" 2>&1
rc2=$?
b2_s=$(( $(date +%s) - t2 ))
guest_tap "$dir/boot2/tap" 13 "boot 2"
grep 'run-in-guest:' "$dir/boot2.log" | sed 's/^/# /'
check "boot 2 ended normally with a clean kernel log (exit $rc2 after $b2_s s)" test "$rc2" = 0
check "on the host: source and destination images identical, and the control's too (bypass included)" \
	bash -c 'cmp -s "$1/src.img" "$1/dst.img" && cmp -s "$1/csrc.img" "$1/cdst.img"' _ "$dir"
"$cw" --dev "$dst" --journal "$dir/boot1/journal" --verify-durable >"$dir/durable-dst" 2>&1
vrc=$?
check "on the host: the destination image holds the durable data ($(tail -n1 "$dir/durable-dst"))" test "$vrc" = 0
"$cw" --dev "$dir/cdst.img" --journal "$dir/bypass-journal" --verify-durable >"$dir/durable-bypass" 2>&1
vrc=$?
check "on the host: the control's destination holds the bypass writes ($(tail -n1 "$dir/durable-bypass"))" test "$vrc" = 0
dump "$meta" "$dir/meta-end.json"
e_att=$(json "$dir/meta-end.json" 'd["superblock"]["attached"]')
e_dirty=$(json "$dir/meta-end.json" 'd["bitmap"]["dirty"]')
e_last=$(json "$dir/meta-end.json" 'd["superblock"]["last_detach"]')
check "on the host: the metadata after the restart records a clean detach (${e_last:-?}), 0 dirty (${e_dirty:-?})" \
	test "$e_att" = False -a "$e_last" = clean -a "$e_dirty" = 0

f() { v=$(sed -n "s/^$1=//p" "$dir/boot2/facts" 2>/dev/null | tail -n1); echo "${v:-0}"; }
cb=$(f pc-lm.copied_bytes) ccb=$(f pc-ctl.copied_bytes)
figures="dirty at open ${d_meta:-?} of ${nr:-?} regions (not in sync at the cut: $((nr - cut_insync))); trusted restart copied $cb bytes = $((cb / (RS * 512))) regions in $(f pc-lm.copy_s) s; control copied $ccb bytes = $((ccb / (RS * 512))) regions in $(f pc-ctl.copy_s) s; boot 1 $b1_s s, boot 2 $b2_s s, total $(( $(date +%s) - T0 )) s"
diag "figures: $figures"
echo "$figures" >"$dir-figures.txt"
[ "$n" = 30 ] || nok "the plan: $n results instead of 30"
[ "$fail" = 0 ] || diag "$fail failed; consoles, journal, images and dumps kept in $dir"
[ "$fail" = 0 ]
