//! Deflate's fixed tables (RFC 1951 §3.2.5, §3.2.6) and decode-table sizes.

use crate::huffman::{base_entry, SymbolMeaning, FLAG_EOB, FLAG_EXCEPTIONAL, FLAG_LITERAL};

/// Index width of the literal/length main table. Pages are short (4 KiB out), so the
/// table is rebuilt every ~1–2 KiB of input: 10 bits balances build cost and hit rate.
pub const LITLEN_TABLE_BITS: u32 = 10;
/// Literal/length table size: main table plus the worst-case subtables
/// (zlib's `enough 288 10 15`).
pub const LITLEN_TABLE_SIZE: usize = 1332;
/// Entries of the fixed code's pair table: indexed by the 10 bits after an 8-bit prefix,
/// each holds the literal/length entry at offset 0 (low half) and at offset 1 (high half)
/// of those bits — the next symbol's entry after an 8-bit and after a 9-bit literal. Fixed
/// codewords are at most 9 bits, so 9 bits at either offset decide the entry.
pub const FIXED_PAIRS: usize = 1 << 10;
/// Index width of the distance main table.
pub const DIST_TABLE_BITS: u32 = 8;
/// Distance table size (`enough 32 8 15`).
pub const DIST_TABLE_SIZE: usize = 402;
/// Index width of the code-length ("precode") table; its codes are at most 7 bits.
pub const PRECODE_TABLE_BITS: u32 = 7;
/// Precode table size (no subtables).
pub const PRECODE_TABLE_SIZE: usize = 128;

/// Number of literal/length symbols the format can describe (286 and 287 are reserved).
pub const NUM_LITLEN_SYMS: usize = 288;
/// Number of distance symbols the header can describe (30 and 31 are reserved).
pub const NUM_DIST_SYMS: usize = 32;
/// Number of code-length symbols.
pub const NUM_PRECODE_SYMS: usize = 19;

/// Order in which code-length code lengths are transmitted.
pub const PRECODE_ORDER: [u8; NUM_PRECODE_SYMS] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];

/// Base match length of length symbols 257..=285.
pub const LENGTH_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
/// Extra bits of length symbols 257..=285.
pub const LENGTH_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
/// Base distance of distance symbols 0..=29.
pub const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
/// Extra bits of distance symbols 0..=29.
pub const DIST_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];

/// What a literal/length symbol means.
pub const fn litlen_meaning(sym: usize) -> SymbolMeaning {
    match sym {
        0..=255 => SymbolMeaning {
            value: sym as u32,
            extra_bits: 0,
            flags: FLAG_LITERAL,
        },
        256 => SymbolMeaning {
            value: 0,
            extra_bits: 0,
            flags: FLAG_EXCEPTIONAL | FLAG_EOB,
        },
        257..=285 => SymbolMeaning {
            value: LENGTH_BASE[sym - 257] as u32,
            extra_bits: LENGTH_EXTRA[sym - 257] as u32,
            flags: 0,
        },
        _ => SymbolMeaning::INVALID,
    }
}

/// What a distance symbol means.
pub const fn dist_meaning(sym: usize) -> SymbolMeaning {
    match sym {
        0..=29 => SymbolMeaning {
            value: DIST_BASE[sym] as u32,
            extra_bits: DIST_EXTRA[sym] as u32,
            flags: 0,
        },
        _ => SymbolMeaning::INVALID,
    }
}

/// What a code-length symbol means: the symbol itself is the value.
pub const fn precode_meaning(sym: usize) -> SymbolMeaning {
    SymbolMeaning {
        value: sym as u32,
        extra_bits: 0,
        flags: 0,
    }
}

/// Code lengths of the fixed literal/length code followed by the fixed distance code.
pub fn fixed_code_lengths() -> [u8; NUM_LITLEN_SYMS + NUM_DIST_SYMS] {
    let mut lens = [0u8; NUM_LITLEN_SYMS + NUM_DIST_SYMS];
    for (sym, len) in lens.iter_mut().enumerate() {
        *len = match sym {
            0..=143 => 8,
            144..=255 => 9,
            256..=279 => 7,
            280..=287 => 8,
            _ => 5,
        };
    }
    lens
}

/// Base decode-table entries (see [`crate::huffman::base_entry`]) of a table's symbols.
macro_rules! base_entries {
    ($n:expr, $meaning:ident) => {{
        let mut t = [0u32; $n];
        let mut sym = 0;
        while sym < $n {
            t[sym] = base_entry($meaning(sym));
            sym += 1;
        }
        t
    }};
}

/// Base entries of the literal/length symbols, computed at compile time.
pub static LITLEN_BASE_ENTRIES: [u32; NUM_LITLEN_SYMS] =
    base_entries!(NUM_LITLEN_SYMS, litlen_meaning);
/// Base entries of the distance symbols.
pub static DIST_BASE_ENTRIES: [u32; NUM_DIST_SYMS] = base_entries!(NUM_DIST_SYMS, dist_meaning);
/// Base entries of the code-length symbols.
pub static PRECODE_BASE_ENTRIES: [u32; NUM_PRECODE_SYMS] =
    base_entries!(NUM_PRECODE_SYMS, precode_meaning);
