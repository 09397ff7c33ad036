#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The LVM fence (Documentation/livemirror-lvm.rst, "The fence"; issue 16
# item 1).  An LV of vg_old is moved to an LV of vg_new and switched; then
# every LVM command that rebuilds an LV's table from LVM's metadata is run
# against it, and after each the device must still serve the destination's
# data (checksums of data written after the switch), or the command must
# fail, or nothing must activate.  Then a "reboot" (every device of the VGs
# removed, pvscan autoactivation, vgchange -ay): the old data must not come
# up under the LV's name.  Then kills of the switch at the fence's steps:
# 'livemirror recover --live' leaves LVM and the decision in agreement; kills
# of lvm-finish; the refusals for a shared (lvmlockd) VG.  The switch runs the
# Proxmox repoint hook (--post-commit-hook) on a sample VM config, and the
# guard is run on stale and on safe devices (item 3).
. "$(dirname "$0")/lib.sh"
lm_require_guest
lm_plan 95
LM=$LM_HELPER
H=$LM_HELPER_TEST
lm_load_modules || { lm_fail "modules load"; lm_exit; }
lm_lvm_setup
modprobe loop

for i in 1 2 3; do
	truncate -s 400M /run/fpv$i.img
	loop[i]=$(losetup --find --show /run/fpv$i.img) || { lm_fail "loop device"; lm_exit; }
	lm_on_exit "losetup -d ${loop[i]}; rm -f /run/fpv$i.img"
done
lm_on_exit "vgremove -f -q vg_old vg_new >/dev/null 2>&1"
lm_on_exit "dmsetup remove_all >/dev/null 2>&1"
q() { "$@" >/dev/null 2>&1; }
q pvcreate -q "${loop[1]}" "${loop[2]}" "${loop[3]}"
q vgcreate -q vg_old "${loop[1]}" "${loop[3]}"
q vgcreate -q vg_new "${loop[2]}"

# new_move NAME: vg_old/NAME (random data) and its destination and metadata
# in vg_new; prints nothing, fails the test on error.  The metadata LV is
# zeroed: lvcreate wipes only its first 4 KiB, and its extents may have held
# a log whose slot B start would refuse as another migration's (lvm-finish
# zeroes the logs it removes, checked below; a plain lvremove does not).
new_move() {
	q lvcreate -q -y -L 16M -n "$1" vg_old "${loop[1]}" &&
		q lvcreate -q -y -L 16M -n "$1" vg_new &&
		q lvcreate -q -y -L 4M -n "$1_meta" vg_new &&
		dd if=/dev/zero of="/dev/vg_new/$1_meta" bs=1M count=4 oflag=direct status=none &&
		dd if=/dev/urandom of="/dev/vg_old/$1" bs=1M count=16 oflag=direct status=none
}
# start_synced NAME [helper]: start under the LV's device and wait for sync.
start_synced() {
	local o
	o=$("${2:-$LM}" start "vg_old-$1" --meta "/dev/vg_new/$1_meta" --dest "/dev/vg_new/$1" 2>&1) ||
		{ printf '#   start: %s\n' "$o"; return 1; }
	"$LM" wait "vg_old-$1" --timeout 120 >/dev/null 2>&1
}
sum() { dd if="$1" bs=1M iflag=direct status=none | md5sum | cut -d' ' -f1; }
old_pv=$(lsblk -dno MAJ:MIN "${loop[1]}" | tr -d ' ')
# maps_old_pv DM: does DM's table (or any table under it) map the old PV?
maps_old_pv() { dmsetup deps -o devno "$1" 2>/dev/null | grep -q "(${old_pv/:/, })"; }

# ---- a switch, then every command of the list -------------------------------
new_move vmdisk || { lm_fail "LVs"; lm_exit; }
lm_ok "migration of vg_old/vmdisk started and synced" start_synced vmdisk
sleep 600 </dev/mapper/vg_old-vmdisk &	# the VM: keeps the device open
holder=$!
lm_on_exit "kill $holder 2>/dev/null"
# The hypervisor's repoint hook (tools/hooks/proxmox-repoint) on a VM config
# that names the LV: the switch hands it the description on stdin.
mkdir -p /run/pve
printf 'name: vm1\nscsi0: /dev/vg_old/vmdisk,cache=none,size=16M\n' >/run/pve/100.conf
lm_on_exit "rm -rf /run/pve /run/hook.json"
hook="tee /run/hook.json | python3 $LM_TOP/tools/hooks/proxmox-repoint --vmid 100 --config-dir /run/pve"
swout=$($LM switch vg_old-vmdisk --post-commit-hook "$hook" 2>&1)
lm_eq "switch" 0 $?
lm_diag "$swout"
lm_ok "the post-commit hook got the switch's description (event switched, dest /dev/vg_new/vmdisk)" \
	python3 -c 'import json, sys
d = json.load(open("/run/hook.json"))
assert d["event"] == "switched" and d["schema"] >= 1, d
assert [x["dest"]["path"] for x in d["devices"]] == ["/dev/vg_new/vmdisk"], d' 
lm_eq "... and repointed the VM's config at the new LV, options kept" \
	"scsi0: /dev/vg_new/vmdisk,cache=none,size=16M" "$(grep '^scsi0:' /run/pve/100.conf)"
lm_ok "lvs: the old LV is retired as vmdisk_livemirror_stale, tagged livemirror_stale" \
	bash -c "lvs --noheadings -o lv_tags vg_old/vmdisk_livemirror_stale | grep -q livemirror_stale"
lm_ok "the retired LV keeps the old extents, with activation skip" \
	bash -c "lvs --noheadings -o lv_attr vg_old/vmdisk_livemirror_stale | grep -q 'k *$'"
# the VM writes after the switch: only the destination has this
dd if=/dev/urandom of=/dev/mapper/vg_old-vmdisk bs=1M count=16 oflag=direct status=none
want=$(sum /dev/mapper/vg_old-vmdisk)
lm_eq "the device serves the destination's data after the switch" "$want" "$(sum /dev/vg_new/vmdisk)"
q lvchange -ay -K vg_old/vmdisk_livemirror_stale
expect_rc "guard on the retired LV activated by hand (-K): stale" 15 \
	$LM guard /dev/vg_old/vmdisk_livemirror_stale
q lvchange -an vg_old/vmdisk_livemirror_stale
expect_rc "guard on the switched device (it maps the destination): safe" 0 \
	$LM guard /dev/mapper/vg_old-vmdisk
expect_rc "guard on the destination LV: safe" 0 $LM guard /dev/vg_new/vmdisk

# check DESC CMD...: after CMD the device still serves the post-switch data
# and maps nothing on the old PV (CMD may fail: that is fail-closed too).
check() {
	local desc=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	if [ "$(sum /dev/mapper/vg_old-vmdisk 2>/dev/null)" = "$want" ] &&
		! maps_old_pv vg_old-vmdisk; then
		lm_pass "$desc: still the destination's data (command exit $rc)"
	else
		lm_fail "$desc: the LV went back to the old data (command exit $rc)"
		printf '#   %s\n' "$out" "$(dmsetup table vg_old-vmdisk 2>&1)"
	fi
	# A refusal must lead the admin to livemirror: LVM's own message when it
	# names the LV's livemirror name or tag, or else (LVM's "Failed to find
	# logical volume", whose text nothing outside lvm2 can change) the one
	# lvs shows next: the old data only as vmdisk_livemirror_stale.  (LVM's
	# wording of "not found" differs between its commands.)
	if [ "$rc" = 0 ]; then
		lm_pass "$desc: succeeded (the data check above is what counts)"
	elif grep -q livemirror <<<"$out"; then
		lm_pass "$desc: its refusal names livemirror"
	elif grep -qE 'find logical volume "vg_old/vmdisk"|LV vmdisk not found|volume vmdisk not found' \
		<<<"$out" &&
		lvs --noheadings -o lv_name,lv_tags vg_old 2>/dev/null |
		grep -q 'vmdisk_livemirror_stale .*livemirror_stale'; then
		lm_pass "$desc: LV not found; lvs names it vmdisk_livemirror_stale"
	else
		lm_fail "$desc: refused (exit $rc) without naming livemirror"
		printf '#   %s\n' "$out"
	fi
}
check "lvchange --refresh" lvchange --refresh vg_old/vmdisk
check "vgchange --refresh" vgchange --refresh vg_old
check "lvchange -ay" lvchange -ay vg_old/vmdisk
check "lvchange -aey" lvchange -aey vg_old/vmdisk
check "vgchange -ay" vgchange -ay vg_old
check "pvscan --cache -aay" pvscan --cache -aay
check "lvextend -L +4M" lvextend -L +4M vg_old/vmdisk
check "lvconvert --type raid1 -m1" lvconvert -y --type raid1 -m1 vg_old/vmdisk "${loop[3]}"
check "lvcreate -s" lvcreate -s -L 4M -n snap vg_old/vmdisk
check "pvmove of the old PV" pvmove -i0 "${loop[1]}" "${loop[3]}"
check "lvchange -an (VM running)" lvchange -an vg_old/vmdisk
check "vgchange -an (VM running)" vgchange -an vg_old
lm_not "no LV of vg_old maps the old data under the name vmdisk" \
	bash -c "lvs --noheadings -o lv_name vg_old | grep -qx ' *vmdisk'"
lm_eq "livemirror recover --live says destination and changes nothing" 0 \
	"$($LM recover --live vg_old-vmdisk >/dev/null 2>&1; echo $?)"

expect_rc "lvm-finish while the VM still has the switched device open: refused" 4 \
	$LM lvm-finish vg_old/vmdisk --meta /dev/vg_new/vmdisk_meta
lm_ok "... and nothing was removed" bash -c "dmsetup info vg_old-vmdisk >/dev/null &&
	lvs vg_old/vmdisk_livemirror_stale vg_new/vmdisk_meta >/dev/null 2>&1"

# ---- the "reboot": every device gone, then activation as at boot ----------
kill $holder 2>/dev/null; wait $holder 2>/dev/null
dmsetup remove vg_old-vmdisk
q vgchange -an vg_old
q vgchange -an vg_new
q pvscan --cache -aay
q vgchange -ay
lm_not "after a reboot, autoactivation brings nothing up on the old PV" \
	bash -c "dmsetup table | grep -q ' $old_pv '"
lm_not "lvchange -aey vg_old/vmdisk (the hypervisor's start) finds no LV" \
	lvchange -aey vg_old/vmdisk
lm_eq "the destination LV has the data written after the switch" "$want" "$(sum /dev/vg_new/vmdisk)"
expect_rc "lvm-finish once the VM is gone" 0 \
	$LM lvm-finish vg_old/vmdisk --meta /dev/vg_new/vmdisk_meta
lm_ok "... the retired LV and the metadata LV are removed, the old extents free" \
	bash -c "! lvs vg_old/vmdisk_livemirror_stale >/dev/null 2>&1 &&
		! lvs vg_new/vmdisk_meta >/dev/null 2>&1 &&
		[ \"\$(pvs --noheadings -o pv_used ${loop[1]} ${loop[3]} | tr -d ' \n')\" = 00 ]"
lm_eq "... and the new LV still has the data written after the switch" "$want" \
	"$(sum /dev/vg_new/vmdisk)"
expect_rc "lvm-finish without readable metadata: refused" 6 \
	$LM lvm-finish vg_old/k9 --meta /dev/vg_new/nosuch

# ---- kills at the fence's steps --------------------------------------------
# kill_at STEP WANTLEG: a fresh move killed at STEP, then recover --live.
kill_at() {
	local step=$1 leg=$2 name=k$3 rec
	new_move "$name" && start_synced "$name" || { lm_fail "$step: setup"; return; }
	LIVEMIRROR_CRASH_AT=$step "$H" switch "vg_old-$name" >/dev/null 2>&1
	lm_eq "killed at $step (exit 99)" 99 $?
	local tag
	tag=$(lvs --noheadings -o lv_tags "vg_old/$name" 2>/dev/null | grep -o 'livemirror_log_[0-9a-f]*')
	rec=$($LM recover --live "vg_old-$name" 2>&1)
	if [ "$leg" = dest ]; then
		lm_ok "killed at $step: recover finishes: destination, the old LV retired" \
			bash -c "grep -q 'dest authoritative' <<<\"\$1\" &&
				lvs vg_old/${name}_livemirror_stale >/dev/null 2>&1 &&
				! lvs vg_old/$name >/dev/null 2>&1" _ "$rec"
	else
		lm_ok "killed at $step: recover rolls back: source, the fence disarmed" \
			bash -c "grep -q 'source authoritative' <<<\"\$1\" &&
				[ \"\$(lvs --noheadings -o lv_tags vg_old/$name 2>/dev/null | tr -d ' ')\" = '' ] &&
				! lvs --noheadings -o lv_attr vg_old/$name 2>/dev/null | grep -q 'k *$'" _ "$rec"
		q $LM cancel "vg_old-$name"
		q dmsetup remove "vg_old-$name"
		if [ "$step" = after-arm-0 ]; then
			local u
			u=$($LM metadata dump "/dev/vg_new/${name}_meta" 2>/dev/null |
				awk '/^uuid/ {print $2}')
			lm_eq "killed at $step: the arm had tagged the LV with the metadata's uuid" \
				"livemirror_log_$u" "$tag"
		fi
	fi
	[ "$leg" = dest ] || return 0
	dd if=/dev/urandom of="/dev/mapper/vg_old-$name" bs=1M count=4 oflag=direct status=none
	local w
	w=$(sum "/dev/mapper/vg_old-$name")
	q lvchange --refresh "vg_old/$name"
	lm_eq "killed at $step: after recover, a refresh cannot bring the old data back" "$w" \
		"$(sum "/dev/mapper/vg_old-$name")"
}
kill_at after-arm-0 source 1
kill_at after-suspend source 2
kill_at after-commit dest 3
kill_at before-vgcfgrestore dest 4
kill_at after-vgcfgrestore dest 5
kill_at after-resume dest 6
kill_at after-retire-0 dest 7
kill_at after-confirm source 8
kill_at after-load dest 9
kill_at after-remove-source-0 dest 10
# lvm-finish killed after each of its steps, then run again: it finishes.
finish_killed() {
	local step=$1 name=$2 rc
	LIVEMIRROR_CRASH_AT=$step "$H" lvm-finish "vg_old/$name" --meta "/dev/vg_new/${name}_meta" \
		>/dev/null 2>&1
	lm_eq "lvm-finish killed at $step (exit 99)" 99 $?
	$LM lvm-finish "vg_old/$name" --meta "/dev/vg_new/${name}_meta" >/dev/null 2>&1
	rc=$?
	lm_ok "... run again: finished (exit $rc), device, retired LV and metadata LV gone" \
		bash -c "[ $rc = 0 ] && ! dmsetup info vg_old-$name >/dev/null 2>&1 &&
			! lvs vg_old/${name}_livemirror_stale >/dev/null 2>&1 &&
			! lvs vg_new/${name}_meta >/dev/null 2>&1"
}
finish_killed finish-after-remove k3
finish_killed finish-after-lvremove k6
finish_killed finish-after-scrub k7
# The extents lvm-finish freed: a new LV there (lvcreate takes the first free
# ones, the metadata LVs' above) holds no log a start would refuse.
q lvcreate -q -y -L 4M -n probe vg_new
dump=$($LM metadata dump /dev/vg_new/probe 2>&1)
lm_not "a new LV on the freed extents holds no livemirror log (lvm-finish zeroed both slots)" \
	grep -qE '^slot [AB] +valid' <<<"$dump"
grep -E '^slot' <<<"$dump" | sed 's/^/#   /'
q lvremove -q -y vg_new/probe
expect_rc "lvm-finish of a migration that never switched: refused" 3 \
	$LM lvm-finish vg_old/k1 --meta /dev/vg_new/k1_meta

# A switch that fails before its commit disarms the fence.
new_move f6 && start_synced f6 || lm_fail "fail-point setup"
LIVEMIRROR_FAIL_AT=commit "$H" switch vg_old-f6 >/dev/null 2>&1
lm_eq "a switch that fails at its commit exits 1" 1 $?
lm_ok "... and leaves the LV as it was (no skip flag, no tag)" \
	bash -c "[ -z \"\$(lvs --noheadings -o lv_tags vg_old/f6 2>/dev/null | tr -d ' ')\" ] &&
		! lvs --noheadings -o lv_attr vg_old/f6 2>/dev/null | grep -q 'k *$'"
# An LV the admin keeps from activating (activation skip, no autoactivation)
# keeps that through an aborted switch: the disarm restores what it found.
new_move f7 && q lvchange -ky --setautoactivation n vg_old/f7 && start_synced f7 ||
	lm_fail "fail-point setup (f7)"
LIVEMIRROR_FAIL_AT=commit "$H" switch vg_old-f7 >/dev/null 2>&1
lm_eq "... with activation skip and autoactivation off before: the abort keeps both" \
	"k 0 " "$(lvs --noheadings --binary -o lv_attr,autoactivation,lv_tags vg_old/f7 2>/dev/null |
		awk '{printf "%s %s %s", substr($1, 10, 1), $2, $3}')"
# ---- fail closed: an LVM LV and no lvm to fence it with ---------------------
new_move f8 && start_synced f8 || lm_fail "no-lvm setup (f8)"
err=$(PATH=/nonexistent LIVEMIRROR_LVM=/nonexistent/lvm $LM switch vg_old-f8 2>&1)
lm_eq "no runnable lvm (LIVEMIRROR_LVM=/nonexistent/lvm): the switch is refused (exit 1)" 1 $?
lm_ok "... naming the fence and LIVEMIRROR_LVM" \
	bash -c "grep -q 'LVM fence needs it' <<<\"\$1\" && grep -q LIVEMIRROR_LVM <<<\"\$1\"" _ "$err"
lm_ok "... and nothing switched: the source is authoritative, the LV untouched" \
	bash -c "$LM status vg_old-f8 --json 2>/dev/null | grep -q '\"state\":\"synced\"' &&
		[ -z \"\$(lvs --noheadings -o lv_tags vg_old/f8 2>/dev/null | tr -d ' ')\" ]"
# a boot unit's PATH without sbin: the helper falls back to /usr/sbin/lvm, /sbin/lvm
env -u LIVEMIRROR_LVM PATH=/nonexistent $LM switch vg_old-f8 >/dev/null 2>&1
lm_eq "PATH without lvm, LIVEMIRROR_LVM unset: the switch finds /usr/sbin/lvm (exit 0)" 0 $?
lm_ok "... and the fence ran: the old LV retired" lvs vg_old/f8_livemirror_stale

# ---- a fence armed by another migration's log is that migration's ----------
new_move f9 && start_synced f9 || lm_fail "log-tag setup (f9)"
LIVEMIRROR_CRASH_AT=after-arm-0 "$H" switch vg_old-f9 >/dev/null 2>&1
mine=$(lvs --noheadings -o lv_tags vg_old/f9 2>/dev/null | grep -o 'livemirror_log_[0-9a-f]*')
other=livemirror_log_0123456789abcdef0123456789abcdef
q lvchange --deltag "$mine" --addtag "$other" vg_old/f9
rec=$($LM recover --live vg_old-f9 2>&1)
lm_ok "recover of a fence tagged with another log leaves it alone (and says so)" \
	bash -c "grep -q 'belongs to the migration with log' <<<\"\$1\" &&
		lvs --noheadings -o lv_tags vg_old/f9 2>/dev/null | grep -q $other &&
		lvs --noheadings -o lv_attr vg_old/f9 2>/dev/null | grep -q 'k *$'" _ "$rec"
q lvchange --deltag "$other" --addtag "$mine" vg_old/f9
$LM recover --live vg_old-f9 >/dev/null 2>&1
lm_ok "... its own log's recover disarms it (the source decided)" \
	bash -c "[ -z \"\$(lvs --noheadings -o lv_tags vg_old/f9 2>/dev/null | tr -d ' ')\" ] &&
		! lvs --noheadings -o lv_attr vg_old/f9 2>/dev/null | grep -q 'k *$'"
# ---- shared VGs (item 5): refused wherever the helper can tell -------------
# The guest runs no lvmlockd.  A wrapper given as LIVEMIRROR_LVM answers every
# report that asks for vg_lock_type with "sanlock", as lvs does for a VG of
# lvmlockd; everything else is lvm's own.
cat >/run/lvm-shared <<SH
#!/bin/bash
cols= prev=
for a in "\$@"; do [ "\$prev" = -o ] && cols=\$a; prev=\$a; done
k=\$(tr , '\\n' <<<"\$cols" | grep -nx vg_lock_type | cut -d: -f1)
[ -n "\$k" ] || exec $(command -v lvm) "\$@"
$(command -v lvm) "\$@" | awk -F'|' -v OFS='|' -v k="\$k" 'NF >= k { \$k = "sanlock" } 1'
exit "\${PIPESTATUS[0]}"
SH
chmod +x /run/lvm-shared
lm_on_exit "rm -f /run/lvm-shared"
shared() { LIVEMIRROR_LVM=/run/lvm-shared "$@"; }
new_move s1 || lm_fail "shared-VG setup (s1)"
err=$(shared $LM start vg_old-s1 --meta /dev/vg_new/s1_meta --dest /dev/vg_new/s1 2>&1)
rc=$?
lm_ok "start under an LV of a shared VG: refused (exit 4), naming lvmlockd and the doc" \
	bash -c "[ $rc = 4 ] && grep -q 'shared VG (lvmlockd, lock type sanlock)' <<<\"\$1\" &&
		grep -q livemirror-lvm.rst <<<\"\$1\" &&
		! dmsetup table vg_old-s1 | grep -q livemirror" _ "$err"
[ $rc = 4 ] || printf '#   %s\n' "$err"
start_synced s1 || lm_fail "shared-VG setup: start without the wrapper"
err=$(shared $LM switch vg_old-s1 2>&1)
rc=$?
lm_ok "switch of a migration in a shared VG: refused (exit 4), nothing switched, no fence" \
	bash -c "[ $rc = 4 ] && grep -q 'shared VG' <<<\"\$1\" &&
		$LM status vg_old-s1 --json 2>/dev/null | grep -q '\"state\":\"synced\"' &&
		[ -z \"\$(lvs --noheadings -o lv_tags vg_old/s1 2>/dev/null | tr -d ' ')\" ]" _ "$err"
[ $rc = 4 ] || printf '#   %s\n' "$err"
q $LM cancel vg_old-s1
q lvcreate -q -y -L 8M -n s2 vg_old "${loop[1]}" || lm_fail "shared-VG setup (s2)"
err=$(shared $LM lvmove vg_old/s2 "${loop[3]}" 2>&1)
rc=$?
lm_ok "lvmove of an LV in a shared VG: refused (exit 4), naming pvmove instead" \
	bash -c "[ $rc = 4 ] && grep -q 'shared VG (lock type sanlock)' <<<\"\$1\" &&
		grep -q pvmove <<<\"\$1\"" _ "$err"
[ $rc = 4 ] || printf '#   %s\n' "$err"
lm_not "... and nothing was allocated for it (no s2_lmdst, no s2_lmmeta)" \
	bash -c "lvs --noheadings -o lv_name vg_old vg_new 2>/dev/null | grep -q 's2_lm'"
lm_exit
