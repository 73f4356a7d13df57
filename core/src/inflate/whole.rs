//! Whole-buffer decoding into a caller-provided output buffer, without allocation.
//!
//! The output buffer is also the history: a match copies from bytes already written to it.
//! Huffman blocks run a fast loop (libdeflate's design) while at least 8 input bytes
//! remain: one branch-free refill gives ≥ 56 bits, enough for a whole length/distance pair,
//! and matches are copied 8 bytes at a time, allowed to overshoot by up to 7 bytes when the
//! output has room (later output overwrites it); the last bytes of the output take an exact
//! copy. Near the end of the input a careful loop decodes symbol by symbol.

use super::block::{
    decode_symbol, read_block_header, read_stored_header, BlockType, DecodeTables, Stop, Symbol,
};
use super::header_memo::HeaderMemo;
use super::tables::{DIST_TABLE_BITS, FIXED_PAIRS, LITLEN_TABLE_BITS};
use super::InflateOptions;
use crate::bits::{BitInput, SliceBits};
use crate::error::{InflateError, InflateErrorKind};
use crate::huffman::{
    entry_codeword_len, entry_consume, entry_value, FLAG_EOB, FLAG_EXCEPTIONAL, FLAG_LITERAL,
    FLAG_SUBTABLE,
};

/// Result of a successful whole-buffer decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inflated {
    /// Input bytes used, up to the end of the final block (rounded up to a whole byte).
    pub consumed: usize,
    /// Output bytes written.
    pub written: usize,
}

/// A reusable whole-buffer deflate decoder (its decode tables are about 11 KiB; keep one
/// per thread rather than one per call when decoding many pages).
pub struct Decompressor {
    tables: DecodeTables,
    header: HeaderMemo,
}

impl Default for Decompressor {
    fn default() -> Self {
        Self::new()
    }
}

/// Decode raw deflate `input` into `out` with the standard 32 KiB window.
///
/// Convenience for one-off calls; it builds a [`Decompressor`] on the stack.
pub fn inflate_raw(input: &[u8], out: &mut [u8]) -> Result<Inflated, InflateError> {
    Decompressor::new().inflate(input, out, InflateOptions::STANDARD)
}

impl Decompressor {
    /// A fresh decoder.
    pub const fn new() -> Self {
        Self {
            tables: DecodeTables::new(),
            header: HeaderMemo::new(),
        }
    }

    /// Decode one raw deflate stream from `input` into `out`.
    ///
    /// Stops after the final block; bytes after it are not looked at ([`Inflated::consumed`]
    /// says where the stream ended). Fails with [`InflateErrorKind::OutputFull`] if `out` is
    /// too small, and with the error's kind and bit position on malformed input.
    pub fn inflate(
        &mut self,
        input: &[u8],
        out: &mut [u8],
        options: InflateOptions,
    ) -> Result<Inflated, InflateError> {
        self.inflate_inline(input, out, options)
    }

    /// [`Self::inflate`], inlined into its caller together with the fast loop.
    ///
    /// For callers that compile a copy of the decoder for extra CPU features: called from
    /// a function with, e.g., `#[target_feature(enable = "bmi2")]`, the fast loop is built
    /// with that feature (the native crate dispatches on the CPU at run time this way; this
    /// crate stays free of `unsafe` and of CPU detection). Same results as [`Self::inflate`]
    /// in every case, errors included.
    #[inline(always)]
    pub fn inflate_inline(
        &mut self,
        input: &[u8],
        out: &mut [u8],
        options: InflateOptions,
    ) -> Result<Inflated, InflateError> {
        let mut bits = SliceBits::new(input);
        let mut written = 0;
        let max_distance = options.max_distance.min(32768) as usize;
        loop {
            let (is_final, block_type) =
                read_block_header(&mut bits).map_err(|s| failure(s, &bits))?;
            match block_type {
                BlockType::Stored => {
                    written = copy_stored(&mut bits, out, written)?;
                }
                BlockType::Fixed | BlockType::Dynamic => {
                    if block_type == BlockType::Fixed {
                        self.tables.load_fixed();
                    } else {
                        self.read_dynamic_header(&mut bits, input)?;
                    }
                    // One call site: the fast loop is inlined once.
                    written = self.decode_block(&mut bits, out, written, max_distance)?;
                }
            }
            if is_final {
                break;
            }
        }
        Ok(Inflated {
            consumed: bits.bytes_consumed(),
            written,
        })
    }

    /// Read a dynamic block's code description, or skip it when it repeats the previous
    /// one bit for bit and the tables still hold that code (see [`HeaderMemo`]).
    fn read_dynamic_header(
        &mut self,
        bits: &mut SliceBits<'_>,
        input: &[u8],
    ) -> Result<(), InflateError> {
        let start = bits.bit_position();
        if self.tables.holds_dynamic() {
            if let Some(end) = self.header.repeated_at(input, start) {
                bits.seek_to_bit(end);
                return Ok(());
            }
        }
        self.header.clear();
        self.tables
            .read_dynamic(bits)
            .map_err(|s| failure(s, bits))?;
        if !bits.overran() {
            self.header.record(input, start, bits.bit_position());
        }
        Ok(())
    }

    /// Decode one Huffman block's symbols; returns the new output position.
    #[inline(always)]
    fn decode_block(
        &self,
        bits: &mut SliceBits<'_>,
        out: &mut [u8],
        mut pos: usize,
        max_distance: usize,
    ) -> Result<usize, InflateError> {
        loop {
            match self.fast_loop(bits, out, pos, max_distance) {
                FastExit::EndOfBlock(p) => return Ok(p),
                FastExit::Slow(p) => {
                    pos = p;
                    break;
                }
                FastExit::ExactMatch(m) => pos = m.copy(out),
                FastExit::Error(kind) => {
                    return Err(InflateError::at_bit(kind, bits.bit_position()));
                }
            }
        }
        match self.padded_tail(bits, out, pos, max_distance) {
            Some((p, true)) => Ok(p),
            Some((p, false)) => self.careful_loop(bits, out, p, max_distance),
            None => self.careful_loop(bits, out, pos, max_distance),
        }
    }

    /// The last few input bytes through the fast loop: they are copied into a zero-padded
    /// buffer so the loop's 8-byte refills stay in bounds. Returns the output position and
    /// whether the block ended, with `bits` moved past what was decoded — as long as every
    /// bit decoded was real input (a page's last symbol usually fills the output, and the
    /// careful loop then reads just the end-of-block code). Running into the padding or an
    /// error returns `None` with `bits` untouched: the careful loop decodes the tail again
    /// from the same point and reports exactly what it always did; bytes the attempt wrote
    /// past `pos` are overwritten or, on error, of no meaning. Not inlined: a second copy
    /// of the fast loop inside `decode_block` slows the main one down.
    #[inline(never)]
    fn padded_tail(
        &self,
        bits: &mut SliceBits<'_>,
        out: &mut [u8],
        pos: usize,
        max_distance: usize,
    ) -> Option<(usize, bool)> {
        /// Real input left is < 8 bytes here; 24 bytes leave the loop room to run on zeros
        /// until it notices it passed the end.
        const TAIL: usize = 24;
        let (data, next, buf, count) = bits.fast_state();
        let rest = data.get(next..)?;
        if rest.len() >= 8 {
            return None; // the fast loop stopped for the output, not the input
        }
        let mut tail = [0u8; TAIL];
        tail[..rest.len()].copy_from_slice(rest);
        let mut fast = FastBits {
            data: &tail,
            pos: 0,
            buf,
            count,
        };
        let mut pos = pos;
        let (p, ended) = loop {
            match self.run_fast(&mut fast, out, pos, max_distance) {
                FastExit::EndOfBlock(p) => break (p, true),
                FastExit::Slow(p) => break (p, false),
                FastExit::ExactMatch(m) => pos = m.copy(out),
                FastExit::Error(_) => return None,
            }
        };
        // Bits consumed in the tail: those buffered at the start plus every byte loaded,
        // minus those still buffered; they must all be real input (the buffer may already
        // hold the careful reader's zero padding, so count from the bit position).
        let consumed = u64::from(count) + 8 * fast.pos as u64 - u64::from(fast.count);
        let start = bits.bit_position();
        if start + consumed > bits.input_bits() {
            return None;
        }
        let end = start + consumed;
        bits.seek_to_bit(end);
        Some((p, ended))
    }

    /// Symbol-by-symbol decoding with exact bounds checks, for the ends of the buffers.
    fn careful_loop(
        &self,
        bits: &mut SliceBits<'_>,
        out: &mut [u8],
        mut pos: usize,
        max_distance: usize,
    ) -> Result<usize, InflateError> {
        loop {
            let start = bits.bit_position();
            let at = |kind| InflateError::at_bit(kind, start);
            let symbol = decode_symbol(bits, &self.tables).map_err(|s| failure(s, bits))?;
            if bits.overran() {
                // The symbol took bits past the end: the input is cut short, whatever the
                // zero padding happened to decode to.
                return Err(at(InflateErrorKind::UnexpectedEof));
            }
            match symbol {
                Symbol::Literal(byte) => {
                    *out.get_mut(pos).ok_or(at(InflateErrorKind::OutputFull))? = byte;
                    pos += 1;
                }
                Symbol::Match { length, distance } => {
                    let (length, distance) = (length as usize, distance as usize);
                    check_distance(distance, pos, max_distance).map_err(at)?;
                    if pos + length > out.len() {
                        return Err(at(InflateErrorKind::OutputFull));
                    }
                    copy_match_exact(out, pos, length, distance);
                    pos += length;
                }
                Symbol::EndOfBlock => return Ok(pos),
            }
        }
    }

    /// The fast loop: runs while 8 input bytes remain. The bit reader's state lives in
    /// locals here (so it stays in registers) and is written back on exit.
    #[inline(always)]
    fn fast_loop(
        &self,
        bits: &mut SliceBits<'_>,
        out: &mut [u8],
        pos: usize,
        max_distance: usize,
    ) -> FastExit {
        let mut fast = FastBits::from(&*bits);
        let exit = self.run_fast(&mut fast, out, pos, max_distance);
        fast.store(bits);
        exit
    }

    /// The fast loop for the code the tables hold.
    #[inline(always)]
    fn run_fast(
        &self,
        fast: &mut FastBits<'_>,
        out: &mut [u8],
        pos: usize,
        max_distance: usize,
    ) -> FastExit {
        if self.tables.holds_fixed() {
            self.fast_symbols::<true>(fast, out, pos, max_distance)
        } else {
            self.fast_symbols::<false>(fast, out, pos, max_distance)
        }
    }

    /// The fast loop's symbols. `FIXED`: the tables hold the fixed code, whose literal
    /// codewords are all 8 or 9 bits long; the literal path then loads the entries of the
    /// symbol after a literal at both possible offsets (one `fixed_pairs` word) while the
    /// literal's own entry is being used, and picks one with a shift once the literal's
    /// length is known — so two literals cost one table-load latency, not two in a row,
    /// which is what bounds a run of literals.
    #[inline(always)]
    fn fast_symbols<const FIXED: bool>(
        &self,
        b: &mut FastBits<'_>,
        out: &mut [u8],
        mut pos: usize,
        max_distance: usize,
    ) -> FastExit {
        let litlen = &self.tables.litlen;
        let dist = &self.tables.dist;
        let pairs = &self.tables.fixed_pairs;
        const PAIR_MASK: u64 = (FIXED_PAIRS as u64) - 1;
        const LITLEN_MASK: u64 = (1 << LITLEN_TABLE_BITS) - 1;
        const DIST_MASK: u64 = (1 << DIST_TABLE_BITS) - 1;
        // Each iteration looks up the *next* entry as soon as the current symbol's bits are
        // consumed, so the table load overlaps the output write or match copy.
        // The last input position an 8-byte refill may start at, and the last output
        // position that leaves room for a literal pair: the loop tests against these
        // (no additions on its path, and the refill's bounds follow from them).
        let Some(last_refill) = b.data.len().checked_sub(8) else {
            return FastExit::Slow(pos);
        };
        if b.pos > last_refill {
            return FastExit::Slow(pos);
        }
        let pair_end = out.len().saturating_sub(1);
        b.refill();
        let mut entry = litlen[(b.buf & LITLEN_MASK) as usize];
        // With the fixed code: the entries after an 8- and a 9-bit literal at `entry`'s
        // position, loaded with `entry` wherever `entry` is (so after a literal pair, before
        // the refill: one step less in the chain that bounds a literal run).
        let pair_at = |buf: u64| {
            if FIXED {
                pairs[((buf >> 8) & PAIR_MASK) as usize]
            } else {
                0
            }
        };
        let mut after = pair_at(b.buf);
        // Room for two output bytes, so a literal pair needs no check of its own (the last
        // byte of the output is left to the tail).
        while b.pos <= last_refill && pos < pair_end {
            if entry & FLAG_LITERAL != 0 {
                let nine_bits = entry & 1; // fixed code: the consume count is 8 or 9
                b.consume_entry(entry);
                let literal = entry_value(entry) as u8;
                entry = if FIXED {
                    // Select without a branch: 8 vs 9 bits is as random as the data.
                    (after >> (nine_bits << 5)) as u32
                } else {
                    // ≥ 41 bits remain: the next lookup needs no refill, so it does not
                    // wait for one.
                    litlen[(b.buf & LITLEN_MASK) as usize]
                };
                if entry & FLAG_LITERAL != 0 {
                    // Literals come in runs: take a second one before refilling (≥ 26 bits
                    // remain after it, enough for the next lookup). This saves a refill and
                    // a loop test per pair and lets the two table loads overlap. The loop
                    // keeps room for two output bytes.
                    b.consume_entry(entry);
                    let second = entry_value(entry) as u8;
                    entry = litlen[(b.buf & LITLEN_MASK) as usize];
                    after = pair_at(b.buf); // ≥ 38 bits remain: enough for its 18
                    b.refill();
                    out[pos] = literal;
                    out[pos + 1] = second;
                    pos += 2;
                    continue;
                }
                // `entry` is the symbol after the literal and not a literal itself, so the
                // next iteration does not read `after` (left as it is).
                b.refill();
                out[pos] = literal;
                pos += 1;
                continue;
            }
            // Not a literal: most often a length. Subtable pointers, end of block and
            // invalid entries all carry FLAG_EXCEPTIONAL, so a length takes one test.
            if entry & FLAG_EXCEPTIONAL != 0 {
                if entry & FLAG_SUBTABLE != 0 {
                    b.consume(LITLEN_TABLE_BITS);
                    let index = entry_value(entry) as usize
                        + (b.buf as usize & ((1 << entry_codeword_len(entry)) - 1));
                    entry = litlen[index];
                    if entry & FLAG_LITERAL != 0 {
                        b.consume_entry(entry);
                        out[pos] = entry_value(entry) as u8;
                        pos += 1;
                        b.refill();
                        entry = litlen[(b.buf & LITLEN_MASK) as usize];
                        after = pair_at(b.buf);
                        continue;
                    }
                }
                if entry & FLAG_EXCEPTIONAL != 0 {
                    if entry & FLAG_EOB != 0 {
                        b.consume_entry(entry);
                        return FastExit::EndOfBlock(pos);
                    }
                    return FastExit::Error(InflateErrorKind::InvalidSymbol);
                }
            }
            // Length: base + extra bits, extracted from the same buffer word.
            let length = entry_value(entry) as usize + b.extra(entry);
            b.consume_entry(entry);

            // Distance: ≥ 56 − 20 bits remain, enough for the main table, a subtable and 13 extra bits.
            let mut dentry = dist[(b.buf & DIST_MASK) as usize];
            if dentry & FLAG_EXCEPTIONAL != 0 {
                if dentry & FLAG_SUBTABLE != 0 {
                    b.consume(DIST_TABLE_BITS);
                    let index = entry_value(dentry) as usize
                        + (b.buf as usize & ((1 << entry_codeword_len(dentry)) - 1));
                    dentry = dist[index];
                }
                if dentry & FLAG_EXCEPTIONAL != 0 {
                    return FastExit::Error(InflateErrorKind::InvalidSymbol);
                }
            }
            let distance = entry_value(dentry) as usize + b.extra(dentry);
            b.consume_entry(dentry);
            if let Err(kind) = check_distance(distance, pos, max_distance) {
                return FastExit::Error(kind);
            }
            if FIXED {
                // A fixed-code match takes at most 8 + 5 + 5 + 13 = 31 bits, so ≥ 25 remain:
                // enough for both lookups (18 bits), which then need not wait for the refill.
                entry = litlen[(b.buf & LITLEN_MASK) as usize];
                after = pair_at(b.buf);
                b.refill();
            } else {
                // ≥ 56 − 48 bits may remain here: refill before the next lookup.
                b.refill();
                entry = litlen[(b.buf & LITLEN_MASK) as usize];
                after = pair_at(b.buf);
            }
            if pos + length + COPY_OVERSHOOT <= out.len() {
                copy_match_fast(out, pos, length, distance);
            } else if pos + length <= out.len() {
                // Near the output's end: the caller copies it exactly and comes back. A
                // call to `memmove` inside the loop would make every register it clobbers
                // unusable across the loop, and the loop would spill its state.
                return FastExit::ExactMatch(ExactMatch {
                    pos,
                    length,
                    distance,
                });
            } else {
                return FastExit::Error(InflateErrorKind::OutputFull);
            }
            pos += length;
        }
        FastExit::Slow(pos)
    }
}

/// The bit reader's state as locals for the fast loop (see [`SliceBits`]).
struct FastBits<'a> {
    data: &'a [u8],
    pos: usize,
    buf: u64,
    count: u32,
}

impl<'a> FastBits<'a> {
    fn from(bits: &SliceBits<'a>) -> Self {
        let (data, pos, buf, count) = bits.fast_state();
        Self {
            data,
            pos,
            buf,
            count,
        }
    }

    fn store(&self, bits: &mut SliceBits<'a>) {
        bits.set_fast_state(self.pos, self.buf, self.count);
    }

    /// Branch-free refill to ≥ 56 bits when 8 bytes are readable at `pos`; otherwise
    /// nothing (the fast loop then exits before using the missing bits).
    #[inline(always)]
    fn refill(&mut self) {
        // Two checks the loop's own test (`pos <= len - 8`) makes redundant, unlike a
        // `pos..pos + 8` range, whose end may wrap.
        let Some(rest) = self.data.get(self.pos..) else {
            return;
        };
        let Some(bytes) = rest.first_chunk::<8>() else {
            return; // fewer than 8 bytes left: the loop condition ends the fast loop
        };
        self.buf |= u64::from_le_bytes(*bytes) << self.count;
        self.pos += ((63 - self.count) >> 3) as usize;
        self.count |= 56;
    }

    #[inline(always)]
    fn consume(&mut self, n: u32) {
        self.buf >>= n;
        self.count -= n;
    }

    /// Consume an entry's bits. The shift takes the whole entry as its count: x86 and the
    /// Rust `wrapping_shr` both use only its low 6 bits, which equal the consume count
    /// (≤ 28), so the critical path skips extracting the field (libdeflate's trick).
    #[inline(always)]
    fn consume_entry(&mut self, entry: u32) {
        self.buf = self.buf.wrapping_shr(entry);
        self.count -= entry_consume(entry);
    }

    /// The extra bits that follow an entry's codeword, as a number.
    #[inline(always)]
    fn extra(&self, entry: u32) -> usize {
        let total = entry_consume(entry);
        ((self.buf & ((1u64 << total) - 1)) >> entry_codeword_len(entry)) as usize
    }
}

/// How the fast loop ended.
enum FastExit {
    EndOfBlock(usize),
    Slow(usize),
    /// A match (already checked) that fits in the output only without overshoot; the
    /// loop can go on after it is copied.
    ExactMatch(ExactMatch),
    Error(InflateErrorKind),
}

/// A match for [`copy_match_exact`], its bits consumed.
struct ExactMatch {
    pos: usize,
    length: usize,
    distance: usize,
}

impl ExactMatch {
    /// Copy it; returns the output position after it.
    fn copy(self, out: &mut [u8]) -> usize {
        copy_match_exact(out, self.pos, self.length, self.distance);
        self.pos + self.length
    }
}

#[inline(always)]
fn check_distance(
    distance: usize,
    pos: usize,
    max_distance: usize,
) -> Result<(), InflateErrorKind> {
    if distance > max_distance {
        Err(InflateErrorKind::DistanceBeyondWindow)
    } else if distance > pos {
        Err(InflateErrorKind::DistanceTooFarBack)
    } else {
        Ok(())
    }
}

/// Room a fast match copy needs past the match's end: chunks overshoot by up to 15 bytes.
const COPY_OVERSHOOT: usize = 16;

/// Copy a match when `out` has [`COPY_OVERSHOOT`] bytes free past it. Chunks may write past
/// the match's end; later output overwrites those bytes.
#[inline(always)]
fn copy_match_fast(out: &mut [u8], pos: usize, length: usize, distance: usize) {
    let end = pos + length;
    if distance >= 16 {
        // Each 16-byte chunk reads only bytes written before it (distance ≥ 16), so copying
        // forward in chunks reproduces the overlapping-match semantics. Most matches in
        // memory pages are ≤ 16 bytes: one chunk.
        copy_chunks::<16>(out, pos - distance, pos, end);
    } else if distance >= 8 {
        copy_chunks::<8>(out, pos - distance, pos, end);
    } else {
        // A short period (1..=7): the period repeated over 16 bytes, written 16 bytes at a
        // time, each write advancing by the largest multiple of the period that fits in 16
        // (so the next write starts at the same phase). Runs of one byte (zero pages'
        // stretches) and of small structures are the long matches of memory pages.
        let pattern = period_pattern(out, pos, distance);
        let step = PERIOD_STEP[distance];
        let mut dst = pos;
        while dst < end {
            out[dst..dst + 16].copy_from_slice(&pattern);
            dst += step;
        }
    }
}

/// For a period `d` in 1..=7: the largest multiple of `d` that is at most 16.
const PERIOD_STEP: [usize; 8] = [16, 16, 16, 15, 16, 15, 12, 14];

/// The `distance` bytes before `pos`, repeated to fill 16 bytes (`1 <= distance <= 7`).
/// Built in a register by doubling: no call, no byte loop.
#[inline(always)]
fn period_pattern(out: &[u8], pos: usize, distance: usize) -> [u8; 16] {
    // 8 bytes from the period's start (the fast path has room past `pos`), of which the
    // first `distance` are the period.
    let mut head = [0u8; 8];
    head.copy_from_slice(&out[pos - distance..pos - distance + 8]);
    let mask = (1u64 << (8 * distance)) - 1;
    let mut v = u128::from(u64::from_le_bytes(head) & mask);
    let mut filled = distance;
    while filled < 16 {
        v |= v << (8 * filled);
        filled *= 2;
    }
    v.to_le_bytes()
}

/// Copy `N`-byte chunks from `src` to `dst` until `dst` reaches `end` (may overshoot by
/// up to `N − 1` bytes; `src + N <= dst` for every chunk, so no chunk reads its own output).
#[inline(always)]
fn copy_chunks<const N: usize>(out: &mut [u8], mut src: usize, mut dst: usize, end: usize) {
    while dst < end {
        let mut chunk = [0u8; N];
        chunk.copy_from_slice(&out[src..src + N]);
        out[dst..dst + N].copy_from_slice(&chunk);
        src += N;
        dst += N;
    }
}

/// Copy a match with no overshoot (`pos + length <= out.len()` is checked by the caller).
fn copy_match_exact(out: &mut [u8], pos: usize, length: usize, distance: usize) {
    let start = pos - distance;
    if distance >= length {
        out.copy_within(start..start + length, pos);
        return;
    }
    // Overlapping: the output repeats with period `distance`. Copy from `start` in growing
    // pieces — each piece as long as everything written so far — so every piece begins a
    // whole number of periods after `start` and reads only bytes already in place.
    let mut done = 0;
    while done < length {
        let n = (distance + done).min(length - done);
        out.copy_within(start..start + n, pos + done);
        done += n;
    }
}

/// Copy a stored block's bytes to `out[pos..]`; returns the new position.
fn copy_stored(
    bits: &mut SliceBits<'_>,
    out: &mut [u8],
    pos: usize,
) -> Result<usize, InflateError> {
    let len = read_stored_header(bits).map_err(|s| failure(s, bits))?;
    if bits.overran() {
        return Err(InflateError::at_bit(
            InflateErrorKind::UnexpectedEof,
            bits.bit_position(),
        ));
    }
    let at = bits.bit_position();
    let data = bits
        .take_aligned_bytes(len)
        .ok_or(InflateError::at_bit(InflateErrorKind::UnexpectedEof, at))?;
    let dst = out
        .get_mut(pos..pos + len)
        .ok_or(InflateError::at_bit(InflateErrorKind::OutputFull, at))?;
    dst.copy_from_slice(data);
    Ok(pos + len)
}

/// Turn a [`Stop`] from the whole-buffer reader into an error: running out of input, or
/// failing after reading past the end, is [`InflateErrorKind::UnexpectedEof`].
fn failure(stop: Stop, bits: &SliceBits<'_>) -> InflateError {
    match stop {
        Stop::Fail(e) if !bits.overran() => e,
        _ => InflateError::at_bit(
            InflateErrorKind::UnexpectedEof,
            bits.bit_position().min(bits.input_bits()),
        ),
    }
}
