#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A "remote storage host" inside the guest: a network namespace joined to
# the guest by a veth pair, exporting a block device over NVMe/TCP with the
# kernel's own target (nvmet-tcp, configured through configfs), imported on
# this side with nvme-cli.  Source lib.sh first.
#
# NVMe/TCP rather than NBD: both are in Debian, but nvmet is the storage
# engine hypervisor hosts actually deploy for remote block storage, it is all
# kernel code (no userspace server to keep alive across a link cut), and the
# initiator's reconnect and error behaviour is what a real migration sees.
# nvmet's listening socket is created in the network namespace of the task
# that enables the port, so enabling it from inside the namespace puts the
# "remote" end there.

LM_NS=${LM_NS:-lmstore}
LM_NQN=${LM_NQN:-nqn.2026-11.io.livemirror:remote}
LM_HOST_IP=10.213.0.1
LM_STORE_IP=10.213.0.2
LM_NVME_PORT=4420

# lm_remote_setup BACKING_DEV: export BACKING_DEV from the namespace; prints
# the imported /dev/nvmeXnY on stdout.
lm_remote_setup() {
	local backing=$1 cfs=/sys/kernel/config/nvmet dev i
	modprobe -a nvmet nvmet-tcp nvme-tcp sch_netem veth >/dev/null 2>&1 || return 1
	ip netns add $LM_NS || return 1
	lm_on_exit "ip netns del $LM_NS"
	ip link add lm-host type veth peer name lm-store || return 1
	lm_on_exit "ip link del lm-host"
	ip link set lm-store netns $LM_NS
	ip addr add $LM_HOST_IP/24 dev lm-host
	ip link set lm-host up
	ip netns exec $LM_NS ip addr add $LM_STORE_IP/24 dev lm-store
	ip netns exec $LM_NS ip link set lm-store up
	ip netns exec $LM_NS ip link set lo up

	mkdir $cfs/subsystems/$LM_NQN || return 1
	echo 1 >$cfs/subsystems/$LM_NQN/attr_allow_any_host
	mkdir $cfs/subsystems/$LM_NQN/namespaces/1
	echo "$backing" >$cfs/subsystems/$LM_NQN/namespaces/1/device_path
	echo 1 >$cfs/subsystems/$LM_NQN/namespaces/1/enable || return 1
	mkdir $cfs/ports/1
	echo tcp >$cfs/ports/1/addr_trtype
	echo ipv4 >$cfs/ports/1/addr_adrfam
	echo $LM_STORE_IP >$cfs/ports/1/addr_traddr
	echo $LM_NVME_PORT >$cfs/ports/1/addr_trsvcid
	# nsenter, not "ip netns exec": the latter remounts /sys and hides configfs.
	nsenter --net=/run/netns/$LM_NS ln -s $cfs/subsystems/$LM_NQN $cfs/ports/1/subsystems/$LM_NQN || return 1
	lm_on_exit "rm -f $cfs/ports/1/subsystems/$LM_NQN; rmdir $cfs/ports/1; echo 0 >$cfs/subsystems/$LM_NQN/namespaces/1/enable; rmdir $cfs/subsystems/$LM_NQN/namespaces/1; rmdir $cfs/subsystems/$LM_NQN"

	# Short timeouts so a cut link turns into I/O errors quickly, and a long
	# enough loss tolerance that the controller reconnects when it is back.
	nvme connect -t tcp -a $LM_STORE_IP -s $LM_NVME_PORT -n $LM_NQN \
		--ctrl-loss-tmo=3600 --reconnect-delay=1 --keep-alive-tmo=2 >/dev/null || return 1
	lm_on_exit "nvme disconnect -n $LM_NQN"
	for i in $(seq 1 50); do
		dev=$(lm_remote_dev) && [ -b "$dev" ] && break
		sleep 0.2
	done
	[ -b "$dev" ] || return 1
	# nvme-cli 2.3 has no option for it: fail I/O 2 s into a reconnect
	# instead of queueing it until the controller is given up.
	echo 2 >"$(lm_remote_ctrl)/fast_io_fail_tmo" || return 1
	echo "$dev"
}

lm_remote_ctrl() {
	local c
	for c in /sys/class/nvme/nvme*; do
		[ "$(cat "$c/subsysnqn" 2>/dev/null)" = "$LM_NQN" ] && { echo "$c"; return 0; }
	done
	return 1
}

# The namespace's block device (with native multipath the per-path nodes
# are hidden; the head node's device is the subsystem, which names the NQN).
lm_remote_dev() {
	local b
	for b in /sys/block/nvme*; do
		case ${b##*/} in nvme*c*) continue ;; esac	# hidden path node
		[ "$(cat "$b/device/subsysnqn" 2>/dev/null)" = "$LM_NQN" ] || continue
		echo "/dev/${b##*/}"
		return 0
	done
	return 1
}

# lm_remote_latency MS: add MS of delay each way on the link (0 removes it).
lm_remote_latency() {
	tc qdisc del dev lm-host root 2>/dev/null
	ip netns exec $LM_NS tc qdisc del dev lm-store root 2>/dev/null
	[ "$1" = 0 ] && return 0
	tc qdisc add dev lm-host root netem delay "${1}ms" &&
		ip netns exec $LM_NS tc qdisc add dev lm-store root netem delay "${1}ms"
}

lm_remote_cut() { ip link set lm-host down; }
lm_remote_restore() { ip link set lm-host up; }
