#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# livemirror events and wait --until (issue 15 item 8, review M5).
# 'events --json' prints one line per state change, woken by dm events: it
# sleeps in poll() while nothing happens, and sees start, pause, resume,
# synced, switched and the table going away, in that order.  'wait --until
# any' returns at the next change, '--until switched' when someone else
# switches, '--timeout 0' on a synced device is 0 every time, and 'wait'
# rides through a degraded destination under --dest-error retry.
. "$(dirname "$0")/lib.sh"
lm_require_guest
H=$LM_HELPER
OUT=$(mktemp)
EV=$(mktemp)

lm_plan 19
lm_load_modules || { lm_fail "modules load"; lm_exit; }
for s in e-src:16 e-dst:16 e-meta:1 f-src:16 f-meta:1 f-real:16; do
	lm_slice "${s%%:*}" "${s##*:}" || { lm_fail "scratch devices"; lm_exit; }
done
dmsetup create e-lv --table "0 32768 linear /dev/mapper/e-src 0"
lm_on_exit "dmsetup remove --retry e-lv"
lm_on_exit "dmsetup remove --retry e-lv-lmsrc"

lm_ok "--version names the loaded target and its version" \
	bash -c "'$H' --version | grep -Eq '^target livemirror 1\.[0-9]+\.[0-9]+\$'"
"$H" events --json e-lv >"$EV" 2>&1 &
evpid=$!
lm_on_exit "kill $evpid"
sleep 1
lm_ok "events sleeps in poll while nothing happens" \
	grep -Eq 'poll' "/proc/$evpid/wchan"
expect_rc "start, paused" 0 "$H" start e-lv --meta /dev/mapper/e-meta --dest /dev/mapper/e-dst --paused
# wait --until any returns at the next change (paused -> copying).
"$H" wait e-lv --until any --timeout 60 >"$OUT.any" 2>&1 &
waitpid=$!
sleep 1
lm_ok "wait --until any is still waiting" kill -0 $waitpid
expect_rc "resume the copy" 0 "$H" resume e-lv
wait $waitpid
lm_eq "wait --until any returned 0 at the change" 0 $?
"$H" wait e-lv --until switched --timeout 120 >"$OUT.sw" 2>&1 &
swpid=$!
expect_rc "wait until synced" 0 "$H" wait e-lv --timeout 120
bad=0
for i in $(seq 20); do "$H" wait e-lv --timeout 0 >/dev/null 2>&1 || bad=$((bad + 1)); done
lm_eq "wait --timeout 0 on a synced device: 0 twenty times out of twenty" 0 "$bad"
lm_ok "wait --until switched still waiting while synced" kill -0 $swpid
expect_rc "switch" 0 "$H" switch e-lv
wait $swpid
lm_eq "wait --until switched returned 0 after the switch" 0 $?
sleep 1
kill $evpid 2>/dev/null
wait $evpid 2>/dev/null
sed 's/^/#   /' "$EV"
seq_=$(sed -n 's/.*"event":"\([a-z]*\)","state":"\([a-z]*\)".*/\1:\2/p' "$EV" | tr '\n' ' ')
lm_diag "events: $seq_"
lm_ok "every events line is one JSON object with schema 1" \
	bash -c "[ -s '$EV' ] && ! grep -qv '^{\"schema\":1,.*}\$' '$EV'"
lm_ok "events: new, synced, detached, in that order" \
	bash -c "grep -Eq '(initial|new):(paused|copying) .*change:synced .*detached:' <<<'$seq_'"
lm_ok "events: nothing printed twice in a row" \
	bash -c "! sed -n 's/.*\"state\":\"\\([a-z]*\\)\",\"previous\":\"\\([a-z]*\\)\".*/\\1 \\2/p' '$EV' | awk '\$1 == \$2' | grep -q ."

# --dest-error retry: a destination that fails for a moment is waited out.
dmsetup create f-dst --table "0 32768 error"
lm_on_exit "dmsetup remove --retry f-dst"
dmsetup create f-lv --table "0 32768 linear /dev/mapper/f-src 0"
lm_on_exit "dmsetup remove --retry f-lv"
lm_on_exit "dmsetup remove --retry f-lv-lmsrc"
# (--force: the error device cannot be probed; a helper without the
# destination checks has no --force.)
force=$("$H" help start | grep -qe --force && echo --force)
expect_rc "start onto a failing destination, --dest-error retry" 0 "$H" start f-lv \
	--meta /dev/mapper/f-meta --dest /dev/mapper/f-dst --dest-error retry $force
lm_wait_state f-lv degraded 60
"$H" wait f-lv --timeout 120 >"$OUT.retry" 2>&1 &
rpid=$!
sleep 2
lm_ok "wait rides through degraded (still waiting)" kill -0 $rpid
# Mend the destination: the target's next retry succeeds.
dmsetup load f-dst --table "0 32768 linear /dev/mapper/f-real 0" && dmsetup resume f-dst
wait $rpid
lm_eq "wait returned 0 once the retried destination synced" 0 $?
lm_ok "wait said why it kept waiting" grep -q "policy is retry" "$OUT.retry"
expect_rc "cancel" 0 "$H" cancel f-lv
rm -f "$OUT" "$OUT".* "$EV"
lm_exit
