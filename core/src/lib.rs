//! pageflate-core: the formats of pageflate, with no I/O, threads or OS.
//!
//! * [`deflate`] — RFC 1951 encoder with a 4 KiB window: fast and dense levels, exact
//!   stored/fixed/dynamic block choice, streaming with sync flushes.
//! * [`inflate`] — RFC 1951 decoder: whole-buffer fast path and a resumable streaming state,
//!   windows up to 32 KiB, a strict 4 KiB mode (what IAA 1.0 decodes).
//! * [`container`] — zlib (RFC 1950) and gzip (RFC 1952) wrappers with their checksums.
//! * [`capture`] — recorded channel streams turned into packets, sections, pages and guest RAM.
//! * [`checksum`] — Adler-32, CRC-32, CRC-32C.
//! * [`migration`] — the main channel ("QEVM" stream) and mapped-ram files.
//! * [`multifd`] — QEMU's multifd channels and packets (zero-copy, validated).
//! * [`page`] — QEMU's page contract: one page per raw deflate stream, or raw.
//! * [`huffman`] — canonical Huffman decode tables.
//!
//! Every malformed input returns an [`InflateError`] naming the failure and its bit or byte
//! offset; nothing panics on input bytes.
#![no_std]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

extern crate alloc;

pub(crate) mod bits;
pub mod capture;
pub mod checksum;
pub mod container;
pub mod deflate;
mod error;
pub mod huffman;
pub mod inflate;
pub mod migration;
pub mod multifd;
pub mod page;
pub mod trace;

pub use error::{InflateError, InflateErrorKind, Position};
pub use inflate::{inflate_raw, Decompressor, InflateOptions, Inflated, Inflater, StreamStatus};

/// Helpers the unit tests share.
#[cfg(test)]
pub(crate) mod test_support {
    /// A xorshift generator from `seed`.
    pub(crate) fn xorshift(mut seed: u64) -> impl FnMut() -> u64 {
        move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        }
    }
}
