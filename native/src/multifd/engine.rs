//! The per-channel page codec behind the multifd threads. Software today; the IAA engine
//! (its own issue) implements the same trait, so the thread pools do not change.

use crate::cpu::decompress_page;
use pageflate_core::deflate::Level;
use pageflate_core::multifd::{ChannelWriter, Method, OutPage};
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

/// Which page engine the channels use.
#[derive(Clone, Default)]
pub enum Engine {
    /// pageflate's software codec.
    #[default]
    Software,
    /// The IAA path (hardware or the model) with software fallback, shared by all channels.
    Iaa(std::sync::Arc<crate::iaa::driver::Iaa>),
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Engine::Software => f.write_str("software"),
            Engine::Iaa(i) => write!(f, "iaa ({})", i.queue_names().join(", ")),
        }
    }
}

impl Engine {
    /// A per-channel engine.
    pub fn build(&self, method: Method, page_size: usize, level: Level) -> Box<dyn PageEngine> {
        match self {
            Engine::Software => Box::new(SoftwareEngine::new(method, page_size, level)),
            Engine::Iaa(iaa) => Box::new(IaaEngine::new(iaa.clone(), method, page_size, level)),
        }
    }

    /// The IAA counters, when the IAA engine is in use.
    pub fn counters(&self) -> Option<serde_json::Value> {
        match self {
            Engine::Software => None,
            Engine::Iaa(iaa) => Some(iaa.counters.to_json()),
        }
    }
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

/// The IAA engine: qpl pages go to the device (through [`crate::iaa::driver::Iaa`], real
/// hardware or the model), a packet's pages submitted together and then awaited; every page
/// the device cannot do runs in software, so no page is ever lost. Other methods (zlib,
/// none) run in software: IAA only speaks raw deflate per page.
pub struct IaaEngine {
    iaa: std::sync::Arc<crate::iaa::driver::Iaa>,
    jobs: Vec<Box<crate::iaa::driver::JobMem>>,
    software: SoftwareEngine,
    method: Method,
    page_size: usize,
}

impl IaaEngine {
    /// An engine for one channel over a shared IAA context.
    pub fn new(
        iaa: std::sync::Arc<crate::iaa::driver::Iaa>,
        method: Method,
        page_size: usize,
        level: Level,
    ) -> Self {
        Self {
            iaa,
            jobs: Vec::new(),
            software: SoftwareEngine::new(method, page_size, level),
            method,
            page_size,
        }
    }
}

impl PageEngine for IaaEngine {
    fn name(&self) -> &'static str {
        "iaa"
    }

    fn compress(&mut self, pages: &[OutPage<'_>], out: &mut Vec<u8>) {
        use crate::iaa::driver::{Iaa, Outcome, PAGE};
        if self.method != Method::Qpl || self.page_size != PAGE {
            return self.software.compress(pages, out);
        }
        while self.jobs.len() < pages.len() {
            self.jobs.push(crate::iaa::driver::JobMem::boxed());
        }
        let data: Vec<&[u8]> = pages.iter().map(|p| p.data).collect();
        let outcomes = self
            .iaa
            .compress_pages(&mut self.jobs[..pages.len()], &data);
        // be32 lengths first, then the pages (QEMU's qpl framing).
        let lens_at = out.len();
        out.resize(lens_at + 4 * pages.len(), 0);
        for (i, (page, outcome)) in pages.iter().zip(outcomes).enumerate() {
            let len = match outcome {
                Outcome::Compressed(n) => {
                    out.extend_from_slice(Iaa::output(&self.jobs[i], n));
                    n
                }
                Outcome::Raw => {
                    out.extend_from_slice(page.data);
                    PAGE
                }
                _ => {
                    // Software, exactly as the software engine frames one page.
                    let mut one = Vec::new();
                    self.software.compress(std::slice::from_ref(page), &mut one);
                    out.extend_from_slice(&one[4..]);
                    u32::from_be_bytes([one[0], one[1], one[2], one[3]]) as usize
                }
            };
            out[lens_at + 4 * i..lens_at + 4 * i + 4].copy_from_slice(&(len as u32).to_be_bytes());
        }
    }

    fn decompress_page(&mut self, data: &[u8], page: &mut [u8]) -> Result<(), InflateError> {
        use crate::iaa::driver::{Iaa, Outcome, PAGE};
        if page.len() != PAGE {
            return self.software.decompress_page(data, page);
        }
        if self.jobs.is_empty() {
            self.jobs.push(crate::iaa::driver::JobMem::boxed());
        }
        match self.iaa.decompress_page(&mut self.jobs[0], data) {
            Outcome::Decompressed => {
                page.copy_from_slice(Iaa::output(&self.jobs[0], PAGE));
                Ok(())
            }
            _ => self.software.decompress_page(data, page),
        }
    }
}
