//! The main job on the embedded default: decode the bundled real qpl pages, check each
//! against the guest RAM digest, and report what it did.

use crate::sample::{expected_digests, parse_pages, SAMPLE_PAGES};
use pageflate_core::page::{decompress_page, PAGE_SIZE};
use pageflate_core::{Decompressor, InflateOptions};
use sha2::{Digest, Sha256};
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
