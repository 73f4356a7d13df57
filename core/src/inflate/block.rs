//! What both decoders share: block headers, dynamic Huffman headers, decode tables, and
//! decoding one literal/length/distance symbol from any [`BitInput`].

use super::tables::*;
use crate::bits::BitInput;
use crate::error::{InflateError, InflateErrorKind};
use crate::huffman::{
    build_decode_table, entry_codeword_len, entry_consume, entry_value, FLAG_EOB, FLAG_EXCEPTIONAL,
    FLAG_LITERAL, FLAG_SUBTABLE,
};

/// Why a unit of decoding stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// The input ran out; a streaming decoder waits for more, a whole-buffer one fails.
    NeedInput,
    /// The data is malformed.
    Fail(InflateError),
}

impl Stop {
    pub(crate) fn at<B: BitInput>(kind: InflateErrorKind, bits: &B) -> Self {
        Stop::Fail(InflateError::at_bit(kind, bits.bit_position()))
    }
}

/// Block types (BTYPE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BlockType {
    Stored,
    Fixed,
    Dynamic,
}

/// Read the 3-bit block header: (BFINAL, BTYPE).
pub(crate) fn read_block_header<B: BitInput>(bits: &mut B) -> Result<(bool, BlockType), Stop> {
    if !bits.ensure(3) {
        return Err(Stop::NeedInput);
    }
    let header = bits.peek() as u32 & 7;
    let block_type = match header >> 1 {
        0 => BlockType::Stored,
        1 => BlockType::Fixed,
        2 => BlockType::Dynamic,
        _ => return Err(Stop::at(InflateErrorKind::ReservedBlockType, bits)),
    };
    bits.consume(3);
    Ok((header & 1 != 0, block_type))
}

/// Read a stored block's LEN/NLEN after aligning to a byte; returns LEN.
pub(crate) fn read_stored_header<B: BitInput>(bits: &mut B) -> Result<usize, Stop> {
    bits.align_to_byte();
    if !bits.ensure(32) {
        return Err(Stop::NeedInput);
    }
    let word = bits.peek() as u32;
    let (len, nlen) = (word & 0xffff, word >> 16);
    if len != !nlen & 0xffff {
        return Err(Stop::at(InflateErrorKind::StoredLengthMismatch, bits));
    }
    bits.consume(32);
    Ok(len as usize)
}

/// A decoded literal/length symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Symbol {
    Literal(u8),
    Match { length: u32, distance: u32 },
    EndOfBlock,
}

/// The decode tables of the current block, reused from block to block.
pub(crate) struct DecodeTables {
    pub(crate) litlen: [u32; LITLEN_TABLE_SIZE],
    pub(crate) dist: [u32; DIST_TABLE_SIZE],
    /// With the fixed code: the pair table of [`FIXED_PAIRS`] (see there).
    pub(crate) fixed_pairs: [u64; FIXED_PAIRS],
    precode: [u32; PRECODE_TABLE_SIZE],
    lens: [u8; NUM_LITLEN_SYMS + NUM_DIST_SYMS],
    /// The tables hold the fixed code (so a run of fixed blocks builds them once).
    holds_fixed: bool,
    /// The code lengths the tables were last built from for a dynamic block, so the next
    /// block with the same code (every page of a sender using one canned code) skips the
    /// table build — about a fifth of a page's decode time.
    built_lens: [u8; NUM_LITLEN_SYMS + NUM_DIST_SYMS],
    holds_built: bool,
}

impl DecodeTables {
    pub(crate) const fn new() -> Self {
        Self {
            litlen: [0; LITLEN_TABLE_SIZE],
            dist: [0; DIST_TABLE_SIZE],
            fixed_pairs: [0; FIXED_PAIRS],
            precode: [0; PRECODE_TABLE_SIZE],
            lens: [0; NUM_LITLEN_SYMS + NUM_DIST_SYMS],
            holds_fixed: false,
            built_lens: [0; NUM_LITLEN_SYMS + NUM_DIST_SYMS],
            holds_built: false,
        }
    }

    /// Whether the tables hold the code of the last dynamic header read (so a block that
    /// repeats that header bit for bit may reuse them).
    pub(crate) fn holds_dynamic(&self) -> bool {
        self.holds_built && !self.holds_fixed
    }

    /// Whether the tables hold the fixed code (every literal codeword 8 or 9 bits).
    pub(crate) fn holds_fixed(&self) -> bool {
        self.holds_fixed
    }

    /// Make the tables hold the fixed Huffman code of BTYPE 01.
    pub(crate) fn load_fixed(&mut self) {
        if self.holds_fixed {
            return;
        }
        self.lens = fixed_code_lengths();
        self.holds_built = false;
        // The fixed code is complete, so building cannot fail.
        let ok = self.build(NUM_LITLEN_SYMS, NUM_DIST_SYMS).is_ok();
        debug_assert!(ok);
        // Every fixed codeword fits the main table (≤ 9 bits), so no entry is a subtable.
        for (i, pair) in self.fixed_pairs.iter_mut().enumerate() {
            let at0 = u64::from(self.litlen[i & 0x1ff]);
            let at1 = u64::from(self.litlen[i >> 1]);
            *pair = at0 | at1 << 32;
        }
        self.holds_fixed = ok;
    }

    fn build(&mut self, num_litlen: usize, num_dist: usize) -> Result<(), InflateErrorKind> {
        let (litlen_lens, rest) = self.lens.split_at(num_litlen);
        build_decode_table(
            litlen_lens,
            LITLEN_TABLE_BITS,
            &mut self.litlen,
            true,
            &LITLEN_BASE_ENTRIES,
        )?;
        build_decode_table(
            &rest[..num_dist],
            DIST_TABLE_BITS,
            &mut self.dist,
            true,
            &DIST_BASE_ENTRIES,
        )?;
        Ok(())
    }

    /// Read a dynamic block's code descriptions (RFC 1951 §3.2.7) and build its tables.
    pub(crate) fn read_dynamic<B: BitInput>(&mut self, bits: &mut B) -> Result<(), Stop> {
        self.holds_fixed = false;
        if !bits.ensure(14) {
            return Err(Stop::NeedInput);
        }
        let word = bits.peek() as u32;
        let num_litlen = 257 + (word & 0x1f) as usize;
        let num_dist = 1 + ((word >> 5) & 0x1f) as usize;
        let num_precode = 4 + ((word >> 10) & 0xf) as usize;
        if num_litlen > 286 {
            return Err(Stop::at(InflateErrorKind::TooManyLengthCodes, bits));
        }
        if num_dist > 30 {
            return Err(Stop::at(InflateErrorKind::TooManyDistanceCodes, bits));
        }
        bits.consume(14);

        let mut precode_lens = [0u8; NUM_PRECODE_SYMS];
        for &sym in &PRECODE_ORDER[..num_precode] {
            if !bits.ensure(3) {
                return Err(Stop::NeedInput);
            }
            precode_lens[usize::from(sym)] = (bits.peek() & 7) as u8;
            bits.consume(3);
        }
        let at = bits.bit_position();
        build_decode_table(
            &precode_lens,
            PRECODE_TABLE_BITS,
            &mut self.precode,
            false,
            &PRECODE_BASE_ENTRIES,
        )
        .map_err(|kind| Stop::Fail(InflateError::at_bit(kind, at)))?;

        self.read_code_lengths(bits, num_litlen + num_dist)?;
        let total = num_litlen + num_dist;
        // Symbols past the declared counts are unused. Move the distance lengths to their slot.
        self.lens.copy_within(num_litlen..total, NUM_LITLEN_SYMS);
        self.lens[num_litlen..NUM_LITLEN_SYMS].fill(0);
        self.lens[NUM_LITLEN_SYMS + num_dist..].fill(0);
        if self.lens[256] == 0 {
            return Err(Stop::at(InflateErrorKind::MissingEndOfBlock, bits));
        }
        if self.holds_built && self.lens == self.built_lens {
            return Ok(()); // same code as the tables already hold
        }
        let at = bits.bit_position();
        self.holds_built = false;
        self.build(NUM_LITLEN_SYMS, NUM_DIST_SYMS)
            .map_err(|kind| Stop::Fail(InflateError::at_bit(kind, at)))?;
        self.built_lens = self.lens;
        self.holds_built = true;
        Ok(())
    }

    /// Decode `total` code lengths with the precode into `self.lens[..total]`.
    fn read_code_lengths<B: BitInput>(&mut self, bits: &mut B, total: usize) -> Result<(), Stop> {
        let mut i = 0;
        while i < total {
            // A code-length symbol and its extra bits take at most 7 + 7 bits.
            bits.prefetch(14);
            let entry = decode_entry(bits, &self.precode, PRECODE_TABLE_BITS)?;
            let sym = entry_value(entry);
            if sym < 16 {
                self.lens[i] = sym as u8;
                i += 1;
                continue;
            }
            let (extra_bits, base, value) = match sym {
                16 => {
                    if i == 0 {
                        return Err(Stop::at(InflateErrorKind::RepeatWithoutPrevious, bits));
                    }
                    (2, 3, self.lens[i - 1])
                }
                17 => (3, 3, 0),
                _ => (7, 11, 0),
            };
            if !bits.ensure(extra_bits) {
                return Err(Stop::NeedInput);
            }
            let count = base + (bits.peek() as usize & ((1 << extra_bits) - 1));
            if i + count > total {
                return Err(Stop::at(InflateErrorKind::CodeLengthsOverflow, bits));
            }
            bits.consume(extra_bits);
            self.lens[i..i + count].fill(value);
            i += count;
        }
        Ok(())
    }
}

/// Decode one table entry, consuming its codeword (not its extra bits). Loads input a byte
/// at a time until the codeword is complete, so a streaming reader never over-reads.
#[inline(always)]
pub(crate) fn decode_entry<B: BitInput>(
    bits: &mut B,
    table: &[u32],
    table_bits: u32,
) -> Result<u32, Stop> {
    loop {
        let buf = bits.peek();
        let mut entry = table[(buf & ((1 << table_bits) - 1)) as usize];
        let mut prefix = 0;
        if entry & FLAG_SUBTABLE != 0 {
            prefix = table_bits;
            let index = entry_value(entry) as usize
                + ((buf >> table_bits) as usize & ((1 << entry_codeword_len(entry)) - 1));
            entry = table[index];
        }
        let need = prefix + entry_codeword_len(entry);
        if entry & (FLAG_EXCEPTIONAL | FLAG_EOB | FLAG_SUBTABLE) == FLAG_EXCEPTIONAL
            && entry_codeword_len(entry) == 0
        {
            // A bit pattern no codeword starts with (incomplete code).
            return Err(Stop::at(InflateErrorKind::InvalidSymbol, bits));
        }
        if need <= bits.available() {
            bits.consume(need);
            return Ok(entry);
        }
        if !bits.load_byte() {
            return Err(Stop::NeedInput);
        }
    }
}

/// Read `n` extra bits.
#[inline(always)]
fn read_extra<B: BitInput>(bits: &mut B, n: u32) -> Result<u32, Stop> {
    if !bits.ensure(n) {
        return Err(Stop::NeedInput);
    }
    let v = (bits.peek() & ((1u64 << n) - 1)) as u32;
    bits.consume(n);
    Ok(v)
}

/// Decode one literal, match or end-of-block with the careful (any-input) reader.
/// Reserved symbols fail with [`InflateErrorKind::InvalidSymbol`].
#[inline]
pub(crate) fn decode_symbol<B: BitInput>(
    bits: &mut B,
    tables: &DecodeTables,
) -> Result<Symbol, Stop> {
    let start = bits.bit_position();
    let invalid = || Stop::Fail(InflateError::at_bit(InflateErrorKind::InvalidSymbol, start));
    // A length/distance pair takes at most 15 + 5 + 15 + 13 bits.
    bits.prefetch(48);
    let entry = decode_entry(bits, &tables.litlen, LITLEN_TABLE_BITS)?;
    if entry & FLAG_LITERAL != 0 {
        return Ok(Symbol::Literal(entry_value(entry) as u8));
    }
    if entry & FLAG_EXCEPTIONAL != 0 {
        return if entry & FLAG_EOB != 0 {
            Ok(Symbol::EndOfBlock)
        } else {
            Err(invalid())
        };
    }
    let length =
        entry_value(entry) + read_extra(bits, entry_consume(entry) - entry_codeword_len(entry))?;
    let dentry = decode_entry(bits, &tables.dist, DIST_TABLE_BITS)?;
    if dentry & FLAG_EXCEPTIONAL != 0 {
        return Err(invalid());
    }
    let distance =
        entry_value(dentry) + read_extra(bits, entry_consume(dentry) - entry_codeword_len(dentry))?;
    Ok(Symbol::Match { length, distance })
}
