//! The main job on the embedded default: a live-migration round trip over loopback.
//!
//! 1. Decode the bundled real QEMU qpl pages and check each against the guest RAM digest.
//! 2. Build a realistic guest-memory image from them ([`generate_image`]).
//! 3. Migrate it with 2 multifd channels and the qpl method over loopback TCP, into a
//!    receiver in the same process that records the capture, and verify it bit-exact.

use crate::cpu::decompress_page;
use crate::multifd::{loopback, render_channels, RecvOptions, RecvReport, SendOptions, SendReport};
use crate::ram::{Backing, SourceBlock, SourceRam, DEFAULT_BLOCK};
use crate::sample::{expected_digests, parse_pages, SAMPLE_PAGES};
use crate::transport::Endpoint;
use pageflate_core::multifd::Method;
use pageflate_core::page::PAGE_SIZE;
use pageflate_core::{Decompressor, InflateOptions};
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// What decoding the sample did.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleReport {
    /// Pages decoded.
    pub pages: usize,
    /// Pages sent raw (length == page size).
    pub raw_pages: usize,
    /// Bytes on the wire (compressed pages plus raw pages).
    pub wire_bytes: usize,
    /// Pages whose decoded SHA-256 equals the RAM snapshot's.
    pub verified: usize,
    /// Decode throughput in MB/s (decoded bytes), best of several passes.
    pub decode_mb_per_s: f64,
    /// Pages that failed, with the error text.
    pub failures: Vec<(u64, String)>,
}

/// Decode the bundled sample and verify it.
pub fn decode_sample() -> SampleReport {
    let pages = parse_pages(SAMPLE_PAGES).unwrap_or_default();
    let digests = expected_digests();
    let mut decompressor = Decompressor::new();
    let mut out = [0u8; PAGE_SIZE];
    let mut report = SampleReport {
        pages: pages.len(),
        raw_pages: pages.iter().filter(|p| p.data.len() == PAGE_SIZE).count(),
        wire_bytes: pages.iter().map(|p| p.data.len()).sum(),
        verified: 0,
        decode_mb_per_s: 0.0,
        failures: Vec::new(),
    };
    for (page, expected) in pages.iter().zip(&digests) {
        match decompress_page(
            &mut decompressor,
            page.data,
            &mut out,
            InflateOptions::STRICT_4K,
        ) {
            Ok(()) if hex(&Sha256::digest(out)) == *expected => report.verified += 1,
            Ok(()) => report
                .failures
                .push((page.offset, "decoded page differs from RAM".into())),
            Err(e) => report.failures.push((page.offset, e.to_string())),
        }
    }
    // Throughput: best of 20 passes over the sample.
    let mut best = f64::MAX;
    for _ in 0..20 {
        let start = Instant::now();
        for page in &pages {
            let _ = decompress_page(
                &mut decompressor,
                page.data,
                &mut out,
                InflateOptions::STANDARD,
            );
        }
        best = best.min(start.elapsed().as_secs_f64());
    }
    report.decode_mb_per_s = (pages.len() * PAGE_SIZE) as f64 / best.max(1e-9) / 1e6;
    report
}

/// What the demo migrates and how.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// An image to migrate instead of the generated one.
    pub image: Option<PathBuf>,
    /// Multifd channels.
    pub channels: usize,
    /// Method.
    pub method: Method,
    /// Where the receiver records the capture.
    pub record: PathBuf,
    /// Page engine of both ends.
    pub engine: crate::multifd::engine::Engine,
    /// What the engine is, for the report.
    pub engine_name: String,
}

/// Size of the generated demo image.
pub const DEMO_IMAGE_BYTES: usize = 64 << 20;

/// What the demo did.
#[derive(Debug)]
pub struct DemoReport {
    /// Decoding the bundled real pages.
    pub sample: SampleReport,
    /// Where the image came from.
    pub image: String,
    /// The sender's report.
    pub sent: SendReport,
    /// The receiver's report.
    pub received: RecvReport,
    /// Pages of the destination that differ from the source.
    pub mismatched_pages: u64,
    /// SHA-256 over all source blocks, and over all destination blocks.
    pub digests: (String, String),
    /// The recorded capture.
    pub record: PathBuf,
    /// The page engine and, for IAA, its counters.
    pub engine: (String, Option<serde_json::Value>),
}

impl DemoReport {
    /// Whether the sample and the migrated RAM both verified.
    pub fn is_verified(&self) -> bool {
        self.sample.failures.is_empty()
            && self.sample.verified == self.sample.pages
            && self.mismatched_pages == 0
            && self.digests.0 == self.digests.1
    }

    /// The report as a text table.
    pub fn render(&self) -> String {
        use std::fmt::Write;
        let (s, r) = (&self.sent, &self.received);
        let secs = s.elapsed.as_secs_f64().max(1e-9);
        let pages: u64 = s
            .channels
            .iter()
            .map(|c| c.normal_pages + c.zero_pages)
            .sum();
        let zero: u64 = s.channels.iter().map(|c| c.zero_pages).sum();
        let mut o = String::new();
        let _ = writeln!(
            o,
            "pageflate demo: live-migration round trip over loopback TCP ({} channels, method {})",
            s.channels.len(),
            s.method.name()
        );
        let _ = writeln!(
            o,
            "  bundled real QEMU qpl pages: {} decoded, {} verified against the guest RAM (SHA-256)",
            self.sample.pages, self.sample.verified
        );
        let _ = writeln!(o, "  image: {}", self.image);
        let _ = writeln!(o, "  page engine: {}", self.engine.0);
        if let Some(c) = &self.engine.1 {
            let _ = writeln!(o, "  IAA counters: {c}");
        }
        let _ = writeln!(o, "sender (pageflate send):");
        o.push_str(&render_channels(&s.channels, PAGE_SIZE));
        let _ = writeln!(o, "receiver (pageflate recv):");
        o.push_str(&render_channels(&r.channels, PAGE_SIZE));
        let nonzero_bytes = (pages - zero) * PAGE_SIZE as u64;
        let payload: u64 = s.channels.iter().map(|c| c.payload_bytes).sum();
        let _ = writeln!(
            o,
            "  RAM {} bytes: {} pages, {} zero, {} sent ({} raw)",
            s.ram_bytes,
            pages,
            zero,
            pages - zero,
            s.channels.iter().map(|c| c.raw_pages).sum::<u64>()
        );
        let _ = writeln!(
            o,
            "  wire {} bytes (ratio {:.3} of RAM); payload/non-zero pages {:.3}",
            s.wire_bytes(),
            s.wire_bytes() as f64 / s.ram_bytes.max(1) as f64,
            payload as f64 / nonzero_bytes.max(1) as f64
        );
        let _ = writeln!(
            o,
            "  time {:.0} ms: {:.0} MB/s of RAM migrated (sender's wall time, receiver included)",
            secs * 1e3,
            s.ram_bytes as f64 / secs / 1e6
        );
        let verdict = if self.is_verified() {
            "bit-exact: destination RAM equals the image"
        } else {
            "MISMATCH"
        };
        let _ = writeln!(
            o,
            "  verify: {verdict} ({} pages differ; SHA-256 {}…)",
            self.mismatched_pages,
            &self.digests.1[..16]
        );
        let _ = writeln!(
            o,
            "  capture recorded in {}/ (pageflate inspect {0}, or open it in the web inspector)",
            self.record.display()
        );
        o
    }

    /// The report as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        let (s, r) = (&self.sent, &self.received);
        serde_json::json!({
            "sample": {"pages": self.sample.pages, "verified": self.sample.verified},
            "image": self.image,
            "method": s.method.name(),
            "ram_bytes": s.ram_bytes,
            "wire_bytes": s.wire_bytes(),
            "seconds": s.elapsed.as_secs_f64(),
            "sender": crate::multifd::channels_json(&s.channels),
            "receiver": crate::multifd::channels_json(&r.channels),
            "mismatched_pages": self.mismatched_pages,
            "sha256": {"source": self.digests.0, "destination": self.digests.1},
            "verified": self.is_verified(),
            "record": self.record.display().to_string(),
            "engine": self.engine.0,
            "iaa": self.engine.1,
        })
    }
}

/// Run the demo. `progress(total_pages, pages_sent)` is called as packets go out.
pub fn run_demo(
    opts: &DemoOptions,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<DemoReport, String> {
    let sample = decode_sample();
    let (ram, image) = match &opts.image {
        Some(p) => (
            SourceRam::open(p, PAGE_SIZE).map_err(|e| e.to_string())?,
            p.display().to_string(),
        ),
        None => {
            let data = generate_image(DEMO_IMAGE_BYTES);
            let ram = SourceRam::from_blocks(
                PAGE_SIZE,
                vec![SourceBlock {
                    name: DEFAULT_BLOCK.into(),
                    data: Arc::new(data),
                }],
            )
            .map_err(|e| e.to_string())?;
            (
                ram,
                "generated 64 MiB guest image (58 % zero pages, real RAM pages, 3 % random)".into(),
            )
        }
    };
    let total = ram.total_bytes() / PAGE_SIZE as u64;
    let send_opts = SendOptions {
        channels: opts.channels,
        method: opts.method,
        engine: opts.engine.clone(),
        ..SendOptions::default()
    };
    // A fresh recording: stale conn files from an earlier run would confuse the inspector.
    let _ = std::fs::remove_dir_all(&opts.record);
    let recv_opts = RecvOptions {
        record: Some(opts.record.clone()),
        backing: Backing::Memory,
        engine: opts.engine.clone(),
        ..RecvOptions::default()
    };
    let at = Endpoint::Tcp("127.0.0.1:0".into());
    let (sent, mut received) =
        loopback(&ram, &at, &send_opts, &recv_opts, &|n| progress(total, n))?;
    let mut mismatched_pages = 0;
    let (mut src_hash, mut dst_hash) = (Sha256::new(), Sha256::new());
    for (i, block) in ram.blocks.iter().enumerate() {
        let dst = received.ram.block_bytes(i);
        src_hash.update(block.bytes());
        dst_hash.update(dst);
        mismatched_pages += block
            .bytes()
            .chunks(PAGE_SIZE)
            .zip(dst.chunks(PAGE_SIZE).chain(std::iter::repeat(&[][..])))
            .filter(|(a, b)| a != b)
            .count() as u64;
    }
    Ok(DemoReport {
        sample,
        image,
        sent,
        received: received.report,
        mismatched_pages,
        digests: (hex(&src_hash.finalize()), hex(&dst_hash.finalize())),
        record: opts.record.clone(),
        engine: (opts.engine_name.clone(), opts.engine.counters()),
    })
}

/// A deterministic guest-memory image of `bytes` (rounded down to whole pages) shaped like
/// the benchmark corpus of a real guest: 58 % zero pages, 3 % random (incompressible)
/// pages, and the rest copies of the bundled real RAM pages with a few words changed each
/// (so no two pages are equal), in runs as a guest's allocations come.
pub fn generate_image(bytes: usize) -> Vec<u8> {
    let pages = parse_pages(SAMPLE_PAGES).unwrap_or_default();
    let mut real = vec![0u8; PAGE_SIZE];
    let mut decoded: Vec<Vec<u8>> = Vec::new();
    let mut d = Decompressor::new();
    for p in &pages {
        if decompress_page(&mut d, p.data, &mut real, InflateOptions::STANDARD).is_ok() {
            decoded.push(real.clone());
        }
    }
    let n = bytes / PAGE_SIZE;
    let mut image = vec![0u8; n * PAGE_SIZE];
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut i = 0;
    while i < n {
        let run = 1 + (next() % 32) as usize;
        let kind = next() % 100;
        for page in image.chunks_exact_mut(PAGE_SIZE).skip(i).take(run) {
            match kind {
                0..58 => {}
                58..61 => page
                    .chunks_exact_mut(8)
                    .for_each(|w| w.copy_from_slice(&next().to_le_bytes())),
                _ if !decoded.is_empty() => {
                    page.copy_from_slice(&decoded[(next() % decoded.len() as u64) as usize]);
                    for _ in 0..4 {
                        let at = (next() % (PAGE_SIZE as u64 / 8)) as usize * 8;
                        page[at..at + 8].copy_from_slice(&next().to_le_bytes());
                    }
                }
                _ => {}
            }
        }
        i += run;
    }
    image
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_decodes_and_verifies() {
        let r = decode_sample();
        assert!(r.pages >= 32);
        assert_eq!(r.failures, vec![]);
        assert_eq!(r.verified, r.pages);
        assert!(r.wire_bytes < r.pages * PAGE_SIZE);
    }
}
