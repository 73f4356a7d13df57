//! The parse of a block: literals and matches as 32-bit tokens, and the deflate symbols
//! they map to.
//!
//! A token holds what the block writer needs, in one format for literals and matches so
//! that counting and writing a token take no branch on its kind (a literal/match branch
//! mispredicts at every switch between a literal run and a match):
//!
//! | bits   | literal         | match                               |
//! |--------|-----------------|-------------------------------------|
//! | 0..9   | the byte        | length symbol (257..=285)           |
//! | 9..14  | [`NO_DIST`]     | distance symbol (0..=29)            |
//! | 14..19 | 0               | the length's extra-bit value        |
//! | 19..32 | 0               | the distance's extra-bit value      |

use crate::inflate::tables::{DIST_BASE, DIST_EXTRA, LENGTH_BASE, LENGTH_EXTRA};

/// End-of-block symbol.
pub(crate) const EOB: usize = 256;
/// Shortest match deflate can express.
pub(crate) const MIN_MATCH: usize = 3;
/// Longest match deflate can express.
pub(crate) const MAX_MATCH: usize = 258;
/// The distance-symbol field of a literal token: a slot past the 30 distance symbols,
/// which the writer's tables map to zero bits.
pub(crate) const NO_DIST: usize = 31;
/// Distance-symbol slots a token can name (30 symbols, then [`NO_DIST`]).
pub(crate) const DIST_SLOTS: usize = 32;

#[inline(always)]
pub(crate) const fn literal(byte: u8) -> u32 {
    byte as u32 | (NO_DIST as u32) << 9
}

/// A match token (`3 <= length <= 258`, `1 <= distance <= 32768`).
#[inline(always)]
pub(crate) fn matched(length: usize, distance: usize) -> u32 {
    debug_assert!((MIN_MATCH..=MAX_MATCH).contains(&length) && (1..=32768).contains(&distance));
    let ds = dist_symbol(distance);
    let dist_extra = (distance - usize::from(DIST_BASE[ds])) as u32;
    LENGTH_TOKEN[(length - MIN_MATCH) & 0xff] | (ds as u32) << 9 | dist_extra << 19
}

/// Whether `token` is a match.
#[inline(always)]
pub(crate) const fn is_match(token: u32) -> bool {
    token & 0x1ff > EOB as u32
}

#[cfg(test)]
/// A match token's length.
#[inline(always)]
pub(crate) fn match_length(token: u32) -> usize {
    usize::from(LENGTH_BASE[token_length_symbol(token) - 257]) + ((token >> 14) & 0x1f) as usize
}

#[cfg(test)]
/// A match token's distance.
#[inline(always)]
pub(crate) fn match_distance(token: u32) -> usize {
    usize::from(DIST_BASE[token_dist_symbol(token)]) + (token >> 19) as usize
}

/// The literal/length symbol of a token: the byte of a literal, the length symbol
/// (257..=285) of a match.
#[inline(always)]
pub(crate) const fn token_length_symbol(token: u32) -> usize {
    (token & 0x1ff) as usize
}

/// The distance symbol (0..=29) of a match token, [`NO_DIST`] for a literal.
#[inline(always)]
pub(crate) const fn token_dist_symbol(token: u32) -> usize {
    ((token >> 9) & 0x1f) as usize
}

/// The length part of a match token (symbol and extra value) for each `length - 3`.
static LENGTH_TOKEN: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut k = 0;
    while k < 256 {
        let sym = LENGTH_SYMBOL[k] as usize;
        let extra = (k + MIN_MATCH - LENGTH_BASE[sym - 257] as usize) as u32;
        t[k] = sym as u32 | extra << 14;
        k += 1;
    }
    t
};

/// Extra bits of each length symbol − 257.
pub(crate) static LENGTH_EXTRA_BITS: [u8; 29] = LENGTH_EXTRA;
/// Extra bits of each distance symbol.
pub(crate) static DIST_EXTRA_BITS: [u8; 30] = DIST_EXTRA;

/// Length symbol (257..=285) for each `length - 3`.
pub(crate) static LENGTH_SYMBOL: [u16; 256] = {
    let mut t = [0u16; 256];
    let mut code = 0;
    while code < 29 {
        let base = LENGTH_BASE[code] as usize - MIN_MATCH;
        let span = 1usize << LENGTH_EXTRA[code];
        let mut k = 0;
        while k < span && base + k < 256 {
            t[base + k] = 257 + code as u16;
            k += 1;
        }
        code += 1;
    }
    // Length 258 has its own symbol (285), not 284 with all extra bits set.
    t[255] = 285;
    t
};

/// Distance symbol for `distance - 1` below 256, and for `(distance - 1) >> 7` above
/// (zlib's two-table trick: 512 entries cover every distance up to 32 KiB).
pub(crate) static DIST_SYMBOL: [u8; 512] = {
    let mut t = [0u8; 512];
    let mut code = 0;
    while code < 30 {
        let base = DIST_BASE[code] as usize - 1;
        let span = 1usize << DIST_EXTRA[code];
        let mut k = 0;
        while k < span {
            let d = base + k;
            if d < 256 {
                t[d] = code as u8;
            } else if d >> 7 < 256 {
                t[256 + (d >> 7)] = code as u8;
            }
            k += 1;
        }
        code += 1;
    }
    t
};

#[inline(always)]
pub(crate) fn dist_symbol(distance: usize) -> usize {
    let d = distance - 1;
    // The table index chosen by a select, not a branch: whether a distance is below 257
    // is as random as the data, and a branch on it mispredicts.
    let index = if d < 256 { d } else { 256 | (d >> 7) };
    usize::from(DIST_SYMBOL[index & 511])
}

#[inline(always)]
pub(crate) fn length_symbol(length: usize) -> usize {
    usize::from(LENGTH_SYMBOL[(length - MIN_MATCH) & 0xff])
}

/// Extra-bit count and value of a length.
#[cfg(test)]
pub(crate) fn length_extra(length: usize, symbol: usize) -> (u32, u32) {
    let i = symbol - 257;
    (
        u32::from(LENGTH_EXTRA[i]),
        (length - usize::from(LENGTH_BASE[i])) as u32,
    )
}

/// Extra-bit count and value of a distance.
#[cfg(test)]
pub(crate) fn dist_extra(distance: usize, symbol: usize) -> (u32, u32) {
    (
        u32::from(DIST_EXTRA[symbol]),
        (distance - usize::from(DIST_BASE[symbol])) as u32,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbol_tables_agree_with_rfc_1951() {
        assert_eq!(length_symbol(3), 257);
        assert_eq!(length_symbol(10), 264);
        assert_eq!(length_symbol(11), 265);
        assert_eq!(length_symbol(257), 284);
        assert_eq!(length_symbol(258), 285);
        for len in 3..=258 {
            let s = length_symbol(len);
            let (n, v) = length_extra(len, s);
            assert!(v < (1 << n) || (n == 0 && v == 0), "len {len}");
        }
        assert_eq!(dist_symbol(1), 0);
        assert_eq!(dist_symbol(4), 3);
        assert_eq!(dist_symbol(5), 4);
        assert_eq!(dist_symbol(4096), 23);
        assert_eq!(dist_symbol(4097), 24);
        assert_eq!(dist_symbol(32768), 29);
        for d in 1..=32768 {
            let s = dist_symbol(d);
            let (n, v) = dist_extra(d, s);
            assert!(v < (1 << n) || (n == 0 && v == 0), "dist {d}");
        }
        for (len, dist) in [(258, 4096), (3, 1), (10, 5), (257, 4095), (258, 32768)] {
            let t = matched(len, dist);
            assert!(is_match(t));
            assert_eq!((match_length(t), match_distance(t)), (len, dist));
            assert_eq!(token_length_symbol(t), length_symbol(len));
            assert_eq!(token_dist_symbol(t), dist_symbol(dist));
        }
        for b in 0..=255u8 {
            let t = literal(b);
            assert!(!is_match(t));
            assert_eq!(
                (token_length_symbol(t), token_dist_symbol(t)),
                (usize::from(b), NO_DIST)
            );
        }
    }
}
