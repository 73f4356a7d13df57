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

    /// Pages of every kind the parse meets: zeros, random bytes, text-like runs of a small
    /// alphabet, repeated records with changing fields, mixtures with sharp edges, and
    /// phrases of 3 to 80 bytes drawn from a small dictionary (matches of every length).
    pub(crate) fn pages() -> alloc::vec::Vec<[u8; 4096]> {
        let mut next = xorshift(0x9E37_79B9_7F4A_7C15u64);
        let mut pages = alloc::vec::Vec::new();
        let phrases: alloc::vec::Vec<alloc::vec::Vec<u8>> = (0..48)
            .map(|_| {
                (0..3 + next() % 78)
                    .map(|_| b"etaoin shrdlu"[(next() % 13) as usize])
                    .collect()
            })
            .collect();
        for kind in 0..48 {
            let mut page = [0u8; 4096];
            match kind % 6 {
                0 => {} // zeros
                1 => page.iter_mut().for_each(|b| *b = next() as u8),
                2 => page
                    .iter_mut()
                    .for_each(|b| *b = b"etaoin shrdlu"[(next() % 13) as usize]),
                3 => {
                    let period = 3 + (next() % 300) as usize;
                    for (k, b) in page.iter_mut().enumerate() {
                        *b = if k % period == 0 {
                            next() as u8
                        } else {
                            (k % period) as u8
                        };
                    }
                }
                5 => {
                    let mut k = 0;
                    while k < page.len() {
                        let phrase = &phrases[(next() % 48) as usize];
                        let n = phrase.len().min(page.len() - k);
                        page[k..k + n].copy_from_slice(&phrase[..n]);
                        k += n;
                    }
                }
                _ => {
                    for chunk in page.chunks_mut(1 + (next() % 700) as usize) {
                        let fill = next();
                        match fill % 3 {
                            0 => chunk.iter_mut().for_each(|b| *b = next() as u8),
                            1 => chunk.iter_mut().for_each(|b| *b = fill as u8),
                            _ => chunk
                                .iter_mut()
                                .enumerate()
                                .for_each(|(k, b)| *b = (k / 4) as u8),
                        }
                    }
                }
            }
            pages.push(page);
        }
        pages
    }
}
