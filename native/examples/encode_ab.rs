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
//!
//! Pages differ in cost by how well they compress, so two more settings split the corpus
//! by pageflate's output size, in eighths of a page (`0` = under 512 bytes, ..., `8` =
//! sent raw):
//! - `BY_SIZE=1` prints, per size class, the pages, each codec's time a page (the fastest
//!   of the rounds, page by page) and the class's share of pageflate's time;
//! - `SIZE_CLASS=LO-HI` measures (and profiles) only the pages of classes `LO..=HI`; with
//!   `PAGES_FILE=F` as well, the first run writes the chosen pages' indexes to `F` and
//!   later runs read them, so an experiment that changes the output measures the same
//!   pages as the baseline.

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

/// The eighth of a page pageflate's output of `page` falls in (8: sent raw).
fn size_class(c: &mut Compressor, page: &[u8], out: &mut [u8]) -> usize {
    match compress_page(c, page, out) {
        PageEncoding::Compressed(n) => n * 8 / PAGE,
        PageEncoding::Raw => 8,
    }
}

/// Per size class: pages, each codec's time a page (fastest of `rounds`, page by page),
/// and the class's share of pageflate's time.
fn by_size(
    pages: &[&[u8]],
    ours: &mut Compressor,
    peer_name: &str,
    peer: &mut Peer,
    rounds: usize,
) {
    let mut out = vec![0u8; 2 * PAGE];
    let classes: Vec<usize> = pages
        .iter()
        .map(|p| size_class(ours, p, &mut out))
        .collect();
    let mut best = vec![(f64::MAX, f64::MAX); pages.len()];
    for _ in 0..rounds {
        for (p, b) in pages.iter().zip(best.iter_mut()) {
            let t = Instant::now();
            std::hint::black_box(compress_page(ours, p, &mut out));
            let t_ours = t.elapsed().as_secs_f64();
            let t = Instant::now();
            std::hint::black_box(peer(p, &mut out));
            let t_peer = t.elapsed().as_secs_f64();
            *b = (b.0.min(t_ours), b.1.min(t_peer));
        }
    }
    let ours_total: f64 = best.iter().map(|b| b.0).sum();
    println!("size class (eighths of a page)  pages  pageflate µs  {peer_name} µs  speed ×  share of pageflate's time");
    for class in 0..=8 {
        let (n, o, q) = classes
            .iter()
            .zip(&best)
            .filter(|(&c, _)| c == class)
            .fold((0, 0.0, 0.0), |(n, o, q), (_, b)| (n + 1, o + b.0, q + b.1));
        if n > 0 {
            let label = if class == 8 {
                "raw".to_string()
            } else {
                format!("{class}/8")
            };
            println!(
                "{label:>31}  {n:5}  {:12.2}  {:>width$.2}  {:7.2}  {:5.1} %",
                o / n as f64 * 1e6,
                q / n as f64 * 1e6,
                q / o,
                100.0 * o / ours_total,
                width = peer_name.len() + 3,
            );
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
    let ram = common::corpus(PAGE);
    let mut pages = common::nonzero_pages(&ram, PAGE);
    let mut ours = Compressor::new(level);
    let mut out = vec![0u8; 2 * PAGE];
    if let Ok(range) = std::env::var("SIZE_CLASS") {
        let (lo, hi) = range
            .split_once('-')
            .and_then(|(lo, hi)| Some((lo.parse().ok()?, hi.parse().ok()?)))
            .expect("SIZE_CLASS is LO-HI, e.g. 3-5");
        let file = std::env::var_os("PAGES_FILE");
        let chosen: Vec<usize> = match file.as_ref().map(std::fs::read_to_string) {
            Some(Ok(text)) => text.lines().map(|l| l.parse().unwrap()).collect(),
            _ => {
                let chosen: Vec<usize> = (0..pages.len())
                    .filter(|&k| (lo..=hi).contains(&size_class(&mut ours, pages[k], &mut out)))
                    .collect();
                if let Some(file) = &file {
                    let text: String = chosen.iter().map(|k| format!("{k}\n")).collect();
                    std::fs::write(file, text).unwrap();
                }
                chosen
            }
        };
        pages = chosen.into_iter().map(|k| pages[k]).collect();
        eprintln!("{} pages in size classes {lo}..={hi}", pages.len());
    }
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
    let (peer_name, mut peer) = peer(level);
    if std::env::var_os("BY_SIZE").is_some() {
        by_size(&pages, &mut ours, peer_name, &mut peer, rounds);
        return;
    }
    let total = (pages.len() * PAGE) as f64;
    let mut run_ours = |out: &mut [u8]| -> usize {
        pages
            .iter()
            .map(|p| match compress_page(&mut ours, p, out) {
                PageEncoding::Compressed(n) => n,
                PageEncoding::Raw => PAGE,
            })
            .sum()
    };
    let mut run_peer =
        |out: &mut [u8]| -> usize { pages.iter().map(|p| peer(p, out)).sum::<usize>() };
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
