# SPDX-License-Identifier: GPL-2.0
#
# Host side of the power-cut tests (powercut-restart.sh, powercut-lvm.sh,
# tools/bench/pvmove-compare): TAP numbering, a guest's TAP re-numbered as
# ours, and the cut itself.  Sourced, never run.
n=0 fail=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
nok() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n - $*"; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else nok "$d"; fi; }
diag() { printf '# %s\n' "$@"; }

# guest_tap TAP WANT WHAT: re-number a guest's ok / not ok lines as ours,
# and count missing ones (a guest that ended early) as failures.
guest_tap() {
	local tap=$1 want=$2 what=$3 got=0 line desc
	while IFS= read -r line; do
		line=${line%$'\r'}
		case "$line" in
		"ok "*) desc=${line#ok }; desc=${desc#* }; ok "$what: $desc"; got=$((got + 1)) ;;
		"not ok "*) desc=${line#not ok }; desc=${desc#* }; nok "$what: $desc"; got=$((got + 1)) ;;
		"#"*) echo "#   $line" ;;
		1..*) [ "${line#1..}" = "$want" ] ||
			diag "$what: the guest plans ${line#1..} checks, this host script expects $want" ;;
		esac
	done < <(cat "$tap" 2>/dev/null)
	for ((; got < want; got++)); do nok "$what: a check did not report (the guest ended early)"; done
}

# cut_qemu RIG: the power cut.  RIG is a run-in-guest started in the
# background (run-in-guest -> timeout -> qemu): SIGKILL qemu itself, so that
# nothing in the guest runs after.  Prints qemu's pid; false if none.
cut_qemu() {
	local tpid qpid
	tpid=$(pgrep -P "$1" -x timeout | head -n1)
	qpid=${tpid:+$(pgrep -P "$tpid" | head -n1)}
	[ -n "$qpid" ] && kill -KILL "$qpid" && echo "$qpid"
}
