//! Interleaved A/B measurement of inflate throughput on the corpus pages: pageflate vs
//! miniz_oxide, alternating passes so both see the same machine conditions; prints the
//! median of per-round throughputs and the median per-round ratio.
//!
//! `cargo run --release -p pageflate-core --example inflate_ratio [ROUNDS]`

use miniz_oxide::inflate::core::{decompress, inflate_flags, DecompressorOxide};
use pageflate_core::{Decompressor, InflateOptions};
mod support;
use std::time::Instant;

const PAGE: usize = 4096;

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(31);
    let raw = support::corpus();
    let pages: Vec<Vec<u8>> = support::nonzero_pages(&raw)
        .into_iter()
        .map(|p| miniz_oxide::deflate::compress_to_vec(p, 1))
        .collect();
    let bytes = (pages.len() * PAGE) as f64;
    let mut ours = Decompressor::new();
    let mut theirs = Box::<DecompressorOxide>::default();
    let mut out = [0u8; PAGE];
    let (mut a, mut b, mut r) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        let t = Instant::now();
        for p in &pages {
            ours.inflate(p, &mut out, InflateOptions::STANDARD).unwrap();
        }
        let ta = t.elapsed().as_secs_f64();
        let t = Instant::now();
        for p in &pages {
            theirs.init();
            let flags = inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF;
            decompress(&mut theirs, p, &mut out, 0, flags);
        }
        let tb = t.elapsed().as_secs_f64();
        a.push(bytes / ta / 1e6);
        b.push(bytes / tb / 1e6);
        r.push(tb / ta);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|x, y| x.partial_cmp(y).unwrap());
        v[v.len() / 2]
    };
    println!(
        "{} pages: pageflate {:.0} MB/s, miniz_oxide {:.0} MB/s, ratio (median of {} rounds) {:.2}x",
        pages.len(),
        median(&mut a),
        median(&mut b),
        rounds,
        median(&mut r)
    );
}
