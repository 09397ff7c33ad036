#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# livemirror boot (issue 16, item 4): what livemirror-boot.service runs after
# LVM activation.  Disk sets are left in each state, a reboot is simulated
# (every livemirror table and hidden source removed, the migrated device
# activated again on its original table over the source, as LVM does, the
# state records of the boot gone), then 'livemirror boot --json' runs and
# its outcome, the tables and the legs' checksums (md5) are checked:
#   A   COPYING after a power cut mid-copy (the metadata image taken while
#       the table was live and suspended, written back after the teardown:
#       ATTACHED set): resumed with trust (opened=unclean trusted=1), only
#       the dirty regions copied again, legs identical afterwards;
#   A2  COPYING after a clean detach, the source then written behind the
#       log: resumed without trust, every region copied, the destination
#       holds the bypass writes;
#   B   SWITCHED with the device active on its stale source: exit 15,
#       nothing loaded or created, no leg touched; active on its
#       destination, or not active at all: exit 0;
#   C   PREPARED, group switch killed before the commit (test build,
#       LIVEMIRROR_CRASH_AT=after-prepare-1): recover rolls both members
#       back, boot resumes both; legs identical once synced;
#   D   PREPARED, killed after the commit: recover finishes the member,
#       both are SWITCHED and fenced (exit 15), the destinations hold the
#       data.
# Each set's metadata is wiped once checked, so that every boot sees only
# the set under test.
. "$(dirname "$0")/lib.sh"
lm_require_guest
H=$LM_HELPER
HT=$LM_HELPER_TEST	# crash injection for the group switch
OUT=$(mktemp -p /run)
J=$(mktemp -p /run)
MB=8
SECT=$((MB * 2048))
REG=64K

devno() { dmsetup info -c --noheadings -o major,minor --separator : "$1"; }
# leg NAME MB: a dm device with a uuid (a strong identity) over a fresh slice
leg() {
	lm_slice "$1-raw" "$2" &&
		dmsetup create "$1" -u "BOOT-$1" --table "0 $(($2 * 2048)) linear /dev/mapper/$1-raw 0" &&
		lm_on_exit "dmsetup remove --retry $1"
}
# vm_up NAME DEV: the migrated device on a plain linear table (LVM's activation)
vm_up() { dmsetup create "$1" -u "BOOT-$1" --table "0 $SECT linear $2 0"; }
# vm_down NAME: the device and its hidden source gone, as at a reboot
vm_down() {
	local d
	for d in "$1" "$1-lmsrc"; do
		dmsetup info "$d" >/dev/null 2>&1 || continue
		dmsetup clear "$d" >/dev/null 2>&1
		dmsetup resume "$d" >/dev/null 2>&1
		dmsetup remove --retry "$d" >/dev/null 2>&1
	done
	rm -f "/run/livemirror/$1.state"
}
wipe() { dd if=/dev/zero of="$1" bs=64k count=16 oflag=direct status=none; }
ttype() { dmsetup table "$1" 2>/dev/null | cut -d' ' -f3; }
# boot_json: run 'livemirror boot --json' into $J; $BRC is its exit.
boot_json() { "$H" boot --json >"$J" 2>"$OUT"; BRC=$?; }
# jq_ EXPR: a value from the boot object ($J), 'm' the migration labelled $LBL
jq_() {
	python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
m = next((x for x in d["migrations"] if x["label"] == sys.argv[3]), {})
v = eval(sys.argv[2])
print(str(v).lower() if isinstance(v, bool) else v)' "$J" "$1" "${LBL:-}" 2>/dev/null
}
# eqo: lm_eq that shows the boot output on a failure
eqo() {
	if [ "$2" = "$3" ]; then lm_pass "$1"; else
		lm_fail "$1"; lm_diag "expected '$2', got '$3'"
		sed 's/^/#   /' "$OUT"; sed 's/^/#   json: /' "$J"; fi
}
mstate() { "$H" metadata dump "$1" 2>/dev/null | awk '$1 == "state" { print $2 }'; }
start() { "$H" start "$1" --meta "/dev/mapper/$2" --dest "/dev/mapper/$3" --region-size $REG \
	--label "$4" "${@:5}" >>"$OUT" 2>&1; }

lm_plan 48
lm_load_modules || { lm_fail "modules load"; lm_exit; }
# Data slices first: the ram disk's first blocks then never hold metadata.
for s in A A2 B C0 C1 D0 D1; do
	lm_slice b-src$s $MB && leg b-dst$s $MB && lm_slice b-meta$s 1 ||
		{ lm_fail "scratch devices"; lm_exit; }
	lm_fill /dev/mapper/b-src$s
	lm_on_exit "vm_down b-vm$s"
done
boot_json
lm_eq "no metadata on the host: boot exits 0, outcome nothing-found" "0 nothing-found" \
	"$BRC $(jq_ 'd["outcome"]')"

# ---- A: COPYING, power cut mid-copy -------------------------------------------
: >"$OUT"
vm_up b-vmA /dev/mapper/b-srcA && start b-vmA b-metaA b-dstA bootA --throttle 2
sleep 2
"$H" pause b-vmA >>"$OUT" 2>&1
# writes over copied and uncopied regions, through the mirror
for off in 3 40 77 120; do
	dd if=/dev/urandom of=/dev/mapper/b-vmA bs=64k count=2 seek=$off oflag=direct status=none
done
want=$(lm_sum /dev/mapper/b-vmA $SECT)
lm_diag "A: at the cut: $(lm_info b-vmA)"
# The power cut: the metadata as it is on disk under the live, suspended
# table; the teardown's clean detach is then overwritten with it.
dmsetup suspend b-vmA && dd if=/dev/mapper/b-metaA of=/run/b-metaA.img bs=64k iflag=direct status=none
vm_down b-vmA
dd if=/run/b-metaA.img of=/dev/mapper/b-metaA bs=64k oflag=direct status=none
rm -f /run/b-metaA.img
"$H" metadata dump --json /dev/mapper/b-metaA >"$J" 2>/dev/null
cut_dirty=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["bitmap"]["dirty"], d["superblock"]["last_detach"], d["superblock"]["nr_regions"])' "$J" 2>/dev/null)
read -r cut_dirty cut_detach nr <<<"$cut_dirty"
lm_eq "A: the metadata after the cut: never detached, copying" "unclean copying" \
	"$cut_detach $(mstate /dev/mapper/b-metaA)"
vm_up b-vmA /dev/mapper/b-srcA
boot_json
LBL=bootA
eqo "A: boot exits 0, outcome handled" "0 handled" "$BRC $(jq_ 'd["outcome"]')"
eqo "A: the migration resumed under b-vmA, attached, trusted" "resumed b-vmA true true" \
	"$(jq_ 'm["action"]') $(jq_ 'm["device"]') $(jq_ 'm["attached"]') $(jq_ 'm["trusted"]')"
eqo "A: found copying, dest found, source authoritative, exit 0" "copying true source 0" \
	"$(jq_ 'm["found_state"]') $(jq_ 'm["dest"] is not None') $(jq_ 'm["authoritative"]') $(jq_ 'm["exit"]')"
lm_eq "A: b-vmA is a livemirror device over a hidden source" "livemirror yes" \
	"$(ttype b-vmA) $(dmsetup info b-vmA-lmsrc >/dev/null 2>&1 && echo yes)"
lm_eq "A: status opened=unclean trusted=1" "unclean 1" "$(lm_named b-vmA opened) $(lm_named b-vmA trusted)"
"$H" wait b-vmA --timeout 300 >>"$OUT" 2>&1
eqo "A: synced" 0 $?
cb=$(lm_named b-vmA copied_bytes)
lm_diag "A: dirty at the cut $cut_dirty of $nr regions; copied again $cb bytes"
lm_ok "A: only the regions dirty at the cut were copied again ($cb <= $cut_dirty x 64 KiB < all)" \
	test -n "$cb" -a "${cut_dirty:-0}" -lt "${nr:-0}" -a "${cb:-1}" -le $((${cut_dirty:-0} * 65536))
lm_eq "A: the device holds what was written before the cut (md5)" "$want" "$(lm_sum /dev/mapper/b-vmA $SECT)"
lm_eq "A: source leg (md5)" "$want" "$(lm_sum /dev/mapper/b-srcA $SECT)"
lm_eq "A: destination leg identical (md5)" "$want" "$(lm_sum /dev/mapper/b-dstA $SECT)"
boot_json
eqo "A: boot again: exit 0, already-running, nothing changed" "0 already-running false" \
	"$BRC $(jq_ 'm["action"]') $(jq_ 'd["changed"]')"
vm_down b-vmA
wipe /dev/mapper/b-metaA

# ---- A2: COPYING, clean detach, then writes behind the log ----------------------
: >"$OUT"
vm_up b-vmA2 /dev/mapper/b-srcA2 && start b-vmA2 b-metaA2 b-dstA2 bootA2 &&
	"$H" wait b-vmA2 --timeout 300 >>"$OUT" 2>&1
vm_down b-vmA2
vm_up b-vmA2 /dev/mapper/b-srcA2
dd if=/dev/urandom of=/dev/mapper/b-vmA2 bs=64k count=16 seek=50 oflag=direct status=none
want=$(lm_sum /dev/mapper/b-vmA2 $SECT)
boot_json
LBL=bootA2
eqo "A2: boot exits 0: resumed, not attached, not trusted" "0 resumed false false" \
	"$BRC $(jq_ 'm["action"]') $(jq_ 'm["attached"]') $(jq_ 'm["trusted"]')"
lm_eq "A2: status opened=clean trusted=0" "clean 0" "$(lm_named b-vmA2 opened) $(lm_named b-vmA2 trusted)"
"$H" wait b-vmA2 --timeout 300 >>"$OUT" 2>&1
eqo "A2: synced" 0 $?
lm_eq "A2: the destination holds the writes made behind the log (md5)" "$want" \
	"$(lm_sum /dev/mapper/b-dstA2 $SECT)"
vm_down b-vmA2
wipe /dev/mapper/b-metaA2

# ---- B: SWITCHED ------------------------------------------------------------------
: >"$OUT"
vm_up b-vmB /dev/mapper/b-srcB && start b-vmB b-metaB b-dstB bootB &&
	"$H" wait b-vmB --timeout 300 >>"$OUT" 2>&1 && "$H" switch b-vmB >>"$OUT" 2>&1
eqo "B: migrated and switched" "0 linear $(devno b-dstB)" "$? $(dmsetup table b-vmB | cut -d' ' -f3,4)"
dd if=/dev/urandom of=/dev/mapper/b-vmB bs=64k count=8 seek=9 oflag=direct status=none
sum_d=$(lm_sum /dev/mapper/b-dstB $SECT) sum_s=$(lm_sum /dev/mapper/b-srcB $SECT)
vm_down b-vmB
# LVM activates the LV on the old PV
vm_up b-vmB /dev/mapper/b-srcB
tbl=$(dmsetup table b-vmB)
boot_json
LBL=bootB
eqo "B: active on the stale source: exit 15 (stale), outcome attention" "15 attention" \
	"$BRC $(jq_ 'd["outcome"]')"
eqo "B: fenced, switched, destination authoritative, device b-vmB" "fenced switched dest b-vmB" \
	"$(jq_ 'm["action"]') $(jq_ 'm["state"]') $(jq_ 'm["authoritative"]') $(jq_ 'm["device"]')"
lm_ok "B: the advice says what to do (point consumers at the destination)" \
	bash -c 'python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(d[\"migrations\"][0][\"advice\"])" "$1" |
		grep -q "point its consumers at the destination"' _ "$J"
lm_eq "B: nothing loaded or created: table unchanged, no hidden source, nothing changed" \
	"$tbl none false" "$(dmsetup table b-vmB) $(dmsetup info b-vmB-lmsrc >/dev/null 2>&1 || echo none) $(jq_ 'd["changed"]')"
lm_eq "B: destination leg unchanged (md5)" "$sum_d" "$(lm_sum /dev/mapper/b-dstB $SECT)"
lm_eq "B: source leg unchanged (md5)" "$sum_s" "$(lm_sum /dev/mapper/b-srcB $SECT)"
lm_ok "B: the destination holds data the source lacks" test "$sum_d" != "$sum_s"
"$H" boot >"$OUT" 2>&1
lm_eq "B: human output: exit 15 and a 'next:' line" "15 1" "$? $(grep -c '^    next: ' "$OUT")"
vm_down b-vmB
vm_up b-vmB /dev/mapper/b-dstB
boot_json
eqo "B: active on its destination: exit 0, action none" "0 none" "$BRC $(jq_ 'm["action"]')"
vm_down b-vmB
boot_json
eqo "B: not active: exit 0, action none, no device" "0 none None" \
	"$BRC $(jq_ 'm["action"]') $(jq_ 'm["device"]')"
lm_eq "B: the metadata still says switched" switched "$(mstate /dev/mapper/b-metaB)"
wipe /dev/mapper/b-metaB

# ---- C and D: PREPARED --------------------------------------------------------------
# group SET CRASHSTEP: two started members, synced, written, then a group
# switch killed at CRASHSTEP and a reboot.  Sets want0/want1.
group() {
	local s=$1 step=$2 i
	: >"$OUT"
	for i in 0 1; do
		vm_up b-vm$s$i /dev/mapper/b-src$s$i && start b-vm$s$i b-meta$s$i b-dst$s$i boot$s$i || return 1
	done
	for i in 0 1; do
		"$H" wait b-vm$s$i --timeout 300 >>"$OUT" 2>&1 || return 1
		dd if=/dev/urandom of=/dev/mapper/b-vm$s$i bs=64k count=4 seek=$((11 + 7 * i)) \
			oflag=direct status=none
	done
	want0=$(lm_sum /dev/mapper/b-vm${s}0 $SECT) want1=$(lm_sum /dev/mapper/b-vm${s}1 $SECT)
	LIVEMIRROR_CRASH_AT=$step "$HT" switch b-vm${s}0 b-vm${s}1 >>"$OUT" 2>&1
	[ $? = 99 ] || return 1
	for i in 0 1; do vm_down b-vm$s$i; vm_up b-vm$s$i /dev/mapper/b-src$s$i || return 1; done
}

group C after-prepare-1
eqo "C: group switch killed after the prepare" 0 $?
lm_eq "C: both metadata prepared" "prepared prepared" \
	"$(mstate /dev/mapper/b-metaC0) $(mstate /dev/mapper/b-metaC1)"
boot_json
eqo "C: boot exits 0, outcome handled, recover decided" "0 handled decided" \
	"$BRC $(jq_ 'd["outcome"]') $(jq_ 'd["recover"]["outcome"]')"
LBL=bootC0
c0="$(jq_ 'm["found_state"]') $(jq_ 'm["state"]') $(jq_ 'm["action"]')"
LBL=bootC1
eqo "C: both found prepared, rolled back to copying and resumed" \
	"prepared copying resumed prepared copying resumed" "$c0 $(jq_ 'm["found_state"]') $(jq_ 'm["state"]') $(jq_ 'm["action"]')"
lm_eq "C: both livemirror devices again" "livemirror livemirror" "$(ttype b-vmC0) $(ttype b-vmC1)"
"$H" wait b-vmC0 --timeout 300 >>"$OUT" 2>&1 && "$H" wait b-vmC1 --timeout 300 >>"$OUT" 2>&1
eqo "C: both synced" 0 $?
lm_eq "C: member 0: source and destination hold the data (md5)" "$want0 $want0" \
	"$(lm_sum /dev/mapper/b-srcC0 $SECT) $(lm_sum /dev/mapper/b-dstC0 $SECT)"
lm_eq "C: member 1: source and destination hold the data (md5)" "$want1 $want1" \
	"$(lm_sum /dev/mapper/b-srcC1 $SECT) $(lm_sum /dev/mapper/b-dstC1 $SECT)"
vm_down b-vmC0; vm_down b-vmC1
# (metadata dump opens it exclusively: once no table holds it)
lm_eq "C: the metadata says copying once the tables are gone" "copying copying" \
	"$(mstate /dev/mapper/b-metaC0) $(mstate /dev/mapper/b-metaC1)"
wipe /dev/mapper/b-metaC0; wipe /dev/mapper/b-metaC1

group D after-commit
eqo "D: group switch killed after the commit" 0 $?
lm_eq "D: coordinator switched, member prepared" "switched prepared" \
	"$(mstate /dev/mapper/b-metaD0) $(mstate /dev/mapper/b-metaD1)"
boot_json
eqo "D: boot exits 15 (stale sources active), recover decided" "15 decided" \
	"$BRC $(jq_ 'd["recover"]["outcome"]')"
LBL=bootD1
eqo "D: the member: found prepared, finished to switched, fenced" "prepared switched fenced dest" \
	"$(jq_ 'm["found_state"]') $(jq_ 'm["state"]') $(jq_ 'm["action"]') $(jq_ 'm["authoritative"]')"
LBL=bootD0
eqo "D: the coordinator: switched, fenced" "switched fenced" "$(jq_ 'm["state"]') $(jq_ 'm["action"]')"
lm_eq "D: both metadata switched" "switched switched" \
	"$(mstate /dev/mapper/b-metaD0) $(mstate /dev/mapper/b-metaD1)"
lm_eq "D: nothing loaded: both still linear, over their sources" \
	"linear $(devno b-srcD0) linear $(devno b-srcD1)" \
	"$(dmsetup table b-vmD0 | cut -d' ' -f3,4) $(dmsetup table b-vmD1 | cut -d' ' -f3,4)"
lm_eq "D: the destinations hold the data (md5)" "$want0 $want1" \
	"$(lm_sum /dev/mapper/b-dstD0 $SECT) $(lm_sum /dev/mapper/b-dstD1 $SECT)"
lm_eq "D: so do the sources (no write after the prepare)" "$want0 $want1" \
	"$(lm_sum /dev/mapper/b-srcD0 $SECT) $(lm_sum /dev/mapper/b-srcD1 $SECT)"
lm_ok "D: nothing suspended" nothing_suspended
vm_down b-vmD0; vm_down b-vmD1
wipe /dev/mapper/b-metaD0; wipe /dev/mapper/b-metaD1
rm -f "$OUT" "$J"
lm_exit
