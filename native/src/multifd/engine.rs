//! The per-channel page codec behind the multifd threads. Software today; the IAA engine
//! (its own issue) implements the same trait, so the thread pools do not change.

use pageflate_core::deflate::Level;
use pageflate_core::multifd::{ChannelWriter, Method, OutPage};
use pageflate_core::page::decompress_page;
use pageflate_core::{Decompressor, InflateError, InflateOptions};

/// Compresses a packet's pages and decompresses single qpl pages, for one channel.
pub trait PageEngine: Send {
    /// A short name for reports (`software`, `iaa`).
    fn name(&self) -> &'static str;

    /// Append the payload of a packet carrying `pages` in this channel's method (qpl:
    /// be32 lengths then each page compressed or raw; zlib: the next part of the channel's
    /// stream; none: the pages).
    fn compress(&mut self, pages: &[OutPage<'_>], out: &mut Vec<u8>);

    /// Decompress one qpl page (`data` shorter than a page) into `page`, which it must
    /// fill exactly.
    fn decompress_page(&mut self, data: &[u8], page: &mut [u8]) -> Result<(), InflateError>;
}

/// pageflate's own codec on the CPU.
pub struct SoftwareEngine {
    writer: ChannelWriter,
    inflate: Decompressor,
}

impl SoftwareEngine {
    /// An engine for `method` at `level`.
    pub fn new(method: Method, page_size: usize, level: Level) -> Self {
        Self {
            writer: ChannelWriter::new(method, page_size, level),
            inflate: Decompressor::new(),
        }
    }
}

impl PageEngine for SoftwareEngine {
    fn name(&self) -> &'static str {
        "software"
    }

    fn compress(&mut self, pages: &[OutPage<'_>], out: &mut Vec<u8>) {
        self.writer.compress_payload(pages, out);
    }

    fn decompress_page(&mut self, data: &[u8], page: &mut [u8]) -> Result<(), InflateError> {
        decompress_page(&mut self.inflate, data, page, InflateOptions::STANDARD)
    }
}
