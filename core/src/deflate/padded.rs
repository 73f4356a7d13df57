//! The dense level's input for 4 KiB pages (QEMU's page size on x86): the page copied
//! into a padded buffer that [`lazy`](super::matchfind::lazy) reads without bounds tests.
//!
//! Each read of the generic parser (`data.get(..)`, a slice compare) carries a bounds test
//! and an `Option`; on the padded copy every index is masked into the buffer, so the
//! compiler proves each read in bounds and emits none of that. The parse then runs about
//! a quarter fewer instructions (cachegrind: 91 k → 69 k per page); it is bound by the
//! latency from one match's length to the next position's search more than by
//! instructions, so that bought 2 % of the dense level's speed. The parse is the same
//! code over a slice or this page, so the output is the same (`examples/output_fingerprint`;
//! `dense_4k_path_matches_the_generic_parse`).

use super::matchfind::ParseInput;
use alloc::boxed::Box;

/// Bytes of the page size the dense level's fastest path takes ([`PaddedPage`]).
pub(crate) const PAGE_4K: usize = 4096;
/// Index mask of [`PaddedPage`]: twice the page, so every index the parse computes for a
/// 4 KiB page (at most `4096 + 258`) is below it and masking changes none of them.
const PADDED_MASK: usize = 2 * PAGE_4K - 1;

/// A 4 KiB page copied into a zeroed buffer twice its size plus 8 bytes, read only at
/// indexes masked with [`PADDED_MASK`]: every read is then in bounds by construction, so
/// the compiler drops the bounds test (and its branch) from each of the parse's reads —
/// most of the parse's instructions were such tests and the `Option`s they produce.
/// Reads past the page see zeros, as the generic parser's reads past the end of a
/// slice do.
pub(crate) struct PaddedPage {
    bytes: Box<[u8; 2 * PAGE_4K + 8]>,
}

impl PaddedPage {
    pub(crate) fn new() -> Self {
        Self {
            bytes: Box::new([0; 2 * PAGE_4K + 8]),
        }
    }

    /// Copy `page` (4096 bytes) in.
    pub(crate) fn load(&mut self, page: &[u8; PAGE_4K]) {
        self.bytes[..PAGE_4K].copy_from_slice(page);
    }

    #[inline(always)]
    fn u64_at(&self, i: usize) -> u64 {
        let i = i & PADDED_MASK;
        u64::from_le_bytes(self.bytes[i..i + 8].try_into().unwrap_or_default())
    }
}

impl ParseInput for &PaddedPage {
    const LONGER_THAN_WINDOW: bool = false;

    #[inline(always)]
    fn byte(self, i: usize) -> u8 {
        self.bytes[i & PADDED_MASK]
    }

    #[inline(always)]
    fn u32_at(self, i: usize) -> u32 {
        self.u64_at(i) as u32
    }

    #[inline(always)]
    fn same_byte(self, a: usize, b: usize) -> bool {
        self.byte(a) == self.byte(b)
    }

    /// Whole 8-byte words, then the last partial word with one more compare instead of a
    /// byte loop (the padding makes the read past `max` safe).
    #[inline(always)]
    fn common_prefix(self, a: usize, b: usize, max: usize) -> usize {
        let mut n = 0;
        loop {
            let diff = self.u64_at(a + n) ^ self.u64_at(b + n);
            if diff != 0 || n + 8 >= max {
                return (n + (diff.trailing_zeros() / 8) as usize).min(max);
            }
            n += 8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deflate::matchfind::{lazy, PageBuckets, TokenSink};
    use alloc::vec::Vec;

    /// Collects tokens as `(length, distance)`, a literal as `(byte, 0)`.
    #[derive(Default)]
    struct Collect(Vec<(usize, usize)>);

    impl TokenSink for Collect {
        const EXACT: bool = true;
        fn literal(&mut self, byte: u8) {
            self.0.push((usize::from(byte), 0));
        }
        fn matched(&mut self, length: usize, distance: usize) {
            self.0.push((length, distance));
        }
        fn is_full(&self) -> bool {
            false
        }
    }

    /// Pages of every kind the parse meets: zeros, random bytes, text-like runs of a small
    /// alphabet, repeated records with changing fields, and mixtures with sharp edges.
    fn pages() -> Vec<[u8; PAGE_4K]> {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut pages = Vec::new();
        for kind in 0..40 {
            let mut page = [0u8; PAGE_4K];
            match kind % 5 {
                0 => {} // zeros
                1 => page.iter_mut().for_each(|b| *b = next() as u8),
                2 => page
                    .iter_mut()
                    .for_each(|b| *b = b"etaoin shrdlu"[(next() % 13) as usize]),
                3 => {
                    let period = 3 + (next() % 300) as usize;
                    for (k, b) in page.iter_mut().enumerate() {
                        *b = if k % period == 0 {
                            next() as u8
                        } else {
                            (k % period) as u8
                        };
                    }
                }
                _ => {
                    for chunk in page.chunks_mut(1 + (next() % 700) as usize) {
                        let fill = next();
                        match fill % 3 {
                            0 => chunk.iter_mut().for_each(|b| *b = next() as u8),
                            1 => chunk.iter_mut().for_each(|b| *b = fill as u8),
                            _ => chunk
                                .iter_mut()
                                .enumerate()
                                .for_each(|(k, b)| *b = (k / 4) as u8),
                        }
                    }
                }
            }
            pages.push(page);
        }
        pages
    }

    #[test]
    fn dense_4k_path_matches_the_generic_parse() {
        let p = crate::deflate::Level::Dense.lazy_params();
        let mut buckets = PageBuckets::new();
        let mut padded = PaddedPage::new();
        for (n, page) in pages().iter().enumerate() {
            for stop in [256, 1, 4093, PAGE_4K] {
                buckets.start();
                let mut generic = Collect::default();
                let slice = &page[..];
                let reached = lazy(&mut buckets, slice, 0, stop, PAGE_4K, &mut generic, &p);
                lazy(
                    &mut buckets,
                    slice,
                    reached,
                    PAGE_4K,
                    PAGE_4K,
                    &mut generic,
                    &p,
                );

                buckets.start();
                padded.load(page);
                let mut fast = Collect::default();
                let reached_fast = lazy(&mut buckets, &padded, 0, stop, PAGE_4K, &mut fast, &p);
                lazy(
                    &mut buckets,
                    &padded,
                    reached_fast,
                    PAGE_4K,
                    PAGE_4K,
                    &mut fast,
                    &p,
                );

                assert_eq!(reached, reached_fast, "page {n}, stop {stop}");
                assert!(generic.0 == fast.0, "page {n}, stop {stop}: tokens differ");
            }
        }
    }
}
