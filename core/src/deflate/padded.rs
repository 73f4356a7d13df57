//! The dense level's path for 4 KiB pages (QEMU's page size on x86): the page copied into
//! a padded buffer that the parse reads without bounds tests, and the parse of
//! [`lazy`](super::matchfind::lazy) over [`PageBuckets`] on it, token for token.
//!
//! Each read of the generic parser (`data.get(..)`, a slice compare) carries a bounds test
//! and an `Option`; on the padded copy every index is masked into the buffer, so the
//! compiler proves each read in bounds and emits none of that. The parse then runs about
//! a quarter fewer instructions (cachegrind: 91 k → 69 k per page); it is bound by the
//! latency from one match's length to the next position's search more than by
//! instructions, so that bought 2 % of the dense level's speed. Its output is the
//! generic parser's exactly (`examples/output_fingerprint`, and the unit test
//! `dense_4k_path_matches_the_generic_parse`).
//!
//! It is a copy of that parser on purpose: the one parser made generic over its input (a
//! slice or this page) ran the same instruction count but measured 3–4 % slower in
//! `pageflate bench` (1.19–1.25× libdeflate level 1 against 1.23–1.28×, six interleaved
//! runs), which gave back all the padding bought. Remeasured on the Zen 5 machine of
//! session 8 with `encode_ab`: 1.230–1.234× against 1.271–1.276× (three interleaved pairs).
//! The unit test below keeps the copy honest: it fails when either parse changes alone
//! (checked by changing the copy's tail indexing).

use super::matchfind::{LazyParams, PageBuckets, TokenSink, MIN_HASHED_MATCH};
use super::tokens::MAX_MATCH;
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
    fn byte(&self, i: usize) -> u8 {
        self.bytes[i & PADDED_MASK]
    }

    #[inline(always)]
    fn u64_at(&self, i: usize) -> u64 {
        let i = i & PADDED_MASK;
        u64::from_le_bytes(self.bytes[i..i + 8].try_into().unwrap_or_default())
    }

    #[inline(always)]
    fn u32_at(&self, i: usize) -> u32 {
        self.u64_at(i) as u32
    }

    /// The common prefix of the bytes at `a` and `b`, at most `max` (`a < b`,
    /// `b + max <= 4096`): whole 8-byte words, then the last partial word with one more
    /// compare instead of a byte loop (the padding makes reading past `max` safe).
    #[inline(always)]
    fn common_prefix(&self, a: usize, b: usize, max: usize) -> usize {
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

impl PageBuckets {
    /// The longest match of position `i` of a padded page among the two candidates its
    /// slot held, if longer than `beat` (the same search as the generic parser's). The
    /// lazy step passes the current match's length, and the second candidate faces the
    /// first one's: a candidate that cannot beat it is rejected without measuring its
    /// length, on the 4 bytes that end at that offset (libdeflate's test; it rejects more
    /// candidates than one byte did: +1.5 % in `encode_ab`, session 15, same output).
    #[inline(always)]
    fn search_padded(
        &mut self,
        page: &PaddedPage,
        i: usize,
        p: &LazyParams,
        beat: usize,
    ) -> (usize, usize) {
        let word = page.u32_at(i);
        let entries = self.push(word, i);
        let max = (PAGE_4K - i).min(MAX_MATCH);
        let mut best = (beat, 0usize);
        let depth = p.search_depth(beat) as usize;
        for entry in [entries & 0xffff, entries >> 16].into_iter().take(depth) {
            // Empty, or from an earlier page (and so is the older one).
            let cand = self.position(entry);
            if cand >= i {
                break;
            }
            // The candidate must match through byte `best.0` to beat `best`.
            let last4 = best.0.max(3) - 3;
            if page.u32_at(cand) == word && page.u32_at(cand + last4) == page.u32_at(i + last4) {
                let len = MIN_HASHED_MATCH
                    + page.common_prefix(
                        cand + MIN_HASHED_MATCH,
                        i + MIN_HASHED_MATCH,
                        max - MIN_HASHED_MATCH,
                    );
                if len > best.0 {
                    best = (len, i - cand);
                    if len >= p.nice.min(max) {
                        break;
                    }
                }
            }
        }
        best
    }

    /// [`lazy`](super::matchfind::lazy) over a 4 KiB [`PaddedPage`]: the same parse,
    /// token for token (the output fingerprint is unchanged), with reads that need no
    /// bounds tests. `sink` must have room for a token per byte.
    #[inline(always)]
    pub(crate) fn lazy_padded<S: TokenSink>(
        &mut self,
        page: &PaddedPage,
        start: usize,
        stop: usize,
        sink: &mut S,
        p: &LazyParams,
    ) -> usize {
        let hash_end = PAGE_4K - (MIN_HASHED_MATCH - 1);
        let mut i = start;
        let mut pending: Option<(usize, usize)> = None;
        let mut misses = 0u32;
        while i < hash_end && (i < stop || pending.is_some()) && !sink.is_full() {
            let (len, dist) = match pending.take() {
                Some(m) => m,
                None => self.search_padded(page, i, p, 0),
            };
            if len < MIN_HASHED_MATCH {
                sink.literal(page.byte(i));
                i += 1;
                misses += 1;
                if misses > 64 {
                    let stop = (i + ((misses - 64) >> 4).min(16) as usize).min(hash_end);
                    while i < stop && !sink.is_full() {
                        sink.literal(page.byte(i));
                        i += 1;
                    }
                }
                continue;
            }
            misses = 0;
            let mut inserted_to = i + 1;
            if i + 1 < hash_end {
                let next = self.search_padded(page, i + 1, p, len);
                inserted_to = i + 2;
                if next.0 > len {
                    sink.literal(page.byte(i));
                    i += 1;
                    pending = Some(next);
                    continue;
                }
            }
            sink.matched(len, dist);
            let covered = (i + len).min(hash_end);
            let from = covered.saturating_sub(p.tail).max(inserted_to);
            for j in from..covered {
                self.push(page.u32_at(j), j);
            }
            i += len;
        }
        while i < stop.min(PAGE_4K) && !sink.is_full() {
            sink.literal(page.byte(i));
            i += 1;
        }
        i
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deflate::matchfind::lazy;
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

    /// The tokens of `page` from `buckets` as they are, against fresh buckets.
    fn parse_generic(buckets: &mut PageBuckets, page: &[u8]) -> Vec<(usize, usize)> {
        let p = crate::deflate::Level::Dense.lazy_params();
        let mut tokens = Collect::default();
        buckets.start(page.len());
        lazy(buckets, page, 0, page.len(), page.len(), &mut tokens, &p);
        tokens.0
    }

    #[test]
    fn stale_bucket_entries_are_never_candidates() {
        // Pages of several lengths through one set of buckets, across several points
        // where the stamps run out, each parsed as with freshly cleared buckets. A stale
        // entry taken as a candidate changes the tokens: a page that repeats the previous
        // one would find its matches in the previous page's positions.
        let pages = crate::test_support::pages();
        let mut long = Vec::new();
        for page in pages.iter().take(4) {
            long.extend_from_slice(page);
        }
        let mut reused = PageBuckets::new();
        for round in 0..40 {
            let page = &pages[round % pages.len()];
            let input: &[u8] = match round % 7 {
                3 => &long[..10_000],
                5 => &page[..1000],
                _ => page,
            };
            for repeat in 0..2 {
                let fresh = parse_generic(&mut PageBuckets::new(), input);
                let got = parse_generic(&mut reused, input);
                assert!(
                    got == fresh,
                    "round {round}, repeat {repeat}: tokens differ"
                );
            }
        }
    }

    #[test]
    fn dense_4k_path_matches_the_generic_parse() {
        let p = crate::deflate::Level::Dense.lazy_params();
        let mut buckets = PageBuckets::new();
        let mut padded = PaddedPage::new();
        for (n, page) in crate::test_support::pages().iter().enumerate() {
            for stop in [256, 1, 4093, PAGE_4K] {
                buckets.start(PAGE_4K);
                let mut generic = Collect::default();
                let reached = lazy(&mut buckets, page, 0, stop, PAGE_4K, &mut generic, &p);
                lazy(
                    &mut buckets,
                    page,
                    reached,
                    PAGE_4K,
                    PAGE_4K,
                    &mut generic,
                    &p,
                );

                buckets.start(PAGE_4K);
                padded.load(page);
                let mut fast = Collect::default();
                let reached_fast = buckets.lazy_padded(&padded, 0, stop, &mut fast, &p);
                buckets.lazy_padded(&padded, reached_fast, PAGE_4K, &mut fast, &p);

                assert_eq!(reached, reached_fast, "page {n}, stop {stop}");
                assert!(generic.0 == fast.0, "page {n}, stop {stop}: tokens differ");
            }
        }
    }
}
