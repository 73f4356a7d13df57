//! The page codec with QEMU's contract (`multifd-qpl.c`).
//!
//! A page travels as `len` bytes: `len == page_size` means the page is sent raw; otherwise
//! the bytes are one raw deflate stream that must decode to exactly one page. The encoder
//! side (`page_size - 1` output cap) arrives with the deflate encoder.

use crate::error::{InflateError, InflateErrorKind};
use crate::inflate::{Decompressor, InflateOptions};

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
    let done = decompressor.inflate(data, out, options)?;
    if done.written != out.len() {
        return Err(InflateError::at_byte(
            InflateErrorKind::PageSizeMismatch,
            done.consumed as u64,
        ));
    }
    Ok(())
}
