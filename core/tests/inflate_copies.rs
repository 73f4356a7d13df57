//! The decoder's match copies, one case at a time: every distance 1..=40 with lengths
//! 3..=258, placed so a match ends far from the output's end (the fast loop's chunked,
//! overshooting copies), and so it ends exactly at the output's end (the exact copies of
//! the careful loop). Each stream is written here with the fixed Huffman code and checked
//! against a byte-by-byte reference.

use pageflate_core::{Decompressor, InflateOptions};

const LENGTH_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LENGTH_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DIST_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];

/// LSB-first bit writer.
#[derive(Default)]
struct Bits {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl Bits {
    fn put(&mut self, value: u32, n: u32) {
        self.acc |= u64::from(value) << self.n;
        self.n += n;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }
    /// A Huffman codeword: most significant bit first.
    fn code(&mut self, code: u32, len: u32) {
        self.put(code.reverse_bits() >> (32 - len), len);
    }
    fn litlen(&mut self, sym: u32) {
        match sym {
            0..=143 => self.code(0x30 + sym, 8),
            144..=255 => self.code(0x190 + sym - 144, 9),
            256..=279 => self.code(sym - 256, 7),
            _ => self.code(0xc0 + sym - 280, 8),
        }
    }
    fn matched(&mut self, length: usize, distance: usize) {
        let l = LENGTH_BASE
            .iter()
            .rposition(|&b| b as usize <= length)
            .unwrap();
        let l = if length == 258 { 28 } else { l.min(27) };
        self.litlen(257 + l as u32);
        self.put(
            (length - LENGTH_BASE[l] as usize) as u32,
            LENGTH_EXTRA[l].into(),
        );
        let d = DIST_BASE
            .iter()
            .rposition(|&b| b as usize <= distance)
            .unwrap();
        self.code(d as u32, 5);
        self.put(
            (distance - DIST_BASE[d] as usize) as u32,
            DIST_EXTRA[d].into(),
        );
    }
    fn finish(mut self) -> Vec<u8> {
        self.litlen(256);
        if self.n > 0 {
            self.out.push(self.acc as u8);
        }
        self.out
    }
}

/// A fixed block: `prefix` as literals, one match, `suffix` literal bytes; and the bytes it
/// decodes to, computed one byte at a time.
fn stream(prefix: &[u8], length: usize, distance: usize, suffix: usize) -> (Vec<u8>, Vec<u8>) {
    let mut w = Bits::default();
    w.put(0b011, 3); // final, fixed
    let mut expect = prefix.to_vec();
    for &b in prefix {
        w.litlen(b.into());
    }
    w.matched(length, distance);
    for _ in 0..length {
        expect.push(expect[expect.len() - distance]);
    }
    for i in 0..suffix {
        let b = (i * 7 + 200) as u8;
        w.litlen(b.into());
        expect.push(b);
    }
    (w.finish(), expect)
}

#[test]
fn every_short_distance_and_length_copies_like_the_byte_loop() {
    let prefix: Vec<u8> = (0..64u32).map(|i| (i * 151 + 17) as u8).collect();
    let mut d = Decompressor::new();
    let mut cases = 0;
    for distance in 1..=40 {
        for length in (3..=258).filter(|l| *l < 40 || l % 7 == 0 || *l == 258) {
            // suffix 0: the match ends the output (exact copy at the end); 40: it is followed
            // by literals; both with an output buffer of exactly the decoded size.
            for suffix in [0, 40] {
                let (data, expect) = stream(&prefix, length, distance, suffix);
                let mut out = vec![0u8; expect.len()];
                let r = d
                    .inflate(&data, &mut out, InflateOptions::STANDARD)
                    .unwrap();
                assert_eq!(r.written, expect.len());
                assert!(
                    out == expect,
                    "distance {distance} length {length} suffix {suffix}"
                );
                // A roomy buffer: the fast loop's overshooting copies run everywhere.
                let mut roomy = vec![0xeeu8; expect.len() + 300];
                let r = d
                    .inflate(&data, &mut roomy, InflateOptions::STANDARD)
                    .unwrap();
                assert_eq!(&roomy[..r.written], &expect[..]);
                cases += 1;
            }
        }
    }
    assert!(cases > 5000);
}

/// The end of the input goes through a zero-padded copy of its last bytes; a stream cut
/// anywhere must still fail as truncated, never decode the padding as data.
#[test]
fn every_truncation_of_a_page_stream_is_unexpected_eof() {
    use pageflate_core::deflate::{Compressor, Level};
    use pageflate_core::page::{compress_page, PageEncoding};
    use pageflate_core::InflateErrorKind;
    let page: Vec<u8> = (0..4096u32)
        .map(|i| {
            if i % 512 < 300 {
                (i / 7) as u8
            } else {
                (i.wrapping_mul(2654435761) >> 24) as u8
            }
        })
        .collect();
    let mut streams = Vec::new();
    for level in [Level::Fast, Level::Dense] {
        let mut out = vec![0u8; 4096];
        match compress_page(&mut Compressor::new(level), &page, &mut out) {
            PageEncoding::Compressed(n) => streams.push(out[..n].to_vec()),
            PageEncoding::Raw => panic!("test page must compress"),
        }
    }
    // And a fixed block (QPL's format), as the copy test writes it.
    let prefix: Vec<u8> = (0..200u32).map(|i| (i * 151 + 17) as u8).collect();
    let (fixed, expect) = stream(&prefix, 100, 3, 60);
    streams.push(fixed);
    let mut d = Decompressor::new();
    for (s, data) in streams.iter().enumerate() {
        let size = if s < 2 { 4096 } else { expect.len() };
        let mut out = vec![0u8; size];
        let whole = d.inflate(data, &mut out, InflateOptions::STANDARD).unwrap();
        assert_eq!(whole.written, size);
        for cut in 0..data.len() {
            // The final byte may hold only padding bits after the end-of-block code.
            if cut == data.len() - 1
                && d.inflate(&data[..cut], &mut out, InflateOptions::STANDARD)
                    .is_ok()
            {
                continue;
            }
            let err = d
                .inflate(&data[..cut], &mut out, InflateOptions::STANDARD)
                .expect_err("a truncated stream decoded");
            assert_eq!(
                err.kind,
                InflateErrorKind::UnexpectedEof,
                "stream {s} cut at {cut}"
            );
        }
    }
}
