#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Shared helpers for the livemirror selftests: TAP output, module loading,
# scratch block devices carved from one ram disk, status parsing.
# Source it from a test:  . "$(dirname "$0")/lib.sh"

if [ -z "${LM_TOP:-}" ]; then
	# Walk up to the project root (the tree or an installed copy under build/).
	LM_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	while [ "$LM_TOP" != / ] && [ ! -f "$LM_TOP/Kbuild" ]; do LM_TOP=$(dirname "$LM_TOP"); done
fi
export LM_TOP
# Where the built modules are: the tree itself, or a copy built for another
# kernel (make check KERNEL=rt|debug).
LM_MODDIR=${LM_MODDIR:-$LM_TOP}
export LM_MODDIR
export DM_DISABLE_UDEV=1
LM_HELPER=${LM_HELPER:-$LM_TOP/userspace/livemirror}
# The same helper built with the crash and failure injection hooks
# (LIVEMIRROR_CRASH_AT, LIVEMIRROR_FAIL_AT, LIVEMIRROR_CRASH_TRACE), which
# the installed livemirror does not have.
LM_HELPER_TEST=${LM_HELPER_TEST:-$LM_TOP/userspace/livemirror-test}

# ---- TAP -------------------------------------------------------------------
_lm_n=0 _lm_fail=0 _lm_pass=0 _lm_skip=0
_lm_cleanups=()

lm_plan() { echo "TAP version 13"; echo "1..$1"; }
lm_pass() { _lm_n=$((_lm_n + 1)); _lm_pass=$((_lm_pass + 1)); echo "ok $_lm_n $*"; }
lm_fail() { _lm_n=$((_lm_n + 1)); _lm_fail=$((_lm_fail + 1)); echo "not ok $_lm_n $*"; }
lm_skip() { _lm_n=$((_lm_n + 1)); _lm_skip=$((_lm_skip + 1)); echo "ok $_lm_n $* # SKIP"; }
lm_diag() { printf '# %s\n' "$@"; }

# lm_ok DESCRIPTION COMMAND...: pass when the command succeeds.
lm_ok() {
	local desc=$1; shift
	if "$@"; then lm_pass "$desc"; else lm_fail "$desc"; fi
}

# lm_not DESCRIPTION COMMAND...: pass when the command fails.
lm_not() {
	local desc=$1; shift
	if "$@"; then lm_fail "$desc"; else lm_pass "$desc"; fi
}

# lm_eq DESCRIPTION EXPECTED ACTUAL
lm_eq() {
	if [ "$2" = "$3" ]; then lm_pass "$1"; else lm_fail "$1"; lm_diag "expected '$2', got '$3'"; fi
}

# Run the registered clean-ups (last first), then exit as kselftest wants:
# 0 all passed, 1 a failure, 4 everything skipped.
lm_exit() {
	lm_run_cleanups
	# The suite's time budget is planned from these (tools/vm/run-tests).
	echo "# $(basename "$0"): ${SECONDS} s"
	if [ "$_lm_fail" -gt 0 ]; then exit 1; fi
	if [ "$_lm_pass" -eq 0 ] && [ "$_lm_skip" -gt 0 ]; then exit 4; fi
	exit 0
}

lm_on_exit() { _lm_cleanups+=("$*"); }
lm_run_cleanups() {
	local i
	for ((i = ${#_lm_cleanups[@]} - 1; i >= 0; i--)); do
		eval "${_lm_cleanups[i]}" >/dev/null 2>&1
	done
	_lm_cleanups=()
}

# Tests need device-mapper, which only a guest has: skip the whole file
# (kselftest exit 4) elsewhere.
lm_require_guest() {
	if [ -z "${LM_IN_GUEST:-}" ] && [ ! -e /dev/mapper/control ]; then
		echo "1..0 # SKIP needs a kernel with device-mapper (run under tools/vm/run-in-guest)"
		exit 4
	fi
}

# ---- modules ---------------------------------------------------------------
# Our modules are not in the modules tree: load what they depend on (as
# modinfo names it) with modprobe, then insmod them from the build.
lm_insmod() {
	local ko=$1 name dep
	name=$(basename "$ko" .ko | tr - _)
	grep -q "^$name " /proc/modules && return 0
	for dep in $(modinfo -F depends "$ko" | tr , ' '); do
		case "$dep" in dm_dirtylog|dm-dirtylog) lm_insmod "$LM_MODDIR/dm-dirtylog/dm-dirtylog.ko" ;;
		*) modprobe "$dep" ;; esac || return 1
	done
	insmod "$ko"
}

# lm_require_test_build N: unless the loaded module is a test build (make
# test-modules, its delay points), skip the N remaining checks and exit.
lm_require_test_build() {
	local i
	[ -w /sys/module/dm_livemirror/parameters/test_delay_ms ] && return 0
	for ((i = 0; i < $1; i++)); do lm_skip "not a test build of the module (make test-modules)"; done
	lm_exit
}

# lm_require_knob N: a race test on a delay point: a test build, and 2 vCPUs
# (one held in the delay, one to race it); else skip the N remaining checks.
lm_require_knob() {
	local i
	lm_require_test_build "$1"
	[ "$(nproc)" -ge 2 ] && return 0
	for ((i = 0; i < $1; i++)); do lm_skip "needs 2 vCPUs (make knobs)"; done
	lm_exit
}

lm_load_modules() {
	modprobe dm-mod || return 1
	lm_insmod "$LM_MODDIR/dm-dirtylog/dm-dirtylog.ko" &&
		lm_insmod "$LM_MODDIR/dm-livemirror/dm-livemirror.ko"
}

# ---- scratch devices -------------------------------------------------------
# One ram disk (brd) of LM_RAM_MB, carved into dm-linear slices, so tests can
# make as many devices as they like and a test's slices vanish with it.
LM_RAM_MB=${LM_RAM_MB:-1024}
_lm_next_sector_file=/run/lm-brd-next

lm_ram_init() {
	if [ ! -b /dev/ram0 ]; then
		modprobe brd rd_nr=1 rd_size=$((LM_RAM_MB * 1024)) max_part=0 || return 1
	fi
	[ -f $_lm_next_sector_file ] || echo 0 >$_lm_next_sector_file
	# Tests run one after another in a guest and remove their slices: when
	# no slice is left, hand the ram disk out from its start again, or a
	# guest running many tests fills it.
	dmsetup table 2>/dev/null | grep -q ' 1:0 ' || echo 0 >$_lm_next_sector_file
}

# lm_slice NAME SIZE_MB [SECTORS_EXTRA]: /dev/mapper/NAME, fresh (zeroed).
lm_slice() {
	local name=$1 mb=$2 extra=${3:-0} start sectors
	lm_ram_init || return 1
	sectors=$((mb * 2048 + extra))
	start=$(cat $_lm_next_sector_file)
	if [ $((start + sectors)) -gt $((LM_RAM_MB * 2048)) ]; then
		echo "lm_slice: ram disk full (${LM_RAM_MB} MiB); set LM_RAM_MB" >&2
		return 1
	fi
	echo $((start + sectors)) >$_lm_next_sector_file
	dmsetup create "$name" --table "0 $sectors linear /dev/ram0 $start" || return 1
	# brd keeps pages of earlier slices: zero what we hand out.
	blkdiscard -z "/dev/mapper/$name" 2>/dev/null ||
		dd if=/dev/zero of="/dev/mapper/$name" bs=1M count="$mb" oflag=direct status=none
	lm_on_exit "dmsetup remove --retry $name"
}

lm_dev_sectors() { blockdev --getsz "$1"; }

# lm_fill DEV: write random data over the whole device.
lm_fill() {
	local mb=$(( ($(lm_dev_sectors "$1") + 2047) / 2048 ))
	dd if=/dev/urandom of="$1" bs=1M count="$mb" oflag=direct status=none 2>/dev/null
	return 0
}

# lm_sum DEV [SECTORS]: checksum of the first SECTORS (default: all).
# Block devices are read with O_DIRECT: the target (and dm stacked on a
# slice) writes a leg with bios below the leg's page cache, so a buffered
# read may return pages cached by an earlier compare; a leg device whose
# last opener went away (a table swap) loses its cache while the other leg
# keeps it, and two legs with the same data then compare different (or two
# different legs compare the same).
lm_sum() {
	local s=${2:-$(lm_dev_sectors "$1")}
	if [ -b "$1" ]; then
		dd if="$1" iflag=direct,count_bytes bs=1M count=$((s * 512)) status=none
	else
		head -c $((s * 512)) "$1"
	fi | md5sum | cut -d' ' -f1
}

# lm_same DEV1 DEV2 SECTORS: byte-identical over SECTORS.
lm_same() { [ "$(lm_sum "$1" "$3")" = "$(lm_sum "$2" "$3")" ]; }

# ---- livemirror status -----------------------------------------------------
# INFO: <in_sync>/<nr> <dirty> <state> <health> <depth> <throttle> <mirroring> <dest_errors>
# The named fields after dest_errors (copied_bytes=, copy_ms=) are left out.
lm_info() { dmsetup status "$1" | cut -d' ' -f4-11; }
lm_named() { dmsetup status "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
lm_field() {
	local dev=$1 name=$2 a
	read -r -a a <<<"$(lm_info "$dev")"
	case "$name" in
	in_sync) echo "${a[0]%/*}" ;; nr_regions) echo "${a[0]#*/}" ;;
	dirty) echo "${a[1]}" ;; state) echo "${a[2]}" ;; health) echo "${a[3]}" ;;
	depth) echo "${a[4]}" ;; throttle) echo "${a[5]}" ;; mirroring) echo "${a[6]}" ;;
	dest_errors) echo "${a[7]}" ;;
	esac
}

# lm_wait_state DEV STATE [TIMEOUT_S]: poll until the state is reached.
lm_wait_state() {
	local dev=$1 want=$2 t=${3:-120} i
	for ((i = 0; i < t * 10; i++)); do
		[ "$(lm_field "$dev" state)" = "$want" ] && return 0
		sleep 0.1
	done
	lm_diag "timeout waiting for $dev to be $want: $(lm_info "$dev")"
	return 1
}

# ---- LVM -------------------------------------------------------------------
# The guest has no udev: lvm must create its nodes itself and not wait for
# udev events, and must not look for a devices file or lvmpolld.  /etc/lvm
# is a writable copy inside the guest.
lm_lvm_setup() {
	grep -q 'livemirror-tests' /etc/lvm/lvm.conf 2>/dev/null && return 0
	cat >>/etc/lvm/lvm.conf <<'CONF'
# livemirror-tests: no udev in the test guest
devices { obtain_device_list_from_udev = 0 use_devicesfile = 0 }
activation { udev_sync = 0 udev_rules = 0 monitoring = 0 }
global { use_lvmpolld = 0 }
CONF
}

# ---- helper exit codes -----------------------------------------------------
# True when no dm device is left suspended (the helper's promise on every
# error path).
nothing_suspended() {
	! dmsetup info -c --noheadings -o name,suspended --separator ' ' 2>/dev/null |
		grep -q ' Suspended$'
}

# expect_rc DESC WANT CMD...: exit code WANT and nothing left suspended.
# The command's output is kept in $OUT (when the test set it) for checks of
# the message that follow.
expect_rc() {
	local desc=$1 want=$2 got out=${OUT:-}
	shift 2
	[ -n "$out" ] || out=$(mktemp)
	"$@" >"$out" 2>&1
	got=$?
	if [ "$got" = "$want" ] && nothing_suspended; then
		lm_pass "$desc (exit $want)"
	else
		lm_fail "$desc (exit $got, expected $want)"
		sed 's/^/#   /' "$out"
		dmsetup info -c 2>&1 | sed 's/^/#   /'
	fi
	[ -n "${OUT:-}" ] || rm -f "$out"
}
