//! Canonical Huffman codes: decode-table construction.
//!
//! Deflate transmits a Huffman code as one codeword length per symbol; the codewords
//! themselves follow from the lengths (RFC 1951 §3.2.2, "canonical" codes). Deflate packs
//! codewords most-significant bit first into an LSB-first bit stream, so a decoder that
//! peeks `n` bits from its bit buffer sees each codeword *bit-reversed*.
//!
//! The decode table is indexed by the next `table_bits` bits of the stream. A codeword of
//! length `len <= table_bits` fills every entry whose low `len` bits equal its reversed
//! codeword (2^(table_bits - len) entries). Longer codewords share a main-table entry per
//! `table_bits`-bit prefix; that entry points to a subtable indexed by the following bits.
//! This is the scheme of zlib's `inftrees.c` and libdeflate's `build_decode_table()`.
//!
//! # Entry layout (u32)
//!
//! | bits  | meaning |
//! |-------|---------|
//! | 0..8  | bits to consume: codeword length + extra bits (subtable pointer: `table_bits`) |
//! | 8..12 | codeword length (subtable pointer: the subtable's index width) |
//! | 12    | [`FLAG_EOB`]: end of block |
//! | 13    | [`FLAG_SUBTABLE`]: pointer to a subtable |
//! | 14    | [`FLAG_EXCEPTIONAL`]: not a literal or match (EOB, subtable or invalid) |
//! | 15    | [`FLAG_LITERAL`]: a literal byte |
//! | 16..32| literal byte, length/distance base, or subtable start |
//!
//! A decoder extracts a match's extra bits as `(bits & mask(consume)) >> codeword_len`,
//! so one table lookup yields both the base value and how to read the rest.

use crate::error::InflateErrorKind;

/// Entry flag: a literal byte (value in bits 16..24).
pub const FLAG_LITERAL: u32 = 1 << 15;
/// Entry flag: anything that is neither a literal nor a length/distance (EOB, subtable, invalid).
pub const FLAG_EXCEPTIONAL: u32 = 1 << 14;
/// Entry flag: the entry points to a subtable.
pub const FLAG_SUBTABLE: u32 = 1 << 13;
/// Entry flag: end of block.
pub const FLAG_EOB: u32 = 1 << 12;
/// An entry for a bit pattern that is no codeword (or a reserved symbol).
pub const INVALID_ENTRY: u32 = FLAG_EXCEPTIONAL;

/// Longest codeword deflate allows.
pub const MAX_CODEWORD_LEN: usize = 15;

/// How many symbols of a code have each codeword length (index 0 unused, always 0):
/// what canonical codeword assignment starts from (RFC 1951 §3.2.2, `bl_count`).
pub type LengthCounts = [u16; MAX_CODEWORD_LEN + 1];

/// Bits to consume for an entry (codeword length + extra bits).
#[inline(always)]
pub const fn entry_consume(entry: u32) -> u32 {
    entry & 0xff
}

/// Codeword length of an entry (or subtable width for a subtable pointer).
#[inline(always)]
pub const fn entry_codeword_len(entry: u32) -> u32 {
    (entry >> 8) & 0xf
}

/// The entry's value: literal byte, length/distance base or subtable start.
#[inline(always)]
pub const fn entry_value(entry: u32) -> u32 {
    entry >> 16
}

/// What a symbol decodes to, before its codeword length is known.
#[derive(Clone, Copy)]
pub struct SymbolMeaning {
    /// Value placed in bits 16..32 (literal, base).
    pub value: u32,
    /// Extra bits read after the codeword.
    pub extra_bits: u32,
    /// Flags ([`FLAG_LITERAL`], [`FLAG_EOB`] | [`FLAG_EXCEPTIONAL`], or 0 for a length/distance).
    pub flags: u32,
}

impl SymbolMeaning {
    /// A symbol that must never appear in valid data.
    pub const INVALID: Self = Self {
        value: 0,
        extra_bits: 0,
        flags: INVALID_ENTRY,
    };
}

/// The code-length check zlib's `inftrees.c` and miniz_oxide share: the code must be
/// complete, except that a literal/length or distance code may be incomplete when no
/// codeword is longer than one bit (no symbol at all, or a single 1-bit codeword: RFC 1951
/// §3.2.7 allows "one distance code of one bit"). The code-length code must be complete.
fn check_lengths(counts: &LengthCounts, allow_lone_codeword: bool) -> Result<(), InflateErrorKind> {
    let mut remaining: i32 = 1; // code space left, in units of the current length
    for &count in &counts[1..] {
        remaining = (remaining << 1) - i32::from(count);
        if remaining < 0 {
            return Err(InflateErrorKind::OversubscribedCode);
        }
    }
    let longest = counts.iter().rposition(|&c| c != 0).unwrap_or(0);
    if remaining != 0 && !(allow_lone_codeword && longest <= 1) {
        return Err(InflateErrorKind::IncompleteCode);
    }
    Ok(())
}

/// Build a decode table for `lengths` (one codeword length per symbol, 0 = unused).
/// `allow_lone_codeword`: accept the incomplete codes [`check_lengths`] allows.
///
/// `base_entries[symbol]` says what each symbol decodes to (see [`base_entry`]). `table` must hold the main table
/// (`1 << table_bits` entries) plus room for every subtable the code can need; the
/// `*_TABLE_SIZE` constants of the callers give safe sizes for deflate's codes (the
/// same bounds as zlib's `ENOUGH`). Returns the number of entries used.
pub fn build_decode_table(
    lengths: &[u8],
    table_bits: u32,
    table: &mut [u32],
    allow_lone_codeword: bool,
    base_entries: &[u32],
) -> Result<usize, InflateErrorKind> {
    let mut sorted = [0u16; MAX_SYMBOLS + 1];
    let (counts, used) = sort_by_length(lengths, &mut sorted);
    check_lengths(&counts, allow_lone_codeword)?;
    let sorted = &sorted[..used];

    let main_size = 1usize << table_bits;
    let complete = is_complete(&counts);
    // The main table is built by doubling (libdeflate's scheme): while placing codewords of
    // length `len`, only entries 0..2^len exist; before moving to a longer length the
    // filled part is copied to its upper half, which replicates every shorter codeword
    // to all the indices that end in its bits. Entries no codeword reaches stay invalid.
    table[..2].fill(INVALID_ENTRY);
    let mut filled_bits = 1u32;

    let mut next_free = main_size; // where the next subtable goes
    let mut codeword: u32 = 0; // canonical codeword, MSB-first, of the current length
    let mut len: u32 = 1;
    let mut count_left = u32::from(counts[1]);
    let mut subtable_prefix = u32::MAX;
    let mut subtable_start = 0usize;
    let mut subtable_bits = 0u32;
    // Codewords of each length not yet placed: a new subtable is sized for these only.
    let mut unplaced = counts;

    for &symbol in sorted {
        while count_left == 0 {
            codeword <<= 1;
            len += 1;
            count_left = u32::from(counts[len as usize]);
        }
        count_left -= 1;
        unplaced[len as usize] -= 1;
        let base = base_entries
            .get(usize::from(symbol))
            .copied()
            .unwrap_or(INVALID_ENTRY);
        let reversed = reverse_bits(codeword, len);

        if len <= table_bits {
            grow_main_table(table, &mut filled_bits, len);
            table[reversed as usize] = make_entry(base, len);
        } else {
            grow_main_table(table, &mut filled_bits, table_bits);
            let prefix = reversed & (main_size as u32 - 1);
            if prefix != subtable_prefix {
                subtable_prefix = prefix;
                // `unplaced` lacks the current codeword; count it back in.
                let mut pending = unplaced;
                pending[len as usize] += 1;
                subtable_bits = subtable_width(&pending, len, table_bits);
                subtable_start = next_free;
                let size = 1usize << subtable_bits;
                if subtable_start + size > table.len() {
                    // Cannot happen for a code that passed check_lengths with the callers'
                    // table sizes; kept as an error rather than a panic.
                    return Err(InflateErrorKind::OversubscribedCode);
                }
                if !complete {
                    table[subtable_start..subtable_start + size].fill(INVALID_ENTRY);
                }
                next_free += size;
                table[prefix as usize] = ((subtable_start as u32) << 16)
                    | FLAG_EXCEPTIONAL
                    | FLAG_SUBTABLE
                    | (subtable_bits << 8)
                    | table_bits;
            }
            let sub_len = len - table_bits;
            let entry = make_entry(base, sub_len);
            let mut i = (reversed >> table_bits) as usize;
            while i < (1 << subtable_bits) {
                table[subtable_start + i] = entry;
                i += 1 << sub_len;
            }
        }
        codeword += 1;
    }
    grow_main_table(table, &mut filled_bits, table_bits);
    Ok(next_free)
}

/// Double the filled part of the main table until it spans `bits` index bits.
#[inline]
fn grow_main_table(table: &mut [u32], filled_bits: &mut u32, bits: u32) {
    while *filled_bits < bits {
        let half = 1usize << *filled_bits;
        table.copy_within(0..half, half);
        *filled_bits += 1;
    }
}

/// Most symbols a deflate code has (literal/length: 288).
const MAX_SYMBOLS: usize = 288;

/// Count the codeword lengths and sort the used symbols by (length, symbol), the canonical
/// codeword order. Returns the counts (index 0 unused) and the number of used symbols.
///
/// The symbols are handled as four interleaved quarters with their own counters, so the
/// read-modify-write of a counter never waits for the previous symbol's (with one shared
/// counter, runs of equal lengths serialise on store-to-load forwarding). The lengths are
/// padded with zeros to four equal quarters; unused symbols are written to a scratch slot
/// past the end, without a branch.
fn sort_by_length(lengths: &[u8], sorted: &mut [u16; MAX_SYMBOLS + 1]) -> (LengthCounts, usize) {
    let n = lengths.len().min(MAX_SYMBOLS);
    // MAX_SYMBOLS is a multiple of 4, so four quarters of `quarter` symbols always fit.
    let quarter = n.div_ceil(4);
    let mut lens = [0u8; MAX_SYMBOLS];
    lens[..n].copy_from_slice(&lengths[..n]);

    let mut q_counts = [[0u16; 16]; 4];
    for i in 0..quarter {
        for (q, counts) in q_counts.iter_mut().enumerate() {
            counts[usize::from(lens[q * quarter + i] & 0xf)] += 1;
        }
    }
    let mut counts: LengthCounts = [0; MAX_CODEWORD_LEN + 1];
    for (len, count) in counts.iter_mut().enumerate().skip(1) {
        *count = q_counts.iter().map(|c| c[len]).sum();
    }
    // Where each quarter's symbols of each length go: after all shorter codewords, and
    // after the same length's symbols of earlier quarters. Length 0 goes to the scratch slot.
    let mut q_offsets = [[MAX_SYMBOLS as u16; 16]; 4];
    let mut start = 0u16;
    for len in 1..=MAX_CODEWORD_LEN {
        for q in 0..4 {
            q_offsets[q][len] = start;
            start += q_counts[q][len];
        }
    }
    for i in 0..quarter {
        for (q, offsets) in q_offsets.iter_mut().enumerate() {
            let symbol = q * quarter + i;
            let len = usize::from(lens[symbol] & 0xf);
            let slot = offsets[len];
            sorted[usize::from(slot).min(MAX_SYMBOLS)] = symbol as u16;
            offsets[len] = slot + u16::from(len != 0);
        }
    }
    (counts, usize::from(start))
}

/// Whether the lengths use the whole code space (Kraft sum exactly 1).
fn is_complete(counts: &LengthCounts) -> bool {
    let space: u32 = (1..=MAX_CODEWORD_LEN)
        .map(|l| u32::from(counts[l]) << (MAX_CODEWORD_LEN - l))
        .sum();
    space == 1 << MAX_CODEWORD_LEN
}

/// Width of the subtable that starts with a codeword of length `len`: wide enough to hold
/// every codeword that shares its `table_bits`-bit prefix (zlib's `inflate_table` rule).
/// `counts` are the codewords not yet placed in earlier subtables, this one's included:
/// in canonical order they fill the new subtable's code space first.
fn subtable_width(counts: &LengthCounts, len: u32, table_bits: u32) -> u32 {
    let mut width = len - table_bits;
    let mut space: i32 = 1 << width;
    let mut l = len as usize;
    while l <= MAX_CODEWORD_LEN {
        space -= i32::from(counts[l]);
        if space <= 0 {
            break;
        }
        l += 1;
        width += 1;
        space <<= 1;
    }
    width.min(MAX_CODEWORD_LEN as u32 - table_bits)
}

/// A symbol's entry without its codeword length: value, flags and extra-bit count.
pub const fn base_entry(m: SymbolMeaning) -> u32 {
    (m.value << 16) | m.flags | m.extra_bits
}

/// The full entry: the base plus the codeword length (bits 8..12 and added to the consume count).
#[inline(always)]
fn make_entry(base: u32, codeword_len: u32) -> u32 {
    base + (codeword_len << 8) + codeword_len
}

/// Reverse the low `len` bits of `code`.
#[inline]
pub const fn reverse_bits(code: u32, len: u32) -> u32 {
    if len == 0 {
        0
    } else if len <= REVERSE_TABLE_BITS {
        // x86-64 has no bit-reverse instruction: a 2 KiB table beats the shift-and-mask dance.
        (REVERSED_10[(code & 0x3ff) as usize] >> (REVERSE_TABLE_BITS - len)) as u32
    } else {
        code.reverse_bits() >> (32 - len)
    }
}

const REVERSE_TABLE_BITS: u32 = 10;
/// `REVERSED_10[i]` is `i` with its low 10 bits reversed.
static REVERSED_10: [u16; 1 << REVERSE_TABLE_BITS] = {
    let mut t = [0u16; 1 << REVERSE_TABLE_BITS];
    let mut i = 0;
    while i < t.len() {
        t[i] = ((i as u32).reverse_bits() >> (32 - REVERSE_TABLE_BITS)) as u16;
        i += 1;
    }
    t
};

// ---------------------------------------------------------------------------------------
// Encoding side: code lengths from frequencies, canonical codewords.
// ---------------------------------------------------------------------------------------

/// Most symbols a code to be built may have (deflate's literal/length alphabet).
pub const MAX_BUILD_SYMBOLS: usize = 288;
/// Frequencies are clamped to 23 bits for the sort keys (a block has far fewer symbols;
/// clamping only merges ties between absurdly frequent symbols).
const MAX_KEY_FREQ: u32 = (1 << 23) - 1;

/// Compute length-limited Huffman code lengths for `freqs` into `lens` (same length),
/// none longer than `max_len` (at most [`MAX_CODEWORD_LEN`]; `freqs` may have at most
/// `2^max_len` used symbols); returns how many symbols got each length.
///
/// Optimal lengths come from Moffat and Katajainen's in-place algorithm over the used
/// symbols sorted by frequency; if the longest exceeds `max_len`, lengths are clamped and
/// the Kraft sum is restored by lengthening the deepest shorter codewords (miniz's and
/// zlib's repair), then reassigned so rarer symbols keep longer codewords. At least two
/// symbols get a codeword whenever any does, so the code is complete (IAA and strict
/// decoders accept it); a lone used symbol is paired with an unused neighbour.
///
/// The counts come from the construction itself (the leaves it places at each depth), so
/// a caller assigning codewords need not count them again: a count loop over the lengths
/// increments the same few counters back to back, a chain through memory.
pub fn build_code_lengths(freqs: &[u32], max_len: u32, lens: &mut [u8]) -> LengthCounts {
    let max_len = max_len.min(MAX_CODEWORD_LEN as u32);
    let n = freqs.len().min(MAX_BUILD_SYMBOLS).min(lens.len());
    lens[..n].fill(0);
    let mut counts: LengthCounts = [0; MAX_CODEWORD_LEN + 1];
    let mut keys = [0u32; MAX_BUILD_SYMBOLS];
    let used = sort_by_frequency(&freqs[..n], &mut keys);
    if used == 0 {
        return counts;
    }
    if used == 1 {
        let sym = (keys[0] & 0x1ff) as usize;
        let other = if sym == 0 { 1 } else { sym - 1 };
        lens[sym] = 1;
        counts[1] = 1;
        if other < n {
            lens[other] = 1;
            counts[1] = 2;
        }
        return counts;
    }
    let keys = &keys[..used];
    let mut work = [0u32; MAX_BUILD_SYMBOLS];
    for (w, &k) in work.iter_mut().zip(keys.iter()) {
        *w = k >> 9;
    }
    let mut depth_counts = minimum_redundancy(&mut work[..used]);
    // work[i] is now the length of order[i]; the rarest symbols (low i) are the longest.
    if work[0] > max_len {
        limit_lengths(&mut work[..used], max_len, &mut depth_counts);
    }
    for (&k, &len) in keys.iter().zip(work.iter()) {
        lens[(k & 0x1ff) as usize] = len as u8;
    }
    for (c, &d) in counts.iter_mut().zip(&depth_counts).skip(1) {
        *c = d as u16;
    }
    counts
}

/// Frequencies below this are sorted by counting; the rest (a block's few frequent
/// symbols) by comparison.
const COUNTING_SORT_BUCKETS: usize = 128;

/// The used symbols of `freqs` as `freq << 9 | symbol` keys into `keys`, in ascending order
/// (by frequency, then symbol); returns how many.
///
/// A counting sort by frequency (libdeflate sorts the same way): most symbols of a block
/// are rare, so the bucket of frequencies at or above [`COUNTING_SORT_BUCKETS`] − 1 holds
/// few keys, and only those are compared. Walking the symbols in order keeps ties in
/// symbol order, as one sort of the keys would.
fn sort_by_frequency(freqs: &[u32], keys: &mut [u32; MAX_BUILD_SYMBOLS]) -> usize {
    const LAST: usize = COUNTING_SORT_BUCKETS - 1;
    let bucket = |key: u32| ((key >> 9) as usize).min(LAST);
    // The used symbols' keys, gathered without a branch (whether a symbol is used is as
    // random as the data; a branch on it mispredicts).
    let mut used_keys = [0u32; MAX_BUILD_SYMBOLS];
    let mut used = 0;
    for (sym, &f) in freqs.iter().enumerate() {
        used_keys[used] = f.min(MAX_KEY_FREQ) << 9 | sym as u32;
        used += usize::from(f != 0);
    }
    let used_keys = &used_keys[..used];
    let mut start = [0u16; COUNTING_SORT_BUCKETS];
    for &k in used_keys {
        start[bucket(k)] += 1;
    }
    let mut next = 0u16;
    for s in &mut start {
        (*s, next) = (next, next + *s);
    }
    for &k in used_keys {
        let slot = &mut start[bucket(k)];
        keys[usize::from(*slot)] = k;
        *slot += 1;
    }
    // The last bucket ends at `used`; it starts where the bucket before it now ends.
    let frequent = usize::from(start[LAST - 1]);
    keys[frequent..used].sort_unstable();
    used
}

/// Deepest level [`minimum_redundancy`] counts on its own; deeper leaves (a tree no
/// deflate code may have, so one [`limit_lengths`] flattens) count here.
const DEEPEST_COUNTED: usize = 32;

/// Moffat–Katajainen: turn ascending frequencies into optimal code lengths, in place;
/// returns how many leaves sit at each depth (those below [`DEEPEST_COUNTED`] at it).
fn minimum_redundancy(a: &mut [u32]) -> [u32; DEEPEST_COUNTED + 1] {
    let n = a.len();
    // Phase 1: build the tree; internal nodes' weights, then parent pointers. Node
    // `next` takes the lighter of the next internal node (`root`, always below `next`)
    // and the next leaf (`leaf`, always above it), twice; its weight is summed in a
    // register and stored once (adding into `a[next]` made a chain through memory).
    a[0] += a[1];
    let (mut root, mut leaf) = (0usize, 2usize);
    for next in 1..n - 1 {
        let first = if leaf >= n || a[root] < a[leaf] {
            let w = a[root];
            a[root] = next as u32;
            root += 1;
            w
        } else {
            leaf += 1;
            a[leaf - 1]
        };
        let second = if leaf >= n || (root < next && a[root] < a[leaf]) {
            let w = a[root];
            a[root] = next as u32;
            root += 1;
            w
        } else {
            leaf += 1;
            a[leaf - 1]
        };
        a[next] = first + second;
    }
    // Phase 2: internal node depths.
    a[n - 2] = 0;
    for next in (0..n - 2).rev() {
        a[next] = a[a[next] as usize] + 1;
    }
    // Phase 3: leaf depths, deepest first from the low end.
    let mut leaves = [0u32; DEEPEST_COUNTED + 1];
    let (mut avail, mut used, mut depth) = (1i64, 0i64, 0u32);
    let mut root = n as i64 - 2;
    let mut next = n as i64 - 1;
    while avail > 0 {
        while root >= 0 && a[root as usize] == depth {
            used += 1;
            root -= 1;
        }
        leaves[(depth as usize).min(DEEPEST_COUNTED)] += (avail - used) as u32;
        while avail > used {
            a[next as usize] = depth;
            next -= 1;
            avail -= 1;
        }
        avail = 2 * used;
        depth += 1;
        used = 0;
    }
    leaves
}

/// Clamp lengths (ascending-frequency order, so descending length) to `max_len` and repair
/// the Kraft sum, keeping longer codewords on rarer symbols. `count` holds how many
/// leaves have each length (those deeper than it can index at its last entry) and is
/// left holding the repaired counts.
fn limit_lengths(lens: &mut [u32], max_len: u32, count: &mut [u32; DEEPEST_COUNTED + 1]) {
    let max = max_len as usize;
    let deeper: u32 = count[max + 1..].iter().sum();
    count[max + 1..].fill(0);
    count[max] += deeper;
    let mut kraft: u64 = (1..=max).map(|l| u64::from(count[l]) << (max - l)).sum();
    while kraft > 1u64 << max {
        // Move one codeword from the deepest level up... by splitting a shorter leaf.
        count[max] -= 1;
        for l in (1..max).rev() {
            if count[l] > 0 {
                count[l] -= 1;
                count[l + 1] += 2;
                break;
            }
        }
        kraft -= 1;
    }
    // Hand out the lengths again: longest to the rarest (the start of the slice).
    let mut i = 0;
    for l in (1..=max).rev() {
        for _ in 0..count[l] {
            lens[i] = l as u32;
            i += 1;
        }
    }
}

/// Canonical codewords (MSB-first, as RFC 1951 defines them) for `lens` into `codes`.
pub fn canonical_codes(lens: &[u8], codes: &mut [u16]) {
    let mut count: LengthCounts = [0; MAX_CODEWORD_LEN + 1];
    for &l in lens {
        count[usize::from(l) & 0xf] += 1;
    }
    count[0] = 0;
    let mut next = [0u16; MAX_CODEWORD_LEN + 2];
    let mut code = 0u16;
    for len in 1..=MAX_CODEWORD_LEN {
        code = (code + count[len - 1]) << 1;
        next[len] = code;
    }
    for (sym, &l) in lens.iter().enumerate() {
        if l != 0 {
            let slot = &mut next[usize::from(l) & 0xf];
            codes[sym] = *slot;
            *slot = slot.wrapping_add(1);
        } else {
            codes[sym] = 0;
        }
    }
}

/// A code in IAA's AECS entry form (`iaa.md` §5.2): code length in bits 18:15, the
/// canonical MSB-first codeword in bits 14:0; 0 for an unused symbol.
pub const fn aecs_entry(code: u16, len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        ((len as u32) << 15) | (code as u32 & 0x7fff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::{vec, vec::Vec};

    const PLAIN: [u32; 288] = {
        let mut t = [0u32; 288];
        let mut i = 0;
        while i < 288 {
            t[i] = base_entry(plain(i));
            i += 1;
        }
        t
    };

    const fn plain(sym: usize) -> SymbolMeaning {
        SymbolMeaning {
            value: sym as u32,
            extra_bits: 0,
            flags: FLAG_LITERAL,
        }
    }

    fn decode(table: &[u32], bits: u32, table_bits: u32) -> (u32, u32) {
        let e = table[(bits & ((1 << table_bits) - 1)) as usize];
        if e & FLAG_SUBTABLE != 0 {
            let sub = bits >> table_bits;
            let e2 = table[(entry_value(e) + (sub & ((1 << entry_codeword_len(e)) - 1))) as usize];
            (entry_value(e2), entry_codeword_len(e2) + table_bits)
        } else {
            (entry_value(e), entry_codeword_len(e))
        }
    }

    #[test]
    fn rfc_example_code() {
        // RFC 1951 §3.2.2 example: lengths (3,3,3,3,3,2,4,4) give F=00, A=010, ..., G=1110, H=1111.
        let lengths = [3u8, 3, 3, 3, 3, 2, 4, 4];
        let mut table = [0u32; 64];
        build_decode_table(&lengths, 4, &mut table, true, &PLAIN).unwrap();
        // F = 00 -> reversed 00
        assert_eq!(decode(&table, 0b00, 4), (5, 2));
        // A = 010 -> reversed 010
        assert_eq!(decode(&table, 0b010, 4), (0, 3));
        // H = 1111
        assert_eq!(decode(&table, 0b1111, 4), (7, 4));
        // G = 1110 -> reversed 0111
        assert_eq!(decode(&table, 0b0111, 4), (6, 4));
    }

    #[test]
    fn subtables_decode_long_codes() {
        // Lengths 1,2,...,14,15,15: a maximally skewed complete code.
        let mut lengths = [0u8; 16];
        for (i, l) in lengths.iter_mut().enumerate().take(15) {
            *l = (i + 1) as u8;
        }
        lengths[15] = 15;
        let mut table = [0u32; 2048];
        build_decode_table(&lengths, 8, &mut table, true, &PLAIN).unwrap();
        // Symbol k (k < 15) has codeword 1^k 0: k ones then a zero, so reversed it is
        // k low one-bits followed by a zero.
        for k in 0..15u32 {
            let bits = (1u32 << k) - 1;
            assert_eq!(decode(&table, bits, 8), (k, k + 1), "symbol {k}");
        }
        assert_eq!(decode(&table, 0x7fff, 8), (15, 15));
    }

    #[test]
    fn returned_counts_are_the_lengths_counts() {
        // Random alphabets, flat to steeply skewed (deep trees that need limiting), and
        // the small special cases: the counts returned are those of the lengths written.
        let mut next = crate::test_support::xorshift(0x9e37_79b9_7f4a_7c15u64);
        let mut cases: Vec<Vec<u32>> = vec![vec![], vec![0, 0], vec![5], vec![0, 3], vec![3, 0]];
        for _ in 0..3000 {
            let n = 1 + (next() % MAX_BUILD_SYMBOLS as u64) as usize;
            let used_one_in = 1 + next() % 6;
            let skew = next() % 24;
            cases.push(
                (0..n)
                    .map(|_| {
                        if next() % used_one_in == 0 {
                            1 + ((next() % (1 << 20)) >> (next() % (skew + 1))) as u32
                        } else {
                            0
                        }
                    })
                    .collect(),
            );
        }
        let (mut fib, mut a, mut b) = (Vec::new(), 1u32, 1u32);
        for _ in 0..40 {
            fib.push(a);
            (a, b) = (b, a.saturating_add(b));
        }
        cases.push(fib);
        for (case, freqs) in cases.iter().enumerate() {
            let used = freqs.iter().filter(|&&f| f != 0).count();
            // A code of `used` codewords needs room for them: 2^max_len at least.
            for max_len in [7, 15].into_iter().filter(|&m| used <= 1 << m) {
                let mut lens = vec![0u8; freqs.len()];
                let counts = build_code_lengths(freqs, max_len, &mut lens);
                let mut expected = [0u16; MAX_CODEWORD_LEN + 1];
                for &l in &lens {
                    expected[usize::from(l)] += 1;
                }
                expected[0] = 0;
                assert_eq!(counts, expected, "case {case}, max_len {max_len}");
                assert!(lens.iter().all(|&l| u32::from(l) <= max_len));
            }
        }
    }

    #[test]
    fn built_lengths_are_optimal_complete_and_limited() {
        // Frequencies 1,1,2,3,5,8,...: a Fibonacci sequence makes the deepest possible tree.
        let mut freqs = [0u32; 30];
        let (mut a, mut b) = (1u32, 1u32);
        for f in freqs.iter_mut() {
            *f = a;
            (a, b) = (b, a + b);
        }
        let mut lens = [0u8; 30];
        build_code_lengths(&freqs, 15, &mut lens);
        assert!(lens.iter().all(|&l| (1..=15).contains(&l)));
        let kraft: u32 = lens.iter().map(|&l| 1u32 << (15 - l)).sum();
        assert_eq!(kraft, 1 << 15, "complete code");
        // Unlimited, two symbols of equal weight get 1 bit each.
        let mut two = [0u8; 4];
        build_code_lengths(&[0, 7, 7, 0], 15, &mut two);
        assert_eq!(two, [0, 1, 1, 0]);
        // A lone symbol is paired so the code stays complete.
        let mut one = [0u8; 3];
        build_code_lengths(&[0, 0, 9], 7, &mut one);
        assert_eq!(one, [0, 1, 1]);
        // Optimal on a textbook case: 5 symbols 1,1,2,4,8 -> lengths 4,4,3,2,1.
        let mut lens5 = [0u8; 5];
        build_code_lengths(&[1, 1, 2, 4, 8], 15, &mut lens5);
        assert_eq!(lens5, [4, 4, 3, 2, 1]);
    }

    #[test]
    fn canonical_codes_and_aecs_entries_match_the_fixed_table() {
        let mut lens = [0u8; 288];
        for (sym, l) in lens.iter_mut().enumerate() {
            *l = match sym {
                0..=143 => 8,
                144..=255 => 9,
                256..=279 => 7,
                _ => 8,
            };
        }
        let mut codes = [0u16; 288];
        canonical_codes(&lens, &mut codes);
        // iaa.md §5.2: literal 0 -> 0x40030, literal 144 -> 0x48190, EOB -> 0x38000, 280 -> 0x400C0.
        assert_eq!(aecs_entry(codes[0], lens[0]), 0x40030);
        assert_eq!(aecs_entry(codes[144], lens[144]), 0x48190);
        assert_eq!(aecs_entry(codes[256], lens[256]), 0x38000);
        assert_eq!(aecs_entry(codes[280], lens[280]), 0x400C0);
        let dl = [5u8; 30];
        let mut dc = [0u16; 30];
        canonical_codes(&dl, &mut dc);
        for (i, (&c, &l)) in dc.iter().zip(&dl).enumerate() {
            assert_eq!(aecs_entry(c, l), 0x28000 + i as u32);
        }
    }

    #[test]
    fn rejects_bad_codes() {
        let mut table = [0u32; 2048];
        let over = [1u8, 1, 1];
        assert_eq!(
            build_decode_table(&over, 8, &mut table, true, &PLAIN),
            Err(InflateErrorKind::OversubscribedCode)
        );
        let incomplete = [2u8, 2, 2];
        assert_eq!(
            build_decode_table(&incomplete, 8, &mut table, true, &PLAIN),
            Err(InflateErrorKind::IncompleteCode)
        );
        // One 1-bit codeword is accepted; its unused half stays invalid.
        let single = [0u8, 1];
        build_decode_table(&single, 8, &mut table, true, &PLAIN).unwrap();
        assert_eq!(table[0] >> 16, 1);
        assert_eq!(table[1], INVALID_ENTRY);
        // ...but not for the code-length code, nor a lone longer codeword.
        assert_eq!(
            build_decode_table(&single, 7, &mut table, false, &PLAIN),
            Err(InflateErrorKind::IncompleteCode)
        );
        assert_eq!(
            build_decode_table(&[0u8, 2], 8, &mut table, true, &PLAIN),
            Err(InflateErrorKind::IncompleteCode)
        );
        // No symbols at all is accepted too (a distance code of an all-literal block).
        build_decode_table(&[0u8; 30], 8, &mut table, true, &PLAIN).unwrap();
        assert!(table[..256].iter().all(|&e| e == INVALID_ENTRY));
    }
}
