//! A memo of the previous dynamic block's header, so a block that repeats it bit for bit
//! skips the header decode.
//!
//! A sender that uses one code for every page (pageflate's fast level sends its canned code
//! as a dynamic block) repeats the same ~870-bit header on each page. Decoding it costs
//! about 300 precode symbols, a tenth of a page's decode time; comparing its bits with the
//! previous header's takes some 16 word compares. Equal bits decode to equal code lengths,
//! so the decode tables built for the previous header are the right ones — provided they
//! still hold that code, which the caller checks ([`super::block::DecodeTables`] says so).

/// Bits of header kept; longer headers are not memoised (the canned header is ~870 bits,
/// a dynamic header is at most 14 + 19·3 + 316·7 + extra bits).
const MAX_HEADER_BITS: u64 = CHUNK_BITS * CHUNKS as u64;
/// Bits per compared word: a 64-bit load at any bit offset yields at least 57 valid bits.
const CHUNK_BITS: u64 = 56;
const CHUNKS: usize = 24;

/// The header bits of the last dynamic block whose tables were built or reused.
pub(crate) struct HeaderMemo {
    chunks: [u64; CHUNKS],
    /// Length in bits; 0 = nothing memoised.
    bits: u64,
}

impl HeaderMemo {
    pub(crate) const fn new() -> Self {
        Self {
            chunks: [0; CHUNKS],
            bits: 0,
        }
    }

    /// Remember `input`'s bits `start..end` (the code description after BTYPE); forgets
    /// the memo if the header is too long to keep.
    pub(crate) fn record(&mut self, input: &[u8], start: u64, end: u64) {
        self.bits = 0;
        let len = end.saturating_sub(start);
        if len == 0 || len > MAX_HEADER_BITS || end > input.len() as u64 * 8 {
            return;
        }
        for (i, chunk) in self.chunks.iter_mut().enumerate() {
            let offset = i as u64 * CHUNK_BITS;
            if offset >= len {
                break;
            }
            *chunk = bits_at(input, start + offset, (len - offset).min(CHUNK_BITS));
        }
        self.bits = len;
    }

    /// Forget the memo (the tables no longer hold its code).
    pub(crate) fn clear(&mut self) {
        self.bits = 0;
    }

    /// If `input` repeats the memoised header at bit `start`, the bit just past it.
    #[inline]
    pub(crate) fn repeated_at(&self, input: &[u8], start: u64) -> Option<u64> {
        let len = self.bits;
        if len == 0 || start + len > input.len() as u64 * 8 {
            return None;
        }
        let mut offset = 0;
        for &chunk in &self.chunks {
            if offset >= len {
                break;
            }
            if bits_at(input, start + offset, (len - offset).min(CHUNK_BITS)) != chunk {
                return None;
            }
            offset += CHUNK_BITS;
        }
        Some(start + len)
    }
}

/// `n` (≤ 56) bits of `input` from bit `bit` on, LSB first; zeros past the end.
#[inline(always)]
fn bits_at(input: &[u8], bit: u64, n: u64) -> u64 {
    let byte = (bit / 8) as usize;
    let mut word = [0u8; 8];
    match input.get(byte..byte + 8) {
        Some(b) => word.copy_from_slice(b),
        None => {
            let tail = input.get(byte..).unwrap_or(&[]);
            word[..tail.len()].copy_from_slice(tail);
        }
    }
    (u64::from_le_bytes(word) >> (bit % 8)) & ((1u64 << n) - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_repeat_at_another_bit_offset_and_rejects_a_one_bit_change() {
        let header: alloc::vec::Vec<u8> = (0..120u32).map(|i| (i * 37 + 11) as u8).collect();
        let mut memo = HeaderMemo::new();
        memo.record(&header, 3, 3 + 870);
        // The same bits shifted by 5: prefix 5 bits, then header[3..].
        let mut shifted = alloc::vec![0u8; 125];
        for bit in 0..870u64 {
            let v = (header[((3 + bit) / 8) as usize] >> ((3 + bit) % 8)) & 1;
            let at = 5 + bit;
            shifted[(at / 8) as usize] |= v << (at % 8);
        }
        assert_eq!(memo.repeated_at(&shifted, 5), Some(875));
        assert_eq!(memo.repeated_at(&shifted, 4), None);
        for flip in [5u64, 60, 500, 874] {
            let mut changed = shifted.clone();
            changed[(flip / 8) as usize] ^= 1 << (flip % 8);
            assert_eq!(memo.repeated_at(&changed, 5), None, "bit {flip}");
        }
        // Too short an input cannot repeat it.
        assert_eq!(memo.repeated_at(&shifted[..100], 5), None);
        memo.clear();
        assert_eq!(memo.repeated_at(&shifted, 5), None);
    }
}
