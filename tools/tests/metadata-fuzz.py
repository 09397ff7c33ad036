#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Host-side metadata fuzzing of the livemirror tools.

Makes a valid log image with 'livemirror metadata repair', then corrupts
copies of it in many ways: bit flips in either superblock slot, in both, in
bitmap blocks; truncation; semantically wrong fields (magic, version, sizes,
identity) written with a *valid* checksum so that only the meaning is wrong.
Every damaged image must be reported by 'metadata check' (exit 1), naming
what is wrong; 'metadata repair' must then always yield an image that
'check' passes and 'dump --json' reads.  Prints TAP.
"""
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LM = os.path.join(TOP, "userspace", "livemirror")
BLOCK = 4096
COUNT = int(os.environ.get("LM_META_FUZZ", "1000"))
SEED = int(os.environ.get("LM_META_FUZZ_SEED", "1"))
# 200000 regions of 8 sectors: 7 bitmap blocks, so several blocks to hit.
SRC_SECTORS = 1600000
REGION = 8
IDENT = ["--region-size", "%ds" % REGION, "--source-sectors", str(SRC_SECTORS),
         "--dest-sectors", str(SRC_SECTORS), "--label", "fuzz"]

# Superblock field offsets (dm-dirtylog/dirtylog-format.h).
OFF = {"magic": 8, "version": 16, "state": 20, "generation": 24, "region_sectors": 112,
       "nr_regions": 120, "source_sectors": 128, "dest_sectors": 136, "bitmap_start": 144,
       "bitmap_blocks": 152}


# The checksum rule lives once, in the in-kernel loader's image tool.
sys.path.insert(0, os.path.join(TOP, "tools", "testing", "selftests", "livemirror"))
from metadata_corrupt import csum as block_csum  # noqa: E402


def reseal(img, blk):
    b = img[blk * BLOCK:(blk + 1) * BLOCK]
    struct.pack_into("<I", img, blk * BLOCK, block_csum(b))


def run(*args):
    p = subprocess.run([LM] + list(args), capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def main():
    rnd = random.Random(SEED)
    work = tempfile.mkdtemp()
    n = 0
    fails = 0

    def ok(cond, desc, detail=""):
        nonlocal n, fails
        n += 1
        if cond:
            print("ok %d %s" % (n, desc))
        else:
            fails += 1
            print("not ok %d %s" % (n, desc))
            for line in detail.strip().splitlines()[:6]:
                print("# " + line)

    print("TAP version 13")
    base = os.path.join(work, "base.img")
    need = None
    rc, out = run("metadata", "measure", "--size", str(SRC_SECTORS * 512),
                  "--region-size", "%ds" % REGION)
    for line in out.splitlines():
        if line.startswith("bytes="):
            need = int(line[6:])
    with open(base, "wb") as f:
        f.truncate(need)
    rc, out = run("metadata", "repair", base, *IDENT)
    rc2, out2 = run("metadata", "check", base)
    print("1..8")
    ok(rc == 0 and rc2 == 0, "a fresh image made by repair checks clean", out + out2)
    img0 = bytearray(open(base, "rb").read())
    bitmap_blocks = struct.unpack_from("<Q", img0, OFF["bitmap_blocks"])[0]
    gen_slot = [struct.unpack_from("<Q", img0, s * BLOCK + OFF["generation"])[0] for s in (0, 1)]

    kinds = {}
    missed, unrepaired, undumpable, crashed = [], [], [], []
    path = os.path.join(work, "fz.img")
    for i in range(COUNT):
        img = bytearray(img0)
        kind = rnd.choice(["flip_a", "flip_b", "flip_both", "flip_bitmap", "truncate",
                           "magic", "version", "sizes", "nr_regions", "bitmap_start",
                           "bitmap_blocknr", "bitmap_uuid", "state"])
        kinds[kind] = kinds.get(kind, 0) + 1
        newest = 0 if gen_slot[0] > gen_slot[1] else 1
        if kind in ("flip_a", "flip_b", "flip_both"):
            slots = {"flip_a": [0], "flip_b": [1], "flip_both": [0, 1]}[kind]
            for s in slots:
                for _ in range(rnd.randint(1, 4)):
                    img[s * BLOCK + rnd.randrange(BLOCK)] ^= 1 << rnd.randrange(8)
        elif kind == "flip_bitmap":
            blk = 8 + rnd.randrange(bitmap_blocks)
            img[blk * BLOCK + rnd.randrange(BLOCK)] ^= 1 << rnd.randrange(8)
        elif kind == "truncate":
            img = img[:rnd.randrange(len(img) // 512) * 512]
        elif kind == "bitmap_blocknr":
            blk = 8 + rnd.randrange(bitmap_blocks)
            struct.pack_into("<Q", img, blk * BLOCK + 8, rnd.randrange(1, 1 << 40))
            reseal(img, blk)
        elif kind == "bitmap_uuid":
            blk = 8 + rnd.randrange(bitmap_blocks)
            img[blk * BLOCK + 16 + rnd.randrange(16)] ^= 0xFF
            reseal(img, blk)
        else:
            # Semantic damage in both slots, with valid checksums.
            for s in (0, 1):
                o = s * BLOCK
                if kind == "magic":
                    struct.pack_into("<Q", img, o + OFF["magic"], rnd.getrandbits(64))
                elif kind == "version":
                    struct.pack_into("<I", img, o + OFF["version"], rnd.choice([0, 2, 3, 255, 1 << 31]))
                elif kind == "sizes":
                    # Sizes that disagree with the region count, or a
                    # destination smaller than the source: never valid.
                    f = rnd.choice(["region_sectors", "source_sectors", "dest_sectors"])
                    v = struct.unpack_from("<Q", img, o + OFF[f])[0]
                    bad = {"region_sectors": [0, 3, v * 2, v // 2, 1 << 62],
                           "source_sectors": [0, v * 2 + REGION, 1 << 62],
                           "dest_sectors": [0, v - 1, v // 2]}[f]
                    struct.pack_into("<Q", img, o + OFF[f], rnd.choice(bad))
                elif kind == "nr_regions":
                    v = struct.unpack_from("<Q", img, o + OFF["nr_regions"])[0]
                    struct.pack_into("<Q", img, o + OFF["nr_regions"], rnd.choice([0, v + 1, v - 1, 1 << 60]))
                elif kind == "bitmap_start":
                    struct.pack_into("<Q", img, o + OFF["bitmap_start"], rnd.choice([0, 1, 7, 9, 1 << 50]))
                elif kind == "state":
                    struct.pack_into("<I", img, o + OFF["state"], rnd.choice([0, 5, 6, 99, 1 << 31]))
                reseal(img, s)
        with open(path, "wb") as f:
            f.write(img)
        rc, out = run("metadata", "check", path)
        if rc < 0:
            crashed.append((i, kind, "check", rc))
        if rc != 1 and img != img0:
            missed.append((i, kind, rc, out.strip()[:200]))
        # Repair: with identity when no slot can give it.
        if len(img) < len(img0):
            with open(path, "r+b") as f:
                f.truncate(len(img0))
        rc, out = run("metadata", "repair", path, "--force")
        if rc != 0:
            rc, out = run("metadata", "repair", path, "--force", *IDENT)
        if rc < 0:
            crashed.append((i, kind, "repair", rc))
        rc2, out2 = run("metadata", "check", path)
        if rc != 0 or rc2 != 0:
            unrepaired.append((i, kind, rc, rc2, (out + out2).strip()[:300]))
        rc3, out3 = run("metadata", "dump", path, "--json")
        try:
            json.loads(out3)
        except ValueError:
            undumpable.append((i, kind, rc3, out3[:200]))

    print("# %d corrupted images, seed %d: %s" % (COUNT, SEED, ", ".join(
        "%s %d" % kv for kv in sorted(kinds.items()))))
    ok(COUNT >= 1000 or "LM_META_FUZZ" in os.environ, "at least 1000 corrupted images (%d)" % COUNT)
    ok(not crashed, "no tool crashed on a corrupted image", repr(crashed[:5]))
    ok(not missed, "check reports damage (exit 1) for every damaged image (%d missed)" % len(missed),
       "\n".join(repr(m) for m in missed[:6]))
    ok(not unrepaired, "repair always yields a log that checks clean (%d failed)" % len(unrepaired),
       "\n".join(repr(m) for m in unrepaired[:6]))
    ok(not undumpable, "dump --json of every repaired image is valid JSON", repr(undumpable[:3]))
    ok(kinds.get("flip_bitmap", 0) > 0 and kinds.get("flip_both", 0) > 0, "both slot and bitmap damage were exercised")
    # Identity survives repair from a slot: the label stays.
    with open(path, "wb") as f:
        f.write(img0)
    img = bytearray(img0)
    img[0 * BLOCK + 100] ^= 1
    with open(path, "wb") as f:
        f.write(img)
    run("metadata", "repair", path, "--force")
    rc, out = run("metadata", "dump", path, "--json")
    ok('"fuzz"' in out, "repair from the surviving slot keeps the identity (label)", out[:300])
    shutil.rmtree(work)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
