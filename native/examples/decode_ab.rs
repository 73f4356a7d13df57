//! Interleaved A/B of page decoding: pageflate vs libdeflate on the two page sets of
//! `pageflate bench` (pageflate fast output of the corpus, and the QPL pages of the
//! `qpl-2ch` capture). Prints median MB/s of output and the median per-round ratio.
//!
//! `cargo run --release -p pageflate --example decode_ab [ROUNDS] [only-pageflate]`
//! (the second argument runs pageflate alone, for `perf record`; `DECODE_SET=qpl` or
//! `DECODE_SET=pageflate` picks one page set; `DECODE_BUILD=portable` runs the portable
//! decoder build instead of the one [`DecoderBuild::detect`] picks).

use pageflate::cpu::{decompress_page_with, DecoderBuild};
use pageflate_core::deflate::{Compressor, Level};
use pageflate_core::page::{compress_page, PageEncoding};
use pageflate_core::{Decompressor, InflateOptions};
use std::path::PathBuf;

#[path = "../tests/common/mod.rs"]
mod common;
use std::time::Instant;

const PAGE: usize = 4096;

fn shared() -> PathBuf {
    common::shared_with("corpus")
}

fn qpl_pages() -> Vec<Vec<u8>> {
    pageflate::bench::capture_deflate_pages(&shared().join("captures/qpl-2ch"))
        .expect("qpl-2ch capture")
        .into_iter()
        .filter(|p| p.len() < PAGE)
        .collect()
}

fn fast_pages() -> Vec<Vec<u8>> {
    let ram = common::corpus(PAGE);
    let mem = ram.blocks[0].bytes();
    let mut c = Compressor::new(Level::Fast);
    let mut out = vec![0u8; 2 * PAGE];
    mem.chunks_exact(PAGE)
        .filter(|p| p.iter().any(|&b| b != 0))
        .filter_map(|p| match compress_page(&mut c, p, &mut out) {
            PageEncoding::Compressed(n) => Some(out[..n].to_vec()),
            PageEncoding::Raw => None,
        })
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(15);
    let only_ours = std::env::args().nth(2).is_some();
    let mut ours = Decompressor::new();
    let mut theirs = libdeflater::Decompressor::new();
    let mut out = [0u8; PAGE];
    let only_set = std::env::var("DECODE_SET").ok();
    let build = match std::env::var("DECODE_BUILD").as_deref() {
        Ok("portable") => DecoderBuild::Portable,
        _ => DecoderBuild::detect(),
    };
    println!("pageflate decoder build: {}", build.name());
    for (name, load) in [
        ("pageflate fast", fast_pages as fn() -> Vec<Vec<u8>>),
        ("qpl-2ch", qpl_pages),
    ] {
        if only_set.as_deref().is_some_and(|s| !name.starts_with(s)) {
            continue;
        }
        let pages = load();
        let bytes = (pages.len() * PAGE) as f64;
        let (mut a, mut b, mut r) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..rounds {
            let t = Instant::now();
            for p in &pages {
                decompress_page_with(build, &mut ours, p, &mut out, InflateOptions::STANDARD)
                    .unwrap();
            }
            let ta = t.elapsed().as_secs_f64();
            if only_ours {
                a.push(bytes / ta / 1e6);
                continue;
            }
            let t = Instant::now();
            for p in &pages {
                assert_eq!(theirs.deflate_decompress(p, &mut out), Ok(PAGE));
            }
            let tb = t.elapsed().as_secs_f64();
            a.push(bytes / ta / 1e6);
            b.push(bytes / tb / 1e6);
            r.push(tb / ta);
        }
        if only_ours {
            println!(
                "{name}: {} pages, pageflate {:.0} MB/s",
                pages.len(),
                median(a)
            );
        } else {
            println!(
                "{name}: {} pages, pageflate {:.0} MB/s, libdeflate {:.0} MB/s, ratio {:.3}x",
                pages.len(),
                median(a),
                median(b),
                median(r)
            );
        }
    }
}
