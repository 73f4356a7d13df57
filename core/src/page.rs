//! The page codec with QEMU's contract (`multifd-qpl.c`).
//!
//! A page travels as `len` bytes: `len == page_size` means the page is sent raw; otherwise
//! the bytes are one raw deflate stream that must decode to exactly one page. The sender
//! caps compressed output at `page_size - 1` bytes; a page that does not fit goes raw.

use crate::deflate::{Compressor, Level};
use crate::error::{InflateError, InflateErrorKind};
use crate::inflate::{Decompressor, InflateOptions};

/// How a page is to be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageEncoding {
    /// `out[..len]` holds the page as one raw deflate stream (`len < page_size`).
    Compressed(usize),
    /// The page does not compress below `page_size` bytes: send it as it is.
    Raw,
}

/// Compress one page with QEMU's qpl contract: one final deflate block (stored, fixed or
/// dynamic, whichever is smallest), all distances within the page, output at most
/// `page.len() - 1` bytes (and at most `out.len()`), else [`PageEncoding::Raw`].
///
/// No allocation; `compressor` is reused page after page and carries nothing between them.
///
/// Early raw decision: random and already-compressed pages, about a sixth of a real
/// guest's non-zero pages, are sent raw without compressing the rest of the page. Both
/// levels give up when the symbols of the page's first 256 bytes take ≥ 8.5 bits per byte
/// under the fast level's canned code (the dense level measures its own parse of them). A
/// page that is random at its start but compressible after it is sent raw too (valid, but
/// larger than it could be); on the corpus the fast level's decision costs 0.0002 of ratio
/// (0.4209 without it, 0.4211 with it) and saves some 13 % of its time.
pub fn compress_page(compressor: &mut Compressor, page: &[u8], out: &mut [u8]) -> PageEncoding {
    let cap = page.len().saturating_sub(1).min(out.len());
    let out = &mut out[..cap];
    let written = if compressor.level() == Level::Fast {
        // A stored block never fits (page + 5 bytes > page − 1), so the fast level writes
        // its canned code in one pass and gives up as soon as the cap is passed.
        compressor.compress_page_direct(page, out)
    } else if let Some(written) = compressor.compress_page_dense(page, out, cap as u64 * 8) {
        written
    } else if compressor.looks_incompressible(page, out) {
        // A page too long for the dense page path.
        None
    } else {
        match compressor.parse_whole(page) {
            Some(tokens) => compressor.write_single_block(page, tokens, out, cap as u64 * 8),
            None => compressor.compress(page, out).ok().map(|c| c.len),
        }
    };
    match written {
        Some(len) if len < page.len() => PageEncoding::Compressed(len),
        _ => PageEncoding::Raw,
    }
}

/// The page size QEMU's qpl method uses on x86.
pub const PAGE_SIZE: usize = 4096;

/// Decode one page sent as `data` into `out` (whose length is the page size).
///
/// `data.len() == out.len()` means raw: copied as is. Otherwise `data` must be a raw deflate
/// stream that fills `out` exactly, with every match within `options.max_distance`.
/// No allocation: `decompressor` holds the decode tables and is reused page after page.
pub fn decompress_page(
    decompressor: &mut Decompressor,
    data: &[u8],
    out: &mut [u8],
    options: InflateOptions,
) -> Result<(), InflateError> {
    decompress_page_inline(decompressor, data, out, options)
}

/// [`decompress_page`], inlined into its caller with the decoder's fast loop (see
/// [`Decompressor::inflate_inline`]): for a caller compiled with extra CPU features.
#[inline(always)]
pub fn decompress_page_inline(
    decompressor: &mut Decompressor,
    data: &[u8],
    out: &mut [u8],
    options: InflateOptions,
) -> Result<(), InflateError> {
    if data.len() == out.len() {
        out.copy_from_slice(data);
        return Ok(());
    }
    if data.len() > out.len() {
        return Err(InflateError::at_byte(
            InflateErrorKind::PageSizeMismatch,
            out.len() as u64,
        ));
    }
    let done = decompressor.inflate_inline(data, out, options)?;
    if done.written != out.len() {
        return Err(InflateError::at_byte(
            InflateErrorKind::PageSizeMismatch,
            done.consumed as u64,
        ));
    }
    Ok(())
}
