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
. "$(dirname "$0")/../../testing/selftests/livemirror/lib.sh"
lm_require_guest
LM=$LM_HELPER
H=$LM_HELPER_TEST
J=$LM_OUT/durable
q() { "$@" >/dev/null 2>&1; }
lm_diag() { local l; for l in "$@"; do printf '# [%3d s] %s\n' "$SECONDS" "$l"; done; }

phase_cut() {
	local step=$1 n=0
	lm_plan 3
	lm_ok "modules load" lm_load_modules
	lm_lvm_setup
	q pvcreate -q /dev/vda /dev/vdb && q vgcreate -q pcvg /dev/vda /dev/vdb &&
		q lvcreate -q -y -L 64M -n vmdisk pcvg /dev/vda &&
		mkfs.ext4 -q -E nodiscard /dev/pcvg/vmdisk && mkdir -p /run/vm &&
		mount /dev/pcvg/vmdisk /run/vm
	lm_eq "VG pcvg on vda+vdb, ext4 on pcvg/vmdisk (vda), mounted" 0 $?
	for i in 1 2 3 4 5 6; do head -c 1M /dev/urandom >/run/vm/base$i; done
	sync -f /run/vm
	(cd /run/vm && md5sum base*) >"$J"
	# The writer: a file counts once it, its rename and the directory are
	# durable; the journal line comes after that.
	(
		while :; do
			n=$((n + 1))
			head -c $((32 * (n % 5 + 1)))K /dev/urandom >/run/vm/.tmp &&
				sync /run/vm/.tmp && mv /run/vm/.tmp /run/vm/g$n && sync -f /run/vm || exit 1
			echo "$(md5sum </run/vm/g$n | cut -d' ' -f1)  g$n" >>"$J"
		done
	) &
	sleep 2
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
	for ((t = 0; t < 1800; t++)); do
		[ -e "$LM_OUT/held" ] && break
		kill -0 $mv 2>/dev/null || break
		sleep 0.1
	done
	# TAP first: nothing the guest prints after the request reaches the host.
	lm_diag "journal: $(wc -l <"$J") durable files" \
		"$(dmsetup table | grep pcvg | sed 's/^/table: /')"
	lm_ok "lvmove reached $step (the helper holds there)" test -e "$LM_OUT/held"
	# only the share: the LV may be suspended at this step, a global sync would hang
	sync -f "$LM_OUT/tap"
	echo "$step" >"$LM_OUT/cut-now"
	sleep "${PC_CUT_WAIT:-20}"
	echo "# the host did not cut within ${PC_CUT_WAIT:-20} s: sysrq reset" >"$LM_OUT/cut-self"
	echo b >/proc/sysrq-trigger
	sleep 60
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

phase_boot() {
	local step=$1 t rc
	lm_plan 10
	lm_ok "modules load" lm_load_modules
	lm_lvm_setup
	# Boot autoactivation.  lvm2#136: after a reboot during a pvmove,
	# vgchange -ay froze on 6.1; nothing of a livemirror move may do that.
	t=$SECONDS
	timeout 120 vgchange -aay pcvg >"$LM_OUT/vgchange.out" 2>&1
	rc=$?
	lm_ok "boot autoactivation (vgchange -aay) returns (exit $rc, $((SECONDS - t)) s)" \
		test $rc != 124
	lm_diag "after autoactivation: $(lvs -a --noheadings -o lv_name,lv_active,lv_tags,devices pcvg 2>&1 | tr -s ' ' | paste -sd';')"
	"$LM" boot --json >"$LM_OUT/boot.json" 2>"$LM_OUT/boot.err"
	rc=$?
	lm_diag "livemirror boot: exit $rc: $(head -c 600 "$LM_OUT/boot.json")" "$(head -5 "$LM_OUT/boot.err")"
	lm_ok "livemirror boot handles the migration (exit $rc)" test $rc = 0
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

case "${1:-}" in
cut) phase_cut "${2:?step}" ;;
boot) phase_boot "${2:?step}" ;;
*) echo "usage: $0 cut|boot STEP" >&2; exit 2 ;;
esac
lm_exit
