//! Match finding within a 4 KiB window, and the two parsers built on it.
//!
//! Positions are stored as *stamps*: `base + position`, where every call starts with a
//! fresh `base` above all earlier stamps. A stamp below `base` is from an earlier input and
//! counts as empty, so the tables never need clearing between pages (clearing 256 KiB of
//! tables per 4 KiB page would cost more than compressing it).
//!
//! * [`MatchFinder::parse_greedy`] (fast level): one hash probe per position (4-byte hash),
//!   take any match found, and skip faster through data that keeps missing
//!   (incompressible stretches such as random or already-compressed pages).
//! * [`MatchFinder::parse_lazy`] (dense level, streams and long pages): hash chains
//!   searched up to a depth, and one step of lazy evaluation (a literal now if the next
//!   position has a longer match).
//! * [`lazy`] over [`PageBuckets`] (dense level, pages up to 16 KiB): the same lazy parse
//!   over page-local two-entry buckets, handing tokens to any [`TokenSink`].

use super::tokens::{literal, matched, MAX_MATCH};
use alloc::boxed::Box;
use alloc::vec;

/// The history window: matches reach at most this far back (IAA 1.0's limit).
pub const WINDOW: usize = 4096;
/// Size of the head table: the larger of the two parsers' hash widths.
const HASH_BITS: u32 = GREEDY_HASH_BITS;
const _: () = assert!(LAZY_HASH_BITS <= HASH_BITS);
pub(super) const HASH_SIZE: usize = 1 << HASH_BITS;
/// Matches found by hashing 4 bytes are at least this long.
pub(super) const MIN_HASHED_MATCH: usize = 4;

/// Search effort of the lazy parser.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LazyParams {
    /// Chain entries (bucket entries) examined per position.
    pub depth: u32,
    /// Entries the lazy step's search examines: it looks only for a match longer than the
    /// one in hand, and the newest candidate is where one is most often found.
    pub lazy_depth: u32,
    /// A match this long ends the search.
    pub nice: usize,
    /// How many of a match's last covered positions are indexed, besides those its own
    /// search and the lazy step's indexed (a match's end is what later data most often
    /// continues from; its other interior positions are left out).
    pub tail: usize,
}

impl LazyParams {
    /// The same parse with one candidate per search, for a page that is mostly literals
    /// (see `LITERAL_HEAVY_BITS_PER_BYTE` in the deflate module).
    pub(crate) fn literal_heavy(self) -> Self {
        Self { depth: 1, ..self }
    }

    /// Candidates a search examines: the lazy step's (`beat > 0`, the length of the match
    /// in hand) [`Self::lazy_depth`], any other [`Self::depth`].
    #[inline(always)]
    pub(crate) fn search_depth(&self, beat: usize) -> u32 {
        if beat > 0 {
            self.lazy_depth
        } else {
            self.depth
        }
    }
}

/// Hash tables of the parsers.
pub(crate) struct MatchFinder {
    head: Box<[u32]>,
    /// Previous stamp with the same hash, indexed by position modulo the window.
    prev: Box<[u32]>,
    /// Stamp of position 0 of the current input.
    base: u32,
    /// First stamp no input has used yet.
    next_base: u32,
}

#[inline(always)]
fn read_u32(data: &[u8], at: usize) -> u32 {
    match data.get(at..at + 4) {
        Some(b) => u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        None => 0,
    }
}

/// Hash bits of the lazy parser: its chains resolve collisions, so a table that stays in
/// the L1 cache (32 KiB) beats a sparser one.
const LAZY_HASH_BITS: u32 = 14;

#[inline(always)]
fn hash4(word: u32) -> usize {
    (word.wrapping_mul(0x9E37_79B1) >> (32 - LAZY_HASH_BITS)) as usize
}

/// Hash bits of the greedy parser: 256 KiB of stamps, an L2 access per probe. On Zen 5,
/// 16 bits ran the fast level 2 % faster than 15 in `pageflate bench` (fewer collisions to
/// reject; ratio 0.4207 -> 0.4206); on Zen 4 the two were alike. 14 and fewer cost speed.
const GREEDY_HASH_BITS: u32 = 16;

#[inline(always)]
pub(super) fn hash4_greedy(word: u32) -> usize {
    (word.wrapping_mul(0x9E37_79B1) >> (32 - GREEDY_HASH_BITS)) as usize
}

#[inline(always)]
fn read_u64(data: &[u8], at: usize) -> u64 {
    match data.get(at..at + 8) {
        Some(b) => u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
        None => u64::from(read_u32(data, at)) | u64::from(read_u32(data, at + 1)) << 8,
    }
}

/// Misses in a row after which the greedy parser starts skipping.
pub(super) const SKIP_AFTER: u32 = 32;

/// After [`SKIP_AFTER`] misses in a row, step over bytes (emitting them as literals, unhashed) at a
/// growing stride: incompressible data costs little, and a match resets `misses`. Returns
/// the position after the skipped bytes.
#[inline(always)]
fn skip_literals<S: TokenSink>(
    data: &[u8],
    mut i: usize,
    hash_end: usize,
    misses: u32,
    sink: &mut S,
) -> usize {
    let skip = ((misses - SKIP_AFTER) >> 3).min(16) as usize;
    let stop = (i + skip).min(hash_end);
    if !S::EXACT {
        // Four literals per put (the sink takes whatever it is given).
        while i + 4 <= stop {
            sink.literals4(data[i], data[i + 1], data[i + 2], data[i + 3]);
            i += 4;
        }
    }
    while i < stop && !sink.is_full() {
        sink.literal(data[i]);
        i += 1;
    }
    i
}

/// The first position of a match at `i` of `len` bytes the greedy parser indexes after
/// taking it (up to the match's end), if any: see `MatchFinder::take_match`.
#[inline(always)]
pub(super) fn tail_to_index<const INDEX_TAIL: bool>(i: usize, len: usize) -> Option<usize> {
    if INDEX_TAIL {
        Some(i + len - 2)
    } else {
        (len > 32).then(|| i + len - 1)
    }
}

/// The match distance of `stamp` for position `i` (whose 4 bytes are `word`), if the
/// stamp is from this input, within the window and starts with the same 4 bytes.
#[inline(always)]
fn candidate(data: &[u8], base: u32, stamp: u32, i: usize, word: u32) -> Option<usize> {
    let cand = stamp.checked_sub(base)? as usize;
    let dist = i - cand;
    (dist <= WINDOW && read_u32(data, cand) == word).then_some(dist)
}

/// Length of the common prefix of `data[a..]` and `data[b..]`, at most `max`.
#[inline(always)]
fn common_prefix(data: &[u8], a: usize, b: usize, max: usize) -> usize {
    let mut n = 0;
    while n + 8 <= max {
        let (Some(x), Some(y)) = (data.get(a + n..a + n + 8), data.get(b + n..b + n + 8)) else {
            break;
        };
        let diff = u64::from_le_bytes(x.try_into().unwrap_or_default())
            ^ u64::from_le_bytes(y.try_into().unwrap_or_default());
        if diff != 0 {
            return n + (diff.trailing_zeros() / 8) as usize;
        }
        n += 8;
    }
    while n < max && data.get(a + n) == data.get(b + n) && a + n < data.len() {
        n += 1;
    }
    n
}

/// Where a parser puts what it finds.
pub(crate) trait TokenSink {
    /// Whether [`TokenSink::is_full`] must be checked before every token (a fixed-size
    /// buffer) or only now and then (a writer that merely wants to give up early).
    const EXACT: bool;
    /// Take a literal byte.
    fn literal(&mut self, byte: u8);
    /// Take two literal bytes, `first` then `second`.
    #[inline(always)]
    fn literals2(&mut self, first: u8, second: u8) {
        self.literal(first);
        self.literal(second);
    }
    /// Take three literal bytes, in order.
    #[inline(always)]
    fn literals3(&mut self, a: u8, b: u8, c: u8) {
        self.literals2(a, b);
        self.literal(c);
    }
    /// Take four literal bytes, in order.
    #[inline(always)]
    fn literals4(&mut self, a: u8, b: u8, c: u8, d: u8) {
        self.literals2(a, b);
        self.literals2(c, d);
    }
    /// Take a match (`3 <= length <= 258`, `1 <= distance <= 4096`).
    fn matched(&mut self, length: usize, distance: usize);
    /// Whether the sink takes no more (the parser then stops).
    fn is_full(&self) -> bool;
}

/// A sink that stores tokens for a block writer to price and write later.
struct TokenBuffer<'a> {
    tokens: &'a mut [u32],
    n: usize,
}

impl TokenSink for TokenBuffer<'_> {
    const EXACT: bool = true;

    #[inline(always)]
    fn literal(&mut self, byte: u8) {
        self.tokens[self.n] = literal(byte);
        self.n += 1;
    }

    #[inline(always)]
    fn matched(&mut self, length: usize, distance: usize) {
        self.tokens[self.n] = matched(length, distance);
        self.n += 1;
    }

    #[inline(always)]
    fn is_full(&self) -> bool {
        self.n >= self.tokens.len()
    }
}

/// Length of the match between positions `cand` and `i` whose first 4 bytes are known to
/// be equal, at most `max`.
#[inline(always)]
fn match_length(data: &[u8], cand: usize, i: usize, max: usize) -> usize {
    MIN_HASHED_MATCH
        + common_prefix(
            data,
            cand + MIN_HASHED_MATCH,
            i + MIN_HASHED_MATCH,
            max - MIN_HASHED_MATCH,
        )
}

/// Output of a parse: tokens written and the position reached.
pub(crate) struct Parsed {
    pub tokens: usize,
    pub end: usize,
}

impl MatchFinder {
    pub(crate) fn new() -> Self {
        Self {
            head: vec![0u32; HASH_SIZE].into(),
            prev: vec![0u32; WINDOW].into(),
            base: 1,
            next_base: 1,
        }
    }

    /// Start a new input of `len` bytes: earlier stamps become stale.
    pub(crate) fn start(&mut self, len: usize) {
        if u64::from(self.next_base) + len as u64 + 1 >= u64::from(u32::MAX) {
            self.head.fill(0);
            self.prev.fill(0);
            self.next_base = 1;
        }
        self.base = self.next_base;
        self.next_base = self.base + len as u32 + 1;
    }

    /// Insert positions `from..to` (history before a parse, for streaming).
    pub(crate) fn prime(&mut self, data: &[u8], from: usize, to: usize) {
        for i in from..to.min(data.len().saturating_sub(3)) {
            self.insert(data, i);
        }
    }

    #[inline(always)]
    fn insert(&mut self, data: &[u8], i: usize) {
        let h = hash4(read_u32(data, i));
        self.prev[i % WINDOW] = self.head[h];
        self.head[h] = self.base + i as u32;
    }

    /// Greedy parse of `data[start..end]` (bytes before `start` are history) into `tokens`.
    pub(crate) fn parse_greedy(
        &mut self,
        data: &[u8],
        start: usize,
        end: usize,
        tokens: &mut [u32],
    ) -> Parsed {
        let mut sink = TokenBuffer { tokens, n: 0 };
        let end = self.greedy(data, start, end, &mut sink);
        Parsed {
            tokens: sink.n,
            end,
        }
    }

    /// The greedy parse, handing each literal and match to `sink` as it is found; returns
    /// the position reached (`end`, unless the sink filled up).
    #[inline(always)]
    pub(crate) fn greedy<S: TokenSink>(
        &mut self,
        data: &[u8],
        start: usize,
        end: usize,
        sink: &mut S,
    ) -> usize {
        let base = self.base;
        let hash_end = end.saturating_sub(MIN_HASHED_MATCH - 1);
        let mut i = start;
        let mut misses = 0u32;
        // Four positions per step while 8 bytes can be read: their table loads are
        // independent, so all four are in flight at once (the head table is an L2 access),
        // a literal run costs one loop test per four bytes, and the literals before a
        // match (or four of them) go out in one put. Every position of the step is
        // indexed, even those a match then covers. Positions of one step that share a
        // table slot do not see each other (the slot ends with the last one): a little
        // ratio for no dependency between them. A step may hand over four tokens, so a
        // fixed-size token buffer (EXACT) takes the one-position loop below.
        while !S::EXACT && i + 8 <= end {
            let quad = read_u64(data, i);
            let words = [0, 8, 16, 24].map(|shift| (quad >> shift) as u32);
            let slots = words.map(hash4_greedy);
            let stamps = slots.map(|h| self.head[h]);
            for (k, &h) in slots.iter().enumerate() {
                self.head[h] = base + (i + k) as u32;
            }
            let b = |k: usize| data[i + k];
            if let Some(dist) = candidate(data, base, stamps[0], i, words[0]) {
                i += self.take_match::<S, false>(data, i, dist, end, hash_end, sink);
            } else if let Some(dist) = candidate(data, base, stamps[1], i + 1, words[1]) {
                sink.literal(b(0));
                i += 1 + self.take_match::<S, false>(data, i + 1, dist, end, hash_end, sink);
            } else if let Some(dist) = candidate(data, base, stamps[2], i + 2, words[2]) {
                sink.literals2(b(0), b(1));
                i += 2 + self.take_match::<S, false>(data, i + 2, dist, end, hash_end, sink);
            } else if let Some(dist) = candidate(data, base, stamps[3], i + 3, words[3]) {
                sink.literals3(b(0), b(1), b(2));
                i += 3 + self.take_match::<S, false>(data, i + 3, dist, end, hash_end, sink);
            } else {
                sink.literals4(b(0), b(1), b(2), b(3));
                i += 4;
                misses += 4;
                if misses > SKIP_AFTER {
                    if sink.is_full() {
                        return i;
                    }
                    i = skip_literals(data, i, hash_end, misses, sink);
                }
                continue;
            }
            misses = 0;
            if sink.is_full() {
                return i; // the output overflowed: the page goes raw
            }
        }
        while i < hash_end && !(S::EXACT && sink.is_full()) {
            let word = read_u32(data, i);
            let h = hash4_greedy(word);
            let stamp = core::mem::replace(&mut self.head[h], base + i as u32);
            if let Some(dist) = candidate(data, base, stamp, i, word) {
                i += self.take_match::<S, true>(data, i, dist, end, hash_end, sink);
                misses = 0;
                if !S::EXACT && sink.is_full() {
                    break;
                }
                continue;
            }
            sink.literal(data[i]);
            i += 1;
            misses += 1;
            if misses > SKIP_AFTER {
                if sink.is_full() {
                    break;
                }
                i = skip_literals(data, i, hash_end, misses, sink);
            }
        }
        while i < end && !sink.is_full() {
            sink.literal(data[i]);
            i += 1;
        }
        i
    }

    /// Hand the match at `i` (`dist` back) to `sink`; returns its length.
    ///
    /// Then index the end of the match (LZ4's trick: inner positions rarely start a better
    /// match than the one just taken). `INDEX_TAIL` (the token-buffer loop): its last two
    /// positions. Otherwise (the four-position loop, whose next step indexes the four
    /// positions after the match anyway) only the last position of a match longer than
    /// 32 bytes: a run (zeros, a repeated pattern) then continues at its own short period —
    /// which decodes faster than the same run at a longer distance (decode_ab:
    /// pageflate-fast pages 1.47× → 1.58× libdeflate) — while indexing every match's tail
    /// cost 4.5 % of the fast level's speed for 0.003 of ratio.
    #[inline(always)]
    fn take_match<S: TokenSink, const INDEX_TAIL: bool>(
        &mut self,
        data: &[u8],
        i: usize,
        dist: usize,
        end: usize,
        hash_end: usize,
        sink: &mut S,
    ) -> usize {
        let max = (end - i).min(MAX_MATCH);
        let len = match_length(data, i - dist, i, max);
        sink.matched(len, dist);
        if let Some(from) = tail_to_index::<INDEX_TAIL>(i, len) {
            for j in from..(i + len).min(hash_end) {
                self.head[hash4_greedy(read_u32(data, j))] = self.base + j as u32;
            }
        }
        len
    }

    /// Search the chain starting at `stamp` for the longest match of position `i` longer
    /// than `beat` (see [`LazyFinder::insert_and_search`]).
    #[inline(always)]
    fn search_chain(
        &self,
        data: &[u8],
        i: usize,
        end: usize,
        p: &LazyParams,
        mut stamp: u32,
        beat: usize,
    ) -> (usize, usize) {
        let word = read_u32(data, i);
        let base = self.base;
        let max = (end - i).min(MAX_MATCH);
        let mut best = (beat, 0usize);
        if max < MIN_HASHED_MATCH {
            return best;
        }
        let mut depth = p.search_depth(beat);
        while stamp >= base && depth > 0 {
            let cand = (stamp - base) as usize;
            if cand < i && i - cand > WINDOW {
                break;
            }
            // Cheap reject: the byte just past the best length must match too.
            // (A chain can hold `i` itself when a parse resumes there: skip it.)
            if cand < i
                && data.get(cand + best.0) == data.get(i + best.0)
                && read_u32(data, cand) == word
            {
                let len = match_length(data, cand, i, max);
                if len > best.0 {
                    best = (len, i - cand);
                    if len >= p.nice.min(max) {
                        break;
                    }
                }
            }
            let next = self.prev[cand % WINDOW];
            if next >= stamp {
                break; // slot reused by a newer position: the chain ends here
            }
            stamp = next;
            depth -= 1;
        }
        best
    }

    /// Lazy parse with hash chains (see the module docs) of `data[start..end]` into
    /// `tokens`.
    pub(crate) fn parse_lazy(
        &mut self,
        data: &[u8],
        start: usize,
        end: usize,
        tokens: &mut [u32],
        p: &LazyParams,
    ) -> Parsed {
        let mut sink = TokenBuffer { tokens, n: 0 };
        let end = lazy(self, data, start, end, end, &mut sink, p);
        Parsed {
            tokens: sink.n,
            end,
        }
    }
}

impl LazyFinder for MatchFinder {
    #[inline(always)]
    fn insert(&mut self, data: &[u8], i: usize) {
        MatchFinder::insert(self, data, i);
    }

    /// One load of the hash head (the head table is the parser's cache-miss hot spot).
    #[inline(always)]
    fn insert_and_search(
        &mut self,
        data: &[u8],
        i: usize,
        end: usize,
        p: &LazyParams,
        beat: usize,
    ) -> (usize, usize) {
        let word = read_u32(data, i);
        let h = hash4(word);
        let head = self.head[h];
        self.prev[i % WINDOW] = head;
        self.head[h] = self.base + i as u32;
        self.search_chain(data, i, end, p, head, beat)
    }
}

/// Where the lazy parser finds candidates: hash chains ([`MatchFinder`]) or two-entry
/// buckets ([`PageBuckets`]).
pub(crate) trait LazyFinder {
    /// Index position `i` (its 4 bytes must be readable).
    fn insert(&mut self, data: &[u8], i: usize);
    /// Index position `i` and return the longest match (length, distance) among the
    /// candidates the finder holds for it within `end` if it is longer than `beat`;
    /// otherwise `(beat, 0)` (with `beat` 0: a length below 4 if none). Candidates that
    /// cannot beat it are rejected on one byte, without measuring their length.
    fn insert_and_search(
        &mut self,
        data: &[u8],
        i: usize,
        end: usize,
        p: &LazyParams,
        beat: usize,
    ) -> (usize, usize);
}

/// Hash bits of [`PageBuckets`]: 128 KiB of slots. With 13 bits (32 KiB, cleared for each
/// page) half the slots of a page's end are taken, so on pages that keep many literals the
/// "no candidate" branch mispredicts and more candidates fail their compare; 15 bits ran
/// those pages 8–9 % faster, and the stamps below make the larger table cost no clearing:
/// +3 % on the corpus (`encode_ab dense`, Zen 5), ratio 0.3652 → 0.3651.
const BUCKET_HASH_BITS: u32 = 15;

/// Two-entry hash buckets for one page at a time (libdeflate's level-1 match finder has
/// the same shape): each slot holds the two latest positions with that hash as `u16`
/// stamps, the newer in the low half. One load yields both candidates — the same two a
/// hash chain of depth 2 reaches, without the chain's second, dependent load.
///
/// A stamp is `base + 1 + position`, where each page's `base` starts past the previous
/// page's stamps, so entries of earlier pages read as positions past the page's end and
/// the parsers' `cand >= i` test rejects them with empty entries: the table is cleared
/// only when the stamps run out (every 15 pages of 4 KiB).
pub(crate) struct PageBuckets {
    slots: Box<[u32; 1 << BUCKET_HASH_BITS]>,
    /// One less than the stamp of the current page's position 0.
    base: u32,
    /// Length of the current page.
    len: u32,
}

impl PageBuckets {
    /// Longest page the `u16` positions can index.
    pub(crate) const MAX_PAGE: usize = u16::MAX as usize - 1;

    pub(crate) fn new() -> Self {
        Self {
            slots: Box::new([0; 1 << BUCKET_HASH_BITS]),
            base: 0,
            // So that the first page clears the (already zero) table and starts at 0.
            len: u32::from(u16::MAX),
        }
    }

    /// Forget the previous page; the next is `len` bytes (at most [`Self::MAX_PAGE`]).
    pub(crate) fn start(&mut self, len: usize) {
        debug_assert!(len <= Self::MAX_PAGE);
        let len = len.min(Self::MAX_PAGE) as u32;
        // Stamps are u16. This page's run from `base + 1` to `base + len`; every stale
        // entry is at most the new `base` (the last page's end), so it reads as a position
        // of at least `u16::MAX - base`, which must be at least `len`.
        let next = self.base + self.len;
        if next + len > u32::from(u16::MAX) {
            self.slots.fill(0);
            self.base = 0;
        } else {
            self.base = next;
        }
        self.len = len;
    }

    /// The position a slot entry stands for: at or past the page's end for an empty entry
    /// or one from an earlier page.
    #[inline(always)]
    pub(super) fn position(&self, entry: u32) -> usize {
        (entry.wrapping_sub(self.base + 1) & 0xffff) as usize
    }

    #[inline(always)]
    fn slot(word: u32) -> usize {
        (word.wrapping_mul(0x9E37_79B1) >> (32 - BUCKET_HASH_BITS)) as usize
    }

    /// Put position `i` into the slot of `word`; returns the slot's previous two entries.
    #[inline(always)]
    pub(super) fn push(&mut self, word: u32, i: usize) -> u32 {
        let stamp = self.base + 1 + i as u32;
        let slot = &mut self.slots[Self::slot(word)];
        let old = *slot;
        *slot = old << 16 | stamp;
        old
    }
}

impl LazyFinder for PageBuckets {
    #[inline(always)]
    fn insert(&mut self, data: &[u8], i: usize) {
        self.push(read_u32(data, i), i);
    }

    #[inline(always)]
    fn insert_and_search(
        &mut self,
        data: &[u8],
        i: usize,
        end: usize,
        p: &LazyParams,
        beat: usize,
    ) -> (usize, usize) {
        let word = read_u32(data, i);
        let entries = self.push(word, i);
        let max = (end - i).min(MAX_MATCH);
        let mut best = (beat, 0usize);
        if max < MIN_HASHED_MATCH {
            return best;
        }
        let depth = p.search_depth(beat) as usize;
        for entry in [entries & 0xffff, entries >> 16].into_iter().take(depth) {
            // Empty or from an earlier page (and so is the older one), or out of the
            // window (the older one even more so); `i` itself when a parse resumes at an
            // indexed position.
            let cand = self.position(entry);
            if cand >= i || i - cand > WINDOW {
                break;
            }
            if read_u32(data, cand) == word && data.get(cand + best.0) == data.get(i + best.0) {
                let len = match_length(data, cand, i, max);
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
}

/// Lazy parse of `data[start..end]` over `finder` into `sink`: candidates searched up to
/// a depth, and one step of lazy evaluation (a literal now if the next position has a
/// longer match). No token starts at or after `stop`, but matches may reach past it (to
/// `end`): a parse stopped early (the dense page path's early raw decision) resumes where
/// this one returns, as if it had not stopped. Returns the position reached (at least
/// `stop.min(end)`, unless the sink filled up).
#[inline(always)]
pub(crate) fn lazy<C: LazyFinder, S: TokenSink>(
    finder: &mut C,
    data: &[u8],
    start: usize,
    stop: usize,
    end: usize,
    sink: &mut S,
    p: &LazyParams,
) -> usize {
    let hash_end = end.saturating_sub(MIN_HASHED_MATCH - 1);
    let mut i = start;
    let mut pending: Option<(usize, usize)> = None;
    let mut misses = 0u32;
    while i < hash_end && (i < stop || pending.is_some()) && !sink.is_full() {
        let (len, dist) = match pending.take() {
            Some(m) => m,
            None => finder.insert_and_search(data, i, end, p, 0),
        };
        if len < MIN_HASHED_MATCH {
            sink.literal(data[i]);
            i += 1;
            misses += 1;
            // As in the greedy parser: through long match-less stretches (random or
            // compressed data) step over bytes unsearched, at a growing stride.
            if misses > 64 {
                let stop = (i + ((misses - 64) >> 4).min(16) as usize).min(hash_end);
                while i < stop && !sink.is_full() {
                    sink.literal(data[i]);
                    i += 1;
                }
            }
            continue;
        }
        misses = 0;
        let mut inserted_to = i + 1;
        if i + 1 < hash_end {
            let next = finder.insert_and_search(data, i + 1, end, p, len);
            inserted_to = i + 2;
            if next.0 > len {
                sink.literal(data[i]);
                i += 1;
                pending = Some(next);
                continue;
            }
        }
        sink.matched(len, dist);
        // Index the match's last positions (see `LazyParams::tail`).
        let stop = (i + len).min(hash_end);
        let from = stop.saturating_sub(p.tail).max(inserted_to);
        for j in from..stop {
            finder.insert(data, j);
        }
        i += len;
    }
    // A pending match dropped here (the token buffer filled) is found again by the next
    // parse, which resumes at `i`.
    while i < stop.min(end) && !sink.is_full() {
        sink.literal(data[i]);
        i += 1;
    }
    i
}
