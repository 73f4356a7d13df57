//! Writing one block: count symbol frequencies, price the block as stored, fixed and
//! dynamic Huffman exactly (in bits), and emit the cheapest.

use super::matchfind::WINDOW;
use super::tokens::{
    dist_symbol, is_match, length_symbol, token_dist_symbol, token_length_symbol, DIST_EXTRA_BITS,
    DIST_SLOTS, EOB, LENGTH_EXTRA_BITS, MAX_MATCH, MIN_MATCH,
};
use crate::bits::BitWriter;
use crate::huffman::{build_code_lengths, canonical_codes, LengthCounts};
use crate::inflate::tables::PRECODE_ORDER;
use crate::inflate::tables::{DIST_BASE, LENGTH_BASE};
use alloc::boxed::Box;

/// Literal/length alphabet size including the two reserved symbols: the fixed code
/// assigns them codewords, and canonical codes depend on every length.
const NUM_LITLEN: usize = 288;
const NUM_DIST: usize = 30;
const NUM_PRECODE: usize = 19;
/// Largest stored block.
const MAX_STORED: usize = 65535;

/// How a block was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockKind {
    /// BTYPE 00: the bytes as they are.
    Stored,
    /// BTYPE 01: RFC 1951's fixed code.
    Fixed,
    /// BTYPE 10: a code built for the block.
    Dynamic,
    /// BTYPE 10 with pageflate's built-in code for guest memory ([`super::canned`]): a
    /// dynamic block whose code (and header) is prepared once, not per block.
    Canned,
}

/// Symbol frequencies of a parse (what IAA's statistics pass reports, `iaa.md` §5.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Histogram {
    /// Literal/length symbols 0..=285 (256 = end of block, counted once per block).
    pub litlen: [u32; 286],
    /// Distance symbols 0..=29.
    pub dist: [u32; 30],
}

impl Default for Histogram {
    fn default() -> Self {
        Self {
            litlen: [0; 286],
            dist: [0; 30],
        }
    }
}

/// A Huffman code ready for writing: lengths and bit-reversed codewords.
#[derive(Clone)]
struct Code<const N: usize> {
    lens: [u8; N],
    rev: [u16; N],
    /// `rev | len << 16 | (len + extra) << 24`, where `extra` is the symbol's count of
    /// extra bits (length and distance symbols): one load per symbol on the hot paths.
    packed: [u32; N],
}

impl<const N: usize> Code<N> {
    const fn new() -> Self {
        Self {
            lens: [0; N],
            rev: [0; N],
            packed: [0; N],
        }
    }

    /// Compute the (bit-reversed) codewords for the current lengths, and their packed
    /// form.
    fn assign_codewords(&mut self) {
        // Canonical codewords (RFC 1951 §3.2.2) in one pass over the symbols, each
        // bit-reversed with two byte-table lookups and no branch (an unused symbol has
        // length 0 and shifts its codeword out entirely). The two halves of the alphabet
        // are assigned side by side, each with its own next-codeword counters (the second
        // half's start after the first half's codewords of each length): runs of equal
        // lengths then advance two counters in turn instead of waiting on one.
        let half = N / 2;
        let (first, second) = self.lens.split_at(half);
        let mut count = [[0u16; 16]; 2];
        for (c, lens) in count.iter_mut().zip([first, second]) {
            for &len in lens {
                c[usize::from(len & 15)] += 1;
            }
        }
        // Unused symbols take no codewords.
        count[0][0] = 0;
        count[1][0] = 0;
        let mut next = [[0u32; 16]; 2];
        let mut code = 0u32;
        for len in 1..16 {
            code = (code + u32::from(count[0][len - 1] + count[1][len - 1])) << 1;
            next[0][len] = code;
            next[1][len] = code + u32::from(count[0][len]);
        }
        let [next_a, next_b] = &mut next;
        for i in 0..half {
            self.assign(i, next_a);
            self.assign(half + i, next_b);
        }
        if N % 2 == 1 {
            self.assign(N - 1, next_b);
        }
    }

    /// Give `sym` the next codeword of its length (`next`: the next codeword of each
    /// length), bit-reversed, and its packed entry.
    #[inline(always)]
    fn assign(&mut self, sym: usize, next: &mut [u32; 16]) {
        let len = self.lens[sym];
        let slot = &mut next[usize::from(len & 15)];
        let rev = reverse16(*slot) >> (16 - u32::from(len & 15));
        *slot += 1;
        self.rev[sym] = rev as u16;
        let total = u32::from(len) + symbol_extra_bits::<N>(sym);
        self.packed[sym] = rev | u32::from(len) << 16 | total << 24;
    }

    /// [`Self::assign_codewords`] for the symbols that have a codeword only (on a page's
    /// code, about a quarter of the literal/length alphabet). The other symbols keep
    /// whatever entries they had, so callers must never look one up: true of a code
    /// built from the counts of the very tokens it then writes, where every counted
    /// symbol has a codeword.
    ///
    /// `count` is how many symbols have each length, as [`build_code_lengths`] returns it
    /// (counting them here again cost as much as the rest: the unused symbols' zero
    /// lengths incremented one counter back to back, a chain through memory).
    fn assign_used_codewords(&mut self, count: &LengthCounts) {
        // The used symbols in order, gathered without a branch (whether a symbol is used
        // is as random as the data).
        let mut used = [0u16; N];
        let mut n = 0;
        for (sym, &len) in self.lens.iter().enumerate() {
            used[n] = sym as u16;
            n += usize::from(len != 0);
        }
        let mut next = [0u32; 16];
        let mut code = 0u32;
        for len in 1..16 {
            code = (code + u32::from(count[len - 1])) << 1;
            next[len] = code;
        }
        for &sym in &used[..n] {
            self.assign(usize::from(sym), &mut next);
        }
    }

    /// Bits of the symbols counted in `freqs` (its first `N` entries) under this code.
    fn cost(&self, freqs: &[u32]) -> u64 {
        // u32 products and sum (at most 16384 symbols of ≤ 15 bits a block): vectorizes.
        let bits: u32 = freqs
            .iter()
            .zip(&self.lens)
            .map(|(&f, &l)| f * u32::from(l))
            .sum();
        u64::from(bits)
    }
}

/// `code`'s low 16 bits reversed (in the low 16 bits of the result).
#[inline(always)]
fn reverse16(code: u32) -> u32 {
    u32::from(REVERSED_BYTE[(code & 0xff) as usize]) << 8
        | u32::from(REVERSED_BYTE[((code >> 8) & 0xff) as usize])
}

/// Each byte with its bits reversed.
static REVERSED_BYTE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = (i as u8).reverse_bits();
        i += 1;
    }
    t
};

/// Extra bits following symbol `sym` of a code over `N` symbols: the length symbols'
/// of the literal/length code, the distance symbols' of the distance code, none else.
#[inline(always)]
fn symbol_extra_bits<const N: usize>(sym: usize) -> u32 {
    match N {
        NUM_LITLEN if (257..286).contains(&sym) => u32::from(LENGTH_EXTRA_BITS[sym - 257]),
        NUM_DIST => u32::from(DIST_EXTRA_BITS[sym]),
        _ => 0,
    }
}

/// A distance code's packed entries for every distance slot of a token: the 30 symbols,
/// then zero bits for [`NO_DIST`](super::tokens::NO_DIST) (literal tokens).
fn dist_slots(code: &Code<NUM_DIST>) -> [u32; DIST_SLOTS] {
    let mut slots = [0u32; DIST_SLOTS];
    slots[..NUM_DIST].copy_from_slice(&code.packed);
    slots
}

/// Scratch space and codes for block writing, reused from block to block.
pub(crate) struct BlockWriter {
    litlen_freq: [u32; NUM_LITLEN],
    /// Indexed by a token's distance slot ([`NO_DIST`](super::tokens::NO_DIST) counts literals, and is ignored).
    dist_freq: [u32; DIST_SLOTS],
    extra_bits: u64,
    litlen: Code<NUM_LITLEN>,
    dist: Code<NUM_DIST>,
    fixed_litlen: Code<NUM_LITLEN>,
    fixed_dist: Code<NUM_DIST>,
    precode: Code<NUM_PRECODE>,
    canned: CannedBlock,
    /// Run-length coded code lengths: (precode symbol, extra value).
    rle: [(u8, u8); RLE_CAP],
    rle_len: usize,
    num_litlen: usize,
    num_dist: usize,
    num_precode: usize,
}

impl BlockWriter {
    pub(crate) fn new() -> Self {
        let mut fixed_litlen = Code::new();
        for (sym, l) in fixed_litlen.lens.iter_mut().enumerate() {
            *l = match sym {
                0..=143 => 8,
                144..=255 => 9,
                256..=279 => 7,
                _ => 8,
            };
        }
        fixed_litlen.assign_codewords();
        let mut fixed_dist = Code::new();
        fixed_dist.lens = [5; NUM_DIST];
        fixed_dist.assign_codewords();
        let mut writer = Self {
            litlen_freq: [0; NUM_LITLEN],
            dist_freq: [0; DIST_SLOTS],
            extra_bits: 0,
            litlen: Code::new(),
            dist: Code::new(),
            fixed_litlen,
            fixed_dist,
            precode: Code::new(),
            rle: [(0, 0); RLE_CAP],
            rle_len: 0,
            num_litlen: 0,
            num_dist: 0,
            num_precode: 0,
            canned: CannedBlock::empty(),
        };
        writer.canned = CannedBlock::prepare(&mut writer);
        writer
    }

    /// Add the symbol counts of `tokens` (plus one end-of-block) to `hist`.
    pub(crate) fn add_to_histogram(&mut self, tokens: &[u32], hist: &mut Histogram) {
        self.count(tokens);
        for (h, &f) in hist.litlen.iter_mut().zip(&self.litlen_freq) {
            *h += f;
        }
        for (h, &f) in hist.dist.iter_mut().zip(&self.dist_freq) {
            *h += f;
        }
    }

    /// Start a final canned block in `w` and return a sink that writes each literal and
    /// match straight into it as the parser finds them (no token buffer, no pricing pass).
    /// Finish with [`DirectSink::end_block`].
    pub(crate) fn start_canned<'a, 'w>(&'a self, mut w: BitWriter<'w>) -> DirectSink<'a, 'w> {
        let tables = &self.canned.tables;
        w.start_with(&tables.start, tables.start_bits);
        DirectSink {
            w,
            canned: &self.canned,
        }
    }

    /// The canned code's tables, for the fast level's 4 KiB page kernel
    /// ([`super::fast_page`]).
    pub(crate) fn canned_tables(&self) -> &CannedTables {
        &self.canned.tables
    }

    /// Like [`Self::choose`] among stored, fixed and the canned code only: no code is
    /// built, so pricing costs one pass over the tokens and two dot products.
    pub(crate) fn choose_static(
        &mut self,
        tokens: &[u32],
        raw: &[u8],
        bit_pos: u64,
    ) -> (BlockKind, u64) {
        self.count(tokens);
        let fixed = 3
            + self.fixed_litlen.cost(&self.litlen_freq)
            + self.fixed_dist.cost(&self.dist_freq)
            + self.extra_bits;
        let canned = 3
            + self.canned.header_bits
            + self.canned.litlen.cost(&self.litlen_freq)
            + self.canned.dist.cost(&self.dist_freq)
            + self.extra_bits;
        let stored = stored_cost(raw.len(), bit_pos);
        cheapest([
            (BlockKind::Fixed, fixed),
            (BlockKind::Canned, canned),
            (BlockKind::Stored, stored),
        ])
    }

    /// The cheapest encoding of `tokens` (which decode to `raw`) and its size in bits,
    /// given that the writer currently stands at bit offset `bit_pos`. Prepares the
    /// dynamic code as a side effect, for [`Self::write`].
    pub(crate) fn choose(&mut self, tokens: &[u32], raw: &[u8], bit_pos: u64) -> (BlockKind, u64) {
        self.count(tokens);
        self.price_all(raw, bit_pos)
    }

    /// Price the counted block as stored, fixed and dynamic (building the dynamic code).
    fn price_all(&mut self, raw: &[u8], bit_pos: u64) -> (BlockKind, u64) {
        let dynamic = 3
            + self.prepare_dynamic()
            + self.litlen.cost(&self.litlen_freq)
            + self.dist.cost(&self.dist_freq)
            + self.extra_bits;
        let fixed = 3
            + self.fixed_litlen.cost(&self.litlen_freq)
            + self.fixed_dist.cost(&self.dist_freq)
            + self.extra_bits;
        let stored = stored_cost(raw.len(), bit_pos);
        cheapest([
            (BlockKind::Fixed, fixed),
            (BlockKind::Dynamic, dynamic),
            (BlockKind::Stored, stored),
        ])
    }

    /// Write the block as `kind` (from [`Self::choose`] on the same tokens).
    pub(crate) fn write(
        &self,
        w: &mut BitWriter<'_>,
        kind: BlockKind,
        tokens: &[u32],
        raw: &[u8],
        is_final: bool,
    ) {
        let bfinal = u32::from(is_final);
        match kind {
            BlockKind::Stored => write_stored(w, raw, is_final),
            BlockKind::Fixed => {
                w.put(bfinal | 1 << 1, 3);
                write_tokens(w, tokens, &self.fixed_litlen, &self.fixed_dist);
            }
            BlockKind::Dynamic => {
                w.put(bfinal | 2 << 1, 3);
                self.write_dynamic_header(w);
                write_tokens(w, tokens, &self.litlen, &self.dist);
            }
            BlockKind::Canned => {
                w.put(bfinal | 2 << 1, 3);
                self.canned.write_header(w);
                write_tokens(w, tokens, &self.canned.litlen, &self.canned.dist);
            }
        }
    }

    /// A token sink that counts each symbol as the parser hands it over (no second pass
    /// over the tokens to count them); then [`Self::choose_counted`].
    pub(crate) fn counting_sink<'t>(&mut self, tokens: &'t mut [u32]) -> CountingSink<'_, 't> {
        self.litlen_freq = [0; NUM_LITLEN];
        self.dist_freq = [0; DIST_SLOTS];
        CountingSink {
            tokens,
            n: 0,
            litlen_freq: &mut self.litlen_freq,
            dist_freq: &mut self.dist_freq,
            canned: &self.canned,
        }
    }

    /// [`Self::choose`] for tokens a [`CountingSink`] of this writer has just counted.
    pub(crate) fn choose_counted(&mut self, raw: &[u8], bit_pos: u64) -> (BlockKind, u64) {
        self.finish_counts();
        self.price_all(raw, bit_pos)
    }

    /// Symbol frequencies and extra-bit total of a block's tokens (EOB included).
    fn count(&mut self, tokens: &[u32]) {
        // Two histograms, for even and odd tokens: runs of the same symbol then increment
        // two counters in turn instead of waiting on one (store-to-load forwarding).
        // No branch on the token's kind: a literal counts in the distance slot NO_DIST.
        let mut lit = [[0u32; NUM_LITLEN]; 2];
        let mut dist = [[0u32; DIST_SLOTS]; 2];
        for pair in tokens.chunks(2) {
            for (k, &t) in pair.iter().enumerate() {
                lit[k][token_length_symbol(t)] += 1;
                dist[k][token_dist_symbol(t)] += 1;
            }
        }
        for (f, (a, b)) in self.litlen_freq.iter_mut().zip(lit[0].iter().zip(&lit[1])) {
            *f = a + b;
        }
        for (f, (a, b)) in self.dist_freq.iter_mut().zip(dist[0].iter().zip(&dist[1])) {
            *f = a + b;
        }
        self.finish_counts();
    }

    /// Count the end-of-block symbol and total the extra bits of the counted matches.
    fn finish_counts(&mut self) {
        self.litlen_freq[EOB] = 1;
        // Extra bits follow from the symbol counts: no per-token work.
        let length_extra: u64 = LENGTH_EXTRA_BITS
            .iter()
            .zip(&self.litlen_freq[257..286])
            .map(|(&b, &f)| u64::from(b) * u64::from(f))
            .sum();
        let dist_extra: u64 = DIST_EXTRA_BITS
            .iter()
            .zip(&self.dist_freq[..NUM_DIST])
            .map(|(&b, &f)| u64::from(b) * u64::from(f))
            .sum();
        self.extra_bits = length_extra + dist_extra;
    }

    /// Build the dynamic codes and their header; returns the header's size in bits
    /// (after the 3 block-header bits).
    fn prepare_dynamic(&mut self) -> u64 {
        let litlen_counts = build_code_lengths(&self.litlen_freq, 15, &mut self.litlen.lens);
        let mut dist_counts =
            build_code_lengths(&self.dist_freq[..NUM_DIST], 15, &mut self.dist.lens);
        if dist_counts[1..].iter().all(|&c| c == 0) {
            // No matches: still describe a (complete) distance code, as zlib does.
            self.dist.lens[0] = 1;
            self.dist.lens[1] = 1;
            dist_counts[1] = 2;
        }
        // Built from the counts of the tokens about to be written: every symbol written
        // has a codeword.
        self.litlen.assign_used_codewords(&litlen_counts);
        self.dist.assign_used_codewords(&dist_counts);
        self.prepare_header()
    }

    /// Run-length code the current dynamic lengths and build the precode; returns the
    /// header's size in bits (after the 3 block-header bits).
    fn prepare_header(&mut self) -> u64 {
        self.num_litlen = 257.max(last_used(&self.litlen.lens));
        self.num_dist = 1.max(last_used(&self.dist.lens));

        // Run-length code the concatenated lengths with symbols 16 (repeat), 17, 18 (zeros).
        let mut all = [0u8; NUM_LITLEN + NUM_DIST];
        all[..self.num_litlen].copy_from_slice(&self.litlen.lens[..self.num_litlen]);
        all[self.num_litlen..self.num_litlen + self.num_dist]
            .copy_from_slice(&self.dist.lens[..self.num_dist]);
        self.rle_len = rle_lengths(&all[..self.num_litlen + self.num_dist], &mut self.rle);

        // Counted in two tables, for even and odd items: an item often repeats the one
        // before it, and one table would then wait on its own last increment.
        let mut counts = [[0u32; 32]; 2];
        for pair in self.rle[..self.rle_len].chunks(2) {
            for (c, &(sym, _)) in counts.iter_mut().zip(pair) {
                c[usize::from(sym) & 31] += 1;
            }
        }
        let mut freq = [0u32; NUM_PRECODE];
        for (f, (a, b)) in freq.iter_mut().zip(counts[0].iter().zip(&counts[1])) {
            *f = a + b;
        }
        let extra: u64 = freq
            .iter()
            .zip(&PRECODE_EXTRA_BITS)
            .map(|(&f, &b)| u64::from(f) * u64::from(b))
            .sum();
        build_code_lengths(&freq, 7, &mut self.precode.lens);
        self.precode.assign_codewords();
        self.num_precode = 4.max(
            PRECODE_ORDER
                .iter()
                .rposition(|&s| self.precode.lens[usize::from(s)] != 0)
                .map_or(0, |i| i + 1),
        );
        14 + 3 * self.num_precode as u64 + self.precode.cost(&freq) + extra
    }

    fn write_dynamic_header(&self, w: &mut BitWriter<'_>) {
        let counts =
            (self.num_litlen - 257) | (self.num_dist - 1) << 5 | (self.num_precode - 4) << 10;
        w.put(counts as u32, 14);
        // The precode's lengths, 3 bits each, ten to a put (a put takes at most 56 bits).
        for group in PRECODE_ORDER[..self.num_precode].chunks(10) {
            let bits = group.iter().rev().fold(0u64, |bits, &sym| {
                bits << 3 | u64::from(self.precode.lens[usize::from(sym)])
            });
            w.put_wide(bits, 3 * group.len() as u32);
        }
        // Each item's codeword and extra bits in one put, without a branch on the symbol
        // (which of 0..=18 comes next is as random as the code lengths), the writer's state
        // held in registers across the items.
        w.put_each(&self.rle[..self.rle_len], |(sym, extra)| {
            let s = usize::from(sym) % NUM_PRECODE;
            let len = u32::from(self.precode.lens[s]);
            let bits = u32::from(self.precode.rev[s]) | u32::from(extra) << len;
            (u64::from(bits), len + u32::from(PRECODE_EXTRA_BITS[s]))
        });
    }
}

/// Extra bits after each code-length symbol: 2, 3 and 7 for the run symbols 16, 17, 18.
const PRECODE_EXTRA_BITS: [u8; NUM_PRECODE] =
    [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 3, 7];

/// The cheapest of the priced encodings; on a tie the earlier one wins (fixed before a
/// built code, both before stored).
fn cheapest(options: [(BlockKind, u64); 3]) -> (BlockKind, u64) {
    options
        .into_iter()
        .fold(options[0], |best, o| if o.1 < best.1 { o } else { best })
}

/// One past the last used symbol.
fn last_used(lens: &[u8]) -> usize {
    lens.iter().rposition(|&l| l != 0).map_or(0, |i| i + 1)
}

/// Room for the run-length items of a code description: one per length at most, plus the
/// two slots [`rle_lengths`] may write past its last item.
const RLE_CAP: usize = NUM_LITLEN + NUM_DIST + 2;

/// Run-length code `lens` (at most `NUM_LITLEN + NUM_DIST` lengths, each ≤ 15) into `out`
/// (RFC 1951 §3.2.7); returns the item count. zlib's choices: a length, then repeats of it
/// in 16s of up to 6; zeros in 18s of up to 138, then a 17 for 3–10, single items below 3.
///
/// A code's runs are mostly short and their lengths as random as the code, so a branch per
/// length or per case mispredicts at nearly every run. Here each run is measured with one
/// 8-byte compare, and a short one (a length up to 7 times, zeros up to 138 times: almost
/// all) is written as the three items of its [`ShortRun`] pattern without a branch, the
/// item count advancing by how many of them belong to it. Longer runs take the plain loop
/// ([`rle_long_run`]). Same items as the plain loop, checked in the tests.
fn rle_lengths(lens: &[u8], out: &mut [(u8, u8); RLE_CAP]) -> usize {
    let n = lens.len().min(NUM_LITLEN + NUM_DIST);
    // Padded with a value no length has, so every run ends inside the buffer.
    let mut padded = [0xffu8; NUM_LITLEN + NUM_DIST + 8];
    padded[..n].copy_from_slice(&lens[..n]);
    let (mut i, mut k) = (0, 0);
    while i < n {
        let len = padded[i];
        let run = run_length(&padded, i, len);
        i += run;
        let short = if len == 0 { run <= 138 } else { run <= 7 };
        // `k + 3 <= RLE_CAP` always holds (at most one item per length so far); tested so
        // the three stores need no bounds tests of their own.
        if short && k + 3 <= RLE_CAP {
            let p = SHORT_RUNS[usize::from(len == 0) * 139 + run];
            // A pattern's symbol 0 stands for the run's own length (a literal item);
            // 16, 17 and 18 stay themselves (lengths are ≤ 15).
            out[k] = (p.items[0].0.max(len), p.items[0].1);
            out[k + 1] = (p.items[1].0.max(len), p.items[1].1);
            out[k + 2] = (len, 0);
            k += usize::from(p.count);
        } else {
            k = rle_long_run(out, k, len, run);
        }
    }
    k
}

/// Length of the run of `len` starting at `padded[i]` (`padded` ends in 8 bytes that are
/// no length, so the run ends before them).
#[inline(always)]
fn run_length(padded: &[u8; NUM_LITLEN + NUM_DIST + 8], i: usize, len: u8) -> usize {
    let splat = u64::from(len) * 0x0101_0101_0101_0101;
    let mut run = 0;
    while let Some(chunk) = padded.get(i + run..).and_then(|r| r.first_chunk::<8>()) {
        let diff = u64::from_le_bytes(*chunk) ^ splat;
        if diff != 0 {
            return run + (diff.trailing_zeros() / 8) as usize;
        }
        run += 8;
    }
    run // not reached: the padding ends every run
}

/// The items of a run the plain way (any run length), from `out[k]`; returns the new count.
fn rle_long_run(out: &mut [(u8, u8); RLE_CAP], mut k: usize, len: u8, mut run: usize) -> usize {
    let mut push = |sym: u8, extra: u8| {
        if let Some(slot) = out.get_mut(k) {
            *slot = (sym, extra);
            k += 1;
        }
    };
    if len == 0 {
        while run >= 11 {
            let r = run.min(138);
            push(18, (r - 11) as u8);
            run -= r;
        }
        if run >= 3 {
            push(17, (run - 3) as u8);
            run = 0;
        }
    } else {
        push(len, 0);
        run -= 1;
        while run >= 3 {
            let r = run.min(6);
            push(16, (r - 3) as u8);
            run -= r;
        }
    }
    for _ in 0..run {
        push(len, 0);
    }
    k
}

/// The items of a short run: how many, and the first two (symbol 0 = the run's length;
/// the third, when there is one, is always the length).
#[derive(Clone, Copy)]
struct ShortRun {
    count: u8,
    items: [(u8, u8); 2],
}

/// [`ShortRun`]s of a nonzero length repeated `run` times (`run` ≤ 7, at `run`), then of
/// zeros (`run` ≤ 138, at `139 + run`). Index 0 of each half is never used.
static SHORT_RUNS: [ShortRun; 2 * 139] = {
    let mut t = [ShortRun {
        count: 0,
        items: [(0, 0); 2],
    }; 2 * 139];
    let mut run = 1;
    while run <= 7 {
        // The length, then one 16 for the 3–6 repeats, or the repeats one by one.
        t[run] = if run >= 4 {
            ShortRun {
                count: 2,
                items: [(0, 0), (16, (run - 4) as u8)],
            }
        } else {
            ShortRun {
                count: run as u8,
                items: [(0, 0), (0, 0)],
            }
        };
        run += 1;
    }
    let mut run = 1;
    while run <= 138 {
        t[139 + run] = if run >= 11 {
            ShortRun {
                count: 1,
                items: [(18, (run - 11) as u8), (0, 0)],
            }
        } else if run >= 3 {
            ShortRun {
                count: 1,
                items: [(17, (run - 3) as u8), (0, 0)],
            }
        } else {
            ShortRun {
                count: run as u8,
                items: [(0, 0), (0, 0)],
            }
        };
        run += 1;
    }
    t
};

/// Bits a run of stored blocks holding `len` bytes takes, starting at bit offset `bit_pos`.
fn stored_cost(len: usize, bit_pos: u64) -> u64 {
    let blocks = len.div_ceil(MAX_STORED).max(1) as u64;
    let first_pad = (8 - (bit_pos + 3) % 8) % 8;
    // Every later block starts byte-aligned: 3 header bits then 5 bits of padding.
    first_pad + 3 + 32 + (blocks - 1) * (3 + 5 + 32) + 8 * len as u64
}

fn write_stored(w: &mut BitWriter<'_>, raw: &[u8], is_final: bool) {
    let mut chunks = raw.chunks(MAX_STORED).peekable();
    if chunks.peek().is_none() {
        write_stored_chunk(w, &[], is_final);
    }
    while let Some(chunk) = chunks.next() {
        write_stored_chunk(w, chunk, is_final && chunks.peek().is_none());
    }
}

fn write_stored_chunk(w: &mut BitWriter<'_>, chunk: &[u8], is_final: bool) {
    w.put(u32::from(is_final), 3);
    w.align_to_byte();
    let len = chunk.len() as u32;
    w.put(len | (!len & 0xffff) << 16, 32);
    w.put_bytes(chunk);
}

/// Stores tokens for a block writer and counts their symbols on the way, into the
/// [`BlockWriter`] that made it (see [`BlockWriter::counting_sink`]).
pub(crate) struct CountingSink<'a, 't> {
    tokens: &'t mut [u32],
    n: usize,
    litlen_freq: &'a mut [u32; NUM_LITLEN],
    dist_freq: &'a mut [u32; DIST_SLOTS],
    canned: &'a CannedBlock,
}

impl CountingSink<'_, '_> {
    /// Tokens stored so far.
    pub(crate) fn len(&self) -> usize {
        self.n
    }

    /// Bits the tokens counted so far would take under the canned code (symbols and
    /// extra bits, no headers): the early raw decision's measure, from the counts alone.
    pub(crate) fn canned_body_bits(&self) -> u64 {
        let total = |freqs: &[u32], packed: &[u32]| -> u64 {
            let bits: u32 = freqs.iter().zip(packed).map(|(&f, &p)| f * (p >> 24)).sum();
            u64::from(bits)
        };
        total(&self.litlen_freq[..], &self.canned.litlen.packed)
            + total(&self.dist_freq[..NUM_DIST], &self.canned.dist.packed)
    }
}

impl super::matchfind::TokenSink for CountingSink<'_, '_> {
    const EXACT: bool = true;

    #[inline(always)]
    fn literal(&mut self, byte: u8) {
        self.tokens[self.n] = super::tokens::literal(byte);
        self.n += 1;
        self.litlen_freq[usize::from(byte)] += 1;
    }

    #[inline(always)]
    fn matched(&mut self, length: usize, distance: usize) {
        let t = super::tokens::matched(length, distance);
        self.tokens[self.n] = t;
        self.n += 1;
        self.litlen_freq[token_length_symbol(t)] += 1;
        self.dist_freq[token_dist_symbol(t)] += 1;
    }

    #[inline(always)]
    fn is_full(&self) -> bool {
        self.n >= self.tokens.len()
    }
}

/// Writes literals and matches as they are parsed, with a fixed code.
/// It owns the bit writer while the parse runs, so the writer's state can live in registers.
pub(crate) struct DirectSink<'a, 'w> {
    w: BitWriter<'w>,
    canned: &'a CannedBlock,
}

impl<'w> DirectSink<'_, 'w> {
    /// Bits of the block's symbols so far (without the block and code headers).
    pub(crate) fn body_bits(&self) -> u64 {
        self.w.bit_len() - 3 - self.canned.header_bits
    }

    /// Write the end-of-block symbol and hand the writer back.
    pub(crate) fn end_block(mut self) -> BitWriter<'w> {
        let litlen = &self.canned.litlen;
        self.w
            .put(u32::from(litlen.rev[EOB]), u32::from(litlen.lens[EOB]));
        self.w
    }
}

impl super::matchfind::TokenSink for DirectSink<'_, '_> {
    const EXACT: bool = false;

    #[inline(always)]
    fn literal(&mut self, byte: u8) {
        let (bits, n) = self.canned.tables.literal_bits([byte]);
        self.w.put_wide(bits, n);
    }

    /// Both codewords in one put: one flush instead of two.
    #[inline(always)]
    fn literals2(&mut self, first: u8, second: u8) {
        let (bits, n) = self.canned.tables.literal_bits([first, second]);
        self.w.put_wide(bits, n);
    }

    #[inline(always)]
    fn literals3(&mut self, a: u8, b: u8, c: u8) {
        let (bits, n) = self.canned.tables.literal_bits([a, b, c]);
        self.w.put_wide(bits, n);
    }

    /// Four codewords in one put (the canned code's literals are ≤ 10 bits, checked
    /// when it is built).
    #[inline(always)]
    fn literals4(&mut self, a: u8, b: u8, c: u8, d: u8) {
        let (bits, n) = self.canned.tables.literal_bits([a, b, c, d]);
        self.w.put_wide(bits, n);
    }

    #[inline(always)]
    fn matched(&mut self, length: usize, distance: usize) {
        let (bits, n) = self.canned.tables.match_bits(length, distance);
        self.w.put_wide(bits, n);
    }

    /// Full once the output overflowed: the page is going raw, stop parsing.
    #[inline(always)]
    fn is_full(&self) -> bool {
        self.w.overflowed()
    }
}

/// The bits of one token (and their count) with the packed entries of a literal/length
/// code (`litlen`) and of a distance code by distance slot (`dist`, see [`dist_slots`]).
///
/// No branch on the token's kind: a literal is its codeword followed by zero extra bits
/// and a zero-bit distance part. A match is at most 15 + 5 + 15 + 13 = 48 bits, so it is
/// assembled in a `u64` for one [`BitWriter::put_wide`].
#[inline(always)]
fn token_bits(t: u32, litlen: &[u32; NUM_LITLEN], dist: &[u32; DIST_SLOTS]) -> (u64, u32) {
    let l = litlen[token_length_symbol(t)];
    let d = dist[token_dist_symbol(t)];
    let (len_extra, dist_extra) = (u64::from((t >> 14) & 0x1f), u64::from(t >> 19));
    let length_part = u64::from(l & 0xffff) | len_extra << ((l >> 16) & 0xff);
    let dist_part = u64::from(d & 0xffff) | dist_extra << ((d >> 16) & 0xff);
    (length_part | dist_part << (l >> 24), (l >> 24) + (d >> 24))
}

/// Write the tokens and the end-of-block symbol with `litlen`/`dist`.
#[inline]
fn write_tokens(
    w: &mut BitWriter<'_>,
    tokens: &[u32],
    litlen: &Code<NUM_LITLEN>,
    dist: &Code<NUM_DIST>,
) {
    let dist = dist_slots(dist);
    w.put_each(tokens, |t| token_bits(t, &litlen.packed, &dist));
    w.put(u32::from(litlen.rev[EOB]), u32::from(litlen.lens[EOB]));
}

/// The built-in code for guest memory, with its block header written out once.
struct CannedBlock {
    litlen: Code<NUM_LITLEN>,
    dist: Code<NUM_DIST>,
    /// The header bits after BTYPE (HLIT .. code lengths), LSB-first.
    header: [u8; 320],
    header_bits: u64,
    /// The code as the direct writers use it.
    tables: Box<CannedTables>,
}

/// The canned code as the writers of a parse in progress use it ([`DirectSink`] and the
/// fast level's 4 KiB page kernel, [`super::fast_page`]): fixed-size tables, so the
/// compiler sees every index in bounds, all in one allocation, so one register reaches
/// them all.
#[derive(Clone)]
pub(crate) struct CannedTables {
    /// Each literal's codeword as `rev | len << 16 | len << 24` (see `Code::packed`).
    pub literal: [u32; NUM_LITLEN],
    /// Each match length's codeword and extra bits as `bits | count << 24`, indexed by
    /// length: writing a match while parsing takes two loads instead of symbol lookups,
    /// base subtraction and packing.
    pub length: [u32; MAX_MATCH + 1],
    /// Each distance's (1..=4096) bits, the same way.
    pub distance: [u32; WINDOW + 1],
    /// A final canned block's start: its 3 block-header bits, then the code header,
    /// LSB-first, so a page starts with one copy instead of a put per 32 bits.
    pub start: [u8; 320],
    /// Bits of [`Self::start`] that count.
    pub start_bits: u64,
    /// The end-of-block codeword and its length.
    pub end_of_block: (u64, u32),
}

impl CannedTables {
    /// The codewords of `N` literals, first in the low bits, and their total length (one
    /// load each: codeword and length packed together).
    #[inline(always)]
    pub(crate) fn literal_bits<const N: usize>(&self, bytes: [u8; N]) -> (u64, u32) {
        let (mut bits, mut n) = (0u64, 0u32);
        for b in bytes {
            let p = self.literal[usize::from(b)];
            bits |= u64::from(p & 0xffff) << n;
            n += p >> 24;
        }
        (bits, n)
    }

    /// The bits of a match (`3 <= length <= 258`, `1 <= distance <= 4096`): the length's
    /// codeword and extra bits, then the distance's, at most 24 + 24 bits, and their
    /// count. Two loads give the whole match.
    #[inline(always)]
    pub(crate) fn match_bits(&self, length: usize, distance: usize) -> (u64, u32) {
        let l = self.length[length.min(MAX_MATCH)];
        let d = self.distance[distance.min(WINDOW)];
        let (ln, dn) = (l >> 24, d >> 24);
        let bits = u64::from(l & PACKED_BITS_MASK) | u64::from(d & PACKED_BITS_MASK) << ln;
        (bits, ln + dn)
    }
}

/// Bits of a `bits | count << 24` entry of [`CannedTables`]' match tables.
const PACKED_BITS_MASK: u32 = (1 << 24) - 1;

impl CannedBlock {
    fn empty() -> Self {
        Self {
            litlen: Code::new(),
            dist: Code::new(),
            header: [0; 320],
            header_bits: 0,
            tables: Box::new(CannedTables {
                literal: [0; NUM_LITLEN],
                length: [0; MAX_MATCH + 1],
                distance: [0; WINDOW + 1],
                start: [0; 320],
                start_bits: 0,
                end_of_block: (0, 0),
            }),
        }
    }

    /// Fill `len_bits` and `dist_bits` from the codes.
    fn pack_matches(&mut self) {
        for length in MIN_MATCH..=MAX_MATCH {
            let sym = length_symbol(length);
            let extra = u32::from(LENGTH_EXTRA_BITS[sym - 257]);
            let value = (length - usize::from(LENGTH_BASE[sym - 257])) as u32;
            self.tables.length[length] = packed_bits(&self.litlen, sym, value, extra);
        }
        for distance in 1..=WINDOW {
            let sym = dist_symbol(distance);
            let extra = u32::from(DIST_EXTRA_BITS[sym]);
            let value = (distance - usize::from(DIST_BASE[sym])) as u32;
            self.tables.distance[distance] = packed_bits(&self.dist, sym, value, extra);
        }
    }

    /// Build the canned code and its header with `w`'s dynamic-header machinery.
    fn prepare(w: &mut BlockWriter) -> Self {
        let mut c = Self::empty();
        c.litlen.lens[..286].copy_from_slice(&super::canned::LITLEN_LENGTHS);
        // Four literals go out in one put of at most 56 bits.
        assert!(super::canned::LITLEN_LENGTHS[..256]
            .iter()
            .all(|&l| l <= 14));
        c.dist.lens.copy_from_slice(&super::canned::DIST_LENGTHS);
        c.litlen.assign_codewords();
        c.dist.assign_codewords();
        c.pack_matches();
        w.litlen = c.litlen.clone();
        w.dist = c.dist.clone();
        c.header_bits = w.prepare_header();
        let mut bits = BitWriter::new(&mut c.header);
        w.write_dynamic_header(&mut bits);
        let _ = bits.finish();
        let mut start = [0u8; 320];
        let mut bits = BitWriter::new(&mut start);
        bits.put(1 | 2 << 1, 3);
        c.write_header(&mut bits);
        let _ = bits.finish();
        c.tables.literal = c.litlen.packed;
        c.tables.start = start;
        c.tables.start_bits = 3 + c.header_bits;
        c.tables.end_of_block = (u64::from(c.litlen.rev[EOB]), u32::from(c.litlen.lens[EOB]));
        c
    }

    fn write_header(&self, w: &mut BitWriter<'_>) {
        let mut left = self.header_bits;
        for chunk in self.header.chunks(4) {
            if left == 0 {
                break;
            }
            let n = left.min(32) as u32;
            let word = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
            w.put(if n == 32 { word } else { word & ((1 << n) - 1) }, n);
            left -= u64::from(n);
        }
    }
}

/// `sym`'s codeword followed by `extra` bits of `value`, as `bits | count << 24`.
fn packed_bits<const N: usize>(code: &Code<N>, sym: usize, value: u32, extra: u32) -> u32 {
    let len = u32::from(code.lens[sym]);
    let count = len + extra;
    debug_assert!(count <= 24 && len > 0);
    (u32::from(code.rev[sym]) | value << len) | count << 24
}

/// Huffman code lengths for one block, supplied from outside the encoder — the way IAA
/// works: software puts the codes (and the block header bits) into the compress AECS and
/// the engine encodes its own LZ77 parse with them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockCodes {
    /// Literal/length code lengths (0 = symbol unused), symbols 0..286.
    pub litlen: [u8; 286],
    /// Distance code lengths, symbols 0..30.
    pub dist: [u8; 30],
}

/// Why [`crate::deflate::Compressor::encode_with_codes`] could not encode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodesError {
    /// A token needs a literal/length symbol whose code length is 0 (IAA error 30).
    MissingLitLen(usize),
    /// A token needs a distance symbol whose code length is 0 (IAA error 30).
    MissingDist(usize),
    /// The output buffer is too small (IAA error 25).
    OutputFull,
}

impl BlockCodes {
    /// Deflate's fixed code (block type 1).
    pub fn fixed() -> Self {
        let mut litlen = [0u8; 286];
        for (sym, l) in litlen.iter_mut().enumerate() {
            *l = match sym {
                0..=143 => 8,
                144..=255 => 9,
                256..=279 => 7,
                _ => 8,
            };
        }
        Self {
            litlen,
            dist: [5; 30],
        }
    }

    /// Length-limited (≤ 15 bits) codes for the symbol counts of `hist`, as IAA 1.0's
    /// software step builds them after a statistics pass: the end-of-block symbol always
    /// gets a code, and the distance code is complete even with no matches.
    pub fn from_histogram(hist: &Histogram) -> Self {
        let mut freq = hist.litlen;
        freq[EOB] = freq[EOB].max(1);
        let mut codes = Self {
            litlen: [0; 286],
            dist: [0; 30],
        };
        build_code_lengths(&freq, 15, &mut codes.litlen);
        build_code_lengths(&hist.dist, 15, &mut codes.dist);
        if codes.dist.iter().filter(|&&l| l != 0).count() < 2 {
            // One used distance code (or none) is written as two 1-bit codes, as zlib does.
            let used = codes.dist.iter().position(|&l| l != 0).unwrap_or(0);
            codes.dist = [0; 30];
            codes.dist[used] = 1;
            codes.dist[if used == 0 { 1 } else { 0 }] = 1;
        }
        codes
    }

    /// Whether these are the fixed code's lengths.
    pub fn is_fixed(&self) -> bool {
        *self == Self::fixed()
    }

    /// The canonical (non-reversed) codewords, for IAA's AECS entries
    /// ([`crate::huffman::aecs_entry`]).
    ///
    /// The fixed code is assigned over all 288 of its symbols (286 and 287 have 8-bit codes
    /// that are never used): leaving them out would shift every 9-bit code by two.
    pub fn codewords(&self) -> ([u16; 286], [u16; 30]) {
        let mut lens = [0u8; NUM_LITLEN];
        lens[..286].copy_from_slice(&self.litlen);
        if self.is_fixed() {
            lens[286] = 8;
            lens[287] = 8;
        }
        let (mut l, mut d) = ([0u16; NUM_LITLEN], [0u16; 30]);
        canonical_codes(&lens, &mut l);
        canonical_codes(&self.dist, &mut d);
        let mut out = [0u16; 286];
        out.copy_from_slice(&l[..286]);
        (out, d)
    }

    /// The block header these codes need, LSB-first as deflate writes bits: the 3 bits of
    /// BFINAL and BTYPE, then for a dynamic block HLIT, HDIST, HCLEN and the run-length
    /// coded lengths. Returns the bytes and the number of valid bits.
    pub fn header(&self, bfinal: bool) -> (alloc::vec::Vec<u8>, u64) {
        let mut buf = [0u8; 400];
        let mut w = BitWriter::new(&mut buf);
        if self.is_fixed() {
            w.put(u32::from(bfinal) | 1 << 1, 3);
        } else {
            let mut bw = BlockWriter::new();
            bw.set_codes(self);
            w.put(u32::from(bfinal) | 2 << 1, 3);
            bw.write_dynamic_header(&mut w);
        }
        let bits = w.bit_len();
        let len = w.finish().unwrap_or(0);
        (buf[..len].to_vec(), bits)
    }
}

impl BlockWriter {
    /// Make `codes` the current dynamic code (with its header prepared).
    pub(crate) fn set_codes(&mut self, codes: &BlockCodes) {
        self.litlen.lens = [0; NUM_LITLEN];
        self.litlen.lens[..286].copy_from_slice(&codes.litlen);
        if codes.is_fixed() {
            // The fixed code's codewords are assigned over 288 symbols.
            self.litlen.lens[286] = 8;
            self.litlen.lens[287] = 8;
        }
        self.dist.lens = codes.dist;
        self.litlen.assign_codewords();
        self.dist.assign_codewords();
        self.prepare_header();
    }

    /// Write `tokens` and the end-of-block symbol (if asked) with the current dynamic code,
    /// checking first that every symbol they need has a codeword.
    pub(crate) fn write_with_codes(
        &self,
        w: &mut BitWriter<'_>,
        tokens: &[u32],
        append_eob: bool,
    ) -> Result<(), CodesError> {
        for &t in tokens {
            if is_match(t) {
                let (ls, ds) = (token_length_symbol(t), token_dist_symbol(t));
                if self.litlen.lens[ls] == 0 {
                    return Err(CodesError::MissingLitLen(ls));
                }
                if self.dist.lens[ds] == 0 {
                    return Err(CodesError::MissingDist(ds));
                }
            } else if self.litlen.lens[token_length_symbol(t)] == 0 {
                return Err(CodesError::MissingLitLen(token_length_symbol(t)));
            }
        }
        if append_eob && self.litlen.lens[EOB] == 0 {
            return Err(CodesError::MissingLitLen(EOB));
        }
        let dist = dist_slots(&self.dist);
        w.put_each(tokens, |t| token_bits(t, &self.litlen.packed, &dist));
        if append_eob {
            w.put(
                u32::from(self.litlen.rev[EOB]),
                u32::from(self.litlen.lens[EOB]),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plain run-length coder [`rle_lengths`] must agree with.
    fn rle_plain(lens: &[u8]) -> alloc::vec::Vec<(u8, u8)> {
        let mut out = [(0u8, 0u8); RLE_CAP];
        let mut k = 0;
        let mut i = 0;
        while i < lens.len() {
            let len = lens[i];
            let run = lens[i..].iter().take_while(|&&l| l == len).count();
            i += run;
            k = rle_long_run(&mut out, k, len, run);
        }
        out[..k].to_vec()
    }

    #[test]
    fn used_codewords_are_the_full_assignment() {
        // Codes built from random counts (sparse and dense, skewed and flat), each
        // assigned both ways: every used symbol gets the same entries.
        let mut next = crate::test_support::xorshift(0x2545_f491_4f6c_dd1du64);
        for case in 0..2000 {
            let used_one_in = 1 + next() % 8;
            let skew = next() % 12;
            let mut freqs = [0u32; NUM_LITLEN];
            for f in freqs.iter_mut() {
                if next() % used_one_in == 0 {
                    *f = 1 + ((next() % 4096) >> (next() % (skew + 1))) as u32;
                }
            }
            let mut full = Code::<NUM_LITLEN>::new();
            let counts = crate::huffman::build_code_lengths(&freqs, 15, &mut full.lens);
            let mut used = full.clone();
            // Stale entries in the unused symbols' places must not matter.
            used.packed = [0xdead_beef; NUM_LITLEN];
            full.assign_codewords();
            used.assign_used_codewords(&counts);
            for sym in (0..NUM_LITLEN).filter(|&s| full.lens[s] != 0) {
                assert_eq!(
                    (used.rev[sym], used.packed[sym]),
                    (full.rev[sym], full.packed[sym]),
                    "case {case}, symbol {sym}"
                );
            }
        }
    }

    #[test]
    fn rle_matches_the_plain_coder() {
        let mut next = crate::test_support::xorshift(0x9e37_79b9_7f4a_7c15u64);
        for case in 0..4000 {
            let n = 1 + (next() % (NUM_LITLEN + NUM_DIST) as u64) as usize;
            let mut lens = alloc::vec::Vec::with_capacity(n);
            while lens.len() < n {
                // Runs of every length class: single items, short, 3–10, 11–138, longer.
                let r = match next() % 5 {
                    0 => 1,
                    1 => 2 + (next() % 6) as usize,
                    2 => 3 + (next() % 8) as usize,
                    3 => 11 + (next() % 128) as usize,
                    _ => 139 + (next() % 150) as usize,
                };
                let len = if case % 3 == 0 || next() % 3 == 0 {
                    0
                } else {
                    (next() % 16) as u8
                };
                for _ in 0..r.min(n - lens.len()) {
                    lens.push(len);
                }
            }
            let mut out = [(0u8, 0u8); RLE_CAP];
            let k = rle_lengths(&lens, &mut out);
            assert_eq!(out[..k], rle_plain(&lens)[..], "lengths {lens:?}");
        }
    }

    #[test]
    fn rle_handles_every_run_length_at_the_end() {
        for len in [0u8, 1, 7, 15] {
            for run in 1..=(NUM_LITLEN + NUM_DIST) {
                let lens = alloc::vec![len; run];
                let mut out = [(0u8, 0u8); RLE_CAP];
                let k = rle_lengths(&lens, &mut out);
                assert_eq!(out[..k], rle_plain(&lens)[..], "length {len} × {run}");
            }
        }
    }
}
