//! The conformance vectors: what each operation is and how its outcome is written, so that
//! native code, Node and Chromium can compare one line of text per vector.
//!
//! An outcome is `ok:<sha256>:<len>` (the digest and length of what the operation produced
//! — decoded bytes, or a canonical description of what was parsed) or `err:<Kind>` (the
//! exact error kind the core returned). Everything here is plain `core`/`alloc` work, so
//! the same function runs on every target.

use pageflate_core::capture::{Capture, CaptureError, PageErrorKind};
use pageflate_core::container::{gzip_decompress, zlib_decompress};
use pageflate_core::migration::parse_main_stream;
use pageflate_core::multifd::{parse_packet, ChannelInit, Packet, QplPages};
use pageflate_core::page::decompress_page;
use pageflate_core::{Decompressor, InflateOptions, Inflater, StreamStatus};
use sha2::{Digest, Sha256};

/// The operations a vector can ask for.
pub const OPS: &[&str] = &[
    "inflate",
    "inflate_strict",
    "inflate_stream",
    "zlib",
    "gzip",
    "page",
    "init",
    "packet",
    "payload",
    "main_stream",
    "capture",
    "ram",
    "main_page",
];

fn ok(bytes: &[u8]) -> String {
    let d: String = Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("ok:{d}:{}", bytes.len())
}

fn err(kind: impl core::fmt::Debug) -> String {
    // The variant name only: "BadMagic", not its fields.
    let s = format!("{kind:?}");
    let end = s.find([' ', '(', '{']).unwrap_or(s.len());
    format!("err:{}", &s[..end])
}

/// Run operation `op` on `inputs` with output buffer size `out_len` (for the decoders), RAM
/// limit (for `ram`) or page index (for `main_page`). Returns the outcome line.
pub fn run(op: &str, inputs: &[&[u8]], out_len: usize) -> String {
    let first = inputs.first().copied().unwrap_or(&[]);
    match op {
        "inflate" | "inflate_strict" => {
            let options = if op == "inflate" {
                InflateOptions::STANDARD
            } else {
                InflateOptions::STRICT_4K
            };
            let mut out = alloc_out(out_len);
            match Decompressor::new().inflate(first, &mut out, options) {
                Ok(r) => ok(&out[..r.written]),
                Err(e) => err(e.kind),
            }
        }
        "inflate_stream" => inflate_stream(first, out_len),
        "zlib" | "gzip" => {
            let mut out = alloc_out(out_len);
            let r = if op == "zlib" {
                zlib_decompress(first, &mut out, InflateOptions::STANDARD)
            } else {
                gzip_decompress(first, &mut out, InflateOptions::STANDARD)
            };
            match r {
                Ok(r) => ok(&out[..r.written]),
                Err(e) => err(e.kind),
            }
        }
        "page" => {
            let mut out = alloc_out(out_len);
            match decompress_page(
                &mut Decompressor::new(),
                first,
                &mut out,
                InflateOptions::STANDARD,
            ) {
                Ok(()) => ok(&out),
                Err(e) => err(e.kind),
            }
        }
        "init" => match ChannelInit::parse(first) {
            Ok(i) => ok(format!("{i:?}").as_bytes()),
            Err(e) => err(e.kind),
        },
        "packet" => match parse_packet(first, 0, 4096) {
            Ok(Packet::Ram(r)) if r.method().name() == "qpl" || r.method().name() == "uadk" => {
                match QplPages::parse(r) {
                    Ok(pages) => {
                        let lens: alloc::vec::Vec<usize> =
                            pages.iter().map(|p| p.data.len()).collect();
                        ok(format!("{r:?} {lens:?}").as_bytes())
                    }
                    Err(e) => err(e.kind),
                }
            }
            Ok(p) => ok(format!("{p:?}").as_bytes()),
            Err(e) => err(e.kind),
        },
        "payload" => match parse_packet(first, 0, 4096) {
            Ok(Packet::Ram(r)) => {
                match pageflate_core::capture::PayloadDecoder::new(4096).decode(&r) {
                    Ok(pages) => ok(&pages),
                    Err(PageErrorKind::Inflate(i)) => format!("err:Page/Inflate/{:?}", i.kind),
                    Err(e) => format!("err:Page/{}", &err(e)[4..]),
                }
            }
            Ok(p) => ok(format!("{p:?}").as_bytes()),
            Err(e) => err(e.kind),
        },
        "main_stream" => match parse_main_stream(first, 4096) {
            Ok(m) => ok(format!("{m:?}").as_bytes()),
            Err(e) => err(e.kind),
        },
        "capture" => match Capture::open(inputs, 4096) {
            Ok(c) => {
                let mut desc = format!("{:?} {:?} {:?}", c.kind, c.method(), c.main.blocks);
                for ch in &c.channels {
                    desc.push_str(&format!(" {:?}", c.channel_stats(ch)));
                }
                ok(desc.as_bytes())
            }
            Err(e) => capture_err(e),
        },
        "ram" => {
            match Capture::open(inputs, 4096).and_then(|c| c.reconstruct_ram(out_len as u64)) {
                Ok(blocks) => {
                    let mut h = Sha256::new();
                    for (name, data) in &blocks {
                        h.update(name.as_bytes());
                        h.update(Sha256::digest(data));
                    }
                    let total: usize = blocks.iter().map(|b| b.1.len()).sum();
                    let d: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
                    format!("ok:{d}:{total}")
                }
                Err(e) => capture_err(e),
            }
        }
        "main_page" => match Capture::open(inputs, 4096).and_then(|c| {
            c.decode_page(&pageflate_core::capture::PageSource::Main { index: out_len })
        }) {
            Ok(page) => ok(&page),
            Err(e) => capture_err(e),
        },
        other => format!("err:UnknownOperation({other})"),
    }
}

/// Capture errors name their variant and, inside it, the kind that caused it.
fn capture_err(e: CaptureError) -> String {
    match e {
        CaptureError::Main(m) => format!("err:Main/{:?}", m.kind),
        CaptureError::Multifd { error, .. } => format!("err:Multifd/{:?}", error.kind),
        CaptureError::Page { error, .. } => match error {
            PageErrorKind::Inflate(i) => format!("err:Page/Inflate/{:?}", i.kind),
            other => format!("err:Page/{}", &err(other)[4..]),
        },
        other => err(other),
    }
}

fn alloc_out(n: usize) -> alloc::vec::Vec<u8> {
    alloc::vec![0u8; n.min(64 << 20)]
}

/// The resumable decoder fed 7 bytes at a time with 100-byte output pieces: it must give
/// exactly what the whole-buffer decoder gives.
fn inflate_stream(input: &[u8], out_len: usize) -> String {
    let mut inf = Inflater::new(InflateOptions::STANDARD);
    let mut out = alloc::vec::Vec::new();
    let mut piece = [0u8; 100];
    let mut pos = 0;
    loop {
        let end = (pos + 7).min(input.len());
        match inf.inflate(&input[pos..end], &mut piece) {
            Ok(p) => {
                pos += p.consumed;
                out.extend_from_slice(&piece[..p.written]);
                if out.len() > out_len {
                    return "err:OutputFull".into();
                }
                match p.status {
                    StreamStatus::Done => return ok(&out),
                    StreamStatus::NeedsInput if end == input.len() => {
                        return "err:UnexpectedEof".into()
                    }
                    _ => {}
                }
            }
            Err(e) => return err(e.kind),
        }
    }
}

/// Decode a zstd file (capture files are stored as `conn-K.bin.zst`).
pub fn unzstd(data: &[u8]) -> Result<alloc::vec::Vec<u8>, alloc::string::String> {
    use std::io::Read;
    let mut dec = ruzstd::decoding::StreamingDecoder::new(data).map_err(|e| format!("{e}"))?;
    let mut out = alloc::vec::Vec::new();
    dec.read_to_end(&mut out).map_err(|e| format!("{e}"))?;
    Ok(out)
}
