#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The guest itself: our modules load, device-mapper works without udev, the
# scratch devices hold data, and the livemirror target is registered.
. "$(dirname "$0")/lib.sh"
lm_require_guest
lm_plan 5

lm_ok "dm-dirtylog and dm-livemirror load" lm_load_modules
lm_ok "livemirror target is registered" bash -c "dmsetup targets | grep -q '^livemirror '"
lm_slice basics-a 8 && lm_slice basics-b 8
lm_ok "scratch slices exist as block devices" test -b /dev/mapper/basics-a -a -b /dev/mapper/basics-b
lm_fill /dev/mapper/basics-a
dd if=/dev/mapper/basics-a of=/dev/mapper/basics-b bs=1M oflag=direct status=none
lm_ok "data copied between slices reads back identical" lm_same /dev/mapper/basics-a /dev/mapper/basics-b 16384
dd if=/dev/urandom of=/dev/mapper/basics-b bs=4k count=1 seek=7 oflag=direct status=none
lm_not "a changed block is detected by the checksum compare" lm_same /dev/mapper/basics-a /dev/mapper/basics-b 16384
lm_exit
