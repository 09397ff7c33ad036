#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of tools/tests/powercut-lvm.sh (run by it through
# tools/vm/run-in-guest, never on its own).  Disks vda and vdb are the two
# PVs of VG pcvg; they survive the power cut.  TAP on stdout; facts for the
# host in $LM_OUT.
#
#   lvm-guest.sh cut STEP    boot 1: LV pcvg/vmdisk (64 MiB, on vda) with a
#                            mounted ext4 that a writer changes (each file
#                            fsynced, renamed, the directory synced, and
#                            only then its checksum journaled on the share);
#                            'livemirror lvmove pcvg/vmdisk /dev/vdb' with
#                            the test helper held at STEP
#                            (LIVEMIRROR_CRASH_HOLD), or STEP mid-copy: a
#                            throttled copy about half done.  Then ask the
#                            host for the power cut ($LM_OUT/cut-now); the
#                            writer is still writing.
#   lvm-guest.sh boot STEP   boot 2: what a host's boot does, in order:
#                            autoactivation (vgchange -aay, which must not
#                            hang: lvm2#136), 'livemirror boot', then the
#                            hypervisor's 'lvchange -aey'.  The LV must
#                            serve every journaled file intact; lvmove run
#                            again must finish like pvmove; LVM commands
#                            must leave the data alone.
#
# A STEP named switch-S is a switch across VGs instead: vda is VG pcvg with
# pcvg/vmdisk, vdb is VG pcnew with the destination pcnew/vmdisk and the
# metadata LV; boot 1 starts the migration under the mounted LV, waits for
# the sync and runs 'livemirror switch' held at S.  In boot 2, the state
# 'livemirror boot' reports picks the LV the hypervisor starts: the new LV
# once the switch committed (and then the old name must not give the old
# data), else the old one, whose migration the boot resumed and which is
# then switched again.  Either way lvm-finish must leave nothing on vda.
. "$(dirname "$0")/../../testing/selftests/livemirror/lib.sh"
lm_require_guest
LM=$LM_HELPER
H=$LM_HELPER_TEST
J=$LM_OUT/durable
q() { "$@" >/dev/null 2>&1; }
lm_diag() { local l; for l in "$@"; do printf '# [%3d s] %s\n' "$SECONDS" "$l"; done; }

# start_writer: base files, then the VM's writer in the background.  A file
# counts once it, its rename and the directory are durable; the journal line
# comes after that.
start_writer() {
	local i n=0
	for i in 1 2 3 4 5 6; do head -c 1M /dev/urandom >/run/vm/base$i; done
	sync -f /run/vm
	(cd /run/vm && md5sum base*) >"$J"
	(
		while :; do
			n=$((n + 1))
			head -c $((32 * (n % 5 + 1)))K /dev/urandom >/run/vm/.tmp &&
				sync /run/vm/.tmp && mv /run/vm/.tmp /run/vm/g$n && sync -f /run/vm || exit 1
			echo "$(md5sum </run/vm/g$n | cut -d' ' -f1)  g$n" >>"$J"
		done
	) &
	sleep 2
}

# ask_cut STEP: report, then have the host cut the power (or reset).
ask_cut() {
	# TAP first: nothing the guest prints after the request reaches the host.
	lm_diag "journal: $(wc -l <"$J") durable files" \
		"$(dmsetup table | grep pcvg | sed 's/^/table: /')"
	lm_ok "$2 reached $1 (the helper holds there)" test -e "$LM_OUT/held"
	# only the share: the LV may be suspended at this step, a global sync would hang
	sync -f "$LM_OUT/tap"
	echo "$1" >"$LM_OUT/cut-now"
	sleep "${PC_CUT_WAIT:-20}"
	echo "# the host did not cut within ${PC_CUT_WAIT:-20} s: sysrq reset" >"$LM_OUT/cut-self"
	echo b >/proc/sysrq-trigger
	sleep 60
}

# wait_held PID: until the helper holds at its crash point (or ended).
wait_held() {
	local t
	for ((t = 0; t < 1800; t++)); do
		[ -e "$LM_OUT/held" ] && break
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
}

phase_cut() {
	local step=$1
	lm_plan 3
	lm_ok "modules load" lm_load_modules
	lm_lvm_setup
	q pvcreate -q /dev/vda /dev/vdb && q vgcreate -q pcvg /dev/vda /dev/vdb &&
		q lvcreate -q -y -L 64M -n vmdisk pcvg /dev/vda &&
		mkfs.ext4 -q -E nodiscard /dev/pcvg/vmdisk && mkdir -p /run/vm &&
		mount /dev/pcvg/vmdisk /run/vm
	lm_eq "VG pcvg on vda+vdb, ext4 on pcvg/vmdisk (vda), mounted" 0 $?
	start_writer
	local args=() env=(LIVEMIRROR_CRASH_AT="$step" LIVEMIRROR_CRASH_HOLD="$LM_OUT/held")
	[ "$step" = mid-copy ] && args=(--throttle 2) env=()
	env "${env[@]}" "$H" lvmove pcvg/vmdisk /dev/vdb "${args[@]}" >"$LM_OUT/lvmove.log" 2>&1 &
	local mv=$! t
	if [ "$step" = mid-copy ]; then
		for ((t = 0; t < 1200; t++)); do
			st=$(dmsetup status pcvg-vmdisk 2>/dev/null)
			case "$st" in *livemirror*) ;; *) sleep 0.1; continue ;; esac
			ins=$(lm_field pcvg-vmdisk in_sync) nr=$(lm_field pcvg-vmdisk nr_regions)
			[ "$nr" -gt 0 ] && [ $((ins * 2)) -ge "$nr" ] && break
			sleep 0.1
		done
		dmsetup status pcvg-vmdisk >"$LM_OUT/held"
	fi
	wait_held $mv
	ask_cut "$step" lvmove
}

# phase_cut_switch STEP: the switch across VGs, held at STEP.
phase_cut_switch() {
	local step=$1 o
	lm_plan 3
	lm_ok "modules load" lm_load_modules
	lm_lvm_setup
	q pvcreate -q /dev/vda /dev/vdb && q vgcreate -q pcvg /dev/vda && q vgcreate -q pcnew /dev/vdb &&
		q lvcreate -q -y -L 64M -n vmdisk pcvg && q lvcreate -q -y -L 64M -n vmdisk pcnew &&
		q lvcreate -q -y -L 4M -n vmdisk_meta pcnew &&
		mkfs.ext4 -q -E nodiscard /dev/pcvg/vmdisk && mkdir -p /run/vm &&
		mount /dev/pcvg/vmdisk /run/vm
	lm_eq "VGs pcvg (vda) and pcnew (vdb), ext4 on pcvg/vmdisk, mounted" 0 $?
	start_writer
	o=$("$LM" start pcvg-vmdisk --meta /dev/pcnew/vmdisk_meta --dest /dev/pcnew/vmdisk 2>&1) &&
		o=$("$LM" wait pcvg-vmdisk --timeout 600 2>&1)
	lm_diag "start, wait: exit $?: $o"
	LIVEMIRROR_CRASH_AT="$step" LIVEMIRROR_CRASH_HOLD="$LM_OUT/held" \
		"$H" switch pcvg-vmdisk >"$LM_OUT/switch.log" 2>&1 &
	wait_held $!
	ask_cut "$step" switch
}

# files_ok: every journaled file reads back with its checksum.
files_ok() {
	(cd /run/vm && md5sum -c --quiet "$J") >"$LM_OUT/md5.out" 2>&1
}

ends_like_pvmove() {
	local lv=pcvg/vmdisk new old
	new=$(lsblk -dno MAJ:MIN /dev/vdb | tr -d ' ')
	lvs --noheadings -o devices $lv 2>/dev/null | grep -q /dev/vdb &&
		! lvs --noheadings -o devices $lv 2>/dev/null | grep -q /dev/vda &&
		dmsetup table pcvg-vmdisk | grep -q "^0 [0-9]* linear $new " &&
		! lvs --noheadings -o lv_name pcvg 2>/dev/null | grep -q "vmdisk_" &&
		[ -z "$(lvs --noheadings -o lv_tags $lv 2>/dev/null | tr -d ' ')" ] &&
		[ "$(pvs --noheadings --units s --nosuffix -o pv_used /dev/vda | tr -d ' ')" = 0 ]
}

# host_boot: the plan, then what a host's boot runs before any VM starts,
# three checks.  Boot autoactivation of every VG: lvm2#136 (after a reboot
# during a pvmove, vgchange -ay froze on 6.1); nothing of a livemirror
# move or switch may do that.  Then 'livemirror boot'.
host_boot() {
	local t rc
	lm_plan 10
	lm_ok "modules load" lm_load_modules
	lm_lvm_setup
	t=$SECONDS
	timeout 120 vgchange -aay >"$LM_OUT/vgchange.out" 2>&1
	rc=$?
	lm_ok "boot autoactivation (vgchange -aay) returns (exit $rc, $((SECONDS - t)) s)" \
		test $rc != 124
	lm_diag "after autoactivation: $(lvs -a --noheadings -o vg_name,lv_name,lv_active,lv_tags,devices 2>&1 | tr -s ' ' | paste -sd';')"
	"$LM" boot --json >"$LM_OUT/boot.json" 2>"$LM_OUT/boot.err"
	rc=$?
	lm_diag "livemirror boot: exit $rc: $(head -c 600 "$LM_OUT/boot.json")" "$(head -5 "$LM_OUT/boot.err")"
	lm_ok "livemirror boot handles the migration (exit $rc)" test $rc = 0
}

phase_boot() {
	local step=$1 t rc
	host_boot
	if dmsetup table pcvg-vmdisk 2>/dev/null | grep -q livemirror; then
		# what the crash costs: the regions copied again
		local d nr rs
		d=$(lm_field pcvg-vmdisk dirty) nr=$(lm_field pcvg-vmdisk nr_regions)
		rs=$(dmsetup table pcvg-vmdisk | awk '{print $7}')
		lm_diag "restarted: $d of $nr regions to copy again ($((d * rs / 2)) KiB of $((nr * rs / 2)) KiB)"
		echo "recopy_kib=$((d * rs / 2)) total_kib=$((nr * rs / 2))" >"$LM_OUT/recopy"
		# trusted: the bitmap on the metadata LV was used, so only the
		# regions it calls dirty are copied again (not a reformat)
		lm_eq "the restart trusts the log: only its dirty regions are copied again ($d of $nr)" \
			1 "$(lm_named pcvg-vmdisk trusted)"
	else
		lm_skip "no migration to restart at this step"
	fi
	# The hypervisor starts the VM: its activation of the LV.
	q lvchange -aey pcvg/vmdisk
	lm_diag "tables: $(dmsetup table | grep pcvg | paste -sd';')"
	mkdir -p /run/vm
	mount /dev/pcvg/vmdisk /run/vm 2>"$LM_OUT/mount.err"
	lm_ok "after boot the LV serves every journaled file intact ($(wc -l <"$J") files)" files_ok
	[ -s "$LM_OUT/md5.out" ] && sed 's/^/#   /' "$LM_OUT/md5.out" | head -5
	# The VM writes after the reboot; the move must keep it.
	head -c 256K /dev/urandom >/run/vm/after && sync -f /run/vm
	echo "$(md5sum </run/vm/after | cut -d' ' -f1)  after" >>"$J"
	t=$SECONDS
	"$LM" lvmove pcvg/vmdisk /dev/vdb >"$LM_OUT/lvmove2.log" 2>&1
	rc=$?
	lm_diag "lvmove again: exit $rc, $((SECONDS - t)) s: $(tail -3 "$LM_OUT/lvmove2.log" | paste -sd';')"
	lm_eq "lvmove run again finishes the move" 0 $rc
	lm_ok "it ends like pvmove (the new PV in lvs, LVM's linear table, nothing left, old PV free)" \
		ends_like_pvmove
	lm_ok "every file intact after the move" files_ok
	q lvchange --refresh pcvg/vmdisk
	q vgchange --refresh pcvg
	lm_ok "lvchange --refresh, vgchange --refresh: files intact" files_ok
	umount /run/vm
	lm_ok "fsck -fn is clean" fsck.ext4 -fn /dev/pcvg/vmdisk
}

# maps_vda: does any table map the old PV (vda)?
maps_vda() {
	local old
	old=$(lsblk -dno MAJ:MIN /dev/vda | tr -d ' ')
	dmsetup table 2>/dev/null | grep -q " $old "
}

# The old LV is retired (renamed, tagged) and nothing maps vda.
old_retired() {
	! maps_vda && lvs --noheadings -o lv_name,lv_tags pcvg 2>/dev/null |
		grep -q "vmdisk_livemirror_stale .*livemirror_stale"
}
refresh_kept() { files_ok && ! maps_vda; }
# finished RC: lvm-finish exited RC and left only the new LV.
finished() {
	[ "$1" = 0 ] && [ -z "$(lvs --noheadings pcvg 2>/dev/null | tr -d " \n")" ] &&
		[ "$(pvs --noheadings --units s --nosuffix -o pv_used /dev/vda | tr -d ' ')" = 0 ] &&
		! lvs pcnew/vmdisk_meta >/dev/null 2>&1
}
new_lv_ok() {
	local r
	fsck.ext4 -fn /dev/pcnew/vmdisk >"$LM_OUT/fsck.out" 2>&1 || return 1
	mount /dev/pcnew/vmdisk /run/vm || return 1
	files_ok
	r=$?
	umount /run/vm
	return $r
}

# phase_boot_switch STEP: boot 2 after a cut of the switch across VGs.
phase_boot_switch() {
	local step=$1 rc state out lv
	host_boot
	state=$(python3 -c 'import json, sys
m = json.load(open(sys.argv[1]))["migrations"]
print(m[0]["state"] if len(m) == 1 else "migrations: %d" % len(m))' "$LM_OUT/boot.json" 2>&1)
	lm_diag "the decision after boot: $state"
	if [ "$state" = switched ]; then
		# The VM's config may still name the old LV (the cut came before
		# the post-commit hook): its start must not give the old data.
		out=$(lvchange -aey pcvg/vmdisk 2>&1)
		rc=$?
		lm_ok "switched: the hypervisor's lvchange -aey pcvg/vmdisk gives no old data (exit $rc: ${out//$'\n'/ })" \
			old_retired
		lv=pcnew/vmdisk
	else
		lm_eq "not switched ($state): the restart trusts the log" \
			1 "$(lm_named pcvg-vmdisk trusted 2>/dev/null)"
		lv=pcvg/vmdisk
	fi
	# The hypervisor starts the VM on the authoritative LV.
	q lvchange -aey $lv
	lm_diag "the VM starts on $lv; tables: $(dmsetup table | grep pc | paste -sd';')"
	mkdir -p /run/vm
	mount /dev/$lv /run/vm 2>"$LM_OUT/mount.err"
	lm_ok "after boot $lv serves every journaled file intact ($(wc -l <"$J") files)" files_ok
	[ -s "$LM_OUT/md5.out" ] && sed 's/^/#   /' "$LM_OUT/md5.out" | head -5
	head -c 256K /dev/urandom >/run/vm/after && sync -f /run/vm
	echo "$(md5sum </run/vm/after | cut -d' ' -f1)  after" >>"$J"
	if [ "$state" = switched ]; then
		expect_rc "the guard calls the new LV safe" 0 "$LM" guard /dev/pcnew/vmdisk
	else
		out=$("$LM" wait pcvg-vmdisk --timeout 600 2>&1 && "$LM" switch pcvg-vmdisk 2>&1)
		rc=$?
		lm_diag "wait, switch: $out"
		lm_eq "the switch run again commits" 0 $rc
	fi
	lm_ok "every file intact after the switch" files_ok
	q lvchange --refresh pcvg/vmdisk
	q vgchange --refresh
	q pvscan --cache -aay
	lm_ok "lvchange --refresh, vgchange --refresh, pvscan -aay: files intact, nothing maps vda" \
		refresh_kept
	umount /run/vm
	out=$("$LM" lvm-finish pcvg/vmdisk --meta /dev/pcnew/vmdisk_meta 2>&1)
	rc=$?
	lm_diag "lvm-finish: exit $rc: $out"
	lm_ok "lvm-finish: pcvg empty, vda free, the metadata LV gone" finished "$rc"
	lm_ok "fsck -fn of pcnew/vmdisk is clean, then every file intact on it" new_lv_ok
}

case "${1:-}/${2:-}" in
cut/switch-*) phase_cut_switch "${2#switch-}" ;;
boot/switch-*) phase_boot_switch "${2#switch-}" ;;
cut/?*) phase_cut "$2" ;;
boot/?*) phase_boot "$2" ;;
*) echo "usage: $0 cut|boot STEP" >&2; exit 2 ;;
esac
lm_exit
