//! Interleaved A/B of page compression: a pageflate level against the peer its bar in
//! issue 9 names (fast vs miniz_oxide level 1, dense vs libdeflate level 1), on the
//! non-zero corpus pages with QEMU's page contract (a page that does not fit in 4095
//! bytes counts as 4096). Prints both ratios, median MB/s and the median per-round
//! speed ratio.
//!
//! `cargo run --release -p pageflate --example encode_ab [ROUNDS] [fast|dense] [only-pageflate]`
//! (the third argument runs pageflate alone, for `perf record`). With `VERIFY=1` in the
//! environment it first decodes every compressed page and checks it against the original,
//! for experiments that change the parse.

use pageflate::ram::SourceRam;
use pageflate_core::deflate::{Compressor, Level};
use pageflate_core::page::{compress_page, PageEncoding};
use std::time::Instant;

#[path = "../tests/common/mod.rs"]
mod common;

const PAGE: usize = 4096;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The peer: compressed size of `page`, or `PAGE` when it does not fit.
type Peer = Box<dyn FnMut(&[u8], &mut [u8]) -> usize>;

fn peer(level: Level) -> (&'static str, Peer) {
    match level {
        Level::Fast => {
            use miniz_oxide::deflate::core::{
                compress, create_comp_flags_from_zip_params, CompressorOxide, TDEFLFlush,
                TDEFLStatus,
            };
            let mut c = Box::new(CompressorOxide::new(create_comp_flags_from_zip_params(
                1, -15, 0,
            )));
            let run = move |page: &[u8], out: &mut [u8]| {
                c.reset();
                match compress(&mut c, page, &mut out[..PAGE - 1], TDEFLFlush::Finish) {
                    (TDEFLStatus::Done, _, n) => n,
                    _ => PAGE,
                }
            };
            ("miniz_oxide level 1", Box::new(run))
        }
        Level::Dense => {
            let mut c = libdeflater::Compressor::new(libdeflater::CompressionLvl::new(1).unwrap());
            let run = move |page: &[u8], out: &mut [u8]| {
                c.deflate_compress(page, &mut out[..PAGE - 1])
                    .unwrap_or(PAGE)
            };
            ("libdeflate level 1", Box::new(run))
        }
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(15);
    let level = match args.next().as_deref() {
        Some("fast") => Level::Fast,
        _ => Level::Dense,
    };
    let only_ours = args.next().is_some();
    let path = common::shared_with("corpus").join("corpus/guest-ram-a-64M.bin.zst");
    let ram = SourceRam::open(&path, PAGE).unwrap();
    let pages: Vec<&[u8]> = ram.blocks[0]
        .bytes()
        .chunks_exact(PAGE)
        .filter(|p| p.iter().any(|&b| b != 0))
        .collect();
    let total = (pages.len() * PAGE) as f64;
    let mut ours = Compressor::new(level);
    let mut out = vec![0u8; 2 * PAGE];
    let mut run_ours = |out: &mut [u8]| -> usize {
        pages
            .iter()
            .map(|p| match compress_page(&mut ours, p, out) {
                PageEncoding::Compressed(n) => n,
                PageEncoding::Raw => PAGE,
            })
            .sum()
    };
    let (peer_name, mut peer) = peer(level);
    let mut run_peer =
        |out: &mut [u8]| -> usize { pages.iter().map(|p| peer(p, out)).sum::<usize>() };
    if std::env::var_os("VERIFY").is_some() {
        let mut c = Compressor::new(level);
        let mut d = pageflate_core::inflate::Decompressor::new();
        let mut back = vec![0u8; PAGE];
        for (k, p) in pages.iter().enumerate() {
            if let PageEncoding::Compressed(n) = compress_page(&mut c, p, &mut out) {
                pageflate_core::page::decompress_page(
                    &mut d,
                    &out[..n],
                    &mut back,
                    pageflate_core::inflate::InflateOptions::STRICT_4K,
                )
                .unwrap();
                assert!(back == *p, "page {k} differs");
            }
        }
        eprintln!("verified {} pages", pages.len());
    }
    let (ours_bytes, peer_bytes) = (run_ours(&mut out), run_peer(&mut out));
    let (mut a, mut b, mut r) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        let t = Instant::now();
        run_ours(&mut out);
        let ta = t.elapsed().as_secs_f64();
        a.push(total / ta / 1e6);
        if only_ours {
            continue;
        }
        let t = Instant::now();
        run_peer(&mut out);
        let tb = t.elapsed().as_secs_f64();
        b.push(total / tb / 1e6);
        r.push(tb / ta);
    }
    println!(
        "pageflate {level:?}: ratio {:.4}, {:.0} MB/s",
        ours_bytes as f64 / total,
        median(a)
    );
    if !only_ours {
        println!(
            "{peer_name}: ratio {:.4}, {:.0} MB/s; pageflate {:.3}x its speed",
            peer_bytes as f64 / total,
            median(b),
            median(r)
        );
    }
}
