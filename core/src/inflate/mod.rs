//! RFC 1951 (deflate) decoder.
//!
//! Two faces over one block decoder:
//!
//! * [`Decompressor`] (and the shortcut [`inflate_raw`]) decodes a whole input buffer into a
//!   caller-provided output buffer without allocating — the page case: one compressed page
//!   in, exactly 4096 bytes out. It runs a fast loop while plenty of input and output remain
//!   and a careful loop near the ends.
//! * [`Inflater`] is resumable: input and output may come in pieces of any size (one byte at a
//!   time if need be), with a window of up to 32 KiB. It decodes QEMU's per-channel zlib streams,
//!   which span many `Z_SYNC_FLUSH` boundaries.
//!
//! Both accept an [`InflateOptions::max_distance`]; [`InflateOptions::STRICT_4K`] rejects any
//! match distance beyond 4096 bytes, which is what IAA 1.0 hardware can decode.

mod block;
mod header_memo;
mod stream;
pub(crate) mod tables;
mod whole;

pub use stream::{Inflater, StreamStatus};
pub use whole::{inflate_raw, Decompressor, Inflated};

/// Decoder settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InflateOptions {
    /// Largest match distance accepted; larger ones fail with
    /// [`crate::InflateErrorKind::DistanceBeyondWindow`]. At most 32768.
    pub max_distance: u32,
}

impl InflateOptions {
    /// RFC 1951's full 32 KiB window.
    pub const STANDARD: Self = Self {
        max_distance: 32768,
    };
    /// Reject distances beyond 4096 bytes (IAA 1.0's history limit).
    pub const STRICT_4K: Self = Self { max_distance: 4096 };
}

impl Default for InflateOptions {
    fn default() -> Self {
        Self::STANDARD
    }
}
