//! The fast level's kernel for 4 KiB pages (QEMU's page size on x86): the greedy parse of
//! [`MatchFinder::greedy`](super::matchfind::MatchFinder::greedy) fused with the canned-code
//! writer of [`DirectSink`](super::block::DirectSink), written once more for exactly one
//! 4096-byte page.
//!
//! The generic pair serves any input length and any sink, so every read is a
//! `data.get(..)` with its `Option`, every table is a slice with a runtime length, and the
//! bit writer lives behind a reference. Inlined together they ran out of registers: the
//! bit writer's state, the four loaded stamps and the table pointers went to the stack,
//! and each step paid for it.
//!
//! Here everything the parse writes or looks up is one allocation, [`FastPage`]: the head
//! table, the output's staging array and a copy of the canned code's tables. One register
//! reaches all of them at constant offsets, the compiler sees their indexes in bounds, and
//! the bit writer's state stays in registers. The page is an array read where it lies.
//! Each span the parse covers ends at a constant. The staging array has room past the
//! largest page that could still fit, so a store needs one test against a constant; a
//! page that fits is copied out at the end (on average under 1 KiB).
//!
//! Tokens and bits are the generic path's exactly: the unit test
//! `fast_4k_kernel_matches_the_generic_path` compares the two byte for byte, and
//! `examples/output_fingerprint` hashes the corpus's output.

use super::block::CannedTables;
use super::matchfind::{
    hash4_greedy, tail_to_index, HASH_SIZE, MIN_HASHED_MATCH, SKIP_AFTER, WINDOW,
};
use super::tokens::MAX_MATCH;
use alloc::boxed::Box;

/// The page size this kernel takes.
pub(crate) const PAGE: usize = 4096;

/// Bytes of the staging array: more than any page's output can take, so no store is ever
/// dropped whatever `cap` is. A page's output is at most the block's start (320 bytes),
/// 14 bits a byte (a literal's codeword is at most 14 bits, checked when the canned code
/// is built; a match of at least 4 bytes takes at most 48 bits) and the end-of-block
/// symbol: under 7500 bytes, with the 8 bytes of the last store.
const STAGE: usize = 2 * PAGE;
const _: () = assert!(320 + PAGE * 14 / 8 + 2 + 8 <= STAGE);

/// The early raw decision's probe ([`FAST_PROBE`](super::FAST_PROBE)), as a constant: each
/// of the two spans the kernel parses ends at a constant.
const PROBE: usize = super::FAST_PROBE;
const _: () = assert!(PROBE < PAGE);

/// The kernel's state, one allocation (about 280 KiB; see the module notes).
pub(crate) struct FastPage {
    /// Stamp (`base + position`) of the latest position with each 4-byte hash.
    head: [u32; HASH_SIZE],
    /// Stamp of position 0 of the current page; stamps below it are from earlier pages.
    /// Every page is 4096 bytes, so the next page's is `base + 4097`.
    base: u32,
    /// Where the output is written before it is known to fit.
    stage: [u8; STAGE],
    /// The canned code.
    code: CannedTables,
}

impl FastPage {
    /// A kernel writing with `code`.
    pub(crate) fn new(code: &CannedTables) -> Box<Self> {
        Box::new(Self {
            head: [0; HASH_SIZE],
            base: 0,
            stage: [0; STAGE],
            code: code.clone(),
        })
    }

    /// Compress `page` as one final canned block into `dst` (at most `dst.len()` bytes),
    /// as `Compressor::compress_page_direct` does for any page: the first [`PROBE`] bytes
    /// are parsed alone, and the page goes raw (`None`) if their symbols took 8.5 bits a
    /// byte or more; `None` too if the output does not fit.
    pub(crate) fn compress(&mut self, page: &[u8; PAGE], dst: &mut [u8]) -> Option<usize> {
        self.start();
        let cap = dst.len();
        let start_bits = self.code.start_bits;
        let mut k = Kernel::start(self, page, cap);
        k.greedy::<PROBE>(0);
        if super::probe_goes_raw(k.bit_len() - start_bits, PROBE) {
            return None;
        }
        k.greedy::<PAGE>(PROBE);
        let (eob, eob_len) = k.s.code.end_of_block;
        k.put(eob, eob_len);
        k.finish(dst)
    }

    /// Take fresh stamps for a page (clearing the table when they run out).
    fn start(&mut self) {
        const STEP: u32 = PAGE as u32 + 1;
        if u64::from(self.base) + 2 * u64::from(STEP) >= u64::from(u32::MAX) {
            self.head.fill(0);
            self.base = 0;
        }
        self.base += STEP;
    }
}

/// A parse in progress: the state, and the bit writer's (`BitWriter`'s scheme: every put
/// stores 8 bytes and keeps fewer than 8 bits buffered, no data-dependent branch) in
/// fields the compiler keeps in registers.
struct Kernel<'s> {
    s: &'s mut FastPage,
    page: &'s [u8; PAGE],
    /// Bytes written so far; past `cap` means the page does not fit.
    pos: usize,
    buf: u64,
    count: u32,
    /// The most bytes the compressed page may take.
    cap: usize,
}

impl<'s> Kernel<'s> {
    /// A kernel whose output starts with the canned block's start.
    fn start(s: &'s mut FastPage, page: &'s [u8; PAGE], cap: usize) -> Self {
        let n_bits = s.code.start_bits;
        let bytes = ((n_bits / 8) as usize).min(s.code.start.len() - 1);
        let count = (n_bits % 8) as u32;
        s.stage[..bytes].copy_from_slice(&s.code.start[..bytes]);
        let buf = u64::from(s.code.start[bytes]) & ((1 << count) - 1);
        Self {
            s,
            page,
            pos: bytes,
            buf,
            count,
            cap,
        }
    }

    /// Append the low `n` bits of `bits` (`n <= 56`, higher bits zero).
    #[inline(always)]
    fn put(&mut self, bits: u64, n: u32) {
        self.buf |= bits << self.count;
        self.count += n;
        // Always true (see `STAGE`); the test lets the compiler drop the store's bounds
        // test.
        if self.pos <= STAGE - 8 {
            self.s.stage[self.pos..self.pos + 8].copy_from_slice(&self.buf.to_le_bytes());
        }
        let bytes = self.count / 8;
        self.pos += bytes as usize;
        self.buf >>= 8 * bytes;
        self.count &= 7;
    }

    /// Whether the output no longer fits in `cap` bytes (the page will go raw).
    #[inline(always)]
    fn is_full(&self) -> bool {
        self.pos > self.cap
    }

    fn bit_len(&self) -> u64 {
        self.pos as u64 * 8 + u64::from(self.count)
    }

    /// Pad to a byte and copy the output to `dst`; `None` if it does not fit in `cap`.
    fn finish(mut self, dst: &mut [u8]) -> Option<usize> {
        if self.count > 0 {
            self.put(0, 8 - self.count);
        }
        let len = self.pos;
        let out = dst.get_mut(..len).filter(|_| len <= self.cap)?;
        out.copy_from_slice(&self.s.stage[..len]);
        Some(len)
    }

    /// The page is read where it lies: a copy costs more than it saves, as the page
    /// usually comes from memory and the copy waits for all of it at once (measured:
    /// −16 %), where the parse's own reads overlap with its work.
    #[inline(always)]
    fn byte(&self, i: usize) -> u8 {
        self.page[i & (PAGE - 1)]
    }

    #[inline(always)]
    fn u64_at(&self, i: usize) -> u64 {
        match self.page.get(i..i + 8) {
            Some(b) => u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
            None => 0,
        }
    }

    #[inline(always)]
    fn u32_at(&self, i: usize) -> u32 {
        match self.page.get(i..i + 4) {
            Some(b) => u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            None => 0,
        }
    }

    /// The match distance of `stamp` for position `i` (whose 4 bytes are `word`), if the
    /// stamp is from this page, within the window and starts with the same 4 bytes.
    #[inline(always)]
    fn candidate(&self, stamp: u32, i: usize, word: u32) -> Option<usize> {
        let cand = stamp.checked_sub(self.s.base)? as usize;
        let dist = i.wrapping_sub(cand);
        (dist <= WINDOW && self.u32_at(cand) == word).then_some(dist)
    }

    /// Length of the match at `i`, `dist` back, whose first 4 bytes are equal; at most
    /// `max`.
    #[inline(always)]
    fn match_length(&self, i: usize, dist: usize, max: usize) -> usize {
        let (Some(a), Some(b)) = (
            self.page.get(i - dist + MIN_HASHED_MATCH..i - dist + max),
            self.page.get(i + MIN_HASHED_MATCH..i + max),
        ) else {
            return MIN_HASHED_MATCH;
        };
        let mut n = 0;
        for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
            let diff = u64::from_le_bytes(x.try_into().unwrap_or_default())
                ^ u64::from_le_bytes(y.try_into().unwrap_or_default());
            if diff != 0 {
                return MIN_HASHED_MATCH + n + (diff.trailing_zeros() / 8) as usize;
            }
            n += 8;
        }
        while n < a.len() && a.get(n) == b.get(n) {
            n += 1;
        }
        MIN_HASHED_MATCH + n
    }

    #[inline(always)]
    fn index(&mut self, j: usize) {
        let h = hash4_greedy(self.u32_at(j));
        self.s.head[h] = self.s.base + j as u32;
    }

    /// Write the codewords of `N` literals in one put.
    #[inline(always)]
    fn literals<const N: usize>(&mut self, bytes: [u8; N]) {
        let (bits, n) = self.s.code.literal_bits(bytes);
        self.put(bits, n);
    }

    /// Write the match at `i` (`dist` back) and return its length. Then index its end, as
    /// `MatchFinder::take_match` does ([`tail_to_index`]).
    #[inline(always)]
    fn take_match<const INDEX_TAIL: bool>(
        &mut self,
        i: usize,
        dist: usize,
        end: usize,
        hash_end: usize,
    ) -> usize {
        let max = (end - i).min(MAX_MATCH);
        let len = self.match_length(i, dist, max);
        let (bits, n) = self.s.code.match_bits(len, dist);
        self.put(bits, n);
        if let Some(from) = tail_to_index::<INDEX_TAIL>(i, len) {
            for j in from..(i + len).min(hash_end) {
                self.index(j);
            }
        }
        len
    }

    /// After [`SKIP_AFTER`] misses in a row, write bytes as literals, unhashed, at a
    /// growing stride (`skip_literals` of the generic parser). Returns the position after
    /// them.
    #[inline(always)]
    fn skip(&mut self, mut i: usize, hash_end: usize, misses: u32) -> usize {
        let skip = ((misses - SKIP_AFTER) >> 3).min(16) as usize;
        let stop = (i + skip).min(hash_end);
        while i + 4 <= stop {
            self.literals([
                self.byte(i),
                self.byte(i + 1),
                self.byte(i + 2),
                self.byte(i + 3),
            ]);
            i += 4;
        }
        while i < stop && !self.is_full() {
            self.literals([self.byte(i)]);
            i += 1;
        }
        i
    }

    /// The greedy parse of `page[start..END]`, written as it goes; returns the position
    /// reached. Four positions per step while 8 bytes can be read, then one at a time:
    /// the generic parser's loops (see `MatchFinder::greedy`), step for step.
    fn greedy<const END: usize>(&mut self, start: usize) -> usize {
        let end = END.min(PAGE);
        let hash_end = end.saturating_sub(MIN_HASHED_MATCH - 1);
        let mut i = start;
        let mut misses = 0u32;
        while i + 8 <= end {
            let quad = self.u64_at(i);
            let words = [0, 8, 16, 24].map(|shift| (quad >> shift) as u32);
            let slots = words.map(hash4_greedy);
            let stamps = slots.map(|h| self.s.head[h]);
            let base = self.s.base;
            for (k, &h) in slots.iter().enumerate() {
                self.s.head[h] = base + (i + k) as u32;
            }
            let b = |k: usize| (quad >> (8 * k)) as u8;
            if let Some(dist) = self.candidate(stamps[0], i, words[0]) {
                i += self.take_match::<false>(i, dist, end, hash_end);
            } else if let Some(dist) = self.candidate(stamps[1], i + 1, words[1]) {
                self.literals([b(0)]);
                i += 1 + self.take_match::<false>(i + 1, dist, end, hash_end);
            } else if let Some(dist) = self.candidate(stamps[2], i + 2, words[2]) {
                self.literals([b(0), b(1)]);
                i += 2 + self.take_match::<false>(i + 2, dist, end, hash_end);
            } else if let Some(dist) = self.candidate(stamps[3], i + 3, words[3]) {
                self.literals([b(0), b(1), b(2)]);
                i += 3 + self.take_match::<false>(i + 3, dist, end, hash_end);
            } else {
                self.literals([b(0), b(1), b(2), b(3)]);
                i += 4;
                misses += 4;
                if misses > SKIP_AFTER {
                    if self.is_full() {
                        return i;
                    }
                    i = self.skip(i, hash_end, misses);
                }
                continue;
            }
            misses = 0;
            if self.is_full() {
                return i; // the output overflowed: the page goes raw
            }
        }
        while i < hash_end {
            let word = self.u32_at(i);
            let h = hash4_greedy(word);
            let stamp = core::mem::replace(&mut self.s.head[h], self.s.base + i as u32);
            if let Some(dist) = self.candidate(stamp, i, word) {
                i += self.take_match::<true>(i, dist, end, hash_end);
                misses = 0;
                if self.is_full() {
                    break;
                }
                continue;
            }
            self.literals([self.byte(i)]);
            i += 1;
            misses += 1;
            if misses > SKIP_AFTER {
                if self.is_full() {
                    break;
                }
                i = self.skip(i, hash_end, misses);
            }
        }
        while i < end && !self.is_full() {
            self.literals([self.byte(i)]);
            i += 1;
        }
        i
    }
}

#[cfg(test)]
mod tests {
    use super::{PAGE, PROBE};
    use crate::deflate::{Compressor, Level};
    use alloc::vec;

    /// The kernel against the generic greedy parser and `DirectSink`, byte for byte, on
    /// pages of every kind and with outputs from roomy to too small (so the overflow
    /// paths of both agree too). Fails when either path changes alone.
    #[test]
    fn fast_4k_kernel_matches_the_generic_path() {
        let mut kernel = Compressor::new(Level::Fast);
        let mut generic = Compressor::new(Level::Fast);
        let (mut a, mut b) = (vec![0u8; 8000], vec![0u8; 8000]);
        let mut compressed = 0;
        let mut larger_than_a_page = 0;
        // Compressible at the start (so the probe keeps it), random after: the largest
        // outputs a page can have, past the page size.
        let mut next = crate::test_support::xorshift(7);
        let mut late_random = [0u8; PAGE];
        late_random[PROBE..]
            .iter_mut()
            .for_each(|b| *b = next() as u8);
        let mut pages = crate::test_support::pages();
        pages.push(late_random);
        for (n, page) in pages.iter().enumerate() {
            for cap in [4095, 5000, 8000, 1200, 300, 100, 7, 0] {
                let got = kernel.compress_page_direct(page, &mut a[..cap]);
                generic.finder.start(page.len());
                let want = generic.compress_page_generic(page, &mut b[..cap]);
                assert_eq!(got, want, "page {n}, room {cap}");
                if let Some(len) = got {
                    assert!(a[..len] == b[..len], "page {n}, room {cap}: bytes differ");
                    compressed += 1;
                    larger_than_a_page += usize::from(len > PAGE);
                }
            }
        }
        // Both outcomes were exercised, and outputs past the page size too.
        assert!(compressed > 20, "{compressed} compressed");
        assert!(larger_than_a_page > 0);
    }

    /// When the stamps run out they restart (no overflow), and the pages around that
    /// point compress exactly as the generic path compresses them.
    #[test]
    fn fast_4k_kernel_survives_running_out_of_stamps() {
        let mut kernel = Compressor::new(Level::Fast);
        let mut generic = Compressor::new(Level::Fast);
        let (mut a, mut b) = (vec![0u8; 4095], vec![0u8; 4095]);
        if let Some(state) = kernel.fast_page.as_deref_mut() {
            state.base = u32::MAX - 3 * (PAGE as u32 + 1);
        }
        for page in crate::test_support::pages().iter().take(12) {
            let got = kernel.compress_page_direct(page, &mut a);
            generic.finder.start(page.len());
            let want = generic.compress_page_generic(page, &mut b);
            assert_eq!(got, want);
            if let Some(len) = got {
                assert!(a[..len] == b[..len]);
            }
        }
        let base = kernel.fast_page.as_deref().map_or(0, |s| s.base);
        assert!(
            base < 20 * (PAGE as u32 + 1),
            "the stamps restarted: {base}"
        );
    }
}
