#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host-side: model-check the region protocol with SPIN (tools/model/).
#  - livemirror.pml, the protocol of issue 13, must verify with no error
#    (full state space: assertions and invalid end states);
#  - livemirror-cursor.pml, the cursor rule of b790ef5, must fail, and the
#    trail must be the review's C1 interleaving (printed below);
#  - each mutant of the new protocol (no re-check under the bucket lock, no
#    WAW interlock, no flush before the lazy clear, no group stamp at the
#    end of a copy, a lazy clear blind to the epochs) and each weaker reading
#    of the design (an interlock that only counts issued writes; N cleared
#    at the end of the copy rather than when its slot is taken) must fail.
# Every model is compiled with -DSAFETY; the refutations go on searching
# for shorter trails (pan -i) so that the printed trail is short.
top=$(cd "$(dirname "$0")/../.." && pwd)
model=$top/tools/model
echo "TAP version 13"
if ! command -v spin >/dev/null 2>&1 || ! command -v gcc >/dev/null 2>&1; then
	echo "1..0 # SKIP spin or gcc not installed (Debian package spin)"
	exit 0
fi
echo "1..11"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
n=0

# run NAME MODEL PANFLAGS SPINFLAGS...: build and run pan in $work/NAME;
# leaves the pan output in $work/NAME/pan.out
run() {
	local name=$1 pml=$2 panf=$3 d=$work/$1
	shift 3
	mkdir -p "$d"
	cp "$model/$pml" "$d/"
	(
		cd "$d" || exit 1
		spin -a "$@" "$pml" >spin.out 2>&1 || { cat spin.out; exit 1; }
		# shellcheck disable=SC2086
		gcc -w -O2 -DSAFETY -DMEMLIM=1500 -o pan pan.c || exit 1
		# shellcheck disable=SC2086
		timeout 150 ./pan -m20000 -w24 $panf >pan.out 2>&1
		true
	)
}

# states stored, search depth, time; for a refutation, the length of the
# shortest trail found (the depth pan -i last cut the search to)
figures() {
	local o=$work/$1/pan.out t
	printf 'states stored %s, depth reached %s, %s s' \
		"$(awk '/states, stored/ { print $1; exit }' "$o")" \
		"$(sed -n 's/.*depth reached \([0-9]*\).*/\1/p' "$o" | head -1)" \
		"$(sed -n 's/^pan: elapsed time \([0-9.e+]*\).*/\1/p' "$o" | head -1)"
	t=$(sed -n 's/.*assertion violated.*(at depth \([0-9]*\)).*/\1/p
		   s/^pan: reducing search depth to \([0-9]*\)/\1/p' "$o" | tail -1)
	[ -z "$t" ] || printf ', trail %s steps' "$t"
}

errors() {
	sed -n 's/.*errors: \([0-9]*\).*/\1/p' "$work/$1/pan.out" | head -1
}

# the key steps of the trail: the model's MSC: lines and the failed assertion
trail() {
	local name=$1 pml=$2
	shift 2
	(cd "$work/$name" && spin -t "$@" "$pml" 2>&1) |
		sed -n 's/^ *MSC: /    /p; s/^spin: text of failed assertion: /    FAILED: /p' |
		sed 's/FAILED: assert((D\[r\]||.*/FAILED: after the crash a region with D=0 differs between the legs/
		     s/FAILED: assert((dur\[.*==dur\[.*/FAILED: at the switch (synced, flushed) the legs differ/
		     s/FAILED: assert(.*okmask.*/FAILED: an acknowledged write is not on the authoritative leg/'
}

ok() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n $2"; else echo "not ok $n $2"; fi
}

# 1: the new protocol verifies, and every statement of it is reached (a
# model whose writes, copies, clears or switch never happen would verify
# for nothing)
start=$(date +%s.%N)
run new livemirror.pml ""
e=$(errors new)
unreached=$(grep -A1 '^unreached in' "$work/new/pan.out" | grep -v '^--' | paste - - |
	grep -v '(0 of')
if [ "$e" = 0 ] && [ -z "$unreached" ] &&
   ! grep -q 'out of memory\|MEMLIM\|max search depth too small\|Search not completed' "$work/new/pan.out"; then
	ok 0 "livemirror.pml verifies: no assertion violation, no invalid end state, no unreached code ($(figures new))"
else
	ok 1 "livemirror.pml verifies (errors: ${e:-?})"
	grep -v '^Depth=' "$work/new/pan.out" | head -40 | sed 's/^/# /'
fi

# 2-3: the old cursor rule loses a write (C1), at the switch and through the
# lazy clear and a crash
c1_steps() {
	# the C1 interleaving, in order: the scan passes R0; W1 to_dest (L was
	# 0); W2 source only (cursor stale, L now 1); the copier stores a cursor
	# past R0
	trail "$@" | awk '
		s == 0 && /copier scan reads L\[0\]=0/ { s = 1 }
		s == 1 && /route R0 .*L\[0\]=0 -> to_dest=1/ { s = 2 }
		s == 2 && /route R0 .*L\[0\]=1 -> to_dest=0/ { s = 3 }
		s == 3 && /copier (stores|takes R1, stores) cursor=2/ { s = 4 }
		END { exit s != 4 }'
}
for v in switch noswitch; do
	flags=""
	[ $v = noswitch ] && flags=-DNOSWITCH
	run "old-$v" livemirror-cursor.pml -i $flags
	e=$(errors "old-$v")
	desc="livemirror-cursor.pml (b790ef5 rule): SPIN finds C1"
	[ $v = switch ] && desc="$desc, legs differ at the switch" ||
		desc="$desc, region cleared in the log though the legs differ (no switch)"
	# shellcheck disable=SC2086
	if [ "${e:-0}" -ge 1 ] && c1_steps "old-$v" livemirror-cursor.pml $flags; then
		ok 0 "$desc ($(figures "old-$v"))"
	else
		ok 1 "$desc (errors: ${e:-?})"
	fi
	# shellcheck disable=SC2086
	trail "old-$v" livemirror-cursor.pml $flags | sed 's/^/#/'
done

# 4-10: every mutant is refuted
for m in MUTANT_NORECHECK MUTANT_NOWAW MUTANT_NOFLUSH MUTANT_NOSTAMP MUTANT_NOEPOCH \
	 WAW_AT_ISSUE N_CLEAR_AT_END; do
	case $m in
	MUTANT_NORECHECK) what="the copier takes its stale search result without the re-check under the bucket lock" ;;
	MUTANT_NOWAW) what="no write-after-write interlock" ;;
	MUTANT_NOFLUSH) what="the lazy clear does not flush both legs first" ;;
	MUTANT_NOSTAMP) what="the end of a copy does not stamp its group (lm_touch_group)" ;;
	MUTANT_NOEPOCH) what="the lazy clear ignores the epochs (clears a region with a range op in flight)" ;;
	WAW_AT_ISSUE) what="the interlock ignores mirrored writes still waiting for their mark" ;;
	N_CLEAR_AT_END) what="N cleared when the copy ends, not when the slot is taken" ;;
	esac
	run "$m" livemirror.pml -i "-D$m"
	e=$(errors "$m")
	if [ "${e:-0}" -ge 1 ] && grep -q 'assertion violated' "$work/$m/pan.out"; then
		ok 0 "mutant $m refuted: $what ($(figures "$m"))"
	else
		ok 1 "mutant $m refuted: $what (errors: ${e:-?})"
	fi
	trail "$m" livemirror.pml "-D$m" | sed 's/^/#/'
done
# 11: the same verdict with the crash's outcomes branched explicitly and
# the load, copy and switch run (a cross-check of the all-outcomes-at-once
# form of the checks; about three times slower, so on request)
if [ "${LM_SPIN_EXPLICIT:-0}" = 1 ]; then
	run explicit livemirror.pml "" -DCRASH_EXPLICIT
	e=$(errors explicit)
	[ "$e" = 0 ] && ! grep -q 'MEMLIM\|Search not completed' "$work/explicit/pan.out"
	ok $? "livemirror.pml -DCRASH_EXPLICIT verifies ($(figures explicit))"
else
	n=$((n + 1))
	echo "ok $n # SKIP livemirror.pml -DCRASH_EXPLICIT (set LM_SPIN_EXPLICIT=1; about 40 s)"
fi
end=$(date +%s.%N)
awk -v a="$start" -v b="$end" 'BEGIN { printf "# spin-model: %.1f s in all\n", b - a }'
