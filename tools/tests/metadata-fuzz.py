#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Host-side metadata fuzzing of the livemirror tools.

Makes a valid log image with 'livemirror metadata repair', then corrupts
copies of it in many ways: bit flips in either superblock slot, in both, in
bitmap blocks; truncation; semantically wrong fields (magic, version, sizes,
identity) written with a *valid* checksum so that only the meaning is wrong,
among them the version 2 fields: ids without their NUL, with an unknown
prefix or a control character, unknown flags, and version 1 images.  Every
damaged image must be reported by 'metadata check' (exit 1), naming what is
wrong; 'recover --meta' (the helper's load) must never crash and always
print valid JSON; 'metadata repair' (with --upgrade for version 1) must then
always yield an image that 'check' passes and 'dump --json' reads.  Valid
version 2 fields (random ids of every kind, the attachment record) must
check clean, round-trip exactly through 'dump --json' and survive repair.
Prints TAP.
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
OFF = {"flags": 4, "magic": 8, "version": 16, "state": 20, "generation": 24,
       "region_sectors": 112, "nr_regions": 120, "source_sectors": 128, "dest_sectors": 136,
       "bitmap_start": 144, "bitmap_blocks": 152,
       # version 2
       "attach_time": 216, "detach_time": 224, "attach_count": 232,
       "device_id": 240, "source_id": 400, "dest_id": 560}
ID_LEN = 160
IDS = ("device_id", "source_id", "dest_id")
FLAG_REPAIRED, FLAG_ATTACHED = 1, 2
STRONG = ["dm:", "naa:", "eui:", "t10:", "user:"]
WEAK = ["dm-name:", "dev:"]


def put_id(img, o, field, raw):
    """Write raw bytes (at most ID_LEN) into an id field, NUL padded."""
    img[o + OFF[field]:o + OFF[field] + ID_LEN] = raw.ljust(ID_LEN, b"\0")[:ID_LEN]


def random_id(rnd):
    """A valid identity string: a known prefix and printable text."""
    pre = rnd.choice(STRONG + WEAK)
    n = rnd.randint(1, ID_LEN - 1 - len(pre))
    text = "".join(chr(rnd.randrange(0x20, 0x7f)) for _ in range(n))
    return pre + text


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
    print("1..17")
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
                           "bitmap_blocknr", "bitmap_uuid", "state", "v1", "id_unterminated",
                           "id_prefix", "id_control", "flags"])
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
                    struct.pack_into("<I", img, o + OFF["version"], rnd.choice([0, 3, 255, 1 << 31]))
                elif kind == "v1":
                    # A valid version 1 image: refused until upgraded.
                    struct.pack_into("<I", img, o + OFF["version"], 1)
                elif kind == "id_unterminated":
                    f = rnd.choice(IDS)
                    put_id(img, o, f, bytes(rnd.randrange(1, 256) for _ in range(ID_LEN)))
                elif kind == "id_prefix":
                    f = rnd.choice(IDS)
                    bad = rnd.choice(["x:", "dm", "DM:", "naa", "user", ":", "dm-name", "foo:bar"])
                    if rnd.random() < 0.5 and bad.endswith(":"):
                        bad += "abc"
                    put_id(img, o, f, bad.encode())
                elif kind == "id_control":
                    f = rnd.choice(IDS)
                    v = bytearray(random_id(rnd).encode())
                    v[rnd.randrange(len(v))] = rnd.choice([1, 9, 10, 13, 27, 127])
                    put_id(img, o, f, bytes(v))
                elif kind == "flags":
                    bit = rnd.randrange(2, 32)
                    v = struct.unpack_from("<I", img, o + OFF["flags"])[0]
                    struct.pack_into("<I", img, o + OFF["flags"], v | (1 << bit))
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
        if kind == "v1" and "repair --upgrade" not in out:
            missed.append((i, kind, rc, "no upgrade advice: " + out.strip()[:200]))
        # The helper's load: recover reads the metadata, never crashes.
        rc, out = run("recover", "--meta", path, "--json")
        if rc < 0:
            crashed.append((i, kind, "recover", rc))
        try:
            json.loads(out[out.index("{"):]) if "{" in out else json.loads(out)
        except ValueError:
            undumpable.append((i, kind, rc, "recover: " + out[:200]))
        # Repair: with identity when no slot can give it.
        if len(img) < len(img0):
            with open(path, "r+b") as f:
                f.truncate(len(img0))
        rc, out = run("metadata", "repair", path, "--force")
        if rc != 0:
            rc, out = run("metadata", "repair", path, "--force", "--upgrade")
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

    # Valid version 2 fields: random ids of every kind and an attachment
    # record, written into both slots with valid checksums.
    roundtrip_bad, kept_bad = [], []
    for i in range(max(50, COUNT // 10)):
        img = bytearray(img0)
        want = {f: (random_id(rnd) if rnd.random() < 0.8 else "") for f in IDS}
        att = rnd.random() < 0.5
        times = [rnd.randrange(1 << 40) for _ in range(3)]
        for s in (0, 1):
            o = s * BLOCK
            for f in IDS:
                put_id(img, o, f, want[f].encode())
            v = struct.unpack_from("<I", img, o + OFF["flags"])[0]
            struct.pack_into("<I", img, o + OFF["flags"], v | (FLAG_ATTACHED if att else 0))
            for f, t in zip(("attach_time", "detach_time", "attach_count"), times):
                struct.pack_into("<Q", img, o + OFF[f], t)
            reseal(img, s)
        with open(path, "wb") as f:
            f.write(img)
        rc, out = run("metadata", "check", path)
        rc2, out2 = run("metadata", "dump", path, "--json")
        try:
            sb = json.loads(out2)["superblock"]
            good = (rc == 0 and rc2 == 0 and all(sb[f] == want[f] for f in IDS) and
                    sb["attached"] == att and sb["attach_count"] == times[2] and
                    sb["detach_time"] == times[1] and
                    sb["last_detach"] == ("unclean" if att else "clean" if times[1] else "never"))
        except (ValueError, KeyError):
            good = False
        if not good:
            roundtrip_bad.append((i, want, rc, rc2, (out + out2)[:300]))
            continue
        rc, out = run("metadata", "repair", path, "--force")
        rc2, out2 = run("metadata", "dump", path, "--json")
        try:
            sb = json.loads(out2)["superblock"]
            good = (rc == 0 and all(sb[f] == want[f] for f in IDS) and not sb["attached"] and
                    sb["attach_count"] == times[2] and
                    json.loads(out2)["bitmap"]["dirty"] == sb["nr_regions"])
        except (ValueError, KeyError):
            good = False
        if not good:
            kept_bad.append((i, want, rc, (out + out2)[:300]))
    ok(not roundtrip_bad, "valid v2 ids and attachment record check clean and round-trip "
       "through dump --json (%d failed)" % len(roundtrip_bad), repr(roundtrip_bad[:3]))
    ok(not kept_bad, "repair keeps valid ids and the attach count, clears ATTACHED, all dirty "
       "(%d failed)" % len(kept_bad), repr(kept_bad[:3]))

    # Version 1: refused by every command with the upgrade advice.
    img = bytearray(img0)
    for s in (0, 1):
        struct.pack_into("<I", img, s * BLOCK + OFF["version"], 1)
        reseal(img, s)
    with open(path, "wb") as f:
        f.write(img)
    rc, out = run("metadata", "check", path)
    ok(rc == 1 and "repair --upgrade" in out, "check of version 1: exit 1, upgrade advice", out)
    rc, out = run("metadata", "dump", path)
    ok(rc == 6 and "old-version" in out, "dump of version 1: exit 6", out)
    rc, out = run("recover", "--meta", path)
    ok(rc == 6 and "repair --upgrade" in out, "recover of version 1: exit 6, advice", out)
    rc, out = run("metadata", "repair", path, "--force")
    ok(rc == 6 and "repair --upgrade" in out, "plain repair of version 1 refused", out)
    rc, out = run("metadata", "repair", path, "--upgrade")
    rc2, out2 = run("metadata", "dump", path, "--json")
    try:
        d = json.loads(out2)
        sb = d["superblock"]
        good = (rc == 0 and sb["version"] == 2 and all(sb[f] == "" for f in IDS) and
                not sb["attached"] and d["bitmap"]["dirty"] == sb["nr_regions"] and
                sb["label"] == "fuzz")
    except (ValueError, KeyError):
        good = False
    ok(good, "repair --upgrade: version 2, unbound, all dirty, identity kept", out + out2[:400])
    rc, out = run("metadata", "check", path)
    ok(rc == 0, "upgraded image checks clean", out)
    kinds_v2 = [k for k in ("v1", "id_unterminated", "id_prefix", "id_control", "flags")
                if kinds.get(k, 0) > 0]
    ok(len(kinds_v2) == 5 or COUNT < 100, "every version 2 damage kind was exercised (%s)" %
       ", ".join(kinds_v2))
    shutil.rmtree(work)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
