//! Rebuild the conformance vector set deterministically: `tests/vectors/manifest.json`,
//! `tests/vectors/files.txt` and `tests/vectors/data/*.bin`.
//!
//!     cargo run -p pageflate-conformance --example generate_vectors
//!
//! Adding a case is one line in `hand_made()` (bytes + operation + the outcome it must
//! have) or in one of the generated families. Every expected outcome is checked here
//! against the native run before it is written: hand-made cases state their expected error
//! kind by hand; encoded cases expect the digest of the data that was encoded.

#![allow(clippy::cloned_ref_to_slice_refs)] // `&[x.clone()]` keeps every case the same shape

use pageflate_conformance::vectors::run;
use pageflate_core::container::{gzip_compress, zlib_compress};
use pageflate_core::deflate::{deflate_to_vec, BlockCodes, Histogram, Level};
use pageflate_core::migration::emit;
use pageflate_core::multifd::{ChannelInit, ChannelWriter, Method, OutPage};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::path::PathBuf;

/// LSB-first bit builder for hand-made deflate streams.
#[derive(Default)]
struct Bits {
    out: Vec<u8>,
    n: u32,
}

impl Bits {
    /// Append `v`'s low `n` bits, least significant first (deflate's order for values).
    fn put(mut self, v: u32, n: u32) -> Self {
        for i in 0..n {
            if self.n % 8 == 0 {
                self.out.push(0);
            }
            let last = self.out.len() - 1;
            self.out[last] |= ((v >> i & 1) as u8) << (self.n % 8);
            self.n += 1;
        }
        self
    }

    /// Append a Huffman code of `len` bits, most significant bit first.
    fn code(self, code: u32, len: u32) -> Self {
        let rev = (0..len).fold(0, |r, i| r | (code >> i & 1) << (len - 1 - i));
        self.put(rev, len)
    }

    /// Append whole bytes (after aligning).
    fn bytes(mut self, b: &[u8]) -> Self {
        self.n = self.out.len() as u32 * 8;
        self.out.extend_from_slice(b);
        self.n = self.out.len() as u32 * 8;
        self
    }

    fn done(self) -> Vec<u8> {
        self.out
    }
}

/// Fixed-code literal/length symbol `sym` as (code, length).
fn fixed_ll(sym: u32) -> (u32, u32) {
    match sym {
        0..=143 => (0x30 + sym, 8),
        144..=255 => (0x190 + sym - 144, 9),
        256..=279 => (sym - 256, 7),
        _ => (0xC0 + sym - 280, 8),
    }
}

fn fixed(b: Bits, sym: u32) -> Bits {
    let (c, l) = fixed_ll(sym);
    b.code(c, l)
}

/// A final fixed block: `prefix` literal bytes, then a match of `len` at `dist` (if any).
fn fixed_with_match(prefix: &[u8], len: u32, dist: u32) -> Vec<u8> {
    let mut b = Bits::default().put(1, 1).put(1, 2);
    for &x in prefix {
        b = fixed(b, u32::from(x));
    }
    if len > 0 {
        let (sym, extra, ebits) = length_code(len);
        b = fixed(b, sym).put(extra, ebits);
        let (dsym, dextra, dbits) = dist_code(dist);
        b = b.code(dsym, 5).put(dextra, dbits);
    }
    fixed(b, 256).done()
}

fn length_code(len: u32) -> (u32, u32, u32) {
    const BASE: [u32; 29] = [
        3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115,
        131, 163, 195, 227, 258,
    ];
    const EXTRA: [u32; 29] = [
        0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
    ];
    let i = BASE.iter().rposition(|&b| b <= len).unwrap();
    (257 + i as u32, len - BASE[i], EXTRA[i])
}

fn dist_code(dist: u32) -> (u32, u32, u32) {
    const BASE: [u32; 30] = [
        1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
        2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
    ];
    let i = BASE.iter().rposition(|&b| b <= dist).unwrap();
    (
        i as u32,
        dist - BASE[i],
        if i < 4 { 0 } else { i as u32 / 2 - 1 },
    )
}

/// A dynamic block header with the given HLIT/HDIST/HCLEN counts and precode lengths, then
/// `rest` raw bits appended by the caller.
fn dynamic_header(hlit: u32, hdist: u32, precode: &[u32]) -> Bits {
    // HCLEN counts at least 4 precode lengths: pad with zeros.
    let mut padded = precode.to_vec();
    padded.resize(precode.len().max(4), 0);
    let precode = &padded[..];
    let mut b = Bits::default()
        .put(1, 1)
        .put(2, 2)
        .put(hlit - 257, 5)
        .put(hdist - 1, 5)
        .put(precode.len() as u32 - 4, 4);
    for &l in precode {
        b = b.put(l, 3);
    }
    b
}

/// A stored block (final or not) holding `data`.
fn stored(data: &[u8], fin: bool) -> Vec<u8> {
    let n = data.len() as u16;
    Bits::default()
        .put(u32::from(fin), 1)
        .put(0, 2)
        .bytes(&n.to_le_bytes())
        .bytes(&(!n).to_le_bytes())
        .bytes(data)
        .done()
}

fn sha(data: &[u8]) -> String {
    let d: String = Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("ok:{d}:{}", data.len())
}

/// Deterministic pseudo-random bytes.
fn noise(seed: u64, n: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Text-like bytes with repeats (compressible, matches at many distances).
fn text(seed: u64, n: usize) -> Vec<u8> {
    let words = [
        "guest ",
        "page ",
        "migration ",
        "qemu ",
        "multifd ",
        "deflate ",
        "window ",
        "4096 ",
        "channel ",
        "packet ",
    ];
    let r = noise(seed, n);
    let mut out = Vec::new();
    let mut i = 0;
    while out.len() < n {
        out.extend_from_slice(words[usize::from(r[i % n]) % words.len()].as_bytes());
        i += 1;
    }
    out.truncate(n);
    out
}

struct Set {
    dir: PathBuf,
    vectors: Vec<serde_json::Value>,
    files: Vec<String>,
}

impl Set {
    /// Add a vector whose inputs are new data files; checks the native outcome first.
    fn add(&mut self, name: &str, op: &str, inputs: &[Vec<u8>], out_len: usize, expect: &str) {
        let mut paths = Vec::new();
        for (k, data) in inputs.iter().enumerate() {
            let p = if inputs.len() == 1 {
                format!("data/{name}.bin")
            } else {
                format!("data/{name}.{k}.bin")
            };
            std::fs::write(self.dir.join(&p), data).unwrap();
            paths.push(p);
        }
        self.push(name, op, paths, out_len, expect);
    }

    fn push(&mut self, name: &str, op: &str, paths: Vec<String>, out_len: usize, expect: &str) {
        let bytes: Vec<Vec<u8>> = paths.iter().map(|p| load(&self.dir, p)).collect();
        let refs: Vec<&[u8]> = bytes.iter().map(|b| b.as_slice()).collect();
        let got = run(op, &refs, out_len);
        let matches = if expect == "ok" {
            got.starts_with("ok:")
        } else {
            got == expect
        };
        assert!(
            matches,
            "vector {name}: expected {expect}, native gives {got}"
        );
        self.files.extend(paths.iter().cloned());
        self.vectors.push(json!({
            "name": name, "op": op, "inputs": paths, "out_len": out_len, "expect": got,
        }));
    }
}

fn shared() -> PathBuf {
    std::env::var_os("PAGEFLATE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"))
}

fn load(dir: &std::path::Path, path: &str) -> Vec<u8> {
    let file = match path.strip_prefix("shared:") {
        Some(rest) => shared().join(rest),
        None => dir.join(path),
    };
    let bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    if path.ends_with(".zst") {
        pageflate_conformance::vectors::unzstd(&bytes).unwrap()
    } else {
        bytes
    }
}

const K64: usize = 65536;

/// Hand-made edge cases: one line each.
fn hand_made(s: &mut Set) {
    let fin_fixed_empty = fixed(Bits::default().put(1, 1).put(1, 2), 256).done();
    let mut two_blocks = stored(b"", false);
    two_blocks.extend(&fin_fixed_empty);
    let long: Vec<u8> = noise(1, 4097);
    let mut far = stored(&long, false);
    // …then a fixed block copying 3 bytes from exactly 4096 / 4097 back.
    let tail = |dist: u32| {
        let (sym, e, eb) = length_code(3);
        let (d, de, db) = dist_code(dist);
        let b = Bits::default().put(1, 1).put(1, 2);
        fixed(fixed(b, sym).put(e, eb).code(d, 5).put(de, db), 256).done()
    };
    far.extend(tail(4096));
    let mut too_far = stored(&long, false);
    too_far.extend(tail(4097));

    // Inflate: every block type and boundary.
    s.add(
        "stored-empty-final",
        "inflate",
        &[stored(b"", true)],
        K64,
        "ok",
    );
    s.add(
        "stored-then-fixed-empty",
        "inflate",
        &[two_blocks],
        K64,
        "ok",
    );
    s.add(
        "fixed-empty",
        "inflate",
        &[fin_fixed_empty.clone()],
        K64,
        "ok",
    );
    s.add(
        "stored-65535",
        "inflate",
        &[stored(&noise(2, 65535), true)],
        K64,
        "ok",
    );
    s.add(
        "match-length-258",
        "inflate",
        &[fixed_with_match(b"a", 258, 1)],
        K64,
        "ok",
    );
    s.add(
        "distance-4096-strict",
        "inflate_strict",
        &[far.clone()],
        K64,
        "ok",
    );
    s.add(
        "distance-4097-standard",
        "inflate",
        &[too_far.clone()],
        K64,
        "ok",
    );
    s.add(
        "distance-4097-strict",
        "inflate_strict",
        &[too_far],
        K64,
        "err:DistanceBeyondWindow",
    );
    s.add(
        "trailing-garbage-ignored",
        "inflate",
        &[[fin_fixed_empty.clone(), vec![0xAB; 5]].concat()],
        K64,
        "ok",
    );
    // Inflate errors: one per kind.
    s.add(
        "empty-input",
        "inflate",
        &[vec![]],
        K64,
        "err:UnexpectedEof",
    );
    s.add(
        "eob-missing",
        "inflate",
        &[Bits::default()
            .put(1, 1)
            .put(1, 2)
            .put(0x30 + 0x41, 8)
            .done()],
        K64,
        "err:UnexpectedEof",
    );
    s.add(
        "block-type-3",
        "inflate",
        &[vec![0x07]],
        K64,
        "err:ReservedBlockType",
    );
    s.add(
        "stored-nlen-bad",
        "inflate",
        &[vec![0x01, 0x05, 0x00, 0x00, 0x00]],
        K64,
        "err:StoredLengthMismatch",
    );
    s.add(
        "hlit-287",
        "inflate",
        &[dynamic_header(287, 1, &[0; 4]).done()],
        K64,
        "err:TooManyLengthCodes",
    );
    s.add(
        "hdist-31",
        "inflate",
        &[dynamic_header(257, 31, &[0; 4]).done()],
        K64,
        "err:TooManyDistanceCodes",
    );
    s.add(
        "precode-oversubscribed",
        "inflate",
        &[dynamic_header(257, 1, &[1; 19]).done()],
        K64,
        "err:OversubscribedCode",
    );
    s.add(
        "precode-incomplete",
        "inflate",
        &[dynamic_header(257, 1, &[2, 2, 0, 2]).done()],
        K64,
        "err:IncompleteCode",
    );
    // Precode: symbols 16 and 17 get 1-bit codes; the first length is a repeat (16 = code 0).
    s.add(
        "repeat-without-previous",
        "inflate",
        &[dynamic_header(257, 1, &[1, 1]).put(0, 1).put(0, 2).done()],
        K64,
        "err:RepeatWithoutPrevious",
    );
    // 17 ("zeros", code 1) with 7 extra bits? 17 takes 3 bits: 3+7 = 10 zeros, 26 times = 260 > 258.
    s.add(
        "lengths-overflow",
        "inflate",
        &[{
            let mut b = dynamic_header(257, 1, &[1, 1]);
            for _ in 0..26 {
                b = b.put(1, 1).put(7, 3);
            }
            b.done()
        }],
        K64,
        "err:CodeLengthsOverflow",
    );
    s.add(
        "no-end-of-block-code",
        "inflate",
        &[missing_eob()],
        K64,
        "err:MissingEndOfBlock",
    );
    s.add(
        "fixed-symbol-286",
        "inflate",
        &[fixed(Bits::default().put(1, 1).put(1, 2), 286).done()],
        K64,
        "err:InvalidSymbol",
    );
    s.add(
        "distance-before-start",
        "inflate",
        &[fixed_with_match(b"", 3, 1)],
        K64,
        "err:DistanceTooFarBack",
    );
    s.add(
        "output-full",
        "inflate",
        &[fixed_with_match(b"ab", 10, 2)],
        5,
        "err:OutputFull",
    );
    s.add(
        "stream-output-full",
        "inflate_stream",
        &[fixed_with_match(b"ab", 258, 2)],
        100,
        "err:OutputFull",
    );
    s.add(
        "stream-eof",
        "inflate_stream",
        &[vec![0x00]],
        K64,
        "err:UnexpectedEof",
    );
    s.add(
        "page-short",
        "page",
        &[fixed_with_match(b"x", 99, 1)],
        4096,
        "err:PageSizeMismatch",
    );
    s.add("page-raw", "page", &[noise(3, 4096)], 4096, "ok");
    // Containers.
    let z = zlib_compress(&text(4, 3000), Level::Fast);
    let g = gzip_compress(&text(5, 3000), Level::Dense);
    let flip = |v: &[u8], at_from_end: usize| {
        let mut v = v.to_vec();
        let i = v.len() - at_from_end;
        v[i] ^= 1;
        v
    };
    s.add("zlib-ok", "zlib", &[z.clone()], K64, &sha(&text(4, 3000)));
    s.add(
        "zlib-bad-header",
        "zlib",
        &[vec![0x78, 0x00, 0x03, 0x00]],
        K64,
        "err:BadZlibHeader",
    );
    s.add(
        "zlib-dictionary",
        "zlib",
        &[vec![0x78, 0xBB, 0, 0, 0, 0, 0x03, 0x00]],
        K64,
        "err:ZlibDictionaryUnsupported",
    );
    s.add(
        "zlib-adler-bad",
        "zlib",
        &[flip(&z, 1)],
        K64,
        "err:Adler32Mismatch",
    );
    s.add(
        "zlib-trailing-ignored",
        "zlib",
        &[[z.clone(), vec![1, 2, 3]].concat()],
        K64,
        &sha(&text(4, 3000)),
    );
    s.add("gzip-ok", "gzip", &[g.clone()], K64, &sha(&text(5, 3000)));
    s.add(
        "gzip-bad-magic",
        "gzip",
        &[vec![0x1f, 0x8c, 8, 0, 0, 0, 0, 0, 0, 3, 3, 0]],
        K64,
        "err:BadGzipHeader",
    );
    s.add(
        "gzip-crc-bad",
        "gzip",
        &[flip(&g, 8)],
        K64,
        "err:Crc32Mismatch",
    );
    s.add(
        "gzip-size-bad",
        "gzip",
        &[flip(&g, 4)],
        K64,
        "err:SizeMismatch",
    );
    s.add(
        "gzip-trailing",
        "gzip",
        &[[g.clone(), vec![0x00, 0x01]].concat()],
        K64,
        "err:TrailingData",
    );
    // Longest codes: 15-bit literal codes from Fibonacci-shaped counts.
    let (stream, data) = fifteen_bit_codes();
    s.add("codes-15-bits", "inflate", &[stream], 1 << 17, &sha(&data));
}

/// A dynamic block whose literal/length code gives 256 no codeword.
fn missing_eob() -> Vec<u8> {
    // Precode: only symbol 1 ("length 1") … needs two symbols to be complete: 0 and 1, 1 bit each.
    // Order 16,17,18,0,8,7,9,6,10,5,11,4,12,3,13,2,14,1 — give 0 and 1 length 1.
    let mut pre = [0u32; 18];
    pre[3] = 1; // symbol 0
    pre[17] = 1; // symbol 1
    let mut b = dynamic_header(257, 1, &pre);
    // Literal/length lengths: symbols 0 and 1 get length 1, 2..=256 get 0; distance: 0.
    // Precode codes: symbol 0 → 0, symbol 1 → 1.
    b = b.code(1, 1).code(1, 1);
    for _ in 2..257 {
        b = b.code(0, 1);
    }
    b.code(0, 1).done()
}

/// A dynamic block with 15-bit codes, literals only: counts that double from symbol to
/// symbol make the optimal code a 17-deep path, which the length limit cuts to 15.
fn fifteen_bit_codes() -> (Vec<u8>, Vec<u8>) {
    let mut data = Vec::new();
    for k in 0..17u8 {
        data.extend(std::iter::repeat_n(b'A' + k, 1 << k));
    }
    let mut hist = Histogram::default();
    for &x in &data {
        hist.litlen[usize::from(x)] += 1;
    }
    let codes = BlockCodes::from_histogram(&hist);
    assert_eq!(codes.litlen.iter().max(), Some(&15), "want 15-bit codes");
    let (header, bits) = codes.header(true);
    let mut b = Bits::default();
    for i in 0..bits {
        b = b.put(u32::from(header[(i / 8) as usize] >> (i % 8) & 1), 1);
    }
    let (words, _) = codes.codewords();
    for &x in data.iter().chain(std::iter::once(&0)).take(data.len()) {
        b = b.code(
            u32::from(words[usize::from(x)]),
            u32::from(codes.litlen[usize::from(x)]),
        );
    }
    b = b.code(u32::from(words[256]), u32::from(codes.litlen[256]));
    (b.done(), data)
}

/// Encoder and miniz_oxide outputs over a range of inputs: each must decode to its input.
fn encoded(s: &mut Set) {
    let inputs: Vec<(String, Vec<u8>)> = vec![
        ("zeros-4096".into(), vec![0; 4096]),
        ("noise-4096".into(), noise(10, 4096)),
        ("text-4096".into(), text(11, 4096)),
        ("text-100000".into(), text(12, 100_000)),
        (
            "runs-5000".into(),
            (0..5000).map(|i| (i / 700) as u8).collect(),
        ),
        ("one-byte".into(), vec![42]),
    ];
    for (name, data) in &inputs {
        let expect = sha(data);
        let out_len = data.len().max(1);
        for (lname, level) in [("fast", Level::Fast), ("dense", Level::Dense)] {
            s.add(
                &format!("pageflate-{lname}-{name}"),
                "inflate_strict",
                &[deflate_to_vec(data, level)],
                out_len,
                &expect,
            );
        }
        for level in [0u8, 1, 6, 9] {
            let v = miniz_oxide::deflate::compress_to_vec(data, level);
            s.add(
                &format!("miniz-{level}-{name}"),
                "inflate",
                &[v.clone()],
                out_len,
                &expect,
            );
            s.add(
                &format!("miniz-{level}-{name}-stream"),
                "inflate_stream",
                &[v],
                out_len,
                &expect,
            );
        }
    }
}

/// multifd records and main streams, well-formed and broken one field at a time.
fn framing(s: &mut Set) {
    let init = ChannelInit {
        uuid: [7; 16],
        id: 1,
    }
    .to_bytes()
    .to_vec();
    s.add("init-ok", "init", &[init.clone()], 0, "ok");
    s.add(
        "init-short",
        "init",
        &[init[..40].to_vec()],
        0,
        "err:Truncated",
    );
    let mut w = ChannelWriter::new(Method::Qpl, 4096, Level::Fast);
    let pages = [text(20, 4096), noise(21, 4096), vec![0u8; 4096]];
    let out: Vec<OutPage<'_>> = pages
        .iter()
        .enumerate()
        .map(|(i, p)| OutPage {
            offset: (i as u64) * 4096,
            data: p,
        })
        .collect();
    let mut good = Vec::new();
    w.ram_packet(7, "pc.ram", &out, &[12288], &mut good);
    let set = |at: usize, v: &[u8]| {
        let mut p = good.clone();
        p[at..at + v.len()].copy_from_slice(v);
        p
    };
    s.add("packet-qpl-ok", "packet", &[good.clone()], 0, "ok");
    s.add(
        "payload-qpl-ok",
        "payload",
        &[good.clone()],
        0,
        &sha(&pages.concat()),
    );
    s.add(
        "packet-truncated",
        "packet",
        &[good[..good.len() - 1].to_vec()],
        0,
        "err:Truncated",
    );
    s.add(
        "packet-bad-magic",
        "packet",
        &[set(0, &[0x11, 0x22, 0x33, 0x45])],
        0,
        "err:BadMagic",
    );
    s.add(
        "packet-bad-version",
        "packet",
        &[set(4, &[0, 0, 0, 2])],
        0,
        "err:BadVersion",
    );
    s.add(
        "packet-unknown-flags",
        "packet",
        &[set(8, &[0, 0, 0, 0x88])],
        0,
        "err:UnknownFlags",
    );
    s.add(
        "packet-pages-alloc-129",
        "packet",
        &[set(12, &129u32.to_be_bytes())],
        0,
        "err:BadPageCount",
    );
    s.add(
        "packet-unaligned-offset",
        "packet",
        &[set(320, &100u64.to_be_bytes())],
        0,
        "err:BadOffset",
    );
    s.add(
        "packet-bad-block-name",
        "packet",
        &[set(64, &[0xff; 256])],
        0,
        "err:BadBlockName",
    );
    // qpl framing: a page length of 0, and lengths that do not add up to the payload.
    s.add(
        "packet-qpl-page-length-0",
        "packet",
        &[set(1344, &[0, 0, 0, 0])],
        0,
        "err:BadPageLength",
    );
    let mut longer = good.clone();
    longer[20..24].copy_from_slice(
        &(u32::from_be_bytes([good[20], good[21], good[22], good[23]]) + 1).to_be_bytes(),
    );
    longer.push(0);
    s.add(
        "packet-qpl-payload-length",
        "packet",
        &[longer],
        0,
        "err:BadPayloadLength",
    );
    // Payload decoding errors.
    let mut bad_page = good.clone();
    let first_len = u32::from_be_bytes([good[1344], good[1345], good[1346], good[1347]]) as usize;
    let data_at = 1344 + 12;
    bad_page[data_at..data_at + first_len.min(8)].fill(0xff);
    s.add(
        "payload-qpl-bad-deflate",
        "payload",
        &[bad_page],
        0,
        "err:Page/Inflate/ReservedBlockType",
    );
    let mut z = ChannelWriter::new(Method::Zlib, 4096, Level::Fast);
    let mut zp = Vec::new();
    z.ram_packet(1, "pc.ram", &out[..1], &[], &mut zp);
    s.add(
        "payload-zlib-ok",
        "payload",
        &[zp.clone()],
        0,
        &sha(&pages[0]),
    );
    let mut zshort = zp.clone();
    zshort.truncate(zshort.len() - 10);
    let n = (zshort.len() - 1344) as u32;
    zshort[20..24].copy_from_slice(&n.to_be_bytes());
    s.add(
        "payload-zlib-short",
        "payload",
        &[zshort],
        0,
        "err:Page/ShortStream",
    );
    let mut zstd = zp.clone();
    zstd[11] = 0x04; // method bits: zstd
    s.add(
        "payload-zstd-per-packet",
        "payload",
        &[zstd],
        0,
        "err:Page/Unsupported",
    );

    // Main streams.
    let mut m = Vec::new();
    emit::write_header(&mut m);
    emit::write_configuration("pc-q35-10.0", &mut m);
    emit::write_ram_setup(&[("pc.ram", 1 << 20)], &mut m);
    emit::write_ram_flush(&mut m);
    emit::write_ram_end(&mut m);
    emit::write_eof(&mut m);
    let setup_at = 8 + 1 + 4 + 11; // header, config record, "pc-q35-10.0"
    let mset = |at: usize, v: &[u8]| {
        let mut x = m.clone();
        x[at..at + v.len()].copy_from_slice(v);
        x
    };
    s.add("main-ok", "main_stream", &[m.clone()], 0, "ok");
    s.add(
        "main-truncated",
        "main_stream",
        &[m[..m.len() - 1].to_vec()],
        0,
        "err:Truncated",
    );
    s.add(
        "main-bad-magic",
        "main_stream",
        &[mset(0, b"QEVN")],
        0,
        "err:BadMagic",
    );
    s.add(
        "main-bad-version",
        "main_stream",
        &[mset(4, &[0, 0, 0, 2])],
        0,
        "err:BadVersion",
    );
    s.add(
        "main-unknown-record",
        "main_stream",
        &[mset(setup_at, &[0x09])],
        0,
        "err:UnknownRecord",
    );
    s.add(
        "main-unknown-section",
        "main_stream",
        &[{
            let mut x = m[..setup_at].to_vec();
            x.extend([0x02, 0, 0, 0, 9]);
            x
        }],
        0,
        "err:UnknownSection",
    );
    let footer_at = m.iter().position(|&b| b == 0x7e).unwrap();
    s.add(
        "main-bad-footer",
        "main_stream",
        &[mset(footer_at + 4, &[5])],
        0,
        "err:BadFooter",
    );
    let items_at = setup_at + 1 + 4 + 1 + 3 + 4 + 4;
    s.add(
        "main-bad-ram-item",
        "main_stream",
        &[mset(items_at, &0x0000_0000_0000_0001u64.to_be_bytes())],
        0,
        "err:BadRamItem",
    );
    let mut unknown_block = m[..m.len() - 1 - 18 - 26].to_vec(); // before flush, end and EOF
    unknown_block.extend([0x02, 0, 0, 0, 0]);
    unknown_block.extend(0x02u64.to_be_bytes()); // ZERO at offset 0
    unknown_block.extend([6]);
    unknown_block.extend(b"xx.ram");
    unknown_block.push(0);
    s.add(
        "main-unknown-block",
        "main_stream",
        &[unknown_block],
        0,
        "err:UnknownBlock",
    );
    let mut sub = m[..setup_at].to_vec();
    sub.extend([0x05, 3]);
    sub.extend(b"abc");
    sub.extend([0, 0, 0, 1]);
    s.add(
        "main-unknown-subsection",
        "main_stream",
        &[sub],
        0,
        "err:UnknownSubsection",
    );
    s.add(
        "main-bad-name",
        "main_stream",
        &[mset(13, &[0xff])],
        0,
        "err:BadName",
    );
    let mut vmdesc = m.clone();
    vmdesc.push(0x06);
    vmdesc.extend(3u32.to_be_bytes());
    vmdesc.extend(b"{x}");
    s.add(
        "main-bad-vmdesc",
        "main_stream",
        &[vmdesc],
        0,
        "err:BadVmDescription",
    );
    let mut mapped = Vec::new();
    emit::write_header(&mut mapped);
    mapped.push(0x07);
    mapped.extend(11u32.to_be_bytes());
    mapped.extend(b"pc-q35-10.0");
    mapped.push(0x05);
    mapped.push(26);
    mapped.extend(b"configuration/capabilities");
    mapped.extend(1u32.to_be_bytes());
    mapped.extend(1u32.to_be_bytes());
    mapped.push(10);
    mapped.extend(b"mapped-ram");
    let mut tail = Vec::new();
    emit::write_ram_setup(&[("pc.ram", 1 << 20)], &mut tail);
    // The block list entry is followed by a MappedRamHeader: version 9 is refused.
    let at = 1 + 4 + 1 + 3 + 4 + 4 + 8 + 1 + 6 + 8;
    mapped.extend(&tail[..at]);
    mapped.extend(9u32.to_be_bytes());
    mapped.extend([0u8; 24]);
    s.add(
        "main-bad-mapped-ram",
        "main_stream",
        &[mapped],
        0,
        "err:BadMappedRam",
    );

    // Whole captures made of these pieces: the capture-level errors.
    let mut ch = init.clone();
    ch[24] = 0;
    let ch0 = [ch.clone(), good.clone()].concat();
    s.add("capture-ok", "capture", &[m.clone(), ch0.clone()], 0, "ok");
    s.add(
        "capture-ram",
        "ram",
        &[m.clone(), ch0.clone()],
        1 << 30,
        "ok",
    );
    s.add(
        "capture-unknown-stream",
        "capture",
        &[m.clone(), b"GET / HTTP/1.1\r\n".to_vec()],
        0,
        "err:UnknownStream",
    );
    s.add(
        "capture-two-mains",
        "capture",
        &[m.clone(), m.clone()],
        0,
        "err:DuplicateChannel",
    );
    s.add(
        "capture-no-main",
        "capture",
        &[ch0.clone()],
        0,
        "err:MissingMainChannel",
    );
    s.add(
        "capture-too-large",
        "ram",
        &[m.clone(), ch0.clone()],
        4096,
        "err:TooLarge",
    );
    s.add(
        "capture-bad-main",
        "capture",
        &[mset(4, &[0, 0, 0, 2]), ch0.clone()],
        0,
        "err:Main/BadVersion",
    );
    let mut other_id = ch0.clone();
    other_id[24] = 3;
    s.add(
        "capture-channel-id",
        "capture",
        &[m.clone(), ch0.clone(), other_id],
        0,
        "err:Multifd/BadChannelId",
    );
    let mut other_uuid = ch0.clone();
    other_uuid[24] = 1;
    other_uuid[8] ^= 1;
    s.add(
        "capture-uuid-mismatch",
        "capture",
        &[m.clone(), ch0.clone(), other_uuid],
        0,
        "err:Multifd/UuidMismatch",
    );
    let mut outside = Vec::new();
    emit::write_header(&mut outside);
    emit::write_configuration("pc-q35-10.0", &mut outside);
    emit::write_ram_setup(&[("pc.ram", 8192)], &mut outside);
    emit::write_ram_end(&mut outside);
    emit::write_eof(&mut outside);
    s.add(
        "capture-page-outside-block",
        "ram",
        &[outside, ch0.clone()],
        1 << 30,
        "err:Multifd/BadOffset",
    );
    s.add(
        "capture-main-page-out-of-range",
        "main_page",
        &[m.clone(), ch0.clone()],
        99,
        "err:Page/OutsideBlock",
    );
    let bad_deflate = {
        let mut c = ch0.clone();
        let at = init.len() + data_at;
        c[at..at + 8].fill(0xff);
        c
    };
    s.add(
        "capture-ram-bad-page",
        "ram",
        &[m.clone(), bad_deflate],
        1 << 30,
        "err:Page/Inflate/ReservedBlockType",
    );
    let mut xb = Vec::new();
    emit::write_header(&mut xb);
    emit::write_configuration("pc-q35-10.0", &mut xb);
    emit::write_ram_setup(&[("pc.ram", 8192)], &mut xb);
    xb.extend([0x02, 0, 0, 0, 0]);
    xb.extend((0x40u64).to_be_bytes()); // XBZRLE at offset 0
    xb.push(6);
    xb.extend(b"pc.ram");
    xb.push(1);
    xb.extend(3u16.to_be_bytes());
    xb.extend([0x80, 0x80, 0x80]); // an unterminated run length
    xb.extend(0x10u64.to_be_bytes());
    xb.extend([0x7e, 0, 0, 0, 0]);
    emit::write_eof(&mut xb);
    s.add(
        "capture-bad-xbzrle",
        "ram",
        &[xb],
        1 << 30,
        "err:Page/BadXbzrle",
    );
    let zstd_garbage = {
        let mut c = ch.clone();
        let mut zw = ChannelWriter::new(Method::None, 4096, Level::Fast);
        let mut p = Vec::new();
        zw.ram_packet(1, "pc.ram", &out[..1], &[], &mut p);
        p[11] = 0x04; // zstd, payload = the raw page: not a zstd frame
        c.extend(p);
        c
    };
    s.add(
        "capture-ram-bad-zstd",
        "ram",
        &[m.clone(), zstd_garbage],
        1 << 30,
        "err:Page/Zstd",
    );
}

/// Every real capture: its statistics and its rebuilt RAM.
fn captures(s: &mut Set) {
    let mut names: Vec<String> = std::fs::read_dir(shared().join("captures"))
        .expect("../shared/captures")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("manifest.json").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in names {
        let mut files: Vec<String> = std::fs::read_dir(shared().join("captures").join(&name))
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|f| f.starts_with("conn-"))
            .map(|f| format!("shared:captures/{name}/{f}"))
            .collect();
        files.sort();
        s.push(
            &format!("capture-{name}"),
            "capture",
            files.clone(),
            0,
            "ok",
        );
        s.push(&format!("ram-{name}"), "ram", files, 1 << 30, "ok");
    }
}

fn main() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("vectors");
    let _ = std::fs::remove_dir_all(dir.join("data"));
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let mut s = Set {
        dir: dir.clone(),
        vectors: Vec::new(),
        files: Vec::new(),
    };
    hand_made(&mut s);
    encoded(&mut s);
    framing(&mut s);
    captures(&mut s);
    s.files.sort();
    s.files.dedup();
    let manifest = json!({
        "about": "pageflate conformance vectors: every target must give `expect` for each (see tests/src/vectors.rs); regenerate with `cargo run -p pageflate-conformance --example generate_vectors`",
        "vectors": s.vectors,
    });
    std::fs::write(dir.join("manifest.json"), format!("{manifest:#}\n")).unwrap();
    std::fs::write(dir.join("files.txt"), s.files.join("\n") + "\n").unwrap();
    eprintln!("{} vectors, {} files", s.vectors.len(), s.files.len());
}
