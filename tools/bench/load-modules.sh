# SPDX-License-Identifier: GPL-2.0
# Sourced by the bench's A/B scripts (m4-latency.sh, ab-qd16.sh):
# lm_bench_load DIR inserts DIR's dm-dirtylog and dm-livemirror builds,
# each after the modules it depends on.
lm_bench_load() {
	local ko d
	for ko in "$1/dm-dirtylog/dm-dirtylog.ko" "$1/dm-livemirror/dm-livemirror.ko"; do
		for d in $(modinfo -F depends "$ko" | tr , ' '); do
			modprobe "$d" 2>/dev/null
		done
		insmod "$ko" || return 1
	done
}
