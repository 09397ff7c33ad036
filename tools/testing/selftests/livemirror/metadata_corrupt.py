#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Corrupted metadata images loaded in the kernel, in bulk (metadata-load.sh).

  bases BASEDIR META1 META2 META3 SRC DST
                                    drive the target into seven states and
                                    snapshot its metadata (the base images)
  gen   BASEDIR OUTDIR COUNT SEED   corrupt copies of the base images
  load  OUTDIR BACK META SRC DST    write every image onto the metadata device
                                    and load a livemirror table on it, through
                                    libdevmapper in this one process (a dmsetup
                                    process costs seconds in the TCG guest)
  judge OUTDIR CHECKS               compare what the kernel did (and what
                                    'livemirror metadata check' said) with the
                                    documented load behaviour; prints
                                    "ok|not ok<TAB>description" and "# " lines

The model of the documented behaviour (Documentation/dm-dirtylog.rst, "Load
behaviour"; contract.md) lives in model(): the newest slot with a correct
magic and checksum wins; its identity must match the table exactly or the
table is refused with a message naming the difference; no valid slot while
not all zero refuses; both slots zero formats; a bitmap block with a bad
checksum, block number or uuid has all its regions dirty, is warned about
and rewritten by the first commit; CANCELLED is refused by the target;
SWITCHED sends every I/O to the destination.  The geometry is fixed: 66024
regions of 8 sectors (three bitmap blocks, the last one partial).
"""
import ctypes
import errno
import json
import mmap
import os
import random
import re
import struct
import sys
import time

BLOCK = 4096
REGION = 8
NR = 2 * 32512 + 1000
SECTORS = NR * REGION
LABEL = "lmfuzz"
BITS = 32512
NBLK = (NR + BITS - 1) // BITS
NEED = (8 + NBLK) * BLOCK
MAGIC = 0x31524F5252494D4C
VERSION = 2
# Every table (the writers and the loads) names the same migration; the
# loads run on other devices, so the identities are given, not derived.
IDS = "source_id ml-source dest_id ml-dest device_id ml-device"
ST_COPYING, ST_PREPARED, ST_SWITCHED, ST_CANCELLED = 1, 2, 3, 4
OFF = {"flags": 4, "magic": 8, "version": 16, "state": 20, "generation": 24, "uuid": 32, "label": 48,
       "region_sectors": 112, "nr_regions": 120, "source_sectors": 128, "dest_sectors": 136,
       "bitmap_start": 144, "bitmap_blocks": 152, "nr_bitmaps": 160, "active_bitmap": 164}

# Kernel refusal reasons and the text its message must contain.
MSG = {"too_small": "metadata device too small", "no_valid_sb": "no valid superblock",
       "version": "metadata format version", "state": "unknown state",
       "layout": "superblock layout is not supported", "label": "different leg pair",
       "source": "different source", "dest": "different destination",
       "region": "metadata region size", "nr_regions": "metadata covers",
       "cancelled": "migration was cancelled",
       # a PREPARED log loads, but the table refuses to resume (review M3)
       "prepared": "preresume failed"}
# Refusals that mean the metadata is damaged (check must say so); the others
# are about the table (identity) or a documented state.
DAMAGE_REASONS = {"too_small", "no_valid_sb", "version", "state", "layout"}
# Classes whose images are not damaged (a consistent log, only not this one).
UNDAMAGED = {"none", "identity", "cancelled", "zero_slots", "zero_slot", "rollback_newest"}


def _crc_table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t


_TABLE = _crc_table()
_csum_cache = {}


def csum(block):
    """crc32c(~0, block[4:4096]) ^ ~0, cached: most blocks repeat."""
    key = bytes(block[4:])
    v = _csum_cache.get(key)
    if v is None:
        c, t = 0xFFFFFFFF, _TABLE
        for b in key:
            c = t[(c ^ b) & 0xFF] ^ (c >> 8)
        v = c ^ 0xFFFFFFFF
        if len(_csum_cache) < 20000:
            _csum_cache[key] = v
    return v


def blk(img, n):
    return img[n * BLOCK:(n + 1) * BLOCK]


def reseal(img, n):
    struct.pack_into("<I", img, n * BLOCK, csum(blk(img, n)))


def stored(b):
    return struct.unpack_from("<I", b, 0)[0]


def u64(b, f):
    return struct.unpack_from("<Q", b, OFF[f])[0]


def u32(b, f):
    return struct.unpack_from("<I", b, OFF[f])[0]


def bits_of(b, nbits):
    """Bits of one bitmap block as an int (bit i = region first + i)."""
    return int.from_bytes(b[32:], "little") & ((1 << nbits) - 1)


def nbits(n):
    return min(BITS, NR - n * BITS)


def popcount(x):
    return bin(x).count("1")


def base_bits(img):
    return [bits_of(blk(img, 8 + n), nbits(n)) for n in range(NBLK)]


def newest(img):
    g = [u64(blk(img, s), "generation") for s in (0, 1)]
    return 1 if g[1] > g[0] else 0


# ---- the documented load behaviour -------------------------------------------
def model(img, size, as_log=False):
    """What loading the table on an image of SIZE bytes must do (AS_LOG: what
    the log alone loads, before the target's resume may refuse its state)."""
    if size < 2 * BLOCK:
        return {"outcome": "refuse", "reasons": ["too_small"]}
    sb = [blk(img, s) for s in (0, 1)]
    valid = [u64(b, "magic") == MAGIC and stored(b) == csum(b) for b in sb]
    zero = [not any(b) for b in sb]
    if not any(valid):
        if not all(zero):
            return {"outcome": "refuse", "reasons": ["no_valid_sb"]}
        if size < NEED:
            return {"outcome": "refuse", "reasons": ["too_small"]}
        return {"outcome": "accept", "format": True, "state": ST_COPYING, "slot": None,
                "bits": [(1 << nbits(n)) - 1 for n in range(NBLK)], "bad": []}
    s = (1 if u64(sb[1], "generation") > u64(sb[0], "generation") else 0) \
        if all(valid) else (0 if valid[0] else 1)
    b = sb[s]
    why = set()
    nr = u64(b, "nr_regions")
    if u32(b, "version") != VERSION:
        why.add("version")
    if not ST_COPYING <= u32(b, "state") <= ST_CANCELLED:
        why.add("state")
    if u64(b, "bitmap_start") != 8 or u32(b, "nr_bitmaps") != 1 or u32(b, "active_bitmap") or \
            u64(b, "bitmap_blocks") != ((nr + BITS - 1) // BITS) % (1 << 64):
        why.add("layout")
    lab = bytes(b[OFF["label"]:OFF["label"] + 64])
    if lab[63] or lab.split(b"\0")[0] != LABEL.encode():
        why.add("label")
    if u64(b, "source_sectors") != SECTORS:
        why.add("source")
    if u64(b, "dest_sectors") != SECTORS:
        why.add("dest")
    if u64(b, "region_sectors") != REGION:
        why.add("region")
    if nr != NR:
        why.add("nr_regions")
    if size < NEED:
        why.add("too_small")
    if why:
        return {"outcome": "refuse", "reasons": sorted(why)}
    if u32(b, "state") == ST_CANCELLED:
        return {"outcome": "refuse", "reasons": ["cancelled"]}
    if u32(b, "state") == ST_PREPARED and not as_log:
        return {"outcome": "refuse", "reasons": ["prepared"]}
    uuid = bytes(b[32:48])
    # LAZY (flags bit 2): a block of zeroes was not written since the
    # format; it is all dirty and no corruption
    lazy = u32(b, "flags") & 4
    bits, bad = [], []
    for n in range(NBLK):
        d = blk(img, 8 + n)
        if lazy and not any(d):
            bits.append((1 << nbits(n)) - 1)
        elif stored(d) != csum(d) or struct.unpack_from("<Q", d, 8)[0] != n or bytes(d[16:32]) != uuid:
            bad.append(n)
            bits.append((1 << nbits(n)) - 1)
        else:
            bits.append(bits_of(d, nbits(n)))
    return {"outcome": "accept", "format": False, "state": u32(b, "state"), "slot": s,
            "uuid": uuid, "bits": bits, "bad": bad}


def same_but_attach(before, after):
    """Both slots' newest images agree but for generation, flags, csum and attach fields."""
    def core(img):
        sbs = [bytearray(blk(img, k)) for k in (0, 1)]
        ok = [stored(b) == csum(b) and u64(b, "magic") == MAGIC for b in sbs]
        if not any(ok):
            return bytes(img[:2 * BLOCK])
        k = (1 if u64(sbs[1], "generation") > u64(sbs[0], "generation") else 0) \
            if all(ok) else (0 if ok[0] else 1)
        b = sbs[k]
        b[0:8] = bytes(8)                    # csum, flags
        b[24:32] = bytes(8)                  # generation
        b[216:240] = bytes(24)               # attach_time, detach_time, attach_count
        return bytes(b)
    return core(before) == core(after)


def model_log(img):
    """The model of what the log (not the target) loads: CANCELLED as any state."""
    img = bytearray(img)
    for k in (0, 1):
        if u32(blk(img, k), "state") == ST_CANCELLED and stored(blk(img, k)) == csum(blk(img, k)):
            struct.pack_into("<I", img, k * BLOCK + OFF["state"], ST_COPYING)
            reseal(img, k)
    return model(img, NEED, as_log=True)


def state_name(m):
    if m["state"] == ST_SWITCHED:
        return "switched"
    return "synced" if not sum(popcount(x) for x in m["bits"]) else "paused"


# ---- generator -------------------------------------------------------------
CLASSES = ["flip_a", "flip_b", "flip_newest", "flip_both", "rollback_newest", "garbage_slot",
           "flip_bitmap", "flip_bitmaps", "zero_bitmap", "bitmap_blocknr", "bitmap_uuid",
           "stale_block", "swap_blocks", "truncate", "magic", "version", "state", "layout",
           "sizes", "identity", "cancelled", "zero_slot", "zero_slots"]


def corrupt(rnd, kind, img, others):
    """Damage IMG in place (a bytearray); return its new length in bytes."""
    nw = newest(img)

    def flips(n, count):
        for _ in range(count):
            img[n * BLOCK + rnd.randrange(BLOCK)] ^= 1 << rnd.randrange(8)

    def slots():
        # one slot (the newest more often) or both
        return rnd.choice([[nw], [nw], [1 - nw], [0, 1]])

    if kind in ("flip_a", "flip_b", "flip_newest", "flip_both"):
        for s in {"flip_a": [0], "flip_b": [1], "flip_newest": [nw], "flip_both": [0, 1]}[kind]:
            flips(s, rnd.randint(1, 4))
    elif kind == "rollback_newest":
        # the newest superblock write never reached the disk: its slot holds
        # an older generation (valid), so the other slot is the newest
        o = (1 - nw) * BLOCK
        img[nw * BLOCK:(nw + 1) * BLOCK] = img[o:o + BLOCK]
        struct.pack_into("<Q", img, nw * BLOCK + OFF["generation"], max(0, u64(img[o:o + BLOCK], "generation") - 1))
        reseal(img, nw)
    elif kind == "garbage_slot":
        s = rnd.choice([0, 1])
        img[s * BLOCK:(s + 1) * BLOCK] = rnd.randbytes(BLOCK)
    elif kind == "flip_bitmap":
        flips(8 + rnd.randrange(NBLK), rnd.randint(1, 4))
    elif kind == "flip_bitmaps":
        for n in rnd.sample(range(NBLK), rnd.randint(2, NBLK)):
            flips(8 + n, rnd.randint(1, 3))
    elif kind == "zero_bitmap":
        n = 8 + rnd.randrange(NBLK)
        img[n * BLOCK:(n + 1) * BLOCK] = bytes(BLOCK)
    elif kind == "bitmap_blocknr":
        n = rnd.randrange(NBLK)
        struct.pack_into("<Q", img, (8 + n) * BLOCK + 8,
                         rnd.choice([n + 1, n - 1 if n else 7, 1 << 40, rnd.getrandbits(64)]))
        reseal(img, 8 + n)
    elif kind == "bitmap_uuid":
        n = 8 + rnd.randrange(NBLK)
        img[n * BLOCK + 16 + rnd.randrange(16)] ^= 1 << rnd.randrange(8)
        reseal(img, n)
    elif kind == "stale_block":
        # the same block of another log that used this device before
        n = 8 + rnd.randrange(NBLK)
        img[n * BLOCK:(n + 1) * BLOCK] = blk(rnd.choice(others), n)
    elif kind == "swap_blocks":
        a, b = rnd.sample(range(8, 8 + NBLK), 2)
        ba, bb = blk(img, a), blk(img, b)
        img[a * BLOCK:(a + 1) * BLOCK] = bb
        img[b * BLOCK:(b + 1) * BLOCK] = ba
    elif kind == "truncate":
        return rnd.randrange(1, NEED // 512) * 512
    elif kind == "zero_slot":
        s = rnd.choice([0, 1, nw])
        img[s * BLOCK:(s + 1) * BLOCK] = bytes(BLOCK)
    elif kind == "zero_slots":
        img[0:2 * BLOCK] = bytes(2 * BLOCK)
    elif kind == "cancelled":
        struct.pack_into("<I", img, nw * BLOCK + OFF["state"], ST_CANCELLED)
        reseal(img, nw)
    elif kind == "identity":
        # a consistent log of another leg pair: the table must be refused,
        # but nothing is damaged
        f = rnd.choice(["label", "dest", "source"])
        for s in (0, 1):
            o = s * BLOCK
            if f == "label":
                lab = rnd.choice([b"lmfuzy", b"LMFUZZ", b"lmfuzz0", b"lmfu", b"", b"x" * 63])
                img[o + OFF["label"]:o + OFF["label"] + 64] = lab.ljust(64, b"\0")
            elif f == "dest":
                struct.pack_into("<Q", img, o + OFF["dest_sectors"], SECTORS + rnd.choice([8, 1, 1 << 20]))
            else:
                src = SECTORS - rnd.choice([8, 4096, 65536])
                nr = (src + REGION - 1) // REGION
                struct.pack_into("<Q", img, o + OFF["source_sectors"], src)
                struct.pack_into("<Q", img, o + OFF["nr_regions"], nr)
                struct.pack_into("<Q", img, o + OFF["bitmap_blocks"], (nr + BITS - 1) // BITS)
            reseal(img, s)
    else:
        # semantic damage with a valid checksum, in one slot or both
        for s in slots():
            o = s * BLOCK
            if kind == "magic":
                struct.pack_into("<Q", img, o + OFF["magic"], rnd.choice(
                    [rnd.getrandbits(64), MAGIC ^ (1 << rnd.randrange(64)), 0]))
            elif kind == "version":
                struct.pack_into("<I", img, o + OFF["version"], rnd.choice([0, 1, 3, 255, 1 << 31]))
            elif kind == "state":
                struct.pack_into("<I", img, o + OFF["state"], rnd.choice([0, 5, 6, 99, 1 << 31]))
            elif kind == "layout":
                f = rnd.choice(["bitmap_start", "bitmap_blocks", "nr_bitmaps", "active_bitmap"])
                if f == "bitmap_start":
                    struct.pack_into("<Q", img, o + OFF[f], rnd.choice([0, 1, 7, 9, 1 << 50]))
                elif f == "bitmap_blocks":
                    struct.pack_into("<Q", img, o + OFF[f], rnd.choice([0, NBLK - 1, NBLK + 1, 1 << 40]))
                else:
                    struct.pack_into("<I", img, o + OFF[f], rnd.choice([0, 2, 7]) if f == "nr_bitmaps"
                                     else rnd.choice([1, 2, 1 << 31]))
            elif kind == "sizes":
                f = rnd.choice(["region_sectors", "source_sectors", "dest_sectors", "nr_regions"])
                v = u64(img[o:o + BLOCK], f)
                bad = {"region_sectors": [0, 3, v * 2, v // 2, 1 << 62],
                       "source_sectors": [0, v * 2 + REGION, 1 << 62],
                       "dest_sectors": [0, v - 1, v // 2],
                       "nr_regions": [0, v + 1, v - 1, 1 << 60]}[f]
                struct.pack_into("<Q", img, o + OFF[f], rnd.choice(bad))
            reseal(img, s)
    return len(img)


def lazy_unwritten_only(img, base):
    """IMG differs from BASE, a lazily formatted log (flags bit 2), only in
    bitmap blocks that are now zeroes: by design that reads as all dirty
    and is no damage (Documentation/dm-dirtylog.rst, "Lazy format")."""
    b0 = blk(base, newest(base))
    if not u32(b0, "flags") & 4 or img[:8 * BLOCK] != base[:8 * BLOCK]:
        return False
    return all(blk(img, 8 + n) == blk(base, 8 + n) or not any(blk(img, 8 + n))
               for n in range(NBLK))


def gen(basedir, out, count, seed):
    rnd = random.Random(seed)
    names = sorted(f[:-4] for f in os.listdir(basedir) if f.endswith(".img"))
    bases = {n: bytes(open(os.path.join(basedir, n + ".img"), "rb").read()[:NEED]) for n in names}
    os.makedirs(out, exist_ok=True)
    man = open(os.path.join(out, "manifest.jsonl"), "w")
    checks = open(os.path.join(out, "checklist"), "w")
    i = 0
    todo = [(n, "none") for n in names] + [(rnd.choice(names), rnd.choice(CLASSES)) for _ in range(count)]
    for base, kind in todo:
        img = bytearray(bases[base])
        others = [bases[n] for n in names if bases[n][32:48] != img[32:48]]
        size = corrupt(rnd, kind, img, others) if kind != "none" else NEED
        path = os.path.join(out, "%04d.img" % i)
        with open(path, "wb") as f:
            f.write(bytes(img[:size]))
        damaged = kind not in UNDAMAGED and (size < NEED or (
            bytes(img) != bases[base] and not lazy_unwritten_only(img, bases[base])))
        man.write(json.dumps({"i": i, "cls": kind, "base": base, "size": size, "damaged": damaged}) + "\n")
        checks.write("%d %s\n" % (i, path))
        i += 1
    man.close()
    checks.close()
    print("images=%d bases=%s" % (i, ",".join(names)))


# ---- loader (libdevmapper through ctypes) ----------------------------------
DM_CREATE, DM_RELOAD, DM_REMOVE, DM_SUSPEND, DM_RESUME, DM_STATUS, DM_MSG = 0, 1, 2, 4, 5, 10, 17


class DmInfo(ctypes.Structure):
    _fields_ = [(n, ctypes.c_int) for n in ("exists", "suspended", "live_table", "inactive_table",
                                             "open_count")] + \
               [(n, ctypes.c_uint32) for n in ("event_nr", "major", "minor")] + \
               [(n, ctypes.c_int) for n in ("read_only", "target_count", "deferred_remove",
                                             "internal_suspend")]


class Dm:
    def __init__(self):
        lib = ctypes.CDLL("libdevmapper.so.1.02.1")
        vp, cp, u64t = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_uint64
        lib.dm_task_create.restype = vp
        lib.dm_task_create.argtypes = [ctypes.c_int]
        lib.dm_task_set_name.argtypes = [vp, cp]
        lib.dm_task_add_target.argtypes = [vp, u64t, u64t, cp, cp]
        lib.dm_task_run.argtypes = [vp]
        lib.dm_task_destroy.argtypes = [vp]
        lib.dm_task_get_info.argtypes = [vp, ctypes.POINTER(DmInfo)]
        lib.dm_task_set_sector.argtypes = [vp, u64t]
        lib.dm_task_set_message.argtypes = [vp, cp]
        lib.dm_get_next_target.restype = vp
        lib.dm_get_next_target.argtypes = [vp, vp, ctypes.POINTER(u64t), ctypes.POINTER(u64t),
                                           ctypes.POINTER(cp), ctypes.POINTER(cp)]
        # Silence libdevmapper's own messages: the kernel log is what counts.
        self._log = ctypes.CFUNCTYPE(None, ctypes.c_int, cp, ctypes.c_int, ctypes.c_int, cp)(
            lambda *a: None)
        lib.dm_log_with_errno_init(self._log)
        self.lib = lib

    def run(self, kind, name, target=None, want_status=False, message=None):
        lib = self.lib
        t = lib.dm_task_create(kind)
        if not t:
            raise OSError("dm_task_create")
        try:
            if not lib.dm_task_set_name(t, name.encode()):
                return None
            if message and not (lib.dm_task_set_sector(t, ctypes.c_uint64(0)) and
                                lib.dm_task_set_message(t, message.encode())):
                return None
            if target:
                length, ttype, params = target
                if not lib.dm_task_add_target(t, 0, length, ttype.encode(), params.encode()):
                    return None
            if not lib.dm_task_run(t):
                return None
            info = DmInfo()
            lib.dm_task_get_info(t, ctypes.byref(info))
            res = {"minor": info.minor, "major": info.major}
            if want_status:
                s, ln = ctypes.c_uint64(), ctypes.c_uint64()
                tt, pp = ctypes.c_char_p(), ctypes.c_char_p()
                lib.dm_get_next_target(t, None, ctypes.byref(s), ctypes.byref(ln),
                                       ctypes.byref(tt), ctypes.byref(pp))
                res["status"] = (pp.value or b"").decode(errors="replace")
            return res
        finally:
            lib.dm_task_destroy(t)


class Kmsg:
    def __init__(self):
        self.fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
        os.lseek(self.fd, 0, os.SEEK_END)

    def drain(self):
        recs = []
        while True:
            try:
                r = os.read(self.fd, 8192)
            except BlockingIOError:
                return recs
            except BrokenPipeError:
                continue	# records overwritten: go on with the next
            if not r:
                return recs
            t = r.decode(errors="replace")
            recs.append(t.split(";", 1)[1].split("\n", 1)[0] if ";" in t else t)


def dev_stat(minor):
    f = open("/sys/block/dm-%d/stat" % minor).read().split()
    return [int(f[0]), int(f[4]), int(f[11]) if len(f) > 11 else 0]


def minor_of(path):
    return os.minor(os.stat(path).st_rdev)


def aligned(size):
    return mmap.mmap(-1, (size + BLOCK - 1) // BLOCK * BLOCK)


def load(out, back, meta_name, src, dst):
    dm = Dm()
    km = Kmsg()
    back_dev = os.stat(back).st_rdev
    src_min, dst_min = minor_of(src), minor_of(dst)
    meta_dev = os.stat("/dev/mapper/" + meta_name).st_rdev
    # the writers' identities, and trust_log: the loaded bits are the image's
    params = "%d:%d %s %s %d 10 start_paused label %s trust_log %s" % (
        os.major(meta_dev), os.minor(meta_dev), src, dst, REGION, LABEL, IDS)
    name = "ml-load"
    cur = NEED // 512
    bfd = os.open(back, os.O_RDWR | os.O_DIRECT)
    buf = aligned(2 * NEED)
    res = open(os.path.join(out, "results.jsonl"), "w")
    rnd = random.Random(1)
    t0 = time.time()
    n = 0
    for line in open(os.path.join(out, "manifest.jsonl")):
        e = json.loads(line)
        img = open(os.path.join(out, "%04d.img" % e["i"]), "rb").read()
        # the image, then zeros up to the full size (a truncated device
        # shows only its first sectors anyway)
        buf.seek(0)
        buf.write(img.ljust(NEED, b"\0") + bytes(len(buf) - NEED))
        os.pwritev(bfd, [memoryview(buf)[:NEED]], 0)
        sectors = e["size"] // 512
        if sectors != cur:
            ok = dm.run(DM_RELOAD, meta_name, (sectors, "linear", "%d:%d 0" % (
                os.major(back_dev), os.minor(back_dev))))
            ok = ok and dm.run(DM_SUSPEND, meta_name) and dm.run(DM_RESUME, meta_name)
            if not ok:
                raise SystemExit("cannot resize %s to %d sectors" % (meta_name, sectors))
            cur = sectors
        km.drain()
        r = {"i": e["i"]}
        dev = dm.run(DM_CREATE, name, (SECTORS, "livemirror", params))
        recs = km.drain()
        r["kmsg"] = [x for x in recs if "livemirror" in x or "dirtylog" in x][:12]
        if not dev:
            r["accepted"] = False
            errs = [x.split(": livemirror: ", 1)[1] for x in recs
                    if "table:" in x and ": livemirror: " in x]
            r["err"] = errs[0] if errs else None
            os.preadv(bfd, [memoryview(buf)[NEED:2 * NEED]], 0)
            r["untouched"] = bytes(buf[NEED:2 * NEED]) == bytes(buf[:NEED])
            if not r["untouched"]:
                with open(os.path.join(out, "%04d.after" % e["i"]), "wb") as f:
                    f.write(bytes(buf[NEED:2 * NEED]))
        else:
            r["accepted"] = True
            st = dm.run(DM_STATUS, name, want_status=True)
            r["status"] = st["status"] if st else None
            r["io"] = io_check(dev["minor"], src_min, dst_min, r["status"] or "", rnd)
            for k in range(100):
                if dm.run(DM_REMOVE, name):
                    break
                time.sleep(0.1)
            else:
                raise SystemExit("cannot remove %s" % name)
            r["src_after_remove"] = dev_stat(src_min)
            recs = km.drain()
            r["kmsg"] += [x for x in recs if "livemirror" in x or "dirtylog" in x][:4]
            os.preadv(bfd, [memoryview(buf)[NEED:2 * NEED]], 0)
            with open(os.path.join(out, "%04d.after" % e["i"]), "wb") as f:
                f.write(bytes(buf[NEED:2 * NEED]))
        res.write(json.dumps(r) + "\n")
        n += 1
        if n % 100 == 0:
            print("# loaded %d images in %.0f s" % (n, time.time() - t0), flush=True)
    res.close()
    print("loads=%d seconds=%.0f" % (n, time.time() - t0), flush=True)
    # Pending node operations, then the default logger back before the
    # callback goes away (libdevmapper logs from its destructor).
    dm.lib.dm_lib_release()
    dm.lib.dm_log_with_errno_init(None)


def io_check(minor, src_min, dst_min, status, rnd):
    """A read (and, when switched, a write and a flush) through the device."""
    switched = " switched " in " %s " % status
    io = {"switched": switched}
    fd = os.open("/dev/dm-%d" % minor, os.O_RDWR | os.O_DIRECT)
    b = aligned(BLOCK)
    try:
        off = rnd.randrange(SECTORS // 8) * BLOCK
        io["src0"], io["dst0"] = dev_stat(src_min), dev_stat(dst_min)
        os.preadv(fd, [b], off)
        if switched:
            b.seek(0)
            b.write(os.urandom(BLOCK))
            os.pwritev(fd, [b], off)
            os.fsync(fd)
        io["src1"], io["dst1"] = dev_stat(src_min), dev_stat(dst_min)
    except OSError as ex:
        io["error"] = str(ex)
    finally:
        os.close(fd)
    return io


# ---- base images: real logs written by the target ---------------------------
def bases(out, m1, m2, m3, src, dst):
    """Drive the target through the states the images start from and
    snapshot its metadata: fresh, cancelled, mid-copy under writes, synced
    with hot regions, switched, prepared, switched after prepare."""
    dm = Dm()
    os.makedirs(out, exist_ok=True)
    rnd = random.Random(os.getpid())
    buf = aligned(NEED)

    def do(kind, name, **kw):
        r = dm.run(kind, name, **kw)
        if r is None:
            raise SystemExit("bases: %s on %s failed (%s)" % (kind, name, kw))
        return r

    def status(name):
        return do(DM_STATUS, name, want_status=True)["status"].split()

    def wait(name, cond, what):
        for _ in range(3000):
            st = status(name)
            if cond(st):
                return st
            time.sleep(0.1)
        raise SystemExit("bases: timeout waiting for %s on %s: %s" % (what, name, st))

    def hot(minor, n):
        fd = os.open("/dev/dm-%d" % minor, os.O_WRONLY | os.O_DIRECT)
        b = aligned(BLOCK)
        for _ in range(n):
            b.seek(0)
            b.write(rnd.randbytes(BLOCK))
            os.pwritev(fd, [b], rnd.randrange(SECTORS // 8) * BLOCK)
        os.close(fd)

    def snap(meta, name, state):
        # a live copy may catch a block mid-write: retry until it is whole
        fd = os.open(meta, os.O_RDONLY | os.O_DIRECT)
        try:
            for _ in range(20):
                os.preadv(fd, [buf], 0)
                img = bytes(buf[:NEED])
                m = model_log(img)
                sb = [blk(img, k) for k in (0, 1)]
                if m["outcome"] == "accept" and not m["bad"] and \
                        all(stored(b) == csum(b) for b in sb) and u32(sb[newest(img)], "state") == state:
                    with open(os.path.join(out, name + ".img"), "wb") as f:
                        f.write(img)
                    return m
                time.sleep(0.2)
        finally:
            os.close(fd)
        raise SystemExit("bases: no whole snapshot of %s for %s: %s" % (meta, name, m.get("bad")))

    def table(meta, feats):
        n, rest = feats.split(" ", 1)
        feats = "%d %s %s" % (int(n) + 6, rest, IDS)
        return (SECTORS, "livemirror", "%s %s %s %d %s" % (meta, src, dst, REGION, feats))

    def dirty(m):
        return sum(popcount(x) for x in m["bits"])

    # fresh (formatted, all dirty), then cancelled
    do(DM_CREATE, "ml-b1", target=table(m1, "3 start_paused label " + LABEL))
    snap(m1, "fresh", ST_COPYING)
    do(DM_SUSPEND, "ml-b1")
    do(DM_MSG, "ml-b1", message="cancel")
    snap(m1, "cancelled", ST_CANCELLED)
    do(DM_RESUME, "ml-b1")
    do(DM_REMOVE, "ml-b1")
    # mid-copy under writes, synced with hot regions, switched
    dev = do(DM_CREATE, "ml-b2", target=table(m2, "4 throttle 16 label " + LABEL))
    wait("ml-b2", lambda st: int(st[0].split("/")[0]) >= NR // 5, "a fifth copied")
    hot(dev["minor"], 400)
    m = snap(m2, "midcopy", ST_COPYING)
    print("midcopy: %d dirty in the snapshot; now %s" % (dirty(m), " ".join(status("ml-b2"))))
    do(DM_MSG, "ml-b2", message="throttle 0")
    wait("ml-b2", lambda st: st[2] == "synced", "synced")
    hot(dev["minor"], 300)
    m = snap(m2, "synchot", ST_COPYING)
    print("synchot: %d dirty in the snapshot; now %s" % (dirty(m), " ".join(status("ml-b2"))))
    do(DM_SUSPEND, "ml-b2")
    do(DM_MSG, "ml-b2", message="switch")
    snap(m2, "switched", ST_SWITCHED)
    do(DM_RESUME, "ml-b2")
    do(DM_REMOVE, "ml-b2")
    # prepared (group switch), then switched from prepared
    do(DM_CREATE, "ml-b3", target=table(m3, "4 copy_depth 16 label " + LABEL))
    wait("ml-b3", lambda st: st[2] == "synced", "synced")
    do(DM_SUSPEND, "ml-b3")
    do(DM_MSG, "ml-b3", message="prepare 0123456789abcdef0123456789abcdef "
       "fedcba9876543210fedcba9876543210 2 1")
    snap(m3, "prepared", ST_PREPARED)
    do(DM_MSG, "ml-b3", message="switch")
    snap(m3, "prepswitched", ST_SWITCHED)
    do(DM_RESUME, "ml-b3")
    do(DM_REMOVE, "ml-b3")
    dm.lib.dm_lib_release()
    dm.lib.dm_log_with_errno_init(None)


# ---- judge -----------------------------------------------------------------
STATUS_RE = re.compile(r"^(\d+)/(\d+) (\d+) (copying|paused|synced|degraded|failed|switched) "
                       r"([AD]{3}) (\d+) (\d+) ([01]) (\d+)( [a-z_]+=[a-z0-9_]+)*$")
WARN_RE = re.compile(r"bitmap block (\d+) .*: treating its regions as dirty")


def judge(out, checkfile):
    man = [json.loads(x) for x in open(os.path.join(out, "manifest.jsonl"))]
    res = {r["i"]: r for r in (json.loads(x) for x in open(os.path.join(out, "results.jsonl")))}
    chk = {}
    for line in open(checkfile):
        i, rc = line.split()[:2]
        chk[int(i)] = int(rc)
    bases = {}
    fails = {}
    per = {}
    hazard = []

    def bad(what, i, detail):
        fails.setdefault(what, []).append("image %d (%s/%s): %s" % (i, man[i]["cls"], man[i]["base"], detail))

    for e in man:
        i, cls = e["i"], e["cls"]
        base = bases.get(e["base"])
        if base is None:
            base = bases[e["base"]] = open(os.path.join(out, "%04d.img" % man.index(
                next(x for x in man if x["base"] == e["base"] and x["cls"] == "none"))), "rb").read()
        img = bytearray(open(os.path.join(out, "%04d.img" % i), "rb").read().ljust(NEED, b"\0"))
        m = model(img, e["size"])
        r = res.get(i)
        c = per.setdefault(cls, {"n": 0, "refused": 0, "degraded": 0, "clean": 0, "formatted": 0,
                                 "fallback": 0, "check1": 0})
        c["n"] += 1
        if r is None:
            bad("every image was loaded", i, "no result")
            continue
        rc = chk.get(i)
        if rc == 1:
            c["check1"] += 1
        truth = base_bits(base)
        if m["outcome"] == "refuse":
            c["refused"] += 1
            if r["accepted"]:
                bad("refused as documented", i, "accepted (%s), expected refusal: %s" % (
                    r.get("status"), ",".join(m["reasons"])))
                continue
            if not r["err"] or not any(MSG[x] in r["err"] for x in m["reasons"]):
                bad("refusal message names the problem", i, "kernel said %r, expected one of %s" % (
                    r["err"], [MSG[x] for x in m["reasons"]]))
            if not r["untouched"] and m["reasons"] not in (["cancelled"], ["prepared"]):
                bad("a refused load writes nothing", i, "metadata changed")
            elif not r["untouched"]:
                # The log loaded, the target refused the cancelled or
                # prepared state and closed it: the close commits the bad
                # blocks' rewrite.
                after = bytearray(open(os.path.join(out, "%04d.after" % i), "rb").read())
                am = model_log(after)
                c["cancel_rewrites"] = c.get("cancel_rewrites", 0) + 1
                touched = [n for n in range(NBLK) if blk(after, 8 + n) != blk(img, 8 + n)]
                ok_rewrite = after[:2 * BLOCK] == img[:2 * BLOCK] and not am.get("bad") and \
                    am["outcome"] == "accept" and set(touched) <= set(model_log(img).get("bad", [])) and \
                    all(am["bits"][n] == (1 << nbits(n)) - 1 for n in touched)
                if not ok_rewrite:
                    bad("a refused load writes nothing", i, "%s log: changed beyond its bad blocks" %
                        m["reasons"][0])
            if set(m["reasons"]) & DAMAGE_REASONS and rc != 1:
                bad("check reports damage when the kernel refuses damaged metadata", i,
                    "kernel: %s; check exit %s" % (r["err"], rc))
        else:
            if not r["accepted"]:
                bad("accepted as documented", i, "refused: %r, expected %s" % (
                    r["err"], "format" if m["format"] else "state %d, bad blocks %s" % (m["state"], m["bad"])))
                continue
            dirty = sum(popcount(x) for x in m["bits"])
            degraded = bool(m["bad"]) or m["slot"] is not None and (
                bytes(blk(img, m["slot"])) != bytes(blk(base, m["slot"])) or
                bytes(blk(img, 1 - m["slot"])) != bytes(blk(base, 1 - m["slot"])))
            if m["format"]:
                c["formatted"] += 1
            elif degraded:
                c["degraded"] += 1
            else:
                c["clean"] += 1
            if m["slot"] is not None and m["slot"] != newest(base):
                c["fallback"] += 1
                if u32(blk(base, newest(base)), "state") == ST_SWITCHED and m["state"] != ST_SWITCHED:
                    hazard.append((i, cls, rc))
            st = STATUS_RE.match(r["status"] or "")
            if not st:
                bad("status line is well formed", i, repr(r["status"]))
                continue
            ins, nr, kd, kstate = int(st[1]), int(st[2]), int(st[3]), st[4]
            if nr != NR or ins > nr or kd > nr or st[5] != "AAA" or int(st[9]):
                bad("status line is well formed", i, r["status"])
            if kd < sum(popcount(x) for x in truth) and not m["format"]:
                bad("never fewer dirty regions than the image's true bits", i,
                    "dirty %d < %d" % (kd, sum(popcount(x) for x in truth)))
            if kd != dirty:
                bad("dirty count as documented (bad blocks all dirty)", i, "dirty %d, expected %d" % (kd, dirty))
            if kstate != state_name(m):
                bad("state as documented (newest valid slot)", i, "%s, expected %s" % (kstate, state_name(m)))
            if kstate != "switched" and ins != nr - kd:
                bad("status line is well formed", i, "in_sync %d with dirty %d" % (ins, kd))
            warned = sorted({int(w[1]) for w in (WARN_RE.search(x) for x in r["kmsg"]) if w})
            if warned != m["bad"][:8]:
                bad("every bad bitmap block is warned about", i, "warned %s, bad %s" % (warned, m["bad"]))
            if m["format"] != any("formatted new log" in x for x in r["kmsg"]):
                bad("zeroed superblocks (only) are formatted", i, "kmsg %s" % r["kmsg"][:3])
            io = r["io"]
            if "error" in io:
                bad("I/O through an accepted device works", i, io["error"])
            elif kstate == "switched":
                if io["src1"] != io["src0"] or r["src_after_remove"] != io["src0"]:
                    bad("switched never sends I/O to the source", i, "source stat %s -> %s -> %s" % (
                        io["src0"], io["src1"], r["src_after_remove"]))
                if io["dst1"][0] <= io["dst0"][0] or io["dst1"][1] <= io["dst0"][1]:
                    bad("switched: reads and writes reach the destination", i, "dest stat %s -> %s" % (
                        io["dst0"], io["dst1"]))
            elif io["src1"][0] <= io["src0"][0]:
                bad("I/O through an accepted device works", i, "source reads %s -> %s" % (io["src0"], io["src1"]))
            # What the log left on the device after remove.
            after = bytearray(open(os.path.join(out, "%04d.after" % i), "rb").read())
            am = model(after, NEED)
            if am["outcome"] != "accept" or am["bad"]:
                bad("after remove every bitmap block is valid (bad ones rewritten)", i,
                    "reload model: %s" % (am.get("reasons") or am.get("bad")))
                continue
            # Format v2: an accepted load writes only its attach and detach
            # records (generation, flags, attach/detach fields) into the slots.
            if not m["format"] and not same_but_attach(img, after):
                bad("loading writes no superblock but the attach record (unless it formats)", i,
                    "slots changed")
            if am["bits"] != m["bits"]:
                bad("after remove the bitmap is the loaded one", i, "%d dirty on disk, %d loaded" % (
                    sum(popcount(x) for x in am["bits"]), dirty))
            if any(t & ~a for t, a in zip(truth, am["bits"])):
                bad("never fewer dirty regions than the image's true bits", i,
                    "a true dirty bit is clear on disk after remove")
        # helper
        if rc not in (0, 1):
            bad("metadata check exits 0 or 1 (no crash)", i, "exit %s" % rc)
        elif rc != (1 if e["damaged"] else 0):
            bad("metadata check reports exactly the damaged images", i, "exit %d, damaged %s, kernel %s" % (
                rc, e["damaged"], r.get("err") or r.get("status")))
        if r["accepted"] and m["outcome"] == "accept" and not e["damaged"] and rc != 0:
            bad("check exits 0 when the kernel accepts undamaged metadata", i, "exit %s" % rc)

    for cls in sorted(per):
        c = per[cls]
        print("# %-14s %4d images: refused %4d, accepted clean %4d, degraded %4d, formatted %3d; "
              "older slot used %3d; check exit 1: %4d" % (cls, c["n"], c["refused"], c["clean"],
                                                           c["degraded"], c["formatted"], c["fallback"],
                                                           c["check1"]))
    tot = {k: sum(c[k] for c in per.values()) for k in ("n", "refused", "clean", "degraded", "formatted")}
    print("# total %d images: refused %d, accepted clean %d, accepted degraded %d, formatted %d" % (
        tot["n"], tot["refused"], tot["clean"], tot["degraded"], tot["formatted"]))
    reasons = {}
    for r in res.values():
        if not r["accepted"]:
            k = re.sub(r"[0-9]+", "N", (r["err"] or "none").split("(")[0].strip())[:60]
            reasons[k] = reasons.get(k, 0) + 1
    for k in sorted(reasons, key=lambda k: -reasons[k]):
        print("# refused %4d: %s" % (reasons[k], k))
    rew = sum(c.get("cancel_rewrites", 0) for c in per.values())
    if rew:
        print("# %d loads refused because the log was cancelled still rewrote its bad bitmap blocks "
              "(all dirty) when the target closed the log" % rew)
    if hazard:
        print("# %d images of a SWITCHED log loaded as not switched because the newest slot was damaged "
              "(documented fallback to the older slot; the switch decision is lost): classes %s; "
              "metadata check exit 0 for %d of them" % (
                  len(hazard), ",".join(sorted({h[1] for h in hazard})), sum(1 for h in hazard if h[2] == 0)))
    checks = ["every image was loaded", "refused as documented", "refusal message names the problem",
              "a refused load writes nothing", "accepted as documented", "status line is well formed",
              "never fewer dirty regions than the image's true bits",
              "dirty count as documented (bad blocks all dirty)", "state as documented (newest valid slot)",
              "every bad bitmap block is warned about", "zeroed superblocks (only) are formatted",
              "I/O through an accepted device works", "switched never sends I/O to the source",
              "switched: reads and writes reach the destination",
              "after remove every bitmap block is valid (bad ones rewritten)",
              "loading writes no superblock (unless it formats)", "after remove the bitmap is the loaded one",
              "metadata check exits 0 or 1 (no crash)", "metadata check reports exactly the damaged images",
              "check reports damage when the kernel refuses damaged metadata",
              "check exits 0 when the kernel accepts undamaged metadata"]
    for k in fails:
        if k not in checks:
            checks.append(k)
    for k in checks:
        f = fails.get(k, [])
        print("%s\t%s%s" % ("not ok" if f else "ok", k, " (%d images)" % len(f) if f else ""))
        for d in f[:5]:
            print("# " + d)
    return 1 if fails else 0


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    cmd, a = sys.argv[1], sys.argv[2:]
    if cmd == "gen" and len(a) == 4:
        gen(a[0], a[1], int(a[2]), int(a[3]))
    elif cmd == "bases" and len(a) == 6:
        bases(*a)
    elif cmd == "load" and len(a) == 5:
        load(*a)
    elif cmd == "judge" and len(a) == 2:
        sys.exit(judge(*a))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
