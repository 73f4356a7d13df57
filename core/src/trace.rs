//! The structure of a raw deflate stream, for people to look at: its blocks (type, final
//! flag, where the header is, the code lengths) and every token (literal, match with length
//! and distance, end of block) with the bits it came from and the bytes it produced.
//!
//! A plain bit-at-a-time decoder (canonical codes walked length by length, as RFC 1951
//! describes them), written for clarity, not speed: the inspector calls it on one page at a
//! time. Its output is checked against the fast decoder in the tests.

use crate::inflate::tables::{DIST_BASE, DIST_EXTRA, LENGTH_BASE, LENGTH_EXTRA, PRECODE_ORDER};
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;
use core::ops::Range;

/// Block types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockType {
    /// Stored (type 0).
    Stored,
    /// Fixed Huffman codes (type 1).
    Fixed,
    /// Dynamic Huffman codes (type 2).
    Dynamic,
}

/// One decoded token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// A literal byte.
    Literal(u8),
    /// A back-reference.
    Match {
        /// Bytes copied (3..=258).
        length: u16,
        /// How far back (1..=32768).
        distance: u16,
    },
    /// A stored block's bytes (`length` of them, copied as they are).
    Stored {
        /// Bytes.
        length: u16,
    },
    /// The end of a block.
    EndOfBlock,
}

/// A token with its place in the input (bits) and the output (bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// What it is.
    pub kind: TokenKind,
    /// Its bits in the input.
    pub bits: Range<u64>,
    /// The output bytes it produced.
    pub output: Range<usize>,
}

/// One block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// Block type.
    pub kind: BlockType,
    /// `BFINAL`.
    pub is_final: bool,
    /// The header's bits (3 type bits, and for dynamic blocks the code description).
    pub header_bits: Range<u64>,
    /// Literal/length code lengths (fixed or from the header; empty for stored blocks).
    pub litlen_lengths: Vec<u8>,
    /// Distance code lengths.
    pub dist_lengths: Vec<u8>,
    /// Index of the block's first token in [`Trace::tokens`].
    pub first_token: usize,
    /// Number of tokens (end-of-block included).
    pub token_count: usize,
}

/// The structure of a stream.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Trace {
    /// Blocks in order.
    pub blocks: Vec<Block>,
    /// Tokens in order.
    pub tokens: Vec<Token>,
    /// The decoded bytes.
    pub output: Vec<u8>,
    /// Input bits consumed (up to the end of the final block).
    pub bits_used: u64,
}

/// Why a trace stopped: what and at which input bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceError {
    /// What was wrong.
    pub what: &'static str,
    /// Input bit offset.
    pub bit: u64,
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at bit {} (byte {})",
            self.what,
            self.bit,
            self.bit / 8
        )
    }
}

struct Bits<'a> {
    data: &'a [u8],
    pos: u64,
}

impl Bits<'_> {
    fn bit(&mut self) -> Result<u32, TraceError> {
        let byte = self.data.get((self.pos / 8) as usize).ok_or(TraceError {
            what: "input ended",
            bit: self.pos,
        })?;
        let b = u32::from(byte >> (self.pos % 8) & 1);
        self.pos += 1;
        Ok(b)
    }

    /// `n` bits, first bit least significant (deflate's order for values).
    fn value(&mut self, n: u32) -> Result<u32, TraceError> {
        let mut v = 0;
        for i in 0..n {
            v |= self.bit()? << i;
        }
        Ok(v)
    }
}

/// A canonical code as counts per length and symbols in code order.
struct Code {
    counts: [u16; 16],
    symbols: Vec<u16>,
}

impl Code {
    fn new(lengths: &[u8]) -> Result<Self, &'static str> {
        let mut counts = [0u16; 16];
        for &l in lengths {
            counts[usize::from(l)] += 1;
        }
        counts[0] = 0;
        let mut left: i32 = 1;
        for &c in &counts[1..] {
            left = left * 2 - i32::from(c);
            if left < 0 {
                return Err("over-subscribed code");
            }
        }
        let mut offsets = [0u16; 16];
        for len in 1..15 {
            offsets[len + 1] = offsets[len] + counts[len];
        }
        let mut symbols = vec![0u16; lengths.len()];
        for (sym, &l) in lengths.iter().enumerate() {
            if l != 0 {
                symbols[usize::from(offsets[usize::from(l)])] = sym as u16;
                offsets[usize::from(l)] += 1;
            }
        }
        Ok(Self { counts, symbols })
    }

    /// Read one symbol: codes are sent most significant bit first.
    fn decode(&self, bits: &mut Bits<'_>) -> Result<u16, TraceError> {
        let start = bits.pos;
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        for len in 1..16 {
            code |= bits.bit()? as i32;
            let count = i32::from(self.counts[len]);
            if code - first < count {
                return Ok(self.symbols[(index + code - first) as usize]);
            }
            index += count;
            first = (first + count) << 1;
            code <<= 1;
        }
        Err(TraceError {
            what: "no symbol has this code",
            bit: start,
        })
    }
}

/// Trace a raw deflate stream, producing at most `max_output` bytes.
pub fn trace_deflate(data: &[u8], max_output: usize) -> Result<Trace, TraceError> {
    let mut bits = Bits { data, pos: 0 };
    let mut t = Trace::default();
    loop {
        let start = bits.pos;
        let is_final = bits.bit()? == 1;
        let kind = match bits.value(2)? {
            0 => BlockType::Stored,
            1 => BlockType::Fixed,
            2 => BlockType::Dynamic,
            _ => {
                return Err(TraceError {
                    what: "block type 3",
                    bit: start + 1,
                })
            }
        };
        let first_token = t.tokens.len();
        let (litlen_lengths, dist_lengths) = match kind {
            BlockType::Stored => (Vec::new(), Vec::new()),
            BlockType::Fixed => fixed_lengths(),
            BlockType::Dynamic => read_dynamic_header(&mut bits)?,
        };
        let header_bits = start..bits.pos;
        if kind == BlockType::Stored {
            stored_block(&mut bits, &mut t, max_output)?;
        } else {
            let fail = |what| TraceError {
                what,
                bit: header_bits.end,
            };
            let litlen = Code::new(&litlen_lengths).map_err(fail)?;
            let dist = Code::new(&dist_lengths).map_err(fail)?;
            huffman_block(&mut bits, &mut t, &litlen, &dist, max_output)?;
        }
        t.blocks.push(Block {
            kind,
            is_final,
            header_bits,
            litlen_lengths,
            dist_lengths,
            first_token,
            token_count: t.tokens.len() - first_token,
        });
        if is_final {
            t.bits_used = bits.pos;
            return Ok(t);
        }
    }
}

fn fixed_lengths() -> (Vec<u8>, Vec<u8>) {
    let litlen = (0..288)
        .map(|s| match s {
            0..=143 => 8,
            144..=255 => 9,
            256..=279 => 7,
            _ => 8,
        })
        .collect();
    (litlen, vec![5; 30])
}

fn read_dynamic_header(bits: &mut Bits<'_>) -> Result<(Vec<u8>, Vec<u8>), TraceError> {
    let at = bits.pos;
    let hlit = bits.value(5)? as usize + 257;
    let hdist = bits.value(5)? as usize + 1;
    let hclen = bits.value(4)? as usize + 4;
    if hlit > 286 || hdist > 30 {
        return Err(TraceError {
            what: "too many codes in the header",
            bit: at,
        });
    }
    let mut pre = [0u8; 19];
    for &sym in &PRECODE_ORDER[..hclen] {
        pre[usize::from(sym)] = bits.value(3)? as u8;
    }
    let precode = Code::new(&pre).map_err(|what| TraceError { what, bit: at })?;
    let mut lengths = Vec::with_capacity(hlit + hdist);
    while lengths.len() < hlit + hdist {
        let sym_at = bits.pos;
        let sym = precode.decode(bits)?;
        let (value, repeat) = match sym {
            0..=15 => (sym as u8, 1),
            16 => {
                let prev = *lengths.last().ok_or(TraceError {
                    what: "repeat with no previous length",
                    bit: sym_at,
                })?;
                (prev, 3 + bits.value(2)? as usize)
            }
            17 => (0, 3 + bits.value(3)? as usize),
            _ => (0, 11 + bits.value(7)? as usize),
        };
        if lengths.len() + repeat > hlit + hdist {
            return Err(TraceError {
                what: "code lengths run past the header",
                bit: sym_at,
            });
        }
        lengths.extend(core::iter::repeat_n(value, repeat));
    }
    let dist = lengths.split_off(hlit);
    if lengths[256] == 0 {
        return Err(TraceError {
            what: "no code for end-of-block",
            bit: at,
        });
    }
    Ok((lengths, dist))
}

fn stored_block(bits: &mut Bits<'_>, t: &mut Trace, max_output: usize) -> Result<(), TraceError> {
    bits.pos = bits.pos.div_ceil(8) * 8;
    let at = bits.pos;
    let len = bits.value(16)?;
    let nlen = bits.value(16)?;
    if len != !nlen & 0xffff {
        return Err(TraceError {
            what: "stored block LEN does not match NLEN",
            bit: at,
        });
    }
    let start = (bits.pos / 8) as usize;
    let body = data_range(bits.data, start, len as usize).ok_or(TraceError {
        what: "input ended inside a stored block",
        bit: bits.pos,
    })?;
    if t.output.len() + body.len() > max_output {
        return Err(TraceError {
            what: "output larger than allowed",
            bit: bits.pos,
        });
    }
    let out_start = t.output.len();
    t.output.extend_from_slice(body);
    bits.pos += 8 * u64::from(len);
    t.tokens.push(Token {
        kind: TokenKind::Stored { length: len as u16 },
        bits: at..bits.pos,
        output: out_start..t.output.len(),
    });
    Ok(())
}

fn data_range(data: &[u8], start: usize, len: usize) -> Option<&[u8]> {
    data.get(start..start.checked_add(len)?)
}

fn huffman_block(
    bits: &mut Bits<'_>,
    t: &mut Trace,
    litlen: &Code,
    dist: &Code,
    max_output: usize,
) -> Result<(), TraceError> {
    loop {
        let at = bits.pos;
        let out_start = t.output.len();
        let sym = usize::from(litlen.decode(bits)?);
        let kind = match sym {
            0..=255 => {
                t.output.push(sym as u8);
                TokenKind::Literal(sym as u8)
            }
            256 => TokenKind::EndOfBlock,
            257..=285 => {
                let i = sym - 257;
                let length =
                    usize::from(LENGTH_BASE[i]) + bits.value(u32::from(LENGTH_EXTRA[i]))? as usize;
                let dsym = usize::from(dist.decode(bits)?);
                if dsym >= 30 {
                    return Err(TraceError {
                        what: "distance symbol 30 or 31",
                        bit: at,
                    });
                }
                let distance = usize::from(DIST_BASE[dsym])
                    + bits.value(u32::from(DIST_EXTRA[dsym]))? as usize;
                if distance > t.output.len() {
                    return Err(TraceError {
                        what: "distance before the start of the output",
                        bit: at,
                    });
                }
                for _ in 0..length {
                    let b = t.output[t.output.len() - distance];
                    t.output.push(b);
                }
                TokenKind::Match {
                    length: length as u16,
                    distance: distance as u16,
                }
            }
            _ => {
                return Err(TraceError {
                    what: "length symbol 286 or 287",
                    bit: at,
                })
            }
        };
        if t.output.len() > max_output {
            return Err(TraceError {
                what: "output larger than allowed",
                bit: at,
            });
        }
        t.tokens.push(Token {
            kind,
            bits: at..bits.pos,
            output: out_start..t.output.len(),
        });
        if kind == TokenKind::EndOfBlock {
            return Ok(());
        }
    }
}
