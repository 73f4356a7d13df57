//! AECS (Analytics Engine Configuration and State) layouts, iaa.md §5, and the statistics
//! histogram of IAA 1.0's dynamic-Huffman pass (§5.3).
//!
//! The compress AECS carries the Huffman tables the engine encodes with (entries from
//! [`pageflate_core::huffman::aecs_entry`]: length in bits 18:15, the non-reversed code
//! in 14:0) and, in its output accumulator, the bits the engine emits before the data —
//! the block header. The decompress AECS is double-buffered: the engine reads one half
//! and writes the other, and a job that overflowed its output resumes from the half it
//! wrote.

use pageflate_core::deflate::{BlockCodes, Histogram};
use pageflate_core::huffman::aecs_entry;

/// Compress AECS size without a dictionary (`HW_AECS_COMPRESS_WITH_HT`).
pub const COMPRESS_AECS_LEN: usize = 0x620;
/// Offset of the CRC-32 seed / result.
pub const CRC_AT: usize = 0x000;
/// Offset of the XOR-checksum seed / result.
pub const XOR_AT: usize = 0x004;
/// Offset of `num_output_accum_bits`.
pub const ACCUM_BITS_AT: usize = 0x01C;
/// Offset of the output accumulator (256 bytes).
pub const ACCUM_AT: usize = 0x020;
/// Size of the output accumulator.
pub const ACCUM_LEN: usize = 256;
/// Offset of the literal/length table (286 u32 entries).
pub const LL_SYM_AT: usize = 0x120;
/// Offset of the distance table (30 u32 entries).
pub const D_SYM_AT: usize = 0x5A0;

/// Statistics histogram size (`hw_iaa_histogram`).
pub const HISTOGRAM_LEN: usize = 0x500;
/// Offset of the distance counts in the histogram.
pub const HISTOGRAM_DIST_AT: usize = 0x480;

/// Decompress AECS size with the 4 KiB history (`HW_AECS_FILTER_AND_DECOMPRESS`).
pub const DECOMPRESS_AECS_LEN: usize = 0x1500;
/// Offset of the output-accumulator valid bits (bit 0 = Format-2 flag).
pub const D_ACCUM_BITS_AT: usize = 0x0B0;
/// Offset of the AECS format number byte.
pub const D_FORMAT_AT: usize = 0x1DD;
/// Offset of the decompress state (u16, bits 3:0).
pub const D_STATE_AT: usize = 0x434;
/// Offset of the history write pointer (u16: bits 14:0 offset, bit 15 wrapped).
pub const D_HISTORY_PTR_AT: usize = 0x4E4;
/// Offset of the 4 KiB history buffer.
pub const D_HISTORY_AT: usize = 0x4E8;
/// Decompress states (bits 3:0 at [`D_STATE_AT`]).
pub mod state {
    /// In a block body.
    pub const BODY: u16 = 0;
    /// At a block header.
    pub const HEADER: u16 = 1;
    /// In a stored block.
    pub const STORED: u16 = 2;
    /// Flag: in the final block.
    pub const FINAL: u16 = 4;
    /// Finished (end of the final block processed).
    pub const DONE: u16 = 8;
}

fn put_u32(buf: &mut [u8], at: usize, v: u32) {
    buf[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn get_u32(buf: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]])
}

/// Fill a compress AECS for one single-shot block: seeds 0, the tables of `codes`, and
/// the block header (`BFINAL` as given) in the output accumulator (iaa.md §3.6 A and C).
pub fn fill_compress(aecs: &mut [u8], codes: &BlockCodes, bfinal: bool) {
    aecs[..COMPRESS_AECS_LEN].fill(0);
    let (litlen, dist) = codes.codewords();
    for (i, (&code, &len)) in litlen.iter().zip(&codes.litlen).enumerate() {
        put_u32(aecs, LL_SYM_AT + 4 * i, aecs_entry(code, len));
    }
    for (i, (&code, &len)) in dist.iter().zip(&codes.dist).enumerate() {
        put_u32(aecs, D_SYM_AT + 4 * i, aecs_entry(code, len));
    }
    let (header, bits) = codes.header(bfinal);
    aecs[ACCUM_AT..ACCUM_AT + header.len()].copy_from_slice(&header);
    put_u32(aecs, ACCUM_BITS_AT, bits as u32);
}

/// What a compress AECS asks the engine to do: its codes, its accumulator bits, seeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompressConfig {
    /// The Huffman code lengths of the tables.
    pub codes: BlockCodes,
    /// Output accumulator bytes and their valid bit count.
    pub accumulator: (Vec<u8>, u32),
    /// CRC-32 seed.
    pub crc_seed: u32,
    /// XOR-checksum seed.
    pub xor_seed: u32,
}

/// Read a compress AECS (what the engine does). `None` if the accumulator count is
/// impossible (more bits than it holds) or a table entry has a length above 15.
pub fn read_compress(aecs: &[u8]) -> Option<CompressConfig> {
    let bits = get_u32(aecs, ACCUM_BITS_AT);
    if bits as usize > ACCUM_LEN * 8 {
        return None;
    }
    let mut codes = BlockCodes {
        litlen: [0; 286],
        dist: [0; 30],
    };
    for (i, l) in codes.litlen.iter_mut().enumerate() {
        *l = (get_u32(aecs, LL_SYM_AT + 4 * i) >> 15 & 0xF) as u8;
    }
    for (i, l) in codes.dist.iter_mut().enumerate() {
        *l = (get_u32(aecs, D_SYM_AT + 4 * i) >> 15 & 0xF) as u8;
    }
    let n = (bits as usize).div_ceil(8);
    Some(CompressConfig {
        codes,
        accumulator: (aecs[ACCUM_AT..ACCUM_AT + n].to_vec(), bits),
        crc_seed: get_u32(aecs, CRC_AT),
        xor_seed: get_u32(aecs, XOR_AT),
    })
}

/// Parse a statistics-pass histogram into symbol counts.
pub fn read_histogram(buf: &[u8]) -> Histogram {
    let mut h = Histogram::default();
    for (i, c) in h.litlen.iter_mut().enumerate() {
        *c = get_u32(buf, 4 * i);
    }
    for (i, c) in h.dist.iter_mut().enumerate() {
        *c = get_u32(buf, HISTOGRAM_DIST_AT + 4 * i);
    }
    h
}

/// Write symbol counts in the statistics-pass layout (what the engine does).
pub fn write_histogram(h: &Histogram, buf: &mut [u8]) {
    buf[..HISTOGRAM_LEN].fill(0);
    for (i, &c) in h.litlen.iter().enumerate() {
        put_u32(buf, 4 * i, c);
    }
    for (i, &c) in h.dist.iter().enumerate() {
        put_u32(buf, HISTOGRAM_DIST_AT + 4 * i, c);
    }
}

/// Prepare a double decompress AECS for the first job of a stream: the fields that matter
/// cleared, the format set for the generation (IAA 2.0 = Format-2), state "at header".
pub fn init_decompress(buf: &mut [u8], iaa2: bool) {
    buf[..2 * DECOMPRESS_AECS_LEN].fill(0);
    for half in 0..2 {
        let b = &mut buf[half * DECOMPRESS_AECS_LEN..];
        b[D_ACCUM_BITS_AT] = u8::from(iaa2);
        b[D_FORMAT_AT] = u8::from(iaa2);
        b[D_STATE_AT..D_STATE_AT + 2].copy_from_slice(&state::HEADER.to_le_bytes());
    }
}

/// The decompress state field of one AECS half.
pub fn decompress_state(half: &[u8]) -> u16 {
    u16::from_le_bytes([half[D_STATE_AT], half[D_STATE_AT + 1]]) & 0xF
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Golden bytes for the fixed-Huffman compress AECS of iaa.md §3.6 A, checked against
    /// the entries §5.2 lists.
    #[test]
    fn fixed_compress_aecs_matches_iaa_md() {
        let mut a = vec![0xAAu8; COMPRESS_AECS_LEN];
        fill_compress(&mut a, &BlockCodes::fixed(), true);
        assert_eq!(get_u32(&a, CRC_AT), 0);
        assert_eq!(get_u32(&a, XOR_AT), 0);
        assert_eq!(get_u32(&a, ACCUM_BITS_AT), 3, "num_output_accum_bits");
        assert_eq!(a[ACCUM_AT], 0x03, "BFINAL=1, BTYPE=01");
        assert_eq!(get_u32(&a, LL_SYM_AT), 0x40030, "literal 0");
        assert_eq!(get_u32(&a, LL_SYM_AT + 4 * 144), 0x48190, "literal 144");
        assert_eq!(get_u32(&a, LL_SYM_AT + 4 * 256), 0x38000, "EOB");
        assert_eq!(get_u32(&a, LL_SYM_AT + 4 * 280), 0x400C0, "length 280");
        for i in 0..30 {
            assert_eq!(
                get_u32(&a, D_SYM_AT + 4 * i),
                0x28000 + i as u32,
                "distance {i}"
            );
        }
        // Reserved areas stay zero.
        assert!(a[0x008..0x01C].iter().all(|&b| b == 0));
        assert!(a[0x598..0x5A0].iter().all(|&b| b == 0));
        assert!(a[0x618..0x620].iter().all(|&b| b == 0));
        let back = read_compress(&a).unwrap();
        assert!(back.codes.is_fixed());
        assert_eq!(back.accumulator, (vec![0x03], 3));
    }

    #[test]
    fn histogram_layout_round_trips() {
        let mut h = Histogram::default();
        h.litlen[0] = 7;
        h.litlen[285] = 9;
        h.dist[29] = 3;
        let mut buf = vec![0u8; HISTOGRAM_LEN];
        write_histogram(&h, &mut buf);
        assert_eq!(get_u32(&buf, 0x000), 7);
        assert_eq!(get_u32(&buf, 4 * 285), 9);
        assert_eq!(get_u32(&buf, 0x480 + 4 * 29), 3);
        assert_eq!(read_histogram(&buf), h);
    }

    #[test]
    fn decompress_aecs_starts_at_a_header_in_the_right_format() {
        let mut buf = vec![0xFFu8; 2 * DECOMPRESS_AECS_LEN];
        init_decompress(&mut buf, true);
        assert_eq!(decompress_state(&buf), state::HEADER);
        assert_eq!(buf[D_FORMAT_AT], 1);
        assert_eq!(buf[D_ACCUM_BITS_AT] & 1, 1);
        init_decompress(&mut buf, false);
        assert_eq!(buf[DECOMPRESS_AECS_LEN + D_FORMAT_AT], 0);
    }
}
