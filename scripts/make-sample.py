#!/usr/bin/env python3
"""Cut the bundled sample out of a real capture: the first N pc.ram pages of channel 0 of
../shared/captures/qpl-2ch, exactly as QEMU sent them (raw or raw-deflate), with the
SHA-256 of each page as the guest's RAM snapshot holds it (the expected decode).

Writes web-demo/sample/qpl-pages.bin and qpl-pages.json. Record format (big-endian):
u64 pc.ram offset, u32 length (4096 = raw page), then the page's bytes.
Usage: scripts/make-sample.py [SHARED_DIR] [N]
"""
import hashlib, json, os, struct, subprocess, sys

shared = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..", "shared")
count = int(sys.argv[2]) if len(sys.argv) > 2 else 64
cap = os.path.join(shared, "captures", "qpl-2ch")
unzstd = lambda p: subprocess.run(["zstd", "-dc", p], check=True, capture_output=True).stdout
stream = unzstd(os.path.join(cap, "conn-1.bin.zst"))
ram = unzstd(os.path.join(cap, "ram.bin.zst"))
manifest = json.load(open(os.path.join(cap, "manifest.json")))
assert next(f for f in manifest["files"] if f["file"] == "conn-1.bin.zst")["channel"] == 0

pos, HEADER = 64, 320 + 8 * 128
records, pages = [], []
while pos < len(stream) and len(pages) < count:
    h = stream[pos:pos + HEADER]
    flags, normal, size = struct.unpack(">I", h[8:12])[0], *struct.unpack(">II", h[16:24])
    block = h[64:320].split(b"\0")[0].decode()
    payload = stream[pos + HEADER:pos + HEADER + size]
    pos += HEADER + size
    if flags & 1 or block != "pc.ram" or normal == 0:
        continue
    lens = struct.unpack(">%dI" % normal, payload[:4 * normal])
    at = 4 * normal
    for i, n in enumerate(lens):
        off = struct.unpack(">Q", h[320 + 8 * i:328 + 8 * i])[0]
        data = payload[at:at + n]
        at += n
        if 0xA0000 <= off < 0xC0000 or len(pages) >= count:
            continue
        records.append(struct.pack(">QI", off, n) + data)
        pages.append({"offset": off, "length": n,
                      "sha256": hashlib.sha256(ram[off:off + 4096]).hexdigest()})

out = os.path.join(os.path.dirname(__file__), "..", "web-demo", "sample")
open(os.path.join(out, "qpl-pages.bin"), "wb").write(b"".join(records))
all_pages = b"".join(ram[p["offset"]:p["offset"] + 4096] for p in pages)
json.dump({"source": "captures/qpl-2ch conn-1 (channel 0), QEMU 10.0.2 qpl software path",
           "pages": pages, "sha256_all": hashlib.sha256(all_pages).hexdigest()},
          open(os.path.join(out, "qpl-pages.json"), "w"), indent=1)
print(f"{len(pages)} pages, {sum(p['length'] for p in pages)} bytes, "
      f"{sum(p['length'] == 4096 for p in pages)} raw")
