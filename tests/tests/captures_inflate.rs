//! The core inflater against real QEMU 10.0.2 captures: every compressed page of the qpl
//! captures (decoded page by page, also in strict 4 KiB mode) and the whole zlib channel
//! streams of the zlib capture equal the guest's RAM snapshot at those pages.
//!
//! Only enough of the multifd format is parsed here to find the payloads; the format
//! proper lives in `pageflate_core::multifd`.

use pageflate_conformance::shared;
use pageflate_core::container::ZlibDecoder;
use pageflate_core::page::{decompress_page, PAGE_SIZE};
use pageflate_core::{Decompressor, InflateOptions, StreamStatus};

const INIT_LEN: usize = 64;
const HEADER_LEN: usize = 320 + 8 * 128;
const FLAG_SYNC: u32 = 1;
const METHOD_MASK: u32 = 0x3e;
/// pmemsave reads the VGA window here, not the RAM beneath (captures/README.md).
const VGA_WINDOW: std::ops::Range<u64> = 0xA0000..0xC0000;

struct Packet<'a> {
    flags: u32,
    packet_num: u64,
    normal: usize,
    block: &'a str,
    offsets: Vec<u64>,
    payload: &'a [u8],
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().unwrap())
}

/// Split one multifd channel stream into packets (test-only parser, panics on bad data).
fn packets(stream: &[u8]) -> Vec<Packet<'_>> {
    assert_eq!(be32(stream, 0), 0x1122_3344, "multifd init magic");
    let mut pos = INIT_LEN;
    let mut out = Vec::new();
    while pos < stream.len() {
        let h = &stream[pos..pos + HEADER_LEN];
        assert_eq!(be32(h, 0), 0x1122_3344, "packet magic at {pos}");
        let flags = be32(h, 8);
        let normal = be32(h, 16) as usize;
        let size = be32(h, 20) as usize;
        let zero = be32(h, 32) as usize;
        let packet_num = u64::from_be_bytes(h[24..32].try_into().unwrap());
        let name_end = h[64..320].iter().position(|&b| b == 0).unwrap_or(256);
        let block = std::str::from_utf8(&h[64..64 + name_end]).unwrap();
        let offsets = (0..normal + zero)
            .map(|i| u64::from_be_bytes(h[320 + 8 * i..328 + 8 * i].try_into().unwrap()))
            .collect();
        let payload = &stream[pos + HEADER_LEN..pos + HEADER_LEN + size];
        out.push(Packet {
            flags,
            packet_num,
            normal,
            block,
            offsets,
            payload,
        });
        pos += HEADER_LEN + size;
    }
    out
}

/// Multifd channel files of a capture (every conn file but the main channel, conn-0).
fn channel_streams(capture: &str) -> Vec<Vec<u8>> {
    let dir = shared::dir().join("captures").join(capture);
    let mut streams = Vec::new();
    for k in 1.. {
        let name = format!("conn-{k}.bin.zst");
        if !dir.join(&name).exists() {
            break;
        }
        streams.push(shared::read_zst(&format!("captures/{capture}/{name}")));
    }
    assert!(!streams.is_empty(), "{capture}: no multifd channel files");
    streams
}

fn ram(capture: &str) -> Vec<u8> {
    shared::read_zst(&format!("captures/{capture}/ram.bin.zst"))
}

/// Compare a decoded pc.ram page with the snapshot; returns whether it was checked.
fn check_page(ram: &[u8], block: &str, offset: u64, page: &[u8], what: &str) -> bool {
    if block != "pc.ram" || VGA_WINDOW.contains(&offset) {
        return false;
    }
    let at = offset as usize;
    assert!(
        ram[at..at + PAGE_SIZE] == *page,
        "{what}: pc.ram page 0x{offset:x} differs from the snapshot"
    );
    true
}

fn qpl_capture_pages_decode(capture: &str, expected_deflate_pages: usize) {
    let ram = ram(capture);
    let mut decompressor = Decompressor::new();
    let mut page = [0u8; PAGE_SIZE];
    let mut strict = [0u8; PAGE_SIZE];
    let (mut deflate_pages, mut raw_pages, mut checked) = (0, 0, 0);
    // Live captures re-send pages: only the last copy in packet_num order must match. Keep
    // the last decoded copy of each pc.ram page and compare those.
    let mut last: std::collections::HashMap<u64, (u64, [u8; PAGE_SIZE])> = Default::default();
    for stream in channel_streams(capture) {
        for p in packets(&stream) {
            if p.flags & FLAG_SYNC != 0 {
                continue;
            }
            assert_eq!(p.flags & METHOD_MASK, 0x08, "{capture}: qpl flag");
            let lens: Vec<usize> = (0..p.normal)
                .map(|i| be32(p.payload, 4 * i) as usize)
                .collect();
            let mut at = 4 * p.normal;
            let packet_num = p.packet_num;
            for (i, &len) in lens.iter().enumerate() {
                let data = &p.payload[at..at + len];
                at += len;
                decompress_page(&mut decompressor, data, &mut page, InflateOptions::STANDARD)
                    .unwrap_or_else(|e| panic!("{capture}: page {i} of a packet: {e}"));
                if len == PAGE_SIZE {
                    raw_pages += 1;
                } else {
                    deflate_pages += 1;
                    decompress_page(
                        &mut decompressor,
                        data,
                        &mut strict,
                        InflateOptions::STRICT_4K,
                    )
                    .unwrap_or_else(|e| panic!("{capture}: strict 4 KiB decode: {e}"));
                    assert_eq!(page, strict);
                }
                if p.block == "pc.ram" {
                    let e = last.entry(p.offsets[i]).or_insert((0, [0; PAGE_SIZE]));
                    if packet_num >= e.0 {
                        *e = (packet_num, page);
                    }
                }
            }
            assert_eq!(at, p.payload.len(), "{capture}: qpl payload length");
            if p.block == "pc.ram" {
                for &offset in &p.offsets[p.normal..] {
                    let e = last.entry(offset).or_insert((0, [0; PAGE_SIZE]));
                    if p.packet_num >= e.0 {
                        *e = (p.packet_num, [0; PAGE_SIZE]);
                    }
                }
            }
        }
    }
    for (offset, (_, page)) in &last {
        if check_page(&ram, "pc.ram", *offset, page, capture) {
            checked += 1;
        }
    }
    assert_eq!(
        deflate_pages, expected_deflate_pages,
        "{capture}: deflate pages"
    );
    assert!(
        raw_pages > 0 && checked > 4000,
        "{capture}: {raw_pages} raw, {checked} checked"
    );
    eprintln!("{capture}: {deflate_pages} deflate + {raw_pages} raw pages decoded, {checked} pc.ram pages equal the snapshot");
}

#[test]
fn qpl_2ch_every_page_decodes_to_the_snapshot() {
    qpl_capture_pages_decode("qpl-2ch", 4159);
}

#[test]
fn qpl_2ch_live_every_page_decodes_to_the_snapshot() {
    qpl_capture_pages_decode("qpl-2ch-live", 4319);
}

#[test]
fn zlib_2ch_channel_streams_decode_to_the_snapshot() {
    let ram = ram("zlib-2ch");
    let mut checked = 0;
    for stream in channel_streams("zlib-2ch") {
        let mut decoder = ZlibDecoder::new(InflateOptions::STANDARD);
        for p in packets(&stream) {
            if p.normal == 0 {
                continue;
            }
            assert_eq!(p.flags & METHOD_MASK, 0x02, "zlib flag");
            let mut pages = vec![0u8; p.normal * PAGE_SIZE];
            let r = decoder
                .decode(p.payload, &mut pages)
                .expect("zlib packet decodes");
            // Each packet ends with a sync flush: all its input yields all its pages.
            assert_eq!((r.consumed, r.written), (p.payload.len(), pages.len()));
            assert_eq!(r.status, StreamStatus::NeedsInput);
            for (i, page) in pages.chunks(PAGE_SIZE).enumerate() {
                if check_page(&ram, p.block, p.offsets[i], page, "zlib-2ch") {
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 4000, "only {checked} pages checked");
    eprintln!("zlib-2ch: {checked} pc.ram pages equal the snapshot");
}
