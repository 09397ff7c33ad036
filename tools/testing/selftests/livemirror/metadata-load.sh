#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Corrupted metadata loaded in the kernel, in bulk: real logs written by the
# target (fresh, mid-copy with hot regions, synced with hot regions,
# cancelled, prepared, switched, switched after prepare) are snapshotted,
# then at least 1000 corrupted copies (bit flips in superblock slots and
# bitmap blocks, zeroed and stale blocks, truncation, wrong magic, version,
# state, layout, sizes and identity, rolled-back slots) are each written
# onto a metadata device and a livemirror table is loaded on it.  Every load
# must be refused with a message naming the problem, or accepted with the
# documented degradation (bad bitmap block: its regions dirty; damaged
# newest slot: the older one), never with fewer dirty regions than the image
# holds, and a switched log never sends I/O to the source.  'livemirror
# metadata check' on every image must agree.  The loads run in one process
# (metadata_corrupt.py, libdevmapper through ctypes): a dmsetup process per
# image costs seconds in the emulated guest.  The guest runner fails the run
# on any Oops/WARN in the kernel log.
. "$(dirname "$0")/lib.sh"
lm_require_guest
COUNT=${LM_META_LOAD_COUNT:-1000}
SEED=${LM_META_LOAD_SEED:-$RANDOM}
PY=$LM_TOP/tools/testing/selftests/livemirror/metadata_corrupt.py
SECTORS=528192	# 66024 regions of 8 sectors: three bitmap blocks (metadata_corrupt.py)
W=$(mktemp -d /tmp/metadata-load.XXXXXX)
lm_on_exit "rm -rf $W"
t_start=$(date +%s)
lm_plan 27
lm_diag "seed $SEED (LM_META_LOAD_SEED), $COUNT images (LM_META_LOAD_COUNT)"
# must DESCRIPTION COMMAND...: a step the rest depends on.
must() {
	local desc=$1; shift
	if "$@"; then lm_pass "$desc"; else lm_fail "$desc"; lm_exit; fi
}
must "modules load" lm_load_modules

# The helper from tmpfs with its libraries: an exec reading them over the
# 9p root costs twice as much, and it runs once per image.
mkdir -p "$W/helper/lib"
cp "$LM_HELPER" "$W/helper/livemirror"
for l in $(ldd "$LM_HELPER" | awk '$2 == "=>" && $3 ~ /^\// {print $3}'); do cp "$l" "$W/helper/lib/"; done
hb() { LD_LIBRARY_PATH=$W/helper/lib "$W/helper/livemirror" "$@"; }

# Legs: dm-zero (no memory, fast copies); the log does not care what the
# legs hold.  ml-meta is the metadata device the images are loaded from: a
# linear device over ml-back whose length the loader changes for truncation.
setup() {
	dmsetup create ml-zs --table "0 $SECTORS zero" && lm_on_exit "dmsetup remove --retry ml-zs" &&
	dmsetup create ml-zd --table "0 $SECTORS zero" && lm_on_exit "dmsetup remove --retry ml-zd" &&
	lm_slice ml-mb1 1 && lm_slice ml-mb2 1 && lm_slice ml-mb3 1 && lm_slice ml-back 1 &&
	dmsetup create ml-meta --table "0 88 linear /dev/mapper/ml-back 0" &&
	lm_on_exit "dmsetup remove --retry ml-meta"
}
must "scratch devices" setup
lm_on_exit "dmsetup remove --retry ml-load"
Z=/dev/mapper/ml-zs D=/dev/mapper/ml-zd

# The base images: the target driven into seven states (in one process,
# like the loads), its metadata copied after each.
make_bases() {
	python3 "$PY" bases "$W/base" /dev/mapper/ml-mb1 /dev/mapper/ml-mb2 /dev/mapper/ml-mb3 "$Z" "$D" \
		>"$W/bases.log" 2>&1
	local rc=$?
	sed 's/^/# /' "$W/bases.log"
	return $rc
}
must "seven real logs made by the target and snapshotted (fresh, cancelled, mid-copy, synced+hot, switched, prepared, prepared+switched)" make_bases
lm_diag "bases and setup took $(( $(date +%s) - t_start )) s"

t=$(date +%s)
out=$(python3 "$PY" gen "$W/base" "$W/img" "$COUNT" "$SEED")
lm_diag "$out ($(( $(date +%s) - t )) s)"
n=$(grep -c . "$W/img/manifest.jsonl")
lm_ok "at least 1000 corrupted images (plus one copy of each base): $((n - 7))" \
	test $((n - 7)) -ge 1000 -o -n "${LM_META_LOAD_COUNT:-}"

# The helper's verdict on every image, beside the kernel loads (two
# workers: an exec is CPU-bound in the emulated guest).
t=$(date +%s)
checkers=()
for k in 0 1; do
	awk -v k=$k 'NR % 2 == k' "$W/img/checklist" | while read -r i p; do
		hb metadata check "$p" >/dev/null 2>&1
		echo "$i $?"
	done >"$W/checks.$k" &
	checkers+=($!)
done
before=$(grep -E '^(Slab|VmallocUsed):' /proc/meminfo | awk '{s += $2} END {print s}')
python3 "$PY" load "$W/img" /dev/mapper/ml-back ml-meta "$Z" "$D" >"$W/load.log" 2>&1
lrc=$?
after=$(grep -E '^(Slab|VmallocUsed):' /proc/meminfo | awk '{s += $2} END {print s}')
sed 's/^# //; s/^/# /' "$W/load.log" | tail -n 12
lm_ok "the loader loaded every image (libdevmapper, one process)" \
	test "$lrc" = 0 -a "$(grep -c . "$W/img/results.jsonl" 2>/dev/null)" = "$n"
lm_diag "kernel loads took $(( $(date +%s) - t )) s"
wait "${checkers[@]}"
cat "$W/checks.0" "$W/checks.1" >"$W/checks"
lm_diag "kernel loads and helper checks took $(( $(date +%s) - t )) s"

# The verdicts: "ok|not ok<TAB>description", diagnostics as "# ..." lines.
python3 "$PY" judge "$W/img" "$W/checks" >"$W/judge" 2>&1
verdicts=0
while IFS= read -r line; do
	case "$line" in
	"ok	"*) lm_pass "${line#*	}"; verdicts=$((verdicts + 1)) ;;
	"not ok	"*) lm_fail "${line#*	}"; verdicts=$((verdicts + 1)) ;;
	*) printf '# %s\n' "${line#\# }" ;;
	esac
done <"$W/judge"
for ((; verdicts < 21; verdicts++)); do lm_fail "the judge did not report this verdict (see above)"; done
lm_ok "kernel memory did not grow by more than 8 MiB over the loads (slab+vmalloc: $before -> $after KiB)" \
	test $((after - before)) -lt 8192
lm_diag "total $(( $(date +%s) - t_start )) s"
# Keep the images and results for a look from the host (judge runs there too).
if [ -n "${LM_META_LOAD_KEEP:-}" ] && [ -d "${LM_OUT:-}" ]; then
	cp -r "$W" "$LM_OUT/metadata-load" && lm_diag "kept in $LM_OUT/metadata-load"
fi
lm_exit
