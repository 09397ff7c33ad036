#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# livemirror, review L8 with the test build's delay point LM_TP_MAKE_CLEAN
# (make test-modules; make knobs runs it): a 'switch' message checks that
# the device is suspended, then flushes both legs, force-clears the log and
# records the switch.  At b790ef5 a 'dmsetup resume' sent meanwhile went
# through at once (the message did not hold off resume), so guest writes
# ran during the force clear and the commit.  Now the resume waits for the
# message: it ends after the switch is recorded, on a quiesced device.
. "$(dirname "$0")/lib.sh"
lm_require_guest
MS=${LM_KNOB_MS:-4000}
lm_plan 6
lm_ok "modules load" lm_load_modules
P=/sys/module/dm_livemirror/parameters
lm_require_test_build 5
lm_on_exit "echo -1,0 >$P/test_delay_ms"
W=$(mktemp -d /dev/shm/l8.XXXXXX)
lm_on_exit "rm -rf $W"

lm_slice k8-m 1 && lm_slice k8-s 16 && lm_slice k8-d 16
lm_fill /dev/mapper/k8-s
N=$((16 * 2048))
dmsetup create k8 --table "0 $N livemirror /dev/mapper/k8-m /dev/mapper/k8-s /dev/mapper/k8-d 128"
lm_on_exit "dmsetup remove --retry k8"
lm_ok "synced" lm_wait_state k8 synced 120
sleep 4
dmsetup suspend k8
echo 1 >$P/test_delay_count
echo 1,"$MS" >$P/test_delay_ms
# end times from bash itself ($EPOCHREALTIME): a fork of date(1) takes
# tens of ms under TCG, as long as the gap to measure
(dmsetup message k8 0 switch >"$W/msg.out" 2>&1; echo $? >"$W/msg.rc"; echo "$EPOCHREALTIME" >"$W/msg.end") &
mpid=$!
sleep 1		# the message now sleeps between its check and the clear
(dmsetup resume k8 >"$W/res.out" 2>&1; echo $? >"$W/res.rc"; echo "$EPOCHREALTIME" >"$W/res.end") &
rpid=$!
wait $mpid $rpid
echo -1,0 >$P/test_delay_ms
lm_eq "the switch message succeeded ($(cat "$W/msg.out"))" 0 "$(cat "$W/msg.rc")"
lm_eq "the resume succeeded ($(cat "$W/res.out"))" 0 "$(cat "$W/res.rc")"
us() { tr -d . <"$1"; }
m=$(us "$W/msg.end") r=$(us "$W/res.end")
gap=$(((r - m) / 1000))
lm_diag "the resume ended $gap ms after the switch message"
# At b790ef5 it ended seconds before (it went through at once; under a
# loaded TCG host a resume alone takes 2-4 s, so its duration proves
# nothing): it must end after the message, give or take the two exits.
lm_ok "L8: the resume waited for the switch message (no I/O during its force clear)" \
	test "$gap" -ge -300
lm_eq "switched" switched "$(lm_field k8 state)"
lm_exit
