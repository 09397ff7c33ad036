#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Time a copy engine from its table going live to its copy being complete.

usage: copy-timer.py NAME KIND TIMEOUT PROGRESS_FILE|- 0 LENGTH TYPE PARAMS...

Loads the table into the inactive slot of the existing device NAME, resumes
it and waits for table events until KIND (lm, mirror, clone) reports every
region copied.  Prints "<seconds> <load_seconds> <writes>" (writes: guest
write requests the device completed meanwhile) or "timeout".

Everything happens in this one process through libdevmapper: under TCG a
dmsetup exec costs about 0.3 s of the guest's only vCPU, which the old
shell loop spent between the copy finishing and the clock stopping (two
execs) while dd's clock had no such cost.  The clock starts just before the
resume ioctl, the moment every engine can start copying, so the suspend of
the old table is charged to each engine alike.
"""
import ctypes
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "../testing/selftests/livemirror"))
from metadata_corrupt import Dm, DmInfo  # noqa: E402

DM_DEVICE_RELOAD, DM_DEVICE_RESUME, DM_DEVICE_INFO = 1, 5, 6
DM_DEVICE_STATUS, DM_DEVICE_WAITEVENT = 10, 12


def progress(kind, status):
    """(done, total, finished) from a status line without its type."""
    a = status.split()
    try:
        if kind == "lm":
            done, total = a[0].split("/")
            return int(done), int(total), a[2] == "synced"
        if kind == "mirror":
            done, total = a[1 + int(a[0])].split("/")
        else:
            done, total = a[3].split("/")
        return int(done), int(total), done == total
    except (IndexError, ValueError):
        return None


def event_nr(dm, name):
    lib = dm.lib
    t = lib.dm_task_create(DM_DEVICE_INFO)
    try:
        if not (lib.dm_task_set_name(t, name.encode()) and lib.dm_task_run(t)):
            return None
        info = DmInfo()
        lib.dm_task_get_info(t, ctypes.byref(info))
        return info.event_nr
    finally:
        lib.dm_task_destroy(t)


def wait_event(dm, name, nr):
    """Block until the device's event counter passes nr (ctypes drops the GIL)."""
    lib = dm.lib
    lib.dm_task_set_event_nr.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
    t = lib.dm_task_create(DM_DEVICE_WAITEVENT)
    try:
        lib.dm_task_set_name(t, name.encode())
        lib.dm_task_set_event_nr(t, nr)
        lib.dm_task_run(t)
    finally:
        lib.dm_task_destroy(t)


def writes_done(dev):
    """Write requests completed by the device (field 5 of its stat file)."""
    if not dev:
        return 0
    with open("/sys/dev/block/%d:%d/stat" % (dev["major"], dev["minor"])) as f:
        return int(f.read().split()[4])


def status(dm, name, kind):
    r = dm.run(DM_DEVICE_STATUS, name, want_status=True)
    return progress(kind, r["status"]) if r else None


def main(argv):
    if len(argv) < 9 or argv[5] != "0":
        sys.stderr.write(__doc__)
        return 2
    name, kind, timeout, pfile = argv[1], argv[2], float(argv[3]), argv[4]
    target = (int(argv[6]), argv[7], " ".join(argv[8:]))
    dm = Dm()
    finished = threading.Event()
    end = []

    def waiter():
        # Read the counter before the status: an event between the two
        # makes the wait return at once instead of being missed.
        while True:
            nr = event_nr(dm, name)
            p = status(dm, name, kind)
            if p and p[2]:
                end.append(time.monotonic())
                finished.set()
                return
            if nr is None:
                return
            wait_event(dm, name, nr)

    t_load = time.monotonic()
    if dm.run(DM_DEVICE_RELOAD, name, target=target) is None:
        print("failed: table load")
        return 1
    dev = dm.run(DM_DEVICE_INFO, name)
    w0 = writes_done(dev)
    t0 = time.monotonic()
    if dm.run(DM_DEVICE_RESUME, name) is None:
        print("failed: resume")
        return 1
    threading.Thread(target=waiter, daemon=True).start()
    samples = open(pfile, "w") if pfile != "-" else None
    # Progress for the plot is sampled only when asked (each status costs
    # the copy some CPU); otherwise a status every 2 s is the fallback
    # should an engine complete without raising an event.
    while not finished.wait(0.5 if samples else 2.0):
        now = time.monotonic()
        p = status(dm, name, kind)
        if samples and p:
            samples.write("%.3f\t%d\t%d\n" % (now - t0, p[0], p[1]))
        if p and p[2] and not finished.is_set():
            end.append(now)
            sys.stderr.write("copy-timer: %s completed without an event\n" % name)
            break
        if now - t0 > timeout:
            print("timeout")
            return 0
    if samples:
        p = status(dm, name, kind)
        samples.write("%.3f\t%d\t%d\n" % (end[0] - t0, p[0], p[1]))
    print("%.3f %.3f %d" % (end[0] - t0, t0 - t_load, writes_done(dev) - w0))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
