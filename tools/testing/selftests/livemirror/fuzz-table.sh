#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Table-line and message fuzzing: thousands of generated and mutated table
# lines (numbers at the limits, huge and negative values, missing and extra
# arguments, paths that are not block devices, the same device twice, sizes
# off by one), each rejected with a message from the target or accepted and
# working; random messages to accepted devices.  The guest runner fails the
# run on any Oops/WARN in the kernel log.
. "$(dirname "$0")/lib.sh"
lm_require_guest
COUNT=${LM_FUZZ_LINES:-10000}
SEED=${LM_FUZZ_SEED:-$(date +%s)}
lm_plan 5
lm_load_modules || { lm_fail "modules load"; lm_exit; }
lm_slice fz-meta 1 && lm_slice fz-src 8 2049 && lm_slice fz-dst 10 || { lm_fail "scratch devices"; lm_exit; }
lm_fill /dev/mapper/fz-src
bin=$(dirname "$0")/fuzz_table
[ -x "$bin" ] || bin=$LM_TOP/build/ksft/livemirror/fuzz_table
# A bare number in a device position makes the kernel try it as a dev_t and
# ask modprobe for "block-major-N": seconds each in the emulated guest.
# Everything needed is loaded, so switch module autoloading off meanwhile.
modprobe_path=$(cat /proc/sys/kernel/modprobe)
lm_on_exit "echo '$modprobe_path' >/proc/sys/kernel/modprobe"
echo >/proc/sys/kernel/modprobe
before=$(grep -E '^(Slab|VmallocUsed):' /proc/meminfo | awk '{s += $2} END {print s}')
out=$("$bin" /dev/mapper/fz-meta /dev/mapper/fz-src /dev/mapper/fz-dst "$COUNT" "$SEED")
rc=$?
after=$(grep -E '^(Slab|VmallocUsed):' /proc/meminfo | awk '{s += $2} END {print s}')
lm_diag "seed $SEED: $out"
lm_eq "the fuzzer ran every line and every accepted device worked (status, I/O read-back)" 0 $rc
eval "$(echo "$out" | tr ' ' '\n' | grep '=' | sed 's/^/f_/')"
lm_eq "all $COUNT lines were tried" "$COUNT" "${f_lines:-0}"
lm_ok "both outcomes occur (accepted ${f_accepted:-0}, rejected ${f_rejected:-0})" \
	test "${f_accepted:-0}" -gt 0 -a "${f_rejected:-0}" -gt 0
lm_eq "every rejected line was rejected by the target with a message (lengths past 1 TiB: by dm core)" 0 "${f_rejected_by_dm_core:-x}"
lm_ok "kernel memory did not grow by more than 8 MiB (slab+vmalloc: $before -> $after KiB)" \
	test $((after - before)) -lt 8192
lm_exit
