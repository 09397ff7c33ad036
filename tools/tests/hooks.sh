#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Host-side: the example post-commit hooks (tools/hooks) against the sample
# configurations in tools/hooks/samples, checked byte for byte, with the
# switch descriptions that `livemirror switch --post-commit-hook` writes.
top=$(cd "$(dirname "$0")/../.." && pwd)
hooks=$top/tools/hooks
s=$hooks/samples
n=0
failed=0
echo "TAP version 13"
echo "1..28"
if ! command -v python3 >/dev/null; then
	i=1; while [ $i -le 28 ]; do echo "ok $i # SKIP python3 missing"; i=$((i + 1)); done
	exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

t() {	# t DESCRIPTION COMMAND...: ok when the command succeeds
	n=$((n + 1))
	d=$1
	shift
	if "$@" >"$work/out" 2>"$work/err"; then
		echo "ok $n - $d"
	else
		echo "not ok $n - $d"
		sed 's/^/# /' "$work/out" "$work/err"
		failed=$((failed + 1))
	fi
}
fails_with() {	# fails_with CODE COMMAND...
	code=$1
	shift
	"$@"
	[ $? -eq "$code" ]
}

# Proxmox
mkdir "$work/pve"
cp "$s/100.conf" "$s/101.conf" "$work/pve/"
chmod 640 "$work/pve/100.conf"
t "proxmox: the switched LV's disk line repointed" \
	sh -c "'$hooks/proxmox-repoint' --vmid 100 --config-dir '$work/pve' < '$s/switch.json'"
t "proxmox: the config is the expected one, byte for byte" cmp "$work/pve/100.conf" "$s/100.conf.expected"
t "proxmox: the file keeps its mode" sh -c "[ \$(stat -c %a '$work/pve/100.conf') = 640 ]"
t "proxmox: run again (already repointed): exit 0" \
	sh -c "'$hooks/proxmox-repoint' --vmid 100 --config-dir '$work/pve' < '$s/switch.json'"
t "proxmox: run again changes nothing" cmp "$work/pve/100.conf" "$s/100.conf.expected"
t "proxmox: a group switch, /dev/mapper names too, from PVE_VMID and PVE_CONFIG_DIR" \
	sh -c "PVE_VMID=101 PVE_CONFIG_DIR='$work/pve' '$hooks/proxmox-repoint' < '$s/switch-group.json'"
t "proxmox: the group's config, byte for byte" cmp "$work/pve/101.conf" "$s/101.conf.expected"
cp "$s/101.conf" "$work/pve/101.conf"
t "proxmox: a VM that names none of the switched devices: exit 1" \
	fails_with 1 sh -c "'$hooks/proxmox-repoint' --vmid 101 --config-dir '$work/pve' < '$s/switch.json'"
t "proxmox: ... and its config is left alone" cmp "$work/pve/101.conf" "$s/101.conf"
t "proxmox: no VM id: exit 2" \
	fails_with 2 sh -c "'$hooks/proxmox-repoint' --config-dir '$work/pve' < '$s/switch.json'"

# libvirt
cp "$s/vm1.xml" "$work/vm1.xml"
t "libvirt: the switched LV's <source dev> repointed" \
	sh -c "'$hooks/libvirt-repoint' --xml '$work/vm1.xml' < '$s/switch.json'"
t "libvirt: the XML is the expected one, byte for byte" cmp "$work/vm1.xml" "$s/vm1.xml.expected"
t "libvirt: run again (already repointed): exit 0" \
	sh -c "LIBVIRT_XML='$work/vm1.xml' '$hooks/libvirt-repoint' < '$s/switch.json'"
t "libvirt: run again changes nothing" cmp "$work/vm1.xml" "$s/vm1.xml.expected"
cp "$s/vm1.xml" "$work/vm1.xml"
t "libvirt --virsh: prints the virsh update-device --config call" \
	sh -c "'$hooks/libvirt-repoint' --xml '$work/vm1.xml' --virsh vm1 < '$s/switch.json' > '$work/virsh.sh'"
t "libvirt --virsh: the call, byte for byte" cmp "$work/virsh.sh" "$s/vm1.virsh.expected"
t "libvirt --virsh: the XML file is not changed" cmp "$work/vm1.xml" "$s/vm1.xml"
# the printed call runs: a stand-in virsh records what it was given
mkdir "$work/bin"
cat > "$work/bin/virsh" <<'VIRSH'
#!/bin/sh
echo "$@" > "$VIRSH_LOG.args"
cat "$3" > "$VIRSH_LOG.xml"
VIRSH
chmod +x "$work/bin/virsh"
t "libvirt --virsh: the printed call runs: virsh gets the domain, --config and the new <disk>" \
	sh -c "PATH='$work/bin':\$PATH VIRSH_LOG='$work/virsh' sh '$work/virsh.sh' &&
	       [ \"\$(cat '$work/virsh.args')\" = 'update-device vm1 /dev/stdin --config' ] &&
	       grep -q \"<source dev='/dev/vg1/vm-100-disk-0'/>\" '$work/virsh.xml'"
t "libvirt: a domain without the switched devices: exit 1" \
	fails_with 1 sh -c "'$hooks/libvirt-repoint' --xml '$work/vm1.xml' < '$s/switch-group.json'"
t "both: a description that is not a switch's: exit 1" \
	fails_with 1 sh -c "echo '{\"schema\":2}' | '$hooks/libvirt-repoint' --xml '$work/vm1.xml' &&
			     echo '{\"schema\":2}' | '$hooks/proxmox-repoint' --vmid 100 --config-dir '$work/pve'"

# The pre-start guards, with a stand-in livemirror: guard exits 15 for the
# paths in $STALE, and logs every call.
cat > "$work/bin/livemirror" <<'LM'
#!/bin/sh
echo "$*" >> "$LM_LOG"
for p in $STALE; do [ "$3" = "$p" ] && exit 15; done
exit 0
LM
chmod +x "$work/bin/livemirror"
cp "$s/100.conf" "$work/pve/100.conf"
g() {	# g STALE COMMAND...: run a guard hook with the stand-in
	stale=$1
	shift
	rm -f "$work/lm.log"
	PATH="$work/bin:$PATH" LM_LOG="$work/lm.log" STALE="$stale" PVE_CONFIG_DIR="$work/pve" "$@"
}
printf 'guard --scan /dev/vg0/vm-100-disk-0\nguard --scan /dev/vg0/vm-100-disk-1\n' > "$work/want"
g "" "$hooks/proxmox-guard" 100 pre-start >"$work/o" 2>"$work/e"
rc=$?
t "proxmox-guard: pre-start with no stale disk: exit 0" [ $rc -eq 0 ]
t "proxmox-guard: it asked guard --scan about each attached disk, not the unused one" \
	cmp "$work/want" "$work/lm.log"
g /dev/vg0/vm-100-disk-1 "$hooks/proxmox-guard" 100 pre-start >"$work/o" 2>"$work/e"
rc=$?
t "proxmox-guard: pre-start with a stale disk: exit 1" [ $rc -eq 1 ]
t "proxmox-guard: ... and says which" \
	grep -q "VM 100 not started: livemirror guard refused /dev/vg0/vm-100-disk-1" "$work/e"
g /dev/vg0/vm-100-disk-1 "$hooks/proxmox-guard" 100 post-start >"$work/o" 2>"$work/e"
rc=$?
t "proxmox-guard: other phases: exit 0, no guard" sh -c "[ $rc -eq 0 ] && [ ! -e '$work/lm.log' ]"
g "" "$hooks/libvirt-qemu-guard" vm1 prepare begin - <"$s/vm1.xml" >"$work/o" 2>"$work/e"
rc=$?
t "libvirt-qemu-guard: prepare with no stale disk: exit 0, each block disk asked" \
	sh -c "[ $rc -eq 0 ] && cmp '$work/want' '$work/lm.log'"
g /dev/vg0/vm-100-disk-0 "$hooks/libvirt-qemu-guard" vm1 prepare begin - <"$s/vm1.xml" \
	>"$work/o" 2>"$work/e"
rc=$?
t "libvirt-qemu-guard: prepare with a stale disk: exit 1, says which" \
	sh -c "[ $rc -eq 1 ] && grep -q 'domain vm1 not started: livemirror guard refused /dev/vg0/vm-100-disk-0' '$work/e'"
g /dev/vg0/vm-100-disk-0 "$hooks/libvirt-qemu-guard" vm1 started begin - <"$s/vm1.xml" \
	>"$work/o" 2>"$work/e"
rc=$?
t "libvirt-qemu-guard: other operations: exit 0" [ $rc -eq 0 ]
[ $n -eq 28 ] || { echo "not ok $((n + 1)) - the plan says 28 tests, $n ran"; exit 1; }
[ $failed -eq 0 ]
