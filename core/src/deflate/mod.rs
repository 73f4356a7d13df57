//! Deflate encoder with a 4 KiB window (RFC 1951), for QEMU's page codec and for whole images.
//!
//! Every match distance is ≤ 4096 whatever the input length, so IAA 1.0 hardware and
//! any inflater can decode the output. Pages are independent: nothing carries from one call
//! to the next, and output is deterministic.
//!
//! The pieces: [`matchfind`] parses input into literal/match tokens (greedy with one hash
//! probe for [`Level::Fast`], lazy with two candidates per position for [`Level::Dense`]:
//! hash chains for streams, page-local two-entry buckets for pages); [`block`] prices each
//! block as stored, fixed and dynamic Huffman to the bit and writes the cheapest.

pub mod block;
pub(crate) mod canned;
mod fast_page;
pub(crate) mod matchfind;
mod padded;

mod stream;
pub(crate) mod tokens;

use crate::bits::BitWriter;
use alloc::boxed::Box;
use alloc::vec;
pub use block::{BlockCodes, CodesError, Histogram};
use block::{BlockKind, BlockWriter};
use core::fmt;
pub use matchfind::WINDOW;
use matchfind::{LazyParams, MatchFinder, PageBuckets};
use padded::{PaddedPage, PAGE_4K};
pub use stream::{deflate_to_vec, Deflater, Flush};

/// Compression levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Level {
    /// Tuned for 4 KiB pages at migration speed (the role of QEMU's level 1): greedy
    /// parsing, one hash probe per position, fast skipping over incompressible data.
    Fast,
    /// Smaller output: lazy parsing with two candidates per position.
    Dense,
}

impl Level {
    /// The dense level's parse. Measured on the corpus (`encode_ab 15 dense`, Zen 5,
    /// session 15) against libdeflate level 1, from the earlier setting (nice 24, lazy step
    /// below 8 with both candidates, every position of a match below 8 bytes indexed, a
    /// longer match's last 4): 1.354–1.366× at ratio 0.3651.
    /// - Each match indexes only its last position (the lazy step's search has indexed its
    ///   second). The positions between were worth less ratio than they cost: their loop's
    ///   exit mispredicted at nearly every match.
    /// - Every match gets the lazy step (the parser no longer has a length above which it
    ///   skips it), and a search stops early only at the longest
    ///   match deflate allows. Those two buy back the ratio the interior positions gave,
    ///   for less time. With the two above: 1.410–1.420× at 0.3649.
    /// - The lazy step's search tries only the newer candidate. The older one almost never
    ///   beat the match in hand (ratio +0.00005) and cost its tests' mispredictions:
    ///   1.475–1.480× at 0.3649 (`pageflate bench`: 1.35× → 1.45–1.47× for the three).
    fn lazy_params(self) -> LazyParams {
        LazyParams {
            depth: 2,
            lazy_depth: 1,
            nice: tokens::MAX_MATCH,
            tail: 1,
        }
    }
}

/// How the dense level parses the rest of a page whose first `probed` bytes took
/// `probe_bits` under the canned code: `None` if the page goes raw (8.5 bits a byte or
/// more, see [`FAST_PROBE`]), `params` made [`LazyParams::literal_heavy`] from
/// [`LITERAL_HEAVY_BITS_PER_BYTE`] on, else `params` as they are.
#[inline(always)]
fn params_after_probe(params: LazyParams, probe_bits: u64, probed: usize) -> Option<LazyParams> {
    if probe_goes_raw(probe_bits, probed) {
        None
    } else if probe_bits >= LITERAL_HEAVY_BITS_PER_BYTE * probed as u64 {
        Some(params.literal_heavy())
    } else {
        Some(params)
    }
}

/// The output buffer cannot hold the compressed data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputFull;

impl fmt::Display for OutputFull {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("compressed data does not fit in the output buffer")
    }
}

impl core::error::Error for OutputFull {}

/// Tokens per block: a block ends after this many literals and matches.
pub(crate) const MAX_BLOCK_TOKENS: usize = 16384;

/// The fast page path gives up after this many bytes if their symbols took at least 8.5
/// bits per byte: random and already-compressed data average 8.8 bits a byte under the
/// canned code, a compressible start without history to match yet stays below. The
/// block's headers (some 870 bits) are not counted — counted, they made the test throw
/// away compressible pages and forced a longer probe. Measured on the corpus (`encode_ab`,
/// pinned): 1024 bytes with the headers counted gave ratio 0.4192; 512 bytes without
/// them 0.4189 at ~5 % more speed; 256 bytes now, ratio 0.4211 at ~1–2 % more speed than
/// 512 (0.4212) with today's parser.
const FAST_PROBE: usize = 256;

/// The early raw decision (see [`FAST_PROBE`]): whether the first `bytes` bytes of a page,
/// whose symbols took `bits` under the canned code, took 8.5 bits a byte or more.
#[inline(always)]
pub(crate) fn probe_goes_raw(bits: u64, bytes: usize) -> bool {
    2 * bits >= 17 * bytes as u64
}

/// The dense level parses the rest of a page with [`LazyParams::literal_heavy`] when the
/// symbols of its first [`FAST_PROBE`] bytes took at least this many bits a byte (and
/// fewer than the raw decision's 8.5): a page that keeps five eighths of its size or more
/// at its start is mostly literals, and there a search's second candidate rarely holds a
/// longer match than its first.
///
/// A trade along the dense parse's line of speed against ratio, not a way off it: it turns
/// 0.0006 of the ratio's lead over libdeflate level 1 (0.3661 on the corpus) into about
/// 2 % of speed, so the dense level's lead in speed stops resting on a percent. Measured
/// on the corpus (`pageflate bench --runs 5 --no-end-to-end`, four interleaved runs each,
/// session 16), dense against libdeflate level 1: 1.507–1.523× at ratio 0.3649 without
/// the switch; 1.538–1.545× at 0.3655 with it at 5 bits; 1.510–1.537× at 0.3652 at 6
/// bits; 1.538–1.560× at 0.3657 at 4 bits. Dropping the lazy step on those pages too
/// costs more ratio than it gains (4 bits: 0.3665, 1.57–1.59×).
const LITERAL_HEAVY_BITS_PER_BYTE: u64 = 5;

/// A reusable deflate compressor (about 480 KiB of tables, plus 280 KiB for the fast
/// level's 4 KiB page kernel, allocated once by [`Compressor::new`]; compressing allocates
/// nothing).
pub struct Compressor {
    level: Level,
    finder: MatchFinder,
    /// The dense level's page-local match finder (see [`Compressor::compress_page_dense`]).
    page_buckets: Box<PageBuckets>,
    /// The page the dense level's 4 KiB path parses (see [`PaddedPage`]).
    padded: PaddedPage,
    /// The fast level's 4 KiB page kernel (see [`fast_page`]); `None` at the dense level.
    fast_page: Option<Box<fast_page::FastPage>>,
    tokens: Box<[u32]>,
    block: Box<BlockWriter>,
}

/// What a compression produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compressed {
    /// Bytes written to the output.
    pub len: usize,
    /// How the last block was written.
    pub last_block: BlockKind,
}

impl Compressor {
    /// A compressor at `level`.
    pub fn new(level: Level) -> Self {
        let block = Box::new(BlockWriter::new());
        let fast_page =
            (level == Level::Fast).then(|| fast_page::FastPage::new(block.canned_tables()));
        Self {
            level,
            finder: MatchFinder::new(),
            page_buckets: Box::new(PageBuckets::new()),
            padded: PaddedPage::new(),
            tokens: vec![0u32; MAX_BLOCK_TOKENS].into(),
            block,
            fast_page,
        }
    }

    /// The level this compressor uses.
    pub fn level(&self) -> Level {
        self.level
    }

    /// Compress `input` as one complete raw deflate stream into `out`.
    pub fn compress(&mut self, input: &[u8], out: &mut [u8]) -> Result<Compressed, OutputFull> {
        let mut w = BitWriter::new(out);
        self.finder.start(input.len());
        let last_block = self.compress_range(&mut w, input, 0, input.len(), true);
        let len = w.finish().ok_or(OutputFull)?;
        Ok(Compressed { len, last_block })
    }

    /// Compress `data[start..end]` (bytes before `start` are history the parse may match
    /// against) as blocks into `w`; the last block is final if `is_final`. Returns how the
    /// last block was written.
    pub(crate) fn compress_range(
        &mut self,
        w: &mut BitWriter<'_>,
        data: &[u8],
        start: usize,
        end: usize,
        is_final: bool,
    ) -> BlockKind {
        let mut pos = start;
        loop {
            let parsed = match self.level {
                Level::Fast => self.finder.parse_greedy(data, pos, end, &mut self.tokens),
                Level::Dense => {
                    let params = self.level.lazy_params();
                    self.finder
                        .parse_lazy(data, pos, end, &mut self.tokens, &params)
                }
            };
            let tokens = &self.tokens[..parsed.tokens];
            let raw = &data[pos..parsed.end];
            let last = parsed.end >= end;
            let (k, _bits) = choose(self.level, &mut self.block, tokens, raw, w.bit_len());
            self.block.write(w, k, tokens, raw, is_final && last);
            pos = parsed.end;
            if last || w.overflowed() {
                return k;
            }
        }
    }

    /// Parse `data` as this level would (as one input, blocks of at most 16384 tokens) and
    /// add the symbol counts to `hist` — the software counterpart of IAA's statistics pass.
    pub fn histogram(&mut self, data: &[u8], hist: &mut Histogram) {
        self.finder.start(data.len());
        let mut pos = 0;
        while pos < data.len() {
            let parsed = self.parse(data, pos, data.len());
            self.block
                .add_to_histogram(&self.tokens[..parsed.tokens], hist);
            pos = parsed.end;
        }
    }

    /// Encode `data` with caller-given codes, as IAA's engine does with the codes in its
    /// AECS: first `prefix_bits` bits of `prefix` (LSB-first, e.g. the block header from
    /// [`BlockCodes::header`]), then this level's LZ77 parse of `data` (4 KiB window) as one
    /// block body, then the end-of-block symbol if `append_eob`. The last byte is padded
    /// with zeros. Returns the bytes written and the number of valid bits.
    pub fn encode_with_codes(
        &mut self,
        data: &[u8],
        codes: &BlockCodes,
        prefix: &[u8],
        prefix_bits: u64,
        append_eob: bool,
        out: &mut [u8],
    ) -> Result<(usize, u64), CodesError> {
        let mut writer = block::BlockWriter::new();
        writer.set_codes(codes);
        let mut w = BitWriter::new(out);
        let mut left = prefix_bits;
        for &b in prefix {
            if left == 0 {
                break;
            }
            let n = left.min(8) as u32;
            w.put(u32::from(b) & ((1 << n) - 1), n);
            left -= u64::from(n);
        }
        self.finder.start(data.len());
        let mut pos = 0;
        while pos < data.len() {
            let parsed = self.parse(data, pos, data.len());
            writer.write_with_codes(&mut w, &self.tokens[..parsed.tokens], false)?;
            pos = parsed.end;
        }
        writer.write_with_codes(&mut w, &[], append_eob)?;
        let bits = w.bit_len();
        let bytes = w.finish().ok_or(CodesError::OutputFull)?;
        Ok((bytes, bits))
    }

    fn parse(&mut self, data: &[u8], start: usize, end: usize) -> matchfind::Parsed {
        match self.level {
            Level::Fast => self.finder.parse_greedy(data, start, end, &mut self.tokens),
            Level::Dense => {
                let params = self.level.lazy_params();
                self.finder
                    .parse_lazy(data, start, end, &mut self.tokens, &params)
            }
        }
    }

    /// Parse all of `data` (a page) into the token buffer as one block; returns the token
    /// count, or `None` if `data` needs more than one block.
    pub(crate) fn parse_whole(&mut self, data: &[u8]) -> Option<usize> {
        self.finder.start(data.len());
        let parsed = match self.level {
            Level::Fast => self
                .finder
                .parse_greedy(data, 0, data.len(), &mut self.tokens),
            Level::Dense => {
                let params = self.level.lazy_params();
                self.finder
                    .parse_lazy(data, 0, data.len(), &mut self.tokens, &params)
            }
        };
        (parsed.end == data.len()).then_some(parsed.tokens)
    }

    /// The fast level's page path: one pass that parses and writes a final canned block
    /// directly into `out`, stopping as soon as the output would not fit, or after
    /// [`FAST_PROBE`] bytes that do not compress. Returns the bytes written, or `None` if
    /// the page does not fit in `out` or goes raw.
    pub(crate) fn compress_page_direct(&mut self, page: &[u8], out: &mut [u8]) -> Option<usize> {
        if let (Some(kernel), Ok(page)) = (
            self.fast_page.as_deref_mut(),
            <&[u8; fast_page::PAGE]>::try_from(page),
        ) {
            return kernel.compress(page, out);
        }
        self.finder.start(page.len());
        self.compress_page_generic(page, out)
    }

    /// [`Self::compress_page_direct`] for a page of any length, through the generic greedy
    /// parser and [`block::DirectSink`] (the fast level's 4 KiB kernel is checked
    /// against it). The match finder must be started for `page`.
    fn compress_page_generic(&mut self, page: &[u8], out: &mut [u8]) -> Option<usize> {
        let mut sink = self.block.start_canned(BitWriter::new(out));
        let probe = FAST_PROBE.min(page.len());
        self.finder.greedy(page, 0, probe, &mut sink);
        if probe < page.len() {
            if probe_goes_raw(sink.body_bits(), probe) {
                return None;
            }
            self.finder.greedy(page, probe, page.len(), &mut sink);
        }
        sink.end_block().finish()
    }

    /// The dense level's page path: one lazy parse over page-local two-entry hash buckets
    /// that counts symbols as it goes, then one final block (stored, fixed or dynamic, the
    /// cheapest) if it fits in `out` (at most `max_bits`). Returns `Some(Some(len))` when
    /// written, `Some(None)` when the page goes raw (it does not fit, or the early raw
    /// decision gave up), and `None` when `page` is too long for the page path (more than
    /// [`MAX_BLOCK_TOKENS`] bytes; the caller then takes the general one).
    pub(crate) fn compress_page_dense(
        &mut self,
        page: &[u8],
        out: &mut [u8],
        max_bits: u64,
    ) -> Option<Option<usize>> {
        if page.len() > MAX_BLOCK_TOKENS.min(PageBuckets::MAX_PAGE) {
            return None;
        }
        self.page_buckets.start(page.len());
        let params = self.level.lazy_params();
        let finder = &mut *self.page_buckets;
        let mut sink = self.block.counting_sink(&mut self.tokens);
        // The early raw decision on the parse's own first tokens (see `FAST_PROBE`): the
        // parse stops at the first token past the probe and resumes there, so the probe
        // cuts no match short and indexes every position (0.3655 -> 0.3652 on the corpus).
        let end = page.len();
        if let Ok(page_4k) = <&[u8; PAGE_4K]>::try_from(page) {
            self.padded.load(page_4k);
            let padded = &self.padded;
            let probed = finder.lazy_padded(padded, 0, FAST_PROBE, &mut sink, &params);
            if probed < end {
                let Some(rest) = params_after_probe(params, sink.canned_body_bits(), probed) else {
                    return Some(None);
                };
                finder.lazy_padded(padded, probed, end, &mut sink, &rest);
            }
        } else {
            let probed = matchfind::lazy(finder, page, 0, FAST_PROBE, end, &mut sink, &params);
            if probed < end {
                let Some(rest) = params_after_probe(params, sink.canned_body_bits(), probed) else {
                    return Some(None);
                };
                matchfind::lazy(finder, page, probed, end, end, &mut sink, &rest);
            }
        }
        let n = sink.len();
        let (kind, bits) = self.block.choose_counted(page, 0);
        if bits > max_bits {
            return Some(None);
        }
        let mut w = BitWriter::new(out);
        self.block
            .write(&mut w, kind, &self.tokens[..n], page, true);
        Some(w.finish())
    }

    /// The dense level's early raw decision, the fast level's: whether the symbols of the
    /// page's first [`FAST_PROBE`] bytes take at least 8.5 bits per byte under the canned
    /// code (greedy parse). Random and already-compressed pages will not fit, and the lazy
    /// parse and code construction for them would be wasted.
    pub(crate) fn looks_incompressible(&mut self, page: &[u8], scratch: &mut [u8]) -> bool {
        let probe = FAST_PROBE;
        if page.len() <= probe {
            return false;
        }
        self.finder.start(probe);
        let mut sink = self.block.start_canned(BitWriter::new(scratch));
        self.finder.greedy(page, 0, probe, &mut sink);
        probe_goes_raw(sink.body_bits(), probe)
    }

    /// Price and write one final block holding the first `n` parsed tokens of `data`,
    /// unless it would exceed `max_bits`. Returns the bytes written.
    pub(crate) fn write_single_block(
        &mut self,
        data: &[u8],
        n: usize,
        out: &mut [u8],
        max_bits: u64,
    ) -> Option<usize> {
        let tokens = &self.tokens[..n];
        let (kind, bits) = choose(self.level, &mut self.block, tokens, data, 0);
        if bits > max_bits {
            return None;
        }
        let mut w = BitWriter::new(out);
        self.block.write(&mut w, kind, tokens, data, true);
        w.finish()
    }
}

/// Block pricing by level: the fast level chooses among stored, fixed and the canned code
/// (no per-block code construction); the dense level also builds a dynamic code.
fn choose(
    level: Level,
    block: &mut BlockWriter,
    tokens: &[u32],
    raw: &[u8],
    bit_pos: u64,
) -> (BlockKind, u64) {
    match level {
        Level::Fast => block.choose_static(tokens, raw, bit_pos),
        Level::Dense => block.choose(tokens, raw, bit_pos),
    }
}

#[cfg(test)]
mod tests {
    use super::{params_after_probe, Level, FAST_PROBE, LITERAL_HEAVY_BITS_PER_BYTE};

    /// The probe's three outcomes, at their edges: raw from 8.5 bits a byte, the
    /// literal-heavy parse (one candidate per search, the rest unchanged) from
    /// [`LITERAL_HEAVY_BITS_PER_BYTE`], the usual parse below it.
    #[test]
    fn the_probe_picks_raw_literal_heavy_or_the_usual_parse() {
        let usual = Level::Dense.lazy_params();
        let n = FAST_PROBE as u64;
        let raw_from = 17 * n / 2;
        let heavy_from = LITERAL_HEAVY_BITS_PER_BYTE * n;
        assert!(params_after_probe(usual, raw_from, FAST_PROBE).is_none());
        assert!(params_after_probe(usual, raw_from + 100, FAST_PROBE).is_none());
        for bits in [heavy_from, raw_from - 1] {
            let p = params_after_probe(usual, bits, FAST_PROBE).expect("not raw");
            assert_eq!(p.depth, 1, "{bits} bits");
            assert_eq!(
                (p.lazy_depth, p.nice, p.tail),
                (usual.lazy_depth, usual.nice, usual.tail)
            );
        }
        for bits in [0, heavy_from - 1] {
            let p = params_after_probe(usual, bits, FAST_PROBE).expect("not raw");
            assert_eq!(p.depth, usual.depth, "{bits} bits");
        }
        // The probe may end past its 256 bytes (the parse stops after the token that
        // crosses it): the thresholds scale with the bytes it covered.
        let p = params_after_probe(usual, heavy_from + 5 * 10 - 1, FAST_PROBE + 10);
        assert_eq!(p.map(|p| p.depth), Some(usual.depth));
    }
}
